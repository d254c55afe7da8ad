/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fkserver.c - fork per connection keeps the promises where the
 * log is a file, and shows where it cannot: many processes, each with a
 * logger of its own, append to one log.  A file opened O_APPEND takes
 * each write whole at its end: every message is logged exactly once, in
 * whole lines, also across a stop under load; no child is left behind
 * or unreaped; a HUP reaches every child's logger.  A pipe takes a write
 * whole only up to PIPE_BUF: lines that fit are whole, a longer one is
 * cut by another process's lines once the pipe fills - measured here.
 * (What every model shares is in test_shared.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "servers.h"

#define MAX_KIDS 256

/* The processes whose parent is pid (zombies included: a child not yet
 * waited for is still its parent's), into kids[0..max).  How many. */
static size_t children_of(pid_t pid, pid_t *kids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL && n < max) {
		char path[300], buf[512], *paren;
		long ppid;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		paren = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* ") STATE PPID ..." */
		if (paren != NULL &&
		    sscanf(paren + 1, " %*c %ld", &ppid) == 1 && ppid == pid)
			kids[n++] = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return n;
}

/* Waits until pid is stopped (state T in /proc/PID/stat): kill(2)
 * returns before a SIGSTOP has taken effect. */
static void wait_stopped(pid_t pid)
{
	long long until = h_now_ms() + 10000;
	char path[64], buf[512], *paren;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (;;) {
		assert_true(h_now_ms() < until);
		f = fopen(path, "r");
		assert_non_null(f);
		paren = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (paren != NULL && paren[1] == ' ' && paren[2] == 'T')
			return;
		h_sleep_ms(5);
	}
}

/* Waits until pid has no children at all (none live, none a zombie):
 * 0, or -1 after timeout_ms. */
static int wait_no_children(pid_t pid, int timeout_ms)
{
	long long until = h_now_ms() + timeout_ms;
	pid_t kids[MAX_KIDS];

	while (children_of(pid, kids, MAX_KIDS) > 0) {
		if (h_now_ms() >= until)
			return -1;
		h_sleep_ms(20);
	}
	return 0;
}

/* Runs flood with the arguments given (NULL-terminated) against port,
 * or none (port 0: --verify-log); its exit status. */
static int flood(int port, ...)
{
	const char *argv[32];
	char port_text[16];
	struct h_proc f;
	va_list ap;
	int n = 0, rc;

	if (port > 0) {
		snprintf(port_text, sizeof(port_text), "%d", port);
		argv[n++] = "-p";
		argv[n++] = port_text;
	}
	va_start(ap, port);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(h_spawn(&f, "flood", argv, NULL), 0);
	rc = h_wait_exit(&f, 120000);
	if (rc != 0)
		print_message("flood exit %d; see %s\n", rc, f.err_path);
	return rc;
}

/* 50 clients x 2,000 messages, each client a process of its own, all
 * appending to one file: every message exactly once, in whole lines;
 * every child reaped once its client left (no zombie); the summary
 * counts what the children served. */
static void test_many_children_log_once_in_whole_lines(void **state)
{
	struct srv s = {0};

	(void)state;
	srv_start(&s, "fkserver", (const char *)NULL);
	assert_int_equal(
		flood(s.p.port, "-n", "50", "-m", "2000", (const char *)NULL),
		0);
	srv_wait_log(&s, " disconnect ", 50);
	assert_int_equal(wait_no_children(s.p.pid, 10000), 0);
	srv_stop(&s);
	assert_int_equal(flood(0, "--verify-log", s.log, "-n", "50", "-m",
			       "2000", (const char *)NULL),
			 0);
	assert_int_equal(
		h_count_in_file(s.p.err_path, "tcp connections 50 (peak "), 1);
	assert_int_equal(h_count_in_file(s.p.err_path, "tcp 100000 messages"),
			 1);
}

/* A stop while 20 clients send: each child drains its client and
 * exits, the parent waits for all of them; nothing received is lost
 * (each client's messages are a whole prefix of what it sent, once
 * each) and no child outlives the server. */
static void test_stop_under_load(void **state)
{
	struct srv s = {0};
	struct h_proc f;
	pid_t kids[MAX_KIDS];
	size_t n, i;
	char port[16];
	const char *argv[] = {"-p",	   port,    "-n",     "20",
			      "-m",	   "20000", "--rate", "20000",
			      "--timeout", "20000", NULL};

	(void)state;
	srv_start(&s, "fkserver", (const char *)NULL);
	snprintf(port, sizeof(port), "%d", s.p.port);
	assert_int_equal(h_spawn(&f, "flood", argv, NULL), 0);
	srv_wait_log(&s, " connect\n", 20);
	srv_wait_log(&s, " msg c19 m1", 1);
	n = children_of(s.p.pid, kids, MAX_KIDS);
	assert_int_equal(n, 20); /* a process per client */
	srv_stop(&s);
	(void)h_stop(&f, SIGTERM, 20000);
	for (i = 0; i < n; i++)
		assert_true(kill(kids[i], 0) == -1 && errno == ESRCH);
	assert_int_equal(h_count_in_file(s.log, " disconnect "), 20);
	assert_int_equal(flood(0, "--verify-log", s.log, "-n", "20", "-m",
			       "20000", "--allow-missing-tail",
			       (const char *)NULL),
			 0);
}

/* logrotate's way: rename, then HUP.  The parent reopens its log and
 * passes the HUP on; the child serving a client reopens its own, so
 * what that client sends afterwards lands in the new file. */
static void test_hup_reaches_every_child(void **state)
{
	struct srv s = {0};
	char old[H_PATH_MAX + 8];
	int a, b;

	(void)state;
	srv_start(&s, "fkserver", (const char *)NULL);
	a = srv_connect(&s);
	b = srv_connect(&s);
	srv_send(a, "a1\n");
	srv_send(b, "b1\n");
	srv_wait_log(&s, " msg a1\n", 1);
	srv_wait_log(&s, " msg b1\n", 1);
	snprintf(old, sizeof(old), "%s.1", s.log);
	assert_int_equal(rename(s.log, old), 0);
	assert_int_equal(kill(s.p.pid, SIGHUP), 0);
	/* The parent's logger and each child's start the new file. */
	srv_wait_log(&s, " log-reopened", 3);
	srv_send(a, "a2\n");
	srv_send(b, "b2\n");
	srv_wait_log(&s, " msg a2\n", 1);
	srv_wait_log(&s, " msg b2\n", 1);
	close(a);
	close(b);
	srv_wait_log(&s, " disconnect ", 2);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(old, " msg a1\n"), 1);
	assert_int_equal(h_count_in_file(old, " msg b1\n"), 1);
	assert_int_equal(h_count_in_file(old, " msg a2\n"), 0);
	assert_int_equal(h_count_in_file(old, " msg b2\n"), 0);
	assert_int_equal(h_count_in_file(s.log, " msg a1\n"), 0);
}

/* Starts fkserver with standard output the write end of a pipe, the read
 * end returned in *rd, extra options before the port. */
static void start_piped(struct h_proc *p, int *rd, const char *opt1,
			const char *opt2)
{
	const char *argv[] = {opt1, opt2, "0", NULL};

	assert_int_equal(h_spawn_stdout_piped(p, "fkserver", argv, rd), 0);
	assert_int_equal(h_wait_listening(p, 10000), 0);
}

/* Reads what fd holds now into buf (growing *len), waiting up to
 * wait_ms for the first byte; to EOF when eof.  Returns 1 at EOF. */
static int read_pipe(int fd, char **buf, size_t *len, size_t *cap, int wait_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (poll(&pfd, 1, wait_ms) > 0) {
		ssize_t n;

		if (*cap - *len < 65536) {
			*cap = *cap * 2 + 65536;
			*buf = realloc(*buf, *cap + 1);
			assert_non_null(*buf);
		}
		n = read(fd, *buf + *len, *cap - *len);
		if (n <= 0)
			return 1;
		*len += (size_t)n;
		(*buf)[*len] = '\0';
		wait_ms = 0;
	}
	return 0;
}

/* Reads fd until it ends (every process holding its write end exited),
 * at most timeout_ms, into a file at path. */
static void pipe_to_file(int fd, const char *path, int timeout_ms)
{
	long long until = h_now_ms() + timeout_ms;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	while (!read_pipe(fd, &buf, &len, &cap, 100))
		assert_true(h_now_ms() < until);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(buf);
}

/* A reader of the pipe that drains it as it fills: the test's own
 * process, forked, writing what it reads to path.  Its pid. */
static pid_t drain_pipe(int fd, const char *path)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		h_die_with_parent();
		pipe_to_file(fd, path, 60000);
		_exit(0);
	}
	return pid;
}

/* Lines of whole lines only (at most PIPE_BUF bytes, written in pieces
 * that a pipe takes whole): 50 processes writing to one pipe still make
 * a log of whole lines, each message once. */
static void test_pipe_short_lines_stay_whole(void **state)
{
	const char *out = h_path("fk.pipe.log");
	struct h_proc srv;
	int rd, status;
	pid_t reader;

	(void)state;
	start_piped(&srv, &rd, "--idle-timeout", "60");
	reader = drain_pipe(rd, out);
	close(rd);
	assert_int_equal(
		flood(srv.port, "-n", "50", "-m", "2000", (const char *)NULL),
		0);
	assert_int_equal(h_stop(&srv, SIGTERM, 20000), 0);
	assert_int_equal(waitpid(reader, &status, 0), reader);
	assert_int_equal(flood(0, "--verify-log", out, "-n", "50", "-m", "2000",
			       (const char *)NULL),
			 0);
}

/* Client A's message is longer than the pipe holds: its child writes
 * the line, the pipe fills, and the child waits mid-line for room.
 * Client B's child meanwhile writes its own lines - whole, as each is
 * at most PIPE_BUF - into the room the reader makes, and they land
 * inside A's line.  The measured "why not": with a pipe for a log, a
 * process per client cuts any line longer than PIPE_BUF that meets a
 * full pipe.  (A is held with SIGSTOP while B writes, so that the
 * interleaving this shows is certain, not a race won sometimes.) */
static void test_pipe_long_line_is_cut_by_another_process(void **state)
{
	const size_t long_len = 100000; /* > a 64 KiB pipe */
	/* buf starts empty, a string: read_pipe grows it. */
	char *msg = malloc(long_len + 1), *buf = calloc(1, 1), *line, *save;
	size_t len = 0, cap = 0, glued = 0, orphan = 0, whole_b = 0;
	struct h_proc srv;
	int rd, a, b;
	pid_t kids[MAX_KIDS] = {0};

	(void)state;
	assert_non_null(msg);
	assert_non_null(buf);
	memset(msg, 'a', long_len - 1);
	msg[long_len - 1] = '\n';
	msg[long_len] = '\0';
	start_piped(&srv, &rd, "--max-line", "200000");
	a = h_connect("127.0.0.1", srv.port);
	assert_true(a >= 0);
	assert_int_equal(h_send_all(a, msg, long_len), 0);
	assert_int_equal(h_wait_pipe_full(rd, 10000), 0);
	assert_int_equal(children_of(srv.pid, kids, MAX_KIDS), 1);
	assert_int_equal(kill(kids[0], SIGSTOP), 0);
	wait_stopped(kids[0]);
	(void)read_pipe(rd, &buf, &len, &cap, 100);
	assert_true(len > 0 && buf[len - 1] != '\n'); /* A is mid-line */
	b = h_connect("127.0.0.1", srv.port);
	assert_true(b >= 0);
	assert_int_equal(h_send_all(b, "b1\n", 3), 0);
	while (strstr(buf, " msg b1\n") == NULL)
		assert_int_equal(read_pipe(rd, &buf, &len, &cap, 10000), 0);
	assert_int_equal(kill(kids[0], SIGCONT), 0);
	close(a);
	close(b);
	h_sleep_ms(200);
	assert_int_equal(kill(srv.pid, SIGTERM), 0);
	while (!read_pipe(rd, &buf, &len, &cap, 20000))
		;
	assert_int_equal(h_wait_exit(&srv, 20000), 0);
	close(rd);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, " msg aaaa") != NULL &&
		    strstr(line, " #2 connect") != NULL)
			glued++; /* A's head, B's connect line after it */
		else if (strspn(line, "a") == strlen(line))
			orphan++; /* A's tail, a line of its own */
		else if (strstr(line, " msg b1") != NULL)
			whole_b++;
	}
	print_message("fkserver, log on a pipe: A's %zu-byte line cut by "
		      "B's: %zu line(s) glued, %zu orphaned tail(s)\n",
		      long_len, glued, orphan);
	assert_int_equal(glued, 1);
	assert_int_equal(orphan, 1);
	assert_int_equal(whole_b, 1);
	free(buf);
	free(msg);
}

/* A chat room cannot span processes: refused at start, saying why. */
static void test_chat_refused(void **state)
{
	struct h_proc p;
	const char *argv[] = {"--chat", "0", NULL};

	(void)state;
	assert_int_equal(h_spawn(&p, "fkserver", argv, NULL), 0);
	assert_int_equal(h_wait_exit(&p, 10000), 2);
	assert_int_equal(
		h_count_in_file(p.err_path, "a room cannot span processes"), 1);
}

int main(void)
{
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
	/* Each child starts its logger's thread in the child of a
	 * multithreaded process.  ThreadSanitizer cannot follow that ("dup
	 * thread with used id"); GCC 12's AddressSanitizer does not lock
	 * its allocator around fork(2), so a child whose parent had a
	 * thread inside malloc waits for that lock forever (seen: 2 runs
	 * in 10).  The plain build's glibc malloc is fork-safe. */
	puts("test_fkserver: skipped under a sanitizer (its runtime is not "
	     "fork-safe for a multithreaded parent whose child starts "
	     "threads)");
	return 0;
#endif
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_children_log_once_in_whole_lines),
		cmocka_unit_test(test_stop_under_load),
		cmocka_unit_test(test_hup_reaches_every_child),
		cmocka_unit_test(test_pipe_short_lines_stay_whole),
		cmocka_unit_test(test_pipe_long_line_is_cut_by_another_process),
		cmocka_unit_test(test_chat_refused),
	};

	return cmocka_run_group_tests_name("fkserver", tests, NULL,
					   srv_teardown);
}
