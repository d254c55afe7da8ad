/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpreq.h - the request head of the metrics endpoint's HTTP/1.x
 * (RFC 9112), read strictly: one GET of /metrics, nothing else.
 *
 * A pure function over (pointer, length): http_parse looks at the bytes
 * received so far and says either "not yet" (HTTP_MORE) or the status
 * the request gets.  It keeps no state between calls, so a caller that
 * has read more simply calls it again on everything it holds, and the
 * answer for any split of the same bytes into reads is the answer for
 * all of them at once (a prefix gets HTTP_MORE or that same answer; the
 * fuzz target fuzz_http checks it).
 *
 * What it takes: a request line "METHOD SP TARGET SP HTTP/D.D", header
 * lines "NAME: VALUE", an empty line; lines end in CRLF or a bare LF
 * (RFC 9112 2.2 lets a recipient accept that).  Rules, each to a status:
 *  - a line that breaks the grammar (a CTL or CR inside it, a space in a
 *    name, no colon, a folded line, a target not starting with '/', an
 *    empty line first), Content-Length other than 0, any
 *    Transfer-Encoding (a GET here has no body), HTTP/1.1 without
 *    exactly one Host: 400;
 *  - no empty line within the first HTTP_HEAD_MAX bytes: 431;
 *  - a version other than 1.0 and 1.1: 505; a method other than GET:
 *    405; a path other than /metrics (a query is allowed and ignored):
 *    404; else 200.
 * Problems in the lines are found in the order the lines come, so the
 * first one decides; the last three are decided on the whole head.
 *
 * Threads: any (no state).  Memory: none; the result holds offsets
 * into the caller's bytes.
 */
#ifndef HTTPREQ_H
#define HTTPREQ_H

#include <stddef.h>

/* The most a request head may take: a browser's or Prometheus' head is
 * a few hundred bytes; 8 KiB is nginx's default large buffer, far more
 * than a scraper sends. */
#define HTTP_HEAD_MAX (8 * (size_t)1024)

enum http_status {
	HTTP_MORE = 0, /* no answer yet: read more */
	HTTP_OK = 200,
	HTTP_BAD_REQUEST = 400,
	HTTP_NOT_FOUND = 404,
	HTTP_BAD_METHOD = 405,
	HTTP_TOO_LARGE = 431,
	HTTP_BAD_VERSION = 505,
};

struct http_request {
	size_t head_len;   /* bytes up to and with the empty line */
	size_t target_off; /* the request target, within the bytes */
	size_t target_len;
	unsigned version; /* 10 or 11 (HTTP/1.0, HTTP/1.1); 0: not read */
};

/* The answer for buf[0..len), and what was read of the request in *req
 * (every field 0 until the head is whole). */
enum http_status http_parse(const char *buf, size_t len,
			    struct http_request *req);

/* The reason phrase of a status ("Not Found"), or "Unknown". */
const char *http_reason(enum http_status status);

#endif
