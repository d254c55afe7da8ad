/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logfmt.c - escaping and timestamps; the contract is in logfmt.h.
 */
#include "logfmt.h"

#include <string.h>

#include "swar.h"
#include "uignorable.h"

static const char hex[] = "0123456789abcdef";

/*
 * What Unicode says a screen may show as nothing (Default_Ignorable_Code_Point:
 * U+3164 HANGUL FILLER, U+034F COMBINING GRAPHEME JOINER, variation
 * selectors...), its format characters (Cf: U+202E shows "txt.exe" as
 * "exe.txt", the "Trojan Source" attack) and the line and paragraph
 * separators (Zl, Zp): every one is escaped like a control byte.  The
 * table is generated from the Unicode data files (uignorable.h).
 */
static int is_format_char(unsigned cp)
{
	size_t lo = 0, hi = uignorable_ranges_count;

	/* Most scripts and CJK answer at once. */
	if (cp < uignorable_ranges[0].first ||
	    (cp >= UIGNORABLE_GAP_FIRST && cp < UIGNORABLE_GAP_END))
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < uignorable_ranges[mid].first)
			hi = mid;
		else if (cp > uignorable_ranges[mid].last)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* Length of the well-formed UTF-8 sequence for a printable character
 * at s[0..n), or 0 when s does not start one (RFC 3629 table 3-7). */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates, beyond Unicode, C1 controls,
	 * format characters. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0xa0 ||
	    is_format_char(cp))
		return 0;
	return len;
}

/* Non-zero when some byte of v is not plain printable ASCII: a control
 * byte, DEL, a backslash, or a byte with the high bit set; for JSON, a
 * double quote too. */
static inline uint64_t swar_needs_escape(uint64_t v, bool json)
{
	uint64_t special = (v & SWAR_HIGHS) | swar_has_less(v, 0x20) |
			   swar_has_byte(v, 0x7f) | swar_has_byte(v, '\\');

	return json ? special | swar_has_byte(v, '"') : special;
}

/*
 * The one escaping, in two spellings.  Text: as logfmt.h says.  JSON:
 * the same escapes, written as a JSON string holds them - each '\\' of
 * the text's escape doubled ("\\x1b" in the text is "\\\\x1b" in the
 * JSON string, which a JSON reader turns back into the text's "\\x1b"),
 * and '"' as "\\\"".  The compiler makes one copy of each (json is a
 * constant at both call sites), so the text's loop pays nothing.
 */
static inline __attribute__((always_inline)) size_t
escape_as(char *dst, const char *src, size_t len, bool json)
{
	const unsigned char *s = (const unsigned char *)src;
	char *d = dst;
	size_t i = 0;

	while (i < len) {
		unsigned char c;
		size_t seq;

		/* Plain text goes eight bytes at a time. */
		if (len - i >= 8 &&
		    !swar_needs_escape(swar_load(s + i), json)) {
			memcpy(d, s + i, 8);
			d += 8;
			i += 8;
			continue;
		}
		c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && (!json || c != '"')) {
			*d++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80 && (seq = utf8_printable(s + i, len - i)) > 0) {
			memcpy(d, s + i, seq);
			d += seq;
			i += seq;
			continue;
		}
		if (c == '"') { /* JSON only */
			*d++ = '\\';
			*d++ = '"';
			i++;
			continue;
		}
		*d++ = '\\';
		if (json)
			*d++ = '\\';
		switch (c) {
		case '\\':
			*d++ = '\\';
			if (json)
				*d++ = '\\';
			break;
		case '\n':
			*d++ = 'n';
			break;
		case '\t':
			*d++ = 't';
			break;
		case '\r':
			*d++ = 'r';
			break;
		default:
			*d++ = 'x';
			*d++ = hex[c >> 4];
			*d++ = hex[c & 15];
		}
		i++;
	}
	return (size_t)(d - dst);
}

size_t logfmt_escape(char *dst, const char *src, size_t len)
{
	return escape_as(dst, src, len, false);
}

size_t logfmt_escape_json(char *dst, const char *src, size_t len)
{
	return escape_as(dst, src, len, true);
}

/* Text escaped per step of escape_equals: 1.25 KiB of output at most. */
#define EQUALS_CHUNK 256

static bool escape_equals(const char *text, size_t len, const char *esc,
			  size_t esc_len, bool json)
{
	char out[LOGFMT_JSON_ESCAPED_MAX(EQUALS_CHUNK)];
	size_t i = 0, done = 0;

	while (i < len) {
		size_t end = len - i > EQUALS_CHUNK ? i + EQUALS_CHUNK : len;
		size_t n;

		/* Cut before a continuation byte only where no sequence can
		 * span the cut: a lead byte among the three before it moves
		 * the cut to that lead, so that every sequence is escaped as
		 * in the whole text. */
		if (end < len && ((unsigned char)text[end] & 0xc0) == 0x80)
			for (size_t back = 1; back <= 3 && end - back > i;
			     back++)
				if ((unsigned char)text[end - back] >= 0xc0) {
					end -= back;
					break;
				}
		n = json ? logfmt_escape_json(out, text + i, end - i)
			 : logfmt_escape(out, text + i, end - i);
		if (n > esc_len - done || memcmp(out, esc + done, n) != 0)
			return false;
		done += n;
		i = end;
	}
	return done == esc_len;
}

bool logfmt_escape_equals(const char *text, size_t len, const char *esc,
			  size_t esc_len)
{
	return escape_equals(text, len, esc, esc_len, false);
}

bool logfmt_escape_json_equals(const char *text, size_t len, const char *esc,
			       size_t esc_len)
{
	return escape_equals(text, len, esc, esc_len, true);
}

/* Writes v as exactly `width` decimal digits. */
static char *digits(char *d, long v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		d[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return d + width;
}

/* The proleptic Gregorian date of day `days` since 1970-01-01 (Howard
 * Hinnant's days_from_civil inverted: 400-year eras of 146,097 days,
 * years starting on March 1st so that the leap day comes last). */
static void civil_from_days(long long days, long *year, int *month, int *mday)
{
	/* Days since 0000-03-01; the era's day [0, 146096], its year
	 * [0, 399], the day of that March-based year [0, 365], and its
	 * month with March as 0. */
	long long z = days + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;

	*mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (long)(yoe + era * 400 + (*month <= 2));
}

/* Where the microseconds stand in "2026-11-24T13:49:55.123456Z". */
#define TS_MICROS_AT  20
#define TS_MICROS_LEN 6
_Static_assert(TS_MICROS_AT + TS_MICROS_LEN + 1 == LOGFMT_TS_LEN,
	       "the fraction ends just before the 'Z'");

/* UTC by arithmetic rather than gmtime_r(3), which takes glibc's time
 * zone lock and a few hundred bytes of stack for every line: POSIX time
 * has no leap seconds, so a day is 86,400 seconds. */
void logfmt_timestamp(char *dst, const struct timespec *ts)
{
	long long days = ts->tv_sec / 86400, secs = ts->tv_sec % 86400;
	char *d = dst;
	long year;
	int month, mday;

	if (secs < 0) { /* before 1970: floor, not truncation */
		secs += 86400;
		days--;
	}
	civil_from_days(days, &year, &month, &mday);
	d = digits(d, year, 4);
	*d++ = '-';
	d = digits(d, month, 2);
	*d++ = '-';
	d = digits(d, mday, 2);
	*d++ = 'T';
	d = digits(d, (long)(secs / 3600), 2);
	*d++ = ':';
	d = digits(d, (long)(secs / 60 % 60), 2);
	*d++ = ':';
	d = digits(d, (long)(secs % 60), 2);
	*d++ = '.';
	logfmt_timestamp_micros(dst, ts);
	d[TS_MICROS_LEN] = 'Z';
}

void logfmt_timestamp_micros(char *dst, const struct timespec *ts)
{
	(void)digits(dst + TS_MICROS_AT, ts->tv_nsec / 1000, TS_MICROS_LEN);
}

size_t logfmt_u64(char *dst, uint64_t v)
{
	char rev[LOGFMT_U64_MAX];
	size_t n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		dst[i] = rev[n - 1 - i];
	return n;
}
