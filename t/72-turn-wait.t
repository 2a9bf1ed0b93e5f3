# t/72-turn-wait.t - sluice-turn check and wait against an ISP of two
# sluice MX hosts (t/lib/TurnFleet.pm), by finger. check: thresholds met
# (exit 0) and not met (exit 1). wait: exits 75 at --timeout while the
# mail stays held (stuck.example's route refuses); started before the
# release of site.example, it exits 0 only once smtp-sink has every
# message of both hosts.
#
# fingerd answers 20 queries a minute from one address, and today's
# fingerd takes two queries per host from a new sluice-turn ("?DOMAIN",
# then the plain form), so each part queries from its own loopback
# address (--bind).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes ();

use SluiceTest qw(wait_for run_bg slurp);
use TurnFleet;

my $t0 = Time::HiRes::time();
my $f = TurnFleet->start;
my ($mx1, $mx2) = @$f{qw(mx1 mx2)};
my $F = $f->{finger_port};

ok($f->queue($mx1, 'u@stuck.example', 2), 'two messages held at mx1 for stuck.example');
ok($f->queue($mx2, 'v@stuck.example', 1), 'one at mx2');

# 1. check: the sums over both hosts against the thresholds.
my @check = ('check', $f->args, '--bind', '127.0.0.1');
my ($rc, $out, $err) = $f->turn(@check, '--messages', '3', 'stuck.example');
is($rc, 0, 'check --messages 3: met, exit 0') or diag($err);
like($err, qr/^sluice-turn: mx1\.isp\.test\[127\.0\.0\.2\]:$F: stuck\.example: 2 waiting, \d+ bytes, oldest \d+s$/m,
    'one line for mx1: 2 waiting') or diag($err);
like($err, qr/^sluice-turn: mx2\.isp\.test\[127\.0\.0\.3\]:$F: stuck\.example: 1 waiting, \d+ bytes, oldest \d+s$/m,
    'one line for mx2: 1 waiting');
like($err, qr/^sluice-turn: thresholds met: 3 messages, \d+ bytes/m, 'thresholds met: 3 messages');
($rc, $out, $err) = $f->turn(@check, '--messages', '4', 'stuck.example');
is($rc, 1, 'check --messages 4: not met, exit 1') or diag($err);
like($err, qr/^sluice-turn: thresholds not met: 3 messages/m, 'it says so');
($rc, $out, $err) = $f->turn(@check, '--messages', '100', '--bytes', '1k', 'stuck.example');
is($rc, 0, 'check --bytes 1k: met by the bytes (three messages are more)') or diag($err);
($rc, $out, $err) = $f->turn(@check, '--bytes', '1G', '--older-than', '1h', 'stuck.example');
is($rc, 1, 'check --bytes 1G --older-than 1h: not met') or diag($err);

# 2. wait while the mail stays held: exit 75 at the timeout, after
# reporting what is still waiting.
($rc, $out, $err) = $f->turn('wait', $f->args, '--bind', '127.0.0.4',
    '--interval', '1s', '--timeout', '3s', 'stuck.example');
is($rc, 75, 'wait --timeout 3s with mail held: exit 75') or diag($err);
like($err, qr/^sluice-turn: mx1\.isp\.test\[127\.0\.0\.2\]:$F: stuck\.example: 2 waiting, 0 in flight/m,
    'mx1 reported 2 waiting') or diag($err);
like($err, qr/^sluice-turn: mx2\.isp\.test\[127\.0\.0\.3\]:$F: stuck\.example: 1 waiting, 0 in flight/m,
    'mx2 reported 1 waiting');
like($err, qr/^sluice-turn: timeout after 3s: 2 of 2 MX hosts still hold mail/m,
    'the timeout line');
unlike($err, qr/mx3\.isp\.test\[127\.0\.0\.1\]:$F/, 'mx3 (this site) was not asked');
is(scalar($mx1->queue_files) + scalar($mx2->queue_files), 3, 'the three messages are still held');

# 3. wait follows a release: started first, it exits 0 only when the
# sink has all five messages of both hosts.
ok($f->queue($mx1, 'w@site.example', 3), 'three messages held at mx1 for site.example');
ok($f->queue($mx2, 'x@site.example', 2), 'two at mx2');
my $wout = $mx1->dir . '/wait.out';
my $pid = run_bg(["$ENV{SLUICE_BUILDDIR}/turn/sluice-turn", 'wait', $f->args,
    '--bind', '127.0.0.5', '--interval', '2s', '--timeout', '120s', 'site.example'],
    out => $wout);
($rc, $out, $err) = $f->turn('etrn', $f->args, 'site.example');
ok($rc == 0 || $rc == 75, 'etrn ran') or diag($err);
my ($st, $at_exit);
wait_for(sub {
	return 0 unless waitpid($pid, WNOHANG) == $pid;
	$st = $? >> 8;
	$at_exit = $f->sink_count;
	return 1;
}, 150);
is($st, 0, 'wait exited 0') or diag(slurp($wout));
is($at_exit, 5, 'when it exited, the sink had all 5 messages');
my $wtext = slurp($wout) // '';
# The round trip's transcript, for the record (prove -v shows it).
note("sluice-turn etrn site.example:\n$err");
note("sluice-turn wait site.example:\n$wtext");
note(join "\n", 'the MX hosts\' trigger lines:',
    map { $_->log_lines(qr/trigger: domain=site\.example, source=(?:etrn|finger)/) } $mx1, $mx2);
note("smtp-sink's count when wait exited: $at_exit");
like($wtext, qr/^sluice-turn: mx1\.isp\.test\[127\.0\.0\.2\]:$F: site\.example: nothing waiting, nothing in flight/m,
    'mx1: nothing waiting') or diag($wtext);
like($wtext, qr/^sluice-turn: mx2\.isp\.test\[127\.0\.0\.3\]:$F: site\.example: nothing waiting, nothing in flight/m,
    'mx2: nothing waiting');
like($wtext, qr/^sluice-turn: all mail delivered from 2 MX hosts$/m, 'the last line');

# 4. A finger answer that lies is not believed: wait never finishes on
# it, check does not count it.
my @lies = (
	['finger_absurd', qr/status query failed: bad "Messages waiting" value "99999999999"/],
	['finger_other', qr/status query failed: bad "Domain" value "other\.example"/],
	['finger_flood', qr/status query failed: answer longer than 8192 bytes/],
);
for my $l (@lies) {
	my ($cue, $re) = @$l;
	$f->liar($cue);
	($rc, $out, $err) = $f->turn('wait', $f->args, '--interval', '1s',
	    '--timeout', '2s', 'lies.example');
	is($rc, 75, "liar $cue: wait does not finish (exit 75)") or diag($err);
	like($err, qr/^sluice-turn: liar\.isp\.test\[127\.0\.0\.6\]:$F: lies\.example: $re$/m,
	    "liar $cue: the line says why") or diag($err);
	($rc, $out, $err) = $f->turn('check', $f->args, '--messages', '0', 'lies.example');
	is($rc, 0, "liar $cue: check --messages 0 is met by nothing at all") or diag($err);
	($rc, $out, $err) = $f->turn('check', $f->args, 'lies.example');
	is($rc, 75, "liar $cue: check cannot say 'not met' without an answer: 75")
	    or diag($err);
}

my @bad = grep { /AddressSanitizer|runtime error|panic/ } map { split /\n/, $_->log_text } $mx1, $mx2;
ok(!@bad, 'no sanitizer report or panic') or diag(join "\n", @bad);
$f->stop;
diag(sprintf 'run time %.1fs', Time::HiRes::time() - $t0);
done_testing();
