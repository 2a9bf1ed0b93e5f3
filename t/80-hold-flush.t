# 80-hold-flush: mail for a held domain waits while the customer's server
# is up; `sluice flush` releases it and the server receives every
# message byte for byte as sent (after sluice's Received: header); the
# queue is then empty and a second flush finds nothing waiting.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Release qw(swaks_mail flush log_count wait_log finish barrier_domain
    barrier);
use Sink;
use SluiceTest qw(wait_for);

my $t0 = time;
my $s = SluiceTest->new(domains => ['placeholder']);
my $sink = Sink->start(dir => $s->dir . '/sink');
my $oracle = Sink->start(dir => $s->dir . '/oracle');
my $ctl = Sink->start(dir => $s->dir . '/barrier');
# probe=no: the prober would release the mail as soon as the sink answers.
$s->set_domains('site.example mode=hold route=[127.0.0.1]:' . $sink->port
    . ' lease=60s probe=no', barrier_domain($ctl));
$s->start;

# Three messages, one with two recipients.
my (%sent, %qfile);
for my $i (1 .. 3) {
	my @to = $i == 2 ? ('a@site.example', 'b@site.example') : ("u$i\@site.example");
	my ($qid, $bytes, $mid) = swaks_mail($s, $oracle, to => \@to);
	ok($qid, "message $i queued as " . ($qid // 'nothing'));
	ok(defined $bytes, "message $i: the oracle recorded what swaks sent");
	$sent{$mid} = $bytes;
	my $qf = $s->read_queue_file($qid // '');
	$qfile{$mid} = $qf ? $qf->{content} : undef;
	ok(defined $qfile{$mid}, "message $i: queue file readable");
}

# Held: nothing arrives while the site is up and nobody asked. Had qmgr
# not held them, it would have handed them to deliver when it indexed
# them: the barrier, queued after them for a backup domain, went out
# through the same qmgr and deliver.
ok(barrier($s, $oracle), 'a message queued after them for a backup domain was delivered');
is($sink->count, 0, 'nothing delivered while the domain is held');
my @ids = $s->queue_list_ids('--domain', 'site.example');
is(scalar @ids, 3, 'queue list shows the three messages');
# Any attempt, sent or not (the barrier's own status=sent is the only one).
is(log_count($s, qr/: to=<[^>]*\@site\.example>, relay=/), 0,
    'no delivery attempt was logged');

# The release.
my ($rc, $out) = flush($s, 'site.example');
is($rc, 0, 'sluice flush site.example exits 0');
like($out, qr/\b3 messages waiting/, 'flush reports 3 messages waiting') or diag($out);
ok(wait_log($s, qr/trigger: domain=site\.example, source=cli, .*result=ok, pending=3\b/),
    'trigger logged with source=cli, result=ok, pending=3');
ok(wait_log($s, qr/gate: domain=site\.example, state=open/), 'gate open logged');

ok(wait_for(sub { $sink->count >= 3 }, 30), 'the sink received the messages');
# Every delivery is over once each recipient has its status=sent line
# and the queue is empty (the sink keeps a message before its 250).
ok(wait_log($s, qr/: to=<[^>]*\@site\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 /, 30, 4),
    'four status=sent lines, one per recipient');
ok(wait_for(sub { !$s->queue_files }, 30), 'the queue is empty afterwards');
my @got = $sink->messages;
is(scalar @got, 3, 'exactly three messages, no duplicates');
my %seen;
for my $m (@got) {
	my $mid = $m->{mid};
	$seen{$mid}++;
	ok(exists $sent{$mid}, "sink got a message we sent ($mid)") or next;
	my ($rcvd, $rest) = SluiceTest::strip_received($m->{data});
	ok(defined $rcvd, "$mid: starts with sluice's Received: header");
	ok(defined $sent{$mid} && $rest eq $sent{$mid},
	    "$mid: byte-identical to what swaks sent, after Received:")
	    or diag("got " . length($rest) . " bytes, sent "
	    . length($sent{$mid} // ''));
	ok(defined $qfile{$mid} && $m->{data} eq $qfile{$mid},
	    "$mid: byte-identical to the queue file content");
	is($m->{from}, 'sender@sender.example', "$mid: envelope sender kept");
}
my ($two) = grep { @{ $_->{rcpt} } == 2 } @got;
ok($two, 'the two-recipient message arrived as one transaction')
    and is_deeply([sort @{ $two->{rcpt} }], ['a@site.example', 'b@site.example'],
    'with both recipients');
is(scalar(keys %seen), 3, 'every Message-ID once');

is(scalar($s->queue_list_ids), 0, 'queue list is empty');
is(log_count($s, qr/: to=<[^>]*\@site\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 /),
    4, 'one status=sent line per recipient');

# Nothing left: a second flush says so.
sleep 2.5;	# past trigger_min_interval: a new trigger, not a join
($rc, $out) = flush($s, 'site.example');
is($rc, 0, 'second flush exits 0');
like($out, qr/\b0 messages waiting/, 'second flush: no messages waiting') or diag($out);
ok(wait_log($s, qr/trigger: domain=site\.example, source=cli, .*result=none, pending=0\b/),
    'second trigger logged with result=none, pending=0');
# The gate is open now: anything still queued would go straight out.
ok(barrier($s, $oracle), 'a message queued after the second flush was delivered');
is($sink->count, 3, 'nothing more arrived');
is(log_count($s, qr/: to=<[^>]*\@site\.example>, relay=/), 4,
    'no delivery attempt after the four');

finish($s, $t0, $sink, $oracle, $ctl);
done_testing();
