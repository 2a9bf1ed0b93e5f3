# 17-smtpd-commit: smtpd makes a message durable in a worker thread
# (smtpd_commit_threads), and still answers 250 only after the file and
# its directory entry are on disk. An LD_PRELOAD shim (t/lib/fsync_shim.c)
# makes the queue's fsyncs fail, block or wait for each other on cue:
# a failed fsync of the file or of msg/XX gets 451 and leaves nothing in
# msg/ or incoming/; four sessions' commits are in flight at once; each
# message costs one fsync of its file and one of its directory; commands
# pipelined after the dot are answered after the 250; a client that
# leaves mid-commit still has its message committed and announced to
# qmgr; SIGTERM mid-commit finishes the commit before smtpd exits.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Socket qw(SOL_SOCKET SO_LINGER);
use Test::More;

use SluiceTest qw(wait_for slurp spew smtp_connect smtp_reply smtp_send
    smtp_xact);

my $shim = "$ENV{SLUICE_BUILDDIR}/t/lib/fsync_shim.so";
plan skip_all => "$shim is not built" unless -f $shim;

my $s = SluiceTest->new(conf => { smtpd_commit_threads => 4 });
my $cue = $s->dir . '/cue';
mkdir $cue or die "mkdir $cue: $!\n";
chmod 0777, $cue;	# smtpd, as the sluice user, writes its notes here
# The shim is built without sanitizers; ASan must not insist on coming first.
my %env = (LD_PRELOAD => $shim, SLUICE_FSYNC_SHIM => $cue);
$env{ASAN_OPTIONS} = "$ENV{ASAN_OPTIONS}:verify_asan_link_order=0"
    if $ENV{ASAN_OPTIONS};
$s->start(env => \%env);

sub number { my $t = slurp("$cue/$_[0]") // 0; $t =~ /(\d+)/ ? $1 : 0 }
sub set_cue { spew("$cue/$_[0]", $_[1] // '') }
sub clear_cue { unlink "$cue/$_" for @_ }
sub incoming { grep { !m{/\.\.?$} } glob($s->qdir . '/incoming/{*,.*}') }
sub swaks_msg {
	my ($subject) = @_;
	return $s->swaks('--to', 'user@site.example', '--from',
	    'sender@client.sluice.test', '--header', "Subject: $subject");
}

# One message as it should go: two fsyncs, file then directory.
my ($rc, $out) = swaks_msg('first');
is($rc, 0, 'a message is accepted through the shim') or diag($out);
my ($id) = $out =~ /250 2\.0\.0 Ok: queued as ([0-9A-F]{20})/;
ok($id, 'with its queue ID');
is(number('count-file'), 1, 'one fsync of the queue file');
is(number('count-dir'), 1, 'one fsync of its msg/XX directory');
my @base = $s->queue_files;
is(scalar @base, 1, 'one file in msg/');

# A failed fsync of the file: 451, nothing left behind.
set_cue('fail-file');
($rc, $out) = swaks_msg('file fsync fails');
isnt($rc, 0, 'swaks fails when the file fsync fails');
like($out, qr/<\*\* 451 4\.3\.0 /, 'the end of data gets 451 4.3.0');
unlike($out, qr/queued as/, 'and no 250');
ok($s->wait_log(qr/smtpd\[\d+\]: warning: [0-9A-F]{20}: commit queue file: Input\/output error/),
    'smtpd logs the failed commit with the errno');
is_deeply([$s->queue_files], \@base, 'msg/ holds only the first message');
is_deeply([incoming()], [], 'incoming/ is empty');
clear_cue('fail-file');

# A failed fsync of msg/XX after the rename: 451, and the rename undone.
set_cue('fail-dir');
($rc, $out) = swaks_msg('directory fsync fails');
isnt($rc, 0, 'swaks fails when the directory fsync fails');
like($out, qr/<\*\* 451 4\.3\.0 /, 'the end of data gets 451 4.3.0');
is_deeply([$s->queue_files], \@base, 'the renamed file was taken back out of msg/');
is_deeply([incoming()], [], 'incoming/ is empty');
clear_cue('fail-dir');

# Four sessions: each file fsync waits until four are in flight at once.
# Commits one after another on the event loop would never get there
# (the shim then gives up after 60 s and max-inflight says 1).
set_cue('hold', "4\n");
my $files0 = number('count-file');
($rc, $out) = $s->smtp_source('-s', 4, '-m', 4, '-l', 4096,
    '-f', 'sender@client.sluice.test', '-t', 'user@site.example');
is($rc, 0, 'smtp-source -s 4 -m 4 exits 0') or diag($out);
is(number('max-inflight'), 4, 'four commits were in flight at once');
is(number('count-file') - $files0, 4, 'one file fsync per message');
is(scalar(my @f = $s->queue_files), 5, 'all four are in msg/');
clear_cue('hold');

# swaks with PIPELINING (MAIL, RCPT and DATA in one group): served as
# before, the 250 after the commit, then its QUIT.
($rc, $out) = $s->swaks('--pipeline', '--to', 'user@site.example',
    '--from', 'sender@client.sluice.test', '--header', 'Subject: pipelined');
is($rc, 0, 'swaks --pipeline is served') or diag($out);
like($out, qr/<-  250 2\.0\.0 Ok: queued as [0-9A-F]{20}.*<-  221 /s,
    'its message is queued, then QUIT answered');
is(scalar(my @p = $s->queue_files), 6, 'six files in msg/');

# Pipelining after the dot: the second transaction and QUIT come in the
# same write as the first message's end, and the client half-closes at
# once. They wait for the commit; then every reply comes, in order.
my ($c, $code) = smtp_connect($s);
is($code, 220, 'greeting');
($code) = smtp_xact($c, 'EHLO client.sluice.test');
is($code, 250, 'EHLO');
my $xact = "MAIL FROM:<p\@client.sluice.test>\r\nRCPT TO:<user\@site.example>\r\nDATA\r\n";
smtp_send($c, $xact);
my @got = map { (smtp_reply($c))[0] // 'none' } 1 .. 3;
is("@got", '250 250 354', 'MAIL, RCPT, DATA pipelined');
set_cue('block');
smtp_send($c, "Subject: one\r\n\r\nfirst\r\n.\r\n${xact}Subject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n");
shutdown($c, 1);
ok(wait_for(sub { -e "$cue/blocked" }, 30), 'the first commit is in flight (blocked in fsync)');
clear_cue('block', 'blocked');
my @replies = map { [smtp_reply($c)] } 1 .. 6;
like($replies[0][1] // '', qr/^250 2\.0\.0 Ok: queued as [0-9A-F]{20}\r\n\z/,
    'the first message gets its 250 once committed');
is(join(' ', map { $_->[0] // 'none' } @replies[1 .. 3]), '250 250 354',
    'then the pipelined MAIL, RCPT and DATA are answered');
like($replies[4][1] // '', qr/^250 2\.0\.0 Ok: queued as [0-9A-F]{20}\r\n\z/,
    'the second message gets its 250');
is($replies[5][0], 221, 'and QUIT its 221, after the half-close');
close $c;
is(scalar(@f = $s->queue_files), 8, 'both messages are in msg/');

# commit_in_flight SUBJECT - a session whose message waits in a blocked
# fsync (the caller has set the "block" cue); its socket
sub commit_in_flight {
	my ($subject) = @_;
	my ($sock) = smtp_connect($s);
	smtp_xact($sock, 'EHLO client.sluice.test');
	smtp_send($sock, $xact);
	smtp_reply($sock) for 1 .. 3;
	smtp_send($sock, "Subject: $subject\r\n\r\n$subject\r\n.\r\n");
	ok(wait_for(sub { -e "$cue/blocked" }, 30), "$subject: a commit is in flight");
	return $sock;
}

# A client that leaves while its commit is in flight gets no reply, but
# the message is committed and announced to qmgr all the same.
set_cue('block');
my $msgids = $s->log_count(qr/smtpd\[\d+\]: [0-9A-F]{20}: message-id=/);
$c = commit_in_flight('gone');
# A reset, not a FIN: smtpd sees it at once, without reading its input.
setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
close $c;
ok($s->wait_log(qr/smtpd\[\d+\]: lost connection after END-OF-MESSAGE from /),
    'smtpd sees the client go');
clear_cue('block', 'blocked');
ok($s->wait_log(qr/smtpd\[\d+\]: [0-9A-F]{20}: message-id=/, 30, $msgids + 1),
    'the commit ends: its message-id= line is logged');
my ($gone) = map { /([0-9A-F]{20}): message-id=/ } ($s->log_lines(qr/smtpd\[\d+\]: [0-9A-F]{20}: message-id=/))[-1];
ok($gone && -f $s->queue_file_path($gone), 'the message is in msg/');
ok($s->wait_log(qr/qmgr\[\d+\]: $gone: from=</), 'qmgr was told of it');
is($s->log_count(qr/$gone: notify qmgr/), 0, 'without a failed notice');
ok(wait_for(sub { grep { $_ eq $gone } $s->queue_list_ids }, 30),
    'the queue lists it');

# SIGTERM while a commit is in flight: smtpd finishes it and answers the
# client before it drops the session (a client without its 250 sends the
# message again), then exits.
set_cue('block');
$c = commit_in_flight('term');
$msgids = $s->log_count(qr/smtpd\[\d+\]: [0-9A-F]{20}: message-id=/);
my $disc = $s->log_count(qr/smtpd\[\d+\]: disconnect from /);
my $smtpd = $s->child_pid('smtpd') or die "no smtpd child of master\n";
kill 'TERM', $smtpd;
ok(-d "/proc/$smtpd", 'smtpd waits for the commit in flight');
clear_cue('block', 'blocked');
my ($code, $text) = smtp_reply($c);
is($code, '250', 'the client gets its 250 after the SIGTERM') or diag($text);
ok($s->wait_log(qr/smtpd\[\d+\]: disconnect from /, 30, $disc + 1),
    'then smtpd drops the session');
my @order = grep { /smtpd\[\d+\]: (?:[0-9A-F]{20}: message-id=|disconnect from )/ }
    split /\n/, $s->log_text;
like($order[-2] // '', qr/message-id=/, 'the commit ended before the session');
ok(wait_for(sub { !-d "/proc/$smtpd" || (slurp("/proc/$smtpd/stat") // '') =~ /^\d+ \(.*\) Z/ }, 30),
    'and exits');
my ($term) = map { /([0-9A-F]{20}): message-id=/ } ($s->log_lines(qr/smtpd\[\d+\]: [0-9A-F]{20}: message-id=/))[-1];
ok($term && -f $s->queue_file_path($term), 'the message is in msg/');
my $named = $term // 'none';
like($text // '', qr/queued as \Q$named\E/, 'the 250 names that message');
close $c;
is_deeply([incoming()], [], 'incoming/ is empty');
is($s->log_count(qr/AddressSanitizer|runtime error|panic:|fatal:/), 0,
    'no sanitizer report, panic or fatal line');
$s->stop;
done_testing;
