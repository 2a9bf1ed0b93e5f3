# 51-smtpd-deadline: smtpd's timeouts are deadlines, not only idle
# timers. A client that trickles one octet at a time (never idle long
# enough for smtpd_timeout) is cut at smtpd_command_deadline on the SMTP
# port and on the submission port; one that sends whole NOOPs forever is
# cut at smtpd_session_deadline; one that trickles message content is
# cut at smtpd_data_deadline, and nothing is queued. An ordinary client
# is still served.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use SluiceTest qw(free_port wait_for);
use SlowClient qw(drip_until_closed);
use FingerProbe qw(wait_log);

my $subport = free_port();
my $s = SluiceTest->new(conf => {
	submission_listen => "127.0.0.1:$subport",
	# Idle limit well above the drip interval: only a deadline can act.
	smtpd_timeout => '20s',
	smtpd_command_deadline => '2s',
	smtpd_data_deadline => '2s',
	smtpd_session_deadline => '6s',
	smtpd_client_connection_limit => 50,
});
$s->start;

# A command line trickled an octet every 0.5s: 200 octets would take
# 100s, so a client that gets to its end was never cut.
for my $door (['SMTP', $s->port], ['submission', $subport]) {
	my ($name, $port) = @$door;
	my $c = SlowClient->new(port => $port,
	    text => 'EHLO ' . ('x' x 200) . "\r\n");
	ok($c, "$name: connected");
	drip_until_closed([$c], every => 0.5);
	ok($c->closed && !$c->finished,
	    "$name: the trickling client is cut before it finishes its line");
	like($c->got, qr/^421 4\.4\.2 .*timeout/m, "$name: with a 421 reply")
	    or diag($c->got);
}
ok(wait_log($s, qr/smtpd\[\d+\]: timeout after CONNECT from localhost\[127\.0\.0\.1\]: command deadline 2s exceeded/),
    'smtpd logs the command deadline');

# Whole commands, one every 0.3s: each line is quick and the client is
# never idle; only the session deadline ends it (100 NOOPs take 30s).
my $c = SlowClient->new(port => $s->port, unit => 'line',
    text => "EHLO client.sluice.test\r\n" . ("NOOP\r\n" x 100));
drip_until_closed([$c], every => 0.3);
ok($c->closed && !$c->finished, 'a client that keeps sending NOOPs is cut');
like($c->got, qr/(?:250 2\.0\.0 Ok\r\n)+421 4\.4\.2 [^\r\n]*\r\n\z/,
    'its NOOPs were answered, then 421') or diag($c->got);
ok(wait_log($s, qr/smtpd\[\d+\]: timeout after NOOP from localhost\[127\.0\.0\.1\]: session deadline 6s exceeded/),
    'smtpd logs the session deadline');

# Message content one short line every 0.3s: the DATA deadline.
$c = SlowClient->new(port => $s->port, unit => 'line',
    text => "EHLO client.sluice.test\r\nMAIL FROM:<slow\@sluice.test>\r\n"
    . "RCPT TO:<user\@site.example>\r\nDATA\r\nSubject: slow\r\n\r\n"
    . ("x\r\n" x 100) . ".\r\n");
drip_until_closed([$c], every => 0.3);
ok($c->closed && !$c->finished, 'a client that trickles its message is cut');
like($c->got, qr/^354 .*\r\n421 4\.4\.2 /ms, 'after the 354: 421') or diag($c->got);
ok(wait_log($s, qr/smtpd\[\d+\]: timeout after DATA from localhost\[127\.0\.0\.1\]: DATA deadline 2s exceeded/),
    'smtpd logs the DATA deadline');
is(scalar($s->queue_files), 0, 'nothing of the cut message is queued');

# A client that talks at a normal pace is not bothered.
my ($rc, $out) = $s->swaks('--to', 'user@site.example', '--from', 'sender@sluice.test');
is($rc, 0, 'an ordinary client still gets its message queued') or diag($out);
ok(wait_for(sub { scalar($s->queue_files) == 1 }, 20), 'and it is queued');

ok($s->child_pid('smtpd'), 'smtpd is still running');
$s->stop;
unlike($s->log_text, qr/runtime error|smtpd\[\d+\]: (?:panic|fatal)/,
    'no sanitizer report, panic or fatal line');
done_testing();
