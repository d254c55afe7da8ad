/*
 * test_tcp_fault.c - a failed pthread_create refuses that one client
 * cleanly and the server goes on.  Thread creation cannot be made to
 * fail on demand from outside (root ignores RLIMIT_NPROC), so the
 * Makefile links this suite with -Wl,--wrap=pthread_create, and the
 * test runs mtserver's accept-and-spawn step in-process, over a real
 * loopback socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "proto.h"
#include "server.h"
#include "workers.h"

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);

static int fail_next_create;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	if (fail_next_create) {
		fail_next_create = 0;
		return EAGAIN;
	}
	return __real_pthread_create(t, attr, fn, arg);
}

/* mtserver.c's loop, one client at a time, so the test can interleave. */
static void accept_one(struct server *srv, struct workers *w)
{
	struct conn *c = server_accept(srv);

	assert_non_null(c);
	if (workers_start(w, c) == -1) {
		assert_int_equal(errno, EAGAIN);
		server_refuse(srv, c, PROTO_BUSY_LINE, "no-thread");
	}
}

/* A TCP-only server on a free loopback port logging to log, and its
 * worker registry: what mtserver's main sets up before its loop.  argv
 * outlives the call because cfg keeps pointers into it. */
static void open_server(struct server *srv, struct workers *w,
			struct config *cfg, char *argv[], const char *log)
{
	char err[256];

	argv[0] = "mtserver";
	argv[1] = "--no-udp";
	argv[2] = "-l";
	argv[3] = (char *)log;
	argv[4] = "-b";
	argv[5] = "127.0.0.1";
	argv[6] = "0";
	argv[7] = NULL;
	assert_int_equal(
		cli_parse(cfg, CLI_MTSERVER, 7, argv, err, sizeof(err)),
		CLI_RUN);
	assert_int_equal(server_open(srv, cfg, err, sizeof(err)), 0);
	assert_int_equal(workers_init(w), 0);
}

/* Joins every worker, checks that no client is left, closes the server
 * with its summary written to summary_path. */
static void close_server(struct server *srv, struct workers *w,
			 const char *summary_path)
{
	FILE *summary;

	workers_join_all(w);
	assert_int_equal(atomic_load(&srv->stats.active), 0);
	summary = fopen(summary_path, "w");
	assert_non_null(summary);
	assert_int_equal(server_close(srv, summary), 0);
	fclose(summary);
}

static void test_thread_failure_refuses_one_client(void **state)
{
	const char *log = h_path("fault.log");
	char *argv[8];
	struct config cfg;
	struct server srv;
	struct workers w;
	char line[64];
	int a, b, c;

	(void)state;
	open_server(&srv, &w, &cfg, argv, log);

	a = h_connect("127.0.0.1", (int)srv.port);
	assert_true(a >= 0);
	accept_one(&srv, &w);

	fail_next_create = 1;
	b = h_connect("127.0.0.1", (int)srv.port);
	assert_true(b >= 0);
	accept_one(&srv, &w);
	assert_true(h_read_line(b, line, sizeof(line), 5000) > 0);
	assert_string_equal(line, "server busy");
	assert_int_equal(h_wait_eof(b, 5000), 0);
	close(b);

	/* The first client is still served, and so is the next one. */
	c = h_connect("127.0.0.1", (int)srv.port);
	assert_true(c >= 0);
	accept_one(&srv, &w);
	assert_int_equal(h_send_all(a, "still a\n", 8), 0);
	assert_int_equal(h_send_all(c, "then c\n", 7), 0);
	close(a);
	close(c);
	close_server(&srv, &w, h_path("fault.summary"));
	assert_int_equal(
		h_count_in_file(h_path("fault.summary"),
				"tcp connections 2 (peak 2 concurrent, "
				"1 refused)"),
		1);

	assert_int_equal(h_count_in_file(log, " #2 refused reason=no-thread"),
			 1);
	assert_int_equal(h_count_in_file(log, " #1 msg still a\n"), 1);
	assert_int_equal(h_count_in_file(log, " #3 msg then c\n"), 1);
	assert_int_equal(h_count_in_file(log, " disconnect "), 2);
}

/* The registry cannot start without its reaper thread, and says so. */
static void test_no_reaper_thread(void **state)
{
	struct workers w;

	(void)state;
	fail_next_create = 1;
	errno = 0;
	assert_int_equal(workers_init(&w), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(workers_init(&w), 0);
	workers_join_all(&w);
}

/* Finished workers are joined (their stacks released) as they finish,
 * while the accepting thread waits for a client that never comes. */
static void test_finished_workers_joined_without_new_clients(void **state)
{
	enum { CLIENTS = 20 };
	const char *log = h_path("reap.log");
	char *argv[8];
	struct config cfg;
	struct server srv;
	struct workers w;
	int fds[CLIENTS];
	long long until;

	(void)state;
	open_server(&srv, &w, &cfg, argv, log);
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = h_connect("127.0.0.1", (int)srv.port);
		assert_true(fds[i] >= 0);
		accept_one(&srv, &w);
	}
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
	assert_int_equal(h_wait_for(log, " disconnect ", CLIENTS, 10000), 0);
	until = h_now_ms() + 10000;
	while (workers_unjoined(&w) > 0 && h_now_ms() < until)
		h_sleep_ms(10);
	assert_int_equal(workers_unjoined(&w), 0);
	close_server(&srv, &w, "/dev/null");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_failure_refuses_one_client),
		cmocka_unit_test(test_no_reaper_thread),
		cmocka_unit_test(
			test_finished_workers_joined_without_new_clients),
	};

	return cmocka_run_group_tests_name("tcp fault", tests, NULL, NULL);
}
