#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# lessons/lesson-models.sh - every concurrency model side by side, measured
# with bench/flood in one run (issue 23; Stevens, UNIX Network Programming
# vol. 1, chapter 30, measured today).
#
#   make lesson-models            the full run (a few minutes)
#   make lesson-models QUICK=1    a smoke run of seconds (CI): tiny counts
#   make lesson-models PUBLISH=1  ... and copy the results to lessons/published/
#
# The models are the programs of this tree that exist: stserver (iterative),
# mtserver (thread per connection), ptserver (prethreaded pool), and, when
# they are built, fkserver, epserver, rpserver and urserver; an absent one
# is named in the results and skipped.  redis-server is the outside
# reference for ping-pong.  Every server is started on 127.0.0.1, port 0
# (redis-server: a free port), with --echo and a log of its own, and
# stopped by its pid.  Four sections, each a fresh server per run:
#
#   stevens  Figure 30.1's experiment: flood --churn, 5 clients x 1,000
#            connections, each sending 4,000 bytes and reading them back;
#            the server's CPU time (user + system, /proc/PID/stat, its
#            reaped children's included) over the run
#   pingpong flood --echo at 1, 200 and 1,000 clients: msgs/s and p99
#   hold     flood --hold at 10,000 clients, then more (bounded by
#            RLIMIT_NOFILE): the server's RSS per idle client, and the
#            most clients held
#   hostile  20 well-behaved echo clients while one hostile client holds
#            a session: none, one trickling a line byte by byte, one never
#            reading its echoes; the others' first-reply p99.  The servers
#            run with --idle-timeout and --send-timeout of IDLE seconds,
#            so that the hostile client is cut off in the end.
#
# Every run that sends messages is checked with flood --verify-log: every
# line sent is in the server's log exactly once (a run over its time
# budget: each client's lines a prefix).  The bash here only starts
# programs and records facts; lessons/lessonlib.py makes
# lessons/results/models.json of them, then models.md and models.dat;
# gnuplot (lessons/models.gp) draws models.png.
#
# Environment: QUICK, PUBLISH, KEEP_TMP (bench/lib.sh), CAP=seconds per
# flood run (30; quick 10), FLOOD.  Exit status: 0 ok, 1 something failed
# (a server did not start or stop cleanly, flood failed other than by its
# time budget, a line was lost).
set -euo pipefail

BENCH_NAME=lesson-models
RESULTS_DIR=lessons/results PUBLISHED_DIR=lessons/published
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib.sh"

FLOOD=${FLOOD:-bench/flood}
ALL_MODELS=(stserver mtserver ptserver fkserver epserver rpserver urserver)
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited ]] && NOFILE=1048576
if ((QUICK)); then
	CAP=${CAP:-10}
	STEVENS_CLIENTS=5 STEVENS_PER_CLIENT=20
	PP_CLIENTS=(1 20) PP_MESSAGES=(200 20)
	HOLD_STEPS=(100 200) HOLD_SECS=1
	HOSTILE_KINDS=(none trickle deaf) HOSTILE_CLIENTS=5 HOSTILE_MESSAGES=5 IDLE=1
else
	CAP=${CAP:-30}
	STEVENS_CLIENTS=5 STEVENS_PER_CLIENT=1000
	PP_CLIENTS=(1 200 1000) PP_MESSAGES=(20000 100 20)
	# Past 10,000: as many as one process may open, less headroom (the
	# server and flood each hold one descriptor per client).
	HOLD_STEPS=(10000 $((NOFILE - 200 > 10000 ? NOFILE - 200 : 10000))) HOLD_SECS=3
	HOSTILE_KINDS=(none trickle deaf) HOSTILE_CLIENTS=20 HOSTILE_MESSAGES=20 IDLE=2
fi
STEVENS_SIZE=4000

MODELS=() ABSENT=()
for m in "${ALL_MODELS[@]}"; do
	if [[ -x ./$m ]]; then MODELS+=("$m"); else ABSENT+=("$m"); fi
done
for prog in ./stserver ./mtserver "$FLOOD"; do
	[[ -x $prog ]] || die "$prog not built (run: make)"
done
if ! is_uint "$CAP" || ((CAP == 0)); then die "CAP must be a positive integer"; fi

# model_start ID MODEL [OPTION...]: the model on 127.0.0.1, port 0, with
# --echo and the log $T/ID.log; SRV_PID and SRV_PORT set.
model_start() {
	local id=$1 model=$2
	shift 2
	srv_start "$id" -- "./$model" --echo -b 127.0.0.1 -l "$T/$id.log" "$@" 0
}

# redis_start ID: redis-server on a free port (a few tries: the port may be
# taken between the look and the bind), no persistence.
redis_start() {
	local id=$1 try port
	for ((try = 0; try < 3; try++)); do
		port=$(free_port) || return 1
		bg_start "$id" -- redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no
		if wait_port "$port" 5; then
			SRV_PID=$BG_PID SRV_PORT=$port
			return 0
		fi
		bg_stop "$id" 5 || true
	done
	return 1
}

# flood_run ID ARGS...: bench/flood against SRV_PORT, bounded by CAP, its
# report in $T/ID.json; sets FRC (its exit status) and CAPPED (it stopped
# at its time budget).
flood_run() {
	local id=$1
	shift
	FRC=0 CAPPED=false
	timeout -k 5 $((CAP + 30)) "$FLOOD" -H 127.0.0.1 -p "$SRV_PORT" --max-time "$CAP" --json "$@" \
		>"$T/$id.json" 2>"$T/$id.flood" || FRC=$?
	if ((FRC == 1)) && [[ $(bget "$T/$id.json" errors.max_time) -gt 0 ]]; then CAPPED=true; fi
	return 0
}

# verify ID N M SIZE: flood --verify-log on the run's log (a capped run:
# each client's lines a prefix); its exit status.
verify() {
	local id=$1 rc=0 args=(--verify-log "$T/$1.log" -n "$2" -m "$3" -s "$4" --json)
	[[ $CAPPED == true ]] && args+=(--allow-missing-tail)
	"$FLOOD" "${args[@]}" >"$T/$id.verify.json" 2>"$T/$id.verify.err" || rc=$?
	((rc == 0)) || tail -n 5 "$T/$id.verify.err" >&2
	return "$rc"
}

ticks() { py lessons/lessonlib.py ticks "$1"; }

# stevens MODEL: 5 clients each making PER_CLIENT connections of 4,000
# bytes there and back; the server's CPU ticks over the run.
stevens() {
	local m=$1 id=stevens_$1 t0 t1 src=0 vrc=0
	fact "run:$id" section stevens model "$m" clients "$STEVENS_CLIENTS"
	model_start "$id" "$m" || {
		fact "run:$id" started 0
		return 0
	}
	t0=$(ticks "$SRV_PID")
	flood_run "$id" --churn --echo -s "$STEVENS_SIZE" -n "$STEVENS_CLIENTS" -m "$STEVENS_PER_CLIENT" \
		--timeout $(((CAP + 5) * 1000))
	t1=$(ticks "$SRV_PID")
	srv_stop "$id" || src=$?
	verify "$id" "$STEVENS_CLIENTS" "$STEVENS_PER_CLIENT" "$STEVENS_SIZE" || vrc=$?
	fact "run:$id" started 1 frc "$FRC" capped "$CAPPED" src "$src" vrc "$vrc" cpu_ticks $((t1 - t0))
	say "stevens  $m: $((t1 - t0)) ticks; flood $FRC, server $src, verify-log $vrc"
}

# pingpong MODEL N M: N clients, M messages each, one in flight.
pingpong() {
	local m=$1 n=$2 msgs=$3 id=pp_$1_$2 src=0 vrc=- extra=()
	fact "run:$id" section pingpong model "$m" clients "$n"
	if [[ $m == redis-server ]]; then
		redis_start "$id" || {
			fact "run:$id" started 0
			return 0
		}
		extra=(--payload PING --reply-any-line)
	elif ! model_start "$id" "$m"; then
		fact "run:$id" started 0
		return 0
	fi
	flood_run "$id" --echo -n "$n" -m "$msgs" --timeout $(((CAP + 5) * 1000)) "${extra[@]}"
	srv_stop "$id" || src=$?
	if [[ $m != redis-server ]]; then
		vrc=0
		verify "$id" "$n" "$msgs" 32 || vrc=$?
	fi
	fact "run:$id" started 1 frc "$FRC" capped "$CAPPED" src "$src" vrc "$vrc"
	say "pingpong $m N=$n: $(bget "$T/$id.json" messages_per_s) msgs/s; flood $FRC, server $src, verify-log $vrc"
}

# hold MODEL N: N idle clients for HOLD_SECS; the server's RSS before and
# at the peak of sockets; returns 1 when not all were held (the search
# stops there).
hold() {
	local m=$1 n=$2 id=hold_$1_$2 src=0 pid base rss0 rss=0 held=0 s i fpid
	fact "run:$id" section hold model "$m" clients "$n"
	model_start "$id" "$m" --max-clients "$n" || {
		fact "run:$id" started 0
		return 1
	}
	pid=$SRV_PID base=$(sockets_of "$SRV_PID") rss0=$(rss_kb "$SRV_PID")
	timeout -k 5 $((CAP + HOLD_SECS + 30)) "$FLOOD" -H 127.0.0.1 -p "$SRV_PORT" -n "$n" --hold "$HOLD_SECS" \
		--timeout 20000 --max-time $((CAP + HOLD_SECS)) --json >"$T/$id.json" 2>"$T/$id.flood" &
	fpid=$!
	# Sample until every client is in or flood is done (10 per second).
	for ((i = 0; i < (CAP + HOLD_SECS) * 10; i++)); do
		s=$(($(sockets_of "$pid") - base))
		if ((s > held)); then held=$s rss=$(rss_kb "$pid"); fi
		((held >= n)) && break
		kill -0 "$fpid" 2>/dev/null || break
		sleep 0.1
	done
	# The peak's RSS once every socket is in (threads' stacks touched).
	sleep 0.3
	((held >= n)) && rss=$(rss_kb "$pid")
	# The server closes first, so that the TIME_WAIT state falls on its
	# side (its port is new each run), not on flood's ephemeral ports: the
	# next step needs them.  flood then sees its clients closed early, so
	# its status says nothing here; what the server held does.
	srv_stop "$id" || src=$?
	wait "$fpid" || true
	((held > n)) && held=$n
	fact "run:$id" started 1 frc - src "$src" held "$held" rss0_kb "$rss0" rss_kb "${rss:-0}"
	say "hold     $m N=$n: held $held, VmRSS $rss0 -> $rss KiB; server $src"
	((held >= n))
}

# hostile_client KIND PORT: one client that holds its session without
# completing anything useful, bounded in time: trickle sends a line one
# byte every 0.2 s and never ends it; deaf sends lines as fast as it can
# and never reads the echoes.
hostile_client() {
	local kind=$1 port=$2
	# shellcheck disable=SC2016 # $1 is the inner shell's
	case $kind in
	trickle)
		bg_start hostile -- timeout 20 bash -c \
			'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 0
			 for ((i = 0; i < 100; i++)); do printf s >&3 || exit 0; sleep 0.2; done' _ "$port"
		;;
	deaf)
		bg_start hostile -- timeout 20 bash -c \
			'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 0
			 yes "a deaf client never reads its echoes" | head -c 200000000 >&3 || exit 0' _ "$port"
		;;
	esac
}

# hostile MODEL KIND: HOSTILE_CLIENTS echo clients while a KIND client is
# served (none: no such client, the baseline).
hostile() {
	local m=$1 kind=$2 id=hostile_$1_$2 src=0 vrc=0
	fact "run:$id" section hostile model "$m" kind "$kind" clients "$HOSTILE_CLIENTS"
	model_start "$id" "$m" --idle-timeout "$IDLE" --send-timeout "$IDLE" || {
		fact "run:$id" started 0
		return 0
	}
	if [[ $kind != none ]]; then
		hostile_client "$kind" "$SRV_PORT"
		# Served first: the iterative server is busy with it from here.
		wait_until 5 grep -q ' connect$' "$T/$id.log" || warn "$id: the hostile client's connect is not logged"
	fi
	flood_run "$id" --echo -n "$HOSTILE_CLIENTS" -m "$HOSTILE_MESSAGES" --timeout $(((CAP + 5) * 1000))
	bg_stop hostile 2 || true
	srv_stop "$id" || src=$?
	verify "$id" "$HOSTILE_CLIENTS" "$HOSTILE_MESSAGES" 32 || vrc=$?
	fact "run:$id" started 1 frc "$FRC" capped "$CAPPED" src "$src" vrc "$vrc"
	say "hostile  $m $kind: first reply p99 $(bget "$T/$id.json" first_reply_us.p99) us;" \
		"flood $FRC, server $src, verify-log $vrc"
}

# write_results OUT STARTED: models.json, then models.md and .dat from it,
# then the picture; exit status 1 when a run failed.
write_results() {
	local out=$1 rc=0
	fact_list models models "${MODELS[@]}"
	fact_list models absent "${ABSENT[@]}"
	fact_list models pp_clients "${PP_CLIENTS[@]}"
	fact_list models pp_messages "${PP_MESSAGES[@]}"
	fact_list models hold_steps "${HOLD_STEPS[@]}"
	fact_list models hostile_kinds "${HOSTILE_KINDS[@]}"
	fact models quick "$QUICK" started "$2" duration_s "$SECONDS" kernel "$(uname -sr)" nproc "$(nproc)" \
		hz "$(getconf CLK_TCK)" cap_s "$CAP" stevens_clients "$STEVENS_CLIENTS" \
		stevens_per_client "$STEVENS_PER_CLIENT" stevens_size "$STEVENS_SIZE" hold_secs "$HOLD_SECS" \
		hostile_clients "$HOSTILE_CLIENTS" hostile_messages "$HOSTILE_MESSAGES" idle_timeout_s "$IDLE" \
		nofile "$NOFILE"
	py lessons/lessonlib.py results models "$T" "$out.json" || rc=1
	py lessons/lessonlib.py render models "$out.json" >"$out.md"
	py lessons/lessonlib.py render models-dat "$out.json" >"$out.dat"
	plot_png lessons/models.gp "$out.png" "datafile='$out.dat'; outfile='$out.png'; quick=$QUICK" || rc=1
	say "wrote $out.json, $out.md and $out.dat (${SECONDS} s)"
	return "$rc"
}

main() {
	local m n i kind out started failed=0 pp_tools=("${MODELS[@]}")
	started=$(date -u +%Y-%m-%dT%H:%MZ)
	bench_begin
	((${#ABSENT[@]} == 0)) || say "not built, skipped: ${ABSENT[*]}"
	if need_cmd redis-server redis-server; then
		pp_tools+=(redis-server)
	else
		say "no redis-server: ping-pong without the outside reference"
	fi
	# Each connection flood closes first leaves one of its ephemeral ports
	# in TIME_WAIT for a minute (Stevens' 5,000 per model most of all),
	# and the holds need nearly all of them: the holds come first.  The
	# iterative server holds one client; the others wait in its backlog
	# of 5, unheld: nothing to measure.
	for m in "${MODELS[@]}"; do
		[[ $m == stserver ]] && continue
		for n in "${HOLD_STEPS[@]}"; do hold "$m" "$n" || break; done
	done
	for kind in "${HOSTILE_KINDS[@]}"; do
		for m in "${MODELS[@]}"; do hostile "$m" "$kind"; done
	done
	for i in "${!PP_CLIENTS[@]}"; do
		for m in "${pp_tools[@]}"; do pingpong "$m" "${PP_CLIENTS[$i]}" "${PP_MESSAGES[$i]}"; done
	done
	for m in "${MODELS[@]}"; do stevens "$m"; done
	out=$(bench_out models)
	write_results "$out" "$started" || failed=1
	cat "$out.md"
	bench_publish "$failed" "$out.json" "$out.md" "$out.dat" "$out.png"
	exit "$failed"
}

main "$@"
