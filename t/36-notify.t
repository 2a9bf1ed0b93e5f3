# t/36-notify.t - a customer domain with notify=ADDRESS hears, every
# notify_interval (a day by default), how many of its queued messages
# will return to their senders within 24 hours; and nothing when none will.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;

use Release qw(wait_log);
use Sink;
use SluiceTest qw(wait_for);

my $s = SluiceTest->new(domains => ['placeholder'], conf => { notify_interval => '2s' });
my $sink = Sink->start(dir => $s->dir . '/sink');
# site.example: mail expires in 20 hours, so within the next day.
# calm.example: mail lives 5 days: no notice. isp.example: where the
# notices go (a backup domain routed to the sink).
$s->set_domains(
    'site.example mode=hold route=[127.0.0.1]:9 lifetime=20h probe=no notify=admin@isp.example',
    'calm.example mode=hold route=[127.0.0.1]:9 probe=no notify=calm-admin@isp.example',
    'isp.example mode=backup route=[127.0.0.1]:' . $sink->port . ' probe=no');
$s->start;

# calm.example first: a notice cycle that counts both site.example
# messages comes after its message was queued too.
for my $to ('c@calm.example', 'a@site.example', 'b@site.example') {
	my ($rc) = $s->swaks('--to', $to, '--from', 'sender@origin.test');
	is($rc, 0, "queued mail for $to");
}

# A cycle may fall between the two site.example messages (one every 2s)
# and announce one of them; the notice to check is the one qmgr logged
# with both counted, found at the sink by its Message-ID.
my $line = qr/notify: domain=site\.example, to=<admin\@isp\.example>, expiring=2, queued=2, notice=([0-9A-F]{20})$/;
ok(wait_log($s, $line), 'qmgr logs the notice with the counts');
my ($nid) = map { /$line/ } $s->log_lines($line);
my $n;
ok($nid && wait_for(sub {
	($n) = grep { $_->{mid} eq "<$nid\@mx.sluice.test>" } $sink->messages;
	return $n;
}, 20), 'that notice reached the notify= address') or diag($s->log_text);
is_deeply($n ? $n->{rcpt} : undef, ['admin@isp.example'],
    'the notice went to admin@isp.example');
like($n ? $n->{data} : '', qr/^Subject: 2 messages for site\.example will be returned within 24 hours\r?$/m,
    'its Subject gives the count of messages that will bounce, and the domain');
(my $text = $n ? $n->{data} : '') =~ s/\s+/ /g;
like($text, qr/It now holds 2 messages for site\.example\. 2 of them will be returned to their senders as undeliverable within the next 24 hours/,
    'its text gives how many are held and how many will bounce');
is($n ? $n->{from} : undef, '', 'it has the null envelope sender');
# That cycle came after calm.example's message was queued.
is($s->log_count(qr/notify: domain=calm\.example/), 0,
    'no notice for a domain whose mail does not expire within a day (logged)');
ok(!grep({ grep { $_ eq 'calm-admin@isp.example' } @{ $_->{rcpt} } } $sink->messages),
    'none reached calm-admin@isp.example');
is(scalar $s->queue_list_ids('--domain', 'site.example'), 2, 'the held mail is still queued');

$s->stop;
$sink->stop;
done_testing;
