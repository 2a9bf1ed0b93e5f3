# 83-lifetime-dsn: mail past its domain's lifetime= goes back to its
# sender as an RFC 3464 DSN that a mail client can parse, exactly once;
# a 5xx from the customer's server bounces at once; a DSN that fails in
# turn is dropped, never bounced again.
#
# The senders' domain, sender.example, is routed (mode=backup) to a
# second sink, so DSNs are received and parsed like any mail client would.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use MIME::Parser;
use Test::More;
use Time::HiRes qw(time);

use Release qw(swaks_mail flush log_count wait_log finish);
use Sink;
use SluiceTest qw(free_port wait_for);

my $t0 = time;
my $s = SluiceTest->new(domains => ['placeholder']);
my $site = Sink->start(dir => $s->dir . '/site', rcpt_reply => {
	'nouser@bounce.example' => '550 5.1.1 <nouser@bounce.example>: Recipient address rejected: User unknown',
});
my $senders = Sink->start(dir => $s->dir . '/senders', rcpt_reply => {
	'gone@sender.example' => '550 5.1.1 <gone@sender.example>: no such user',
});
my $oracle = Sink->start(dir => $s->dir . '/oracle');
my ($sp, $bp) = ($site->port, $senders->port);
# probe=no: the prober would release held mail when the sink answers.
$s->set_domains(
    "site.example mode=hold route=[127.0.0.1]:$sp lifetime=3s probe=no",
    "bounce.example mode=hold route=[127.0.0.1]:$sp probe=no",
    "sender.example mode=backup route=[127.0.0.1]:$bp probe=no");
$s->start;

# dsns_to ADDRESS - the null-sender messages the senders' sink got for it
sub dsns_to {
	my ($addr) = @_;
	return grep { $_->{from} eq '' && grep { $_ eq $addr } @{ $_->{rcpt} } }
	    $senders->messages;
}

# check_dsn MESSAGE, NAME, %want - parse it as a mail client would and
# check the RFC 3464 structure and fields; its per-recipient block (or
# undef when there is no message: that fails a test). want: rcpt => the failed
# recipient, status => regex, mid => the original Message-ID,
# not_rcpt => a recipient that must not be listed.
sub check_dsn {
	my ($m, $name, %w) = @_;
	ok($m, "$name: received") or return undef;
	my $p = MIME::Parser->new;
	$p->output_to_core(1);
	$p->tmp_to_core(1);
	# Keep message/* parts as text: we look at their bytes.
	$p->extract_nested_messages(0);
	my $e = eval { $p->parse_data($m->{data}) };
	ok($e, "$name: parses as MIME") or return diag($@);
	my $h = $e->head;
	is($e->mime_type, 'multipart/report', "$name: multipart/report");
	is(lc($h->mime_attr('content-type.report-type') // ''), 'delivery-status',
	    "$name: report-type=delivery-status");
	like($h->get('Subject') // '', qr/\S/, "$name: has a Subject");
	like($h->get('To') // '', qr/\Q$w{to}\E/, "$name: To: the original sender");
	like($h->get('Auto-Submitted') // '', qr/auto-replied/i,
	    "$name: Auto-Submitted: auto-replied");
	my @parts = $e->parts;
	ok(@parts >= 2, "$name: at least two parts") or return;
	is($parts[0]->mime_type, 'text/plain', "$name: first part human-readable");
	is($parts[1]->mime_type, 'message/delivery-status',
	    "$name: second part message/delivery-status");
	my $ds = $parts[1]->bodyhandle ? $parts[1]->bodyhandle->as_string : '';
	$ds =~ s/\r\n/\n/g;
	# Fields are per message, then per recipient, in blank-line blocks.
	my ($per_msg, @per_rcpt) = split /\n\n+/, $ds;
	like($per_msg // '', qr/^Reporting-MTA:\s*dns;\s*mx\.sluice\.test\s*$/mi,
	    "$name: Reporting-MTA: dns; mx.sluice.test");
	@per_rcpt = grep { /\S/ } @per_rcpt;
	is(scalar @per_rcpt, 1, "$name: one recipient block") or diag($ds);
	my $r = $per_rcpt[0] // '';
	like($r, qr/^Final-Recipient:\s*rfc822;\s*\Q$w{rcpt}\E\s*$/mi,
	    "$name: Final-Recipient: rfc822; $w{rcpt}");
	like($r, qr/^Action:\s*failed\s*$/mi, "$name: Action: failed");
	my ($st) = $r =~ /^Status:\s*(\S+)/mi;
	like($st // '', $w{status}, "$name: Status: " . ($st // 'none'));
	unlike($ds, qr/\Q$w{not_rcpt}\E/, "$name: $w{not_rcpt} is not listed")
	    if $w{not_rcpt};
	my $orig = $parts[2];
	ok($orig && $orig->mime_type =~ m{^(?:message/rfc822|text/rfc822-headers)$},
	    "$name: third part: the original message or its headers");
	my $ob = $orig && $orig->bodyhandle ? $orig->bodyhandle->as_string : '';
	like($ob, qr/^Message-ID:\s*\Q$w{mid}\E/mi,
	    "$name: the original headers are attached");
	return $r;
}

# 1. Lifetime: held mail nobody asks for expires after 3 seconds.
my ($qid, undef, $mid) = swaks_mail($s, $oracle, from => 'alice@sender.example',
    to => 'user@site.example');
ok($qid, 'mail for site.example (lifetime=3s) queued');
ok(wait_log($s, qr/\Q$qid\E: to=<user\@site\.example>, relay=none, delay=\d+, dsn=4\.4\.7, status=expired, returned to sender/),
    'expiry logged: dsn=4.4.7, status=expired, returned to sender');
ok(wait_for(sub { dsns_to('alice@sender.example') >= 1 }, 30),
    'the sender received a DSN');
my ($dsn) = dsns_to('alice@sender.example');
check_dsn($dsn, 'expiry DSN', rcpt => 'user@site.example', mid => $mid,
    to => 'alice@sender.example', status => qr/^4\.4\.7$/);
# Exactly once: a second expiry or DSN would come on a later expiry
# cycle (one a second). Mail queued now expires 3 seconds later, on such
# a cycle; once its DSN has arrived, the first one's would have too.
my ($later) = swaks_mail($s, $oracle, from => 'carol@sender.example',
    to => 'later@site.example');
ok($later && wait_log($s, qr/\Q$later\E: to=<later\@site\.example>, relay=none, [^\n]*status=expired, returned to sender/)
    && wait_for(sub { dsns_to('carol@sender.example') >= 1 }, 30),
    'mail queued after the expiry expired in turn, and its DSN arrived');
is(scalar(dsns_to('alice@sender.example')), 1, 'exactly one DSN, several expiry cycles later');
is(log_count($s, qr/\Q$qid\E: to=<[^>]*>, relay=none, [^\n]*status=expired/), 1,
    'expired once in the log');
is(log_count($s, qr/\Q$qid\E: sender non-delivery notification: /), 1,
    'one non-delivery notification written');
ok(!grep({ $_ eq $qid } $s->queue_files), 'the expired message left the queue');
is($site->count, 0, 'the customer site never got it');

# 2. A 5xx from the customer's server bounces at once; the recipient the
# server accepted is delivered (partial success).
($qid, undef, $mid) = swaks_mail($s, $oracle, from => 'bob@sender.example',
    to => ['nouser@bounce.example', 'ok@bounce.example']);
ok($qid, 'mail for bounce.example queued');
flush($s, 'bounce.example');
ok(wait_log($s, qr/\Q$qid\E: to=<nouser\@bounce\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$sp, [^\n]*dsn=5\.1\.1, status=bounced \([^\n]*\b550 5\.1\.1 /),
    'status=bounced with dsn=5.1.1 for the rejected recipient');
ok(wait_log($s, qr/\Q$qid\E: to=<ok\@bounce\.example>, [^\n]*status=sent/),
    'the other recipient was delivered');
ok(wait_for(sub { dsns_to('bob@sender.example') >= 1 }, 30),
    'the sender received a DSN at once');
($dsn) = dsns_to('bob@sender.example');
my $r = check_dsn($dsn, '5xx DSN', rcpt => 'nouser@bounce.example', mid => $mid,
    to => 'bob@sender.example', status => qr/^5\.1\.1$/,
    not_rcpt => 'ok@bounce.example');
like($r // '', qr/^Diagnostic-Code:\s*smtp;\s*550 5\.1\.1/mi,
    '5xx DSN: Diagnostic-Code: smtp; 550 5.1.1 ...');
ok(wait_for(sub { !grep { $_ eq $qid } $s->queue_files }, 20),
    'nothing of it left in the queue');
is(scalar(grep { grep { $_ eq 'ok@bounce.example' } @{ $_->{rcpt} } } $site->messages),
    1, 'ok@bounce.example got it once');

# 3. A DSN's own failure: the sender's server refuses the notice. It is
# dropped (null sender), nothing new is queued, nobody gets mail about it.
my $notices = log_count($s, qr/: sender non-delivery notification: /);
($qid) = swaks_mail($s, $oracle, from => 'gone@sender.example',
    to => 'nouser@bounce.example');
ok($qid, 'mail from gone@sender.example queued');
flush($s, 'bounce.example');
ok(wait_log($s, qr/\Q$qid\E: sender non-delivery notification: [0-9A-F]{20}/),
    'its bounce wrote a DSN');
my ($nid) = $s->log_text =~ /\Q$qid\E: sender non-delivery notification: ([0-9A-F]{20})/;
ok(wait_log($s, qr/\Q$nid\E: to=<gone\@sender\.example>, [^\n]*status=bounced \([^\n]*\b550 5\.1\.1 /),
    'the DSN itself bounced at the sender\'s server');
ok(wait_log($s, qr/\Q$nid\E: from=<>, undeliverable mail with the null sender dropped/),
    'and was dropped: "undeliverable mail with the null sender dropped"');
ok(wait_for(sub { !$s->queue_files }, 20), 'the queue is empty');
# qmgr writes any notice before it drops the DSN, and is done with it
# when it logs its removal.
ok(wait_log($s, qr/\Q$nid\E: removed$/), 'the DSN was removed');
is(log_count($s, qr/: sender non-delivery notification: /), $notices + 1,
    'no notice about the notice');
is(log_count($s, qr/\Q$nid\E: sender /), 0, 'the DSN got no DSN');
is(scalar(grep { $_->{from} eq '' && grep({ $_ eq '' } @{ $_->{rcpt} }) }
    $senders->messages, $site->messages), 0, 'no mail to the null address');
is(scalar($senders->messages), 3, 'the senders\' server got exactly the three DSNs (alice, carol, bob)');
is(scalar($s->queue_files), 0, 'nothing new queued');

finish($s, $t0, $site, $senders, $oracle);
done_testing();
