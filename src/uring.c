/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uring.c - the io_uring driver of sessions; the contract is in uring.h.
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "monotime.h"
#include "proto.h"
#include "session.h"
#include "timerheap.h"

/* What a completion is about: the low bits of its user_data (a struct
 * urconn is aligned to 8 bytes). */
enum {
	TAG_RECV,    /* a client's multishot receive */
	TAG_POLLIN,  /* ... readable (PROXY phases) */
	TAG_POLLOUT, /* ... writable (its outbox is stuck) */
	TAG_WAKE,    /* its outbox's wake-up (chat) */
	TAG_ACCEPT,  /* the multishot accept */
	TAG_STOP,    /* the server's stop */
	TAG_IGNORE,  /* a cancel's own completion */
	TAG_MASK = 7
};

/* The provided buffers' group. */
#define BUF_GROUP 0

/* One client of the loop. */
struct urconn {
	struct session s;
	struct timerheap_node timer;
	unsigned ops;	  /* requests whose last completion is to come */
	bool recv_on;	  /* its multishot receive is armed */
	bool recv_cancel; /* ... and being cancelled */
	bool poll_in, poll_out, wake_on;
	bool want_read; /* the session's last wait.read */
	bool queued;	/* in the ready list */
	bool dead;	/* done: freed once ops is 0 */
	/* Received, not yet taken by the session; then in_end. */
	char *kept;
	size_t kept_len, kept_cap;
	int in_end; /* 0: more may come; -1: end of stream; else errno */
	LIST_ENTRY(urconn) link;   /* in all, or dead */
	STAILQ_ENTRY(urconn) next; /* in ready */
};

struct uring {
	struct server *srv;
	struct io_uring ring;
	bool ring_up;
	int listen_fd;
	bool stopping;
	bool accept_on;
	struct io_uring_buf_ring *bufs;
	char *buf_mem;
	LIST_HEAD(urconn_all, urconn) all;
	LIST_HEAD(urconn_dead, urconn) dead;
	STAILQ_HEAD(urconn_ready, urconn) ready;
	size_t count;
	struct timerheap timers;
};

/* ---- requests ---- */

static struct io_uring_sqe *sqe_get(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL) { /* full: hand the kernel what is queued */
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static uint64_t tagged(const void *ptr, unsigned tag)
{
	return (uint64_t)(uintptr_t)ptr | tag;
}

/* Arms a one-shot poll of fd for events; false when no entry was had. */
static bool poll_arm(struct uring *u, int fd, unsigned events, const void *ptr,
		     unsigned tag)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (sqe == NULL)
		return false;
	io_uring_prep_poll_add(sqe, fd, events);
	io_uring_sqe_set_data64(sqe, tagged(ptr, tag));
	return true;
}

static void cancel(struct uring *u, const void *ptr, unsigned tag)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (sqe == NULL)
		return;
	io_uring_prep_cancel64(sqe, tagged(ptr, tag), 0);
	io_uring_sqe_set_data64(sqe, TAG_IGNORE);
}

static void accept_arm(struct uring *u)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (sqe == NULL)
		return;
	io_uring_prep_multishot_accept(sqe, u->listen_fd, NULL, NULL, 0);
	io_uring_sqe_set_data64(sqe, TAG_ACCEPT);
	u->accept_on = true;
}

static void recv_arm(struct uring *u, struct urconn *e)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (sqe == NULL)
		return;
	io_uring_prep_recv_multishot(sqe, e->s.c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BUF_GROUP;
	io_uring_sqe_set_data64(sqe, tagged(e, TAG_RECV));
	e->recv_on = true;
	e->ops++;
}

/* Gives provided buffer bid back to the kernel. */
static void buf_recycle(struct uring *u, unsigned bid)
{
	io_uring_buf_ring_add(u->bufs,
			      u->buf_mem + (size_t)bid * URING_BUF_SIZE,
			      URING_BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(URING_BUFS), 0);
	io_uring_buf_ring_advance(u->bufs, 1);
}

/* ---- sessions ---- */

/* Makes the ring wait for what the session waits for. */
static void apply(struct uring *u, struct urconn *e,
		  const struct session_wait *w)
{
	e->want_read = w->read;
	if (!e->s.fed && e->s.phase < SESSION_SERVING) {
		/* The PROXY header: the session reads it itself. */
		if (w->read && !e->poll_in &&
		    poll_arm(u, e->s.c->fd, POLLIN, e, TAG_POLLIN)) {
			e->poll_in = true;
			e->ops++;
		}
	} else {
		if (!e->s.fed)
			session_feed(&e->s, e->kept, e->kept_len, e->in_end);
		/* Received only once what came is taken: a client the
		 * session does not read (an echo outbox full, a chat sender
		 * held back) costs at most what was in flight. */
		if (w->read && !e->recv_on && e->in_end == 0 &&
		    e->kept_len == 0)
			recv_arm(u, e);
		if ((!w->read || e->kept_len > 0) && e->recv_on &&
		    !e->recv_cancel) {
			cancel(u, e, TAG_RECV);
			e->recv_cancel = true;
		}
	}
	if (w->write && !e->poll_out &&
	    poll_arm(u, e->s.c->fd, POLLOUT, e, TAG_POLLOUT)) {
		e->poll_out = true;
		e->ops++;
	}
	if (w->wake && !e->wake_on &&
	    poll_arm(u, session_wake_fd(&e->s), POLLIN, e, TAG_WAKE)) {
		e->wake_on = true;
		e->ops++;
	}
	/* No memory for the heap: the session is looked at again with its
	 * next event of its own. */
	if (w->until != -1)
		(void)timerheap_file(&u->timers, &e->timer, w->until);
	if (w->now && !e->queued) {
		e->queued = true;
		STAILQ_INSERT_TAIL(&u->ready, e, next);
	}
}

/* A session is done: its requests cancelled, freed once the last one
 * completed (a completion names it until then). */
static void bury(struct uring *u, struct urconn *e)
{
	e->dead = true;
	timerheap_remove(&u->timers, &e->timer);
	if (e->queued)
		STAILQ_REMOVE(&u->ready, e, urconn, next);
	e->queued = false;
	if (e->recv_on)
		cancel(u, e, TAG_RECV);
	if (e->poll_in)
		cancel(u, e, TAG_POLLIN);
	if (e->poll_out)
		cancel(u, e, TAG_POLLOUT);
	if (e->wake_on)
		cancel(u, e, TAG_WAKE);
	LIST_REMOVE(e, link);
	LIST_INSERT_HEAD(&u->dead, e, link);
	u->count--;
}

/* What the session took of the kept bytes (it reads them from any
 * step) is let go; in, in_len point into kept whenever kept_len > 0. */
static void kept_sync(struct urconn *e)
{
	size_t taken = e->kept_len - e->s.in_len;

	if (taken == 0)
		return;
	memmove(e->kept, e->kept + taken, e->s.in_len);
	e->kept_len = e->s.in_len;
	session_feed(&e->s, e->kept, e->kept_len, e->in_end);
}

/* Steps the session; while it reads and takes some of what is kept,
 * again. */
static void step(struct uring *u, struct urconn *e, unsigned events)
{
	struct session_wait w;
	size_t before = SIZE_MAX;

	if (e->dead)
		return;
	for (;;) {
		if (!session_step(&e->s, events, &w)) {
			bury(u, e);
			return;
		}
		if (!e->s.fed || !w.read || e->s.in_len >= before ||
		    (e->s.in_len == 0 && e->in_end == 0))
			break;
		before = e->s.in_len;
		events = SESSION_EV_READ;
	}
	if (e->kept_len > 0)
		kept_sync(e);
	apply(u, e, &w);
}

/* Keeps bytes[0, len) after what is kept: 0, or -1 (ENOMEM). */
static int keep(struct urconn *e, const char *bytes, size_t len)
{
	if (len == 0) /* the end of stream: nothing to keep */
		return 0;
	if (e->kept_len + len > e->kept_cap) {
		size_t cap = e->kept_cap > 0 ? 2 * e->kept_cap : URING_BUF_SIZE;
		char *p;

		while (cap < e->kept_len + len)
			cap *= 2;
		p = realloc(e->kept, cap);
		if (p == NULL)
			return -1;
		e->kept = p;
		e->kept_cap = cap;
	}
	memcpy(e->kept + e->kept_len, bytes, len);
	e->kept_len += len;
	return 0;
}

/* Feeds the session what came (bytes[0, len), then in_end) after what
 * it had not taken yet, and keeps what it does not take now. */
static void feed(struct uring *u, struct urconn *e, const char *bytes,
		 size_t len)
{
	if (e->kept_len > 0) { /* behind what is kept; step syncs */
		if (keep(e, bytes, len) == -1)
			e->in_end = ENOMEM; /* after what is kept: an error */
		session_feed(&e->s, e->kept, e->kept_len, e->in_end);
		step(u, e, SESSION_EV_READ);
		return;
	}
	session_feed(&e->s, bytes, len, e->in_end);
	step(u, e, SESSION_EV_READ);
	if (e->dead)
		return;
	if (e->s.in_len > 0 && keep(e, e->s.in, e->s.in_len) == -1)
		e->in_end = ENOMEM;
	/* bytes go back to the kernel: the session sees only the kept. */
	session_feed(&e->s, e->kept, e->kept_len, e->in_end);
}

static void begin(struct uring *u, struct conn *c)
{
	struct urconn *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		server_refuse(u->srv, c, PROTO_BUSY_LINE, "no-memory");
		return;
	}
	LIST_INSERT_HEAD(&u->all, e, link);
	u->count++;
	(void)net_tune_session(c->fd, &c->env->tuning);
	session_begin(&e->s, c);
	step(u, e, 0);
}

/* ---- completions ---- */

static void on_recv(struct uring *u, struct urconn *e,
		    const struct io_uring_cqe *cqe)
{
	bool last = !(cqe->flags & IORING_CQE_F_MORE);

	if (last) {
		e->recv_on = e->recv_cancel = false;
		e->ops--;
	}
	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		if (!e->dead)
			feed(u, e, u->buf_mem + (size_t)bid * URING_BUF_SIZE,
			     (size_t)cqe->res);
		buf_recycle(u, bid);
	} else if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS &&
				     cqe->res != -ECANCELED)) {
		e->in_end = cqe->res == 0 ? -1 : -cqe->res;
		if (!e->dead)
			feed(u, e, NULL, 0);
	}
	/* Out of buffers, or cancelled while the session stopped
	 * reading: armed again once it reads. */
	if (last && !e->dead && e->want_read && e->in_end == 0 &&
	    e->kept_len == 0 && !e->recv_on)
		recv_arm(u, e);
}

static void on_accept(struct uring *u, const struct io_uring_cqe *cqe)
{
	struct conn *c;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		u->accept_on = false;
	if (cqe->res == -ECANCELED)
		return;
	if (server_take_accepted(u->srv, u->listen_fd, cqe->res, &c) ==
	    SERVER_TOOK)
		begin(u, c);
	if (!u->accept_on && !u->stopping)
		accept_arm(u);
}

/*
 * The server stops.  The clients in the accept queue are served too,
 * as evloop.c does: at most what a full queue holds, before the drain
 * deadline.  Then every session drains, and no one new is taken.
 */
static void stop(struct uring *u)
{
	long long deadline = atomic_load(&u->srv->drain_deadline_ms);
	long left = u->srv->cfg.backlog + 1L;
	struct urconn *e, *next;
	struct conn *c;

	u->stopping = true;
	if (u->accept_on)
		cancel(u, NULL, TAG_ACCEPT);
	while (left-- > 0 && monotime_ms() < deadline) {
		enum server_take t =
			server_accept_one(u->srv, u->listen_fd, &c);

		if (t == SERVER_EMPTY)
			break;
		if (t == SERVER_TOOK)
			begin(u, c);
	}
	for (e = LIST_FIRST(&u->all); e != NULL; e = next) {
		next = LIST_NEXT(e, link);
		step(u, e, SESSION_EV_STOP);
	}
}

static void dispatch(struct uring *u, const struct io_uring_cqe *cqe)
{
	unsigned tag = (unsigned)(cqe->user_data & TAG_MASK);
	struct urconn *e = (struct urconn *)(uintptr_t)(cqe->user_data &
							~(uint64_t)TAG_MASK);

	switch (tag) {
	case TAG_RECV:
		on_recv(u, e, cqe);
		return;
	case TAG_ACCEPT:
		on_accept(u, cqe);
		return;
	case TAG_STOP:
		if (!u->stopping)
			stop(u);
		return;
	case TAG_POLLIN:
		e->poll_in = false;
		break;
	case TAG_POLLOUT:
		e->poll_out = false;
		break;
	case TAG_WAKE:
		e->wake_on = false;
		break;
	default:
		return;
	}
	e->ops--;
	step(u, e,
	     tag == TAG_POLLIN ? SESSION_EV_READ
	     : tag == TAG_WAKE ? SESSION_EV_WAKE
			       : SESSION_EV_WRITE);
}

/* Steps the sessions whose deadline came, and those with work ready. */
static void run_due(struct uring *u)
{
	long long now = monotime_ms();
	struct urconn_ready batch = STAILQ_HEAD_INITIALIZER(batch);
	struct timerheap_node *t;
	struct urconn *e;

	while ((t = timerheap_first(&u->timers)) != NULL && t->key <= now) {
		e = (struct urconn *)((char *)t -
				      offsetof(struct urconn, timer));
		timerheap_remove(&u->timers, t);
		step(u, e, 0);
	}
	STAILQ_CONCAT(&batch, &u->ready);
	while ((e = STAILQ_FIRST(&batch)) != NULL) {
		STAILQ_REMOVE_HEAD(&batch, next);
		e->queued = false;
		step(u, e, 0);
	}
}

static void free_dead(struct uring *u, bool all)
{
	struct urconn *e, *next;

	for (e = LIST_FIRST(&u->dead); e != NULL; e = next) {
		next = LIST_NEXT(e, link);
		if (e->ops > 0 && !all)
			continue;
		LIST_REMOVE(e, link);
		conn_free(e->s.c);
		free(e->kept);
		free(e);
	}
}

/* Submits what is queued and waits for a completion, no longer than
 * until the earliest deadline. */
static void wait_some(struct uring *u)
{
	struct io_uring_cqe *cqe;
	int ms = STAILQ_EMPTY(&u->ready)
			 ? timerheap_wait_ms(&u->timers, monotime_ms())
			 : 0;

	if (ms == 0) {
		(void)io_uring_submit(&u->ring);
	} else if (ms < 0) {
		(void)io_uring_submit_and_wait(&u->ring, 1);
	} else {
		struct __kernel_timespec ts = {.tv_sec = ms / 1000,
					       .tv_nsec = ms % 1000 * 1000000L};

		(void)io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts,
						       NULL);
	}
}

void uring_run(struct uring *u)
{
	struct io_uring_cqe *cqes[URING_ENTRIES];

	while (!u->stopping || u->count > 0) {
		unsigned n;

		wait_some(u);
		n = io_uring_peek_batch_cqe(&u->ring, cqes, URING_ENTRIES);
		for (unsigned i = 0; i < n; i++)
			dispatch(u, cqes[i]);
		io_uring_cq_advance(&u->ring, n);
		run_due(u);
		free_dead(u, false);
	}
}

/* ---- set-up ---- */

static int ring_init(struct io_uring *ring, unsigned entries)
{
	struct io_uring_params p = {.flags = IORING_SETUP_SUBMIT_ALL |
					     IORING_SETUP_COOP_TASKRUN |
					     IORING_SETUP_SINGLE_ISSUER};
	int rc = io_uring_queue_init_params(entries, ring, &p);

	if (rc == -EINVAL) /* an older kernel: none of those hints */
		rc = io_uring_queue_init(entries, ring, 0);
	return rc;
}

int uring_check(char *why, size_t whylen)
{
	static const struct {
		int op;
		const char *name;
	} needed[] = {
		{IORING_OP_ACCEPT, "IORING_OP_ACCEPT"},
		{IORING_OP_RECV, "IORING_OP_RECV"},
		{IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD"},
		{IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"},
	};
	struct io_uring ring;
	struct io_uring_probe *probe;
	int rc = ring_init(&ring, 4);

	if (rc < 0) {
		snprintf(why, whylen, "io_uring_setup: %s", strerror(-rc));
		errno = -rc;
		return -1;
	}
	probe = io_uring_get_probe_ring(&ring);
	io_uring_queue_exit(&ring);
	if (probe == NULL) {
		snprintf(why, whylen,
			 "the kernel cannot be probed "
			 "(io_uring_get_probe, 5.6 or later)");
		errno = ENOSYS;
		return -1;
	}
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!io_uring_opcode_supported(probe, needed[i].op)) {
			snprintf(why, whylen, "the kernel has no %s",
				 needed[i].name);
			io_uring_free_probe(probe);
			errno = ENOSYS;
			return -1;
		}
	}
	io_uring_free_probe(probe);
	return 0;
}

/* The provided buffers: registered as a ring (5.19), every one given. */
static int bufs_init(struct uring *u)
{
	int rc;

	if (posix_memalign((void **)&u->bufs, 4096,
			   URING_BUFS * sizeof(struct io_uring_buf)) != 0)
		return -1;
	u->buf_mem = malloc((size_t)URING_BUFS * URING_BUF_SIZE);
	if (u->buf_mem == NULL)
		return -1;
	io_uring_buf_ring_init(u->bufs);
	rc = io_uring_register_buf_ring(
		&u->ring,
		&(struct io_uring_buf_reg){.ring_addr = (uintptr_t)u->bufs,
					   .ring_entries = URING_BUFS,
					   .bgid = BUF_GROUP},
		0);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	for (unsigned bid = 0; bid < URING_BUFS; bid++)
		io_uring_buf_ring_add(
			u->bufs, u->buf_mem + (size_t)bid * URING_BUF_SIZE,
			URING_BUF_SIZE, (unsigned short)bid,
			io_uring_buf_ring_mask(URING_BUFS), (int)bid);
	io_uring_buf_ring_advance(u->bufs, URING_BUFS);
	return 0;
}

struct uring *uring_new(struct server *srv, int listen_fd)
{
	struct uring *u = calloc(1, sizeof(*u));
	int rc, e;

	if (u == NULL)
		return NULL;
	u->srv = srv;
	u->listen_fd = listen_fd;
	LIST_INIT(&u->all);
	LIST_INIT(&u->dead);
	STAILQ_INIT(&u->ready);
	rc = ring_init(&u->ring, URING_ENTRIES);
	if (rc < 0) {
		errno = -rc;
		goto fail;
	}
	u->ring_up = true;
	if (bufs_init(u) == -1)
		goto fail;
	if (!poll_arm(u, srv->stop_pipe[0], POLLIN, NULL, TAG_STOP)) {
		errno = EBUSY;
		goto fail;
	}
	accept_arm(u);
	return u;
fail:
	e = errno;
	uring_free(u);
	errno = e;
	return NULL;
}

void uring_free(struct uring *u)
{
	if (u == NULL)
		return;
	if (u->ring_up)
		io_uring_queue_exit(&u->ring);
	free_dead(u, true);
	free(u->bufs);
	free(u->buf_mem);
	timerheap_free(&u->timers);
	free(u);
}
