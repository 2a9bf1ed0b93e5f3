# FakeDNS - a DNS server on a loopback port for tests (Net::DNS).
#
#	my $dns = FakeDNS->start(
#	    'site.example' => ['MX 10 sink.test', 'MX 20 mx.sluice.test'],
#	    'sink.test' => ['A 127.0.0.1']);
#	... $dns->port ...
#	$dns->stop;
#
# Names not listed answer NXDOMAIN; a listed name without a record of the
# asked type answers NOERROR with no data. A name may map to a cue
# instead of records, for hostile answers:
#	'x.example' => 'SERVFAIL'	SERVFAIL
#	'x.example' => 'NXDOMAIN'	NXDOMAIN (as an unlisted name)
#	'x.example' => 'POINTERLOOP'	a malformed answer: one record whose
#					data name is a compression pointer
#					to itself (RFC 1035 4.1.4), a loop
#	'x.example' => 'TIMEOUT'	no answer at all (a server that is down
#					for this name: the client times out)
# With a key 'LOG' => FILE, every question received is appended to FILE
# as a line "NAME TYPE" (what a test asserts was never asked).
# Reverse DNS is a zone like any other:
#	'5.0.0.127.in-addr.arpa' => ['PTR mx.sluice.test']
# The server answers UDP only (a small loop of our own over Net::DNS
# packets), so that a malformed answer can be sent byte by byte.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package FakeDNS;

use strict;
use warnings;

use IO::Socket::INET;
use Net::DNS;
use POSIX ();

sub start {
	my ($class, %zone) = @_;
	my $log = delete $zone{LOG};
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
		return ('NXDOMAIN', [], [], [], { aa => 1 })
		    unless defined $recs && $recs ne 'NXDOMAIN';
		return ($recs, [], [], []) unless ref $recs;
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
		_serve($port, $handler, $log);
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

# _serve PORT, HANDLER - answer UDP queries on 127.0.0.1:PORT for ever
sub _serve {
	my ($port, $handler, $log) = @_;
	my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => $port, Proto => 'udp') or POSIX::_exit(1);
	while (1) {
		my $peer = $sock->recv(my $buf, 4096) // next;
		my $q = eval { Net::DNS::Packet->new(\$buf) } or next;
		my ($question) = $q->question or next;
		if (defined $log && open my $lf, '>>', $log) {
			print $lf lc($question->qname), ' ', $question->qtype, "\n";
			close $lf;
		}
		my ($rcode, $ans, $auth, $add, $flags) = $handler->($question->qname,
		    $question->qclass, $question->qtype);
		next if $rcode eq 'TIMEOUT';
		my $out;
		if ($rcode eq 'POINTERLOOP') {
			$out = _pointer_loop($q, $question);
		} else {
			my $r = $q->reply;
			$r->header->rcode($rcode);
			$r->header->aa(1) if $flags && $flags->{aa};
			$r->push(answer => @$ans);
			$r->push(authority => @$auth);
			$r->push(additional => @$add);
			$out = $r->data;
		}
		$sock->send($out, 0, $peer);
	}
}

# _pointer_loop QUERY, QUESTION - an answer of the asked type whose
# record data holds a name that is a compression pointer to itself
sub _pointer_loop {
	my ($q, $question) = @_;
	my $qsec = $question->encode;
	# Header: the query's ID, QR AA RD RA, NOERROR; 1 question, 1 answer.
	my $h = pack 'n n n n n n', $q->header->id, 0x8580, 1, 1, 0, 0;
	my $at = length($h) + length($qsec);
	my $type = $question->qtype eq 'MX' ? 15 : $question->qtype eq 'AAAA' ? 28 : 1;
	# Owner: a pointer to the question's name (offset 12).
	my $rr = pack('n n n N', 0xC00C, $type, 1, 60);
	# RDATA: for MX a preference, then the name: a pointer to itself.
	my $name_at = $at + length($rr) + 2 + ($type == 15 ? 2 : 0);
	my $rdata = ($type == 15 ? pack('n', 10) : '') . pack('n', 0xC000 | $name_at);
	return $h . $qsec . $rr . pack('n', length $rdata) . $rdata;
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
