# 39-soak: the crash soak of bench/soak, small: 20 kill -9 of smtpd, qmgr
# and deliver at random while clients send mail with unique Message-IDs
# and a flusher keeps deliver busy. Afterwards nothing the clients were
# given a 250 for is missing at the customer's sink, nothing they were
# refused arrived, nothing is left in the queue, every copy is the bytes
# that were sent, and every duplicate follows a deliver kill closely.
# bench/README explains the counts; the big run is reported there.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use SluiceTest qw(run_cmd);

my $KILLS = $ENV{SLUICE_SOAK_KILLS} || 20;
my $soak = "$ENV{SLUICE_SRCDIR}/bench/soak";

my ($rc, $out, $err) = run_cmd([$^X, $soak, '--builddir',
    $ENV{SLUICE_BUILDDIR}, '--kills', $KILLS], timeout => 600);
diag($out);
diag($err) if $rc != 0;

my %n;
for my $line (split /\n/, $out) {
	$n{$1} = $2 if $line =~ /^\| ([^|]+?) \| (\d+) \|/;
}
like($out, qr/^sluice crash soak, .*: $KILLS kills \(smtpd (\d+), qmgr (\d+), deliver (\d+)\)/m,
    "$KILLS kills landed");
my ($ks, $kq, $kd) = $out =~ /kills \(smtpd (\d+), qmgr (\d+), deliver (\d+)\)/;
ok(($ks // 0) > 0 && ($kq // 0) > 0 && ($kd // 0) > 0,
    'each of smtpd, qmgr and deliver was killed');
my ($restarts) = $out =~ /master logged (\d+) restarts after signal 9/;
cmp_ok($restarts // 0, '>=', $KILLS, 'master restarted a program after each kill');
cmp_ok($n{acked} // 0, '>', 0, 'clients were given 250s');
cmp_ok($n{received} // 0, '>=', $n{acked} // 0, 'the sink received at least that many');
is($n{lost}, 0, 'lost: nothing acked is missing at the sink');
is($n{phantom}, 0, 'phantom: nothing refused arrived');
is($n{'duplicates outside a deliver kill window'}, 0,
    'every duplicate follows a deliver kill');
is($n{damaged}, 0, 'damaged: every copy is the bytes sent, under its queue ID');
is($n{stuck}, 0, 'stuck: the queue is empty after the final flush');
is($n{corrupt}, 0, 'nothing was moved to corrupt/');
is($n{'sanitizer reports or panics'}, 0, 'no sanitizer report or panic');
like($out, qr/^result: PASS$/m, 'bench/soak says PASS');
is($rc, 0, 'bench/soak exits 0');

done_testing();
