# t/layers.t - the one-way layers of STYLE.md rule 2, checked on the
# #include lines: lib/util knows nothing of mail, lib/ knows no program,
# and no program includes another program's headers; and only the index
# module (qindex.c and the files it is split into) includes <db.h>
# (DESIGN.md: LMDB may replace Berkeley DB).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use File::Find;

my $src = $ENV{SLUICE_SRCDIR} || '.';
my @programs = qw(master smtpd qmgr deliver etrn fingerd prober web cli);
my %db_h = map { ("lib/mail/$_" => 1) } qw(qindex.c qindex_env.c qindex_walk.c qindex_stats.c qindex_int.h);
my (@files, %bad);
find(sub { push @files, $File::Find::name if /\.[ch]$/ }, map { "$src/$_" } 'lib', @programs);
ok(@files > 50, 'found the sources: ' . scalar @files);
for my $f (@files) {
	open my $fh, '<', $f or die "$f: $!\n";
	(my $rel = $f) =~ s{^\Q$src\E/}{};
	my ($dir) = $rel =~ m{^([^/]+(?:/[^/]+)?)/};
	while (my $line = <$fh>) {
		my ($inc) = $line =~ /^\s*#\s*include\s+"([^"]+)"/;
		my ($sys) = $line =~ /^\s*#\s*include\s+<([^>]+)>/;
		if (defined $sys && $sys eq 'db.h' && !$db_h{$rel}) {
			push @{ $bad{$rel} }, "<db.h> outside the index module (lib/mail/qindex*)";
		}
		next unless defined $inc;
		my ($top) = $inc =~ m{^([^/]+)/};
		next unless defined $top;
		if ($rel =~ m{^lib/util/} && $top ne 'util') {
			push @{ $bad{$rel} }, "lib/util includes $inc";
		} elsif ($rel =~ m{^lib/} && grep { $_ eq $top } @programs) {
			push @{ $bad{$rel} }, "lib/ includes the program header $inc";
		} elsif ($rel !~ m{^lib/}) {
			my ($prog) = $rel =~ m{^([^/]+)/};
			push @{ $bad{$rel} }, "$prog includes another program's $inc"
			    if grep({ $_ eq $top } @programs) && $top ne $prog;
		}
	}
}
is_deeply(\%bad, {}, 'every #include goes one way: util <- mail <- programs, none across programs')
    or diag(join "\n", map { "$_: @{ $bad{$_} }" } sort keys %bad);
done_testing;
