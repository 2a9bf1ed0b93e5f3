# 68-route-literal: a route of an IP address ([127.0.0.1]:PORT) is
# delivered to without asking DNS. c-ares 1.18 (Debian 12) sends A and
# AAAA questions for the name "127.0.0.1" when handed it as a host name:
# each delivery without a cached connection then waited on the name
# servers (2 s for a lost question: the drain of 1,000 messages ended
# with five messages 1.6 s behind the rest) and a customer routed by
# address lost its mail's release whenever DNS was down. The fake DNS
# here answers nothing for "127.0.0.1" and logs every question; a route
# by name ([sink.test]) beside it shows that the log sees what is asked.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use FakeDNS;
use Release qw(flush wait_log);
use Sink;
use SluiceTest qw(slurp wait_for);

my $s = SluiceTest->new;
my $asked = $s->dir . '/dns-questions';
my $dns = FakeDNS->start(LOG => $asked, '127.0.0.1' => 'TIMEOUT',
    'sink.test' => ['A 127.0.0.1']);
my $sink = Sink->start(dir => $s->dir . '/sink');
my $p = $sink->port;
$s->set_domains("lit.example mode=hold route=[127.0.0.1]:$p probe=no",
    "named.example mode=hold route=[sink.test]:$p probe=no");
$s->set_conf(dns_servers => '127.0.0.1:' . $dns->port);
$s->start;

# to DOMAIN - how many messages the sink holds for someone at DOMAIN
sub to {
	my ($d) = @_;
	return scalar grep { grep { /\@\Q$d\E\z/i } @{ $_->{rcpt} } } $sink->messages;
}

for my $i (1 .. 3) {
	my ($rc, $out) = $s->swaks('--from', 'a@sender.example', '--to',
	    "u$i\@lit.example");
	like($out, qr/queued as [0-9A-F]{20}/, "message $i for lit.example queued");
}
my ($rc) = flush($s, 'lit.example');
is($rc, 0, 'sluice flush lit.example');
ok(wait_for(sub { to('lit.example') == 3 }, 30),
    'all 3 messages reached the site routed by address')
    or diag($s->log_text);
ok(wait_log($s, qr/to=<u\d\@lit\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$p, [^\n]*status=sent/, 10, 3),
    'logged status=sent, relay=127.0.0.1[127.0.0.1]');

# The control: a route by name is asked of this DNS, and the log shows it.
my ($rc2, $out2) = $s->swaks('--from', 'a@sender.example', '--to', 'u@named.example');
like($out2, qr/queued as [0-9A-F]{20}/, 'a message for named.example queued');
flush($s, 'named.example');
ok(wait_for(sub { to('named.example') == 1 }, 30), 'it reached the site routed by name');
my $q = slurp($asked) // '';
like($q, qr/^sink\.test A$/m, 'the DNS was asked for sink.test (the log works)');
unlike($q, qr/^127\.0\.0\.1 /m, 'the DNS was never asked about "127.0.0.1"')
    or diag("questions:\n$q");

done_testing();
