# 41-odmr-fetchmail: fetchmail in ODMR mode against etrn (RFC 2645).
#
# fetchmail logs in with CRAM-MD5, sends ATRN for site.example, and on
# the 250 turns into a relay between our server and its --smtphost: a
# sink of our own that records every byte. Every queued message of
# site.example must arrive byte-identical to the content in its queue
# file, the queue must then be empty for site.example and untouched for
# the other domains, and mail that arrives during the session goes out
# on it too.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep time);

use SluiceTest qw(tool free_port run_cmd run_bg slurp spew wait_for);
use Odmr qw(odmr_customers fetchmail_odmr queue_msg sink_start sink_stop sink_messages wait_exit);

my $fetchmail = tool('fetchmail');
my $o = odmr_customers();
my $s = $o->{s};
$s->start;

# Mail for three domains; site.example's has a leading dot (dot-stuffing
# both ways), a long line and 8-bit text, to be compared byte for byte.
my @site = (
	"Subject: one\r\nMessage-ID: <1\@origin.test>\r\n\r\nfirst\r\n",
	"Subject: two\r\nMessage-ID: <2\@origin.test>\r\n\r\n.leading dot\r\n"
	    . ".\r\n..two dots\r\n" . ('x' x 900) . "\r\n",
	"Subject: three\r\nMessage-ID: <3\@origin.test>\r\n\r\n\xc3\xa9t\xc3\xa9\r\n",
);
my @site_ids = map { queue_msg($s, "user$_\@site.example", $site[$_]) } 0 .. $#site;
is(scalar(grep { defined } @site_ids), 3, 'three messages queued for site.example');
my $other_id = queue_msg($s, 'someone@other.example', "Subject: other\r\n\r\nnot yours\r\n");
my $more_id = queue_msg($s, 'someone@more.example', "Subject: more\r\n\r\nnot asked for\r\n");
ok($other_id && $more_id, 'messages queued for other.example and more.example');
ok(wait_for(sub { scalar($s->queue_list_ids) == 5 }, 20), 'qmgr indexed all five');

# The oracle: the content as stored is what must arrive.
my %want;
for my $id (@site_ids) {
	my ($qf, $why) = $s->read_queue_file($id);
	ok($qf, "queue file $id parses") or diag($why);
	$want{$id} = $qf->{content} if $qf;
}
my %untouched = map { $_ => slurp($s->queue_file_path($_)) } $other_id, $more_id;

my $dir = tempdir('odmr-fetchmail-XXXXXX', TMPDIR => 1, CLEANUP => 1);
# The first message's 250 waits, so that mail arriving meanwhile must
# go out on the same session (qmgr sends more jobs before it says idle).
my $sink = sink_start("$dir/sink", delay_first => 3);

my $pid = fetchmail_odmr($dir, '127.0.0.1', $o->{port}, $sink->{port}, 'site.example');
ok(wait_for(sub { -e "$dir/sink/data-started" }, 30),
    'the turned connection reached the sink');
my $late = "Subject: late\r\nMessage-ID: <late\@origin.test>\r\n\r\narrived during the session\r\n";
my $late_id = queue_msg($s, 'late@site.example', $late);
ok($late_id, 'a message queued while the session runs');
my ($qf) = $s->read_queue_file($late_id);
$want{$late_id} = $qf->{content} if $qf;

my $st = wait_exit($pid, 60);
my $out = slurp("$dir/fetchmail.out") // '';
is($st, 0, 'fetchmail exits 0') or diag($out);
like($out, qr/AUTH CRAM-MD5/, 'fetchmail authenticated with CRAM-MD5');
like($out, qr/ATRN site\.example/, 'fetchmail sent ATRN site.example');
like($out, qr/250 2\.0\.0 OK now reversing the connection/, 'the server turned the connection');

my @got = sink_messages($sink);
is(scalar @got, 4, 'the sink received four messages') or diag($out);
is(slurp("$sink->{dir}/connections"), 1, 'all on one connection');
my %got = map { $_ => 1 } @got;
for my $id (sort keys %want) {
	ok($got{$want{$id}}, "message $id arrived byte-identical to its queue file");
}
my @env = map { slurp("$sink->{dir}/$_.env") } 1 .. scalar @got;
ok((grep { /RCPT TO:<user1\@site\.example>/ } @env), 'envelope recipient kept');
ok(!(grep { /other\.example|more\.example/ } @env), 'nothing of the other domains was sent');

# The queue: empty for site.example, the others untouched.
ok(wait_for(sub { !grep { my $id = $_; grep { $_ eq $id } @site_ids, $late_id }
    $s->queue_files }, 20), 'site.example messages removed from the queue');
is_deeply([sort $s->queue_list_ids], [sort $other_id, $more_id],
    'the index holds only the other domains');
for my $id (sort keys %untouched) {
	is(slurp($s->queue_file_path($id)), $untouched{$id}, "queue file $id untouched");
}

# qmgr closes the gate when etrn's bind ends, after fetchmail's QUIT.
ok($s->wait_log(qr/gate: domain=site\.example, state=held, reason=ATRN session ended/),
    'the gate closed with the session');
my $log = $s->log_text;
is(scalar(() = $log =~ /etrn\[\d+\]: [0-9A-F]{20}: to=<[^>]+\@site\.example>, relay=\S+\[127\.0\.0\.1\]:\d+ \(ODMR\), delay=[\d.]+, delays=[\d.]+\/[\d.]+\/[\d.]+\/[\d.]+, dsn=2\.0\.0, status=sent \(250 /g),
    4, 'one Postfix-shaped log line per recipient') or diag($log);
like($log, qr/sasl_method=CRAM-MD5, sasl_username=demo/, 'the login is logged');
like($log, qr/gate: domain=site\.example, state=open.*reason=atrn/, 'qmgr logged the gate opening for atrn');

sink_stop($sink);
$s->stop;
done_testing();
