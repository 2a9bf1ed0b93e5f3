# SlowClient - a misbehaving peer for the deadline tests (t/51-t/53): it
# connects to a door and then trickles its text one octet at a time, or
# one line at a time, never fast enough to finish and never idle long
# enough to meet an idle timeout. It reads whatever the server says and
# notices when the server closes the connection.
#
#	use SlowClient qw(drip_until_closed);
#	my $c = SlowClient->new(port => $p, from => '127.0.0.10',
#	    text => "EHLO " . ('x' x 200) . "\r\n");
#	drip_until_closed([$c], every => 0.5);
#	ok($c->closed, 'the server hung up'); like($c->got, qr/^421 /m);
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package SlowClient;

use strict;
use warnings;

use Errno qw(EAGAIN EWOULDBLOCK EINPROGRESS);
use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

our @EXPORT_OK = qw(drip_until_closed);

# new(port => P, from => LOCALADDR, text => BYTES, unit => 'octet'|'line',
#     greeting => 1) - connect (undef when the connection is refused).
# unit 'line' sends a whole line per step (for session deadlines);
# greeting waits for the server's first line before the first step.
sub new {
	my ($class, %o) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $o{port}, Proto => 'tcp', Timeout => 10,
	    ($o{from} ? (LocalAddr => $o{from}) : ())) or return undef;
	binmode $s;
	$s->blocking(0);
	my $self = bless { sock => $s, text => $o{text} // '', at => 0,
	    unit => $o{unit} // 'octet', got => '', closed => 0 }, $class;
	return $self;
}

sub got { $_[0]{got} }
sub closed { $_[0]{closed} }
sub sock { $_[0]{sock} }
# finished - has the whole text been sent (the server never stopped us)?
sub finished { $_[0]{at} >= length $_[0]{text} }

# read_some - take what the server sent; notice its close.
sub read_some {
	my ($self) = @_;
	return if $self->{closed};
	while (1) {
		my $n = sysread($self->{sock}, my $buf, 4096);
		if (!defined $n) {
			return if $! == EAGAIN || $! == EWOULDBLOCK;
			$self->{closed} = 1;	# reset by the server
			return;
		}
		if ($n == 0) {
			$self->{closed} = 1;
			return;
		}
		$self->{got} .= $buf;
	}
}

# step - send the next octet (or line); false once closed or finished.
sub step {
	my ($self) = @_;
	$self->read_some;
	return 0 if $self->{closed} || $self->finished;
	my $len = 1;
	if ($self->{unit} eq 'line') {
		my $lf = index($self->{text}, "\n", $self->{at});
		$len = ($lf < 0 ? length $self->{text} : $lf + 1) - $self->{at};
	}
	local $SIG{PIPE} = 'IGNORE';
	my $n = syswrite($self->{sock}, $self->{text}, $len, $self->{at});
	if (!defined $n) {
		$self->{closed} = 1 unless $! == EAGAIN || $! == EWOULDBLOCK;
		return !$self->{closed};
	}
	$self->{at} += $n;
	return 1;
}

# drip_until_closed [CLIENTS], every => S, until => CODE - step every
# open client each S seconds, watching all of them for the server's
# words and close meanwhile, until every client is closed or has sent
# its whole text (or CODE returns true). The text's length, not a
# clock, decides when a client gives up.
sub drip_until_closed {
	my ($clients, %o) = @_;
	my $every = $o{every} // 0.5;
	while (1) {
		my @live = grep { !$_->closed && !$_->finished } @$clients;
		last unless @live;
		last if $o{until} && $o{until}->();
		$_->step for @live;
		my $sel = IO::Select->new(map { $_->sock } grep { !$_->closed } @live);
		my $end = time + $every;
		while ((my $left = $end - time) > 0 && $sel->count) {
			my @r = $sel->can_read($left) or last;
			for my $c (@live) {
				next unless grep { $_ == $c->sock } @r;
				$c->read_some;
				$sel->remove($c->sock) if $c->closed;
			}
		}
	}
	$_->read_some for @$clients;
}

1;
