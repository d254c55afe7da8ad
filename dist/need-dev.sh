#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# dist/need-dev.sh zlib|hiredis|liburing|cmocka - makes sure a library a
# build needs is there: zlib's header for flood's HdrHistogram logs
# (bench/src/hdrlog.c, `make`), hiredis for mtserver --broker
# (src/broker.c, `make`), liburing's for urserver's ring (src/uring.c,
# `make`), cmocka for the tests (`make test`).  Installs its Debian
# packages with apt-get when running as root, otherwise (or under
# MT_NO_INSTALL=1: a package build) prints the one command to run and
# fails.
zlib_found() {
	echo '#include <zlib.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1
}
hiredis_found() {
	echo '#include <hiredis/hiredis.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1
}
liburing_found() {
	echo '#include <liburing.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1
}
cmocka_found() {
	command -v pkg-config >/dev/null 2>&1 && pkg-config --exists cmocka
}
case $1 in
zlib)
	who=make pkgs=zlib1g-dev still='zlib.h is still not found' ;;
hiredis)
	who=make pkgs=libhiredis-dev
	still='hiredis/hiredis.h is still not found' ;;
liburing)
	who=make pkgs=liburing-dev still='liburing.h is still not found' ;;
cmocka)
	who='make test' pkgs='libcmocka-dev pkg-config'
	still='pkg-config still cannot find cmocka' ;;
*)
	echo "usage: $0 zlib|hiredis|liburing|cmocka" >&2
	exit 2 ;;
esac
"$1_found" && exit 0
if [ "${MT_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" -ne 0 ]; then
	echo "$who: $1 is missing; run: sudo apt-get install -y $pkgs" >&2
	exit 1
fi
echo "$who: installing $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $pkgs >/dev/null || {
	echo "$who: apt-get install $pkgs failed" >&2
	exit 1
}
"$1_found" || {
	echo "$who: $pkgs installed, but $still" >&2
	exit 1
}
