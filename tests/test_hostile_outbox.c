/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hostile_outbox.c - the outbox's contract over a real socket
 * pair: direct sends, keeping what the kernel refuses, the bound, the
 * stall clock, posts from another thread and their wake-up, order, and
 * posts that never allocate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "outbox.h"

/* malloc, failing while malloc_fails is set (-Wl,--wrap=malloc). */
void *__wrap_malloc(size_t size);
void *__real_malloc(size_t size);
static atomic_bool malloc_fails;

void *__wrap_malloc(size_t size)
{
	if (atomic_load(&malloc_fails)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(size);
}

/* A connected stream pair with small buffers, so that "the client does
 * not read" is reached after a few KiB. */
static void small_pair(int sv[2])
{
	int size = 4096;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* Reads exactly len bytes from fd (bounded wait). */
static void read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&pfd, 1, 10000), 1);
		n = read(fd, buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void test_direct_send_keeps_nothing(void **state)
{
	struct outbox ob;
	char buf[16];
	int sv[2];

	(void)state;
	small_pair(sv);
	outbox_init(&ob, sv[0], 1024);
	assert_int_equal(outbox_memory(&ob), 0); /* nothing until used */
	assert_int_equal(outbox_put_line(&ob, "hello", 5), 0);
	assert_int_equal(outbox_put(&ob, "x\n", 2), 0);
	assert_int_equal(outbox_pending(&ob), 8);
	assert_int_equal(outbox_flush(&ob), 0);
	assert_int_equal(outbox_pending(&ob), 0);
	read_exact(sv[1], buf, 8);
	assert_memory_equal(buf, "hello\nx\n", 8);
	assert_int_equal(outbox_stalled_ms(&ob, h_now_ms()), 0);
	outbox_free(&ob);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that does not read: the kernel takes what fits, the outbox
 * keeps the rest up to its capacity and refuses more; the stall clock
 * runs until the peer reads; then all of it arrives, in order. */
static void test_nonreader_bounded_then_drained(void **state)
{
	enum { CAP = 64 * 1024 };
	static char data[CAP], got[4 * CAP];
	struct outbox ob;
	size_t total = 0, kept;
	long long t0;
	int sv[2];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	small_pair(sv);
	outbox_init(&ob, sv[0], CAP);
	/* Fill until the outbox itself is full. */
	for (;;) {
		if (outbox_put(&ob, data, 1000) == -1) {
			assert_int_equal(errno, ENOBUFS);
			break;
		}
		total += 1000;
		assert_true(outbox_flush(&ob) >= 0);
		assert_true(total < sizeof(got));
	}
	kept = outbox_pending(&ob);
	assert_true(kept > CAP - 1000 && kept <= CAP);
	assert_true(outbox_stalled_ms(&ob, h_now_ms()) >= 0);
	t0 = h_now_ms();
	h_sleep_ms(50);
	assert_true(outbox_stalled_ms(&ob, h_now_ms()) >= 40);
	/* The peer reads: everything arrives in order. */
	for (size_t off = 0; off < total;) {
		struct pollfd pfd = {.fd = sv[1], .events = POLLIN};
		ssize_t n;

		(void)outbox_flush(&ob);
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		n = read(sv[1], got + off, total - off);
		assert_true(n > 0);
		off += (size_t)n;
		assert_true(h_now_ms() - t0 < 10000);
	}
	assert_int_equal(outbox_flush(&ob), 0);
	for (size_t i = 0; i < total; i++)
		assert_int_equal(got[i], data[i % 1000]);
	assert_int_equal(outbox_stalled_ms(&ob, h_now_ms()), 0);
	outbox_free(&ob);
	close(sv[0]);
	close(sv[1]);
}

static void test_peer_gone_drops_and_counts(void **state)
{
	struct outbox ob;
	int sv[2];

	(void)state;
	small_pair(sv);
	outbox_init(&ob, sv[0], 1024);
	close(sv[1]);
	assert_int_equal(outbox_put_line(&ob, "lost", 4), 0);
	assert_int_equal(outbox_flush(&ob), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(outbox_pending(&ob), 0);
	assert_int_equal(outbox_put_line(&ob, "also", 4), 0);
	assert_int_equal(ob.dropped, 10);
	outbox_free(&ob);
	close(sv[0]);
}

struct poster {
	struct outbox *ob;
	int lines;
	atomic_int refused; /* read by the owner while the poster runs */
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	char line[32];

	for (int i = 0; i < p->lines; i++) {
		int n = snprintf(line, sizeof(line), "post %05d\n", i);

		while (outbox_post(p->ob, line, (size_t)n) == -1) {
			assert_int_equal(errno, ENOBUFS);
			atomic_fetch_add(&p->refused, 1);
			h_sleep_ms(1);
		}
	}
	return NULL;
}

/* Another thread posts; the owner waits on the wake descriptor (and on
 * POLLOUT while its own bytes are kept), as a session would.  Every line
 * arrives once, the owner's own first, posts in order. */
static void test_posts_wake_the_owner_in_order(void **state)
{
	enum { LINES = 5000 };
	static char got[LINES * 11 + 16];
	struct poster p = {0};
	struct outbox ob;
	pthread_t t;
	size_t off = 0, want = 6 + LINES * 11;
	long long start = h_now_ms();
	int sv[2];

	(void)state;
	small_pair(sv);
	outbox_init(&ob, sv[0], 2048);
	assert_int_equal(outbox_wake_fd(&ob), -1);
	assert_int_equal(outbox_enable_posts(&ob), 0);
	assert_true(outbox_wake_fd(&ob) >= 0);
	assert_int_equal(outbox_put_line(&ob, "first", 5), 0);
	p.ob = &ob;
	p.lines = LINES;
	assert_int_equal(pthread_create(&t, NULL, poster_main, &p), 0);
	/* Nothing is read until the inbox has refused a post: that it is
	 * bounded must not depend on which thread a loaded machine (or a
	 * sanitizer) runs faster. */
	while (atomic_load(&p.refused) == 0 && h_now_ms() - start < 10000)
		h_sleep_ms(1);
	start = h_now_ms();
	while (off < want && h_now_ms() - start < 20000) {
		struct pollfd pfd[3] = {
			{.fd = sv[0],
			 .events = outbox_pending(&ob) > 0 ? POLLOUT : 0},
			{.fd = outbox_wake_fd(&ob),
			 .events = outbox_pending(&ob) > 0 ? 0 : POLLIN},
			{.fd = sv[1], .events = POLLIN},
		};
		ssize_t n;

		assert_true(poll(pfd, 3, 10000) > 0);
		if (pfd[0].revents != 0 || pfd[1].revents != 0)
			assert_true(outbox_flush(&ob) >= 0);
		/* The reader is slow: 100 bytes at a time. */
		if (pfd[2].revents != 0) {
			n = read(sv[1], got + off,
				 want - off < 100 ? want - off : 100);
			assert_true(n > 0);
			off += (size_t)n;
		}
	}
	pthread_join(t, NULL);
	assert_int_equal(off, want);
	assert_memory_equal(got, "first\n", 6);
	for (int i = 0; i < LINES; i++) {
		char line[32];

		snprintf(line, sizeof(line), "post %05d\n", i);
		assert_memory_equal(got + 6 + (size_t)i * 11, line, 11);
	}
	/* The inbox is bounded: a slow reader made the poster wait. */
	assert_true(atomic_load(&p.refused) > 0);
	outbox_shutdown_posts(&ob);
	assert_int_equal(outbox_post(&ob, "x\n", 2), -1);
	assert_int_equal(errno, EPIPE);
	outbox_free(&ob);
	close(sv[0]);
	close(sv[1]);
}

/* A post runs under the poster's locks (a chat room's): it never
 * allocates.  Once posts are enabled both buffers exist, and posts go in
 * with no memory to be had, before the owner takes the inbox and after
 * (it swaps the inbox with its own buffer). */
static void test_posts_never_allocate(void **state)
{
	struct outbox ob;
	char buf[4];
	int sv[2];

	(void)state;
	small_pair(sv);
	outbox_init(&ob, sv[0], 1024);
	assert_int_equal(outbox_enable_posts(&ob), 0);
	assert_int_equal(outbox_memory(&ob), 2 * 1024);
	atomic_store(&malloc_fails, true);
	assert_int_equal(outbox_post(&ob, "a\n", 2), 2);
	assert_int_equal(outbox_flush(&ob), 0);
	assert_int_equal(outbox_post(&ob, "b\n", 2), 2);
	assert_int_equal(outbox_flush(&ob), 0);
	atomic_store(&malloc_fails, false);
	read_exact(sv[1], buf, 4);
	assert_memory_equal(buf, "a\nb\n", 4);
	outbox_free(&ob);
	close(sv[0]);
	close(sv[1]);
}

/* Enabling posts is where their memory is had: without it, posts stay
 * disabled (ENOMEM) and the outbox is still the owner's to free. */
static void test_enable_posts_without_memory_fails(void **state)
{
	struct outbox ob;
	int sv[2];

	(void)state;
	small_pair(sv);
	outbox_init(&ob, sv[0], 1024);
	atomic_store(&malloc_fails, true);
	assert_int_equal(outbox_enable_posts(&ob), -1);
	assert_int_equal(errno, ENOMEM);
	atomic_store(&malloc_fails, false);
	assert_int_equal(outbox_wake_fd(&ob), -1);
	outbox_free(&ob);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_send_keeps_nothing),
		cmocka_unit_test(test_nonreader_bounded_then_drained),
		cmocka_unit_test(test_peer_gone_drops_and_counts),
		cmocka_unit_test(test_posts_wake_the_owner_in_order),
		cmocka_unit_test(test_posts_never_allocate),
		cmocka_unit_test(test_enable_posts_without_memory_fails),
	};

	return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
