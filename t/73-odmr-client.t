# 73-odmr-client: the customer's side of ODMR (lib/mail/odmr_client,
# through its driver t/odmr_client_run) against a real sluice: log in,
# ATRN, turn the connection and hand each message to the site's MTA
# (Postfix's smtp-sink, by SMTP and by LMTP).
#
# What a site would check: every held message arrives byte for byte and
# leaves sluice's queue; no message is acknowledged before the MTA has
# it (an MTA that is down, that defers, or that lies leaves the mail
# queued at sluice and exits 75); a wrong password is EX_NOPERM with
# nothing released; a password never crosses in the clear (PLAIN only
# inside TLS, even when a server offers it outside); a server that
# speaks before our greeting after ATRN is a protocol error.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use SluiceTest qw(free_port run_cmd slurp wait_for smtp_connect smtp_xact
    smtp_send smtp_reply);
use Odmr qw(odmr_customers queue_msg);
use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);
use LyingServer;
use FakeOdmr;
use FakeLmtp;

my $BUILDDIR = $ENV{SLUICE_BUILDDIR} || die "SLUICE_BUILDDIR is not set\n";
my $run = "$BUILDDIR/t/odmr_client_run";
my $o = odmr_customers(odmrs => 1, conf => { odmr_atrn_interval => '0s' });
my $dead = $o->{dead};
my $s = $o->{s};
$s->start;
my $dir = $s->dir;

# client_at PORT, ARGS - the driver against 127.0.0.1:PORT: (exit, stdout, stderr)
sub client_at {
	my ($port, @args) = @_;
	return run_cmd([$run, '-s', '127.0.0.1', '-p', $port, '-H', 'site.test',
	    '-T', 20, @args], timeout => 90);
}
# client ARGS - the same against sluice's ODMR listener
sub client { return client_at($o->{port}, @_) }

# queue_two RCPT1, RCPT2, CONTENT - one message for two recipients; its ID
sub queue_two {
	my ($r1, $r2, $content) = @_;
	my ($c, $code) = smtp_connect($s);
	return undef unless $c && $code == 220;
	for my $cmd ('EHLO origin.test', 'MAIL FROM:<sender@origin.test>',
	    "RCPT TO:<$r1>", "RCPT TO:<$r2>", 'DATA') {
		my ($rc) = smtp_xact($c, $cmd);
		return undef unless defined $rc && $rc =~ /^[23]/;
	}
	smtp_send($c, $content . ".\r\n");
	my ($rc, $text) = smtp_reply($c);
	smtp_xact($c, 'QUIT');
	return $rc == 250 && $text =~ /queued as ([0-9A-F]{20})/ ? $1 : undef;
}

# sink_texts DIR - smtp-sink's dumps without its X- lines and its own
# Received: header: the content as it came, but for the line ends, which
# smtp-sink writes as LF (so the oracle is compared the same way: lf()),
# and the empty line it writes after each message
sub sink_texts {
	return map {
		(my $t = $_) =~ s/\A(?:X-[\w-]+: [^\n]*\n)+//;
		$t =~ s/\AReceived: [^\n]*\n(?:[ \t][^\n]*\n)*//;
		$t =~ s/\n\z//;
		$t;
	} smtp_sink_files($_[0]);
}
sub lf { (my $t = $_[0]) =~ s/\r\n/\n/g; return $t }

# Held mail for two domains of demo's (a leading dot, a long line and
# 8-bit text among it) and one of acme's that must stay.
my @site = (
	"Subject: one\r\nMessage-ID: <1\@origin.test>\r\n\r\n.leading dot\r\n"
	    . ".\r\n..two dots\r\n" . ('x' x 900) . "\r\n",
	"Subject: two\r\n\r\n\xc3\xa9t\xc3\xa9\r\n",
);
my @ids = map { queue_msg($s, "user$_\@site.example", $site[$_]) } 0 .. $#site;
push @ids, queue_msg($s, 'someone@more.example', "Subject: more\r\n\r\nmore\r\n");
my $other_id = queue_msg($s, 'b@other.example', "Subject: other\r\n\r\nnot yours\r\n");
ok(4 == grep({ defined } @ids, $other_id), 'four messages queued');
ok(wait_for(sub { scalar($s->queue_list_ids) == 4 }, 20), 'qmgr indexed them');
my %want;
for my $id (@ids) {
	my ($qf, $why) = $s->read_queue_file($id);
	ok($qf, "queue file $id parses") or diag($why);
	$want{lf($qf->{content})} = $id if $qf;
}
my @all = sort(@ids, $other_id);

# --- the site's MTA is down: nothing is released ---
my ($rc, $out, $err) = client('-u', 'demo', '-w', 'demo', '-m', '127.0.0.1',
    '-P', $dead);
is($rc, 75, 'MTA down: exit 75 (EX_TEMPFAIL)') or diag($out, $err);
like($out, qr/error=local MTA: connect to .*refused; not turning/,
    'the error names the MTA and says nothing was turned');
unlike($s->log_text, qr/ATRN from/, 'no ATRN reached sluice');
is_deeply([sort $s->queue_list_ids], \@all, 'the queue is untouched');

# --- the MTA defers every message (4xx to "."): all stays queued ---
my $soft = free_port();
my $pid = smtp_sink_start("$dir/soft", $soft, '-r', '.');
($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'demo', '-d',
    'site.example', '-P', $soft);
is($rc, 75, 'MTA defers: exit 75') or diag($out, $err);
like($out, qr/^messages=0 recipients=0 refused=0 deferred=2 /m,
    'both messages deferred') or diag($out);
ok($s->wait_log(qr/ATRN session of demo with .* done: sent=0, deferred=2/, 20),
    'sluice: the session ended with both deferred');
is($s->log_count(qr/etrn\[\d+\]: [0-9A-F]{20}: to=<user\d\@site\.example>, .*status=deferred \(host \S+ said: 450 4\.3\.0 /),
    2, 'sluice logged each one deferred with the MTA\'s 450');
is_deeply([sort $s->queue_list_ids], \@all, 'nothing left the queue');
smtp_sink_stop($pid);

# --- the MTA goes away after our "." without answering: 451 each time ---
# The MTA may or may not have the message: it is not acknowledged; the
# next MAIL tries the MTA again.
my $gone = free_port();
$pid = smtp_sink_start("$dir/gone", $gone, '-q', '.');
($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'demo', '-d',
    'site.example', '-P', $gone);
is($rc, 75, 'MTA hangs up after the dot: exit 75') or diag($out, $err);
is(scalar(() = $err =~ /status=deferred \(451 4\.4\.1 local MTA unavailable: lost connection/g),
    2, 'both messages answered 451 4.4.1') or diag($err);
ok($s->wait_log(qr/ATRN session of demo with .* done: sent=0, deferred=2/, 20, 2),
    'sluice: the session ended with both deferred');
is_deeply([sort $s->queue_list_ids], \@all, 'nothing left the queue');
smtp_sink_stop($pid);

# --- a lying MTA cannot make us acknowledge what it did not take ---
for my $cue (qw(data250 double_mail)) {
	my $liar = LyingServer->start(dir => "$dir/liar-$cue", cue => $cue,
	    pipelining => 0);
	my $ended = $s->log_count(qr/ATRN session of demo with .* done: sent=0/);
	($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'demo',
	    '-d', 'site.example', '-P', $liar->port);
	is($rc, 75, "MTA lies ($cue): exit 75") or diag($out, $err);
	like($err, qr/local MTA unavailable: protocol error/,
	    "$cue: the lie is named a protocol error") or diag($err);
	ok($s->wait_log(qr/ATRN session of demo with .* done: sent=0/, 20,
	    $ended + 1),
	    "$cue: sluice sent nothing");
	is_deeply([sort $s->queue_list_ids], \@all, "$cue: nothing left the queue");
	$liar->stop;
}

# --- a wrong password: EX_NOPERM, nothing released ---
my $sink = free_port();
$pid = smtp_sink_start("$dir/sink", $sink);
($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'wrong',
    '-P', $sink);
is($rc, 77, 'wrong password: exit 77 (EX_NOPERM)') or diag($out, $err);
like($out, qr/error=login as demo refused by .*535 /, 'the error quotes the 535');
is_deeply([sort $s->queue_list_ids], \@all, 'nothing released');
is(scalar(smtp_sink_files("$dir/sink")), 0, 'nothing reached the MTA');

# --- no password in the clear: PLAIN only inside TLS ---
($rc, $out, $err) = client('-t', 'none', '-a', 'PLAIN', '-u', 'demo', '-w',
    'demo', '-P', $sink);
is($rc, 77, 'PLAIN asked for without TLS: exit 77') or diag($out, $err);
my $fake = FakeOdmr->start(dir => "$dir/fake-plain", cue => 'plain_clear');
($rc, $out, $err) = client_at($fake->port, '-u', 'demo', '-w', 'secret-pw',
    '-P', $sink);
is($rc, 77, 'a server offering PLAIN/LOGIN in the clear: exit 77')
    or diag($out, $err);
like($out, qr/not sent in the clear/, 'the error says why');
my $tr = $fake->transcript;
like($tr, qr/^EHLO /m, 'the fake server saw our EHLO');
unlike($tr, qr/^AUTH/m, 'it never saw AUTH');
unlike($tr, qr/secret-pw|c2VjcmV0LXB3/, 'nor the password, plain or base64');
$fake->stop;

# --- CRAM-MD5 in the clear: every message of both domains arrives ---
($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'demo', '-P', $sink);
is($rc, 0, 'CRAM-MD5 session: exit 0') or diag($out, $err);
like($out, qr/^messages=3 recipients=3 refused=0 deferred=0 exit=0 /m,
    'three messages delivered') or diag($out);
like($s->log_text, qr/sasl_method=CRAM-MD5, sasl_username=demo/,
    'sluice: the login was CRAM-MD5');
my @got = sink_texts("$dir/sink");
is(scalar @got, 3, 'the MTA received three messages');
for my $t (@got) {
	ok(defined $want{$t}, 'a message arrived byte-identical to its queue file')
	    or diag($t);
}
is(scalar(() = $s->log_text =~ /etrn\[\d+\]: [0-9A-F]{20}: to=<[^>]+\@(?:site|more)\.example>, .*\(ODMR\), .*status=sent \(250 /g),
    3, 'sluice logged three deliveries');
is(scalar(() = $err =~ /^sluice-turn: from=<sender\@origin\.test>, to=<[^>]+>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sink, size=\d+, delay=\d+, dsn=2\.0\.0, status=sent \(250 /mg),
    3, 'the client logged one Postfix-shaped line per message') or diag($err);
ok(wait_for(sub { join(' ', $s->queue_list_ids) eq $other_id }, 20),
    'only other.example\'s message is left in the index');
ok(!(grep { my $id = $_; grep { $_ eq $id } @ids } $s->queue_files),
    'the delivered queue files are gone');

# --- nothing waiting: 453 is success ---
($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'demo', '-P', $sink);
is($rc, 0, 'no mail waiting: exit 0') or diag($out, $err);
like($err, qr/ATRN: 453 /, 'the 453 is logged');

# --- PLAIN after STARTTLS ---
my $tls_id = queue_msg($s, 'tls@site.example', "Subject: tls\r\n\r\nvia TLS\r\n");
($rc, $out, $err) = client('-t', 'required', '-a', 'PLAIN', '-u', 'demo',
    '-w', 'demo', '-P', $sink);
is($rc, 0, 'PLAIN inside STARTTLS: exit 0') or diag($out, $err);
like($s->log_text, qr/sasl_method=PLAIN, sasl_username=demo/,
    'sluice: the login was PLAIN');
ok(wait_for(sub { !grep { $_ eq $tls_id } $s->queue_files }, 20),
    'the message left the queue');
is(scalar(smtp_sink_files("$dir/sink")), 4, 'and reached the MTA');
smtp_sink_stop($pid);

# --- LMTP: one answer per recipient after the "." (RFC 2033) ---
# A mailbox full for one of two recipients: the message is answered 452
# (the server keeps it for both), never 250 for a recipient the store
# refused.
my $two_id = queue_two('lm1@site.example', 'lm2@site.example',
    "Subject: lmtp two\r\n\r\nfor two\r\n");
ok($two_id, 'a message for two recipients queued');
my $full = FakeLmtp->start(dir => "$dir/lmtp-full",
    final => { 'lm2@site.example' => '452 4.2.2 Mailbox full' });
($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'demo', '-L',
    '-P', $full->port);
is($rc, 75, 'one mailbox full: exit 75') or diag($out, $err);
like($out, qr/^messages=0 recipients=0 refused=0 deferred=2 /m,
    'both recipients counted as the server was answered: deferred');
like($err, qr/to=<lm1\@site\.example>, .*status=sent \(250 /,
    'the client logs the recipient the store took');
like($err, qr/to=<lm2\@site\.example>, .*dsn=4\.2\.2, status=deferred \(452 4\.2\.2 Mailbox full\)/,
    'and the one it refused, with its own answer');
like($err, qr/some recipients only; answering 452 for all/,
    'the answer for the whole message is the 452, and the log says so');
ok($s->wait_log(qr/$two_id: to=<lm2\@site\.example>, .*status=deferred \(host \S+ said: 452 4\.2\.2 /, 20),
    'sluice: lm2 deferred with the store\'s 452');
ok($s->wait_log(qr/$two_id: to=<lm1\@site\.example>, .*status=deferred/, 20),
    'sluice: lm1 deferred too (a copy may come twice, none is lost)');
ok((grep { $_ eq $two_id } $s->queue_files), 'the message is still queued');
$full->stop;

# smtp-sink -L takes both.
my @lmtp_ids = map { queue_msg($s, "l$_\@site.example", "Subject: lmtp $_\r\n\r\nbody $_\r\n") } 1 .. 2;
my $lport = free_port();
$pid = smtp_sink_start("$dir/lmtp", $lport, '-L');
($rc, $out, $err) = client('-t', 'none', '-u', 'demo', '-w', 'demo', '-L',
    '-P', $lport);
is($rc, 0, 'LMTP session: exit 0') or diag($out, $err);
like($out, qr/^messages=3 recipients=4 /m, 'three messages, four recipients');
my @l = sink_texts("$dir/lmtp");
is(scalar @l, 3, 'the LMTP server received all three');
is(scalar(grep { /^body [12]$/m } @l), 2, 'both one-recipient messages among them');
ok(wait_for(sub { !grep { my $id = $_; grep { $_ eq $id } @lmtp_ids, $two_id } $s->queue_files }, 20),
    'all left the queue');
smtp_sink_stop($pid);

# --- TLS on connect (the odmrs listener) ---
my $wrap_id = queue_msg($s, 'wrap@site.example', "Subject: wrap\r\n\r\nwrapped\r\n");
$pid = smtp_sink_start("$dir/wrap", $sink);
($rc, $out, $err) = client_at($o->{sport}, '-t', 'wrap', '-V', '-u', 'demo',
    '-w', 'demo', '-P', $sink);
is($rc, 77, 'an unverifiable certificate with -V: exit 77') or diag($out, $err);
like($out, qr/certificate not verified/, 'the error says so');
ok((grep { $_ eq $wrap_id } $s->queue_files), 'nothing released');
($rc, $out, $err) = client_at($o->{sport}, '-t', 'wrap', '-a', 'PLAIN', '-u',
    'demo', '-w', 'demo', '-P', $sink);
is($rc, 0, 'TLS on connect, PLAIN inside it: exit 0') or diag($out, $err);
ok(wait_for(sub { !grep { $_ eq $wrap_id } $s->queue_files }, 20),
    'the message left the queue');
is(scalar(sink_texts("$dir/wrap")), 1, 'and reached the MTA');
smtp_sink_stop($pid);

# --- a server whose replies do not line up with our commands ---
$pid = smtp_sink_start("$dir/sink3", $sink);
$fake = FakeOdmr->start(dir => "$dir/fake-stray", cue => 'stray_after_ehlo');
($rc, $out, $err) = client_at($fake->port, '-t', 'none', '-u', 'demo', '-w',
    'demo', '-P', $sink);
is($rc, 75, 'a reply too many after EHLO: exit 75') or diag($out, $err);
like($out, qr/protocol error: .* sent data before our command was sent/, 'named');
unlike($fake->transcript, qr/^AUTH/m, 'no AUTH went out after the lie');
$fake->stop;
smtp_sink_stop($pid);

# --- another ODMR server plays the sender: its "." is answered with what
# the MTA said, 450 when the MTA defers, never 250 ---
for my $case ([soft => ['-r', '.'], qr/^450 /m], [ok => [], qr/^250 2\.0\.0 Ok/m]) {
	my ($name, $opt, $want_reply) = @$case;
	my $port = free_port();
	$pid = smtp_sink_start("$dir/turn-$name", $port, @$opt);
	$fake = FakeOdmr->start(dir => "$dir/fake-turn-$name", cue => 'turn',
	    rcpts => ['t1@site.example'],
	    body => "Subject: turn\r\n\r\n.dot first\r\nlast\r\n");
	($rc, $out, $err) = client_at($fake->port, '-u', 'demo', '-w', 'demo',
	    '-t', 'none', '-P', $port);
	is($rc, $name eq 'ok' ? 0 : 75, "turn ($name): exit code") or diag($out, $err);
	ok(wait_for(sub { $fake->replies =~ /^221 /m }, 20), "turn ($name): the session ended with QUIT");
	my ($dot) = $fake->replies =~ /^354 [^\n]*\n(.*?\n)/ms;
	like($dot // '', $want_reply, "turn ($name): the dot's answer is the MTA's")
	    or diag($fake->replies);
	if ($name eq 'ok') {
		my @t = sink_texts("$dir/turn-ok");
		is($t[0], "Subject: turn\n\n.dot first\nlast\n",
		    'turn (ok): the content arrived unstuffed, as sent');
	}
	$fake->stop;
	smtp_sink_stop($pid);
}

# --- a server that speaks before our greeting after ATRN ---
$pid = smtp_sink_start("$dir/sink2", $sink);
$fake = FakeOdmr->start(dir => "$dir/fake-early", cue => 'early_after_atrn');
($rc, $out, $err) = client_at($fake->port, '-u', 'demo', '-w', 'demo', '-t',
    'none', '-P', $sink);
is($rc, 75, 'data before our greeting: exit 75') or diag($out, $err);
like($out, qr/protocol error: .* sent data before our greeting/, 'named');
$fake->stop;
smtp_sink_stop($pid);

done_testing;
