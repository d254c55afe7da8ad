#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_dead_peer.sh - a member whose link died (no FIN, no RST) does not
# haunt the room (issue 21 item 7): mtserver --chat in one network
# namespace, the member in another, joined by a veth pair; the member's
# link is set down.  With short --keepalive and --tcp-user-timeout the
# server drops it within the bound, logs reason=dead-peer, tells the room
# "* user1 left (link lost)", and /who no longer lists it - whether the
# room was quiet (keepalive finds it) or talking to it (the user timeout
# does).  Root only (namespaces); skipped, saying why, otherwise.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS_SRV=mtdp-s$$
NS_CLI=mtdp-c$$
VETH_SRV=mtdps$$
VETH_CLI=mtdpc$$
SRV_ADDR=10.211.77.1
CLI_ADDR=10.211.77.2
NS_UP=0
# Generous: the server's bound is about 3 s with the options below.
DEAD_WITHIN=30

# shellcheck disable=SC2317 # called by bench/lib.sh's exit trap
bench_on_exit() {
	bg_stop_all 5
	if ((NS_UP)); then
		ip netns delete "$NS_SRV" 2>/dev/null || warn "ip netns delete $NS_SRV failed"
		ip netns delete "$NS_CLI" 2>/dev/null || warn "ip netns delete $NS_CLI failed"
	fi
}

# ns_pair: two namespaces and a veth pair between them, or a reason on
# stdout and status 1.  Not in a subshell: NS_UP tells the exit trap.
ns_pair() {
	[[ $(id -u) == 0 ]] || { echo "network namespaces need root"; return 1; }
	command -v ip >/dev/null || { echo "no ip: install iproute2"; return 1; }
	timeout 10 ip netns add "$NS_SRV" 2>"$T_TMP/ns.err" || { echo "cannot make a namespace: $(cat "$T_TMP/ns.err")"; return 1; }
	timeout 10 ip netns add "$NS_CLI" 2>>"$T_TMP/ns.err" || { ip netns delete "$NS_SRV"; echo "cannot make a namespace"; return 1; }
	NS_UP=1
	timeout 10 ip link add "$VETH_SRV" netns "$NS_SRV" type veth peer name "$VETH_CLI" netns "$NS_CLI" 2>>"$T_TMP/ns.err" ||
		{ echo "cannot make a veth pair: $(cat "$T_TMP/ns.err")"; return 1; }
	ip -n "$NS_SRV" addr add "$SRV_ADDR/24" dev "$VETH_SRV"
	ip -n "$NS_CLI" addr add "$CLI_ADDR/24" dev "$VETH_CLI"
	ip -n "$NS_SRV" link set lo up
	ip -n "$NS_CLI" link set lo up
	ip -n "$NS_SRV" link set "$VETH_SRV" up
	ip -n "$NS_CLI" link set "$VETH_CLI" up
}

NS_WHY=
if ! ns_pair >"$T_TMP/ns.why"; then
	NS_WHY=$(cat "$T_TMP/ns.why")
	NS_WHY=${NS_WHY:-"cannot make the namespaces"}
fi
[[ -z $NS_WHY ]] || echo "namespaces: $NS_WHY" >&2

# start_room NAME: mtserver --chat in the server's namespace with short
# dead-peer bounds; sets PORT and LOG.
start_room() {
	LOG=$T_TMP/$1.log
	bg_start "$1" -- ip netns exec "$NS_SRV" "$(t_bin mtserver)" --chat --no-udp \
		--keepalive 1,1,2 --tcp-user-timeout 3 -l "$LOG" 0
	wait_until 10 grep -qs "listening on" "$T_TMP/$1.err" ||
		t_fail "mtserver did not start: $(cat "$T_TMP/$1.err")"
	PORT=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$T_TMP/$1.err")
	is_uint "$PORT" || t_fail "no port in: $(cat "$T_TMP/$1.err")"
}

# ghost NAME: a member in the client's namespace that joins and then
# only sits there (bash's /dev/tcp; it never reads, never closes).
ghost() {
	bg_start "$1" -- ip netns exec "$NS_CLI" bash -c \
		"exec 3<>/dev/tcp/$SRV_ADDR/$PORT && sleep 120"
	wait_until 10 grep -qs "#1 connect" "$LOG" || t_fail "the member did not join: $(cat "$LOG")"
}

# watcher: a member on the server's loopback, on fd 3 (in and out).
watcher() {
	coproc WATCH { ip netns exec "$NS_SRV" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT || exit 1; cat <&3 & cat >&3; wait" 2>&1; }
	# its welcome
	read_until "* welcome, you are user2"
}

# read_until TEXT: reads the watcher's lines until one starts with TEXT
# (within DEAD_WITHIN seconds); the line in LINE.
read_until() {
	local end=$((SECONDS + DEAD_WITHIN))
	while ((SECONDS < end)); do
		IFS= read -r -t $((end - SECONDS)) LINE <&"${WATCH[0]}" || break
		[[ $LINE == "$1"* ]] && return 0
	done
	t_fail "watcher: no line '$1' within ${DEAD_WITHIN}s (last '${LINE:-}')"
}

say_line() { printf '%s\n' "$1" >&"${WATCH[1]}"; }

# link_down: the member's link goes away without a word (no FIN, no RST).
link_down() { ip -n "$NS_CLI" link set "$VETH_CLI" down; }
link_up() { ip -n "$NS_CLI" link set "$VETH_CLI" up; }

# check_dropped START: the room hears "* user1 left (link lost)" within
# DEAD_WITHIN seconds (of START, when the link went down), the log says
# reason=dead-peer, and /who lists the watcher alone.
check_dropped() {
	local start=$1
	read_until "* user1 left ("
	[[ $LINE == "* user1 left (link lost)" ]] || t_fail "the room read '$LINE'"
	echo "dropped $((SECONDS - start)) s after the link went down"
	wait_until 10 grep -q "#1 disconnect reason=dead-peer" "$LOG" ||
		t_fail "no reason=dead-peer: $(grep '#1 disconnect' "$LOG")"
	say_line "/who"
	read_until "* in the room ("
	[[ $LINE == "* in the room (1): user2 (you)" ]] || t_fail "/who: '$LINE'"
}

test_quiet_ghost_found_by_keepalive() {
	[[ -z $NS_WHY ]] || t_skip "$NS_WHY"
	local start
	link_up
	start_room quiet
	ghost ghost1
	watcher
	start=$SECONDS
	link_down
	check_dropped "$start"
	bg_stop quiet 10 || t_fail "mtserver did not exit 0"
}

test_spoken_to_ghost_found_by_user_timeout() {
	[[ -z $NS_WHY ]] || t_skip "$NS_WHY"
	local start i
	link_up
	start_room spoken
	ghost ghost2
	watcher
	start=$SECONDS
	link_down
	# The room talks to the dead member: unacknowledged data.
	for i in 1 2 3 4 5; do say_line "line $i for everyone"; done
	check_dropped "$start"
	bg_stop spoken 10 || t_fail "mtserver did not exit 0"
}

t_case test_quiet_ghost_found_by_keepalive
t_case test_spoken_to_ghost_found_by_user_timeout
t_done
