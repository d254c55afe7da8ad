/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fmsg.c - flood's message format and the mtserver log check, on
 * synthetic log text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fmsg.h"
#include "harness.h"

/* ---- generation ---- */

static void check_format(uint32_t client, uint64_t seq, size_t size,
			 const char *want)
{
	char buf[128];

	memset(buf, '?', sizeof(buf));
	assert_int_equal(fmsg_format(buf, size, client, seq), 0);
	assert_memory_equal(buf, want, size);
	assert_int_equal(buf[size], '?'); /* not one byte more */
}

static void test_format_exact(void **state)
{
	(void)state;
	check_format(17, 423, 32, "c17 m423 xxxxxxxxxxxxxxxxxxxxxx\n");
	check_format(0, 0, 32, "c0 m0 xxxxxxxxxxxxxxxxxxxxxxxxx\n");
	check_format(0, 0, 7, "c0 m0 \n");
	check_format(4294967295u, 18446744073709551615ull, 35,
		     "c4294967295 m18446744073709551615 \n");
	check_format(9, 10, 12, "c9 m10 xxxx\n");
}

static void test_format_too_small(void **state)
{
	char buf[64];

	(void)state;
	errno = 0;
	assert_int_equal(fmsg_format(buf, 6, 0, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fmsg_format(buf, 9, 17, 423), -1); /* needs 10 */
	assert_int_equal(fmsg_format(buf, 10, 17, 423), 0);
}

/* --octet-count: "LEN SP" and the message without its '\n', exactly
 * fmsg_octet_size() bytes. */
static void test_format_octet(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(fmsg_octet_size(32), 34);
	assert_int_equal(fmsg_octet_size(7), 8);
	assert_int_equal(fmsg_octet_size(11), 13);
	memset(buf, '?', sizeof(buf));
	assert_int_equal(fmsg_format_octet(buf, 32, 17, 423), 0);
	assert_memory_equal(buf, "31 c17 m423 xxxxxxxxxxxxxxxxxxxxxx", 34);
	assert_int_equal(buf[34], '?');
	memset(buf, '?', sizeof(buf));
	assert_int_equal(fmsg_format_octet(buf, 7, 0, 0), 0);
	assert_memory_equal(buf, "6 c0 m0 ", 8);
	assert_int_equal(buf[8], '?');
	errno = 0;
	assert_int_equal(fmsg_format_octet(buf, 9, 17, 423), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(fmsg_header_len(0, 0), 6);
	assert_int_equal(fmsg_header_len(17, 423), 9);
	assert_int_equal(fmsg_min_size(1, 1), 7);
	/* client 99, seq 999: "c99 m999 \n" */
	assert_int_equal(fmsg_min_size(100, 1000), 10);
	assert_int_equal(fmsg_min_size(101, 1000), 11);
}

static void test_parse(void **state)
{
	uint32_t c;
	uint64_t s;

	(void)state;
	assert_int_equal(fmsg_parse("c17 m423 xxx", 12, &c, &s), 0);
	assert_int_equal(c, 17);
	assert_int_equal(s, 423);
	assert_int_equal(fmsg_parse("c0 m0 ", 6, &c, &s), 0);
	assert_int_equal(fmsg_parse("c17 m423 xxy", 12, &c, &s), -1);
	assert_int_equal(fmsg_parse("c17 m423xxx", 11, &c, &s), -1);
	assert_int_equal(fmsg_parse("c017 m4 x", 9, &c, &s), -1);
	assert_int_equal(fmsg_parse("c17 n4 x", 8, &c, &s), -1);
	assert_int_equal(fmsg_parse("c4294967296 m0 ", 15, &c, &s), -1);
	assert_int_equal(fmsg_parse("", 0, &c, &s), -1);
}

/* ---- the log check ---- */

/* Room for the synthetic logs below (at most a few hundred lines). */
#define LOG_MAX 65536

struct log {
	char text[LOG_MAX];
	size_t len;
};

static void add(struct log *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct log *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, LOG_MAX - l->len, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < LOG_MAX - l->len);
	l->len += (size_t)n;
}

/* A msg line as mtserver writes it, for message (c, s) of size bytes. */
static void add_msg(struct log *l, uint32_t c, uint64_t s, size_t size)
{
	char buf[256];

	assert_int_equal(fmsg_format(buf, size, c, s), 0);
	add(l, "2026-11-24T13:49:55.123456Z tcp 127.0.0.1:53422 #%u msg %.*s\n",
	    c, (int)(size - 1), buf);
}

static void add_noise(struct log *l)
{
	add(l, "2026-11-24T13:49:55.000001Z - mtserver listening on "
	       "127.0.0.1:8888\n");
	add(l, "2026-11-24T13:49:55.000002Z tcp 127.0.0.1:53422 #1 connect\n");
	add(l, "2026-11-24T13:49:55.000003Z tcp [::1]:53423 #2 disconnect "
	       "reason=eof messages=3 bytes=96 duration=0.001\n");
	add(l, "2026-11-24T13:49:55.000004Z udp 127.0.0.1:5000 #3 msg hello "
	       "world\n");
	add(l, "2026-11-24T13:49:55.000005Z tcp 127.0.0.1:53424 #4 refused "
	       "reason=full\n");
	add(l, "garbage without fields\n\n");
}

static struct log *perfect_log(uint32_t n, uint64_t m, size_t size)
{
	struct log *l = calloc(1, sizeof(*l));
	uint64_t s;
	uint32_t c;

	assert_non_null(l);
	add_noise(l);
	/* Interleaved as a threaded server would log them. */
	for (s = 0; s < m; s++)
		for (c = 0; c < n; c++)
			add_msg(l, c, s, size);
	return l;
}

static void run(struct fmsg_verify *v, const struct log *l, uint32_t n,
		uint64_t m, size_t size, int tail)
{
	assert_int_equal(fmsg_verify_init(v, n, m, size, tail), 0);
	fmsg_verify_feed(v, l->text, l->len);
	fmsg_verify_finish(v);
}

static void test_verify_perfect(void **state)
{
	struct log *l = perfect_log(5, 20, 32);
	struct fmsg_verify v;

	(void)state;
	run(&v, l, 5, 20, 32, 0);
	assert_int_equal(v.expected, 100);
	assert_int_equal(v.found, 100);
	assert_int_equal(v.missing, 0);
	assert_int_equal(v.duplicated, 0);
	assert_int_equal(v.corrupted, 0);
	assert_int_equal(v.other_msgs, 1); /* "hello world" */
	assert_true(fmsg_verify_ok(&v));
	fmsg_verify_free(&v);
	free(l);
}

static void test_verify_missing(void **state)
{
	struct log *l = calloc(1, sizeof(*l));
	struct fmsg_verify v;
	uint64_t s;

	(void)state;
	assert_non_null(l);
	for (s = 0; s < 10; s++) {
		if (s != 3 && s != 7)
			add_msg(l, 1, s, 32);
		add_msg(l, 0, s, 32);
	}
	run(&v, l, 2, 10, 32, 0);
	assert_int_equal(v.found, 18);
	assert_int_equal(v.missing, 2);
	assert_false(fmsg_verify_ok(&v));
	assert_int_equal(v.ex_missing.count, 2);
	assert_string_equal(v.ex_missing.text[0], "c1 m3");
	assert_string_equal(v.ex_missing.text[1], "c1 m7");
	fmsg_verify_free(&v);
	free(l);
}

static void test_verify_duplicate(void **state)
{
	struct log *l = perfect_log(3, 4, 32);
	struct fmsg_verify v;

	(void)state;
	add_msg(l, 2, 1, 32);
	run(&v, l, 3, 4, 32, 0);
	assert_int_equal(v.found, 12);
	assert_int_equal(v.duplicated, 1);
	assert_int_equal(v.missing, 0);
	assert_false(fmsg_verify_ok(&v));
	assert_non_null(strstr(v.ex_duplicated.text[0], "c2 m1"));
	fmsg_verify_free(&v);
	free(l);
}

/* Each corruption is a whole line appended to a perfect log. */
static void check_corrupted(const char *line, const char *why)
{
	struct log *l = perfect_log(3, 4, 32);
	struct fmsg_verify v;

	add(l, "%s\n", line);
	run(&v, l, 3, 4, 32, 0);
	assert_int_equal(v.found, 12);
	assert_int_equal(v.corrupted, 1);
	assert_false(fmsg_verify_ok(&v));
	assert_int_equal(v.ex_corrupted.count, 1);
	if (strstr(v.ex_corrupted.text[0], why) == NULL)
		fail_msg("'%s' does not say '%s'", v.ex_corrupted.text[0], why);
	fmsg_verify_free(&v);
	free(l);
}

#define TS "2026-11-24T13:49:55.123456Z tcp 127.0.0.1:1 #9 "

static void test_verify_corrupted(void **state)
{
	(void)state;
	/* bad padding (a 'y'), same length */
	check_corrupted(TS "msg c1 m2 xxxxxxxxxxxxxxxxxxyxxxxxx", "malformed");
	/* right text, one byte short */
	check_corrupted(TS "msg c1 m2 xxxxxxxxxxxxxxxxxxxxxxxx",
			"wrong length");
	/* client out of range (3 clients: c0..c2) */
	check_corrupted(TS "msg c3 m2 xxxxxxxxxxxxxxxxxxxxxxxxx",
			"out of range");
	/* sequence number out of range (4 messages: m0..m3) */
	check_corrupted(TS "msg c1 m4 xxxxxxxxxxxxxxxxxxxxxxxxx",
			"out of range");
	/* an escape in the text */
	check_corrupted(TS "msg c1 m2 xxxxxxxxxxxxxxxxxxxxxxx\\r", "malformed");
	/* the server cut it */
	check_corrupted(TS "msg-truncated len=40000 c1 m2 xxxxxxxxxxxx",
			"truncated");
	/* the log writer was cut mid-line (no newline at the end) */
	check_corrupted(TS "msg c1 m2 xxxxx", "wrong length");
}

static void test_verify_ignores_other_lines(void **state)
{
	struct log *l = calloc(1, sizeof(*l));
	struct fmsg_verify v;

	(void)state;
	assert_non_null(l);
	add_noise(l);
	add(l, TS "msg-truncated len=99999 hello\n");
	add(l, TS "msg cat\n");
	add(l, TS "disconnect reason=eof messages=1 bytes=32 duration=1\n");
	add(l, "2026-11-24T13:49:55.123456Z - c0 m0 summary\n");
	add_msg(l, 0, 0, 32);
	run(&v, l, 1, 1, 32, 0);
	assert_int_equal(v.found, 1);
	assert_int_equal(v.corrupted, 0);
	assert_int_equal(v.other_msgs, 3);
	assert_true(fmsg_verify_ok(&v));
	fmsg_verify_free(&v);
	free(l);
}

static void test_verify_ipv6_and_udp_peers(void **state)
{
	struct log *l = calloc(1, sizeof(*l));
	struct fmsg_verify v;

	(void)state;
	assert_non_null(l);
	add(l, "2026-11-24T13:49:55.1Z udp [::1]:40000 #3 msg c0 m0 xxxx\n");
	add(l, "2026-11-24T13:49:55.1Z tcp [fe80::1]:1 #4 msg c0 m1 xxxx\n");
	run(&v, l, 1, 2, 11, 0);
	assert_int_equal(v.found, 2);
	assert_true(fmsg_verify_ok(&v));
	fmsg_verify_free(&v);
	free(l);
}

static void test_verify_prefix(void **state)
{
	struct log *l = calloc(1, sizeof(*l));
	struct fmsg_verify v;
	uint64_t s;

	(void)state;
	assert_non_null(l);
	for (s = 0; s < 10; s++)
		add_msg(l, 0, s, 32); /* complete */
	for (s = 0; s < 6; s++)
		add_msg(l, 1, s, 32); /* prefix m0..m5 */
	/* client 2: nothing at all is a prefix too */
	run(&v, l, 3, 10, 32, 1);
	assert_true(fmsg_verify_ok(&v));
	assert_int_equal(v.holes, 0);
	assert_int_equal(v.tail_missing, 14);
	assert_int_equal(v.complete, 1);
	assert_int_equal(v.shortest, 0);
	assert_int_equal(v.shortest_client, 2);
	fmsg_verify_free(&v);

	/* The same log without --allow-missing-tail fails. */
	run(&v, l, 3, 10, 32, 0);
	assert_false(fmsg_verify_ok(&v));
	assert_int_equal(v.missing, 14);
	fmsg_verify_free(&v);

	/* A hole: client 1 gets m8 after missing m6, m7. */
	add_msg(l, 1, 8, 32);
	run(&v, l, 3, 10, 32, 1);
	assert_false(fmsg_verify_ok(&v));
	assert_int_equal(v.holes, 2);
	assert_string_equal(v.ex_missing.text[0], "c1 m6");
	assert_string_equal(v.ex_missing.text[1], "c1 m7");
	fmsg_verify_free(&v);
	free(l);
}

/* Bit ranges that cross 64-bit words: 7 clients x 100 messages. */
static void test_verify_prefix_word_boundaries(void **state)
{
	struct log *l = calloc(1, sizeof(*l));
	struct fmsg_verify v;
	uint32_t c;
	uint64_t s;

	(void)state;
	assert_non_null(l);
	for (c = 0; c < 7; c++)
		for (s = 0; s < (uint64_t)13 * c; s++)
			add_msg(l, c, s, 16);
	run(&v, l, 7, 100, 16, 1);
	assert_true(fmsg_verify_ok(&v));
	assert_int_equal(v.found, 13 * 21);
	assert_int_equal(v.holes, 0);
	fmsg_verify_free(&v);
	free(l);
}

/*
 * first_logged_us: per client, from the origin to its m0's timestamp.
 * 2026-11-24T13:49:55Z is 1795528195 s after the epoch (date -u -d
 * 2026-11-24T13:49:55Z +%s).
 */
static void test_first_logged(void **state)
{
	struct log *l = calloc(1, sizeof(*l));
	struct fmsg_verify v;
	const int64_t base = 1795528195LL * 1000000;

	(void)state;
	assert_non_null(l);
	add(l, "2026-11-24T13:49:55.000100Z tcp 127.0.0.1:1 #1 connect\n");
	add(l, "2026-11-24T13:49:55.000300Z tcp 127.0.0.1:1 #1 msg c0 m0 "
	       "xxxxxx\n");
	add(l, "2026-11-24T13:49:56.500100Z tcp 127.0.0.1:2 #2 connect\n");
	add(l, "2026-11-24T13:49:56.500400Z tcp 127.0.0.1:2 #2 msg c1 m1 "
	       "xxxxxx\n");
	add(l, "2026-11-24T13:49:56.500500Z tcp 127.0.0.1:2 #2 msg c1 m0 "
	       "xxxxxx\n");
	/* c2's m0 is not logged: no sample. */
	add(l, "2026-11-24T13:49:57.000000Z tcp 127.0.0.1:3 #3 msg c2 m1 "
	       "xxxxxx\n");
	/* From the first connect line. */
	run(&v, l, 3, 2, 13, 1);
	assert_int_equal(hist_count(v.first_logged_us), 2);
	assert_int_equal(hist_min(v.first_logged_us), 200);
	assert_int_equal(hist_max(v.first_logged_us), 1500400);
	fmsg_verify_free(&v);
	/* From the run's start, when given. */
	assert_int_equal(fmsg_verify_init(&v, 3, 2, 13, 1), 0);
	v.start_us = base;
	fmsg_verify_feed(&v, l->text, l->len);
	fmsg_verify_finish(&v);
	assert_int_equal(hist_min(v.first_logged_us), 300);
	assert_int_equal(hist_max(v.first_logged_us), 1500500);
	fmsg_verify_free(&v);
	free(l);
}

static void test_verify_init_errors(void **state)
{
	struct fmsg_verify v;

	(void)state;
	assert_int_equal(fmsg_verify_init(&v, 0, 10, 32, 0), -1);
	assert_int_equal(fmsg_verify_init(&v, 10, 0, 32, 0), -1);
	assert_int_equal(fmsg_verify_init(&v, 10, 10, 6, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fmsg_verify_init(&v, 100000, FMSG_BITMAP_MAX, 64, 0),
			 -1);
}

static void test_verify_file(void **state)
{
	struct log *l = perfect_log(4, 50, 24);
	const char *path = h_path("fmsg.log");
	struct fmsg_verify v;
	char err[256];
	FILE *fp;

	(void)state;
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(l->text, 1, l->len, fp), l->len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(fmsg_verify_init(&v, 4, 50, 24, 0), 0);
	assert_int_equal(fmsg_verify_file(&v, path, err, sizeof(err)), 0);
	assert_true(fmsg_verify_ok(&v));
	assert_int_equal(v.found, 200);
	fmsg_verify_free(&v);

	assert_int_equal(fmsg_verify_init(&v, 4, 50, 24, 0), 0);
	assert_int_equal(
		fmsg_verify_file(&v, h_path("nonexistent"), err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "nonexistent"));
	fmsg_verify_free(&v);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_format_too_small),
		cmocka_unit_test(test_format_octet),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_verify_perfect),
		cmocka_unit_test(test_verify_missing),
		cmocka_unit_test(test_verify_duplicate),
		cmocka_unit_test(test_verify_corrupted),
		cmocka_unit_test(test_verify_ignores_other_lines),
		cmocka_unit_test(test_verify_ipv6_and_udp_peers),
		cmocka_unit_test(test_verify_prefix),
		cmocka_unit_test(test_verify_prefix_word_boundaries),
		cmocka_unit_test(test_verify_init_errors),
		cmocka_unit_test(test_first_logged),
		cmocka_unit_test(test_verify_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
