/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * activation.h - listening sockets a service manager passed: socket
 * activation, the sd_listen_fds(3) protocol, read directly.
 *
 * systemd (a .socket unit), or systemd-socket-activate, binds the port
 * itself and starts the server with the sockets open from descriptor 3
 * on: LISTEN_FDS says how many, LISTEN_PID which process they are for,
 * LISTEN_FDNAMES (optional) their names, ':' between.  Clients that
 * connect while the server starts wait in the kernel's queues, none is
 * refused; and the server needs no privilege for a port below 1024.
 *
 * mtserver takes exactly what it would have bound itself: one listening
 * TCP socket and one UDP socket, IPv4 or IPv6, on the same port (or
 * only the one of them that --no-udp or --no-tcp leaves).  Anything else
 * is refused with a one-line reason naming the descriptor: a socket of
 * another family or type, a connected socket (Accept=yes), two of one
 * kind, one missing, two ports.
 *
 * Threads: activation_take from main before any thread exists (it
 * unsets the three variables, so that nothing the server starts takes
 * them for its own).
 * Failure: -1 with a one-line reason in err; the descriptors passed
 * are left as they are.
 */
#ifndef ACTIVATION_H
#define ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

/* The first descriptor passed (SD_LISTEN_FDS_START). */
#define ACTIVATION_FD_START 3
/* The most descriptors looked at: two are used, a few more are named
 * in the error that refuses them. */
#define ACTIVATION_FDS_MAX 16

struct activation {
	int count;	    /* descriptors passed; 0: bind as usual */
	int tcp_fd, udp_fd; /* the ones taken, or -1 */
	unsigned port;	    /* their port */
};

/* Takes the sockets passed to this process, if any: want_tcp and
 * want_udp say which the server serves.  Each is made close-on-exec.
 * 0 (a->count says whether any were passed), or -1 with err. */
int activation_take(struct activation *a, bool want_tcp, bool want_udp,
		    char *err, size_t errlen);

#endif
