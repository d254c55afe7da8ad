/*
 * log.c - the shared logger and per-thread batches; contract in log.h.
 */
#include "log.h"

#include "logline.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct logger {
	int fd;
	int tty;    /* line-buffered: flush after every append */
	size_t cap; /* size of each of the two buffers */
	pthread_t flusher;

	/* lock guards every field below it.  Appenders copy into active;
	 * the flusher swaps active and spare and writes spare unlocked,
	 * which only it touches between the swap and the next lock. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* to the flusher: data, urgency or closing */
	pthread_cond_t room; /* to appenders: active has been emptied */
	char *active, *spare;
	size_t active_len;
	int closing;
	uint64_t failed_writes;
	int last_errno;
};

/* Writes all of buf; EINTR and short writes are retried.  0 or -1. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int urgent_locked(const struct logger *lg)
{
	return lg->tty || lg->closing || lg->active_len >= lg->cap / 2;
}

static void deadline_after_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (ms % 1000) * 1000000L;
	ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static void *flusher_main(void *arg)
{
	struct logger *lg = arg;

	pthread_mutex_lock(&lg->lock);
	while (!(lg->closing && lg->active_len == 0)) {
		struct timespec deadline;
		char *full;
		size_t len;
		int rc;

		if (lg->active_len == 0) {
			pthread_cond_wait(&lg->wake, &lg->lock);
			continue;
		}
		if (!urgent_locked(lg)) {
			/* Let more lines gather, but not for long. */
			deadline_after_ms(&deadline, LOG_FLUSH_MS);
			while (!urgent_locked(lg) &&
			       pthread_cond_timedwait(&lg->wake, &lg->lock,
						      &deadline) == 0)
				;
		}
		full = lg->active;
		len = lg->active_len;
		lg->active = lg->spare;
		lg->active_len = 0;
		pthread_cond_broadcast(&lg->room);
		pthread_mutex_unlock(&lg->lock);

		rc = write_all(lg->fd, full, len);

		pthread_mutex_lock(&lg->lock);
		if (rc == -1) {
			lg->failed_writes++;
			lg->last_errno = errno;
		}
		lg->spare = full;
	}
	pthread_mutex_unlock(&lg->lock);
	return NULL;
}

struct logger *log_open(int fd, size_t max_append)
{
	struct logger *lg = calloc(1, sizeof(*lg));
	int err;

	if (lg == NULL)
		return NULL;
	lg->fd = fd;
	lg->tty = isatty(fd);
	lg->cap = LOG_BUFFER_SIZE;
	if (lg->cap < 2 * max_append)
		lg->cap = 2 * max_append;
	lg->active = malloc(lg->cap);
	lg->spare = malloc(lg->cap);
	if (lg->active == NULL || lg->spare == NULL) {
		err = ENOMEM;
		goto error;
	}
	pthread_mutex_init(&lg->lock, NULL);
	pthread_cond_init(&lg->wake, NULL);
	pthread_cond_init(&lg->room, NULL);
	err = pthread_create(&lg->flusher, NULL, flusher_main, lg);
	if (err != 0) {
		pthread_cond_destroy(&lg->room);
		pthread_cond_destroy(&lg->wake);
		pthread_mutex_destroy(&lg->lock);
		goto error;
	}
	return lg;
error:
	free(lg->active);
	free(lg->spare);
	free(lg);
	errno = err;
	return NULL;
}

static void append_locked(struct logger *lg, const char *data, size_t len)
{
	int was_empty;

	/* The spare buffer is being written: wait for the swap.  Still
	 * appending is allowed while closing, so nothing is lost. */
	while (lg->cap - lg->active_len < len) {
		pthread_cond_signal(&lg->wake);
		pthread_cond_wait(&lg->room, &lg->lock);
	}
	was_empty = lg->active_len == 0;
	memcpy(lg->active + lg->active_len, data, len);
	lg->active_len += len;
	if (was_empty || urgent_locked(lg))
		pthread_cond_signal(&lg->wake);
}

int log_append(struct logger *lg, const char *data, size_t len)
{
	if (len > lg->cap / 2) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len == 0)
		return 0;
	pthread_mutex_lock(&lg->lock);
	append_locked(lg, data, len);
	pthread_mutex_unlock(&lg->lock);
	return 0;
}

int log_close(struct logger *lg, uint64_t *failed_writes)
{
	uint64_t failed;
	int last_errno;

	pthread_mutex_lock(&lg->lock);
	lg->closing = 1;
	pthread_cond_signal(&lg->wake);
	pthread_mutex_unlock(&lg->lock);
	pthread_join(lg->flusher, NULL);

	failed = lg->failed_writes;
	last_errno = lg->last_errno;
	pthread_cond_destroy(&lg->room);
	pthread_cond_destroy(&lg->wake);
	pthread_mutex_destroy(&lg->lock);
	free(lg->active);
	free(lg->spare);
	free(lg);
	if (failed_writes != NULL)
		*failed_writes = failed;
	if (failed > 0) {
		errno = last_errno;
		return -1;
	}
	return 0;
}

int log_batch_init(struct log_batch *b, struct logger *lg, size_t max_text)
{
	memset(b, 0, sizeof(*b));
	b->line_max = logline_msg_max(max_text);
	b->cap = LOG_BATCH_SIZE + b->line_max;
	b->buf = malloc(b->cap);
	if (b->buf == NULL)
		return -1;
	b->lg = lg;
	b->ts_sec = (time_t)-1;
	return 0;
}

void log_batch_free(struct log_batch *b)
{
	if (b->buf == NULL)
		return;
	log_batch_flush(b);
	free(b->buf);
	b->buf = NULL;
}

void log_batch_flush(struct log_batch *b)
{
	/* The batch is sized below the logger's limit: this cannot fail. */
	(void)log_append(b->lg, b->buf, b->len);
	b->len = 0;
}

void log_batch_stamp(struct log_batch *b)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec == b->ts_sec) {
		/* Same second: only the microseconds change. */
		long us = now.tv_nsec / 1000;

		for (int i = 25; i >= 20; i--) {
			b->ts[i] = (char)('0' + us % 10);
			us /= 10;
		}
		return;
	}
	logfmt_timestamp(b->ts, &now);
	b->ts_sec = now.tv_sec;
}

void log_batch_line(struct log_batch *b, const char *line, size_t len)
{
	if (b->cap - b->len < len)
		log_batch_flush(b);
	if (b->cap - b->len < len)
		return; /* longer than a batch: never made by a writer */
	memcpy(b->buf + b->len, line, len);
	b->len += len;
	if (b->len >= LOG_BATCH_SIZE)
		log_batch_flush(b);
}

void log_batch_msg(struct log_batch *b, const char *who, size_t who_len,
		   const char *text, size_t len, size_t full_len)
{
	if (b->cap - b->len < b->line_max)
		log_batch_flush(b);
	b->len += logline_msg(b->buf + b->len, b->line_max, b->ts, who, who_len,
			      text, len, full_len);
	if (b->len >= LOG_BATCH_SIZE)
		log_batch_flush(b);
}
