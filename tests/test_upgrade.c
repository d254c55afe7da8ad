/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_upgrade.c - SIGUSR2: a new binary takes over without a stop
 * (upgrade.h).  The server runs from a copy of mtserver in the test's
 * directory, so that the test can do what a package upgrade does: put
 * a new file in its place (a new inode, renamed over the old one), or a
 * broken one, or none.
 *
 * Checked across an upgrade under load (flood sending throughout, idle
 * clients connected, a client connecting all the time): a new pid
 * serves, no connection is refused or reset, the old pid drains its
 * clients and exits 0 (idle ones it closes cleanly, as any stop's drain
 * does: they connect again, to the new one), the pid file names the new
 * pid, UDP works, and every line sent is in the log exactly once, in
 * whole lines.  And an
 * upgrade whose new binary does not start leaves the old one serving,
 * with the reason in the log.
 */
#define _GNU_SOURCE /* PR_SET_CHILD_SUBREAPER */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logline.h"
#include "servers.h"

/* Bounds for every wait: far above what a loaded 2-core machine needs. */
#define START_MS 10000
#define STOP_MS	 30000

/* The load: FLOOD_N clients of FLOOD_M messages at FLOOD_RATE a second
 * in all (about 6 s), the upgrade about a second in. */
#define FLOOD_N	   "50"
#define FLOOD_M	   "1200"
#define FLOOD_RATE "10000"
#define IDLE	   200 /* idle clients, connected before the upgrade */
/* The connector: one connection a CONNECT_PAUSE_MS, each sending one
 * line, at most CONNECTS. */
#define CONNECTS	 400
#define CONNECT_PAUSE_MS 10

/* ---- the program file ---- */

/* Room left for "/mtserver.dpkg-new" in a path. */
static char bin_dir[H_PATH_MAX - 32];
/* A new process this test adopted (the subreaper's orphan), killed
 * should its test fail before stopping it; 0 when none. */
static pid_t orphan;

static int kill_orphan(void **state)
{
	(void)state;
	if (orphan > 0 && kill(orphan, SIGKILL) == 0)
		(void)waitpid(orphan, NULL, 0);
	orphan = 0;
	return 0;
}

/* Copies the built mtserver to path (mode 0755).  0 or -1. */
static int copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = h_slurp(from, &len);
	int rc;

	if (data == NULL)
		return -1;
	rc = h_write_file(to, "") == 0 && truncate(to, 0) == 0 ? 0 : -1;
	if (rc == 0) {
		int fd = open(to, O_WRONLY | O_TRUNC);

		rc = fd >= 0 && h_write_all(fd, data, len) == 0 ? 0 : -1;
		if (fd >= 0)
			close(fd);
	}
	free(data);
	return rc == 0 ? chmod(to, 0755) : -1;
}

/* Puts a program in bin_dir/mtserver as dpkg does: written beside it,
 * renamed over it (the running process keeps its old inode).  text
 * NULL: a copy of the built mtserver; else a script with that text. */
static void install_program(const char *text)
{
	char tmp[H_PATH_MAX], dst[H_PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s/mtserver.dpkg-new", bin_dir);
	snprintf(dst, sizeof(dst), "%s/mtserver", bin_dir);
	if (text == NULL)
		assert_int_equal(copy_file(h_bin("mtserver"), tmp), 0);
	else
		assert_int_equal(h_write_file(tmp, text) == 0 &&
					 chmod(tmp, 0755) == 0,
				 1);
	assert_int_equal(rename(tmp, dst), 0);
}

/* Starts bin_dir/mtserver with -l LOG --pid-file PID and opts. */
static void start_copy(struct srv *s, const char *pid_file,
		       const char *const opts[])
{
	const char *saved = getenv("MT_BIN_DIR");
	char saved_dir[H_PATH_MAX];
	const char *argv[32];
	int a = 0;

	snprintf(bin_dir, sizeof(bin_dir), "%s/bin", h_tmpdir());
	(void)mkdir(bin_dir, 0755);
	install_program(NULL);
	h_path_in(s->log, sizeof(s->log), "upgrade.log");
	(void)unlink(s->log);
	(void)unlink(pid_file);
	argv[a++] = "-l";
	argv[a++] = s->log;
	argv[a++] = "--pid-file";
	argv[a++] = pid_file;
	for (int i = 0; opts[i] != NULL && a < 29; i++)
		argv[a++] = opts[i];
	argv[a++] = "0";
	argv[a] = NULL;
	snprintf(saved_dir, sizeof(saved_dir), "%s", saved ? saved : ".");
	/* h_bin reads MT_BIN_DIR: the copy, for this one start. */
	setenv("MT_BIN_DIR", bin_dir, 1);
	assert_int_equal(h_start_server(&s->p, "mtserver", argv), 0);
	setenv("MT_BIN_DIR", saved_dir, 1);
	/* The built program again for whatever the test copies later. */
}

/* The pid the pid file holds, or -1. */
static long pid_in(const char *path)
{
	char *text = h_slurp(path, NULL);
	long pid = text != NULL ? strtol(text, NULL, 10) : -1;

	free(text);
	return pid;
}

/* Waits until the pid file names another pid than old.  It, or -1. */
static long wait_new_pid(const char *path, long old, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		long pid = pid_in(path);

		if (pid > 0 && pid != old)
			return pid;
		usleep(20000);
	}
	return -1;
}

/* Waits for pid, a child of this process (a subreaper's orphan), to
 * exit: its exit status, or -1 when the time ran out (left running). */
static int wait_orphan(pid_t pid, int timeout_ms)
{
	int status;

	for (int waited = 0; waited < timeout_ms; waited += 20) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		if (got == -1)
			return -1;
		usleep(20000);
	}
	return -1;
}

/* ---- clients ---- */

/* Connects all the time while the upgrade goes on: each connection
 * sends "k<N>" and closes; a refused or reset one is counted. */
struct connector {
	pthread_t thread;
	int port;
	atomic_bool quit;
	int made, failed;
	int first_errno;
};

static void *connector_main(void *arg)
{
	struct connector *c = arg;
	char line[32];

	while (!atomic_load(&c->quit) && c->made < CONNECTS) {
		int fd = h_connect("127.0.0.1", c->port);
		int len = snprintf(line, sizeof(line), "k%d\n", c->made);

		if (fd < 0 || h_send_all(fd, line, (size_t)len) == -1 ||
		    shutdown(fd, SHUT_WR) == -1 ||
		    h_wait_eof(fd, 10000) == -1) {
			if (c->failed++ == 0)
				c->first_errno = errno;
		}
		if (fd >= 0)
			close(fd);
		c->made++;
		usleep(CONNECT_PAUSE_MS * 1000);
	}
	return NULL;
}

/* How often each "k<N>", "i<N>" and "udp<N>" line is in the log. */
struct tally {
	unsigned char k[CONNECTS], i[IDLE], udp[4];
	long starts, upgraded;
};

static void tally_line(const struct logline *l, size_t line_len, void *arg)
{
	struct tally *t = arg;
	char text[32];
	int n = -1;

	(void)line_len;
	if (l->event == LOGLINE_START)
		t->starts++;
	if (l->name_len == 8 && memcmp(l->name, "upgraded", 8) == 0)
		t->upgraded++;
	if (!logline_is_message(l) || l->text == NULL ||
	    l->text_len >= sizeof(text))
		return;
	memcpy(text, l->text, l->text_len);
	text[l->text_len] = '\0';
	if (sscanf(text, "k%d", &n) == 1 && n >= 0 && n < CONNECTS)
		t->k[n]++;
	else if (sscanf(text, "i%d", &n) == 1 && n >= 0 && n < IDLE)
		t->i[n]++;
	else if (sscanf(text, "udp%d", &n) == 1 && n >= 0 && n < 4)
		t->udp[n]++;
}

/* Sends "udp<n>" and waits for it in the log. */
static void udp_logged(const struct srv *s, int n)
{
	char line[16], needle[24];
	int fd = h_udp("127.0.0.1", s->p.port);

	assert_true(fd >= 0);
	snprintf(line, sizeof(line), "udp%d\n", n);
	snprintf(needle, sizeof(needle), " udp%d\n", n);
	assert_int_equal(h_send_all(fd, line, strlen(line)), 0);
	close(fd);
	assert_int_equal(h_wait_for(s->log, needle, 1, START_MS), 0);
}

/* ---- a NOTIFY_SOCKET of the test's own ---- */

/* A datagram socket at path that learns each sender's pid (SO_PASSCRED),
 * as systemd's is.  The descriptor; fails the test otherwise. */
static int notify_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	(void)unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
	return fd;
}

/* The next notification into buf (NUL-terminated) and its sender's
 * pid, or -1 when none comes within timeout_ms. */
static pid_t notify_next(int fd, char *buf, size_t size, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct ucred cred = {0};
	struct cmsghdr *c;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1 || (n = recvmsg(fd, &msg, 0)) < 0)
		return -1;
	buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS)
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	return cred.pid;
}

/* ---- tests ---- */

/* systemd's side: the old main process announces MAINPID= of the new
 * one, and says nothing after it (no STOPPING=1: the service goes on);
 * the new one says READY=1. */
static void test_upgrade_tells_systemd_the_new_main_pid(void **state)
{
	const char *const opts[] = {NULL};
	char pid_file[H_PATH_MAX], sock[H_PATH_MAX], buf[512], want[64];
	bool old_ready = false, mainpid = false, new_ready = false;
	long new_pid = -1;
	pid_t old_pid;
	int fd;
	struct srv s;

	(void)state;
	h_path_in(pid_file, sizeof(pid_file), "notify.pid");
	h_path_in(sock, sizeof(sock), "notify.sock");
	fd = notify_listen(sock);
	setenv("NOTIFY_SOCKET", sock, 1);
	start_copy(&s, pid_file, opts);
	unsetenv("NOTIFY_SOCKET");
	while (!old_ready) {
		pid_t from = notify_next(fd, buf, sizeof(buf), START_MS);

		if (from != s.p.pid)
			fail_msg("from %d (server %d): %s", (int)from,
				 (int)s.p.pid, buf);
		old_ready = strstr(buf, "READY=1") != NULL;
	}
	old_pid = s.p.pid; /* h_wait_exit clears it */
	assert_int_equal(kill(old_pid, SIGUSR2), 0);
	new_pid = wait_new_pid(pid_file, (long)old_pid, START_MS + 15000);
	assert_true(new_pid > 0);
	orphan = (pid_t)new_pid;
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
	snprintf(want, sizeof(want), "MAINPID=%ld\n", new_pid);
	/* Everything sent so far is queued: read until it stops coming. */
	for (;;) {
		pid_t from = notify_next(fd, buf, sizeof(buf), 1000);

		if (from == -1)
			break;
		if (from == old_pid) {
			assert_null(strstr(buf, "STOPPING=1"));
			if (strncmp(buf, want, strlen(want)) == 0)
				mainpid = true;
			else
				assert_false(mainpid); /* nothing after it */
		} else {
			assert_int_equal(from, (pid_t)new_pid);
			new_ready |= strstr(buf, "READY=1") != NULL;
		}
	}
	assert_true(mainpid);
	assert_true(new_ready);
	assert_int_equal(kill((pid_t)new_pid, SIGTERM), 0);
	assert_int_equal(wait_orphan((pid_t)new_pid, STOP_MS), 0);
	orphan = 0;
	close(fd);
}

static void test_upgrade_under_load(void **state)
{
	const char *const opts[] = {"--drain-timeout", "30", NULL};
	char pid_file[H_PATH_MAX], port[16];
	struct connector conn = {0};
	struct h_proc flood, verify;
	struct tally t = {0};
	int idle[IDLE];
	long new_pid;
	struct srv s;

	(void)state;
	h_path_in(pid_file, sizeof(pid_file), "upgrade.pid");
	start_copy(&s, pid_file, opts);
	assert_int_equal(pid_in(pid_file), (long)s.p.pid);
	snprintf(port, sizeof(port), "%d", s.p.port);

	for (int i = 0; i < IDLE; i++) {
		idle[i] = h_connect("127.0.0.1", s.p.port);
		assert_true(idle[i] >= 0);
	}
	const char *fargv[] = {"-p",	    port,    "-n",	   FLOOD_N,
			       "-m",	    FLOOD_M, "-s",	   "32",
			       "-t",	    "1",     "--rate",	   FLOOD_RATE,
			       "--timeout", "10000", "--max-time", "120",
			       (char *)NULL};
	assert_int_equal(h_spawn(&flood, "flood", fargv, NULL), 0);
	conn.port = s.p.port;
	assert_int_equal(
		pthread_create(&conn.thread, NULL, connector_main, &conn), 0);
	/* Under way: some of flood's lines and some connections logged. */
	assert_int_equal(h_wait_for(s.log, " c0 m100 ", 1, START_MS), 0);
	assert_int_equal(h_wait_for(s.log, " k20\n", 1, START_MS), 0);

	install_program(NULL); /* the package upgrade */
	assert_int_equal(kill(s.p.pid, SIGUSR2), 0);
	new_pid = wait_new_pid(pid_file, (long)s.p.pid, START_MS + 15000);
	assert_true(new_pid > 0);
	orphan = (pid_t)new_pid;
	assert_int_equal(kill((pid_t)new_pid, 0), 0);
	udp_logged(&s, 0);

	/* flood sent every line: no connection failed or was cut. */
	assert_int_equal(h_wait_exit(&flood, 120000), 0);
	atomic_store(&conn.quit, true);
	pthread_join(conn.thread, NULL);
	if (conn.failed > 0)
		print_message("connector: %d of %d failed, first: %s\n",
			      conn.failed, conn.made,
			      strerror(conn.first_errno));
	assert_int_equal(conn.failed, 0);
	assert_true(conn.made > 50);

	/* The idle clients were the old process's: its drain closed them
	 * (quiet for CONN_DRAIN_QUIET_MS), a clean end of file, no reset.
	 * They come back to the new one.  The old has drained, exits 0. */
	for (int i = 0; i < IDLE; i++) {
		char line[16];
		int len = snprintf(line, sizeof(line), "i%d\n", i);

		if (h_wait_eof(idle[i], STOP_MS) != 0)
			fail_msg("idle client %d: %s", i, strerror(errno));
		close(idle[i]);
		idle[i] = h_connect("127.0.0.1", s.p.port);
		assert_true(idle[i] >= 0);
		assert_int_equal(h_send_all(idle[i], line, (size_t)len), 0);
	}
	for (int i = 0; i < IDLE; i++)
		close(idle[i]);
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);

	/* The new one serves after the old is gone, UDP too. */
	{
		int fd = h_connect("127.0.0.1", s.p.port);

		assert_true(fd >= 0);
		srv_send(fd, "after-upgrade\n");
		close(fd);
		assert_int_equal(
			h_wait_for(s.log, " after-upgrade\n", 1, START_MS), 0);
	}
	udp_logged(&s, 1);
	assert_int_equal(pid_in(pid_file), new_pid);
	assert_int_equal(kill((pid_t)new_pid, SIGTERM), 0);
	assert_int_equal(wait_orphan((pid_t)new_pid, STOP_MS), 0);
	orphan = 0;
	assert_int_equal(access(pid_file, F_OK), -1); /* the new removed it */

	/* Every line once, in whole lines, across both processes. */
	const char *vargv[] = {"-n",	       FLOOD_N, "-m",	     FLOOD_M,
			       "--verify-log", s.log,	(char *)NULL};
	assert_int_equal(h_spawn(&verify, "flood", vargv, NULL), 0);
	if (h_wait_exit(&verify, STOP_MS) != 0) {
		char *out = h_slurp(verify.out_path, NULL);

		print_message("flood --verify-log: %s\n", out ? out : "?");
		free(out);
		fail();
	}
	assert_int_equal(h_each_logline(s.log, tally_line, &t), 0);
	assert_int_equal(t.starts, 2);
	assert_int_equal(t.upgraded, 1);
	for (int k = 0; k < conn.made; k++)
		if (t.k[k] != 1)
			fail_msg("k%d logged %d times", k, t.k[k]);
	for (int i = 0; i < IDLE; i++)
		if (t.i[i] != 1)
			fail_msg("i%d logged %d times", i, t.i[i]);
	assert_int_equal(t.udp[0], 1);
	assert_int_equal(t.udp[1], 1);
}

/* A new binary that fails, then none at all: the old serves on and
 * says why; a good one afterwards takes over. */
static void test_failed_upgrade_keeps_serving(void **state)
{
	const char *const opts[] = {NULL};
	char pid_file[H_PATH_MAX];
	long new_pid;
	struct srv s;
	char path[H_PATH_MAX];
	int fd;

	(void)state;
	h_path_in(pid_file, sizeof(pid_file), "failed.pid");
	start_copy(&s, pid_file, opts);

	install_program("#!/bin/sh\nexit 1\n");
	assert_int_equal(kill(s.p.pid, SIGUSR2), 0);
	assert_int_equal(
		h_wait_for(s.log, "upgrade-failed pid=", 1, START_MS + 15000),
		0);
	assert_true(h_count_in_file(s.log,
				    "error=\"exited with status 1 before "
				    "listening\"") == 1);
	assert_int_equal(
		h_wait_for(s.p.err_path, "upgrade failed", 1, START_MS), 0);
	assert_int_equal(pid_in(pid_file), (long)s.p.pid);
	fd = srv_connect(&s);
	srv_send(fd, "still here\n");
	close(fd);
	srv_wait_log(&s, " still here\n", 1);
	udp_logged(&s, 2);

	snprintf(path, sizeof(path), "%s/mtserver", bin_dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(kill(s.p.pid, SIGUSR2), 0);
	assert_int_equal(
		h_wait_for(s.log, "upgrade-failed pid=", 2, START_MS + 15000),
		0);
	assert_true(h_count_in_file(s.log, "cannot execute") == 1);
	fd = srv_connect(&s);
	srv_send(fd, "here still\n");
	close(fd);
	srv_wait_log(&s, " here still\n", 1);

	/* The package's file back: this upgrade works. */
	install_program(NULL);
	assert_int_equal(kill(s.p.pid, SIGUSR2), 0);
	new_pid = wait_new_pid(pid_file, (long)s.p.pid, START_MS + 15000);
	assert_true(new_pid > 0);
	orphan = (pid_t)new_pid;
	assert_int_equal(h_wait_exit(&s.p, STOP_MS), 0);
	fd = h_connect("127.0.0.1", s.p.port);
	assert_true(fd >= 0);
	srv_send(fd, "new here\n");
	close(fd);
	srv_wait_log(&s, " new here\n", 1);
	assert_int_equal(kill((pid_t)new_pid, SIGTERM), 0);
	assert_int_equal(wait_orphan((pid_t)new_pid, STOP_MS), 0);
	orphan = 0;
	assert_int_equal(h_count_in_file(s.log, " start "), 2);
}

/* The state letter of /proc/PID/stat ('Z': a zombie), or 0 when the
 * process is gone. */
static char proc_state(long pid)
{
	char path[64], *text, *paren, state = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	text = h_slurp(path, NULL);
	if (text != NULL && (paren = strrchr(text, ')')) != NULL &&
	    paren[1] == ' ')
		state = paren[2];
	free(text);
	return state;
}

/* A new binary that takes longer than UPGRADE_READY_MS (15 s) to
 * listen: the old gives up and serves on; the new one, once it listens,
 * finds the old no longer waiting and stops by itself: never two. */
static void test_late_new_process_stops_itself(void **state)
{
	const char *const opts[] = {NULL};
	char pid_file[H_PATH_MAX], script[H_PATH_MAX * 2];
	const char *at;
	long late;
	struct srv s;
	int fd;

	(void)state;
	h_path_in(pid_file, sizeof(pid_file), "late.pid");
	start_copy(&s, pid_file, opts);
	/* The real program under another name, started 18 s late. */
	snprintf(script, sizeof(script), "%s/mtserver.real", bin_dir);
	assert_int_equal(copy_file(h_bin("mtserver"), script), 0);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\nsleep 18\nexec %s/mtserver.real \"$@\"\n",
		 bin_dir);
	install_program(script);
	assert_int_equal(kill(s.p.pid, SIGUSR2), 0);
	assert_int_equal(h_wait_for(s.log, "upgrade-failed pid=", 1, 30000), 0);
	assert_int_equal(h_count_in_file(s.log, "error=\"not listening after "
						"15000 ms\""),
			 1);
	{
		char *log = h_slurp(s.log, NULL);

		assert_non_null(log);
		at = strstr(log, "upgrade-failed pid=");
		late = strtol(at + strlen("upgrade-failed pid="), NULL, 10);
		free(log);
	}
	assert_true(late > 0);
	fd = srv_connect(&s);
	srv_send(fd, "old serves on\n");
	close(fd);
	srv_wait_log(&s, " old serves on\n", 1);
	/* The late one starts (a second start line), finds the pipe
	 * closed and stops: its stop line, and it is gone (a zombie until
	 * its parent, the old server, reaps it at its next upgrade). */
	assert_int_equal(h_wait_for(s.log, " start ", 2, 30000), 0);
	assert_int_equal(h_wait_for(s.log, " stop ", 1, STOP_MS), 0);
	for (int waited = 0; proc_state(late) != 0 && proc_state(late) != 'Z';
	     waited += 20) {
		assert_true(waited < STOP_MS);
		usleep(20000);
	}
	assert_int_equal(
		h_wait_for(s.p.err_path, "no longer waits", 1, START_MS), 0);
	assert_int_equal(pid_in(pid_file), (long)s.p.pid);
	fd = srv_connect(&s);
	srv_send(fd, "still the old\n");
	close(fd);
	srv_wait_log(&s, " still the old\n", 1);
	srv_stop(&s);
	assert_int_equal(access(pid_file, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_failed_upgrade_keeps_serving,
					  kill_orphan),
		cmocka_unit_test_teardown(
			test_upgrade_tells_systemd_the_new_main_pid,
			kill_orphan),
		cmocka_unit_test_teardown(test_upgrade_under_load, kill_orphan),
		cmocka_unit_test(test_late_new_process_stops_itself),
	};

	/* The new process outlives the old one, its parent: this process
	 * adopts it, to wait for it and read its exit status. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		perror("prctl");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
