/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_room_turns.c - the room's turns (chat.c), driven through chat.h
 * with each member's outbox on a real socket pair: a sender held back
 * because a member is behind is woken as soon as that member catches up
 * (not at its next timed look), the first in line only, and the next in
 * line once the first has posted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chat.h"
#include "harness.h"
#include "outbox.h"

/* --max-line's default: what chat_outbox_cap sizes the outboxes for. */
#define MAX_TEXT 8192
/* One said line's text: big, so that a few batches take a member over
 * half its inbox. */
#define TEXT_BYTES 1000

/* A member of the room as its worker would hold it: the server's end
 * of a socket pair in its outbox, the client's end in client. */
struct member {
	struct outbox out;
	struct chat_member m;
	int client;
};

static void member_join(struct chat_room *room, struct member *mb, uint64_t id)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	mb->client = sv[1];
	outbox_init(&mb->out, sv[0], chat_outbox_cap(MAX_TEXT));
	assert_int_equal(outbox_enable_posts(&mb->out), 0);
	chat_member_init(&mb->m, &mb->out, id, MAX_TEXT);
	chat_join(room, &mb->m);
}

static void member_leave(struct chat_room *room, struct member *mb)
{
	chat_leave(room, &mb->m, "quit");
	outbox_free(&mb->out);
	close(mb->out.fd);
	close(mb->client);
}

/* Whether mb's worker would wake up now: its wake descriptor is
 * readable.  Takes the wake-up, as its worker would. */
static bool woken(struct member *mb)
{
	struct pollfd pfd = {.fd = outbox_wake_fd(&mb->out), .events = POLLIN};
	bool yes = poll(&pfd, 1, 0) == 1;

	outbox_consume_wake(&mb->out);
	return yes;
}

/* mb's client reads everything and its worker sends everything: it has
 * caught up with the room, and looks (chat_may_read), as its worker does
 * after each wake-up. */
static void catch_up(struct chat_room *room, struct member *mb)
{
	char buf[65536];

	for (int i = 0; i < 10000; i++) {
		long kept = outbox_flush(&mb->out);

		assert_true(kept >= 0);
		while (recv(mb->client, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		if (kept == 0 && outbox_posted(&mb->out) == 0)
			break;
	}
	assert_int_equal(outbox_pending(&mb->out), 0);
	assert_true(chat_may_read(room, &mb->m));
}

/* sender says lines, one batch after another, until the room holds them
 * back (chat_flush says no): a member that reads nothing is behind. */
static void say_until_held(struct chat_room *room, struct member *sender)
{
	char text[TEXT_BYTES];

	memset(text, 'x', sizeof(text));
	for (int batch = 0; batch < 100; batch++) {
		while (chat_ready(room, &sender->m, false) &&
		       sender->m.voice.len < CHAT_BATCH_BYTES)
			chat_input(room, &sender->m, text, sizeof(text), NULL,
				   NULL, 0);
		if (!chat_flush(room, &sender->m))
			return;
	}
	fail_msg("the room never held the sender back");
}

/* One line said and posted at once if the room can take it. */
static bool say_one(struct chat_room *room, struct member *sender)
{
	chat_input(room, &sender->m, "hello", 5, NULL, NULL, 0);
	return chat_flush(room, &sender->m);
}

static void test_held_sender_woken_when_room_catches_up(void **state)
{
	struct chat_room *room = chat_room_new(false);
	struct member a, b;

	(void)state;
	assert_non_null(room);
	member_join(room, &a, 1);
	member_join(room, &b, 2);
	catch_up(room, &a);
	/* b reads nothing: a is held back once b is over half behind. */
	say_until_held(room, &a);
	(void)woken(&a);
	assert_false(chat_may_read(room, &a.m));
	assert_false(woken(&a)); /* b is still behind: nothing to wake for */
	/* b's client reads, b's worker sends: the room has caught up, and
	 * a's worker is woken at once to post its lines. */
	catch_up(room, &b);
	assert_true(woken(&a));
	assert_true(chat_may_read(room, &a.m));
	assert_int_equal(a.m.voice.len, 0);
	assert_true(outbox_posted(&b.out) > 0); /* a's lines reached b */
	member_leave(room, &a);
	member_leave(room, &b);
	chat_room_free(room);
}

static void test_turns_wake_one_sender_at_a_time(void **state)
{
	struct chat_room *room = chat_room_new(false);
	struct member a, b, c;

	(void)state;
	assert_non_null(room);
	member_join(room, &a, 1);
	member_join(room, &b, 2);
	member_join(room, &c, 3);
	catch_up(room, &a);
	catch_up(room, &c);
	say_until_held(room, &a); /* b reads nothing */
	catch_up(room, &c);
	assert_false(say_one(room, &c)); /* c waits in line behind a */
	(void)woken(&a);
	(void)woken(&c);
	catch_up(room, &b);
	/* a is first in line: a is woken, c sleeps on. */
	assert_true(woken(&a));
	assert_false(woken(&c));
	/* a posts, and then it is c's turn. */
	assert_true(chat_may_read(room, &a.m));
	assert_true(chat_may_read(room, &c.m));
	assert_int_equal(c.m.voice.len, 0);
	member_leave(room, &a);
	member_leave(room, &b);
	member_leave(room, &c);
	chat_room_free(room);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_sender_woken_when_room_catches_up),
		cmocka_unit_test(test_turns_wake_one_sender_at_a_time),
	};

	return cmocka_run_group_tests_name("room_turns", tests, NULL, NULL);
}
