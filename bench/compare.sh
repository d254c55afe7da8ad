#!/usr/bin/env bash
# bench/compare.sh - the classroom comparison: the iterative stserver
# against the thread-per-connection mtserver, with interactive clients.
#
#   make compare            N = 1 2 5 10 20 50 100 200, 10 messages 100 ms apart
#   make compare QUICK=1    N = 1 2 5, 3 messages 20 ms apart (seconds)
#
# For every N and both servers: start the server (127.0.0.1, port 0, --echo,
# log to a temporary file), run bench/flood with N clients that each send
# M messages THINK ms apart and wait for every echo, stop the server with
# SIGTERM.  Then record the total time, messages per second, and each
# client's wait for its first reply (p50 and max over the N clients).
#
# First-reply wait: flood's own first_reply_us histogram covers only the
# clients that were answered, and a capped stserver run leaves some never
# answered; the p50 and max over all N clients (unanswered = "> CAP") are
# therefore derived per client from the server log.  flood's
# messages are "c<client> m<seq> ...", and a client sends m0 as soon as its
# connect completes and m1 only after m0's echo.  The server logs m0 when it
# reads it and echoes it at once, so
#     wait(client k) = log timestamp of "c<k> m0" - the moment flood started
# is the time from "the client asks to connect" to "its first reply".  It
# includes any connect retries (SYNs the kernel drops when stserver's
# backlog of 5 is full are retried after 1 s, 3 s, 7 s ...) and all the time
# a connected client sits in the accept queue.  (The log's "connect" line
# is written when the server *accepts*, so connect->msg would hide the
# queueing.)
#
# stserver's big cases take N x (M-1) x THINK by nature (200 s for 200
# clients), so each run gets a budget of CAP seconds (flood --max-time);
# a run that hits it is marked "capped (>CAP s)", and waits of clients not
# served by then are shown as ">CAP s".
#
# Environment: QUICK=1, CAP=seconds (30; quick 10), FLOOD=path.
# Outputs: bench/results/compare.{md,dat,png} (quick: compare-quick.*).
# Exit status: 0 ok, 1 something failed (a server did not start or stop
# cleanly, flood crashed or failed other than by the budget, output
# missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FLOOD=${FLOOD:-bench/flood}
RESULTS=bench/results
if [[ ${QUICK:-} == 1 ]]; then
	CLIENTS=(1 2 5)
	MESSAGES=3
	THINK_MS=20
	CAP=${CAP:-10}
	OUT=$RESULTS/compare-quick
else
	CLIENTS=(1 2 5 10 20 50 100 200)
	MESSAGES=10
	THINK_MS=100
	CAP=${CAP:-30}
	OUT=$RESULTS/compare
fi
SERVERS=(stserver mtserver)

say() { printf 'compare: %s\n' "$*" >&2; }
die() {
	printf 'compare: error: %s\n' "$*" >&2
	exit 1
}

for prog in ./stserver ./mtserver "$FLOOD"; do
	[[ -x $prog ]] || die "$prog not built (run: make)"
done
[[ $CAP =~ ^[0-9]+$ && $CAP -gt 0 ]] || die "CAP must be a positive integer"
command -v gnuplot >/dev/null || say "gnuplot not found: no picture (apt-get install gnuplot-nox)"

TMP=$(mktemp -d)
SERVER_PID=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME LOG ERR: start ./NAME on 127.0.0.1 port 0 with --echo,
# logging to LOG; set SERVER_PID and PORT from its "listening on" line
# (bounded wait: 5 s).
start_server() {
	local name=$1 log=$2 err=$3 i
	: >"$err" # exists before the background job opens it (sed below)
	"./$name" --echo -b 127.0.0.1 -l "$log" 0 </dev/null >/dev/null 2>"$err" &
	SERVER_PID=$!
	PORT=
	for ((i = 0; i < 50; i++)); do
		PORT=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\) (.*/\1/p' "$err")
		[[ -n $PORT ]] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$err" >&2
	return 1
}

# stop_server: SIGTERM, wait up to 10 s, then SIGKILL.  Returns the
# server's exit status (137 when it had to be killed).
stop_server() {
	local pid=$SERVER_PID rc=0 i
	SERVER_PID=
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# A zombie still answers kill -0: look at its state.
		[[ $(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) == Z ]] && break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null && [[ $(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) != Z ]]; then
		say "server pid $pid ignored SIGTERM for 10 s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" || rc=$?
	return "$rc"
}

# jnum FILE KEY: the first numeric member KEY of the JSON in FILE (flood's
# output is flat enough for this), or nothing.
jnum() {
	tr -d '\n' <"$1" | grep -oE "\"$2\":[-0-9.eE+]+" | head -n 1 | cut -d: -f2 || true
}

# waits LOG T0 N CAP: per-client first-reply waits in seconds from the log
# (one per line, sorted; "inf" for clients not served within CAP), then
# "p50 max" on the last line via summarize.  T0 is "seconds.nanoseconds".
waits() {
	awk -v t0="$2" -v n="$3" -v cap="$4" '
	# Days since 1970-01-01 of a proleptic Gregorian date (civil_from_days
	# inverted); the log is in UTC.
	function days(y, m, d) {
		y -= (m <= 2)
		era = int((y >= 0 ? y : y - 399) / 400)
		yoe = y - era * 400
		doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
		doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
		return era * 146097 + doe - 719468
	}
	# Lines: TS tcp PEER #ID msg c<k> m0 xxx
	$5 == "msg" && $7 == "m0" && $6 ~ /^c[0-9]+$/ {
		k = substr($6, 2) + 0
		if (k in first) next
		ts = $1
		t = days(substr(ts, 1, 4) + 0, substr(ts, 6, 2) + 0, substr(ts, 9, 2) + 0) * 86400 \
			+ substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 + substr(ts, 18, 9)
		first[k] = t - t0
	}
	END {
		for (k = 0; k < n; k++)
			print ((k in first) && first[k] <= cap) ? sprintf("%.6f", first[k]) : "inf"
	}' "$1" | sort -g
}

# fmt_s SECONDS: a duration for the table (ms below 1 s).
fmt_s() {
	awk -v s="$1" 'BEGIN {
		if (s == "inf") print "-"
		else if (s < 0.001) printf "%.2f ms\n", s * 1000
		else if (s < 1) printf "%.1f ms\n", s * 1000
		else printf "%.2f s\n", s
	}'
}

mkdir -p "$RESULTS"
DAT=$OUT.dat
MD=$OUT.md
ROWS=$TMP/rows # markdown table rows
RUNS=$TMP/runs # data lines, written to $DAT by server at the end
: >"$ROWS"
: >"$RUNS"

failed=0
start_all=$(date +%s)
say "clients: ${CLIENTS[*]}; $MESSAGES messages ${THINK_MS} ms apart each, --echo; budget ${CAP} s per run"
for n in "${CLIENTS[@]}"; do
	for srv in "${SERVERS[@]}"; do
		log=$TMP/$srv-$n.log err=$TMP/$srv-$n.err json=$TMP/$srv-$n.json ferr=$TMP/$srv-$n.flood
		if ! start_server "$srv" "$log" "$err"; then
			say "$srv did not start"
			failed=1
			printf '| %s | %s | server did not start | | | | | |\n' "$n" "$srv" >>"$ROWS"
			continue
		fi
		# flood: every client connects at once, sends MESSAGES messages
		# THINK ms apart, waits for each echo (up to CAP + 5 s: a client
		# queued behind others must not time out), stops at CAP s.
		t0=$(date +%s.%N)
		frc=0
		timeout -k 5 $((CAP + 30)) "$FLOOD" -H 127.0.0.1 -p "$PORT" -n "$n" \
			-m "$MESSAGES" --think "$THINK_MS" --echo \
			--timeout $(((CAP + 5) * 1000)) --max-time "$CAP" --json \
			>"$json" 2>"$ferr" || frc=$?
		src=0
		stop_server || src=$?

		note=
		capped=0
		elapsed=$(jnum "$json" elapsed_s)
		answered=$(jnum "$json" messages_answered)
		max_time=$(jnum "$json" max_time)
		conn_max=$(tr -d '\n' <"$json" | grep -oE '"connect_us":\{[^}]*\}' | grep -oE '"max":[0-9.]+' | cut -d: -f2 || true)
		if ((src != 0)); then
			note="server exit status $src"
			failed=1
		fi
		if [[ -z $elapsed || -z $answered ]]; then
			note="flood failed (status $frc, no report)${note:+; $note}"
			failed=1
			tail -n 5 "$ferr" >&2 || true
			printf '| %s | %s | %s | | | | | |\n' "$n" "$srv" "$note" >>"$ROWS"
			printf '%s %s -1 -1 -1 -1 -1 0\n' "$n" "$srv" >>"$RUNS"
			continue
		fi
		if ((frc == 1)) && [[ ${max_time:-0} -gt 0 && $srv == stserver ]]; then
			# Ran out of budget: expected for the iterative server.
			capped=1
		elif ((frc != 0)); then
			note="flood status $frc${note:+; $note}"
			failed=1
			tail -n 5 "$ferr" >&2 || true
		fi

		# Waits: sorted; nearest-rank p50 and the max ("inf" = > CAP).
		mapfile -t w < <(waits "$log" "$t0" "$n" "$CAP")
		if ((${#w[@]} != n)); then
			note="log unreadable${note:+; $note}"
			failed=1
			w=()
			for ((i = 0; i < n; i++)); do w+=(inf); done
		fi
		p50=${w[$(((n + 1) / 2 - 1))]}
		max=${w[$((n - 1))]}
		if ((!capped)) && [[ $max == inf ]]; then
			note="a client's first message is missing from the log${note:+; $note}"
			failed=1
		fi
		# Loss check: every message flood got an answer for is in the
		# log exactly once (capped runs: each client's messages a prefix).
		vargs=(--verify-log "$log" -n "$n" -m "$MESSAGES")
		((capped)) && vargs+=(--allow-missing-tail)
		if ! "$FLOOD" "${vargs[@]}" >"$TMP/verify" 2>&1; then
			note="verify-log failed${note:+; $note}"
			failed=1
			cat "$TMP/verify" >&2
		fi

		mps=$(awk -v a="$answered" -v e="$elapsed" 'BEGIN { printf "%.1f", (e > 0 ? a / e : 0) }')
		if ((capped)); then
			total="capped (>$CAP s)"
			mark="capped: $answered of $((n * MESSAGES)) messages answered in $CAP s"
		else
			total=$(fmt_s "$elapsed")
			mark=
		fi
		[[ $p50 == inf ]] && p50_t=">$CAP s" || p50_t=$(fmt_s "$p50")
		[[ $max == inf ]] && max_t=">$CAP s" || max_t=$(fmt_s "$max")
		conn_t=$(fmt_s "$(awk -v u="${conn_max:-0}" 'BEGIN { print u / 1e6 }')")
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$srv" "$total" "$mps" \
			"$p50_t" "$max_t" "$conn_t" "${mark}${mark:+${note:+; }}${note}" >>"$ROWS"
		[[ $p50 == inf ]] && p50=-1
		[[ $max == inf ]] && max=-1
		dat_total=$elapsed
		((capped)) && dat_total=-1
		printf '%s %s %s %s %s %s %s %s\n' "$n" "$srv" "$dat_total" "$mps" "$p50" "$max" \
			"$(awk -v u="${conn_max:-0}" 'BEGIN { print u / 1e6 }')" "$capped" >>"$RUNS"
		say "$(printf '%-8s N=%-3s total %-16s first reply p50 %-10s max %-10s %s' \
			"$srv" "$n" "$total" "$p50_t" "$max_t" "$note")"
	done
done
took=$(($(date +%s) - start_all))

# The data file: one block per server (gnuplot "index 0" = stserver,
# "index 1" = mtserver), so that each server's points join into a line.
{
	echo "# compare.sh data; times in seconds, -1 = not reached within the budget (${CAP} s)"
	echo "# N server total msgs_per_s wait_p50 wait_max connect_max capped"
	sep=
	for srv in "${SERVERS[@]}"; do
		printf '%s# %s\n' "$sep" "$srv"
		awk -v s="$srv" '$2 == s' "$RUNS"
		sep=$'\n\n'
	done
} >"$DAT"

{
	echo "# stserver vs mtserver: interactive clients"
	echo
	echo "Each client connects, sends $MESSAGES messages ${THINK_MS} ms apart (\`flood -n N -m $MESSAGES --think $THINK_MS --echo\`)"
	echo "and waits for each echo; every client starts at once.  stserver serves one client at a time (listen backlog 5),"
	echo "mtserver one thread per client.  Budget ${CAP} s per run: stserver's larger cases would need"
	echo "N x $(awk -v m="$MESSAGES" -v t="$THINK_MS" 'BEGIN { printf "%g", (m - 1) * t / 1000 }') s."
	echo
	echo "*First reply* is each client's wait from the moment flood starts connecting to the moment the server reads"
	echo "its first message (and echoes it back): the server log's timestamp of \`c<k> m0\` minus flood's start."
	echo "*Slowest connect* is flood's longest connect() among those that completed (the client's view): 1 s, 3 s ..."
	echo "mean SYNs were dropped while the backlog was full and retried.  A completed connect() is not an accept():"
	echo "the connection may still wait in the queue for its turn."
	echo
	echo "| N | server | total time | msgs/s | first reply p50 | first reply max | slowest connect | capped |"
	echo "|--:|:--|--:|--:|--:|--:|--:|:--|"
	cat "$ROWS"
	echo
	echo "Host: $(uname -sr), $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ); whole run ${took} s (\`bench/compare.sh\`$([[ ${QUICK:-} == 1 ]] && echo ', QUICK=1'))."
} >"$MD"
say "wrote $MD and $DAT (${took} s)"

if command -v gnuplot >/dev/null; then
	if gnuplot -e "datafile='$DAT'; outfile='$OUT.png'; cap=$CAP; msgs=$MESSAGES; think=$THINK_MS" \
		bench/compare.gp 2>"$TMP/gnuplot.err" && [[ -s $OUT.png ]]; then
		say "wrote $OUT.png"
	else
		cat "$TMP/gnuplot.err" >&2
		say "gnuplot failed"
		failed=1
	fi
fi
[[ -s $MD ]] || failed=1
cat "$MD"
exit "$failed"
