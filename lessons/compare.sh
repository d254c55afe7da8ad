#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck disable=SC2034 # RUNS is read through json_members' nameref
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
# pid.  It records the total time, messages per second, and each client's
# wait for its first reply (p50 and max over the N clients) in
# bench/results/compare.json; bench/render.sh makes compare.md and
# compare.dat from it, and gnuplot (lessons/compare.gp) compare.png.
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
PUBLISHED_DIR=lessons/published
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

declare -A RUNS=()
FAILED=0

# check_log LOG RUN_JSON N CAPPED: flood --verify-log: every message flood
# got an answer for is in the log exactly once (a capped run: each
# client's messages a prefix); fails, with flood's report, when not.  Sets
# FW_P50 and FW_MAX, the median and the largest of the N clients'
# first-reply waits in seconds ("" for a wait beyond CAP or a client never
# served), and FW_COUNT, the clients whose first message is logged: flood
# counts them (first_logged_us) from the run's start (started_unix_us).
FW_P50='' FW_MAX='' FW_COUNT=0
check_log() {
	local log=$1 n=$3 rc=0 us
	local args=(--verify-log "$log" -n "$n" -m "$MESSAGES" --json)
	[[ $4 == true ]] && args+=(--allow-missing-tail)
	args+=(--run-start "$(json_get "$2" started_unix_us)")
	"$FLOOD" "${args[@]}" >"$T/verify.json" 2>"$T/verify.err" || rc=$?
	((rc == 0)) || cat "$T/verify.err" >&2
	FW_COUNT=$(json_get "$T/verify.json" first_logged_us.count) FW_P50='' FW_MAX=''
	# A client never served has no sample: the median of all N is
	# flood's only while at least half were served, the max only when
	# all were.
	us=$(json_get "$T/verify.json" first_logged_us.p50)
	((FW_COUNT * 2 >= n)) && FW_P50=$(within_cap "$us")
	us=$(json_get "$T/verify.json" first_logged_us.max)
	((FW_COUNT == n)) && FW_MAX=$(within_cap "$us")
	return "$rc"
}
# within_cap US: US in seconds, or nothing when beyond CAP.
within_cap() { awk -v u="${1:-}" -v cap="$CAP" 'BEGIN { if (u != "" && u / 1e6 <= cap) printf "%.6f", u / 1e6 }'; }

# measure SERVER N: one server, one flood run, one verification; records
# RUNS[SERVER_N].
measure() {
	local srv=$1 n=$2 id=$1_$2 log="$T/$1-$2.log" json="$T/$1-$2.json" frc=0 src=0 note='' capped=false
	if ! srv_start "$id" -- "./$srv" --echo -b 127.0.0.1 -l "$log" 0; then
		RUNS[$id]=$(json_obj server "$srv" clients "$n" note "server did not start")
		FAILED=1
		return 0
	fi
	# Every client connects at once, sends MESSAGES messages THINK ms
	# apart and waits for each echo (up to CAP + 5 s: a client queued
	# behind others must not time out); flood stops at CAP s.
	timeout -k 5 $((CAP + 30)) "$FLOOD" -H 127.0.0.1 -p "$SRV_PORT" -n "$n" -m "$MESSAGES" --think "$THINK_MS" \
		--echo --timeout $(((CAP + 5) * 1000)) --max-time "$CAP" --json >"$json" 2>"$T/$id.flood" || frc=$?
	srv_stop "$id" || src=$?
	((src == 0)) || note="server exit status $src"
	if [[ -z $(json_get "$json" elapsed_s) ]]; then
		note="flood failed (status $frc, no report)${note:+; $note}"
	elif ((frc == 1)) && [[ $srv == stserver && $(json_get "$json" errors.max_time) -gt 0 ]]; then
		capped=true # ran out of budget: expected of the iterative server
	elif ((frc != 0)); then
		note="flood status $frc${note:+; $note}"
	fi
	check_log "$log" "$json" "$n" "$capped" || note="verify-log failed${note:+; $note}"
	[[ $capped == true || -n $FW_MAX ]] || note="a client's first message is missing from the log${note:+; $note}"
	[[ -z $note ]] || FAILED=1
	record "$id" "$json" "$capped" "$note"
}

# record ID JSON CAPPED NOTE: the figures of one run.
record() {
	local id=$1 json=$2 elapsed answered
	elapsed=$(json_get "$json" elapsed_s) answered=$(json_get "$json" messages_answered)
	RUNS[$id]=$(json_obj server "${id%_*}" clients "${id##*_}" capped "$3" note "@str:$4" \
		elapsed_s "$elapsed" answered "$answered" messages_per_s "$(ratio "$answered" "$elapsed" 1)" \
		first_reply_p50_s "$FW_P50" first_reply_max_s "$FW_MAX" first_replies_logged "$FW_COUNT" \
		connect_max_s "$(awk -v u="$(json_get "$json" connect_us.max)" 'BEGIN { if (u != "") printf "%.6f", u / 1e6 }')")
	say "$(printf '%-8s N=%-3s total %-8s s first reply p50 %-9s max %-9s %s' "${id%_*}" "${id##*_}" \
		"$([[ $3 == true ]] && echo capped || echo "$elapsed")" "${FW_P50:->cap}" "${FW_MAX:->cap}" "$4")"
}

# write_results OUT: compare.json, then compare.md and .dat from it, then
# the picture.
write_results() {
	local out=$1 started=$2
	{
		printf '{\n"schema": "mtserver-compare/1",\n"quick": %s,\n' "$( ((QUICK)) && echo true || echo false)"
		printf '"started": %s,\n"duration_s": %s,\n' "$(json_str "$started")" "$SECONDS"
		printf '"host": %s,\n' "$(json_obj kernel "$(uname -sr)" nproc "$(nproc)")"
		printf '"clients": %s,\n"messages": %s,\n"think_ms": %s,\n"cap_s": %s,\n' \
			"$(json_arr "${CLIENTS[@]}")" "$MESSAGES" "$THINK_MS" "$CAP"
		printf '"runs": %s\n}\n' "$(json_members RUNS)"
	} >"$out.json"
	bash bench/render.sh compare "$out.json" >"$out.md"
	bash bench/render.sh compare-dat "$out.json" >"$out.dat"
	if ! need_cmd gnuplot gnuplot-nox "$( ((QUICK)) && echo skip || echo install)"; then
		say "no picture (apt-get install gnuplot-nox)"
	elif gnuplot -e "datafile='$out.dat'; outfile='$out.png'; cap=$CAP; msgs=$MESSAGES; think=$THINK_MS" \
		lessons/compare.gp 2>"$T/gnuplot.err" && [[ -s $out.png ]]; then
		say "wrote $out.png"
	else
		cat "$T/gnuplot.err" >&2
		FAILED=1
	fi
	say "wrote $out.json, $out.md and $out.dat (${SECONDS} s)"
}

main() {
	local n srv out started
	started=$(date -u +%Y-%m-%dT%H:%MZ)
	bench_begin
	say "clients: ${CLIENTS[*]}; $MESSAGES messages ${THINK_MS} ms apart each, --echo; budget ${CAP} s per run"
	for n in "${CLIENTS[@]}"; do
		for srv in "${SERVERS[@]}"; do measure "$srv" "$n"; done
	done
	out=$(bench_out compare)
	write_results "$out" "$started"
	cat "$out.md"
	bench_publish "$FAILED" "$out.json" "$out.md" "$out.dat" "$out.png"
	exit "$FAILED"
}

main "$@"
