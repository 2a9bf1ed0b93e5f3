# t/74-fleet-trigger.t - a fleet of three sluice hosts (127.0.0.2, .3, .4)
# that list each other as peers and share one secret. One ETRN to one
# host (fetchmail in ETRN mode) releases every host's copy of the held
# mail into one smtp-sink; each peer logs a source=peer trigger and does
# not pass it on (the barrier: a finger trigger on that peer, passed after
# it); a finger trigger is passed too; a peer that is down is retried and
# given up, after the customer's reply came; spoofed peer triggers (a
# wrong secret with swaks, the peer login from an address not in peers, a
# plain ETRN from a peer's address) release nothing and are logged. The
# operator's `sluice flush --all` on one host reaches the peers as
# "ETRN #*" after the peer login, and goes no further.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;

use FingerProbe qw(finger_query finger_port_up);
use SluiceTest qw(free_port wait_for smtp_reply smtp_xact tool run_cmd);
use Smtpd2 qw(sink_up sink_down sink_files queue_mail fetchmail_etrn);

# has_domain MESSAGE, DOMAIN - has a message of queue list --json mail for DOMAIN?
sub has_domain { my ($m, $d) = @_; return grep { $_->{domain} eq $d } @{ $m->{domains} || [] } }

my $secret = 'fleet-secret-0123456789abcdef';
my $sink_port = free_port();
my $fport = free_port();
# The customer is 127.0.0.1: etrn_from keeps the peers' own addresses out.
my @dom = map { "$_ mode=hold route=[127.0.0.1]:$sink_port etrn_from=127.0.0.1/32 "
    . "finger=yes probe=no" } qw(site.example spoof.example);
my @hosts = map {
	SluiceTest->new(addr => "127.0.0.$_", domains => [@dom],
	    files => { peer_secret => "$secret\n" },
	    conf => { trigger_min_interval => '0', peer_retry_limit => 3,
		peer_retry_delay => '1s', peer_timeout => '5s' })
} 2 .. 4;
my ($A, $B, $C) = @hosts;
# Each host is its own domains' home: this test is of the triggers' passing
# alone. With the hashed home, a host whose home was C relayed its held mail
# there after C stopped, and the sink missed it (t/76 tests the home relay).
$_->set_domains(map { my $h = $_; map { "$_ home=" . $h->addr . ':' . $h->port } @dom } $_)
    for @hosts;
for my $h (@hosts) {
	$h->set_conf(peers => join ', ', map { $_->addr . ':' . $_->port }
	    grep { $_ != $h } @hosts);
}
# B also answers finger, on 127.0.0.1 (FingerProbe's client dials that).
$B->set_conf(finger_listen => "127.0.0.1:$fport", finger_timeout => '2s');
$_->start for @hosts;
ok(finger_port_up($fport), 'B\'s fingerd listens');
for my $h (@hosts) {
	ok(wait_for(sub { $h->child_pid('peer') }, 20), $h->addr . ': master runs peer(8sluice)');
}
my $sinkdir = $A->dir . '/sink';
my $sink = sink_up($sinkdir, $sink_port);

is(queue_mail($A, 'u@site.example', 2), 2, 'A holds 2 messages for site.example');
is(queue_mail($B, 'u@site.example', 3), 3, 'B holds 3');
is(queue_mail($C, 'u@site.example', 1), 1, 'C holds 1');

# --- one ETRN to A releases all three hosts' mail ---
my (undef, $out) = fetchmail_etrn($A, 'site.example');
like($out, qr/253 2\.0\.0 OK, 2 pending messages for node site\.example started/,
    'fetchmail: A answers 253 with its own 2') or diag($out);
ok(wait_for(sub { sink_files($sinkdir) >= 6 }, 60), 'the sink got all 6 messages (2+3+1)')
    or diag('sink has ' . scalar(sink_files($sinkdir)));
ok($A->wait_log(qr/qmgr\[\d+\]: peer: domain=site\.example, source=etrn, passing to 2 peers/),
    'A\'s qmgr hands the trigger to peer(8sluice)');
for my $p ([$B, 3], [$C, 1]) {
	my ($h, $n) = @$p;
	my $a = quotemeta($h->addr);
	ok($A->wait_log(qr/peer\[\d+\]: peer: domain=site\.example, peer=$a\[$a\]:\d+, source=etrn, result=25[13] 2\.0\.0 .*try=1\/3, delay=/),
	    "A logs the pass to " . $h->addr . " with its reply");
	ok($h->wait_log(qr/trigger: domain=site\.example, source=peer, client=127\.0\.0\.2, user=-, result=ok, pending=$n/),
	    $h->addr . ': a source=peer trigger from A released its ' . $n);
	ok($h->wait_log(qr/peer login, sasl_method=CRAM-MD5, sasl_username=sluice-peer/),
	    $h->addr . ': logs A\'s peer login');
}

# --- finger at B is passed too; it is also B's barrier ---
# B's qmgr answers in order: once it has passed this finger trigger, it
# has long finished the source=peer trigger from A, and passed nothing
# for it.
like(finger_query($fport, "site.example\r\n"), qr/site\.example/, 'finger site.example at B');
ok($B->wait_log(qr/qmgr\[\d+\]: peer: domain=site\.example, source=finger, passing to 2 peers/),
    'B passes the finger trigger');
is($B->log_count(qr/peer: domain=site\.example, source=peer/), 0,
    'B never passed on the trigger that came from a peer');
is($B->log_count(qr/qmgr\[\d+\]: peer: domain=/), 1, 'B handed over exactly one trigger (the finger)');
for my $h ($A, $C) {
	ok($h->wait_log(qr/trigger: domain=site\.example, source=peer, client=127\.0\.0\.3, /),
	    $h->addr . ': the finger trigger arrived from B as source=peer');
}
# C's barrier: its own customer's ETRN, passed after the two peer triggers.
(undef, $out) = fetchmail_etrn($C, 'site.example');
ok($C->wait_log(qr/qmgr\[\d+\]: peer: domain=site\.example, source=etrn, passing/),
    'C passes its own customer\'s ETRN');
is($C->log_count(qr/qmgr\[\d+\]: peer: domain=/), 1,
    'C passed neither of the two triggers that came from peers');

# --- a peer that is down: retried, given up, after the customer's reply ---
$C->stop;
is(queue_mail($A, 'u@site.example', 1), 1, 'one more held on A');
is(queue_mail($B, 'u@site.example', 1), 1, 'one more held on B');
my $gaveup = qr/peer: domain=site\.example, peer=127\.0\.0\.4\[127\.0\.0\.4\]:\d+, source=etrn, result=gave up after 3 tries/;
(undef, $out) = fetchmail_etrn($B, 'site.example');
# The customer's fetchmail has its reply and has exited: the give-up,
# which needs three tries and two pauses, has not happened yet.
my $before = $B->log_count($gaveup);
like($out, qr/25[0-3] 2\.0\.0 OK/, 'the customer\'s ETRN to B was answered');
is($before, 0, 'the reply came before B gave up on the peer that is down');
ok($B->wait_log($gaveup, 60), 'B logs that it gave up on 127.0.0.4 after 3 tries');
is($B->log_count(qr/peer: domain=site\.example, peer=127\.0\.0\.4\[127\.0\.0\.4\]:\d+, source=etrn, result=deferred \(connect: Connection refused\), try=[12]\/3, next=/), 2,
    'B logs the two failed tries before that');
ok($B->wait_log(qr/peer: domain=site\.example, peer=127\.0\.0\.2\[127\.0\.0\.2\]:\d+, source=etrn, result=25[13] /),
    'B\'s pass to A went through meanwhile');
ok(wait_for(sub { sink_files($sinkdir) >= 8 }, 60), 'the sink got both new messages');

# --- spoofed peer triggers on A, for spoof.example (never released) ---
is(queue_mail($A, 'u@spoof.example', 1), 1, 'A holds a message for spoof.example');
my $released = qr/trigger: domain=spoof\.example, source=\w+, .*result=(?:ok|none)/;
my $before_ok = $A->log_count($released);

# 1. The peer login with a wrong secret, from a peer's address (swaks).
my ($rc, $sw) = run_cmd([tool('swaks'), '--server', $A->addr, '--port', $A->port,
    '--local-interface', '127.0.0.3', '--helo', 'mx.evil.test', '--auth', 'CRAM-MD5',
    '--auth-user', 'sluice-peer', '--auth-password', 'not-the-secret-at-all',
    '--quit-after', 'AUTH', '--timeout', 30], timeout => 90);
like($sw, qr/<~\*?\s*535 5\.7\.8 Error: authentication failed|535 5\.7\.8/,
    'wrong secret: 535 5.7.8') or diag($sw);
ok($A->wait_log(qr/\[127\.0\.0\.3\]: SASL CRAM-MD5 authentication failed: authentication failure, sasl_username=sluice-peer/),
    'A logs the failed peer login');

# 2. The right secret from an address not in peers: AUTH is not even offered.
{
	my $c = IO::Socket::INET->new(PeerAddr => $A->addr, PeerPort => $A->port,
	    LocalAddr => '127.0.0.1', Proto => 'tcp', Timeout => 10);
	smtp_reply($c);
	my (undef, $ehlo) = smtp_xact($c, 'EHLO mx.evil.test');
	unlike($ehlo, qr/AUTH/, 'EHLO from 127.0.0.1 offers no AUTH on port 25');
	my (undef, $t) = smtp_xact($c, 'AUTH CRAM-MD5');
	like($t, qr/^503 5\.5\.1 Error: authentication not enabled/, 'AUTH from 127.0.0.1: 503');
	(undef, $t) = smtp_xact($c, 'XSUMMARY');
	like($t, qr/^503 5\.7\.0 Error: peer login required/, 'XSUMMARY without the login: 503');
	smtp_xact($c, 'QUIT');
	ok($A->wait_log(qr/\[127\.0\.0\.1\]: peer login refused: not an address of peers/),
	    'A logs the refused peer login');
}

# 3. A plain ETRN from a peer's address, without the login.
{
	my $c = IO::Socket::INET->new(PeerAddr => $A->addr, PeerPort => $A->port,
	    LocalAddr => '127.0.0.3', Proto => 'tcp', Timeout => 10);
	smtp_reply($c);
	my (undef, $ehlo) = smtp_xact($c, 'EHLO mx.evil.test');
	like($ehlo, qr/^250-AUTH CRAM-MD5\r?$/m, 'EHLO from a peer address offers AUTH CRAM-MD5');
	my (undef, $t) = smtp_xact($c, 'ETRN spoof.example');
	like($t, qr/^459 4\.7\.1 <spoof\.example>: ETRN not allowed: client not in etrn_from/,
	    'plain ETRN from a peer address: 459');
	(undef, $t) = smtp_xact($c, 'ETRN #*');
	like($t, qr/^501 5\.5\.4 /, 'ETRN #* (a flush of all) without the peer login: 501');
	smtp_xact($c, 'QUIT');
	ok($A->wait_log(qr/trigger: domain=spoof\.example, source=etrn, client=127\.0\.0\.3, .*result=denied/),
	    'A logs the denied trigger');
}
# Every attempt was answered and logged above; none released anything.
is($A->log_count($released), $before_ok, 'no spoofed trigger released mail on A');
is(scalar(grep { has_domain($_, 'spoof.example') } $A->queue_list), 1,
    'A\'s spoof.example message is still held');
is(scalar(sink_files($sinkdir)), 8, 'the sink got nothing more');

# --- the operator's `sluice flush --all` on B goes to the peers once ---
# A releases every domain it holds (the spoof.example message held
# above), as its own flush --all would: its gate opens (where the mail
# then goes, here or to the domain's home host, is t/76's), and A
# passes the flush no further.
my ($frc, $fout, $ferr) = $B->cli('flush', '--all');
ok(defined $frc, 'sluice flush --all on B') or diag($fout . $ferr);
ok($B->wait_log(qr/qmgr\[\d+\]: trigger: domain=ALL, source=cli, /), 'B logs its flush of all');
ok($B->wait_log(qr/qmgr\[\d+\]: peer: domain=ALL, source=cli, passing to 2 peers/),
    'B hands the flush of all to peer(8sluice)');
ok($B->wait_log(qr/peer\[\d+\]: peer: domain=#\*, peer=127\.0\.0\.2\[127\.0\.0\.2\]:\d+, source=cli, result=25[03] /),
    'B passes it to A as ETRN #*');
ok($A->wait_log(qr/trigger: domain=ALL, source=peer, client=127\.0\.0\.3, user=-, result=ok, pending=[1-9]\d*, domains=[1-9]/),
    'A: a source=peer flush of all from B released its held mail')
    or diag(join '', grep { /domain=ALL/ } split /^/m, $A->log_text);
ok($A->wait_log(qr/gate: domain=spoof\.example, state=open, until=\d+, reason=peer/),
    'A opens spoof.example\'s gate for the peer');
# qmgr logs a pass right after the trigger line, in the same call.
is($A->log_count(qr/qmgr\[\d+\]: peer: domain=ALL/), 0, 'A does not pass it on');

sink_down($sink);
$_->stop for ($A, $B);
done_testing;
