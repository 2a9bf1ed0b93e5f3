# 58-smtp-framing: what is no SMTP at all ends the session. A command
# line that ends in a bare LF (smtpd_forbid_bare_newline = yes), an HTTP
# request on port 25 (curl, and a proxy's CONNECT), a client that talks
# before the 220 (smtpd_pregreet_wait) each get a 521 and the connection
# is closed, with a log line; a non-ASCII address without SMTPUTF8 gets
# 553 5.6.7 (swaks). Polite clients are served throughout.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use SluiceTest qw(run_cmd smtp_connect smtp_reply smtp_send smtp_xact tool
    wait_for);

my $s = SluiceTest->new;
$s->start;

# closed SOCK - does the server close the connection (EOF, not a timeout)?
sub closed {
	my ($c) = @_;
	my $sel = IO::Select->new($c);
	return 0 unless $sel->can_read(30);
	my $n = sysread($c, my $buf, 512);
	return defined $n && $n == 0;
}

# logged RE - wait until the log has a line matching RE
sub logged {
	my ($x, $re) = @_;
	return wait_for(sub { $x->log_text =~ $re }, 20);
}

# --- a command ending in a bare LF: 521 5.5.2 and hang up ---
{
	my ($c, $code) = smtp_connect($s);
	is($code, 220, 'bare LF: greeted');
	smtp_send($c, "EHLO client.sluice.test\n");
	my ($rc, $text) = smtp_reply($c);
	like($text // '', qr/^521 5\.5\.2 Error: bare <LF> received/,
	    'EHLO ending in LF: 521 5.5.2 bare <LF>');
	ok(closed($c), 'and the server closes the connection');
	ok(logged($s, qr/warning: disconnect: bare <LF> received from localhost\[127\.0\.0\.1\] after CONNECT/),
	    'logged as "disconnect: bare <LF> received"');
}
# A smuggler's pipeline: the line after a good one ends in LF alone.
{
	my ($c) = smtp_connect($s);
	smtp_send($c, "NOOP\r\nRSET\nNOOP\r\n");
	my ($code) = smtp_reply($c);
	is($code, 250, 'pipelined NOOP (CRLF): 250');
	my ($code2, $text) = smtp_reply($c);
	like($text // '', qr/^521 5\.5\.2 /, 'then RSET ending in LF: 521 5.5.2');
	ok(closed($c), 'and nothing after it is answered: the connection closes');
}

# --- HTTP on the SMTP port ---
{
	# curl speaks HTTP to port 25 as a browser or a web proxy would.
	my ($rc, $out) = run_cmd([tool('curl'), '-s', '--http0.9', '--max-time', '30',
	    'http://127.0.0.1:' . $s->port . '/index.html'], timeout => 60);
	like($out, qr/^521 5\.7\.0 /m, 'curl GET: 521 5.7.0');
	unlike($out, qr/^502 /m, 'and no "502 command not recognized" to go on with');
	ok(logged($s, qr{warning: non-SMTP command from localhost\[127\.0\.0\.1\]: GET /index\.html HTTP/1\.1}),
	    'logged as "non-SMTP command" with the request line');
}
for my $case (['CONNECT mx.example:25 HTTP/1.0', 'CONNECT'],
    ['POST /cgi-bin/x HTTP/1.1', 'POST'],
    ['Host: mx.sluice.test', 'a header line'],
    ['User-Agent: curl/7.88', 'another header line']) {
	my ($line, $name) = @$case;
	my ($c) = smtp_connect($s);
	my ($code) = smtp_xact($c, 'EHLO client.sluice.test');
	is($code, 250, "$name: EHLO 250");
	my ($code2, $text) = smtp_xact($c, $line);
	like($text // '', qr/^521 5\.7\.0 /, "$name: 521 5.7.0");
	ok(closed($c), "$name: the connection closes");
}
{
	# A verb of the same letters inside a real command is no HTTP.
	my ($c) = smtp_connect($s);
	my ($code) = smtp_xact($c, 'EHLO get.example');
	is($code, 250, 'EHLO get.example is served');
	($code) = smtp_xact($c, 'QUIT');
	is($code, 221, 'and QUIT');
}

# --- 8-bit addresses without SMTPUTF8 (which we do not offer) ---
{
	my ($st, $out) = $s->swaks('--to', 'user@site.example', '--quit-after', 'EHLO');
	unlike($out, qr/SMTPUTF8/, 'EHLO does not offer SMTPUTF8');
	($st, $out) = $s->swaks('--from', "j\xc3\xbcrgen\@client.sluice.test",
	    '--to', 'user@site.example');
	like($out, qr/<\*\* 553 5\.6\.7 /, 'MAIL FROM with UTF-8: 553 5.6.7');
	($st, $out) = $s->swaks('--from', 'a@client.sluice.test',
	    '--to', "\xfcser\@site.example");
	like($out, qr/<-  250 2\.1\.0 Ok\n(?:.*\n)?<\*\* 553 5\.6\.7 /, 'MAIL 250, RCPT TO with Latin-1: 553 5.6.7');
	is(scalar $s->queue_files, 0, 'nothing was queued');
}
ok($s->served, 'a polite client is still served');
is(scalar $s->queue_files, 1, 'its message is queued');
$s->stop;

# --- talking before the greeting ---
my $p = SluiceTest->new(conf => { smtpd_pregreet_wait => '2s',
    submission_listen => '127.0.0.1:' . SluiceTest::free_port() });
$p->start;
{
	my ($c) = smtp_connect($p, no_greeting => 1);
	smtp_send($c, "EHLO early.example\r\nMAIL FROM:<spam\@early.example>\r\n");
	my ($code, $text) = smtp_reply($c);
	like($text // '', qr/^521 5\.5\.1 /, 'a client that talks first gets 521 5.5.1, no 220');
	ok(closed($c), 'and the connection is closed');
	ok(logged($p, qr/PREGREET \d+ after \d+\.\d\d from \[127\.0\.0\.1\]:\d+: EHLO early\.example/),
	    'logged postscreen-style: PREGREET N after T from [addr]:port: EHLO');
}
{
	# A client that waits is greeted and served (swaks waits for the 220).
	my ($st, $out) = $p->swaks('--to', 'user@site.example');
	like($out, qr/<-  250 2\.0\.0 Ok: queued as/, 'a client that waits is served');
}
{
	# The submission port serves mail programs at once: no pause there.
	my $sub = $p->{conf}{submission_listen};
	my ($port) = $sub =~ /:(\d+)$/;
	my ($c) = smtp_connect($port, no_greeting => 1);
	smtp_send($c, "EHLO mua.example\r\n");
	my ($code) = smtp_reply($c);
	is($code, 220, 'submission port: greeted, not dropped');
	($code) = smtp_reply($c);
	is($code, 250, 'and its EHLO answered');
	close $c;
}
$p->stop;

done_testing;
