/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * escape_ref.h - the escaping rule of logfmt.h written plainly, one byte
 * at a time: the reference the SWAR escaper is held to, by
 * tests/test_hostile_escape.c at every offset and by fuzz/fuzz_escape.c
 * on whatever libFuzzer makes.  Test code only; static, so that each
 * user has its own copy.
 */
#ifndef ESCAPE_REF_H
#define ESCAPE_REF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "uignorable.h"

/* Default ignorables, Cf, Zl and Zp: the generated table (uignorable.h,
 * checked against the Unicode data files by tests/test_uignorable.sh),
 * searched one range at a time. */
static inline int ref_is_format(uint32_t cp)
{
	for (size_t i = 0; i < uignorable_ranges_count; i++)
		if (cp >= uignorable_ranges[i].first &&
		    cp <= uignorable_ranges[i].last)
			return 1;
	return 0;
}

/* Length of a well-formed sequence for a printable character at s, or
 * 0; its code point in *cp. */
static inline size_t ref_sequence(const unsigned char *s, size_t n,
				  uint32_t *cp)
{
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, *cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, *cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, *cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff) || *cp > 0x10ffff || *cp < 0xa0 ||
	    ref_is_format(*cp))
		return 0;
	return len;
}

/* What logfmt_escape writes for src[0..len): dst needs 4 * len bytes. */
static inline size_t ref_escape(char *dst, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	char *d = dst;

	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t seq;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			*d++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80 && (seq = ref_sequence(s + i, len - i, &cp))) {
			memcpy(d, s + i, seq);
			d += seq;
			i += seq;
			continue;
		}
		*d++ = '\\';
		if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
			*d++ = c == '\\'   ? '\\'
			       : c == '\n' ? 'n'
			       : c == '\t' ? 't'
					   : 'r';
		} else {
			*d++ = 'x';
			*d++ = hex[c >> 4];
			*d++ = hex[c & 15];
		}
		i++;
	}
	return (size_t)(d - dst);
}

#endif
