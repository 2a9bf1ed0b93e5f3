#!/usr/bin/perl
# 98-cli-index-lock: the CLI never fails because a qmgr is starting. With
# no qmgr answering, the CLI serves a request itself under the index lock;
# a qmgr that takes that lock first (it was starting) is asked instead,
# and a lock holder that never answers is named in the error.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use lib "$ENV{SLUICE_SRCDIR}/t/lib";
use Fcntl qw(:flock);
use POSIX qw(:sys_wait_h);
use Test::More;
use SluiceTest qw(wait_for run_bg slurp);

my $s = SluiceTest->new;
$s->start;
my ($rc) = $s->swaks('--to', 'user@site.example');
is($rc, 0, 'a message is queued');
my @ids = $s->queue_list_ids;
is(scalar @ids, 1, 'it is listed');
is($s->stop, 0, 'sluice stops');

# A process holds the index lock and does not answer: the CLI waits for
# it, then says which lock and what to look at (EX_UNAVAILABLE).
my $lock = $s->qdir . '/index/.lock';
open my $fh, '>>', $lock or die "open $lock: $!\n";
flock($fh, LOCK_EX) or die "flock $lock: $!\n";
my ($crc, $out, $err) = $s->cli('queue', 'list');
is($crc, 69, 'a lock held by a process that does not answer: exit 69');
like($err, qr/index\S* is locked by a process that does not answer/,
    'the error names the locked index') or diag($err);

# The handover a starting qmgr makes: the CLI is waiting while the lock
# is held; the lock is let go and a qmgr takes it at once. The CLI must
# get its answer from that qmgr, never fail on the lock it lost.
my $cli = "$ENV{SLUICE_BUILDDIR}/cli/sluice";
my $outf = $s->dir . '/cli.out';
my $pid = run_bg([$cli, '-c', $s->confdir, 'queue', 'list'], out => $outf);
ok(wait_for(sub { -e "/proc/$pid" && (slurp("/proc/$pid/wchan") // '') ne '' }, 10),
    'the CLI is running while the lock is held');
close $fh;
$s->start;
my $st;
ok(wait_for(sub { waitpid($pid, WNOHANG) == $pid ? do { $st = $?; 1 } : 0 }, 60),
    'the CLI finishes');
is($st >> 8, 0, 'it exits 0') or diag(slurp($outf));
like(slurp($outf) // '', qr/\Q$ids[0]\E/, 'and lists the queued message');
is($s->stop, 0, 'sluice stops');
done_testing;
