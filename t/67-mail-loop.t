# 67-mail-loop: mail must never loop back to us. Backup domains whose
# MX host is at 0.0.0.0 ("this host") or at 127.0.0.2, where sluice
# itself listens on the MX port, are held with "loops back to myself"
# instead of being sent to ourselves (no second copy arrives, no retry
# at once); a relay domain in the same state bounces 5.4.6, as Postfix
# does; and smtpd refuses a message with more Received: headers than
# hopcount_limit (50) with 554 5.4.6 Too many hops.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use FakeDNS;
use Release qw(flush log_count wait_log finish);
use SluiceTest qw(free_port wait_for spew);

my $t0 = time;
my $mxport = free_port();
my $dns = FakeDNS->start(
	'zero.example' => ['MX 10 zero.test'],
	'lo2.example' => ['MX 10 lo2.test'],
	'relayloop.example' => ['MX 10 zero.test'],
	'zero.test' => ['A 0.0.0.0'],
	'lo2.test' => ['A 127.0.0.2'],
);
my $s = SluiceTest->new(domains => [
	'zero.example mode=backup route=mx probe=no',
	'lo2.example mode=backup route=mx probe=no',
	'hold.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no',
    ]);
# sluice really listens where the MX hosts point (0.0.0.0 reaches
# 127.0.0.1), so that a loop would show up as mail arriving again.
$s->set_conf(smtp_listen => '127.0.0.1:' . $s->port
    . " 127.0.0.1:$mxport 127.0.0.2:$mxport",
    dns_servers => '127.0.0.1:' . $dns->port, smtp_mx_port => $mxport,
    smtpd_relay_networks => '127.0.0.0/8');
$s->start;

my $clients = qr/smtpd\[\d+\]: [0-9A-F]{20}: client=/;
my $sent = 0;

# send FROM, TO, [DATAFILE] - swaks to sluice: (queue ID or undef, output)
sub send_mail {
	my ($from, $to, $file) = @_;
	my ($rc, $out) = $s->swaks('--from', $from, '--to', $to,
	    $file ? ('--data', "\@$file") : ());
	my ($qid) = $out =~ /queued as ([0-9A-F]{20})/;
	$sent++ if $qid;
	return ($qid, $out);
}

my %qid;
for my $d ('zero.example', 'lo2.example') {
	my ($qid, $out) = send_mail('sender@sender.example', "user\@$d");
	ok($qid, "mail for $d queued") or diag($out);
	$qid{$d} = $qid;
	flush($s, $d);
	ok(wait_log($s, qr/\Q$qid\E: mail for \Q$d\E loops back to myself/),
	    "$d: logged: mail for $d loops back to myself");
	ok(wait_log($s, qr/\Q$qid\E: to=<user\@\Q$d\E>, relay=none, .*dsn=4\.4\.6, status=deferred \(mail for \Q$d\E loops back to myself\)/),
	    "$d: the recipient is deferred 4.4.6, not sent");
	is(log_count($s, $clients), $sent, "$d: no message arrived from ourselves");
	is(log_count($s, qr/\Q$qid\E: to=.*status=(?:sent|bounced)/), 0,
	    "$d: neither sent nor bounced");
}
is_deeply([$s->queue_files], [sort values %qid], 'only the two messages are queued');
is(log_count($s, qr/relay=(?:zero|lo2)\.test\[/), 0, 'no delivery was tried to 0.0.0.0 or 127.0.0.2');
my %e = map { ($_->{queue_id} // '') => $_ } $s->queue_list;
for my $d (sort keys %qid) {
	my $e = $e{$qid{$d}} || {};
	ok((($e->{domains} || [])->[0]{next_try} // 0) > time,
	    "$d: the next try is in the future, not at once")
	    or diag(explain($e));
}

# A relay domain in the same state bounces, as Postfix does (null
# sender: no DSN to follow).
my ($rq, $rout) = send_mail('', 'user@relayloop.example');
ok($rq, 'relay mail for relayloop.example queued') or diag($rout);
ok(wait_log($s, qr/\Q$rq\E: to=<user\@relayloop\.example>, relay=none, .*dsn=5\.4\.6, status=bounced \(mail for relayloop\.example loops back to myself\)/),
    'relayloop.example: bounced 5.4.6 loops back to myself');
is(log_count($s, $clients), $sent, 'relayloop.example: no message arrived from ourselves');

# The hop count: 50 Received: headers pass, 51 are refused.
for my $n (50, 51) {
	my $file = $s->dir . "/hops$n.txt";
	spew($file, join('', map { "Received: from hop$_.test by hop$_.test; Sat, 5 Dec 2026 00:00:00 +0000\r\n" } 1 .. $n)
	    . "Subject: $n hops\r\n\r\nbody\r\n");
	my ($qid, $out) = send_mail('sender@sender.example', 'user@hold.example', $file);
	if ($n == 50) {
		ok($qid, '50 Received: headers: accepted') or diag($out);
	} else {
		ok(!$qid, '51 Received: headers: refused');
		like($out, qr/<\*\* 554 5\.4\.6 Too many hops/, '51 Received: headers: 554 5.4.6 Too many hops')
		    or diag($out);
		ok(wait_log($s, qr/rejected: hopcount exceeded/), 'the reject is logged');
	}
}

finish($s, $t0, $dns);
done_testing();
