/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conn.c - a TCP client's session; the contract is in conn.h.
 */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "frame.h"
#include "logfmt.h"
#include "logline.h"
#include "monotime.h"
#include "net.h"
#include "outbox.h"
#include "proto.h"
#include "proxyproto.h"

/* The session's poll(2) slots: its client, the server's stop, and its
 * outbox's wake-up (chat). */
enum { SLOT_CLIENT, SLOT_STOP, SLOT_WAKE, SLOTS };

/* frame_fn return value: the client said "quit". */
#define STOP_QUIT 1

/* At shutdown, replies a client has not taken get this long to leave
 * before they are dropped and counted: long enough for a client that
 * reads, short enough that a stop never waits on one that does not. */
#define STOP_FLUSH_MS 500

/* After "quit", how long the session goes on reading (and dropping)
 * what the client still sends, waiting for its FIN (see linger_close):
 * a client that is still sending is done within a round trip or two. */
#define LINGER_MS 2000
/* What linger_close reads at a time: the bytes are dropped, and the
 * buffer lives on the worker's small stack (workers.h). */
#define LINGER_READ_SIZE 512

/* What a session sends (echo replies, the room's lines), on the heap:
 * only --echo and --chat sessions have one. */
struct talk {
	struct outbox out;	   /* what the client has not taken yet */
	struct chat_member member; /* --chat: this client in the room */
};

/* State of a running session, on the serving thread's stack; its
 * buffers come from the heap, and only once the client sends.  Kept
 * small: an idle client's thread should touch one page of its stack,
 * the one glibc's thread descriptor already holds (workers.h). */
struct session {
	struct conn *c;
	bool ready;	/* buffers allocated */
	bool hot_ready; /* SO_RCVTIMEO set for the hot path */
	struct frame frame;
	struct log_batch batch;
	struct talk *talk; /* --echo or --chat, else NULL */
	uint64_t msgs, bytes, truncated;
	/* Of the current buffer's messages (buf_msgs), those truncated. */
	uint64_t buf_truncated;
	uint64_t unsent;     /* reply bytes dropped (the outbox's count) */
	uint64_t buf_msgs;   /* messages of the current buffer */
	long long last_msg;  /* ms: the last completed message (or start) */
	size_t charged;	     /* bytes charged to the budget */
	const char *refusal; /* why its buffers could not be had */
	const char *reason;  /* why the session ended */
	int err;	     /* errno behind reason "error" */
	struct timespec started;
};

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
 * "TS WHO connect", made on the stack without printf: an idle client's
 * thread never touches more than its first stack page (workers.h).
 * This and the other line-making functions that run once per session
 * (refuse, log_disconnect, linger_close) are kept out of line: inlined,
 * their buffers would sit in conn_serve's frame all the session long,
 * below which everything else runs.
 */
__attribute__((noinline)) static void log_connect(const struct conn *c)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_CONNECT_MAX];

	logline_now(ts);
	(void)log_append(
		c->env->log, line,
		logline_connect(line, sizeof(line), ts, c->who, c->who_len));
}

/* The echo replies of one received buffer fit the outbox whole: each
 * reply is at most as long as the bytes it answers, and a buffer holds
 * at most the frame's capacity, plus the '\n' added to a last message
 * that had no terminator. */
static size_t echo_capacity(const struct config *cfg)
{
	return frame_buffer_size((size_t)cfg->max_line) + 1;
}

/* The buffers a session allocates when its client first sends. */
static size_t buffers_cost(const struct config *cfg)
{
	size_t max_line = (size_t)cfg->max_line;

	/* An echo session's replies also fill its kernel send buffer. */
	return frame_buffer_size(max_line) + LOG_BATCH_SIZE +
	       logline_msg_max(max_line) +
	       (cfg->echo ? echo_capacity(cfg) + NET_SNDBUF_CHARGE : 0);
}

/*
 * frame_fault_fn: "frame-error reason=R count=HEAD" (a count not taken:
 * HEAD is what was read as one, escaped, and the frame follows as a
 * line) or "frame-error reason=cut-short count=N got=N", among the
 * session's lines, before the bytes it concerns.  Logged with -q too:
 * it is about the connection, not a message.
 */
static void on_frame_fault(void *ctx, const struct frame_fault *fault)
{
	struct session *s = ctx;
	char line[LOGLINE_EVENT_MAX];

	if (s->c->env->cfg->quiet) /* -q: receive() stamps no lines */
		log_batch_stamp(&s->batch);
	log_batch_line(&s->batch, line,
		       logline_frame_error(line, sizeof(line), s->batch.ts,
					   s->c->who, s->c->who_len, fault));
}

size_t conn_session_cost(const struct config *cfg)
{
	/* A member's kernel send buffer fills as the room posts to it. */
	return buffers_cost(cfg) +
	       (cfg->chat ? chat_member_cost((size_t)cfg->max_line) +
				    NET_SNDBUF_CHARGE
			  : 0);
}

/* Allocates the session's buffers, charged to the server's budget
 * unless the chat door charged them already.  0, or -1 with s->refusal
 * saying why not ("memory-budget", "no-memory"). */
static int session_alloc(struct session *s)
{
	const struct conn_env *env = s->c->env;
	const struct config *cfg = env->cfg;
	size_t cost = env->chat != NULL ? 0 : buffers_cost(cfg);

	if (cost > 0 && env->budget != NULL &&
	    membudget_charge(env->budget, cost) == -1) {
		s->refusal = "memory-budget";
		return -1;
	}
	if (frame_init(&s->frame, (size_t)cfg->max_line) == -1)
		goto no_memory;
	frame_set_framing(&s->frame, cfg->framing, on_frame_fault);
	if (log_batch_init(&s->batch, env->log, (size_t)cfg->max_line) == -1)
		goto no_frame;
	if (cfg->echo && outbox_alloc(&s->talk->out) == -1)
		goto no_batch;
	if (env->budget != NULL)
		s->charged += cost;
	s->ready = true;
	return 0;
no_batch:
	log_batch_free(&s->batch);
no_frame:
	frame_free(&s->frame);
no_memory:
	if (cost > 0 && env->budget != NULL)
		membudget_release(env->budget, cost);
	s->refusal = "no-memory";
	return -1;
}

void conn_refuse(const struct conn_env *env, int fd, const char *who,
		 size_t who_len, const char *line, const char *reason)
{
	char ts[LOGFMT_TS_LEN], text[LOGLINE_EVENT_MAX];

	if (line != NULL)
		(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	logline_now(ts);
	(void)log_append(
		env->log, text,
		logline_refused(text, sizeof(text), ts, who, who_len, reason));
	stats_refused(env->stats, reason);
}

/* Turns away a client the session cannot take after all: no memory for
 * its buffers ("server busy"), or no descriptor for its wake-up ("server
 * full"), as at accept; the refusal is logged before the disconnect
 * line. */
__attribute__((noinline)) static void refuse(struct session *s)
{
	const char *say = strcmp(s->refusal, "no-descriptors") == 0
				  ? PROTO_FULL_LINE
				  : PROTO_BUSY_LINE;

	conn_refuse(s->c->env, s->c->fd, s->c->who, s->c->who_len, say,
		    s->refusal);
	s->reason = s->refusal;
}

/* Whether a message (full_len bytes long) is the protocol's "quit". */
static bool is_quit(const char *msg, size_t full)
{
	return full == sizeof(PROTO_QUIT) - 1 &&
	       memcmp(msg, PROTO_QUIT, full) == 0;
}

/* frame_fn: the handler for one message. */
static int on_message(void *ctx, const char *msg, size_t len, size_t full)
{
	struct session *s = ctx;
	const struct config *cfg = s->c->env->cfg;
	struct chat_room *room = s->c->env->chat;

	/* --chat: a message waits, unread, while the room cannot take
	 * this member's lines (a member is far behind); frame_resume
	 * offers it again. */
	if (room != NULL &&
	    !chat_ready(room, &s->talk->member,
			is_quit(msg, full) || chat_is_command(msg, len)))
		return FRAME_PAUSE;
	s->buf_msgs++;
	if (full > len)
		s->buf_truncated++;
	if (!cfg->quiet)
		log_batch_msg(&s->batch, s->c->who, s->c->who_len, msg, len,
			      full);
	/* --chat: the room delivers (and echoes, with --echo). */
	if (room != NULL && !is_quit(msg, full)) {
		chat_input(room, &s->talk->member, msg, len, &s->batch,
			   s->c->who, s->c->who_len);
		return 0;
	}
	/* Room is certain while the session reads only with an empty
	 * outbox; at shutdown (drain) a reply that does not fit is dropped
	 * and counted: the message is logged all the same. */
	if (cfg->echo && room == NULL &&
	    outbox_put_line(&s->talk->out, msg, len) == -1)
		s->talk->out.dropped += len + 1;
	return is_quit(msg, full) ? STOP_QUIT : 0;
}

/* Bytes kept for the client: replies or the room's lines not yet sent. */
static size_t kept(const struct session *s)
{
	return s->talk != NULL ? outbox_pending(&s->talk->out) : 0;
}

/* Counts and hands over what one received buffer produced: replies
 * first (the client is waiting), then the log lines, under one lock. */
static void finish_buffer(struct session *s, size_t nbytes)
{
	/* --chat: this buffer's lines go to the room together, now or, if
	 * a member cannot take them yet, when serve_loop may read again. */
	if (s->c->env->chat != NULL)
		(void)chat_flush(s->c->env->chat, &s->talk->member);
	/* A failed connection drops (and counts) the replies; the session
	 * goes on reading until the client's end shows. */
	if (kept(s) > 0)
		(void)outbox_flush(&s->talk->out);
	log_batch_flush(&s->batch);
	if (s->buf_msgs > 0)
		s->last_msg = monotime_ms();
	/* The server's totals are sharded (stats.h): a counter shared by
	 * every thread would cost a contended cache line per buffer. */
	stats_tcp_add(s->c->env->stats, s->c->id, s->buf_msgs, nbytes,
		      s->buf_truncated);
	s->msgs += s->buf_msgs;
	s->bytes += nbytes;
	s->truncated += s->buf_truncated;
	s->buf_msgs = s->buf_truncated = 0;
}

/* receive()'s answer to the client's end of stream: its last message,
 * if unterminated, is delivered, and in a chat its last words do not
 * wait.  Returns 0: the session has ended. */
static int end_of_stream(struct session *s)
{
	int rc;

	if (s->c->env->chat != NULL)
		chat_last_words(&s->talk->member);
	rc = frame_finish(&s->frame, on_message, s);
	finish_buffer(s, 0);
	s->reason = rc == STOP_QUIT ? "quit" : "client-closed";
	return 0;
}

/* receive()'s answer to a failed recv(2), errno set. */
static int recv_failed(struct session *s)
{
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -1;
	s->reason = errno == ECONNRESET	 ? "reset"
		    : errno == ETIMEDOUT ? "dead-peer"
					 : "error";
	s->err = errno;
	return 0;
}

/* The replies could not be sent: when the peer is gone without a word
 * (keepalive or TCP_USER_TIMEOUT gave up: ETIMEDOUT), the session ends
 * as dead-peer (true).  Other failures show on the next receive. */
static bool send_dead(struct session *s, long flushed)
{
	if (flushed != -1 || errno != ETIMEDOUT)
		return false;
	s->reason = "dead-peer";
	s->err = errno;
	return true;
}

/* Before the session's buffers exist: allocates them once there is a
 * byte to read.  A client that leaves without sending a byte (an idle
 * crowd disconnecting at once) costs no buffers at all. */
static int first_look(struct session *s, int flags)
{
	char byte;
	ssize_t n = recv(s->c->fd, &byte, 1, flags | MSG_PEEK);

	if (n == -1)
		return recv_failed(s);
	if (n == 0) {
		s->reason = "client-closed";
		return 0;
	}
	if (session_alloc(s) == -1) {
		refuse(s);
		return 0;
	}
	return 1;
}

/* One recv(2), or, while the frame is paused (--chat), the messages it
 * kept.  Returns 1 when the session goes on, 0 when it ended (s->reason
 * set), -1 when nothing was queued (EAGAIN, with flags MSG_DONTWAIT). */
static int receive(struct session *s, int flags)
{
	size_t room;
	char *space;
	ssize_t n = 0;
	int rc;

	if (!s->ready) {
		rc = first_look(s, flags);
		if (rc != 1 || !s->ready) /* ended, nothing yet, or EINTR */
			return rc;
	}
	if (frame_paused(&s->frame)) {
		rc = frame_resume(&s->frame, on_message, s);
	} else {
		space = frame_space(&s->frame, &room);
		n = recv(s->c->fd, space, room, flags);
		if (n == -1)
			return recv_failed(s);
		if (!s->c->env->cfg->quiet) /* -q: no lines to stamp */
			log_batch_stamp(&s->batch);
		if (n == 0)
			return end_of_stream(s);
		rc = frame_commit(&s->frame, (size_t)n, on_message, s);
	}
	finish_buffer(s, (size_t)n);
	if (rc == STOP_QUIT) {
		s->reason = "quit";
		return 0;
	}
	return 1;
}

/* The session's next deadline in ms (-1: none) and the reason it ends
 * with when that passes: no completed message for the idle timeout
 * (a partial line then makes it "line-timeout", so trickled bytes never
 * keep a session), or replies stalled for the send timeout. */
static long long next_deadline(const struct session *s, const char **why)
{
	const struct config *cfg = s->c->env->cfg;
	long long at = -1;

	if (cfg->idle_timeout > 0) {
		at = s->last_msg + cfg->idle_timeout * 1000LL;
		*why = s->ready && frame_pending(&s->frame) > 0
			       ? "line-timeout"
			       : "idle-timeout";
	}
	if (cfg->send_timeout > 0 && s->talk != NULL &&
	    s->talk->out.stalled_since_ms != 0) {
		long long stall = s->talk->out.stalled_since_ms +
				  cfg->send_timeout * 1000LL;

		if (at == -1 || stall < at) {
			at = stall;
			*why = "send-timeout";
		}
	}
	return at;
}

/*
 * After the client's last message: replies still kept get their chance
 * to leave, within the send timeout's rule (no progress for that long
 * ends it) and, once the server is stopping, within STOP_FLUSH_MS.
 * What does not leave is dropped and counted.
 */
static void flush_before_close(struct session *s, bool stopping)
{
	const struct config *cfg = s->c->env->cfg;
	long long stop_at = stopping ? monotime_ms() + STOP_FLUSH_MS : -1;
	/* No wake slot: nothing is read any more. */
	struct pollfd pfd[SLOT_STOP + 1] = {
		[SLOT_CLIENT] = {.fd = s->c->fd, .events = POLLOUT},
		[SLOT_STOP] = {.fd = s->c->env->stop_fd, .events = POLLIN},
	};
	struct outbox *ob;

	if (s->talk == NULL)
		return;
	ob = &s->talk->out;
	while (outbox_pending(ob) > 0) {
		long long now = monotime_ms();
		long long at = stop_at;
		long long stall =
			ob->stalled_since_ms + cfg->send_timeout * 1000LL;

		if (cfg->send_timeout > 0 && ob->stalled_since_ms != 0 &&
		    (at == -1 || stall < at))
			at = stall;
		if (at != -1 && now >= at)
			break;
		if (poll(pfd, stopping ? SLOT_STOP : SLOT_STOP + 1,
			 at == -1 ? -1 : (int)(at - now)) == -1 &&
		    errno != EINTR)
			break;
		if (!stopping && pfd[SLOT_STOP].revents != 0) {
			stopping = true;
			stop_at = monotime_ms() + STOP_FLUSH_MS;
		}
		if (outbox_flush(ob) == -1)
			break;
	}
	(void)outbox_discard(ob);
}

/*
 * --chat: the room posted lines (or gave up on this member).  While the
 * socket takes bytes, they go out now; while it does not, the wake-up
 * is only taken, and the lines wait behind what is kept.  Returns true
 * when the room dropped the member (s->reason set).
 */
static bool chat_woken(struct session *s)
{
	struct talk *t = s->talk;

	if (outbox_pending(&t->out) > 0)
		outbox_consume_wake(&t->out);
	else if (send_dead(s, outbox_flush(&t->out)))
		return true;
	s->reason = chat_dropped(s->c->env->chat, &t->member);
	return s->reason != NULL;
}

/* The server's drain deadline, or one from now if none was set. */
static long long drain_deadline(const struct conn_env *env)
{
	long long deadline = env->drain_deadline_ms != NULL
				     ? atomic_load(env->drain_deadline_ms)
				     : 0;

	return deadline > 0 ? deadline
			    : monotime_ms() + env->cfg->drain_timeout_ms;
}

/*
 * Shutdown: log what the client sends until it closes or stays quiet for
 * CONN_DRAIN_QUIET_MS, what was in flight at the stop included, but not
 * past the server's one drain deadline: a client that keeps sending
 * cannot hold the stop up.  A session the deadline cuts ends with
 * reason "drain-timeout" and is counted.
 */
static void drain(struct session *s)
{
	const struct conn_env *env = s->c->env;
	long long deadline = drain_deadline(env);
	long long quiet_until = monotime_ms() + CONN_DRAIN_QUIET_MS;
	struct pollfd pfd = {.fd = s->c->fd, .events = POLLIN};
	bool talking = false; /* received since the stop */

	stats_add(&env->stats->drained, 1);
	s->reason = "shutdown";
	/* What a chat kept paused goes first; the stopping room takes it. */
	if (s->ready && frame_paused(&s->frame) &&
	    receive(s, MSG_DONTWAIT) == 0)
		return;
	for (;;) {
		long long now = monotime_ms();
		long long until =
			quiet_until < deadline ? quiet_until : deadline;
		int wait = until > now ? (int)(until - now) : 0;
		int r = poll(&pfd, 1, wait);

		if (r == -1 && errno != EINTR) {
			s->reason = "error";
			s->err = errno;
			return;
		}
		if (r == 1 && monotime_ms() < deadline) {
			/* Bytes waiting are read even when this thread ran
			 * late: the quiet period is the client's silence,
			 * not the server's. */
			r = receive(s, MSG_DONTWAIT);
			if (r == 0)
				return; /* closed (last line delivered) or
					   failed */
			if (r == 1) {
				talking = true;
				quiet_until =
					monotime_ms() + CONN_DRAIN_QUIET_MS;
			}
			continue;
		}
		if (r == 1 ||
		    (r == 0 && wait == 0 && until == deadline && talking)) {
			/* The deadline came while the client still had
			 * bytes waiting, or had not gone quiet yet. */
			s->reason = "drain-timeout";
			stats_add(&env->stats->drain_cut, 1);
			return;
		}
		if (r == 0 && wait == 0)
			return; /* quiet: it said all it had to say */
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
 * for in poll(2), and the stop is looked at (stop_seen) after every
 * message, or at least every HOT_MS where that costs a system call.  So
 * a stop, or a deadline, is noticed at most HOT_MS late.
 */
#define HOT_MS 100

/* Enters the hot path: 1, or 0 when the receive timeout cannot be set
 * (the session then always polls). */
static int hot_begin(struct session *s)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = HOT_MS * 1000L};

	if (s->hot_ready)
		return 1;
	if (setsockopt(s->c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ==
	    -1)
		return 0;
	s->hot_ready = true;
	return 1;
}

/* Whether the server is stopping, looked at without waiting: the drain
 * deadline server_stop sets before it wakes anyone (a load, no system
 * call), or, for a server that has none, the stop descriptor itself. */
static bool stop_seen(const struct session *s)
{
	const atomic_llong *deadline = s->c->env->drain_deadline_ms;
	struct pollfd pfd = {.fd = s->c->env->stop_fd, .events = POLLIN};

	if (deadline != NULL)
		return atomic_load_explicit(deadline, memory_order_relaxed) !=
		       0;
	return poll(&pfd, 1, 0) > 0;
}

static void serve_loop(struct session *s)
{
	const struct conn_env *env = s->c->env;
	bool hot = false;
	long long stop_checked = 0;
	/* The wake descriptor is -1 (ignored by poll) unless --chat. */
	struct pollfd pfd[SLOTS] = {
		[SLOT_CLIENT] = {.fd = s->c->fd, .events = POLLIN},
		[SLOT_STOP] = {.fd = env->stop_fd, .events = POLLIN},
		[SLOT_WAKE] = {.fd = s->talk != NULL
					     ? outbox_wake_fd(&s->talk->out)
					     : -1,
			       .events = POLLIN},
	};

	s->last_msg = monotime_ms();
	for (;;) {
		const char *why = NULL;
		long long now = monotime_ms(), at = next_deadline(s, &why);
		long long left = at == -1 ? -1 : at - now;
		bool blocked = kept(s) > 0;
		/* Echo: while replies wait, the client is not read (TCP
		 * pushes back on it, and memory does not grow).  A chat
		 * member's outbox holds the others' lines, which its own
		 * reading does not add to: it reads on, so that a member
		 * that hears a flood can still speak in its turn. */
		bool deaf = blocked && env->chat == NULL;
		/* --chat: while a member is far behind, or others are
		 * before this sender in line, it waits. */
		bool held = env->chat != NULL &&
			    !chat_may_read(env->chat, &s->talk->member);
		int r;

		if (at != -1 && left <= 0) {
			s->reason = why;
			return;
		}
		/* --chat: messages read before the room held this sender
		 * back go on now, before anything new is read. */
		if (!deaf && !held && s->ready && frame_paused(&s->frame)) {
			if (receive(s, 0) == 0)
				return;
			continue;
		}
		if (hot && !blocked && (left == -1 || left > HOT_MS)) {
			if (env->drain_deadline_ms != NULL ||
			    now - stop_checked >= HOT_MS) {
				if (stop_seen(s))
					goto stopping;
				stop_checked = now;
			}
			r = receive(s, 0);
			if (r == 0)
				return;
			hot = r == 1; /* -1: quiet for HOT_MS, poll again */
			continue;
		}
		pfd[SLOT_CLIENT].events = (short)((blocked ? POLLOUT : 0) |
						  (deaf || held ? 0 : POLLIN));
		if (held && (left == -1 || left > CHAT_RETRY_MS))
			left = CHAT_RETRY_MS;
		/* --chat: the room measures a member that is behind by
		 * what its socket takes, and the kernel says POLLOUT only
		 * once a third of a big send buffer is free: look sooner. */
		if (blocked && env->chat != NULL &&
		    (left == -1 || left > CHAT_NUDGE_MS))
			left = CHAT_NUDGE_MS;
		r = poll(pfd, SLOTS, (int)left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			s->reason = "error";
			s->err = errno;
			return;
		}
		/* POLLOUT, an error, or (chat) a nudge */
		if (blocked && send_dead(s, outbox_flush(&s->talk->out)))
			return;
		if (pfd[SLOT_CLIENT].revents != 0 && !deaf && !held &&
		    (pfd[SLOT_CLIENT].revents != POLLOUT || !blocked)) {
			if (receive(s, 0) == 0) /* data before stop */
				return;
			if (s->ready && env->chat == NULL)
				hot = hot_begin(s);
		}
		if (pfd[SLOT_STOP].revents != 0)
			goto stopping;
		if (pfd[SLOT_WAKE].revents != 0 && chat_woken(s))
			return;
	}
stopping:
	if (env->chat != NULL)
		chat_stopping(env->chat, &s->talk->member);
	drain(s);
}

/*
 * The disconnect line, made without printf: vsnprintf needs kilobytes of
 * stack, and this runs on every worker as it ends, so 10,000 clients
 * leaving at once would double their threads' memory (see lean.h).
 */
__attribute__((noinline)) static void log_disconnect(const struct session *s,
						     size_t discarded)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];
	struct logline_disconnect d = {
		.reason = s->reason,
		.error = s->err != 0 ? strerror(s->err) : NULL,
		.messages = s->msgs,
		.bytes = s->bytes,
		.truncated = s->truncated,
		.discarded = discarded,
		.unsent = s->unsent,
	};
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	d.duration_ms =
		(uint64_t)((now.tv_sec - s->started.tv_sec) * 1000LL +
			   (now.tv_nsec - s->started.tv_nsec) / 1000000);
	logline_now(ts);
	(void)log_append(s->c->env->log, line,
			 logline_disconnect(line, sizeof(line), ts, s->c->who,
					    s->c->who_len, &d));
}

/* Whether the client closed (or reset) before sending a byte and before
 * it joined: the session then ends with that reason.  A client that
 * sent bytes and closed is served: its lines are read and logged. */
static bool gone_before_join(struct session *s)
{
	char byte;
	ssize_t n = recv(s->c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0)
		s->reason = "client-closed";
	else if (n == -1 && errno == ECONNRESET)
		s->reason = "reset";
	else
		return false;
	return true;
}

/* With --echo or --chat, the outbox; with --chat, open to the room's
 * posts, and the member in the room.  0, or -1 with the session's
 * reason set. */
static int session_start(struct session *s)
{
	const struct conn_env *env = s->c->env;
	size_t max_line = (size_t)env->cfg->max_line;
	struct talk *t;

	if (!env->cfg->echo && env->chat == NULL)
		return 0; /* nothing is ever sent */
	/* --chat: a client that connected and closed before its turn came
	 * (churn) is not charged, welcomed nor announced: it costs the
	 * room nothing. */
	if (env->chat != NULL && gone_before_join(s))
		return -1;
	if (env->chat != NULL && env->budget != NULL) {
		/* A member's outbox and inbox fill as the room posts to
		 * it, whether or not it ever sends, and a member that was
		 * welcomed must be able to speak: its whole cost, framing
		 * buffers and voice included, is charged at the door, and
		 * never again (session_alloc). */
		size_t cost = conn_session_cost(env->cfg);

		if (membudget_charge(env->budget, cost) == -1) {
			s->refusal = "memory-budget";
			refuse(s);
			return -1;
		}
		s->charged = cost;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		s->refusal = "no-memory"; /* as for its buffers */
		refuse(s);
		return -1;
	}
	s->talk = t;
	if (env->chat == NULL) {
		outbox_init(&t->out, s->c->fd, echo_capacity(env->cfg));
		outbox_set_gauge(&t->out, &env->stats->outbox_bytes);
		return 0;
	}
	outbox_init(&t->out, s->c->fd, chat_outbox_cap(max_line));
	outbox_set_gauge(&t->out, &env->stats->outbox_bytes);
	/* A chat line goes out at once: Nagle would hold it until the
	 * member's delayed ACK of the previous one (up to 40 ms).  The
	 * outbox already sends whatever has gathered in one send(). */
	(void)setsockopt(s->c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1},
			 sizeof(int));
	if (outbox_enable_posts(&t->out) == -1) {
		if (errno == ENOMEM || errno == EMFILE || errno == ENFILE) {
			/* No memory for its buffers, or no descriptor for its
			 * wake-up: as at accept. */
			s->refusal = errno == ENOMEM ? "no-memory"
						     : "no-descriptors";
			refuse(s);
			return -1;
		}
		s->reason = "error";
		s->err = errno;
		return -1;
	}
	chat_member_init(&t->member, &t->out, s->c->id, max_line);
	chat_join(env->chat, &t->member);
	return 0;
}

/* A chat session ending while its frame is paused (a deadline, the room
 * dropping it, an error): the messages it read are logged and said all
 * the same, without waiting.  The reason stays the one it ended with. */
static void take_paused(struct session *s)
{
	const char *reason = s->reason;

	if (!s->ready || !frame_paused(&s->frame))
		return;
	chat_last_words(&s->talk->member);
	(void)receive(s, 0);
	s->reason = reason;
}

/* Leaves the room (no post can arrive after that), then gives what is
 * kept its last chance: only a client that ended well (quit, or closed
 * its side) waits for it under the send timeout's rule; the others get
 * the short flush, and a member the room dropped for not reading gets
 * nothing more. */
static void session_end(struct session *s)
{
	struct chat_room *room = s->c->env->chat;

	if (room != NULL && s->talk != NULL && s->talk->member.out != NULL) {
		take_paused(s);
		chat_leave(room, &s->talk->member, s->reason);
		if (strcmp(s->reason, "slow-reader") == 0)
			(void)outbox_discard(&s->talk->out);
		else
			(void)outbox_flush(&s->talk->out); /* takes the inbox */
	}
	flush_before_close(s, strcmp(s->reason, "quit") != 0 &&
				      strcmp(s->reason, "client-closed") != 0);
}

/*
 * The lingering close, as nginx does it.  A socket closed with input
 * still unread, or one that receives data after close(), is reset by
 * the kernel, and the reset throws away every reply still queued for
 * the client.  After "quit" the client may well be sending still, so
 * the session half-closes (its FIN goes out after the replies), then
 * reads and drops input until the client's FIN, LINGER_MS, or the
 * server's stop, and only then closes.
 */
__attribute__((noinline)) static void linger_close(const struct session *s)
{
	long long until = monotime_ms() + LINGER_MS;
	struct pollfd pfd[SLOT_STOP + 1] = {
		[SLOT_CLIENT] = {.fd = s->c->fd, .events = POLLIN},
		[SLOT_STOP] = {.fd = s->c->env->stop_fd, .events = POLLIN},
	};
	char scrap[LINGER_READ_SIZE];

	if (shutdown(s->c->fd, SHUT_WR) == -1)
		return;
	for (;;) {
		long long left = until - monotime_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return;
		r = poll(pfd, SLOT_STOP + 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || pfd[SLOT_STOP].revents != 0)
			return;
		n = recv(s->c->fd, scrap, sizeof(scrap), MSG_DONTWAIT);
		if (n == 0)
			return; /* the client's FIN */
		if (n == -1 && errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK)
			return;
	}
}

/* Whether the session ends by cutting its client off: it was dropped for
 * not taking what it was sent (slow-reader, send-timeout).  A plain
 * close would leave the kernel trickling the send buffer's old lines to
 * it from an orphaned socket for minutes; a reset frees them at once. */
static bool cut_off(const struct session *s)
{
	return strcmp(s->reason, "slow-reader") == 0 ||
	       strcmp(s->reason, "send-timeout") == 0;
}

/* Cuts the client off (cut_off): a last notice for a chat member, best
 * effort (its send buffer is likely full), then a reset. */
static void cut_close(const struct session *s)
{
	static const char notice[] = "* you are dropped (too slow)\n";

	if (s->c->env->chat != NULL)
		(void)send(s->c->fd, notice, sizeof(notice) - 1,
			   MSG_DONTWAIT | MSG_NOSIGNAL);
	net_close_reset(s->c->fd);
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

void conn_serve(struct conn *c)
{
	struct session s;
	size_t discarded = 0;

	/* Before anything is read: a dead peer is found from the start. */
	(void)net_tune_session(c->fd, &c->env->tuning);
	if (c->env->cfg->proxy_protocol && !proxy_admit(c))
		return;
	memset(&s, 0, sizeof(s));
	s.c = c;
	clock_gettime(CLOCK_MONOTONIC, &s.started);
	stats_add(&c->env->stats->tcp_conns, 1);
	log_connect(c);
	if (session_start(&s) == 0)
		serve_loop(&s);
	session_end(&s);
	if (s.ready) {
		discarded = frame_pending(&s.frame);
		log_batch_free(&s.batch);
		frame_free(&s.frame);
	}
	if (s.talk != NULL) {
		s.unsent = s.talk->out.dropped;
		outbox_free(&s.talk->out);
		free(s.talk);
		s.talk = NULL;
	}
	stats_add(&c->env->stats->unsent, s.unsent);
	if (s.charged > 0)
		membudget_release(c->env->budget, s.charged);
	stats_ended(c->env->stats, s.reason);
	log_disconnect(&s, discarded);
	if (cut_off(&s)) {
		cut_close(&s);
	} else {
		if (strcmp(s.reason, "quit") == 0)
			linger_close(&s);
		close(c->fd);
	}
	c->fd = -1;
	seats_give(c->env->seats, &c->seat);
}
