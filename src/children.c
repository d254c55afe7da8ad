/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * children.c - a process per client; the contract is in children.h.
 */
#define _GNU_SOURCE /* pipe2, MAP_ANONYMOUS */
#include "children.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logline.h"
#include "monotime.h"
#include "net.h"
#include "proto.h"
#include "seats.h"
#include "server.h"

/* Past the drain deadline and the log's grace, a child that still runs
 * (a write(2) stuck on a hung disk) gets this long before SIGKILL: the
 * signal thread's backstop (SERVER_STOP_BACKSTOP_MS) is well beyond. */
#define CHILDREN_KILL_MARGIN_MS 1000

static void close_if_open(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- the child ---- */

/* The child's own logger, and what guards it against its signal
 * thread while it closes (NULL after). */
static struct logger *child_log;
static pthread_mutex_t child_log_guard = PTHREAD_MUTEX_INITIALIZER;
static const struct children *child_of;

/* The stop's deadline for the child's log: the parent's drain deadline
 * plus the log's grace, or one from now if the parent set none. */
static long long child_give_up_ms(const struct children *k)
{
	long long deadline = atomic_load(&k->shared->drain_deadline_ms);

	if (deadline == 0)
		deadline = monotime_ms() + k->srv->cfg.drain_timeout_ms;
	return deadline + SERVER_LOG_GRACE_MS;
}

/* The child's signal thread: the signals stay blocked as the parent
 * left them (signals.h), and are taken here one at a time.  It ends
 * with the process. */
static void *child_signals(void *arg)
{
	const char *path = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		pthread_mutex_lock(&child_log_guard);
		if (child_log != NULL && sig == SIGHUP && path != NULL)
			log_reopen(child_log, path);
		else if (child_log != NULL && sig == SIGTERM)
			log_give_up_at(child_log, child_give_up_ms(child_of));
		pthread_mutex_unlock(&child_log_guard);
	}
	return NULL;
}

/* Drops what the child inherited and must not use: the listeners, the
 * parent's stop pipe (its stop reaches the child through the
 * children's), the other end of the children's, the reserve. */
static void child_close_inherited(struct children *k)
{
	struct server *srv = k->srv;

	close_if_open(&srv->tcp_fd);
	close_if_open(&srv->udp_fd);
	close_if_open(&srv->reserve_fd);
	close_if_open(&srv->stop_pipe[0]);
	close_if_open(&srv->stop_pipe[1]);
	close_if_open(&k->stop_pipe[1]);
}

/* The child: one session, its own logger, then _exit (never a return
 * into the parent's code: no summary, no pid file removed, no atexit).
 * Exit status 0, or 1 when log lines were lost. */
static _Noreturn void child_main(struct children *k, struct conn *c)
{
	struct server *srv = k->srv;
	struct conn_env *env = &srv->env; /* the child's own copy */
	static struct seats seats;	  /* --proxy-protocol's address */
	pthread_t thread;
	int status;

	child_of = k;
	child_close_inherited(k);
	c->seat = (struct seat){0}; /* the parent gives it back */
	child_log = log_open(
		srv->log_fd,
		LOG_BATCH_SIZE + logline_msg_max((size_t)srv->cfg.max_line));
	if (child_log == NULL || seats_init(&seats, 1, 0, false) == -1) {
		(void)send(c->fd, PROTO_BUSY_LINE, strlen(PROTO_BUSY_LINE),
			   MSG_NOSIGNAL | MSG_DONTWAIT);
		_exit(1);
	}
	env->log = child_log;
	env->stop_fd = k->stop_pipe[0];
	env->drain_deadline_ms = &k->shared->drain_deadline_ms;
	env->stats = &k->shared->stats;
	env->budget = &k->shared->budget;
	env->seats = &seats;
	/* Without it a HUP or TERM waits until the exit: harmless. */
	(void)pthread_create(&thread, NULL, child_signals,
			     (void *)srv->cfg.log_path);
	conn_serve(c);
	conn_free(c);
	if (atomic_load(&k->shared->drain_deadline_ms) != 0)
		log_give_up_at(child_log, child_give_up_ms(k));
	pthread_mutex_lock(&child_log_guard);
	status = log_close(child_log, NULL) == 0 ? 0 : 1;
	child_log = NULL;
	pthread_mutex_unlock(&child_log_guard);
	_exit(status);
}

/* ---- the parent ---- */

/* Takes pid off the list: its child, or NULL (not ours). */
static struct child *take_child(struct children *k, pid_t pid)
{
	struct child *ch;

	LIST_FOREACH(ch, &k->list, link)
	if (ch->pid == pid) {
		LIST_REMOVE(ch, link);
		k->live--;
		pthread_cond_broadcast(&k->changed);
		return ch;
	}
	return NULL;
}

/* Gives back the seats of every listed child, ended unseen. */
static void forget_all(struct children *k)
{
	struct child *ch;

	for (;;) {
		pthread_mutex_lock(&k->lock);
		ch = LIST_FIRST(&k->list);
		if (ch != NULL)
			(void)take_child(k, ch->pid);
		pthread_mutex_unlock(&k->lock);
		if (ch == NULL)
			return;
		conn_free(ch->conn);
		free(ch);
	}
}

/* Waits for children as they end and gives their seats back; sleeps
 * while there are none. */
static void *reaper_main(void *arg)
{
	struct children *k = arg;
	struct child *ch;
	int status;
	pid_t pid;

	for (;;) {
		pthread_mutex_lock(&k->lock);
		while (k->live == 0 && !k->closing)
			pthread_cond_wait(&k->changed, &k->lock);
		if (k->live == 0) {
			pthread_mutex_unlock(&k->lock);
			return NULL;
		}
		pthread_mutex_unlock(&k->lock);
		pid = waitpid(-1, &status, 0);
		if (pid == -1 && errno == ECHILD) {
			/* None left (an upgrade's waitpid took them): the
			 * listed ones are gone too. */
			forget_all(k);
			continue;
		}
		if (pid == -1)
			continue; /* EINTR */
		pthread_mutex_lock(&k->lock);
		ch = take_child(k, pid);
		pthread_mutex_unlock(&k->lock);
		if (ch == NULL)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			atomic_fetch_add(&k->failed, 1);
		conn_free(ch->conn); /* gives its seat back */
		free(ch);
	}
}

int children_init(struct children *k, struct server *srv)
{
	int err;

	memset(k, 0, sizeof(*k));
	k->srv = srv;
	k->stop_pipe[0] = k->stop_pipe[1] = -1;
	LIST_INIT(&k->list);
	k->shared = mmap(NULL, sizeof(*k->shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (k->shared == MAP_FAILED)
		return -1;
	stats_init(&k->shared->stats);
	membudget_init(&k->shared->budget, srv->budget.limit);
	if (pipe2(k->stop_pipe, O_CLOEXEC) == -1)
		goto fail;
	err = pthread_mutex_init(&k->lock, NULL);
	if (err == 0 && (err = monotime_cond_init(&k->changed)) != 0)
		pthread_mutex_destroy(&k->lock);
	if (err == 0 &&
	    (err = pthread_create(&k->reaper, NULL, reaper_main, k)) != 0) {
		pthread_cond_destroy(&k->changed);
		pthread_mutex_destroy(&k->lock);
	}
	if (err == 0) {
		atomic_store(&k->running, true);
		return 0;
	}
	errno = err;
fail:
	err = errno;
	close_if_open(&k->stop_pipe[0]);
	close_if_open(&k->stop_pipe[1]);
	munmap(k->shared, sizeof(*k->shared));
	errno = err;
	return -1;
}

int children_start(struct children *k, struct conn *c)
{
	struct child *ch = malloc(sizeof(*ch));
	pid_t pid;

	if (ch == NULL)
		return -1;
	pthread_mutex_lock(&k->lock);
	pid = fork();
	if (pid == 0)
		child_main(k, c);
	if (pid == -1) {
		int err = errno;

		pthread_mutex_unlock(&k->lock);
		free(ch);
		errno = err;
		return -1;
	}
	close(c->fd); /* the child's now */
	c->fd = -1;
	ch->pid = pid;
	ch->conn = c;
	LIST_INSERT_HEAD(&k->list, ch, link);
	k->live++;
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* Sends sig to every live child; the caller holds the lock. */
static void signal_all(struct children *k, int sig)
{
	struct child *ch;

	LIST_FOREACH(ch, &k->list, link)
	(void)kill(ch->pid, sig);
}

void children_tell_stop(struct children *k)
{
	if (k->told)
		return;
	k->told = true;
	/* The deadline first: a busy session looks at it, not the pipe. */
	atomic_store(&k->shared->drain_deadline_ms,
		     atomic_load(&k->srv->drain_deadline_ms));
	close_if_open(&k->stop_pipe[1]); /* readable (EOF) for all */
	pthread_mutex_lock(&k->lock);
	signal_all(k, SIGTERM);
	pthread_mutex_unlock(&k->lock);
}

void children_reopen(struct children *k)
{
	if (!atomic_load(&k->running))
		return;
	pthread_mutex_lock(&k->lock);
	signal_all(k, SIGHUP);
	pthread_mutex_unlock(&k->lock);
}

/* Waits until no child is live or bound_ms (monotime) passes. */
static void wait_live_zero(struct children *k, long long bound_ms)
{
	struct timespec until = {.tv_sec = (time_t)(bound_ms / 1000),
				 .tv_nsec = (long)(bound_ms % 1000) * 1000000};

	while (k->live > 0 && monotime_ms() < bound_ms)
		(void)pthread_cond_timedwait(&k->changed, &k->lock, &until);
}

void children_join_all(struct children *k)
{
	long long bound = atomic_load(&k->shared->drain_deadline_ms) +
			  SERVER_LOG_GRACE_MS + CHILDREN_KILL_MARGIN_MS;

	pthread_mutex_lock(&k->lock);
	wait_live_zero(k, bound);
	if (k->live > 0) {
		k->killed = k->live;
		signal_all(k, SIGKILL);
	}
	k->closing = true;
	pthread_cond_broadcast(&k->changed);
	while (k->live > 0)
		pthread_cond_wait(&k->changed, &k->lock);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->reaper, NULL);
	atomic_store(&k->running, false);
	stats_merge(&k->srv->stats, &k->shared->stats);
	if (k->killed > 0 || atomic_load(&k->failed) > 0)
		fprintf(stderr,
			"%s: %lu children killed at the stop's bound, %lu "
			"exited with log lines lost: what they held is not "
			"in the log\n",
			k->srv->cfg.prog, k->killed, atomic_load(&k->failed));
	pthread_cond_destroy(&k->changed);
	pthread_mutex_destroy(&k->lock);
	close_if_open(&k->stop_pipe[0]);
	munmap(k->shared, sizeof(*k->shared));
}
