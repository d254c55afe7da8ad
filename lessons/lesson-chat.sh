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
# lessons/lessonlib.py gathers the runs into lessons/results/chat-lesson.json
# (QUICK: chat-lesson-quick.json) and renders chat-lesson.md from it, also
# printed on stdout.
# Exit status: 0 when mtserver's runs all worked (the naive server's stall
# is the lesson, not a failure), 1 otherwise.
set -euo pipefail

BENCH_NAME=lesson-chat
RESULTS_DIR=lessons/results PUBLISHED_DIR=lessons/published
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
	say "$server, $deaf deaf: $(bget "$T/$name.json" deliveries) of $(bget "$T/$name.json" expected) deliveries"
}

main() {
	local out rc=0
	bench_begin
	say "$MEMBERS members x $MESSAGES lines of $SIZE bytes, naive_chat vs mtserver --chat"
	measure naive 0
	measure naive 1
	measure mtserver 0
	measure mtserver 1
	out=$(bench_out chat-lesson)
	fact chat members "$MEMBERS" messages "$MESSAGES" size "$SIZE" timeout_ms "$TIMEOUT_MS"
	py lessons/lessonlib.py results chat "$T" "$out.json" || rc=1
	py lessons/lessonlib.py render chat "$out.json" >"$out.md"
	cat "$out.md"
	bench_publish "$rc" "$out.json" "$out.md"
	return "$rc"
}

main "$@"
