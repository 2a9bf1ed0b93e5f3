# t/63-deliver.t - deliver against a fake qmgr, Postfix's smtp-sink as the
# customer's server and a fake DNS server on loopback (FakeDNS.pm).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
no warnings qw(exec);

use IO::Select;
use IO::Socket::UNIX;
use POSIX qw(setpgid);
use Socket qw(SOCK_SEQPACKET);
use Test::More;
use Time::HiRes qw(time);

use FakeDNS;
use SluiceTest qw(free_port wait_for slurp spew);
use SmtpSink qw(smtp_sink_start smtp_sink_stop smtp_sink_files);

my $BUILDDIR = $ENV{SLUICE_BUILDDIR};
my @kill;
END { kill 'KILL', $_ for @kill; }

sub start_bg {
	my ($log, $env, @argv) = @_;
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		setpgid(0, 0);
		%ENV = (%ENV, %$env);
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $log;
		open STDERR, '>>', $log;
		exec @argv;
		POSIX::_exit(127);
	}
	push @kill, $pid;
	return $pid;
}

sub stop_bg {
	my ($pid) = @_;
	kill 'TERM', $pid;
	waitpid $pid, 0;
	@kill = grep { $_ != $pid } @kill;
}

# The customer's server: Postfix's smtp-sink (SmtpSink.pm).
sub start_sink { return smtp_sink_start(@_) }
sub sink_messages { return smtp_sink_files($_[0]) }

# IPC records (util/ipc.h): name=value lines, %XX escapes.
sub rec_encode {
	my (@kv) = @_;
	my $s = '';
	while (my ($k, $v) = splice @kv, 0, 2) {
		$v =~ s/([^\x20-\x24\x26-\x7e])/sprintf '%%%02X', ord $1/ge;
		$s .= "$k=$v\n";
	}
	return $s;
}

sub rec_decode {
	my ($buf) = @_;
	my @kv;
	for my $line (split /\n/, $buf) {
		my ($k, $v) = split /=/, $line, 2;
		$v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
		push @kv, $k, $v;
	}
	return \@kv;
}

sub rec_get {
	my ($kv, $name) = @_;
	for (my $i = 0; $i < @$kv; $i += 2) {
		return $kv->[$i + 1] if $kv->[$i] eq $name;
	}
	return undef;
}

sub recv_rec {
	my ($c, $secs) = @_;
	my $sel = IO::Select->new($c);
	return undef unless $sel->can_read($secs * $SluiceTest::SLOW);
	my $buf = '';
	defined $c->recv($buf, 65536) or return undef;
	return $buf eq '' ? undef : rec_decode($buf);
}

my $dnsport;
my $sinkport = free_port();
my $deadport = free_port();
my $smtpport = free_port();

my $dns = FakeDNS->start(
	'mx.example' => ['MX 10 sink.test', 'MX 20 mx.sluice.test'],
	'loop.example' => ['MX 5 mx.sluice.test', 'MX 10 sink.test'],
	'nomx.example' => ['A 127.0.0.1'],
	'sink.test' => ['A 127.0.0.1'],
	'mx.sluice.test' => ['A 127.0.0.1'],
	'temp.example' => 'SERVFAIL',
);
$dnsport = $dns->port;

my $s = SluiceTest->new(conf => { smtp_listen => "127.0.0.1:$smtpport",
	smtp_helo_name => 'out.sluice.test' },
    # loop.example is a customer's: its looping mail is held (issue 7;
    # a relay domain's bounces 5.4.6, as Postfix does: t/67-mail-loop.t).
    domains => ["site.example mode=hold route=[127.0.0.1]:$sinkport",
	"loop.example mode=hold route=mx"]);
my $dir = $s->dir;
my $qdir = $s->qdir;

sub inject {
	my ($content, @rcpt) = @_;
	my ($rc, $out, $err) = SluiceTest::run_cmd(["$BUILDDIR/t/queue_inject",
	    $qdir, 'sender@client.example', @rcpt], stdin => $content);
	die "queue_inject: $err\n" if $rc != 0;
	chomp $out;
	return $out;
}

# A message with lines that need dot-stuffing, and one without final CRLF
# handling surprises.
my $body = "Subject: deliver test\r\n\r\nline one\r\n.leading dot\r\n"
    . "..two dots\r\n.\r\nlast\r\n";
my $id = inject($body, 'a@site.example', 'b@site.example');
ok($id =~ /^[0-9A-F]{20}$/, "injected $id");

# The fake qmgr listens where deliver looks for it.
my $path = "$qdir/private/deliver";
unlink $path;
my $l = IO::Socket::UNIX->new(Type => SOCK_SEQPACKET, Local => $path,
    Listen => 5) or die "listen $path: $!\n";
my $dlog = "$dir/deliver.log";
my $dpid = start_bg($dlog, {}, "$BUILDDIR/deliver/deliver", '-c', $s->confdir,
    '-f', '-D', "127.0.0.1:$dnsport", '-P', $sinkport);

sub accept_qmgr {
	my $sel = IO::Select->new($l);
	$sel->can_read(10 * $SluiceTest::SLOW) or return undef;
	my $c = $l->accept or return undef;
	my $hello = recv_rec($c, 10);
	return ($c, $hello);
}

my ($c, $hello) = accept_qmgr();
ok($c, 'deliver connected to private/deliver');
is(rec_get($hello, 'type'), 'hello', 'first record is hello');
is(rec_get($hello, 'slots'), '20', 'hello slots=20');

my $jobno = 0;
# run_job(id, domain, route, rcpts...) - send a job, collect its results.
sub run_job {
	my ($jid, $domain, $route, @rcpt) = @_;
	my @f = (type => 'job', job => ++$jobno, id => $jid, domain => $domain,
	    sender => 'sender@client.example', size => 100, route => $route,
	    tls => 'may');
	push @f, rcpt => $rcpt[$_], idx => $_ for 0 .. $#rcpt;
	$c->send(rec_encode(@f)) or die "send job: $!\n";
	my (%r, $done);
	while (my $rec = recv_rec($c, 30)) {
		my $t = rec_get($rec, 'type');
		is(rec_get($rec, 'job'), $jobno, "result belongs to job $jobno");
		if ($t eq 'rcpt') {
			$r{rec_get($rec, 'idx')} = $rec;
		} elsif ($t eq 'done') {
			$done = $rec;
			last;
		}
	}
	return (\%r, $done);
}

# 1. Static route, two recipients, both accepted.
my $sink = start_sink("$dir/sink1", $sinkport);
my ($r, $done) = run_job($id, 'site.example', "[127.0.0.1]:$sinkport",
    'a@site.example', 'b@site.example');
ok($done && !defined rec_get($done, 'conn_error'), 'job done, no conn_error');
for my $i (0, 1) {
	is(rec_get($r->{$i}, 'status'), 'sent', "recipient $i sent");
	like(rec_get($r->{$i}, 'reply'), qr/^250 /, "recipient $i reply 250");
	is(rec_get($r->{$i}, 'relay'), "127.0.0.1[127.0.0.1]:$sinkport",
	    "recipient $i relay");
}
my @m = sink_messages("$dir/sink1");
is(scalar @m, 1, 'the sink got one message');
(my $want = $body) =~ s/\r\n/\n/g;
ok(@m && index($m[0], $want) >= 0, 'content arrived intact (dot-stuffing undone by the sink)');
like($m[0] // '', qr/X-Rcpt-Args: <a\@site.example>.*X-Rcpt-Args: <b\@site.example>/s,
    'both recipients in one transaction');
like($m[0] // '', qr/^X-Helo-Args: out\.sluice\.test$/m,
    'EHLO gives smtp_helo_name (sluice.conf(5)), not myhostname');
# The transaction delivered every recipient: the message is done, no
# journal is written, and type=done says so (qmgr removes the message).
ok(!-e "$qdir/msg/" . substr($id, -2) . "/$id.j", 'no journal for a message delivered whole');
is(rec_get($done, 'complete'), '1', 'type=done complete=1');
like(slurp($dlog), qr/\Q$id\E: to=<a\@site.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sinkport, delay=[\d.]+, delays=[\d.]+\/[\d.]+\/[\d.]+\/[\d.]+, dsn=2\.0\.0, status=sent \(250 [^)]*\)/,
    'Postfix-shaped log line');

# 2. Part of a message (a@ of a@ and b@): a@ is journalled, the message
# is not complete. Then both: the journal says a@ is done, only b@ is
# sent, and that finishes the message.
my $idp = inject($body, 'a@site.example', 'b@site.example');
($r, $done) = run_job($idp, 'site.example', "[127.0.0.1]:$sinkport",
    'a@site.example');
is(rec_get($r->{0}, 'status'), 'sent', 'part of a message: a@ sent');
ok(-s "$qdir/msg/" . substr($idp, -2) . "/$idp.j", 'part of a message: journal written');
ok($done && !defined rec_get($done, 'complete'), 'part of a message: not complete');
($r, $done) = run_job($idp, 'site.example', "[127.0.0.1]:$sinkport",
    'a@site.example', 'b@site.example');
is(rec_get($r->{0}, 'status'), 'sent', 'journaled recipient reported sent');
# The job's done record comes after anything it sent was answered.
ok($done, 'the second job is done');
is(rec_get($done, 'complete'), '1', 'b@ finished the message: complete=1');
@m = sink_messages("$dir/sink1");
is(scalar @m, 3, 'one message for a@, then one for b@ only');
ok(@m == 3 && (grep { /X-Rcpt-Args: <a\@site.example>/ } @m) == 2 &&
    (grep { /X-Rcpt-Args: <b\@site.example>/ } @m) == 2, 'a@ not sent twice');

# 3. A second message reuses the idle session (RSET), then a bounce.
my $id2 = inject("Subject: two\r\n\r\nbody\r\n", 'c@site.example');
($r, $done) = run_job($id2, 'site.example', "[127.0.0.1]:$sinkport",
    'c@site.example');
is(rec_get($r->{0}, 'status'), 'sent', 'second message sent');
smtp_sink_stop($sink);

$sink = start_sink("$dir/sink2", $sinkport, '-f', 'RCPT');
my $id3 = inject("Subject: three\r\n\r\nbody\r\n", 'd@site.example');
($r, $done) = run_job($id3, 'site.example', "[127.0.0.1]:$sinkport",
    'd@site.example');
is(rec_get($r->{0}, 'status'), 'bounced', '5xx to RCPT bounces');
like(rec_get($r->{0}, 'dsn'), qr/^5\./, 'bounce dsn 5.x.x');
ok(!defined rec_get($done, 'conn_error'), 'a reply is no connection error');
smtp_sink_stop($sink);

$sink = start_sink("$dir/sink3", $sinkport, '-r', 'RCPT');
($r, $done) = run_job($id3, 'site.example', "[127.0.0.1]:$sinkport",
    'd@site.example');
is(rec_get($r->{0}, 'status'), 'deferred', '4xx to RCPT defers');
smtp_sink_stop($sink);

# 4. Nobody listening: deferred, relay=none, conn_error.
($r, $done) = run_job($id3, 'site.example', "[127.0.0.1]:$deadport",
    'd@site.example');
is(rec_get($r->{0}, 'status'), 'deferred', 'refused connection defers');
is(rec_get($r->{0}, 'relay'), 'none', 'relay=none');
like(rec_get($done, 'conn_error') // '', qr/refused/i, 'conn_error says refused');

# 5. route=mx: only the host preferred over us (sink.test, 10 < 20).
$sink = start_sink("$dir/sink4", $sinkport);
my $id4 = inject("Subject: mx\r\n\r\nbody\r\n", 'e@mx.example');
($r, $done) = run_job($id4, 'mx.example', 'mx', 'e@mx.example');
is(rec_get($r->{0}, 'status'), 'sent', 'MX delivery to the better host');
is(rec_get($r->{0}, 'relay'), "sink.test[127.0.0.1]:$sinkport", 'relay is sink.test');

# We are the best MX: held with the loop message.
my $id5 = inject("Subject: loop\r\n\r\nbody\r\n", 'f@loop.example');
($r, $done) = run_job($id5, 'loop.example', 'mx', 'f@loop.example');
is(rec_get($r->{0}, 'status'), 'deferred', 'best MX ourselves: deferred');
like(rec_get($r->{0}, 'reply'), qr/mail for loop\.example loops back to myself/,
    'loop reply');
ok(defined rec_get($done, 'conn_error'), 'loop closes the gate (conn_error)');
like(slurp($dlog), qr/\Q$id5\E: mail for loop\.example loops back to myself/,
    'loop logged');

# No MX: the domain's own address (RFC 5321 5.1).
my $id6 = inject("Subject: nomx\r\n\r\nbody\r\n", 'g@nomx.example');
($r, $done) = run_job($id6, 'nomx.example', 'mx', 'g@nomx.example');
is(rec_get($r->{0}, 'status'), 'sent', 'no MX: A record used');

# NXDOMAIN bounces, SERVFAIL defers.
my $id7 = inject("Subject: nx\r\n\r\nbody\r\n", 'h@nx.example');
($r, $done) = run_job($id7, 'nx.example', 'mx', 'h@nx.example');
is(rec_get($r->{0}, 'status'), 'bounced', 'NXDOMAIN bounces');
my $id8 = inject("Subject: tmp\r\n\r\nbody\r\n", 'i@temp.example');
($r, $done) = run_job($id8, 'temp.example', 'mx', 'i@temp.example');
is(rec_get($r->{0}, 'status'), 'deferred', 'SERVFAIL defers');
is(scalar(sink_messages("$dir/sink4")), 2, 'sink got the two MX deliveries');
smtp_sink_stop($sink);

# 6. A malformed job drops the connection; deliver comes back with hello.
$c->send(rec_encode(type => 'job', job => 'x', id => 'nonsense'));
ok(!defined recv_rec($c, 10), 'malformed job: deliver hangs up');
close $c;
($c, $hello) = accept_qmgr();
is(rec_get($hello, 'type'), 'hello', 'deliver reconnected with hello');

# 7. SIGTERM stops it.
stop_bg($dpid);
unlike(slurp($dlog), qr/AddressSanitizer|runtime error/, 'no sanitizer reports');
$dns->stop;
$s->cleanup if $s->can('cleanup');
done_testing();
