/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hist.h - fixed-memory latency histogram: an HdrHistogram.
 *
 * The bucket layout is HdrHistogram's for lowest discernible value 1,
 * highest trackable value HIST_MAX and HIST_SIG_DIGITS (3) significant
 * digits: values below 2048 are counted exactly; above that, every
 * power-of-two range [2^k, 2^(k+1)) is split into 1024 equal
 * sub-buckets, so a bucket is never wider than 1/1024 of the values it
 * holds.  Because the layout is the standard one, a histogram can be
 * written to an HdrHistogram log (hdrlog.h) and read by HdrHistogram's
 * own libraries, and a log read back lands in the same buckets: nothing
 * is ever re-binned.
 *
 * Percentiles follow HdrHistogram's getValueAtPercentile() (the highest
 * value of the bucket holding the ceil(p% x count)-th sample), except
 * that they never exceed the exact max, so "p100" is the max.  min, max,
 * count and mean are exact for recorded samples.  Samples above
 * HIST_MAX (100 s in microseconds) are clamped to it.
 *
 * Memory: a struct hist is self-contained (about 144 KiB, no pointers);
 * all-zero bytes are an empty histogram (so calloc() gives one without
 * touching its pages).  The caller owns it; no function allocates.
 *
 * Threads: a histogram is not synchronised.  The intended use is one
 * histogram per thread, merged with hist_merge() after the threads have
 * been joined.  Nothing here fails, so there is no error convention.
 */
#ifndef FLOOD_HIST_H
#define FLOOD_HIST_H

#include <stdint.h>

/* 3 significant digits: 2 x 10^3 = 2000 values must be told apart in
 * the exact range, so the sub-bucket count is 2^11 = 2048. */
#define HIST_SIG_DIGITS	   3
#define HIST_SUB_BITS	   11
#define HIST_SUB_COUNT	   (1u << HIST_SUB_BITS)
#define HIST_SUB_HALF_BITS (HIST_SUB_BITS - 1)
#define HIST_SUB_HALF	   (HIST_SUB_COUNT / 2)

/* 100 seconds in microseconds: no latency flood measures is longer than
 * its own --max-time ceiling, which is far below this. */
#define HIST_MAX 100000000ull

/* HdrHistogram's bucket count for HIST_MAX: 2048 << 16 > 10^8 >= 2048 << 15, so
 * 17 buckets, and (17 + 1) * 1024 counts.  hist.c checks the arithmetic. */
#define HIST_BUCKET_COUNT 17
#define HIST_BUCKETS	  ((HIST_BUCKET_COUNT + 1) * HIST_SUB_HALF)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total; /* number of samples */
	uint64_t min;	/* exact, after clamping; meaningless when empty */
	uint64_t max;	/* exact, after clamping; 0 when empty */
	uint64_t sum;	/* for the mean; 2^64 us is 584,000 years */
};

/* Empties h. */
void hist_init(struct hist *h);

/* Adds one sample (clamped to HIST_MAX). */
void hist_record(struct hist *h, uint64_t value);

/* Adds n samples of one value (clamped to HIST_MAX). */
void hist_record_n(struct hist *h, uint64_t value, uint64_t n);

/* Adds n samples known only by their bucket (a decoded histogram): the
 * min and max become the bucket's lowest and highest value, the sum
 * grows by its middle value (HdrHistogram's median equivalent). */
void hist_add_bucket(struct hist *h, unsigned index, uint64_t n);

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

/* The layout, for encoders and readers: the counts index of a value,
 * the lowest and highest value of the bucket at an index. */
unsigned hist_index_of(uint64_t value);
uint64_t hist_index_low(unsigned index);
uint64_t hist_index_high(unsigned index);

#endif
