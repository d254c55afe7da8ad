/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_metrics.c - --metrics (issue 25, item 1): the request parser
 * (httpreq.h) on good and bad heads, in one piece and in every split;
 * the exposition (metrics.h); a real mtserver's endpoint over loopback
 * counting the lines and datagrams the test sends, answering bad
 * requests with their status, not held up by idle clients; promtool
 * check metrics on a scrape; and a real Prometheus (Debian package
 * prometheus) scraping it and answering a query with the test's counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpreq.h"
#include "log.h"
#include "metrics.h"
#include "servers.h"

/* ---- the request parser ---- */

struct head_case {
	const char *text;
	enum http_status status;
};

#define HOST "Host: 127.0.0.1:9\r\n"

static const struct head_case heads[] = {
	{"GET /metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_OK},
	{"GET /metrics HTTP/1.0\r\n\r\n", HTTP_OK},
	{"GET /metrics HTTP/1.0\n\n", HTTP_OK},
	{"GET /metrics?x=1 HTTP/1.1\r\n" HOST
	 "User-Agent: Prometheus/2.42.0\r\nAccept: text/plain;q=0.9\r\n"
	 "Content-Length: 0\r\n\r\n",
	 HTTP_OK},
	{"GET /metrics HTTP/1.1\r\nhOsT:x\r\nX-Empty:\r\n\r\n", HTTP_OK},
	{"GET / HTTP/1.1\r\n" HOST "\r\n", HTTP_NOT_FOUND},
	{"GET /metricsx HTTP/1.1\r\n" HOST "\r\n", HTTP_NOT_FOUND},
	{"GET /metrics/ HTTP/1.1\r\n" HOST "\r\n", HTTP_NOT_FOUND},
	{"POST /metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_METHOD},
	{"HEAD /metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_METHOD},
	{"get /metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_METHOD},
	{"GET /metrics HTTP/2.0\r\n" HOST "\r\n", HTTP_BAD_VERSION},
	{"GET /metrics HTTP/1.2\r\n\r\n", HTTP_BAD_VERSION},
	{"GET /metrics HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST}, /* no Host */
	{"GET /metrics HTTP/1.1\r\n" HOST HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET  /metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET http://a/metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1\r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics http/1.1\r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1 \r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET /met\rrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\n" HOST "NoColon\r\n\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n",
	 HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\n" HOST "X: a\x01b\r\n\r\n",
	 HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\n" HOST "X: a\rb\r\n\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n",
	 HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\nhello",
	 HTTP_BAD_REQUEST},
	{"\r\nGET /metrics HTTP/1.1\r\n" HOST "\r\n", HTTP_BAD_REQUEST},
	{"\x16\x03\x01\x02\x05\x01\x07\x01\xfc\x03\x03\n", HTTP_BAD_REQUEST},
	/* The first bad line decides, even with a 404 and a 405 to come. */
	{"PUT /x HTTP/1.1\r\nBad Header\r\n\r\n", HTTP_BAD_REQUEST},
	{"GET /metrics HTTP/1.1\r\n" HOST, HTTP_MORE},
	{"GET /metrics HTTP/1.1\r\n" HOST "\r", HTTP_MORE},
	{"GET /metr", HTTP_MORE},
	{"", HTTP_MORE},
};

static void test_parse_heads(void **state)
{
	struct http_request req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		enum http_status got =
			http_parse(heads[i].text, strlen(heads[i].text), &req);

		if (got != heads[i].status)
			fail_msg("case %zu: %d, expected %d", i, (int)got,
				 (int)heads[i].status);
	}
	assert_int_equal(http_parse(heads[0].text, strlen(heads[0].text), &req),
			 HTTP_OK);
	assert_int_equal(req.head_len, strlen(heads[0].text));
	assert_int_equal(req.version, 11);
	assert_int_equal(req.target_len, 8);
	assert_memory_equal(heads[0].text + req.target_off, "/metrics", 8);
	/* Bytes after the head (a body, a second request) are not read. */
	{
		const char two[] =
			"GET /metrics HTTP/1.0\r\n\r\nGET /x HTTP/1.0";

		assert_int_equal(http_parse(two, sizeof(two) - 1, &req),
				 HTTP_OK);
		assert_int_equal(req.head_len, 25);
		assert_int_equal(req.version, 10);
	}
}

static bool same_request(const struct http_request *a,
			 const struct http_request *b)
{
	return a->head_len == b->head_len && a->target_off == b->target_off &&
	       a->target_len == b->target_len && a->version == b->version;
}

/* Fed in pieces (as reads bring it), every prefix gets "more" or the
 * one-shot answer, and the whole the one-shot answer. */
static void check_splits(const char *text, size_t len)
{
	struct http_request whole, part;
	enum http_status once = http_parse(text, len, &whole);
	size_t cut;

	for (cut = 0; cut <= len; cut++) {
		enum http_status got = http_parse(text, cut, &part);

		if (got != HTTP_MORE && got != once)
			fail_msg("prefix %zu of %zu: %d, whole: %d", cut, len,
				 (int)got, (int)once);
		if (got == once && once != HTTP_MORE && got != HTTP_TOO_LARGE &&
		    !same_request(&part, &whole))
			fail_msg("prefix %zu of %zu: another request", cut,
				 len);
	}
}

static void test_parse_in_pieces(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		check_splits(heads[i].text, strlen(heads[i].text));
}

/* A head of exactly HTTP_HEAD_MAX bytes is read; one byte more is 431,
 * and so is a head that never ends. */
static void test_parse_size_bound(void **state)
{
	const char *start = "GET /metrics HTTP/1.0\r\nX-Pad: ";
	char *buf = malloc(2 * HTTP_HEAD_MAX);
	struct http_request req;
	size_t pad;

	(void)state;
	assert_non_null(buf);
	pad = HTTP_HEAD_MAX - strlen(start) - 4;
	memcpy(buf, start, strlen(start));
	memset(buf + strlen(start), 'a', pad);
	memcpy(buf + strlen(start) + pad, "\r\n\r\n", 4);
	assert_int_equal(http_parse(buf, HTTP_HEAD_MAX, &req), HTTP_OK);
	assert_int_equal(req.head_len, HTTP_HEAD_MAX);
	memset(buf + strlen(start), 'a', pad + 1);
	memcpy(buf + strlen(start) + pad + 1, "\r\n\r\n", 4);
	assert_int_equal(http_parse(buf, HTTP_HEAD_MAX + 1, &req),
			 HTTP_TOO_LARGE);
	assert_int_equal(http_parse(buf, HTTP_HEAD_MAX - 1, &req), HTTP_MORE);
	memset(buf, 'G', 2 * HTTP_HEAD_MAX);
	assert_int_equal(http_parse(buf, 2 * HTTP_HEAD_MAX, &req),
			 HTTP_TOO_LARGE);
	free(buf);
}

/* ---- the exposition ---- */

static void test_histogram_buckets(void **state)
{
	struct metrics_hist h;
	struct metrics_hist_read r;

	(void)state;
	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, 0);
	metrics_hist_observe(&h, 10000); /* 10 us: le="1e-05" holds it */
	metrics_hist_observe(&h, 10001);
	metrics_hist_observe(&h, 3000000000ULL); /* 3 s: above all */
	metrics_hist_get(&h, &r);
	assert_int_equal(r.bucket[0], 2);
	assert_int_equal(r.bucket[1], 1);
	assert_int_equal(r.bucket[METRICS_HIST_BOUNDS], 1);
	assert_int_equal(r.sum_ns, 3000020001ULL);
}

/* The value of the sample named exactly series ("name" or
 * "name{labels}") in an exposition, or -1. */
static long long sample_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *at = text;

	while (at != NULL && *at != '\0') {
		if (strncmp(at, series, n) == 0 && at[n] == ' ')
			return strtoll(at + n + 1, NULL, 10);
		at = strchr(at, '\n');
		if (at != NULL)
			at++;
	}
	return -1;
}

/* Every sample's family has HELP and TYPE lines before it, counters end
 * in _total, every name starts mtserver_; returns the samples. */
static int check_families(const char *text)
{
	char family[128] = "", type[16] = "", name[128];
	const char *line = text;
	int samples = 0;

	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len;

		assert_non_null(end);
		len = (size_t)(end - line);
		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s", family), 1);
			type[0] = '\0';
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(
				sscanf(line + 7, "%127s %15s", name, type), 2);
			assert_string_equal(name, family);
			if (strcmp(type, "counter") == 0)
				assert_non_null(strstr(family, "_total"));
		} else {
			size_t fl = strlen(family);

			assert_true(len > fl);
			assert_memory_equal(line, family, fl);
			assert_true(type[0] != '\0');
			assert_memory_equal(line, "mtserver_", 9);
			samples++;
		}
		line = end + 1;
	}
	return samples;
}

static void test_exposition(void **state)
{
	struct metrics_snapshot s;
	char *text, small[100];
	size_t len, i;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.tcp_active = 3;
	s.tcp_conns = 11;
	s.refused[STATS_REFUSED_SERVER_FULL] = 2;
	s.ended[STATS_END_QUIT] = 5;
	s.tcp_msgs = 7;
	s.udp_msgs = 8;
	s.udp_datagrams = 6;
	s.tcp_truncated = 1;
	s.log_lines = 123456789012ULL;
	s.log_write.bucket[0] = 4;
	s.log_write.bucket[3] = 1;
	s.log_write.bucket[METRICS_HIST_BOUNDS] = 2;
	s.log_write.sum_ns = 1500000000ULL;
	s.budget_limit = 1ULL << 30;
	len = metrics_write(NULL, 0, &s);
	text = malloc(len + 1);
	assert_non_null(text);
	assert_int_equal(metrics_write(text, len + 1, &s), len);
	assert_int_equal(strlen(text), len);
	/* Cut short: the same length, a NUL-terminated prefix. */
	assert_int_equal(metrics_write(small, sizeof(small), &s), len);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, text, sizeof(small) - 1);

	assert_true(check_families(text) > 40);
	assert_int_equal(sample_of(text, "mtserver_tcp_connections_active"), 3);
	assert_int_equal(sample_of(text, "mtserver_tcp_connections_total"), 11);
	assert_int_equal(sample_of(text,
				   "mtserver_tcp_connections_refused_total{"
				   "reason=\"server-full\"}"),
			 2);
	assert_int_equal(
		sample_of(
			text,
			"mtserver_tcp_connections_refused_total{reason=\"other\"}"),
		0);
	assert_int_equal(
		sample_of(text,
			  "mtserver_sessions_ended_total{reason=\"quit\"}"),
		5);
	assert_int_equal(
		sample_of(text, "mtserver_messages_total{transport=\"tcp\"}"),
		7);
	assert_int_equal(
		sample_of(text, "mtserver_messages_total{transport=\"udp\"}"),
		8);
	assert_int_equal(
		sample_of(text, "mtserver_messages_truncated_total{transport="
				"\"tcp\"}"),
		1);
	assert_int_equal(sample_of(text, "mtserver_udp_datagrams_total"), 6);
	assert_int_equal(sample_of(text, "mtserver_log_lines_written_total"),
			 123456789012LL);
	assert_int_equal(sample_of(text, "mtserver_memory_budget_limit_bytes"),
			 1LL << 30);
	/* Buckets cumulative, +Inf the count, the sum in seconds. */
	assert_int_equal(sample_of(text,
				   "mtserver_log_write_duration_seconds_bucket{"
				   "le=\"1e-05\"}"),
			 4);
	assert_int_equal(sample_of(text,
				   "mtserver_log_write_duration_seconds_bucket{"
				   "le=\"0.00025\"}"),
			 5);
	assert_int_equal(sample_of(text,
				   "mtserver_log_write_duration_seconds_bucket{"
				   "le=\"+Inf\"}"),
			 7);
	assert_int_equal(
		sample_of(text, "mtserver_log_write_duration_seconds_count"),
		7);
	assert_non_null(strstr(text,
			       "\nmtserver_log_write_duration_seconds_sum "
			       "1.500000000\n"));
	for (i = 0; i < STATS_ENDS; i++)
		assert_non_null(strstr(text, stats_end_names[i]));
	free(text);
}

/* Polls lg's counters until read(c) holds (5 s); returns it. */
static struct log_counters
counters_when(struct logger *lg,
	      bool (*done)(const struct log_counters *, uint64_t),
	      uint64_t want)
{
	struct log_counters c;
	long long deadline = h_now_ms() + 5000;

	do {
		log_counters(lg, &c);
		if (done(&c, want))
			break;
		h_sleep_ms(5);
	} while (h_now_ms() < deadline);
	return c;
}

static bool written(const struct log_counters *c, uint64_t lines)
{
	return c->lines == lines;
}

static bool lost(const struct log_counters *c, uint64_t lines)
{
	return c->lost_lines == lines;
}

/* The logger counts the lines and bytes that reach the file (batches'
 * and single appends alike), the write times, and what a full device
 * (/dev/full) makes it lose. */
static void test_log_counters(void **state)
{
	const char *path = h_path("counted.log");
	struct log_batch b;
	struct log_counters c;
	struct logger *lg;
	uint64_t timed = 0;
	size_t size, i;
	int fd;
	char *text;

	(void)state;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	lg = log_open(fd, LOG_BATCH_SIZE);
	assert_non_null(lg);
	assert_int_equal(log_batch_init(&b, lg, 64), 0);
	log_batch_stamp(&b);
	for (i = 0; i < 1000; i++)
		log_batch_msg(&b, "tcp 127.0.0.1:9 #1", 18, "hello", 5, 5);
	log_batch_flush(&b);
	assert_int_equal(log_append(lg, "one\ntwo\n", 8), 0);
	c = counters_when(lg, written, 1002);
	assert_int_equal(c.lines, 1002);
	text = h_slurp(path, &size);
	assert_non_null(text);
	assert_int_equal(c.bytes, size);
	assert_int_equal(h_count(text, "\n"), 1002);
	free(text);
	for (i = 0; i <= METRICS_HIST_BOUNDS; i++)
		timed += c.write.bucket[i];
	assert_true(timed >= 1);
	assert_int_equal(c.lost_lines, 0);
	log_batch_free(&b);
	assert_int_equal(log_close(lg, NULL), 0);
	close(fd);

	fd = open("/dev/full", O_WRONLY);
	if (fd < 0) {
		print_message("no /dev/full here\n");
		skip();
		return;
	}
	lg = log_open(fd, LOG_BATCH_SIZE);
	assert_non_null(lg);
	assert_int_equal(log_append(lg, "a\nb\nc\n", 6), 0);
	c = counters_when(lg, lost, 3);
	assert_int_equal(c.lost_lines, 3);
	assert_int_equal(c.lost_bytes, 6);
	assert_int_equal(c.lines, 0);
	assert_int_equal(log_close(lg, NULL), -1);
	close(fd);
}

static void test_address_option(void **state)
{
	struct net_addr a;
	char err[NET_ERR_MAX];

	(void)state;
	assert_int_equal(
		metrics_parse_addr("127.0.0.1:9100", &a, err, sizeof(err)), 0);
	assert_int_equal(metrics_parse_addr("[::1]:0", &a, err, sizeof(err)),
			 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	static const char *const bad[] = {
		"127.0.0.1",	  "127.0.0.1:",	     ":9100",
		"::1:9100",	  "127.0.0.1:65536", "127.0.0.1:-1",
		"localhost:9100", "[::1:9100",	     "127.0.0.1:9x",
		"[]:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (metrics_parse_addr(bad[i], &a, err, sizeof(err)) != -1)
			fail_msg("'%s' taken", bad[i]);
		assert_non_null(strstr(err, "--metrics"));
	}
}

/* ---- the endpoint, on a real mtserver ---- */

/* The port of "PROG: metrics at http://ADDR:PORT/metrics", or -1. */
static int metrics_port_of(const struct srv *s)
{
	char *text = h_slurp(s->p.err_path, NULL);
	const char *at =
		text != NULL ? strstr(text, "metrics at http://") : NULL;
	const char *slash, *colon = NULL;
	int port = -1;

	if (at != NULL && (slash = strstr(at, "/metrics\n")) != NULL) {
		for (const char *c = at + 18; c < slash; c++)
			if (*c == ':')
				colon = c;
		if (colon != NULL)
			port = atoi(colon + 1);
	}
	free(text);
	return port;
}

/* Sends req (len bytes) to the endpoint at port, reads the answer until
 * the server closes (within 10 s), into a malloc'd string; its status
 * in *status (-1: none).  NULL when nothing listens there. */
static char *try_exchange(int port, const char *req, size_t len, int *status)
{
	int fd = h_connect("127.0.0.1", port);
	size_t got = 0, cap = 1 << 16;
	char *buf;
	long long deadline = h_now_ms() + 10000;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	assert_non_null(buf);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO,
				    &(struct timeval){1, 0},
				    sizeof(struct timeval)),
			 0);
	if (len > 0)
		assert_int_equal(h_send_all(fd, req, len), 0);
	while (got < cap && h_now_ms() < deadline) {
		ssize_t n = recv(fd, buf + got, cap - got, 0);

		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*status = -1;
	if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
		*status = atoi(buf + 9);
	return buf;
}

/* try_exchange with a server that listens. */
static char *exchange(int port, const char *req, size_t len, int *status)
{
	char *resp = try_exchange(port, req, len, status);

	assert_non_null(resp);
	return resp;
}

#define SCRAPE "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"

/* One scrape; fails the test unless it is 200 with the exposition's
 * content type.  Returns the body (malloc'd, its own block). */
static char *scrape(int port)
{
	int status;
	char *resp = exchange(port, SCRAPE, strlen(SCRAPE), &status);
	char *body;

	assert_int_equal(status, 200);
	assert_non_null(strstr(resp, "\r\nContent-Type: text/plain; "
				     "version=0.0.4; charset=utf-8\r\n"));
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	body = strdup(body + 4);
	free(resp);
	return body;
}

/* Scrapes until series reads want (within 10 s); returns what it read
 * last. */
static long long scrape_until(int port, const char *series, long long want)
{
	long long deadline = h_now_ms() + 10000, v = -1;

	while (h_now_ms() < deadline) {
		char *body = scrape(port);

		v = sample_of(body, series);
		free(body);
		if (v == want)
			break;
		h_sleep_ms(20);
	}
	return v;
}

static void start_with_metrics(struct srv *s, int *mport, const char *extra)
{
	srv_start(s, "mtserver", "--metrics", "127.0.0.1:0", "--max-clients",
		  "3", "--max-line", "64", extra, (const char *)NULL);
	/* The metrics line follows the listening line srv_start waited for:
	 * a slow start (ASan) prints it a moment later. */
	(void)h_wait_for(s->p.err_path, "/metrics\n", 1, 10000);
	*mport = metrics_port_of(s);
	if (*mport <= 0)
		fail_msg("no metrics port; see %s", s->p.err_path);
}

/* Lines in a file. */
static long long lines_in(const char *path)
{
	char *text = h_slurp(path, NULL);
	long long n = text != NULL ? (long long)h_count(text, "\n") : -1;

	free(text);
	return n;
}

#define TCP_LINES     40
#define UDP_DATAGRAMS 15

/*
 * TCP_LINES lines over two connections (one still open while the test
 * scrapes: counted live), one of them truncated, UDP_DATAGRAMS
 * datagrams, a client refused as server-full: every count on the
 * endpoint is what the test caused, and the log lines written are the
 * lines in the file.
 */
static void test_counts_what_the_test_sent(void **state)
{
	struct srv s = {0};
	int mport, a, b, c[3], u, i;
	char line[128];
	char *body;

	(void)state;
	start_with_metrics(&s, &mport, NULL);
	a = srv_connect(&s);
	b = srv_connect(&s);
	for (i = 0; i < TCP_LINES; i++) {
		if (i == 7)
			snprintf(line, sizeof(line), "%0100d\n", i);
		else
			snprintf(line, sizeof(line), "line %d\n", i);
		srv_send(i % 2 ? a : b, line);
	}
	u = h_udp("127.0.0.1", s.p.port);
	assert_true(u >= 0);
	for (i = 0; i < UDP_DATAGRAMS; i++) {
		snprintf(line, sizeof(line), "dgram %d\n", i);
		assert_true(send(u, line, strlen(line), 0) > 0);
	}
	srv_wait_log(&s, " msg ", TCP_LINES + UDP_DATAGRAMS - 1);
	srv_wait_log(&s, " msg-truncated ", 1);
	close(a); /* b stays: its lines count while it is connected */
	srv_wait_log(&s, " disconnect ", 1);
	/* With b, three clients; the fourth is refused (max 3). */
	c[0] = srv_connect(&s);
	c[1] = srv_connect(&s);
	c[2] = srv_connect(&s);
	srv_wait_log(&s, " refused reason=server-full", 1);
	assert_int_equal(
		scrape_until(mport, "mtserver_tcp_connections_total", 4), 4);
	assert_int_equal(
		scrape_until(mport, "mtserver_tcp_connections_active", 3), 3);

	assert_int_equal(
		scrape_until(mport,
			     "mtserver_messages_total{transport=\"tcp\"}",
			     TCP_LINES),
		TCP_LINES);
	assert_int_equal(
		scrape_until(mport,
			     "mtserver_messages_total{transport=\"udp\"}",
			     UDP_DATAGRAMS),
		UDP_DATAGRAMS);
	body = scrape(mport);
	assert_int_equal(sample_of(body, "mtserver_udp_datagrams_total"),
			 UDP_DATAGRAMS);
	assert_int_equal(sample_of(body, "mtserver_messages_truncated_total{"
					 "transport=\"tcp\"}"),
			 1);
	assert_int_equal(sample_of(body, "mtserver_tcp_connections_total"), 4);
	assert_int_equal(sample_of(body, "mtserver_tcp_connections_active"), 3);
	assert_int_equal(sample_of(body,
				   "mtserver_tcp_connections_refused_total{"
				   "reason=\"server-full\"}"),
			 1);
	assert_int_equal(
		sample_of(body, "mtserver_sessions_ended_total{reason=\"client-"
				"closed\"}"),
		1);
	assert_true(sample_of(body, "mtserver_received_bytes_total{transport="
				    "\"tcp\"}") > 5LL * TCP_LINES);
	assert_true(sample_of(body, "mtserver_memory_budget_used_bytes") > 0);
	/* mtserver: main, logger, signals, UDP, metrics, two workers. */
	assert_true(sample_of(body, "mtserver_threads") >= 7);
	assert_true(sample_of(body, "mtserver_log_write_duration_seconds_"
				    "count") > 0);
	free(body);
	/* The log's own count is the file's, once the flusher caught up. */
	for (i = 0; i < 200; i++) {
		long long in_file = lines_in(s.log);

		body = scrape(mport);
		if (sample_of(body, "mtserver_log_lines_written_total") ==
		    in_file) {
			free(body);
			break;
		}
		free(body);
		h_sleep_ms(50);
	}
	assert_true(i < 200);
	close(b);
	for (i = 0; i < 3; i++)
		close(c[i]);
	close(u);
	srv_stop(&s);
}

/* Chat members and outbox bytes move with the room. */
static void test_chat_members(void **state)
{
	struct srv s = {0};
	int mport, a, b;

	(void)state;
	start_with_metrics(&s, &mport, "--chat");
	a = srv_connect(&s);
	b = srv_connect(&s);
	assert_int_equal(scrape_until(mport, "mtserver_chat_members", 2), 2);
	close(a);
	assert_int_equal(scrape_until(mport, "mtserver_chat_members", 1), 1);
	close(b);
	assert_int_equal(scrape_until(mport, "mtserver_chat_members", 0), 0);
	assert_int_equal(scrape_until(mport, "mtserver_outbox_bytes", 0), 0);
	srv_stop(&s);
}

static void expect_status(int port, const char *req, size_t len, int want)
{
	int status;
	char *resp = exchange(port, req, len, &status);

	if (status != want)
		fail_msg("'%.40s...': %d, expected %d: '%.80s'", req, status,
			 want, resp);
	assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
	free(resp);
}

/* Bad requests get their status; a request trickled byte by byte is
 * answered as a whole one. */
static void test_statuses(void **state)
{
	static const char big_head[] = "GET /metrics HTTP/1.1\r\nX: ";
	struct srv s = {0};
	int mport, fd, status;
	char *big, *resp;

	(void)state;
	start_with_metrics(&s, &mport, NULL);
	expect_status(mport, "POST /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 35,
		      405);
	expect_status(mport, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", 28, 404);
	expect_status(mport, "GET /metrics HTTP/1.1\r\n\r\n", 25, 400);
	expect_status(mport, "\x16\x03\x01\x00\xa5\x01\x00\n", 8, 400);
	expect_status(mport, "GET /metrics HTTP/3.0\r\n\r\n", 25, 505);
	expect_status(mport, "GET /metrics HTTP/1.0\r\n\r\n", 25, 200);
	big = malloc(HTTP_HEAD_MAX + 1024);
	assert_non_null(big);
	memcpy(big, big_head, sizeof(big_head) - 1);
	memset(big + sizeof(big_head) - 1, 'a',
	       HTTP_HEAD_MAX + 1024 - sizeof(big_head) + 1);
	expect_status(mport, big, HTTP_HEAD_MAX + 1024, 431);
	free(big);

	fd = h_connect("127.0.0.1", mport);
	assert_true(fd >= 0);
	for (size_t i = 0; i < strlen(SCRAPE); i++) {
		assert_int_equal(h_send_all(fd, SCRAPE + i, 1), 0);
		h_sleep_ms(2);
	}
	resp = calloc(1, 65536);
	assert_non_null(resp);
	assert_true(recv(fd, resp, 65535, MSG_WAITALL) > 0);
	status = atoi(resp + 9);
	assert_int_equal(status, 200);
	assert_non_null(strstr(resp, "mtserver_messages_total"));
	free(resp);
	close(fd);
	srv_stop(&s);
}

/*
 * Idle and half-sent scrape connections hold nobody up: another scrape
 * is answered while they wait, one beyond METRICS_CLIENTS is told 503
 * at once, the idle ones are closed within their time, and the server
 * stops (exit 0) with every slot held.
 */
static void test_idle_clients_hold_nothing(void **state)
{
	struct srv s = {0};
	int mport, idle[METRICS_CLIENTS], status, i;
	long long t0;
	char *resp, *body;

	(void)state;
	start_with_metrics(&s, &mport, NULL);
	for (i = 0; i < METRICS_CLIENTS - 1; i++) {
		idle[i] = h_connect("127.0.0.1", mport);
		assert_true(idle[i] >= 0);
	}
	assert_int_equal(h_send_all(idle[0], "GET /metr", 9), 0);
	/* Every slot but one held: a scrape still gets its answer. */
	body = scrape(mport);
	assert_true(sample_of(body, "mtserver_threads") > 0);
	free(body);
	/* Every slot held: the next is refused at once.  (Until the
	 * endpoint has taken the last idle client into its slot, a scrape
	 * may still get that slot, and a 200.) */
	idle[METRICS_CLIENTS - 1] = h_connect("127.0.0.1", mport);
	assert_true(idle[METRICS_CLIENTS - 1] >= 0);
	t0 = h_now_ms();
	do {
		resp = exchange(mport, SCRAPE, strlen(SCRAPE), &status);
		free(resp);
	} while (status == 200 && h_now_ms() - t0 < 4000);
	assert_int_equal(status, 503);
	/* Closed by the endpoint within their time (5 s; 15 s of margin),
	 * the half-sent one too. */
	for (i = 0; i < METRICS_CLIENTS; i++)
		assert_int_equal(h_wait_eof(idle[i], 20000), 0);
	assert_true(h_now_ms() - t0 < 20000);
	for (i = 0; i < METRICS_CLIENTS; i++)
		close(idle[i]);
	/* Now hold every slot again and stop: the stop does not wait. */
	for (i = 0; i < METRICS_CLIENTS; i++) {
		idle[i] = h_connect("127.0.0.1", mport);
		assert_true(idle[i] >= 0);
	}
	h_sleep_ms(100);
	srv_stop(&s);
	for (i = 0; i < METRICS_CLIENTS; i++) {
		assert_int_equal(h_wait_eof(idle[i], 5000), 0);
		close(idle[i]);
	}
}

static void test_option_errors(void **state)
{
	struct h_proc p;
	char text[64];
	int holder, port;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	(void)state;
	{
		const char *argv[] = {"--metrics", "localhost:9100", "0", NULL};

		assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 10000), 2);
		assert_true(h_count_in_file(
				    p.err_path,
				    "invalid --metrics 'localhost:9100'") == 1);
	}
	/* A port taken: a one-line error at start, exit 1. */
	holder = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(0x7f000001);
	assert_int_equal(bind(holder, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(holder, 1), 0);
	assert_int_equal(getsockname(holder, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	snprintf(text, sizeof(text), "127.0.0.1:%d", port);
	{
		const char *argv[] = {"--metrics", text, "0", NULL};

		assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 10000), 1);
		assert_true(h_count_in_file(p.err_path, "\n") == 1);
		assert_true(h_count_in_file(p.err_path, "in use") == 1);
	}
	close(holder);
	/* Off by default. */
	{
		struct srv s = {0};

		srv_start(&s, "mtserver", (const char *)NULL);
		assert_int_equal(metrics_port_of(&s), -1);
		srv_stop(&s);
	}
}

/* ---- real peers: promtool, prometheus ---- */

static pid_t prom_pid;

/* Runs bin with argv (argv[0] included), stdin from in_path (or
 * /dev/null), stdout and stderr to out_path; returns its exit status,
 * or -1 when it did not end within timeout_ms (then killed). */
static int run_tool(const char *bin, char *const argv[], const char *in_path,
		    const char *out_path, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int in =
			open(in_path != NULL ? in_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		h_die_with_parent();
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(bin, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (h_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		h_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A scrape of a server that has seen traffic passes promtool's checks
 * (format and naming: no output, exit 0). */
static void test_promtool_check_metrics(void **state)
{
	char bin[H_PATH_MAX], line[64];
	const char *scrape_path = h_path("scrape.txt");
	const char *out_path = h_path("promtool.out");
	struct srv s = {0};
	int mport, fd, u, rc;
	char *body, *out;

	(void)state;
	if (h_which(bin, sizeof(bin), "promtool") == NULL) {
		print_message("promtool not found: install the Debian package "
			      "prometheus\n");
		skip();
		return;
	}
	start_with_metrics(&s, &mport, "--echo");
	fd = srv_connect(&s);
	u = h_udp("127.0.0.1", s.p.port);
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "m %d\n", i);
		srv_send(fd, line);
		assert_true(send(u, line, strlen(line), 0) > 0);
	}
	srv_wait_log(&s, " msg ", 20);
	body = scrape(mport);
	assert_int_equal(h_write_file(scrape_path, body), 0);
	free(body);
	{
		char *const argv[] = {"promtool", "check", "metrics", NULL};

		rc = run_tool(bin, argv, scrape_path, out_path, 60000);
	}
	out = h_slurp(out_path, NULL);
	if (rc != 0 || (out != NULL && out[0] != '\0'))
		fail_msg("promtool check metrics: exit %d: %s", rc,
			 out != NULL ? out : "");
	free(out);
	close(fd);
	close(u);
	srv_stop(&s);
}

static void prom_stop(void)
{
	if (prom_pid <= 0)
		return;
	kill(prom_pid, SIGTERM);
	waitpid(prom_pid, NULL, 0);
	prom_pid = 0;
}

/* Prometheus' answer to GET path on its port into a file (the body
 * only); 0, or -1 when it does not answer 200. */
static int prom_get(int port, const char *path, const char *body_path)
{
	char req[1200];
	int status;
	char *resp, *body;

	snprintf(
		req, sizeof(req),
		"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		path);
	resp = try_exchange(port, req, strlen(req), &status);
	if (resp == NULL)
		return -1; /* not listening yet */
	body = strstr(resp, "\r\n\r\n");
	if (status != 200 || body == NULL ||
	    h_write_file(body_path, body + 4) != 0) {
		free(resp);
		return -1;
	}
	free(resp);
	return 0;
}

/* The value Prometheus has for query (URL-encoded) on its port: the
 * first result's, read by jq; -1 when none yet. */
static long long prom_query(const char *jq, int port, const char *query)
{
	char path[1024], *text;
	const char *body_path = h_path("query.json");
	const char *out_path = h_path("query.out");
	long long v = -1;

	snprintf(path, sizeof(path), "/api/v1/query?query=%s", query);
	if (prom_get(port, path, body_path) != 0)
		return -1;
	{
		char *const argv[] = {
			"jq", "-r", ".data.result[0].value[1] // \"-1\"", NULL};

		if (run_tool(jq, argv, body_path, out_path, 10000) != 0)
			return -1;
	}
	text = h_slurp(out_path, NULL);
	if (text != NULL)
		v = strtoll(text, NULL, 10);
	free(text);
	return v;
}

/* Polls Prometheus until query reads want (60 s: it scrapes every
 * second, but starts slowly on a loaded machine). */
static long long prom_wait(const char *jq, int port, const char *query,
			   long long want)
{
	long long deadline = h_now_ms() + 60000, v = -1;

	while (h_now_ms() < deadline &&
	       (v = prom_query(jq, port, query)) != want)
		h_sleep_ms(250);
	return v;
}

/*
 * A real Prometheus, on loopback with a configuration of the test's,
 * scrapes the endpoint every second; its HTTP API then gives the
 * counts the test caused: TCP lines, UDP datagrams, a refusal, and
 * the target up.
 */
static void test_prometheus_scrapes(void **state)
{
	char prom[H_PATH_MAX], jq[H_PATH_MAX], conf[1024], flag[3][H_PATH_MAX];
	const char *conf_path = h_path("prometheus.yml");
	const char *data = h_path("prometheus-data");
	const char *log_path = h_path("prometheus.log");
	struct srv s = {0};
	int mport, pport, fd, u, c[3];
	char line[64];

	(void)state;
	if (h_which(prom, sizeof(prom), "prometheus") == NULL) {
		print_message("prometheus not found: install the Debian "
			      "package prometheus\n");
		skip();
		return;
	}
	if (h_which(jq, sizeof(jq), "jq") == NULL) {
		print_message("jq not found: install the Debian package jq\n");
		skip();
		return;
	}
	start_with_metrics(&s, &mport, NULL);
	fd = srv_connect(&s);
	for (int i = 0; i < TCP_LINES; i++) {
		snprintf(line, sizeof(line), "p %d\n", i);
		srv_send(fd, line);
	}
	u = h_udp("127.0.0.1", s.p.port);
	for (int i = 0; i < UDP_DATAGRAMS; i++)
		assert_true(send(u, "d\n", 2, 0) == 2);
	c[0] = srv_connect(&s);
	c[1] = srv_connect(&s);
	c[2] = srv_connect(&s); /* the fourth: refused, server-full */
	srv_wait_log(&s, " refused reason=server-full", 1);
	srv_wait_log(&s, " msg ", TCP_LINES + UDP_DATAGRAMS);

	snprintf(conf, sizeof(conf),
		 "global:\n"
		 "  scrape_interval: 1s\n"
		 "  scrape_timeout: 1s\n"
		 "scrape_configs:\n"
		 "  - job_name: mtserver\n"
		 "    static_configs:\n"
		 "      - targets: ['127.0.0.1:%d']\n",
		 mport);
	assert_int_equal(h_write_file(conf_path, conf), 0);
	pport = h_free_port();
	snprintf(flag[0], sizeof(flag[0]), "--config.file=%s", conf_path);
	snprintf(flag[1], sizeof(flag[1]), "--storage.tsdb.path=%s", data);
	snprintf(flag[2], sizeof(flag[2]), "--web.listen-address=127.0.0.1:%d",
		 pport);
	prom_pid = fork();
	assert_true(prom_pid >= 0);
	if (prom_pid == 0) {
		int out = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		h_die_with_parent();
		dup2(out, 1);
		dup2(out, 2);
		execl(prom, "prometheus", flag[0], flag[1], flag[2],
		      (char *)NULL);
		_exit(127);
	}
	if (prom_wait(jq, pport, "up%7Bjob%3D%22mtserver%22%7D", 1) != 1)
		fail_msg("prometheus never saw the target up; see %s",
			 log_path);
	assert_int_equal(
		prom_wait(jq, pport,
			  "mtserver_messages_total%7Btransport%3D%22tcp%22%7D",
			  TCP_LINES),
		TCP_LINES);
	assert_int_equal(
		prom_wait(jq, pport,
			  "mtserver_messages_total%7Btransport%3D%22udp%22%7D",
			  UDP_DATAGRAMS),
		UDP_DATAGRAMS);
	assert_int_equal(prom_wait(jq, pport, "mtserver_udp_datagrams_total",
				   UDP_DATAGRAMS),
			 UDP_DATAGRAMS);
	assert_int_equal(
		prom_wait(jq, pport,
			  "mtserver_tcp_connections_refused_total%7Breason%3D%"
			  "22server-full%22%7D",
			  1),
		1);
	assert_int_equal(
		prom_wait(jq, pport, "mtserver_tcp_connections_active", 3), 3);
	/* The histogram is a histogram to Prometheus: a quantile of it. */
	assert_true(prom_wait(jq, pport,
			      "count(mtserver_log_write_duration_seconds_"
			      "bucket)",
			      METRICS_HIST_BOUNDS + 1) ==
		    METRICS_HIST_BOUNDS + 1);
	prom_stop();
	close(fd);
	close(u);
	for (int i = 0; i < 3; i++)
		close(c[i]);
	srv_stop(&s);
}

static int teardown(void **state)
{
	prom_stop();
	return srv_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_heads),
		cmocka_unit_test(test_parse_in_pieces),
		cmocka_unit_test(test_parse_size_bound),
		cmocka_unit_test(test_histogram_buckets),
		cmocka_unit_test(test_exposition),
		cmocka_unit_test(test_log_counters),
		cmocka_unit_test(test_address_option),
		cmocka_unit_test(test_counts_what_the_test_sent),
		cmocka_unit_test(test_chat_members),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_idle_clients_hold_nothing),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_promtool_check_metrics),
		cmocka_unit_test_teardown(test_prometheus_scrapes, teardown),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, teardown);
}
