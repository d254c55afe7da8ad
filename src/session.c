/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.c - a TCP client's session as a state machine; the contract
 * is in session.h.
 */
#include "session.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chat.h"
#include "logfmt.h"
#include "logline.h"
#include "monotime.h"
#include "net.h"
#include "outbox.h"
#include "proto.h"
#include "proxyproto.h"

const char *const session_end_names[SESSION_ENDS] = {
	[SESSION_CLIENT_CLOSED] = "client-closed",
	[SESSION_QUIT] = "quit",
	[SESSION_RESET] = "reset",
	[SESSION_DEAD_PEER] = "dead-peer",
	[SESSION_ERROR] = "error",
	[SESSION_IDLE_TIMEOUT] = "idle-timeout",
	[SESSION_LINE_TIMEOUT] = "line-timeout",
	[SESSION_SEND_TIMEOUT] = "send-timeout",
	[SESSION_SLOW_READER] = "slow-reader",
	[SESSION_SHUTDOWN] = "shutdown",
	[SESSION_DRAIN_TIMEOUT] = "drain-timeout",
	[SESSION_MEMORY_BUDGET] = "memory-budget",
	[SESSION_NO_MEMORY] = "no-memory",
	[SESSION_NO_DESCRIPTORS] = "no-descriptors",
};

/* frame_fn return value: the client said "quit". */
#define STOP_QUIT 1

/* At shutdown, replies a client has not taken get this long to leave
 * before they are dropped and counted: long enough for a client that
 * reads, short enough that a stop never waits on one that does not. */
#define STOP_FLUSH_MS 500

/* After "quit", how long the session goes on reading (and dropping)
 * what the client still sends, waiting for its FIN (see linger): a
 * client that is still sending is done within a round trip or two. */
#define LINGER_MS 2000
/* What linger reads at a time: the bytes are dropped, and the buffer
 * lives on the worker's small stack (workers.h). */
#define LINGER_READ_SIZE 512

/* What a session sends (echo replies, the room's lines), on the heap:
 * only --echo and --chat sessions have one. */
struct talk {
	struct outbox out;	   /* what the client has not taken yet */
	struct chat_member member; /* --chat: this client in the room */
};

/* The header phases' state, on the heap for as long as they last. */
struct proxy_wait {
	struct pp_reader reader;
	long long deadline; /* CLOCK_MONOTONIC ms */
	bool stop_seen;
};

/*
 * A handler: what the session does with a message, chosen once as it
 * begins (session_begin), so that the hot path calls one function and
 * tests no option.
 */
struct session_mode {
	frame_fn message;
	/* Sets the mode up (the outbox, the room).  0, or -1 with the
	 * session ended. */
	int (*start)(struct session *s);
	bool room; /* a chat member: the room paces it */
};

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

size_t conn_session_cost(const struct config *cfg)
{
	/* A member's kernel send buffer fills as the room posts to it. */
	return buffers_cost(cfg) +
	       (cfg->chat ? chat_member_cost((size_t)cfg->max_line) +
				    NET_SNDBUF_CHARGE
			  : 0);
}

static void end(struct session *s, enum session_end why)
{
	s->end = why;
	s->ended = true;
}

/*
 * "TS WHO connect", made on the stack without printf: an idle client's
 * thread never touches more than its first stack page (workers.h).
 * This and the other line-making functions that run once per session
 * (refuse, log_disconnect, linger) are kept out of line: inlined, their
 * buffers would sit in the driver's frame all the session long, below
 * which everything else runs.
 */
__attribute__((noinline)) static void log_connect(const struct conn *c)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_CONNECT_MAX];

	logline_now(ts);
	(void)log_append(
		c->env->log, line,
		logline_connect(line, sizeof(line), ts, c->who, c->who_len));
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

/* Allocates the session's buffers, charged to the server's budget
 * unless the chat door charged them already.  0, or -1 with s->refusal
 * saying why not ("memory-budget", "no-memory"). */
static int session_alloc(struct session *s)
{
	const struct conn_env *env = s->c->env;
	const struct config *cfg = env->cfg;
	size_t cost = s->mode->room ? 0 : buffers_cost(cfg);

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
	if (s->talk != NULL && !s->mode->room &&
	    outbox_alloc(&s->talk->out) == -1)
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
 * line, which gives the same reason. */
__attribute__((noinline)) static void refuse(struct session *s)
{
	bool full = strcmp(s->refusal, "no-descriptors") == 0;

	conn_refuse(s->c->env, s->c->fd, s->c->who, s->c->who_len,
		    full ? PROTO_FULL_LINE : PROTO_BUSY_LINE, s->refusal);
	end(s, full ? SESSION_NO_DESCRIPTORS
	       : strcmp(s->refusal, "memory-budget") == 0
		       ? SESSION_MEMORY_BUDGET
		       : SESSION_NO_MEMORY);
}

/* Whether a message (full bytes long) is the protocol's "quit". */
static bool is_quit(const char *msg, size_t full)
{
	return full == sizeof(PROTO_QUIT) - 1 &&
	       memcmp(msg, PROTO_QUIT, full) == 0;
}

/* What every handler does first: count the message, log it. */
static void note(struct session *s, const char *msg, size_t len, size_t full)
{
	s->buf_msgs++;
	if (full > len)
		s->buf_truncated++;
	if (!s->c->env->cfg->quiet)
		log_batch_msg(&s->batch, s->c->who, s->c->who_len, msg, len,
			      full);
}

/* frame_fn of the log-only mode. */
static int log_message(void *ctx, const char *msg, size_t len, size_t full)
{
	note(ctx, msg, len, full);
	return is_quit(msg, full) ? STOP_QUIT : 0;
}

/* frame_fn of --echo.  Room is certain while the session reads only
 * with an empty outbox; at shutdown (drain) a reply that does not fit
 * is dropped and counted: the message is logged all the same. */
static int echo_message(void *ctx, const char *msg, size_t len, size_t full)
{
	struct session *s = ctx;

	note(s, msg, len, full);
	if (outbox_put_line(&s->talk->out, msg, len) == -1)
		s->talk->out.dropped += len + 1;
	return is_quit(msg, full) ? STOP_QUIT : 0;
}

/* frame_fn of --chat: a message waits, unread, while the room cannot
 * take this member's lines (a member is far behind); frame_resume
 * offers it again.  The room delivers (and echoes, with --echo). */
static int chat_message(void *ctx, const char *msg, size_t len, size_t full)
{
	struct session *s = ctx;
	struct chat_room *room = s->c->env->chat;
	bool quit = is_quit(msg, full);

	if (!chat_ready(room, &s->talk->member,
			quit || chat_is_command(msg, len)))
		return FRAME_PAUSE;
	note(s, msg, len, full);
	if (quit)
		return STOP_QUIT;
	chat_input(room, &s->talk->member, msg, len, &s->batch, s->c->who,
		   s->c->who_len);
	return 0;
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
	 * a member cannot take them yet, when the room lets it read. */
	if (s->mode->room)
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

/* session_read's answer to the client's end of stream: its last
 * message, if unterminated, is delivered, and in a chat its last words
 * do not wait.  Returns 0: the session has ended. */
static int end_of_stream(struct session *s)
{
	int rc;

	if (s->mode->room)
		chat_last_words(&s->talk->member);
	rc = frame_finish(&s->frame, s->mode->message, s);
	finish_buffer(s, 0);
	end(s, rc == STOP_QUIT ? SESSION_QUIT : SESSION_CLIENT_CLOSED);
	return 0;
}

/* session_read's answer to a failed recv(2), errno set. */
static int recv_failed(struct session *s)
{
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -1;
	end(s, errno == ECONNRESET  ? SESSION_RESET
	       : errno == ETIMEDOUT ? SESSION_DEAD_PEER
				    : SESSION_ERROR);
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
	end(s, SESSION_DEAD_PEER);
	s->err = errno;
	return true;
}

/* What the driver fed (session_feed) instead of recv(2): as recv with
 * MSG_DONTWAIT answers, EAGAIN once it is used up. */
static ssize_t fed_take(struct session *s, void *buf, size_t len, int flags)
{
	size_t n = len < s->in_len ? len : s->in_len;

	if (n == 0 && s->in_end != 0) {
		if (s->in_end == -1)
			return 0; /* end of stream, for every later look */
		errno = s->in_end;
		return -1;
	}
	if (n == 0) {
		errno = EAGAIN;
		return -1;
	}
	memcpy(buf, s->in, n);
	if (!(flags & MSG_PEEK)) {
		s->in += n;
		s->in_len -= n;
	}
	return (ssize_t)n;
}

/* Every read of the client's socket: recv(2), or what was fed. */
static inline ssize_t take(struct session *s, void *buf, size_t len, int flags)
{
	if (!s->fed)
		return recv(s->c->fd, buf, len, flags);
	return fed_take(s, buf, len, flags);
}

void session_feed(struct session *s, const char *bytes, size_t len, int end)
{
	s->fed = true;
	s->in = bytes;
	s->in_len = len;
	s->in_end = end;
}

/* Before the session's buffers exist: allocates them once there is a
 * byte to read.  A client that leaves without sending a byte (an idle
 * crowd disconnecting at once) costs no buffers at all. */
static int first_look(struct session *s, int flags)
{
	char byte;
	ssize_t n = take(s, &byte, 1, flags | MSG_PEEK);

	if (n == -1)
		return recv_failed(s);
	if (n == 0) {
		end(s, SESSION_CLIENT_CLOSED);
		return 0;
	}
	if (session_alloc(s) == -1) {
		refuse(s);
		return 0;
	}
	return 1;
}

int session_read(struct session *s, int flags)
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
		rc = frame_resume(&s->frame, s->mode->message, s);
	} else {
		space = frame_space(&s->frame, &room);
		n = take(s, space, room, flags);
		if (n == -1)
			return recv_failed(s);
		if (!s->c->env->cfg->quiet) /* -q: no lines to stamp */
			log_batch_stamp(&s->batch);
		if (n == 0)
			return end_of_stream(s);
		rc = frame_commit(&s->frame, (size_t)n, s->mode->message, s);
	}
	finish_buffer(s, (size_t)n);
	if (rc == STOP_QUIT) {
		end(s, SESSION_QUIT);
		return 0;
	}
	return 1;
}

/* ---- the modes ---- */

static int log_start(struct session *s)
{
	(void)s;
	return 0; /* nothing is ever sent */
}

static int echo_start(struct session *s)
{
	const struct conn_env *env = s->c->env;
	struct talk *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		s->refusal = "no-memory"; /* as for its buffers */
		refuse(s);
		return -1;
	}
	s->talk = t;
	outbox_init(&t->out, s->c->fd, echo_capacity(env->cfg));
	outbox_set_gauge(&t->out, &env->stats->outbox_bytes);
	return 0;
}

/* Whether the client closed (or reset) before sending a byte and before
 * it joined: the session then ends with that reason.  A client that
 * sent bytes and closed is served: its lines are read and logged. */
static bool gone_before_join(struct session *s)
{
	char byte;
	ssize_t n = take(s, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0)
		end(s, SESSION_CLIENT_CLOSED);
	else if (n == -1 && errno == ECONNRESET)
		end(s, SESSION_RESET);
	else
		return false;
	return true;
}

/* The outbox, open to the room's posts, and the member in the room. */
static int chat_start(struct session *s)
{
	const struct conn_env *env = s->c->env;
	size_t max_line = (size_t)env->cfg->max_line;
	struct talk *t;

	/* A client that connected and closed before its turn came (churn)
	 * is not charged, welcomed nor announced: it costs the room
	 * nothing. */
	if (gone_before_join(s))
		return -1;
	if (env->budget != NULL) {
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
		s->refusal = "no-memory";
		refuse(s);
		return -1;
	}
	s->talk = t;
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
		end(s, SESSION_ERROR);
		s->err = errno;
		return -1;
	}
	chat_member_init(&t->member, &t->out, s->c->id, max_line);
	chat_join(env->chat, &t->member);
	return 0;
}

static const struct session_mode log_mode = {log_message, log_start, false};
static const struct session_mode echo_mode = {echo_message, echo_start, false};
static const struct session_mode chat_mode = {chat_message, chat_start, true};

/* The session proper, once the client is known: the connect line, the
 * mode's start. */
static void serve_begin(struct session *s)
{
	const struct conn_env *env = s->c->env;

	clock_gettime(CLOCK_MONOTONIC, &s->started);
	stats_add(&env->stats->tcp_conns, 1);
	log_connect(s->c);
	s->phase = SESSION_SERVING;
	s->last_msg = monotime_ms();
	(void)s->mode->start(s);
}

void session_begin(struct session *s, struct conn *c)
{
	const struct conn_env *env = c->env;

	memset(s, 0, sizeof(*s));
	s->c = c;
	s->mode = env->chat != NULL ? &chat_mode
		  : env->cfg->echo  ? &echo_mode
				    : &log_mode;
	if (!env->cfg->proxy_protocol) {
		serve_begin(s);
		return;
	}
	/* --proxy-protocol: the header first (session_step), within
	 * PP_HEADER_TIMEOUT_MS. */
	s->phase = SESSION_PROXY_HEADER;
	s->proxy = malloc(sizeof(*s->proxy));
	if (s->proxy == NULL) {
		conn_refuse(env, c->fd, c->who, c->who_len, PROTO_BUSY_LINE,
			    "no-memory");
		s->phase = SESSION_DONE;
		return;
	}
	pp_reader_init(&s->proxy->reader);
	s->proxy->deadline = monotime_ms() + PP_HEADER_TIMEOUT_MS;
	s->proxy->stop_seen = false;
}

/* ---- SERVING ---- */

/* The session's next deadline in ms (-1: none) and the reason it ends
 * with when that passes: no completed message for the idle timeout
 * (a partial line then makes it "line-timeout", so trickled bytes never
 * keep a session), or replies stalled for the send timeout. */
static long long next_deadline(const struct session *s, enum session_end *why)
{
	const struct config *cfg = s->c->env->cfg;
	long long at = -1;

	if (cfg->idle_timeout > 0) {
		at = s->last_msg + cfg->idle_timeout * 1000LL;
		*why = s->ready && frame_pending(&s->frame) > 0
			       ? SESSION_LINE_TIMEOUT
			       : SESSION_IDLE_TIMEOUT;
	}
	if (cfg->send_timeout > 0 && s->talk != NULL &&
	    s->talk->out.stalled_since_ms != 0) {
		long long stall = s->talk->out.stalled_since_ms +
				  cfg->send_timeout * 1000LL;

		if (at == -1 || stall < at) {
			at = stall;
			*why = SESSION_SEND_TIMEOUT;
		}
	}
	return at;
}

/*
 * --chat: the room posted lines (or gave up on this member).  While the
 * socket takes bytes, they go out now; while it does not, the wake-up
 * is only taken, and the lines wait behind what is kept.
 */
static void chat_woken(struct session *s)
{
	struct talk *t = s->talk;
	const char *dropped;

	if (outbox_pending(&t->out) > 0)
		outbox_consume_wake(&t->out);
	else if (send_dead(s, outbox_flush(&t->out)))
		return;
	dropped = chat_dropped(s->c->env->chat, &t->member);
	if (dropped != NULL)
		end(s, SESSION_SLOW_READER);
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

/* Whether the server is stopping, looked at without waiting: the drain
 * deadline server_stop sets before it wakes anyone (a load, no system
 * call).  A server without one (a test's) says so by SESSION_EV_STOP
 * only. */
static bool stop_set(const struct session *s)
{
	const atomic_llong *deadline = s->c->env->drain_deadline_ms;

	return deadline != NULL &&
	       atomic_load_explicit(deadline, memory_order_relaxed) != 0;
}

/*
 * Shutdown: log what the client sends until it closes or stays quiet for
 * CONN_DRAIN_QUIET_MS, what was in flight at the stop included, but not
 * past the server's one drain deadline: a client that keeps sending
 * cannot hold the stop up.  A session the deadline cuts ends with
 * reason "drain-timeout" and is counted.
 */
static void drain_begin(struct session *s)
{
	const struct conn_env *env = s->c->env;

	s->stopping = true;
	if (s->mode->room)
		chat_stopping(env->chat, &s->talk->member);
	stats_add(&env->stats->drained, 1);
	s->phase = SESSION_DRAINING;
	s->deadline = drain_deadline(env);
	s->quiet_until = monotime_ms() + CONN_DRAIN_QUIET_MS;
	s->talking = false;
	/* What a chat kept paused goes first; the stopping room takes it. */
	if (s->ready && frame_paused(&s->frame))
		(void)session_read(s, MSG_DONTWAIT);
}

static void drain_cut(struct session *s)
{
	end(s, SESSION_DRAIN_TIMEOUT);
	stats_add(&s->c->env->stats->drain_cut, 1);
}

/* Whether bytes wait on the client's socket (or its end). */
static bool input_waiting(const struct session *s)
{
	char byte;

	return take((struct session *)s, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >=
	       0;
}

static void draining(struct session *s, unsigned events)
{
	long long now = monotime_ms();
	long long until =
		s->quiet_until < s->deadline ? s->quiet_until : s->deadline;
	int r;

	/* Bytes waiting are read even when this thread ran late: the
	 * quiet period is the client's silence, not the server's. */
	if ((events & SESSION_EV_READ) || now >= until) {
		if (now >= s->deadline) {
			/* The deadline came while the client still had
			 * bytes waiting, or had not gone quiet yet. */
			if (input_waiting(s) ||
			    (until == s->deadline && s->talking))
				drain_cut(s);
			else
				end(s, SESSION_SHUTDOWN);
			return;
		}
		r = session_read(s, MSG_DONTWAIT);
		if (r == 1) {
			s->talking = true;
			s->quiet_until = monotime_ms() + CONN_DRAIN_QUIET_MS;
		} else if (r == -1 && now >= until) {
			end(s, SESSION_SHUTDOWN); /* quiet: it said all */
		}
	}
}

static void serving(struct session *s, unsigned events)
{
	bool blocked = kept(s) > 0;
	bool deaf = blocked && !s->mode->room;
	bool held = s->mode->room &&
		    !chat_may_read(s->c->env->chat, &s->talk->member);

	/* POLLOUT, an error, or (chat) a nudge */
	if (blocked && send_dead(s, outbox_flush(&s->talk->out)))
		return;
	/* Data before stop; and, in a chat, messages read before the room
	 * held this sender back go on now, before anything new is read. */
	if (((events & SESSION_EV_READ) ||
	     (s->ready && frame_paused(&s->frame))) &&
	    !deaf && !held) {
		if (session_read(s, MSG_DONTWAIT) == 0)
			return;
	}
	if ((events & SESSION_EV_STOP) || stop_set(s)) {
		drain_begin(s);
		return;
	}
	if (events & SESSION_EV_WAKE)
		chat_woken(s);
}

/* What a SERVING session waits for; ends it when its deadline passed. */
static void serve_plan(struct session *s, struct session_wait *w)
{
	const struct conn_env *env = s->c->env;
	enum session_end why = SESSION_IDLE_TIMEOUT;
	long long now = monotime_ms(), at = next_deadline(s, &why);
	bool blocked = kept(s) > 0;
	/* Echo: while replies wait, the client is not read (TCP pushes
	 * back on it, and memory does not grow).  A chat member's outbox
	 * holds the others' lines, which its own reading does not add to:
	 * it reads on, so that a member that hears a flood can still speak
	 * in its turn. */
	bool deaf = blocked && !s->mode->room;
	/* --chat: while a member is far behind, or others are before this
	 * sender in line, it waits. */
	bool held =
		s->mode->room && !chat_may_read(env->chat, &s->talk->member);

	if (at != -1 && at <= now) {
		end(s, why);
		return;
	}
	w->write = blocked;
	w->read = !deaf && !held;
	w->wake = s->mode->room;
	w->stop = true;
	w->until = at;
	/* --chat: messages read before the room held this sender back go
	 * on now, before anything new is read. */
	w->now = !deaf && !held && s->ready && frame_paused(&s->frame);
	if (held && (at == -1 || at > now + CHAT_RETRY_MS))
		w->until = now + CHAT_RETRY_MS;
	/* --chat: the room measures a member that is behind by what its
	 * socket takes, and the kernel says POLLOUT only once a third of a
	 * big send buffer is free: look sooner. */
	if (blocked && s->mode->room &&
	    (w->until == -1 || w->until > now + CHAT_NUDGE_MS))
		w->until = now + CHAT_NUDGE_MS;
}

/* ---- --proxy-protocol: the header before the session ---- */

/* Ends a connection before its session: tells the client why (line, or
 * NULL: nothing), logs the refusal. */
static void proxy_refuse(struct session *s, const char *line,
			 const char *reason)
{
	struct conn *c = s->c;

	conn_refuse(c->env, c->fd, c->who, c->who_len, line, reason);
}

/* The refusal reason for a header pp_feed could not take. */
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

/* Ends a health check: counted, not logged. */
static void proxy_check(struct session *s)
{
	stats_add(&s->c->env->stats->proxy_checks, 1);
}

/* Makes the session the real client's: its address in the log lines and
 * against --max-per-ip.  false when refused (logged). */
static bool proxy_seat(struct session *s, const struct pp_header *h)
{
	struct conn *c = s->c;
	const struct sockaddr_storage *client = &c->peer;
	char addr[NET_ADDR_MAX];

	if (h->command == PP_PROXY) {
		client = &h->src;
		c->who_len =
			logline_who(c->who, sizeof(c->who), "tcp",
				    net_format((const struct sockaddr *)client,
					       addr, sizeof(addr)),
				    c->id);
	}
	switch (seats_take_address(c->env->seats,
				   (const struct sockaddr *)client, &c->seat)) {
	case SEATS_TAKEN:
		return true;
	case SEATS_IP_FULL:
		proxy_refuse(s, PROTO_PER_IP_LINE, "per-ip-limit");
		return false;
	default:
		proxy_refuse(s, PROTO_BUSY_LINE, "no-memory");
		return false;
	}
}

/* The header's deadline: PP_HEADER_TIMEOUT_MS from the accept, or the
 * drain deadline once the server stops, when that is sooner. */
static long long proxy_deadline(struct session *s, unsigned events)
{
	struct proxy_wait *p = s->proxy;

	if (!p->stop_seen && ((events & SESSION_EV_STOP) || stop_set(s))) {
		long long at = drain_deadline(s->c->env);

		p->stop_seen = true;
		if (at < p->deadline)
			p->deadline = at;
	}
	return p->deadline;
}

static int proxy_local(struct session *s, unsigned events,
		       struct session_wait *w);

/* PROXY_HEADER: 1 admitted (serve), 0 waiting (w set), -1 gone. */
static int proxy_header(struct session *s, unsigned events,
			struct session_wait *w)
{
	struct proxy_wait *p = s->proxy;
	struct pp_header *h = &p->reader.h;
	long long deadline = proxy_deadline(s, events);
	enum pp_status st = pp_feed(&p->reader, s->c->fd);

	if (st == PP_NEED_MORE && monotime_ms() >= deadline) {
		h->error = "timeout";
		st = PP_ERROR;
	}
	if (st == PP_ERROR) {
		if (h->empty) /* connect-only: a check, no client */
			proxy_check(s);
		else
			proxy_refuse(s, NULL, header_fault(h));
		return -1;
	}
	if (st == PP_NEED_MORE) {
		w->read = true;
		w->stop = !p->stop_seen;
		w->until = deadline;
		return 0;
	}
	if (own_source(s->c, h))
		h->command = PP_LOCAL;
	if (h->command == PP_LOCAL) {
		s->phase = SESSION_PROXY_LOCAL;
		return proxy_local(s, 0, w);
	}
	return proxy_seat(s, h) ? 1 : -1;
}

/* PROXY_LOCAL, the proxy's own connection: a health check closes without
 * a byte (before the deadline, or by the server's stop); one that sends,
 * or stays, is served as a client after all.  As proxy_header. */
static int proxy_local(struct session *s, unsigned events,
		       struct session_wait *w)
{
	struct proxy_wait *p = s->proxy;
	long long deadline = proxy_deadline(s, events);
	char byte;
	ssize_t n = take(s, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR)) {
		proxy_check(s);
		return -1;
	}
	if (n == -1 && !p->stop_seen && monotime_ms() < deadline) {
		w->read = true;
		w->stop = true;
		w->until = deadline;
		return 0;
	}
	return proxy_seat(s, &p->reader.h) ? 1 : -1;
}

/* ---- ending ---- */

/* A chat session ending while its frame is paused (a deadline, the room
 * dropping it, an error): the messages it read are logged and said all
 * the same, without waiting.  The reason stays the one it ended with. */
static void take_paused(struct session *s)
{
	enum session_end why = s->end;

	if (!s->ready || !frame_paused(&s->frame))
		return;
	chat_last_words(&s->talk->member);
	(void)session_read(s, 0);
	s->end = why;
}

/* Whether the session ends by cutting its client off: it was dropped for
 * not taking what it was sent (slow-reader, send-timeout).  A plain
 * close would leave the kernel trickling the send buffer's old lines to
 * it from an orphaned socket for minutes; a reset frees them at once. */
static bool cut_off(const struct session *s)
{
	return s->end == SESSION_SLOW_READER || s->end == SESSION_SEND_TIMEOUT;
}

/*
 * Leaves the room (no post can arrive after that), then gives what is
 * kept its last chance (FLUSHING): only a client that ended well (quit,
 * or closed its side) waits for it under the send timeout's rule; the
 * others get the short flush, and a member the room dropped for not
 * reading gets nothing more.
 */
static void ending(struct session *s)
{
	struct chat_room *room = s->c->env->chat;

	if (s->mode->room && s->talk != NULL && s->talk->member.out != NULL) {
		take_paused(s);
		chat_leave(room, &s->talk->member, session_end_names[s->end]);
		if (s->end == SESSION_SLOW_READER)
			(void)outbox_discard(&s->talk->out);
		else
			(void)outbox_flush(&s->talk->out); /* takes the inbox */
	}
	s->stopping = s->end != SESSION_QUIT && s->end != SESSION_CLIENT_CLOSED;
	s->deadline = s->stopping ? monotime_ms() + STOP_FLUSH_MS : -1;
	s->phase = SESSION_FLUSHING;
}

/*
 * After the client's last message: replies still kept get their chance
 * to leave, within the send timeout's rule (no progress for that long
 * ends it) and, once the server is stopping, within STOP_FLUSH_MS.
 * What does not leave is dropped and counted.  Returns true when done.
 */
static bool flushing(struct session *s, unsigned events, struct session_wait *w)
{
	const struct config *cfg = s->c->env->cfg;
	struct outbox *ob;
	long long now, at, stall;

	if (s->talk == NULL)
		return true;
	ob = &s->talk->out;
	if ((events & SESSION_EV_STOP) && !s->stopping) {
		s->stopping = true;
		s->deadline = monotime_ms() + STOP_FLUSH_MS;
	}
	if (outbox_pending(ob) > 0 && outbox_flush(ob) == -1)
		return true;
	if (outbox_pending(ob) == 0)
		return true;
	now = monotime_ms();
	at = s->deadline;
	stall = ob->stalled_since_ms + cfg->send_timeout * 1000LL;
	if (cfg->send_timeout > 0 && ob->stalled_since_ms != 0 &&
	    (at == -1 || stall < at))
		at = stall;
	if (at != -1 && now >= at)
		return true;
	w->write = true;
	w->stop = !s->stopping;
	w->until = at;
	return false;
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
		.reason = session_end_names[s->end],
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

/* Cuts the client off (cut_off): a last notice for a chat member, best
 * effort (its send buffer is likely full), then a reset. */
static void cut_close(const struct session *s)
{
	static const char notice[] = "* you are dropped (too slow)\n";

	if (s->mode->room)
		(void)send(s->c->fd, notice, sizeof(notice) - 1,
			   MSG_DONTWAIT | MSG_NOSIGNAL);
	net_close_reset(s->c->fd);
	s->c->fd = -1;
}

static void done(struct session *s)
{
	if (s->c->fd >= 0)
		close(s->c->fd);
	s->c->fd = -1;
	seats_give(s->c->env->seats, &s->c->seat);
	s->phase = SESSION_DONE;
}

/* Frees what the session held, logs its disconnect line, and closes:
 * cut off, at once, or lingering after "quit". */
static void finish(struct session *s)
{
	const struct conn_env *env = s->c->env;
	size_t discarded = 0;

	if (s->talk != NULL)
		(void)outbox_discard(&s->talk->out);
	if (s->ready) {
		discarded = frame_pending(&s->frame);
		log_batch_free(&s->batch);
		frame_free(&s->frame);
		s->ready = false;
	}
	if (s->talk != NULL) {
		s->unsent = s->talk->out.dropped;
		outbox_free(&s->talk->out);
		free(s->talk);
		s->talk = NULL;
	}
	stats_add(&env->stats->unsent, s->unsent);
	if (s->charged > 0)
		membudget_release(env->budget, s->charged);
	s->charged = 0;
	stats_ended(env->stats, session_end_names[s->end]);
	log_disconnect(s, discarded);
	if (cut_off(s)) {
		cut_close(s);
		done(s);
		return;
	}
	/*
	 * The lingering close, as nginx does it.  A socket closed with
	 * input still unread, or one that receives data after close(), is
	 * reset by the kernel, and the reset throws away every reply still
	 * queued for the client.  After "quit" the client may well be
	 * sending still, so the session half-closes (its FIN goes out after
	 * the replies), then reads and drops input until the client's FIN,
	 * LINGER_MS, or the server's stop, and only then closes.
	 */
	if (s->end == SESSION_QUIT && shutdown(s->c->fd, SHUT_WR) == 0) {
		s->phase = SESSION_LINGERING;
		s->deadline = monotime_ms() + LINGER_MS;
		return;
	}
	done(s);
}

/* LINGERING: true when done (the FIN, an error, the time, the stop). */
__attribute__((noinline)) static bool lingering(struct session *s,
						unsigned events)
{
	char scrap[LINGER_READ_SIZE];

	if ((events & SESSION_EV_STOP) || stop_set(s) ||
	    monotime_ms() >= s->deadline)
		return true;
	for (;;) {
		ssize_t n = take(s, scrap, sizeof(scrap), MSG_DONTWAIT);

		if (n == 0)
			return true; /* the client's FIN */
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		return errno != EAGAIN && errno != EWOULDBLOCK;
	}
}

int session_wake_fd(const struct session *s)
{
	return s->talk != NULL ? outbox_wake_fd(&s->talk->out) : -1;
}

bool session_step(struct session *s, unsigned events, struct session_wait *w)
{
	int r;

	for (;;) {
		*w = (struct session_wait){.until = -1};
		switch (s->phase) {
		case SESSION_PROXY_HEADER:
		case SESSION_PROXY_LOCAL:
			r = s->phase == SESSION_PROXY_HEADER
				    ? proxy_header(s, events, w)
				    : proxy_local(s, events, w);
			if (r == 0)
				return true;
			free(s->proxy);
			s->proxy = NULL;
			if (r == -1) {
				done(s);
				return false;
			}
			*w = (struct session_wait){.until = -1};
			serve_begin(s);
			break;
		case SESSION_SERVING:
			if (!s->ended)
				serving(s, events);
			if (!s->ended && s->phase == SESSION_SERVING)
				serve_plan(s, w);
			if (!s->ended && s->phase == SESSION_SERVING)
				return true;
			break;
		case SESSION_DRAINING:
			if (!s->ended)
				draining(s, events);
			if (!s->ended) {
				w->read = true;
				w->until = s->quiet_until < s->deadline
						   ? s->quiet_until
						   : s->deadline;
				return true;
			}
			break;
		case SESSION_FLUSHING:
			if (!flushing(s, events, w))
				return true;
			finish(s);
			break;
		case SESSION_LINGERING:
			if (!lingering(s, events)) {
				w->read = true;
				w->stop = true;
				w->until = s->deadline;
				return true;
			}
			done(s);
			return false;
		case SESSION_DONE:
			return false;
		}
		/* A phase ended (or began): the next one starts from here,
		 * the events taken. */
		events = 0;
		if (s->ended && (s->phase == SESSION_SERVING ||
				 s->phase == SESSION_DRAINING)) {
			*w = (struct session_wait){.until = -1};
			ending(s);
		}
	}
}
