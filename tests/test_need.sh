#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_need.sh - what installs the tools: bench/lib.sh's need_cmd,
# tests/need-tools.sh (make lint, make fuzz) and tests/need-peers.sh
# (make test) install a missing tool with apt-get as root, and name it
# with the command that gets it otherwise; MT_NO_INSTALL=1, which
# debian/rules sets for the package's tests, makes each only check.  The
# apt-get and id they run are fakes put first on PATH: apt-get records
# its arguments and fails, id says root.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MISSING=mt-no-such-tool-$$
CALLS=$T_TMP/apt-get.calls

# fake_root: PATH starts with an apt-get that records its arguments in
# $CALLS and fails, and an id that says uid 0.
fake_root() {
	mkdir -p "$T_TMP/fake"
	cat >"$T_TMP/fake/apt-get" <<EOF
#!/bin/sh
echo "\$*" >>'$CALLS'
exit 100
EOF
	cat >"$T_TMP/fake/id" <<'EOF'
#!/bin/sh
[ "$1" = -u ] && { echo 0; exit 0; }
exec /usr/bin/id "$@"
EOF
	chmod 755 "$T_TMP/fake/apt-get" "$T_TMP/fake/id"
	rm -f "$CALLS"
	export PATH="$T_TMP/fake:$PATH"
}

apt_calls() { [[ -e $CALLS ]] && wc -l <"$CALLS" || echo 0; }

# The fakes work: without the switch, need_cmd as root runs apt-get.
test_need_cmd_installs_as_root() {
	fake_root
	unset MT_NO_INSTALL
	if need_cmd "$MISSING" mt-fake-pkg 2>"$T_TMP/err"; then
		t_fail "need_cmd found $MISSING"
	fi
	grep -q 'install.*mt-fake-pkg' "$CALLS" || t_fail "apt-get was not asked for mt-fake-pkg: $(cat "$CALLS" 2>/dev/null)"
}

test_need_cmd_no_install() {
	fake_root
	export MT_NO_INSTALL=1
	if need_cmd "$MISSING" mt-fake-pkg 2>"$T_TMP/err"; then
		t_fail "need_cmd found $MISSING"
	fi
	(($(apt_calls) == 0)) || t_fail "apt-get ran under MT_NO_INSTALL=1: $(cat "$CALLS")"
	grep -q "$MISSING not found; run: sudo apt-get install -y mt-fake-pkg" "$T_TMP/err" ||
		t_fail "no command to run: $(cat "$T_TMP/err")"
	need_cmd sh dash || t_fail "need_cmd did not find sh"
}

# need-tools.sh: one line naming the tool and the command, exit 1.
test_need_tools_no_install() {
	local out rc=0
	fake_root
	out=$(MT_NO_INSTALL=1 sh "$T_ROOT/tests/need-tools.sh" "make lint" sh=dash "$MISSING=mt-fake-pkg" 2>&1) || rc=$?
	((rc == 1)) || t_fail "exit $rc, not 1: $out"
	(($(apt_calls) == 0)) || t_fail "apt-get ran under MT_NO_INSTALL=1: $(cat "$CALLS")"
	[[ $out == "make lint: missing $MISSING; run: sudo apt-get install -y mt-fake-pkg" ]] ||
		t_fail "said: $out"
}

test_need_tools_installs_as_root() {
	local out rc=0
	fake_root
	unset MT_NO_INSTALL
	out=$(sh "$T_ROOT/tests/need-tools.sh" "make fuzz" "$MISSING=mt-fake-pkg" 2>&1) || rc=$?
	((rc == 1)) || t_fail "exit $rc, not 1 (the install failed): $out"
	grep -q 'install.*mt-fake-pkg' "$CALLS" || t_fail "apt-get was not asked for mt-fake-pkg"
	grep -q "^make fuzz: still missing $MISSING after apt-get install; run: apt-get install -y mt-fake-pkg$" <<<"$out" ||
		t_fail "said: $out"
}

test_need_tools_present_is_silent() {
	local out
	fake_root
	out=$(sh "$T_ROOT/tests/need-tools.sh" "make lint" sh=dash 2>&1) || t_fail "failed with sh there: $out"
	[[ -z $out ]] || t_fail "said: $out"
	(($(apt_calls) == 0)) || t_fail "apt-get ran with nothing missing"
}

# need-peers.sh never fails the build: a missing peer is a skip.
test_need_peers_no_install() {
	local out
	fake_root
	out=$(MT_NO_INSTALL=1 sh "$T_ROOT/tests/need-peers.sh" "$MISSING=mt-fake-pkg" 2>&1) ||
		t_fail "need-peers.sh failed: $out"
	(($(apt_calls) == 0)) || t_fail "apt-get ran under MT_NO_INSTALL=1: $(cat "$CALLS")"
	grep -q 'run: sudo apt-get install -y mt-fake-pkg' <<<"$out" || t_fail "said: $out"
}

# make's own checks: zlib (building flood), hiredis (building mtserver)
# and cmocka (make test).
test_need_zlib_and_cmocka_no_install() {
	local out rc=0
	fake_root
	printf '#!/bin/sh\nexit 1\n' >"$T_TMP/fake/pkg-config"
	chmod 755 "$T_TMP/fake/pkg-config"
	export MT_NO_INSTALL=1
	out=$(CC=false sh "$T_ROOT/dist/need-dev.sh" zlib 2>&1) || rc=$?
	((rc == 1)) || t_fail "need-dev.sh zlib: exit $rc, not 1: $out"
	grep -q 'run: sudo apt-get install -y zlib1g-dev' <<<"$out" || t_fail "need-dev.sh zlib said: $out"
	rc=0
	out=$(CC=false sh "$T_ROOT/dist/need-dev.sh" hiredis 2>&1) || rc=$?
	((rc == 1)) || t_fail "need-dev.sh hiredis: exit $rc, not 1: $out"
	grep -q 'run: sudo apt-get install -y libhiredis-dev' <<<"$out" || t_fail "need-dev.sh hiredis said: $out"
	rc=0
	out=$(sh "$T_ROOT/dist/need-dev.sh" cmocka 2>&1) || rc=$?
	((rc == 1)) || t_fail "need-dev.sh cmocka: exit $rc, not 1: $out"
	grep -q 'run: sudo apt-get install -y libcmocka-dev' <<<"$out" || t_fail "need-dev.sh cmocka said: $out"
	(($(apt_calls) == 0)) || t_fail "apt-get ran under MT_NO_INSTALL=1: $(cat "$CALLS")"
}

# The whole package build runs with the switch on.
test_package_build_sets_no_install() {
	grep -qx 'export MT_NO_INSTALL = 1' "$T_ROOT/debian/rules" ||
		t_fail "debian/rules does not export MT_NO_INSTALL = 1"
}

# Only tests/need-*.sh fetch: no suite runs npm or apt-get itself.
test_suites_never_fetch() {
	local hits
	cd "$T_ROOT"
	hits=$(grep -nE '(npm|npx) +(install|ci)\b|apt-get +(-[a-z]+ +)*install +-y' \
		tests/test_*.c tests/test_*.sh tests/harness.c | grep -v '^tests/test_need.sh:' || true)
	[[ -z $hits ]] || t_fail "a suite installs or downloads: $hits"
}

t_case test_need_cmd_installs_as_root
t_case test_need_cmd_no_install
t_case test_need_tools_no_install
t_case test_need_tools_installs_as_root
t_case test_need_tools_present_is_silent
t_case test_need_peers_no_install
t_case test_need_zlib_and_cmocka_no_install
t_case test_package_build_sets_no_install
t_case test_suites_never_fetch
t_done
