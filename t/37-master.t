# t/37-master.t - master: one master per queue, children without
# privileges, a reload that keeps sessions and mail, a dead child
# restarted with its reason logged, a clean stop.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use Fcntl qw(:flock);
use Time::HiRes qw(sleep);
use SluiceTest qw(smtp_connect smtp_xact smtp_send smtp_reply run_cmd wait_for slurp);

my $builddir = $ENV{SLUICE_BUILDDIR};
my $s = SluiceTest->new;
$s->start;

# A second master on the same queue is refused, naming the running one.
my ($rc, $out, $err) = run_cmd(["$builddir/master/master", '-c', $s->confdir, '-f'],
    timeout => 20);
isnt($rc, 0, 'a second master on the same queue exits non-zero');
like($err, qr/already running.*pid ${\ $s->pid }/, 'and names the running master') or diag($err);
ok($s->alive, 'the first master is unharmed');

# Privileges: as root, every child runs as mail_owner with no capability
# and no way back; master alone keeps root.
SKIP: {
	skip 'privilege drop happens only when master starts as root', 6 if $> != 0;
	my $uid = (getpwnam('sluice'))[2];
	for my $name (qw(smtpd qmgr deliver)) {
		my $pid = $s->child_pid($name);
		my $st = $pid ? slurp("/proc/$pid/status") // '' : '';
		my ($ruid, $euid) = $st =~ /^Uid:\s+(\d+)\s+(\d+)/m;
		my ($capeff) = $st =~ /^CapEff:\s+(\S+)/m;
		my ($nnp) = $st =~ /^NoNewPrivs:\s+(\d)/m;
		ok(defined $euid && $euid == $uid && $ruid == $uid && $capeff =~ /^0+$/,
		    "$name runs as sluice (uid $uid) with no capabilities: uid "
		    . ($euid // '?') . ", CapEff " . ($capeff // '?'));
		is($nnp, 1, "$name has no_new_privs");
	}
}

# SIGHUP: a session open across the reload finishes its message, and the
# new setting applies to the next session.
my ($c, $code, $text) = smtp_connect($s);
is($code, 220, 'a session is open before the reload');
smtp_xact($c, 'EHLO reload.sluice.test');
($code) = smtp_xact($c, 'MAIL FROM:<a@sluice.test>');
is($code, 250, 'MAIL before the reload');
$s->set_conf(smtpd_banner => '$myhostname ESMTP reloaded');
kill 'HUP', $s->pid;
ok(wait_for(sub { $s->log_text =~ /smtpd\[\d+\]: reload configuration/ }, 10),
    'smtpd logs the reload');
($code) = smtp_xact($c, 'RCPT TO:<user@site.example>');
is($code, 250, 'RCPT after the reload, same session');
($code) = smtp_xact($c, 'DATA');
smtp_send($c, "Subject: across the reload\r\n\r\nbody\r\n.\r\n");
($code, $text) = smtp_reply($c);
like($text // '', qr/^250 .*queued as [0-9A-F]{20}/, 'the message sent across the reload is queued');
close $c;
my ($c2, $code2, $banner) = smtp_connect($s);
like($banner // '', qr/ESMTP reloaded/, 'a new session sees the new banner');
close $c2;

# A broken configuration is refused on reload; the running one stays.
open my $fh, '>>', $s->confdir . '/sluice.conf' or die;
print {$fh} "no_such_parameter = 1\n";
close $fh;
kill 'HUP', $s->pid;
ok(wait_for(sub { $s->log_text =~ /keeping the running/ }, 10), 'a broken config is refused on reload');
ok($s->served, 'and mail is still accepted');
$s->set_conf(smtpd_banner => '$myhostname ESMTP reloaded');

# A killed child is logged with the reason and restarted.
my $old = $s->child_pid('qmgr');
kill 'KILL', $old;
ok(wait_for(sub { my $p = $s->child_pid('qmgr'); $p && $p != $old }, 20), 'qmgr is restarted');
# A new pid is not a working qmgr yet: wait until it listens, or the CLI
# may find no qmgr, then lose the index lock to the one starting.
ok(wait_for(sub { $s->qmgr_listening }, 20), 'the restarted qmgr listens on its control socket');
like($s->log_text, qr/process \S+\/qmgr pid $old killed by signal 9; restarting in \d+ ms/,
    'master logs why the child died and when it restarts');
is(scalar $s->queue_list_ids, 2, 'the queue is intact after the restart');

# Clean stop: master and every child are gone, exit status 0.
is($s->stop, 0, 'SIGTERM stops master with status 0');

# The CLI asks whether master runs by probing its lock with a shared one
# it drops at once (cli_lock_held): a master that starts during such a
# probe (held here for 0.2 s) tries again, not "already running".
my $pidfile = $s->qdir . '/pid/master.pid';
open my $probe, '<', $pidfile or die "open $pidfile: $!\n";
flock($probe, LOCK_SH) or die "flock $pidfile: $!\n";
my $n = () = $s->log_text =~ /already running/g;
$s->start(nowait => 1);
sleep 0.2;
close $probe;
ok(wait_for(sub { $s->alive && $s->qmgr_listening }, 20),
    'a master started during a probe of its lock runs');
is(scalar(() = $s->log_text =~ /already running/g), $n, 'and never said "already running"');
is($s->stop, 0, 'and stops with status 0');
done_testing;
