# FakeDNS - a DNS server on a loopback port for tests (Net::DNS).
#
#	my $dns = FakeDNS->start(
#	    'site.example' => ['MX 10 sink.test', 'MX 20 mx.sluice.test'],
#	    'sink.test' => ['A 127.0.0.1']);
#	... $dns->port ...
#	$dns->stop;
#
# Names not listed answer NXDOMAIN; a listed name without a record of the
# asked type answers NOERROR with no data. 'servfail.example' => 'SERVFAIL'
# answers SERVFAIL.
package FakeDNS;

use strict;
use warnings;

use IO::Socket::INET;
use Net::DNS;
use Net::DNS::Nameserver;
use POSIX ();

sub start {
	my ($class, %zone) = @_;
	my $port;
	for (1 .. 20) {
		my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
		    LocalPort => 0, Proto => 'udp') or die "bind udp: $!\n";
		$port = $s->sockport;
		close $s;
		last;
	}
	my $handler = sub {
		my ($qname, $qclass, $qtype) = @_;
		my $recs = $zone{lc $qname};
		return ('NXDOMAIN', [], [], [], { aa => 1 }) unless defined $recs;
		return ('SERVFAIL', [], [], []) if !ref $recs && $recs eq 'SERVFAIL';
		my @ans;
		for my $r (@$recs) {
			my ($type) = split ' ', $r;
			next unless $type eq $qtype;
			push @ans, Net::DNS::RR->new("$qname 60 IN $r");
		}
		return ('NOERROR', \@ans, [], [], { aa => 1 });
	};
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		my $ns = Net::DNS::Nameserver->new(LocalAddr => '127.0.0.1',
		    LocalPort => $port, ReplyHandler => $handler, Verbose => 0)
		    or POSIX::_exit(1);
		$ns->main_loop;
		POSIX::_exit(0);
	}
	my $self = bless { pid => $pid, port => $port }, $class;
	# Wait until it answers.
	my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
	    port => $port, udp_timeout => 1, retry => 1);
	for (1 .. 50) {
		my $p = $res->send('probe.invalid', 'A');
		return $self if $p;
		select undef, undef, undef, 0.1;
	}
	$self->stop;
	die "fake DNS server on port $port did not answer\n";
}

sub port { $_[0]{port} }

sub stop {
	my ($self) = @_;
	return unless $self->{pid};
	kill 'TERM', $self->{pid};
	waitpid $self->{pid}, 0;
	$self->{pid} = undef;
}

sub DESTROY { $_[0]->stop }

1;
