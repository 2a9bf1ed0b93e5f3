# 95-many-listeners: master hands every configured listener to its
# server, however many there are. It once kept them in an int[64] and
# silently dropped the 65th and later: here fingerd gets 70 sockets (one
# port on 70 loopback addresses) and every one of them answers, the
# last as the first; smtpd gets 66, pop3 gets 66 (the 66th greets
# +OK), and "sluice status" sees them all.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;

use SluiceTest qw(free_port);
use FingerProbe qw(finger_query finger_port_up wait_log);

my $n = 70;
my $fport = free_port();
my $sport = free_port();
my @fingers = map { "127.0.1.$_:$fport" } 1 .. $n;
my @smtps = map { "127.0.2.$_:$sport" } 1 .. 65;
my $pport = free_port();
my @pop3s = map { "127.0.3.$_:$pport" } 1 .. 66;
my $port = free_port();
my $s = SluiceTest->new(conf => {
	finger_listen => join(' ', @fingers),
	smtp_listen => join(' ', "127.0.0.1:$port", @smtps),
	pop3_listen => join(' ', @pop3s),
});
# start() waits for the greeting on the test's SMTP port: ours.
$s->{port} = $port;
$s->start;
ok(wait_log($s, qr/fingerd\[\d+\]: daemon started -- $n listening sockets/),
    "fingerd got all $n listening sockets") or diag($s->log_text);
ok(wait_log($s, qr/smtpd\[\d+\]: daemon started -- [^,]*, 66 listening sockets/),
    'smtpd got all 66') or diag($s->log_text);
ok(wait_log($s, qr/pop3\[\d+\]: daemon started -- [^,]*, 66 listening sockets/),
    'pop3 got all 66') or diag($s->log_text);
for my $i (1, 64, 65, $n) {
	my $addr = "127.0.1.$i";
	my $c = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $fport,
	    Proto => 'tcp', Timeout => 10);
	ok($c, "finger listener $i ($addr:$fport) accepts") or next;
	print $c "\r\n";
	local $/;
	my $got = <$c> // '';
	like($got, qr/^This is the sluice mail relay's finger service/,
	    "finger listener $i answers");
}
my $c = IO::Socket::INET->new(PeerAddr => '127.0.2.65', PeerPort => $sport,
    Proto => 'tcp', Timeout => 10);
my $line = $c ? <$c> : undef;
like($line // '', qr/^220 /, 'the 66th smtp listener greets');
$c = IO::Socket::INET->new(PeerAddr => '127.0.3.66', PeerPort => $pport,
    Proto => 'tcp', Timeout => 10);
$line = $c ? <$c> : undef;
like($line // '', qr/^\+OK .*POP3 maildrop server ready/, 'the 66th pop3 listener greets');
my ($st, $out, $err) = $s->cli('status');
is($st, 0, 'sluice status: running') or diag($err);
my @up = $out =~ /^(?:smtp|finger|pop3)_listen: \S+ listening$/mg;
is(scalar @up, 66 + $n + 66, 'sluice status: every listener listening') or diag($out);
like($out, qr/^finger_listen: 127\.0\.1\.$n:$fport listening$/m,
    'the last finger listener is named with its address');
$s->stop;
unlike($s->log_text, qr/(?:master|fingerd|smtpd|pop3)\[\d+\]: (?:panic|fatal)/,
    'no panic or fatal line');
done_testing();
