/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hdrlog.c - see hdrlog.h.
 *
 * Byte formats, from HdrHistogram's AbstractHistogram.encodeInto*():
 *
 *   compressed:   int32 cookie 0x1c849314, int32 n, n bytes of zlib
 *   uncompressed: int32 cookie 0x1c849313, int32 payload length,
 *                 int32 normalizing index offset (0; ignored when
 *                 read), int32 significant
 *                 digits, int64 lowest discernible value, int64 highest
 *                 trackable value, double integer-to-double ratio (1.0),
 *                 then the payload: the counts from index 0 to the max
 *                 value's, each ZigZag LEB128 (at most 9 bytes, the 9th
 *                 carrying 8 bits), a run of n > 1 zeros as -n.
 *
 * All integers are big-endian.  The cookies' 0x10 is the word-size nibble
 * HdrHistogram sets; readers compare them with that nibble masked off.
 */
#include "hdrlog.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define V2_COOKIE	     0x1c849303u
#define V2_COMPRESSED_COOKIE 0x1c849304u
#define WORD_SIZE_NIBBLE     0x10u
#define COOKIE_BASE(c)	     ((c) & ~0xf0u)

#define V2_HEADER      40
#define COMPRESSED_HDR 8

/* Largest payload we inflate from a foreign log: 2^20 counts of 9 bytes
 * is far beyond any histogram a latency tool writes. */
#define INFLATE_MAX ((size_t)9 << 20)

/* More counts than any layout HdrHistogram allows has (64 buckets of
 * 2^17 sub-buckets at 5 digits is 2^23): a run of zeros past it is
 * corrupt. */
#define INDEX_MAX (1ull << 32)

/* A line of a log: the base64 of one histogram and a few numbers. */
#define LINE_MAX_LEN (HDRLOG_B64_MAX + 256)

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ZigZag LEB128 as HdrHistogram's ZigZagEncoding.putLong(). */
static size_t put_zigzag(unsigned char *p, int64_t v)
{
	/* ZigZag: 0, -1, 1, -2, ... as 0, 1, 2, 3, ... */
	uint64_t u = v < 0 ? ((uint64_t) - (v + 1) << 1) | 1 : (uint64_t)v << 1;
	size_t n = 0;

	while (n < 8 && u >= 0x80) {
		p[n++] = (unsigned char)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (unsigned char)u; /* the 9th byte holds 8 bits */
	return n;
}

/* Reads one; the bytes used, or 0 when p[0..len) ends first. */
static size_t get_zigzag(const unsigned char *p, size_t len, int64_t *v)
{
	uint64_t u = 0;
	size_t n;

	for (n = 0; n < len && n < 9; n++) {
		if (n == 8) {
			u |= (uint64_t)p[n] << 56;
			break;
		}
		u |= (uint64_t)(p[n] & 0x7f) << (7 * n);
		if (!(p[n] & 0x80))
			break;
	}
	if (n == len)
		return 0;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return n + 1;
}

/* V2, uncompressed, into buf (room for V2_HEADER + 9 per count). */
static size_t encode_v2(const struct hist *h, unsigned char *buf)
{
	unsigned limit = 0, i, zeros;
	unsigned char *p = buf + V2_HEADER;
	uint64_t one = 0;
	double ratio = 1.0;

	for (i = 0; i < HIST_BUCKETS; i++)
		if (h->counts[i] != 0)
			limit = i + 1;
	for (i = 0; i < limit;) {
		if (h->counts[i] != 0) {
			p += put_zigzag(p, (int64_t)h->counts[i++]);
			continue;
		}
		for (zeros = 0; i < limit && h->counts[i] == 0; i++)
			zeros++;
		p += put_zigzag(p, zeros > 1 ? -(int64_t)zeros : 0);
	}
	memcpy(&one, &ratio, sizeof(one));
	put_be32(buf, V2_COOKIE | WORD_SIZE_NIBBLE);
	put_be32(buf + 4, (uint32_t)(p - buf - V2_HEADER));
	put_be32(buf + 8, 0);
	put_be32(buf + 12, HIST_SIG_DIGITS);
	put_be64(buf + 16, 1);
	put_be64(buf + 24, HIST_MAX);
	put_be64(buf + 32, one);
	return (size_t)(p - buf);
}

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, n = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[n++] = b64_chars[v >> 18];
		out[n++] = b64_chars[(v >> 12) & 63];
		out[n++] = b64_chars[(v >> 6) & 63];
		out[n++] = b64_chars[v & 63];
	}
	if (i < len) { /* 1 or 2 bytes left: padded with zeros and '=' */
		unsigned char last[3] = {0, 0, 0};

		memcpy(last, in + i, len - i);
		v = (uint32_t)last[0] << 16 | (uint32_t)last[1] << 8;
		out[n++] = b64_chars[v >> 18];
		out[n++] = b64_chars[(v >> 12) & 63];
		out[n++] = i + 1 < len ? b64_chars[(v >> 6) & 63] : '=';
		out[n++] = '=';
	}
	out[n] = '\0';
	return n;
}

static int base64_value(char c)
{
	const char *at = c == '\0' ? NULL : strchr(b64_chars, c);

	return at == NULL ? -1 : (int)(at - b64_chars);
}

/* Decodes into out (room for len / 4 * 3); the bytes, or -1. */
static long base64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t i, n = 0;
	uint32_t v;
	int k, d = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				d = 0;
				if (k == 2 && in[i + 3] != '=')
					return -1;
			} else if ((d = base64_value(in[i + k])) == -1) {
				return -1;
			}
			v = v << 6 | (uint32_t)d;
		}
		out[n++] = (unsigned char)(v >> 16);
		if (in[i + 2] != '=')
			out[n++] = (unsigned char)(v >> 8);
		if (in[i + 3] != '=')
			out[n++] = (unsigned char)v;
	}
	return (long)n;
}

long hdrlog_encode(const struct hist *h, char *out, size_t cap)
{
	size_t raw_cap = V2_HEADER + (size_t)HIST_BUCKETS * 9, raw_len;
	unsigned char *raw = malloc(raw_cap);
	const uLongf zcap = compressBound(raw_cap);
	uLongf zlen = zcap;
	unsigned char *z = malloc(COMPRESSED_HDR + zcap);
	long n = -1;

	if (raw == NULL || z == NULL) {
		errno = ENOMEM;
		goto out;
	}
	raw_len = encode_v2(h, raw);
	if (compress2(z + COMPRESSED_HDR, &zlen, raw, raw_len,
		      Z_DEFAULT_COMPRESSION) != Z_OK ||
	    zlen > zcap) {
		errno = ENOMEM;
		goto out;
	}
	put_be32(z, V2_COMPRESSED_COOKIE | WORD_SIZE_NIBBLE);
	put_be32(z + 4, (uint32_t)zlen);
	if ((COMPRESSED_HDR + zlen + 2) / 3 * 4 + 1 > cap) {
		errno = ENOSPC;
		goto out;
	}
	n = (long)base64_encode(z, COMPRESSED_HDR + zlen, out);
out:
	free(raw);
	free(z);
	return n;
}

/* A V2 header's layout, for histograms written by other tools. */
struct layout {
	unsigned sub_half_bits; /* log2 of half the sub-bucket count */
	unsigned unit_bits;	/* log2 of the lowest discernible value */
};

static int layout_of(const unsigned char *hdr, struct layout *l)
{
	uint32_t digits = get_be32(hdr + 12);
	uint64_t lowest = get_be64(hdr + 16), largest;
	unsigned bits = 0;

	/* The normalizing index offset (hdr + 8) is ignored, as
	 * HdrHistogram_c and hdr-histogram-js do (the latter writes 1):
	 * only Java's shifted histograms use it. */
	if (digits > 5 || lowest < 1)
		return -1; /* HdrHistogram's own limits */
	largest = 2;
	while (digits-- > 0)
		largest *= 10;
	while ((1ull << bits) < largest)
		bits++;
	l->sub_half_bits = bits - 1;
	for (l->unit_bits = 0;
	     l->unit_bits < 63 && lowest >> (l->unit_bits + 1) != 0;)
		l->unit_bits++;
	/* HdrHistogram's own check: the sub-buckets must fit in 64 bits. */
	return l->unit_bits + l->sub_half_bits > 61 ? -1 : 0;
}

/* HdrHistogram's valueFromIndex() for layout l; UINT64_MAX beyond 64
 * bits. */
static uint64_t layout_value(const struct layout *l, uint64_t index)
{
	int64_t bucket = (int64_t)(index >> l->sub_half_bits) - 1;
	uint64_t half = 1ull << l->sub_half_bits;
	uint64_t sub = (index & (half - 1)) + half;

	if (bucket < 0) {
		sub -= half;
		bucket = 0;
	}
	if (bucket >= 64 ||
	    (unsigned)bucket + l->unit_bits + l->sub_half_bits + 1 >= 64)
		return UINT64_MAX;
	return sub << ((unsigned)bucket + l->unit_bits);
}

/* Adds the counts of an uncompressed V2 histogram to h. */
static int add_v2(const unsigned char *buf, size_t len, struct hist *h)
{
	const unsigned char *p = buf + V2_HEADER;
	uint64_t index = 0, value;
	unsigned bucket;
	struct layout l;
	size_t left, n;
	int64_t v;

	if (len < V2_HEADER || COOKIE_BASE(get_be32(buf)) != V2_COOKIE ||
	    get_be32(buf + 4) > len - V2_HEADER || layout_of(buf, &l) == -1)
		return -1;
	left = get_be32(buf + 4);
	while (left > 0) {
		n = get_zigzag(p, left, &v);
		if (n == 0)
			return -1;
		p += n;
		left -= n;
		if (v < 0) { /* a run of empty buckets */
			index += -(uint64_t)v;
			if (index > INDEX_MAX)
				return -1;
			continue;
		}
		value = layout_value(&l, index++);
		if (v == 0)
			continue;
		bucket = hist_index_of(value > HIST_MAX ? HIST_MAX : value);
		/* Counts are int64 in the format: a sum past that is
		 * corrupt, and could not be written again. */
		if (h->counts[bucket] > (uint64_t)INT64_MAX - (uint64_t)v)
			return -1;
		hist_add_bucket(h, bucket, (uint64_t)v);
	}
	return 0;
}

int hdrlog_decode(const char *b64, size_t len, struct hist *h)
{
	unsigned char *z = malloc(len / 4 * 3 + 3), *raw = NULL;
	uLongf raw_len = 0;
	size_t cap = 1 << 16;
	int rc = -1, zr;
	long n;

	if (z == NULL) {
		errno = ENOMEM;
		return -1;
	}
	n = base64_decode(b64, len, z);
	errno = EINVAL;
	if (n < COMPRESSED_HDR ||
	    COOKIE_BASE(get_be32(z)) != V2_COMPRESSED_COOKIE ||
	    get_be32(z + 4) > (uint64_t)n - COMPRESSED_HDR)
		goto out;
	/* The inflated size is not stored: grow until it fits. */
	for (;;) {
		free(raw);
		raw = malloc(cap);
		if (raw == NULL) {
			errno = ENOMEM;
			goto out;
		}
		raw_len = cap;
		zr = uncompress(raw, &raw_len, z + COMPRESSED_HDR,
				get_be32(z + 4));
		if (zr != Z_BUF_ERROR || cap >= INFLATE_MAX)
			break;
		cap *= 4;
	}
	if (zr == Z_OK && add_v2(raw, raw_len, h) == 0)
		rc = 0;
	else
		errno = EINVAL;
out:
	free(z);
	free(raw);
	return rc;
}

int hdrlog_open(struct hdrlog_writer *w, const char *path, double start,
		const char *comment, char *err, size_t errlen)
{
	time_t secs = (time_t)start;
	char date[64];
	struct tm tm;

	w->line = malloc(HDRLOG_B64_MAX);
	w->fp = fopen(path, "w");
	if (w->fp == NULL || w->line == NULL) {
		snprintf(err, errlen, "--hdr-log %s: %s", path,
			 strerror(errno));
		if (w->fp != NULL)
			fclose(w->fp);
		free(w->line);
		return -1;
	}
	/* Java's Date.toString(), as HistogramLogWriter prints it. */
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm) == 0)
		date[0] = '\0';
	fprintf(w->fp,
		"#%s\n"
		"#[Histogram log format version 1.3]\n"
		"#[StartTime: %.3f (seconds since epoch), %s]\n"
		"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
		"\"Interval_Compressed_Histogram\"\n",
		comment, start, date);
	return 0;
}

int hdrlog_interval(struct hdrlog_writer *w, double start, double length,
		    const struct hist *h)
{
	if (hdrlog_encode(h, w->line, HDRLOG_B64_MAX) == -1)
		return -1;
	/* Interval_Max in milliseconds: the values are microseconds. */
	if (fprintf(w->fp, "%.3f,%.3f,%.3f,%s\n", start, length,
		    (double)hist_max(h) / 1000.0, w->line) < 0)
		return -1;
	return 0;
}

int hdrlog_close(struct hdrlog_writer *w)
{
	int bad = ferror(w->fp);

	free(w->line);
	if (fclose(w->fp) == EOF || bad) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

/* The base64 field of an interval line: after an optional "Tag=...,",
 * the fourth comma-separated field.  NULL when the line has none. */
static const char *histogram_field(char *line, size_t *len)
{
	char *p = line, *end;
	int i;

	if (strncmp(p, "Tag=", 4) == 0) {
		p = strchr(p, ',');
		if (p == NULL)
			return NULL;
		p++;
	}
	for (i = 0; i < 3; i++) {
		p = strchr(p, ',');
		if (p == NULL)
			return NULL;
		p++;
	}
	end = p + strcspn(p, ",\r\n");
	*len = (size_t)(end - p);
	return p;
}

long hdrlog_read(const char *path, struct hist *h, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = malloc(LINE_MAX_LEN);
	const char *field;
	long count = -1, lineno = 0;
	size_t len;

	if (fp == NULL || line == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	count = 0;
	while (fgets(line, LINE_MAX_LEN, fp) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '"' || line[0] == '\n' ||
		    line[0] == '\r')
			continue; /* comments, the legend, blank lines */
		field = histogram_field(line, &len);
		if (field == NULL || hdrlog_decode(field, len, h) == -1) {
			snprintf(err, errlen,
				 "%s:%ld: not an HdrHistogram interval line",
				 path, lineno);
			errno = EINVAL;
			count = -1;
			goto out;
		}
		count++;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		count = -1;
	}
out:
	if (fp != NULL)
		fclose(fp);
	free(line);
	return count;
}
