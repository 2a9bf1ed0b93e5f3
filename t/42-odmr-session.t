# 42-odmr-session: raw ODMR sessions against etrn, for what fetchmail
# never does: the state machine (RFC 2645 section 4), refusals of ATRN,
# failed logins, PLAIN inside STARTTLS and TLS on connect, and a turned
# connection we play the customer's SMTP server on, including one we
# drop in the middle (nothing may be lost).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::SSL;
use Test::More;
use Time::HiRes qw(time);

use SluiceTest qw(free_port smtp_connect smtp_xact smtp_send smtp_reply
    slurp wait_for);
use Odmr qw(odmr_instance queue_msg cram_login plain_login);

my $dead = free_port();
my @users = (demo => 'demo', acme => 'acme', tlsuser => 'tls-secret',
    dropper => 'dropper', idle => 'idle');
my $o = odmr_instance(odmrs => 1, users => {@users}, domains => [
	"site.example mode=hold route=[127.0.0.1]:$dead probe=no owner=demo",
	"empty.example mode=hold route=[127.0.0.1]:$dead probe=no owner=idle",
	"other.example mode=hold route=[127.0.0.1]:$dead probe=no owner=acme",
	"tls.example mode=hold route=[127.0.0.1]:$dead probe=no owner=tlsuser",
	"drop.example mode=hold route=[127.0.0.1]:$dead probe=no owner=dropper",
    ]);
my $s = $o->{s};
$s->start;
my $site_id = queue_msg($s, 'a@site.example', "Subject: site\r\n\r\nfor site\r\n");
my $other_id = queue_msg($s, 'b@other.example', "Subject: other\r\n\r\nfor other\r\n");
my $tls_id = queue_msg($s, 'c@tls.example', "Subject: tls\r\n\r\n.dot\r\nvia TLS\r\n");
my $drop_id = queue_msg($s, 'd@drop.example', "Subject: drop\r\n\r\ndropped once\r\n");
ok($site_id && $other_id && $tls_id && $drop_id, 'four messages queued');
ok(wait_for(sub { scalar($s->queue_list_ids) == 4 }, 20), 'qmgr indexed them');

# connect_odmr - a session greeted with 220 on the plain listener
sub connect_odmr {
	my ($c, $code, $text) = smtp_connect($o->{port});
	is($code, 220, 'greeting 220') or diag($text);
	return $c;
}

# --- the initial state ---
my $c = connect_odmr();
my ($code, $text) = smtp_xact($c, 'ATRN site.example');
is($code, 530, 'ATRN before AUTH: 530');
like($text, qr/^530 5\.7\.0 /, '530 5.7.0 Authentication required');
($code) = smtp_xact($c, 'MAIL FROM:<x@y.test>');
is($code, 502, 'MAIL before AUTH: 502');
($code, $text) = smtp_xact($c, 'AUTH CRAM-MD5');
is($code, 503, 'AUTH before EHLO: 503');
($code, $text) = smtp_xact($c, 'EHLO customer.test');
is($code, 250, 'EHLO 250');
like($text, qr/^250-AUTH CRAM-MD5\r$/m, 'EHLO offers CRAM-MD5 only, in the clear');
like($text, qr/^250[- ]ATRN\r$/m, 'EHLO lists ATRN');
like($text, qr/^250[- ]STARTTLS\r$/m, 'EHLO lists STARTTLS');
($code, $text) = plain_login($c, 'demo', 'demo');
is($code, 538, 'AUTH PLAIN outside TLS: 538');
($code) = smtp_xact($c, 'NOOP');
is($code, 250, 'NOOP is harmless');

# --- failed logins: 535, delayed, and the limit (3 in this test) ---
my $t0 = time;
($code, $text) = cram_login($c, 'demo', 'wrong');
is($code, 535, 'wrong password: 535');
like($text, qr/^535 5\.7\.8 /, '535 5.7.8');
cmp_ok(time - $t0, '>=', 0.9, 'the failure was answered after auth_failure_delay');
($code) = cram_login($c, 'nobody', 'demo');
is($code, 535, 'unknown login: 535');
($code) = cram_login($c, 'demo', 'wrong again');
is($code, 535, 'third failure: 535');
($code, $text) = smtp_reply($c, 5);
is($code, 421, 'then 421 and the connection is closed');
close $c;

# --- authenticated: only ATRN and QUIT ---
$c = connect_odmr();
smtp_xact($c, 'EHLO customer.test');
($code, $text) = cram_login($c, 'demo', 'demo');
is($code, 235, 'right password: 235') or diag($text);
($code, $text) = smtp_xact($c, 'MAIL FROM:<x@y.test>');
is($code, 502, 'MAIL after AUTH: 502');
like($text, qr/^502 5\.5\.1 /, '502 5.5.1');
($code) = smtp_xact($c, 'EHLO again.test');
is($code, 502, 'EHLO after AUTH: 502');
($code) = smtp_xact($c, 'AUTH CRAM-MD5');
is($code, 503, 'AUTH after AUTH: 503');
($code, $text) = smtp_xact($c, 'ATRN site.example,other.example');
is($code, 450, 'ATRN with a domain of another customer: 450');
like($text, qr/^450 4\.7\.1 .*other\.example/, '450 4.7.1 names the domain');
($code, $text) = smtp_xact($c, 'ATRN other.example');
is($code, 450, 'ATRN for only the other customer\'s domain: 450');
($code, $text) = smtp_xact($c, 'ATRN bad..domain');
is($code, 501, 'ATRN with a malformed list: 501');
($code) = smtp_xact($c, 'QUIT');
is($code, 221, 'QUIT 221');
close $c;
is_deeply([sort $s->queue_list_ids], [sort $site_id, $other_id, $tls_id, $drop_id],
    'nothing was sent for a refused ATRN');
unlike($s->log_text, qr/etrn\[\d+\]: [0-9A-F]{20}: to=/, 'no delivery was logged');

# --- 453 without mail, then 450 for asking too often ---
$c = connect_odmr();
smtp_xact($c, 'EHLO customer.test');
is((cram_login($c, 'idle', 'idle'))[0], 235, 'idle logs in');
($code, $text) = smtp_xact($c, 'ATRN');
is($code, 453, 'ATRN (every owned domain) without mail: 453');
like($text, qr/^453 4\.7\.0 No messages waiting/, '453 4.7.0 No messages waiting');
($code, $text) = smtp_xact($c, 'ATRN empty.example');
is($code, 450, 'a second ATRN within the interval: 450');
like($text, qr/^450 4\.7\.0 /, '450 4.7.0');
smtp_xact($c, 'QUIT');
close $c;

# serve_turned SOCK - play the customer's SMTP server after the turn:
# returns the messages received; with $drop, close the connection when
# the first message's content has arrived, before the 250.
sub serve_turned {
	my ($c, $drop) = @_;
	my @msgs;
	smtp_send($c, "220 customer.test ESMTP\r\n");
	my ($in, $data) = (0, '');
	while (defined(my $line = SluiceTest::_readline($c, 30))) {
		if ($in) {
			if ($line eq ".\r\n") {
				$in = 0;
				push @msgs, $data;
				$data = '';
				return @msgs if $drop;
				smtp_send($c, "250 2.0.0 Ok: got it\r\n");
				next;
			}
			$line =~ s/^\.//;
			$data .= $line;
			next;
		}
		if ($line =~ /^EHLO/i) {
			smtp_send($c, "250-customer.test\r\n250 8BITMIME\r\n");
		} elsif ($line =~ /^DATA/i) {
			$in = 1;
			smtp_send($c, "354 go\r\n");
		} elsif ($line =~ /^QUIT/i) {
			smtp_send($c, "221 2.0.0 Bye\r\n");
			last;
		} else {
			smtp_send($c, "250 2.0.0 Ok\r\n");
		}
	}
	return @msgs;
}

# --- STARTTLS: PLAIN accepted inside TLS, refusals too, and the turn ---
$c = connect_odmr();
smtp_xact($c, 'EHLO customer.test');
($code) = smtp_xact($c, 'STARTTLS');
is($code, 220, 'STARTTLS 220');
ok(IO::Socket::SSL->start_SSL($c, SSL_verify_mode => SSL_VERIFY_NONE),
    'TLS handshake') or diag($IO::Socket::SSL::SSL_ERROR);
($code, $text) = smtp_xact($c, 'EHLO customer.test');
like($text, qr/^250-AUTH CRAM-MD5 PLAIN LOGIN\r$/m, 'inside TLS PLAIN and LOGIN are offered');
unlike($text, qr/STARTTLS/, 'STARTTLS is not offered twice');
($code, $text) = plain_login($c, 'tlsuser', 'wrong');
is($code, 535, 'wrong password over STARTTLS: 535');
($code, $text) = plain_login($c, 'tlsuser', 'tls-secret');
is($code, 235, 'AUTH PLAIN over STARTTLS: 235') or diag($text);
($code) = smtp_xact($c, 'MAIL FROM:<x@y.test>');
is($code, 502, 'MAIL after AUTH over STARTTLS: 502');
($code) = smtp_xact($c, 'ATRN site.example');
is($code, 450, 'ATRN for a domain not owned over STARTTLS: 450');
my ($tls_qf) = $s->read_queue_file($tls_id);
($code, $text) = smtp_xact($c, 'ATRN tls.example');
is($code, 250, 'ATRN tls.example over STARTTLS: 250') or diag($text);
my @msgs = serve_turned($c);
ok($c->isa('IO::Socket::SSL'), 'the turned session stayed in TLS');
is(scalar @msgs, 1, 'one message over the turned TLS connection');
is($msgs[0], $tls_qf->{content}, 'byte-identical to its queue file');
close $c;
ok(wait_for(sub { !grep { $_ eq $tls_id } $s->queue_files }, 20),
    'the delivered message left the queue');

# --- TLS on connect (odmrs) ---
my $t = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $o->{sport},
    SSL_verify_mode => SSL_VERIFY_NONE, Timeout => 10);
ok($t, 'TLS on connect to the odmrs listener') or diag($IO::Socket::SSL::SSL_ERROR);
if ($t) {
	($code) = smtp_reply($t);
	is($code, 220, 'odmrs greeting 220 after the handshake');
	($code, $text) = smtp_xact($t, 'EHLO customer.test');
	like($text, qr/^250-AUTH CRAM-MD5 PLAIN LOGIN\r$/m, 'odmrs offers PLAIN');
	($code) = plain_login($t, 'acme', 'acme');
	is($code, 235, 'AUTH PLAIN on odmrs: 235');
	smtp_xact($t, 'QUIT');
	close $t;
}

# --- a dropped connection leaves the message queued; the next ATRN sends it ---
$c = connect_odmr();
smtp_xact($c, 'EHLO customer.test');
is((cram_login($c, 'dropper', 'dropper'))[0], 235, 'dropper logs in');
($code) = smtp_xact($c, 'ATRN drop.example');
is($code, 250, 'ATRN drop.example: 250');
@msgs = serve_turned($c, 1);
is(scalar @msgs, 1, 'the content arrived');
close $c;
ok(wait_for(sub { $s->log_text =~ /ATRN session of dropper .* ended/ }, 20),
    'etrn noticed the drop');
ok(wait_for(sub { grep { $_ eq $drop_id } $s->queue_list_ids }, 20),
    'the message is still queued after the drop');
ok((grep { $_ eq $drop_id } $s->queue_files), 'its queue file is still there');
sleep 10;	# one ATRN per login in 10 seconds
$c = connect_odmr();
smtp_xact($c, 'EHLO customer.test');
cram_login($c, 'dropper', 'dropper');
($code, $text) = smtp_xact($c, 'ATRN drop.example');
is($code, 250, 'ATRN again: 250') or diag($text);
@msgs = serve_turned($c);
is(scalar @msgs, 1, 'the message is delivered on the second session');
like($msgs[0] // '', qr/dropped once/, 'the same message');
close $c;
ok(wait_for(sub { !grep { $_ eq $drop_id } $s->queue_files }, 20),
    'and only then removed');

# --- 451 when qmgr cannot answer (stopped, not dead: master would restart it) ---
my $qmgr = $s->child_pid('qmgr');
$c = connect_odmr();
smtp_xact($c, 'EHLO customer.test');
is((cram_login($c, 'acme', 'acme'))[0], 235, 'acme logs in');
kill 'STOP', $qmgr;
($code, $text) = smtp_xact($c, 'ATRN other.example');
kill 'CONT', $qmgr;
is($code, 451, 'ATRN while qmgr does not answer: 451');
like($text // '', qr/^451 4\.3\.0 /, '451 4.3.0');
smtp_xact($c, 'QUIT');
close $c;

is_deeply([sort $s->queue_list_ids], [sort $site_id, $other_id],
    'the untouched domains keep their mail');
$s->stop;
done_testing();
