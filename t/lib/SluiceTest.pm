# SluiceTest - run a real sluice on loopback in a temporary directory.
#
#	use SluiceTest;
#	my $s = SluiceTest->new(conf => { smtpd_timeout => '5s' },
#	    domains => ['site.example mode=hold route=[127.0.0.1]:9']);
#	$s->start;
#	my ($rc, $out) = $s->swaks('--to', 'user@site.example');
#	my @entries = $s->queue_list;
#	$s->stop;
#
# Each instance gets a fresh directory (config in etc/, queue in queue/,
# master's stderr in master.log) and free ports. Every master started here
# runs in its own process group, and an END block kills what is left,
# so a test that dies leaves no process and no directory behind.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package SluiceTest;

use strict;
use warnings;
no warnings qw(exec);

use Carp qw(croak);
use Exporter qw(import);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket ();
use JSON::PP ();
use POSIX qw(:sys_wait_h setpgid);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(tool free_port wait_for run_cmd run_bg slurp spew
    smtp_connect smtp_reply smtp_send smtp_xact parse_queue_file
    smtp_read_data sanitizer_build);

my $BUILDDIR = $ENV{SLUICE_BUILDDIR} || die "SLUICE_BUILDDIR is not set\n";
my $SRCDIR = $ENV{SLUICE_SRCDIR} || die "SLUICE_SRCDIR is not set\n";

# Scale for every wait: sanitizer builds are several times slower.
our $SLOW = $ENV{SLUICE_TEST_SLOW} || ($ENV{ASAN_OPTIONS} ? 4 : 1);

my @instances;		# every instance, for the END block
my @ports_taken;	# ports handed out by this process

# tool NAME - absolute path of an outside client, or die naming the step
# of build.sh that provides it (a missing tool is a failure, not a skip).
sub tool {
	my ($name) = @_;
	if ($name eq 'smtp-source' || $name eq 'smtp-sink') {
		for my $d (grep { defined } $ENV{SLUICE_TOOLSDIR},
		    "$BUILDDIR/tools", "$SRCDIR/build/tools") {
			my $p = "$d/postfix/usr/sbin/$name";
			return $p if -x $p;
		}
		die "$name not found under build/tools/postfix: run ./build.sh check "
		    . "(step fetch_postfix_tools: apt-get download postfix + dpkg -x)\n";
	}
	for my $d (split /:/, "$ENV{PATH}:/usr/sbin:/usr/bin") {
		return "$d/$name" if -x "$d/$name";
	}
	die "$name not found in PATH: run ./build.sh check "
	    . "(step install_missing: apt-get install the $name package)\n";
}

# postfix_env - environment for running the unpacked Postfix tools.
sub postfix_env {
	my $p = tool('smtp-source');
	(my $root = $p) =~ s{/usr/sbin/smtp-source$}{};
	return (LD_LIBRARY_PATH => "$root/usr/lib/postfix");
}

# free_port - a loopback TCP port nobody listens on right now.
#
# Below the kernel's ephemeral range (32768-60999 on Debian): a port the
# kernel hands out as port 0 is also what it gives the outgoing connections
# of every test running beside us, so a sink stopped and started again on
# its port (the site going away and coming back) found it taken by some
# client's socket and failed to bind (t/61-web died so in CI).
sub free_port {
	for (1 .. 200) {
		my $port = 20000 + int(rand(12000));
		next if grep { $_ == $port } @ports_taken;
		my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
		    LocalPort => $port, Proto => 'tcp', Listen => 1, ReuseAddr => 0)
		    or next;
		close $s;
		push @ports_taken, $port;
		return $port;
	}
	die "no free port in 20000-31999 on 127.0.0.1\n";
}

# wait_for CODE, SECONDS - poll until CODE returns true; its last value.
# Timing decides only how long we wait, never whether a test passes.
sub wait_for {
	my ($code, $secs) = @_;
	my $deadline = time + ($secs // 30) * $SLOW;
	my $v;
	while (1) {
		$v = $code->();
		return $v if $v;
		return $v if time > $deadline;
		sleep 0.1;
	}
}

# sanitizer_build - is the build under test compiled with sanitizers
# (configure --enable-sanitizers: build.sh asan)? Read from its Makefile,
# not from the environment a caller may have set.
sub sanitizer_build {
	my $mk = slurp("$BUILDDIR/Makefile") // return 0;
	return $mk =~ /^SAN_CFLAGS = \S/m ? 1 : 0;
}

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or return undef;
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s // '';
}

sub spew {
	my ($path, $text) = @_;
	open my $fh, '>:raw', $path or die "write $path: $!\n";
	print {$fh} $text;
	close $fh or die "write $path: $!\n";
}

# run_cmd [ARGV], env => {..}, stdin => TEXT, timeout => S
# Run a program, return (exit status, stdout, stderr). Exit status is
# 128+signal when it was killed, -1 when it could not be run.
sub run_cmd {
	my ($argv, %o) = @_;
	my $dir = tempdir('sluice-cmd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	spew("$dir/in", $o{stdin} // '');
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', "$dir/in";
		open STDOUT, '>', "$dir/out";
		open STDERR, '>', "$dir/err";
		%ENV = (%ENV, %{ $o{env} || {} });
		exec { $argv->[0] } @$argv;
		print STDERR "exec $argv->[0]: $!\n";
		POSIX::_exit(127);
	}
	my $deadline = time + ($o{timeout} // 120) * $SLOW;
	my $st;
	while (1) {
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid) { $st = $?; last; }
		if (time > $deadline) {
			kill 'KILL', $pid;
			waitpid($pid, 0);
			$st = $?;
			last;
		}
		sleep 0.05;
	}
	my $rc = ($st & 127) ? 128 + ($st & 127) : $st >> 8;
	my ($out, $err) = (slurp("$dir/out"), slurp("$dir/err"));
	remove_tree($dir);
	return ($rc, $out, $err);
}

# run_bg [ARGV], out => FILE, env => {..} - start a program in the
# background, stdin from /dev/null, stdout and stderr appended to FILE;
# its pid, for the caller to wait for.
sub run_bg {
	my ($argv, %o) = @_;
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $o{out};
		open STDERR, '>&', \*STDOUT;
		%ENV = (%ENV, %{ $o{env} || {} });
		exec { $argv->[0] } @$argv;
		print STDERR "exec $argv->[0]: $!\n";
		POSIX::_exit(127);
	}
	return $pid;
}

# new(conf => {name => value}, domains => [lines], files => {name => text},
#     master => PATH)
# Writes the config; master is the program start runs (default the build
# tree's; t/99 runs the one a package installed). undef in conf removes a default setting. In domain
# lines @DEAD@ stands for a local port that refuses connections (the
# default table is "site.example mode=hold route=[127.0.0.1]:@DEAD@
# probe=no": mail stays queued).
sub new {
	my ($class, %o) = @_;
	my $dir = tempdir('sluice-test-XXXXXX', TMPDIR => 1);
	# When the tests run as root, master hands its children to the
	# unprivileged user: they must be able to reach the queue below us.
	chmod 0755, $dir;
	my $self = bless {
		dir => $dir,
		confdir => "$dir/etc",
		qdir => "$dir/queue",
		log => "$dir/master.log",
		# A fleet in one test: each instance on its own loopback
		# address (127.0.0.2, .3, ...), all of 127/8 being ours.
		addr => $o{addr} || '127.0.0.1',
		port => free_port(),
		pid => undef,
		master => $o{master} || "$BUILDDIR/master/master",
	}, $class;
	# A port bound but never listening: a customer route that refuses
	# every connection, so that held mail stays put even when another
	# test runs a sink on a well-known port. Domain lines say @DEAD@.
	$self->{dead_sock} = IO::Socket::INET->new(LocalAddr => $self->{addr},
	    LocalPort => 0, Proto => 'tcp') or die "bind: $!\n";
	$self->{dead_port} = $self->{dead_sock}->sockport;
	mkdir $self->{confdir} or die "mkdir $self->{confdir}: $!\n";
	$self->{conf} = {
		queue_directory => $self->{qdir},
		daemon_directory => "$BUILDDIR/libexec",
		smtp_listen => "$self->{addr}:$self->{port}",
		myhostname => 'mx.sluice.test',
		# Tests open many SMTP sessions one after another; the second
		# every greeting would wait costs minutes. t/58 tests the wait.
		smtpd_pregreet_wait => 0,
		# No test asks the host's DNS: t/29 turns the DNS setup
		# check on, against its own server.
		dns_check => 'no',
		%{ $o{conf} || {} },
	};
	$self->{domains} = $o{domains}
	    || ['site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no'];
	for my $f (keys %{ $o{files} || {} }) {
		spew("$self->{confdir}/$f", $o{files}{$f});
		# Secrets as installed: mode 0640, and as root the group of the
		# user the daemons run as (config check refuses anything else).
		next unless $f eq 'peer_secret' || $f eq 'passwd';
		chmod 0640, "$self->{confdir}/$f";
		my @pw = $> == 0 ? getpwnam('sluice') : ();
		chown 0, $pw[3], "$self->{confdir}/$f" if @pw;
	}
	$self->write_config;
	push @instances, $self;
	return $self;
}

sub dir { $_[0]{dir} }
sub confdir { $_[0]{confdir} }
sub qdir { $_[0]{qdir} }
sub addr { $_[0]{addr} }
sub port { $_[0]{port} }
sub dead_port { $_[0]{dead_port} }
sub pid { $_[0]{pid} }
sub logfile { $_[0]{log} }
sub log_text { slurp($_[0]{log}) // '' }

# write_config - sluice.conf and domains from the instance's settings.
sub write_config {
	my ($self) = @_;
	my $c = $self->{conf};
	spew("$self->{confdir}/sluice.conf", join '',
	    "# written by t/lib/SluiceTest.pm\n",
	    map { "$_ = $c->{$_}\n" } grep { defined $c->{$_} } sort keys %$c);
	spew("$self->{confdir}/domains", join '',
	    map { (my $l = $_) =~ s/\@DEAD\@/$self->{dead_port}/g; "$l\n" }
	    @{ $self->{domains} });
}

# set_conf NAME => VALUE, ... - change settings and rewrite the config.
sub set_conf {
	my ($self, %kv) = @_;
	$self->{conf}{$_} = $kv{$_} for keys %kv;
	$self->write_config;
}

# set_domains LINES - replace the domains table and rewrite the config.
sub set_domains {
	my ($self, @lines) = @_;
	$self->{domains} = [@lines];
	$self->write_config;
}

# start - run master in the foreground (in its own process group) and
# wait until the SMTP port greets with 220. Dies with the log on failure.
# Options: args => [master's flags] (default ['-f']; ['-d'] logs as
# configured, as under systemd), env => {NAME => value} for master,
# nowait => 1 to return at once (the caller waits for what it tests).
sub start {
	my ($self, %o) = @_;
	croak "already started" if $self->{pid};
	my $master = $self->{master};
	die "$master is not built\n" unless -x $master;
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		setpgid(0, 0);
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $self->{log};
		open STDERR, '>>', $self->{log};
		$ENV{$_} = $o{env}{$_} for keys %{ $o{env} || {} };
		exec $master, '-c', $self->{confdir}, @{ $o{args} || ['-f'] };
		print STDERR "exec $master: $!\n";
		POSIX::_exit(127);
	}
	setpgid($pid, $pid);
	$self->{pid} = $pid;
	return $self if $o{nowait};
	my $ok = wait_for(sub {
		return 'dead' unless $self->alive;
		my $c = IO::Socket::INET->new(PeerAddr => $self->{addr},
		    PeerPort => $self->{port}, Proto => 'tcp', Timeout => 2)
		    or return 0;
		my $line = _readline($c, 5 * $SLOW);
		close $c;
		return defined $line && $line =~ /^220[ -]/ ? 'up' : 0;
	}, 30);
	if (!$ok || $ok ne 'up') {
		my $log = $self->log_text;
		$self->kill_all;
		die "sluice did not start (" . ($ok || 'no 220 greeting')
		    . "); log:\n$log\n";
	}
	# Wait for qmgr too, until it listens: a new qmgr opens the index
	# first, and until it listens ETRN gets 458, a POP3 login -ERR
	# [SYS/TEMP], web's triggers fail (only the CLI waits for it). A qmgr
	# that cannot start is the test's to find: this waits 20 s at most.
	wait_for(sub { $self->child_pid('qmgr') && $self->qmgr_listening }, 20);
	return $self;
}

# alive - is master still running (not reaped, not a zombie)?
sub alive {
	my ($self) = @_;
	my $pid = $self->{pid} or return 0;
	my $r = waitpid($pid, WNOHANG);
	if ($r == $pid) {
		$self->{exit_status} = $?;
		$self->{pid} = undef;
		return 0;
	}
	return 1;
}

# children - pids of master's children: [pid, name] pairs from /proc.
sub children {
	my ($self) = @_;
	my $m = $self->{pid} or return ();
	my @c;
	for my $stat (glob '/proc/[0-9]*/stat') {
		my $s = slurp($stat) // next;
		# pid (comm) state ppid ...: comm may hold spaces and parens.
		$s =~ /^(\d+) \((.*)\) (\S) (\d+)/s or next;
		next unless $4 == $m && $3 ne 'Z';
		push @c, [$1, $2];
	}
	return @c;
}

# child_pid NAME - pid of master's child of that program name, or undef.
sub child_pid {
	my ($self, $name) = @_;
	my ($c) = grep { $_->[1] eq $name } $self->children;
	return $c ? $c->[0] : undef;
}

sub _pid_gone {
	my ($pid) = @_;
	my $s = slurp("/proc/$pid/stat");
	return 1 unless defined $s && length $s;
	return $s =~ /^\d+ \(.*\) Z /s ? 1 : 0;
}

# stop - SIGTERM to master; wait until it and its children are gone.
# Returns master's exit status (or undef if it had to be killed).
sub stop {
	my ($self) = @_;
	my $pid = $self->{pid} or return $self->{exit_status};
	my @kids = map { $_->[0] } $self->children;
	kill 'TERM', $pid;
	my $gone = wait_for(sub {
		!$self->alive && !grep { !_pid_gone($_) } @kids
	}, 30);
	if (!$gone) {
		$self->kill_all;
		return undef;
	}
	# Anything master forgot stays in its group; never leave it behind.
	kill 'KILL', -$pid;
	return $self->{exit_status};
}

# restart - stop and start again.
sub restart {
	my ($self) = @_;
	$self->stop;
	$self->start;
}

# kill_all - SIGKILL master's whole process group and reap master.
sub kill_all {
	my ($self) = @_;
	my $pid = $self->{pid} or return;
	my @kids = map { $_->[0] } $self->children;
	kill 'KILL', -$pid;
	kill 'KILL', $pid, @kids;
	waitpid($pid, 0);
	$self->{pid} = undef;
}

# daemon_pid - pid of a master started with `sluice start` (it
# daemonizes; master.pid names it), if it still runs this config; or undef.
sub daemon_pid {
	my ($self) = @_;
	my $t = slurp("$self->{qdir}/pid/master.pid") // return undef;
	my ($pid) = $t =~ /(\d+)/ or return undef;
	my $cmd = slurp("/proc/$pid/cmdline") // return undef;
	return undef if _pid_gone($pid);
	return index($cmd, $self->{confdir}) >= 0 ? $pid : undef;
}

# kill_daemon - SIGKILL a daemonized master of ours and its children.
sub kill_daemon {
	my ($self) = @_;
	my $pid = $self->daemon_pid or return;
	local $self->{pid} = $pid;
	my @kids = map { $_->[0] } $self->children;
	kill 'KILL', $pid, @kids;
}

# cleanup - kill everything and remove the directory (unless kept).
sub cleanup {
	my ($self) = @_;
	$self->kill_all;
	$self->kill_daemon;
	if ($ENV{SLUICE_TEST_KEEP}) {
		print STDERR "# kept $self->{dir}\n";
		return;
	}
	remove_tree($self->{dir}) if -d $self->{dir};
}

# A test killed by make or by hand still cleans up: exit runs END.
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { exit 130 };

END {
	my $st = $?;
	$_->cleanup for @instances;
	$? = $st;
}

# cli ARGS - run `sluice -c CONFDIR ARGS`; (exit status, stdout, stderr).
sub cli {
	my ($self, @args) = @_;
	my $cli = "$BUILDDIR/cli/sluice";
	return (-1, '', "$cli is not built\n") unless -x $cli;
	return run_cmd([$cli, '-c', $self->{confdir}, @args], timeout => 120);
}

# queue_list - entries of `sluice queue list --json` as hash refs; an
# empty list (and a diagnostic) when the command fails or prints junk.
sub queue_list {
	my ($self, @args) = @_;
	my ($rc, $out, $err) = $self->cli('queue', 'list', '--json', @args);
	if ($rc != 0) {
		Test::More::diag("sluice queue list --json: exit $rc: $err");
		return;
	}
	my @e;
	for my $line (split /\n/, $out) {
		next unless length $line;
		my $j = eval { JSON::PP::decode_json($line) };
		if (!$j || ref $j ne 'HASH') {
			Test::More::diag("queue list --json: not a JSON object: $line");
			return;
		}
		push @e, $j;
	}
	return @e;
}

# queue_list_ids - the distinct queue IDs in `queue list --json`, sorted.
sub queue_list_ids {
	my ($self, @args) = @_;
	my %id = map { ($_->{queue_id} // '?') => 1 } $self->queue_list(@args);
	# A named array, so that scalar context gives the count.
	my @ids = sort keys %id;
	return @ids;
}

# queue_files - IDs of the committed files in msg/XX/ (journals excluded),
# sorted; each checked against its directory name.
sub queue_files {
	my ($self) = @_;
	my @ids;
	for my $p (glob "$self->{qdir}/msg/*/*") {
		next if $p =~ /\.j$/;
		my ($xx, $id) = $p =~ m{/msg/([^/]+)/([^/]+)$} or next;
		push @ids, $id;
	}
	@ids = sort @ids;
	return @ids;
}

# queue_file_path ID - QDIR/msg/XX/ID
sub queue_file_path {
	my ($self, $id) = @_;
	return "$self->{qdir}/msg/" . substr($id, -2) . "/$id";
}

# dir_entries SUBDIR - names in QDIR/SUBDIR (recursively), for corrupt/ etc.
sub dir_entries {
	my ($self, $sub) = @_;
	my @out;
	my @todo = ("$self->{qdir}/$sub");
	while (my $d = shift @todo) {
		opendir my $dh, $d or next;
		for my $n (readdir $dh) {
			next if $n eq '.' || $n eq '..';
			push @out, "$d/$n";
			push @todo, "$d/$n" if -d "$d/$n";
		}
	}
	return @out;
}

# parse_queue_file BYTES - split a queue file into its parts, checking
# every length as queue.h specifies. Returns a hash ref {version,
# envelope, content} or (undef, reason).
sub parse_queue_file {
	my ($b) = @_;
	return (undef, 'no file') unless defined $b;
	return (undef, 'too short') if length($b) < 8 + 8 + 12;
	return (undef, 'bad magic') unless substr($b, 0, 8) eq "SLUICEQ\n";
	my ($ver, $envlen) = unpack 'N N', substr($b, 8, 8);
	return (undef, "bad version $ver") unless $ver == 1;
	my $clen_at = length($b) - 12;
	return (undef, 'bad trailer') unless substr($b, -4) eq "END\n";
	my ($hi, $lo) = unpack 'N N', substr($b, $clen_at, 8);
	my $clen = $hi * 4294967296 + $lo;
	return (undef, 'envelope length past the end')
	    if 16 + $envlen > $clen_at;
	return (undef, "content length $clen does not match the file")
	    unless 16 + $envlen + $clen == $clen_at;
	my $env = substr($b, 16, $envlen);
	# Envelope records: u8 type | u32 length | bytes; they must tile it.
	my @rec;
	my $at = 0;
	while ($at < length $env) {
		return (undef, 'torn envelope record') if $at + 5 > length $env;
		my ($type, $len) = unpack 'C N', substr($env, $at, 5);
		return (undef, 'envelope record past its end')
		    if $at + 5 + $len > length $env;
		push @rec, [$type, substr($env, $at + 5, $len)];
		$at += 5 + $len;
	}
	return {
		version => $ver,
		envelope => $env,
		records => \@rec,
		content => substr($b, 16 + $envlen, $clen),
	};
}

# read_queue_file ID - parse_queue_file of msg/XX/ID
sub read_queue_file {
	my ($self, $id) = @_;
	return parse_queue_file(slurp($self->queue_file_path($id)));
}

# strip_received CONTENT - (our Received: header, the rest): the
# content must start with it, continuation lines included.
sub strip_received {
	my ($content) = @_;
	return (undef, $content)
	    unless $content =~ /\A(Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)/;
	return ($1, substr($content, length $1));
}

# swaks ARGS - run swaks against this instance; (exit status, output).
sub swaks {
	my ($self, @args) = @_;
	my ($rc, $out, $err) = run_cmd([tool('swaks'), '--server', $self->{addr},
	    '--port', $self->{port}, '--helo', 'client.sluice.test',
	    '--timeout', 30 * $SLOW, @args], timeout => 90);
	return ($rc, $out . $err);
}

# smtp_source ARGS - run Postfix's smtp-source against this instance.
sub smtp_source {
	my ($self, @args) = @_;
	my %o = ref $args[-1] eq 'HASH' ? %{ pop @args } : ();
	return run_cmd([tool('smtp-source'), @args,
	    "$self->{addr}:$self->{port}"], env => { postfix_env() },
	    timeout => $o{timeout} // 600);
}

# smtp_source_bg ARGS - start smtp-source in the background; its pid.
# Output goes to DIR/smtp-source.out.
sub smtp_source_bg {
	my ($self, @args) = @_;
	return run_bg([tool('smtp-source'), @args, "$self->{addr}:$self->{port}"],
	    out => "$self->{dir}/smtp-source.out", env => { postfix_env() });
}

# smtp_source_expected FILE, ARGS - the exact message content smtp-source
# sends for "-F FILE ARGS" (after dot-unstuffing), learnt by running it
# once against a minimal sink of our own: the oracle for byte compares.
sub smtp_source_expected {
	my ($file, @args) = @_;
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 1, Proto => 'tcp') or die "listen: $!\n";
	my $port = $l->sockport;
	my %env = postfix_env();
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', '/dev/null';
		@ENV{keys %env} = values %env;
		exec tool('smtp-source'), '-F', $file, '-m', 1, @args,
		    "127.0.0.1:$port";
		POSIX::_exit(127);
	}
	my $sel = IO::Select->new($l);
	die "smtp-source did not connect to the capture sink\n"
	    unless $sel->can_read(30);
	my $c = $l->accept;
	binmode $c;
	print {$c} "220 capture ESMTP\r\n";
	my ($data, $in) = ('', 0);
	while (defined(my $line = _readline($c, 30))) {
		if ($in) {
			if ($line eq ".\r\n") {
				$in = 0;
				print {$c} "250 2.0.0 Ok\r\n";
				next;
			}
			$line =~ s/^\.//;
			$data .= $line;
			next;
		}
		if ($line =~ /^DATA/i) {
			$in = 1;
			print {$c} "354 go\r\n";
		} elsif ($line =~ /^QUIT/i) {
			print {$c} "221 bye\r\n";
			last;
		} else {
			print {$c} "250 ok\r\n";
		}
	}
	close $c;
	waitpid($pid, 0);
	die "smtp-source against the capture sink failed: $?\n" if $?;
	return $data;
}

# message_ids - map Message-ID header value -> [queue IDs] over msg/,
# plus a list of files that fail parse_queue_file: (\%map, [[id, why]]).
sub message_ids {
	my ($self) = @_;
	my (%map, @bad);
	for my $id ($self->queue_files) {
		my ($qf, $why) = $self->read_queue_file($id);
		if (!$qf) {
			push @bad, [$id, $why];
			next;
		}
		my ($hdr) = split /\r\n\r\n/, $qf->{content}, 2;
		my ($mid) = $hdr =~ /^Message-ID:[ \t]*(\S+)/mi;
		push @{ $map{$mid // ''} }, $id;
	}
	return (\%map, \@bad);
}

# --- raw SMTP, for what a real client would never send ---

sub _readline {
	my ($sock, $timeout) = @_;
	my $line = '';
	my $sel = IO::Select->new($sock);
	my $deadline = time + $timeout;
	while (1) {
		my $left = $deadline - time;
		return undef if $left <= 0;
		# IO::Socket::SSL may hold decrypted bytes select cannot see.
		my $pending = $sock->can('pending') ? $sock->pending : 0;
		return undef unless $pending || $sel->can_read($left);
		my $n = sysread($sock, my $c, 1);
		return length $line ? $line : undef unless $n;
		$line .= $c;
		return $line if $c eq "\n";
	}
}

# smtp_connect [PORT|SLUICE], %opt - a connected socket; reads the
# greeting. Returns ($sock, $code, $text) ($sock undef on failure).
sub smtp_connect {
	my ($port, %o) = @_;
	my $addr = ref $port ? $port->addr : '127.0.0.1';
	$port = $port->port if ref $port;
	my $s = IO::Socket::INET->new(PeerAddr => $addr,
	    PeerPort => $port, Proto => 'tcp', Timeout => 10,
	    ($o{local} ? (LocalAddr => $o{local}) : ()))
	    or return (undef, undef, "connect: $!");
	binmode $s;
	return ($s) if $o{no_greeting};
	my ($code, $text) = smtp_reply($s, $o{timeout});
	return ($s, $code, $text);
}

# smtp_reply SOCK [, TIMEOUT] - read one (multi-line) reply:
# (code, full text) or (undef, reason).
sub smtp_reply {
	my ($s, $timeout) = @_;
	$timeout = ($timeout // 30) * $SLOW;
	my $text = '';
	while (1) {
		my $line = _readline($s, $timeout);
		return (undef, $text eq '' ? 'no reply (timeout or closed)'
		    : "torn reply: $text") unless defined $line;
		$text .= $line;
		return (undef, "bad reply line: $line")
		    unless $line =~ /^(\d{3})([ -])/;
		return ($1, $text) if $2 eq ' ';
	}
}

# smtp_send SOCK, BYTES - write everything (one write when possible).
sub smtp_send {
	my ($s, $bytes) = @_;
	my $off = 0;
	local $SIG{PIPE} = 'IGNORE';
	while ($off < length $bytes) {
		my $n = syswrite($s, $bytes, length($bytes) - $off, $off);
		return 0 unless defined $n;
		$off += $n;
	}
	return 1;
}

# smtp_read_data SOCK, TIMEOUT [, LOG] - a message's content after our
# 354, up to its "." line, dot-stuffing undone; every line also printed
# to the LOG handle if given. Returns (content, whole): whole is false
# when the connection ended or timed out before the ".".
sub smtp_read_data {
	my ($c, $timeout, $log) = @_;
	my $body = '';
	while (defined(my $l = _readline($c, $timeout))) {
		print {$log} $l if $log;
		return ($body, 1) if $l eq ".\r\n";
		$l =~ s/^\.//;
		$body .= $l;
	}
	return ($body, 0);
}

# smtp_xact SOCK, COMMAND - send COMMAND\r\n, read its reply: (code, text).
sub smtp_xact {
	my ($s, $cmd) = @_;
	smtp_send($s, "$cmd\r\n") or return (undef, "write: $!");
	return smtp_reply($s);
}

# served - can a well-behaved client still get a message queued?
# Returns the queue ID or undef (with a diagnostic).
sub served {
	my ($self, $rcpt) = @_;
	$rcpt //= 'user@site.example';
	my ($s, $code, $text) = smtp_connect($self);
	my @steps = ('EHLO client.sluice.test', 'MAIL FROM:<probe@sluice.test>',
	    "RCPT TO:<$rcpt>", 'DATA');
	my @want = (250, 250, 250, 354);
	if (!$s || !defined $code || $code != 220) {
		Test::More::diag("served: greeting: " . ($text // ''));
		return undef;
	}
	for my $i (0 .. $#steps) {
		($code, $text) = smtp_xact($s, $steps[$i]);
		if (!defined $code || $code != $want[$i]) {
			Test::More::diag("served: $steps[$i]: " . ($text // ''));
			return undef;
		}
	}
	smtp_send($s, "Subject: probe\r\n\r\nstill served\r\n.\r\n");
	($code, $text) = smtp_reply($s);
	smtp_xact($s, 'QUIT');
	close $s;
	if (!defined $code || $code != 250 || $text !~ /queued as ([0-9A-F]{20})/) {
		Test::More::diag("served: end of data: " . ($text // ''));
		return undef;
	}
	return $1;
}

# --- the log: one counter for every test ---

# log_lines REGEX - the lines of master.log that match REGEX
sub log_lines {
	my ($self, $re) = @_;
	return grep { $_ =~ $re } split /\n/, $self->log_text;
}

# log_count REGEX - how many lines of master.log match REGEX
sub log_count {
	my ($self, $re) = @_;
	my @l = $self->log_lines($re);
	return scalar @l;
}

# wait_log REGEX [, SECONDS [, N]] - wait until at least N lines (1 by
# default) match; true if they did. To prove that something did not
# happen, wait for the line of the event that would have done it (the
# retry, the probe, the next cycle), then look for the absence.
sub wait_log {
	my ($self, $re, $secs, $n) = @_;
	$n //= 1;
	return wait_for(sub { $self->log_count($re) >= $n }, $secs // 30);
}

# --- qmgr ---

# qmgr_listening - does a qmgr accept on its control socket now
# (QUEUE/public/qmgr, SOCK_SEQPACKET)? A killed qmgr's socket file stays
# behind and refuses; a restarted qmgr listens once it holds the index,
# so from then on the CLI talks to it instead of opening the index.
sub qmgr_listening {
	my ($self) = @_;
	my $c = IO::Socket::UNIX->new(Type => Socket::SOCK_SEQPACKET(),
	    Peer => "$self->{qdir}/public/qmgr") or return 0;
	close $c;
	return 1;
}

1;
