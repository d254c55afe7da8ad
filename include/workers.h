/*
 * workers.h - thread per connection: start a worker for a client, reap
 * the finished ones, join them all at shutdown.
 *
 * Ownership of a struct conn moves with it: the accepting thread hands
 * it to workers_start; the worker runs conn_serve and puts it on the done
 * list; the accepting thread joins that worker and frees the conn in
 * workers_reap or workers_join_all.  So every thread is joined and every
 * conn freed exactly once, by the thread that created it.
 *
 * Stacks are WORKER_STACK_SIZE: the session keeps its buffers on the
 * heap, so thousands of workers fit in little memory.
 *
 * Threads: workers_init/start/reap/join_all are for one thread, the
 * accepting one; workers themselves only touch the registry under its
 * lock.
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
 * an idle worker touches a page or two of it. */
#define WORKER_STACK_SIZE (64 * (size_t)1024)
#endif

struct workers {
	pthread_attr_t attr; /* joinable, WORKER_STACK_SIZE */
	/* lock guards live and done. */
	pthread_mutex_t lock;
	pthread_cond_t all_done; /* signalled when live drops to 0 */
	size_t live;		 /* started and not yet finished */
	struct conn *done;	 /* finished, waiting to be joined */
};

/* 0, or -1 with errno. */
int workers_init(struct workers *w);

/* Runs conn_serve(c) on a new thread.  0, or -1 with errno from
 * pthread_create (EAGAIN: no more threads); c is then still the
 * caller's. */
int workers_start(struct workers *w, struct conn *c);

/* Joins workers that have finished and frees their conns. */
void workers_reap(struct workers *w);

/* Waits for every worker to finish, joins them, frees the registry. */
void workers_join_all(struct workers *w);

#endif
