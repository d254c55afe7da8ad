#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/need-peers.sh CMD=PKG... - the real programs some suites start as
# peers (haproxy, rsyslogd, logger...), and data files they read (CMD an
# absolute path: the Unicode data files).  Each CMD missing from PATH has its
# PKG installed with apt-get when running as root; otherwise the one
# command to run is printed and the suites that need it skip, saying so.
# Never fails: a missing peer is a skip, not a broken build.  `make test`
# runs it; a package build (run-tests) does not, so it never reaches the
# network (and MT_NO_INSTALL=1 makes it only check).
missing=
for pair in "$@"; do
	cmd=${pair%%=*}
	pkg=${pair#*=}
	# CMD is a program on PATH, or a file's absolute path (data).
	{ command -v "$cmd" >/dev/null 2>&1 || [ -e "$cmd" ]; } || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0
if [ "${MT_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "make test: peers missing (their tests will skip); run: sudo apt-get install -y$missing" >&2
	exit 0
fi
echo "make test: installing test peers:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
{ timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends $missing; } >/dev/null 2>&1 ||
	echo "make test: apt-get install$missing failed (their tests will skip)" >&2
exit 0
