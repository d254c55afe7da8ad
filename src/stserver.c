/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stserver - one client at a time, the tutorial's model done right.
 *
 * The main thread accepts a client and serves it until it leaves; only
 * then does it accept the next, which meanwhile waits in the listen
 * backlog.  Compare mtserver.c: the only difference is the concurrency
 * model, serve_clients().
 */
#include "conn.h"
#include "server.h"

/* Accept a client, serve it to the end, accept the next: while one
 * client is served, every other one waits. */
static int serve_clients(struct server *srv)
{
	struct conn *c;

	server_ready(srv); /* no thread of its own to start */
	while ((c = server_accept(srv)) != NULL) {
		conn_serve(c);
		conn_free(c);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	/* One thread: nothing to save on stacks. */
	static const struct server_model model = {CLI_STSERVER, false,
						  serve_clients, NULL};

	return server_main(argc, argv, &model);
}
