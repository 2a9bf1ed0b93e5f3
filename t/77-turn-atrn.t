# 77-turn-atrn: `sluice-turn atrn`, the site's ODMR client, against a
# real sluice: it logs in, turns the connection around and hands every
# held message to the site's MTA; with the MTA down it releases nothing,
# retries by its --retry series and exits 75 with the mail still held.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use SluiceTest qw(free_port run_cmd spew wait_for);
use Odmr qw(odmr_instance queue_msg sink_start sink_stop sink_messages);

my $BUILDDIR = $ENV{SLUICE_BUILDDIR} || die "SLUICE_BUILDDIR is not set\n";
my $turn = "$BUILDDIR/turn/sluice-turn";
my $dead = free_port();
my $o = odmr_instance(users => { demo => 'demo-secret' },
    conf => { odmr_atrn_interval => '0s' },
    domains => ["site.example mode=hold route=[127.0.0.1]:$dead probe=no owner=demo"]);
my $s = $o->{s};
$s->start;
my $pwfile = $s->dir . '/odmr-password';
spew($pwfile, "demo-secret\n");
chmod 0600, $pwfile;

my @content = map { "Subject: held $_\r\n\r\nbody $_\r\n" } 1 .. 3;
my @ids = map { queue_msg($s, "user$_\@site.example", $content[$_ - 1]) } 1 .. 3;
is(scalar(grep { defined } @ids), 3, 'three messages held for site.example');

# atrn MTA_PORT, ARGS - sluice-turn atrn against sluice's ODMR port
sub atrn {
	my ($mta_port, @args) = @_;
	return run_cmd([$turn, 'atrn', '--server', '127.0.0.1', '--odmr-port', $o->{port},
	    '--tls', 'none', '--auth-user', 'demo', '--auth-password-file', $pwfile,
	    '--mta', '127.0.0.1', '--mta-port', $mta_port, '--io-timeout', '20s',
	    '--helo', 'site.test', @args, 'site.example'], timeout => 120);
}

# The MTA is down: nothing is released, each round is reported, exit 75.
my $marks = $s->dir . '/link';
my ($rc, $out, $err) = atrn(free_port(), '--retry', '1s',
    '--link-up', "echo up >> $marks", '--link-down', "echo down >> $marks");
is($rc, 75, 'the MTA down: exit 75 (EX_TEMPFAIL)') or diag($err);
like($err, qr/round 1 of 2: retrying in 1s/, 'a second round after the pause');
is(() = $err =~ /ATRN site\.example: messages=0, .*status=failed/g, 2,
    'both rounds reported as failed');
is(SluiceTest::slurp($marks), "up\ndown\n", 'the link came up once and went down once');
is(scalar($s->queue_list_ids), 3, 'the mail is still held at sluice');

# The MTA is up: every message arrives and leaves sluice's queue.
my $sink = sink_start($s->dir . '/sink');
($rc, $out, $err) = atrn($sink->{port});
is($rc, 0, 'atrn exits 0') or diag($err);
my @got = sink_messages($sink);
is(scalar @got, 3, 'the site\'s MTA has the three messages');
for my $i (1 .. 3) {
	ok((grep { index($_, "\r\n\r\nbody $i\r\n") >= 0 } @got) == 1, "message $i arrived once");
}
like($err, qr/ATRN site\.example: messages=3, recipients=3, refused=0, deferred=0, status=done/,
    'the result line counts them');
is(() = $err =~ /status=sent/g, 3, 'one sent line per recipient');
ok(wait_for(sub { scalar($s->queue_list_ids) == 0 }, 20), 'sluice\'s queue is empty');
like($s->log_text, qr/sasl_method=CRAM-MD5/, 'it logged in with CRAM-MD5 (no TLS here)');

# Options that are missing are named.
($rc, $out, $err) = run_cmd([$turn, 'atrn', 'site.example']);
is($rc, 64, 'atrn without --server: EX_USAGE');
like($err, qr/atrn needs --server/, 'it says what is missing');

sink_stop($sink);
$s->stop;
done_testing;
