/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify.c - the sd_notify(3) protocol; the contract is in notify.h.
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "net.h"

/* Room for one datagram: the longest is READY=1 with a status line. */
#define NOTIFY_MSG_MAX (NOTIFY_STATUS_MAX + 64)

int notify_open(struct notifier *n, const char *prog, char *err, size_t errlen)
{
	const char *name = getenv("NOTIFY_SOCKET");
	size_t len;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->prog = prog;
	if (name == NULL || name[0] == '\0')
		return 0;
	len = strlen(name);
	/* An absolute path, or '@' for a name in the abstract namespace
	 * (a leading NUL on the wire).  systemd 254's "vsock:" addresses
	 * are for virtual machines, not for this. */
	if (name[0] != '/' && name[0] != '@') {
		errno = EINVAL;
		return net_error(
			err, errlen,
			"NOTIFY_SOCKET '%s' is not an absolute path or an @abstract name",
			name);
	}
	if (len > sizeof(n->addr.sun_path) - (name[0] == '/')) {
		errno = ENAMETOOLONG;
		return net_error(
			err, errlen,
			"NOTIFY_SOCKET '%s' is too long (at most %zu bytes)",
			name, sizeof(n->addr.sun_path) - 1);
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, name, len);
	if (name[0] == '@')
		n->addr.sun_path[0] = '\0';
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
				  (name[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd == -1)
		return net_error(err, errlen,
				 "cannot create the NOTIFY_SOCKET socket: %s",
				 strerror(errno));
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

bool notify_enabled(const struct notifier *n)
{
	return n->fd >= 0;
}

void notify_send(struct notifier *n, const char *state)
{
	ssize_t sent;
	int saved = errno;

	if (n->fd < 0 || atomic_load(&n->silent))
		return;
	do
		sent = sendto(n->fd, state, strlen(state),
			      MSG_DONTWAIT | MSG_NOSIGNAL,
			      (const struct sockaddr *)&n->addr, n->addr_len);
	while (sent == -1 && errno == EINTR);
	if (sent == -1 && !atomic_exchange(&n->failed, true))
		fprintf(stderr,
			"%s: notify: cannot send to NOTIFY_SOCKET: %s (later failures are not reported)\n",
			n->prog, strerror(errno));
	errno = saved;
}

void notify_ready(struct notifier *n, const char *status)
{
	char msg[NOTIFY_MSG_MAX];

	if (status == NULL) {
		notify_send(n, "READY=1");
		return;
	}
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify_send(n, msg);
}

void notify_reloading(struct notifier *n)
{
	struct timespec now;
	char msg[NOTIFY_MSG_MAX];

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)now.tv_sec * 1000000ULL +
			 (unsigned long long)now.tv_nsec / 1000ULL);
	notify_send(n, msg);
}

void notify_stopping(struct notifier *n)
{
	if (n->fd >= 0 && !atomic_exchange(&n->stopping, true))
		notify_send(n, "STOPPING=1");
}

/* Waits ms on CLOCK_MONOTONIC or until notify_close: 1 to go on, 0 to
 * quit.  The caller holds n->lock. */
static int pause_or_quit(struct notifier *n, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!n->quit &&
	       pthread_cond_timedwait(&n->wake, &n->lock, &until) == 0)
		;
	return !n->quit;
}

static void *status_main(void *arg)
{
	struct notifier *n = arg;
	char last[NOTIFY_STATUS_MAX] = "", now[NOTIFY_STATUS_MAX];
	char msg[NOTIFY_MSG_MAX];

	pthread_mutex_lock(&n->lock);
	while (pause_or_quit(n, NOTIFY_STATUS_MS)) {
		pthread_mutex_unlock(&n->lock);
		n->status(n->status_ctx, now, sizeof(now));
		if (strcmp(now, last) != 0) {
			snprintf(msg, sizeof(msg), "STATUS=%s", now);
			notify_send(n, msg);
			memcpy(last, now, sizeof(last));
		}
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int notify_status_start(struct notifier *n, notify_status_fn fn, void *ctx)
{
	int err;

	if (n->fd < 0 || atomic_load(&n->running))
		return 0;
	n->status = fn;
	n->status_ctx = ctx;
	n->quit = false;
	err = monotime_cond_init(&n->wake);
	if (err != 0) {
		errno = err;
		return -1;
	}
	err = pthread_mutex_init(&n->lock, NULL);
	if (err == 0) {
		err = pthread_create(&n->thread, NULL, status_main, n);
		if (err != 0)
			pthread_mutex_destroy(&n->lock);
	}
	if (err != 0) {
		pthread_cond_destroy(&n->wake);
		errno = err;
		return -1;
	}
	atomic_store(&n->running, true);
	return 0;
}

/* Stops the status thread, if it runs. */
static void stop_status(struct notifier *n)
{
	if (!atomic_load(&n->running))
		return;
	pthread_mutex_lock(&n->lock);
	n->quit = true;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->lock);
	atomic_store(&n->running, false);
}

void notify_hand_over(struct notifier *n, const char *state)
{
	notify_send(n, state);
	atomic_store(&n->silent, true);
	stop_status(n);
}

void notify_close(struct notifier *n)
{
	stop_status(n);
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
