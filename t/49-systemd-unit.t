# t/49-systemd-unit.t - the generated conf/sluice.service and
# conf/sluice.logrotate, checked by the tools that will read them:
# systemd-analyze verify (no complaint about the unit),
# systemd-analyze security --offline=yes (exposure below 3.0, the sandbox
# of a master that binds low ports and then drops privileges), logrotate
# -d, and a real rotation by logrotate against a running master: the new
# file gets the lines of master and its children.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use SluiceTest qw(tool run_cmd wait_for slurp spew);

# The exposure systemd-analyze security may give the unit at most (0 is
# a fully sandboxed service, 10 an unprotected one; ours was 2.8 when
# written: network, root for binding and setuid, a writable spool).
my $MAX_EXPOSURE = 3.0;

my $build = $ENV{SLUICE_BUILDDIR};
my $src = $ENV{SLUICE_SRCDIR};
my $unit = "$build/conf/sluice.service";
my $rot = "$build/conf/sluice.logrotate";
ok(-s $unit, "make built $unit") or BAIL_OUT('no unit');
ok(-s $rot, "make built $rot") or BAIL_OUT('no logrotate file');
my $dir = tempdir('sluice-unit-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;

my $text = slurp($unit);
like($text, qr/^Type=notify$/m, 'Type=notify');
like($text, qr/^ExecStart=\S+\/master -d -c \S+$/m, 'ExecStart runs master -d');
like($text, qr/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, 'ExecReload sends SIGHUP');
like($text, qr/^KillMode=mixed$/m, 'KillMode=mixed');
like($text, qr/^RestartPreventExitStatus=64 78$/m, 'no restart after a usage or config error');
unlike($text, qr/%\w+%/, 'every placeholder substituted');

SKIP: {
	my ($sa) = grep { -x } map { "$_/systemd-analyze" } split(/:/, $ENV{PATH}), '/usr/bin';
	skip 'systemd-analyze is not installed (Debian package systemd)', 4 unless $sa;
	# verify wants ExecStart's program to exist: the one in the build
	# tree, in a copy of the unit; and the Documentation= pages, from
	# the source tree's man/.
	(my $copy = $text) =~ s{^ExecStart=\S+}{ExecStart=$build/master/master}m;
	spew("$dir/sluice.service", $copy);
	for my $sec (5, 8) {
		mkdir "$dir/man";
		mkdir "$dir/man/man$sec";
		symlink $_, "$dir/man/man$sec/" . ($_ =~ s{.*/}{}r) for glob "$src/man/*.$sec $src/man/*.${sec}sluice";
	}
	my ($rc, $out, $err) = run_cmd([$sa, 'verify', "$dir/sluice.service"],
	    env => { MANPATH => "$dir/man" }, timeout => 60);
	is($rc, 0, 'systemd-analyze verify accepts the unit') or diag("$out$err");
	my @about = grep { /sluice\.service/ } split /\n/, "$out$err";
	is(scalar @about, 0, 'and says nothing about it') or diag(join "\n", @about);
	($rc, $out, $err) = run_cmd([$sa, 'security', '--offline=yes', "$dir/sluice.service"],
	    timeout => 60);
	my ($exp) = "$out$err" =~ /Overall exposure level for sluice\.service: ([\d.]+)/;
	ok(defined $exp, 'systemd-analyze security --offline=yes rates the unit') or diag("$out$err");
	cmp_ok($exp // 10, '<', $MAX_EXPOSURE, "exposure $exp is below $MAX_EXPOSURE")
	    or diag(join "\n", grep { /✗/ } split /\n/, $out);
}

# logrotate -d reads the file as installed.
my $lr = tool('logrotate');
my ($rc, $out, $err) = run_cmd([$lr, '-d', '-s', "$dir/state-d", $rot], timeout => 60);
is($rc, 0, 'logrotate -d accepts the logrotate file') or diag("$out$err");
like("$out$err", qr/rotating pattern: \S+\/\*\.log/, 'it rotates the log directory\'s *.log')
    or diag("$out$err");

# A real rotation: the same file, pointed at a running master's log
# directory and pid file.
mkdir "$dir/log";
chmod 0755, "$dir/log";
my $s = SluiceTest->new(conf => { log_file => "$dir/log/sluice.log" });
(my $conf = slurp($rot)) =~ s{^\S+/\*\.log \{}{$dir/log/*.log \{}m;
my $pidfile = $s->qdir . '/pid/master.pid';
$conf =~ s{\S+/pid/master\.pid}{$pidfile}g;
spew("$dir/logrotate.conf", $conf);
$s->start(args => ['-d'], nowait => 1);
my $log = "$dir/log/sluice.log";
ok(wait_for(sub { (slurp($log) // '') =~ /sluice\/smtpd\[\d+\]/ && $s->child_pid('qmgr') }, 30),
    'master -d writes log_file, smtpd too') or diag($s->log_text);
($rc, $out, $err) = run_cmd([$lr, '-f', '-s', "$dir/state", "$dir/logrotate.conf"], timeout => 60);
is($rc, 0, 'logrotate -f rotates') or diag("$out$err");
ok(-s "$log.1", 'the old log is now sluice.log.1');
my $pid = $s->pid;
ok(wait_for(sub { (slurp($log) // '') =~ /sluice\/master\[$pid\]: reopen log_file/ }, 20),
    'the postrotate signal made master write a new sluice.log') or diag(slurp("$log.1"));
ok(wait_for(sub { (slurp($log) // '') =~ /sluice\/smtpd\[\d+\]: reopen log_file/ }, 20),
    'and smtpd writes there too');
my ($code, $swaks) = $s->swaks('--to', 'user@site.example', '--from', 'a@sender.test');
my ($id) = $swaks =~ /250 .*queued as ([0-9A-Za-z]+)/;
ok($id && wait_for(sub { (slurp($log) // '') =~ /\Q$id\E: client=/ }, 20),
    'a new message is logged in the new file') or diag($swaks);
is($s->stop, 0, 'master stops cleanly');

done_testing;
