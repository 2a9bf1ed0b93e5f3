# 81-gate-open: while a held domain's gate is open (lease=60s) new mail
# goes straight through; when the customer's server goes away the first
# refused connection closes the gate and mail queues again. Nothing is
# lost, nothing is duplicated, nothing bounces.
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
my $sinkdir = $s->dir . '/sink';
my $sink = Sink->start(dir => $sinkdir);
my $port = $sink->port;
my $oracle = Sink->start(dir => $s->dir . '/oracle');
my $ctl = Sink->start(dir => $s->dir . '/barrier');
# probe=no: the prober would open the gate by itself when the sink is up.
$s->set_domains("site.example mode=hold route=[127.0.0.1]:$port lease=60s probe=no",
    barrier_domain($ctl));
$s->start;

my @mids;
# send N - N messages through swaks; their queue IDs
sub send_some {
	my ($n) = @_;
	my @q;
	for (1 .. $n) {
		my ($qid, $bytes, $mid) = swaks_mail($s, $oracle);
		ok($qid, "queued $mid");
		push @mids, $mid;
		push @q, $qid // '';
	}
	return @q;
}

# The gate opens with a flush of what waits.
send_some(2);
my ($rc, $out) = flush($s, 'site.example');
like($out, qr/\b2 messages waiting/, 'flush releases the 2 held messages') or diag($out);
ok(wait_for(sub { $sink->count == 2 }, 30), 'both arrive');

# While open, new mail goes straight through, without another trigger.
my $triggers = log_count($s, qr/trigger: domain=site\.example/);
send_some(3);
ok(wait_for(sub { $sink->count == 5 }, 30), 'mail sent while the gate is open arrives');
is(log_count($s, qr/trigger: domain=site\.example/), $triggers,
    'with no new trigger');
ok(wait_for(sub { !$s->queue_files }, 10), 'and leaves no queue file behind');

# The site goes offline: the next delivery fails to connect and closes
# the gate at once (well before the lease ends).
$sink->stop;
my @offline = send_some(3);
ok(wait_log($s, qr/gate: domain=site\.example, state=held, reason=connection failed: [^\n]*refused/i),
    'a refused connection closes the gate (logged)')
    or diag(join "\n", grep { /gate:|site\.example/ } split /\n/, $s->log_text);
ok(wait_for(sub { scalar($s->queue_list_ids) == 3 }, 20),
    'the three new messages are queued again');
# The first of them met the refusal; the gate was shut before the
# others went out, and none of them got anywhere.
my $refused = qr/: to=<user\@site\.example>, relay=none, [^\n]*dsn=4\.4\.1, status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$port: Connection refused\)/;
my @deferred = grep { my $q = $_; log_count($s, qr/\Q$q\E$refused/) } @offline;
ok(@deferred >= 1, 'the attempt of one of them was logged as deferred: '
    . "connection to port $port refused") or diag(join "\n", $s->log_lines(qr/deferred/));
is(log_count($s, $refused), scalar @deferred, 'no other message was deferred that way');
is(scalar(grep { my $q = $_; log_count($s, qr/\Q$q\E: to=<[^>]*>, [^\n]*status=sent/) } @offline),
    0, 'none of the three was sent');

# The gate stays shut: with the site back, nothing is retried for a
# held domain until the next trigger.
$sink = Sink->start(dir => $sinkdir, port => $port);
my $attempts = log_count($s, qr/: to=<[^>]*\@site\.example>, relay=/);
send_some(1);
# Through an open gate the new message would have gone out when qmgr
# indexed it, ahead of the barrier queued after it.
ok(barrier($s, $oracle), 'a message queued after it for a backup domain was delivered');
is($sink->count, 5, 'held again: nothing delivered without a trigger');
is(log_count($s, qr/: to=<[^>]*\@site\.example>, relay=/), $attempts,
    'no delivery attempt for site.example since the gate closed');
is(scalar($s->queue_list_ids), 4, 'four messages wait');

($rc, $out) = flush($s, 'site.example');
like($out, qr/\b4 messages waiting/, 'flush reports the 4 waiting') or diag($out);
ok(wait_for(sub { $sink->count >= 9 }, 30), 'they arrive');
ok(wait_for(sub { !$s->queue_files }, 20), 'the queue is empty');
# Every delivery has ended once the queue is empty (a message leaves it
# after its last recipient's result).
is(log_count($s, qr/: to=<[^>]*\@site\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$port, [^\n]*status=sent \(250 /),
    scalar @mids, 'one status=sent line per message');

# Count per Message-ID: every message exactly once.
my %n;
$n{$_->{mid}}++ for $sink->messages;
my @lost = grep { !$n{$_} } @mids;
my @dup = grep { ($n{$_} // 0) > 1 } @mids;
is(scalar @lost, 0, 'nothing lost') or diag("lost: @lost");
is(scalar @dup, 0, 'nothing duplicated') or diag("duplicated: @dup");
is($sink->count, scalar @mids, 'the sink holds exactly the ' . scalar(@mids) . ' messages sent');

# Nothing bounced: no DSN was written, none reached anyone.
is(log_count($s, qr/status=(?:bounced|expired)/), 0, 'no bounce logged');
is(log_count($s, qr/: sender [a-z -]+ notification: /), 0,
    'no notice written');
is(scalar(grep { $_->{from} eq '' } $sink->messages), 0, 'no null-sender mail at the sink');

finish($s, $t0, $sink, $oracle, $ctl);
done_testing();
