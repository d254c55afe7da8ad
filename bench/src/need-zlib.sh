#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Makes sure zlib's header is there for flood's HdrHistogram logs
# (hdrlog.c): installs zlib1g-dev with apt-get when running as root,
# otherwise (or under MT_NO_INSTALL=1: a package build) prints the one
# command to run and fails.
zlib_found() {
	echo '#include <zlib.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1
}
zlib_found && exit 0
pkg=zlib1g-dev
if [ "${MT_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" -ne 0 ]; then
	echo "make: zlib is missing; run: sudo apt-get install -y $pkg" >&2
	exit 1
fi
echo "make: installing $pkg" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $pkg >/dev/null || {
	echo "make: apt-get install $pkg failed" >&2
	exit 1
}
zlib_found || {
	echo "make: $pkg installed, but zlib.h is still not found" >&2
	exit 1
}
