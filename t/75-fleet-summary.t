# t/75-fleet-summary.t - `sluice queue summary --fleet` (and --json) on
# one host of a fleet of three: its own counts and gate per domain and
# each peer's, fetched over the peer login (XSUMMARY), every row naming
# its host; a peer that is down is shown unreachable, never as zero.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use JSON::PP;
use Test::More;

use SluiceTest qw(free_port wait_for);
use Smtpd2 qw(queue_mail);

my $secret = 'fleet-secret-0123456789abcdef';
my @dom = map { "$_ mode=hold route=[127.0.0.1]:\@DEAD\@ probe=no" }
    qw(site.example other.example);
my @hosts = map {
	SluiceTest->new(addr => "127.0.0.$_", domains => [@dom],
	    files => { peer_secret => "$secret\n" },
	    conf => { myhostname => "mx$_.sluice.test", peer_timeout => '5s' })
} 2 .. 4;
my ($A, $B, $C) = @hosts;
for my $h (@hosts) {
	$h->set_conf(peers => join ', ', map { $_->addr . ':' . $_->port }
	    grep { $_ != $h } @hosts);
}
$_->start for @hosts;

is(queue_mail($A, 'u@site.example', 2), 2, 'A: 2 for site.example');
is(queue_mail($B, 'u@site.example', 3), 3, 'B: 3 for site.example');
is(queue_mail($B, 'u@other.example', 1), 1, 'B: 1 for other.example');
is(queue_mail($C, 'u@other.example', 4), 4, 'C: 4 for other.example');
my ($bname, $cname) = map { $_->addr . ':' . $_->port } $B, $C;

# --- all three up: text ---
my ($rc, $out, $err) = $A->cli('queue', 'summary', '--fleet');
is($rc, 0, 'summary --fleet exits 0 when every host answers') or diag($err);
like($out, qr/^host mx2\.sluice\.test \(this host\): 2 domains$/m, 'A names itself');
like($out, qr/^host \Q$bname\E: 2 domains$/m, 'B is listed by its peers entry');
like($out, qr/^host \Q$cname\E: 2 domains$/m, 'C too');
# Each host's block: its domains with their counts and gates.
my %block;
for my $b (split /^(?=host )/m, $out) {
	my ($name) = $b =~ /^host (.+?)(?: \(this host\))?: / or next;
	$block{$name} = $b;
}
like($block{'mx2.sluice.test'}, qr/^\s*site\.example\s+2\s.*\sheld$/m, 'A: site.example 2, held');
like($block{$bname}, qr/^\s*site\.example\s+3\s.*\sheld$/m, 'B: site.example 3, held');
like($block{$bname}, qr/^\s*other\.example\s+1\s.*\sheld$/m, 'B: other.example 1, held');
like($block{$cname}, qr/^\s*other\.example\s+4\s.*\sheld$/m, 'C: other.example 4, held');
like($block{$cname}, qr/^\s*site\.example\s+0\s.*\sheld$/m, 'C: site.example 0 (a domain of the table), held');
ok($B->wait_log(qr/XSUMMARY to peer .*\[127\.0\.0\.2\]: 2 domains/), 'B logs the summary it gave A');

# --- JSON: one object per host, then one per domain row, each naming its host ---
($rc, $out, $err) = $A->cli('queue', 'summary', '--fleet', '--json');
is($rc, 0, 'summary --fleet --json exits 0') or diag($err);
my @j = map { decode_json($_) } grep { /\S/ } split /\n/, $out;
my %state = map { $_->{host} => $_ } grep { exists $_->{state} } @j;
my %rows;
$rows{"$_->{host} $_->{domain}"} = $_ for grep { exists $_->{domain} } @j;
is($state{'mx2.sluice.test'}{state}, 'ok', 'JSON: A ok');
is($state{$bname}{domains}, 2, 'JSON: B has 2 domains');
is($rows{"mx2.sluice.test site.example"}{messages}, 2, 'JSON: A site.example messages=2');
is($rows{"$bname site.example"}{messages}, 3, 'JSON: B site.example messages=3');
is($rows{"$bname other.example"}{messages}, 1, 'JSON: B other.example messages=1');
is($rows{"$cname other.example"}{messages}, 4, 'JSON: C other.example messages=4');
# The gate is an object of fields, from a peer (XSUMMARY) as from this host.
is(ref $rows{"$cname other.example"}{gate}, 'HASH', 'JSON: C other.example gate is an object');
is($rows{"$cname other.example"}{gate}{state}, 'held', 'JSON: C other.example gate state=held');
ok(exists $rows{"$cname other.example"}{gate}{until} &&
    !defined $rows{"$cname other.example"}{gate}{until}, 'JSON: C held gate: until null');
ok(exists $rows{"$cname other.example"}{gate}{opened_by} &&
    !defined $rows{"$cname other.example"}{gate}{opened_by}, 'JSON: C held gate: opened_by null');
is($rows{"mx2.sluice.test site.example"}{gate}{state}, 'held', 'JSON: A site.example gate state=held');
ok($rows{"$bname site.example"}{bytes} > 0, 'JSON: bytes given');

# --- a peer down: unreachable, not zero ---
$C->stop;
($rc, $out, $err) = $A->cli('queue', 'summary', '--fleet');
is($rc, 69, 'summary --fleet exits 69 (EX_UNAVAILABLE) when a peer does not answer');
like($out, qr/^host \Q$cname\E: unreachable \(connect: Connection refused\)$/m,
    'C shown unreachable with the reason');
unlike($out, qr/^host \Q$cname\E: \d+ domains/m, 'C is not shown with a count');
like($out, qr/^host \Q$bname\E: 2 domains$/m, 'B still listed');
($rc, $out) = $A->cli('queue', 'summary', '--fleet', '--json');
@j = map { decode_json($_) } grep { /\S/ } split /\n/, $out;
my ($cj) = grep { ($_->{host} // '') eq $cname } @j;
is($cj->{state}, 'unreachable', 'JSON: C state=unreachable');
like($cj->{error} // '', qr/Connection refused/, 'JSON: with the reason');
ok(!grep({ ($_->{host} // '') eq $cname && exists $_->{domain} } @j), 'JSON: no rows for C');

# --- the plain summary is unchanged ---
($rc, $out) = $A->cli('queue', 'summary');
unlike($out, qr/^host /m, 'summary without --fleet: this host only, as before');

# --- config check: the secret's mode, and a fleet without its secret ---
my $path = $A->confdir . '/peer_secret';
# As installed: root:mail_owner's group (when we are root and the daemons
# run as mail_owner; as anyone else they run as we do), mode 0640.
my (undef, $mo) = $A->cli('config', 'mail_owner');
my ($owner) = ($mo // '') =~ /^mail_owner = (\S+)/;
my @pw = defined $owner ? getpwnam($owner) : ();
chown 0, $pw[3], $path if $> == 0 && @pw;
chmod 0640, $path;
($rc, $out, $err) = $A->cli('config', 'check');
is($rc, 0, 'config check: a 0640 peer_secret passes') or diag($err);
chmod 0644, $path;
($rc, $out, $err) = $A->cli('config', 'check');
isnt($rc, 0, 'config check fails for a peer_secret every local user can read');
like($err, qr/peer_secret_file \Q$path\E: every local user can read it \(mode 0644\)\. Fix: chown root:\S+ \Q$path\E && chmod 0640 \Q$path\E/,
    '... naming the file and the fix');
unlink $path;
($rc, $out, $err) = $A->cli('config', 'check');
is($rc, 78, 'config check: peers set and no peer_secret is EX_CONFIG');
like($err, qr/peer_secret_file \Q$path\E: No such file or directory; peers is set.*Fix: openssl rand -hex 24 > \Q$path\E/,
    '... naming the file and the fix');

$_->stop for ($A, $B);
done_testing;
