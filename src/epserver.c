/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * epserver - an event loop, one thread.
 *
 * The main thread runs one epoll loop (evloop.h) that accepts every
 * client and serves them all, each session a state machine (session.h)
 * stepped by what its socket reports; a separate thread runs the UDP
 * loop, which is one recvfrom after another already; every thread logs
 * through one shared logger.  Compare mtserver.c: the only difference
 * is the concurrency model, serve_clients().
 */
#include "evloop.h"
#include "server.h"

/* One loop accepts and serves: a client costs a few hundred bytes, not
 * a thread, and many clients' messages are answered per epoll_wait. */
static int serve_clients(struct server *srv)
{
	struct evloop *loop = evloop_new(srv, srv->tcp_fd);

	if (loop == NULL)
		return -1;
	server_ready(srv);
	evloop_run(loop);
	evloop_free(loop);
	return 0;
}

int main(int argc, char *argv[])
{
	/* One thread for every client: nothing to save on stacks. */
	static const struct server_model model = {CLI_EPSERVER, false,
						  serve_clients};

	return server_main(argc, argv, &model);
}
