# Smtpd2 - helpers for the ETRN and submission tests (t/3x-*.t): a
# customer's server (Postfix's smtp-sink, one file per message), mail
# queued with swaks, fetchmail in ETRN mode, customer logins written with
# `sluice passwd`, and raw SMTP sessions over TLS.
#
#	use Smtpd2 qw(sink_up sink_down sink_files queue_mail fetchmail_etrn
#	    add_login tls_session);
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package Smtpd2;

use strict;
use warnings;

use Exporter qw(import);
use File::Path qw(make_path);
use IO::Socket::INET;

use SluiceTest qw(tool spew run_cmd smtp_reply smtp_xact);
use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);

our @EXPORT_OK = qw(sink_up sink_down sink_files sink_content queue_mail
    fetchmail_etrn add_login tls_session log_lines);

# sink_up DIR, PORT - smtp-sink on 127.0.0.1:PORT storing each message as
# a file in DIR; its pid, once it accepts connections.
sub sink_up { return smtp_sink_start(@_[0, 1]) }

# sink_down PID - stop a sink and reap it.
sub sink_down { smtp_sink_stop($_[0]) }

# sink_files DIR - the contents of the messages the sink stored.
sub sink_files { return smtp_sink_files($_[0]) }

# sink_content TEXT - a message as smtp-sink stored it, without what the
# sink added (its X-Client-Addr.. lines, its Received: header and the
# empty line it writes for the final dot), with
# CRLF line ends again: what went over the wire, to compare with the
# content of our queue file.
sub sink_content {
	my ($text) = @_;
	my @l = split /\n/, $text, -1;
	shift @l while @l && $l[0] =~ /^X-(?:Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args|Client-Name):/;
	if (@l && $l[0] =~ /^Received: / && ($l[1] // '') =~ /by smtp-sink/) {
		shift @l;
		shift @l while @l && $l[0] =~ /^[ \t]/;
	}
	# The text ends in a newline, and smtp-sink writes the final "."
	# as one more empty line.
	pop @l if @l && $l[-1] eq '';
	pop @l if @l && $l[-1] eq '';
	return join '', map { "$_\r\n" } @l;
}

# queue_mail SLUICE, TO, N - send N messages to TO with swaks on the SMTP
# port, each with a distinct Subject; how many got 250.
sub queue_mail {
	my ($s, $to, $n) = @_;
	my $ok = 0;
	for my $i (1 .. $n) {
		my ($rc, $out) = $s->swaks('--to', $to, '--from', 'sender@sender.test',
		    '--header', "Subject: etrn test $to $i");
		$ok++ if $rc == 0 && $out =~ /^<[-~]+\s+250 2\.0\.0 Ok: queued as/m;
	}
	return $ok;
}

# fetchmail_etrn SLUICE, DOMAIN... - run fetchmail in ETRN mode against
# the instance's address and SMTP port (an rcfile with one poll line, as fetchmail
# wants it: mode 0600, HOME of its own); (exit status, output).
sub fetchmail_etrn {
	my ($s, @domains) = @_;
	my $home = $s->dir . '/fetchmail';
	make_path($home);
	my $rc = "$home/fetchmailrc";
	# Quoted: "#name" (ETRN #group) would start a comment bare.
	spew($rc, "set no syslog\n"
	    . "poll " . $s->addr . " protocol ETRN port " . $s->port
	    . " fetchdomains " . join(',', map { "\"$_\"" } @domains) . "\n");
	chmod 0600, $rc;
	# Its own lock file: as root fetchmail locks /var/run/fetchmail.pid,
	# and a test running beside ours would make it refuse to start.
	my ($st, $out, $err) = run_cmd([tool('fetchmail'), '-v', '--nosyslog',
	    '--pidfile', "$home/fetchmail.pid",
	    '-f', $rc], env => { HOME => $home, FETCHMAILHOME => $home },
	    timeout => 60);
	return ($st, ($out // '') . ($err // ''));
}

# add_login SLUICE, LOGIN, PASSWORD - `sluice passwd LOGIN` with the
# password on standard input, as an operator's script would; its output.
sub add_login {
	my ($s, $login, $password) = @_;
	my ($st, $out, $err) = run_cmd([$ENV{SLUICE_BUILDDIR} . '/cli/sluice', '-c',
	    $s->confdir, 'passwd', $login], stdin => "$password\n");
	return ($st, ($out // '') . ($err // ''));
}

# tls_session PORT - connect, EHLO, STARTTLS, EHLO again: the TLS socket
# and the second EHLO's reply text; (undef, why) on failure.
sub tls_session {
	my ($port) = @_;
	require IO::Socket::SSL;
	my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    Proto => 'tcp', Timeout => 10) or return (undef, "connect: $!");
	binmode $c;
	my ($code, $text) = smtp_reply($c);
	return (undef, "greeting: " . ($text // '')) unless ($code // '') eq '220';
	($code, $text) = smtp_xact($c, 'EHLO client.test');
	($code, $text) = smtp_xact($c, 'STARTTLS');
	return (undef, "STARTTLS: " . ($text // '')) unless ($code // '') eq '220';
	IO::Socket::SSL->start_SSL($c, SSL_verify_mode => 0)
	    or return (undef, "TLS handshake: " . IO::Socket::SSL::errstr());
	($code, $text) = smtp_xact($c, 'EHLO client.test');
	return ($c, $text);
}

# log_lines SLUICE, REGEX - SluiceTest's log_lines (the lines that match).
sub log_lines {
	my ($s, $re) = @_;
	return $s->log_lines($re);
}

1;
