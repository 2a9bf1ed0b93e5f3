# 79-config-cli: the config side of the sluice CLI, through the built
# program on scratch configs: config (every value), -n, -d [NAME...],
# NAME..., -e name=value and -X name (safe edits of sluice.conf), the
# extra config check cases (each with its file, line, value and fix,
# exit 78), status with a broken sluice.conf (running and stopped), and
# --help/--version of every program.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use Test::More;
use SluiceTest qw(slurp spew run_cmd);

my $builddir = $ENV{SLUICE_BUILDDIR};
my $root = $> == 0;
my @sluice_pw = getpwnam('sluice');

my $s = SluiceTest->new(conf => { smtpd_timeout => '5m' });
my $conf = $s->confdir . '/sluice.conf';
my ($rc, $out, $err);

# line_of NAME - the line of sluice.conf that sets NAME
sub line_of {
	my ($name) = @_;
	my @l = split /\n/, slurp($conf);
	for my $i (reverse 0 .. $#l) { return $i + 1 if $l[$i] =~ /^\Q$name\E\s*=/ }
	return 0;
}

# --- printing -------------------------------------------------------------
($rc, $out, $err) = $s->cli('config', '-d');
my @defaults = map { /^(\w+) =/ ? $1 : () } split /\n/, $out;
($rc, $out, $err) = $s->cli('config');
is($rc, 0, 'config exits 0') or diag($err);
my @all = map { /^(\w+) =/ ? $1 : () } split /\n/, $out;
is(scalar @all, scalar @defaults, 'config prints every parameter, as config -d lists them');
like($out, qr/^message_size_limit = 10240000$/m, 'config prints defaults in effect');
like($out, qr/^smtpd_timeout = 5m$/m, 'config prints what sluice.conf sets');

($rc, $out, $err) = $s->cli('config', '-n');
is($rc, 0, 'config -n exits 0');
my %set = map { /^(\w+) =/ ? ($1 => 1) : () } split /\n/, slurp($conf);
is_deeply([sort map { /^(\w+) =/ ? $1 : () } split /\n/, $out], [sort keys %set],
    'config -n prints exactly what sluice.conf sets');

($rc, $out, $err) = $s->cli('config', '-d', 'smtpd_timeout', 'mail_owner');
is($rc, 0, 'config -d NAME... exits 0');
is($out, "smtpd_timeout = 300s\nmail_owner = sluice\n", 'config -d NAME... prints their defaults');

($rc, $out, $err) = $s->cli('config', 'smtpd_timeout', 'mail_owner');
is($out, "smtpd_timeout = 5m\nmail_owner = sluice\n", 'config NAME... prints their values');

for my $args (['config', 'no_such_parameter'], ['config', '-d', 'no_such_parameter'],
    ['config', '-e', 'no_such_parameter=1'], ['config', '-X', 'no_such_parameter']) {
	($rc, $out, $err) = $s->cli(@$args);
	is($rc, 64, "@$args exits 64 (EX_USAGE)");
	like($err, qr/no_such_parameter/, "@$args names the unknown parameter");
}

# --- -e and -X ------------------------------------------------------------
spew($conf, slurp($conf) . "# the mail limit\nmessage_size_limit = 20M\n"
    . "mynetworks = 127.0.0.0/8,\n    192.0.2.0/24\n# end\n");
chmod 0640, $conf;
chown 0, $sluice_pw[3], $conf if $root && @sluice_pw;
my @before = (stat $conf)[2, 4, 5];

($rc, $out, $err) = $s->cli('config', '-e', 'message_size_limit=30M', 'smtpd_recipient_limit=77');
is($rc, 0, 'config -e exits 0') or diag($err);
my $text = slurp($conf);
like($text, qr/# the mail limit\nmessage_size_limit = 30M\nmynetworks/, 'config -e replaces the line in place, keeping the comment before it');
like($text, qr/# end\nsmtpd_recipient_limit = 77\n\z/, 'config -e appends a parameter not set yet');
is(() = $text =~ /^message_size_limit/mg, 1, 'the old value is gone');
is_deeply([(stat $conf)[2, 4, 5]], \@before, 'config -e keeps the mode, owner and group');
($rc, $out, $err) = $s->cli('config', 'message_size_limit', 'smtpd_recipient_limit');
is($out, "message_size_limit = 30M\nsmtpd_recipient_limit = 77\n", 'the loader reads the new values');
unlike($err, qr/reload/, 'no reload advice while sluice is stopped');

($rc, $out, $err) = $s->cli('config', '-X', 'mynetworks');
is($rc, 0, 'config -X exits 0') or diag($err);
$text = slurp($conf);
unlike($text, qr/mynetworks|192\.0\.2/, 'config -X removes the setting and its continuation line');
like($text, qr/# end\n/, 'and keeps the comments');

my $saved = slurp($conf);
($rc, $out, $err) = $s->cli('config', '-e', 'smtpd_timeout=forever');
is($rc, 78, 'config -e with a bad value exits 78');
like($err, qr/\Q$conf\E:\d+: smtpd_timeout = "forever": bad time value/, 'it names the file, line and value');
like($err, qr/\Q$conf\E not changed/, 'and says the file is not changed');
is(slurp($conf), $saved, 'the file is unchanged');
is_deeply([grep { /^\.sluice\.conf\./ } map { s{.*/}{}r } glob($s->confdir . '/.sluice.conf.*')], [],
    'no temporary copy is left behind');

# A symlinked sluice.conf is refused, the target untouched.
my $real = $s->dir . '/real.conf';
rename $conf, $real or die "rename: $!";
symlink $real, $conf or die "symlink: $!";
($rc, $out, $err) = $s->cli('config', '-e', 'smtpd_timeout=7m');
isnt($rc, 0, 'config -e on a symlinked sluice.conf fails');
like($err, qr/\Q$conf\E is a symbolic link.*Fix:/, 'and says why, with the fix');
is(slurp($real), $saved, 'the link target is unchanged');
ok(-l $conf, 'the link stays');
unlink $conf;
rename $real, $conf or die "rename: $!";

# --- config check ---------------------------------------------------------
($rc, $out, $err) = $s->cli('config', 'check');
is($rc, 0, 'config check of the edited config passes') or diag($err);

# check_fails NAME, EDIT, RE - config -e EDIT is refused with RE (the
# line, the value, the fix), and config check of it written by hand exits 78
sub check_fails {
	my ($name, $edit, $re) = @_;
	my $good = slurp($conf);
	my ($p, $v) = split /=/, $edit, 2;
	($rc, $out, $err) = $s->cli('config', '-e', $edit);
	is($rc, 78, "$name: config -e $edit is refused with 78");
	is(slurp($conf), $good, "$name: sluice.conf is unchanged");
	spew($conf, "$good$p = $v\n");
	my $line = line_of($p);
	($rc, $out, $err) = $s->cli('config', 'check');
	is($rc, 78, "$name: config check exits 78");
	like($err, qr/\Q$conf\E:$line: \Q$p = $v\E: $re/, "$name: names sluice.conf:$line, the value and why")
	    or diag($err);
	like($err, qr/Fix: /, "$name: and the fix");
	spew($conf, $good);
}

check_fails('mail_owner root', 'mail_owner=root', qr/uid 0: the daemons .* superuser/);
SKIP: {
	skip 'a missing mail_owner stops only a master started as root', 5 unless $root;
	check_fails('mail_owner missing', 'mail_owner=no-such-user-79', qr/no such user/);
}
check_fails('daemon_directory without the daemons', 'daemon_directory=' . $s->dir,
    qr/\Q${\ $s->dir}\E\/master: No such file or directory, so start would fail/);

# queue_directory writable by others
my $q = $s->dir . '/q79';
mkdir $q or die "mkdir $q: $!";
chmod 0777, $q;
check_fails('queue_directory writable by all', "queue_directory=$q",
    qr/every local user can write into it \(mode 0777\)/);
SKIP: {
	skip 'mail_owner differs from us only as root', 5 unless $root && @sluice_pw;
	my $locked = $s->dir . '/locked';
	mkdir $locked, 0700 or die "mkdir $locked: $!";
	check_fails('queue_directory mail_owner cannot reach', "queue_directory=$locked/queue",
	    qr/mail_owner sluice \(uid \d+\) cannot reach \Q$locked\E: Permission denied/);
}

# A static route to our own listener: deliver would hold its mail as a loop.
{
	my $dom = $s->confdir . '/domains';
	my $good = slurp($dom);
	my $port = $s->port;
	spew($dom, "${good}loop.example mode=hold route=[127.0.0.1]:$port\n");
	my $line = () = slurp($dom) =~ /\n/g;
	($rc, $out, $err) = $s->cli('config', 'check');
	is($rc, 78, 'a route to our own smtp_listen: config check exits 78');
	like($err, qr/\Q$dom\E:$line: route=\[127\.0\.0\.1\]:$port: that is this host's own smtp_listen .*Fix: /,
	    '... naming the domains line, the route and the fix') or diag($err);
	spew($dom, $good);
}

# TLS certificates and keys
my $openssl = grep { -x "$_/openssl" } split /:/, $ENV{PATH};
SKIP: {
	skip 'openssl is not installed', 16 unless $openssl;
	my $d = $s->dir;
	for my $n (qw(a b)) {
		system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/$n.key -out $d/$n.crt "
		    . "-days 2 -subj /CN=$n.test >/dev/null 2>&1") == 0 or die "openssl req failed\n";
		chmod 0640, "$d/$n.key";
		chown 0, $sluice_pw[3], "$d/$n.key" if $root && @sluice_pw;
	}
	($rc, $out, $err) = $s->cli('config', '-e', "smtpd_tls_cert_file=$d/a.crt", "smtpd_tls_key_file=$d/a.key");
	is($rc, 0, 'a matching certificate and key pass') or diag($err);
	check_fails('key of another certificate', "smtpd_tls_key_file=$d/b.key",
	    qr/not a PEM private key matching \Q$d\/a.crt\E \(key values mismatch\)/);
	check_fails('certificate not in PEM', "smtpd_tls_cert_file=$d/etc/domains",
	    qr/not a PEM certificate/);
	check_fails('web certificate without a key', "web_tls_cert_file=$d/a.crt",
	    qr/set without web_tls_key_file/);
	SKIP: {
		skip 'the daemons read as another user only when run as root', 5 unless $root && @sluice_pw;
		chmod 0600, "$d/b.crt";
		check_fails('certificate mail_owner cannot read', "smtpd_tls_cert_file=$d/b.crt",
		    qr/the daemons \(uid \d+, gid \d+\) cannot read it: Permission denied/);
	}
	$s->cli('config', '-X', 'smtpd_tls_cert_file', 'smtpd_tls_key_file');
}

# --- status with a broken config -------------------------------------------
$saved = slurp($conf);
spew($conf, "$saved" . "bogus line\n");
($rc, $out, $err) = $s->cli('status');
is($rc, 1, 'status with a broken config, stopped: exit 1');
like($out, qr/^sluice: not running$/m, '... says not running');
like($err, qr/warning: \Q$conf\E:\d+: bad line "bogus line"/, '... and warns of the error, naming the line');
spew($conf, $saved);

$s->start;
($rc, $out, $err) = $s->cli('config', '-e', 'smtpd_timeout=6m');
is($rc, 0, 'config -e while running exits 0') or diag($err);
like($err, qr/run "sluice reload"/, '... and tells the operator to reload') or diag($err);
spew($conf, "$saved" . "bogus line\n");
($rc, $out, $err) = $s->cli('status');
is($rc, 0, 'status with a broken config, running: exit 0') or diag("$out$err");
like($out, qr/^sluice: running, master pid ${\ $s->pid}\b/m, '... names the master pid');
like($err, qr/warning: .*bad line "bogus line"/, '... and warns of the broken config');
spew($conf, $saved);
$s->stop;

# --- --help and --version of every program ------------------------------
my %progs = (sluice => 'cli/sluice', 'sluice-turn' => 'turn/sluice-turn',
    map { $_ => "$_/$_" } qw(master smtpd qmgr deliver etrn fingerd peer prober web));
for my $p (sort keys %progs) {
	my $bin = "$builddir/$progs{$p}";
	SKIP: {
		skip "$p is not built", 5 unless -x $bin;
		# A config that does not exist: they must answer before reading it.
		my %env = (SLUICE_CONFIG_DIR => '/nonexistent/sluice');
		($rc, $out, $err) = run_cmd([$bin, '--version'], env => \%env);
		is($rc, 0, "$p --version exits 0");
		like($out, qr/^\Q$p\E \(sluice\) \d+\.\d+\S*\n\z/, "$p --version prints \"$p (sluice) VERSION\"");
		($rc, $out, $err) = run_cmd([$bin, '--help'], env => \%env);
		is($rc, 0, "$p --help exits 0");
		like($out, qr/^usage: \S*\Q$p\E/, "$p --help prints the usage to stdout");
		is($err, '', "$p --help writes nothing to stderr");
	}
}

done_testing;
