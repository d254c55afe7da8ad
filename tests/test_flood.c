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
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* A flood run in these tests takes well under a second; a minute means
 * it hangs (and flood's own --max-time ends it first). */
#define FLOOD_WAIT_MS 60000

/* ---- the in-process servers ---- */

enum srv_mode {
	SRV_SINK,     /* read and count, close at EOF */
	SRV_SLOW,     /* a sink that reads nothing for its first 500 ms */
	SRV_ECHO,     /* send every byte back */
	SRV_WRONG,    /* send back with every 'x' turned into 'y' */
	SRV_FULL,     /* say "server full" and close */
	SRV_UDP_DROP, /* UDP echo that drops every 10th datagram */
};

/* 64 connections: more than any test here opens at once. */
#define SRV_CONNS 64
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
	ssize_t n = recv(fd, buf, sizeof(buf), 0), i;

	if (n == -1 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	s->bytes += (uint64_t)n;
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
		int quiet = h_now_ms() < quiet_until;

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
		if (s->datagrams++ % 10 == 9)
			continue; /* dropped */
		sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
	return NULL;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
	int udp = mode == SRV_UDP_DROP;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	atomic_init(&s->stop, 0);
	s->fd = srv_socket(udp ? SOCK_DGRAM : SOCK_STREAM, &s->port);
	assert_true(s->fd >= 0);
	assert_int_equal(pthread_create(&s->tid, NULL,
					udp ? srv_udp_main : srv_tcp_main, s),
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

/* Runs flood -p port ARGS...; the argument list ends with NULL. */
static void flood(struct run *r, int port, ...)
{
	const char *argv[40];
	char portbuf[16];
	struct h_proc p;
	size_t n = 0, len;
	va_list ap;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	argv[n++] = "-p";
	argv[n++] = portbuf;
	argv[n++] = "--max-time";
	argv[n++] = "50";
	va_start(ap, port);
	while ((argv[n] = va_arg(ap, const char *)) != NULL) {
		n++;
		assert_true(n < 39);
	}
	va_end(ap);
	assert_int_equal(h_spawn(&p, "flood", argv, NULL), 0);
	r->status = h_wait_exit(&p, FLOOD_WAIT_MS);
	if (r->status == -1)
		h_stop(&p, SIGKILL, 5000);
	r->out = h_slurp(p.out_path, &len);
	r->err = h_slurp(p.err_path, &len);
	assert_non_null(r->out);
	assert_non_null(r->err);
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

static void test_oneway_bytes(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_SINK);
	flood(&r, s.port, "-n", "10", "-m", "500", "-s", "32", "-t", "2", END);
	srv_stop(&s);
	expect_status(&r, 0);
	/* flood waited for our close, so we had read everything. */
	assert_int_equal(s.bytes, 10 * 500 * 32);
	assert_int_equal(s.accepted, 10);
	expect_in(r.out, "5000 sent");
	run_free(&r);
}

static void test_oneway_large_messages(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_SINK);
	flood(&r, s.port, "-n", "3", "-m", "40", "-s", "50000", END);
	srv_stop(&s);
	expect_status(&r, 0);
	assert_int_equal(s.bytes, 3 * 40 * 50000);
	run_free(&r);
}

static void test_echo(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_ECHO);
	flood(&r, s.port, "-n", "5", "-m", "200", "--echo", END);
	srv_stop(&s);
	expect_status(&r, 0);
	expect_in(r.out, "1000 sent, 1000 answered");
	expect_in(r.out, "round trip (us)");
	run_free(&r);
}

static void test_echo_duration_rate_think(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_ECHO);
	flood(&r, s.port, "-n", "4", "-d", "0.3", "--echo", "--rate", "400",
	      "--json", END);
	expect_status(&r, 0);
	assert_true(json_int(r.out, "messages_answered") > 0);
	assert_int_equal(json_int(r.out, "messages_answered"),
			 json_int(r.out, "messages_sent"));
	run_free(&r);
	flood(&r, s.port, "-n", "3", "-m", "10", "--echo", "--think", "5", END);
	expect_status(&r, 0);
	expect_in(r.out, "30 sent, 30 answered");
	run_free(&r);
	srv_stop(&s);
}

static void test_bad_reply(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_WRONG);
	flood(&r, s.port, "-n", "2", "-m", "10", "--echo", END);
	srv_stop(&s);
	expect_status(&r, 1);
	expect_in(r.out, "bad reply x2");
	expect_in(r.out, "FAILED");
	run_free(&r);
}

/* --reply-any-line accepts the wrong echo: it is a line. */
static void test_reply_any_line(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_WRONG);
	flood(&r, s.port, "-n", "2", "-m", "10", "--echo", "--reply-any-line",
	      "--payload", "PING xx", END);
	srv_stop(&s);
	expect_status(&r, 0);
	expect_in(r.out, "20 sent, 20 answered");
	run_free(&r);
}

static void test_echo_timeout(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_SINK); /* never answers */
	flood(&r, s.port, "-n", "3", "-m", "5", "--echo", "--timeout", "100",
	      END);
	srv_stop(&s);
	expect_status(&r, 1);
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
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_FULL);
	flood(&r, s.port, "-n", "3", "--hold", "0.2", END);
	srv_stop(&s);
	expect_status(&r, 1);
	expect_in(r.out, "refused by server x3");
	run_free(&r);
}

static void test_hold(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_SINK);
	flood(&r, s.port, "-n", "20", "--hold", "0.3", "--json", END);
	srv_stop(&s);
	expect_status(&r, 0);
	assert_int_equal(json_int(r.out, "connections_held"), 20);
	assert_int_equal(json_int(r.out, "messages_sent"), 0);
	assert_int_equal(s.bytes, 0);
	expect_in(r.err, "holding");
	run_free(&r);
}

static void test_churn(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_ECHO);
	flood(&r, s.port, "-n", "4", "-m", "25", "--churn", "--echo", END);
	expect_status(&r, 0);
	expect_in(r.out, "100 opened, 0 failed");
	expect_in(r.out, "100 sent, 100 answered");
	run_free(&r);
	flood(&r, s.port, "-n", "4", "-m", "25", "--churn", END);
	srv_stop(&s);
	expect_status(&r, 0);
	expect_in(r.out, "100 opened");
	assert_int_equal(s.accepted, 200);
	assert_int_equal(s.bytes, 2 * 100 * 32);
	run_free(&r);
}

static void test_json(void **state)
{
	static const char *const keys[] = {
		"\"ok\":true",
		"\"mode\":\"echo\"",
		"\"transport\":\"tcp\"",
		"\"clients\":",
		"\"threads\":",
		"\"message_size\":",
		"\"elapsed_s\":",
		"\"connections_opened\":",
		"\"connections_failed\":",
		"\"failed_by_errno\":",
		"\"messages_sent\":",
		"\"messages_answered\":",
		"\"bytes_sent\":",
		"\"bytes_received\":",
		"\"messages_per_s\":",
		"\"mb_per_s\":",
		"\"udp_replies_lost\":",
		"\"errors\":",
		"\"connect_us\":",
		"\"rtt_us\":",
		"\"first_reply_us\":",
		"\"p99_9\":",
	};
	struct srv s = {0};
	struct run r;
	size_t i;

	(void)state;
	srv_start(&s, SRV_ECHO);
	flood(&r, s.port, "-n", "3", "-m", "20", "--echo", "--json", END);
	srv_stop(&s);
	expect_status(&r, 0);
	expect_one_json_object(r.out);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		expect_in(r.out, keys[i]);
	assert_int_equal(json_int(r.out, "messages_answered"), 60);
	/* One first reply per connection, one round trip per message. */
	assert_int_equal(json_sub_int(r.out, "first_reply_us", "count"), 3);
	assert_int_equal(json_sub_int(r.out, "rtt_us", "count"), 60);
	expect_in(r.err, "result           OK"); /* human report moved */
	run_free(&r);

	flood(&r, dead_port(), "-n", "2", "-m", "1", "--json", END);
	expect_status(&r, 1);
	expect_one_json_object(r.out);
	expect_in(r.out, "\"ok\":false");
	expect_in(r.out, "\"failed_by_errno\":{\"ECONNREFUSED\":2}");
	run_free(&r);
}

static void test_udp_lost(void **state)
{
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_UDP_DROP);
	flood(&r, s.port, "-n", "2", "-m", "50", "--udp", "--echo", "--timeout",
	      "200", "--json", END);
	srv_stop(&s);
	expect_status(&r, 1);
	expect_one_json_object(r.out);
	assert_int_equal(s.datagrams, 100);
	assert_int_equal(json_int(r.out, "udp_replies_lost"), 10);
	assert_int_equal(json_int(r.out, "messages_answered"), 90);
	assert_int_equal(json_int(r.out, "messages_sent"), 100);
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
	struct srv s = {0};
	struct run r;
	long long sent;

	(void)state;
	srv_start(&s, SRV_SLOW);
	flood(&r, s.port, "-n", "4", "-d", "0.3", "-s", "1000", "--json", END);
	srv_stop(&s);
	expect_status(&r, 0);
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
	struct srv s = {0};
	struct run r;

	(void)state;
	srv_start(&s, SRV_SINK);
	flood(&r, s.port, "-n", "2", "-m", "5", "--echo", "--timeout",
	      "3600000", "--max-time", "0.5", END);
	srv_stop(&s);
	expect_status(&r, 1);
	expect_in(r.out, "max-time reached x2");
	run_free(&r);
}

static void test_usage_error(void **state)
{
	struct run r;

	(void)state;
	flood(&r, 1, "-n", "0", END);
	expect_status(&r, 2);
	expect_in(r.err, "flood: ");
	expect_in(r.err, "-n");
	assert_int_equal(h_count(r.err, "\n"), 1);
	assert_string_equal(r.out, "");
	run_free(&r);
	flood(&r, 1, "--churn", "--hold", "1", END);
	expect_status(&r, 2);
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

static void test_mtserver_oneway(void **state)
{
	const char *log = h_path("oneway.log");
	struct h_proc p;
	struct run r;

	(void)state;
	if (!have_mtserver())
		skip();
	start_mtserver(&p, log, 0);
	flood(&r, p.port, "-n", "50", "-m", "200", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	run_free(&r);
	verify_log(0, log, "50", "200");
	/* The check can fail: one message too many is a failure. */
	verify_log(1, log, "50", "199");
}

static void test_mtserver_echo(void **state)
{
	const char *log = h_path("echo.log");
	struct h_proc p;
	struct run r;

	(void)state;
	if (!have_mtserver())
		skip();
	start_mtserver(&p, log, 1);
	flood(&r, p.port, "-n", "20", "-m", "100", "--echo", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	expect_in(r.out, "2000 sent, 2000 answered");
	run_free(&r);
	verify_log(0, log, "20", "100");
}

static void test_mtserver_udp(void **state)
{
	const char *log = h_path("udp.log");
	struct h_proc p;
	struct run r;

	(void)state;
	if (!have_mtserver())
		skip();
	start_mtserver(&p, log, 1);
	/* Echo mode: one datagram in flight per client, so none is lost
	 * to a full socket buffer and the log must be complete. */
	flood(&r, p.port, "-n", "8", "-m", "100", "--udp", "--echo", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	expect_in(r.out, "800 sent, 800 answered");
	run_free(&r);
	verify_log(0, log, "8", "100");
}

static void test_mtserver_churn(void **state)
{
	const char *log = h_path("churn.log");
	struct h_proc p;
	struct run r;

	(void)state;
	if (!have_mtserver())
		skip();
	start_mtserver(&p, log, 0);
	flood(&r, p.port, "-n", "10", "-m", "20", "--churn", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	expect_in(r.out, "200 opened, 0 failed");
	run_free(&r);
	verify_log(0, log, "10", "20");
}

static void test_mtserver_full(void **state)
{
	const char *log = h_path("full.log");
	const char *argv[] = {"--max-clients", "5", "-l", log, "0", NULL};
	struct h_proc p;
	struct run r;

	(void)state;
	if (!have_mtserver())
		skip();
	assert_int_equal(h_start_server(&p, "mtserver", argv), 0);
	flood(&r, p.port, "-n", "8", "--hold", "0.5", "--json", END);
	stop_mtserver(&p);
	expect_status(&r, 1);
	assert_int_equal(json_int(r.out, "connections_held"), 5);
	assert_int_equal(json_int(r.out, "refused_by_server"), 3);
	run_free(&r);
}

/*
 * The wait to a first reply counts from connect(), not from the first
 * send: against stserver the second client is connected at once (the
 * listen backlog) and sends at once, but nothing answers it until the
 * first client has gone, which takes at least its two --think pauses.
 * The bound follows from the protocol, not from the machine's speed.
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
	flood(&r, p.port, "-n", "2", "-m", "3", "--think", "200", "--echo",
	      "--json", END);
	stop_mtserver(&p);
	expect_status(&r, 0);
	assert_int_equal(json_sub_int(r.out, "first_reply_us", "count"), 2);
	assert_true(json_sub_int(r.out, "first_reply_us", "max") >=
		    2 * think_ms * 1000);
	expect_in(r.err, "first reply (us)");
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneway_bytes),
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
		cmocka_unit_test(test_udp_lost),
		cmocka_unit_test(test_duration_whole_messages),
		cmocka_unit_test(test_max_time),
		cmocka_unit_test(test_verify_log_process),
		cmocka_unit_test(test_usage_error),
		cmocka_unit_test(test_mtserver_oneway),
		cmocka_unit_test(test_mtserver_echo),
		cmocka_unit_test(test_mtserver_udp),
		cmocka_unit_test(test_mtserver_churn),
		cmocka_unit_test(test_mtserver_full),
		cmocka_unit_test(test_stserver_first_reply),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
