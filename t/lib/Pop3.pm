# Pop3 - helpers for the POP3 maildrop (pop3) integration tests.
#
#	use Pop3 qw(pop3_instance pop3_connect pop3_cmd pop3_multi);
#	my $o = pop3_instance(sink => $sink->{port});	# {s, port, sport}
#	my $c = pop3_connect($o->{port});		# greeting read
#	my $r = pop3_cmd($c, 'USER demo');		# "+OK ..."
#
# The customers are the ODMR tests' (Odmr.pm): demo owns site.example
# and more.example (pop3=yes) and nopop.example (pop3=no), acme owns
# other.example (pop3=yes); every domain is held and routed to the sink
# given (or to a port nobody listens on), so that only a release moves it.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package Pop3;

use strict;
use warnings;

use Exporter qw(import);
use IO::Socket::INET;
use Odmr qw(odmr_instance);
use SluiceTest qw(free_port);

our @EXPORT_OK = qw(pop3_instance pop3_connect pop3_cmd pop3_line pop3_multi);

# pop3_instance sink => PORT, conf => {...}, pop3s => 1 - the instance (not started)
sub pop3_instance {
	my (%o) = @_;
	my $port = free_port();
	my $sport = $o{pop3s} ? free_port() : undef;
	my $route = $o{sink} // free_port();
	my $o = odmr_instance(users => { demo => 'demo', acme => 'acme' },
	    conf => { pop3_listen => "127.0.0.1:$port",
		($sport ? (pop3s_listen => "127.0.0.1:$sport") : ()),
		%{ $o{conf} || {} } },
	    domains => [ map { "$_->[0] mode=hold route=[127.0.0.1]:$route probe=no owner=$_->[1] pop3=$_->[2]" }
		['site.example', 'demo', 'yes'], ['more.example', 'demo', 'yes'],
		['nopop.example', 'demo', 'no'], ['other.example', 'acme', 'yes'] ]);
	$o->{pop3_port} = $port;
	$o->{pop3s_port} = $sport;
	return $o;
}

# pop3_connect PORT - a connection with its greeting read: (sock, greeting)
sub pop3_connect {
	my ($port) = @_;
	my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    Proto => 'tcp', Timeout => 10) or return;
	return ($c, pop3_line($c));
}

# pop3_line SOCK - the next line, without CRLF; undef at EOF or after 30 s
# (times SLUICE_TEST_SLOW: 1,000 fsync'd collects answer one QUIT)
sub pop3_line {
	my ($c) = @_;
	my $line;
	eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm 30 * $SluiceTest::SLOW;
		$line = <$c>;
		alarm 0;
	};
	return undef unless defined $line;
	$line =~ s/\r?\n\z//;
	return $line;
}

# pop3_cmd SOCK, LINE - send LINE, return the one-line reply
sub pop3_cmd {
	my ($c, $line) = @_;
	print $c "$line\r\n";
	return pop3_line($c);
}

# pop3_multi SOCK, LINE - send LINE; (status line, [body lines unstuffed])
sub pop3_multi {
	my ($c, $line) = @_;
	my $st = pop3_cmd($c, $line);
	my @body;
	return ($st, \@body) unless defined $st && $st =~ /^\+OK/;
	while (defined(my $l = pop3_line($c))) {
		last if $l eq '.';
		$l =~ s/^\.//;
		push @body, $l;
	}
	return ($st, \@body);
}

1;
