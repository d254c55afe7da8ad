# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# shellcheck disable=SC2034 # SRV_*, BG_PID and J are for the scripts that source this
# bench/lib.sh - what every bench script shares: bench/run.sh (make bench),
# bench/compare.sh (make compare), bench/lesson-udp.sh (make lesson-udp),
# bench/render.sh (their Markdown) and bench/test-repeat.sh.  Source it from
# a bash script that runs with `set -euo pipefail`:
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
#                bench/results/ (untracked) to bench/published/ (tracked,
#                quoted by the README)
#   KEEP_TMP=1   keep the run's temporary directory
#
# Helpers, by group:
#   messages      say, warn, die, skip
#   the run       bench_begin, bench_out NAME, bench_publish FILE...
#   numbers       is_uint, is_num, ratio, num_ge/gt/le/lt, round,
#                 fmt_num,
#                 now_ns, elapsed_s
#   ports         free_port, port_listening, wait_port, wait_until
#   processes     bg_start, bg_alive, bg_stop, bg_stop_all
#   servers       srv_start, srv_stop (a pid file per server in $T)
#   namespaces    ns_create, in_ns, ns_delete
#   dependencies  need_cmd
#   /proc         rss_kb, hwm_kb, threads_of, sockets_of, cpu_busy_pct
#   JSON out      json_str, json_val, json_obj, json_arr, json_members
#   JSON in       json_flat, json_get, json_load (into the array J), jv

BENCH_NAME=${BENCH_NAME:-bench}
BENCH_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$BENCH_ROOT" || exit 1
RESULTS_DIR=bench/results
PUBLISHED_DIR=bench/published

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

# bench_out NAME: the path, without extension, of a result: bench/results/
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
		warn "PUBLISH=1 ignored: the run failed; bench/published/ keeps the last good figures"
	else
		mkdir -p "$PUBLISHED_DIR"
		for f in "$@"; do
			[[ -e $f ]] && cp -f -- "$f" "$PUBLISHED_DIR/" && say "published $PUBLISHED_DIR/${f##*/}"
		done
	fi
	return 0
}

# pp_id TOOL CLIENTS [ROUND]: the id of a ping-pong run in make bench's
# results (run.sh writes them, render.sh reads them): round 1, the
# table's, has none of its own.
pp_id() {
	local round=${3:-1}
	printf 'pp_%s_%s' "$1" "$2"
	((round == 1)) || printf '_r%s' "$round"
}

# ---------------------------------------------------------------------------
# Numbers (decimals through awk).

is_uint() { [[ ${1:-} =~ ^[0-9]+$ ]]; }
is_num() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

# ratio A B [DIGITS]: A/B rounded to DIGITS (2) decimals; "" if either is
# not a number or B is 0.
ratio() {
	local a=${1-} b=${2-} d=${3:-2}
	is_num "$a" && is_num "$b" || return 0
	awk -v a="$a" -v b="$b" -v d="$d" 'BEGIN { if (b + 0 == 0) exit; printf "%.*f", d, a / b }'
}
_cmp() { is_num "${2-}" && is_num "${3-}" && awk -v a="$2" -v b="$3" "BEGIN { exit !(a + 0 $1 b + 0) }"; }
num_ge() { _cmp '>=' "$@"; }
num_gt() { _cmp '>' "$@"; }
num_le() { _cmp '<=' "$@"; }
num_lt() { _cmp '<' "$@"; }
# round N [DIGITS]: N with DIGITS (0) decimals; "" if N is not a number.
round() {
	is_num "${1-}" || return 0
	awk -v a="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, a }'
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

# now_ns: the wall clock in nanoseconds.  elapsed_s START [END]: seconds
# (3 decimals) from one now_ns value to another (or to now).
now_ns() { date +%s%N; }
elapsed_s() {
	local start=$1 end=${2:-}
	[[ -n $end ]] || end=$(now_ns)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

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
# elapse (1).
wait_until() {
	local secs=$1 i max
	shift
	max=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 10 }')
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
# check again; else print the command to run and fail.  MT_NO_INSTALL=1
# (debian/rules sets it: a package build installs nothing) only checks.
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
	awk -v dt=$((t1 - t0)) -v di=$((i1 - i0)) 'BEGIN { printf "%.0f", (dt > 0 ? 100 * (dt - di) / dt : 0) }'
}

# ---------------------------------------------------------------------------
# JSON out (pure bash: the flat objects the scripts write)

# json_str STR: STR as a quoted JSON string.
json_str() {
	local s=${1-} out='' c i code
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	if [[ $s == *[$'\x01'-$'\x1f']* ]]; then
		for ((i = 0; i < ${#s}; i++)); do
			c=${s:i:1}
			if [[ $c == [$'\x01'-$'\x1f'] ]]; then
				printf -v code '\\u%04x' "'$c"
				out+=$code
			else
				out+=$c
			fi
		done
		s=$out
	fi
	printf '"%s"' "$s"
}

# json_val STR: numbers, true, false and null as they are; "" as null;
# anything starting with { or [ as already-encoded JSON; else a string.
# "@str:TEXT" is always the string TEXT (a version "7.0", a command).
json_val() {
	local v=${1-}
	if [[ $v == @str:* ]]; then
		json_str "${v#@str:}"
	elif [[ -z $v ]]; then
		printf 'null'
	elif is_num "$v" && [[ ! $v =~ ^-?0[0-9] ]]; then
		printf '%s' "$v"
	elif [[ $v == true || $v == false || $v == null || $v == '{'* || $v == '['* ]]; then
		printf '%s' "$v"
	else
		json_str "$v"
	fi
}

# json_obj K V [K V ...]: {"K": V, ...} with each V through json_val.
json_obj() {
	local out='{' sep=''
	while (($# >= 2)); do
		out+="$sep$(json_str "$1"): $(json_val "$2")"
		sep=', '
		shift 2
	done
	printf '%s}' "$out"
}

# json_arr V [V ...]: [V, ...] with each V through json_val.
json_arr() {
	local out='[' sep='' v
	for v in "$@"; do
		out+="$sep$(json_val "$v")"
		sep=', '
	done
	printf '%s]' "$out"
}

# json_members ARRAYNAME: the members of an associative array of encoded
# JSON values as one object, keys sorted, one member per line.
json_members() {
	local -n _m=$1
	local k sep=''
	printf '{'
	while IFS= read -r k; do
		[[ -n $k ]] || continue
		printf '%s\n  %s: %s' "$sep" "$(json_str "$k")" "${_m[$k]}"
		sep=','
	done < <(printf '%s\n' "${!_m[@]}" | sort)
	printf '\n}'
}

# ---------------------------------------------------------------------------
# JSON in

# json_flat FILE: every scalar of the JSON document in FILE as a line
# "PATH<TAB>VALUE", PATH joining object keys and array indexes with dots
# (rtt_us.p50, errors.timeout, notes.0).  Strings lose their quotes and
# their \" \\ \/ escapes; \n and \t stay escaped so that a value stays on
# its line.  A small awk tokenizer, so that no jq or python is needed.
json_flat() {
	[[ -r $1 ]] || return 0
	awk '
	BEGIN { RS = "\001"; depth = 0 }
	function path(   p, i) {
		p = ""
		for (i = 1; i <= depth; i++) p = p (i > 1 ? "." : "") key[i]
		return p
	}
	{
		s = $0; n = length(s); i = 1
		while (i <= n) {
			c = substr(s, i, 1)
			if (c == "{" || c == "[") {
				depth++; isarr[depth] = (c == "["); idx[depth] = 0
				key[depth] = isarr[depth] ? 0 : ""; expect_key[depth] = !isarr[depth]; i++
			} else if (c == "}" || c == "]") {
				depth--; i++
			} else if (c == ",") {
				if (isarr[depth]) key[depth] = ++idx[depth]; else expect_key[depth] = 1
				i++
			} else if (c == ":") {
				expect_key[depth] = 0; i++
			} else if (c == "\"") {
				j = i + 1; str = ""
				while (j <= n) {
					d = substr(s, j, 1)
					if (d == "\\") {
						e = substr(s, j + 1, 1)
						str = str (e == "\"" || e == "\\" || e == "/" ? e : "\\" e); j += 2; continue
					}
					if (d == "\"") break
					str = str d; j++
				}
				i = j + 1
				if (!isarr[depth] && expect_key[depth]) key[depth] = str
				else print path() "\t" str
			} else if (c ~ /[-0-9tfn]/) {
				j = i
				while (j <= n && substr(s, j, 1) ~ /[-+0-9.eEtruefalsn]/) j++
				print path() "\t" substr(s, i, j - i); i = j
			} else {
				i++
			}
		}
	}' "$1"
}

# json_get FILE PATH: the scalar at PATH in FILE; nothing when absent.
json_get() {
	json_flat "$1" | awk -F '\t' -v k="$2" '$1 == k { print $2; exit }'
}

# json_load FILE: every scalar of FILE but null into the global associative
# array J (J[PATH]=VALUE); jv PATH prints one ("" when absent or null).
declare -gA J=()
json_load() {
	local k v
	J=()
	while IFS=$'\t' read -r k v; do
		[[ $v == null ]] || J[$k]=$v
	done < <(json_flat "$1")
}
jv() { printf '%s' "${J[$1]:-}"; }
