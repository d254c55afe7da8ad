/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool.h - a prethreaded pool (Stevens, UNP vol. 1, 30.12: "prethreaded
 * server, main thread calling accept"): N threads started before the
 * first client, each taking the next accepted session from one queue
 * and running it to its end, then taking the next.
 *
 * The accepting thread hands sessions in (pool_submit); a session waits
 * in the queue, first in first out, until a thread is free, so at most
 * N clients are served at once and the others wait their turn in the
 * server (not in the listen backlog: they are accepted, counted against
 * --max-clients, and their bytes wait in their socket).  The queue is
 * bounded by the seats server_accept hands out (--max-clients), so
 * nothing here refuses.
 *
 * Ownership of a struct conn moves with it: pool_submit takes it; the
 * thread that runs it frees it.  pool_join_all serves what the queue
 * still holds (a stopping server's sessions drain at once, bounded by the
 * server's drain deadline), then joins every thread.
 *
 * Threads: pool_init, pool_submit and pool_join_all are for one thread,
 * the accepting one; the pool's threads touch the queue only under its
 * lock.
 */
#ifndef POOL_H
#define POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "conn.h"

/* A session waiting for a thread: the queue's own item, so that a
 * struct conn knows nothing of threads. */
struct pool_item {
	struct conn *conn;
	STAILQ_ENTRY(pool_item) link;
};

STAILQ_HEAD(pool_queue, pool_item);

struct pool {
	pthread_t *threads; /* size of them, started */
	size_t size;
	/* lock guards queue and closing. */
	pthread_mutex_t lock;
	pthread_cond_t ready; /* queue grew, or closing was set */
	struct pool_queue queue;
	bool closing; /* pool_join_all: finish the queue, then exit */
};

/* Starts size threads (stacks of WORKER_STACK_SIZE, workers.h) waiting
 * for sessions.  0, or -1 with errno (EAGAIN: not that many threads; none
 * is left running then). */
int pool_init(struct pool *p, size_t size);

/* Queues c for the next free thread.  0, or -1 with errno (ENOMEM); c is
 * then still the caller's. */
int pool_submit(struct pool *p, struct conn *c);

/* Lets the threads finish every queued session, joins them, frees the
 * pool. */
void pool_join_all(struct pool *p);

#endif
