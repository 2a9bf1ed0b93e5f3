# 46-finger-finished: the "finished" signal at finger, with Debian's finger
# client (on port 79 of 127.0.0.46: root only, as t/56). Before a release
# "Delivery: waiting for the gate"; "?site.example" reports and does not
# release (proved after a barrier: no trigger line, nothing at the sink);
# after ETRN, with Postfix's smtp-sink as the site (stopped until a
# delivery is seen in flight), "In flight:" then "Delivery: finished
# at ..." with "Delivered since the gate opened:" equal to the sink's count;
# a site that refuses connections: "Delivery: failing: cannot reach ...".
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);

use Release qw(barrier_domain barrier);
use Sink;
use SluiceTest qw(tool run_cmd free_port wait_for smtp_connect smtp_xact);
use FingerProbe qw(finger_port_up sink_start sink_stop sink_messages log_count);

plan skip_all => 'finger on port 79 needs root to bind the port (run the tests as root)'
    if $> != 0;
my $faddr = '127.0.0.46';
my $busy = IO::Socket::INET->new(PeerAddr => $faddr, PeerPort => 79,
    Proto => 'tcp', Timeout => 2);
plan skip_all => "port 79 of $faddr is already in use" if $busy;

my $t0 = time;
my $sinkport = free_port();
my $s = SluiceTest->new(conf => { finger_listen => "$faddr:79" },
    domains => ['placeholder']);
my $ctl = Sink->start(dir => $s->dir . '/barrier');
my $oracle = Sink->start(dir => $s->dir . '/oracle');
my $dead = $s->dead_port;
$s->set_domains(
	"site.example mode=hold route=[127.0.0.1]:$sinkport finger=yes probe=no lease=5m",
	"dead.example mode=hold route=[127.0.0.1]:$dead finger=yes probe=no",
	"mark.example mode=hold route=[127.0.0.1]:$dead finger=yes probe=no",
	"closed.example mode=hold route=[127.0.0.1]:$sinkport finger=no probe=no",
	barrier_domain($ctl));
$s->start;
ok(finger_port_up(79, $faddr), "fingerd listens on $faddr:79")
    or BAIL_OUT("fingerd did not start:\n" . $s->log_text);
my $finger = tool('finger');
my $dir = $s->dir;

# finger QUERY - the real client's output for QUERY@$faddr (CRs gone)
sub finger {
	my ($q) = @_;
	my ($rc, $out, $err) = run_cmd([$finger, "$q\@$faddr"], timeout => 30);
	diag("finger $q: exit $rc: $err") if $rc != 0;
	$out =~ s/\r//g;
	return $out;
}

# line NAME, TEXT - the value of the "NAME: value" line of an answer
sub line {
	my ($name, $t) = @_;
	return $t =~ /^\Q$name\E: (.*)$/m ? $1 : undef;
}

for my $d (qw(site.example site.example site.example dead.example closed.example)) {
	my ($rc, $out) = $s->swaks('--to', "user\@$d", '--from', 'sender@sluice.test');
	is($rc, 0, "a message for $d accepted") or diag($out);
}
ok(wait_for(sub { scalar($s->queue_list_ids) == 5 }, 20), 'five messages queued');

# --- before the release: waiting for the gate, and ?DOMAIN releases nothing ---

my $out = finger('?site.example');
is(line('Messages waiting', $out), 3, '?site.example: 3 waiting') or diag($out);
is(line('Status', $out), 'held until released', '?site.example: held until released');
is(line('In flight', $out), 0, 'nothing in flight');
is(line('Delivered since the gate opened', $out), 0, 'nothing delivered');
is(line('Delivery', $out), 'waiting for the gate', 'Delivery: waiting for the gate');
is(line('Next probe', $out), undef, 'no Next probe: line for a domain with probe=no');
# The barrier: a trigger sent after the report-only query is logged, and
# a message queued after it for a backup domain is delivered. A release
# by "?site.example" would have logged its trigger before its answer.
like(finger('mark.example'), qr/^Domain: mark\.example$/m, 'finger mark.example answers');
ok($s->wait_log(qr/trigger: domain=mark\.example, source=finger, client=[\d.]+, user=-, result=none/),
    'the later trigger (mark.example) is logged');
ok(barrier($s, $oracle), 'and a message queued after it for a backup domain was delivered');
is(log_count($s, qr/trigger: domain=site\.example/), 0, '?site.example sent no trigger');
is(log_count($s, qr/gate: domain=site\.example/), 0, 'and opened no gate');
is(scalar($s->queue_list_ids('--domain', 'site.example')), 3, 'the three messages still wait');

# finger=no: the report-only form shows it no more than the trigger does.
my $closed = finger('?closed.example');
my $nosuch = finger('?nosuch.example');
s/(Domain: )\S+/$1D/, s/finished at .*/finished at T/ for $closed, $nosuch;
is($closed, $nosuch, '?closed.example (finger=no, with mail) looks like an unknown domain');
is(line('Messages waiting', $closed), 0, 'and shows no mail');

# --- the release: ETRN, a site that is slow to take each message ---

# The site is frozen (SIGSTOP) with its port open: deliver connects and
# waits for the greeting, so the deliveries stay in flight until CONT.
my $sink = sink_start("$dir/sink", $sinkport);
kill 'STOP', $sink;
my ($c, $code) = smtp_connect($s);
is($code, '220', 'ETRN session greeted');
smtp_xact($c, 'EHLO client.test');
my ($rc, $text) = smtp_xact($c, 'ETRN site.example');
like("$rc $text", qr/^25[013] /, "ETRN site.example: $rc");
smtp_xact($c, 'QUIT');
close $c;
# poll_finger QUERY, TEST - ask once a second (fingerd answers one
# client 20 queries a minute) until TEST(answer); the answer or undef.
sub poll_finger {
	my ($q, $test) = @_;
	for (1 .. 30 * $SluiceTest::SLOW) {
		my $o = finger($q);
		return $o if $test->($o);
		sleep 1;
	}
	return undef;
}

my $busy_seen = poll_finger('?site.example', sub { (line('In flight', $_[0]) // 0) > 0 });
ok(defined $busy_seen, 'while the site takes the mail, deliveries are in flight');
is(line('Delivery', $busy_seen // ''), 'in progress', 'Delivery: in progress meanwhile');
is(line('Status', $busy_seen // ''), 'delivery under way', 'Status: delivery under way');
kill 'CONT', $sink;
ok(wait_for(sub { scalar($s->queue_list_ids('--domain', 'site.example')) == 0 }, 60),
    'the queue of site.example empties');
my $done = poll_finger('?site.example', sub { (line('Delivery', $_[0]) // '') =~ /^finished at / });
ok(defined $done, 'then: Delivery: finished at ...');
like(line('Delivery', $done // ''), qr/^finished at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    'the finish time in UTC');
my $count = scalar(sink_messages("$dir/sink"));
is($count, 3, 'the sink has the three messages');
is(line('Delivered since the gate opened', $done // ''), $count,
    'Delivered since the gate opened: equals the sink\'s count');
is(line('Messages waiting', $done // ''), 0, 'nothing waiting');
is(line('In flight', $done // ''), 0, 'nothing in flight');
# The plain form releases as before, and says the same once nothing is left.
$out = finger('site.example');
like($out, qr/^Delivery: finished at /m, 'plain finger after the flush: finished too');
sink_stop($sink);

# --- a site that refuses connections: failing, with the reason ---

$out = finger('dead.example');
is(line('Status', $out), 'delivery started', 'finger dead.example releases it');
ok($s->wait_log(qr/gate: domain=dead\.example, state=held, reason=connection failed/),
    'the refused connection closed the gate');
$out = finger('?dead.example');
like(line('Delivery', $out) // '',
    qr/^failing: cannot reach 127\.0\.0\.1:$dead: connection refused, \d\d:\d\d$/,
    'Delivery: failing: cannot reach 127.0.0.1:PORT: connection refused, HH:MM') or diag($out);
is(line('Messages waiting', $out), 1, 'the message still waits');

my @bad = grep { /AddressSanitizer|runtime error|panic/ } split /\n/, $s->log_text;
ok(!@bad, 'no sanitizer report or panic') or diag(join "\n", @bad);
$s->stop;
$_->stop for $ctl, $oracle;
diag(sprintf 'run time %.1fs', time - $t0);
done_testing();
