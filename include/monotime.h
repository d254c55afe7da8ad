/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * monotime.h - the monotonic clock in milliseconds, for deadlines and
 * timeouts: it never jumps when the wall clock is set.  (What the log
 * says is wall-clock time, CLOCK_REALTIME: logline.h.)
 *
 * Pure inline; any thread, async-signal-safe (clock_gettime).
 */
#ifndef MONOTIME_H
#define MONOTIME_H

#include <time.h>

static inline long long monotime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
