#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_uignorable.sh - the escaper's Unicode tables (include/uignorable.h,
# src/uignorable.c) are what src/gen-uignorable.py makes of the Unicode
# data files (Debian's unicode-data, /usr/share/unicode): regenerated and
# compared, and the check shown to notice a change in the data.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UCD=${MT_UCD_DIR:-/usr/share/unicode}
GEN=$T_ROOT/src/gen-uignorable.py

need_ucd() {
	[[ -r $UCD/DerivedCoreProperties.txt && -r $UCD/UnicodeData.txt ]] ||
		t_skip "no Unicode data files in $UCD: install unicode-data"
	command -v python3 >/dev/null || t_skip "no python3: install python3"
}

test_tables_match_the_unicode_data() {
	need_ucd
	python3 "$GEN" --check "$UCD" || t_fail "the committed tables are stale: run python3 src/gen-uignorable.py"
	grep -q "Unicode $(head -1 "$UCD/DerivedCoreProperties.txt" | sed 's/.*-\([0-9.]*\)\.txt$/\1/')" "$T_ROOT/src/uignorable.c" ||
		t_fail "src/uignorable.c names another Unicode version"
	# The characters of issue 21 are in the table.
	grep -q '{0x3164, 0x3164}' "$T_ROOT/src/uignorable.c" || t_fail "U+3164 missing"
	grep -q '{0x034f, 0x034f}' "$T_ROOT/src/uignorable.c" || t_fail "U+034F missing"
}

test_check_notices_changed_data() {
	need_ucd
	mkdir -p "$T_TMP/ucd"
	cp "$UCD/UnicodeData.txt" "$T_TMP/ucd/"
	cp "$UCD/DerivedCoreProperties.txt" "$T_TMP/ucd/"
	echo "2800          ; Default_Ignorable_Code_Point # So       BRAILLE PATTERN BLANK" \
		>>"$T_TMP/ucd/DerivedCoreProperties.txt"
	if python3 "$GEN" --check "$T_TMP/ucd" 2>"$T_TMP/err"; then
		t_fail "a new ignorable code point went unnoticed"
	fi
	grep -q 'stale, regenerate: ' "$T_TMP/err" || t_fail "no reason given: $(cat "$T_TMP/err")"
}

t_case test_tables_match_the_unicode_data
t_case test_check_notices_changed_data
t_done
