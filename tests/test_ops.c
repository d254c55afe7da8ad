/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_ops.c - operating the server: signals, log rotation, stop with
 * data in flight and clients in the accept queue, a full disk, a server
 * that cannot start its threads.  Every test drives the real mtserver
 * (and, where one exists, the real tool: logrotate, coreutils timeout)
 * over loopback and then reads the log as an operator would.
 *
 * The guarantee checked throughout: every message whose bytes reached
 * the server before the drain deadline is in the log exactly once, and
 * the log holds whole lines only.
 */
#define _GNU_SOURCE /* unshare(2), CLONE_NEWNS */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logline.h"
#include "servers.h"
#include "signals.h"

/* Bounds for every wait below: far above what a loaded 2-core machine
 * needs, so that only a hang or a real loss fails a test. */
#define START_MS 10000
#define STOP_MS	 20000

/* ---- log checks ---- */

/* 1 when line[0..len) starts with "YYYY-MM-DDTHH:MM:SS.uuuuuuZ ". */

/* The stop line of the server under test (MT_MODEL, or mtserver). */
static size_t count_stop_line(const char *log)
{
	char needle[64];

	snprintf(needle, sizeof(needle), " stop %s", srv_model());
	return h_count_in_file(log, needle);
}

static int has_timestamp(const char *line, size_t len)
{
	return len > 28 && line[4] == '-' && line[7] == '-' &&
	       line[10] == 'T' && line[13] == ':' && line[16] == ':' &&
	       line[19] == '.' && line[26] == 'Z' && line[27] == ' ';
}

/* Fails the test unless the file holds whole log lines only: it ends
 * with '\n', every line starts with a timestamp, and no line carries a
 * second one (a cut line glued to the next). */
static void assert_whole_lines(const char *path)
{
	size_t len;
	char *text = h_slurp(path, &len);
	char *line, *end;

	if (text == NULL) {
		fail_msg("cannot read %s", path);
		return;
	}
	if (len > 0 && text[len - 1] != '\n')
		fail_msg("%s: the last line is cut: '%s'", path,
			 strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text);
	for (line = text; line < text + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(text + len - line));
		*end = '\0';
		if (!has_timestamp(line, (size_t)(end - line)))
			fail_msg("%s: not a whole line: '%.120s'", path, line);
		for (const char *z = line + 28; (z = strstr(z, "Z ")) != NULL;
		     z++)
			if (z - line >= 26 && has_timestamp(z - 26, 28) &&
			    (z[2] == 't' || z[2] == 'u' || z[2] == '-'))
				fail_msg("%s: two lines glued: '%.160s'", path,
					 line);
	}
	free(text);
}

/* Sums the numbered messages "c<client> m<seq>" over files; fails the
 * test unless each of clients x msgs is there exactly once. */
static void assert_each_once(const char *const paths[], int clients, int msgs)
{
	unsigned char *counts = calloc((size_t)clients * (size_t)msgs, 1);

	assert_non_null(counts);
	for (int f = 0; paths[f] != NULL; f++)
		assert_int_equal(
			h_count_numbered(paths[f], clients, msgs, counts), 0);
	for (int i = 0; i < clients * msgs; i++)
		if (counts[i] != 1)
			fail_msg("c%d m%d logged %d times", i / msgs, i % msgs,
				 counts[i]);
	free(counts);
}

/* Fails the test unless client 0's lines in the log are m0..mK-1 for
 * some K <= sent, each once: what was logged is a prefix of what was
 * sent, without holes. */
static void assert_prefix(const char *path, int sent)
{
	unsigned char *counts = calloc((size_t)sent + 1, 1);
	int k = 0;

	assert_non_null(counts);
	assert_int_equal(h_count_numbered(path, 1, sent + 1, counts), 0);
	while (k <= sent && counts[k] == 1)
		k++;
	for (int m = k; m <= sent; m++)
		if (counts[m] != 0)
			fail_msg("c0: m%d logged, m%d missing", m, k);
	free(counts);
}

/* ---- processes ---- */

/* Sends sig to the server and fails the test if it cannot. */
static void signal_server(const struct srv *s, int sig)
{
	assert_int_equal(kill(s->p.pid, sig), 0);
}

/* Sends sig and returns once the server's signal thread has taken it:
 * the server times a repeat from there, and a loaded machine (or a
 * sanitizer) may take its time to get there. */
static void signal_taken(const struct srv *s, int sig)
{
	assert_int_equal(h_signal_taken(s->p.pid, sig, STOP_MS), 0);
}

/* Long enough after a taken signal for the next one not to count as a
 * repeat, with room for the signal thread to read the clock. */
#define PAST_REPEAT_MS (SIGNALS_REPEAT_MS + 500)

/* 1 while the server runs (it has not exited within ms). */
static int still_running(struct srv *s, int ms)
{
	int rc = h_wait_exit(&s->p, ms);

	return rc == -1;
}

/* Runs argv[0] (a path) with argv, output to out_path; returns its exit
 * status, or -1 when it does not end within timeout_ms (then killed). */
static int run_tool(const char *const argv[], const char *out_path,
		    int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		h_die_with_parent();
		execv(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s as uid %u: %s\n", argv[0],
			(unsigned)getuid(), strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (h_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		h_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A tool the suite needs: 0 when it is there.  `make test` installs it
 * (TEST_PEERS, as root) before the suites run; the suite itself never
 * does, so a package build installs nothing.  Else the test skips,
 * naming the package. */
static int need_tool(const char *path, const char *package)
{
	if (access(path, X_OK) == 0)
		return 0;
	print_message("skipped: %s not installed; run: apt-get install %s\n",
		      path, package);
	return -1;
}

/* Starts argv[0] (a path) with argv, stdout and stderr to fresh files
 * in p.  With nproc > 0 it runs as uid with RLIMIT_NPROC nproc: the
 * kernel counts threads against it (root is exempt, hence the uid). */
static void spawn_path(struct h_proc *p, const char *const argv[], long nproc,
		       uid_t uid, int out_fd)
{
	static unsigned seq;

	memset(p, 0, sizeof(*p));
	snprintf(p->out_path, sizeof(p->out_path), "%s/spawn.%u.out",
		 h_tmpdir(), seq);
	snprintf(p->err_path, sizeof(p->err_path), "%s/spawn.%u.err",
		 h_tmpdir(), seq++);
	fflush(NULL);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		struct rlimit rl = {(rlim_t)nproc, (rlim_t)nproc};
		int in = open("/dev/null", O_RDONLY);
		int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (in < 0 || out < 0 || err < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out_fd >= 0 ? out_fd : out, 1);
		dup2(err, 2);
		h_die_with_parent();
		if (nproc > 0) {
			/* LeakSanitizer checks at exit from a thread of its
			 * own, which the process limit forbids (it then
			 * aborts a server that exited well): other tests
			 * check for leaks. */
			static char asan[512];
			const char *was = getenv("ASAN_OPTIONS");

			snprintf(asan, sizeof(asan), "%s%sdetect_leaks=0",
				 was != NULL ? was : "",
				 was != NULL && *was != '\0' ? ":" : "");
			setenv("ASAN_OPTIONS", asan, 1);
		}
		if (nproc > 0 &&
		    (setgroups(0, NULL) == -1 || setgid(uid) == -1 ||
		     setrlimit(RLIMIT_NPROC, &rl) == -1 || setuid(uid) == -1))
			_exit(125);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* ---- clients ---- */

/* Sends "c<client> m<seq>\n" for seq in [from, to). */
static void send_numbered(int fd, int client, int from, int to)
{
	char buf[64 * 1024];
	size_t len = 0;

	for (int m = from; m < to; m++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"c%d m%d\n", client, m);
		if (sizeof(buf) - len < 64 || m + 1 == to) {
			assert_int_equal(h_send_all(fd, buf, len), 0);
			len = 0;
		}
	}
}

/* A client that sends numbered lines until the server goes away. */
struct chatterer {
	int fd;
	int client;
	pthread_t thread;
	int sent; /* lines fully sent */
};

static void *chatter_main(void *arg)
{
	struct chatterer *c = arg;
	char line[64];

	for (;;) {
		int n = snprintf(line, sizeof(line), "c%d m%d\n", c->client,
				 c->sent);

		if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL) != n)
			break;
		c->sent++;
		if (c->sent % 64 == 0)
			h_sleep_ms(1);
	}
	return NULL;
}

static void chatter_start(struct chatterer *c, const struct srv *s, int id)
{
	c->fd = srv_connect(s);
	c->client = id;
	c->sent = 0;
	assert_int_equal(pthread_create(&c->thread, NULL, chatter_main, c), 0);
}

static void chatter_join(struct chatterer *c)
{
	pthread_join(c->thread, NULL);
	close(c->fd);
}

/* flood against the server: n clients of m messages at rate msgs/s in
 * all, in the background. */
static void flood_start(struct h_proc *f, const struct srv *s, const char *n,
			const char *m, const char *rate)
{
	char port[16];

	snprintf(port, sizeof(port), "%d", s->p.port);
	const char *argv[] = {
		"-p",	      port, "-n",	 n,	 "-m",	      m,
		"-s",	      "32", "-t",	 "1",	 "--rate",    rate,
		"--max-time", "60", "--timeout", "3000", (char *)NULL};

	assert_int_equal(h_spawn(f, "flood", argv, NULL), 0);
}

/* The number after "  name" in flood's verify report, or -1. */
static long long report_count(const char *report, const char *name)
{
	const char *at = strstr(report, name);

	return at != NULL ? strtoll(at + strlen(name), NULL, 10) : -1;
}

/* flood --verify-log over files (NULL-terminated); 0 when flood says
 * OK.  prefix: each client's messages need only be a prefix.  report,
 * when not NULL, gets flood's report (malloc'd). */
static int flood_verify_report(const char *const files[], const char *n,
			       const char *m, int prefix, char **report)
{
	const char *argv[48];
	struct h_proc v;
	int a = 0, rc;

	argv[a++] = "-n";
	argv[a++] = n;
	argv[a++] = "-m";
	argv[a++] = m;
	if (prefix)
		argv[a++] = "--allow-missing-tail";
	for (int f = 0; files[f] != NULL && a < 44; f++) {
		argv[a++] = "--verify-log";
		argv[a++] = files[f];
	}
	argv[a] = NULL;
	assert_int_equal(h_spawn(&v, "flood", argv, NULL), 0);
	rc = h_wait_exit(&v, STOP_MS);
	if (report != NULL)
		*report = h_slurp(v.out_path, NULL);
	else if (rc != 0) {
		char *out = h_slurp(v.out_path, NULL);

		print_message("flood --verify-log: %s\n", out ? out : "?");
		free(out);
	}
	return rc;
}

static int flood_verify(const char *const files[], const char *n, const char *m,
			int prefix)
{
	return flood_verify_report(files, n, m, prefix, NULL);
}

/*
 * What copytruncate rotations lost, read off the files (the copies and
 * the live log).  Every cut the server met is recorded by one
 * log-truncated line whose from=N is the size it cut, so the server
 * wrote the sum of those sizes and the live log's; whatever of that the
 * files do not hold is lost.  (A generation nobody wrote to is cut from
 * nothing and leaves no line and no bytes.)
 */
struct cut_account {
	long long lost_bytes; /* written less held, as above */
	long long cuts;	      /* log-truncated lines */
	size_t min_msg;	      /* the shortest message line */
	size_t max_line;      /* the longest line */
	long long events;     /* connect and disconnect lines */
	long long file_cuts;  /* of those cuts, the current file's */
};

/* logrotate may copy while a write is half way into the file: a copy
 * can end in the head of a line, which the cut then lost.  Trims it
 * off, so that the copy holds whole lines and its size counts them. */
static void trim_copy_tail(const char *path)
{
	size_t len;
	char *text = h_slurp(path, &len);
	const char *nl;

	assert_non_null(text);
	if (len > 0 && text[len - 1] != '\n') {
		nl = memrchr(text, '\n', len);
		print_message("%s ends in a cut line (%zu bytes): trimmed\n",
			      path,
			      len - (nl != NULL ? (size_t)(nl - text) + 1 : 0));
		assert_int_equal(truncate(path, nl != NULL ? nl - text + 1 : 0),
				 0);
	}
	free(text);
}

static void account_line(const struct logline *l, size_t line_len, void *arg)
{
	struct cut_account *a = arg;
	uint64_t from, to;

	if (line_len > a->max_line)
		a->max_line = line_len;
	if (l->event == LOGLINE_MSG &&
	    (a->min_msg == 0 || line_len < a->min_msg))
		a->min_msg = line_len;
	if (l->event == LOGLINE_CONNECT || l->event == LOGLINE_DISCONNECT)
		a->events++;
	if (l->name_len != 13 || memcmp(l->name, "log-truncated", 13) != 0)
		return;
	assert_int_equal(logline_field_u64(l, "from", &from), 0);
	assert_int_equal(logline_field_u64(l, "to", &to), 0);
	assert_int_equal(to, 0);
	a->file_cuts++;
	a->lost_bytes += (long long)from;
}

/* Adds one file's lines to a: their lengths, events and cuts; live:
 * the log file itself, whose size was written and not cut. */
static void account_file(struct cut_account *a, const char *path, int live)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	a->file_cuts = 0;
	assert_int_equal(h_each_logline(path, account_line, a), 0);
	/* A generation starts with the line of the cut before it. */
	assert_true(a->file_cuts <= 1);
	a->cuts += a->file_cuts;
	a->lost_bytes -= live ? 0 : (long long)st.st_size;
}

/* ---- 1. SIGHUP ---- */

static void test_hup_reopens_log(void **state)
{
	char old[H_PATH_MAX + 8];
	struct srv s = {0};
	int fds[4];

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	snprintf(old, sizeof(old), "%s.1", s.log);
	for (int c = 0; c < 4; c++) {
		fds[c] = srv_connect(&s);
		send_numbered(fds[c], c, 0, 50);
	}
	srv_wait_log(&s, " msg c", 200);
	assert_int_equal(rename(s.log, old), 0);
	signal_server(&s, SIGHUP);
	srv_wait_log(&s, "reopened", 1);
	for (int c = 0; c < 4; c++)
		send_numbered(fds[c], c, 50, 100);
	srv_wait_log(&s, " msg c", 200);
	for (int c = 0; c < 4; c++)
		close(fds[c]);
	srv_stop(&s);

	char *head = h_slurp(s.log, NULL);

	assert_non_null(head);
	assert_true(has_timestamp(head, strlen(head)));
	assert_non_null(strstr(head, "reopened"));
	assert_true(strstr(head, "reopened") < strchr(head, '\n'));
	free(head);
	assert_each_once((const char *const[]){old, s.log, NULL}, 4, 100);
	assert_int_equal(h_count_in_file(old, "reopened"), 0);
	assert_whole_lines(old);
	assert_whole_lines(s.log);
	assert_int_equal(count_stop_line(s.log), 1);
}

/* Logging to standard output there is nothing to reopen: HUP is logged
 * and otherwise ignored. */
static void test_hup_on_stdout_is_ignored(void **state)
{
	const char *argv[] = {"--no-udp", "0", NULL};
	struct h_proc p;
	int fd;

	(void)state;
	assert_int_equal(h_start_server(&p, "mtserver", argv), 0);
	assert_int_equal(kill(p.pid, SIGHUP), 0);
	assert_int_equal(h_wait_for(p.out_path, "SIGHUP", 1, START_MS), 0);
	fd = h_connect("127.0.0.1", p.port);
	assert_true(fd >= 0);
	assert_int_equal(h_send_all(fd, "after hup\n", 10), 0);
	close(fd);
	assert_int_equal(h_wait_for(p.out_path, "msg after hup", 1, START_MS),
			 0);
	assert_int_equal(h_stop(&p, SIGTERM, STOP_MS), 0);
	assert_int_equal(h_count_in_file(p.out_path, " stop mtserver"), 1);
}

/* Someone else truncates the log (copytruncate, `: > file`): the file
 * then starts with a line saying so, and how many lines may be lost. */
static void test_truncation_is_recorded(void **state)
{
	struct srv s = {0};
	char *head;
	int fd;

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	fd = srv_connect(&s);
	send_numbered(fd, 0, 0, 100);
	srv_wait_log(&s, " msg c0 m99\n", 1);
	assert_int_equal(truncate(s.log, 0), 0);
	send_numbered(fd, 0, 100, 200);
	srv_wait_log(&s, " msg c0 m199\n", 1);
	close(fd);
	srv_stop(&s);
	head = h_slurp(s.log, NULL);
	assert_non_null(head);
	assert_true(strncmp(head + 27, " - - - log-truncated from=", 26) == 0);
	assert_non_null(strstr(head, " to=0\n"));
	assert_true(strstr(head, " to=0\n") < strchr(head, '\n'));
	free(head);
	assert_whole_lines(s.log);
}

/* ---- 2. a repeated signal, a forced exit, SIGQUIT ---- */

/* coreutils timeout sends TERM to the server and then to its group: two
 * TERMs at once are one request to stop. */
static void test_two_terms_at_once_count_once(void **state)
{
	struct srv s = {0};
	int fds[4];

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	for (int c = 0; c < 4; c++) {
		fds[c] = srv_connect(&s);
		send_numbered(fds[c], c, 0, 1000);
	}
	signal_server(&s, SIGTERM);
	signal_server(&s, SIGTERM);
	assert_int_equal(h_stop(&s.p, 0, STOP_MS), 0);
	for (int c = 0; c < 4; c++)
		close(fds[c]);
	assert_each_once((const char *const[]){s.log, NULL}, 4, 1000);
	assert_int_equal(count_stop_line(s.log), 1);
	assert_whole_lines(s.log);
}

/* A stop that takes long (a client never stops sending, the drain
 * deadline is far): a second signal later forces the exit, after writing
 * what is in memory, and stderr says what was dropped. */
static void forced_exit(int first, int second, int want_status)
{
	struct chatterer c;
	struct srv s = {0};
	int rc;

	srv_start(&s, "mtserver", "--no-udp", "--drain-timeout", "60",
		  (const char *)NULL);
	chatter_start(&c, &s, 0);
	srv_wait_log(&s, " msg c0 m", 1000);
	if (first != 0) {
		signal_taken(&s, first);
		/* Past the window in which a repeat counts once; the
		 * drain is still reading the chatterer. */
		h_sleep_ms(PAST_REPEAT_MS);
		assert_true(still_running(&s, 0));
	}
	signal_server(&s, second);
	rc = h_wait_exit(&s.p, STOP_MS);
	chatter_join(&c);
	assert_int_equal(rc, want_status);
	assert_int_equal(h_count_in_file(s.p.err_path, "forced exit"), 1);
	assert_int_equal(h_count_in_file(s.p.err_path, "dropped"), 1);
	assert_whole_lines(s.log);
	/* What was written is a prefix of what was sent, without holes. */
	assert_prefix(s.log, c.sent);
}

static void test_later_second_term_forces_exit(void **state)
{
	(void)state;
	forced_exit(SIGTERM, SIGTERM, 128 + SIGTERM);
}

static void test_quit_forces_exit(void **state)
{
	(void)state;
	forced_exit(0, SIGQUIT, 128 + SIGQUIT);
}

/* ---- 8. two Ctrl-C never cut the last line ---- */

/* The status of a stop by two SIGINTs: the second forces the exit
 * (128 + SIGINT), or, on a machine so loaded that flood's paced clients
 * went quiet for CONN_DRAIN_QUIET_MS, the drain ended first and the stop
 * completed (0).  Either way the log must be whole and exact, which is
 * what the callers assert; how many runs were forced is printed. */
static bool interrupted_exit(int rc)
{
	assert_true(rc == 128 + SIGINT || rc == 0);
	return rc != 0;
}

static void test_two_interrupts_leave_whole_lines(void **state)
{
	int forced = 0;

	(void)state;
	for (int run = 0; run < 5; run++) {
		struct srv s = {0};
		struct h_proc f;

		srv_start(&s, "mtserver", "--no-udp", "--drain-timeout", "60",
			  (const char *)NULL);
		flood_start(&f, &s, "20", "1000000", "400000");
		srv_wait_log(&s, " msg c", 20000);
		signal_taken(&s, SIGINT);
		h_sleep_ms(PAST_REPEAT_MS);
		signal_server(&s, SIGINT);
		forced += interrupted_exit(h_wait_exit(&s.p, STOP_MS));
		h_stop(&f, 0, STOP_MS);
		assert_whole_lines(s.log);
		assert_int_equal(
			flood_verify((const char *const[]){s.log, NULL}, "20",
				     "1000000", 1),
			0);
		unlink(s.log); /* a few hundred MB a run */
	}
	print_message("%d of 5 stops forced by the second SIGINT\n", forced);
}

/* Reads a pipe slowly (64 KiB per 30 ms, about 2 MB/s) into a file
 * until EOF: a log destination slower than the clients. */
struct slow_reader {
	int fd;
	const char *path;
	pthread_t thread;
};

static void *slow_reader_main(void *arg)
{
	struct slow_reader *r = arg;
	static char buf[64 * 1024];
	int out = open(r->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	while (out >= 0 && (n = read(r->fd, buf, sizeof(buf))) > 0) {
		if (h_write_all(out, buf, (size_t)n) == -1)
			break;
		h_sleep_ms(30);
	}
	if (out >= 0)
		close(out);
	return NULL;
}

/* The log is a pipe read more slowly than the clients send, so the
 * logger is always in the middle of a write: a second Ctrl-C then must
 * still leave whole lines. */
static void test_two_interrupts_on_a_slow_log(void **state)
{
	char bin[PATH_MAX];
	const char *argv[] = {
		bin,  "--no-udp", "-b", "127.0.0.1", "--drain-timeout",
		"60", "0",	  NULL};
	struct slow_reader r = {.path = h_path("slow.log")};
	struct srv s = {0};
	struct h_proc f;
	int pfd[2], rc;

	(void)state;
	assert_non_null(realpath(h_bin("mtserver"), bin));
	assert_int_equal(pipe(pfd), 0);
	spawn_path(&s.p, argv, 0, 0, pfd[1]);
	close(pfd[1]);
	r.fd = pfd[0];
	assert_int_equal(pthread_create(&r.thread, NULL, slow_reader_main, &r),
			 0);
	assert_int_equal(h_wait_listening(&s.p, START_MS), 0);
	flood_start(&f, &s, "20", "1000000", "400000");
	h_sleep_ms(1000); /* the logger's buffers fill up */
	signal_taken(&s, SIGINT);
	h_sleep_ms(PAST_REPEAT_MS);
	signal_server(&s, SIGINT);
	/* Whatever the outcome, the reader must end before any assert:
	 * a server still running after the wait is killed, which closes
	 * the pipe. */
	rc = h_stop(&s.p, 0, STOP_MS);
	pthread_join(r.thread, NULL);
	close(pfd[0]);
	h_stop(&f, 0, STOP_MS);
	print_message("stop %s\n",
		      interrupted_exit(rc)
			      ? "forced by the second SIGINT"
			      : "completed before the second SIGINT");
	assert_whole_lines(r.path);
	assert_int_equal(flood_verify((const char *const[]){r.path, NULL}, "20",
				      "1000000", 1),
			 0);
}

/* ---- 3. data in flight at stop; the drain deadline ---- */

#define FLIGHT_CLIENTS 50
#define FLIGHT_LINES   12000 /* "cNN mNNNNN\n": about 128 KiB each */

struct sender {
	int fd, client;
	pthread_t thread;
	int ok;
};

/* Hands the client's 128 KiB to its kernel in one go, then its FIN:
 * from there on no client code has to run for the bytes to arrive (the
 * socket buffer is made big enough), so a busy machine delays them but
 * cannot make the client look silent. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	int sndbuf = 1 << 20;
	size_t len = 0, cap = (size_t)FLIGHT_LINES * 16;
	char *buf = malloc(cap);

	s->ok = buf != NULL && setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
					  sizeof(sndbuf)) == 0;
	for (int m = 0; m < FLIGHT_LINES && s->ok; m++)
		len += (size_t)snprintf(buf + len, cap - len, "c%d m%d\n",
					s->client, m);
	if (s->ok && h_send_all(s->fd, buf, len) == -1)
		s->ok = 0;
	shutdown(s->fd, SHUT_WR);
	free(buf);
	return NULL;
}

/* The server is paused while 50 clients each send about 128 KiB and
 * close: most of it is still in the clients' socket buffers when the
 * server, resumed, finds SIGTERM pending.  Every line must be logged. */
static void test_stop_with_data_in_flight(void **state)
{
	static struct sender snd[FLIGHT_CLIENTS];
	struct srv s = {0};

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	for (int c = 0; c < FLIGHT_CLIENTS; c++) {
		snd[c].fd = srv_connect(&s);
		snd[c].client = c;
	}
	srv_wait_log(&s, " connect\n", FLIGHT_CLIENTS);
	signal_server(&s, SIGSTOP);
	for (int c = 0; c < FLIGHT_CLIENTS; c++)
		assert_int_equal(pthread_create(&snd[c].thread, NULL,
						sender_main, &snd[c]),
				 0);
	h_sleep_ms(300); /* the senders fill every buffer there is */
	signal_server(&s, SIGTERM);
	signal_server(&s, SIGCONT);
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
	for (int c = 0; c < FLIGHT_CLIENTS; c++) {
		pthread_join(snd[c].thread, NULL);
		close(snd[c].fd);
	}
	assert_each_once((const char *const[]){s.log, NULL}, FLIGHT_CLIENTS,
			 FLIGHT_LINES);
	assert_int_equal(h_count_in_file(s.log, "reason=client-closed"),
			 FLIGHT_CLIENTS);
}

/* Bytes still on their way when the stop begins (a client mid-send, a
 * segment being retransmitted) are read: the session drains until the
 * client closes or goes quiet, not just what was queued at the stop. */
static void test_stop_reads_what_arrives_after_it(void **state)
{
	struct srv s = {0};
	int fd;

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	fd = srv_connect(&s);
	send_numbered(fd, 0, 0, 1000);
	signal_server(&s, SIGTERM);
	/* Well inside the quiet period (CONN_DRAIN_QUIET_MS, 500). */
	h_sleep_ms(100);
	send_numbered(fd, 0, 1000, 2000);
	shutdown(fd, SHUT_WR);
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
	close(fd);
	assert_each_once((const char *const[]){s.log, NULL}, 1, 2000);
	assert_int_equal(h_count_in_file(s.log, "reason=client-closed"), 1);
}

/* A client that never stops sending cannot hold the stop up beyond
 * --drain-timeout; one that is quiet ends the drain at once; the summary
 * counts the sessions the deadline cut. */
static void test_drain_deadline_cuts_a_sender(void **state)
{
	struct chatterer c;
	struct srv s = {0};
	long long t0, took;
	int quiet;

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", "--drain-timeout", "2",
		  (const char *)NULL);
	chatter_start(&c, &s, 0);
	quiet = srv_connect(&s);
	srv_wait_log(&s, " msg c0 m", 1000);
	t0 = h_now_ms();
	signal_server(&s, SIGTERM);
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
	took = h_now_ms() - t0;
	chatter_join(&c);
	close(quiet);
	/* The deadline held it up: not much less than 2 s. */
	assert_true(took >= 1500);
	assert_int_equal(h_count_in_file(s.log, "reason=drain-timeout"), 1);
	assert_int_equal(h_count_in_file(s.log, "reason=shutdown"), 1);
	assert_int_equal(
		h_count_in_file(s.p.err_path, "1 cut by the drain deadline"),
		1);
	assert_whole_lines(s.log);
	assert_prefix(s.log, c.sent);
}

/* ---- 4. the accept queue and queued datagrams at stop ---- */

#define QUEUED_CLIENTS 100

static void test_stop_accepts_the_queue(void **state)
{
	int fds[QUEUED_CLIENTS], udp;
	struct srv s = {0};
	char line[32];

	(void)state;
	srv_start(&s, "mtserver", (const char *)NULL);
	signal_server(&s, SIGSTOP);
	/* The kernel completes these handshakes and ACKs the data while
	 * the server sleeps: the clients did everything right. */
	for (int c = 0; c < QUEUED_CLIENTS; c++) {
		fds[c] = srv_connect(&s);
		send_numbered(fds[c], c, 0, 1);
	}
	udp = h_udp("127.0.0.1", s.p.port);
	assert_true(udp >= 0);
	for (int c = 0; c < QUEUED_CLIENTS; c++) {
		int n = snprintf(line, sizeof(line), "c%d m1\n", c);

		assert_int_equal(send(udp, line, (size_t)n, 0), n);
	}
	signal_server(&s, SIGTERM);
	signal_server(&s, SIGCONT);
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
	for (int c = 0; c < QUEUED_CLIENTS; c++)
		close(fds[c]);
	close(udp);
	assert_each_once((const char *const[]){s.log, NULL}, QUEUED_CLIENTS, 2);
	assert_int_equal(h_count_in_file(s.log, " connect\n"), QUEUED_CLIENTS);
}

/* The backlog itself full: every client whose handshake the kernel
 * completed (and whose line it took) is served at stop. */
static void test_stop_with_full_backlog(void **state)
{
	enum { TRIES = 40 };
	int fds[TRIES], done = 0;
	struct srv s = {0};

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", "--backlog", "8",
		  (const char *)NULL);
	signal_server(&s, SIGSTOP);
	for (int c = 0; c < TRIES; c++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		struct pollfd pfd;
		int err = 0;
		socklen_t len = sizeof(err);

		a.sin_port = htons((uint16_t)s.p.port);
		a.sin_addr.s_addr = htonl(0x7f000001);
		fds[c] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fds[c] >= 0);
		(void)connect(fds[c], (struct sockaddr *)&a, sizeof(a));
		pfd = (struct pollfd){.fd = fds[c], .events = POLLOUT};
		if (poll(&pfd, 1, 200) == 1 &&
		    getsockopt(fds[c], SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0) {
			char line[32];
			int n = snprintf(line, sizeof(line), "c%d m0\n", done);

			assert_int_equal(send(fds[c], line, (size_t)n, 0), n);
			done++;
		}
	}
	/* Linux queues backlog + 1 and drops the SYNs beyond. */
	assert_true(done >= 8);
	assert_true(done < TRIES);
	signal_server(&s, SIGTERM);
	signal_server(&s, SIGCONT);
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
	for (int c = 0; c < TRIES; c++)
		close(fds[c]);
	assert_each_once((const char *const[]){s.log, NULL}, done, 1);
}

/* ---- 5. a full disk ---- */

/* Fills the file system holding dir: a file grown until ENOSPC. */
static void fill_up(const char *filler)
{
	static char block[64 * 1024];
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	memset(block, 'f', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

/* Gives back n bytes of the filler. */
static void free_bytes(const char *filler, off_t n)
{
	struct stat st;

	assert_int_equal(stat(filler, &st), 0);
	assert_int_equal(truncate(filler, st.st_size > n ? st.st_size - n : 0),
			 0);
}

/* A small tmpfs of our own, in a private mount namespace: nothing else
 * on the machine sees it, and it goes away with the test process. */
static int mount_small_tmpfs(const char *dir)
{
	if (geteuid() != 0) {
		print_message("skipped: the full-disk test needs root to mount "
			      "a tmpfs\n");
		return -1;
	}
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		print_message("skipped: no private mount namespace: %s\n",
			      strerror(errno));
		return -1;
	}
	mkdir(dir, 0700);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=512k") == -1) {
		print_message("skipped: cannot mount a tmpfs: %s\n",
			      strerror(errno));
		return -1;
	}
	return 0;
}

/* Echoed lines prove the server still serves while the disk is full. */
static void echo_round(int fd, int client, int from, int to)
{
	char want[32], got[64];

	send_numbered(fd, client, from, to);
	for (int m = from; m < to; m++) {
		snprintf(want, sizeof(want), "c%d m%d", client, m);
		assert_true(h_read_line(fd, got, sizeof(got), START_MS) > 0);
		assert_string_equal(got, want);
	}
}

/* Client 10: its lines ("... #1 msg c10 m2000") are 65 bytes, so a
 * page (4096) never ends exactly at a line end. */
#define DISK_CLIENT 10

static void test_full_disk(void **state)
{
	char dir[H_PATH_MAX], log[H_PATH_MAX + 16], filler[H_PATH_MAX + 16];
	const char *argv[] = {"--no-udp", "--echo", "-l", log, "0", NULL};
	struct h_proc p;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", h_path("fs"));
	if (mount_small_tmpfs(dir) == -1)
		skip();
	snprintf(log, sizeof(log), "%s/mtserver.log", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	fill_up(filler);
	assert_int_equal(h_start_server(&p, "mtserver", argv), 0);
	fd = h_connect("127.0.0.1", p.port);
	assert_true(fd >= 0);
	/* Full: nothing can be written, the server serves on. */
	echo_round(fd, DISK_CLIENT, 0, 2000);
	h_sleep_ms(300); /* a flush or two fail */
	/* One page free: a write stops part-way, most likely mid-line. */
	free_bytes(filler, 4096);
	echo_round(fd, DISK_CLIENT, 2000, 4000);
	h_sleep_ms(300);
	fill_up(filler);
	echo_round(fd, DISK_CLIENT, 4000, 6000);
	h_sleep_ms(300);
	/* Space again: the next line written records the gap. */
	unlink(filler);
	echo_round(fd, DISK_CLIENT, 6000, 6100);
	assert_int_equal(h_wait_for(log, "c10 m6099", 1, START_MS), 0);
	close(fd);
	assert_int_equal(h_stop(&p, SIGTERM, STOP_MS), 1);

	assert_whole_lines(log);
	assert_true(h_count_in_file(log, " log-gap lines=") >= 1);
	assert_true(h_count_in_file(log,
				    "reason=\"No space left on device\"") >= 1);
	/* Everything after the disk came back is there... */
	{
		static unsigned char counts[(DISK_CLIENT + 1) * 6100];
		const unsigned char *mine = counts + (size_t)DISK_CLIENT * 6100;

		assert_int_equal(
			h_count_numbered(log, DISK_CLIENT + 1, 6100, counts),
			0);
		for (int m = 6000; m < 6100; m++)
			assert_int_equal(mine[m], 1);
		for (int m = 0; m < 6100; m++)
			assert_true(mine[m] <= 1);
	}
	/* ...and the summary says how many lines were lost. */
	assert_true(h_number_after(p.err_path, "log: ") > 0);
	assert_int_equal(h_count_in_file(p.err_path, "lines lost"), 1);
	umount2(dir, MNT_DETACH);
}

/* ---- 7. no threads, no start ---- */

static void test_no_threads_exits_1(void **state)
{
	char path[PATH_MAX];
	uid_t uid = 61000 + (uid_t)(getpid() % 3000);
	int started = 0;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root (RLIMIT_NPROC does not "
			      "bind root, so the server runs as another "
			      "uid)\n");
		skip();
	}
	/* That uid may not reach the checkout (root's home is 0700). */
	if (h_bin_any_uid(path, sizeof(path), "mtserver") == NULL)
		fail_msg("no copy of mtserver that uid %u can run",
			 (unsigned)uid);
	for (long nproc = 1; nproc <= 16 && !started; nproc++) {
		struct h_proc p;
		int rc;

		const char *argv[] = {path, "-b", "127.0.0.1", "0", NULL};

		spawn_path(&p, argv, nproc, uid, -1);
		rc = h_wait_exit(&p, 1000);
		if (rc == -1) {
			/* Running: it must have said so, and must stop
			 * cleanly. */
			assert_int_equal(h_wait_listening(&p, START_MS), 0);
			assert_int_equal(h_stop(&p, SIGTERM, STOP_MS), 0);
			started = 1;
			continue;
		}
		if (rc != 1 || h_count_in_file(p.err_path, "listening") != 0) {
			char *err = h_slurp(p.err_path, NULL);

			fail_msg("nproc %ld: exit %d, stderr: %s", nproc, rc,
				 err ? err : "?");
		}
		assert_true(h_count_in_file(p.err_path, "cannot") >= 1);
	}
	assert_true(started);
}

/* ---- the real tools: logrotate, timeout ---- */

#define ROT_CLIENTS "50"
#define ROT_MSGS    "4000"

/* The packaged logrotate config (dist/, installed for the service), or
 * NULL when this tree has none. */
#define DIST_LOGROTATE "dist/mtserver.logrotate"

/* conf_out: the packaged config made to rotate log and signal pid: its
 * path pattern replaced by log, its postrotate command by kill -HUP.
 * Everything else (create, compress, delaycompress...) is kept as is. */
static int adapt_dist_config(char *text, size_t size, const char *log,
			     pid_t pid)
{
	FILE *in = fopen(DIST_LOGROTATE, "r");
	char line[512];
	size_t len = 0;

	if (in == NULL)
		return -1;
	while (fgets(line, sizeof(line), in) != NULL && len < size) {
		const char *brace = strchr(line, '{');

		if (line[0] == '/' && brace != NULL)
			len += (size_t)snprintf(text + len, size - len,
						"%s {\n", log);
		else if (strstr(line, "systemctl") != NULL)
			len += (size_t)snprintf(text + len, size - len,
						"\t\tkill -HUP %d\n", (int)pid);
		else
			len += (size_t)snprintf(text + len, size - len, "%s",
						line);
	}
	fclose(in);
	return len < size ? 0 : -1;
}

/* Rotation r of log as a plain file: log.r, or log.r.gz unpacked beside
 * it.  0, or -1 when there is no such rotation. */
static int rotated_file(const char *log, int r, char *path, size_t size)
{
	char gz[H_PATH_MAX + 16], out[H_PATH_MAX + 32];

	/* A cut name would name another file: none of these may be cut. */
	if ((size_t)snprintf(path, size, "%s.%d", log, r) >= size)
		return -1;
	if (access(path, R_OK) == 0)
		return 0;
	if ((size_t)snprintf(gz, sizeof(gz), "%s.%d.gz", log, r) >= sizeof(gz))
		return -1;
	if (access(gz, R_OK) != 0)
		return -1;
	if ((size_t)snprintf(out, sizeof(out), "%s.out", gz) >= sizeof(out))
		return -1;
	{
		const char *argv[] = {"/bin/gzip", "-dk", gz, NULL};

		assert_int_equal(run_tool(argv, out, STOP_MS), 0);
	}
	return access(path, R_OK) == 0 ? 0 : -1;
}

/* 50 flood clients send 4000 messages each at 50,000/s in all (about
 * 4 s); logrotate runs with conf three times meanwhile.  Every message
 * must be in exactly one of the files.  directives NULL: the packaged
 * config (dist/) when the tree has one, else create + HUP. */
static void rotate_under_load(const char *directives, int hup, const char *tag)
{
	char conf[H_PATH_MAX], state_file[H_PATH_MAX + 8], out[H_PATH_MAX + 8];
	char text[4096], rotated[4][H_PATH_MAX + 8];
	const char *files[6];
	struct srv s = {0};
	struct h_proc f;
	int nfiles = 0;

	snprintf(conf, sizeof(conf), "%s", h_path(tag));
	snprintf(state_file, sizeof(state_file), "%s.state", conf);
	snprintf(out, sizeof(out), "%s.out", conf);
	srv_start(&s, "mtserver", "--no-udp", (const char *)NULL);
	if (directives != NULL ||
	    adapt_dist_config(text, sizeof(text), s.log, s.p.pid) == -1)
		snprintf(text, sizeof(text),
			 "%s {\n%s    postrotate\n        %s %d\n    "
			 "endscript\n}\n",
			 s.log,
			 directives != NULL
				 ? directives
				 : "    rotate 5\n    create 0644\n    "
				   "missingok\n",
			 hup ? "kill -HUP" : "true", (int)s.p.pid);
	else
		print_message("using %s\n", DIST_LOGROTATE);
	assert_int_equal(h_write_file(conf, text), 0);
	flood_start(&f, &s, ROT_CLIENTS, ROT_MSGS, "50000");
	for (int r = 0; r < 3; r++) {
		const char *argv[] = {"/usr/sbin/logrotate",
				      "-f",
				      "-s",
				      state_file,
				      conf,
				      NULL};

		h_sleep_ms(800);
		if (run_tool(argv, out, STOP_MS) != 0) {
			char *o = h_slurp(out, NULL);

			fail_msg("logrotate failed: %s", o ? o : "?");
		}
	}
	assert_int_equal(h_wait_exit(&f, 60000), 0);
	srv_stop(&s);
	for (int r = 3; r >= 1; r--)
		if (rotated_file(s.log, r, rotated[r], sizeof(rotated[r])) == 0)
			files[nfiles++] = rotated[r];
	assert_int_equal(nfiles, 3);
	files[nfiles++] = s.log;
	files[nfiles] = NULL;
	for (int i = 0; !hup && i < nfiles - 1; i++)
		trim_copy_tail(files[i]);
	for (int i = 0; i < nfiles; i++)
		assert_whole_lines(files[i]);
	if (hup) {
		assert_int_equal(flood_verify(files, ROT_CLIENTS, ROT_MSGS, 0),
				 0);
		return;
	}
	/* copytruncate: lines written between logrotate's copy and its
	 * truncate are in neither file (logrotate says so).  The server
	 * records each cut with the size it cut from: the missing lines
	 * must fill the bytes the copies lack of those sizes, none twice. */
	{
		struct cut_account a = {0};
		char *report = NULL;
		long long missing;

		(void)flood_verify_report(files, ROT_CLIENTS, ROT_MSGS, 0,
					  &report);
		assert_non_null(report);
		for (int i = 0; i < nfiles; i++)
			account_file(&a, files[i], i == nfiles - 1);
		/* Three rotations; fewer cuts when a generation was empty. */
		assert_true(a.cuts >= 1 && a.cuts <= 3);
		assert_true(a.lost_bytes >= 0);
		missing = report_count(report, "  missing");
		/* Lost bytes hold the missing messages, and only those
		 * beside any lost connect or disconnect lines. */
		if (missing < 0 ||
		    a.lost_bytes < missing * (long long)a.min_msg ||
		    a.lost_bytes >
			    (missing + 2LL * atoi(ROT_CLIENTS) - a.events) *
				    (long long)a.max_line ||
		    report_count(report, "  duplicated") != 0 ||
		    report_count(report, "  corrupted") != 0)
			fail_msg(
				"%lld missing (lines of %zu-%zu bytes), %lld bytes "
				"lost: %s",
				missing, a.min_msg, a.max_line, a.lost_bytes,
				report);
		print_message("copytruncate: %lld lines missing, %lld bytes\n",
			      missing, a.lost_bytes);
		free(report);
	}
}

static void test_logrotate_create_and_hup(void **state)
{
	(void)state;
	if (need_tool("/usr/sbin/logrotate", "logrotate") == -1)
		skip();
	rotate_under_load(NULL, 1, "rotate-create.conf");
}

static void test_logrotate_copytruncate(void **state)
{
	(void)state;
	if (need_tool("/usr/sbin/logrotate", "logrotate") == -1)
		skip();
	rotate_under_load("    rotate 5\n    copytruncate\n    missingok\n", 0,
			  "rotate-copytruncate.conf");
}

/* `timeout 1.5 mtserver` under load, 20 times: timeout's two TERMs (to
 * the server, then to its group) are one stop, and every line the server
 * counted is logged, each client's a prefix of what it sent. */
static void test_timeout_under_load_20_runs(void **state)
{
	char bin[PATH_MAX];
	long long total = 0;

	(void)state;
	assert_non_null(realpath(h_bin("mtserver"), bin));
	for (int run = 0; run < 20; run++) {
		const char *argv[] = {"/usr/bin/timeout",
				      "--preserve-status",
				      "1.5",
				      bin,
				      "--no-udp",
				      "-b",
				      "127.0.0.1",
				      "--drain-timeout",
				      "0.5",
				      "-l",
				      NULL,
				      "0",
				      NULL};
		char log[H_PATH_MAX];
		struct srv s = {0};
		struct h_proc f;
		long long msgs, counted;

		snprintf(log, sizeof(log), "%s", h_path("timeout.log"));
		unlink(log);
		argv[10] = log;
		snprintf(s.log, sizeof(s.log), "%s", log);
		spawn_path(&s.p, argv, 0, 0, -1);
		assert_int_equal(h_wait_listening(&s.p, START_MS), 0);
		flood_start(&f, &s, "50", "1000000", "100000");
		assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
		h_stop(&f, 0, STOP_MS);
		counted = h_number_after(log, "tcp connections, ");
		msgs = (long long)h_count_in_file(log, " msg c");
		if (counted < 0 || msgs != counted)
			fail_msg("run %d: %lld lines logged, %lld counted", run,
				 msgs, counted);
		/* A loaded machine may start flood late in a run: what
		 * counts is that what arrived is logged. */
		total += counted;
		assert_whole_lines(log);
		assert_int_equal(flood_verify((const char *const[]){log, NULL},
					      "50", "1000000", 1),
				 0);
		unlink(log);
	}
	/* The runs carried load at all. */
	assert_true(total > 0);
}

/* ---- a blocked log destination (issue 20, items 5 and 6) ---- */

/* How long a stop may take past --drain-timeout in these tests: the
 * server's own bound (server.h, SERVER_STOP_GRACE_MS) with a wide margin
 * for a loaded machine. */
#define BLOCKED_STOP_MARGIN_MS 15000

/* 1 when something accepts TCP connections on 127.0.0.1:port. */
static int port_listens(int port)
{
	int fd = h_connect("127.0.0.1", port);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* prog -l FIFO, and nobody reads the FIFO: a log that cannot be opened
 * now.  The server must say so in one line and exit 1 at once, having
 * listened on nothing (it opens the log before any listener). */
static void log_fifo_without_reader(const char *prog)
{
	char bin[PATH_MAX], port[16], fifo[H_PATH_MAX];
	const char *argv[] = {bin, "-b", "127.0.0.1", "-l", fifo, port, NULL};
	struct h_proc p;
	size_t len;
	char *err;
	int rc, listened;

	snprintf(fifo, sizeof(fifo), "%s", h_path(prog));
	strncat(fifo, ".fifo", sizeof(fifo) - strlen(fifo) - 1);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(port, sizeof(port), "%d", h_free_port());
	assert_non_null(realpath(h_bin(prog), bin));
	spawn_path(&p, argv, 0, 0, -1);
	rc = h_wait_exit(&p, 10000);
	listened = port_listens(atoi(port));
	if (rc == -1)
		h_stop(&p, SIGKILL, STOP_MS);
	if (listened)
		fail_msg("%s listens on %s while its log cannot be opened",
			 prog, port);
	assert_int_equal(rc, 1);
	err = h_slurp(p.err_path, &len);
	assert_non_null(err);
	/* One line, naming the file and why. */
	assert_true(len > 0 && err[len - 1] == '\n');
	assert_int_equal(h_count(err, "\n"), 1);
	assert_non_null(strstr(err, "cannot open log file"));
	assert_non_null(strstr(err, fifo));
	assert_non_null(strstr(err, "no reader"));
	free(err);
}

static void test_log_fifo_without_reader_mtserver(void **state)
{
	(void)state;
	log_fifo_without_reader("mtserver");
}

static void test_log_fifo_without_reader_stserver(void **state)
{
	(void)state;
	log_fifo_without_reader("stserver");
}

/* A FIFO with a reader is a log like any other (written without
 * blocking, waited for in poll): a reader slower than the clients holds
 * them back, loses nothing, and the stop ends with exit 0. */
static void test_log_fifo_with_reader(void **state)
{
	char bin[PATH_MAX], fifo[H_PATH_MAX];
	const char *argv[] = {bin,  "--no-udp", "-b", "127.0.0.1",
			      "-l", fifo,	"0",  NULL};
	struct slow_reader r = {.path = h_path("fifo-read.log")};
	struct srv s = {0};
	int fds[4], rc;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s", h_path("read.fifo"));
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* The reader's end first: the server's open does not wait for
	 * one.  Read once the server has it open (before that a read
	 * would see the end of a FIFO without writers). */
	r.fd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(r.fd >= 0);
	assert_int_equal(fcntl(r.fd, F_SETFL, 0), 0);
	assert_non_null(realpath(h_bin("mtserver"), bin));
	spawn_path(&s.p, argv, 0, 0, -1);
	rc = h_wait_listening(&s.p, START_MS);
	assert_int_equal(pthread_create(&r.thread, NULL, slow_reader_main, &r),
			 0);
	if (rc == 0) {
		for (int c = 0; c < 4; c++) {
			fds[c] = srv_connect(&s);
			send_numbered(fds[c], c, 0, 5000);
		}
		for (int c = 0; c < 4; c++)
			close(fds[c]);
		rc = h_stop(&s.p, SIGTERM, STOP_MS);
	} else {
		h_stop(&s.p, SIGKILL, STOP_MS);
	}
	pthread_join(r.thread, NULL);
	close(r.fd);
	assert_int_equal(rc, 0);
	assert_each_once((const char *const[]){r.path, NULL}, 4, 5000);
	assert_int_equal(h_count_in_file(r.path, " stop mtserver"), 1);
	assert_whole_lines(r.path);
}

/* The log renamed and a FIFO nobody reads put in its place, then HUP:
 * the reopen fails at once (log-reopen-failed), the old file stays in
 * use, nothing is lost, and the stop ends in time. */
static void test_hup_onto_fifo_without_reader(void **state)
{
	char old[H_PATH_MAX + 8];
	struct srv s = {0};
	long long t0, took;
	int fd, rc;

	(void)state;
	srv_start(&s, "mtserver", "--no-udp", "--drain-timeout", "1",
		  (const char *)NULL);
	snprintf(old, sizeof(old), "%s.1", s.log);
	fd = srv_connect(&s);
	send_numbered(fd, 0, 0, 100);
	srv_wait_log(&s, " msg c0 m99", 1);
	assert_int_equal(rename(s.log, old), 0);
	assert_int_equal(mkfifo(s.log, 0600), 0);
	signal_taken(&s, SIGHUP);
	send_numbered(fd, 0, 100, 200);
	/* The old file takes the later lines (not asserted yet: on a
	 * server that hangs, the stop below must still be tried). */
	(void)h_wait_for(old, " msg c0 m199", 1, 10000);
	close(fd);
	t0 = h_now_ms();
	rc = h_stop(&s.p, SIGTERM, 1000 + BLOCKED_STOP_MARGIN_MS);
	took = h_now_ms() - t0;
	if (rc == -1)
		fail_msg("the stop did not end within %d ms of SIGTERM "
			 "(killed)",
			 1000 + BLOCKED_STOP_MARGIN_MS);
	assert_int_equal(rc, 0);
	print_message("stop took %lld ms\n", took);
	assert_int_equal(h_count_in_file(old, " log-reopen-failed path="), 1);
	assert_each_once((const char *const[]){old, NULL}, 1, 200);
	assert_whole_lines(old);
	unlink(s.log);
}

/* The lines of a log file that logline_parse reads, by kind. */
struct line_tally {
	long long msgs, others, gaps;
};

static void tally_line(const struct logline *l, size_t line_len, void *arg)
{
	struct line_tally *t = arg;

	(void)line_len;
	if (l->event == LOGLINE_MSG || l->event == LOGLINE_MSG_TRUNCATED)
		t->msgs++;
	else if (l->name_len == 7 && memcmp(l->name, "log-gap", 7) == 0)
		t->gaps++; /* the logger's own note: not an appended line */
	else
		t->others++;
}

/* Reads fd to EOF into path; 0, or -1 on an error or after timeout_ms. */
static int drain_pipe_to(int fd, const char *path, int timeout_ms)
{
	static char buf[64 * 1024];
	long long deadline = h_now_ms() + timeout_ms;
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = -1;

	while (out >= 0 && h_now_ms() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			rc = 0;
		if (n <= 0 || h_write_all(out, buf, (size_t)n) == -1)
			break;
	}
	if (out >= 0)
		close(out);
	return rc;
}

#define STALL_CLIENTS 4

/* The log is standard output, a pipe whose reader stops reading: every
 * client stalls (back-pressure), and SIGTERM must still end the server
 * within --drain-timeout and a bound, exit 1, and count as lost exactly
 * the lines that did not reach the pipe. */
static void test_stdout_log_reader_stops(void **state)
{
	char bin[PATH_MAX];
	const char *argv[] = {
		bin, "--no-udp", "-b", "127.0.0.1", "--drain-timeout",
		"1", "0",	 NULL};
	static struct chatterer c[STALL_CLIENTS];
	const char *got = h_path("stalled.log");
	struct line_tally t = {0};
	struct srv s = {0};
	unsigned char *counts;
	long long t0, took, lost, msgs, conns, max_sent = 0;
	int pfd[2], rc, queued = 0;

	(void)state;
	assert_non_null(realpath(h_bin("mtserver"), bin));
	assert_int_equal(pipe(pfd), 0);
	spawn_path(&s.p, argv, 0, 0, pfd[1]);
	close(pfd[1]);
	assert_int_equal(h_wait_listening(&s.p, START_MS), 0);
	for (int i = 0; i < STALL_CLIENTS; i++)
		chatter_start(&c[i], &s, i);
	/* Nobody reads the pipe: it fills, then the logger's buffers. */
	for (int i = 0; i < 200 && queued < 60 * 1024; i++) {
		h_sleep_ms(50);
		assert_int_equal(ioctl(pfd[0], FIONREAD, &queued), 0);
	}
	assert_true(queued >= 60 * 1024);
	h_sleep_ms(1000);
	t0 = h_now_ms();
	rc = h_stop(&s.p, SIGTERM, 1000 + BLOCKED_STOP_MARGIN_MS);
	took = h_now_ms() - t0;
	/* Now read what the pipe holds: the server is gone (or killed). */
	assert_int_equal(drain_pipe_to(pfd[0], got, STOP_MS), 0);
	close(pfd[0]);
	for (int i = 0; i < STALL_CLIENTS; i++) {
		chatter_join(&c[i]);
		if (c[i].sent > max_sent)
			max_sent = c[i].sent;
	}
	if (rc == -1)
		fail_msg("the stop did not end within %d ms of SIGTERM "
			 "(killed)",
			 1000 + BLOCKED_STOP_MARGIN_MS);
	print_message("stop took %lld ms\n", took);
	assert_int_equal(rc, 1);
	assert_whole_lines(got);
	lost = h_number_after(s.p.err_path, "log: ");
	msgs = h_number_after(s.p.err_path, "summary: tcp ");
	conns = h_number_after(s.p.err_path, "tcp connections ");
	assert_true(lost > 0 && msgs > 0 && conns == STALL_CLIENTS);
	assert_int_equal(h_each_logline(got, tally_line, &t), 0);
	/* Every line the server made is in the pipe once or counted lost:
	 * its messages, and start, a connect and a disconnect per client,
	 * the signal and the stop. */
	print_message("%lld messages, %lld in the pipe, %lld other lines, "
		      "%lld lost\n",
		      msgs, t.msgs, t.others, lost);
	assert_int_equal(t.msgs + t.others + lost, msgs + 2 * conns + 3);
	counts = calloc((size_t)(STALL_CLIENTS * (max_sent + 1)), 1);
	assert_non_null(counts);
	assert_int_equal(
		h_count_numbered(got, STALL_CLIENTS, (int)max_sent + 1, counts),
		0);
	for (long long i = 0; i < STALL_CLIENTS * (max_sent + 1); i++)
		if (counts[i] > 1)
			fail_msg("c%lld m%lld logged %d times",
				 i / (max_sent + 1), i % (max_sent + 1),
				 counts[i]);
	free(counts);
}

/* Standard error is a pipe that is full and nobody reads, so the
 * server's main thread hangs in its first word there ("listening"),
 * where no deadline reaches it: the stop's backstop must still end the
 * process (SERVER_STOP_BACKSTOP_MS past the drain deadline and the
 * log's grace, then a forced exit whose own alarm ends a write to
 * standard error that never returns). */
static void test_stop_ends_when_stderr_blocks(void **state)
{
	char bin[PATH_MAX], log[H_PATH_MAX];
	const char *argv[] = {bin, "--no-udp",	      "-b", "127.0.0.1", "-l",
			      log, "--drain-timeout", "1",  "0",	 NULL};
	/* drain 1 s + grace 1 s + backstop 5 s + the forced exit's 5 s */
	const int bound_ms = 12000 + BLOCKED_STOP_MARGIN_MS;
	static char fill[4096];
	struct h_proc p = {0};
	int pfd[2], rc;

	(void)state;
	snprintf(log, sizeof(log), "%s", h_path("stderr-blocks.log"));
	assert_non_null(realpath(h_bin("mtserver"), bin));
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(fcntl(pfd[1], F_SETFL, O_NONBLOCK), 0);
	while (write(pfd[1], fill, sizeof(fill)) > 0)
		;
	assert_int_equal(fcntl(pfd[1], F_SETFL, 0), 0);
	fflush(NULL);
	p.pid = fork();
	assert_true(p.pid >= 0);
	if (p.pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(pfd[1], 2);
		h_die_with_parent();
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	/* Started: the log has its start line. */
	assert_int_equal(h_wait_for(log, " start mtserver", 1, START_MS), 0);
	signal_taken(&(struct srv){.p = p}, SIGTERM);
	rc = h_wait_exit(&p, bound_ms);
	if (rc == -1)
		h_stop(&p, SIGKILL, STOP_MS);
	close(pfd[0]);
	if (rc == -1)
		fail_msg("the stop did not end within %d ms (killed)",
			 bound_ms);
	/* Ended by the backstop (exit 1) or by the forced exit's alarm. */
	assert_true(rc == 1 || rc == 128 + SIGALRM);
}

/* ---- a newline in the log path (issue 20, item 7) ---- */

/* A log path with a newline in it, made to look like a client's
 * message: the log-reopened line must stay one line (the path escaped),
 * so that the log holds no message but the ones clients sent. */
static void forged_msg(const struct logline *l, size_t line_len, void *arg)
{
	int *forged = arg;

	(void)line_len;
	if ((l->event == LOGLINE_MSG || l->event == LOGLINE_MSG_TRUNCATED) &&
	    !(l->text_len == 5 && memcmp(l->text, "hello", 5) == 0))
		(*forged)++;
}

static void test_newline_in_log_path_forges_nothing(void **state)
{
	char bin[PATH_MAX], path[H_PATH_MAX];
	const char *argv[] = {bin,  "--no-udp", "-b", "127.0.0.1",
			      "-l", path,	"0",  NULL};
	struct srv s = {0};
	int fd, forged = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s",
		 h_path("x\n2026-12-07T00:00:00.000000Z tcp 10.0.0.1:4444 "
			"#1 msg forged.log"));
	unlink(path);
	assert_non_null(realpath(h_bin("mtserver"), bin));
	spawn_path(&s.p, argv, 0, 0, -1);
	assert_int_equal(h_wait_listening(&s.p, START_MS), 0);
	fd = srv_connect(&s);
	srv_send(fd, "hello\n");
	assert_int_equal(h_wait_for(path, " msg hello", 1, START_MS), 0);
	signal_taken(&s, SIGHUP);
	assert_int_equal(h_wait_for(path, "log-reopened", 1, START_MS), 0);
	close(fd);
	assert_int_equal(h_stop(&s.p, SIGTERM, STOP_MS), 0);
	assert_int_equal(h_each_logline(path, forged_msg, &forged), 0);
	assert_int_equal(forged, 0);
	assert_int_equal(h_count_in_file(path, " msg hello"), 1);
	assert_whole_lines(path);
	/* The path is there, escaped: "x\n2026..." as two characters. */
	assert_int_equal(h_count_in_file(path, "x\\n2026-12-07"), 1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hup_reopens_log),
		cmocka_unit_test(test_hup_on_stdout_is_ignored),
		cmocka_unit_test(test_truncation_is_recorded),
		cmocka_unit_test(test_two_terms_at_once_count_once),
		cmocka_unit_test(test_later_second_term_forces_exit),
		cmocka_unit_test(test_quit_forces_exit),
		cmocka_unit_test(test_two_interrupts_leave_whole_lines),
		cmocka_unit_test(test_two_interrupts_on_a_slow_log),
		cmocka_unit_test(test_stop_with_data_in_flight),
		cmocka_unit_test(test_stop_reads_what_arrives_after_it),
		cmocka_unit_test(test_drain_deadline_cuts_a_sender),
		cmocka_unit_test(test_stop_accepts_the_queue),
		cmocka_unit_test(test_stop_with_full_backlog),
		cmocka_unit_test(test_no_threads_exits_1),
		cmocka_unit_test(test_logrotate_create_and_hup),
		cmocka_unit_test(test_logrotate_copytruncate),
		cmocka_unit_test(test_timeout_under_load_20_runs),
		cmocka_unit_test(test_log_fifo_without_reader_mtserver),
		cmocka_unit_test(test_log_fifo_without_reader_stserver),
		cmocka_unit_test(test_log_fifo_with_reader),
		cmocka_unit_test(test_hup_onto_fifo_without_reader),
		cmocka_unit_test(test_stdout_log_reader_stops),
		cmocka_unit_test(test_stop_ends_when_stderr_blocks),
		cmocka_unit_test(test_newline_in_log_path_forges_nothing),
		/* Last: it moves this process into a mount namespace. */
		cmocka_unit_test(test_full_disk),
	};

	/* OPS_TEST=pattern runs only the tests whose names match. */
	if (getenv("OPS_TEST") != NULL)
		cmocka_set_test_filter(getenv("OPS_TEST"));
	return cmocka_run_group_tests(tests, NULL, srv_teardown);
}
