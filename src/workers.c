/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * workers.c - thread per connection; the contract is in workers.h.
 */
#include "workers.h"

#include <errno.h>
#include <stdlib.h>

/* Joins the workers on list and frees them and their conns. */
static void join_list(struct worker_list *list)
{
	struct worker *wk;

	while ((wk = SLIST_FIRST(list)) != NULL) {
		SLIST_REMOVE_HEAD(list, done_link);
		pthread_join(wk->thread, NULL);
		conn_free(wk->conn);
		free(wk);
	}
}

/* The reaper: joins finished workers as they come, outside the lock,
 * until workers_join_all says to close and none is left. */
static void *reaper_main(void *arg)
{
	struct workers *w = arg;
	struct worker_list done;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (SLIST_EMPTY(&w->done) && !(w->closing && w->live == 0))
			pthread_cond_wait(&w->changed, &w->lock);
		if (SLIST_EMPTY(&w->done))
			break;
		done = w->done;
		SLIST_INIT(&w->done);
		pthread_mutex_unlock(&w->lock);
		join_list(&done);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_init(struct workers *w)
{
	int err;

	w->live = 0;
	SLIST_INIT(&w->done);
	w->closing = false;
	err = pthread_attr_init(&w->attr);
	if (err != 0)
		goto error;
	err = pthread_attr_setstacksize(&w->attr, WORKER_STACK_SIZE);
	if (err != 0)
		goto error_attr;
	err = pthread_mutex_init(&w->lock, NULL);
	if (err != 0)
		goto error_attr;
	err = pthread_cond_init(&w->changed, NULL);
	if (err != 0)
		goto error_lock;
	err = pthread_create(&w->reaper, &w->attr, reaper_main, w);
	if (err != 0)
		goto error_cond;
	return 0;

error_cond:
	pthread_cond_destroy(&w->changed);
error_lock:
	pthread_mutex_destroy(&w->lock);
error_attr:
	pthread_attr_destroy(&w->attr);
error:
	errno = err;
	return -1;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *w = wk->registry;

	conn_serve(wk->conn);
	pthread_mutex_lock(&w->lock);
	SLIST_INSERT_HEAD(&w->done, wk, done_link);
	w->live--;
	pthread_cond_signal(&w->changed);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_start(struct workers *w, struct conn *c)
{
	struct worker *wk = malloc(sizeof(*wk));
	int err;

	if (wk == NULL)
		return -1;
	wk->registry = w;
	wk->conn = c;
	pthread_mutex_lock(&w->lock);
	w->live++;
	pthread_mutex_unlock(&w->lock);
	err = pthread_create(&wk->thread, &w->attr, worker_main, wk);
	if (err != 0) {
		pthread_mutex_lock(&w->lock);
		w->live--;
		pthread_mutex_unlock(&w->lock);
		free(wk);
		errno = err;
		return -1;
	}
	return 0;
}

void workers_join_all(struct workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->closing = true;
	pthread_cond_signal(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->reaper, NULL);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
	pthread_attr_destroy(&w->attr);
}
