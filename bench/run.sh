#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/run.sh - `make bench`: mtserver side by side with peers in one run,
# on loopback, driven by bench/flood.  It measures: each run leaves flood's
# --json report in $T/ID.json and what the script saw as facts in $T/facts
# (fact ID KEY VALUE); bench/benchlib.py makes latest.json of them (each
# run's verdict, the ratios and targets) and renders it as Markdown.
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
#   framing   (issue 24) ingest octet-counted (flood --octet-count) vs LF,
#             and through haproxy: send-proxy-v2 to --proxy-protocol vs
#             plain TCP mode; alternating rounds, every log verified
#   metrics   (issue 25) ingest and ping-pong with --metrics scraped once
#             a second vs without; alternating rounds
#   room      (issue 21) the chat room under a UDP flooder at 10x its
#             rate, a TCP flooder (with vs without), and churn while
#             newcomers join
#   broker    (issue 26) one room on two servers through redis-server
#             (--broker), members split by flood --hosts, vs the same room
#             on one server and vs ncat --chat; alternating rounds
#
# Every server binds a free 127.0.0.1 port and is stopped by its pid; a
# missing peer is installed with apt-get (full run, root) or skipped.
# Every wait and loop is bounded; past a time budget the remaining
# measurements are skipped.  Environment: QUICK, PUBLISH, KEEP_TMP (see
# bench/lib.sh), MTSERVER, FLOOD, SECTIONS (some of the sections' names,
# e.g. SECTIONS="framing room": only those, for trying one out).  Exit
# status: 0 when every run worked, 1 when one failed.  Targets are reported as met or missed, never enforced.

set -euo pipefail

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------
# Settings

MTSERVER=${MTSERVER:-./mtserver}
EPSERVER=${EPSERVER:-./epserver}
RPSERVER=${RPSERVER:-./rpserver}
URSERVER=${URSERVER:-./urserver}
FLOOD=${FLOOD:-bench/flood}
TPC_ECHO=bench/peers/tpc_echo
GO_CACHE_DIR=$BENCH_ROOT/build/bench/go-cache

if ((QUICK)); then
	PP_CLIENTS=(1 20) PP_LOAD=(-m 2000) PP_MID=20 PP_BIG='' PP_ROUNDS=1
	RB_CLIENTS=20 RB_REQUESTS=20000 RB_LOAD=(-m 1000)
	IN_CLIENTS=20 IN_MESSAGES=2000
	HOLD_CLIENTS=200 HOLD_SECS=2 HOLD_BIG=''
	CHAT_SIZES=(5) CHAT_MESSAGES=(10)
	EX_CLIENTS=20 EX_MESSAGES=2000 EX_ROUNDS=1
	MX_ROUNDS=1
	RU_MEMBERS=5 RU_MESSAGES=20 RF_MEMBERS=10 RF_MESSAGES=10 RF_ROUNDS=1
	CH_NEW=10 CH_SECS=2
	BR_MEMBERS=10 BR_MESSAGES=10 BR_ROUNDS=1
	INSTALL=skip BUDGET=210
else
	PP_CLIENTS=(1 200 1000) PP_LOAD=(-d 5) PP_MID=200 PP_BIG=1000 PP_ROUNDS=3
	RB_CLIENTS=200 RB_REQUESTS=500000 RB_LOAD=(-d 5)
	IN_CLIENTS=200 IN_MESSAGES=25000
	HOLD_CLIENTS=10000 HOLD_SECS=10 HOLD_BIG=19000
	CHAT_SIZES=(50 200) CHAT_MESSAGES=(100 100)
	EX_CLIENTS=200 EX_MESSAGES=25000 EX_ROUNDS=3
	MX_ROUNDS=7 # ingest runs last ~0.5 s: a 2% target needs the median of more
	# A flooder round's p99 ratio swings from 0.5x to 6x on a shared machine:
	# the target needs the median of more than 3.
	RU_MEMBERS=50 RU_MESSAGES=1000 RF_MEMBERS=200 RF_MESSAGES=25 RF_ROUNDS=5
	CH_NEW=200 CH_SECS=5
	BR_MEMBERS=200 BR_MESSAGES=100 BR_ROUNDS=3
	INSTALL=install BUDGET=840
fi
MSG_SIZE=32          # flood's default message size, '\n' included
ECHO_TIMEOUT_MS=5000 # flood --timeout for echo replies
RSS_TARGET_MB=80
ROOM_UDP_RATE=10 # mtserver --chat-udp: lines a second per address

# ---------------------------------------------------------------------------
# What the run found: facts, made into latest.json by bench/benchlib.py.

REPORTED=0
declare -A HAVE=()

fail() {
	fact failures - "$*"
	warn "FAILED: $*"
}
note() {
	fact notes - "$*"
	say "$*"
}

# in_budget SECS: SECS more seconds keep the run within its budget.
in_budget() {
	if ((SECONDS + $1 > BUDGET)); then
		note "time budget: skipping a ${1}s step at ${SECONDS}s of ${BUDGET}s"
		return 1
	fi
}

# section NAME KEY VALUE...: what a section records beside its runs (its
# servers' commands, settings, how busy the machine was before it); keys
# _NAME are settings its targets need (benchlib.py), not recorded.  Lists
# go first with fact_list.
section() {
	local name=$1
	shift
	fact "section:$name" busy_pct_before "${BUSY:-}" "$@" end 1
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

# start_model NAME PROGRAM ARGS...: another model of the server (epserver,
# rpserver, urserver), as start_mtserver.
start_model() {
	local name=$1 prog=$2
	shift 2
	start_server "$name" -- "$prog" -b 127.0.0.1 "$@" 0
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

# run_flood ID SECS ARGS...: flood ARGS --json under timeout(1); its JSON in
# $T/ID.json, its report in $T/ID.err; its command and exit status become
# the facts of run:ID (benchlib.py reads the verdict from both).
run_flood() {
	local id=$1 secs=$2 rc=0
	shift 2
	local cmd=("$FLOOD" "$@" --max-time "$secs" --json)
	timeout -k 5 "$((secs + 5))" "${cmd[@]}" >"$T/$id.json" 2>"$T/$id.err" </dev/null || rc=$?
	fact "run:$id" command "$(cmd_str "${cmd[@]}")" rc "$rc"
}

# add_run ID SECTION TOOL CLIENTS [KEY VALUE ...]: the run is complete.
add_run() {
	fact "run:$1" section "$2" tool "$3" clients "$4" "${@:5}" end 1
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
	fact machine nproc "$(nproc)" \
		cpu_model "$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)" \
		kernel "$(uname -sr)" mem_total_kb "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" \
		os "$( (. /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-}") || true)" \
		rlimit_nofile "$NOFILE" loadavg_start "$(loadavg)"
}

first_line() { "$@" 2>&1 | head -n 1 || true; }

collect_versions() {
	fact versions mtserver "$(first_line "$MTSERVER" -V)" flood "$(first_line "$FLOOD" -V)" \
		git "$(git describe --always --dirty 2>/dev/null || echo unknown)" cc "$(first_line "${CC:-cc}" --version)" \
		bash "$BASH_VERSION" dd "$(first_line dd --version)"
	[[ -n ${HAVE[redis]:-} ]] && fact versions redis-server "$(first_line redis-server --version)" \
		redis-benchmark "$(first_line redis-benchmark --version)"
	[[ -n ${HAVE[rsyslog]:-} ]] && fact versions rsyslogd "$(first_line rsyslogd -v | sed -E 's/ +compiled with:.*//; s/  +/ /g')"
	[[ -n ${HAVE[go]:-} ]] && fact versions go "$(first_line go version)"
	[[ -n ${HAVE[ncat]:-} ]] && fact versions ncat "$(first_line ncat --version)"
	[[ -n ${HAVE[haproxy]:-} ]] && fact versions haproxy "$(first_line haproxy -v)"
	return 0
}

# find_peers: detect (or, full run as root, install) the peers; build the
# Go echo server.
find_peers() {
	# urserver exits 3, before reading its options, where io_uring is not
	# to be had (a usage error, 2, otherwise).
	local probe=0
	"$URSERVER" --bench-probe >/dev/null 2>&1 || probe=$?
	if ((probe != 3)) && [[ -x $URSERVER ]]; then
		HAVE[urserver]=1
	else
		note "urserver: no io_uring here: skipping it"
	fi
	if need_cmd redis-server redis-server "$INSTALL" && need_cmd redis-benchmark redis-tools "$INSTALL"; then
		HAVE[redis]=1
	else
		note "redis-server/redis-benchmark unavailable: skipping the redis comparisons"
	fi
	if need_cmd rsyslogd rsyslog "$INSTALL"; then HAVE[rsyslog]=1; else note "rsyslogd unavailable: skipping the rsyslog comparison"; fi
	if need_cmd ncat ncat "$INSTALL"; then HAVE[ncat]=1; else note "ncat unavailable: skipping the ncat --chat comparison"; fi
	if need_cmd haproxy haproxy "$INSTALL"; then HAVE[haproxy]=1; else note "haproxy unavailable: skipping the PROXY protocol comparison"; fi
	if need_cmd curl curl "$INSTALL"; then HAVE[curl]=1; else note "curl unavailable: skipping the --metrics comparisons (nothing to scrape with)"; fi
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

PP_TOOLS=(mtserver tpc redis go epserver rpserver urserver)
# rpserver's loops: the target is SO_REUSEPORT x 2 (the issue's).
RP_LOOPS=2

# pp_start TOOL: start TOOL's echo server (name pp_TOOL); sets SRV_*.
pp_start() {
	case $1 in
	mtserver) start_mtserver pp_mtserver --echo -q --no-udp ;;
	epserver) start_model pp_epserver "$EPSERVER" --echo -q --no-udp ;;
	rpserver) start_model pp_rpserver "$RPSERVER" --loops "$RP_LOOPS" --echo -q --no-udp ;;
	urserver) start_model pp_urserver "$URSERVER" --echo -q --no-udp ;;
	tpc) start_server pp_tpc -- "$TPC_ECHO" 0 ;;
	redis) start_redis pp_redis ;;
	go) start_server pp_go -- "$T/echo" -addr 127.0.0.1:0 ;;
	esac
}

# pp_id TOOL CLIENTS [ROUND]: a ping-pong run's id (benchlib.py's pp_id):
# round 1, the table's, has none of its own.
pp_id() {
	printf 'pp_%s_%s' "$1" "$2"
	((${3:-1} == 1)) || printf '_r%s' "$3"
}

# pp_run TOOL CLIENTS PORT [ROUND]: one ping-pong run (ROUND 1 when not
# given: the table's; later rounds are the target pair's, see pp_rounds).
pp_run() {
	local tool=$1 c=$2 id extra=()
	id=$(pp_id "$1" "$2" "${4:-1}")
	[[ $tool == redis ]] && extra=(--reply-any-line)
	run_flood "$id" 60 -n "$c" -p "$3" --echo --payload PING --timeout "$ECHO_TIMEOUT_MS" \
		"${PP_LOAD[@]}" "${extra[@]}"
	add_run "$id" pingpong "$tool" "$c" round "${4:-1}"
	say "ping-pong $tool $c clients${4:+, round $4}: $(bget --num "$T/$id.json" messages_per_s) msgs/s"
}

# pp_rounds C MT_PORT TPC_PORT: rounds 2..PP_ROUNDS of mtserver and the
# minimal loop at C clients, one right after the other.  One 5-second
# pair swings by 10% and more on a shared 2-CPU machine, either way: the
# target takes the median of the rounds' ratios (benchlib.py).
pp_rounds() {
	local r
	for ((r = 2; r <= PP_ROUNDS; r++)); do
		in_budget 15 || return 0
		pp_run mtserver "$1" "$2" "$r"
		pp_run tpc "$1" "$3" "$r"
	done
}

section_pingpong() {
	local -A port=() srv=()
	local c tool
	say "1. ping-pong: ${PP_CLIENTS[*]} clients"
	# All servers run side by side (idle ones cost nothing) and the runs
	# alternate between them at each client count, so that a change in the
	# machine's load affects them alike.
	for tool in "${PP_TOOLS[@]}"; do
		[[ $tool == mtserver || $tool == ?pserver || -n ${HAVE[$tool]:-} ]] || continue
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
		if [[ $tool == mtserver || $tool == ?pserver || $tool == urserver ]]; then stop_server "pp_$tool" strict; else stop_server "pp_$tool"; fi
	done
	fact_list section:pingpong clients "${PP_CLIENTS[@]}"
	section pingpong load "${PP_LOAD[*]}" rounds "$PP_ROUNDS" timeout_ms "$ECHO_TIMEOUT_MS" \
		servers.mtserver "${srv[mtserver]:-}" servers.tpc "${srv[tpc]:-}" servers.redis "${srv[redis]:-}" \
		servers.go "${srv[go]:-}" servers.epserver "${srv[epserver]:-}" servers.rpserver "${srv[rpserver]:-}" \
		servers.urserver "${srv[urserver]:-}" \
		_mid "$PP_MID" _big "$PP_BIG"
}

# ---------------------------------------------------------------------------
# 2. redis-benchmark vs flood against the same redis-server

# redis_benchmark ID PORT: redis-benchmark -t ping_inline --csv; records
# its rate and latencies (ms) as the run's facts.
redis_benchmark() {
	local id=$1 rc=0 line rps='' p50='' p99=''
	local cmd=(redis-benchmark -h 127.0.0.1 -p "$2" -t ping_inline -c "$RB_CLIENTS" -n "$RB_REQUESTS" --csv)
	timeout -k 5 120 "${cmd[@]}" >"$T/$id.csv" 2>"$T/$id.err" </dev/null || rc=$?
	# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",...
	line=$(grep -m1 '^"PING_INLINE"' "$T/$id.csv" || true)
	if ((rc == 0)) && [[ -n $line ]]; then
		IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"${line//\"/}"
		fact "run:$id" ok true note ''
	else
		fact "run:$id" ok false note "redis-benchmark exit $rc"
	fi
	add_run "$id" loadgen redis-benchmark "$RB_CLIENTS" command "$(cmd_str "${cmd[@]}")" messages_per_s "$rps" \
		p50_ms "$p50" p99_ms "$p99"
	say "redis-benchmark ${rps:-(failed)}/s"
}

section_loadgen() {
	say "2. load generators: redis-benchmark vs flood, $RB_CLIENTS clients"
	local rb_srv=''
	if [[ -n ${HAVE[redis]:-} ]] && in_budget 30 && start_redis rb_redis; then
		rb_srv=$SRV_CMD
		redis_benchmark rb_redis_benchmark "$SRV_PORT"
		run_flood rb_flood 60 -n "$RB_CLIENTS" -p "$SRV_PORT" --echo --payload PING --reply-any-line \
			--timeout "$ECHO_TIMEOUT_MS" "${RB_LOAD[@]}"
		add_run rb_flood loadgen flood "$RB_CLIENTS"
		stop_server rb_redis
		say "flood $(bget --num "$T/rb_flood.json" messages_per_s)/s"
	fi
	section loadgen clients "$RB_CLIENTS" server "$rb_srv"
}

# ---------------------------------------------------------------------------
# 3. One-way ingest

# wait_settled FILE EXPECT_BYTES STABLE_S MAX_S: wait until FILE reaches
# EXPECT_BYTES (if given) or has not grown for STABLE_S seconds, at most
# MAX_S seconds.  Sets SETTLED_NS to the file's last modification time,
# i.e. when its last line was written (the rates count to it).
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

# ingest_run ID FILE T0 [KEY VALUE...]: the run's facts: from T0 to the
# last write to FILE (benchlib.py makes lines/s and bytes/s of them); then
# removes FILE.
ingest_run() {
	local id=$1 file=$2 t0=$3 bytes tool=${1#in_}
	bytes=$(stat -c %s "$file" 2>/dev/null || echo 0)
	rm -f "$file"
	[[ $tool == rsyslog_* ]] && tool="rsyslogd (${tool#rsyslog_})"
	add_run "$id" ingest "$tool" "$IN_CLIENTS" messages "$IN_MESSAGES" t0_ns "$t0" settled_ns "$SETTLED_NS" \
		bytes "$bytes" "${@:4}"
	say "ingest ${id#in_}: $bytes bytes written"
}

# verify_log ID LOG [N M]: flood --verify-log for N x M messages (the
# ingest's when not given) into $T/ID.verify.json; its command and
# verdict become the run's facts.
verify_log() {
	local id=$1 rc=0 n=${3:-$IN_CLIENTS} m=${4:-$IN_MESSAGES}
	local cmd=("$FLOOD" --verify-log "$2" -n "$n" -m "$m" --json)
	timeout -k 5 120 "${cmd[@]}" >"$T/$id.verify.json" 2>"$T/verify.err" || rc=$?
	fact "run:$id" verify "$T/$id.verify.json" verify_command "$(cmd_str "${cmd[@]}")" \
		verify_ok "$( ((rc == 0)) && echo true || echo false)"
	((rc == 0)) || fact "run:$id" ok false note "flood --verify-log exit $rc: $(tail -n 3 "$T/verify.err" | tr '\n' ' ')"
}

ingest_mtserver() {
	local id=in_mtserver log="$T/ingest_mtserver.log" t0
	in_budget 60 && start_mtserver "$id" --no-udp -l "$log" || return 0
	INGEST_SRV[mtserver]=$SRV_CMD
	t0=$(date +%s%N)
	run_flood "$id" 120 -n "$IN_CLIENTS" -m "$IN_MESSAGES" -p "$SRV_PORT"
	wait_settled "$log" "" 1 60
	stop_server "$id" strict
	verify_log "$id" "$log"
	IN_BYTES=$(stat -c %s "$log")
	ingest_run "$id" "$log" "$t0"
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
	t0=$(date +%s%N)
	run_flood "$id" 120 -n "$IN_CLIENTS" -m "$IN_MESSAGES" -p "$SRV_PORT"
	wait_settled "$out" "" 2 120
	stop_server "$id"
	lines=$(grep -cv "$probe" "$out" || true)
	ingest_run "$id" "$out" "$t0" lines "${lines:-0}"
}

# ingest_dd: the write ceiling: dd of the bytes mtserver logged to the
# same file system, twice (the first may meet memory the guest has not
# touched lately); the faster counts.
ingest_dd() {
	local i out="$T/ingest_dd.out" dd_secs=()
	is_uint "${IN_BYTES:-}" && ((IN_BYTES > 0)) || return 0
	local cmd=(dd if=/dev/zero of="$out" bs=1M count="$IN_BYTES" iflag=count_bytes)
	for i in 1 2; do
		# dd's own last line: "N bytes (...) copied, SECS s, RATE".
		dd_secs+=("$(LC_ALL=C "${cmd[@]}" 2>&1 | sed -n 's/.* copied, \(.*\) s, .*/\1/p')")
		rm -f "$out"
	done
	fact_list run:in_dd seconds "${dd_secs[@]}"
	add_run in_dd ingest dd '' command "$(cmd_str "${cmd[@]}")" bytes "$IN_BYTES"
	say "ingest dd: $IN_BYTES bytes in ${dd_secs[*]} s"
}
IN_BYTES=''
declare -A INGEST_SRV=()

section_ingest() {
	say "3. one-way ingest: $IN_CLIENTS clients x $IN_MESSAGES messages"
	ingest_mtserver
	ingest_dd
	ingest_rsyslog mtline
	ingest_rsyslog raw
	section ingest clients "$IN_CLIENTS" messages "$IN_MESSAGES" message_size "$MSG_SIZE" \
		servers.mtserver "${INGEST_SRV[mtserver]:-}" servers.rsyslog_mtline "${INGEST_SRV[rsyslog_mtline]:-}" \
		servers.rsyslog_raw "${INGEST_SRV[rsyslog_raw]:-}"
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
	bg_start "flood_$id" --stdout "$T/$id.json" --stderr "$T/$id.err" -- timeout -k 5 "$limit" "${cmd[@]}"
	hold_sample "$id" "$pid" "$base" "$secs"
	local rc=0
	bg_stop "flood_$id" 10 || rc=$?
	for ((i = 0; i < 100; i++)); do
		(($(sockets_of "$pid") <= base)) && break
		sleep 0.1
	done
	add_run "$id" memory "$tool" "$n" command "$(cmd_str "${cmd[@]}")" rc "$rc" server_sockets_peak "$HOLD_PEAK" \
		vmrss_kb "$HOLD_RSS" vmhwm_kb "$(hwm_kb "$pid")" vmrss_before_kb "$rss0" vmrss_after_kb "$(rss_kb "$pid")" \
		threads "$HOLD_THREADS"
	say "hold $id: $(bget "$T/$id.json" connections_held) held, VmRSS $((HOLD_RSS / 1024)) MB"
}

# hold TOOL CLIENTS: one hold measurement against a fresh server.
hold() {
	local tool=$1 n=$2 name="mem_$1_$2"
	in_budget $((HOLD_SECS + 40)) || return 0
	case $tool in
	mtserver) start_mtserver "$name" -q --no-udp --idle-timeout 0 -l "$T/$name.log" || return 0 ;;
	epserver) start_model "$name" "$EPSERVER" -q --no-udp --idle-timeout 0 -l "$T/$name.log" || return 0 ;;
	rpserver) start_model "$name" "$RPSERVER" --loops "$RP_LOOPS" -q --no-udp --idle-timeout 0 \
		-l "$T/$name.log" || return 0 ;;
	urserver) start_model "$name" "$URSERVER" -q --no-udp --idle-timeout 0 -l "$T/$name.log" || return 0 ;;
	go) start_server "$name" -- "$T/echo" -addr 127.0.0.1:0 || return 0 ;;
	esac
	HOLD_SRV+=("$SRV_CMD")
	measure_hold "hold_${tool}_$n" "$tool" "$n" "$HOLD_SECS"
	if [[ $tool == mtserver || $tool == ?pserver || $tool == urserver ]]; then stop_server "$name" strict; else stop_server "$name"; fi
}
HOLD_SRV=()

section_memory() {
	local n=$HOLD_CLIENTS big=$HOLD_BIG
	say "4. memory: $n idle clients for ${HOLD_SECS}s"
	hold mtserver "$n"
	[[ -n ${HAVE[go]:-} ]] && hold go "$n"
	hold epserver "$n"
	hold rpserver "$n"
	[[ -n ${HAVE[urserver]:-} ]] && hold urserver "$n"
	if [[ -n $big ]]; then
		# Keep a few descriptors for flood's own use.
		((NOFILE >= big + 64)) || {
			note "RLIMIT_NOFILE is $NOFILE: holding $((NOFILE - 64)) instead of $big clients"
			big=$((NOFILE - 64))
		}
		hold mtserver "$big"
	fi
	fact_list section:memory servers "${HOLD_SRV[@]}"
	section memory clients "$n" big "$big" seconds "$HOLD_SECS" _rss_target_mb "$RSS_TARGET_MB"
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
	add_run "$id" chat "$tool" "$n" messages "$m"
	say "chat $tool $n members: $(bget --num "$T/$id.json" deliveries_per_s) deliveries/s"
}
declare -A CHAT_SRV=()

section_chat() {
	local i n
	# Its whole --help read first: grep -q stopping early would fail the pipe.
	if ! grep -q -- '--chat' <<<"$("$FLOOD" --help 2>&1)"; then
		note "chat section skipped: this bench/flood has no --chat (flood --help does not list it)"
		section chat skipped "bench/flood has no --chat"
		return 0
	fi
	say "5. chat: ${CHAT_SIZES[*]} members"
	for i in "${!CHAT_SIZES[@]}"; do
		n=${CHAT_SIZES[$i]}
		chat_run mtserver "$n" "${CHAT_MESSAGES[$i]}"
		[[ -n ${HAVE[ncat]:-} ]] && chat_run ncat "$n" "${CHAT_MESSAGES[$i]}"
	done
	fact_list section:chat sizes "${CHAT_SIZES[@]}"
	fact_list section:chat messages "${CHAT_MESSAGES[@]}"
	section chat servers.mtserver "${CHAT_SRV[mtserver]:-}" servers.ncat "${CHAT_SRV[ncat]:-}"
}

# ---------------------------------------------------------------------------
# 6. Framing and the front (issue 24): the same ingest, alternating rounds
#
# Each run is a fresh mtserver logging to a fresh file, flood -n EX_CLIENTS
# -m EX_MESSAGES, the log checked with flood --verify-log; rounds
# alternate between the pair, the target is the median of the rounds'
# ratios of lines/s (benchlib.py).

# ex_ingest ID SECTION TOOL ROUND SRV LOG PORT [FLOOD ARGS...]: one ingest
# run against the mtserver SRV (started by the caller, logging to LOG),
# flood sending to PORT (the server's, or a proxy's in front of it);
# stops SRV, checks LOG, records the run.
ex_ingest() {
	local id=$1 sec=$2 tool=$3 round=$4 name=$5 log=$6 port=$7 t0 bytes
	shift 7
	t0=$(date +%s%N)
	run_flood "$id" 120 -n "$EX_CLIENTS" -m "$EX_MESSAGES" -p "$port" "$@"
	wait_settled "$log" "" 1 60
	stop_server "$name" strict
	verify_log "$id" "$log" "$EX_CLIENTS" "$EX_MESSAGES"
	bytes=$(stat -c %s "$log" 2>/dev/null || echo 0)
	rm -f "$log"
	add_run "$id" "$sec" "$tool" "$EX_CLIENTS" messages "$EX_MESSAGES" t0_ns "$t0" settled_ns "$SETTLED_NS" \
		bytes "$bytes" round "$round"
	say "${sec//_/ } $tool, round $round: $(bget --num "$T/$id.verify.json" found) lines verified"
}

# framing_run FRAMING ROUND: mtserver --framing FRAMING; flood sends the
# same messages, octet-counted for "octet".
framing_run() {
	local f=$1 id="fr_$1_r$2" log="$T/fr.log" extra=()
	[[ $f == octet ]] && extra=(--octet-count)
	start_mtserver "srv_$id" --no-udp --framing "$f" -l "$log" || return 0
	EX_SRV[$f]=$SRV_CMD
	ex_ingest "$id" framing "$f" "$2" "srv_$id" "$log" "$SRV_PORT" "${extra[@]}"
}

# exec_haproxy PORT CONF_IN CONF: (in bg_start's subshell) the
# configuration for PORT, then haproxy in the foreground in its place.
exec_haproxy() {
	sed "s|@PORT@|$1|g" "$2" >"$3" && exec haproxy -f "$3" -db
}

# front_run MODE ROUND: haproxy in front of mtserver; MODE "pp": with
# send-proxy-v2 to mtserver --proxy-protocol, "tcp": plain TCP mode to
# plain mtserver (docs/proxy-protocol.md's configuration).
front_run() {
	local mode=$1 id="px_$1_r$2" log="$T/px.log" dir="$T/haproxy.d" send='' pp=()
	[[ $mode == pp ]] && send=send-proxy-v2 pp=(--proxy-protocol --proxy-from 127.0.0.1/32)
	start_mtserver "srv_$id" --no-udp "${pp[@]}" -l "$log" || return 0
	EX_SRV[$mode]=$SRV_CMD
	mkdir -p "$dir"
	printf '%s\n' global "  maxconn $((EX_CLIENTS * 2 + 100))" defaults '  mode tcp' '  timeout connect 5s' \
		'  timeout client 5m' '  timeout server 5m' 'listen mtserver' '  bind 127.0.0.1:@PORT@' \
		"  server a 127.0.0.1:$SRV_PORT $send" >"$dir/haproxy.cfg.in"
	if ! start_on_free_port "hap_$id" -- exec_haproxy @PORT@ "$dir/haproxy.cfg.in" "$dir/haproxy.cfg"; then
		stop_server "srv_$id" strict
		return 0
	fi
	EX_SRV[haproxy_$mode]=$(cmd_str haproxy -f "$dir/haproxy.cfg" -db)
	EX_CONF[$mode]="$(tr '\n' ';' <"$dir/haproxy.cfg.in")"
	local hport=$SRV_PORT
	ex_ingest_front "$id" "$mode" "$2" "srv_$id" "hap_$id" "$log" "$hport"
}

# ex_ingest_front ID MODE ROUND SRV HAP LOG PORT: ex_ingest through the
# haproxy HAP, stopped once the log has settled (before the server).
ex_ingest_front() {
	local id=$1 t0 bytes
	t0=$(date +%s%N)
	run_flood "$id" 120 -n "$EX_CLIENTS" -m "$EX_MESSAGES" -p "$7"
	wait_settled "$6" "" 1 60
	stop_server "$5"
	stop_server "$4" strict
	verify_log "$id" "$6" "$EX_CLIENTS" "$EX_MESSAGES"
	bytes=$(stat -c %s "$6" 2>/dev/null || echo 0)
	rm -f "$6"
	add_run "$id" front "$2" "$EX_CLIENTS" messages "$EX_MESSAGES" t0_ns "$t0" settled_ns "$SETTLED_NS" \
		bytes "$bytes" round "$3"
	say "front $2, round $3: $(bget --num "$T/$id.verify.json" found) lines verified"
}
declare -A EX_SRV=() EX_CONF=()

section_framing() {
	local r
	say "6. framing and the front: $EX_CLIENTS clients x $EX_MESSAGES messages, $EX_ROUNDS rounds"
	for ((r = 1; r <= EX_ROUNDS; r++)); do
		in_budget 40 || break
		framing_run lf "$r"
		framing_run octet "$r"
	done
	if [[ -n ${HAVE[haproxy]:-} ]]; then
		for ((r = 1; r <= EX_ROUNDS; r++)); do
			in_budget 40 || break
			front_run tcp "$r"
			front_run pp "$r"
		done
	fi
	section framing clients "$EX_CLIENTS" messages "$EX_MESSAGES" rounds "$EX_ROUNDS" message_size "$MSG_SIZE" \
		servers.lf "${EX_SRV[lf]:-}" servers.octet "${EX_SRV[octet]:-}"
	if [[ -z ${HAVE[haproxy]:-} ]]; then
		section front skipped "haproxy not installed"
		return 0
	fi
	section front clients "$EX_CLIENTS" messages "$EX_MESSAGES" rounds "$EX_ROUNDS" \
		servers.tcp "${EX_SRV[tcp]:-}" servers.pp "${EX_SRV[pp]:-}" servers.haproxy_tcp "${EX_SRV[haproxy_tcp]:-}" \
		servers.haproxy_pp "${EX_SRV[haproxy_pp]:-}" haproxy_cfg_tcp "${EX_CONF[tcp]:-}" \
		haproxy_cfg_pp "${EX_CONF[pp]:-}"
}

# ---------------------------------------------------------------------------
# 7. --metrics (issue 25): ingest and ping-pong with the metrics endpoint
# scraped once a second vs without, alternating rounds

# scrape_loop URL SECS COUNTFILE: GET URL once a second, SECS times at
# most, each bounded by curl --max-time; the number that worked goes to
# COUNTFILE after each.  Run with bg_start, stopped by its pid.
scrape_loop() {
	local i ok=0
	for ((i = 0; i < $2; i++)); do
		curl -fsS --max-time 1 -o /dev/null "$1" && ok=$((ok + 1))
		printf '%s\n' "$ok" >"$3"
		sleep 1
	done
}

# metrics_url NAME: the URL the server NAME said it serves metrics at.
metrics_url() {
	local i url=''
	for ((i = 0; i < 50; i++)); do
		url=$(grep -m1 -oE 'http://[^ ]*/metrics' "$T/$1.err" 2>/dev/null || true)
		[[ -n $url ]] && break
		sleep 0.1
	done
	printf '%s' "$url"
}

# scrape_start NAME ID: scrape the server NAME's metrics in the background
# (pid file scrape_ID); scrape_stop ID: stop it, record the count as ID's.
scrape_start() {
	local url
	url=$(metrics_url "$1")
	[[ -n $url ]] || {
		fail "$1 did not say where its metrics are"
		return 0
	}
	printf '0\n' >"$T/scrape_$2.count"
	bg_start "scrape_$2" -- scrape_loop "$url" 600 "$T/scrape_$2.count"
}
scrape_stop() {
	bg_stop "scrape_$1" 5 || true
	fact "run:$1" scrapes "$(cat "$T/scrape_$1.count" 2>/dev/null || echo 0)"
}

# mx_ingest_run WITH ROUND: an ingest run with (on) or without (off)
# --metrics.
mx_ingest_run() {
	local id="mx_in_$1_r$2" log="$T/mx.log" mx=() t0
	[[ $1 == on ]] && mx=(--metrics 127.0.0.1:0)
	start_mtserver "srv_$id" --no-udp "${mx[@]}" -l "$log" || return 0
	MX_SRV[in_$1]=$SRV_CMD
	[[ $1 == on ]] && scrape_start "srv_$id" "$id"
	local port=$SRV_PORT
	if [[ $1 == on ]]; then
		# The scraper stops before the server, so that its count is
		# what was served.
		t0=$(date +%s%N)
		run_flood "$id" 120 -n "$EX_CLIENTS" -m "$EX_MESSAGES" -p "$port"
		wait_settled "$log" "" 1 60
		scrape_stop "$id"
		mx_ingest_end "$id" "$1" "$2" "$log" "$t0"
	else
		ex_ingest "$id" metrics_ingest "$1" "$2" "srv_$id" "$log" "$port"
	fi
}
# mx_ingest_end ID WITH ROUND LOG T0: the rest of ex_ingest.
mx_ingest_end() {
	local bytes
	stop_server "srv_$1" strict
	verify_log "$1" "$4" "$EX_CLIENTS" "$EX_MESSAGES"
	bytes=$(stat -c %s "$4" 2>/dev/null || echo 0)
	rm -f "$4"
	add_run "$1" metrics_ingest "$2" "$EX_CLIENTS" messages "$EX_MESSAGES" t0_ns "$5" settled_ns "$SETTLED_NS" \
		bytes "$bytes" round "$3"
	say "metrics ingest $2, round $3: $(bget --num "$T/$1.verify.json" found) lines verified"
}

# mx_pp_run WITH ROUND PORT: one ping-pong run at PP_MID clients.
mx_pp_run() {
	local id="mx_pp_$1_r$2"
	run_flood "$id" 60 -n "$PP_MID" -p "$3" --echo --payload PING --timeout "$ECHO_TIMEOUT_MS" "${PP_LOAD[@]}"
	add_run "$id" metrics_pingpong "$1" "$PP_MID" round "$2"
	say "metrics ping-pong $1, round $2: $(bget --num "$T/$id.json" messages_per_s) msgs/s"
}
declare -A MX_SRV=()

section_metrics() {
	local r off_port on_port
	if [[ -z ${HAVE[curl]:-} ]]; then
		section metrics skipped "curl not installed"
		return 0
	fi
	say "7. --metrics: ingest and ping-pong, with and without, $MX_ROUNDS rounds"
	for ((r = 1; r <= MX_ROUNDS; r++)); do
		in_budget 40 || break
		mx_ingest_run off "$r"
		mx_ingest_run on "$r"
	done
	if in_budget 30 && start_mtserver mx_pp_off --echo -q --no-udp; then
		MX_SRV[pp_off]=$SRV_CMD off_port=$SRV_PORT
		if start_mtserver mx_pp_on --echo -q --no-udp --metrics 127.0.0.1:0; then
			MX_SRV[pp_on]=$SRV_CMD on_port=$SRV_PORT
			scrape_start mx_pp_on mx_pp
			for ((r = 1; r <= MX_ROUNDS; r++)); do
				in_budget 15 || break
				mx_pp_run off "$r" "$off_port"
				mx_pp_run on "$r" "$on_port"
			done
			scrape_stop mx_pp
			stop_server mx_pp_on strict
		fi
		stop_server mx_pp_off strict
	fi
	section metrics clients "$EX_CLIENTS" messages "$EX_MESSAGES" rounds "$MX_ROUNDS" pp_clients "$PP_MID" \
		load "${PP_LOAD[*]}" servers.in_off "${MX_SRV[in_off]:-}" servers.in_on "${MX_SRV[in_on]:-}" \
		servers.pp_off "${MX_SRV[pp_off]:-}" servers.pp_on "${MX_SRV[pp_on]:-}"
}

# ---------------------------------------------------------------------------
# 8. The room under attack (issue 21)

# room_udp: RU_MEMBERS members (flood --chat) while one UDP sender floods
# mtserver --chat --chat-udp at 10x the room's per-address rate: no member
# may be dropped (reason=slow-reader in the log); the lines not relayed
# are the server's stop summary's.
room_udp() {
	local id=room_udp log="$T/room_udp.log" rate=$((ROOM_UDP_RATE * 10)) drops=0 skipped=0
	in_budget 60 && start_mtserver room_udp_srv --chat --chat-udp -l "$log" || return 0
	ROOM_SRV[udp]=$SRV_CMD
	bg_start room_udp_flooder --stdout "$T/room_udp_flooder.json" -- \
		timeout -k 5 100 "$FLOOD" --udp -n 1 --rate "$rate" -d 90 -p "$SRV_PORT" --max-time 95 --json
	sleep 1 # the flooder is at its rate before the room starts
	run_flood "$id" 60 --chat -n "$RU_MEMBERS" -m "$RU_MESSAGES" -p "$SRV_PORT" --timeout "$ECHO_TIMEOUT_MS"
	bg_stop room_udp_flooder 5 INT || true
	stop_server room_udp_srv strict
	drops=$(grep -c 'reason=slow-reader' "$log" || true)
	skipped=$(sed -n 's/.*chat: udp lines not relayed: \([0-9]*\).*/\1/p' "$T/room_udp_srv.err" | head -n 1)
	add_run "$id" room udp "$RU_MEMBERS" messages "$RU_MESSAGES" udp_rate "$rate" \
		udp_sent "$(bget "$T/room_udp_flooder.json" messages_sent)" udp_not_relayed "${skipped:-0}" \
		slow_reader_drops "${drops:-0}"
	rm -f "$log"
	say "room + UDP flooder: ${drops:-0} members dropped, ${skipped:-0} UDP lines not relayed"
}

# flooder PORT SECS: one member that sends lines as fast as the room takes
# them and reads everything (benchlib.py flooder); bounded by SECS.
room_flood_run() {
	local with=$1 r=$2 port=$3 id="room_fl_$1_r$2"
	if [[ $with == on ]]; then
		bg_start "flooder_$id" -- python3 bench/benchlib.py flooder "$port" 60
		sleep 0.5 # it is in the room and sending
	fi
	run_flood "$id" 60 --chat -n "$RF_MEMBERS" -m "$RF_MESSAGES" -p "$port" --timeout "$ECHO_TIMEOUT_MS"
	if [[ $with == on ]]; then
		bg_stop "flooder_$id" 5 || true
		fact "run:$id" flooder_lines "$(tail -n 1 "$T/flooder_$id.out" 2>/dev/null)"
	fi
	add_run "$id" room "flood_$with" "$RF_MEMBERS" messages "$RF_MESSAGES" round "$r"
	say "room of $RF_MEMBERS, flooder $with, round $r: p99 $(bget --num "$T/$id.json" delivery_us.p99) us"
}

room_flooder() {
	local r
	in_budget 60 && start_mtserver room_fl_srv --chat -q --no-udp || return 0
	ROOM_SRV[flooder]=$SRV_CMD
	for ((r = 1; r <= RF_ROUNDS; r++)); do
		in_budget 30 || break
		room_flood_run off "$r" "$SRV_PORT"
		room_flood_run on "$r" "$SRV_PORT"
	done
	stop_server room_fl_srv strict
}

# room_churn: 4 threads connecting and closing (flood --churn) while
# CH_NEW newcomers join over a second (flood --echo --reply-any-line -m 1:
# the first line a newcomer reads is its welcome, first_reply_us the time
# from its connect to it).
room_churn() {
	local id=room_churn
	in_budget 60 && start_mtserver room_ch_srv --chat -q --no-udp || return 0
	ROOM_SRV[churn]=$SRV_CMD
	bg_start room_churner --stdout "$T/room_churner.json" -- \
		timeout -k 5 $((CH_SECS + 30)) "$FLOOD" --churn -t 4 -n 4 -d "$CH_SECS" -p "$SRV_PORT" \
		--max-time $((CH_SECS + 25)) --json
	sleep 0.5
	run_flood "$id" 60 --echo --reply-any-line -n "$CH_NEW" -m 1 --ramp 1 -p "$SRV_PORT" \
		--timeout "$ECHO_TIMEOUT_MS"
	churn_verdict "$id"
	wait_until $((CH_SECS + 30)) churner_done || true
	bg_stop room_churner 5 || true
	stop_server room_ch_srv strict
	add_run "$id" room churn "$CH_NEW" churn_threads 4 churn_secs "$CH_SECS" \
		churn_connections "$(bget "$T/room_churner.json" connections_opened)"
	say "churn: $(bget "$T/$id.json" messages_answered) of $CH_NEW newcomers welcomed, p99 $(bget --num "$T/$id.json" first_reply_us.p99) us"
}
# churn_verdict ID: every newcomer read a line (its welcome) and none was
# refused; the room's lines after the welcome are flood's "bad replies"
# here, not a failure.
churn_verdict() {
	local v answered refused failed
	mapfile -t v < <(bget "$T/$1.json" messages_answered refused_by_server connections_failed)
	answered=${v[0]:-} refused=${v[1]:-} failed=${v[2]:-}
	if [[ $answered == "$CH_NEW" && $refused == 0 && $failed == 0 ]]; then
		fact "run:$1" ok true note ''
	else
		fact "run:$1" ok false note "$answered of $CH_NEW newcomers welcomed, $refused refused, $failed failed to connect"
	fi
}
declare -A ROOM_SRV=()
churner_done() { ! bg_alive room_churner; }

section_room() {
	if ! grep -q -- '--chat' <<<"$("$FLOOD" --help 2>&1)"; then
		section room skipped "bench/flood has no --chat"
		return 0
	fi
	say "8. the room under attack: UDP flooder, TCP flooder, churn"
	room_udp
	room_flooder
	room_churn
	section room members_udp "$RU_MEMBERS" messages_udp "$RU_MESSAGES" udp_rate "$((ROOM_UDP_RATE * 10))" \
		members_flooder "$RF_MEMBERS" messages_flooder "$RF_MESSAGES" rounds "$RF_ROUNDS" newcomers "$CH_NEW" \
		churn_secs "$CH_SECS" servers.udp "${ROOM_SRV[udp]:-}" servers.flooder "${ROOM_SRV[flooder]:-}" \
		servers.churn "${ROOM_SRV[churn]:-}"
}

# ---------------------------------------------------------------------------
# 9. One room on two servers through a broker (issue 26)
#
# Two mtserver --chat --broker nodes on one redis-server; flood --chat
# --hosts puts BR_MEMBERS members on them in turn (half each), each says
# BR_MESSAGES lines, and flood checks every delivery (once, in each
# sender's order) across the two.  Alternating with the same room on one
# node without a broker; then ncat --chat with the same members.  The
# nodes' logs are kept for broker-lost lines (every one counted).

# broker_run KIND ROUND: one flood --chat run on the two nodes (two) or
# the one (one).
broker_run() {
	local kind=$1 r=$2 id="br_$1_r$2" to=(-p "$BR_ONE_PORT")
	[[ $kind == two ]] && to=(--hosts "127.0.0.1:$BR_A_PORT,127.0.0.1:$BR_B_PORT")
	run_flood "$id" 60 --chat -n "$BR_MEMBERS" -m "$BR_MESSAGES" "${to[@]}" --timeout "$ECHO_TIMEOUT_MS"
	add_run "$id" broker "$kind" "$BR_MEMBERS" messages "$BR_MESSAGES" round "$r"
	say "broker, $kind node(s), round $r: $(bget --num "$T/$id.json" deliveries_per_s) deliveries/s, p99 $(bget --num "$T/$id.json" delivery_us.p99) us"
}

# broker_ncat: ncat --chat with the same members (one process).
broker_ncat() {
	in_budget 60 && chat_start ncat br_ncat_srv "$BR_MEMBERS" || return 0
	BR_SRV[ncat]=$SRV_CMD
	run_flood br_ncat 60 --chat -n "$BR_MEMBERS" -m "$BR_MESSAGES" -p "$SRV_PORT" --timeout "$ECHO_TIMEOUT_MS"
	stop_server br_ncat_srv
	add_run br_ncat broker ncat "$BR_MEMBERS" messages "$BR_MESSAGES"
}
declare -A BR_SRV=()

# broker_nodes REDIS_PORT: the two nodes and the one (sets BR_*_PORT).
broker_nodes() {
	local url="redis://127.0.0.1:$1/bench"
	start_mtserver br_a --chat -q --no-udp --broker "$url" -l "$T/br_a.log" || return 1
	BR_A_PORT=$SRV_PORT BR_SRV[node_a]=$SRV_CMD
	start_mtserver br_b --chat -q --no-udp --broker "$url" -l "$T/br_b.log" || return 1
	BR_B_PORT=$SRV_PORT BR_SRV[node_b]=$SRV_CMD
	start_mtserver br_one --chat -q --no-udp || return 1
	BR_ONE_PORT=$SRV_PORT BR_SRV[one]=$SRV_CMD
	# Both links up on both nodes before the first member joins.
	wait_until 10 broker_links_up || note "broker: the nodes' links were not all up after 10 s"
}
broker_links_up() {
	[[ $(cat "$T/br_a.log" "$T/br_b.log" 2>/dev/null | grep -c 'broker-up') -ge 4 ]]
}

section_broker() {
	local r lost
	# Its whole --help read first: grep -q stopping early would fail the pipe.
	if ! grep -q -- '--hosts' <<<"$("$FLOOD" --help 2>&1)"; then
		note "broker section skipped: this bench/flood has no --hosts (flood --help does not list it)"
		section broker skipped "bench/flood has no --hosts"
		return 0
	fi
	if [[ -z ${HAVE[redis]:-} ]]; then
		section broker skipped "redis-server unavailable"
		return 0
	fi
	say "9. one room on two servers through redis-server: $BR_MEMBERS members"
	in_budget 90 && start_redis br_redis || return 0
	BR_SRV[redis]=$SRV_CMD
	if broker_nodes "$SRV_PORT"; then
		for ((r = 1; r <= BR_ROUNDS; r++)); do
			in_budget 40 || break
			broker_run two "$r"
			broker_run one "$r"
		done
	fi
	stop_server br_a strict
	stop_server br_b strict
	stop_server br_one strict
	stop_server br_redis
	lost=$(cat "$T/br_a.log" "$T/br_b.log" 2>/dev/null | sed -n 's/.*broker-lost.* lines=\([0-9]*\).*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }')
	[[ -n ${HAVE[ncat]:-} ]] && broker_ncat
	section broker members "$BR_MEMBERS" messages "$BR_MESSAGES" rounds "$BR_ROUNDS" lost_lines "$lost" \
		servers.redis "${BR_SRV[redis]:-}" servers.node_a "${BR_SRV[node_a]:-}" \
		servers.node_b "${BR_SRV[node_b]:-}" servers.one "${BR_SRV[one]:-}" servers.ncat "${BR_SRV[ncat]:-}"
}

# ---------------------------------------------------------------------------
# Results: latest.json from the facts, then Markdown from it (benchlib.py)

# write_results [--aborted RC]: exit status 1 unless the run was ok.
write_results() {
	local out rc=0
	out=$(bench_out latest)
	fact machine loadavg_end "$(loadavg)"
	py bench/benchlib.py results "$T" "$out.json" "$@" || rc=$?
	py bench/benchlib.py render bench "$out.json" >"$out.md.tmp" && mv -f "$out.md.tmp" "$out.md"
	REPORTED=1
	say "wrote $out.json and $out.md ($(bget "$out.json" status))"
	bench_publish "$rc" "$out.json" "$out.md"
	return "$rc"
}

# bench_on_exit RC: a run that dies still writes what it measured.
# shellcheck disable=SC2317 # called by lib.sh's exit trap
bench_on_exit() {
	((REPORTED)) && return 0
	bg_stop_all 5
	write_results --aborted "$1" || true
}

main() {
	[[ -x $MTSERVER ]] || die "$MTSERVER not found: run make first"
	[[ -x $FLOOD ]] || die "$FLOOD not found: run make first"
	bench_begin
	fact bench quick "$QUICK" started "$(date -u +%Y-%m-%dT%H:%M:%SZ)" start_ns "$(date +%s%N)"
	raise_nofile
	machine_info
	say "$( ((QUICK)) && echo 'QUICK run' || echo 'full run'): $(nproc) CPUs, RLIMIT_NOFILE $NOFILE, temp dir $T"
	find_peers
	collect_versions
	wait_quiet
	local s rc=0
	for s in ${SECTIONS:-pingpong loadgen ingest memory chat framing metrics room broker}; do
		busy_before
		"section_$s"
	done
	write_results || rc=$?
	say "done in ${SECONDS}s: $( ((rc == 0)) && echo ok || echo failed)"
	return "$rc"
}

main "$@"
