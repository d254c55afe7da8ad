#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_dist.sh - the service files in dist/: the systemd units (service
# and socket) are clean under `systemd-analyze verify`, have the settings
# the README and docs/service.md promise and the security exposure the
# README states; the options file (/etc/default/mtserver) holds what the
# unit's defaults say and what mtserver accepts; the logrotate
# configuration parses and rotates the file the unit logs to, and the
# several-servers example of docs/service.md, run by the real logrotate,
# reopens the logs it rotated and signals nothing else.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UNIT=$T_ROOT/dist/mtserver.service
SOCKET=$T_ROOT/dist/mtserver.socket
DEFAULTS=$T_ROOT/dist/mtserver.default
LOGROTATE=$T_ROOT/dist/mtserver.logrotate

need_systemd_analyze() {
	need_cmd systemd-analyze systemd ||
		t_skip "systemd-analyze is not installed (apt-get install systemd)"
}

# unit_value KEY: the values of KEY= in the unit, one per line.
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
# socket_value KEY: the same in the socket unit.
socket_value() { sed -n "s/^$1=//p" "$SOCKET"; }
# default_value NAME: NAME's value in the shipped options file.
default_value() { sed -n "s/^$1=//p" "$DEFAULTS"; }
# unit_default NAME: NAME's value in the unit's Environment= lines.
unit_default() { unit_value Environment | sed -n "s/^$1=//p"; }

test_unit_verifies() {
	local prefix=$T_TMP/usr out
	need_systemd_analyze
	# verify checks that ExecStart's program exists and that the
	# Documentation= page opens: install for real under a temporary
	# PREFIX (the unit then runs $PREFIX/bin/mtserver) and point man there.
	# LOGROTATEDIR is /etc/logrotate.d whatever PREFIX: moved too.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$T_ROOT" -s \
		--no-print-directory install PREFIX="$prefix" \
		LOGROTATEDIR="$prefix/etc/logrotate.d" VARIANT="$MT_VARIANT" >/dev/null
	[[ -e $prefix/etc/logrotate.d/mtserver ]] || t_fail "the logrotate file was not installed under $prefix"
	out=$(MANPATH=$prefix/share/man systemd-analyze verify \
		"$prefix/lib/systemd/system/mtserver.service" \
		"$prefix/lib/systemd/system/mtserver.socket" 2>&1) || t_fail "systemd-analyze verify failed: $out"
	[[ -z $out ]] || t_fail "systemd-analyze verify: $out"
}

test_unit_settings() {
	local v port name
	[[ $(unit_value DynamicUser) == yes ]] || t_fail "DynamicUser is not yes"
	[[ $(unit_value LogsDirectory) == mtserver ]] || t_fail "LogsDirectory is not mtserver"
	# Readiness (sd_notify): Type=notify, and AF_UNIX to send it.
	[[ $(unit_value Type) == notify ]] || t_fail "Type is not notify"
	grep -qx 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' "$UNIT" ||
		t_fail "RestrictAddressFamilies does not allow AF_UNIX (NOTIFY_SOCKET)"
	# The options come from /etc/default/mtserver, with the same
	# defaults in the unit: a missing file changes nothing.
	[[ $(unit_value EnvironmentFile) == -/etc/default/mtserver ]] ||
		t_fail "EnvironmentFile is not -/etc/default/mtserver"
	# shellcheck disable=SC2016 # systemd's variables, not ours
	[[ $(unit_value ExecStart) == '/usr/bin/mtserver --log=${MTSERVER_LOG} $MTSERVER_OPTS ${MTSERVER_PORT}' ]] ||
		t_fail "ExecStart does not take the options file's: $(unit_value ExecStart)"
	for name in MTSERVER_PORT MTSERVER_LOG MTSERVER_OPTS; do
		[[ $(unit_default "$name") == "$(default_value "$name")" ]] ||
			t_fail "$name: the unit's default '$(unit_default "$name")' is not the file's '$(default_value "$name")'"
	done
	default_value MTSERVER_LOG | grep -qE '^/var/log/mtserver/[a-z]+\.log$' ||
		t_fail "MTSERVER_LOG is not under /var/log/mtserver: $(default_value MTSERVER_LOG)"
	# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
	[[ $(unit_value ExecReload) == '/bin/kill -HUP $MAINPID' ]] || t_fail "ExecReload does not send HUP"
	v=$(unit_value LimitNOFILE)
	{ is_uint "$v" && ((v >= 65536)); } || t_fail "LimitNOFILE '$v' is not raised"
	for kv in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes; do
		grep -qx "$kv" "$UNIT" || t_fail "the unit lacks $kv"
	done
	# No capability at all, which is right only for a port >= 1024.
	grep -qx 'CapabilityBoundingSet=' "$UNIT" || t_fail "CapabilityBoundingSet is not empty"
	! grep -qE '^AmbientCapabilities=.' "$UNIT" || t_fail "AmbientCapabilities is not empty"
	port=$(default_value MTSERVER_PORT)
	{ is_uint "$port" && ((port >= 1024)); } || t_fail "MTSERVER_PORT '$port' needs CAP_NET_BIND_SERVICE"
}

# One TCP and one UDP socket on the service's default port, dual stack,
# for mtserver.service.
test_socket_unit_settings() {
	local port
	port=$(default_value MTSERVER_PORT)
	[[ $(socket_value ListenStream) == "$port" ]] || t_fail "ListenStream is not $port"
	[[ $(socket_value ListenDatagram) == "$port" ]] || t_fail "ListenDatagram is not $port"
	[[ $(socket_value BindIPv6Only) == both ]] || t_fail "BindIPv6Only is not both"
	[[ $(socket_value Service) == mtserver.service ]] || t_fail "Service is not mtserver.service"
	! grep -qE '^Accept=(yes|true|1)' "$SOCKET" || t_fail "Accept=yes: mtserver takes listening sockets"
	[[ $(socket_value WantedBy) == sockets.target ]] || t_fail "not WantedBy sockets.target"
}

# mtserver accepts the shipped options, and the example in the file's
# comment, as the unit passes them (the log moved to a temporary file,
# port 0); systemd splits $MTSERVER_OPTS at spaces, as the shell does
# here for a value without quotes.
test_default_options_run() {
	local opts example o n
	opts=$(default_value MTSERVER_OPTS)
	example=$(sed -n 's/^#[[:space:]]*MTSERVER_OPTS=//p' "$DEFAULTS")
	[[ -n $example ]] || t_fail "the options file shows no example MTSERVER_OPTS"
	# A name per run: a second run under one name could read the first
	# one's listening line before its own stderr file is made anew.
	for n in 1 2; do
		[[ $n == 1 ]] && o=$opts || o=$example
		# The packaged metrics port, as any free port: a test never
		# counts on a fixed one.
		o=$(sed -E 's/--metrics=127\.0\.0\.1:[0-9]+/--metrics=127.0.0.1:0/' <<<"$o")
		# shellcheck disable=SC2086 # split as systemd splits $MTSERVER_OPTS
		srv_start "opts$n" -- "$(t_bin mtserver)" --log="$T_TMP/opts.log" $o -b 127.0.0.1 0 ||
			t_fail "mtserver does not start with MTSERVER_OPTS='$o': $(cat "$T_TMP/opts$n.err")"
		srv_stop "opts$n" || t_fail "mtserver with MTSERVER_OPTS='$o' did not exit 0"
	done
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
	log=$(default_value MTSERVER_LOG)
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

# The several-servers example of docs/service.md, as it is there (its
# /var/log/mtserver and /run/mtserver moved under $T_TMP), run by the
# real logrotate: servers a and b log in the rotated directory, c
# elsewhere, and d.pid names a live process that is no mtserver (a pid
# file a killed server left, its number taken since).  a and b reopen
# their logs once each; c and the process behind d.pid get nothing.
test_logrotate_several_servers() {
	local conf=$T_TMP/several.conf logs=$T_TMP/log run=$T_TMP/run name out
	need_cmd logrotate logrotate || t_skip "logrotate is not installed (apt-get install logrotate)"
	need_cmd pkill procps || t_skip "pkill is not installed (apt-get install procps)"
	mkdir -p "$logs" "$run" "$T_TMP/other"
	awk '/^<!-- test_dist.sh runs this block/ { on = 1; next }
	     on && /^```$/ { if (++fences == 2) exit; next }
	     on && fences == 1' "$T_ROOT/docs/service.md" |
		sed -e "s|/var/log/mtserver/|$logs/|g" -e "s|/run/mtserver/|$run/|g" >"$conf"
	grep -q 'pkill' "$conf" || t_fail "no logrotate example in docs/service.md"
	for name in a b; do
		srv_start "$name" -- "$(t_bin mtserver)" --log="$logs/$name.log" \
			--pid-file="$run/$name.pid" -b 127.0.0.1 0 || t_fail "server $name did not start"
	done
	srv_start c -- "$(t_bin mtserver)" --log="$T_TMP/other/c.log" \
		--pid-file="$run/c.pid" -b 127.0.0.1 0 || t_fail "server c did not start"
	bg_start stale -- sleep 60
	printf '%s\n' "$BG_PID" >"$run/d.pid"
	printf 'line\n' >"$logs/d.log"
	# notifempty: a log still empty (its first line waits up to 100 ms
	# in the server's buffer) would rightly not be rotated.
	for name in a b; do
		wait_until 10 test -s "$logs/$name.log" || t_fail "$name.log stays empty"
	done
	out=$(logrotate -f -s "$T_TMP/several.state" "$conf" 2>&1) || t_fail "logrotate failed: $out"
	for name in a b; do
		[[ -s $logs/$name.log.1 ]] || t_fail "$name.log was not rotated"
		wait_until 10 grep -q 'log-reopened' "$logs/$name.log" ||
			t_fail "server $name did not reopen its log: $(cat "$logs/$name.log" 2>/dev/null)"
		# The HUP's own line is the old file's last.
		[[ $(cat "$logs/$name.log.1" "$logs/$name.log" | grep -c 'signal SIGHUP') == 1 ]] ||
			t_fail "server $name did not get exactly one HUP"
	done
	sleep 0.5 # time for a wrong HUP to show
	! grep -q 'SIGHUP' "$T_TMP/other/c.log" || t_fail "server c, whose log was not rotated, got a HUP"
	bg_alive stale || t_fail "the process behind the stale d.pid was signalled"
	for name in a b c; do
		srv_stop "$name" || t_fail "server $name did not exit 0"
		[[ ! -e $run/$name.pid ]] || t_fail "server $name left its pid file"
	done
}

# A second server given a pid file in use does not start, and leaves the
# first one's file as it was.
test_pid_file_is_exclusive() {
	local pidfile=$T_TMP/one.pid out rc=0
	srv_start first -- "$(t_bin mtserver)" --log="$T_TMP/first.log" \
		--pid-file="$pidfile" -b 127.0.0.1 0 || t_fail "the first server did not start"
	[[ $(cat "$pidfile") == "$SRV_PID" ]] || t_fail "the pid file holds '$(cat "$pidfile")', not $SRV_PID"
	out=$("$(t_bin mtserver)" --log="$T_TMP/second.log" --pid-file="$pidfile" -b 127.0.0.1 0 2>&1) || rc=$?
	((rc == 1)) || t_fail "the second server exited $rc: $out"
	grep -q "pid file '$pidfile' is locked: a server (pid $SRV_PID) runs with it" <<<"$out" ||
		t_fail "the second server said: $out"
	[[ $(cat "$pidfile") == "$SRV_PID" ]] || t_fail "the first server's pid file was changed"
	srv_stop first || t_fail "the first server did not exit 0"
}

t_case test_unit_verifies
t_case test_unit_settings
t_case test_socket_unit_settings
t_case test_default_options_run
t_case test_logrotate_several_servers
t_case test_pid_file_is_exclusive
t_case test_unit_security_as_stated
t_case test_logrotate_config
t_case test_package_matches_the_tree
t_done
