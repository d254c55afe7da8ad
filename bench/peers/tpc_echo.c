/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tpc_echo - the minimal thread-per-connection echo server: the ceiling of
 * mtserver's concurrency model, for `make bench`'s ping-pong section.
 *
 *   bench/peers/tpc_echo [PORT]    listens on 127.0.0.1:PORT (0: any free
 *                                  port) and prints the port it got
 *
 * Accept; one detached thread per client; recv, send, nothing else: no
 * framing, no log, no limits, no shutdown.  Whatever mtserver --echo costs
 * beyond this loop is the price of its features.  Stop it with a signal.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* One TCP segment's worth of echo per call is plenty for request/reply. */
enum { ECHO_BUF = 16384 };

static void *echo_client(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[ECHO_BUF];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break;
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof addr;
	pthread_attr_t attr;
	pthread_t thread;
	int lfd, fd;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 0));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(lfd, SOMAXCONN) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) {
		perror("tpc_echo");
		return 1;
	}
	fprintf(stderr, "tpc_echo: listening on 127.0.0.1:%u\n",
		ntohs(addr.sin_port));

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) /* EINTR, or a connection aborted in the queue */
			continue;
		if (pthread_create(&thread, &attr, echo_client,
				   (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}
