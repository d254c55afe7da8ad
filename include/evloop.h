/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evloop.h - the event-loop driver of sessions (session.h): many
 * clients on one thread, on epoll(7), as Redis's ae.c serves them.
 *
 * A loop accepts from its own listener (server_accept_one; the listener
 * is non-blocking), drives each session by what epoll_wait reports for
 * its socket and its outbox's wake-up, and keeps the sessions' deadlines
 * in a min-heap whose earliest one bounds epoll_wait.  The server's stop
 * descriptor is in the loop too: at the stop it accepts what the
 * listen queue holds (at most a backlog, before the drain deadline, as
 * server_accept does), steps every session with SESSION_EV_STOP, and
 * ends once the last one is done.  Nothing in a loop waits on a client;
 * the logger may hold it while its buffers are full (log.h), as it
 * holds every thread of the other models.
 *
 * epserver runs one loop on the main thread; rpserver runs N, each on a
 * thread of its own with a SO_REUSEPORT listener of its own, so the
 * kernel spreads the connections over them.
 *
 * Memory: evloop_new allocates the loop, evloop_free frees it; each
 * client costs its struct conn and one struct evconn (its session),
 * nothing else until it sends.
 * Threads: a loop belongs to the thread that runs it; loops share only
 * the server's thread-safe parts (seats, logger, stats, budget, room).
 * Failure: -1/NULL with errno; nothing here exits.
 */
#ifndef EVLOOP_H
#define EVLOOP_H

#include "server.h"

struct evloop;

/* A loop serving srv's clients from listen_fd.  NULL with errno. */
struct evloop *evloop_new(struct server *srv, int listen_fd);

/* Serves until the server stops and every session has ended. */
void evloop_run(struct evloop *loop);

void evloop_free(struct evloop *loop);

/* Events taken from epoll_wait at a time: a few hundred ready clients
 * per system call, as many as a busy loop finds. */
#define EVLOOP_EVENTS 256
/* Clients accepted per readable listener before the loop serves the
 * ones it has: a burst of connections cannot starve them. */
#define EVLOOP_ACCEPTS 64

#endif
