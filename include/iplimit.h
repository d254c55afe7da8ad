/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * iplimit.h - how many TCP connections each source address holds, so
 * that one address cannot take every client slot (--max-per-ip).
 *
 * The accepting thread takes a slot for a new client's address
 * (iplimit_take) and refuses the client when that address is at the
 * limit; the client's session gives the slot back when it ends
 * (iplimit_give), on whatever thread it ran.  IPv4 addresses, IPv4-
 * mapped IPv6 addresses and IPv6 addresses are all counted as the
 * 16 bytes of their IPv6 form, so a dual-stack listener counts one host
 * once.  Loopback addresses may be exempted: local users are trusted
 * and the benchmarks open thousands of connections from 127.0.0.1.
 *
 * Memory: one small entry per address with connections, freed when its
 * count drops to zero; iplimit_free frees the table.
 * Threads: all functions are thread-safe (one mutex, held for a hash
 * look-up only), except init and free.
 * Failure: -1 with errno (ENOMEM).
 */
#ifndef IPLIMIT_H
#define IPLIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <sys/socket.h>

/* Buckets of the table: a few thousand distinct addresses stay at one
 * or two entries per bucket; more only make chains longer. */
#define IPLIMIT_BUCKETS 4096

/* An address as counted: its 16-byte IPv6 form. */
struct iplimit_key {
	unsigned char addr[16];
};

struct iplimit_entry {
	LIST_ENTRY(iplimit_entry) link;
	struct iplimit_key key;
	long count;
};

LIST_HEAD(iplimit_list, iplimit_entry);

struct iplimit {
	long max;	      /* connections per address; 0: no limit */
	bool exempt_loopback; /* loopback addresses are not counted */
	/* lock guards every bucket's list and its entries' counts. */
	pthread_mutex_t lock;
	struct iplimit_list *buckets; /* IPLIMIT_BUCKETS lists */
};

/* Stores peer's address in its 16-byte IPv6 form in *key; returns
 * whether it is a loopback address.  Pure; any thread. */
bool iplimit_address_key(const struct sockaddr *peer, struct iplimit_key *key);

/* A table allowing max connections per address (0: no limit, nothing
 * is counted).  0, or -1 with errno. */
int iplimit_init(struct iplimit *l, long max, bool exempt_loopback);

/*
 * Takes a slot for peer.  Returns 1 when the client may be served (and
 * stores in *key what to give back, with *counted saying whether a slot
 * was taken at all), 0 when its address is at the limit, -1 with errno
 * (ENOMEM).
 */
int iplimit_take(struct iplimit *l, const struct sockaddr *peer,
		 struct iplimit_key *key, bool *counted);

/* Gives back the slot taken for key. */
void iplimit_give(struct iplimit *l, const struct iplimit_key *key);

/* Frees the table (every slot given back or not). */
void iplimit_free(struct iplimit *l);

#endif
