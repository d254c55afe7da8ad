#!/usr/bin/env bash
# bench/lesson-handshake.sh - the three-way handshake and the four-way
# teardown of the tutorial, seen on the wire.
#
#   sudo make lesson-handshake            the lesson (~15 s)
#   sudo make lesson-handshake QUICK=1    the same, shorter backlog wait (~8 s)
#   sudo make lesson-handshake PUBLISH=1  also copy the table and picture
#                                         to bench/published/ for the README
#
# In a network namespace of its own (mtlesson-hs-PID, always removed on
# exit) tcpdump captures on lo while:
#   A. mtclient sends two lines to `mtserver --echo` and half-closes
#      (shutdown(SHUT_WR)).  The server is paused with SIGSTOP for PAUSE
#      seconds meanwhile, standing in for a server with work still to do:
#      its kernel acknowledges the client's FIN alone, and the replies
#      follow after it - the reason the teardown takes four steps.
#      `ss` then shows the client's socket in TIME_WAIT.
#   B. the server closes first (SIGTERM while a client is connected): the
#      TIME_WAIT is on the server's port, and a listener without
#      SO_REUSEADDR cannot bind it (`bench/wire bind`), one with it can.
#   C. the same lines over UDP: datagrams only.
#   D. a connect to the port nobody listens on any more: SYN, then RST.
#   E. stserver (listen backlog 5) holding one client with six more
#      queued: the next client's SYN goes unanswered and is sent again
#      after 1 s, 3 s, 7 s (QUICK=1: only the first retry).
# bench/wire annotates each capture (its steps in English and in the
# tutorial's Chinese, the sequence numbers and the rule each shows) and
# writes the gnuplot script of the sequence diagram of A.
#
# Needs root, iproute2 and tcpdump (installed with apt-get when missing;
# gnuplot-nox too, for the picture).  Without root or network namespaces
# it prints why and exits 0.  Every step is bounded by a timeout; traffic
# stays inside the namespace.
# Output: bench/results/handshake.md, .png (and .pcap, capture A, for
# Wireshark); QUICK=1: bench/results/handshake-quick.*.
# Exit status: 0 ok or skipped, 1 a capture did not show what it should.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck disable=SC2034 # read by bench/lib.sh
BENCH_NAME=lesson-handshake
# shellcheck source=bench/lib.sh
. bench/lib.sh

WIRE=${WIRE:-bench/wire}
PAUSE=0.3 # seconds the server is stopped in A: >> the 40 ms delayed ACK
if [[ ${QUICK:-} == 1 ]]; then
	RETRY_WAIT=1.6 # the SYN, and its first retry after 1 s
	OUT=bench/results/handshake-quick
else
	RETRY_WAIT=7.6 # retries after 1, 3 and 7 s
	OUT=bench/results/handshake
fi
NS=mtlesson-hs-$$

skip() {
	say "skipped: $*"
	exit 0
}

for prog in ./mtserver ./stserver ./mtclient "$WIRE"; do
	[[ -x $prog ]] || die "$prog not built (run: make)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root for a network namespace and tcpdump (try: sudo make lesson-handshake)"
need_cmd ip iproute2 || skip "no ip(8)"
need_cmd ss iproute2 || skip "no ss(8)"
need_cmd tcpdump tcpdump || skip "no tcpdump"
need_cmd gnuplot gnuplot-nox || warn "no gnuplot: no picture"

TMP=$(mktemp -d)
NS_MADE=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local pid
	# A server paused by SIGSTOP ignores SIGTERM until it runs again.
	for pid in "$TMP"/*.pid; do
		if [[ -e $pid ]]; then kill -CONT "$(cat "$pid")" 2>/dev/null || true; fi
	done
	bg_stop_all "$TMP" 3
	if [[ -n $NS_MADE ]]; then
		for pid in $(ip netns pids "$NS" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		timeout 10 ip netns delete "$NS" 2>/dev/null || warn "could not delete namespace $NS"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout 10 ip netns add "$NS" 2>"$TMP/netns.err" ||
	skip "cannot create a network namespace: $(head -n 1 "$TMP/netns.err")"
NS_MADE=1
timeout 10 ip -n "$NS" link set lo up || die "cannot bring up lo in $NS"
in_ns() { ip netns exec "$NS" "$@"; }

# A FIFO that the script holds open for writing: a client reading it as
# standard input sits idle, connected, until it is stopped.
FIFO=$TMP/idle.fifo
mkfifo "$FIFO"
# shellcheck disable=SC2034 # only held open
exec {FIFO_FD}<>"$FIFO"

# server NAME PROG ARGS...: PROG on 127.0.0.1 port 0 in the namespace,
# logging to $TMP/NAME.log; sets PORT (the port it printed).
server() {
	local name=$1 prog=$2
	shift 2
	bg_start "$name" "$TMP" -- ip netns exec "$NS" "$prog" -b 127.0.0.1 -l "$TMP/$name.log" "$@" 0
	wait_until 5 grep -q 'listening on' "$TMP/$name.err" || {
		cat "$TMP/$name.err" >&2
		die "$prog did not start"
	}
	PORT=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\) (.*/\1/p' "$TMP/$name.err")
	is_uint "$PORT" || die "no port in: $(cat "$TMP/$name.err")"
}

# idle_client NAME PORT: mtclient connected to PORT, reading the FIFO.
idle_client() {
	bg_start "$1" "$TMP" -- sh -c "exec ip netns exec '$NS' ./mtclient 127.0.0.1 $2 <'$FIFO'"
}

# capture NAME FILTER / capture_end NAME: tcpdump on lo into
# $TMP/NAME.pcap (an apparmor profile may allow only *.pcap), then its
# text, `tcpdump -nn -tt -S` (absolute sequence numbers), in NAME.txt.
capture() {
	bg_start "$1.tcpdump" "$TMP" -- ip netns exec "$NS" \
		tcpdump -i lo -nn -U --immediate-mode -Z root -w "$TMP/$1.pcap" "$2"
	wait_until 5 grep -q 'listening on' "$TMP/$1.tcpdump.err" || {
		cat "$TMP/$1.tcpdump.err" >&2
		die "tcpdump did not start"
	}
}
capture_end() {
	sleep 0.2 # the last packets reach the file
	bg_stop "$1.tcpdump" "$TMP" 5 INT || true
	timeout 10 tcpdump -r "$TMP/$1.pcap" -nn -tt -S >"$TMP/$1.txt" 2>/dev/null ||
		die "tcpdump cannot read its capture $1"
}

# time_wait: the namespace's TIME_WAIT sockets with their timers.
time_wait() { in_ns ss -tan state time-wait -o; }

failed=0
# expect NAME WHAT REGEX: the steps of capture NAME (bench/wire steps)
# match REGEX, else the lesson failed.
expect() {
	local steps
	steps=$("$WIRE" steps "$TMP/$1.txt") || true
	printf '%s\n' "$steps" >"$TMP/$1.steps"
	if ! grep -Eq -- "$3" <<<"$steps" || ! grep -q 'violations=0' <<<"$steps"; then
		warn "capture $1 does not show $2: $steps"
		failed=1
	fi
}

say "namespace $NS"

# ---------------------------------------------------------------------------
# A. One session; the client closes first; the server still has replies.
server a ./mtserver --echo
PORT_A=$PORT
capture a "tcp port $PORT_A"
kill -STOP "$(cat "$TMP/a.pid")"
printf 'hello\nbye\n' | timeout 10 ip netns exec "$NS" ./mtclient 127.0.0.1 "$PORT_A" \
	>"$TMP/client-a.out" 2>"$TMP/client-a.err" &
client=$!
sleep "$PAUSE"
kill -CONT "$(cat "$TMP/a.pid")"
wait "$client" || die "mtclient failed: $(cat "$TMP/client-a.err")"
time_wait >"$TMP/a.tw"
capture_end a
expect a "four separate teardown steps with the replies between the second and the third" \
	'^conn 1: HS1 HS2 HS3 .*FIN1 FIN2 DATA\(half-close\) .*FIN3 FIN4$'

# B. The server closes first: TIME_WAIT on its port, and a restart.
server b ./mtserver --echo
PORT_B=$PORT
capture b "tcp port $PORT_B"
idle_client b-client "$PORT_B"
wait_until 5 grep -q ' connect$' "$TMP/b.log" || sleep 0.5 # the log may lag
sleep 0.2
bg_stop b "$TMP" 10 || die "mtserver did not stop cleanly"
# shellcheck disable=SC2317 # called by wait_until
gone() { ! bg_alive "$1" "$TMP"; }
wait_until 5 gone b-client || warn "mtclient did not see the server close"
bg_stop b-client "$TMP" 5 || true # it says "server closed the connection"
time_wait >"$TMP/b.tw"
capture_end b
expect b "the server's FIN first" '^conn 1: HS1 HS2 HS3 FIN1 .*FIN4$'
in_ns "$WIRE" bind 127.0.0.1 "$PORT_B" >"$TMP/b.bind" 2>&1 && {
	warn "a listener without SO_REUSEADDR could bind port $PORT_B during TIME_WAIT"
	failed=1
}
in_ns "$WIRE" bind --reuseaddr 127.0.0.1 "$PORT_B" >>"$TMP/b.bind" 2>&1 || {
	warn "a listener with SO_REUSEADDR could not bind port $PORT_B"
	failed=1
}
bg_start b2 "$TMP" -- ip netns exec "$NS" ./mtserver -b 127.0.0.1 -l "$TMP/b2.log" "$PORT_B"
if wait_until 5 grep -q 'listening on' "$TMP/b2.err"; then
	printf '%s\n' "mtserver restarted on the same port: $(head -n 1 "$TMP/b2.err")" >>"$TMP/b.bind"
else
	warn "mtserver could not restart on port $PORT_B: $(head -n 1 "$TMP/b2.err")"
	failed=1
fi
bg_stop b2 "$TMP" 10 || true

# C. The same lines over UDP, to the same server as A.
capture c "udp port $PORT_A"
printf 'hello\nbye\n' | timeout 10 ip netns exec "$NS" ./mtclient --udp --wait 200 127.0.0.1 "$PORT_A" \
	>"$TMP/client-c.out" 2>&1 || die "mtclient --udp failed: $(cat "$TMP/client-c.out")"
capture_end c
expect c "datagrams only" '^conn 1: DGRAM DGRAM DGRAM DGRAM$'
bg_stop a "$TMP" 10 || die "mtserver did not stop cleanly"

# D. Nobody listens on A's port now.
capture d "tcp port $PORT_A"
timeout 10 ip netns exec "$NS" ./mtclient 127.0.0.1 "$PORT_A" </dev/null >"$TMP/client-d.out" 2>&1 &&
	die "a connect to a closed port succeeded"
capture_end d
expect d "SYN answered by RST" '^conn 1: HS1 RST$'

# E. stserver's backlog of 5 is full.
server e ./stserver
PORT_E=$PORT
idle_client e-served "$PORT_E"
wait_until 5 grep -q ' connect$' "$TMP/e.log" || sleep 0.5
for i in 1 2 3 4 5 6; do
	idle_client "e-queued-$i" "$PORT_E"
done
# shellcheck disable=SC2317 # called by wait_until
queued() { [[ $(in_ns ss -Hltn "sport = :$PORT_E" | awk '{ print $2 }') == 6 ]]; }
wait_until 5 queued || warn "stserver's accept queue: $(in_ns ss -Hltn "sport = :$PORT_E")"
capture e "tcp port $PORT_E"
idle_client e-late "$PORT_E"
sleep "$RETRY_WAIT"
capture_end e
expect e "an unanswered SYN sent again" '^conn 1: HS1 RETRANS'
bg_stop_all "$TMP" 3

# ---------------------------------------------------------------------------
# Rendering.

# tw_line FILE PORT: the TIME_WAIT line of port PORT (either end).
tw_line() {
	awk -v p=":$2" 'NR > 1 && (substr($3, length($3) - length(p) + 1) == p ||
		substr($4, length($4) - length(p) + 1) == p)' "$1" | head -n 1
}
# gaps FILE: the seconds between consecutive packets of a capture.
gaps() {
	awk 'NR > 1 { printf "%s%.1f s", sep, $1 - prev; sep = ", " } { prev = $1 }' "$1"
}
# row_t TABLE PATTERN: the time column of the first row matching PATTERN.
row_t() { awk -F ' [|] ' -v re="$2" '$0 ~ re { print $2; exit }' "$1"; }

report() {
	local tw_a tw_b linear t2 td t3
	tw_a=$(tw_line "$TMP/a.tw" "$PORT_A")
	tw_b=$(tw_line "$TMP/b.tw" "$PORT_B")
	linear=$(in_ns sysctl -n net.ipv4.tcp_syn_linear_timeouts 2>/dev/null || true)
	"$WIRE" table "$TMP/a.txt" >"$TMP/a.md" || true
	t2=$(row_t "$TMP/a.md" 'teardown 2')
	td=$(row_t "$TMP/a.md" 'half-close')
	t3=$(row_t "$TMP/a.md" 'teardown 3')
	echo "# The handshake and the teardown, on the wire"
	echo
	echo "\`bench/lesson-handshake.sh\`: mtserver, stserver and mtclient in a network namespace of their own, tcpdump"
	echo "capturing on its \`lo\`; each packet annotated by \`bench/wire\` from \`tcpdump -nn -tt -S\` (absolute sequence"
	echo "numbers). *t* is milliseconds since the capture's first packet.  tcpdump prints no seq for a bare ACK; the"
	echo "table shows the one it carries, the sender's next sequence number."
	echo
	echo "## 1. One session, and 2. the half-close"
	echo
	# shellcheck disable=SC2028 # the backslashes are meant literally
	echo "\`printf 'hello\\nbye\\n' | mtclient 127.0.0.1 $PORT_A\` against \`mtserver --echo\`: mtclient sends its two lines, then"
	echo "\`shutdown(SHUT_WR)\` (its FIN) and reads the replies until the server closes.  The server was paused"
	echo "(SIGSTOP) for $PAUSE s meanwhile, standing in for a server with work still to do."
	echo
	cat "$TMP/a.md"
	echo
	echo "![the session as a sequence diagram](handshake.png)"
	echo
	echo "The client's FIN (step 1) says only \"I will send nothing more\".  The server's kernel acknowledges it on"
	echo "its own (step 2, at ${t2:-?} ms: a delayed ACK), but the connection stays open the other way: the replies"
	echo "leave at ${td:-?} ms, after the client's FIN, and only then the server's FIN (step 3, at ${t3:-?} ms).  That is"
	echo "why the teardown takes four steps and the handshake three: a SYN and the ACK of the peer's SYN can go"
	echo "together, a FIN often cannot.  (Without the pause the server replies within a fraction of a millisecond,"
	echo "and its kernel carries the ACK of the FIN on the reply: steps 2 and the data in one segment.)"
	echo
	echo "## 3. TIME_WAIT"
	echo
	echo "Right after session 1, \`ss -tan state time-wait -o\` in the namespace: the client closed first, so the"
	echo "client's end (its port, not $PORT_A) waits, with the time left:"
	echo
	echo '```'
	printf '%s\n' "${tw_a:-(no TIME_WAIT socket found)}"
	echo '```'
	echo
	echo "The same with the server closing first (SIGTERM while an idle client is connected; mtclient then closes"
	echo "too, and having nothing more to send, it acknowledges the server's FIN and sends its own in one segment):"
	echo
	"$WIRE" table "$TMP/b.txt" || true
	echo
	echo "Now the TIME_WAIT socket is the server's own port $PORT_B:"
	echo
	echo '```'
	printf '%s\n' "${tw_b:-(no TIME_WAIT socket found)}"
	echo '```'
	echo
	echo "So a server restarted at once must bind a port that a TIME_WAIT socket still holds: without \`SO_REUSEADDR\`"
	echo "it cannot (the tutorial's programs' mistake no. 11); with it, it can (\`bench/wire bind\`, then mtserver itself):"
	echo
	echo '```'
	cat "$TMP/b.bind"
	echo '```'
	echo
	echo "## 4. UDP, the contrast"
	echo
	# shellcheck disable=SC2028 # the backslashes are meant literally
	echo "\`printf 'hello\\nbye\\n' | mtclient --udp 127.0.0.1 $PORT_A\`: two datagrams out, two back.  No handshake, no"
	echo "teardown, no ACK: nothing tells the sender whether they arrived."
	echo
	"$WIRE" table "$TMP/c.txt" || true
	echo
	echo "## 5. Refusals"
	echo
	echo "A connect to port $PORT_A after mtserver has stopped: the kernel answers the SYN with a RST, which is what"
	echo "\`connect()\`'s \"Connection refused\" is:"
	echo
	"$WIRE" table "$TMP/d.txt" || true
	echo
	echo "\`stserver\` (one client at a time, \`listen(fd, 5)\`) serving one idle client with six more in its accept"
	echo "queue (a backlog of 5 holds 6): the next client's SYN is dropped without an answer, and its kernel sends"
	echo "the same SYN again and again (Lesson 1's \"slowest connect\").  Captured for $RETRY_WAIT s; the waits"
	echo "between the copies were $(gaps "$TMP/e.txt").  Linux doubles the wait after each retry (1 s, 2 s, 4 s, ...:"
	echo "retries 1, 3, 7, 15 s after the first SYN)$([[ -n $linear ]] && echo "; this kernel's net.ipv4.tcp_syn_linear_timeouts = $linear keeps the first few waits at 1 s")."
	echo
	"$WIRE" table "$TMP/e.txt" || true
	echo
	echo "Host: $(uname -sr), $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ) (\`bench/lesson-handshake.sh\`$([[ ${QUICK:-} == 1 ]] && echo ', QUICK=1'))."
}

mkdir -p "$(dirname "$OUT")"
report >"$OUT.md"
sed -i "s|(handshake.png)|($(basename "$OUT").png)|" "$OUT.md"
cp "$TMP/a.pcap" "$OUT.pcap"
rm -f "$OUT.png"
if command -v gnuplot >/dev/null; then
	"$WIRE" plot --title "mtserver --echo and mtclient: one session, the client closing first" "$TMP/a.txt" >"$TMP/a.gp"
	if ! gnuplot -e "outfile='$OUT.png'" "$TMP/a.gp" 2>"$TMP/gnuplot.err" || [[ ! -s $OUT.png ]]; then
		cat "$TMP/gnuplot.err" >&2
		warn "gnuplot failed: no picture"
	fi
fi
cat "$OUT.md"
say "wrote $OUT.md$([[ -s $OUT.png ]] && echo ", $OUT.png") and $OUT.pcap (capture 1, for Wireshark)"
if [[ ${PUBLISH:-} == 1 ]]; then
	if [[ ${QUICK:-} == 1 || $failed != 0 ]]; then
		warn "PUBLISH=1 ignored: only a full, successful run is published"
	else
		mkdir -p bench/published
		cp "$OUT.md" bench/published/
		[[ -s $OUT.png ]] && cp "$OUT.png" bench/published/
		say "published bench/published/handshake.md and handshake.png"
	fi
fi
exit "$failed"
