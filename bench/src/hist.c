/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hist.c - see hist.h.
 *
 * HdrHistogram's layout with unit magnitude 0 and a sub-bucket count of
 * 2048 (half: 1024).  For value v, with b = the bucket index
 * (0 for v < 2048, else the position of v's highest bit minus 10):
 *   sub   = v >> b                    (1024..2047, or 0..2047 when b = 0)
 *   index = (b + 1) * 1024 + sub - 1024
 * and back: value = sub << b.  HdrHistogram's own code computes b as
 * 53 - clz(v | 2047); the same thing.
 */
#include "hist.h"

#include <math.h>
#include <string.h>

/* HdrHistogram's count: the smallest n with 2048 << (n - 1) > HIST_MAX. */
_Static_assert(((uint64_t)HIST_SUB_COUNT << (HIST_BUCKET_COUNT - 2)) <=
			       HIST_MAX &&
		       ((uint64_t)HIST_SUB_COUNT << (HIST_BUCKET_COUNT - 1)) >
			       HIST_MAX,
	       "HIST_BUCKET_COUNT is HdrHistogram's bucket count for HIST_MAX");

static unsigned bucket_of(uint64_t v)
{
	/* 63 - clz(v | 2047) is the highest set bit, at least 10. */
	return (unsigned)(63 - __builtin_clzll(v | (HIST_SUB_COUNT - 1))) -
	       HIST_SUB_HALF_BITS;
}

unsigned hist_index_of(uint64_t v)
{
	unsigned b = bucket_of(v);
	unsigned sub = (unsigned)(v >> b);

	return ((b + 1) << HIST_SUB_HALF_BITS) + sub - HIST_SUB_HALF;
}

uint64_t hist_index_low(unsigned index)
{
	int b = (int)(index >> HIST_SUB_HALF_BITS) - 1;
	unsigned sub = (index & (HIST_SUB_HALF - 1)) + HIST_SUB_HALF;

	if (b < 0) {
		sub -= HIST_SUB_HALF;
		b = 0;
	}
	return (uint64_t)sub << b;
}

uint64_t hist_index_high(unsigned index)
{
	uint64_t low = hist_index_low(index);

	return low + (1ull << bucket_of(low)) - 1;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist_record_n(struct hist *h, uint64_t value, uint64_t n)
{
	if (n == 0)
		return;
	if (value > HIST_MAX)
		value = HIST_MAX;
	h->counts[hist_index_of(value)] += n;
	if (h->total == 0 || value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
	h->total += n;
	h->sum += value * n;
}

void hist_add_bucket(struct hist *h, unsigned index, uint64_t n)
{
	uint64_t low = hist_index_low(index), high = hist_index_high(index);

	if (n == 0 || index >= HIST_BUCKETS)
		return;
	h->counts[index] += n;
	if (h->total == 0 || low < h->min)
		h->min = low;
	if (high > h->max)
		h->max = high;
	h->total += n;
	h->sum += (low + ((high - low + 1) >> 1)) * n;
}

void hist_record(struct hist *h, uint64_t value)
{
	hist_record_n(h, value, 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i;

	if (src->total == 0)
		return;
	for (i = 0; i < HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	if (dst->total == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->total += src->total;
	dst->sum += src->sum;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (h->total == 0)
		return 0;
	if (p <= 0)
		return h->min;
	if (p > 100)
		p = 100;
	/* HdrHistogram's rank: one ulp below p, so that 99.9% of 1000
	 * samples is the 999th and not, by rounding, the 1000th. */
	rank = (uint64_t)ceil(nextafter(p, 0) / 100.0 * (double)h->total);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = hist_index_high(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max; /* not reached: the counts sum to total */
}

uint64_t hist_count(const struct hist *h)
{
	return h->total;
}

uint64_t hist_min(const struct hist *h)
{
	return h->total == 0 ? 0 : h->min;
}

uint64_t hist_max(const struct hist *h)
{
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->total == 0 ? 0.0 : (double)h->sum / (double)h->total;
}
