/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_harness.c - the test harness's own promises that the suites
 * lean on: paths from h_path and h_bin keep their values however many
 * are made (they once came from four rotating static buffers, and a
 * fifth call overwrote the first), and the log reader behind
 * h_count_numbered counts each numbered message line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void test_paths_keep_their_values(void **state)
{
	const char *p[8];
	char want[H_PATH_MAX];

	(void)state;
	p[0] = h_path("a");
	p[1] = h_path("b");
	p[2] = h_path("c");
	p[3] = h_path("d");
	p[4] = h_path("e");
	p[5] = h_bin("mtserver");
	p[6] = h_bin("stserver");
	p[7] = h_bin("flood");
	for (int i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "%s/%c", h_tmpdir(), 'a' + i);
		assert_string_equal(p[i], want);
	}
	assert_non_null(strstr(p[5], "mtserver"));
	assert_non_null(strstr(p[6], "stserver"));
	assert_non_null(strstr(p[7], "flood"));
}

static void test_count_numbered(void **state)
{
	char log[H_PATH_MAX];
	unsigned char counts[2 * 3] = {0};

	(void)state;
	h_path_in(log, sizeof(log), "numbered.log");
	assert_int_equal(
		h_write_file(
			log,
			"2026-11-24T13:49:55.123456Z - - - start x\n"
			"2026-11-24T13:49:55.123456Z tcp 1.2.3.4:5 #1 msg c0 m0\n"
			"2026-11-24T13:49:55.123456Z tcp 1.2.3.4:5 #1 msg c1 m2\n"
			"2026-11-24T13:49:55.123456Z tcp 1.2.3.4:5 #1 msg c1 m2\n"
			"2026-11-24T13:49:55.123456Z udp 1.2.3.4:5 #2 msg hello\n"
			"2026-11-24T13:49:55.123456Z tcp 1.2.3.4:5 #1 msg c2 m0\n"
			"2026-11-24T13:49:55.123456Z tcp 1.2.3.4:5 #1 msg c0 m0 x\n"
			"not a log line msg c0 m1\n"),
		0);
	/* hello, c2 (out of range) and "c0 m0 x" are other lines. */
	assert_int_equal(h_count_numbered(log, 2, 3, counts), 3);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 0);
	assert_int_equal(counts[1 * 3 + 2], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_keep_their_values),
		cmocka_unit_test(test_count_numbered),
	};

	return cmocka_run_group_tests_name("harness", tests, NULL, NULL);
}
