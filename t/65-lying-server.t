# 65-lying-server: a customer server whose replies do not line up with
# our commands (t/lib/LyingServer.pm) never gets a message counted as
# delivered. Each lie (250 to DATA instead of 354, two 250s to MAIL with
# and without PIPELINING, a stray 250 after the greeting) shifts the
# replies by one; the message must stay queued with status=deferred and
# a protocol error as the reason, its queue file in place, and the next
# flush to an honest server must deliver every byte of it.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use LyingServer;
use Release qw(swaks_mail flush log_count wait_log finish);
use Sink;
use SluiceTest qw(free_port wait_for);

my $t0 = time;
my $port = free_port();
my @cases = (
	['data250', 1, qr/answered DATA with a reply of the wrong kind: 250/],
	['double_mail', 0, qr/data nobody asked for, before our RCPT TO: 250 2\.1\.0 Ok again/],
	['double_mail', 1, qr/answered DATA with a reply of the wrong kind: 250/],
	['stray_after_greeting', 1, qr/data nobody asked for, before our EHLO: 250 2\.0\.0 stray/],
);
# One domain per case, all routed to the same port, where the liar of
# the case (and at the end the honest server) listens.
my @domains = map { "lie$_.example" } 1 .. @cases;
my $s = SluiceTest->new(domains => [
	map { "$_ mode=hold route=[127.0.0.1]:$port probe=no" } @domains ]);
my $oracle = Sink->start(dir => $s->dir . '/oracle');
$s->start;

my (@qid, %bytes);
for my $d (@domains) {
	my ($qid, $bytes) = swaks_mail($s, $oracle, to => "user\@$d");
	ok($qid && defined $bytes, "a message for $d queued");
	push @qid, $qid;
	$bytes{$qid} = $bytes;
}
ok(wait_for(sub { scalar($s->queue_list_ids) == @domains }, 20), 'qmgr indexed them');

for my $i (0 .. $#cases) {
	my ($cue, $pipelining, $why) = @{ $cases[$i] };
	my ($d, $qid) = ($domains[$i], $qid[$i]);
	my $name = $cue . ($pipelining ? ' (PIPELINING)' : ' (no PIPELINING)');
	my $deferred = qr/\Q$qid\E: to=<user\@\Q$d\E>, relay=[^,]+, .*status=deferred \(([^\n]*)\)$/m;
	my $liar = LyingServer->start(dir => $s->dir . "/liar$i", cue => $cue,
	    pipelining => $pipelining, port => $port);
	my ($rc, $out) = flush($s, $d);
	like($out, qr/\b1 message waiting/, "$name: flush $d") or diag($out);
	ok(wait_for(sub { log_count($s, $deferred) }, 30),
	    "$name: the recipient is deferred");
	my ($reason) = $s->log_text =~ $deferred;
	like($reason // '', qr/protocol error: .*$why/, "$name: the reason names the lie")
	    or diag($reason);
	like($s->log_text, qr/\Q$qid\E: to=<user\@\Q$d\E>, .*dsn=4\.5\.0, status=deferred/,
	    "$name: dsn=4.5.0");
	is(log_count($s, qr/\Q$qid\E: to=.*status=(?:sent|bounced)/), 0,
	    "$name: never logged as sent or bounced");
	ok(-e $s->queue_file_path($qid), "$name: the queue file is still there");
	ok((grep { $_ eq $qid } $s->queue_list_ids), "$name: still in the queue");
	ok(wait_log($s, qr/gate: domain=\Q$d\E, state=held/), "$name: the gate is shut");
	is($liar->bodies, 0, "$name: the liar never got the body as a whole message");
	$liar->stop;
}

# An honest server on the same route gets every message, every byte.
my $sink = Sink->start(dir => $s->dir . '/sink', port => $port);
flush($s, $_) for @domains;
ok(wait_for(sub { $sink->count == @domains }, 30), 'the honest server got them all');
for my $m ($sink->messages) {
	my (undef, $rest) = SluiceTest::strip_received($m->{data});
	my $qid = Release::received_id($m->{data}) // '';
	ok(defined $bytes{$qid} && $rest eq $bytes{$qid}, "$qid arrived byte-identical");
}
for my $i (0 .. $#domains) {
	ok(wait_log($s, qr/\Q$qid[$i]\E: to=<user\@\Q$domains[$i]\E>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$port, .*status=sent/),
	    "$qid[$i]: status=sent once it really was");
}
ok(wait_for(sub { !$s->queue_files }, 20), 'and only then removed');

finish($s, $t0, $sink, $oracle);
done_testing();
