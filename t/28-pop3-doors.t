# 28-pop3-doors: a POP3 session and the other doors at the same time
# never deliver a message twice. While demo's POP3 session holds
# site.example, a flush and an ETRN of it open its gate but nothing goes
# to the site (a flush of another domain, not held, is delivered
# meanwhile: that is the event waited for), an ATRN for it is answered
# busy and a second POP3 login of demo -ERR [IN-USE]. QUIT without DELE
# lets the released mail go, once. A qmgr that restarts during a
# session has dropped the bind: QUIT then deletes nothing and says so.
# A domain that a reload gives to another owner during a session is no
# longer served to the old one (RETR -ERR) nor collected for it (qmgr
# refuses); the new owner's next session has it. A maildrop bind that
# names no domain is refused.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_SEQPACKET);
use Test::More;
use Odmr qw(queue_msg sink_start sink_stop sink_messages cram_login);
use Pop3 qw(pop3_instance pop3_connect pop3_cmd pop3_line pop3_multi);
use SluiceTest qw(wait_for smtp_connect smtp_xact);

my $dir = tempdir('pop3-doors-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $sink = sink_start("$dir/sink");
my $o = pop3_instance(sink => $sink->{port});
my $s = $o->{s};
$s->start;

my $held = queue_msg($s, 'alice@site.example', "Subject: held\r\n\r\nfor alice\r\n");
my $other = queue_msg($s, 'carol@nopop.example', "Subject: nopop\r\n\r\nfor carol\r\n");
ok($held && $other, 'one message for site.example (pop3=yes), one for nopop.example');

my ($c) = pop3_connect($o->{pop3_port});
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo'), qr/^\+OK maildrop of demo has 1 messages/, 'demo opens its maildrop');

# The other doors, while the session holds site.example.
my ($rc, $out, $err) = $s->cli('flush', 'site.example');
is($rc, 0, 'sluice flush site.example: accepted') or diag($err);
my ($e) = smtp_connect($s);
smtp_xact($e, 'EHLO client.test');
my ($code) = smtp_xact($e, 'ETRN site.example');
like($code, qr/^25/, 'ETRN site.example: accepted');
smtp_xact($e, 'QUIT');
($rc) = $s->cli('flush', 'nopop.example');
is($rc, 0, 'sluice flush nopop.example');
ok(wait_for(sub { my @m = sink_messages($sink); @m >= 1 }, 30), 'the nopop.example message reached the site');
my @m = sink_messages($sink);
is(scalar(@m), 1, 'one message at the site');
like($m[0] // '', qr/Subject: nopop/, 'and it is not the one the POP3 session holds');
like($s->log_text, qr/\Q$held\E/, 'sanity: the held message is in the log');
unlike($s->log_text, qr/\Q$held\E: to=<alice\@site\.example>, relay=(?!pop3)/, 'site.example delivered by nobody');

($rc, $out) = $s->cli('queue', 'summary');
like($out, qr/site\.example.*POP3 session/, 'queue summary: site.example held by the POP3 session') or diag($out);

my ($c2, $g2) = pop3_connect($o->{pop3_port});
pop3_cmd($c2, 'USER demo');
like(pop3_cmd($c2, 'PASS demo'), qr/^-ERR \[IN-USE\] the maildrop of demo is in use: site\.example: busy/,
    'a second POP3 login of demo: -ERR [IN-USE]');
like(pop3_cmd($c2, 'QUIT'), qr/^\+OK/, 'that session can still QUIT');
close $c2;

my ($a) = smtp_connect($o->{port});
smtp_xact($a, 'EHLO site.test');
my ($ac) = cram_login($a, 'demo', 'demo');
is($ac, 235, 'ODMR login of demo');
my ($atrn, $atext) = smtp_xact($a, 'ATRN site.example');
is($atrn, 450, 'ATRN site.example while POP3 holds it: 450');
like($atext, qr/site\.example is being served by another session/, "ATRN's busy answer");
close $a;

my ($st, $lines) = pop3_multi($c, 'UIDL');
is_deeply($lines, ["1 $held-0"], 'the session still has its message');
like(pop3_cmd($c, 'QUIT'), qr/^\+OK .*\(0 messages collected\)/, 'QUIT without DELE');
close $c;
ok(wait_for(sub { $s->log_text =~ /\Q$held\E: to=<alice\@site\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent/ }, 30),
    'the released message goes to the site once the session ends');
@m = sink_messages($sink);
is(scalar(grep { /Subject: held/ } @m), 1, 'exactly once');
unlike($s->log_text, qr/relay=pop3/, 'and never as collected by POP3');

# --- qmgr restarts during a session: QUIT deletes nothing -----------------
my $late = queue_msg($s, 'bob@more.example', "Subject: more\r\n\r\nfor bob\r\n");
($c) = pop3_connect($o->{pop3_port});
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo'), qr/^\+OK maildrop of demo has 1 messages/, 'a new session with the more.example message');
like(pop3_cmd($c, 'DELE 1'), qr/^\+OK/, 'DELE 1');
my $qmgr = $s->child_pid('qmgr');
ok($qmgr && kill('KILL', $qmgr), 'qmgr killed');
ok(wait_for(sub { $s->log_text =~ /maildrop of demo: qmgr closed the bind; this session deletes nothing/ }, 20),
    'pop3 sees the bind gone');
ok(wait_for(sub { my $p = $s->child_pid('qmgr'); $p && $p != $qmgr }, 30), 'master restarted qmgr');
like(pop3_cmd($c, 'QUIT'), qr/^-ERR \[SYS\/TEMP\] some deleted messages not removed: 1 of 1 \(0 collected\)/, 'QUIT: -ERR, nothing removed');
close $c;
ok(wait_for(sub { grep { $_ eq $late } $s->queue_list_ids }, 20), 'the message is still queued');
unlike($s->log_text, qr/\Q$late\E: to=<[^>]*>, relay=/, 'and was delivered by nobody');
($c) = pop3_connect($o->{pop3_port});
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo'), qr/^\+OK maildrop of demo has 1 messages/, 'the next session has it again');
pop3_cmd($c, 'DELE 1');
like(pop3_cmd($c, 'QUIT'), qr/^\+OK .*\(1 messages collected\)/, 'and collects it');
ok(wait_for(sub { $s->log_text =~ /\Q$late\E: to=<bob\@more\.example>, relay=pop3, .*status=sent/ }, 10), 'logged once as collected');

# --- pop3 itself dies during a session: qmgr frees the domains ------------
my $late2 = queue_msg($s, 'bob@more.example', "Subject: crash\r\n\r\nfor bob\r\n");
($c) = pop3_connect($o->{pop3_port});
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo'), qr/^\+OK maildrop of demo has 1 messages/, 'a session holds more.example again');
pop3_cmd($c, 'DELE 1');
my $closed = () = $s->log_text =~ /more\.example: POP3 maildrop closed/g;
my $pop3 = $s->child_pid('pop3');
ok($pop3 && kill('KILL', $pop3), 'pop3 killed mid-session');
ok(wait_for(sub { (() = $s->log_text =~ /more\.example: POP3 maildrop closed/g) > $closed }, 20),
    'qmgr sees the bind close and frees the domains');
ok(wait_for(sub { my $p = $s->child_pid('pop3'); $p && $p != $pop3 }, 30), 'master restarted pop3');
ok(wait_for(sub {
	my ($c3) = pop3_connect($o->{pop3_port}) or return 0;
	pop3_cmd($c3, 'USER demo');
	my $r = pop3_cmd($c3, 'PASS demo') // '';
	pop3_cmd($c3, 'QUIT');
	$r =~ /^\+OK maildrop of demo has 1 messages/;
}, 30), 'the next login has the message: the DELE before the crash deleted nothing');
unlike($s->log_text, qr/\Q$late2\E: to=/, 'and nobody delivered it');

# --- a reload gives a domain to another owner during a session -----------
my $moved = queue_msg($s, 'erin@more.example', "Subject: moved\r\n\r\nfor erin\r\n");
($c) = pop3_connect($o->{pop3_port});
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo'), qr/^\+OK maildrop of demo has 2 messages/, 'demo: the crash survivor and a new one');
my ($st, $uidl) = pop3_multi($c, 'UIDL');
my ($k) = map { /^(\d+) \Q$moved\E-0$/ ? $1 : () } @$uidl;
ok($k, "message $k is the new one");
my $reloads = () = $s->log_text =~ /(?:qmgr|pop3)\[\d+\]: reload configuration/g;
$s->set_domains(map { "$_->[0] mode=hold route=[127.0.0.1]:$sink->{port} probe=no owner=$_->[1] pop3=$_->[2]" }
    ['site.example', 'demo', 'yes'], ['more.example', 'acme', 'yes'],
    ['nopop.example', 'demo', 'no'], ['other.example', 'acme', 'yes']);
is(($s->cli('reload'))[0], 0, 'sluice reload: more.example belongs to acme now');
ok(wait_for(sub { (() = $s->log_text =~ /(?:qmgr|pop3)\[\d+\]: reload configuration/g) >= $reloads + 2 }, 20),
    'qmgr and pop3 reloaded');
like(pop3_cmd($c, "RETR $k"), qr/^-ERR \[SYS\/TEMP\] message $k is no longer available/,
    'RETR of a message of a domain demo no longer owns: -ERR');
like($s->log_text, qr/\Q$moved\E: refuse RETR of <erin\@more\.example> to user=demo: the domain is no longer its pop3=yes domain/,
    'logged');
like(pop3_cmd($c, "DELE $k"), qr/^\+OK/, 'DELE of it');
like(pop3_cmd($c, 'QUIT'), qr/^-ERR \[SYS\/TEMP\] some deleted messages not removed: 1 of 1 \(0 collected\)/,
    'QUIT: qmgr refuses to collect it for demo');
like($s->log_text, qr/\Q$moved\E: refuse POP3 collection of <erin\@more\.example> for user=demo: the domain is no longer collected by this user/,
    'qmgr logs why');
close $c;
ok(wait_for(sub {
	my ($c3) = pop3_connect($o->{pop3_port}) or return 0;
	pop3_cmd($c3, 'USER acme');
	my $r = pop3_cmd($c3, 'PASS acme') // '';
	my ($st3, $u3) = pop3_multi($c3, 'UIDL');
	pop3_cmd($c3, 'QUIT');
	$r =~ /^\+OK/ && grep { /\Q$moved\E-0$/ } @$u3;
}, 20), 'the new owner acme has it in its maildrop');
unlike($s->log_text, qr/\Q$moved\E: to=/, 'and nobody delivered it');
# --- qmgr refuses a maildrop bind that names no domain -------------------
# (An agent bound to nothing would be handed anyone's jobs.) As pop3
# would, on private/deliver: a hello with bind="," only.
my $sock = IO::Socket::UNIX->new(Type => SOCK_SEQPACKET, Peer => $s->qdir . '/private/deliver')
    or die "connect private/deliver: $!\n";
$sock->send("type=hello\nslots=1\nbind=,\nuser=demo\nmaildrop=1\n");
my $answer = '';
IO::Select->new($sock)->can_read(20) and $sock->recv($answer, 65536);
like($answer, qr/^type=busy\n(?:.*\n)*reason=no domain named\n/, 'a bind of no domain: type=busy');
close $sock;
sink_stop($sink);
done_testing;
