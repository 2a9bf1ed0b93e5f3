# 97-odmrs-limit: odmr_client_connection_limit counts plain (odmr) and
# TLS-on-connect (odmrs) sessions of one address together, and a
# refusal on odmrs is silent: its client expects a TLS handshake, not a
# 421 in the clear, so the connection is just closed (and logged).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use IO::Socket::SSL;
use Test::More;

use SluiceTest qw(smtp_connect smtp_reply);
use FingerProbe qw(wait_log);
use Odmr qw(odmr_instance);

my $o = odmr_instance(odmrs => 1, conf => { odmr_client_connection_limit => 2 });
my $s = $o->{s};
$s->start;

my ($plain, $code) = smtp_connect($o->{port}, local => '127.0.0.21');
is($code, 220, 'odmr: a plain session from 127.0.0.21');
my $tls = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $o->{sport},
    LocalAddr => '127.0.0.21', SSL_verify_mode => SSL_VERIFY_NONE, Timeout => 10);
ok($tls, 'odmrs: a TLS session from the same address')
    or diag($IO::Socket::SSL::SSL_ERROR);
($code) = $tls ? smtp_reply($tls) : ();
is($code, 220, 'odmrs: greeted after the handshake');

# A third, on odmrs: closed without a byte.
my $raw = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $o->{sport},
    LocalAddr => '127.0.0.21', Proto => 'tcp', Timeout => 10);
ok($raw, 'odmrs: a third connection is accepted by the kernel');
my $got = '';
if ($raw) {
	$raw->blocking(1);
	local $SIG{ALRM} = sub { die "timeout\n" };
	alarm 10;
	eval { 1 while sysread($raw, my $b, 512) && ($got .= $b) };
	alarm 0;
}
is($got, '', 'and closed without a word in the clear');
ok(wait_log($s, qr/etrn\[\d+\]: warning: refuse connection from localhost\[127\.0\.0\.21\]: too many connections from this address/),
    'the refusal is logged') or diag($s->log_text);

# A third, on odmr: the 421.
my ($x, $xcode, $xtext) = smtp_connect($o->{port}, local => '127.0.0.21');
is($xcode, 421, 'odmr: a third from that address gets 421') or diag($xtext);
close $_ for grep { defined } $plain, $tls, $raw, $x;
$s->stop;
unlike($s->log_text, qr/runtime error|etrn\[\d+\]: (?:panic|fatal)/,
    'no sanitizer report, panic or fatal line');
done_testing();
