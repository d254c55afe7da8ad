/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxyproto.c - the PROXY protocol; the contract is in proxyproto.h.
 */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>

#include "monotime.h"

/* Version 2's twelve-byte signature (it holds a NUL: never a string). */
static const unsigned char v2_signature[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_signature[] = "PROXY ";

/* What a header may still be once its first len bytes are known. */
static bool is_prefix(const unsigned char *buf, size_t len,
		      const void *signature, size_t sig_len)
{
	return memcmp(buf, signature, len < sig_len ? len : sig_len) == 0;
}

static enum pp_status fail(struct pp_header *h, const char *why)
{
	h->error = why;
	return PP_ERROR;
}

/* ---- version 1: "PROXY TCP4 SRC DST SPORT DPORT\r\n" ---- */

/* A port: decimal, 0-65535, no heading zero. */
static int v1_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 5 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An address of family into *ss (its port set later).  inet_pton reads
 * IPv4 strictly (four decimal numbers, no heading zero) and IPv6 in
 * every form the spec allows. */
static int v1_addr(int family, const char *s, size_t len,
		   struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(text) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		return inet_pton(AF_INET, text,
				 &((struct sockaddr_in *)ss)->sin_addr) == 1
			       ? 0
			       : -1;
	return inet_pton(AF_INET6, text,
			 &((struct sockaddr_in6 *)ss)->sin6_addr) == 1
		       ? 0
		       : -1;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* The four fields after "PROXY TCP4 " in line[0..len) (CRLF excluded),
 * each separated by exactly one space. */
static enum pp_status v1_fields(const char *line, size_t len, int family,
				struct pp_header *h)
{
	const char *field[4];
	size_t flen[4], n = 0, start = 0;
	uint16_t sport, dport;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (n == 4)
			return fail(h, "v1: too many fields");
		field[n] = line + start;
		flen[n++] = i - start;
		start = i + 1;
	}
	if (n != 4)
		return fail(h, "v1: too few fields");
	if (v1_addr(family, field[0], flen[0], &h->src) == -1 ||
	    v1_addr(family, field[1], flen[1], &h->dst) == -1)
		return fail(h, "v1: bad address");
	if (v1_port(field[2], flen[2], &sport) == -1 ||
	    v1_port(field[3], flen[3], &dport) == -1)
		return fail(h, "v1: bad port");
	set_port(&h->src, sport);
	set_port(&h->dst, dport);
	h->command = PP_PROXY;
	return PP_DONE;
}

static enum pp_status parse_v1(const char *buf, size_t len, struct pp_header *h)
{
	size_t sig = sizeof(v1_signature) - 1;
	const char *cr = memchr(buf, '\r', len);
	const char *rest = buf + sig;
	size_t line_len, rest_len;

	h->version = 1;
	if (cr == NULL || cr == buf + len - 1) {
		/* No CRLF yet: every byte is the line's, if it fits. */
		if (memchr(buf, '\n', len) != NULL)
			return fail(h, "v1: LF without CR");
		return len < PP_V1_MAX ? PP_NEED_MORE
				       : fail(h, "v1: no CRLF in 107 bytes");
	}
	line_len = (size_t)(cr - buf);
	if (cr[1] != '\n')
		return fail(h, "v1: CR without LF");
	if (memchr(buf, '\n', line_len) != NULL)
		return fail(h, "v1: LF without CR");
	if (line_len + 2 > PP_V1_MAX)
		return fail(h, "v1: no CRLF in 107 bytes");
	h->length = line_len + 2;
	rest_len = line_len - sig;
	if (rest_len >= 7 && memcmp(rest, "UNKNOWN", 7) == 0) {
		/* Whatever follows UNKNOWN is ignored, as the spec says. */
		h->command = PP_LOCAL;
		return PP_DONE;
	}
	if (rest_len >= 5 && memcmp(rest, "TCP4 ", 5) == 0)
		return v1_fields(rest + 5, rest_len - 5, AF_INET, h);
	if (rest_len >= 5 && memcmp(rest, "TCP6 ", 5) == 0)
		return v1_fields(rest + 5, rest_len - 5, AF_INET6, h);
	return fail(h, "v1: unknown protocol");
}

/* ---- version 2: 16 bytes, then the address block and TLVs ---- */

/* Bytes of the address block for family (high nibble of byte 14). */
static size_t v2_address_bytes(unsigned family)
{
	switch (family) {
	case 1:
		return 12; /* two IPv4 addresses, two ports */
	case 2:
		return 36; /* two IPv6 addresses, two ports */
	case 3:
		return 216; /* two AF_UNIX paths */
	default:
		return 0;
	}
}

static void v2_inet(const unsigned char *a, struct pp_header *h)
{
	struct sockaddr_in *src = (struct sockaddr_in *)&h->src;
	struct sockaddr_in *dst = (struct sockaddr_in *)&h->dst;

	src->sin_family = dst->sin_family = AF_INET;
	memcpy(&src->sin_addr, a, 4);
	memcpy(&dst->sin_addr, a + 4, 4);
	memcpy(&src->sin_port, a + 8, 2);
	memcpy(&dst->sin_port, a + 10, 2);
}

static void v2_inet6(const unsigned char *a, struct pp_header *h)
{
	struct sockaddr_in6 *src = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6 *dst = (struct sockaddr_in6 *)&h->dst;

	src->sin6_family = dst->sin6_family = AF_INET6;
	memcpy(&src->sin6_addr, a, 16);
	memcpy(&dst->sin6_addr, a + 16, 16);
	memcpy(&src->sin6_port, a + 32, 2);
	memcpy(&dst->sin6_port, a + 34, 2);
}

static enum pp_status parse_v2(const unsigned char *buf, size_t len,
			       struct pp_header *h)
{
	unsigned command, family, transport;
	size_t addr_len, need;

	h->version = 2;
	if (len < PP_V2_FIXED)
		return PP_NEED_MORE;
	if (buf[12] >> 4 != 2)
		return fail(h, "v2: version not 2");
	command = buf[12] & 0x0F;
	family = buf[13] >> 4;
	transport = buf[13] & 0x0F;
	if (command > 1)
		return fail(h, "v2: unknown command");
	if (family > 3 || transport > 2)
		return fail(h, "v2: unknown family or transport");
	addr_len = (size_t)buf[14] << 8 | buf[15];
	h->length = PP_V2_FIXED + addr_len;
	if (command == 0) {
		/* LOCAL: the address block, whatever it is, is skipped. */
		h->command = PP_LOCAL;
		return PP_DONE;
	}
	need = v2_address_bytes(family);
	if (family == 0 || transport == 0 || family == 3) {
		/* Nothing this server can use: the socket's addresses
		 * stand, as the spec allows. */
		h->command = PP_UNSPEC;
		return addr_len >= need
			       ? PP_DONE
			       : fail(h, "v2: address block too short");
	}
	if (addr_len < need)
		return fail(h, "v2: address block too short");
	if (len < PP_V2_FIXED + need)
		return PP_NEED_MORE;
	memset(&h->src, 0, sizeof(h->src));
	memset(&h->dst, 0, sizeof(h->dst));
	if (family == 1)
		v2_inet(buf + PP_V2_FIXED, h);
	else
		v2_inet6(buf + PP_V2_FIXED, h);
	h->command = PP_PROXY;
	return PP_DONE;
}

enum pp_status pp_parse(const void *buf, size_t len, struct pp_header *h)
{
	const unsigned char *b = buf;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PP_NEED_MORE;
	if (is_prefix(b, len, v2_signature, sizeof(v2_signature)))
		return len < sizeof(v2_signature) ? PP_NEED_MORE
						  : parse_v2(b, len, h);
	if (is_prefix(b, len, v1_signature, sizeof(v1_signature) - 1))
		return len < sizeof(v1_signature) - 1
			       ? PP_NEED_MORE
			       : parse_v1(buf,
					  len < PP_V1_MAX ? len : PP_V1_MAX, h);
	h->no_signature = true;
	return fail(h, "no PROXY header");
}

/* ---- reading the header off a socket ---- */

/* Waits until fd is readable, or the deadline (which the server's stop
 * may bring nearer).  0 when readable, -1 with h->error otherwise. */
static int wait_readable(int fd, int stop_fd, long long *deadline,
			 const atomic_llong *stop_deadline, struct pp_header *h)
{
	struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
				{.fd = stop_fd, .events = POLLIN}};

	for (;;) {
		long long left = *deadline - monotime_ms();
		int r;

		if (left <= 0) {
			h->error = "timeout";
			return -1;
		}
		r = poll(pfd, 2, (int)left);
		if (r == -1 && errno != EINTR) {
			h->error = "poll failed";
			return -1;
		}
		if (r > 0 && pfd[1].revents != 0) {
			long long at = stop_deadline != NULL
					       ? atomic_load(stop_deadline)
					       : 0;

			if (at < *deadline)
				*deadline = at;
			pfd[1].fd = -1; /* the stop is seen: poll it no more */
		}
		if (r > 0 && pfd[0].revents != 0)
			return 0;
	}
}

/* Reads exactly len bytes into buf (NULL: drops them), each recv after
 * a wait.  0, or -1 with h->error. */
static int take(int fd, int stop_fd, long long *deadline,
		const atomic_llong *stop_deadline, unsigned char *buf,
		size_t len, struct pp_header *h)
{
	unsigned char scrap[256] = {0}; /* TLVs land here, unread */

	while (len > 0) {
		size_t want = len;
		ssize_t n;

		if (buf == NULL && want > sizeof(scrap))
			want = sizeof(scrap);
		n = recv(fd, buf != NULL ? buf : scrap, want, MSG_DONTWAIT);
		if (n == 0) {
			h->error = "closed in the header";
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				h->error = "receive failed";
				return -1;
			}
			if (wait_readable(fd, stop_fd, deadline, stop_deadline,
					  h) == -1)
				return -1;
			continue;
		}
		if (buf != NULL)
			buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void pp_reader_init(struct pp_reader *r)
{
	memset(r, 0, sizeof(*r));
}

/* pp_feed's dropping of a version 2 header's TLVs. */
static enum pp_status feed_skip(struct pp_reader *r, int fd)
{
	unsigned char scrap[256]; /* TLVs land here, unread */

	while (r->skip > 0) {
		size_t want = r->skip < sizeof(scrap) ? r->skip : sizeof(scrap);
		ssize_t n = recv(fd, scrap, want, MSG_DONTWAIT);

		if (n == 0)
			return fail(&r->h, "closed in the header");
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK
				       ? PP_NEED_MORE
				       : fail(&r->h, "receive failed");
		r->skip -= (size_t)n;
	}
	return PP_DONE;
}

enum pp_status pp_feed(struct pp_reader *r, int fd)
{
	struct pp_header scratch; /* pp_parse's answer stays in r->h */
	long long no_wait = 0;	  /* the bytes were peeked: they are there */
	enum pp_status st;
	size_t upto;
	ssize_t n;

	while (!r->done) {
		if (r->have == sizeof(r->buf)) /* cannot be: see pp_read */
			return fail(&r->h, "header too long");
		/* Peeked, not read: what follows the header stays queued. */
		n = recv(fd, r->buf + r->have, sizeof(r->buf) - r->have,
			 MSG_PEEK | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return PP_NEED_MORE;
		if (n <= 0) {
			r->h.empty = r->have == 0;
			return fail(&r->h, r->have == 0
						   ? "closed before a header"
					   : n == 0 ? "closed in the header"
						    : "receive failed");
		}
		st = pp_parse(r->buf, r->have + (size_t)n, &r->h);
		if (st == PP_ERROR)
			return PP_ERROR;
		/* As pp_read: what is header is read for good; no more. */
		upto = r->have + (size_t)n;
		if (st == PP_DONE && r->h.length < upto)
			upto = r->h.length;
		if (take(fd, -1, &no_wait, NULL, r->buf + r->have,
			 upto - r->have, &scratch) == -1)
			return fail(&r->h, scratch.error);
		r->have = upto;
		if (st == PP_DONE) {
			r->done = true;
			r->skip = r->h.length - r->have;
		}
	}
	return feed_skip(r, fd);
}

enum pp_status pp_read(int fd, int stop_fd, long long deadline_ms,
		       const atomic_llong *stop_deadline_ms,
		       struct pp_header *h)
{
	struct pp_reader r;
	enum pp_status st;

	pp_reader_init(&r);
	while ((st = pp_feed(&r, fd)) == PP_NEED_MORE)
		if (wait_readable(fd, stop_fd, &deadline_ms, stop_deadline_ms,
				  &r.h) == -1) {
			st = PP_ERROR;
			break;
		}
	*h = r.h;
	return st;
}

/* ---- trusted networks ---- */

int pp_net_parse(const char *text, struct pp_net *net)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned max, bits = 0;

	memset(net, 0, sizeof(*net));
	if (len == 0 || len >= sizeof(addr))
		goto invalid;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, net->addr) == 1)
		net->family = AF_INET6;
	else
		goto invalid;
	max = net->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		const char *d = slash + 1;

		if (*d == '\0' || strlen(d) > 3 ||
		    (d[0] == '0' && d[1] != '\0'))
			goto invalid;
		for (bits = 0; *d != '\0'; d++) {
			if (*d < '0' || *d > '9')
				goto invalid;
			bits = bits * 10 + (unsigned)(*d - '0');
		}
		if (bits > max)
			goto invalid;
	}
	net->prefix = bits;
	/* Host bits set: a typo, not a network. */
	for (unsigned i = bits; i < max; i++)
		if (net->addr[i / 8] & (0x80 >> (i % 8)))
			goto invalid;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

/* Whether the first bits of a and b are the same. */
static bool same_prefix(const unsigned char *a, const unsigned char *b,
			unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 ||
	       ((a[whole] ^ b[whole]) & (unsigned char)(0xFF00 >> rest)) == 0;
}

bool pp_net_match(const struct pp_net *nets, size_t n,
		  const struct sockaddr *peer)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,	   0,
						 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *v4 = NULL, *v6 = NULL;

	if (peer->sa_family == AF_INET) {
		v4 = (const unsigned char *)&((const struct sockaddr_in *)peer)
			     ->sin_addr;
	} else if (peer->sa_family == AF_INET6) {
		v6 = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
		if (memcmp(v6, mapped, sizeof(mapped)) == 0)
			v4 = v6 + 12;
	}
	for (size_t i = 0; i < n; i++) {
		if (nets[i].family == AF_INET && v4 != NULL &&
		    same_prefix(nets[i].addr, v4, nets[i].prefix))
			return true;
		if (nets[i].family == AF_INET6 && v6 != NULL &&
		    same_prefix(nets[i].addr, v6, nets[i].prefix))
			return true;
	}
	return false;
}
