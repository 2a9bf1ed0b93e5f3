# 30-crash: kill -9 smtpd, and separately qmgr, in the middle of a burst,
# several times. Clients count which messages got a 250; after a restart
# every one of them is in the queue and complete, no partial message is,
# and the index agrees with msg/.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Net::SMTP;
use POSIX qw(_exit setpgid);
use Crash qw(message_for);
use SluiceTest qw(tool wait_for slurp);

my $ROUNDS = $ENV{SLUICE_CRASH_ROUNDS} || 5;
my $WORKERS = 3;
my $PER_ROUND = 5;	# new 250s between two kills
my $msgfile = "$ENV{SLUICE_SRCDIR}/t/data/smtp-source.msg";
my @src_args = ('-F', $msgfile, '-M', 'client.sluice.test',
    '-f', 'source@client.sluice.test', '-t', 'user@site.example');

tool('smtp-source');
my $src_expected = SluiceTest::smtp_source_expected($msgfile, @src_args[2 .. $#src_args]);

# Restart back-off capped low: the kills are deliberate and many.
my $s = SluiceTest->new(conf => { smtpd_client_connection_limit => 100,
    master_restart_max => '2s' });
$s->start;
my $dir = $s->dir;
my $stop = "$dir/stop-clients";

# A client worker: send messages one after the other until told to stop;
# append "MID QUEUEID" for every 250 to its results file.
sub worker {
	my ($w) = @_;
	open my $res, '>>', "$dir/results.$w" or _exit(1);
	$res->autoflush(1);
	my $n = 0;
	until (-e $stop) {
		$n++;
		my $mid = "crash-$w-$n\@client.sluice.test";
		my $smtp = Net::SMTP->new('127.0.0.1', Port => $s->port,
		    Hello => 'client.sluice.test', Timeout => 20);
		if (!$smtp) {
			select(undef, undef, undef, 0.05);
			next;
		}
		if ($smtp->mail('crash@client.sluice.test')
		    && $smtp->to('user@site.example')
		    && $smtp->data
		    && $smtp->datasend(message_for($mid))
		    && $smtp->dataend) {
			my ($qid) = $smtp->message =~ /queued as ([0-9A-F]{20})/;
			print {$res} "$mid ", $qid // 'NOID', "\n";
		}
		$smtp->quit;
		# Paced, so the queue stays small enough to check file by file.
		select(undef, undef, undef, 0.2);
	}
	_exit(0);
}

my @workers;
for my $w (1 .. $WORKERS) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		worker($w);
	}
	push @workers, $pid;
}

# The smtp-source burst beside them, restarted whenever a kill makes it
# give up; in its own process group so that one kill ends it all. It is
# paced (-w 1: one message per second per session) to keep the queue
# small enough to check every file with the CLI afterwards.
my $loader = fork // die "fork: $!";
if ($loader == 0) {
	setpgid(0, 0);
	until (-e $stop) {
		my $pid = $s->smtp_source_bg('-s', 5, '-w', 1, '-m', 50, @src_args);
		waitpid($pid, 0);
	}
	_exit(0);
}

sub acked {
	my $n = 0;
	for my $w (1 .. $WORKERS) {
		my $t = slurp("$dir/results.$w") // '';
		$n += () = $t =~ /\n/g;
	}
	return $n;
}

# kill_rounds NAME - kill -9 every NAME child mid-burst, ROUNDS times,
# each time waiting for master to start a new one and for new 250s.
sub kill_rounds {
	my ($name) = @_;
	my $restarted = 0;
	for my $r (1 .. $ROUNDS) {
		my $base = acked();
		# In the middle of a burst: clients are getting 250s right now.
		wait_for(sub { acked() >= $base + $PER_ROUND }, 60)
		    or diag("round $r: clients got no 250s before the kill");
		my @old = map { $_->[0] } grep { $_->[1] eq $name } $s->children;
		if (!@old) {
			diag("round $r: no $name process to kill");
			next;
		}
		kill 'KILL', @old;
		my $new = wait_for(sub {
			my @now = grep { $_->[1] eq $name } $s->children;
			return 0 unless @now;
			my %old = map { $_ => 1 } @old;
			return !grep({ $old{ $_->[0] } } @now);
		}, 90);
		$restarted++ if $new;
	}
	is($restarted, $ROUNDS, "master restarted $name after each of $ROUNDS kill -9");
}

kill_rounds('smtpd');
kill_rounds('qmgr');
# One more stretch of traffic after the last kill.
my $base = acked();
wait_for(sub { acked() >= $base + $PER_ROUND }, 60);

open my $fh, '>', $stop or die "create $stop: $!";
close $fh;
for my $pid (@workers) {
	waitpid($pid, 0);
}
kill 'KILL', -$loader;
waitpid($loader, 0);
ok($s->alive, 'master survived every child kill');

my %acked;
for my $w (1 .. $WORKERS) {
	for my $line (split /\n/, slurp("$dir/results.$w") // '') {
		my ($mid, $qid) = split / /, $line;
		$acked{$mid} = $qid;
	}
}
my $nacked = keys %acked;
ok($nacked >= $PER_ROUND * (2 * $ROUNDS + 1), "clients counted $nacked messages that got 250");

$s->stop;
$s->start;

# Every message that got a 250 is there, under the ID it was given, whole.
my ($by_mid, $bad) = $s->message_ids;
my ($missing, $wrong, $shown) = (0, 0, 0);
for my $mid (sort keys %acked) {
	my $ids = $by_mid->{"<$mid>"};
	if (!$ids) {
		$missing++;
		diag("$mid (queued as $acked{$mid}) is not in the queue") if $shown++ < 5;
		next;
	}
	if (@$ids != 1 || $ids->[0] ne $acked{$mid}) {
		$wrong++;
		diag("$mid: got 250 as $acked{$mid}, found as @$ids") if $shown++ < 5;
	}
}
is($missing, 0, "all $nacked acknowledged messages are in the queue");
is($wrong, 0, 'each under the queue ID of its 250 reply, once');

# No partial message: every file passes validation, and every message of
# ours in the queue (acknowledged or not) is complete, byte for byte.
is(scalar @$bad, 0, 'every file in msg/ passes validation')
    or diag(join "\n", map { "$_->[0]: $_->[1]" } @$bad[0 .. ($#$bad < 4 ? $#$bad : 4)]);
my ($damaged, $ours, $theirs) = (0, 0, 0);
$shown = 0;
for my $id ($s->queue_files) {
	my ($qf) = $s->read_queue_file($id);
	next unless $qf;
	my ($rcv, $rest) = SluiceTest::strip_received($qf->{content});
	my ($mid) = $rest =~ /^Message-ID: <([^>]+)>/mi;
	my $want;
	if (($mid // '') =~ /^crash-/) {
		$ours++;
		$want = message_for($mid);
	} else {
		$theirs++;
		$want = $src_expected;
	}
	next if $rcv && $rest eq $want;
	$damaged++;
	diag("$id: content is not what the client sent") if $shown++ < 5;
}
is($damaged, 0, "every stored message is complete ($ours ours, $theirs smtp-source's)");

my ($show_fail, $nfiles) = (0, 0);
for my $id ($s->queue_files) {
	$nfiles++;
	my ($rc, $out, $err) = $s->cli('queue', 'show', $id);
	next if $rc == 0;
	$show_fail++;
	diag("sluice queue show $id: exit $rc: $err") if $show_fail <= 5;
}
is($show_fail, 0, "sluice queue show works for all $nfiles files");
is_deeply([$s->dir_entries('corrupt')], [], 'corrupt/ is empty');
is_deeply([$s->dir_entries('incoming')], [], 'incoming/ was purged at start');

# The index agrees with the files (qmgr reconciles at start).
my @files = $s->queue_files;
wait_for(sub { join(' ', $s->queue_list_ids) eq join(' ', @files) }, 60);
is_deeply([$s->queue_list_ids], \@files, 'queue list IDs == files in msg/');
$s->stop;

done_testing;
