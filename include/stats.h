/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.h - the server's counters, for the summary printed at exit.
 *
 * Every field is a C11 atomic updated with relaxed ordering: counters
 * need no ordering with anything else, and a mutex here would put every
 * thread of the server in one queue for a number.  The TCP sessions'
 * message counts, added once per received buffer, are spread over
 * STATS_SHARDS cache lines (a session's shard by its number) and summed
 * when read: one line shared by every worker would cost a contended
 * cache line per buffer.  The metrics endpoint (metrics.h) reads the
 * same counters live.
 * Threads: any thread may update; stats_print and the readers read a
 * consistent-enough snapshot (each counter exact, not all taken at one
 * instant).
 */
#ifndef STATS_H
#define STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Why TCP clients were refused, and why sessions ended: the reasons
 * the log's "refused reason=R" and "disconnect reason=R" lines give
 * (logline.h); any other is counted as "other".  The names are
 * stats_refusal_names and stats_end_names, in this order. */
enum stats_refusal {
	STATS_REFUSED_SERVER_FULL,
	STATS_REFUSED_PER_IP_LIMIT,
	STATS_REFUSED_MEMORY_BUDGET,
	STATS_REFUSED_NO_MEMORY,
	STATS_REFUSED_NO_DESCRIPTORS,
	STATS_REFUSED_NO_THREAD,
	STATS_REFUSED_PROXY_UNTRUSTED,
	STATS_REFUSED_PROXY_NO_HEADER,
	STATS_REFUSED_PROXY_BAD_HEADER,
	STATS_REFUSED_PROXY_TIMEOUT,
	STATS_REFUSED_OTHER,
	STATS_REFUSALS
};
enum stats_end {
	STATS_END_CLIENT_CLOSED,
	STATS_END_QUIT,
	STATS_END_RESET,
	STATS_END_ERROR,
	STATS_END_IDLE_TIMEOUT,
	STATS_END_LINE_TIMEOUT,
	STATS_END_SEND_TIMEOUT,
	STATS_END_SLOW_READER,
	STATS_END_SHUTDOWN,
	STATS_END_DRAIN_TIMEOUT,
	STATS_END_MEMORY_BUDGET,
	STATS_END_NO_MEMORY,
	STATS_END_OTHER,
	STATS_ENDS
};
extern const char *const stats_refusal_names[STATS_REFUSALS];
extern const char *const stats_end_names[STATS_ENDS];

/* Shards of the TCP message counts: a few sessions per shard with
 * hundreds of clients. */
#define STATS_SHARDS 64
/* Bytes from one shard to the next: two cache lines, so that no two
 * shards share a line (nor a pair the CPU prefetches together) however
 * the struct happens to be aligned. */
#define STATS_SHARD_STRIDE 128

struct stats_shard {
	atomic_uint_fast64_t msgs, bytes, truncated;
	char pad[STATS_SHARD_STRIDE - 3 * sizeof(atomic_uint_fast64_t)];
};

struct stats {
	atomic_uint_fast64_t tcp_conns;		      /* accepted and served */
	atomic_uint_fast64_t tcp_refused;	      /* server full or busy */
	atomic_uint_fast64_t refused[STATS_REFUSALS]; /* by reason */
	atomic_uint_fast64_t ended[STATS_ENDS];	      /* sessions, by reason */
	struct stats_shard tcp[STATS_SHARDS];	      /* stats_tcp_add */
	atomic_uint_fast64_t udp_datagrams, udp_msgs, udp_bytes;
	atomic_uint_fast64_t udp_truncated; /* messages over --max-line */
	atomic_uint_fast64_t unsent;	    /* reply bytes dropped, not sent */
	atomic_uint_fast64_t udp_echo_limited; /* replies over the budget */
	atomic_uint_fast64_t buffer_peak;      /* most session buffer bytes */
	atomic_uint_fast64_t drained;	       /* sessions drained at stop */
	atomic_uint_fast64_t drain_cut; /* of those, cut by the deadline */
	/* --proxy-protocol: the proxy's own connections (health checks)
	 * that closed without a byte: not logged, only counted. */
	atomic_uint_fast64_t proxy_checks;
	/* Reply and chat bytes the outboxes keep, not yet taken by the
	 * kernel (outbox_set_gauge). */
	atomic_size_t outbox_bytes;
	/* --chat-udp: UDP lines logged but not relayed to the room: over
	 * their source's rate, or while a member was behind. */
	atomic_uint_fast64_t chat_udp_limited, chat_udp_dropped;
	struct timespec started; /* CLOCK_MONOTONIC, set once */
};

/* The TCP sessions' counts, summed over the shards. */
struct stats_tcp {
	uint64_t msgs, bytes, truncated;
};

void stats_init(struct stats *st);
void stats_add(atomic_uint_fast64_t *counter, uint64_t n);
/* A relaxed read of one counter. */
uint64_t stats_get(const atomic_uint_fast64_t *counter);

/* A refused TCP client, for reason (a "refused reason=R" word). */
void stats_refused(struct stats *st, const char *reason);
/* A session that ended, for reason (a "disconnect reason=R" word). */
void stats_ended(struct stats *st, const char *reason);

/* What one received buffer of session number id brought. */
void stats_tcp_add(struct stats *st, uint64_t id, uint64_t msgs, uint64_t bytes,
		   uint64_t truncated);
struct stats_tcp stats_tcp_sum(const struct stats *st);
/* Adds the sessions' counts of from (sessions, refusals, ends, TCP
 * messages, reply bytes dropped, drains, health checks) to to: a
 * fork-per-connection server's children count in a shared copy of their
 * own, which the parent adds to its summary once they are done.  The
 * UDP counts and the gauges are the parent's alone. */
void stats_merge(struct stats *to, const struct stats *from);

/* Prints the multi-line summary (with the CPU times of the process and
 * of its children waited for, as the servers of Stevens' UNP chapter 30
 * do) prefixed by prog; peak is the most clients served at once
 * (seats.h). */
void stats_print(const struct stats *st, long peak, const char *prog,
		 FILE *out);

#endif
