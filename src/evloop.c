/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evloop.c - the event-loop driver of sessions; the contract is in
 * evloop.h.
 */
#include "evloop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <unistd.h>

#include "monotime.h"
#include "proto.h"
#include "session.h"

/* What an epoll event is about: the low bits of its data (a struct
 * evconn is aligned to more than 4 bytes). */
enum { TAG_CLIENT, TAG_WAKE, TAG_LISTENER, TAG_STOP, TAG_MASK = 3 };

/* One client of the loop. */
struct evconn {
	struct session s;
	unsigned mask;	    /* epoll events registered for its socket */
	int wake_fd;	    /* its outbox's wake-up, when registered; or -1 */
	size_t heap_at;	    /* 1 + its index in the timer heap; 0: none */
	long long timer_at; /* its key there */
	bool queued;	    /* in the ready list */
	bool dead;	    /* done: freed at the end of the round */
	LIST_ENTRY(evconn) link;   /* in all, or dead */
	STAILQ_ENTRY(evconn) next; /* in ready */
};

struct evloop {
	struct server *srv;
	int ep;
	int listen_fd;
	bool stopping;
	LIST_HEAD(evconn_all, evconn) all;
	LIST_HEAD(evconn_dead, evconn) dead;
	STAILQ_HEAD(evconn_ready, evconn) ready; /* to step without waiting */
	size_t count;
	/* The deadlines: a binary min-heap on timer_at.  A session's key
	 * is only ever lowered in place; a later deadline leaves it to
	 * fire early, and the step then files the right one (an idle
	 * timeout moves with every message: no heap work per message). */
	struct evconn **heap;
	size_t heap_len, heap_cap;
};

/* ---- the timer heap ---- */

static void heap_set(struct evloop *l, size_t i, struct evconn *e)
{
	l->heap[i] = e;
	e->heap_at = i + 1;
}

static void heap_up(struct evloop *l, size_t i)
{
	struct evconn *e = l->heap[i];

	while (i > 0 && l->heap[(i - 1) / 2]->timer_at > e->timer_at) {
		heap_set(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, e);
}

static void heap_down(struct evloop *l, size_t i)
{
	struct evconn *e = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->heap_len)
			break;
		if (c + 1 < l->heap_len &&
		    l->heap[c + 1]->timer_at < l->heap[c]->timer_at)
			c++;
		if (l->heap[c]->timer_at >= e->timer_at)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, e);
}

static void heap_remove(struct evloop *l, struct evconn *e)
{
	size_t i = e->heap_at - 1;
	struct evconn *last;

	if (e->heap_at == 0)
		return;
	e->heap_at = 0;
	last = l->heap[--l->heap_len];
	if (last == e)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->heap_at - 1);
}

/* Files e's deadline at: -1 when the heap cannot grow (the session is
 * then looked at again with the next event of its own, and a loop with
 * no memory left has worse troubles). */
static int heap_file(struct evloop *l, struct evconn *e, long long at)
{
	if (e->heap_at != 0) {
		if (at < e->timer_at) {
			e->timer_at = at;
			heap_up(l, e->heap_at - 1);
		}
		return 0;
	}
	if (l->heap_len == l->heap_cap) {
		size_t cap = l->heap_cap > 0 ? 2 * l->heap_cap : 64;
		struct evconn **h =
			realloc(l->heap, cap * sizeof(struct evconn *));

		if (h == NULL)
			return -1;
		l->heap = h;
		l->heap_cap = cap;
	}
	e->timer_at = at;
	heap_set(l, l->heap_len++, e);
	heap_up(l, l->heap_len - 1);
	return 0;
}

/* ---- sessions ---- */

static void watch(struct evloop *l, int fd, int op, uint32_t events, void *ptr,
		  unsigned tag)
{
	struct epoll_event ev = {.events = events,
				 .data.u64 = (uint64_t)(uintptr_t)ptr | tag};

	(void)epoll_ctl(l->ep, op, fd, &ev);
}

/* Makes the loop wait for what the session waits for. */
static void apply(struct evloop *l, struct evconn *e,
		  const struct session_wait *w)
{
	unsigned mask = (w->read ? EPOLLIN | EPOLLRDHUP : 0) |
			(w->write ? EPOLLOUT : 0);
	int wake = w->wake ? session_wake_fd(&e->s) : -1;

	/* Nothing to wait for on the socket (a chat sender held back):
	 * out of the set, or a hang-up would be reported over and over. */
	if (mask != e->mask)
		watch(l, e->s.c->fd,
		      e->mask == 0 ? EPOLL_CTL_ADD
		      : mask == 0  ? EPOLL_CTL_DEL
				   : EPOLL_CTL_MOD,
		      mask, e, TAG_CLIENT);
	e->mask = mask;
	if (wake != e->wake_fd) {
		if (e->wake_fd >= 0)
			watch(l, e->wake_fd, EPOLL_CTL_DEL, 0, e, TAG_WAKE);
		if (wake >= 0)
			watch(l, wake, EPOLL_CTL_ADD, EPOLLIN, e, TAG_WAKE);
		e->wake_fd = wake;
	}
	if (w->until != -1)
		(void)heap_file(l, e, w->until);
	if (w->now && !e->queued) {
		e->queued = true;
		STAILQ_INSERT_TAIL(&l->ready, e, next);
	}
}

/* A session is done: out of every set now, freed after the round (an
 * event of this round may still name it). */
static void bury(struct evloop *l, struct evconn *e)
{
	e->dead = true;
	heap_remove(l, e);
	if (e->queued)
		STAILQ_REMOVE(&l->ready, e, evconn, next);
	e->queued = false;
	LIST_REMOVE(e, link);
	LIST_INSERT_HEAD(&l->dead, e, link);
	l->count--;
}

static void step(struct evloop *l, struct evconn *e, unsigned events)
{
	struct session_wait w;

	if (e->dead)
		return;
	if (!session_step(&e->s, events, &w)) {
		bury(l, e);
		return;
	}
	apply(l, e, &w);
}

static void free_dead(struct evloop *l)
{
	struct evconn *e;

	while ((e = LIST_FIRST(&l->dead)) != NULL) {
		LIST_REMOVE(e, link);
		conn_free(e->s.c);
		free(e);
	}
}

static void begin(struct evloop *l, struct conn *c)
{
	struct evconn *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		server_refuse(l->srv, c, PROTO_BUSY_LINE, "no-memory");
		return;
	}
	e->wake_fd = -1;
	LIST_INSERT_HEAD(&l->all, e, link);
	l->count++;
	(void)net_tune_session(c->fd, &c->env->tuning);
	session_begin(&e->s, c);
	step(l, e, 0);
}

/* Accepts at most max clients from the queue; false once it is empty. */
static bool accept_some(struct evloop *l, long max)
{
	struct conn *c;

	while (max-- > 0) {
		switch (server_accept_one(l->srv, l->listen_fd, &c)) {
		case SERVER_TOOK:
			begin(l, c);
			break;
		case SERVER_EMPTY:
			return false;
		case SERVER_NEXT:
			break;
		}
	}
	return true;
}

/*
 * The server stops.  The clients in the accept queue are served too:
 * the kernel completed their handshakes and took their data, so to them
 * the server was up; at most what a full queue holds, before the drain
 * deadline.  Then every session drains, and no one new is taken.
 */
static void stop(struct evloop *l)
{
	long long deadline = atomic_load(&l->srv->drain_deadline_ms);
	struct evconn *e, *next;
	long left = l->srv->cfg.backlog + 1L;

	l->stopping = true;
	watch(l, l->srv->stop_pipe[0], EPOLL_CTL_DEL, 0, NULL, TAG_STOP);
	while (left > 0 && monotime_ms() < deadline &&
	       accept_some(l, left < EVLOOP_ACCEPTS ? left : EVLOOP_ACCEPTS))
		left -= EVLOOP_ACCEPTS;
	watch(l, l->listen_fd, EPOLL_CTL_DEL, 0, NULL, TAG_LISTENER);
	for (e = LIST_FIRST(&l->all); e != NULL; e = next) {
		next = LIST_NEXT(e, link);
		step(l, e, SESSION_EV_STOP);
	}
}

static unsigned client_events(uint32_t ev)
{
	unsigned out = 0;

	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		out |= SESSION_EV_READ;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		out |= SESSION_EV_WRITE;
	return out;
}

static void dispatch(struct evloop *l, const struct epoll_event *ev)
{
	unsigned tag = (unsigned)(ev->data.u64 & TAG_MASK);
	struct evconn *e = (struct evconn *)(uintptr_t)(ev->data.u64 &
							~(uint64_t)TAG_MASK);

	switch (tag) {
	case TAG_LISTENER:
		if (!l->stopping)
			(void)accept_some(l, EVLOOP_ACCEPTS);
		break;
	case TAG_STOP:
		if (!l->stopping)
			stop(l);
		break;
	case TAG_WAKE:
		step(l, e, SESSION_EV_WAKE);
		break;
	default:
		step(l, e, client_events(ev->events));
		break;
	}
}

/* Steps the sessions whose deadline came, and those with work ready. */
static void run_due(struct evloop *l)
{
	long long now = monotime_ms();
	struct evconn_ready batch = STAILQ_HEAD_INITIALIZER(batch);
	struct evconn *e;

	while (l->heap_len > 0 && l->heap[0]->timer_at <= now) {
		e = l->heap[0];
		heap_remove(l, e);
		step(l, e, 0);
	}
	/* This round's ready ones only: a step may queue its session
	 * again, for the next round, after the others' events. */
	STAILQ_CONCAT(&batch, &l->ready);
	while ((e = STAILQ_FIRST(&batch)) != NULL) {
		STAILQ_REMOVE_HEAD(&batch, next);
		e->queued = false;
		step(l, e, 0);
	}
}

/* How long epoll_wait may wait: until the earliest deadline. */
static int wait_ms(const struct evloop *l)
{
	long long left;

	if (!STAILQ_EMPTY(&l->ready))
		return 0;
	if (l->heap_len == 0)
		return -1;
	left = l->heap[0]->timer_at - monotime_ms();
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

void evloop_run(struct evloop *l)
{
	struct epoll_event events[EVLOOP_EVENTS];

	while (!l->stopping || l->count > 0) {
		int n = epoll_wait(l->ep, events, EVLOOP_EVENTS, wait_ms(l));

		for (int i = 0; i < n; i++)
			dispatch(l, &events[i]);
		run_due(l);
		free_dead(l);
	}
}

struct evloop *evloop_new(struct server *srv, int listen_fd)
{
	struct evloop *l = calloc(1, sizeof(*l));
	int e;

	if (l == NULL)
		return NULL;
	l->srv = srv;
	l->listen_fd = listen_fd;
	LIST_INIT(&l->all);
	LIST_INIT(&l->dead);
	STAILQ_INIT(&l->ready);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep == -1)
		goto fail;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, srv->stop_pipe[0],
		      &(struct epoll_event){.events = EPOLLIN,
					    .data.u64 = TAG_STOP}) == -1 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, listen_fd,
		      &(struct epoll_event){.events = EPOLLIN | EPOLLEXCLUSIVE,
					    .data.u64 = TAG_LISTENER}) == -1)
		goto fail;
	return l;
fail:
	e = errno;
	evloop_free(l);
	errno = e;
	return NULL;
}

void evloop_free(struct evloop *l)
{
	if (l == NULL)
		return;
	if (l->ep >= 0)
		close(l->ep);
	free(l->heap);
	free(l);
}
