/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_room_attack.c - mtserver --chat under attack (issue 21): the room's
 * rule is that when it is behind, the sender waits (TCP) or its line is
 * dropped and counted (UDP), never the reader.  Each test drives the real
 * server over loopback: members welcomed within the budget are never
 * refused later, UDP speakers are off unless asked for and held to a rate,
 * a flooder cannot push out a member that reads steadily, and churn does
 * not turn honest newcomers away.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "servers.h"

#define LINE_WAIT_MS 10000

/* --- a member's whole cost is charged at the door (item 4) --- */

#define DOOR_TRIES 20

/*
 * A budget that seats some members: clients join until one is refused
 * at the door.  Every member that was welcomed then says one line, and
 * every one of those lines is logged and heard: a welcome is a promise
 * (the whole of a member's buffers was charged when it joined), so no
 * member is told "server busy" on its first line.  The room used to
 * charge a member's outboxes at the door and its framing buffers on its
 * first byte: three of ten welcomed members were refused mid-session,
 * their lines never read nor logged.
 */
static void test_welcomed_member_is_never_refused(void **state)
{
	struct srv s = {0};
	int fds[DOOR_TRIES], listener = -1, members = 0;
	char line[256], want[64];

	(void)state;
	srv_start(&s, "mtserver", "--chat", "--max-memory", "21M",
		  (const char *)NULL);
	for (int i = 0; i < DOOR_TRIES; i++) {
		int fd = srv_connect(&s);

		assert_true(h_read_line(fd, line, sizeof(line), LINE_WAIT_MS) >
			    0);
		if (strcmp(line, "server busy") == 0) {
			assert_int_equal(h_wait_eof(fd, LINE_WAIT_MS), 0);
			close(fd);
			break;
		}
		assert_non_null(strstr(line, "* welcome, you are user"));
		fds[members++] = fd;
	}
	print_message("%d members seated by 21M\n", members);
	assert_true(members >= 2 && members < DOOR_TRIES);
	listener = fds[0];
	for (int i = 1; i < members; i++) {
		snprintf(line, sizeof(line), "first line of member %d\n", i);
		srv_send(fds[i], line);
	}
	/* The first member hears every other one's line (and the joins
	 * before them). */
	for (int heard = 0; heard < members - 1;) {
		assert_true(h_read_line(listener, line, sizeof(line),
					LINE_WAIT_MS) > 0);
		if (strstr(line, ": first line of member ") != NULL)
			heard++;
	}
	for (int i = 0; i < members; i++)
		close(fds[i]);
	srv_wait_log(&s, "disconnect reason=", (size_t)members);
	srv_stop(&s);
	/* The one refusal is the door's. */
	assert_int_equal(h_count_in_file(s.log, "refused reason=memory-budget"),
			 1);
	for (int i = 1; i < members; i++) {
		snprintf(want, sizeof(want), " msg first line of member %d\n",
			 i);
		assert_int_equal(h_count_in_file(s.log, want), 1);
	}
	assert_int_equal(h_count_in_file(s.log, "reason=memory-budget messages"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_welcomed_member_is_never_refused,
					  srv_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
