# t/48-web-tls-openssl.t - the web door's HTTPS is our own OpenSSL code
# in front of libmicrohttpd (web_tls.c), not GnuTLS inside it:
#   - the cipher openssl s_client negotiates is the one our OpenSSL code
#     logs, web calls OpenSSL's handshake and no GnuTLS function;
#   - plain HTTP and garbage sent to the HTTPS port are closed cleanly;
#   - a client that never finishes its handshake is cut at
#     web_request_deadline, and others are served meanwhile; after the
#     handshake, an unfinished request is cut at it as over plain HTTP;
#   - web_client_connection_limit and web_connection_limit hold for
#     TLS connections, and a slot freed serves the next client;
#   - pipelined answers larger than every buffer come through whole;
#   - sluice reload with a new certificate: new connections get it
#     (openssl s_client sees the new serial), an open one goes on;
#   - sluice reload with a broken certificate file: the old one is
#     still served and the log warns, naming the file.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use File::Copy qw(copy);
use IO::Socket::INET;
use IO::Socket::SSL;
use Test::More;

use SluiceTest qw(tool free_port wait_for run_cmd spew);
use SlowClient qw(drip_until_closed);
use WebTest qw(curl csrf_of customer_passwd web_stopped_ok);

# A refused connection is closed under the client's handshake.
$SIG{PIPE} = 'IGNORE';

# make_cert DIR, NAME, SERIAL - a self-signed certificate for 127.0.0.1
# with that serial (hex): DIR/NAME-cert.pem and DIR/NAME-key.pem.
sub make_cert {
	my ($dir, $name, $serial) = @_;
	my ($rc, $out, $err) = run_cmd([tool('openssl'), 'req', '-x509',
	    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
	    '-days', '2', '-set_serial', "0x$serial", '-subj', '/CN=127.0.0.1',
	    '-addext', 'subjectAltName=IP:127.0.0.1',
	    '-keyout', "$dir/$name-key.pem", '-out', "$dir/$name-cert.pem"]);
	diag($err) if $rc != 0;
	return $rc == 0;
}

# give_web DIR, FILES - as root, master runs web as mail_owner: it must
# read the certificate and key.
sub give_web {
	my (@files) = @_;
	return unless $> == 0;
	my ($uid, $gid) = (getpwnam('sluice'))[2, 3];
	chown $uid, $gid, @files if defined $uid;
}

# s_client PORT - what openssl s_client sees: (serial in hex, protocol,
# cipher), or () when no handshake.
sub s_client {
	my ($port) = @_;
	# A whole exchange, as a browser makes it: s_client that closed at
	# once could be gone before web sent its TLS 1.3 session tickets,
	# which ends web's handshake in a write error instead of a session.
	my ($rc, $out, $err) = run_cmd([tool('openssl'), 's_client', '-connect',
	    "127.0.0.1:$port", '-servername', 'localhost', '-ign_eof'],
	    stdin => "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
	    timeout => 30);
	my ($pem) = $out =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s
	    or return ();
	my ($xrc, $xout) = run_cmd([tool('openssl'), 'x509', '-noout', '-serial'],
	    stdin => "$pem\n");
	my ($serial) = $xout =~ /serial=([0-9A-F]+)/;
	my ($proto, $cipher) = $out =~ /^New, (TLSv[\d.]+), Cipher is (\S+)/m;
	return ($serial, $proto, $cipher);
}

# tls_hold PORT, FROM, CA - a TLS connection from address FROM whose
# handshake is done, held open; undef when the server refuses it.
sub tls_hold {
	my ($port, $from, $ca) = @_;
	return IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    LocalAddr => $from, SSL_ca_file => $ca, SSL_verifycn_name => '127.0.0.1',
	    SSL_verifycn_scheme => 'http', Timeout => 10 * $SluiceTest::SLOW);
}

# closed_by_server SOCK - wait for the server to close a plain socket
# (EOF or reset); what it sent meanwhile, or undef if it stays open.
sub closed_by_server {
	my ($sock) = @_;
	my $got = '';
	my $closed = wait_for(sub {
		my $n = sysread($sock, my $buf, 4096);
		return 1 if !defined $n && !$!{EAGAIN} && !$!{EWOULDBLOCK};
		return 1 if defined $n && $n == 0;
		$got .= $buf if defined $n;
		return 0;
	}, 20);
	return $closed ? $got : undef;
}

# web_https CONF - a sluice with the web door over HTTPS and customer demo
sub web_https {
	my (%conf) = @_;
	my $wport = free_port();
	my $s = SluiceTest->new(conf => { web_listen => "127.0.0.1:$wport",
	    auth_failure_delay => '1s', %conf },
	    domains => ['site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no owner=demo']);
	my $etc = $s->confdir;
	ok(make_cert($etc, 'web', '1001'), 'test certificate made (serial 1001)');
	give_web("$etc/web-cert.pem", "$etc/web-key.pem");
	ok(customer_passwd($s, 'demo', 'demo-secret'), 'sluice passwd demo');
	$s->set_conf(web_tls_cert_file => "$etc/web-cert.pem",
	    web_tls_key_file => "$etc/web-key.pem");
	$s->start;
	ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
	    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);
	return ($s, $wport);
}

# --- who does TLS: our OpenSSL code ---
my ($s, $wport) = web_https(web_request_deadline => '3s');
my $etc = $s->confdir;
ok($s->wait_log(qr/web\[\d+\]: daemon started -- HTTPS \(OpenSSL 3\.[^)]*\)/),
    'web says HTTPS, by OpenSSL');
ok($s->wait_log(qr/web\[\d+\]: TLS certificate \Q$etc\E\/web-cert\.pem \(subject CN=127\.0\.0\.1, serial 1001, notAfter \d{4}-\d\d-\d\d /),
    'web names the certificate it serves');
my ($serial, $proto, $cipher) = s_client($wport);
is($serial, '1001', 'openssl s_client gets the certificate');
like($proto // '', qr/^TLSv1\.[23]$/, "protocol $proto");
ok($s->wait_log(qr/web\[\d+\]: Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: \Q$proto\E with cipher \Q$cipher\E /),
    "web's own OpenSSL code did that handshake ($cipher)");
my $web = "$ENV{SLUICE_BUILDDIR}/web/web";
my ($rc, $syms) = run_cmd([tool('nm'), '-D', '--undefined-only', $web]);
is($rc, 0, 'nm -D web');
like($syms, qr/\bSSL_do_handshake\b/, 'web calls OpenSSL for the handshake');
unlike($syms, qr/gnutls/i, 'web calls no GnuTLS function');
my $r = curl($s->dir . '/jar0', '--cacert', "$etc/web-cert.pem",
    "https://127.0.0.1:$wport/");
is($r->{code}, '200', 'curl --cacert: the login page') or diag($r->{err});

# --- plain HTTP and garbage on the HTTPS port ---
my $plain = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") or die "connect: $!";
$plain->blocking(0);
syswrite($plain, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
my $said = closed_by_server($plain);
ok(defined $said, 'plain HTTP to the HTTPS port: the connection is closed');
unlike($said // '', qr/HTTP\/1\.[01] 200/, 'and no page was served');
ok($s->wait_log(qr/web\[\d+\]: lost connection after TLS handshake from localhost\[127\.0\.0\.1\]: tls handshake: /),
    'web logs the failed handshake');
my $junk = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") or die "connect: $!";
$junk->blocking(0);
syswrite($junk, join('', map { chr(($_ * 151 + 7) % 256) } 1 .. 3000));
ok(defined closed_by_server($junk), 'garbage bytes to the HTTPS port: closed');
# A TLS record header that announces more than it sends, then the close.
my $short = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") or die "connect: $!";
syswrite($short, "\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03");
shutdown($short, 1);
$short->blocking(0);
ok(defined closed_by_server($short), 'a truncated ClientHello: closed');
$r = curl($s->dir . '/jar0', '--cacert', "$etc/web-cert.pem",
    "https://127.0.0.1:$wport/");
is($r->{code}, '200', 'web serves HTTPS after all that');

# --- a handshake that never ends is cut at web_request_deadline ---
# A ClientHello an octet at a time, 500 ms apart: longer than the 3s deadline.
my $slow = SlowClient->new(port => $wport, from => '127.0.0.9',
    text => "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . ('x' x 100));
$slow->step;
$r = curl($s->dir . '/jar1', '--interface', '127.0.0.2', '--cacert',
    "$etc/web-cert.pem", "https://127.0.0.1:$wport/");
is($r->{code}, '200', 'another client is served while a handshake trickles');
ok(!$slow->closed, 'the trickling handshake is still open then');
drip_until_closed([$slow], every => 0.5);
ok($slow->closed && !$slow->finished, 'the trickling handshake is cut before it ends');
ok($s->wait_log(qr/web\[\d+\]: timeout after TLS handshake from localhost\[127\.0\.0\.9\]: TLS handshake deadline 3s exceeded/),
    'web logs the handshake deadline');

# --- after the handshake, libmicrohttpd's request deadline still holds ---
my $half = tls_hold($wport, '127.0.0.14', "$etc/web-cert.pem");
ok($half, 'a TLS connection that sends half a request');
print $half "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
ok(wait_for(sub { my $n = sysread($half, my $b, 4096); defined $n && $n == 0 }, 30),
    'it is closed at web_request_deadline');
ok($s->wait_log(qr/web\[\d+\]: timeout after request from 127\.0\.0\.14: deadline 3s exceeded/),
    'web logs the request deadline with the client\'s real address');
close $half;
web_stopped_ok($s);

# --- limits, reload ---
($s, $wport) = web_https(web_connection_limit => 6,
    web_client_connection_limit => 3);
$etc = $s->confdir;
my $ca = "$etc/web-cert.pem";
my @held = map { tls_hold($wport, '127.0.0.10', $ca) } 1 .. 3;
is(scalar(grep { defined } @held), 3, '3 TLS connections from 127.0.0.10')
    or diag($SSL_ERROR);
my $over = tls_hold($wport, '127.0.0.10', $ca);
ok(!defined $over, 'a 4th from the same address is refused');
ok($s->wait_log(qr/web\[\d+\]: warning: refuse connection from localhost\[127\.0\.0\.10\]: too many connections from this address/),
    'web logs the per-address limit');
push @held, map { tls_hold($wport, '127.0.0.11', $ca) } 1 .. 3;
is(scalar(grep { defined } @held), 6, '3 more from 127.0.0.11: 6, the limit');
$over = tls_hold($wport, '127.0.0.12', $ca);
ok(!defined $over, 'a 7th connection is refused');
ok($s->wait_log(qr/web\[\d+\]: warning: refuse connection from localhost\[127\.0\.0\.12\]: too many connections$/m),
    'web logs the connection limit');
# The held connections are real HTTPS: each one still gets a page.
my $h = $held[0];
print $h "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
my $head = '';
wait_for(sub { my $n = sysread($h, my $b, 65536); $head .= $b if $n; $head =~ /<\/html>/ }, 20);
like($head, qr/^HTTP\/1\.1 200 /, 'a held connection gets the login page');
close(pop @held);
ok(wait_for(sub {
	my $c = tls_hold($wport, '127.0.0.12', $ca) or return 0;
	push @held, $c;
}, 20), 'a slot freed: the next client gets in');
# One kept open across the reload; the others leave room for s_client.
my $kept = $held[1];
close $_ for grep { defined && $_ != $kept } @held;
@held = ();

# Backpressure: 600 pipelined requests on one connection whose client
# reads nothing until all are sent, so the answers (over a megabyte)
# fill every buffer on the way and the pump pauses and resumes. Every
# answer must come through whole and in order. (The pause only lets the
# buffers fill; the result does not depend on it.)
# The five just closed count against the limit until web reads their
# close; a refused try is retried until it has.
my $pipe;
ok(wait_for(sub { $pipe = tls_hold($wport, '127.0.0.13', "$etc/web-cert.pem") }, 20),
    'a connection for pipelined requests');
my $nreq = 600;
print $pipe map({ "GET /site.example HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" } 1 .. $nreq - 1),
    "GET /site.example HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
sleep 1;
my $all = '';
while (1) {
	my $n = sysread($pipe, my $b, 65536);
	last unless $n;
	$all .= $b;
}
close $pipe;
my $answers = () = $all =~ /^HTTP\/1\.1 200 /mg;
my $pages = () = $all =~ /<\/html>/g;
is($answers, $nreq, "all $nreq pipelined requests answered 200");
is($pages, $nreq, 'each with its whole page');
cmp_ok(length $all, '>', 1024 * 1024, 'more than a megabyte came through');

# A new certificate: sluice reload, and new connections get it.
ok(make_cert($etc, 'new', '2002'), 'second certificate made (serial 2002)');
give_web("$etc/new-cert.pem", "$etc/new-key.pem");
ok(rename("$etc/new-key.pem", "$etc/web-key.pem") &&
    rename("$etc/new-cert.pem", "$etc/web-cert.pem"), 'installed over the first');
($rc, my $out, my $err) = $s->cli('reload');
is($rc, 0, 'sluice reload') or diag($err);
unlike($err, qr/web keeps/, 'and says nothing of the certificate');
ok($s->wait_log(qr/web\[\d+\]: reloaded TLS certificate \Q$etc\E\/web-cert\.pem \(subject CN=127\.0\.0\.1, serial 2002, notAfter /),
    'web logs the certificate it reloaded');
($serial) = s_client($wport);
is($serial, '2002', 'openssl s_client gets the new certificate');
# The connections made before go on (with the old certificate's keys).
$h = $kept;
print $h "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
$head = '';
wait_for(sub { my $n = sysread($h, my $b, 65536); $head .= $b if $n; $head =~ /<\/html>/ }, 20);
like($head, qr/^HTTP\/1\.1 200 /, 'a connection opened before the reload still works');
close $kept;
# A login over the new certificate.
my $jar = $s->dir . '/jar2';
$r = curl($jar, '--cacert', "$etc/web-cert.pem", "https://127.0.0.1:$wport/");
is($r->{code}, '200', 'curl verifies the new certificate');
my $token = csrf_of($r->{body});
$r = curl($jar, '--cacert', "$etc/web-cert.pem", '--data-urlencode', 'user=demo',
    '--data-urlencode', 'password=demo-secret', '--data-urlencode', "csrf=$token",
    "https://127.0.0.1:$wport/login");
is($r->{code}, '303', 'and a login works') or diag($r->{body}, $r->{err});

# A broken certificate file: the reload says so, the old one stays.
copy("$etc/web-cert.pem", "$etc/good-cert.pem");
spew("$etc/web-cert.pem", "this is not a certificate\n");
give_web("$etc/web-cert.pem");
my $n = $s->log_count(qr/web\[\d+\]: reload configuration/);
($rc, $out, $err) = $s->cli('reload');
is($rc, 0, 'sluice reload with a broken certificate file') or diag($err);
like($err, qr/^sluice: warning: reload: web keeps the TLS certificate it has: load certificate \Q$etc\E\/web-cert\.pem: /m,
    'sluice reload says web keeps its certificate, naming the file');
ok($s->wait_log(qr/web\[\d+\]: reload configuration/, 30, $n + 1), 'web reloaded');
ok($s->wait_log(qr/web\[\d+\]: warning: reload TLS certificate \Q$etc\E\/web-cert\.pem: load certificate \Q$etc\E\/web-cert\.pem: .*; new connections still get the certificate loaded before \(subject CN=127\.0\.0\.1, serial 2002, /),
    'web warns, naming the file, and keeps the certificate it had');
($serial) = s_client($wport);
is($serial, '2002', 'openssl s_client still gets that certificate');
$r = curl($s->dir . '/jar3', '--cacert', "$etc/good-cert.pem",
    "https://127.0.0.1:$wport/");
is($r->{code}, '200', 'and HTTPS still works');
unlike($s->log_text, qr/web\[\d+\]: warning: libmicrohttpd:/,
    'libmicrohttpd warns of nothing behind our TLS');
web_stopped_ok($s);
done_testing;
