/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * seats.h - the TCP clients being served: how many (within
 * --max-clients) and how many from each address (within --max-per-ip).
 *
 * A client the server serves holds a seat.  The accepting thread takes
 * it (seats_take) or learns why there is none; the seat is given back
 * once, when the client is done with (seats_give, on whatever thread
 * its session ran; giving back a seat not taken does nothing).  So the
 * count is opened and closed here and nowhere else.  Its peak feeds the
 * summary.
 *
 * Memory: the per-address table (iplimit.h); seats_free frees it.
 * Threads: every function from any thread (an event-loop model accepts
 * on several).
 * Failure: seats_init returns -1 with errno (ENOMEM).
 */
#ifndef SEATS_H
#define SEATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "iplimit.h"

/* What a served client holds, to give back. */
struct seat {
	bool taken;
	bool ip_counted; /* a slot of its address was taken */
	struct iplimit_key ip_key;
};

struct seats {
	long max;	    /* --max-clients */
	atomic_long active; /* seats taken now */
	atomic_long peak;   /* most at once */
	struct iplimit per_ip;
};

enum seats_verdict {
	SEATS_TAKEN,	 /* serve the client */
	SEATS_FULL,	 /* max clients are served already */
	SEATS_IP_FULL,	 /* its address holds max_per_ip seats already */
	SEATS_NO_MEMORY, /* the per-address table could not grow */
};

/* max seats, max_per_ip per address (0: no limit; loopback exempt when
 * exempt_loopback).  0, or -1 with errno. */
int seats_init(struct seats *s, long max, long max_per_ip,
	       bool exempt_loopback);

/* Takes a seat for a client from peer into *seat, or says why not.
 * peer NULL: the address is not known yet (a PROXY header will say it),
 * and seats_take_address counts it later. */
enum seats_verdict seats_take(struct seats *s, const struct sockaddr *peer,
			      struct seat *seat);

/* Counts the taken seat against peer's address (--max-per-ip), once the
 * real address is known: SEATS_TAKEN, SEATS_IP_FULL or SEATS_NO_MEMORY
 * (the seat itself is kept either way; seats_give gives all back).  Any
 * thread. */
enum seats_verdict seats_take_address(struct seats *s,
				      const struct sockaddr *peer,
				      struct seat *seat);

/* Gives seat back, if it was taken. */
void seats_give(struct seats *s, struct seat *seat);

/* The most seats taken at once. */
long seats_peak(const struct seats *s);

/* Seats taken now (every one is given back once the server stops). */
long seats_active(const struct seats *s);

void seats_free(struct seats *s);

#endif
