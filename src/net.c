/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * net.c - socket helpers; the contract is in net.h.
 */
#define _DEFAULT_SOURCE /* SO_REUSEPORT (Linux) */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int net_error(char *err, size_t errlen, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return -1;
}

void net_set_port(struct net_addr *a, unsigned port)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port =
			htons((unsigned short)port);
	else
		((struct sockaddr_in *)&a->ss)->sin_port =
			htons((unsigned short)port);
}

int net_parse_addr(struct net_addr *a, const char *host, unsigned port,
		   char *err, size_t errlen)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		a->len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		a->len = sizeof(*in6);
	} else {
		errno = EINVAL;
		return net_error(
			err, errlen,
			"invalid address '%s' (expected an IPv4 or IPv6 literal such as 0.0.0.0 or ::)",
			host);
	}
	net_set_port(a, port);
	return 0;
}

/* Does any interface have an IPv6 address?  1, 0, or -1 when they
 * cannot be listed. */
static int host_has_ipv6_address(void)
{
	struct ifaddrs *list, *i;
	int found = 0;

	if (getifaddrs(&list) == -1)
		return -1;
	for (i = list; i != NULL && !found; i = i->ifa_next)
		found = i->ifa_addr != NULL &&
			i->ifa_addr->sa_family == AF_INET6;
	freeifaddrs(list);
	return found;
}

const char *net_any_addr(void)
{
	int saved = errno;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	const char *any = "0.0.0.0"; /* no IPv6 in this kernel */

	if (fd >= 0) {
		close(fd);
		/* IPv6 disabled on every interface (disable_ipv6=1) still
		 * gives sockets: "::" would bind, but serve IPv4 only. */
		if (host_has_ipv6_address() != 0)
			any = "::";
	}
	errno = saved;
	return any;
}

bool net_is_dual_stack(const struct net_addr *a)
{
	const struct sockaddr_in6 *in6 = (const void *)&a->ss;

	return a->ss.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
}

int net_resolve(struct net_addr *a, const char *host, unsigned port,
		int socktype, char *err, size_t errlen)
{
	return net_resolve_all(a, 1, host, port, socktype, err, errlen) == -1
		       ? -1
		       : 0;
}

int net_resolve_all(struct net_addr *a, size_t max, const char *host,
		    unsigned port, int socktype, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char service[8];
	size_t n = 0;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		errno = EINVAL;
		return net_error(err, errlen, "cannot resolve '%s': %s", host,
				 gai_strerror(rc));
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(a[n].ss))
			continue;
		memset(&a[n], 0, sizeof(a[n]));
		memcpy(&a[n].ss, ai->ai_addr, ai->ai_addrlen);
		a[n].len = ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		errno = EAFNOSUPPORT;
		return net_error(err, errlen,
				 "cannot resolve '%s': no usable address",
				 host);
	}
	return (int)n;
}

char *net_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const void *)sa;

		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host,
				  sizeof(host));
			snprintf(buf, len, "%s:%u", host, port);
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host,
				  sizeof(host));
			snprintf(buf, len, "[%s]:%u", host, port);
		}
	} else {
		snprintf(buf, len, "?:0");
	}
	return buf;
}

/* A socket of the address's family; for "::" both stacks.  -1 or fd. */
static int open_socket(const struct net_addr *a, int type, const char *what,
		       char *err, size_t errlen)
{
	char name[NET_ADDR_MAX];
	int fd = socket(a->ss.ss_family, type, 0);
	int off = 0;

	if (fd == -1)
		return net_error(err, errlen, "cannot create %s socket: %s",
				 what, strerror(errno));
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ==
		    -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return net_error(err, errlen,
				 "cannot make %s %s dual-stack: %s", what,
				 net_format((const struct sockaddr *)&a->ss,
					    name, sizeof(name)),
				 strerror(errno));
	}
	return fd;
}

static int bind_or_fail(int fd, const struct net_addr *a, const char *what,
			char *err, size_t errlen)
{
	char name[NET_ADDR_MAX];
	int saved;

	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == 0)
		return 0;
	saved = errno;
	close(fd);
	errno = saved;
	return net_error(
		err, errlen, "cannot bind %s %s: %s", what,
		net_format((const struct sockaddr *)&a->ss, name, sizeof(name)),
		strerror(saved));
}

static int tcp_listen(const struct net_addr *a, int backlog, bool shared,
		      char *err, size_t errlen)
{
	int on = 1;
	int fd = open_socket(a, SOCK_STREAM, "tcp", err, errlen);

	if (fd == -1)
		return -1;
	/* Restarting the server must not wait for TIME_WAIT to expire. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return net_error(err, errlen, "cannot set SO_REUSEADDR: %s",
				 strerror(saved));
	}
	if (shared &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return net_error(err, errlen, "cannot set SO_REUSEPORT: %s",
				 strerror(saved));
	}
	if (bind_or_fail(fd, a, "tcp", err, errlen) == -1)
		return -1;
	if (listen(fd, backlog) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return net_error(err, errlen, "cannot listen: %s",
				 strerror(saved));
	}
	return fd;
}

int net_tcp_listen(const struct net_addr *a, int backlog, char *err,
		   size_t errlen)
{
	return tcp_listen(a, backlog, false, err, errlen);
}

int net_tcp_listen_shared(const struct net_addr *a, int backlog, char *err,
			  size_t errlen)
{
	return tcp_listen(a, backlog, true, err, errlen);
}

int net_udp_bind(const struct net_addr *a, char *err, size_t errlen)
{
	int fd = open_socket(a, SOCK_DGRAM, "udp", err, errlen);

	if (fd == -1)
		return -1;
	if (bind_or_fail(fd, a, "udp", err, errlen) == -1)
		return -1;
	return fd;
}

int net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int net_set_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags == -1)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

int net_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* setsockopt of an int; remembers the first failure's errno in *err. */
static void set_int(int fd, int level, int name, int value, int *err)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) == -1 &&
	    *err == 0)
		*err = errno;
}

int net_tune_session(int fd, const struct net_tuning *t)
{
	int err = 0;

	if (t->sndbuf > 0)
		set_int(fd, SOL_SOCKET, SO_SNDBUF, t->sndbuf, &err);
	if (t->keepalive_idle > 0) {
		set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, t->keepalive_idle, &err);
		set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, t->keepalive_interval,
			&err);
		set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, t->keepalive_count, &err);
		set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, &err);
	}
	if (t->user_timeout_ms > 0)
		set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
			(int)t->user_timeout_ms, &err);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

void net_close_reset(int fd)
{
	struct linger now = {.l_onoff = 1, .l_linger = 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
	close(fd);
}

int net_raise_nofile(unsigned long *limit)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return -1;
	}
	*limit = rl.rlim_cur == RLIM_INFINITY ? 1048576UL
					      : (unsigned long)rl.rlim_cur;
	return 0;
}
