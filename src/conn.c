/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conn.c - the blocking driver of a TCP client's session (session.h):
 * the contract is in conn.h.
 */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "logline.h"
#include "monotime.h"
#include "net.h"
#include "proto.h"
#include "session.h"

/* The session's poll(2) slots: its client, the server's stop, and its
 * outbox's wake-up (chat). */
enum { SLOT_CLIENT, SLOT_STOP, SLOT_WAKE, SLOTS };

struct conn *conn_new(const struct conn_env *env, int fd, uint64_t id,
		      const struct sockaddr *peer)
{
	struct conn *c = calloc(1, sizeof(*c));
	char addr[NET_ADDR_MAX];

	if (c == NULL)
		return NULL;
	c->env = env;
	c->fd = fd;
	c->id = id;
	memcpy(&c->peer, peer,
	       peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in));
	c->who_len = logline_who(c->who, sizeof(c->who), "tcp",
				 net_format(peer, addr, sizeof(addr)), id);
	return c;
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	seats_give(c->env->seats, &c->seat);
	free(c);
}

/*
 * The hot path.  A client that has just sent tends to send again soon
 * (request and reply): its session then waits in a blocking recv(2)
 * itself, for up to HOT_MS, instead of in poll(2) and then recv(2) - one
 * system call less per message, which is most of what separates this
 * loop from a bare recv/send one.  It stays bounded: SO_RCVTIMEO ends
 * the wait after HOT_MS (back to poll(2), which also watches the stop
 * descriptor and the outbox), a deadline nearer than HOT_MS is waited
 * for in poll(2), and the stop is looked at after every message (the
 * drain deadline, session_step), or at least every HOT_MS where that
 * costs a system call.  So a stop, or a deadline, is noticed at most
 * HOT_MS late.
 */
#define HOT_MS 100

/* Enters the hot path: true, or false when the receive timeout cannot
 * be set (the session then always polls). */
static bool hot_begin(int fd, bool *hot_ready)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = HOT_MS * 1000L};

	if (*hot_ready)
		return true;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		return false;
	*hot_ready = true;
	return true;
}

/* Whether the stop descriptor is readable, looked at without waiting. */
static bool stop_readable(int stop_fd)
{
	struct pollfd pfd = {.fd = stop_fd, .events = POLLIN};

	return poll(&pfd, 1, 0) > 0;
}

/* Waits in poll(2) for what the session waits for; returns what came
 * (SESSION_EV_*; 0: its deadline, or an interruption). */
static unsigned wait_for(const struct session *s, const struct session_wait *w)
{
	struct pollfd pfd[SLOTS] = {
		[SLOT_CLIENT] = {.fd = s->c->fd,
				 .events = (short)((w->read ? POLLIN : 0) |
						   (w->write ? POLLOUT : 0))},
		[SLOT_STOP] = {.fd = w->stop ? s->c->env->stop_fd : -1,
			       .events = POLLIN},
		[SLOT_WAKE] = {.fd = w->wake ? session_wake_fd(s) : -1,
			       .events = POLLIN},
	};
	long long left = w->until == -1 ? -1 : w->until - monotime_ms();
	unsigned ev = 0;
	short rev;

	if (w->until != -1 && left < 0)
		left = 0;
	if (poll(pfd, SLOTS, (int)left) <= 0)
		return 0;
	rev = pfd[SLOT_CLIENT].revents;
	if (rev & (POLLIN | POLLHUP | POLLERR))
		ev |= SESSION_EV_READ;
	if (rev & (POLLOUT | POLLHUP | POLLERR))
		ev |= SESSION_EV_WRITE;
	if (pfd[SLOT_STOP].revents != 0)
		ev |= SESSION_EV_STOP;
	if (pfd[SLOT_WAKE].revents != 0)
		ev |= SESSION_EV_WAKE;
	return ev;
}

/* Drives the session to its end on this thread: poll(2) on what it
 * waits for, or, on the hot path, recv(2). */
static void drive(struct session *s)
{
	const struct conn_env *env = s->c->env;
	struct session_wait w;
	bool hot = false, hot_ready = false, read_came = false;
	long long stop_checked = 0;
	unsigned ev = 0;

	while (session_step(s, ev, &w)) {
		long long now;

		/* A client that just sent (its bytes read by the step):
		 * the hot path, from now on. */
		if (read_came && env->chat == NULL && s->ready &&
		    s->phase == SESSION_SERVING)
			hot = hot_begin(s->c->fd, &hot_ready);
		read_came = false;
		ev = 0;
		if (w.now)
			continue;
		now = monotime_ms();
		if (hot && w.read && !w.write && s->phase == SESSION_SERVING &&
		    (w.until == -1 || w.until - now > HOT_MS)) {
			if (env->drain_deadline_ms == NULL &&
			    now - stop_checked >= HOT_MS) {
				if (stop_readable(env->stop_fd)) {
					ev = SESSION_EV_STOP;
					continue;
				}
				stop_checked = now;
			}
			/* -1: quiet for HOT_MS, poll again */
			hot = session_read(s, 0) != -1;
			continue;
		}
		ev = wait_for(s, &w);
		read_came = (ev & SESSION_EV_READ) && w.read;
	}
}

void conn_serve(struct conn *c)
{
	struct session s;

	/* Before anything is read: a dead peer is found from the start. */
	(void)net_tune_session(c->fd, &c->env->tuning);
	session_begin(&s, c);
	drive(&s);
}
