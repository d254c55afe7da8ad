#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_man.sh - the manual pages (man/*.1, mdoc(7)) against the programs:
# clean under `mandoc -T lint`, every option --help prints is described
# in the page, every option the page names exists; and --version in the
# GNU form for every program.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Each program and its page.
PROGRAMS=(mtserver stserver ptserver fkserver epserver rpserver urserver mtclient flood)
# (flood is installed as mtflood; rpserver and urserver are in epserver's
# page.)
page_of() {
	case $1 in
	flood) echo "$T_ROOT/man/mtflood.1" ;;
	rpserver | urserver) echo "$T_ROOT/man/epserver.1" ;;
	*) echo "$T_ROOT/man/$1.1" ;;
	esac
}

# help_options PROG: the options --help lists, one per line, sorted: the
# lines that start (indented) with an option, e.g. "  -b, --bind ADDR".
help_options() {
	"$(t_bin "$1")" --help |
		grep -E '^ {1,8}-' |
		grep -oE '^ +(-[A-Za-z0-9], +)?--?[A-Za-z0-9][A-Za-z0-9-]*' |
		tr ',' '\n' | tr -d ' ' | grep . | sort -u
}

# page_options PAGE [ALL]: the options the page's option list (.It Fl
# lines) describes; with ALL, every option the page names anywhere.
page_options() {
	local pattern='^\.It Fl'
	[[ ${2:-} == all ]] && pattern='Fl '
	grep -E "$pattern" "$1" |
		grep -oE '(^|[ .])Fl -?[A-Za-z0-9][A-Za-z0-9-]*' |
		sed -E 's/^[ .]?Fl //' |
		awk '/^-/ { print "-" $0; next }	# Fl -bind: --bind
		     { for (i = 1; i <= length($0); i++)	# Fl hqV: -h -q -V
			print "-" substr($0, i, 1) }' | sort -u
}

need_mandoc() {
	need_cmd mandoc mandoc || t_skip "mandoc is not installed (apt-get install mandoc)"
}

test_pages_lint_clean() {
	local page out
	need_mandoc
	for page in "$T_ROOT"/man/*.1; do
		# -W warning: style messages depend on which other pages this
		# machine has installed; warnings and errors are ours.
		out=$(mandoc -T lint -W warning "$page" 2>&1) || t_fail "mandoc -T lint $page: $out"
		[[ -z $out ]] || t_fail "mandoc -T lint $page: $out"
	done
}

test_pages_name_their_program() {
	local prog page name out
	need_mandoc
	for prog in "${PROGRAMS[@]}"; do
		page=$(page_of "$prog")
		[[ -r $page ]] || t_fail "$prog: no manual page $page"
		name=$(basename "$page" .1)
		grep -qx ".Dt ${name^^} 1" "$page" || t_fail "$page: .Dt is not ${name^^} 1"
		out=$(mandoc -T utf8 "$page" | sed 's/.\x08//g') # no overstrike
		grep -qE "^ *$name(, [a-z]+)* – " <<<"$out" || t_fail "$page: NAME does not render as '$name – ...'"
	done
}

# Every option of --help is in the page's option list, and every option
# the page names is one --help lists.  check_options PROG [BASE]: PROG's
# page takes BASE's options by reference (epserver's: "mtserver's
# options"), so BASE's page describes those.
check_options() {
	local prog=$1 base=${2:-} page help listed named missing extra shared other
	page=$(page_of "$prog")
	help=$(help_options "$prog")
	[[ $(wc -l <<<"$help") -ge 3 ]] || t_fail "$prog --help: found no options in: $help"
	listed=$(page_options "$page")
	[[ -z $base ]] || listed=$(sort -u <(echo "$listed") <(page_options "$(page_of "$base")"))
	named=$(page_options "$page" all)
	missing=$(comm -23 <(echo "$help") <(echo "$listed"))
	# A page two programs share may name the options of either.
	shared=$(for other in "${PROGRAMS[@]}"; do
		[[ $(page_of "$other") != "$page" ]] || help_options "$other"
	done | sort -u)
	extra=$(comm -13 <(echo "$shared") <(echo "$named"))
	[[ -z $missing ]] || t_fail "$page does not describe: $(tr '\n' ' ' <<<"$missing") (from $prog --help)"
	[[ -z $extra ]] || t_fail "$page names options $prog --help does not list: $(tr '\n' ' ' <<<"$extra")"
	return 0
}
test_mtserver_page_matches_help() { check_options mtserver; }
test_stserver_page_matches_help() { check_options stserver; }
test_ptserver_page_matches_help() { check_options ptserver; }
test_fkserver_page_matches_help() { check_options fkserver; }
test_epserver_page_matches_help() { check_options epserver mtserver; }
test_rpserver_page_matches_help() { check_options rpserver mtserver; }
test_urserver_page_matches_help() { check_options urserver mtserver; }
test_mtclient_page_matches_help() { check_options mtclient; }
test_mtflood_page_matches_help() { check_options flood; }

test_version_in_gnu_form() {
	local prog out first
	for prog in "${PROGRAMS[@]}"; do
		out=$("$(t_bin "$prog")" --version) || t_fail "$prog --version: exit status $?"
		first=$(head -n 1 <<<"$out")
		[[ $first =~ ^$prog\ \(mtserver\)\ [0-9]+\.[0-9]+ ]] || t_fail "$prog --version: first line '$first'"
		grep -q '^Copyright (C) 2026 The mtserver authors\.$' <<<"$out" || t_fail "$prog --version: no copyright"
		grep -q 'License BSD-2-Clause' <<<"$out" || t_fail "$prog --version: no license"
		grep -q 'NO WARRANTY' <<<"$out" || t_fail "$prog --version: no warranty line"
	done
}

t_case test_pages_lint_clean
t_case test_pages_name_their_program
t_case test_mtserver_page_matches_help
t_case test_stserver_page_matches_help
t_case test_ptserver_page_matches_help
t_case test_fkserver_page_matches_help
t_case test_epserver_page_matches_help
t_case test_rpserver_page_matches_help
t_case test_urserver_page_matches_help
t_case test_mtclient_page_matches_help
t_case test_mtflood_page_matches_help
t_case test_version_in_gnu_form
t_done
