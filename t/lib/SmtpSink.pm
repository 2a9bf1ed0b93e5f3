# SmtpSink - Postfix's smtp-sink as the customer's mail server, one file
# per message: the one launcher behind FingerProbe's sink_start, Smtpd2's
# sink_up and t/63-deliver.t (the Perl sink that keeps envelopes is
# Sink.pm).
#
#	use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);
#	my $pid = smtp_sink_start("$dir/sink", $port, '-f', 'RCPT');
#	my @texts = smtp_sink_files("$dir/sink");
#	smtp_sink_stop($pid);
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package SmtpSink;

use strict;
use warnings;
no warnings qw(exec);

use Exporter qw(import);
use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(setpgid);

use SluiceTest qw(tool wait_for slurp);

our @EXPORT_OK = qw(smtp_sink_start smtp_sink_stop smtp_sink_files);

my @pids;	# sinks still running, killed at the end whatever happens

END {
	my $st = $?;
	kill 'KILL', @pids if @pids;
	$? = $st;
}

# smtp_sink_start DIR, PORT, OPTIONS - smtp-sink OPTIONS on
# 127.0.0.1:PORT (or ADDR:PORT), each message a file in DIR, its output in DIR.log;
# its pid, once it accepts connections (dies if it does not).
sub smtp_sink_start {
	my ($dir, $port, @opt) = @_;
	# PORT, or ADDR:PORT for a sink on another loopback address.
	my $hp = $port =~ /:/ ? $port : "127.0.0.1:$port";
	my $bin = tool('smtp-sink');
	my %env = SluiceTest::postfix_env();
	make_path($dir);
	my $user = getpwuid($>);
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		setpgid(0, 0);
		@ENV{keys %env} = values %env;
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', "$dir.log";
		open STDERR, '>>', "$dir.log";
		exec $bin, '-u', $user, @opt, '-d', "$dir/%M.",
		    $hp, 100;
		POSIX::_exit(127);
	}
	push @pids, $pid;
	wait_for(sub {
		IO::Socket::INET->new(PeerAddr => $hp, Timeout => 2)
	}, 10) or die "smtp-sink on $port did not start (see $dir.log)\n";
	return $pid;
}

# smtp_sink_stop PID - stop a sink and reap it.
sub smtp_sink_stop {
	my ($pid) = @_;
	kill 'TERM', $pid;
	waitpid $pid, 0;
	@pids = grep { $_ != $pid } @pids;
}

# smtp_sink_files DIR - the texts of the messages stored, by file name.
sub smtp_sink_files {
	my ($dir) = @_;
	opendir my $dh, $dir or return ();
	return map { slurp("$dir/$_") } sort grep { !/^\./ } readdir $dh;
}

1;
