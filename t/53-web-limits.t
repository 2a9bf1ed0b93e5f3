# 53-web-limits: the web door against slow clients. A request trickled
# an octet at a time (which libmicrohttpd's idle timeout never catches)
# is cut at web_request_deadline. And with the default connection
# limits, 16 connections from each of 16 addresses (127.0.0.10-25) that
# hold their requests open cannot lock customers out: each address gets
# only web_client_connection_limit of them, and a customer from another
# address logs in with curl while they still hold.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;

use SluiceTest qw(free_port wait_for);
use SlowClient qw(drip_until_closed);
use WebTest qw(curl csrf_of customer_passwd);
use FingerProbe qw(wait_log);

# web_instance CONF - a sluice with the web door and customer demo
sub web_instance {
	my (%conf) = @_;
	my $wport = free_port();
	my $s = SluiceTest->new(conf => { web_listen => "127.0.0.1:$wport", %conf },
	    domains => ['site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no owner=demo']);
	ok(customer_passwd($s, 'demo', 'demo-secret'), 'sluice passwd demo');
	$s->start;
	ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
	    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);
	return ($s, $wport);
}

# --- a trickled request is cut at web_request_deadline ---
my ($s, $wport) = web_instance(web_request_deadline => '2s');
my $c = SlowClient->new(port => $wport, from => '127.0.0.9',
    text => "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " . ('x' x 200) . "\r\n\r\n");
drip_until_closed([$c], every => 0.5);
ok($c->closed && !$c->finished, 'the trickling request is cut before it ends');
ok(wait_log($s, qr/web\[\d+\]: timeout after request from 127\.0\.0\.9: deadline 2s exceeded/),
    'web logs the request deadline');
my $r = curl($s->dir . '/jar0', "http://127.0.0.1:$wport/");
is($r->{code}, '200', 'a quick request is still answered');
$s->stop;

# --- 256 slow connections from 16 addresses, default limits ---
($s, $wport) = web_instance(web_request_deadline => '1h');
my $per_client = 8;	# the default web_client_connection_limit
my @holders;
for my $a (10 .. 25) {
	push @holders, grep { defined } map {
		SlowClient->new(port => $wport, from => "127.0.0.$a",
		    text => "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
		    . ('x' x 4000) . "\r\n\r\n")
	} 1 .. 16;
}
is(scalar @holders, 256, '256 connections made from 16 addresses');
# One octet each, then wait until the server has settled every one of
# them: it keeps the first ones of each address and closes the rest.
my $open_per_addr = sub {
	my %n;
	for my $h (@holders) {
		$h->read_some;
		$n{ $h->sock->sockhost }++ unless $h->closed;
	}
	return \%n;
};
$_->step for @holders;
ok(wait_for(sub {
	my $n = $open_per_addr->();
	keys %$n == 16 && !grep { $_ != $per_client } values %$n;
}, 30), "each address keeps $per_client connections, the rest are closed")
    or diag(explain($open_per_addr->()));
$_->step for @holders;

# A customer from another address logs in while they hold.
my $jar = $s->dir . '/jar';
my $base = "http://127.0.0.1:$wport";
$r = curl($jar, '--interface', '127.0.0.2', "$base/");
is($r->{code}, '200', 'the customer gets the login page');
my $token = csrf_of($r->{body});
ok($token, 'with its CSRF token');
$r = curl($jar, '--interface', '127.0.0.2', '--data-urlencode', 'user=demo',
    '--data-urlencode', 'password=demo-secret', '--data-urlencode', "csrf=$token",
    "$base/login");
is($r->{code}, '303', 'the customer logs in') or diag($r->{body}, $r->{err});
$r = curl($jar, '--interface', '127.0.0.2', "$base/status");
is($r->{code}, '200', 'and sees the status page');
like($r->{body}, qr/site\.example/, 'of its domain');
ok(wait_log($s, qr/trigger: domain=site\.example, source=web, client=127\.0\.0\.2, user=demo/),
    'qmgr logged the web trigger');

$_->step for @holders;
is(scalar(grep { !$_->closed } @holders), 16 * $per_client,
    'the slow connections were still held all along');
ok($s->child_pid('web'), 'web still runs');
close $_->sock for @holders;
$s->stop;
unlike($s->log_text, qr/runtime error|web\[\d+\]: (?:panic|fatal)/,
    'no sanitizer report, panic or fatal line');
done_testing();
