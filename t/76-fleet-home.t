# 76-fleet-home: the home host of a domain in a fleet of two sluice hosts.
#
# Two instances on 127.0.0.2 and 127.0.0.3 list each other as peers.
# Both must name the same home host for every held domain (the summary's
# "home"); mail for site.example that arrives at the other host is relayed
# to the home on the schedule, so that the home holds all of it, the other
# none, nothing twice; one ATRN session at the home (fetchmail in ODMR
# mode, a sink behind it) gets all of it. With the home stopped, the
# other keeps its mail (deferred, logged) and relays it once the home is
# back. A home= in the domains file wins over the hash, and a trigger at
# the other host relays at once.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

use SluiceTest qw(tool free_port run_cmd run_bg slurp spew wait_for);
use Odmr qw(fetchmail_odmr queue_msg sink_start sink_stop sink_messages wait_exit);

my $fetchmail = tool('fetchmail');
my $BUILDDIR = $ENV{SLUICE_BUILDDIR} // '.';
my @names = map { "d$_.example" } 1 .. 8;

# domains - the same table on both hosts; extra words for site.example
sub domains {
	my ($extra) = @_;
	return ("site.example mode=hold route=[127.0.0.1]:\@DEAD\@ probe=no owner=demo"
	    . ($extra // ''),
	    map { "$_ mode=hold route=[127.0.0.1]:\@DEAD\@ probe=no owner=demo" } @names);
}

my %h;
for my $addr ('127.0.0.2', '127.0.0.3') {
	# The fleet's shared secret (peer(8sluice)): config check wants it with peers.
	$h{$addr} = SluiceTest->new(addr => $addr, domains => [domains()],
	    files => { peer_secret => "fleet-home-secret-0123456789\n" }, conf => {
		odmr_listen => "$addr:" . free_port(),
		fleet_relay_interval => '1s',
		auth_failure_delay => '1s',
	});
}
my ($sa, $sb) = @h{'127.0.0.2', '127.0.0.3'};
$sa->set_conf(peers => $sb->addr . ':' . $sb->port);
$sb->set_conf(peers => $sa->addr . ':' . $sa->port);
for my $s ($sa, $sb) {
	my ($rc, $out, $err) = run_cmd(["$BUILDDIR/cli/sluice", '-c', $s->confdir,
	    'passwd', 'demo', '-f', $s->confdir . '/passwd'], stdin => "demo\n");
	is($rc, 0, 'sluice passwd demo') or diag($err);
	my ($crc, $cout, $cerr) = $s->cli('config', 'check');
	is($crc, 0, $s->addr . ': config check passes with peers') or diag($cout . $cerr);
}
$_->start for $sa, $sb;

# summary_homes - domain => home from `sluice queue summary --json`
sub summary_homes {
	my ($s) = @_;
	my ($rc, $out, $err) = $s->cli('queue', 'summary', '--json');
	diag("queue summary: exit $rc: $err") if $rc != 0;
	my %home;
	for my $line (split /\n/, $out) {
		my $j = eval { decode_json($line) } or next;
		$home{$j->{domain}} = $j->{home} if defined $j->{home};
	}
	return \%home;
}

my ($ha, $hb) = (summary_homes($sa), summary_homes($sb));
is(scalar(keys %$ha), 9, 'the summary names a home for every held domain');
is_deeply($hb, $ha, 'both hosts compute the same home for every domain');
my %member = map { $_->addr . ':' . $_->port => $_ } $sa, $sb;
ok(!grep({ !$member{$_} } values %$ha), 'every home is a member of the fleet')
    or diag(explain($ha));
my $home = $member{ $ha->{'site.example'} };
my $other = $home == $sa ? $sb : $sa;
my $home_name = $home->addr . ':' . $home->port;
my $other_name = $other->addr . ':' . $other->port;
note("site.example's home is $home_name");

# Mail for site.example at both hosts, three each.
my (%sent, @ids_other);
for my $i (1 .. 6) {
	my $s = $i <= 3 ? $home : $other;
	my $mid = "<home$i\@origin.test>";
	my $id = queue_msg($s, "user$i\@site.example",
	    "Subject: $i\r\nMessage-ID: $mid\r\n\r\nmessage $i\r\n");
	ok($id, "message $i queued at " . $s->addr);
	$sent{$mid} = 1;
	push @ids_other, $id if $s == $other;
}

# The other host relays its three on the schedule; the home holds six.
ok($other->wait_log(qr/relay=home: domain=site\.example, home=\[\Q$home->{addr}\E\]:\d+, queued=\d+, why=schedule/, 30),
    'the other host logs relaying site.example to its home');
ok(wait_for(sub { !$other->queue_files }, 30), "the other host's queue is empty")
    or diag($other->log_text);
ok($other->wait_log(qr/: relay=home, domain=site\.example, home=\S+, status=sent, sent=1,/, 10, 3),
    'each relayed message is logged as sent');
my ($map) = $home->message_ids;
ok(wait_for(sub { ($map) = $home->message_ids; keys %$map == 6 }, 30),
    'the home holds all six');
is_deeply([sort keys %$map], [sort keys %sent], 'the home holds each Message-ID');
ok(!grep({ @$_ != 1 } values %$map), 'no message twice at the home') or diag(explain($map));

# The home never relays its own domain: mail for a domain whose home is
# the other host, queued at the home, is relayed away by the home's
# schedule; by then site.example's mail must still be there.
my ($away) = grep { $ha->{$_} eq $other_name } @names;
SKIP: {
	skip 'every test domain hashed to the same host', 2 unless $away;
	ok(queue_msg($home, "x\@$away", "Subject: away\r\nMessage-ID: <away\@origin.test>\r\n\r\nx\r\n"),
	    "mail for $away (home: the other host) queued at the home");
	ok($home->wait_log(qr/relay=home: domain=\Q$away\E, .*why=schedule/, 30),
	    "the home relays $away to the other host");
}
is($home->log_count(qr/relay=home.*domain=site\.example/), 0,
    'the home never relays site.example');
($map) = $home->message_ids;
is(scalar(grep { /home\d/ } keys %$map), 6, 'the six stay held at the home');

# One ATRN session at the home gets all six.
my $dir = tempdir('fleet-home-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $sink = sink_start("$dir/sink");
my ($odmr_port) = $home->{conf}{odmr_listen} =~ /:(\d+)$/;
my $pid = fetchmail_odmr($dir, $home->addr, $odmr_port, $sink->{port}, 'site.example');
my $st = wait_exit($pid, 60);
is($st, 0, 'fetchmail (ODMR) at the home exits 0') or diag(slurp("$dir/fetchmail.out"));
my @got = sink_messages($sink);
my %got;
$got{$_}++ for map { /^Message-ID:\s*(\S+)/mi ? $1 : '?' } @got;
is_deeply(\%got, { map { $_ => 1 } keys %sent },
    'the one ATRN session delivered all six, each once');
is(slurp("$sink->{dir}/connections"), 1, 'all on one connection');
# The ATRN login is a customer's signal too: passed to the other host.
ok($home->wait_log(qr/peer: domain=site\.example, source=atrn, passing to 1 peers/),
    'the home passes the ATRN login to its peer');
ok($other->wait_log(qr/trigger: domain=site\.example, source=peer, client=\Q$home->{addr}\E/),
    'the other host gets it as source=peer');
ok(wait_for(sub { !grep { /home\d/ } keys %{ ($home->message_ids)[0] } }, 20),
    "site.example's mail left the home's queue");

# The home is down: the other host keeps new mail, deferred, and logs it.
$home->stop;
my @late;
for my $i (7, 8) {
	my $mid = "<home$i\@origin.test>";
	push @late, $mid;
	ok(queue_msg($other, "user$i\@site.example",
	    "Subject: $i\r\nMessage-ID: $mid\r\n\r\nmessage $i\r\n"), "message $i queued at the other host");
}
ok($other->wait_log(qr/: relay=home, domain=site\.example, home=\S+, status=deferred \(connect to \Q$home->{addr}\E/, 30, 2),
    'relaying to the stopped home is deferred and logged');
my $nlines = $other->log_count(qr/relay=home: domain=site\.example, .*why=schedule/);
ok($other->wait_log(qr/relay=home: domain=site\.example, .*why=schedule/, 30, $nlines + 1),
    'the next relay runs');
my ($omap) = $other->message_ids;
is_deeply([sort grep { /home/ } keys %$omap], [sort @late], 'the other host still holds both');
is($other->log_count(qr/status=bounced|from=<>/), 0, 'nothing bounced');
my @q = $other->queue_list('--domain', 'site.example');
ok(@q == 2 && !grep({ ($_->{recipients}[0]{delay_reason} // '') !~ /\Q$home->{addr}\E.*refused/ } @q),
    'the queue shows both deferred: the home refused the connection') or diag(explain(\@q));

# The home is back: the mail goes to it once.
$home->start;
ok(wait_for(sub { !grep { /home/ } keys %{ ($other->message_ids)[0] } }, 60),
    'the other host relays once the home is back');
ok(wait_for(sub { ($map) = $home->message_ids; grep({ /home[78]/ } keys %$map) == 2 }, 30),
    'the home holds both');
ok(!grep({ @$_ != 1 } values %$map), 'nothing twice');

# home= wins over the hash; a trigger at the other host relays at once.
for my $s ($sa, $sb) {
	$s->stop;
	$s->set_domains(domains(" home=$other_name"));
	$s->set_conf(fleet_relay_interval => 0);
	$s->start;
}
is(summary_homes($sa)->{'site.example'}, $other_name, 'home= wins (first host)');
is(summary_homes($sb)->{'site.example'}, $other_name, 'home= wins (second host)');
($map) = $home->message_ids;
my @was_home = grep { /home[78]/ } keys %$map;
ok($home->wait_log(qr/qmgr\[\d+\]/, 5), 'the former home runs');
my ($frc, $fout, $ferr) = $home->cli('flush', 'site.example');
is($frc, 0, 'sluice flush site.example at the former home') or diag($fout . $ferr);
ok($home->wait_log(qr/relay=home: domain=site\.example, home=\[\Q$other->{addr}\E\]:\d+, queued=2, why=cli/, 30),
    'the trigger relays to the new home at once');
ok(wait_for(sub { !grep { /home[78]/ } keys %{ ($home->message_ids)[0] } }, 30),
    'the former home is empty');
ok(wait_for(sub { ($omap) = $other->message_ids; grep({ /home[78]/ } keys %$omap) == 2 }, 30),
    'the new home holds both');

# config check refuses a home that is no member of the fleet.
$sa->stop;
$sa->set_domains(domains(' home=192.0.2.1:25'));
my ($crc, $cout, $cerr) = $sa->cli('config', 'check');
isnt($crc, 0, 'config check refuses home= naming no host of the fleet');
like($cout . $cerr, qr/domains:\d+: home=192\.0\.2\.1:25: not this host \(\Q$sa->{addr}\E:\d+\) nor one of peers/,
    'and says which file, line and value');

note(join "\n", map { $_->log_lines(qr/relay=home/) } $sa, $sb);
sink_stop($sink);
$_->stop for $sa, $sb;
done_testing();
