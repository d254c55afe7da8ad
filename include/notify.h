/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify.h - telling the service manager how the server is doing: the
 * sd_notify(3) protocol, spoken directly.
 *
 * systemd (Type=notify) names an AF_UNIX datagram socket in
 * $NOTIFY_SOCKET ("/run/systemd/notify", or "@name" for an abstract
 * one); each state change is one datagram of "KEY=VALUE" lines:
 *
 *   READY=1          the server serves (both sockets listen)
 *   STATUS=TEXT      one line for `systemctl status`: live counters
 *   RELOADING=1      a SIGHUP: the log is being reopened; sent with
 *   MONOTONIC_USEC=N the CLOCK_MONOTONIC time in microseconds, which
 *                    systemd 253's Type=notify-reload needs to match it
 *                    to the reload it asked for; READY=1 follows
 *   STOPPING=1       the graceful stop began (sent once)
 *
 * That is a sendto(2) of a few bytes: libsystemd's sd_notify() would do
 * the same with a library to link and package for it.
 *
 * Without NOTIFY_SOCKET every call here does nothing: no socket, no
 * thread.  A send never blocks (MSG_DONTWAIT): a manager that does not
 * read loses a state change rather than holding up a server thread; the
 * first failed send is reported on standard error, later ones are not.
 *
 * Threads: notify_open and notify_close from the main thread, with no
 * other thread of this notifier running (notify_open also unsets
 * NOTIFY_SOCKET, before any thread exists); the rest from any thread.
 * Failure: notify_open returns -1 with a one-line reason in err when
 * NOTIFY_SOCKET names no socket it can send to; the rest cannot fail.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* How often the status thread looks at the counters (it sends STATUS
 * only when the text changed): live enough for `systemctl status`,
 * rare enough to cost nothing. */
#define NOTIFY_STATUS_MS 1000
/* Room for one STATUS line: a few counters in words. */
#define NOTIFY_STATUS_MAX 256

/* Writes the status line (without "STATUS=") into buf[0..len). */
typedef void (*notify_status_fn)(void *ctx, char *buf, size_t len);

struct notifier {
	int fd; /* -1: no NOTIFY_SOCKET, everything is a no-op */
	struct sockaddr_un addr;
	socklen_t addr_len;
	const char *prog;     /* for the one error message */
	atomic_bool failed;   /* a send failed (reported once) */
	atomic_bool stopping; /* STOPPING=1 was sent */
	atomic_bool silent;   /* handed over (notify_hand_over): no more */
	/* The status thread: */
	notify_status_fn status;
	void *status_ctx;
	pthread_t thread;
	/* Set by the main thread once the thread runs; read by whichever
	 * thread closes n (the signal thread's upgrade, or the main
	 * thread's stop): atomic, so that what it publishes is seen. */
	atomic_bool running;
	pthread_mutex_t lock; /* guards quit */
	pthread_cond_t wake;  /* signalled when quit is set */
	bool quit;
};

/* Reads $NOTIFY_SOCKET (and unsets it: nothing the server starts is
 * the service).  Not set or empty: n is off.  0, or -1 with err. */
int notify_open(struct notifier *n, const char *prog, char *err, size_t errlen);

/* Whether a service manager listens. */
bool notify_enabled(const struct notifier *n);

/* Sends one datagram with state (lines "KEY=VALUE", '\n' between). */
void notify_send(struct notifier *n, const char *state);

/* READY=1, with the first STATUS= line when status is not NULL. */
void notify_ready(struct notifier *n, const char *status);

/* RELOADING=1 and MONOTONIC_USEC=now. */
void notify_reloading(struct notifier *n);

/* STOPPING=1, the first time only. */
void notify_stopping(struct notifier *n);

/* Starts the thread that sends STATUS= from fn every NOTIFY_STATUS_MS
 * when it changed (nothing when n is off).  0, or -1 with errno. */
int notify_status_start(struct notifier *n, notify_status_fn fn, void *ctx);

/* An upgrade: sends state (MAINPID=...), then nothing more from this
 * process, and stops the status thread.  Any thread; the descriptor
 * stays open until notify_close, on the thread that closes the server,
 * so that no send races its close. */
void notify_hand_over(struct notifier *n, const char *state);

/* Stops the status thread, closes the socket. */
void notify_close(struct notifier *n);

#endif
