/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fchat.c - flood --chat; the contract is in fchat.h.
 */
#define _GNU_SOURCE /* epoll */
#include "fchat.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "net.h"
#include "report.h"

/* Member 0 sends a probe this often until everyone has read one. */
#define PROBE_MS 50
/* A line a member keeps while it is incomplete: far above a relayed
 * message (-s, a name, a prefix); a longer line is counted unexpected. */
#define LINE_MAX_BYTES (FCLI_SIZE_MAX + 256)
/* Bytes of messages made ready to send at once per member. */
#define OUT_BYTES 16384
/* Bytes read per recv(). */
#define READ_BYTES 65536
/* epoll_wait's longest sleep: how soon a stop or deadline is seen. */
#define WAIT_MS 50
/* A deaf member's receive buffer: small, so that the server meets it
 * soon (the kernel doubles it). */
#define DEAF_RCVBUF 4096

struct member {
	int fd;
	uint32_t id;
	bool deaf;
	bool probed;	/* read a probe: in the room */
	bool received;	/* got everything expected */
	bool failed;	/* its connection ended or broke */
	uint32_t *next; /* per sender: the next sequence number expected */
	uint64_t got;	/* deliveries */
	uint64_t sent;	/* messages handed to the kernel */
	char *out;	/* messages being sent: out[out_off, out_len) */
	size_t out_off, out_len;
	char *line; /* the incomplete line */
	size_t line_len;
	bool line_long; /* the incomplete line was too long: skip it */
};

struct room {
	const struct fcli_opts *o;
	struct member *m;
	uint32_t members; /* talking members: m[0, members) */
	uint32_t total;	  /* with the deaf ones */
	int64_t base_ns;  /* microsecond stamps count from here */
	atomic_uint_fast64_t delivered;
	atomic_int stop;     /* workers: stop now */
	atomic_uint running; /* workers not finished */
};

struct worker {
	struct room *room;
	unsigned index, count; /* its members: index, index + count, ... */
	int ep;
	pthread_t thread;
	int64_t last_ns; /* its last delivery */
	uint64_t missing, duplicated, out_of_order, unexpected, failed;
	struct hist *hist;
};

static volatile sig_atomic_t stop_requested;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

/* ---- lines ---- */

/* Reads a decimal number at *p (before end); 0, or -1 when none. */
static int number(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = n;
	return 0;
}

/* One whole line read by m: a probe, a message (checked and counted), or
 * the server's own (no '@': ignored). */
static void on_line(struct worker *w, struct member *m, const char *line,
		    size_t len, int64_t now)
{
	const struct room *rm = w->room;
	const char *end = line + len;
	const char *p = memchr(line, '@', len);
	uint64_t sender, seq, t_us, now_us;

	if (p == NULL)
		return;
	p++;
	if (p < end && *p == 'P') {
		m->probed = true;
		return;
	}
	if (number(&p, end, &sender) == -1 || p == end || *p++ != ':' ||
	    number(&p, end, &seq) == -1 || p == end || *p++ != ':' ||
	    number(&p, end, &t_us) == -1 || sender >= rm->members ||
	    sender == m->id || seq >= rm->o->messages) {
		w->unexpected++;
		return;
	}
	if (seq < m->next[sender]) {
		w->duplicated++;
		return;
	}
	if (seq > m->next[sender])
		w->out_of_order++;
	m->next[sender] = (uint32_t)seq + 1;
	m->got++;
	w->last_ns = now;
	now_us = (uint64_t)((now - rm->base_ns) / 1000);
	hist_record(w->hist, now_us > t_us ? now_us - t_us : 0);
	atomic_fetch_add_explicit(&w->room->delivered, 1, memory_order_relaxed);
}

/* Splits what m read into lines. */
static void on_bytes(struct worker *w, struct member *m, const char *p,
		     size_t n, int64_t now)
{
	if (m->line == NULL) /* a deaf member: never reads */
		return;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - p) : n;

		if (!m->line_long && m->line_len + take <= LINE_MAX_BYTES) {
			memcpy(m->line + m->line_len, p, take);
			m->line_len += take;
		} else {
			m->line_long = true;
		}
		if (nl == NULL)
			return;
		if (m->line_long)
			w->unexpected++;
		else
			on_line(w, m, m->line, m->line_len, now);
		m->line_len = 0;
		m->line_long = false;
		p += take + 1;
		n -= take + 1;
	}
}

/* Reads what m has.  0, or -1 when its connection ended. */
static int member_read(struct worker *w, struct member *m, char *buf)
{
	for (;;) {
		ssize_t n = recv(m->fd, buf, READ_BYTES, MSG_DONTWAIT);

		if (n > 0) {
			on_bytes(w, m, buf, (size_t)n, now_ns());
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
}

/* ---- sending ---- */

/* Fills m's buffer with its next messages, stamped now. */
static void fill(const struct room *rm, struct member *m)
{
	const struct fcli_opts *o = rm->o;
	uint64_t t_us = (uint64_t)((now_ns() - rm->base_ns) / 1000);
	size_t len = 0;

	while (m->sent < o->messages && OUT_BYTES - len > 64 + o->size) {
		int k = snprintf(m->out + len, OUT_BYTES - len,
				 "@%" PRIu32 ":%" PRIu64 ":%" PRIu64, m->id,
				 m->sent, t_us);

		/* Padded to -s bytes with the newline. */
		for (len += (size_t)k; (size_t)k + 1 < o->size; k++)
			m->out[len++] = '.';
		m->out[len++] = '\n';
		m->sent++;
	}
	m->out_off = 0;
	m->out_len = len;
}

/* Sends what m may.  1 when it has more to send (wait for EPOLLOUT), 0
 * when all is sent, -1 when the connection failed. */
static int member_send(const struct room *rm, struct member *m)
{
	for (;;) {
		ssize_t n;

		if (m->out_off == m->out_len) {
			if (m->sent == rm->o->messages)
				return 0;
			fill(rm, m);
		}
		n = send(m->fd, m->out + m->out_off, m->out_len - m->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			m->out_off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		return -1;
	}
}

/* ---- the workers ---- */

static void member_failed(struct worker *w, struct member *m)
{
	if (m->failed)
		return;
	m->failed = true;
	w->failed++;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, m->fd, NULL);
}

static bool worker_done(const struct worker *w)
{
	const struct room *rm = w->room;

	for (unsigned i = w->index; i < rm->members; i += w->count) {
		const struct member *m = &rm->m[i];

		if (!m->failed && (!m->received || m->sent < rm->o->messages ||
				   m->out_off < m->out_len))
			return false;
	}
	return true;
}

static void on_event(struct worker *w, struct member *m, uint32_t ev, char *buf)
{
	const struct room *rm = w->room;
	uint64_t expected = (uint64_t)(rm->members - 1) * rm->o->messages;
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = m};
	int rc;

	if (m->failed)
		return;
	if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0 &&
	    member_read(w, m, buf) == -1) {
		m->received = m->got >= expected;
		member_failed(w, m);
		return;
	}
	m->received = m->got >= expected;
	rc = member_send(rm, m);
	if (rc == -1) {
		member_failed(w, m);
		return;
	}
	e.events = EPOLLIN | (rc == 1 ? EPOLLOUT : 0u);
	epoll_ctl(w->ep, EPOLL_CTL_MOD, m->fd, &e);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct room *rm = w->room;
	struct epoll_event ev[64];
	char *buf = malloc(READ_BYTES);

	if (buf == NULL) {
		atomic_store(&rm->stop, 1);
		atomic_fetch_sub(&rm->running, 1);
		return NULL;
	}
	for (unsigned i = w->index; i < rm->members; i += w->count)
		on_event(w, &rm->m[i], EPOLLIN, buf);
	while (!atomic_load(&rm->stop) && !worker_done(w)) {
		int n = epoll_wait(w->ep, ev, 64, WAIT_MS);

		for (int i = 0; i < n; i++)
			on_event(w, ev[i].data.ptr, ev[i].events, buf);
	}
	free(buf);
	atomic_fetch_sub(&rm->running, 1);
	return NULL;
}

/* ---- setup: connect, and wait until the room has everyone ---- */

static int connect_member(const struct net_addr *a, bool deaf)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rcv = DEAF_RCVBUF;

	if (fd == -1)
		return -1;
	if (deaf)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    net_set_nonblock(fd, true) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Member 0 probes until every talking member has read a probe. */
static int wait_ready(struct room *rm, struct worker *w, char *err,
		      size_t errlen)
{
	int64_t deadline = now_ns() + ENG_SLOW_TIMEOUT_MS * 1000000LL;
	int64_t next_probe = 0;
	char *buf = malloc(READ_BYTES);
	uint32_t ready;

	if (buf == NULL)
		return fail(err, errlen, "out of memory");
	for (;;) {
		int64_t now = now_ns();

		if (stop_requested) {
			free(buf);
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		if (now > deadline) {
			free(buf);
			snprintf(err, errlen,
				 "the room did not take all %" PRIu32
				 " members within %d ms",
				 rm->members, ENG_SLOW_TIMEOUT_MS);
			return -1;
		}
		if (now >= next_probe) {
			if (send(rm->m[0].fd, "@P\n", 3, MSG_NOSIGNAL) != 3) {
				free(buf);
				return fail(err, errlen, "probe");
			}
			next_probe = now + PROBE_MS * 1000000LL;
		}
		(void)poll(NULL, 0, 5);
		ready = 1;
		for (uint32_t i = 1; i < rm->members; i++) {
			struct member *m = &rm->m[i];

			if (!m->probed && member_read(w, m, buf) == -1) {
				free(buf);
				return fail(err, errlen,
					    "a member's connection ended");
			}
			ready += m->probed;
		}
		(void)member_read(w, &rm->m[0], buf);
		if (ready == rm->members)
			break;
	}
	free(buf);
	return 0;
}

static void room_free(struct room *rm)
{
	if (rm->m == NULL)
		return;
	for (uint32_t i = 0; i < rm->total; i++) {
		if (rm->m[i].fd >= 0)
			close(rm->m[i].fd);
		free(rm->m[i].next);
		free(rm->m[i].out);
		free(rm->m[i].line);
	}
	free(rm->m);
}

static int room_open(struct room *rm, const struct fcli_opts *o, char *err,
		     size_t errlen)
{
	struct net_addr a[FCLI_HOSTS_MAX];

	memset(rm, 0, sizeof(*rm));
	rm->o = o;
	rm->members = o->clients;
	rm->total = o->clients + o->deaf;
	if (o->nhosts == 0) { /* fcli_parse always sets one */
		snprintf(err, errlen, "no server");
		return -1;
	}
	for (unsigned h = 0; h < o->nhosts; h++)
		if (net_resolve(&a[h], o->hosts[h].host, o->hosts[h].port,
				SOCK_STREAM, err, errlen) == -1)
			return -1;
	rm->m = calloc(rm->total, sizeof(*rm->m));
	if (rm->m == NULL)
		return fail(err, errlen, "out of memory");
	for (uint32_t i = 0; i < rm->total; i++)
		rm->m[i].fd = -1;
	for (uint32_t i = 0; i < rm->total; i++) {
		struct member *m = &rm->m[i];

		m->id = i;
		m->deaf = i >= rm->members;
		if (!m->deaf && ((m->next = calloc(rm->members,
						   sizeof(*m->next))) == NULL ||
				 (m->out = malloc(OUT_BYTES)) == NULL ||
				 (m->line = malloc(LINE_MAX_BYTES)) == NULL))
			return fail(err, errlen, "out of memory");
		/* --hosts: member i joins through server i mod N. */
		m->fd = connect_member(&a[i % o->nhosts], m->deaf);
		if (m->fd == -1) {
			char what[64];

			snprintf(what, sizeof(what), "member %" PRIu32, i);
			return fail(err, errlen, what);
		}
	}
	return 0;
}

/* ---- the run ---- */

static void merge(struct fchat_result *r, const struct room *rm,
		  struct worker *ws, unsigned n, int64_t start)
{
	int64_t last = start;

	for (unsigned t = 0; t < n; t++) {
		r->duplicated += ws[t].duplicated;
		r->out_of_order += ws[t].out_of_order;
		r->unexpected += ws[t].unexpected;
		r->conn_failed += ws[t].failed;
		hist_merge(&r->delivery_us, ws[t].hist);
		if (ws[t].last_ns > last)
			last = ws[t].last_ns;
	}
	r->expected =
		(uint64_t)rm->members * (rm->members - 1) * rm->o->messages;
	for (uint32_t i = 0; i < rm->members; i++)
		r->deliveries += rm->m[i].got;
	r->missing = r->expected > r->deliveries + r->out_of_order
			     ? r->expected - r->deliveries
			     : 0;
	r->elapsed = (double)(last - start) / 1e9;
}

/* The caller's thread while the workers run: --timeout without a
 * delivery, --max-time, a signal. */
static void supervise(struct room *rm, struct fchat_result *r, int64_t start)
{
	const struct fcli_opts *o = rm->o;
	uint64_t seen = 0;
	int64_t progress = start;

	for (;;) {
		int64_t now = now_ns();
		uint64_t d = atomic_load_explicit(&rm->delivered,
						  memory_order_relaxed);

		if (atomic_load(&rm->running) == 0 || atomic_load(&rm->stop))
			return;
		if (d != seen) {
			seen = d;
			progress = now;
		}
		if (stop_requested) {
			r->interrupted = 1;
			break;
		}
		if (now - progress > (int64_t)o->timeout_ms * 1000000) {
			r->timed_out = 1;
			break;
		}
		if (now - start > (int64_t)(o->max_time * 1e9)) {
			r->max_time = 1;
			break;
		}
		(void)poll(NULL, 0, 10);
	}
	atomic_store(&rm->stop, 1);
}

int fchat_run(const struct fcli_opts *o, struct fchat_result *r, char *err,
	      size_t errlen)
{
	unsigned n = o->threads > 0 ? o->threads : 1, started = 0;
	struct worker *ws;
	struct room rm;
	int64_t t0 = now_ns(), start;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	hist_init(&r->delivery_us);
	r->expected = (uint64_t)o->clients * (o->clients - 1) * o->messages;
	if (n > o->clients)
		n = o->clients;
	if (n == 0)
		n = 1;
	ws = calloc(n, sizeof(*ws));
	if (ws == NULL)
		return fail(err, errlen, "out of memory");
	for (unsigned t = 0; t < n; t++) {
		ws[t].room = &rm;
		ws[t].index = t;
		ws[t].count = n;
		ws[t].ep = -1;
		ws[t].hist = malloc(sizeof(*ws[t].hist));
		if (ws[t].hist == NULL) {
			fail(err, errlen, "out of memory");
			goto out;
		}
		hist_init(ws[t].hist);
	}
	if (room_open(&rm, o, err, errlen) == -1 ||
	    wait_ready(&rm, &ws[0], err, errlen) == -1)
		goto out_room;
	r->ready_s = (double)(now_ns() - t0) / 1e9;
	/* The room's messages so far were probes: counted from here. */
	ws[0].unexpected = 0;
	rm.base_ns = start = now_ns();
	for (unsigned t = 0; t < n; t++) {
		ws[t].ep = epoll_create1(EPOLL_CLOEXEC);
		if (ws[t].ep == -1) {
			fail(err, errlen, "epoll_create1");
			goto out_threads;
		}
		for (unsigned i = t; i < rm.members; i += n) {
			struct epoll_event e = {.events = EPOLLIN,
						.data.ptr = &rm.m[i]};

			epoll_ctl(ws[t].ep, EPOLL_CTL_ADD, rm.m[i].fd, &e);
		}
	}
	atomic_store(&rm.running, n);
	for (; started < n; started++) {
		errno = pthread_create(&ws[started].thread, NULL, worker_main,
				       &ws[started]);
		if (errno != 0) {
			fail(err, errlen, "pthread_create");
			atomic_store(&rm.stop, 1);
			atomic_fetch_sub(&rm.running, n - started);
			goto out_threads;
		}
	}
	supervise(&rm, r, start);
	rc = 0;
out_threads:
	for (unsigned t = 0; t < started; t++)
		pthread_join(ws[t].thread, NULL);
	if (rc == 0)
		merge(r, &rm, ws, n, start);
	for (unsigned t = 0; t < n; t++)
		if (ws[t].ep >= 0)
			close(ws[t].ep);
out_room:
	room_free(&rm);
out:
	for (unsigned t = 0; t < n; t++)
		free(ws[t].hist);
	free(ws);
	return rc;
}

void fchat_request_stop(void)
{
	stop_requested = 1;
}

int fchat_ok(const struct fchat_result *r)
{
	return r->deliveries == r->expected && r->missing == 0 &&
	       r->duplicated == 0 && r->out_of_order == 0 &&
	       r->unexpected == 0 && !r->timed_out && !r->max_time &&
	       !r->interrupted;
}

/* ---- reports ---- */

static double per_second(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

void fchat_report_json(FILE *fp, const struct fcli_opts *o,
		       const struct fchat_result *r, int ok)
{
	const struct hist *h = &r->delivery_us;

	fprintf(fp, "{\"mode\":\"chat\",");
	report_json_hosts(fp, o);
	fprintf(fp,
		",\"members\":%" PRIu32 ",\"deaf\":%" PRIu32
		",\"messages\":%" PRIu64 ",\"threads\":%u,\"ready_s\":%.3f,"
		"\"elapsed_s\":%.6f,\"expected\":%" PRIu64
		",\"deliveries\":%" PRIu64 ",\"deliveries_per_s\":%.1f,"
		"\"delivery_us\":{\"count\":%" PRIu64 ",\"min\":%" PRIu64
		",\"mean\":%.1f,\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
		",\"p99\":%" PRIu64 ",\"p99_9\":%" PRIu64 ",\"max\":%" PRIu64
		"},\"missing\":%" PRIu64 ",\"duplicated\":%" PRIu64
		",\"out_of_order\":%" PRIu64 ",\"unexpected\":%" PRIu64
		",\"conn_failed\":%" PRIu64
		",\"timed_out\":%s,\"max_time\":%s,\"interrupted\":%s,"
		"\"ok\":%s}\n",
		o->clients, o->deaf, o->messages, o->threads, r->ready_s,
		r->elapsed, r->expected, r->deliveries,
		per_second(r->deliveries, r->elapsed), hist_count(h),
		hist_min(h), hist_mean(h), hist_percentile(h, 50),
		hist_percentile(h, 90), hist_percentile(h, 99),
		hist_percentile(h, 99.9), hist_max(h), r->missing,
		r->duplicated, r->out_of_order, r->unexpected, r->conn_failed,
		r->timed_out ? "true" : "false", r->max_time ? "true" : "false",
		r->interrupted ? "true" : "false", ok ? "true" : "false");
}

void fchat_report_human(FILE *fp, const struct fcli_opts *o,
			const struct fchat_result *r, int ok)
{
	const struct hist *h = &r->delivery_us;

	fprintf(fp,
		"flood --chat: %" PRIu32 " members (+%" PRIu32
		" deaf) x %" PRIu64 " messages, ",
		o->clients, o->deaf, o->messages);
	report_servers(fp, o, NULL);
	fprintf(fp, ": %s\n", ok ? "every delivery once, in order" : "FAILED");
	fprintf(fp,
		"  room ready in %.3f s; %" PRIu64 " of %" PRIu64
		" deliveries in %.3f s: %.0f deliveries/s\n",
		r->ready_s, r->deliveries, r->expected, r->elapsed,
		per_second(r->deliveries, r->elapsed));
	if (hist_count(h) > 0)
		fprintf(fp,
			"  delivery (us)  p50 %" PRIu64 "  p90 %" PRIu64
			"  p99 %" PRIu64 "  p99.9 %" PRIu64 "  max %" PRIu64
			"\n",
			hist_percentile(h, 50), hist_percentile(h, 90),
			hist_percentile(h, 99), hist_percentile(h, 99.9),
			hist_max(h));
	if (!ok)
		fprintf(fp,
			"  missing %" PRIu64 ", duplicated %" PRIu64
			", out of order %" PRIu64 ", unexpected %" PRIu64
			", connections failed %" PRIu64 "%s%s%s\n",
			r->missing, r->duplicated, r->out_of_order,
			r->unexpected, r->conn_failed,
			r->timed_out ? "; no delivery for --timeout" : "",
			r->max_time ? "; --max-time passed" : "",
			r->interrupted ? "; interrupted" : "");
}
