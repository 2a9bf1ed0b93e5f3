# 88-start-reconcile: qmgr answers while it reconciles a large queue at
# start. The index is gone (as after damage), 60 messages for a held
# domain wait in msg/, and the reconcile is slowed for the test
# (SLUICE_TEST_RECONCILE_SLOW_MS: one message a slice) so that it is
# watched under way: ETRN is answered at once, "started" and never "no
# messages waiting"; the CLI answers with a note that the index is
# still being reconciled; status shows how far. Once the reconcile ends
# (logged with its count), every message has reached the site through
# the gate the ETRN opened.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Release qw(finish);
use Sink;
use SluiceTest qw(run_cmd wait_for smtp_connect smtp_xact);

my $t0 = time;
my $BUILDDIR = $ENV{SLUICE_BUILDDIR} // 'build';
my $N = 60;
my $s = SluiceTest->new(domains => ['placeholder']);
my $sink = Sink->start(dir => $s->dir . '/sink');
$s->set_domains('site.example mode=hold route=[127.0.0.1]:' . $sink->port
    . ' probe=no lease=600s');

my ($rc, $out, $err) = run_cmd(["$BUILDDIR/t/queue_inject", '-n', $N, $s->qdir,
    'sender@origin.test', 'u@site.example'],
    stdin => "Subject: waiting\r\n\r\none of many\r\n", timeout => 60);
my @ids = sort grep { /^[0-9A-F]{20}$/ } split /\n/, $out;
is(scalar(@ids), $N, "$N messages for site.example committed to msg/") or diag($err);
if ($> == 0) {
	my @pw = getpwnam('sluice');
	chown $pw[2], $pw[3], glob($s->qdir . '/msg/*/*') if @pw;
}
system('rm', '-rf', $s->qdir . '/index');

# 6 s of reconcile (12 s in a sanitizer build): room for the ETRN and two CLI calls.
$s->start(env => { SLUICE_TEST_RECONCILE_SLOW_MS => $SluiceTest::SLOW > 1 ? 200 : 100 });
my $qdir = $s->qdir;
ok(wait_for(sub { $s->log_text =~ /qmgr\[\d+\]: reconcile the index with \Q$qdir\E\/msg: started/ }, 30),
    'qmgr logs the start of its reconcile');
ok(wait_for(sub { $s->qmgr_listening }, 30), 'qmgr listens while it reconciles');

# ETRN: answered at once, with the gate opened.
my ($c) = smtp_connect($s);
smtp_xact($c, 'EHLO site.example');
my ($code, $text) = smtp_xact($c, 'ETRN site.example');
ok(defined $code, 'ETRN is answered during the reconcile') or BAIL_OUT('no answer');
like("$code $text", qr/^25[03] /, 'ETRN: 250 started or 253 with a count, never a refusal')
    or diag("$code $text");
isnt($code, 251, 'ETRN does not claim that nothing waits');
smtp_xact($c, 'QUIT');
close $c;
like($s->log_text, qr/trigger: domain=site\.example, source=etrn, .*result=ok, .*reason=queue being reconciled/,
    'qmgr answered it while reconciling (its trigger line says so)');

# The CLI: an answer, and a note that it may be incomplete.
($rc, $out, $err) = $s->cli('queue', 'list');
is($rc, 0, 'queue list exits 0 during the reconcile') or diag($err);
like($err, qr/note: qmgr is still reconciling its index with \Q$qdir\E\/msg \(\d+% done\)/,
    'queue list notes that the reconcile is under way');
($rc, $out, $err) = $s->cli('status');
is($rc, 0, 'status exits 0 during the reconcile') or diag($err);
like($out, qr/qmgr: .*reconciling=\d+%/, 'status shows how far the reconcile is');

# The end: logged with its count; the site got every message.
ok(wait_for(sub { $s->log_text =~ /reconciled the index with \Q$qdir\E\/msg: $N messages in [\d.]+ s, $N changes/ }, 120),
    "qmgr logs the end of the reconcile: $N messages, $N changes");
ok(wait_for(sub { $sink->count >= $N }, 60), "the site received all $N through the gate ETRN opened")
    or diag('sink has ' . $sink->count);
ok(wait_for(sub { !$s->queue_files }, 30), 'the queue is empty afterwards');
($rc, $out, $err) = $s->cli('queue', 'list');
unlike($err, qr/note:/, 'no note once the reconcile is over');
finish($s, $t0, $sink);
done_testing();
