# t/61-web.t - the web login page (web(8sluice)) with real clients: curl logs
# in with a cookie jar and the CSRF token scraped from the form, follows
# the refresh and sees the counts; headless Chromium renders the login
# and status pages. Wrong passwords, forms without the token, too many
# logins, the lease that lapses when refreshes stop, and logout.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use File::Path qw(make_path);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

use SluiceTest qw(tool free_port wait_for run_cmd slurp spew);
use WebTest qw(curl header csrf_of chromium_shot png_ok artifact_dir web_stopped_ok);
# The customer's mail server: Postfix's smtp-sink, as the finger tests run it.
use FingerProbe qw(sink_start sink_stop sink_messages);

my $wport = free_port();
my $sinkport = free_port();
# The lease of the test domains: 3s, stretched for slow (sanitizer) builds
# so that a slow refresh is not mistaken for a closed page.
my $lease = 3 * $SluiceTest::SLOW;
my $s = SluiceTest->new(
    conf => {
	web_listen => "127.0.0.1:$wport",
	web_refresh => '1s',
	web_login_limit => 8,
	auth_failure_delay => '1s',
	trigger_min_interval => '1s',
	trigger_client_limit => 1000,
    },
    domains => [
	"site.example mode=hold route=[127.0.0.1]:$sinkport lease=${lease}s owner=demo",
	"second.example mode=hold route=[127.0.0.1]:$sinkport lease=${lease}s owner=demo",
	"other.example mode=hold route=[127.0.0.1]:$sinkport owner=someone",
    ]);

# The customer's password, written by the real CLI as an operator would.
my ($rc, $out, $err) = run_cmd(["$ENV{SLUICE_BUILDDIR}/cli/sluice", '-c',
    $s->confdir, 'passwd', 'demo'], stdin => "demo-secret\n");
is($rc, 0, 'sluice passwd demo') or diag($err);
# As root, master runs web as mail_owner: the file is 0640, so give it
# that group, as an operator would (chgrp sluice passwd).
if ($> == 0) {
	my $gid = (getpwnam($s->{conf}{mail_owner} // 'sluice'))[3];
	chown 0, $gid, $s->confdir . '/passwd' if defined $gid;
}

$s->start;
my $base = "http://127.0.0.1:$wport";
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);

# Mail waits for the held domains (no sink yet: nothing is tried anyway).
for my $i (1 .. 3) {
	my ($r, $o) = $s->swaks('--to', "user$i\@site.example",
	    '--header', "Subject: web test $i");
	is($r, 0, "message $i to site.example queued") or diag($o);
}
my ($r2, $o2) = $s->swaks('--to', 'user@other.example');
is($r2, 0, 'message to other.example queued') or diag($o2);

my $dir = $s->dir;
my $jar = "$dir/cookies";

# --- the login page --------------------------------------------------------
my $r = curl($jar, "$base/");
is($r->{code}, '200', 'GET / is 200');
like($r->{body}, qr/<form[^>]+action="\/login"/, 'login form');
like($r->{body}, qr/name="user"/, 'customer name field');
like($r->{body}, qr/type="password"/, 'password field');
like($r->{body}, qr/name="viewport"/, 'viewport meta for phones');
unlike($r->{body}, qr/<script/i, 'no script');
my $token = csrf_of($r->{body});
ok($token, 'CSRF token in the form');
my $cookie = header($r, 'Set-Cookie') // '';
like($cookie, qr/^sluice_session=[0-9a-f]{64};/, 'session cookie of 32 random bytes');
like($cookie, qr/HttpOnly/, 'cookie HttpOnly');
like($cookie, qr/SameSite=Strict/, 'cookie SameSite=Strict');
unlike($cookie, qr/Secure/, 'no Secure over plain HTTP');
like(header($r, 'Content-Security-Policy') // '', qr/default-src 'none'/,
    'CSP default-src none');
like(header($r, 'Content-Security-Policy') // '', qr/style-src 'sha256-[A-Za-z0-9+\/=]+'/,
    'CSP allows the inline stylesheet by hash only');
is(header($r, 'X-Frame-Options'), 'DENY', 'X-Frame-Options DENY');
is(header($r, 'Cache-Control'), 'no-store', 'Cache-Control no-store');

$r = curl($jar, "$base/site.example");
is($r->{code}, '200', 'GET /DOMAIN is 200');
like($r->{body}, qr/name="domain" value="site.example"/, 'domain carried in the form');
is(csrf_of($r->{body}), $token, 'same session, same token');
$r = curl($jar, "$base/not..a/domain");
is($r->{code}, '404', 'a path that is no domain is 404');

# --- refusals ---------------------------------------------------------------
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=demo-secret', "$base/login");
is($r->{code}, '403', 'POST /login without the CSRF token: 403');
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=demo-secret', '--data-urlencode', 'csrf=' . ('0' x 64), "$base/login");
is($r->{code}, '403', 'POST /login with a wrong CSRF token: 403');
$r = curl("$dir/other-jar", '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=demo-secret', '--data-urlencode', "csrf=$token", "$base/login");
is($r->{code}, '403', 'the token without its session cookie: 403');

my $t0 = time;
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=wrong', '--data-urlencode', "csrf=$token", "$base/login");
my $took = time - $t0;
is($r->{code}, '403', 'wrong password refused');
like($r->{body}, qr/Wrong customer name or password/, 'wrong password: says so');
ok($took >= 0.9, sprintf('failed login delayed (%.1fs)', $took));
$r = curl($jar, '--data-urlencode', 'user=nobody', '--data-urlencode',
    'password=demo-secret', '--data-urlencode', "csrf=$token", "$base/login");
is($r->{code}, '403', 'unknown customer refused');
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=demo-secret', '--data-urlencode', "csrf=$token",
    '--data-urlencode', 'domain=other.example', "$base/login");
is($r->{code}, '403', 'a domain the customer does not own: 403');
like($r->{body}, qr/not registered to this customer/, 'not owned: says so');
$r = curl($jar, '-X', 'DELETE', "$base/");
is($r->{code}, '405', 'DELETE is 405');
$r = curl($jar, '--data-urlencode', 'user=' . ('x' x 5000), "$base/login");
is($r->{code}, '413', 'an oversized form: 413');
$r = curl($jar, '-H', 'Content-Type: application/json', '--data', '{"user":"demo"}',
    "$base/login");
is($r->{code}, '415', 'a body that is no form: 415');
unlike($s->log_text, qr/trigger: domain=\S+, source=web/,
    'no release before a good login');

# --- the sink comes up; log in ---------------------------------------------
my $sink_dir = "$dir/sink";
make_path($sink_dir);
my $sink_pid = sink_start($sink_dir, $sinkport);

my $old_cookie = cookie_of($jar);
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=demo-secret', '--data-urlencode', "csrf=$token", "$base/login");
is($r->{code}, '303', 'good login: 303');
is(header($r, 'Location'), '/status', 'redirected to the status page');
my $new_cookie = cookie_of($jar);
ok($new_cookie && $new_cookie ne $old_cookie, 'a new session id at login');
like($s->log_text, qr/trigger: domain=site\.example, source=web, client=127\.0\.0\.1, user=demo, result=ok, pending=3/,
    'qmgr audit line: released by the web login');
like($s->log_text, qr/trigger: domain=second\.example, source=web, .*user=demo, result=none/,
    'every owned domain released');
unlike($s->log_text, qr/trigger: domain=other\.example/, 'not the domains of others');

$r = curl($jar, "$base/status");
is($r->{code}, '200', 'status page');
like($r->{body}, qr/<meta http-equiv="refresh" content="1">/, 'refreshes every web_refresh');
like($r->{body}, qr/<h2>site\.example<\/h2>/, 'site.example shown');
like($r->{body}, qr/<h2>second\.example<\/h2>/, 'second.example shown');
unlike($r->{body}, qr/other\.example/, 'other.example not shown');
like($r->{body}, qr/class="pending">\d+</, 'messages waiting shown');
like($r->{body}, qr/Oldest message/, 'oldest message shown');
like($r->{body}, qr/Next bounce/, 'time until the next bounce shown');
my $status_token = csrf_of($r->{body});
ok($status_token && $status_token ne $token, 'a new CSRF token after login');

# Follow the refresh as a browser does, until all three are delivered.
my $last;
my $done = refresh_until(sub {
	my ($p, $d) = counts($_[0], 'site.example');
	return defined $p && $p == 0 && $d == 3;
});
ok($done, 'refreshing, the page counts 0 waiting and 3 delivered') or diag($last->{body});
like($last->{body}, qr/class="gate open"/, 'gate shown open');

# Keep the page open for twice the lease, refreshing every web_refresh
# (1s) as the browser does. A refresh within trigger_min_interval (1s)
# of the one before joins it; the next renews the lease.
my $mark = length $s->log_text;
for (1 .. 2 * $lease) {
	sleep 1;
	$r = curl($jar, "$base/status");
	is($r->{code}, '200', "refresh $_") or last;
}
like($r->{body}, qr/<h2>site\.example<\/h2>.*?class="gate open"/s,
    'still open after more than a lease of refreshes');
my $log = substr($s->log_text, $mark);
my $renewed = () = $log =~ /gate: domain=site\.example, state=open, until=\d+, reason=web \(renewed\)/g;
ok($renewed >= $lease - 1, "refreshes renewed the lease ($renewed renewals)");
unlike($log, qr/gate: domain=site\.example, state=held/,
    'no lapse while the page refreshes');

is(sink_count($sink_dir), 3, 'the sink got the 3 messages');
my @other = $s->queue_list('--domain', 'other.example');
is(scalar(@other), 1, 'other.example still held');

# Keep the page for Chromium: rendered from a saved copy (it cannot be
# given the session cookie on its command line).
my $art = artifact_dir();
spew("$art/web-status.html", $last->{body});

# --- the page is closed: the lease lapses ----------------------------------
ok(wait_for(sub { $s->log_text =~ /gate: domain=site\.example, state=held, reason=lease expired/ }, 20),
    'refreshes stopped: the lease lapses and the gate closes');
# Mail that comes now waits again.
sink_stop($sink_pid);
my ($r3, $o3) = $s->swaks('--to', 'late@site.example');
is($r3, 0, 'late message queued') or diag($o3);
sleep 1;
$r = curl($jar, "$base/status");
like($r->{body}, qr/<h2>site\.example<\/h2>.*?class="pending">1</s,
    'the page, opened again, shows the late message waiting');
# The site comes back; the open page releases the late message too.
$sink_pid = sink_start($sink_dir, $sinkport);
ok(refresh_until(sub { my ($p) = counts($_[0], 'site.example'); defined $p && $p == 0 }),
    'the late message is delivered while the page refreshes');
is(sink_count($sink_dir), 4, 'the sink has all 4 messages');

# --- logout ----------------------------------------------------------------
$r = curl($jar, "$base/status");
$status_token = csrf_of($r->{body});
$r = curl($jar, '-X', 'POST', "$base/logout");
is($r->{code}, '403', 'POST /logout without the CSRF token: 403');
$r = curl($jar, '--data-urlencode', "csrf=$status_token", "$base/logout");
is($r->{code}, '200', 'logout');
like($r->{body}, qr/Logged out/, 'logout page');
like(header($r, 'Set-Cookie') // '', qr/Max-Age=0/, 'cookie cleared');
ok(wait_for(sub { $s->log_text =~ /gate: domain=site\.example, state=held, reason=closed by web user demo/ }, 10),
    'logout closes the gate at once');
$r = curl($jar, "$base/status");
is($r->{code}, '303', 'after logout the status page sends back to the login');

# --- screenshots with headless Chromium ------------------------------------
my ($ok, $why) = chromium_shot("$base/", "$art/web-login.png");
ok($ok, 'Chromium renders the login page') or diag($why);
my ($w, $h) = png_ok("$art/web-login.png");
is($w, 390, 'login screenshot: a phone-wide PNG') or diag("$art/web-login.png");
($ok, $why) = chromium_shot("file://$art/web-status.html", "$art/web-status.png");
ok($ok, 'Chromium renders the status page (saved copy)') or diag($why);
($w, $h) = png_ok("$art/web-status.png");
is($w, 390, 'status screenshot: a phone-wide PNG');
diag("screenshots: $art/web-login.png $art/web-status.png");

# --- too many logins from one client: 429 ----------------------------------
$r = curl($jar, "$base/");
$token = csrf_of($r->{body});
my $got429 = 0;
for (1 .. 10) {
	$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode',
	    'password=bad', '--data-urlencode', "csrf=$token", "$base/login");
	if ($r->{code} eq '429') {
		$got429 = 1;
		last;
	}
}
ok($got429, 'login attempts over web_login_limit a minute: 429');
is(header($r, 'Retry-After'), '60', 'with Retry-After');
like($s->log_text, qr/web\[\d+\]: warning: refuse login: client=127\.0\.0\.1: more than 8 attempts a minute/,
    'rate limit logged');

kill 'HUP', $s->child_pid('web');
ok(wait_for(sub { $s->log_text =~ /web\[\d+\]: reload configuration/ }, 10),
    'SIGHUP reloads the configuration');
$r = curl("$dir/jar-after-hup", "$base/");
is($r->{code}, '200', 'the page is served after the reload');
web_stopped_ok($s);
done_testing;

# --- helpers ----------------------------------------------------------------

# refresh_until CODE - fetch /status every 1.2s (past trigger_min_interval,
# so fetches renew the lease) until CODE(body) is true; $last holds the
# last response.
sub refresh_until {
	my ($code) = @_;
	my $deadline = time + 30 * $SluiceTest::SLOW;
	while (time < $deadline) {
		$last = curl($jar, "$base/status");
		return 1 if $code->($last->{body});
		sleep 1.2;
	}
	diag($last->{body});
	return 0;
}

# counts HTML, DOMAIN - (messages waiting, delivered) on the status page.
sub counts {
	my ($html, $dom) = @_;
	my ($card) = $html =~ /<h2>\Q$dom\E<\/h2>(.*?)<\/section>/s or return;
	my ($p) = $card =~ /class="pending">(\d+)</;
	my ($d) = $card =~ /class="delivered">(\d+)</;
	return ($p, $d);
}

sub cookie_of {
	my ($file) = @_;
	my $t = slurp($file) // '';
	return $t =~ /\tsluice_session\t([0-9a-f]+)/ ? $1 : '';
}

# sink_count DIR - how many messages the sink stored.
sub sink_count {
	my @m = sink_messages(@_);
	return scalar @m;
}
