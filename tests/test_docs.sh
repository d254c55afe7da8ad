#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_docs.sh - the documents against the tree and the real programs:
# every relative link resolves (a file, and a heading for an #anchor);
# the README stays short; the samples the documents show are what the
# programs really print: the sample session's log (docs/protocol.md) line
# by line, event by event and field by field; the tutorial client's
# stale message; the stop summary (docs/operating.md); the start lines
# of the manual pages; the diff of the two servers' mains
# (docs/design.md). (That every option of --help is in its manual page
# is test_man.sh's.)
#
# A sample is the first fenced block after a marker line
# `<!-- sample-NAME -->` or `<!-- sample-NAME: PART -->`.
# shellcheck disable=SC2317 # the tests are called through t_case
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The documents whose links must resolve, relative to the tree.
DOCS=(README.md tests/README.md bench/README.md lessons/README.md)
README_MAX_LINES=320

# doc_files: the documents that exist (docs/*.md whatever is added).
doc_files() {
	local f
	for f in "${DOCS[@]}" docs/*.md; do
		[[ -e $T_ROOT/$f ]] && printf '%s\n' "$f"
	done
	return 0
}

# prose FILE: the file without its fenced code blocks.
prose() {
	awk '/^[ \t]*```/ { code = !code; next } !code' "$1"
}

# md_links FILE: the targets of its markdown links, one per line.
md_links() {
	prose "$1" | grep -oE '\]\([^)[:space:]]+\)' | sed -E 's/^\]\(//; s/\)$//' || true
}

# md_anchors FILE: the anchors of its headings, as GitHub makes them:
# lower case, only letters, digits, spaces, '-' and '_' kept (UTF-8 as
# is), spaces to '-'; a repeated one gets -1, -2 ...
md_anchors() {
	prose "$1" | perl -ne '
		next unless /^#{1,6}\s+(.*?)\s*#*\s*$/;
		my $a = lc $1;
		$a =~ s/[^a-z0-9\x80-\xff _-]//g;
		$a =~ s/ /-/g;
		print $seen{$a}++ ? "$a-" . ($seen{$a} - 1) : $a, "\n";'
}

test_links_resolve() {
	local doc dir link path anchor target bad=() n=0
	while read -r doc; do
		dir=$(dirname "$T_ROOT/$doc")
		while read -r link; do
			[[ -n $link ]] || continue
			[[ $link =~ ^[a-z][a-z0-9+.-]*: ]] && continue # http:, mailto:
			n=$((n + 1))
			path=${link%%#*}
			anchor=
			[[ $link == *#* ]] && anchor=${link#*#}
			if [[ -z $path ]]; then
				target=$T_ROOT/$doc
			else
				target=$dir/$path
			fi
			if [[ ! -e $target ]]; then
				bad+=("$doc: $link: no such file")
				continue
			fi
			if [[ -n $anchor ]]; then
				if [[ $target != *.md ]]; then
					bad+=("$doc: $link: an anchor into a file that is not markdown")
				elif ! md_anchors "$target" | grep -qxF -- "$anchor"; then
					bad+=("$doc: $link: no heading makes #$anchor")
				fi
			fi
		done < <(md_links "$T_ROOT/$doc")
	done < <(doc_files)
	((${#bad[@]} == 0)) || t_fail "$(printf '%s\n' "${bad[@]}")"
	((n >= 20)) || t_fail "found only $n relative links: is the link reader broken?"
}

# The link reader itself: a link in a code block is not a link, an
# anchor is GitHub's.
test_link_reader() {
	local f=$T_TMP/links.md
	# shellcheck disable=SC2016 # backquotes are markdown's
	printf '%s\n' '# Chat (`--chat`)' '## The tutorial'"'"'s client: a NUL' '## Again' '## Again' \
		'see [a](a.md#x) and [b](../b/)' '```' '[c](not-a-link.md)' '```' >"$f"
	[[ $(md_links "$f" | tr '\n' ' ') == 'a.md#x ../b/ ' ]] || t_fail "md_links: $(md_links "$f")"
	[[ $(md_anchors "$f" | tr '\n' ' ') == 'chat---chat the-tutorials-client-a-nul again again-1 ' ]] ||
		t_fail "md_anchors: $(md_anchors "$f" | tr '\n' ' ')"
}

# Every document under docs/ is reachable: linked from the README or
# from another document under docs/.
test_docs_are_linked() {
	local f name others
	for f in "$T_ROOT"/docs/*.md; do
		[[ -e $f ]] || continue
		name=$(basename "$f")
		others=$(for o in "$T_ROOT"/docs/*.md; do [[ $o == "$f" ]] || md_links "$o"; done)
		md_links "$T_ROOT/README.md" | grep -qE "^docs/$name(#|$)" && continue
		grep -qE "^(\./)?$name(#|$)" <<<"$others" && continue
		t_fail "docs/$name is linked from neither README.md nor another docs/*.md"
	done
}

test_readme_is_short() {
	local n
	n=$(wc -l <"$T_ROOT/README.md")
	((n <= README_MAX_LINES)) || t_fail "README.md has $n lines (at most $README_MAX_LINES)"
}

# sample FILE NAME: the first fenced block after the marker of NAME.
sample() {
	awk -v m="<!-- sample-$2 -->" '
		!found && index($0, m) == 1 { found = 1; next }
		found == 1 && /^```/ { found = 2; next }
		found == 2 && /^```/ { exit }
		found == 2' "$1"
}

# log_shape: a log on stdin, one line per line: the transport, whether
# the peer is the server's own ("-") or a client's, the number, the
# event; a message's text as is; the other fields by name, with the
# values of reason= and action= (the same in every run); every other
# number as N, the start line's address as ADDR.
log_shape() {
	awk '{
		peer = ($3 == "-") ? "-" : "PEER"
		out = $2 " " peer " " $4 " " $5
		if ($5 == "msg") {
			sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ msg /, "")
			print out " " $0
			next
		}
		for (i = 6; i <= NF; i++) {
			w = $i
			if (w ~ /^[a-z-]+=/) {
				k = substr(w, 1, index(w, "="))
				w = (k == "reason=" || k == "action=") ? w : k
			} else if ($5 == "start" && $(i - 1) == "on") {
				w = "ADDR"
			} else {
				gsub(/[0-9]+/, "N", w)
			}
			out = out " " w
		}
		print out
	}'
}

# numbers_out: stdin with every run of digits as N.
numbers_out() { sed -E 's/[0-9]+/N/g'; }

# start_server PROG LOG [OPTIONS...]: starts PROG on port 0 in $T_TMP,
# logging to LOG, stderr to LOG.err; sets SERVER_PID and SERVER_PORT.
start_server() {
	local prog=$1 log=$2 i
	shift 2
	"$(t_bin "$prog")" "$@" -l "$log" 0 2>"$log.err" &
	SERVER_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$log.err" 2>/dev/null && break
		sleep 0.1
	done
	SERVER_PORT=$(sed -nE 's/.*listening on .*:([0-9]+) \(.*/\1/p' "$log.err" | head -n 1)
	[[ -n $SERVER_PORT ]] || t_fail "$prog did not say it listens: $(cat "$log.err")"
}

# stop_server SIG: signals the server and waits (10 s at most) for it.
stop_server() {
	local i
	kill -"$1" "$SERVER_PID"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SERVER_PID" 2>/dev/null && t_fail "server $SERVER_PID still running 10 s after SIG$1"
	wait "$SERVER_PID" || t_fail "server exit status $?"
}

# wait_disconnects LOG N: waits (10 s at most) until LOG holds N
# disconnect lines, so that a stop cannot overtake the sessions' ends.
wait_disconnects() {
	local i
	for ((i = 0; i < 100; i++)); do
		(($(grep -c ' disconnect ' "$1" || true) >= $2)) && return 0
		sleep 0.1
	done
	t_fail "$1: not $2 disconnect lines after 10 s: $(cat "$1")"
}

# run_sample FILE NAME: runs the commands of a sample in $T_TMP, the
# documented port 8888 replaced by the server's, ./PROG by the built one.
run_sample() {
	local cmds=$T_TMP/$2.sh
	sample "$1" "$2" |
		sed -e "s|\\./mtclient|$(t_bin mtclient)|g" \
			-e "s|\\./seed_tcp_client|$T_TMP/seed_tcp_client|g" \
			-e "s/8888/$SERVER_PORT/g" >"$cmds"
	[[ -s $cmds ]] || t_fail "$1: no sample $2"
	(cd "$T_TMP" && timeout 20 bash -e "$cmds" >/dev/null) || t_fail "$1: sample $2 failed: $(cat "$cmds")"
}

# The session of docs/protocol.md: its commands against the real server
# give the documented log, line for line by shape; the stop summary is
# docs/operating.md's, and the start line one of mtserver(1)'s.
test_sample_session() {
	local doc=$T_ROOT/docs/protocol.md log=$T_TMP/demo.log want got
	trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
	start_server mtserver "$log" --echo
	run_sample "$doc" "session: commands"
	wait_disconnects "$log" "$(sample "$doc" "session: log" | grep -c ' disconnect ')"
	stop_server INT
	want=$(sample "$doc" "session: log" | log_shape)
	got=$(log_shape <"$log")
	[[ $(wc -l <<<"$want") -ge 10 ]] || t_fail "docs/protocol.md: the sample log is missing"
	[[ $got == "$want" ]] || t_fail "docs/protocol.md's sample log is not what the server logs:
$(diff <(echo "$want") <(echo "$got"))"

	want=$(sample "$T_ROOT/docs/operating.md" summary | numbers_out)
	got=$(grep -v 'listening on' "$log.err" | numbers_out)
	[[ -n $want ]] || t_fail "docs/operating.md: the sample summary is missing"
	[[ $got == "$want" ]] || t_fail "docs/operating.md's summary is not what the server prints:
$(diff <(echo "$want") <(echo "$got"))"

	got=$(grep 'listening on' "$log.err" | numbers_out)
	grep '^mtserver: listening on' "$T_ROOT/man/mtserver.1" | numbers_out | grep -qxF -- "$got" ||
		t_fail "man/mtserver.1 shows no start line like '$got'"
}

# The README's log lines are lines of that tested sample, its flood
# report lines those of bench/README.md.
test_readme_log_lines_are_the_sample() {
	local line n=0 sample_log
	sample_log=$(sample "$T_ROOT/docs/protocol.md" "session: log")
	while IFS= read -r line; do
		n=$((n + 1))
		grep -qxF -- "$line" <<<"$sample_log" || t_fail "README.md: '$line' is not in docs/protocol.md's sample log"
	done < <(grep -E '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "$T_ROOT/README.md")
	((n > 0)) || t_fail "README.md shows no log line"
	# and its flood report is bench/README.md's
	while IFS= read -r line; do
		grep -qxF -- "$line" "$T_ROOT/bench/README.md" || t_fail "README.md: '$line' is not in bench/README.md"
	done < <(grep -E '^  (round trip|service) \(us\)' "$T_ROOT/README.md")
}

# The tutorial's TCP client (../shared/seed) against the real server:
# the messages docs/protocol.md says it logs, the stale one included.
test_sample_seed_client() {
	local doc=$T_ROOT/docs/protocol.md log=$T_TMP/seed.log src want got
	src=${MT_SEED_DIR:-$T_ROOT/../shared/seed}/seed_tcp_client.c
	[[ -r $src ]] || t_skip "no tutorial client at $src (MT_SEED_DIR)"
	command -v cc >/dev/null || t_skip "no C compiler (apt-get install build-essential)"
	cc -w -o "$T_TMP/seed_tcp_client" "$src" || t_fail "cannot compile $src"
	trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
	start_server mtserver "$log"
	run_sample "$doc" "seed: commands"
	wait_disconnects "$log" "$(sample "$doc" "seed: log" | grep -c ' disconnect ')"
	stop_server TERM
	want=$(sample "$doc" "seed: log" | log_shape)
	got=$(awk '$2 == "tcp"' "$log" | log_shape)
	[[ -n $want ]] || t_fail "docs/protocol.md: the tutorial client's sample log is missing"
	[[ $got == "$want" ]] || t_fail "docs/protocol.md's tutorial client log is not what the server logs:
$(diff <(echo "$want") <(echo "$got"))"
}

test_stserver_start_line() {
	local log=$T_TMP/st.log got
	trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
	start_server stserver "$log"
	stop_server TERM
	got=$(grep 'listening on' "$log.err" | numbers_out)
	grep '^stserver: listening on' "$T_ROOT/man/stserver.1" | numbers_out | grep -qxF -- "$got" ||
		t_fail "man/stserver.1 shows no start line like '$got'"
}

# docs/design.md shows the whole diff between the two servers' mains.
test_sample_diff() {
	local want got
	want=$(sample "$T_ROOT/docs/design.md" diff)
	got=$(cd "$T_ROOT" && diff -u --label src/stserver.c --label src/mtserver.c src/stserver.c src/mtserver.c) || true
	[[ -n $want ]] || t_fail "docs/design.md: the diff sample is missing"
	[[ $got == "$want" ]] || t_fail "docs/design.md's diff is not diff -u src/stserver.c src/mtserver.c:
$(diff <(echo "$want") <(echo "$got"))"
}

t_case test_link_reader
t_case test_links_resolve
t_case test_docs_are_linked
t_case test_readme_is_short
t_case test_sample_session
t_case test_readme_log_lines_are_the_sample
t_case test_sample_seed_client
t_case test_stserver_start_line
t_case test_sample_diff
t_done
