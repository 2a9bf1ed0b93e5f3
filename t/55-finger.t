# 55-finger: fingerd over raw TCP on a test port (Debian's finger client
# cannot take a port; t/56-finger-client.t runs it on port 79 as root).
# The banner, refusal of forwarding, one answer shape for unknown, closed
# and empty domains, release of held mail to the sink with the audit
# line, limits (line length, timeout, sessions and queries per client).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

use Release qw(barrier_domain barrier);
use Sink;
use SluiceTest qw(free_port wait_for);
use FingerProbe qw(finger_query finger_port_up sink_start sink_stop
    sink_messages log_count wait_log);

my $fport = free_port();
my $sinkport = free_port();
my $s = SluiceTest->new(
    conf => { finger_listen => "127.0.0.1:$fport", finger_timeout => '2s' },
    domains => ['placeholder']);
# Absence checks wait for Release::barrier: mail for barrier.example.
my $ctl = Sink->start(dir => $s->dir . '/barrier');
my $oracle = Sink->start(dir => $s->dir . '/oracle');
$s->set_domains(
	"site.example mode=hold route=[127.0.0.1]:$sinkport finger=yes probe=no",
	"closed.example mode=hold route=[127.0.0.1]:$sinkport finger=no probe=no",
	"empty.example mode=hold route=[127.0.0.1]:$sinkport finger=yes probe=no",
	barrier_domain($ctl));
$s->start;
# fingerd gives qmgr 3 s an answer; under ASan on a loaded machine qmgr's
# start (index recovery, reconcile) took longer and the first finger said
# "unavailable". Ask only once qmgr has answered a CLI request.
ok(wait_for(sub { ($s->cli('queue', 'count'))[0] == 0 }, 60), 'qmgr answers');
ok(finger_port_up($fport), 'fingerd listens on the finger port')
    or BAIL_OUT("fingerd did not start:\n" . $s->log_text);
my $dir = $s->dir;

# crlf_lines - is every line of the answer ended by CRLF?
sub crlf_lines { return $_[0] =~ /\A(?:[^\r\n]*\r\n)+\z/ ? 1 : 0 }

# shape - the answer with the domain and the numbers masked
sub shape {
	my ($t, $dom) = @_;
	$t =~ s/\Q$dom\E/DOMAIN/g;
	# "finished at" is the time of the answer when nothing was released.
	$t =~ s/^Delivery: finished at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\r$/Delivery: finished at T\r/m;
	return $t;
}

# --- the fixed texts ---

my $got = finger_query($fport, "\r\n");
like($got, qr/finger service/, 'empty query: the banner');
unlike($got, qr/site\.example|closed\.example|empty\.example|Domain:/, 'the banner lists no domain');
ok(crlf_lines($got), 'the banner ends its lines with CRLF');

for my $q ("a\@b", "a\@b\@c", "/W user\@host", "\@site.example") {
	is(finger_query($fport, "$q\r\n"), "Finger forwarding service denied.\r\n",
	    "forwarding query '$q' refused");
}
ok(log_count($s, qr/fingerd\[\d+\]: warning: refuse query from 127\.0\.0\.1: forwarding denied/) >= 4,
    'forwarding refusals are logged');
is(finger_query($fport, "no such thing\r\n", '127.0.0.2'), "Not a domain name.\r\n",
    'garbage query: not a domain name');

# --- one shape for a domain with no mail, an unknown one, a closed one ---
# (A trigger opens the gate even when no mail waits, so the domain with
# no mail is not site.example: its mail must stay held until released.)

my %ans;
for my $d (qw(empty.example nosuch.example closed.example)) {
	$ans{$d} = finger_query($fport, "$d\r\n", '127.0.0.2');
	$ans{"/W $d"} = finger_query($fport, "/W $d\r\n", '127.0.0.2');
}
like($ans{'empty.example'}, qr/\ADomain: empty\.example\r\nMessages waiting: 0\r\nOldest: -\r\nStatus: no mail waiting\r\nIn flight: 0\r\nDelivered since the gate opened: 0\r\nDelivery: finished at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\r\n\z/,
    'a customer domain with no mail: zero waiting');
for my $d (qw(nosuch.example closed.example)) {
	is(shape($ans{$d}, $d), shape($ans{'empty.example'}, 'empty.example'),
	    "$d gets the same answer as a customer domain with no mail");
	is(shape($ans{"/W $d"}, $d), shape($ans{'/W empty.example'}, 'empty.example'),
	    "/W $d gets the same answer too");
}
like($ans{'/W empty.example'}, qr/Bytes waiting: 0\r\nFirst bounce: -\r\n\z/,
    '/W adds bytes and the first bounce');
ok(crlf_lines($ans{$_}), "answer to '$_' ends its lines with CRLF") for sort keys %ans;

# --- release: held mail goes to the domain's route, and only then ---

my $sink = sink_start("$dir/sink", $sinkport);
for my $i (1 .. 2) {
	my ($rc, $out) = $s->swaks('--to', "user$i\@site.example",
	    '--from', 'sender@sluice.test', '--header', "Subject: finger $i");
	is($rc, 0, "message $i for site.example accepted") or diag($out);
}
my ($rc, $out) = $s->swaks('--to', 'user@closed.example', '--from', 'sender@sluice.test');
is($rc, 0, 'message for closed.example accepted') or diag($out);
ok(wait_for(sub { scalar($s->queue_list_ids) == 3 }, 20), 'three messages queued');
ok(barrier($s, $oracle), 'a message queued after them for a backup domain was delivered');
is(scalar(sink_messages("$dir/sink")), 0, 'held mail waits while the site is up');

$got = finger_query($fport, "site.example\r\n", '127.0.0.3');
like($got, qr/\ADomain: site\.example\r\nMessages waiting: 2\r\nOldest: \d+s ago\r\nStatus: delivery started\r\nIn flight: \d\r\nDelivered since the gate opened: \d\r\nDelivery: in progress\r\n\z/,
    'finger site.example: 2 waiting, delivery started') or diag($got);
ok(wait_for(sub { scalar(sink_messages("$dir/sink")) == 2 }, 30),
    'both messages arrive at the sink');
# smtp-sink writes each file as the data comes: wait for the whole text.
ok(wait_for(sub {
	my @m = sink_messages("$dir/sink");
	(grep { /Subject: finger 1/ } @m) && (grep { /Subject: finger 2/ } @m);
}, 10), 'the sink got the two messages sent');
ok(wait_for(sub { scalar($s->queue_list_ids('--domain', 'site.example')) == 0 }, 20),
    'the queue of site.example is empty');
ok(wait_log($s, qr/qmgr\[\d+\]: trigger: domain=site\.example, source=finger, client=127\.0\.0\.3, user=-, result=ok, pending=2/),
    'qmgr logged the audit line of the finger trigger');

$got = finger_query($fport, "closed.example\r\n", '127.0.0.3');
is(shape($got, 'closed.example'), shape($ans{'empty.example'}, 'empty.example'),
    'finger=no domain with mail: still the no-mail answer');
ok(wait_log($s, qr/trigger: domain=closed\.example, source=finger, .*result=denied/),
    'the refused trigger is logged by qmgr');
ok(barrier($s, $oracle), 'a message queued after the refused trigger was delivered');
is(scalar($s->queue_list_ids('--domain', 'closed.example')), 1,
    'mail of the finger=no domain stays queued');
is(scalar(sink_messages("$dir/sink")), 2, 'and nothing more reached the sink');
sink_stop($sink);

$got = finger_query($fport, "SITE.Example.\r\n", '127.0.0.3');
like($got, qr/\ADomain: site\.example\r\n/, 'names are case-insensitive, a final dot ignored');

# --- limits ---

is(finger_query($fport, ('x' x 600) . "\r\n", '127.0.0.4'), "Query too long.\r\n",
    'a 600-octet query line is refused');
my $t0 = time;
is(finger_query($fport, '', '127.0.0.4'), '', 'no query: closed without an answer');
my $took = time - $t0;
ok($took >= 1.5 && $took < 10 * $SluiceTest::SLOW, "closed after finger_timeout (${took}s)");

my @idle = map {
	IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $fport,
	    LocalAddr => '127.0.0.5', Proto => 'tcp')
} 1 .. 5;
is(scalar(grep { defined } @idle), 5, 'five sessions from one client');
sleep 0.3;
like(finger_query($fport, "site.example\r\n", '127.0.0.5'), qr/^Too many connections/,
    'a sixth at once is refused');
like(finger_query($fport, "site.example\r\n", '127.0.0.6'), qr/^Domain: site\.example/,
    'another client is still served');
close $_ for grep { defined } @idle;

my ($served, $limited) = (0, 0);
for (1 .. 25) {
	my $r = finger_query($fport, "nosuch.example\r\n", '127.0.0.7') // '';
	$served++ if $r =~ /^Domain:/;
	$limited++ if $r =~ /^Too many queries/;
}
is($served, 20, 'one client gets 20 answers a minute');
is($limited, 5, 'and then a refusal');
like(finger_query($fport, "nosuch.example\r\n", '127.0.0.8'), qr/^Domain:/,
    'other clients are not limited by it');

# --- qmgr does not answer: the others are still served, then the same shape ---

my $qmgr = $s->child_pid('qmgr');
kill 'STOP', $qmgr;
my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $fport,
    LocalAddr => '127.0.0.9', Proto => 'tcp');
syswrite($slow, "empty.example\r\n");
sleep 0.3;
$t0 = time;
like(finger_query($fport, "\r\n", '127.0.0.10'), qr/finger service/,
    'while qmgr is stuck, another client gets its answer');
ok(time - $t0 < 2, sprintf 'at once (%.1fs): fingerd does not wait for qmgr', time - $t0);
my $stuck = '';
{
	local $/;
	$stuck = <$slow> // '';
}
kill 'CONT', $qmgr;
like($stuck, qr/\ADomain: empty\.example\r\nMessages waiting: 0\r\nOldest: -\r\nStatus: mail system unavailable; try again later\r\nIn flight: 0\r\nDelivered since the gate opened: 0\r\nDelivery: unknown; ask again later\r\n\z/,
    'qmgr stuck: the answer says so, in the same shape');
ok(wait_log($s, qr/fingerd\[\d+\]: warning: trigger domain empty\.example: qmgr: timeout/),
    'and fingerd logs why');

ok($s->child_pid('fingerd'), 'fingerd is still running');
$s->stop;
$_->stop for $ctl, $oracle;
done_testing();
