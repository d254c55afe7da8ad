/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.c - server counters; contract in stats.h.
 */
#include "stats.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

const char *const stats_refusal_names[STATS_REFUSALS] = {
	[STATS_REFUSED_SERVER_FULL] = "server-full",
	[STATS_REFUSED_PER_IP_LIMIT] = "per-ip-limit",
	[STATS_REFUSED_MEMORY_BUDGET] = "memory-budget",
	[STATS_REFUSED_NO_MEMORY] = "no-memory",
	[STATS_REFUSED_NO_DESCRIPTORS] = "no-descriptors",
	[STATS_REFUSED_NO_THREAD] = "no-thread",
	[STATS_REFUSED_PROXY_UNTRUSTED] = "proxy-untrusted",
	[STATS_REFUSED_PROXY_NO_HEADER] = "proxy-no-header",
	[STATS_REFUSED_PROXY_BAD_HEADER] = "proxy-bad-header",
	[STATS_REFUSED_PROXY_TIMEOUT] = "proxy-timeout",
	[STATS_REFUSED_OTHER] = "other",
};

const char *const stats_end_names[STATS_ENDS] = {
	[STATS_END_CLIENT_CLOSED] = "client-closed",
	[STATS_END_QUIT] = "quit",
	[STATS_END_RESET] = "reset",
	[STATS_END_ERROR] = "error",
	[STATS_END_IDLE_TIMEOUT] = "idle-timeout",
	[STATS_END_LINE_TIMEOUT] = "line-timeout",
	[STATS_END_SEND_TIMEOUT] = "send-timeout",
	[STATS_END_SLOW_READER] = "slow-reader",
	[STATS_END_SHUTDOWN] = "shutdown",
	[STATS_END_DRAIN_TIMEOUT] = "drain-timeout",
	[STATS_END_MEMORY_BUDGET] = "memory-budget",
	[STATS_END_NO_MEMORY] = "no-memory",
	[STATS_END_OTHER] = "other",
};

/* The index of name in names[0..n), the last ("other") if none. */
static size_t index_of(const char *const names[], size_t n, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return n - 1;
}

void stats_init(struct stats *st)
{
	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_MONOTONIC, &st->started);
}

void stats_add(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

uint64_t stats_get(const atomic_uint_fast64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

void stats_refused(struct stats *st, const char *reason)
{
	stats_add(&st->tcp_refused, 1);
	stats_add(&st->refused[index_of(stats_refusal_names, STATS_REFUSALS,
					reason)],
		  1);
}

void stats_ended(struct stats *st, const char *reason)
{
	stats_add(&st->ended[index_of(stats_end_names, STATS_ENDS, reason)], 1);
}

void stats_tcp_add(struct stats *st, uint64_t id, uint64_t msgs, uint64_t bytes,
		   uint64_t truncated)
{
	struct stats_shard *sh = &st->tcp[id % STATS_SHARDS];

	if (msgs > 0)
		stats_add(&sh->msgs, msgs);
	if (bytes > 0)
		stats_add(&sh->bytes, bytes);
	if (truncated > 0)
		stats_add(&sh->truncated, truncated);
}

struct stats_tcp stats_tcp_sum(const struct stats *st)
{
	struct stats_tcp sum = {0};
	size_t i;

	for (i = 0; i < STATS_SHARDS; i++) {
		sum.msgs += stats_get(&st->tcp[i].msgs);
		sum.bytes += stats_get(&st->tcp[i].bytes);
		sum.truncated += stats_get(&st->tcp[i].truncated);
	}
	return sum;
}

void stats_merge(struct stats *to, const struct stats *from)
{
	size_t i;

	stats_add(&to->tcp_conns, stats_get(&from->tcp_conns));
	stats_add(&to->tcp_refused, stats_get(&from->tcp_refused));
	for (i = 0; i < STATS_REFUSALS; i++)
		stats_add(&to->refused[i], stats_get(&from->refused[i]));
	for (i = 0; i < STATS_ENDS; i++)
		stats_add(&to->ended[i], stats_get(&from->ended[i]));
	for (i = 0; i < STATS_SHARDS; i++) {
		stats_add(&to->tcp[i].msgs, stats_get(&from->tcp[i].msgs));
		stats_add(&to->tcp[i].bytes, stats_get(&from->tcp[i].bytes));
		stats_add(&to->tcp[i].truncated,
			  stats_get(&from->tcp[i].truncated));
	}
	stats_add(&to->unsent, stats_get(&from->unsent));
	stats_add(&to->drained, stats_get(&from->drained));
	stats_add(&to->drain_cut, stats_get(&from->drain_cut));
	stats_add(&to->proxy_checks, stats_get(&from->proxy_checks));
}

static unsigned long long get(const atomic_uint_fast64_t *c)
{
	return (unsigned long long)stats_get(c);
}

static double seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

void stats_print(const struct stats *st, long peak, const char *prog, FILE *out)
{
	struct stats_tcp tcp = stats_tcp_sum(st);
	struct timespec now;
	struct rusage ru, kids;
	double up;

	clock_gettime(CLOCK_MONOTONIC, &now);
	up = (double)(now.tv_sec - st->started.tv_sec) +
	     (double)(now.tv_nsec - st->started.tv_nsec) / 1e9;
	fprintf(out,
		"%s: summary: up %.3fs, tcp connections %llu (peak %ld concurrent, %llu refused), peak buffer memory %llu KiB\n",
		prog, up, get(&st->tcp_conns), peak, get(&st->tcp_refused),
		get(&st->buffer_peak) / 1024);
	fprintf(out,
		"%s: summary: tcp %llu messages, %llu bytes (%llu bytes of replies dropped); udp %llu messages, %llu bytes in %llu datagrams (%llu replies over the echo rate); %llu truncated\n",
		prog, (unsigned long long)tcp.msgs,
		(unsigned long long)tcp.bytes, get(&st->unsent),
		get(&st->udp_msgs), get(&st->udp_bytes),
		get(&st->udp_datagrams), get(&st->udp_echo_limited),
		(unsigned long long)tcp.truncated + get(&st->udp_truncated));
	if (get(&st->proxy_checks) > 0)
		fprintf(out,
			"%s: summary: proxy health checks %llu (not logged)\n",
			prog, get(&st->proxy_checks));
	if (get(&st->chat_udp_limited) + get(&st->chat_udp_dropped) > 0)
		fprintf(out,
			"%s: summary: chat: udp lines not relayed: %llu (%llu over the rate, %llu while the room was behind)\n",
			prog,
			get(&st->chat_udp_limited) + get(&st->chat_udp_dropped),
			get(&st->chat_udp_limited), get(&st->chat_udp_dropped));
	/* With the children waited for (fkserver's), as Stevens'
	 * pr_cpu_time adds them. */
	if (getrusage(RUSAGE_SELF, &ru) == -1 ||
	    getrusage(RUSAGE_CHILDREN, &kids) == -1)
		fprintf(out, "%s: summary: cpu times unknown: %s\n", prog,
			strerror(errno));
	else
		fprintf(out, "%s: summary: cpu user %.3fs, system %.3fs\n",
			prog, seconds(&ru.ru_utime) + seconds(&kids.ru_utime),
			seconds(&ru.ru_stime) + seconds(&kids.ru_stime));
}
