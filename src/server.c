/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.c - what both servers share; the contract is in server.h.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "logline.h"
#include "monotime.h"
#include "net.h"
#include "proto.h"
#include "signals.h"
#include "udp.h"

/* How often to look again when no descriptor can be had even for
 * refusing a client: often enough to serve soon, rarely enough to cost
 * nothing. */
#define SHORTAGE_BACKOFF_MS 100
/* Tries at finding a port free for both TCP and UDP when PORT is 0. */
#define PORT_TRIES 32
/* A forced exit's one attempt at writing what the log holds: long enough
 * for a disk to take a few MiB, short enough for an operator who asked
 * twice. */
#define FORCE_WRITE_MS 2000

static void close_if_open(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int open_log(struct server *srv, char *err, size_t errlen)
{
	if (srv->cfg.log_path == NULL) {
		srv->log_fd = STDOUT_FILENO;
		return 0;
	}
	srv->log_fd = open(srv->cfg.log_path,
			   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (srv->log_fd == -1)
		return net_error(err, errlen, "cannot open log file '%s': %s",
				 srv->cfg.log_path, strerror(errno));
	return 0;
}

/* TCP and UDP on one port; with port 0, one the kernel picked for TCP
 * and that UDP can have too. */
static int open_listeners(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = &srv->cfg;
	struct net_addr *addr = &srv->addr;
	int tries = cfg->port == 0 ? PORT_TRIES : 1;

	if (net_parse_addr(addr, cfg->bind_addr, cfg->port, err, errlen) == -1)
		return -1;
	while (tries-- > 0) {
		net_set_port(addr, cfg->port);
		if (cfg->tcp) {
			srv->tcp_fd =
				net_tcp_listen(addr, cfg->backlog, err, errlen);
			if (srv->tcp_fd == -1)
				return -1;
			srv->port = (unsigned)net_local_port(srv->tcp_fd);
			net_set_port(addr, srv->port);
		}
		if (!cfg->udp)
			return 0;
		srv->udp_fd = net_udp_bind(addr, err, errlen);
		if (srv->udp_fd >= 0) {
			srv->port = (unsigned)net_local_port(srv->udp_fd);
			net_set_port(addr, srv->port);
			return 0;
		}
		if (errno != EADDRINUSE || cfg->port != 0 || !cfg->tcp)
			break;
		close_if_open(&srv->tcp_fd); /* that port's UDP side is taken */
	}
	close_if_open(&srv->tcp_fd);
	return -1;
}

/* A client costs a descriptor, a chat member two (its socket, and its
 * outbox's wake-up). */
static long fds_per_client(bool chat)
{
	return chat ? 2 : 1;
}

static long default_max_clients(unsigned long nofile, bool chat)
{
	long n = nofile > 2UL * SERVER_FD_RESERVE
			 ? (long)(nofile - SERVER_FD_RESERVE)
			 : (long)(nofile / 2);

	return n / fds_per_client(chat);
}

/* The descriptors --max-clients needs (its clients', and the reserve),
 * when RLIMIT_NOFILE, raised to its hard limit, is less; else 0.  The
 * server runs all the same: newcomers past the limit are told "server
 * full" (server_accept, and conn.c for a member's wake-up). */
static unsigned long nofile_short(const struct server *srv)
{
	unsigned long need =
		(unsigned long)srv->seats.max *
			(unsigned long)fds_per_client(srv->cfg.chat) +
		SERVER_FD_RESERVE;

	return need > srv->nofile ? need : 0;
}

/* --max-clients, by default from RLIMIT_NOFILE; --max-per-ip: an
 * explicit value counts every address, the default leaves loopback out. */
static int open_seats(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = &srv->cfg;
	long max = cfg->max_clients > 0
			   ? cfg->max_clients
			   : default_max_clients(srv->nofile, cfg->chat);
	long per_ip =
		cfg->max_per_ip >= 0 ? cfg->max_per_ip : CLI_DEFAULT_MAX_PER_IP;

	if (cfg->kind != CLI_MTSERVER)
		per_ip = 0; /* one client at a time */
	if (seats_init(&srv->seats, max, per_ip, cfg->max_per_ip < 0) == -1)
		return net_error(err, errlen,
				 "cannot allocate --max-per-ip table: %s",
				 strerror(errno));
	return 0;
}

static const char *transports(const struct config *cfg)
{
	if (cfg->tcp && cfg->udp)
		return "tcp, udp";
	return cfg->tcp ? "tcp" : "udp";
}

static void log_start(struct server *srv)
{
	char addr[NET_ADDR_MAX], ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];
	struct logline_start start = {
		.prog = srv->cfg.prog,
		.version = MT_VERSION,
		.addr = addr,
		.transports = transports(&srv->cfg),
		.max_clients = srv->seats.max,
		.nofile = srv->nofile,
		.nofile_needed = srv->nofile_needed,
		.idle_timeout = srv->cfg.idle_timeout,
		.max_line = srv->cfg.max_line,
		.chat = srv->cfg.chat,
		.drain_timeout_ms = srv->cfg.drain_timeout_ms,
		.echo = srv->cfg.echo,
		.quiet = srv->cfg.quiet,
	};

	net_format((const struct sockaddr *)&srv->addr.ss, addr, sizeof(addr));
	logline_now(ts);
	(void)log_append(srv->log, line,
			 logline_start(line, sizeof(line), ts, &start));
}

/* Every session's socket: a bounded send buffer, and dead peers found
 * (cli.h: the defaults and why). */
static struct net_tuning session_tuning(const struct config *cfg)
{
	return (struct net_tuning){
		.sndbuf = NET_SNDBUF_BYTES,
		.keepalive_idle = (int)cfg->keepalive_idle,
		.keepalive_interval = (int)cfg->keepalive_interval,
		.keepalive_count = (int)cfg->keepalive_count,
		.user_timeout_ms = (unsigned)cfg->tcp_user_timeout * 1000u,
	};
}

int server_open(struct server *srv, const struct config *cfg, char *err,
		size_t errlen)
{
	int rc;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	if (srv->cfg.bind_addr == NULL) {
		srv->cfg.bind_addr = net_any_addr();
		srv->any_addr = true;
	}
	srv->tcp_fd = srv->udp_fd = srv->reserve_fd = -1;
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	srv->log_fd = -1;
	stats_init(&srv->stats);
	rc = pthread_mutex_init(&srv->log_guard, NULL);
	if (rc != 0)
		return net_error(err, errlen, "cannot create the log guard: %s",
				 strerror(rc));

	/* Before any thread exists, so that every thread inherits it. */
	if (signals_block() == -1)
		return net_error(err, errlen, "cannot block signals: %s",
				 strerror(errno));
	if (net_raise_nofile(&srv->nofile) == -1)
		return net_error(err, errlen, "cannot read RLIMIT_NOFILE: %s",
				 strerror(errno));
	if (open_seats(srv, err, errlen) == -1)
		return -1;
	srv->nofile_needed = nofile_short(srv);
	membudget_init(&srv->budget, cfg->max_memory >= 0
					     ? (size_t)cfg->max_memory
					     : membudget_default());
	if (open_listeners(srv, err, errlen) == -1)
		goto error;
	if (open_log(srv, err, errlen) == -1)
		goto error;
	if (pipe(srv->stop_pipe) == -1) {
		net_error(err, errlen, "cannot create stop pipe: %s",
			  strerror(errno));
		goto error;
	}
	/* A signal handler writes here: it must never block. */
	if (net_set_nonblock(srv->stop_pipe[1], true) == -1) {
		net_error(err, errlen,
			  "cannot make the stop pipe non-blocking: %s",
			  strerror(errno));
		goto error;
	}
	if (srv->tcp_fd >= 0 && net_set_nonblock(srv->tcp_fd, true) == -1) {
		net_error(err, errlen, "cannot make listener non-blocking: %s",
			  strerror(errno));
		goto error;
	}
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (cfg->chat && (srv->chat = chat_room_new(cfg->echo)) == NULL) {
		net_error(err, errlen, "cannot create the chat room: %s",
			  strerror(errno));
		goto error;
	}
	srv->log = log_open(srv->log_fd,
			    LOG_BATCH_SIZE +
				    logline_msg_max((size_t)cfg->max_line));
	if (srv->log == NULL) {
		net_error(err, errlen, "cannot start logger: %s",
			  strerror(errno));
		goto error;
	}
	srv->env =
		(struct conn_env){.cfg = &srv->cfg,
				  .log = srv->log,
				  .stats = &srv->stats,
				  .stop_fd = srv->stop_pipe[0],
				  .seats = &srv->seats,
				  .chat = srv->chat,
				  .budget = &srv->budget,
				  .drain_deadline_ms = &srv->drain_deadline_ms,
				  .tuning = session_tuning(&srv->cfg)};
	log_start(srv);
	return 0;
error:
	chat_room_free(srv->chat);
	srv->chat = NULL;
	seats_free(&srv->seats);
	close_if_open(&srv->tcp_fd);
	close_if_open(&srv->udp_fd);
	close_if_open(&srv->stop_pipe[0]);
	close_if_open(&srv->stop_pipe[1]);
	close_if_open(&srv->reserve_fd);
	if (srv->log_fd != STDOUT_FILENO)
		close_if_open(&srv->log_fd);
	return -1;
}

/* Wakes whoever polls the stop pipe; async-signal-safe.  A full pipe
 * holds a wake-up already, so a failed write loses nothing (and glibc's
 * fortified write() must not be ignored with a bare cast). */
static void poke_stop_pipe(int fd)
{
	ssize_t n = write(fd, "x", 1);

	(void)n;
}

/* Logs "signal SIGNAME action=A"; the caller holds log_guard. */
static void log_signal(struct server *srv, int sig, const char *action)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];

	if (srv->log == NULL)
		return; /* closed: the server is on its way out */
	logline_now(ts);
	(void)log_append(srv->log, line,
			 logline_signal(line, sizeof(line), ts,
					signals_name(sig), action));
}

/* Signal callbacks (signals.h), on the signal thread.  log_guard keeps
 * srv->log from being closed under them. */
static void on_stop(void *ctx, int sig)
{
	struct server *srv = ctx;

	pthread_mutex_lock(&srv->log_guard);
	log_signal(srv, sig, "stop");
	pthread_mutex_unlock(&srv->log_guard);
	server_stop(srv);
}

static void on_repeat(void *ctx, int sig)
{
	struct server *srv = ctx;

	pthread_mutex_lock(&srv->log_guard);
	log_signal(srv, sig, "counted-once");
	pthread_mutex_unlock(&srv->log_guard);
}

static void on_reopen(void *ctx, int sig)
{
	struct server *srv = ctx;

	pthread_mutex_lock(&srv->log_guard);
	/* Logging to standard output there is no file to reopen. */
	log_signal(srv, sig, srv->cfg.log_path != NULL ? "reopen" : "ignored");
	if (srv->log != NULL && srv->cfg.log_path != NULL)
		log_reopen(srv->log, srv->cfg.log_path);
	pthread_mutex_unlock(&srv->log_guard);
}

/* Takes log_guard by deadline (monotonic ms): 0, or -1. */
static int guard_by(struct server *srv, long long deadline)
{
	const struct timespec pause = {0, 1000000}; /* 1 ms */

	while (pthread_mutex_trylock(&srv->log_guard) != 0) {
		if (monotime_ms() >= deadline)
			return -1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/* A forced exit: one bounded attempt to write what the log holds in
 * memory (whole lines), a word on stderr about what is dropped, exit. */
static void on_force(void *ctx, int sig)
{
	struct server *srv = ctx;
	long long deadline = monotime_ms() + FORCE_WRITE_MS;
	long active = seats_active(&srv->seats);
	struct log_force f = {0};
	int rc = -1;

	/* Backstop: a write(2) stuck in the kernel (a hung disk) cannot
	 * hold the exit up; SIGALRM's default action ends the process. */
	alarm(2 * FORCE_WRITE_MS / 1000 + 1);
	if (guard_by(srv, deadline) == 0) {
		if (srv->log == NULL)
			rc = 0; /* closed: everything is written */
		else
			rc = log_force(srv->log,
				       (long)(deadline - monotime_ms()), &f);
	}
	fprintf(stderr,
		"%s: forced exit (%s): %llu lines in memory written, %llu lines (%llu bytes) dropped%s%s; %ld sessions not drained (what they had not read is lost)\n",
		srv->cfg.prog, signals_name(sig),
		(unsigned long long)f.written_lines,
		(unsigned long long)(f.pending_lines - f.written_lines),
		(unsigned long long)(f.pending_bytes - f.written_bytes),
		rc == 0 ? "" : ": ",
		rc == 0 ? "" : (f.err != 0 ? strerror(f.err) : "log busy"),
		active);
	if (f.lost.lines > 0)
		fprintf(stderr, "%s: log: %llu lines lost before: %s\n",
			srv->cfg.prog, (unsigned long long)f.lost.lines,
			strerror(f.lost.err));
	_exit(128 + sig);
}

int server_catch_signals(struct server *srv)
{
	const struct signals_ops ops = {srv, on_stop, on_repeat, on_force,
					on_reopen};

	return signals_start(&srv->signals, &ops);
}

void server_stop(struct server *srv)
{
	long long none = 0;

	/* The first stop sets the one deadline every session drains by. */
	atomic_compare_exchange_strong(&srv->drain_deadline_ms, &none,
				       monotime_ms() +
					       srv->cfg.drain_timeout_ms);
	poke_stop_pipe(srv->stop_pipe[1]);
}

static void *udp_thread_main(void *arg)
{
	struct server *srv = arg;

	if (udp_serve(&srv->env, srv->udp_fd) == -1)
		fprintf(stderr, "%s: udp: %s; udp stopped\n", srv->cfg.prog,
			strerror(errno));
	return NULL;
}

int server_start_udp(struct server *srv)
{
	int err;

	if (srv->udp_fd < 0)
		return 0;
	err = pthread_create(&srv->udp_thread, NULL, udp_thread_main, srv);
	if (err != 0) {
		errno = err;
		return -1;
	}
	srv->udp_running = true;
	return 0;
}

/* Which IP versions the listeners serve, for the listening line. */
static const char *stacks(const struct server *srv, const struct net_addr *a)
{
	if (net_is_dual_stack(a))
		return "; IPv6 and IPv4";
	if (srv->any_addr)
		return "; IPv4 only: no IPv6 here";
	return "";
}

void server_ready(struct server *srv)
{
	server_announce(srv, stderr);
}

void server_announce(const struct server *srv, FILE *out)
{
	char addr[NET_ADDR_MAX];

	fprintf(out, "%s: listening on %s (%s%s)\n", srv->cfg.prog,
		net_format((const struct sockaddr *)&srv->addr.ss, addr,
			   sizeof(addr)),
		transports(&srv->cfg), stacks(srv, &srv->addr));
	fflush(out);
}

static void log_refusal(struct server *srv, const char *who, size_t who_len,
			const char *reason)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];

	logline_now(ts);
	(void)log_append(
		srv->log, line,
		logline_refused(line, sizeof(line), ts, who, who_len, reason));
	stats_add(&srv->stats.tcp_refused, 1);
}

/* Tells a client why it is turned away (line NULL: nothing) and closes
 * it; never blocks. */
static void send_refusal(int fd, const char *line)
{
	if (line != NULL)
		(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* Refuses the accepted socket fd before it has a session: numbered as
 * a session would have been. */
static void refuse_fd(struct server *srv, int fd,
		      const struct sockaddr_storage *peer, uint64_t id,
		      const char *line, const char *reason)
{
	char who[LOGLINE_WHO_MAX], addr[NET_ADDR_MAX];
	size_t who_len = logline_who(
		who, sizeof(who), "tcp",
		net_format((const struct sockaddr *)peer, addr, sizeof(addr)),
		id);

	send_refusal(fd, line);
	log_refusal(srv, who, who_len, reason);
}

void server_refuse(struct server *srv, struct conn *c, const char *line,
		   const char *reason)
{
	send_refusal(c->fd, line);
	c->fd = -1;
	log_refusal(srv, c->who, c->who_len, reason);
	conn_free(c); /* gives its seat back, if it had one */
}

/*
 * Out of descriptors (EMFILE/ENFILE): the pending client would make
 * poll(2) report the listener readable forever.  Free the reserve
 * descriptor, accept the client, refuse it, take the reserve back; when
 * even that fails, wait a little.  Logged once per shortage.
 */
static void shed_client(struct server *srv, int err)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];
	int fd;

	if (!srv->fd_shortage) {
		srv->fd_shortage = true;
		logline_now(ts);
		(void)log_append(srv->log, line,
				 logline_accept_failed(line, sizeof(line), ts,
						       strerror(err)));
	}
	if (srv->reserve_fd >= 0) {
		close(srv->reserve_fd);
		fd = accept(srv->tcp_fd, (struct sockaddr *)&peer, &len);
		if (fd >= 0)
			refuse_fd(srv, fd, &peer, ++srv->next_id,
				  PROTO_FULL_LINE, "no-descriptors");
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return;
	}
	(void)poll(NULL, 0, SHORTAGE_BACKOFF_MS);
}

/* --proxy-protocol --proxy-from: whether peer may send a PROXY header. */
static bool proxy_trusted(const struct config *cfg,
			  const struct sockaddr_storage *peer)
{
	return !cfg->proxy_protocol || cfg->proxy_from_count == 0 ||
	       pp_net_match(cfg->proxy_from, cfg->proxy_from_count,
			    (const struct sockaddr *)peer);
}

/* Waits until the listener is readable (1) or the server stops (0). */
static int wait_for_client(struct server *srv)
{
	enum { SLOT_LISTENER, SLOT_STOP, SLOTS };
	struct pollfd pfd[SLOTS] = {
		[SLOT_LISTENER] = {.fd = srv->tcp_fd, .events = POLLIN},
		[SLOT_STOP] = {.fd = srv->stop_pipe[0], .events = POLLIN},
	};

	for (;;) {
		if (poll(pfd, SLOTS, -1) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (pfd[SLOT_STOP].revents != 0)
			return 0;
		if (pfd[SLOT_LISTENER].revents != 0)
			return 1;
	}
}

/*
 * At stop the clients in the accept queue are served too: the kernel
 * completed their handshakes and took their data, so to them the server
 * was up.  Accepted without waiting until the queue is empty (EAGAIN),
 * at most what a full queue holds (a client connecting all the time
 * cannot keep the stop going), and not past the drain deadline; their
 * sessions see the stop at once and drain.
 */
static int next_client(struct server *srv)
{
	if (!srv->stopping) {
		if (wait_for_client(srv))
			return 1;
		srv->stopping = true;
		srv->stop_accepts = 0;
	}
	return srv->stop_accepts++ <= srv->cfg.backlog &&
	       monotime_ms() < atomic_load(&srv->drain_deadline_ms);
}

struct conn *server_accept(struct server *srv)
{
	struct sockaddr_storage peer;
	socklen_t len;
	struct conn *c;
	int fd;

	while (next_client(srv)) {
		len = sizeof(peer);
		fd = accept(srv->tcp_fd, (struct sockaddr *)&peer, &len);
		if (fd == -1 && srv->stopping &&
		    (errno == EAGAIN || errno == EWOULDBLOCK))
			return NULL; /* the queue is empty */
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				shed_client(srv, errno);
			/* EAGAIN, ECONNABORTED, EINTR...: the next one. */
			continue;
		}
		srv->fd_shortage = false;
		if (srv->reserve_fd < 0)
			srv->reserve_fd =
				open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (!proxy_trusted(&srv->cfg, &peer)) {
			/* A PROXY header from anyone else would let them
			 * log as whoever they like: not read at all. */
			refuse_fd(srv, fd, &peer, ++srv->next_id, NULL,
				  "proxy-untrusted");
			continue;
		}
		c = conn_new(&srv->env, fd, ++srv->next_id,
			     (struct sockaddr *)&peer);
		if (c == NULL) {
			refuse_fd(srv, fd, &peer, srv->next_id, PROTO_BUSY_LINE,
				  "no-memory");
			continue;
		}
		/* With PROXY headers the address is counted once the
		 * session has read its header (conn.h). */
		switch (seats_take(&srv->seats,
				   srv->cfg.proxy_protocol
					   ? NULL
					   : (struct sockaddr *)&peer,
				   &c->seat)) {
		case SEATS_TAKEN:
			/* Not even one more session's buffers fit: a crowd
			 * holds them (and each of its clients times out in
			 * the end). */
			if (membudget_fits(&srv->budget,
					   conn_session_cost(&srv->cfg)))
				return c;
			server_refuse(srv, c, PROTO_BUSY_LINE, "memory-budget");
			break;
		case SEATS_FULL:
			server_refuse(srv, c, PROTO_FULL_LINE, "server-full");
			break;
		case SEATS_IP_FULL:
			server_refuse(srv, c, PROTO_PER_IP_LINE,
				      "per-ip-limit");
			break;
		case SEATS_NO_MEMORY:
			server_refuse(srv, c, PROTO_BUSY_LINE, "no-memory");
			break;
		}
	}
	return NULL;
}

void server_wait_stop(struct server *srv)
{
	struct pollfd pfd = {.fd = srv->stop_pipe[0], .events = POLLIN};

	while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
		;
}

static void log_stop(struct server *srv)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];
	struct logline_stop stop = {
		.prog = srv->cfg.prog,
		.tcp_conns = atomic_load(&srv->stats.tcp_conns),
		.tcp_msgs = atomic_load(&srv->stats.tcp_msgs),
		.udp_msgs = atomic_load(&srv->stats.udp_msgs),
	};

	logline_now(ts);
	(void)log_append(srv->log, line,
			 logline_stop(line, sizeof(line), ts, &stop));
}

/* The stop line in the log and on out: how the drain went. */
static void report_drain(struct server *srv, FILE *out)
{
	uint64_t drained = atomic_load(&srv->stats.drained);
	uint64_t cut = atomic_load(&srv->stats.drain_cut);

	fprintf(out,
		"%s: stop: %llu sessions drained, %llu cut by the drain deadline (%ld.%03lds)\n",
		srv->cfg.prog, (unsigned long long)drained,
		(unsigned long long)cut, srv->cfg.drain_timeout_ms / 1000,
		srv->cfg.drain_timeout_ms % 1000);
}

int server_close(struct server *srv, FILE *out)
{
	struct log_loss loss;
	int status = 0;

	server_stop(srv);
	if (srv->udp_running)
		pthread_join(srv->udp_thread, NULL);
	close_if_open(&srv->tcp_fd);
	close_if_open(&srv->udp_fd);
	report_drain(srv, out);
	log_stop(srv);
	/* Held while the log closes: a forced exit meanwhile waits for the
	 * final write (whole lines) instead of cutting it. */
	pthread_mutex_lock(&srv->log_guard);
	if (log_close_report(srv->log, &loss) == -1) {
		fprintf(out,
			"%s: log: %llu lines lost (%llu bytes), last reason: %s\n",
			srv->cfg.prog, (unsigned long long)loss.lines,
			(unsigned long long)loss.bytes, strerror(loss.err));
		status = 1;
	}
	srv->log = NULL;
	pthread_mutex_unlock(&srv->log_guard);
	signals_stop(&srv->signals);
	if (srv->log_fd != STDOUT_FILENO)
		close_if_open(&srv->log_fd);
	atomic_store(&srv->stats.buffer_peak, membudget_peak(&srv->budget));
	stats_print(&srv->stats, seats_peak(&srv->seats), srv->cfg.prog, out);
	close_if_open(&srv->stop_pipe[0]);
	close_if_open(&srv->stop_pipe[1]);
	close_if_open(&srv->reserve_fd);
	seats_free(&srv->seats);
	chat_room_free(srv->chat);
	srv->chat = NULL;
	return status;
}
