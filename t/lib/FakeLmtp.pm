# FakeLmtp - an LMTP server (RFC 2033) whose answer after the final "."
# is chosen per recipient: the site's mailbox store with one box full.
#
#	my $l = FakeLmtp->start(dir => D,
#	    final => { 'b@site.example' => '452 4.2.2 Mailbox full' });
#	... odmr_client_run -L -P $l->port ...
#	$l->bodies;	# how many messages some recipient took
#	$l->stop;
#
# Every other recipient gets "250 2.0.0 Ok" after the ".". Each message
# the server received whole is kept as DIR/N.msg (dot-stuffing undone).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package FakeLmtp;

use strict;
use warnings;

use Socket qw(IPPROTO_TCP TCP_NODELAY);
use FakeOdmr;
use SluiceTest qw(slurp spew);

# The listener and start() (options kept for the session) are Sink's.
our @ISA = ('FakeOdmr');

# bodies - how many whole messages arrived
sub bodies {
	my ($self) = @_;
	opendir my $dh, $self->{dir} or return 0;
	return scalar grep { /^\d+\.msg$/ } readdir $dh;
}

# _serve SOCK - one session (Sink calls it in the session's process)
sub _serve {
	my ($self, $c) = @_;
	my $want = $self->{opts}{final} || {};
	my %final = map { lc($_) => $want->{$_} } keys %$want;
	alarm 120;
	binmode $c;
	setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
	my $say = sub { SluiceTest::smtp_send($c, join '', @_) };
	my @rcpt;
	$say->("220 lmtp.test LMTP\r\n");
	while (defined(my $line = SluiceTest::_readline($c, 60))) {
		my $cmd = uc substr($line, 0, 4);
		if ($cmd eq 'LHLO') {
			$say->("250-lmtp.test\r\n250 8BITMIME\r\n");
		} elsif ($cmd eq 'MAIL' || $cmd eq 'RSET') {
			@rcpt = ();
			$say->("250 2.1.0 Ok\r\n");
		} elsif ($cmd eq 'RCPT') {
			push @rcpt, $line =~ /<([^>]*)>/ ? lc $1 : '';
			$say->("250 2.1.5 Ok\r\n");
		} elsif ($cmd eq 'DATA') {
			$say->("354 go ahead\r\n");
			my ($body, $done) = SluiceTest::smtp_read_data($c, 60);
			last unless $done;
			if (grep { !$final{$_} } @rcpt) {
				my $n = 1;
				$n++ while -e "$self->{dir}/$n.msg" || -e "$self->{dir}/$n.tmp";
				spew("$self->{dir}/$n.tmp", $body);
				rename "$self->{dir}/$n.tmp", "$self->{dir}/$n.msg";
			}
			$say->(map { ($final{$_} // '250 2.0.0 Ok') . "\r\n" } @rcpt);
		} elsif ($cmd eq 'QUIT') {
			$say->("221 2.0.0 Bye\r\n");
			last;
		} else {
			$say->("502 5.5.2 what\r\n");
		}
	}
	close $c;
}

1;
