/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * workers.h - thread per connection: start a worker for a client; a
 * reaper thread joins the finished ones as they finish; join them all at
 * shutdown.
 *
 * Ownership of a struct conn moves with it: the accepting thread hands
 * it to workers_start, which wraps it in a struct worker; the worker
 * runs conn_serve and puts itself on the done list; the registry's
 * reaper thread takes it from there, joins that worker and frees both.  So
 * every thread is joined and every conn freed exactly once, promptly: a
 * finished worker's stack is released whether or not another client ever
 * arrives.
 *
 * Stacks are WORKER_STACK_SIZE: the session keeps its buffers on the
 * heap, so thousands of workers fit in little memory.
 *
 * Threads: workers_init/start/join_all are for one thread, the
 * accepting one; workers and the reaper only touch the registry under
 * its lock.
 */
#ifndef WORKERS_H
#define WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

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

/* One worker: its thread and the client it serves.  The registry's
 * own hand-off item, so that a struct conn knows nothing of threads. */
struct worker {
	pthread_t thread;
	struct workers *registry;
	struct conn *conn;
	SLIST_ENTRY(worker) done_link; /* on the registry's done list */
};

SLIST_HEAD(worker_list, worker);

struct workers {
	pthread_attr_t attr; /* joinable, WORKER_STACK_SIZE */
	pthread_t reaper;
	/* lock guards live, done and closing. */
	pthread_mutex_t lock;
	pthread_cond_t changed;	 /* done grew, or closing was set */
	size_t live;		 /* started and not yet finished */
	struct worker_list done; /* finished, waiting to be joined */
	bool closing;		 /* workers_join_all is waiting */
};

/* Starts the registry's reaper thread.  0, or -1 with errno (EAGAIN:
 * no thread for it; nothing is left to free then). */
int workers_init(struct workers *w);

/* Runs conn_serve(c) on a new thread.  0, or -1 with errno (EAGAIN: no
 * more threads; ENOMEM); c is then still the caller's. */
int workers_start(struct workers *w, struct conn *c);

/* Waits for every worker to finish and be joined, stops the reaper,
 * frees the registry. */
void workers_join_all(struct workers *w);

#endif
