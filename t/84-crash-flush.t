# 84-crash-flush: kill -9 deliver, and separately qmgr, several times
# during the flush of 2,000 held messages. Every message reaches the
# customer's server at least once and none is lost; the queue is empty at
# the end. Duplicates are possible in the crash window (a message the
# server accepted before the journal said so) and are reported, not
# asserted. qmgr keeps open gates in private/gates, so the flush goes on
# after its restart without a new trigger.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Crash qw(blame);
use Release qw(flush log_count wait_log received_id finish);
use Sink;
use SluiceTest qw(wait_for);

my $t0 = time;
my $N = 2000;
my $ROUNDS = $ENV{SLUICE_CRASH_ROUNDS} || 3;	# kills of each program
my $STEP = int($N / (2 * $ROUNDS + 2));		# messages between two kills

my $s = SluiceTest->new(domains => ['placeholder'],
    conf => { smtpd_client_connection_limit => 100 });
# A small pause before each 250 keeps the flush going long enough for
# every kill to land while the sink is receiving.
my $sink = Sink->start(dir => $s->dir . '/sink', data_delay => 0.005);
$s->set_domains('site.example mode=hold route=[127.0.0.1]:' . $sink->port
    . ' lease=1h probe=no');
$s->start;

# Queue the 2,000 with smtp-source: 10 sessions, 2 KB messages.
my ($rc, $out, $err) = $s->smtp_source('-s', 10, '-m', $N, '-l', 2048,
    '-M', 'client.sluice.test', '-f', 'source@client.sluice.test',
    '-t', 'user@site.example', { timeout => 600 });
is($rc, 0, "smtp-source -m $N exits 0") or diag("$out$err");
ok(wait_for(sub { $s->queue_files == $N }, 60), "$N messages queued")
    or diag('queued: ' . scalar($s->queue_files));
my %want = map { $_ => 1 } $s->queue_files;
is($sink->count, 0, 'nothing delivered before the flush');
diag(sprintf 'queued %d messages in %.1fs', $N, time - $t0);

my $t1 = time;
($rc, $out) = flush($s, 'site.example');
like($out, qr/\b$N messages waiting/, "flush: $N messages waiting") or diag($out);

# arrived - queue ID (from sluice's Received: header) => [arrival
# times at the sink, in seconds (Sink.pm names its files TIME.PID.SEQ)]
sub arrived {
	my %n;
	for my $m ($sink->messages) {
		my ($t) = $m->{file} =~ m{/(\d+)\.[^/]*$};
		push @{ $n{received_id($m->{data}) // 'none'} }, $t // 0;
	}
	return %n;
}

my %kill_at;	# program => [times of its kills]

# kill_one NAME - wait for STEP more deliveries, kill -9 the running NAME,
# wait for master to start a new one. True if a kill landed mid-flush.
sub kill_one {
	my ($name, $round) = @_;
	my $base = $sink->count;
	wait_for(sub { $sink->count >= $base + $STEP || $sink->count >= $N }, 120);
	my $old = $s->child_pid($name);
	if (!$old || $sink->count >= $N) {
		diag("$name round $round: " . ($old ? 'flush already done' : "no $name"));
		return 0;
	}
	my $at = $sink->count;
	kill 'KILL', $old;
	push @{ $kill_at{$name} }, int(time);
	my $new = wait_for(sub {
		my $p = $s->child_pid($name);
		$p && $p != $old ? $p : 0;
	}, 30);
	ok($new, "$name round $round: killed $old at $at messages, master started $new");
	return $new ? 1 : 0;
}

my %killed;
for my $r (1 .. $ROUNDS) {
	$killed{deliver} += kill_one('deliver', $r);
}
for my $r (1 .. $ROUNDS) {
	$killed{qmgr} += kill_one('qmgr', $r);
}
is($killed{deliver}, $ROUNDS, "deliver was killed $ROUNDS times mid-flush");
is($killed{qmgr}, $ROUNDS, "qmgr was killed $ROUNDS times mid-flush");
like($s->log_text, qr/gate: domain=site\.example, state=open, [^\n]*restored after restart/,
    'a restarted qmgr restored the open gate');

# Everything arrives, with no new trigger.
my $triggers = log_count($s, qr/trigger: domain=site\.example/);
my %got;
my $done = wait_for(sub {
	%got = arrived();
	return !grep { !$got{$_} } keys %want;
}, 300);
ok($done, "all $N messages reached the sink");
my @lost = grep { !$got{$_} } sort keys %want;
is(scalar @lost, 0, 'none lost') or diag('lost: ' . join ' ', @lost[0 .. ($#lost < 9 ? $#lost : 9)]);
my @alien = grep { !$want{$_} } keys %got;
is(scalar @alien, 0, 'the sink got nothing we did not send') or diag("unknown: @alien");
ok(wait_for(sub { !$s->queue_files }, 60), 'the queue is empty at the end')
    or diag('left: ' . scalar($s->queue_files));
is(scalar($s->queue_list_ids), 0, 'queue list is empty');
is(log_count($s, qr/trigger: domain=site\.example/), $triggers,
    'the flush finished without a new trigger');
is(log_count($s, qr/status=(?:bounced|expired)/), 0, 'nothing bounced');
is(scalar(grep { $_->{from} eq '' } $sink->messages), 0, 'no DSN reached the site');

# Reported, not asserted: a deliver killed, or deliver closing its
# sessions because qmgr went away, between the final dot and its journal
# entry leaves a message the site has and sluice sends again.
my $blame = blame(\%got, \%kill_at);
my $dups = $blame->{deliver} + $blame->{qmgr};
diag(sprintf 'flush with %d deliver and %d qmgr kills: %d messages, %d at the sink, '
    . '%d duplicates: %d at deliver kills, %d at qmgr kills; %.1fs',
    $killed{deliver}, $killed{qmgr}, $N, $sink->count, $dups, $blame->{deliver},
    $blame->{qmgr}, time - $t1);

finish($s, $t0, $sink);
done_testing();
