# Odmr - helpers for the ODMR (etrn) integration tests, on top of SluiceTest.
#
#	use Odmr qw(odmr_instance queue_msg sink_start cram_login);
#	my $o = odmr_instance(users => { demo => 'demo' },
#	    domains => ['site.example owner=demo']);
#	my $id = queue_msg($o->{s}, 'user@site.example', "Subject: x\r\n\r\nhi\r\n");
#	my $sink = sink_start("$dir/sink");	# { pid, port, dir }
#
# The sink is a small SMTP server of our own that stores every message
# exactly as it arrived (dot-unstuffed, CRLF kept) in DIR/N.eml and its
# envelope in DIR/N.env, so that a test can compare bytes.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package Odmr;

use strict;
use warnings;

use Digest::HMAC_MD5 qw(hmac_md5_hex);
use Exporter qw(import);
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX ();
use SluiceTest qw(free_port run_cmd smtp_connect smtp_xact smtp_send
    smtp_reply slurp spew wait_for);

our @EXPORT_OK = qw(odmr_instance odmr_customers fetchmail_odmr queue_msg sink_start sink_stop
    sink_messages cram_login plain_login wait_exit);

my $BUILDDIR = $ENV{SLUICE_BUILDDIR} || die "SLUICE_BUILDDIR is not set\n";

# odmr_instance users => {login => password}, domains => [lines],
#     conf => {...}, odmrs => 1
# A SluiceTest with the ODMR listener (and odmrs if asked) on free ports
# and a passwd file written by `sluice passwd`. Returns a hash ref
# {s, port, sport} (not started).
sub odmr_instance {
	my (%o) = @_;
	my $port = free_port();
	my $sport = $o{odmrs} ? free_port() : undef;
	my $s = SluiceTest->new(conf => {
		odmr_listen => "127.0.0.1:$port",
		($sport ? (odmrs_listen => "127.0.0.1:$sport") : ()),
		auth_failure_delay => '1s',
		auth_failure_limit => 3,
		%{ $o{conf} || {} },
	}, domains => $o{domains});
	for my $u (sort keys %{ $o{users} || {} }) {
		# The CLI reads the password from stdin when it is not a tty.
		my ($rc, $out, $err) = run_cmd([$BUILDDIR . '/cli/sluice', '-c',
		    $s->confdir, 'passwd', $u, '-f', "$s->{confdir}/passwd"],
		    stdin => "$o{users}{$u}\n");
		die "sluice passwd $u: exit $rc: $err\n" if $rc != 0;
	}
	# As root, master runs the daemons as mail_owner: they must read it.
	my $pw = "$s->{confdir}/passwd";
	if ($< == 0 && -e $pw) {
		my @u = getpwnam('sluice');
		chown $u[2], $u[3], $pw if @u;
	}
	return { s => $s, port => $port, sport => $sport };
}

# odmr_customers %opt - odmr_instance with the two customers the ODMR
# tests share: demo owns site.example and more.example, acme owns
# other.example, all held and routed to a port nobody listens on (in
# $o->{dead}), so that only a release by ODMR moves them. %opt goes to
# odmr_instance (conf, odmrs).
sub odmr_customers {
	my (%opt) = @_;
	my $dead = free_port();
	my $o = odmr_instance(users => { demo => 'demo', acme => 'acme' },
	    domains => [ map { "$_->[0] mode=hold route=[127.0.0.1]:$dead probe=no owner=$_->[1]" }
		['site.example', 'demo'], ['more.example', 'demo'], ['other.example', 'acme'] ],
	    %opt);
	$o->{dead} = $dead;
	return $o;
}

# fetchmail_odmr DIR, ADDR, PORT, SINKPORT, DOMAIN - start fetchmail in
# ODMR mode (login demo/demo, CRAM-MD5) against ADDR:PORT, handing the
# mail to the sink on 127.0.0.1:SINKPORT; its own rcfile, lock file and
# output (DIR/fetchmail.out) in DIR. Returns its pid (see wait_exit).
sub fetchmail_odmr {
	my ($dir, $addr, $port, $sinkport, $domain) = @_;
	# fetchmail takes the password from an rcfile, which must be 0600.
	my $rc = "$dir/fetchmailrc";
	spew($rc, "set no syslog\n"
	    . "poll $addr protocol ODMR port $port\n"
	    . "    user \"demo\" password \"demo\"\n"
	    . "    fetchdomains $domain\n"
	    . "    smtphost 127.0.0.1/$sinkport\n");
	chmod 0600, $rc;
	# Its own lock file: as root fetchmail locks /var/run/fetchmail.pid,
	# and another test's fetchmail running beside it would make it refuse.
	return SluiceTest::run_bg([SluiceTest::tool('fetchmail'), '-f', $rc, '-v',
	    '--nodetach', '--protocol', 'ODMR', '--pidfile', "$dir/fetchmail.pid",
	    '--fetchdomains', $domain, '--port', $port, $addr],
	    out => "$dir/fetchmail.out", env => { HOME => $dir, FETCHMAILHOME => $dir });
}

# queue_msg SLUICE, RCPT, CONTENT [, SENDER] - send one message through
# smtpd; returns its queue ID (or undef).
sub queue_msg {
	my ($s, $rcpt, $content, $sender) = @_;
	$sender //= 'sender@origin.test';
	my ($c, $code) = smtp_connect($s);
	return undef unless $c && $code == 220;
	for my $cmd ('EHLO origin.test', "MAIL FROM:<$sender>", "RCPT TO:<$rcpt>",
	    'DATA') {
		my ($rc, $text) = smtp_xact($c, $cmd);
		return undef unless defined $rc && $rc =~ /^[23]/;
	}
	(my $stuffed = $content) =~ s/^\./../mg;
	smtp_send($c, $stuffed . ".\r\n");
	my ($rc, $text) = smtp_reply($c);
	smtp_xact($c, 'QUIT');
	close $c;
	return $rc == 250 && $text =~ /queued as ([0-9A-F]{20})/ ? $1 : undef;
}

# sink_start DIR, %opt - fork the byte-recording SMTP sink on a free
# port. Options: delay_first => S (wait S seconds before the 250 of the
# first message, and create DIR/data-started when its DATA begins),
# port => P. Returns {pid, port, dir}.
sub sink_start {
	my ($dir, %o) = @_;
	mkdir $dir;
	my $port = $o{port} // free_port();
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => $port, Listen => 5, ReuseAddr => 1, Proto => 'tcp')
	    or die "sink: listen on $port: $!\n";
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		_sink_serve($l, $dir, %o);
		POSIX::_exit(0);
	}
	close $l;
	return { pid => $pid, port => $port, dir => $dir };
}

sub _sink_serve {
	my ($l, $dir, %o) = @_;
	my ($n, $conns) = (0, 0);
	while (my $c = $l->accept) {
		$conns++;
		spew("$dir/connections", $conns);
		binmode $c;
		$c->autoflush(1);
		print {$c} "220 sink.test ESMTP test sink\r\n";
		my ($in, $data, $env) = (0, '', '');
		while (defined(my $line = <$c>)) {
			if ($in) {
				if ($line eq ".\r\n") {
					$in = 0;
					$n++;
					if ($n == 1 && $o{delay_first}) {
						select(undef, undef, undef, $o{delay_first});
					}
					spew("$dir/$n.eml.tmp", $data);
					rename "$dir/$n.eml.tmp", "$dir/$n.eml";
					spew("$dir/$n.env", $env);
					($data, $env) = ('', '');
					print {$c} "250 2.0.0 Ok: queued as SINK$n\r\n";
					next;
				}
				$line =~ s/^\.//;
				$data .= $line;
				next;
			}
			if ($line =~ /^EHLO/i) {
				print {$c} "250-sink.test\r\n250-PIPELINING\r\n"
				    . "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
			} elsif ($line =~ /^DATA/i) {
				$in = 1;
				spew("$dir/data-started", 1) if $n == 0;
				print {$c} "354 go ahead\r\n";
			} elsif ($line =~ /^QUIT/i) {
				print {$c} "221 2.0.0 Bye\r\n";
				last;
			} else {
				$env .= $line if $line =~ /^(MAIL|RCPT)/i;
				print {$c} "250 2.0.0 Ok\r\n";
			}
		}
		close $c;
	}
}

# sink_stop SINK - kill and reap the sink.
sub sink_stop {
	my ($sink) = @_;
	return unless $sink && $sink->{pid};
	kill 'KILL', $sink->{pid};
	waitpid($sink->{pid}, 0);
	$sink->{pid} = undef;
}

# sink_messages SINK - the stored messages, in arrival order.
sub sink_messages {
	my ($sink) = @_;
	my @m;
	for (my $i = 1; -e "$sink->{dir}/$i.eml"; $i++) {
		push @m, slurp("$sink->{dir}/$i.eml");
	}
	return @m;
}

# cram_login SOCK, USER, PASSWORD - AUTH CRAM-MD5 (RFC 2195): (code, text).
sub cram_login {
	my ($c, $user, $pass) = @_;
	my ($code, $text) = smtp_xact($c, 'AUTH CRAM-MD5');
	return ($code, $text) unless defined $code && $code == 334;
	my ($b64) = $text =~ /^334 (\S+)/;
	my $challenge = decode_base64($b64 // '');
	my $resp = encode_base64("$user " . hmac_md5_hex($challenge, $pass), '');
	return smtp_xact($c, $resp);
}

# plain_login SOCK, USER, PASSWORD - AUTH PLAIN with an initial response.
sub plain_login {
	my ($c, $user, $pass) = @_;
	return smtp_xact($c, 'AUTH PLAIN ' . encode_base64("\0$user\0$pass", ''));
}

# wait_exit PID, SECONDS - wait for a child (a fetchmail) to exit: its
# status ($?), or -1 after SIGKILL when it did not exit in time.
sub wait_exit {
	my ($pid, $secs) = @_;
	my $st;
	wait_for(sub {
		my $r = waitpid($pid, POSIX::WNOHANG());
		$st = $? if $r == $pid;
		$r == $pid;
	}, $secs);
	return $st if defined $st;
	kill 'KILL', $pid;
	waitpid($pid, 0);
	return -1;
}

1;
