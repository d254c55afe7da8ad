/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * broker.c - a room across servers through a Redis Stream; the contract
 * is in broker.h, the reasons in docs/broker.md.
 */
#include "broker.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "logfmt.h"
#include "logline.h"
#include "monotime.h"
#include "net.h"

/* "mtserver:room:" and a room. */
#define KEY_MAX (14 + BROKER_ROOM_MAX + 1)
/* A node's name: "HOST:PID" (HOST cut to 64). */
#define NODE_MAX 96
/* Servers whose numbers a subscriber follows at once; past that, the
 * one heard from longest ago is forgotten (its next gap goes unseen). */
#define NODES_MAX 64
/* A stream id: "MS-SEQ", two 20-digit numbers. */
#define ID_MAX 48

/* Lines said here, not yet sent: one half of the queue.  Its lines
 * have the numbers first_seq .. first_seq + nlines - 1: a half takes
 * no more once a batch was dropped (closed), so its numbers have no
 * hole. */
struct half {
	char *buf;
	size_t len;
	uint64_t first_seq, nlines;
	uint64_t dropped; /* the node's dropped lines before its first */
	bool closed;
};

/* What a subscriber knows of another server's numbers. */
struct node_seen {
	char node[NODE_MAX];
	char run[24];
	uint64_t next_seq;    /* the number it expects next */
	uint64_t dropped;     /* that server's dropped count, last heard */
	long long heard_at;   /* ms: for forgetting the oldest */
	bool after_reconnect; /* first entry since this side reconnected */
};

/* One connection and its state of health. */
struct link {
	redisContext *ctx;
	const char *role;     /* "publish" or "subscribe" */
	long long backoff_ms; /* the wait before the next try */
};

struct broker {
	char host[256];
	int port;
	char key[KEY_MAX];
	char node[NODE_MAX];
	char run[24];
	char who_note[200];
	struct chat_room *room;
	struct logger *log;
	struct membudget *budget;
	size_t charged;

	/*
	 * qlock guards the two halves (fill is the one the tap appends to,
	 * the other is the publisher's), next_seq, dropped and stopping.
	 * Lock order: the room's lock, then this one (the tap runs under
	 * the room's lock); nothing is taken under it.
	 */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;	 /* lines queued, or stopping */
	pthread_cond_t stopcond; /* stopping: naps end */
	struct half halves[2];
	struct half *fill;
	size_t half_cap;
	uint64_t next_seq; /* the number of the next line said here */
	uint64_t dropped;  /* lines said here that the queue could not take */
	bool stopping;
	long long stop_deadline_ms;

	atomic_bool reader_stop;
	struct chat_member feed; /* the subscriber's: other servers' lines */
	struct node_seen seen[NODES_MAX];
	char last_id[ID_MAX]; /* the subscriber's place in the stream */
	struct link pub_link, sub_link; /* each its thread's */
	pthread_t publisher, subscriber;
};

int broker_check_url(const char *url, char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	const char *host = url + sizeof(scheme) - 1, *colon, *slash, *room;
	unsigned long port;
	char *end;

	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return net_error(err, errlen,
				 "invalid --broker '%s' (expected "
				 "redis://HOST:PORT[/ROOM])",
				 url);
	slash = strchr(host, '/');
	colon = memchr(host, ':',
		       slash != NULL ? (size_t)(slash - host) : strlen(host));
	if (colon == NULL || colon == host || (size_t)(colon - host) >= 256)
		return net_error(err, errlen,
				 "invalid --broker '%s' (expected "
				 "redis://HOST:PORT[/ROOM])",
				 url);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || port == 0 || port > 65535 ||
	    (*end != '\0' && *end != '/'))
		return net_error(err, errlen,
				 "invalid --broker port in '%s' (expected "
				 "1-65535)",
				 url);
	if (slash == NULL)
		return 0;
	room = slash + 1;
	if (*room == '\0' || strlen(room) > BROKER_ROOM_MAX)
		return net_error(err, errlen,
				 "invalid --broker room in '%s' (expected 1-%d "
				 "of A-Z a-z 0-9 _ . -)",
				 url, BROKER_ROOM_MAX);
	for (const char *c = room; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
		      *c == '-'))
			return net_error(err, errlen,
					 "invalid --broker room in '%s' "
					 "(expected 1-%d of A-Z a-z 0-9 _ . -)",
					 url, BROKER_ROOM_MAX);
	return 0;
}

/* Fills host, port and key from a URL broker_check_url accepted. */
static void parse_url(struct broker *b, const char *url)
{
	const char *host = url + strlen("redis://");
	const char *colon = strchr(host, ':');
	const char *slash = strchr(colon, '/');

	memcpy(b->host, host, (size_t)(colon - host));
	b->host[colon - host] = '\0';
	b->port = (int)strtol(colon + 1, NULL, 10);
	snprintf(b->key, sizeof(b->key), "mtserver:room:%s",
		 slash != NULL ? slash + 1 : "chat");
}

/* ---- the log ---- */

static void log_event(struct broker *b, const struct logline_broker *e)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];

	logline_now(ts);
	(void)log_append(b->log, line,
			 logline_broker(line, sizeof(line), ts, e));
}

static void log_lost(struct broker *b, const char *role, uint64_t lines,
		     const char *reason, const char *from)
{
	struct logline_broker e = {.event = LOGLINE_BROKER_LOST,
				   .role = role,
				   .lines = lines,
				   .reason = reason,
				   .from = from};

	log_event(b, &e);
}

/* ---- waiting, stopping ---- */

/* Waits ms, or less once the server stops: at once for the
 * subscriber, at the stop's deadline for the publisher (which may still
 * send meanwhile).  qlock not held. */
static void nap(struct broker *b, long long ms, bool subscriber)
{
	long long until_ms = monotime_ms() + ms;
	struct timespec until;

	pthread_mutex_lock(&b->qlock);
	for (;;) {
		long long end = until_ms;

		if (b->stopping && subscriber)
			break;
		if (b->stopping && b->stop_deadline_ms < end)
			end = b->stop_deadline_ms;
		if (monotime_ms() >= end)
			break;
		until.tv_sec = end / 1000;
		until.tv_nsec = (end % 1000) * 1000000L;
		(void)pthread_cond_timedwait(&b->stopcond, &b->qlock, &until);
	}
	pthread_mutex_unlock(&b->qlock);
}

/* Whether the publisher should give up what it has not sent. */
static bool publisher_gives_up(struct broker *b)
{
	bool give_up;

	pthread_mutex_lock(&b->qlock);
	give_up = b->stopping && monotime_ms() >= b->stop_deadline_ms;
	pthread_mutex_unlock(&b->qlock);
	return give_up;
}

/* ---- connections ---- */

static struct timeval ms_timeval(long ms)
{
	return (struct timeval){.tv_sec = ms / 1000,
				.tv_usec = (ms % 1000) * 1000};
}

/* The link broke (or never was): closes it, logs broker-down with the
 * wait before the next try, and waits (BROKER_BACKOFF_*). */
static void link_down(struct broker *b, struct link *l, const char *error)
{
	struct logline_broker e = {.event = LOGLINE_BROKER_DOWN,
				   .role = l->role,
				   .error = error,
				   .retry_ms = (uint64_t)l->backoff_ms};

	if (l->ctx != NULL) {
		redisFree(l->ctx);
		l->ctx = NULL;
	}
	log_event(b, &e);
	nap(b, l->backoff_ms, l == &b->sub_link);
	l->backoff_ms *= 2;
	if (l->backoff_ms > BROKER_BACKOFF_MAX_MS)
		l->backoff_ms = BROKER_BACKOFF_MAX_MS;
}

/* Connects l if it is not: 0, or -1 after a logged failure and its
 * wait (the caller tries again). */
static int link_up(struct broker *b, struct link *l)
{
	char error[128];
	redisReply *r;

	if (l->ctx != NULL)
		return 0;
	l->ctx = redisConnectWithTimeout(b->host, b->port,
					 ms_timeval(BROKER_TIMEOUT_MS));
	if (l->ctx == NULL || l->ctx->err != 0 ||
	    redisSetTimeout(l->ctx, ms_timeval(BROKER_TIMEOUT_MS)) !=
		    REDIS_OK) {
		snprintf(error, sizeof(error), "%s",
			 l->ctx != NULL ? l->ctx->errstr : "out of memory");
		link_down(b, l, error);
		return -1;
	}
	/* Up once it answers: a stopped broker's kernel still accepts. */
	r = redisCommand(l->ctx, "PING");
	if (r == NULL || r->type != REDIS_REPLY_STATUS) {
		snprintf(error, sizeof(error), "%s",
			 r != NULL && r->str != NULL ? r->str : l->ctx->errstr);
		if (r != NULL)
			freeReplyObject(r);
		link_down(b, l, error);
		return -1;
	}
	freeReplyObject(r);
	log_event(b, &(struct logline_broker){.event = LOGLINE_BROKER_UP,
					      .role = l->role});
	l->backoff_ms = BROKER_BACKOFF_MIN_MS;
	return 0;
}

/* Runs argv on l: the reply (the caller frees it), or NULL after a
 * logged failure and its wait (the connection is closed: a command whose
 * answer was lost may have run; the caller tries again). */
static redisReply *link_command(struct broker *b, struct link *l, int argc,
				const char **argv, const size_t *argvlen)
{
	redisReply *r;
	char error[160];

	if (link_up(b, l) == -1)
		return NULL;
	r = redisCommandArgv(l->ctx, argc, argv, argvlen);
	if (r == NULL) {
		snprintf(error, sizeof(error), "%s", l->ctx->errstr);
		link_down(b, l, error);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(error, sizeof(error), "%s", r->str);
		freeReplyObject(r);
		link_down(b, l, error);
		return NULL;
	}
	return r;
}

/* ---- out: the tap and the publisher ---- */

static uint64_t count_lines(const char *s, size_t len)
{
	uint64_t n = 0;
	const char *nl;

	while (len > 0 && (nl = memchr(s, '\n', len)) != NULL) {
		n++;
		len -= (size_t)(nl + 1 - s);
		s = nl + 1;
	}
	return n;
}

/* chat_tap_fn: under the room's lock. */
static void tap(void *arg, const char *lines, size_t len)
{
	struct broker *b = arg;
	uint64_t n = count_lines(lines, len);
	struct half *h;

	pthread_mutex_lock(&b->qlock);
	h = b->fill;
	if (!h->closed && len <= b->half_cap - h->len) {
		if (h->len == 0) {
			h->first_seq = b->next_seq;
			h->dropped = b->dropped;
		}
		memcpy(h->buf + h->len, lines, len);
		h->len += len;
		h->nlines += n;
		pthread_cond_signal(&b->qcond);
	} else {
		h->closed = h->len > 0; /* no hole in a half's numbers */
		b->dropped += n;
	}
	b->next_seq += n;
	pthread_mutex_unlock(&b->qlock);
}

/* Sends one entry: lines[0..len), nlines of them numbered from seq.
 * 0, or -1 when the stop's deadline passed first. */
static int xadd(struct broker *b, struct link *l, const char *lines, size_t len,
		uint64_t seq, uint64_t dropped)
{
	char maxlen[24], seq_s[24], dropped_s[24];
	const char *argv[] = {"XADD",	 b->key,    "MAXLEN", "~",
			      maxlen,	 "*",	    "node",   b->node,
			      "run",	 b->run,    "seq",    seq_s,
			      "dropped", dropped_s, "lines",  lines};
	size_t argvlen[sizeof(argv) / sizeof(argv[0])];
	const int argc = (int)(sizeof(argv) / sizeof(argv[0]));

	snprintf(maxlen, sizeof(maxlen), "%d", BROKER_STREAM_MAXLEN);
	snprintf(seq_s, sizeof(seq_s), "%" PRIu64, seq);
	snprintf(dropped_s, sizeof(dropped_s), "%" PRIu64, dropped);
	for (int i = 0; i < argc - 1; i++)
		argvlen[i] = strlen(argv[i]);
	argvlen[argc - 1] = len;
	for (;;) {
		redisReply *r = link_command(b, l, argc, argv, argvlen);

		if (r != NULL) {
			freeReplyObject(r);
			return 0;
		}
		if (publisher_gives_up(b))
			return -1;
	}
}

/* Sends half h in entries of BROKER_ENTRY_MAX at most, cut at lines;
 * what the stop's deadline leaves unsent is logged lost. */
static void send_half(struct broker *b, struct link *l, struct half *h)
{
	size_t off = 0;
	uint64_t seq = h->first_seq;

	while (off < h->len) {
		size_t end = off, n = 0;

		/* Whole lines up to BROKER_ENTRY_MAX (one at least). */
		while (end < h->len) {
			const char *nl =
				memchr(h->buf + end, '\n', h->len - end);
			size_t next = (size_t)(nl - h->buf) + 1;

			if (n > 0 && next - off > BROKER_ENTRY_MAX)
				break;
			end = next;
			n++;
		}
		if (xadd(b, l, h->buf + off, end - off, seq, h->dropped) ==
		    -1) {
			log_lost(b, "publish", h->nlines - (seq - h->first_seq),
				 "stopping", NULL);
			break;
		}
		seq += n;
		off = end;
	}
	h->len = 0;
	h->nlines = 0;
	h->closed = false;
}

static void *publisher_main(void *arg)
{
	struct broker *b = arg;
	struct link *l = &b->pub_link;
	uint64_t dropped_told = 0;

	for (;;) {
		struct half *h;
		uint64_t dropped, after_drops;
		bool closed;

		pthread_mutex_lock(&b->qlock);
		while (b->fill->len == 0 && !b->stopping) {
			if (l->ctx == NULL) { /* idle: come back up anyway */
				pthread_mutex_unlock(&b->qlock);
				(void)link_up(b, l);
				pthread_mutex_lock(&b->qlock);
				continue;
			}
			pthread_cond_wait(&b->qcond, &b->qlock);
		}
		h = b->fill;
		b->fill = h == &b->halves[0] ? &b->halves[1] : &b->halves[0];
		dropped = b->dropped;
		/* A closed half: lines were dropped after it, up to here. */
		closed = h->closed;
		after_drops = b->next_seq;
		pthread_mutex_unlock(&b->qlock);
		if (dropped > dropped_told) {
			log_lost(b, "publish", dropped - dropped_told,
				 "queue-full", NULL);
			dropped_told = dropped;
		}
		if (h->len == 0)
			break; /* stopping, and nothing left */
		send_half(b, l, h);
		/* An entry without lines numbered after the drops: the others
		 * see the gap now, not at this server's next line. */
		if (closed)
			(void)xadd(b, l, "", 0, after_drops, dropped);
	}
	if (l->ctx != NULL)
		redisFree(l->ctx);
	return NULL;
}

/* ---- in: the subscriber ---- */

static const redisReply *field(const redisReply *fields, const char *name)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[i]->str, name) == 0 &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1];
	return NULL;
}

static int number(const redisReply *r, uint64_t *out)
{
	return r == NULL ? -1 : cli_parse_u64(r->str, 0, UINT64_MAX, out);
}

/* Lines as another server says them: whole, printable lines of the
 * room ("NAME: TEXT\n", escaped at their source: no byte below ' ' but
 * the newlines). */
static bool lines_ok(const char *s, size_t len)
{
	if (len == 0) /* a gap's mark (publisher_main) */
		return true;
	if (s[len - 1] != '\n')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < ' ' && s[i] != '\n')
			return false;
	return true;
}

/* The record of node's run (made, or the oldest one's taken over). */
static struct node_seen *seen_node(struct broker *b, const char *node,
				   const char *run, bool *is_new)
{
	struct node_seen *oldest = &b->seen[0];

	for (size_t i = 0; i < NODES_MAX; i++) {
		struct node_seen *s = &b->seen[i];

		if (strcmp(s->node, node) == 0 && strcmp(s->run, run) == 0) {
			*is_new = false;
			return s;
		}
		if (s->heard_at < oldest->heard_at)
			oldest = s;
	}
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->node, sizeof(oldest->node), "%s", node);
	snprintf(oldest->run, sizeof(oldest->run), "%s", run);
	*is_new = true;
	return oldest;
}

/* Lines that did not reach this room: logged with their reason, and
 * told to the room. */
static void lost(struct broker *b, uint64_t n, const char *reason,
		 const char *from)
{
	char text[64];

	if (n == 0)
		return;
	log_lost(b, "subscribe", n, reason, from);
	snprintf(text, sizeof(text),
		 "lines from other servers were lost: %" PRIu64, n);
	chat_notice_all(b->room, text);
}

/* Gives lines[0..len) to the room in their turn; false when stopping
 * first. */
static bool feed_room(struct broker *b, const char *lines, size_t len)
{
	size_t off = 0;

	while (off < len || b->feed.voice.len > 0) {
		size_t took = chat_feed(&b->feed, lines + off, len - off);

		if (took == 0 && b->feed.voice.len == 0) { /* no buffer */
			lost(b, count_lines(lines + off, len - off),
			     "no-memory", NULL);
			return true;
		}
		off += took;
		while (!chat_may_read(b->room, &b->feed)) {
			if (atomic_load(&b->reader_stop))
				return false;
			nap(b, CHAT_RETRY_MS, true);
		}
	}
	return true;
}

/* One entry of the stream; false when stopping. */
static bool take_entry(struct broker *b, const redisReply *fields)
{
	const redisReply *node = field(fields, "node"),
			 *run = field(fields, "run");
	const redisReply *text = field(fields, "lines");
	uint64_t seq, dropped, n, skip = 0;
	struct node_seen *s;
	bool is_new;
	const char *lines;
	size_t len;

	if (node == NULL || run == NULL || text == NULL ||
	    number(field(fields, "seq"), &seq) == -1 ||
	    number(field(fields, "dropped"), &dropped) == -1 ||
	    !lines_ok(text->str, text->len) || node->len >= NODE_MAX ||
	    run->len >= sizeof(s->run)) {
		log_lost(b, "subscribe", 1, "malformed",
			 node != NULL ? node->str : NULL);
		return true;
	}
	if (strcmp(node->str, b->node) == 0 && strcmp(run->str, b->run) == 0)
		return true; /* our own: its members had it */
	n = count_lines(text->str, text->len);
	s = seen_node(b, node->str, run->str, &is_new);
	s->heard_at = monotime_ms();
	if (is_new) {
		s->next_seq = seq;
		s->dropped = dropped;
	} else if (seq > s->next_seq) {
		uint64_t gap = seq - s->next_seq;
		uint64_t theirs = dropped - s->dropped;

		if (theirs > gap)
			theirs = gap;
		lost(b, theirs, "sender-queue-full", node->str);
		lost(b, gap - theirs,
		     s->after_reconnect ? "reconnect-gap" : "trimmed",
		     node->str);
	} else if (seq + n <= s->next_seq) {
		return true; /* sent again after a lost answer: had it */
	} else {
		skip = s->next_seq - seq;
	}
	s->dropped = dropped;
	s->after_reconnect = false;
	s->next_seq = seq + n;
	lines = text->str;
	len = text->len;
	for (; skip > 0; skip--) {
		const char *nl = memchr(lines, '\n', len);

		len -= (size_t)(nl + 1 - lines);
		lines = nl + 1;
	}
	return feed_room(b, lines, len);
}

/* One XREAD's streams; false when stopping. */
static bool take_reply(struct broker *b, const redisReply *r)
{
	const redisReply *entries;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY ||
	    r->element[0]->elements < 2)
		return true; /* NIL: nothing new within the block */
	entries = r->element[0]->element[1];
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *e = entries->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[0]->len >= ID_MAX)
			continue;
		memcpy(b->last_id, e->element[0]->str, e->element[0]->len + 1);
		if (e->element[1]->type == REDIS_REPLY_ARRAY &&
		    !take_entry(b, e->element[1]))
			return false;
	}
	return true;
}

static void *subscriber_main(void *arg)
{
	struct broker *b = arg;
	struct link *l = &b->sub_link;
	char count[16], block[16];
	const char *argv[] = {"XREAD", "COUNT",	  count,  "BLOCK",
			      block,   "STREAMS", b->key, b->last_id};
	const int argc = (int)(sizeof(argv) / sizeof(argv[0]));

	snprintf(count, sizeof(count), "%d", BROKER_READ_COUNT);
	snprintf(block, sizeof(block), "%d", BROKER_BLOCK_MS);
	while (!atomic_load(&b->reader_stop)) {
		redisReply *r = link_command(b, l, argc, argv, NULL);

		if (r == NULL) { /* whatever comes next may follow a gap */
			for (size_t i = 0; i < NODES_MAX; i++)
				b->seen[i].after_reconnect = true;
			continue;
		}
		if (!take_reply(b, r)) {
			freeReplyObject(r);
			break;
		}
		freeReplyObject(r);
	}
	if (l->ctx != NULL)
		redisFree(l->ctx);
	return NULL;
}

/* ---- start, stop ---- */

/* This server's name among the others ("HOST:PID") and its run (random:
 * a restarted server numbers its lines afresh). */
static void name_node(struct broker *b)
{
	char host[65] = "localhost";
	uint64_t run = (uint64_t)monotime_ms() ^ ((uint64_t)getpid() << 32);

	(void)gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	if (getrandom(&run, sizeof(run), GRND_NONBLOCK) != sizeof(run))
		run ^= (uint64_t)(uintptr_t)b;
	snprintf(b->node, sizeof(b->node), "%s:%ld", host, (long)getpid());
	snprintf(b->run, sizeof(b->run), "%016" PRIx64, run);
	snprintf(b->who_note, sizeof(b->who_note),
		 "this server is %s; members on other servers (--broker) "
		 "are not listed: this server cannot know them",
		 b->node);
}

struct broker *broker_start(const char *url, struct chat_room *room,
			    struct logger *log, struct membudget *budget,
			    size_t max_text, char *err, size_t errlen)
{
	struct broker *b;
	struct timespec now;
	int rc;

	if (broker_check_url(url, err, errlen) == -1)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		goto no_memory;
	parse_url(b, url);
	name_node(b);
	b->room = room;
	b->log = log;
	b->budget = budget;
	b->half_cap = BROKER_QUEUE_BYTES / 2;
	/* The queue, the feed's voice (at most a member's cost) and the
	 * largest XREAD reply (hiredis holds one at a time). */
	b->charged = BROKER_QUEUE_BYTES + chat_member_cost(max_text) +
		     BROKER_READ_COUNT * BROKER_ENTRY_MAX;
	if (membudget_charge(budget, b->charged) == -1) {
		net_error(err, errlen,
			  "--max-memory is too small for --broker (%zu bytes)",
			  b->charged);
		free(b);
		return NULL;
	}
	b->halves[0].buf = malloc(b->half_cap);
	b->halves[1].buf = malloc(b->half_cap);
	if (b->halves[0].buf == NULL || b->halves[1].buf == NULL)
		goto no_queue;
	b->fill = &b->halves[0];
	b->next_seq = 1;
	chat_member_init(&b->feed, NULL, 0, max_text);
	/* Lines from the start on (the stream's ids are Redis's clock in
	 * ms: on one machine, ours). */
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(b->last_id, sizeof(b->last_id), "%lld-0",
		 (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	if ((rc = pthread_mutex_init(&b->qlock, NULL)) != 0)
		goto no_lock;
	if ((rc = monotime_cond_init(&b->qcond)) != 0)
		goto no_cond;
	if ((rc = monotime_cond_init(&b->stopcond)) != 0)
		goto no_stopcond;
	b->pub_link = (struct link){.role = "publish",
				    .backoff_ms = BROKER_BACKOFF_MIN_MS};
	b->sub_link = (struct link){.role = "subscribe",
				    .backoff_ms = BROKER_BACKOFF_MIN_MS};
	chat_room_link(room, tap, b, b->who_note);
	if ((rc = pthread_create(&b->publisher, NULL, publisher_main, b)) != 0)
		goto no_publisher;
	if ((rc = pthread_create(&b->subscriber, NULL, subscriber_main, b)) !=
	    0)
		goto no_subscriber;
	return b;
no_subscriber:
	pthread_mutex_lock(&b->qlock);
	b->stopping = true;
	b->stop_deadline_ms = monotime_ms();
	pthread_cond_broadcast(&b->qcond);
	pthread_cond_broadcast(&b->stopcond);
	pthread_mutex_unlock(&b->qlock);
	pthread_join(b->publisher, NULL);
no_publisher:
	chat_room_link(room, NULL, NULL, NULL);
	pthread_cond_destroy(&b->stopcond);
no_stopcond:
	pthread_cond_destroy(&b->qcond);
no_cond:
	pthread_mutex_destroy(&b->qlock);
no_lock:
	net_error(err, errlen, "cannot start the broker link: %s",
		  strerror(rc));
	free(b->halves[0].buf);
	free(b->halves[1].buf);
	membudget_release(budget, b->charged);
	free(b);
	return NULL;
no_queue:
	free(b->halves[0].buf);
	free(b->halves[1].buf);
	membudget_release(budget, b->charged);
	free(b);
no_memory:
	net_error(err, errlen, "cannot start the broker link: %s",
		  strerror(ENOMEM));
	return NULL;
}

void broker_stop(struct broker *b)
{
	if (b == NULL)
		return;
	atomic_store(&b->reader_stop, true);
	pthread_mutex_lock(&b->qlock);
	b->stopping = true;
	b->stop_deadline_ms = monotime_ms() + BROKER_STOP_MS;
	pthread_cond_broadcast(&b->qcond);
	pthread_cond_broadcast(&b->stopcond);
	pthread_mutex_unlock(&b->qlock);
	pthread_join(b->subscriber, NULL);
	pthread_join(b->publisher, NULL);
	chat_room_link(b->room, NULL, NULL, NULL);
	chat_voice_free(&b->feed.voice);
	pthread_cond_destroy(&b->stopcond);
	pthread_cond_destroy(&b->qcond);
	pthread_mutex_destroy(&b->qlock);
	free(b->halves[0].buf);
	free(b->halves[1].buf);
	membudget_release(b->budget, b->charged);
	free(b);
}
