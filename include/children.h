/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * children.h - fork per connection: a child process serves each client,
 * the parent keeps the registry of the live ones, reaps them as they
 * end, passes a HUP on to them and stops them.
 *
 * What a child inherits decides what it may use.  fork(2) copies the
 * process but only the forking thread: the parent's logger thread, its
 * signal thread and every lock another thread held at that moment stay
 * behind.  So a child never touches the parent's logger: it starts one
 * of its own (log_open) on the inherited log descriptor - O_APPEND on a
 * regular file puts each of its write(2)s whole at the end, between the
 * others'; on a pipe only writes of at most PIPE_BUF bytes are atomic,
 * which the logger keeps to (log.h) for lines that fit in one - and a
 * thread of its own takes HUP (reopen the log) and TERM (give up on a
 * log nobody reads, at the stop's deadline).  Its seat is the parent's
 * to give back; its per-address table is a fresh, private one.
 *
 * What the children share with the parent is one MAP_SHARED page:
 * the drain deadline (the stop signal a busy session looks at), their
 * counters (added to the parent's summary once they are done) and
 * their buffers' budget (--max-memory across every child).  The parent
 * tells them to stop through a pipe of their own, which it makes
 * readable once its accept loop sees the stop (and which reads as a
 * stop should the parent die), and SIGTERM.
 *
 * --max-clients and --max-per-ip count live children: the parent holds
 * each client's seat (its struct conn, socket closed) until the reaper
 * thread has waited for that child.
 *
 * Threads: children_init, children_start, children_tell_stop and
 * children_join_all are for the accepting thread; children_reopen for
 * any (the signal thread).  The reaper thread reaps with waitpid(-1):
 * a server using this has no other children to wait for (an upgrade's,
 * USR2, may be reaped here instead).
 * Failure: -1 with errno.
 */
#ifndef CHILDREN_H
#define CHILDREN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "conn.h"
#include "membudget.h"
#include "stats.h"

struct server;

/* One live child and the client whose seat it holds. */
struct child {
	pid_t pid;
	struct conn *conn; /* socket closed in the parent */
	LIST_ENTRY(child) link;
};

LIST_HEAD(child_list, child);

/* The page the parent and every child share (MAP_SHARED). */
struct children_shared {
	atomic_llong drain_deadline_ms; /* 0 until the parent stops */
	struct stats stats;		/* the children's sessions */
	struct membudget budget;	/* the children's buffers */
};

struct children {
	struct server *srv;
	struct children_shared *shared;
	int stop_pipe[2]; /* [0] the children's stop descriptor */
	pthread_t reaper;
	/* lock guards list, live and closing; held across fork(2), so
	 * that the reaper never waits for a child not yet listed. */
	pthread_mutex_t lock;
	pthread_cond_t changed; /* live fell, or closing was set */
	struct child_list list;
	size_t live;
	bool closing;	      /* children_join_all has reaped all */
	bool told;	      /* children_tell_stop ran */
	atomic_bool running;  /* children_init is done */
	atomic_ulong failed;  /* children that exited non-zero */
	unsigned long killed; /* past the stop's bound (main thread) */
};

/* Maps the shared page, makes the stop pipe, starts the reaper.  0, or
 * -1 with errno (nothing left open). */
int children_init(struct children *k, struct server *srv);

/* Forks a child that serves c (conn_serve) and exits; the parent keeps
 * c, socket closed, until the child is reaped.  0, or -1 with errno
 * (EAGAIN: no more processes); c is then still the caller's. */
int children_start(struct children *k, struct conn *c);

/* Once the server stops: publishes its drain deadline to the children,
 * makes their stop pipe readable, sends each SIGTERM.  Once; later
 * calls do nothing. */
void children_tell_stop(struct children *k);

/* Sends each live child SIGHUP: each reopens the log itself.  Any
 * thread; nothing before children_init. */
void children_reopen(struct children *k);

/* After children_tell_stop: waits for every child until the drain
 * deadline plus the log's grace (server.h) and a second; kills
 * (SIGKILL) what is left then, reaps all, stops the reaper, adds the
 * children's counters to the server's and frees the rest. */
void children_join_all(struct children *k);

#endif
