/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxyproto.h - the PROXY protocol, versions 1 and 2 (HAProxy's
 * doc/proxy-protocol.txt): a proxy in front of the server starts each
 * TCP connection with a header that says who the real client is.
 *
 * Three parts, one concern:
 * - pp_parse, a pure parser over (pointer, length): need more bytes,
 *   done (the header's length and what it says), or an error.  It never
 *   reads past what it is given and never asks for a byte past the
 *   header, so whatever follows the header is the client's stream,
 *   untouched.
 * - pp_read, which takes exactly the header off a connected socket
 *   (peeking, then reading no more than the header's bytes), within a
 *   deadline, and waking for the server's stop.
 * - pp_net_parse and pp_net_match: the trusted source networks
 *   (--proxy-from CIDR), IPv4 and IPv6.
 *
 * Memory: nothing is allocated; results are copied into the caller's
 * structures.  Threads: every function is reentrant.
 * Failure: pp_parse and pp_read say why in a short constant string
 * (struct pp_header.error); pp_net_parse returns -1 with errno EINVAL.
 */
#ifndef PROXYPROTO_H
#define PROXYPROTO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The longest version 1 line, CRLF included (the spec's worst case,
 * "PROXY UNKNOWN" with two full IPv6 addresses and ports). */
#define PP_V1_MAX 107
/* The fixed part of a version 2 header: signature, version and
 * command, family and transport, address length. */
#define PP_V2_FIXED 16
/* The bytes of a version 2 header pp_parse reads: the fixed part and
 * the largest address block (two AF_UNIX paths of 108 bytes); TLVs past
 * it are skipped unread.  Also enough for any version 1 line. */
#define PP_PARSE_MAX (PP_V2_FIXED + 216)

/* How long a connection may take to send its whole header: the spec
 * asks for at least 3 s, to cover a TCP retransmission; 5 s covers two
 * on a loaded machine, and a proxy sends its header at once. */
#define PP_HEADER_TIMEOUT_MS 5000

enum pp_status {
	PP_NEED_MORE, /* every byte given is header so far: read more */
	PP_DONE,      /* a valid header (struct pp_header) */
	PP_ERROR,     /* not a valid header (pp_header.error says why) */
};

enum pp_command {
	/* A relayed client: src and dst are the client's connection. */
	PP_PROXY,
	/* The proxy's own connection (a health check): version 2 LOCAL or
	 * version 1 UNKNOWN.  The socket's own addresses stand. */
	PP_LOCAL,
	/* A relayed client whose addresses the header does not give
	 * (version 2 AF_UNSPEC or AF_UNIX): the socket's addresses
	 * stand. */
	PP_UNSPEC,
};

struct pp_header {
	int version;		     /* 1 or 2 */
	enum pp_command command;     /* with PP_DONE */
	size_t length;		     /* the whole header's bytes */
	struct sockaddr_storage src; /* PP_PROXY: the client */
	struct sockaddr_storage dst; /* PP_PROXY: the address it reached */
	const char *error;	     /* with PP_ERROR: why, a few words */
	bool no_signature;	     /* with PP_ERROR: not even a header's
					first bytes (a client speaking
					without one) */
	bool empty; /* pp_read's PP_ERROR: closed or reset before a byte
		       came (a connect-only health check) */
};

/*
 * Reads the header at the start of buf[0..len).  PP_NEED_MORE: every
 * one of the len bytes belongs to the header (the caller may take them
 * off the socket) and more are needed.  PP_DONE: h->length is the
 * header's length, which may exceed len for a version 2 header with
 * TLVs (the caller skips the rest unread); bytes past h->length are not
 * looked at.  PP_ERROR: h->error says why.  The answer for a prefix
 * that is PP_DONE or PP_ERROR holds for every longer input.  Pure.
 */
enum pp_status pp_parse(const void *buf, size_t len, struct pp_header *h);

/*
 * Takes the header off the connected socket fd: peeks what has come,
 * parses it, reads exactly the header's bytes (the rest stays queued for
 * whoever reads fd next) and skips a version 2 header's TLVs.  Waits in
 * poll(2) until the monotonic deadline_ms at most; once stop_fd (or -1)
 * is readable, until *stop_deadline_ms instead when that is sooner (the
 * server's drain deadline, set before stop_fd wakes; NULL: at once).
 * Returns PP_DONE, or PP_ERROR with h->error ("timeout", "closed in
 * the header", ...; h->no_signature as pp_parse sets it, h->empty when
 * the connection ended before its first byte).  fd may be blocking: every
 * recv waits in poll first or does not wait.
 */
enum pp_status pp_read(int fd, int stop_fd, long long deadline_ms,
		       const atomic_llong *stop_deadline_ms,
		       struct pp_header *h);

/* pp_feed's state: the header's bytes taken so far. */
struct pp_reader {
	unsigned char buf[PP_PARSE_MAX];
	size_t have;	    /* bytes of buf taken off the socket */
	size_t skip;	    /* a version 2 header's TLV bytes still to drop */
	bool done;	    /* parsed: only skip is left */
	struct pp_header h; /* the answer */
};

/* Starts a reader (no allocation). */
void pp_reader_init(struct pp_reader *r);

/*
 * pp_read without waiting, for an event loop: takes what has come of
 * the header off the non-blocking-read socket fd (MSG_DONTWAIT), as
 * pp_read does.  PP_NEED_MORE: call again once fd is readable (the
 * caller keeps the deadline); PP_DONE: r->h is the header, and nothing
 * past it was read; PP_ERROR: r->h.error says why (h.empty, as pp_read
 * sets it).
 */
enum pp_status pp_feed(struct pp_reader *r, int fd);

/* A trusted network: --proxy-from 10.0.0.0/8, 2001:db8::/32, or one
 * address (a /32 or /128). */
struct pp_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix; /* bits */
};

/* Parses "ADDR[/BITS]" into *net (host bits must be zero, so that a
 * typo such as 10.1.2.3/8 is not taken for 10.0.0.0/8).  0, or -1. */
int pp_net_parse(const char *text, struct pp_net *net);

/* Whether peer (AF_INET, or AF_INET6 including IPv4-mapped addresses,
 * which match IPv4 networks) is in one of nets[0..n). */
bool pp_net_match(const struct pp_net *nets, size_t n,
		  const struct sockaddr *peer);

#endif
