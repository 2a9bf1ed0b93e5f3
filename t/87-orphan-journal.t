# 87-orphan-journal: a journal whose message is gone (a crash between the
# two unlinks of a removal) is removed by the start-up reconcile, with a
# log line each; the journal of a queued message stays.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Release qw(swaks_mail wait_log finish);
use Sink;
use SluiceTest qw(spew slurp);

my $t0 = time;
my $s = SluiceTest->new;
my $oracle = Sink->start(dir => $s->dir . '/oracle');
$s->start;
my ($qid) = swaks_mail($s, $oracle, to => ['a@site.example', 'b@site.example']);
ok($qid, 'message queued') or BAIL_OUT('nothing queued');
$s->stop;

# Two orphans: journals named for messages that are not there, one with
# a record (its checksum does not matter: nobody should read it), one empty.
my @orphans = ('661E00000000000001AB', '661E0000000000000242');
my $rec = "SJ\x01\x00\x00\x00\x00\x00";
# The queued message's journal (empty: nobody is finished) must stay.
my $kept = $s->queue_file_path($qid) . '.j';
spew($kept, '');
for my $id (@orphans) {
	my $dir = $s->qdir . '/msg/' . substr($id, -2);
	mkdir $dir unless -d $dir;
}
spew($s->queue_file_path($orphans[0]) . '.j', $rec . pack('N', 0));
spew($s->queue_file_path($orphans[1]) . '.j', '');
ok(-e $s->queue_file_path($_) . '.j', "orphan $_.j planted") for @orphans;

$s->start;
for my $id (@orphans) {
	ok(wait_log($s, qr/qmgr\[\d+\]: \Q$id\E: removed orphan journal \S+\Q$id\E\.j/),
	    "$id: removal logged");
	ok(!-e $s->queue_file_path($id) . '.j', "$id.j is gone");
}
ok(-e $kept, "the journal of queued message $qid stays");
ok(-e $s->queue_file_path($qid), "message $qid stays");
is(join(' ', $s->queue_list_ids), $qid, 'the message is still listed');
finish($s, $t0, $oracle);
done_testing();
