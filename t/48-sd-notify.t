# t/48-sd-notify.t - master under a service manager (systemd's
# Type=notify, as sluice.service runs it: master -d): READY=1 only when
# mail is both accepted and indexed, STATUS= with the queue's counts,
# RELOADING=1 and READY=1 around a reload (and why a bad one was
# refused), STOPPING=1; and SIGUSR1 reopening log_file everywhere.
#
# The test plays systemd: it binds the datagram socket that
# $NOTIFY_SOCKET names and reads what master sends there.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(time);
use SluiceTest qw(smtp_connect wait_for slurp);

my $s = SluiceTest->new(conf => {
	master_status_interval => '1s',
});
my $logfile = $s->dir . '/sluice.log';
$s->set_conf(log_file => $logfile);
my $path = $s->dir . '/notify';
my $mgr = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
    or BAIL_OUT("bind $path: $!");
# As root master hands its children to mail_owner; master alone notifies.
chmod 0666, $path;
my $sel = IO::Select->new($mgr);
my @seen;	# every message, for the diagnostics

# next_msg REGEX [, SECONDS] - the next message matching REGEX (those
# before it are kept in @seen), or undef when none comes in time.
sub next_msg {
	my ($re, $secs) = @_;
	my $deadline = time + ($secs // 30) * $SluiceTest::SLOW;
	while ((my $left = $deadline - time) > 0) {
		next unless $sel->can_read($left);
		my $buf;
		defined $mgr->recv($buf, 4096) or return undef;
		push @seen, $buf;
		return $buf if $buf =~ $re;
	}
	diag("no message like $re; seen:\n" . join("\n--\n", @seen));
	return undef;
}

# field MSG, NAME - the value of NAME=... in a message
sub field {
	my ($msg, $name) = @_;
	return ($msg // '') =~ /^\Q$name\E=(.*)$/m ? $1 : undef;
}

$s->start(args => ['-d'], env => { NOTIFY_SOCKET => $path }, nowait => 1);

# READY=1 means "serving": at that moment a client gets its 220 and
# qmgr answers the operator, with no further wait.
my $ready = next_msg(qr/^READY=1$/m);
ok($ready, 'master says READY=1') or BAIL_OUT('no READY=1: ' . $s->log_text);
my ($c, $code, $text) = smtp_connect($s);
is($code, 220, 'when READY=1 arrives, the SMTP listener greets') or diag($text);
close $c if $c;
my ($rc, $out, $err) = $s->cli('status');
like($out, qr/^qmgr: .*messages=0/m, 'and qmgr answers a status request')
    or diag("exit $rc: $out$err");
is(field($ready, 'MAINPID'), $s->pid, 'READY=1 names master as MAINPID');
like(field($ready, 'STATUS') // '', qr/^0 messages, 0 held, 0 gates open$/,
    'with a STATUS= of the empty queue');
# -d: in the foreground, but logging where the configuration says.
ok(wait_for(sub { (slurp($logfile) // '') =~ /sluice\/master\[\d+\]: ready: listeners bound/ }, 10),
    'master -d logs to log_file') or diag(slurp($logfile));
unlike($s->log_text, qr/sluice\/master\[/, 'and nothing to stderr');

# STATUS= follows the queue: two messages, one of them on hold.
my @ids;
for my $n (1, 2) {
	my ($rc, $out) = $s->swaks('--to', "user$n\@site.example", '--from', 'a@sender.test');
	push @ids, $1 if $out =~ /250 .*queued as ([0-9A-Za-z]+)/;
}
is(scalar @ids, 2, 'two messages accepted for a held domain') or diag(join ' ', @ids);
($rc, $out, $err) = $s->cli('queue', 'hold', $ids[0]);
is($rc, 0, "sluice queue hold $ids[0]") or diag("$out$err");
my $st = next_msg(qr/^STATUS=2 messages, 1 held, 0 gates open$/m);
ok($st, 'STATUS= says 2 messages, 1 held, 0 gates open (master_status_interval 1s)');

# A reload: RELOADING=1, then READY=1 again.
kill 'HUP', $s->pid;
ok(next_msg(qr/^RELOADING=1$/m), 'SIGHUP: RELOADING=1');
my $back = next_msg(qr/^READY=1$/m);
ok($back, 'then READY=1');
unlike(field($back, 'STATUS') // '', qr/refused/, 'a good reload is not called refused');

# A broken configuration is refused: READY=1 with the old one, and
# STATUS= says so until a reload takes.
my $conf = slurp($s->confdir . '/sluice.conf');
$s->set_conf(smtpd_timeout => 'banana');
kill 'HUP', $s->pid;
ok(next_msg(qr/^RELOADING=1$/m), 'broken config: RELOADING=1');
$back = next_msg(qr/^READY=1$/m);
like(field($back, 'STATUS') // '', qr/reload refused/, 'then READY=1 with STATUS= "reload refused"')
    or diag($back);
ok(next_msg(qr/^STATUS=2 messages, 1 held, 0 gates open; reload refused/m),
    'the refusal stays in the periodic STATUS=');
$s->set_conf(smtpd_timeout => undef);
kill 'HUP', $s->pid;
$back = next_msg(qr/^READY=1$/m);
unlike(field($back, 'STATUS') // '', qr/refused/, 'fixed config: the refusal is gone');
ok(next_msg(qr/^STATUS=2 messages, 1 held, 0 gates open$/m), 'and the counts go on');

# SIGUSR1 after logrotate moved the file: master and every child write
# to a new log_file.
rename $logfile, "$logfile.1" or die "rename: $!";
kill 'USR1', $s->pid;
ok(wait_for(sub { (slurp($logfile) // '') =~ /sluice\/master\[${\ $s->pid }\]: reopen log_file/ }, 20),
    'SIGUSR1: master writes to a new log_file') or diag(slurp("$logfile.1"));
ok(wait_for(sub { (slurp($logfile) // '') =~ /sluice\/qmgr\[\d+\]: reopen log_file/ }, 20),
    'and qmgr too');
ok(wait_for(sub { (slurp($logfile) // '') =~ /sluice\/smtpd\[\d+\]: reopen log_file/ }, 20),
    'and smtpd too');
($rc, $out) = $s->swaks('--to', 'user3@site.example', '--from', 'a@sender.test');
my ($id3) = $out =~ /250 .*queued as ([0-9A-Za-z]+)/;
ok($id3 && wait_for(sub { (slurp($logfile) // '') =~ /sluice\/smtpd\[\d+\]: \Q$id3\E: client=/ }, 20),
    'new mail is logged in the new file');
unlike(slurp("$logfile.1") // '', qr/\Q${\ ($id3 \/\/ 'none') }\E/, 'not in the moved one');
ok($s->alive && $s->child_pid('qmgr') && $s->child_pid('smtpd'),
    'master and its children live on after SIGUSR1');

# A stop: STOPPING=1 first.
is($s->stop, 0, 'master stops with status 0');
ok(next_msg(qr/^STOPPING=1$/m, 5), 'STOPPING=1 at stop');

done_testing;
