/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_hdrlog.c - the HdrHistogram decoder (bench/src/hdrlog.h).
 *
 * An input starting with 'H' is taken as the base64 text of a log line's
 * histogram; any other input, after its first byte, as an uncompressed
 * V2 histogram, which the target compresses and encodes first so that
 * the fuzzer reaches the header and count parser past zlib's checksum.
 *
 * Oracle: a histogram that decodes has as many samples as its counts
 * add up to, and encoding it and decoding that gives the same counts.
 */
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "hdrlog.h"

static struct hist h, again;
static char text[HDRLOG_B64_MAX];
static unsigned char packed[1 << 20];

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of in[0..len) into text; its length. */
static size_t to_base64(const unsigned char *in, size_t len)
{
	size_t i, n = 0;
	unsigned long v;

	for (i = 0; i < len; i += 3) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		text[n++] = b64[v >> 18];
		text[n++] = b64[(v >> 12) & 63];
		text[n++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		text[n++] = i + 2 < len ? b64[v & 63] : '=';
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uLongf zlen = sizeof(packed) - 8;
	uint64_t sum = 0;
	size_t len;
	long n;
	unsigned i;

	if (size == 0 || size > 65536)
		return 0;
	hist_init(&h);
	if (data[0] == 'H') {
		if (hdrlog_decode((const char *)data, size, &h) == -1)
			return 0;
	} else {
		if (compress(packed + 8, &zlen, data + 1, size - 1) != Z_OK)
			return 0;
		memcpy(packed, "\x1c\x84\x93\x14", 4);
		packed[4] = (unsigned char)(zlen >> 24);
		packed[5] = (unsigned char)(zlen >> 16);
		packed[6] = (unsigned char)(zlen >> 8);
		packed[7] = (unsigned char)zlen;
		if (8 + zlen > (sizeof(text) - 8) / 4 * 3)
			return 0;
		len = to_base64(packed, 8 + zlen);
		if (hdrlog_decode(text, len, &h) == -1)
			return 0;
	}
	for (i = 0; i < HIST_BUCKETS; i++)
		sum += h.counts[i];
	FUZZ_CHECK(sum == hist_count(&h));
	n = hdrlog_encode(&h, text, sizeof(text));
	FUZZ_CHECK(n > 0);
	hist_init(&again);
	FUZZ_CHECK(hdrlog_decode(text, (size_t)n, &again) == 0);
	FUZZ_CHECK(memcmp(h.counts, again.counts, sizeof(h.counts)) == 0);
	return 0;
}
