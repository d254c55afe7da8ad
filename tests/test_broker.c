/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_broker.c - mtserver --chat --broker (issue 26): rooms joined across
 * 2 and 3 servers through a real redis-server on loopback (a free port,
 * no persistence, stopped by its pid).  Each sender's lines in order at
 * every member, every server's lines in its one room order everywhere,
 * none twice, none echoed back; a node killed with SIGKILL; the broker
 * restarted (the lines it lost counted, logged and told); the broker
 * stopped for 2 s (nothing lost, the local room going on); a member that
 * never reads on one node (dropped, the others lose nothing); lines the
 * queue could not hold while the broker was away (counted on both sides).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "servers.h"

#define WAIT_MS 20000
#define ROOM	"t"
#define KEY	"mtserver:room:" ROOM

/* ---- a real redis-server ---- */

static pid_t redis_pid;
static int redis_port;
static char redis_bin[H_PATH_MAX];

static bool redis_ping(void)
{
	struct timeval tv = {.tv_sec = 1};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	redisReply *r = NULL;
	bool ok;

	if (c != NULL && c->err == 0)
		r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS;
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* Starts redis-server on redis_port (a new free one when 0), without
 * persistence: a restart starts empty.  false when not installed. */
static bool redis_start(void)
{
	static unsigned seq;
	char port[16], logfile[H_PATH_MAX];
	long long deadline = h_now_ms() + 10000;

	if (redis_bin[0] == '\0' &&
	    h_which(redis_bin, sizeof(redis_bin), "redis-server") == NULL) {
		print_message("redis-server not found: install the Debian "
			      "package redis-server\n");
		return false;
	}
	if (redis_port == 0)
		redis_port = h_free_port();
	snprintf(port, sizeof(port), "%d", redis_port);
	snprintf(logfile, sizeof(logfile), "%s", h_path(""));
	snprintf(logfile + strlen(logfile), sizeof(logfile) - strlen(logfile),
		 "redis.%u.log", seq++);
	fflush(NULL);
	redis_pid = fork();
	assert_true(redis_pid >= 0);
	if (redis_pid == 0) {
		h_die_with_parent();
		execl(redis_bin, "redis-server", "--port", port, "--bind",
		      "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
		      h_tmpdir(), "--logfile", logfile, "--protected-mode",
		      "no", (char *)NULL);
		_exit(127);
	}
	while (h_now_ms() < deadline) {
		if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid)
			fail_msg("redis-server exited; see %s", logfile);
		if (redis_ping())
			return true;
		h_sleep_ms(20);
	}
	fail_msg("redis-server did not answer on %d", redis_port);
	return false;
}

static void redis_stop(int sig)
{
	if (redis_pid <= 0)
		return;
	kill(redis_pid, SIGCONT);
	kill(redis_pid, sig);
	waitpid(redis_pid, NULL, 0);
	redis_pid = 0;
}

/* Lines in the room's stream now (every entry's "lines" field). */
static long stream_lines(void)
{
	struct timeval tv = {.tv_sec = 2};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	redisReply *r;
	long n = 0;

	assert_true(c != NULL && c->err == 0);
	r = redisCommand(c, "XRANGE %s - +", KEY);
	assert_non_null(r);
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements;
	     i++) {
		const redisReply *f = r->element[i]->element[1];

		for (size_t j = 0; j + 1 < f->elements; j += 2)
			if (strcmp(f->element[j]->str, "lines") == 0)
				n += (long)h_count(f->element[j + 1]->str,
						   "\n");
	}
	freeReplyObject(r);
	redisFree(c);
	return n;
}

/* Whether every thread of pid is stopped (SIGSTOP taken: state T). */
static bool all_stopped(pid_t pid)
{
	char path[64], stat[512];
	DIR *d;
	struct dirent *e;
	bool stopped = true;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	d = opendir(path);
	if (d == NULL)
		return false;
	while (stopped && (e = readdir(d)) != NULL) {
		const char *state;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.16s/stat",
			 (long)pid, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue; /* a thread that just ended */
		if (fgets(stat, sizeof(stat), f) != NULL &&
		    (state = strrchr(stat, ')')) != NULL)
			stopped = state[2] == 'T' || state[2] == 't';
		fclose(f);
	}
	closedir(d);
	return stopped;
}

/* SIGSTOP, and waits until every thread has stopped: none of them runs
 * a single instruction more. */
static void stop_process(pid_t pid)
{
	long long deadline = h_now_ms() + WAIT_MS;

	assert_int_equal(kill(pid, SIGSTOP), 0);
	while (!all_stopped(pid)) {
		assert_true(h_now_ms() < deadline);
		h_sleep_ms(5);
	}
}

static int teardown(void **state)
{
	redis_stop(SIGKILL);
	redis_port = 0;
	return srv_teardown(state);
}

/* A node: mtserver --chat --broker, up once both its links are. */
static void node_start(struct srv *s, const char *prog)
{
	char url[64];

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/%s", redis_port, ROOM);
	srv_start(s, prog != NULL ? prog : "mtserver", "--chat", "-q",
		  "--broker", url, (const char *)NULL);
	srv_wait_log(s, "broker-up role=subscribe", 1);
	srv_wait_log(s, "broker-up role=publish", 1);
}

/* The broker and the nodes (a NULL-ended list); false, said, when
 * redis-server is not installed (the caller skips). */
static bool nodes_up(struct srv *const *nodes)
{
	if (!redis_start())
		return false;
	for (int i = 0; nodes[i] != NULL; i++)
		node_start(nodes[i], NULL);
	return true;
}

/* Logs lost by any of the nodes (a NULL-ended list). */
static size_t lost_logged(struct srv *const *nodes)
{
	size_t n = 0;

	for (int i = 0; nodes[i] != NULL; i++)
		n += h_count_in_file(nodes[i]->log, "broker-lost");
	return n;
}

/* ---- members ---- */

#define SENDERS 8

/* A member and what it heard: numbered lines "NAME: K ..." from the
 * senders named in names[], in order. */
struct member {
	int fd;
	char name[16];
	char buf[1 << 16];
	size_t len;
	const char *names[SENDERS];
	long next[SENDERS];  /* the number expected next from each */
	long heard[SENDERS]; /* lines heard from each */
	long wrong;	     /* out of order or twice */
	long lost_notices, lost_lines;
	long other_messages; /* from nobody in names[] (an echo) */
	long who_notes;	     /* /who's line on the other servers */
	char *order;	     /* sender indexes, in the order heard */
	size_t order_len, order_cap;
};

static void member_join(struct member *m, const struct srv *s, const char *name,
			int rcvbuf)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)s->p.port),
				  .sin_addr.s_addr = htonl(0x7f000001)};
	char line[256], want[64];

	memset(m, 0, sizeof(*m));
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(m->fd >= 0);
	if (rcvbuf > 0)
		assert_int_equal(setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF,
					    &rcvbuf, sizeof(rcvbuf)),
				 0);
	assert_int_equal(connect(m->fd, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	snprintf(m->name, sizeof(m->name), "%s", name);
	assert_true(h_read_line(m->fd, line, sizeof(line), WAIT_MS) > 0);
	snprintf(line, sizeof(line), "/nick %s\n", name);
	srv_send(m->fd, line);
	snprintf(want, sizeof(want), "* you are now %s", name);
	do
		assert_true(h_read_line(m->fd, line, sizeof(line), WAIT_MS) >
			    0);
	while (strcmp(line, want) != 0);
}

static void member_listen(struct member *m, const char *const *names)
{
	for (int i = 0; i < SENDERS && names[i] != NULL; i++) {
		m->names[i] = names[i];
		m->next[i] = 1;
	}
}

static void heard(struct member *m, const char *line)
{
	const char *colon = strstr(line, ": ");
	static const char lost[] = "* lines from other servers were lost: ";

	if (strncmp(line, lost, sizeof(lost) - 1) == 0) {
		m->lost_notices++;
		m->lost_lines += atol(line + sizeof(lost) - 1);
		return;
	}
	if (strncmp(line, "* this server is ", 17) == 0 &&
	    strstr(line, "; members on other servers (--broker) are not "
			 "listed: this server cannot know them") != NULL)
		m->who_notes++;
	if (line[0] == '*' || colon == NULL)
		return;
	for (int i = 0; i < SENDERS && m->names[i] != NULL; i++) {
		size_t n = strlen(m->names[i]);
		long k;

		if ((size_t)(colon - line) != n ||
		    strncmp(line, m->names[i], n) != 0)
			continue;
		k = atol(colon + 2);
		if (k != m->next[i])
			m->wrong++;
		m->next[i] = k + 1;
		m->heard[i]++;
		if (m->order_len == m->order_cap) {
			m->order_cap = m->order_cap ? 2 * m->order_cap : 1024;
			m->order = realloc(m->order, m->order_cap);
			assert_non_null(m->order);
		}
		m->order[m->order_len++] = (char)i;
		return;
	}
	m->other_messages++;
}

/* Reads what has come (waiting up to ms for the first bytes): the
 * bytes read, 0 when none, -1 at the end. */
static ssize_t member_read(struct member *m, int ms)
{
	struct pollfd pfd = {.fd = m->fd, .events = POLLIN};
	ssize_t got;
	char *nl;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	got = recv(m->fd, m->buf + m->len, sizeof(m->buf) - m->len - 1,
		   MSG_DONTWAIT);
	if (got == 0)
		return -1;
	if (got < 0)
		return 0;
	m->len += (size_t)got;
	m->buf[m->len] = '\0';
	while ((nl = memchr(m->buf, '\n', m->len)) != NULL) {
		*nl = '\0';
		heard(m, m->buf);
		m->len -= (size_t)(nl + 1 - m->buf);
		memmove(m->buf, nl + 1, m->len);
	}
	assert_true(m->len < sizeof(m->buf) - 1);
	return got;
}

static long total_heard(const struct member *m)
{
	long n = 0;

	for (int i = 0; i < SENDERS; i++)
		n += m->heard[i];
	return n;
}

/* Reads the members until each has heard want[i] numbered lines (a
 * NULL-ended list); fails after WAIT_MS. */
static void hear_all(struct member *const *ms, const long *want)
{
	long long deadline = h_now_ms() + WAIT_MS;

	for (;;) {
		bool done = true;

		for (int i = 0; ms[i] != NULL; i++) {
			(void)member_read(ms[i], 0);
			done = done && total_heard(ms[i]) >= want[i];
		}
		if (done)
			return;
		if (h_now_ms() > deadline)
			break;
		h_sleep_ms(5);
	}
	for (int i = 0; ms[i] != NULL; i++)
		print_message("%s heard %ld of %ld\n", ms[i]->name,
			      total_heard(ms[i]), want[i]);
	fail_msg("lines did not all arrive");
}

/* Nothing more for ms: every member drained (to catch a line twice). */
static void settle(struct member *const *ms, int ms_quiet)
{
	long long until = h_now_ms() + ms_quiet;

	do
		for (int i = 0; ms[i] != NULL; i++)
			while (member_read(ms[i], ms_quiet > 0 ? 5 : 0) > 0)
				;
	while (h_now_ms() < until);
}

/* The sum of the numbers after each key in the file. */
static long long sum_after(const char *path, const char *key)
{
	char *text = h_slurp(path, NULL);
	long long sum = 0;

	assert_non_null(text);
	for (const char *at = text; (at = strstr(at, key)) != NULL; at++)
		sum += atoll(at + strlen(key));
	free(text);
	return sum;
}

/* Sends lines from..to of m ("K" and pad bytes of 'x'). */
static void say_numbered(struct member *m, long from, long to, size_t pad)
{
	char *line = malloc(pad + 32);

	assert_non_null(line);
	for (long k = from; k <= to; k++) {
		int n = snprintf(line, 32, "%ld ", k);

		memset(line + n, 'x', pad);
		line[(size_t)n + pad] = '\n';
		assert_int_equal(h_send_all(m->fd, line, (size_t)n + pad + 1),
				 0);
	}
	free(line);
}

/* Sends buf[0..len) on m while reading the readers (a NULL-ended list):
 * a sender blocked in send while its room waits for a reader the test
 * does not read would have that reader dropped as too slow. */
static void send_draining(struct member *m, const char *buf, size_t len,
			  struct member *const *readers)
{
	long long deadline = h_now_ms() + WAIT_MS;

	while (len > 0) {
		struct pollfd pfd = {.fd = m->fd, .events = POLLOUT};
		ssize_t n;

		settle(readers, 0);
		if (poll(&pfd, 1, 5) <= 0)
			continue;
		n = send(m->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			fail_msg("send: %s", strerror(errno));
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
		if (h_now_ms() > deadline)
			fail_msg("the room took nothing more for %d ms",
				 WAIT_MS);
	}
}

/* Line k of m, as say_numbered, sent while reading the readers. */
static void say_one_draining(struct member *m, long k, size_t pad,
			     struct member *const *readers)
{
	char *line = malloc(pad + 32);
	int n;

	assert_non_null(line);
	n = snprintf(line, 32, "%ld ", k);
	memset(line + n, 'x', pad);
	line[(size_t)n + pad] = '\n';
	send_draining(m, line, (size_t)n + pad + 1, readers);
	free(line);
}

static void member_close(struct member *m)
{
	close(m->fd);
	free(m->order);
	m->order = NULL;
}

/* The subsequence of a's order made of sender indexes in [lo, hi). */
static size_t only(const struct member *m, int lo, int hi, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->order_len; i++)
		if (m->order[i] >= lo && m->order[i] < hi)
			out[n++] = m->order[i];
	return n;
}

/* Closes the members, stops the nodes (each must exit 0), then the
 * broker (NULL-ended lists). */
static void nodes_down(struct srv *const *nodes, struct member *const *members)
{
	for (int i = 0; members[i] != NULL; i++)
		member_close(members[i]);
	for (int i = 0; nodes[i] != NULL; i++)
		srv_stop(nodes[i]);
	redis_stop(SIGTERM);
}

/* ---- the tests ---- */

/*
 * Two nodes; on A two talkers (a1, a3) and a listener (a2), on B a talker
 * (b1) and a listener (b2).  All three talk at once, 300 lines each.
 * Every member hears every other talker's 300 lines once and in order,
 * its own never (no echo); the listeners' orders of A's lines are the
 * same (A's room order, carried through the stream); nobody is told of
 * a loss.
 */
static void test_order_two_nodes(void **state)
{
	static const char *const talkers[] = {"a1", "a3", "b1", NULL};
	struct srv A = {0}, B = {0};
	struct srv *const nodes[] = {&A, &B, NULL};
	struct member a1, a2, a3, b1, b2;
	struct member *all[] = {&a1, &a2, &a3, &b1, &b2, NULL};
	const long want[] = {600, 900, 600, 600, 900};
	char *oa, *ob;
	size_t na, nb;

	(void)state;
	if (!nodes_up(nodes)) {
		skip();
		return;
	}
	member_join(&a1, &A, "a1", 0);
	member_join(&a2, &A, "a2", 0);
	member_join(&a3, &A, "a3", 0);
	member_join(&b1, &B, "b1", 0);
	member_join(&b2, &B, "b2", 0);
	for (int i = 0; all[i] != NULL; i++)
		member_listen(all[i], talkers);
	for (long k = 1; k <= 300; k += 50) {
		say_numbered(&a1, k, k + 49, 20);
		say_numbered(&b1, k, k + 49, 20);
		say_numbered(&a3, k, k + 49, 20);
		settle(all, 0);
	}
	hear_all(all, want);
	settle(all, 500);
	for (int i = 0; all[i] != NULL; i++) {
		assert_int_equal(all[i]->wrong, 0);
		assert_int_equal(all[i]->lost_notices, 0);
		assert_int_equal(all[i]->other_messages, 0);
		assert_int_equal(total_heard(all[i]), want[i]);
	}
	assert_int_equal(a1.heard[0], 0); /* no echo */
	assert_int_equal(b1.heard[2], 0);
	/* A's room order, the same on B. */
	oa = malloc(a2.order_len);
	ob = malloc(b2.order_len);
	assert_true(oa != NULL && ob != NULL);
	na = only(&a2, 0, 2, oa);
	nb = only(&b2, 0, 2, ob);
	assert_int_equal(na, 600);
	assert_int_equal(nb, 600);
	assert_memory_equal(oa, ob, 600);
	free(oa);
	free(ob);
	nodes_down(nodes, all);
	assert_int_equal(lost_logged(nodes), 0);
}

/*
 * Three nodes, a talker and a listener on each.  B's talker says 50
 * lines, heard on A and C; then B is killed with SIGKILL.  A and C go on:
 * a1 and c1 say 100 lines each, heard once and in order on the other
 * two... the one left; nothing is told lost (what B said was all sent).
 */
static void test_node_killed(void **state)
{
	static const char *const talkers[] = {"a1", "b1", "c1", NULL};
	struct srv A = {0}, B = {0}, C = {0};
	struct srv *const nodes[] = {&A, &B, &C, NULL};
	struct member a1, a2, b1, b2, c1, c2;
	struct member *ac[] = {&a1, &a2, &c1, &c2, NULL};
	struct member *all[] = {&a1, &a2, &b1, &b2, &c1, &c2, NULL};
	const long after_b[] = {50, 50, 0, 50, 50, 50};
	const long want[] = {150, 250, 150, 250};

	(void)state;
	if (!nodes_up(nodes)) {
		skip();
		return;
	}
	member_join(&a1, &A, "a1", 0);
	member_join(&a2, &A, "a2", 0);
	member_join(&b1, &B, "b1", 0);
	member_join(&b2, &B, "b2", 0);
	member_join(&c1, &C, "c1", 0);
	member_join(&c2, &C, "c2", 0);
	for (int i = 0; all[i] != NULL; i++)
		member_listen(all[i], talkers);
	say_numbered(&b1, 1, 50, 10);
	hear_all(all, after_b);
	assert_int_equal(h_stop(&B.p, SIGKILL, 5000), 128 + SIGKILL);
	close(b1.fd);
	close(b2.fd);
	say_numbered(&a1, 1, 100, 10);
	say_numbered(&c1, 1, 100, 10);
	hear_all(ac, want);
	settle(ac, 500);
	for (int i = 0; ac[i] != NULL; i++) {
		assert_int_equal(ac[i]->wrong, 0);
		assert_int_equal(ac[i]->lost_notices, 0);
		assert_int_equal(total_heard(ac[i]), want[i]);
		assert_int_equal(ac[i]->heard[1], 50);
	}
	free(b1.order);
	free(b2.order);
	nodes_down((struct srv *const[]){&A, &C, NULL}, ac);
	assert_int_equal(lost_logged((struct srv *const[]){&A, &C, NULL}), 0);
}

/*
 * The broker restarted with lines in it a node had not read: node B is
 * stopped (SIGSTOP) while a1 says line 21, then 22-50, which reach the
 * stream; the broker is killed and started afresh (empty, no
 * persistence); B goes on, a1 says 10 more.  b2 hears 1-20, maybe 21 (the
 * answer to the read B had waiting when it stopped), then "* lines from
 * other servers were lost: N" for the rest, then 51-60: heard and told
 * add up to 60, N is 29 or 30, and B's log says broker-lost lines=N
 * reason=reconnect-gap; both nodes logged the link going down and up
 * again; a2, on A, lost nothing.
 */
static void test_broker_restarted(void **state)
{
	static const char *const talkers[] = {"a1", NULL};
	struct srv A = {0}, B = {0};
	struct srv *const nodes[] = {&A, &B, NULL};
	struct member a1, a2, b2;
	struct member *all[] = {&a2, &b2, NULL};
	const long first[] = {20, 20}, second[] = {50, 20}, last[] = {60, 30};
	long long deadline;

	(void)state;
	if (!nodes_up(nodes)) {
		skip();
		return;
	}
	member_join(&a1, &A, "a1", 0);
	member_join(&a2, &A, "a2", 0);
	member_join(&b2, &B, "b2", 0);
	for (int i = 0; all[i] != NULL; i++)
		member_listen(all[i], talkers);
	say_numbered(&a1, 1, 20, 10);
	hear_all(all, first);
	stop_process(B.p.pid);
	say_numbered(&a1, 21, 21, 10);
	deadline = h_now_ms() + WAIT_MS;
	while (stream_lines() < 21) {
		assert_true(h_now_ms() < deadline);
		h_sleep_ms(20);
	}
	say_numbered(&a1, 22, 50, 10);
	hear_all(all, second);
	while (stream_lines() < 50) {
		assert_true(h_now_ms() < deadline);
		h_sleep_ms(20);
	}
	redis_stop(SIGKILL);
	assert_true(redis_start()); /* the same port, empty */
	assert_int_equal(kill(B.p.pid, SIGCONT), 0);
	srv_wait_log(&B, "broker-up role=subscribe", 2);
	say_numbered(&a1, 51, 60, 10);
	hear_all(all, last);
	settle(all, 500);
	assert_int_equal(a2.wrong, 0);
	assert_int_equal(a2.lost_notices, 0);
	assert_int_equal(total_heard(&a2), 60);
	/* b2: 1-20 (21), told of the rest, 51-60: one step out of order */
	print_message("b2 heard %ld, was told of %ld lost\n", total_heard(&b2),
		      b2.lost_lines);
	assert_int_equal(total_heard(&b2) + b2.lost_lines, 60);
	assert_true(b2.lost_lines == 29 || b2.lost_lines == 30);
	assert_int_equal(b2.wrong, 1);
	assert_int_equal(b2.lost_notices, 1);
	{
		char needle[96];

		snprintf(needle, sizeof(needle),
			 "broker-lost role=subscribe lines=%ld "
			 "reason=reconnect-gap from=",
			 b2.lost_lines);
		srv_wait_log(&B, needle, 1);
	}
	assert_true(h_count_in_file(A.log, "broker-down role=publish") >= 1);
	assert_true(h_count_in_file(A.log, "broker-up role=publish") >= 2);
	assert_true(h_count_in_file(B.log, "broker-down role=subscribe") >= 1);
	nodes_down(nodes, (struct member *const[]){&a1, &a2, &b2, NULL});
}

/*
 * The broker stopped (SIGSTOP) for 2 s while both nodes' talkers say
 * 100 lines each: the local rooms go on (a2 hears a1's lines while the
 * broker is stopped), and once it is back every line reaches the other
 * node once, in order; nothing is told lost.
 */
static void test_broker_paused(void **state)
{
	static const char *const talkers[] = {"a1", "b1", NULL};
	struct srv A = {0}, B = {0};
	struct srv *const nodes[] = {&A, &B, NULL};
	struct member a1, a2, b1, b2;
	struct member *all[] = {&a1, &a2, &b1, &b2, NULL};
	struct member *locals[] = {&a2, &b2, NULL};
	const long local[] = {100, 100};
	const long want[] = {100, 200, 100, 200};

	(void)state;
	if (!nodes_up(nodes)) {
		skip();
		return;
	}
	member_join(&a1, &A, "a1", 0);
	member_join(&a2, &A, "a2", 0);
	member_join(&b1, &B, "b1", 0);
	member_join(&b2, &B, "b2", 0);
	for (int i = 0; all[i] != NULL; i++)
		member_listen(all[i], talkers);
	stop_process(redis_pid);
	say_numbered(&a1, 1, 100, 10);
	say_numbered(&b1, 1, 100, 10);
	hear_all(locals, local); /* the rooms did not wait */
	assert_int_equal(a2.heard[1], 0);
	h_sleep_ms(2000);
	assert_int_equal(kill(redis_pid, SIGCONT), 0);
	hear_all(all, want);
	settle(all, 1000);
	for (int i = 0; all[i] != NULL; i++) {
		assert_int_equal(all[i]->wrong, 0);
		assert_int_equal(all[i]->lost_notices, 0);
		assert_int_equal(total_heard(all[i]), want[i]);
	}
	nodes_down(nodes, all);
	assert_int_equal(lost_logged(nodes), 0);
	/* The pause outlasted a command's bound: sent again, had once. */
	assert_true(h_count_in_file(A.log, "broker-down role=publish") >= 1);
	assert_true(h_count_in_file(A.log, "broker-up role=publish") >= 2);
}

/*
 * A member of B that never reads (a 4 KB receive buffer, never read)
 * while a1 on A says 3 KB lines: B's room drops it by the room's rules
 * (reason=slow-reader) and b2, reading, hears every line once and in
 * order, like a2; nothing is told lost (the stream held the lines while
 * B's room waited).
 */
static void test_nonreader_on_one_node(void **state)
{
	static const char *const talkers[] = {"a1", NULL};
	struct srv A = {0}, B = {0};
	struct srv *const nodes[] = {&A, &B, NULL};
	struct member a1, a2, b2, mute;
	struct member *all[] = {&a2, &b2, NULL};
	long sent = 0;
	long long deadline;
	long want[2];

	(void)state;
	if (!nodes_up(nodes)) {
		skip();
		return;
	}
	member_join(&a1, &A, "a1", 0);
	member_join(&a2, &A, "a2", 0);
	member_join(&b2, &B, "b2", 0);
	member_join(&mute, &B, "mute", 4096);
	for (int i = 0; all[i] != NULL; i++)
		member_listen(all[i], talkers);
	deadline = h_now_ms() + 60000;
	while (h_count_in_file(B.log, "reason=slow-reader") == 0) {
		if (h_now_ms() > deadline)
			fail_msg("mute not dropped after %ld lines", sent);
		for (int i = 0; i < 20; i++)
			say_one_draining(&a1, ++sent, 3000, all);
		settle(all, 20);
	}
	say_numbered(&a1, sent + 1, sent + 10, 10);
	sent += 10;
	want[0] = want[1] = sent;
	hear_all(all, want);
	settle(all, 500);
	print_message("mute dropped after %ld lines of 3 KB\n", sent - 10);
	for (int i = 0; all[i] != NULL; i++) {
		assert_int_equal(all[i]->wrong, 0);
		assert_int_equal(all[i]->lost_notices, 0);
		assert_int_equal(total_heard(all[i]), sent);
	}
	assert_int_equal(h_count_in_file(B.log, "reason=slow-reader"), 1);
	assert_int_equal(h_count_in_file(B.log, "broker-lost"), 0);
	close(mute.fd);
	nodes_down(nodes, (struct member *const[]){&a1, &a2, &b2, NULL});
}

/*
 * More than the queue holds while the broker is stopped: a1 says 2,000
 * lines of 3 KB (6 MB, the queue is 4) with the broker stopped.  A logs
 * broker-lost role=publish reason=queue-full lines=N; once the broker is
 * back, b2 hears the others, is told "lost: N" once, and B logs
 * reason=sender-queue-full lines=N: heard + N = said.
 */
static void test_queue_full(void **state)
{
	static const char *const talkers[] = {"a1", NULL};
	struct srv A = {0}, B = {0};
	struct srv *const nodes[] = {&A, &B, NULL};
	struct member a1, a2, b2;
	struct member *locals[] = {&a2, NULL};
	const long local[] = {2000};
	long long dropped, deadline;

	(void)state;
	if (!nodes_up(nodes)) {
		skip();
		return;
	}
	member_join(&a1, &A, "a1", 0);
	member_join(&a2, &A, "a2", 0);
	member_join(&b2, &B, "b2", 0);
	member_listen(&a2, talkers);
	member_listen(&b2, talkers);
	stop_process(redis_pid);
	for (long k = 1; k <= 2000; k++)
		say_one_draining(&a1, k, 3000, locals);
	hear_all(locals, local);
	assert_int_equal(kill(redis_pid, SIGCONT), 0);
	srv_wait_log(&A, "broker-lost role=publish", 1);
	dropped = sum_after(A.log, "broker-lost role=publish lines=");
	assert_true(dropped > 0 && dropped < 2000);
	assert_int_equal(h_count_in_file(A.log, "reason=queue-full"),
			 h_count_in_file(A.log, "broker-lost role=publish"));
	deadline = h_now_ms() + WAIT_MS;
	while (total_heard(&b2) + dropped < 2000 || b2.lost_notices == 0) {
		if (h_now_ms() > deadline)
			fail_msg("b2 heard %ld + %lld lost of 2000",
				 total_heard(&b2), dropped);
		(void)member_read(&b2, 10);
		settle(locals, 0);
	}
	settle(locals, 0);
	{
		struct member *bs[] = {&b2, NULL};

		settle(bs, 500);
	}
	assert_int_equal(total_heard(&b2) + dropped, 2000);
	assert_int_equal(b2.lost_lines, dropped);
	assert_int_equal(b2.lost_notices, 1);
	assert_int_equal(sum_after(B.log, "broker-lost role=subscribe lines="),
			 dropped);
	assert_int_equal(h_count_in_file(B.log, "reason=sender-queue-full"), 1);
	nodes_down(nodes, (struct member *const[]){&a1, &a2, &b2, NULL});
}

/*
 * flood --chat with its members spread over four nodes, one of each
 * concurrent model (mtserver, epserver, rpserver, ptserver: the room and
 * the broker link are theirs alike), --hosts putting member i on node i
 * mod 4, 80 members x 25 messages: every one of the 158,000 deliveries
 * once and in each sender's order, across the broker; 20 members per
 * node; no node logs a line lost.
 */
static void test_flood_over_every_model(void **state)
{
	static const char *const progs[] = {"mtserver", "epserver", "rpserver",
					    "ptserver"};
	struct srv n[4];
	char hosts[128], json[4096];
	const char *argv[] = {"--chat",	   "--hosts", hosts, "-n",
			      "80",	   "-m",      "25",  "--json",
			      "--timeout", "20000",   NULL};
	struct h_proc f;
	char *out;
	int rc;

	(void)state;
	memset(n, 0, sizeof(n));
	if (!redis_start()) {
		skip();
		return;
	}
	for (int i = 0; i < 4; i++)
		node_start(&n[i], progs[i]);
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
		 n[0].p.port, n[1].p.port, n[2].p.port, n[3].p.port);
	assert_int_equal(h_spawn(&f, "flood", argv, NULL), 0);
	rc = h_wait_exit(&f, 120000);
	out = h_slurp(f.out_path, NULL);
	assert_non_null(out);
	snprintf(json, sizeof(json), "%s", out);
	free(out);
	if (rc != 0)
		fail_msg("flood exit %d: %s (see %s)", rc, json, f.err_path);
	assert_non_null(strstr(json, "\"expected\":158000,"));
	assert_non_null(strstr(json, "\"deliveries\":158000,"));
	assert_non_null(strstr(json, "\"missing\":0,\"duplicated\":0,"
				     "\"out_of_order\":0,\"unexpected\":0"));
	for (int i = 0; i < 4; i++) {
		srv_wait_log(&n[i], "disconnect reason=", 20);
		srv_stop(&n[i]);
		assert_int_equal(h_count_in_file(n[i].log, "broker-lost"), 0);
		assert_int_equal(h_count_in_file(n[i].log, "connect\n"), 20);
	}
	redis_stop(SIGTERM);
}

/*
 * Whoever can write to the broker can write to the stream: an entry that
 * is not whole printable lines (a terminal escape, a line without its
 * newline, a missing field) reaches no member and is logged
 * reason=malformed, one line each; a good entry after them is heard.
 */
static void test_malformed_entries(void **state)
{
	static const char *const talkers[] = {"eve", NULL};
	static const char *const bad[][2] = {
		{"seq", "eve: \x1b[2Jcleared\n"}, /* an escape */
		{"seq", "eve: no newline"},
		{"nothing", "eve: 1\n"}, /* no seq */
	};
	struct srv A = {0};
	struct srv *const nodes[] = {&A, NULL};
	struct member a2;
	struct member *all[] = {&a2, NULL};
	const long want[] = {1};
	struct timeval tv = {.tv_sec = 2};
	redisContext *c;

	(void)state;
	if (!nodes_up(nodes)) {
		skip();
		return;
	}
	member_join(&a2, &A, "a2", 0);
	member_listen(&a2, talkers);
	c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
	assert_true(c != NULL && c->err == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		redisReply *r = redisCommand(c,
					     "XADD %s * node x:1 run 1 %s 1 "
					     "dropped 0 lines %s",
					     KEY, bad[i][0], bad[i][1]);

		assert_true(r != NULL && r->type == REDIS_REPLY_STRING);
		freeReplyObject(r);
	}
	freeReplyObject(redisCommand(c,
				     "XADD %s * node x:1 run 1 seq 1 dropped 0 "
				     "lines %s",
				     KEY, "eve: 1\n"));
	redisFree(c);
	hear_all(all, want);
	settle(all, 300);
	assert_int_equal(total_heard(&a2), 1);
	assert_int_equal(a2.other_messages, 0);
	assert_int_equal(a2.lost_notices, 0);
	srv_wait_log(&A, "broker-lost role=subscribe lines=1 reason=malformed",
		     3);
	nodes_down(nodes, all);
}

/* Bad --broker URLs: one line, exit 2; --broker without --chat too. */
static void test_bad_urls(void **state)
{
	static const char *const bad[] = {
		"http://127.0.0.1:1",  "redis://127.0.0.1", "redis://:6379",
		"redis://127.0.0.1:0", "redis://h:70000",   "redis://h:6379/",
		"redis://h:6379/a b",  "redis://h:12x",
	};
	struct h_proc p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {"--chat", "--broker", bad[i], "0", NULL};

		assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 10000), 2);
		assert_int_equal(h_count_in_file(p.err_path, "--broker"), 1);
	}
	{
		const char *argv[] = {"--broker", "redis://127.0.0.1:6379", "0",
				      NULL};

		assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 10000), 2);
		assert_int_equal(
			h_count_in_file(p.err_path, "--broker needs --chat"),
			1);
	}
	{ /* the queue and the feed do not fit the budget */
		const char *argv[] = {"--chat",
				      "--broker",
				      "redis://127.0.0.1:6379",
				      "--max-memory",
				      "1M",
				      "0",
				      NULL};

		assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 10000), 1);
		assert_int_equal(h_count_in_file(p.err_path,
						 "--max-memory is too small "
						 "for --broker"),
				 1);
	}
}

/*
 * No broker at the address yet: the node serves its room anyway, logs
 * broker-down with a growing wait (bounded), and joins once a broker
 * comes up there.
 */
static void test_broker_late(void **state)
{
	static const char *const talkers[] = {"a1", NULL};
	struct srv A = {0}, B = {0};
	struct srv *const nodes[] = {&A, &B, NULL};
	struct member a1, a2, b2;
	struct member *all[] = {&a2, &b2, NULL};
	const long want[] = {10, 10};
	char url[64];

	(void)state;
	if (h_which(redis_bin, sizeof(redis_bin), "redis-server") == NULL) {
		print_message("redis-server not found: install the Debian "
			      "package redis-server\n");
		skip();
		return;
	}
	redis_port = h_free_port();
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/%s", redis_port, ROOM);
	srv_start(&A, "mtserver", "--chat", "-q", "--broker", url,
		  (const char *)NULL);
	srv_wait_log(&A, "broker-down role=subscribe", 3);
	member_join(&a1, &A, "a1", 0);
	member_join(&a2, &A, "a2", 0);
	assert_true(h_count_in_file(A.log, "retry=0.050s") >= 1);
	assert_true(h_count_in_file(A.log, "retry=0.200s") >= 1);
	assert_true(redis_start());
	srv_wait_log(&A, "broker-up role=subscribe", 1);
	srv_wait_log(&A, "broker-up role=publish", 1);
	node_start(&B, NULL);
	member_join(&b2, &B, "b2", 0);
	member_listen(&a2, talkers);
	member_listen(&b2, talkers);
	say_numbered(&a1, 1, 10, 10);
	hear_all(all, want);
	assert_int_equal(b2.wrong, 0);
	/* /who lists this server and says what it cannot. */
	srv_send(b2.fd, "/who\n");
	{
		long long deadline = h_now_ms() + WAIT_MS;

		while (b2.who_notes == 0 && h_now_ms() < deadline)
			(void)member_read(&b2, 10);
	}
	assert_int_equal(b2.who_notes, 1);
	nodes_down(nodes, (struct member *const[]){&a1, &a2, &b2, NULL});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bad_urls, teardown),
		cmocka_unit_test_teardown(test_order_two_nodes, teardown),
		cmocka_unit_test_teardown(test_node_killed, teardown),
		cmocka_unit_test_teardown(test_broker_restarted, teardown),
		cmocka_unit_test_teardown(test_broker_paused, teardown),
		cmocka_unit_test_teardown(test_nonreader_on_one_node, teardown),
		cmocka_unit_test_teardown(test_queue_full, teardown),
		cmocka_unit_test_teardown(test_broker_late, teardown),
		cmocka_unit_test_teardown(test_flood_over_every_model,
					  teardown),
		cmocka_unit_test_teardown(test_malformed_entries, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
