#!/usr/bin/env bash
# bench/lesson-udp.sh - TCP vs UDP on a lossy link, for the classroom.
#
#   sudo make lesson-udp            10 clients x 1000 messages, 5 % loss
#   sudo make lesson-udp LOSS=20    another loss rate (0-100)
#   sudo make lesson-udp QUICK=1    5 clients x 200 messages
#
# In a network namespace of its own (mtlesson-PID, always removed on exit)
# the script brings up lo, runs mtserver on 127.0.0.1 there, and sends the
# same flood messages over TCP and over UDP, first on a clean link and then
# with nftables dropping LOSS % of the packets at random.  On loopback
# every packet passes the output hook once (leaving the sender) and the
# input hook once (arriving), so the rule sits on one hook only and each
# packet gets exactly one chance of LOSS % to be lost.  It is the input
# hook: a packet dropped on output makes the sender's send() fail with
# EPERM, a signal no real lossy link gives (flood would stop on it); a drop
# on input is silent, like a packet lost on the wire.  After each run the
# server is stopped (SIGTERM, which flushes its log) and
# `flood --verify-log` counts which messages reached the log.  TCP retransmits, so it delivers every message, later;
# UDP does not, so about LOSS % of the datagrams are gone.
#
# Three ways to send, each on the clean and on the lossy link:
#   udp         paced with --rate RATE, so that the receiver's socket
#               buffer is never the cause of a loss;
#   tcp paced   the same messages at the same rate: about as many packets
#               as UDP, so about as many drops - and all recovered;
#   tcp         as fast as it goes: the stream packs thousands of messages
#               into each large segment, so only a few packets are dropped,
#               but each costs a retransmission timeout (>= 200 ms).
# The time column shows what the retransmissions cost.
#
# Needs root, iproute2 and nftables (installed with apt-get when missing).
# Without root or network namespaces it prints why and exits 0.  Every
# step is bounded by timeout(1); traffic stays inside the namespace.
# Output: the table on stdout and in bench/results/lossy.md (QUICK=1:
# stdout only, so the real results stay).
# Exit status: 0 ok or skipped, 1 failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FLOOD=${FLOOD:-bench/flood}
LOSS=${LOSS:-5}
if [[ ${QUICK:-} == 1 ]]; then
	CLIENTS=5 MESSAGES=200 RATE=2000
	OUT= # a smoke run: the table on stdout only
else
	CLIENTS=10 MESSAGES=1000 RATE=5000
	OUT=bench/results/lossy.md
fi
NS=mtlesson-$$

say() { printf 'lesson-udp: %s\n' "$*" >&2; }
die() {
	printf 'lesson-udp: error: %s\n' "$*" >&2
	exit 1
}
skip() {
	printf 'lesson-udp: skipped: %s\n' "$*" >&2
	exit 0
}

[[ $LOSS =~ ^[0-9]+$ && $LOSS -le 100 ]] || die "LOSS must be a whole percentage 0-100 (got '$LOSS')"
for prog in ./mtserver "$FLOOD"; do
	[[ -x $prog ]] || die "$prog not built (run: make)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root for a network namespace and nftables (try: sudo make lesson-udp)"

# need CMD PKG: CMD on PATH, or apt-get install PKG (bounded); else skip.
APT_UPDATED=
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	command -v apt-get >/dev/null 2>&1 || skip "$1 not found and no apt-get to install $2"
	say "installing $2"
	export DEBIAN_FRONTEND=noninteractive
	if [[ -z $APT_UPDATED ]]; then
		timeout 180 apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed"
		APT_UPDATED=1
	fi
	timeout 300 apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 ||
		skip "could not install $2 (for $1)"
	hash -r
	command -v "$1" >/dev/null 2>&1 || skip "$2 installed but $1 is still not on PATH"
}
need ip iproute2
need nft nftables

TMP=$(mktemp -d)
SERVER_PID=
NS_MADE=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ -n $NS_MADE ]]; then
		# Anything of ours still running in the namespace (only our
		# processes can be there), then the namespace itself, which takes
		# its nftables table with it.
		local pid
		for pid in $(ip netns pids "$NS" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		timeout 10 ip netns delete "$NS" 2>/dev/null || say "could not delete namespace $NS (ip netns delete $NS)"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout 10 ip netns add "$NS" 2>"$TMP/netns.err" ||
	skip "cannot create a network namespace: $(head -n 1 "$TMP/netns.err")"
NS_MADE=1
timeout 10 ip -n "$NS" link set lo up || die "cannot bring up lo in $NS"

# loss_on PERCENT / loss_off: the nftables table that drops packets.
loss_on() {
	timeout 10 ip netns exec "$NS" nft -f - <<-EOF
		table inet lossy {
			chain in {
				type filter hook input priority 0; policy accept;
				iifname "lo" numgen random mod 100 < $1 counter drop
			}
		}
	EOF
}
loss_off() {
	timeout 10 ip netns exec "$NS" nft delete table inet lossy 2>/dev/null || true
}
# dropped: packets the rule has dropped so far (0 without the table).
dropped() {
	timeout 10 ip netns exec "$NS" nft list table inet lossy 2>/dev/null |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' |
		head -n 1 | grep . || echo 0
}
# retrans: TCP segments retransmitted in the namespace so far (its own
# /proc/net/snmp).
retrans() {
	timeout 10 ip netns exec "$NS" cat /proc/net/snmp |
		awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RetransSegs"] }'
}
# Check nftables works here (a container may lack nf_tables) before running.
loss_on "$LOSS" 2>"$TMP/nft.err" || skip "nftables does not work here: $(head -n 1 "$TMP/nft.err")"
loss_off

# start_server LOG ERR: mtserver in the namespace on 127.0.0.1, port 0;
# sets SERVER_PID and PORT (bounded wait: 5 s).
start_server() {
	local i
	: >"$2" # exists before the background job opens it (sed below)
	# Not through a shell function: $! must be the process that gets
	# SIGTERM, and ip netns exec execs its command (same pid).
	ip netns exec "$NS" ./mtserver -b 127.0.0.1 -l "$1" 0 </dev/null >/dev/null 2>"$2" &
	SERVER_PID=$!
	PORT=
	for ((i = 0; i < 50; i++)); do
		PORT=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\) (.*/\1/p' "$2")
		[[ -n $PORT ]] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$2" >&2
	return 1
}

# stop_server: SIGTERM, up to 10 s, then SIGKILL; returns its exit status.
stop_server() {
	local pid=$SERVER_PID rc=0 i
	SERVER_PID=
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		[[ $(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo gone) =~ ^(Z|gone)$ ]] && break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null && [[ $(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) != Z ]]; then
		say "mtserver ignored SIGTERM for 10 s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" || rc=$?
	return "$rc"
}

# jnum FILE KEY: first numeric member KEY of the (flat) JSON in FILE.
jnum() {
	tr -d '\n' <"$1" | grep -oE "\"$2\":[-0-9.eE+]+" | head -n 1 | cut -d: -f2 || true
}

failed=0
ROWS=$TMP/rows
: >"$ROWS"

# run LOSS TRANSPORT: one server, one flood, one verification; a table row.
run() {
	local loss=$1 mode=$2 log=$TMP/$2-$1.log err=$TMP/$2-$1.err json=$TMP/$2-$1.json
	local tr=${2%-*} label
	local args frc=0 src=0 sent elapsed found dup lost pct note='' drops=0 rt0 rt1 rt
	if ((loss > 0)); then loss_on "$loss" || die "nft failed"; else loss_off; fi
	start_server "$log" "$err" || die "mtserver did not start in $NS"
	args=(-H 127.0.0.1 -p "$PORT" -n "$CLIENTS" -m "$MESSAGES" --max-time 120 --json)
	case $mode in
	udp)
		args+=(--udp --rate "$RATE")
		label="udp, $RATE msg/s"
		;;
	tcp-paced)
		# Retransmissions can delay the close handshake: wait long enough.
		args+=(--timeout 30000 --rate "$RATE")
		label="tcp, $RATE msg/s"
		;;
	tcp)
		args+=(--timeout 30000)
		label="tcp, flat out"
		;;
	esac
	rt0=$(retrans)
	timeout -k 5 150 ip netns exec "$NS" "$FLOOD" "${args[@]}" >"$json" 2>"$TMP/flood.err" || frc=$?
	# Let the server read what is still in its socket buffer.
	sleep 0.5
	stop_server || src=$?
	rt1=$(retrans)
	((loss > 0)) && drops=$(dropped)
	loss_off
	sent=$(jnum "$json" messages_sent)
	elapsed=$(jnum "$json" elapsed_s)
	if [[ -z $sent || -z $elapsed ]]; then
		tail -n 5 "$TMP/flood.err" >&2 || true
		die "flood failed over $tr (status $frc)"
	fi
	((src == 0)) || {
		note="mtserver exit status $src"
		failed=1
	}
	if ((frc != 0)); then
		# Over TCP every message must arrive; over UDP flood has nothing
		# to complain about (no --echo), so any failure is real.
		note="${note:+$note; }flood status $frc"
		failed=1
		tail -n 5 "$TMP/flood.err" >&2 || true
	fi
	timeout 60 "$FLOOD" --verify-log "$log" -n "$CLIENTS" -m "$MESSAGES" --json \
		>"$TMP/verify.json" 2>"$TMP/verify.err" || true
	found=$(jnum "$TMP/verify.json" found)
	dup=$(jnum "$TMP/verify.json" duplicated)
	[[ -n $found ]] || die "flood --verify-log could not read the $tr log: $(head -n 3 "$TMP/verify.err")"
	lost=$((sent - found))
	pct=$(awk -v l="$lost" -v s="$sent" 'BEGIN { printf "%.2f", (s > 0 ? 100 * l / s : 0) }')
	if [[ $tr == tcp ]] && ((lost != 0)); then
		note="${note:+$note; }TCP lost messages!"
		failed=1
	fi
	((dup == 0)) || note="${note:+$note; }$dup duplicated"
	[[ $tr == tcp ]] && rt=$((rt1 - rt0)) || rt=-
	printf '| %s | %s %% | %s | %s | %s | %s %% | %.3f s | %s | %s | %s |\n' \
		"$label" "$loss" "$sent" "$found" "$lost" "$pct" "$elapsed" "$drops" "$rt" "$note" >>"$ROWS"
	say "$(printf '%s, loss %3s %%: sent %s, logged %s, lost %s (%s %%), %.3f s; %s packets dropped, %s retransmitted %s' \
		"$label" "$loss" "$sent" "$found" "$lost" "$pct" "$elapsed" "$drops" "$rt" "$note")"
}

say "namespace $NS; $CLIENTS clients x $MESSAGES messages; UDP at $RATE messages/s; loss $LOSS %"
losses=(0)
((LOSS > 0)) && losses+=("$LOSS")
for loss in "${losses[@]}"; do
	for mode in udp tcp-paced tcp; do
		run "$loss" "$mode"
	done
done

table() {
	echo "# TCP vs UDP on a lossy link"
	echo
	echo "mtserver and flood in a network namespace of their own; nftables drops a random LOSS % of the packets"
	echo "arriving on lo (\`numgen random mod 100 < LOSS drop\` on the input hook: each packet gets one chance to be"
	echo "dropped, and the sender is not told).  $CLIENTS clients x $MESSAGES messages of 32 bytes, the same over both transports"
	echo "(\`flood -n $CLIENTS -m $MESSAGES\` with \`--udp --rate $RATE\`, \`--rate $RATE\` or nothing); *logged* counts the messages"
	echo "\`flood --verify-log\` finds in the server's log."
	echo
	echo "*packets dropped*: the nftables rule's counter (every packet: data, ACKs, handshakes);"
	echo "*TCP retransmits*: the namespace's TcpRetransSegs during the run."
	echo
	echo "| transport | loss | sent | logged | lost | lost % | time | packets dropped | TCP retransmits | note |"
	echo "|:--|--:|--:|--:|--:|--:|--:|--:|--:|:--|"
	cat "$ROWS"
	echo
	echo "Host: $(uname -sr), $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ) (\`bench/lesson-udp.sh\`$([[ ${QUICK:-} == 1 ]] && echo ', QUICK=1'))."
}
if [[ -n $OUT ]]; then
	mkdir -p "$(dirname "$OUT")"
	table >"$OUT"
	cat "$OUT"
	say "wrote $OUT"
else
	table
fi
exit "$failed"
