/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_mtserver.c - what only the thread-per-connection server does:
 * many clients at once, UDP, the tutorial's own clients, the client
 * limit, shutdown under load, running out of descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "servers.h"

#define CLIENTS	 200
#define MESSAGES 100

static void test_200_clients_100_messages_each(void **state)
{
	static unsigned char counts[CLIENTS * MESSAGES];
	int fds[CLIENTS];
	struct srv s = {0};
	long other;

	(void)state;
	srv_start(&s, "mtserver", (const char *)NULL);
	for (int c = 0; c < CLIENTS; c++)
		fds[c] = srv_connect(&s);
	/* All connected at once, messages interleaved across clients. */
	for (int m = 0; m < MESSAGES; m++) {
		for (int c = 0; c < CLIENTS; c++) {
			char msg[32];

			snprintf(msg, sizeof(msg), "c%d m%d\n", c, m);
			srv_send(fds[c], msg);
		}
	}
	for (int c = 0; c < CLIENTS; c++)
		close(fds[c]);
	srv_wait_log(&s, "reason=client-closed messages=100 ", CLIENTS);
	srv_stop(&s);
	other = h_count_numbered(s.log, CLIENTS, MESSAGES, counts);
	assert_int_equal(other, 0);
	for (int i = 0; i < CLIENTS * MESSAGES; i++)
		if (counts[i] != 1)
			fail_msg("c%d m%d logged %d times", i / MESSAGES,
				 i % MESSAGES, counts[i]);
	assert_int_equal(
		h_count_in_file(s.p.err_path, "tcp connections 200 (peak"), 1);
}

static void test_seed_clients_deliver(void **state)
{
	const char *tcp = seed_build("seed_tcp_client");
	const char *udp = tcp ? seed_build("seed_udp_client") : NULL;
	struct srv s = {0};
	int in, status;
	pid_t pid;

	(void)state;
	if (tcp == NULL || udp == NULL)
		skip();
	srv_start(&s, "mtserver", (const char *)NULL);

	/* The TCP client sends 32-byte NUL-padded frames and stops after
	 * "quit".  (Lines grow in length: a shorter line would make it
	 * resend stale bytes of the previous one after its NUL, which are
	 * real bytes on the wire; README, "Classroom".) */
	pid = seed_run(tcp, s.p.port, &in);
	assert_int_equal(h_write_all(in,
				     "alpha\nbravo two\ncharlie three\n"
				     "quit\n",
				     35),
			 0);
	close(in);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	srv_wait_log(&s, "reason=quit messages=4 bytes=128 ", 1);
	assert_int_equal(h_count_in_file(s.log, " msg alpha\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg bravo two\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg charlie three\n"), 1);

	/* The UDP client never stops by itself (at end of input it loops
	 * on its last datagram): feed it, wait, then stop it. */
	pid = seed_run(udp, s.p.port, &in);
	assert_int_equal(h_write_all(in, "dgram one\n", 10), 0);
	srv_wait_log(&s, " msg dgram one\n", 1);
	assert_int_equal(h_write_all(in, "dgram two two\n", 14), 0);
	srv_wait_log(&s, " msg dgram two two\n", 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(in);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " udp 127.0.0.1:"), 2);
}

static void test_udp_datagrams_and_echo(void **state)
{
	char pad[32] = "padded";
	char line[128];
	struct srv s = {0};
	int fd;

	(void)state;
	srv_start(&s, "mtserver", "--echo", (const char *)NULL);
	fd = h_udp("127.0.0.1", s.p.port);
	assert_true(fd >= 0);
	assert_int_equal(send(fd, "one", 3, 0), 3);
	assert_int_equal(h_recv_datagram(fd, line, sizeof(line), 10000), 3);
	assert_string_equal(line, "one");
	assert_int_equal(send(fd, "two\r\nthree\n", 11, 0), 11);
	/* One reply datagram per datagram: its replies joined. */
	assert_true(h_recv_datagram(fd, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "two\nthree");
	/* The seed's 32-byte frame, and stale bytes after the NUL. */
	assert_int_equal(send(fd, pad, sizeof(pad), 0), 32);
	assert_true(h_recv_datagram(fd, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "padded");
	assert_int_equal(send(fd, "hi\0stale", 8, 0), 8);
	assert_true(h_recv_datagram(fd, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "hi");
	close(fd);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg one\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " #2 msg two\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " #2 msg three\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " #3 msg padded\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " #4 msg hi\n"), 1);
	assert_int_equal(h_count_in_file(s.log, "stale"), 0);
	assert_int_equal(h_count_in_file(s.p.err_path,
					 "udp 5 messages, 54 bytes in 4 "
					 "datagrams"),
			 1);
}

static void test_max_clients_refusal(void **state)
{
	char line[64];
	struct srv s = {0};
	int a, b, c, d;

	(void)state;
	srv_start(&s, "mtserver", "--max-clients", "2", (const char *)NULL);
	a = srv_connect(&s);
	b = srv_connect(&s);
	srv_send(a, "from a\n");
	srv_send(b, "from b\n");
	srv_wait_log(&s, " msg from b\n", 1);
	srv_wait_log(&s, " msg from a\n", 1);
	c = srv_connect(&s);
	assert_true(h_read_line(c, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "server full");
	assert_int_equal(h_wait_eof(c, 10000), 0);
	close(c);
	srv_wait_log(&s, " #3 refused reason=server-full", 1);
	/* A place frees up: the next client is served. */
	close(a);
	srv_wait_log(&s, "reason=client-closed", 1);
	d = srv_connect(&s);
	srv_send(d, "from d\n");
	srv_wait_log(&s, " msg from d\n", 1);
	close(b);
	close(d);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.p.err_path, "1 refused"), 1);
}

#define LOAD_CLIENTS 50
/* Per client at most (the counts array is LOAD_CLIENTS * LOAD_MAX);
 * the server is stopped long before a client gets there. */
#define LOAD_MAX 100000

struct loader {
	int fd;
	int id;
	int sent; /* messages handed to the kernel in full */
};

static void *load_main(void *arg)
{
	struct loader *l = arg;
	char batch[100 * 24];

	while (l->sent < LOAD_MAX) {
		size_t len = 0;
		int first = l->sent;

		for (int i = 0; i < 100; i++)
			len += (size_t)sprintf(batch + len, "c%d m%d\n", l->id,
					       first + i);
		if (h_send_all(l->fd, batch, len) == -1)
			break; /* the server went away */
		l->sent += 100;
	}
	return NULL;
}

static void test_sigterm_under_load_loses_nothing(void **state)
{
	struct loader loaders[LOAD_CLIENTS];
	pthread_t threads[LOAD_CLIENTS];
	unsigned char *counts;
	struct srv s = {0};
	long logged = 0, other;
	char *err, *at;

	(void)state;
	counts = calloc((size_t)LOAD_CLIENTS * LOAD_MAX, 1);
	assert_non_null(counts);
	srv_start(&s, "mtserver", (const char *)NULL);
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		loaders[i] = (struct loader){srv_connect(&s), i, 0};
		assert_int_equal(pthread_create(&threads[i], NULL, load_main,
						&loaders[i]),
				 0);
	}
	/* About ten thousand lines in, stop it: SIGTERM mid-load. */
	assert_int_equal(h_wait_size(s.log, 1 << 20, 30000), 0);
	srv_stop(&s); /* exit status 0 */
	for (int i = 0; i < LOAD_CLIENTS; i++) {
		shutdown(loaders[i].fd, SHUT_RDWR);
		pthread_join(threads[i], NULL);
		close(loaders[i].fd);
	}
	other = h_count_numbered(s.log, LOAD_CLIENTS, LOAD_MAX, counts);
	assert_int_equal(other, 0);
	/* Per client: a gap-free prefix of what it sent, each once. */
	for (int c = 0; c < LOAD_CLIENTS; c++) {
		int m = 0;

		while (m < LOAD_MAX && counts[(size_t)c * LOAD_MAX + m] == 1)
			m++;
		logged += m;
		for (int k = m; k < LOAD_MAX; k++)
			if (counts[(size_t)c * LOAD_MAX + k] != 0)
				fail_msg("c%d: m%d logged after a gap at m%d",
					 c, k, m);
	}
	/* The log holds exactly what the server counted as received. */
	err = h_slurp(s.p.err_path, NULL);
	assert_non_null(err);
	at = strstr(err, "summary: tcp ");
	assert_non_null(at);
	assert_int_equal(atol(at + strlen("summary: tcp ")), logged);
	assert_true(logged >= 1000);
	free(err);
	free(counts);
}

static void test_out_of_descriptors(void **state)
{
	int fds[100], served = 0, refused = 0, fd;
	char line[64];
	long before, after;
	struct srv s = {0};

	(void)state;
	h_child_nofile = 48;
	srv_start(&s, "mtserver", "--no-udp", "--max-clients", "1000",
		  (const char *)NULL);
	h_child_nofile = 0;
	for (int i = 0; i < 100; i++)
		fds[i] = srv_connect(&s);
	/* Clients beyond the descriptors are told and closed, not left
	 * hanging, and the listener is not dropped. */
	for (int i = 0; i < 100; i++) {
		int n = h_read_line(fds[i], line, sizeof(line), 300);

		if (n > 0 && strcmp(line, "server full") == 0)
			refused++;
		else
			served++;
	}
	assert_true(refused > 0);
	assert_true(served > 0);
	srv_wait_log(&s, "accept failed: Too many open files", 1);
	/* Not spinning: well under half a CPU over a second. */
	before = h_cpu_ticks(s.p.pid);
	h_sleep_ms(1000);
	after = h_cpu_ticks(s.p.pid);
	assert_true(before >= 0 && after - before < 50);
	for (int i = 0; i < 100; i++)
		close(fds[i]);
	srv_wait_log(&s, "disconnect reason=client-closed", (size_t)served);
	fd = srv_connect(&s);
	srv_send(fd, "served again\n");
	srv_wait_log(&s, " msg served again\n", 1);
	close(fd);
	srv_stop(&s);
	/* Logged once for the whole shortage. */
	assert_int_equal(h_count_in_file(s.log, "accept failed"), 1);
	assert_int_equal(h_count_in_file(s.log, "refused reason=no-desc"),
			 (size_t)refused);
	/* Each refusal names the client. */
	assert_int_equal(h_count_in_file(s.log, "tcp - #"), 0);
}

static void test_transport_switches(void **state)
{
	struct srv s = {0};
	int fd;

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	/* "(tcp)" or "(tcp; IPv6 and IPv4)": TCP alone either way. */
	assert_int_equal(h_count_in_file(s.p.err_path, " (tcp"), 1);
	assert_int_equal(h_count_in_file(s.p.err_path, " (tcp, udp"), 0);
	fd = h_udp("127.0.0.1", s.p.port);
	send(fd, "lost\n", 5, 0);
	close(fd);
	fd = srv_connect(&s);
	srv_send(fd, "tcp only\n");
	close(fd);
	srv_wait_log(&s, " msg tcp only\n", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, "lost"), 0);

	srv_start(&s, "mtserver", "--no-tcp", (const char *)NULL);
	assert_int_equal(h_count_in_file(s.p.err_path, " (udp)\n") +
				 h_count_in_file(s.p.err_path, " (udp; "),
			 1);
	assert_int_equal(h_connect("127.0.0.1", s.p.port), -1);
	assert_int_equal(errno, ECONNREFUSED);
	fd = h_udp("127.0.0.1", s.p.port);
	send(fd, "udp only\n", 9, 0);
	close(fd);
	srv_wait_log(&s, " msg udp only\n", 1);
	srv_stop(&s);
}

static void test_quiet_logs_events_only(void **state)
{
	struct srv s = {0};
	int fd;

	(void)state;
	srv_start(&s, "mtserver", "-q", (const char *)NULL);
	fd = srv_connect(&s);
	srv_send(fd, "secret one\nsecret two\n");
	close(fd);
	srv_wait_log(&s, "reason=client-closed messages=2 ", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " connect\n"), 1);
	assert_int_equal(h_count_in_file(s.log, "secret"), 0);
}

static void test_slow_client_does_not_block_others(void **state)
{
	struct srv s = {0};
	int idle, busy;

	(void)state;
	srv_start(&s, "mtserver", (const char *)NULL);
	idle = srv_connect(&s);
	srv_send(idle, "half a line with no end");
	busy = srv_connect(&s);
	srv_send(busy, "served meanwhile\n");
	srv_wait_log(&s, " msg served meanwhile\n", 1);
	close(busy);
	close(idle);
	srv_stop(&s);
}

/* Whether the bytes buf[0..len) hold needle (they may hold NULs). */
static int has_bytes(const char *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return 1;
	return 0;
}

/*
 * Starts mtserver with GLIBC_TUNABLES and LD_PRELOAD as given (NULL:
 * unset), checks that it serves, and returns whether the environment it
 * runs with holds each of the wanted strings.  glibc splits the variable
 * at ':' with NULs in place, hence the raw bytes of /proc/PID/environ.
 */
static void expect_tunables(const char *tunables, const char *preload,
			    const char *want, const char *unwanted)
{
	struct srv s = {0};
	char path[64];
	size_t len, comm_len;
	char *env, *comm;
	int fd;

	if (tunables != NULL)
		assert_int_equal(setenv("GLIBC_TUNABLES", tunables, 1), 0);
	if (preload != NULL)
		assert_int_equal(setenv("LD_PRELOAD", preload, 1), 0);
	srv_start(&s, "mtserver", (const char *)NULL);
	unsetenv("GLIBC_TUNABLES");
	unsetenv("LD_PRELOAD");
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)s.p.pid);
	env = h_slurp(path, &len);
	assert_non_null(env);
	/* Re-executed or not, it goes by its own name for ps and pkill. */
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)s.p.pid);
	comm = h_slurp(path, &comm_len);
	assert_non_null(comm);
	assert_string_equal(comm, "mtserver\n");
	free(comm);
	fd = srv_connect(&s);
	srv_send(fd, "still serving\n");
	close(fd);
	srv_wait_log(&s, " msg still serving\n", 1);
	srv_stop(&s);
	if (want != NULL && !has_bytes(env, len, want))
		fail_msg("'%s' not in the server's environment", want);
	if (unwanted != NULL && has_bytes(env, len, unwanted))
		fail_msg("'%s' in the server's environment", unwanted);
	free(env);
}

/* lean_stacks() (lean.h): the server re-executes itself once with
 * glibc's static TLS surplus turned off, keeps the user's tunables, and
 * leaves alone a user who chose the surplus or preloads a library. */
static void test_lean_stacks_reexec(void **state)
{
	const char *lean = "glibc.rtld.optional_static_tls=0";

	(void)state;
	if (strcmp(srv_model(), "mtserver") != 0)
		skip(); /* thread per connection's own: the event loops have
			   a few threads, nothing to save on stacks */
	unsetenv("GLIBC_TUNABLES");
	unsetenv("LD_PRELOAD");
	expect_tunables(NULL, NULL, lean, NULL);
	expect_tunables("glibc.malloc.perturb=0", NULL, lean, NULL);
	expect_tunables("glibc.malloc.perturb=0", NULL,
			"glibc.malloc.perturb=0", NULL);
	expect_tunables("glibc.rtld.optional_static_tls=512", NULL,
			"glibc.rtld.optional_static_tls=512", lean);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* (A sanitizer's runtime must come first: no preloading there.) */
	expect_tunables(NULL, "libm.so.6", NULL, lean);
#endif
}

/*
 * "quit" with more input behind it: the client sent many lines and
 * "quit" without reading (its small receive window is full, so most
 * replies still wait in the server's send queue), then one more line.
 * A plain close() with that line unread, or the line arriving after
 * close(), makes the kernel reset the connection and throw the queued
 * replies away.  The server half-closes and reads to the client's FIN
 * (bounded) first, so every reply arrives, then end of stream.
 */
#define QUIT_LINES 20000

static void test_quit_keeps_replies_queued_behind_it(void **state)
{
	static char sent[QUIT_LINES * 8 + 16];
	char buf[65536];
	struct srv s = {0};
	size_t len = 0, lines = 0;
	int fd, rcvbuf = 4096;
	ssize_t n;

	(void)state;
	srv_start(&s, "mtserver", "--echo", "-q", "--no-udp",
		  (const char *)NULL);
	fd = srv_connect(&s);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
		0);
	for (int i = 0; i < QUIT_LINES; i++)
		len += (size_t)snprintf(sent + len, sizeof(sent) - len,
					"l%05d\n", i);
	len += (size_t)snprintf(sent + len, sizeof(sent) - len, "quit\n");
	assert_int_equal(h_send_all(fd, sent, len), 0);
	/* The server has read "quit" and stopped reading... */
	srv_wait_log(&s, "reason=quit", 1);
	/* ...when one more line arrives. */
	srv_send(fd, "after quit\n");
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	assert_int_equal(n, 0); /* end of stream, not a reset */
	assert_int_equal(lines, QUIT_LINES + 1); /* and "quit" itself */
	close(fd);
	srv_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_200_clients_100_messages_each),
		cmocka_unit_test(test_seed_clients_deliver),
		cmocka_unit_test(test_udp_datagrams_and_echo),
		cmocka_unit_test(test_max_clients_refusal),
		cmocka_unit_test(test_sigterm_under_load_loses_nothing),
		cmocka_unit_test(test_out_of_descriptors),
		cmocka_unit_test(test_transport_switches),
		cmocka_unit_test(test_quiet_logs_events_only),
		cmocka_unit_test(test_slow_client_does_not_block_others),
		cmocka_unit_test(test_lean_stacks_reexec),
		cmocka_unit_test(test_quit_keeps_replies_queued_behind_it),
	};

	return cmocka_run_group_tests_name("mtserver", tests, NULL,
					   srv_teardown);
}
