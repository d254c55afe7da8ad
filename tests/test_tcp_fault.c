/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_tcp_fault.c - a failed pthread_create refuses that one client
 * cleanly and the server goes on.  Thread creation cannot be made to
 * fail on demand from outside (root ignores RLIMIT_NPROC), so the
 * Makefile links this suite with -Wl,--wrap=pthread_create, and the
 * test runs mtserver's own concurrency model in-process, over a real
 * loopback socket: mtserver.c is linked in with its main renamed
 * mtserver_main, and a wrapped server_main hands the test the model
 * that main passes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "net.h"
#include "server.h"
#include "workers.h"

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __real_pthread_join(pthread_t t, void **ret);
int __wrap_pthread_join(pthread_t t, void **ret);
int __wrap_server_main(int argc, char *argv[],
		       const struct server_model *model);
int mtserver_main(int argc, char *argv[]);

static atomic_int fail_next_create;
static atomic_long joins;
static const struct server_model *mtserver_model;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	if (atomic_exchange(&fail_next_create, 0))
		return EAGAIN;
	return __real_pthread_create(t, attr, fn, arg);
}

int __wrap_pthread_join(pthread_t t, void **ret)
{
	int rc = __real_pthread_join(t, ret);

	if (rc == 0)
		atomic_fetch_add(&joins, 1);
	return rc;
}

/* mtserver's main calls this with its model; keep it, run nothing. */
int __wrap_server_main(int argc, char *argv[], const struct server_model *model)
{
	(void)argc;
	(void)argv;
	mtserver_model = model;
	return 0;
}

/* A TCP-only server on a free loopback port logging to log, running
 * mtserver's serve function on a thread of its own, as its main does. */
struct running {
	char *argv[8]; /* cfg keeps pointers into it */
	struct config cfg;
	struct server srv;
	pthread_t thread;
	int serve_rc;
};

static void *serve_main(void *arg)
{
	struct running *r = arg;

	r->serve_rc = mtserver_model->serve(&r->srv);
	return NULL;
}

static void open_server(struct running *r, const char *log)
{
	char *main_argv[] = {"mtserver", NULL};
	char err[NET_ERR_MAX];

	assert_int_equal(mtserver_main(1, main_argv), 0);
	assert_non_null(mtserver_model);
	assert_int_equal(mtserver_model->kind, CLI_MTSERVER);
	r->argv[0] = "mtserver";
	r->argv[1] = "--no-udp";
	r->argv[2] = "-l";
	r->argv[3] = (char *)log;
	r->argv[4] = "-b";
	r->argv[5] = "127.0.0.1";
	r->argv[6] = "0";
	r->argv[7] = NULL;
	assert_int_equal(
		cli_parse(&r->cfg, CLI_MTSERVER, 7, r->argv, err, sizeof(err)),
		CLI_RUN);
	assert_int_equal(server_open(&r->srv, &r->cfg, err, sizeof(err)), 0);
	assert_int_equal(__real_pthread_create(&r->thread, NULL, serve_main, r),
			 0);
}

/* Stops the server as a signal would, waits for the model to join
 * every worker, checks that no client is left, closes the server with
 * its summary written to summary_path. */
static void close_server(struct running *r, const char *summary_path)
{
	FILE *summary;

	server_stop(&r->srv);
	assert_int_equal(__real_pthread_join(r->thread, NULL), 0);
	assert_int_equal(r->serve_rc, 0);
	assert_int_equal(seats_active(&r->srv.seats), 0);
	summary = fopen(summary_path, "w");
	assert_non_null(summary);
	assert_int_equal(server_close(&r->srv, summary), 0);
	fclose(summary);
}

static int connect_to(const struct running *r)
{
	int fd = h_connect("127.0.0.1", (int)r->srv.port);

	assert_true(fd >= 0);
	return fd;
}

static void wait_log(const char *log, const char *needle, size_t count)
{
	if (h_wait_for(log, needle, count, 10000) == -1)
		fail_msg("%s: '%s' not seen %zu times", log, needle, count);
}

static void test_thread_failure_refuses_one_client(void **state)
{
	const char *log = h_path("fault.log");
	struct running r;
	char line[64];
	int a, b, c;

	(void)state;
	open_server(&r, log);

	a = connect_to(&r);
	/* Client 1's worker runs: the next thread made is client 2's. */
	wait_log(log, " #1 connect", 1);
	atomic_store(&fail_next_create, 1);
	b = connect_to(&r);
	assert_true(h_read_line(b, line, sizeof(line), 5000) > 0);
	assert_string_equal(line, "server busy");
	assert_int_equal(h_wait_eof(b, 5000), 0);
	close(b);

	/* The first client is still served, and so is the next one. */
	c = connect_to(&r);
	assert_int_equal(h_send_all(a, "still a\n", 8), 0);
	assert_int_equal(h_send_all(c, "then c\n", 7), 0);
	wait_log(log, " #1 msg still a\n", 1);
	wait_log(log, " #3 msg then c\n", 1);
	close(a);
	close(c);
	close_server(&r, h_path("fault.summary"));
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
	struct running r;
	int fds[CLIENTS];
	long long until;
	long before;

	(void)state;
	open_server(&r, log);
	before = atomic_load(&joins);
	for (int i = 0; i < CLIENTS; i++)
		fds[i] = connect_to(&r);
	wait_log(log, " connect", CLIENTS);
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
	wait_log(log, " disconnect ", CLIENTS);
	until = h_now_ms() + 10000;
	while (atomic_load(&joins) - before < CLIENTS && h_now_ms() < until)
		h_sleep_ms(10);
	assert_int_equal(atomic_load(&joins) - before, CLIENTS);
	close_server(&r, "/dev/null");
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
