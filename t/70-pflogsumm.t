# 70-pflogsumm: the log has Postfix's shape, so pflogsumm, the usual
# Postfix log summariser, reports the messages sluice received. sluice
# runs as a daemon here (`sluice start`), logging to log_file as on a host
# without a syslog daemon.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use SluiceTest qw(tool run_cmd slurp smtp_connect wait_for);

my $pflogsumm = tool('pflogsumm');
my $s = SluiceTest->new;
my $log = $s->dir . '/mail.log';
$s->set_conf(log_file => $log);
my ($rc, $out, $err) = $s->cli('start');
is($rc, 0, 'sluice start exits 0') or diag("$out$err");
ok(wait_for(sub { my ($c, $code) = smtp_connect($s); ($code // 0) == 220 }, 30),
    'the daemon answers 220');

my $n = 0;
for my $i (1 .. 3) {
	my ($rc, $out) = $s->swaks('--from', "sender$i\@client.sluice.test",
	    '--to', "user$i\@site.example");
	$n++ if $rc == 0;
	diag($out) if $rc != 0;
}
is($n, 3, 'three messages accepted');
($rc, $out) = $s->swaks('--to', 'user@elsewhere.example');
isnt($rc, 0, 'one refused');
($rc, $out, $err) = $s->cli('stop');
is($rc, 0, 'sluice stop exits 0') or diag("$out$err");

my $text = slurp($log) // '';
ok(length $text, 'log_file was written');
my @odd = grep { !/^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ sluice\/\w+\[\d+\]: \S/ } split /\n/, $text;
is_deeply(\@odd, [], 'every log line has the Postfix shape');
is(scalar(() = $text =~ /sluice\/smtpd\[\d+\]: [0-9A-F]{20}: client=/g), 3,
    'three "ID: client=" lines');

my ($prc, $sum, $perr) = run_cmd([$pflogsumm, '--syslog-name=sluice', $log]);
is($prc, 0, 'pflogsumm exits 0') or diag($perr);
like($sum, qr/^\s*3\s+received$/m, 'pflogsumm reports 3 received')
    or diag($sum);

done_testing;
