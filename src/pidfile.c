/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pidfile.c - the server's pid file; the contract is in pidfile.h.
 */
#define _DEFAULT_SOURCE /* flock(2) */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "net.h"

/* Room for a pid and its newline. */
#define PID_TEXT_MAX 24

/* The pid the locked file at fd names, for the error message, or 0. */
static long holder(int fd)
{
	char text[PID_TEXT_MAX] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	return n > 0 ? strtol(text, NULL, 10) : 0;
}

int pidfile_write(int fd, long pid)
{
	char text[PID_TEXT_MAX];
	int len = snprintf(text, sizeof(text), "%ld\n", pid);

	if (ftruncate(fd, 0) == -1 || pwrite(fd, text, (size_t)len, 0) != len)
		return -1;
	return 0;
}

int pidfile_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	int saved;

	if (fd == -1)
		return net_error(err, errlen, "cannot open pid file '%s': %s",
				 path, strerror(errno));
	/* Locked before anything is written: the file of a running server
	 * is never truncated by the one that is refused. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		if (saved == EWOULDBLOCK)
			net_error(
				err, errlen,
				"pid file '%s' is locked: a server (pid %ld) runs with it",
				path, holder(fd));
		else
			net_error(err, errlen, "cannot lock pid file '%s': %s",
				  path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (pidfile_write(fd, (long)getpid()) == -1) {
		saved = errno;
		net_error(err, errlen, "cannot write pid file '%s': %s", path,
			  strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void pidfile_close(int fd, const char *path)
{
	if (fd < 0)
		return;
	/* Removed while still locked: no one takes it over meanwhile. */
	(void)unlink(path);
	close(fd);
}
