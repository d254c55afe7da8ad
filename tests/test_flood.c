/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_flood.c - flood as a child process over loopback.
 *
 * Part (a) runs flood against tiny servers inside this test process (a
 * thread with poll() on 127.0.0.1, port 0): a sink, an echo, a wrong
 * echo, a "server full" refuser and a lossy UDP echo, so that flood's
 * own behaviour is tested without mtserver.  Part (b) runs it against
 * the real mtserver and checks the server's log with --verify-log; it
 * is skipped when mtserver has not been built.
 *
 * Every wait is bounded (h_wait_exit timeouts, the servers' poll
 * timeouts); no test asserts on timing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "hdrlog.h"

/* A flood run in these tests takes well under a second; a minute means
 * it hangs (and flood's own --max-time ends it first). */
#define FLOOD_WAIT_MS 60000

/* ---- the in-process servers ---- */

enum srv_mode {
	SRV_SINK,      /* read and count, close at EOF */
	SRV_SLOW,      /* a sink that reads nothing for its first 500 ms */
	SRV_ECHO,      /* send every byte back */
	SRV_WRONG,     /* send back with every 'x' turned into 'y' */
	SRV_FULL,      /* say "server full" and close */
	SRV_UDP_DROP,  /* UDP echo that drops every 10th datagram */
	SRV_UDP_ECHO,  /* UDP echo, at once */
	SRV_DELAY,     /* TCP echo, one client, each reply DELAY_MS late */
	SRV_UDP_DELAY, /* UDP echo, each reply DELAY_MS late */
	SRV_STALL,     /* TCP echo, one client, that stops reading for
			  STALL_MS, STALL_AT_MS after the first message */
	SRV_DEAF,      /* accept, and never read a byte */
	SRV_CUT,       /* a sink that closes each connection once it has
			  read CUT_BYTES from it, unread bytes and all */
};

/* About 60 of flood's 32-byte messages a connection, cut mid-message. */
#define CUT_BYTES 2000

/* A delay much longer than loopback's round trip (tens of us) and than
 * a scheduling hiccup is likely to hide; short enough for 50 replies. */
#define DELAY_MS 20
/* The stall: a quarter of a 2 s run, starting well inside it. */
#define STALL_AT_MS 500
#define STALL_MS    500

/* 64 connections: more than any test here opens at once. */
#define SRV_CONNS 64
/* Descriptors SRV_CUT counts bytes for: far above what a test opens. */
#define SRV_FDS 1024
/* Read size: any will do; 16 KiB keeps the loop short. */
#define SRV_BUF 16384

struct srv {
	enum srv_mode mode;
	int fd; /* listening TCP socket or the UDP socket */
	int port;
	pthread_t tid;
	atomic_int stop;
	/* Written by the server thread, read after pthread_join(). */
	uint64_t bytes;
	uint64_t datagrams;
	uint64_t accepted;
	uint64_t lines;		      /* '\n' bytes read: whole messages */
	uint32_t conn_bytes[SRV_FDS]; /* SRV_CUT: read per descriptor */
	atomic_ullong served;	      /* bytes read, for a test waiting on it */
};

static int srv_socket(int type, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 128) == -1) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static void write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the client went away: its problem */
		p += n;
		len -= (size_t)n;
	}
}

/* One read from a client; 0 when the connection should be closed. */
static int srv_serve(struct srv *s, int fd)
{
	char buf[SRV_BUF];
	/* SRV_CUT reads at most a connection's share at a time. */
	ssize_t n = recv(fd, buf, s->mode == SRV_CUT ? CUT_BYTES : sizeof(buf),
			 0),
		i;

	if (n == -1 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	s->bytes += (uint64_t)n;
	atomic_fetch_add(&s->served, (unsigned long long)n);
	for (i = 0; i < n; i++)
		s->lines += buf[i] == '\n';
	if (s->mode == SRV_CUT && fd < SRV_FDS) {
		s->conn_bytes[fd] += (uint32_t)n;
		if (s->conn_bytes[fd] >= CUT_BYTES) {
			s->conn_bytes[fd] = 0;
			return 0; /* closed with what is still unread */
		}
	}
	if (s->mode == SRV_WRONG)
		for (i = 0; i < n; i++)
			buf[i] = buf[i] == 'x' ? 'y' : buf[i];
	if (s->mode == SRV_ECHO || s->mode == SRV_WRONG)
		write_all(fd, buf, (size_t)n);
	return 1;
}

static void srv_accept(struct srv *s, struct pollfd *pfd, nfds_t *n)
{
	int fd = accept(s->fd, NULL, NULL);

	if (fd == -1)
		return;
	s->accepted++;
	if (s->mode == SRV_FULL) {
		write_all(fd, "server full\n", 12);
		close(fd);
		return;
	}
	if (*n == SRV_CONNS + 1) {
		close(fd);
		return;
	}
	pfd[*n].fd = fd;
	pfd[*n].events = POLLIN;
	(*n)++;
}

static void *srv_tcp_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd[SRV_CONNS + 1];
	long long quiet_until = h_now_ms() + (s->mode == SRV_SLOW ? 500 : 0);
	nfds_t n = 1, i;

	pfd[0].fd = s->fd;
	pfd[0].events = POLLIN;
	while (!atomic_load(&s->stop)) {
		/* Quiet: accept, but leave the clients' bytes unread. */
		int quiet = s->mode == SRV_DEAF || h_now_ms() < quiet_until;

		for (i = 1; i < n; i++)
			pfd[i].revents = 0;
		if (poll(pfd, quiet ? 1 : n, 50) <= 0)
			continue;
		for (i = n; i-- > 1;) {
			if (pfd[i].revents == 0 || srv_serve(s, pfd[i].fd))
				continue;
			close(pfd[i].fd);
			pfd[i] = pfd[--n];
		}
		if (pfd[0].revents & POLLIN)
			srv_accept(s, pfd, &n);
	}
	for (i = 1; i < n; i++)
		close(pfd[i].fd);
	return NULL;
}

/* One client, blocking: each reply is sent DELAY_MS after its request
 * was read (SRV_DELAY), or at once except during the stall
 * (SRV_STALL). */
static void *srv_tcp_one_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd = {s->fd, POLLIN, 0};
	long long first = -1;
	char buf[SRV_BUF];
	ssize_t n;
	int fd;

	while (!atomic_load(&s->stop) && poll(&pfd, 1, 50) <= 0)
		;
	if (atomic_load(&s->stop) || (fd = accept(s->fd, NULL, NULL)) == -1)
		return NULL;
	s->accepted++;
	pfd.fd = fd;
	while (!atomic_load(&s->stop)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		s->bytes += (uint64_t)n;
		if (first == -1)
			first = h_now_ms();
		if (s->mode == SRV_DELAY)
			h_sleep_ms(DELAY_MS);
		else if (h_now_ms() >= first + STALL_AT_MS &&
			 h_now_ms() < first + STALL_AT_MS + STALL_MS)
			h_sleep_ms((int)(first + STALL_AT_MS + STALL_MS -
					 h_now_ms()));
		write_all(fd, buf, (size_t)n);
	}
	close(fd);
	return NULL;
}

static void *srv_udp_main(void *arg)
{
	struct srv *s = arg;
	struct sockaddr_storage from;
	struct pollfd pfd = {s->fd, POLLIN, 0};
	char buf[SRV_BUF];
	socklen_t len;
	ssize_t n;

	while (!atomic_load(&s->stop)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		len = sizeof(from);
		n = recvfrom(s->fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &len);
		if (n < 0)
			continue;
		s->bytes += (uint64_t)n;
		if (s->mode == SRV_UDP_DROP && s->datagrams % 10 == 9) {
			s->datagrams++;
			continue; /* dropped */
		}
		s->datagrams++;
		if (s->mode == SRV_UDP_DELAY)
			h_sleep_ms(DELAY_MS);
		sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
	return NULL;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
	int udp = mode == SRV_UDP_DROP || mode == SRV_UDP_ECHO ||
		  mode == SRV_UDP_DELAY;
	int one = mode == SRV_DELAY || mode == SRV_STALL;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	atomic_init(&s->stop, 0);
	atomic_init(&s->served, 0);
	s->fd = srv_socket(udp ? SOCK_DGRAM : SOCK_STREAM, &s->port);
	assert_true(s->fd >= 0);
	assert_int_equal(pthread_create(&s->tid, NULL,
					udp   ? srv_udp_main
					: one ? srv_tcp_one_main
					      : srv_tcp_main,
					s),
			 0);
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->tid, NULL);
	close(s->fd);
}

/* A port on which nothing listens (bound, then closed at once). */
static int dead_port(void)
{
	int port = 0, fd = srv_socket(SOCK_STREAM, &port);

	assert_true(fd >= 0);
	close(fd);
	return port;
}

/* ---- running flood ---- */

/* A typed end marker for the variadic argument lists: a bare NULL may
 * be a plain 0, which is not a pointer. */
#define END ((const char *)NULL)

struct run {
	int status;
	char *out; /* stdout, NUL-terminated, malloc'd */
	char *err; /* stderr */
};

/* Runs flood -p port --max-time 50 ARGS... (ending with END), or with
 * port 0 flood ARGS...; with busy != NULL, sends it SIGINT once that
 * server has served something. */
static void vflood(struct run *r, int port, struct srv *busy, va_list ap)
{
	const char *argv[40];
	char portbuf[16];
	struct h_proc p;
	size_t n = 0, len;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	if (port != 0) {
		argv[n++] = "-p";
		argv[n++] = portbuf;
		argv[n++] = "--max-time";
		argv[n++] = "50";
	}
	while ((argv[n] = va_arg(ap, const char *)) != NULL) {
		n++;
		assert_true(n < 39);
	}
	assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
	if (busy != NULL) {
		long long give_up = h_now_ms() + FLOOD_WAIT_MS;

		while (atomic_load(&busy->served) == 0 && h_now_ms() < give_up)
			h_sleep_ms(10);
		r->status = h_stop(&p, SIGINT, FLOOD_WAIT_MS);
	} else {
		r->status = h_wait_exit(&p, FLOOD_WAIT_MS);
		if (r->status == -1)
			h_stop(&p, SIGKILL, 5000);
	}
	r->out = h_slurp(p.out_path, &len);
	r->err = h_slurp(p.err_path, &len);
	assert_non_null(r->out);
	assert_non_null(r->err);
}

static void flood(struct run *r, int port, ...)
{
	va_list ap;

	va_start(ap, port);
	vflood(r, port, NULL, ap);
	va_end(ap);
}

/* flood, sent SIGINT after ms milliseconds. */
static void flood_interrupted(struct run *r, struct srv *s, ...)
{
	va_list ap;

	va_start(ap, s);
	vflood(r, s->port, s, ap);
	va_end(ap);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void expect_status(const struct run *r, int status)
{
	if (r->status != status)
		fail_msg("flood exited %d, expected "
			 "%d\nstdout:\n%s\nstderr:\n%s",
			 r->status, status, r->out, r->err);
}

static void expect_in(const char *text, const char *needle)
{
	if (strstr(text, needle) == NULL)
		fail_msg("'%s' not found in:\n%s", needle, text);
}

/* The value of "key": in a JSON text, as an integer; -1 if absent. */
static long long json_int(const char *json, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(json, pat);
	if (at == NULL)
		return -1;
	return strtoll(at + strlen(pat), NULL, 10);
}

/* The integer "key": inside the object "obj": of a JSON text; -1 if
 * either is absent. */
static long long json_sub_int(const char *json, const char *obj,
			      const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":{", obj);
	at = strstr(json, pat);
	return at == NULL ? -1 : json_int(at + strlen(pat), key);
}

/* One JSON object: starts with '{', ends with "}\n", braces balance
 * (outside strings) and close only at the very end. */
static void expect_one_json_object(const char *s)
{
	size_t len = strlen(s), i;
	int depth = 0, in_string = 0;

	assert_true(len >= 3);
	assert_int_equal(s[0], '{');
	assert_string_equal(s + len - 2, "}\n");
	for (i = 0; i < len - 1; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
			continue;
		}
		if (s[i] == '"')
			in_string = 1;
		else if (s[i] == '{')
			depth++;
		else if (s[i] == '}' && --depth == 0 && i != len - 2)
			fail_msg("object ends early at %zu: %s", i, s);
		else if (s[i] == '\n')
			fail_msg("more than one line: %s", s);
	}
	assert_int_equal(depth, 0);
	assert_false(in_string);
}

/* ---- (a) flood against the in-process servers ---- */

/*
 * The skeleton every case shares: a server of the given mode, flood
 * against it with ARGS... (ending with END), the server stopped, flood's
 * exit status checked.  The server's counters stay readable in *s and
 * flood's output in *r (run_free() it).
 */
static void flood_srv(struct run *r, struct srv *s, enum srv_mode mode,
		      int status, ...)
{
	va_list ap;

	srv_start(s, mode);
	va_start(ap, status);
	vflood(r, s->port, NULL, ap);
	va_end(ap);
	srv_stop(s);
	expect_status(r, status);
}

static void test_oneway_bytes(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_SINK, 0, "-n", "10", "-m", "500", "-s", "32",
		  "-t", "2", END);
	/* flood waited for our close, so we had read everything. */
	assert_int_equal(s.bytes, 10 * 500 * 32);
	assert_int_equal(s.accepted, 10);
	expect_in(r.out, "5000 sent");
	run_free(&r);
}

/* --octet-count: each message as "31 " and its 31 bytes without the
 * '\n', so 34 bytes a message. */
static void test_oneway_octet_count(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_SINK, 0, "-n", "10", "-m", "500", "-s", "32",
		  "--octet-count", END);
	assert_int_equal(s.bytes, 10 * 500 * 34);
	expect_in(r.out, "5000 sent");
	run_free(&r);
}

static void test_oneway_large_messages(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_SINK, 0, "-n", "3", "-m", "40", "-s", "50000",
		  END);
	assert_int_equal(s.bytes, 3 * 40 * 50000);
	run_free(&r);
}

static void test_echo(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "5", "-m", "200", "--echo", END);
	expect_in(r.out, "1000 sent, 1000 answered");
	expect_in(r.out, "round trip (us)");
	run_free(&r);
}

static void test_echo_duration_rate_think(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "4", "-d", "0.3", "--echo",
		  "--rate", "400", "--json", END);
	assert_true(json_int(r.out, "messages_answered") > 0);
	assert_int_equal(json_int(r.out, "messages_answered"),
			 json_int(r.out, "messages_sent"));
	run_free(&r);
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "3", "-m", "10", "--echo",
		  "--think", "5", END);
	expect_in(r.out, "30 sent, 30 answered");
	run_free(&r);
}

/* -P: many messages in flight per connection, every reply checked in
 * order; a wrong byte anywhere in the stream is still caught. */
static void test_pipeline(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "3", "-m", "2000", "--echo", "-P",
		  "16", "--json", END);
	assert_int_equal(json_int(r.out, "messages_answered"), 6000);
	assert_int_equal(json_int(r.out, "pipeline"), 16);
	assert_int_equal(json_sub_int(r.out, "rtt_us", "count"), 6000);
	assert_int_equal(s.bytes, 6000 * 32);
	run_free(&r);
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "2", "-d", "0.3", "--echo", "-P",
		  "8", "--rate", "2000", "--json", END);
	assert_int_equal(json_int(r.out, "messages_answered"),
			 json_int(r.out, "messages_sent"));
	run_free(&r);
	flood_srv(&r, &s, SRV_WRONG, 1, "-n", "2", "-m", "100", "--echo", "-P",
		  "8", END);
	expect_in(r.out, "bad reply x2");
	run_free(&r);
}

static void test_bad_reply(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_WRONG, 1, "-n", "2", "-m", "10", "--echo", END);
	expect_in(r.out, "bad reply x2");
	expect_in(r.out, "FAILED");
	run_free(&r);
}

/* --reply-any-line accepts the wrong echo: it is a line. */
static void test_reply_any_line(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_WRONG, 0, "-n", "2", "-m", "10", "--echo",
		  "--reply-any-line", "--payload", "PING xx", END);
	expect_in(r.out, "20 sent, 20 answered");
	run_free(&r);
}

static void test_echo_timeout(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	/* The sink never answers. */
	flood_srv(&r, &s, SRV_SINK, 1, "-n", "3", "-m", "5", "--echo",
		  "--timeout", "100", END);
	expect_in(r.out, "timeout x3");
	run_free(&r);
}

static void test_refused(void **state)
{
	struct run r;

	(void)state;
	flood(&r, dead_port(), "-n", "3", "-m", "5", END);
	expect_status(&r, 1);
	expect_in(r.out, "ECONNREFUSED x3");
	expect_in(r.out, "3 failed");
	run_free(&r);
}

static void test_refused_by_server(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_FULL, 1, "-n", "3", "--hold", "0.2", END);
	expect_in(r.out, "refused by server x3");
	run_free(&r);
}

static void test_hold(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_SINK, 0, "-n", "20", "--hold", "0.3", "--json",
		  END);
	assert_int_equal(json_int(r.out, "connections_held"), 20);
	assert_int_equal(json_int(r.out, "messages_sent"), 0);
	assert_int_equal(s.bytes, 0);
	expect_in(r.err, "holding");
	run_free(&r);
}

static void test_churn(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "4", "-m", "25", "--churn",
		  "--echo", END);
	expect_in(r.out, "100 opened, 0 failed");
	expect_in(r.out, "100 sent, 100 answered");
	assert_int_equal(s.accepted, 100);
	run_free(&r);
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "4", "-m", "25", "--churn", END);
	expect_in(r.out, "100 opened");
	assert_int_equal(s.accepted, 100);
	assert_int_equal(s.bytes, 100 * 32);
	run_free(&r);
}

/* Every key of a JSON text whose value is not an object, as a dotted
 * path ("errors.timeout"), each followed by '\n', into out[0..size). */
static void json_paths(const char *s, char *out, size_t size)
{
	char stack[8][64], key[64];
	size_t depth = 0, used = 0, k;
	int i;

	out[0] = '\0';
	for (; *s != '\0'; s++) {
		if (*s == '}' && depth > 0) {
			depth--;
			continue;
		}
		if (*s != '"')
			continue;
		for (k = 0, s++; *s != '"' && *s != '\0'; s++)
			if (k < sizeof(key) - 1)
				key[k++] = *s;
		key[k] = '\0';
		if (s[1] != ':') /* a string value, not a key */
			continue;
		if (s[2] == '{') { /* an object: its members are the keys */
			assert_true(depth < 8);
			snprintf(stack[depth++], sizeof(stack[0]), "%s", key);
			s += 2;
			continue;
		}
		for (i = 0; i < (int)depth; i++)
			used += (size_t)snprintf(out + used, size - used, "%s.",
						 stack[i]);
		used += (size_t)snprintf(out + used, size - used, "%s\n", key);
		assert_true(used < size);
	}
}

/* The keys --help documents, one per line: the words of its "JSON
 * keys" paragraph, "a.{b,c}" expanded to "a.b" and "a.c". */
static void help_paths(const char *help, char *out, size_t size)
{
	const char *p = strstr(help, "JSON keys"), *end;
	char word[128], *brace, *item, *save;
	size_t used = 0, n;

	assert_non_null(p);
	p = strchr(p, '\n') + 1;
	end = strstr(p, "\n\n");
	assert_non_null(end);
	out[0] = '\0';
	while (p < end) {
		p += strspn(p, " \n");
		n = strcspn(p, " \n");
		if (n == 0 || p >= end)
			break;
		assert_true(n < sizeof(word));
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		brace = strchr(word, '{');
		if (brace == NULL) {
			used += (size_t)snprintf(out + used, size - used,
						 "%s\n", word);
			continue;
		}
		*brace = '\0';
		brace[strlen(brace + 1)] = '\0'; /* the '}' */
		for (item = strtok_r(brace + 1, ",", &save); item != NULL;
		     item = strtok_r(NULL, ",", &save))
			used += (size_t)snprintf(out + used, size - used,
						 "%s%s\n", word, item);
		assert_true(used < size);
	}
}

/* Each line of a (but "failed_by_errno.ERRNO_NAME" stands for any
 * failed_by_errno.X) is a line of b. */
static void expect_lines_in(const char *a, const char *b, const char *what)
{
	char line[160];
	const char *p, *nl;
	size_t n;

	for (p = a; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		n = (size_t)(nl - p) + 1;
		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		if (strncmp(line, "failed_by_errno.", 16) == 0)
			strcpy(line, "failed_by_errno.ERRNO_NAME\n");
		if (strstr(b, line) == NULL)
			fail_msg("%s: '%.*s' is not in:\n%s", what, (int)n - 1,
				 line, b);
	}
}

/* --help documents every key --json emits, and only those. */
static void test_json_keys_documented(void **state)
{
	static char emitted[8192], documented[8192];
	struct srv s;
	struct run r, help;

	(void)state;
	flood(&help, 1, "--help", END);
	expect_status(&help, 0);
	help_paths(help.out, documented, sizeof(documented));
	/* A failure, so that failed_by_errno has a member. */
	flood(&r, dead_port(), "-n", "2", "-m", "1", "--json", END);
	json_paths(r.out, emitted, sizeof(emitted));
	expect_lines_in(emitted, documented, "emitted but not documented");
	run_free(&r);
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "2", "-m", "20", "--echo",
		  "--rate", "1000", "--json", END);
	json_paths(r.out, emitted, sizeof(emitted));
	expect_lines_in(emitted, documented, "emitted but not documented");
	/* failed_by_errno is empty in this run: its placeholder aside,
	 * every documented key is emitted. */
	snprintf(emitted + strlen(emitted), sizeof(emitted) - strlen(emitted),
		 "failed_by_errno.ERRNO_NAME\n");
	expect_lines_in(documented, emitted, "documented but not emitted");
	run_free(&r);
	run_free(&help);
}

static void test_json(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "3", "-m", "20", "--echo",
		  "--json", END);
	expect_one_json_object(r.out);
	expect_in(r.out, "\"ok\":true");
	expect_in(r.out, "\"mode\":\"echo\"");
	expect_in(r.out, "\"address\":\"127.0.0.1:");
	expect_in(r.out, "\"interrupted\":false");
	assert_int_equal(json_int(r.out, "messages_answered"), 60);
	/* One first reply per connection, one round trip per message. */
	assert_int_equal(json_sub_int(r.out, "first_reply_us", "count"), 3);
	assert_int_equal(json_sub_int(r.out, "rtt_us", "count"), 60);
	assert_int_equal(json_sub_int(r.out, "service_us", "count"), 60);
	expect_in(r.err, "result           OK"); /* human report moved */
	run_free(&r);

	flood(&r, dead_port(), "-n", "2", "-m", "1", "--json", END);
	expect_status(&r, 1);
	expect_one_json_object(r.out);
	expect_in(r.out, "\"ok\":false");
	expect_in(r.out, "\"failed_by_errno\":{\"ECONNREFUSED\":2}");
	run_free(&r);
}

/* redis-benchmark --csv: a quoted header and one quoted row. */
static void test_csv(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "2", "-m", "50", "--echo", "--csv",
		  END);
	expect_in(r.out, "\"test\",\"rps\",\"avg_latency_ms\","
			 "\"min_latency_ms\",\"p50_latency_ms\","
			 "\"p95_latency_ms\",\"p99_latency_ms\","
			 "\"max_latency_ms\"\n\"TCP ECHO\",\"");
	assert_int_equal(h_count(r.out, "\n"), 2);
	assert_int_equal(h_count(r.out, "\""), 32); /* 16 quoted fields */
	expect_in(r.err, "result           OK");
	run_free(&r);
}

static void test_udp_lost(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	/* 500 ms: a reply later than that on a loaded machine would count
	 * as lost too. */
	flood_srv(&r, &s, SRV_UDP_DROP, 1, "-n", "2", "-m", "50", "--udp",
		  "--echo", "--timeout", "500", "--json", END);
	expect_one_json_object(r.out);
	assert_int_equal(s.datagrams, 100);
	assert_int_equal(json_int(r.out, "udp_replies_lost"), 10);
	assert_int_equal(json_int(r.out, "messages_answered"), 90);
	assert_int_equal(json_int(r.out, "messages_sent"), 100);
	run_free(&r);
}

/*
 * Every latency sample comes from clock reads at its own events: the
 * send of its message and the arrival of its reply.  Against a server
 * that holds each reply DELAY_MS, no round trip can be shorter than
 * that (a stamp taken before the message went out, or a reply stamped
 * with an earlier reply's clock, would be).  Against a UDP echo that
 * answers at once, no round trip is 0 us: the send, the server's two
 * system calls and the receive take more than a microsecond, and a
 * reply read in the same burst as the previous one once got that
 * one's (stale) clock and 0 us.
 */
static void test_latency_stamps(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_UDP_ECHO, 0, "-n", "1", "-m", "20000", "--udp",
		  "--echo", "--json", END);
	assert_int_equal(json_sub_int(r.out, "rtt_us", "count"), 20000);
	assert_true(json_sub_int(r.out, "rtt_us", "min") >= 1);
	run_free(&r);
	flood_srv(&r, &s, SRV_DELAY, 0, "-n", "1", "-m", "30", "--echo",
		  "--json", END);
	assert_true(json_sub_int(r.out, "rtt_us", "min") >= DELAY_MS * 1000LL);
	assert_true(json_sub_int(r.out, "service_us", "min") >=
		    DELAY_MS * 1000LL);
	run_free(&r);
	flood_srv(&r, &s, SRV_UDP_DELAY, 0, "-n", "1", "-m", "30", "--udp",
		  "--echo", "--json", END);
	assert_true(json_sub_int(r.out, "rtt_us", "min") >= DELAY_MS * 1000LL);
	run_free(&r);
}

/* The share of the samples in a --percentiles table whose value is at
 * least v (the table lists the cumulative count at each value). */
static double share_at_least(const char *out, double v)
{
	const char *p = strstr(out, "TotalCount");
	double value, pct, below = 0, total = 0;
	unsigned long long count;

	assert_non_null(p);
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (sscanf(p, "%lf %lf %llu", &value, &pct, &count) != 3)
			continue;
		if (value < v)
			below = (double)count;
		total = (double)count;
	}
	assert_true(total > 0);
	return 1.0 - below / total;
}

/*
 * Coordinated omission: at --rate 200 for 2 s, the server stops
 * reading for STALL_MS.  The messages whose slots fell in the stall are
 * late by up to STALL_MS: with the default correction, those at least
 * 50 ms late are (STALL_MS - 50) / 2000 = 22.5% of all; timed from
 * their sends (service_us) only the one caught in the stall is.
 */
static void test_rate_stall_corrected(void **state)
{
	struct srv s;
	struct run r;
	long long corrected_p90;
	double share;

	(void)state;
	flood_srv(&r, &s, SRV_STALL, 0, "-n", "1", "-d", "2", "--rate", "200",
		  "--echo", "--json", "--timeout", "5000", END);
	corrected_p90 = json_sub_int(r.out, "rtt_us", "p90");
	assert_true(corrected_p90 >= 50000);
	assert_true(json_sub_int(r.out, "rtt_us", "p50") < 50000);
	expect_in(r.out, "\"corrected\":true");
	/* Relations, not times: the service times of the same messages
	 * are far shorter. */
	assert_true(json_sub_int(r.out, "service_us", "p90") * 4 <
		    corrected_p90);
	/* The message sent as the stall began waited through much of it. */
	assert_true(json_sub_int(r.out, "service_us", "max") >=
		    STALL_MS / 2 * 1000LL);
	run_free(&r);
	flood_srv(&r, &s, SRV_STALL, 0, "-n", "1", "-d", "2", "--rate", "200",
		  "--echo", "--json", "--timeout", "5000", "--no-correction",
		  END);
	expect_in(r.out, "\"corrected\":false");
	assert_true(json_sub_int(r.out, "rtt_us", "p90") * 4 < corrected_p90);
	run_free(&r);
	flood_srv(&r, &s, SRV_STALL, 0, "-n", "1", "-d", "2", "--rate", "200",
		  "--echo", "--percentiles", "--timeout", "5000", END);
	share = share_at_least(r.out, 50000);
	/* Uncorrected it would be 1 in 400; a server thread late on a
	 * loaded machine stalls longer, so the upper bound is loose. */
	if (share < 0.12 || share > 0.5)
		fail_msg("%.1f%% of round trips >= 50 ms, expected about "
			 "22.5%%:\n%s",
			 share * 100, r.out);
	expect_in(r.out, "service (us)");
	run_free(&r);
}

/* Ctrl-C: the report of what was measured, "interrupted", exit 130. */
static void test_interrupted(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	srv_start(&s, SRV_ECHO);
	flood_interrupted(&r, &s, "-n", "2", "-d", "30", "--echo", END);
	srv_stop(&s);
	expect_status(&r, 130);
	expect_in(r.out, "result           interrupted");
	expect_in(r.out, "round trip (us)");
	assert_null(strstr(r.out, "FAILED"));
	run_free(&r);
	srv_start(&s, SRV_ECHO);
	flood_interrupted(&r, &s, "-n", "2", "-d", "30", "--echo", "--json",
			  END);
	srv_stop(&s);
	expect_status(&r, 130);
	expect_one_json_object(r.out);
	expect_in(r.out, "\"interrupted\":true");
	assert_true(json_int(r.out, "messages_answered") > 0);
	run_free(&r);
}

/* -H takes a name; its addresses are tried in turn (localhost may be
 * ::1 first, where nothing listens), and the report names the one
 * used. */
static void test_hostname(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_ECHO, 0, "-H", "localhost", "-n", "2", "-m", "10",
		  "--echo", "--json", END);
	expect_in(r.out, "\"host\":\"localhost\"");
	expect_in(r.out, "\"address\":\"127.0.0.1:");
	expect_in(r.err, "to localhost (127.0.0.1:");
	run_free(&r);
	flood(&r, 1, "-H", "no-such-host.invalid", END);
	expect_status(&r, 1);
	expect_in(r.err, "cannot resolve 'no-such-host.invalid'");
	run_free(&r);
}

/* -d ends while every client is blocked on a full socket buffer (the
 * server reads nothing for 500 ms): each must still deliver exactly the
 * whole messages it counted, then close.  (Linux loopback accepts whole
 * 64 KiB batches or nothing, so the "finish the partly sent message"
 * branch is rarely reached here; this checks the counting and the
 * blocked-client end of a run.) */
static void test_duration_whole_messages(void **state)
{
	struct srv s;
	struct run r;
	long long sent;

	(void)state;
	flood_srv(&r, &s, SRV_SLOW, 0, "-n", "4", "-d", "0.3", "-s", "1000",
		  "--json", END);
	sent = json_int(r.out, "messages_sent");
	assert_true(sent > 0);
	assert_int_equal(json_int(r.out, "bytes_sent"), sent * 1000);
	assert_int_equal(s.bytes, (uint64_t)sent * 1000);
	run_free(&r);
}

/* A server that never answers and a reply timeout longer than the run:
 * --max-time ends it, as a failure. */
static void test_max_time(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_SINK, 1, "-n", "2", "-m", "5", "--echo",
		  "--timeout", "3600000", "--max-time", "0.5", END);
	expect_in(r.out, "max-time reached x2");
	run_free(&r);
}

/*
 * A server that accepts and never reads: the socket buffers fill and
 * no byte moves again.  flood gives up on the stalled connection after
 * its stall bound (--timeout, at least 10 s) and fails saying so, long
 * before --max-time (50 s here) would end it.
 */
static void test_oneway_stall(void **state)
{
	struct srv s;
	struct run r;

	(void)state;
	flood_srv(&r, &s, SRV_DEAF, 1, "-n", "1", "-m", "100000000", END);
	expect_in(r.out, "timeout x1");
	expect_in(r.err, "no progress");
	if (strstr(r.out, "max-time") != NULL)
		fail_msg("ended by --max-time, not by the stall bound:\n%s",
			 r.out);
	run_free(&r);
}

/* Usage errors exit 2 with one line naming the option. */
static void usage_error(const char *needle, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, needle);
	vflood(&r, 0, NULL, ap);
	va_end(ap);
	expect_status(&r, 2);
	expect_in(r.err, "flood: ");
	expect_in(r.err, needle);
	assert_int_equal(h_count(r.err, "\n"), 1);
	assert_string_equal(r.out, "");
	run_free(&r);
}

static void test_usage_error(void **state)
{
	(void)state;
	usage_error("-n", "-n", "0", END);
	usage_error("--hold and --churn", "--churn", "--hold", "1", END);
	usage_error("bad -H", "-H", "", END);
	usage_error("bad -H", "-H", " ", END);
	usage_error("bad -H", "--host=", END);
	usage_error("unknown option '--bogus'", "--bogus", END);
	usage_error("option '--json' doesn't allow an argument", "--json=yes",
		    END);
	usage_error("option '--timeout' needs a value", "--timeout", END);
}

/* ---- (c) --hdr-log: HdrHistogram interval logs ---- */

/* The value in the max's bucket that HdrHistogram reports for a
 * percentile flood caps at the exact max. */
static long long bucket_high(long long v)
{
	return (long long)hist_index_high(hist_index_of((uint64_t)v));
}

/* A percentile as HdrHistogram computes it from the log equals flood's,
 * except that flood never reports more than the exact max (HdrHistogram
 * reports the top of the max's bucket). */
static void expect_same_percentile(long long from_log, const char *json,
				   const char *key)
{
	long long want = json_sub_int(json, "rtt_us", key);
	long long max = json_sub_int(json, "rtt_us", "max");

	if (from_log == want || (want == max && from_log == bucket_high(max)))
		return;
	fail_msg("%s: %lld from the log, %lld in flood's report:\n%s", key,
		 from_log, want, json);
}

/*
 * --hdr-log writes one histogram a second; decoded and merged, they are
 * exactly the run's round trips: the same count and, percentile by
 * percentile, the values of flood's own report.  --merge of two copies
 * of the log doubles the count and keeps every percentile.
 */
static void test_hdr_log(void **state)
{
	const char *log = h_path("run.hlog");
	struct hist *h = calloc(1, sizeof(*h));
	struct srv s;
	struct run r, m;
	char err[256], *text;
	long intervals;

	(void)state;
	assert_non_null(h);
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "3", "-d", "2.5", "--rate", "3000",
		  "--echo", "--hdr-log", log, "--json", END);
	text = h_slurp(log, NULL);
	assert_non_null(text);
	expect_in(text, "#[Histogram log format version 1.3]\n");
	expect_in(text, "#[StartTime: ");
	expect_in(text, "\n\"StartTimestamp\",\"Interval_Length\",\"Interval_"
			"Max\",\"Interval_Compressed_Histogram\"\n0.000,");
	free(text);
	intervals = hdrlog_read(log, h, err, sizeof(err));
	/* 2.5 s: one interval ended by the clock at least (a second or
	 * so in), and the last, partial one. */
	assert_true(intervals >= 2);
	assert_int_equal(hist_count(h), json_sub_int(r.out, "rtt_us", "count"));
	expect_same_percentile((long long)hist_percentile(h, 50), r.out, "p50");
	expect_same_percentile((long long)hist_percentile(h, 90), r.out, "p90");
	expect_same_percentile((long long)hist_percentile(h, 99), r.out, "p99");
	expect_same_percentile((long long)hist_percentile(h, 99.9), r.out,
			       "p99_9");
	assert_int_equal(hist_max(h),
			 bucket_high(json_sub_int(r.out, "rtt_us", "max")));

	flood(&m, 0, "--merge", log, log, "--percentiles", END);
	expect_status(&m, 0);
	expect_in(m.out, "flood: 2 logs, ");
	text = strstr(m.out, "(n=");
	assert_non_null(text);
	assert_int_equal(strtoll(text + 3, NULL, 10), 2 * hist_count(h));
	expect_in(m.out, "Value     Percentile TotalCount 1/(1-Percentile)");
	expect_in(m.out, "#[Buckets =           17, SubBuckets     =         "
			 "2048]");
	run_free(&m);
	flood(&m, 0, "--merge", h_path("no-such.hlog"), END);
	expect_status(&m, 1);
	expect_in(m.err, "no-such.hlog");
	run_free(&m);
	run_free(&r);
	free(h);
}

/* Runs sh -c cmd; its first line of output into out, or "" and -1. */
static int shell_line(const char *cmd, char *out, size_t size)
{
	FILE *fp = popen(cmd, "r");
	int rc;

	out[0] = '\0';
	if (fp == NULL)
		return -1;
	if (fgets(out, (int)size, fp) == NULL)
		out[0] = '\0';
	rc = pclose(fp);
	return rc == 0 && out[0] != '\0' ? 0 : -1;
}

/*
 * The independent check: HdrHistogram's JavaScript implementation
 * (hdr-histogram-js) reads flood's log and finds the same count and
 * percentiles as flood's report.  Fetching it needs the network, which
 * the suites never use (a package build must not): CI fetches it first,
 * at the versions tests/hdr-js/package-lock.json pins
 * (tests/need-hdr-js.sh DIR), and names the directory in MT_HDR_JS_DIR.
 * Without it the test skips, saying so; with it, a missing node or
 * module is a failure.
 */
static void test_hdr_log_other_reader(void **state)
{
	const char *log = h_path("js.hlog");
	const char *dir = getenv("MT_HDR_JS_DIR");
	char cmd[2048], line[512], cwd[256];
	struct srv s;
	struct run r;

	(void)state;
	if (dir == NULL || dir[0] == '\0') {
		print_message("hdr-histogram-js not fetched: skipped (CI runs "
			      "it: sh tests/need-hdr-js.sh build/node && "
			      "MT_HDR_JS_DIR=$PWD/build/node make test)\n");
		skip();
	}
	if (shell_line("command -v node", line, sizeof(line)) == -1)
		fail_msg("MT_HDR_JS_DIR is set but node is not installed");
	snprintf(cmd, sizeof(cmd),
		 "test -f '%s/node_modules/hdr-histogram-js/package.json' "
		 "&& echo ok",
		 dir);
	if (shell_line(cmd, line, sizeof(line)) == -1)
		fail_msg("no hdr-histogram-js in %s/node_modules (sh "
			 "tests/need-hdr-js.sh %s)",
			 dir, dir);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	flood_srv(&r, &s, SRV_ECHO, 0, "-n", "2", "-d", "2.5", "--rate", "2000",
		  "--echo", "--hdr-log", log, "--json", END);
	snprintf(cmd, sizeof(cmd), "node '%s/tests/hdrlog_read.js' '%s' '%s'",
		 cwd, dir, log);
	if (shell_line(cmd, line, sizeof(line)) == -1)
		fail_msg("hdr-histogram-js could not read the log: %s", line);
	assert_true(json_int(line, "intervals") >= 2);
	assert_int_equal(json_int(line, "count"),
			 json_sub_int(r.out, "rtt_us", "count"));
	expect_same_percentile(json_int(line, "p50"), r.out, "p50");
	expect_same_percentile(json_int(line, "p90"), r.out, "p90");
	expect_same_percentile(json_int(line, "p99"), r.out, "p99");
	expect_same_percentile(json_int(line, "p99_9"), r.out, "p99_9");
	assert_int_equal(json_int(line, "max"),
			 bucket_high(json_sub_int(r.out, "rtt_us", "max")));
	run_free(&r);
}

/*
 * A name whose first address refuses: flood tries the next.  In a mount
 * namespace of its own (root only), /etc/hosts says multi.test is ::1
 * then 127.0.0.1 (glibc puts ::1 first), and the echo server listens
 * on 127.0.0.1 only.
 */
static void test_hostname_next_address(void **state)
{
	const char *hosts = h_path("hosts");
	char cmd[2048], line[4096];
	struct srv s;

	(void)state;
	if (geteuid() != 0 ||
	    shell_line("command -v unshare", line, sizeof(line)) == -1) {
		print_message("needs root and unshare(1): skipped\n");
		skip();
	}
	assert_int_equal(h_write_file(hosts, "::1 multi.test\n"
					     "127.0.0.1 multi.test\n"),
			 0);
	srv_start(&s, SRV_ECHO);
	snprintf(cmd, sizeof(cmd),
		 "unshare -m sh -c 'mount --bind %s /etc/hosts && exec %s -H "
		 "multi.test -p %d -n 2 -m 10 --echo --json' 2>/dev/null",
		 hosts, h_bin("flood"), s.port);
	if (shell_line(cmd, line, sizeof(line)) == -1) {
		srv_stop(&s);
		fail_msg("flood -H multi.test failed: %s", line);
	}
	srv_stop(&s);
	expect_in(line, "\"ok\":true");
	expect_in(line, "\"address\":\"127.0.0.1:");
	assert_int_equal(s.accepted, 3); /* the probe and the two clients */
}

/* "127.0.0.1:P1,127.0.0.1:P2,..." for the servers s[0..n). */
static const char *hosts_of(char *buf, size_t size, const struct srv *s, int n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s127.0.0.1:%d",
					i > 0 ? "," : "", s[i].port);
	assert_true(len < size);
	return buf;
}

/* --hosts: client i goes to server i mod N, whatever the thread; each
 * server gets exactly its clients' connections and bytes. */
static void test_hosts_round_robin(void **state)
{
	struct srv s[3];
	char hosts[128];
	struct run r;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		srv_start(&s[i], SRV_SINK);
	flood(&r, 0, "--hosts", hosts_of(hosts, sizeof(hosts), s, 3), "-n", "7",
	      "-m", "100", "-t", "2", "--json", END);
	for (i = 0; i < 3; i++)
		srv_stop(&s[i]);
	expect_status(&r, 0);
	/* clients 0, 3, 6 | 1, 4 | 2, 5 */
	assert_int_equal(s[0].accepted, 3);
	assert_int_equal(s[1].accepted, 2);
	assert_int_equal(s[2].accepted, 2);
	assert_int_equal(s[0].bytes, 3 * 100 * 32);
	assert_int_equal(s[1].bytes, 2 * 100 * 32);
	assert_int_equal(s[2].bytes, 2 * 100 * 32);
	expect_in(r.out, "\"hosts\":[\"127.0.0.1:");
	assert_int_equal(json_int(r.out, "messages_sent"), 700);
	run_free(&r);
}

/* --hosts in the modes that wait for answers: --echo over TCP and UDP,
 * and --churn (every new connection of client i to the same server). */
static void test_hosts_echo_udp_churn(void **state)
{
	struct srv s[2];
	char hosts[128];
	struct run r;

	(void)state;
	srv_start(&s[0], SRV_ECHO);
	srv_start(&s[1], SRV_ECHO);
	flood(&r, 0, "--hosts", hosts_of(hosts, sizeof(hosts), s, 2), "-n", "4",
	      "-m", "50", "--echo", "-P", "4", END);
	srv_stop(&s[0]);
	srv_stop(&s[1]);
	expect_status(&r, 0);
	expect_in(r.out, "200 sent, 200 answered");
	expect_in(r.out, "to 2 servers (127.0.0.1:");
	assert_int_equal(s[0].accepted, 2);
	assert_int_equal(s[1].accepted, 2);
	assert_int_equal(s[0].bytes, 2 * 50 * 32);
	run_free(&r);

	srv_start(&s[0], SRV_UDP_ECHO);
	srv_start(&s[1], SRV_UDP_ECHO);
	flood(&r, 0, "--hosts", hosts_of(hosts, sizeof(hosts), s, 2), "-n", "3",
	      "-m", "20", "--udp", "--echo", "--timeout", "5000", END);
	srv_stop(&s[0]);
	srv_stop(&s[1]);
	expect_status(&r, 0);
	assert_int_equal(s[0].datagrams, 2 * 20);
	assert_int_equal(s[1].datagrams, 1 * 20);
	run_free(&r);

	srv_start(&s[0], SRV_SINK);
	srv_start(&s[1], SRV_SINK);
	flood(&r, 0, "--hosts", hosts_of(hosts, sizeof(hosts), s, 2), "-n", "2",
	      "-m", "10", "--churn", END);
	srv_stop(&s[0]);
	srv_stop(&s[1]);
	expect_status(&r, 0);
	assert_int_equal(s[0].accepted, 10);
	assert_int_equal(s[1].accepted, 10);
	run_free(&r);
}

/* --reconnect: a server that cuts every connection after CUT_BYTES
 * (unread bytes and all, so a reset).  Each client goes on over a new
 * connection from its message in progress; every whole message is
 * written once, so what the server did not read is at most the
 * messages in doubt.  Without --reconnect, or with too few, the run
 * fails with the early closes. */
static void test_reconnect(void **state)
{
	struct run r;
	struct srv s;
	long long in_doubt;

	(void)state;
	/* --rate: the messages go out over many connections (a client's
	 * 12,800 bytes in 200 ms, a connection's 2,000 in about 30), not
	 * into the first one's socket buffers at once. */
	flood_srv(&r, &s, SRV_CUT, 0, "-n", "3", "-m", "400", "--rate", "6000",
		  "--reconnect", "200", "--json", END);
	assert_int_equal(json_int(r.out, "messages_sent"), 3 * 400);
	assert_int_equal(json_int(r.out, "clients_done"), 3);
	assert_true(json_int(r.out, "reconnects") >= 1);
	assert_int_equal(json_int(r.out, "reconnects") + 3, s.accepted);
	in_doubt = json_int(r.out, "messages_in_doubt");
	assert_true(s.lines <= 3ull * 400);
	if ((long long)(3ull * 400 - s.lines) > in_doubt)
		fail_msg("%llu messages not read, only %lld in doubt",
			 (unsigned long long)(3ull * 400 - s.lines), in_doubt);
	run_free(&r);

	/* Too few reconnects for the run (64,000 bytes in 500 ms, cut
	 * after 2,000): the client fails as without. */
	flood_srv(&r, &s, SRV_CUT, 1, "-n", "1", "-m", "2000", "--rate", "4000",
		  "--reconnect", "1", "--json", END);
	assert_int_equal(json_int(r.out, "reconnects"), 1);
	assert_int_equal(json_int(r.out, "clients_done"), 0);
	assert_int_equal(s.accepted, 2);
	run_free(&r);
	flood_srv(&r, &s, SRV_CUT, 1, "-n", "1", "-m", "2000", "--rate", "4000",
		  "--json", END);
	assert_int_equal(json_int(r.out, "reconnects"), 0);
	assert_int_equal(s.accepted, 1);
	run_free(&r);
}

/* One server of the list is down: its clients fail (the run fails,
 * saying how), the others' work is done. */
static void test_hosts_one_down(void **state)
{
	struct srv s;
	char hosts[128];
	struct run r;

	(void)state;
	srv_start(&s, SRV_SINK);
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d,127.0.0.1:%d", s.port,
		 dead_port());
	flood(&r, 0, "--hosts", hosts, "-n", "4", "-m", "10", "--json", END);
	srv_stop(&s);
	expect_status(&r, 1);
	assert_int_equal(s.accepted, 2);
	assert_int_equal(s.bytes, 2 * 10 * 32);
	assert_int_equal(json_int(r.out, "connections_failed"), 2);
	assert_int_equal(json_int(r.out, "ECONNREFUSED"), 2);
	assert_int_equal(json_int(r.out, "clients_done"), 2);
	run_free(&r);
}

/* ---- (b) flood against mtserver ---- */

static int have_mtserver(void)
{
	if (access(h_bin("mtserver"), X_OK) == 0)
		return 1;
	print_message("mtserver not built (%s): skipped\n", h_bin("mtserver"));
	return 0;
}

static void start_mtserver(struct h_proc *p, const char *log, int echo)
{
	const char *plain[] = {"-l", log, "0", NULL};
	const char *with_echo[] = {"--echo", "-l", log, "0", NULL};

	assert_int_equal(
		h_start_server(p, "mtserver", echo ? with_echo : plain), 0);
}

static void stop_mtserver(struct h_proc *p)
{
	assert_int_equal(h_stop(p, SIGTERM, 10000), 0);
}

/* Runs flood --verify-log as a child and asserts its exit status. */
static void verify_log(int want, const char *log, const char *n, const char *m)
{
	const char *argv[] = {"--verify-log", log, "-n", n, "-m", m, NULL};
	struct h_proc p;
	char *out;
	int status;

	assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
	status = h_wait_exit(&p, FLOOD_WAIT_MS);
	if (status == want)
		return;
	out = h_slurp(p.out_path, NULL);
	fail_msg("verify-log exited %d, expected %d:\n%s", status, want,
		 out ? out : "?");
}

/* A log of clients x msgs 32-byte flood messages, except that client
 * short_client got only short_len of them. */
static void write_log(const char *path, int clients, int msgs, int short_client,
		      int short_len)
{
	char text[64]; /* a header, 31 'x' and a NUL */
	FILE *fp = fopen(path, "w");
	int c, m;

	assert_non_null(fp);
	for (m = 0; m < msgs; m++) {
		for (c = 0; c < clients; c++) {
			if (c == short_client && m >= short_len)
				continue;
			/* "c1 m7 " padded with 'x' to 31 bytes */
			snprintf(text, sizeof(text), "c%d m%d %s", c, m,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			text[31] = '\0';
			fprintf(fp,
				"2026-11-24T13:49:55.1Z tcp 127.0.0.1:9 #%d "
				"msg %s\n",
				c, text);
		}
	}
	assert_int_equal(fclose(fp), 0);
}

static void test_verify_log_process(void **state)
{
	const char *log = h_path("synthetic.log");
	const char *tail[] = {
		"--verify-log",		log, "-n", "3", "-m", "10",
		"--allow-missing-tail", NULL};
	struct h_proc p;
	char *out;

	(void)state;
	write_log(log, 3, 10, -1, 0);
	verify_log(0, log, "3", "10");
	write_log(log, 3, 10, 1, 7); /* c1 lacks m7..m9 */
	verify_log(1, log, "3", "10");
	assert_int_equal(h_spawn(&p, "flood", tail, NULL), 0);
	assert_int_equal(h_wait_exit(&p, FLOOD_WAIT_MS), 0);
	out = h_slurp(p.out_path, NULL);
	assert_non_null(out);
	expect_in(out, "missing tail 3, holes 0");
	free(out);
}

/* flood --verify-log ARGS... (ending with END) as a child: its exit
 * status (-1: still running after the wait, then killed) and output. */
static int verify_run(char **out, char **err, ...)
{
	const char *argv[16];
	struct h_proc p;
	va_list ap;
	int n = 0, status;

	va_start(ap, err);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		assert_true(++n < 15);
	va_end(ap);
	assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
	status = h_wait_exit(&p, 10000);
	if (status == -1)
		h_stop(&p, SIGKILL, 5000);
	*out = h_slurp(p.out_path, NULL);
	*err = h_slurp(p.err_path, NULL);
	assert_non_null(*out);
	assert_non_null(*err);
	return status;
}

/* Appends to path the 32-byte messages of clients [c0, c1), sequence
 * numbers [m0, m1): one node's share of a fleet's run. */
static void append_log(const char *path, int c0, int c1, int m0, int m1)
{
	char text[64]; /* a header, 31 'x' and a NUL */
	FILE *fp = fopen(path, "a");

	assert_non_null(fp);
	for (int m = m0; m < m1; m++)
		for (int c = c0; c < c1; c++) {
			snprintf(text, sizeof(text), "c%d m%d %s", c, m,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			text[31] = '\0';
			fprintf(fp,
				"2026-11-24T13:49:55.1Z tcp 127.0.0.1:9 #%d "
				"msg %s\n",
				c, text);
		}
	assert_int_equal(fclose(fp), 0);
}

/* --verify-log over a fleet's logs, given as operands: every message in
 * exactly one of them.  A client that moved to another node midway is
 * whole; a message in two logs is a duplicate (counted in the second,
 * named with its file and line there); a message in none is missing. */
static void test_verify_log_fleet(void **state)
{
	const char *a = h_path("node-a.log"), *b = h_path("node-b.log"),
		   *c = h_path("node-c.log");
	char *out, *err;

	(void)state;
	unlink(a);
	unlink(b);
	unlink(c);
	append_log(a, 0, 2, 0, 10); /* c0, c1 on a */
	append_log(b, 2, 3, 0, 4);  /* c2 on b, then moved to c */
	append_log(c, 2, 3, 4, 10);
	assert_int_equal(verify_run(&out, &err, "-n", "3", "-m", "10",
				    "--verify-log", a, b, c, "--json", END),
			 0);
	expect_in(out, "\"ok\":true");
	assert_int_equal(json_int(out, "found"), 30);
	expect_in(out, "\"files\":[{\"path\":");
	expect_in(out, "node-a.log\",\"lines\":20,\"found\":20,"
		       "\"duplicated\":0,\"corrupted\":0}");
	expect_in(out, "node-c.log\",\"lines\":6,\"found\":6,"
		       "\"duplicated\":0,\"corrupted\":0}");
	expect_in(err, "3 files: ");
	expect_in(err, "node-b.log: 4 lines, 4 messages, 0 duplicated");
	free(out);
	free(err);

	/* c2 m3 also on c: the same message in two logs. */
	append_log(c, 2, 3, 3, 4);
	assert_int_equal(verify_run(&out, &err, "--verify-log", a, b, c, "-n",
				    "3", "-m", "10", END),
			 1);
	expect_in(out, "duplicated      1");
	expect_in(out, "node-c.log: 7 lines, 6 messages, 1 duplicated");
	expect_in(out, "duplicated: c2 m3 (");
	expect_in(out, "node-c.log line 7)");
	expect_in(out, "FAILED");
	free(out);
	free(err);

	/* Without c's log, c2 m4..m9 are missing, and only they. */
	assert_int_equal(verify_run(&out, &err, "--verify-log", a, b, "-n", "3",
				    "-m", "10", "--json", END),
			 1);
	assert_int_equal(json_int(out, "missing"), 6);
	assert_int_equal(json_int(out, "duplicated"), 0);
	free(out);
	free(err);
}

/* A log whose last line lacks its '\n' was torn (the writer died or is
 * still writing): the line may be a whole message's text, it is still
 * not a whole log line, and the check fails saying so. */
static void test_verify_log_torn_last_line(void **state)
{
	const char *log = h_path("torn.log");
	char *text, *out, *err;
	size_t len;

	(void)state;
	write_log(log, 2, 5, -1, 0);
	text = h_slurp(log, &len);
	assert_non_null(text);
	assert_true(len > 0 && text[len - 1] == '\n');
	text[len - 1] = '\0'; /* the last line without its '\n' */
	assert_int_equal(h_write_file(log, text), 0);
	free(text);
	assert_int_equal(verify_run(&out, &err, "--verify-log", log, "-n", "2",
				    "-m", "5", END),
			 1);
	expect_in(out, "torn            1");
	expect_in(out, "FAILED");
	free(out);
	free(err);
	/* --json says so too. */
	assert_int_equal(verify_run(&out, &err, "--verify-log", log, "-n", "2",
				    "-m", "5", "--json", END),
			 1);
	assert_int_equal(json_int(out, "torn"), 1);
	expect_in(out, "\"ok\":false");
	free(out);
	free(err);
	/* The same log whole passes. */
	write_log(log, 2, 5, -1, 0);
	verify_log(0, log, "2", "5");
}

/* A FIFO (or any file that is not a regular file) is refused at once
 * with one line, instead of waiting for a writer that may never come. */
static void test_verify_log_not_a_file(void **state)
{
	const char *fifo = h_path("verify.fifo");
	char *out, *err;

	(void)state;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(verify_run(&out, &err, "--verify-log", fifo, "-n", "1",
				    "-m", "1", END),
			 1);
	expect_in(err, "not a regular file");
	assert_int_equal(h_count(err, "\n"), 1);
	free(out);
	free(err);
	assert_int_equal(verify_run(&out, &err, "--verify-log", "/dev/null",
				    "-n", "1", "-m", "1", END),
			 1);
	expect_in(err, "/dev/null: not a regular file");
	free(out);
	free(err);
}

/*
 * The skeleton part (b) shares: mtserver (with --echo when echo) logging
 * to log, flood ARGS... (ending with END) against it, the server
 * stopped, flood's success checked.  Skips when mtserver is not built.
 */
static void flood_mtserver(struct run *r, const char *log, int echo, ...)
{
	struct h_proc p;
	va_list ap;

	if (!have_mtserver())
		skip();
	start_mtserver(&p, log, echo);
	va_start(ap, echo);
	vflood(r, p.port, NULL, ap);
	va_end(ap);
	stop_mtserver(&p);
	expect_status(r, 0);
}

/* The log's connect lines whose peer starts with peer (" tcp [::1]:"). */
static size_t connects_from(const char *log, const char *peer)
{
	char *text = h_slurp(log, NULL), *line, *save = NULL;
	size_t n = 0, len;

	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		len = strlen(line);
		if (strstr(line, peer) != NULL && len > 8 &&
		    strcmp(line + len - 8, " connect") == 0)
			n++;
	}
	free(text);
	return n;
}

/* --chat --hosts: members spread over the servers, here one mtserver
 * reached as 127.0.0.1 and as ::1 (its log tells them apart), so the
 * room is one and every delivery is checked as without --hosts. */
static void test_mtserver_chat_hosts(void **state)
{
	const char *log = h_path("chat-hosts.log");
	const char *argv[] = {"--chat", "-q", "-l", log, "0", NULL};
	char hosts[128];
	struct h_proc p;
	struct run r;
	int fd;

	(void)state;
	if (!have_mtserver())
		skip();
	assert_int_equal(h_start_server(&p, "mtserver", argv), 0);
	fd = h_connect("::1", p.port);
	if (fd == -1) {
		stop_mtserver(&p);
		print_message("no IPv6 loopback: skipped\n");
		skip();
	}
	close(fd);
	snprintf(hosts, sizeof(hosts), "127.0.0.1:%d,[::1]:%d", p.port, p.port);
	flood(&r, 0, "--chat", "--hosts", hosts, "-n", "6", "-m", "50",
	      "--json", "--timeout", "20000", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	assert_int_equal(json_int(r.out, "deliveries"), 6 * 5 * 50);
	expect_in(r.out, "\"hosts\":[\"127.0.0.1:");
	/* Members 0, 2, 4 over IPv4, 1, 3, 5 over IPv6 (and the probe
	 * check above, which connected and left without a word). */
	assert_int_equal(connects_from(log, " tcp 127.0.0.1:"), 3);
	assert_int_equal(connects_from(log, " tcp [::1]:"), 3 + 1);
	run_free(&r);
}

static void test_mtserver_oneway(void **state)
{
	const char *log = h_path("oneway.log");
	struct run r;

	(void)state;
	flood_mtserver(&r, log, 0, "-n", "50", "-m", "200", END);
	run_free(&r);
	verify_log(0, log, "50", "200");
	/* The check can fail: one message too many is a failure. */
	verify_log(1, log, "50", "199");
}

/* mtserver --framing octet logs the messages flood --octet-count
 * framed: the log is checked as for LF lines. */
static void test_mtserver_octet_count(void **state)
{
	const char *log = h_path("octet.log");
	const char *args[] = {"--framing", "octet", "-l", log, "0", NULL};
	struct h_proc p;
	struct run r;

	(void)state;
	if (!have_mtserver())
		skip();
	assert_int_equal(h_start_server(&p, "mtserver", args), 0);
	flood(&r, p.port, "-n", "20", "-m", "300", "--octet-count", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	run_free(&r);
	verify_log(0, log, "20", "300");
	verify_log(1, log, "20", "299");
}

static void test_mtserver_echo(void **state)
{
	const char *log = h_path("echo.log");
	struct run r;

	(void)state;
	flood_mtserver(&r, log, 1, "-n", "20", "-m", "100", "--echo", END);
	expect_in(r.out, "2000 sent, 2000 answered");
	run_free(&r);
	verify_log(0, log, "20", "100");
}

/*
 * first_logged_us: each client's m0 is logged after the run started and
 * before its echo came back, so from the run's started_unix_us
 * (--run-start) every client has a sample no longer than the run.
 */
static void test_mtserver_first_logged(void **state)
{
	const char *log = h_path("first_logged.log");
	char start[32];
	const char *argv[] = {"--verify-log", log,   "-n",     "6", "-m", "20",
			      "--run-start",  start, "--json", NULL};
	struct h_proc p;
	struct run r;
	char *out;
	long long elapsed_us;

	(void)state;
	flood_mtserver(&r, log, 1, "-n", "6", "-m", "20", "--echo", "--json",
		       END);
	snprintf(start, sizeof(start), "%lld",
		 json_int(r.out, "started_unix_us"));
	elapsed_us =
		(long long)(strtod(strstr(r.out, "\"elapsed_s\":") + 12, NULL) *
			    1e6);
	assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
	assert_int_equal(h_wait_exit(&p, FLOOD_WAIT_MS), 0);
	out = h_slurp(p.out_path, NULL);
	assert_non_null(out);
	assert_int_equal(json_sub_int(out, "first_logged_us", "count"), 6);
	/* 10 ms for the wall clock against the monotonic one. */
	if (json_sub_int(out, "first_logged_us", "max") > elapsed_us + 10000)
		fail_msg("an m0 logged after the run (%lld us):\n%s\n%s",
			 elapsed_us, out, r.out);
	free(out);
	run_free(&r);
}

static void test_mtserver_udp(void **state)
{
	const char *log = h_path("udp.log");
	struct run r;

	(void)state;
	/* Echo mode: one datagram in flight per client, so none is lost
	 * to a full socket buffer and the log must be complete. */
	flood_mtserver(&r, log, 1, "-n", "8", "-m", "100", "--udp", "--echo",
		       END);
	expect_in(r.out, "800 sent, 800 answered");
	run_free(&r);
	verify_log(0, log, "8", "100");
}

static void test_mtserver_churn(void **state)
{
	const char *log = h_path("churn.log");
	struct run r;

	(void)state;
	flood_mtserver(&r, log, 0, "-n", "10", "-m", "20", "--churn", END);
	expect_in(r.out, "200 opened, 0 failed");
	run_free(&r);
	verify_log(0, log, "10", "20");
}

/* mtserver started with option limit, flood -n clients holding: limit
 * of them are held, the others counted as refused by the server. */
static void flood_refused(const char *option, const char *limit,
			  const char *clients, long long refused)
{
	const char *log = h_path("refused.log");
	const char *argv[] = {option, limit, "-l", log, "0", NULL};
	struct h_proc p;
	struct run r;

	if (!have_mtserver())
		skip();
	assert_int_equal(h_start_server(&p, "mtserver", argv), 0);
	flood(&r, p.port, "-n", clients, "--hold", "0.5", "--json", END);
	stop_mtserver(&p);
	expect_status(&r, 1);
	assert_int_equal(json_int(r.out, "connections_held"), atoll(limit));
	assert_int_equal(json_int(r.out, "refused_by_server"), refused);
	run_free(&r);
}

static void test_mtserver_full(void **state)
{
	(void)state;
	flood_refused("--max-clients", "5", "8", 3);
}

/* --max-per-ip's refusal line, longer than the others, is a refusal
 * too, not an early close. */
static void test_mtserver_per_ip(void **state)
{
	(void)state;
	flood_refused("--max-per-ip", "2", "5", 3);
}

/*
 * The wait to a first reply counts from connect(), not from the first
 * send: against stserver the second client is connected at once (the
 * listen backlog) and sends at once, but nothing answers it until the
 * first client has gone, which takes two --think pauses after the
 * first client's first reply.  So the second client's wait is at least
 * 2 x think - provided its connect() started before that first reply.
 * With two threads it need not have: a thread started late on a busy
 * machine began its connect() milliseconds after the other client's
 * first reply, and the bound was missed by that much.  With -t 1 both
 * connects are started in one pass over the clients, before any reply
 * is read, so the bound follows from the protocol alone, whatever the
 * machine's load.
 */
static void test_stserver_first_reply(void **state)
{
	const char *log = h_path("first.log");
	const char *argv[] = {"--echo", "-q", "-l", log, "0", NULL};
	const long long think_ms = 200;
	struct h_proc p;
	struct run r;

	(void)state;
	if (access(h_bin("stserver"), X_OK) != 0) {
		print_message("stserver not built: skipped\n");
		skip();
	}
	assert_int_equal(h_start_server(&p, "stserver", argv), 0);
	flood(&r, p.port, "-n", "2", "-t", "1", "-m", "3", "--think", "200",
	      "--echo", "--json", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	assert_int_equal(json_sub_int(r.out, "first_reply_us", "count"), 2);
	if (json_sub_int(r.out, "first_reply_us", "max") < 2 * think_ms * 1000)
		fail_msg("first reply max below 2 x --think:\n%s", r.out);
	expect_in(r.err, "first reply (us)");
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneway_bytes),
		cmocka_unit_test(test_oneway_octet_count),
		cmocka_unit_test(test_oneway_large_messages),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_echo_duration_rate_think),
		cmocka_unit_test(test_bad_reply),
		cmocka_unit_test(test_reply_any_line),
		cmocka_unit_test(test_echo_timeout),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_refused_by_server),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_keys_documented),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_latency_stamps),
		cmocka_unit_test(test_rate_stall_corrected),
		cmocka_unit_test(test_interrupted),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_hdr_log),
		cmocka_unit_test(test_hdr_log_other_reader),
		cmocka_unit_test(test_hostname_next_address),
		cmocka_unit_test(test_hosts_round_robin),
		cmocka_unit_test(test_hosts_echo_udp_churn),
		cmocka_unit_test(test_hosts_one_down),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_udp_lost),
		cmocka_unit_test(test_duration_whole_messages),
		cmocka_unit_test(test_max_time),
		cmocka_unit_test(test_verify_log_process),
		cmocka_unit_test(test_usage_error),
		cmocka_unit_test(test_oneway_stall),
		cmocka_unit_test(test_verify_log_torn_last_line),
		cmocka_unit_test(test_verify_log_fleet),
		cmocka_unit_test(test_verify_log_not_a_file),
		cmocka_unit_test(test_mtserver_oneway),
		cmocka_unit_test(test_mtserver_chat_hosts),
		cmocka_unit_test(test_mtserver_octet_count),
		cmocka_unit_test(test_mtserver_echo),
		cmocka_unit_test(test_mtserver_udp),
		cmocka_unit_test(test_mtserver_first_logged),
		cmocka_unit_test(test_mtserver_churn),
		cmocka_unit_test(test_mtserver_full),
		cmocka_unit_test(test_mtserver_per_ip),
		cmocka_unit_test(test_stserver_first_reply),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
