# Release - helpers shared by the release-path tests (t/8x-*.t).
#
#	use Release qw(swaks_mail flush log_count wait_log);
#	my ($qid, $sent, $mid) = swaks_mail($s, $oracle, from => 'a@x',
#	    to => 'u@y');
#	my ($rc, $out) = flush($s, 'site.example');
#	...
#	finish($s, $t0, $sink, $oracle);
#	done_testing();
#
# swaks_mail sends one message with swaks twice: first to an oracle sink
# (Sink.pm), which records exactly the bytes swaks sends, then to sluice.
# The oracle's copy is what the customer's server must receive after
# sluice's own Received: header.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package Release;

use strict;
use warnings;

use Exporter qw(import);
use Test::More;
use Time::HiRes ();
use SluiceTest qw(wait_for slurp spew);
use Sink;

our @EXPORT_OK = qw(swaks_mail message_text flush log_count wait_log
    received_id finish held_site barrier_domain barrier);

my $seq = 0;

# message_text MID, SUBJECT - a message that exercises the byte path:
# leading dots, a lone dot, trailing blanks, a long line, 8-bit text.
sub message_text {
	my ($mid, $subject) = @_;
	my $t = "From: Sender <sender\@sender.example>\n"
	    . "To: user\@site.example\n"
	    . "Subject: $subject\n"
	    . "Message-ID: <$mid>\n"
	    . "MIME-Version: 1.0\n"
	    . "Content-Type: text/plain; charset=utf-8\n"
	    . "Content-Transfer-Encoding: 8bit\n"
	    . "\n"
	    . "first line of <$mid>\n"
	    . ".a line with a leading dot\n"
	    . "..two leading dots\n"
	    . ".\n"
	    . "trailing blanks \t \n"
	    . ('x' x 900) . "\n"
	    . "gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\n"
	    . "last line\n";
	return $t;
}

# swaks_mail SLUICE, ORACLE, from => F, to => T|[T...], mid => M,
# subject => S - send with swaks to the oracle, then to sluice. Returns
# (queue ID or undef, the bytes the oracle recorded, "<Message-ID>").
sub swaks_mail {
	my ($s, $oracle, %o) = @_;
	my $mid = $o{mid} // sprintf 'rel-%d-%d@sender.example', $$, ++$seq;
	my @to = ref $o{to} ? @{ $o{to} } : ($o{to} // 'user@site.example');
	my $file = $s->dir . "/msg-$$-" . ++$seq . '.txt';
	spew($file, message_text($mid, $o{subject} // "release test $mid"));
	my @args = ('--from', $o{from} // 'sender@sender.example',
	    '--to', join(',', @to), '--data', "\@$file");
	my $before = $oracle->count;
	my ($rc, $out, $err) = SluiceTest::run_cmd([SluiceTest::tool('swaks'),
	    '--server', '127.0.0.1', '--port', $oracle->port,
	    '--helo', 'client.sluice.test', @args], timeout => 60);
	wait_for(sub { $oracle->count > $before }, 10)
	    or diag("swaks to the oracle sink: exit $rc: $out$err");
	my ($m) = grep { $_->{mid} eq "<$mid>" } $oracle->messages;
	($rc, $out) = $s->swaks(@args);
	my ($qid) = $out =~ /queued as ([0-9A-F]{20})/;
	diag("swaks to sluice: exit $rc: $out") unless $rc == 0 && $qid;
	return ($qid, $m ? $m->{data} : undef, "<$mid>");
}

# flush SLUICE, DOMAIN - `sluice flush DOMAIN`: (exit status, output)
sub flush {
	my ($s, $domain) = @_;
	my ($rc, $out, $err) = $s->cli('flush', $domain);
	return ($rc, $out . $err);
}

# log_count SLUICE, REGEX - SluiceTest's log_count (how many lines match)
sub log_count {
	my ($s, $re) = @_;
	return $s->log_count($re);
}

# wait_log SLUICE, REGEX [, SECONDS [, N]] - SluiceTest's wait_log
sub wait_log {
	my ($s, $re, $secs, $n) = @_;
	return $s->wait_log($re, $secs // 30, $n);
}

# received_id DATA - the queue ID in sluice's Received: header on top
sub received_id {
	my ($data) = @_;
	my ($rcvd) = SluiceTest::strip_received($data);
	return undef unless defined $rcvd;
	my ($id) = $rcvd =~ /\(sluice\) with \S+ id ([0-9A-F]{20})\b/;
	return $id;
}

# finish SLUICE, T0, SERVERS - the end of a test: no sanitizer report
# or panic in the log, everything stopped, the run time reported.
sub finish {
	my ($s, $t0, @servers) = @_;
	my @bad = grep { /AddressSanitizer|runtime error|panic/ }
	    split /\n/, $s->log_text;
	ok(!@bad, 'no sanitizer report or panic')
	    or diag(join("\n", 'in the log:', @bad[0 .. ($#bad < 20 ? $#bad : 19)]));
	$s->stop;
	$_->stop for @servers;
	diag(sprintf 'run time %.1fs', Time::HiRes::time() - $t0);
}

# held_site DOMAIN_OPTIONS - a sluice with site.example held and routed
# to a sink, plus an oracle sink for swaks_mail; started. Returns
# (sluice, sink, oracle). DOMAIN_OPTIONS are more key=value words.
sub held_site {
	my ($opts) = @_;
	my $s = SluiceTest->new(domains => ['placeholder']);
	my $sink = Sink->start(dir => $s->dir . '/sink');
	my $oracle = Sink->start(dir => $s->dir . '/oracle');
	$s->set_domains('site.example mode=hold route=[127.0.0.1]:' . $sink->port
	    . ' probe=no ' . ($opts // 'lease=60s'));
	$s->start;
	return ($s, $sink, $oracle);
}

# barrier_domain SINK - the domains-table line for barrier(): a backup
# domain, barrier.example, routed to SINK (a Sink.pm of its own).
sub barrier_domain {
	my ($sink) = @_;
	return 'barrier.example mode=backup route=[127.0.0.1]:' . $sink->port
	    . ' probe=no';
}

# barrier SLUICE, ORACLE - the event after which an absence means
# something: one message to ctl@barrier.example (see barrier_domain),
# sent now; wait for its status=sent line and qmgr's "removed". qmgr
# takes smtpd's notices in order and hands new mail to deliver as it
# indexes it, so any message queued before this one that was going to
# go out without a trigger was handed to deliver before it (deliver runs
# jobs side by side: such a job had the head start of a whole swaks
# session, not a guarantee to end first). Returns the barrier's queue
# ID, or undef if it was not delivered (then the caller's absence check
# proves nothing, and the caller's ok() on it fails).
sub barrier {
	my ($s, $oracle) = @_;
	my ($qid) = swaks_mail($s, $oracle, to => 'ctl@barrier.example',
	    subject => 'barrier');
	return undef unless $qid;
	return $s->wait_log(qr/\Q$qid\E: to=<ctl\@barrier\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, [^\n]*status=sent \(250 /)
	    && $s->wait_log(qr/\Q$qid\E: removed$/) ? $qid : undef;
}

1;
