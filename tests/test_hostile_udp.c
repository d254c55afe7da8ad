/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hostile_udp.c - UDP cannot be used to amplify (issue 11, findings
 * 5 and 6): one reply datagram per received datagram at most, a
 * per-source budget for echo replies, and datagrams of any size (the
 * largest IPv6 one included) logged with their real length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "servers.h"

/* Largest UDP payload over IPv6 (65535 - 8), over IPv4 (- 20 more). */
#define V6_MAX 65527
#define V4_MAX 65507

/* Receives datagrams on fd for quiet_ms after the last one; returns how
 * many, their total bytes in *bytes, the first one in first[0..size). */
static int collect(int fd, int quiet_ms, size_t *bytes, char *first,
		   size_t size, size_t *first_len)
{
	static char buf[V6_MAX + 1];
	int count = 0;

	*bytes = 0;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, quiet_ms) != 1)
			return count;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return count;
		if (count == 0 && first != NULL) {
			*first_len = (size_t)n < size ? (size_t)n : size;
			memcpy(first, buf, *first_len);
		}
		count++;
		*bytes += (size_t)n;
	}
}

/* Finding 5: a datagram of 2,000 short lines brings back one datagram,
 * holding every reply in order, not 2,000. */
static void test_udp_one_reply_per_datagram(void **state)
{
	static char msg[2000 * 6 + 1], reply[V6_MAX];
	struct srv s = {0};
	size_t len = 0, bytes, reply_len = 0;
	int fd;

	(void)state;
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "l%04d\n",
					i);
	srv_start(&s, "mtserver", "--echo", "--no-tcp", (const char *)NULL);
	fd = h_udp("127.0.0.1", s.p.port);
	assert_true(fd >= 0);
	assert_int_equal(send(fd, msg, len, 0), (ssize_t)len);
	assert_int_equal(
		collect(fd, 500, &bytes, reply, sizeof(reply), &reply_len), 1);
	assert_int_equal(reply_len, len);
	assert_memory_equal(reply, msg, len);
	close(fd);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg l"), 2000);
}

/* Finding 5: the largest datagram of one-byte lines ("a\n" pairs and a
 * last "a" without newline) gets one reply, cut to fit a datagram. */
static void test_udp_reply_cut_to_one_datagram(void **state)
{
	static char msg[V4_MAX], reply[V6_MAX];
	struct srv s = {0};
	size_t bytes, reply_len = 0;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = i % 2 ? '\n' : 'a';
	srv_start(&s, "mtserver", "--echo", "--no-tcp", "-q",
		  (const char *)NULL);
	fd = h_udp("127.0.0.1", s.p.port);
	assert_true(fd >= 0);
	/* V4_MAX is odd: the last message "a" has no newline, so the
	 * replies ("a\n" each) are one byte longer than the datagram. */
	assert_int_equal(send(fd, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	assert_int_equal(
		collect(fd, 500, &bytes, reply, sizeof(reply), &reply_len), 1);
	assert_int_equal(reply_len, V4_MAX - 1); /* whole lines only */
	assert_memory_equal(reply, msg, reply_len);
	close(fd);
	srv_stop(&s);
}

/* Finding 5: echo replies to one source address are limited to
 * --udp-echo-rate bytes per second (headers counted); every message is
 * still logged, and another address has a budget of its own. */
static void test_udp_echo_rate_per_source(void **state)
{
	static char msg[1000];
	struct srv s = {0};
	size_t bytes, other_bytes;
	long long start, elapsed;
	char *err, *at;
	long received;
	int fd, other;

	(void)state;
	memset(msg, 'x', sizeof(msg));
	srv_start(&s, "mtserver", "--echo", "--no-tcp", "--udp-echo-rate",
		  "20000", (const char *)NULL);
	fd = h_connect_from("127.0.0.1", s.p.port, SOCK_DGRAM);
	other = h_connect_from("127.0.0.2", s.p.port, SOCK_DGRAM);
	assert_true(fd >= 0 && other >= 0);
	start = h_now_ms();
	/* 200 KB asked for, paced so that the socket buffer rarely drops
	 * one (the count below does not depend on it). */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(send(fd, msg, sizeof(msg), 0),
				 (ssize_t)sizeof(msg));
		h_sleep_ms(1);
	}
	assert_int_equal(send(other, msg, 100, 0), 100);
	(void)collect(fd, 500, &bytes, NULL, 0, NULL);
	elapsed = h_now_ms() - start;
	assert_int_equal(collect(other, 500, &other_bytes, NULL, 0, NULL), 1);
	assert_int_equal(other_bytes, 101);
	/* Budget: one second's worth at once, then the rate; each reply
	 * of 1001 bytes costs 1029 with the IP and UDP headers. */
	assert_true(bytes > 0);
	assert_true((long long)bytes * 1029 / 1001 <=
		    20000 + 20000 * elapsed / 1000 + 1029);
	close(fd);
	close(other);
	srv_stop(&s);
	/* Every datagram the server received was logged, not limited. */
	err = h_slurp(s.p.err_path, NULL);
	assert_non_null(err);
	at = strstr(err, "; udp ");
	assert_non_null(at);
	received = atol(at + strlen("; udp "));
	free(err);
	assert_true(received >= 101);
	assert_int_equal((long)h_count_in_file(s.log, " msg x"), received);
}

/* Finding 6: the largest IPv6 datagram is logged with its real length,
 * and so is one the buffer could not hold whole (MSG_TRUNC). */
static void test_udp_ipv6_largest_datagram(void **state)
{
	static char msg[V6_MAX];
	struct srv s = {0};
	char want[64];
	int fd;

	(void)state;
	memset(msg, 'y', sizeof(msg));
	srv_start(&s, "mtserver", "-b", "::1", "--no-tcp", (const char *)NULL);
	fd = h_udp("::1", s.p.port);
	if (fd < 0) {
		srv_stop(&s);
		skip(); /* no IPv6 loopback here */
	}
	assert_int_equal(send(fd, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	snprintf(want, sizeof(want), " msg-truncated len=%d ", V6_MAX);
	srv_wait_log(&s, want, 1);
	close(fd);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.p.err_path, "udp 1 messages, 65527 "
						       "bytes in 1 datagrams"),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_one_reply_per_datagram),
		cmocka_unit_test(test_udp_reply_cut_to_one_datagram),
		cmocka_unit_test(test_udp_echo_rate_per_source),
		cmocka_unit_test(test_udp_ipv6_largest_datagram),
	};

	return cmocka_run_group_tests_name("hostile-udp", tests, NULL,
					   srv_teardown);
}
