#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/test-repeat.sh - `make test` N times in a row, stopping at the first
# failure: a timing test must hold on a loaded 2-core machine, and a flaky
# one shows only when repeated.
#
#   make test-repeat N=20          (bash bench/test-repeat.sh 20)
#   make test-stress N=5           the same while `stress-ng --cpu 2` keeps
#                                  both CPUs busy (bash bench/test-repeat.sh --stress 5)
#
# Each run's output goes to build/test-repeat/run-K.log; a failing run's
# FAILED lines and the end of its log are printed.  The last line is the
# summary.  stress-ng is installed with apt-get when missing (root); it is
# started with a deadline of its own and stopped by its pid.  Every run of
# make test is bounded by timeout(1).
# Exit status: 0 all runs passed, 1 one failed, 2 usage.
set -euo pipefail

BENCH_NAME=test-repeat
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

RUN_TIMEOUT=900 # seconds for one make test (about 3 min, idle or loaded)
STRESS=0
if [[ ${1:-} == --stress ]]; then
	STRESS=1
	shift
fi
N=${1:-20}
if ! is_uint "$N" || ((N == 0)); then
	printf 'usage: test-repeat.sh [--stress] N (N > 0)\n' >&2
	exit 2
fi
LOGDIR=build/test-repeat
MAKE=${MAKE:-make}

# start_stress: stress-ng --cpu 2 in the background, for at most as long as
# all runs may take.
start_stress() {
	need_cmd stress-ng stress-ng || die "stress-ng is needed for --stress"
	bg_start stress --stdout "$LOGDIR/stress-ng.log" --stderr "$LOGDIR/stress-ng.log" -- \
		stress-ng --cpu 2 --timeout "$((N * RUN_TIMEOUT))s"
	sleep 1
	bg_alive stress || die "stress-ng did not start: $(tail -n 2 "$LOGDIR/stress-ng.log")"
	say "stress-ng --cpu 2 running (pid $BG_PID)"
}

# report_failure LOG: what failed, and the end of the run's output.
report_failure() {
	grep -E '^\[ +(FAILED|ERROR|LINE) +\]|^FAILED|Terminated|timed out' "$1" | head -n 20 >&2 || true
	say "last lines of $1:"
	tail -n 15 "$1" >&2
}

main() {
	local k rc=0 t0 passed=0 log
	mkdir -p "$LOGDIR"
	bench_begin
	((STRESS)) && start_stress
	for ((k = 1; k <= N; k++)); do
		log=$LOGDIR/run-$k.log
		t0=$SECONDS
		rc=0
		timeout -k 10 "$RUN_TIMEOUT" "$MAKE" --no-print-directory test >"$log" 2>&1 || rc=$?
		if ((rc != 0)); then
			say "run $k/$N: FAILED (exit $rc, $((SECONDS - t0)) s)"
			report_failure "$log"
			break
		fi
		passed=$((passed + 1))
		say "run $k/$N: ok ($((SECONDS - t0)) s)"
	done
	if ((STRESS)); then bg_stop stress 10 || true; fi
	printf 'test-repeat: %d of %d runs of make test passed%s in %d s%s\n' "$passed" "$N" \
		"$( ((STRESS)) && echo ' under stress-ng --cpu 2')" "$SECONDS" \
		"$( ((passed < N)) && echo "; stopped at run $((passed + 1)): see $LOGDIR/run-$((passed + 1)).log")"
	((passed == N))
}

main "$@"
