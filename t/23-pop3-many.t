# 23-pop3-many: a maildrop larger than one session shows. With 1,005
# held messages, a login lists 1,000 (POP3_MSGS_MAX: the session's memory
# and the queue files read at login are bounded, whatever the backlog)
# and logs that more wait; the customer deletes all 1,000 in one
# pipelined burst and QUIT collects every one (the collects go to qmgr
# pipelined, each confirmed); the next session shows the other 5.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Pop3 qw(pop3_instance pop3_connect pop3_cmd pop3_line);
use SluiceTest qw(run_cmd wait_for);

my $BUILDDIR = $ENV{SLUICE_BUILDDIR} // 'build';
my $N = 1005;
my $o = pop3_instance();
my $s = $o->{s};

# Committed before qmgr starts (it indexes them at start), as smtpd would.
my ($rc, $out, $err) = run_cmd(["$BUILDDIR/t/queue_inject", '-n', $N, $s->qdir,
    'sender@origin.test', 'alice@site.example'],
    stdin => "Subject: many\r\n\r\none of many\r\n", timeout => 300);
my @ids = sort grep { /^[0-9A-F]{20}$/ } split /\n/, $out;
is(scalar(@ids), $N, "$N messages for site.example injected") or diag($err);
if ($> == 0) {
	my @pw = getpwnam('sluice');
	chown $pw[2], $pw[3], glob($s->qdir . '/msg/*/*') if @pw;
}
$s->start;
# qmgr answers while it reconciles the index with the spool at start (a
# slice at a time); a login before the end would list what it knows so far.
ok($s->wait_log(qr/reconciled the index with \S+: $N messages/, 120),
    "qmgr has indexed the $N at start");

# qmgr indexes the 1005 at start: until its sockets are up a login gets
# -ERR [SYS/TEMP] (and changes nothing), so try until one is answered +OK.
my ($c, $login);
ok(wait_for(sub {
	($c) = pop3_connect($o->{pop3_port}) or return 0;
	pop3_cmd($c, 'USER demo');
	$login = pop3_cmd($c, 'PASS demo') // '';
	return 1 if $login =~ /^\+OK/;
	close $c;
	return 0;
}, 60), 'demo logs in once qmgr is up') or diag($login);
like($login, qr/^\+OK maildrop of demo has 1000 messages/, 'the login lists 1000 of the 1005');
like($s->log_text, qr/maildrop of user=demo from .*: method=USER, domains=2, messages=1000, size=\d+, more waiting for the next session/,
    'and logs that more wait');
like(pop3_cmd($c, 'DELE 1001') // '', qr/^-ERR no such message/, 'message 1001 is not in this session');

# Every DELE and the QUIT in one write, as a pipelining client sends them.
print $c join('', map { "DELE $_\r\n" } 1 .. 1000), "QUIT\r\n";
my $dele = 0;
for (1 .. 1000) {
	my $l = pop3_line($c) // last;
	$dele++ if $l =~ /^\+OK message \d+ deleted$/;
}
is($dele, 1000, '1000 DELE answered +OK');
like(pop3_line($c) // '', qr/^\+OK .* signing off \(1000 messages collected\)$/,
    'QUIT: qmgr confirmed all 1000');
close $c;
my $sent = () = $s->log_text =~ /: to=<alice\@site\.example>, relay=pop3, .*status=sent/g;
is($sent, 1000, '1000 deliveries logged, once each');
ok(wait_for(sub { scalar($s->queue_list_ids) == 5 }, 30), '5 messages left in the queue');

($c) = pop3_connect($o->{pop3_port});
pop3_cmd($c, 'USER demo');
like(pop3_cmd($c, 'PASS demo') // '', qr/^\+OK maildrop of demo has 5 messages/,
    'the next session shows the other 5');
pop3_cmd($c, 'QUIT');
done_testing;
