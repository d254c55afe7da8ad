/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fkserver - a process per connection (fork).
 *
 * The main thread accepts; each client gets a child process of its own
 * running the session (conn_serve), which exits when the session ends;
 * a separate thread runs the UDP loop.  Every process appends to one log
 * on one descriptor, each through a logger of its own (children.h says
 * why, and what a child can and cannot share).  Compare mtserver.c: the
 * only difference is the concurrency model, serve_clients().
 */
#include "children.h"
#include "conn.h"
#include "proto.h"
#include "server.h"

/* One server per process: the HUP callback finds its children here. */
static struct children children;

/* Accept a client, fork a child for it, accept the next: a slow client
 * never keeps another waiting.  The children's reaper runs before the
 * server says it listens; at the stop the children hear it too. */
static int serve_clients(struct server *srv)
{
	struct conn *c;

	if (children_init(&children, srv) == -1)
		return -1;
	server_ready(srv);
	while ((c = server_accept(srv)) != NULL) {
		if (srv->stopping)
			children_tell_stop(&children);
		if (children_start(&children, c) == -1)
			server_refuse(srv, c, PROTO_BUSY_LINE, "no-process");
	}
	children_tell_stop(&children);
	children_join_all(&children);
	return 0;
}

/* Each child has a logger of its own to reopen. */
static void reopen_children(struct server *srv)
{
	(void)srv;
	children_reopen(&children);
}

int main(int argc, char *argv[])
{
	/* A child's one thread is the forking one: no lean stacks. */
	static const struct server_model model = {
		CLI_FKSERVER, false, serve_clients, reopen_children};

	return server_main(argc, argv, &model);
}
