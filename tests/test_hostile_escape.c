/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hostile_escape.c - visual forgery (issue 11, finding 7): Unicode
 * format characters (bidirectional overrides and isolates, zero-width
 * characters, the BOM, line and paragraph separators: every character
 * of General Category Cf, Zl and Zp) are escaped like control bytes,
 * while Chinese and other printable text stays readable.  The SWAR
 * escaper is compared with a byte-by-byte reference at every offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape_ref.h"
#include "logfmt.h"
#include "logline.h"

static size_t utf8_encode(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static void expect_escape(const char *in, const char *want)
{
	char out[256];
	size_t n = logfmt_escape(out, in, strlen(in));

	out[n] = '\0';
	assert_string_equal(out, want);
}

static void test_trojan_source_characters(void **state)
{
	(void)state;
	/* RLO: "admin" shown reversed. */
	expect_escape("x\xe2\x80\xaeoops", "x\\xe2\\x80\\xaeoops");
	/* LRI, RLI, FSI, PDI. */
	expect_escape("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
		      "\\xe2\\x81\\xa6\\xe2\\x81\\xa7\\xe2\\x81\\xa8"
		      "\\xe2\\x81\\xa9");
	/* ZWSP, ZWNJ, ZWJ, LRM, RLM. */
	expect_escape("a\xe2\x80\x8b"
		      "b\xe2\x80\x8f",
		      "a\\xe2\\x80\\x8bb\\xe2\\x80\\x8f");
	/* Line and paragraph separators: a line break on some screens. */
	expect_escape("1\xe2\x80\xa8"
		      "2\xe2\x80\xa9",
		      "1\\xe2\\x80\\xa82\\xe2\\x80\\xa9");
	/* BOM, Arabic letter mark, Mongolian vowel separator, word
	 * joiner, invisible times, tag characters. */
	expect_escape("\xef\xbb\xbf", "\\xef\\xbb\\xbf");
	expect_escape("\xd8\x9c", "\\xd8\\x9c");
	expect_escape("\xe1\xa0\x8e", "\\xe1\\xa0\\x8e");
	expect_escape("\xe2\x81\xa0\xe2\x81\xa2",
		      "\\xe2\\x81\\xa0\\xe2\\x81\\xa2");
	expect_escape("\xf3\xa0\x80\x81", "\\xf3\\xa0\\x80\\x81");
	/* Soft hyphen: invisible, so escaped. */
	expect_escape("\xc2\xad", "\\xc2\\xad");
	/* Default ignorables that are not Cf (issue 21): U+3164 HANGUL
	 * FILLER, U+034F COMBINING GRAPHEME JOINER, U+FFA0, a variation
	 * selector, U+115F, U+E0100. */
	expect_escape("a\xe3\x85\xa4"
		      "b",
		      "a\\xe3\\x85\\xa4b");
	expect_escape("\xcd\x8f", "\\xcd\\x8f");
	expect_escape("\xef\xbe\xa0", "\\xef\\xbe\\xa0");
	expect_escape("\xe2\x9d\xa4\xef\xb8\x8f",
		      "\xe2\x9d\xa4\\xef\\xb8\\x8f");
	expect_escape("\xe1\x85\x9f", "\\xe1\\x85\\x9f");
	expect_escape("\xf3\xa0\x84\x80", "\\xf3\\xa0\\x84\\x80");
}

static void test_printable_text_stays(void **state)
{
	(void)state;
	expect_escape("你好，世界", "你好，世界");
	expect_escape("café naïve Ελληνικά русский עברית العربية",
		      "café naïve Ελληνικά русский עברית العربية");
	expect_escape("emoji \xf0\x9f\x98\x80 ok", "emoji \xf0\x9f\x98\x80 ok");
	/* Neighbours of the escaped ranges stay: U+200A (hair space),
	 * U+2030 (per mille), U+2065 (unassigned but not Cf), U+FEFE. */
	expect_escape("\xe2\x80\x8a\xe2\x80\xb0", "\xe2\x80\x8a\xe2\x80\xb0");
	expect_escape("\xef\xbb\xbe", "\xef\xbb\xbe");
}

/* Every code point from U+00A0 to U+10FFFF, alone and between ASCII
 * (so the SWAR path runs around it): the escaper agrees with the
 * reference, and format characters come out as \xNN only. */
static void test_every_code_point_matches_reference(void **state)
{
	char in[32], out[128], want[128];

	(void)state;
	for (uint32_t cp = 0xa0; cp <= 0x10ffff; cp++) {
		size_t n, got, exp;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		memcpy(in, "abcdefgh", 8);
		n = 8 + utf8_encode(in + 8, cp);
		memcpy(in + n, "ijklmnop", 8);
		n += 8;
		got = logfmt_escape(out, in, n);
		exp = ref_escape(want, in, n);
		if (got != exp || memcmp(out, want, got) != 0)
			fail_msg("U+%04X escaped differently", (unsigned)cp);
		if (ref_is_format(cp))
			assert_true(memchr(out + 8, 0x80 | (cp & 0x3f),
					   got - 16) == NULL);
	}
}

/* Random mixes of ASCII, controls, format characters, CJK and broken
 * sequences, at every offset and length up to 64. */
static void test_random_mixes_match_reference(void **state)
{
	static const uint32_t pool[] = {
		'a',	'Z',	 ' ',	  '\\',	   '\n',   0x01,   0x7f,
		0x4f60, 0x597d,	 0x202e,  0x2066,  0x2069, 0x200b, 0x200f,
		0x2028, 0x2029,	 0xfeff,  0x061c,  0x180e, 0x2060, 0x2064,
		0xe9,	0x1f600, 0xe0041, 0x110bd, 0xad,   0x85,   0x2065,
	};
	char in[256], out[1024], want[1024];
	unsigned seed = 11;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n = 0, got, exp;
		size_t target = (size_t)(rand_r(&seed) % 64);

		while (n < target) {
			uint32_t cp = pool[(size_t)rand_r(&seed) %
					   (sizeof(pool) / sizeof(*pool))];

			if (rand_r(&seed) % 16 == 0)
				in[n++] = (char)(0x80 + rand_r(&seed) % 0x80);
			else
				n += utf8_encode(in + n, cp);
		}
		for (size_t off = 0; off < n; off++) {
			got = logfmt_escape(out, in + off, n - off);
			exp = ref_escape(want, in + off, n - off);
			assert_int_equal(got, exp);
			assert_memory_equal(out, want, got);
		}
	}
}

/* Found by fuzz_logline: the log reader accepted a message text that
 * logfmt_escape never writes (a raw invalid byte), so a forged or
 * corrupt line passed for the server's.  Each look-alike is refused. */
static void test_reader_refuses_what_the_writer_never_writes(void **state)
{
	static const char *const forged[] = {
		"msg raw \xff byte",	       /* invalid UTF-8, raw */
		"msg rlo \xe2\x80\xae raw",    /* a format character, raw */
		"msg \\x41 for A",	       /* an escape never written */
		"msg \\xc3\\xa9 for \xc3\xa9", /* printable, escaped */
	};
	char line[256], textbuf[256];
	struct logline l;

	(void)state;
	for (size_t i = 0; i < sizeof(forged) / sizeof(*forged); i++) {
		int n = snprintf(line, sizeof(line),
				 "2026-11-25T09:00:00.000000Z tcp "
				 "127.0.0.1:5 #1 %s\n",
				 forged[i]);

		errno = 0;
		assert_int_equal(logline_parse(line, (size_t)n, &l, textbuf,
					       sizeof(textbuf)),
				 -1);
		assert_int_equal(errno, EINVAL);
	}
	/* What the writer writes still parses. */
	snprintf(line, sizeof(line), "%s",
		 "2026-11-25T09:00:00.000000Z tcp 127.0.0.1:5 #1 msg "
		 "caf\xc3\xa9 \\xe2\\x80\\xae\n");
	assert_int_equal(
		logline_parse(line, strlen(line), &l, textbuf, sizeof(textbuf)),
		0);
	assert_int_equal(l.text_len, 9);
	assert_memory_equal(l.text, "caf\xc3\xa9 \xe2\x80\xae", 9);
}

/* Found by fuzz_logline: logfmt_escape_equals, which checks text in
 * 256-byte steps, cut a UTF-8 sequence in two at a step's end.  Every
 * cut point near the step, every sequence length. */
static void test_escape_equals_across_steps(void **state)
{
	static const char *const seqs[] = {
		"\xc3\xa9",	"\xe4\xbd\xa0",		"\xf0\x9f\x98\x80",
		"\xe2\x80\xae", "\xb5\xb5\xb5\xb5\xb5",
	};
	char text[600], esc[2400];

	(void)state;
	for (size_t s = 0; s < sizeof(seqs) / sizeof(*seqs); s++) {
		for (size_t at = 248; at <= 260; at++) {
			size_t len = strlen(seqs[s]), n;

			memset(text, 'a', sizeof(text));
			memcpy(text + at, seqs[s], len);
			n = logfmt_escape(esc, text, sizeof(text));
			assert_true(logfmt_escape_equals(text, sizeof(text),
							 esc, n));
			assert_false(logfmt_escape_equals(text, sizeof(text),
							  esc, n - 1));
			text[at + len] = 'b';
			assert_false(logfmt_escape_equals(text, sizeof(text),
							  esc, n));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trojan_source_characters),
		cmocka_unit_test(test_printable_text_stays),
		cmocka_unit_test(test_every_code_point_matches_reference),
		cmocka_unit_test(test_random_mixes_match_reference),
		cmocka_unit_test(
			test_reader_refuses_what_the_writer_never_writes),
		cmocka_unit_test(test_escape_equals_across_steps),
	};

	return cmocka_run_group_tests_name("hostile-escape", tests, NULL, NULL);
}
