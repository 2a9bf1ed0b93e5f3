# t/99-deb-install.t - the Debian package, as an operator gets it: built
# by dpkg-buildpackage from the release tree (make distdir), lintian with
# no error, installed by dpkg into a temporary root (dpkg --root, the
# maintainer scripts run chrootless with DPKG_ROOT), its layout, owners,
# modes and conffiles checked, and its master started from that root
# with NOTIFY_SOCKET pointing at a socket of ours: READY=1 arrives.
# Then a purge removes the queue and keeps the user.
#
# One build serves every check (about a minute on two cores, most of it
# the compile; lintian adds some 15 seconds).
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use SluiceTest qw(run_cmd wait_for slurp spew sanitizer_build);

my $builddir = $ENV{SLUICE_BUILDDIR};
my $srcdir = $ENV{SLUICE_SRCDIR};

sub have { my ($p) = @_; grep { -x "$_/$p" } split /:/, "$ENV{PATH}:/usr/sbin:/usr/bin" }
plan skip_all => 'dpkg-buildpackage is not installed (Debian: apt-get install dpkg-dev debhelper)'
    unless have('dpkg-buildpackage');
# The package builds its own programs with Debian's flags, never the
# sanitizer build's: under build.sh asan it would be the same package
# again (a compile of the whole tree), so the plain pass alone checks it.
plan skip_all => 'the package is built and checked in the plain pass (build.sh check)'
    if sanitizer_build();

my ($version) = (slurp("$builddir/config.h") // '') =~ /^#define PACKAGE_VERSION "([^"]+)"/m
    or BAIL_OUT("no PACKAGE_VERSION in $builddir/config.h");
my $tmp = tempdir('sluice-deb-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{SLUICE_TEST_KEEP});
# As root the daemons started below run as sluice: they must reach $tmp.
chmod 0755, $tmp;

# The tree a distribution builds from: the release tarball's files. The
# make that runs this test must not lend us its job server.
delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES)};
my $tree = "$tmp/sluice-$version";
my ($rc, $out, $err) = run_cmd(['make', '-s', '-C', $builddir, 'distdir', "distdir=$tree"],
    timeout => 120);
is($rc, 0, 'make distdir copies the release tree') or diag($err);

# Build. nocheck: the suite is this suite; noautodbgsym: nobody reads it.
chdir $tree or die "chdir $tree: $!\n";
($rc, $out, $err) = run_cmd(['dpkg-buildpackage', '-us', '-uc', '-b'],
    env => { DEB_BUILD_OPTIONS => 'nocheck noautodbgsym parallel=2' }, timeout => 900);
chdir '/';
my $deb = "$tmp/sluice_${version}_" . `dpkg --print-architecture` =~ s/\s+//gr . '.deb';
ok($rc == 0 && -f $deb, "dpkg-buildpackage -us -uc -b builds $deb")
    or BAIL_OUT("dpkg-buildpackage failed ($rc):\n" . join("\n", (split /\n/, "$out\n$err")[-40 .. -1]));

# lintian: errors fail, warnings are shown.
SKIP: {
	skip 'lintian is not installed (apt-get install lintian)', 1 unless have('lintian');
	($rc, $out, $err) = run_cmd(['lintian', '--no-tag-display-limit', $deb], timeout => 300);
	my @e = grep { /^E: / } split /\n/, $out;
	is(scalar @e, 0, 'lintian reports no error') or diag(join "\n", @e);
	diag($_) for grep { /^W: / } split /\n/, $out;
}

# What the package holds, by name: nothing a Debian package already
# owns. Daemons' pages carry the 8sluice section, as Postfix's 8postfix.
($rc, $out) = run_cmd(['dpkg-deb', '--contents', $deb]);
my @paths = map { (split ' ', $_, 6)[5] =~ s{^\./}{/}r } grep { /\S/ } split /\n/, $out;
my @daemons = sort map { s{.*/}{}r } glob "$builddir/libexec/*";
ok(@daemons >= 8, "the build tree lists its daemons (@daemons)");
my @plain8 = grep { m{^/usr/share/man/man8/(?!sluice\.8\.gz$)[^/]+\.8\.gz$} } @paths;
is("@plain8", '', 'no page in man8 but sluice.8 has the bare section 8 (opensmtpd owns smtpd.8)');
for my $d (@daemons) {
	ok((grep { $_ eq "/usr/share/man/man8/$d.8sluice.gz" } @paths), "$d.8sluice is in the package");
}

SKIP: {
	skip 'installing with dpkg --root sets owners: run as root', 1 if $> != 0;
	install_and_run();
}
done_testing;

# field FILE NAME N - field N (0-based) of NAME's line in a passwd/group file.
sub field {
	my ($file, $name, $n) = @_;
	for (split /\n/, slurp($file) // '') {
		my @f = split /:/, $_, -1;
		return $f[$n] if $f[0] eq $name;
	}
	return undef;
}

sub install_and_run {
	# A root with an empty dpkg database and the base system's users
	# and groups; the package's postinst adds sluice there.
	my $R = "$tmp/root";
	for my $d (qw(etc var/lib/dpkg/info var/lib/dpkg/updates var/lib/dpkg/triggers)) {
		run_cmd(['mkdir', '-p', "$R/$d"]);
	}
	chmod 0755, $R;
	spew("$R/var/lib/dpkg/$_", '') for qw(status available);
	spew("$R/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
	spew("$R/etc/group", "root:x:0:\nadm:x:4:\n");
	spew("$R/etc/shadow", "root:*:19000:0:99999:7:::\n");
	spew("$R/etc/gshadow", "root:*::\nadm:*::\n");
	chmod 0640, "$R/etc/shadow", "$R/etc/gshadow";
	# Services are not started in a root that is not running: the
	# standard policy-rc.d answer (101, action forbidden) to
	# deb-systemd-invoke, which looks under DPKG_ROOT.
	run_cmd(['mkdir', '-p', "$R/usr/sbin"]);
	spew("$R/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n");
	chmod 0755, "$R/usr/sbin/policy-rc.d";
	my $dpkg = ['dpkg', "--root=$R", '--force-script-chrootless', '--force-depends'];
	($rc, $out, $err) = run_cmd([@$dpkg, '-i', $deb], timeout => 120);
	is($rc, 0, 'dpkg --root installs the package, maintainer scripts and all')
	    or diag("$out\n$err");

	# The user and group, made by postinst.
	my $uid = field("$R/etc/passwd", 'sluice', 2);
	my $gid = field("$R/etc/group", 'sluice', 2);
	ok(defined $uid && defined $gid, "postinst made the user and group sluice ("
	    . ($uid // 'no user') . ':' . ($gid // 'no group') . ')');
	$uid //= -1;
	$gid //= -1;
	is(field("$R/etc/passwd", 'sluice', 5), '/nonexistent', 'sluice has no home');

	# The daemons, the commands.
	for my $d (@daemons) {
		ok(-f "$R/usr/libexec/sluice/$d" && -x _, "/usr/libexec/sluice/$d is executable");
	}
	ok(-x "$R/usr/sbin/sluice", 'sluice is in /usr/sbin (the operator\'s, as postqueue)');
	ok(-x "$R/usr/bin/sluice-turn", 'sluice-turn is in /usr/bin (the site\'s client)');

	# Owners and modes: "ls -l" as an operator would read it.
	my @want = (
		['/etc/sluice/passwd', 0, $gid, 0100640, 'root:sluice 0640'],
		['/etc/sluice/sluice.conf', 0, 0, 0100644, 'root:root 0644'],
		['/etc/sluice/domains', 0, 0, 0100644, 'root:root 0644'],
		['/var/spool/sluice', $uid, $gid, 040700, 'sluice:sluice 0700'],
		['/var/log/sluice', $uid, 4, 042750, 'sluice:adm 2750'],
	);
	for my $w (@want) {
		my ($path, $u, $g, $mode, $say) = @$w;
		my @st = lstat "$R$path";
		my $got = @st ? sprintf('%d:%d %o', $st[4], $st[5], $st[2]) : 'missing';
		is($got, sprintf('%d:%d %o', $u, $g, $mode), "$path is $say");
	}
	unlike(slurp("$R/etc/sluice/domains") // '', qr/^[^#\s]/m,
	    '/etc/sluice/domains lists no domain (the quick start\'s demo is not installed)');
	unlike(slurp("$R/etc/sluice/passwd") // '', qr/^[^#\s]/m,
	    '/etc/sluice/passwd holds no login (the demo password is public)');

	# The compiled-in paths are the package's.
	($rc, $out) = run_cmd(["$R/usr/sbin/sluice", 'config', '-d']);
	for (['config_directory', '/etc/sluice'], ['daemon_directory', '/usr/libexec/sluice'],
	    ['queue_directory', '/var/spool/sluice']) {
		like($out, qr/^\Q$_->[0]\E = \Q$_->[1]\E$/m, "compiled-in $_->[0] = $_->[1]");
	}

	# Conffiles in dpkg's database.
	($rc, $out) = run_cmd(['dpkg-query', "--admindir=$R/var/lib/dpkg", '-W',
	    '-f=${Conffiles}\n', 'sluice']);
	my %conf = map { (split ' ')[0] => 1 } grep { /\S/ } split /\n/, $out;
	ok($conf{$_}, "$_ is a conffile") for qw(/etc/sluice/sluice.conf /etc/sluice/domains
	    /etc/sluice/passwd);

	# The unit and the logrotate file (conf/sluice.service.in, conf/sluice.logrotate.in).
	ok(-f "$R/lib/systemd/system/sluice.service", '/lib/systemd/system/sluice.service is installed');
	ok(-f "$R/etc/logrotate.d/sluice", '/etc/logrotate.d/sluice is installed');
	ok($conf{'/etc/logrotate.d/sluice'}, '/etc/logrotate.d/sluice is a conffile');

	# master from the package, its children found in the root's
	# daemon_directory, on a queue and ports of its own, with a
	# notification socket as systemd would give it.
	my $s = SluiceTest->new(master => "$R/usr/libexec/sluice/master",
	    conf => { daemon_directory => "$R/usr/libexec/sluice" });
	my $sockpath = $s->dir . '/notify';
	my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $sockpath)
	    or die "bind $sockpath: $!\n";
	{
		local $ENV{NOTIFY_SOCKET} = $sockpath;
		$s->start;
	}
	ok($s->alive, 'the installed master starts and greets on SMTP');
	my $got = '';
	my $sel = IO::Select->new($sock);
	wait_for(sub {
		while ($sel->can_read(0.2)) {
			my $dgram;
			last unless defined $sock->recv($dgram, 4096);
			$got .= "$dgram\n";
		}
		return $got =~ /^READY=1$/m;
	}, 10 * $SluiceTest::SLOW);
	like($got, qr/^READY=1$/m, 'READY=1 arrives on NOTIFY_SOCKET');
	is($s->stop, 0, 'the installed master stops cleanly');

	# Purge: the queue and the logs go, the user stays (files it owns
	# may remain elsewhere).
	($rc, $out, $err) = run_cmd([@$dpkg, '--purge', 'sluice'], timeout => 120);
	is($rc, 0, 'dpkg --purge removes the package') or diag("$out\n$err");
	ok(!-e "$R/var/spool/sluice" && !-e "$R/etc/sluice/sluice.conf",
	    'purge removes the spool and the conffiles');
	ok(defined field("$R/etc/passwd", 'sluice', 2), 'the user sluice stays after purge');
}
