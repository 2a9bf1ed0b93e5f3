# t/31-etrn.t - ETRN (RFC 1985) in smtpd: raw sessions and fetchmail in
# ETRN mode release held mail to smtp-sink; the @ and # forms, 251 once
# the queue is empty, 459 for a client outside etrn_from, 503 inside a
# transaction and before EHLO, 500/501 for missing or bad arguments, the
# per-session limit.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use Release qw(barrier_domain barrier);
use Sink;
use SluiceTest qw(free_port wait_for smtp_connect smtp_xact);
use Smtpd2 qw(sink_up sink_down sink_files sink_content queue_mail fetchmail_etrn
    log_lines);

# has_domain MESSAGE, DOMAIN - has a message of queue list --json mail for DOMAIN?
sub has_domain { my ($m, $d) = @_; return grep { $_->{domain} eq $d } @{ $m->{domains} || [] } }

my $sink_port = free_port();
my $route = "route=[127.0.0.1]:$sink_port";
my $s = SluiceTest->new(conf => { trigger_min_interval => '0' },
    domains => ['placeholder']);
# Absence checks wait for Release::barrier: mail for barrier.example.
my $ctl = Sink->start(dir => $s->dir . '/barrier');
my $oracle = Sink->start(dir => $s->dir . '/oracle');
$s->set_domains(
	"site.example mode=hold $route lease=2s probe=no",
	"sub.site.example mode=hold $route lease=2s probe=no",
	"one.example mode=hold $route group=dialup lease=2s probe=no",
	"two.example mode=hold $route group=dialup lease=2s probe=no",
	"locked.example mode=hold $route etrn_from=192.0.2.0/24 probe=no",
	barrier_domain($ctl));
$s->start;
my $sinkdir = $s->dir . '/sink';
my $sink = sink_up($sinkdir, $sink_port);

# queued_for DOMAIN - recipients of DOMAIN still in the queue.
sub queued_for {
	my ($d) = @_;
	return scalar grep { has_domain($_, $d) } $s->queue_list;
}

# held_again DOMAIN - wait until DOMAIN's lease ran out and its gate closed:
# its last gate line says held (an earlier held line may be followed by
# an open one: any trigger opens the gate, a 251 too).
sub held_again {
	my ($d) = @_;
	return wait_for(sub {
		my @g = grep { /gate: domain=\Q$d\E, state=/ } split /\n/,
		    $s->log_text;
		@g && $g[-1] =~ /state=held/;
	}, 30);
}

# etrn - one ETRN on a fresh greeted session: (code, text)
sub etrn {
	my ($arg) = @_;
	my ($c, $code) = smtp_connect($s);
	return (undef, 'no greeting') unless ($code // '') eq '220';
	smtp_xact($c, 'EHLO client.test');
	my @r = smtp_xact($c, "ETRN $arg");
	smtp_xact($c, 'QUIT');
	close $c;
	return @r;
}

# --- grammar and sequence on one raw session ---
{
	my ($c, $code) = smtp_connect($s);
	is($code, '220', 'greeting');
	my ($rc, $text) = smtp_xact($c, 'ETRN site.example');
	like("$rc $text", qr/^503 503 5\.5\.1 /, 'ETRN before EHLO: 503');
	($rc, $text) = smtp_xact($c, 'EHLO client.test');
	like($text, qr/^250[ -]ETRN\r?$/m, 'EHLO advertises ETRN');
	($rc, $text) = smtp_xact($c, 'ETRN');
	like($text, qr/^500 5\.5\.2 Syntax: ETRN domain/, 'ETRN without argument: 500');
	for my $bad ('bad domain!', 'x..example', '#', '#bad group', '@', '[127.0.0.1]') {
		($rc, $text) = smtp_xact($c, "ETRN $bad");
		like($text, qr/^501 5\.5\.4 /, "ETRN '$bad': 501 5.5.4");
	}
	smtp_xact($c, 'MAIL FROM:<a@sender.test>');
	($rc, $text) = smtp_xact($c, 'ETRN site.example');
	like($text, qr/^503 5\.5\.1 .*transaction/, 'ETRN after MAIL: 503 5.5.1');
	smtp_xact($c, 'RCPT TO:<u@site.example>');
	($rc, $text) = smtp_xact($c, 'ETRN site.example');
	like($text, qr/^503 5\.5\.1 /, 'ETRN after RCPT: 503 5.5.1');
	smtp_xact($c, 'RSET');
	($rc, $text) = smtp_xact($c, 'ETRN nosuch.example');
	like($text, qr/^459 4\.7\.1 <nosuch\.example>: not a domain queued here/,
	    'ETRN for a domain not queued here: 459');
	($rc, $text) = smtp_xact($c, 'ETRN @example');
	like($text, qr/^459 4\.7\.1 <\@example>: not a domain queued here/,
	    'ETRN @example (a bare suffix, no customer): 459');
	($rc, $text) = smtp_xact($c, 'ETRN locked.example');
	like($text, qr/^459 4\.7\.1 <locked\.example>: ETRN not allowed: client not in etrn_from/,
	    'ETRN from outside etrn_from: 459 with the reason');
	($rc, $text) = smtp_xact($c, 'ETRN #nosuchgroup');
	like($text, qr/^459 4\.7\.1 <#nosuchgroup>: not a domain queued here/,
	    'ETRN for an unknown group: 459');
	smtp_xact($c, 'QUIT');
	close $c;
}
ok(scalar(log_lines($s, qr/trigger: domain=locked\.example, source=etrn, client=127\.0\.0\.1, .*result=denied/)),
    'qmgr logged the refused trigger with source and client');

# --- fetchmail in ETRN mode: 253 with the count, then delivery ---
is(queue_mail($s, 'user@site.example', 3), 3, 'three messages queued for site.example');
wait_for(sub { queued_for('site.example') == 3 }, 20);
is(queued_for('site.example'), 3, 'held: three in the queue list');
ok(barrier($s, $oracle), 'a message queued after them for a backup domain was delivered');
is(scalar(sink_files($sinkdir)), 0, 'nothing delivered while held');
my %queued = map { my $q = $s->read_queue_file($_); ($q ? $q->{content} : $_) => 1 }
    $s->queue_list_ids;
my ($st, $out) = fetchmail_etrn($s, 'site.example');
like($out, qr/253 2\.0\.0 OK, 3 pending messages for node site\.example started/,
    'fetchmail ETRN: 253 with the right count') or diag $out;
ok(wait_for(sub { scalar(sink_files($sinkdir)) >= 3 }, 30),
    'the sink received the three messages');
# A sink file exists before its message is complete: the queue says when.
ok(wait_for(sub { queued_for('site.example') == 0 }, 30), 'queue empty for site.example');
my @got = map { sink_content($_) } sink_files($sinkdir);
is(scalar(grep { $queued{$_} } @got), 3,
    'the sink got each queued message byte-identical');
is(scalar(keys %{ { map { $_ => 1 } @got } }), 3, 'and each of them once');
my ($code, $text) = etrn('site.example');
like($text, qr/^251 2\.0\.0 OK, no messages waiting for node site\.example/,
    'second ETRN: 251');

# --- raw session: 253 once the gate has closed again ---
ok(held_again('site.example'), 'lease over: site.example held again');
is(queue_mail($s, 'user@site.example', 2), 2, 'two more queued');
wait_for(sub { queued_for('site.example') == 2 }, 20);
($code, $text) = etrn('site.example');
like($text, qr/^253 2\.0\.0 OK, 2 pending messages for node site\.example started/,
    'raw ETRN: 253 with the right count');
ok(wait_for(sub { scalar(sink_files($sinkdir)) >= 5 }, 30), 'delivered: five at the sink');
# Counted until qmgr has deliver's result, and @site.example counts them.
ok(wait_for(sub { queued_for('site.example') == 0 }, 30), 'and they left the queue');

# --- @domain: the domain and its subdomains ---
is(queue_mail($s, 'user@sub.site.example', 1), 1, 'one for sub.site.example');
wait_for(sub { queued_for('sub.site.example') == 1 }, 20);
($code, $text) = etrn('@site.example');
like($text, qr/^25[23] 2\.0\.0 OK, 1 pending messages for node \@site\.example started/,
    'ETRN @site.example releases the subdomain: 253 1');
ok(wait_for(sub { scalar(sink_files($sinkdir)) >= 6 }, 30), 'subdomain mail delivered');
ok(scalar(log_lines($s, qr/trigger: domain=\@site\.example, source=etrn, .*result=ok, pending=1, domains=2/)),
    'the trigger for @site.example covered two domains');

# --- #group ---
is(queue_mail($s, 'user@one.example', 1) + queue_mail($s, 'user@two.example', 1),
    2, 'one each for the dialup group');
wait_for(sub { queued_for('one.example') + queued_for('two.example') == 2 }, 20);
($code, $text) = etrn('#dialup');
like($text, qr/^253 2\.0\.0 OK, 2 pending messages for node #dialup started/,
    'ETRN #dialup: 253 2');
ok(wait_for(sub { scalar(sink_files($sinkdir)) >= 8 }, 30), 'group mail delivered');

# --- locked.example stays held; the per-session limit ---
is(queue_mail($s, 'user@locked.example', 1), 1, 'one for locked.example');
{
	my ($c) = smtp_connect($s);
	smtp_xact($c, 'EHLO client.test');
	my @codes;
	for (1 .. 11) {
		my ($rc, $t) = smtp_xact($c, 'ETRN nosuch.example');
		push @codes, $t;
	}
	like($codes[9], qr/^459 /, 'tenth ETRN in a session still answered');
	like($codes[10], qr/^458 4\.7\.0 .*too many ETRN commands/,
	    'eleventh ETRN in a session: 458');
	smtp_xact($c, 'QUIT');
	close $c;
}
ok(barrier($s, $oracle), 'a message queued after the refused ETRNs was delivered');
is(queued_for('locked.example'), 1, 'locked.example mail still held');
unlike(join('', sink_files($sinkdir)), qr/user\@locked\.example/,
    'nothing for locked.example reached the sink');

# --- qmgr down: 458 4.3.0 ---
kill 'STOP', $s->child_pid('qmgr');
($code, $text) = etrn('site.example');
kill 'CONT', $s->child_pid('qmgr');
like($text, qr/^458 4\.3\.0 Unable to queue messages for node site\.example: /,
    'qmgr not answering: 458 4.3.0');

sink_down($sink);
$s->stop;
$_->stop for $ctl, $oracle;
done_testing;
