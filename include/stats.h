/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.h - the server's counters, for the summary printed at exit.
 *
 * Every field is a C11 atomic updated with relaxed ordering: counters
 * need no ordering with anything else, and a mutex here would put every
 * thread of the server in one queue for a number.
 * Threads: any thread may update; stats_print reads a consistent-enough
 * snapshot (each counter exact, not all taken at one instant).
 */
#ifndef STATS_H
#define STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct stats {
	atomic_uint_fast64_t tcp_conns;	  /* accepted and served */
	atomic_uint_fast64_t tcp_refused; /* server full or busy */
	atomic_uint_fast64_t tcp_msgs, tcp_bytes;
	atomic_uint_fast64_t udp_datagrams, udp_msgs, udp_bytes;
	atomic_uint_fast64_t truncated; /* messages over --max-line */
	atomic_uint_fast64_t unsent;	/* reply bytes dropped, not sent */
	atomic_uint_fast64_t udp_echo_limited; /* replies over the budget */
	atomic_uint_fast64_t buffer_peak;      /* most session buffer bytes */
	atomic_uint_fast64_t drained;	       /* sessions drained at stop */
	atomic_uint_fast64_t drain_cut; /* of those, cut by the deadline */
	/* --proxy-protocol: the proxy's own connections (health checks)
	 * that closed without a byte: not logged, only counted. */
	atomic_uint_fast64_t proxy_checks;
	/* --chat-udp: UDP lines logged but not relayed to the room: over
	 * their source's rate, or while a member was behind. */
	atomic_uint_fast64_t chat_udp_limited, chat_udp_dropped;
	struct timespec started; /* CLOCK_MONOTONIC, set once */
};

void stats_init(struct stats *st);
void stats_add(atomic_uint_fast64_t *counter, uint64_t n);

/* Prints the multi-line summary (with the process's CPU times, as the
 * servers of Stevens' UNP chapter 30 do) prefixed by prog; peak is the
 * most clients served at once (seats.h). */
void stats_print(const struct stats *st, long peak, const char *prog,
		 FILE *out);

#endif
