/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_http.c - the metrics endpoint's request parser (httpreq.h).
 *
 * Input: byte 0 seeds how the rest is cut into reads; the rest is what
 * a client sends.  The stream is offered to http_parse as a growing
 * prefix, in those reads and (for streams up to 2 KiB: the check is
 * quadratic) one byte at a time, as the endpoint offers it: the first
 * answer that is not HTTP_MORE must be the one-shot answer for the whole
 * stream, with the same request.  And for every answer: never "more"
 * once HTTP_HEAD_MAX bytes are in; a whole head ends in '\n' within the
 * bytes and the limit; a 200 is a GET of /metrics (or /metrics?...) in
 * HTTP/1.0 or 1.1, as a plain reading of the first line says too.
 */
#include <string.h>

#include "fuzz.h"
#include "httpreq.h"

/* Up to this many bytes the byte-at-a-time feed runs as well. */
#define BYTEWISE_MAX 2048

static void same_answer(enum http_status a, const struct http_request *ra,
			enum http_status b, const struct http_request *rb)
{
	FUZZ_CHECK(a == b);
	if (a == HTTP_MORE || a == HTTP_TOO_LARGE)
		return;
	FUZZ_CHECK(ra->head_len == rb->head_len);
	FUZZ_CHECK(ra->target_off == rb->target_off);
	FUZZ_CHECK(ra->target_len == rb->target_len);
	FUZZ_CHECK(ra->version == rb->version);
}

/* What holds of any answer for buf[0..len). */
static void check_answer(const char *buf, size_t len, enum http_status st,
			 const struct http_request *r)
{
	FUZZ_CHECK(st != HTTP_MORE || len < HTTP_HEAD_MAX);
	if (st == HTTP_MORE || st == HTTP_TOO_LARGE || st == HTTP_BAD_REQUEST)
		return;
	FUZZ_CHECK(r->head_len > 0 && r->head_len <= len &&
		   r->head_len <= HTTP_HEAD_MAX);
	FUZZ_CHECK(buf[r->head_len - 1] == '\n');
	FUZZ_CHECK(r->target_off + r->target_len < r->head_len);
	if (st != HTTP_OK)
		return;
	/* The plain reading: "GET /metrics" then ' ' or '?', and the
	 * version right after the target. */
	FUZZ_CHECK(len > 12 && memcmp(buf, "GET /metrics", 12) == 0);
	FUZZ_CHECK(buf[12] == ' ' || buf[12] == '?');
	FUZZ_CHECK(r->target_off == 4);
	FUZZ_CHECK(memcmp(buf + 4 + r->target_len, " HTTP/1.", 8) == 0);
	FUZZ_CHECK(r->version == 10 || r->version == 11);
}

/* Offers buf as prefixes growing by the sizes seed makes (1 to 64
 * bytes; seed 0: one byte at a time); returns the first answer. */
static enum http_status fed(const char *buf, size_t len, unsigned seed,
			    struct http_request *r)
{
	size_t have = 0;
	enum http_status st = HTTP_MORE;

	while (have < len) {
		size_t step = seed == 0 ? 1 : 1 + (seed % 64);

		seed = seed * 1103515245u + 12345u;
		have = have + step < len ? have + step : len;
		st = http_parse(buf, have, r);
		check_answer(buf, have, st, r);
		if (st != HTTP_MORE)
			break;
	}
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request whole, part;
	enum http_status once, st;
	const char *buf;
	size_t len;

	if (size < 1)
		return 0;
	buf = (const char *)data + 1;
	len = size - 1;
	once = http_parse(buf, len, &whole);
	check_answer(buf, len, once, &whole);

	st = fed(buf, len, (unsigned)data[0] + 1, &part);
	same_answer(st, &part, once, &whole);
	if (len <= BYTEWISE_MAX) {
		st = fed(buf, len, 0, &part);
		same_answer(st, &part, once, &whole);
	}
	(void)http_reason(once);
	return 0;
}
