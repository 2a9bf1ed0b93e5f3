#!/bin/bash
# build.sh - build, run and test sluice from a fresh Debian 12 checkout.
#
#	./build.sh run		install what is missing, build in build/, run
#				master in the foreground on 127.0.0.1:2525
#	./build.sh check	install what is missing, build, make check,
#				print "N passed, N failed"
#	./build.sh asan		the same as check, in build-asan/ with
#				ASan+UBSan
#	./build.sh run-config RUNDIR [BUILDDIR]
#				only write run's config into RUNDIR/etc (queue
#				RUNDIR/queue, daemons of BUILDDIR, default
#				build/): what t/23-quick-start.t starts
#	./build.sh fuzz		install what is missing, build the libFuzzer
#				harnesses in build-fuzz/ with clang, run each
#				on its seed corpus for FUZZ_TIME seconds (12),
#				print "N passed, N failed"
#
# Works as root or as an ordinary user (sudo is used for apt-get only).
# As root the daemons run as the sluice user, which must reach this tree:
# run stops early, saying what to do, when the clone is in a private home.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"

# Everything the build and the tests need, as Debian 12 package names.
PACKAGES=(
	autoconf automake libtool pkg-config make gcc
	libssl-dev libdb-dev libc-ares-dev libcap-dev libcrypt-dev
	libmicrohttpd-dev
	perl swaks libio-socket-ssl-perl libnet-ssleay-perl libnet-dns-perl
	finger fetchmail curl pflogsumm ca-certificates openssl
	libmime-tools-perl
	# headless Chromium renders the web login page (t/61-web.t)
	chromium
	# smtp-source (unpacked from the postfix package) links these.
	libicu72 libnsl2 libdb5.3
	# the fuzz pass: clang and its libFuzzer (libclang_rt.fuzzer)
	clang libclang-rt-14-dev
	# t/format.t: the files .clang-format-files lists stay formatted
	clang-format
	# issue 10: the unit (systemd-analyze), logrotate, the package build
	# (dpkg-buildpackage, lintian) and its install test
	systemd logrotate strace debhelper dpkg-dev lintian fakeroot build-essential
	# bench/run fills queues with fsync turned off (then one sync)
	eatmydata
)

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# as_root - run a command as root: directly, or through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for '$*': run as root or install sudo"
	fi
}

# apt_updated - run apt-get update at most once per invocation.
apt_updated=no
apt_update() {
	[ "$apt_updated" = yes ] && return 0
	say "apt-get update"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	apt_updated=yes
}

# install_missing - apt-get install the packages dpkg does not know as installed.
install_missing() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$'; then
			missing+=("$p")
		fi
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	apt_update
	as_root env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build_in DIR CONFIGURE-ARGS... - autoreconf, configure and make in DIR;
# 0/1 (each step checked: callers use it in a condition, where set -e
# does not apply).
build_in() {
	local dir=$1
	shift
	say "autoreconf -fi"
	autoreconf -fi || return 1
	mkdir -p "$dir" || return 1
	say "configure in $dir: $*"
	(cd "$dir" && "$top/configure" -q "$@") || return 1
	say "make -j$(nproc) in $dir"
	make -C "$dir" -j"$(nproc)" || return 1
}

# fetch_postfix_tools - unpack Debian's postfix (for smtp-source) into
# build/tools/postfix. Never installed, never started.
fetch_postfix_tools() {
	local dest="$top/build/tools/postfix" tmp deb
	[ -x "$dest/usr/sbin/smtp-source" ] && return 0
	say "fetching smtp-source: apt-get download postfix"
	tmp=$(mktemp -d)
	if ! (cd "$tmp" && apt-get download -q postfix >/dev/null 2>&1); then
		apt_update
		(cd "$tmp" && apt-get download -q postfix) ||
		    { rm -rf "$tmp"; die "apt-get download postfix failed"; }
	fi
	deb=$(ls "$tmp"/postfix_*.deb)
	rm -rf "$dest"
	mkdir -p "$dest"
	dpkg -x "$deb" "$dest"
	rm -rf "$tmp"
	[ -x "$dest/usr/sbin/smtp-source" ] ||
	    die "no usr/sbin/smtp-source in $deb"
}

# make_run_config [RUNDIR [BUILDDIR]] - the quick start's config:
# RUNDIR/etc (build/run/etc) from conf/, with the queue in RUNDIR/queue
# and the daemons of BUILDDIR/libexec (build/). run uses the defaults;
# t/23-quick-start.t calls it through "run-config" on its own directories.
make_run_config() {
	local run=${1:-$top/build/run} build=${2:-$top/build} f
	local etc="$run/etc"
	mkdir -p "$etc" "$run"
	[ -f conf/sluice.conf ] || die "conf/sluice.conf is missing"
	for f in conf/*; do
		case $f in *.mk|*.in|*~) continue ;; esac
		[ -f "$f" ] && cp "$f" "$etc/"
	done
	# Drop the settings we override, then append ours: one value each.
	grep -Ev '^[[:space:]]*(queue_directory|daemon_directory)[[:space:]]*=' \
	    conf/sluice.conf >"$etc/sluice.conf"
	{
		echo
		echo "# added by build.sh run: everything under the build tree"
		echo "queue_directory = $run/queue"
		echo "daemon_directory = $build/libexec"
	} >>"$etc/sluice.conf"
	# passwd holds the demo's CRAM-MD5 secret: 0640 as installed (a
	# checkout has it 0644, which sluice config check refuses: exit 78).
	chmod 0640 "$etc/passwd"
	# As root, the daemons run as the sluice user: let its group read
	# the config (passwd is not world-readable).
	if [ "$(id -u)" -eq 0 ]; then
		chgrp -R "$(id -gn sluice)" "$etc"
	fi
}

# check_reach - as root, the daemons run as the sluice user: it must be
# able to execute them, read the config and reach the queue, all under
# this tree. A clone in a private home (/root, mode 0700) fails every
# child with "Permission denied" while the port stays open; say so now,
# with what to do. (master checks the same before it binds anything.)
check_reach() {
	[ "$(id -u)" -eq 0 ] || return 0
	local p d b
	for p in "x:$top/build/libexec/master" "x:$top/build/libexec/qmgr" \
	    "x:$top/build/libexec/smtpd" "r:$top/build/run/etc/sluice.conf" \
	    "x:$top/build/run"; do
		runuser -u sluice -- test "-${p%%:*}" "${p#*:}" && continue
		p=${p#*:}
		# The first directory on the way that the sluice user cannot pass.
		b=$p
		d=$(dirname "$p")
		while [ "$d" != / ]; do
			runuser -u sluice -- test -x "$d" || b=$d
			d=$(dirname "$d")
		done
		die "the sluice user cannot reach $p (blocked at $b: $(stat -c '%A %U:%G' "$b")): every daemon would fail with \"Permission denied\" while port 2525 stays open. Clone sluice where it can (under /srv or /tmp: git clone $top /srv/sluice), or chmod o+x each directory on the path (namei -l $p shows them)"
	done
}

# ensure_user - as root, master hands its children to the sluice user.
ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	getent passwd sluice >/dev/null && return 0
	say "adding system user sluice"
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin sluice
}

# count_results DIR MAKE-STATUS - print "N passed, N failed" from the
# .trs files (one count per TAP result; a script that dies adds an
# ERROR). If make check failed with no failed result to show for it (the
# test programs did not build), that counts as one failure. Exit status
# 1 when anything failed or nothing ran.
count_results() {
	local dir=$1 mrc=$2 pass fail
	pass=$(find "$dir" -name '*.trs' -exec cat {} + 2>/dev/null |
	    grep -Ec '^:test-result: (PASS|XFAIL)' || true)
	fail=$(find "$dir" -name '*.trs' -exec cat {} + 2>/dev/null |
	    grep -Ec '^:test-result: (FAIL|XPASS|ERROR)' || true)
	if [ "$mrc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		echo "build.sh: make check failed before any test failed" >&2
		fail=1
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
}

# run_check DIR CONFIGURE-ARGS... - build and run the whole test suite.
run_check() {
	local dir=$1 rc=0
	shift
	install_missing
	ensure_user
	if ! build_in "$dir" "$@"; then
		echo "build.sh: the build in $dir failed" >&2
		echo "0 passed, 1 failed"
		return 1
	fi
	fetch_postfix_tools
	export SLUICE_TOOLSDIR="$top/build/tools"
	find "$dir" -name '*.trs' -delete
	# The integration tests mostly wait on sockets and timers, not the CPU:
	# twice as many at once as there are cores keeps the run short.
	say "make check in $dir"
	make -C "$dir" -j"$(($(nproc) * 2))" check || rc=$?
	if [ "$rc" -ne 0 ] && [ -f "$dir/test-suite.log" ]; then
		grep -E '^(FAIL|ERROR|XPASS)' "$dir/test-suite.log" >&2 || true
		# What each failing test said about it (its diag lines): CI
		# shows only this output.
		grep -lE '^:test-result: (FAIL|XPASS|ERROR)' \
		    $(find "$dir" -name '*.trs') 2>/dev/null |
		while read -r trs; do
			echo "== ${trs%.trs}.log (its diagnostics):" >&2
			grep -E '^#' "${trs%.trs}.log" | head -n 40 >&2
		done
	fi
	count_results "$dir" "$rc" || rc=1
	return "$rc"
}

# run_fuzz - build the harnesses with clang in build-fuzz/ and run them
# (t/fuzz/run): one line per harness, then "N passed, N failed".
run_fuzz() {
	local dir=build-fuzz
	install_missing
	say "autoreconf -fi"
	if ! autoreconf -fi || ! mkdir -p "$dir" ||
	    ! (cd "$dir" && "$top/configure" -q CC=clang --enable-fuzz) ||
	    ! { say "make fuzz in $dir"; make -C "$dir" -j"$(nproc)" fuzz; }; then
		echo "build.sh: the fuzz build in $dir failed" >&2
		echo "0 passed, 1 failed"
		return 1
	fi
	say "t/fuzz/run $dir (FUZZ_TIME=${FUZZ_TIME:-12}s per harness)"
	"$top/t/fuzz/run" "$dir"
}

case ${1:-} in
run)
	install_missing
	ensure_user
	build_in build --enable-werror || die "the build failed"
	make_run_config
	check_reach
	say "starting master in the foreground (SMTP on 127.0.0.1:2525; ^C stops)"
	exec "$top/build/master/master" -c "$top/build/run/etc" -f
	;;
run-config)
	[ $# -ge 2 ] || die "usage: $0 run-config RUNDIR [BUILDDIR]"
	for f in "$2" "${3:-/}"; do
		case $f in /*) ;; *) die "run-config: not an absolute path: $f" ;; esac
	done
	make_run_config "$2" "${3:-$top/build}"
	;;
check)
	run_check build --enable-werror
	;;
asan)
	# The daemons keep their tables (config, domains, queue state) for
	# their whole life and exit without freeing them, as Postfix's do:
	# LeakSanitizer would report each at every stop. Last, so that it
	# wins over whatever the caller's ASAN_OPTIONS says (a CI that set
	# its own options once turned it back on and failed t/85-t/87).
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	# The Postfix tools live under build/; fetch them there.
	run_check build-asan --enable-werror --enable-sanitizers
	;;
fuzz)
	run_fuzz
	;;
*)
	echo "usage: $0 run|run-config RUNDIR [BUILDDIR]|check|asan|fuzz" >&2
	exit 64
	;;
esac
