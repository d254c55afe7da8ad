/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rpserver - N event loops, each with a SO_REUSEPORT listener of its own.
 *
 * N threads (--loops, by default one per online CPU) each run an epoll
 * loop (evloop.h) on a listener of their own, all bound to the same
 * port with SO_REUSEPORT: the kernel spreads new connections over them,
 * so no two loops ever contend for one accept queue; a separate thread
 * runs the UDP loop; every thread logs through one shared logger.
 * Compare mtserver.c: the only difference is the concurrency model,
 * serve_clients().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evloop.h"
#include "net.h"
#include "server.h"

struct loop_thread {
	pthread_t thread;
	struct evloop *loop;
	int listen_fd; /* its own, or the server's (loop 0) */
};

static void *run_loop(void *arg)
{
	evloop_run(((struct loop_thread *)arg)->loop);
	return NULL;
}

static long loops_wanted(const struct server *srv)
{
	long n = srv->cfg.loops > 0 ? srv->cfg.loops
				    : sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

/* Loop i's listener: the server's for the first; another on the same
 * port for the others - or, where the first was passed without
 * SO_REUSEPORT (systemd, an upgrade), the server's too, which the loops
 * then share (each wakes alone: EPOLLEXCLUSIVE). */
static int listener_for(struct server *srv, long i)
{
	char err[NET_ERR_MAX];
	int fd;

	if (i == 0)
		return srv->tcp_fd;
	fd = server_listen_again(srv, err, sizeof(err));
	if (fd == -1 && i == 1)
		fprintf(stderr, "%s: %s: the loops share one listener\n",
			srv->cfg.prog, err);
	return fd;
}

static void close_loops(struct server *srv, struct loop_thread *t, long n)
{
	for (long i = 0; i < n; i++) {
		evloop_free(t[i].loop);
		if (t[i].listen_fd != srv->tcp_fd)
			close(t[i].listen_fd);
	}
	free(t);
}

/* N loops on N threads; the main thread waits for them.  A loop that
 * cannot start stops the server before it listens. */
static int serve_clients(struct server *srv)
{
	long n = loops_wanted(srv), started = 0;
	struct loop_thread *t = calloc((size_t)n, sizeof(*t));
	int err = 0;

	if (t == NULL)
		return -1;
	for (long i = 0; i < n && err == 0; i++) {
		t[i].listen_fd = listener_for(srv, i);
		if (t[i].listen_fd == -1)
			t[i].listen_fd = srv->tcp_fd;
		t[i].loop = evloop_new(srv, t[i].listen_fd);
		if (t[i].loop == NULL)
			err = errno;
	}
	for (; started < n && err == 0; started++)
		err = pthread_create(&t[started].thread, NULL, run_loop,
				     &t[started]);
	if (err == 0)
		server_ready(srv);
	else
		server_stop(srv); /* the started loops end at once */
	for (long i = 0; i < started; i++)
		pthread_join(t[i].thread, NULL);
	close_loops(srv, t, n);
	errno = err;
	return err == 0 ? 0 : -1;
}

int main(int argc, char *argv[])
{
	/* A few threads: nothing to save on stacks. */
	static const struct server_model model = {CLI_RPSERVER, false,
						  serve_clients};

	return server_main(argc, argv, &model);
}
