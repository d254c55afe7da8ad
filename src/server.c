/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.c - what both servers share; the contract is in server.h.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation.h"
#include "broker.h"
#include "logline.h"
#include "monotime.h"
#include "net.h"
#include "pidfile.h"
#include "upgrade.h"
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

/*
 * Standard output as the log.  A regular file is taken as it is; any
 * other (a pipe, a terminal) must be non-blocking for the logger to
 * give up on it at a stop (log.h).  The server makes that on a file
 * description of its own - a new open of the same pipe or terminal
 * through /proc - so that whoever shares the old one (the shell's
 * terminal, the rest of a pipeline) is not touched; where that cannot
 * be done (a socket, no /proc) the shared one is made non-blocking.
 */
static int stdout_nonblocking(char *err, size_t errlen)
{
	struct stat st;
	int fd, flags;

	if (fstat(STDOUT_FILENO, &st) == -1)
		return net_error(err, errlen,
				 "cannot log to standard output: %s",
				 strerror(errno));
	if (S_ISREG(st.st_mode))
		return 0;
	fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0) {
		int rc = fd == STDOUT_FILENO ? 0 : dup2(fd, STDOUT_FILENO);

		if (fd != STDOUT_FILENO)
			close(fd);
		if (rc != -1)
			return 0;
	}
	flags = fcntl(STDOUT_FILENO, F_GETFL);
	if (flags == -1 ||
	    fcntl(STDOUT_FILENO, F_SETFL, flags | O_NONBLOCK) == -1)
		return net_error(err, errlen,
				 "cannot make standard output non-blocking: %s",
				 strerror(errno));
	return 0;
}

/* Opened before any listener: a log that cannot be had now leaves
 * nothing half-started.  The open never waits (log_open_path). */
static int open_log(struct server *srv, char *err, size_t errlen)
{
	/* The path as the log would show it: escaped, on one line. */
	char shown[LOGFMT_ESCAPED_MAX(120)];
	const char *path = srv->cfg.log_path;
	struct stat st;
	int created, e;

	if (path == NULL) {
		srv->log_fd = STDOUT_FILENO;
		return stdout_nonblocking(err, errlen);
	}
	srv->log_fd = log_open_path(path, &created);
	srv->log_created = created != 0;
	if (srv->log_fd >= 0)
		return 0;
	e = errno;
	shown[logfmt_escape(shown, path, strnlen(path, 120))] = '\0';
	if (e == ENXIO && stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
		return net_error(err, errlen,
				 "cannot open log file '%s': a FIFO with no "
				 "reader (start its reader first)",
				 shown);
	return net_error(err, errlen, "cannot open log file '%s': %s", shown,
			 strerror(e));
}

/* A start that failed after the log file was made takes it back (nothing
 * half-started), unless the name is someone else's file by now. */
static void unlink_log(const struct server *srv)
{
	struct stat ours, named;

	if (fstat(srv->log_fd, &ours) == 0 &&
	    stat(srv->cfg.log_path, &named) == 0 &&
	    ours.st_dev == named.st_dev && ours.st_ino == named.st_ino)
		(void)unlink(srv->cfg.log_path);
}

/* The listeners systemd passed (activation.h), instead of binding: 1
 * when there were some, 0 when not, -1 with err. */
static int take_passed(struct server *srv, char *err, size_t errlen)
{
	struct activation a;
	int fd;

	if (activation_take(&a, srv->cfg.tcp, srv->cfg.udp, err, errlen) == -1)
		return -1;
	if (a.count == 0)
		return 0;
	srv->tcp_fd = a.tcp_fd;
	srv->udp_fd = a.udp_fd;
	srv->port = a.port;
	srv->passed = true;
	srv->any_addr = false;
	fd = a.tcp_fd >= 0 ? a.tcp_fd : a.udp_fd;
	srv->addr.len = sizeof(srv->addr.ss);
	if (getsockname(fd, (struct sockaddr *)&srv->addr.ss, &srv->addr.len) ==
	    -1)
		return net_error(err, errlen, "LISTEN_FDS: fd %d: %s", fd,
				 strerror(errno));
	return 1;
}

/* TCP and UDP on one port, passed by systemd or bound here; with port
 * 0, one the kernel picked for TCP and that UDP can have too. */
static int open_listeners(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = &srv->cfg;
	struct net_addr *addr = &srv->addr;
	int tries = cfg->port == 0 ? PORT_TRIES : 1;
	int passed = take_passed(srv, err, errlen);

	if (passed != 0)
		return passed == 1 ? 0 : -1;
	if (net_parse_addr(addr, cfg->bind_addr, cfg->port, err, errlen) == -1)
		return -1;
	while (tries-- > 0) {
		net_set_port(addr, cfg->port);
		if (cfg->tcp) {
			srv->tcp_fd =
				cfg->kind == CLI_RPSERVER
					? net_tcp_listen_shared(addr,
								cfg->backlog,
								err, errlen)
					: net_tcp_listen(addr, cfg->backlog,
							 err, errlen);
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

	if (cfg->kind == CLI_STSERVER)
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

/* metrics_fill_fn: the numbers of a scrape, on the endpoint's thread.
 * Relaxed reads only: no lock a worker or the logger takes. */
static void fill_metrics(void *ctx, struct metrics_snapshot *m)
{
	struct server *srv = ctx;
	const struct stats *st = &srv->stats;
	struct stats_tcp tcp = stats_tcp_sum(st);
	struct log_counters lc;
	size_t i;

	m->tcp_active = (uint64_t)seats_active(&srv->seats);
	m->tcp_peak = (uint64_t)seats_peak(&srv->seats);
	m->tcp_conns = stats_get(&st->tcp_conns);
	for (i = 0; i < STATS_REFUSALS; i++)
		m->refused[i] = stats_get(&st->refused[i]);
	for (i = 0; i < STATS_ENDS; i++)
		m->ended[i] = stats_get(&st->ended[i]);
	m->tcp_msgs = tcp.msgs;
	m->tcp_bytes = tcp.bytes;
	m->tcp_truncated = tcp.truncated;
	m->udp_datagrams = stats_get(&st->udp_datagrams);
	m->udp_msgs = stats_get(&st->udp_msgs);
	m->udp_bytes = stats_get(&st->udp_bytes);
	m->udp_truncated = stats_get(&st->udp_truncated);
	m->udp_echo_over_rate = stats_get(&st->udp_echo_limited);
	m->replies_dropped_bytes = stats_get(&st->unsent);
	/* The endpoint stops before the log closes (server_close). */
	log_counters(srv->log, &lc);
	m->log_lines = lc.lines;
	m->log_bytes = lc.bytes;
	m->log_lost_lines = lc.lost_lines;
	m->log_lost_bytes = lc.lost_bytes;
	m->log_write = lc.write;
	m->budget_used = membudget_used(&srv->budget);
	m->budget_peak = membudget_peak(&srv->budget);
	m->budget_limit = srv->budget.limit;
	m->outbox_bytes =
		atomic_load_explicit(&st->outbox_bytes, memory_order_relaxed);
	m->chat_members = srv->chat != NULL ? chat_members(srv->chat) : 0;
	m->threads = metrics_threads();
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

/* What an upgrading old process handed over (upgrade.h): its ready
 * pipe, and its locked pid file, which is ours with --pid-file. */
static void take_handoff(struct server *srv)
{
	struct upgrade_handoff h;

	upgrade_take(&h);
	srv->upgrade_ready_fd = h.ready_fd;
	srv->upgraded = h.ready_fd >= 0;
	if (h.pid_fd >= 0 && srv->cfg.pid_file != NULL)
		srv->pid_fd = h.pid_fd;
	else if (h.pid_fd >= 0)
		close(h.pid_fd);
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
	srv->notify.fd = -1;
	srv->pid_fd = -1;
	srv->upgrade_ready_fd = -1;
	stats_init(&srv->stats);
	rc = pthread_mutex_init(&srv->shed_lock, NULL);
	if (rc == 0)
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
	/* Both before any thread exists: they unset what they read from
	 * the environment (NOTIFY_SOCKET, LISTEN_FDS...). */
	if (notify_open(&srv->notify, srv->cfg.prog, err, errlen) == -1)
		goto error;
	take_handoff(srv);
	/* Before the port: a second server given the same file stops
	 * here, without taking anything from the first. */
	if (cfg->pid_file != NULL && srv->pid_fd < 0 &&
	    (srv->pid_fd = pidfile_open(cfg->pid_file, err, errlen)) == -1)
		goto error;
	if (open_log(srv, err, errlen) == -1 ||
	    open_listeners(srv, err, errlen) == -1)
		goto error;
	if (cfg->metrics != NULL &&
	    (srv->metrics = metrics_open(&srv->cfg.metrics_addr, fill_metrics,
					 srv, err, errlen)) == NULL)
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
	/* Before the first line, and before any thread: every writer reads
	 * it (logline.h). */
	logline_set_format(cfg->log_format);
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
	/* After the start line: the link logs from its own threads. */
	if (cfg->broker != NULL &&
	    (srv->broker = broker_start(cfg->broker, srv->chat, srv->log,
					&srv->budget, (size_t)cfg->max_line,
					err, errlen)) == NULL)
		goto error;
	return 0;
error:
	/* An upgrade's pid file is still the old process's: not removed. */
	if (srv->upgrade_ready_fd >= 0)
		close_if_open(&srv->pid_fd);
	close_if_open(&srv->upgrade_ready_fd); /* the old sees it failed */
	pidfile_close(srv->pid_fd, cfg->pid_file);
	notify_close(&srv->notify);
	metrics_close(srv->metrics);
	srv->metrics = NULL;
	broker_stop(srv->broker);
	srv->broker = NULL;
	chat_room_free(srv->chat);
	srv->chat = NULL;
	seats_free(&srv->seats);
	close_if_open(&srv->tcp_fd);
	close_if_open(&srv->udp_fd);
	close_if_open(&srv->stop_pipe[0]);
	close_if_open(&srv->stop_pipe[1]);
	close_if_open(&srv->reserve_fd);
	if (srv->log_created)
		unlink_log(srv);
	if (srv->log_fd != STDOUT_FILENO)
		close_if_open(&srv->log_fd);
	return -1;
}

int server_listen_again(struct server *srv, char *err, size_t errlen)
{
	int fd = net_tcp_listen_shared(&srv->addr, srv->cfg.backlog, err,
				       errlen);

	if (fd >= 0 && net_set_nonblock(fd, true) == -1) {
		net_error(err, errlen, "cannot make listener non-blocking: %s",
			  strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Wakes whoever polls the stop pipe; async-signal-safe.  A full pipe
 * holds a wake-up already, so a failed write loses nothing (and glibc's
 * fortified write() must not be ignored with a bare cast). */
static void poke_stop_pipe(int fd)
{
	ssize_t n = write(fd, "x", 1);

	(void)n;
}

/* Logs "signal SIGNAME action=A"; the caller holds log_guard.  Never
 * waits for the log (the line is counted lost when its buffers are
 * full): the signal thread must be free to take the next signal. */
static void log_signal(struct server *srv, int sig, const char *action)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];

	if (srv->log == NULL)
		return; /* closed: the server is on its way out */
	logline_now(ts);
	(void)log_try_append(srv->log, line,
			     logline_signal(line, sizeof(line), ts,
					    signals_name(sig), action));
}

/* From the drain deadline and SERVER_LOG_GRACE_MS on, the log waits no
 * more for a destination that takes nothing (log_give_up_at): the
 * caller holds log_guard, or is the main thread before the close. */
static void log_give_up(struct server *srv)
{
	if (srv->log != NULL)
		log_give_up_at(srv->log, atomic_load(&srv->drain_deadline_ms) +
						 SERVER_LOG_GRACE_MS);
}

/* Signal callbacks (signals.h), on the signal thread.  log_guard keeps
 * srv->log from being closed under them. */
static long long on_stop(void *ctx, int sig)
{
	struct server *srv = ctx;

	notify_stopping(&srv->notify);
	pthread_mutex_lock(&srv->log_guard);
	log_signal(srv, sig, "stop");
	server_stop(srv);
	log_give_up(srv);
	pthread_mutex_unlock(&srv->log_guard);
	return atomic_load(&srv->drain_deadline_ms) + SERVER_LOG_GRACE_MS +
	       SERVER_STOP_BACKSTOP_MS;
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

	/* A reload, to systemd: the reopen is all there is to reload.
	 * Answered even on standard output, where there is nothing to
	 * reopen: a manager waiting for READY=1 is not kept waiting. */
	notify_reloading(&srv->notify);
	pthread_mutex_lock(&srv->log_guard);
	/* Logging to standard output there is no file to reopen. */
	log_signal(srv, sig, srv->cfg.log_path != NULL ? "reopen" : "ignored");
	if (srv->log != NULL && srv->cfg.log_path != NULL)
		log_reopen(srv->log, srv->cfg.log_path);
	pthread_mutex_unlock(&srv->log_guard);
	if (srv->model != NULL && srv->model->reopen != NULL)
		srv->model->reopen(srv);
	/* Lines appended from here on go to the new file (log.h). */
	notify_ready(&srv->notify, NULL);
}

/* Logs the upgrade's outcome; the caller holds log_guard. */
static void log_upgrade(struct server *srv, pid_t pid, const char *error)
{
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];

	if (srv->log == NULL)
		return;
	logline_now(ts);
	(void)log_append(srv->log, line,
			 logline_upgrade(line, sizeof(line), ts,
					 (uint64_t)(pid > 0 ? pid : 0), error));
}

/* The new process listens: it is the service from now on.  systemd
 * follows MAINPID= (sent by the main process, before it exits) and
 * hears nothing more from this one (no STOPPING=1: the service goes
 * on); the pid file names the new process, which holds its lock
 * already and removes it at its stop. */
static void hand_over(struct server *srv, pid_t pid)
{
	char state[NOTIFY_STATUS_MAX];

	snprintf(state, sizeof(state),
		 "MAINPID=%ld\nSTATUS=upgraded to pid %ld", (long)pid,
		 (long)pid);
	notify_hand_over(&srv->notify, state);
	if (srv->pid_fd >= 0) {
		if (pidfile_write(srv->pid_fd, (long)pid) == -1)
			fprintf(stderr,
				"%s: upgrade: cannot write pid file '%s': %s\n",
				srv->cfg.prog, srv->cfg.pid_file,
				strerror(errno));
		close_if_open(&srv->pid_fd);
	}
}

static void on_upgrade(void *ctx, int sig)
{
	struct server *srv = ctx;
	const struct upgrade_fds fds = {srv->tcp_fd, srv->udp_fd, srv->pid_fd};
	char err[NET_ERR_MAX];
	pid_t pid, child;

	pthread_mutex_lock(&srv->log_guard);
	if (atomic_load(&srv->drain_deadline_ms) != 0) {
		log_signal(srv, sig, "ignored"); /* stopping already */
		pthread_mutex_unlock(&srv->log_guard);
		return;
	}
	log_signal(srv, sig, "upgrade");
	pthread_mutex_unlock(&srv->log_guard);
	/* Not under log_guard: the wait is up to UPGRADE_READY_MS. */
	pid = upgrade_start(&fds, &child, err, sizeof(err));
	if (pid > 0)
		hand_over(srv, pid);
	pthread_mutex_lock(&srv->log_guard);
	log_upgrade(srv, pid > 0 ? pid : child, pid > 0 ? NULL : err);
	if (pid > 0) {
		server_stop(srv);
		log_give_up(srv);
	}
	pthread_mutex_unlock(&srv->log_guard);
	if (pid > 0)
		fprintf(stderr, "%s: upgrade: pid %ld listens; stopping\n",
			srv->cfg.prog, (long)pid);
	else
		fprintf(stderr,
			"%s: upgrade failed: new process %ld: %s; serving on\n",
			srv->cfg.prog, (long)child, err);
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
 * memory (whole lines), a word on stderr about what is dropped, exit.
 * sig 0: the stop overran its bound (SERVER_STOP_BACKSTOP_MS): exit 1,
 * as a stop that lost lines does. */
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
		srv->cfg.prog,
		sig != 0 ? signals_name(sig) : "the stop overran its bound",
		(unsigned long long)f.written_lines,
		(unsigned long long)(f.pending_lines - f.written_lines),
		(unsigned long long)(f.pending_bytes - f.written_bytes),
		rc == 0 ? "" : ": ",
		rc == 0 ? "" : (f.err != 0 ? strerror(f.err) : "log busy"),
		active);
	if (f.lost.lines > 0)
		fprintf(stderr, "%s: log: %llu lines lost before: %s\n",
			srv->cfg.prog, (unsigned long long)f.lost.lines,
			log_loss_reason(f.lost.err));
	_exit(sig != 0 ? 128 + sig : 1);
}

int server_catch_signals(struct server *srv)
{
	const struct signals_ops ops = {srv,	  on_stop,   on_repeat,
					on_force, on_reopen, on_upgrade};

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

/* Whether a passed socket on "::" is IPv6 only (BindIPv6Only=). */
static bool passed_v6only(const struct server *srv)
{
	int fd = srv->tcp_fd >= 0 ? srv->tcp_fd : srv->udp_fd, on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, &len) == 0 && on;
}

/* Which IP versions the listeners serve, for the listening line. */
static const char *stacks(const struct server *srv, const struct net_addr *a)
{
	if (net_is_dual_stack(a) && srv->passed && passed_v6only(srv))
		return "; IPv6 only";
	if (net_is_dual_stack(a))
		return "; IPv6 and IPv4";
	if (srv->any_addr)
		return "; IPv4 only: no IPv6 here";
	return "";
}

/* The STATUS= line (notify.h): what `systemctl status` shows, from the
 * counters the summary prints; on the status thread. */
static void format_status(void *ctx, char *buf, size_t len)
{
	const struct server *srv = ctx;
	const struct stats *st = &srv->stats;
	struct stats_tcp tcp = stats_tcp_sum(st);

	snprintf(
		buf, len,
		"clients %ld, connections %llu (%llu refused), messages tcp %llu, udp %llu",
		seats_active(&srv->seats),
		(unsigned long long)stats_get(&st->tcp_conns),
		(unsigned long long)stats_get(&st->tcp_refused),
		(unsigned long long)tcp.msgs,
		(unsigned long long)stats_get(&st->udp_msgs));
}

int server_start_metrics(struct server *srv)
{
	return srv->metrics != NULL ? metrics_start(srv->metrics) : 0;
}

void server_ready(struct server *srv)
{
	char addr[NET_ADDR_MAX], status[NOTIFY_STATUS_MAX];

	server_announce(srv, stderr);
	if (srv->metrics != NULL) {
		struct net_addr at = srv->cfg.metrics_addr;

		net_set_port(&at, metrics_port(srv->metrics));
		fprintf(stderr, "%s: metrics at http://%s/metrics\n",
			srv->cfg.prog,
			net_format((const struct sockaddr *)&at.ss, addr,
				   sizeof(addr)));
		fflush(stderr);
	}
	if (upgrade_announce(&srv->upgrade_ready_fd) == -1) {
		/* The old process gave up waiting and serves on: two
		 * servers would share the port; this one goes. */
		fprintf(stderr,
			"%s: upgrade: the old process no longer waits (%s); stopping\n",
			srv->cfg.prog, strerror(errno));
		/* The pid file stays the old process's: closed, not
		 * removed. */
		close_if_open(&srv->pid_fd);
		server_stop(srv);
		return;
	}
	if (!notify_enabled(&srv->notify))
		return;
	snprintf(status, sizeof(status), "listening on %s (%s)",
		 net_format((const struct sockaddr *)&srv->addr.ss, addr,
			    sizeof(addr)),
		 transports(&srv->cfg));
	/* The status thread first: its first update comes a second later,
	 * after READY=1, and whoever reads READY=1 finds every thread. */
	if (notify_status_start(&srv->notify, format_status, srv) == -1)
		fprintf(stderr, "%s: notify: no STATUS updates: %s\n",
			srv->cfg.prog, strerror(errno));
	notify_ready(&srv->notify, status);
}

void server_announce(const struct server *srv, FILE *out)
{
	char addr[NET_ADDR_MAX];

	fprintf(out, "%s: listening on %s (%s%s%s)\n", srv->cfg.prog,
		net_format((const struct sockaddr *)&srv->addr.ss, addr,
			   sizeof(addr)),
		transports(&srv->cfg), stacks(srv, &srv->addr),
		!srv->passed	? ""
		: srv->upgraded ? "; sockets handed over by an upgrade"
				: "; sockets passed by systemd");
	if (srv->passed && srv->cfg.port != 0 && srv->cfg.port != srv->port)
		fprintf(out,
			"%s: PORT %u is not used: the socket unit says the port\n",
			srv->cfg.prog, srv->cfg.port);
	fflush(out);
}

/* The next connection number, from 1; any accepting thread. */
static uint64_t next_id(struct server *srv)
{
	return atomic_fetch_add_explicit(&srv->next_id, 1,
					 memory_order_relaxed) +
	       1;
}

/* Closes a refused client: its FIN follows the refusal line at once. */
static void close_refused(int fd)
{
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

	conn_refuse(&srv->env, fd, who, who_len, line, reason);
	close_refused(fd);
}

void server_refuse(struct server *srv, struct conn *c, const char *line,
		   const char *reason)
{
	conn_refuse(&srv->env, c->fd, c->who, c->who_len, line, reason);
	close_refused(c->fd);
	c->fd = -1;
	conn_free(c); /* gives its seat back, if it had one */
}

/*
 * Out of descriptors (EMFILE/ENFILE): the pending client would make
 * poll(2) report the listener readable forever.  Free the reserve
 * descriptor, accept the client, refuse it, take the reserve back; when
 * even that fails, wait a little.  Logged once per shortage.
 */
static void shed_client(struct server *srv, int listen_fd, int err)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char ts[LOGFMT_TS_LEN], line[LOGLINE_EVENT_MAX];
	int fd = -1;

	pthread_mutex_lock(&srv->shed_lock);
	if (!atomic_exchange(&srv->fd_shortage, true)) {
		logline_now(ts);
		(void)log_append(srv->log, line,
				 logline_accept_failed(line, sizeof(line), ts,
						       strerror(err)));
	}
	if (srv->reserve_fd >= 0) {
		close(srv->reserve_fd);
		fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
		if (fd >= 0)
			refuse_fd(srv, fd, &peer, next_id(srv), PROTO_FULL_LINE,
				  "no-descriptors");
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	pthread_mutex_unlock(&srv->shed_lock);
	if (fd < 0)
		(void)poll(NULL, 0, SHORTAGE_BACKOFF_MS);
}

/* The shortage is over: its reserve descriptor is taken back. */
static void shortage_over(struct server *srv)
{
	if (!atomic_load_explicit(&srv->fd_shortage, memory_order_relaxed))
		return;
	pthread_mutex_lock(&srv->shed_lock);
	atomic_store(&srv->fd_shortage, false);
	if (srv->reserve_fd < 0)
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&srv->shed_lock);
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

/* What server_accept_one and server_take_accepted do with a client
 * accepted from listen_fd: fd, peer. */
static enum server_take take_client(struct server *srv, int fd,
				    const struct sockaddr_storage *peer_in,
				    struct conn **out)
{
	struct sockaddr_storage peer = *peer_in;
	struct conn *c;
	uint64_t id;

	shortage_over(srv);
	id = next_id(srv);
	if (!proxy_trusted(&srv->cfg, &peer)) {
		/* A PROXY header from anyone else would let them log as
		 * whoever they like: not read at all. */
		refuse_fd(srv, fd, &peer, id, NULL, "proxy-untrusted");
		return SERVER_NEXT;
	}
	c = conn_new(&srv->env, fd, id, (struct sockaddr *)&peer);
	if (c == NULL) {
		refuse_fd(srv, fd, &peer, id, PROTO_BUSY_LINE, "no-memory");
		return SERVER_NEXT;
	}
	/* With PROXY headers the address is counted once the session has
	 * read its header (conn.h). */
	switch (seats_take(&srv->seats,
			   srv->cfg.proxy_protocol ? NULL
						   : (struct sockaddr *)&peer,
			   &c->seat)) {
	case SEATS_TAKEN:
		/* Not even one more session's buffers fit: a crowd holds
		 * them (and each of its clients times out in the end). */
		if (membudget_fits(&srv->budget,
				   conn_session_cost(&srv->cfg))) {
			*out = c;
			return SERVER_TOOK;
		}
		server_refuse(srv, c, PROTO_BUSY_LINE, "memory-budget");
		break;
	case SEATS_FULL:
		server_refuse(srv, c, PROTO_FULL_LINE, "server-full");
		break;
	case SEATS_IP_FULL:
		server_refuse(srv, c, PROTO_PER_IP_LINE, "per-ip-limit");
		break;
	case SEATS_NO_MEMORY:
		server_refuse(srv, c, PROTO_BUSY_LINE, "no-memory");
		break;
	}
	return SERVER_NEXT;
}

/* accept(2) failed with err: shed a client when descriptors or memory
 * ran out; the queue is empty on EAGAIN. */
static enum server_take accept_failed(struct server *srv, int listen_fd,
				      int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return SERVER_EMPTY;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
		shed_client(srv, listen_fd, err);
	/* ECONNABORTED, EINTR...: the next one. */
	return SERVER_NEXT;
}

enum server_take server_accept_one(struct server *srv, int listen_fd,
				   struct conn **out)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept(listen_fd, (struct sockaddr *)&peer, &len);

	if (fd == -1)
		return accept_failed(srv, listen_fd, errno);
	return take_client(srv, fd, &peer, out);
}

enum server_take server_take_accepted(struct server *srv, int listen_fd, int fd,
				      struct conn **out)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	if (fd < 0)
		return accept_failed(srv, listen_fd, -fd);
	/* A client that reset before it was looked at has no address
	 * left to log: numbered, as accept(2) would have, and gone; behind
	 * a proxy, a health check's way (counted). */
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == -1) {
		(void)next_id(srv);
		if (srv->cfg.proxy_protocol)
			stats_add(&srv->stats.proxy_checks, 1);
		close(fd);
		return SERVER_NEXT;
	}
	return take_client(srv, fd, &peer, out);
}

struct conn *server_accept(struct server *srv)
{
	struct conn *c;

	while (next_client(srv)) {
		switch (server_accept_one(srv, srv->tcp_fd, &c)) {
		case SERVER_TOOK:
			return c;
		case SERVER_EMPTY:
			if (srv->stopping)
				return NULL; /* the queue is empty */
			break;
		case SERVER_NEXT:
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
		.tcp_msgs = stats_tcp_sum(&srv->stats).msgs,
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

	notify_stopping(&srv->notify);
	server_stop(srv);
	log_give_up(srv);
	/* Before the log closes: a scrape reads the logger's counters. */
	metrics_close(srv->metrics);
	srv->metrics = NULL;
	if (srv->udp_running)
		pthread_join(srv->udp_thread, NULL);
	/* Every member has left: what they said goes out, then the link. */
	broker_stop(srv->broker);
	srv->broker = NULL;
	close_if_open(&srv->tcp_fd);
	close_if_open(&srv->udp_fd);
	report_drain(srv, out);
	log_stop(srv);
	/* Held while the log closes: a forced exit meanwhile waits for the
	 * final write (whole lines) instead of cutting it. */
	pthread_mutex_lock(&srv->log_guard);
	if (log_close(srv->log, &loss) == -1) {
		fprintf(out,
			"%s: log: %llu lines lost (%llu bytes), last reason: %s\n",
			srv->cfg.prog, (unsigned long long)loss.lines,
			(unsigned long long)loss.bytes,
			log_loss_reason(loss.err));
		status = 1;
	}
	srv->log = NULL;
	pthread_mutex_unlock(&srv->log_guard);
	signals_stop(&srv->signals);
	notify_close(&srv->notify); /* before the seats it reads go */
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
	pidfile_close(srv->pid_fd, srv->cfg.pid_file);
	srv->pid_fd = -1;
	return status;
}
