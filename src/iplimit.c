/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * iplimit.c - connections per source address; contract in iplimit.h.
 */
#include "iplimit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int iplimit_init(struct iplimit *l, long max, bool exempt_loopback)
{
	int err;

	memset(l, 0, sizeof(*l));
	l->max = max;
	l->exempt_loopback = exempt_loopback;
	if (max == 0)
		return 0;
	l->buckets = calloc(IPLIMIT_BUCKETS, sizeof(*l->buckets));
	if (l->buckets == NULL)
		return -1;
	err = pthread_mutex_init(&l->lock, NULL);
	if (err != 0) {
		free(l->buckets);
		l->buckets = NULL;
		errno = err;
		return -1;
	}
	return 0;
}

bool iplimit_address_key(const struct sockaddr *peer, struct iplimit_key *key)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};

	memset(key, 0, sizeof(*key));
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)peer;

		memcpy(key->addr, mapped, sizeof(mapped));
		memcpy(key->addr + 12, &in->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)peer;

		memcpy(key->addr, &in6->sin6_addr, 16);
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
	}
	/* IPv4 (or IPv4-mapped) 127.0.0.0/8. */
	return memcmp(key->addr, mapped, sizeof(mapped)) == 0 &&
	       key->addr[12] == 127;
}

/* FNV-1a over the 16 bytes. */
static struct iplimit_list *bucket(struct iplimit *l,
				   const struct iplimit_key *key)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(key->addr); i++)
		h = (h ^ key->addr[i]) * 16777619u;
	return &l->buckets[h % IPLIMIT_BUCKETS];
}

static struct iplimit_entry *find(struct iplimit_list *list,
				  const struct iplimit_key *key)
{
	struct iplimit_entry *e;

	LIST_FOREACH(e, list, link)
	if (memcmp(&e->key, key, sizeof(*key)) == 0)
		return e;
	return NULL;
}

int iplimit_take(struct iplimit *l, const struct sockaddr *peer,
		 struct iplimit_key *key, bool *counted)
{
	struct iplimit_list *list;
	struct iplimit_entry *e;
	bool loopback = iplimit_address_key(peer, key);
	int rc = 1;

	*counted = false;
	if (l->max == 0 || (loopback && l->exempt_loopback))
		return 1;
	list = bucket(l, key);
	pthread_mutex_lock(&l->lock);
	e = find(list, key);
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL) {
			rc = -1;
			goto out;
		}
		e->key = *key;
		LIST_INSERT_HEAD(list, e, link);
	}
	if (e->count >= l->max) {
		rc = 0;
		goto out;
	}
	e->count++;
	*counted = true;
out:
	pthread_mutex_unlock(&l->lock);
	if (rc == -1)
		errno = ENOMEM;
	return rc;
}

void iplimit_give(struct iplimit *l, const struct iplimit_key *key)
{
	struct iplimit_entry *e;

	pthread_mutex_lock(&l->lock);
	e = find(bucket(l, key), key);
	if (e != NULL && --e->count <= 0) {
		LIST_REMOVE(e, link);
		free(e);
	}
	pthread_mutex_unlock(&l->lock);
}

void iplimit_free(struct iplimit *l)
{
	if (l->buckets == NULL)
		return;
	for (size_t i = 0; i < IPLIMIT_BUCKETS; i++) {
		struct iplimit_entry *e;

		while ((e = LIST_FIRST(&l->buckets[i])) != NULL) {
			LIST_REMOVE(e, link);
			free(e);
		}
	}
	free(l->buckets);
	l->buckets = NULL;
	pthread_mutex_destroy(&l->lock);
}
