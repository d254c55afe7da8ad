/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_stserver.c - the iterative server serves one client at a time:
 * a second client's messages are logged only after the first leaves.
 * (What both servers share is in test_shared.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "servers.h"

/* How long the second client's message must stay unlogged while the
 * first client is served: a concurrent server logs it within
 * milliseconds (test_mtserver.c checks that). */
#define WAIT_MS 500

static void test_second_client_waits_for_first(void **state)
{
	struct srv s = {0};
	char *text, *quit, *b1;
	int a, b;

	(void)state;
	srv_start(&s, "stserver", (const char *)NULL);
	a = srv_connect(&s);
	srv_send(a, "a1\n");
	srv_wait_log(&s, " msg a1\n", 1);
	/* The kernel completes b's connection (backlog); the server does
	 * not look at it yet. */
	b = srv_connect(&s);
	srv_send(b, "b1\n");
	h_sleep_ms(WAIT_MS);
	assert_int_equal(h_count_in_file(s.log, " msg b1\n"), 0);
	assert_int_equal(h_count_in_file(s.log, " #2 connect\n"), 0);
	srv_send(a, "a2\nquit\n");
	srv_wait_log(&s, " msg b1\n", 1);
	close(a);
	close(b);
	srv_wait_log(&s, "disconnect reason=client-closed", 1);
	srv_stop(&s);

	text = h_slurp(s.log, NULL);
	assert_non_null(text);
	quit = strstr(text, " #1 msg quit\n");
	b1 = strstr(text, " #2 msg b1\n");
	assert_non_null(quit);
	assert_non_null(b1);
	assert_true(quit < b1);
	assert_true(strstr(text, " #1 disconnect reason=quit") <
		    strstr(text, " #2 connect\n"));
	free(text);
	assert_int_equal(h_count_in_file(s.p.err_path, "(peak 1 concurrent"),
			 1);
}

static void test_no_udp_in_stserver(void **state)
{
	struct srv s = {0};
	int fd;

	(void)state;
	srv_start(&s, "stserver", (const char *)NULL);
	/* "(tcp)" or "(tcp; IPv6 and IPv4)": TCP alone either way. */
	assert_int_equal(h_count_in_file(s.p.err_path, " (tcp"), 1);
	assert_int_equal(h_count_in_file(s.p.err_path, " (tcp, udp"), 0);
	fd = h_udp("127.0.0.1", s.p.port);
	assert_true(fd >= 0);
	(void)send(fd, "nobody listens\n", 15, 0);
	close(fd);
	fd = srv_connect(&s);
	srv_send(fd, "tcp\n");
	close(fd);
	srv_wait_log(&s, " msg tcp\n", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, "nobody"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_client_waits_for_first),
		cmocka_unit_test(test_no_udp_in_stserver),
	};

	return cmocka_run_group_tests_name("stserver", tests, NULL,
					   srv_teardown);
}
