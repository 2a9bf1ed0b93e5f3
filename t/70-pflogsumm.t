# 70-pflogsumm: the log (log_file) has Postfix's shape, so pflogsumm, the
# usual Postfix log summariser, reports the messages sluice received.
use strict;
use warnings;

use Test::More;
use SluiceTest qw(tool run_cmd slurp);

my $pflogsumm = tool('pflogsumm');
my $s = SluiceTest->new;
my $log = $s->dir . '/mail.log';
$s->set_conf(log_file => $log);
$s->start;

my $n = 0;
for my $i (1 .. 3) {
	my ($rc, $out) = $s->swaks('--from', "sender$i\@client.sluice.test",
	    '--to', "user$i\@site.example");
	$n++ if $rc == 0;
	diag($out) if $rc != 0;
}
is($n, 3, 'three messages accepted');
my ($rc, $out) = $s->swaks('--to', 'user@elsewhere.example');
isnt($rc, 0, 'one refused');
$s->stop;

my $text = slurp($log) // '';
ok(length $text, 'log_file was written') or diag($s->log_text);
my @odd = grep { !/^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ sluice\/\w+\[\d+\]: \S/ } split /\n/, $text;
is_deeply(\@odd, [], 'every log line has the Postfix shape');
is(scalar(() = $text =~ /sluice\/smtpd\[\d+\]: [0-9A-F]{20}: client=/g), 3,
    'three "ID: client=" lines');

my ($prc, $sum, $perr) = run_cmd([$pflogsumm, '--syslog-name=sluice', $log]);
is($prc, 0, 'pflogsumm exits 0') or diag($perr);
like($sum, qr/^\s*3\s+received$/m, 'pflogsumm reports 3 received')
    or diag($sum);

done_testing;
