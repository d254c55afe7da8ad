/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * uring.h - the io_uring driver of sessions (session.h): many clients on
 * one thread, on one ring (liburing), the way evloop.h serves them on
 * epoll(7), but with the kernel doing the accepting and the receiving.
 *
 * One multishot accept takes every client; one multishot receive per
 * client lands its bytes in a ring of provided buffers the loop shares,
 * and the loop feeds them to the session (session_feed): no recv(2) per
 * message, and no buffer per idle client.  What the session could not
 * take yet (a chat sender held back, an echo outbox full) is copied out
 * and kept with the client, and its receive is cancelled until the
 * session reads again, so a client that does not get read costs at most
 * what it had in flight.  The session sends its outbox itself, with
 * send(2) as in every model (outbox.h): the ring only polls for
 * writability (IORING_OP_POLL_ADD, POLLOUT) when an outbox is stuck.
 * The chat room's wake-up descriptor and the server's stop are polls in
 * the ring too; the sessions' deadlines are a min-heap (timerheap.h)
 * whose earliest bounds the wait for completions.  During the PROXY
 * header phases the session reads its socket itself, after a poll.
 *
 * One ring, one thread: a second ring would be a second loop with a
 * listener of its own (as rpserver does for epoll), not a faster one;
 * this driver is the one-loop model set beside epserver.
 *
 * Memory: uring_new allocates the loop and URING_BUFS x URING_BUF_SIZE
 * of provided buffers; each client costs its struct conn and one struct
 * urconn, plus what it had received and the session could not take.
 * Threads: the loop belongs to the thread that runs it.
 * Failure: -1/NULL with errno; nothing here exits.
 */
#ifndef URING_H
#define URING_H

#include <stddef.h>

#include "server.h"

struct uring;

/* Whether this kernel lets us run the loop: 0, or -1 with errno and a
 * one-line reason in why ("io_uring_setup: Function not implemented",
 * "the kernel has no IORING_OP_..."). */
int uring_check(char *why, size_t whylen);

/* A loop serving srv's clients from listen_fd.  NULL with errno. */
struct uring *uring_new(struct server *srv, int listen_fd);

/* Serves until the server stops and every session has ended. */
void uring_run(struct uring *loop);

void uring_free(struct uring *loop);

/* Provided buffers: one receive completion carries at most a buffer,
 * which a session's framer always has room for (FRAME_READ_SIZE);
 * 4 KiB holds a ping-pong burst of a hundred short lines, and 1024 of
 * them (4 MiB, touched as used) let that many clients' bytes wait for
 * the loop at once.  The pool also bounds what a client the session
 * stopped reading can have received before its cancel lands: a
 * multishot receive on a socket that is never empty fills buffers
 * until the pool runs dry. */
#define URING_BUF_SIZE (4 * (size_t)1024)
#define URING_BUFS     1024
/* Submission queue entries: a round's re-armed receives and polls. */
#define URING_ENTRIES 1024

#endif
