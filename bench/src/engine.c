/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.c - see engine.h.
 *
 * Each worker thread owns an epoll instance and an array of clients.
 * A client is a small state machine (enum cstate) driven by three
 * kinds of input: socket readiness from epoll_wait(), its own timer
 * (t_timer: ramp start, --rate/--think pacing, reply timeouts) and the
 * run-wide deadlines (-d, --max-time, --hold, a stop request).  What a
 * connected client does is its mode's (struct mode: one-way, echo,
 * hold, each over TCP or UDP), how bytes arrive its transport's
 * (struct transport), as wrk has per-readiness callbacks: both are
 * chosen once, at setup.
 *
 * Timers are kept in the clients themselves and found by a scan of the
 * worker's clients, done at most once per SCAN_NS and only when the
 * earliest known timer is due.  That is O(clients) per millisecond in
 * the worst case (5,000 clients per thread: a few million compares per
 * second), much simpler than a heap and cheap enough for flood.
 *
 * Messages are never stored per client: message (client, seq) is a pure
 * function (fmsg_format), so a client only remembers how far it got
 * (seq, out_off, rx_off) and the worker regenerates bytes into its own
 * buffers.  10,000 idle clients cost 10,000 small structs.
 */
#include "engine.h"
#include "fmsg.h"
#include "net.h"
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h> /* SIOCOUTQ */
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 64 KiB: large enough to carry thousands of small messages per send()
 * and to drain a socket in one recv(); small enough per thread. */
#define IOBUF_SIZE 65536

/* 256 events per epoll_wait(): enough to serve every ready client of a
 * busy worker per wake-up without a huge array. */
#define MAX_EVENTS 256

/* Timers are scanned at most once per millisecond: epoll_wait() cannot
 * wait for less anyway. */
#define SCAN_NS 1000000LL

/* A worker never sleeps longer than this, so that stop requests and
 * the hold start (set by other threads) are seen quickly. */
#define MAX_SLEEP_MS 50

/* Per wake-up, a UDP client reads or writes at most this many
 * datagrams and a TCP client writes at most this many batches, so that
 * one busy socket cannot starve the others (level-triggered epoll
 * brings it back at once). */
#define UDP_BURST 32
#define TCP_BURST 4

#define NS_PER_SEC 1000000000LL
#define NS_PER_MS  1000000LL
#define NEVER	   INT64_MAX

/* Addresses of one name tried in turn: more than any host has. */
#define ENG_ADDRS_MAX 16

/* The server's refusal lines (proto.h); the longest is this long. */
#define REFUSAL_MAX (sizeof(PROTO_PER_IP_LINE) - 1)
static const char *const refusals[] = {PROTO_FULL_LINE, PROTO_BUSY_LINE,
				       PROTO_PER_IP_LINE};
_Static_assert(sizeof(PROTO_FULL_LINE) <= sizeof(PROTO_PER_IP_LINE) &&
		       sizeof(PROTO_BUSY_LINE) <= sizeof(PROTO_PER_IP_LINE),
	       "REFUSAL_MAX is not the longest refusal line");

enum cstate {
	S_WAIT,	      /* not connected; connect when t_timer comes */
	S_CONNECTING, /* TCP connect in progress */
	S_SENDING,    /* one-way: sending messages */
	S_AWAIT,      /* echo: messages seq..next-1 sent, awaiting replies */
	S_PAUSE,      /* echo: none in flight, next not yet due */
	S_DRAIN,      /* TCP: SHUT_WR done, waiting for the server's close */
	S_HOLD,	      /* --hold: connected, idle */
	S_DONE,
};

enum head_state { HEAD_OPEN, HEAD_DONE };

enum failure {
	F_ERRNO,
	F_REFUSED,
	F_EARLY_CLOSE,
	F_BAD_REPLY,
	F_TIMEOUT,
	F_MAX_TIME,
	F_INTERRUPTED,
};

struct client {
	int fd;
	uint32_t id;	    /* global client number: c<id> in messages */
	uint8_t state;	    /* enum cstate */
	uint8_t head_state; /* enum head_state */
	uint8_t head_len;
	uint8_t blocked;	/* one-way: waiting for EPOLLOUT (a send
				   said EAGAIN, or the turn was given up) */
	uint8_t first_pending;	/* echo: this connection has no reply yet */
	uint32_t want;		/* epoll events registered (0: none) */
	uint32_t out_off;	/* bytes of message seq already sent */
	uint32_t rx_off;	/* bytes of the current reply received */
	uint64_t seq;		/* next message to send (echo: to answer) */
	uint64_t next;		/* echo: next message to send */
	int64_t *times;		/* echo: per -P slot, start and send time */
	uint64_t limit;		/* messages this client sends in all */
	uint64_t conn_limit;	/* this connection's limit (--churn: seq + 1) */
	int64_t t_first;	/* --rate schedule origin */
	int64_t t_last;		/* last message completed, for --think */
	int64_t t_connect;	/* this connection's connect() started */
	int64_t t_progress;	/* last protocol progress (one-way TCP: the
				   server's kernel took more of our bytes) */
	uint64_t conn_bytes;	/* one-way: bytes sent on this connection */
	uint64_t conn_acked;	/* one-way TCP: of them, acknowledged */
	int64_t t_timer;	/* when on_timer() must run, or NEVER */
	char head[REFUSAL_MAX]; /* first bytes from the server */
	/* Its server, sh->addrs[id % naddrs]: --hosts round robin. */
	const struct net_addr *server;
	uint64_t conn_first_seq; /* the first message of this connection */
	uint32_t reconnects;	 /* --reconnect: made so far */
};

/* Run-wide, read-only once the workers start, except the atomics. */
struct shared {
	const struct fcli_opts *o;
	int64_t t0;	     /* start */
	int64_t t_end;	     /* -d end, or NEVER */
	int64_t t_deadline;  /* --max-time */
	int64_t interval_ns; /* per client, for --rate; 0: none */
	int64_t think_ns;
	int64_t timeout_ns; /* --timeout */
	int64_t slow_ns;    /* connect and close wait */
	atomic_int stop;    /* copy of stop_requested for the workers */
	atomic_uint pending_connects; /* --hold: clients not yet connected */
	atomic_llong hold_until;      /* --hold: NEVER until all connected */
	struct net_addr addrs[FCLI_HOSTS_MAX]; /* the servers (--hosts) */
	unsigned naddrs;
};

struct worker;

/*
 * A mode is what a connected client does, as wrk's per-readiness
 * callbacks: chosen once per run (init_worker), so that no o->echo or
 * o->udp test is spread through the state machine.  The engine itself
 * runs the states every mode shares (S_WAIT, S_CONNECTING, S_DRAIN,
 * S_DONE) and hands the others to the mode:
 *   begin     the connection is up: start the work
 *   data      bytes (TCP, after the refusal check) or one datagram
 *             (UDP) arrived; NULL: ignored
 *   writable  EPOLLOUT
 *   timer     the client's t_timer came; NULL: none is ever set
 *   end       -d passed: send nothing new, finish what is under way
 */
struct mode {
	const char *name;
	int replies; /* waits for answers: TCP_NODELAY, first_reply_us */
	void (*begin)(struct worker *w, struct client *c, int64_t now);
	void (*data)(struct worker *w, struct client *c, const char *p,
		     size_t len, int64_t now);
	void (*writable)(struct worker *w, struct client *c, int64_t now);
	void (*timer)(struct worker *w, struct client *c, int64_t now);
	void (*end)(struct worker *w, struct client *c, int64_t now);
};

/* How bytes travel: a connection (its connect to wait for, its first
 * bytes a possible refusal line, its end a close handshake) or
 * datagrams. */
struct transport {
	int socktype;
	int connects; /* 1: wait for connect() to complete */
	void (*readable)(struct worker *w, struct client *c);
};

struct worker {
	pthread_t tid;
	const struct mode *mode;
	const struct transport *tp;
	int epfd;
	struct shared *sh;
	const struct fcli_opts *o;
	struct client *clients;
	uint32_t nclients;
	uint32_t active;    /* clients not S_DONE */
	uint32_t open;	    /* sockets open */
	int ended;	    /* -d end handled */
	int64_t next_timer; /* earliest t_timer (or global deadline) */
	int64_t last_scan;
	int64_t t_finish;
	char *txbuf;	     /* IOBUF_SIZE: messages being sent */
	char *rxbuf;	     /* IOBUF_SIZE: bytes being received */
	char *expbuf;	     /* o->size: the reply expected */
	int64_t *times;	     /* echo: the clients' slots (client.times) */
	uint32_t exp_client; /* expbuf holds message (exp_client, exp_seq) */
	uint64_t exp_seq;
	int exp_valid;
	struct eng_result res;
	atomic_ullong pub_msgs; /* published for the progress display */
	atomic_ullong pub_open;
	atomic_int finished;
	/* Interval histograms (--hdr-log): the worker records into
	 * ivl_hist[phase & 1] for the last phase it acknowledged; the
	 * caller's thread reads and empties the other half only after
	 * the worker has acknowledged the switch (a two-phase swap, as
	 * HdrHistogram's Recorder does).  ivl is NULL when not logging. */
	struct hist *ivl;
	unsigned ivl_seen; /* worker's copy of the phase */
	atomic_uint ivl_phase;
	atomic_uint ivl_ack;
	struct hist ivl_hist[2];
};

/* Set from a signal handler, so it can only be a volatile sig_atomic_t;
 * eng_run()'s thread copies it into shared.stop for the workers. */
static volatile sig_atomic_t stop_requested;

void eng_request_stop(void)
{
	stop_requested = 1;
}

/* For the report only: every interval is timed by CLOCK_MONOTONIC. */
static int64_t wall_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* ---- small helpers ---- */

static void set_timer(struct worker *w, struct client *c, int64_t t)
{
	c->t_timer = t;
	if (t < w->next_timer)
		w->next_timer = t;
}

/* Changes the client's epoll interest; a no-op when unchanged. */
static int set_want(struct worker *w, struct client *c, uint32_t want)
{
	struct epoll_event ev;

	if (c->want == want)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		return -1;
	c->want = want;
	return 0;
}

static void close_socket(struct worker *w, struct client *c)
{
	if (c->fd == -1)
		return;
	close(c->fd); /* also removes it from the epoll set */
	c->fd = -1;
	c->want = 0;
	w->open--;
}

static void client_done(struct worker *w, struct client *c, int ok)
{
	close_socket(w, c);
	c->state = S_DONE;
	c->t_timer = NEVER;
	w->active--;
	if (ok)
		w->res.clients_done++;
}

/* --hold bookkeeping: the last client to connect (or fail) starts the
 * hold for everybody. */
static void hold_connect_settled(struct worker *w, int64_t now)
{
	if (w->o->hold <= 0)
		return;
	if (atomic_fetch_sub(&w->sh->pending_connects, 1) == 1)
		atomic_store(&w->sh->hold_until,
			     now + (int64_t)(w->o->hold * NS_PER_SEC));
}

static void start_client(struct worker *w, struct client *c, int64_t now);

/* The wait before reconnect number n (1, 2, ...): 10 ms doubling up to
 * a second - soon enough to move to another server, slow enough not to
 * spin against a balancer that has no server left. */
static int64_t reconnect_delay(uint32_t n)
{
	int64_t d = 10 * NS_PER_MS;

	while (--n > 0 && d < NS_PER_SEC)
		d *= 2;
	return d < NS_PER_SEC ? d : NS_PER_SEC;
}

/* The server ended the connection: closed it or reset it. */
static int server_ended(enum failure f, int err)
{
	return f == F_EARLY_CLOSE ||
	       (f == F_ERRNO &&
		(err == ECONNRESET || err == EPIPE || err == ENOTCONN));
}

/*
 * --reconnect: a one-way TCP connection the server ended (closed, reset)
 * while the client still had messages to send is replaced by a new one
 * to the same address (a balancer's: another server behind it), at most
 * --reconnect times per client.  The new connection goes on from the
 * message that was being written: a message whose bytes were only
 * partly sent is sent again whole (the server discards an unfinished
 * line it was cut from), the whole ones are not sent again - one-way
 * mode has no acknowledgement, so resending any could log a message
 * twice.  The whole messages written on the ended connection are "in
 * doubt": the server logged them, or they were lost in flight (in the
 * balancer, in the kernels); only the logs can tell (--verify-log over
 * every node's log: missing <= in doubt).  A connection reset after its
 * client wrote everything (waiting for the server's close) needs no
 * new one: its messages are in doubt, the client is done.  1 when the
 * failure was taken so, 0 when it stands.
 */
static int try_reconnect(struct worker *w, struct client *c, enum failure f,
			 int err)
{
	if (w->o->reconnect == 0 ||
	    (c->state != S_SENDING && c->state != S_DRAIN) ||
	    !server_ended(f, err))
		return 0;
	if (c->seq >= c->limit && c->out_off == 0) {
		w->res.msgs_in_doubt += c->seq - c->conn_first_seq;
		client_done(w, c, 1);
		return 1;
	}
	if (c->reconnects >= w->o->reconnect || w->ended ||
	    atomic_load_explicit(&w->sh->stop, memory_order_relaxed))
		return 0;
	w->res.reconnects++;
	w->res.msgs_in_doubt += c->seq - c->conn_first_seq;
	c->reconnects++;
	c->out_off = 0;
	c->blocked = 0;
	close_socket(w, c);
	c->state = S_WAIT;
	set_timer(w, c, now_ns() + reconnect_delay(c->reconnects));
	return 1;
}

static void client_fail(struct worker *w, struct client *c, enum failure f,
			int err)
{
	struct eng_result *r = &w->res;

	if (try_reconnect(w, c, f, err))
		return;

	switch (f) {
	case F_ERRNO:
		r->err_errno[err > 0 && err < ENG_ERRNO_SLOTS
				     ? err
				     : ENG_ERRNO_SLOTS - 1]++;
		r->err_io++;
		r->conn_failed++;
		break;
	case F_REFUSED:
		r->err_refused++;
		r->conn_failed++;
		break;
	case F_EARLY_CLOSE:
		r->err_early_close++;
		r->conn_failed++;
		break;
	case F_BAD_REPLY:
		r->err_bad_reply++;
		break;
	case F_TIMEOUT:
		r->err_timeout++;
		break;
	case F_MAX_TIME:
		r->err_max_time++;
		break;
	case F_INTERRUPTED:
		r->err_interrupted++;
		break;
	}
	if (c->state == S_CONNECTING || (c->state == S_WAIT && w->o->hold > 0))
		hold_connect_settled(w, now_ns());
	client_done(w, c, 0);
}

/* When message k may be sent, by --rate and --think. */
static int64_t send_time(const struct worker *w, const struct client *c,
			 uint64_t k)
{
	int64_t t = 0, iv = w->sh->interval_ns;

	if (iv > 0) {
		if (k > (uint64_t)((NEVER - c->t_first) / iv))
			return NEVER;
		t = c->t_first + (int64_t)k * iv;
	}
	if (w->sh->think_ns > 0 && k > 0 && c->t_last + w->sh->think_ns > t)
		t = c->t_last + w->sh->think_ns;
	return t;
}

/* A message's size on the wire: -s, or with --octet-count its count
 * prefix plus the message without its '\n'. */
static size_t wire_size(const struct fcli_opts *o)
{
	return o->octet_count ? fmsg_octet_size(o->size) : o->size;
}

/* Fills buf with message seq of client c as sent: generated (and
 * octet-counted with --octet-count) or --payload. */
static void make_message(const struct worker *w, const struct client *c,
			 uint64_t seq, char *buf)
{
	const struct fcli_opts *o = w->o;

	if (o->octet_count) {
		(void)fmsg_format_octet(buf, o->size, c->id, seq);
		return;
	}
	if (o->payload != NULL) {
		memcpy(buf, o->payload, o->size - 1);
		buf[o->size - 1] = '\n';
		return;
	}
	/* Cannot fail: fcli checked that -s holds every header we make. */
	(void)fmsg_format(buf, o->size, c->id, seq);
}

/* The expected echo of message seq, cached across calls. */
static const char *expected(struct worker *w, const struct client *c)
{
	if (!w->exp_valid || w->exp_client != c->id || w->exp_seq != c->seq) {
		make_message(w, c, c->seq, w->expbuf);
		w->exp_client = c->id;
		w->exp_seq = c->seq;
		w->exp_valid = 1;
	}
	return w->expbuf;
}

/* send() that retries EINTR; MSG_NOSIGNAL because a closed peer must be
 * an EPIPE we count, not a SIGPIPE that kills flood. */
static ssize_t send_some(int fd, const char *buf, size_t len)
{
	ssize_t n;

	do {
		n = send(fd, buf, len, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return n;
}

static ssize_t recv_some(int fd, char *buf, size_t len)
{
	ssize_t n;

	do {
		n = recv(fd, buf, len, 0);
	} while (n == -1 && errno == EINTR);
	return n;
}

static int would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

static void tcp_send_failed(struct worker *w, struct client *c, int err);

/* ---- TCP connection end ---- */

/* SHUT_WR tells the server we are done; its close then proves that it
 * read everything (and puts TIME_WAIT on its side, not ours). */
static void start_drain(struct worker *w, struct client *c, int64_t now)
{
	if (shutdown(c->fd, SHUT_WR) == -1 || set_want(w, c, EPOLLIN) == -1) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	c->state = S_DRAIN;
	set_timer(w, c, now + w->sh->slow_ns);
}

/* The server closed after our SHUT_WR: the connection is complete. */
static void drained(struct worker *w, struct client *c, int64_t now)
{
	close_socket(w, c);
	if (w->o->churn && c->seq < c->limit) {
		int64_t t = send_time(w, c, c->seq);

		c->state = S_WAIT;
		if (t <= now)
			start_client(w, c, now);
		else
			set_timer(w, c, t);
		return;
	}
	client_done(w, c, 1);
}

/* ---- one-way mode ---- */

/* How many messages c may start now under --rate/--think. */
static uint64_t oneway_credit(const struct worker *w, const struct client *c,
			      uint64_t limit, int64_t now)
{
	uint64_t left = limit - c->seq, due;

	if (w->sh->think_ns > 0) {
		if (c->seq > 0 && now < c->t_last + w->sh->think_ns)
			return 0;
		left = left < 1 ? left : 1;
	}
	if (w->sh->interval_ns > 0) {
		if (now < c->t_first)
			return 0;
		due = (uint64_t)((now - c->t_first) / w->sh->interval_ns) + 1;
		if (due <= c->seq)
			return 0;
		if (due - c->seq < left)
			left = due - c->seq;
	}
	return left;
}

/* Fills txbuf with the rest of message seq (from out_off) and as many
 * whole messages after it as credit and the buffer allow. */
static size_t oneway_fill(struct worker *w, const struct client *c,
			  uint64_t credit)
{
	size_t size = wire_size(w->o), len = 0;
	uint64_t seq = c->seq, end = c->seq + credit;

	if (c->out_off > 0) {
		make_message(w, c, seq, w->expbuf);
		w->exp_valid = 0; /* expbuf no longer holds a reply */
		len = size - c->out_off;
		memcpy(w->txbuf, w->expbuf + c->out_off, len);
		seq++;
	}
	if (w->o->payload != NULL || w->o->octet_count) {
		for (; seq < end && IOBUF_SIZE - len >= size;
		     seq++, len += size)
			make_message(w, c, seq, w->txbuf + len);
		return len;
	}
	for (; seq < end && IOBUF_SIZE - len >= size; seq++, len += size)
		(void)fmsg_format(w->txbuf + len, size, c->id, seq);
	return len;
}

static void oneway_sent(struct worker *w, struct client *c, size_t n,
			int64_t now)
{
	size_t size = wire_size(w->o);
	uint64_t total = c->out_off + (uint64_t)n, whole = total / size;

	c->seq += whole;
	c->out_off = (uint32_t)(total % size);
	c->conn_bytes += n;
	w->res.bytes_sent += n;
	w->res.msgs_sent += whole;
	if (whole > 0)
		c->t_last = now;
}

/*
 * One-way TCP: whether the server has taken more of our bytes since
 * the last look - its kernel acknowledged them: what we sent less what
 * our send queue still holds (SIOCOUTQ).  A send() that succeeds is no
 * proof: the kernel grows a socket's send buffer to megabytes, so a
 * server that reads nothing still takes a burst now and then, and
 * "no progress" would never come.
 */
static int oneway_acked_more(struct client *c)
{
	int queued;
	uint64_t acked;

	if (ioctl(c->fd, SIOCOUTQ, &queued) == -1 || queued < 0)
		return 0;
	acked = c->conn_bytes - (uint64_t)queued;
	if (acked <= c->conn_acked)
		return 0;
	c->conn_acked = acked;
	return 1;
}

/* Sends what may be sent now; then waits for EPOLLOUT, for the pacing
 * timer, or starts the close when everything is out. */
static void oneway_send(struct worker *w, struct client *c, int64_t now)
{
	uint64_t limit = c->conn_limit, credit;
	size_t len;
	ssize_t n;
	int round;

	for (round = 0;; round++) {
		if (c->seq >= limit && c->out_off == 0) {
			start_drain(w, c, now);
			return;
		}
		credit = c->out_off > 0 ? 1 : oneway_credit(w, c, limit, now);
		if (credit == 0)
			break;
		if (round == TCP_BURST) {
			/* More to send: let the others have a turn.  The
			 * last send may have filled the socket buffer, and
			 * a server that never reads never makes it
			 * writable again: the stall timer bounds the wait
			 * (oneway_timer). */
			c->blocked = 1;
			if (set_want(w, c, EPOLLIN | EPOLLOUT) == -1)
				client_fail(w, c, F_ERRNO, errno);
			else
				set_timer(w, c, c->t_progress + w->sh->slow_ns);
			return;
		}
		len = oneway_fill(w, c, credit);
		n = send_some(c->fd, w->txbuf, len);
		if (n == -1 && would_block(errno)) {
			c->blocked = 1;
			if (set_want(w, c, EPOLLIN | EPOLLOUT) == -1)
				break;
			set_timer(w, c, c->t_progress + w->sh->slow_ns);
			return;
		}
		if (n == -1) {
			tcp_send_failed(w, c, errno);
			return;
		}
		c->blocked = 0;
		oneway_sent(w, c, (size_t)n, now);
	}
	/* Paced: sleep until the next message is due. */
	if (set_want(w, c, EPOLLIN) == -1) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	set_timer(w, c, send_time(w, c, c->seq));
}

/* UDP one-way: one datagram per message. */
static void udp_oneway_send(struct worker *w, struct client *c, int64_t now)
{
	uint64_t credit = oneway_credit(w, c, c->limit, now);
	size_t size = w->o->size;
	ssize_t n;

	if (credit > UDP_BURST)
		credit = UDP_BURST;
	while (credit > 0) {
		make_message(w, c, c->seq, w->txbuf);
		n = send_some(c->fd, w->txbuf, size);
		if (n == -1 && would_block(errno)) {
			if (set_want(w, c, EPOLLIN | EPOLLOUT) == -1)
				client_fail(w, c, F_ERRNO, errno);
			return;
		}
		if (n == -1) {
			client_fail(w, c, F_ERRNO, errno);
			return;
		}
		oneway_sent(w, c, (size_t)n, now);
		credit--;
	}
	if (c->seq >= c->limit) {
		client_done(w, c, 1); /* UDP has no "all received" */
		return;
	}
	if (oneway_credit(w, c, c->limit, now) > 0) {
		if (set_want(w, c, EPOLLIN | EPOLLOUT) == -1)
			client_fail(w, c, F_ERRNO, errno);
		return;
	}
	if (set_want(w, c, EPOLLIN) == -1) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	set_timer(w, c, send_time(w, c, c->seq));
}

/* ---- echo mode ---- */

/*
 * Coordinated omission.  Under --rate, message k has a slot in the
 * schedule, and a server that stalls holds back the messages whose
 * slots pass while it stalls: timed from their sends, a one-second
 * stall looks like one slow message.  So, as wrk2 does, rtt_us runs
 * from the slot - but only for waits the server caused, not for flood's
 * own timer running late on a busy machine.  Message k would ideally
 * be sent at I(k) = max(slot(k), R(k - P)), where R(j) = I(j) +
 * service(j) is when message j would have been answered had it been
 * sent at I(j) (the window, -P, must have room), and answered after
 * service(k), the time from its actual send to its reply.  Its latency
 * is I(k) + service(k) - slot(k): the wait the schedule imposed plus
 * the service time.  A lost UDP reply's service is its timeout.  Each
 * window slot keeps I(k), then R(k) once answered, and the send time.
 * service_us is service(k) itself; --no-correction makes rtt_us that.
 */
static int64_t *slot_of(const struct worker *w, const struct client *c,
			uint64_t k)
{
	return c->times + 2 * (k % w->o->pipeline);
}

static int corrected(const struct worker *w)
{
	return w->sh->interval_ns > 0 && !w->o->no_correction;
}

/* Message k's slot in the --rate schedule. */
static int64_t rate_slot(const struct worker *w, const struct client *c,
			 uint64_t k)
{
	return c->t_first + (int64_t)k * w->sh->interval_ns;
}

/* Message k leaves now: I(k) from R(k - P), kept in the same slot. */
static void stamp(const struct worker *w, const struct client *c, uint64_t k,
		  int64_t sent)
{
	int64_t *t = slot_of(w, c, k), due;

	t[1] = sent;
	if (!corrected(w))
		return;
	due = rate_slot(w, c, k);
	if (t[0] < due)
		t[0] = due;
}

/* Message k's reply (or its loss) came at now: service(k) and, for
 * the message that takes this slot next, R(k). */
static uint64_t service_of(const struct worker *w, const struct client *c,
			   uint64_t k, int64_t now)
{
	int64_t *t = slot_of(w, c, k), service = now - t[1];

	t[0] += service;
	return (uint64_t)service;
}

/* When the client must act next: its oldest reply's timeout, or the
 * next message's time when the window and the limit allow one. */
static int64_t echo_wake(const struct worker *w, const struct client *c)
{
	int64_t t = NEVER, due;

	if (c->next > c->seq)
		t = c->t_progress + w->sh->timeout_ns;
	if (c->next < c->conn_limit && c->next - c->seq < w->o->pipeline) {
		due = send_time(w, c, c->next);
		if (due < t)
			t = due;
	}
	return t;
}

/* Fills txbuf with the rest of the partly sent message, then whole
 * messages while the window, the limit, the schedule and the buffer
 * allow; returns the length and sets *end past the last message. */
static size_t echo_fill(struct worker *w, const struct client *c, int64_t now,
			uint64_t *end)
{
	uint64_t limit = c->conn_limit, k = c->next;
	size_t size = w->o->size, len = 0;

	if (c->out_off > 0) {
		make_message(w, c, k, w->expbuf);
		w->exp_valid = 0; /* expbuf no longer holds a reply */
		len = size - c->out_off;
		memcpy(w->txbuf, w->expbuf + c->out_off, len);
		k++;
	}
	for (; k < limit && k - c->seq < w->o->pipeline &&
	       IOBUF_SIZE - len >= size && send_time(w, c, k) <= now;
	     k++, len += size)
		make_message(w, c, k, w->txbuf + len);
	*end = k;
	return len;
}

/* TCP echo: sends what may go now, then waits for a reply, EPOLLOUT or
 * the next message's time. */
static void echo_pump(struct worker *w, struct client *c)
{
	size_t size = w->o->size, len;
	uint64_t end, k, total;
	int64_t now = now_ns();
	ssize_t n;

	for (;;) {
		len = echo_fill(w, c, now, &end);
		if (len == 0)
			break;
		/* One clock read for one send(): the messages leave
		 * together. */
		now = now_ns();
		for (k = c->next + (c->out_off > 0); k < end; k++)
			stamp(w, c, k, now);
		n = send_some(c->fd, w->txbuf, len);
		if (n == -1 && !would_block(errno)) {
			tcp_send_failed(w, c, errno);
			return;
		}
		if (n > 0) {
			total = c->out_off + (uint64_t)n;
			c->next += total / size;
			c->out_off = (uint32_t)(total % size);
			w->res.msgs_sent += total / size;
			w->res.bytes_sent += (uint64_t)n;
			c->t_progress = now;
		}
		if (n < (ssize_t)len) {
			c->state = S_AWAIT;
			if (set_want(w, c, EPOLLIN | EPOLLOUT) == -1)
				client_fail(w, c, F_ERRNO, errno);
			else
				set_timer(w, c,
					  c->t_progress + w->sh->timeout_ns);
			return;
		}
	}
	c->state = c->next > c->seq ? S_AWAIT : S_PAUSE;
	if (set_want(w, c, EPOLLIN) == -1) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	set_timer(w, c, echo_wake(w, c));
}

/* UDP echo: one datagram, one reply or its timeout, then the next. */
static void udp_echo_send(struct worker *w, struct client *c)
{
	int64_t now;
	ssize_t n;

	c->state = S_AWAIT;
	c->next = c->seq + 1;
	make_message(w, c, c->seq, w->txbuf);
	now = now_ns();
	stamp(w, c, c->seq, now);
	c->t_progress = now;
	set_timer(w, c, now + w->sh->timeout_ns);
	n = send_some(c->fd, w->txbuf, w->o->size);
	if (n == -1 && !would_block(errno)) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	/* A datagram that would block is lost like any other: the
	 * timeout counts it. */
	if (n > 0) {
		w->res.msgs_sent++;
		w->res.bytes_sent += (uint64_t)n;
	}
	if (set_want(w, c, EPOLLIN) == -1)
		client_fail(w, c, F_ERRNO, errno);
}

/* After the last reply this client or connection waited for. */
static void echo_finished(struct worker *w, struct client *c, int64_t now)
{
	if (w->o->churn)
		start_drain(w, c, now);
	else
		client_done(w, c, 1);
}

/* UDP: the reply to seq came, or its timeout passed. */
static void udp_echo_next(struct worker *w, struct client *c, int64_t now)
{
	int64_t t;

	c->seq++;
	if (c->seq >= c->limit) {
		client_done(w, c, 1);
		return;
	}
	t = send_time(w, c, c->seq);
	if (t <= now) {
		udp_echo_send(w, c);
		return;
	}
	c->state = S_PAUSE;
	set_timer(w, c, t);
}

/* Message seq was answered at now. */
static void echo_answered(struct worker *w, struct client *c, int64_t now)
{
	int64_t ideal = slot_of(w, c, c->seq)[0];
	uint64_t service = service_of(w, c, c->seq, now), rtt = service;

	if (corrected(w))
		rtt = (uint64_t)(ideal - rate_slot(w, c, c->seq)) + service;
	w->res.msgs_answered++;
	hist_record(&w->res.rtt_us, rtt / 1000);
	if (w->ivl != NULL)
		hist_record(w->ivl, rtt / 1000);
	hist_record(&w->res.service_us, service / 1000);
	/* The wait a user of this connection sees: from asking to connect
	 * (so a full listen backlog and SYN retries count) to the first
	 * answer, whichever message it answers. */
	if (c->first_pending) {
		c->first_pending = 0;
		hist_record(&w->res.first_reply_us,
			    (uint64_t)(now - c->t_connect) / 1000);
	}
	c->t_last = now;
	c->t_progress = now;
	c->rx_off = 0;
}

/* The length of the reply at p: the rest of message seq's echo, or
 * with --reply-any-line up to a '\n'; 0 when incomplete (and taken),
 * -1 when wrong. */
static ssize_t echo_match(struct worker *w, struct client *c, const char *p,
			  size_t len)
{
	size_t size = w->o->size, k;
	const char *nl;

	if (w->o->reply_any_line) {
		nl = memchr(p, '\n', len);
		return nl == NULL ? 0 : (ssize_t)(nl - p) + 1;
	}
	k = size - c->rx_off < len ? size - c->rx_off : len;
	if (memcmp(p, expected(w, c) + c->rx_off, k) != 0)
		return -1;
	c->rx_off += (uint32_t)k;
	return c->rx_off < size ? 0 : (ssize_t)k;
}

/* Bytes from a TCP echo server: the echoes of the messages in flight,
 * in order (or with --reply-any-line, one line each). */
static void echo_input(struct worker *w, struct client *c, const char *p,
		       size_t len, int64_t now)
{
	ssize_t k;

	while (len > 0) {
		/* Our next message goes out after this recv(), so bytes
		 * beyond the messages in flight answer nothing. */
		if (c->next == c->seq) {
			client_fail(w, c, F_BAD_REPLY, 0);
			return;
		}
		k = echo_match(w, c, p, len);
		if (k == -1) {
			client_fail(w, c, F_BAD_REPLY, 0);
			return;
		}
		c->t_progress = now;
		if (k == 0)
			break;
		echo_answered(w, c, now);
		c->seq++;
		p += k;
		len -= (size_t)k;
	}
	if (c->seq >= c->conn_limit && c->next == c->seq) {
		echo_finished(w, c, now);
		return;
	}
	echo_pump(w, c);
}

/* ---- TCP input ---- */

/* 1: head begins with a refusal line, 0: could still become one, -1:
 * cannot. */
static int refusal_match(const char *head, size_t len)
{
	int could = 0;

	for (size_t i = 0; i < sizeof(refusals) / sizeof(*refusals); i++) {
		size_t n = strlen(refusals[i]);

		if (memcmp(head, refusals[i], len < n ? len : n) != 0)
			continue;
		if (len >= n)
			return 1;
		could = 1;
	}
	return could ? 0 : -1;
}

static void tcp_data(struct worker *w, struct client *c, const char *p,
		     size_t len, int64_t now)
{
	/* One-way, drain and hold: what the server says is not ours to
	 * check, except the refusal handled by the caller. */
	if (w->mode->data != NULL && c->state != S_DRAIN)
		w->mode->data(w, c, p, len, now);
}

/* Appends up to REFUSAL_MAX bytes of p to the connection's head; returns
 * how many it took and sets *match as refusal_match() does. */
static size_t head_collect(struct client *c, const char *p, size_t len,
			   int *match)
{
	size_t take = REFUSAL_MAX - c->head_len;

	if (take > len)
		take = len;
	memcpy(c->head + c->head_len, p, take);
	c->head_len += (uint8_t)take;
	*match = refusal_match(c->head, c->head_len);
	return take;
}

/* Collects the connection's first bytes until they are, or cannot be,
 * a refusal line; then hands everything on to tcp_data(). */
static void tcp_input(struct worker *w, struct client *c, const char *p,
		      size_t len, int64_t now)
{
	size_t take;
	int m;

	if (c->head_state == HEAD_DONE) {
		tcp_data(w, c, p, len, now);
		return;
	}
	take = head_collect(c, p, len, &m);
	if (m == 1) {
		client_fail(w, c, F_REFUSED, 0);
		return;
	}
	if (m == 0)
		return;
	c->head_state = HEAD_DONE;
	/* The head bytes came first; p + take follows them.  Echo checks
	 * fail on the first bad byte, so the head alone decides whether
	 * the client is still alive for the rest. */
	tcp_data(w, c, c->head, c->head_len, now);
	if (c->state != S_DONE && take < len)
		tcp_data(w, c, p + take, len - take, now);
}

/* A send failed.  A server that refuses us writes "server full" and
 * closes, and our sends may hit the closed socket before we read that
 * line: read it now, so the failure is counted for what it is. */
static void tcp_send_failed(struct worker *w, struct client *c, int err)
{
	ssize_t n;
	int m;

	if ((err == EPIPE || err == ECONNRESET) && c->head_state == HEAD_OPEN) {
		n = recv_some(c->fd, w->rxbuf, IOBUF_SIZE);
		if (n > 0) {
			w->res.bytes_received += (uint64_t)n;
			(void)head_collect(c, w->rxbuf, (size_t)n, &m);
			if (m == 1) {
				client_fail(w, c, F_REFUSED, 0);
				return;
			}
		}
	}
	client_fail(w, c, F_ERRNO, err);
}

static void tcp_eof(struct worker *w, struct client *c, int64_t now)
{
	if (c->head_state == HEAD_OPEN && c->head_len > 0) {
		client_fail(w, c, F_EARLY_CLOSE, 0); /* a partial refusal? */
		return;
	}
	if (c->state == S_DRAIN) {
		drained(w, c, now);
		return;
	}
	client_fail(w, c, F_EARLY_CLOSE, 0);
}

static void tcp_readable(struct worker *w, struct client *c)
{
	ssize_t n = recv_some(c->fd, w->rxbuf, IOBUF_SIZE);
	int64_t now = now_ns(); /* the replies' arrival */

	if (n == -1) {
		if (!would_block(errno))
			client_fail(w, c, F_ERRNO, errno);
		return;
	}
	if (n == 0) {
		tcp_eof(w, c, now);
		return;
	}
	w->res.bytes_received += (uint64_t)n;
	tcp_input(w, c, w->rxbuf, (size_t)n, now);
}

/* ---- UDP input ---- */

/* UDP echo's data: the reply to seq, a late one, or a bad one. */
static void udp_echo_data(struct worker *w, struct client *c, const char *p,
			  size_t len, int64_t now)
{
	size_t size = w->o->size;
	uint32_t client;
	uint64_t seq;

	if (c->state == S_AWAIT &&
	    (w->o->reply_any_line ||
	     (len == size && memcmp(p, expected(w, c), size) == 0))) {
		echo_answered(w, c, now);
		udp_echo_next(w, c, now);
		return;
	}
	/* A reply to a message we already gave up on is late, not bad. */
	if (w->o->payload == NULL && len == size && p[len - 1] == '\n' &&
	    fmsg_parse(p, len - 1, &client, &seq) == 0 && client == c->id &&
	    seq < c->seq) {
		w->res.udp_late++;
		return;
	}
	if (w->o->payload != NULL && c->state != S_AWAIT) {
		w->res.udp_late++; /* cannot tell: assume late */
		return;
	}
	client_fail(w, c, F_BAD_REPLY, 0);
}

static void udp_readable(struct worker *w, struct client *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < UDP_BURST && c->state != S_DONE; i++) {
		n = recv_some(c->fd, w->rxbuf, IOBUF_SIZE);
		if (n == -1) {
			/* ECONNREFUSED: an ICMP "port unreachable" for an
			 * earlier datagram. */
			if (!would_block(errno))
				client_fail(w, c, F_ERRNO, errno);
			return;
		}
		w->res.bytes_received += (uint64_t)n;
		/* Each datagram's own arrival time: the reply to the message
		 * sent in answer to the previous one may already be here.
		 * One-way: replies are not ours to judge. */
		if (w->mode->data != NULL)
			w->mode->data(w, c, w->rxbuf, (size_t)n, now_ns());
	}
}

/* ---- connecting ---- */

/* ---- the modes' remaining hooks ---- */

/* The first message of an echo connection waits for its time. */
static int echo_wait_first(struct worker *w, struct client *c, int64_t now)
{
	int64_t t = send_time(w, c, c->seq);

	c->next = c->seq;
	c->rx_off = 0;
	if (t <= now)
		return 0;
	c->state = S_PAUSE;
	if (set_want(w, c, EPOLLIN) == -1) {
		client_fail(w, c, F_ERRNO, errno);
		return 1;
	}
	set_timer(w, c, t);
	return 1;
}

static void echo_begin(struct worker *w, struct client *c, int64_t now)
{
	if (!echo_wait_first(w, c, now))
		echo_pump(w, c);
}

static void udp_echo_begin(struct worker *w, struct client *c, int64_t now)
{
	if (!echo_wait_first(w, c, now))
		udp_echo_send(w, c);
}

/* Echo's data over TCP: replies while messages are (or were) in
 * flight. */
static void echo_data(struct worker *w, struct client *c, const char *p,
		      size_t len, int64_t now)
{
	if (c->state == S_AWAIT || c->state == S_PAUSE)
		echo_input(w, c, p, len, now);
}

static void echo_writable(struct worker *w, struct client *c, int64_t now)
{
	(void)now;
	echo_pump(w, c);
}

static void echo_timer(struct worker *w, struct client *c, int64_t now)
{
	if (c->state == S_AWAIT && now >= c->t_progress + w->sh->timeout_ns) {
		client_fail(w, c, F_TIMEOUT, 0);
		return;
	}
	echo_pump(w, c); /* the next message is due */
}

static void udp_echo_timer(struct worker *w, struct client *c, int64_t now)
{
	if (c->state == S_PAUSE) {
		udp_echo_send(w, c);
		return;
	}
	w->res.udp_lost++;
	(void)service_of(w, c, c->seq, now); /* R(seq) */
	udp_echo_next(w, c, now);
}

/* -d passed: no new message; the ones in flight (and the rest of one
 * partly sent) are still answered. */
static void echo_end(struct worker *w, struct client *c, int64_t now)
{
	uint64_t last = c->next + (c->out_off > 0);

	(void)now;
	if (c->state == S_PAUSE) {
		client_done(w, c, 1);
		return;
	}
	if (c->limit > last)
		c->limit = last;
	if (c->conn_limit > last)
		c->conn_limit = last;
}

static void oneway_begin(struct worker *w, struct client *c, int64_t now)
{
	c->state = S_SENDING;
	oneway_send(w, c, now);
}

static void udp_oneway_begin(struct worker *w, struct client *c, int64_t now)
{
	c->state = S_SENDING;
	udp_oneway_send(w, c, now);
}

static void oneway_writable(struct worker *w, struct client *c, int64_t now)
{
	c->blocked = 0;
	oneway_send(w, c, now);
}

/* Paced (--rate, --think): the next message is due.  Waiting for
 * EPOLLOUT (blocked): slow_ns after the last progress, the server must
 * have taken more of our bytes, else the client fails - a server that
 * accepted and stopped reading would otherwise hold it until
 * --max-time. */
static void oneway_timer(struct worker *w, struct client *c, int64_t now)
{
	if (!c->blocked) {
		oneway_send(w, c, now);
		return;
	}
	if (now - c->t_progress < w->sh->slow_ns) {
		set_timer(w, c, c->t_progress + w->sh->slow_ns);
		return;
	}
	if (!oneway_acked_more(c)) {
		client_fail(w, c, F_TIMEOUT, 0);
		return;
	}
	c->t_progress = now;
	c->blocked = 0;
	oneway_send(w, c, now); /* sends, or waits again (re-armed) */
}

/* -d passed: the message partly sent is finished, then the close. */
static int oneway_trim(struct client *c)
{
	uint64_t last = c->seq + (c->out_off > 0);

	if (c->limit > last)
		c->limit = last;
	if (c->conn_limit > last)
		c->conn_limit = last;
	return c->seq >= c->limit;
}

static void oneway_end(struct worker *w, struct client *c, int64_t now)
{
	if (oneway_trim(c))
		start_drain(w, c, now);
}

static void udp_oneway_end(struct worker *w, struct client *c, int64_t now)
{
	(void)now;
	if (oneway_trim(c))
		client_done(w, c, 1); /* UDP has no "all received" */
}

static void hold_begin(struct worker *w, struct client *c, int64_t now)
{
	c->state = S_HOLD;
	hold_connect_settled(w, now);
	if (set_want(w, c, EPOLLIN) == -1)
		client_fail(w, c, F_ERRNO, errno);
}

/* Nothing to write (or not yet): stop asking. */
static void idle_writable(struct worker *w, struct client *c, int64_t now)
{
	(void)now;
	if (set_want(w, c, EPOLLIN) == -1)
		client_fail(w, c, F_ERRNO, errno);
}

static const struct mode mode_oneway = {
	.name = "one-way",
	.begin = oneway_begin,
	.writable = oneway_writable,
	.timer = oneway_timer,
	.end = oneway_end,
};
static const struct mode mode_udp_oneway = {
	.name = "one-way",
	.begin = udp_oneway_begin,
	.writable = udp_oneway_send,
	.timer = udp_oneway_send,
	.end = udp_oneway_end,
};
static const struct mode mode_echo = {
	.name = "echo",
	.replies = 1,
	.begin = echo_begin,
	.data = echo_data,
	.writable = echo_writable,
	.timer = echo_timer,
	.end = echo_end,
};
static const struct mode mode_udp_echo = {
	.name = "echo",
	.replies = 1,
	.begin = udp_echo_begin,
	.data = udp_echo_data,
	.writable = idle_writable,
	.timer = udp_echo_timer,
	.end = echo_end,
};
static const struct mode mode_hold = {
	.name = "hold",
	.begin = hold_begin,
	.writable = idle_writable,
};

static const struct transport transport_tcp = {SOCK_STREAM, 1, tcp_readable};
static const struct transport transport_udp = {SOCK_DGRAM, 0, udp_readable};

static const struct mode *mode_of(const struct fcli_opts *o)
{
	if (o->hold > 0)
		return &mode_hold;
	if (o->echo)
		return o->udp ? &mode_udp_echo : &mode_echo;
	return o->udp ? &mode_udp_oneway : &mode_oneway;
}

/* --churn: one message per connection; otherwise all of them. */
static void begin_work(struct worker *w, struct client *c, int64_t now)
{
	c->conn_limit = w->o->churn ? c->seq + 1 : c->limit;
	w->mode->begin(w, c, now);
}

static void connected(struct worker *w, struct client *c, int64_t now)
{
	int one = 1;

	w->res.conn_opened++;
	hist_record(&w->res.connect_us, (uint64_t)(now - c->t_connect) / 1000);
	/* Echo mode sends small messages and waits: Nagle would hold them
	 * back for the delayed ACK. */
	if (w->mode->replies && setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY,
					   &one, sizeof(one)) == -1) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	c->t_progress = now;
	c->conn_bytes = 0;
	c->conn_acked = 0;
	c->conn_first_seq = c->seq;
	c->t_timer = NEVER;
	begin_work(w, c, now);
}

static void connect_done(struct worker *w, struct client *c, int64_t now)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		client_fail(w, c, F_ERRNO, soerr);
		return;
	}
	connected(w, c, now);
}

static int open_socket(struct worker *w, struct client *c, int type)
{
	struct epoll_event ev;

	c->fd = socket(c->server->ss.ss_family,
		       type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return -1;
	w->open++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		return -1;
	c->want = ev.events;
	c->head_state = HEAD_OPEN;
	c->head_len = 0;
	return 0;
}

static void start_client(struct worker *w, struct client *c, int64_t now)
{
	int r;

	c->t_connect = now;
	c->first_pending = (uint8_t)w->mode->replies;
	if (open_socket(w, c, w->tp->socktype) == -1) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	/* EINTR on a non-blocking connect: it goes on in the background,
	 * exactly as EINPROGRESS. */
	r = connect(c->fd, (const struct sockaddr *)&c->server->ss,
		    c->server->len);
	if (r == -1 && errno != EINPROGRESS && errno != EINTR) {
		client_fail(w, c, F_ERRNO, errno);
		return;
	}
	if (!w->tp->connects) { /* a datagram socket is ready at once */
		w->res.conn_opened++;
		c->t_timer = NEVER;
		begin_work(w, c, now);
		return;
	}
	c->state = S_CONNECTING;
	set_timer(w, c, now + w->sh->slow_ns);
	if (r == 0)
		connected(w, c, now);
}

/* ---- timers and run-wide deadlines ---- */

static void on_timer(struct worker *w, struct client *c, int64_t now)
{
	c->t_timer = NEVER;
	switch (c->state) {
	case S_WAIT:
		start_client(w, c, now);
		break;
	case S_CONNECTING:
		client_fail(w, c, F_ERRNO, ETIMEDOUT);
		break;
	case S_DRAIN:
		client_fail(w, c, F_TIMEOUT, 0);
		break;
	default:
		if (w->mode->timer != NULL)
			w->mode->timer(w, c, now);
		break;
	}
}

/* -d has passed: no new messages; finish what is under way (the rest
 * of a partly sent message, an awaited reply, a close handshake). */
static void end_client(struct worker *w, struct client *c, int64_t now)
{
	switch (c->state) {
	case S_WAIT:
	case S_CONNECTING:
		client_done(w, c, 1);
		break;
	case S_DRAIN:
		c->limit = c->seq; /* --churn: no new connection */
		break;
	case S_DONE:
		break;
	default:
		if (w->mode->end != NULL)
			w->mode->end(w, c, now);
		break;
	}
}

static void end_duration(struct worker *w, int64_t now)
{
	uint32_t i;

	for (i = 0; i < w->nclients; i++)
		end_client(w, &w->clients[i], now);
}

static void abort_all(struct worker *w, enum failure f)
{
	uint32_t i;

	for (i = 0; i < w->nclients; i++) {
		if (w->clients[i].state != S_DONE)
			client_fail(w, &w->clients[i], f, 0);
	}
}

static void end_hold(struct worker *w)
{
	uint32_t i;

	for (i = 0; i < w->nclients; i++) {
		if (w->clients[i].state == S_HOLD) {
			w->res.conn_held++;
			client_done(w, &w->clients[i], 1);
		}
	}
}

/* Runs due timers and deadlines; recomputes next_timer. */
static void scan(struct worker *w, int64_t now)
{
	int64_t hold_until = atomic_load(&w->sh->hold_until);
	int64_t next = w->sh->t_deadline;
	uint32_t i;

	w->last_scan = now;
	if (atomic_load(&w->sh->stop)) {
		abort_all(w, F_INTERRUPTED);
		return;
	}
	if (now >= w->sh->t_deadline) {
		abort_all(w, F_MAX_TIME);
		return;
	}
	if (now >= hold_until)
		end_hold(w);
	if (!w->ended && now >= w->sh->t_end) {
		w->ended = 1;
		end_duration(w, now);
	}
	if (!w->ended && w->sh->t_end < next)
		next = w->sh->t_end;
	if (hold_until < next)
		next = hold_until;
	/* Timers set while we scan lower w->next_timer; start high. */
	w->next_timer = NEVER;
	for (i = 0; i < w->nclients; i++) {
		struct client *c = &w->clients[i];

		/* A fresh clock: a scan that starts thousands of connects
		 * takes long enough to distort their latencies. */
		if (c->t_timer <= now && c->state != S_DONE)
			on_timer(w, c, now_ns());
		if (c->state != S_DONE && c->t_timer < next)
			next = c->t_timer;
	}
	if (next < w->next_timer)
		w->next_timer = next;
}

static void handle_event(struct worker *w, struct client *c, uint32_t ev,
			 int64_t now)
{
	if (c->state == S_DONE || c->fd == -1)
		return; /* closed earlier in this batch */
	if (c->state == S_CONNECTING) {
		connect_done(w, c, now);
		return;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		w->tp->readable(w, c);
	if (c->state == S_DONE || !(ev & EPOLLOUT))
		return;
	if (c->state == S_DRAIN)
		idle_writable(w, c, now);
	else
		w->mode->writable(w, c, now);
}

/* Until the next timer, but not before the next scan may run: a due
 * timer must not turn epoll_wait() into a busy loop. */
static int sleep_ms(const struct worker *w, int64_t now)
{
	int64_t due = w->next_timer, wait;

	if (due < w->last_scan + SCAN_NS)
		due = w->last_scan + SCAN_NS;
	wait = due - now;

	if (wait <= 0)
		return 0;
	wait = (wait + NS_PER_MS - 1) / NS_PER_MS;
	return wait > MAX_SLEEP_MS ? MAX_SLEEP_MS : (int)wait;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event events[MAX_EVENTS];
	int64_t now;
	int i, n;

	while (w->active > 0) {
		if (w->ivl != NULL) {
			unsigned phase = atomic_load(&w->ivl_phase);

			if (phase != w->ivl_seen) {
				w->ivl_seen = phase;
				w->ivl = &w->ivl_hist[phase & 1];
				atomic_store(&w->ivl_ack, phase);
			}
		}
		now = now_ns();
		/* A timer is due, or it is time to look at stop and hold
		 * start anyway. */
		if ((now >= w->next_timer && now - w->last_scan >= SCAN_NS) ||
		    now - w->last_scan >= MAX_SLEEP_MS * NS_PER_MS)
			scan(w, now);
		if (w->active == 0)
			break;
		n = epoll_wait(w->epfd, events, MAX_EVENTS, sleep_ms(w, now));
		if (n == -1 && errno != EINTR) {
			/* Cannot happen with a valid epfd; do not spin. */
			abort_all(w, F_INTERRUPTED);
			break;
		}
		/* A clock read per event (a vDSO call, tens of ns) keeps
		 * latencies honest when one wake-up serves many clients. */
		for (i = 0; i < n; i++)
			handle_event(w, events[i].data.ptr, events[i].events,
				     now_ns());
		atomic_store_explicit(&w->pub_msgs,
				      w->mode->replies ? w->res.msgs_answered
						       : w->res.msgs_sent,
				      memory_order_relaxed);
		atomic_store_explicit(&w->pub_open, w->open,
				      memory_order_relaxed);
	}
	w->t_finish = now_ns();
	atomic_store(&w->finished, 1);
	return NULL;
}

/* ---- setup and the caller's side ---- */

/* 0 when a TCP connect to a completes within ms milliseconds. */
static int probe(const struct net_addr *a, int ms)
{
	int fd = socket(a->ss.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int soerr = 0, rc = -1;
	socklen_t len = sizeof(soerr);
	struct pollfd pfd;

	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
		rc = 0;
	} else if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, ms) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
		    soerr == 0)
			rc = 0;
	}
	close(fd);
	return rc;
}

/* A server's address.  A name with several addresses (localhost: ::1
 * and 127.0.0.1) is tried in turn with one TCP connect each, and the
 * first that answers is used for the whole run; when none does, or for
 * UDP (where nothing answers a connect), the first. */
static int resolve_one(struct net_addr *out, const struct fcli_opts *o,
		       const struct fcli_host *h, char *err, size_t errlen)
{
	struct net_addr addrs[ENG_ADDRS_MAX];
	int n, i, pick = 0;

	n = net_resolve_all(addrs, ENG_ADDRS_MAX, h->host, h->port,
			    o->udp ? SOCK_DGRAM : SOCK_STREAM, err, errlen);
	if (n == -1)
		return -1;
	for (i = 0; n > 1 && !o->udp && i < n; i++) {
		if (probe(&addrs[i], ENG_SLOW_TIMEOUT_MS) == 0) {
			pick = i;
			break;
		}
	}
	*out = addrs[pick];
	return 0;
}

/* Every server of --hosts (or the one of -H and -p), in order. */
static int resolve(struct shared *sh, const struct fcli_opts *o, char *err,
		   size_t errlen)
{
	if (o->nhosts == 0) { /* fcli_parse always sets one */
		snprintf(err, errlen, "no server");
		errno = EINVAL;
		return -1;
	}
	for (sh->naddrs = 0; sh->naddrs < o->nhosts; sh->naddrs++)
		if (resolve_one(&sh->addrs[sh->naddrs], o,
				&o->hosts[sh->naddrs], err, errlen) == -1)
			return -1;
	return 0;
}

static void init_shared(struct shared *sh, const struct fcli_opts *o)
{
	int64_t timeout_ms = o->timeout_ms;

	sh->o = o;
	sh->t0 = now_ns();
	sh->t_end = o->duration > 0
			    ? sh->t0 + (int64_t)(o->duration * NS_PER_SEC)
			    : NEVER;
	sh->t_deadline = sh->t0 + (int64_t)(o->max_time * NS_PER_SEC);
	/* Each client sends rate / clients messages per second. */
	sh->interval_ns =
		o->rate > 0
			? (int64_t)((double)NS_PER_SEC * o->clients / o->rate)
			: 0;
	if (o->rate > 0 && sh->interval_ns < 1)
		sh->interval_ns = 1;
	sh->think_ns = (int64_t)(o->think_ms * NS_PER_MS);
	sh->timeout_ns = timeout_ms * NS_PER_MS;
	if (timeout_ms < ENG_SLOW_TIMEOUT_MS)
		timeout_ms = ENG_SLOW_TIMEOUT_MS;
	sh->slow_ns = timeout_ms * NS_PER_MS;
	atomic_init(&sh->stop, 0);
	atomic_init(&sh->pending_connects, o->clients);
	atomic_init(&sh->hold_until, NEVER);
}

/* Client i goes to worker i % threads; it starts at t0 + ramp * i / n
 * and, with --rate, its schedule is offset by interval * i / n so that
 * the clients' messages interleave evenly. */
static void init_client(struct client *c, const struct shared *sh, uint32_t id)
{
	const struct fcli_opts *o = sh->o;
	int64_t start = sh->t0 + (int64_t)(o->ramp * NS_PER_SEC * (double)id /
					   o->clients);

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->id = o->first_client + id; /* its messages' c<id> */
	c->server = &sh->addrs[id % sh->naddrs];
	c->state = S_WAIT;
	c->limit = o->duration > 0 ? FCLI_DURATION_SEQ_MAX + 1 : o->messages;
	c->t_first =
		start + (int64_t)((double)sh->interval_ns * id / o->clients);
	c->t_timer = start;
}

static void free_workers(struct worker *ws, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (ws[i].epfd != -1)
			close(ws[i].epfd);
		free(ws[i].clients);
		free(ws[i].txbuf);
		free(ws[i].rxbuf);
		free(ws[i].expbuf);
		free(ws[i].times);
	}
	free(ws);
}

static int init_worker(struct worker *w, struct shared *sh, unsigned index)
{
	const struct fcli_opts *o = sh->o;
	uint32_t i, id;

	w->sh = sh;
	w->o = o;
	w->mode = mode_of(o);
	w->tp = o->udp ? &transport_udp : &transport_tcp;
	w->nclients = (o->clients - index + o->threads - 1) / o->threads;
	w->active = w->nclients;
	w->next_timer = sh->t0;
	w->last_scan = sh->t0 - SCAN_NS;
	atomic_init(&w->pub_msgs, 0);
	atomic_init(&w->pub_open, 0);
	atomic_init(&w->finished, 0);
	atomic_init(&w->ivl_phase, 0);
	atomic_init(&w->ivl_ack, 0);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd == -1)
		return -1;
	w->clients = calloc(w->nclients, sizeof(*w->clients));
	w->txbuf = malloc(IOBUF_SIZE);
	w->rxbuf = malloc(IOBUF_SIZE);
	w->expbuf = malloc(wire_size(o));
	if (w->clients == NULL || w->txbuf == NULL || w->rxbuf == NULL ||
	    w->expbuf == NULL)
		return -1;
	if (o->echo) {
		w->times = calloc((size_t)w->nclients * o->pipeline * 2,
				  sizeof(*w->times));
		if (w->times == NULL)
			return -1;
	}
	for (i = 0, id = index; i < w->nclients; i++, id += o->threads) {
		init_client(&w->clients[i], sh, id);
		if (w->times != NULL)
			w->clients[i].times =
				w->times + (size_t)i * o->pipeline * 2;
	}
	return 0;
}

static void merge_result(struct eng_result *r, const struct worker *w,
			 int64_t t0)
{
	const struct eng_result *s = &w->res;
	double elapsed = (double)(w->t_finish - t0) / NS_PER_SEC;
	unsigned i;

	if (elapsed > r->elapsed)
		r->elapsed = elapsed;
#define ADD(field, ...) r->field += s->field;
	ENG_COUNTS(ADD)
	ENG_ERRORS(ADD)
#undef ADD
	for (i = 0; i < ENG_ERRNO_SLOTS; i++)
		r->err_errno[i] += s->err_errno[i];
#define MERGE(field, ...) hist_merge(&r->field, &s->field);
	ENG_LATENCIES(MERGE)
#undef MERGE
}

static void pause_ms(int ms)
{
	struct timespec ts = {0, (long)ms * NS_PER_MS};

	/* An interrupted sleep is fine: the caller loops and looks at
	 * stop_requested, which is probably why we woke up. */
	nanosleep(&ts, NULL);
}

/* State of the interval log, on the caller's thread. */
struct intervals {
	const struct eng_hooks *hooks;
	struct hist *sum; /* one interval, all workers */
	unsigned phase;
	int64_t start; /* of the current interval */
};

/* Takes worker w's finished half into iv->sum, when w has switched to
 * the other half (or has ended: then both halves are final). */
static void take_interval(struct intervals *iv, struct worker *w)
{
	struct hist *old = &w->ivl_hist[(iv->phase - 1) & 1];
	int i;

	if (atomic_load(&w->finished)) {
		for (i = 0; i < 2; i++) {
			hist_merge(iv->sum, &w->ivl_hist[i]);
			hist_init(&w->ivl_hist[i]);
		}
		return;
	}
	if (atomic_load(&w->ivl_ack) != iv->phase)
		return; /* still writing there: next time */
	hist_merge(iv->sum, old);
	hist_init(old);
}

/* Ends an interval: switches every worker to its other half, waits (a
 * worker looks at least every MAX_SLEEP_MS) and hands the sum over. */
static void end_interval(struct intervals *iv, struct worker *ws, unsigned n,
			 int64_t now, int64_t t0)
{
	int64_t give_up = now + (int64_t)20 * MAX_SLEEP_MS * NS_PER_MS;
	unsigned i, waiting;

	iv->phase++;
	for (i = 0; i < n; i++)
		atomic_store(&ws[i].ivl_phase, iv->phase);
	do {
		pause_ms(1);
		for (i = 0, waiting = 0; i < n; i++)
			waiting += atomic_load(&ws[i].ivl_ack) != iv->phase &&
				   !atomic_load(&ws[i].finished);
	} while (waiting > 0 && now_ns() < give_up);
	for (i = 0; i < n; i++)
		take_interval(iv, &ws[i]);
	iv->hooks->interval((double)(iv->start - t0) / NS_PER_SEC,
			    (double)(now - iv->start) / NS_PER_SEC, iv->sum,
			    iv->hooks->interval_arg);
	hist_init(iv->sum);
	iv->start = now;
}

/* The caller's thread: progress, intervals, the stop request, the hold
 * notice. */
static void supervise(struct worker *ws, unsigned n, struct shared *sh,
		      struct intervals *iv)
{
	eng_progress_fn progress = iv->hooks->progress;
	struct eng_progress pr;
	int64_t last = sh->t0, now;
	unsigned i, finished;
	int told_hold = 0;

	for (;;) {
		if (iv->sum != NULL &&
		    now_ns() - iv->start >= ENG_INTERVAL_MS * NS_PER_MS)
			end_interval(iv, ws, n, now_ns(), sh->t0);
		pause_ms(ENG_PROGRESS_MS / 5);
		if (stop_requested)
			atomic_store(&sh->stop, 1);
		for (i = 0, finished = 0; i < n; i++)
			finished += (unsigned)atomic_load(&ws[i].finished);
		if (finished == n)
			break;
		if (!told_hold && atomic_load(&sh->hold_until) != NEVER) {
			told_hold = 1;
			fprintf(stderr,
				"flood: all connects done; holding "
				"for %g s\n",
				sh->o->hold);
		}
		now = now_ns();
		if (progress == NULL ||
		    now - last < ENG_PROGRESS_MS * NS_PER_MS)
			continue;
		last = now;
		memset(&pr, 0, sizeof(pr));
		pr.elapsed = (double)(now - sh->t0) / NS_PER_SEC;
		for (i = 0; i < n; i++) {
			pr.msgs += atomic_load_explicit(&ws[i].pub_msgs,
							memory_order_relaxed);
			pr.conn_open += atomic_load_explicit(
				&ws[i].pub_open, memory_order_relaxed);
		}
		progress(&pr, iv->hooks->progress_arg);
	}
}

/* Starts the workers with every signal blocked, so that signals go to
 * the caller's thread (and its handlers) only.  Returns how many were
 * started; on failure errno is set. */
static unsigned start_workers(struct worker *ws, unsigned n)
{
	sigset_t all, old;
	unsigned i;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n; i++) {
		rc = pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
		if (rc != 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		errno = rc;
	return i;
}

int eng_run(const struct fcli_opts *o, struct eng_result *r,
	    const struct eng_hooks *hooks, char *err, size_t errlen)
{
	struct intervals iv;
	struct shared sh;
	struct worker *ws;
	unsigned i, started;
	int saved;

	memset(r, 0, sizeof(*r));
	memset(&sh, 0, sizeof(sh));
	if (resolve(&sh, o, err, errlen) == -1)
		return -1;
	net_format((const struct sockaddr *)&sh.addrs[0].ss, r->address,
		   sizeof(r->address));
	init_shared(&sh, o);
	r->started_unix_us = wall_clock_us();
	ws = calloc(o->threads, sizeof(*ws));
	if (ws == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&iv, 0, sizeof(iv));
	iv.hooks = hooks;
	iv.start = sh.t0;
	if (hooks->interval != NULL &&
	    (iv.sum = calloc(1, sizeof(*iv.sum))) == NULL) {
		free(ws);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < o->threads; i++)
		ws[i].epfd = -1;
	for (i = 0; i < o->threads; i++) {
		if (iv.sum != NULL)
			ws[i].ivl = &ws[i].ivl_hist[0];
		if (init_worker(&ws[i], &sh, i) == -1) {
			saved = errno;
			snprintf(err, errlen, "setting up thread %u: %s", i,
				 strerror(saved));
			free_workers(ws, o->threads);
			free(iv.sum);
			errno = saved;
			return -1;
		}
	}
	started = start_workers(ws, o->threads);
	if (started < o->threads) {
		saved = errno;
		snprintf(err, errlen, "pthread_create: %s", strerror(saved));
		atomic_store(&sh.stop, 1); /* started ones end at once */
	} else {
		saved = 0;
		supervise(ws, started, &sh, &iv);
	}
	for (i = 0; i < started; i++) {
		pthread_join(ws[i].tid, NULL);
		merge_result(r, &ws[i], sh.t0);
	}
	if (iv.sum != NULL) /* the last, partial interval */
		end_interval(&iv, ws, started, now_ns(), sh.t0);
	free_workers(ws, o->threads);
	free(iv.sum);
	r->stopped = stop_requested != 0;
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	return 0;
}

int eng_ok(const struct fcli_opts *o, const struct eng_result *r)
{
#define FAILED(field, ...) || r->field != 0
	if (r->conn_failed != 0 ENG_ERRORS(FAILED))
		return 0;
#undef FAILED
	if (r->clients_done != o->clients)
		return 0;
	if (o->hold > 0)
		return r->conn_held == o->clients;
	if (o->duration <= 0 &&
	    r->msgs_sent != (uint64_t)o->clients * o->messages)
		return 0;
	if (o->echo && r->msgs_answered != r->msgs_sent)
		return 0;
	return 1;
}
