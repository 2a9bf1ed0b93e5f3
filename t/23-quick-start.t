# t/23-quick-start.t - the README's quick start works as written: the
# config that `./build.sh run` makes (build.sh run-config, the same
# make_run_config), started as SluiceTest starts an instance, and the
# README's own command lines, read from README.md (so that this test
# fails when the README drifts from what sluice does) and run with real
# clients: `sluice config check`, swaks and `sluice queue list` and
# `queue summary`, fetchmail by POP3 (multidrop with the README's
# .fetchmailrc line, then the plain command line), fetchmail ETRN,
# fetchmail ODMR, finger, the web login and /mail with curl, `sluice
# flush`, the prober ("nothing to do"), `sluice check --no-connect`,
# pflogsumm on the log, and the submission swaks line.
#
# The site's server at route=[127.0.0.1]:2626 is a Sink. Between the
# doors the route's port belongs to a "refuser" that accepts and closes
# each connection at once, counting them: a door is tried only after
# the prober's probe for the new message has failed there (the next one
# is then 15 minutes away), so that each message is released by the
# door under test and by nothing else.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use Test::More;

use FakeDNS;
use Odmr qw(wait_exit);
use Sink;
use SluiceTest qw(tool free_port wait_for run_cmd run_bg slurp spew);
use WebTest qw(curl csrf_of);

my $BUILDDIR = $ENV{SLUICE_BUILDDIR};
my $SRCDIR = $ENV{SLUICE_SRCDIR};

# --- the README's lines --------------------------------------------------

my $readme = slurp("$SRCDIR/README.md") // die "no README.md in $SRCDIR\n";

# readme_block AFTER - the first ``` block after the paragraph that
# matches AFTER: its lines.
sub readme_block {
	my ($after) = @_;
	$readme =~ /$after.*?\n```\n(.*?)\n```/s
	    or BAIL_OUT("README.md: no code block after /$after/");
	return split /\n/, $1;
}

# door_row DOOR - the cell of the "Try every door" table for DOOR: its
# `code` spans, in order.
sub door_row {
	my ($door) = @_;
	$readme =~ /^\| \Q$door\E[^|]*\| (.*) \|$/m
	    or BAIL_OUT("README.md: no row '$door' in the door table");
	my @code = $1 =~ /`([^`]+)`/g;
	return @code;
}

# --- the quick start's config, on free ports -----------------------------

# The DNS server of step 8 starts first: a child forked after
# SluiceTest->new would take the instance down with it when it exits.
my $dns = FakeDNS->start();
my $s = SluiceTest->new;
my $dir = $s->dir;
# build.sh run-config RUNDIR BUILDDIR writes RUNDIR/etc and points the
# queue at RUNDIR/queue: the layout of a SluiceTest instance.
my ($rc, $out, $err) = run_cmd(['bash', "$SRCDIR/build.sh", 'run-config', $dir,
    $BUILDDIR]);
is($rc, 0, 'build.sh run-config writes the quick start config') or diag($out . $err);

# The ports: the quick start's, each replaced by a free one. This is the
# only change made to the config (tests run in parallel); the lines run
# from README.md get the same replacement.
my %port = (2525 => $s->port, 2626 => free_port());
$port{$_} = free_port() for qw(2587 3366 7979 8025 1110);
my $ports = join '|', keys %port;
my ($pop3port, $sinkport) = @port{1110, 2626};
sub ported {
	my ($text) = @_;
	$text =~ s/\b($ports)\b/$port{$1}/g;
	$text =~ s{\bbuild/cli/sluice\b}{$BUILDDIR/cli/sluice}g;
	$text =~ s{\bbuild/run/etc\b}{$dir/etc}g;
	return $text;
}
for my $f ('sluice.conf', 'domains') {
	my $text = slurp("$dir/etc/$f") // die "build.sh wrote no etc/$f\n";
	if ($f eq 'sluice.conf') {
		$text =~ s{^(\w+_listen\s*=\s*127\.0\.0\.1:)(\d+)$}{$1 . ($port{$2} // $2)}mge;
	} else {
		$text =~ s/(route=\[127\.0\.0\.1\]:)2626\b/$1$port{2626}/g;
	}
	spew("$dir/etc/$f", $text);
}
like(slurp("$dir/etc/sluice.conf"), qr/^pop3_listen = 127\.0\.0\.1:$pop3port$/m,
    'the quick start listens for POP3');
# What the README's Configuration section has the operator run first;
# the DNS check's warning about site.example does not change the exit.
($rc, $out, $err) = run_cmd(["$BUILDDIR/cli/sluice", '-c', "$dir/etc", 'config', 'check']);
is($rc, 0, 'sluice config check: the quick start config is valid') or diag($out . $err);
like(slurp("$dir/etc/domains"), qr/^site\.example .*route=\[127\.0\.0\.1\]:$sinkport .*pop3=yes/m,
    'site.example is held for the demo customer, pop3=yes');

# --- the site's server: a refuser between the doors, a Sink for each ---

my $conns = "$dir/refuser.conns";
spew($conns, '');
my ($refuser, $sink);

# refuser_up - the route's port accepts and closes at once (a probe
# there fails, as does a delivery), one line in $conns per connection.
sub refuser_up {
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => $port{2626}, Proto => 'tcp', Listen => 16, ReuseAddr => 1)
	    or die "refuser: listen 127.0.0.1:$port{2626}: $!\n";
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		$SIG{TERM} = sub { POSIX::_exit(0) };
		while (1) {
			my $c = $l->accept or next;
			open my $fh, '>>', $conns or POSIX::_exit(1);
			print {$fh} "conn\n";
			close $fh;
			close $c;
		}
	}
	close $l;
	$refuser = $pid;
}

sub refuser_down {
	kill 'TERM', $refuser;
	waitpid($refuser, 0);
	$refuser = undef;
}

sub nconns { my @l = split /\n/, slurp($conns) // ''; scalar @l }

sub sink_up {
	refuser_down();
	$sink = Sink->start(dir => "$dir/sink", port => $port{2626});
}

sub sink_down {
	$sink->stop;
	refuser_up();
}

END { kill 'TERM', $refuser if $refuser }

refuser_up();
$s->start;
ok($s->child_pid('pop3'), 'master started pop3 for the quick start');

# --- 1. swaks to user@site.example, and `sluice queue list` --------------

my @send = readme_block('Send a test message');
like($send[0], qr/^swaks .*--to user\@site\.example$/, 'README: the swaks line');
like($send[1], qr/queue list$/, 'README: the queue list line');

my $nmsg = 0;
sub gate_state {
	my @g = $s->log_text =~ /gate: domain=site\.example, state=(\w+)/g;
	return $g[-1] // 'held';
}
sub held_lines { $s->log_count(qr/gate: domain=site\.example, state=held/) }

# send_message - the README's swaks line with a Subject of our own;
# (queue ID, Subject)
sub send_message {
	my $subject = 'quick start ' . ++$nmsg;
	my ($rc, $out, $err) = run_cmd(['sh', '-c', ported($send[0])
	    . " --header 'Subject: $subject' --timeout 60"], timeout => 90);
	is($rc, 0, "swaks: '$subject' sent") or diag($out . $err);
	my ($id) = $out =~ /^<-\s+250 .*queued as ([0-9A-F]{20})/m;
	ok($id, "swaks: '$subject' queued as " . ($id // '?')) or diag($out);
	return ($id, $subject);
}

# held_message - send_message while the site is down (the refuser): the
# message is queued, held, and the prober's probe for it has failed.
sub held_message {
	my $open = gate_state() eq 'open';
	my ($held0, $c0) = (held_lines(), nconns());
	my ($id, $subject) = send_message();
	# The gate open from the last door: the delivery fails at the
	# refuser and closes it. Then the prober probes (new mail).
	if ($open) {
		ok(wait_for(sub { held_lines() > $held0 }, 30),
		    'the delivery failed and the gate closed') or diag($s->log_text);
		$c0 = nconns();
	}
	ok(wait_for(sub { nconns() > $c0 }, 30), "the prober probed for '$subject' and failed");
	return ($id, $subject);
}

# at_sink SUBJECT - the message the sink got with that Subject
sub at_sink {
	my ($subject) = @_;
	my ($m) = grep { $_->{data} =~ /^Subject: \Q$subject\E\r?$/m } $sink->messages;
	return $m;
}

# queue_empty - the message went out: nothing left for site.example
sub queue_empty {
	ok(wait_for(sub { scalar($s->queue_list_ids('--domain', 'site.example')) == 0 }, 30),
	    'the queue of site.example is empty');
}

my ($id, $subject) = held_message();
($rc, $out, $err) = run_cmd(['sh', '-c', ported($send[1])]);
is($rc, 0, 'README: sluice queue list') or diag($err);
like($out, qr/\Q$id\E/, 'sluice queue list shows the message');
like($out, qr/user\@site\.example/, 'sluice queue list shows its recipient');
my ($summary_line) = $readme =~ /`(build\/cli\/sluice -c build\/run\/etc queue summary)`/;
ok($summary_line, 'README: the queue summary line');
($rc, $out, $err) = run_cmd(['sh', '-c', ported($summary_line // 'false')]);
is($rc, 0, 'sluice queue summary: exit 0') or diag($err);
like($out, qr/^\s*site\.example\s.*\bheld\b/m, 'sluice queue summary: site.example held') or diag($out);

# --- 2. POP3, multidrop with the README's .fetchmailrc -------------------

my @pop3 = door_row('POP3 maildrop');
my ($pop3_line) = grep { /^fetchmail --protocol POP3/ } @pop3;
my ($rcline) = grep { /^poll / } @pop3;
my ($multi_line) = grep { /^fetchmail --smtphost/ } @pop3;
ok($pop3_line && $rcline && $multi_line, 'README: the POP3 lines') or diag(join "\n", @pop3);

# fetchmail HOME, LINE - run a README fetchmail line with HOME; its own
# pid file (as root fetchmail locks /var/run/fetchmail.pid, which a
# test beside us may hold) and -v for the diagnostics are the only
# options added. The password comes from HOME/.netrc, as a user's may
# (fetchmail asks on the terminal otherwise).
sub fetchmail {
	my ($home, $line) = @_;
	mkdir $home;
	spew("$home/.netrc", "machine 127.0.0.1 login demo password demo\n");
	chmod 0600, "$home/.netrc";
	(my $cmd = ported($line)) =~ s/^fetchmail /fetchmail -v --pidfile $home\/fetchmail.pid /
	    or die "not a fetchmail line: $line\n";
	unlink "$home/out";
	my $pid = run_bg(['sh', '-c', $cmd], out => "$home/out", env => { HOME => $home });
	my $st = wait_exit($pid, 120);
	return ($st < 0 ? -1 : $st >> 8, slurp("$home/out") // '');
}

my $home = "$dir/multidrop";
mkdir $home;
spew("$home/.fetchmailrc", ported($rcline) . "\n");
chmod 0600, "$home/.fetchmailrc";
sink_up();
my ($st, $fout) = fetchmail($home, $multi_line);
is($st, 0, 'fetchmail multidrop (README .fetchmailrc): exit 0') or diag($fout);
my $m = at_sink($subject);
ok($m, 'the sink got the message fetchmail collected') or diag($fout);
like($m->{data} // '', qr/^X-Original-To: user\@site\.example\r?$/m,
    'with X-Original-To: user@site.example');
like(join(',', @{ $m->{rcpt} // [] }), qr/^user\@/, 'fetchmail sent it to user (is * here)');
like($m->{data} // '', qr/\r?\n\r?\nThis is a test mailing\r?\n/,
    "with the body swaks sent");
ok($s->wait_log(qr/\Q$id\E: to=<user\@site\.example>, relay=pop3, .*status=sent/, 30),
    'the log: relay=pop3, status=sent');
queue_empty();
sink_down();

# --- 3. POP3, the plain command line ------------------------------------

($id, $subject) = held_message();
sink_up();
($st, $fout) = fetchmail("$dir/plain", $pop3_line);
is($st, 0, 'fetchmail --protocol POP3 (README line): exit 0') or diag($fout);
ok(at_sink($subject), 'the sink got the message') or diag($fout);
ok($s->wait_log(qr/\Q$id\E: to=<user\@site\.example>, relay=pop3, .*status=sent/, 30),
    'the log: relay=pop3, status=sent');
queue_empty();
sink_down();

# --- 4. ETRN ------------------------------------------------------------

my ($etrn_line) = door_row('SMTP ETRN');
($id, $subject) = held_message();
sink_up();
($st, $fout) = fetchmail("$dir/etrn", $etrn_line);
is($st, 0, 'fetchmail --protocol ETRN (README line): exit 0') or diag($fout);
ok(wait_for(sub { at_sink($subject) }, 30), 'the sink got the message ETRN released');
ok($s->wait_log(qr/trigger: domain=site\.example, source=etrn, /, 10), 'the log: trigger source=etrn');
ok($s->wait_log(qr/\Q$id\E: to=<user\@site\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sinkport, .*status=sent/, 30),
    'the log: delivered to the route, status=sent');
queue_empty();
sink_down();

# --- 5. ODMR ------------------------------------------------------------

my ($odmr_line) = door_row('ODMR ATRN');
($id, $subject) = held_message();
sink_up();
($st, $fout) = fetchmail("$dir/odmr", $odmr_line);
is($st, 0, 'fetchmail --protocol ODMR (README line): exit 0') or diag($fout);
ok(wait_for(sub { at_sink($subject) }, 30), 'the sink got the message, through fetchmail');
ok($s->wait_log(qr/trigger: domain=site\.example, source=atrn, /, 10), 'the log: trigger source=atrn')
    or diag($s->log_text);
queue_empty();
sink_down();

# --- 6. finger ----------------------------------------------------------

my ($finger_line) = door_row('finger');
($id, $subject) = held_message();
sink_up();
($rc, $out, $err) = run_cmd(['sh', '-c', ported($finger_line)], timeout => 60);
is($rc, 0, 'finger (README line): exit 0') or diag($err);
like($out, qr/site\.example/, 'finger answered with the domain status') or diag($out);
ok(wait_for(sub { at_sink($subject) }, 30), 'the sink got the message finger released');
ok($s->wait_log(qr/trigger: domain=site\.example, source=finger, /, 10), 'the log: trigger source=finger');
queue_empty();
sink_down();

# --- 7. the web login and /mail, then the operator's flush --------------

# The site is down (the refuser): the login opens the gate, the delivery
# fails there, and the message stays held for /mail to list.
my ($web_url) = grep { m{^http://} } door_row('web login');
my ($mail_url) = grep { m{/mail$} } door_row('web login');
ok($web_url && $mail_url, 'README: the web login URLs');
($id, $subject) = held_message();
my $jar = "$dir/jar";
my $base = ported($web_url);
$base =~ s{/$}{};
my $r = curl($jar, "$base/");
is($r->{code}, '200', 'the login page: 200');
my $held0 = held_lines();
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode', 'password=demo',
    '--data-urlencode', 'csrf=' . (csrf_of($r->{body}) // ''), "$base/login");
like($r->{code}, qr/^30[23]$/, "logged in as demo/demo: $r->{code}");
ok($s->wait_log(qr/trigger: domain=site\.example, source=web, /, 10), 'the log: trigger source=web');
ok(wait_for(sub { held_lines() > $held0 }, 30), 'the site is down: the gate closed again');
$r = curl($jar, ported($mail_url));
is($r->{code}, '200', '/mail: 200');
like($r->{body}, qr/\Q$id\E/, '/mail lists the held message by its queue ID');
like($r->{body}, qr/\Q$subject\E/, '... and its Subject');

my ($flush_line) = door_row('operator');
sink_up();
($rc, $out, $err) = run_cmd(['sh', '-c', ported($flush_line)]);
is($rc, 0, 'sluice flush site.example (README line): exit 0') or diag($out . $err);
ok(wait_for(sub { at_sink($subject) }, 30), 'the sink got the message the flush released');
queue_empty();

# --- the prober: "nothing to do" --------------------------------------

# The site down, new mail is held and probed at once (in vain); the site
# up, the next new mail brings the next probe forward: it finds the 220
# and releases both.
my ($prober_row) = $readme =~ /^\| prober \| (.*) \|$/m;
like($prober_row // '', qr/within seconds of new mail/, 'README: the prober row');
sink_down();
my ($id1, $subject1) = held_message();
sink_up();
my ($id2, $subject2) = send_message();
ok($s->wait_log(qr/trigger: domain=site\.example, source=probe, .*result=ok/, 30),
    'the log: trigger source=probe') or diag($s->log_text);
ok(wait_for(sub { at_sink($subject1) && at_sink($subject2) }, 30),
    'the sink got both messages the prober released');
queue_empty();

# --- 8. sluice check --no-connect ----------------------------------------

# site.example is not in the DNS (.example is reserved, RFC 2606): the
# real DNS answers NXDOMAIN, and so does a DNS server of our own, which
# only this copy of the config names (the host's DNS may be unreachable).
my ($check_line) = $readme =~ /`(build\/cli\/sluice -c build\/run\/etc check site\.example --no-connect)`/;
ok($check_line, 'README: the sluice check line');
my $copy = "$dir/etc-dns";
mkdir $copy;
for my $f ('sluice.conf', 'domains', 'passwd') {
	spew("$copy/$f", slurp("$dir/etc/$f"));
}
spew("$copy/sluice.conf", slurp("$copy/sluice.conf") . "dns_servers = 127.0.0.1:" . $dns->port . "\n");
(my $cmd = ported($check_line // '')) =~ s{ -c \Q$dir\E/etc }{ -c $copy };
($rc, $out, $err) = run_cmd(['sh', '-c', $cmd], timeout => 60);
is($rc, 68, 'sluice check site.example --no-connect: exit 68 (EX_NOHOST), as the README says')
    or diag($out . $err);
like($out . $err, qr/site\.example.*does not exist/, 'it says site.example does not exist')
    or diag($out . $err);
$dns->stop;

# --- the log: Postfix's shape, read by pflogsumm --------------------------

my ($pflog_line) = $readme =~ /`(pflogsumm --syslog-name=sluice \/var\/log\/mail\.log)`/;
ok($pflog_line, 'README: the pflogsumm line');
like($s->log_text, qr/^.*sluice\/smtpd\[\d+\]: [0-9A-F]{20}: client=/m,
    'the log lines are prefixed sluice/smtpd[PID]:');
my $logfile = $s->logfile;
(my $pflog = $pflog_line // 'false') =~ s{/var/log/mail\.log}{$logfile};
($rc, $out, $err) = run_cmd(['sh', '-c', $pflog]);
is($rc, 0, 'pflogsumm reads the log') or diag($err);
like($out, qr/^\s*$nmsg\s+received$/m, "pflogsumm: $nmsg received (every swaks above)")
    or diag($out);
like($out, qr/^\s*$nmsg\s+delivered$/m, "pflogsumm: $nmsg delivered")
    or diag($out);

# --- 9. submission ----------------------------------------------------------

my ($sub_line) = $readme =~ /`(swaks --server 127\.0\.0\.1:2587 [^`]+)`/;
ok($sub_line, 'README: the submission swaks line');
($rc, $out, $err) = run_cmd(['sh', '-c', ported($sub_line // 'false') . ' --timeout 60'],
    timeout => 90);
is($rc, 0, 'swaks submission (README line): exit 0') or diag($out . $err);
like($out, qr/^<-\s+220 .*\n(?:.*\n)*?^ -> STARTTLS/m, 'STARTTLS');
like($out, qr/^<~\s+235 /m, 'AUTH PLAIN as demo/demo accepted');
like($out, qr/^<~\s+250 .*queued as [0-9A-F]{20}/m, 'the message is queued for example.org');

$s->stop;
$sink->stop;
done_testing;
