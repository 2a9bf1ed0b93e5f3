# Sink - a Perl SMTP server for tests that keeps every byte it receives:
# the customer's server, or the sender's, in the release-path tests.
#
#	use Sink;
#	my $sink = Sink->start(dir => "$dir/sink");
#	... route=[127.0.0.1]:$sink->port ...
#	my @m = $sink->messages;	# {file, from, rcpt => [...], data, mid}
#	$sink->stop;
#
# Each message is written as two files in dir: N.env (MAIL FROM address,
# then one RCPT TO address a line) and N.msg (the DATA bytes exactly as
# sent, dot-stuffing undone). N.msg is renamed into place last, so a
# message counts only once it is complete, and before the sink answers
# 250 to the final dot: a sender crash after that answer can only
# duplicate, never lose.
#
# Options: addr => A (default 127.0.0.1), port => P (default: a free
# one), rcpt_reply => {ADDRESS =>
# "550 5.1.1 no such user"} (case-insensitive), data_delay => SECONDS
# (wait after the final dot, before keeping the message and
# answering, to slow a flush down).
# Each connection is served by its own process, all in the sink's process
# group, so stop() takes the listener and every session down at once.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package Sink;

use strict;
use warnings;

use IO::Socket::INET;
use POSIX qw(setpgid);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep);
use SluiceTest qw(free_port slurp);

my @running;

# start(dir => D, %options) - listen (the port is bound on return), serve
sub start {
	my ($class, %o) = @_;
	my $dir = $o{dir} or die "Sink->start: dir is required\n";
	mkdir $dir unless -d $dir;
	my $port = $o{port} // free_port();
	my $addr = $o{addr} // '127.0.0.1';
	my $l = IO::Socket::INET->new(LocalAddr => $addr,
	    LocalPort => $port, Proto => 'tcp', Listen => 128, ReuseAddr => 1)
	    or die "sink: listen $addr:$port: $!\n";
	my %rcpt = map { lc($_) => $o{rcpt_reply}{$_} }
	    keys %{ $o{rcpt_reply} || {} };
	# opts: every option given, for a subclass's _serve (its cues).
	my $self = bless { dir => $dir, port => $port, rcpt => \%rcpt,
	    data_delay => $o{data_delay} // 0, opts => {%o} }, $class;
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		setpgid(0, 0);
		$SIG{CHLD} = 'IGNORE';
		$SIG{TERM} = sub { POSIX::_exit(0) };
		while (1) {
			my $c = $l->accept or next;
			my $kid = fork;
			if (defined $kid && $kid == 0) {
				close $l;
				$self->_serve($c);
				POSIX::_exit(0);
			}
			close $c;
		}
	}
	setpgid($pid, $pid);
	close $l;
	$self->{pid} = $pid;
	push @running, $self;
	return $self;
}

# quit_or_unknown SAY, CMD - the end of a fake server's command chain:
# QUIT gets 221 and true (end the session), anything else 502 and false.
sub quit_or_unknown {
	my ($say, $cmd) = @_;
	if ($cmd eq 'QUIT') {
		$say->("221 2.0.0 Bye\r\n");
		return 1;
	}
	$say->("502 5.5.2 what\r\n");
	return 0;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }

# _serve SOCK - one SMTP session, in its own process
sub _serve {
	my ($self, $c) = @_;
	binmode $c;
	$c->autoflush(1);
	# Each reply is its own write: without this, Nagle's algorithm and
	# the client's delayed ACK stall every pipelined reply by ~40 ms.
	setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
	# Never outlive a stuck test.
	alarm 600;
	my $seq = 0;
	my ($from, @rcpt);
	print {$c} "220 sink.test ESMTP test sink\r\n";
	while (defined(my $line = <$c>)) {
		my $cmd = uc(substr($line, 0, 4));
		if ($cmd eq 'EHLO') {
			print {$c} "250-sink.test\r\n250-PIPELINING\r\n"
			    . "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
		} elsif ($cmd eq 'HELO') {
			print {$c} "250 sink.test\r\n";
		} elsif ($cmd eq 'MAIL') {
			($from) = $line =~ /<([^>]*)>/;
			$from //= '';
			@rcpt = ();
			print {$c} "250 2.1.0 Ok\r\n";
		} elsif ($cmd eq 'RCPT') {
			my ($to) = $line =~ /<([^>]*)>/;
			$to //= '';
			my $r = $self->{rcpt}{lc $to};
			if (defined $r) {
				print {$c} "$r\r\n";
			} else {
				push @rcpt, $to;
				print {$c} "250 2.1.5 Ok\r\n";
			}
		} elsif ($cmd eq 'DATA') {
			if (!@rcpt) {
				print {$c} "554 5.5.1 no valid recipients\r\n";
				next;
			}
			print {$c} "354 End data with <CR><LF>.<CR><LF>\r\n";
			my $data = '';
			my $done = 0;
			while (defined(my $l = <$c>)) {
				if ($l eq ".\r\n") {
					$done = 1;
					last;
				}
				$l =~ s/^\.//;
				$data .= $l;
			}
			last unless $done;
			# The pause comes before the commit, so that it does
			# not widen the window in which a sender crash duplicates.
			sleep $self->{data_delay} if $self->{data_delay};
			my $name = sprintf '%d.%d.%d', time, $$, ++$seq;
			$self->_store($name, $from, \@rcpt, $data);
			print {$c} "250 2.0.0 Ok: queued as $name\r\n";
			@rcpt = ();
		} elsif ($cmd eq 'RSET') {
			@rcpt = ();
			print {$c} "250 2.0.0 Ok\r\n";
		} elsif ($cmd eq 'NOOP') {
			print {$c} "250 2.0.0 Ok\r\n";
		} elsif ($cmd eq 'QUIT') {
			print {$c} "221 2.0.0 Bye\r\n";
			last;
		} else {
			print {$c} "502 5.5.2 command not recognized\r\n";
		}
	}
	close $c;
}

# _store NAME, FROM, RCPTS, DATA - N.env, then N.msg renamed into place
sub _store {
	my ($self, $name, $from, $rcpt, $data) = @_;
	my $d = $self->{dir};
	SluiceTest::spew("$d/$name.env", join '', map { "$_\n" } $from, @$rcpt);
	SluiceTest::spew("$d/.$name.tmp", $data);
	rename "$d/.$name.tmp", "$d/$name.msg"
	    or die "sink: rename $name: $!\n";
}

# count - how many complete messages arrived so far
sub count {
	my ($self) = @_;
	opendir my $dh, $self->{dir} or return 0;
	my $n = grep { /\.msg$/ } readdir $dh;
	return $n;
}

# messages - every complete message, oldest first: hash refs {file,
# from, rcpt => [..], data, mid (Message-ID header value or ''), at
# (arrival: the file's modification time, in fractional seconds)}
sub messages {
	my ($self) = @_;
	my $d = $self->{dir};
	opendir my $dh, $d or return ();
	my @names = map { /^(.*)\.msg$/ ? $1 : () } readdir $dh;
	# time.pid.seq: arrival order within a second is good enough here.
	@names = sort {
		my @x = split /\./, $a;
		my @y = split /\./, $b;
		$x[0] <=> $y[0] || $x[1] <=> $y[1] || $x[2] <=> $y[2]
	} @names;
	my @m;
	for my $n (@names) {
		my $data = slurp("$d/$n.msg") // next;
		my $at = (Time::HiRes::stat("$d/$n.msg"))[9];
		my ($from, @rcpt) = split /\n/, slurp("$d/$n.env") // '';
		my ($hdr) = split /\r\n\r\n/, $data, 2;
		my ($mid) = ($hdr // '') =~ /^Message-ID:[ \t]*(\S+)/mi;
		push @m, { file => "$d/$n.msg", from => $from // '',
		    rcpt => \@rcpt, data => $data, mid => $mid // '',
		    at => $at // 0 };
	}
	return @m;
}

# stop - the listener and every session down; the port refuses again
sub stop {
	my ($self) = @_;
	my $pid = $self->{pid} or return;
	kill 'TERM', -$pid;
	kill 'KILL', -$pid;
	waitpid $pid, 0;
	$self->{pid} = undef;
	@running = grep { $_ != $self } @running;
}

END {
	my $st = $?;
	$_->stop for @running;
	$? = $st;
}

1;
