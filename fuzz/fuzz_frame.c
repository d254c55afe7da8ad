/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_frame.c - the framing (frame.h) against a byte-by-byte reference.
 *
 * Input: byte 0 picks max_line (1 + its low 6 bits, so truncation is
 * common) and the framing (its top 2 bits: 0 LF, 1 octet counting, 2 and
 * 3 auto), byte 1 seeds how the rest is cut into reads; the rest is the
 * stream.  The stream goes through frame_commit in those reads and
 * frame_finish, to a receiver that pauses at some messages (FRAME_PAUSE,
 * then frame_resume until it takes them); the messages and faults must
 * equal the reference's, which applies the rules (frame.h) one byte at a
 * time, and after every read the framer's pending bytes must be the
 * reference's unfinished frame.  The same bytes as one datagram go
 * through frame_datagram against the reference's datagram rules.
 */
#include <string.h>

#include "frame.h"
#include "fuzz.h"

#define MAX_MSGS 4096

/* A message (reason NULL: text at log[off..off+len), full) or a fault
 * (reason, head at log[off..off+len), count, got). */
struct msg {
	size_t off, len, full;
	const char *reason;
	size_t count, got;
};

struct msgs {
	char log[1 << 16];
	size_t used;
	struct msg m[MAX_MSGS];
	size_t n;
	int overflow;
};

static void add_entry(struct msgs *ms, const char *text, size_t len,
		      struct msg entry)
{
	if (ms->n == MAX_MSGS || sizeof(ms->log) - ms->used < len) {
		ms->overflow = 1;
		return;
	}
	memcpy(ms->log + ms->used, text, len);
	entry.off = ms->used;
	entry.len = len;
	ms->m[ms->n++] = entry;
	ms->used += len;
}

static void add(struct msgs *ms, const char *text, size_t len, size_t full)
{
	add_entry(ms, text, len, (struct msg){.full = full});
}

static void add_fault(struct msgs *ms, const char *reason, const char *head,
		      size_t head_len, size_t count, size_t got)
{
	add_entry(ms, head, head_len,
		  (struct msg){.reason = reason, .count = count, .got = got});
}

static int collect(void *ctx, const char *msg, size_t len, size_t full)
{
	FUZZ_CHECK(len > 0 && len <= full);
	add(ctx, msg, len, full);
	return 0;
}

static void collect_fault(void *ctx, const struct frame_fault *fault)
{
	FUZZ_CHECK(fault->reason != NULL);
	add_fault(ctx, fault->reason, fault->head, fault->head_len,
		  fault->count, fault->got);
}

/* A receiver that is not always ready: pauses at some messages (the
 * seed's bits say which), each of them once; the feeder resumes. */
static uint32_t pause_bits;
static int paused_once;

static int collect_pausing(void *ctx, const char *msg, size_t len, size_t full)
{
	int pause = pause_bits & 1;

	pause_bits = pause_bits >> 1 | (uint32_t)pause << 31;
	if (pause && !paused_once) {
		paused_once = 1;
		return FRAME_PAUSE;
	}
	paused_once = 0;
	return collect(ctx, msg, len, full);
}

/* ---- the reference ---- */

/* The LF rules for one message's bytes m[0..n) (terminator excluded). */
static void ref_deliver(struct msgs *ms, const char *m, size_t n,
			size_t max_line)
{
	if (n > 0 && m[n - 1] == '\r')
		n--;
	if (n == 0)
		return;
	add(ms, m, n < max_line ? n : max_line, n);
}

/* The octet-counting rules for a whole counted message m[0..n). */
static void ref_counted(struct msgs *ms, const char *m, size_t n,
			size_t max_line)
{
	if (n > 0 && m[n - 1] == '\n')
		n--;
	if (n == 0)
		return;
	add(ms, m, n < max_line ? n : max_line, n);
}

enum { REF_LF, REF_OCTET, REF_UNDECIDED };
enum { REF_START, REF_LINE, REF_BODY };

/* The stream p as the reference reads it: the frame being read began at
 * p[fs] (its message, when counted, at p[body]). */
struct ref {
	const char *p;
	size_t max_line;
	int framing, state;
	size_t fs, body, count;
	struct msgs *out;
};

static int ref_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* How many digits h[0..n) starts with, and their value (saturating). */
static size_t ref_digits(const char *h, size_t n, size_t *value)
{
	size_t d = 0;

	*value = 0;
	for (; d < n && ref_digit(h[d]); d++)
		if (*value < 100000000)
			*value = *value * 10 + (size_t)(h[d] - '0');
	return d;
}

enum { REF_MORE, REF_NO, REF_YES };

/* FRAME_AUTO: whether a stream whose first bytes are h[0..n) is a
 * syslog sender counting octets: "COUNT SP <PRI>", COUNT 1 to 7 digits
 * worth 1..FRAME_MAX_LINE_LIMIT, PRI 1 to 3 digits worth at most 191. */
static int ref_auto(const char *h, size_t n)
{
	size_t count, pri, d = ref_digits(h, n, &count), e, pd;

	if (d == n)
		return d <= 7 ? REF_MORE : REF_NO;
	if (d == 0 || d > 7 || h[d] != ' ' || count == 0 ||
	    count > FRAME_MAX_LINE_LIMIT)
		return REF_NO;
	if (d + 1 == n)
		return REF_MORE;
	if (h[d + 1] != '<')
		return REF_NO;
	e = d + 2;
	pd = ref_digits(h + e, n - e, &pri);
	if (e + pd == n)
		return pd <= 3 ? REF_MORE : REF_NO;
	return pd >= 1 && pd <= 3 && pri <= 191 && h[e + pd] == '>' ? REF_YES
								    : REF_NO;
}

static void ref_byte(struct ref *r, size_t i);

/* Reads p[from..to] again in the state just set. */
static void ref_again(struct ref *r, size_t from, size_t to)
{
	for (size_t j = from; j <= to; j++)
		ref_byte(r, j);
}

static void ref_next_frame(struct ref *r, size_t at)
{
	r->fs = at;
	r->state = r->framing == REF_LF ? REF_LINE : REF_START;
}

/* A bad count: the fault, then its frame's bytes so far as a line's. */
static void ref_bad_count(struct ref *r, const char *reason, size_t head_len,
			  size_t i)
{
	add_fault(r->out, reason, r->p + r->fs, head_len, 0, 0);
	r->state = REF_LINE;
	ref_again(r, r->fs, i);
}

/* The frame's head p[fs..i], its kind not known yet. */
static void ref_start(struct ref *r, size_t i)
{
	const char *h = r->p + r->fs;
	size_t n = i + 1 - r->fs, count, d;

	if (r->framing == REF_UNDECIDED) {
		int verdict = ref_auto(h, n);

		if (verdict == REF_MORE)
			return;
		r->framing = verdict == REF_YES ? REF_OCTET : REF_LF;
		ref_again(r, r->fs, i); /* still at the start */
		return;
	}
	if (r->framing == REF_LF || !ref_digit(h[0])) {
		r->state = REF_LINE;
		ref_again(r, r->fs, i);
		return;
	}
	d = ref_digits(h, n, &count);
	if (d == n) {
		if (d > 7)
			ref_bad_count(r, "count-too-large", d, i);
		return;
	}
	if (h[d] != ' ')
		ref_bad_count(r, "count-not-a-number", d + 1, i);
	else if (count == 0)
		ref_bad_count(r, "count-zero", d, i);
	else if (count > FRAME_MAX_LINE_LIMIT)
		ref_bad_count(r, "count-too-large", d, i);
	else {
		r->state = REF_BODY;
		r->count = count;
		r->body = i + 1;
	}
}

static void ref_byte(struct ref *r, size_t i)
{
	switch (r->state) {
	case REF_START:
		ref_start(r, i);
		break;
	case REF_LINE:
		if (r->p[i] == '\n' || r->p[i] == '\0') {
			ref_deliver(r->out, r->p + r->fs, i - r->fs,
				    r->max_line);
			ref_next_frame(r, i + 1);
		}
		break;
	default:
		if (i + 1 - r->body == r->count) {
			ref_counted(r->out, r->p + r->body, r->count,
				    r->max_line);
			ref_next_frame(r, i + 1);
		}
	}
}

/* End of stream at p[n]. */
static void ref_end(struct ref *r, size_t n)
{
	if (r->state == REF_BODY) {
		size_t got = n - r->body;

		add_fault(r->out, "cut-short", "", 0, r->count, got);
		if (got > 0)
			add(r->out, r->p + r->body,
			    got < r->max_line ? got : r->max_line, got);
		return;
	}
	ref_deliver(r->out, r->p + r->fs, n - r->fs, r->max_line);
}

static void ref_datagram(struct msgs *ms, const char *p, size_t n,
			 size_t max_line)
{
	size_t end = 0, start = 0;

	while (end < n && p[end] != '\0')
		end++;
	for (size_t i = 0; i < end; i++) {
		if (p[i] == '\n') {
			ref_deliver(ms, p + start, i - start, max_line);
			start = i + 1;
		}
	}
	ref_deliver(ms, p + start, end - start, max_line);
}

static void expect_same(const struct msgs *a, const struct msgs *b)
{
	if (a->overflow || b->overflow)
		return;
	FUZZ_CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct msg *x = &a->m[i], *y = &b->m[i];

		FUZZ_CHECK((x->reason == NULL) == (y->reason == NULL));
		FUZZ_CHECK(x->reason == NULL ||
			   strcmp(x->reason, y->reason) == 0);
		FUZZ_CHECK(x->len == y->len);
		FUZZ_CHECK(x->full == y->full);
		FUZZ_CHECK(x->count == y->count && x->got == y->got);
		FUZZ_CHECK(memcmp(a->log + x->off, b->log + y->off, x->len) ==
			   0);
	}
}

static struct msgs got, want;

static const enum frame_framing framings[4] = {FRAME_LF, FRAME_OCTET,
					       FRAME_AUTO, FRAME_AUTO};
static const int ref_framings[4] = {REF_LF, REF_OCTET, REF_UNDECIDED,
				    REF_UNDECIDED};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 2;
	size_t n, max_line, off = 0, fed = 0;
	uint32_t seed;
	struct frame f;
	struct ref ref;
	int rc;

	if (size < 2)
		return 0;
	max_line = 1 + data[0] % 64;
	seed = data[1] * 2654435761u + 1;
	pause_bits = seed;
	paused_once = 0;
	n = size - 2;

	got.used = got.n = 0;
	got.overflow = 0;
	want.used = want.n = 0;
	want.overflow = 0;
	ref = (struct ref){.p = p,
			   .max_line = max_line,
			   .framing = ref_framings[data[0] >> 6],
			   .out = &want};
	ref_next_frame(&ref, 0);
	FUZZ_CHECK(frame_init(&f, max_line) == 0);
	frame_set_framing(&f, framings[data[0] >> 6], collect_fault);
	while (off < n) {
		size_t room, len;
		char *space = frame_space(&f, &room);

		seed = seed * 1103515245u + 12345u;
		len = 1 + (seed >> 16) % 97;
		if (len > n - off)
			len = n - off;
		FUZZ_CHECK(room >= FRAME_READ_SIZE && room >= len);
		memcpy(space, p + off, len);
		rc = frame_commit(&f, len, collect_pausing, &got);
		while (rc == FRAME_PAUSE) {
			FUZZ_CHECK(frame_paused(&f));
			rc = frame_resume(&f, collect_pausing, &got);
		}
		FUZZ_CHECK(rc == 0 && !frame_paused(&f));
		off += len;
		/* The unfinished frame is the reference's, count and all. */
		for (; fed < off; fed++)
			ref_byte(&ref, fed);
		FUZZ_CHECK(frame_pending(&f) == off - ref.fs);
	}
	FUZZ_CHECK(frame_finish(&f, collect, &got) == 0);
	FUZZ_CHECK(frame_pending(&f) == 0);
	frame_free(&f);
	ref_end(&ref, n);
	expect_same(&got, &want);

	got.used = got.n = 0;
	want.used = want.n = 0;
	FUZZ_CHECK(frame_datagram(p, n, max_line, collect, &got) == 0);
	ref_datagram(&want, p, n, max_line);
	expect_same(&got, &want);
	return 0;
}
