# WebTest - real browsers against sluice's web(8sluice) page: curl with a
# cookie jar, and headless Chromium for screenshots.
#
#	use WebTest qw(curl header csrf_of chromium_shot png_ok);
#	my $r = curl($jar, "http://127.0.0.1:$port/");
#	my $token = csrf_of($r->{body});
#	my ($ok, $why) = chromium_shot($url, "$dir/login.png");
#	my $dom = chromium_dom($url);
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
package WebTest;

use strict;
use warnings;

use Exporter qw(import);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use SluiceTest qw(tool run_cmd slurp);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(curl header csrf_of chromium_shot png_ok artifact_dir
    web_stopped_ok customer_passwd chromium_dom web_login status_card
    status_until);

# curl JAR, ARGS - one request with curl, the cookie jar read and
# written: {code, headers, body, err}. code is the HTTP status ("000"
# when nothing came back).
sub curl {
	my ($jar, @args) = @_;
	my $dir = tempdir('sluice-curl-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my ($rc, $out, $err) = run_cmd([tool('curl'), '-sS', '--max-time',
	    30 * $SluiceTest::SLOW, '-b', $jar, '-c', $jar, '-D', "$dir/h",
	    '-o', "$dir/b", '-w', '%{http_code}', @args], timeout => 60);
	my $r = { rc => $rc, code => $out, headers => slurp("$dir/h") // '',
	    body => slurp("$dir/b") // '', err => $err };
	remove_tree($dir);
	return $r;
}

# header R, NAME - the first value of a response header, or undef.
sub header {
	my ($r, $name) = @_;
	for my $line (split /\r?\n/, $r->{headers}) {
		return $1 if $line =~ /^\Q$name\E:\s*(.*?)\s*$/i;
	}
	return undef;
}

# csrf_of HTML - the CSRF token in the form's hidden field, or undef.
sub csrf_of {
	my ($html) = @_;
	return $html =~ /name="csrf" value="([0-9a-f]{64})"/ ? $1 : undef;
}

# web_login BASE, JAR, USER, PASSWORD - log in as a browser does, with a
# fresh form (and its CSRF token) from BASE/; the login's response.
sub web_login {
	my ($base, $jar, $user, $password) = @_;
	my $r = curl($jar, "$base/");
	return curl($jar, '--data-urlencode', "user=$user", '--data-urlencode',
	    "password=$password", '--data-urlencode',
	    'csrf=' . (csrf_of($r->{body}) // ''), "$base/login");
}

# status_card HTML, DOMAIN - the domain's card on the status page as a
# hash: gate_class and gate (the Delivery row's class and text), and
# every other row by its class (pending, inflight, delivered, progress,
# reason, attempt, retry, ...); {} when the page has no such card.
sub status_card {
	my ($html, $dom) = @_;
	my ($c) = ($html // '') =~ /<h2>\Q$dom\E<\/h2>(.*?)<\/section>/s or return {};
	my %v;
	@v{qw(gate_class gate)} = $c =~ /<dd class="gate (\w+)">([^<]*)</;
	while ($c =~ /<dd class="(\w+)">([^<]*)</g) {
		$v{$1} = $2;
	}
	return \%v;
}

# status_until BASE, JAR, DOMAIN, CODE - fetch BASE/status as the page's
# refresh does (every 1.2s, past a trigger_min_interval of 1s) until
# CODE(status_card of DOMAIN) is true: (card, page), or () when it never
# came (the last page as a diagnostic).
sub status_until {
	my ($base, $jar, $dom, $code) = @_;
	my $deadline = time + 30 * $SluiceTest::SLOW;
	my $r;
	while (time < $deadline) {
		$r = curl($jar, "$base/status");
		my $c = status_card($r->{body}, $dom);
		return ($c, $r->{body}) if $code->($c);
		sleep 1.2;
	}
	diag($r->{body} // 'no page');
	return ();
}

# artifact_dir - where screenshots are kept: the build tree, not the source.
sub artifact_dir {
	my $d = "$ENV{SLUICE_BUILDDIR}/t/artifacts";
	make_path($d);
	return $d;
}

# chromium_shot URL, FILE, FLAGS - a phone-sized screenshot by headless
# Chromium (extra command-line FLAGS optional): (1, '') or (0, reason).
sub chromium_shot {
	my ($url, $file, @flags) = @_;
	my $bin = eval { tool('chromium') } or return (0, $@);
	my $profile = tempdir('sluice-chromium-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	unlink $file;
	my ($rc, $out, $err) = run_cmd([$bin, '--headless', '--no-sandbox',
	    '--disable-gpu', '--disable-quic', '--no-first-run',
	    '--disable-background-networking', '--disable-component-update',
	    '--disable-sync', "--user-data-dir=$profile", "--screenshot=$file",
	    '--window-size=390,844', @flags, $url], timeout => 120);
	remove_tree($profile);
	return (0, "chromium exit $rc: $err") unless -s $file;
	return (1, '');
}

# chromium_dom URL - the DOM headless Chromium built from URL, as its
# --dump-dom writes it back out (text escaped the browser's way), or
# undef (the reason as a diagnostic).
sub chromium_dom {
	my ($url) = @_;
	my $bin = eval { tool('chromium') } or do { diag($@); return undef };
	my $profile = tempdir('sluice-chromium-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my ($rc, $out, $err) = run_cmd([$bin, '--headless', '--no-sandbox',
	    '--disable-gpu', '--disable-quic', '--no-first-run',
	    '--disable-background-networking', '--disable-component-update',
	    '--disable-sync', "--user-data-dir=$profile", '--dump-dom', $url],
	    timeout => 120);
	remove_tree($profile);
	diag("chromium exit $rc: $err") if $rc != 0;
	return $rc == 0 ? $out : undef;
}

# png_ok FILE - (width, height) of a well-formed PNG file, or ().
sub png_ok {
	my ($file) = @_;
	my $b = slurp($file) // return ();
	return () unless length($b) > 1000
	    && substr($b, 0, 8) eq "\x89PNG\r\n\x1a\n"
	    && substr($b, 12, 4) eq 'IHDR'
	    && substr($b, -8, 4) eq 'IEND';
	return unpack 'N N', substr($b, 16, 8);
}

# web_stopped_ok SLUICE - web runs until the end, and on SIGTERM to
# master everything stops and web ends cleanly: no fatal line, no
# sanitizer report from web's pid. (master's own exit status is its
# tests' business.)
sub web_stopped_ok {
	my ($s) = @_;
	my $pid = $s->child_pid('web') // 0;
	ok($pid, 'web still runs');
	ok(defined $s->stop, 'everything stops on SIGTERM');
	my $log = $s->log_text;
	like($log, qr/web\[$pid\]: stop on signal 15/, 'web stops on SIGTERM');
	unlike($log, qr/web\[\d+\]: (?:panic|fatal)|==$pid==|web\/\w+\.c:\d+:\d+: runtime error/,
	    'no fatal error, sanitizer or UBSan report from web');
}

# customer_passwd SLUICE, USER, PASSWORD - write the customer's password
# with the real CLI, as an operator would; as root, give the file the
# group of mail_owner (web reads it as that user). True on success.
sub customer_passwd {
	my ($s, $user, $password) = @_;
	my ($rc, $out, $err) = run_cmd(["$ENV{SLUICE_BUILDDIR}/cli/sluice", '-c',
	    $s->confdir, 'passwd', $user], stdin => "$password\n");
	diag("sluice passwd $user: $err") if $rc != 0;
	if ($> == 0) {
		my $gid = (getpwnam($s->{conf}{mail_owner} // 'sluice'))[3];
		chown 0, $gid, $s->confdir . '/passwd' if defined $gid;
	}
	return $rc == 0;
}

1;
