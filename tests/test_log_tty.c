/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_log_tty.c - the logger writes at once to a terminal and batches
 * everything else (log.h).  Linked with its own build of log.c whose
 * flush timer is a minute long (Makefile), so only the terminal rule can
 * make a line appear within these tests' waits.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Reads from fd until want has been seen or timeout_ms passes without
 * data; returns whether it was seen. */
static int read_until(int fd, const char *want, int timeout_ms)
{
	char got[4096];
	size_t len = 0;

	while (len < sizeof(got) - 1) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		n = read(fd, got + len, sizeof(got) - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		got[len] = '\0';
		if (strstr(got, want) != NULL)
			return 1;
	}
	return 0;
}

static void test_terminal_gets_each_line_at_once(void **state)
{
	struct logger *lg;
	int master, slave;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);

	lg = log_open(slave, 4096);
	assert_non_null(lg);
	assert_int_equal(log_append(lg, "first line\n", 11), 0);
	assert_true(read_until(master, "first line", 10000));
	assert_int_equal(log_append(lg, "second line\n", 12), 0);
	assert_true(read_until(master, "second line", 10000));
	assert_int_equal(log_close(lg, NULL), 0);
	close(slave);
	close(master);
}

/* The control: to a pipe (or file) a line waits for the timer or for
 * log_close, so the test above cannot pass by the timer. */
static void test_pipe_gets_lines_in_batches(void **state)
{
	struct logger *lg;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	lg = log_open(p[1], 4096);
	assert_non_null(lg);
	assert_int_equal(log_append(lg, "batched line\n", 13), 0);
	assert_false(read_until(p[0], "batched line", 300));
	assert_int_equal(log_close(lg, NULL), 0);
	assert_true(read_until(p[0], "batched line", 10000));
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminal_gets_each_line_at_once),
		cmocka_unit_test(test_pipe_gets_lines_in_batches),
	};

	return cmocka_run_group_tests_name("log tty", tests, NULL, NULL);
}
