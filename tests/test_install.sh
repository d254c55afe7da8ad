#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_install.sh - the Makefile's conventions: user CFLAGS/CPPFLAGS/
# LDFLAGS honoured without losing the flags the code needs, `make check`
# is `make test`, `make run` builds everything, `make install` puts the
# programs that were built (and only the expected files) under DESTDIR,
# the pages render with man -l, and `make uninstall` removes exactly
# what install put there.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# make in the tree, without the calling make's jobserver and flags.
t_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u VARIANT \
		make -C "$T_ROOT" --no-print-directory "$@"
}

test_user_flags_keep_the_needed_ones() {
	local out cc ld
	out=$(t_make -n -B CFLAGS="-O0 -g3" CPPFLAGS=-DMT_USER_CPP \
		LDFLAGS=-Wl,-O1 LDLIBS=-lrt ./mtserver)
	cc=$(grep -E ' -c -o build/src/net\.o ' <<<"$out") || t_fail "no compile line for net.c in: $out"
	ld=$(grep -E ' -o (\./)?mtserver ' <<<"$out") || t_fail "no link line for mtserver in: $out"
	for flag in -std=c11 -pthread -D_POSIX_C_SOURCE=200809L -Iinclude \
		-Werror -O0 -g3 -DMT_USER_CPP; do
		grep -qF -- " $flag " <<<"$cc " || t_fail "compile line lacks $flag: $cc"
	done
	! grep -qF -- ' -O2 ' <<<"$cc" || t_fail "the default -O2 is still there: $cc"
	for flag in -pthread -Wl,-O1 -lm -lrt; do
		grep -qF -- " $flag " <<<"$ld " || t_fail "link line lacks $flag: $ld"
	done
}

test_check_is_test() {
	local check test
	check=$(t_make -n check)
	test=$(t_make -n test)
	[[ -n $test && $check == "$test" ]] || t_fail "make -n check: '$check' differs from make -n test: '$test'"
	grep -q 'test_' <<<"$check" || t_fail "make -n check runs no suite: $check"
}

test_run_builds_everything() {
	local out
	out=$(t_make -n -B run)
	for prog in mtserver stserver mtclient bench/flood; do
		grep -qE " -o (\./)?$prog " <<<"$out" || t_fail "make run does not build $prog: $out"
	done
	[[ $(tail -n 1 <<<"$out") == "./mtserver 8888" ]] || t_fail "make run does not end running ./mtserver 8888: $out"
}

# install_files DIR: what is under DIR, files and links, sorted.
install_files() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }

# check_install PREFIX SYSCONFDIR: install into a fresh DESTDIR, check the
# file list, the binaries, the unit's ExecStart, the pages; uninstall.
check_install() {
	local prefix=$1 etc=$2 dest=$T_TMP/root$1 expected got page f out
	mkdir -p "$dest"
	t_make -s install DESTDIR="$dest" PREFIX="$prefix" VARIANT="$MT_VARIANT" >/dev/null
	expected=$(printf '%s\n' \
		"${prefix#/}/bin/mtclient" "${prefix#/}/bin/mtflood" \
		"${prefix#/}/bin/mtserver" "${prefix#/}/bin/stserver" \
		"${prefix#/}/lib/systemd/system/mtserver.service" \
		"${etc#/}/logrotate.d/mtserver" \
		"${prefix#/}/share/doc/mtserver/LICENSE" \
		"${prefix#/}/share/doc/mtserver/README.md" \
		"${prefix#/}/share/man/man1/mtclient.1" \
		"${prefix#/}/share/man/man1/mtflood.1" \
		"${prefix#/}/share/man/man1/mtserver.1" \
		"${prefix#/}/share/man/man1/stserver.1" | sort)
	got=$(install_files "$dest")
	[[ $got == "$expected" ]] || t_fail "installed files differ:
$(diff <(echo "$expected") <(echo "$got"))"
	# The programs installed are the ones built (this variant's), as is.
	for f in mtserver stserver mtclient; do
		cmp -s "$(t_bin "$f")" "$dest$prefix/bin/$f" || t_fail "$prefix/bin/$f is not $(t_bin "$f")"
		[[ $(stat -c %a "$dest$prefix/bin/$f") == 755 ]] || t_fail "$f is not mode 755"
	done
	cmp -s "$MT_FLOOD" "$dest$prefix/bin/mtflood" || t_fail "mtflood is not $MT_FLOOD"
	grep -qx "ExecStart=$prefix/bin/mtserver .*" "$dest$prefix/lib/systemd/system/mtserver.service" ||
		t_fail "the unit does not run $prefix/bin/mtserver"
	cmp -s "$T_ROOT/dist/mtserver.logrotate" "$dest$etc/logrotate.d/mtserver" || t_fail "logrotate config differs"
	if need_cmd man man-db; then
		for page in "$dest$prefix"/share/man/man1/*.1; do
			out=$(MANWIDTH=80 man -l "$page" 2>&1 | sed 's/.\x08//g')
			grep -q "^NAME" <<<"$out" || t_fail "man -l $page does not render: $out"
		done
	else
		echo "man is not installed (apt-get install man-db): pages not rendered"
	fi
	t_make -s uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null
	got=$(install_files "$dest")
	[[ -z $got ]] || t_fail "uninstall left: $got"
	[[ ! -e $dest$prefix/share/doc/mtserver ]] || t_fail "uninstall left the doc directory"
}
test_install_uninstall_usr() { check_install /usr /etc; }
test_install_uninstall_usr_local() { check_install /usr/local /usr/local/etc; }

test_install_does_not_rebuild() {
	local out
	out=$(t_make -n install VARIANT="$MT_VARIANT" DESTDIR="$T_TMP/none")
	! grep -qE ' -c -o | -o [^ ]*(mtserver|flood) ' <<<"$out" || t_fail "install would rebuild: $out"
}

t_case test_user_flags_keep_the_needed_ones
t_case test_check_is_test
t_case test_run_builds_everything
t_case test_install_uninstall_usr
t_case test_install_uninstall_usr_local
t_case test_install_does_not_rebuild
t_done
