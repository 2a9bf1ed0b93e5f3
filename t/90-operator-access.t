# t/90-operator-access.t - who may use qmgr's control socket: root,
# mail_owner and operator_group may list, summarize and change the queue
# and ask for the status; everyone else is refused with the reason and
# exit 77 (EX_NOPERM), and every operator action is logged with its uid.
# (As nobody, "sluice queue list" used to show every sender and
# recipient, "queue delete" removed mail and "flush" released a domain.)
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use File::Copy qw(copy);
use Test::More;
use SluiceTest qw(run_cmd wait_for);

my $builddir = $ENV{SLUICE_BUILDDIR};
my $s = SluiceTest->new;
$s->start;
# qmgr may still be opening its index right after start: wait for it.
ok(wait_for(sub { ($s->cli('status'))[1] =~ /^qmgr: pid=/m }, 30), 'qmgr answers');
my ($a, $b) = ($s->served('alice@site.example'), $s->served('bob@site.example'));
ok($a && $b, 'two messages for the held domain are queued');

# A copy of the CLI in the test directory, so that another user can run
# it even when the build tree is private.
my $cli = $s->dir . '/sluice';
copy("$builddir/cli/sluice", $cli) or die "copy sluice: $!\n";
chmod 0755, $cli;

# as UID, ARGS - run the CLI as uid (and its primary group), no other groups
sub as {
	my ($uid, @args) = @_;
	my $gid = (getpwuid($uid))[3] // $uid;
	return run_cmd(['setpriv', "--reuid=$uid", "--regid=$gid", '--clear-groups', '--',
	    $cli, '-c', $s->confdir, @args], timeout => 60);
}

sub log_has { my ($re) = @_; wait_for(sub { $s->log_text =~ $re }, 10) }

SKIP: {
	skip 'running the CLI as nobody needs root (setpriv); the caller is mail_owner here', 22
	    if $> != 0;
	my $nobody = getpwnam('nobody') // 65534;
	my $owner = getpwnam('sluice');
	skip 'no sluice user to run as mail_owner', 22 unless defined $owner;

	# Refused: listing (addresses), summary (customer domains), every change.
	for my $cmd (['queue', 'list'], ['queue', 'summary'], ['queue', 'delete', $a],
	    ['queue', 'hold', $a], ['flush', 'site.example']) {
		my ($rc, $out, $err) = as($nobody, @$cmd);
		is($rc, 77, "as nobody, sluice @$cmd exits 77 (EX_NOPERM)") or diag("$out$err");
		like($err, qr/permission denied: uid $nobody may not [a-z ]+: it is not root or mail_owner sluice /,
		    '... naming the uid and who may') or diag($err);
		unlike($out, qr/alice|bob|site\.example/, '... and shows nothing of the queue');
	}
	ok(log_has(qr/qmgr\[\d+\]: warning: refuse flush request from uid=$nobody, /),
	    'qmgr logs the refused flush with the uid');
	unlike($s->log_text, qr/trigger: domain=site\.example|flush: domain=/,
	    'the refused flush released nothing');
	is_deeply([grep { $_ eq $a } $s->queue_files], [$a], 'the refused delete removed nothing');

	# status too, as "postfix status" is root's.
	my ($rc, $out, $err) = as($nobody, 'status');
	is($rc, 77, 'as nobody, sluice status exits 77') or diag("$out$err");
	like($err, qr/permission denied/, '... saying why');

	# mail_owner may.
	($rc, $out, $err) = as($owner, 'queue', 'hold', $a);
	is($rc, 0, 'as mail_owner, queue hold exits 0') or diag($err);
	ok(log_has(qr/qmgr\[\d+\]: $a: placed on hold by uid=$owner$/m),
	    'qmgr logs the hold with mail_owner\'s uid');

	# operator_group lets a group in (nobody's own group here).
	my $group = getgrgid((getpwuid($nobody))[3]);
	$s->set_conf(operator_group => $group);
	kill 'HUP', $s->pid;
	ok(log_has(qr/qmgr\[\d+\]: reload configuration/), 'qmgr reloads with operator_group set');
	($rc, $out, $err) = as($nobody, 'queue', 'list');
	is($rc, 0, "as nobody in operator_group $group, queue list exits 0") or diag($err);
	like($out, qr/bob\@site\.example/, '... and lists the queue');
	($rc, $out, $err) = as($nobody, 'queue', 'delete', $b);
	is($rc, 0, '... and queue delete exits 0') or diag($err);
	ok(log_has(qr/qmgr\[\d+\]: $b: removed by uid=$nobody$/m), 'qmgr logs the removal with the uid');
	$s->set_conf(operator_group => undef);
	kill 'HUP', $s->pid;
	ok(wait_for(sub { (() = $s->log_text =~ /qmgr\[\d+\]: reload configuration/g) >= 2 }, 10),
	    'qmgr reloads without operator_group');
}

# root (or, for a developer, mail_owner itself): allowed, logged with the uid.
my ($rc, $out, $err) = $s->cli('queue', 'delete', $a);
is($rc, 0, 'the tests\' own user may delete') or diag($err);
ok(log_has(qr/qmgr\[\d+\]: $a: removed by uid=$<$/m), "qmgr logs the removal by uid=$<");
ok(!grep({ $_ eq $a } $s->queue_files), 'and the message is gone');

# Without qmgr the CLI opens the index itself: its permissions decide.
is($s->stop, 0, 'stop');
SKIP: {
	skip 'needs root to run the CLI as nobody', 2 if $> != 0;
	my ($rc2, $out2, $err2) = as(scalar(getpwnam('nobody') // 65534), 'queue', 'list');
	is($rc2, 77, 'with qmgr stopped, nobody\'s queue list exits 77') or diag("$out2$err2");
	like($err2, qr/permission denied: qmgr is not running and uid \d+ may not open the queue index/,
	    '... saying why');
}
done_testing;
