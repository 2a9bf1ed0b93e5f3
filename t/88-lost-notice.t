# 88-lost-notice: smtpd's notice to qmgr after the commit can fail (qmgr
# restarting, busy, its socket full). The client still gets 250 (the
# message is committed), smtpd logs a warning with the queue ID, and the
# running qmgr finds the message in the spool by itself: it is listed and
# a flush delivers it, with no restart of qmgr.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Release qw(held_site swaks_mail flush log_count wait_log finish);
use Sink;
use SluiceTest qw(wait_for);

my $t0 = time;
my ($s, $sink, $oracle) = held_site();
my $qmgr = $s->child_pid('qmgr');
ok($qmgr, 'qmgr runs');

# The notice fails as it does while qmgr restarts: its socket is not there.
my $sock = $s->qdir . '/private/qmgr';
ok(wait_for(sub { -S $sock }, 20), 'qmgr listens');
ok(rename($sock, "$sock.away"), 'qmgr socket moved away');
my ($qid, $bytes, $mid) = swaks_mail($s, $oracle, to => 'u@site.example');
ok($qid, 'the client got 250 with a queue ID') or BAIL_OUT('nothing queued');
ok(rename("$sock.away", $sock), 'qmgr socket back');
like($s->log_text, qr/smtpd\[\d+\]: warning: \Q$qid\E: notify qmgr: /,
    'smtpd logged the failed notice with the queue ID');

ok(wait_for(sub { grep { $_ eq $qid } $s->queue_list_ids }, 20),
    'the message is listed without a restart');
ok(wait_log($s, qr/qmgr\[\d+\]: \Q$qid\E: indexed from the spool/), 'qmgr says where it found it');
is($s->child_pid('qmgr'), $qmgr, 'qmgr is the same process');

my ($rc, $out) = flush($s, 'site.example');
is($rc, 0, 'flush exits 0') or diag($out);
like($out, qr/\b1 message waiting/, 'flush sees the message') or diag($out);
ok(wait_for(sub { $sink->count >= 1 }, 30), 'the sink received it');
my ($m) = $sink->messages;
my (undef, $rest) = SluiceTest::strip_received($m ? $m->{data} : '');
ok(defined $rest && defined $bytes && $rest eq $bytes, 'byte-identical to what swaks sent');
ok(wait_for(sub { !$s->queue_files }, 30), 'the queue is empty afterwards');

# Mail delivered before its name in msg/ settled (the gate is open for
# its lease: each message goes out as it arrives) was gone by the time
# qmgr looked it up: not "indexed from the spool", nothing written to the
# index. The event that proves the absence: one more lost notice,
# committed after them, found and logged (the look-ups go in order).
my @fast;
for my $i (1 .. 5) {
	my ($id) = swaks_mail($s, $oracle, to => 'u@site.example');
	push @fast, $id if $id;
}
is(scalar @fast, 5, '5 more messages accepted while the gate is open');
ok(wait_for(sub { $sink->count >= 6 }, 30), 'each went out as it arrived');
ok(rename($sock, "$sock.away"), 'qmgr socket moved away again');
my ($late) = swaks_mail($s, $oracle, to => 'u@site.example');
ok(rename("$sock.away", $sock), 'qmgr socket back');
ok($late && wait_log($s, qr/qmgr\[\d+\]: \Q$late\E: indexed from the spool/),
    'a later lost notice is found and logged');
my $fast = join '|', map { quotemeta } @fast;
is(log_count($s, qr/qmgr\[\d+\]: (?:$fast): indexed from the spool/), 0,
    'none of the 5 delivered ones was "indexed from the spool"');
ok(wait_for(sub { $sink->count >= 7 }, 30), 'the late one went out too (the gate is open)');
finish($s, $t0, $sink, $oracle);
done_testing();
