#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# lessons/lesson-handshake.sh - the three-way handshake and the four-way
# teardown of the tutorial, seen on the wire.
#
#   sudo make lesson-handshake            the lesson (~13 s)
#   sudo make lesson-handshake QUICK=1    the same, one SYN retry (~6 s)
#   sudo make lesson-handshake PUBLISH=1  ... and copy the table and the
#                                         picture to lessons/published/
#
# In a network namespace of its own (mtlesson-hs-PID, always removed on
# exit) tcpdump captures on lo while:
#   session       mtclient sends two lines to `mtserver --echo` and
#                 half-closes (shutdown(SHUT_WR)).  The server is paused
#                 (SIGSTOP) for PAUSE seconds meanwhile, standing in for a
#                 server with work still to do: its kernel acknowledges the
#                 client's FIN alone, and the replies follow after it - the
#                 reason the teardown takes four steps.  `ss` then shows
#                 the client's socket in TIME_WAIT.
#   unpaused      the same without the pause: a server that answers at once.
#   server-first  the server closes first (SIGTERM while a client is
#                 connected): the TIME_WAIT is on the server's port, and a
#                 listener without SO_REUSEADDR cannot bind it (`lessons/wire/wire
#                 bind`), one with it can, and mtserver restarts there.
#   udp           the same lines over UDP: datagrams only.
#   refused       a connect to the port nobody listens on any more: SYN,
#                 then RST.
#   backlog       stserver (listen backlog 5) holding one client with six
#                 more queued: the next client's SYN goes unanswered and is
#                 sent again (QUICK=1: only the first retry is waited for).
# Each capture must show what it is meant to (`lessons/wire/wire steps`), with
# every sequence and acknowledgement number obeying its rule.
#
# Measuring apart from rendering: the captures (tcpdump's pcap and its
# text, `tcpdump -nn -tt -S`), the ss and bind outputs go to
# lessons/results/handshake-data/; lessons/wire/wire renders them into
# lessons/results/handshake.md (each packet with its step in English and in
# the tutorial's Chinese, its numbers and the rule it shows) and the
# gnuplot script of handshake.png, the session's sequence diagram.
# QUICK=1 writes handshake-quick*.
#
# Needs root, iproute2 and tcpdump (installed with apt-get when missing;
# gnuplot-nox too, for the picture).  Without root or network namespaces
# it prints why and exits 0.  Every step is bounded by a timeout; traffic
# stays inside the namespace.
# Exit status: 0 ok or skipped, 1 a capture did not show what it should.
set -euo pipefail

BENCH_NAME=lesson-handshake
RESULTS_DIR=lessons/results PUBLISHED_DIR=lessons/published
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib.sh"

WIRE=${WIRE:-lessons/wire/wire}
PAUSE=0.3 # seconds the server is stopped: far above the 40 ms delayed ACK
if ((QUICK)); then
	RETRY_WAIT=1.6 # the SYN and its first retry, 1 s later
else
	RETRY_WAIT=7.6 # 1 + 2 + 4 s of exponential backoff, or more retries
fi
NS=mtlesson-hs-$$
FAILED=0

for prog in ./mtserver ./stserver ./mtclient "$WIRE"; do
	[[ -x $prog ]] || die "$prog not built (run: make)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root for a network namespace and tcpdump (try: sudo make lesson-handshake)"
need_cmd ip iproute2 || skip "ip (iproute2) is needed"
need_cmd ss iproute2 || skip "ss (iproute2) is needed"
need_cmd tcpdump tcpdump || skip "tcpdump is needed"
need_cmd gnuplot gnuplot-nox || warn "no gnuplot: no picture"

# bench_on_exit: wake a server left paused (SIGSTOP defers SIGTERM), stop
# our processes, then the namespace; anything still running in it is ours.
# shellcheck disable=SC2317 # called by lib.sh's exit trap
bench_on_exit() {
	local f
	for f in "$T"/*.pid; do
		[[ -e $f ]] || continue
		kill -CONT "$(cat "$f")" 2>/dev/null || true
	done
	ns_delete
}

# server NAME PROG ARGS...: PROG on 127.0.0.1, port 0, in the namespace,
# logging to $T/NAME.log; its port in SRV_PORT.
server() {
	local name=$1 prog=$2
	shift 2
	srv_start "$name" -- ip netns exec "$NS" "$prog" -b 127.0.0.1 -l "$T/$name.log" "$@" 0 ||
		die "$prog did not start"
}

# idle_client NAME PORT: mtclient connected to PORT, reading the FIFO that
# the script holds open, so sitting idle until it is stopped.
idle_client() {
	bg_start "$1" -- sh -c "exec ip netns exec '$NS' ./mtclient 127.0.0.1 $2 <'$T/idle.fifo'"
}

# logged NAME: the server NAME has logged a connect (its log may lag
# 100 ms behind).
# shellcheck disable=SC2317 # called by wait_until
logged() { grep -q ' connect$' "$T/$1.log" 2>/dev/null; }
# gone NAME: the process NAME has exited.
# shellcheck disable=SC2317 # called by wait_until
gone() { ! bg_alive "$1"; }

# capture NAME FILTER / capture_end NAME: tcpdump on lo into
# $DATA/NAME.pcap (an apparmor profile may allow tcpdump only *.pcap),
# then its text, `tcpdump -nn -tt -S` (absolute sequence numbers), in
# $DATA/NAME.txt.
capture() {
	bg_start "$1.tcpdump" -- ip netns exec "$NS" \
		tcpdump -i lo -nn -U --immediate-mode -Z root -w "$DATA/$1.pcap" "$2"
	wait_until 5 grep -q 'listening on' "$T/$1.tcpdump.err" ||
		die "tcpdump did not start: $(head -n 3 "$T/$1.tcpdump.err")"
}
capture_end() {
	sleep 0.2 # the last packets reach the file
	bg_stop "$1.tcpdump" 5 INT || true
	timeout 10 tcpdump -r "$DATA/$1.pcap" -nn -tt -S >"$DATA/$1.txt" 2>/dev/null ||
		die "tcpdump cannot read its capture $1"
}

# time_wait: the namespace's TIME_WAIT sockets with their timers.
time_wait() { in_ns ss -tan state time-wait -o; }

# expect NAME WHAT REGEX: the steps of capture NAME (wire steps)
# match REGEX and break no rule, else the lesson failed.
expect() {
	local steps
	steps=$("$WIRE" steps "$DATA/$1.txt") || true
	if ! grep -Eq -- "$3" <<<"$steps" || ! grep -q 'violations=0' <<<"$steps"; then
		warn "capture $1 does not show $2: $steps"
		FAILED=1
	fi
}
# flunk WHAT: the lesson failed.
flunk() {
	warn "$1"
	FAILED=1
}

# ---------------------------------------------------------------------------
# Measuring

measure_session() {
	local client port
	server session ./mtserver --echo
	port=$SRV_PORT
	echo "$port" >"$DATA/session.port"
	capture session "tcp port $port"
	kill -STOP "$(cat "$T/session.pid")"
	printf 'hello\nbye\n' | in_ns ./mtclient 127.0.0.1 "$port" >"$T/client.out" 2>"$T/client.err" &
	client=$!
	sleep "$PAUSE"
	kill -CONT "$(cat "$T/session.pid")"
	wait "$client" || die "mtclient failed: $(cat "$T/client.err")"
	time_wait >"$DATA/session.tw"
	capture_end session
	expect session "four separate teardown steps, the replies between the second and the third" \
		'^conn 1: HS1 HS2 HS3 .*FIN1 FIN2 DATA\(half-close\) .*FIN3 FIN4$'
}

# The same session without the pause: what a server that answers at once
# looks like (how its replies and its ACK of the FIN fall depends on
# scheduling, so nothing is expected but a complete teardown).
measure_unpaused() {
	local port
	port=$(cat "$DATA/session.port")
	capture unpaused "tcp port $port"
	printf 'hello\nbye\n' | in_ns ./mtclient 127.0.0.1 "$port" >"$T/client.out" 2>"$T/client.err" ||
		die "mtclient failed: $(cat "$T/client.err")"
	capture_end unpaused
	expect unpaused "a complete session" '^conn 1: HS1 HS2 HS3 .*FIN1 .*FIN3 FIN4$'
}

# The session's server goes on serving UDP: the same lines, as datagrams.
measure_udp() {
	local port
	port=$(cat "$DATA/session.port")
	capture udp "udp port $port"
	printf 'hello\nbye\n' | in_ns ./mtclient --udp --wait 200 127.0.0.1 "$port" >"$T/client.out" 2>&1 ||
		die "mtclient --udp failed: $(cat "$T/client.out")"
	capture_end udp
	expect udp "datagrams only" '^conn 1: DGRAM DGRAM DGRAM DGRAM$'
	srv_stop session || die "mtserver did not stop cleanly"
}

# Nobody listens on the session's port now.
measure_refused() {
	local port
	port=$(cat "$DATA/session.port")
	capture refused "tcp port $port"
	in_ns ./mtclient 127.0.0.1 "$port" </dev/null >"$T/client.out" 2>&1 &&
		die "a connect to a closed port succeeded"
	capture_end refused
	expect refused "a SYN answered by RST" '^conn 1: HS1 RST$'
}

measure_server_first() {
	local port bind="$DATA/server-first.bind"
	server first ./mtserver --echo
	port=$SRV_PORT
	echo "$port" >"$DATA/server-first.port"
	capture server-first "tcp port $port"
	idle_client first-client "$port"
	wait_until 5 logged first || warn "mtserver logged no connect"
	srv_stop first || die "mtserver did not stop cleanly"
	wait_until 5 gone first-client || warn "mtclient did not see the server close"
	bg_stop first-client 5 || true # it says "server closed the connection"
	time_wait >"$DATA/server-first.tw"
	capture_end server-first
	expect server-first "the server's FIN first" '^conn 1: HS1 HS2 HS3 FIN1 .*FIN4$'
	if in_ns "$WIRE" bind 127.0.0.1 "$port" >"$bind" 2>&1; then
		flunk "a listener without SO_REUSEADDR could bind port $port during TIME_WAIT"
	fi
	in_ns "$WIRE" bind --reuseaddr 127.0.0.1 "$port" >>"$bind" 2>&1 ||
		flunk "a listener with SO_REUSEADDR could not bind port $port"
	if srv_start again -- ip netns exec "$NS" ./mtserver -b 127.0.0.1 -l "$T/again.log" "$port"; then
		echo "mtserver restarted on the same port: $(head -n 1 "$T/again.err")" >>"$bind"
		srv_stop again || true
	else
		flunk "mtserver could not restart on port $port"
	fi
}

# stserver's accept queue full (listen backlog 5 holds 6 connections).
measure_backlog() {
	local port i c
	server backlog ./stserver
	port=$SRV_PORT
	idle_client served "$port"
	wait_until 5 logged backlog || warn "stserver logged no connect"
	for i in 1 2 3 4 5 6; do
		idle_client "queued-$i" "$port"
	done
	# shellcheck disable=SC2317 # called by wait_until
	queue_full() { [[ $(in_ns ss -Hltn "sport = :$port" | awk '{ print $2 }') == 6 ]]; }
	wait_until 5 queue_full || warn "stserver's accept queue: $(in_ns ss -Hltn "sport = :$port")"
	capture backlog "tcp port $port"
	idle_client late "$port"
	sleep "$RETRY_WAIT"
	capture_end backlog
	echo "$RETRY_WAIT" >"$DATA/backlog.secs"
	in_ns sysctl -n net.ipv4.tcp_syn_linear_timeouts >"$DATA/syn_linear_timeouts" 2>/dev/null || : >"$DATA/syn_linear_timeouts"
	expect backlog "an unanswered SYN sent again" '^conn 1: HS1 RETRANS'
	# The clients first: stopping, stserver serves what it holds to the
	# end, the session and each queued connection until it closes or is
	# quiet for half a second - 3.5 s for seven idle clients.  Closed, each
	# ends at once, and the stop takes milliseconds.
	for c in late served queued-{1..6}; do
		bg_stop "$c" 5 || true # killed by SIGTERM: 143
	done
	bg_stop backlog 3 || flunk "stserver did not stop cleanly within 3 s of SIGTERM (status $?)"
}

# ---------------------------------------------------------------------------
# Rendering

# tw_line FILE PORT: the TIME_WAIT line of port PORT (either end).
tw_line() {
	awk -v p=":$2" 'NR > 1 && (substr($3, length($3) - length(p) + 1) == p ||
		substr($4, length($4) - length(p) + 1) == p)' "$1" | head -n 1
}
# unpaused_story FILE: what the unpaused session shows, in words.
unpaused_story() {
	local steps
	steps=$("$WIRE" steps "$1" | head -n 1)
	case $steps in
	*" FIN2+DATA(half-close)"*)
		echo "the server answers within a fraction of a millisecond, so its kernel carries the ACK of the client's" \
			"FIN on the reply (steps 2 and the data in one segment), the data still after the FIN."
		;;
	*" FIN2 DATA(half-close)"*) echo "the ACK of the FIN went alone even so, and the replies after it." ;;
	*"DATA(half-close)"*" FIN2+FIN3"*)
		echo "the replies left after the client's FIN but before the server's kernel had taken the FIN in (their" \
			"ack does not count it); its ACK then rode on the server's FIN (steps 2 and 3 in one segment)."
		;;
	*"(half-close)"*) echo "the replies still follow the client's FIN." ;;
	*) echo "this time the server read and answered the lines before the client's FIN arrived, so the replies come before the teardown." ;;
	esac
}
# row_t TABLE PATTERN: the time column of the first row matching PATTERN.
row_t() { awk -F ' [|] ' -v re="$2" '$0 ~ re { print $2; exit }' "$1"; }

# render DIR PNG: the Markdown of the captures in DIR (what measure_*
# wrote), the picture being PNG (a name beside the Markdown).
render() {
	local d=$1 png=$2 port_a port_b tw_a tw_b linear t2 td t3
	port_a=$(cat "$d/session.port")
	port_b=$(cat "$d/server-first.port")
	tw_a=$(tw_line "$d/session.tw" "$port_a")
	tw_b=$(tw_line "$d/server-first.tw" "$port_b")
	linear=$(cat "$d/syn_linear_timeouts")
	"$WIRE" table "$d/session.txt" >"$T/session.md" || true
	t2=$(row_t "$T/session.md" 'teardown 2')
	td=$(row_t "$T/session.md" 'half-close')
	t3=$(row_t "$T/session.md" 'teardown 3')
	echo "# The handshake and the teardown, on the wire"
	echo
	echo "\`lessons/lesson-handshake.sh\`: mtserver, stserver and mtclient in a network namespace of their own, tcpdump"
	echo "capturing on its \`lo\`; each packet annotated by \`lessons/wire/wire\` from \`tcpdump -nn -tt -S\` (absolute sequence"
	echo "numbers). *t* is milliseconds since the capture's first packet.  tcpdump prints no seq for a bare ACK; the"
	echo "table shows the one it carries, the sender's next sequence number."
	echo
	echo "## 1. One session, and 2. the half-close"
	echo
	# shellcheck disable=SC2028 # the backslashes are meant literally
	echo "\`printf 'hello\\nbye\\n' | mtclient 127.0.0.1 $port_a\` against \`mtserver --echo\`: mtclient sends its two lines, then"
	echo "\`shutdown(SHUT_WR)\` (its FIN) and reads the replies until the server closes.  The server was paused"
	echo "(SIGSTOP) for $PAUSE s meanwhile, standing in for a server with work still to do."
	echo
	cat "$T/session.md"
	echo
	echo "![the session as a sequence diagram]($png)"
	echo
	echo "The client's FIN (step 1) says only \"I will send nothing more\".  The server's kernel acknowledges it on"
	echo "its own (step 2, at ${t2:-?} ms: a delayed ACK), but the connection stays open the other way: the replies"
	echo "leave at ${td:-?} ms, after the client's FIN, and only then the server's FIN (step 3, at ${t3:-?} ms).  That is"
	echo "why the teardown takes four steps and the handshake three: a SYN and the ACK of the peer's SYN can go"
	echo "together, a FIN often cannot."
	echo
	echo "The same session without the pause: $(unpaused_story "$d/unpaused.txt")"
	echo
	"$WIRE" table "$d/unpaused.txt" || true
	echo
	echo "## 3. TIME_WAIT"
	echo
	echo "Right after session 1, \`ss -tan state time-wait -o\` in the namespace: the client closed first, so the"
	echo "client's end (its port, not $port_a) waits, with the time left:"
	echo
	echo '```'
	printf '%s\n' "${tw_a:-(no TIME_WAIT socket found)}"
	echo '```'
	echo
	echo "The same with the server closing first (SIGTERM while an idle client is connected; mtclient then closes"
	echo "too, and having nothing more to send, it acknowledges the server's FIN and sends its own in one segment):"
	echo
	"$WIRE" table "$d/server-first.txt" || true
	echo
	echo "Now the TIME_WAIT socket is the server's own port $port_b:"
	echo
	echo '```'
	printf '%s\n' "${tw_b:-(no TIME_WAIT socket found)}"
	echo '```'
	echo
	echo "So a server restarted at once must bind a port that a TIME_WAIT socket still holds: without \`SO_REUSEADDR\`"
	echo "it cannot (the tutorial's programs' mistake no. 11); with it, it can (\`lessons/wire/wire bind\`, then mtserver itself):"
	echo
	echo '```'
	cat "$d/server-first.bind"
	echo '```'
	echo
	echo "## 4. UDP, the contrast"
	echo
	# shellcheck disable=SC2028 # the backslashes are meant literally
	echo "\`printf 'hello\\nbye\\n' | mtclient --udp 127.0.0.1 $port_a\`: two datagrams out, two back.  No handshake, no"
	echo "teardown, no ACK: nothing tells the sender whether they arrived."
	echo
	"$WIRE" table "$d/udp.txt" || true
	echo
	echo "## 5. Refusals"
	echo
	echo "A connect to port $port_a after mtserver has stopped: the kernel answers the SYN with a RST, which is what"
	echo "\`connect()\`'s \"Connection refused\" is:"
	echo
	"$WIRE" table "$d/refused.txt" || true
	echo
	echo "\`stserver\` (one client at a time, \`listen(fd, 5)\`) serving one idle client with six more in its accept"
	echo "queue (a backlog of 5 holds 6): the next client's SYN is dropped without an answer, and its kernel sends"
	echo "the same SYN again and again (Lesson 1's \"slowest connect\").  Captured for $(cat "$d/backlog.secs") s; the waits"
	echo "between the copies were $(py lessons/lessonlib.py gaps "$d/backlog.txt").  Linux doubles the wait after each retry (1 s, 2 s, 4 s, ...:"
	echo "retries 1, 3, 7, 15 s after the first SYN)$([[ -n $linear ]] && echo "; this kernel's net.ipv4.tcp_syn_linear_timeouts = $linear keeps the first few waits at 1 s")."
	echo
	"$WIRE" table "$d/backlog.txt" || true
	echo
	echo "Host: $(cat "$d/host"); $(cat "$d/started") (\`lessons/lesson-handshake.sh\`$( ((QUICK)) && echo ', QUICK=1'))."
}

main() {
	local out
	bench_begin
	out=$(bench_out handshake)
	DATA=$out-data
	rm -rf "$DATA" "$out.md" "$out.png"
	mkdir -p "$DATA"
	ns_create "$NS" || skip "cannot create a network namespace: $(head -n 1 "$T/netns.err")"
	mkfifo "$T/idle.fifo"
	exec 3<>"$T/idle.fifo" # held open: the idle clients never read EOF
	say "namespace $NS"
	date -u +%Y-%m-%dT%H:%MZ >"$DATA/started"
	echo "$(uname -sr), $(nproc) CPUs" >"$DATA/host"

	measure_session
	measure_unpaused
	measure_udp
	measure_refused
	measure_server_first
	measure_backlog

	render "$DATA" "${out##*/}.png" >"$out.md"
	if command -v gnuplot >/dev/null; then
		"$WIRE" plot --title "mtserver --echo and mtclient: one session, the client closing first" \
			"$DATA/session.txt" >"$DATA/session.gp"
		if ! gnuplot -e "outfile='$out.png'" "$DATA/session.gp" 2>"$T/gnuplot.err" || [[ ! -s $out.png ]]; then
			warn "gnuplot failed, no picture: $(head -n 3 "$T/gnuplot.err")"
		fi
	fi
	cat "$out.md"
	say "wrote $out.md$([[ -s $out.png ]] && echo ", $out.png"); captures in $DATA/ (session.pcap for Wireshark)"
	bench_publish "$FAILED" "$out.md" "$out.png"
	exit "$FAILED"
}

main "$@"
