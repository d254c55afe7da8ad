/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * timerheap.h - the event loops' deadlines (evloop.c, uring.c): a binary
 * min-heap of nodes keyed by a CLOCK_MONOTONIC ms, each node embedded in
 * its owner (a session), so filing one allocates nothing but the heap's
 * array as it grows.
 *
 * A node's key is only ever lowered in place: a later deadline leaves
 * it to fire early, and the owner's step then files the right one (an
 * idle timeout moves with every message: no heap work per message).
 *
 * Memory: the heap owns its array (timerheap_free); nodes are the
 * owners'.  Threads: one heap belongs to one loop's thread.
 * Failure: timerheap_file returns -1 when the array cannot grow.
 */
#ifndef TIMERHEAP_H
#define TIMERHEAP_H

#include <stddef.h>

struct timerheap_node {
	size_t at;     /* 1 + its index in the heap; 0: not filed */
	long long key; /* when it is due */
};

struct timerheap {
	struct timerheap_node **nodes;
	size_t len, cap;
};

/* Files n at key, or lowers its key: 0, or -1 (ENOMEM). */
int timerheap_file(struct timerheap *h, struct timerheap_node *n,
		   long long key);
/* Takes n out, if filed. */
void timerheap_remove(struct timerheap *h, struct timerheap_node *n);
/* The earliest node, or NULL. */
static inline struct timerheap_node *timerheap_first(const struct timerheap *h)
{
	return h->len > 0 ? h->nodes[0] : NULL;
}
/* How long a wait may last from now (ms, both CLOCK_MONOTONIC): until
 * the earliest key, 0 when due; -1 when the heap is empty. */
int timerheap_wait_ms(const struct timerheap *h, long long now);
void timerheap_free(struct timerheap *h);

#endif
