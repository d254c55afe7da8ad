#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_dist.sh - the service files in dist/: the systemd unit is clean
# under `systemd-analyze verify`, has the settings the README promises and
# the security exposure the README states; the logrotate configuration
# parses and rotates the file the unit logs to.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UNIT=$T_ROOT/dist/mtserver.service
LOGROTATE=$T_ROOT/dist/mtserver.logrotate

need_systemd_analyze() {
	need_cmd systemd-analyze systemd ||
		t_skip "systemd-analyze is not installed (apt-get install systemd)"
}

# unit_value KEY: the values of KEY= in the unit, one per line.
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }

test_unit_verifies() {
	local prefix=$T_TMP/usr out
	need_systemd_analyze
	# verify checks that ExecStart's program exists and that the
	# Documentation= page opens: install for real under a temporary
	# PREFIX (the unit then runs $PREFIX/bin/mtserver) and point man there.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$T_ROOT" -s \
		--no-print-directory install PREFIX="$prefix" VARIANT="$MT_VARIANT" >/dev/null
	out=$(MANPATH=$prefix/share/man systemd-analyze verify \
		"$prefix/lib/systemd/system/mtserver.service" 2>&1) || t_fail "systemd-analyze verify failed: $out"
	[[ -z $out ]] || t_fail "systemd-analyze verify: $out"
}

test_unit_settings() {
	local v port
	[[ $(unit_value DynamicUser) == yes ]] || t_fail "DynamicUser is not yes"
	[[ $(unit_value LogsDirectory) == mtserver ]] || t_fail "LogsDirectory is not mtserver"
	unit_value ExecStart | grep -qE '^/usr/bin/mtserver .*--log=/var/log/mtserver/[a-z]+\.log ' ||
		t_fail "ExecStart does not log under /var/log/mtserver: $(unit_value ExecStart)"
	# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
	[[ $(unit_value ExecReload) == '/bin/kill -HUP $MAINPID' ]] || t_fail "ExecReload does not send HUP"
	v=$(unit_value LimitNOFILE)
	{ is_uint "$v" && ((v >= 65536)); } || t_fail "LimitNOFILE '$v' is not raised"
	for kv in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
		'RestrictAddressFamilies=AF_INET AF_INET6'; do
		grep -qx "$kv" "$UNIT" || t_fail "the unit lacks $kv"
	done
	# No capability at all, which is right only for a port >= 1024.
	grep -qx 'CapabilityBoundingSet=' "$UNIT" || t_fail "CapabilityBoundingSet is not empty"
	! grep -qE '^AmbientCapabilities=.' "$UNIT" || t_fail "AmbientCapabilities is not empty"
	port=$(unit_value ExecStart | awk '{ print $NF }')
	{ is_uint "$port" && ((port >= 1024)); } || t_fail "ExecStart's port '$port' needs CAP_NET_BIND_SERVICE"
}

# The exposure systemd-analyze gives the unit is the one the README states.
test_unit_security_as_stated() {
	local got stated
	need_systemd_analyze
	got=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null |
		sed -n 's/.*Overall exposure level for mtserver.service: \([0-9.]*\) .*/\1/p')
	[[ -n $got ]] || t_fail "systemd-analyze security gave no score"
	# shellcheck disable=SC2016 # backquotes are the README's markdown
	stated=$(sed -n 's/.*`systemd-analyze security` rates it \*\*\([0-9.]*\) .*/\1/p' "$T_ROOT/README.md")
	[[ $got == "$stated" ]] || t_fail "exposure is $got, the README states '$stated'"
}

test_logrotate_config() {
	local out log
	need_cmd logrotate logrotate || t_skip "logrotate is not installed (apt-get install logrotate)"
	out=$(logrotate -d -s "$T_TMP/state" "$LOGROTATE" 2>&1) || t_fail "logrotate -d: $out"
	! grep -qi error <<<"$out" || t_fail "logrotate -d: $out"
	for kw in rotate compress postrotate create; do
		grep -qE "^[[:space:]]+$kw( |$)" "$LOGROTATE" || t_fail "no '$kw' in the logrotate config"
	done
	grep -qE '^[[:space:]]+systemctl reload mtserver\.service' "$LOGROTATE" || t_fail "postrotate does not reload"
	# It rotates the file the unit writes.
	log=$(unit_value ExecStart | grep -oE -- '--log=[^ ]+' | cut -d= -f2)
	# shellcheck disable=SC2053 # the config's first line is a glob
	[[ $log == $(awk '/^\// { print $1; exit }' "$LOGROTATE") ]] ||
		t_fail "the logrotate config does not match the unit's log $log"
}

# The package's version is the programs' (MT_VERSION), and what dpkg
# would build is what the tree's Makefile installs.
test_package_matches_the_tree() {
	local version code
	need_cmd dpkg-parsechangelog dpkg-dev || t_skip "dpkg-dev is not installed"
	version=$(cd "$T_ROOT" && dpkg-parsechangelog -S Version)
	code=$(sed -n 's/^#define MT_VERSION "\(.*\)"$/\1/p' "$T_ROOT/include/cli.h")
	[[ -n $code && $version == "$code" ]] || t_fail "debian/changelog says $version, MT_VERSION is '$code'"
	[[ -x $T_ROOT/debian/rules ]] || t_fail "debian/rules is not executable"
	grep -q -- '--no-enable --no-start' "$T_ROOT/debian/rules" || t_fail "the package would start the service"
}

t_case test_unit_verifies
t_case test_unit_settings
t_case test_unit_security_as_stated
t_case test_logrotate_config
t_case test_package_matches_the_tree
t_done
