/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hostile.c - TCP clients that try to hurt the server (issue 11):
 * one that sends but never reads, one that trickles bytes without ever
 * ending a line, many from one address.  Each test drives a real
 * mtserver over loopback and states the limit it checks.
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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "logline.h"
#include "servers.h"

/* What a non-reading client pushes at most: far more than every socket
 * buffer between it and the server can hold (a few MB each way on
 * loopback), so it is the server that must stop it. */
#define FLOOD_MAX (256 * (size_t)1024 * 1024)

/*
 * Sends 64-byte lines to fd without ever reading, until the kernel has
 * refused more for stall_ms in a row (the server stopped reading), or
 * FLOOD_MAX, or 20 s.  Returns the bytes the kernel took.
 */
static size_t send_until_stalled(int fd, int stall_ms)
{
	static char chunk[64 * 1024];
	long long start = h_now_ms();
	size_t sent = 0;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (i % 64 == 63) ? '\n' : 'x';
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (sent < FLOOD_MAX && h_now_ms() - start < 20000) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			break;
		if (poll(&pfd, 1, stall_ms) == 0)
			break; /* stalled: the server stopped reading */
	}
	return sent;
}

/* Milliseconds until the log holds needle, or -1 after timeout_ms. */
static long long ms_until_log(const struct srv *s, const char *needle,
			      int timeout_ms)
{
	long long start = h_now_ms();

	if (h_wait_for(s->log, needle, 1, timeout_ms) == -1)
		return -1;
	return h_now_ms() - start;
}

/* How connection #1 ended, read off its disconnect line. */
struct first_end {
	bool found;
	char reason[32];
	uint64_t discarded;
};

static void find_first_end(const struct logline *l, size_t line_len, void *arg)
{
	struct first_end *end = arg;
	const char *reason;
	size_t len;

	(void)line_len;
	if (l->event != LOGLINE_DISCONNECT || l->number != 1)
		return;
	assert_int_equal(logline_field(l, "reason", &reason, &len), 0);
	assert_int_equal(logline_field_u64(l, "discarded", &end->discarded), 0);
	assert_true(len < sizeof(end->reason));
	memcpy(end->reason, reason, len);
	end->reason[len] = '\0';
	end->found = true;
}

/* Finding 1: a client that sends but never reads is ended by the idle
 * timeout (it completes no message once the server stops reading it),
 * while another client is echoed meanwhile, and what it could push is
 * bounded by the socket buffers, not by server memory. */
static void test_nonreader_idle_timeout(void **state)
{
	char line[128];
	struct srv s = {0};
	size_t sent;
	int hog, other;

	(void)state;
	srv_start(&s, "mtserver", "--echo", "-q", "--idle-timeout", "2",
		  "--no-udp", (const char *)NULL);
	hog = srv_connect(&s);
	sent = send_until_stalled(hog, 1000);
	assert_true(sent < FLOOD_MAX / 4);
	other = srv_connect(&s);
	srv_send(other, "still served\n");
	assert_true(h_read_line(other, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "still served");
	/* The idle timeout ends it as idle-timeout, or as line-timeout
	 * when the server's last read stopped inside a line (the bytes of
	 * that partial line are then counted as discarded). */
	assert_true(ms_until_log(&s, "#1 disconnect reason=", 15000) >= 0);
	{
		struct first_end end = {0};

		assert_int_equal(h_each_logline(s.log, find_first_end, &end),
				 0);
		assert_true(end.found);
		if (strcmp(end.reason, end.discarded > 0 ? "line-timeout"
							 : "idle-timeout") != 0)
			fail_msg("not ended by the idle timeout: %s "
				 "(discarded=%llu)",
				 end.reason, (unsigned long long)end.discarded);
	}
	close(hog);
	close(other);
	srv_stop(&s);
}

/* Finding 1: with no idle timeout, a non-reader whose replies make no
 * progress for --send-timeout seconds is disconnected for it. */
static void test_nonreader_send_timeout(void **state)
{
	struct srv s = {0};
	int hog;

	(void)state;
	srv_start(&s, "mtserver", "--echo", "-q", "--idle-timeout", "0",
		  "--send-timeout", "1", "--no-udp", (const char *)NULL);
	hog = srv_connect(&s);
	(void)send_until_stalled(hog, 500);
	assert_true(ms_until_log(&s, "#1 disconnect reason=send-timeout",
				 15000) >= 0);
	close(hog);
	srv_stop(&s);
	/* The replies it never took are counted, not silently lost. */
	assert_int_equal(h_count_in_file(s.log, "#1 disconnect "
						"reason=send-timeout "
						"messages="),
			 1);
	assert_int_equal(h_count_in_file(s.log, " unsent=0\n"), 0);
}

/* Finding 1: SIGTERM ends the server promptly while a client blocks its
 * replies: a short bounded flush, then the rest is dropped and counted
 * (disconnect line and summary); what it sent is still all logged. */
static void test_stop_with_nonreader(void **state)
{
	struct srv s = {0};
	long long start;
	int hog;

	(void)state;
	srv_start(&s, "mtserver", "--echo", "--no-udp", (const char *)NULL);
	hog = srv_connect(&s);
	(void)send_until_stalled(hog, 1000);
	start = h_now_ms();
	assert_int_equal(h_stop(&s.p, SIGTERM, 8000), 0);
	/* The stop flush is bounded well under the 8 s above. */
	assert_true(h_now_ms() - start < 8000);
	assert_int_equal(h_count_in_file(s.log, "#1 disconnect "
						"reason=shutdown"),
			 1);
	assert_int_equal(h_count_in_file(s.log, " unsent=0\n"), 0);
	assert_int_equal(h_count_in_file(s.p.err_path, "bytes of replies "
						       "dropped"),
			 1);
	close(hog);
}

/* Finding 2: a client trickling bytes of a line it never ends does not
 * keep its session: the line's age counts, not the bytes' arrival. A
 * client sending whole lines as slowly stays. */
static void test_slowloris_trickle(void **state)
{
	struct srv s = {0};
	long long start;
	int slow, fair;

	(void)state;
	srv_start(&s, "mtserver", "--idle-timeout", "2", "--no-udp",
		  (const char *)NULL);
	slow = srv_connect(&s);
	srv_send(slow, "x");
	srv_wait_log(&s, "#1 connect", 1);
	fair = srv_connect(&s);
	srv_wait_log(&s, "#2 connect", 1);
	start = h_now_ms();
	/* 6 s of a byte every 300 ms (slow) and a line every 600 ms
	 * (fair): three times the idle timeout. */
	for (int i = 0; i < 20; i++) {
		if (send(slow, "x", 1, MSG_NOSIGNAL) != 1)
			break;
		if (i % 2 == 0)
			srv_send(fair, "ok\n");
		h_sleep_ms(300);
		if (h_count_in_file(s.log, "#1 disconnect") > 0 &&
		    h_now_ms() - start > 2500)
			break;
	}
	srv_wait_log(&s, "#1 disconnect reason=line-timeout", 1);
	assert_int_equal(h_count_in_file(s.log, "#2 disconnect"), 0);
	close(slow);
	close(fair);
	srv_stop(&s);
	/* The partial line is reported as discarded, never logged. */
	assert_int_equal(h_count_in_file(s.log, " msg x"), 0);
}

/* Finding 2: a session whose only input is an old partial line ends
 * with its own reason, not "idle-timeout". */
static void test_partial_line_timeout(void **state)
{
	struct srv s = {0};
	int fd;

	(void)state;
	srv_start(&s, "mtserver", "--idle-timeout", "1", "--no-udp",
		  (const char *)NULL);
	fd = srv_connect(&s);
	srv_send(fd, "done\nhalf");
	srv_wait_log(&s, "#1 disconnect reason=line-timeout messages=1 ", 1);
	assert_int_equal(h_count_in_file(s.log, "discarded=4 "), 1);
	close(fd);
	srv_stop(&s);
}

/* Finding 2: --max-per-ip caps one address's connections with a
 * refusal line and log reason of its own; other addresses are served,
 * and the address is served again once one of its clients leaves. */
static void test_max_per_ip(void **state)
{
	char line[128];
	struct srv s = {0};
	int a, b, c, d, other;

	(void)state;
	srv_start(&s, "mtserver", "--max-per-ip", "2", "--no-udp",
		  (const char *)NULL);
	a = h_connect_from("127.0.0.1", s.p.port, SOCK_STREAM);
	b = h_connect_from("127.0.0.1", s.p.port, SOCK_STREAM);
	srv_send(a, "from a\n");
	srv_send(b, "from b\n");
	srv_wait_log(&s, " msg from b\n", 1);
	srv_wait_log(&s, " msg from a\n", 1);
	c = h_connect_from("127.0.0.1", s.p.port, SOCK_STREAM);
	assert_true(c >= 0);
	assert_true(h_read_line(c, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "too many connections from your address");
	assert_int_equal(h_wait_eof(c, 10000), 0);
	close(c);
	srv_wait_log(&s, " #3 refused reason=per-ip-limit", 1);
	other = h_connect_from("127.0.0.2", s.p.port, SOCK_STREAM);
	assert_true(other >= 0);
	srv_send(other, "from elsewhere\n");
	srv_wait_log(&s, " msg from elsewhere\n", 1);
	close(a);
	srv_wait_log(&s, "reason=client-closed", 1);
	d = h_connect_from("127.0.0.1", s.p.port, SOCK_STREAM);
	srv_send(d, "from d\n");
	srv_wait_log(&s, " msg from d\n", 1);
	close(b);
	close(d);
	close(other);
	srv_stop(&s);
}

/* Finding 7: a right-to-left override or a zero-width space sent over
 * TCP reaches the log escaped; Chinese stays as it is. */
static void test_format_characters_escaped_in_log(void **state)
{
	struct srv s = {0};
	int fd;

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	fd = srv_connect(&s);
	srv_send(fd, "invoice\xe2\x80\xae"
		     "fdp.exe\n"
		     "pay\xe2\x80\x8bpal \xe4\xbd\xa0\xe5\xa5\xbd\n");
	close(fd);
	srv_wait_log(&s, "reason=client-closed messages=2 ", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg invoice\\xe2\\x80\\xae"
						"fdp.exe\n"),
			 1);
	assert_int_equal(h_count_in_file(s.log, " msg pay\\xe2\\x80\\x8bpal "
						"\xe4\xbd\xa0\xe5\xa5\xbd\n"),
			 1);
	assert_int_equal(h_count_in_file(s.log, "\xe2\x80"), 0);
}

/* The new limits' bad values get one line and exit status 2. */
static void test_limit_options_checked(void **state)
{
	static const char *const bad[][3] = {
		{"--send-timeout", "-1", "invalid --send-timeout '-1'"},
		{"--max-per-ip", "x", "invalid --max-per-ip 'x'"},
		{"--udp-echo-rate", "1e3", "invalid --udp-echo-rate '1e3'"},
		{"--max-memory", "4Q", "invalid --max-memory '4Q'"},
		{"--max-memory", "2000G", "invalid --max-memory '2000G'"},
		{"--max-memory", "M", "invalid --max-memory 'M'"},
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonreader_idle_timeout),
		cmocka_unit_test(test_nonreader_send_timeout),
		cmocka_unit_test(test_stop_with_nonreader),
		cmocka_unit_test(test_slowloris_trickle),
		cmocka_unit_test(test_partial_line_timeout),
		cmocka_unit_test(test_max_per_ip),
		cmocka_unit_test(test_format_characters_escaped_in_log),
		cmocka_unit_test(test_limit_options_checked),
	};

	return cmocka_run_group_tests_name("hostile", tests, NULL,
					   srv_teardown);
}
