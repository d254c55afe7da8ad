/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * membudget.h - one budget for the buffers of every session (--max-memory),
 * so that a crowd of clients cannot make the server hold more than the
 * operator allowed, whatever each of them sends.
 *
 * A session charges the capacity of its buffers (framing, log batch,
 * echo outbox, and the kernel send buffer its socket may fill,
 * NET_SNDBUF_CHARGE: what it could fill) before allocating them, and releases
 * the charge after freeing them.  A charge that would pass the limit is
 * refused: the session then turns its client away ("server busy"), and
 * the accepting thread refuses new clients while not even one more
 * session would fit.  Charges are capacities, not bytes in use, so the
 * check costs two atomic operations per session, never one per message.
 *
 * Giving memory back: membudget_init sets glibc's mmap threshold to
 * MEMBUDGET_MMAP_THRESHOLD, so each session buffer is a mapping of its
 * own that free() returns to the kernel at once (glibc would otherwise
 * keep them in its arenas, and raise the threshold after the first
 * free); and when the charged total falls far below its recent peak (a
 * crowd has left), the releasing thread calls malloc_trim(0) once for
 * whatever smaller memory the crowd left in the arenas.
 *
 * Threads: every function is thread-safe (C11 atomics); init first.
 * Memory: none of its own.
 */
#ifndef MEMBUDGET_H
#define MEMBUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Trim only after at least this much was released since the peak: a
 * malloc_trim walks every arena, so it must stay rare. */
#define MEMBUDGET_TRIM_MIN (8 * (size_t)1024 * 1024)
/* Allocations this big and up are mappings of their own: the smallest
 * session buffer (framing: max-line + 64 KiB) is one. */
#define MEMBUDGET_MMAP_THRESHOLD (64 * 1024)

struct membudget {
	size_t limit;	      /* bytes; 0: no limit */
	atomic_size_t used;   /* bytes charged now */
	atomic_size_t peak;   /* most charged at once, ever */
	atomic_size_t high;   /* most charged since the last trim */
	atomic_flag trimming; /* one trim at a time */
};

/* Sets the limit (0: none) and glibc's mmap threshold (see above): call
 * once, from main's thread, before sessions run. */
void membudget_init(struct membudget *b, size_t limit);

/* Charges n bytes.  0, or -1 (nothing charged) when that would pass
 * the limit. */
int membudget_charge(struct membudget *b, size_t n);

/* Releases n bytes charged before; may trim the heap (see above). */
void membudget_release(struct membudget *b, size_t n);

/* Whether n more bytes would fit now. */
bool membudget_fits(const struct membudget *b, size_t n);

size_t membudget_used(const struct membudget *b);
size_t membudget_peak(const struct membudget *b);

/* The default --max-memory: a quarter of physical memory, at most
 * 1 GiB (see cli.h). */
size_t membudget_default(void);

#endif
