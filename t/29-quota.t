# t/29-quota.t - per-domain caps (max_messages=, max_bytes=): past the
# cap a RCPT gets 452 4.2.2 with the figures, a message for two domains
# is accepted for the one with room and refused per recipient for the
# full one, max_bytes refuses the whole message at the end of DATA, the
# refusals are logged as Postfix does (pflogsumm counts them), the
# notify= address gets one notice at 80% and one when full (and no more,
# even after a restart), the figures show in `queue summary` (text and
# JSON), finger and the web page, and a release makes room again.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;

use FingerProbe qw(finger_query);
use JSON::PP;
use POSIX ();
use Sink;
use SluiceTest qw(tool run_cmd slurp wait_for free_port smtp_connect smtp_xact smtp_send smtp_reply);
use WebTest qw(customer_passwd web_login status_until);

my $pflogsumm = tool('pflogsumm');
my $finger_port = free_port();
my $web_port = free_port();
my $s = SluiceTest->new(domains => ['placeholder'],
    conf => { finger_listen => "127.0.0.1:$finger_port", web_listen => "127.0.0.1:$web_port",
	# A qmgr killed at the end stays down for the rest of the test.
	master_restart_delay => '120s' });
my $sink = Sink->start(dir => $s->dir . '/sink');
my $notices = Sink->start(dir => $s->dir . '/notices');
my $route = '[127.0.0.1]:' . $sink->port;
my @domains = (
    "full.example mode=hold route=$route probe=no finger=yes max_messages=5 notify=admin\@isp.example",
    "bytes.example mode=hold route=$route probe=no max_bytes=3k",
    "other.example mode=hold route=$route probe=no",
    'isp.example mode=backup route=[127.0.0.1]:' . $notices->port . ' probe=no',
    # The web page's domain: its site never answers, so its mail stays.
    'web.example mode=hold route=[127.0.0.1]:' . $s->dead_port . ' probe=no max_messages=3 max_bytes=1M owner=webcust');
$s->set_domains(@domains);
$s->start;

# send TO, [SWAKS ARGS] - (exit status, swaks output)
sub send_to {
	my ($to, @args) = @_;
	return $s->swaks('--to', $to, '--from', 'sender@origin.test', @args);
}

# quota_file - private/quota as qmgr wrote it
sub quota_file { return slurp($s->qdir . '/private/quota') // '' }

# notices LEVEL - how many quota notices of that level qmgr logged for full.example
sub notices {
	my ($level) = @_;
	return $s->log_count(qr/quota: domain=full\.example, to=<admin\@isp\.example>, level=\Q$level\E, /);
}

# --- the message cap ----------------------------------------------------

for my $n (1 .. 3) {
	my ($rc) = send_to("u$n\@full.example");
	is($rc, 0, "message $n of 5 for full.example accepted");
}
is(notices('near'), 0, 'no notice at 60%');
my ($rc, $out) = send_to('u4@full.example');
is($rc, 0, 'message 4 of 5 accepted');
ok($s->wait_log(qr/quota: domain=full\.example, to=<admin\@isp\.example>, level=near, messages=4, max_messages=5, /),
    'at 80% qmgr writes the "near" notice to notify= (logged)');
($rc) = send_to('u5@full.example');
is($rc, 0, 'message 5 of 5 accepted');
ok($s->wait_log(qr/quota: domain=full\.example, to=<admin\@isp\.example>, level=full, messages=5, max_messages=5, /),
    'at the cap qmgr writes the "full" notice (logged)');
ok(wait_for(sub { quota_file() =~ /^domain full\.example 5 \d+$/m }, 30),
    'private/quota shows 5 messages for full.example');

($rc, $out) = send_to('u6@full.example');
isnt($rc, 0, 'the sixth message is not accepted');
like($out, qr/<\*\* 452 4\.2\.2 <u6\@full\.example>: Mailbox full: full\.example holds 5 messages \(limit 5\)/,
    'its RCPT gets 452 4.2.2 with the domain, the count and the limit');
ok($s->wait_log(qr/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 452 4\.2\.2 <u6\@full\.example>: Mailbox full: full\.example holds 5 messages \(limit 5\); from=<sender\@origin\.test> to=<u6\@full\.example> proto=ESMTP helo=<[^>]*>$/),
    'the refusal is logged as Postfix logs a reject');

# --- a message for a full domain and one with room -----------------------

($rc, $out) = $s->swaks('--to', 'u7@full.example,v1@other.example', '--from', 'sender@origin.test');
like($out, qr/<\*\* 452 4\.2\.2 <u7\@full\.example>: Mailbox full/, 'the full domain\'s RCPT gets 452');
like($out, qr/-> RCPT TO:<v1\@other\.example>\s*\n<-\s+250 /, 'the other domain\'s RCPT gets 250');
my ($mixed) = $out =~ /<-\s+250 .*queued as ([0-9A-F]{20})/;
ok($mixed, 'the message is queued for the recipient with room');
my $qf = $mixed ? $s->read_queue_file($mixed) : undef;
my $env = $qf ? $qf->{envelope} : '';
ok($env =~ /v1\@other\.example/ && $env !~ /u7\@full\.example/,
    'the queued file holds only the accepted recipient');

# --- the byte cap, at the end of DATA ------------------------------------

my $body = ('x' x 70 . "\n") x 25;	# about 1.8 KB
($rc) = send_to('b1@bytes.example', '--body', $body);
is($rc, 0, 'the first large message for bytes.example fits its 3k');
ok(wait_for(sub { quota_file() =~ /^domain bytes\.example 1 \d+$/m }, 30),
    'qmgr counts it');
($rc, $out) = send_to('b2@bytes.example', '--body', $body);
like($out, qr/-> RCPT TO:<b2\@bytes\.example>\s*\n<-\s+250 /,
    'the second one is accepted at RCPT (no SIZE= declared)');
like($out, qr/<\*\* 452 4\.2\.2 Mailbox full: bytes\.example holds \d+ bytes \(limit 3072\); message not accepted for any recipient/,
    'and refused whole at the end of DATA: 452 4.2.2 with the bytes and the limit');
ok($s->wait_log(qr/: reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 452 4\.2\.2 Mailbox full: bytes\.example holds \d+ bytes \(limit 3072\)/),
    'logged as a reject at END-OF-MESSAGE');
is(scalar $s->queue_list_ids('--domain', 'bytes.example'), 1, 'bytes.example still holds one message');

# With SIZE= the byte cap answers at RCPT already.
my ($c, $code, $text) = smtp_connect($s);
smtp_xact($c, 'EHLO client.sluice.test') if $c;
($code) = $c ? smtp_xact($c, 'MAIL FROM:<sender@origin.test> SIZE=2000') : ();
is($code, 250, 'MAIL FROM with SIZE=2000');
($code, $text) = $c ? smtp_xact($c, 'RCPT TO:<b3@bytes.example>') : ();
is($code, 452, 'a RCPT for bytes.example that the declared size would overfill gets 452');
like($text // '', qr/^452 4\.2\.2 <b3\@bytes\.example>: Mailbox full: bytes\.example holds \d+ bytes \(limit 3072\)/,
    'with the bytes held and the limit');
($code) = $c ? smtp_xact($c, 'RCPT TO:<v2@other.example>') : ();
is($code, 250, 'the same transaction may go on for a domain with room');
smtp_xact($c, 'QUIT') if $c;

# --- the figures ------------------------------------------------------------

my ($src, $sout) = $s->cli('queue', 'summary');
is($src, 0, 'queue summary exits 0');
like($sout, qr/^\s*full\.example\s.*quota: 5\/5 messages$/m, 'queue summary shows full.example with 5/5 messages');
like($sout, qr/^\s*bytes\.example\s.*quota: \d+\/3072 bytes$/m, 'and the byte limit of bytes.example');
my ($jrc, $jout) = $s->cli('queue', 'summary', '--json');
my ($fd) = grep { ($_->{domain} // '') eq 'full.example' }
    map { eval { decode_json($_) } // () } split /\n/, $jout // '';
is($fd ? $fd->{max_messages} : undef, 5, 'JSON: max_messages of full.example') or diag($jout);
is($fd ? $fd->{messages} : undef, 5, 'JSON: its messages');
my $finger = finger_query($finger_port, "?full.example\r\n");
like($finger // '', qr/^Space used: 5 of 5 messages, \d+ bytes\r?$/m, 'finger shows the count against the cap') or diag($finger);

my ($wrc) = send_to('w1@web.example');
is($wrc, 0, 'a message for web.example');
ok(customer_passwd($s, 'webcust', 'web-secret'), 'sluice passwd webcust');
my $jar = $s->dir . '/cookies';
my $login = web_login("http://127.0.0.1:$web_port", $jar, 'webcust', 'web-secret');
like($login->{code} // '', qr/^(200|303)$/, 'the customer logs in to the web page');
my ($card) = status_until("http://127.0.0.1:$web_port", $jar, 'web.example',
    sub { ($_[0]{quota} // '') ne '' });
like($card ? $card->{quota} : '', qr/^1 of 3 messages, \d+ of 1048576 bytes$/,
    'the web page shows "N of M messages, X of Y bytes"');

# --- no second notice, even after a restart ---------------------------------

ok(wait_for(sub { $notices->count >= 2 }, 30), 'both notices reached the notify= address');
my @subjects = map { $_->{data} =~ /^Subject: (.*?)\r?$/m ? $1 : '' } $notices->messages;
is(scalar(grep { /80%/ } @subjects), 1, 'one "80%" notice arrived');
is(scalar(grep { /is refused/ } @subjects), 1, 'one "full" notice arrived');
my $old = quota_file() =~ /^qmgr (\d+) / ? $1 : 0;
$s->restart;
# A restarted qmgr counts every capped domain, notices included, before it
# writes the file: once the file is its own, any notice would be logged.
ok(wait_for(sub { quota_file() =~ /^qmgr (\d+) / && $1 != $old }, 30),
    'the restarted qmgr has counted the capped domains');
is(notices('near'), 1, 'still one "near" notice after the restart');
is(notices('full'), 1, 'still one "full" notice after the restart');

# --- a release makes room ---------------------------------------------------

my ($frc) = $s->cli('flush', 'full.example');
is($frc, 0, 'sluice flush full.example');
ok(wait_for(sub { quota_file() =~ /^domain full\.example 0 0$/m }, 60),
    'once delivered, full.example holds nothing');
($rc) = send_to('u8@full.example');
is($rc, 0, 'the next message for full.example is accepted again');

# --- pflogsumm counts the refusals ------------------------------------------

my ($prc, $pout, $perr) = run_cmd([$pflogsumm, '--syslog-name=sluice', $s->logfile]);
is($prc, 0, 'pflogsumm exits 0') or diag($perr);
my $rejects = $s->log_count(qr/: reject: /);
like($pout, qr/^\s*\Q$rejects\E\s+rejected\b/m, "pflogsumm counts the $rejects rejects")
    or diag($pout);

# --- a reload in the middle of a transaction ---------------------------------

# reload_bytes CAP - bytes.example with max_bytes=CAP, reloaded; waits for smtpd
my $reloads = 0;
sub reload_bytes {
	my ($cap) = @_;
	$s->set_domains(map { s/^(bytes\.example .*max_bytes=)\S+/$1$cap/r } @domains);
	my ($rc) = $s->cli('reload');
	$reloads++;
	return $rc == 0 && $s->wait_log(qr/smtpd\[\d+\]: reload configuration/, 30, $reloads);
}

# xact_until_rcpt - a transaction for bytes.example up to its RCPT
sub xact_until_rcpt {
	my ($c) = smtp_connect($s);
	return (undef) unless $c;
	smtp_xact($c, 'EHLO client.sluice.test');
	smtp_xact($c, 'MAIL FROM:<sender@origin.test> SIZE=100');
	my ($code) = smtp_xact($c, 'RCPT TO:<b10@bytes.example>');
	return ($c, $code);
}

# finish C - DATA with a small message; the final reply
sub finish {
	my ($c) = @_;
	smtp_xact($c, 'DATA');
	smtp_send($c, "Subject: across a reload\r\n\r\nsmall\r\n.\r\n");
	my ($code, $text) = smtp_reply($c);
	smtp_xact($c, 'QUIT');
	close $c;
	return ($code, $text // '');
}

my ($held) = quota_file() =~ /^domain bytes\.example \d+ (\d+)$/m;
ok(defined $held && $held > 1024 && $held < 3072, "bytes.example holds $held bytes of its 3072");
($c, $code) = xact_until_rcpt();
is($code, 250, 'a RCPT for bytes.example with room');
ok(reload_bytes('1k'), 'then a reload lowers its cap to 1k');
my $ftext;
($code, $ftext) = $c ? finish($c) : ();
is($code, 452, 'the end of DATA applies the lowered cap: 452');
like($ftext, qr/^452 4\.2\.2 Mailbox full: bytes\.example holds \d+ bytes \(limit 1024\)/,
    'with the new limit in the reply');
($c, $code) = xact_until_rcpt();
is($code, 452, 'a new RCPT is refused under the lowered cap');
smtp_xact($c, 'RSET') if $c;
ok(reload_bytes('none'), 'a reload removes the cap');
($code) = smtp_xact($c, 'MAIL FROM:<sender@origin.test> SIZE=100') if $c;
($code) = smtp_xact($c, 'RCPT TO:<b11@bytes.example>') if $c;
is($code, 250, 'the same session: a RCPT for bytes.example is taken');
if ($c) { smtp_xact($c, 'QUIT'); close $c }
($c, $code) = xact_until_rcpt();
ok(reload_bytes('3k'), 'a reload sets it back to 3k, one transaction still open');
($code, $ftext) = $c ? finish($c) : ();
is($code, 250, 'that transaction ends in 250 (the message fits 3k)') or diag($ftext);

# --- qmgr down: no refusal on quota grounds ---------------------------------

my $qmgr = $s->child_pid('qmgr');
ok($qmgr && kill('KILL', $qmgr), 'qmgr killed (master restarts it only in 120s)');
($rc, $out) = send_to('b4@bytes.example', '--body', $body);
is($rc, 0, 'without qmgr, mail past a cap is accepted: it waits on disk and qmgr counts it later');
ok($s->wait_log(qr/smtpd\[\d+\]: warning: per-domain caps \(max_messages, max_bytes\) not applied: qmgr is not running/),
    'smtpd logs that the caps are not applied');

# --- private/quota read back: nothing trusts a file on disk -----------------

# put_quota TEXT - private/quota := TEXT, as qmgr writes it (a new file, renamed)
my $qfile = $s->qdir . '/private/quota';
# The daemons' user (sluice when the test runs as root) owns private/.
my ($qowner, $qgroup) = (stat($s->qdir . '/private'))[4, 5];
sub put_quota {
	my ($text) = @_;
	open my $fh, '>', "$qfile.test" or die "$qfile.test: $!";
	print $fh $text;
	close $fh or die "$qfile.test: $!";
	chmod 0600, "$qfile.test";
	chown $qowner, $qgroup, "$qfile.test";
	rename "$qfile.test", $qfile or die "rename $qfile: $!";
}

# A file whose qmgr is "alive" (this test's pid): its figures apply, and
# what smtpd committed since counts on top of them.
put_quota("qmgr $$ " . time . "\ndomain bytes.example 0 0\n");
($rc) = send_to('b5@bytes.example');
is($rc, 0, 'with room in the file, a message for bytes.example is accepted');
put_quota("qmgr $$ " . time . "\ndomain bytes.example 0 18446744073709551610\n");
($rc, $out) = send_to('b6@bytes.example');
like($out, qr/<\*\* 452 4\.2\.2 <b6\@bytes\.example>: Mailbox full: bytes\.example holds 18446744073709551615 bytes \(limit 3072\)/,
    'a huge figure plus the message just accepted stops at the top: 452, not a wrapped small sum');

# Garbage: read and logged once, not at every RCPT; nothing refused.
put_quota("garbage\n");
($rc) = send_to('b7@bytes.example');
is($rc, 0, 'an unreadable private/quota refuses nothing');
($rc) = send_to('b8@bytes.example');
is($rc, 0, 'nor for the next message');
is($s->log_count(qr{smtpd\[\d+\]: warning: read \Q$qfile\E: line 1: the first line is not "qmgr PID EPOCH"; qmgr replaces it at its next count$}), 1,
    'smtpd logs the bad file once, naming it, the line and what is wrong');

# A FIFO in its place must not stop smtpd (the open would wait for a writer).
unlink $qfile;
ok(POSIX::mkfifo($qfile, 0600) && chown($qowner, $qgroup, $qfile), 'a FIFO as private/quota');
($rc, $out) = send_to('b9@bytes.example');
is($rc, 0, 'smtpd still answers and accepts the mail') or diag($out);
ok($s->wait_log(qr{smtpd\[\d+\]: warning: read \Q$qfile\E: not a regular file \(mode 010600\): remove it \(qmgr writes it anew\)}),
    'and says what the file is and what to do');
unlink $qfile;

# private/quota-notified, read by qmgr at start: garbage costs one log line.
$s->stop;
my $nfile = $s->qdir . '/private/quota-notified';
open my $nfh, '>', $nfile or die "$nfile: $!";
print $nfh "not a line\n" x 1000, "full.example full\n";
close $nfh;
chown $qowner, $qgroup, $nfile;
$s->start;
ok($s->wait_log(qr{qmgr\[\d+\]: warning: \Q$nfile\E, line 1: not "DOMAIN near\|full"; 1000 such lines ignored$}),
    'qmgr sums up the bad lines of private/quota-notified in one warning');
is($s->log_count(qr{warning: \Q$nfile\E, line}), 1, 'one line, not a thousand');

$s->stop;
$sink->stop;
$notices->stop;
done_testing;
