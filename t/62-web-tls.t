# t/62-web-tls.t - the web login page over HTTPS (web_tls_cert_file,
# web_tls_key_file; our OpenSSL code, see t/48): curl verifies the
# certificate, the session cookie is Secure, a login works, plain HTTP
# on the HTTPS port gets no page, and headless Chromium renders it.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;

use SluiceTest qw(tool free_port wait_for run_cmd);
use WebTest qw(curl header csrf_of chromium_shot png_ok artifact_dir web_stopped_ok);

my $wport = free_port();
my $s = SluiceTest->new(
    conf => {
	web_listen => "127.0.0.1:$wport",
	auth_failure_delay => '1s',
    },
    domains => ['site.example mode=hold route=[127.0.0.1]:9 lease=1m owner=demo']);
my $etc = $s->confdir;

my ($rc, $out, $err) = run_cmd([tool('openssl'), 'req', '-x509', '-newkey', 'ec',
    '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', "$etc/web-key.pem", '-out', "$etc/web-cert.pem"]);
is($rc, 0, 'test certificate made') or diag($err);
($rc, $out, $err) = run_cmd(["$ENV{SLUICE_BUILDDIR}/cli/sluice", '-c', $etc,
    'passwd', 'demo'], stdin => "tls-secret\n");
is($rc, 0, 'sluice passwd demo') or diag($err);
if ($> == 0) {
	# master runs web as mail_owner: it must read the key and passwd.
	my ($uid, $gid) = (getpwnam('sluice'))[2, 3];
	chown $uid, $gid, "$etc/web-key.pem", "$etc/web-cert.pem" if defined $uid;
	chown 0, $gid, "$etc/passwd" if defined $gid;
}
$s->set_conf(web_tls_cert_file => "$etc/web-cert.pem",
    web_tls_key_file => "$etc/web-key.pem");
$s->start;
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);
ok(wait_for(sub { $s->log_text =~ /web\[\d+\]: daemon started -- HTTPS/ }, 20),
    'web says HTTPS');

my $base = "https://127.0.0.1:$wport";
my $jar = $s->dir . '/cookies';
my @ca = ('--cacert', "$etc/web-cert.pem");

my $r = curl($jar, @ca, "$base/");
is($r->{code}, '200', 'GET / over verified HTTPS') or diag($r->{err});
my $cookie = header($r, 'Set-Cookie') // '';
like($cookie, qr/; Secure/, 'cookie Secure under HTTPS');
like($cookie, qr/HttpOnly/, 'cookie HttpOnly');
my $token = csrf_of($r->{body});
ok($token, 'CSRF token');

$r = curl($jar, @ca, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=wrong', '--data-urlencode', "csrf=$token", "$base/login");
is($r->{code}, '403', 'wrong password refused over HTTPS');
$r = curl($jar, @ca, '--data-urlencode', 'user=demo', '--data-urlencode',
    'password=tls-secret', '--data-urlencode', "csrf=$token", "$base/login");
is($r->{code}, '303', 'login over HTTPS');
$r = curl($jar, @ca, "$base/status");
is($r->{code}, '200', 'status page over HTTPS');
like($r->{body}, qr/<h2>site\.example<\/h2>/, 'shows the domain');
like($s->log_text, qr/trigger: domain=site\.example, source=web, client=127\.0\.0\.1, user=demo/,
    'released through qmgr');

$r = curl($s->dir . '/plain-jar', "http://127.0.0.1:$wport/");
isnt($r->{code}, '200', 'plain HTTP on the HTTPS port gets no page');

my $png = artifact_dir() . '/web-login-https.png';
my ($ok, $why) = chromium_shot("$base/", $png, '--ignore-certificate-errors');
ok($ok, 'Chromium renders the login page over HTTPS') or diag($why);
my ($w) = png_ok($png);
is($w, 390, 'HTTPS login screenshot is a phone-wide PNG');

web_stopped_ok($s);
done_testing;
