/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * net.h - small socket helpers, after Redis's anet.c.
 *
 * One error convention: functions return -1 and, where they take
 * (err, errlen), write a one-line reason there ("cannot bind tcp
 * 0.0.0.0:80: Permission denied"); errno is kept from the failing call.
 * No state; any thread may call them.  Descriptors returned belong to the
 * caller.
 */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Room for "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535". */
#define NET_ADDR_MAX 56
/* Room for one error line. */
#define NET_ERR_MAX 256

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* The one way to fail with a reason: fills err[0..errlen) (if err is
 * not NULL) with the formatted one-line reason and returns -1, errno
 * kept as it was.  Write the message whole on one source line, so that
 * grep finds it from what the user saw. */
int net_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses a numeric IPv4 or IPv6 address and a port.  0 or -1 (EINVAL). */
int net_parse_addr(struct net_addr *a, const char *host, unsigned port,
		   char *err, size_t errlen);

/* What a server binds when no address is given: "::" where the host has
 * IPv6 (an AF_INET6 socket can be made and some interface has an IPv6
 * address; when the interfaces cannot be listed, as under a sandbox
 * without netlink, the socket alone decides), else "0.0.0.0".  A socket
 * on "::" is made dual stack (IPV6_V6ONLY off) by the functions below. */
const char *net_any_addr(void);

/* True for the IPv6 wildcard "::", which serves both stacks. */
bool net_is_dual_stack(const struct net_addr *a);

/* Resolves host (a name or a literal) for a client; the first address of
 * the wanted socket type.  0 or -1. */
int net_resolve(struct net_addr *a, const char *host, unsigned port,
		int socktype, char *err, size_t errlen);

/* Resolves host for a client: up to max addresses of the wanted socket
 * type, in getaddrinfo()'s order of preference, for the caller to try
 * in turn.  How many (>= 1), or -1. */
int net_resolve_all(struct net_addr *a, size_t max, const char *host,
		    unsigned port, int socktype, char *err, size_t errlen);

/* Formats an address as "1.2.3.4:5" or "[::1]:5" (IPv4-mapped IPv6
 * addresses as IPv4); returns buf. */
char *net_format(const struct sockaddr *sa, char *buf, size_t len);

/* A listening TCP socket (SO_REUSEADDR; on "::" dual stack).  -1 on
 * error with err filled. */
int net_tcp_listen(const struct net_addr *a, int backlog, char *err,
		   size_t errlen);

/* net_tcp_listen with SO_REUSEPORT: more listeners may bind the same
 * address and port (each with it), and the kernel spreads connections
 * over them. */
int net_tcp_listen_shared(const struct net_addr *a, int backlog, char *err,
			  size_t errlen);

/* A bound UDP socket.  -1 on error with err filled. */
int net_udp_bind(const struct net_addr *a, char *err, size_t errlen);

/* The local port a socket is bound to, or -1. */
int net_local_port(int fd);

/* Sets a port into an address. */
void net_set_port(struct net_addr *a, unsigned port);

/* Sets or clears O_NONBLOCK.  0 or -1. */
int net_set_nonblock(int fd, bool on);

/* Sends all of buf (MSG_NOSIGNAL; EINTR and short writes retried).
 * 0, or -1 with errno. */
int net_send_all(int fd, const void *buf, size_t len);

/*
 * A session's kernel send buffer: SO_SNDBUF is set to this, which turns
 * the kernel's autotuning off for the socket (it would grow to tcp_wmem's
 * 4 MiB for a client that reads slowly: memory --max-memory cannot see,
 * and minutes of old lines for a dropped member).  128 KiB is ample for
 * loopback and a LAN (1 Gbit/s x 1 ms is 125 KB); the kernel doubles it
 * for its own bookkeeping (socket(7)), so NET_SNDBUF_CHARGE is what a
 * session may hold in the kernel, and what --max-memory charges for it.
 */
#define NET_SNDBUF_BYTES  (128 * 1024)
#define NET_SNDBUF_CHARGE (2 * (size_t)NET_SNDBUF_BYTES)

/* How every session's socket is set up (net_tune_session). */
struct net_tuning {
	int sndbuf;		  /* SO_SNDBUF bytes; 0: the kernel's */
	int keepalive_idle;	  /* s of silence before probing; 0: off */
	int keepalive_interval;	  /* s between probes */
	int keepalive_count;	  /* unanswered probes that drop the peer */
	unsigned user_timeout_ms; /* TCP_USER_TIMEOUT; 0: the kernel's */
};

/* Sets t on an accepted TCP socket: SO_SNDBUF, SO_KEEPALIVE with
 * TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_USER_TIMEOUT.  A dead peer then
 * ends the socket with ETIMEDOUT.  Tries every option; 0, or -1 with
 * errno of the first that failed. */
int net_tune_session(int fd, const struct net_tuning *t);

/* Ends fd with a reset (SO_LINGER {1, 0}, then close): the kernel frees
 * its buffers at once instead of trickling what it holds to a peer that
 * does not read.  Closes fd in any case. */
void net_close_reset(int fd);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit; stores the new
 * soft limit.  0 or -1. */
int net_raise_nofile(unsigned long *limit);

#endif
