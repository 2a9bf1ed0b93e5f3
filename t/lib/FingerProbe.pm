# FingerProbe - helpers for the finger and prober tests (t/5x-finger*.t,
# t/5x-prober*.t): a customer's mail server (Postfix's smtp-sink, one file
# per message), raw finger queries, and waiting for log lines.
#
#	use FingerProbe qw(finger_query sink_start sink_stop sink_messages);
#	my $sink = sink_start("$dir/sink", $port);
#	my $answer = finger_query($fport, "site.example\r\n");
#	sink_stop($sink);
package FingerProbe;

use strict;
use warnings;
no warnings qw(exec);

use Exporter qw(import);
use File::Path qw(make_path);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(setpgid);
use Time::HiRes qw(sleep time);

use SluiceTest qw(tool wait_for slurp);

our @EXPORT_OK = qw(finger_query finger_port_up sink_start sink_stop
    sink_messages log_count wait_log);

my @pids;	# sinks still running, killed at the end whatever happens

END {
	my $st = $?;
	kill 'KILL', @pids if @pids;
	$? = $st;
}

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

# finger_port_up PORT - wait until the finger port accepts connections.
sub finger_port_up {
	my ($port) = @_;
	return wait_for(sub {
		my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
		    PeerPort => $port, Proto => 'tcp', Timeout => 2) or return 0;
		close $c;
		return 1;
	}, 20);
}

# sink_start DIR, PORT - smtp-sink on 127.0.0.1:PORT, each message into
# DIR (one file per message); returns its pid once it accepts.
sub sink_start {
	my ($dir, $port) = @_;
	my $bin = tool('smtp-sink');
	(my $root = $bin) =~ s{/usr/sbin/smtp-sink$}{};
	make_path($dir);
	my $user = getpwuid($>);
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		setpgid(0, 0);
		$ENV{LD_LIBRARY_PATH} = "$root/usr/lib/postfix";
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$dir.log";
		open STDERR, '>>', "$dir.log";
		exec $bin, '-u', $user, '-d', "$dir/%M.", "127.0.0.1:$port", 100;
		POSIX::_exit(127);
	}
	push @pids, $pid;
	wait_for(sub {
		IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 2)
	}, 10) or die "smtp-sink on $port did not start\n";
	return $pid;
}

# sink_stop PID - stop a sink and wait until it is gone.
sub sink_stop {
	my ($pid) = @_;
	kill 'TERM', $pid;
	waitpid $pid, 0;
	@pids = grep { $_ != $pid } @pids;
}

# sink_messages DIR - the messages the sink stored, oldest name first.
sub sink_messages {
	my ($dir) = @_;
	opendir my $dh, $dir or return ();
	return map { slurp("$dir/$_") } sort grep { !/^\./ } readdir $dh;
}

# log_count SLUICE, REGEX - how many lines of the log match.
sub log_count {
	my ($s, $re) = @_;
	return scalar grep { $_ =~ $re } split /\n/, $s->log_text;
}

# wait_log SLUICE, REGEX [, SECONDS] - wait for a log line; true if seen.
sub wait_log {
	my ($s, $re, $secs) = @_;
	return wait_for(sub { log_count($s, $re) > 0 }, $secs // 20);
}

1;
