#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/need-tools.sh WHAT CMD=PKG... - the tools WHAT ("make lint",
# "make fuzz"...) cannot run without (lint: cppcheck, clang-tidy,
# clang-format; fuzz: clang and its libFuzzer runtime; CI's interop
# check: node and npm).  Each CMD
# missing from PATH has its PKG installed with apt-get when running as
# root; otherwise, or when that fails, the missing tool and the command
# that gets it are named on one line and the exit status is 1.
#
# CMD "libfuzzer" is not a program but clang's fuzzing runtime, found by
# linking a two-line -fsanitize=fuzzer program with $FUZZ_CC (clang);
# its PKG "auto" is libclang-rt-N-dev for that clang's major version N.
#
# MT_NO_INSTALL=1 (a package build) only checks.
what=$1
shift

fuzz_cc=${FUZZ_CC:-clang}

# libfuzzer_links: 0 when $fuzz_cc links a libFuzzer target.
libfuzzer_links() {
	dir=$(mktemp -d) || return 1
	printf '%s\n%s\n' '#include <stddef.h>' \
		'int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$dir/t.c"
	"$fuzz_cc" -fsanitize=fuzzer -o "$dir/t" "$dir/t.c" >/dev/null 2>&1
	rc=$?
	rm -rf "$dir"
	return $rc
}

# have CMD: 0 when CMD is there.
have() {
	case $1 in
	libfuzzer) libfuzzer_links ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

# package CMD PKG: the package to install for CMD.
package() {
	if [ "$2" = auto ]; then
		major=$("$fuzz_cc" -dumpversion 2>/dev/null | cut -d. -f1)
		echo "libclang-rt-${major:-14}-dev"
	else
		echo "$2"
	fi
}

# missing: the CMDs not there, as "CMD=PKG" words, checked in order (a
# package named earlier, such as clang, may be what a later check needs).
missing() {
	for pair in "$@"; do
		have "${pair%%=*}" || printf ' %s=%s' "${pair%%=*}" "$(package "${pair%%=*}" "${pair#*=}")"
	done
}

# names WORDS / pkgs WORDS: the CMD and the PKG halves of "CMD=PKG" words.
names() { for w in "$@"; do printf ' %s' "${w%%=*}"; done; }
pkgs() { for w in "$@"; do printf ' %s' "${w#*=}"; done; }

lack=$(missing "$@")
[ -n "$lack" ] || exit 0
# shellcheck disable=SC2086 # one word per tool
if [ "$(id -u)" -ne 0 ] || [ "${MT_NO_INSTALL:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "$what: missing$(names $lack); run: sudo apt-get install -y$(pkgs $lack)" >&2
	exit 1
fi
# shellcheck disable=SC2086
echo "$what: installing$(pkgs $lack)" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2046,SC2086
{ timeout 300 apt-get update -qq && timeout 900 apt-get install -y -qq --no-install-recommends $(pkgs $lack); } >/dev/null 2>&1
# A package can be there and still not give the tool: check again, and
# once more after clang itself came (the runtime's package follows its
# version).
lack=$(missing "$@")
if [ -n "$lack" ]; then
	# shellcheck disable=SC2046,SC2086
	timeout 900 apt-get install -y -qq --no-install-recommends $(pkgs $lack) >/dev/null 2>&1
	lack=$(missing "$@")
fi
[ -z "$lack" ] && exit 0
# shellcheck disable=SC2086
echo "$what: still missing$(names $lack) after apt-get install; run: apt-get install -y$(pkgs $lack)" >&2
exit 1
