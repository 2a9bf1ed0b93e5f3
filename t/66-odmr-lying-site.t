# 66-odmr-lying-site: after ATRN turns the connection around, the site
# is the SMTP server and etrn the client; a site whose replies do not
# line up with our commands (t/lib/LyingServer.pm on the turned socket)
# never gets a message counted as delivered. The site sends all its
# replies at once before any command (early), 250 to DATA (data250), two
# 250s to MAIL (double_mail), a stray 250 after its greeting, or its
# greeting right behind ATRN, before our 250 turned the connection
# (before_turn). Each time
# the session must end with a protocol error, the message logged
# status=deferred and still queued; a later ATRN to an honest site then
# delivers it byte for byte.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep);

use LyingServer;
use Odmr qw(odmr_instance queue_msg cram_login);
use SluiceTest qw(free_port smtp_connect smtp_reply smtp_send smtp_xact
    wait_for);

my $dead = free_port();
my @cues = qw(early data250 double_mail stray_after_greeting before_turn);
# One login and domain per cue: ATRN is limited to one a login in 10s.
my %user = map { ("u$_" => "pw$_") } 1 .. @cues;
my $o = odmr_instance(users => \%user, domains => [
	map { "site$_.example mode=hold route=[127.0.0.1]:$dead probe=no owner=u$_" }
	    1 .. @cues ]);
my $s = $o->{s};
$s->start;
my $dir = tempdir('odmr-lying-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my (@qid, %want);
for my $i (1 .. @cues) {
	my $id = queue_msg($s, "user\@site$i.example",
	    "Subject: site $i\r\nMessage-ID: <$i\@origin.test>\r\n\r\n.dot\r\nbody $i\r\n");
	ok($id, "a message for site$i.example queued");
	push @qid, $id;
}
ok(wait_for(sub { scalar($s->queue_list_ids) == @cues }, 20), 'qmgr indexed them');
for my $id (@qid) {
	my ($qf) = $s->read_queue_file($id);
	$want{$id} = $qf ? $qf->{content} : undef;
}

# atrn N [, AFTER] - log in as uN and ATRN siteN.example, AFTER sent in
# the same write as the ATRN line: (socket, code, text)
sub atrn {
	my ($n, $after) = @_;
	my ($c, $code, $text) = smtp_connect($o->{port});
	return (undef, $code, $text) unless $c && $code == 220;
	smtp_xact($c, 'EHLO customer.test');
	($code, $text) = cram_login($c, "u$n", "pw$n");
	return ($c, $code, $text) unless $code == 235;
	smtp_send($c, "ATRN site$n.example\r\n" . ($after // ''));
	($code, $text) = smtp_reply($c);
	return ($c, $code, $text);
}

for my $i (1 .. @cues) {
	my ($cue, $id) = ($cues[$i - 1], $qid[$i - 1]);
	my ($c, $code, $text) = atrn($i, $cue eq 'before_turn' ?
	    "220 liar.test ESMTP\r\n" : '');
	is($code, 250, "$cue: ATRN site$i.example turns the connection") or diag($text);
	if ($c && $cue eq 'before_turn') {
		# Nothing more from us: etrn must not take that 220 as a greeting.
		LyingServer::serve($c, cue => 'early_silent', dir => "$dir/$cue");
	} elsif ($c) {
		LyingServer::serve($c, cue => $cue, dir => "$dir/$cue");
	}
	close $c if $c;
	ok(wait_for(sub { $s->log_text =~ /ATRN session of u$i with \S+ (?:ended|done)/ }, 30),
	    "$cue: the session is over");
	like($s->log_text, qr/ATRN session of u$i with \S+ ended: protocol error: /,
	    "$cue: it ended with a protocol error");
	# etrn logs the deferral just after the session's end.
	ok($s->wait_log(qr/\Q$id\E: to=<user\@site$i\.example>, relay=[^\n]*status=deferred \(protocol error: /, 10),
	    "$cue: the recipient is deferred, the protocol error named");
	unlike($s->log_text, qr/\Q$id\E: to=[^\n]*status=(?:sent|bounced)/,
	    "$cue: never logged as sent or bounced");
	ok(-e $s->queue_file_path($id), "$cue: the queue file is still there");
	ok(wait_for(sub { grep { $_ eq $id } $s->queue_list_ids }, 20),
	    "$cue: still in the queue");
	is(scalar(LyingServer::body_texts("$dir/$cue")), 0,
	    "$cue: no whole body reached the site");
}

# An honest site gets each message on the next ATRN of its login (once
# the 10 seconds since the last one have passed: 450 until then).
for my $i (1 .. @cues) {
	my ($id, $c, $code, $text) = ($qid[$i - 1]);
	ok(wait_for(sub {
		($c, $code, $text) = atrn($i);
		return 1 if defined $code && $code == 250;
		close $c if $c;
		sleep 1;
		return 0;
	}, 40), "u$i: ATRN again: 250") or diag($text);
	next unless $c && $code == 250;
	LyingServer::serve($c, cue => 'honest', dir => "$dir/honest$i");
	close $c;
	my @b = LyingServer::body_texts("$dir/honest$i");
	is(scalar @b, 1, "site$i.example: the honest site got one message");
	ok(defined $b[0] && defined $want{$id} && $b[0] eq $want{$id},
	    "site$i.example: byte-identical to its queue file");
	ok(wait_for(sub { !grep { $_ eq $id } $s->queue_files }, 20),
	    "site$i.example: only now removed");
	like($s->log_text, qr/\Q$id\E: to=<user\@site$i\.example>, relay=[^\n]*status=sent/,
	    "site$i.example: logged status=sent");
}

unlike($s->log_text, qr/AddressSanitizer|runtime error|panic/, 'no sanitizer report or panic');
$s->stop;
done_testing();
