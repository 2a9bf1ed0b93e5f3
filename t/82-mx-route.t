# 82-mx-route: route=mx against a DNS server on loopback (FakeDNS.pm).
# RFC 5321 5.1: a relay listed as an MX host delivers only to hosts
# preferred over itself (a lower preference value). Here sluice's own
# name, mx.sluice.test, is an MX host of both domains, and it really
# listens there (127.0.0.5, on the MX port), so a loop would show up as
# mail arriving at sluice again:
#   mx.example:   10 better.test (a sink), 20 mx.sluice.test, 30 worse.test (a sink)
#   loop.example:  5 mx.sluice.test, 10 better.test, 20 worse.test
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use FakeDNS;
use Release qw(swaks_mail flush log_count wait_log finish);
use Sink;
use SluiceTest qw(free_port wait_for);

my $t0 = time;
my $mxport = free_port();
my $dns = FakeDNS->start(
	'mx.example' => ['MX 10 better.test', 'MX 20 mx.sluice.test',
	    'MX 30 worse.test'],
	'loop.example' => ['MX 5 mx.sluice.test', 'MX 10 better.test',
	    'MX 20 worse.test'],
	'better.test' => ['A 127.0.0.2'],
	'worse.test' => ['A 127.0.0.3'],
	'mx.sluice.test' => ['A 127.0.0.5'],
);

my $s = SluiceTest->new(domains => [
	'mx.example mode=hold route=mx lease=60s probe=no',
	'loop.example mode=hold route=mx lease=60s probe=no',
    ]);
$s->set_conf(smtp_listen => '127.0.0.1:' . $s->port . " 127.0.0.5:$mxport",
    dns_servers => '127.0.0.1:' . $dns->port, smtp_mx_port => $mxport);
my $betterdir = $s->dir . '/better';
my $better = Sink->start(dir => $betterdir, addr => '127.0.0.2', port => $mxport);
my $worse = Sink->start(dir => $s->dir . '/worse', addr => '127.0.0.3', port => $mxport);
my $oracle = Sink->start(dir => $s->dir . '/oracle');
$s->start;

# 1. Only the host preferred over us gets the mail.
my %sent;
for my $i (1, 2) {
	my ($qid, $bytes, $mid) = swaks_mail($s, $oracle, to => "u$i\@mx.example");
	ok($qid, "mail $i for mx.example queued");
	$sent{$mid} = $bytes;
}
my ($rc, $out) = flush($s, 'mx.example');
like($out, qr/\b2 messages waiting/, 'flush mx.example: 2 waiting') or diag($out);
ok(wait_for(sub { $better->count == 2 }, 30), 'better.test (preference 10) received both');
for my $m ($better->messages) {
	my (undef, $rest) = SluiceTest::strip_received($m->{data});
	ok(defined $sent{$m->{mid}} && $rest eq $sent{$m->{mid}},
	    "$m->{mid} arrived byte-identical");
}
# The sink keeps a message before its 250; a message leaves the queue
# after its result is logged.
ok(wait_for(sub { !$s->queue_files }, 20), 'the queue is empty');
is(log_count($s, qr/to=<u\d\@mx\.example>, relay=better\.test\[127\.0\.0\.2\]:$mxport, .*status=sent/),
    2, 'logged relay=better.test[127.0.0.2]');

# 2. With the better host down, sluice neither falls back to the worse
# host nor to itself: the mail waits, and the gate closes.
$better->stop;
my ($qid) = swaks_mail($s, $oracle, to => 'u3@mx.example');
ok($qid, 'mail 3 queued while better.test is down');
ok(wait_log($s, qr/gate: domain=mx\.example, state=held, reason=connection failed/),
    'the refused connection closes the gate');
# The attempt's result ends it: a fall back to another host would have
# come before it.
ok(wait_log($s, qr/\Q$qid\E: to=<u3\@mx\.example>, relay=none, [^\n]*status=deferred \(connect to better\.test\[127\.0\.0\.2\]:$mxport: Connection refused\)/),
    'its attempt ended deferred: connection to better.test refused');
is_deeply([$s->queue_files], [$qid], 'it waits in the queue, a single copy');
is($worse->count, 0, 'worse.test (preference 30) got nothing');
is(log_count($s, qr/relay=(?:worse\.test|mx\.sluice\.test)\[/), 0,
    'no attempt at worse.test or at ourselves');
$better = Sink->start(dir => $betterdir, addr => '127.0.0.2', port => $mxport);
($rc, $out) = flush($s, 'mx.example');
ok(wait_for(sub { $better->count == 3 }, 30), 'after a flush it reaches better.test');

# 3. We are the best MX of loop.example: held with a clear log line,
# never sent anywhere (not to ourselves, not to the worse hosts).
($qid) = swaks_mail($s, $oracle, to => 'v@loop.example');
ok($qid, 'mail for loop.example queued');
($rc, $out) = flush($s, 'loop.example');
like($out, qr/\b1 message waiting/, 'flush loop.example: 1 waiting') or diag($out);
ok(wait_log($s, qr/\Q$qid\E: mail for loop\.example loops back to myself/),
    'log: mail for loop.example loops back to myself');
ok(wait_log($s, qr/\Q$qid\E: to=<v\@loop\.example>, relay=none, .*dsn=4\.[^,]*, status=deferred \([^)]*loops back to myself/),
    'the recipient is deferred, not bounced');
ok(wait_log($s, qr/gate: domain=loop\.example, state=held/), 'the gate is shut again');
# Its attempt has ended (deferred, above): a connection to ourselves
# would have been logged by smtpd before that.
ok(wait_for(sub { !grep { $_ ne $qid } $s->queue_files }, 10)
    && grep({ $_ eq $qid } $s->queue_files),
    'still queued, and sluice did not receive it again (no second copy)');
is(log_count($s, qr/smtpd\[\d+\]: connect from \S+\[127\.0\.0\.5\]/), 0,
    'no connection from sluice to itself');
is(scalar(grep { grep { /loop\.example/ } @{ $_->{rcpt} } } $better->messages,
    $worse->messages), 0, 'neither other MX host got it');
is($worse->count, 0, 'worse.test never got anything');
is(log_count($s, qr/status=bounced/), 0, 'nothing bounced');

finish($s, $t0, $better, $worse, $oracle, $dns);
done_testing();
