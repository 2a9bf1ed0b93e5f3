# 26-pop3-session: the maildrop as a plain mailbox, with Python's poplib
# as the client: STAT, LIST, UIDL, TOP, RETR, DELE, RSET, QUIT; the
# unique-ids the same after a restart of sluice; a session dropped after
# DELE (no QUIT) deletes nothing; mail arriving during a session waits
# for the next one; STLS (poplib.stls) then USER/PASS; AUTH PLAIN and
# CRAM-MD5 (RFC 5034); a customer with no pop3=yes domain, a domain
# with pop3=no, and pop3s (TLS on connect).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Odmr qw(queue_msg);
use Pop3 qw(pop3_instance);
use SluiceTest qw(run_cmd wait_for);

my $o = pop3_instance(pop3s => 1);
my $s = $o->{s};
my $port = $o->{pop3_port};
$s->start;
my ($src, $sout) = $s->cli('status');
like($sout, qr/^pop3_listen: 127\.0\.0\.1:\Q$port\E listening$/m, 'sluice status lists the pop3 listener');
like($sout, qr/^pop3s_listen: 127\.0\.0\.1:\Q$o->{pop3s_port}\E listening$/m, 'and the pop3s one');

# The client: a Python script run with poplib; ARGV after the port are its own.
my $prelude = <<'PY';
import poplib, ssl, sys, base64, hmac, hashlib
port = int(sys.argv[1])
def login(p, user='demo', pw='demo'):
    p.user(user); return p.pass_(pw).decode()
def out(*a):
    print(*[x.decode() if isinstance(x, bytes) else x for x in a], flush=True)
PY

# py SCRIPT, ARGS - run it; (exit status, stdout lines joined, stderr)
sub py {
	my ($script, @args) = @_;
	my ($rc, $out, $err) = run_cmd(['python3', '-c', $prelude . $script, $port, @args],
	    timeout => 60);
	return ($rc, $out, $err);
}

my $id1 = queue_msg($s, 'alice@site.example', "Subject: first\r\n\r\nline 1\r\nline 2\r\n.dot\r\nline 4\r\n");
my $id2 = queue_msg($s, 'bob@more.example', "Subject: second\r\n\r\nfor bob\r\n");
my $id3 = queue_msg($s, 'carol@nopop.example', "Subject: not by pop\r\n\r\nx\r\n");
ok($id1 && $id2 && $id3, 'three messages queued (site, more, nopop)');

# --- STAT, LIST, UIDL, TOP, RETR, RSET; nothing deleted ------------------
my ($rc, $out, $err) = py(<<'PY');
p = poplib.POP3('127.0.0.1', port)
out(login(p))
out('STAT', *p.stat())
r, lines, _ = p.list(); out('LIST', *lines)
r, lines, _ = p.uidl(); out('UIDL', *lines)
r, lines, _ = p.top(1, 1); out('TOP', *lines)
r, lines, octets = p.retr(1); out('RETR', r, *lines)
out(p.dele(1)); out('STAT', *p.stat()); out(p.rset()); out('STAT', *p.stat())
out(p.quit())
PY
is($rc, 0, 'poplib session runs') or diag($err);
like($out, qr/^\+OK maildrop of demo has 2 messages/m, 'demo sees two messages: site and more, not nopop');
my ($n, $octets) = $out =~ /^STAT (\d+) (\d+)$/m;
is($n, 2, 'STAT: 2 messages');
my @uidl = $out =~ /^UIDL (.*)$/m ? split / /, $1 : ();
is_deeply(\@uidl, [1, "$id1-0", 2, "$id2-0"], 'UIDL: queue ID and recipient index');
my ($top) = $out =~ /^TOP (.*)$/m;
like($top, qr/^Return-Path: <sender\@origin\.test> Delivered-To: alice\@site\.example X-Original-To: alice\@site\.example Received: /,
    'TOP: our three headers first');
like($top, qr/Subject: first  line 1$/, 'TOP 1 1: the headers, the empty line and one body line');
my ($retr) = $out =~ /^RETR (.*)$/m;
like($retr, qr/Subject: first  line 1 line 2 \.dot line 4$/, 'RETR: the whole message, a leading dot kept');
my ($roct) = $retr =~ /^\+OK (\d+) octets/;
my ($l1) = $out =~ /^LIST 1 (\d+)/m;
is($roct, $l1, 'RETR announces the octets LIST said');
like($out, qr/^STAT 1 \d+\n\+OK maildrop has 2 messages .*\nSTAT 2 \Q$octets\E$/m, 'DELE hides one; RSET brings it back');
like($out, qr/^\+OK .* signing off \(0 messages collected\)$/m, 'QUIT after RSET collects nothing');
is(scalar($s->queue_list_ids), 3, 'the three messages are still queued');

# --- UIDL stable across a restart ------------------------------------------
$s->restart;
($rc, $out) = py(<<'PY');
p = poplib.POP3('127.0.0.1', port); login(p)
r, lines, _ = p.uidl(); out('UIDL', *lines); p.quit()
PY
is_deeply([$out =~ /^UIDL (.*)$/m ? split / /, $1 : ()], \@uidl, 'UIDL after a restart: the same unique-ids');

# --- a session dropped after DELE deletes nothing ------------------------
($rc, $out) = py(<<'PY');
import os
p = poplib.POP3('127.0.0.1', port); login(p)
out(p.dele(1)); out(p.dele(2))
p.sock.close()
PY
like($out, qr/message 2 deleted/, 'DELE 1, DELE 2, then the connection drops');
ok(wait_for(sub { $s->log_text =~ /disconnect from .* user=demo commands=\d+ collected=0\n(?:.*\n)*?.*POP3 maildrop closed for user=demo/ }, 10),
    'pop3 logs the disconnect, qmgr frees the maildrop');
is(scalar($s->queue_list_ids), 3, 'nothing was deleted');
unlike($s->log_text, qr/relay=pop3/, 'and nothing logged as delivered');

# --- RFC 1939 snapshot: mail arriving during the session waits ------------
($rc, $out) = py(<<'PY', "$s->{addr}:$s->{port}");
import smtplib
p = poplib.POP3('127.0.0.1', port); login(p)
h, pt = sys.argv[2].rsplit(':', 1)
smtplib.SMTP(h, int(pt)).sendmail('late@origin.test', ['dave@site.example'], 'Subject: late\r\n\r\nlate\r\n')
out('STAT', *p.stat())
for i in (1, 2): p.dele(i)
out(p.quit())
p = poplib.POP3('127.0.0.1', port); login(p)
out('STAT2', *p.stat()); r, lines, _ = p.retr(1); out('LATE', *lines); p.dele(1); out(p.quit())
PY
is($rc, 0, 'a session with mail arriving during it') or diag($out);
like($out, qr/^STAT 2 /m, 'the late message is not in the session it arrived in');
like($out, qr/signing off \(2 messages collected\)/, 'QUIT collects the two deleted');
like($out, qr/^STAT2 1 /m, 'the next session has the late message');
like($out, qr/^LATE .*X-Original-To: dave\@site\.example/m, 'for dave');
ok(wait_for(sub { (() = $s->log_text =~ /relay=pop3, .*status=sent/g) == 3 }, 10),
    'three collections logged with relay=pop3, status=sent');
ok(wait_for(sub { my @ids = $s->queue_list_ids; @ids == 1 && $ids[0] eq $id3 }, 10),
    'only the pop3=no domain\'s message is left');

# --- STLS, AUTH PLAIN, AUTH CRAM-MD5, pop3s --------------------------------
$id1 = queue_msg($s, 'erin@site.example', "Subject: tls\r\n\r\nover tls\r\n");
($rc, $out, $err) = py(<<'PY', $o->{pop3s_port});
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3('127.0.0.1', port)
out('CAPA', *sorted(p.capa().keys()))
out(p.stls(context=ctx)); out('CAPA2', *sorted(p.capa().keys())); out(login(p)); out('STAT', *p.stat()); p.quit()
p = poplib.POP3('127.0.0.1', port)
out(p._shortcmd('AUTH PLAIN ' + base64.b64encode(b'\0demo\0demo').decode())); p.quit()
p = poplib.POP3('127.0.0.1', port)
ch = p._shortcmd('AUTH CRAM-MD5').decode().split(' ', 1)[1]
d = hmac.new(b'demo', base64.b64decode(ch), hashlib.md5).hexdigest()
out(p._shortcmd(base64.b64encode(('demo ' + d).encode()).decode())); p.quit()
p = poplib.POP3_SSL('127.0.0.1', int(sys.argv[2]), context=ctx)
out('POP3S', login(p)); p.quit()
PY
is($rc, 0, 'STLS, AUTH and pop3s sessions') or diag($err);
like($out, qr/^CAPA .*\bSTLS\b/m, 'CAPA offers STLS before TLS');
unlike($out, qr/^CAPA2 .*\bSTLS\b/m, 'and not after');
like($out, qr/^\+OK begin TLS negotiation/m, 'STLS accepted');
like($out, qr/^STAT 1 /m, 'USER/PASS inside TLS sees the maildrop');
is(scalar(() = $out =~ /^\+OK maildrop of demo has 1 messages/mg), 3, 'AUTH PLAIN and AUTH CRAM-MD5 log in');
like($out, qr/^POP3S \+OK maildrop of demo/m, 'pop3s: TLS on connect, then USER/PASS');
like($s->log_text, qr/sasl_method=CRAM-MD5, sasl_username=demo/, 'the CRAM-MD5 login is logged');

# --- refusals at login ---------------------------------------------------
($rc, $out) = py(<<'PY');
p = poplib.POP3('127.0.0.1', port)
try: login(p, 'acme', 'acme'); out('ACME ok')
except poplib.error_proto as e: out('ACME', e.args[0])
PY
like($out, qr/^ACME ok/m, 'acme logs in to its own maildrop');
$s->set_domains('other.example mode=hold owner=acme pop3=no');
is(($s->cli('reload'))[0], 0, 'sluice reload: other.example has pop3=no now');
ok(wait_for(sub {
	($rc, $out) = py(<<'PY');
p = poplib.POP3('127.0.0.1', port)
try: login(p, 'acme', 'acme'); out('ACME ok')
except poplib.error_proto as e: out('ACME', e.args[0])
PY
	$out =~ /^ACME -ERR \[SYS\/PERM\]/m }, 15), 'a customer with no pop3=yes domain: -ERR [SYS/PERM]') or diag($out);
done_testing;
