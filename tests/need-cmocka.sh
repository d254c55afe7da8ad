#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Makes sure the test dependencies (cmocka, found with pkg-config) are
# installed: installs them with apt-get when running as root, otherwise
# (or under MT_NO_INSTALL=1: a package build) prints the one command to
# run and fails.
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists cmocka; then
	exit 0
fi
pkgs="libcmocka-dev pkg-config"
if [ "${MT_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" -ne 0 ]; then
	echo "make test: cmocka is missing; run: sudo apt-get install -y $pkgs" >&2
	exit 1
fi
echo "make test: installing $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $pkgs >/dev/null || {
	echo "make test: apt-get install $pkgs failed" >&2
	exit 1
}
pkg-config --exists cmocka || {
	echo "make test: $pkgs installed, but pkg-config still cannot find cmocka" >&2
	exit 1
}
