/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * udp.c - the UDP receive loop; the contract is in udp.h.
 */
#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "frame.h"
#include "iplimit.h"
#include "logline.h"
#include "monotime.h"
#include "net.h"

/* Datagrams read per wake-up before the log batch is handed over: a
 * burst costs one lock, and the stop descriptor is looked at again soon. */
#define UDP_BURST 64
/* At shutdown, queued datagrams logged at most: a socket's default
 * receive buffer holds a few hundred small ones; this bounds the wait
 * when a sender keeps going. */
#define UDP_DRAIN_MAX 4096
/* Echo budgets kept (one per recent source address, direct-mapped):
 * 64 KiB of table; more sources share budgets, never get fresh ones. */
#define UDP_BUCKETS 2048

/* What an echo reply costs a source's budget beyond its payload: the
 * IPv4 and UDP headers, so that floods of tiny datagrams pay too. */
#define UDP_HEADER_COST 28

/* One source address's echo budget: a token bucket of bytes. */
struct udp_bucket {
	struct iplimit_key key;
	double tokens;	 /* bytes it may be sent now */
	long long at_ms; /* when tokens was last brought up to date */
	bool used;
};

struct udp_loop {
	const struct conn_env *env;
	int fd;
	char *buf;   /* one datagram, UDP_DATAGRAM_MAX + 1 */
	char *reply; /* one reply datagram: the messages' replies joined */
	size_t reply_len, reply_max; /* reply_max: the sender's family's */
	bool reply_cut;		     /* a reply did not fit */
	struct log_batch batch;
	char who[LOGLINE_WHO_MAX];
	size_t who_len;
	/* --chat: the sender's name in the room, "udp:ADDRESS:PORT". */
	char speaker[CHAT_SPEAKER_MAX];
	size_t speaker_len;
	struct chat_voice voice;
	/* --chat-udp: lines per source address (CHAT_UDP_LINES_PER_S), as
	 * the echo budgets. */
	struct udp_bucket *chat_buckets; /* UDP_BUCKETS, or NULL: not said */
	uint64_t chat_limited, chat_dropped; /* of the current burst */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	double rate;		    /* echo bytes per second per source */
	bool rate_exempt_loopback;  /* the default leaves loopback out */
	struct udp_bucket *buckets; /* UDP_BUCKETS, or NULL: no limit */
	uint32_t seed;		    /* of the buckets' hash */
	uint64_t datagrams;
	uint64_t msgs, bytes, truncated; /* of the current burst */
};

/* Brings b's tokens up to date at now: rate a second, at most rate. */
static void bucket_refill(struct udp_bucket *b, double rate, long long now)
{
	if (b->used) {
		b->tokens += rate * (double)(now - b->at_ms) / 1000;
		if (b->tokens > rate)
			b->tokens = rate;
	}
	b->at_ms = now;
}

/*
 * The bucket of the sender's address in table (UDP_BUCKETS of them),
 * brought up to date.  Buckets are direct-mapped by a seeded hash of
 * the address; a slot is handed to another address only once its
 * bucket is full again (its owner idle for a second), so spoofed
 * sources cannot reset the budget of an address they collide with: at
 * worst they share it.
 */
static struct udp_bucket *bucket_of(struct udp_loop *u,
				    struct udp_bucket *table, double rate,
				    const struct iplimit_key *key,
				    long long now)
{
	struct udp_bucket *b;
	uint32_t h = u->seed;

	for (size_t i = 0; i < sizeof(key->addr); i++)
		h = (h ^ key->addr[i]) * 16777619u;
	b = &table[h % UDP_BUCKETS];
	bucket_refill(b, rate, now);
	if (!b->used ||
	    (b->tokens >= rate && memcmp(&b->key, key, sizeof(*key)) != 0)) {
		b->used = true;
		b->key = *key;
		b->tokens = rate; /* a second's worth at once */
	}
	return b;
}

/* --chat-udp: whether the sender's address may say one more line in
 * the room now, and if so charges it.  Loopback is held to the rate
 * too.  (No room-wide rate: one forged flood would silence every
 * honest UDP sender; the members are safe without one, as a UDP line
 * is said only when every member can take it, chat_say_as.) */
static bool chat_allowed(struct udp_loop *u)
{
	struct iplimit_key key;
	struct udp_bucket *b;

	(void)iplimit_address_key((struct sockaddr *)&u->peer, &key);
	b = bucket_of(u, u->chat_buckets, CHAT_UDP_LINES_PER_S, &key,
		      monotime_ms());
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

static int on_message(void *ctx, const char *msg, size_t len, size_t full)
{
	struct udp_loop *u = ctx;
	const struct config *cfg = u->env->cfg;

	u->msgs++;
	if (full > len)
		u->truncated++;
	if (!cfg->quiet)
		log_batch_msg(&u->batch, u->who, u->who_len, msg, len, full);
	/* --chat without --chat-udp: logged, not said (a UDP source can
	 * be forged). */
	if (u->chat_buckets != NULL) {
		if (!chat_allowed(u))
			u->chat_limited++;
		else if (!chat_say_as(u->env->chat, &u->voice, u->speaker,
				      u->speaker_len, msg, len))
			u->chat_dropped++;
	}
	/* Replies are joined into one datagram, whole lines only. */
	if (cfg->echo && !u->reply_cut) {
		if (u->reply_max - u->reply_len < len + 1) {
			u->reply_cut = true;
			return 0;
		}
		memcpy(u->reply + u->reply_len, msg, len);
		u->reply[u->reply_len + len] = '\n';
		u->reply_len += len + 1;
	}
	return 0;
}

/* Whether the sender may be sent cost more bytes now, and if so
 * charges them (its address's bucket, bucket_of). */
static bool echo_allowed(struct udp_loop *u, size_t cost)
{
	struct iplimit_key key;
	struct udp_bucket *b;

	if (u->buckets == NULL)
		return true;
	if (iplimit_address_key((struct sockaddr *)&u->peer, &key) &&
	    u->rate_exempt_loopback)
		return true;
	b = bucket_of(u, u->buckets, u->rate, &key, monotime_ms());
	if (b->tokens < (double)cost)
		return false;
	b->tokens -= (double)cost;
	return true;
}

/* Sends the datagram's joined replies, if its source's budget allows. */
static void send_reply(struct udp_loop *u)
{
	if (u->reply_len == 0 ||
	    !echo_allowed(u, u->reply_len + UDP_HEADER_COST)) {
		if (u->reply_len > 0)
			stats_add(&u->env->stats->udp_echo_limited, 1);
		return;
	}
	/* A lost reply is UDP's nature; a full socket buffer too. */
	(void)sendto(u->fd, u->reply, u->reply_len, MSG_DONTWAIT | MSG_NOSIGNAL,
		     (struct sockaddr *)&u->peer, u->peer_len);
}

/* The largest reply peer can be sent: an IPv4 sender (IPv4-mapped on a
 * dual-stack socket too) is reached over IPv4. */
static size_t reply_max(const struct sockaddr_storage *peer)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;

	if (peer->ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		return UDP_DATAGRAM_MAX;
	return UDP_DATAGRAM_MAX_V4;
}

/* Reads and handles one datagram.  1 when one was handled, 0 when none
 * was queued, -1 on a socket error. */
static int receive_one(struct udp_loop *u)
{
	char addr[NET_ADDR_MAX];
	size_t len;
	ssize_t n;

	u->peer_len = sizeof(u->peer);
	/* The buffer holds the largest datagram IPv6 can carry; with
	 * MSG_TRUNC n is the real length even of one that did not fit (a
	 * jumbogram), so bytes are never undercounted. */
	n = recvfrom(u->fd, u->buf, UDP_DATAGRAM_MAX, MSG_DONTWAIT | MSG_TRUNC,
		     (struct sockaddr *)&u->peer, &u->peer_len);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		/* An ICMP error from an earlier echo reply: not ours. */
		if (errno == ECONNREFUSED)
			return 1;
		return -1;
	}
	u->datagrams++;
	u->bytes += (size_t)n;
	len = (size_t)n < UDP_DATAGRAM_MAX ? (size_t)n : UDP_DATAGRAM_MAX;
	u->who_len = logline_who(
		u->who, sizeof(u->who), "udp",
		net_format((struct sockaddr *)&u->peer, addr, sizeof(addr)),
		u->datagrams);
	if (u->chat_buckets != NULL) {
		/* "?": the source address is whatever the datagram says. */
		int w = snprintf(u->speaker, sizeof(u->speaker), "udp?:%s",
				 addr);

		u->speaker_len = w < (int)sizeof(u->speaker)
					 ? (size_t)w
					 : sizeof(u->speaker) - 1;
	}
	log_batch_stamp(&u->batch);
	u->reply_len = 0;
	u->reply_cut = false;
	u->reply_max = reply_max(&u->peer);
	(void)frame_datagram(u->buf, len, (size_t)u->env->cfg->max_line,
			     on_message, u);
	if (u->env->cfg->echo)
		send_reply(u);
	return 1;
}

/* Up to max datagrams, then the batch goes to the logger. */
static int receive_burst(struct udp_loop *u, int max)
{
	struct stats *st = u->env->stats;
	uint64_t before = u->datagrams;
	int rc = 0, i;

	for (i = 0; i < max; i++) {
		rc = receive_one(u);
		if (rc != 1)
			break;
	}
	log_batch_flush(&u->batch);
	stats_add(&st->udp_datagrams, u->datagrams - before);
	stats_add(&st->udp_msgs, u->msgs);
	stats_add(&st->udp_bytes, u->bytes);
	stats_add(&st->udp_truncated, u->truncated);
	stats_add(&st->chat_udp_limited, u->chat_limited);
	stats_add(&st->chat_udp_dropped, u->chat_dropped);
	u->msgs = u->bytes = u->truncated = 0;
	u->chat_limited = u->chat_dropped = 0;
	return rc == -1 ? -1 : 0;
}

static int run(struct udp_loop *u)
{
	enum { SLOT_SOCKET, SLOT_STOP, SLOTS };
	struct pollfd pfd[SLOTS] = {
		[SLOT_SOCKET] = {.fd = u->fd, .events = POLLIN},
		[SLOT_STOP] = {.fd = u->env->stop_fd, .events = POLLIN},
	};

	for (;;) {
		if (poll(pfd, SLOTS, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[SLOT_SOCKET].revents != 0 &&
		    receive_burst(u, UDP_BURST) == -1)
			return -1;
		if (pfd[SLOT_STOP].revents != 0)
			return receive_burst(u, UDP_DRAIN_MAX);
	}
}

int udp_serve(const struct conn_env *env, int fd)
{
	struct udp_loop u;
	int rc = -1, saved;

	memset(&u, 0, sizeof(u));
	u.env = env;
	u.fd = fd;
	chat_voice_init(&u.voice, (size_t)env->cfg->max_line);
	u.buf = malloc(UDP_DATAGRAM_MAX);
	u.reply = malloc(UDP_DATAGRAM_MAX);
	u.rate_exempt_loopback = env->cfg->udp_echo_rate < 0;
	u.rate =
		(double)(env->cfg->udp_echo_rate < 0 ? CLI_DEFAULT_UDP_ECHO_RATE
						     : env->cfg->udp_echo_rate);
	if (env->cfg->echo && u.rate > 0)
		u.buckets = calloc(UDP_BUCKETS, sizeof(*u.buckets));
	if (env->chat != NULL && env->cfg->chat_udp)
		u.chat_buckets = calloc(UDP_BUCKETS, sizeof(*u.chat_buckets));
	u.seed = 2166136261u ^ (uint32_t)monotime_ms() ^ (uint32_t)getpid();
	if (u.buf == NULL || u.reply == NULL ||
	    (env->cfg->echo && u.rate > 0 && u.buckets == NULL) ||
	    (env->cfg->chat_udp && u.chat_buckets == NULL) ||
	    log_batch_init(&u.batch, env->log, (size_t)env->cfg->max_line) ==
		    -1)
		goto out;
	rc = run(&u);
	log_batch_free(&u.batch);
out:
	saved = errno;
	free(u.buf);
	free(u.reply);
	free(u.buckets);
	free(u.chat_buckets);
	chat_voice_free(&u.voice);
	errno = saved;
	return rc;
}
