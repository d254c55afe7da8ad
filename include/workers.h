/*
 * workers.h - thread per connection: start a worker for a client; a
 * reaper thread joins the finished ones as they finish; join them all at
 * shutdown.
 *
 * Ownership of a struct conn moves with it: the accepting thread hands
 * it to workers_start; the worker runs conn_serve and puts it on the done
 * list; the registry's reaper thread takes it from there, joins that
 * worker and frees the conn.  So every thread is joined and every conn
 * freed exactly once, promptly: a finished worker's stack is released
 * whether or not another client ever arrives.
 *
 * Stacks are WORKER_STACK_SIZE: the session keeps its buffers on the
 * heap, so thousands of workers fit in little memory.
 *
 * Threads: workers_init/start/join_all are for one thread, the
 * accepting one; workers and the reaper only touch the registry under
 * its lock; workers_unjoined may be called from any thread.
 */
#ifndef WORKERS_H
#define WORKERS_H

#include <pthread.h>
#include <stddef.h>

#include "conn.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Sanitizers pad every stack frame and need room of their own. */
#define WORKER_STACK_SIZE (1024 * (size_t)1024)
#else
/* A session's deepest path (poll, recv, snprintf for a log event) needs
 * a few KiB; 64 KiB leaves a wide margin and costs address space only:
 * an idle worker touches one page of it (see lean.h). */
#define WORKER_STACK_SIZE (64 * (size_t)1024)
#endif

struct workers {
	pthread_attr_t attr; /* joinable, WORKER_STACK_SIZE */
	pthread_t reaper;
	/* lock guards live, done, unjoined and closing. */
	pthread_mutex_t lock;
	pthread_cond_t changed; /* done grew, or closing was set */
	size_t live;		/* started and not yet finished */
	struct conn *done;	/* finished, waiting to be joined */
	size_t unjoined;	/* finished and not yet joined */
	int closing;		/* workers_join_all is waiting */
};

/* Starts the registry's reaper thread.  0, or -1 with errno (EAGAIN:
 * no thread for it; nothing is left to free then). */
int workers_init(struct workers *w);

/* Runs conn_serve(c) on a new thread.  0, or -1 with errno from
 * pthread_create (EAGAIN: no more threads); c is then still the
 * caller's. */
int workers_start(struct workers *w, struct conn *c);

/* How many workers have finished and not yet been joined (for tests and
 * diagnostics: it drops to 0 soon after the last one finishes). */
size_t workers_unjoined(struct workers *w);

/* Waits for every worker to finish and be joined, stops the reaper,
 * frees the registry. */
void workers_join_all(struct workers *w);

#endif
