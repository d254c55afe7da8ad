/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hist.c - the latency histogram against a brute-force sort.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"

/* 100,000 samples: enough for p99.9 to mean something (100 above it). */
#define NSAMPLES ((size_t)100000)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A deterministic generator so that failures reproduce: xorshift64. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Log-uniform-ish over 1 .. 2^26: every bucket group gets samples. */
static uint64_t random_latency(uint64_t *state)
{
	unsigned bits = (unsigned)(next_random(state) % 27);

	return 1 + next_random(state) % (1ull << bits);
}

/* The histogram's answer must be the true percentile or above it by at
 * most one bucket width (1/1024 of the value: 3 significant digits). */
static void assert_close(uint64_t got, uint64_t want)
{
	if (got < want || got > want + want / 1024)
		fail_msg("percentile %llu, true value %llu",
			 (unsigned long long)got, (unsigned long long)want);
}

/* sorted[ceil(p * n / 100) - 1]: the textbook nearest-rank percentile. */
static uint64_t sorted_percentile(const uint64_t *s, size_t n, double p)
{
	uint64_t rank = (uint64_t)ceil(p * (double)n / 100.0);

	if (rank < 1)
		rank = 1;
	return s[rank - 1];
}

static struct hist *new_hist(void)
{
	struct hist *h = malloc(sizeof(*h));

	assert_non_null(h);
	hist_init(h);
	return h;
}

static const double percentiles[] = {0.1, 1, 10, 50, 90, 99, 99.9, 99.99, 100};
#define NPERCENTILES (sizeof(percentiles) / sizeof(percentiles[0]))

static void check_against(const struct hist *h, uint64_t *samples, size_t n)
{
	size_t i;

	qsort(samples, n, sizeof(*samples), cmp_u64);
	for (i = 0; i < NPERCENTILES; i++)
		assert_close(hist_percentile(h, percentiles[i]),
			     sorted_percentile(samples, n, percentiles[i]));
	assert_int_equal(hist_min(h), samples[0]);
	assert_int_equal(hist_max(h), samples[n - 1]);
	assert_int_equal(hist_count(h), n);
}

static void test_percentiles_match_sort(void **state)
{
	uint64_t *samples = malloc(NSAMPLES * sizeof(*samples));
	struct hist *h = new_hist();
	uint64_t rnd = 88172645463325252ull, sum = 0;
	size_t i;

	(void)state;
	assert_non_null(samples);
	for (i = 0; i < NSAMPLES; i++) {
		samples[i] = random_latency(&rnd);
		sum += samples[i];
		hist_record(h, samples[i]);
	}
	check_against(h, samples, NSAMPLES);
	assert_true(fabs(hist_mean(h) - (double)sum / NSAMPLES) < 1e-6 * sum);
	free(samples);
	free(h);
}

/* Small values are exact: below 2048 every value has its own bucket. */
static void test_small_values_exact(void **state)
{
	struct hist *h = new_hist();
	uint64_t v;

	(void)state;
	for (v = 0; v < 2048; v++)
		hist_record(h, v);
	assert_int_equal(hist_percentile(h, 50), 1023);
	assert_int_equal(hist_percentile(h, 100), 2047);
	assert_int_equal(hist_min(h), 0);
	free(h);
}

static void test_merge(void **state)
{
	uint64_t *samples = malloc(2 * NSAMPLES * sizeof(*samples));
	struct hist *a = new_hist(), *b = new_hist(), *empty = new_hist();
	uint64_t rnd = 1234567ull;
	size_t i;

	(void)state;
	assert_non_null(samples);
	for (i = 0; i < 2 * NSAMPLES; i++) {
		samples[i] = random_latency(&rnd);
		hist_record(i % 3 == 0 ? a : b, samples[i]);
	}
	hist_merge(a, b);
	hist_merge(a, empty); /* must change nothing, min included */
	check_against(a, samples, 2 * NSAMPLES);
	free(samples);
	free(a);
	free(b);
	free(empty);
}

static void test_empty(void **state)
{
	struct hist *h = new_hist(), *e = new_hist();

	(void)state;
	assert_int_equal(hist_count(h), 0);
	assert_int_equal(hist_percentile(h, 50), 0);
	assert_int_equal(hist_percentile(h, 100), 0);
	assert_int_equal(hist_min(h), 0);
	assert_int_equal(hist_max(h), 0);
	assert_true(hist_mean(h) == 0.0);
	hist_merge(h, e);
	assert_int_equal(hist_count(h), 0);
	assert_int_equal(hist_min(h), 0);
	free(h);
	free(e);
}

static void test_huge_values_clamp(void **state)
{
	struct hist *h = new_hist();

	(void)state;
	hist_record(h, UINT64_MAX);
	hist_record(h, HIST_MAX + 1);
	hist_record(h, 5);
	assert_int_equal(hist_max(h), HIST_MAX);
	assert_int_equal(hist_percentile(h, 100), HIST_MAX);
	assert_int_equal(hist_percentile(h, 99), HIST_MAX);
	assert_int_equal(hist_percentile(h, 1), 5);
	assert_int_equal(hist_min(h), 5);
	free(h);
}

/* One sample: every percentile is that sample, to bucket precision. */
static void test_single_sample(void **state)
{
	struct hist *h = new_hist();

	(void)state;
	hist_record(h, 1000000);
	assert_int_equal(hist_percentile(h, 0), 1000000);
	assert_int_equal(hist_percentile(h, 50), 1000000);
	assert_int_equal(hist_percentile(h, 100), 1000000);
	free(h);
}

/*
 * The layout is HdrHistogram's for (1, 10^8, 3 digits), whose facts are
 * public: 2048 sub-buckets, 17 buckets, (17 + 1) * 1024 = 18432 counts;
 * countsIndex(v) = ((b + 1) << 10) + (v >> b) - 1024 with
 * b = 53 - clz(v | 2047); a bucket at index i spans
 * [lowestEquivalentValue, highestEquivalentValue].
 */
static void test_hdr_layout(void **state)
{
	static const struct {
		uint64_t value;
		unsigned index;
		uint64_t low, high;
	} known[] = {
		{0, 0, 0, 0},
		{1, 1, 1, 1},
		{2047, 2047, 2047, 2047},
		{2048, 2048, 2048, 2049},
		{2049, 2048, 2048, 2049},
		{4095, 3071, 4094, 4095},
		{4096, 3072, 4096, 4099},
		{1000000, 11169, 999936, 1000447},
		{100000000, 17909, 99942400, 100007935},
	};
	size_t i;
	unsigned idx;
	uint64_t v;

	(void)state;
	assert_int_equal(HIST_BUCKETS, 18432);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_int_equal(hist_index_of(known[i].value), known[i].index);
		assert_int_equal(hist_index_low(known[i].index), known[i].low);
		assert_int_equal(hist_index_high(known[i].index),
				 known[i].high);
	}
	/* Every index maps back to itself, and buckets tile the range. */
	for (idx = 0; idx <= hist_index_of(HIST_MAX); idx++) {
		v = hist_index_low(idx);
		assert_int_equal(hist_index_of(v), idx);
		assert_int_equal(hist_index_of(hist_index_high(idx)), idx);
		if (idx > 0)
			assert_int_equal(hist_index_high(idx - 1) + 1, v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_match_sort),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_huge_values_clamp),
		cmocka_unit_test(test_single_sample),
		cmocka_unit_test(test_hdr_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
