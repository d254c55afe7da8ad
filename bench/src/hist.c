/*
 * hist.c - see hist.h.
 *
 * Bucket layout, for value v:
 *   v < 256:  index v (exact).
 *   v >= 256: let k = position of the highest set bit (8..26).  The
 *             value lies in [2^k, 2^(k+1)), which is split into 128
 *             sub-buckets of width 2^(k-7).  index =
 *             256 + (k - 8) * 128 + (v >> (k - 7)) - 128.
 */
#include "hist.h"

#include <math.h>
#include <string.h>

_Static_assert(HIST_MAX < (1ull << (HIST_SUB_BITS + HIST_GROUPS)),
	       "HIST_GROUPS too small for HIST_MAX");

static unsigned highest_bit(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static unsigned bucket_of(uint64_t v)
{
	unsigned k, shift;

	if (v < HIST_SUB_COUNT)
		return (unsigned)v;
	k = highest_bit(v);
	shift = k - (HIST_SUB_BITS - 1);
	return HIST_SUB_COUNT + (k - HIST_SUB_BITS) * HIST_SUB_HALF +
	       (unsigned)(v >> shift) - HIST_SUB_HALF;
}

/* The largest value that falls into bucket b. */
static uint64_t bucket_high(unsigned b)
{
	unsigned group, sub, shift;

	if (b < HIST_SUB_COUNT)
		return b;
	group = (b - HIST_SUB_COUNT) / HIST_SUB_HALF;
	sub = (b - HIST_SUB_COUNT) % HIST_SUB_HALF;
	shift = group + 1;
	return (((uint64_t)(HIST_SUB_HALF + sub + 1)) << shift) - 1;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t value)
{
	if (value > HIST_MAX)
		value = HIST_MAX;
	h->counts[bucket_of(value)]++;
	h->total++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i;

	if (src->total == 0)
		return;
	for (i = 0; i < HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
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
	/* 1-based rank of the sample we want; the same formula as a
	 * sorted array's sorted[ceil(p * n / 100) - 1]. */
	rank = (uint64_t)ceil(p * (double)h->total / 100.0);
	if (rank < 1)
		rank = 1;
	if (rank > h->total)
		rank = h->total;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = bucket_high(i);

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
