# 95-operator-bounce: `sluice queue bounce ID` returns a held message's
# pending recipients to the sender: one notice (committed before the
# journal says "bounced", lib/mail/qctl_index.c qctl_bounce), a bounced
# log line per recipient, and the message leaves the queue.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Release qw(held_site swaks_mail log_count wait_log finish);

my $t0 = time;
my ($s, $sink, $oracle) = held_site('lease=10m');

my ($qid) = swaks_mail($s, $oracle, to => ['a@site.example', 'b@site.example']);
ok($qid, 'a message to two held recipients queued') or BAIL_OUT('nothing queued');
is(join(' ', $s->queue_list_ids('--domain', 'site.example')), $qid, 'queue list shows it');

my ($rc, $out, $err) = $s->cli('queue', 'bounce', $qid);
is($rc, 0, 'queue bounce exits 0') or diag("$out$err");
ok(wait_log($s, qr/\Q$qid\E: removed/, 30), 'the message leaves the queue');
is(log_count($s, qr/\Q$qid\E: to=<[ab]\@site\.example>, relay=none, delay=\d+, dsn=5\.0\.0, status=bounced \(returned to the sender by the postmaster\)/),
    2, 'one bounced line per recipient');
is(log_count($s, qr/\Q$qid\E: returned to the sender by uid=\d+/), 1, 'the operator is logged');
is(log_count($s, qr/\Q$qid\E: sender non-delivery notification: [0-9A-F]{20}/), 1,
    'one notice');
is(scalar(grep { $_ eq $qid } $s->queue_list_ids('--domain', 'site.example')), 0,
    'queue list no longer shows it');
is($sink->count, 0, 'nothing went to the held site');
finish($s, $t0, $sink, $oracle);
done_testing();
