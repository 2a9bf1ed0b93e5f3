# 29-dns-check: `sluice check DOMAIN` (the DNS setup of a customer domain)
# against a DNS server on loopback (FakeDNS.pm) serving good and broken
# setups, with a real SMTP listener (Sink.pm) as the site's own MX; then
# the same checks as warnings at `sluice config check` and in qmgr's log
# at start and reload, where DNS being down never stops the service.
#
# This host is mx.sluice.test (myhostname), listening at 127.0.0.5 and
# 127.0.0.6 on the MX port as well as on the test's own port. The site's
# MX site.test (127.0.0.2) answers 220; down.test (127.0.0.3) refuses.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

use FakeDNS;
use Sink;
use SluiceTest qw(free_port wait_for);

my $mxport = free_port();
my %zone = (
	'good.example' => ['MX 10 site.test', 'MX 20 mx.sluice.test'],
	'missing.example' => ['MX 10 site.test', 'MX 20 other.test'],
	'loop.example' => ['MX 5 mx.sluice.test', 'MX 10 site.test'],
	'routed.example' => ['MX 10 mx.sluice.test'],
	'down.example' => ['MX 10 down.test', 'MX 20 mx.sluice.test'],
	'badptr.example' => ['MX 10 site.test', 'MX 20 mx2.sluice.test'],
	'noptr.example' => ['MX 10 site.test', 'MX 20 mx3.sluice.test'],
	'nomx.example' => ['A 127.0.0.2'],
	'servfail.example' => 'SERVFAIL',
	'timeout.example' => 'TIMEOUT',
	'fleet.example' => ['MX 10 site.test', 'MX 20 mx.sluice.test',
	    'MX 30 mx-b.sluice.test'],
	'fleetok.example' => ['MX 10 site.test', 'MX 20 mx.sluice.test',
	    'MX 20 mx-b.sluice.test'],
	'site.test' => ['A 127.0.0.2'],
	# Hostile answers: names with terminal escapes, a site's banner of them.
	'hostile.example' => ['MX 10 evil\\027[2J\\007.test', 'MX 20 mx.sluice.test'],
	'evil\e[2j\a.test' => ['A 127.0.0.4'],
	'banner.example' => ['MX 10 banner.test', 'MX 20 mx.sluice.test'],
	'banner.test' => ['A 127.0.0.4'],
	'down.test' => ['A 127.0.0.3'],
	'other.test' => ['A 127.0.0.9'],
	'mx.sluice.test' => ['A 127.0.0.5'],
	'mx2.sluice.test' => ['A 127.0.0.6'],
	'mx3.sluice.test' => ['A 127.0.0.8'],
	'mx-b.sluice.test' => ['A 127.0.0.7'],
	'elsewhere.test' => ['A 127.0.0.99'],
	'v6.example' => ['MX 10 site.test', 'MX 20 mx6.sluice.test'],
	'mx6.sluice.test' => ['AAAA ::1'],
	'5.0.0.127.in-addr.arpa' => ['PTR mx.sluice.test'],
	'1.' . join('.', ('0') x 31) . '.ip6.arpa' => ['PTR mx6.sluice.test'],	# ::1
	'6.0.0.127.in-addr.arpa' => ['PTR elsewhere.test'],
);
my $dns = FakeDNS->start(%zone);

my @domains = map { "$_ mode=hold probe=no" } qw(good.example
    missing.example loop.example down.example badptr.example noptr.example
    nomx.example nx.example servfail.example);
push @domains, "routed.example mode=hold probe=no route=[127.0.0.2]:$mxport";
my $s = SluiceTest->new(domains => \@domains);
$s->set_conf(smtp_listen => '127.0.0.1:' . $s->port .
    " 127.0.0.5:$mxport 127.0.0.6:$mxport 127.0.0.8:$mxport",
    dns_servers => '127.0.0.1:' . $dns->port, smtp_mx_port => $mxport);
my $site = Sink->start(dir => $s->dir . '/site', addr => '127.0.0.2',
    port => $mxport);

# check DOMAIN [ARGS] - (exit code, stdout, stderr) of sluice check
sub check { $s->cli('check', @_) }

# 1. A good setup: the site's MX 10 answers, we are 20, PTR matches.
my ($rc, $out, $err) = check('good.example');
is($rc, 0, 'good.example: exit 0') or diag($out . $err);
like($out, qr/^ok: good\.example is a customer domain/m, 'it is a customer domain');
like($out, qr/^info: MX 10 site\.test: 127\.0\.0\.2$/m, 'the MX set: site.test at 10');
like($out, qr/^info: MX 20 mx\.sluice\.test: 127\.0\.0\.5 \(this host\)$/m,
    'the MX set: mx.sluice.test at 20, this host');
like($out, qr/^ok: this host is listed as mx\.sluice\.test, preference 20$/m,
    'this host is listed, by name and preference');
like($out, qr/^ok: the site's own MX site\.test \(preference 10\) is preferred over this host \(preference 20\)$/m,
    "the site's MX is preferred");
like($out, qr/^ok: reverse DNS of 127\.0\.0\.5 is mx\.sluice\.test, which resolves back to it$/m,
    'reverse DNS matches, forward-confirmed');
like($out, qr/^ok: site\.test\[127\.0\.0\.2\]:$mxport answers: 220 greeting in \d+ ms$/m,
    'the site answers 220, with the time taken');
unlike($out, qr/^(?:warning|error):/m, 'no warning, no error');
ok(wait_for(sub { $site->count == 0 }, 1), 'the check sent no mail');

# --json: one object, findings with verdict, check and text.
($rc, $out, $err) = check('good.example', '--json');
is($rc, 0, 'good.example --json: exit 0') or diag($err);
my $j = eval { decode_json($out) };
ok($j, 'the JSON parses') or diag($@ . $out);
is($j->{domain}, 'good.example', 'JSON: domain');
is($j->{exit}, 0, 'JSON: exit 0');
my ($listed) = grep { $_->{check} eq 'listed' } @{ $j->{findings} };
is($listed->{verdict}, 'ok', 'JSON: listed ok');
is($listed->{host}, 'mx.sluice.test', 'JSON: listed as mx.sluice.test');
is($listed->{preference}, 20, 'JSON: at preference 20');
my ($reach) = grep { $_->{check} eq 'reach' } @{ $j->{findings} };
is($reach->{verdict}, 'ok', 'JSON: reach ok');
like($reach->{ms}, qr/^\d+$/, 'JSON: reach has ms');
is($reach->{address}, '127.0.0.2', 'JSON: reach address');
is(scalar(grep { $_->{verdict} !~ /^(?:ok|info)$/ } @{ $j->{findings} }), 0,
    'JSON: nothing but ok and info');

# --no-connect leaves the site alone.
($rc, $out) = check('good.example', '--no-connect');
is($rc, 0, '--no-connect: exit 0');
unlike($out, qr/answers|reach|220/, '--no-connect: no connection tried');

# 2. This host is not an MX host.
($rc, $out) = check('missing.example');
is($rc, 65, 'missing.example: exit 65 (EX_DATAERR)');
like($out, qr/^error: this host is not an MX host of missing\.example /m,
    'error: this host is not listed');

# 3. Ours is the best MX: mail would loop.
($rc, $out) = check('loop.example', '--no-connect');
is($rc, 65, 'loop.example: exit 65');
like($out, qr/^ok: this host is listed as mx\.sluice\.test, preference 5$/m,
    'listed at 5');
like($out, qr/^error: this host is the best MX of loop\.example \(preference 5\): its mail would loop back here/m,
    'error: the mail would loop');

# ... unless a route= says where the mail goes.
($rc, $out) = check('routed.example');
is($rc, 0, 'routed.example: exit 0') or diag($out);
like($out, qr/^ok: this host is the best MX of routed\.example \(preference 10\); its mail goes by route=\[127\.0\.0\.2\]:$mxport/m,
    'ok: the best MX, with the route used');
like($out, qr/^ok: 127\.0\.0\.2\[127\.0\.0\.2\]:$mxport answers: 220/m,
    'the route answers 220');

# 4. The site's MX refuses connections: a warning, exit 0 (a part-time
# site is offline most of the time).
($rc, $out) = check('down.example');
is($rc, 0, 'down.example: exit 0');
like($out, qr/^warning: down\.test\[127\.0\.0\.3\]:$mxport does not answer: connect: Connection refused/m,
    'warning: connection refused, named');
like($out, qr/^warning: the site of down\.example is not reachable now/m,
    'warning: the site is not reachable now');

# 5. NXDOMAIN, no MX, SERVFAIL, timeout.
($rc, $out) = check('nx.example');
is($rc, 68, 'nx.example: exit 68 (EX_NOHOST)');
like($out, qr/^error: nx\.example does not exist \(NXDOMAIN\)/m, 'error: NXDOMAIN named');
($rc, $out) = check('nomx.example', '--no-connect');
is($rc, 65, 'nomx.example: exit 65');
like($out, qr/^warning: nomx\.example has no MX record/m, 'warning: no MX record');
like($out, qr/^error: this host is not an MX host of nomx\.example/m,
    'error: and so this host is not listed');
($rc, $out) = check('servfail.example');
is($rc, 75, 'servfail.example: exit 75 (EX_TEMPFAIL)');
like($out, qr/^error: MX lookup of servfail\.example failed: .*SERVFAIL/m,
    'error: SERVFAIL named');
($rc, $out) = check('timeout.example');
is($rc, 75, 'timeout.example: exit 75 (EX_TEMPFAIL)');
like($out, qr/^error: MX lookup of timeout\.example failed: Timeout.*no DNS server answered/m,
    'error: timeout named');
like($out, qr/^error: timeout\.example is not in the domains file/m,
    'error: and it is not a customer domain');

# 6. Reverse DNS: a PTR that names another host, and none.
($rc, $out) = check('badptr.example', '--no-connect');
is($rc, 0, 'badptr.example: exit 0 (a warning)');
like($out, qr/^ok: this host is listed as mx2\.sluice\.test, preference 20$/m,
    'listed by its address (mx2.sluice.test is not myhostname)');
like($out, qr/^warning: reverse DNS of 127\.0\.0\.6 is elsewhere\.test, which does not resolve back to it/m,
    'warning: PTR names another host, not forward-confirmed');
($rc, $out) = check('noptr.example', '--no-connect');
is($rc, 0, 'noptr.example: exit 0 (a warning)');
like($out, qr/^warning: no reverse DNS for 127\.0\.0\.8 \(of mx3\.sluice\.test\)/m,
    'warning: no PTR');

# 7. Not a customer domain.
($rc, $out) = check('fleet.example', '--no-connect');
is($rc, 65, 'a domain not in the domains file: exit 65');
like($out, qr/^error: fleet\.example is not in the domains file \S+domains: this host refuses its mail/m,
    'error: not in the domains file, named');

# 8. Usage.
($rc, $out, $err) = check();
is($rc, 64, 'no domain: exit 64 (EX_USAGE)');
like($err, qr/usage: .*check DOMAIN/, 'usage printed');
($rc, $out, $err) = check('not_a..domain');
is($rc, 64, 'a bad domain name: exit 64');
($rc, $out) = check('GOOD.Example.', '--no-connect');
is($rc, 0, 'a name in capitals with the trailing dot: the same domain');
like($out, qr/^ok: good\.example is a customer domain/m, 'and checked as good.example');
($rc, $out) = check('--help');
is($rc, 0, 'check --help: exit 0');
like($out, qr/check DOMAIN \[--json\] \[--no-connect\]/, 'check --help: the usage');

# 8b. Hostile answers: what DNS or a site sends is shown, never obeyed by
# the terminal.
($rc, $out, $err) = check('hostile.example', '--no-connect');
unlike($out . $err, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'a hostile MX name: no control character printed')
    or diag(explain($out . $err));
# A site whose greeting is a refusal full of escapes and a NUL.
my $evil = IO::Socket::INET->new(LocalAddr => '127.0.0.4', LocalPort => $mxport,
    Listen => 5, ReuseAddr => 1, Proto => 'tcp') or die "listen 127.0.0.4:$mxport: $!";
my $evil_pid = fork // die "fork: $!";
if ($evil_pid == 0) {
	# Killed plainly: the parent's END blocks (the servers' clean-up) are not its own.
	$SIG{TERM} = 'DEFAULT';
	my ($n, @open) = (0);
	while (my $c = $evil->accept) {
		$c->autoflush(1);
		if ($n++ % 3 == 0) {
			print $c "554 \e]0;owned\a\e[2J go away\r\n";
			close $c;
		} elsif ($n % 3 == 2) {
			# Binary, and the connection left open.
			print $c "220\0\x01\xff binary\r\n";
			push @open, $c;
		} else {
			# A line that never ends.
			print $c "220 " . ('x' x 2000);
			push @open, $c;
		}
	}
	POSIX::_exit(0);
}
close $evil;
($rc, $out, $err) = check('banner.example');
like($out, qr/^warning: banner\.test\[127\.0\.0\.4\]:$mxport does not answer: greeting: 554 \?\]0;owned\?\?\[2J go away/m,
    'a hostile greeting: shown with its control characters as ?');
unlike($out . $err, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'no control character printed');
# The second try greets with a NUL: said at once, not waited on until
# the try's time is over.
($rc, $out, $err) = check('banner.example');
like($out, qr/^warning: banner\.test\[127\.0\.0\.4\]:$mxport does not answer: greeting: a NUL byte in it, not SMTP \(after \d+ ms\)$/m,
    'a greeting with a NUL byte: refused as not SMTP') or diag($out . $err);
# The third: a line that never ends.
($rc, $out, $err) = check('banner.example');
like($out, qr/^warning: banner\.test\[127\.0\.0\.4\]:$mxport does not answer: greeting: a line longer than 1023 octets/m,
    'a greeting line without end: refused once past 1023 octets') or diag($out . $err);
# The fourth greets with escapes again, for --json.
ok(eval { decode_json((check('banner.example', '--json'))[1]) },
    'the JSON of it parses');
kill 'TERM', $evil_pid;
waitpid $evil_pid, 0;

# 9. A fleet: peer mx-b.sluice.test at another preference, then at ours.
my $f = SluiceTest->new(domains => ['fleet.example mode=hold probe=no',
    'fleetok.example mode=hold probe=no', 'v6.example mode=hold probe=no'],
    files => { peer_secret => "a secret the fleet shares\n" });
# (Never started: [::1] is only named, so the test needs no IPv6.)
$f->set_conf(smtp_listen => '127.0.0.1:' . $f->port . " 127.0.0.5:$mxport [::1]:$mxport",
    dns_servers => '127.0.0.1:' . $dns->port, smtp_mx_port => $mxport,
    peers => "mx-b.sluice.test:$mxport");
($rc, $out, $err) = $f->cli('check', 'fleet.example', '--no-connect');
is($rc, 0, 'fleet.example: exit 0 (a warning)') or diag($out . $err);
like($out, qr/^warning: fleet peer mx-b\.sluice\.test is listed as mx-b\.sluice\.test at preference 30, not at this host's 20/m,
    'warning: the fleet peer at another preference');
($rc, $out) = $f->cli('check', 'fleetok.example', '--no-connect');
like($out, qr/^ok: fleet peer mx-b\.sluice\.test is listed as mx-b\.sluice\.test at preference 20, as this host is$/m,
    'ok: the fleet peer at our preference');
($rc, $out) = $f->cli('check', 'good.example', '--no-connect');
like($out, qr/^warning: fleet peer mx-b\.sluice\.test is not an MX host of good\.example/m,
    'warning: the fleet peer missing');


# An IPv6 address of ours: listed by it, and its reverse DNS (ip6.arpa).
($rc, $out) = $f->cli('check', 'v6.example', '--no-connect');
like($out, qr/^ok: this host is listed as mx6\.sluice\.test, preference 20$/m,
    'listed by its IPv6 address');
like($out, qr/^ok: reverse DNS of ::1 is mx6\.sluice\.test, which resolves back to it$/m,
    'reverse DNS of an IPv6 address (ip6.arpa)');

# 10. config check: the same checks (no connection) as warnings, exit 0.
$s->set_conf(dns_check => 'yes');
($rc, $out, $err) = $s->cli('config', 'check');
is($rc, 0, 'config check with DNS problems: exit 0') or diag($err);
like($err, qr/^sluice: warning: dns check: loop\.example: this host is the best MX of loop\.example/m,
    'config check: warning for loop.example');
like($err, qr/^sluice: warning: dns check: missing\.example: this host is not an MX host/m,
    'config check: warning for missing.example');
like($err, qr/^sluice: warning: dns check: nx\.example: nx\.example does not exist \(NXDOMAIN\)/m,
    'config check: warning for nx.example');
like($err, qr/^sluice: warning: dns check: badptr\.example: reverse DNS of 127\.0\.0\.6/m,
    'config check: warning for badptr.example');
unlike($err, qr/dns check: (?:good|routed|down)\.example/,
    'config check: nothing for the good setups, and no connection to down.test');
unlike($err, qr/DNS check skipped/, 'config check: DNS was not skipped');

# With no DNS server answering: said once, still exit 0.
my $deadport = free_port();
$s->set_conf(dns_servers => "127.0.0.1:$deadport");
($rc, $out, $err) = $s->cli('config', 'check');
is($rc, 0, 'config check with DNS down: exit 0') or diag($err);
my @skipped = $err =~ /^sluice: warning: DNS check skipped: no DNS server answered/mg;
is(scalar(@skipped), 1, 'config check: "DNS check skipped" said once') or diag($err);
unlike($err, qr/dns check: \S+: /, 'config check: no per-domain warning when DNS is down');
$s->set_conf(dns_servers => '127.0.0.1:' . $dns->port);

# 11. qmgr at start: the same warnings in the log, in the background.
$s->start;
ok($s->wait_log(qr{qmgr\[\d+\]: warning: dns check: loop\.example: this host is the best MX of loop\.example \(preference 5\)}),
    'qmgr at start: warning: dns check: loop.example');
ok($s->wait_log(qr{qmgr\[\d+\]: dns check: 10 domains checked, \d+ problems}),
    'qmgr at start: every domain checked');
is($s->log_count(qr/dns check: (?:good|routed|down)\.example/), 0,
    'qmgr: nothing logged for the good setups');

# 12. Reload with DNS down: said once, the reload goes through, and mail
# is still taken.
$s->set_conf(dns_servers => "127.0.0.1:$deadport");
($rc, $out, $err) = $s->cli('reload');
is($rc, 0, 'reload with DNS down: exit 0') or diag($out . $err);
ok($s->wait_log(qr{qmgr\[\d+\]: warning: DNS check skipped: no DNS server answered the MX lookup of \S+ \(.*\); \d+ of 10 domains checked; it runs again at the next reload}),
    'qmgr after reload: warning: DNS check skipped, with the reason');
is($s->log_count(qr/DNS check skipped/), 1, 'said once');
($rc, $out) = $s->swaks('--to', 'user@good.example', '--from', 'a@sender.example');
is($rc, 0, 'swaks after the reload: exit 0') or diag($out);
like($out, qr/<- +250 2\.0\.0 .*queued as [0-9A-F]{20}/, 'the message gets 250 after the reload');
($rc, $out) = $s->cli('status');
is($rc, 0, 'sluice status: running') or diag($out);
my @bad = grep { /AddressSanitizer|runtime error|panic|fatal/ } split /\n/, $s->log_text;
ok(!@bad, 'no sanitizer report, panic or fatal') or diag(join "\n", @bad);
$s->stop;
$site->stop;
$dns->stop;

done_testing();
