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
#include "proxyproto.h"
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

/* ---- --proxy-protocol: the header before the session ---- */

/* Ends a connection before its session: tells the client why (line, or
 * NULL: nothing), logs the refusal, closes, gives the seat back. */
static void proxy_refuse(struct conn *c, const char *line, const char *reason)
{
	conn_refuse(c->env, c->fd, c->who, c->who_len, line, reason);
	close(c->fd);
	c->fd = -1;
	seats_give(c->env->seats, &c->seat);
}

/* The refusal reason for a header pp_read could not take. */
static const char *header_fault(const struct pp_header *h)
{
	if (h->no_signature)
		return "proxy-no-header";
	if (strcmp(h->error, "timeout") == 0)
		return "proxy-timeout";
	return "proxy-bad-header";
}

static unsigned port_of(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	if (a->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	return 0;
}

/* Whether a and b are the same address and port (IPv4-mapped or not). */
static bool same_endpoint(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b)
{
	struct iplimit_key ka, kb;

	(void)iplimit_address_key((const struct sockaddr *)a, &ka);
	(void)iplimit_address_key((const struct sockaddr *)b, &kb);
	return memcmp(&ka, &kb, sizeof(ka)) == 0 && port_of(a) == port_of(b);
}

/* A version 1 header naming the connection's own source is the proxy's
 * own connection: HAProxy's health checks send exactly that (the spec:
 * "a getsockname()/getpeername() pair"), and may reset the connection
 * right after, so the peer is the one accept(2) gave. */
static bool own_source(const struct conn *c, const struct pp_header *h)
{
	return h->command == PP_PROXY && same_endpoint(&h->src, &c->peer);
}

/* The proxy's own connection: a health check closes without a byte
 * (before the deadline, or by the server's stop); one that sends, or
 * stays, is served as a client after all. */
static bool check_ended(const struct conn *c, long long deadline)
{
	struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN},
				{.fd = c->env->stop_fd, .events = POLLIN}};
	char byte;
	ssize_t n;

	for (;;) {
		long long left = deadline - monotime_ms();
		int r;

		if (left <= 0)
			return false;
		r = poll(pfd, 2, (int)left);
		if (r == -1 && errno != EINTR)
			return false;
		if (r > 0)
			break;
	}
	n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
			  errno != EINTR);
}

/* Ends a health check: counted, not logged.  Returns false. */
static bool proxy_check(struct conn *c)
{
	stats_add(&c->env->stats->proxy_checks, 1);
	close(c->fd);
	c->fd = -1;
	seats_give(c->env->seats, &c->seat);
	return false;
}

/*
 * Takes the PROXY header off the socket (within PP_HEADER_TIMEOUT_MS,
 * or the drain deadline once the server stops) and makes the session the
 * real client's: its address in the log lines and against --max-per-ip.
 * false when the connection ends here: refused (logged), or a health
 * check (counted in stats proxy_checks, not logged): the proxy's own
 * connection closing without a byte after its header, or any connection
 * closing before its first byte (a connect-only check carries no
 * client to log).
 */
__attribute__((noinline)) static bool proxy_admit(struct conn *c)
{
	const struct conn_env *env = c->env;
	long long deadline = monotime_ms() + PP_HEADER_TIMEOUT_MS;
	const struct sockaddr_storage *client = &c->peer;
	struct pp_header h;
	char addr[NET_ADDR_MAX];

	if (pp_read(c->fd, env->stop_fd, deadline, env->drain_deadline_ms,
		    &h) != PP_DONE) {
		if (h.empty) /* connect-only: a check, no client */
			return proxy_check(c);
		proxy_refuse(c, NULL, header_fault(&h));
		return false;
	}
	if (own_source(c, &h))
		h.command = PP_LOCAL;
	if (h.command == PP_LOCAL && check_ended(c, deadline))
		return proxy_check(c);
	if (h.command == PP_PROXY) {
		client = &h.src;
		c->who_len =
			logline_who(c->who, sizeof(c->who), "tcp",
				    net_format((const struct sockaddr *)client,
					       addr, sizeof(addr)),
				    c->id);
	}
	switch (seats_take_address(env->seats, (const struct sockaddr *)client,
				   &c->seat)) {
	case SEATS_TAKEN:
		return true;
	case SEATS_IP_FULL:
		proxy_refuse(c, PROTO_PER_IP_LINE, "per-ip-limit");
		return false;
	default:
		proxy_refuse(c, PROTO_BUSY_LINE, "no-memory");
		return false;
	}
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
	bool hot = false, hot_ready = false;
	long long stop_checked = 0;
	unsigned ev = 0;

	while (session_step(s, ev, &w)) {
		long long now;

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
		if ((ev & SESSION_EV_READ) && w.read && env->chat == NULL &&
		    s->phase == SESSION_SERVING)
			hot = hot_begin(s->c->fd, &hot_ready);
	}
}

void conn_serve(struct conn *c)
{
	struct session s;

	/* Before anything is read: a dead peer is found from the start. */
	(void)net_tune_session(c->fd, &c->env->tuning);
	if (c->env->cfg->proxy_protocol && !proxy_admit(c))
		return;
	session_begin(&s, c);
	drive(&s);
}
