/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.c - server counters; contract in stats.h.
 */
#include "stats.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

void stats_init(struct stats *st)
{
	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_MONOTONIC, &st->started);
}

void stats_add(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static unsigned long long get(const atomic_uint_fast64_t *c)
{
	return (unsigned long long)atomic_load_explicit(c,
							memory_order_relaxed);
}

static double seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

void stats_print(const struct stats *st, long peak, const char *prog, FILE *out)
{
	struct timespec now;
	struct rusage ru;
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
		prog, get(&st->tcp_msgs), get(&st->tcp_bytes), get(&st->unsent),
		get(&st->udp_msgs), get(&st->udp_bytes),
		get(&st->udp_datagrams), get(&st->udp_echo_limited),
		get(&st->truncated));
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
	if (getrusage(RUSAGE_SELF, &ru) == -1)
		fprintf(out, "%s: summary: cpu times unknown: %s\n", prog,
			strerror(errno));
	else
		fprintf(out, "%s: summary: cpu user %.3fs, system %.3fs\n",
			prog, seconds(&ru.ru_utime), seconds(&ru.ru_stime));
}
