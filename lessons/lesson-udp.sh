#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# lessons/lesson-udp.sh - TCP vs UDP on a lossy link, for the classroom.
#
#   sudo make lesson-udp            10 clients x 1000 messages, 5 % loss
#   sudo make lesson-udp LOSS=20    another loss rate (0-100)
#   sudo make lesson-udp QUICK=1    5 clients x 200 messages
#   sudo make lesson-udp PUBLISH=1  ... and copy the results to lessons/published/
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
# lessons/lessonlib.py makes lessons/results/lossy.json (QUICK: lossy-quick.
# json) of what it measured, and lossy.md of that, also printed on stdout.
# Exit status: 0 ok or skipped, 1 failed.
set -euo pipefail

BENCH_NAME=lesson-udp
RESULTS_DIR=lessons/results PUBLISHED_DIR=lessons/published
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib.sh"

FLOOD=${FLOOD:-bench/flood}
LOSS=${LOSS:-5}
if ((QUICK)); then
	CLIENTS=5 MESSAGES=200 RATE=2000
else
	CLIENTS=10 MESSAGES=1000 RATE=5000
fi
NS=mtlesson-$$

[[ $LOSS =~ ^[0-9]+$ && $LOSS -le 100 ]] || die "LOSS must be a whole percentage 0-100 (got '$LOSS')"
for prog in ./mtserver "$FLOOD"; do
	[[ -x $prog ]] || die "$prog not built (run: make)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root for a network namespace and nftables (try: sudo make lesson-udp)"
need_cmd ip iproute2 || skip "ip (iproute2) is needed"
need_cmd nft nftables || skip "nft (nftables) is needed"

# bench_on_exit: our processes, then the namespace.
# shellcheck disable=SC2317 # called by lib.sh's exit trap
bench_on_exit() { ns_delete; }

# loss_on PERCENT / loss_off: the nftables table that drops packets.
loss_on() {
	in_ns nft -f - <<-EOF
		table inet lossy {
			chain in {
				type filter hook input priority 0; policy accept;
				iifname "lo" numgen random mod 100 < $1 counter drop
			}
		}
	EOF
}
loss_off() { in_ns nft delete table inet lossy 2>/dev/null || true; }
# dropped: packets the rule has dropped so far (0 without the table).
dropped() {
	in_ns nft list table inet lossy 2>/dev/null |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' |
		head -n 1 | grep . || echo 0
}
# retrans: TCP segments retransmitted in the namespace so far.
retrans() {
	in_ns cat /proc/net/snmp |
		awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RetransSegs"] }'
}

# flood_args MODE: flood's arguments for a way to send, and LABEL.
LABEL=''
flood_args() {
	FARGS=(-H 127.0.0.1 -p "$SRV_PORT" -n "$CLIENTS" -m "$MESSAGES" --max-time 120 --json)
	case $1 in
	udp) FARGS+=(--udp --rate "$RATE") LABEL="udp, $RATE msg/s" ;;
	# Retransmissions can delay the close handshake: wait long enough.
	tcp-paced) FARGS+=(--timeout 30000 --rate "$RATE") LABEL="tcp, $RATE msg/s" ;;
	tcp) FARGS+=(--timeout 30000) LABEL="tcp, flat out" ;;
	esac
}

# run LOSS MODE: one server, one flood, one verification; the exit statuses
# and counters become the facts of run:MODE-LOSS.
run() {
	local loss=$1 mode=$2 tr=${2%-*} id=$2-$1 frc=0 src=0 drops=0 rt0 rt1
	if ((loss > 0)); then loss_on "$loss" || die "nft failed"; else loss_off; fi
	# ip netns exec execs its command: the pid is mtserver's.
	srv_start "$id" -- ip netns exec "$NS" ./mtserver -b 127.0.0.1 -l "$T/$id.log" 0 ||
		die "mtserver did not start in $NS"
	flood_args "$mode"
	rt0=$(retrans)
	timeout -k 5 150 ip netns exec "$NS" "$FLOOD" "${FARGS[@]}" >"$T/$id.json" 2>"$T/$id.flood" || frc=$?
	sleep 0.5 # let the server read what is still in its socket buffer
	srv_stop "$id" || src=$?
	rt1=$(retrans)
	((loss > 0)) && drops=$(dropped)
	loss_off
	[[ -n $(bget "$T/$id.json" messages_sent) ]] || die "flood failed over $tr (status $frc): $(tail -n 3 "$T/$id.flood")"
	timeout 60 "$FLOOD" --verify-log "$T/$id.log" -n "$CLIENTS" -m "$MESSAGES" --json >"$T/$id.verify.json" \
		2>"$T/verify.err" || true
	[[ -n $(bget "$T/$id.verify.json" found) ]] ||
		die "flood --verify-log could not read the $tr log: $(head -n 3 "$T/verify.err")"
	fact "run:$id" label "$LABEL" transport "$tr" loss_pct "$loss" frc "$frc" src "$src" packets_dropped "$drops" \
		tcp_retransmits "$([[ $tr == tcp ]] && echo $((rt1 - rt0)) || echo -)"
	say "$LABEL, loss $loss %: sent $(bget "$T/$id.json" messages_sent), logged $(bget "$T/$id.verify.json" found); $drops packets dropped"
}

# write_results: lossy.json and lossy.md; exit status 1 when a run failed.
write_results() {
	local out rc=0
	out=$(bench_out lossy)
	fact lossy quick "$QUICK" started "$(date -u +%Y-%m-%dT%H:%MZ)" kernel "$(uname -sr)" nproc "$(nproc)" \
		clients "$CLIENTS" messages "$MESSAGES" rate "$RATE" loss_pct "$LOSS"
	py lessons/lessonlib.py results lossy "$T" "$out.json" || rc=1
	py lessons/lessonlib.py render lossy "$out.json" >"$out.md"
	cat "$out.md"
	say "wrote $out.json and $out.md"
	bench_publish "$rc" "$out.json" "$out.md"
	return "$rc"
}

main() {
	local loss mode losses=(0)
	bench_begin
	ns_create "$NS" || skip "cannot create a network namespace: $(head -n 1 "$T/netns.err")"
	# nftables may not work here (a container without nf_tables).
	loss_on "$LOSS" 2>"$T/nft.err" || skip "nftables does not work here: $(head -n 1 "$T/nft.err")"
	loss_off
	say "namespace $NS; $CLIENTS clients x $MESSAGES messages; UDP at $RATE messages/s; loss $LOSS %"
	((LOSS > 0)) && losses+=("$LOSS")
	for loss in "${losses[@]}"; do
		for mode in udp tcp-paced tcp; do run "$loss" "$mode"; done
	done
	write_results
}

main "$@"
