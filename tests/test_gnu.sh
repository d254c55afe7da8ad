#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_gnu.sh - every program keeps the GNU command-line conventions
# (GNU Coding Standards, "Command-Line Interfaces"), checked on the
# programs as built: --help and --version fail when their output cannot
# be written; a program names itself as it was invoked (flood is
# installed as mtflood); a bad option is named, and a switch given a
# value is told so; --help ends with where to report bugs; stserver's
# --help speaks of TCP only.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROGRAMS=(mtserver stserver ptserver fkserver epserver rpserver urserver mtclient flood)

# run_to_full PROG OPTION: runs PROG OPTION with stdout on /dev/full;
# sets rc and err (its stderr).
run_to_full() {
	local errfile=$T_TMP/err.$1
	rc=0
	"$(t_bin "$1")" "$2" >/dev/full 2>"$errfile" || rc=$?
	err=$(cat "$errfile")
}

test_help_and_version_to_a_full_disk_fail() {
	local prog opt rc err
	[[ -w /dev/full ]] || t_skip "no /dev/full on this system"
	for prog in "${PROGRAMS[@]}"; do
		for opt in --help --version; do
			run_to_full "$prog" "$opt"
			[[ $rc -eq 1 ]] || t_fail "$prog $opt >/dev/full: exit status $rc, expected 1"
			# The reason, when stdio still has it (coreutils'
			# close_stdout words it the same way).
			[[ $err == "$prog: write error" || $err == "$prog: write error: No space left on device" ]] ||
				t_fail "$prog $opt >/dev/full: stderr '$err'"
		done
		# Written where it can be: exit 0, nothing on stderr.
		err=$("$(t_bin "$prog")" --help 2>&1 >/dev/null) || t_fail "$prog --help: exit status $?"
		[[ -z $err ]] || t_fail "$prog --help: stderr '$err'"
	done
}

# Replies mtclient cannot print are an error of their own: exit 1 and
# "write error", not the server's address with the reason.
test_mtclient_output_to_a_full_disk_fails() {
	local port rc=0 err
	[[ -w /dev/full ]] || t_skip "no /dev/full on this system"
	bg_start echo_server -- "$(t_bin mtserver)" --echo --no-udp -b 127.0.0.1 0
	wait_until 10 grep -q 'listening on' "$T/echo_server.err" || t_fail "mtserver did not start: $(cat "$T/echo_server.err")"
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/echo_server.err")
	[[ -n $port ]] || t_fail "no port in: $(cat "$T/echo_server.err")"
	printf 'hello\n' | "$(t_bin mtclient)" 127.0.0.1 "$port" >/dev/full 2>"$T/client.err" || rc=$?
	err=$(cat "$T/client.err")
	[[ $rc -eq 1 ]] || t_fail "mtclient >/dev/full: exit status $rc, expected 1"
	[[ $err == "mtclient: write error: No space left on device" ]] || t_fail "mtclient >/dev/full: stderr '$err'"
	bg_stop echo_server 10 >/dev/null || t_fail "mtserver did not stop cleanly"
}

# flood as installed (mtflood) says mtflood: in --help, --version and
# its error lines; it takes its name from argv[0].
test_mtflood_names_itself() {
	local out first
	ln -s "$MT_FLOOD" "$T_TMP/mtflood"
	first=$("$T_TMP/mtflood" --version | head -n 1)
	[[ $first =~ ^mtflood\ \(mtserver\)\ [0-9] ]] || t_fail "mtflood --version: '$first'"
	out=$("$T_TMP/mtflood" --help)
	grep -q '^Usage: mtflood \[OPTIONS\]' <<<"$out" || t_fail "mtflood --help: no 'Usage: mtflood' line"
	! grep -qw 'flood' <<<"$out" || t_fail "mtflood --help calls it flood: $(grep -w flood <<<"$out" | head -n 1)"
	out=$("$T_TMP/mtflood" -n 0 2>&1) && t_fail "mtflood -n 0: exit status 0"
	[[ $out == "mtflood: "* ]] || t_fail "mtflood -n 0: '$out'"
	# In the source tree it is bench/flood, and says flood.
	first=$("$MT_FLOOD" --version | head -n 1)
	[[ $first == "flood (mtserver) "* ]] || t_fail "flood --version: '$first'"
}

# expect_usage_error PROG WANT ARGS...: exit status 2 and the one line
# "PROG: WANT".
expect_usage_error() {
	local prog=$1 want=$2 out rc=0
	shift 2
	out=$("$(t_bin "$prog")" "$@" 2>&1 >/dev/null) || rc=$?
	[[ $rc -eq 2 ]] || t_fail "$prog $*: exit status $rc, expected 2"
	[[ $out == "$prog: $want"* ]] || t_fail "$prog $*: '$out', expected '$prog: $want'"
	[[ $(wc -l <<<"$out") -eq 1 ]] || t_fail "$prog $*: more than one line: $out"
}

test_bad_options_are_named() {
	local prog
	for prog in "${PROGRAMS[@]}"; do
		expect_usage_error "$prog" "unknown option '--bogus'" --bogus 1 2
		expect_usage_error "$prog" "unknown option '-Z'" -Z 1 2
		expect_usage_error "$prog" "option '--help' doesn't allow an argument" --help=yes
	done
	expect_usage_error mtserver "option '--echo' doesn't allow an argument" --echo=yes 0
	expect_usage_error stserver "option '--echo' doesn't allow an argument" --echo=yes 0
	expect_usage_error mtclient "option '--udp' doesn't allow an argument" --udp=yes localhost 9
	expect_usage_error flood "option '--echo' doesn't allow an argument" --echo=yes
	expect_usage_error mtserver "option '--log' needs a value" 0 --log
}

test_help_says_where_to_report_bugs() {
	local prog out
	for prog in "${PROGRAMS[@]}"; do
		out=$("$(t_bin "$prog")" --help)
		grep -q '^Report bugs: ' <<<"$out" || t_fail "$prog --help: no 'Report bugs:' line"
	done
}

# stserver serves one TCP client at a time and no UDP: its options speak
# of TCP only (the introduction says why there is no UDP).
test_stserver_help_is_tcp_only() {
	local options
	options=$("$(t_bin stserver)" --help | sed -n '/^  PORT/,$p')
	[[ -n $options ]] || t_fail "stserver --help: no option list"
	! grep -n UDP <<<"$options" || t_fail "stserver --help speaks of UDP"
}

t_case test_help_and_version_to_a_full_disk_fail
t_case test_mtclient_output_to_a_full_disk_fails
t_case test_mtflood_names_itself
t_case test_bad_options_are_named
t_case test_help_says_where_to_report_bugs
t_case test_stserver_help_is_tcp_only
t_done
