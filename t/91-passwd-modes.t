# t/91-passwd-modes.t - the secrets file (sluice-passwd(5)) stays readable
# by the daemons and by nobody else: "make install" installs the example
# root, mail_owner's group, 0640; "sluice passwd" keeps the owner, group
# and mode of the file it rewrites and creates a new one root:mail_owner
# 0640; "sluice config check" reports a file the daemons cannot read or
# every user can, with the fix. (After make install the example was
# root:root 0644; sluice passwd as root then made it root:root 0640, the
# daemons could not read it and every customer login failed, while config
# check and start passed.)
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use File::Find qw(find);
use File::Temp qw(tempdir);
use Test::More;
use SluiceTest qw(free_port run_cmd tool);

my $builddir = $ENV{SLUICE_BUILDDIR};
my $root = $> == 0;
my $group = getgrnam('sluice');

# --- make install -------------------------------------------------------
my $dest = tempdir('sluice-inst-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($rc, $out, $err) = run_cmd(['make', '-s', '-C', $builddir, 'install-data',
    "DESTDIR=$dest"], timeout => 300);
is($rc, 0, 'make install-data DESTDIR=... exits 0') or diag("$out$err");
my @found;
find(sub { push @found, $File::Find::name if $_ eq 'passwd' && $File::Find::dir =~ m{/examples$} },
    $dest);
is(scalar @found, 1, 'the example passwd is installed') or diag("@found");
my @st = stat($found[0] // '');
is(sprintf('%04o', ($st[2] // 0) & 07777), '0640', 'installed with mode 0640, not 0644');
SKIP: {
	skip 'the group is set only when installing as root with a sluice group', 2
	    unless $root && defined $group;
	is($st[4], 0, '... owned by root');
	is($st[5], $group, '... in mail_owner\'s group (sluice)');
}

# --- sluice passwd and config check --------------------------------------
my $sub = free_port();
my $s = SluiceTest->new(conf => { submission_listen => "127.0.0.1:$sub" });
my $pw = $s->confdir . '/passwd';
sub passwd { my ($login, $pass) = @_;
	run_cmd([$builddir . '/cli/sluice', '-c', $s->confdir, 'passwd', $login],
	    stdin => "$pass\n") }
sub mode { sprintf '%04o', (stat $pw)[2] & 07777 }

($rc, $out, $err) = passwd('demo', 'first');
is($rc, 0, 'sluice passwd creates the file') or diag("$out$err");
is(mode(), '0640', '... with mode 0640');
SKIP: {
	skip 'ownership needs root and a sluice group', 1 unless $root && defined $group;
	is_deeply([(stat $pw)[4, 5]], [0, $group], '... root:sluice');
}
($rc, $out, $err) = $s->cli('config', 'check');
is($rc, 0, 'config check passes with it') or diag($err);

# A world-readable file: kept as it is by sluice passwd, reported by config check.
chmod 0644, $pw;
($rc, $out, $err) = passwd('demo', 'second');
is($rc, 0, 'sluice passwd rewrites a 0644 file') or diag($err);
is(mode(), '0644', '... keeping its mode');
like($err, qr/warning: passwd_file \Q$pw\E: every local user can read it \(mode 0644\)\. Fix: .*chmod 0640 \Q$pw\E/,
    '... and warns that every user can read it, with the fix');
($rc, $out, $err) = $s->cli('config', 'check');
is($rc, 78, 'config check of a world-readable passwd exits 78');
like($err, qr/passwd_file \Q$pw\E: every local user can read it .*Fix: /, '... naming the file and the fix');

SKIP: {
	skip 'the daemons run as another user only when started as root', 9
	    unless $root && defined $group;
	# root:root 0640: what the old sluice passwd left; the daemons cannot read it.
	chown 0, 0, $pw;
	chmod 0640, $pw;
	($rc, $out, $err) = $s->cli('config', 'check');
	is($rc, 78, 'config check of a root:root 0640 passwd exits 78');
	like($err, qr/passwd_file \Q$pw\E: the daemons \(uid \d+, gid $group\) cannot read it: Permission denied; .*Fix: chown root:sluice \Q$pw\E && chmod 0640/,
	    '... saying the daemons cannot read it, with the fix') or diag($err);
	($rc, $out, $err) = $s->cli('start');
	like($err, qr/warning: passwd_file \Q$pw\E: the daemons .* cannot read it/,
	    'sluice start warns about it too');
	$s->kill_daemon;
	wait_for_gone($s);

	# The fix, then sluice passwd as root: root:sluice 0640 stays so, and logins work.
	chown 0, $group, $pw;
	($rc, $out, $err) = passwd('demo', 'third');
	is($rc, 0, 'sluice passwd as root on root:sluice 0640') or diag($err);
	is_deeply([(stat $pw)[4, 5]], [0, $group], '... keeps root:sluice');
	is(mode(), '0640', '... and 0640');
	is($err, '', '... with nothing to warn about');
	$s->start;
	my ($src, $sout, $serr) = run_cmd([tool('swaks'), '--server', '127.0.0.1', '--port', $sub,
	    '--helo', 'client.sluice.test', '--timeout', 30, '--tls', '--auth', 'PLAIN',
	    '--auth-user', 'demo', '--auth-password', 'third', '--quit-after', 'AUTH'], timeout => 90);
	like($sout . $serr, qr/^<[-~]+\s+235 /m, 'the customer logs in (smtpd, as sluice, reads the file)');
	is($s->stop, 0, 'stop');
}
done_testing;

# wait_for_gone - the daemonized master of "sluice start" has gone
sub wait_for_gone {
	my ($inst) = @_;
	SluiceTest::wait_for(sub { !$inst->daemon_pid }, 20);
}
