# t/94-unreachable.t - master refuses to start when the children's user
# cannot execute the daemons (a clone under /root, mode 0700), naming the
# path and the fix, instead of leaving the port open with nobody answering
# (every child used to fail with "Permission denied" and clients hung);
# and a daemon that cannot be executed later stops master rather than
# being restarted forever.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use File::Copy qw(copy);
use IO::Socket::INET;
use Test::More;
use SluiceTest qw(run_cmd wait_for);

my $builddir = $ENV{SLUICE_BUILDDIR};
my @daemons = qw(master qmgr smtpd deliver etrn fingerd prober web);

# copy_daemons DIR - the built daemons, copied (not linked) into DIR
sub copy_daemons {
	my ($dir) = @_;
	mkdir $dir or die "mkdir $dir: $!\n";
	for my $d (@daemons) {
		copy("$builddir/$d/$d", "$dir/$d") or die "copy $d: $!\n";
		chmod 0755, "$dir/$d";
	}
}

sub listening {
	my ($port) = @_;
	my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    Proto => 'tcp', Timeout => 2);
	return $c ? 1 : 0;
}

SKIP: {
	skip 'the children run as another user only when master starts as root', 7 if $> != 0;
	my $s = SluiceTest->new;
	# A private directory, as /root is: the sluice user cannot pass it.
	my $private = $s->dir . '/private';
	mkdir $private, 0700 or die "mkdir: $!\n";
	copy_daemons("$private/libexec");
	$s->set_conf(daemon_directory => "$private/libexec");

	my ($rc, $out, $err) = run_cmd(["$builddir/master/master", '-c', $s->confdir, '-f'],
	    timeout => 30);
	is($rc, 77, 'master -f exits 77 (EX_NOPERM) instead of running on') or diag("$out$err");
	like($err, qr{execute daemon \Q$private\E/libexec/qmgr as mail_owner sluice \(uid \d+\): Permission denied},
	    'naming the daemon, the user and the error') or diag($err);
	like($err, qr{Fix: .*clone under /srv or /tmp.*o\+x .*namei -l \Q$private\E/libexec/qmgr},
	    'and saying what to do');
	ok(!listening($s->port), 'nothing listens on the SMTP port');

	# sluice start says the same on its own terminal.
	($rc, $out, $err) = $s->cli('start');
	isnt($rc, 0, 'sluice start fails');
	like($err, qr{master: fatal: execute daemon \Q$private\E/libexec/qmgr as mail_owner sluice},
	    '... showing master\'s reason') or diag("$out$err");
	ok(!$s->daemon_pid && !listening($s->port), '... and leaves nothing running');
}

# A daemon that becomes unexecutable while running: master stops, once.
my $s = SluiceTest->new(conf => { master_restart_delay => '1s' });
my $dir = $s->dir . '/libexec';
copy_daemons($dir);
$s->set_conf(daemon_directory => $dir);
$s->start;
chmod 0000, "$dir/prober";
my $prober = $s->child_pid('prober');
ok($prober, 'prober runs');
kill 'KILL', $prober;
ok(wait_for(sub { !$s->alive }, 30), 'master stops when prober cannot be executed again');
my $log = $s->log_text;
like($log, qr{execute \Q$dir\E/prober as uid \d+: Permission denied}, 'the child says why');
like($log, qr{process \Q$dir\E/prober pid \d+ could not be executed \(see above\); stopping},
    'master says why it stops');
is($s->{exit_status} >> 8, 69, 'master exits 69 (EX_UNAVAILABLE)');
ok(!listening($s->port), 'and no port is left open with nobody answering');
done_testing;
