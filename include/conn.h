/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conn.h - one TCP client's session: receive, frame, log, echo.
 *
 * A session is a state machine (session.h) that any driver steps;
 * conn_serve() is the blocking driver, run to the session's end on one
 * thread: mtserver's thread of the client's own, stserver's only thread
 * (epserver and rpserver step sessions from an event loop, evloop.h).
 * What follows holds in every driver.  Data flows one way: socket ->
 * framing (frame.h) -> handler (count, log, echo, "quit") -> logger
 * (log.h).  The session waits (in poll(2), or its loop's epoll_wait) on
 * the client and on the server's stop, so a shutdown wakes every session
 * at once; it then drains: reads on until the client closes or stays
 * quiet for CONN_DRAIN_QUIET_MS, but not past the server's one drain
 * deadline (reason "drain-timeout", counted in stats drain_cut).  Echo
 * replies go out through the session's outbox (outbox.h), never with a
 * blocking send: while replies wait for the client to read them, the
 * session waits for POLLOUT instead of reading, so TCP pushes back on a
 * client that does not read.
 *
 * A session ends when the client closes (its last unterminated message
 * is still delivered), sends "quit", completes no message for the idle
 * timeout ("line-timeout" when it holds an unfinished line: trickled
 * bytes never keep a session), leaves its replies unread for the send
 * timeout, resets, or the server stops (replies still waiting then get
 * a short bounded flush); each is logged as the disconnect reason with
 * the session's totals and the reply bytes dropped (unsent=N).  Buffers
 * are allocated when the first byte arrives, so an idle client costs
 * only its thread's stack; they are charged to env->budget first, and a
 * client whose buffers do not fit, or cannot be allocated, is told
 * "server busy" (refused reason=memory-budget or no-memory).
 *
 * With --proxy-protocol the session first takes the PROXY header off
 * the socket (proxyproto.h; within PP_HEADER_TIMEOUT_MS, on the
 * session's thread, never the accepting one): from then on the client is
 * the one the header names, in every log line and for --max-per-ip
 * (seats_take_address).  A missing, malformed or late header is refused
 * (reasons proxy-no-header, proxy-bad-header, proxy-timeout); the
 * proxy's own connection (v2 LOCAL, v1 UNKNOWN, or a v1 header naming
 * the connection itself, as HAProxy's checks send) that closes without
 * a byte is a health check, counted in stats proxy_checks and not
 * logged; so is a connection that closes before its first byte (a
 * connect-only check, which names no client).
 *
 * Memory: conn_new allocates, conn_free frees (and closes the socket if
 * the session did not).  Threads: a conn belongs to one thread at a time;
 * the env it points to is shared, read-only or thread-safe.
 */
#ifndef CONN_H
#define CONN_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "chat.h"
#include "cli.h"
#include "membudget.h"
#include "net.h"
#include "log.h"
#include "logline.h"
#include "seats.h"
#include "stats.h"

/* What every session of a server shares. */
struct conn_env {
	const struct config *cfg;
	struct logger *log;
	struct stats *stats;
	int stop_fd;	     /* becomes readable when the server shuts down */
	struct seats *seats; /* the clients being served */
	struct chat_room *chat;	  /* --chat: the room (chat.h), or NULL */
	struct membudget *budget; /* all sessions' buffers, or NULL */
	/* CLOCK_MONOTONIC ms by which a stopping session must have
	 * drained (set before stop_fd becomes readable). */
	const atomic_llong *drain_deadline_ms;
	/* Every session's socket: send buffer, keepalive, user timeout
	 * (net_tune_session), from the config. */
	struct net_tuning tuning;
};

struct conn {
	const struct conn_env *env;
	int fd;
	uint64_t id;
	struct sockaddr_storage peer; /* the socket's peer (the proxy's,
					 with --proxy-protocol) */
	char who[LOGLINE_WHO_MAX];    /* "tcp 127.0.0.1:53422 #17" */
	size_t who_len;
	struct seat seat; /* in env->seats, while served */
};

/* A session for the accepted socket fd from peer, numbered id.  NULL
 * with errno (ENOMEM); fd is then still the caller's. */
struct conn *conn_new(const struct conn_env *env, int fd, uint64_t id,
		      const struct sockaddr *peer);

/* Runs the session to its end, logs connect and disconnect, closes the
 * socket and gives the client's seat back. */
void conn_serve(struct conn *c);

/* Turns a client away, the one way every refusal is made: tells it why
 * on fd (line, proto.h, or NULL: nothing) without blocking, logs
 * "refused reason=R" as who, and counts it in stats tcp_refused.  fd
 * stays open: the caller closes it (after a session's disconnect line,
 * or at once before a session). */
void conn_refuse(const struct conn_env *env, int fd, const char *who,
		 size_t who_len, const char *line, const char *reason);

/* Bytes of buffers a session may allocate (framing, log batch, echo
 * outbox; with --chat, the member's outboxes and voice too), charged to
 * env->budget: once its client sends, or, in a chat, all of it as the
 * member joins, so that a welcomed member is never refused later. */
size_t conn_session_cost(const struct config *cfg);

/* Frees c, closing its socket if still open and giving its seat back if
 * it still holds one. */
void conn_free(struct conn *c);

/* A stopping session ends when its client has been quiet this long:
 * longer than TCP's 200 ms minimum retransmission timeout, so one lost
 * segment does not cut a client off. */
#define CONN_DRAIN_QUIET_MS 500

#endif
