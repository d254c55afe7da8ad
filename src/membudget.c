/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * membudget.c - one budget for all session buffers; contract in
 * membudget.h.
 */
#include "membudget.h"

#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* The default's cap: 1 GiB holds the worst case of some 4,700 clients
 * all sending at once at the default --max-line (about 220 KiB each
 * with --echo), more than a thread-per-connection server should ever
 * have busy. */
#define MEMBUDGET_DEFAULT_MAX (1024 * (size_t)1024 * 1024)

void membudget_init(struct membudget *b, size_t limit)
{
#if defined(__GLIBC__)
	/* Every session buffer (64 KiB and up) its own mapping, returned
	 * to the kernel when it is freed; and a fixed threshold, which
	 * glibc would otherwise raise after the first such free, sending
	 * later buffers to arenas that keep them. */
	(void)mallopt(M_MMAP_THRESHOLD, MEMBUDGET_MMAP_THRESHOLD);
#endif
	b->limit = limit;
	atomic_init(&b->used, 0);
	atomic_init(&b->peak, 0);
	atomic_init(&b->high, 0);
	atomic_flag_clear(&b->trimming);
}

static void raise_to(atomic_size_t *v, size_t now)
{
	size_t old = atomic_load_explicit(v, memory_order_relaxed);

	while (now > old && !atomic_compare_exchange_weak_explicit(
				    v, &old, now, memory_order_relaxed,
				    memory_order_relaxed))
		;
}

int membudget_charge(struct membudget *b, size_t n)
{
	size_t old = atomic_load_explicit(&b->used, memory_order_relaxed);

	do {
		if (b->limit > 0 && (n > b->limit || old > b->limit - n))
			return -1;
	} while (!atomic_compare_exchange_weak_explicit(&b->used, &old, old + n,
							memory_order_relaxed,
							memory_order_relaxed));
	raise_to(&b->peak, old + n);
	raise_to(&b->high, old + n);
	return 0;
}

void membudget_release(struct membudget *b, size_t n)
{
	size_t now =
		atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed) -
		n;
	size_t high = atomic_load_explicit(&b->high, memory_order_relaxed);

	/* Far below the recent high: a crowd has left (and when the last
	 * session is gone, whatever is left of it). */
	if (now > high / 2 || high - now < (now == 0 ? MEMBUDGET_TRIM_MIN / 8
						     : MEMBUDGET_TRIM_MIN))
		return;
	if (atomic_flag_test_and_set(&b->trimming))
		return;
	atomic_store_explicit(&b->high, now, memory_order_relaxed);
#if defined(__GLIBC__)
	(void)malloc_trim(0);
#endif
	atomic_flag_clear(&b->trimming);
}

bool membudget_fits(const struct membudget *b, size_t n)
{
	size_t used = atomic_load_explicit(&b->used, memory_order_relaxed);

	return b->limit == 0 || (n <= b->limit && used <= b->limit - n);
}

size_t membudget_used(const struct membudget *b)
{
	return atomic_load_explicit(&b->used, memory_order_relaxed);
}

size_t membudget_peak(const struct membudget *b)
{
	return atomic_load_explicit(&b->peak, memory_order_relaxed);
}

size_t membudget_default(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long page = sysconf(_SC_PAGESIZE);
	size_t quarter;

	if (pages <= 0 || page <= 0)
		return MEMBUDGET_DEFAULT_MAX;
	quarter = (size_t)pages / 4 * (size_t)page;
	return quarter < MEMBUDGET_DEFAULT_MAX ? quarter
					       : MEMBUDGET_DEFAULT_MAX;
}
