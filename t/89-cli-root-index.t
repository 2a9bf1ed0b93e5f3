# t/89-cli-root-index.t - `sluice queue` as root while qmgr is down must
# leave the index usable by qmgr (mail_owner): the CLI asked whether
# index/.lock was held by creating index/ and .lock as root, then could
# not open the lock itself, and qmgr exited 75 at every restart after.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use File::Path qw(remove_tree);
use Test::More;
use SluiceTest qw(wait_for);

plan skip_all => 'the CLI drops to mail_owner only when run as root' if $> != 0;

my $s = SluiceTest->new;
$s->start;
my ($rc, $out) = $s->swaks('--to', 'alice@site.example');
is($rc, 0, 'a message is accepted') or diag($out);
my @l = $s->queue_list;
is(scalar @l, 1, 'and listed by qmgr');
my $err;
$s->stop;

# The index is a cache: an operator may remove it while sluice is down.
remove_tree($s->qdir . '/index');
($rc, $out, $err) = $s->cli('queue', 'list');
is($rc, 0, 'queue list as root with qmgr down exits 0') or diag($err);
like($out, qr/site\.example/, 'and lists the message from the spool') or diag($out);
my $uid = (getpwnam('sluice'))[2];
for my $f ('index', 'index/.lock') {
	my @st = stat($s->qdir . "/$f");
	ok(@st && $st[4] == $uid, "$f belongs to mail_owner, not root")
	    or diag(@st ? "owner uid $st[4]" : "missing: $!");
}

$s->start;
my $qmgr = $s->child_pid('qmgr');
ok($qmgr, 'qmgr starts on that index');
@l = $s->queue_list;
is(scalar @l, 1, 'qmgr answers queue list with the message');
my $later = $s->child_pid('qmgr');
ok($qmgr && $later && $later == $qmgr, 'qmgr is the same process (it did not exit and restart)')
    or diag('qmgr pid ' . ($qmgr // 'none') . ', then ' . ($later // 'none'));
unlike($s->log_text, qr/lock .*index.*(Permission denied|EACCES)/,
    'no lock failure in the log');
$s->stop;
done_testing;
