# 54-stored-time: a queue file whose stored arrival time is absurd
# (INT64_MAX, a corrupt or hostile record that still parses) must not
# overflow anyone's time arithmetic: qmgr indexes it, fingerd answers
# about its domain, and the CLI lists and sums it, all with sane output
# and (under the sanitizer build) no UBSan "signed integer overflow".
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use SluiceTest qw(free_port wait_for slurp spew);
use FingerProbe qw(finger_query finger_port_up);

my $fport = free_port();
my $s = SluiceTest->new(
    conf => { finger_listen => "127.0.0.1:$fport" },
    domains => ['site.example mode=hold route=[127.0.0.1]:@DEAD@ finger=yes probe=no']);
$s->start;

# A held message, queued the ordinary way.
my ($rc, $out) = $s->swaks('--to', 'user@site.example', '--from', 'sender@sluice.test');
is($rc, 0, 'a message for site.example is queued') or diag($out);
my @ids;
ok(wait_for(sub { @ids = $s->queue_files; @ids == 1 }, 20), 'one queue file');
$s->stop;

# Its arrival record (type 2: u8 type | u32 length | i64) set to
# INT64_MAX, and the index dropped so that start-up reads the file again.
my $path = $s->queue_file_path($ids[0]);
my $b = slurp($path);
my ($qf, $why) = SluiceTest::parse_queue_file($b);
ok($qf, 'the queue file parses') or diag($why);
my $at = 16;
my $patched = 0;
for my $r (@{ $qf->{records} }) {
	if ($r->[0] == 2 && length($r->[1]) == 8) {
		substr($b, $at + 5, 8) = pack('N N', 0x7fffffff, 0xffffffff);
		$patched = 1;
	}
	$at += 5 + length $r->[1];
}
ok($patched, 'the arrival record is set to INT64_MAX');
spew($path, $b);
system('rm', '-rf', $s->qdir . '/index');

$s->start;
ok(finger_port_up($fport), 'fingerd listens');
ok(wait_for(sub { scalar($s->queue_list_ids) == 1 }, 20),
    'qmgr indexes the message with the absurd time')
    or diag($s->log_text);

# finger: a reply in the usual shape; the age of a message from the
# future is no age at all.
my $got = finger_query($fport, "/W site.example\r\n");
like($got, qr/\ADomain: site\.example\r\nMessages waiting: 1\r\nOldest: 0s ago\r\n/,
    'finger answers with the message counted and a zero age') or diag($got);
like($got, qr/\r\nFirst bounce: (?:-|in \d+[dhms].*)\r\n\z/,
    'and a sane first-bounce line') or diag($got);

# The CLI: list and summary print without overflowing.
my $err;
for my $cmd (['queue', 'list'], ['queue', 'list', '--json'], ['queue', 'summary']) {
	($rc, $out, $err) = $s->cli(@$cmd);
	is($rc, 0, "sluice @$cmd") or diag($out, $err);
	unlike($err, qr/runtime error/, "sluice @$cmd: no UBSan report") or diag($err);
	like($out, qr/site\.example|$ids[0]/, "sluice @$cmd lists the message");
}

$s->stop;
my $log = $s->log_text;
unlike($log, qr/runtime error|signed integer overflow/,
    'no UBSan report from any program') or diag($log);
unlike($log, qr/\b(?:panic|fatal):/, 'no panic or fatal line');
done_testing();
