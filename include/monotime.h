/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * monotime.h - the monotonic clock in milliseconds, for deadlines and
 * timeouts: it never jumps when the wall clock is set.  (What the log
 * says is wall-clock time, CLOCK_REALTIME: logline.h.)
 *
 * Pure inline; any thread.  monotime_ms is async-signal-safe
 * (clock_gettime); monotime_cond_init is not (it initialises a
 * condition variable).
 */
#ifndef MONOTIME_H
#define MONOTIME_H

#include <pthread.h>
#include <time.h>

static inline long long monotime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Initialises *cond so that its timed waits (pthread_cond_timedwait)
 * read CLOCK_MONOTONIC, the clock of monotime_ms: a deadline never moves
 * when the wall clock is set.  0 or an error number, as
 * pthread_cond_init. */
static inline int monotime_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int err = pthread_condattr_init(&attr);

	if (err != 0)
		return err;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (err == 0)
		err = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}

#endif
