# 68-dns-failure: what a hostile or broken DNS answer does to mail, with
# t/lib/FakeDNS.pm answering a compression-pointer loop, NXDOMAIN or
# SERVFAIL for the MX lookup. For a customer's domain (in our domains
# file) every DNS failure is temporary: the mail stays queued,
# status=deferred dsn=4.4.3, no DSN, until its lifetime ends (then the
# usual expiry DSN). For a relay domain an NXDOMAIN still bounces (5.4.4)
# but a malformed answer or SERVFAIL defers.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use FakeDNS;
use Release qw(flush log_count wait_log finish);
use Sink;
use SluiceTest qw(wait_for);

my $t0 = time;
my $dns = FakeDNS->start(
	'ploop.example' => 'POINTERLOOP',
	'nx.example' => 'NXDOMAIN',
	'sf.example' => 'SERVFAIL',
	'nxlife.example' => 'NXDOMAIN',
	'relayploop.example' => 'POINTERLOOP',
	'relaysf.example' => 'SERVFAIL',
	'relaynx.example' => 'NXDOMAIN',
);
my $s = SluiceTest->new;
my $senders = Sink->start(dir => $s->dir . '/senders');
$s->set_domains(
	(map { "$_ mode=backup route=mx probe=no" }
	    qw(ploop.example nx.example sf.example)),
	'nxlife.example mode=backup route=mx lifetime=3s probe=no',
	'sender.example mode=backup route=[127.0.0.1]:' . $senders->port . ' probe=no');
$s->set_conf(dns_servers => '127.0.0.1:' . $dns->port,
    smtpd_relay_networks => '127.0.0.0/8');
$s->start;

# send TO - swaks from alice@sender.example: the queue ID or undef
sub send_mail {
	my ($to) = @_;
	my ($rc, $out) = $s->swaks('--from', 'alice@sender.example', '--to', $to);
	my ($qid) = $out =~ /queued as ([0-9A-F]{20})/;
	diag($out) unless $qid;
	return $qid;
}

# dsns - null-sender messages the sender's server got
sub dsns { grep { $_->{from} eq '' } $senders->messages }

# 1. Customer domains: deferred 4.4.3, the reason named, no DSN.
my %why = ('ploop.example' => qr/malformed DNS answer/,
    'nx.example' => qr/Host not found/, 'sf.example' => qr/type=MX: /);
for my $d (sort keys %why) {
	my $qid = send_mail("user\@$d");
	ok($qid, "mail for $d queued");
	flush($s, $d);
	ok(wait_log($s, qr/\Q$qid\E: to=<user\@\Q$d\E>, relay=none, [^\n]*dsn=4\.4\.3, status=deferred \([^\n]*$why{$d}/),
	    "$d: deferred with dsn=4.4.3 and the DNS reason");
	is(log_count($s, qr/\Q$qid\E: (?:to=[^\n]*status=bounced|sender non-delivery notification)/), 0,
	    "$d: not bounced, no DSN");
	ok(-e $s->queue_file_path($qid), "$d: the queue file is still there");
	ok((grep { $_ eq $qid } $s->queue_list_ids), "$d: still in the queue");
}

# 2. Until the lifetime ends: then the usual expiry DSN, once.
my $lq = send_mail('user@nxlife.example');
ok($lq, 'mail for nxlife.example (lifetime=3s) queued');
flush($s, 'nxlife.example');
ok(wait_log($s, qr/\Q$lq\E: to=<user\@nxlife\.example>, [^\n]*dsn=4\.4\.3, status=deferred/),
    'nxlife.example: deferred first');
ok(wait_log($s, qr/\Q$lq\E: to=<user\@nxlife\.example>, relay=none, [^\n]*dsn=4\.4\.7, status=expired/),
    'nxlife.example: expired at the end of its lifetime');
ok(wait_for(sub { grep { grep { $_ eq 'alice@sender.example' } @{ $_->{rcpt} } } dsns() }, 30),
    'the expiry DSN reached the sender');
is(log_count($s, qr/\Q$lq\E: to=[^\n]*status=bounced/), 0, 'nxlife.example: never bounced for NXDOMAIN');

# 3. Relay domains: NXDOMAIN bounces, the others defer.
my $before = scalar(dsns());
my %rq = map { ($_ => send_mail("user\@$_")) } qw(relayploop.example relaysf.example relaynx.example);
ok(wait_log($s, qr/\Q$rq{'relaynx.example'}\E: to=<user\@relaynx\.example>, relay=none, [^\n]*dsn=5\.4\.4, status=bounced \([^\n]*Host not found/),
    'relaynx.example: NXDOMAIN bounces 5.4.4');
ok(wait_for(sub { scalar(dsns()) > $before }, 30), 'and the sender got a DSN');
for my $d ('relayploop.example', 'relaysf.example') {
	ok(wait_log($s, qr/\Q$rq{$d}\E: to=<user\@\Q$d\E>, relay=none, [^\n]*dsn=4\.4\.3, status=deferred/),
	    "$d: deferred 4.4.3");
	is(log_count($s, qr/\Q$rq{$d}\E: to=[^\n]*status=bounced/), 0, "$d: not bounced");
}

finish($s, $t0, $senders, $dns);
done_testing();
