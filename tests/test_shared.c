/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_shared.c - what every concurrency model must do alike (mtserver,
 * stserver, ptserver, fkserver), tested once for each program over real
 * loopback sockets: framing on the wire, echo, quit, idle timeout,
 * oversized and binary input, resets, half-closes, shutdown, the log
 * on standard output, IPv6, and every bad command line through the real
 * binaries.
 */
#define _GNU_SOURCE /* setgroups */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sockios.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "servers.h"
#include "signals.h"

#define PROG ((const char *)*state)

/* The log holds exactly one disconnect line, it starts with want
 * after "disconnect " and ends in a duration "S.mmms". */
static void expect_disconnect_line(const char *log, const char *want)
{
	char *text = h_slurp(log, NULL), *at, *end;

	assert_non_null(text);
	assert_int_equal(h_count(text, " disconnect "), 1);
	at = strstr(text, " disconnect ") + strlen(" disconnect ");
	end = strchr(at, '\n');
	assert_non_null(end);
	if (strncmp(at, want, strlen(want)) != 0)
		fail_msg("disconnect line '%.*s' does not start '%s'",
			 (int)(end - at), at, want);
	/* "...duration=0.004s": digits, '.', three digits, 's'. */
	assert_true(end - at > 6);
	assert_int_equal(end[-1], 's');
	assert_int_equal(end[-5], '.');
	for (int i = 2; i <= 4; i++)
		assert_true(end[-i] >= '0' && end[-i] <= '9');
	assert_true(end[-6] >= '0' && end[-6] <= '9');
	free(text);
}

/* A client that leaves without a byte: no buffers, a plain line. */
static void test_silent_client(void **state)
{
	struct srv s = {0};

	srv_start(&s, PROG, (const char *)NULL);
	close(srv_connect(&s));
	srv_wait_log(&s, " disconnect ", 1);
	srv_stop(&s);
	expect_disconnect_line(s.log,
			       "reason=client-closed messages=0 "
			       "bytes=0 truncated=0 discarded=0 unsent=0 "
			       "duration=");
}

static void test_one_client(void **state)
{
	struct srv s = {0};
	char line[256];
	int fd;

	srv_start(&s, PROG, (const char *)NULL);
	fd = srv_connect(&s);
	srv_send(fd, "hello\nsecond message\r\nquit\n");
	assert_int_equal(h_wait_eof(fd, 10000), 0); /* quit: server closes */
	close(fd);
	srv_wait_log(&s, "disconnect reason=quit messages=3", 1);
	srv_stop(&s);
	expect_disconnect_line(s.log, "reason=quit messages=3 bytes=27 "
				      "truncated=0 discarded=0 "
				      "unsent=0 duration=");
	assert_int_equal(h_count_in_file(s.log, " connect\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg hello\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg second message\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg quit\n"), 1);
	/* Start and stop lines frame the session. */
	assert_int_equal(h_count_in_file(s.log, " - - - start "), 1);
	assert_int_equal(h_count_in_file(s.log, " - - - stop "), 1);
	/* The default address is the host's: "::" or, without IPv6,
	 * 0.0.0.0 (test_dualstack.sh tells the two apart). */
	snprintf(line, sizeof(line), ":%d (tcp", s.p.port);
	assert_int_equal(h_count_in_file(s.p.err_path, line), 1);
	assert_int_equal(h_count_in_file(s.p.err_path, ": listening on [::]:") +
				 h_count_in_file(s.p.err_path,
						 ": listening on 0.0.0.0:"),
			 1);
	assert_int_equal(h_count_in_file(s.p.err_path, ": summary: "), 3);
}

/* Waits (at most 5 s) until what was sent on fd has been acknowledged
 * by the server's kernel, so that the next send arrives apart from it.
 * The framing checks hold however the bytes are split; this only makes
 * the split they test happen. */
static void wait_sent(int fd)
{
	long long until = h_now_ms() + 5000;
	int unacked = 0;

	while (ioctl(fd, SIOCOUTQ, &unacked) == 0 && unacked > 0 &&
	       h_now_ms() < until)
		h_sleep_ms(1);
}

static void test_framing_on_the_wire(void **state)
{
	struct srv s = {0};
	int fd;

	srv_start(&s, PROG, (const char *)NULL);
	fd = srv_connect(&s);
	/* Split over sends, NUL-terminated, several in one send, empty
	 * ones, and a last message with no terminator before EOF. */
	srv_send(fd, "spl");
	wait_sent(fd);
	srv_send(fd, "it\n");
	assert_int_equal(h_send_all(fd, "nul\0\0\0padded\0", 14), 0);
	srv_send(fd, "a\nb\n\n\r\nc\r");
	wait_sent(fd);
	srv_send(fd, "\nlast");
	shutdown(fd, SHUT_WR);
	assert_int_equal(h_wait_eof(fd, 10000), 0);
	close(fd);
	srv_wait_log(&s, "reason=client-closed messages=7", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg split\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg nul\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg padded\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg a\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg b\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg c\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg last\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " msg "), 7);
}

static void test_echo_round_trips(void **state)
{
	struct srv s = {0};
	char line[256];
	int fd;

	srv_start(&s, PROG, "--echo", (const char *)NULL);
	fd = srv_connect(&s);
	for (int i = 0; i < 50; i++) {
		char msg[64];

		snprintf(msg, sizeof(msg), "ping %d\r\n", i);
		srv_send(fd, msg);
		assert_true(h_read_line(fd, line, sizeof(line), 10000) > 0);
		snprintf(msg, sizeof(msg), "ping %d", i);
		assert_string_equal(line, msg);
	}
	/* Half-closed: the last message still gets its reply. */
	srv_send(fd, "bye");
	shutdown(fd, SHUT_WR);
	assert_true(h_read_line(fd, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "bye");
	assert_int_equal(h_wait_eof(fd, 10000), 0);
	close(fd);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg ping "), 50);
}

static void test_quit_ends_session(void **state)
{
	struct srv s = {0};
	int fd;

	srv_start(&s, PROG, (const char *)NULL);
	fd = srv_connect(&s);
	srv_send(fd, "before\nquit\nafter quit\n");
	assert_int_equal(h_wait_eof(fd, 10000), 0);
	close(fd);
	srv_wait_log(&s, "reason=quit", 1);
	assert_int_equal(h_count_in_file(s.log, " msg before\n"), 1);
	assert_int_equal(h_count_in_file(s.log, "after quit"), 0);

	/* "quit" as part of a longer message is just text. */
	fd = srv_connect(&s);
	srv_send(fd, "quitting\nquit now\n quit\nquit.\nxquit\nstill here\n");
	shutdown(fd, SHUT_WR);
	assert_int_equal(h_wait_eof(fd, 10000), 0);
	close(fd);
	srv_wait_log(&s, "reason=client-closed messages=6 ", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg still here\n"), 1);
}

static void test_idle_timeout(void **state)
{
	struct srv s = {0};
	int fd, quiet;

	srv_start(&s, PROG, "--idle-timeout", "1", (const char *)NULL);
	fd = srv_connect(&s);
	srv_send(fd, "still here\n");
	assert_int_equal(h_wait_eof(fd, 10000), 0);
	close(fd);
	/* A client that never sends anything is timed out too. */
	quiet = srv_connect(&s);
	assert_int_equal(h_wait_eof(quiet, 10000), 0);
	close(quiet);
	srv_wait_log(&s, "reason=idle-timeout", 2);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg still here\n"), 1);
}

static void test_oversize_binary_and_controls(void **state)
{
	struct srv s = {0};
	char big[100001];
	int fd;

	srv_start(&s, PROG, "--max-line", "16", (const char *)NULL);
	fd = srv_connect(&s);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(h_send_all(fd, big, sizeof(big)), 0);
	assert_int_equal(h_send_all(fd, "\x1b[2J\x07\x01\\\t\xff ok\n", 13), 0);
	srv_send(fd, "x\n2026-01-01T00:00:00.000000Z tcp 6.6.6.6:6 #6 msg "
		     "forged\n");
	close(fd);
	srv_wait_log(&s, "reason=client-closed", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg-truncated len=100000 "
						"zzzzzzzzzzzzzzzz\n"),
			 1);
	assert_int_equal(h_count_in_file(s.log, " msg-truncated len=55 "
						"2026-01-01T00:00\n"),
			 1);
	assert_int_equal(h_count_in_file(s.log, "truncated=2 "), 1);
	assert_int_equal(
		h_count_in_file(s.log, " msg \\x1b[2J\\x07\\x01\\\\\\t\\xff ok"
				       "\n"),
		1);
	/* The forged line is a message of its own (truncated here), never
	 * a line of the log: only the server's own lines start a line. */
	assert_int_equal(h_count_in_file(s.log, "\n2026-01-01T"), 0);
	assert_int_equal(h_count_in_file(s.log, "\x1b"), 0);
	assert_int_equal(h_count_in_file(s.p.err_path, "summary: tcp 3 "
						       "messages"),
			 0); /* 4 messages: z..., controls, x, forged */
	assert_int_equal(h_count_in_file(s.p.err_path, "summary: tcp 4 "
						       "messages"),
			 1);
}

static void test_reset_mid_message(void **state)
{
	struct linger hard = {.l_onoff = 1, .l_linger = 0};
	struct srv s = {0};
	int fd;

	srv_start(&s, PROG, (const char *)NULL);
	fd = srv_connect(&s);
	srv_send(fd, "whole\nhalf a mess");
	srv_wait_log(&s, " msg whole\n", 1);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)), 0);
	close(fd); /* RST */
	srv_wait_log(&s, "disconnect reason=reset", 1);
	assert_int_equal(h_count_in_file(s.log, "disconnect reason=reset "
						"error=\"Connection reset by "
						"peer\" messages=1 bytes=17 "
						"truncated=0 discarded=11 "),
			 1);
	/* The server carries on. */
	fd = srv_connect(&s);
	srv_send(fd, "next client\n");
	close(fd);
	srv_wait_log(&s, " msg next client\n", 1);
	srv_stop(&s);
}

static void test_sigterm_flushes_everything(void **state)
{
	struct srv s = {0};
	int fd;

	srv_start(&s, PROG, (const char *)NULL);
	fd = srv_connect(&s);
	for (int i = 0; i < 1000; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "c0 m%d\n", i);
		srv_send(fd, msg);
	}
	srv_send(fd, "unfinished");
	srv_wait_log(&s, " connect\n", 1);
	/* Stop while the client is still connected: what it sent is
	 * logged, its unfinished message is counted as discarded. */
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " msg c0 m"), 1000);
	assert_int_equal(h_count_in_file(s.log, " msg c0 m999\n"), 1);
	assert_int_equal(h_count_in_file(s.log, "reason=shutdown "
						"messages=1000 "),
			 1);
	assert_int_equal(h_count_in_file(s.log, "discarded=10 "), 1);
	assert_int_equal(h_wait_eof(fd, 10000), 0);
	close(fd);
}

/* Starts prog with its standard output a pipe that nobody reads, so that
 * once the pipe is full the logger's writes block for good. */
static pid_t start_with_stuck_log(const char *prog, int *pipe_rd, int *port)
{
	char err[H_PATH_MAX];
	int fds[2];
	pid_t pid;

	snprintf(err, sizeof(err), "%s.stuck.err", h_path(prog));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		h_die_with_parent();
		dup2(fds[1], 1);
		dup2(e, 2);
		close(fds[0]);
		execl(h_bin(prog), prog, "0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*pipe_rd = fds[0];
	for (int i = 0; i < 1000 && *port <= 0; i++) {
		char *text = h_slurp(err, NULL);
		if (text != NULL && strstr(text, "listening on ") != NULL)
			*port = atoi(
				strrchr(strstr(text, "listening on "), ':') +
				1);
		free(text);
		if (*port <= 0)
			h_sleep_ms(10);
	}
	assert_true(*port > 0);
	return pid;
}

static void test_second_signal_exits_at_once(void **state)
{
	char line[128];
	int pipe_rd, port = 0, fd, status;
	long long t0;
	pid_t pid = start_with_stuck_log(PROG, &pipe_rd, &port);

	fd = h_connect("127.0.0.1", port);
	assert_true(fd >= 0);
	/* Far more log than a pipe holds: the flusher blocks in write. */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < 4096; i++)
		assert_int_equal(h_send_all(fd, line, sizeof(line)), 0);
	assert_int_equal(h_wait_pipe_full(pipe_rd, 10000), 0);
	/* Timed from when the server took it, past the second in which a
	 * repeated signal counts once (SIGNALS_REPEAT_MS); the graceful
	 * stop has not ended by then, which is the point: the log cannot
	 * be written. */
	assert_int_equal(h_signal_taken(pid, SIGTERM, 10000), 0);
	h_sleep_ms(SIGNALS_REPEAT_MS + 500);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	t0 = h_now_ms();
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(h_now_ms() - t0 < 5000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
	close(fd);
	close(pipe_rd);
}

static void test_log_on_stdout_is_flushed(void **state)
{
	struct h_proc p;
	const char *argv[] = {"0", NULL};
	int fd;

	assert_int_equal(h_start_server(&p, PROG, argv), 0);
	fd = h_connect("127.0.0.1", p.port);
	assert_true(fd >= 0);
	srv_send(fd, "to stdout\n");
	/* Standard output is a file here: the line must reach it while
	 * the server runs, not only at exit. */
	assert_int_equal(h_wait_for(p.out_path, " msg to stdout\n", 1, 10000),
			 0);
	close(fd);
	assert_int_equal(h_stop(&p, SIGINT, 20000), 0);
}

static void test_ipv6_dual_stack(void **state)
{
	const char *argv[] = {"-b", "::", "0", NULL};
	struct h_proc p;
	int fd4, fd6;

	assert_int_equal(h_start_server(&p, PROG, argv), 0);
	assert_int_equal(h_count_in_file(p.err_path, "listening on [::]:"), 1);
	fd6 = h_connect("::1", p.port);
	if (fd6 < 0) {
		h_stop(&p, SIGTERM, 20000);
		skip(); /* no IPv6 loopback here */
	}
	srv_send(fd6, "over six\n");
	close(fd6);
	fd4 = h_connect("127.0.0.1", p.port);
	assert_true(fd4 >= 0);
	srv_send(fd4, "over four\n");
	close(fd4);
	assert_int_equal(h_wait_for(p.out_path, " msg over four\n", 1, 10000),
			 0);
	assert_int_equal(h_stop(&p, SIGTERM, 20000), 0);
	assert_int_equal(h_count_in_file(p.out_path, " tcp [::1]:"), 3);
	/* IPv4-mapped peers are shown as IPv4. */
	assert_int_equal(h_count_in_file(p.out_path, " tcp 127.0.0.1:"), 3);
}

/* Runs prog with argv; checks exit status and a one-line stderr. */
static void expect_exit(const char *prog, const char *const argv[], int status,
			const char *needle)
{
	struct h_proc p;
	char *err;

	assert_int_equal(h_spawn(&p, prog, argv, NULL), 0);
	assert_int_equal(h_wait_exit(&p, 10000), status);
	err = h_slurp(p.err_path, NULL);
	assert_non_null(err);
	if (strstr(err, needle) == NULL)
		fail_msg("stderr '%s' lacks '%s'", err, needle);
	if (status != 0) {
		/* One line naming the problem, after the program's name. */
		assert_int_equal(h_count(err, "\n"), 1);
		assert_int_equal(strncmp(err, prog, strlen(prog)), 0);
	}
	free(err);
}

static void test_bad_command_lines(void **state)
{
	char dir[H_PATH_MAX], port[16], logpath[H_PATH_MAX];
	struct srv s = {0};

	expect_exit(PROG, (const char *[]){"abc", NULL}, 2,
		    "invalid port 'abc'");
	expect_exit(PROG, (const char *[]){"70000", NULL}, 2,
		    "invalid port '70000'");
	expect_exit(PROG, (const char *[]){NULL}, 2, "missing PORT");
	expect_exit(PROG, (const char *[]){"--bogus", "80", NULL}, 2,
		    "unknown option '--bogus'");
	expect_exit(PROG, (const char *[]){"-b", "nowhere", "80", NULL}, 2,
		    "invalid address 'nowhere'");
	expect_exit(PROG, (const char *[]){"--max-line", "0", "80", NULL}, 2,
		    "invalid --max-line");
	expect_exit(PROG, (const char *[]){"--help", NULL}, 0, "");
	expect_exit(PROG, (const char *[]){"--version", NULL}, 0, "");

	/* The log cannot be opened: a runtime error. */
	snprintf(dir, sizeof(dir), "%s", h_path("a-directory"));
	mkdir(dir, 0755);
	expect_exit(PROG, (const char *[]){"-l", dir, "0", NULL}, 1,
		    "cannot open log file");

	/* The port is taken: a runtime error, and nothing half-started
	 * (the log file is not even created). */
	srv_start(&s, PROG, (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	snprintf(logpath, sizeof(logpath), "%s", h_path("never.log"));
	expect_exit(PROG, (const char *[]){"-l", logpath, port, NULL}, 1,
		    "Address already in use");
	assert_int_equal(access(logpath, F_OK), -1);
	srv_stop(&s);
}

static void test_privileged_port_refused(void **state)
{
	char *start =
		h_slurp("/proc/sys/net/ipv4/ip_unprivileged_port_start", NULL);
	int privileged_80 = start != NULL && atoi(start) > 80;
	const char *err_path = h_path("priv.err"); /* made before the fork */
	char bin[H_PATH_MAX];
	pid_t pid;
	int status;

	free(start);
	if (geteuid() != 0 || !privileged_80)
		skip(); /* cannot drop to an unprivileged user here */
	/* Run by uid 65534, which may not reach the checkout (root's home
	 * is 0700): a copy it can run. */
	if (h_bin_any_uid(bin, sizeof(bin), PROG) == NULL)
		fail_msg("no copy of %s that uid 65534 can run", PROG);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *err = freopen(err_path, "w", stderr);

		if (err == NULL || setgroups(0, NULL) == -1 ||
		    setgid(65534) == -1 || setuid(65534) == -1)
			_exit(99);
		execl(bin, PROG, "80", (char *)NULL);
		fprintf(stderr, "cannot run %s as uid 65534: %s\n", bin,
			strerror(errno));
		_exit(98);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 1) {
		char *err = h_slurp(err_path, NULL);

		fail_msg("exit %d, stderr: %s", WEXITSTATUS(status),
			 err != NULL ? err : "?");
	}
	assert_int_equal(h_count_in_file(err_path, "Permission denied"), 1);
}

/* Every concurrency model: each test runs once against each program -
 * thread per connection, iterative, a prethreaded pool, a process per
 * connection, one epoll loop, SO_REUSEPORT loops, one io_uring loop.
 * fkserver but
 * under a sanitizer (see test_fkserver.c's main): each of its children
 * starts a thread, its logger's, in the child of a multithreaded
 * process, which ThreadSanitizer cannot follow and during which GCC
 * 12's AddressSanitizer allocator may be locked by a thread left
 * behind. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define FORK_MODEL(f)
#else
#define FORK_MODEL(f) , cmocka_unit_test_prestate(f, (void *)"fkserver")
#endif
#define EACH(f)                                                                \
	cmocka_unit_test_prestate(f, (void *)"mtserver"),                      \
		cmocka_unit_test_prestate(f, (void *)"stserver"),              \
		cmocka_unit_test_prestate(f, (void *)"ptserver"),              \
		cmocka_unit_test_prestate(f, (void *)"epserver"),              \
		cmocka_unit_test_prestate(f, (void *)"rpserver"),              \
		cmocka_unit_test_prestate(f, (void *)"urserver") FORK_MODEL(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		EACH(test_one_client),
		EACH(test_silent_client),
		EACH(test_framing_on_the_wire),
		EACH(test_echo_round_trips),
		EACH(test_quit_ends_session),
		EACH(test_idle_timeout),
		EACH(test_oversize_binary_and_controls),
		EACH(test_reset_mid_message),
		EACH(test_sigterm_flushes_everything),
		EACH(test_log_on_stdout_is_flushed),
		EACH(test_second_signal_exits_at_once),
		EACH(test_ipv6_dual_stack),
		EACH(test_bad_command_lines),
		EACH(test_privileged_port_refused),
	};

	return cmocka_run_group_tests_name("every model", tests, NULL,
					   srv_teardown);
}
