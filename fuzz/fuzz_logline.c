/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_logline.c - the log-line reader (logline.h) on anything, and the
 * writer and reader together.
 *
 * Oracles: logline_parse never reads outside the line, and what it
 * accepts has every field inside the line (or the text buffer); a
 * message's unescaped text escapes back to exactly what was logged (the
 * reader accepts only what the writer writes), in the text format or in
 * JSON; a syslog line's text has a syslog header; and a message line the
 * writer makes from the input, in either format, parses back to the
 * input, its length and its number - a syslog line when the input starts
 * with a header (syslogmsg.h), with the header's names.  And the JSON
 * spelling of the escaping decodes to the text's, byte for byte.
 */
#include <string.h>

#include "fuzz.h"
#include "logfmt.h"
#include "logline.h"
#include "syslogmsg.h"

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
	/* (A JSON server line has no peer: "-", not in the line.) */
	FUZZ_CHECK(inside(l.peer, l.peer_len, in, size) ||
		   (l.transport == LOGLINE_SERVER && l.peer_len == 1));
	FUZZ_CHECK(inside(l.name, l.name_len, in, size));
	FUZZ_CHECK(l.rest_len == 0 || inside(l.rest, l.rest_len, in, size));
	if (!logline_is_message(&l))
		return;
	FUZZ_CHECK(inside(l.escaped, l.escaped_len, in, size));
	FUZZ_CHECK(l.text != NULL);
	FUZZ_CHECK(inside(l.text, l.text_len, in, size) ||
		   inside(l.text, l.text_len, textbuf, sizeof(textbuf)));
	FUZZ_CHECK(l.text_len <= l.escaped_len);
	n = l.format == LOGLINE_FORMAT_JSON
		    ? logfmt_escape_json(again, l.text, l.text_len)
		    : logfmt_escape(again, l.text, l.text_len);
	FUZZ_CHECK(n == l.escaped_len && memcmp(again, l.escaped, n) == 0);
	if (l.event == LOGLINE_SYSLOG || l.event == LOGLINE_SYSLOG_TRUNCATED) {
		struct syslogmsg h;

		FUZZ_CHECK(syslogmsg_parse(l.text, l.text_len, &h) == 0);
		FUZZ_CHECK(inside(l.syslog.facility, l.syslog.facility_len, in,
				  size));
		FUZZ_CHECK(inside(l.syslog.hostname, l.syslog.hostname_len, in,
				  size));
		FUZZ_CHECK((l.syslog.app_name != NULL) ==
			   (h.rfc == SYSLOGMSG_RFC5424));
	}
}

static void check_round_trip(const char *text, size_t len, size_t full)
{
	static const char who[] = "tcp 127.0.0.1:5 #42";
	struct logline l;
	size_t n;

	struct syslogmsg h;
	bool is_syslog = syslogmsg_parse(text, len, &h) == 0;

	n = logline_msg(line, sizeof(line), TS, who, sizeof(who) - 1, text, len,
			full);
	FUZZ_CHECK(n > 0 && line[n - 1] == '\n');
	FUZZ_CHECK(logline_parse(line, n, &l, textbuf, sizeof(textbuf)) == 0);
	FUZZ_CHECK(l.format == logline_get_format());
	FUZZ_CHECK(l.transport == LOGLINE_TCP && l.number == 42);
	if (is_syslog)
		FUZZ_CHECK(l.event == (full > len ? LOGLINE_SYSLOG_TRUNCATED
						  : LOGLINE_SYSLOG));
	else
		FUZZ_CHECK(l.event ==
			   (full > len ? LOGLINE_MSG_TRUNCATED : LOGLINE_MSG));
	FUZZ_CHECK(full == len || l.full_len == full);
	FUZZ_CHECK(l.text_len == len && memcmp(l.text, text, len) == 0);
	if (is_syslog && l.format == LOGLINE_FORMAT_TEXT) {
		FUZZ_CHECK(l.syslog.hostname_len == h.hostname_len &&
			   memcmp(l.syslog.hostname, h.hostname,
				  h.hostname_len) == 0);
		FUZZ_CHECK(l.syslog.msgid_len == h.msgid_len);
	}
}

static char esc[4 * 8192], json[5 * 8192];

/* The JSON spelling of the escaping is the text's: its JSON decoding
 * (only \\ and \" occur) is exactly logfmt_escape's output. */
static void check_json_escape(const char *in, size_t size)
{
	size_t en = logfmt_escape(esc, in, size);
	size_t jn = logfmt_escape_json(json, in, size), d = 0;

	FUZZ_CHECK(jn <= LOGFMT_JSON_ESCAPED_MAX(size));
	for (size_t i = 0; i < jn; i++, d++) {
		FUZZ_CHECK((unsigned char)json[i] >= 0x20 && json[i] != 0x7f);
		if (json[i] == '\\') {
			i++;
			FUZZ_CHECK(i < jn &&
				   (json[i] == '\\' || json[i] == '"'));
		} else {
			FUZZ_CHECK(json[i] != '"');
		}
		FUZZ_CHECK(d < en && esc[d] == json[i]);
	}
	FUZZ_CHECK(d == en);
	FUZZ_CHECK(logfmt_escape_json_equals(in, size, json, jn));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	if (size > 8192)
		return 0;
	check_parsed(in, size);
	check_json_escape(in, size);
	/* A message is never empty; the first byte says "truncated" and
	 * which format. */
	if (size > 1) {
		logline_set_format(data[0] & 2 ? LOGLINE_FORMAT_JSON
					       : LOGLINE_FORMAT_TEXT);
		check_round_trip(in + 1, size - 1,
				 size - 1 + (data[0] & 1 ? data[0] : 0));
	}
	return 0;
}
