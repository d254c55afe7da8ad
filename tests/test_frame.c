/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_frame.c - the framing contract (frame.h), byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* What the callback saw: messages joined as "text|full_len;" so a whole
 * run compares as one string. */
struct seen {
	char text[1 << 16];
	size_t len;
	int count;
	int stop_at; /* stop (return 7) at this message number, 0 = never */
	bool pause;  /* say FRAME_PAUSE to every message once */
	bool paused; /* the message offered now was paused before */
};

static int collect(void *ctx, const char *msg, size_t len, size_t full_len)
{
	struct seen *s = ctx;
	int n;

	assert_true(len > 0);
	assert_true(len <= full_len);
	if (s->pause && !s->paused) {
		s->paused = true;
		return FRAME_PAUSE;
	}
	s->paused = false;
	assert_true(s->len + len + 32 < sizeof(s->text));
	memcpy(s->text + s->len, msg, len);
	s->len += len;
	n = snprintf(s->text + s->len, sizeof(s->text) - s->len, "|%zu;",
		     full_len);
	s->len += (size_t)n;
	s->count++;
	return s->count == s->stop_at ? 7 : 0;
}

/* frame_commit's n bytes, resumed until no message pauses any more. */
static int commit(struct frame *f, size_t n, struct seen *s)
{
	int rc = frame_commit(f, n, collect, s);

	while (rc == FRAME_PAUSE) {
		assert_true(frame_paused(f));
		rc = frame_resume(f, collect, s);
	}
	assert_false(frame_paused(f));
	return rc;
}

/* Feeds data in chunks of `step` bytes (0: all at once), then finishes. */
static int feed(size_t max_line, const char *data, size_t len, size_t step,
		struct seen *s)
{
	struct frame f;
	size_t off = 0;
	int rc = 0;

	assert_int_equal(frame_init(&f, max_line), 0);
	while (off < len && rc == 0) {
		size_t room, n = step ? step : len;
		char *space = frame_space(&f, &room);

		assert_true(room >= FRAME_READ_SIZE);
		if (n > len - off)
			n = len - off;
		if (n > room)
			n = room;
		memcpy(space, data + off, n);
		off += n;
		rc = commit(&f, n, s);
	}
	s->pause = false; /* frame_finish takes what comes */
	if (rc == 0)
		rc = frame_finish(&f, collect, s);
	assert_int_equal(frame_pending(&f), 0);
	frame_free(&f);
	return rc;
}

static void expect_stream(size_t max_line, const char *data, size_t len,
			  const char *want)
{
	/* Every way of splitting the input in two, and byte by byte, must
	 * give the same messages as one read, and so must a receiver that
	 * pauses at every message once (frame_resume). */
	for (int pause = 0; pause <= 1; pause++) {
		for (size_t step = 0; step <= 3; step++) {
			struct seen s = {.pause = pause};

			feed(max_line, data, len, step, &s);
			s.text[s.len] = '\0';
			assert_string_equal(s.text, want);
		}
		for (size_t cut = 1; cut < len; cut++) {
			struct seen s = {.pause = pause};
			struct frame f;
			size_t room;

			assert_int_equal(frame_init(&f, max_line), 0);
			memcpy(frame_space(&f, &room), data, cut);
			assert_int_equal(commit(&f, cut, &s), 0);
			memcpy(frame_space(&f, &room), data + cut, len - cut);
			assert_int_equal(commit(&f, len - cut, &s), 0);
			s.pause = false; /* frame_finish takes what comes */
			assert_int_equal(frame_finish(&f, collect, &s), 0);
			frame_free(&f);
			s.text[s.len] = '\0';
			assert_string_equal(s.text, want);
		}
	}
}

#define STREAM(max, lit, want) expect_stream(max, lit, sizeof(lit) - 1, want)

static void test_newline_messages(void **state)
{
	(void)state;
	STREAM(100, "hello\nworld\n", "hello|5;world|5;");
}

static void test_last_message_without_terminator(void **state)
{
	(void)state;
	STREAM(100, "one\ntwo", "one|3;two|3;");
}

static void test_crlf_and_lone_cr(void **state)
{
	(void)state;
	STREAM(100, "a\r\nb\rc\r\n\r\n", "a|1;b\rc|3;");
	/* Only one trailing CR goes. */
	STREAM(100, "x\r\r\n", "x\r|2;");
}

static void test_empty_messages_ignored(void **state)
{
	(void)state;
	STREAM(100, "\n\n\r\n\0\0a\n\n", "a|1;");
	STREAM(100, "", "");
}

static void test_seed_nul_padded_frames(void **state)
{
	/* The seed client sends 32-byte buffers: text, NUL, NUL padding. */
	char data[96] = {0};

	(void)state;
	memcpy(data, "hello", 5);
	memcpy(data + 32, "quit", 4);
	memcpy(data + 64, "0123456789012345678901234567890", 31);
	expect_stream(4096, data, sizeof(data),
		      "hello|5;quit|4;0123456789012345678901234567890|31;");
}

static void test_binary_bytes_pass_through(void **state)
{
	(void)state;
	STREAM(100, "\x01\x7f\xff\x1b[2J\n", "\x01\x7f\xff\x1b[2J|7;");
}

static void test_oversize_truncated_with_full_length(void **state)
{
	(void)state;
	STREAM(4, "abcdefgh\nxy\n", "abcd|8;xy|2;");
	STREAM(4, "abcd\nabcde\n", "abcd|4;abcd|5;");
	/* The CR of an over-long CRLF line is not counted. */
	STREAM(4, "abcdefg\r\nz", "abcd|7;z|1;");
	STREAM(4, "abcd\r\n", "abcd|4;");
	/* Unterminated over-long message at end of stream. */
	STREAM(3, "ok\n0123456789", "ok|2;012|10;");
}

static void test_oversize_bounded_over_many_reads(void **state)
{
	/* 10 MB of one line never needs more than the fixed buffer. */
	struct frame f;
	struct seen s = {.len = 0};
	size_t total = 0, room;

	(void)state;
	assert_int_equal(frame_init(&f, 16), 0);
	for (int i = 0; i < 160; i++) {
		char *space = frame_space(&f, &room);

		assert_true(room >= FRAME_READ_SIZE && room <= f.cap);
		memset(space, 'z', FRAME_READ_SIZE);
		assert_int_equal(frame_commit(&f, FRAME_READ_SIZE, collect, &s),
				 0);
		total += FRAME_READ_SIZE;
		assert_int_equal(frame_pending(&f), total);
	}
	memcpy(frame_space(&f, &room), "\r\nnext\n", 7);
	assert_int_equal(frame_commit(&f, 7, collect, &s), 0);
	s.text[s.len] = '\0';
	char want[64];
	snprintf(want, sizeof(want), "zzzzzzzzzzzzzzzz|%zu;next|4;", total);
	assert_string_equal(s.text, want);
	frame_free(&f);
}

static void test_terminator_at_every_offset(void **state)
{
	/* Plain bytes around one terminator, at every position of every
	 * length: the word-at-a-time scan must find exactly it. */
	char data[48], want[128];

	(void)state;
	for (size_t len = 2; len <= sizeof(data); len++) {
		for (size_t at = 1; at + 1 < len; at++) {
			for (int nul = 0; nul < 2; nul++) {
				memset(data, 'q', len);
				data[at] = nul ? '\0' : '\n';
				snprintf(want, sizeof(want),
					 "%.*s|%zu;%.*s|%zu;", (int)at, data,
					 at, (int)(len - at - 1), data + at + 1,
					 len - at - 1);
				expect_stream(100, data, len, want);
			}
		}
	}
}

static void test_callback_can_stop(void **state)
{
	struct seen s = {.len = 0, .stop_at = 2};
	const char data[] = "a\nquit\nlater\npartial";

	(void)state;
	assert_int_equal(feed(100, data, sizeof(data) - 1, 0, &s), 7);
	s.text[s.len] = '\0';
	assert_string_equal(s.text, "a|1;quit|4;");
}

static void test_init_rejects_bad_sizes(void **state)
{
	struct frame f;

	(void)state;
	assert_int_equal(frame_init(&f, 0), -1);
	assert_int_equal(frame_init(&f, FRAME_MAX_LINE_LIMIT + 1), -1);
	assert_int_equal(frame_init(&f, FRAME_MAX_LINE_LIMIT), 0);
	frame_free(&f);
}

static void expect_datagram(size_t max, const char *data, size_t len,
			    const char *want)
{
	struct seen s = {.len = 0};

	assert_int_equal(frame_datagram(data, len, max, collect, &s), 0);
	s.text[s.len] = '\0';
	assert_string_equal(s.text, want);
}

#define DGRAM(max, lit, want) expect_datagram(max, lit, sizeof(lit) - 1, want)

static void test_datagrams(void **state)
{
	(void)state;
	DGRAM(100, "one", "one|3;");
	DGRAM(100, "one\ntwo\r\n\nthree", "one|3;two|3;three|5;");
	/* Text ends at the first NUL: the seed's stale bytes are ignored. */
	DGRAM(100, "hi\0stale bytes\nx", "hi|2;");
	DGRAM(100, "", "");
	DGRAM(100, "\0abc", "");
	DGRAM(3, "abcdef\nxy", "abc|6;xy|2;");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newline_messages),
		cmocka_unit_test(test_last_message_without_terminator),
		cmocka_unit_test(test_crlf_and_lone_cr),
		cmocka_unit_test(test_empty_messages_ignored),
		cmocka_unit_test(test_seed_nul_padded_frames),
		cmocka_unit_test(test_binary_bytes_pass_through),
		cmocka_unit_test(test_oversize_truncated_with_full_length),
		cmocka_unit_test(test_oversize_bounded_over_many_reads),
		cmocka_unit_test(test_terminator_at_every_offset),
		cmocka_unit_test(test_callback_can_stop),
		cmocka_unit_test(test_init_rejects_bad_sizes),
		cmocka_unit_test(test_datagrams),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
