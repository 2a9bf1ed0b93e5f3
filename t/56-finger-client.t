# 56-finger-client: Debian's finger client against fingerd on port 79.
# The client cannot take a port, so this runs only as root (to bind 79).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use SluiceTest qw(tool run_cmd wait_for);
use FingerProbe qw(finger_port_up);

plan skip_all => 'finger on port 79 needs root to bind the port (run the tests as root)'
    if $> != 0;
my $busy = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 79,
    Proto => 'tcp', Timeout => 2);
plan skip_all => 'port 79 is already in use on this machine' if $busy;

my $s = SluiceTest->new(conf => { finger_listen => '127.0.0.1:79' },
    domains => ['site.example mode=hold route=[127.0.0.1]:9 finger=yes probe=no']);
$s->start;
# fingerd gives qmgr 3 s an answer; under ASan on a loaded machine qmgr's
# start (index recovery, reconcile) took longer and the first finger said
# "unavailable". Ask only once qmgr has answered a CLI request.
ok(wait_for(sub { ($s->cli('queue', 'count'))[0] == 0 }, 60), 'qmgr answers');
ok(finger_port_up(79), 'fingerd listens on port 79')
    or BAIL_OUT("fingerd did not start:\n" . $s->log_text);
my $finger = tool('finger');

my ($rc, $out, $err) = run_cmd([$finger, 'site.example@127.0.0.1'], timeout => 30);
is($rc, 0, 'finger site.example@127.0.0.1 exits 0') or diag($err);
like($out, qr/Domain: site\.example\s*\nMessages waiting: 0\s*\nOldest: -\s*\nStatus: no mail waiting/,
    'finger shows the status of site.example') or diag($out);
ok($s->wait_log(qr/trigger: domain=site\.example, source=finger, client=127\.0\.0\.1, user=-, result=none/),
    'the finger client\'s query went through qmgr\'s trigger');

($rc, $out, $err) = run_cmd([$finger, '@127.0.0.1'], timeout => 30);
is($rc, 0, 'finger @127.0.0.1 exits 0') or diag($err);
like($out, qr/finger service/, 'finger @127.0.0.1: the banner');
unlike($out, qr/site\.example/, 'which lists no domain');

($rc, $out, $err) = run_cmd([$finger, 'a@b@127.0.0.1'], timeout => 30);
# The refusal is an answer: the client got it and exits 0.
is($rc, 0, 'finger a@b@127.0.0.1 exits 0') or diag($err);
like($out, qr/Finger forwarding service denied\./, 'finger a@b@127.0.0.1: forwarding denied');

$s->stop;
done_testing();
