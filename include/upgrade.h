/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upgrade.h - a new binary takes over without a stop (SIGUSR2).
 *
 * The old process forks and executes the program file again (the path
 * /proc/self/exe named at startup: absolute, the file itself whatever
 * argv[0] and PATH said, and after a package upgrade replaced that file
 * the path names the new one, where /proc/self/exe itself would still be
 * the old inode), with its own argv and environment.  The listening
 * sockets go along by inheritance, in the socket-activation protocol
 * activation.c reads (LISTEN_FDS, LISTEN_PID set to the child's own pid
 * between fork and exec, LISTEN_FDNAMES=tcp:udp), from descriptor 3 on;
 * after them two descriptors of its own, named in the environment:
 *
 *   MTSERVER_UPGRADE_READY_FD  a pipe's write end: the new process
 *                              writes its pid there once it listens
 *                              (upgrade_announce) and closes it;
 *   MTSERVER_UPGRADE_PID_FD    the --pid-file descriptor, with its lock
 *                              (flock belongs to the open file, which
 *                              both then share): the old writes the new
 *                              pid into it and closes its copy without
 *                              removing the file; the new removes it at
 *                              its stop.
 *
 * The old waits for the pid at most UPGRADE_READY_MS.  End of file (the
 * new binary exited, or could not be executed) or the time running out
 * is a failed upgrade: the old keeps serving, kills nothing, and closes
 * its end, so that a new process that gets ready later finds the pipe
 * closed (EPIPE) and stops by itself: never two servers.
 *
 * Threads: upgrade_init from main before any thread; upgrade_take
 * before any thread (it unsets its variables); upgrade_start from the
 * signal thread (one at a time); upgrade_announce from the main thread.
 * Failure: -1 with errno, or with a one-line reason in err.
 */
#ifndef UPGRADE_H
#define UPGRADE_H

#include <stddef.h>
#include <sys/types.h>

/* How long the old process waits for the new one to listen: far above
 * a start on a loaded machine (lean stacks' re-exec, the seats, the
 * log), short enough that a stuck start leaves the signal thread free
 * again soon. */
#define UPGRADE_READY_MS 15000

/* What the old process hands over (-1: not there). */
struct upgrade_fds {
	int tcp_fd, udp_fd;
	int pid_fd;
};

/* What a new process was handed (-1: not started by an upgrade). */
struct upgrade_handoff {
	int ready_fd;
	int pid_fd;
};

/* Remembers the program file's path (readlink of /proc/self/exe), argv
 * (kept, not copied: main's) and NOTIFY_SOCKET (before notify_open
 * unsets it: the new process is the service's main process next).
 * 0 or -1 with errno. */
int upgrade_init(char *argv[]);

/* The descriptors an upgrading parent handed to this process, each made
 * close-on-exec; the variables are unset. */
void upgrade_take(struct upgrade_handoff *h);

/* Old process: starts the new one and waits for it to listen.  Its pid,
 * or -1 with a short reason in err (a log line's error field; the old
 * serves on); *child_pid is the pid started, or 0. */
pid_t upgrade_start(const struct upgrade_fds *fds, pid_t *child_pid, char *err,
		    size_t errlen);

/* New process, listening: tells the old one (writes the pid, closes
 * *ready_fd, sets it to -1).  0 (also when not upgrading), or -1 with
 * errno (EPIPE: the old gave up waiting). */
int upgrade_announce(int *ready_fd);

#endif
