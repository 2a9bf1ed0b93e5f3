# 40-restart: the queue survives a restart; a lost index is rebuilt from
# msg/ at start; the CLI works with and without qmgr; reload keeps
# sessions and mail; `sluice start/status/stop` manage a daemon.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use SluiceTest qw(slurp smtp_connect smtp_xact smtp_send smtp_reply wait_for);

my $s = SluiceTest->new(domains => [
	'site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no',
	'other.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no',
]);
$s->start;

my @site = map { $s->served('user@site.example') } 1 .. 4;
my @other = map { $s->served("u$_\@other.example") } 1 .. 2;
is(scalar(grep { $_ } @site, @other), 6, 'six messages queued');
my @files = $s->queue_files;
is(scalar @files, 6, 'six files in msg/');
my %bytes = map { $_ => slurp($s->queue_file_path($_)) } @files;
wait_for(sub { scalar($s->queue_list_ids) == 6 }, 30);
is_deeply([$s->queue_list_ids], \@files, 'index lists the six');

# --- restart keeps the queue ---
$s->restart;
is_deeply([$s->queue_files], \@files, 'after restart: the same files');
is(scalar(grep { slurp($s->queue_file_path($_)) ne $bytes{$_} } @files), 0,
    'after restart: every file unchanged');
is_deeply([$s->queue_list_ids], \@files, 'after restart: the index lists them');

# --- the CLI without qmgr works on the index ---
$s->stop;
is_deeply([$s->queue_list_ids], \@files, 'queue list --json with sluice stopped');
my @o = $s->queue_list('--domain', 'other.example');
is_deeply([sort map { $_->{queue_id} } @o], [sort @other],
    'queue list --domain other.example with sluice stopped');
my ($rc, $out, $err) = $s->cli('status');
is($rc, 1, 'sluice status when stopped: exit 1') or diag("$out$err");

# --- a deleted index is rebuilt from msg/ at start ---
system('rm', '-rf', $s->qdir . '/index');
ok(!-e $s->qdir . '/index', 'index/ removed');
$s->start;
wait_for(sub { scalar($s->queue_list_ids) == 6 }, 60);
is_deeply([$s->queue_list_ids], \@files, 'index rebuilt from msg/ at start');
my @e = $s->queue_list;
is(scalar(grep { ($_->{sender} // '') eq 'probe@sluice.test' } @e), 6,
    'rebuilt entries carry the sender');

# --- reindex, delete ---
($rc, $out, $err) = $s->cli('queue', 'reindex');
is($rc, 0, 'queue reindex exits 0') or diag($err);
is_deeply([$s->queue_list_ids], \@files, 'after reindex: the same IDs');

($rc, $out, $err) = $s->cli('queue', 'delete', $site[0]);
is($rc, 0, 'queue delete ID exits 0') or diag($err);
ok(!-e $s->queue_file_path($site[0]), 'the deleted file is gone');
($rc, $out, $err) = $s->cli('queue', 'delete', '--domain', 'other.example');
is($rc, 0, 'queue delete --domain other.example exits 0') or diag($err);
my @left = sort @site[1 .. 3];
is_deeply([$s->queue_files], \@left, 'msg/ holds the three left');
is_deeply([$s->queue_list_ids], \@left, 'the index agrees');
($rc, $out, $err) = $s->cli('queue', 'show', $site[0]);
isnt($rc, 0, 'queue show of a deleted ID fails');
($rc, $out, $err) = $s->cli('queue', 'show', 'not-an-id');
isnt($rc, 0, 'queue show of a malformed ID fails');
is_deeply([$s->dir_entries('corrupt')], [], 'corrupt/ is empty');

# --- reload: an open session survives, a new domain is accepted ---
my ($c, $code) = smtp_connect($s);
($code) = smtp_xact($c, 'EHLO client.sluice.test');
($code) = smtp_xact($c, 'MAIL FROM:<reload@client.sluice.test>');
is($code, 250, 'session open before reload');
my ($old) = $s->served('x@new.example') ? 'accepted' : 'refused';
is($old, 'refused', 'new.example is not a customer yet');
$s->set_domains(@{ $s->{domains} }, 'new.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no');
($rc, $out, $err) = $s->cli('reload');
is($rc, 0, 'sluice reload exits 0') or diag("$out$err");
ok(wait_for(sub { $s->served('x@new.example') }, 30), 'after reload new.example is accepted');
($code) = smtp_xact($c, 'RCPT TO:<user@site.example>');
is($code, 250, 'the session opened before reload goes on');
($code) = smtp_xact($c, 'DATA');
smtp_send($c, "Subject: across a reload\r\n\r\nbody\r\n.\r\n");
my $text;
($code, $text) = smtp_reply($c);
like($text // '', qr/^250 2\.0\.0 Ok: queued as [0-9A-F]{20}/, 'and its message is queued');
smtp_xact($c, 'QUIT');
close $c;
ok($s->alive, 'master still runs after reload');
$s->stop;
is(scalar($s->queue_files), 5, 'five messages queued in the end');

# --- sluice start / status / stop ---
($rc, $out, $err) = $s->cli('start');
is($rc, 0, 'sluice start exits 0') or diag("$out$err");
ok($s->daemon_pid, 'master.pid names a running master');
my ($g) = smtp_connect($s);
ok($g, 'the daemon listens');
close $g if $g;
($rc, $out, $err) = $s->cli('status');
is($rc, 0, 'sluice status when running: exit 0') or diag("$out$err");
like($out, qr/qmgr/, 'status mentions qmgr');
($rc, $out, $err) = $s->cli('start');
isnt($rc, 0, 'a second sluice start fails (the queue is taken)');
($rc, $out, $err) = $s->cli('stop');
is($rc, 0, 'sluice stop exits 0') or diag("$out$err");
ok(!$s->daemon_pid, 'master is gone');
is(scalar($s->queue_files), 5, 'the queue is intact');

done_testing;
