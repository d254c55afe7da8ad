/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.h - live counters for Prometheus (--metrics ADDR:PORT): the
 * text exposition format, version 0.0.4, at GET /metrics.
 *
 * Three parts, one owner of the format:
 *  - a histogram (struct metrics_hist) that any thread observes into
 *    with relaxed atomics (the log's write latency);
 *  - the exposition writer, metrics_write: a pure function from a
 *    snapshot of the numbers (struct metrics_snapshot) to the text;
 *  - the endpoint: a listener and one thread of its own, polling, with
 *    at most METRICS_CLIENTS connections, each one request (httpreq.h)
 *    read within METRICS_TIMEOUT_MS and answered with Connection: close.
 *    On each scrape it calls the owner's fill function, which reads the
 *    server's counters with relaxed loads: a scrape never takes a lock a
 *    worker or the logger takes per message, and a worker never waits
 *    for a scrape.  Why no HTTP library: the whole protocol needed here
 *    is one GET; a library (libmicrohttpd, civetweb) would bring its own
 *    threads, TLS and chunked bodies to audit for that, and a second
 *    error convention.
 *
 * Threads: metrics_hist_observe, any thread; metrics_open, _start,
 * _close from main's thread; the fill function runs on the endpoint's
 * thread.  Memory: metrics_open allocates, metrics_close frees.
 * Failure: -1/NULL with errno, or a one-line reason in err.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "stats.h"

/* Concurrent scrape connections: Prometheus keeps one per target; a
 * few more for an operator's curl.  Beyond, a client gets 503 at once. */
#define METRICS_CLIENTS 8
/* A connection's whole exchange (request read, answer written). */
#define METRICS_TIMEOUT_MS 5000
/* After the answer, unread request bytes are read and dropped for this
 * long at most (so the close sends FIN, not RST over the answer). */
#define METRICS_LINGER_MS 1000

/* Upper bounds of the histogram's buckets, in seconds: a write(2) of
 * the log takes microseconds to a page cache, milliseconds to a disk,
 * seconds to a stuck one. */
#define METRICS_HIST_BOUNDS 14
extern const double metrics_hist_bounds[METRICS_HIST_BOUNDS];

struct metrics_hist {
	/* bucket[i]: observations <= bound i and above bound i-1;
	 * bucket[METRICS_HIST_BOUNDS]: above every bound. */
	atomic_uint_fast64_t bucket[METRICS_HIST_BOUNDS + 1];
	atomic_uint_fast64_t sum_ns;
};

/* Its numbers, read at one time (each exact, not all at one instant). */
struct metrics_hist_read {
	uint64_t bucket[METRICS_HIST_BOUNDS + 1];
	uint64_t sum_ns;
};

void metrics_hist_observe(struct metrics_hist *h, uint64_t ns);
void metrics_hist_get(const struct metrics_hist *h,
		      struct metrics_hist_read *out);

/* Everything a scrape shows. */
struct metrics_snapshot {
	uint64_t tcp_active, tcp_peak, tcp_conns;
	uint64_t refused[STATS_REFUSALS];
	uint64_t ended[STATS_ENDS];
	uint64_t tcp_msgs, tcp_bytes, tcp_truncated;
	uint64_t udp_datagrams, udp_msgs, udp_bytes, udp_truncated;
	uint64_t udp_echo_over_rate;
	uint64_t replies_dropped_bytes;
	uint64_t log_lines, log_bytes, log_lost_lines, log_lost_bytes;
	struct metrics_hist_read log_write;
	uint64_t budget_used, budget_peak, budget_limit;
	uint64_t outbox_bytes;
	uint64_t chat_members;
	uint64_t threads;
};

/* Writes the exposition of s into buf[0..size) (cut short, and
 * NUL-terminated when size > 0, if it does not fit) and returns its
 * whole length, as snprintf does. */
size_t metrics_write(char *buf, size_t size, const struct metrics_snapshot *s);

/* The process's threads now (Linux /proc/self/stat), or 0. */
uint64_t metrics_threads(void);

/* Parses "ADDR:PORT" ("[ADDR]:PORT" for IPv6; numeric, PORT 0-65535).
 * 0, or -1 with err. */
int metrics_parse_addr(const char *text, struct net_addr *out, char *err,
		       size_t errlen);

/* Fills a snapshot: the endpoint's owner's, called once per scrape. */
typedef void (*metrics_fill_fn)(void *ctx, struct metrics_snapshot *s);

struct metrics_server;

/* Binds and listens on addr (no thread yet).  NULL with err. */
struct metrics_server *metrics_open(const struct net_addr *addr,
				    metrics_fill_fn fill, void *ctx, char *err,
				    size_t errlen);

/* The bound port (addr's port may have been 0). */
unsigned metrics_port(const struct metrics_server *ms);

/* Starts the endpoint's thread.  0, or -1 with errno. */
int metrics_start(struct metrics_server *ms);

/* Stops the thread (at once: open connections are closed), closes the
 * listener, frees ms.  NULL does nothing. */
void metrics_close(struct metrics_server *ms);

#endif
