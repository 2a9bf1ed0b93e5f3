# t/39-drain-fsync.t - a drain commits at most once per message (issue 12).
#
# 200 messages of one held domain, each delivered whole in one
# transaction, cost qmgr and deliver together at most one fsync each on
# average: deliver writes no journal for them, and qmgr fsyncs each
# bucket directory it removed messages from once for many removals (of
# 256 buckets, 200 messages touch about 140).
# strace counts the calls (a count, never a time). No directory is
# fsync'd where nothing was removed.
#
# And a message only partly delivered (one recipient 250, the other 450
# at the site) keeps its journal: after a restart of sluice, the next
# flush sends only the deferred recipient, never the delivered one again.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
no warnings qw(exec);

use POSIX qw(setpgid);
use Test::More;
use Sink;
use SluiceTest qw(tool free_port wait_for run_cmd slurp);

my $N = 200;
my $BUILDDIR = $ENV{SLUICE_BUILDDIR};
my $strace = tool('strace');

my $port = free_port();
my $s = SluiceTest->new(domains => [
    "site.example mode=hold route=[127.0.0.1]:$port probe=no"]);
my $sink = Sink->start(dir => $s->dir . '/sink', port => $port,
    rcpt_reply => { 'defer@site.example' => '450 4.2.0 mailbox busy, try later' });

# inject RCPTS... - one message, committed as smtpd would; its ID(s)
sub inject {
	my ($n, @rcpt) = @_;
	my ($rc, $out, $err) = run_cmd(["$BUILDDIR/t/queue_inject", '-n', $n,
	    $s->qdir, 'sender@origin.test', @rcpt],
	    stdin => "Subject: drain\r\n\r\none of many\r\n", timeout => 120);
	die "queue_inject: exit $rc: $err\n" if $rc != 0;
	return grep { /^[0-9A-F]{20}$/ } split /\n/, $out;
}

# Committed before qmgr starts: it indexes them at start.
my @ids = inject($N, 'user@site.example');
my ($partial) = inject(1, 'ok@site.example', 'defer@site.example');
is(scalar(@ids), $N, "$N messages for site.example injected");
if ($> == 0) {
	my @pw = getpwnam('sluice');
	chown $pw[2], $pw[3], glob($s->qdir . '/msg/*/*') if @pw;
}
$s->start;
ok(wait_for(sub { ($s->cli('queue', 'summary', '--json'))[1]
    =~ /"domain":"site\.example","messages":${\($N + 1)}\b/ }, 60),
    'all of them indexed');

my ($qmgr, $deliver) = map { $s->child_pid($_) } qw(qmgr deliver);
ok($qmgr && $deliver, 'qmgr and deliver are running');

# strace on both, one line a call: "PID fsync(FD</path>) = 0".
my $trace = $s->dir . '/strace.out';
my $tpid = fork // die "fork: $!\n";
if ($tpid == 0) {
	setpgid(0, 0);
	open STDERR, '>', $s->dir . '/strace.err';
	exec $strace, '-f', '-y', '-o', $trace, '-e',
	    'trace=fsync,fdatasync,sync_file_range,syncfs,msync', '-p', $qmgr, '-p', $deliver;
	POSIX::_exit(127);
}
ok(wait_for(sub { (() = (slurp($s->dir . '/strace.err') // '')
    =~ /Process \d+ attached/g) >= 2 }, 10), 'strace attached to qmgr and deliver');

my ($rc, $out, $err) = $s->cli('flush', 'site.example');
is($rc, 0, 'sluice flush site.example') or diag("$out$err");
ok(wait_for(sub { !grep { my $id = $_; grep { $_ eq $id } @ids } $s->queue_files }, 60),
    "the $N messages delivered whole are gone from the queue");
ok($s->wait_log(qr/to=<defer\@site\.example>.*status=deferred/), 'defer@ deferred');

# The event that ends the count: every bucket a message left was fsync'd
# (qmgr batches them: within two seconds of the removal).
my %bucket = map { substr($_, -2) => 1 } @ids;
my %synced;
ok(wait_for(sub {
	%synced = ();
	for (split /\n/, slurp($trace) // '') {
		# A call cut by another process's is "<unfinished ...>", resumed later.
		$synced{$1}++ if m{^\d+\s+fsync\(\d+</[^>]*/msg/([0-9A-F]{2})>};
	}
	!grep { !$synced{$_} } keys %bucket;
}, 30), 'each bucket a delivered message left was fsync\'d');
kill 'INT', $tpid;
waitpid $tpid, 0;

my @calls = grep { /^\d+\s+\w+\(/ } split /\n/, slurp($trace) // '';
my @by_deliver = grep { /^$deliver\s/ } @calls;
my $n = @calls;
ok($n <= $N, sprintf('fsyncs of qmgr and deliver for %d messages: %d, '
    . '%.2f a message (want at most 1)', $N, $n, $n / $N))
    or diag(join "\n", @calls);
# The partial message journals ok@ (one fsync, and one of msg/XX for a new journal).
ok(@by_deliver <= 2, 'deliver: no fsync but the partial message\'s journal: got '
    . scalar(@by_deliver)) or diag(join "\n", @by_deliver);
my @stray = grep { !$bucket{$_} && $_ ne substr($partial, -2) } keys %synced;
ok(!@stray, 'no fsync of a bucket nothing left: ' . join(' ', @stray));

# The partial message: its journal says ok@ is done.
ok(-s $s->queue_file_path($partial) . '.j', 'the partly delivered message has its journal');
my @got = $sink->messages;
is(scalar(grep { grep { $_ eq 'user@site.example' } @{ $_->{rcpt} } } @got), $N,
    "the sink has the $N messages");
is(scalar(grep { grep { $_ eq 'ok@site.example' } @{ $_->{rcpt} } } @got), 1,
    'ok@ delivered once');

# Restart, the site takes defer@ now: only defer@ goes, ok@ never again.
# (The gate the flush opened is still open: a restarted qmgr finishes a
# flush it started, and the deferred recipient goes with it.)
$s->stop;
$sink->stop;
$sink = Sink->start(dir => $sink->dir, port => $sink->port);
$s->start;
ok($s->wait_log(qr/to=<defer\@site\.example>.*status=sent/), 'defer@ sent after the restart');
ok(wait_for(sub { !grep { $_ eq $partial } $s->queue_files }, 30),
    'the partial message is gone now');
@got = $sink->messages;
is(scalar(grep { grep { $_ eq 'ok@site.example' } @{ $_->{rcpt} } } @got), 1,
    'ok@ was not sent again');
is(scalar(grep { grep { $_ eq 'defer@site.example' } @{ $_->{rcpt} } } @got), 1,
    'defer@ delivered once');
$s->stop;
$sink->stop;
done_testing();
