/*
 * udp.c - the UDP receive loop; the contract is in udp.h.
 */
#include "udp.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "logline.h"
#include "net.h"

/* Datagrams read per wake-up before the log batch is handed over: a
 * burst costs one lock, and the stop descriptor is looked at again soon. */
#define UDP_BURST 64
/* At shutdown, queued datagrams logged at most: a socket's default
 * receive buffer holds a few hundred small ones; this bounds the wait
 * when a sender keeps going. */
#define UDP_DRAIN_MAX 4096

struct udp_loop {
	const struct conn_env *env;
	int fd;
	char *buf;   /* one datagram, UDP_DATAGRAM_MAX + 1 */
	char *reply; /* one echo reply: max_line + '\n' */
	struct log_batch batch;
	char who[LOGLINE_WHO_MAX];
	size_t who_len;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint64_t datagrams;
	uint64_t msgs, bytes, truncated; /* of the current burst */
};

static int on_message(void *ctx, const char *msg, size_t len, size_t full)
{
	struct udp_loop *u = ctx;
	const struct config *cfg = u->env->cfg;

	u->msgs++;
	if (full > len)
		u->truncated++;
	if (!cfg->quiet)
		log_batch_msg(&u->batch, u->who, u->who_len, msg, len, full);
	if (cfg->echo) {
		memcpy(u->reply, msg, len);
		u->reply[len] = '\n';
		/* A lost reply is UDP's nature; a full socket buffer too. */
		(void)sendto(u->fd, u->reply, len + 1,
			     MSG_DONTWAIT | MSG_NOSIGNAL,
			     (struct sockaddr *)&u->peer, u->peer_len);
	}
	return 0;
}

/* Reads and handles one datagram.  1 when one was handled, 0 when none
 * was queued, -1 on a socket error. */
static int receive_one(struct udp_loop *u)
{
	char addr[NET_ADDR_MAX];
	ssize_t n;

	u->peer_len = sizeof(u->peer);
	n = recvfrom(u->fd, u->buf, UDP_DATAGRAM_MAX + 1, MSG_DONTWAIT,
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
	u->who_len = logline_who(
		u->who, sizeof(u->who), "udp",
		net_format((struct sockaddr *)&u->peer, addr, sizeof(addr)),
		u->datagrams);
	log_batch_stamp(&u->batch);
	(void)frame_datagram(u->buf, (size_t)n, (size_t)u->env->cfg->max_line,
			     on_message, u);
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
	stats_add(&st->truncated, u->truncated);
	u->msgs = u->bytes = u->truncated = 0;
	return rc == -1 ? -1 : 0;
}

static int run(struct udp_loop *u)
{
	struct pollfd pfd[2] = {
		{.fd = u->fd, .events = POLLIN},
		{.fd = u->env->stop_fd, .events = POLLIN},
	};

	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[0].revents != 0 && receive_burst(u, UDP_BURST) == -1)
			return -1;
		if (pfd[1].revents != 0)
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
	u.buf = malloc(UDP_DATAGRAM_MAX + 1);
	u.reply = malloc((size_t)env->cfg->max_line + 1);
	if (u.buf == NULL || u.reply == NULL ||
	    log_batch_init(&u.batch, env->log, (size_t)env->cfg->max_line) ==
		    -1)
		goto out;
	rc = run(&u);
	log_batch_free(&u.batch);
out:
	saved = errno;
	free(u.buf);
	free(u.reply);
	errno = saved;
	return rc;
}
