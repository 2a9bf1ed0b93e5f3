# 24-pop3-stall: pop3 waits for qmgr in its event loop, never in a
# blocking call. With qmgr frozen (SIGSTOP) while one customer QUITs,
# another customer's session on the same pop3 still answers NOOP, STAT
# and CAPA before the first QUIT is answered (event order: the second
# answer arrives while the first has none); thawed, qmgr confirms the
# collect and it is journalled exactly once. A QUIT that qmgr does not
# answer in time says so, and qmgr, thawed later, does not journal the
# collect of a session that has gone: the message stays. A login while
# qmgr is frozen: -ERR [SYS/TEMP], the other session served meanwhile.
# Commands pipelined behind a login run once qmgr has answered it.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Select;
use Test::More;
use Odmr qw(queue_msg);
use Pop3 qw(pop3_instance pop3_connect pop3_cmd pop3_line pop3_multi);
use SluiceTest qw(wait_for);

my $o = pop3_instance();
my $s = $o->{s};
my $port = $o->{pop3_port};
$s->start;

my $id1 = queue_msg($s, 'alice@site.example', "Subject: one\r\n\r\nfor alice\r\n");
my $id2 = queue_msg($s, 'zed@other.example', "Subject: acme\r\n\r\nfor zed\r\n");
ok($id1 && $id2, 'a message for demo (site.example) and one for acme (other.example)');

# login PORT, USER - a session in TRANSACTION: (sock, the PASS reply)
sub login {
	my ($user) = @_;
	my ($c) = pop3_connect($port) or return;
	pop3_cmd($c, "USER $user");
	return ($c, pop3_cmd($c, "PASS $user") // '');
}

# count RE - how many log lines match
sub count { my ($re) = @_; return scalar(() = $s->log_text =~ /$re/g) }

# --- a QUIT held up by a frozen qmgr; the other session goes on ----------
my ($c1, $r1) = login('demo');
like($r1, qr/^\+OK maildrop of demo has 1 messages/, 'demo: 1 message');
like(pop3_cmd($c1, 'DELE 1'), qr/^\+OK/, 'demo: DELE 1');
my ($c2, $r2) = login('acme');
like($r2, qr/^\+OK maildrop of acme has 1 messages/, 'acme: 1 message, same pop3');

my $qmgr = $s->child_pid('qmgr');
ok($qmgr && kill('STOP', $qmgr), 'qmgr frozen (SIGSTOP)');
my $quits = count(qr/maildrop of user=demo from .*: QUIT: collect 1 deleted messages/);
print $c1 "QUIT\r\n";
ok(wait_for(sub { count(qr/maildrop of user=demo from .*: QUIT: collect 1 deleted messages/) > $quits }, 20),
    'pop3 took demo\'s QUIT and sent the collect to qmgr');
is(pop3_cmd($c2, 'NOOP'), '+OK', 'acme: NOOP answered while demo\'s QUIT waits for qmgr');
like(pop3_cmd($c2, 'STAT'), qr/^\+OK 1 \d+$/, 'acme: STAT answered too');
my ($capa, $lines) = pop3_multi($c2, 'CAPA');
ok($capa =~ /^\+OK/ && grep({ $_ eq 'UIDL' } @$lines), 'acme: CAPA answered too');
ok(!IO::Select->new($c1)->can_read(0), 'demo\'s QUIT has no answer yet: acme\'s came first');
ok(kill('CONT', $qmgr), 'qmgr thawed (SIGCONT)');
like(pop3_line($c1) // '', qr/^\+OK .* signing off \(1 messages collected\)$/,
    'demo\'s QUIT completes: 1 collected');
ok(wait_for(sub { !grep { $_ eq $id1 } $s->queue_list_ids }, 20), 'the message left the queue');
is(count(qr/\Q$id1\E: to=<alice\@site\.example>, relay=pop3, .*status=sent/), 1,
    'journalled and logged exactly once');
like(pop3_cmd($c2, 'QUIT'), qr/^\+OK .*\(0 messages collected\)/, 'acme quits, nothing deleted');
close $c1;
close $c2;

# --- commands pipelined behind a login wait for it, then run in order ----
($c1) = pop3_connect($port);
print $c1 "USER acme\r\nPASS acme\r\nSTAT\r\nUIDL 1\r\nQUIT\r\n";
my @got = map { pop3_line($c1) // '' } 1 .. 5;
like($got[1], qr/^\+OK maildrop of acme has 1 messages/, 'pipelined: the login');
like($got[2], qr/^\+OK 1 \d+$/, 'pipelined: STAT, run after the login\'s answer from qmgr');
is($got[3], "+OK 1 $id2-0", 'pipelined: UIDL 1');
like($got[4], qr/^\+OK .*\(0 messages collected\)$/, 'pipelined: QUIT');
close $c1;

# --- qmgr does not answer in time: nothing it did not confirm goes ------
my $id3 = queue_msg($s, 'bob@more.example', "Subject: three\r\n\r\nfor bob\r\n");
($c1, $r1) = login('demo');
like($r1, qr/^\+OK maildrop of demo has 1 messages/, 'demo: a new message');
pop3_cmd($c1, 'DELE 1');
ok(kill('STOP', $qmgr), 'qmgr frozen again');
like(pop3_cmd($c1, 'QUIT') // '',
    qr/^-ERR \[SYS\/TEMP\] some deleted messages not removed: 1 of 1 \(0 collected\); they stay in the maildrop$/,
    'QUIT past the deadline: -ERR [SYS/TEMP], nothing confirmed');
ok(kill('CONT', $qmgr), 'qmgr thawed');
ok(wait_for(sub { $s->log_text =~ /\Q$id3\E: refuse POP3 collection of recipient 0 for user=demo: the session has gone/ }, 20),
    'qmgr refuses the collect of the session that gave up');
($c1, $r1) = login('demo');
like($r1, qr/^\+OK maildrop of demo has 1 messages/, 'the next session has the message again');
pop3_cmd($c1, 'QUIT');
is(count(qr/\Q$id3\E: to=<[^>]*>, relay=/), 0, 'and nobody delivered it');

# --- a login while qmgr is frozen: -ERR [SYS/TEMP], the others go on -----
($c2, $r2) = login('acme');
like($r2, qr/^\+OK maildrop of acme has 1 messages/, 'acme logged in');
ok(kill('STOP', $qmgr), 'qmgr frozen');
($c1) = pop3_connect($port);
pop3_cmd($c1, 'USER demo');
print $c1 "PASS demo\r\n";
ok(wait_for(sub { $s->log_text =~ /sasl_method=USER, sasl_username=demo\n(?![\s\S]*maildrop of user=demo from)/ }, 20),
    'demo\'s password checked, the bind asked');
is(pop3_cmd($c2, 'NOOP'), '+OK', 'acme: NOOP answered while demo\'s login waits');
ok(!IO::Select->new($c1)->can_read(0), 'demo\'s login has no answer yet');
like(pop3_line($c1) // '', qr/^-ERR \[SYS\/TEMP\] maildrop unavailable now; try again later$/,
    'past the deadline: -ERR [SYS/TEMP]');
ok(kill('CONT', $qmgr), 'qmgr thawed');
is(pop3_cmd($c1, 'NOOP'), '-ERR command not valid in this state', 'demo stays in AUTHORIZATION');
pop3_cmd($c2, 'QUIT');
ok(wait_for(sub {
	my ($c, $r) = login('demo');
	pop3_cmd($c, 'QUIT') if $c;
	($r // '') =~ /^\+OK maildrop of demo has 1 messages/;
}, 30), 'and logs in once qmgr answers');
done_testing;
