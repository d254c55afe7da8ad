/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_mtclient.c - the client against a real mtserver: lines become
 * messages, echo replies are printed, quit and end of input end it, UDP,
 * and clear errors with the right exit status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "servers.h"

/* Runs mtclient with args and the given standard input; returns its
 * exit status and leaves its output files in *p. */
static int run_client(struct h_proc *p, const char *input,
		      const char *const argv[])
{
	const char *in = h_path("client.in");

	assert_int_equal(h_write_file(in, input), 0);
	assert_int_equal(h_spawn(p, "mtclient", argv, in), 0);
	return h_wait_exit(p, 20000);
}

static void test_lines_and_echo_replies(void **state)
{
	struct srv s = {0};
	struct h_proc c;
	char port[16];

	(void)state;
	srv_start(&s, "mtserver", "--echo", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	assert_int_equal(run_client(&c,
				    "first line\nsecond\r\nquit\nnot sent\n",
				    (const char *[]){"127.0.0.1", port, NULL}),
			 0);
	srv_wait_log(&s, "reason=quit messages=3 ", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(c.out_path, "first line\nsecond\n"
						     "quit\n"),
			 1);
	assert_int_equal(h_count_in_file(s.log, " msg first line\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg second\n"), 1);
	assert_int_equal(h_count_in_file(s.log, "not sent"), 0);
}

static void test_end_of_input_without_newline(void **state)
{
	struct srv s = {0};
	struct h_proc c;
	char port[16];

	(void)state;
	srv_start(&s, "mtserver", "--echo", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	/* Replies still arrive after the client half-closes. */
	assert_int_equal(run_client(&c, "a\nlast words",
				    (const char *[]){"localhost", port, NULL}),
			 0);
	srv_wait_log(&s, "reason=client-closed messages=2 ", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(c.out_path, "a\nlast words\n"), 1);
}

static void test_udp_datagrams(void **state)
{
	struct srv s = {0};
	struct h_proc c;
	char port[16];

	(void)state;
	srv_start(&s, "mtserver", "--echo", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	assert_int_equal(run_client(&c, "u1\nu2\nu3\n",
				    (const char *[]){"--udp", "--wait", "2000",
						     "127.0.0.1", port, NULL}),
			 0);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " udp 127.0.0.1:"), 3);
	assert_int_equal(h_count_in_file(s.log, " #3 msg u3\n"), 1);
	assert_int_equal(h_count_in_file(c.out_path, "u1\nu2\nu3\n"), 1);
}

/* The largest UDP payloads: 65,535 less the UDP header (8) over IPv6,
 * less the IPv4 header (20) as well over IPv4. */
#define UDP_MAX_V4 65507
#define UDP_MAX_V6 65527

/* A malloc'd string: count bytes of fill, each line of input ended by
 * '\n'. */
static char *filled(size_t count, char fill, const char *tail)
{
	size_t tail_len = strlen(tail);
	char *s = malloc(count + tail_len + 1);

	assert_non_null(s);
	memset(s, fill, count);
	memcpy(s + count, tail, tail_len + 1);
	return s;
}

/* The log holds a UDP message of exactly len bytes of fill, once. */
static void expect_udp_message(const struct srv *s, size_t len, char fill)
{
	char *needle = filled(len, fill, "\n");
	char *msg = malloc(len + 8);

	assert_non_null(msg);
	snprintf(msg, len + 8, " msg %s", needle);
	if (h_count_in_file(s->log, msg) != 1)
		fail_msg("the log lacks one whole message of %zu '%c'", len,
			 fill);
	free(msg);
	free(needle);
}

/* A line as long as the largest datagram goes as one datagram (there is
 * no room for its '\n', and a datagram ends a message anyway); a longer
 * line goes in pieces, each a datagram of at most that size, as --help
 * and the manual say, with one warning. */
static void udp_long_lines(const char *host, size_t max)
{
	struct srv s = {0};
	struct h_proc c;
	size_t first = max + 1, total = first + max + 10 + 1;
	char port[16], *input = malloc(total + 1);

	/* --max-line: logged whole, not truncated at 4096. */
	srv_start(&s, "mtserver", "--max-line", "70000", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	/* max 'a', then max + 10 'b', each line ended by '\n'. */
	assert_non_null(input);
	memset(input, 'a', max);
	input[max] = '\n';
	memset(input + first, 'b', total - first - 1);
	input[total - 1] = '\n';
	input[total] = '\0';
	assert_int_equal(run_client(&c, input,
				    (const char *[]){"--udp", "--wait", "0",
						     host, port, NULL}),
			 0);
	free(input);
	srv_wait_log(&s, " #3 msg ", 1);
	srv_stop(&s);
	/* Three datagrams: the line of max bytes, then the longer line as
	 * max bytes and 10. */
	assert_int_equal(h_count_in_file(s.log, " msg "), 3);
	expect_udp_message(&s, max, 'a');
	expect_udp_message(&s, max, 'b');
	expect_udp_message(&s, 10, 'b');
	assert_int_equal(h_count_in_file(c.err_path, "sent as several "
						     "datagrams"),
			 1);
	assert_int_equal(h_count_in_file(c.err_path, "\n"), 1);
}

static void test_udp_longest_lines_ipv4(void **state)
{
	(void)state;
	udp_long_lines("127.0.0.1", UDP_MAX_V4);
}

static void test_udp_longest_lines_ipv6(void **state)
{
	int fd = h_udp("::1", 9);

	(void)state;
	if (fd == -1)
		skip(); /* no IPv6 loopback here */
	close(fd);
	udp_long_lines("::1", UDP_MAX_V6);
}

/* mtserver started with option 1 and one client in: mtclient gets the
 * refusal line, says it was refused (one line) and exits 1. */
static void client_refused(const char *option, const char *line)
{
	struct srv s = {0};
	struct h_proc c;
	char port[16];
	int holder;

	srv_start(&s, "mtserver", option, "1", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	holder = srv_connect(&s);
	srv_send(holder, "here first\n");
	srv_wait_log(&s, " msg here first\n", 1);
	assert_int_equal(run_client(&c, "too late\n",
				    (const char *[]){"127.0.0.1", port, NULL}),
			 1);
	close(holder);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(c.out_path, line), 1);
	assert_int_equal(h_count_in_file(c.err_path, "refused the connection"),
			 1);
	assert_int_equal(h_count_in_file(c.err_path, "\n"), 1);
}

static void test_server_full_is_an_error(void **state)
{
	(void)state;
	client_refused("--max-clients", "server full\n");
}

/* Every refusal line of proto.h is a refusal to mtclient: the one of
 * --max-per-ip too. */
static void test_per_ip_refusal_is_an_error(void **state)
{
	(void)state;
	client_refused("--max-per-ip",
		       "too many connections from your address\n");
}

static void expect_failure(const char *const argv[], int status,
			   const char *needle)
{
	struct h_proc c;

	assert_int_equal(run_client(&c, "x\n", argv), status);
	if (h_count_in_file(c.err_path, needle) != 1)
		fail_msg("stderr lacks '%s'", needle);
	assert_int_equal(h_count_in_file(c.err_path, "\n"), 1);
}

static void test_errors(void **state)
{
	struct srv s = {0};
	char port[16];

	(void)state;
	/* A port nobody listens on: the server's, after it stopped. */
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	srv_stop(&s);
	expect_failure((const char *[]){"127.0.0.1", port, NULL}, 1,
		       "Connection refused");
	expect_failure((const char *[]){"no.such.host.invalid", "80", NULL}, 1,
		       "cannot resolve 'no.such.host.invalid'");
	expect_failure((const char *[]){"127.0.0.1", "0", NULL}, 2,
		       "invalid port");
	expect_failure((const char *[]){"127.0.0.1", "http", NULL}, 2,
		       "invalid port");
	expect_failure((const char *[]){"127.0.0.1", NULL}, 2,
		       "expected HOST PORT");
	expect_failure((const char *[]){"--bogus", "127.0.0.1", "80", NULL}, 2,
		       "mtclient: unknown option '--bogus'");
	expect_failure((const char *[]){"-x", "127.0.0.1", "80", NULL}, 2,
		       "mtclient: unknown option '-x'");
	expect_failure((const char *[]){"--udp=1", "127.0.0.1", "80", NULL}, 2,
		       "option '--udp' doesn't allow an argument");
	expect_failure((const char *[]){"127.0.0.1", "80", "--wait", NULL}, 2,
		       "option '--wait' needs a value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_echo_replies),
		cmocka_unit_test(test_end_of_input_without_newline),
		cmocka_unit_test(test_udp_datagrams),
		cmocka_unit_test(test_udp_longest_lines_ipv4),
		cmocka_unit_test(test_udp_longest_lines_ipv6),
		cmocka_unit_test(test_server_full_is_an_error),
		cmocka_unit_test(test_per_ip_refusal_is_an_error),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("mtclient", tests, NULL,
					   srv_teardown);
}
