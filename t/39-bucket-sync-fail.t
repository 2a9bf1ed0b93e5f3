# 39-bucket-sync-fail: qmgr fsyncs a bucket directory (msg/XX) after it
# removed delivered messages from it, batched. When that fsync fails, the
# removals are no more durable than before it: the bucket must stay to be
# fsync'd again, not be forgotten until some later removal happens to
# dirty it (a crash of the machine meanwhile would bring the delivered
# messages back, to be sent again). The warning is logged once per bucket
# and failure, not at every retry. t/lib/fsync_shim.c fails every msg/XX
# fsync while the cue file "fail-dir" exists.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;

use Release qw(flush);
use Sink;
use SluiceTest qw(wait_for slurp spew);

my $shim = "$ENV{SLUICE_BUILDDIR}/t/lib/fsync_shim.so";
plan skip_all => "$shim is not built" unless -f $shim;

my $s = SluiceTest->new(domains => ['placeholder']);
my $sink = Sink->start(dir => $s->dir . '/sink');
$s->set_domains('site.example mode=hold route=[127.0.0.1]:' . $sink->port
    . ' probe=no lease=60s');
my $cue = $s->dir . '/cue';
mkdir $cue or die "mkdir $cue: $!\n";
chmod 0777, $cue;	# the daemons, as the sluice user, write their notes here
my %env = (LD_PRELOAD => $shim, SLUICE_FSYNC_SHIM => $cue);
$env{ASAN_OPTIONS} = "$ENV{ASAN_OPTIONS}:verify_asan_link_order=0"
    if $ENV{ASAN_OPTIONS};
$s->start(env => \%env);

sub number { my $t = slurp("$cue/$_[0]") // 0; $t =~ /(\d+)/ ? $1 : 0 }
my $warn = qr/qmgr\[\d+\]: warning: fsync \S+\/msg\/([0-9A-F]{2}) after removals: /;
sub warned { my @b = $s->log_text =~ /$warn/g; return @b }

my @ids;
for my $i (1 .. 3) {
	my ($rc, $out) = $s->swaks('--to', "u$i\@site.example", '--from', 'a@sender.example');
	my ($id) = $out =~ /queued as ([0-9A-F]{20})/;
	push @ids, $id if $id;
}
is(scalar @ids, 3, '3 messages queued');
my %buckets = map { substr($_, -2) => 1 } @ids;

spew("$cue/fail-dir", '');
my ($rc) = flush($s, 'site.example');
is($rc, 0, 'sluice flush site.example');
ok(wait_for(sub { $sink->count >= 3 }, 30), 'all 3 delivered');
ok(wait_for(sub { my %q = map { $_ => 1 } $s->queue_files; !grep { $q{$_} } @ids }, 30),
    'and removed from msg/');
ok(wait_for(sub { scalar(warned()) >= keys %buckets }, 30),
    'the failed bucket fsyncs are logged')
    or diag($s->log_text);
# Retries while the fsyncs still fail: the shim counts every msg/XX fsync.
my $c0 = number('count-dir');
ok(wait_for(sub { number('count-dir') >= $c0 + 2 * keys %buckets }, 30),
    'qmgr tries the buckets again (no new removal meanwhile)');
my @w = warned();
is(scalar @w, scalar keys %buckets, 'one warning per bucket, not one per retry: '
    . join(' ', @w));
is_deeply([sort @w], [sort keys %buckets], 'naming the buckets of the removed messages');

unlink "$cue/fail-dir";
my $c1 = number('count-dir');
ok(wait_for(sub { number('count-dir') >= $c1 + keys %buckets }, 30),
    'once the disk is back, the next try fsyncs each bucket');
is(scalar(warned()), scalar keys %buckets, 'and logs nothing more');
unlike($s->log_text, qr/(?:panic|fatal):/, 'no panic, no fatal');
done_testing();
