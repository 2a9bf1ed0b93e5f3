# t/manpages.t - each program's man-page header (the comment that opens
# PROG/PROG.c, STYLE rule 4) and its full page man/PROG.8sluice say the same
# things where they can be compared: the options of the SYNOPSIS, the
# queue sockets and files (private/..., public/...) it names, and for
# master the services of its table (master_service.c).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;

my $src = $ENV{SLUICE_SRCDIR} || '.';
my @programs = qw(master smtpd qmgr deliver etrn fingerd prober web peer pop3);

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or die "$f: $!\n";
	local $/;
	return <$fh>;
}

sub words { my %s = map { $_ => 1 } @_; return [sort keys %s] }

for my $p (@programs) {
	my $c = slurp("$src/$p/$p.c");
	my $man = slurp("$src/man/$p.8sluice");
	my ($head) = $c =~ m{\A/\*(.*?)\*/}s;
	ok(defined $head && $head =~ /^ \* NAME$/m, "$p/$p.c opens with its man-page header")
	    or next;
	my ($hsyn) = $head =~ /^ \* SYNOPSIS\n(.*?)^ \* DESCRIPTION/ms;
	my ($msyn) = $man =~ /^\.S[Hh] SYNOPSIS\n(.*?)^\.S[Hh] /ms;
	ok(defined $hsyn && defined $msyn, "$p: both have a SYNOPSIS") or next;
	my @hopt = $hsyn =~ /\[-(\w)/g;
	my @mopt = ($msyn =~ /\\-(\w)/g, map { split // } $msyn =~ /\bFl (\w+)/g);
	is_deeply(words(@hopt), words(@mopt), "$p: the same options in $p.c and $p.8sluice");
	my @hsock = $head =~ m{\b((?:private|public)/\w[\w.-]*\w)}g;
	my @msock = $man =~ m{\b((?:private|public)/\w[\w.-]*\w)}g;
	is_deeply(words(@hsock), words(@msock),
	    "$p: the same sockets and files under private/ and public/ in $p.c and $p.8sluice");
}

# master starts what its table says; both documents list that table.
my $svc = slurp("$src/master/master_service.c");
my @services = $svc =~ /\{ \.name = "(\w+)"/g;
ok(@services >= 5, 'master_service.c: the service table: ' . join(' ', @services));
my ($mhead) = slurp("$src/master/master.c") =~ m{\A/\*(.*?)\*/}s;
my $mman = slurp("$src/man/master.8sluice");
for my $s (@services) {
	like($mhead, qr/^ \*\t\Q$s\E\t/m, "master.c's header lists the service $s");
	like($mman, qr/^\.TP\n\.B \Q$s\E\n/m, "master.8sluice lists the service $s");
}
done_testing;
