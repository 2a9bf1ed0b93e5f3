# 89-release-all: one release delivers every recipient. One message to
# 1,000 recipients of a held domain (a delivery job carries at most 400),
# one ETRN: the customer's server receives all 1,000, in jobs of at most
# 400, with no second trigger.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Release qw(held_site swaks_mail log_count wait_log finish);
use Sink;
use SluiceTest qw(wait_for smtp_connect smtp_xact);

my $t0 = time;
my ($s, $sink, $oracle) = held_site('lease=10m etrn_from=127.0.0.0/8');

my @to = map { "u$_\@site.example" } 1 .. 1000;
my ($qid) = swaks_mail($s, $oracle, to => \@to);
ok($qid, 'a message to 1,000 recipients queued') or BAIL_OUT('nothing queued');
is(join(' ', $s->queue_list_ids('--domain', 'site.example')), $qid, 'queue list shows it');

my ($c) = smtp_connect($s->port);
my ($code) = smtp_xact($c, 'EHLO client.sluice.test');
is($code, 250, 'EHLO');
($code, my $text) = smtp_xact($c, 'ETRN site.example');
like($code, qr/^25[0-3]$/, "ETRN accepted ($code $text)");
smtp_xact($c, 'QUIT');
close $c;

ok(wait_for(sub { my $n = 0; $n += @{ $_->{rcpt} } for $sink->messages; $n >= 1000 }, 120),
    'the sink received 1,000 recipients after one ETRN');
my @got = $sink->messages;
my %rcpt;
$rcpt{lc $_}++ for map { @{ $_->{rcpt} } } @got;
is(scalar(keys %rcpt), 1000, 'every recipient once');
is(scalar(grep { $_ != 1 } values %rcpt), 0, 'no recipient twice');
ok(!grep({ @{ $_->{rcpt} } > 400 } @got), 'no transaction over 400 recipients ('
    . join(',', map { scalar @{ $_->{rcpt} } } @got) . ')');
is(log_count($s, qr/trigger: domain=site\.example/), 1, 'one trigger');
ok(wait_for(sub { !$s->queue_files }, 30), 'the queue is empty afterwards');
finish($s, $t0, $sink, $oracle);
done_testing();
