# 59-prober-soon: the prober's items of issue 9 against a real sluice. New
# mail for a held domain whose next probe is an hour away is probed within
# seconds, and the site, up by then, gets its mail; with two MX hosts above
# ours, the first down and the second's first address down, the probe goes
# on to the address that answers; probe_max bounds the back-off; finger
# shows the next probe time, and so does the web status page (curl, after
# the customer's login: its gate opened, failed and closed again).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
no warnings qw(exec);

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);
use Time::Local qw(timegm);

use FakeDNS;
use SluiceTest qw(free_port wait_for slurp);
use FingerProbe qw(finger_query finger_port_up sink_start sink_stop sink_messages
    log_count hangup_server);
use WebTest qw(curl csrf_of customer_passwd);

my $t0 = time;
my $soonport = free_port();
my $mxport = free_port();
my $capport = free_port();
my $fport = free_port();
my $wport = free_port();
my $webport = free_port();	# nothing listens: webbed.example's site is down
my $dns = FakeDNS->start(
    'two.example' => ['MX 10 down.two.test', 'MX 20 up.two.test', 'MX 30 mx.sluice.test'],
    'down.two.test' => ['A 127.0.0.59'],
    'up.two.test' => ['A 127.0.0.58', 'A 127.0.0.1']);
my $s = SluiceTest->new(
    conf => { probe_max => '5s', probe_timeout => '2s', smtp_mx_port => $mxport,
	finger_listen => "127.0.0.1:$fport", dns_servers => '127.0.0.1:' . $dns->port,
	web_listen => "127.0.0.1:$wport", trigger_min_interval => '0' },
    domains => [
	"soon.example mode=hold route=[127.0.0.1]:$soonport probe=1h finger=yes",
	"two.example mode=hold route=mx probe=1h",
	"capped.example mode=hold route=[127.0.0.1]:$capport probe=2s finger=yes",
	"webbed.example mode=hold route=[127.0.0.1]:$webport probe=1h finger=yes owner=demo",
    ]);
ok(customer_passwd($s, 'demo', 'demo-secret'), 'sluice passwd demo');
my $dir = $s->dir;

# A server that accepts and hangs up before any banner: capped.example's
# probes all fail, and each connection is written down.
my $fake = hangup_server($capport, "$dir/accepts");
END { kill 'KILL', $fake if $fake; }
$s->start;
ok(finger_port_up($fport), 'fingerd listens') or BAIL_OUT($s->log_text);

# utc TEXT - the epoch of "YYYY-MM-DD HH:MM:SS UTC", or undef
sub utc {
	my ($t) = @_;
	my @f = ($t // '') =~ /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC$/ or return undef;
	return timegm($f[5], $f[4], $f[3], $f[2], $f[1] - 1, $f[0]);
}

# next_probe DOMAIN - the Next probe: time finger reports (epoch), or undef
sub next_probe {
	my $a = finger_query($fport, "?$_[0]\r\n") // '';
	return $a =~ /^Next probe: (.*)\r$/m ? utc($1) : undef;
}

# --- new mail is probed within seconds, not at the next slot ---

my ($rc, $out) = $s->swaks('--to', 'user1@soon.example', '--from', 'sender@sluice.test');
is($rc, 0, 'a first message for soon.example accepted') or diag($out);
ok($s->wait_log(qr/probe: domain=soon\.example, state=unreachable, next=3600s, reason=connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$soonport: Connection refused/),
    'soon.example: the first probe fails, the next is an hour away');
my $np;
ok(wait_for(sub { $np = next_probe('soon.example'); defined $np }, 20),
    'finger ?soon.example shows a Next probe: time');
ok(defined $np && $np > time + 3000, 'about an hour from now')
    or diag('next probe ' . ($np // 'none') . ', now ' . time);
my $sink = sink_start("$dir/sink", $soonport);
($rc, $out) = $s->swaks('--to', 'user2@soon.example', '--from', 'sender@sluice.test');
is($rc, 0, 'a second message for soon.example accepted, the site now up') or diag($out);
ok($s->wait_log(qr/probe: domain=soon\.example, state=reachable, next=3600s, host=127\.0\.0\.1\[127\.0\.0\.1\]:$soonport/),
    'the new mail brought the probe forward: reachable');
ok($s->wait_log(qr/trigger: domain=soon\.example, source=probe, client=-, user=-, result=ok, pending=2/),
    'the prober\'s trigger released both messages');
ok(wait_for(sub { scalar(sink_messages("$dir/sink")) == 2 }, 30), 'both reach the site');
sink_stop($sink);

# --- every address of every MX host above ours ---

my $mxsink = sink_start("$dir/mxsink", $mxport);
($rc, $out) = $s->swaks('--to', 'user@two.example', '--from', 'sender@sluice.test');
is($rc, 0, 'a message for two.example accepted') or diag($out);
ok($s->wait_log(qr/probe: domain=two\.example, state=reachable, next=3600s, host=up\.two\.test\[127\.0\.0\.1\]:$mxport/),
    'the probe passed the dead MX and the dead address and reached up.two.test[127.0.0.1]');
ok($s->wait_log(qr/trigger: domain=two\.example, source=probe, .*result=ok/),
    'and released the domain');
is(log_count($s, qr/probe: domain=two\.example, state=unreachable/), 0,
    'one host down is not the site down');
sink_stop($mxsink);

# --- probe_max bounds the back-off; finger shows the next probe ---

($rc, $out) = $s->swaks('--to', 'user@capped.example', '--from', 'sender@sluice.test');
is($rc, 0, 'a message for capped.example accepted') or diag($out);
# accepts - times of the probes (not of our own check above)
sub accepts { my @a = split /\n/, slurp("$dir/accepts") // ''; return @a[1 .. $#a] }
ok(wait_for(sub { my @a = accepts(); @a >= 5 }, 60), 'capped.example: five failed probes');
# Asked first, then the probes read: the time finger shows belongs to a
# probe that began no later than the last one written down.
$np = next_probe('capped.example');
my @t = accepts();
my @gap = map { $t[$_] - $t[$_ - 1] } 1 .. $#t;
diag(sprintf 'gaps between probes: %s', join ' ', map { sprintf '%.1fs', $_ } @gap);
ok(defined $np, 'finger ?capped.example shows the next probe');
# At most probe_max after the probe began (epoch seconds, rounded up: one more).
ok(defined $np && $np <= $t[-1] + 5 + 1,
    sprintf 'the next probe is within probe_max (5s) of the last (%.1fs)', ($np // 0) - $t[-1]);

# --- the web status page shows the next probe ---

($rc, $out) = $s->swaks('--to', 'user@webbed.example', '--from', 'sender@sluice.test');
is($rc, 0, 'a message for webbed.example accepted') or diag($out);
ok($s->wait_log(qr/probe: domain=webbed\.example, state=unreachable, next=3600s/),
    'webbed.example: the probe of the new mail fails, the next is an hour away');
my $base = "http://127.0.0.1:$wport";
my $jar = "$dir/cookies";
my $r = curl($jar, "$base/");
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode', 'password=demo-secret',
    '--data-urlencode', 'csrf=' . (csrf_of($r->{body}) // ''), "$base/login");
is($r->{code}, '303', 'the customer logs in on the web page');
# The login opened the gate; the site is down, so it closes again and the
# prober's time is what the page shows.
ok($s->wait_log(qr/gate: domain=webbed\.example, state=held, reason=connection failed/, 30),
    'the delivery fails and the gate closes') or diag($s->log_text);
my $shown;
ok(wait_for(sub {
	my $p = curl($jar, "$base/status");
	($shown) = ($p->{body} // '') =~ m{<dt>Next probe</dt><dd class="probe">([^<]*)</dd>};
	defined $shown }, 20), 'the status page has a Next probe row') or diag($r->{body});
my $when = utc($shown);
ok(defined $when && $when > time + 3000, "about an hour from now: $shown")
    or diag('now ' . time);
is($when, next_probe('webbed.example'), 'the same time finger shows');

my @bad = grep { /AddressSanitizer|runtime error|panic/ } split /\n/, $s->log_text;
ok(!@bad, 'no sanitizer report or panic') or diag(join "\n", @bad);
$s->stop;
diag(sprintf 'run time %.1fs', time - $t0);
done_testing();
