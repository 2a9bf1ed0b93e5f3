# FakeOdmr - a scripted ODMR server (RFC 2645) that misbehaves on cue,
# for the tests of the customer's side (lib/mail/odmr_client): what a
# real server (sluice's etrn) never does.
#
#	my $f = FakeOdmr->start(dir => D, cue => 'plain_clear');
#	... odmr_client_run -s 127.0.0.1 -p $f->port ...
#	$f->transcript;	# every line the client sent
#	$f->stop;
#
# Cues:
#   plain_clear       EHLO offers AUTH PLAIN LOGIN and no STARTTLS: a
#                     client that sends a password now sends it in the clear
#   stray_after_ehlo  EHLO's reply is followed by one reply too many
#   early_after_atrn  any AUTH succeeds; ATRN's 250 and an EHLO go out in
#                     one write, before the client's 220 greeting
#   turn              any AUTH succeeds; after ATRN's 250 the server waits
#                     for the 220 and plays the sender: EHLO, MAIL, RCPT
#                     (each of rcpts => [...]), DATA, the body => TEXT, ".",
#                     QUIT; each reply it got is kept in DIR/replies
# Every line received goes to DIR/transcript.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package FakeOdmr;

use strict;
use warnings;

use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Sink;
use SluiceTest qw(slurp);

our @ISA = ('Sink');

# transcript - every line the client sent so far
sub transcript { slurp("$_[0]{dir}/transcript") // '' }

# replies - the replies the client gave while we played the sender
sub replies { slurp("$_[0]{dir}/replies") // '' }

# _serve SOCK - one session (Sink calls it in the session's process)
sub _serve {
	my ($self, $c) = @_;
	my %o = %{ $self->{opts} };
	my $cue = $o{cue};
	alarm 120;
	binmode $c;
	setsockopt($c, IPPROTO_TCP, TCP_NODELAY, 1);
	open my $log, '>>:raw', "$self->{dir}/transcript" or die "fake: $!\n";
	$log->autoflush(1);
	my $say = sub { SluiceTest::smtp_send($c, join '', @_) };
	my $read = sub {
		my $l = SluiceTest::_readline($c, 60);
		print {$log} $l if defined $l;
		return $l;
	};
	$say->("220 fake.test ESMTP ODMR\r\n");
	while (defined(my $line = $read->())) {
		my $cmd = uc substr($line, 0, 4);
		if ($cmd eq 'EHLO') {
			$say->("250-fake.test\r\n", $cue eq 'plain_clear' ?
			    "250-AUTH PLAIN LOGIN\r\n" : "250-AUTH CRAM-MD5 PLAIN\r\n",
			    "250 ATRN\r\n", $cue eq 'stray_after_ehlo' ?
			    "250 2.0.0 stray\r\n" : '');
		} elsif ($cmd eq 'AUTH') {
			my $mech = $line =~ /^AUTH (\S+)/i ? uc $1 : '';
			$say->("334 PDEyMzQ1QGZha2UudGVzdD4=\r\n");
			$read->() // last;
			if ($mech eq 'LOGIN') {
				$say->("334 UGFzc3dvcmQ6\r\n");
				$read->() // last;
			}
			$say->("235 2.7.0 Authentication successful\r\n");
		} elsif ($cmd eq 'ATRN') {
			if ($cue eq 'early_after_atrn') {
				$say->("250 2.0.0 OK now reversing the connection\r\n"
				    . "EHLO fake.test\r\n");
				1 while defined $read->();
				last;
			}
			$say->("250 2.0.0 OK now reversing the connection\r\n");
			_play_sender($c, $read, $self->{dir}, %o) if $cue eq 'turn';
			last;
		} else {
			last if Sink::quit_or_unknown($say, $cmd);
		}
	}
	close $log;
	close $c;
}

# _play_sender - the sending side of a turned connection, one message
sub _play_sender {
	my ($c, $read, $dir, %o) = @_;
	open my $rl, '>>:raw', "$dir/replies" or die "fake: $!\n";
	$rl->autoflush(1);
	my $reply = sub {
		my $all = '';
		while (defined(my $l = SluiceTest::_readline($c, 60))) {
			$all .= $l;
			last if $l =~ /^\d{3} /;
		}
		print {$rl} $all;
		return $all;
	};
	$reply->() =~ /^220 / or return;
	(my $body = $o{body} // "Subject: fake\r\n\r\nfake\r\n") =~ s/^\./../mg;
	for my $cmd ('EHLO fake.test', 'MAIL FROM:<sender@origin.test>',
	    (map { "RCPT TO:<$_>" } @{ $o{rcpts} || ['a@site.example'] }),
	    'DATA') {
		SluiceTest::smtp_send($c, "$cmd\r\n");
		my $r = $reply->();
		return if $cmd eq 'DATA' && $r !~ /^354/;
	}
	SluiceTest::smtp_send($c, $body . ".\r\n");
	$reply->();
	SluiceTest::smtp_send($c, "QUIT\r\n");
	$reply->();
}

1;
