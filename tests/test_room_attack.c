/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_room_attack.c - mtserver --chat under attack (issue 21): the room's
 * rule is that when it is behind, the sender waits (TCP) or its line is
 * dropped and counted (UDP), never the reader.  Each test drives the real
 * server over loopback: members welcomed within the budget are never
 * refused later, UDP speakers are off unless asked for and held to a rate,
 * a flooder cannot push out a member that reads steadily, and churn does
 * not turn honest newcomers away.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "logline.h"
#include "servers.h"

#define LINE_WAIT_MS 10000

/* --- a member's whole cost is charged at the door (item 4) --- */

#define DOOR_TRIES 20

/*
 * A budget that seats some members: clients join until one is refused
 * at the door.  Every member that was welcomed then says one line, and
 * every one of those lines is logged and heard: a welcome is a promise
 * (the whole of a member's buffers was charged when it joined), so no
 * member is told "server busy" on its first line.  The room used to
 * charge a member's outboxes at the door and its framing buffers on its
 * first byte: three of ten welcomed members were refused mid-session,
 * their lines never read nor logged.
 */
static void test_welcomed_member_is_never_refused(void **state)
{
	struct srv s = {0};
	int fds[DOOR_TRIES] = {0}, listener = -1, members = 0;
	char line[256], want[64];

	(void)state;
	srv_start(&s, "mtserver", "--chat", "--max-memory", "21M",
		  (const char *)NULL);
	for (int i = 0; i < DOOR_TRIES; i++) {
		int fd = srv_connect(&s);

		assert_true(h_read_line(fd, line, sizeof(line), LINE_WAIT_MS) >
			    0);
		if (strcmp(line, "server busy") == 0) {
			assert_int_equal(h_wait_eof(fd, LINE_WAIT_MS), 0);
			close(fd);
			break;
		}
		assert_non_null(strstr(line, "* welcome, you are user"));
		fds[members++] = fd;
	}
	print_message("%d members seated by 21M\n", members);
	assert_true(members >= 2 && members < DOOR_TRIES);
	listener = fds[0];
	for (int i = 1; i < members; i++) {
		snprintf(line, sizeof(line), "first line of member %d\n", i);
		srv_send(fds[i], line);
	}
	/* The first member hears every other one's line (and the joins
	 * before them). */
	for (int heard = 0; heard < members - 1;) {
		assert_true(h_read_line(listener, line, sizeof(line),
					LINE_WAIT_MS) > 0);
		if (strstr(line, ": first line of member ") != NULL)
			heard++;
	}
	for (int i = 0; i < members; i++)
		close(fds[i]);
	srv_wait_log(&s, "disconnect reason=", (size_t)members);
	srv_stop(&s);
	/* The one refusal is the door's. */
	assert_int_equal(h_count_in_file(s.log, "refused reason=memory-budget"),
			 1);
	for (int i = 1; i < members; i++) {
		snprintf(want, sizeof(want), " msg first line of member %d\n",
			 i);
		assert_int_equal(h_count_in_file(s.log, want), 1);
	}
	assert_int_equal(
		h_count_in_file(s.log, "reason=memory-budget messages"), 0);
}

/* --- UDP speakers: off by default, unverified, held to a rate (item 1) --- */

/* The next line on fd that is not a notice ("* ..."). */
static void next_message(int fd, char *line, size_t size)
{
	do {
		if (h_read_line(fd, line, size, LINE_WAIT_MS) <= 0)
			fail_msg("no message line came");
	} while (strncmp(line, "* ", 2) == 0);
}

/* The number after key in the server's stderr (its summary), or -1. */
static long long summary_number(const struct srv *s, const char *key)
{
	return h_number_after(s->p.err_path, key);
}

/*
 * A UDP source address can be forged, so a plain --chat room does not
 * relay UDP datagrams: they are logged, as every message is, and nobody
 * in the room reads them.  The room used to show them as any member's.
 */
static void test_udp_not_relayed_by_default(void **state)
{
	struct srv s = {0};
	char line[256];
	int a, b, u;

	(void)state;
	srv_start(&s, "mtserver", "--chat", (const char *)NULL);
	a = srv_connect(&s);
	assert_true(h_read_line(a, line, sizeof(line), LINE_WAIT_MS) > 0);
	b = srv_connect(&s);
	assert_true(h_read_line(b, line, sizeof(line), LINE_WAIT_MS) > 0);
	u = h_udp("127.0.0.1", s.p.port);
	assert_true(u >= 0);
	assert_true(send(u, "* server stopping\n", 18, 0) == 18);
	srv_wait_log(&s, "udp 127.0.0.1:", 1);
	srv_send(b, "after the datagram\n");
	next_message(a, line, sizeof(line));
	assert_string_equal(line, "user2: after the datagram");
	close(u);
	close(a);
	close(b);
	srv_wait_log(&s, "disconnect reason=", 2);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg * server stopping\n"), 1);
}

#define UDP_READERS    10
#define UDP_DATAGRAMS  12
#define UDP_LINES_EACH 32000 /* one-byte lines: "x\n" */

/*
 * --chat-udp: UDP lines reach the room marked unverified
 * ("udp?:ADDRESS:PORT: TEXT"), at most CHAT_UDP_LINES_PER_S a second per
 * source address after a second's worth at once; the rest are logged and
 * counted in the summary, never relayed.  Ten members that read are
 * never dropped by twelve datagrams of 32,000 lines each (the room used
 * to post them all, at once, and drop every member whose inbox could not
 * take them); another source address still gets its line through; and a
 * TCP member's line comes after them all, in the room's order.
 */
static void test_udp_unverified_and_held_to_a_rate(void **state)
{
	static char dgram[2 * UDP_LINES_EACH];
	struct srv s = {0};
	int fds[UDP_READERS], u, u2;
	long udp_lines = 0;
	char line[256];
	long long limited, start;

	(void)state;
	srv_start(&s, "mtserver", "--chat", "--chat-udp", "-q",
		  (const char *)NULL);
	for (int i = 0; i < UDP_READERS; i++) {
		fds[i] = srv_connect(&s);
		assert_true(h_read_line(fds[i], line, sizeof(line),
					LINE_WAIT_MS) > 0);
	}
	u = h_udp("127.0.0.1", s.p.port);
	u2 = h_connect_from("127.0.0.2", s.p.port, SOCK_DGRAM);
	assert_true(u >= 0 && u2 >= 0);
	for (int i = 0; i < UDP_LINES_EACH; i++)
		memcpy(dgram + (size_t)2 * (size_t)i, "x\n", 2);
	start = h_now_ms();
	for (int d = 0; d < UDP_DATAGRAMS; d++)
		assert_int_equal(send(u, dgram, sizeof(dgram), 0),
				 (ssize_t)sizeof(dgram));
	assert_int_equal(send(u2, "from two\n", 9, 0), 9);
	/* Member 1 reads the UDP lines: 127.0.0.2's comes after those of
	 * 127.0.0.1 that were said (one socket, one queue). */
	for (;;) {
		next_message(fds[0], line, sizeof(line));
		if (strncmp(line, "udp?:127.0.0.2:", 15) == 0) {
			assert_non_null(strstr(line, ": from two"));
			break;
		}
		if (strncmp(line, "udp?:127.0.0.1:", 15) != 0 ||
		    strcmp(strrchr(line, ':'), ": x") != 0)
			fail_msg("unexpected line '%s'", line);
		udp_lines++;
	}
	srv_send(fds[1], "after the flood\n");
	next_message(fds[0], line, sizeof(line));
	assert_string_equal(line, "user2: after the flood");
	print_message("%ld of %d udp lines relayed\n", udp_lines,
		      UDP_DATAGRAMS * UDP_LINES_EACH);
	assert_true(udp_lines >= 1);
	/* A second's worth at once, and 10 a second after it. */
	assert_true(udp_lines <= 10 + 10 * (h_now_ms() - start) / 1000 + 10);
	close(u);
	close(u2);
	for (int i = 0; i < UDP_READERS; i++)
		close(fds[i]);
	srv_wait_log(&s, "disconnect reason=", UDP_READERS);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, "reason=slow-reader"), 0);
	/* Closed with lines unread: reset, never dropped by the room. */
	assert_int_equal(h_count_in_file(s.log, "reason=client-closed") +
				 h_count_in_file(s.log, "reason=reset"),
			 UDP_READERS);
	/* Every line received and not said is counted (the kernel may
	 * have dropped some datagrams before the server read them). */
	limited = summary_number(&s, "udp lines not relayed: ");
	print_message("summary: %lld udp lines not relayed\n", limited);
	assert_true(limited > 0);
	assert_int_equal(limited + udp_lines + 1, summary_number(&s, "; udp "));
}

/* --- a flooder is held to the pace of a member that reads (item 3) --- */

#define PACE_READ_MS	 6000  /* the reader's paced part */
#define PACE_RATE	 200   /* KB/s it reads at, in that part */
#define PACE_HONEST_MAX	 60    /* lines of the honest sender */
#define PACE_FLOOD_BYTES 2048  /* a flooder's line */
#define PACE_WAIT_MS	 60000 /* the whole test's bound */

struct pace_member {
	int fd;
	bool flood; /* else one short line every 100 ms */
	atomic_bool *stop;
	atomic_bool failed; /* its connection ended */
	atomic_long sent;   /* lines sent */
};

/* A member that reads (and drops) all it is sent and sends: flood
 * lines as fast as the server takes them, or an honest line every
 * 100 ms, until told to stop. */
static void *pace_member_main(void *arg)
{
	struct pace_member *p = arg;
	static _Thread_local char junk[65536];
	char out[32 * PACE_FLOOD_BYTES];
	size_t off = 0, len = 0;
	long long next = h_now_ms();
	long seq = 0; /* the next line's number */

	while (!atomic_load(p->stop)) {
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		ssize_t n;

		if (off == len && p->flood) {
			for (off = len = 0; len < sizeof(out);
			     len += PACE_FLOOD_BYTES) {
				memset(out + len, 'f', PACE_FLOOD_BYTES - 1);
				out[len + (size_t)snprintf(out + len, 16, "%ld",
							   seq++)] = ' ';
				out[len + PACE_FLOOD_BYTES - 1] = '\n';
			}
		} else if (off == len && seq < PACE_HONEST_MAX &&
			   h_now_ms() >= next) {
			off = 0;
			len = (size_t)snprintf(out, sizeof(out), "honest %ld\n",
					       seq++);
			next += 100;
		}
		if (off < len)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (off < len) {
			n = send(p->fd, out + off, len - off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			if (off == len)
				atomic_store(&p->sent, seq);
		}
		/* A bounded read: a flood must not keep it from sending. */
		for (int i = 0; i < 8; i++) {
			n = recv(p->fd, junk, sizeof(junk), MSG_DONTWAIT);
			if (n <= 0)
				break;
		}
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			atomic_store(&p->failed, true);
			break;
		}
	}
	return NULL;
}

/* What the paced reader read: honest lines in order, and how many. */
struct pace_reader {
	char line[PACE_FLOOD_BYTES + 64];
	size_t llen;
	long honest, flood, paced_honest, paced_flood;
	long run, max_run; /* flood lines since the last honest line */
	bool paced;
};

static void pace_check_line(struct pace_reader *r, const char *line)
{
	long seq;

	if (strncmp(line, "* ", 2) == 0)
		return;
	if (sscanf(line, "user3: honest %ld", &seq) == 1) {
		if (seq != r->honest)
			fail_msg("honest line %ld after %ld", seq,
				 r->honest - 1);
		r->honest++;
		r->paced_honest += r->paced;
		if (r->honest > 1 && r->run > r->max_run)
			r->max_run = r->run;
		r->run = 0;
		return;
	}
	if (sscanf(line, "user2: %ld ", &seq) != 1 || seq != r->flood)
		fail_msg("unexpected line '%.40s' (flood %ld)", line, r->flood);
	r->flood++;
	r->run++;
	r->paced_flood += r->paced;
}

/* In the server's log: flood lines (#2) read between two honest lines
 * (#3), the largest such run after the fifth honest line. */
struct pace_log {
	long honest, run, max_run;
};

static void pace_log_line(const struct logline *l, size_t line_len, void *arg)
{
	struct pace_log *p = arg;

	(void)line_len;
	if (l->event != LOGLINE_MSG)
		return;
	if (l->number == 2) {
		p->run++;
		return;
	}
	if (l->number != 3)
		return;
	if (++p->honest > 5 && p->run > p->max_run)
		p->max_run = p->run;
	p->run = 0;
}

/* One recv() of up to want bytes; its result. */
static ssize_t pace_read(struct pace_reader *r, int fd, size_t want)
{
	static char buf[65536];
	ssize_t n = recv(fd, buf, want < sizeof(buf) ? want : sizeof(buf), 0);

	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (r->llen < sizeof(r->line) - 1)
				r->line[r->llen++] = buf[i];
			continue;
		}
		r->line[r->llen] = '\0';
		r->llen = 0;
		pace_check_line(r, r->line);
	}
	return n;
}

/*
 * user2 floods (2 KB lines as fast as the room takes them, reading all
 * it is sent); user3 says a short line every 100 ms; user1 reads
 * through a 4 KiB receive buffer at about 200 KB/s for 6 s, far slower
 * than the flood.  The rule: the room is behind, so the senders wait,
 * never the reader - user1 makes progress, so it is never dropped
 * (the room used to drop it as slow-reader after 2 to 4 s), and the
 * flooder gets no more turns than user3, so user3's lines keep coming
 * through while user1 reads at its pace.  Afterwards user1 reads at
 * full speed and gets every honest line, in order.
 */
static void test_steady_reader_outlasts_a_flooder(void **state)
{
	static struct pace_reader r;
	struct srv s = {0};
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(0x7f000001)};
	struct pace_member m[2] = {{.flood = true}, {.flood = false}};
	atomic_bool stop = false;
	pthread_t th[2];
	int reader, rcv = 4096;
	long long start, now;
	long read_bytes = 0;
	char line[256];

	(void)state;
	memset(&r, 0, sizeof(r));
	srv_start(&s, "mtserver", "--chat", (const char *)NULL);
	sin.sin_port = htons((uint16_t)s.p.port);
	reader = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(
		setsockopt(reader, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)),
		0);
	assert_int_equal(connect(reader, (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	assert_true(h_read_line(reader, line, sizeof(line), LINE_WAIT_MS) > 0);
	for (int i = 0; i < 2; i++) {
		m[i].fd = srv_connect(&s);
		m[i].stop = &stop;
		assert_true(h_read_line(m[i].fd, line, sizeof(line),
					LINE_WAIT_MS) > 0);
		assert_int_equal(fcntl(m[i].fd, F_SETFL, O_NONBLOCK), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&th[i], NULL, pace_member_main, &m[i]),
			0);
	/* Paced: at most PACE_RATE KB/s. */
	r.paced = true;
	start = h_now_ms();
	while ((now = h_now_ms()) - start < PACE_READ_MS) {
		long allowed = (long)(now - start) * PACE_RATE;

		if (read_bytes >= allowed) {
			h_sleep_ms(2);
			continue;
		}
		ssize_t n =
			pace_read(&r, reader, (size_t)(allowed - read_bytes));

		if (n <= 0)
			fail_msg("user1 was cut off after %lld ms",
				 h_now_ms() - start);
		read_bytes += n;
	}
	r.paced = false;
	print_message("paced: %ld KB in %lld ms; flood %ld lines, honest "
		      "%ld of %ld\n",
		      read_bytes / 1000, h_now_ms() - start, r.paced_flood,
		      r.paced_honest, atomic_load(&m[1].sent));
	/* Full speed until every honest line is in. */
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	while (r.honest < atomic_load(&m[1].sent) &&
	       h_now_ms() - start < PACE_WAIT_MS)
		if (pace_read(&r, reader, 65536) <= 0)
			fail_msg("user1 was cut off at the end");
	assert_false(atomic_load(&m[0].failed));
	assert_false(atomic_load(&m[1].failed));
	assert_int_equal(r.honest, atomic_load(&m[1].sent));
	print_message("at most %ld flood lines between two honest ones; "
		      "%ld flood lines in all\n",
		      r.max_run, r.flood);
	for (int i = 0; i < 2; i++)
		close(m[i].fd);
	close(reader);
	srv_wait_log(&s, "disconnect reason=", 3);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, "reason=slow-reader"), 0);
	/* Fair turns: the room read user3's lines in turn with the
	 * flood's.  While user1 is behind, a turn comes each time it has
	 * taken its inbox (1 MiB, some 500 flood lines): between two of
	 * user3's lines (100 ms apart) the server reads at most a few
	 * turns' worth of the flood.  A room where the flooder wins the
	 * race each time user1 catches up would read many more. */
	{
		struct pace_log pl = {0};

		assert_int_equal(h_each_logline(s.log, pace_log_line, &pl), 0);
		print_message("server: at most %ld flood lines between two "
			      "honest ones\n",
			      pl.max_run);
		assert_int_equal(pl.honest, atomic_load(&m[1].sent));
		assert_true(pl.max_run <= 4L * 512);
	}
}

/* --- churn: joins and leaves cost what they are worth (item 2) --- */

#define CHURN_THREADS	4
#define CHURN_MS	3000
#define CHURN_MAX	20000 /* connections per thread, at most */
#define CHURN_NEWCOMERS 20
#define CHURN_EVERY_MS	150

struct churner {
	int port;
	atomic_bool *stop;
	long conns;
};

/* Connects and closes at once, sending nothing, until told to stop. */
static void *churn_main(void *arg)
{
	struct churner *c = arg;

	while (!atomic_load(c->stop) && c->conns < CHURN_MAX) {
		int fd = h_connect("127.0.0.1", c->port);

		if (fd >= 0) {
			close(fd);
			c->conns++;
		}
	}
	return NULL;
}

/* A member that reads everything, counting the notice lines. */
struct listener {
	int fd;
	atomic_bool *stop;
	long notices, lines;
	bool cut;
};

static void *listen_main(void *arg)
{
	struct listener *l = arg;
	static char buf[65536];
	bool at_start = true;

	while (!atomic_load(l->stop)) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(l->fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			l->cut = true;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (at_start && buf[i] == '*')
				l->notices++;
			at_start = buf[i] == '\n';
			l->lines += at_start;
		}
	}
	return NULL;
}

/*
 * Four threads connect and close at once, sending nothing, for 3 s,
 * while twenty honest newcomers come one by one: every one of them is
 * welcomed (the room used to tell 10 to 17 of 20 "server busy": every
 * join and leave was announced to every member, so sessions piled up,
 * each holding its charge).  The members in the room read the joins and
 * leaves coalesced ("* N joined, M left"), a few lines a second, not
 * one line per connection.
 */
static void test_churn_does_not_turn_newcomers_away(void **state)
{
	static struct churner ch[CHURN_THREADS];
	struct srv s = {0};
	struct listener l = {0};
	atomic_bool stop = false, stop_listen = false;
	pthread_t th[CHURN_THREADS], lt;
	long conns = 0;
	int busy = 0, welcomed = 0;
	long long start;
	char line[256];

	(void)state;
	srv_start(&s, "mtserver", "--chat", "-q", (const char *)NULL);
	l.fd = srv_connect(&s);
	l.stop = &stop_listen;
	assert_true(h_read_line(l.fd, line, sizeof(line), LINE_WAIT_MS) > 0);
	assert_int_equal(pthread_create(&lt, NULL, listen_main, &l), 0);
	for (int i = 0; i < CHURN_THREADS; i++) {
		ch[i] = (struct churner){.port = s.p.port, .stop = &stop};
		assert_int_equal(
			pthread_create(&th[i], NULL, churn_main, &ch[i]), 0);
	}
	start = h_now_ms();
	for (int i = 0; i < CHURN_NEWCOMERS; i++) {
		int fd = srv_connect(&s);

		if (h_read_line(fd, line, sizeof(line), LINE_WAIT_MS) <= 0)
			fail_msg("newcomer %d: nothing", i);
		if (strcmp(line, "server busy") == 0)
			busy++;
		else if (strncmp(line, "* welcome, you are ", 19) == 0)
			welcomed++;
		else
			fail_msg("newcomer %d: '%s'", i, line);
		close(fd);
		h_sleep_ms(CHURN_EVERY_MS);
	}
	while (h_now_ms() - start < CHURN_MS)
		h_sleep_ms(50);
	atomic_store(&stop, true);
	for (int i = 0; i < CHURN_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		conns += ch[i].conns;
	}
	h_sleep_ms(500); /* the last coalesced notice */
	atomic_store(&stop_listen, true);
	assert_int_equal(pthread_join(lt, NULL), 0);
	print_message("%ld churn connections in %lld ms; newcomers: %d "
		      "welcomed, %d busy; the member read %ld notices\n",
		      conns, h_now_ms() - start, welcomed, busy, l.notices);
	close(l.fd);
	srv_stop(&s);
	assert_false(l.cut);
	assert_int_equal(busy, 0);
	assert_int_equal(welcomed, CHURN_NEWCOMERS);
	/* Coalesced: some ten notices a second, not one per join or leave
	 * (a burst of 8 at once, then 10 a second; the run takes some 4 s
	 * and more on a loaded machine). */
	assert_true(conns >= 200);
	assert_true(l.notices <= 8 + 10 * (h_now_ms() - start) / 1000 + 10);
	assert_true(l.notices * 10 < conns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_welcomed_member_is_never_refused,
					  srv_teardown),
		cmocka_unit_test_teardown(test_udp_not_relayed_by_default,
					  srv_teardown),
		cmocka_unit_test_teardown(
			test_udp_unverified_and_held_to_a_rate, srv_teardown),
		cmocka_unit_test_teardown(test_steady_reader_outlasts_a_flooder,
					  srv_teardown),
		cmocka_unit_test_teardown(
			test_churn_does_not_turn_newcomers_away, srv_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
