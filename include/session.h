/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.h - one TCP client's session as a state machine, which any
 * concurrency model drives.
 *
 * The core never waits.  A driver feeds it what happened on the
 * client's socket (readable, writable), on its outbox's wake-up (a chat
 * room posted) and on the server (it stops), or nothing when a deadline
 * came; the core does the work that allows - receive, framing (frame.h),
 * the handler, the log lines (log.h), the outbox (outbox.h) - and says
 * what it waits for next (struct session_wait): which of those, and
 * until when.  Three drivers use it: the blocking one of conn.c (a
 * thread per session, or stserver's one thread: poll(2) on the wait,
 * plus a hot path that waits in recv(2) itself), the event loop of
 * evloop.c (many sessions per thread on epoll(7)), and the io_uring loop
 * of uring.c, which receives for its sessions and feeds them the bytes
 * (session_feed) instead of readiness.
 *
 * A session's phases, in order (each may be skipped):
 *   PROXY_HEADER, PROXY_LOCAL  --proxy-protocol: the header is taken
 *             (pp_feed) within PP_HEADER_TIMEOUT_MS, and the proxy's
 *             own connection told from a client (conn.h);
 *   SERVING   reading, handling, sending;
 *   DRAINING  the server stops: read on until the client is quiet for
 *             CONN_DRAIN_QUIET_MS, not past the drain deadline;
 *   FLUSHING  the session ended: kept bytes get their bounded chance;
 *   LINGERING after "quit": half-closed, input dropped until the FIN;
 *   DONE      the socket is closed and the seat given back.
 * The disconnect line is logged between FLUSHING and LINGERING.
 *
 * Handlers: log-only, echo and chat are modes (struct session_mode),
 * chosen once as the session begins, as flood's engine picks its mode:
 * the hot path calls the mode's message function, it never tests the
 * options.
 *
 * Memory: struct session is the driver's (embedded, or on a thread's
 * stack); its buffers come from the heap once the client first sends,
 * charged to env->budget, and are freed by the time it is DONE.
 * Threads: a session belongs to one thread at a time.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conn.h"
#include "frame.h"
#include "log.h"

/* Why a session ended: the log's "disconnect reason=R" words, in the
 * order of session_end_names. */
enum session_end {
	SESSION_CLIENT_CLOSED,
	SESSION_QUIT,
	SESSION_RESET,
	SESSION_DEAD_PEER,
	SESSION_ERROR,
	SESSION_IDLE_TIMEOUT,
	SESSION_LINE_TIMEOUT,
	SESSION_SEND_TIMEOUT,
	SESSION_SLOW_READER,
	SESSION_SHUTDOWN,
	SESSION_DRAIN_TIMEOUT,
	SESSION_MEMORY_BUDGET,
	SESSION_NO_MEMORY,
	SESSION_NO_DESCRIPTORS,
	SESSION_ENDS
};
extern const char *const session_end_names[SESSION_ENDS];

enum session_phase {
	SESSION_PROXY_HEADER, /* --proxy-protocol: taking the header */
	SESSION_PROXY_LOCAL,  /* ... the proxy's own: a health check? */
	SESSION_SERVING,
	SESSION_DRAINING,
	SESSION_FLUSHING,
	SESSION_LINGERING,
	SESSION_DONE,
};

/* What happened, for session_step: bits. */
enum {
	SESSION_EV_READ = 1,  /* the client's socket: readable, hung up */
	SESSION_EV_WRITE = 2, /* ... writable, or an error */
	SESSION_EV_WAKE = 4,  /* the outbox's wake-up descriptor */
	SESSION_EV_STOP = 8,  /* the server stops */
};

/* What the session waits for next. */
struct session_wait {
	bool read;	 /* the client's socket readable */
	bool write;	 /* ... writable */
	bool wake;	 /* outbox_wake_fd() readable (chat) */
	bool stop;	 /* the server's stop, not yet seen */
	bool now;	 /* work is ready: step again without waiting */
	long long until; /* CLOCK_MONOTONIC ms to step anyway; -1: never */
};

struct session_mode;
struct talk;
struct proxy_wait;

/* A running session.  The driver reads phase and ready (and a feeding
 * driver fed, in_len); the rest is the core's. */
struct session {
	struct conn *c;
	const struct session_mode *mode;
	enum session_phase phase;
	bool ready;    /* buffers allocated */
	bool ended;    /* end says why; the next step closes */
	bool stopping; /* the server's stop was seen */
	bool talking;  /* DRAINING: received since the stop */
	enum session_end end;
	struct frame frame;
	struct log_batch batch;
	struct talk *talk;	  /* --echo or --chat, else NULL */
	struct proxy_wait *proxy; /* the PROXY phases' state */
	uint64_t msgs, bytes, truncated;
	/* Of the current buffer's messages (buf_msgs), those truncated. */
	uint64_t buf_truncated;
	uint64_t unsent;       /* reply bytes dropped (the outbox's count) */
	uint64_t buf_msgs;     /* messages of the current buffer */
	long long last_msg;    /* ms: the last completed message (or start) */
	long long quiet_until; /* DRAINING: the client's quiet period */
	long long deadline;    /* DRAINING: the drain deadline; FLUSHING,
				  LINGERING: when it gives up (-1: none) */
	size_t charged;	       /* bytes charged to the budget */
	const char *refusal;   /* why its buffers could not be had */
	int err;	       /* errno behind SESSION_ERROR */
	struct timespec started;
	/* Fed (session_feed): in[0, in_len) is what the driver received
	 * and the session has not taken yet; in_end says what follows it
	 * (0: more later, -1: the end of stream, else an errno). */
	bool fed;
	const char *in;
	size_t in_len;
	int in_end;
};

/* Begins c's session: with --proxy-protocol, its header phases (no line
 * logged yet); else the connect line, and the mode starts.  Then
 * session_step. */
void session_begin(struct session *s, struct conn *c);

/* Feeds the session what happened (SESSION_EV_* bits; 0: a deadline
 * came, or nothing yet) and fills *w with what it waits for next.
 * Returns false once it is DONE: the socket is closed, the seat given
 * back; the driver frees c. */
bool session_step(struct session *s, unsigned events, struct session_wait *w);

/* The descriptor that is readable when the room posted to the session
 * (wait.wake), or -1. */
int session_wake_fd(const struct session *s);

/* For a driver's hot path only (SERVING, w->read and nothing else to
 * wait for): one recv(2) with flags (0: blocking under the socket's
 * SO_RCVTIMEO).  1: go on; 0: the session ended (step next); -1:
 * nothing came. */
int session_read(struct session *s, int flags);

/* For a driver that receives for the session (uring.c), once it is
 * SERVING or later: from the first call on, the session never recv(2)s
 * its socket; it reads bytes[0, len), then sees EAGAIN (end 0), the end
 * of stream (end -1) or the errno end.  The driver then steps it with
 * SESSION_EV_READ; what it could not take yet (a chat sender held back,
 * an echo outbox full) is left in in[0, in_len), which the driver keeps
 * and feeds again.  bytes must stay valid until the next feed.  The
 * other drivers never call it: their reads stay one recv(2) each. */
void session_feed(struct session *s, const char *bytes, size_t len, int end);

#endif
