# TurnFleet - an ISP of two sluice MX hosts for the site program's tests
# (t/71-turn-etrn.t, t/72-turn-wait.t).
#
#	my $f = TurnFleet->start;
#	TurnFleet->start(peers => 1): the two hosts are peers of each
#	other (one shared secret), so a trigger at one is passed to the
#	other (peer(8sluice)); lease => '60s' instead of site.example's 2s;
#	web => 1: the web login door on both, one port ($f->{web_port})
#	$f->{mx1}, $f->{mx2}	SluiceTest instances on 127.0.0.2 and
#				127.0.0.3, both on one SMTP port
#				($f->{smtp_port}) and one finger port
#				($f->{finger_port}): sluice-turn has one
#				port for every MX
#	$f->{dns}		FakeDNS: site.example and stuck.example have
#				MX 10 mx1.isp.test, 20 mx2.isp.test and
#				30 mx3.isp.test, whose address 127.0.0.1 is
#				the site's own (a local interface)
#	lies.example		MX 10 liar.isp.test, 127.0.0.6: $f->liar(CUE)
#				starts a LyingMX there on both ports
#	site.example		held, routed to smtp-sink ($f->{sink_dir})
#	stuck.example		held, routed to a port that refuses
#	owned.example		held, routed to smtp-sink, ETRN only from
#				192.0.2.0/24 or after AUTH as its owner demo
#				(password demo) on the submission port
#				($f->{sub_port}, shared too)
#	$f->queue($s, $to, $n)	queue N messages for $to at instance $s
#	$f->turn(@args)		run sluice-turn: (exit status, stdout, stderr)
#	$f->sink_count		messages smtp-sink has stored
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package TurnFleet;

use strict;
use warnings;

use FakeDNS;
use LyingMX;
use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);
use SluiceTest qw(free_port run_cmd wait_for);
use Smtpd2 qw(add_login);

sub start {
	my ($class, %o) = @_;
	my $self = bless {
		smtp_port => free_port(),
		finger_port => free_port(),
		sink_port => free_port(),
		sub_port => free_port(),
		web_port => free_port(),
	}, $class;
	my @mx = ('MX 10 mx1.isp.test', 'MX 20 mx2.isp.test', 'MX 30 mx3.isp.test');
	$self->{dns} = FakeDNS->start(
	    'site.example' => [@mx],
	    'stuck.example' => [@mx],
	    'owned.example' => [@mx],
	    'mx1.isp.test' => ['A 127.0.0.2'],
	    'mx2.isp.test' => ['A 127.0.0.3'],
	    'mx3.isp.test' => ['A 127.0.0.1'],
	    # A host that lies on cue (t/lib/LyingMX.pm) at 127.0.0.6.
	    'lies.example' => ['MX 10 liar.isp.test'],
	    'liar.isp.test' => ['A 127.0.0.6']);
	for my $n (1, 2) {
		my $addr = '127.0.0.' . ($n + 1);
		my $other = '127.0.0.' . (3 - $n + 1);
		my $s = SluiceTest->new(addr => $addr,
		    ($o{peers} ? (files => { peer_secret => "turn-fleet-secret-0123456789\n" }) : ()),
		    conf => {
			($o{peers} ? (peers => "$other:$self->{smtp_port}") : ()),
			smtp_listen => "$addr:$self->{smtp_port}",
			finger_listen => "$addr:$self->{finger_port}",
			submission_listen => "$addr:$self->{sub_port}",
			($o{web} ? (web_listen => "$addr:$self->{web_port}") : ()),
			trigger_min_interval => '0',
		    }, domains => [
			"site.example mode=hold route=[127.0.0.1]:$self->{sink_port} "
			    . 'finger=yes probe=no lease=' . ($o{lease} // '2s'),
			"stuck.example mode=hold route=[$addr]:\@DEAD\@ finger=yes probe=no",
			"owned.example mode=hold route=[127.0.0.1]:$self->{sink_port} "
			    . 'owner=demo etrn_from=192.0.2.0/24 probe=no',
		    ]);
		my ($st, $out) = add_login($s, 'demo', 'demo');
		die "sluice passwd demo: $out\n" if $st != 0;
		# start() waits for the greeting on the instance's port: the
		# shared one here.
		$s->{port} = $self->{smtp_port};
		$s->start;
		$self->{"mx$n"} = $s;
	}
	$self->{sink_dir} = $self->{mx1}->dir . '/sink';
	$self->{sink_pid} = smtp_sink_start($self->{sink_dir}, $self->{sink_port});
	return $self;
}

sub queue {
	my ($self, $s, $to, $n) = @_;
	for my $i (1 .. $n) {
		my ($rc, $out) = $s->swaks('--from', 'a@sender.test', '--to', $to,
		    '--header', "Subject: $i for $to");
		return 0 if $rc != 0;
	}
	return 1;
}

# held_again S - wait until the last gate line of site.example at S
# says held: the lease ran out after the last trigger.
sub held_again {
	my ($self, $s) = @_;
	return wait_for(sub {
		my @g = $s->log_lines(qr/gate: domain=site\.example, state=/);
		@g && $g[-1] =~ /state=held/;
	}, 30);
}

sub turn {
	my ($self, @args) = @_;
	return run_cmd(["$ENV{SLUICE_BUILDDIR}/turn/sluice-turn", @args],
	    timeout => 120);
}

# dns_arg - sluice-turn's options naming the fake DNS and the ports
sub args {
	my ($self) = @_;
	return ('-D', '127.0.0.1:' . $self->{dns}->port, '--port',
	    $self->{smtp_port}, '--finger-port', $self->{finger_port});
}

# liar CUE - a LyingMX on cue at 127.0.0.6, on the SMTP port (SMTP cues)
# or the finger port (finger_ cues); the one before is stopped.
sub liar {
	my ($self, $cue) = @_;
	$self->{liar}->stop if $self->{liar};
	$self->{liar} = LyingMX->start(dir => $self->{mx1}->dir . '/liar',
	    addr => '127.0.0.6', cue => $cue,
	    port => $cue =~ /^finger_/ ? $self->{finger_port} : $self->{smtp_port});
	return $self->{liar};
}

sub sink_count {
	my ($self) = @_;
	return scalar(my @m = smtp_sink_files($self->{sink_dir}));
}

sub stop {
	my ($self) = @_;
	$self->{liar}->stop if $self->{liar};
	smtp_sink_stop($self->{sink_pid}) if $self->{sink_pid};
	$self->{sink_pid} = undef;
	$_->stop for grep { $_ && $_->alive } @$self{qw(mx1 mx2)};
	$self->{dns}->stop if $self->{dns};
}

1;
