/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pidfile.h - --pid-file: which process a server is, for scripts that
 * signal it (logrotate's postrotate, with several servers running).
 *
 * The file holds the process ID and a newline, and is locked (flock(2),
 * exclusive) for as long as the server runs: `pkill -L -F FILE` signals
 * only while the lock is held, so a file left behind by a killed server
 * (kill -9) never sends a signal to whatever process got its number
 * since.  A second server given the same file finds it locked and does
 * not start.  The file is removed at a clean exit.
 *
 * Memory: none.  Threads: main only.  Failure: -1 with a one-line
 * reason in err (net.h's convention).
 */
#ifndef PIDFILE_H
#define PIDFILE_H

#include <stddef.h>

/* Creates (or takes over an unlocked) path, locks it, writes the pid.
 * The descriptor (close-on-exec), or -1 with err. */
int pidfile_open(const char *path, char *err, size_t errlen);

/* Writes pid into the locked file fd in place of what it held (an
 * upgrade: the new process's).  0 or -1 with errno. */
int pidfile_write(int fd, long pid);

/* Removes path and closes fd (the lock goes with it); fd -1: nothing. */
void pidfile_close(int fd, const char *path);

#endif
