#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# lessons/compare.sh - the classroom comparison: the iterative stserver
# against the thread-per-connection mtserver, with interactive clients.
#
#   make compare            N = 1 2 5 10 20 50 100 200, 10 messages 100 ms apart
#   make compare QUICK=1    N = 1 2 5, 3 messages 20 ms apart (seconds)
#   make compare PUBLISH=1  ... and copy the results to lessons/published/
#
# For every N and both servers: start the server (127.0.0.1, port 0, --echo,
# log to a temporary file), run bench/flood with N clients that each send
# M messages THINK ms apart and wait for every echo, stop the server by its
# pid.  lessons/lessonlib.py makes of flood's reports the total time,
# messages per second, and each client's wait for its first reply (p50 and
# max over the N clients) in lessons/results/compare.json, then compare.md
# and compare.dat from it; gnuplot (lessons/compare.gp) draws compare.png.
#
# First-reply wait: from the moment flood starts connecting to the server
# log's timestamp of the client's first message, which the server echoes
# at once.  It includes connect retries (SYNs dropped while stserver's
# backlog of 5 is full are retried after 1 s, 3 s, 7 s ...) and the time a
# connected client waits in the accept queue; the log's "connect" line
# would hide that queueing, since stserver accepts exactly when the wait
# is over.  flood --verify-log reports it (first_logged_us), reading the
# log with the log's own reader, so no script parses dates.
#
# stserver's big cases take N x (M-1) x THINK by nature (200 s for 200
# clients), so each run gets a budget of CAP seconds (flood --max-time);
# a run that hits it is marked capped, and clients not served by then
# count as waiting longer than CAP.
#
# Environment: QUICK, PUBLISH (bench/lib.sh), CAP=seconds (30; quick 10),
# FLOOD.  Exit status: 0 ok, 1 something failed (a server did not start or
# stop cleanly, flood failed other than by the budget, a message lost).
set -euo pipefail

BENCH_NAME=compare
RESULTS_DIR=lessons/results PUBLISHED_DIR=lessons/published
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib.sh"

FLOOD=${FLOOD:-bench/flood}
if ((QUICK)); then
	CLIENTS=(1 2 5) MESSAGES=3 THINK_MS=20 CAP=${CAP:-10}
else
	CLIENTS=(1 2 5 10 20 50 100 200) MESSAGES=10 THINK_MS=100 CAP=${CAP:-30}
fi
SERVERS=(stserver mtserver)

for prog in ./stserver ./mtserver "$FLOOD"; do
	[[ -x $prog ]] || die "$prog not built (run: make)"
done
if ! is_uint "$CAP" || ((CAP == 0)); then die "CAP must be a positive integer"; fi

# check_log ID LOG N CAPPED: flood --verify-log: every message flood got
# an answer for is in the log exactly once (a capped run: each client's
# messages a prefix); its report in $T/ID.verify.json says when each
# client's first message was logged (first_logged_us), counted from the
# run's start (flood's started_unix_us); its exit status is returned.
check_log() {
	local id=$1 rc=0
	local args=(--verify-log "$2" -n "$3" -m "$MESSAGES" --json)
	[[ $4 == true ]] && args+=(--allow-missing-tail)
	args+=(--run-start "$(bget "$T/$id.json" started_unix_us)")
	"$FLOOD" "${args[@]}" >"$T/$id.verify.json" 2>"$T/verify.err" || rc=$?
	((rc == 0)) || cat "$T/verify.err" >&2
	return "$rc"
}

# measure SERVER N: one server, one flood run, one verification; their exit
# statuses become the facts of run:SERVER_N.
measure() {
	local srv=$1 n=$2 id=$1_$2 log="$T/$1-$2.log" frc=0 src=0 vrc=0 capped=false
	fact "run:$id" server "$srv" clients "$n"
	if ! srv_start "$id" -- "./$srv" --echo -b 127.0.0.1 -l "$log" 0; then
		fact "run:$id" started 0
		return 0
	fi
	# Every client connects at once, sends MESSAGES messages THINK ms
	# apart and waits for each echo (up to CAP + 5 s: a client queued
	# behind others must not time out); flood stops at CAP s.
	timeout -k 5 $((CAP + 30)) "$FLOOD" -H 127.0.0.1 -p "$SRV_PORT" -n "$n" -m "$MESSAGES" --think "$THINK_MS" \
		--echo --timeout $(((CAP + 5) * 1000)) --max-time "$CAP" --json >"$T/$id.json" 2>"$T/$id.flood" || frc=$?
	srv_stop "$id" || src=$?
	# Out of budget (expected of the iterative server): clients' tails.
	((frc == 1)) && [[ $srv == stserver && $(bget "$T/$id.json" errors.max_time) -gt 0 ]] && capped=true
	check_log "$id" "$log" "$n" "$capped" || vrc=$?
	fact "run:$id" started 1 frc "$frc" src "$src" capped "$capped" vrc "$vrc"
	say "$(printf '%-8s N=%-3s total %-8s s; flood status %s, server %s, verify-log %s' "$srv" "$n" \
		"$(bget "$T/$id.json" elapsed_s)" "$frc" "$src" "$vrc")"
}

# write_results OUT: compare.json, then compare.md and .dat from it, then
# the picture; exit status 1 when a run failed.
write_results() {
	local out=$1 rc=0
	fact_list compare clients "${CLIENTS[@]}"
	fact compare quick "$QUICK" started "$2" duration_s "$SECONDS" kernel "$(uname -sr)" nproc "$(nproc)" \
		messages "$MESSAGES" think_ms "$THINK_MS" cap_s "$CAP"
	py lessons/lessonlib.py results compare "$T" "$out.json" || rc=1
	py lessons/lessonlib.py render compare "$out.json" >"$out.md"
	py lessons/lessonlib.py render compare-dat "$out.json" >"$out.dat"
	plot_png lessons/compare.gp "$out.png" \
		"datafile='$out.dat'; outfile='$out.png'; cap=$CAP; msgs=$MESSAGES; think=$THINK_MS" || rc=1
	say "wrote $out.json, $out.md and $out.dat (${SECONDS} s)"
	return "$rc"
}

main() {
	local n srv out started failed=0
	started=$(date -u +%Y-%m-%dT%H:%MZ)
	bench_begin
	say "clients: ${CLIENTS[*]}; $MESSAGES messages ${THINK_MS} ms apart each, --echo; budget ${CAP} s per run"
	for n in "${CLIENTS[@]}"; do
		for srv in "${SERVERS[@]}"; do measure "$srv" "$n"; done
	done
	out=$(bench_out compare)
	write_results "$out" "$started" || failed=1
	cat "$out.md"
	bench_publish "$failed" "$out.json" "$out.md" "$out.dat" "$out.png"
	exit "$failed"
}

main "$@"
