# 34-route-client: route=client, for a site with no fixed address.
#
# site.example's mail goes to the address its owner's authenticated
# trigger came from, for the life of the lease: a web login by curl from
# 127.0.0.5 (smtp-sink listening there) gets the mail delivered to
# 127.0.0.5, and the status page says where; an ETRN after SMTP AUTH
# from 127.0.0.6 points it there. Unauthenticated triggers (fetchmail's
# ETRN, a plain ETRN from another address) never set or move the address:
# with none, the mail stays queued. The login's address is probed first
# (a 220 greeting there, or no route): a login from 127.0.0.8, where
# nothing listens, logs probe=failed and delivers nothing.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use Test::More;

use SluiceTest qw(free_port wait_for slurp smtp_reply smtp_xact);
use WebTest qw(curl header csrf_of customer_passwd);
use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);
use Smtpd2 qw(fetchmail_etrn);
use LyingMX;

my $wport = free_port();
my $sinkport = free_port();
my $subport = free_port();	# AUTH is offered on the submission port
my $s = SluiceTest->new(
    conf => {
	web_listen => "127.0.0.1:$wport",
	submission_listen => "127.0.0.1:$subport",
	web_refresh => '1s',
	smtpd_tls_auth_only => 'no',
	trigger_min_interval => '0',
	trigger_client_limit => 1000,
	probe_timeout => '2s',
    },
    domains => [
	"site.example mode=hold route=client:$sinkport lease=10m probe=no owner=demo",
    ]);
ok(customer_passwd($s, 'demo', 'demo-secret'), 'sluice passwd demo');
my ($crc, $cout, $cerr) = $s->cli('config', 'check');
is($crc, 0, 'config check takes route=client:PORT') or diag($cout . $cerr);
$s->start;
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);

my $dir = $s->dir;
my %sink = map { $_ => smtp_sink_start("$dir/sink-$_", "127.0.0.$_:$sinkport") } 5, 6, 7;
sub got { my @m = smtp_sink_files("$dir/sink-$_[0]"); return scalar @m }

for my $i (1, 2) {
	my ($r, $o) = $s->swaks('--to', "user$i\@site.example", '--header', "Subject: client $i");
	is($r, 0, "message $i queued") or diag($o);
}

# fetchmail's ETRN: anyone may send it; it opens the gate but gives no address.
my ($st, $out) = fetchmail_etrn($s, 'site.example');
ok($s->wait_log(qr/gate: domain=site\.example, route=client, relay=none, source=etrn, reason=not an authenticated trigger/, 20),
    'an unauthenticated ETRN gives route=client no address (logged)') or diag($out);
like($s->log_text, qr/trigger: domain=site\.example, source=etrn, .*result=ok, pending=2/,
    'the ETRN itself was accepted');
is(scalar($s->queue_list_ids), 2, 'the mail stays queued');
is(got(5) + got(6) + got(7), 0, 'nothing went anywhere');

my $base = "http://127.0.0.1:$wport";
# The owner logs in from 127.0.0.8, where no SMTP server listens: the
# probe fails, the route is not used, the mail stays queued.
sub login {
	my ($jar, @from) = @_;
	my $r = curl($jar, @from, "$base/");
	my $token = csrf_of($r->{body});
	return curl($jar, @from, '--data-urlencode', 'user=demo', '--data-urlencode',
	    'password=demo-secret', '--data-urlencode', "csrf=$token", "$base/login");
}
my $r8 = login("$dir/cookies8", '--interface', '127.0.0.8');
is($r8->{code}, '303', 'login from 127.0.0.8: 303');
ok($s->wait_log(qr/gate: domain=site\.example, route=client, relay=\[127\.0\.0\.8\]:$sinkport, probe=failed \(connection refused\)/, 30),
    'the probe of 127.0.0.8 fails (logged)') or diag($s->log_text);
is(scalar($s->queue_list_ids), 2, 'the mail stays queued after the failed probe');
is(got(5) + got(6) + got(7), 0, 'nothing delivered anywhere');
unlike($s->log_text, qr/relay=127\.0\.0\.8\[/, 'deliver never tried 127.0.0.8');

# Servers there that do not greet with 220 fail the probe as well: a
# wrong code, a greeting line without end, one that never speaks.
my %liar = ('127.0.0.9' => ['bad_code', qr/greeting was not 220: 2x0 hello/],
    '127.0.0.10' => ['long_line', qr/greeting line too long/],
    '127.0.0.11' => ['silent', qr/greeting timed out after 2s/]);
for my $a (sort keys %liar) {
	my ($cue, $why) = @{$liar{$a}};
	my $l = LyingMX->start(dir => "$dir/liar-$cue", addr => $a, port => $sinkport, cue => $cue);
	my $r = login("$dir/cookies-$cue", '--interface', $a);
	is($r->{code}, '303', "login from $a ($cue): 303");
	ok($s->wait_log(qr/gate: domain=site\.example, route=client, relay=\[\Q$a\E\]:$sinkport, probe=failed \($why\)/, 30),
	    "the probe of a server that answers $cue fails (logged)") or diag($s->log_text);
	$l->stop;
}
is(scalar($s->queue_list_ids), 2, 'the mail is still queued');
unlike($s->log_text, qr/relay=127\.0\.0\.(?:9|10|11)\[/, 'deliver tried none of them');

# The owner logs in on the web page from 127.0.0.5.
my $jar = "$dir/cookies";
my @from5 = ('--interface', '127.0.0.5');
my $r = curl($jar, @from5, "$base/");
my $token = csrf_of($r->{body});
ok($token, 'login form with its CSRF token');
$r = curl($jar, @from5, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=demo-secret', '--data-urlencode', "csrf=$token", "$base/login");
is($r->{code}, '303', 'login from 127.0.0.5: 303');
ok($s->wait_log(qr/gate: domain=site\.example, route=client, relay=\[127\.0\.0\.5\]:$sinkport, source=web, user=demo/, 20),
    'the web login points route=client at 127.0.0.5 (logged)');
ok($s->wait_log(qr/gate: domain=site\.example, route=client, relay=\[127\.0\.0\.5\]:$sinkport, probe=ok/, 20),
    'the smtp-sink on 127.0.0.5 answers the probe (logged probe=ok)');
ok(wait_for(sub { got(5) == 2 }, 30), 'both messages delivered to the sink on 127.0.0.5')
    or diag($s->log_text);
ok($s->wait_log(qr/to=<user\d\@site\.example>, relay=127\.0\.0\.5\[127\.0\.0\.5\]:$sinkport, .*status=sent/, 10, 2),
    'deliver logs relay=127.0.0.5 for both');
ok(wait_for(sub { !$s->queue_list_ids }, 20), 'the queue is empty');
$r = curl($jar, @from5, "$base/status");
like($r->{body}, qr/<dd class="route">\[127\.0\.0\.5\]:$sinkport \(your address\)<\/dd>/,
    'the status page shows where the mail goes') or diag($r->{body});
# The page refreshing itself from the same address keeps the proven route:
# no new probe that would blank it until the site answers again.
for my $n (1 .. 3) {
	$r = curl($jar, @from5, "$base/status");
	like($r->{body}, qr/<dd class="route">\[127\.0\.0\.5\]:$sinkport \(your address\)<\/dd>/,
	    "refresh $n still shows the route");
}
my @points = $s->log_text =~ /gate: domain=site\.example, route=client, relay=\[127\.0\.0\.5\]:$sinkport, source=web/g;
is(scalar @points, 1, 'one login, one route: the refreshes from the same address did not re-point it');

# A plain ETRN from 127.0.0.7 during the lease does not move the address.
my $c = IO::Socket::INET->new(PeerAddr => $s->addr, PeerPort => $s->port,
    LocalAddr => '127.0.0.7', Proto => 'tcp', Timeout => 10) or die "connect: $!";
smtp_reply($c);
smtp_xact($c, 'EHLO spoof.test');
my ($code) = smtp_xact($c, 'ETRN site.example');
like($code, qr/^25[0-3]$/, 'a plain ETRN from 127.0.0.7 is accepted');
smtp_xact($c, 'QUIT');
close $c;
my ($r3, $o3) = $s->swaks('--to', 'user3@site.example', '--header', 'Subject: client 3');
is($r3, 0, 'message 3 queued while the lease runs');
ok(wait_for(sub { got(5) == 3 }, 30), 'it goes to 127.0.0.5 still');
is(got(7), 0, 'nothing to the unauthenticated client');
unlike($s->log_text, qr/route=client, relay=\[127\.0\.0\.7\]/, 'never pointed at 127.0.0.7');

# Logout closes the gate and forgets the address.
$r = curl($jar, @from5, "$base/status");
$r = curl($jar, @from5, '--data-urlencode', 'csrf=' . csrf_of($r->{body}), "$base/logout");
is($r->{code}, '200', 'logout');
ok($s->wait_log(qr/gate: domain=site\.example, state=held, reason=closed by web user demo/, 10),
    'the gate closes');
my ($r4, $o4) = $s->swaks('--to', 'user4@site.example', '--header', 'Subject: client 4');
is($r4, 0, 'message 4 queued after the logout');

# ETRN after SMTP AUTH (submission port) from 127.0.0.6: the owner's
# address again, and the mail goes there.
$c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $subport,
    LocalAddr => '127.0.0.6', Proto => 'tcp', Timeout => 10) or die "connect: $!";
smtp_reply($c);
smtp_xact($c, 'EHLO site.example');
my ($ac, $at) = smtp_xact($c, 'AUTH PLAIN ' . encode_base64("\0demo\0demo-secret", ''));
is($ac, 235, 'AUTH PLAIN as demo from 127.0.0.6') or diag($at);
($code) = smtp_xact($c, 'ETRN site.example');
like($code, qr/^25[0-3]$/, 'ETRN after AUTH accepted');
smtp_xact($c, 'QUIT');
close $c;
ok($s->wait_log(qr/gate: domain=site\.example, route=client, relay=\[127\.0\.0\.6\]:$sinkport, source=etrn, user=demo/, 20),
    'ETRN after AUTH points route=client at 127.0.0.6 (logged)');
ok($s->wait_log(qr/gate: domain=site\.example, route=client, relay=\[127\.0\.0\.6\]:$sinkport, probe=ok/, 20),
    'and its probe succeeds');
ok(wait_for(sub { got(6) == 1 }, 30), 'message 4 delivered to 127.0.0.6') or diag($s->log_text);
is(got(5), 3, 'nothing more to 127.0.0.5');
is(got(7), 0, 'nothing to 127.0.0.7');

smtp_sink_stop($_) for values %sink;
$s->stop;
done_testing();
