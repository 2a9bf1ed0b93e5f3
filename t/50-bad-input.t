# 50-bad-input: what no polite client sends. Each case gets the right
# reply code, nothing bad is queued, and the server stays up (the same
# smtpd process serves a normal client after every case).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use SluiceTest qw(smtp_connect smtp_reply smtp_send smtp_xact wait_for);

my $s = SluiceTest->new(conf => { smtpd_client_connection_limit => 300 });
$s->start;
my @smtpd = sort map { $_->[0] } grep { $_->[1] eq 'smtpd' } $s->children;
ok(@smtpd, 'smtpd runs') or diag($s->log_text);
my $good = 0;	# messages that should be queued

# session - a connection past EHLO, or undef
sub session {
	my ($c, $code, $text) = smtp_connect($s);
	return undef unless $c && ($code // 0) == 220;
	($code) = smtp_xact($c, 'EHLO client.sluice.test');
	return ($code // 0) == 250 ? $c : undef;
}

# in_data - a session inside DATA (after the 354), or undef
sub in_data {
	my $c = session() or return undef;
	for my $cmd ('MAIL FROM:<bad@client.sluice.test>', 'RCPT TO:<user@site.example>') {
		my ($code) = smtp_xact($c, $cmd);
		return undef unless ($code // 0) == 250;
	}
	my ($code) = smtp_xact($c, 'DATA');
	return ($code // 0) == 354 ? $c : undef;
}

# still_up NAME - a normal client is served by the same smtpd
sub still_up {
	my ($name) = @_;
	my $id = $s->served;
	$good++ if $id;
	ok($id, "$name: a normal client is still served");
}

# data_case NAME, BYTES, RE - send BYTES as message data, expect RE
sub data_case {
	my ($name, $bytes, $re) = @_;
	my $c = in_data();
	ok($c, "$name: got to DATA") or return;
	smtp_send($c, $bytes);
	my ($code, $text) = smtp_reply($c);
	like($text // '', $re, "$name: reply");
	# The session goes on: the client may start a new transaction.
	($code, $text) = smtp_xact($c, 'RSET');
	is($code, 250, "$name: RSET after it is answered 250") or diag($text);
	close $c;
	still_up($name);
}

my $hdr = "From: <bad\@client.sluice.test>\r\nSubject: bad input\r\n\r\n";

# --- over-long command line ---
{
	my $c = session();
	my ($code, $text) = smtp_xact($c, 'NOOP ' . ('x' x 5000));
	like($text // '', qr/^500 5\.5\.0 /, 'over-long command line: 500 5.5.0');
	close $c;
	still_up('over-long command line');
}

# --- message data ---
data_case('over-long data line', $hdr . ('y' x 200000) . "\r\n.\r\n",
    qr/^552 5\.\d\.\d+ /);
data_case('bare LF in data', $hdr . "one\ntwo\r\n.\r\n", qr/^550 5\.5\.2 /);
data_case('bare CR in data', $hdr . "one\rtwo\r\n.\r\n", qr/^550 5\.5\.2 /);
data_case('NUL in data', $hdr . "one\0two\r\n.\r\n", qr/^550 5\.6\.0 /);
data_case('bare LF in the header', "Subject: x\nFrom: <a\@b>\r\n\r\nbody\r\n.\r\n",
    qr/^550 5\.5\.2 /);

# SMTP smuggling: "<LF>.<CRLF>" must not end the data. If it did, the
# RSET hidden in the data would be answered before our VRFY.
{
	my $c = in_data();
	smtp_send($c, $hdr . "hello\n.\r\nRSET\r\n.\r\nVRFY postmaster\r\n");
	my ($code, $text) = smtp_reply($c);
	like($text // '', qr/^550 5\.5\.2 /, 'smuggling: the message is refused at the real end');
	($code, $text) = smtp_reply($c);
	is($code, 252, 'smuggling: the next reply answers VRFY (nothing was smuggled)')
	    or diag($text);
	close $c;
	still_up('smuggling');
}

# --- command order ---
{
	my $c = session();
	my ($code, $text) = smtp_xact($c, 'DATA');
	like($text // '', qr/^503 5\.5\.1 /, 'DATA before MAIL: 503 5.5.1');
	($code) = smtp_xact($c, 'MAIL FROM:<bad@client.sluice.test>');
	is($code, 250, 'MAIL 250');
	($code, $text) = smtp_xact($c, 'DATA');
	like($text // '', qr/^503 5\.5\.1 /, 'DATA before RCPT: 503 5.5.1');
	($code, $text) = smtp_xact($c, 'RCPT TO:<user@elsewhere.example>');
	like($text // '', qr/^550 5\.7\.1 /, 'relay denied');
	($code, $text) = smtp_xact($c, 'DATA');
	like($text // '', qr/^(503 5\.5\.1|554 5\.5\.1) /, 'DATA with no accepted RCPT: refused');
	close $c;
	still_up('command order');
}

# --- pipelining: everything answered, in order ---
{
	my $c = session();
	smtp_send($c, "MAIL FROM:<pipe\@client.sluice.test>\r\n"
	    . "RCPT TO:<user\@site.example>\r\nRCPT TO:<nobody\@elsewhere.example>\r\n"
	    . "DATA\r\n");
	my @codes = map { (smtp_reply($c))[0] // 'none' } 1 .. 4;
	is("@codes", '250 250 550 354', 'pipelined MAIL RCPT RCPT DATA: 250 250 550 354');
	smtp_send($c, $hdr . "pipelined\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n");
	my ($code, $text) = smtp_reply($c);
	like($text // '', qr/^250 2\.0\.0 Ok: queued as [0-9A-F]{20}/,
	    'pipelined end of data: queued');
	$good++ if ($code // 0) == 250;
	@codes = map { (smtp_reply($c))[0] // 'none' } 1 .. 3;
	is("@codes", '250 250 221', 'then RSET NOOP QUIT: 250 250 221');
	my $n = sysread($c, my $buf, 1);
	is($n, 0, 'and the server closes the connection');
	close $c;
}

# --- STARTTLS with plaintext pipelined after it ---
{
	my $c = session();
	smtp_send($c, "STARTTLS\r\nRSET\r\n");
	my ($code, $text) = smtp_reply($c);
	is($code, 220, 'STARTTLS: 220') or diag($text);
	my $ok = IO::Socket::SSL->start_SSL($c, SSL_verify_mode => SSL_VERIFY_NONE,
	    Timeout => 30);
	ok($ok, 'TLS handshake with the generated certificate')
	    or diag(IO::Socket::SSL::errstr());
	if ($ok) {
		# Had the RSET been executed, its 250 would come before VRFY's 252.
		($code, $text) = smtp_xact($c, 'VRFY postmaster');
		is($code, 252, 'plaintext pipelined before TLS was discarded')
		    or diag($text);
		($code, $text) = smtp_xact($c, 'EHLO client.sluice.test');
		is($code, 250, 'EHLO over TLS');
		unlike($text // '', qr/STARTTLS/, 'STARTTLS no longer offered');
		($code, $text) = smtp_xact($c, 'STARTTLS');
		like($text // '', qr/^5\d\d 5\.5\.1 /, 'a second STARTTLS: 5xx 5.5.1');
		smtp_xact($c, 'QUIT');
	}
	close $c;
	still_up('STARTTLS pipelining');
}

# --- 200 idle connections, and a normal client is still served ---
{
	my @idle;
	my $greeted = 0;
	for (1 .. 200) {
		my ($c, $code) = smtp_connect($s, timeout => 30);
		last unless $c;
		push @idle, $c;
		$greeted++ if ($code // 0) == 220;
	}
	is($greeted, 200, '200 idle connections all greeted with 220');
	still_up('200 idle connections');
	close $_ for @idle;
}

# --- the server survived all of it, without a restart ---
ok($s->alive, 'master still runs');
my @now = sort map { $_->[0] } grep { $_->[1] eq 'smtpd' } $s->children;
is_deeply(\@now, \@smtpd, 'the same smtpd process(es): none crashed')
    or diag($s->log_text);
unlike($s->log_text, qr/AddressSanitizer|runtime error:|panic/,
    'no sanitizer report or panic in the log');
is(scalar $s->queue_files, $good, "only the $good good messages were queued");
is_deeply([$s->dir_entries('incoming')], [], 'nothing left in incoming/');
$s->stop;

# --- timeouts: 421 4.4.2, then the connection closes ---
my $t = SluiceTest->new(conf => { smtpd_timeout => '2s', smtpd_data_timeout => '3s' });
$t->start;
{
	my ($c, $code) = smtp_connect($t);
	is($code, 220, 'timeout instance greets');
	my $text;
	($code, $text) = smtp_reply($c, 60);
	like($text // '', qr/^421 4\.4\.2 /, 'idle client: 421 4.4.2 after smtpd_timeout');
	my $n = sysread($c, my $buf, 1);
	ok(!$n, 'and the connection is closed');
	close $c;
}
{
	my $c = in_data_on($t);
	ok($c, 'timeout instance: inside DATA');
	smtp_send($c, "Subject: half\r\n\r\nonly part of a message\r\n") if $c;
	my ($code, $text) = $c ? smtp_reply($c, 60) : ();
	like($text // '', qr/^421 4\.4\.2 /, 'stalled DATA: 421 4.4.2');
	close $c if $c;
}
ok($t->served, 'timeout instance still serves');
is(scalar $t->queue_files, 1, 'the stalled message was not queued');
$t->stop;

# in_data_on SLUICE - like in_data, on another instance
sub in_data_on {
	my ($x) = @_;
	my ($c, $code) = smtp_connect($x);
	return undef unless $c && ($code // 0) == 220;
	for my $cmd ('EHLO client.sluice.test', 'MAIL FROM:<a@client.sluice.test>',
	    'RCPT TO:<user@site.example>') {
		($code) = smtp_xact($c, $cmd);
		return undef unless ($code // 0) == 250;
	}
	($code) = smtp_xact($c, 'DATA');
	return ($code // 0) == 354 ? $c : undef;
}

done_testing;
