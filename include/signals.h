/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * signals.h - the server's answer to signals, on a thread of its own.
 *
 * signals_block() runs first in main, before any thread exists, so that
 * every thread inherits a mask blocking the signals below; the signal
 * thread then takes them one at a time with sigwaitinfo(2) and acts in
 * ordinary thread context (it may lock, log and write), never in a
 * handler's.
 *
 *   TERM, INT   the first asks for a graceful stop (ops->stop), which
 *               says by when the process must have ended: past that
 *               time the signal thread calls ops->force(ctx, 0) itself,
 *               whatever holds the stop up (a hung disk).  The same
 *               kind again within SIGNALS_REPEAT_MS of the first counts
 *               once (coreutils timeout signals the server and then its
 *               process group; a terminal's Ctrl-C reaches a whole
 *               pipeline): ops->repeat.  One later is an operator who
 *               means it: ops->force.
 *   QUIT        ops->force at once: stop now, no drain (the classic
 *               "quit" key, Ctrl-\).
 *   HUP         ops->reopen (logrotate's postrotate, systemd's reload).
 *   USR2        ops->upgrade: a new binary takes over (upgrade.h); the
 *               signal nginx and HAProxy's master use for the same.
 *   PIPE        ignored: a client that went away is an error return.
 *
 * Threads: signals_block and signals_start from main before any other
 * thread; signals_stop from the thread that called signals_start.  The
 * callbacks run on the signal thread, one at a time; ops->force does not
 * return (it ends the process).
 * Failure: -1 with errno.
 */
#ifndef SIGNALS_H
#define SIGNALS_H

#include <pthread.h>

/* A second stop signal within this of the first is the same request:
 * timeout(1) sends its two within microseconds; a person pressing
 * Ctrl-C twice to force the exit takes longer than this. */
#define SIGNALS_REPEAT_MS 1000

struct signals_ops {
	void *ctx;
	/* Returns the CLOCK_MONOTONIC ms (monotime_ms) by which the stop
	 * must be over, or 0 for no bound. */
	long long (*stop)(void *ctx, int sig);
	void (*repeat)(void *ctx, int sig);
	/* sig 0: the stop overran its bound.  Does not return. */
	void (*force)(void *ctx, int sig);
	void (*reopen)(void *ctx, int sig);
	void (*upgrade)(void *ctx, int sig);
};

struct signals {
	pthread_t thread;
	struct signals_ops ops;
	int running;
};

/* Blocks TERM, INT, HUP, QUIT, USR2 (and the thread's own wake-up signal) in
 * the calling thread and ignores SIGPIPE.  0 or -1 with errno. */
int signals_block(void);

/* Starts the signal thread with ops (copied).  0 or -1 with errno. */
int signals_start(struct signals *s, const struct signals_ops *ops);

/* Ends and joins the signal thread (a no-op if it never started);
 * signals still pending then are discarded at exit. */
void signals_stop(struct signals *s);

/* "SIGTERM" for SIGTERM, and so on for the signals above. */
const char *signals_name(int sig);

#endif
