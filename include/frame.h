/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame.h - split a byte stream or a datagram into messages.
 *
 * The protocol (README, "Protocol"): a message ends at '\n' or '\0'; one
 * trailing '\r' is dropped; empty messages are ignored.  On a stream a
 * message may arrive split over any number of reads, many may arrive in
 * one read, and a last message with no terminator is delivered at end of
 * stream (frame_finish).  A datagram's text ends at its first '\0' and is
 * split at '\n' by the same rules.
 *
 * A message longer than max_line bytes is delivered once, at its
 * terminator, as its first max_line bytes together with its full length
 * (full_len > len), so memory per stream is bounded whatever the peer
 * sends: the buffer never grows past max_line + FRAME_READ_SIZE.
 *
 * Memory: struct frame owns its buffer (frame_init/frame_free).  Message
 * pointers handed to the callback point into that buffer (or into the
 * caller's datagram) and are valid only during the call.
 * Threads: a struct frame belongs to one thread at a time; the functions
 * keep no other state.
 */
#ifndef FRAME_H
#define FRAME_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes asked of one recv(): large enough that a busy client's 32-byte
 * messages come two thousand to a system call, small enough that a
 * thousand connections' buffers stay in the tens of megabytes. */
#define FRAME_READ_SIZE (64 * (size_t)1024)

/* Largest accepted --max-line: 1 MiB keeps a connection's worst case
 * (buffer plus escaped log line) near 6 MiB. */
#define FRAME_MAX_LINE_LIMIT (1024 * (size_t)1024)

/*
 * Called once per message.  msg[0..len) is the text without terminator
 * or trailing '\r', len <= max_line, never 0; full_len is the message's
 * real length (full_len > len means it was truncated).  Return 0 to go
 * on; FRAME_PAUSE to stop before this message and keep it and the rest
 * of the input (frame_resume delivers them, this message first); any
 * other value to stop: the framer then drops the rest of its input and
 * returns that value.
 */
typedef int (*frame_fn)(void *ctx, const char *msg, size_t len,
			size_t full_len);

/* A callback's "not now": the receiver cannot take this message yet (a
 * chat room where a member is behind); the reader stops reading until
 * frame_resume has delivered what is kept. */
#define FRAME_PAUSE (-1)

struct frame {
	char *buf;	 /* [0, len) holds the pending message's head */
	size_t cap;	 /* max_line + FRAME_READ_SIZE */
	size_t max_line; /* longest message kept whole */
	size_t len;	 /* bytes of the pending message held in buf */
	size_t full_len; /* pending message's length, dropped bytes too */
	char last;	 /* pending message's last byte (for '\r') */
	/* Paused (FRAME_PAUSE): buf[paused_at, paused_end) is input not yet
	 * delivered, paused_dropped bytes of its first message not kept. */
	bool paused;
	size_t paused_at, paused_end, paused_dropped;
};

/* Prepares f for messages of up to max_line bytes (1..
 * FRAME_MAX_LINE_LIMIT).  Returns 0, or -1 with errno (EINVAL, ENOMEM). */
int frame_init(struct frame *f, size_t max_line);
void frame_free(struct frame *f);

/* Where the next read should go: returns a pointer into f's buffer and
 * stores its size, at least FRAME_READ_SIZE, in *room. */
char *frame_space(struct frame *f, size_t *room);

/* Frames n bytes just read into frame_space().  Calls fn per complete
 * message; returns 0, or fn's non-zero value when it stopped early (the
 * pending message is then discarded too, except after FRAME_PAUSE). */
int frame_commit(struct frame *f, size_t n, frame_fn fn, void *ctx);

/* Whether a callback paused f.  While it is, only frame_resume (and
 * frame_pending, frame_free) may be called: no new input is taken. */
bool frame_paused(const struct frame *f);

/* Goes on where FRAME_PAUSE stopped: delivers the kept messages, the
 * paused one first.  Returns as frame_commit (FRAME_PAUSE again when fn
 * paused again); 0 at once when f is not paused. */
int frame_resume(struct frame *f, frame_fn fn, void *ctx);

/* End of stream: delivers a pending unterminated message, if any, and
 * empties f (not paused).  Returns as frame_commit.  fn must not pause
 * here: the reader is ending and takes what comes (a FRAME_PAUSE is
 * returned as a stop). */
int frame_finish(struct frame *f, frame_fn fn, void *ctx);

/* Bytes of an incomplete message held (or dropped) so far. */
size_t frame_pending(const struct frame *f);

/* Frames one datagram: text up to the first '\0', split at '\n', each
 * message truncated to max_line.  Returns as frame_commit; nothing is
 * kept (a datagram is the caller's), so fn must not pause here. */
int frame_datagram(const char *data, size_t len, size_t max_line, frame_fn fn,
		   void *ctx);

#endif
