/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_ptserver.c - the prethreaded pool serves --threads N clients at
 * once: the next one is accepted and waits in the queue until a thread
 * is free, and a stop still serves what waits there (nothing lost).
 * (What every model shares is in test_shared.c; --threads is parsed in
 * test_cli.c.)
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

/* How long the queued client's message must stay unlogged while both
 * threads are busy: a free thread logs it within milliseconds (the
 * first two clients' messages show that). */
#define WAIT_MS 500

static void test_third_client_waits_for_a_thread(void **state)
{
	struct srv s = {0};
	char *text;
	int a, b, c;

	(void)state;
	srv_start(&s, "ptserver", "--threads", "2", (const char *)NULL);
	assert_int_equal(h_count_in_file(s.p.err_path, "ptserver: listening"),
			 1);
	a = srv_connect(&s);
	srv_send(a, "a1\n");
	b = srv_connect(&s);
	srv_send(b, "b1\n");
	srv_wait_log(&s, " msg a1\n", 1);
	srv_wait_log(&s, " msg b1\n", 1);
	c = srv_connect(&s);
	srv_send(c, "c1\n");
	h_sleep_ms(WAIT_MS);
	assert_int_equal(h_count_in_file(s.log, " msg c1\n"), 0);
	srv_send(a, "quit\n");
	srv_wait_log(&s, " msg c1\n", 1);
	close(a);
	close(b);
	close(c);
	srv_wait_log(&s, " disconnect ", 3);
	srv_stop(&s);

	text = h_slurp(s.log, NULL);
	assert_non_null(text);
	/* c's session started on a's thread, once a had left. */
	assert_true(strstr(text, " #1 disconnect reason=quit") <
		    strstr(text, " #3 connect\n"));
	free(text);
	assert_int_equal(h_count_in_file(s.p.err_path, "(peak 3 concurrent"),
			 1);
}

/* A stop while a client waits in the queue: a thread takes it, drains
 * it, and its message is in the log. */
static void test_stop_serves_the_queue(void **state)
{
	struct srv s = {0};
	int a, b;

	(void)state;
	srv_start(&s, "ptserver", "--threads", "1", (const char *)NULL);
	a = srv_connect(&s);
	srv_send(a, "a1\n");
	srv_wait_log(&s, " msg a1\n", 1);
	b = srv_connect(&s);
	srv_send(b, "queued\n");
	h_sleep_ms(WAIT_MS);
	assert_int_equal(h_count_in_file(s.log, " msg queued\n"), 0);
	srv_stop(&s);
	close(a);
	close(b);
	assert_int_equal(h_count_in_file(s.log, " msg queued\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " disconnect "), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_third_client_waits_for_a_thread),
		cmocka_unit_test(test_stop_serves_the_queue),
	};

	return cmocka_run_group_tests_name("ptserver", tests, NULL,
					   srv_teardown);
}
