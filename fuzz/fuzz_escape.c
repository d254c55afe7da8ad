/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_escape.c - logfmt_escape against a byte-by-byte reference of its
 * rules (logfmt.h), and the log reader's unescape undoing it.
 *
 * Oracles: the escaper's output equals the reference's; it holds no
 * control byte, DEL or format character; logline_unescape gives the
 * input back.
 */
#include <string.h>

#include "escape_ref.h"
#include "fuzz.h"
#include "logfmt.h"
#include "logline.h"

/* Nothing in out[0..n) a terminal would act on or hide. */
static void check_safe(const char *out, size_t n)
{
	const unsigned char *s = (const unsigned char *)out;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t seq;

		FUZZ_CHECK(s[i] >= 0x20 && s[i] != 0x7f);
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		seq = ref_sequence(s + i, n - i, &cp);
		FUZZ_CHECK(seq > 0); /* whole printable characters only */
		i += seq;
	}
}

static char out[4 * 4096], want[4 * 4096], back[4 * 4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data;
	size_t n, m, back_len;

	if (size > 4096)
		size = 4096;
	n = logfmt_escape(out, src, size);
	FUZZ_CHECK(n <= LOGFMT_ESCAPED_MAX(size));
	m = ref_escape(want, src, size);
	FUZZ_CHECK(n == m && memcmp(out, want, n) == 0);
	check_safe(out, n);
	FUZZ_CHECK(logline_unescape(back, out, n, &back_len) == 0);
	FUZZ_CHECK(back_len == size && memcmp(back, src, size) == 0);
	return 0;
}
