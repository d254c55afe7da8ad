/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mtclient - the tutorial's TCP and UDP clients in one, done right.
 *
 *   mtclient [--udp] [--wait MS] HOST PORT
 *
 * Each line read from standard input is sent as one '\n'-terminated
 * message (with --udp, one datagram: a line longer than the largest
 * datagram goes as several, and one exactly that long without its '\n',
 * which a datagram's end stands for).  Whatever the server sends back is
 * printed as it arrives, so echo replies show up.  "quit" or end of input
 * ends the session: TCP half-closes and prints replies until the server
 * closes; UDP waits --wait milliseconds for late replies.
 * Exit status: 0 ok, 1 runtime error (refused, reset, closed early),
 * 2 usage error.
 */
#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "net.h"
#include "proto.h"
#include "udp.h" /* the largest datagrams, over IPv4 and IPv6 */

/* Input is read into a buffer as long as the largest datagram and one
 * byte more: a line that fills a datagram is still seen to end (its
 * '\n' fits).  A line longer than the buffer is sent in pieces: over
 * TCP the stream joins them up again, over UDP each is a datagram. */
#define INPUT_MAX (UDP_DATAGRAM_MAX + 1)
/* Default wait for UDP replies after the last line. */
#define UDP_WAIT_MS 500

struct client {
	int fd;
	bool udp;
	size_t dgram_max; /* largest datagram to this server's family */
	int wait_ms;
	char line[INPUT_MAX];
	size_t len;
	bool long_line; /* the current line's start is sent already */
	bool quit_sent;
	bool input_done;
	bool got_reply;	    /* anything received yet */
	bool refused;	    /* the server's first line refused us */
	bool output_failed; /* writing a reply to stdout failed */
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "mtclient: %s (try --help)\n", msg);
	return 2;
}

static void usage(void)
{
	printf("Usage: mtclient [--udp] [--wait MS] HOST PORT\n"
	       "Send each line of standard input to a line server as one "
	       "message (with --udp,\none datagram) and print what comes "
	       "back.  'quit' or end of input ends it.\n\n"
	       "  -u, --udp        use UDP datagrams instead of a TCP "
	       "connection; a line\n"
	       "                   longer than the largest datagram (%d "
	       "bytes over IPv4,\n"
	       "                   %d over IPv6) is sent as several, with "
	       "a warning\n"
	       "  -w, --wait MS    with --udp, wait MS for replies after the "
	       "last line\n"
	       "                   (default %d)\n"
	       "  -h, --help       this text\n"
	       "  -V, --version    version\n\n"
	       "Exit status: 0 ok, 1 runtime error, 2 usage error.\n\n"
	       "%s\n",
	       UDP_DATAGRAM_MAX_V4, UDP_DATAGRAM_MAX, UDP_WAIT_MS,
	       CLI_REPORT_BUGS);
}

static int send_datagram(const struct client *cl, const char *p, size_t n)
{
	return send(cl->fd, p, n, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

/* A piece of a line longer than a datagram is about to go: said once
 * per line, since the server sees each piece as a message of its own. */
static void warn_long_line(struct client *cl)
{
	if (!cl->long_line)
		fprintf(stderr,
			"mtclient: line longer than %zu bytes sent as several "
			"datagrams\n",
			cl->dgram_max);
	cl->long_line = true;
}

/* The rest of a UDP line, n bytes at p (p[n] is ours to write): pieces
 * of dgram_max bytes while more is left, then the last piece with its
 * '\n' when that fits (a datagram's end ends a message as well). */
static int send_udp_line(struct client *cl, char *p, size_t n)
{
	while (n > cl->dgram_max) {
		warn_long_line(cl);
		if (send_datagram(cl, p, cl->dgram_max) == -1)
			return -1;
		p += cl->dgram_max;
		n -= cl->dgram_max;
	}
	if (n < cl->dgram_max)
		p[n++] = '\n';
	return send_datagram(cl, p, n);
}

static bool is_quit(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len == sizeof(PROTO_QUIT) - 1 &&
	       memcmp(line, PROTO_QUIT, len) == 0;
}

/* Sends the end of a line, n bytes at p (p[n] is ours to write), as
 * one message: over TCP with its '\n'; over UDP as above. */
static int send_line(struct client *cl, char *p, size_t n)
{
	bool quit = !cl->long_line && is_quit(p, n);
	int rc;

	if (cl->udp) {
		rc = send_udp_line(cl, p, n);
	} else {
		p[n] = '\n';
		rc = net_send_all(cl->fd, p, n + 1);
	}
	cl->long_line = false;
	cl->quit_sent = quit;
	return rc;
}

/* The buffer is full and holds no '\n': the line is longer than the
 * buffer, so longer than a datagram.  Its first piece goes now (UDP: a
 * datagram's worth; TCP: all of it) and the rest moves to the front. */
static int send_long_piece(struct client *cl)
{
	size_t n = cl->udp ? cl->dgram_max : cl->len;

	if (cl->udp)
		warn_long_line(cl);
	if ((cl->udp ? send_datagram(cl, cl->line, n)
		     : net_send_all(cl->fd, cl->line, n)) == -1)
		return -1;
	cl->long_line = true;
	memmove(cl->line, cl->line + n, cl->len - n);
	cl->len -= n;
	return 0;
}

/* Sends every complete line in the buffer; 0 or -1. */
static int send_lines(struct client *cl)
{
	char *nl;

	while (!cl->quit_sent &&
	       (nl = memchr(cl->line, '\n', cl->len)) != NULL) {
		size_t n = (size_t)(nl - cl->line);

		if (send_line(cl, cl->line, n) == -1)
			return -1;
		memmove(cl->line, nl + 1, cl->len - n - 1);
		cl->len -= n + 1;
	}
	return 0;
}

/* Reads standard input; 0 or -1 (send failed). */
static int on_input(struct client *cl)
{
	ssize_t n = read(STDIN_FILENO, cl->line + cl->len,
			 sizeof(cl->line) - cl->len);

	if (n == -1)
		return errno == EINTR ? 0 : -1;
	if (n == 0) {
		cl->input_done = true;
		/* No final newline: the rest is a line; the buffer is never
		 * left full, so line[len] is there for its '\n'. */
		if ((cl->len > 0 || cl->long_line) && !cl->quit_sent &&
		    send_line(cl, cl->line, cl->len) == -1)
			return -1;
		cl->len = 0;
		return 0;
	}
	cl->len += (size_t)n;
	if (send_lines(cl) == -1)
		return -1;
	if (cl->len == sizeof(cl->line) && send_long_piece(cl) == -1)
		return -1;
	return 0;
}

/* Whether buf[0..n), the server's first bytes, is one of the refusal
 * lines mtserver sends before closing (proto.h). */
static bool is_refusal(const char *buf, size_t n)
{
	static const char *const lines[] = {PROTO_FULL_LINE, PROTO_BUSY_LINE,
					    PROTO_PER_IP_LINE};

	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
		size_t len = strlen(lines[i]);

		if (n >= len && memcmp(buf, lines[i], len) == 0)
			return true;
	}
	return false;
}

/* Prints what the server sent.  1 go on, 0 server closed, -1 error. */
static int on_reply(struct client *cl)
{
	char buf[INPUT_MAX]; /* a whole datagram; any part of a stream */
	ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);

	if (n == -1)
		return errno == EINTR ? 1 : -1;
	if (n == 0 && !cl->udp)
		return 0;
	/* mtserver turns a client away with one line before closing. */
	if (!cl->got_reply && !cl->udp && is_refusal(buf, (size_t)n))
		cl->refused = true;
	cl->got_reply = true;
	if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout)) {
		cl->output_failed = true;
		return -1;
	}
	return 1;
}

static int run(struct client *cl)
{
	/* The input slot is last: polled only while sending. */
	enum { SLOT_SERVER, SLOT_INPUT, SLOTS };
	struct pollfd pfd[SLOTS] = {
		[SLOT_SERVER] = {.fd = cl->fd, .events = POLLIN},
		[SLOT_INPUT] = {.fd = STDIN_FILENO, .events = POLLIN},
	};

	for (;;) {
		bool sending = !cl->input_done && !cl->quit_sent;
		int timeout = -1, r;

		/* Done sending: TCP waits for the server to close, UDP for
		 * late replies, wait_ms after the last one. */
		if (!sending && cl->udp)
			timeout = cl->wait_ms;
		r = poll(pfd, sending ? SLOTS : SLOT_INPUT, timeout);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return 0; /* UDP: no more replies */
		if (pfd[SLOT_SERVER].revents != 0) {
			r = on_reply(cl);
			if (r == -1)
				return -1;
			if (r == 0) {
				if (sending) {
					if (!cl->refused)
						fprintf(stderr,
							"mtclient: server closed the connection\n");
					return 1;
				}
				return 0;
			}
		}
		if (sending && pfd[SLOT_INPUT].revents != 0) {
			if (on_input(cl) == -1)
				return -1;
			if ((cl->input_done || cl->quit_sent) && !cl->udp)
				shutdown(cl->fd, SHUT_WR);
		}
	}
}

static int parse_args(struct client *cl, int argc, char *argv[],
		      const char **host, unsigned *port)
{
	static const struct option options[] = {
		{"udp", no_argument, NULL, 'u'},
		{"wait", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	char why[NET_ERR_MAX];
	uint64_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":uw:hV", options, NULL)) != -1) {
		switch (c) {
		case 'u':
			cl->udp = true;
			break;
		case 'w':
			if (cli_parse_u64(optarg, 0, 600000, &v) == -1)
				return usage_error(
					"invalid --wait (expected 0-600000 milliseconds)");
			cl->wait_ms = (int)v;
			break;
		case 'h':
			usage();
			return cli_close_output(stdout, "mtclient", stderr);
		case 'V':
			cli_version(stdout, "mtclient");
			return cli_close_output(stdout, "mtclient", stderr);
		default: /* '?' or ':' */
			cli_option_error(why, sizeof(why), c, argv, options);
			return usage_error(why);
		}
	}
	if (argc - optind != 2)
		return usage_error("expected HOST PORT");
	*host = argv[optind];
	if (cli_parse_u64(argv[optind + 1], 1, 65535, &v) == -1)
		return usage_error("invalid port (expected 1-65535)");
	*port = (unsigned)v;
	return -1; /* go on */
}

int main(int argc, char *argv[])
{
	static struct client cl; /* 64 KiB line buffer: not on the stack */
	char err[NET_ERR_MAX], name[NET_ADDR_MAX];
	struct net_addr addr;
	const char *host = NULL;
	unsigned port = 0;
	int rc;

	cl.wait_ms = UDP_WAIT_MS;
	rc = parse_args(&cl, argc, argv, &host, &port);
	if (rc >= 0)
		return rc;
	if (net_resolve(&addr, host, port, cl.udp ? SOCK_DGRAM : SOCK_STREAM,
			err, sizeof(err)) == -1) {
		fprintf(stderr, "mtclient: %s\n", err);
		return 1;
	}
	cl.dgram_max = addr.ss.ss_family == AF_INET6 ? UDP_DATAGRAM_MAX
						     : UDP_DATAGRAM_MAX_V4;
	cl.fd = socket(addr.ss.ss_family, cl.udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (cl.fd == -1 ||
	    connect(cl.fd, (struct sockaddr *)&addr.ss, addr.len) == -1) {
		fprintf(stderr, "mtclient: cannot connect to %s: %s\n",
			net_format((struct sockaddr *)&addr.ss, name,
				   sizeof(name)),
			strerror(errno));
		return 1;
	}
	rc = run(&cl);
	if (cl.refused) {
		fprintf(stderr, "mtclient: %s refused the connection\n",
			net_format((struct sockaddr *)&addr.ss, name,
				   sizeof(name)));
		rc = 1;
	} else if (rc == -1 && cl.output_failed) {
		fprintf(stderr, "mtclient: write error: %s\n", strerror(errno));
	} else if (rc == -1) {
		fprintf(stderr, "mtclient: %s: %s\n",
			net_format((struct sockaddr *)&addr.ss, name,
				   sizeof(name)),
			strerror(errno));
	}
	close(cl.fd);
	return rc == 0 ? 0 : 1;
}
