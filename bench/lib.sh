# shellcheck shell=bash
# bench/lib.sh - shared helpers for the benchmark scripts (bench/run.sh and
# friends).  Source it from a bash script that runs with `set -euo pipefail`:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Everything here is bounded: every wait has a deadline, every loop a
# maximum number of iterations.  Nothing here touches anything outside
# 127.0.0.1 / ::1 and the caller's temporary directory.
#
# Helpers:
#   say / warn / die              messages on stderr, prefixed with $BENCH_NAME
#   now_ns / elapsed_s            monotonic-enough wall clock (date +%s%N)
#   is_uint / is_num              number checks
#   free_port [tcp|udp|both]      a free loopback port number
#   port_listening PORT           is a TCP port in LISTEN state?
#   wait_port PORT SECS           wait until a TCP port listens
#   wait_until SECS CMD...        poll CMD every 0.1 s until it succeeds
#   bg_start NAME DIR -- CMD...   start CMD in the background, pid in DIR/NAME.pid
#   bg_stop NAME DIR [SECS]       SIGTERM, bounded wait, then SIGKILL
#   bg_stop_all DIR               bg_stop every DIR/*.pid (for trap EXIT)
#   bg_alive NAME DIR             is it still running?
#   need_cmd CMD PKG [install]    make sure CMD exists (apt-get as root)
#   rss_kb PID / hwm_kb PID       VmRSS / VmHWM in kB
#   threads_of PID / fds_of PID   thread and open-descriptor counts
#   sockets_of PID                open socket descriptors
#   cpu_busy_pct [SECS]           CPU use of the whole machine over SECS
#   json_escape STR               STR as a JSON string literal (with quotes)
#   json_val STR                  number, true/false/null as is, else string
#   json_obj K V [K V ...]        a flat JSON object
#   json_arr V [V ...]            a JSON array of already-encoded values
#   json_get FILE KEY             a scalar member of a (flat) JSON object
#   ratio A B [DIGITS]            A/B with DIGITS decimals ("" if undefined)
#   num_ge A B / num_gt A B       numeric comparisons of decimals

BENCH_NAME=${BENCH_NAME:-bench}

say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$BENCH_NAME" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2
	exit 1
}

# Wall clock in nanoseconds, and seconds (3 decimals) since a now_ns value.
now_ns() { date +%s%N; }
elapsed_s() {
	local start=$1 end=${2:-}
	[[ -n $end ]] || end=$(now_ns)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

is_uint() { [[ ${1:-} =~ ^[0-9]+$ ]]; }
is_num() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

# ---------------------------------------------------------------------------
# Ports

# _ports_in_use: every local port number currently bound (any state, TCP and
# UDP, IPv4 and IPv6), one per line, read from /proc/net so that no extra
# tool is needed.
_ports_in_use() {
	local f
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		[[ -r $f ]] || continue
		# local_address is "HEXADDR:HEXPORT" in the second column.
		awk 'NR > 1 { split($2, a, ":"); print a[length(a)] }' "$f"
	done | while read -r hex; do printf '%d\n' "0x$hex"; done | sort -un
}

# free_port [tcp|udp|both]: print a port in 20000..32767 (below the default
# ephemeral range, so that client sockets don't take it meanwhile) that no
# socket uses.  There is a window between the check and the server's bind();
# callers that can should prefer "port 0 and parse the port the server
# prints".  The protocol argument is accepted for readability: the check
# always covers both protocols.
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

# port_listening PORT: true if some socket listens on TCP PORT.
port_listening() {
	local port=$1 hex f
	hex=$(printf ':%04X' "$port")
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		# st 0A = LISTEN
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

# wait_port PORT SECS: wait until TCP PORT is listening.
wait_port() { wait_until "$2" port_listening "$1"; }

# ---------------------------------------------------------------------------
# Background processes, one pid file per process in a directory the caller
# owns (its mktemp -d).

# bg_start NAME DIR [--stdout FILE] [--stderr FILE] -- CMD...: start CMD in
# the background with stdin from /dev/null and output to DIR/NAME.out and
# DIR/NAME.err (or the given files); write its pid to DIR/NAME.pid and set
# BG_PID.  CMD is exec'd by the subshell, so the pid is CMD's own.
BG_PID=''
bg_start() {
	local name=$1 dir=$2 out err
	shift 2
	out="$dir/$name.out" err="$dir/$name.err"
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
	printf '%s\n' "$BG_PID" >"$dir/$name.pid"
}

# _pid_of NAME DIR: the recorded pid, or nothing.
_pid_of() {
	local f="$2/$1.pid" pid=
	[[ -r $f ]] && read -r pid <"$f"
	is_uint "$pid" && printf '%s\n' "$pid"
	return 0
}

# bg_alive NAME DIR: true if the process is still running (and not a zombie).
bg_alive() {
	local pid state
	pid=$(_pid_of "$1" "$2")
	[[ -n $pid ]] || return 1
	state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

# bg_stop NAME DIR [SECS] [SIGNAL]: send SIGNAL (TERM) to the process, wait
# up to SECS (10) for it to exit, then SIGKILL it.  Returns the process's
# exit status when it was our child and exited by itself, 0 when it was
# already gone, 137 when it had to be killed.  Removes the pid file.
bg_stop() {
	local name=$1 dir=$2 secs=${3:-10} sig=${4:-TERM} pid rc=0
	pid=$(_pid_of "$name" "$dir")
	[[ -n $pid ]] || return 0
	rm -f "$dir/$name.pid"
	if kill -0 "$pid" 2>/dev/null; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		if ! wait_until "$secs" _gone "$pid"; then
			warn "$name (pid $pid) did not exit within ${secs}s of SIG$sig; killing it"
			kill -s KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			return 137
		fi
	fi
	# Reap it and collect its status if it is our child.
	wait "$pid" 2>/dev/null || rc=$?
	# 127: not our child (or already reaped): nothing to report.
	((rc == 127)) && rc=0
	return "$rc"
}
# _gone PID: the process has exited (a zombie child counts as exited).
_gone() {
	local state
	state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
	[[ -z $state || $state == Z ]]
}

# bg_stop_all DIR [SECS]: stop every process that still has a pid file in
# DIR (for trap EXIT).  Never fails.
bg_stop_all() {
	local dir=$1 secs=${2:-5} f name
	[[ -d $dir ]] || return 0
	for f in "$dir"/*.pid; do
		[[ -e $f ]] || continue
		name=$(basename "$f" .pid)
		bg_stop "$name" "$dir" "$secs" || true
	done
	return 0
}

# ---------------------------------------------------------------------------
# Dependencies

# need_cmd CMD PKG [install]: succeed if CMD is on PATH.  Otherwise, when the
# third argument is "install" and we are root, apt-get install PKG (once per
# package per run) and check again; else print why and fail.
_BENCH_APT_UPDATED=''
need_cmd() {
	local cmd=$1 pkg=$2 mode=${3:-install}
	command -v "$cmd" >/dev/null 2>&1 && return 0
	if [[ $mode != install ]]; then
		say "$cmd not found (package $pkg): skipping what needs it"
		return 1
	fi
	if [[ $(id -u) -ne 0 ]]; then
		say "$cmd not found; run: sudo apt-get install -y $pkg (skipping what needs it)"
		return 1
	fi
	say "installing $pkg for $cmd"
	export DEBIAN_FRONTEND=noninteractive
	if [[ -z $_BENCH_APT_UPDATED ]]; then
		timeout 120 apt-get update -qq >/dev/null 2>&1 || warn "apt-get update failed"
		_BENCH_APT_UPDATED=1
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
fds_of() {
	local n
	n=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) || true
	printf '%s\n' "${n:-0}"
}
# sockets_of PID: open socket descriptors.
sockets_of() {
	local n
	n=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' 2>/dev/null | wc -l) || true
	printf '%s\n' "${n:-0}"
}

# cpu_busy_pct [SECS]: how busy all CPUs were over the next SECS (1)
# seconds, in percent (steal included), from /proc/stat.
_cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6; exit }' /proc/stat; }
cpu_busy_pct() {
	local t0 i0 t1 i1
	read -r t0 i0 < <(_cpu_ticks)
	sleep "${1:-1}"
	read -r t1 i1 < <(_cpu_ticks)
	awk -v dt=$((t1 - t0)) -v di=$((i1 - i0)) 'BEGIN { printf "%.0f", (dt > 0 ? 100 * (dt - di) / dt : 0) }'
}

# ---------------------------------------------------------------------------
# JSON (pure bash; good enough for the flat objects the bench writes/reads)

# json_escape STR: STR as a quoted JSON string.
json_escape() {
	local s=$1 out='' c i code
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	# Remaining control characters, if any, as \u00XX.
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

# json_val STR: numbers, true, false and null as they are; the empty string
# as null; anything starting with { or [ as already-encoded JSON; else a
# string.
json_val() {
	local v=${1-}
	if [[ -z $v ]]; then
		printf 'null'
	elif is_num "$v" && [[ ! $v =~ ^-?0[0-9] ]]; then
		printf '%s' "$v"
	elif [[ $v == true || $v == false || $v == null || $v == '{'* || $v == '['* ]]; then
		printf '%s' "$v"
	else
		json_escape "$v"
	fi
}

# json_str STR: always a string (even "12" or "").
json_str() { json_escape "${1-}"; }

# json_obj K V [K V ...]: {"K": V, ...} with each V through json_val.  A
# value of the form "@raw:TEXT" is inserted verbatim; so to force a string
# (say a version "7.0") pass "@raw:$(json_str 7.0)".
json_obj() {
	local out='{' sep='' k v
	while (($# >= 2)); do
		k=$1 v=$2
		shift 2
		out+="$sep$(json_escape "$k"): "
		if [[ $v == @raw:* ]]; then
			out+=${v#@raw:}
		else
			out+=$(json_val "$v")
		fi
		sep=', '
	done
	printf '%s}' "$out"
}

# json_arr V [V ...]: [V, ...] with the values inserted verbatim.
json_arr() {
	local out='[' sep='' v
	for v in "$@"; do
		out+="$sep$v"
		sep=', '
	done
	printf '%s]' "$out"
}

# json_flat FILE: every scalar in the JSON document in FILE as a line
# "PATH<TAB>VALUE", where PATH joins object keys and array indexes with dots
# (rtt_us.p50, errors.timeout, list.0.name) and VALUE is the number or
# literal as written, or the string without its quotes (escapes kept as
# written).  A small awk tokenizer, so that no jq/python is needed.
json_flat() {
	[[ -r $1 ]] || return 0
	awk '
	BEGIN { RS = "\001"; depth = 0 }
	function path(   p, i) {
		p = ""
		for (i = 1; i <= depth; i++) p = p (i > 1 ? "." : "") key[i]
		return p
	}
	function emit(v) { print path() "\t" v }
	{
		s = $0; n = length(s); i = 1
		while (i <= n) {
			c = substr(s, i, 1)
			if (c == "{" || c == "[") {
				depth++; isarr[depth] = (c == "["); idx[depth] = 0
				key[depth] = isarr[depth] ? 0 : ""
				expect_key[depth] = !isarr[depth]
				i++
			} else if (c == "}" || c == "]") {
				depth--; i++
			} else if (c == ",") {
				if (isarr[depth]) { idx[depth]++; key[depth] = idx[depth] }
				else expect_key[depth] = 1
				i++
			} else if (c == ":") {
				expect_key[depth] = 0; i++
			} else if (c == "\"") {
				j = i + 1; str = ""
				while (j <= n) {
					d = substr(s, j, 1)
					if (d == "\\") { str = str substr(s, j, 2); j += 2; continue }
					if (d == "\"") break
					str = str d; j++
				}
				i = j + 1
				if (!isarr[depth] && expect_key[depth]) key[depth] = str
				else emit(str)
			} else if (c ~ /[-0-9tfn]/) {
				j = i
				while (j <= n && substr(s, j, 1) ~ /[-+0-9.eEtruefalsn]/) j++
				emit(substr(s, i, j - i)); i = j
			} else {
				i++
			}
		}
	}' "$1"
}

# json_get FILE PATH: the scalar at PATH (as printed by json_flat) in the
# JSON document in FILE; nothing when absent.
json_get() {
	json_flat "$1" | awk -F '\t' -v k="$2" '$1 == k { print $2; exit }'
}

# ---------------------------------------------------------------------------
# Arithmetic on decimals (awk)

# ratio A B [DIGITS]: A/B rounded to DIGITS (2) decimals; "" if either is
# not a number or B is 0.
ratio() {
	local a=${1-} b=${2-} d=${3:-2}
	is_num "$a" && is_num "$b" || return 0
	awk -v a="$a" -v b="$b" -v d="$d" 'BEGIN { if (b + 0 == 0) exit; printf "%.*f", d, a / b }'
}
num_ge() { is_num "${1-}" && is_num "${2-}" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
num_gt() { is_num "${1-}" && is_num "${2-}" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }
num_le() { is_num "${1-}" && is_num "${2-}" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

# round N [DIGITS]: N with DIGITS (0) decimals; "" if N is not a number.
round() {
	is_num "${1-}" || return 0
	awk -v a="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, a }'
}
