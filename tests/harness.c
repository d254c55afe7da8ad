/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness.c - see harness.h.  Test-only code: plain, blocking, bounded.
 */
/* on_exit: the exit status decides the cleanup; close_range. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "logline.h"

long h_child_nofile;

/* MT_ONLY=PATTERN runs only the tests of a suite whose names match it
 * (cmocka's * and ? wildcards): one test, repeated while chasing a
 * fault, without editing the suite. */
__attribute__((constructor)) static void h_only_from_env(void)
{
	const char *only = getenv("MT_ONLY");

	if (only != NULL && *only != '\0')
		cmocka_set_test_filter(only);
}

/* Children still running, so that a failed test leaves none behind. */
#define H_CHILDREN_MAX 256
static pid_t children[H_CHILDREN_MAX];

static void track_child(pid_t pid)
{
	static int registered;

	if (!registered) {
		atexit(h_kill_children);
		registered = 1;
	}
	for (int i = 0; i < H_CHILDREN_MAX; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	}
}

static void forget_child(pid_t pid)
{
	for (int i = 0; i < H_CHILDREN_MAX; i++)
		if (children[i] == pid)
			children[i] = 0;
}

void h_die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void h_kill_children(void)
{
	for (int i = 0; i < H_CHILDREN_MAX; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
		}
		children[i] = 0;
	}
}

long long h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Removes name (relative to dirfd) and everything under it, without
 * following symbolic links. */
static void remove_tree(int dirfd, const char *name)
{
	int fd = openat(dirfd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd == -1) {
		(void)unlinkat(dirfd, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			remove_tree(fd, e->d_name);
	closedir(d);
	(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

static pid_t tmpdir_owner;

/* At the suite's exit: its files go (logs of a few hundred MB each add
 * up over a run of every suite), unless a test failed, where they are
 * what to look at, or MT_KEEP_TMP=1 asks to keep them. */
static void tmpdir_cleanup(int status, void *arg)
{
	const char *dir = arg, *keep = getenv("MT_KEEP_TMP");

	if (getpid() != tmpdir_owner) /* a forked child exiting */
		return;
	if (status != 0 || (keep != NULL && strcmp(keep, "1") == 0)) {
		fprintf(stderr, "test files kept in %s\n", dir);
		return;
	}
	remove_tree(AT_FDCWD, dir);
}

const char *h_tmpdir(void)
{
	static char dir[H_PATH_MAX];
	const char *base;

	if (dir[0] != '\0')
		return dir;
	base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	snprintf(dir, sizeof(dir), "%s/mtest.XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	tmpdir_owner = getpid();
	on_exit(tmpdir_cleanup, dir);
	return dir;
}

char *h_path_in(char *buf, size_t size, const char *name)
{
	/* A name too long for the buffer is a bug in the test. */
	if (snprintf(buf, size, "%s/%s", h_tmpdir(), name) >= (int)size)
		abort();
	return buf;
}

char *h_bin_in(char *buf, size_t size, const char *name)
{
	const char *dir = getenv("MT_BIN_DIR");
	const char *flood = getenv("MT_FLOOD");
	int n;

	if (strcmp(name, "flood") == 0)
		n = snprintf(buf, size, "%s", flood ? flood : "bench/flood");
	else
		n = snprintf(buf, size, "%s/%s", dir ? dir : ".", name);
	if (n >= (int)size)
		abort();
	return buf;
}

/* Copies the file at from to a new file to, mode 0755; 0 or -1. */
static int copy_program(const char *from, const char *to)
{
	char buf[64 * 1024]; /* a few reads for a program of a few MB */
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	int rc = in == -1 || out == -1 ? -1 : 0;
	ssize_t n = 0;

	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			rc = errno == EINTR ? 0 : -1;
			continue;
		}
		rc = h_write_all(out, buf, (size_t)n);
	}
	if (out != -1 && (fchmod(out, 0755) == -1 || close(out) == -1))
		rc = -1;
	if (in != -1)
		close(in);
	return rc;
}

static char any_uid_dir[H_PATH_MAX];
static pid_t any_uid_owner;

static void any_uid_cleanup(int status, void *arg)
{
	(void)status;
	(void)arg;
	if (getpid() == any_uid_owner) /* not a forked child exiting */
		remove_tree(AT_FDCWD, any_uid_dir);
}

char *h_bin_any_uid(char *buf, size_t size, const char *name)
{
	if (any_uid_dir[0] == '\0') {
		snprintf(any_uid_dir, sizeof(any_uid_dir), "/tmp/mtbin.XXXXXX");
		if (mkdtemp(any_uid_dir) == NULL ||
		    chmod(any_uid_dir, 0755) == -1) {
			print_message("cannot make a directory every uid can "
				      "reach under /tmp: %s\n",
				      strerror(errno));
			any_uid_dir[0] = '\0';
			return NULL;
		}
		any_uid_owner = getpid();
		on_exit(any_uid_cleanup, NULL);
	}
	if (snprintf(buf, size, "%s/%s", any_uid_dir, name) >= (int)size)
		abort(); /* a name too long is a bug in the test */
	if (access(buf, X_OK) == 0)
		return buf; /* copied for an earlier test */
	if (copy_program(h_bin(name), buf) == -1) {
		print_message("cannot copy %s to %s: %s\n", h_bin(name), buf,
			      strerror(errno));
		(void)unlink(buf);
		return NULL;
	}
	return buf;
}

/* stdin_fd: stdin a pipe, its write end returned; stdout_fd: stdout a
 * pipe, its read end returned; else files. */
static int spawn(struct h_proc *p, const char *prog, const char *const argv[],
		 const char *stdin_path, int *stdin_fd, int *stdout_fd)
{
	static unsigned seq;
	const char *args[64];
	int pipefd[2] = {-1, -1}, outfd[2] = {-1, -1};
	size_t n;

	memset(p, 0, sizeof(*p));
	if (snprintf(p->out_path, sizeof(p->out_path), "%s/%s.%u.out",
		     h_tmpdir(), prog, seq) >= (int)sizeof(p->out_path) ||
	    snprintf(p->err_path, sizeof(p->err_path), "%s/%s.%u.err",
		     h_tmpdir(), prog, seq) >= (int)sizeof(p->err_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	seq++;
	args[0] = h_bin(prog);
	for (n = 0; n < 62 && argv[n] != NULL; n++)
		args[n + 1] = argv[n];
	args[n + 1] = NULL;
	if (stdin_fd != NULL && pipe(pipefd) == -1)
		return -1;
	if (stdout_fd != NULL && pipe(outfd) == -1)
		return -1;
	fflush(NULL);
	p->pid = fork();
	if (p->pid == -1)
		return -1;
	if (p->pid == 0) {
		int in, out, err;

		if (stdin_fd != NULL) {
			in = pipefd[0];
			close(pipefd[1]);
		} else {
			in = open(stdin_path ? stdin_path : "/dev/null",
				  O_RDONLY);
		}
		out = stdout_fd != NULL
			      ? outfd[1]
			      : open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC,
				     0644);
		err = open(p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		signal(SIGPIPE, SIG_DFL);
		/* Only 0-2: a test that failed with sockets open must not
		 * leave them to the next test's server (nor count against
		 * an h_child_nofile limit). */
		close_range(3, ~0U, 0);
		/* Die with the test, even if it crashes. */
		h_die_with_parent();
		if (h_child_nofile > 0) {
			struct rlimit rl = {(rlim_t)h_child_nofile,
					    (rlim_t)h_child_nofile};

			setrlimit(RLIMIT_NOFILE, &rl);
		}
		execv(args[0], (char *const *)args);
		dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	track_child(p->pid);
	if (stdin_fd != NULL) {
		close(pipefd[0]);
		*stdin_fd = pipefd[1];
	}
	if (stdout_fd != NULL) {
		close(outfd[1]);
		*stdout_fd = outfd[0];
	}
	return 0;
}

int h_spawn(struct h_proc *p, const char *prog, const char *const argv[],
	    const char *stdin_path)
{
	return spawn(p, prog, argv, stdin_path, NULL, NULL);
}

int h_spawn_piped(struct h_proc *p, const char *prog, const char *const argv[],
		  int *stdin_fd)
{
	return spawn(p, prog, argv, NULL, stdin_fd, NULL);
}

int h_spawn_stdout_piped(struct h_proc *p, const char *prog,
			 const char *const argv[], int *stdout_fd)
{
	return spawn(p, prog, argv, NULL, NULL, stdout_fd);
}

int h_wait_pipe_full(int fd, int timeout_ms)
{
	long long until = h_now_ms() + timeout_ms, still_since = h_now_ms();
	int size = fcntl(fd, F_GETPIPE_SZ), queued = 0, last = -1;

	while (size > 0 && h_now_ms() < until) {
		if (ioctl(fd, FIONREAD, &queued) != 0)
			return -1;
		if (queued != last) {
			last = queued;
			still_since = h_now_ms();
		} else if (queued > size / 2 &&
			   h_now_ms() - still_since >= H_PIPE_STILL_MS) {
			return 0;
		}
		h_sleep_ms(10);
	}
	return -1;
}

static int parse_port(const char *text)
{
	const char *at = strstr(text, "listening on ");
	const char *colon, *end;

	if (at == NULL)
		return -1;
	end = strchr(at, '\n');
	if (end == NULL)
		return -1;
	/* The port follows the last ':' before the " (" that ends the
	 * address; IPv6 addresses are bracketed. */
	colon = NULL;
	for (const char *c = at; c < end && *c != '('; c++)
		if (*c == ':')
			colon = c;
	if (colon == NULL)
		return -1;
	return atoi(colon + 1);
}

int h_wait_listening(struct h_proc *p, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		char *text = h_slurp(p->err_path, NULL);
		int port = text ? parse_port(text) : -1;
		int status;

		free(text);
		if (port >= 0) {
			p->port = port;
			return 0;
		}
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			forget_child(p->pid);
			p->pid = -1;
			return -1;
		}
		h_sleep_ms(5);
	}
	return -1;
}

int h_start_server(struct h_proc *p, const char *prog, const char *const argv[])
{
	if (h_spawn(p, prog, argv, NULL) == -1)
		return -1;
	if (h_wait_listening(p, 10000) == -1) {
		if (p->pid > 0)
			h_stop(p, SIGKILL, 1000);
		return -1;
	}
	return 0;
}

int h_wait_exit(struct h_proc *p, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;

	if (p->pid <= 0)
		return -1;
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid) {
			forget_child(p->pid);
			break;
		}
		if (r == -1 && errno != EINTR)
			return -1;
		if (h_now_ms() >= deadline)
			return -1;
		h_sleep_ms(5);
	}
	p->pid = -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* 1 while sig is pending for process pid, 0 once not, -1 on error. */
static int signal_pending(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask;
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (found == -1 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "ShdPnd: %llx", &mask) == 1)
			found = (mask >> (sig - 1)) & 1;
	fclose(f);
	return found;
}

int h_signal_taken(pid_t pid, int sig, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int pending;

	if (pid <= 0 || kill(pid, sig) == -1)
		return -1;
	while ((pending = signal_pending(pid, sig)) == 1) {
		if (h_now_ms() >= deadline)
			return -1;
		h_sleep_ms(1);
	}
	return pending;
}

int h_stop(struct h_proc *p, int sig, int timeout_ms)
{
	int rc;

	if (p->pid <= 0)
		return -1;
	if (sig > 0)
		kill(p->pid, sig);
	rc = h_wait_exit(p, timeout_ms);
	if (rc == -1 && p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		forget_child(p->pid);
		p->pid = -1;
	}
	return rc;
}

static int fill_addr(const char *host, int port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((unsigned short)port);
		*len = sizeof(*in4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*in6);
		return AF_INET6;
	}
	errno = EINVAL;
	return -1;
}

static int make_connected(const char *host, int port, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = fill_addr(host, port, &ss, &len);
	int fd;

	if (family == -1)
		return -1;
	fd = socket(family, type, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int h_connect(const char *host, int port)
{
	return make_connected(host, port, SOCK_STREAM);
}

int h_udp(const char *host, int port)
{
	return make_connected(host, port, SOCK_DGRAM);
}

int h_connect_from(const char *src, int port, int type)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (inet_pton(AF_INET, src, &a.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1)
		goto fail;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	a.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int h_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int h_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int wait_readable(int fd, long long deadline);

int h_recv_datagram(int fd, char *buf, size_t size, int timeout_ms)
{
	ssize_t n;

	if (wait_readable(fd, h_now_ms() + timeout_ms) == -1)
		return -1;
	n = recv(fd, buf, size - 1, 0);
	if (n < 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}

static int wait_readable(int fd, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	long long left = deadline - h_now_ms();
	int r;

	if (left <= 0)
		return -1;
	do
		r = poll(&pfd, 1, (int)left);
	while (r == -1 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

int h_read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	size_t len = 0;

	while (len + 1 < size) {
		char c;
		ssize_t n;

		if (wait_readable(fd, deadline) == -1)
			return -1;
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			if (len == 0)
				return 0;
			break;
		}
		if (c == '\n')
			break;
		buf[len++] = c;
	}
	buf[len] = '\0';
	return (int)len;
}

int h_wait_eof(int fd, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char buf[4096];

	for (;;) {
		ssize_t n;

		if (wait_readable(fd, deadline) == -1)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return errno == ECONNRESET ? 0 : -1;
	}
}

char *h_slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 65536) {
			char *nb = realloc(buf, cap * 2 + 65536);

			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap * 2 + 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* Linear in the haystack, under a sanitizer too: a strstr() loop is
 * not there, since ASan's strstr() measures the rest of the haystack at
 * every call (minutes for a log of 500,000 lines). */
size_t h_count(const char *haystack, const char *needle)
{
	size_t count = 0, nlen = strlen(needle);
	const char *p = haystack, *end = haystack + strlen(haystack);

	if (nlen == 0)
		return 0;
	while ((size_t)(end - p) >= nlen) {
		const char *c =
			memchr(p, needle[0], (size_t)(end - p) - nlen + 1);

		if (c == NULL)
			break;
		if (memcmp(c, needle, nlen) == 0) {
			count++;
			p = c + nlen;
		} else {
			p = c + 1;
		}
	}
	return count;
}

long long h_number_after(const char *path, const char *key)
{
	char *text = h_slurp(path, NULL);
	const char *at = text ? strstr(text, key) : NULL;
	long long v = at ? strtoll(at + strlen(key), NULL, 10) : -1;

	free(text);
	return v;
}

size_t h_count_in_file(const char *path, const char *needle)
{
	char *text = h_slurp(path, NULL);
	size_t count = text ? h_count(text, needle) : 0;

	free(text);
	return count;
}

int h_wait_for(const char *path, const char *needle, size_t count,
	       int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	do {
		if (h_count_in_file(path, needle) >= count)
			return 0;
		h_sleep_ms(10);
	} while (h_now_ms() < deadline);
	return -1;
}

/* "c<client> m<seq>" with both in range: 0 and the pair, or -1. */
static int numbered(const char *text, size_t len, int clients, int msgs, int *c,
		    int *q)
{
	char buf[64];
	int end = 0;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (sscanf(buf, "c%d m%d%n", c, q, &end) != 2 || buf[end] != '\0' ||
	    *c < 0 || *c >= clients || *q < 0 || *q >= msgs)
		return -1;
	return 0;
}

int h_each_logline(const char *path,
		   void (*fn)(const struct logline *l, size_t line_len,
			      void *arg),
		   void *arg)
{
	size_t len = 0;
	char *text = h_slurp(path, &len);
	char *textbuf = malloc(len + 1);
	const char *p, *end;

	if (text == NULL || textbuf == NULL) {
		free(text);
		free(textbuf);
		return -1;
	}
	for (p = text, end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);
		struct logline l;

		if (logline_parse(p, n, &l, textbuf, len + 1) == 0)
			fn(&l, n + 1, arg);
		p += n + 1;
	}
	free(textbuf);
	free(text);
	return 0;
}

struct numbered_count {
	int clients, msgs;
	unsigned char *counts;
	long other;
};

static void count_numbered(const struct logline *l, size_t line_len, void *arg)
{
	struct numbered_count *nc = arg;
	int c, q;
	unsigned char *at;

	(void)line_len;
	if (l->event != LOGLINE_MSG)
		return;
	if (numbered(l->text, l->text_len, nc->clients, nc->msgs, &c, &q) ==
	    -1) {
		nc->other++;
		return;
	}
	at = &nc->counts[(size_t)c * (size_t)nc->msgs + (size_t)q];
	if (*at < 255)
		(*at)++;
}

long h_count_numbered(const char *path, int clients, int msgs,
		      unsigned char *counts)
{
	struct numbered_count nc = {clients, msgs, counts, 0};

	return h_each_logline(path, count_numbered, &nc) == 0 ? nc.other : -1;
}

char *h_which(char *buf, size_t size, const char *prog)
{
	const char *path = getenv("PATH");
	const char *dir = path ? path : "/usr/bin:/bin";

	while (*dir) {
		size_t dir_len = strcspn(dir, ":");
		int n = snprintf(buf, size, "%.*s/%s", (int)dir_len, dir, prog);

		if (dir_len > 0 && n > 0 && (size_t)n < size &&
		    access(buf, X_OK) == 0)
			return buf;
		dir += dir_len;
		if (*dir == ':')
			dir++;
	}
	return NULL;
}

int h_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

long h_cpu_ticks(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long utime, stime;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = h_slurp(path, NULL);
	if (text == NULL)
		return -1;
	/* Fields 14 and 15, after the parenthesised command name. */
	p = strrchr(text, ')');
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %lu %lu",
				&utime, &stime) != 2) {
		free(text);
		return -1;
	}
	free(text);
	return (long)(utime + stime);
}

int h_wait_size(const char *path, long long bytes, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct stat st;

	do {
		if (stat(path, &st) == 0 && (long long)st.st_size >= bytes)
			return 0;
		h_sleep_ms(5);
	} while (h_now_ms() < deadline);
	return -1;
}

int h_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}
