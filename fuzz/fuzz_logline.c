/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_logline.c - the log-line reader (logline.h) on anything, and the
 * writer and reader together.
 *
 * Oracles: logline_parse never reads outside the line, and what it
 * accepts has every field inside the line (or the text buffer); a
 * message's unescaped text escapes back to exactly what was logged (the
 * reader accepts only what the writer writes); and a message line the
 * writer makes from the input parses back to the input, its length and
 * its number.
 */
#include <string.h>

#include "fuzz.h"
#include "logfmt.h"
#include "logline.h"

#define TS "2026-11-25T09:00:00.123456Z"

static int inside(const char *p, size_t len, const char *base, size_t size)
{
	return p != NULL && p >= base && len <= size &&
	       (size_t)(p - base) <= size - len;
}

static char textbuf[1 << 16], line[1 << 18], again[1 << 18];

static void check_parsed(const char *in, size_t size)
{
	struct logline l;
	size_t n;

	if (logline_parse(in, size, &l, textbuf, sizeof(textbuf)) != 0)
		return;
	FUZZ_CHECK(inside(l.peer, l.peer_len, in, size));
	FUZZ_CHECK(inside(l.name, l.name_len, in, size));
	FUZZ_CHECK(l.rest_len == 0 || inside(l.rest, l.rest_len, in, size));
	if (l.event != LOGLINE_MSG && l.event != LOGLINE_MSG_TRUNCATED)
		return;
	FUZZ_CHECK(inside(l.escaped, l.escaped_len, in, size));
	FUZZ_CHECK(l.text != NULL);
	FUZZ_CHECK(inside(l.text, l.text_len, in, size) ||
		   inside(l.text, l.text_len, textbuf, sizeof(textbuf)));
	FUZZ_CHECK(l.text_len <= l.escaped_len);
	n = logfmt_escape(again, l.text, l.text_len);
	FUZZ_CHECK(n == l.escaped_len && memcmp(again, l.escaped, n) == 0);
}

static void check_round_trip(const char *text, size_t len, size_t full)
{
	static const char who[] = "tcp 127.0.0.1:5 #42";
	struct logline l;
	size_t n;

	n = logline_msg(line, sizeof(line), TS, who, sizeof(who) - 1, text, len,
			full);
	FUZZ_CHECK(n > 0 && line[n - 1] == '\n');
	FUZZ_CHECK(logline_parse(line, n, &l, textbuf, sizeof(textbuf)) == 0);
	FUZZ_CHECK(l.transport == LOGLINE_TCP && l.number == 42);
	FUZZ_CHECK(l.event ==
		   (full > len ? LOGLINE_MSG_TRUNCATED : LOGLINE_MSG));
	FUZZ_CHECK(full == len || l.full_len == full);
	FUZZ_CHECK(l.text_len == len && memcmp(l.text, text, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	if (size > 8192)
		return 0;
	check_parsed(in, size);
	/* A message is never empty; the first byte says "truncated". */
	if (size > 1)
		check_round_trip(in + 1, size - 1,
				 size - 1 + (data[0] & 1 ? data[0] : 0));
	return 0;
}
