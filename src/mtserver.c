/*
 * mtserver - thread per connection.
 *
 * The main thread accepts; each client gets a thread of its own running
 * the session (conn_serve); a separate thread runs the UDP loop; every
 * thread logs through one shared logger.  Compare stserver.c: the only
 * difference is serve_clients(), and the workers_lean_stacks() call that
 * makes ten thousand idle threads cost half the memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "conn.h"
#include "proto.h"
#include "server.h"
#include "workers.h"

/* Accept a client, hand it to a new thread, accept the next: a slow
 * client never keeps another waiting. */
static void serve_clients(struct server *srv)
{
	struct workers workers;
	struct conn *c;

	if (workers_init(&workers) == -1) {
		fprintf(stderr, "mtserver: cannot start workers: %s\n",
			strerror(errno));
		return;
	}
	while ((c = server_accept(srv)) != NULL)
		if (workers_start(&workers, c) == -1)
			server_refuse(srv, c, PROTO_BUSY_LINE, "no-thread");
	workers_join_all(&workers);
}

int main(int argc, char *argv[])
{
	struct config cfg;
	struct server srv;
	char err[256];

	workers_lean_stacks(argv);
	switch (cli_parse(&cfg, CLI_MTSERVER, argc, argv, err, sizeof(err))) {
	case CLI_HELP:
		cli_usage(stdout, CLI_MTSERVER);
		return 0;
	case CLI_VERSION:
		cli_version(stdout, "mtserver");
		return 0;
	case CLI_ERROR:
		fprintf(stderr, "mtserver: %s\n", err);
		return 2;
	case CLI_RUN:
		break;
	}
	if (server_open(&srv, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "mtserver: %s\n", err);
		return 1;
	}
	if (server_catch_signals(&srv) == -1 || server_start_udp(&srv) == -1) {
		fprintf(stderr, "mtserver: cannot start: %s\n",
			strerror(errno));
		server_close(&srv, stderr);
		return 1;
	}
	server_announce(&srv, stderr);
	if (cfg.tcp)
		serve_clients(&srv);
	else
		server_wait_stop(&srv);
	return server_close(&srv, stderr);
}
