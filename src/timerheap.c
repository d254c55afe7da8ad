/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * timerheap.c - the event loops' deadlines; the contract is in
 * timerheap.h.
 */
#include "timerheap.h"

#include <stdint.h>
#include <stdlib.h>

static void set(struct timerheap *h, size_t i, struct timerheap_node *n)
{
	h->nodes[i] = n;
	n->at = i + 1;
}

static void up(struct timerheap *h, size_t i)
{
	struct timerheap_node *n = h->nodes[i];

	while (i > 0 && h->nodes[(i - 1) / 2]->key > n->key) {
		set(h, i, h->nodes[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	set(h, i, n);
}

static void down(struct timerheap *h, size_t i)
{
	struct timerheap_node *n = h->nodes[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->len)
			break;
		if (c + 1 < h->len && h->nodes[c + 1]->key < h->nodes[c]->key)
			c++;
		if (h->nodes[c]->key >= n->key)
			break;
		set(h, i, h->nodes[c]);
		i = c;
	}
	set(h, i, n);
}

void timerheap_remove(struct timerheap *h, struct timerheap_node *n)
{
	size_t i = n->at - 1;
	struct timerheap_node *last;

	if (n->at == 0)
		return;
	n->at = 0;
	last = h->nodes[--h->len];
	if (last == n)
		return;
	set(h, i, last);
	up(h, i);
	down(h, last->at - 1);
}

int timerheap_file(struct timerheap *h, struct timerheap_node *n, long long key)
{
	if (n->at != 0) {
		if (key < n->key) {
			n->key = key;
			up(h, n->at - 1);
		}
		return 0;
	}
	if (h->len == h->cap) {
		size_t cap = h->cap > 0 ? 2 * h->cap : 64;
		struct timerheap_node **a = realloc(
			h->nodes, cap * sizeof(struct timerheap_node *));

		if (a == NULL)
			return -1;
		h->nodes = a;
		h->cap = cap;
	}
	n->key = key;
	set(h, h->len++, n);
	up(h, h->len - 1);
	return 0;
}

int timerheap_wait_ms(const struct timerheap *h, long long now)
{
	long long left;

	if (h->len == 0)
		return -1;
	left = h->nodes[0]->key - now;
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

void timerheap_free(struct timerheap *h)
{
	free(h->nodes);
	h->nodes = NULL;
	h->len = h->cap = 0;
}
