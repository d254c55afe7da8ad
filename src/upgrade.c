/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upgrade.c - a new binary takes over the listeners; the contract is in
 * upgrade.h.
 */
#define _GNU_SOURCE /* close_range */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "monotime.h"
#include "net.h"

#define READY_VAR "MTSERVER_UPGRADE_READY_FD"
#define PID_VAR	  "MTSERVER_UPGRADE_PID_FD"
/* Variables the child gets from us, not from our environment. */
static const char *const replaced_vars[] = {
	"LISTEN_PID=",	  "LISTEN_FDS=", "LISTEN_FDNAMES=",
	"NOTIFY_SOCKET=", READY_VAR "=", PID_VAR "="};
#define REPLACED_VARS (sizeof(replaced_vars) / sizeof(replaced_vars[0]))
/* "NAME=value" for a variable we set: names above, a number or a path
 * (sockaddr_un's 108 bytes) as the value. */
#define VAR_MAX 160
/* "LISTEN_PID=" and a pid's digits. */
#define PID_VAR_MAX 32
/* The pid the new process writes: decimal digits and '\n'. */
#define PID_TEXT_MAX 24
/* After end of file, how long the child has to be reaped. */
#define REAP_MS 1000

extern char **environ;

static char exe_path[PATH_MAX];
static char **saved_argv;
static char notify_var[VAR_MAX];

int upgrade_init(char *argv[])
{
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	const char *notify = getenv("NOTIFY_SOCKET");

	saved_argv = argv;
	if (notify != NULL)
		snprintf(notify_var, sizeof(notify_var), "NOTIFY_SOCKET=%s",
			 notify);
	if (n <= 0 || (size_t)n >= sizeof(exe_path) - 1) {
		exe_path[0] = '\0';
		if (n >= 0)
			errno = ENAMETOOLONG;
		return -1;
	}
	exe_path[n] = '\0';
	return 0;
}

/* The descriptor named by variable name, made close-on-exec, or -1. */
static int take_fd(const char *name)
{
	const char *text = getenv(name);
	char *end;
	long fd;

	if (text == NULL)
		return -1;
	errno = 0;
	fd = strtol(text, &end, 10);
	unsetenv(name);
	if (errno != 0 || *end != '\0' || fd < ACTIVATION_FD_START ||
	    fd > INT_MAX || fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return (int)fd;
}

void upgrade_take(struct upgrade_handoff *h)
{
	h->ready_fd = take_fd(READY_VAR);
	h->pid_fd = take_fd(PID_VAR);
}

int upgrade_announce(int *ready_fd)
{
	char text[PID_TEXT_MAX];
	int len, rc = 0;

	if (*ready_fd < 0)
		return 0;
	len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	/* A pipe takes a write this small whole (PIPE_BUF). */
	while (write(*ready_fd, text, (size_t)len) == -1) {
		if (errno != EINTR) {
			rc = -1;
			break;
		}
	}
	close(*ready_fd);
	*ready_fd = -1;
	return rc;
}

/* Everything the child needs, made before fork: after it, in a process
 * with threads, the child may only make async-signal-safe calls. */
struct launch {
	char **envp;
	char pid_var[PID_VAR_MAX]; /* "LISTEN_PID=" + digits, in the child */
	char fds_var[VAR_MAX], names_var[VAR_MAX];
	char ready_var[VAR_MAX], pidfd_var[VAR_MAX];
	int from[ACTIVATION_FDS_MAX]; /* the old's descriptors... */
	int count;		      /* ...going to 3, 4...: how many */
	int listeners;		      /* of them the listeners */
};

static bool replaced(const char *var)
{
	for (size_t i = 0; i < REPLACED_VARS; i++)
		if (strncmp(var, replaced_vars[i], strlen(replaced_vars[i])) ==
		    0)
			return true;
	return false;
}

static void add_fd(struct launch *l, int fd)
{
	if (fd >= 0)
		l->from[l->count++] = fd;
}

/* The child's environment: ours, without the variables we replace,
 * with them as the child needs them.  0 or -1 with errno. */
static int prepare(struct launch *l, const struct upgrade_fds *fds,
		   int ready_write)
{
	size_t n = 0, k = 0;

	memset(l, 0, sizeof(*l));
	add_fd(l, fds->tcp_fd);
	add_fd(l, fds->udp_fd);
	l->listeners = l->count;
	snprintf(l->fds_var, sizeof(l->fds_var), "LISTEN_FDS=%d", l->listeners);
	snprintf(l->names_var, sizeof(l->names_var), "LISTEN_FDNAMES=%s%s%s",
		 fds->tcp_fd >= 0 ? "tcp" : "",
		 fds->tcp_fd >= 0 && fds->udp_fd >= 0 ? ":" : "",
		 fds->udp_fd >= 0 ? "udp" : "");
	snprintf(l->ready_var, sizeof(l->ready_var), READY_VAR "=%d",
		 ACTIVATION_FD_START + l->count);
	add_fd(l, ready_write);
	if (fds->pid_fd >= 0)
		snprintf(l->pidfd_var, sizeof(l->pidfd_var), PID_VAR "=%d",
			 ACTIVATION_FD_START + l->count);
	add_fd(l, fds->pid_fd);
	while (environ[n] != NULL)
		n++;
	l->envp = calloc(n + REPLACED_VARS + 1, sizeof(char *));
	if (l->envp == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!replaced(environ[i]))
			l->envp[k++] = environ[i];
	l->envp[k++] = l->pid_var;
	l->envp[k++] = l->fds_var;
	l->envp[k++] = l->names_var;
	l->envp[k++] = l->ready_var;
	if (fds->pid_fd >= 0)
		l->envp[k++] = l->pidfd_var;
	if (notify_var[0] != '\0')
		l->envp[k++] = notify_var;
	l->envp[k] = NULL;
	return 0;
}

/* "LISTEN_PID=<pid>" without stdio: async-signal-safe. */
static void put_pid(char *buf, size_t size, long pid)
{
	static const char prefix[] = "LISTEN_PID=";
	char digits[PID_TEXT_MAX];
	size_t n = 0, at = sizeof(prefix) - 1;

	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid > 0 && n < sizeof(digits));
	memcpy(buf, prefix, at);
	while (n > 0 && at < size - 1)
		buf[at++] = digits[--n];
	buf[at] = '\0';
}

/* In the child, between fork and exec: async-signal-safe calls only.
 * Exits 127 when it cannot go on (the old sees end of file). */
static void child(struct launch *l)
{
	int high = ACTIVATION_FD_START + l->count;
	sigset_t none;

	/* Out of the way first: a descriptor may sit where another goes. */
	for (int i = 0; i < l->count; i++) {
		l->from[i] = fcntl(l->from[i], F_DUPFD, high);
		if (l->from[i] == -1)
			_exit(127);
	}
	/* dup2 leaves FD_CLOEXEC off the copy: these, and only these,
	 * stay open across exec. */
	for (int i = 0; i < l->count; i++)
		if (dup2(l->from[i], ACTIVATION_FD_START + i) == -1)
			_exit(127);
	/* Every other descriptor (clients, the log...) stays the old's. */
	if (close_range((unsigned)high, ~0U, 0) == -1)
		for (int fd = high; fd < high + 65536; fd++)
			(void)close(fd);
	put_pid(l->pid_var, sizeof(l->pid_var), (long)getpid());
	/* A program starts with no signal blocked. */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(exe_path, saved_argv, l->envp);
	_exit(127);
}

/* The new process's pid from the ready pipe: > 0; 0 at end of file; -1
 * when the time ran out or reading failed. */
static long read_ready(int fd, long long deadline)
{
	char text[PID_TEXT_MAX];
	size_t have = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - monotime_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) == -1 && errno != EINTR)
			return -1;
		if (p.revents == 0)
			continue;
		n = read(fd, text + have, sizeof(text) - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && have > 0 ? strtol(text, NULL, 10) : 0;
		have += (size_t)n;
		text[have] = '\0';
		if (memchr(text, '\n', have) != NULL ||
		    have == sizeof(text) - 1)
			return strtol(text, NULL, 10);
	}
}

/* Why the child ended, once it has (within REAP_MS), into err: short,
 * a log line's error field. */
static void reap(pid_t pid, char *err, size_t errlen)
{
	long long deadline = monotime_ms() + REAP_MS;
	const struct timespec pause = {0, 10000000}; /* 10 ms */
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (monotime_ms() >= deadline) {
			net_error(err, errlen,
				  "closed its ready pipe, still running");
			return;
		}
		nanosleep(&pause, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		net_error(err, errlen, "cannot execute the program (127)");
	else if (WIFEXITED(status))
		net_error(err, errlen, "exited with status %d before listening",
			  WEXITSTATUS(status));
	else
		net_error(err, errlen, "killed by signal %d before listening",
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

pid_t upgrade_start(const struct upgrade_fds *fds, pid_t *child_pid, char *err,
		    size_t errlen)
{
	struct launch l;
	int ready[2];
	pid_t pid;
	long got;

	*child_pid = 0;
	/* A new process an earlier upgrade gave up on has stopped by now,
	 * or will: reaped here, not left a zombie for the server's life. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (exe_path[0] == '\0') {
		errno = ENOENT;
		return net_error(err, errlen,
				 "the program's path is not known");
	}
	if (pipe2(ready, O_CLOEXEC) == -1)
		return net_error(err, errlen, "cannot create a pipe: %s",
				 strerror(errno));
	if (prepare(&l, fds, ready[1]) == -1) {
		close(ready[0]);
		close(ready[1]);
		return net_error(err, errlen, "no memory for the environment");
	}
	pid = fork();
	*child_pid = pid > 0 ? pid : 0;
	if (pid == 0)
		child(&l);
	free(l.envp);
	close(ready[1]);
	if (pid == -1) {
		close(ready[0]);
		return net_error(err, errlen, "cannot fork: %s",
				 strerror(errno));
	}
	got = read_ready(ready[0], monotime_ms() + UPGRADE_READY_MS);
	/* Closed now: a new process ready from here on finds EPIPE and
	 * stops by itself. */
	close(ready[0]);
	if (got == (long)pid)
		return pid;
	errno = ECHILD;
	if (got == -1)
		return net_error(err, errlen, "not listening after %d ms",
				 UPGRADE_READY_MS);
	reap(pid, err, errlen);
	return -1;
}
