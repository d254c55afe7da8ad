/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame.c - message framing; the contract is in frame.h.
 */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swar.h"

int frame_init(struct frame *f, size_t max_line)
{
	memset(f, 0, sizeof(*f));
	if (max_line == 0 || max_line > FRAME_MAX_LINE_LIMIT) {
		errno = EINVAL;
		return -1;
	}
	f->cap = max_line + FRAME_READ_SIZE;
	f->buf = malloc(f->cap);
	if (f->buf == NULL)
		return -1;
	f->max_line = max_line;
	return 0;
}

void frame_free(struct frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->full_len = 0;
}

char *frame_space(struct frame *f, size_t *room)
{
	*room = f->cap - f->len;
	return f->buf + f->len;
}

size_t frame_pending(const struct frame *f)
{
	return f->full_len;
}

/* Index of the first '\n' or '\0' in p[0..n), or n.  Whole words are
 * skipped while they hold neither. */
static size_t find_terminator(const char *p, size_t n)
{
	size_t i = 0;

	while (n - i >= 8) {
		uint64_t v = swar_load(p + i);

		if (swar_has_byte(v, '\n') || swar_has_less(v, 1))
			break;
		i += 8;
	}
	for (; i < n; i++)
		if (p[i] == '\n' || p[i] == '\0')
			break;
	return i;
}

/*
 * Delivers one message whose bytes kept in memory are text[0..raw) (raw
 * may exceed max_line; only max_line of them are shown), whose real
 * length is full and whose last real byte is last.
 */
static int deliver(const char *text, size_t raw, size_t full, char last,
		   size_t max_line, frame_fn fn, void *ctx)
{
	size_t keep = raw < max_line ? raw : max_line;

	if (full > 0 && last == '\r') {
		full--;
		if (keep > full)
			keep = full;
	}
	if (full == 0)
		return 0;
	return fn(ctx, text, keep, full);
}

/*
 * Delivers the messages of buf[start, end): the first one's bytes before
 * buf[f->len] were scanned already (no terminator), and dropped of its
 * bytes were not kept.  Keeps the unterminated rest, or on FRAME_PAUSE
 * the paused message and all after it.
 */
static int frame_scan(struct frame *f, size_t start, size_t end, size_t dropped,
		      frame_fn fn, void *ctx)
{
	size_t i = start > f->len ? start : f->len;
	int rc;

	f->paused = false;
	while (i < end) {
		size_t t = i + find_terminator(f->buf + i, end - i);
		char last;

		if (t == end)
			break;
		/* The byte before the terminator is in buf unless the
		 * terminator is the first new byte of an overflowing
		 * message, whose last real byte was dropped. */
		if (t == f->len && dropped > 0)
			last = f->last;
		else
			last = t > start ? f->buf[t - 1] : '\0';
		rc = deliver(f->buf + start, t - start, t - start + dropped,
			     last, f->max_line, fn, ctx);
		if (rc == FRAME_PAUSE) {
			f->paused = true;
			f->paused_at = start;
			f->paused_end = end;
			f->paused_dropped = dropped;
			return rc;
		}
		if (rc != 0) {
			f->len = f->full_len = 0;
			return rc;
		}
		start = i = t + 1;
		dropped = 0;
	}
	/* Keep the head of the unterminated rest for the next read. */
	f->full_len = end - start + dropped;
	f->len = end - start < f->max_line ? end - start : f->max_line;
	if (end > start)
		f->last = f->buf[end - 1];
	if (start > 0 && f->len > 0)
		memmove(f->buf, f->buf + start, f->len);
	return 0;
}

int frame_commit(struct frame *f, size_t n, frame_fn fn, void *ctx)
{
	return frame_scan(f, 0, f->len + n, f->full_len - f->len, fn, ctx);
}

bool frame_paused(const struct frame *f)
{
	return f->paused;
}

int frame_resume(struct frame *f, frame_fn fn, void *ctx)
{
	if (!f->paused)
		return 0;
	return frame_scan(f, f->paused_at, f->paused_end, f->paused_dropped, fn,
			  ctx);
}

int frame_finish(struct frame *f, frame_fn fn, void *ctx)
{
	size_t full = f->full_len;
	size_t raw = f->len;

	f->len = f->full_len = 0;
	f->paused = false;
	if (full == 0)
		return 0;
	return deliver(f->buf, raw, full, f->last, f->max_line, fn, ctx);
}

int frame_datagram(const char *data, size_t len, size_t max_line, frame_fn fn,
		   void *ctx)
{
	const char *nul = memchr(data, '\0', len);
	const char *end = nul ? nul : data + len;
	const char *p = data;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		size_t raw = (size_t)(stop - p);
		int rc;

		rc = deliver(p, raw, raw, raw > 0 ? stop[-1] : '\0', max_line,
			     fn, ctx);
		if (rc != 0)
			return rc;
		p = stop + 1;
	}
	return 0;
}
