# 10-receive: mail for a customer domain is queued; everything else is
# refused at RCPT; STARTTLS works with the certificate sluice generates.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use SluiceTest qw(smtp_connect smtp_xact);

my $s = SluiceTest->new(files => {
	'listed.rcpts' => "# the users of listed.example\nalice\nbob\@listed.example\n",
});
$s->set_domains('site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no',
    'listed.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no recipients='
    . $s->confdir . '/listed.rcpts');
$s->start;

# --- swaks, plain ---
my ($rc, $out) = $s->swaks('--from', 'sender@client.sluice.test',
    '--to', 'user@site.example',
    '--header', 'Message-Id: <t10-plain@client.sluice.test>');
is($rc, 0, 'swaks to user@site.example exits 0') or diag($out);
my ($id) = $out =~ /<-\s+250 2\.0\.0 Ok: queued as ([0-9A-F]{20})\b/;
ok($id, 'reply is "250 2.0.0 Ok: queued as ID" with a 20-hex-digit ID')
    or diag($out);
$id //= 'NONE';

ok(-f $s->queue_file_path($id), "msg/XX/$id exists");
my ($qf, $why) = $s->read_queue_file($id);
ok($qf, 'queue file passes every length check') or diag($why);
$qf //= { content => '', envelope => '' };
my ($received, $rest) = SluiceTest::strip_received($qf->{content});
ok($received, 'content starts with our Received: header')
    or diag(substr($qf->{content}, 0, 300));
like($received // '', qr/\bESMTP\b/, 'Received: says "with ESMTP"');
like($rest, qr/^Message-Id: <t10-plain\@client\.sluice\.test>\r$/mi,
    'the client\'s headers follow');
unlike($rest, qr/(?<!\r)\n/, 'content has CRLF line ends only');
like($qf->{envelope}, qr/user\@site\.example/, 'envelope holds the recipient');
like($qf->{envelope}, qr/sender\@client\.sluice\.test/, 'envelope holds the sender');

my @e = $s->queue_list;
is(scalar @e, 1, 'queue list --json has one entry') or diag(explain \@e);
my $e = $e[0] // {};
is($e->{queue_id}, $id, 'entry queue_id');
is(scalar @{ $e->{domains} || [] }, 1, 'entry: one destination domain');
my $d = ($e->{domains} || [])->[0] // {};
is($d->{domain}, 'site.example', 'entry domain');
is_deeply([map { $_->{address} } @{ $d->{recipients} || [] }],
    ['user@site.example'], 'entry domain recipients');
is($d->{gate}{state}, 'held', 'entry domain gate state held');
is($e->{sender}, 'sender@client.sluice.test', 'entry sender');
is_deeply([map { $_->{address} } @{ $e->{recipients} || [] }],
    ['user@site.example'], 'entry recipients');
for my $k (qw(queue_id host arrival_time message_size sender hold recipients domains)) {
	ok(exists $e->{$k}, "entry has field $k");
}
for my $k (qw(domain next_try expiry attempts delay_reason recipients gate)) {
	ok(exists $d->{$k}, "entry domain has field $k");
}
is($e->{message_size}, length $qf->{content}, 'message_size is the content size')
    if $qf->{content} ne '';
ok(($d->{expiry} // 0) > ($e->{arrival_time} // 0), 'expiry is after arrival');

my ($src, $sout, $serr) = $s->cli('queue', 'show', $id);
is($src, 0, 'sluice queue show ID exits 0') or diag($serr);
like($sout, qr/sender\@client\.sluice\.test/, 'queue show names the sender');
like($sout, qr/Message-Id: <t10-plain/i, 'queue show prints the headers');

like($s->log_text, qr/^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ sluice\/smtpd\[\d+\]: \Q$id\E: client=\S+\[127\.0\.0\.1\]/m,
    'smtpd logs "ID: client=host[addr]" in Postfix shape');

# --- relay denied ---
($rc, $out) = $s->swaks('--from', 'sender@client.sluice.test',
    '--to', 'user@elsewhere.example');
isnt($rc, 0, 'swaks to another domain fails');
like($out, qr/<\*\*\s+550 5\.7\.1/, 'RCPT for another domain gets 550 5.7.1')
    or diag($out);

# --- raw RCPT checks on one session ---
my ($c, $code, $text) = smtp_connect($s);
is($code, 220, 'greeting 220') or diag($text);
($code, $text) = smtp_xact($c, 'EHLO client.sluice.test');
is($code, 250, 'EHLO 250');
like($text, qr/^250[ -]STARTTLS/m, 'EHLO offers STARTTLS');
like($text, qr/^250[ -]PIPELINING/m, 'EHLO offers PIPELINING');
($code) = smtp_xact($c, 'MAIL FROM:<sender@client.sluice.test>');
is($code, 250, 'MAIL 250');
my @rcpt = (
	['<carol@listed.example>', qr/^550 5\.1\.1 /, 'unknown user of a listed domain'],
	['<alice@listed.example>', qr/^250 /, 'listed local part'],
	['<bob@listed.example>', qr/^250 /, 'listed full address'],
	['<BOB@Listed.Example>', qr/^250 /, 'case-insensitive address'],
	['<x@site.example>', qr/^250 /, 'domain without a list takes anyone'],
	['<user@elsewhere.example>', qr/^550 5\.7\.1 /, 'relay denied'],
	['<user@site.example.elsewhere.example>', qr/^550 5\.7\.1 /, 'suffix of a customer domain'],
	['<user@sub.site.example>', qr/^550 5\.7\.1 /, 'subdomain not listed'],
	['<@site.example:user@elsewhere.example>', qr/^5\d\d /, 'source route to another domain'],
);
for my $r (@rcpt) {
	($code, $text) = smtp_xact($c, "RCPT TO:$r->[0]");
	like($text // '', $r->[1], "RCPT TO:$r->[0]: $r->[2]");
}
smtp_xact($c, 'QUIT');
close $c;

# --- swaks --tls ---
($rc, $out) = $s->swaks('--tls', '--from', 'sender@client.sluice.test',
    '--to', 'alice@listed.example',
    '--header', 'Message-Id: <t10-tls@client.sluice.test>');
is($rc, 0, 'swaks --tls exits 0') or diag($out);
like($out, qr/<-\s+220 .*\n(?:.*\n)*?=== TLS started/, 'STARTTLS 220, then TLS started')
    or diag($out);
my ($tid) = $out =~ /<~\s+250 2\.0\.0 Ok: queued as ([0-9A-F]{20})\b/;
ok($tid, 'queued over TLS') or diag($out);
if ($tid) {
	my ($tqf) = $s->read_queue_file($tid);
	my ($trec) = SluiceTest::strip_received($tqf ? $tqf->{content} : '');
	like($trec // '', qr/\bESMTPS\b/, 'Received: says "with ESMTPS"');
}

my @ids = $s->queue_files;
is(scalar @ids, 2, 'two files in msg/ (refused mail left nothing)');
is_deeply([$s->queue_list_ids], [@ids], 'the index lists exactly msg/');
is_deeply([$s->dir_entries('corrupt')], [], 'corrupt/ is empty');
ok($s->served, 'server still serves a normal client');
$s->stop;
ok(!$s->alive, 'master stopped on SIGTERM');
is_deeply([$s->children], [], 'no child left');

done_testing;
