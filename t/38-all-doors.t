# t/38-all-doors.t - every door at once for one domain: the prober, ETRN,
# finger, the web login and the operator's flush all release site.example
# within a second or two. Each has its audit line, the mail goes out in
# one flush (each message exactly once at the customer's server), and the
# gate opens once (later triggers renew it). The POP3 door knocks too:
# a login during the flush is refused [IN-USE] (a delivery is under way);
# should it come after, what it collects is what the flush did not send,
# and every message still arrives exactly once, by one door or the other.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use IO::Socket::INET;
use Test::More;

use Release qw(wait_log received_id);
use Sink;
use Pop3 qw(pop3_connect pop3_cmd pop3_multi);
use SluiceTest qw(free_port wait_for run_cmd smtp_connect smtp_xact);
use WebTest qw(curl csrf_of);

my $n = 30;
my ($fport, $wport, $pport) = (free_port(), free_port(), free_port());
my $s = SluiceTest->new(domains => ['placeholder'], conf => {
	finger_listen => "127.0.0.1:$fport",
	web_listen => "127.0.0.1:$wport",
	pop3_listen => "127.0.0.1:$pport",
	trigger_min_interval => '10s',
});
# The sink is slow on purpose, so that the flush is still going when
# the other doors knock.
my $sink = Sink->start(dir => $s->dir . '/sink', data_delay => 0.3);
my $sinkport = $sink->port;
$sink->stop;
$s->set_domains("site.example mode=hold route=[127.0.0.1]:$sinkport lease=60s "
    . 'probe=1s owner=demo finger=yes pop3=yes');
my ($rc, $out, $err) = run_cmd(["$ENV{SLUICE_BUILDDIR}/cli/sluice", '-c', $s->confdir,
    'passwd', 'demo'], stdin => "demo-door\n");
is($rc, 0, 'sluice passwd demo') or diag($err);
if ($> == 0) {
	my $gid = (getpwnam('sluice'))[3];
	chown 0, $gid, $s->confdir . '/passwd' if defined $gid;
}
$s->start;

($rc, $out) = $s->smtp_source('-s', 5, '-m', $n, '-f', 'sender@origin.test',
    '-t', 'user@site.example');
is($rc, 0, "smtp-source queued $n messages") or diag($out);
ok(wait_for(sub { scalar($s->queue_list_ids) == $n }, 30), "$n messages held");

# The site comes up: the prober is the first to notice.
$sink = Sink->start(dir => $s->dir . '/sink', port => $sinkport, data_delay => 0.3);
ok(wait_log($s, qr/trigger: domain=site\.example, source=probe, .*result=ok/, 30),
    'the prober released the domain');

# ...and the other four doors knock while that flush runs.
my ($c, $code) = smtp_connect($s);
smtp_xact($c, 'EHLO doors.sluice.test');
($code, my $text) = smtp_xact($c, 'ETRN site.example');
like($text // '', qr/^25[0-3] /, 'ETRN accepted during the flush: ' . ($text // ''));
smtp_xact($c, 'QUIT');
close $c;

my $f = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$fport") or die "finger: $!\n";
print {$f} "site.example\r\n";
my $answer = do { local $/; <$f> } // '';
like($answer, qr/site\.example/, 'finger answered with the domain status');

my $jar = $s->dir . '/jar';
my $r = curl($jar, "http://127.0.0.1:$wport/");
my $token = csrf_of($r->{body});
$r = curl($jar, '--data-urlencode', 'user=demo', '--data-urlencode', 'password=demo-door',
    '--data-urlencode', "csrf=$token", "http://127.0.0.1:$wport/login");
like($r->{code}, qr/^30[23]$/, 'web login accepted: ' . $r->{code});

($rc, $out) = $s->cli('flush', 'site.example');
is($rc, 0, 'sluice flush during the flush') or diag($out);

# POP3: the customer's login may not take what a delivery has under way.
my ($p, $greet) = pop3_connect($pport);
like($greet // '', qr/^\+OK /, 'pop3 greets during the flush');
pop3_cmd($p, 'USER demo');
my $login = pop3_cmd($p, 'PASS demo-door') // '';
my %collected;
if ($login =~ /^-ERR \[IN-USE\] the maildrop of demo is in use: site\.example: being delivered now$/) {
	pass('POP3 login during the flush: -ERR [IN-USE], being delivered now');
	like(pop3_cmd($p, 'QUIT') // '', qr/^\+OK /, 'and QUIT');
} else {
	# The flush was over first: the session collects what is left.
	like($login, qr/^\+OK maildrop of demo has (\d+) messages/,
	    'POP3 login after the flush: the maildrop') or diag($login);
	my ($st, $uidl) = pop3_multi($p, 'UIDL');
	for my $l (@$uidl) {
		my ($num, $uid) = split / /, $l;
		$collected{ (split /-/, $uid)[0] }++;
		pop3_cmd($p, "DELE $num");
	}
	like(pop3_cmd($p, 'QUIT') // '', qr/^\+OK .*\(\d+ messages collected\)/, 'QUIT collects them');
}
close $p;

# Every door has its audit line.
for my $src (qw(probe etrn finger web cli)) {
	ok(wait_log($s, qr/trigger: domain=site\.example, source=$src, /, 10),
	    "audit line for source=$src");
}

# One flush: every message exactly once, and the gate opened once.
# A message leaves the queue after its last result, and the sink keeps
# a message before its 250: every delivery has ended and been counted.
ok(wait_for(sub { scalar($s->queue_list_ids) == 0 }, 60), 'the queue drained');
my %seen;
$seen{ received_id($_->{data}) // 'none' }++ for $sink->messages;
is(scalar(keys %seen) + scalar(keys %collected), $n,
    "$n distinct messages at the sink or collected by POP3");
is(scalar(grep { $_ > 1 } values %seen), 0, 'none of them twice');
is(scalar(grep { $seen{$_} } keys %collected), 0, 'none both at the sink and collected');
my @opens = $s->log_text =~ /gate: domain=site\.example, state=open, until=\d+, reason=\w+(?! \(renewed\))\n/g;
is(scalar @opens, 1, 'the gate opened once; the later doors joined or renewed it');

$s->stop;
$sink->stop;
done_testing;
