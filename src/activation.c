/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * activation.c - sockets passed by a service manager; the contract is
 * in activation.h.
 */
#define _DEFAULT_SOURCE /* SO_PROTOCOL (Linux) */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"

/* Room for "fd 3 (NAME)": systemd's names are at most 255 bytes. */
#define FD_LABEL_MAX 280

/* A whole decimal number in [0, max], or -1. */
static long parse_count(const char *s, long max)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	return v;
}

/* "fd 3 (mtserver.socket)": the i-th name of LISTEN_FDNAMES, if any. */
static const char *fd_label(char *buf, size_t len, int fd, const char *names,
			    int i)
{
	const char *name = names;
	size_t name_len;

	for (int k = 0; name != NULL && k < i; k++) {
		name = strchr(name, ':');
		if (name != NULL)
			name++;
	}
	name_len = name != NULL ? strcspn(name, ":") : 0;
	if (name_len == 0)
		snprintf(buf, len, "fd %d", fd);
	else
		snprintf(buf, len, "fd %d (%.*s)", fd, (int)name_len, name);
	return buf;
}

/* What fd is: SOCK_STREAM (listening TCP) or SOCK_DGRAM (UDP), on an
 * IP address; its port in *port.  The type, or -1 with err. */
static int check_socket(int fd, const char *label, unsigned *port, char *err,
			size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, proto = 0, listening = 0;
	socklen_t ilen = sizeof(int);
	struct stat st;

	if (fstat(fd, &st) == -1)
		return net_error(err, errlen, "LISTEN_FDS: %s is not open: %s",
				 label, strerror(errno));
	if (!S_ISSOCK(st.st_mode) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ilen) == -1) {
		errno = ENOTSOCK;
		return net_error(err, errlen, "LISTEN_FDS: %s is not a socket",
				 label);
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return net_error(
			err, errlen,
			"LISTEN_FDS: %s is not an IPv4 or IPv6 socket (family %d): mtserver serves TCP and UDP",
			label, ss.ss_family);
	}
	ilen = sizeof(int);
	(void)getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &ilen);
	if (!((type == SOCK_STREAM && proto == IPPROTO_TCP) ||
	      (type == SOCK_DGRAM && proto == IPPROTO_UDP))) {
		errno = EPROTOTYPE;
		return net_error(
			err, errlen,
			"LISTEN_FDS: %s is neither a TCP nor a UDP socket (type %d, protocol %d)",
			label, type, proto);
	}
	ilen = sizeof(int);
	if (type == SOCK_STREAM && (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
					       &listening, &ilen) == -1 ||
				    !listening)) {
		errno = EINVAL;
		return net_error(
			err, errlen,
			"LISTEN_FDS: %s is a TCP socket that does not listen (a connection: the socket unit needs Accept=no)",
			label);
	}
	*port = (unsigned)net_local_port(fd);
	return type;
}

/* Files the checked socket fd as a's TCP or UDP one.  0 or -1. */
static int file_socket(struct activation *a, int fd, int type, unsigned port,
		       const char *label, char *err, size_t errlen)
{
	int *slot = type == SOCK_STREAM ? &a->tcp_fd : &a->udp_fd;
	const char *kind = type == SOCK_STREAM ? "TCP" : "UDP";

	if (*slot >= 0) {
		errno = EINVAL;
		return net_error(
			err, errlen,
			"LISTEN_FDS: %s is a second %s socket (the first is fd %d): mtserver takes one TCP and one UDP socket on one port",
			label, kind, *slot);
	}
	if (a->tcp_fd >= 0 || a->udp_fd >= 0) {
		if (port != a->port) {
			errno = EINVAL;
			return net_error(
				err, errlen,
				"LISTEN_FDS: %s is on port %u, fd %d on port %u: mtserver serves TCP and UDP on one port",
				label, port,
				a->tcp_fd >= 0 ? a->tcp_fd : a->udp_fd,
				a->port);
		}
	}
	*slot = fd;
	a->port = port;
	return 0;
}

/* The sockets that are there match the ones the server wants. */
static int check_wanted(const struct activation *a, bool want_tcp,
			bool want_udp, char *err, size_t errlen)
{
	errno = EINVAL;
	if (want_tcp && a->tcp_fd < 0)
		return net_error(
			err, errlen,
			"LISTEN_FDS: no TCP socket among the %d passed (the socket unit needs ListenStream=; or give --no-tcp)",
			a->count);
	if (want_udp && a->udp_fd < 0)
		return net_error(
			err, errlen,
			"LISTEN_FDS: no UDP socket among the %d passed (the socket unit needs ListenDatagram=; or give --no-udp)",
			a->count);
	if (!want_tcp && a->tcp_fd >= 0)
		return net_error(
			err, errlen,
			"LISTEN_FDS: fd %d is a TCP socket, but --no-tcp was given",
			a->tcp_fd);
	if (!want_udp && a->udp_fd >= 0)
		return net_error(
			err, errlen,
			"LISTEN_FDS: fd %d is a UDP socket, but --no-udp was given",
			a->udp_fd);
	return 0;
}

/* Unsets the protocol's variables: they were for this process only. */
static void unset_all(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int activation_take(struct activation *a, bool want_tcp, bool want_udp,
		    char *err, size_t errlen)
{
	const char *pid_text = getenv("LISTEN_PID");
	const char *fds_text = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char label[FD_LABEL_MAX];
	long pid, count;

	memset(a, 0, sizeof(*a));
	a->tcp_fd = a->udp_fd = -1;
	if (pid_text == NULL || fds_text == NULL)
		return 0;
	pid = parse_count(pid_text, 0x7fffffffL);
	if (pid != (long)getpid()) {
		/* Meant for another process (a parent that did not unset
		 * them): not ours to take, nor to keep passing on. */
		unset_all();
		return 0;
	}
	count = parse_count(fds_text, ACTIVATION_FDS_MAX);
	if (count < 0) {
		errno = EINVAL;
		return net_error(
			err, errlen,
			"LISTEN_FDS '%s' is not a number of descriptors (0-%d)",
			fds_text, ACTIVATION_FDS_MAX);
	}
	a->count = (int)count;
	for (int i = 0; i < a->count; i++) {
		int fd = ACTIVATION_FD_START + i, type;
		unsigned port = 0;

		fd_label(label, sizeof(label), fd, names, i);
		type = check_socket(fd, label, &port, err, errlen);
		if (type == -1 ||
		    file_socket(a, fd, type, port, label, err, errlen) == -1)
			return -1;
	}
	if (a->count > 0 &&
	    check_wanted(a, want_tcp, want_udp, err, errlen) == -1)
		return -1;
	for (int i = 0; i < a->count; i++)
		if (fcntl(ACTIVATION_FD_START + i, F_SETFD, FD_CLOEXEC) == -1)
			return net_error(
				err, errlen,
				"LISTEN_FDS: cannot set FD_CLOEXEC on fd %d: %s",
				ACTIVATION_FD_START + i, strerror(errno));
	unset_all();
	return 0;
}
