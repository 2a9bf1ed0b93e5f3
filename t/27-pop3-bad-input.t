# 27-pop3-bad-input: the POP3 door against bad input, as RFC 1939 and
# the other doors have it: a line past 255 octets (-ERR, the session
# goes on), unknown and malformed commands, commands in the wrong state,
# PASS before USER, too many bad lines (the session ends), passwords in
# the clear refused without TLS where the config says so, failed logins
# delayed and counted (auth_failure_limit ends the session) and the
# lockout of a login after auth_lockout_failures (even the right
# password is refused), a client that trickles a command past
# pop3_command_deadline, and the per-client connection limit. And what
# an attacker sends: TOP with a negative or ten-digit count, numbers past
# 2^32, doubled spaces, 8-bit octets; RETR and TOP of a message whose
# queue file vanished or was corrupted during the session (-ERR, the
# session goes on, QUIT still collects the rest); AUTH's "*", bad base64,
# a response past the line limit (the exchange ends there: the next line
# is a command again), an over-long mechanism name.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Odmr qw(queue_msg);
use Pop3 qw(pop3_instance pop3_connect pop3_cmd pop3_line pop3_multi);
use SluiceTest qw(wait_for);

my $o = pop3_instance(conf => { pop3_command_deadline => '2s',
    pop3_client_connection_limit => 3, auth_lockout_failures => 4 });
my $s = $o->{s};
my $port = $o->{pop3_port};
$s->start;

my ($c, $greet) = pop3_connect($port);
like($greet, qr/^\+OK \S+ POP3 maildrop server ready$/, 'greeting');
like(pop3_cmd($c, 'NOOP ' . ('x' x 300)), qr/^-ERR command line too long/, 'a 300-octet line: -ERR');
my ($st, $capa) = pop3_multi($c, 'CAPA');
like($st, qr/^\+OK/, 'the session goes on after it: CAPA');
ok((grep { $_ eq 'UIDL' } @$capa) && (grep { $_ eq 'TOP' } @$capa) &&
    (grep { /^SASL .*CRAM-MD5/ } @$capa) && (grep { $_ eq 'USER' } @$capa),
    'CAPA lists UIDL, TOP, SASL with CRAM-MD5, USER (loopback)');
like(pop3_cmd($c, 'XYZZ'), qr/^-ERR unknown command/, 'an unknown command: -ERR');
like(pop3_cmd($c, 'XYZZY'), qr/^-ERR malformed command/, 'a five-letter verb: malformed');
like(pop3_cmd($c, "NO\tOP"), qr/^-ERR malformed command/, 'a malformed command: -ERR');
like(pop3_cmd($c, 'STAT'), qr/^-ERR command not valid in this state/, 'STAT before login: wrong state');
like(pop3_cmd($c, 'RETR 1'), qr/^-ERR command not valid in this state/, 'RETR before login: wrong state');
like(pop3_cmd($c, 'PASS demo'), qr/^-ERR USER first/, 'PASS before USER: -ERR');
like(pop3_cmd($c, 'USER'), qr/^-ERR syntax: USER name/, 'USER without a name: syntax');
like(pop3_cmd($c, 'user demo'), qr/^\+OK/, 'user demo (any case)');
like(pop3_cmd($c, 'PASS demo'), qr/^\+OK maildrop of demo has 0 messages/, 'PASS: logged in');
like(pop3_cmd($c, 'USER demo'), qr/^-ERR command not valid in this state/, 'USER after login: wrong state');
like(pop3_cmd($c, 'STLS'), qr/^-ERR command not valid in this state/, 'STLS after login: wrong state');
like(pop3_cmd($c, 'RETR 1'), qr/^-ERR no such message/, 'RETR of a message that is not there');
like(pop3_cmd($c, 'RETR x'), qr/^-ERR no such message/, 'RETR x');
like(pop3_cmd($c, 'TOP 1'), qr/^-ERR syntax: TOP msg n/, 'TOP without n');
like(pop3_cmd($c, 'DELE 99999999999999'), qr/^-ERR no such message/, 'DELE of a huge number');
like(pop3_cmd($c, 'QUIT'), qr/^\+OK .*signing off/, 'QUIT');
close $c;

# --- every argument as an attacker writes it; queue files that change -----
# under a session: the session answers -ERR and goes on.
my @v = map { queue_msg($s, "$_\@site.example", "Subject: $_\r\n\r\nbody 1\r\nbody 2\r\n") }
    qw(alice bob carol);
is(scalar(grep { defined } @v), 3, 'three messages for demo');
($c) = pop3_connect($port);
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo'), qr/^\+OK maildrop of demo has 3 messages/, 'demo sees them');
like(pop3_cmd($c, 'TOP 1 -1'), qr/^-ERR syntax: TOP msg n/, 'TOP 1 -1: syntax');
like(pop3_cmd($c, 'TOP -1 0'), qr/^-ERR no such message/, 'TOP -1 0: no such message');
like(pop3_cmd($c, 'TOP 1 1000000000'), qr/^-ERR syntax: TOP msg n/, 'TOP 1 with ten digits: syntax');
($st, my $body) = pop3_multi($c, 'TOP 1 999999999');
ok($st =~ /^\+OK/ && $body->[-1] eq 'body 2', 'TOP 1 999999999: the whole message');
like(pop3_cmd($c, 'RETR 0'), qr/^-ERR no such message/, 'RETR 0');
like(pop3_cmd($c, 'RETR 1 2'), qr/^-ERR syntax: RETR msg/, 'RETR 1 2: syntax');
like(pop3_cmd($c, 'LIST 4294967297'), qr/^-ERR no such message/, 'LIST 2^32+1');
like(pop3_cmd($c, 'UIDL  1'), qr/^-ERR syntax: UIDL/, 'UIDL with two spaces: syntax');
like(pop3_cmd($c, "DELE 1\x{ff}"), qr/^-ERR malformed command/, 'an 8-bit octet: malformed');
unlink $s->queue_file_path($v[1]) or die "unlink: $!\n";
like(pop3_cmd($c, 'RETR 2'), qr/^-ERR \[SYS\/TEMP\] message 2 is no longer available/,
    'RETR of a message whose queue file vanished: -ERR');
my $path = $s->queue_file_path($v[2]);
open(my $fh, '+<', $path) or die "$path: $!\n";
print $fh "garbage\n" x 4;
close $fh;
like(pop3_cmd($c, 'TOP 3 0'), qr/^-ERR \[SYS\/TEMP\] message 3 is no longer available/,
    'TOP of a message whose queue file is corrupt: -ERR');
is(pop3_cmd($c, 'NOOP'), '+OK', 'the session goes on');
($st, $body) = pop3_multi($c, 'RETR 1');
ok($st =~ /^\+OK/ && $body->[-1] eq 'body 2', 'and RETR 1 still works');
like(pop3_cmd($c, 'DELE 1'), qr/^\+OK/, 'DELE 1');
like(pop3_cmd($c, 'DELE 2'), qr/^\+OK/, 'DELE 2 (its file vanished)');
like(pop3_cmd($c, 'QUIT'), qr/^\+OK .*\(1 messages collected\)/,
    'QUIT collects the first; the vanished one was nobody\'s to collect');
close $c;

# --- AUTH continuation lines: "*", bad base64, a line too long -------------
($c) = pop3_connect($port);
is(pop3_cmd($c, 'AUTH PLAIN'), '+ ', 'AUTH PLAIN: an empty challenge');
like(pop3_cmd($c, '*'), qr/^-ERR authentication aborted/, '"*" cancels the exchange');
is(pop3_cmd($c, 'AUTH PLAIN'), '+ ', 'AUTH PLAIN again');
like(pop3_cmd($c, '!!not base64!!'), qr/^-ERR invalid base64 data/, 'bad base64: -ERR');
is(pop3_cmd($c, 'AUTH PLAIN'), '+ ', 'AUTH PLAIN once more');
like(pop3_cmd($c, 'A' x 20000), qr/^-ERR command line too long/, 'a 20000-octet response: -ERR');
($st) = pop3_multi($c, 'CAPA');
like($st, qr/^\+OK capability list follows/,
    'and the exchange is over: the next line is a command');
like(pop3_cmd($c, 'AUTH ' . ('X' x 40)), qr/^-ERR unrecognized authentication mechanism/,
    'a 40-letter mechanism: -ERR');
like(pop3_cmd($c, 'AUTH PLAIN ='), qr/^-ERR invalid base64 data/,
    'AUTH PLAIN with an empty initial response ("="): malformed, -ERR');
($st) = pop3_multi($c, 'CAPA');
like($st, qr/^\+OK/, 'the session goes on');
close $c;

# --- too many bad lines end the session ----------------------------------
($c) = pop3_connect($port);
my @r = map { pop3_cmd($c, "BOGUS$_") } 1 .. 9;
is(scalar(grep { /^-ERR/ } @r), 9, 'nine bad commands: -ERR each');
like(pop3_cmd($c, 'BOGUS'), qr/^-ERR/, 'the tenth');
like(pop3_line($c), qr/^-ERR too many bad commands; closing connection/, 'then the session ends');
is(pop3_line($c), undef, 'and the connection is closed');
ok(wait_for(sub { $s->log_text =~ /too many bad commands from localhost\[127\.0\.0\.1\]: 10; disconnecting/ }, 10),
    'logged');

# --- failed logins: delayed, counted, the session ends --------------------
($c) = pop3_connect($port);
for my $i (1 .. 2) {
	pop3_cmd($c, 'USER demo');
	like(pop3_cmd($c, 'PASS wrong'), qr/^-ERR \[AUTH\] authentication failed/, "wrong password $i: -ERR [AUTH]");
}
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS wrong'), qr/^-ERR \[AUTH\] authentication failed/, 'wrong password 3');
like(pop3_line($c), qr/^-ERR \[AUTH\] too many failed authentication attempts/, 'auth_failure_limit (3): the session ends');
is(pop3_line($c), undef, 'connection closed');
like($s->log_text, qr/pop3\[\d+\]: warning: localhost\[127\.0\.0\.1\]: SASL USER authentication failed: authentication failure, sasl_username=demo/,
    'each failure logged in the shape fail2ban reads');

# --- lockout: one more failure locks demo; the right password is refused --
($c) = pop3_connect($port);
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS wrong'), qr/^-ERR \[AUTH\]/, 'fourth failure of demo');
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo'), qr/^-ERR \[AUTH\] authentication failed/, 'the right password now: refused (locked out)');
ok(wait_for(sub { $s->log_text =~ /SASL USER authentication failed: login locked out, sasl_username=demo/ }, 10),
    'logged as a lockout');
close $c;
($c) = pop3_connect($port);
pop3_cmd($c, 'USER acme');
like(pop3_cmd($c, 'PASS acme'), qr/^\+OK maildrop of acme/, 'another customer is not locked out');
pop3_cmd($c, 'QUIT');
close $c;

# --- plaintext refused without TLS where the config says so ---------------
$s->set_conf(pop3_plaintext_loopback => 'no');
$s->cli('reload');
ok(wait_for(sub {
	my ($c2) = pop3_connect($port);
	my $r = $c2 ? pop3_cmd($c2, 'USER acme') : '';
	$r =~ /^-ERR \[AUTH\] plaintext passwords need TLS first/;
}, 15), 'pop3_plaintext_loopback = no: USER needs STLS first');
($c) = pop3_connect($port);
($st, $capa) = pop3_multi($c, 'CAPA');
ok(!(grep { $_ eq 'USER' } @$capa) && (grep { $_ eq 'SASL CRAM-MD5' } @$capa) && (grep { $_ eq 'STLS' } @$capa),
    'CAPA: no USER, SASL CRAM-MD5 only, STLS');
like(pop3_cmd($c, 'AUTH PLAIN AGFjbWUAYWNtZQ=='), qr/^-ERR \[AUTH\] plaintext passwords need TLS/, 'AUTH PLAIN in the clear: refused');
close $c;

# --- a command trickled past pop3_command_deadline -----------------------
($c) = pop3_connect($port);
print $c 'NO';
$c->flush;
like(pop3_line($c), qr/^-ERR \[SYS\/TEMP\] timeout; closing connection/, 'a trickled command: -ERR [SYS/TEMP] timeout');
ok(wait_for(sub { $s->log_text =~ /pop3\[\d+\]: timeout after CONNECT from localhost\[127\.0\.0\.1\]: command deadline 2s exceeded/ }, 10),
    'logged: command deadline exceeded');
close $c;

# --- the per-client connection limit ------------------------------------
my @held = map { (pop3_connect($port))[0] } 1 .. 3;
my ($c4, $g4) = pop3_connect($port);
like($g4, qr/^-ERR \[SYS\/TEMP\] too many connections/, 'a fourth connection from one address: refused');
ok(wait_for(sub { $s->log_text =~ /pop3\[\d+\]: warning: .*too many connections from this address/ }, 10),
    'logged as the other doors log it');
close $_ for @held;
done_testing;
