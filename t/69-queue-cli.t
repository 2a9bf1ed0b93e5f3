# 69-queue-cli: the operator's queue commands on real mail. Four messages
# sent with swaks to a sluice whose customer domains are held (one
# message for two domains, one from the null sender); then what an
# operator of Postfix or Exim would check: queue list shows each message
# once with its domains inside (text and JSON, parsed field by field),
# queue count and the filters (exiqgrep -f -r -o -y), the summary's
# TOTAL, flush --all and release --all counting messages, queue show's
# parts (postcat -e -h -b), and delete by filter, by IDs on standard
# input (postsuper -d -) and --all, with the files gone from the queue.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use JSON::PP qw(decode_json);
use Test::More;
use Time::HiRes qw(time);

use SluiceTest qw(run_cmd spew);

my $t0 = time;
my $s = SluiceTest->new(domains => [
	'site.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no',
	'other.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no',
	'empty.example mode=hold route=[127.0.0.1]:@DEAD@ probe=no lease=10m',
]);
$s->start;

# send FROM, TO, BODY - one message with swaks; its queue ID
sub send_mail {
	my ($from, $to, $body) = @_;
	my ($rc, $out) = $s->swaks('--from', $from, '--to', $to,
	    '--header', "Subject: queue cli $body", '--body', $body);
	my ($qid) = $out =~ /queued as ([0-9A-F]{20})/;
	diag("swaks: exit $rc: $out") unless $qid;
	return $qid;
}

# sluice ARGS - (exit, stdout, stderr); sluice_in STDIN, ARGS - with input
sub sluice { return $s->cli(@_) }
sub sluice_in {
	my ($in, @args) = @_;
	return run_cmd([$ENV{SLUICE_BUILDDIR} . '/cli/sluice', '-c', $s->confdir, @args],
	    stdin => $in, timeout => 60);
}

# list_json ARGS - queue list --json ARGS as hash refs, by queue ID
sub list_json {
	my ($rc, $out, $err) = sluice('queue', 'list', '--json', @_);
	is($rc, 0, "queue list --json @_ exits 0") or diag($err);
	my %m;
	for my $line (grep { /\S/ } split /\n/, $out) {
		my $j = eval { decode_json($line) };
		ok($j, 'a line of JSON') or diag($line);
		$m{$j->{queue_id}} = $j if $j;
	}
	return %m;
}

# count ARGS - what queue count ARGS prints, or undef
sub count {
	my ($rc, $out, $err) = sluice('queue', 'count', @_);
	return $rc == 0 && $out =~ /^(\d+)\n\z/ ? $1 : "exit $rc: $out$err";
}

my %id;
$id{two} = send_mail('alice@sender.example', 'a@site.example,b@other.example', 'two domains');
$id{bob} = send_mail('bob@Sender.Example', 'c@site.example', 'from bob');
$id{carol} = send_mail('carol@elsewhere.example', 'd@other.example', 'from carol');
$id{null} = send_mail('<>', 'e@site.example', 'a bounce');
ok(!grep({ !defined } values %id), 'four messages queued') or BAIL_OUT('nothing to list');
is_deeply([$s->queue_files], [sort values %id], 'four files in the queue directory');

# --- queue list: one message, one entry, its domains inside ---
my %m = list_json();
is_deeply([sort keys %m], [sort values %id], 'list --json: one object per message');
my $two = $m{$id{two}} // {};
is($two->{sender}, 'alice@sender.example', 'two: sender');
is($two->{host}, 'mx.sluice.test', 'two: host');
ok($two->{arrival_time} > 0 && $two->{message_size} > 0, 'two: arrival_time and message_size');
ok(JSON::PP::is_bool($two->{hold}) && !$two->{hold}, 'two: hold is false (a JSON boolean)');
is_deeply([sort map { $_->{address} } @{ $two->{recipients} }],
    ['a@site.example', 'b@other.example'], 'two: both recipients at the top, as postqueue -j');
my %dom = map { $_->{domain} => $_ } @{ $two->{domains} || [] };
is_deeply([sort keys %dom], ['other.example', 'site.example'], 'two: its two domains inside');
for my $d (sort keys %dom) {
	my $e = $dom{$d};
	is_deeply([map { $_->{address} } @{ $e->{recipients} }],
	    [$d eq 'site.example' ? 'a@site.example' : 'b@other.example'], "two: $d recipients");
	ok($e->{expiry} > $two->{arrival_time}, "two: $d expiry after arrival");
	ok(exists $e->{next_try} && exists $e->{attempts} && exists $e->{delay_reason},
	    "two: $d next_try, attempts, delay_reason");
	is(ref $e->{gate}, 'HASH', "two: $d gate is an object");
	is($e->{gate}{state}, 'held', "two: $d gate state held");
	ok(exists $e->{gate}{until} && !defined $e->{gate}{until}, "two: $d gate until null");
	ok(exists $e->{gate}{opened_by} && !defined $e->{gate}{opened_by},
	    "two: $d gate opened_by null");
	is($e->{gate}{reason}, '', "two: $d gate reason empty");
}
is(($m{$id{null}} // {})->{sender}, '', 'the bounce: null sender as ""');

my ($rc, $out, $err) = sluice('queue', 'list');
is($rc, 0, 'queue list exits 0');
is(scalar(() = $out =~ /^\Q$id{two}\E /mg), 1, 'text: the two-domain message is one block');
like($out, qr/^\Q$id{two}\E .*alice\@sender\.example\n(?: +\S+\n){2}\n/m,
    'text: its block lists both recipients');
like($out, qr/^-- \d+ Kbytes in 4 Requests\.$/m, 'text: 4 requests, not 5');
like($out, qr/^\Q$id{null}\E .*MAILER-DAEMON$/m, 'text: the null sender as MAILER-DAEMON');

# --- count and filters ---
is(count(), 4, 'queue count: 4');
is(count('--domain', 'site.example'), 3, 'count --domain site.example: 3');
is(count('--domain', 'other.example'), 2, 'count --domain other.example: 2');
is(count('--sender', 'alice@sender.example'), 1, 'count --sender alice@: 1');
is(count('--sender', 'ALICE@SENDER.EXAMPLE'), 1, 'count --sender: case-insensitive');
is(count('--sender', '@sender.example'), 2, 'count --sender @sender.example: 2 (alice, Bob)');
is(count('--sender', '<>'), 1, 'count --sender <>: the bounce');
is(count('--recipient', 'B@Other.Example'), 1, 'count --recipient b@other: 1');
is(count('--recipient', '@other.example'), 2, 'count --recipient @other.example: 2');
is(count('--sender=@sender.example', '--recipient=@other.example'), 1,
    'count: sender AND recipient: 1');
is(count('--older-than', '1h'), 0, 'count --older-than 1h: 0');
is(count('--younger-than', '1h'), 4, 'count --younger-than 1h: 4');
is(count('--younger-than', '1h', '--domain', 'other.example', '--sender', '@elsewhere.example'),
    1, 'count: domain AND sender AND age: 1');
%m = list_json('--recipient', '@other.example');
is_deeply([sort keys %m], [sort $id{two}, $id{carol}], 'list --recipient @other.example');
%m = list_json('--domain', 'site.example', '--sender', '@sender.example');
is_deeply([sort keys %m], [sort $id{two}, $id{bob}], 'list --domain site.example --sender @sender.example');
is_deeply([map { $_->{domain} } @{ $m{$id{two}}{domains} }], ['site.example'],
    'list --domain: the message with its site.example part');
($rc, $out, $err) = sluice('queue', 'list', '--older-than', '2x');
is($rc, 64, 'list --older-than 2x: exit 64 (EX_USAGE)');
like($err, qr/--older-than 2x: not an age.*30m/, 'the error names the value and the form');

# --- summary: a message for two domains is one message of the total ---
($rc, $out, $err) = sluice('queue', 'summary');
is($rc, 0, 'queue summary exits 0') or diag($err);
like($out, qr/^\s*TOTAL\s+4\s/m, 'summary TOTAL: 4 messages, not 5') or diag($out);
like($out, qr/^\s*site\.example\s+3\s/m, 'summary site.example: 3');
like($out, qr/^\s*other\.example\s+2\s/m, 'summary other.example: 2');
($rc, $out, $err) = sluice('flush', 'empty.example');
my $opened = time;
($rc, $out, $err) = sluice('queue', 'summary', '--json');
my %row = map { $_->{domain} => $_ } map { decode_json($_) } grep { /\S/ } split /\n/, $out;
is($row{'site.example'}{messages}, 3, 'summary --json site.example messages=3');
is_deeply($row{'site.example'}{gate}, { state => 'held', until => undef, reason => '',
    opened_by => undef }, 'summary --json: a held gate as fields');
my $g = $row{'empty.example'}{gate} // {};
is($g->{state}, 'open', 'summary --json: a flushed domain: gate state open');
is($g->{opened_by}, 'cli', 'summary --json: opened_by cli');
ok(defined $g->{until} && $g->{until} =~ /^\d+$/ && $g->{until} >= int($opened) + 590
    && $g->{until} <= $opened + 610, 'summary --json: until is epoch seconds, the 10m lease')
    or diag(explain $g);
($rc, $out, $err) = sluice('queue', 'summary');
like($out, qr/^\s*empty\.example\s.* open until \d\d:\d\d:\d\d \(cli\)$/m,
    'summary text: open until HH:MM:SS (cli)');

# --- flush --all counts messages ---
($rc, $out, $err) = sluice('flush', '--all');
like($out, qr/: 4 messages waiting in 2 domains/, 'flush --all: 4 messages in 2 domains')
    or diag("$out$err");
ok($s->wait_log(qr/trigger: domain=ALL, source=cli, .*pending=4,/), 'logged pending=4');

# --- hold and release --all count only what changed ---
($rc, $out, $err) = sluice('queue', 'release', '--all');
is($rc, 0, 'release --all with nothing held exits 0') or diag($err);
like($out, qr/^sluice: queue release: 0 messages$/m, 'release --all: 0 messages');
unlike($out, qr/released from hold/, 'release --all: no message said released');
($rc, $out, $err) = sluice('queue', 'hold', $id{bob});
like($out, qr/^sluice: queue hold: 1 message$/m, 'hold one: 1 message');
%m = list_json();
ok($m{$id{bob}}{hold} && !$m{$id{two}}{hold}, 'list --json: hold true for that one only');
($rc, $out, $err) = sluice('queue', 'release', '--all');
like($out, qr/^sluice: \Q$id{bob}\E: released from hold$/m, 'release --all names the held one');
like($out, qr/^sluice: queue release: 1 message$/m, 'release --all: 1 message, not 4');

# --- show: envelope, header, body ---
($rc, $out, $err) = sluice('queue', 'show', $id{two}, '--body');
is($rc, 0, 'show --body exits 0') or diag($err);
# What the queue file holds after the empty line, with the local newline.
my $qf = $s->read_queue_file($id{two}) // {};
my (undef, $body) = split /\r\n\r\n/, $qf->{content} // '', 2;
$body =~ s/\r\n/\n/g;
like($out, qr/\Atwo domains\n/, 'show --body: starts with the body');
is($out, $body, 'show --body: the body as the queue file holds it, and only that');
($rc, $out, $err) = sluice('queue', 'show', $id{two}, '--header');
like($out, qr/^Subject: queue cli two domains$/m, 'show --header: the Subject');
unlike($out, qr/^two domains$|^sender: /m, 'show --header: no body, no envelope');
($rc, $out, $err) = sluice('queue', 'show', lc $id{two}, '--envelope');
like($out, qr/^sender: <alice\@sender\.example>$/m, 'show --envelope: the sender');
like($out, qr/^recipient: <b\@other\.example> status=pending/m, 'show --envelope: a recipient');
unlike($out, qr/^Subject:/m, 'show --envelope: no header');
($rc, $out, $err) = sluice('queue', 'show', $id{two}, '--envelope', '--header', '--body');
like($out, qr/^sender: .*\n\n.*^Subject: queue cli two domains\n.*\n\n\Q$body\E\z/ms,
    'show with all three: envelope, header, body, in that order');

# --- delete ---
($rc, $out, $err) = sluice('queue', 'delete');
is($rc, 64, 'delete with nothing named: exit 64 (EX_USAGE)');
like($err, qr/usage: .*queue delete/, 'delete with nothing named: the usage');
is_deeply([$s->queue_files], [sort values %id], 'nothing deleted');

($rc, $out, $err) = sluice('queue', 'delete', '--sender', 'bob@sender.example');
is($rc, 0, 'delete --sender exits 0') or diag($err);
like($out, qr/^sluice: \Q$id{bob}\E: removed$/m, 'delete --sender: names the match');
like($out, qr/^sluice: deleted: 1 message$/m, 'delete --sender: 1 message');
ok(!-e $s->queue_file_path($id{bob}), 'its file is gone from the queue directory');

($rc, $out, $err) = sluice('queue', 'delete', '--domain', 'site.example', '--sender',
    'alice@sender.example');
like($out, qr/^sluice: \Q$id{two}\E: removed \(recipients in site\.example\)$/m,
    'delete --domain --sender: the site.example part of the match');
%m = list_json();
is_deeply([map { $_->{domain} } @{ $m{$id{two}}{domains} }], ['other.example'],
    'the message stays queued for other.example only');
ok($m{$id{null}}, 'the bounce for site.example (another sender) stays');

($rc, $out, $err) = sluice_in("\n  $id{carol}  \nnot-an-id\n\n" . lc($id{null}) . "\n" .
    "0123456789ABCDEF0123\n", 'queue', 'delete', '-');
is($rc, 65, 'delete - with a bad line: exit 65 (EX_DATAERR)') or diag("$out$err");
like($err, qr/queue delete: standard input, line 3: not-an-id: not a queue ID/,
    'the bad line is named with its number');
like($out, qr/^sluice: \Q$id{carol}\E: removed$/m, 'delete -: the first ID');
like($out, qr/^sluice: \Q$id{null}\E: removed$/m, 'delete -: a lowercase ID');
like($out, qr/^sluice: deleted: 2 messages$/m, 'delete -: 2 messages');
like($err, qr/0123456789ABCDEF0123: no such message/, 'delete -: an unknown ID named');
ok(!-e $s->queue_file_path($id{carol}) && !-e $s->queue_file_path($id{null}),
    'their files are gone');

($rc, $out, $err) = sluice('queue', 'delete', '--all');
is($rc, 0, 'delete --all exits 0') or diag($err);
like($out, qr/^sluice: \Q$id{two}\E: removed$/m, 'delete --all: the last message');
like($out, qr/^sluice: deleted: 1 message$/m, 'delete --all: 1 message');
is_deeply([$s->queue_files], [], 'the queue directory is empty');
is(count(), 0, 'queue count: 0');
($rc, $out, $err) = sluice('queue', 'list');
is($out, "Mail queue is empty\n", 'queue list: Mail queue is empty');
ok($s->wait_log(qr/\Q$id{two}\E: removed by uid=\d+/), 'the removal is logged with the uid');

my @bad = grep { /AddressSanitizer|runtime error|panic/ } split /\n/, $s->log_text;
ok(!@bad, 'no sanitizer report or panic') or diag(join "\n", @bad);
$s->stop;
diag(sprintf 'run time %.1fs', time - $t0);
done_testing();
