# t/93-warn-timers.t - qmgr keeps no timer per message for delay notices:
# after N messages were delivered its pending timers are what they were
# before (it used to keep a 24-hour timer and its key for every message,
# delivered or not, so memory grew with mail volume). And a message that
# does wait past warn= still gets its delay notice.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use Sink;
use SluiceTest qw(wait_for);

my $N = 30;
my $s = SluiceTest->new(domains => ['placeholder']);
my $sink = Sink->start(dir => $s->dir . '/sink');
$s->set_domains('relay.example mode=backup route=[127.0.0.1]:' . $sink->port,
    'site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no warn=3s');
$s->start;

# timers - qmgr's pending timers, from "sluice status"
sub timers {
	my ($rc, $out, $err) = $s->cli('status');
	my ($n) = $out =~ /^qmgr:.* timers=(\d+)/m;
	return $n;
}

# qmgr may still be opening its index right after start: wait for its answer.
my $before = wait_for(sub { my $n = timers(); defined $n ? "$n" : undef }, 30);
ok(defined $before, "qmgr reports its pending timers in sluice status ($before)");

my ($rc, $out, $err) = $s->smtp_source('-m', $N, '-s', 5, '-f', 'sender@sluice.test',
    '-t', 'user@relay.example');
is($rc, 0, "smtp-source sent $N messages") or diag("$out$err");
ok(wait_for(sub { $sink->count >= $N }, 60), "the sink received all $N")
    or diag('got ' . $sink->count);
ok(wait_for(sub { !$s->queue_files }, 30), 'the queue is empty again');

# Two timers may be new, neither per message: the one delay-notice timer,
# and the batch of bucket-directory fsyncs after the removals (qmgr_sync.c,
# at most QMGR_SYNC_MS away).
my $after = timers();
ok(defined $after && $after <= $before + 2,
    "qmgr's pending timers after $N deliveries: got " . ($after // '?')
    . ", want at most $before + 2 (one delay-notice timer and one bucket-fsync "
    . "batch, not one per message)");

# The one timer still serves: held mail older than warn= gets its notice.
my $qid = $s->served('late@site.example');
ok($qid, 'a message for the held domain is queued');
ok(wait_for(sub { $s->log_text =~ /\Q$qid\E: sender delay notification: [0-9A-F]{20}/ }, 30),
    'its delay notice is written after warn=3s') or diag($s->log_text);
is($s->stop, 0, 'clean stop');
$sink->stop;
done_testing;
