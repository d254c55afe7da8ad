/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_frame.c - the framing (frame.h) against a byte-by-byte reference.
 *
 * Input: byte 0 picks max_line (1..64, so truncation is common), byte 1
 * seeds how the rest is cut into reads; the rest is the stream.  The
 * stream goes through frame_commit in those reads and frame_finish, to a
 * receiver that pauses at some messages (FRAME_PAUSE, then frame_resume
 * until it takes them); the messages must equal the reference's, which applies
 * the protocol's rules (frame.h) one byte at a time.  The same bytes as one
 * datagram go through frame_datagram against the reference's datagram rules.
 */
#include <string.h>

#include "frame.h"
#include "fuzz.h"

#define MAX_MSGS 4096

struct msg {
	size_t off, len, full; /* text at log[off..off+len) */
};

struct msgs {
	char log[1 << 16];
	size_t used;
	struct msg m[MAX_MSGS];
	size_t n;
	int overflow;
};

static void add(struct msgs *ms, const char *text, size_t len, size_t full)
{
	if (ms->n == MAX_MSGS || sizeof(ms->log) - ms->used < len) {
		ms->overflow = 1;
		return;
	}
	memcpy(ms->log + ms->used, text, len);
	ms->m[ms->n++] = (struct msg){ms->used, len, full};
	ms->used += len;
}

static int collect(void *ctx, const char *msg, size_t len, size_t full)
{
	FUZZ_CHECK(len > 0 && len <= full);
	add(ctx, msg, len, full);
	return 0;
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

/* The rules for one message's bytes m[0..n) (terminator excluded). */
static void ref_deliver(struct msgs *ms, const char *m, size_t n,
			size_t max_line)
{
	if (n > 0 && m[n - 1] == '\r')
		n--;
	if (n == 0)
		return;
	add(ms, m, n < max_line ? n : max_line, n);
}

static void ref_stream(struct msgs *ms, const char *p, size_t n,
		       size_t max_line)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' || p[i] == '\0') {
			ref_deliver(ms, p + start, i - start, max_line);
			start = i + 1;
		}
	}
	ref_deliver(ms, p + start, n - start, max_line); /* end of stream */
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
		FUZZ_CHECK(a->m[i].len == b->m[i].len);
		FUZZ_CHECK(a->m[i].full == b->m[i].full);
		FUZZ_CHECK(memcmp(a->log + a->m[i].off, b->log + b->m[i].off,
				  a->m[i].len) == 0);
	}
}

static struct msgs got, want;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 2;
	size_t n, max_line, off = 0;
	uint32_t seed;
	struct frame f;
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
	FUZZ_CHECK(frame_init(&f, max_line) == 0);
	while (off < n) {
		size_t room, len;
		char *space = frame_space(&f, &room);

		seed = seed * 1103515245u + 12345u;
		len = 1 + (seed >> 16) % 97;
		if (len > n - off)
			len = n - off;
		FUZZ_CHECK(room >= len);
		memcpy(space, p + off, len);
		rc = frame_commit(&f, len, collect_pausing, &got);
		while (rc == FRAME_PAUSE) {
			FUZZ_CHECK(frame_paused(&f));
			rc = frame_resume(&f, collect_pausing, &got);
		}
		FUZZ_CHECK(rc == 0 && !frame_paused(&f));
		off += len;
	}
	FUZZ_CHECK(frame_finish(&f, collect, &got) == 0);
	FUZZ_CHECK(frame_pending(&f) == 0);
	frame_free(&f);
	ref_stream(&want, p, n, max_line);
	expect_same(&got, &want);

	got.used = got.n = 0;
	want.used = want.n = 0;
	FUZZ_CHECK(frame_datagram(p, n, max_line, collect, &got) == 0);
	ref_datagram(&want, p, n, max_line);
	expect_same(&got, &want);
	return 0;
}
