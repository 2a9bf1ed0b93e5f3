# t/64-deliver-tls.t - deliver's per-domain TLS policy against real
# servers: tls=encrypt goes out only over TLS (to a second sluice, whose
# smtpd offers STARTTLS) and never in the clear (to a sink that offers no
# STARTTLS: held, with the reason, nothing sent); tls=verify refuses a
# certificate it cannot verify (the second sluice's self-signed one).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;

use Release qw(wait_log);
use Sink;
use SluiceTest qw(wait_for);

# The receiving side: another sluice, holding the three test domains.
my $rx = SluiceTest->new(domains => [
	'enc.example mode=hold route=[127.0.0.1]:9 probe=no',
	'ver.example mode=hold route=[127.0.0.1]:9 probe=no',
]);
$rx->start;
my $plain = Sink->start(dir => $rx->dir . '/plain');

my $tx = SluiceTest->new(domains => [
	'enc.example mode=hold route=[127.0.0.1]:' . $rx->port . ' tls=encrypt probe=no',
	'ver.example mode=hold route=[127.0.0.1]:' . $rx->port . ' tls=verify probe=no',
	'plain.example mode=hold route=[127.0.0.1]:' . $plain->port . ' tls=encrypt probe=no',
]);
$tx->start;
for my $to ('a@enc.example', 'b@ver.example', 'c@plain.example') {
	my ($rc, $out) = $tx->swaks('--to', $to, '--from', 'sender@origin.test');
	is($rc, 0, "queued for $to") or diag($out);
}

# tls=encrypt to a server with STARTTLS: delivered, over TLS.
my ($rc, $out) = $tx->cli('flush', 'enc.example');
is($rc, 0, 'flush enc.example');
ok(wait_for(sub { scalar $rx->queue_list_ids('--domain', 'enc.example') == 1 }, 30),
    'tls=encrypt: the message reached the TLS-capable server');
my ($id) = $rx->queue_list_ids('--domain', 'enc.example');
my $qf = $id ? $rx->read_queue_file($id) : undef;
like($qf ? $qf->{content} : '', qr/with ESMTPS id/, 'and it came over TLS (ESMTPS)');

# tls=encrypt to a server without STARTTLS: nothing sent in the clear.
($rc) = $tx->cli('flush', 'plain.example');
ok(wait_log($tx, qr/to=<c\@plain\.example>.*status=deferred/, 30),
    'tls=encrypt without STARTTLS at the server: deferred');
# That line ends the attempt: a message sent in the clear came before it.
is($plain->count, 0, 'and no message was sent in the clear');
is(scalar $tx->queue_list_ids('--domain', 'plain.example'), 1, 'it stays queued');

# tls=verify against a self-signed certificate: refused.
($rc) = $tx->cli('flush', 'ver.example');
ok(wait_log($tx, qr/to=<b\@ver\.example>.*status=deferred/, 30),
    'tls=verify with an unverifiable certificate: deferred');
is(scalar $rx->queue_list_ids('--domain', 'ver.example'), 0, 'nothing reached the server');
is(scalar $tx->queue_list_ids('--domain', 'ver.example'), 1, 'it stays queued');

$tx->stop;
$rx->stop;
$plain->stop;
done_testing;
