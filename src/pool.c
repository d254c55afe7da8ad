/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool.c - a prethreaded pool; the contract is in pool.h.
 */
#include "pool.h"

#include <errno.h>
#include <stdlib.h>

#include "workers.h"

/* The next queued session, waiting for one; NULL once the pool closes
 * with nothing left to serve. */
static struct pool_item *next_item(struct pool *p)
{
	struct pool_item *it;

	pthread_mutex_lock(&p->lock);
	while (STAILQ_EMPTY(&p->queue) && !p->closing)
		pthread_cond_wait(&p->ready, &p->lock);
	it = STAILQ_FIRST(&p->queue);
	if (it != NULL)
		STAILQ_REMOVE_HEAD(&p->queue, link);
	pthread_mutex_unlock(&p->lock);
	return it;
}

/* A pool thread: one session after another, outside the lock. */
static void *pool_main(void *arg)
{
	struct pool *p = arg;
	struct pool_item *it;

	while ((it = next_item(p)) != NULL) {
		conn_serve(it->conn);
		conn_free(it->conn);
		free(it);
	}
	return NULL;
}

/* Tells the first n threads to exit once the queue is empty and joins
 * them. */
static void close_threads(struct pool *p, size_t n)
{
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < n; i++)
		pthread_join(p->threads[i], NULL);
}

int pool_init(struct pool *p, size_t size)
{
	pthread_attr_t attr;
	size_t started = 0;
	int err;

	STAILQ_INIT(&p->queue);
	p->closing = false;
	p->size = size;
	p->threads = calloc(size, sizeof(*p->threads));
	if (p->threads == NULL)
		return -1;
	err = pthread_mutex_init(&p->lock, NULL);
	if (err != 0)
		goto error_threads;
	err = pthread_cond_init(&p->ready, NULL);
	if (err != 0)
		goto error_lock;
	err = pthread_attr_init(&attr);
	if (err != 0)
		goto error_cond;
	err = pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
	while (err == 0 && started < size) {
		err = pthread_create(&p->threads[started], &attr, pool_main, p);
		if (err == 0)
			started++;
	}
	pthread_attr_destroy(&attr);
	if (err == 0)
		return 0;
	close_threads(p, started);
error_cond:
	pthread_cond_destroy(&p->ready);
error_lock:
	pthread_mutex_destroy(&p->lock);
error_threads:
	free(p->threads);
	errno = err;
	return -1;
}

int pool_submit(struct pool *p, struct conn *c)
{
	struct pool_item *it = malloc(sizeof(*it));

	if (it == NULL)
		return -1;
	it->conn = c;
	pthread_mutex_lock(&p->lock);
	STAILQ_INSERT_TAIL(&p->queue, it, link);
	pthread_cond_signal(&p->ready);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void pool_join_all(struct pool *p)
{
	close_threads(p, p->size);
	pthread_cond_destroy(&p->ready);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
}
