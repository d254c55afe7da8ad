/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - the Prometheus endpoint and its text; contract in
 * metrics.h.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpreq.h"
#include "monotime.h"

const double metrics_hist_bounds[METRICS_HIST_BOUNDS] = {
	0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005,	 0.01,	  0.025,  0.05,	   0.1,	   0.5,	  2.5,
};

/* The same bounds in nanoseconds, for the observing thread. */
static const uint64_t bounds_ns[METRICS_HIST_BOUNDS] = {
	10000,	  50000,     100000,	250000,	       500000,
	1000000,  2500000,   5000000,	10000000,      25000000,
	50000000, 100000000, 500000000, 2500000000ULL,
};

/* How long the listener rests when no descriptor is left: as the
 * server's own accept loop does (server.c). */
#define LISTEN_PAUSE_MS 100

/* The answer's head; the body follows. */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void metrics_hist_observe(struct metrics_hist *h, uint64_t ns)
{
	size_t i = 0;

	while (i < METRICS_HIST_BOUNDS && ns > bounds_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void metrics_hist_get(const struct metrics_hist *h,
		      struct metrics_hist_read *out)
{
	size_t i;

	for (i = 0; i <= METRICS_HIST_BOUNDS; i++)
		out->bucket[i] = atomic_load_explicit(&h->bucket[i],
						      memory_order_relaxed);
	out->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

/* ---- the exposition ---- */

/* Text made into a caller's buffer, snprintf-style: len counts
 * everything, what does not fit is cut. */
struct text {
	char *buf;
	size_t size, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t,
						      const char *fmt, ...)
{
	size_t room = t->len < t->size ? t->size - t->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? t->buf + t->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n;
}

static void family(struct text *t, const char *name, const char *type,
		   const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(struct text *t, const char *name, uint64_t v)
{
	put(t, "%s %llu\n", name, (unsigned long long)v);
}

static void one(struct text *t, const char *name, const char *type,
		const char *help, uint64_t v)
{
	family(t, name, type, help);
	sample(t, name, v);
}

/* A counter with one label, every value of it shown (0 too). */
static void labelled(struct text *t, const char *name, const char *help,
		     const char *label, const char *const values[],
		     const uint64_t counts[], size_t n)
{
	size_t i;

	family(t, name, "counter", help);
	for (i = 0; i < n; i++)
		put(t, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
		    (unsigned long long)counts[i]);
}

/* A counter by transport, tcp and udp. */
static void by_transport(struct text *t, const char *name, const char *help,
			 uint64_t tcp, uint64_t udp)
{
	static const char *const transports[] = {"tcp", "udp"};
	const uint64_t counts[] = {tcp, udp};

	labelled(t, name, help, "transport", transports, counts, 2);
}

static void histogram(struct text *t, const char *name, const char *help,
		      const struct metrics_hist_read *h)
{
	uint64_t cumulative = 0;
	size_t i;

	family(t, name, "histogram", help);
	for (i = 0; i < METRICS_HIST_BOUNDS; i++) {
		cumulative += h->bucket[i];
		put(t, "%s_bucket{le=\"%g\"} %llu\n", name,
		    metrics_hist_bounds[i], (unsigned long long)cumulative);
	}
	cumulative += h->bucket[METRICS_HIST_BOUNDS];
	put(t, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cumulative);
	put(t, "%s_sum %.9f\n", name, (double)h->sum_ns / 1e9);
	put(t, "%s_count %llu\n", name, (unsigned long long)cumulative);
}

size_t metrics_write(char *buf, size_t size, const struct metrics_snapshot *s)
{
	struct text t = {buf, size, 0};

	if (size > 0)
		buf[0] = '\0';
	one(&t, "mtserver_tcp_connections_active", "gauge",
	    "TCP clients being served now.", s->tcp_active);
	one(&t, "mtserver_tcp_connections_peak", "gauge",
	    "Most TCP clients served at once since start.", s->tcp_peak);
	one(&t, "mtserver_tcp_connections_total", "counter",
	    "TCP connections served (sessions started).", s->tcp_conns);
	labelled(&t, "mtserver_tcp_connections_refused_total",
		 "TCP connections refused, by the reason the log gives.",
		 "reason", stats_refusal_names, s->refused, STATS_REFUSALS);
	labelled(&t, "mtserver_sessions_ended_total",
		 "TCP sessions ended, by the reason the log gives.", "reason",
		 stats_end_names, s->ended, STATS_ENDS);
	by_transport(&t, "mtserver_messages_total",
		     "Messages (lines) received.", s->tcp_msgs, s->udp_msgs);
	by_transport(&t, "mtserver_received_bytes_total", "Bytes received.",
		     s->tcp_bytes, s->udp_bytes);
	by_transport(&t, "mtserver_messages_truncated_total",
		     "Messages longer than --max-line, logged cut.",
		     s->tcp_truncated, s->udp_truncated);
	one(&t, "mtserver_udp_datagrams_total", "counter",
	    "UDP datagrams received.", s->udp_datagrams);
	one(&t, "mtserver_udp_echo_replies_over_rate_total", "counter",
	    "UDP echo replies not sent: over the source's --udp-echo-rate.",
	    s->udp_echo_over_rate);
	one(&t, "mtserver_replies_dropped_bytes_total", "counter",
	    "Reply bytes dropped, not sent (a failed or cut connection).",
	    s->replies_dropped_bytes);
	one(&t, "mtserver_log_lines_written_total", "counter",
	    "Lines written to the log file (besides its gap and cut notes).",
	    s->log_lines);
	one(&t, "mtserver_log_written_bytes_total", "counter",
	    "Bytes written to the log file.", s->log_bytes);
	one(&t, "mtserver_log_lines_lost_total", "counter",
	    "Log lines that could not be written (a full disk).",
	    s->log_lost_lines);
	one(&t, "mtserver_log_lost_bytes_total", "counter",
	    "Bytes of the log lines lost.", s->log_lost_bytes);
	histogram(&t, "mtserver_log_write_duration_seconds",
		  "Time to write one of the logger's buffers out.",
		  &s->log_write);
	one(&t, "mtserver_memory_budget_used_bytes", "gauge",
	    "Session buffer bytes charged to --max-memory now.",
	    s->budget_used);
	one(&t, "mtserver_memory_budget_peak_bytes", "gauge",
	    "Most session buffer bytes charged at once since start.",
	    s->budget_peak);
	one(&t, "mtserver_memory_budget_limit_bytes", "gauge",
	    "The --max-memory limit (0: none).", s->budget_limit);
	one(&t, "mtserver_outbox_bytes", "gauge",
	    "Reply and chat bytes kept for clients, not yet sent.",
	    s->outbox_bytes);
	one(&t, "mtserver_chat_members", "gauge",
	    "Members in the chat room (--chat) now.", s->chat_members);
	one(&t, "mtserver_threads", "gauge", "Threads of the process now.",
	    s->threads);
	return t.len;
}

uint64_t metrics_threads(void)
{
	char buf[1024];
	const char *p;
	unsigned long long n;
	ssize_t len;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), field;

	if (fd == -1)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	/* The name (field 2) may hold spaces: count from its ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	/* num_threads is field 20; p is at the end of field 2. */
	for (field = 2; field < 20 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &n) != 1)
		return 0;
	return n;
}

int metrics_parse_addr(const char *text, struct net_addr *out, char *err,
		       size_t errlen)
{
	char host[NET_ADDR_MAX];
	const char *colon = strrchr(text, ':'), *h = text;
	size_t hlen;
	char *end;
	unsigned long port;

	if (colon == NULL || colon == text || colon[1] == '\0')
		goto bad;
	hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (colon[-1] != ']' || hlen < 3)
			goto bad;
		h = text + 1;
		hlen -= 2;
	} else if (memchr(text, ':', hlen) != NULL) {
		goto bad; /* IPv6 needs its brackets */
	}
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port > 65535 || colon[1] < '0' ||
	    colon[1] > '9')
		goto bad;
	if (net_parse_addr(out, host, (unsigned)port, err, errlen) == -1)
		goto bad;
	return 0;
bad:
	return net_error(
		err, errlen,
		"invalid --metrics '%s' (expected ADDR:PORT, a numeric address, [ADDR]:PORT for IPv6)",
		text);
}

/* ---- the endpoint ---- */

enum client_state { FREE, READING, WRITING, LINGERING };

struct client {
	enum client_state state;
	int fd;
	long long deadline; /* CLOCK_MONOTONIC ms */
	size_t in_len;
	char in[HTTP_HEAD_MAX];
	char *out; /* the answer, malloc'd */
	size_t out_len, out_off;
};

struct metrics_server {
	int listen_fd;
	int stop_pipe[2]; /* [0] readable: the thread ends */
	unsigned port;
	metrics_fill_fn fill;
	void *ctx;
	pthread_t thread;
	bool running;
	/* Out of descriptors: the listener is left alone until then
	 * (CLOCK_MONOTONIC ms), or it would stay readable and spin. */
	long long listen_paused_until;
	struct client clients[METRICS_CLIENTS];
};

struct metrics_server *metrics_open(const struct net_addr *addr,
				    metrics_fill_fn fill, void *ctx, char *err,
				    size_t errlen)
{
	struct metrics_server *ms = calloc(1, sizeof(*ms));
	size_t i;

	if (ms == NULL) {
		net_error(err, errlen, "--metrics: %s", strerror(errno));
		return NULL;
	}
	ms->fill = fill;
	ms->ctx = ctx;
	ms->stop_pipe[0] = ms->stop_pipe[1] = -1;
	for (i = 0; i < METRICS_CLIENTS; i++)
		ms->clients[i].fd = -1;
	ms->listen_fd = net_tcp_listen(addr, METRICS_CLIENTS, err, errlen);
	if (ms->listen_fd == -1) {
		free(ms);
		return NULL;
	}
	if (net_set_nonblock(ms->listen_fd, true) == -1 ||
	    pipe(ms->stop_pipe) == -1 ||
	    fcntl(ms->stop_pipe[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(ms->stop_pipe[1], F_SETFD, FD_CLOEXEC) == -1) {
		net_error(err, errlen, "--metrics: %s", strerror(errno));
		metrics_close(ms);
		return NULL;
	}
	ms->port = (unsigned)net_local_port(ms->listen_fd);
	return ms;
}

unsigned metrics_port(const struct metrics_server *ms)
{
	return ms->port;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->state = FREE;
	c->in_len = c->out_len = c->out_off = 0;
}

/* The answer to a request that got status: the metrics, or a short
 * text saying what was wrong.  Into c->out; on no memory, none. */
static void answer(struct metrics_server *ms, struct client *c,
		   enum http_status status)
{
	struct metrics_snapshot snap;
	char head[256], body[128];
	const char *text = body;
	char *metrics = NULL;
	size_t body_len;
	int head_len;

	if (status == HTTP_OK) {
		memset(&snap, 0, sizeof(snap));
		ms->fill(ms->ctx, &snap);
		body_len = metrics_write(NULL, 0, &snap);
		metrics = malloc(body_len + 1);
		if (metrics == NULL)
			return;
		(void)metrics_write(metrics, body_len + 1, &snap);
		text = metrics;
	} else {
		body_len = (size_t)snprintf(body, sizeof(body), "%d %s\n",
					    (int)status, http_reason(status));
	}
	head_len = snprintf(
		head, sizeof(head),
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
		(int)status, http_reason(status),
		status == HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8",
		body_len, status == HTTP_BAD_METHOD ? "Allow: GET\r\n" : "");
	c->out = malloc((size_t)head_len + body_len);
	if (c->out != NULL) {
		memcpy(c->out, head, (size_t)head_len);
		memcpy(c->out + head_len, text, body_len);
		c->out_len = (size_t)head_len + body_len;
		c->out_off = 0;
		c->state = WRITING;
	}
	free(metrics);
}

/* After the answer: no more from us; what the client still sends is
 * read and dropped until its FIN (lingering close). */
static void start_linger(struct client *c)
{
	long long linger = monotime_ms() + METRICS_LINGER_MS;

	(void)shutdown(c->fd, SHUT_WR);
	c->state = LINGERING;
	if (linger < c->deadline)
		c->deadline = linger;
}

static void on_writable(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	start_linger(c);
}

static void on_readable(struct metrics_server *ms, struct client *c)
{
	struct http_request req;
	enum http_status status;
	char scrap[1024];
	ssize_t n;

	if (c->state == LINGERING) {
		n = recv(c->fd, scrap, sizeof(scrap), 0);
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN &&
			       errno != EWOULDBLOCK))
			client_close(c);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (n == -1 &&
	    (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		client_close(c); /* gone before its request was whole */
		return;
	}
	c->in_len += (size_t)n;
	status = http_parse(c->in, c->in_len, &req);
	if (status == HTTP_MORE)
		return;
	answer(ms, c, status);
	if (c->state != WRITING)
		client_close(c);
	else
		on_writable(c);
}

/* Takes every connection waiting; one over METRICS_CLIENTS is told
 * 503 (one non-blocking send) and closed. */
static void on_listener(struct metrics_server *ms)
{
	static const char busy[] =
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

	for (;;) {
		int fd = accept(ms->listen_fd, NULL, NULL);
		struct client *c = NULL;
		size_t i;

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				ms->listen_paused_until =
					monotime_ms() + LISTEN_PAUSE_MS;
			return; /* EAGAIN: all taken */
		}
		if (net_set_nonblock(fd, true) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			close(fd);
			continue;
		}
		for (i = 0; i < METRICS_CLIENTS && c == NULL; i++)
			if (ms->clients[i].state == FREE)
				c = &ms->clients[i];
		if (c == NULL) {
			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = READING;
		c->deadline = monotime_ms() + METRICS_TIMEOUT_MS;
		c->in_len = 0;
	}
}

/* Closes the connections whose time is up; returns the poll timeout
 * until the next deadline (-1: none). */
static int expire(struct metrics_server *ms)
{
	long long now = monotime_ms(), next = -1;
	size_t i;

	for (i = 0; i < METRICS_CLIENTS; i++) {
		struct client *c = &ms->clients[i];

		if (c->state == FREE)
			continue;
		if (c->deadline <= now) {
			client_close(c);
			continue;
		}
		if (next == -1 || c->deadline - now < next)
			next = c->deadline - now;
	}
	return (int)next;
}

static void *serve(void *arg)
{
	enum { SLOT_STOP, SLOT_LISTENER, SLOTS };
	struct metrics_server *ms = arg;
	struct pollfd pfd[SLOTS + METRICS_CLIENTS];
	struct client *polled[METRICS_CLIENTS];

	for (;;) {
		int timeout = expire(ms), n = SLOTS, r, i;
		long long rest = ms->listen_paused_until - monotime_ms();

		pfd[SLOT_STOP] = (struct pollfd){ms->stop_pipe[0], POLLIN, 0};
		pfd[SLOT_LISTENER] = (struct pollfd){
			rest > 0 ? -1 : ms->listen_fd, POLLIN, 0};
		if (rest > 0 && (timeout == -1 || rest < timeout))
			timeout = (int)rest;
		for (i = 0; i < METRICS_CLIENTS; i++) {
			struct client *c = &ms->clients[i];

			if (c->state == FREE)
				continue;
			polled[n - SLOTS] = c;
			pfd[n++] = (struct pollfd){
				c->fd, c->state == WRITING ? POLLOUT : POLLIN,
				0};
		}
		r = poll(pfd, (nfds_t)n, timeout);
		if (r == -1 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (pfd[SLOT_STOP].revents != 0)
			break;
		for (i = SLOTS; i < n; i++) {
			struct client *c = polled[i - SLOTS];

			if (pfd[i].revents == 0)
				continue;
			if (c->state == WRITING)
				on_writable(c);
			else
				on_readable(ms, c);
		}
		if (pfd[SLOT_LISTENER].revents != 0)
			on_listener(ms);
	}
	return NULL;
}

int metrics_start(struct metrics_server *ms)
{
	int err = pthread_create(&ms->thread, NULL, serve, ms);

	if (err != 0) {
		errno = err;
		return -1;
	}
	ms->running = true;
	return 0;
}

void metrics_close(struct metrics_server *ms)
{
	size_t i;

	if (ms == NULL)
		return;
	if (ms->running) {
		ssize_t n = write(ms->stop_pipe[1], "x", 1);

		(void)n;
		pthread_join(ms->thread, NULL);
	}
	for (i = 0; i < METRICS_CLIENTS; i++)
		client_close(&ms->clients[i]);
	if (ms->listen_fd >= 0)
		close(ms->listen_fd);
	if (ms->stop_pipe[0] >= 0)
		close(ms->stop_pipe[0]);
	if (ms->stop_pipe[1] >= 0)
		close(ms->stop_pipe[1]);
	free(ms);
}
