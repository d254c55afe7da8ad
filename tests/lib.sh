# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# tests/lib.sh - the shell suites' runner (tests/test_*.sh): what is not C
# is tested here (manual pages, installation, service files, packaging).
# Source it from a bash script with `set -euo pipefail`; it sources
# bench/lib.sh for the bounded helpers (need_cmd, wait_until, bg_start...)
# and starts a run there (bench_begin: $T, every process stopped at exit).
#
#   t_case NAME          run the function NAME as one test, in a subshell
#   t_fail MSG           fail the current test (from inside a test)
#   t_skip MSG           skip the current test, saying why
#   t_done               print cmocka's summary lines; exit 1 if any failed
#   T_ROOT, T_TMP        the source tree, a private directory removed at exit
#                        (bench/lib.sh's $T)
#
# Output follows cmocka's ([ RUN ] / [ OK ] / [ FAILED ] / [ SKIPPED ] and
# the [==========] / [  PASSED  ] summary) so that CI logs read the same
# whichever kind of suite printed them.

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_NAME=$(basename "$0" .sh)
# shellcheck source=bench/lib.sh
. "$T_ROOT/bench/lib.sh"

# Where the Makefile says the programs are (sanitizer variants elsewhere).
MT_BIN_DIR=${MT_BIN_DIR:-.}
MT_FLOOD=${MT_FLOOD:-bench/flood}
MT_VARIANT=${MT_VARIANT:-}
[[ $MT_BIN_DIR == /* ]] || MT_BIN_DIR=$T_ROOT/$MT_BIN_DIR
[[ $MT_FLOOD == /* ]] || MT_FLOOD=$T_ROOT/$MT_FLOOD

bench_begin
# shellcheck disable=SC2034 # for the suites that source this
T_TMP=$T

_t_run=0 _t_failed=() _t_skipped=0
_T_SKIP=77

t_fail() {
	printf '%s\n' "$*" >&2
	exit 1
}
t_skip() {
	printf 'skipped: %s\n' "$*" >&2
	exit "$_T_SKIP"
}

# t_bin NAME: path of a program as built (flood is bench/flood).
t_bin() {
	if [[ $1 == flood ]]; then
		printf '%s\n' "$MT_FLOOD"
	else
		printf '%s\n' "$MT_BIN_DIR/$1"
	fi
}

t_case() {
	local name=$1 rc
	printf '[ RUN      ] %s\n' "$name"
	# Not in an `||` list: set -e must stay in force inside the test.
	set +e
	(
		set -euo pipefail
		"$name"
	) 2>&1
	rc=$?
	set -e
	_t_run=$((_t_run + 1))
	case $rc in
	0) printf '[       OK ] %s\n' "$name" ;;
	"$_T_SKIP")
		printf '[  SKIPPED ] %s\n' "$name"
		_t_skipped=$((_t_skipped + 1))
		;;
	*)
		printf '[  FAILED  ] %s\n' "$name"
		_t_failed+=("$name")
		;;
	esac
}

t_done() {
	local passed=$((_t_run - ${#_t_failed[@]} - _t_skipped)) n
	printf '[==========] %d test(s) run.\n' "$_t_run"
	printf '[  PASSED  ] %d test(s).\n' "$passed"
	((_t_skipped == 0)) || printf '[  SKIPPED ] %d test(s).\n' "$_t_skipped"
	if ((${#_t_failed[@]} > 0)); then
		printf '[  FAILED  ] %d test(s), listed below:\n' "${#_t_failed[@]}"
		for n in "${_t_failed[@]}"; do
			printf '[  FAILED  ] %s\n' "$n"
		done
		exit 1
	fi
	exit 0
}
