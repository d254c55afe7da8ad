#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck disable=SC2034 # arrays read through json_members' nameref
# bench/run.sh - `make bench`: mtserver side by side with peers in one run,
# on loopback, driven by bench/flood.  It measures into JSON; bench/render.sh
# turns the JSON into Markdown.
#
#   make bench              full run (a few minutes; loads both CPUs)
#                           -> bench/results/latest.json, latest.md
#   make bench QUICK=1      seconds-long smoke run -> latest-quick.*
#   make bench PUBLISH=1    ... and, if it worked, copy them to
#                           bench/published/ (what the README quotes)
#
# Sections:
#   pingpong  echo round trips at 1, 200 and 1000 clients: mtserver --echo
#             vs the minimal thread-per-connection loop (bench/peers/
#             tpc_echo.c, the model's ceiling), redis-server and a
#             goroutine-per-connection Go server (bench/peers/echo.go)
#   loadgen   redis-benchmark vs flood against the same redis-server
#   ingest    200 clients x 25,000 lines logged: mtserver (log verified
#             with flood --verify-log) vs rsyslogd writing the same line
#             content and writing the raw message, each next to dd of the
#             same bytes to the same file system (the write ceiling)
#   memory    VmRSS with 10,000 idle clients; how many of 19,000 are held
#   chat      mtserver --chat vs ncat --chat at 50 and 200 members (when
#             flood has --chat)
#
# Every server binds a free 127.0.0.1 port and is stopped by its pid; a
# missing peer is installed with apt-get (full run, root) or skipped.
# Every wait and loop is bounded; past a time budget the remaining
# measurements are skipped.  Environment: QUICK, PUBLISH, KEEP_TMP (see
# bench/lib.sh), MTSERVER, FLOOD.  Exit status: 0 when every run worked, 1
# when one failed.  Targets are reported as met or missed, never enforced.

set -euo pipefail

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------
# Settings

MTSERVER=${MTSERVER:-./mtserver}
FLOOD=${FLOOD:-bench/flood}
TPC_ECHO=bench/peers/tpc_echo
GO_CACHE_DIR=$BENCH_ROOT/build/bench/go-cache

if ((QUICK)); then
	PP_CLIENTS=(1 20) PP_LOAD=(-m 2000) PP_MID=20 PP_BIG= PP_ROUNDS=1
	RB_CLIENTS=20 RB_REQUESTS=20000 RB_LOAD=(-m 1000)
	IN_CLIENTS=20 IN_MESSAGES=2000
	HOLD_CLIENTS=200 HOLD_SECS=2 HOLD_BIG=
	CHAT_SIZES=(5) CHAT_MESSAGES=(10)
	INSTALL=skip BUDGET=150
else
	PP_CLIENTS=(1 200 1000) PP_LOAD=(-d 5) PP_MID=200 PP_BIG=1000 PP_ROUNDS=3
	RB_CLIENTS=200 RB_REQUESTS=500000 RB_LOAD=(-d 5)
	IN_CLIENTS=200 IN_MESSAGES=25000
	HOLD_CLIENTS=10000 HOLD_SECS=10 HOLD_BIG=19000
	CHAT_SIZES=(50 200) CHAT_MESSAGES=(100 25)
	INSTALL=install BUDGET=420
fi
MSG_SIZE=32          # flood's default message size, '\n' included
ECHO_TIMEOUT_MS=5000 # flood --timeout for echo replies
RSS_TARGET_MB=80

# ---------------------------------------------------------------------------
# What the run found: JSON pieces, assembled by write_results.

STARTED_ISO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_NS=$(now_ns)
REPORTED=0
FAILURES=() NOTES=() TARGETS=()
declare -A RUNS=() SECTIONS=() VERSIONS=() HAVE=() MACHINE=()
declare -A RATE=() OKR=() NOTE=() CMD=()

fail() {
	FAILURES+=("$*")
	warn "FAILED: $*"
}
note() {
	NOTES+=("$*")
	say "$*"
}

# in_budget SECS: SECS more seconds keep the run within its budget.
in_budget() {
	if ((SECONDS + $1 > BUDGET)); then
		note "time budget: skipping a ${1}s step at ${SECONDS}s of ${BUDGET}s"
		return 1
	fi
}

# target ID DESCRIPTION MEASURED WANTED MET: record a target; MET is yes,
# no or n/a (a measurement is missing).
target() {
	TARGETS+=("$(json_obj id "$1" description "@str:$2" measured "@str:$3" wanted "@str:$4" met "$5")")
}
# x_txt RATIO: "1.23x", or "-".
x_txt() { if [[ -n ${1:-} ]]; then printf '%sx' "$(round "$1" 2)"; else printf -- '-'; fi; }
# run_get ID KEY: a member of a recorded run.
run_get() { [[ -n ${RUNS[$1]:-} ]] && json_get <(printf '%s' "${RUNS[$1]}") "$2"; }
# met_if RATIO CMP LIMIT: yes/no, or n/a when RATIO is empty.
met_if() {
	if [[ -z $1 ]]; then
		printf n/a
	elif "num_$2" "$1" "$3"; then
		printf yes
	else
		printf no
	fi
}

# section NAME KEY VALUE...: what a section records beside its runs (its
# servers' commands, settings, how busy the machine was before it).
section() {
	local name=$1
	shift
	SECTIONS[$name]=$(json_obj busy_pct_before "${BUSY:-}" "$@")
}

# ---------------------------------------------------------------------------
# Servers (each with a pid file in $T: srv_start / srv_stop in lib.sh)

# start_server NAME -- CMD...: srv_start, and a failure recorded if not.
start_server() {
	srv_start "$@" && return 0
	fail "$1 did not start"
	return 1
}

# start_mtserver NAME ARGS...: ./mtserver -b 127.0.0.1 ARGS 0.
start_mtserver() {
	local name=$1
	shift
	start_server "$name" -- "$MTSERVER" -b 127.0.0.1 "$@" 0
}

# start_on_free_port NAME -- CMD... with @PORT@ in it: a peer that
# cannot bind port 0, on a free port; three tries in case another process
# takes the port first.  Sets SRV_PID, SRV_PORT and SRV_CMD.
start_on_free_port() {
	local name=$1 try port
	shift 2
	local tmpl=("$@")
	for ((try = 0; try < 3; try++)); do
		port=$(free_port) || return 1
		SRV_CMD=$(cmd_str "${tmpl[@]//@PORT@/$port}")
		bg_start "$name" -- "${tmpl[@]//@PORT@/$port}"
		SRV_PID=$BG_PID SRV_PORT=$port
		wait_port "$port" 10 && bg_alive "$name" && return 0
		bg_stop "$name" 5 || true
	done
	fail "$name did not start: $(tail -n 3 "$T/$name.err" 2>/dev/null | tr '\n' ' ')"
	return 1
}

# start_redis NAME: redis-server with a throw-away configuration (no
# persistence, loopback only).
start_redis() {
	local dir="$T/$1.d"
	mkdir -p "$dir"
	start_on_free_port "$1" -- redis-server --bind 127.0.0.1 --port @PORT@ --save '' \
		--appendonly no --dir "$dir" --maxclients 20000 --daemonize no
}

# start_rsyslog NAME OUTFILE TEMPLATE: rsyslogd in the foreground with
# bench/peers/rsyslog.conf.in, writing OUTFILE with TEMPLATE (raw or mtline).
start_rsyslog() {
	local name=$1 dir="$T/$1.d"
	mkdir -p "$dir/work"
	sed -e "s|@WORKDIR@|$dir/work|g" -e "s|@OUTFILE@|$2|g" -e "s|@TEMPLATE@|$3|g" \
		-e "s|@QUEUESIZE@|1000000|g" -e "s|@MAXSESSIONS@|$((IN_CLIENTS * 10 + 100))|g" \
		bench/peers/rsyslog.conf.in >"$dir/rsyslog.conf.in"
	# rsyslogd's own pid file must not end in .pid: $T/*.pid are ours.
	start_on_free_port "$name" -- exec_rsyslogd @PORT@ "$dir/rsyslog.conf.in" "$dir/rsyslog.conf" \
		"$dir/rsyslogd.pidfile" || return 1
	SRV_CMD=$(cmd_str rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pidfile")
}
# exec_rsyslogd PORT CONF_IN CONF PIDFILE: (in bg_start's subshell) the
# configuration for PORT, then rsyslogd in place of the subshell.
exec_rsyslogd() {
	sed "s|@PORT@|$1|g" "$2" >"$3" && exec rsyslogd -n -f "$3" -i "$4"
}

# stop_server NAME [strict]: with "strict" a non-zero exit status on
# SIGTERM is a failure (mtserver must exit 0).
stop_server() {
	local rc=0
	srv_stop "$1" || rc=$?
	if [[ ${2:-} == strict ]] && ((rc != 0)); then
		fail "$1 exited with status $rc on SIGTERM: $(tail -n 2 "$T/$1.err" 2>/dev/null | tr '\n' ' ')"
	fi
	return 0
}

# ---------------------------------------------------------------------------
# flood

FL_RC=0

# run_flood ID SECS ARGS...: flood ARGS --json under timeout(1); JSON in
# $T/ID.json, report in $T/ID.err.  Records CMD, RATE, OKR and NOTE[ID].
run_flood() {
	local id=$1 secs=$2
	shift 2
	local cmd=("$FLOOD" "$@" --max-time "$secs" --json)
	CMD[$id]=$(cmd_str "${cmd[@]}")
	FL_RC=0
	timeout -k 5 "$((secs + 5))" "${cmd[@]}" >"$T/$id.json" 2>"$T/$id.err" </dev/null || FL_RC=$?
	flood_verdict "$id"
}

# flood_verdict ID: RATE, OKR and NOTE[ID] from $T/ID.json and FL_RC.
flood_verdict() {
	local id=$1
	RATE[$id]=$(json_get "$T/$id.json" messages_per_s)
	if ((FL_RC == 0)) && [[ $(json_get "$T/$id.json" ok) == true ]]; then
		OKR[$id]=true
	else
		OKR[$id]=false
		NOTE[$id]="flood exit $FL_RC: $(flood_errors "$id")"
	fi
}

# flood_errors ID: the non-zero error counters of a flood run, or the last
# line of its report.
flood_errors() {
	local s
	s=$(json_flat "$T/$1.json" | awk -F '\t' '($1 ~ /^errors\./ || $1 ~ /^failed_by_errno\./ ||
		$1 == "connections_failed") && $2 + 0 > 0 { sub(/^[a-z_]+\./, "", $1); printf "%s%s=%s", sep, $1, $2; sep = " " }')
	[[ -n $s ]] || s=$(tail -n 1 "$T/$1.err" 2>/dev/null || true)
	printf '%s' "${s:-no output}"
}

# flood_json ID: flood's JSON object of a run, or nothing.
flood_json() {
	local j="$T/$1.json"
	[[ -s $j && $(head -c 1 "$j") == '{' ]] && tr -d '\n' <"$j"
	return 0
}

# add_run ID SECTION TOOL CLIENTS [KEY VALUE ...]: one member of "runs"
# (flood's own JSON included under "flood").
add_run() {
	local id=$1 section=$2 tool=$3 clients=$4
	shift 4
	RUNS[$id]=$(json_obj section "$section" tool "$tool" clients "$clients" ok "${OKR[$id]:-false}" \
		command "@str:${CMD[$id]:-}" note "@str:${NOTE[$id]:-}" messages_per_s "${RATE[$id]:-}" \
		"$@" flood "$(flood_json "$id")")
	[[ ${OKR[$id]:-false} == true ]] || fail "$section $tool $clients: ${NOTE[$id]:-}"
}

# ---------------------------------------------------------------------------
# Machine, versions, peers

BUSY=''
# busy_before: how busy the CPUs were with other work over half a second
# (recorded by the next section()).
busy_before() { BUSY=$(cpu_busy_pct 0.5); }

# wait_quiet: before a full run, wait up to QUIET_WAIT seconds for the CPUs
# to be mostly idle: other work on the machine skews every figure.
QUIET_WAIT=${QUIET_WAIT:-60}
wait_quiet() {
	local i p=''
	((QUICK || QUIET_WAIT == 0)) && return 0
	for ((i = 0; i < QUIET_WAIT; i++)); do
		p=$(cpu_busy_pct 1)
		((p < 20)) && return 0
		((i % 10 == 0)) && say "waiting for a quiet machine: CPUs ${p}% busy"
	done
	note "the machine was still ${p}% busy with other work after ${QUIET_WAIT}s; figures may be skewed"
}

loadavg() { cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || true; }

# raise_nofile: as root, raise the hard RLIMIT_NOFILE to 65536 for this
# shell and its children; then the soft limit to the hard one.
raise_nofile() {
	local hard
	hard=$(ulimit -Hn)
	if is_uint "$hard" && ((hard < 65536)) && [[ $(id -u) -eq 0 ]]; then
		ulimit -Hn 65536 2>/dev/null || say "the hard RLIMIT_NOFILE stays at $hard"
	fi
	ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
	NOFILE=$(ulimit -n)
}

machine_info() {
	MACHINE[nproc]=$(nproc)
	MACHINE[cpu_model]=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
	MACHINE[kernel]=$(uname -sr)
	MACHINE[mem_total_kb]=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	MACHINE[os]=$( (. /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-}") || true)
	MACHINE[rlimit_nofile]=$NOFILE
	MACHINE[loadavg_start]=$(loadavg)
}

first_line() { "$@" 2>&1 | head -n 1 || true; }

collect_versions() {
	VERSIONS[mtserver]=$(first_line "$MTSERVER" -V)
	VERSIONS[flood]=$(first_line "$FLOOD" -V)
	VERSIONS[git]=$(git describe --always --dirty 2>/dev/null || echo unknown)
	VERSIONS[cc]=$(first_line "${CC:-cc}" --version)
	VERSIONS[bash]=$BASH_VERSION
	[[ -n ${HAVE[redis]:-} ]] && VERSIONS[redis-server]=$(first_line redis-server --version)
	[[ -n ${HAVE[redis]:-} ]] && VERSIONS[redis-benchmark]=$(first_line redis-benchmark --version)
	[[ -n ${HAVE[rsyslog]:-} ]] && VERSIONS[rsyslogd]=$(first_line rsyslogd -v | sed -E 's/ +compiled with:.*//; s/  +/ /g')
	[[ -n ${HAVE[go]:-} ]] && VERSIONS[go]=$(first_line go version)
	[[ -n ${HAVE[ncat]:-} ]] && VERSIONS[ncat]=$(first_line ncat --version)
	VERSIONS[dd]=$(first_line dd --version)
	return 0
}

# find_peers: detect (or, full run as root, install) the peers; build the
# Go echo server.
find_peers() {
	if need_cmd redis-server redis-server "$INSTALL" && need_cmd redis-benchmark redis-tools "$INSTALL"; then
		HAVE[redis]=1
	else
		note "redis-server/redis-benchmark unavailable: skipping the redis comparisons"
	fi
	if need_cmd rsyslogd rsyslog "$INSTALL"; then HAVE[rsyslog]=1; else note "rsyslogd unavailable: skipping the rsyslog comparison"; fi
	if need_cmd ncat ncat "$INSTALL"; then HAVE[ncat]=1; else note "ncat unavailable: skipping the ncat --chat comparison"; fi
	if [[ -x $TPC_ECHO ]]; then HAVE[tpc]=1; else note "$TPC_ECHO not built (make bench builds it): skipping the minimal loop"; fi
	if need_cmd go golang-go "$INSTALL"; then
		build_go_peer
	else
		note "go unavailable: skipping the Go echo server comparisons"
	fi
}

# build_go_peer: standard library only, GOPATH mode, no downloads; the
# build cache is kept under build/ between runs.
build_go_peer() {
	mkdir -p "$GO_CACHE_DIR" "$T/gopath"
	if timeout 180 env GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
		GOCACHE="$GO_CACHE_DIR" GOPATH="$T/gopath" go build -o "$T/echo" bench/peers/echo.go \
		>"$T/go-build.log" 2>&1; then
		HAVE[go]=1
	else
		fail "go build bench/peers/echo.go failed: $(head -n 3 "$T/go-build.log" | tr '\n' ' ')"
	fi
}

# ---------------------------------------------------------------------------
# 1. Ping-pong

PP_TOOLS=(mtserver tpc redis go)

# pp_start TOOL: start TOOL's echo server (name pp_TOOL); sets SRV_*.
pp_start() {
	case $1 in
	mtserver) start_mtserver pp_mtserver --echo -q --no-udp ;;
	tpc) start_server pp_tpc -- "$TPC_ECHO" 0 ;;
	redis) start_redis pp_redis ;;
	go) start_server pp_go -- "$T/echo" -addr 127.0.0.1:0 ;;
	esac
}

# pp_run TOOL CLIENTS PORT [ROUND]: one ping-pong run (ROUND 1 when not
# given: the table's; later rounds are the target pair's, see pp_rounds).
pp_run() {
	local tool=$1 c=$2 id extra=()
	id=$(pp_id "$1" "$2" "${4:-1}")
	[[ $tool == redis ]] && extra=(--reply-any-line)
	run_flood "$id" 60 -n "$c" -p "$3" --echo --payload PING --timeout "$ECHO_TIMEOUT_MS" \
		"${PP_LOAD[@]}" "${extra[@]}"
	add_run "$id" pingpong "$tool" "$c" p50_us "$(json_get "$T/$id.json" rtt_us.p50)" \
		p99_us "$(json_get "$T/$id.json" rtt_us.p99)" round "${4:-1}"
	say "ping-pong $tool $c clients${4:+, round $4}: $(fmt_num "${RATE[$id]:-}") msgs/s"
}

# pp_rounds C MT_PORT TPC_PORT: rounds 2..PP_ROUNDS of mtserver and the
# minimal loop at C clients, one right after the other.  One 5-second
# pair swings by 10% and more on a shared 2-CPU machine, either way: the
# target takes the median of the rounds' ratios (pp_ratio).
pp_rounds() {
	local r
	for ((r = 2; r <= PP_ROUNDS; r++)); do
		in_budget 15 || return 0
		pp_run mtserver "$1" "$2" "$r"
		pp_run tpc "$1" "$3" "$r"
	done
}

# pp_ratio C: the median over the rounds of mtserver's msgs/s over the
# minimal loop's, each round's pair measured side by side; nothing when
# no round has both.
pp_ratio() {
	local c=$1 r ratios=()
	for ((r = 1; r <= PP_ROUNDS; r++)); do
		ratios+=("$(ratio "${RATE[$(pp_id mtserver "$c" "$r")]:-}" "${RATE[$(pp_id tpc "$c" "$r")]:-}" 4)")
	done
	printf '%s\n' "${ratios[@]}" | awk NF | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit; if (NR % 2) printf "%s", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

section_pingpong() {
	local -A port=() srv=()
	local c tool
	say "1. ping-pong: ${PP_CLIENTS[*]} clients"
	# All servers run side by side (idle ones cost nothing) and the runs
	# alternate between them at each client count, so that a change in the
	# machine's load affects them alike.
	for tool in "${PP_TOOLS[@]}"; do
		[[ $tool == mtserver || -n ${HAVE[$tool]:-} ]] || continue
		pp_start "$tool" && port[$tool]=$SRV_PORT srv[$tool]=$SRV_CMD
	done
	for c in "${PP_CLIENTS[@]}"; do
		for tool in "${PP_TOOLS[@]}"; do
			[[ -n ${port[$tool]:-} ]] || continue
			in_budget 15 || break 2
			pp_run "$tool" "$c" "${port[$tool]}"
		done
		if [[ $c == "$PP_MID" || $c == "${PP_BIG:-}" ]] && [[ -n ${port[tpc]:-} ]]; then
			pp_rounds "$c" "${port[mtserver]}" "${port[tpc]}"
		fi
	done
	for tool in "${!port[@]}"; do
		if [[ $tool == mtserver ]]; then stop_server pp_mtserver strict; else stop_server "pp_$tool"; fi
	done
	section pingpong clients "$(json_arr "${PP_CLIENTS[@]}")" load "@str:${PP_LOAD[*]}" \
		rounds "$PP_ROUNDS" timeout_ms "$ECHO_TIMEOUT_MS" \
		servers "$(json_obj mtserver "@str:${srv[mtserver]:-}" \
			tpc "@str:${srv[tpc]:-}" redis "@str:${srv[redis]:-}" go "@str:${srv[go]:-}")"
	pingpong_targets
}

pingpong_targets() {
	local c r m p
	for c in "$PP_MID" ${PP_BIG:+"$PP_BIG"}; do
		r=$(pp_ratio "$c")
		target "pp_${c}_vs_tpc" "ping-pong, $c clients: mtserver --echo -q msgs/s vs the minimal thread-per-connection loop$( ((PP_ROUNDS > 1)) && printf ' (median of %d alternating rounds)' "$PP_ROUNDS")" \
			"$(x_txt "$r")" ">= 0.95x" "$(met_if "$r" ge 0.95)"
	done
	m=$(json_get "$T/pp_mtserver_1.json" rtt_us.p50) p=$(json_get "$T/pp_redis_1.json" rtt_us.p50)
	target pp_1_p50 "ping-pong, 1 client: mtserver p50 round trip vs redis-server" "${m:--} us vs ${p:--} us" \
		"<= redis" "$(if is_num "$m" && is_num "$p"; then met_if "$m" le "$p"; else echo n/a; fi)"
}

# ---------------------------------------------------------------------------
# 2. redis-benchmark vs flood against the same redis-server

# redis_benchmark ID PORT: redis-benchmark -t ping_inline --csv; records
# RATE, OKR and the latencies (ms -> us).
redis_benchmark() {
	local id=$1 rc=0 line rps p50 p99
	local cmd=(redis-benchmark -h 127.0.0.1 -p "$2" -t ping_inline -c "$RB_CLIENTS" -n "$RB_REQUESTS" --csv)
	CMD[$id]=$(cmd_str "${cmd[@]}")
	timeout -k 5 120 "${cmd[@]}" >"$T/$id.csv" 2>"$T/$id.err" </dev/null || rc=$?
	# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",...
	line=$(grep -m1 '^"PING_INLINE"' "$T/$id.csv" || true)
	OKR[$id]=false NOTE[$id]="redis-benchmark exit $rc"
	if ((rc == 0)) && [[ -n $line ]]; then
		IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"${line//\"/}"
		RATE[$id]=$rps OKR[$id]=true NOTE[$id]=''
	fi
	add_run "$id" loadgen redis-benchmark "$RB_CLIENTS" p50_us "$(round "$(awk -v v="${p50:-}" 'BEGIN { if (v != "") print v * 1000 }')")" \
		p99_us "$(round "$(awk -v v="${p99:-}" 'BEGIN { if (v != "") print v * 1000 }')")"
}

section_loadgen() {
	say "2. load generators: redis-benchmark vs flood, $RB_CLIENTS clients"
	local r rb_srv=''
	if [[ -n ${HAVE[redis]:-} ]] && in_budget 30 && start_redis rb_redis; then
		rb_srv=$SRV_CMD
		redis_benchmark rb_redis_benchmark "$SRV_PORT"
		run_flood rb_flood 60 -n "$RB_CLIENTS" -p "$SRV_PORT" --echo --payload PING --reply-any-line \
			--timeout "$ECHO_TIMEOUT_MS" "${RB_LOAD[@]}"
		add_run rb_flood loadgen flood "$RB_CLIENTS" p50_us "$(json_get "$T/rb_flood.json" rtt_us.p50)" \
			p99_us "$(json_get "$T/rb_flood.json" rtt_us.p99)"
		stop_server rb_redis
		say "redis-benchmark $(fmt_num "${RATE[rb_redis_benchmark]:-}")/s, flood $(fmt_num "${RATE[rb_flood]:-}")/s"
	fi
	section loadgen clients "$RB_CLIENTS" server "@str:$rb_srv"
	r=$(ratio "${RATE[rb_flood]:-}" "${RATE[rb_redis_benchmark]:-}" 4)
	target rb_flood "flood vs redis-benchmark ping_inline, $RB_CLIENTS clients (same redis-server)" \
		"$(x_txt "$r")" ">= 1.5x" "$(met_if "$r" ge 1.5)"
}

# ---------------------------------------------------------------------------
# 3. One-way ingest

# wait_settled FILE EXPECT_BYTES STABLE_S MAX_S: wait until FILE reaches
# EXPECT_BYTES (if given) or has not grown for STABLE_S seconds, at most
# MAX_S seconds.  Sets SETTLED_NS to the file's last modification time,
# i.e. when its last line was written.
SETTLED_NS=''
wait_settled() {
	local file=$1 expect=$2 i size last=-1 still=0
	for ((i = 0; i < $4 * 10; i++)); do
		size=$(stat -c %s "$file" 2>/dev/null || echo 0)
		[[ -n $expect ]] && ((size >= expect)) && break
		if ((size == last)); then
			((++still >= $3 * 10)) && break
		else
			still=0 last=$size
		fi
		sleep 0.1
	done
	SETTLED_NS=$(stat -c %.9Y "$file" 2>/dev/null | tr -d .)
}

# ingest_figures ID FILE T0 LINES: the lines/s and bytes/s of a run from
# T0 to the last write to FILE; then removes FILE.
ingest_figures() {
	local id=$1 file=$2 t0=$3 lines=$4 secs bytes
	secs=$(elapsed_s "$t0" "$SETTLED_NS")
	bytes=$(stat -c %s "$file" 2>/dev/null || echo 0)
	rm -f "$file"
	local tool=${id#in_}
	[[ $tool == rsyslog_* ]] && tool="rsyslogd (${tool#rsyslog_})"
	add_run "$id" ingest "$tool" "$IN_CLIENTS" messages $((IN_CLIENTS * IN_MESSAGES)) \
		lines_logged "$lines" lost $((IN_CLIENTS * IN_MESSAGES - lines)) elapsed_s "$secs" bytes "$bytes" \
		flood_send_per_s "${RATE[$id]:-}" lines_per_s "$(ratio "$lines" "$secs" 1)" \
		bytes_per_s "$(ratio "$bytes" "$secs" 0)" "${INGEST_EXTRA[@]}"
	say "ingest ${id#in_}: $(fmt_num "$(ratio "$lines" "$secs" 0)") lines/s, $(fmt_num "$(ratio "$bytes" "$secs" 0)") bytes/s"
}
INGEST_EXTRA=()

# verify_log ID LOG: flood --verify-log; sets VERIFY_FOUND (lines found)
# and INGEST_EXTRA (what the run records of the check).
VERIFY_FOUND=''
verify_log() {
	local id=$1 rc=0 n=$IN_CLIENTS m=$IN_MESSAGES
	local cmd=("$FLOOD" --verify-log "$2" -n "$n" -m "$m" --json)
	timeout -k 5 120 "${cmd[@]}" >"$T/verify.json" 2>"$T/verify.err" || rc=$?
	INGEST_EXTRA=(verify_command "@str:$(cmd_str "${cmd[@]}")" verify_ok "$( ((rc == 0)) && echo true || echo false)")
	if ((rc != 0)); then
		OKR[$id]=false NOTE[$id]="flood --verify-log exit $rc: $(tail -n 3 "$T/verify.err" | tr '\n' ' ')"
	fi
	VERIFY_FOUND=$(json_get "$T/verify.json" found)
}

ingest_mtserver() {
	local id=in_mtserver log="$T/ingest_mtserver.log" t0
	in_budget 60 && start_mtserver "$id" --no-udp -l "$log" || return 0
	INGEST_SRV[mtserver]=$SRV_CMD
	t0=$(now_ns)
	run_flood "$id" 120 -n "$IN_CLIENTS" -m "$IN_MESSAGES" -p "$SRV_PORT"
	wait_settled "$log" "" 1 60
	stop_server "$id" strict
	verify_log "$id" "$log"
	IN_BYTES=$(stat -c %s "$log")
	ingest_figures "$id" "$log" "$t0" "${VERIFY_FOUND:-0}"
	INGEST_EXTRA=()
}

# ingest_rsyslog TEMPLATE: rsyslogd writing each line with TEMPLATE.
ingest_rsyslog() {
	local format=$1 id=in_rsyslog_$1 out="$T/ingest_rsyslog.out" t0 lines probe=bench-ready
	[[ -n ${HAVE[rsyslog]:-} ]] && in_budget 60 && start_rsyslog "$id" "$out" "$format" || return 0
	INGEST_SRV[rsyslog_$format]=$SRV_CMD
	# rsyslogd listens a moment before it processes: one probe line, not
	# counted, so that the timing starts with a ready server.
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 5 bash -c 'printf "%s\n" "$1" >"/dev/tcp/127.0.0.1/$2"' _ "$probe" "$SRV_PORT" ||
		warn "rsyslog readiness probe could not connect"
	wait_until 10 test -s "$out" || warn "rsyslog did not write the probe line within 10s"
	t0=$(now_ns)
	run_flood "$id" 120 -n "$IN_CLIENTS" -m "$IN_MESSAGES" -p "$SRV_PORT"
	wait_settled "$out" "" 2 120
	stop_server "$id"
	lines=$(grep -cv "$probe" "$out" || true)
	lines=${lines:-0}
	if ((lines != IN_CLIENTS * IN_MESSAGES)); then
		OKR[$id]=false NOTE[$id]="rsyslogd wrote $lines of $((IN_CLIENTS * IN_MESSAGES)) lines"
	fi
	ingest_figures "$id" "$out" "$t0" "$lines"
}

# ingest_dd: the write ceiling: dd of the bytes mtserver logged to the
# same file system, twice (the first may meet memory the guest has not
# touched lately); the faster counts.
ingest_dd() {
	local i out="$T/ingest_dd.out" secs best=''
	is_uint "${IN_BYTES:-}" && ((IN_BYTES > 0)) || return 0
	local cmd=(dd if=/dev/zero of="$out" bs=1M count="$IN_BYTES" iflag=count_bytes)
	for i in 1 2; do
		# dd's own last line: "N bytes (...) copied, SECS s, RATE".
		secs=$(LC_ALL=C "${cmd[@]}" 2>&1 | awk -F ', ' '/copied/ { sub(/ s$/, "", $(NF - 1)); print $(NF - 1) }')
		rm -f "$out"
		DD_SECS+=("$secs")
		if is_num "$secs" && { [[ -z $best ]] || num_lt "$secs" "$best"; }; then best=$secs; fi
	done
	RUNS[in_dd]=$(json_obj section ingest tool dd ok true command "@str:$(cmd_str "${cmd[@]}")" bytes "$IN_BYTES" \
		seconds "$(json_arr "${DD_SECS[@]}")" elapsed_s "$best" bytes_per_s "$(ratio "$IN_BYTES" "$best" 0)")
	say "ingest dd: $(fmt_num "$(ratio "$IN_BYTES" "$best" 0)") bytes/s (best of ${DD_SECS[*]} s)"
}
DD_SECS=()
IN_BYTES=''
declare -A INGEST_SRV=()

section_ingest() {
	say "3. one-way ingest: $IN_CLIENTS clients x $IN_MESSAGES messages"
	ingest_mtserver
	ingest_dd
	ingest_rsyslog mtline
	ingest_rsyslog raw
	section ingest clients "$IN_CLIENTS" messages "$IN_MESSAGES" message_size "$MSG_SIZE" \
		servers "$(json_obj mtserver "@str:${INGEST_SRV[mtserver]:-}" \
			rsyslog_mtline "@str:${INGEST_SRV[rsyslog_mtline]:-}" rsyslog_raw "@str:${INGEST_SRV[rsyslog_raw]:-}")"
	ingest_targets
}

# ingest_targets: >= 5x rsyslogd writing the same content, or >= 0.8x the
# write ceiling (dd of the same bytes); either holding meets the target.
ingest_targets() {
	local dd r_eq r_dd
	r_eq=$(ratio "$(run_get in_mtserver lines_per_s)" "$(run_get in_rsyslog_mtline lines_per_s)" 4)
	r_dd=$(ratio "$(run_get in_mtserver bytes_per_s)" "$(run_get in_dd bytes_per_s)" 4)
	target in_vs_rsyslog "ingest $IN_CLIENTS x $(fmt_num "$IN_MESSAGES") lines, logged and verified: mtserver lines/s vs rsyslogd writing the same line content" \
		"$(x_txt "$r_eq")" ">= 5x" "$(met_if "$r_eq" ge 5)"
	target in_vs_dd "ingest: mtserver's log bytes/s vs dd of the same bytes to the same file system (write ceiling)" \
		"$(x_txt "$r_dd")" ">= 0.8x" "$(met_if "$r_dd" ge 0.8)"
	dd=no
	[[ $(met_if "$r_eq" ge 5) == yes || $(met_if "$r_dd" ge 0.8) == yes ]] && dd=yes
	[[ -z $r_eq && -z $r_dd ]] && dd=n/a
	target in_either "ingest: one of the two above holds" "$(x_txt "$r_eq") rsyslogd; $(x_txt "$r_dd") dd" \
		">= 5x rsyslogd or >= 0.8x dd" "$dd"
}

# ---------------------------------------------------------------------------
# 4. Memory with idle clients

# hold_sample ID PID BASE SECS: while flood holds, the largest socket count
# seen (less BASE), the VmRSS and thread count at that peak, every 0.2 s.
# Sampling ends half a second before the hold does: the clients then leave
# at once, and 10,000 workers writing their disconnect lines are not idle.
hold_sample() {
	local id=$1 pid=$2 base=$3 secs=$4 i s peak=0 rss=0 thr='' r held_at=''
	for ((i = 0; i < 1000; i++)); do
		if ! bg_alive "flood_$id" || _gone "$pid"; then break; fi
		if [[ -z $held_at ]] && grep -q 'holding for' "$T/$id.err" 2>/dev/null; then
			held_at=$(date +%s%N)
		fi
		if [[ -n $held_at ]] && (($(date +%s%N) - held_at >= (${secs%.*} * 1000 - 500) * 1000000)); then
			sleep 0.2 # the hold is ending: wait for flood, sample no more
			continue
		fi
		s=$(($(sockets_of "$pid") - base))
		r=$(rss_kb "$pid")
		if ((s > peak)); then
			peak=$s rss=${r:-0} thr=$(threads_of "$pid")
		elif ((s == peak && s > 0)) && is_uint "$r" && ((r > rss)); then
			rss=$r
		fi
		sleep 0.2
	done
	HOLD_PEAK=$peak HOLD_RSS=$rss HOLD_THREADS=$thr
}

# measure_hold ID TOOL CLIENTS SECS: flood --hold against the server
# started last (SRV_PID, SRV_PORT); records the run.
measure_hold() {
	local id=$1 tool=$2 n=$3 secs=$4 pid=$SRV_PID base rss0 i limit=$(($4 + 90))
	base=$(sockets_of "$pid") rss0=$(rss_kb "$pid")
	local cmd=("$FLOOD" -n "$n" -p "$SRV_PORT" --hold "$secs" --timeout 10000 --max-time "$limit" --json)
	CMD[$id]=$(cmd_str "${cmd[@]}")
	bg_start "flood_$id" --stdout "$T/$id.json" --stderr "$T/$id.err" -- timeout -k 5 "$limit" "${cmd[@]}"
	hold_sample "$id" "$pid" "$base" "$secs"
	FL_RC=0
	bg_stop "flood_$id" 10 || FL_RC=$?
	for ((i = 0; i < 100; i++)); do
		(($(sockets_of "$pid") <= base)) && break
		sleep 0.1
	done
	flood_verdict "$id"
	add_run "$id" memory "$tool" "$n" connections_held "$(json_get "$T/$id.json" connections_held)" \
		server_sockets_peak "$HOLD_PEAK" vmrss_kb "$HOLD_RSS" vmhwm_kb "$(hwm_kb "$pid")" \
		vmrss_before_kb "$rss0" vmrss_after_kb "$(rss_kb "$pid")" threads "$HOLD_THREADS"
	say "hold $id: $(json_get "$T/$id.json" connections_held) held, VmRSS $((HOLD_RSS / 1024)) MB"
}

# hold TOOL CLIENTS: one hold measurement against a fresh server.
hold() {
	local tool=$1 n=$2 name="mem_$1_$2"
	in_budget $((HOLD_SECS + 40)) || return 0
	case $tool in
	mtserver) start_mtserver "$name" -q --no-udp --idle-timeout 0 -l "$T/$name.log" || return 0 ;;
	go) start_server "$name" -- "$T/echo" -addr 127.0.0.1:0 || return 0 ;;
	esac
	HOLD_SRV+=("$SRV_CMD")
	measure_hold "hold_${tool}_$n" "$tool" "$n" "$HOLD_SECS"
	if [[ $tool == mtserver ]]; then stop_server "$name" strict; else stop_server "$name"; fi
}
HOLD_SRV=()

section_memory() {
	local n=$HOLD_CLIENTS big=$HOLD_BIG held rss
	say "4. memory: $n idle clients for ${HOLD_SECS}s"
	hold mtserver "$n"
	[[ -n ${HAVE[go]:-} ]] && hold go "$n"
	if [[ -n $big ]]; then
		# Keep a few descriptors for flood's own use.
		((NOFILE >= big + 64)) || {
			note "RLIMIT_NOFILE is $NOFILE: holding $((NOFILE - 64)) instead of $big clients"
			big=$((NOFILE - 64))
		}
		hold mtserver "$big"
	fi
	section memory clients "$n" big "$big" seconds "$HOLD_SECS" servers "$(json_arr "${HOLD_SRV[@]}")"
	held=$(json_get "$T/hold_mtserver_$n.json" connections_held)
	rss=$(ratio "$(run_get "hold_mtserver_$n" vmrss_kb)" 1024 1)
	target mem_rss "$(fmt_num "$n") idle clients: mtserver VmRSS while held" "${rss:--} MB" "<= $RSS_TARGET_MB MB" \
		"$(if [[ $held == "$n" ]]; then met_if "$rss" le "$RSS_TARGET_MB"; else echo n/a; fi)"
	[[ -n $big ]] || return 0
	held=$(json_get "$T/hold_mtserver_$big.json" connections_held)
	target mem_big "$(fmt_num "$big") idle clients: how many mtserver holds" "$(fmt_num "$held") held" \
		"all $(fmt_num "$big")" "$(met_if "$held" ge "$big")"
}

# ---------------------------------------------------------------------------
# 5. Chat: mtserver --chat vs ncat --chat, driven by flood --chat
#
# flood --chat -n N -m M --json reports deliveries_per_s and the delivery
# latency (send to each receipt) as delivery_us {count, p50, ..., max}, the
# shape of its other latencies.

# chat_start TOOL NAME MEMBERS: the chat server (mtserver or ncat).
chat_start() {
	case $1 in
	mtserver) start_mtserver "$2" --chat -q --no-udp ;;
	ncat) start_on_free_port "$2" -- ncat --chat --listen --max-conns $(($3 + 50)) 127.0.0.1 @PORT@ ;;
	esac
}

# chat_run TOOL MEMBERS MESSAGES: one room, one flood --chat run.
chat_run() {
	local tool=$1 n=$2 m=$3 id="chat_$1_$2" name="chat_srv_$1_$2"
	in_budget 60 && chat_start "$tool" "$name" "$n" || return 0
	CHAT_SRV[$tool]=$SRV_CMD
	run_flood "$id" 60 --chat -n "$n" -m "$m" -p "$SRV_PORT" --timeout "$ECHO_TIMEOUT_MS"
	if [[ $tool == mtserver ]]; then stop_server "$name" strict; else stop_server "$name"; fi
	add_run "$id" chat "$tool" "$n" messages "$m" \
		deliveries_per_s "$(json_get "$T/$id.json" deliveries_per_s)" \
		p50_us "$(json_get "$T/$id.json" delivery_us.p50)" p99_us "$(json_get "$T/$id.json" delivery_us.p99)"
	say "chat $tool $n members: $(fmt_num "$(json_get "$T/$id.json" deliveries_per_s)") deliveries/s"
}
declare -A CHAT_SRV=()

section_chat() {
	local i n
	if ! "$FLOOD" --help 2>&1 | grep -q -- '--chat'; then
		note "chat section skipped: this bench/flood has no --chat (flood --help does not list it)"
		section chat skipped "@str:bench/flood has no --chat"
		return 0
	fi
	say "5. chat: ${CHAT_SIZES[*]} members"
	for i in "${!CHAT_SIZES[@]}"; do
		n=${CHAT_SIZES[$i]}
		chat_run mtserver "$n" "${CHAT_MESSAGES[$i]}"
		[[ -n ${HAVE[ncat]:-} ]] && chat_run ncat "$n" "${CHAT_MESSAGES[$i]}"
	done
	section chat sizes "$(json_arr "${CHAT_SIZES[@]}")" messages "$(json_arr "${CHAT_MESSAGES[@]}")" \
		servers "$(json_obj mtserver "@str:${CHAT_SRV[mtserver]:-}" ncat "@str:${CHAT_SRV[ncat]:-}")"
	chat_targets
}

chat_targets() {
	local n r p_m p_n
	for n in "${CHAT_SIZES[@]}"; do
		r=$(ratio "$(json_get "$T/chat_mtserver_$n.json" deliveries_per_s)" "$(json_get "$T/chat_ncat_$n.json" deliveries_per_s)" 4)
		p_m=$(json_get "$T/chat_mtserver_$n.json" delivery_us.p99) p_n=$(json_get "$T/chat_ncat_$n.json" delivery_us.p99)
		target "chat_${n}" "chat, $n members: mtserver --chat vs ncat --chat, deliveries/s and p99 delivery latency" \
			"$(x_txt "$r") deliveries/s; p99 ${p_m:--} us vs ${p_n:--} us" "> 1x and p99 lower" \
			"$(if [[ -n $r ]] && is_num "$p_m" && is_num "$p_n"; then
				[[ $(met_if "$r" gt 1) == yes && $(met_if "$p_m" le "$p_n") == yes ]] && echo yes || echo no
			else echo n/a; fi)"
	done
}

# ---------------------------------------------------------------------------
# Results: JSON, then Markdown from it (bench/render.sh)

write_results() {
	local status=$1 out k f
	out=$(bench_out latest)
	MACHINE[loadavg_end]=$(loadavg)
	local -A machine_json=() versions_json=()
	for k in "${!MACHINE[@]}"; do machine_json[$k]=$(json_val "${MACHINE[$k]}"); done
	for k in "${!VERSIONS[@]}"; do versions_json[$k]=$(json_str "${VERSIONS[$k]}"); done
	{
		printf '{\n"schema": "mtserver-bench/2",\n"quick": %s,\n' "$( ((QUICK)) && echo true || echo false)"
		printf '"status": %s,\n"started": %s,\n' "$(json_str "$status")" "$(json_str "$STARTED_ISO")"
		printf '"duration_s": %s,\n' "$(elapsed_s "$START_NS")"
		printf '"machine": %s,\n' "$(json_members machine_json)"
		printf '"versions": %s,\n' "$(json_members versions_json)"
		printf '"targets": [\n%s\n],\n' "$(IFS=$'\n' && printf '%s' "${TARGETS[*]/%/,}" | sed '$ s/,$//')"
		printf '"sections": %s,\n' "$(json_members SECTIONS)"
		printf '"runs": %s,\n' "$(json_members RUNS)"
		printf '"failures": %s,\n"notes": %s\n}\n' "$(json_arr "${FAILURES[@]/#/@str:}")" "$(json_arr "${NOTES[@]/#/@str:}")"
	} >"$out.json.tmp"
	mv -f "$out.json.tmp" "$out.json"
	bash bench/render.sh bench "$out.json" >"$out.md.tmp" && mv -f "$out.md.tmp" "$out.md"
	REPORTED=1
	say "wrote $out.json and $out.md ($status)"
	bench_publish "$([[ $status == ok ]] && echo 0 || echo 1)" "$out.json" "$out.md"
}

# bench_on_exit RC: a run that dies still writes what it measured.
# shellcheck disable=SC2317 # called by lib.sh's exit trap
bench_on_exit() {
	((REPORTED)) && return 0
	bg_stop_all 5
	FAILURES+=("the run was interrupted or aborted (exit status $1) before it finished")
	write_results aborted
}

main() {
	[[ -x $MTSERVER ]] || die "$MTSERVER not found: run make first"
	[[ -x $FLOOD ]] || die "$FLOOD not found: run make first"
	bench_begin
	raise_nofile
	machine_info
	say "$( ((QUICK)) && echo 'QUICK run' || echo 'full run'): ${MACHINE[nproc]} CPUs, RLIMIT_NOFILE $NOFILE, temp dir $T"
	find_peers
	collect_versions
	wait_quiet
	local s
	for s in pingpong loadgen ingest memory chat; do
		busy_before
		"section_$s"
	done
	local status=ok
	((${#FAILURES[@]} == 0)) || status=failed
	write_results "$status"
	say "done in ${SECONDS}s: $status"
	((${#FAILURES[@]} == 0))
}

main "$@"
