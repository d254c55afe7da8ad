/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * haproxy.h - a real HAProxy (Debian's haproxy) for the suites that put
 * one in front of mtservers: test_proxy, test_fleet.
 *
 * HAProxy cannot bind port 0 and say which port it got, so the caller
 * takes a port free now (h_free_port, harness.h), writes its configuration with
 * it and starts HAProxy; when another process took the port meanwhile
 * HAProxy exits and hap_start says so (-1): try again with a new port.
 * Every wait is bounded.  Main thread only.  The process is the
 * caller's: hap_stop() ends it by its pid (never by name).
 */
#ifndef HAPROXY_H
#define HAPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether something listens on 127.0.0.1:port (/proc/net/tcp: state
 * 0A), found without connecting (a connection would be a client). */
bool hap_listening(int port);

/* Starts bin -f conf -db, its output to err, and waits until it listens
 * on port.  Its pid, or -1 when it exited first (the port was taken);
 * fails the test when it neither listens nor exits within 10 s. */
pid_t hap_start(const char *bin, const char *conf, const char *err, int port);

/* SIGTERM to *pid and wait for it; *pid becomes 0.  Nothing when *pid
 * is 0. */
void hap_stop(pid_t *pid);

/* The haproxy program into bin[0..size), or NULL after saying which
 * package to install (the caller skips). */
char *hap_which(char *bin, size_t size);

#endif
