/*
 * stserver - one client at a time, the tutorial's model done right.
 *
 * The main thread accepts a client and serves it until it leaves; only
 * then does it accept the next, which meanwhile waits in the listen
 * backlog.  Compare mtserver.c: the only difference is serve_clients().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "conn.h"
#include "server.h"

/* Accept a client, serve it to the end, accept the next: while one
 * client is served, every other one waits. */
static void serve_clients(struct server *srv)
{
	struct conn *c;

	while ((c = server_accept(srv)) != NULL) {
		conn_serve(c);
		conn_free(c);
	}
}

int main(int argc, char *argv[])
{
	struct config cfg;
	struct server srv;
	char err[256];

	switch (cli_parse(&cfg, CLI_STSERVER, argc, argv, err, sizeof(err))) {
	case CLI_HELP:
		cli_usage(stdout, CLI_STSERVER);
		return 0;
	case CLI_VERSION:
		cli_version(stdout, "stserver");
		return 0;
	case CLI_ERROR:
		fprintf(stderr, "stserver: %s\n", err);
		return 2;
	case CLI_RUN:
		break;
	}
	if (server_open(&srv, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "stserver: %s\n", err);
		return 1;
	}
	if (server_catch_signals(&srv) == -1) {
		fprintf(stderr, "stserver: cannot start: %s\n",
			strerror(errno));
		server_close(&srv, stderr);
		return 1;
	}
	server_announce(&srv, stderr);
	serve_clients(&srv);
	return server_close(&srv, stderr);
}
