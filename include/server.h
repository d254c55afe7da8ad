/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.h - everything both servers do besides their concurrency model:
 * open the listeners and the log, catch signals, accept clients within
 * the limits, run the UDP thread, shut down and print the summary.
 *
 * A main is then one call, server_main, given its concurrency model: a
 * serve function, a loop of server_accept handing each client to
 * conn_serve (directly in stserver, on a new thread in mtserver).
 * server_main does the rest, the same for both: options, server_open,
 * server_catch_signals, server_start_udp, the model's serve function
 * (which calls server_ready once its threads run), server_close.
 *
 * Failure: server_open returns -1 with a one-line reason in err and
 * nothing left open or running; after it, nothing here exits the process
 * or stops serving because of one client.
 * Threads: all functions are for the main (accepting) thread, except
 * server_stop, which any thread may call.  A SIGINT/SIGTERM does not
 * call it: the handler writes to the same stop pipe itself.
 */
#ifndef SERVER_H
#define SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "notify.h"
#include "seats.h"
#include "signals.h"
#include "stats.h"

/* Descriptors kept back from --max-clients when it is derived from
 * RLIMIT_NOFILE: stdio, listeners, stop pipe, log, the reserve fd, and
 * headroom for the resolver and friends. */
#define SERVER_FD_RESERVE 32

/* At a stop the log has this long past the drain deadline to write what
 * it holds; from then on what its destination does not take at once (a
 * FIFO or pipe nobody reads) is dropped and counted (log_give_up_at),
 * and the exit status is 1.  So a stop ends by --drain-timeout plus
 * this, plus the little CPU work of joining and closing. */
#define SERVER_LOG_GRACE_MS 1000
/* A backstop past that: should the stop still not be over (a write(2)
 * stuck in the kernel on a hung disk, which nothing interrupts), the
 * signal thread forces the exit as a third signal would (at most
 * another 5 s), with exit status 1.  Far above what closing takes on a
 * loaded machine. */
#define SERVER_STOP_BACKSTOP_MS 5000

struct server {
	struct config cfg;
	/* Descriptors --max-clients needs, when RLIMIT_NOFILE (raised to
	 * its hard limit at start) is less; else 0: said on stderr and in
	 * the start line. */
	unsigned long nofile_needed;
	struct conn_env env;
	struct stats stats;
	struct seats seats;	 /* the clients being served */
	struct membudget budget; /* --max-memory */
	struct logger *log;
	struct chat_room *chat; /* --chat, or NULL */
	struct broker *broker;	/* --broker, or NULL */
	int log_fd;		/* 1 when logging to standard output */
	bool log_created;	/* server_open made the log file */
	int tcp_fd, udp_fd;	/* -1 when that transport is off */
	int stop_pipe[2];	/* [0] becomes readable at shutdown */
	int reserve_fd;		/* spare descriptor for EMFILE, or -1 */
	int pid_fd;		/* --pid-file, locked (pidfile.h), or -1 */
	unsigned port;		/* the bound port (cfg->port may be 0) */
	struct net_addr addr;	/* the bound address, parsed once */
	bool any_addr;		/* no --bind: cfg.bind_addr is net_any_addr() */
	bool passed;		/* listeners from systemd (activation.h) */
	/* Started by an upgrade (upgrade.h): the old process's pipe, until
	 * server_ready tells it this one listens; else -1. */
	int upgrade_ready_fd;
	bool upgraded;	      /* the listeners came from an upgrade */
	unsigned long nofile; /* RLIMIT_NOFILE after raising it */
	struct signals signals;
	struct notifier notify; /* readiness for systemd (notify.h) */
	/* The --metrics endpoint, or NULL. */
	struct metrics_server *metrics;
	/* Guards log against the signal thread while server_close closes
	 * it (NULL after). */
	pthread_mutex_t log_guard;
	/* CLOCK_MONOTONIC ms by which every session must have drained;
	 * 0 until the first server_stop sets it. */
	atomic_llong drain_deadline_ms;
	/* Any accepting thread (an event-loop model has several): */
	atomic_uint_fast64_t next_id; /* connection numbers, from 1 */
	atomic_bool fd_shortage;      /* in an EMFILE burst (logged once) */
	/* Guards reserve_fd while accepting threads shed clients.  Taken
	 * alone. */
	pthread_mutex_t shed_lock;
	/* Main thread only: */
	bool stopping; /* accepting what the queue holds at stop */
	long stop_accepts;
	pthread_t udp_thread;
	bool udp_running;
	const struct server_model *model; /* set before any signal */
};

/* A concurrency model: how a server program serves its TCP clients. */
struct server_model {
	enum cli_kind kind; /* its command line, and program name */
	/* Thousands of threads: re-exec once for lean stacks (lean.h). */
	bool lean_stacks;
	/* Starts the threads it needs, calls server_ready (nothing says
	 * "listening" before every thread runs), then serves clients from
	 * server_accept until it returns NULL.  0, or -1 with errno when
	 * it cannot start (server_main then exits 1). */
	int (*serve)(struct server *srv);
	/* The model's part of a HUP, after the log's reopen, on the
	 * signal thread; NULL: none (fkserver passes it on to each child,
	 * whose logger is its own). */
	void (*reopen)(struct server *srv);
};

/* The whole program around model: parses argv, opens the server,
 * serves until SIGINT/SIGTERM, closes it.  Returns main's exit status:
 * 0, 1 (cannot start a thread, or log lines lost), 2 (usage). */
int server_main(int argc, char *argv[], const struct server_model *model);

/* Opens everything cfg asks for (cfg is copied).  First it blocks the
 * signals the signal thread takes (signals_block) in the calling thread,
 * before the logger's thread exists.  The listeners are the sockets
 * systemd passed when there are any (activation.h; PORT and --bind are
 * then not used), else bound here; NOTIFY_SOCKET is read (notify.h).
 * 0, or -1 with err. */
int server_open(struct server *srv, const struct config *cfg, char *err,
		size_t errlen);

/* Starts the signal thread (signals.h; server_open blocked the signals
 * before any thread existed): TERM/INT stop gracefully (STOPPING=1 to
 * systemd), the same again within a second counts once, a later one or
 * QUIT forces the exit after one bounded write of what the log holds
 * (exit 128+signal), HUP reopens the log file (RELOADING=1, then
 * READY=1), USR2 starts the new binary with the listeners (upgrade.h)
 * and, once it listens, tells systemd MAINPID= and stops as TERM does.  One
 * server per process.  0 or -1 with errno. */
int server_catch_signals(struct server *srv);

/* Starts the UDP thread when UDP is on.  0, or -1 with errno. */
int server_start_udp(struct server *srv);

/* Starts the --metrics endpoint's thread when it is on (server_open
 * bound it).  0, or -1 with errno. */
int server_start_metrics(struct server *srv);

/* The server can serve: prints the listening line on standard error
 * (server_announce), with --metrics "PROG: metrics at
 * http://ADDR:PORT/metrics" after it, tells systemd READY=1 and starts
 * the STATUS= updates (notify.h).  For a model's serve function, once
 * its threads run. */
void server_ready(struct server *srv);

/* Prints "PROG: listening on ADDR:PORT (tcp, udp; STACKS)", STACKS saying
 * "IPv6 and IPv4" on "::", "IPv4 only: no IPv6 here" when the default
 * address fell back to 0.0.0.0 (and nothing otherwise), followed by
 * "; sockets passed by systemd" for passed listeners ("; sockets
 * handed over by an upgrade" for an upgrade's). */
void server_announce(const struct server *srv, FILE *out);

/* Waits for the next client within the limits and returns its session,
 * counted as active; clients over --max-clients are told "server full"
 * and closed here.  Once the server is stopping it still returns the
 * clients already in the accept queue (without waiting, at most a full
 * backlog, before the drain deadline), then NULL. */
struct conn *server_accept(struct server *srv);

/* server_accept_one's answers. */
enum server_take {
	SERVER_TOOK,  /* *out is a new session, counted as active */
	SERVER_NEXT,  /* a client was refused (or accept failed): again */
	SERVER_EMPTY, /* nothing queued */
};

/* Takes one client from listen_fd (non-blocking) without waiting, within
 * the limits, as server_accept does: for an event loop, which knows the
 * listener is readable and the server's state.  Any thread. */
enum server_take server_accept_one(struct server *srv, int listen_fd,
				   struct conn **out);

/* As server_accept_one, for a client someone else accepted from
 * listen_fd (io_uring's accept: fd, or -errno when it failed). */
enum server_take server_take_accepted(struct server *srv, int listen_fd, int fd,
				      struct conn **out);

/* Another listener on the server's address and port, non-blocking,
 * beside the first (rpserver: both have SO_REUSEPORT, and the kernel
 * spreads new connections over them).  The fd, or -1 with err (a
 * listener passed by systemd or an upgrade without SO_REUSEPORT:
 * EADDRINUSE). */
int server_listen_again(struct server *srv, char *err, size_t errlen);

/* Sends a refused client line (proto.h), logs reason, frees c (which
 * gives back its seat, if it had one). */
void server_refuse(struct server *srv, struct conn *c, const char *line,
		   const char *reason);

/* Blocks until a shutdown is requested (for --no-tcp). */
void server_wait_stop(struct server *srv);

/* Asks every thread to stop, sessions to drain by one deadline
 * (--drain-timeout from the first call): async-signal-safe, so the
 * signal thread may call it; server_close calls it too. */
void server_stop(struct server *srv);

/* Tells systemd STOPPING=1 (if the signal thread did not), stops and
 * joins the UDP thread, flushes and closes the log, prints the
 * summary to out (with the sessions drained and cut at stop, and the log
 * lines lost if any).  Returns the exit status: 0, or 1 when log lines
 * were lost. */
int server_close(struct server *srv, FILE *out);

#endif
