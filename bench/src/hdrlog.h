/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hdrlog.h - HdrHistogram's interval log: flood's histograms out to it,
 * and logs (flood's or any HdrHistogram tool's) back in.
 *
 * The format is HdrHistogram's HistogramLogWriter's (log format 1.3),
 * so HdrHistogram's own libraries and tools, in any language, read what
 * flood writes:
 *
 *	#[Histogram log format version 1.3]
 *	#[StartTime: 1764059135.123 (seconds since epoch), Wed Nov 25 ...]
 *	"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
 *	0.000,1.000,0.123,HISTFAAAA...
 *
 * one line per interval: its start (seconds after StartTime), its
 * length, its max (in milliseconds: values are microseconds) and the
 * histogram in HdrHistogram's compressed V2 encoding, base64.  V2 is a
 * 40-byte big-endian header (cookie, payload length, normalizing index
 * offset, significant digits, lowest discernible value, highest
 * trackable value, integer-to-double ratio) and the counts as ZigZag
 * LEB128 numbers, a run of n > 1 empty buckets written as -n; the
 * compressed form is a cookie, a length and that, deflated by zlib.
 *
 * Reading adds every interval of a log into one struct hist.  A
 * histogram with flood's layout lands in its own buckets (nothing is
 * re-binned); another layout's buckets are added at their lowest value,
 * as HdrHistogram's own add() does.  Tagged lines ("Tag=x,") count as
 * well.
 *
 * Errors: -1 with errno and, where there is an err buffer, a one-line
 * message naming the file and line.  Memory: the writer owns its FILE;
 * decoding allocates a scratch buffer and frees it before returning.
 * Threads: any, one writer per thread.
 */
#ifndef FLOOD_HDRLOG_H
#define FLOOD_HDRLOG_H

#include "hist.h"

#include <stddef.h>
#include <stdio.h>

/* Base64 of a compressed histogram with flood's layout: at worst 9
 * bytes a count plus the headers, deflate's overhead and 4/3. */
#define HDRLOG_B64_MAX ((HIST_BUCKETS * 9 + 64 + 1024) / 3 * 4 + 8)

/* Writes h, compressed and base64-encoded, into out (NUL-terminated).
 * The text's length, or -1 (ENOSPC when cap is too small, ENOMEM). */
long hdrlog_encode(const struct hist *h, char *out, size_t cap);

/* Adds the histogram in base64 text b64[0..len) to h.  0, or -1 with
 * errno EINVAL (not a V2 histogram, corrupt), ENOMEM. */
int hdrlog_decode(const char *b64, size_t len, struct hist *h);

struct hdrlog_writer {
	FILE *fp;
	char *line; /* HDRLOG_B64_MAX: one encoded histogram */
};

/* Creates path and writes the header; start is the log's StartTime
 * (seconds since the epoch).  0, or -1 with err. */
int hdrlog_open(struct hdrlog_writer *w, const char *path, double start,
		const char *comment, char *err, size_t errlen);

/* One interval: start seconds after StartTime, length seconds. 0 or -1
 * (a write error, errno set). */
int hdrlog_interval(struct hdrlog_writer *w, double start, double length,
		    const struct hist *h);

/* Flushes and closes.  0, or -1 (errno set) when anything written was
 * lost. */
int hdrlog_close(struct hdrlog_writer *w);

/* Adds every interval histogram of the log at path to h.  The number of
 * intervals, or -1 with err. */
long hdrlog_read(const char *path, struct hist *h, char *err, size_t errlen);

#endif
