# 44-auth-lockout: failed logins lock the login (auth_lockout_failures)
# and the client address (auth_client_lockout_failures) out for
# auth_lockout_time, at every door at once: 12 wrong CRAM-MD5 logins on
# the ODMR port, then the right password is refused there, on the
# submission port (swaks, AUTH PLAIN over TLS) and on the web page
# (curl), with the reply of a wrong password; another login from the
# same address still gets in; once the lockout has run out the right
# password works again. Every failure is logged in the shape fail2ban's
# postfix-sasl filter matches.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use IO::Select;
use MIME::Base64 qw(decode_base64 encode_base64);
use Digest::HMAC_MD5 qw(hmac_md5_hex);
use SluiceTest qw(free_port run_cmd smtp_connect smtp_reply smtp_send
    smtp_xact tool wait_for);
use Odmr qw(odmr_instance cram_login);
use WebTest qw(curl csrf_of);

# fail2ban's filter.d/postfix.conf, mode "auth" (the postfix-sasl jail),
# with <HOST> as fail2ban expands it for an IPv4 address.
my $F2B = qr/warning: [-._\w]+\[(\d+\.\d+\.\d+\.\d+)\]: SASL ((?i)LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5) authentication failed(?::(?! Connection lost to authentication server| Invalid authentication mechanism)[^\n]*)?$/m;

# Long enough for the three doors to be tried inside it, even slowly.
my $lock = 10 * $SluiceTest::SLOW;
my $sub = free_port();
my $web = free_port();
# setup CONF - an instance with the three doors and two customers
sub setup {
	my (%conf) = @_;
	my $o = odmr_instance(users => { demo => 'demo-secret', other => 'other-secret' },
	    domains => ['site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no owner=demo',
		'other.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no owner=other'],
	    conf => { auth_failure_delay => '1s', auth_failure_limit => 50,
		# 12 sessions at once from one address (the default allows 10)
		odmr_client_connection_limit => 20,
		submission_listen => "127.0.0.1:$sub", web_listen => "127.0.0.1:$web",
		auth_lockout_time => $lock . 's', %conf });
	$o->{s}->start;
	wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$web") }, 20)
	    or BAIL_OUT("web did not start:\n" . $o->{s}->log_text);
	return $o;
}

# odmr_session PORT - a connection past EHLO, or undef
sub odmr_session {
	my ($port) = @_;
	my ($c, $code) = smtp_connect($port);
	return undef unless ($code // 0) == 220;
	($code) = smtp_xact($c, 'EHLO client.sluice.test');
	return ($code // 0) == 250 ? $c : undef;
}

# wrong_logins PORT, N, USER - N wrong CRAM-MD5 logins at once, on N
# connections (each failure is counted when it is checked, its 535 comes
# after auth_failure_delay). Returns how many got 535 5.7.8.
sub wrong_logins {
	my ($port, $n, $user) = @_;
	my @c = grep { defined } map { odmr_session($port) } 1 .. $n;
	for my $c (@c) {
		smtp_send($c, "AUTH CRAM-MD5\r\n");
		my ($code, $text) = smtp_reply($c);
		my ($b64) = ($text // '') =~ /^334 (\S+)/;
		my $u = ref $user ? $user->() : $user;
		smtp_send($c, encode_base64("$u " . hmac_md5_hex(decode_base64($b64 // ''),
		    'wrong'), '') . "\r\n");
	}
	my $refused = 0;
	for my $c (@c) {
		my ($code, $text) = smtp_reply($c);
		$refused++ if ($text // '') =~ /^535 5\.7\.8 /;
		close $c;
	}
	return $refused;
}

# odmr_login PORT, USER, PASSWORD - the reply code of a CRAM-MD5 login
sub odmr_login {
	my ($port, $user, $pass) = @_;
	my $c = odmr_session($port) or return 'no session';
	my ($code) = cram_login($c, $user, $pass);
	close $c;
	return $code // 'none';
}

# submit USER, PASSWORD - swaks AUTH PLAIN over TLS on the submission port
sub submit {
	my ($user, $pass) = @_;
	my ($rc, $o, $e) = run_cmd([tool('swaks'), '--server', '127.0.0.1',
	    '--port', $sub, '--helo', 'client.sluice.test', '--timeout', 30,
	    '--tls', '--auth', 'PLAIN', '--auth-user', $user, '--auth-password', $pass,
	    '--quit-after', 'AUTH'], timeout => 90);
	return $o . $e;
}

# web_login DIR, USER, PASSWORD - curl through the login form: the response
sub web_login {
	my ($dir, $user, $pass) = @_;
	my $jar = "$dir/cookies-" . int(rand(1e9));
	my $r = curl($jar, "http://127.0.0.1:$web/");
	my $token = csrf_of($r->{body}) // '';
	return curl($jar, '--data-urlencode', "user=$user", '--data-urlencode',
	    "password=$pass", '--data-urlencode', "csrf=$token",
	    "http://127.0.0.1:$web/login");
}

# --- a login locked out, the client not (auth_client_lockout_failures = 0) ---
my $o = setup(auth_lockout_failures => 5, auth_client_lockout_failures => 0);
my $s = $o->{s};
is(odmr_login($o->{port}, 'demo', 'demo-secret'), 235, 'the right password works at first');
is(wrong_logins($o->{port}, 12, 'demo'), 12, '12 wrong CRAM-MD5 logins: 535 5.7.8 each');
ok(wait_for(sub { $s->log_text =~ /warning: lock out login demo: 5 failed logins; for ${lock}s/ }, 20),
    'the lockout is logged once the fifth failure is counted');
is(odmr_login($o->{port}, 'demo', 'demo-secret'), 535,
    'ODMR: then the right password gets 535 as a wrong one does');
ok(wait_for(sub { $s->log_text =~ /SASL CRAM-MD5 authentication failed: login locked out, sasl_username=demo/ }, 20),
    'logged: SASL CRAM-MD5 authentication failed: login locked out');
my $out = submit('demo', 'demo-secret');
like($out, qr/^<~?\*\s+535 5\.7\.8 /m, 'submission: the right password gets 535 too (one lockout for every door)');
ok(wait_for(sub { $s->log_text =~ /SASL PLAIN authentication failed: login locked out, sasl_username=demo/ }, 20),
    'logged: SASL PLAIN authentication failed: login locked out');
my $r = web_login($s->dir, 'demo', 'demo-secret');
is($r->{code}, '403', 'web: the right password is refused');
like($r->{body}, qr/Wrong customer name or password/, 'web: with the page of a wrong password');
ok(wait_for(sub { $s->log_text =~ /web\[\d+\]: warning: refuse login: user=demo, client=127\.0\.0\.1: login locked out/ }, 20),
    'web: logged as "refuse login: ... login locked out"');
is(odmr_login($o->{port}, 'other', 'other-secret'), 235,
    'another login from the same address gets in');
# The lockout runs out: poll with the right password until it works.
ok(wait_for(sub { odmr_login($o->{port}, 'demo', 'demo-secret') eq '235' }, 60),
    'after auth_lockout_time the right password is accepted again');
like(submit('demo', 'demo-secret'), qr/^<[-~]\s+235 2\.7\.0 /m, 'and on the submission port');

my @failed = grep { /authentication failed/ } split /\n/, $s->log_text;
ok(@failed >= 14, 'a log line for each failure (' . scalar(@failed) . ')');
is(scalar(grep { !/$F2B/ } @failed), 0, "each matches fail2ban's postfix-sasl filter")
    or diag(join "\n", grep { !/$F2B/ } @failed);
is(scalar(grep { /$F2B/ && $1 ne '127.0.0.1' } @failed), 0, 'and names the client address');
$s->stop;

# --- a client locked out, whatever login it tries ---
$o = setup(auth_lockout_failures => 5, auth_client_lockout_failures => 10);
$s = $o->{s};
my $i = 0;
is(wrong_logins($o->{port}, 10, sub { 'guess' . ++$i }), 10,
    '10 wrong logins, each for another name: 535 each');
ok(wait_for(sub { $s->log_text =~ /warning: lock out client 127\.0\.0\.1: 10 failed logins; for ${lock}s/ }, 20),
    'the client lockout is logged');
is(odmr_login($o->{port}, 'other', 'other-secret'), 535,
    'then a login with no failures of its own is refused from that address');
ok(wait_for(sub { $s->log_text =~ /SASL CRAM-MD5 authentication failed: client locked out, sasl_username=other/ }, 20),
    'logged: client locked out');
ok(wait_for(sub { odmr_login($o->{port}, 'other', 'other-secret') eq '235' }, 60),
    'after auth_lockout_time it gets in');
$s->stop;

done_testing;
