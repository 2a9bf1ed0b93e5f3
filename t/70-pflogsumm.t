# 70-pflogsumm: the log has Postfix's shape, so pflogsumm, the usual
# Postfix log summariser (Debian's), counts what sluice did exactly:
# received, delivered, deferred, bounced, rejected and its percentage,
# bytes received and delivered, senders, recipients, their hosts and
# domains, and the per-domain and per-user tables. sluice runs as a
# daemon (`sluice start`), logging to log_file as on a host without a
# syslog daemon; pflogsumm is told the syslog name, as sluice.conf(5)
# says (--syslog-name=sluice).
#
# The scenario: five messages received (one with two recipients, one
# from the null sender, one without a Message-ID, one with a folded
# one), six deliveries, one deferral, one bounce whose notice is
# delivered, two refused RCPTs, and refusals that are not refused mail
# (a failed web login, a refused finger query) that pflogsumm must list
# among the warnings, not count as rejected. Every expected figure is
# worked out from what the test sent and what the sink received, never
# read back from pflogsumm's output. Then again with another syslog_name,
# set by `sluice reload`, and the matching flag.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use FingerProbe qw(finger_query finger_port_up);
use Sink;
use SluiceTest qw(tool free_port run_cmd slurp wait_for);
use WebTest qw(curl csrf_of customer_passwd);

my $pflogsumm = tool('pflogsumm');

# --- helpers -----------------------------------------------------------

# log_lines FILE, REGEX - the lines of FILE matching REGEX
sub log_lines {
	my ($file, $re) = @_;
	return grep { $_ =~ $re } split /\n/, slurp($file) // '';
}

# wait_file_log FILE, REGEX [, N] - wait until N lines of FILE match
sub wait_file_log {
	my ($file, $re, $n) = @_;
	return wait_for(sub { log_lines($file, $re) >= ($n // 1) }, 30);
}

# queued_id OUTPUT - the queue ID of swaks' "250 ... queued as ID"
sub queued_id {
	my ($out) = @_;
	return $out =~ /<-\s+250 .*queued as ([0-9A-F]{20})/ ? $1 : undef;
}

# send S, FROM, [RCPTS], DATA - one message by swaks; its queue ID
sub send_msg {
	my ($s, $from, $rcpts, $data) = @_;
	my ($rc, $out) = $s->swaks('--from', $from eq '' ? '<>' : $from, '--to', join(',', @$rcpts),
	    defined $data ? ('--data', $data) : ());
	my $id = queued_id($out);
	ok($rc == 0 && defined $id, "message from <$from> to @$rcpts queued")
	    or diag($out);
	return $id // 'NONE';
}

# pflogsumm FILE, ARGS - run Debian's pflogsumm: its report
sub pflogsumm {
	my ($file, @args) = @_;
	my ($rc, $out, $err) = run_cmd([$pflogsumm, @args, $file]);
	is($rc, 0, join(' ', 'pflogsumm', @args, 'exits 0')) or diag($err);
	return $out;
}

# section REPORT, TITLE - the lines under a pflogsumm title, up to the
# next blank line (its underline and column headings skipped)
sub section {
	my ($report, $title) = @_;
	my ($body) = $report =~ /^\Q$title\E(?::? none)? *\n(?:-+\n)?((?:.+\n)*)/m;
	return grep { !/^ -+ / && !/^ (?:sent cnt|msg cnt) / } split /\n/, $body // '';
}

# totals REPORT - the Grand Totals figures: {label => number}
sub totals {
	my ($report) = @_;
	my %t;
	my ($body) = $report =~ /^Grand Totals\n-+\n(.*?)\n\n(?:\S|\z)/ms;
	for (split /\n/, $body // '') {
		$t{$2} = $1 if /^\s+(\d+)\s+(\S.*?)\s*$/;
	}
	return \%t;
}

# table LINES, COLUMNS - {key => "c1 c2 .."} of a pflogsumm table whose
# first COLUMNS fields are numbers and whose last field is the key
sub table {
	my ($cols, @lines) = @_;
	my %t;
	for (@lines) {
		my @f = split ' ';
		$t{$f[-1]} = join ' ', @f[0 .. $cols - 1];
	}
	return \%t;
}

# pf_domain CLIENT - pflogsumm's name for a client "name[addr]" (its
# gimme_domain: the address when the name is unknown, else the last two
# labels, or three for a country code under a second-level one)
sub pf_domain {
	my ($client) = @_;
	my ($name, $addr) = $client =~ /^([^\[]*)\[([^\]]+)\]/;
	return $addr if $name eq '' || $name eq 'unknown';
	$name =~ s/^(.*)\.([^\.]+)\.([^\.]{3}|[^\.]{2,3}\.[^\.]{2})$/\L$2.$3/;
	return $name;
}

# --- the scenario ------------------------------------------------------

my $wport = free_port();
my $fport = free_port();
my $s = SluiceTest->new(conf => {
	web_listen => "127.0.0.1:$wport",
	finger_listen => "127.0.0.1:$fport",
	auth_failure_delay => '1s',
    }, domains => ['placeholder']);
my $sink = Sink->start(dir => $s->dir . '/sink',
    rcpt_reply => { 'nobody@good.example' => '550 5.1.1 <nobody@good.example>: no such user' });
my $sinkport = $sink->port;
$s->set_domains(
	"good.example mode=backup route=[127.0.0.1]:$sinkport probe=no owner=demo",
	'dead.example mode=backup route=[127.0.0.1]:@DEAD@ probe=no');
my $log = $s->dir . '/mail.log';
$s->set_conf(log_file => $log);
ok(customer_passwd($s, 'demo', 'demo-secret'), 'sluice passwd demo');
my ($rc, $out, $err) = $s->cli('start');
is($rc, 0, 'sluice start exits 0') or diag("$out$err");
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 30),
    'web listens') or diag(slurp($log));
ok(finger_port_up($fport), 'fingerd listens');

# Data of their own: one message with a folded Message-ID, one without.
my $folded = "Message-ID:\n <folded.1\@client.test>\nSubject: folded\n\nfolded\n";
my $no_mid = "Subject: no message-id\n\nnone at all\n";
my %m;
$m{1} = send_msg($s, 'alice@client.test', ['bob@good.example', 'dave@good.example'], $folded);
$m{2} = send_msg($s, 'alice@client.test', ['erin@good.example'], $no_mid);
$m{3} = send_msg($s, 'carol@good.example', ['nobody@good.example', 'frank@good.example']);
$m{4} = send_msg($s, 'grace@other.test', ['henry@dead.example']);
$m{5} = send_msg($s, '', ['ivan@good.example']);
for my $to ('x@elsewhere.example', 'y@elsewhere.example') {
	my ($r, $o) = $s->swaks('--from', 'mallory@client.test', '--to', $to);
	like($o, qr/<\*\* 550 5\.7\.1 <\Q$to\E>: Relay access denied/, "RCPT $to refused");
}

# Not refused mail: a failed web login, a refused finger query.
my $jar = $s->dir . '/cookies';
my $r = curl($jar, "http://127.0.0.1:$wport/");
my $token = csrf_of($r->{body});
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode', 'password=wrong',
    '--data-urlencode', "csrf=" . ($token // ''), "http://127.0.0.1:$wport/login");
is($r->{code}, '403', 'a wrong web password: 403');
is(finger_query($fport, "a\@b\r\n"), "Finger forwarding service denied.\r\n",
    'a forwarding finger query refused');

# Wait for every event: five messages and the notice at the sink, the
# deferral, the bounce, and both warnings.
ok(wait_for(sub { $sink->messages == 5 }, 60), 'the sink has 5 messages (4 and a notice)')
    or diag(slurp($log));
ok(wait_file_log($log, qr/\Q$m{"4"}\E: to=<henry\@dead\.example>, .*status=deferred/),
    'the message to dead.example is deferred');
ok(wait_file_log($log, qr/\Q$m{"3"}\E: to=<nobody\@good\.example>, .*status=bounced/),
    'nobody@good.example bounced');
ok(wait_file_log($log, qr/web\[\d+\]: warning: refuse login: user=demo, client=127\.0\.0\.1: wrong name or password/),
    'web: the failed login is a warning');
ok(wait_file_log($log, qr/fingerd\[\d+\]: warning: refuse query from 127\.0\.0\.1: forwarding denied/),
    'fingerd: the refused query is a warning');
# The sink keeps a message before its 250, and deliver logs status=sent
# after it: six deliveries (bob, dave, erin, frank, ivan and the notice to
# carol) are over once six such lines are logged.
ok(wait_file_log($log, qr/: to=<[^>]+>, .*status=sent/, 6), 'six status=sent lines logged');
($rc, $out, $err) = $s->cli('stop');
is($rc, 0, 'sluice stop exits 0') or diag("$out$err");

my $text = slurp($log) // '';
my @odd = grep { !/^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ sluice\/\w+\[\d+\]: \S/ } split /\n/, $text;
is_deeply(\@odd, [], 'every log line has the Postfix shape, "sluice/PROGRAM[PID]: "');

# --- what the log says, line by line -----------------------------------

# The sizes, from the bytes the sink received (the copy of message 3
# that reached frank) and from the queue file of the deferred one.
my @sunk = $sink->messages;
my ($dsn) = grep { $_->{from} eq '' && "@{$_->{rcpt}}" eq 'carol@good.example' } @sunk;
ok($dsn, 'the bounce notice reached carol@good.example');
my $dsn_size = $dsn ? length $dsn->{data} : 0;
# The notice quotes message 3 (our Received: field too): leave it out.
@sunk = grep { !$dsn || $_ != $dsn } @sunk;
my %size;
for my $k (1, 2, 3, 5) {
	my @got = grep { $_->{data} =~ /^\tby mx\.sluice\.test \(sluice\) with \S+ id \Q$m{$k}\E\b/m } @sunk;
	is(scalar @got, 1, "message $k reached the sink once") or next;
	$size{$k} = length $got[0]{data};
}
my $q4 = $s->read_queue_file($m{4});
ok($q4, 'the deferred message is still queued');
$size{4} = $q4 ? length $q4->{content} : 0;

my %nrcpt = (1 => 2, 2 => 1, 3 => 2, 4 => 1, 5 => 1);
my %from = (1 => 'alice@client.test', 2 => 'alice@client.test',
    3 => 'carol@good.example', 4 => 'grace@other.test', 5 => '');
for my $k (sort keys %m) {
	my @q = log_lines($log, qr/: \Q$m{$k}\E: from=</);
	is_deeply(\@q, [grep { /qmgr\[\d+\]: \Q$m{$k}\E: from=<\Q$from{$k}\E>, size=$size{$k}, nrcpt=$nrcpt{$k} \(queue active\)$/ } @q],
	    "message $k: every from= line is qmgr's") or diag(join "\n", @q);
	is(scalar @q, 1, "message $k: one from= line, size=$size{$k}, nrcpt=$nrcpt{$k}");
	is(scalar log_lines($log, qr/smtpd\[\d+\]: \Q$m{$k}\E: client=localhost\[127\.0\.0\.1\]$/), 1,
	    "message $k: one smtpd client= line");
}
my ($dsn_id) = $text =~ /\Q$m{"3"}\E: sender non-delivery notification: ([0-9A-F]{20})/;
ok($dsn_id, 'the notice is logged with its queue ID');
is(scalar log_lines($log, qr/qmgr\[\d+\]: \Q${\($dsn_id \/\/ '-')}\E: from=<>, size=$dsn_size, nrcpt=1 \(queue active\)$/), 1,
    "the notice: qmgr's from=<> line, size=$dsn_size");

my %mid = (1 => '<folded.1@client.test>', 2 => '<>');
for my $k (3, 5) {
	my ($got) = grep { $_->{data} =~ /id \Q$m{$k}\E\b/ } @sunk;
	($mid{$k}) = ($got->{data} // '') =~ /^Message-Id: (<[^>\r\n]+>)/mi;
}
($mid{4}) = ($q4->{content} // '') =~ /^Message-Id: (<[^>\r\n]+>)/mi;
for my $k (sort keys %m) {
	is(scalar log_lines($log, qr/smtpd\[\d+\]: \Q$m{$k}\E: message-id=\Q${\($mid{$k} \/\/ '?')}\E$/), 1,
	    "message $k: smtpd logs message-id=" . ($mid{$k} // '?'));
}
is(scalar log_lines($log, qr/NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 550 5\.7\.1 <[xy]\@elsewhere\.example>: Relay access denied; from=<mallory\@client\.test> to=<[xy]\@elsewhere\.example> proto=ESMTP helo=<client\.sluice\.test>$/), 2,
    'two Postfix-shaped "NOQUEUE: reject: RCPT" lines');
is_deeply([log_lines($log, qr/: reject: /)],
    [log_lines($log, qr/smtpd\[\d+\]: NOQUEUE: reject: RCPT from /)],
    'no other reject: line (web and finger refusals are warnings)');

# --- what pflogsumm makes of it ----------------------------------------

# pflogsumm's model: a message is received on smtpd's client= line; its
# sender and size come from the from= line; each status=sent recipient
# is a delivery of the message's size; senders count received messages
# only, recipients and their domains count deliveries only.
my $client_dom = pf_domain('localhost[127.0.0.1]');
my @received = (1 .. 5);
my $bytes_in = 0;
$bytes_in += $size{$_} for @received;
my @sent = ([1, 'bob@good.example'], [1, 'dave@good.example'], [2, 'erin@good.example'],
    [3, 'frank@good.example'], [5, 'ivan@good.example']);
my $bytes_out = $dsn_size;
$bytes_out += $size{$_->[0]} for @sent;
my $delivered = @sent + 1;
my (%snd, %sdom, %rcp);
for my $k (@received) {
	my $who = $from{$k} eq '' ? 'from=<>' : $from{$k};
	my $dom = $from{$k} =~ /\@(.+)$/ ? $1 : $client_dom;
	$snd{$who}[0]++;
	$snd{$who}[1] += $size{$k};
	$sdom{$dom}[0]++;
	$sdom{$dom}[1] += $size{$k};
}
$rcp{$_->[1]} = [1, $size{$_->[0]}] for @sent;
$rcp{'carol@good.example'} = [1, $dsn_size];

my $sum = pflogsumm($log, '--syslog-name=sluice');
my $t = totals($sum);
my %want = (
	received => 5, delivered => $delivered, forwarded => 0, bounced => 1,
	'rejected (' . int(2 / ($delivered + 2) * 100) . '%)' => 2,
	'deferred  (1  deferrals)' => 1, 'reject warnings' => 0, held => 0,
	'discarded (0%)' => 0, 'bytes received' => $bytes_in,
	'bytes delivered' => $bytes_out, senders => scalar keys %snd,
	'sending hosts/domains' => scalar keys %sdom,
	recipients => scalar keys %rcp, 'recipient hosts/domains' => 1,
);
is_deeply($t, \%want, 'pflogsumm Grand Totals: every figure exact') or diag(explain($t), $sum);

is_deeply(table(3, section($sum, 'Host/Domain Summary: Message Delivery')),
    { 'good.example' => "$delivered $bytes_out 0", 'dead.example' => '0 0 1' },
    'per recipient domain: sent, bytes, defers');
is_deeply(table(2, section($sum, 'Host/Domain Summary: Messages Received')),
    { map { $_ => "$sdom{$_}[0] $sdom{$_}[1]" } keys %sdom },
    'per sending domain: messages and bytes');
is_deeply(table(1, section($sum, 'Senders by message count')),
    { map { $_ => $snd{$_}[0] } keys %snd }, 'senders by message count');
is_deeply(table(1, section($sum, 'Senders by message size')),
    { map { $_ => $snd{$_}[1] } keys %snd }, 'senders by message size');
is_deeply(table(1, section($sum, 'Recipients by message count')),
    { map { $_ => $rcp{$_}[0] } keys %rcp }, 'recipients by message count');
is_deeply(table(1, section($sum, 'Recipients by message size')),
    { map { $_ => $rcp{$_}[1] } keys %rcp }, 'recipients by message size');
like($sum, qr/^message reject detail\n-+\n  RCPT\n    Relay access denied \(total: 2\)\n/m,
    'reject detail: the two refused RCPTs, nothing else') or diag($sum);
like($sum, qr/^  web \(total: 1\)\n\s+1\s+refuse login: user=demo, client=127\.0\.0\.1: wron/m,
    'warnings: the failed web login');
like($sum, qr/^  fingerd \(total: 1\)\n\s+1\s+refuse query from 127\.0\.0\.1: forwarding denied/m,
    'warnings: the refused finger query');

my $bare = pflogsumm($log);
like($bare, qr/^\s+0\s+received$/m, 'without --syslog-name pflogsumm sees no sluice line');

# --- another syslog_name, set by a reload ------------------------------

my $s2 = SluiceTest->new(domains => ["good.example mode=backup route=[127.0.0.1]:$sinkport probe=no"]);
my $log2 = $s2->dir . '/mail.log';
$s2->set_conf(log_file => $log2);
($rc, $out, $err) = $s2->cli('start');
is($rc, 0, 'second instance: sluice start exits 0') or diag("$out$err");
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => $s2->addr . ':' . $s2->port) }, 30),
    'second instance listens');
my $before = send_msg($s2, 'olga@client.test', ['pat@good.example']);
ok(wait_file_log($log2, qr/\Q$before\E: to=<pat\@good\.example>, .*status=sent/),
    'delivered under the old name');
my $name = 'mx2.sluice/in';
$s2->set_conf(syslog_name => $name);
($rc, $out, $err) = $s2->cli('reload');
is($rc, 0, 'sluice reload exits 0') or diag("$out$err");
for my $p (qw(smtpd qmgr deliver)) {
	ok(wait_file_log($log2, qr/^\S+ +\d+ \S+ \S+ \Qmx2.sluice\/in\/$p\E\[\d+\]: reload configuration$/m),
	    "$p logs as $name/$p after the reload");
}
my $after = send_msg($s2, 'quinn@client.test', ['rita@good.example']);
ok(wait_file_log($log2, qr/\Qmx2.sluice\/in\/deliver\E\[\d+\]: \Q$after\E: to=<rita\@good\.example>, .*status=sent/),
    "delivered under $name");
($rc, $out, $err) = $s2->cli('stop');
is($rc, 0, 'second instance: sluice stop exits 0') or diag("$out$err");

ok(scalar log_lines($log2, qr/\Qmx2.sluice\/in\/master\E\[\d+\]: terminating on signal/),
    "master too logs as $name after the reload");
my %size2;
for my $m ($sink->messages) {
	for my $id ($before, $after) {
		$size2{$id} = length $m->{data} if $m->{data} =~ /with \S+ id \Q$id\E\b/;
	}
}
my @new = grep { /\Q$name\E\// } split /\n/, slurp($log2) // '';
ok(@new, "lines logged as $name");
is_deeply([grep { !/^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \Q$name\E\/\w+\[\d+\]: \S/ } @new], [],
    "every one of them has the Postfix shape, \"$name/PROGRAM[PID]: \"");
for my $case ([$name, $after, 'quinn@client.test', 'rita@good.example'],
    ['sluice', $before, 'olga@client.test', 'pat@good.example']) {
	my ($n, $id, $who, $to) = @$case;
	my $sz = $size2{$id} // -1;
	my $got = totals(pflogsumm($log2, "--syslog-name=$n"));
	is_deeply([@$got{'received', 'delivered', 'bytes received', 'bytes delivered',
	    'senders', 'recipients'}], [1, 1, $sz, $sz, 1, 1],
	    "--syslog-name=$n: 1 received, 1 delivered, $sz bytes each way, 1 sender, 1 recipient");
}

$sink->stop;
done_testing;
