/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outbox.h - a bounded queue of bytes for one client's socket, so that
 * no thread ever blocks in send() on a client that does not read.
 *
 * The rule: try send() directly (MSG_DONTWAIT | MSG_NOSIGNAL); keep what
 * the kernel would not take; wait for POLLOUT, in the same poll(2) as
 * the socket's POLLIN and the stop descriptor, only while bytes are kept.
 * So the common path (the kernel takes everything) costs one send and no
 * copy besides building the reply, and a client that stops reading costs
 * at most the outbox's capacity: its session stops reading it while the
 * outbox is not empty (outbox_pending), and TCP pushes back on it.  When
 * kept bytes make no progress for a while (outbox_stalled_ms), the owner
 * gives up on the client (reason=send-timeout, or slow-reader in a chat).
 *
 * Two ways in:
 *  - the owner (the client's own worker thread, the only one that ever
 *    sends on the socket) appends with outbox_put / outbox_put_line and
 *    sends with outbox_flush;
 *  - any other thread (a chat room delivering another member's line)
 *    posts with outbox_post into a separate inbox of the same capacity,
 *    under the outbox's lock; a post into an empty inbox makes
 *    outbox_wake_fd() readable, which the owner adds to its poll(2)
 *    (POLLIN) and answers with outbox_flush, which takes the inbox (a
 *    pointer swap under the lock; no socket call is ever made under it).
 *    A post that does not fit is refused whole (ENOBUFS): lines are never
 *    cut, and a poster never waits for a slow reader.
 *  Bytes reach the socket in the order they were queued: the owner's own
 *  first, then the inbox's in the order posted.
 *
 * Memory: outbox_init allocates nothing; the owner's buffer of `cap`
 * bytes is allocated on first use, so an idle client costs none, and
 * outbox_enable_posts allocates it and the inbox (as many bytes), so
 * that a post, made under the poster's locks, never allocates;
 * outbox_free frees them and closes the wake descriptor (the socket
 * stays the caller's).  Memory charged:
 * outbox_memory() says how much the outbox holds, for a server's budget.
 *
 * Threads: everything is for the owner except outbox_post and
 * outbox_shutdown_posts, which any thread may call while the outbox
 * exists: a poster must know the owner has not reached outbox_free (a
 * chat room posts under its member-list lock, and the owner leaves the
 * list under that lock before freeing).
 *
 * Failure: -1 with errno; nothing here prints, logs or exits.
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outbox {
	int fd;	    /* the client's socket (the caller's) */
	size_t cap; /* bytes each buffer holds */
	/* Owner only: bytes not yet sent are buf[head, tail). */
	char *buf;
	size_t head, tail;
	long long stalled_since_ms; /* CLOCK_MONOTONIC; 0: not stalled */
	uint64_t dropped;	    /* bytes given up (failed connection) */
	int error;		    /* errno of a failed send: all dropped */
	/* Owner only: a server-wide count of kept bytes (the metrics'
	 * outbox gauge), or NULL; gauged is this outbox's share of it.
	 * It changes only when the kept count does, so the common path
	 * (everything sent at once) costs no atomic operation. */
	atomic_size_t *gauge;
	size_t gauged;
	/* Bytes the socket took, ever: written by the owner only, read by
	 * any thread (a chat room tells a member that reads slowly from
	 * one that does not read, outbox_sent). */
	atomic_uint_fast64_t sent;
	/* Shared, when posts are enabled (outbox_enable_posts): */
	int wake_fd; /* eventfd, or -1 */
	/* lock guards inbox, inbox_len and posts_closed.  Innermost: a
	 * chat room takes it under its own (lock order: chat.c), and
	 * nothing is locked under it. */
	pthread_mutex_t lock;
	char *inbox;
	size_t inbox_len;
	bool posts_closed;
};

/* Prepares ob for socket fd with buffers of cap bytes (> 0).  No
 * allocation; cannot fail. */
void outbox_init(struct outbox *ob, int fd, size_t cap);

/* Keeps *gauge (shared by every outbox of a server) counting the bytes
 * this one keeps, from now until outbox_free.  Owner. */
void outbox_set_gauge(struct outbox *ob, atomic_size_t *gauge);

/* Makes outbox_post usable: allocates both buffers (the owner's, if it
 * has none yet, and the inbox) and creates the wake descriptor.  Owner,
 * before the outbox is published to other threads.  0, or -1 with
 * errno (ENOMEM: no buffers). */
int outbox_enable_posts(struct outbox *ob);

/* The descriptor that becomes readable when the inbox gains bytes, or -1
 * when posts are not enabled. */
int outbox_wake_fd(const struct outbox *ob);

/* Allocates the owner's buffer now rather than on first use (a session
 * that must know it has its memory before it reads).  0, or -1 with
 * ENOMEM. */
int outbox_alloc(struct outbox *ob);

/* Appends data[0..len) to the owner's queue, without sending.  0, or -1
 * with ENOBUFS when it does not fit (nothing appended), ENOMEM. */
int outbox_put(struct outbox *ob, const char *data, size_t len);

/* Appends text[0..len) and '\n'; as outbox_put. */
int outbox_put_line(struct outbox *ob, const char *text, size_t len);

/* Sends what is queued, the owner's then the inbox's, until the kernel
 * would block.  Returns the bytes still kept (0: all sent), or -1 with
 * errno when the connection failed (EPIPE, ECONNRESET...): everything
 * kept is then dropped and counted, and so is whatever is put later. */
long outbox_flush(struct outbox *ob);

/* Any thread: the bytes the socket has taken so far. */
uint64_t outbox_sent(struct outbox *ob);

/* Bytes kept by the owner's queue, not counting the inbox.  The owner
 * waits for POLLOUT on the socket while this is not 0, and for POLLIN on
 * outbox_wake_fd() while it is 0 (the inbox is taken only once the
 * owner's own bytes are out, so that order is kept). */
size_t outbox_pending(const struct outbox *ob);

/* How long kept bytes have made no progress, in ms (0: not stalled);
 * now_ms is CLOCK_MONOTONIC in milliseconds. */
long long outbox_stalled_ms(const struct outbox *ob, long long now_ms);

/* Drops everything kept (owner's and inbox's) and counts it in
 * ob->dropped; returns the bytes dropped now. */
size_t outbox_discard(struct outbox *ob);

/* Any thread: appends data[0..len) to the inbox and wakes the owner.
 * Returns the bytes now waiting in the inbox (> 0: a chat room slows its
 * senders down when a member falls behind), or -1 with ENOBUFS (the
 * inbox is full: the owner's client is not reading) or EPIPE (posts
 * shut down).  Never allocates. */
long outbox_post(struct outbox *ob, const char *data, size_t len);

/* Any thread: the bytes waiting in the inbox. */
size_t outbox_posted(struct outbox *ob);

/* Any thread: refuses posts from now on (EPIPE) and wakes the owner, so
 * that a room giving up on a member that does not read tells its worker
 * at once, even while that worker waits for POLLOUT. */
void outbox_shutdown_posts(struct outbox *ob);

/* Any thread, while posts are enabled: makes outbox_wake_fd() readable,
 * as a post would, so that the owner looks again at whatever it waits
 * for (a chat room: its sender's turn came).  Never blocks. */
void outbox_wake(struct outbox *ob);

/* Owner, while its own queue holds bytes: takes the wake-up without
 * taking the inbox, so that it can keep outbox_wake_fd() in its poll(2)
 * (to hear outbox_shutdown_posts) without the descriptor staying
 * readable.  Safe because outbox_flush takes the inbox, wake-up or not,
 * as soon as the owner's own bytes are out. */
void outbox_consume_wake(struct outbox *ob);

/* Bytes of buffers the outbox holds allocated. */
size_t outbox_memory(const struct outbox *ob);

/* Frees the buffers and the wake descriptor. */
void outbox_free(struct outbox *ob);

#endif
