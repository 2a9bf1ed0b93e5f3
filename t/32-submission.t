# t/32-submission.t - the submission port: customers written with
# `sluice passwd` log in with swaks (AUTH PLAIN and LOGIN, only after
# STARTTLS) and relay to any domain (queued for delivery by MX); without
# AUTH, before STARTTLS and with a wrong password they are refused; the
# SMTP port still refuses relaying from loopback unless
# smtpd_relay_networks says otherwise; ETRN by an authenticated owner.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time);

use FakeDNS;
use SluiceTest qw(tool free_port wait_for run_cmd smtp_connect smtp_xact
    smtp_reply);
use Smtpd2 qw(add_login tls_session log_lines sink_up sink_down sink_files
    sink_content);

# The Internet, for mail relayed by MX: elsewhere.example's MX is an
# smtp-sink on loopback, found through a DNS server of our own.
# has_domain MESSAGE, DOMAIN - has a message of queue list --json mail for DOMAIN?
sub has_domain { my ($m, $d) = @_; return grep { $_->{domain} eq $d } @{ $m->{domains} || [] } }

my $sub = free_port();
my $sink_port = free_port();
my $dns = FakeDNS->start(
    'elsewhere.example' => ['MX 10 mx.elsewhere.example'],
    'mx.elsewhere.example' => ['A 127.0.0.1']);
my $s = SluiceTest->new(
    conf => {
	submission_listen => "127.0.0.1:$sub",
	auth_failure_delay => '1s',
	auth_failure_limit => 3,
	dns_servers => '127.0.0.1:' . $dns->port,
	smtp_mx_port => $sink_port,
	minimal_backoff_time => '1s',
	maximal_backoff_time => '2s',
    },
    domains => [
	'site.example mode=hold route=[127.0.0.1]:9 probe=no owner=demo etrn_from=192.0.2.0/24',
    ]);

my ($st, $out) = add_login($s, 'demo', 'demo');
is($st, 0, 'sluice passwd demo (password on stdin)') or diag $out;
like($out, qr/added a password of demo/, 'it says what it did');
($st, $out) = add_login($s, 'other', 'secret');
is($st, 0, 'a second customer');
my $pw = SluiceTest::slurp($s->confdir . '/passwd');
like($pw, qr/^demo:\$y\$[^:]+:[0-9a-f]{64}$/m, 'passwd line: yescrypt hash and CRAM-MD5 secret');
unlike($pw, qr/:demo\b|secret/, 'no plaintext password in the file');
is((stat($s->confdir . '/passwd'))[2] & 07777, 0640, 'passwd file mode 0640');
$s->start;

# submit ARGS - swaks against the submission port: (exit status, output)
sub submit {
	my ($rc, $o, $e) = run_cmd([tool('swaks'), '--server', '127.0.0.1',
	    '--port', $sub, '--helo', 'client.sluice.test', '--timeout', 30,
	    '--from', 'customer@site.example', @_], timeout => 90);
	return ($rc, $o . $e);
}

# --- AUTH over TLS relays anywhere ---
($st, $out) = submit('--tls', '--auth', 'PLAIN', '--auth-user', 'demo',
    '--auth-password', 'demo', '--to', 'friend@elsewhere.example',
    '--header', 'Subject: relayed with PLAIN');
like($out, qr/^<[-~]+\s+235 2\.7\.0 Authentication successful/m, 'AUTH PLAIN over TLS: 235');
like($out, qr/^<[-~]+\s+250 2\.1\.5 /m, 'RCPT for a non-customer domain accepted');
my ($id) = $out =~ /250 2\.0\.0 Ok: queued as (\S+)/;
ok($id, 'relayed message queued') or diag $out;
($st, $out) = submit('--tls', '--auth', 'LOGIN', '--auth-user', 'other',
    '--auth-password', 'secret', '--to', 'friend@elsewhere.example',
    '--header', 'Subject: relayed with LOGIN');
like($out, qr/^<[-~]+\s+235 2\.7\.0 /m, 'AUTH LOGIN over TLS: 235');
my ($id2) = $out =~ /250 2\.0\.0 Ok: queued as (\S+)/;
ok($id2, 'second relayed message queued');
# The MX does not answer yet: the mail waits in the queue.
ok(wait_for(sub {
	2 == grep { has_domain($_, 'elsewhere.example') } $s->queue_list
}, 20), 'sluice queue list --json shows the relayed mail for elsewhere.example');
my %queued;
for my $qid (grep { defined } $id, $id2) {
	my ($q) = $s->read_queue_file($qid);
	$queued{$q->{content}} = $qid if $q;
}
like(join('', keys %queued), qr/^Received: from client\.sluice\.test .*\r\n\tby mx\.sluice\.test \(sluice\) with ESMTPSA id /m,
    'Received: says ESMTPSA');
# Now it does: the retry delivers both by MX.
my $sinkdir = $s->dir . '/sink';
my $sink = sink_up($sinkdir, $sink_port);
ok(wait_for(sub {
	!grep { has_domain($_, 'elsewhere.example') } $s->queue_list
}, 60), 'relayed mail left the queue once the MX answered');
my @got = map { sink_content($_) } sink_files($sinkdir);
is(scalar(grep { exists $queued{$_} } @got), 2,
    'the MX of elsewhere.example got both messages byte-identical');
sink_down($sink);
ok(scalar(log_lines($s, qr/\Q$id\E: client=localhost\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=demo$/)),
    'smtpd log line carries sasl_method and sasl_username') if $id;

# --- refusals ---
($st, $out) = submit('--tls', '--to', 'friend@elsewhere.example');
like($out, qr/^<[-~]*\*\s+530 5\.7\.0 Authentication required/m,
    'submission without AUTH: MAIL gets 530 5.7.0');
unlike($out, qr/queued as/, 'and nothing is queued');
($st, $out) = submit('--tls', '--auth', 'PLAIN', '--auth-user', 'demo',
    '--auth-password', 'wrong', '--to', 'friend@elsewhere.example');
like($out, qr/535 5\.7\.8 Error: authentication failed/, 'wrong password: 535 5.7.8');
ok(scalar(log_lines($s, qr/warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: .*sasl_username=demo/)),
    'failed login logged as Postfix does');

{
	my ($c) = smtp_connect($sub);
	my ($rc, $text) = smtp_xact($c, 'EHLO client.test');
	unlike($text, qr/AUTH/, 'no AUTH advertised before STARTTLS');
	like($text, qr/STARTTLS/, 'STARTTLS advertised');
	($rc, $text) = smtp_xact($c, 'AUTH PLAIN ' . encode_base64("\0demo\0demo", ''));
	like($text, qr/^530 5\.7\.0 Must issue a STARTTLS command first/,
	    'AUTH before STARTTLS: 530 5.7.0');
	($rc, $text) = smtp_xact($c, 'MAIL FROM:<a@site.example>');
	like($text, qr/^530 5\.7\.0 Must issue a STARTTLS command first/,
	    'MAIL before STARTTLS on submission: 530 5.7.0');
	smtp_xact($c, 'QUIT');
	close $c;
}

# --- raw TLS session: mechanisms, cancel, delay, limit ---
{
	my ($c, $ehlo) = tls_session($sub);
	ok($c, 'raw STARTTLS session') or diag $ehlo;
	like($ehlo // '', qr/^250-AUTH PLAIN LOGIN\r?$/m, 'AUTH PLAIN LOGIN advertised after STARTTLS');
	my ($rc, $text) = smtp_xact($c, 'AUTH CRAM-MD5');
	like($text, qr/^504 5\.5\.4 /, 'CRAM-MD5 is not offered on submission: 504');
	($rc, $text) = smtp_xact($c, 'AUTH LOGIN');
	like($text, qr/^334 VXNlcm5hbWU6/, 'AUTH LOGIN asks Username:');
	($rc, $text) = smtp_xact($c, '*');
	like($text, qr/^501 5\.0\.0 /, '"*" cancels: 501 5.0.0');
	($rc, $text) = smtp_xact($c, 'AUTH PLAIN not-base64!');
	like($text, qr/^501 5\.5\.2 /, 'bad base64: 501 5.5.2');
	my @t;
	for my $n (1 .. 3) {
		my $t0 = time;
		($rc, $text) = smtp_xact($c, 'AUTH PLAIN ' . encode_base64("\0demo\0bad$n", ''));
		push @t, time - $t0;
		like($text, qr/^535 5\.7\.8 /, "failure $n: 535");
	}
	# The server never answers sooner than the delay: 1s, then 2s, then 4s.
	ok($t[0] >= 0.9 && $t[1] >= 1.9 && $t[2] >= 3.9,
	    sprintf('failure delays double: %.1fs %.1fs %.1fs', @t));
	($rc, $text) = smtp_reply($c, 5);
	like($text // '', qr/^421 4\.7\.0 Error: too many failed authentications/,
	    'third failure (auth_failure_limit = 3): then 421');
	($rc, $text) = smtp_reply($c, 5);
	ok(!defined $rc, 'connection closed after the limit');
	close $c;
}

# --- an authenticated owner may ETRN its domain from anywhere ---
{
	my ($c) = tls_session($sub);
	my ($rc, $text) = smtp_xact($c, 'ETRN site.example');
	like($text, qr/^459 4\.7\.1 <site\.example>: ETRN not allowed: client not in etrn_from/,
	    'ETRN from outside etrn_from before AUTH: 459');
	($rc, $text) = smtp_xact($c, 'AUTH PLAIN ' . encode_base64("\0demo\0demo", ''));
	like($text, qr/^235 /, 'AUTH PLAIN in a raw TLS session');
	($rc, $text) = smtp_xact($c, 'AUTH PLAIN ' . encode_base64("\0demo\0demo", ''));
	like($text, qr/^503 5\.5\.1 /, 'second AUTH: 503');
	($rc, $text) = smtp_xact($c, 'ETRN site.example');
	like($text, qr/^25[13] 2\.0\.0 /, 'ETRN by the logged-in owner is allowed');
	ok(scalar(log_lines($s, qr/trigger: domain=site\.example, source=etrn, client=127\.0\.0\.1, user=demo, result=(ok|none)/)),
	    'the trigger carries user=demo');
	smtp_xact($c, 'MAIL FROM:<customer@site.example>');
	($rc, $text) = smtp_xact($c, 'AUTH PLAIN xxxx');
	like($text, qr/^503 5\.5\.1 .*transaction/, 'AUTH inside a transaction: 503');
	smtp_xact($c, 'QUIT');
	close $c;
}

# --- the SMTP port: loopback (mynetworks) does not relay by default ---
($st, $out) = $s->swaks('--to', 'friend@elsewhere.example');
like($out, qr/550 5\.7\.1 <friend\@elsewhere\.example>: Relay access denied/,
    'port 25 from mynetworks: relay denied (smtpd_relay_networks is empty)');
{
	my ($c) = smtp_connect($s);
	my ($rc, $text) = smtp_xact($c, 'EHLO client.test');
	unlike($text, qr/AUTH/, 'no AUTH on the SMTP port');
	smtp_xact($c, 'QUIT');
	close $c;
}
$s->stop;
$s->set_conf(smtpd_relay_networks => '127.0.0.0/8');
$s->start;
($st, $out) = $s->swaks('--to', 'friend@elsewhere.example');
like($out, qr/250 2\.0\.0 Ok: queued as/,
    'with smtpd_relay_networks = 127.0.0.0/8 the SMTP port relays for loopback');
($st, $out) = submit('--tls', '--to', 'friend@elsewhere.example');
like($out, qr/250 2\.0\.0 Ok: queued as/,
    'and so does the submission port without AUTH');
$s->stop;
$dns->stop;
done_testing;
