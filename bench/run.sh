#!/usr/bin/env bash
# bench/run.sh - `make bench`: mtserver side by side with peers from Debian
# packages, in one run, on loopback, driven by bench/flood.
#
#   bash bench/run.sh            full run (< 5 minutes)
#                                -> bench/results/latest.md, latest.json
#   QUICK=1 bash bench/run.sh    seconds-long smoke run of the same pipeline
#                                -> bench/results/quick.md, quick.json
#
# Measurements (GitHub issue 3):
#   1. ping-pong at 1, 200 and 1000 clients: mtserver --echo vs redis-server
#      (inline PING) vs a goroutine-per-connection Go echo server
#      (bench/peers/echo.go); msgs/s, p50 and p99 round trip.
#   2. redis-benchmark -t ping_inline vs flood, against the same redis-server.
#   3. one-way ingest, 200 clients x 25,000 32-byte lines: mtserver logging
#      to a file (every line then checked with flood --verify-log) vs
#      rsyslogd imtcp -> omfile; lines/s until the file holds every line.
#   4. memory: mtserver's VmRSS with 10,000 idle clients held by flood, the
#      Go peer's for comparison, and how many of 19,000 clients mtserver holds.
#
# Every peer runs on a free 127.0.0.1 port with a throw-away configuration
# in a mktemp -d directory, and is stopped at the end whatever happens
# (trap EXIT).  A missing peer is installed with apt-get when running as root
# (full run only); otherwise what needs it is skipped, with a message.
# Every wait and every loop is bounded; past a time budget the remaining
# measurements are skipped.
#
# Environment: QUICK=1, MTSERVER (./mtserver), FLOOD (bench/flood),
# KEEP_TMP=1 (keep the temporary directory, for debugging).
# Exit status: 0 when every run worked, 1 when one failed (a server did not
# start, flood reported an error, verification failed, a peer lost lines).
# Targets are reported as met or missed, never enforced.

set -euo pipefail

BENCH_NAME=bench
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh

# ---------------------------------------------------------------------------
# Settings

case ${QUICK:-0} in '' | 0 | no | false) QUICK=0 ;; *) QUICK=1 ;; esac
MTSERVER=${MTSERVER:-./mtserver}
FLOOD=${FLOOD:-bench/flood}
RESULTS_DIR=bench/results
GO_CACHE_DIR=$ROOT/build/bench/go-cache

if ((QUICK)); then
	OUT_NAME=quick
	PP_CLIENTS=(1 20)    # ping-pong client counts
	PP_LOAD=(-m 2000)    # ... and how long each run is
	PP_MID=20            # stands in for "200" in the targets
	PP_BIG=              # no "1000" run
	RB_CLIENTS=20 RB_REQUESTS=20000
	RB_LOAD=(-m 1000)
	IN_CLIENTS=20 IN_MESSAGES=2000
	HOLD_CLIENTS=200 HOLD_SECS=2
	HOLD_BIG= # no 19,000-client run
	INSTALL=skip
	BUDGET=150 # seconds for the measurements
else
	OUT_NAME=latest
	PP_CLIENTS=(1 200 1000)
	PP_LOAD=(-d 5)
	PP_MID=200
	PP_BIG=1000
	RB_CLIENTS=200 RB_REQUESTS=500000
	RB_LOAD=(-d 5)
	IN_CLIENTS=200 IN_MESSAGES=25000
	HOLD_CLIENTS=10000 HOLD_SECS=10
	HOLD_BIG=19000
	INSTALL=install
	BUDGET=270
fi
MSG_SIZE=32            # flood's default message size, '\n' included
ECHO_TIMEOUT_MS=5000   # flood --timeout for echo replies
RSS_TARGET_MB=80

# ---------------------------------------------------------------------------
# State

T=                      # the run's temporary directory
REPORTED=0              # reports written?
STARTED_ISO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_NS=$(now_ns)
FAILURES=()             # what went wrong, one line each
NOTES=()                # skipped measurements and other remarks
RUNS=()                 # one JSON object per run
TARGETS=()              # one JSON object per target
TARGETS_MD=''           # rows of the targets table
SECTIONS_MD=''          # the measurement sections of latest.md
declare -A RATE=() P50=() P99=() OKR=() CMD=() NOTE=()
declare -A HAVE=()      # peers available: redis, rsyslog, go
declare -A VERSIONS=()
declare -A MET=()       # target id -> yes/no/n/a

fail() {
	FAILURES+=("$*")
	warn "FAILED: $*"
}
note() {
	NOTES+=("$*")
	say "$*"
}

# cmd_str ARGS...: the command as one shell-quoted line, with the temporary
# directory written as $TMP.
cmd_str() {
	local s
	s=$(printf '%q ' "$@")
	s=${s% }
	# shellcheck disable=SC2016 # a literal $TMP
	[[ -n $T ]] && s=${s//"$T"/'$TMP'}
	printf '%s' "$s"
}

# in_budget SECS: true if SECS more seconds keep the run within its budget.
in_budget() {
	local used=$SECONDS
	if ((used + $1 > BUDGET)); then
		note "time budget: skipping a ${1}s step at ${used}s of ${BUDGET}s"
		return 1
	fi
}

# fmt_num N [DIGITS]: N with thousands separators and DIGITS (0) decimals,
# or "-" when N is not a number.
fmt_num() {
	is_num "${1-}" || {
		printf -- '-'
		return 0
	}
	awk -v n="$1" -v d="${2:-0}" 'BEGIN {
		s = sprintf("%.*f", d, n); neg = (s ~ /^-/); if (neg) s = substr(s, 2)
		p = index(s, "."); ip = p ? substr(s, 1, p - 1) : s; fp = p ? substr(s, p) : ""
		out = ""
		while (length(ip) > 3) { out = "," substr(ip, length(ip) - 2) out; ip = substr(ip, 1, length(ip) - 3) }
		printf "%s%s%s%s", neg ? "-" : "", ip, out, fp }'
}
# md_cell TEXT: TEXT safe inside a markdown table cell.
md_cell() {
	local s=${1-}
	s=${s//|/\\|}
	printf '%s' "${s//$'\n'/ }"
}
# md_code TEXT: TEXT as inline code in a table cell.
# shellcheck disable=SC2016 # literal backquotes
md_code() { printf '`%s`' "$(md_cell "$1")"; }
# ratio_txt A B: "1.23x" or "-".
ratio_txt() {
	local r
	r=$(ratio "${1-}" "${2-}")
	if [[ -n $r ]]; then printf '%sx' "$r"; else printf -- '-'; fi
}

# target ID DESCRIPTION MEASURED TARGET_TEXT MET: record a target; MET is
# yes, no or n/a (measurement missing).
target() {
	local id=$1 desc=$2 measured=$3 want=$4 met=$5 metj
	MET[$id]=$met
	case $met in yes) metj=true ;; no) metj=false ;; *) metj=null ;; esac
	TARGETS+=("$(json_obj id "$id" description "@raw:$(json_str "$desc")" \
		measured "@raw:$(json_str "$measured")" target "@raw:$(json_str "$want")" met "$metj")")
	local cell=$met
	[[ $met == no ]] && cell='**no**'
	TARGETS_MD+="| $(md_cell "$desc") | $(md_cell "$measured") | $(md_cell "$want") | $cell |"$'\n'
}
met_of() { printf '%s' "${MET[$1]:-n/a}"; }

# yesno CONDITION-COMMAND...: "yes" if it succeeds, "no" if not.
yesno() { if "$@"; then printf yes; else printf no; fi; }

# ---------------------------------------------------------------------------
# Cleanup: stop everything we started, write the reports if the run died
# before doing so, remove the temporary directory.

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [[ -n $T && -d $T ]]; then
		bg_stop_all "$T" 5
	fi
	if ((!REPORTED)); then
		FAILURES+=("the run was interrupted or aborted (exit status $rc) before it finished")
		write_reports aborted
	fi
	if [[ -n $T && -d $T ]]; then
		if [[ ${KEEP_TMP:-0} == 1 ]]; then
			say "kept $T"
		else
			rm -rf -- "$T"
		fi
	fi
	((rc == 0 && ${#FAILURES[@]} > 0)) && rc=1
	exit "$rc"
}

# ---------------------------------------------------------------------------
# Servers.  Each is started in the background with a pid file in $T, and
# sets SRV_PID, SRV_PORT and SRV_CMD.

SRV_PID='' SRV_PORT='' SRV_CMD=''

# _wait_listen NAME REGEX SECS: wait until the server's stderr matches REGEX
# (an ERE with one group: the port), or it dies.  Sets SRV_PORT.
_wait_listen() {
	local name=$1 re=$2 secs=$3 i line
	SRV_PORT=
	for ((i = 0; i < secs * 10; i++)); do
		line=$(grep -m1 -E "$re" "$T/$name.err" 2>/dev/null || true)
		if [[ -n $line ]]; then
			SRV_PORT=$(sed -E "s/.*$re.*/\\1/" <<<"$line")
			is_uint "$SRV_PORT" && return 0
		fi
		bg_alive "$name" "$T" || break
		sleep 0.1
	done
	fail "$name did not start listening: $(tail -n 3 "$T/$name.err" 2>/dev/null | tr '\n' ' ')"
	bg_stop "$name" "$T" 5 || true
	return 1
}

# start_mtserver NAME ARGS...: ./mtserver -b 127.0.0.1 ARGS 0.
start_mtserver() {
	local name=$1
	shift
	local cmd=("$MTSERVER" -b 127.0.0.1 "$@" 0)
	SRV_CMD=$(cmd_str "${cmd[@]}")
	bg_start "$name" "$T" -- "${cmd[@]}"
	SRV_PID=$BG_PID
	_wait_listen "$name" 'listening on 127\.0\.0\.1:([0-9]+)' 10
}

# start_go NAME: the Go echo peer on a port of its choosing.
start_go() {
	local name=$1
	local cmd=("$T/echo" -addr 127.0.0.1:0)
	SRV_CMD=$(cmd_str "${cmd[@]}")
	bg_start "$name" "$T" -- "${cmd[@]}"
	SRV_PID=$BG_PID
	_wait_listen "$name" 'listening on 127\.0\.0\.1:([0-9]+)' 10
}

# start_redis NAME: redis-server with a throw-away configuration (no
# persistence, loopback only) on a free port; three tries in case another
# process takes the port first.
start_redis() {
	local name=$1 try port conf dir
	for ((try = 0; try < 3; try++)); do
		port=$(free_port) || return 1
		dir="$T/$name.d"
		mkdir -p "$dir"
		conf="$dir/redis.conf"
		cat >"$conf" <<-EOF
			# throw-away configuration written by bench/run.sh
			bind 127.0.0.1
			port $port
			protected-mode yes
			daemonize no
			save ""
			appendonly no
			dir $dir
			logfile $dir/redis.log
			maxclients 20000
		EOF
		SRV_CMD=$(cmd_str redis-server "$conf")
		bg_start "$name" "$T" -- redis-server "$conf"
		SRV_PID=$BG_PID SRV_PORT=$port
		wait_port "$port" 10 && bg_alive "$name" "$T" && return 0
		bg_stop "$name" "$T" 5 || true
	done
	fail "$name: redis-server did not start: $(tail -n 3 "$dir/redis.log" 2>/dev/null | tr '\n' ' ')"
	return 1
}

# start_rsyslog NAME OUTFILE QUEUESIZE MAXSESSIONS: rsyslogd in the
# foreground with bench/peers/rsyslog.conf.in and its own work directory.
start_rsyslog() {
	local name=$1 out=$2 qsize=$3 sessions=$4 try port dir conf
	for ((try = 0; try < 3; try++)); do
		port=$(free_port) || return 1
		dir="$T/$name.d"
		mkdir -p "$dir/work"
		conf="$dir/rsyslog.conf"
		sed -e "s|@WORKDIR@|$dir/work|g" -e "s|@PORT@|$port|g" -e "s|@OUTFILE@|$out|g" \
			-e "s|@QUEUESIZE@|$qsize|g" -e "s|@MAXSESSIONS@|$sessions|g" \
			bench/peers/rsyslog.conf.in >"$conf"
		# rsyslogd's own pid file must not end in .pid: $T/*.pid are ours.
		local cmd=(rsyslogd -n -f "$conf" -i "$dir/rsyslogd.pidfile")
		SRV_CMD=$(cmd_str "${cmd[@]}")
		bg_start "$name" "$T" -- "${cmd[@]}"
		SRV_PID=$BG_PID SRV_PORT=$port
		wait_port "$port" 10 && bg_alive "$name" "$T" && return 0
		bg_stop "$name" "$T" 5 || true
	done
	fail "$name: rsyslogd did not start: $(tail -n 3 "$T/$name.err" 2>/dev/null | tr '\n' ' ')"
	return 1
}

# stop_server NAME [strict]: SIGTERM and a bounded wait; with "strict" a
# non-zero exit status is a failure (mtserver must exit 0 on SIGTERM).
stop_server() {
	local rc=0
	bg_stop "$1" "$T" 10 || rc=$?
	if [[ ${2:-} == strict ]] && ((rc != 0)); then
		fail "$1 exited with status $rc on SIGTERM: $(tail -n 2 "$T/$1.err" 2>/dev/null | tr '\n' ' ')"
	fi
	return 0
}

# ---------------------------------------------------------------------------
# flood

FL_RC=0 FL_CMD=''

# run_flood ID SECS ARGS...: flood ARGS --json under timeout(1); JSON on
# $T/ID.json, report on $T/ID.err.  Sets FL_RC and FL_CMD, and records the
# figures: RATE/P50/P99/OKR/CMD[ID].
run_flood() {
	local id=$1 secs=$2
	shift 2
	local cmd=("$FLOOD" "$@" --max-time "$secs" --json)
	FL_CMD=$(cmd_str "${cmd[@]}")
	FL_RC=0
	timeout -k 5 "$((secs + 5))" "${cmd[@]}" >"$T/$id.json" 2>"$T/$id.err" </dev/null || FL_RC=$?
	flood_figures "$id"
}

# flood_figures ID: read $T/ID.json into the tables.
flood_figures() {
	local id=$1 j="$T/$1.json" ok
	CMD[$id]=$FL_CMD
	RATE[$id]=$(json_get "$j" messages_per_s)
	P50[$id]=$(json_get "$j" rtt_us.p50)
	P99[$id]=$(json_get "$j" rtt_us.p99)
	ok=$(json_get "$j" ok)
	if ((FL_RC == 0)) && [[ $ok == true ]]; then
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

# flood_json ID: the flood JSON object of a run (or null), for latest.json.
flood_json() {
	local j="$T/$1.json"
	if [[ -s $j ]] && [[ $(head -c 1 "$j") == '{' ]]; then
		tr -d '\n' <"$j"
	else
		printf 'null'
	fi
}

# add_run ID SECTION TOOL CLIENTS [KEY VALUE ...]: one entry of "runs" in
# latest.json, from the tables plus the given members.
add_run() {
	local id=$1 section=$2 tool=$3 clients=$4
	shift 4
	RUNS+=("$(json_obj id "$id" section "$section" tool "$tool" clients "$clients" \
		ok "${OKR[$id]:-false}" command "@raw:$(json_str "${CMD[$id]:-}")" \
		messages_per_s "${RATE[$id]:-}" p50_us "${P50[$id]:-}" p99_us "${P99[$id]:-}" \
		note "@raw:$(json_str "${NOTE[$id]:-}")" "$@")")
}

# ---------------------------------------------------------------------------
# Machine, versions, peers

machine_info() {
	MACH_NPROC=$(nproc)
	MACH_CPU=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
	MACH_KERNEL=$(uname -sr)
	MACH_MEM_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	MACH_OS=$( (. /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-}") || true)
	LOAD_START=$(loadavg)
}
# Other work on the machine skews every figure: before the run (full runs
# only) wait up to QUIET_WAIT seconds for the CPUs to be mostly idle, and
# before each section record how busy they were over half a second.
QUIET_WAIT=${QUIET_WAIT:-60} QUIET_PCT=20
declare -A BUSY=()
wait_quiet() {
	local i p=''
	((QUICK)) && return 0
	for ((i = 0; i < QUIET_WAIT; i++)); do
		p=$(cpu_busy_pct 1)
		((p < QUIET_PCT)) && break
		((i % 10 == 0)) && say "waiting for a quiet machine: CPUs ${p}% busy"
	done
	if [[ -n $p ]] && ((p >= QUIET_PCT)); then
		note "the machine was still ${p}% busy with other work after ${QUIET_WAIT}s; figures may be skewed"
	fi
	return 0
}
busy_before() { BUSY[$1]=$(cpu_busy_pct 0.5); }
busy_txt() { printf '%s' "CPUs ${BUSY[$1]:-?}% busy with other work just before this section."; }

# loadavg: the 1, 5 and 15 minute load averages; other work on the machine
# during the run skews every figure, so the report shows them.
loadavg() { cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || true; }
LOAD_START='' LOAD_END=

# raise_nofile: as root, raise the hard RLIMIT_NOFILE to 65536 for this
# shell and its children (mtserver, flood, the peers); then the soft limit
# to the hard one.
raise_nofile() {
	local want=65536 hard
	hard=$(ulimit -Hn)
	if [[ $hard =~ ^[0-9]+$ ]] && ((hard < want)) && [[ $(id -u) -eq 0 ]]; then
		ulimit -Hn "$want" 2>/dev/null || say "the hard RLIMIT_NOFILE stays at $hard (raising it is not permitted here)"
	fi
	ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
	NOFILE=$(ulimit -n)
}

first_line() { "$@" 2>&1 | head -n 1 || true; }

collect_versions() {
	VERSIONS[mtserver]=$(first_line "$MTSERVER" -V)
	VERSIONS[flood]=$(first_line "$FLOOD" -V)
	VERSIONS[git]=$(git describe --always --dirty 2>/dev/null || echo unknown)
	VERSIONS[cc]=$(first_line "${CC:-cc}" --version)
	VERSIONS[bash]=$BASH_VERSION
	if [[ -n ${HAVE[redis]:-} ]]; then
		VERSIONS[redis-server]=$(first_line redis-server --version)
		VERSIONS[redis-benchmark]=$(first_line redis-benchmark --version)
	fi
	if [[ -n ${HAVE[rsyslog]:-} ]]; then
		VERSIONS[rsyslogd]=$(first_line rsyslogd -v | sed -E 's/ +compiled with:.*//; s/  +/ /g')
	fi
	[[ -n ${HAVE[go]:-} ]] && VERSIONS[go]=$(first_line go version)
	return 0
}

# find_peers: install (full run, root) or detect the peers; build the Go
# echo server.
find_peers() {
	if need_cmd redis-server redis-server "$INSTALL" && need_cmd redis-benchmark redis-tools "$INSTALL"; then
		HAVE[redis]=1
	else
		note "redis-server/redis-benchmark unavailable: skipping the redis comparisons"
	fi
	if need_cmd rsyslogd rsyslog "$INSTALL"; then
		HAVE[rsyslog]=1
	else
		note "rsyslogd unavailable: skipping the rsyslog comparison"
	fi
	if need_cmd go golang-go "$INSTALL"; then
		# Standard library only: GOPATH mode, no module or toolchain
		# downloads; the build cache is kept under build/ between runs.
		mkdir -p "$GO_CACHE_DIR" "$T/gopath"
		if timeout 180 env GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS= \
			CGO_ENABLED=0 GOCACHE="$GO_CACHE_DIR" GOPATH="$T/gopath" \
			go build -o "$T/echo" bench/peers/echo.go >"$T/go-build.log" 2>&1; then
			HAVE[go]=1
		else
			fail "go build bench/peers/echo.go failed: $(head -n 3 "$T/go-build.log" | tr '\n' ' ')"
		fi
	else
		note "go unavailable: skipping the Go echo server comparisons"
	fi
}

# ---------------------------------------------------------------------------
# 1. Ping-pong

# pp_run TOOL CLIENTS PORT EXTRA...: one ping-pong run.
pp_run() {
	local tool=$1 c=$2 port=$3 id="pp_${1}_$2"
	shift 3
	run_flood "$id" 60 -n "$c" -p "$port" --echo --payload PING \
		--timeout "$ECHO_TIMEOUT_MS" "${PP_LOAD[@]}" "$@"
	[[ ${OKR[$id]} == true ]] || fail "ping-pong $tool $c clients: ${NOTE[$id]}"
	add_run "$id" pingpong "$tool" "$c" flood "@raw:$(flood_json "$id")"
	say "ping-pong $tool $c clients: $(fmt_num "${RATE[$id]:-}") msgs/s, p50 ${P50[$id]:--} us, p99 ${P99[$id]:--} us"
}

section_pingpong() {
	local -A srv=() port=()
	local c tool
	say "1. ping-pong: ${PP_CLIENTS[*]} clients"
	# All three servers run side by side (idle ones cost nothing) and the
	# runs alternate between them at each client count, so that a change in
	# the machine's load during the run affects them alike.
	if start_mtserver pp_mtserver --echo -q -l "$T/pp_mtserver.log"; then
		srv[mtserver]=$SRV_CMD port[mtserver]=$SRV_PORT
	fi
	if [[ -n ${HAVE[redis]:-} ]] && start_redis pp_redis; then
		srv[redis]=$SRV_CMD port[redis]=$SRV_PORT
	fi
	if [[ -n ${HAVE[go]:-} ]] && start_go pp_go; then
		srv[go]=$SRV_CMD port[go]=$SRV_PORT
	fi
	for c in "${PP_CLIENTS[@]}"; do
		for tool in mtserver redis go; do
			[[ -n ${port[$tool]:-} ]] || continue
			in_budget 15 || break 2
			if [[ $tool == redis ]]; then
				pp_run "$tool" "$c" "${port[$tool]}" --reply-any-line
			else
				pp_run "$tool" "$c" "${port[$tool]}"
			fi
		done
	done
	[[ -n ${port[mtserver]:-} ]] && stop_server pp_mtserver strict
	[[ -n ${port[redis]:-} ]] && stop_server pp_redis
	[[ -n ${port[go]:-} ]] && stop_server pp_go

	# Targets.
	local m r g
	m=${RATE[pp_mtserver_$PP_MID]:-} r=${RATE[pp_redis_$PP_MID]:-} g=${RATE[pp_go_$PP_MID]:-}
	target pp_mid_vs_redis "ping-pong, $PP_MID clients: mtserver msgs/s vs redis-server" \
		"$(ratio_txt "$m" "$r")" ">= 0.8x" "$(if [[ -n $(ratio "$m" "$r") ]]; then yesno num_ge "$(ratio "$m" "$r" 4)" 0.8; else echo n/a; fi)"
	target pp_mid_vs_go "ping-pong, $PP_MID clients: mtserver msgs/s vs Go echo" \
		"$(ratio_txt "$m" "$g")" "> 1x" "$(if [[ -n $(ratio "$m" "$g") ]]; then yesno num_gt "$m" "$g"; else echo n/a; fi)"
	if [[ -n $PP_BIG ]]; then
		m=${RATE[pp_mtserver_$PP_BIG]:-} g=${RATE[pp_go_$PP_BIG]:-}
		target pp_big_vs_go "ping-pong, $PP_BIG clients: mtserver msgs/s vs Go echo" \
			"$(ratio_txt "$m" "$g")" "> 1x" "$(if [[ -n $(ratio "$m" "$g") ]]; then yesno num_gt "$m" "$g"; else echo n/a; fi)"
	fi
	m=${P50[pp_mtserver_1]:-} r=${P50[pp_redis_1]:-}
	target pp_1_p50 "ping-pong, 1 client: mtserver p50 round trip vs redis-server" \
		"${m:--} us vs ${r:--} us" "<= redis" "$(if is_num "$m" && is_num "$r"; then yesno num_le "$m" "$r"; else echo n/a; fi)"

	# Table.
	local md c tool id rt tg mt
	md="## 1. Ping-pong (echo round trips)"$'\n\n'
	md+="Each client sends \`PING\` and waits for the reply before sending the next"
	md+=" (\`flood --echo\`, ${PP_LOAD[*]}, $ECHO_TIMEOUT_MS ms reply timeout)."
	md+=" msgs/s is replies per second over all clients; p50/p99 are round-trip latencies."
	md+=" Ratios are mtserver ÷ the peer in this run. $(busy_txt pingpong)"$'\n\n'
	md+="| clients | tool | command | msgs/s | p50 µs | p99 µs | ratio vs peer | target | met? |"$'\n'
	md+="|---:|---|---|---:|---:|---:|---|---|---|"$'\n'
	for c in "${PP_CLIENTS[@]}"; do
		for tool in mtserver redis go; do
			id="pp_${tool}_$c"
			[[ -n ${CMD[$id]:-} ]] || continue
			rt='' tg='' mt=''
			if [[ $tool == mtserver ]]; then
				rt="$(ratio_txt "${RATE[$id]:-}" "${RATE[pp_redis_$c]:-}") redis, $(ratio_txt "${RATE[$id]:-}" "${RATE[pp_go_$c]:-}") Go"
				if [[ $c == "$PP_MID" ]]; then
					tg=">= 0.8x redis; > 1x Go"
					mt="$(met_of pp_mid_vs_redis); $(met_of pp_mid_vs_go)"
				elif [[ $c == "$PP_BIG" ]]; then
					tg="> 1x Go" mt=$(met_of pp_big_vs_go)
				elif [[ $c == 1 ]]; then
					tg="p50 <= redis p50" mt=$(met_of pp_1_p50)
				fi
			fi
			local label=$tool
			[[ ${OKR[$id]} == true ]] || label="$tool (FAILED: ${NOTE[$id]:-})"
			md+="| $c | $(md_cell "$label") | $(md_code "${CMD[$id]}") | $(fmt_num "${RATE[$id]:-}") | $(fmt_num "${P50[$id]:-}") | $(fmt_num "${P99[$id]:-}") | $rt | $tg | ${mt//no/**no**} |"$'\n'
		done
	done
	md+=$'\n'"Servers:"$'\n\n'
	for tool in mtserver redis go; do
		[[ -n ${srv[$tool]:-} ]] && md+="- $tool: \`${srv[$tool]}\`"$'\n'
	done
	SECTIONS_MD+=$md$'\n'
}

# ---------------------------------------------------------------------------
# 2. redis-benchmark vs flood against the same redis-server

section_loadgen() {
	say "2. load generators: redis-benchmark vs flood, $RB_CLIENTS clients"
	if [[ -z ${HAVE[redis]:-} ]]; then
		note "section 2 skipped: no redis"
		SECTIONS_MD+="## 2. Load generators: redis-benchmark vs flood"$'\n\n'"Skipped: redis-server/redis-benchmark not available."$'\n\n'
		target rb_flood "flood vs redis-benchmark ping_inline, $RB_CLIENTS clients (same redis-server)" "-" ">= 1.5x" n/a
		return 0
	fi
	in_budget 30 || return 0
	start_redis rb_redis || return 0
	local port=$SRV_PORT srvcmd=$SRV_CMD id=rb_redis_benchmark line rc=0
	local cmd=(redis-benchmark -h 127.0.0.1 -p "$port" -t ping_inline -c "$RB_CLIENTS" -n "$RB_REQUESTS" --csv)
	CMD[$id]=$(cmd_str "${cmd[@]}")
	timeout -k 5 120 "${cmd[@]}" >"$T/$id.csv" 2>"$T/$id.err" </dev/null || rc=$?
	# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
	line=$(grep -m1 '^"PING_INLINE"' "$T/$id.csv" || true)
	if ((rc == 0)) && [[ -n $line ]]; then
		IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"${line//\"/}"
		RATE[$id]=$rps
		P50[$id]=$(awk -v v="$p50" 'BEGIN { printf "%.0f", v * 1000 }')
		P99[$id]=$(awk -v v="$p99" 'BEGIN { printf "%.0f", v * 1000 }')
		OKR[$id]=true
	else
		OKR[$id]=false NOTE[$id]="redis-benchmark exit $rc"
		fail "redis-benchmark: exit $rc: $(tail -n 2 "$T/$id.err" | tr '\n' ' ')"
	fi
	add_run "$id" loadgen redis-benchmark "$RB_CLIENTS"
	say "redis-benchmark: $(fmt_num "${RATE[$id]:-}") requests/s"

	local fid=rb_flood
	run_flood "$fid" 60 -n "$RB_CLIENTS" -p "$port" --echo --payload PING --reply-any-line \
		--timeout "$ECHO_TIMEOUT_MS" "${RB_LOAD[@]}"
	[[ ${OKR[$fid]} == true ]] || fail "flood against redis: ${NOTE[$fid]}"
	add_run "$fid" loadgen flood "$RB_CLIENTS" flood "@raw:$(flood_json "$fid")"
	say "flood: $(fmt_num "${RATE[$fid]:-}") msgs/s"
	stop_server rb_redis

	local r
	r=$(ratio "${RATE[$fid]:-}" "${RATE[$id]:-}" 4)
	target rb_flood "flood vs redis-benchmark ping_inline, $RB_CLIENTS clients (same redis-server)" \
		"$(ratio_txt "${RATE[$fid]:-}" "${RATE[$id]:-}")" ">= 1.5x" "$(if [[ -n $r ]]; then yesno num_ge "$r" 1.5; else echo n/a; fi)"

	local md
	md="## 2. Load generators: redis-benchmark vs flood"$'\n\n'
	md+="Both drive the same redis-server (\`$srvcmd\`) with $RB_CLIENTS connections of inline \`PING\`,"
	md+=" one request in flight per connection. redis-benchmark's p50/p99 are converted from ms. $(busy_txt loadgen)"$'\n\n'
	md+="| tool | command | requests/s | p50 µs | p99 µs | ratio (flood ÷ redis-benchmark) | target | met? |"$'\n'
	md+="|---|---|---:|---:|---:|---|---|---|"$'\n'
	md+="| redis-benchmark | $(md_code "${CMD[$id]}") | $(fmt_num "${RATE[$id]:-}") | $(fmt_num "${P50[$id]:-}") | $(fmt_num "${P99[$id]:-}") | | | |"$'\n'
	md+="| flood | $(md_code "${CMD[$fid]}") | $(fmt_num "${RATE[$fid]:-}") | $(fmt_num "${P50[$fid]:-}") | $(fmt_num "${P99[$fid]:-}") | $(ratio_txt "${RATE[$fid]:-}" "${RATE[$id]:-}") | >= 1.5x | $(met_of rb_flood | sed 's/^no$/**no**/') |"$'\n'
	SECTIONS_MD+=$md$'\n'
}

# ---------------------------------------------------------------------------
# 3. One-way ingest

# wait_settled FILE EXPECT_BYTES STABLE_S MAX_S: wait until FILE reaches
# EXPECT_BYTES (if given) or has not grown for STABLE_S seconds, at most
# MAX_S seconds.  Sets SETTLED_NS to the file's last modification time
# (nanoseconds since the epoch), i.e. when the last line was written.
SETTLED_NS=''
wait_settled() {
	local file=$1 expect=$2 stable=$3 max=$4 i size last=-1 still=0
	local need=$((${stable%.*} * 10)) tries=$((max * 10))
	for ((i = 0; i < tries; i++)); do
		size=$(stat -c %s "$file" 2>/dev/null || echo 0)
		if [[ -n $expect ]] && ((size >= expect)); then
			break
		fi
		if ((size == last)); then
			still=$((still + 1))
			((still >= need)) && break
		else
			still=0 last=$size
		fi
		sleep 0.1
	done
	SETTLED_NS=$(stat -c %.9Y "$file" 2>/dev/null | tr -d .)
}

section_ingest() {
	local n=$IN_CLIENTS m=$IN_MESSAGES total=$((IN_CLIENTS * IN_MESSAGES))
	say "3. one-way ingest: $n clients x $m messages"
	local id=in_mtserver log="$T/ingest_mtserver.log" t0 secs srvcmd='' vrc=0 vcmd lines=''
	local flood_timeout=120
	if in_budget 60 && start_mtserver "$id" --no-udp -l "$log"; then
		srvcmd=$SRV_CMD
		t0=$(now_ns)
		run_flood "$id" "$flood_timeout" -n "$n" -m "$m" -p "$SRV_PORT"
		wait_settled "$log" "" 1 60
		stop_server "$id" strict
		secs=$(elapsed_s "$t0" "$SETTLED_NS")
		SEND_RATE[$id]=${RATE[$id]:-}
		RATE[$id]=$(awk -v n="$total" -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", n / s }')
		[[ ${OKR[$id]} == true ]] || fail "ingest mtserver: ${NOTE[$id]}"
		vcmd=(timeout -k 5 120 "$FLOOD" --verify-log "$log" -n "$n" -m "$m")
		VCMD=$(cmd_str "${vcmd[@]:4}")
		"${vcmd[@]}" >"$T/verify.out" 2>&1 || vrc=$?
		lines=$(awk '$1 == "found" { print $2 }' "$T/verify.out")
		if ((vrc == 0)); then
			VERIFY="OK: all $(fmt_num "$total") lines exactly once"
		else
			VERIFY="FAILED (exit $vrc): $(grep -E '^ *(missing|duplicated|corrupted) ' "$T/verify.out" | tr -s ' ' | tr '\n' ';')"
			OKR[$id]=false NOTE[$id]="verify-log $VERIFY"
			fail "ingest mtserver: flood --verify-log: $VERIFY"
		fi
		LOGGED[$id]=${lines:-}
		LOST[$id]=$(if is_uint "$lines"; then echo $((total - lines)); fi)
		ELAPSED[$id]=$secs
		add_run "$id" ingest mtserver "$n" messages "$total" logged_per_s "${RATE[$id]}" \
			elapsed_s "$secs" flood_send_per_s "${SEND_RATE[$id]:-}" lines_logged "${lines:-}" \
			verify_command "@raw:$(json_str "$VCMD")" verify_ok "$( ((vrc == 0)) && echo true || echo false)" \
			flood "@raw:$(flood_json "$id")"
		say "ingest mtserver: $(fmt_num "${RATE[$id]}") lines/s logged (flood sent at $(fmt_num "${SEND_RATE[$id]:-}")/s); verify: $VERIFY"
		rm -f "$log"
	fi

	local rid=in_rsyslog out="$T/ingest_rsyslog.out" rsrv=
	if [[ -n ${HAVE[rsyslog]:-} ]] && in_budget 90 &&
		start_rsyslog "$rid" "$out" 1000000 $((n * 10 + 100)); then
		rsrv=$SRV_CMD
		# rsyslogd listens a moment before it accepts and processes: send
		# one probe line and wait until it is in the file, so the timing
		# starts with a ready server.  The probe is not counted.
		local probe='bench-ready'
		# shellcheck disable=SC2016 # expanded by the inner bash
		timeout 5 bash -c 'printf "%s\n" "$1" >"/dev/tcp/127.0.0.1/$2"' _ "$probe" "$SRV_PORT" ||
			warn "rsyslog readiness probe could not connect"
		wait_until 10 test -s "$out" || warn "rsyslog did not write the probe line within 10s"
		t0=$(now_ns)
		run_flood "$rid" "$flood_timeout" -n "$n" -m "$m" -p "$SRV_PORT"
		wait_settled "$out" $((total * MSG_SIZE + ${#probe} + 1)) 2 120
		lines=$(grep -cv "^$probe\$" "$out" 2>/dev/null || true)
		stop_server "$rid"
		secs=$(elapsed_s "$t0" "$SETTLED_NS")
		SEND_RATE[$rid]=${RATE[$rid]:-}
		RATE[$rid]=$(awk -v n="$lines" -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", n / s }')
		LOGGED[$rid]=$lines LOST[$rid]=$((total - lines)) ELAPSED[$rid]=$secs
		[[ ${OKR[$rid]} == true ]] || fail "ingest rsyslog: ${NOTE[$rid]}"
		if ((lines != total)); then
			OKR[$rid]=false NOTE[$rid]="rsyslog wrote $lines of $total lines"
			fail "ingest rsyslog: wrote $lines of $total lines"
		fi
		add_run "$rid" ingest rsyslogd "$n" messages "$total" logged_per_s "${RATE[$rid]}" \
			elapsed_s "$secs" flood_send_per_s "${SEND_RATE[$rid]:-}" lines_logged "$lines" \
			flood "@raw:$(flood_json "$rid")"
		say "ingest rsyslog: $(fmt_num "${RATE[$rid]}") lines/s, $lines of $total lines"
		rm -f "$out"
	fi

	local r
	r=$(ratio "${RATE[$id]:-}" "${RATE[$rid]:-}" 4)
	target in_vs_rsyslog "one-way ingest, $n clients x $(fmt_num "$m"): mtserver lines/s vs rsyslogd" \
		"$(ratio_txt "${RATE[$id]:-}" "${RATE[$rid]:-}")" ">= 5x" "$(if [[ -n $r ]]; then yesno num_ge "$r" 5; else echo n/a; fi)"

	local md t label
	md="## 3. One-way ingest (log every line to a file)"$'\n\n'
	md+="$n clients each send $(fmt_num "$m") lines of $MSG_SIZE bytes ($(fmt_num "$total") lines) as fast as TCP lets them."
	md+=" lines/s = lines ÷ the time from starting flood to the last write to the output file"
	md+=" (its mtime once it stops growing), so it counts what was written, not what was sent."
	md+=" rsyslogd's output is counted with \`wc -l\`; mtserver's log is checked line by line with \`flood --verify-log\`."
	md+=" Both times include the server's own write-behind: mtserver's flusher thread writes buffered lines at"
	md+=" least every LOG_FLUSH_MS (include/log.h), rsyslogd's omfile at the end of each dequeued batch. $(busy_txt ingest)"$'\n\n'
	md+="| tool | command | lines/s (logged) | seconds | flood send rate | lines logged | lost | ratio vs rsyslogd | target | met? |"$'\n'
	md+="|---|---|---:|---:|---:|---:|---:|---|---|---|"$'\n'
	for t in "$id" "$rid"; do
		[[ -n ${CMD[$t]:-} ]] || continue
		label=${t#in_}
		[[ ${OKR[$t]} == true ]] || label="$label (FAILED: ${NOTE[$t]:-})"
		if [[ $t == "$id" ]]; then
			md+="| $(md_cell "$label") | $(md_code "${CMD[$t]}") | $(fmt_num "${RATE[$t]:-}") | ${ELAPSED[$t]:-} | $(fmt_num "${SEND_RATE[$t]:-}") | $(fmt_num "${LOGGED[$t]:-}") | ${LOST[$t]:--} | $(ratio_txt "${RATE[$id]:-}" "${RATE[$rid]:-}") | >= 5x | $(met_of in_vs_rsyslog | sed 's/^no$/**no**/') |"$'\n'
		else
			md+="| $(md_cell "$label") | $(md_code "${CMD[$t]}") | $(fmt_num "${RATE[$t]:-}") | ${ELAPSED[$t]:-} | $(fmt_num "${SEND_RATE[$t]:-}") | $(fmt_num "${LOGGED[$t]:-}") | ${LOST[$t]:--} | | | |"$'\n'
		fi
	done
	md+=$'\n'"Servers and checks:"$'\n\n'
	[[ -n $srvcmd ]] && md+="- mtserver: \`$srvcmd\`; then \`${VCMD:-}\`: ${VERIFY:-not run}"$'\n'
	[[ -n $rsrv ]] && md+="- rsyslogd: \`$rsrv\` with [bench/peers/rsyslog.conf.in](../peers/rsyslog.conf.in) (imtcp → omfile, template \`%rawmsg%\\n\`; tuned for throughput: in-memory main queue of 1,000,000 that discards nothing, dequeue batches of 4,096, 256 KB write buffer, listen backlog raised through maxSessions)"$'\n'
	SECTIONS_MD+=$md$'\n'
}
declare -A SEND_RATE=() LOGGED=() LOST=() ELAPSED=()
VCMD='' VERIFY=''

# ---------------------------------------------------------------------------
# 4. Memory with idle clients

declare -A HELD=() PEAK=() RSS=() HWM=() BASE_RSS=() AFTER_RSS=() THREADS=()

# measure_hold ID SERVER_NAME CLIENTS SECS: flood --hold against the server
# started last (SRV_PID, SRV_PORT); while it holds, sample the server's open
# sockets and VmRSS every 0.2 s.  Records PEAK (most sockets seen, less
# those open before), RSS (largest VmRSS seen at that peak), HWM (VmHWM
# after), AFTER_RSS (VmRSS once the clients have gone and the server has
# closed their sockets, or after 10 s), THREADS and HELD (flood's
# connections_held).
measure_hold() {
	local id=$1 name=$2 n=$3 secs=$4 pid=$SRV_PID port=$SRV_PORT
	local base s peak=0 rss=0 r thr='' i max limit
	limit=$((secs + 90))
	base=$(sockets_of "$pid")
	BASE_RSS[$id]=$(rss_kb "$pid")
	local cmd=("$FLOOD" -n "$n" -p "$port" --hold "$secs" --timeout 10000 --max-time "$limit" --json)
	FL_CMD=$(cmd_str "${cmd[@]}")
	bg_start "flood_$id" "$T" --stdout "$T/$id.json" --stderr "$T/$id.err" -- \
		timeout -k 5 "$limit" "${cmd[@]}"
	max=$((limit * 5 + 50))
	for ((i = 0; i < max; i++)); do
		bg_alive "flood_$id" "$T" || break
		bg_alive "$name" "$T" || break
		s=$(($(sockets_of "$pid") - base))
		if ((s > peak)); then
			peak=$s rss=$(rss_kb "$pid") thr=$(threads_of "$pid")
		elif ((s == peak && s > 0)); then
			r=$(rss_kb "$pid")
			if is_uint "$r" && ((r > rss)); then rss=$r; fi
		fi
		sleep 0.2
	done
	FL_RC=0
	bg_stop "flood_$id" "$T" 10 || FL_RC=$?
	for ((i = 0; i < 100; i++)); do
		(($(sockets_of "$pid") <= base)) && break
		sleep 0.1
	done
	AFTER_RSS[$id]=$(rss_kb "$pid")
	HWM[$id]=$(hwm_kb "$pid")
	PEAK[$id]=$peak RSS[$id]=$rss THREADS[$id]=$thr
	flood_figures "$id"
	HELD[$id]=$(json_get "$T/$id.json" connections_held)
}

# mem_row ID TOOL: the markdown row for a hold measurement.
mem_row() {
	local id=$1 tool=$2 label=$2 per=''
	[[ -n ${CMD[$id]:-} ]] || return 0
	[[ ${OKR[$id]} == true ]] || label="$tool (flood: ${NOTE[$id]:-})"
	if is_uint "${RSS[$id]:-}" && is_uint "${BASE_RSS[$id]:-}" && is_uint "${PEAK[$id]:-}" && ((PEAK[$id] > 0)); then
		per=$(awk -v a="${RSS[$id]}" -v b="${BASE_RSS[$id]}" -v n="${PEAK[$id]}" 'BEGIN { printf "%.1f", (a - b) / n }')
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$(md_cell "$label")" "$(md_code "${CMD[$id]}")" \
		"$(fmt_num "${HELD[$id]:-}")" "$(fmt_num "${PEAK[$id]:-}")" "$(kb_mb "${RSS[$id]:-}")" \
		"$(kb_mb "${HWM[$id]:-}")" "$(kb_mb "${AFTER_RSS[$id]:-}")" "${per:--}" "${THREADS[$id]:--}" "$3"
}
kb_mb() { if is_num "${1-}"; then awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; else printf -- '-'; fi; }

section_memory() {
	local n=$HOLD_CLIENTS secs=$HOLD_SECS id srv_m='' srv_g='' srv_b=''
	say "4. memory: $n idle clients for ${secs}s"
	id=mem_mtserver
	if in_budget $((secs + 20)) && start_mtserver "$id" -q --no-udp --idle-timeout 0 -l "$T/$id.log"; then
		srv_m=$SRV_CMD
		measure_hold "hold_mtserver_$n" "$id" "$n" "$secs"
		stop_server "$id" strict
		[[ ${OKR[hold_mtserver_$n]} == true ]] || fail "hold $n against mtserver: ${NOTE[hold_mtserver_$n]}"
		say "hold mtserver: ${HELD[hold_mtserver_$n]:-?} held, VmRSS $(kb_mb "${RSS[hold_mtserver_$n]}") MB, $(fmt_num "${THREADS[hold_mtserver_$n]:-}") threads; $(kb_mb "${AFTER_RSS[hold_mtserver_$n]:-}") MB after they left"
	fi
	id=mem_go
	if [[ -n ${HAVE[go]:-} ]] && in_budget $((secs + 20)) && start_go "$id"; then
		srv_g=$SRV_CMD
		measure_hold "hold_go_$n" "$id" "$n" "$secs"
		stop_server "$id"
		[[ ${OKR[hold_go_$n]} == true ]] || fail "hold $n against the Go peer: ${NOTE[hold_go_$n]}"
		say "hold go: ${HELD[hold_go_$n]:-?} held, VmRSS $(kb_mb "${RSS[hold_go_$n]}") MB; $(kb_mb "${AFTER_RSS[hold_go_$n]:-}") MB after they left"
	fi
	local big=$HOLD_BIG
	if [[ -n $big ]]; then
		# Keep a few descriptors for flood's own use.
		if ((NOFILE < big + 64)); then
			note "RLIMIT_NOFILE is $NOFILE: holding $((NOFILE - 64)) instead of $big clients"
			big=$((NOFILE - 64))
		fi
		id=mem_big
		if in_budget $((secs + 40)) && start_mtserver "$id" -q --no-udp --idle-timeout 0 -l "$T/$id.log"; then
			srv_b=$SRV_CMD
			measure_hold "hold_mtserver_$big" "$id" "$big" "$secs"
			stop_server "$id" strict
			# Not holding them all is a figure, not a failed run, as long
			# as flood itself reported.
			if [[ -z ${HELD[hold_mtserver_$big]:-} ]]; then
				fail "hold $big against mtserver: ${NOTE[hold_mtserver_$big]:-no report}"
			fi
			say "hold mtserver $big: ${HELD[hold_mtserver_$big]:-?} held, VmRSS $(kb_mb "${RSS[hold_mtserver_$big]}") MB"
		fi
	fi

	local hid=hold_mtserver_$n rss_mb
	rss_mb=$(kb_mb "${RSS[$hid]:-}")
	target mem_rss "$(fmt_num "$n") idle clients: mtserver VmRSS while held" "$rss_mb MB" "<= $RSS_TARGET_MB MB" \
		"$(if is_num "$rss_mb" && [[ ${HELD[$hid]:-0} == "$n" ]]; then yesno num_le "$rss_mb" "$RSS_TARGET_MB"; else echo n/a; fi)"
	if [[ -n $big ]]; then
		target mem_big "$(fmt_num "$big") idle clients: how many mtserver holds" \
			"$(fmt_num "${HELD[hold_mtserver_$big]:-}") held" "all $(fmt_num "$big")" \
			"$(if is_uint "${HELD[hold_mtserver_$big]:-}"; then yesno test "${HELD[hold_mtserver_$big]}" -eq "$big"; else echo n/a; fi)"
	fi
	for id in "hold_mtserver_$n" "hold_go_$n" ${big:+"hold_mtserver_$big"}; do
		[[ -n ${CMD[$id]:-} ]] || continue
		add_run "$id" memory "${id%_*}" "${id##*_}" connections_held "${HELD[$id]:-}" \
			server_sockets_peak "${PEAK[$id]:-}" vmrss_kb "${RSS[$id]:-}" vmhwm_kb "${HWM[$id]:-}" \
			vmrss_before_kb "${BASE_RSS[$id]:-}" vmrss_after_kb "${AFTER_RSS[$id]:-}" threads "${THREADS[$id]:-}" flood "@raw:$(flood_json "$id")"
	done

	local md met
	md="## 4. Memory with idle clients"$'\n\n'
	md+="flood connects every client, stays idle ${secs} s, then closes (\`--hold\`). While it holds, the bench reads"
	md+=" the server's open sockets and VmRSS from /proc/PID every 0.2 s: VmRSS is the largest value seen at the"
	md+=" peak socket count; VmHWM is the peak over the server's life (fresh server per row); *after* is VmRSS"
	md+=" once the clients have left and the server has closed their sockets (what it gives back). KB/conn ="
	md+=" (VmRSS − VmRSS before) ÷ sockets. RLIMIT_NOFILE for all processes: $NOFILE. $(busy_txt memory)"$'\n\n'
	md+="| tool | command | held (flood) | server sockets | VmRSS MB | VmHWM MB | after MB | KB/conn | threads | target |"$'\n'
	md+="|---|---|---:|---:|---:|---:|---:|---:|---:|---|"$'\n'
	met=$(met_of mem_rss | sed 's/^no$/**no**/')
	md+="$(mem_row "hold_mtserver_$n" mtserver "VmRSS <= $RSS_TARGET_MB MB: $met")"$'\n'
	if [[ -n ${CMD[hold_go_$n]:-} ]]; then md+="$(mem_row "hold_go_$n" "Go echo" "")"$'\n'; fi
	if [[ -n $big && -n ${CMD[hold_mtserver_$big]:-} ]]; then
		met=$(met_of mem_big | sed 's/^no$/**no**/')
		md+="$(mem_row "hold_mtserver_$big" mtserver "all $(fmt_num "$big") held: $met")"$'\n'
	fi
	md+=$'\n'"Servers:"$'\n\n'
	[[ -n $srv_m ]] && md+="- mtserver: \`$srv_m\`"$'\n'
	[[ -n $srv_g ]] && md+="- Go echo: \`$srv_g\`"$'\n'
	[[ -n $srv_b ]] && md+="- mtserver ($(fmt_num "$big")): \`$srv_b\`"$'\n'
	SECTIONS_MD+=$md$'\n'
}

# ---------------------------------------------------------------------------
# Reports

# shellcheck disable=SC2016 # the markdown has literal backquotes and $TMP
write_reports() {
	local status=$1 base="$RESULTS_DIR/$OUT_NAME" dur k f
	dur=$(elapsed_s "$START_NS")
	LOAD_END=$(loadavg)
	mkdir -p "$RESULTS_DIR"

	# latest.json
	local versions_json=() failures_json=() notes_json=()
	for k in "${!VERSIONS[@]}"; do versions_json+=("$k" "@raw:$(json_str "${VERSIONS[$k]}")"); done
	for f in "${FAILURES[@]}"; do failures_json+=("$(json_str "$f")"); done
	for f in "${NOTES[@]}"; do notes_json+=("$(json_str "$f")"); done
	{
		printf '{\n'
		printf '  "schema": "mtserver-bench/1",\n'
		printf '  "quick": %s,\n' "$( ((QUICK)) && echo true || echo false)"
		printf '  "status": %s,\n' "$(json_str "$status")"
		printf '  "started": %s,\n' "$(json_str "$STARTED_ISO")"
		printf '  "duration_s": %s,\n' "$dur"
		printf '  "machine": %s,\n' "$(json_obj nproc "${MACH_NPROC:-}" cpu_model "@raw:$(json_str "${MACH_CPU:-}")" \
			kernel "@raw:$(json_str "${MACH_KERNEL:-}")" mem_total_kb "${MACH_MEM_KB:-}" \
			os "@raw:$(json_str "${MACH_OS:-}")" rlimit_nofile "${NOFILE:-}" \
			loadavg_start "@raw:$(json_str "$LOAD_START")" loadavg_end "@raw:$(json_str "$LOAD_END")" \
			cpu_busy_pct_before "$(json_obj pingpong "${BUSY[pingpong]:-}" loadgen "${BUSY[loadgen]:-}" \
				ingest "${BUSY[ingest]:-}" memory "${BUSY[memory]:-}")")"
		printf '  "versions": %s,\n' "$(json_obj "${versions_json[@]}")"
		printf '  "targets": %s,\n' "$(json_arr "${TARGETS[@]}")"
		printf '  "runs": [\n'
		local sep=''
		for f in "${RUNS[@]}"; do
			printf '%s    %s' "$sep" "$f"
			sep=$',\n'
		done
		printf '\n  ],\n'
		printf '  "failures": %s,\n' "$(json_arr "${failures_json[@]}")"
		printf '  "notes": %s\n' "$(json_arr "${notes_json[@]}")"
		printf '}\n'
	} >"$base.json.tmp"
	mv -f "$base.json.tmp" "$base.json"

	# latest.md
	{
		printf '# mtserver benchmark%s\n\n' "$( ((QUICK)) && echo ' (QUICK smoke run: tiny counts, figures not meaningful)')"
		printf 'Status: **%s**. Started %s, took %s s. Written by `%s` (bench/run.sh).\n\n' \
			"$status" "$STARTED_ISO" "$dur" "$( ((QUICK)) && echo 'make bench QUICK=1' || echo 'make bench')"
		printf 'Every figure below was measured in this one run, on this machine, over 127.0.0.1,'
		printf ' with mtserver and each peer started by the script on a free port with a throw-away'
		printf ' configuration. Ratios compare mtserver (or flood) with the peer in the same run;'
		printf ' they are not absolute claims. flood runs on the same %s CPUs as the server it drives' "${MACH_NPROC:-?}"
		printf ' (with as many event-loop threads), so the load generator and the server compete for them'
		printf ' in every measurement, peers included. $TMP is the run'"'"'s mktemp directory; ports are those of this run.\n\n'
		printf '## Machine\n\n| | |\n|---|---|\n'
		printf '| CPUs (nproc) | %s |\n| CPU model | %s |\n| kernel | %s |\n| memory | %s MB |\n| OS | %s |\n| RLIMIT_NOFILE | %s |\n| load average before / after (after includes the bench itself) | %s / %s |\n\n' \
			"${MACH_NPROC:-}" "$(md_cell "${MACH_CPU:-}")" "$(md_cell "${MACH_KERNEL:-}")" \
			"$(fmt_num "$(awk -v k="${MACH_MEM_KB:-0}" 'BEGIN { printf "%d", k / 1024 }')")" \
			"$(md_cell "${MACH_OS:-}")" "${NOFILE:-}" "$LOAD_START" "$LOAD_END"
		printf '## Versions\n\n| tool | version |\n|---|---|\n'
		for k in mtserver flood git cc bash redis-server redis-benchmark rsyslogd go; do
			[[ -n ${VERSIONS[$k]:-} ]] && printf '| %s | %s |\n' "$k" "$(md_cell "${VERSIONS[$k]}")"
		done
		printf '\n## Targets\n\nReported, not enforced: a missed target does not fail the run.\n\n'
		printf '| target | measured | wanted | met? |\n|---|---|---|---|\n%s\n' "$TARGETS_MD"
		printf '%s' "$SECTIONS_MD"
		if ((${#FAILURES[@]})); then
			printf '## Failures\n\n'
			for f in "${FAILURES[@]}"; do printf -- '- %s\n' "$(md_cell "$f")"; done
			printf '\n'
		fi
		if ((${#NOTES[@]})); then
			printf '## Notes\n\n'
			for f in "${NOTES[@]}"; do printf -- '- %s\n' "$(md_cell "$f")"; done
			printf '\n'
		fi
	} >"$base.md.tmp"
	mv -f "$base.md.tmp" "$base.md"
	REPORTED=1
	say "wrote $base.md and $base.json ($status)"
}

# ---------------------------------------------------------------------------
# Main

main() {
	[[ -x $MTSERVER ]] || die "$MTSERVER not found: run make first"
	[[ -x $FLOOD ]] || die "$FLOOD not found: run make first"
	T=$(mktemp -d "${TMPDIR:-/tmp}/mtbench.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	raise_nofile
	machine_info
	say "$( ((QUICK)) && echo 'QUICK run' || echo 'full run'): $MACH_NPROC CPUs, $MACH_CPU, RLIMIT_NOFILE $NOFILE, temp dir $T"
	find_peers
	collect_versions

	wait_quiet
	busy_before pingpong
	section_pingpong
	busy_before loadgen
	section_loadgen
	busy_before ingest
	section_ingest
	busy_before memory
	section_memory

	local status=ok
	((${#FAILURES[@]} == 0)) || status=failed
	write_reports "$status"
	say "done in ${SECONDS}s: $status"
	((${#FAILURES[@]} == 0))
}

main "$@"
