/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_proxy.c - the PROXY protocol parser (proxyproto.h) against two
 * references.
 *
 * Input: byte 0 seeds how the rest is cut into reads; the rest is the
 * start of a connection.  The stream is offered to pp_parse as a growing
 * prefix, in those reads and then one byte at a time, as pp_read offers
 * it: the first answer that is not PP_NEED_MORE must be the one-shot
 * answer for the whole stream (status, length, command, addresses), the
 * parser must never need more than PP_PARSE_MAX bytes, and a header must
 * end where the byte-by-byte feed says.  Streams starting "PROXY " also
 * go through a plain reference parser of version 1, written from the
 * spec with an address parser of its own for IPv4.  The first bytes,
 * as a string, go through pp_net_parse, whose networks must survive a
 * round trip through inet_ntop and match their own address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

static bool same_addr(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
	return true;
}

static void same_answer(enum pp_status sa, const struct pp_header *a,
			enum pp_status sb, const struct pp_header *b)
{
	FUZZ_CHECK(sa == sb);
	if (sa == PP_ERROR)
		FUZZ_CHECK(a->no_signature == b->no_signature);
	if (sa != PP_DONE)
		return;
	FUZZ_CHECK(a->version == b->version);
	FUZZ_CHECK(a->command == b->command);
	FUZZ_CHECK(a->length == b->length);
	if (a->command == PP_PROXY) {
		FUZZ_CHECK(same_addr(&a->src, &b->src));
		FUZZ_CHECK(same_addr(&a->dst, &b->dst));
	}
}

/* ---- the version 1 reference ---- */

enum ref_status { REF_MORE, REF_DONE, REF_ERROR };

struct ref_v1 {
	size_t length;
	bool local;
	int family;
	unsigned char src[16], dst[16];
	unsigned sport, dport;
};

/* Four decimal numbers 0-255, no heading zeros, three dots. */
static bool ref_ipv4(const char *s, size_t len, unsigned char out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t digits = 0;

		if (part > 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			if (digits == 1 && v == 0)
				return false; /* heading zero */
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
		out[part] = (unsigned char)v;
	}
	return i == len;
}

static bool ref_ipv6(const char *s, size_t len, unsigned char out[16])
{
	char text[64];

	if (len == 0 || len >= sizeof(text) || memchr(s, 0, len) != NULL)
		return false;
	memcpy(text, s, len);
	text[len] = 0;
	return inet_pton(AF_INET6, text, out) == 1;
}

static bool ref_port(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;

	if (len < 1 || len > 5 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return v <= 65535;
}

/* The fields of "PROXY PROTO A B P Q" in line[0..len), split at every
 * space (so an empty field means two spaces). */
static enum ref_status ref_fields(const char *line, size_t len,
				  struct ref_v1 *r)
{
	const char *tok[6];
	size_t tlen[6], n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (n == 6)
			return REF_ERROR;
		tok[n] = line + start;
		tlen[n++] = i - start;
		start = i + 1;
	}
	/* tok[0] is "PROXY". */
	if (n != 6 || tlen[1] != 4)
		return REF_ERROR;
	if (memcmp(tok[1], "TCP4", 4) == 0) {
		r->family = AF_INET;
		if (!ref_ipv4(tok[2], tlen[2], r->src) ||
		    !ref_ipv4(tok[3], tlen[3], r->dst))
			return REF_ERROR;
	} else if (memcmp(tok[1], "TCP6", 4) == 0) {
		r->family = AF_INET6;
		if (!ref_ipv6(tok[2], tlen[2], r->src) ||
		    !ref_ipv6(tok[3], tlen[3], r->dst))
			return REF_ERROR;
	} else {
		return REF_ERROR;
	}
	if (!ref_port(tok[4], tlen[4], &r->sport) ||
	    !ref_port(tok[5], tlen[5], &r->dport))
		return REF_ERROR;
	return REF_DONE;
}

/* The spec, section 2.1: a line ended by CRLF within 107 bytes, no lone
 * CR or LF before it. */
static enum ref_status ref_parse_v1(const char *s, size_t n, struct ref_v1 *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n && i < PP_V1_MAX; i++) {
		if (s[i] == '\n')
			return REF_ERROR;
		if (s[i] != '\r')
			continue;
		if (i + 1 >= PP_V1_MAX)
			return REF_ERROR;
		if (i + 1 >= n)
			return REF_MORE;
		if (s[i + 1] != '\n')
			return REF_ERROR;
		r->length = i + 2;
		if (i >= 13 && memcmp(s + 6, "UNKNOWN", 7) == 0) {
			r->local = true;
			return REF_DONE;
		}
		return ref_fields(s, i, r);
	}
	return n >= PP_V1_MAX ? REF_ERROR : REF_MORE;
}

static void check_v1(const char *s, size_t n, enum pp_status st,
		     const struct pp_header *h)
{
	struct ref_v1 r;
	enum ref_status rs = ref_parse_v1(s, n, &r);

	FUZZ_CHECK((rs == REF_MORE) == (st == PP_NEED_MORE));
	FUZZ_CHECK((rs == REF_DONE) == (st == PP_DONE));
	if (rs != REF_DONE)
		return;
	FUZZ_CHECK(h->version == 1 && h->length == r.length);
	FUZZ_CHECK((h->command == PP_LOCAL) == r.local);
	if (r.local)
		return;
	FUZZ_CHECK(h->command == PP_PROXY && h->src.ss_family == r.family);
	if (r.family == AF_INET) {
		const struct sockaddr_in *src = (const void *)&h->src;
		const struct sockaddr_in *dst = (const void *)&h->dst;

		FUZZ_CHECK(memcmp(&src->sin_addr, r.src, 4) == 0);
		FUZZ_CHECK(memcmp(&dst->sin_addr, r.dst, 4) == 0);
		FUZZ_CHECK(ntohs(src->sin_port) == r.sport);
		FUZZ_CHECK(ntohs(dst->sin_port) == r.dport);
	} else {
		const struct sockaddr_in6 *src = (const void *)&h->src;
		const struct sockaddr_in6 *dst = (const void *)&h->dst;

		FUZZ_CHECK(memcmp(&src->sin6_addr, r.src, 16) == 0);
		FUZZ_CHECK(memcmp(&dst->sin6_addr, r.dst, 16) == 0);
		FUZZ_CHECK(ntohs(src->sin6_port) == r.sport);
		FUZZ_CHECK(ntohs(dst->sin6_port) == r.dport);
	}
}

/* ---- growing prefixes, as pp_read offers them ---- */

/* Feeds data[0..n) in reads cut by seed, then byte by byte past the
 * first decided prefix, checking the answers against the one-shot. */
static void check_prefixes(const unsigned char *data, size_t n, unsigned seed,
			   enum pp_status one, const struct pp_header *oh)
{
	struct pp_header h;
	enum pp_status st = PP_NEED_MORE;
	size_t have = 0, first = 0;

	while (have < n && st == PP_NEED_MORE) {
		size_t step = 1 + (seed & 31);

		seed = seed * 1103515245u + 12345u;
		have = have + step < n ? have + step : n;
		st = pp_parse(data, have, &h);
		FUZZ_CHECK(st != PP_NEED_MORE || have < PP_PARSE_MAX);
	}
	same_answer(st, &h, one, oh);
	/* Byte by byte: where exactly it was decided. */
	st = PP_NEED_MORE;
	while (first < n && st == PP_NEED_MORE)
		st = pp_parse(data, ++first, &h);
	same_answer(st, &h, one, oh);
	if (st != PP_DONE)
		return;
	if (h.version == 1)
		FUZZ_CHECK(first == h.length); /* at the LF */
	else
		FUZZ_CHECK(first >= PP_V2_FIXED && first <= h.length &&
			   first <= PP_PARSE_MAX);
}

/* ---- trusted networks ---- */

static void check_net(const unsigned char *data, size_t n)
{
	char text[64], again[80], addr[INET6_ADDRSTRLEN];
	struct pp_net net, net2;
	struct sockaddr_storage ss = {0};

	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	if (pp_net_parse(text, &net) == -1)
		return;
	FUZZ_CHECK(net.family == AF_INET || net.family == AF_INET6);
	FUZZ_CHECK(net.prefix <= (net.family == AF_INET ? 32u : 128u));
	FUZZ_CHECK(inet_ntop(net.family, net.addr, addr, sizeof(addr)));
	snprintf(again, sizeof(again), "%s/%u", addr, net.prefix);
	FUZZ_CHECK(pp_net_parse(again, &net2) == 0);
	FUZZ_CHECK(memcmp(&net, &net2, sizeof(net)) == 0);
	ss.ss_family = (sa_family_t)net.family;
	if (net.family == AF_INET)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, net.addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, net.addr, 16);
	FUZZ_CHECK(pp_net_match(&net, 1, (struct sockaddr *)&ss));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_header oh;
	enum pp_status one;

	if (size < 1)
		return 0;
	one = pp_parse(data + 1, size - 1, &oh);
	if (one == PP_DONE)
		FUZZ_CHECK(oh.length >= 15 &&
			   (oh.version == 1 ? oh.length <= PP_V1_MAX
					    : oh.length >= PP_V2_FIXED));
	if (one == PP_ERROR)
		FUZZ_CHECK(oh.error != NULL);
	check_prefixes(data + 1, size - 1, data[0], one, &oh);
	if (size - 1 >= 6 && memcmp(data + 1, "PROXY ", 6) == 0)
		check_v1((const char *)data + 1, size - 1, one, &oh);
	check_net(data + 1, size - 1);
	return 0;
}
