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
 * Latencies (microseconds, one histogram per worker, merged):
 * connect_us, one sample per completed TCP connect(); rtt_us, one per
 * answered --echo message, from its send; first_reply_us, one per
 * --echo connection that got an answer (TCP or UDP socket; with
 * --churn every connection is a new client and gives its own sample),
 * from the moment flood started its connect() - so time in a full
 * listen backlog and SYN retries count - to the arrival of its first
 * complete, correct reply.  That is the wait a user of the connection
 * sees: it includes a --rate slot the first message waited for and,
 * with --udp, the timeouts of any lost first datagrams.  Late UDP
 * replies and bad replies answer nothing, and a connection never
 * answered gives no sample, so first_reply_us's count tells how many
 * were.  One-way and --hold runs have none.
 *
 * Every wait is bounded: echo replies by --timeout, connects and the
 * wait for the server's close by ENG_SLOW_TIMEOUT_MS (or --timeout when
 * longer), everything by --max-time.
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

struct eng_result {
	double elapsed;		/* seconds, start to last client done */
	uint64_t conn_opened;	/* connects that succeeded (UDP: sockets) */
	uint64_t conn_failed;	/* connects or connections that failed */
	uint64_t conn_held;	/* --hold: still open when the hold ended */
	uint64_t clients_done;	/* clients that finished all their work */
	uint64_t msgs_sent;	/* whole messages handed to the kernel */
	uint64_t msgs_answered; /* --echo: correct replies */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint64_t err_errno[ENG_ERRNO_SLOTS]; /* failures by errno */
	uint64_t err_io;		     /* sum of err_errno */
	uint64_t err_refused;	    /* read "server full" / "server busy" */
	uint64_t err_early_close;   /* server closed while we had work */
	uint64_t err_bad_reply;	    /* reply differs, or unexpected data */
	uint64_t err_timeout;	    /* no progress for the timeout */
	uint64_t err_max_time;	    /* still running at --max-time */
	uint64_t err_interrupted;   /* still running at a stop request */
	uint64_t udp_lost;	    /* --udp --echo: replies not received */
	uint64_t udp_late;	    /* replies that came after their timeout */
	struct hist connect_us;	    /* TCP connect latency */
	struct hist rtt_us;	    /* --echo round trip */
	struct hist first_reply_us; /* --echo: connect start to first reply */
};

/* A snapshot for the progress display, taken by the caller's thread. */
struct eng_progress {
	double elapsed;	    /* seconds since the start */
	uint64_t conn_open; /* connections open right now */
	uint64_t msgs;	    /* messages sent (one-way) or answered */
};

typedef void (*eng_progress_fn)(const struct eng_progress *p, void *arg);

/* Runs the load described by o.  progress, when not NULL, is called
 * about every ENG_PROGRESS_MS from the calling thread.  When a --hold
 * begins, one line saying so goes to stderr.  0 (whatever the run's
 * outcome: see struct eng_result) or -1 with errno and err set. */
int eng_run(const struct fcli_opts *o, struct eng_result *r,
	    eng_progress_fn progress, void *arg, char *err, size_t errlen);

/* 250 ms: the "at most 4 updates per second" of the progress line. */
#define ENG_PROGRESS_MS 250

/* Asks a running eng_run() to stop: clients still working are counted
 * as interrupted.  Async-signal-safe. */
void eng_request_stop(void);

/* 1 when the run did everything it was asked to without a failure. */
int eng_ok(const struct fcli_opts *o, const struct eng_result *r);

#endif
