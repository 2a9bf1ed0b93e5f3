# 25-pop3-fetchmail: fetchmail in multidrop mode collects a customer's
# held mail by POP3 and sorts it to several local users by the envelope
# recipient (X-Original-To), as a small office collects its domain from
# its provider. One message for alice and bob, one for alice only, one
# for a domain of another customer: alice gets two, bob one, each with
# the bytes sent; qmgr logs relay=pop3 status=sent per recipient; the
# customer's domain is empty afterwards (the other customer's message
# stays), pflogsumm counts three deliveries, and a second fetchmail run
# finds nothing.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;
use Odmr qw(queue_msg wait_exit);
use Pop3 qw(pop3_instance);
use SluiceTest qw(tool slurp spew wait_for smtp_connect smtp_xact smtp_send smtp_reply);

my $fetchmail = tool('fetchmail');

# queue_rcpts S, [RCPTS], CONTENT - one message for several recipients; its queue ID
sub queue_rcpts {
	my ($s, $rcpts, $content) = @_;
	my ($c, $code) = smtp_connect($s);
	return undef unless $c && $code == 220;
	for my $cmd ('EHLO origin.test', 'MAIL FROM:<a@origin.test>',
	    (map { "RCPT TO:<$_>" } @$rcpts), 'DATA') {
		my ($rc) = smtp_xact($c, $cmd);
		return undef unless defined $rc && $rc =~ /^[23]/;
	}
	(my $stuffed = $content) =~ s/^\./../mg;
	smtp_send($c, $stuffed . ".\r\n");
	my ($rc, $text) = smtp_reply($c);
	smtp_xact($c, 'QUIT');
	return $rc == 250 && $text =~ /queued as ([0-9A-F]{20})/ ? $1 : undef;
}
my $dir = tempdir('pop3-fetchmail-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $o = pop3_instance();
my $s = $o->{s};
$s->start;

my %body = (
	both => "From: a\@origin.test\r\nTo: alice\@site.example, bob\@site.example\r\n"
	    . "Subject: for both\r\n\r\nHello both.\r\n.a line with a dot\r\n",
	alice => "From: a\@origin.test\r\nTo: someone\@elsewhere.test\r\n"
	    . "Subject: alice only\r\n\r\nBcc'd to alice: To: says nothing.\r\n",
	other => "Subject: for acme\r\n\r\nnot demo's\r\n",
);
my $both = queue_rcpts($s, ['alice@site.example', 'bob@site.example'], $body{both});
ok($both, 'a message for alice and bob queued');
my $alice = queue_msg($s, 'alice@site.example', $body{alice});
my $other = queue_msg($s, 'x@other.example', $body{other});
ok($alice && $other, 'a message for alice and one for acme queued');

# fetchmail's MDA gets the recipient (%T) as its argument: one file per local user.
spew("$dir/mda", "#!/bin/sh\ncat >> \"$dir/\$1.mbox\"\necho >> \"$dir/\$1.mbox\"\n");
chmod 0755, "$dir/mda";
my $rcfile = "$dir/fetchmailrc";
spew($rcfile, "set no syslog\n"
    . "poll 127.0.0.1 protocol POP3 port $o->{pop3_port}\n"
    . "    envelope \"X-Original-To\"\n"
    . "    localdomains site.example\n"
    . "    user \"demo\" password \"demo\" is alice bob here\n"
    . "    sslproto ''\n"
    . "    mda \"$dir/mda %T\"\n");
chmod 0600, $rcfile;

# run_fetchmail - one run in the foreground: its exit status and output
sub run_fetchmail {
	my $pid = SluiceTest::run_bg([$fetchmail, '-f', $rcfile, '-v', '--nodetach',
	    '--pidfile', "$dir/fetchmail.pid"], out => "$dir/fetchmail.out",
	    env => { HOME => $dir, FETCHMAILHOME => $dir });
	my $st = wait_exit($pid, 60);
	return ($st >> 8, slurp("$dir/fetchmail.out") // '');
}

my ($st, $fout) = run_fetchmail();
is($st, 0, 'fetchmail exits 0: mail collected') or diag($fout);
like($fout, qr/3 messages/, 'fetchmail saw three POP3 messages (one per recipient)') or diag($fout);

(my $want_both = $body{both}) =~ s/\r\n/\n/g;
(my $want_alice = $body{alice}) =~ s/\r\n/\n/g;
my $abox = slurp("$dir/alice\@site.example.mbox") // "";
my $bbox = slurp("$dir/bob\@site.example.mbox") // "";
(my $a_n = $abox) =~ s/\r\n/\n/g;
(my $b_n = $bbox) =~ s/\r\n/\n/g;
is(scalar(() = $a_n =~ /^X-Original-To: alice\@site\.example$/mg), 2,
    'alice got two messages, each with X-Original-To: alice');
is(scalar(() = $b_n =~ /^X-Original-To: bob\@site\.example$/mg), 1,
    'bob got one message, with X-Original-To: bob');
unlike($a_n, qr/X-Original-To: bob/, 'no message of bob at alice');
like($a_n, qr/\Q$want_both\E/, "alice has the bytes of the message for both");
like($a_n, qr/\Q$want_alice\E/, "alice has the bytes of her own message");
like($b_n, qr/\Q$want_both\E/, "bob has the bytes of the message for both");
unlike($a_n . $b_n, qr/for acme/, "acme's mail went to nobody of demo's");

my $log = sub { $s->log_text };
ok(wait_for(sub { (() = $log->() =~ /relay=pop3, .*status=sent \(collected by POP3 user demo\)/g) == 3 }, 10),
    'qmgr logged three deliveries with relay=pop3, status=sent');
like($log->(), qr/\Q$alice\E: to=<alice\@site\.example>, relay=pop3, delay=[\d.]+, delays=[\d.\/]+, dsn=2\.0\.0, status=sent/,
    'the log line has the shape pflogsumm reads');
ok(wait_for(sub { my @ids = $s->queue_list_ids; @ids == 1 && $ids[0] eq $other }, 10),
    "only acme's message is left in the queue");

# pflogsumm counts the collections as deliveries (sluice.conf(5): --syslog-name).
my ($prc, $sum, $perr) = SluiceTest::run_cmd([tool('pflogsumm'), '--syslog-name=sluice', $s->logfile]);
is($prc, 0, 'pflogsumm reads the log') or diag($perr);
like($sum, qr/^\s*3\s+received$/m, 'pflogsumm: 3 received');
like($sum, qr/^\s*3\s+delivered$/m, 'pflogsumm: 3 delivered (one per recipient collected)');
like($sum, qr/^\s*3\s+\d+\s+0\s+.*\ssite\.example$/m, 'pflogsumm: site.example had the 3 deliveries, no deferral');
like($sum, qr/^\s*2\s+alice\@site\.example\n\s*1\s+bob\@site\.example$/m, 'pflogsumm: alice 2, bob 1');

($st, $fout) = run_fetchmail();
is($st, 1, 'a second fetchmail run exits 1: no mail') or diag($fout);
like($fout, qr/No mail for demo/, 'and says there is no mail for demo') or diag($fout);
done_testing;
