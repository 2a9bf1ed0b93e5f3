# 45-web-request: the web door checks a request's head before any page:
# Transfer-Encoding with Content-Length (request smuggling) gets 400 and
# the connection closes, so a request hidden in the body is never
# answered; a Host outside web_hostnames (and not the address connected
# to) gets 421; HTTP/1.1 without Host gets 400, HTTP/1.0 without it is
# served. Clients: curl, and a scripted one for the bytes curl will not
# send.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use IO::Select;
use SluiceTest qw(free_port wait_for);
use WebTest qw(curl header);

my $wport = free_port();
my $s = SluiceTest->new(conf => { web_listen => "127.0.0.1:$wport",
    web_hostnames => '$myhostname, login.site.example' });
$s->start;
my $base = "http://127.0.0.1:$wport";
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);
my $jar = $s->dir . '/cookies';

# logged RE - wait for a log line matching RE
sub logged {
	my ($re) = @_;
	return wait_for(sub { $s->log_text =~ $re }, 20);
}

# --- Host ---
my $r = curl($jar, "$base/");
is($r->{code}, '200', 'the address connected to: served');
like($r->{body}, qr/<form[^>]+action="\/login"/, 'with the login form');
for my $h ('mx.sluice.test', 'MX.Sluice.Test.', "login.site.example:$wport") {
	$r = curl($jar, '-H', "Host: $h", "$base/");
	is($r->{code}, '200', "Host: $h (in web_hostnames): served");
}
$r = curl($jar, '-H', 'Host: evil.example', "$base/");
is($r->{code}, '421', 'Host: evil.example: 421 Misdirected Request');
unlike($r->{body}, qr/<form/, 'and no login form');
like(header($r, 'Connection') // '', qr/close/i, 'and the connection is closed');
ok(logged(qr/web\[\d+\]: warning: refuse request: client=127\.0\.0\.1: Host "evil\.example" is not served here/),
    'logged: warning: refuse request ... Host "evil.example"');
$r = curl($jar, '-H', 'Host: 127.0.0.2', "$base/");
is($r->{code}, '421', 'another address literal: 421');
$r = curl($jar, '-H', 'Host:', "$base/");
is($r->{code}, '400', 'HTTP/1.1 without Host: 400');
$r = curl($jar, '--http1.0', '-H', 'Host:', "$base/");
is($r->{code}, '200', 'HTTP/1.0 without Host: served');

# --- Transfer-Encoding and Content-Length together ---
$r = curl($jar, '-H', 'Transfer-Encoding: chunked', '-H', 'Content-Length: 5',
    '--data', 'user=demo', "$base/login");
is($r->{code}, '400', 'curl --data with Transfer-Encoding: chunked and Content-Length: 400');
like(header($r, 'Connection') // '', qr/close/i, 'and Connection: close');
ok(logged(qr/web\[\d+\]: warning: refuse request: client=127\.0\.0\.1: both Transfer-Encoding and Content-Length/),
    'logged: warning: refuse request ... both Transfer-Encoding and Content-Length');

# A smuggler's bytes: what a proxy that trusts Content-Length would pass
# as one request, with a second request after the chunked body's end.
{
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") or die "connect: $!";
	binmode $c;
	print {$c} "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    . "Content-Type: application/x-www-form-urlencoded\r\n"
	    . "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"
	    . "0\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	my ($all, $eof) = ('', 0);
	my $sel = IO::Select->new($c);
	while ($sel->can_read(30)) {
		my $n = sysread($c, my $buf, 65536);
		if (!$n) {
			$eof = 1;
			last;
		}
		$all .= $buf;
	}
	my @status = $all =~ m{^(HTTP/1\.\d \d\d\d)}mg;
	is("@status", 'HTTP/1.1 400', 'smuggled pair: one answer, 400');
	ok($eof, 'then the server closes the connection: the hidden GET is never answered');
	close $c;
}

# --- a plain request on the same server still works ---
$r = curl($jar, "$base/");
is($r->{code}, '200', 'a plain request is still served');
$s->stop;

done_testing;
