/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logfmt.h - pure text formatting for log lines: escaping and timestamps.
 *
 * Escaping makes any bytes safe to show on an operator's terminal and
 * impossible to mistake for log structure: a client can neither forge a
 * log line nor send terminal escape codes.  Printable ASCII is copied;
 * '\\' becomes "\\\\"; newline, tab and carriage return become "\\n",
 * "\\t", "\\r"; other control bytes, DEL, and bytes that are not part of
 * a well-formed UTF-8 sequence for a printable character (U+00A0 and up,
 * not a surrogate, not an ignorable or format character) become "\\xNN".
 * So Chinese text stays readable while C1 controls (U+0080..U+009F),
 * malformed sequences, every Default_Ignorable_Code_Point (U+3164 HANGUL
 * FILLER, U+034F COMBINING GRAPHEME JOINER, the zero-width characters,
 * variation selectors...), Unicode's format characters (General Category
 * Cf: the bidirectional overrides and isolates U+202A..U+202E and
 * U+2066..U+2069, the BOM, tags...) and the line and paragraph separators
 * U+2028/U+2029 are escaped, byte by byte - the table generated from the
 * Unicode data files (uignorable.h): no client can reorder or hide
 * what the operator reads ("Trojan Source").
 *
 * No state, no allocation, no printf (a few hundred bytes of stack at
 * most, see workers.h): any thread may call these.
 */
#ifndef LOGFMT_H
#define LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Worst case of logfmt_escape: every byte becomes "\xNN". */
#define LOGFMT_ESCAPED_MAX(n) (4 * (size_t)(n))
/* Worst case of logfmt_escape_json: every byte becomes "\\\\xNN". */
#define LOGFMT_JSON_ESCAPED_MAX(n) (5 * (size_t)(n))

/* "2026-11-24T13:49:55.123456Z": ISO 8601, UTC, microseconds. */
#define LOGFMT_TS_LEN 27

/* Escapes src[0..len) into dst, which must hold LOGFMT_ESCAPED_MAX(len)
 * bytes; returns the bytes written (no NUL is added). */
size_t logfmt_escape(char *dst, const char *src, size_t len);

/* Whether esc[0..esc_len) is exactly what logfmt_escape writes for
 * text[0..len): how a reader makes sure a logged text is the writer's,
 * not a look-alike (a raw byte or an escape the writer never makes).
 * Uses a fixed stack buffer, no allocation. */
bool logfmt_escape_equals(const char *text, size_t len, const char *esc,
			  size_t esc_len);

/*
 * The same escaping spelled for the inside of a JSON string (RFC 8259):
 * what a JSON reader decodes from it is exactly what logfmt_escape
 * writes.  (Strings here are in C's notation.)  So the byte 0x1b, which
 * the text shows as the four characters "\\x1b", is "\\\\x1b" in the
 * JSON source, which any JSON reader decodes to those same four
 * characters - never "\\u001b", which would make a byte look like a
 * character - and '"' is "\\\"".  The output is valid UTF-8 with no
 * control character, so the string is valid JSON.  dst must hold
 * LOGFMT_JSON_ESCAPED_MAX(len) bytes; returns the bytes written.
 */
size_t logfmt_escape_json(char *dst, const char *src, size_t len);

/* logfmt_escape_equals for logfmt_escape_json. */
bool logfmt_escape_json_equals(const char *text, size_t len, const char *esc,
			       size_t esc_len);

/* Writes ts (CLOCK_REALTIME) as LOGFMT_TS_LEN bytes, no NUL. */
void logfmt_timestamp(char *dst, const struct timespec *ts);

/* Rewrites only the microseconds of dst, a timestamp logfmt_timestamp
 * wrote for the same second as ts: the cheap way to stamp many lines
 * (log_batch_stamp). */
void logfmt_timestamp_micros(char *dst, const struct timespec *ts);

/* Digits of the largest uint64_t, 18446744073709551615. */
#define LOGFMT_U64_MAX 20

/* Writes v in decimal (at most LOGFMT_U64_MAX bytes, no NUL); returns
 * the bytes written. */
size_t logfmt_u64(char *dst, uint64_t v);

#endif
