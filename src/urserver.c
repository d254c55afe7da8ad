/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * urserver - an event loop on io_uring, one thread.
 *
 * The main thread runs one ring (uring.h) that accepts every client and
 * receives their bytes (multishot accept and receive, provided buffers),
 * each session a state machine (session.h) fed what came; a separate
 * thread runs the UDP loop, as in every model; every thread logs through
 * one shared logger.  Compare epserver.c: the only difference is the
 * concurrency model, serve_clients(), and the check that the kernel
 * lets us have it.
 */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "uring.h"

/* Exit status when io_uring is not there (the kernel's, a sysctl's
 * kernel.io_uring_disabled, a seccomp filter's no): not 1, a failure of
 * a server that ran, nor 2, a usage error. */
#define URSERVER_EXIT_NO_URING 3

/* One ring accepts and serves: a client costs a few hundred bytes, not
 * a thread, and many clients' messages come per io_uring_enter. */
static int serve_clients(struct server *srv)
{
	struct uring *loop = uring_new(srv, srv->tcp_fd);

	if (loop == NULL)
		return -1;
	server_ready(srv);
	uring_run(loop);
	uring_free(loop);
	return 0;
}

/* --help and --version answer without a ring. */
static bool asks_about(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--version") == 0)
			return true;
	return false;
}

int main(int argc, char *argv[])
{
	/* One thread for every client: nothing to save on stacks. */
	static const struct server_model model = {CLI_URSERVER, false,
						  serve_clients, NULL};
	char why[128];

	if (!asks_about(argc, argv) && uring_check(why, sizeof(why)) == -1) {
		fprintf(stderr, "urserver: io_uring is not available: %s\n",
			why);
		return URSERVER_EXIT_NO_URING;
	}
	return server_main(argc, argv, &model);
}
