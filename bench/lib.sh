# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# shellcheck disable=SC2034 # SRV_* and BG_PID are for the scripts that source this
# bench/lib.sh - what the scripts that run programs share: bench/run.sh
# (make bench), bench/test-repeat.sh, the lessons (lessons/*.sh), the shell
# test suites (tests/lib.sh) and dist/ci-deb.sh.  Bash only starts, waits
# for and stops processes; JSON, figures and Markdown are bench/benchlib.py's.
# Source it from a bash script that runs with `set -euo pipefail`:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It moves to the top of the tree, so that paths read bench/..., ./mtserver.
# Everything here is bounded: every wait has a deadline, every loop a
# maximum number of iterations; nothing touches anything but loopback (or a
# namespace the caller made) and the run's temporary directory.
#
# Settings, the same meaning in every script:
#   QUICK=1      a seconds-long smoke run: tiny counts, figures meaningless,
#                results written as NAME-quick.*, never published
#   PUBLISH=1    after a full run that worked, copy its results from
#                RESULTS_DIR (untracked) to PUBLISHED_DIR (tracked, quoted
#                by the READMEs): bench/results/ and bench/published/, or
#                lessons/results/ and lessons/published/ for the lessons
#   KEEP_TMP=1   keep the run's temporary directory
#
# Helpers, by group:
#   messages      say, warn, die, skip
#   the run       bench_begin, bench_out NAME, bench_publish FILE...
#   numbers       is_uint
#   ports         free_port, port_listening, wait_port, wait_until
#   processes     bg_start, bg_alive, bg_stop, bg_stop_all
#   servers       srv_start, srv_stop (a pid file per server in $T)
#   namespaces    ns_create, in_ns, ns_delete
#   dependencies  need_cmd
#   /proc         rss_kb, hwm_kb, threads_of, sockets_of, cpu_busy_pct
#   results       fact, fact_list (what a run saw, for benchlib.py),
#                 py (a Python helper), bget (a value of a JSON file),
#                 plot_png (a gnuplot picture)

export BENCH_NAME=${BENCH_NAME:-bench} # benchlib.py's messages say it too
BENCH_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$BENCH_ROOT" || exit 1
RESULTS_DIR=${RESULTS_DIR:-bench/results}
PUBLISHED_DIR=${PUBLISHED_DIR:-bench/published}

# ---------------------------------------------------------------------------
# Messages, on stderr, prefixed with the script's name.

say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$BENCH_NAME" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2
	exit 1
}
# skip WHY: the script cannot run here (no root, no namespaces): not a
# failure.
skip() {
	printf '%s: skipped: %s\n' "$BENCH_NAME" "$*" >&2
	exit 0
}

# ---------------------------------------------------------------------------
# The run: settings, temporary directory, outputs.

# _flag VALUE: 1 for a true setting (anything but "", 0, no, false).
_flag() {
	case ${1:-} in '' | 0 | no | false) printf 0 ;; *) printf 1 ;; esac
}
QUICK=$(_flag "${QUICK:-}")
PUBLISH=$(_flag "${PUBLISH:-}")

T=''
# bench_begin: make the run's temporary directory $T and arrange that
# whatever happens every process started with bg_start is stopped and $T
# removed.  A script may define bench_on_exit (called first, with the exit
# status) for its own cleanup.
bench_begin() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/mt$BENCH_NAME.XXXXXX")
	trap _bench_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
# shellcheck disable=SC2317 # called by the trap
_bench_exit() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if declare -F bench_on_exit >/dev/null; then bench_on_exit "$rc"; fi
	bg_stop_all "$T" 5
	if [[ ${KEEP_TMP:-0} == 1 ]]; then
		say "kept $T"
	else
		rm -rf -- "$T"
	fi
	exit "$rc"
}

# bench_out NAME: the path, without extension, of a result: RESULTS_DIR/
# NAME, or NAME-quick for a QUICK run.
bench_out() {
	mkdir -p "$RESULTS_DIR"
	if ((QUICK)); then
		printf '%s/%s-quick' "$RESULTS_DIR" "$1"
	else
		printf '%s/%s' "$RESULTS_DIR" "$1"
	fi
}

# bench_publish OK FILE...: with PUBLISH=1, copy each FILE to
# bench/published/ when OK is 0 (the run worked) and the run was a full one.
bench_publish() {
	local ok=$1 f
	shift
	((PUBLISH)) || return 0
	if ((QUICK)); then
		warn "PUBLISH=1 ignored: a QUICK run's figures are not for quoting"
	elif ((ok != 0)); then
		warn "PUBLISH=1 ignored: the run failed; $PUBLISHED_DIR/ keeps the last good figures"
	else
		mkdir -p "$PUBLISHED_DIR"
		for f in "$@"; do
			[[ -e $f ]] && cp -f -- "$f" "$PUBLISHED_DIR/" && say "published $PUBLISHED_DIR/${f##*/}"
		done
	fi
	return 0
}

# ---------------------------------------------------------------------------
# Numbers (whole ones: everything else is benchlib.py's)

is_uint() { [[ ${1:-} =~ ^[0-9]+$ ]]; }

# ---------------------------------------------------------------------------
# Ports

# _ports_in_use: every local port bound (TCP and UDP, v4 and v6), from
# /proc/net so that no extra tool is needed.
_ports_in_use() {
	local f
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		[[ -r $f ]] || continue
		awk 'NR > 1 { split($2, a, ":"); print a[length(a)] }' "$f"
	done | while read -r hex; do printf '%d\n' "0x$hex"; done | sort -un
}

# free_port: a port in 20000..32767 (below the ephemeral range, so client
# sockets do not take it meanwhile) that no socket uses.  For peers that
# cannot bind port 0 and say which port they got; there is a window
# between the check and their bind(), so callers retry.
free_port() {
	local used try port
	used=$(_ports_in_use)
	for ((try = 0; try < 200; try++)); do
		port=$((20000 + RANDOM % 12768))
		if ! grep -qx "$port" <<<"$used"; then
			printf '%s\n' "$port"
			return 0
		fi
	done
	warn "free_port: no free port found after 200 tries"
	return 1
}

# port_listening PORT: some socket listens on TCP PORT.
port_listening() {
	local hex f
	hex=$(printf ':%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		awk -v p="$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
			END { exit !found }' "$f" && return 0
	done
	return 1
}

# wait_until SECS CMD...: run CMD every 0.1 s until it succeeds (0) or SECS
# (whole, or with one decimal: 0.5) elapse (1).
wait_until() {
	local secs=$1 i max
	shift
	if [[ $secs == *.* ]]; then max=$((10#${secs%.*}0 + 10#${secs#*.})); else max=$((secs * 10)); fi
	for ((i = 0; i <= max; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
wait_port() { wait_until "$2" port_listening "$1"; }

# ---------------------------------------------------------------------------
# Background processes: one pid file per process in $T, so that the exit
# trap stops each one by its pid (never by name).

# bg_start NAME [--stdout FILE] [--stderr FILE] -- CMD...: start CMD with
# stdin from /dev/null and output to $T/NAME.out and $T/NAME.err (or the
# given files); its pid goes to $T/NAME.pid and BG_PID.  CMD is exec'd by
# the subshell, so the pid is CMD's own.
BG_PID=''
bg_start() {
	local name=$1 out="$T/$1.out" err="$T/$1.err"
	shift
	while (($#)); do
		case $1 in
		--stdout) out=$2 && shift 2 ;;
		--stderr) err=$2 && shift 2 ;;
		--) shift && break ;;
		*) die "bg_start: unexpected argument '$1'" ;;
		esac
	done
	(($#)) || die "bg_start: no command"
	"$@" </dev/null >"$out" 2>"$err" &
	BG_PID=$!
	printf '%s\n' "$BG_PID" >"$T/$name.pid"
}

_pid_of() {
	local f="$T/$1.pid" pid=
	[[ -r $f ]] && read -r pid <"$f"
	is_uint "$pid" && printf '%s\n' "$pid"
	return 0
}
# _gone PID: the process has exited (a zombie counts as exited).
_gone() {
	local state
	state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
	[[ -z $state || $state == Z ]]
}
bg_alive() {
	local pid
	pid=$(_pid_of "$1")
	[[ -n $pid ]] && ! _gone "$pid"
}

# bg_stop NAME [SECS] [SIGNAL]: send SIGNAL (TERM), wait up to SECS (10)
# for the exit, then SIGKILL.  Returns the process's exit status, 0 when it
# was gone already, 137 when it had to be killed.  Removes the pid file.
bg_stop() {
	local name=$1 secs=${2:-10} sig=${3:-TERM} pid rc=0
	pid=$(_pid_of "$name")
	[[ -n $pid ]] || return 0
	rm -f "$T/$name.pid"
	if kill -0 "$pid" 2>/dev/null; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		if ! wait_until "$secs" _gone "$pid"; then
			warn "$name (pid $pid) did not exit within ${secs}s of SIG$sig; killing it"
			kill -s KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			return 137
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	((rc == 127)) && rc=0 # not our child, or reaped already
	return "$rc"
}

# bg_stop_all [SECS]: stop every process that still has a pid file in $T.
bg_stop_all() {
	local f
	[[ -n $T && -d $T ]] || return 0
	for f in "$T"/*.pid; do
		[[ -e $f ]] || continue
		bg_stop "$(basename "$f" .pid)" "${1:-5}" || true
	done
	return 0
}

# ---------------------------------------------------------------------------
# Servers.  Every server of ours (mtserver, stserver, the peers in
# bench/peers) binds port 0 and says "listening on ADDR:PORT" on stderr.

SRV_PID='' SRV_PORT='' SRV_CMD=''

# cmd_str ARGS...: the command as one shell-quoted line, with $T written as
# $TMP (for the reports).
cmd_str() {
	local s
	s=$(printf '%q ' "$@")
	s=${s% }
	# shellcheck disable=SC2016 # a literal $TMP
	[[ -n $T ]] && s=${s//"$T"/'$TMP'}
	printf '%s' "$s"
}

# srv_start NAME -- CMD...: start the server CMD, wait (10 s at most) for
# its "listening on ADDR:PORT" line; set SRV_PID, SRV_PORT and SRV_CMD.
# Fails, with the server's last words, if it dies or does not say so.
srv_start() {
	local name=$1 i line
	shift
	[[ $1 == -- ]] && shift
	SRV_CMD=$(cmd_str "$@")
	SRV_PORT=''
	bg_start "$name" -- "$@"
	SRV_PID=$BG_PID
	for ((i = 0; i < 100; i++)); do
		line=$(grep -m1 -oE 'listening on [^ ]*:[0-9]+' "$T/$name.err" 2>/dev/null || true)
		if [[ -n $line ]]; then
			SRV_PORT=${line##*:}
			return 0
		fi
		bg_alive "$name" || break
		sleep 0.1
	done
	warn "$name did not start listening: $(tail -n 3 "$T/$name.err" 2>/dev/null | tr '\n' ' ')"
	bg_stop "$name" 5 || true
	return 1
}

# srv_stop NAME: SIGTERM and a bounded wait; returns the exit status.
srv_stop() { bg_stop "$1" 10; }

# ---------------------------------------------------------------------------
# Network namespaces (the lessons; root only)

NS_MADE=''
# ns_create NAME: the namespace NAME with lo up, deleted by ns_delete;
# fails, saying why in $T/netns.err, where namespaces cannot be made.
ns_create() {
	timeout 10 ip netns add "$1" 2>"$T/netns.err" || return 1
	NS_MADE=$1
	timeout 10 ip -n "$1" link set lo up 2>>"$T/netns.err"
}
# in_ns CMD...: CMD inside the namespace, bounded.
in_ns() { timeout 10 ip netns exec "$NS_MADE" "$@"; }
# ns_delete: stop our processes, then anything still running in the
# namespace (only ours can be there), then the namespace itself (which
# takes its nftables tables with it).
ns_delete() {
	local pid
	[[ -n $NS_MADE ]] || return 0
	bg_stop_all 5
	for pid in $(ip netns pids "$NS_MADE" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	timeout 10 ip netns delete "$NS_MADE" 2>/dev/null || warn "could not delete namespace $NS_MADE (ip netns delete $NS_MADE)"
	NS_MADE=''
}

# ---------------------------------------------------------------------------
# Dependencies

# need_cmd CMD PKG [install|skip]: succeed if CMD is on PATH.  Otherwise,
# with "install" (the default) and root, apt-get install PKG (bounded) and
# check again; else print the command to run and fail.  What a script
# needs (gnuplot for a picture included) it asks for in the default mode,
# QUICK or not; "skip" is for bench/run.sh's optional comparison peers in
# a QUICK run.
# MT_NO_INSTALL=1 (debian/rules sets it: a package build installs nothing)
# only checks.
_APT_UPDATED=''
need_cmd() {
	local cmd=$1 pkg=$2 mode=${3:-install}
	command -v "$cmd" >/dev/null 2>&1 && return 0
	if [[ $mode != install ]]; then
		say "$cmd not found (package $pkg): skipping what needs it"
		return 1
	fi
	if [[ ${MT_NO_INSTALL:-0} == 1 ]] || [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		say "$cmd not found; run: sudo apt-get install -y $pkg (skipping what needs it)"
		return 1
	fi
	say "installing $pkg for $cmd"
	export DEBIAN_FRONTEND=noninteractive
	if [[ -z $_APT_UPDATED ]]; then
		timeout 180 apt-get update -qq >/dev/null 2>&1 || warn "apt-get update failed"
		_APT_UPDATED=1
	fi
	if ! timeout 300 apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1; then
		warn "apt-get install $pkg failed (skipping what needs $cmd)"
		return 1
	fi
	hash -r
	command -v "$cmd" >/dev/null 2>&1 || {
		warn "$pkg installed but $cmd still not on PATH"
		return 1
	}
}

# ---------------------------------------------------------------------------
# /proc figures

_status_field() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null || true; }
rss_kb() { _status_field "$1" VmRSS; }
hwm_kb() { _status_field "$1" VmHWM; }
threads_of() { _status_field "$1" Threads; }
# sockets_of PID: open socket descriptors.
sockets_of() {
	local n
	n=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' 2>/dev/null | wc -l) || true
	printf '%s\n' "${n:-0}"
}

# cpu_busy_pct [SECS]: how busy all CPUs were over the next SECS (1)
# seconds, in percent, from /proc/stat.
_cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6; exit }' /proc/stat; }
cpu_busy_pct() {
	local t0 i0 t1 i1
	read -r t0 i0 < <(_cpu_ticks)
	sleep "${1:-1}"
	read -r t1 i1 < <(_cpu_ticks)
	local dt=$((t1 - t0)) di=$((i1 - i0))
	printf '%d' $((dt > 0 ? (200 * (dt - di) + dt) / (2 * dt) : 0))
}

# ---------------------------------------------------------------------------
# Results: the scripts record what they saw as facts, and bench/benchlib.py
# (lessons/lessonlib.py) makes the JSON results and their Markdown of them.

# fact ID KEY VALUE [KEY VALUE...]: one line "ID<TAB>KEY<TAB>VALUE" each in
# $T/facts.  An ID is a run (run:NAME) or a part of the results; KEY[]
# adds to the list KEY; a run or a section is complete at its key "end".
fact() {
	local id=$1 v
	shift
	while (($# >= 2)); do
		v=${2//$'\t'/ }
		printf '%s\t%s\t%s\n' "$id" "$1" "${v//$'\n'/ }" >>"$T/facts"
		shift 2
	done
}
# fact_list ID KEY VALUE...: the list KEY (possibly empty).
fact_list() {
	local id=$1 key=$2
	shift 2
	fact "$id" "${key}[]" ''
	while (($#)); do
		fact "$id" "${key}[]" "$1"
		shift
	done
}
# py SCRIPT ARGS...: a Python helper (bench/benchlib.py, lessons/
# lessonlib.py) under python3, installed by need_cmd when missing (root).
py() {
	need_cmd python3 python3 || die "python3 is needed for $1"
	python3 "$@"
}
# plot_png SCRIPT PNG SETTINGS: draw PNG with the gnuplot SCRIPT, given
# SETTINGS (gnuplot -e); gnuplot-nox is installed by need_cmd when missing.
# 0 when drawn, or when there is no gnuplot (said: no picture); 1, with
# gnuplot's words, when it fails.
plot_png() {
	if ! need_cmd gnuplot gnuplot-nox; then
		say "no picture"
	elif gnuplot -e "$3" "$1" 2>"$T/gnuplot.err" && [[ -s $2 ]]; then
		say "wrote $2"
	else
		cat "$T/gnuplot.err" >&2
		return 1
	fi
}
# bget [--num] FILE KEY...: each KEY's value in the JSON file FILE, one a
# line ("" when absent; --num: with thousands separators).
bget() { py bench/benchlib.py get "$@"; }
