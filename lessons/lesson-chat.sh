#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# lessons/lesson-chat.sh - Lesson 4: the obvious chat server and what one
# member that stops reading does to it.
#
#   make lesson-chat             10 members x 5000 lines of 200 bytes
#   make lesson-chat QUICK=1     10 members x 1000 lines
#   make lesson-chat PUBLISH=1   ... and copy the results to lessons/published/
#
# Two servers on 127.0.0.1, each driven by the same flood --chat: the
# obvious design (lessons/peers/naive_chat.c: the sender's thread writes to
# every other member with blocking send() under the member-list lock) and
# mtserver --chat (each member's own thread writes its socket, from a
# bounded outbox).  Each runs twice: everyone reads, then with one more
# member that never reads (flood --deaf 1).  10 MB of lines are meant for
# that member, more than its socket buffers hold, so the room must deal
# with it.  flood checks every other delivery (once, in order) and gives
# up when no delivery arrives for 5 s.
# It measures into bench/results/chat-lesson.json (QUICK: chat-lesson-
# quick.json) and renders chat-lesson.md from it, also printed on stdout.
# Exit status: 0 when mtserver's runs all worked (the naive server's stall
# is the lesson, not a failure), 1 otherwise.
set -euo pipefail

BENCH_NAME=lesson-chat
PUBLISHED_DIR=lessons/published
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/../bench/lib.sh"

FLOOD=${FLOOD:-bench/flood}
NAIVE=lessons/peers/naive_chat
MEMBERS=10 SIZE=200 TIMEOUT_MS=5000
if ((QUICK)); then MESSAGES=1000; else MESSAGES=5000; fi

for prog in ./mtserver "$FLOOD" "$NAIVE"; do
	[[ -x $prog ]] || die "$prog not built (run: make all $NAIVE)"
done

# measure SERVER DEAF: one flood --chat run into $T/SERVER-DEAF.json.
measure() {
	local server=$1 deaf=$2 name="$1-$2"
	case $server in
	naive) srv_start "srv-$name" -- "$NAIVE" 0 ;;
	mtserver) srv_start "srv-$name" -- ./mtserver --chat -q --no-udp -l /dev/null -b 127.0.0.1 0 ;;
	esac
	timeout -k 5 70 "$FLOOD" --chat -n "$MEMBERS" -m "$MESSAGES" -s "$SIZE" --deaf "$deaf" \
		--timeout "$TIMEOUT_MS" --max-time 60 -p "$SRV_PORT" --json \
		>"$T/$name.json" 2>"$T/$name.err" || true
	bg_stop "srv-$name" 5 || true
	say "$server, $deaf deaf: $(json_get "$T/$name.json" deliveries) of $(json_get "$T/$name.json" expected) deliveries"
}

# results OUT: the runs' JSON in one object.
results() {
	local s d first=1
	{
		printf '{"members": %s, "messages": %s, "size": %s, "timeout_ms": %s, "runs": {' \
			"$MEMBERS" "$MESSAGES" "$SIZE" "$TIMEOUT_MS"
		for s in naive mtserver; do
			for d in 0 1; do
				((first)) || printf ','
				first=0
				printf '\n"%s-%s": %s' "$s" "$d" "$(cat "$T/$s-$d.json" 2>/dev/null || echo null)"
			done
		done
		printf '\n}}\n'
	} >"$1"
}

# render JSON: the lesson's table in Markdown.
render() {
	local j=$1 s d k
	printf '| server | deaf members | deliveries | of | time (s) | deliveries/s | p99 delivery (ms) | result |\n'
	printf '|:--|--:|--:|--:|--:|--:|--:|:--|\n'
	for s in naive mtserver; do
		for d in 0 1; do
			k="runs.$s-$d"
			printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$([[ $s == naive ]] && echo 'obvious (naive_chat.c)' || echo 'mtserver --chat')" "$d" \
				"$(fmt_num "$(json_get "$j" "$k.deliveries")")" "$(fmt_num "$(json_get "$j" "$k.expected")")" \
				"$(round "$(json_get "$j" "$k.elapsed_s")" 2)" \
				"$(fmt_num "$(round "$(json_get "$j" "$k.deliveries_per_s")" 0)")" \
				"$(round "$(awk -v u="$(json_get "$j" "$k.delivery_us.p99")" 'BEGIN { print u / 1000 }')" 1)" \
				"$([[ $(json_get "$j" "$k.ok") == true ]] && echo 'all delivered' ||
					echo "stalled: no delivery for $((TIMEOUT_MS / 1000)) s")"
		done
	done
}

main() {
	local out
	bench_begin
	say "$MEMBERS members x $MESSAGES lines of $SIZE bytes, naive_chat vs mtserver --chat"
	measure naive 0
	measure naive 1
	measure mtserver 0
	measure mtserver 1
	out=$(bench_out chat-lesson)
	results "$out.json"
	render "$out.json" >"$out.md"
	cat "$out.md"
	[[ $(json_get "$out.json" runs.mtserver-0.ok) == true && $(json_get "$out.json" runs.mtserver-1.ok) == true ]] || return 1
	bench_publish 0 "$out.json" "$out.md"
}

main "$@"
