/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hdrlog.c - HdrHistogram's V2 encoding and interval log, in and
 * out: round trips of random histograms, histograms written by another
 * implementation (hdr-histogram-js), corrupt input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "hdrlog.h"

static struct hist *new_hist(void)
{
	struct hist *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Encoded and decoded, every bucket keeps its count: nothing moves. */
static void test_round_trip(void **state)
{
	struct hist *a = new_hist(), *b = new_hist();
	char *text = malloc(HDRLOG_B64_MAX);
	uint64_t rnd = 42, v;
	unsigned i;
	long n;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 50000; i++) {
		v = next_random(&rnd) % (1ull << (next_random(&rnd) % 27));
		hist_record(a, v);
	}
	n = hdrlog_encode(a, text, HDRLOG_B64_MAX);
	assert_true(n > 0);
	assert_int_equal(strlen(text), (size_t)n);
	assert_memory_equal(text, "HISTFAAA", 8); /* the compressed cookie */
	assert_int_equal(hdrlog_decode(text, (size_t)n, b), 0);
	assert_memory_equal(a->counts, b->counts, sizeof(a->counts));
	assert_int_equal(hist_count(b), hist_count(a));
	assert_int_equal(hist_percentile(b, 99), hist_percentile(a, 99));
	/* An empty histogram too. */
	hist_init(a);
	hist_init(b);
	n = hdrlog_encode(a, text, HDRLOG_B64_MAX);
	assert_true(n > 0);
	assert_int_equal(hdrlog_decode(text, (size_t)n, b), 0);
	assert_int_equal(hist_count(b), 0);
	assert_int_equal(hdrlog_encode(a, text, 8), -1); /* too small */
	free(text);
	free(a);
	free(b);
}

/* Written by hdr-histogram-js 3.0.1 (another implementation of the
 * format): 3 digits, highest 10^8, values 1, 2, 2, 1000, 2049, 100000,
 * 5000000; and 2 digits, highest 3.6e9, values 7, 300, 300, 123456. */
static void test_foreign_histograms(void **state)
{
	static const char js3[] = "HISTFAAAADJ4nJNpmSzMwMDAz8DAwMjAwMDMAAEgNgP"
				  "r14cMcD4Ty0l+prUCTBsjmC5GMQEAkYsHDg==";
	static const char js2[] = "HISTFAAAACt4nJNpmSzMwMDAwcDAwMjAwMDEAAEgNsO"
				  "1yUsYYHxeptksLJsFmQBq4ATZ";
	struct hist *h = new_hist();

	(void)state;
	assert_int_equal(hdrlog_decode(js3, strlen(js3), h), 0);
	assert_int_equal(hist_count(h), 7);
	assert_int_equal(h->counts[hist_index_of(2)], 2);
	assert_int_equal(h->counts[hist_index_of(1000)], 1);
	assert_int_equal(h->counts[hist_index_of(2049)], 1);
	assert_int_equal(h->counts[hist_index_of(5000000)], 1);
	assert_int_equal(hist_percentile(h, 50), 1000);
	assert_int_equal(hist_min(h), 1);
	assert_int_equal(hist_max(h), hist_index_high(hist_index_of(5000000)));
	hist_init(h);
	/* Another layout: added at each bucket's lowest value. */
	assert_int_equal(hdrlog_decode(js2, strlen(js2), h), 0);
	assert_int_equal(hist_count(h), 4);
	assert_int_equal(h->counts[hist_index_of(7)], 1);
	assert_int_equal(h->counts[hist_index_of(300)], 2);
	assert_int_equal(hist_percentile(h, 50), 300);
	assert_true(hist_max(h) >= 122880 && hist_max(h) <= 123456);
	free(h);
}

static void test_corrupt(void **state)
{
	static const char *const bad[] = {
		"",
		"HISTFAAA",				/* cut */
		"!!!!",					/* not base64 */
		"HISTFAAAADJ4nJNpmSzMwMDAz8DAwMjAwMDM", /* cut stream */
		"AAAAAAAAAAAAAAAA",			/* no cookie */
	};
	struct hist *h = new_hist();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hdrlog_decode(bad[i], strlen(bad[i]), h), -1);
	assert_int_equal(hist_count(h), 0);
	free(h);
}

/* A log written and read back: every interval, comments and the legend
 * skipped; a broken line names its file and line. */
static void test_log_file(void **state)
{
	const char *path = h_path("t.hlog");
	struct hist *a = new_hist(), *b = new_hist(), *all = new_hist();
	struct hdrlog_writer w;
	char err[256], *text;

	(void)state;
	hist_record(a, 100);
	hist_record(a, 200);
	hist_record(b, 3000);
	assert_int_equal(
		hdrlog_open(&w, path, 1764000000.5, "test", err, sizeof(err)),
		0);
	assert_int_equal(hdrlog_interval(&w, 0.0, 1.0, a), 0);
	assert_int_equal(hdrlog_interval(&w, 1.0, 1.0, b), 0);
	assert_int_equal(hdrlog_close(&w), 0);
	text = h_slurp(path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "#[Histogram log format version 1.3]\n"
				     "#[StartTime: 1764000000.500 (seconds "
				     "since epoch), "));
	assert_non_null(strstr(text, "\n\"StartTimestamp\",\"Interval_Length\","
				     "\"Interval_Max\",\"Interval_Compressed_"
				     "Histogram\"\n0.000,1.000,0.200,HISTF"));
	assert_non_null(strstr(text, "\n1.000,1.000,3.000,HISTF"));
	free(text);
	assert_int_equal(hdrlog_read(path, all, err, sizeof(err)), 2);
	assert_int_equal(hist_count(all), 3);
	assert_int_equal(hist_percentile(all, 100), 3001);

	assert_int_equal(h_write_file(path, "#c\n0.0,1.0,1.0,HISTFAAAA\n"), 0);
	assert_int_equal(hdrlog_read(path, all, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.hlog:2: not an HdrHistogram"));
	assert_int_equal(
		hdrlog_read(h_path("none.hlog"), all, err, sizeof(err)), -1);
	free(a);
	free(b);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_foreign_histograms),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_log_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
