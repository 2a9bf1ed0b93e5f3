# 86-bad-journal: a journal that fails validation can no longer say who
# has the message. With msg/XX/ID.j full of garbage, three flushes to the
# customer's server deliver at most one copy; message and journal end in
# corrupt/ (kept for a human), and the log names the file and the reason.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Release qw(held_site swaks_mail flush log_count wait_log finish);
use Sink;
use SluiceTest qw(wait_for spew);

my $t0 = time;
my ($s, $sink, $oracle) = held_site('lease=3s');

my ($qid) = swaks_mail($s, $oracle, to => ['a@site.example', 'b@site.example']);
ok($qid, 'message queued') or BAIL_OUT('nothing queued');
$s->stop;
$s->set_conf(trigger_min_interval => '1s');

my $jpath = $s->queue_file_path($qid) . '.j';
open my $r, '<:raw', '/dev/urandom' or die "urandom: $!\n";
read($r, my $junk, 100) == 100 or die "urandom: short read\n";
close $r;
spew($jpath, $junk);
$s->start;
ok(wait_for(sub { grep { $_ eq $qid } $s->queue_list_ids }, 20), 'qmgr lists the message');

for my $n (1 .. 3) {
	my $before = log_count($s, qr/trigger: domain=site\.example, source=cli/);
	my ($rc, $out) = flush($s, 'site.example');
	is($rc, 0, "flush $n exits 0") or diag($out);
	ok(wait_for(sub { log_count($s, qr/trigger: domain=site\.example, source=cli/) > $before }, 30),
	    "flush $n: trigger logged");
	# The event a second copy would follow: the message leaves the queue.
	ok(wait_for(sub { !-e $s->queue_file_path($qid) }, 30), "flush $n: the message left msg/");
	sleep 1.5;	# past trigger_min_interval: the next flush is a new trigger
}
ok($sink->count <= 1, 'at most one copy delivered (got ' . $sink->count . ')');
ok(-e $s->qdir . "/corrupt/$qid", "message in corrupt/$qid");
ok(-e $s->qdir . "/corrupt/$qid.j", "journal in corrupt/$qid.j");
ok(!-e $jpath, 'no journal left in msg/');
like($s->log_text, qr/\Q$qid\E: read journal \Q$qid\E\.j: (bad record|record \d+ names recipient)/,
    'log names the journal and what is wrong with it');
like($s->log_text, qr/\Q$qid\E: quarantine \S+\Q$qid\E: its journal failed validation/,
    'log says the message went to corrupt/ and why');
is(scalar($s->queue_list_ids), 0, 'queue list is empty');

# The journal goes bad while qmgr runs and has the message indexed: the
# release that follows sends nothing and the message goes to corrupt/.
my $copies = $sink->count;
# The flushes' lease must be over, or the new message goes out at once:
# the last gate line says held (a lease that ran out between two flushes
# logged an earlier one).
ok(wait_for(sub {
	my @g = $s->log_lines(qr/gate: domain=site\.example, state=/);
	@g && $g[-1] =~ /state=held/;
}, 30), 'the gate is held again');
my ($qid2) = swaks_mail($s, $oracle, to => ['c@site.example']);
ok($qid2 && wait_for(sub { grep { $_ eq $qid2 } $s->queue_list_ids }, 20),
    'a second message is queued and listed');
my $jpath2 = $s->queue_file_path($qid2) . '.j';
spew($jpath2, $junk);
my ($frc, $fout) = flush($s, 'site.example');
is($frc, 0, 'flush exits 0') or diag($fout);
# The event a copy would precede: the job's end moves the message away.
ok(wait_for(sub { -e $s->qdir . "/corrupt/$qid2" }, 30), "message in corrupt/$qid2");
is($sink->count, $copies, 'no copy of it was sent');
like($s->log_text, qr/\Q$qid2\E: read journal of \Q$qid2\E: it failed validation; nothing sent/,
    'deliver says it sent nothing, and why');
finish($s, $t0, $sink, $oracle);
done_testing();
