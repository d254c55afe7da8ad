/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.h - the one shared logger, and the per-thread batches that feed it.
 *
 * Every thread of a server logs through one struct logger.  Threads
 * format their lines outside the lock, into their own struct log_batch,
 * and hand a whole batch over with one lock acquisition (normally once
 * per received buffer, not once per message).  A flusher thread writes
 * the shared buffer out: at once on a terminal (line-buffered), otherwise
 * when half of it is full or 100 ms after data arrived, and everything on
 * log_close.  So logging costs a worker a memcpy under the lock, never a
 * system call, and a slow disk slows clients down (the shared buffers
 * fill, appenders wait) instead of growing memory.
 *
 * The lines themselves are logline.h's: a batch makes message lines
 * with logline_msg; other events are made by their writers and handed
 * over with log_append.
 *
 * Memory: log_open allocates the logger, log_close frees it; the fd is
 * the caller's and stays open.  A batch owns its buffer.
 * Threads: log_append and log_close are thread-safe (log_close once, after
 * every appender is done); a batch belongs to one thread.
 * Failure: the file only ever holds whole lines.  When a write fails (a
 * full disk) the lines it could not write are dropped and counted, and a
 * write cut short mid-line is cut back to the last line end: memory stays
 * bounded and clients are never held up by the disk.  The first line
 * written once writes succeed again records the gap ("log-gap lines=N
 * bytes=N reason=..."); log_close reports the lines lost in all.  A
 * file someone else cuts (copytruncate) gets a line saying from which
 * size ("log-truncated from=N to=N"), even when the cut falls inside a
 * write; what the cutter's copy lacks of N bytes is lost.
 * Clocks: every timed wait here runs on CLOCK_MONOTONIC (a wall clock
 * set back an hour must not hold lines in memory for an hour).
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "logfmt.h"
#include "metrics.h"

/* A batch is handed over when it holds this much: 64 KiB of lines is a
 * received 64 KiB buffer of 32-byte messages, give or take. */
#define LOG_BATCH_SIZE (64 * (size_t)1024)
/* Each of the logger's two buffers: big enough that 200 busy clients
 * rarely wait for the disk, small enough not to matter in RSS. */
#define LOG_BUFFER_SIZE (4 * (size_t)1024 * 1024)
/* How long a line may wait in memory when not on a terminal.  (The
 * tests build one copy of log.c with a minute here, to tell a terminal's
 * write-at-once from this timer.) */
#ifndef LOG_FLUSH_MS
#define LOG_FLUSH_MS 100
#endif

struct logger;

/* What the logger wrote so far, for the metrics (metrics.h). */
struct log_counters {
	uint64_t lines, bytes;		 /* reached the file */
	uint64_t lost_lines, lost_bytes; /* never did (struct log_loss) */
	struct metrics_hist_read write;	 /* seconds per buffer written */
};

/* Lines that never reached the file, and the last reason (errno). */
struct log_loss {
	uint64_t lines, bytes;
	int err;
};

/* Starts a logger (and its flusher thread) on fd.  max_append is the
 * largest log_append a caller will make.  Returns NULL with errno. */
struct logger *log_open(int fd, size_t max_append);

/* Appends whole lines data[0..len), len <= max_append; waits while the
 * logger's buffers are full.  Returns 0, or -1 with EMSGSIZE. */
int log_append(struct logger *lg, const char *data, size_t len);

/* Asks the flusher to reopen the log at path (after a rename-style
 * rotation): lines appended before the call go to the old file, later
 * ones to the new, which starts with a "log-reopened" line.  If path
 * cannot be opened the old file stays in use and records why.  Returns
 * at once; any thread (not a signal handler: it takes the lock). */
void log_reopen(struct logger *lg, const char *path);

/* What log_force did. */
struct log_force {
	uint64_t written_lines, written_bytes; /* of what was in memory */
	uint64_t pending_lines, pending_bytes; /* in memory when forced */
	struct log_loss lost;		       /* lost before, in all */
	int err; /* why not all was written (ETIMEDOUT: stuck) */
};

/*
 * For a forced exit: one bounded attempt (timeout_ms) to write, whole
 * lines only and in order, what the logger holds in memory.  It stops
 * the flusher after the piece (about 256 KiB, ending a line) it is
 * writing, writes the rest itself piece by piece until the time is up,
 * and keeps the lock, so nothing is logged after it: the caller is about
 * to _exit, and must not call log_close.  (A single write(2) stuck in
 * the kernel is not interrupted: the caller sets a backstop, see
 * server.c.)  0 when everything in memory was written, else -1; *out
 * says what was written and what not.
 */
int log_force(struct logger *lg, long timeout_ms, struct log_force *out);

/* Reads lg's counters with relaxed loads: any thread, never waiting
 * (lg must stay open meanwhile). */
void log_counters(struct logger *lg, struct log_counters *out);

/* Writes out everything, stops the flusher, frees lg.  Returns 0, or -1
 * with errno of the last failure when lines were lost (their count is
 * stored in *lost_lines when not NULL). */
int log_close(struct logger *lg, uint64_t *lost_lines);

/* log_close, with the whole loss (lines, bytes, reason) in *loss. */
int log_close_report(struct logger *lg, struct log_loss *loss);

struct log_batch {
	struct logger *lg;
	char *buf;
	size_t len, cap;
	size_t lines;		/* in buf[0..len) */
	size_t line_max;	/* longest line a message can make */
	char ts[LOGFMT_TS_LEN]; /* timestamp of the lines being made */
	time_t ts_sec;		/* second cached in ts[0..19) */
};

/* A batch for messages of up to max_text bytes.  0, or -1 with errno. */
int log_batch_init(struct log_batch *b, struct logger *lg, size_t max_text);
/* Hands pending lines to the logger and frees the buffer. */
void log_batch_free(struct log_batch *b);

/* Reads the clock: lines added from now on carry this time. */
void log_batch_stamp(struct log_batch *b);

/* Adds "TS WHO msg TEXT" (or msg-truncated len=FULL when full_len >
 * len) for the message text[0..len). */
void log_batch_msg(struct log_batch *b, const char *who, size_t who_len,
		   const char *text, size_t len, size_t full_len);

/* Adds a whole line made by a logline_ writer (at most
 * LOGLINE_EVENT_MAX bytes, with b->ts as its time): an event of the
 * server's own among the session's messages, in order. */
void log_batch_line(struct log_batch *b, const char *line, size_t len);

/* Hands pending lines to the logger (one lock acquisition). */
void log_batch_flush(struct log_batch *b);

#endif
