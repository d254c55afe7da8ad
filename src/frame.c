/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame.c - message framing; the contract is in frame.h.
 */
#include "frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "swar.h"

/* Where a stream's pending frame is (struct frame's state). */
enum {
	IN_LINE,  /* in an LF-framed message (all of FRAME_LF's) */
	AT_START, /* at a frame's first bytes, its kind not known yet */
	IN_BODY	  /* in an octet-counted message, its count read */
};

/* Digits of the largest count taken, FRAME_MAX_LINE_LIMIT (1048576). */
#define COUNT_DIGITS 7
/* A syslog PRI (RFC 5424 6.2.1): up to 3 digits, at most 191. */
#define PRI_DIGITS 3
#define PRI_MAX	   191

int frame_init(struct frame *f, size_t max_line)
{
	memset(f, 0, sizeof(*f));
	if (max_line == 0 || max_line > FRAME_MAX_LINE_LIMIT) {
		errno = EINVAL;
		return -1;
	}
	f->cap = frame_buffer_size(max_line);
	f->buf = malloc(f->cap);
	if (f->buf == NULL)
		return -1;
	f->max_line = max_line;
	f->framing = FRAME_LF;
	f->state = IN_LINE;
	return 0;
}

void frame_free(struct frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->full_len = 0;
}

/* Nothing pending: the next byte starts a frame. */
static void frame_empty(struct frame *f)
{
	f->len = f->full_len = 0;
	f->state = f->framing == FRAME_LF ? IN_LINE : AT_START;
}

void frame_set_framing(struct frame *f, enum frame_framing framing,
		       frame_fault_fn on_fault)
{
	f->framing = (unsigned char)framing;
	f->on_fault = on_fault;
	frame_empty(f);
}

char *frame_space(struct frame *f, size_t *room)
{
	*room = f->cap - f->len;
	return f->buf + f->len;
}

size_t frame_pending(const struct frame *f)
{
	return f->full_len + (f->state == IN_BODY ? f->head_len : 0);
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
 * Delivers one LF-framed message whose bytes kept in memory are
 * text[0..raw) (raw may exceed max_line; only max_line of them are
 * shown), whose real length is full and whose last real byte is last.
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
 * Delivers an octet-counted message of count bytes whose last raw bytes
 * are text[0..raw), raw >= 1 (the ones before were dropped, and only
 * max_line are shown): one trailing '\n' goes.
 */
static int deliver_counted(const char *text, size_t raw, size_t count,
			   size_t max_line, frame_fn fn, void *ctx)
{
	size_t full = count - (text[raw - 1] == '\n');
	size_t keep = raw < max_line ? raw : max_line;

	if (keep > full)
		keep = full;
	if (full == 0)
		return 0;
	return fn(ctx, text, keep, full);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads at most max digits of p[0..n) into *v; returns how many. */
static size_t read_digits(const char *p, size_t n, size_t max, size_t *v)
{
	size_t i = 0;

	*v = 0;
	while (i < n && i < max && is_digit(p[i]))
		*v = *v * 10 + (size_t)(p[i++] - '0');
	return i;
}

/* Whether p[0..n) (n >= 1) starts "DIGITS SP <PRI>" with a count that
 * octet counting takes: 1 or 0, or -1 when its n bytes fit so far. */
static int looks_counted(const char *p, size_t n)
{
	size_t count, pri, digits, i = read_digits(p, n, COUNT_DIGITS, &count);

	if (i == n)
		return -1;
	if (i == 0 || p[i] != ' ' || count == 0 || count > FRAME_MAX_LINE_LIMIT)
		return 0;
	if (++i == n)
		return -1;
	if (p[i++] != '<')
		return 0;
	digits = read_digits(p + i, n - i, PRI_DIGITS, &pri);
	i += digits;
	if (i == n)
		return -1;
	return digits > 0 && pri <= PRI_MAX && p[i] == '>';
}

/* Tells f's owner about a fault. */
static void report(const struct frame *f, void *ctx,
		   const struct frame_fault *fault)
{
	if (f->on_fault != NULL)
		f->on_fault(ctx, fault);
}

/*
 * The kind of the frame whose first bytes are buf[*start, end) (at least
 * one): IN_LINE; IN_BODY, with f->count and f->head_len set and *start
 * moved past the count; or AT_START while they cannot tell.  A count
 * that is none is reported and its frame read as a line.
 */
static int frame_head(struct frame *f, size_t *start, size_t end, void *ctx)
{
	const char *p = f->buf + *start;
	size_t n = end - *start, count, i;
	struct frame_fault bad = {.head = p};

	if (f->framing == FRAME_AUTO) {
		int counted = looks_counted(p, n);

		if (counted == -1)
			return AT_START;
		f->framing = counted ? FRAME_OCTET : FRAME_LF;
	}
	if (f->framing == FRAME_LF || !is_digit(p[0]))
		return IN_LINE;
	i = read_digits(p, n, COUNT_DIGITS, &count);
	if (i == n)
		return AT_START;
	if (is_digit(p[i])) {
		bad.reason = "count-too-large";
		bad.head_len = i + 1;
	} else if (p[i] != ' ') {
		bad.reason = "count-not-a-number";
		bad.head_len = i + 1;
	} else if (count == 0 || count > FRAME_MAX_LINE_LIMIT) {
		bad.reason = count == 0 ? "count-zero" : "count-too-large";
		bad.head_len = i;
	} else {
		f->count = count;
		f->head_len = i + 1;
		*start += i + 1;
		return IN_BODY;
	}
	report(f, ctx, &bad);
	return IN_LINE;
}

/*
 * Keeps the frame paused at (it began at buf[at]) and the input after
 * it, up to end.  A frame that began in this scan is read again from its
 * start, as a line or (counted) from its count; one that continues f's
 * pending frame keeps f's fields as they are.
 */
static int frame_pause(struct frame *f, size_t at, size_t end, int state,
		       bool continued)
{
	f->paused = true;
	f->paused_at = at;
	f->paused_end = end;
	if (!continued) {
		f->len = f->full_len = 0;
		f->state = state == IN_BODY ? AT_START : IN_LINE;
	}
	return FRAME_PAUSE;
}

/* Keeps the unfinished frame buf[start, end) (dropped bytes before it)
 * for the next read: a message's first max_line bytes, or all of a head
 * whose kind is not known yet. */
static void frame_keep(struct frame *f, size_t start, size_t end,
		       size_t dropped, int state)
{
	f->state = (unsigned char)state;
	f->full_len = end - start + dropped;
	f->len = end - start;
	if (state != AT_START && f->len > f->max_line)
		f->len = f->max_line;
	if (end > start)
		f->last = f->buf[end - 1];
	if (start > 0 && f->len > 0)
		memmove(f->buf, f->buf + start, f->len);
}

/*
 * Delivers the frames of buf[from, end).  The first one's state is f's:
 * its f->len bytes at from were scanned already, f->full_len - f->len
 * before them were dropped.  Keeps the unfinished rest, or on
 * FRAME_PAUSE the paused frame and all after it (f's fields then
 * describe the paused frame, at paused_at).
 */
static int frame_scan(struct frame *f, size_t from, size_t end, frame_fn fn,
		      void *ctx)
{
	size_t start = from, seen = from + f->len;
	size_t dropped = f->full_len - f->len;
	int state = f->state;
	bool continued = state != AT_START; /* began before this scan */
	int rc;

	f->paused = false;
	for (;;) {
		size_t frame_at = start, next;

		if (state == AT_START) {
			if (start == end)
				break;
			state = frame_head(f, &start, end, ctx);
			if (state == AT_START)
				break;
			seen = start;
		}
		if (state == IN_LINE) {
			size_t t = seen +
				   find_terminator(f->buf + seen, end - seen);
			char last;

			if (t == end)
				break;
			/* The byte before the terminator is in buf unless
			 * the terminator is the first new byte of an
			 * overflowing message, whose last byte was dropped. */
			if (t == seen && dropped > 0)
				last = f->last;
			else
				last = t > start ? f->buf[t - 1] : '\0';
			rc = deliver(f->buf + start, t - start,
				     t - start + dropped, last, f->max_line, fn,
				     ctx);
			next = t + 1;
		} else {
			size_t need = f->count - (seen - start + dropped);

			if (end - seen < need)
				break;
			next = seen + need;
			rc = deliver_counted(f->buf + start, next - start,
					     f->count, f->max_line, fn, ctx);
		}
		if (rc == FRAME_PAUSE)
			return frame_pause(f, frame_at, end, state, continued);
		if (rc != 0) {
			frame_empty(f);
			return rc;
		}
		start = seen = next;
		dropped = 0;
		continued = false;
		state = f->framing == FRAME_LF ? IN_LINE : AT_START;
	}
	frame_keep(f, start, end, dropped, state);
	return 0;
}

int frame_commit(struct frame *f, size_t n, frame_fn fn, void *ctx)
{
	return frame_scan(f, 0, f->len + n, fn, ctx);
}

bool frame_paused(const struct frame *f)
{
	return f->paused;
}

int frame_resume(struct frame *f, frame_fn fn, void *ctx)
{
	if (!f->paused)
		return 0;
	return frame_scan(f, f->paused_at, f->paused_end, fn, ctx);
}

int frame_finish(struct frame *f, frame_fn fn, void *ctx)
{
	size_t full = f->full_len;
	size_t raw = f->len;
	int state = f->state;

	frame_empty(f);
	f->paused = false;
	if (state == IN_BODY) {
		struct frame_fault cut = {
			.reason = "cut-short", .count = f->count, .got = full};

		report(f, ctx, &cut);
		return full == 0 ? 0 : fn(ctx, f->buf, raw, full);
	}
	/* A line, or a head that never told what it was: a line. */
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
