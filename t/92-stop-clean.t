# t/92-stop-clean.t - "sluice stop" with sessions open: every child exits
# cleanly (smtpd used to abort with "free(): invalid pointer" on every
# SIGTERM, freeing main()'s stack array of listeners: a core per stop).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use SluiceTest qw(smtp_connect smtp_xact wait_for);

my $s = SluiceTest->new(conf => { smtpd_process_limit => 2 });
$s->start;

# Sessions in several states: greeted only, in a transaction, after RCPT.
my @open;
for my $steps ([], ['EHLO a.sluice.test'],
    ['EHLO b.sluice.test', 'MAIL FROM:<a@sluice.test>', 'RCPT TO:<user@site.example>']) {
	my ($c, $code) = smtp_connect($s);
	is($code, 220, 'a session is open before the stop');
	smtp_xact($c, $_) for @$steps;
	push @open, $c;
}
ok($s->served, 'and a message is queued');

my $st = $s->stop;
is($st, 0, 'master exits with status 0');
my $log = $s->log_text;
unlike($log, qr/free\(\)|invalid pointer|double free|AddressSanitizer|abort/i,
    'no child aborts on the way out') or diag($log);
unlike($log, qr/(killed by signal|exit status \d+) while stopping/,
    'master saw every child exit cleanly') or diag($log);
my $disc = () = $log =~ /smtpd\[\d+\]: disconnect from /g;
cmp_ok($disc, '>=', 4, 'smtpd closed every session before it exited (a disconnect line each)');
like($log, qr/smtpd\[\d+\]: stop on signal 15/, 'smtpd logged the stop');
done_testing;
