# Crash - helpers shared by the crash tests (t/30-crash.t,
# t/84-crash-flush.t, t/39-soak.t) and the soak (bench/soak): the
# messages a client sends, a client that keeps a ledger of what it was
# told, and the blame of duplicates on kills.
#
#	use Crash qw(message_for ledger_client ledger_read blame dup_kill);
#	my $text = message_for('m-1@client.sluice.test');
#	ledger_client(port => $s->port, ledger => "$dir/ledger.1",
#	    next_mid => sub { ... }, stop => sub { -e $stop });
#	my %led = ledger_read(glob "$dir/ledger.*");
#	my $b = blame(\%arrivals, \%kill_at);	# {deliver => N, qmgr => N}
#
# The ledger is one line per event, appended and flushed at once, so it
# is complete up to the moment a client stops:
#
#	T MID TIME		about to send MID (MAIL FROM is next)
#	A MID QUEUEID TIME	250 to the final dot, "queued as QUEUEID"
#	R MID CODE TIME		another reply to the final dot: not taken
#	X MID - TIME		the final dot was written, then no reply came
#				(connection closed or timed out): maybe taken
#	N MID WHY TIME		the final dot was never written (refused before
#				DATA, or the connection failed first): not taken
#
# TIME is the client's clock (Time::HiRes::time) in seconds.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package Crash;

use strict;
use warnings;

use Exporter qw(import);
use IO::Handle;
use Time::HiRes qw(sleep time);
use SluiceTest qw(smtp_connect smtp_reply smtp_send smtp_xact);

our @EXPORT_OK = qw(message_for ledger_client ledger_read blame dup_kill);

# message_for MID [, RCPT] - the exact content a crash-test client sends
# for that Message-ID (before dot-stuffing): what the queue file, and the
# customer's server after sluice's Received: header, must hold.
sub message_for {
	my ($mid, $rcpt) = @_;
	$rcpt //= 'user@site.example';
	my $m = "From: <crash\@client.sluice.test>\r\n"
	    . "To: <$rcpt>\r\n"
	    . "Subject: crash test $mid\r\n"
	    . "Message-ID: <$mid>\r\n\r\n";
	$m .= "body line $_ of <$mid>\r\n" for 1 .. 40;
	$m .= ".a dotted line of <$mid>\r\n";
	return $m;
}

# ledger_send SOCK, MID, %o - one transaction on an EHLO'd session, MAIL,
# RCPT and DATA pipelined (RFC 2920), then the content and the dot in one
# write. Returns the ledger outcome and its detail: (A, queue ID),
# (R, code), (X, '-') or (N, why).
sub ledger_send {
	my ($sock, $mid, %o) = @_;
	smtp_send($sock, "MAIL FROM:<$o{from}>\r\nRCPT TO:<$o{rcpt}>\r\nDATA\r\n")
	    or return ('N', 'write');
	for my $want (250, 250, 354) {
		my ($code) = smtp_reply($sock, $o{timeout});
		return ('N', $code // 'drop') unless defined $code && $code == $want;
	}
	(my $data = message_for($mid, $o{rcpt})) =~ s/^\./../mg;
	# Written in full or not at all as far as we can tell: only a
	# successful write of the dot makes the message "maybe taken".
	smtp_send($sock, "$data.\r\n") or return ('N', 'write');
	my ($code, $text) = smtp_reply($sock, $o{timeout});
	return ('X', '-') unless defined $code;
	return ('A', $1) if $code == 250 && $text =~ /queued as (\S+)/;
	return ('R', $code);
}

# ledger_client(port => P, ledger => FILE, next_mid => CODE, stop =>
# CODE, pause => CODE, per_session => N, every => S, from => A, rcpt => A,
# timeout => S) - send messages until stop returns true, none while pause
# returns true, at most one every S seconds (default: as fast as they
# go), N per connection (default 10), a new connection after any
# failure; every event goes to the ledger first. Returns the number of
# messages tried.
sub ledger_client {
	my (%o) = @_;
	$o{from} //= 'crash@client.sluice.test';
	$o{rcpt} //= 'user@site.example';
	$o{timeout} //= 30;
	my $per = $o{per_session} // 10;
	open my $led, '>>', $o{ledger} or die "open $o{ledger}: $!\n";
	$led->autoflush(1);
	local $SIG{PIPE} = 'IGNORE';
	my ($sock, $in_session, $tried, $last) = (undef, 0, 0, undef);
	until ($o{stop}->()) {
		if (!$sock) {
			my ($s, $code) = smtp_connect($o{port}, timeout => $o{timeout});
			my ($ecode) = $s && ($code // 0) == 220
			    ? smtp_xact($s, 'EHLO client.sluice.test') : ();
			if (($ecode // 0) != 250) {
				close $s if $s;
				sleep 0.05;
				next;
			}
			($sock, $in_session) = ($s, 0);
		}
		my $wait = ($last // 0) + ($o{every} // 0) - time;
		sleep $wait if $wait > 0;
		if ($o{pause} && $o{pause}->()) {
			sleep 0.1;
			next;
		}
		$last = time;
		my $mid = $o{next_mid}->();
		printf {$led} "T %s %.6f\n", $mid, time;
		my ($out, $detail) = ledger_send($sock, $mid, %o);
		printf {$led} "%s %s %s %.6f\n", $out, $mid, $detail, time;
		$tried++;
		if ($out ne 'A' || ++$in_session >= $per) {
			smtp_send($sock, "QUIT\r\n") if $out eq 'A';
			close $sock;
			$sock = undef;
		}
	}
	if ($sock) {
		smtp_xact($sock, 'QUIT');
		close $sock;
	}
	close $led;
	return $tried;
}

# ledger_read FILES - MID => {out => T|A|R|X|N, detail, t}: the last
# event of each Message-ID over all ledger files.
sub ledger_read {
	my (@files) = @_;
	my %led;
	for my $f (@files) {
		open my $fh, '<', $f or die "open $f: $!\n";
		while (my $line = <$fh>) {
			my ($out, $mid, @rest) = split ' ', $line;
			next unless defined $mid;
			my $t = pop @rest;
			$led{$mid} = { out => $out, detail => $rest[0] // '', t => $t };
		}
	}
	return %led;
}

# blame {ID => [TIMES]}, {PROGRAM => [KILL TIMES]} - duplicates by the
# kill nearest to the first copy's arrival: {deliver => N, qmgr => N, ..}
sub blame {
	my ($n, $kill_at) = @_;
	my %b = map { $_ => 0 } 'deliver', 'qmgr', keys %$kill_at;
	for my $times (grep { @$_ > 1 } values %$n) {
		my ($first) = sort { $a <=> $b } @$times;
		my ($who, $best);
		for my $p (keys %$kill_at) {
			for my $k (@{ $kill_at->{$p} }) {
				next if defined $best && abs($k - $first) >= $best;
				($who, $best) = ($p, abs($k - $first));
			}
		}
		$b{$who // 'deliver'} += @$times - 1;
	}
	return \%b;
}

# dup_kill T, [KILL TIMES] - the kill nearest to T, a copy's arrival, and
# its distance: (time, kill time - T), or () when there are no kills. A
# copy is sent again because deliver died after it sent the final dot
# and before its journal said so; the customer's server may keep the
# copy a little after that death (its reply then goes nowhere), so the
# kill can lie on either side of the arrival, as in blame().
sub dup_kill {
	my ($t, $kills) = @_;
	my ($k) = sort { abs($a - $t) <=> abs($b - $t) } @$kills;
	return defined $k ? ($k, $k - $t) : ();
}

1;
