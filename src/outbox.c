/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outbox.c - a client's bounded send queue; the contract is in outbox.h.
 */
#define _GNU_SOURCE /* eventfd */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"

void outbox_init(struct outbox *ob, int fd, size_t cap)
{
	memset(ob, 0, sizeof(*ob));
	atomic_init(&ob->sent, 0);
	ob->fd = fd;
	ob->cap = cap;
	ob->wake_fd = -1;
}

void outbox_set_gauge(struct outbox *ob, atomic_size_t *gauge)
{
	ob->gauge = gauge;
}

/* Brings the gauge to what is kept now (a no-op while that is as it
 * was: nothing kept before, nothing now). */
static void gauge_sync(struct outbox *ob)
{
	size_t now = ob->tail - ob->head;

	if (ob->gauge == NULL || now == ob->gauged)
		return;
	if (now > ob->gauged)
		atomic_fetch_add_explicit(ob->gauge, now - ob->gauged,
					  memory_order_relaxed);
	else
		atomic_fetch_sub_explicit(ob->gauge, ob->gauged - now,
					  memory_order_relaxed);
	ob->gauged = now;
}

int outbox_enable_posts(struct outbox *ob)
{
	int err;

	/* Both buffers now, before any poster: a post runs under the
	 * poster's locks (a chat room's) and must not allocate, and the
	 * owner takes the inbox by swapping it with its own buffer. */
	if (outbox_alloc(ob) == -1 || (ob->inbox = malloc(ob->cap)) == NULL)
		return -1;
	ob->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ob->wake_fd == -1) {
		err = errno;
		goto no_wake;
	}
	err = pthread_mutex_init(&ob->lock, NULL);
	if (err == 0)
		return 0;
	close(ob->wake_fd);
	ob->wake_fd = -1;
no_wake:
	free(ob->inbox);
	ob->inbox = NULL;
	errno = err;
	return -1;
}

int outbox_wake_fd(const struct outbox *ob)
{
	return ob->wake_fd;
}

/* Room for len more bytes at the tail of the owner's buffer: allocates
 * it on first use, moves kept bytes to the front when that makes room. */
static int make_room(struct outbox *ob, size_t len)
{
	if (ob->buf == NULL) {
		if (len > ob->cap) {
			errno = ENOBUFS;
			return -1;
		}
		ob->buf = malloc(ob->cap);
		return ob->buf != NULL ? 0 : -1;
	}
	if (ob->cap - ob->tail >= len)
		return 0;
	if (ob->cap - (ob->tail - ob->head) < len) {
		errno = ENOBUFS;
		return -1;
	}
	memmove(ob->buf, ob->buf + ob->head, ob->tail - ob->head);
	ob->tail -= ob->head;
	ob->head = 0;
	return 0;
}

int outbox_alloc(struct outbox *ob)
{
	if (ob->buf == NULL && (ob->buf = malloc(ob->cap)) == NULL)
		return -1;
	return 0;
}

int outbox_put(struct outbox *ob, const char *data, size_t len)
{
	if (ob->error != 0) {
		ob->dropped += len;
		return 0;
	}
	if (make_room(ob, len) == -1)
		return -1;
	memcpy(ob->buf + ob->tail, data, len);
	ob->tail += len;
	return 0;
}

int outbox_put_line(struct outbox *ob, const char *text, size_t len)
{
	if (ob->error != 0) {
		ob->dropped += len + 1;
		return 0;
	}
	if (make_room(ob, len + 1) == -1)
		return -1;
	memcpy(ob->buf + ob->tail, text, len);
	ob->buf[ob->tail + len] = '\n';
	ob->tail += len + 1;
	return 0;
}

size_t outbox_pending(const struct outbox *ob)
{
	return ob->tail - ob->head;
}

/* Takes the inbox as the owner's queue (which is empty): a swap of
 * buffers under the lock.  Clears the wake descriptor first, so a post
 * after the swap wakes the owner again. */
static void take_inbox(struct outbox *ob)
{
	uint64_t count;
	char *spare;
	ssize_t n;

	if (ob->wake_fd < 0)
		return;
	/* Nothing to learn from the count or a failure: the inbox says. */
	n = read(ob->wake_fd, &count, sizeof(count));
	(void)n;
	pthread_mutex_lock(&ob->lock);
	spare = ob->buf;
	ob->buf = ob->inbox;
	ob->head = 0;
	ob->tail = ob->inbox_len;
	ob->inbox = spare;
	ob->inbox_len = 0;
	pthread_mutex_unlock(&ob->lock);
}

/* Sends the owner's kept bytes until the kernel would block.  0, or -1
 * with errno when the connection failed. */
static int send_kept(struct outbox *ob)
{
	while (ob->head < ob->tail) {
		ssize_t n =
			send(ob->fd, ob->buf + ob->head, ob->tail - ob->head,
			     MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			ob->head += (size_t)n;
			ob->stalled_since_ms = 0;
			/* One writer: a plain add, published for readers. */
			atomic_store_explicit(
				&ob->sent,
				atomic_load_explicit(&ob->sent,
						     memory_order_relaxed) +
					(uint64_t)n,
				memory_order_relaxed);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (ob->stalled_since_ms == 0)
				ob->stalled_since_ms = monotime_ms();
			return 0;
		}
		return -1;
	}
	ob->head = ob->tail = 0;
	ob->stalled_since_ms = 0;
	return 0;
}

/* outbox_flush, without the gauge. */
static long flush_kept(struct outbox *ob)
{
	if (ob->error != 0) {
		errno = ob->error;
		return -1;
	}
	for (;;) {
		if (send_kept(ob) == -1) {
			ob->error = errno;
			(void)outbox_discard(ob);
			errno = ob->error;
			return -1;
		}
		if (ob->head < ob->tail || ob->wake_fd < 0)
			return (long)(ob->tail - ob->head);
		take_inbox(ob);
		if (ob->tail == 0)
			return 0;
	}
}

long outbox_flush(struct outbox *ob)
{
	long kept = flush_kept(ob);

	gauge_sync(ob);
	return kept;
}

long long outbox_stalled_ms(const struct outbox *ob, long long now_ms)
{
	if (ob->stalled_since_ms == 0)
		return 0;
	return now_ms - ob->stalled_since_ms;
}

size_t outbox_discard(struct outbox *ob)
{
	size_t n = ob->tail - ob->head;

	ob->head = ob->tail = 0;
	ob->stalled_since_ms = 0;
	if (ob->wake_fd >= 0) {
		pthread_mutex_lock(&ob->lock);
		n += ob->inbox_len;
		ob->inbox_len = 0;
		pthread_mutex_unlock(&ob->lock);
	}
	ob->dropped += n;
	gauge_sync(ob);
	return n;
}

long outbox_post(struct outbox *ob, const char *data, size_t len)
{
	static const uint64_t one = 1;
	size_t now;
	bool wake;

	pthread_mutex_lock(&ob->lock);
	if (ob->posts_closed) {
		pthread_mutex_unlock(&ob->lock);
		errno = EPIPE;
		return -1;
	}
	if (ob->cap - ob->inbox_len < len) {
		pthread_mutex_unlock(&ob->lock);
		errno = ENOBUFS;
		return -1;
	}
	memcpy(ob->inbox + ob->inbox_len, data, len);
	wake = ob->inbox_len == 0;
	ob->inbox_len += len;
	now = ob->inbox_len;
	pthread_mutex_unlock(&ob->lock);
	/* An eventfd, not a socket: a write that cannot block or fail
	 * while its counter is far from overflowing. */
	if (wake) {
		ssize_t n = write(ob->wake_fd, &one, sizeof(one));

		(void)n;
	}
	return (long)now;
}

uint64_t outbox_sent(struct outbox *ob)
{
	return atomic_load_explicit(&ob->sent, memory_order_relaxed);
}

size_t outbox_posted(struct outbox *ob)
{
	size_t n;

	pthread_mutex_lock(&ob->lock);
	n = ob->inbox_len;
	pthread_mutex_unlock(&ob->lock);
	return n;
}

void outbox_wake(struct outbox *ob)
{
	static const uint64_t one = 1;
	ssize_t n;

	/* An eventfd: the write cannot block, and a failure would only
	 * mean the owner is already awake. */
	n = write(ob->wake_fd, &one, sizeof(one));
	(void)n;
}

void outbox_shutdown_posts(struct outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	ob->posts_closed = true;
	pthread_mutex_unlock(&ob->lock);
	outbox_wake(ob);
}

void outbox_consume_wake(struct outbox *ob)
{
	uint64_t count;
	ssize_t n;

	if (ob->wake_fd < 0)
		return;
	/* Nothing to learn from the count: the inbox is taken by
	 * outbox_flush when the owner's own bytes are out. */
	n = read(ob->wake_fd, &count, sizeof(count));
	(void)n;
}

size_t outbox_memory(const struct outbox *ob)
{
	/* The inbox exists exactly while posts are enabled. */
	return (ob->buf != NULL ? ob->cap : 0) +
	       (ob->wake_fd >= 0 ? ob->cap : 0);
}

void outbox_free(struct outbox *ob)
{
	free(ob->buf);
	ob->buf = NULL;
	if (ob->wake_fd >= 0) {
		pthread_mutex_destroy(&ob->lock);
		close(ob->wake_fd);
		ob->wake_fd = -1;
		free(ob->inbox);
		ob->inbox = NULL;
	}
	ob->head = ob->tail = 0;
	gauge_sync(ob);
}
