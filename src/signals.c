/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * signals.c - the signal thread; the contract is in signals.h.
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "monotime.h"

/* Wakes the signal thread to end it: sent to that thread only. */
#define SIG_WAKE SIGUSR1

static void handled_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIG_WAKE);
}

int signals_block(void)
{
	struct sigaction sa;
	sigset_t set;
	int err;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	handled_set(&set);
	err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

const char *signals_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	case SIGUSR2:
		return "SIGUSR2";
	default:
		return "signal";
	}
}

/* The next signal of set; 0 once end_by (monotonic ms, 0: never) has
 * passed first; -1 on EINTR. */
static int next_signal(const sigset_t *set, long long end_by)
{
	long long left = end_by - monotime_ms();
	struct timespec wait;
	int sig;

	if (end_by == 0)
		return sigwaitinfo(set, NULL);
	if (left <= 0)
		return 0;
	wait.tv_sec = (time_t)(left / 1000);
	wait.tv_nsec = (long)(left % 1000) * 1000000L;
	sig = sigtimedwait(set, NULL, &wait);
	return sig == -1 && errno == EAGAIN ? 0 : sig;
}

static void *signal_main(void *arg)
{
	struct signals *s = arg;
	const struct signals_ops *ops = &s->ops;
	long long first_stop = -1; /* when the first TERM/INT came */
	long long end_by = 0;	   /* by when that stop must be over */
	sigset_t set;

	handled_set(&set);
	for (;;) {
		int sig = next_signal(&set, end_by);

		if (sig == -1)
			continue; /* EINTR */
		if (sig == 0)
			ops->force(ops->ctx, 0); /* the stop overran */
		if (sig == SIG_WAKE)
			return NULL;
		if (sig == SIGHUP) {
			ops->reopen(ops->ctx, sig);
		} else if (sig == SIGUSR2) {
			ops->upgrade(ops->ctx, sig);
		} else if (sig != SIGQUIT && first_stop < 0) {
			first_stop = monotime_ms();
			end_by = ops->stop(ops->ctx, sig);
		} else if (sig != SIGQUIT &&
			   monotime_ms() - first_stop < SIGNALS_REPEAT_MS) {
			ops->repeat(ops->ctx, sig);
		} else {
			ops->force(ops->ctx, sig); /* QUIT, or a later one */
		}
	}
}

int signals_start(struct signals *s, const struct signals_ops *ops)
{
	int err;

	s->ops = *ops;
	s->running = 0;
	err = pthread_create(&s->thread, NULL, signal_main, s);
	if (err != 0) {
		errno = err;
		return -1;
	}
	s->running = 1;
	return 0;
}

void signals_stop(struct signals *s)
{
	if (!s->running)
		return;
	pthread_kill(s->thread, SIG_WAKE);
	pthread_join(s->thread, NULL);
	s->running = 0;
}
