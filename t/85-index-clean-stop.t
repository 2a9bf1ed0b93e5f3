# t/85-index-clean-stop.t - the index's full check (DB->verify and a decode
# of every record, before qmgr listens: 12-22 s with 1,000,000 queued) is
# skipped only when the last owner closed the index cleanly and nothing
# touched its files since: after a kill -9 of qmgr, or a database file
# written while sluice was down, the check runs in full again.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use SluiceTest qw(wait_for);

my $SKIPPED = qr/queue index \S+: closed cleanly and unchanged since; not checked/;

my $s = SluiceTest->new;
$s->start;
for my $i (1 .. 2) {
	my ($rc, $out) = $s->swaks('--to', "u$i\@site.example");
	is($rc, 0, "message $i accepted") or diag($out);
}
my @l = $s->queue_list;
is(scalar @l, 2, 'two messages listed');
is($s->log_count($SKIPPED), 0, 'the first start checked the index in full');
is($s->stop, 0, 'clean stop');
ok(-f $s->qdir . '/index/.clean', 'a clean stop leaves index/.clean');

$s->start;
ok($s->wait_log($SKIPPED, 30), 'the start after a clean stop skips the check');
ok(!-e $s->qdir . '/index/.clean', 'and removes the mark before using the index');
@l = $s->queue_list;
is(scalar @l, 2, 'the two messages are listed');

# kill -9: no mark; master starts a new qmgr, which checks in full.
my $old = $s->child_pid('qmgr');
ok($old, 'qmgr runs');
kill 'KILL', $old;
ok(wait_for(sub { my $p = $s->child_pid('qmgr'); $p && $p != $old }, 30),
    'master started a new qmgr');
ok(wait_for(sub { my @x = $s->queue_list; @x == 2 }, 30),
    'the new qmgr lists the two messages');
is($s->log_count($SKIPPED), 1, 'after the kill the index was checked in full (no second skip line)');

# A database written while sluice was down: the mark no longer matches.
is($s->stop, 0, 'clean stop');
ok(-f $s->qdir . '/index/.clean', 'marked clean again');
my $db = $s->qdir . '/index/entries.db';
my @st = stat($db);
utime($st[8], $st[9] + 1, $db) or die "utime $db: $!\n";
my $recon = $s->log_count(qr/qmgr\[\d+\]: reconciled the index/);
$s->start;
# qmgr's own start, not a CLI that opened the index before qmgr ran (it
# checks too, and its clean close writes a fresh mark).
ok($s->wait_log(qr/qmgr\[\d+\]: reconciled the index/, 30, $recon + 1), 'qmgr is up');
ok(wait_for(sub { my @x = $s->queue_list; @x == 2 }, 30), 'started: the two messages are listed');
is($s->log_count($SKIPPED), 1, 'a database changed since the clean stop is checked in full');
ok(!-e $s->qdir . '/index/.clean', 'and the stale mark is gone');
is($s->stop, 0, 'clean stop');
done_testing;
