# 85-index-damage: the index is a cache even when it is damaged. For each
# of entries.db and by_domain.db: with sluice stopped, 4 KB of random
# bytes go over the page at offset 4096; the CLI run on the damaged index
# (no qmgr) ends with a status, never a signal; sluice then starts, qmgr
# stays up, logs one "index damaged ... rebuilt" line, keeps the old
# index for a human, lists the messages, and a flush delivers them to the
# customer's server byte for byte; `sluice queue reindex` exits 0.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Release qw(held_site swaks_mail flush log_count wait_log finish);
use Sink;
use SluiceTest qw(wait_for slurp);

# damage FILE - 4096 random bytes at offset 4096
sub damage {
	my ($path) = @_;
	open my $r, '<:raw', '/dev/urandom' or die "urandom: $!\n";
	read($r, my $junk, 4096) == 4096 or die "urandom: short read\n";
	close $r;
	open my $fh, '+<:raw', $path or die "open $path: $!\n";
	sysseek($fh, 4096, 0) or die "seek $path: $!\n";
	syswrite($fh, $junk) == 4096 or die "write $path: $!\n";
	close $fh or die "close $path: $!\n";
}

# no_signal NAME, RC, OUT - the command ended by exit (run_cmd gives
# 128 + N for signal N), with 0 or a sysexits code
sub no_signal {
	my ($name, $rc, $out) = @_;
	ok($rc == 0 || ($rc >= 64 && $rc <= 78),
	    "$name: exit 0 or a sysexits code, no signal (got $rc)") or diag($out);
}

my $t0 = time;
for my $file ('entries.db', 'by_domain.db') {
	my ($s, $sink, $oracle) = held_site();
	my %sent;
	for my $i (1 .. 3) {
		my ($qid, $bytes, $mid) = swaks_mail($s, $oracle, to => "u$i\@site.example");
		ok($qid, "$file: message $i queued");
		$sent{$mid} = $bytes;
	}
	is(scalar($s->queue_list_ids), 3, "$file: three messages listed");
	$s->stop;

	my $db = $s->qdir . "/index/$file";
	ok(-s $db, "$file exists") or next;
	damage($db);

	# No qmgr: the CLI serves the requests on the damaged index itself.
	my ($rc, $out, $err) = $s->cli('queue', 'list');
	no_signal("$file: queue list without qmgr", $rc, $out . $err);
	is($rc, 0, "$file: queue list without qmgr exits 0") or diag($out . $err);
	damage($db) if -e $db;
	($rc, $out, $err) = $s->cli('queue', 'reindex');
	no_signal("$file: queue reindex without qmgr", $rc, $out . $err);
	is($rc, 0, "$file: queue reindex without qmgr exits 0") or diag($out . $err);
	damage($db) if -e $db;
	($rc, $out, $err) = $s->cli('flush', 'site.example');
	no_signal("$file: flush without qmgr", $rc, $out . $err);
	damage($db) if -e $db;
	my $before = log_count($s, qr/index damaged/);

	$s->start;
	my $qmgr = $s->child_pid('qmgr');
	ok($qmgr, "$file: qmgr runs");
	ok(wait_log($s, qr/qmgr\[\d+\]: .*index damaged.*kept as .*rebuilding/), "$file: damage logged")
	    or diag($s->log_text);
	# The rebuilt index fills in the reconcile's slices, which qmgr
	# interleaves with requests: a list may come between two of them.
	ok(wait_for(sub { scalar($s->queue_list_ids) == 3 }, 30), "$file: the three messages are listed")
	    or diag(join ' ', $s->queue_list_ids);
	is($s->child_pid('qmgr'), $qmgr, "$file: qmgr is the same process");
	unlike($s->log_text, qr{/qmgr pid \d+ (killed by signal|exit status)}, "$file: qmgr never died");
	is(log_count($s, qr/index damaged/) - $before, 1, "$file: one damage line at start");
	my @kept = glob($s->qdir . '/index.damaged.*');
	ok(@kept >= 1, "$file: the damaged index is kept for a human (@kept)");

	($rc, $out) = flush($s, 'site.example');
	no_signal("$file: flush", $rc, $out);
	is($rc, 0, "$file: flush exits 0") or diag($out);
	ok(wait_for(sub { $sink->count >= 3 }, 30), "$file: the sink received the messages");
	ok(wait_for(sub { !$s->queue_files }, 30), "$file: the queue is empty afterwards");
	my @got = $sink->messages;
	is(scalar @got, 3, "$file: three messages, no duplicates");
	for my $m (@got) {
		my (undef, $rest) = SluiceTest::strip_received($m->{data});
		ok(defined $sent{$m->{mid}} && defined $rest && $rest eq $sent{$m->{mid}},
		    "$file: $m->{mid} byte-identical to what swaks sent");
	}
	($rc, $out, $err) = $s->cli('queue', 'reindex');
	no_signal("$file: queue reindex", $rc, $out . $err);
	is($rc, 0, "$file: queue reindex exits 0") or diag($out . $err);
	finish($s, $t0, $sink, $oracle);
}
done_testing();
