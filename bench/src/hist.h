/*
 * hist.h - fixed-memory latency histogram, HdrHistogram style.
 *
 * Records non-negative integer samples (flood uses microseconds) in
 * log-linear buckets: values below HIST_SUB_COUNT are counted exactly;
 * above that, every power-of-two range [2^k, 2^(k+1)) is split into
 * HIST_SUB_COUNT / 2 equal sub-buckets, so a bucket is never wider than
 * 1/128 of the values it holds.  Percentiles are therefore exact to
 * within 0.8% (they report the highest value of the bucket, never less
 * than the true sample), min, max, count and mean are exact.
 * Samples above HIST_MAX (100 s in microseconds) are clamped to it.
 *
 * Memory: a struct hist is self-contained (about 21 KiB, no pointers);
 * the caller owns it and may put it anywhere.  No function allocates.
 *
 * Threads: a histogram is not synchronised.  The intended use is one
 * histogram per thread, merged with hist_merge() after the threads have
 * been joined.  Nothing here fails, so there is no error convention.
 */
#ifndef FLOOD_HIST_H
#define FLOOD_HIST_H

#include <stdint.h>

/* 256 exact values then 128 sub-buckets per power of two: 1/128 is the
 * worst-case relative bucket width, the "~1% precision" we promise. */
#define HIST_SUB_BITS  8
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_SUB_HALF  (HIST_SUB_COUNT / 2)

/* 100 seconds in microseconds: no latency flood measures is longer than
 * its own --max-time ceiling, which is far below this. */
#define HIST_MAX 100000000ull

/* 100e6 < 2^27: groups for msb 8..26, i.e. 19 groups above the exact
 * range.  hist.c checks this arithmetic with a static assertion. */
#define HIST_GROUPS  19
#define HIST_BUCKETS (HIST_SUB_COUNT + HIST_GROUPS * HIST_SUB_HALF)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total; /* number of samples */
	uint64_t min;	/* exact, after clamping; UINT64_MAX when empty */
	uint64_t max;	/* exact, after clamping; 0 when empty */
	uint64_t sum;	/* for the mean; 2^64 us is 584,000 years */
};

/* Empties h. */
void hist_init(struct hist *h);

/* Adds one sample (clamped to HIST_MAX). */
void hist_record(struct hist *h, uint64_t value);

/* Adds every sample of src to dst; src is unchanged. */
void hist_merge(struct hist *dst, const struct hist *src);

/* The smallest recorded value v (to bucket precision) such that at least
 * p percent of the samples are <= v; p in [0, 100].  0 for an empty
 * histogram.  The result never exceeds hist_max(). */
uint64_t hist_percentile(const struct hist *h, double p);

uint64_t hist_count(const struct hist *h);
/* 0 for an empty histogram. */
uint64_t hist_min(const struct hist *h);
uint64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);

#endif
