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
 * Destinations that block: a log that is not a regular file (a FIFO, a
 * pipe, a terminal) should be non-blocking (O_NONBLOCK; log_open_path
 * opens one so).  The flusher then waits for it in poll(2), never in
 * write(2): while nothing else is asked, as long as the reader takes
 * (back-pressure: the buffers fill and appenders wait), and from the
 * time log_give_up_at sets on, not at all: what the destination does
 * not take at once is dropped and counted.  There every write is at
 * most PIPE_BUF bytes of whole lines, which a pipe takes whole or not
 * at all, so giving up never cuts a line; should one be cut anyway (a
 * line longer than PIPE_BUF, a socket), nothing more is written to that
 * destination, so no line is glued to a cut one.  A blocking
 * destination may hold a write for as long as its reader likes.
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
/* Beyond what log_append may fill, room that only log_try_append takes:
 * the signal thread's event lines (64 bytes and less; 64 of them) are
 * not lost because clients filled the buffers. */
#define LOG_RESERVE ((size_t)4096)
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

/* Opens the log file path for appending (created 0644) as the logger
 * wants it: non-blocking, close-on-exec, never a controlling terminal.
 * Never waits: a FIFO without a reader fails with ENXIO.  *created (when
 * not NULL) says whether this call made the file, for a caller that
 * takes it back when it cannot start after all.  The fd, or -1 with
 * errno.  Any thread. */
int log_open_path(const char *path, int *created);

/* Appends whole lines data[0..len), len <= max_append; waits while the
 * logger's buffers are full.  Returns 0, or -1 with EMSGSIZE. */
int log_append(struct logger *lg, const char *data, size_t len);

/* log_append that never waits, with LOG_RESERVE more room than
 * log_append has (so clients filling the buffers do not cost the signal
 * thread its lines): when even that is full the lines
 * are dropped and counted as lost (log_close reports them), and -1 with
 * EAGAIN (or EMSGSIZE) is returned, else 0.  For a thread that must
 * stay free whatever the log does (the signal thread). */
int log_try_append(struct logger *lg, const char *data, size_t len);

/* From deadline_ms on (CLOCK_MONOTONIC, as monotime_ms) no write waits
 * for a destination that takes nothing (see above): what it does not
 * take at once is dropped and counted (reason ETIMEDOUT), so appenders
 * waiting for room go on and log_close ends.  The first call sets the
 * time; later ones change nothing.  Any thread; takes no lock. */
void log_give_up_at(struct logger *lg, long long deadline_ms);

/* Asks the flusher to reopen the log at path (after a rename-style
 * rotation): lines appended before the call go to the old file, later
 * ones to the new, which starts with a "log-reopened" line.  If path
 * cannot be opened the old file stays in use and records why
 * ("log-reopen-failed"); the open never waits (log_open_path).  Returns
 * at once; any thread (not a signal handler: it takes the lock).
 * Memory: path is kept, not copied, and the flusher opens it later: it
 * must stay valid and unchanged until log_close (the server passes its
 * --log argument, which lives in argv). */
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
 * to _exit, and must not call log_close.  (A destination that takes
 * nothing is waited for until then only; a single write(2) stuck in the
 * kernel - a hung disk - is not interrupted: the caller sets a
 * backstop, see server.c.)  0 when everything in memory was written,
 * else -1; *out says what was written and what not.
 */
int log_force(struct logger *lg, long timeout_ms, struct log_force *out);

/* Why lines were lost, for an operator: strerror(err), but for the
 * logger's own reasons - ETIMEDOUT: the destination took nothing more
 * by the give-up time; EAGAIN: the buffers were full for
 * log_try_append.  At most 64 bytes; static. */
const char *log_loss_reason(int err);

/* Reads lg's counters with relaxed loads: any thread, never waiting
 * (lg must stay open meanwhile). */
void log_counters(struct logger *lg, struct log_counters *out);

/* Writes out everything, stops the flusher, frees lg (the server's stop
 * path, server_close).  Returns 0, or -1 with errno of the last failure
 * when lines were lost; the whole loss (lines, bytes, reason) is stored
 * in *loss when not NULL. */
int log_close(struct logger *lg, struct log_loss *loss);

struct log_batch {
	struct logger *lg;
	char *buf;
	size_t len, cap;
	size_t lines;		/* in buf[0..len) */
	size_t line_max;	/* longest line a message can make */
	char ts[LOGFMT_TS_LEN]; /* timestamp of the lines being made */
	time_t ts_sec;		/* the second ts was written for */
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
