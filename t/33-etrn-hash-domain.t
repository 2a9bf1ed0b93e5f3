# t/33-etrn-hash-domain.t - "ETRN #site.example" with no group of that
# name releases the domain (the dial-up service's example sends it so);
# "ETRN #group" still releases a real group, and a #name that is neither
# a group nor a domain of ours is 459. Mail is queued with swaks, the
# ETRN sent by fetchmail in ETRN mode, the site is smtp-sink.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;


use SluiceTest qw(free_port wait_for smtp_connect smtp_xact);
use Smtpd2 qw(sink_up sink_down sink_files queue_mail fetchmail_etrn);

# has_domain MESSAGE, DOMAIN - has a message of queue list --json mail for DOMAIN?
sub has_domain { my ($m, $d) = @_; return grep { $_->{domain} eq $d } @{ $m->{domains} || [] } }

my $sink_port = free_port();
my $route = "route=[127.0.0.1]:$sink_port";
my $s = SluiceTest->new(conf => { trigger_min_interval => '0' },
    domains => [
	"site.example mode=hold $route probe=no",
	"one.example mode=hold $route group=dialup probe=no",
	"two.example mode=hold $route group=dialup probe=no",
	"other.example mode=hold $route probe=no",
    ]);
$s->start;
my $sinkdir = $s->dir . '/sink';
my $sink = sink_up($sinkdir, $sink_port);

is(queue_mail($s, 'u@site.example', 2), 2, 'two messages for site.example queued (swaks)');
is(queue_mail($s, 'u@one.example', 1), 1, 'one for one.example (group dialup)');
is(queue_mail($s, 'u@two.example', 1), 1, 'one for two.example (group dialup)');
is(queue_mail($s, 'u@other.example', 1), 1, 'one for other.example, never released here');

# etrn - one raw ETRN on a greeted session: the reply text
sub etrn {
	my ($arg) = @_;
	my ($c, $code) = smtp_connect($s);
	return "no greeting" unless ($code // '') eq '220';
	smtp_xact($c, 'EHLO client.test');
	my (undef, $text) = smtp_xact($c, "ETRN $arg");
	smtp_xact($c, 'QUIT');
	close $c;
	return $text // '';
}

# --- fetchmail sends the service's literal example ---
my (undef, $out) = fetchmail_etrn($s, '#site.example');
like($out, qr/ETRN #site\.example/, 'fetchmail sent ETRN #site.example')
    or diag($out);
like($out, qr/25[0-3] 2\.0\.0 OK, (?:2 pending messages for node )?#site\.example|pending messages for node #site\.example started/,
    'ETRN #site.example: started, as for the domain') or diag($out);
ok(wait_for(sub { sink_files($sinkdir) >= 2 }, 30), 'the sink got both messages of site.example');
ok($s->wait_log(qr/trigger: domain=#site\.example, source=etrn, .*result=ok, pending=2, domains=1/),
    'trigger line: #site.example released one domain with 2 pending');

# --- a real group still means the group ---
like(etrn('#dialup'), qr/^253 2\.0\.0 OK, 2 pending messages for node #dialup started/,
    'ETRN #dialup: the group (two domains, two messages)');
ok(wait_for(sub { sink_files($sinkdir) >= 4 }, 30), 'the sink got the group\'s two messages');
ok($s->wait_log(qr/trigger: domain=#dialup, source=etrn, .*domains=2/),
    'trigger line: #dialup released two domains');

# --- neither group nor domain ---
like(etrn('#nosuch.example'), qr/^459 4\.7\.1 <#nosuch\.example>: not a domain queued here/,
    'ETRN #nosuch.example: 459, not a domain queued here');
like(etrn('#nogroup'), qr/^459 4\.7\.1 /, 'ETRN #nogroup: 459');

# other.example was never named: it is still queued (its ETRN never came;
# every release above was logged and done before this count).
is(scalar(sink_files($sinkdir)), 4, 'the sink has exactly the four released messages');
is(scalar(grep { has_domain($_, 'other.example') } $s->queue_list), 1,
    'other.example\'s message still queued');

sink_down($sink);
$s->stop;
done_testing;
