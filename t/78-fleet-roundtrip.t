# 78-fleet-roundtrip: a part-time site's whole round trip across the two
# MX hosts of its ISP. Both hosts hold mail for site.example and are
# peers of each other. The site comes online: `sluice-turn wait` follows
# the release, and the site sends ONE signal, fetchmail's ETRN to the
# first MX only. The first host releases and passes the trigger to its
# peer; every message of both hosts reaches the site's MTA (smtp-sink),
# and sluice-turn wait exits 0 only once all of them have arrived, so the
# site's ip-up script may drop the link. A web login at the first host
# is passed the same way. The transcript (the site
# program's lines, both hosts' trigger lines, the sink's count) is shown.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use POSIX qw(:sys_wait_h);
use Test::More;

use SluiceTest qw(run_bg slurp wait_for);
use Smtpd2 qw(fetchmail_etrn);
use TurnFleet;
use WebTest qw(curl csrf_of);

my $f = TurnFleet->start(peers => 1, lease => '60s', web => 1);
my ($mx1, $mx2) = @$f{qw(mx1 mx2)};
ok($f->queue($mx1, 'u@site.example', 3), 'mx1 holds 3 messages for site.example');
ok($f->queue($mx2, 'u@site.example', 2), 'mx2 holds 2');
is($f->sink_count, 0, 'nothing has reached the site yet');

# The site comes online: wait first, then the one signal.
my $out = $mx1->dir . '/wait.out';
my $wait = run_bg(["$ENV{SLUICE_BUILDDIR}/turn/sluice-turn", 'wait', $f->args,
    '--interval', '1s', '--timeout', '120s', 'site.example'], out => $out);
my ($st, $etrn) = fetchmail_etrn($mx1, 'site.example');
like($etrn, qr/253 2\.0\.0 OK, 3 pending messages for node site\.example started/,
    'fetchmail ETRN to mx1 alone: 253 with mx1\'s 3') or diag($etrn);

my ($status, $at_exit);
ok(wait_for(sub {
	return 0 unless waitpid($wait, WNOHANG) == $wait;
	$status = $? >> 8;
	$at_exit = $f->sink_count;
	return 1;
}, 150), 'sluice-turn wait ends');
is($status, 0, 'it exits 0: every MX has delivered everything') or diag(slurp($out));
is($at_exit, 5, 'when it exited the site had all 5 messages of both hosts');
is(scalar($mx1->queue_list_ids) + scalar($mx2->queue_list_ids), 0, 'both queues are empty');
ok($mx2->wait_log(qr/trigger: domain=site\.example, source=peer, client=127\.0\.0\.2/),
    'mx2 was released by mx1\'s pass (source=peer)');
is($mx1->log_count(qr/trigger: domain=site\.example, source=etrn/), 1,
    'the site signalled once: one ETRN trigger at mx1');

# Another door: the customer's web login at mx1 releases owned.example
# on both hosts (mx2 by the pass, source=peer).
ok($f->queue($mx1, 'u@owned.example', 1) && $f->queue($mx2, 'u@owned.example', 1),
    'one message for owned.example on each host');
my $before = $f->sink_count;
my $jar = $mx1->dir . '/cookies';
my $base = 'http://' . $mx1->addr . ':' . $f->{web_port};
my $page = curl($jar, "$base/");
my $r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode', 'password=demo',
    '--data-urlencode', 'csrf=' . (csrf_of($page->{body}) // ''), "$base/login");
is($r->{code}, '303', 'demo logs in to mx1\'s web page') or diag($r->{body} . $r->{err});
ok($mx1->wait_log(qr/peer: domain=owned\.example, source=web, passing to 1 peers/),
    'mx1 passes the web login\'s trigger');
ok($mx2->wait_log(qr/trigger: domain=owned\.example, source=peer, client=127\.0\.0\.2/),
    'mx2 releases owned.example by the pass');
ok(wait_for(sub { $f->sink_count >= $before + 2 }, 60), 'both hosts\' messages reached the site')
    or diag('sink has ' . ($f->sink_count - $before) . ' of 2 new');

# The transcript for the record.
diag("--- sluice-turn wait ---\n" . slurp($out));
diag("--- trigger lines ---\n" . join('', map {
	my $h = $_;
	map { $h->addr . ": $_\n" } $h->log_lines(qr/trigger: domain=site\.example|peer: domain=site\.example/)
} $mx1, $mx2));
diag('--- the site\'s MTA (smtp-sink): ' . $f->sink_count . " messages ---");
$f->stop;
done_testing;
