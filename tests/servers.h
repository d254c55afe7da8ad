/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * servers.h - helpers for the suites that drive mtserver and stserver.
 */
#ifndef SERVERS_H
#define SERVERS_H

#include "harness.h"

struct srv {
	struct h_proc p;
	char log[H_PATH_MAX];
};

/* Starts prog with "-l LOG", the given options and port 0 (the list ends
 * with NULL).  Fails the test when it does not start.  With MT_MODEL set
 * (epserver, rpserver), that program stands in for "mtserver". */
void srv_start(struct srv *s, const char *prog, ...);

/* The program that stands in for "mtserver": $MT_MODEL, or mtserver. */
const char *srv_model(void);

/* SIGTERM and wait: fails the test unless the server exits 0. */
void srv_stop(struct srv *s);

/* Connects to the server (fails the test otherwise). */
int srv_connect(const struct srv *s);

/* Sends text (fails the test otherwise). */
void srv_send(int fd, const char *text);

/* Waits until the log holds needle count times (fails the test after
 * 10 s otherwise). */
void srv_wait_log(const struct srv *s, const char *needle, size_t count);

/* Compiles the tutorial's ../shared/seed/NAME.c ($MT_SEED_DIR) into
 * the test directory and returns the program's path (valid for the next
 * three calls); NULL, with a word on why, when the tutorial's sources
 * are not here.  Fails the test when they do not compile. */
const char *seed_build(const char *name);

/* Runs a seed client (bin from seed_build; NULL makes it exit 126) as
 * "bin 127.0.0.1 port", stdout to /dev/null; *stdin_fd gets the write
 * end of its standard input.  Returns its pid. */
pid_t seed_run(const char *bin, int port, int *stdin_fd);

/* cmocka group teardown: kills what a failed test left running. */
int srv_teardown(void **state);

#endif
