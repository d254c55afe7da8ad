/*
 * workers.c - thread per connection; the contract is in workers.h.
 */
#include "workers.h"

#include <errno.h>

/* Joins the workers on list c and frees their conns; returns how many. */
static size_t join_list(struct conn *c)
{
	size_t n = 0;

	while (c != NULL) {
		struct conn *next = c->next;

		pthread_join(c->thread, NULL);
		conn_free(c);
		c = next;
		n++;
	}
	return n;
}

/* The reaper: joins finished workers as they come, outside the lock,
 * until workers_join_all says to close and none is left. */
static void *reaper_main(void *arg)
{
	struct workers *w = arg;
	struct conn *done;
	size_t n;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->done == NULL && !(w->closing && w->live == 0))
			pthread_cond_wait(&w->changed, &w->lock);
		if (w->done == NULL)
			break;
		done = w->done;
		w->done = NULL;
		pthread_mutex_unlock(&w->lock);
		n = join_list(done);
		pthread_mutex_lock(&w->lock);
		w->unjoined -= n;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_init(struct workers *w)
{
	int err;

	w->live = 0;
	w->done = NULL;
	w->unjoined = 0;
	w->closing = 0;
	err = pthread_attr_init(&w->attr);
	if (err != 0)
		goto error;
	err = pthread_attr_setstacksize(&w->attr, WORKER_STACK_SIZE);
	if (err != 0)
		goto error_attr;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	err = pthread_create(&w->reaper, &w->attr, reaper_main, w);
	if (err != 0)
		goto error_sync;
	return 0;

error_sync:
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
error_attr:
	pthread_attr_destroy(&w->attr);
error:
	errno = err;
	return -1;
}

static void *worker_main(void *arg)
{
	struct conn *c = arg;
	struct workers *w = c->owner;

	conn_serve(c);
	pthread_mutex_lock(&w->lock);
	c->next = w->done;
	w->done = c;
	w->unjoined++;
	w->live--;
	pthread_cond_signal(&w->changed);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int workers_start(struct workers *w, struct conn *c)
{
	int err;

	c->owner = w;
	pthread_mutex_lock(&w->lock);
	w->live++;
	pthread_mutex_unlock(&w->lock);
	err = pthread_create(&c->thread, &w->attr, worker_main, c);
	if (err != 0) {
		pthread_mutex_lock(&w->lock);
		w->live--;
		pthread_mutex_unlock(&w->lock);
		c->owner = NULL;
		errno = err;
		return -1;
	}
	return 0;
}

size_t workers_unjoined(struct workers *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->unjoined;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void workers_join_all(struct workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->closing = 1;
	pthread_cond_signal(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->reaper, NULL);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
	pthread_attr_destroy(&w->attr);
}
