#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_bench_py.sh - the benchmark's and the lessons' Python layer
# (bench/benchlib.py, lessons/lessonlib.py): its unittest suite,
# tests/test_benchlib.py, under the system's python3.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_benchlib_unittest() {
	command -v python3 >/dev/null || t_skip "python3 not found (Debian package python3)"
	python3 "$T_ROOT/tests/test_benchlib.py" 2>&1 || t_fail "tests/test_benchlib.py failed"
}

t_case test_benchlib_unittest
t_done
