# 96-smtpd-limits: smtpd's connection limits as the serving skeleton
# (lib/mail/daemon_server.c) applies them: smtpd_client_connection_limit
# per client address with its 421 naming the address, mynetworks exempt
# from it, smtpd_connection_limit for all, each refusal logged with the
# client, and a session's end freeing its slot.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use SluiceTest qw(smtp_connect);
use FingerProbe qw(wait_log);

my $s = SluiceTest->new(conf => {
	smtpd_client_connection_limit => 2,
	smtpd_connection_limit => 6,
	mynetworks => '127.0.0.5/32',
});
$s->start;

my @keep;
# greeted FROM - a session from the loopback address FROM, kept open
sub greeted {
	my ($from) = @_;
	my ($c, $code, $text) = smtp_connect($s, local => $from);
	push @keep, $c if $c;
	return ($code // 0, $text // '');
}

is((greeted('127.0.0.3'))[0], 220, "first session from 127.0.0.3: 220");
is((greeted('127.0.0.3'))[0], 220, "second: 220");
my ($code, $text) = greeted('127.0.0.3');
is($code, 421, 'third from that address: 421');
like($text, qr/^421 4\.7\.0 Error: too many connections from 127\.0\.0\.3\r?$/m,
    'naming the address') or diag($text);
ok(wait_log($s, qr/smtpd\[\d+\]: warning: refuse connection from localhost\[127\.0\.0\.3\]: too many connections from this address/),
    'the refusal is logged with the client') or diag($s->log_text);
is((greeted('127.0.0.4'))[0], 220, 'another address is still served');
is((greeted('127.0.0.5'))[0], 220, "mynetworks: first");
is((greeted('127.0.0.5'))[0], 220, "mynetworks: second");
is((greeted('127.0.0.5'))[0], 220, "mynetworks: third, past the per-client limit");

# Six sessions now (two of .3 were kept, one refused): the process is full.
($code, $text) = greeted('127.0.0.6');
is($code, 421, 'a seventh session: 421');
like($text, qr/^421 4\.7\.0 Error: too many connections\r?$/m,
    'too many connections') or diag($text);
ok(wait_log($s, qr/smtpd\[\d+\]: warning: refuse connection from localhost\[127\.0\.0\.6\]: too many connections$/m),
    'logged as such') or diag($s->log_text);

# A session that ends gives its slot back, counted per address too.
my $first = shift @keep;
print $first "QUIT\r\n";
1 while <$first>;
close $first;
ok(wait_log($s, qr/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.3\]/),
    'one session of 127.0.0.3 ends');
is((greeted('127.0.0.3'))[0], 220, 'then 127.0.0.3 is served again');
close $_ for @keep;
$s->stop;
unlike($s->log_text, qr/runtime error|smtpd\[\d+\]: (?:panic|fatal)/,
    'no sanitizer report, panic or fatal line');
done_testing();
