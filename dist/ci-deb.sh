#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# dist/ci-deb.sh - build the Debian package from a copy of the tree, check
# it with lintian, install it with dpkg -i, run the installed programs
# (--version, a one-message round trip through the installed mtserver and
# mtclient on a loopback port the kernel picks), then purge it.  Root (CI)
# only; installs the build tools with apt-get when missing.  Nothing is
# written to the tree: dpkg-buildpackage puts its products in the parent
# of the source, here a temporary directory, removed at exit.
#
#   dist/ci-deb.sh            (.ci/run calls it; KEEP_TMP=1 keeps the build)
set -euo pipefail
BENCH_NAME=ci-deb
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../bench/lib.sh" # cd's to the tree's top

BUILD_TIMEOUT=900 # seconds for dpkg-buildpackage (about 1 min here)
INSTALLED=''

[[ $(id -u) -eq 0 ]] || skip "needs root to install the package (dpkg -i)"
command -v dpkg >/dev/null || skip "not a Debian system (no dpkg)"
if dpkg-query -W -f '${Status}' mtserver 2>/dev/null | grep -q installed; then
	skip "a mtserver package is installed already: not touching it"
fi
need_cmd git git || die "git is needed (it lists the tree's files)"
need_cmd dpkg-buildpackage dpkg-dev || die "dpkg-buildpackage is needed"
need_cmd dh debhelper || die "debhelper is needed"
need_cmd fakeroot fakeroot || die "fakeroot is needed"
need_cmd lintian lintian || die "lintian is needed"
need_cmd blhc blhc || die "blhc is needed (it checks the build log's flags)"

bench_begin
# shellcheck disable=SC2317 # called by bench/lib.sh's exit trap
bench_on_exit() {
	bg_stop server 5 || true
	if [[ -n $INSTALLED ]]; then
		dpkg --purge mtserver >/dev/null 2>&1 || warn "dpkg --purge mtserver failed"
	fi
}

# copy_tree DIR: the tracked and new (not ignored) files, as they are now.
copy_tree() {
	mkdir -p "$1"
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$1"
}

# build_deps DIR: debian/control's Build-Depends (without the test ones:
# the nocheck profile) installed with apt-get when missing.
build_deps() {
	(cd "$1" && dpkg-checkbuilddeps -P nocheck) >/dev/null 2>&1 && return 0
	say "installing the build dependencies (apt-get build-dep)"
	(cd "$1" && DEBIAN_FRONTEND=noninteractive timeout 900 \
		apt-get build-dep -y -qq --no-install-recommends -P nocheck ./) >"$T/build-dep.log" 2>&1 || {
		cat "$T/build-dep.log" >&2
		die "apt-get build-dep failed"
	}
}

build() {
	say "building the package in $T"
	copy_tree "$T/mtserver-1.0"
	build_deps "$T/mtserver-1.0"
	# The suites ran in CI already (make test): nocheck.
	(cd "$T/mtserver-1.0" &&
		DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck \
			timeout "$BUILD_TIMEOUT" dpkg-buildpackage -us -uc -b >"$T/build.log" 2>&1) || {
		tail -n 30 "$T/build.log" >&2
		die "dpkg-buildpackage failed (log above)"
	}
	DEB=$(ls "$T"/mtserver_*.deb)
	say "built $(basename "$DEB")"
}

# The build log shows every compile and link (debian/rules: V=1), and
# blhc finds Debian's hardening flags on each.
check_build_log() {
	local out
	out=$(blhc --bindnow "$T/build.log" 2>&1) || {
		printf '%s\n' "$out" >&2
		die "blhc: the build log lacks hardening flags (or does not show them)"
	}
	say "blhc: every compile and link has the hardening flags"
}

check_lintian() {
	local out
	# CI runs as root, which lintian remarks on: not a finding.
	out=$(timeout 300 lintian --fail-on error "$T"/mtserver_*.changes 2>&1) || {
		printf '%s\n' "$out" >&2
		die "lintian reports errors"
	}
	out=$(grep -v 'running with root privileges' <<<"$out" || true)
	say "lintian: no errors${out:+; other tags:}"
	[[ -z $out ]] || printf '%s\n' "$out" >&2
}

install_it() {
	dpkg -i "$DEB" >"$T/dpkg.log" 2>&1 || {
		cat "$T/dpkg.log" >&2
		die "dpkg -i failed"
	}
	INSTALLED=1
	say "installed; the package holds:"
	dpkg -L mtserver | sort >&2
	local f
	for f in /usr/bin/mtserver /usr/bin/stserver /usr/bin/ptserver /usr/bin/fkserver /usr/bin/epserver /usr/bin/rpserver \
		/usr/bin/urserver \
		/usr/bin/mtclient /usr/bin/mtflood /usr/share/man/man1/epserver.1.gz \
		/usr/share/man/man1/mtserver.1.gz /usr/share/man/man1/mtflood.1.gz \
		/lib/systemd/system/mtserver.service /lib/systemd/system/mtserver.socket \
		/etc/default/mtserver /etc/logrotate.d/mtserver \
		/usr/share/doc/mtserver/copyright; do
		[[ -e $f ]] || die "the package does not install $f"
	done
	for f in /etc/default/mtserver /etc/logrotate.d/mtserver; do
		dpkg-query -W -f '${Conffiles}\n' mtserver | grep -q "^ $f " ||
			die "$f is not a conffile"
	done
}

run_installed() {
	local out reply
	out=$(/usr/bin/mtserver --version) || die "installed mtserver --version failed"
	say "installed: $(head -n 1 <<<"$out")"
	grep -q 'NO WARRANTY' <<<"$out" || die "mtserver --version is not in the GNU form"
	/usr/bin/mtflood --version >/dev/null || die "installed mtflood --version failed"
	srv_start server -- /usr/bin/mtserver --echo -b 127.0.0.1 -l "$T/server.log" 0 ||
		die "the installed mtserver did not start"
	reply=$(printf 'hello from the package\n' |
		timeout 10 /usr/bin/mtclient 127.0.0.1 "$SRV_PORT") || die "mtclient failed"
	[[ $reply == 'hello from the package' ]] || die "echo reply was '$reply'"
	srv_stop server || die "mtserver did not exit 0 on SIGTERM"
	grep -q ' msg hello from the package$' "$T/server.log" ||
		die "the message is not in the log: $(cat "$T/server.log")"
	say "round trip through the installed mtserver on 127.0.0.1:$SRV_PORT: ok"
}

remove_it() {
	dpkg --remove mtserver >/dev/null || die "dpkg --remove failed"
	[[ ! -e /usr/bin/mtserver ]] || die "dpkg --remove left /usr/bin/mtserver"
	dpkg --purge mtserver >/dev/null || die "dpkg --purge failed"
	INSTALLED=''
	[[ ! -e /etc/logrotate.d/mtserver ]] || die "dpkg --purge left /etc/logrotate.d/mtserver"
	[[ ! -e /etc/default/mtserver ]] || die "dpkg --purge left /etc/default/mtserver"
	say "removed and purged"
}

build
check_build_log
check_lintian
install_it
run_installed
remove_it
say "ok"
