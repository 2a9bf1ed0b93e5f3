# t/36-notify.t - a customer domain with notify=ADDRESS hears, every
# notify_interval (a day by default), how many of its queued messages
# will return to their senders within 24 hours; and nothing when none will.
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

for my $to ('a@site.example', 'b@site.example', 'c@calm.example') {
	my ($rc) = $s->swaks('--to', $to, '--from', 'sender@origin.test');
	is($rc, 0, "queued mail for $to");
}

ok(wait_for(sub { $sink->count >= 1 }, 20), 'a notice reached the notify= address');
ok(wait_log($s, qr/notify: domain=site\.example, to=<admin\@isp\.example>, expiring=2, queued=2/),
    'qmgr logs the notice with the counts');
my @msgs = $sink->messages;
my ($n) = grep { grep { $_ eq 'admin@isp.example' } @{ $_->{rcpt} } } @msgs;
ok($n, 'the notice went to admin@isp.example');
like($n ? $n->{data} : '', qr/site\.example/, 'it names the domain');
like($n ? $n->{data} : '', qr/\b2\b/, 'it gives the count of messages that will bounce');
is($n ? $n->{from} : undef, '', 'it has the null envelope sender');
ok(!grep({ grep { $_ eq 'calm-admin@isp.example' } @{ $_->{rcpt} } } @msgs),
    'no notice for a domain whose mail does not expire within a day');
is(scalar $s->queue_list_ids('--domain', 'site.example'), 2, 'the held mail is still queued');

$s->stop;
$sink->stop;
done_testing;
