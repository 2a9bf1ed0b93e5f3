# t/35-full-disk.t - a full disk costs mail only the 452 it answers: every
# message that got a 250 is intact, nothing half-written stays behind,
# and once there is room again mail is accepted again.
#
# The queue lives on a small tmpfs, so this needs root (mount); CI runs
# as root. As anyone else the test says why it cannot run.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use SluiceTest qw(smtp_connect smtp_xact smtp_send smtp_reply run_cmd);

plan skip_all => 'mounting a small tmpfs for the queue needs root' if $> != 0;

my $s = SluiceTest->new(conf => {
	message_size_limit => '1M',
	queue_minfree => '3M',
});
my $q = $s->qdir;
mkdir $q or die "mkdir $q: $!\n";
my ($rc, $out, $err) = run_cmd(['mount', '-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'tmpfs', $q]);
plan skip_all => "cannot mount a tmpfs here: $err" if $rc != 0;
END { system('umount', '-l', $q) if $q && -d $q; }

$s->start;

# send_one - one message of about BYTES; (code at the end, text, queue ID)
sub send_one {
	my ($bytes, $tag) = @_;
	my ($sock, $code, $text) = smtp_connect($s);
	return (undef, $text) unless $sock;
	for my $cmd ('EHLO full.sluice.test', 'MAIL FROM:<sender@sluice.test>',
	    'RCPT TO:<user@site.example>', 'DATA') {
		($code, $text) = smtp_xact($sock, $cmd);
		return ($code, $text) if !defined $code || $code >= 400;
	}
	my $line = ('x' x 76) . "\r\n";
	my $body = "Subject: $tag\r\nMessage-ID: <$tag\@sluice.test>\r\n\r\n"
	    . ($line x int($bytes / 78)) . ".\r\n";
	smtp_send($sock, $body);
	($code, $text) = smtp_reply($sock);
	smtp_xact($sock, 'QUIT');
	my ($id) = ($text // '') =~ /queued as ([0-9A-F]{20})/;
	return ($code, $text, $id);
}

# Fill the queue with 900 KB messages until the free-space floor answers.
my (%accepted, $refusal);
for my $n (1 .. 40) {
	my ($code, $text, $id) = send_one(900_000, "fill$n");
	if (defined $code && $code == 250 && $id) {
		$accepted{$id} = "fill$n";
		next;
	}
	$refusal = [$code, $text];
	last;
}
ok(scalar(keys %accepted) >= 3, 'some messages were accepted before the disk filled: '
    . scalar(keys %accepted));
ok($refusal && defined $refusal->[0] && $refusal->[0] == 452,
    'then the floor answers 452: ' . ($refusal ? ($refusal->[1] // 'no reply') : 'never refused'));
like($refusal ? $refusal->[1] // '' : '', qr/4\.3\.1/, 'with 4.3.1 (insufficient system storage)');

# Now lower the floor (reload), start a transaction, and take the last
# free blocks away behind sluice's back while the message is on its way:
# the write or the commit meets ENOSPC, and that must fail cleanly with a
# 4xx, never answer 250.
$s->set_conf(queue_minfree => '1k');
kill 'HUP', $s->pid;
my ($sock, $code, $text);
my $mail_ok = SluiceTest::wait_for(sub {
	($sock, $code, $text) = smtp_connect($s);
	return 0 unless $sock;
	smtp_xact($sock, 'EHLO full.sluice.test');
	($code, $text) = smtp_xact($sock, 'MAIL FROM:<sender@sluice.test>');
	return 1 if defined $code && $code == 250;
	close $sock;
	return 0;
}, 10);
ok($mail_ok, 'after the reload MAIL passes the lowered floor');
($code) = smtp_xact($sock, 'RCPT TO:<user@site.example>');
($code) = smtp_xact($sock, 'DATA');
is($code, 354, 'DATA goes ahead');
open my $fh, '>', "$q/filler" or die "filler: $!\n";
my $chunk = 'f' x 65536;
while (syswrite($fh, $chunk)) { }
close $fh;
smtp_send($sock, "Subject: nospace\r\n\r\n" . (('y' x 76) . "\r\n") x 4000 . ".\r\n");
($code, $text) = smtp_reply($sock);
ok(defined $code && $code >= 400 && $code < 500,
    'a message that meets a full disk gets a 4xx, not a 250: ' . ($text // 'no reply'));
like($s->log_text, qr/No space left on device/, 'the log names the failed write');
close $sock;

# Every message that got a 250 is complete and readable.
my $bad = 0;
for my $id (sort keys %accepted) {
	my ($rc2, $show) = $s->cli('queue', 'show', $id);
	$bad++ unless $rc2 == 0 && $show =~ /Subject: \Q$accepted{$id}\E/;
}
is($bad, 0, 'every accepted message is intact (queue show)');
my @incoming = glob "$q/incoming/*";
is(scalar @incoming, 0, 'nothing half-written is left in incoming/');
is(scalar $s->dir_entries('corrupt'), 0, 'nothing was quarantined');
ok($s->alive && $s->child_pid('smtpd') && $s->child_pid('qmgr'), 'master, smtpd and qmgr still run');

# Room again (the filler goes, and the operator deletes a few messages):
# mail flows again, and the index agrees with the files.
unlink "$q/filler";
my @drop = (sort keys %accepted)[0 .. 2];
($rc) = $s->cli('queue', 'delete', @drop);
is($rc, 0, 'sluice queue delete of three messages');
delete @accepted{@drop};
my ($code2, $text2, $id2) = send_one(10_000, 'after');
is($code2, 250, 'after space is freed a message is accepted again: ' . ($text2 // ''));
$accepted{$id2} = 'after' if $id2;
my @files = $s->queue_files;
is_deeply([sort $s->queue_list_ids], \@files, 'index and msg/ agree');
is_deeply(\@files, [sort keys %accepted], 'exactly the accepted messages are queued');

$s->stop;
done_testing;
