#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_dualstack.sh - with no --bind, mtserver and stserver listen on
# every address of both IP versions ("::", IPV6_V6ONLY off) and say so;
# where the host has no IPv6 they fall back to 0.0.0.0 and say that.
# The fallback is tested in a network namespace of our own with IPv6
# disabled (root; skipped with a message otherwise).
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# start_server NAME PROG ARGS...: start PROG with a log in T_TMP on port
# 0, wait for its listening line; sets PORT.
start_server() {
	local name=$1 prog=$2
	shift 2
	bg_start "$name" -- "$(t_bin "$prog")" -l "$T_TMP/$name.log" "$@" 0
	wait_until 10 grep -qs "listening on" "$T_TMP/$name.err" ||
		t_fail "$prog did not start: $(cat "$T_TMP/$name.err")"
	PORT=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$T_TMP/$name.err")
	is_uint "$PORT" || t_fail "no port in: $(cat "$T_TMP/$name.err")"
}

# send HOST TEXT [--udp]: one message with mtclient.
send() {
	printf '%s\n' "$2" | "$(t_bin mtclient)" ${3:+"$3" -w 0} "$1" "$PORT" >/dev/null ||
		t_fail "mtclient ${3:-} $1 $PORT failed"
}

stop_server() {
	bg_stop "$1" 20 || t_fail "$1 did not exit 0"
}

has_ipv6() { grep -q . /proc/net/if_inet6 2>/dev/null; }

test_mtserver_default_serves_both_stacks() {
	local log=$T_TMP/mt.log
	has_ipv6 || t_skip "this host has no IPv6 address"
	start_server mt mtserver
	grep -qx "mtserver: listening on \[::\]:$PORT (tcp, udp; IPv6 and IPv4)" "$T_TMP/mt.err" ||
		t_fail "listening line: $(cat "$T_TMP/mt.err")"
	send 127.0.0.1 "tcp over four"
	send ::1 "tcp over six"
	send 127.0.0.1 "udp over four" --udp
	send ::1 "udp over six" --udp
	wait_until 10 grep -q 'msg udp over six$' "$log" || t_fail "udp over IPv6 not logged: $(cat "$log")"
	wait_until 10 grep -q 'msg udp over four$' "$log" || t_fail "udp over IPv4 not logged: $(cat "$log")"
	stop_server mt
	# IPv4 clients arrive as IPv4-mapped addresses, logged as IPv4.
	grep -qE ' tcp 127\.0\.0\.1:[0-9]+ #[0-9]+ msg tcp over four$' "$log" || t_fail "tcp over IPv4: $(cat "$log")"
	grep -qE ' tcp \[::1\]:[0-9]+ #[0-9]+ msg tcp over six$' "$log" || t_fail "tcp over IPv6: $(cat "$log")"
	grep -qE ' udp 127\.0\.0\.1:[0-9]+ #[0-9]+ msg udp over four$' "$log" || t_fail "udp over IPv4: $(cat "$log")"
	grep -qE ' udp \[::1\]:[0-9]+ #[0-9]+ msg udp over six$' "$log" || t_fail "udp over IPv6: $(cat "$log")"
}

test_stserver_default_serves_both_stacks() {
	has_ipv6 || t_skip "this host has no IPv6 address"
	start_server st stserver
	grep -qx "stserver: listening on \[::\]:$PORT (tcp; IPv6 and IPv4)" "$T_TMP/st.err" ||
		t_fail "listening line: $(cat "$T_TMP/st.err")"
	send ::1 "six"
	send 127.0.0.1 "four"
	stop_server st
	grep -qE ' tcp \[::1\]:[0-9]+ #1 msg six$' "$T_TMP/st.log" || t_fail "over IPv6: $(cat "$T_TMP/st.log")"
	grep -qE ' tcp 127\.0\.0\.1:[0-9]+ #2 msg four$' "$T_TMP/st.log" || t_fail "over IPv4: $(cat "$T_TMP/st.log")"
}

test_explicit_ipv4_address_is_ipv4_only() {
	start_server v4 mtserver -b 127.0.0.1
	grep -qx "mtserver: listening on 127.0.0.1:$PORT (tcp, udp)" "$T_TMP/v4.err" ||
		t_fail "listening line: $(cat "$T_TMP/v4.err")"
	if has_ipv6; then
		! printf 'x\n' | "$(t_bin mtclient)" ::1 "$PORT" >/dev/null 2>&1 ||
			t_fail "a server bound to 127.0.0.1 answered on ::1"
	fi
	stop_server v4
}

# In a namespace of our own: loopback up, IPv6 disabled on every
# interface.  The server must fall back to 0.0.0.0, say so, and serve.
in_namespace() {
	set -euo pipefail
	ip link set lo up
	echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
	start_server ns mtserver
	grep -qx "mtserver: listening on 0.0.0.0:$PORT (tcp, udp; IPv4 only: no IPv6 here)" "$T_TMP/ns.err" ||
		t_fail "listening line: $(cat "$T_TMP/ns.err")"
	send 127.0.0.1 "no six here"
	send 127.0.0.1 "nor here" --udp
	wait_until 10 grep -q 'msg nor here$' "$T_TMP/ns.log" || t_fail "udp not logged: $(cat "$T_TMP/ns.log")"
	stop_server ns
	grep -qE ' tcp 127\.0\.0\.1:[0-9]+ #1 msg no six here$' "$T_TMP/ns.log" || t_fail "tcp: $(cat "$T_TMP/ns.log")"
}

test_falls_back_to_ipv4_without_ipv6() {
	[[ $(id -u) -eq 0 ]] || t_skip "needs root for a network namespace (unshare -n)"
	[[ -d /proc/sys/net/ipv6 ]] || t_skip "this kernel has no IPv6 to disable"
	need_cmd ip iproute2 || t_skip "ip is not installed (apt-get install iproute2)"
	unshare -n true 2>/dev/null || t_skip "cannot make a network namespace here (unshare -n)"
	# The namespace dies with the last process in it: the shell below.
	export T T_ROOT T_TMP MT_BIN_DIR MT_FLOOD BENCH_NAME
	timeout 60 unshare -n bash -c "$(declare -f in_namespace start_server send stop_server t_fail t_bin)
		. \"\$T_ROOT/bench/lib.sh\"
		T=\$T_TMP
		in_namespace" || t_fail "in the namespace (status $?)"
}

t_case test_mtserver_default_serves_both_stacks
t_case test_stserver_default_serves_both_stacks
t_case test_explicit_ipv4_address_is_ipv4_only
t_case test_falls_back_to_ipv4_without_ipv6
t_done
