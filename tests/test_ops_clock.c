/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_ops_clock.c - the logger's timed waits run on CLOCK_MONOTONIC.
 *
 * A wall clock set back an hour must not keep lines in memory for an
 * hour.  Setting the machine's clock in a test would disturb everything
 * else running, so this suite is linked with -Wl,--wrap for
 * pthread_cond_init and pthread_cond_timedwait (Makefile, WRAP_): it
 * records the clock each condition variable was made with, and checks
 * every timed wait the logger makes against it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

int __real_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a);
int __wrap_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a);
int __real_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				  const struct timespec *abstime);
int __wrap_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				  const struct timespec *abstime);

#define TRACKED 16

/* Written under seen_lock: by the test thread and the flusher. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pthread_cond_t *cond;
	clockid_t clock;
} conds[TRACKED];
static int nconds;
static int timed_waits, bad_waits;
static char bad_why[160];

int __wrap_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	clockid_t clock = CLOCK_REALTIME; /* POSIX's default */

	if (a != NULL)
		pthread_condattr_getclock(a, &clock);
	pthread_mutex_lock(&seen_lock);
	if (nconds < TRACKED) {
		conds[nconds].cond = c;
		conds[nconds].clock = clock;
		nconds++;
	}
	pthread_mutex_unlock(&seen_lock);
	return __real_pthread_cond_init(c, a);
}

static long long ms_of(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

/* A timed wait is right when its condition variable runs on the
 * monotonic clock and the deadline is near that clock's now. */
int __wrap_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				  const struct timespec *abstime)
{
	clockid_t clock = (clockid_t)-1;
	struct timespec mono;
	long long ahead;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	ahead = ms_of(abstime) - ms_of(&mono);
	pthread_mutex_lock(&seen_lock);
	for (int i = 0; i < nconds; i++)
		if (conds[i].cond == c)
			clock = conds[i].clock;
	timed_waits++;
	if (clock != CLOCK_MONOTONIC || ahead < -1000 || ahead > 60000) {
		bad_waits++;
		snprintf(bad_why, sizeof(bad_why),
			 "clock %d, deadline %lld ms from monotonic now",
			 (int)clock, ahead);
	}
	pthread_mutex_unlock(&seen_lock);
	return __real_pthread_cond_timedwait(c, m, abstime);
}

/* A file logger gets a line; not a terminal, so the flusher waits on
 * its timer (LOG_FLUSH_MS) before writing it. */
static void test_flush_timer_is_monotonic(void **state)
{
	const char *path = h_path("clock.log");
	struct logger *lg;
	int fd, waits;

	(void)state;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	lg = log_open(fd, 4096);
	assert_non_null(lg);
	assert_int_equal(log_append(lg, "a line\n", 7), 0);
	assert_int_equal(h_wait_size(path, 7, 10000), 0);
	assert_int_equal(log_close(lg, NULL), 0);
	close(fd);

	pthread_mutex_lock(&seen_lock);
	waits = timed_waits;
	pthread_mutex_unlock(&seen_lock);
	/* The timer was used: this test cannot pass by not looking. */
	assert_true(waits >= 1);
	if (bad_waits > 0)
		fail_msg("%d of %d timed waits not on CLOCK_MONOTONIC: %s",
			 bad_waits, waits, bad_why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_timer_is_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
