/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * naive_chat - the obvious chat server, for the chat lesson: what
 * goes wrong when the sender's thread writes to every other socket.
 *
 *   lessons/peers/naive_chat [PORT] listens on 127.0.0.1:PORT (0: any
 *                                   free port) and prints the port
 *
 * Thread per connection, like mtserver.  A member's thread reads a
 * buffer, prefixes each line with "userN: ", and under the member-list
 * lock writes the lines to every other member with blocking send().
 * It works while everyone reads.  When one member stops reading, its
 * socket buffers fill, the next send() to it blocks forever with the
 * lock held, and every other sender then waits for that lock: one
 * member that stops reading stalls the whole room.  (Writing without the
 * lock only moves the stall: each sender blocks on that member in turn.)
 * No escaping, no limits, no shutdown: stop it with a signal.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MEMBERS_MAX = 4096, READ_BUF = 16384 };

/* lock guards members[] and count. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int members[MEMBERS_MAX];
static int count;

static void send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return; /* a broken member: its own thread notices */
		p += n;
		len -= (size_t)n;
	}
}

/* The obvious broadcast: every other member, one blocking send each. */
static void broadcast(int from, const char *lines, size_t len)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < count; i++)
		if (members[i] != from)
			send_all(members[i], lines, len);
	pthread_mutex_unlock(&lock);
}

static void leave(int fd)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < count; i++)
		if (members[i] == fd) {
			members[i] = members[--count];
			break;
		}
	pthread_mutex_unlock(&lock);
	close(fd);
}

static void *member(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char in[READ_BUF], out[2 * READ_BUF + 64], prefix[32];
	size_t have = 0, plen;
	ssize_t n;

	plen = (size_t)snprintf(prefix, sizeof prefix, "user%d: ", fd);
	while ((n = recv(fd, in + have, sizeof in - have, 0)) > 0) {
		size_t len = have + (size_t)n, start = 0, o = 0;

		for (size_t i = 0; i < len; i++) {
			if (in[i] != '\n')
				continue;
			if (o + plen + i - start + 1 > sizeof out) {
				broadcast(fd, out, o);
				o = 0;
			}
			memcpy(out + o, prefix, plen);
			memcpy(out + o + plen, in + start, i - start + 1);
			o += plen + i - start + 1;
			start = i + 1;
		}
		if (o > 0)
			broadcast(fd, out, o);
		have = len - start;
		memmove(in, in + start, have);
		if (have == sizeof in)
			have = 0; /* an over-long line: dropped */
	}
	leave(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof addr;
	pthread_attr_t attr;
	pthread_t thread;
	int lfd, fd, one = 1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 0));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(lfd, SOMAXCONN) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) {
		perror("naive_chat");
		return 1;
	}
	fprintf(stderr, "naive_chat: listening on 127.0.0.1:%u\n",
		ntohs(addr.sin_port));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_mutex_lock(&lock);
		if (count == MEMBERS_MAX) {
			pthread_mutex_unlock(&lock);
			close(fd);
			continue;
		}
		members[count++] = fd;
		pthread_mutex_unlock(&lock);
		if (pthread_create(&thread, &attr, member,
				   (void *)(intptr_t)fd) != 0)
			leave(fd);
	}
}
