/*
 * server.h - everything both servers do besides their concurrency model:
 * open the listeners and the log, catch signals, accept clients within
 * the limits, run the UDP thread, shut down and print the summary.
 *
 * A main is then one call, server_main, given its concurrency model: a
 * serve function, a loop of server_accept handing each client to
 * conn_serve (directly in stserver, on a new thread in mtserver).
 * server_main does the rest, the same for both: options, server_open,
 * server_catch_signals, server_start_udp, server_announce, the model's
 * serve function, server_close.
 *
 * Failure: server_open returns -1 with a one-line reason in err and
 * nothing left open or running; after it, nothing here exits the process
 * or stops serving because of one client.
 * Threads: all functions are for the main (accepting) thread, except
 * server_stop, which any thread or a signal handler's context may reach.
 */
#ifndef SERVER_H
#define SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "conn.h"
#include "iplimit.h"
#include "log.h"
#include "stats.h"

/* Descriptors kept back from --max-clients when it is derived from
 * RLIMIT_NOFILE: stdio, listeners, stop pipe, log, the reserve fd, and
 * headroom for the resolver and friends. */
#define SERVER_FD_RESERVE 32

struct server {
	struct config cfg;
	struct conn_env env;
	struct stats stats;
	struct iplimit per_ip;
	struct membudget budget; /* --max-memory */
	struct logger *log;
	struct chat_room *chat; /* --chat, or NULL */
	int log_fd;		/* 1 when logging to standard output */
	int tcp_fd, udp_fd;	/* -1 when that transport is off */
	int stop_pipe[2];	/* [0] becomes readable at shutdown */
	int reserve_fd;		/* spare descriptor for EMFILE, or -1 */
	unsigned port;		/* the bound port (cfg->port may be 0) */
	bool any_addr;		/* no --bind: cfg.bind_addr is net_any_addr() */
	unsigned long nofile;	/* RLIMIT_NOFILE after raising it */
	long max_clients;
	/* Main thread only: */
	uint64_t next_id; /* connection numbers, from 1 */
	bool fd_shortage; /* in an EMFILE burst (logged once) */
	pthread_t udp_thread;
	bool udp_running;
};

/* A concurrency model: how a server program serves its TCP clients. */
struct server_model {
	enum cli_kind kind; /* its command line, and program name */
	/* Thousands of threads: re-exec once for lean stacks (lean.h). */
	bool lean_stacks;
	/* Serves clients from server_accept until it returns NULL.  0, or
	 * -1 with errno when it cannot start serving. */
	int (*serve)(struct server *srv);
};

/* The whole program around model: parses argv, opens the server,
 * serves until SIGINT/SIGTERM, closes it.  Returns main's exit status:
 * 0, 1 (cannot start or serve, or log writes failed), 2 (usage). */
int server_main(int argc, char *argv[], const struct server_model *model);

/* Opens everything cfg asks for (cfg is copied).  0, or -1 with err. */
int server_open(struct server *srv, const struct config *cfg, char *err,
		size_t errlen);

/* SIGINT/SIGTERM start a graceful shutdown, a second one exits at once;
 * SIGPIPE is ignored.  One server per process.  0 or -1 with errno. */
int server_catch_signals(struct server *srv);

/* Starts the UDP thread when UDP is on.  0, or -1 with errno. */
int server_start_udp(struct server *srv);

/* Prints "PROG: listening on ADDR:PORT (tcp, udp; STACKS)", STACKS saying
 * "IPv6 and IPv4" on "::", "IPv4 only: no IPv6 here" when the default
 * address fell back to 0.0.0.0 (and nothing otherwise). */
void server_announce(const struct server *srv, FILE *out);

/* Waits for the next client within the limits and returns its session,
 * counted as active; clients over --max-clients are told "server full"
 * and closed here.  NULL once the server is stopping. */
struct conn *server_accept(struct server *srv);

/* Sends a refused client line ("server busy\n"), logs reason, frees c. */
void server_refuse(struct server *srv, struct conn *c, const char *line,
		   const char *reason);

/* Blocks until a shutdown is requested (for --no-tcp). */
void server_wait_stop(struct server *srv);

/* Asks every thread to stop: async-signal-safe. */
void server_stop(struct server *srv);

/* Stops and joins the UDP thread, flushes and closes the log, prints the
 * summary to out.  Returns the exit status: 0, or 1 when log writes
 * failed. */
int server_close(struct server *srv, FILE *out);

#endif
