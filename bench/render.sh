#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck disable=SC2016 # Markdown: backquotes are literal
# bench/render.sh - the Markdown of a bench script's JSON results.  Rendering
# only: it reads the JSON a script measured into and prints Markdown, so a
# report can be re-rendered (or its wording changed) without measuring again.
#
#   bash bench/render.sh bench   bench/results/latest.json   > latest.md
#   bash bench/render.sh targets bench/published/latest.json (its targets
#                                table alone, as the README quotes it)
#   bash bench/render.sh compare bench/results/compare.json  > compare.md
#                                (lessons/compare.sh)
#   bash bench/render.sh compare-dat bench/results/compare.json > compare.dat
#   bash bench/render.sh lossy   bench/results/lossy.json    > lossy.md
set -euo pipefail

BENCH_NAME=render
# shellcheck source=bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------
# Markdown helpers

# md_cell TEXT: TEXT safe inside a table cell.
md_cell() {
	local s=${1-}
	s=${s//|/\\|}
	printf '%s' "${s//$'\n'/ }"
}
# md_code TEXT: TEXT as inline code in a table cell ("" stays empty).
md_code() {
	# shellcheck disable=SC2016 # literal backquotes
	[[ -z ${1-} ]] || printf '`%s`' "$(md_cell "$1")"
}
# ratio_txt A B: "1.23x" or "-".
ratio_txt() {
	local r
	r=$(ratio "${1-}" "${2-}")
	if [[ -n $r ]]; then printf '%sx' "$r"; else printf -- '-'; fi
}
# met_txt yes|no|n/a: a missed target in bold.
met_txt() { if [[ ${1-} == no ]]; then printf '**no**'; else printf '%s' "${1:-n/a}"; fi; }
kb_mb() { if is_num "${1-}"; then awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; else printf -- '-'; fi; }
# row CELL...: one table row.
row() {
	local c out='|'
	for c in "$@"; do out+=" $c |"; done
	printf '%s\n' "$out"
}
# count PREFIX [MEMBER]: how many elements the JSON array at PREFIX has
# (of scalars, or of objects that all have MEMBER).
count() {
	local i=0 m=${2:+.$2}
	while [[ -n ${J[$1.$i$m]+x} ]]; do i=$((i + 1)); done
	printf '%s' "$i"
}
# target_of ID: the index of target ID in "targets", or nothing.
target_of() {
	local i n
	n=$(count targets id)
	for ((i = 0; i < n; i++)); do
		[[ $(jv "targets.$i.id") == "$1" ]] && printf '%s' "$i" && return 0
	done
	return 0
}
met_of() {
	local i
	i=$(target_of "$1")
	met_txt "$([[ -n $i ]] && jv "targets.$i.met")"
}
busy_txt() { printf 'CPUs %s%% busy with other work just before this section.' "$(jv "sections.$1.busy_pct_before")"; }
# run_label ID: the tool's name, with the failure when the run failed.
declare -A TOOL_NAMES=([tpc]='minimal loop' [redis]=redis-server [go]='Go echo')
run_label() {
	local tool
	tool=$(jv "runs.$1.tool")
	tool=${TOOL_NAMES[$tool]:-$tool}
	if [[ $(jv "runs.$1.ok") == true ]]; then
		printf '%s' "$tool"
	else
		md_cell "$tool (FAILED: $(jv "runs.$1.note"))"
	fi
}

# ---------------------------------------------------------------------------
# make bench: latest.json -> latest.md

bench_header() {
	local quick='' cmd='make bench'
	[[ $(jv quick) == true ]] && quick=' (QUICK smoke run: tiny counts, figures not meaningful)' cmd='make bench QUICK=1'
	printf '# mtserver benchmark%s\n\n' "$quick"
	printf 'Status: **%s**. Started %s, took %s s. Measured by `%s` (bench/run.sh), rendered by bench/render.sh.\n\n' \
		"$(jv status)" "$(jv started)" "$(jv duration_s)" "$cmd"
	printf '%s\n\n' "Every figure below was measured in this one run, on this machine, over 127.0.0.1, with mtserver and
each peer started by the script on a free port with a throw-away configuration. Ratios compare mtserver
(or flood) with the peer in the same run; they are not absolute claims. flood runs on the same
$(jv machine.nproc) CPUs as the server it drives, so the load generator and the server compete for them in
every measurement, peers included. \$TMP is the run's mktemp directory; ports are those of this run."
}

bench_machine() {
	printf '## Machine\n\n| | |\n|---|---|\n'
	row 'CPUs (nproc)' "$(jv machine.nproc)"
	row 'CPU model' "$(md_cell "$(jv machine.cpu_model)")"
	row kernel "$(md_cell "$(jv machine.kernel)")"
	row memory "$(kb_mb "$(jv machine.mem_total_kb)") MB"
	row OS "$(md_cell "$(jv machine.os)")"
	row RLIMIT_NOFILE "$(jv machine.rlimit_nofile)"
	row 'load average before / after (after includes the bench)' "$(jv machine.loadavg_start) / $(jv machine.loadavg_end)"
	printf '\n## Versions\n\n| tool | version |\n|---|---|\n'
	local k
	for k in mtserver flood git cc bash redis-server redis-benchmark rsyslogd go ncat dd; do
		[[ -n $(jv "versions.$k") ]] && row "$k" "$(md_cell "$(jv "versions.$k")")"
	done
	printf '\n'
}

bench_targets() {
	local i n
	n=$(count targets id)
	printf '## Targets\n\nReported, not enforced: a missed target does not fail the run.\n\n'
	printf '| target | measured | wanted | met? |\n|---|---|---|---|\n'
	for ((i = 0; i < n; i++)); do
		row "$(md_cell "$(jv "targets.$i.description")")" "$(md_cell "$(jv "targets.$i.measured")")" \
			"$(md_cell "$(jv "targets.$i.wanted")")" "$(met_txt "$(jv "targets.$i.met")")"
	done
	printf '\n'
}

# servers_list SECTION NAME...: "- NAME: `command`" for each server run.
servers_list() {
	local s=$1 k
	shift
	printf 'Servers:\n\n'
	for k in "$@"; do
		[[ -n $(jv "sections.$s.servers.$k") ]] && printf -- '- %s: `%s`\n' "$k" "$(jv "sections.$s.servers.$k")"
	done
	printf '\n'
}

# pp_target C: the target text and verdict of mtserver's row at C clients.
pp_target() {
	local c=$1
	if [[ -n $(target_of "pp_${c}_vs_tpc") ]]; then
		printf '>= 0.95x minimal loop | %s' "$(met_of "pp_${c}_vs_tpc")"
	elif [[ $c == 1 ]]; then
		printf 'p50 <= redis p50 | %s' "$(met_of pp_1_p50)"
	else
		printf ' | '
	fi
}

bench_pingpong() {
	local i c tool id m
	printf '## 1. Ping-pong (echo round trips)\n\n'
	printf '%s\n\n' "Each client sends \`PING\` and waits for the reply before sending the next (\`flood --echo\`,
$(jv sections.pingpong.load), $(jv sections.pingpong.timeout_ms) ms reply timeout). msgs/s is replies per second over
all clients; p50/p99 are round-trip latencies. The *minimal loop* is bench/peers/tpc_echo.c: accept, one thread
per client, recv, send, nothing else - the ceiling of mtserver's concurrency model. Ratios are mtserver ÷ the
peer in this run. $(busy_txt pingpong)"
	printf '| clients | tool | command | msgs/s | p50 µs | p99 µs | mtserver ÷ this | target | met? |\n'
	printf '|---:|---|---|---:|---:|---:|---:|---|---|\n'
	for ((i = 0; i < $(count sections.pingpong.clients); i++)); do
		c=$(jv "sections.pingpong.clients.$i")
		m=$(jv "runs.pp_mtserver_$c.messages_per_s")
		for tool in mtserver tpc redis go; do
			id=pp_${tool}_$c
			[[ -n $(jv "runs.$id.tool") ]] || continue
			row "$c" "$(run_label "$id")" \
				"$(md_code "$(jv "runs.$id.command")")" "$(fmt_num "$(jv "runs.$id.messages_per_s")")" \
				"$(fmt_num "$(jv "runs.$id.p50_us")")" "$(fmt_num "$(jv "runs.$id.p99_us")")" \
				"$([[ $tool == mtserver ]] || ratio_txt "$m" "$(jv "runs.$id.messages_per_s")")" \
				"$([[ $tool == mtserver ]] && pp_target "$c" || printf ' | ')"
		done
	done
	printf '\n'
	pp_rounds_table
	servers_list pingpong mtserver tpc redis go
}

# pp_rounds_table: the target pair's rounds, when there were several.
pp_rounds_table() {
	local rounds i c r m t
	rounds=$(jv sections.pingpong.rounds)
	is_num "$rounds" && ((rounds > 1)) || return 0
	printf '%s\n\n' "One pair of 5-second runs swings by 10% and more on a shared machine, either way. So at the
client counts with a target, mtserver and the minimal loop run $rounds rounds, the two one right after the
other (round 1 is the table's), and the target is the median of the rounds' ratios."
	printf '| clients | round | mtserver msgs/s | minimal loop msgs/s | mtserver ÷ minimal loop |\n'
	printf '|---:|---:|---:|---:|---:|\n'
	for ((i = 0; i < $(count sections.pingpong.clients); i++)); do
		c=$(jv "sections.pingpong.clients.$i")
		[[ -n $(target_of "pp_${c}_vs_tpc") ]] || continue
		for ((r = 1; r <= rounds; r++)); do
			m=$(jv "runs.$(pp_id mtserver "$c" "$r").messages_per_s")
			t=$(jv "runs.$(pp_id tpc "$c" "$r").messages_per_s")
			[[ -n $m$t ]] || continue
			row "$c" "$r" "$(fmt_num "$m")" "$(fmt_num "$t")" "$(ratio_txt "$m" "$t")"
		done
		row "$c" median '' '' "$(jv "targets.$(target_of "pp_${c}_vs_tpc").measured")"
	done
	printf '\n'
}

bench_loadgen() {
	local id
	printf '## 2. Load generators: redis-benchmark vs flood\n\n'
	if [[ -z $(jv runs.rb_flood.tool) ]]; then
		printf 'Skipped: redis-server/redis-benchmark not available.\n\n'
		return 0
	fi
	printf '%s\n\n' "Both drive the same redis-server (\`$(jv sections.loadgen.server)\`) with $(jv sections.loadgen.clients)
connections of inline \`PING\`, one request in flight per connection. redis-benchmark's p50/p99 are converted
from ms. $(busy_txt loadgen)"
	printf '| tool | command | requests/s | p50 µs | p99 µs | flood ÷ redis-benchmark | target | met? |\n'
	printf '|---|---|---:|---:|---:|---|---|---|\n'
	for id in rb_redis_benchmark rb_flood; do
		row "$(run_label "$id")" "$(md_code "$(jv "runs.$id.command")")" "$(fmt_num "$(jv "runs.$id.messages_per_s")")" \
			"$(fmt_num "$(jv "runs.$id.p50_us")")" "$(fmt_num "$(jv "runs.$id.p99_us")")" \
			"$([[ $id == rb_flood ]] && ratio_txt "$(jv runs.rb_flood.messages_per_s)" "$(jv runs.rb_redis_benchmark.messages_per_s)")" \
			"$([[ $id == rb_flood ]] && echo '>= 1.5x')" "$([[ $id == rb_flood ]] && met_of rb_flood)"
	done
	printf '\n'
}

# seconds_txt ID: a run's seconds; dd's two tries with the one counted.
seconds_txt() {
	if [[ -n $(jv "runs.$1.seconds.1") ]]; then
		printf '%s, %s (best counts)' "$(jv "runs.$1.seconds.0")" "$(jv "runs.$1.seconds.1")"
	else
		jv "runs.$1.elapsed_s"
	fi
}

bench_ingest() {
	local id m_l dd_b
	printf '## 3. One-way ingest (log every line to a file)\n\n'
	printf '%s\n\n' "$(jv sections.ingest.clients) clients each send $(fmt_num "$(jv sections.ingest.messages)") lines of
$(jv sections.ingest.message_size) bytes as fast as TCP lets them. Rates count from starting flood to the last write
to the output file (its mtime once it stops growing): what was written, not what was sent. mtserver's log is
checked line by line with \`flood --verify-log\`; rsyslogd's output is counted. *rsyslogd, mtline* writes the same
content as mtserver's line (microsecond timestamp, transport, peer, connection number, event, message);
*rsyslogd, raw* the bare message. *dd* writes the bytes mtserver logged to the same file system with a plain
\`dd\` (best of two), the machine's write ceiling. $(busy_txt ingest)"
	m_l=$(jv runs.in_mtserver.lines_per_s) dd_b=$(jv runs.in_dd.bytes_per_s)
	printf '| tool | command | lines/s | bytes/s | bytes/line | seconds | lines lost | mtserver lines/s ÷ this | bytes/s ÷ dd |\n'
	printf '|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
	for id in in_mtserver in_rsyslog_mtline in_rsyslog_raw in_dd; do
		[[ -n $(jv "runs.$id.tool") ]] || continue
		row "$(run_label "$id")" "$(md_code "$(jv "runs.$id.command")")" "$(fmt_num "$(jv "runs.$id.lines_per_s")")" \
			"$(fmt_num "$(jv "runs.$id.bytes_per_s")")" "$(ratio "$(jv "runs.$id.bytes")" "$(jv "runs.$id.lines_logged")" 1)" \
			"$(seconds_txt "$id")" "$(jv "runs.$id.lost")" \
			"$([[ $id == in_rsyslog_* ]] && ratio_txt "$m_l" "$(jv "runs.$id.lines_per_s")")" \
			"$([[ $id != in_dd ]] && ratio_txt "$(jv "runs.$id.bytes_per_s")" "$dd_b")"
	done
	printf '\nTargets: mtserver >= 5x rsyslogd (mtline) in lines/s: %s; mtserver bytes/s >= 0.8x dd: %s; one of them: %s.\n\n' \
		"$(met_of in_vs_rsyslog)" "$(met_of in_vs_dd)" "$(met_of in_either)"
	[[ -n $(jv runs.in_mtserver.verify_command) ]] &&
		printf 'Check: `%s`: %s.\n\n' "$(jv runs.in_mtserver.verify_command)" \
			"$([[ $(jv runs.in_mtserver.verify_ok) == true ]] && echo 'every line exactly once' || echo '**FAILED**')"
	servers_list ingest mtserver rsyslog_mtline rsyslog_raw
	printf 'rsyslogd runs [bench/peers/rsyslog.conf.in](../peers/rsyslog.conf.in): imtcp → omfile, tuned for throughput (in-memory main queue of 1,000,000 that discards nothing, dequeue batches of 4,096, 256 KB write buffer).\n\n'
}

bench_memory() {
	local i id per rss base peak
	printf '## 4. Memory with idle clients\n\n'
	printf '%s\n\n' "flood connects every client, stays idle $(jv sections.memory.seconds) s, then closes (\`--hold\`). While it
holds, the bench reads the server's open sockets and VmRSS from /proc/PID every 0.2 s: VmRSS is the largest
value seen at the peak socket count; VmHWM the peak over the server's life (a fresh server per row); *after* is
VmRSS once the clients have left. KB/conn = (VmRSS − VmRSS before) ÷ sockets. $(busy_txt memory)"
	printf '| tool | command | held (flood) | server sockets | VmRSS MB | VmHWM MB | after MB | KB/conn | threads |\n'
	printf '|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
	for id in "hold_mtserver_$(jv sections.memory.clients)" "hold_go_$(jv sections.memory.clients)" \
		"hold_mtserver_$(jv sections.memory.big)"; do
		[[ -n $(jv "runs.$id.tool") ]] || continue
		rss=$(jv "runs.$id.vmrss_kb") base=$(jv "runs.$id.vmrss_before_kb") peak=$(jv "runs.$id.server_sockets_peak")
		per=$(ratio "$(awk -v a="${rss:-0}" -v b="${base:-0}" 'BEGIN { print a - b }')" "$peak" 1)
		row "$(run_label "$id")" "$(md_code "$(jv "runs.$id.command")")" "$(fmt_num "$(jv "runs.$id.connections_held")")" \
			"$(fmt_num "$peak")" "$(kb_mb "$rss")" "$(kb_mb "$(jv "runs.$id.vmhwm_kb")")" \
			"$(kb_mb "$(jv "runs.$id.vmrss_after_kb")")" "${per:--}" "$(jv "runs.$id.threads")"
	done
	printf '\nTargets: VmRSS <= 80 MB: %s; all held: %s.\n\nServers:\n\n' "$(met_of mem_rss)" "$(met_of mem_big)"
	for ((i = 0; i < $(count sections.memory.servers); i++)); do
		printf -- '- `%s`\n' "$(jv "sections.memory.servers.$i")"
	done
	printf '\n'
}

bench_chat() {
	local i n id tool
	printf '## 5. Chat: mtserver --chat vs ncat --chat\n\n'
	if [[ -n $(jv sections.chat.skipped) ]]; then
		printf 'Skipped: %s.\n\n' "$(jv sections.chat.skipped)"
		return 0
	fi
	printf '%s\n\n' "\`flood --chat -n N -m M\`: N members each send M messages; flood checks that every member received every
other member's messages exactly once and in each sender's order, and times each delivery from its send.
ncat is Debian's \`ncat --chat\`, which keeps no log; so mtserver runs with \`-q\` (messages not logged).
$(busy_txt chat)"
	printf '| members | tool | command | deliveries/s | p50 µs | p99 µs | mtserver ÷ this | target | met? |\n'
	printf '|---:|---|---|---:|---:|---:|---:|---|---|\n'
	for ((i = 0; i < $(count sections.chat.sizes); i++)); do
		n=$(jv "sections.chat.sizes.$i")
		for tool in mtserver ncat; do
			id=chat_${tool}_$n
			[[ -n $(jv "runs.$id.tool") ]] || continue
			row "$n" "$(run_label "$id")" "$(md_code "$(jv "runs.$id.command")")" \
				"$(fmt_num "$(jv "runs.$id.deliveries_per_s")")" "$(fmt_num "$(jv "runs.$id.p50_us")")" \
				"$(fmt_num "$(jv "runs.$id.p99_us")")" \
				"$([[ $tool == ncat ]] && ratio_txt "$(jv "runs.chat_mtserver_$n.deliveries_per_s")" "$(jv "runs.$id.deliveries_per_s")")" \
				"$([[ $tool == mtserver ]] && echo 'ahead of ncat in deliveries/s and p99')" \
				"$([[ $tool == mtserver ]] && met_of "chat_$n")"
		done
	done
	printf '\n'
	servers_list chat mtserver ncat
}

# list TITLE PREFIX: a bulleted section of the strings in array PREFIX.
list() {
	local i n
	n=$(count "$2")
	((n > 0)) || return 0
	printf '## %s\n\n' "$1"
	for ((i = 0; i < n; i++)); do printf -- '- %s\n' "$(jv "$2.$i")"; done
	printf '\n'
}

render_bench() {
	bench_header
	bench_machine
	bench_targets
	bench_pingpong
	bench_loadgen
	bench_ingest
	bench_memory
	bench_chat
	list Failures failures
	list Notes notes
}

# ---------------------------------------------------------------------------
# make compare: compare.json -> compare.md, compare.dat (for compare.gp)

# fmt_s SECONDS: a duration for the table (ms below 1 s); "-" if none.
fmt_s() {
	awk -v s="${1-}" 'BEGIN {
		if (s == "" || s < 0) print "-"
		else if (s < 0.001) printf "%.2f ms\n", s * 1000
		else if (s < 1) printf "%.1f ms\n", s * 1000
		else printf "%.2f s\n", s
	}'
}
# wait_txt SECONDS: fmt_s, or "> CAP s" for a client not served in time.
wait_txt() { if [[ -z ${1-} ]]; then printf '>%s s' "$(jv cap_s)"; else fmt_s "$1"; fi; }

compare_row() {
	local id=$1 total mark
	if [[ $(jv "runs.$id.capped") == true ]]; then
		total="capped (>$(jv cap_s) s)"
		mark="capped: $(jv "runs.$id.answered") of $(($(jv "runs.$id.clients") * $(jv messages))) messages answered in $(jv cap_s) s"
	else
		total=$(fmt_s "$(jv "runs.$id.elapsed_s")") mark=''
	fi
	[[ -n $(jv "runs.$id.note") ]] && mark="${mark:+$mark; }$(jv "runs.$id.note")"
	row "$(jv "runs.$id.clients")" "$(jv "runs.$id.server")" "$total" "$(jv "runs.$id.messages_per_s")" \
		"$(wait_txt "$(jv "runs.$id.first_reply_p50_s")")" "$(wait_txt "$(jv "runs.$id.first_reply_max_s")")" \
		"$(fmt_s "$(jv "runs.$id.connect_max_s")")" "$(md_cell "$mark")"
}

render_compare() {
	local i n srv m think
	m=$(jv messages) think=$(jv think_ms)
	printf '# stserver vs mtserver: interactive clients\n\n'
	printf '%s\n\n' "Each client connects, sends $m messages ${think} ms apart (\`flood -n N -m $m --think $think --echo\`)
and waits for each echo; every client starts at once.  stserver serves one client at a time (listen backlog 5),
mtserver one thread per client.  Budget $(jv cap_s) s per run: stserver's larger cases would need
N x $(awk -v m="$m" -v t="$think" 'BEGIN { printf "%g", (m - 1) * t / 1000 }') s."
	printf '%s\n\n' "*First reply* is each client's wait from the moment flood starts connecting to the moment the server
reads its first message (and echoes it back): the server log's timestamp of the client's first message minus
flood's start, as \`flood --verify-log --run-start\` reports it (first_logged_us). *Slowest connect* is flood's longest connect() among those that completed (the client's
view): 1 s, 3 s ... mean SYNs were dropped while the backlog was full and retried.  A completed connect() is not
an accept(): the connection may still wait in the queue for its turn."
	printf '| N | server | total time | msgs/s | first reply p50 | first reply max | slowest connect | capped |\n'
	printf '|--:|:--|--:|--:|--:|--:|--:|:--|\n'
	for ((i = 0; i < $(count clients); i++)); do
		n=$(jv "clients.$i")
		for srv in stserver mtserver; do
			[[ -n $(jv "runs.${srv}_$n.server") ]] && compare_row "${srv}_$n"
		done
	done
	printf '\nHost: %s, %s CPUs; %s; whole run %s s (`lessons/compare.sh`%s).\n' "$(jv host.kernel)" "$(jv host.nproc)" \
		"$(jv started)" "$(jv duration_s)" "$([[ $(jv quick) == true ]] && echo ', QUICK=1')"
}

# or_neg PATH: the value, or -1 when there is none.
or_neg() { if [[ -n $(jv "$1") ]]; then jv "$1"; else printf -- -1; fi; }

# render_compare_dat: one block per server (gnuplot "index 0" = stserver,
# "index 1" = mtserver), times in seconds, -1 = beyond the budget.
render_compare_dat() {
	local i n srv id sep=''
	printf '# compare.sh data; times in seconds, -1 = not reached within the budget (%s s)\n' "$(jv cap_s)"
	printf '# N server total msgs_per_s wait_p50 wait_max connect_max capped\n'
	for srv in stserver mtserver; do
		printf '%s# %s\n' "$sep" "$srv"
		for ((i = 0; i < $(count clients); i++)); do
			n=$(jv "clients.$i") id=${srv}_$n
			[[ -n $(jv "runs.$id.server") ]] || continue
			printf '%s %s %s %s %s %s %s %s\n' "$n" "$srv" \
				"$(if [[ $(jv "runs.$id.capped") == true ]]; then echo -1; else or_neg "runs.$id.elapsed_s"; fi)" \
				"$(or_neg "runs.$id.messages_per_s")" "$(or_neg "runs.$id.first_reply_p50_s")" \
				"$(or_neg "runs.$id.first_reply_max_s")" "$(or_neg "runs.$id.connect_max_s")" \
				"$([[ $(jv "runs.$id.capped") == true ]] && echo 1 || echo 0)"
		done
		sep=$'\n\n'
	done
}

# ---------------------------------------------------------------------------
# make lesson-udp: lossy.json -> lossy.md

render_lossy() {
	local i id
	printf '# TCP vs UDP on a lossy link\n\n'
	printf '%s\n\n' "mtserver and flood in a network namespace of their own; nftables drops a random LOSS % of the packets
arriving on lo (\`numgen random mod 100 < LOSS drop\` on the input hook: each packet gets one chance to be
dropped, and the sender is not told).  $(jv clients) clients x $(jv messages) messages of 32 bytes, the same over both
transports (\`flood -n $(jv clients) -m $(jv messages)\` with \`--udp --rate $(jv rate)\`, \`--rate $(jv rate)\` or nothing);
*logged* counts the messages \`flood --verify-log\` finds in the server's log."
	printf '*packets dropped*: the nftables rule'"'"'s counter (every packet: data, ACKs, handshakes);\n'
	printf '*TCP retransmits*: the namespace'"'"'s TcpRetransSegs during the run.\n\n'
	printf '| transport | loss | sent | logged | lost | lost %% | time | packets dropped | TCP retransmits | note |\n'
	printf '|:--|--:|--:|--:|--:|--:|--:|--:|--:|:--|\n'
	for ((i = 0; i < $(count runs label); i++)); do
		id=runs.$i
		row "$(jv "$id.label")" "$(jv "$id.loss_pct") %" "$(jv "$id.sent")" "$(jv "$id.logged")" "$(jv "$id.lost")" \
			"$(jv "$id.lost_pct") %" "$(printf '%.3f s' "$(jv "$id.elapsed_s")")" "$(jv "$id.packets_dropped")" \
			"$(jv "$id.tcp_retransmits")" "$(md_cell "$(jv "$id.note")")"
	done
	printf '\nHost: %s, %s CPUs; %s (`lessons/lesson-udp.sh`%s).\n' "$(jv host.kernel)" "$(jv host.nproc)" \
		"$(jv started)" "$([[ $(jv quick) == true ]] && echo ', QUICK=1')"
}

# ---------------------------------------------------------------------------

main() {
	(($# == 2)) || die "usage: render.sh bench|targets|compare|compare-dat|lossy FILE.json"
	[[ -r $2 ]] || die "cannot read $2"
	json_load "$2"
	case $1 in
	bench) render_bench ;;
	targets) bench_targets ;;
	compare) render_compare ;;
	compare-dat) render_compare_dat ;;
	lossy) render_lossy ;;
	*) die "unknown report '$1' (bench, targets, compare, compare-dat or lossy)" ;;
	esac
}

main "$@"
