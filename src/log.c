/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - the shared logger and per-thread batches; contract in log.h.
 */
#include "log.h"

#include "logline.h"
#include "monotime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A write of the log is cut into pieces of about this much, each ending
 * at a line: a forced exit waits for the piece being written, never for a
 * whole 4 MiB buffer (see log_force). */
#define WRITE_PIECE (256 * (size_t)1024)
/* On anything but a regular file (a pipe, a FIFO, a terminal) a piece
 * is at most PIPE_BUF bytes of whole lines: a pipe takes such a write
 * whole or not at all, so a reader that stops never leaves a line cut
 * in two, even when the logger gives up on it. */
#define STREAM_PIECE ((size_t)PIPE_BUF)
/* Room for the gap and reopen lines the flusher writes itself. */
#define NOTE_MAX      (LOGFMT_TS_LEN + 256 + PATH_NOTE_MAX)
#define PATH_NOTE_MAX 256

/*
 * Where the log file ends as the flusher's last write left it, so that
 * someone else cutting it (logrotate's copytruncate, `: > file`) is
 * seen: O_APPEND puts each write at the end of whatever is there.
 */
struct file_end {
	off_t at;	/* -1: not a regular file, nothing tracked */
	off_t cut_from; /* > 0: a cut from this size, not yet recorded */
	off_t cut_to;	/* ... down to this size */
};

struct logger {
	int fd;	 /* the caller's; log_reopen dup2()s a new file onto it */
	int tty; /* line-buffered: flush after every append */
	/* What log_append may fill of each of the two buffers; each has
	 * LOG_RESERVE more for log_try_append only. */
	size_t cap;
	pthread_t flusher;
	/* Wakes a writer waiting in poll(2) for fd to take more: written
	 * by log_give_up_at and log_force, read (and emptied) by whoever
	 * waits.  Both ends non-blocking. */
	int wake_fd[2];
	/* CLOCK_MONOTONIC ms from which no write waits for fd any more
	 * (0: none yet); log_give_up_at sets it. */
	atomic_llong give_up_ms;

	/* lock guards every field below it.  Appenders copy into active;
	 * the flusher swaps active and spare and writes spare unlocked
	 * (writing set), which only it touches between the swap and the
	 * next lock. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* to the flusher: data, urgency, reopen, end */
	pthread_cond_t room; /* to appenders: active has been emptied */
	pthread_cond_t idle; /* to log_force: the flusher stopped writing */
	char *active, *spare;
	size_t active_len;
	size_t active_lines; /* lines in active (for log_counters) */
	int closing;
	atomic_int forced; /* log_force owns the file now (also read
			    * unlocked, between pieces of a write) */
	int writing;	   /* the flusher is writing spare */
	const char *rest;  /* what a forced stop left of spare */
	size_t rest_len;
	const char *reopen;    /* a path to reopen, or NULL */
	struct log_loss loss;  /* lines that never reached the file */
	struct log_loss gap;   /* of those, not yet recorded in the file */
	uint64_t reopen_fails; /* log_reopen could not open the path */

	/* The flusher's alone (and log_force's, once it has stopped
	 * the flusher): */
	struct file_end end;
	int stream; /* fd is not a regular file: STREAM_PIECE pieces */
	int torn;   /* a write stopped inside a line on a stream: nothing
		     * more goes to fd (it would be glued to that head) */

	/* For log_counters, read by other threads without the lock:
	 * written by the flusher (lines, bytes, write_time), and mirrored
	 * from loss under the lock (lost_*). */
	atomic_uint_fast64_t lines, bytes, lost_lines, lost_bytes;
	struct metrics_hist write_time;
};

static size_t count_lines(const char *buf, size_t len)
{
	size_t n = 0;
	const char *p = buf, *end = buf + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* Where the piece of buf[0..len) to write next ends: at the last line
 * end within max, or the first one after it. */
static size_t piece_len(const char *buf, size_t len, size_t max)
{
	const char *nl;

	if (len <= max)
		return len;
	for (nl = buf + max; nl > buf; nl--)
		if (nl[-1] == '\n')
			return (size_t)(nl - buf);
	nl = memchr(buf + max, '\n', len - max);
	return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

/*
 * A write that stopped part-way (a full disk) may have left the file
 * ending in the middle of a line.  A log holds whole lines only: cut
 * that head of a line off again, and return what stays of
 * buf[0..written).  Possible on a regular file, the only kind that
 * fills up; elsewhere the head stays and written is returned.
 */
static size_t cut_partial_line(int fd, const char *buf, size_t written)
{
	size_t keep = written;
	struct stat st;

	while (keep > 0 && buf[keep - 1] != '\n')
		keep--;
	if (keep == written || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		return written;
	/* O_APPEND: the bytes just written end the file. */
	/* If even this fails the tail stays: nothing else can be done.
	 * The offset follows the cut, so it does not look like someone
	 * else's cut (see track_end). */
	if (st.st_size >= (off_t)(written - keep) &&
	    ftruncate(fd, st.st_size - (off_t)(written - keep)) == 0) {
		(void)lseek(fd, st.st_size - (off_t)(written - keep), SEEK_SET);
		return keep;
	}
	return written;
}

/* 1 once the monotonic clock has reached deadline. */
static int passed(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec &&
		now.tv_nsec >= deadline->tv_nsec);
}

/* When write_lines stops: on stop (looked at unlocked: a hint only;
 * may be NULL), or at deadline_ms (CLOCK_MONOTONIC; 0: none) - and,
 * waiting for a destination that takes nothing, at the logger's
 * give-up time too. */
struct write_limit {
	const atomic_int *stop;
	long long deadline_ms;
};

/* The earlier of two deadlines, 0 meaning none. */
static long long earlier(long long a, long long b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

static void poke(int fd)
{
	ssize_t n = write(fd, "x", 1);

	(void)n; /* a full pipe holds a wake-up already */
}

static void drain_wake(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* A poll(2) timeout for the wait until deadline (0: none). */
static int poll_timeout(long long deadline, long long now)
{
	const long long most = 60000; /* then look again */

	if (deadline == 0)
		return -1;
	return (int)(deadline - now < most ? deadline - now : most);
}

/*
 * Waits until lg->fd (non-blocking) may take more: 0.  -1 with
 * ECANCELED when lim.stop is set, ETIMEDOUT once lim's deadline or the
 * logger's give-up time has come, or poll's errno.  The wake pipe ends
 * a wait early so that either is seen at once.
 */
static int wait_writable(struct logger *lg, struct write_limit lim)
{
	enum { SLOT_FD, SLOT_WAKE, SLOTS };
	struct pollfd pfd[SLOTS] = {
		[SLOT_FD] = {.fd = lg->fd, .events = POLLOUT},
		[SLOT_WAKE] = {.fd = lg->wake_fd[0], .events = POLLIN},
	};

	for (;;) {
		long long until =
			earlier(lim.deadline_ms, atomic_load(&lg->give_up_ms));
		long long now = monotime_ms();
		int n;

		if (lim.stop != NULL && atomic_load(lim.stop)) {
			errno = ECANCELED;
			return -1;
		}
		if (until != 0 && now >= until) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(pfd, SLOTS, poll_timeout(until, now));
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0 && pfd[SLOT_WAKE].revents != 0)
			drain_wake(lg->wake_fd[0]);
		if (n > 0 && pfd[SLOT_FD].revents != 0)
			return 0; /* writable, or an error write will say */
	}
}

/*
 * After a piece of n bytes reached the file: where the file ends now.
 * Had it ended where fe said, the piece began there; if it began short
 * of that, someone cut the file since (between two pieces, or between
 * note_cut's look and the write): the first such cut waits in fe to be
 * recorded.  Two cuts within one buffer keep the first only.
 */
static void track_end(struct file_end *fe, int fd, size_t n)
{
	off_t now;

	if (fe == NULL || fe->at < 0 || (now = lseek(fd, 0, SEEK_CUR)) < 0)
		return;
	if (now - (off_t)n < fe->at && fe->cut_from == 0) {
		fe->cut_from = fe->at;
		fe->cut_to = now - (off_t)n;
	}
	fe->at = now;
}

/*
 * Writes the whole lines buf[0..len) to lg->fd in pieces.  Returns how
 * many bytes reached it; when that is less than len, errno says why
 * (ECANCELED: stopped by lim.stop or lim's deadline between pieces;
 * ETIMEDOUT: the destination took nothing until lim's deadline or the
 * give-up time).  EINTR and short writes are retried, and a
 * non-blocking destination that is full is waited for (wait_writable).
 * On a regular file a write cut short is cut back to a line end;
 * elsewhere what was written may end inside a line (the caller sees it:
 * buf[returned - 1] != '\n').  fe, when not NULL, follows the file's
 * end (track_end).
 */
static size_t write_lines(struct logger *lg, const char *buf, size_t len,
			  struct write_limit lim, struct file_end *fe)
{
	size_t max = lg->stream ? STREAM_PIECE : WRITE_PIECE, done = 0;

	while (done < len) {
		size_t piece = piece_len(buf + done, len - done, max), off = 0;

		if ((lim.stop != NULL && atomic_load(lim.stop)) ||
		    (lim.deadline_ms != 0 &&
		     monotime_ms() >= lim.deadline_ms)) {
			errno = ECANCELED;
			return done;
		}
		while (off < piece) {
			ssize_t n =
				write(lg->fd, buf + done + off, piece - off);
			int err = n == 0 ? EIO : errno;

			if (n > 0) {
				off += (size_t)n;
				continue;
			}
			if (n == -1 && err == EINTR)
				continue;
			if (n == -1 && (err == EAGAIN || err == EWOULDBLOCK)) {
				if (wait_writable(lg, lim) == 0)
					continue;
				err = errno; /* why the wait ended */
			}
			off = cut_partial_line(lg->fd, buf + done, off);
			errno = err;
			return done + off;
		}
		track_end(fe, lg->fd, piece);
		done += piece;
	}
	return done;
}

const char *log_loss_reason(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "the destination took nothing more by the stop's deadline";
	case EAGAIN:
		return "the buffers were full (the destination took nothing)";
	default:
		return strerror(err);
	}
}

/* Counts buf[0..len) as lost (under the lock), for the reason err. */
static void lose_locked(struct logger *lg, const char *buf, size_t len, int err)
{
	size_t lines = count_lines(buf, len);

	lg->loss.lines += lines;
	lg->loss.bytes += len;
	lg->loss.err = err;
	atomic_store_explicit(&lg->lost_lines, lg->loss.lines,
			      memory_order_relaxed);
	atomic_store_explicit(&lg->lost_bytes, lg->loss.bytes,
			      memory_order_relaxed);
	lg->gap.lines += lines;
	lg->gap.bytes += len;
	lg->gap.err = err;
}

/*
 * The flusher's write of one buffer, unlocked.  After lines were lost,
 * the first line that reaches the file again records the gap: a full
 * disk leaves a hole that says what is missing, never a cut line.  What
 * cannot be written is dropped (and counted): memory stays bounded and
 * clients are never held up by a disk that is full.
 */
/* The size of fd's file, or -1 when it is not a regular file. */
static off_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
}

/*
 * Someone else cut the file shorter than the flusher's last write left
 * it: logrotate's copytruncate (or `: > file`).  Lines written between
 * its copy and its truncate are in neither file - logrotate documents
 * that window - and only the copy's size tells how many: they are the
 * bytes from there up to from=N.  The server cannot know that size; it
 * records the cut exactly (from=, to=) so that the loss can be counted,
 * instead of leaving a silent hole.  The line comes first in the file,
 * or right after the first write that met the cut (track_end).
 */
static void note_cut(struct logger *lg)
{
	const struct write_limit until_forced = {&lg->forced, 0};
	struct file_end *fe = &lg->end;
	char ts[LOGFMT_TS_LEN], note[LOGLINE_EVENT_MAX];
	off_t size;
	size_t n;

	if (fe->cut_from == 0 && fe->at >= 0 &&
	    (size = file_size(lg->fd)) >= 0 && size < fe->at) {
		fe->cut_from = fe->at;
		fe->cut_to = size;
		fe->at = size;
	}
	if (fe->cut_from == 0)
		return;
	logline_now(ts);
	n = logline_log_truncated(note, sizeof(note), ts,
				  (uint64_t)fe->cut_from, (uint64_t)fe->cut_to);
	fe->cut_from = 0;
	(void)write_lines(lg, note, n, until_forced, fe);
}

/* The metrics of one buffer write: done bytes of lines from t0 to t1. */
static void count_written(struct logger *lg, size_t done, size_t lines,
			  const struct timespec *t0, const struct timespec *t1)
{
	long long ns = (long long)(t1->tv_sec - t0->tv_sec) * 1000000000LL +
		       (t1->tv_nsec - t0->tv_nsec);

	metrics_hist_observe(&lg->write_time, ns > 0 ? (uint64_t)ns : 0);
	atomic_fetch_add_explicit(&lg->lines, lines, memory_order_relaxed);
	atomic_fetch_add_explicit(&lg->bytes, done, memory_order_relaxed);
}

/* buf[0..len) holds lines lines (counted as they were appended: a scan
 * of every byte written would cost the flusher a memchr per line). */
static void write_out(struct logger *lg, const char *buf, size_t len,
		      size_t lines)
{
	const struct write_limit until_forced = {&lg->forced, 0};
	struct log_loss gap;
	char ts[LOGFMT_TS_LEN], note[LOGLINE_EVENT_MAX];
	size_t done = 0;
	int noted = 1, err = 0;

	if (lg->torn) {
		/* Whatever went to fd now would finish a line cut short
		 * there: all is lost until a reopen. */
		pthread_mutex_lock(&lg->lock);
		lose_locked(lg, buf, len, lg->loss.err);
		pthread_mutex_unlock(&lg->lock);
		return;
	}
	note_cut(lg);
	pthread_mutex_lock(&lg->lock);
	gap = lg->gap;
	pthread_mutex_unlock(&lg->lock);
	if (gap.lines > 0) {
		size_t n;

		logline_now(ts);
		n = logline_log_gap(note, sizeof(note), ts, gap.lines,
				    gap.bytes, log_loss_reason(gap.err));

		done = write_lines(lg, note, n, until_forced, &lg->end);
		err = errno;
		noted = done == n;
		if (!noted && done > 0 && note[done - 1] != '\n')
			lg->torn = 1;
		done = 0;
	}
	if (noted) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		done = write_lines(lg, buf, len, until_forced, &lg->end);
		err = errno;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		count_written(lg, done,
			      done == len ? lines : count_lines(buf, done), &t0,
			      &t1);
		if (done < len && done > 0 && buf[done - 1] != '\n' &&
		    err != ECANCELED)
			lg->torn = 1;
	}
	note_cut(lg);
	pthread_mutex_lock(&lg->lock);
	if (noted) {
		/* The gap is recorded: later losses make a new one. */
		lg->gap.lines -= gap.lines;
		lg->gap.bytes -= gap.bytes;
	}
	if (done < len && err == ECANCELED) {
		/* log_force stopped us between pieces: it writes the rest
		 * before anything newer, so the file stays in order. */
		lg->rest = buf + done;
		lg->rest_len = len - done;
	} else if (done < len) {
		lose_locked(lg, buf + done, len - done, err);
	}
	pthread_mutex_unlock(&lg->lock);
}

/*
 * Reopens path onto lg->fd (rename-style rotation: the old name now
 * belongs to the rotated file).  Everything before the request went to
 * the old file; the new one starts with a line saying so.  If the path
 * cannot be opened the old file stays in use and says why.
 */
static void reopen_file(struct logger *lg, const char *path)
{
	char ts[LOGFMT_TS_LEN], note[LOGLINE_EVENT_MAX];
	int fd = log_open_path(path, NULL);
	int err = fd == -1 ? errno : 0;

	if (fd >= 0 && dup2(fd, lg->fd) == -1)
		err = errno;
	if (fd >= 0)
		close(fd);
	/* A new file: nothing of the old one's end carries over. */
	lg->end = (struct file_end){file_size(lg->fd), 0, 0};
	lg->stream = lg->end.at < 0;
	if (err == 0)
		lg->torn = 0;
	if (err != 0) {
		pthread_mutex_lock(&lg->lock);
		lg->reopen_fails++;
		pthread_mutex_unlock(&lg->lock);
	}
	logline_now(ts);
	write_out(lg, note,
		  logline_log_reopened(note, sizeof(note), ts, path,
				       err != 0 ? strerror(err) : NULL),
		  1);
}

static int urgent_locked(const struct logger *lg)
{
	return lg->tty || lg->closing || lg->reopen != NULL ||
	       lg->active_len >= lg->cap / 2;
}

/* A deadline ms from now on the monotonic clock: timed waits must not
 * stretch or shrink when someone sets the wall clock. */
static void deadline_after_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += (ms % 1000) * 1000000L;
	ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static int done_locked(const struct logger *lg)
{
	return lg->forced ||
	       (lg->closing && lg->active_len == 0 && lg->reopen == NULL);
}

static void *flusher_main(void *arg)
{
	struct logger *lg = arg;

	pthread_mutex_lock(&lg->lock);
	while (!done_locked(lg)) {
		struct timespec deadline;
		const char *reopen;
		char *full;
		size_t len, lines;

		if (lg->active_len == 0 && lg->reopen == NULL) {
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
		if (lg->forced)
			break;
		full = lg->active;
		len = lg->active_len;
		lines = lg->active_lines;
		lg->active_lines = 0;
		reopen = lg->reopen;
		lg->reopen = NULL;
		lg->active = lg->spare;
		lg->active_len = 0;
		lg->writing = 1;
		pthread_cond_broadcast(&lg->room);
		pthread_mutex_unlock(&lg->lock);

		write_out(lg, full, len, lines);
		if (reopen != NULL)
			reopen_file(lg, reopen);

		pthread_mutex_lock(&lg->lock);
		lg->spare = full;
		lg->writing = 0;
		pthread_cond_broadcast(&lg->idle);
	}
	pthread_mutex_unlock(&lg->lock);
	return NULL;
}

int log_open_path(const char *path, int *created)
{
	const int flags =
		O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int fd = open(path, flags | O_CREAT | O_EXCL, 0644);

	if (created != NULL)
		*created = fd >= 0;
	if (fd >= 0 || errno != EEXIST)
		return fd;
	/* There already (or a symbolic link, which O_EXCL does not
	 * follow): open it as it is, created through the link if need be. */
	return open(path, flags | O_CREAT, 0644);
}

/* The wake pipe: both ends non-blocking and close-on-exec.  0 or errno. */
static int wake_pipe(int wake[2])
{
	if (pipe(wake) == -1)
		return errno;
	for (int i = 0; i < 2; i++)
		if (fcntl(wake[i], F_SETFD, FD_CLOEXEC) == -1 ||
		    fcntl(wake[i], F_SETFL, O_NONBLOCK) == -1) {
			int err = errno;

			close(wake[0]);
			close(wake[1]);
			return err;
		}
	return 0;
}

struct logger *log_open(int fd, size_t max_append)
{
	struct logger *lg = calloc(1, sizeof(*lg));
	int err;

	if (lg == NULL)
		return NULL;
	lg->fd = fd;
	lg->tty = isatty(fd);
	lg->end.at = file_size(fd);
	lg->stream = lg->end.at < 0;
	lg->wake_fd[0] = lg->wake_fd[1] = -1;
	atomic_init(&lg->give_up_ms, 0);
	lg->cap = LOG_BUFFER_SIZE;
	if (lg->cap < 2 * max_append)
		lg->cap = 2 * max_append;
	lg->active = malloc(lg->cap + LOG_RESERVE);
	lg->spare = malloc(lg->cap + LOG_RESERVE);
	if (lg->active == NULL || lg->spare == NULL) {
		err = ENOMEM;
		goto error;
	}
	err = wake_pipe(lg->wake_fd);
	if (err != 0)
		goto error;
	err = pthread_mutex_init(&lg->lock, NULL);
	if (err != 0)
		goto error;
	err = pthread_cond_init(&lg->room, NULL);
	if (err != 0)
		goto error_lock;
	err = monotime_cond_init(&lg->wake);
	if (err != 0)
		goto error_room;
	err = monotime_cond_init(&lg->idle);
	if (err != 0)
		goto error_wake;
	err = pthread_create(&lg->flusher, NULL, flusher_main, lg);
	if (err != 0)
		goto error_idle;
	return lg;
error_idle:
	pthread_cond_destroy(&lg->idle);
error_wake:
	pthread_cond_destroy(&lg->wake);
error_room:
	pthread_cond_destroy(&lg->room);
error_lock:
	pthread_mutex_destroy(&lg->lock);
error:
	if (lg->wake_fd[0] >= 0) {
		close(lg->wake_fd[0]);
		close(lg->wake_fd[1]);
	}
	free(lg->active);
	free(lg->spare);
	free(lg);
	errno = err;
	return NULL;
}

/* Whether len more bytes fit in the active buffer filled up to limit
 * (lg->cap for log_append, lg->cap + LOG_RESERVE for log_try_append). */
static bool fits_locked(const struct logger *lg, size_t len, size_t limit)
{
	return lg->active_len <= limit && limit - lg->active_len >= len;
}

static void copy_locked(struct logger *lg, const char *data, size_t len,
			size_t lines)
{
	int was_empty;

	was_empty = lg->active_len == 0;
	memcpy(lg->active + lg->active_len, data, len);
	lg->active_len += len;
	lg->active_lines += lines;
	if (was_empty || urgent_locked(lg))
		pthread_cond_signal(&lg->wake);
}

static void append_locked(struct logger *lg, const char *data, size_t len,
			  size_t lines)
{
	/* The spare buffer is being written: wait for the swap.  Still
	 * appending is allowed while closing, so nothing is lost. */
	while (!fits_locked(lg, len, lg->cap)) {
		pthread_cond_signal(&lg->wake);
		pthread_cond_wait(&lg->room, &lg->lock);
	}
	copy_locked(lg, data, len, lines);
}

/* log_append of data[0..len), which holds lines lines. */
static int append_lines(struct logger *lg, const char *data, size_t len,
			size_t lines)
{
	if (len > lg->cap / 2) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len == 0)
		return 0;
	pthread_mutex_lock(&lg->lock);
	append_locked(lg, data, len, lines);
	pthread_mutex_unlock(&lg->lock);
	return 0;
}

int log_append(struct logger *lg, const char *data, size_t len)
{
	return append_lines(lg, data, len, count_lines(data, len));
}

int log_try_append(struct logger *lg, const char *data, size_t len)
{
	int rc = 0;

	if (len > lg->cap / 2) {
		errno = EMSGSIZE;
		return -1;
	}
	pthread_mutex_lock(&lg->lock);
	if (fits_locked(lg, len, lg->cap + LOG_RESERVE)) {
		copy_locked(lg, data, len, count_lines(data, len));
	} else {
		lose_locked(lg, data, len, EAGAIN);
		pthread_cond_signal(&lg->wake);
		errno = EAGAIN;
		rc = -1;
	}
	pthread_mutex_unlock(&lg->lock);
	return rc;
}

void log_give_up_at(struct logger *lg, long long deadline_ms)
{
	long long was = 0;

	/* The first time set stays: a stop has one deadline. */
	if (atomic_compare_exchange_strong(&lg->give_up_ms, &was,
					   deadline_ms != 0 ? deadline_ms : 1))
		poke(lg->wake_fd[1]);
}

void log_reopen(struct logger *lg, const char *path)
{
	pthread_mutex_lock(&lg->lock);
	lg->reopen = path;
	pthread_cond_signal(&lg->wake);
	pthread_mutex_unlock(&lg->lock);
}

/* Takes lg->lock by the monotonic deadline: 0, or -1 (ETIMEDOUT). */
static int lock_by(struct logger *lg, const struct timespec *deadline)
{
	const struct timespec pause = {0, 1000000}; /* 1 ms */

	while (pthread_mutex_trylock(&lg->lock) != 0) {
		if (passed(deadline))
			return -1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

int log_force(struct logger *lg, long timeout_ms, struct log_force *out)
{
	struct timespec deadline;
	const struct write_limit until = {NULL, monotime_ms() + timeout_ms};
	size_t done;

	memset(out, 0, sizeof(*out));
	deadline_after_ms(&deadline, timeout_ms);
	if (lock_by(lg, &deadline) == -1) {
		out->err = ETIMEDOUT;
		return -1;
	}
	lg->forced = 1;
	pthread_cond_broadcast(&lg->wake);
	poke(lg->wake_fd[1]); /* a flusher waiting for fd to take more */
	/* The flusher ends on its own now and the process ends with it:
	 * nobody will join it (log_close is not called after this). */
	(void)pthread_detach(lg->flusher);
	/* The flusher finishes the piece it is writing, then stops. */
	while (lg->writing &&
	       pthread_cond_timedwait(&lg->idle, &lg->lock, &deadline) == 0)
		;
	out->pending_lines = count_lines(lg->rest, lg->rest_len) +
			     count_lines(lg->active, lg->active_len);
	out->pending_bytes = lg->rest_len + lg->active_len;
	out->lost = lg->loss;
	if (lg->writing) {
		/* Still in write(2) on a stuck disk: writing beside it
		 * could interleave, so write nothing. */
		out->err = ETIMEDOUT;
		pthread_mutex_unlock(&lg->lock);
		return -1;
	}
	/* Keep the lock: appenders wait, the process is about to end.
	 * Older lines first: the file stays in order. */
	done = lg->torn ? 0
			: write_lines(lg, lg->rest, lg->rest_len, until, NULL);
	if (done == lg->rest_len && !lg->torn)
		done += write_lines(lg, lg->active, lg->active_len, until,
				    NULL);
	out->written_lines = count_lines(
		lg->rest, done < lg->rest_len ? done : lg->rest_len);
	if (done > lg->rest_len)
		out->written_lines +=
			count_lines(lg->active, done - lg->rest_len);
	out->written_bytes = done;
	if (done < out->pending_bytes)
		out->err = errno;
	return done < out->pending_bytes ? -1 : 0;
}

int log_close(struct logger *lg, struct log_loss *loss)
{
	struct log_loss lost;

	pthread_mutex_lock(&lg->lock);
	lg->closing = 1;
	pthread_cond_signal(&lg->wake);
	pthread_mutex_unlock(&lg->lock);
	pthread_join(lg->flusher, NULL);

	lost = lg->loss;
	pthread_cond_destroy(&lg->idle);
	pthread_cond_destroy(&lg->room);
	pthread_cond_destroy(&lg->wake);
	pthread_mutex_destroy(&lg->lock);
	close(lg->wake_fd[0]);
	close(lg->wake_fd[1]);
	free(lg->active);
	free(lg->spare);
	free(lg);
	if (loss != NULL)
		*loss = lost;
	if (lost.lines > 0) {
		errno = lost.err;
		return -1;
	}
	return 0;
}

void log_counters(struct logger *lg, struct log_counters *out)
{
	out->lines = atomic_load_explicit(&lg->lines, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&lg->bytes, memory_order_relaxed);
	out->lost_lines =
		atomic_load_explicit(&lg->lost_lines, memory_order_relaxed);
	out->lost_bytes =
		atomic_load_explicit(&lg->lost_bytes, memory_order_relaxed);
	metrics_hist_get(&lg->write_time, &out->write);
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
	(void)append_lines(b->lg, b->buf, b->len, b->lines);
	b->len = b->lines = 0;
}

void log_batch_stamp(struct log_batch *b)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec == b->ts_sec) {
		/* Same second: only the microseconds change. */
		logfmt_timestamp_micros(b->ts, &now);
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
	b->lines++;
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
	b->lines++;
	if (b->len >= LOG_BATCH_SIZE)
		log_batch_flush(b);
}
