/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.h - flood's load engine: many non-blocking sockets, few threads.
 *
 * eng_run() spreads the clients over fcli_opts.threads worker threads,
 * each with its own epoll instance, its own clients and its own result;
 * no thread per client, no locks on the message path.  The workers run
 * every client through its mode (one-way, --echo, --churn, --udp,
 * --hold) until all are done, -d passes, --max-time passes or a stop is
 * requested, and the caller's thread merges their results.
 *
 * Latencies (microseconds, one histogram per worker, merged), each
 * sample from clock reads at its own two events (a send, an arrival):
 * connect_us, one sample per completed TCP connect(); rtt_us and
 * service_us, one each per answered --echo message: service_us from its
 * send, rtt_us from its start - its send, or under --rate, when the
 * server held it back (its slot in the schedule passed while the -P
 * window was full or the connection was not yet up), its slot: the
 * coordinated-omission correction wrk2 makes (--no-correction: from
 * the send).  first_reply_us, one per --echo connection that got an
 * answer (TCP or UDP socket; with --churn every connection is a new
 * client and gives its own sample), from the moment flood started its
 * connect() - so time in a full listen backlog and SYN retries count -
 * to the arrival of its first complete, correct reply.  That is the
 * wait a user of the connection sees: it includes a --rate slot the
 * first message waited for and, with --udp, the timeouts of any lost
 * first datagrams.  Late UDP replies and bad replies answer nothing,
 * and a connection never answered gives no sample, so first_reply_us's
 * count tells how many were.  One-way and --hold runs have none.
 *
 * The servers: -H (or each of --hosts) is resolved with getaddrinfo();
 * when a name has several addresses, one TCP connect to each in turn
 * finds the first that answers, and the whole run uses it
 * (eng_result.address: the first server's).  Client i talks to server
 * i mod nhosts, every connection of it (--churn) to the same one.
 *
 * Every wait is bounded: echo replies by --timeout; connects, sends
 * into a socket buffer the server does not empty (one-way: it accepted
 * and stopped reading) and the wait for the server's close by
 * ENG_SLOW_TIMEOUT_MS (or --timeout when longer), each a timeout;
 * everything by --max-time.
 *
 * Memory: eng_run() allocates the clients and per-thread buffers and
 * frees them before it returns; the result is the caller's.
 * Threads: call eng_run() from one thread (main) at a time;
 * eng_request_stop() may be called from a signal handler.
 * Errors: eng_run() returns -1 with errno and a message in err when the
 * run cannot be set up (no memory, no threads, no epoll); problems of
 * the run itself (refused connects, bad replies) are counted in the
 * result, not returned.
 */
#ifndef FLOOD_ENGINE_H
#define FLOOD_ENGINE_H

#include "fcli.h"
#include "hist.h"

#include <stdint.h>

/* Connect and close-wait timeouts are at least this long: a loaded
 * server may take seconds to accept 10,000 connections or to read a
 * deep socket buffer, which is not the failure --timeout is about. */
#define ENG_SLOW_TIMEOUT_MS 10000

/* Failures are counted by errno value; Linux errno values are < 134,
 * larger ones (none expected) share the last slot. */
#define ENG_ERRNO_SLOTS 256

/*
 * The result's counters, each declared once here and used for the
 * struct, for merging the threads, for eng_ok(), for JSON and for the
 * report.
 *
 * Totals, summed over threads, X(field, json_key):
 *   conn_opened     connects that succeeded (UDP: sockets opened)
 *   conn_failed     connects or connections that failed
 *   conn_held       --hold: connections still open when the hold ended
 *   clients_done    clients that finished all their work
 *   msgs_sent       whole messages handed to the kernel
 *   msgs_answered   --echo: correct replies
 *   udp_late        --udp --echo: replies that came after their timeout
 *   reconnects      --reconnect: connections the server ended, replaced
 *   msgs_in_doubt   --reconnect: whole messages written on them, which
 *                   the server logged or lost in flight (no
 *                   acknowledgement in one-way mode: the logs tell)
 */
#define ENG_COUNTS(X)                                                          \
	X(conn_opened, "connections_opened")                                   \
	X(conn_failed, "connections_failed")                                   \
	X(conn_held, "connections_held")                                       \
	X(clients_done, "clients_done")                                        \
	X(msgs_sent, "messages_sent")                                          \
	X(msgs_answered, "messages_answered")                                  \
	X(bytes_sent, "bytes_sent")                                            \
	X(bytes_received, "bytes_received")                                    \
	X(udp_late, "udp_replies_late")                                        \
	X(reconnects, "reconnects")                                            \
	X(msgs_in_doubt, "messages_in_doubt")

/*
 * Failures, any of which fails the run (eng_ok()), X(field, json_key
 * under "errors", label in the report):
 *   err_bad_reply    a reply differs, or data came that answers nothing
 *   err_timeout      no progress for --timeout (or a close not seen)
 *   err_early_close  the server closed while we had work
 *   err_refused      the server sent a refusal line (proto.h)
 *   err_io           failed system calls: the sum of err_errno
 *   udp_lost         --udp --echo: replies that never came
 *   err_max_time     clients still working at --max-time
 *   err_interrupted  clients still working at a stop request
 */
#define ENG_ERRORS(X)                                                          \
	X(err_bad_reply, "bad_reply", "bad reply")                             \
	X(err_timeout, "timeout", "timeout")                                   \
	X(err_early_close, "early_close", "closed early")                      \
	X(err_refused, "refused_by_server", "refused by server")               \
	X(err_io, "io_error", "io error")                                      \
	X(udp_lost, "udp_lost", "udp reply lost")                              \
	X(err_max_time, "max_time", "max-time reached")                        \
	X(err_interrupted, "interrupted", "interrupted")

/* Latency histograms (microseconds; see above), X(field, json_key,
 * label in the report). */
#define ENG_LATENCIES(X)                                                       \
	X(connect_us, "connect_us", "connect (us)")                            \
	X(rtt_us, "rtt_us", "round trip (us)")                                 \
	X(service_us, "service_us", "service (us)")                            \
	X(first_reply_us, "first_reply_us", "first reply (us)")

/* Room for "[ffff:...:255.255.255.255]:65535" (net.h's NET_ADDR_MAX). */
#define ENG_ADDR_MAX 56

struct eng_result {
	double elapsed;		    /* seconds, start to last client done */
	int stopped;		    /* eng_request_stop() ended the run */
	int64_t started_unix_us;    /* the start, wall clock */
	char address[ENG_ADDR_MAX]; /* the (first) server's address */
#define ENG_FIELD(field, ...) uint64_t field;
	ENG_COUNTS(ENG_FIELD)
	ENG_ERRORS(ENG_FIELD)
#undef ENG_FIELD
	uint64_t err_errno[ENG_ERRNO_SLOTS]; /* failures by errno */
#define ENG_HIST(field, ...) struct hist field;
	ENG_LATENCIES(ENG_HIST)
#undef ENG_HIST
};

/* A snapshot for the progress display, taken by the caller's thread. */
struct eng_progress {
	double elapsed;	    /* seconds since the start */
	uint64_t conn_open; /* connections open right now */
	uint64_t msgs;	    /* messages sent (one-way) or answered */
};

typedef void (*eng_progress_fn)(const struct eng_progress *p, void *arg);

/* One interval's round trips (rtt_us): start and length in seconds
 * from the run's start.  The histogram is eng_run()'s, valid during the
 * call. */
typedef void (*eng_interval_fn)(double start, double length,
				const struct hist *h, void *arg);

/* What eng_run() calls back, from the calling thread; any may be NULL. */
struct eng_hooks {
	eng_progress_fn progress; /* about every ENG_PROGRESS_MS */
	void *progress_arg;
	eng_interval_fn interval; /* every ENG_INTERVAL_MS, and at the end */
	void *interval_arg;
};

/* Runs the load described by o.  When a --hold begins, one line saying
 * so goes to stderr.  0 (whatever the run's outcome: see struct
 * eng_result) or -1 with errno and err set. */
int eng_run(const struct fcli_opts *o, struct eng_result *r,
	    const struct eng_hooks *hooks, char *err, size_t errlen);

/* HdrHistogram logs' usual interval: a second. */
#define ENG_INTERVAL_MS 1000

/* 250 ms: the "at most 4 updates per second" of the progress line. */
#define ENG_PROGRESS_MS 250

/* Asks a running eng_run() to stop: clients still working are counted
 * as interrupted.  Async-signal-safe. */
void eng_request_stop(void);

/* 1 when the run did everything it was asked to without a failure. */
int eng_ok(const struct fcli_opts *o, const struct eng_result *r);

#endif
