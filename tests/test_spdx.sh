#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_spdx.sh - the license: LICENSE is BSD-2-Clause with the project's
# copyright, and every source file says so in an SPDX-License-Identifier
# line near its top (C, headers, shell, make, gnuplot, Go, pages, service
# files, packaging, anything with a #! line).
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SPDX='SPDX-License-Identifier: BSD-2-Clause'

# source_files: the tree's files (tracked and new ones in a git checkout,
# else what find sees), minus build products, results and data.
source_files() {
	(
		cd "$T_ROOT"
		if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
			git ls-files --cached --others --exclude-standard
		else
			find . -path ./build -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||'
		fi
	) | grep -vE '^(bench/results|bench/published|lessons/results|lessons/published|tests/captures)/' |
		while IFS= read -r f; do
			[[ -f $T_ROOT/$f ]] || continue
			case $f in
			*.c | *.h | *.sh | *.go | *.gp | *.py | *.awk | *.1 | *.in | \
				*.service | *.logrotate | Makefile | *.mk | debian/rules | \
				debian/*.postrm | debian/*.postinst | debian/*.prerm | debian/*.preinst)
				echo "$f"
				;;
			*) head -c 2 "$T_ROOT/$f" | grep -q '^#!' && echo "$f" ;;
			esac
		done
}

test_every_source_file_has_spdx() {
	local f n=0 missing=()
	while IFS= read -r f; do
		n=$((n + 1))
		head -n 3 "$T_ROOT/$f" | grep -qF "$SPDX" || missing+=("$f")
	done < <(source_files)
	((n >= 40)) || t_fail "only $n source files found: the list is wrong"
	((${#missing[@]} == 0)) || t_fail "no '$SPDX' in the first 3 lines of: ${missing[*]}"
	echo "$n source files checked"
}

test_license_file() {
	grep -qx 'BSD 2-Clause License' "$T_ROOT/LICENSE" || t_fail "LICENSE is not BSD-2-Clause"
	grep -qx 'Copyright (c) 2026 The mtserver authors' "$T_ROOT/LICENSE" || t_fail "LICENSE: no copyright line"
	grep -qx 'License: BSD-2-Clause' "$T_ROOT/debian/copyright" || t_fail "debian/copyright disagrees"
}

t_case test_every_source_file_has_spdx
t_case test_license_file
t_done
