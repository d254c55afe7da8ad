/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_room_edges.c - the room under attack (issue 21, items 5-9), over
 * real sockets: padding that would forge a line on an 80-column screen,
 * invisible characters and look-alike names, a dropped member cut (not
 * trickled) with its kernel send buffer bounded, and a server short of
 * descriptors.  Dead peers (network namespaces) are
 * tests/test_dead_peer.sh's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "servers.h"

#define LINE_WAIT_MS 10000

/* The next line from fd, which must be want. */
static void expect_line(int fd, const char *want)
{
	char line[8192];

	if (h_read_line(fd, line, sizeof(line), LINE_WAIT_MS) < 0)
		fail_msg("expected '%s', got nothing", want);
	if (strcmp(line, want) != 0)
		fail_msg("expected '%s', got '%s'", want, line);
}

/* A member: connects and reads its welcome line. */
static int join(const struct srv *s, const char *name)
{
	char want[128], line[256];
	int fd = srv_connect(s);

	snprintf(want, sizeof(want), "* welcome, you are %s", name);
	assert_true(h_read_line(fd, line, sizeof(line), LINE_WAIT_MS) > 0);
	if (strncmp(line, want, strlen(want)) != 0)
		fail_msg("expected '%s...', got '%s'", want, line);
	return fd;
}

/* Reads lines from fd until one starts with prefix (notices of joins
 * and renames come before); returns it in line[0..size). */
static void read_until(int fd, const char *prefix, char *line, size_t size)
{
	long long start = h_now_ms();

	while (h_now_ms() - start < LINE_WAIT_MS) {
		if (h_read_line(fd, line, size, LINE_WAIT_MS) <= 0)
			break;
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return;
	}
	fail_msg("no line starting '%s'", prefix);
}

/* --- item 5: padding --- */

/*
 * "sure", 71 spaces, "alice: great..." as user1's line: on an 80-column
 * screen "user1: sure" and the spaces fill the row and "alice: great,
 * I'll pay bob $500 tomorrow" starts the next, a line alice never said.
 * The room folds every run of blanks (spaces, no-break and ideographic
 * spaces, U+2800) into one space; the log keeps what was received.
 */
static void test_padding_folded(void **state)
{
	static const char forged[] = "alice: great, I'll pay bob $500 tomorrow";
	char msg[256], want[256];
	struct srv s = {0};
	int a, b;

	(void)state;
	srv_start(&s, "mtserver", "--chat", (const char *)NULL);
	a = join(&s, "user1");
	b = join(&s, "user2");
	expect_line(a, "* user2 joined");

	snprintf(msg, sizeof(msg), "sure%71s%s\n", "", forged);
	srv_send(a, msg);
	snprintf(want, sizeof(want), "user1: sure %s", forged);
	expect_line(b, want);
	/* The log keeps every space: it is the record. */
	snprintf(want, sizeof(want), " msg sure%71s%s\n", "", forged);
	srv_wait_log(&s, want, 1);

	/* No-break spaces, ideographic spaces, braille blanks, a tab (which
	 * is escaped anyway): one space each run. */
	srv_send(a, "x\xc2\xa0\xc2\xa0 \xe3\x80\x80\xe3\x80\x80"
		    "y\xe2\xa0\x80\xe2\xa0\x80z \tw  \n");
	expect_line(b, "user1: x y z \\tw ");
	/* A blank alone stays what it was (a no-break space in French). */
	srv_send(a, "Vous\xc2\xa0!\n");
	expect_line(b, "user1: Vous\xc2\xa0!");
	close(a);
	close(b);
	srv_wait_log(&s, "disconnect reason=", 2);
	srv_stop(&s);
}

/* --- item 6: invisible characters and look-alike names --- */

/* U+3164 HANGUL FILLER and U+034F COMBINING GRAPHEME JOINER (default
 * ignorable, not Cf) and a variation selector: escaped in the room and
 * in the log, like the format characters. */
static void test_invisible_characters_escaped(void **state)
{
	struct srv s = {0};
	int a, b;

	(void)state;
	srv_start(&s, "mtserver", "--chat", (const char *)NULL);
	a = join(&s, "user1");
	b = join(&s, "user2");
	expect_line(a, "* user2 joined");
	srv_send(a, "a\xe3\x85\xa4"
		    "b\xcd\x8f"
		    "c\xef\xb8\x8f"
		    "d\n");
	expect_line(b, "user1: a\\xe3\\x85\\xa4b\\xcd\\x8fc\\xef\\xb8\\x8fd");
	srv_wait_log(&s, " msg a\\xe3\\x85\\xa4b\\xcd\\x8fc\\xef\\xb8\\x8fd\n",
		     1);
	close(a);
	close(b);
	srv_wait_log(&s, "disconnect reason=", 2);
	srv_stop(&s);
}

/* A name that looks like one in the room is taken: capital I, digit 1
 * and l; digit 0 and o; "rn" and m; "vv" and w; letter case. */
static void test_lookalike_names(void **state)
{
	static const char *const lookalikes[] = {
		"aIice", "a1ice",    "ALICE",	"Al1ce",  "b0b",
		"BOB",	 "rnallory", "mallorY", "vvendy", "Wendy",
	};
	struct srv s = {0};
	char cmd[64], want[96], line[256];
	int a, b, m, w, x;

	(void)state;
	srv_start(&s, "mtserver", "--chat", (const char *)NULL);
	a = join(&s, "user1");
	b = join(&s, "user2");
	m = join(&s, "user3");
	w = join(&s, "user4");
	x = join(&s, "user5");
	srv_send(a, "/nick alice\n");
	read_until(a, "* you are now", line, sizeof(line));
	assert_string_equal(line, "* you are now alice");
	srv_send(b, "/nick bob\n");
	read_until(b, "* you are now", line, sizeof(line));
	srv_send(m, "/nick mallory\n");
	read_until(m, "* you are now", line, sizeof(line));
	srv_send(w, "/nick wendy\n");
	read_until(w, "* you are now", line, sizeof(line));
	assert_string_equal(line, "* you are now wendy");
	for (size_t i = 0; i < sizeof(lookalikes) / sizeof(*lookalikes); i++) {
		snprintf(cmd, sizeof(cmd), "/nick %s\n", lookalikes[i]);
		srv_send(x, cmd);
		snprintf(want, sizeof(want), "* error: %s is taken",
			 lookalikes[i]);
		read_until(x, "* ", line, sizeof(line));
		while (strstr(line, " is now ") != NULL)
			read_until(x, "* ", line, sizeof(line));
		if (strncmp(line, want, strlen(want)) != 0)
			fail_msg("/nick %s: got '%s'", lookalikes[i], line);
	}
	/* Names that only share letters are fine. */
	srv_send(x, "/nick alicia\n");
	read_until(x, "* you are now", line, sizeof(line));
	assert_string_equal(line, "* you are now alicia");
	/* The owner may change its own name's case. */
	srv_send(a, "/nick AIice\n");
	read_until(a, "* you are now", line, sizeof(line));
	assert_string_equal(line, "* you are now AIice");
	close(a);
	close(b);
	close(m);
	close(w);
	close(x);
	srv_wait_log(&s, "disconnect reason=", 5);
	srv_stop(&s);
}

/* --- item 8: a dropped member is cut --- */

/* The server's kernel send buffer (ss's skmem "tb") of the connection
 * from local port cport to the server's port, or -1. */
static long server_sndbuf(int sport, int cport)
{
	char cmd[256], out[1024];
	long tb = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "ss -tnmH state all '( sport = :%d and dport = :%d )' "
		 "2>/dev/null",
		 sport, cport);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	while (fgets(out, sizeof(out), p) != NULL) {
		const char *t = strstr(out, ",tb");

		if (t != NULL)
			tb = strtol(t + 3, NULL, 10);
	}
	pclose(p);
	return tb;
}

static int local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/*
 * user2 has a small receive window and stops reading; user3 talks until
 * the room drops user2 as slow-reader.  Meanwhile the server's kernel
 * send buffer for user2 stays bounded (SO_SNDBUF).  Then user2 reads
 * again, slowly (64 KB/s): its connection is reset at once, not fed the
 * room's old lines from an orphaned socket for a minute.
 */
static void test_dropped_member_cut(void **state)
{
	static char line[3001];
	struct srv s = {0};
	int slow, talker, reader, rcv = 4096, cport;
	long long start;
	long sent = 0, tb_max = -1, after = 0;
	bool reset = false, ended = false;

	(void)state;
	if (h_which((char[H_PATH_MAX]){0}, H_PATH_MAX, "ss") == NULL) {
		print_message("no ss: install iproute2\n");
		skip();
	}
	srv_start(&s, "mtserver", "--chat", "-q", (const char *)NULL);
	reader = join(&s, "user1");
	slow = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(
		setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)), 0);
	{
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons((uint16_t)s.p.port),
					  .sin_addr.s_addr = htonl(0x7f000001)};

		assert_int_equal(
			connect(slow, (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	cport = local_port(slow);
	talker = join(&s, "user3");
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	start = h_now_ms();
	while (h_count_in_file(s.log, "reason=slow-reader") == 0) {
		char junk[65536];

		if (h_now_ms() - start > 30000)
			fail_msg("user2 not dropped after %ld lines", sent);
		assert_int_equal(h_send_all(talker, line, sizeof(line)), 0);
		sent++;
		while (recv(reader, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		if (sent % 64 == 0) {
			long tb = server_sndbuf(s.p.port, cport);

			if (tb > tb_max)
				tb_max = tb;
		}
	}
	print_message("dropped after %ld lines; server's send buffer for "
		      "it at most %ld bytes\n",
		      sent, tb_max);
	/* Reads 4 KB every 60 ms until the end, for at most 20 s. */
	start = h_now_ms();
	while (!ended && h_now_ms() - start < 20000) {
		char buf[4096];
		struct pollfd pfd = {.fd = slow, .events = POLLIN};
		ssize_t n;

		(void)poll(&pfd, 1, 60);
		n = recv(slow, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			after += n;
		else if (n == 0)
			ended = true;
		else if (errno == ECONNRESET)
			ended = reset = true;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			fail_msg("recv: %s", strerror(errno));
		if (n > 0)
			(void)poll(NULL, 0, 60);
	}
	print_message("after the drop: %ld bytes in %lld ms, %s\n", after,
		      h_now_ms() - start,
		      reset   ? "reset"
		      : ended ? "closed"
			      : "still open");
	assert_true(tb_max > 0);
	assert_true(tb_max <= 1024L * 1024);
	assert_true(ended);
	assert_true(reset);
	assert_true(h_now_ms() - start < 10000);
	close(slow);
	close(talker);
	close(reader);
	srv_wait_log(&s, "disconnect reason=", 3);
	srv_stop(&s);
}

/* --- item 9: short of descriptors --- */

/*
 * nofile 64 (soft and hard: it cannot be raised), --max-clients 100:
 * the server says at start that 100 members need more descriptors than
 * it may have, and every newcomer it cannot seat is told "server full"
 * (and logged), never closed without a word: neither at accept nor when
 * its member's wake-up descriptor cannot be had.
 */
static void test_fd_shortage_says_full(void **state)
{
	enum { CLIENTS = 45 };
	int fds[CLIENTS], welcomed = 0, full = 0;
	struct srv s = {0};

	(void)state;
	h_child_nofile = 64;
	srv_start(&s, "mtserver", "--chat", "-q", "--max-clients", "100",
		  (const char *)NULL);
	h_child_nofile = 0;
	for (int i = 0; i < CLIENTS; i++) {
		char line[256];
		int n;

		fds[i] = srv_connect(&s);
		n = h_read_line(fds[i], line, sizeof(line), LINE_WAIT_MS);
		if (n <= 0)
			fail_msg("client %d closed with no line", i + 1);
		if (strncmp(line, "* welcome, you are ", 19) == 0)
			welcomed++;
		else if (strcmp(line, "server full") == 0)
			full++;
		else
			fail_msg("client %d: '%s'", i + 1, line);
	}
	print_message("%d welcomed, %d told server full\n", welcomed, full);
	assert_int_equal(h_count_in_file(s.p.err_path, "--max-clients 100 "
						       "needs 2"),
			 1);
	srv_wait_log(&s, " nofile=64 nofile-needed=232 ", 1);
	assert_true(welcomed >= 10);
	assert_true(full >= 1);
	srv_wait_log(&s, "refused reason=", (size_t)full);
	assert_int_equal(h_count_in_file(s.log, "refused reason="),
			 (size_t)full);
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
	srv_wait_log(&s, "disconnect reason=", (size_t)welcomed);
	srv_stop(&s);
}

/* Enough descriptors (the hard limit allows it): no word at start. */
static void test_fd_enough_says_nothing(void **state)
{
	struct srv s = {0};

	(void)state;
	srv_start(&s, "mtserver", "--chat", "--max-clients", "100",
		  (const char *)NULL);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.p.err_path, "needs"), 0);
	assert_int_equal(h_count_in_file(s.log, " max-clients=100 nofile="), 1);
	assert_int_equal(h_count_in_file(s.log, "nofile-needed="), 0);
}

/* --- item 7: the dead-peer options (their effect: test_dead_peer.sh) */

static void test_dead_peer_options_checked(void **state)
{
	static const char *const bad[][3] = {
		{"--keepalive", "1,0", "invalid --keepalive '1,0'"},
		{"--keepalive", "1,2,3,4", "invalid --keepalive '1,2,3,4'"},
		{"--keepalive", "", "invalid --keepalive ''"},
		{"--keepalive", "60,", "invalid --keepalive '60,'"},
		{"--keepalive", "40000", "invalid --keepalive '40000'"},
		{"--tcp-user-timeout", "-1", "invalid --tcp-user-timeout '-1'"},
	};
	static const char *const good[][2] = {
		{"--keepalive", "0"},
		{"--keepalive", "5"},
		{"--keepalive", "5,2"},
		{"--tcp-user-timeout", "0"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {bad[i][0], bad[i][1], "0", NULL};
		struct h_proc p;

		assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 10000), 2);
		if (h_count_in_file(p.err_path, bad[i][2]) != 1)
			fail_msg("%s %s: no '%s' on stderr", bad[i][0],
				 bad[i][1], bad[i][2]);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct srv s = {0};

		srv_start(&s, "mtserver", good[i][0], good[i][1],
			  (const char *)NULL);
		srv_stop(&s);
	}
}

/*
 * A live client that stops reading is the send timeout's, not a dead
 * peer: on Linux, TCP_USER_TIMEOUT also ends a connection whose peer
 * keeps its window shut that long, so the user timeout's default stays
 * above --send-timeout (its default follows it).  --send-timeout 35 and
 * a client that sends and never reads (a 4 KiB window): logged
 * reason=send-timeout after some 35 s, not dead-peer at 30 s.
 */
static void test_nonreader_is_not_a_dead_peer(void **state)
{
	static char chunk[4096];
	struct srv s = {0};
	int fd, rcv = 4096;
	long long start;

	(void)state;
	srv_start(&s, "mtserver", "--echo", "-q", "--no-udp", "--idle-timeout",
		  "0", "--send-timeout", "35", (const char *)NULL);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)), 0);
	{
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons((uint16_t)s.p.port),
					  .sin_addr.s_addr = htonl(0x7f000001)};

		assert_int_equal(
			connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	memset(chunk, 'x', sizeof(chunk));
	chunk[sizeof(chunk) - 1] = '\n';
	start = h_now_ms();
	while (h_count_in_file(s.log, "disconnect reason=") == 0) {
		if (h_now_ms() - start > 90000)
			fail_msg("the non-reader was not disconnected");
		if (send(fd, chunk, sizeof(chunk),
			 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			(void)poll(NULL, 0, 200);
	}
	print_message("disconnected after %lld ms\n", h_now_ms() - start);
	close(fd);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, "reason=dead-peer"), 0);
	assert_int_equal(h_count_in_file(s.log, "#1 disconnect "
						"reason=send-timeout"),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_padding_folded, srv_teardown),
		cmocka_unit_test_teardown(test_invisible_characters_escaped,
					  srv_teardown),
		cmocka_unit_test_teardown(test_lookalike_names, srv_teardown),
		cmocka_unit_test_teardown(test_dropped_member_cut,
					  srv_teardown),
		cmocka_unit_test_teardown(test_fd_shortage_says_full,
					  srv_teardown),
		cmocka_unit_test_teardown(test_fd_enough_says_nothing,
					  srv_teardown),
		cmocka_unit_test_teardown(test_dead_peer_options_checked,
					  srv_teardown),
		cmocka_unit_test_teardown(test_nonreader_is_not_a_dead_peer,
					  srv_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
