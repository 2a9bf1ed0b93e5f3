# t/71-turn-etrn.t - sluice-turn etrn against an ISP of two sluice MX
# hosts (t/lib/TurnFleet.pm): the MX set comes from DNS, the site's own
# address in it is skipped, each MX gets ETRN and its reply is one line,
# the held mail of both arrives at the site's smtp-sink. With one MX down,
# its line says so, the other is still released, the retry series runs
# and ends in exit 75, and the link commands ran around it.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes ();

use SluiceTest qw(wait_for slurp);
use TurnFleet;

my $t0 = Time::HiRes::time();
my $f = TurnFleet->start;
my ($mx1, $mx2) = @$f{qw(mx1 mx2)};
my $P = $f->{smtp_port};

ok($f->queue($mx1, 'u@site.example', 3), 'three messages held at mx1');
ok($f->queue($mx2, 'v@site.example', 2), 'two messages held at mx2');

# 1. Both MX hosts released by one command; the site's own MX skipped.
my ($rc, $out, $err) = $f->turn('etrn', $f->args, 'site.example');
is($rc, 0, 'etrn exits 0 when every MX accepted') or diag($err);
like($err, qr/^sluice-turn: mx1\.isp\.test\[127\.0\.0\.2\]:$P: 253 2\.0\.0 OK, 3 pending messages for node site\.example started$/m,
    'mx1: 253 with its count, 3') or diag($err);
like($err, qr/^sluice-turn: mx2\.isp\.test\[127\.0\.0\.3\]:$P: 253 2\.0\.0 OK, 2 pending messages for node site\.example started$/m,
    'mx2: 253 with its count, 2') or diag($err);
like($err, qr/^sluice-turn: mx3\.isp\.test\[127\.0\.0\.1\]: skipped: an address of this site$/m,
    'mx3 (127.0.0.1, this site) is skipped');
unlike($err, qr/mx3\.isp\.test\[127\.0\.0\.1\]:$P/, 'and not contacted');
is(scalar(() = $err =~ /:$P: /g), 2, 'one line per MX contacted');
for my $s ($mx1, $mx2) {
	ok($s->wait_log(qr/trigger: domain=site\.example, source=etrn, client=127\.0\.0\.1, .*result=ok/),
	    $s->addr . ' logged the ETRN trigger');
}
ok(wait_for(sub { $f->sink_count == 5 }, 60), 'all 5 messages arrived at the sink')
    or diag('sink has ' . $f->sink_count);
ok(wait_for(sub { !$mx1->queue_files && !$mx2->queue_files }, 30),
    'both queues are empty');
# The two-MX release's transcript, for the record (prove -v shows it).
note("sluice-turn etrn site.example:\n$err");
note(join "\n", 'the MX hosts\' trigger lines:',
    map { $_->log_lines(qr/trigger: domain=site\.example, source=etrn/) } $mx1, $mx2);
note("smtp-sink's count: " . $f->sink_count);

# 2. Again with nothing waiting: 251 from both.
($rc, $out, $err) = $f->turn('etrn', $f->args, 'site.example');
is($rc, 0, 'etrn with nothing waiting exits 0');
is(scalar(() = $err =~ /: 251 2\.0\.0 OK, no messages waiting for node site\.example$/mg), 2,
    'both say 251: no messages waiting') or diag($err);

# 3. mx2 down: its line says so, mx1 is still released, the series runs
# (1s, 1s: three rounds) and ends in 75; the link commands ran once each.
# The lease (2s) ran out: the gate is closed again.
ok($f->held_again($mx1), 'the gate of site.example at mx1 closed again');
ok($f->queue($mx1, 'w@site.example', 1), 'one more message held at mx1');
$mx2->stop;
my $dir = $mx1->dir;
($rc, $out, $err) = $f->turn('etrn', $f->args, '--retry', '1s,1s',
    '--link-up', "echo up >> $dir/link.log",
    '--link-down', "echo down >> $dir/link.log", 'site.example');
is($rc, 75, 'exit 75 (EX_TEMPFAIL) with one MX down after the series') or diag($err);
like($err, qr/^sluice-turn: mx1\.isp\.test\[127\.0\.0\.2\]:$P: 253 2\.0\.0 OK, 1 pending messages for node site\.example started$/m,
    'mx1 is still released') or diag($err);
is(scalar(() = $err =~ /^sluice-turn: mx2\.isp\.test\[127\.0\.0\.3\]:$P: ETRN site\.example (?:deferred|failed): connect: Connection refused$/mg),
    3, 'mx2: connection refused, once per round') or diag($err);
like($err, qr/ETRN site\.example failed: connect: Connection refused$/m,
    'the last round says failed');
is(scalar(() = $err =~ /mx1\.isp\.test\[127\.0\.0\.2\]:$P:/g), 1,
    'mx1, accepted, is not asked again');
is(scalar(() = $err =~ /retrying the deferred in 1s/g), 2, 'two pauses of 1s');
is(slurp("$dir/link.log"), "up\ndown\n", 'link-up ran before, link-down after');
like($err, qr/^sluice-turn: link-up: "echo up >> \S+": done$/m, 'link-up reported');
ok(wait_for(sub { $f->sink_count == 6 }, 60), 'the sixth message arrived');

# 4. --self names mx2's address as the site's: skipped, so all is well.
($rc, $out, $err) = $f->turn('etrn', $f->args, '--self', '127.0.0.3', 'site.example');
is($rc, 0, 'with --self 127.0.0.3 the down MX is the site itself: exit 0') or diag($err);
like($err, qr/^sluice-turn: mx2\.isp\.test\[127\.0\.0\.3\]: skipped: an address of this site$/m,
    'mx2 skipped');

# 5. A failing link-up is reported and nothing is tried.
($rc, $out, $err) = $f->turn('etrn', $f->args, '--link-up', 'exit 3', 'site.example');
is($rc, 75, 'link-up failing: exit 75');
like($err, qr/^sluice-turn: link-up: "exit 3": exit status 3$/m, 'its status is reported');
unlike($err, qr/:$P: /, 'no MX was contacted');

# 6. Usage and DNS errors.
($rc, $out, $err) = $f->turn('etrn', $f->args, 'bad domain!');
is($rc, 64, 'a bad domain name: EX_USAGE');
($rc, $out, $err) = $f->turn('etrn', $f->args, 'nowhere.example');
is($rc, 68, 'a domain that does not exist: EX_NOHOST') or diag($err);
($rc, $out, $err) = $f->turn('etrn', $f->args, '--retry', '1x', 'site.example');
is($rc, 64, 'a bad --retry: EX_USAGE');
like($err, qr/bad value "1x" for --retry: want pauses such as 1m,2m,5m,10m/, 'which says what it wants');
# The config file: the long options' names; the command line overrides it.
my $conf = $mx1->dir . '/turn.conf';
SluiceTest::spew($conf, "# sluice-turn settings\ndns = 127.0.0.1:" . $f->{dns}->port
    . "\nport = 1\nself = 127.0.0.3\nsyslog = no\n");
($rc, $out, $err) = $f->turn('etrn', '-c', $conf, '--port', $P, 'site.example');
is($rc, 0, 'settings from -c FILE, --port from the command line: exit 0') or diag($err);
like($err, qr/^sluice-turn: mx1\.isp\.test\[127\.0\.0\.2\]:$P: 25[0-3] /m, 'mx1 asked on the right port');
SluiceTest::spew($conf, "port = 25\nbogus = 1\n");
($rc, $out, $err) = $f->turn('etrn', '-c', $conf, 'site.example');
is($rc, 78, 'an unknown setting: EX_CONFIG');
like($err, qr/^sluice-turn: \Q$conf\E:2: unknown setting "bogus"/m, 'named with file and line');
SluiceTest::spew($conf, "retry = soon\n");
($rc, $out, $err) = $f->turn('etrn', '--config', $conf, 'site.example');
is($rc, 78, 'a bad value: EX_CONFIG');
like($err, qr/:1: retry = "soon": want pauses such as/, 'it says what it wants');

($rc, $out, $err) = $f->turn('--help');
is($rc, 0, '--help exits 0');
my %help = map { $_ => 1 } $out =~ /--([a-z][a-z-]*)/g;
my $man = slurp("$ENV{SLUICE_SRCDIR}/man/sluice-turn.1");
# In roff an option is \-\-name (each dash escaped).
my %man = map { (my $k = $_) =~ s/\\-/-/g; $k => 1 }
    $man =~ /\\-\\-([a-z](?:[a-z]|\\-)*[a-z])/g;
is_deeply([sort keys %help], [sort keys %man],
    'the man page documents every option of --help, and no other');

# 7. TLS and AUTH. Required TLS works with sluice's STARTTLS.
($rc, $out, $err) = $f->turn('etrn', $f->args, '--tls', 'encrypt', '--self',
    '127.0.0.3', 'site.example');
is($rc, 0, '--tls encrypt: STARTTLS at mx1, exit 0') or diag($err);
# owned.example: ETRN only from its network, or by its owner after AUTH
# (the submission port).
my $S = $f->{sub_port};
ok($f->queue($mx1, 'o@owned.example', 2), 'two messages held at mx1 for owned.example');
$mx2->start;
# Its smtpd greets before qmgr listens (ETRN would get 458 until then).
ok(wait_for(sub { $mx2->qmgr_listening }, 30), 'mx2 is back, its qmgr listening');
my @sub = ('-D', '127.0.0.1:' . $f->{dns}->port, '--port', $S);
($rc, $out, $err) = $f->turn('etrn', @sub, 'owned.example');
is($rc, 69, 'ETRN without AUTH outside etrn_from: refused, exit 69') or diag($err);
is(scalar(() = $err =~ /:$S: ETRN owned\.example refused: ETRN: 459 4\.7\.1 <owned\.example>: ETRN not allowed: client not in etrn_from$/mg),
    2, 'both MX hosts say 459, once each (a refusal is not retried)') or diag($err);
my $pw = $mx1->dir . '/password';
SluiceTest::spew($pw, "demo\n");
($rc, $out, $err) = $f->turn('etrn', @sub, '--auth-user', 'demo',
    '--auth-password-file', $pw, 'owned.example');
is($rc, 0, 'ETRN after AUTH PLAIN as the owner: exit 0') or diag($err);
like($err, qr/^sluice-turn: mx1\.isp\.test\[127\.0\.0\.2\]:$S: 253 2\.0\.0 OK, 2 pending messages for node owned\.example started$/m,
    'mx1 released owned.example for its owner') or diag($err);
ok($mx1->wait_log(qr/trigger: domain=owned\.example, source=etrn, client=127\.0\.0\.1, user=demo, result=ok/),
    'mx1 logged the trigger with user=demo');
($rc, $out, $err) = $f->turn('etrn', @sub, '--tls', 'none', '--auth-user', 'demo',
    '--auth-password-file', $pw, 'owned.example');
is($rc, 69, 'AUTH without TLS is never sent: exit 69') or diag($err);
like($err, qr/refused: AUTH needs TLS, and the session is not encrypted/, 'it says why');
$f->liar('honest');
($rc, $out, $err) = $f->turn('etrn', $f->args, '--tls', 'encrypt', 'lies.example');
is($rc, 75, '--tls encrypt to a server without STARTTLS: exit 75') or diag($err);
like($err, qr/failed: TLS is required \(--tls encrypt\) and the server does not offer STARTTLS$/m,
    'it says why');
# A handshake that fails: with --tls may, reported and tried again in
# plain text; with --tls encrypt, a temporary failure.
$f->liar('bad_tls');
($rc, $out, $err) = $f->turn('etrn', $f->args, 'lies.example');
is($rc, 0, 'a failed TLS handshake, --tls may: plain text, exit 0') or diag($err);
like($err, qr/^sluice-turn: liar\.isp\.test\[127\.0\.0\.6\]:$P: STARTTLS: TLS handshake: .*; trying again without TLS$/m,
    'the failed handshake is reported') or diag($err);
like($err, qr/^sluice-turn: liar\.isp\.test\[127\.0\.0\.6\]:$P: 251 2\.0\.0 OK, no messages waiting for node lies\.example$/m,
    'then ETRN in plain text');
($rc, $out, $err) = $f->turn('etrn', $f->args, '--tls', 'encrypt', 'lies.example');
is($rc, 75, 'the same with --tls encrypt: exit 75') or diag($err);
unlike($err, qr/trying again without TLS/, 'and no plain text');
# Bytes after the 220 to STARTTLS, before the handshake, would be read
# as if they came encrypted: never used (a STARTTLS injection).
$f->liar('tls_inject');
($rc, $out, $err) = $f->turn('etrn', $f->args, '--tls', 'encrypt', 'lies.example');
is($rc, 75, 'data before the TLS handshake: exit 75') or diag($err);
like($err, qr/:$P: ETRN lies\.example failed: STARTTLS: data before the TLS handshake$/m,
    'it says why') or diag($err);

# 8. An MX that lies: every reply out of protocol is a temporary failure
# with a line naming it, nothing more; a refusal is not retried.
my @lies = (
	['etrn458', 75, qr/ETRN lies\.example failed: ETRN: 458 4\.7\.0 Unable to queue messages for node lies\.example/],
	['etrn459', 69, qr/ETRN lies\.example refused: ETRN: 459 4\.7\.1 <lies\.example>: not a domain queued here/],
	['etrn550', 69, qr/ETRN lies\.example refused: ETRN: 550 5\.7\.1 no ETRN here/],
	['long_reply', 75, qr/failed: protocol error: reply of more than 64 lines/],
	['long_line', 75, qr/failed: line longer than 1023 bytes/],
	['bad_code', 75, qr/failed: protocol error: reply "2x0 hello"/],
	['mixed_codes', 75, qr/failed: protocol error: reply code 251 inside a 250 reply/],
	['silent', 75, qr/failed: timeout after 1s/],
);
for my $l (@lies) {
	my ($cue, $want, $re) = @$l;
	$f->liar($cue);
	($rc, $out, $err) = $f->turn('etrn', $f->args, '--io-timeout', '1s',
	    'lies.example');
	is($rc, $want, "liar $cue: exit $want") or diag($err);
	like($err, qr/^sluice-turn: liar\.isp\.test\[127\.0\.0\.6\]:$P: .*$re$/m,
	    "liar $cue: its line says why") or diag($err);
	is(scalar(() = $err =~ /^sluice-turn: liar/mg), 1, "liar $cue: one line");
}

my @bad = grep { /AddressSanitizer|runtime error|panic/ } map { split /\n/, $_->log_text } $mx1, $mx2;
ok(!@bad, 'no sanitizer report or panic') or diag(join "\n", @bad);
$f->stop;
diag(sprintf 'run time %.1fs', Time::HiRes::time() - $t0);
done_testing();
