/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * seats.c - the clients being served; the contract is in seats.h.
 */
#include "seats.h"

#include <string.h>

int seats_init(struct seats *s, long max, long max_per_ip, bool exempt_loopback)
{
	s->max = max;
	atomic_init(&s->active, 0);
	atomic_init(&s->peak, 0);
	return iplimit_init(&s->per_ip, max_per_ip, exempt_loopback);
}

enum seats_verdict seats_take(struct seats *s, const struct sockaddr *peer,
			      struct seat *seat)
{
	enum seats_verdict verdict;
	long now, peak;

	memset(seat, 0, sizeof(*seat));
	/* Reserved by compare-and-swap: several accepting threads (the
	 * event loops of rpserver) cannot race past max. */
	now = atomic_load_explicit(&s->active, memory_order_relaxed);
	do {
		if (now >= s->max)
			return SEATS_FULL;
	} while (!atomic_compare_exchange_weak_explicit(
		&s->active, &now, now + 1, memory_order_relaxed,
		memory_order_relaxed));
	now++;
	if (peer != NULL) {
		verdict = seats_take_address(s, peer, seat);
		if (verdict != SEATS_TAKEN) {
			atomic_fetch_sub_explicit(&s->active, 1,
						  memory_order_relaxed);
			return verdict;
		}
	}
	seat->taken = true;
	peak = atomic_load_explicit(&s->peak, memory_order_relaxed);
	while (now > peak && !atomic_compare_exchange_weak_explicit(
				     &s->peak, &peak, now, memory_order_relaxed,
				     memory_order_relaxed))
		;
	return SEATS_TAKEN;
}

enum seats_verdict seats_take_address(struct seats *s,
				      const struct sockaddr *peer,
				      struct seat *seat)
{
	switch (iplimit_take(&s->per_ip, peer, &seat->ip_key,
			     &seat->ip_counted)) {
	case 0:
		return SEATS_IP_FULL;
	case -1:
		return SEATS_NO_MEMORY;
	}
	return SEATS_TAKEN;
}

void seats_give(struct seats *s, struct seat *seat)
{
	if (!seat->taken)
		return;
	if (seat->ip_counted)
		iplimit_give(&s->per_ip, &seat->ip_key);
	atomic_fetch_sub_explicit(&s->active, 1, memory_order_relaxed);
	seat->taken = false;
	seat->ip_counted = false;
}

long seats_peak(const struct seats *s)
{
	return atomic_load_explicit(&s->peak, memory_order_relaxed);
}

long seats_active(const struct seats *s)
{
	return atomic_load_explicit(&s->active, memory_order_relaxed);
}

void seats_free(struct seats *s)
{
	iplimit_free(&s->per_ip);
}
