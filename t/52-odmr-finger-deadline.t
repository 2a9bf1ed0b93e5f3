# 52-odmr-finger-deadline: the ODMR port and the finger port cut a
# client that trickles its words, however short the pauses between its
# octets: ODMR at odmr_command_deadline per command line and at
# odmr_session_deadline before the turn; finger at finger_timeout from
# connect. One address holds at most odmr_client_connection_limit ODMR
# sessions. Well-behaved clients are still served.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use SluiceTest qw(free_port wait_for smtp_connect smtp_xact);
use SlowClient qw(drip_until_closed);
use FingerProbe qw(finger_query finger_port_up wait_log);

my $oport = free_port();
my $fport = free_port();
my $s = SluiceTest->new(conf => {
	odmr_listen => "127.0.0.1:$oport",
	finger_listen => "127.0.0.1:$fport",
	# Idle limits well above the drip interval: only a deadline can act.
	odmr_timeout => '20s',
	odmr_command_deadline => '2s',
	odmr_session_deadline => '5s',
	odmr_client_connection_limit => 3,
	finger_timeout => '2s',
    },
    domains => ['site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no finger=yes']);
$s->start;
ok(finger_port_up($fport), 'fingerd listens');
ok(wait_for(sub { my ($c) = smtp_connect($oport); $c }, 20), 'etrn listens');

# --- ODMR: a command line trickled an octet every 0.5s ---
my $c = SlowClient->new(port => $oport, text => 'EHLO ' . ('x' x 200) . "\r\n");
drip_until_closed([$c], every => 0.5);
ok($c->closed && !$c->finished, 'ODMR: the trickling client is cut before its line ends');
like($c->got, qr/^220 .*\r\n421 4\.4\.2 /s, 'ODMR: greeting, then 421') or diag($c->got);
ok(wait_log($s, qr/etrn\[\d+\]: timeout after CONNECT from localhost\[127\.0\.0\.1\]: command deadline 2s exceeded/),
    'etrn logs the command deadline');

# --- ODMR: whole NOOPs, one every 0.3s, never idle: the session deadline ---
$c = SlowClient->new(port => $oport, unit => 'line',
    text => "EHLO client.sluice.test\r\n" . ("NOOP\r\n" x 100));
drip_until_closed([$c], every => 0.3);
ok($c->closed && !$c->finished, 'ODMR: a client that keeps sending NOOPs is cut');
like($c->got, qr/(?:250 2\.0\.0 [^\r\n]*\r\n)+421 4\.4\.2 [^\r\n]*\r\n\z/,
    'ODMR: its NOOPs were answered, then 421') or diag($c->got);
ok(wait_log($s, qr/etrn\[\d+\]: timeout after NOOP from localhost\[127\.0\.0\.1\]: session deadline 5s exceeded/),
    'etrn logs the session deadline');

# --- ODMR: three sessions from one address, then 421 ---
my @held = map { [smtp_connect($oport, local => '127.0.0.13')] } 1 .. 3;
is(scalar(grep { defined $_->[1] && $_->[1] == 220 } @held), 3,
    'ODMR: three sessions from one address are greeted');
my ($x, $xcode, $xtext) = smtp_connect($oport, local => '127.0.0.13');
is($xcode, 421, 'ODMR: a fourth from that address gets 421') or diag($xtext);
like($xtext // '', qr/^421 4\.7\.0 /, 'with 4.7.0');
ok(wait_log($s, qr/etrn\[\d+\]: warning: refuse connection from localhost\[127\.0\.0\.13\]: too many connections from this address/),
    'etrn logs the refusal');
my ($y, $ycode) = smtp_connect($oport, local => '127.0.0.14');
is($ycode, 220, 'ODMR: another address is still greeted');
close $_->[0] for grep { $_->[0] } @held, [$y];

# A quick client is still answered.
my ($q, $code) = smtp_connect($oport);
is($code, 220, 'ODMR: another client is greeted');
($code) = smtp_xact($q, 'QUIT');
is($code, 221, 'and its QUIT answered');

# --- finger: the query trickled an octet every 0.5s ---
$c = SlowClient->new(port => $fport, from => '127.0.0.11',
    text => ('x' x 100) . ".example\r\n");
drip_until_closed([$c], every => 0.5);
ok($c->closed && !$c->finished, 'finger: the trickling client is cut before its query ends');
is($c->got, '', 'finger: and gets no answer');
ok(wait_log($s, qr/fingerd\[\d+\]: timeout after connect from 127\.0\.0\.11: deadline 2s exceeded/),
    'fingerd logs the deadline');
like(finger_query($fport, "site.example\r\n", '127.0.0.12'), qr/^Domain: site\.example\r\n/,
    'finger: a quick client is answered');

ok($s->child_pid('etrn') && $s->child_pid('fingerd'), 'etrn and fingerd still run');
$s->stop;
unlike($s->log_text, qr/runtime error|(?:etrn|fingerd)\[\d+\]: (?:panic|fatal)/,
    'no sanitizer report, panic or fatal line');
done_testing();
