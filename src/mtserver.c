/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mtserver - thread per connection.
 *
 * The main thread accepts; each client gets a thread of its own running
 * the session (conn_serve); a separate thread runs the UDP loop; every
 * thread logs through one shared logger.  Compare stserver.c: the only
 * difference is the concurrency model, serve_clients().
 */
#include "conn.h"
#include "proto.h"
#include "server.h"
#include "workers.h"

/* Accept a client, hand it to a new thread, accept the next: a slow
 * client never keeps another waiting.  The workers' reaper runs before
 * the server says it listens. */
static int serve_clients(struct server *srv)
{
	struct workers workers;
	struct conn *c;

	if (workers_init(&workers) == -1)
		return -1;
	server_ready(srv);
	while ((c = server_accept(srv)) != NULL)
		if (workers_start(&workers, c) == -1)
			server_refuse(srv, c, PROTO_BUSY_LINE, "no-thread");
	workers_join_all(&workers);
	return 0;
}

int main(int argc, char *argv[])
{
	/* Thousands of threads: lean stacks (lean.h). */
	static const struct server_model model = {CLI_MTSERVER, true,
						  serve_clients, NULL};

	return server_main(argc, argv, &model);
}
