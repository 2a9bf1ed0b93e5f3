# FingerProbe - helpers for the finger and prober tests (t/5x-finger*.t,
# t/5x-prober*.t): a customer's mail server (Postfix's smtp-sink, one file
# per message), raw finger queries, and waiting for log lines.
#
#	use FingerProbe qw(finger_query sink_start sink_stop sink_messages);
#	my $sink = sink_start("$dir/sink", $port);
#	my $answer = finger_query($fport, "site.example\r\n");
#	sink_stop($sink);
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package FingerProbe;

use strict;
use warnings;

use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use POSIX qw(setpgid);
use SluiceTest qw(wait_for);
use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);

our @EXPORT_OK = qw(finger_query finger_port_up sink_start sink_stop
    sink_messages log_count wait_log hangup_server);

# finger_query PORT, BYTES [, FROM] - send BYTES to 127.0.0.1:PORT (from
# the loopback address FROM, so that tests can be several clients), read
# until the server closes; the answer, or undef when no connection could
# be made.
sub finger_query {
	my ($port, $bytes, $from) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    Proto => 'tcp', Timeout => 10,
	    ($from ? (LocalAddr => $from) : ())) or return undef;
	binmode $s;
	local $SIG{PIPE} = 'IGNORE';
	syswrite($s, $bytes) if length $bytes;
	my $sel = IO::Select->new($s);
	my $deadline = time + 30 * $SluiceTest::SLOW;
	my $out = '';
	while (time < $deadline) {
		last unless $sel->can_read($deadline - time);
		my $n = sysread($s, my $buf, 4096);
		last unless $n;
		$out .= $buf;
	}
	close $s;
	return $out;
}

# finger_port_up PORT [, ADDR] - wait until the finger port (of ADDR,
# 127.0.0.1 by default) accepts connections.
sub finger_port_up {
	my ($port, $addr) = @_;
	return wait_for(sub {
		my $c = IO::Socket::INET->new(PeerAddr => $addr // '127.0.0.1',
		    PeerPort => $port, Proto => 'tcp', Timeout => 2) or return 0;
		close $c;
		return 1;
	}, 20);
}

# sink_start DIR, PORT - smtp-sink on 127.0.0.1:PORT, each message into
# DIR (one file per message); returns its pid once it accepts.
sub sink_start { return smtp_sink_start(@_[0, 1]) }

# sink_stop PID - stop a sink and wait until it is gone.
sub sink_stop { smtp_sink_stop($_[0]) }

# sink_messages DIR - the messages the sink stored, oldest name first.
sub sink_messages { return smtp_sink_files($_[0]) }

# log_count SLUICE, REGEX - SluiceTest's log_count (how many lines match).
sub log_count {
	my ($s, $re) = @_;
	return $s->log_count($re);
}

# wait_log SLUICE, REGEX [, SECONDS] - SluiceTest's wait_log.
sub wait_log {
	my ($s, $re, $secs) = @_;
	return $s->wait_log($re, $secs // 20);
}

# hangup_server PORT, FILE - a server on 127.0.0.1:PORT that accepts and
# hangs up before any banner (every probe of it fails), writing the time
# of each connection to FILE; its pid once it records (the caller's own
# check is FILE's first line). Dies if it does not start.
sub hangup_server {
	my ($port, $file) = @_;
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		setpgid(0, 0);
		my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
		    Listen => 10, ReuseAddr => 1, Proto => 'tcp') or POSIX::_exit(1);
		while (my $c = $l->accept) {
			open my $fh, '>>', $file or POSIX::_exit(1);
			printf {$fh} "%.3f\n", time;
			close $fh;
			close $c;
		}
		POSIX::_exit(0);
	}
	wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") }, 10)
	    or die "the hang-up server did not start\n";
	wait_for(sub { -s $file }, 10) or die "the hang-up server does not record connections\n";
	return $pid;
}

1;
