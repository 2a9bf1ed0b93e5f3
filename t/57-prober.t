# 57-prober: the connectivity prober against a real sluice. With the
# customer's server down, mail waits and the prober backs off with one log
# line; once Postfix's smtp-sink listens, the mail arrives with no trigger
# but the prober's; stopping the sink closes the gate at the first failed
# delivery. Domains without mail or with probe=no are never probed;
# route=mx probes the best MX host that is not us (fake DNS on loopback).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
no warnings qw(exec);

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

use FakeDNS;
use SluiceTest qw(free_port wait_for slurp);
use FingerProbe qw(sink_start sink_stop sink_messages log_count wait_log hangup_server);

my $sinkport = free_port();
my $quietport = free_port();
my $dns = FakeDNS->start(
    'loop.example' => ['MX 5 mx.sluice.test'],
    'mx.example' => ['MX 20 mx.sluice.test', 'MX 10 down.test'],
    'down.test' => ['A 127.0.0.254']);
my $s = SluiceTest->new(
    conf => { probe_max => '4s', probe_timeout => '2s',
	dns_servers => '127.0.0.1:' . $dns->port },
    domains => [
	"site.example mode=hold route=[127.0.0.1]:$sinkport probe=2s",
	"quiet.example mode=hold route=[127.0.0.1]:$quietport probe=no",
	"nomail.example mode=hold route=[127.0.0.1]:$quietport probe=2s",
	"loop.example mode=hold route=mx probe=2s",
	"mx.example mode=hold route=mx probe=2s",
    ]);
my $dir = $s->dir;

# A server that accepts and hangs up before any banner: every probe
# fails, and each connection's time is written down.
my $fake = hangup_server($sinkport, "$dir/accepts");
END { kill 'KILL', $fake if $fake; }
$s->start;
for my $i (1 .. 2) {
	my ($rc, $out) = $s->swaks('--to', "user$i\@site.example",
	    '--from', 'sender@sluice.test', '--header', "Subject: probe $i");
	is($rc, 0, "message $i for site.example accepted") or diag($out);
}
for my $d (qw(quiet.example loop.example mx.example)) {
	my ($rc, $out) = $s->swaks('--to', "user\@$d", '--from', 'sender@sluice.test');
	is($rc, 0, "message for $d accepted") or diag($out);
}

# --- the site is down: back-off, one log line ---

ok(wait_log($s, qr/prober\[\d+\]: probe: domain=site\.example, state=unreachable, next=2s, reason=127\.0\.0\.1\[127\.0\.0\.1\]:$sinkport closed the connection before its banner/),
    'site.example: unreachable, logged with the reason');
# accepts - times of the probes (not of our own check above)
sub accepts { my @a = split /\n/, slurp("$dir/accepts") // ''; return @a[1 .. $#a] }
ok(wait_for(sub { my @a = accepts(); @a >= 4 }, 40), 'the prober keeps probing');
my @t = accepts();
my @gap = map { $t[$_] - $t[$_ - 1] } 1 .. $#t;
diag(sprintf 'gaps between probes: %s', join ' ', map { sprintf '%.1fs', $_ } @gap);
ok($gap[0] >= 1.9, sprintf 'first wait is probe= (%.1fs >= 2s)', $gap[0]);
ok($gap[1] >= 3.9 && $gap[2] >= 3.9,
    sprintf 'then doubled, up to probe_max (%.1fs, %.1fs >= 4s)', $gap[1], $gap[2]);
is(log_count($s, qr/probe: domain=site\.example, /), 1,
    'one log line for the state change, not one per probe');
is(scalar($s->queue_list_ids('--domain', 'site.example')), 2, 'both messages wait');

# --- route=mx: the best MX that is not this host ---

ok(wait_log($s, qr/probe: domain=loop\.example, state=unreachable, next=2s, reason=no MX host of loop\.example above mx\.sluice\.test/),
    'route=mx listing only us: never probes itself');
ok(wait_log($s, qr/probe: domain=mx\.example, state=\w+, next=2s, .*down\.test\[127\.0\.0\.254\]:25/),
    'route=mx: probes the MX host that is not us, on port 25');

# --- the site comes up ---

kill 'KILL', $fake;
waitpid $fake, 0;
$fake = undef;
my $sink = sink_start("$dir/sink", $sinkport);
my $t0 = time;
ok(wait_for(sub { scalar(sink_messages("$dir/sink")) >= 2 }, 30),
    'the held mail arrives at the sink once it is up');
diag(sprintf 'mail arrived %.1fs after the sink started (probe_max 4s)', time - $t0);
ok(wait_for(sub {
	my @m = sink_messages("$dir/sink");
	(grep { /Subject: probe 1/ } @m) && (grep { /Subject: probe 2/ } @m);
}, 10), 'both messages, whole');
ok(log_count($s, qr/probe: domain=site\.example, state=reachable, next=2s, host=127\.0\.0\.1\[127\.0\.0\.1\]:$sinkport/) == 1,
    'the prober logged the change to reachable');
ok(log_count($s, qr/qmgr\[\d+\]: trigger: domain=site\.example, source=probe, client=-, user=-, result=ok, pending=2/) == 1,
    'qmgr logged the prober\'s trigger');
ok(log_count($s, qr/gate: domain=site\.example, state=open, .*reason=probe/) >= 1,
    'the gate opened because of the probe');
is(log_count($s, qr/trigger: domain=site\.example, source=(?!probe)/), 0,
    'no other trigger was sent');
ok(wait_for(sub { scalar($s->queue_list_ids('--domain', 'site.example')) == 0 }, 20),
    'the queue of site.example is empty');

# --- the site goes away again: the first failed delivery closes the gate ---

sink_stop($sink);
my ($rc, $out) = $s->swaks('--to', 'user3@site.example', '--from', 'sender@sluice.test');
is($rc, 0, 'a new message for site.example accepted') or diag($out);
ok(wait_log($s, qr/qmgr\[\d+\]: gate: domain=site\.example, state=held/),
    'the failed delivery closed the gate');
is(scalar($s->queue_list_ids('--domain', 'site.example')), 1, 'the message waits');
ok(wait_for(sub { log_count($s, qr/probe: domain=site\.example, state=unreachable/) == 2 }, 30),
    'the prober took over again: unreachable');

# --- never probed: no mail, or probe=no ---

is(log_count($s, qr/probe: domain=nomail\.example/), 0, 'a domain without mail is not probed');
is(log_count($s, qr/probe: domain=quiet\.example/), 0, 'a probe=no domain is not probed');
is(scalar($s->queue_list_ids('--domain', 'quiet.example')), 1, 'and its mail waits');
is(log_count($s, qr/prober\[\d+\]: (?:fatal|panic)/), 0, 'no fatal error in the prober');

$s->stop;
$dns->stop;
done_testing();
