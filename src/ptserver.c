/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ptserver - a prethreaded pool of --threads N threads.
 *
 * The main thread accepts; it queues each client for the pool, whose
 * threads, started before the first client, each run one session
 * (conn_serve) to its end and take the next; a separate thread runs the
 * UDP loop; every thread logs through one shared logger.  The main
 * thread accepts rather than every pool thread (Stevens' other
 * prethreaded design) so that admission - --max-clients, --max-per-ip,
 * descriptor shortage, the accept queue's drain at stop - stays in
 * server_accept, one thread's, as in the other models.  Compare
 * mtserver.c: the only difference is the concurrency model,
 * serve_clients().
 */
#include "conn.h"
#include "pool.h"
#include "proto.h"
#include "server.h"

/* Accept a client, queue it for the pool, accept the next: N clients
 * are served at once, the next waits for a thread to finish.  The pool
 * runs before the server says it listens. */
static int serve_clients(struct server *srv)
{
	struct pool pool;
	struct conn *c;

	if (pool_init(&pool, (size_t)srv->cfg.threads) == -1)
		return -1;
	server_ready(srv);
	while ((c = server_accept(srv)) != NULL)
		if (pool_submit(&pool, c) == -1)
			server_refuse(srv, c, PROTO_BUSY_LINE, "no-memory");
	pool_join_all(&pool);
	return 0;
}

int main(int argc, char *argv[])
{
	/* N threads made once, on the pool's own small stacks. */
	static const struct server_model model = {CLI_PTSERVER, false,
						  serve_clients};

	return server_main(argc, argv, &model);
}
