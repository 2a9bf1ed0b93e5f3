# 60-config: `sluice config -n` prints what is set, as saved in
# t/data/config.expected, and its printout reads back the same;
# `sluice config check` names FILE:LINE of each error and exits 78
# (EX_CONFIG); master refuses a broken config.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use SluiceTest qw(slurp spew run_cmd);

my $builddir = $ENV{SLUICE_BUILDDIR};
my $expected_file = "$ENV{SLUICE_SRCDIR}/t/data/config.expected";

my $s = SluiceTest->new(conf => {
	mydomain => 'sluice.test',
	smtpd_banner => '$myhostname ESMTP $$5 test',
	message_size_limit => '20M',
	smtpd_timeout => '5m',
	smtpd_recipient_limit => 50,
	mynetworks => '127.0.0.0/8, 192.0.2.0/24',
	log_file => '${queue_directory}/../sluice.log',
	maximal_queue_lifetime => '3d',
	smtpd_client_connection_limit => 10,
	smtpd_line_limit => 1000,
	odmr_atrn_interval => '30s',
});
my ($dir, $port) = ($s->dir, $s->port);

# mask - replace what differs between runs with placeholders
sub mask {
	my ($t) = @_;
	$t =~ s/\Q$dir\E/\@DIR\@/g;
	$t =~ s/\Q$builddir\E/\@BUILDDIR\@/g;
	$t =~ s/127\.0\.0\.1:$port\b/127.0.0.1:\@PORT\@/g;
	return $t;
}

my ($rc, $out, $err) = $s->cli('config', 'check');
is($rc, 0, 'config check of a good config exits 0') or diag($err);

($rc, $out, $err) = $s->cli('config', '-n');
is($rc, 0, 'sluice config -n exits 0') or diag($err);
my $got = mask($out);
my $want = slurp($expected_file);
ok(defined $want, "saved output $expected_file exists");
is($got, $want // '', 'sluice config -n output matches t/data/config.expected')
    or diag("got:\n$got");

# Parse the printout again: same config, same printout.
my $again = "$dir/again";
mkdir $again or die "mkdir $again: $!";
spew("$again/sluice.conf", $out);
spew("$again/domains", slurp($s->confdir . '/domains'));
my ($rc2, $out2, $err2) = run_cmd(["$builddir/cli/sluice", '-c', $again, 'config', 'check']);
is($rc2, 0, 'the printout passes config check') or diag($err2);
($rc2, $out2, $err2) = run_cmd(["$builddir/cli/sluice", '-c', $again, 'config', '-n']);
is($out2, $out, 'and prints the same again');

# config NAME and config -d
($rc, $out, $err) = $s->cli('config', 'smtpd_timeout', 'message_size_limit');
is($rc, 0, 'config NAME... exits 0');
like($out, qr/^smtpd_timeout = 5m$/m, 'config smtpd_timeout');
like($out, qr/^message_size_limit = 20M$/m, 'config message_size_limit');
($rc, $out, $err) = $s->cli('config', '-d');
is($rc, 0, 'config -d exits 0');
my @bad = grep { !/^[a-z][a-z0-9_]* =( .*)?$/ } split /\n/, $out;
is_deeply(\@bad, [], 'config -d prints only "name = value" lines');
for my $p (qw(queue_directory daemon_directory smtp_listen myhostname log_file
    smtpd_client_connection_limit smtpd_timeout smtpd_line_limit
    message_size_limit smtpd_recipient_limit mynetworks)) {
	like($out, qr/^\Q$p\E =/m, "config -d lists $p");
}
like($out, qr/^smtpd_banner = \$myhostname /m, 'config -d shows defaults unexpanded');

# Broken configs: each names the file and line, exit 78.
my @broken = (
	['a line that is no setting', { 'sluice.conf' => "# c\nmyhostname = a.test\nbogus line\n" }, 'sluice.conf:3:'],
	['unknown parameter', { 'sluice.conf' => "\nno_such_parameter = 1\n" }, 'sluice.conf:2:'],
	['bad time', { 'sluice.conf' => "#\n#\n#\nsmtpd_timeout = forever\n" }, 'sluice.conf:4:'],
	['bad size', { 'sluice.conf' => "message_size_limit = lots\n" }, 'sluice.conf:1:'],
	['bad listen address', { 'sluice.conf' => "#\nsmtp_listen = 127.0.0.1:notaport:x\n" }, 'sluice.conf:2:'],
	['expansion loop', { 'sluice.conf' => "#\n#\nmyhostname = \$myhostname.x\n" }, 'sluice.conf:3:'],
	['bad domain mode', { domains => "site.example mode=hold\nsite2.example mode=sometimes\n" }, 'domains:2:'],
	['bad domain name', { domains => "# customers\nbad..example mode=hold\n" }, 'domains:2:'],
	['bad route', { domains => "#\n#\nx.example route=nowhere\n" }, 'domains:3:'],
	['unknown domain key', { domains => "x.example colour=blue\n" }, 'domains:1:'],
	['missing recipients file', { domains => "#\nx.example recipients=/nonexistent/sluice.rcpts\n" }, 'domains:2:'],
	# What deliver could not use (it dropped qmgr's connection at each job).
	['route host deliver cannot use', { domains => "#\nx.example route=[mail!host]:25\n" }, 'domains:2:'],
	['route port out of range', { domains => "x.example mode=hold\ny.example route=[127.0.0.1]:65536\n" }, 'domains:2:'],
	['smtp_mx_port out of range', { 'sluice.conf' => "#\nsmtp_mx_port = 70000\n" }, 'sluice.conf:2:'],
);
for my $b (@broken) {
	my ($name, $files, $where) = @$b;
	my $d = "$dir/broken";
	system('rm', '-rf', $d);
	mkdir $d or die "mkdir $d: $!";
	my $conf = "queue_directory = $dir/queue\n";
	spew("$d/sluice.conf", $files->{'sluice.conf'} // $conf);
	spew("$d/domains", $files->{domains} // "site.example mode=hold\n");
	my ($brc, $bout, $berr) = run_cmd(["$builddir/cli/sluice", '-c', $d, 'config', 'check']);
	is($brc, 78, "$name: config check exits 78");
	like("$bout$berr", qr/\Q$d\/$where\E/, "$name: names $where") or diag("$bout$berr");
}

# master refuses to start with a broken config and says where.
{
	my $d = "$dir/broken";
	spew("$d/sluice.conf", "queue_directory = $dir/queue2\nsmtp_listen = 127.0.0.1:$port\n"
	    . "daemon_directory = $builddir/libexec\nbogus line\n");
	spew("$d/domains", "site.example mode=hold\n");
	my ($mrc, $mout, $merr) = run_cmd(["$builddir/master/master", '-c', $d, '-f'], timeout => 30);
	ok($mrc != 0 && $mrc < 128, "master with a broken config exits non-zero (got $mrc)");
	like("$mout$merr", qr/\Q$d\/sluice.conf:4:\E/, 'and names sluice.conf:4');
}

# A route deliver cannot use: config check says which value and how to
# fix it, and master refuses it at load with the domains file's line.
{
	my $d = "$dir/broken";
	spew("$d/sluice.conf", "queue_directory = $dir/queue2\nsmtp_listen = 127.0.0.1:$port\n"
	    . "daemon_directory = $builddir/libexec\n");
	spew("$d/domains", "site.example mode=hold route=[127.0.0.1]:2626\n"
	    . "bad.example mode=hold route=[mail!host]:25\n");
	my ($crc, $cout, $cerr) = run_cmd(["$builddir/cli/sluice", '-c', $d, 'config', 'check']);
	is($crc, 78, 'a route deliver cannot use: config check exits 78');
	like("$cout$cerr", qr/\Q$d\/domains:2: route=[mail!host]:25: bad route host; put a host name or an IP address between the brackets\E/,
	    'and names the file, line, value and fix') or diag("$cout$cerr");
	unlike("$cout$cerr", qr/domains:1:/, 'a good route on line 1 passes');
	my ($mrc, $mout, $merr) = run_cmd(["$builddir/master/master", '-c', $d, '-f'], timeout => 30);
	ok($mrc != 0 && $mrc < 128, "master with that route exits non-zero (got $mrc)");
	like("$mout$merr", qr/\Q$d\/domains:2: route=[mail!host]:25\E/, 'and names domains:2 and the route');
}

done_testing;
