# 20-smtp-source: Postfix's smtp-source sends 2000 messages over 10
# parallel sessions; exactly 2000 are queued, each byte-identical to
# what smtp-source sent, and the index lists all 2000.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use SluiceTest qw(tool wait_for);

my $N = 2000;
my $msg = "$ENV{SLUICE_SRCDIR}/t/data/smtp-source.msg";
my @args = ('-F', $msg, '-M', 'client.sluice.test',
    '-f', 'source@client.sluice.test', '-t', 'user@site.example');

tool('smtp-source');	# dies naming the build.sh step when missing
my $expected = SluiceTest::smtp_source_expected($msg, @args[2 .. $#args]);
ok(length $expected > 3000, 'learnt what smtp-source sends ('
    . length($expected) . ' bytes)');

my $s = SluiceTest->new(conf => { smtpd_client_connection_limit => 50 });
$s->start;

my $t0 = time;
my ($rc, $out, $err) = $s->smtp_source('-s', 10, '-m', $N, @args);
my $secs = time - $t0;
is($rc, 0, "smtp-source -s 10 -m $N exits 0") or diag("$out$err");
diag(sprintf '%d messages in %.1fs: %.0f messages/s', $N, $secs, $N / ($secs || 1));

my @files = $s->queue_files;
is(scalar @files, $N, "exactly $N files in msg/");

# Every copy intact: the stored content is our Received: header followed
# by exactly the bytes smtp-source sent.
my ($bad, $shown) = (0, 0);
for my $id (@files) {
	my ($qf, $why) = $s->read_queue_file($id);
	my ($rcv, $rest) = $qf ? SluiceTest::strip_received($qf->{content}) : ();
	my $problem = !$qf ? "invalid file: $why"
	    : !$rcv ? 'no Received: header first'
	    : $rest ne $expected ? 'content differs from what smtp-source sent'
	    : $qf->{envelope} !~ /user\@site\.example/ ? 'recipient missing from envelope'
	    : undef;
	next unless $problem;
	$bad++;
	diag("$id: $problem") if $shown++ < 5;
}
is($bad, 0, "all $N stored messages are byte-identical to what was sent");

# The index is written by qmgr after smtpd's notification: give it time.
my $listed = wait_for(sub { my @l = $s->queue_list_ids; @l == $N ? \@l : 0 }, 60);
my @ids = $s->queue_list_ids;
is(scalar @ids, $N, "queue list --json shows $N messages");
is_deeply(\@ids, \@files, 'index IDs are exactly the msg/ files');
my @e = $s->queue_list('--domain', 'site.example');
is(scalar @e, $N, "queue list --domain site.example: $N entries");

my ($src, $sum) = $s->cli('queue', 'summary', '--json');
is($src, 0, 'queue summary --json exits 0');
like($sum, qr/"site\.example"/, 'summary names site.example');
like($sum, qr/\b$N\b/, "summary counts $N messages");

is_deeply([$s->dir_entries('corrupt')], [], 'corrupt/ is empty');
is_deeply([$s->dir_entries('incoming')], [], 'incoming/ is empty');
$s->stop;

done_testing;
