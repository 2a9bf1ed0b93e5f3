# LyingServer - a scripted SMTP server that breaks the dialogue on cue:
# the customer's server (or the ODMR site) whose replies do not line up
# with the commands, for the tests of the client's reply matching.
#
#	my $l = LyingServer->start(dir => D, cue => 'data250', pipelining => 1);
#	... route=[127.0.0.1]:$l->port ...
#	$l->bodies;	# how many message bodies arrived, whole, after a 354
#	$l->stop;
#
#	LyingServer::serve($sock, cue => 'early', dir => D);	# on a
#	    connected socket: the site's side of a turned ODMR connection
#
# Cues (each lie goes out in one write with what precedes it, so that the
# client holds it in its input buffer):
#   data250               250 to DATA instead of 354
#   double_mail           two 250 lines to MAIL
#   stray_after_greeting  a 250 right after the 220 greeting
#   early                 the greeting and every reply of one transaction
#                         (EHLO, MAIL, RCPT, DATA, ".", QUIT) at once,
#                         before any command
#   early_silent          nothing at all (the greeting went out before):
#                         only reads and records
#   honest                no lie: an ordinary server
# Every line received goes to DIR/transcript; a body that ended with "."
# after a 354 is kept as DIR/body.PID.N (dot-stuffing undone).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package LyingServer;

use strict;
use warnings;

use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Sink;
use SluiceTest qw(slurp);

# The listener, its process group and stop() are Sink's; only the
# session differs.
our @ISA = ('Sink');

# _serve SOCK - one session (Sink calls it in the session's process)
sub _serve {
	my ($self, $c) = @_;
	# Never outlive a stuck test.
	alarm 300;
	serve($c, %{ $self->{opts} }, dir => $self->{dir});
}

# bodies - how many whole message bodies this server received
sub bodies {
	my ($self) = @_;
	opendir my $dh, $self->{dir} or return 0;
	my $n = grep { /^body\./ } readdir $dh;
	return $n;
}

# transcript - every line received so far
sub transcript { slurp("$_[0]{dir}/transcript") // '' }

# body_texts DIR - the bodies kept in DIR (by serve), oldest first
sub body_texts {
	my ($dir) = @_;
	opendir my $dh, $dir or return ();
	my @b = sort { (stat "$dir/$a")[9] <=> (stat "$dir/$b")[9] || $a cmp $b }
	    grep { /^body\./ } readdir $dh;
	return map { slurp("$dir/$_") } @b;
}

# serve SOCK, cue => C, dir => D, pipelining => 0|1 - one session
sub serve {
	my ($c, %o) = @_;
	my $cue = $o{cue} // 'honest';
	my $dir = $o{dir};
	mkdir $dir unless -d $dir;
	my $ext = ($o{pipelining} // 1) ? "250-PIPELINING\r\n" : '';
	binmode $c;
	setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
	my $say = sub { SluiceTest::smtp_send($c, join '', @_) };
	my $greeting = "220 liar.test ESMTP\r\n";
	if ($cue eq 'early') {
		$say->($greeting, "250 liar.test\r\n", "250 2.1.0 Ok\r\n",
		    "250 2.1.5 Ok\r\n", "354 go ahead\r\n",
		    "250 2.0.0 Ok: queued as EARLY\r\n", "221 2.0.0 Bye\r\n");
	} elsif ($cue eq 'stray_after_greeting') {
		$say->($greeting, "250 2.0.0 stray\r\n");
	} elsif ($cue ne 'early_silent') {
		$say->($greeting);
	}
	open my $log, '>>:raw', "$dir/transcript" or die "liar: $dir: $!\n";
	$log->autoflush(1);
	my $n = 0;
	while (defined(my $line = SluiceTest::_readline($c, 120))) {
		print {$log} $line;
		next if $cue =~ /^early/;
		my $cmd = uc substr($line, 0, 4);
		if ($cmd eq 'EHLO') {
			$say->("250-liar.test\r\n", $ext, "250 8BITMIME\r\n");
		} elsif ($cmd eq 'HELO') {
			$say->("250 liar.test\r\n");
		} elsif ($cmd eq 'MAIL') {
			$say->("250 2.1.0 Ok\r\n",
			    $cue eq 'double_mail' ? "250 2.1.0 Ok again\r\n" : '');
		} elsif ($cmd eq 'RCPT' || $cmd eq 'RSET' || $cmd eq 'NOOP') {
			$say->("250 2.1.5 Ok\r\n");
		} elsif ($cmd eq 'DATA') {
			if ($cue eq 'data250') {
				$say->("250 2.0.0 Ok\r\n");
				next;
			}
			$say->("354 go ahead\r\n");
			my ($body, $done) = SluiceTest::smtp_read_data($c, 120, $log);
			last unless $done;
			$n++;
			SluiceTest::spew("$dir/.body.$$.$n", $body);
			rename "$dir/.body.$$.$n", "$dir/body.$$.$n";
			$say->("250 2.0.0 Ok: queued as LIAR$n\r\n");
		} else {
			last if Sink::quit_or_unknown($say, $cmd);
		}
	}
	close $log;
	close $c;
}

1;
