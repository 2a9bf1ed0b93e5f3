# LyingMX - an ISP's MX host that lies to the site program on cue: the
# hostile peer of sluice-turn's tests (t/71-turn-etrn.t, t/72-turn-wait.t).
#
#	my $l = LyingMX->start(dir => D, addr => '127.0.0.6', port => P,
#	    cue => 'etrn459');
#	$l->stop;
#
# SMTP cues (the greeting, EHLO and QUIT are honest unless the cue says):
#   etrn458       ETRN: 458 (unable to queue now)
#   etrn459       ETRN: 459 (the node is not allowed)
#   etrn550       ETRN: 550
#   long_reply    EHLO: a reply of 100 lines
#   long_line     a greeting of 5,000 bytes on one line
#   bad_code      a greeting "2x0 hello"
#   mixed_codes   EHLO: "250-..." then "251 ..."
#   silent        connects, never says anything
#   honest        no lie, and no STARTTLS: ETRN gets 251
#   bad_tls       offers STARTTLS, says 220 to it, reads the client's
#                 hello and answers garbage; honest in plain text
#   tls_inject    the same, but with a line after the 220 in the same
#                 write, before any handshake (a STARTTLS injection)
# finger cues (one answer, then close):
#   finger_absurd  "Messages waiting: 99999999999"
#   finger_other   the status of another domain
#   finger_flood   20,000 bytes of status lines
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package LyingMX;

use strict;
use warnings;

use Sink;

our @ISA = ('Sink');
our $CUE;

# start(dir => D, addr => A, port => P, cue => C)
sub start {
	my ($class, %o) = @_;
	# Sink::start forks the listener, which inherits the cue.
	local $CUE = $o{cue};
	return $class->SUPER::start(%o);
}

# _serve SOCK - one session on cue (in the session's process)
sub _serve {
	my ($self, $c) = @_;
	my $cue = $CUE;
	binmode $c;
	alarm 60;
	my $say = sub { print {$c} map { "$_\r\n" } @_; $c->flush };
	if ($cue =~ /^finger_/) {
		my $q = <$c>;
		my $d = 'site.example';
		($d) = $q =~ /^(?:\/W\s+)?\??(\S+)/ if defined $q;
		$say->("Domain: $d", 'Messages waiting: 99999999999')
		    if $cue eq 'finger_absurd';
		$say->('Domain: other.example', 'Messages waiting: 0')
		    if $cue eq 'finger_other';
		$say->(("Domain: $d", 'Messages waiting: 0') x 700)
		    if $cue eq 'finger_flood';
		return;
	}
	if ($cue eq 'silent') {
		sleep 30;
		return;
	}
	return $say->('220 ' . ('x' x 5000)) if $cue eq 'long_line';
	return $say->('2x0 hello') if $cue eq 'bad_code';
	$say->('220 liar.isp.test ESMTP');
	while (defined(my $l = <$c>)) {
		$l =~ s/\r?\n\z//;
		if ($l =~ /^EHLO/i) {
			if ($cue eq 'long_reply') {
				$say->(map({ "250-LINE$_" } 1 .. 99), '250 ETRN');
			} elsif ($cue eq 'mixed_codes') {
				$say->('250-liar.isp.test', '251 ETRN');
			} elsif ($cue eq 'bad_tls' || $cue eq 'tls_inject') {
				$say->('250-liar.isp.test', '250-STARTTLS', '250 ETRN');
			} else {
				$say->('250-liar.isp.test', '250 ETRN');
			}
		} elsif ($l =~ /^STARTTLS/i && $cue eq 'tls_inject') {
			$say->('220 2.0.0 Ready to start TLS', '250 injected');
			return;
		} elsif ($l =~ /^STARTTLS/i && $cue eq 'bad_tls') {
			$say->('220 2.0.0 Ready to start TLS');
			# The client's hello first, then an answer that is no TLS.
			sysread $c, my $hello, 4096;
			$say->('this is no TLS record');
			return;
		} elsif ($l =~ /^ETRN (\S+)/i) {
			my $d = $1;
			$say->("458 4.7.0 Unable to queue messages for node $d")
			    if $cue eq 'etrn458';
			$say->("459 4.7.1 <$d>: not a domain queued here")
			    if $cue eq 'etrn459';
			$say->('550 5.7.1 no ETRN here') if $cue eq 'etrn550';
			$say->("251 2.0.0 OK, no messages waiting for node $d")
			    if $cue =~ /^(?:honest|bad_tls|tls_inject)$/;
		} elsif ($l =~ /^QUIT/i) {
			$say->('221 2.0.0 Bye');
			return;
		} else {
			$say->('502 5.5.2 no');
		}
	}
}

1;
