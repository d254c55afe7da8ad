#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_install.sh - the Makefile's conventions: user CFLAGS/CPPFLAGS/
# LDFLAGS honoured without losing the flags the code needs, `make check`
# is `make test`, `make run` builds everything, `make install` puts the
# programs that were built (and only the expected files) under DESTDIR,
# the pages render with man -l, and `make uninstall` removes exactly
# what install put there (but an edited options file); the logrotate file
# goes where logrotate reads it.
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
	for prog in mtserver stserver ptserver fkserver mtclient bench/flood; do
		grep -qE " -o (\./)?$prog " <<<"$out" || t_fail "make run does not build $prog: $out"
	done
	[[ $(tail -n 1 <<<"$out") == "./mtserver 8888" ]] || t_fail "make run does not end running ./mtserver 8888: $out"
}

# install_files DIR: what is under DIR, files and links, sorted.
install_files() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }

# check_install PREFIX SYSCONFDIR: install into a fresh DESTDIR, check the
# file list, the binaries, the unit's ExecStart and EnvironmentFile, the
# pages; uninstall.  The logrotate file goes to /etc/logrotate.d whatever
# PREFIX: the one directory logrotate reads.
check_install() {
	local prefix=$1 etc=$2 dest=$T_TMP/root$1 expected got page f out unit
	mkdir -p "$dest"
	t_make -s install DESTDIR="$dest" PREFIX="$prefix" VARIANT="$MT_VARIANT" >/dev/null
	expected=$(printf '%s\n' \
		"${prefix#/}/bin/mtclient" "${prefix#/}/bin/mtflood" \
		"${prefix#/}/bin/mtserver" "${prefix#/}/bin/stserver" \
		"${prefix#/}/bin/ptserver" "${prefix#/}/bin/fkserver" \
		"${prefix#/}/bin/epserver" "${prefix#/}/bin/rpserver" \
		"${prefix#/}/bin/urserver" \
		"${prefix#/}/lib/systemd/system/mtserver.service" \
		"${prefix#/}/lib/systemd/system/mtserver.socket" \
		"etc/logrotate.d/mtserver" \
		"${etc#/}/default/mtserver" \
		"${prefix#/}/share/doc/mtserver/LICENSE" \
		"${prefix#/}/share/doc/mtserver/README.md" \
		"${prefix#/}/share/man/man1/mtclient.1" \
		"${prefix#/}/share/man/man1/mtflood.1" \
		"${prefix#/}/share/man/man1/mtserver.1" \
		"${prefix#/}/share/man/man1/stserver.1" \
		"${prefix#/}/share/man/man1/ptserver.1" \
		"${prefix#/}/share/man/man1/fkserver.1" \
		"${prefix#/}/share/man/man1/epserver.1" \
		"${prefix#/}/share/man/man1/rpserver.1" \
		"${prefix#/}/share/man/man1/urserver.1" | sort)
	got=$(install_files "$dest")
	[[ $got == "$expected" ]] || t_fail "installed files differ:
$(diff <(echo "$expected") <(echo "$got"))"
	# The programs installed are the ones built (this variant's), as is.
	for f in mtserver stserver ptserver fkserver epserver rpserver urserver mtclient; do
		cmp -s "$(t_bin "$f")" "$dest$prefix/bin/$f" || t_fail "$prefix/bin/$f is not $(t_bin "$f")"
		[[ $(stat -c %a "$dest$prefix/bin/$f") == 755 ]] || t_fail "$f is not mode 755"
	done
	cmp -s "$MT_FLOOD" "$dest$prefix/bin/mtflood" || t_fail "mtflood is not $MT_FLOOD"
	unit=$dest$prefix/lib/systemd/system/mtserver.service
	grep -qx "ExecStart=$prefix/bin/mtserver .*" "$unit" ||
		t_fail "the unit does not run $prefix/bin/mtserver"
	grep -qx "EnvironmentFile=-$etc/default/mtserver" "$unit" ||
		t_fail "the unit does not read $etc/default/mtserver: $(grep EnvironmentFile "$unit")"
	cmp -s "$T_ROOT/dist/mtserver.default" "$dest$etc/default/mtserver" || t_fail "the options file differs"
	cmp -s "$T_ROOT/dist/mtserver.socket" "$dest$prefix/lib/systemd/system/mtserver.socket" ||
		t_fail "the socket unit differs"
	cmp -s "$T_ROOT/dist/mtserver.logrotate" "$dest/etc/logrotate.d/mtserver" || t_fail "logrotate config differs"
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

# Where `make install` puts the logrotate file is where this machine's
# logrotate reads: /etc/logrotate.conf includes that directory.
test_logrotate_dir_is_read() {
	local dir
	[[ -r /etc/logrotate.conf ]] || t_skip "no /etc/logrotate.conf here (apt-get install logrotate)"
	# shellcheck disable=SC2016 # make's variable, printed by make
	dir=$(t_make -s --eval 'print-logrotatedir: ; @echo $(LOGROTATEDIR)' print-logrotatedir)
	[[ $dir == /etc/logrotate.d ]] || t_fail "LOGROTATEDIR is '$dir'"
	grep -qE "^include[[:space:]]+$dir/?\$" /etc/logrotate.conf ||
		t_fail "/etc/logrotate.conf does not include $dir"
}

# An operator's edits to the options file survive install and uninstall.
test_edited_options_file_is_kept() {
	local dest=$T_TMP/edited file
	file=$dest/usr/local/etc/default/mtserver
	t_make -s install DESTDIR="$dest" VARIANT="$MT_VARIANT" >/dev/null
	printf 'MTSERVER_PORT=9000\n' >>"$file"
	t_make -s install DESTDIR="$dest" VARIANT="$MT_VARIANT" >/dev/null
	grep -qx 'MTSERVER_PORT=9000' "$file" || t_fail "install replaced the edited options file"
	t_make -s uninstall DESTDIR="$dest" >/dev/null
	grep -qx 'MTSERVER_PORT=9000' "$file" || t_fail "uninstall removed the edited options file"
	[[ $(install_files "$dest") == usr/local/etc/default/mtserver ]] ||
		t_fail "uninstall left more than the edited file: $(install_files "$dest")"
}

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
t_case test_logrotate_dir_is_read
t_case test_edited_options_file_is_kept
t_case test_install_does_not_rebuild
t_done
