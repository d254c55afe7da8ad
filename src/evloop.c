/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evloop.c - the event-loop driver of sessions; the contract is in
 * evloop.h.
 */
#include "evloop.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <unistd.h>

#include "monotime.h"
#include "proto.h"
#include "session.h"
#include "timerheap.h"

/* What an epoll event is about: the low bits of its data (a struct
 * evconn is aligned to more than 4 bytes). */
enum { TAG_CLIENT, TAG_WAKE, TAG_LISTENER, TAG_STOP, TAG_MASK = 3 };

/* One client of the loop. */
struct evconn {
	struct session s;
	unsigned mask; /* epoll events registered for its socket */
	int wake_fd;   /* its outbox's wake-up, when registered; or -1 */
	struct timerheap_node timer; /* its deadline */
	bool queued;		     /* in the ready list */
	bool dead;		     /* done: freed at the end of the round */
	LIST_ENTRY(evconn) link;     /* in all, or dead */
	STAILQ_ENTRY(evconn) next;   /* in ready */
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
	struct timerheap timers; /* the sessions' deadlines */
};

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
	/* No memory for the heap: the session is looked at again with
	 * the next event of its own (a loop with no memory left has worse
	 * troubles). */
	if (w->until != -1)
		(void)timerheap_file(&l->timers, &e->timer, w->until);
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
	timerheap_remove(&l->timers, &e->timer);
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

	struct timerheap_node *t;

	while ((t = timerheap_first(&l->timers)) != NULL && t->key <= now) {
		e = (struct evconn *)((char *)t -
				      offsetof(struct evconn, timer));
		timerheap_remove(&l->timers, t);
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
	if (!STAILQ_EMPTY(&l->ready))
		return 0;
	return timerheap_wait_ms(&l->timers, monotime_ms());
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
	timerheap_free(&l->timers);
	free(l);
}
