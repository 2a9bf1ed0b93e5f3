# 80-flush-batches: qmgr reads a flushed domain's mail from the index a
# batch at a time (128 jobs, more as they go out). A flush of 200 held
# messages delivers every one exactly once. A domain's figures, which the
# index keeps per domain (finger's "Messages waiting", "Bytes waiting",
# "Oldest"), are right at the start, after an operator's delete and
# bounce, and after another domain's flush; the flushed one's are zero.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use FingerProbe qw(finger_query finger_port_up);
use Release qw(flush finish);
use Sink;
use SluiceTest qw(free_port wait_for run_cmd);

my $t0 = time;
my $BUILDDIR = $ENV{SLUICE_BUILDDIR};
my $N = 200;
my $fport = free_port();
my $s = SluiceTest->new(
    conf => { finger_listen => "127.0.0.1:$fport", finger_timeout => '2s' },
    domains => ['placeholder']);
my $sink = Sink->start(dir => $s->dir . '/sink');
$s->set_domains(
    'site.example mode=hold route=[127.0.0.1]:' . $sink->port . ' finger=yes probe=no',
    'other.example mode=hold route=[127.0.0.1]:@DEAD@ finger=yes probe=no');

# Committed before the start, as smtpd would have (qmgr indexes them).
my $body = "Subject: batch\r\n\r\nbatch body\r\n";
my %ids;
for my $d (qw(site.example other.example)) {
	my ($rc, $out, $err) = run_cmd(["$BUILDDIR/t/queue_inject", '-n', $N, $s->qdir,
	    'sender@sender.example', "user\@$d"], stdin => $body, timeout => 120);
	$ids{$d} = [sort grep { /^[0-9A-F]{20}$/ } split /\n/, $out];
	is(scalar(@{ $ids{$d} }), $N, "$N messages for $d committed") or diag($err);
}
if ($> == 0) {
	my @pw = getpwnam('sluice');
	chown $pw[2], $pw[3], glob($s->qdir . '/msg/*/*') if @pw;
}
$s->start;
ok(wait_for(sub { ($s->cli('queue', 'count'))[0] == 0 }, 60), 'qmgr answers');
# qmgr answers while it reconciles the index with the spool (a slice at a
# time): the figures below are the index's, so wait for its end line.
ok($s->wait_log(qr/reconciled the index with \S+: ${\ (2 * $N)} messages/, 120),
    'qmgr has indexed every committed message');
ok(finger_port_up($fport), 'fingerd listens');

# figures DOMAIN - (messages, bytes, oldest) from finger's long answer.
# A finger is a trigger too: other.example's route refuses, so its mail
# stays where it is (the gate closes again at the refusal).
sub figures {
	my ($d) = @_;
	my $a = finger_query($fport, "/W $d\r\n", '127.0.0.1') // '';
	my ($m) = $a =~ /^Messages waiting: (\d+)\r$/m;
	my ($b) = $a =~ /^Bytes waiting: (\d+)\r$/m;
	my ($o) = $a =~ /^Oldest: (.*)\r$/m;
	return ($m // -1, $b // -1, $o // '');
}

my ($m, $b, $o) = figures('other.example');
is($m, $N, "other.example: $N messages waiting");
my $one = $b / $N;
ok($one >= length($body), "other.example: bytes waiting $b, $N messages of $one");
isnt($o, '-', "other.example: an oldest message ($o)");

# The operator takes out five: three deleted, two returned to the sender.
my @gone = @{ $ids{'other.example'} }[0 .. 4];
my ($rc, $out, $err) = $s->cli('queue', 'delete', @gone[0 .. 2]);
is($rc, 0, 'queue delete of 3 exits 0') or diag("$out$err");
($rc, $out, $err) = $s->cli('queue', 'bounce', @gone[3 .. 4]);
is($rc, 0, 'queue bounce of 2 exits 0') or diag("$out$err");
my $left = $N - 5;
($m, $b) = figures('other.example');
is($m, $left, "other.example after delete and bounce: $left messages waiting");
is($b, $left * $one, 'and their bytes');

# site.example: more than two batches, each message exactly once.
($rc, $out) = flush($s, 'site.example');
like($out, qr/\b$N messages waiting/, "flush: $N messages waiting") or diag($out);
ok(wait_for(sub { $sink->count >= $N }, 120), "the sink got $N messages")
    or diag('got ' . $sink->count);
# The sink keeps a message before its 250: the queue holds it until qmgr
# has deliver's result. Polled with the CLI: fingerd answers one address
# 20 queries a minute, and every poll by finger would spend one.
ok(wait_for(sub { !$s->queue_list_ids('--domain', 'site.example') }, 30),
    'the queue has nothing left for site.example');
is((figures('site.example'))[0], 0, 'finger: nothing left waiting');
is($sink->count, $N, "the sink got $N messages, no more");
# queue_inject wrote no Received: header: deliver's log names each one sent.
my %got;
$got{$_}++ for map { /: ([0-9A-F]{20}): to=<user\@site\.example>.*status=sent/ ? $1 : () }
    $s->log_lines(qr/status=sent/);
my %want = map { $_ => 1 } @{ $ids{'site.example'} };
my @dup = grep { $got{$_} > 1 } sort keys %got;
my @lost = grep { !$got{$_} } sort keys %want;
my @extra = grep { !$want{$_} } sort keys %got;
is(scalar(@dup), 0, 'no message twice') or diag("twice: @dup");
is(scalar(@lost), 0, 'none left out') or diag("not delivered: @lost");
is(scalar(@extra), 0, 'none of another domain') or diag("extra: @extra");
($m, $b, $o) = figures('site.example');
is($b, 0, 'site.example: no bytes waiting');
is($o, '-', 'site.example: no oldest message');
($m, $b) = figures('other.example');
is($m, $left, "other.example: still $left messages waiting");
is($b, $left * $one, 'other.example: and the same bytes');

finish($s, $t0, $sink);
done_testing();
