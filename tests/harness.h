/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness.h - drive the real programs over real loopback sockets.
 *
 * Integration tests start mtserver, stserver, mtclient or flood as child
 * processes, read the port the server printed ("...: listening on
 * ADDR:PORT (...)" on stderr), talk to it and inspect its log file.
 * Programs are found in $MT_BIN_DIR (default ".") and flood at $MT_FLOOD
 * (default "bench/flood"); the Makefile sets both, so sanitizer variants
 * test their own binaries.
 *
 * Every wait here is bounded: functions take a timeout in milliseconds and
 * fail (-1) when it passes.  All functions are for the test's main thread
 * unless said otherwise.  Nothing here asserts: callers do.  One thing
 * reaches cmocka: MT_ONLY=PATTERN in the environment runs only the tests
 * whose names match it (cmocka's * and ? wildcards).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#define H_PATH_MAX 512

struct h_proc {
	pid_t pid;
	int port;		   /* from the "listening on" line, or 0 */
	char out_path[H_PATH_MAX]; /* the child's stdout */
	char err_path[H_PATH_MAX]; /* the child's stderr */
};

/* A fresh private directory under $TMPDIR (or /tmp), made once per
 * process (a static string, set once).  Removed with all it holds when
 * the suite exits 0; kept, and named on stderr, when a test failed or
 * MT_KEEP_TMP=1. */
const char *h_tmpdir(void);

/* A TCP port free on 127.0.0.1 just now (the kernel's pick), for a peer
 * that cannot bind port 0 and say which it got (HAProxy, redis-server,
 * prometheus): the caller retries when someone takes it meanwhile. */
int h_free_port(void);

/* Writes the path of file name in h_tmpdir() into buf[0..size) and
 * returns buf. */
char *h_path_in(char *buf, size_t size, const char *name);
/* Writes the path of a program into buf[0..size) and returns buf:
 * "flood" -> $MT_FLOOD, others -> $MT_BIN_DIR/name. */
char *h_bin_in(char *buf, size_t size, const char *name);

/*
 * A copy of program name (as h_bin finds it) that any uid can run, for
 * a test that drops privileges: the checkout and h_tmpdir() may sit
 * under a directory of mode 0700 (root's home, a mktemp -d build
 * directory) that another uid cannot pass through.  The copy goes in a
 * directory of mode 0755 made under /tmp for the suite (not $TMPDIR,
 * which may be private too) and removed when the suite exits.  Its
 * absolute path is written into buf[0..size) and returned; NULL, with
 * the reason printed, when it cannot be made.
 */
char *h_bin_any_uid(char *buf, size_t size, const char *name);

/* The same, each call into a buffer of its own that lives as long as
 * the block the call is in (a compound literal): no call overwrites
 * another's result, however many a test makes. */
#define h_path(name) h_path_in((char[H_PATH_MAX]){0}, H_PATH_MAX, (name))
#define h_bin(name)  h_bin_in((char[H_PATH_MAX]){0}, H_PATH_MAX, (name))

/* When > 0, children started from now on get RLIMIT_NOFILE (soft and
 * hard) lowered to this: how tests run a server out of descriptors. */
extern long h_child_nofile;

/* Starts h_bin(prog) with argv (argv[0] is set for you; the array ends
 * with NULL), stdin from stdin_path (NULL: /dev/null), stdout and stderr
 * to fresh files.  Returns 0, or -1 with errno. */
int h_spawn(struct h_proc *p, const char *prog, const char *const argv[],
	    const char *stdin_path);

/* Like h_spawn, but stdout is a pipe whose read end is returned in
 * *stdout_fd (the caller reads and closes it). */
int h_spawn_stdout_piped(struct h_proc *p, const char *prog,
			 const char *const argv[], int *stdout_fd);

/* Waits until the pipe read by fd is full, so that its writer blocks:
 * it has no room for another of the logger's writes, at most PIPE_BUF
 * bytes of whole lines each (log.h).  How much a full pipe holds
 * depends on those writes' sizes: a pipe is a ring of page-sized slots,
 * and a write that does not fit in the last slot's room takes a slot of
 * its own, so a blocked writer may leave most of a page free in several
 * slots.  Full is therefore: more than half of the pipe queued, and no
 * more arriving for H_PIPE_STILL_MS while the writer has far more to
 * write.  0, or -1 after timeout_ms. */
#define H_PIPE_STILL_MS 300
int h_wait_pipe_full(int fd, int timeout_ms);

/* Like h_spawn, but stdin is a pipe whose write end is returned in
 * *stdin_fd (the caller closes it). */
int h_spawn_piped(struct h_proc *p, const char *prog, const char *const argv[],
		  int *stdin_fd);

/* Waits for the "listening on" line on the child's stderr and sets
 * p->port.  -1 when the child exits or the timeout passes first. */
int h_wait_listening(struct h_proc *p, int timeout_ms);

/* Starts a server and waits for it to listen: h_spawn + h_wait_listening.
 * argv as for h_spawn (port "0" is the caller's to pass). */
int h_start_server(struct h_proc *p, const char *prog,
		   const char *const argv[]);

/* Waits for the child to exit; returns its exit status (0-255), 128+signal
 * when a signal killed it, or -1 on timeout (the child is left running). */
int h_wait_exit(struct h_proc *p, int timeout_ms);

/* Sends sig to process pid and waits until it has taken it: no
 * longer pending for the process (/proc/PID/status, ShdPnd).  For a
 * program that blocks sig and takes it with sigwait, this is the moment
 * its signal thread woke, so a test can time a second signal from
 * there rather than from the kill.  0, or -1 when the child is gone or
 * timeout_ms passes first. */
int h_signal_taken(pid_t pid, int sig, int timeout_ms);

/* Sends sig (if > 0) and waits as h_wait_exit; on timeout kills the child
 * with SIGKILL, reaps it and returns -1. */
int h_stop(struct h_proc *p, int sig, int timeout_ms);

/* Blocking TCP connection to host:port (numeric host), or -1. */
int h_connect(const char *host, int port);
/* UDP socket connected to host:port, or -1. */
int h_udp(const char *host, int port);
/* A socket of type SOCK_STREAM or SOCK_DGRAM bound to the source
 * address src (numeric IPv4: 127.0.0.2 is loopback too) and connected
 * to 127.0.0.1:port, or -1: a second client address on one machine. */
int h_connect_from(const char *src, int port, int type);
/* Writes all of buf (MSG_NOSIGNAL); 0 or -1. */
int h_send_all(int fd, const void *buf, size_t len);
/* Writes all of buf with write(2) (pipes, files); 0 or -1. */
int h_write_all(int fd, const void *buf, size_t len);
/* Receives one datagram into buf as a string (a trailing '\n' removed);
 * returns its length, -1 on error or timeout. */
int h_recv_datagram(int fd, char *buf, size_t size, int timeout_ms);
/* For a child a test forks itself: die when the test process does. */
void h_die_with_parent(void);
/* Kills (SIGKILL) and reaps every child still running: for teardown
 * after a failed test, and run at exit. */
void h_kill_children(void);
/* Reads one '\n'-terminated line into buf (terminator removed, NUL
 * added); returns its length, 0 at EOF, -1 on error or timeout. Reads a
 * byte at a time, which is fine for tests. */
int h_read_line(int fd, char *buf, size_t size, int timeout_ms);
/* Reads until EOF; returns 0 at EOF, -1 on error or timeout. */
int h_wait_eof(int fd, int timeout_ms);

/* The whole file, NUL-terminated and malloc'd (*len without the NUL);
 * NULL with errno when it cannot be read. */
char *h_slurp(const char *path, size_t *len);
/* Occurrences of needle in the file (0 when unreadable). */
size_t h_count_in_file(const char *path, const char *needle);

/* The number after key in the file's first line holding key, or -1. */
long long h_number_after(const char *path, const char *key);
/* Polls the file until needle occurs at least count times; 0 or -1. */
int h_wait_for(const char *path, const char *needle, size_t count,
	       int timeout_ms);
/* Polls the file until it holds at least bytes bytes; 0 or -1. */
int h_wait_size(const char *path, long long bytes, int timeout_ms);
/* Occurrences of needle in a string. */
size_t h_count(const char *haystack, const char *needle);

struct logline;

/*
 * Calls fn for each line of the log file at path that logline_parse
 * reads (line_len: the line's length with its '\n'; a message's text is
 * unescaped into a buffer the walk owns); lines it cannot read are
 * passed over.  0, or -1 when the file cannot be read.
 */
int h_each_logline(const char *path,
		   void (*fn)(const struct logline *l, size_t line_len,
			      void *arg),
		   void *arg);

/*
 * Counts, in a server log, the message lines whose text is exactly
 * "c<client> m<seq>" (the integration tests' numbered messages):
 * counts[client * msgs + seq] is incremented for each (saturating at
 * 255); returns how many message lines did not fit that pattern or range,
 * or -1 when the log cannot be read.
 */
long h_count_numbered(const char *path, int clients, int msgs,
		      unsigned char *counts);

/*
 * The full path of a program found on $PATH, written into buf[0..size)
 * and returned, or NULL when it is not there.  Suites that start a real
 * peer (haproxy, rsyslogd...) skip, saying which package to install,
 * when it is NULL: `make test` installs the peers listed in the
 * Makefile's TEST_PEERS first (root), a package build does not.
 */
char *h_which(char *buf, size_t size, const char *prog);

/* Writes a file with the given text; 0 or -1. */
int h_write_file(const char *path, const char *text);

/* The process's CPU time (user + system) in clock ticks, or -1. */
long h_cpu_ticks(pid_t pid);

/* Milliseconds on the monotonic clock. */
long long h_now_ms(void);
void h_sleep_ms(int ms);

#endif
