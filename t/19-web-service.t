# t/19-web-service.t - the customer's web page as a service (web(8sluice)),
# driven by curl and read by headless Chromium: web_title names the
# service in the title, the heading and the login text, escaped; while
# the site refuses connections the page says "Delivery to your site is
# failing" with the reason and the time of the attempt instead of a
# green "open"; once the site (Postfix's smtp-sink) is up the mail goes
# and the page counts it; "delivered this session" counts only what the
# session saw, across two logins; a site that answers 450 to every
# recipient is failing too; a new web_title shows after `sluice reload`;
# HSTS is sent over HTTPS on every response and never over plain HTTP.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);

use SluiceTest qw(tool free_port wait_for run_cmd spew);
use WebTest qw(curl header csrf_of chromium_dom customer_passwd web_stopped_ok
    web_login status_until);
use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);

my $title = q{Acme <Mail> & "Co"};
my $title_html = 'Acme &lt;Mail&gt; &amp; &quot;Co&quot;';
# The same text as Chromium writes a text node back out.
my $title_dom = 'Acme &lt;Mail&gt; &amp; "Co"';
my $wport = free_port();
my $sinkport = free_port();
my $s = SluiceTest->new(
    conf => {
	web_listen => "127.0.0.1:$wport",
	web_refresh => '1s',
	trigger_min_interval => '1s',
	trigger_client_limit => 1000,
	web_title => $title,
    },
    domains => ['placeholder']);
# backup.example: a classic secondary MX's domain, whose retries qmgr
# schedules itself, so the page can say when the next one is.
$s->set_domains(
	"site.example mode=hold route=[127.0.0.1]:$sinkport lease=5m probe=no owner=demo",
	"backup.example mode=backup route=[127.0.0.1]:\@DEAD\@ probe=no owner=demo");
ok(customer_passwd($s, 'demo', 'demo-secret'), 'sluice passwd demo');
my $t0 = time;
$s->start;
my $base = "http://127.0.0.1:$wport";
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);
my $dir = $s->dir;

# title_ok DOM, WHAT - Chromium read web_title as text: in <title>, in the
# heading, and no element made of it
sub title_ok {
	my ($dom, $what) = @_;
	like($dom // '', qr/<title>[^<]* - \Q$title_dom\E<\/title>/,
	    "$what: web_title in the title, as text");
	my ($h1) = ($dom // '') =~ /<h1>(.*?)<\/h1>/s;
	is($h1, $title_dom, "$what: web_title is the heading, as text");
	unlike($dom // '', qr/<mail>/i, "$what: no <mail> element made of it");
}

# utc_epoch TEXT - "YYYY-MM-DD HH:MM:SS UTC" as epoch seconds, or undef
sub utc_epoch {
	my ($t) = @_;
	my @f = ($t // '') =~ /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC$/ or return undef;
	require Time::Local;
	return Time::Local::timegm($f[5], $f[4], $f[3], $f[2], $f[1] - 1, $f[0]);
}

# --- web_title: the login page, as served and as Chromium reads it ----------
my $r = curl("$dir/anon", "$base/");
like($r->{body}, qr/<title>Log in - \Q$title_html\E<\/title>/, 'title escaped in the HTML');
like($r->{body}, qr/<h1>\Q$title_html\E<\/h1>/, 'heading escaped in the HTML');
like($r->{body}, qr/Log in to <span class="service">\Q$title_html\E<\/span>/,
    'the login text names the service');
unlike($r->{body}, qr/Dynamic Mail Server Service/, 'no hard-coded service name');
is(header($r, 'Strict-Transport-Security'), undef, 'no HSTS over plain HTTP (login page)');
my $dom = chromium_dom("$base/");
ok(defined $dom, 'Chromium loads the login page');
title_ok($dom, 'login page');

# --- the site refuses connections: failing, with reason and time ----------
for (1 .. 2) {
	my ($rc, $out) = $s->swaks('--to', 'user@site.example');
	is($rc, 0, 'a message for site.example queued') or diag($out);
}
my ($rc, $out) = $s->swaks('--to', 'user@backup.example');
is($rc, 0, 'a message for backup.example queued') or diag($out);
ok(wait_for(sub { scalar($s->queue_list_ids) == 3 }, 20), 'three messages queued');
my $jar = "$dir/a-cookies";
$r = web_login($base, $jar, 'demo', 'demo-secret');
is($r->{code}, '303', 'demo logs in (session A)');
is(header($r, 'Strict-Transport-Security'), undef, 'no HSTS over plain HTTP (login redirect)');
ok($s->wait_log(qr/gate: domain=site\.example, state=held, reason=connection failed/),
    'the refused connection closed the gate');
my ($c, $page) = status_until($base, $jar, 'site.example', sub { ($_[0]{gate_class} // '') eq 'failing' });
ok($c, 'the page shows delivery failing, not open');
is($c->{gate}, 'Delivery to your site is failing', 'in words');
is($c->{reason}, "cannot reach 127.0.0.1:$sinkport: connection refused", 'the reason');
my $at = utc_epoch($c->{attempt});
ok(defined $at && $at >= int($t0) && $at <= time + 1,
    "the time of the last attempt ($c->{attempt})") or diag($c->{attempt});
is($c->{progress}, undef, 'no progress row repeats it');
is($c->{pending}, 2, 'both messages still wait');
is($c->{delivered}, 0, 'nothing delivered this session');
unlike($page, qr/class="gate open"/, 'no green open');
spew("$dir/failing.html", $page);
$dom = chromium_dom("file://$dir/failing.html");
like($dom // '', qr/<dd class="gate failing">Delivery to your site is failing<\/dd>/,
    'Chromium shows the failing line');
like($dom // '', qr/<dd class="reason">cannot reach 127\.0\.0\.1:$sinkport: connection refused<\/dd>/,
    'and the reason');
title_ok($dom, 'status page');

# A backup domain is retried on qmgr's schedule: the page says when.
($c) = status_until($base, $jar, 'backup.example', sub { defined $_[0]{retry} });
ok($c, 'backup.example: failing with a next try');
is($c->{gate}, 'Delivery to your site is failing', 'backup.example: in words');
my $dead = $s->dead_port;
is($c->{reason}, "cannot reach 127.0.0.1:$dead: connection refused", 'backup.example: the reason');
ok((utc_epoch($c->{retry}) // 0) > (utc_epoch($c->{attempt}) // time),
    "the next try ($c->{retry}) comes after the last attempt ($c->{attempt})");

# --- the site comes up: delivered, counted -----------------------------------
my $sink = smtp_sink_start("$dir/sink", $sinkport);
($c) = status_until($base, $jar, 'site.example', sub { ($_[0]{pending} // -1) == 0 && ($_[0]{inflight} // -1) == 0 });
ok($c, 'once the site is up the mail goes');
is($c->{gate_class}, 'open', 'the gate is shown open again');
is($c->{reason}, undef, 'no failure shown');
is(scalar(smtp_sink_files("$dir/sink")), 2, 'the site has both messages');
is($c->{delivered}, 2, 'delivered this session: 2');

# --- a second session counts only its own -------------------------------------
my $jar2 = "$dir/b-cookies";
is(web_login($base, $jar2, 'demo', 'demo-secret')->{code}, '303', 'demo logs in again in another browser (session B)');
($c) = status_until($base, $jar2, 'site.example', sub { defined $_[0]{delivered} });
is($c->{delivered}, 0, 'session B: nothing delivered yet in it');
($rc, $out) = $s->swaks('--to', 'user@site.example');
is($rc, 0, 'one more message queued') or diag($out);
ok(wait_for(sub { scalar(smtp_sink_files("$dir/sink")) == 3 }, 20), 'the site has it');
($c) = status_until($base, $jar2, 'site.example', sub { ($_[0]{delivered} // 0) == 1 });
ok($c, 'session B counts the one delivered in it');
($c) = status_until($base, $jar, 'site.example', sub { ($_[0]{delivered} // 0) == 3 });
ok($c, 'session A counts all three of its session');

# Logged out and in again: a new session starts at 0.
$r = curl($jar2, "$base/status");
$r = curl($jar2, '--data-urlencode', 'csrf=' . (csrf_of($r->{body}) // ''), "$base/logout");
is($r->{code}, '200', 'session B logs out');
is(web_login($base, $jar2, 'demo', 'demo-secret')->{code}, '303', 'and in again (session C)');
($c) = status_until($base, $jar2, 'site.example', sub { defined $_[0]{delivered} });
is($c->{delivered}, 0, 'session C starts at 0');
($c) = status_until($base, $jar, 'site.example', sub { defined $_[0]{delivered} });
is($c->{delivered}, 3, 'session A still counts 3');

# --- the site answers 450 to every recipient: failing too --------------------
smtp_sink_stop($sink);
$sink = smtp_sink_start("$dir/sink450", $sinkport, '-r', 'RCPT');
($rc, $out) = $s->swaks('--to', 'user@site.example');
is($rc, 0, 'a message the site will defer') or diag($out);
ok($s->wait_log(qr/to=<user\@site\.example>.*status=deferred/), 'deliver: deferred');
($c) = status_until($base, $jar, 'site.example', sub { ($_[0]{gate_class} // '') eq 'failing' });
ok($c, 'a 450 to every recipient is shown failing');
like($c->{reason} // '', qr/^cannot deliver: .*\b450\b/, "with the site's reply ($c->{reason})");
ok(defined utc_epoch($c->{attempt}), 'and the time of the attempt');
smtp_sink_stop($sink);

# --- no HSTS over plain HTTP on any page --------------------------------------
for my $path ('/status', '/nowhere', '/favicon.ico') {
	$r = curl($jar, "$base$path");
	is(header($r, 'Strict-Transport-Security'), undef, "no HSTS over plain HTTP ($path)");
}

# --- a new web_title takes effect on `sluice reload` ---------------------------
my $reloads = $s->log_count(qr/web\[\d+\]: reload configuration/);
$s->set_conf(web_title => 'Example Networks mail');
($rc, $out, my $err) = $s->cli('reload');
is($rc, 0, 'sluice reload') or diag($err);
ok(wait_for(sub { $s->log_count(qr/web\[\d+\]: reload configuration/) > $reloads }, 20),
    'web reloads its configuration');
$dom = chromium_dom("$base/");
like($dom // '', qr/<title>Log in - Example Networks mail<\/title>/, 'Chromium: the new title');
like($dom // '', qr/<h1>Example Networks mail<\/h1>/, 'Chromium: the new heading');
web_stopped_ok($s);

# --- HTTPS: HSTS on every response ---------------------------------------------
my $tport = free_port();
my $t = SluiceTest->new(
    conf => { web_listen => "127.0.0.1:$tport" },
    domains => ['site.example mode=hold route=[127.0.0.1]:9 lease=1m probe=no owner=demo']);
my $etc = $t->confdir;
($rc, $out, $err) = run_cmd([tool('openssl'), 'req', '-x509', '-newkey', 'ec',
    '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', "$etc/web-key.pem", '-out', "$etc/web-cert.pem"]);
is($rc, 0, 'test certificate made') or diag($err);
ok(customer_passwd($t, 'demo', 'demo-secret'), 'sluice passwd demo (HTTPS)');
if ($> == 0) {
	my ($uid, $gid) = (getpwnam('sluice'))[2, 3];
	chown $uid, $gid, "$etc/web-key.pem", "$etc/web-cert.pem" if defined $uid;
}
$t->set_conf(web_tls_cert_file => "$etc/web-cert.pem",
    web_tls_key_file => "$etc/web-key.pem");
$t->start;
ok(wait_for(sub { $t->log_text =~ /web\[\d+\]: daemon started -- HTTPS/ }, 20),
    'web says HTTPS') or BAIL_OUT("web did not start:\n" . $t->log_text);
my $tbase = "https://127.0.0.1:$tport";
my @ca = ('--cacert', "$etc/web-cert.pem");
my $tjar = $t->dir . '/cookies';
$r = curl($tjar, @ca, "$tbase/");
is($r->{code}, '200', 'GET / over verified HTTPS') or diag($r->{err});
is(header($r, 'Strict-Transport-Security'), 'max-age=31536000', 'HSTS on the login page');
$r = curl($tjar, @ca, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=demo-secret', '--data-urlencode', 'csrf=' . (csrf_of($r->{body}) // ''),
    "$tbase/login");
is($r->{code}, '303', 'login over HTTPS');
is(header($r, 'Strict-Transport-Security'), 'max-age=31536000', 'HSTS on the redirect');
for my $path ('/status', '/nowhere') {
	$r = curl($tjar, @ca, "$tbase$path");
	is(header($r, 'Strict-Transport-Security'), 'max-age=31536000', "HSTS on $path");
}
web_stopped_ok($t);
done_testing;
