/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_notify.c - mtserver under a service manager: readiness and
 * status (sd_notify, read by a NOTIFY_SOCKET listener of the test's own,
 * an AF_UNIX datagram socket as systemd's), and socket activation by the
 * real systemd-socket-activate.
 *
 * systemd is not PID 1 here, so what systemd itself does with the
 * notifications (the unit's state, `systemctl reload` waiting) is not
 * tested: the protocol on the wire is, in order, and so is every client
 * that connected before the server ran being served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "servers.h"

/* Bounds for every wait: far above what a loaded 2-core machine needs. */
#define WAIT_MS 10000
/* STATUS= comes within a second of a change (NOTIFY_STATUS_MS): the
 * bound is far above that. */
#define STATUS_MS 10000
#define MSG_MAX	  512

/* ---- the NOTIFY_SOCKET listener ---- */

/* A datagram socket bound at name in the test's directory ("@..." for
 * an abstract name); its NOTIFY_SOCKET value in env[0..len). */
static int notify_listener(const char *name, char *env, size_t len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t alen;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (name[0] == '@') {
		snprintf(env, len, "@%s.%ld", name + 1, (long)getpid());
		memcpy(a.sun_path, env, strlen(env));
		a.sun_path[0] = '\0';
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				   strlen(env));
	} else {
		snprintf(env, len, "%s", h_path(name));
		unlink(env);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", env);
		alen = sizeof(a);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&a, alen), 0);
	return fd;
}

/* The next notification as a string, or -1 after timeout_ms. */
static int next_note(int fd, char *buf, size_t size, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	n = recv(fd, buf, size - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* The next notification that is not a STATUS= update alone (those
 * come whenever the counters change); fails the test after WAIT_MS. */
static void next_state(int fd, char *buf, size_t size)
{
	long long deadline = h_now_ms() + WAIT_MS;

	do {
		int left = (int)(deadline - h_now_ms());

		if (left <= 0 || next_note(fd, buf, size, left) < 0)
			fail_msg("no notification within %d ms", WAIT_MS);
	} while (strncmp(buf, "STATUS=", 7) == 0);
}

/* Waits for a STATUS= line holding every one of the needles. */
static void wait_status(int fd, const char *const needles[])
{
	long long deadline = h_now_ms() + STATUS_MS;
	char buf[MSG_MAX], last[MSG_MAX] = "(none)";

	while (h_now_ms() < deadline) {
		const char *status;
		int all = 1;

		if (next_note(fd, buf, sizeof(buf),
			      (int)(deadline - h_now_ms())) < 0)
			break;
		status = strstr(buf, "STATUS=");
		if (status == NULL) {
			fail_msg("unexpected notification '%s'", buf);
			return;
		}
		snprintf(last, sizeof(last), "%s", status);
		for (int i = 0; needles[i] != NULL; i++)
			all = all && strstr(status, needles[i]) != NULL;
		if (all)
			return;
	}
	fail_msg("no STATUS with the counters expected; last: %s", last);
}

/* Starts mtserver (-l LOG, the options, port 0) with NOTIFY_SOCKET set
 * to value (NULL: unset), waiting for it to listen. */
static void start_notified(struct srv *s, const char *value, const char *opt)
{
	if (value != NULL)
		setenv("NOTIFY_SOCKET", value, 1);
	srv_start(s, "mtserver", "-b", "127.0.0.1", opt, (const char *)NULL);
	unsetenv("NOTIFY_SOCKET");
}

/* CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC= carries it. */
static unsigned long long mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	       (unsigned long long)ts.tv_nsec / 1000ULL;
}

/* READY=1 once it listens; STATUS= with the counters a TCP client and a
 * UDP datagram made; RELOADING=1 (with the monotonic time of the
 * reload) then READY=1 around a SIGHUP, which reopened the log;
 * STOPPING=1 at SIGTERM, and nothing but STATUS after it. */
static void test_notifications_in_order(void **state)
{
	char env[H_PATH_MAX], buf[MSG_MAX];
	unsigned long long before, after, usec;
	struct srv s = {0};
	int nfd = notify_listener("notify.sock", env, sizeof(env));
	int fd, udp;
	const char *counted[] = {"connections 1 ", "tcp 1,", "udp 1", NULL};
	const char *p;

	(void)state;
	start_notified(&s, env, "--quiet");
	/* READY=1 first, and only once it listens (srv_start saw the
	 * listening line, which comes before it). */
	assert_true(next_note(nfd, buf, sizeof(buf), WAIT_MS) > 0);
	if (strncmp(buf, "READY=1\n", 8) != 0 && strcmp(buf, "READY=1") != 0)
		fail_msg("first notification is '%s', not READY=1", buf);

	fd = srv_connect(&s);
	srv_send(fd, "one line\n");
	close(fd);
	udp = h_udp("127.0.0.1", s.p.port);
	assert_true(udp >= 0);
	assert_int_equal(h_send_all(udp, "one datagram\n", 13), 0);
	close(udp);
	srv_wait_log(&s, "disconnect", 1);
	wait_status(nfd, counted);

	before = mono_usec();
	assert_int_equal(h_signal_taken(s.p.pid, SIGHUP, WAIT_MS), 0);
	next_state(nfd, buf, sizeof(buf));
	after = mono_usec();
	if (strncmp(buf, "RELOADING=1\n", 12) != 0)
		fail_msg("after SIGHUP: '%s', not RELOADING=1", buf);
	p = strstr(buf, "\nMONOTONIC_USEC=");
	assert_non_null(p);
	usec = strtoull(p + 16, NULL, 10);
	if (usec < before || usec > after)
		fail_msg("MONOTONIC_USEC=%llu is not between %llu and %llu",
			 usec, before, after);
	next_state(nfd, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1");
	srv_wait_log(&s, "log-reopened", 1);

	assert_int_equal(kill(s.p.pid, SIGTERM), 0);
	next_state(nfd, buf, sizeof(buf));
	assert_string_equal(buf, "STOPPING=1");
	assert_int_equal(h_wait_exit(&s.p, WAIT_MS * 2), 0);
	while (next_note(nfd, buf, sizeof(buf), 0) > 0)
		if (strncmp(buf, "STATUS=", 7) != 0)
			fail_msg("after STOPPING=1: '%s'", buf);
	close(nfd);
}

/* An abstract socket name ("@..."), as systemd uses for user services
 * in containers. */
static void test_abstract_notify_socket(void **state)
{
	char env[H_PATH_MAX], buf[MSG_MAX];
	struct srv s = {0};
	int nfd = notify_listener("@mtest-notify", env, sizeof(env));

	(void)state;
	start_notified(&s, env, "--quiet");
	assert_true(next_note(nfd, buf, sizeof(buf), WAIT_MS) > 0);
	assert_memory_equal(buf, "READY=1", 7);
	assert_int_equal(kill(s.p.pid, SIGTERM), 0);
	next_state(nfd, buf, sizeof(buf));
	assert_string_equal(buf, "STOPPING=1");
	assert_int_equal(h_wait_exit(&s.p, WAIT_MS * 2), 0);
	close(nfd);
}

/* Threads of process pid (/proc/PID/status), or -1. */
static long threads_of(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	return (long)h_number_after(path, "Threads:");
}

/* Without NOTIFY_SOCKET nothing changes: no status thread (the one
 * thread a notified server has more), no AF_UNIX socket. */
static void test_without_notify_socket_nothing_changes(void **state)
{
	char env[H_PATH_MAX], buf[MSG_MAX];
	struct srv plain = {0}, notified = {0};
	int nfd = notify_listener("notify2.sock", env, sizeof(env));

	(void)state;
	start_notified(&plain, NULL, "--quiet");
	start_notified(&notified, env, "--quiet");
	assert_true(next_note(nfd, buf, sizeof(buf), WAIT_MS) > 0);
	assert_int_equal(threads_of(plain.p.pid) + 1,
			 threads_of(notified.p.pid));
	srv_stop(&plain);
	srv_stop(&notified);
	close(nfd);
}

/* A NOTIFY_SOCKET that names no socket: a clear error, exit 1. */
static void test_bad_notify_socket_is_refused(void **state)
{
	struct h_proc p;
	const char *argv[] = {"-l", h_path("bad.log"), "0", NULL};

	(void)state;
	setenv("NOTIFY_SOCKET", "run/notify", 1);
	assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(h_wait_exit(&p, WAIT_MS), 1);
	assert_int_equal(
		h_count_in_file(
			p.err_path,
			"NOTIFY_SOCKET 'run/notify' is not an absolute path"),
		1);
}

/* A manager that does not read: its queue fills, sends fail at once
 * (never block a thread), the first failure is said once, and the
 * server goes on: every SIGHUP reopens the log, it serves, it stops. */
static void test_a_deaf_manager_never_blocks(void **state)
{
	char env[H_PATH_MAX];
	struct srv s = {0};
	int nfd = notify_listener("deaf.sock", env, sizeof(env));
	long qlen = h_number_after("/proc/sys/net/unix/max_dgram_qlen", "");
	int hups = 0, bound, fd;

	(void)state;
	if (qlen < 1)
		qlen = 512;
	bound = (int)qlen + 20; /* two notifications per HUP: ample */
	start_notified(&s, env, "--echo");
	while (h_count_in_file(s.p.err_path, "notify: cannot send") == 0 &&
	       hups < bound) {
		if (h_signal_taken(s.p.pid, SIGHUP, WAIT_MS) != 0)
			fail_msg(
				"SIGHUP %d not taken: the signal thread is stuck",
				hups + 1);
		hups++;
		srv_wait_log(&s, "log-reopened", (size_t)hups);
	}
	assert_int_equal(h_count_in_file(s.p.err_path, "notify: cannot send"),
			 1);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(h_signal_taken(s.p.pid, SIGHUP, WAIT_MS), 0);
		srv_wait_log(&s, "log-reopened", (size_t)++hups);
	}
	fd = srv_connect(&s);
	srv_send(fd, "still here\n");
	assert_int_equal(h_read_line(fd, (char[64]){0}, 64, WAIT_MS), 10);
	close(fd);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.p.err_path, "notify: cannot send"),
			 1);
	close(nfd);
}

/* ---- socket activation with systemd-socket-activate ---- */

static char activate_bin[H_PATH_MAX];

/* systemd-socket-activate, or skip naming its package. */
static const char *need_activate(void)
{
	if (h_which(activate_bin, sizeof(activate_bin),
		    "systemd-socket-activate") == NULL) {
		fprintf(stderr, "systemd-socket-activate is not installed "
				"(apt-get install systemd): skipped\n");
		skip();
	}
	return activate_bin;
}

static pid_t spawned[8];

/* Starts argv[0] (a path) with stdout and stderr to err_path, dying
 * with the test; set_env "NAME=VALUE" strings (NULL-ended, or NULL)
 * added to the environment; with own_pid, LISTEN_PID is the child's. */
static pid_t spawn(const char *const argv[], const char *err_path,
		   const char *const set_env[], int own_pid)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int in = open("/dev/null", O_RDONLY);
		char me[32];

		if (out < 0 || in < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		if (in > 2)
			close(in);
		if (out > 2)
			close(out);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL);
		for (int i = 0; set_env != NULL && set_env[i] != NULL; i++) {
			char kv[H_PATH_MAX], *eq;

			snprintf(kv, sizeof(kv), "%s", set_env[i]);
			eq = strchr(kv, '=');
			if (eq == NULL)
				_exit(126);
			*eq = '\0';
			setenv(kv, eq + 1, 1);
		}
		if (own_pid) {
			/* What sits at the first passed descriptor: the
			 * null device, not a socket. */
			dup2(0, 3);
			snprintf(me, sizeof(me), "%ld", (long)getpid());
			setenv("LISTEN_PID", me, 1);
		}
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (spawned[i] == 0) {
			spawned[i] = pid;
			break;
		}
	return pid;
}

/* Waits for pid's exit: its status (128+signal), or -1 on timeout. */
static int wait_pid(pid_t pid, int timeout_ms)
{
	struct h_proc p = {.pid = pid};
	int rc = h_wait_exit(&p, timeout_ms);

	if (rc != -1)
		for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]);
		     i++)
			if (spawned[i] == pid)
				spawned[i] = 0;
	return rc;
}

static int kill_spawned(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (spawned[i] > 0) {
			kill(spawned[i], SIGKILL);
			waitpid(spawned[i], NULL, 0);
			spawned[i] = 0;
		}
	h_kill_children();
	return 0;
}

/* A port free for both TCP and UDP on 127.0.0.1 just now (the kernel's
 * pick for TCP, checked for UDP): the caller retries when someone takes
 * it meanwhile. */
static int free_port(void)
{
	for (int tries = 0; tries < 32; tries++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr =
						htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(a);
		int t = socket(AF_INET, SOCK_STREAM, 0);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		int ok = t >= 0 && u >= 0 &&
			 bind(t, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			 getsockname(t, (struct sockaddr *)&a, &len) == 0 &&
			 bind(u, (struct sockaddr *)&a, sizeof(a)) == 0;

		if (t >= 0)
			close(t);
		if (u >= 0)
			close(u);
		if (ok)
			return ntohs(a.sin_port);
	}
	fail_msg("no free port for TCP and UDP");
	return -1;
}

/* Waits until the file holds needle count times, or the process exits
 * first (0 when seen, -1 otherwise). */
static int wait_text(const char *path, const char *needle, size_t count,
		     pid_t pid)
{
	long long deadline = h_now_ms() + WAIT_MS;

	while (h_count_in_file(path, needle) < count) {
		if (h_now_ms() >= deadline ||
		    (pid > 0 && waitpid(pid, NULL, WNOHANG) != 0))
			return -1;
		h_sleep_ms(5);
	}
	return 0;
}

/* Whether descriptor fd of pid is close-on-exec (/proc/PID/fdinfo's
 * "flags:", in octal). */
static int is_cloexec(pid_t pid, int fd)
{
	char path[64];
	char *text, *flags;
	long value = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%d", (long)pid, fd);
	text = h_slurp(path, NULL);
	if (text == NULL)
		return 0;
	flags = strstr(text, "flags:");
	if (flags != NULL)
		value = strtol(flags + 6, NULL, 8);
	free(text);
	return (value & O_CLOEXEC) != 0;
}

/* The FIFO's write end, once the shell has it open for reading (open
 * without O_NONBLOCK would wait for it without a bound). */
static int open_gate(const char *path)
{
	long long deadline = h_now_ms() + WAIT_MS;
	int fd;

	while ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno != ENXIO || h_now_ms() >= deadline)
			fail_msg("the gate %s was not opened: %s", path,
				 strerror(errno));
		h_sleep_ms(5);
	}
	return fd;
}

#define EARLY_CLIENTS 4
#define EARLY_LINES   25
#define EARLY_UDP     10

/*
 * One .socket unit with ListenStream= and ListenDatagram= on a port:
 * two systemd-socket-activate, the first listening on TCP, the second
 * (which it starts at the first connection) adding UDP on the same port
 * and passing both on; a gate (a shell reading a FIFO) holds mtserver
 * back until the test has connected every client, sent every line and
 * datagram.  Then mtserver starts on the passed sockets: every line is
 * logged once, nothing refused, READY=1 sent.
 */
static void test_activation_serves_clients_that_came_first(void **state)
{
	char notify_env[H_PATH_MAX], tcp_at[96], buf[MSG_MAX];
	char err_path[H_PATH_MAX], gate[H_PATH_MAX], log[H_PATH_MAX];
	char listen_tcp[64], setenv_arg[H_PATH_MAX + 16];
	const char *act = need_activate();
	int nfd = notify_listener("activated.sock", notify_env,
				  sizeof(notify_env));
	int fds[EARLY_CLIENTS], port = 0, udp, gate_fd;
	unsigned char counts[EARLY_CLIENTS * EARLY_LINES] = {0};
	pid_t pid = -1;

	(void)state;
	snprintf(gate, sizeof(gate), "%s", h_path("gate"));
	snprintf(log, sizeof(log), "%s", h_path("activated.log"));
	snprintf(err_path, sizeof(err_path), "%s", h_path("activate.err"));
	unlink(gate);
	assert_int_equal(mkfifo(gate, 0600), 0);
	snprintf(setenv_arg, sizeof(setenv_arg), "NOTIFY_SOCKET=%s",
		 notify_env);
	for (int tries = 0; tries < 5 && pid < 0; tries++) {
		/* Their "Listening on ... as FD." lines on stderr, where
		 * the test reads them, whatever the environment says. */
		const char *log_env[] = {"SYSTEMD_LOG_TARGET=console",
					 "SYSTEMD_LOG_LEVEL=info", NULL};
		/* clang-format off */
		const char *argv[] = {
			act, "-l", listen_tcp,
			"-E", log_env[0], "-E", log_env[1], "--",
			act, "-d", "-l", listen_tcp,
			"-E", setenv_arg, "--fdname=tcp:udp", "--",
			"/bin/sh", "-c", "read -r go <\"$0\" && exec \"$@\"", gate,
			h_bin("mtserver"), "-l", log, "0", NULL};
		/* clang-format on */

		port = free_port();
		snprintf(listen_tcp, sizeof(listen_tcp), "127.0.0.1:%d", port);
		snprintf(tcp_at, sizeof(tcp_at), "Listening on %s as 3.",
			 listen_tcp);
		pid = spawn(argv, err_path, log_env, 0);
		if (wait_text(err_path, tcp_at, 1, pid) == -1) {
			/* The port was taken meanwhile: another one. */
			kill(pid, SIGKILL);
			wait_pid(pid, WAIT_MS);
			pid = -1;
		}
	}
	if (pid < 0)
		fail_msg("systemd-socket-activate did not listen; see %s",
			 err_path);

	/* The first connection starts the second systemd-socket-activate,
	 * which binds UDP and waits at the gate. */
	for (int c = 0; c < EARLY_CLIENTS; c++) {
		fds[c] = h_connect("127.0.0.1", port);
		assert_true(fds[c] >= 0);
		if (c == 0 && wait_text(err_path, "as 4.", 1, pid) == -1)
			fail_msg("the UDP socket was not bound; see %s",
				 err_path);
	}
	for (int m = 0; m < EARLY_LINES; m++)
		for (int c = 0; c < EARLY_CLIENTS; c++) {
			char line[32];

			snprintf(line, sizeof(line), "c%d m%d\n", c, m);
			srv_send(fds[c], line);
		}
	udp = h_udp("127.0.0.1", port);
	assert_true(udp >= 0);
	for (int d = 0; d < EARLY_UDP; d++)
		assert_int_equal(h_send_all(udp, "early datagram\n", 15), 0);
	/* All of it before mtserver ran. */
	assert_int_equal(h_count_in_file(err_path, "listening on"), 0);
	assert_int_equal(access(log, F_OK), -1);

	gate_fd = open_gate(gate);
	assert_int_equal(h_write_all(gate_fd, "go\n", 3), 0);
	close(gate_fd);

	assert_true(next_note(nfd, buf, sizeof(buf), WAIT_MS) > 0);
	assert_memory_equal(buf, "READY=1", 7);
	assert_int_equal(h_count_in_file(err_path, "sockets passed by systemd"),
			 1);
	/* The same process all along: systemd-socket-activate, twice, the
	 * shell, mtserver. */
	assert_true(is_cloexec(pid, 3));
	assert_true(is_cloexec(pid, 4));
	for (int c = 0; c < EARLY_CLIENTS; c++)
		close(fds[c]);
	if (h_wait_for(log, "disconnect", EARLY_CLIENTS, WAIT_MS) == -1 ||
	    h_wait_for(log, " msg early datagram", EARLY_UDP, WAIT_MS) == -1)
		fail_msg("not everything logged; see %s", log);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_pid(pid, WAIT_MS * 2), 0);
	assert_int_equal(
		h_count_numbered(log, EARLY_CLIENTS, EARLY_LINES, counts),
		EARLY_UDP);
	for (int i = 0; i < EARLY_CLIENTS * EARLY_LINES; i++)
		if (counts[i] != 1)
			fail_msg("c%d m%d logged %d times", i / EARLY_LINES,
				 i % EARLY_LINES, counts[i]);
	assert_int_equal(h_count_in_file(log, " refused"), 0);
	assert_int_equal(h_count_in_file(log, " msg early datagram"),
			 EARLY_UDP);
	close(nfd);
}

/* Starts systemd-socket-activate with opts and mtserver with mt,
 * connects to trigger it, and checks mtserver said expected and exited
 * 1 without listening.  -1 when systemd-socket-activate could not bind
 * (a port taken meanwhile: the caller tries others). */
static int expect_refusal(const char *const opts[], const char *const mt[],
			  const char *trigger, const char *expected,
			  int per_connection)
{
	const char *act = need_activate();
	const char *log_env[] = {"SYSTEMD_LOG_TARGET=console",
				 "SYSTEMD_LOG_LEVEL=info", NULL};
	const char *argv[24];
	char err_path[H_PATH_MAX], bound[16];
	static unsigned seq;
	int n = 0, listeners = 0, fd;
	pid_t pid;

	snprintf(err_path, sizeof(err_path), "%s",
		 h_path_in((char[H_PATH_MAX]){0}, H_PATH_MAX, "refusal"));
	snprintf(err_path + strlen(err_path),
		 sizeof(err_path) - strlen(err_path), ".%u.err", seq++);
	argv[n++] = act;
	for (int i = 0; opts[i] != NULL; i++) {
		listeners += strcmp(opts[i], "-l") == 0;
		argv[n++] = opts[i];
	}
	argv[n++] = "--";
	argv[n++] = h_bin("mtserver");
	for (int i = 0; mt[i] != NULL; i++)
		argv[n++] = mt[i];
	argv[n] = NULL;
	pid = spawn(argv, err_path, log_env, 0);
	/* "Listening on ADDR as FD." for the last socket it binds. */
	snprintf(bound, sizeof(bound), "as %d.", 2 + listeners);
	if (wait_text(err_path, bound, 1, pid) == -1) {
		kill(pid, SIGKILL);
		wait_pid(pid, WAIT_MS);
		if (h_count_in_file(err_path, "in use") > 0)
			return -1;
		fail_msg("systemd-socket-activate did not listen; see %s",
			 err_path);
	}
	if (trigger[0] == '/') {
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		if (strlen(trigger) >= sizeof(a.sun_path))
			fail_msg("socket path too long: %s", trigger);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memcpy(a.sun_path, trigger, strlen(trigger) + 1);
		assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)),
				 0);
	} else {
		fd = h_connect("127.0.0.1", atoi(trigger));
		assert_true(fd >= 0);
	}
	if (per_connection) {
		/* --accept: the refusing mtserver was a child; the
		 * listener itself lives on until stopped. */
		if (wait_text(err_path, "died with code 1", 1, pid) == -1)
			fail_msg("mtserver did not exit 1; see %s", err_path);
		kill(pid, SIGTERM);
		wait_pid(pid, WAIT_MS);
	} else if (wait_pid(pid, WAIT_MS) != 1) {
		fail_msg("mtserver did not exit 1; see %s", err_path);
	}
	close(fd);
	if (h_count_in_file(err_path, expected) != 1)
		fail_msg("mtserver did not say '%s'; see %s", expected,
			 err_path);
	assert_int_equal(h_count_in_file(err_path, "listening on"), 0);
	return 0;
}

enum refusal_listen { ONE_TCP, TWO_TCP, UNIX_STREAM, ONE_TCP_ACCEPT };

/* One refusal case on fresh ports, tried again when a port was taken
 * between free_port and systemd-socket-activate's bind. */
static void refusal_case(enum refusal_listen kind, int no_udp,
			 const char *expected)
{
	const char *log = h_path("refused.log");
	char unix_path[H_PATH_MAX];

	snprintf(unix_path, sizeof(unix_path), "%s", h_path("stream.sock"));
	for (int tries = 0; tries < 5; tries++) {
		char p1[16], l1[32], l2[32];
		int port1 = free_port(), port2;
		const char *opts[6] = {"-l", l1, NULL, NULL, NULL, NULL};
		const char *mt[] = {"-l", log, no_udp ? "--no-udp" : "0",
				    no_udp ? "0" : NULL, NULL};

		do
			port2 = free_port();
		while (port2 == port1);
		snprintf(p1, sizeof(p1), "%d", port1);
		snprintf(l1, sizeof(l1), "127.0.0.1:%d", port1);
		snprintf(l2, sizeof(l2), "127.0.0.1:%d", port2);
		if (kind == TWO_TCP) {
			opts[2] = "-l";
			opts[3] = l2;
		} else if (kind == UNIX_STREAM) {
			unlink(unix_path);
			opts[1] = unix_path;
		} else if (kind == ONE_TCP_ACCEPT) {
			opts[0] = "-a";
			opts[1] = "-l";
			opts[2] = l1;
		}
		if (expect_refusal(opts, mt,
				   kind == UNIX_STREAM ? unix_path : p1,
				   expected, kind == ONE_TCP_ACCEPT) == 0)
			return;
	}
	fail_msg("no free ports for systemd-socket-activate in 5 tries");
}

/* What makes no sense is refused, naming the descriptor: two TCP
 * sockets, no UDP one, a socket of another family, a connection passed
 * for every client (Accept=yes). */
static void test_activation_refuses_what_makes_no_sense(void **state)
{
	(void)state;
	need_activate();
	refusal_case(TWO_TCP, 1,
		     "fd 4 is a second TCP socket (the first is fd 3)");
	refusal_case(ONE_TCP, 0, "no UDP socket among the 1 passed");
	refusal_case(UNIX_STREAM, 1, "fd 3 is not an IPv4 or IPv6 socket");
	refusal_case(ONE_TCP_ACCEPT, 1, "is a TCP socket that does not listen");
}

/* The variables, as a manager could get them wrong: LISTEN_FDS not a
 * number, a descriptor that is not a socket; LISTEN_PID of another
 * process means they are not ours (the server binds as usual). */
static void test_activation_variables(void **state)
{
	const char *argv[] = {h_bin("mtserver"),
			      "-l",
			      h_path("vars.log"),
			      "-b",
			      "127.0.0.1",
			      "0",
			      NULL};
	const char *err1 = h_path("vars1.err"), *err2 = h_path("vars2.err"),
		   *err3 = h_path("vars3.err");
	pid_t pid;

	(void)state;
	pid = spawn(argv, err1, (const char *[]){"LISTEN_FDS=two", NULL}, 1);
	assert_int_equal(wait_pid(pid, WAIT_MS), 1);
	assert_int_equal(
		h_count_in_file(err1, "LISTEN_FDS 'two' is not a number"), 1);
	/* fd 3 is the test's own /dev/null here, not a socket. */
	pid = spawn(argv, err2,
		    (const char *[]){"LISTEN_FDS=1", "LISTEN_FDNAMES=x", NULL},
		    1);
	assert_int_equal(wait_pid(pid, WAIT_MS), 1);
	assert_int_equal(h_count_in_file(err2, "LISTEN_FDS: fd 3 (x) is not"),
			 1);
	pid = spawn(argv, err3,
		    (const char *[]){"LISTEN_FDS=2", "LISTEN_PID=1", NULL}, 0);
	assert_int_equal(wait_text(err3, "listening on 127.0.0.1:", 1, pid), 0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_pid(pid, WAIT_MS * 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notifications_in_order),
		cmocka_unit_test(test_abstract_notify_socket),
		cmocka_unit_test(test_without_notify_socket_nothing_changes),
		cmocka_unit_test(test_bad_notify_socket_is_refused),
		cmocka_unit_test(test_a_deaf_manager_never_blocks),
		cmocka_unit_test(
			test_activation_serves_clients_that_came_first),
		cmocka_unit_test(test_activation_refuses_what_makes_no_sense),
		cmocka_unit_test(test_activation_variables),
	};

	return cmocka_run_group_tests(tests, NULL, kill_spawned);
}
