/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame.h - split a byte stream or a datagram into messages.
 *
 * LF framing (README, "Protocol"): a message ends at '\n' or '\0'; one
 * trailing '\r' is dropped; empty messages are ignored.  On a stream a
 * message may arrive split over any number of reads, many may arrive in
 * one read, and a last message with no terminator is delivered at end of
 * stream (frame_finish).  A datagram's text ends at its first '\0' and is
 * split at '\n' by the same rules.
 *
 * Octet counting (RFC 6587 3.4.1, frame_set_framing; docs/framing.md): a
 * stream frame that starts with a digit is "COUNT SP MSG", MSG exactly
 * COUNT bytes that may hold any byte, LF and NUL too; one trailing '\n'
 * of MSG is dropped (as rsyslog's parser.dropTrailingLFOnReception).  A
 * frame that starts with anything else is LF-framed, as rsyslog's imtcp
 * reads them.  A count that is not one (digits ended by a byte other than
 * SP: count-not-a-number; zero: count-zero; more than 7 digits or over
 * FRAME_MAX_LINE_LIMIT: count-too-large) is reported (frame_fault_fn) and
 * its frame read as an LF-framed line from its first digit.  A count
 * over max_line is honoured: the message is delivered truncated (below)
 * with the count as its length and the next frame read where the sender
 * put it.  A stream that ends inside a counted message reports cut-short
 * and delivers what came.  FRAME_AUTO decides per stream, once, from its
 * first bytes: "DIGITS SP <PRI>" (a syslog message with a count: 1 to 7
 * digits, 1..FRAME_MAX_LINE_LIMIT, a '<', 1 to 3 digits up to 191, a
 * '>') makes it octet-counted as above, anything else LF-framed for good.
 *
 * A message longer than max_line bytes is delivered once, at its
 * terminator (or count's end), as its first max_line bytes together with
 * its full length (full_len > len), so memory per stream is bounded
 * whatever the peer sends: the buffer never grows past
 * frame_buffer_size(max_line).
 *
 * Memory: struct frame owns its buffer (frame_init/frame_free).  Message
 * pointers handed to the callback point into that buffer (or into the
 * caller's datagram) and are valid only during the call; so are a
 * fault's.
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
 * (buffer plus escaped log line) near 6 MiB.  Also the largest octet
 * count taken: a bigger one is read as a line (count-too-large) rather
 * than skipping megabytes of a stream on one bad number. */
#define FRAME_MAX_LINE_LIMIT (1024 * (size_t)1024)

/* Bytes of a stream frame held before its kind is known: "1048576 "
 * (a count's 7 digits and its space), and for FRAME_AUTO's first frame
 * the "<191>" after it. */
#define FRAME_HEAD_MAX 13

/* The framer's buffer for max_line: the longest message or undecided
 * head kept, and a read. */
static inline size_t frame_buffer_size(size_t max_line)
{
	return (max_line > FRAME_HEAD_MAX ? max_line : FRAME_HEAD_MAX) +
	       FRAME_READ_SIZE;
}

/* How a stream is framed (--framing). */
enum frame_framing {
	FRAME_LF,    /* every frame ends at '\n' or '\0' (frame_init's) */
	FRAME_OCTET, /* a frame starting with a digit is octet-counted */
	FRAME_AUTO   /* FRAME_OCTET if the first bytes are "DIGITS SP <PRI>" */
};

/* A frame whose count was not taken, or a stream cut inside a counted
 * message: reason is "count-not-a-number", "count-zero",
 * "count-too-large" (head[0..head_len) are the bytes read as the count,
 * its digits and for count-not-a-number the byte that ended them) or
 * "cut-short" (head_len 0; count and got: the count and the bytes of the
 * message that came). */
struct frame_fault {
	const char *reason;
	const char *head;
	size_t head_len;
	size_t count, got;
};

/* Called once per fault, in stream order: before the bad frame's bytes
 * are delivered as a line, or before what came of a cut message. */
typedef void (*frame_fault_fn)(void *ctx, const struct frame_fault *fault);

/*
 * Called once per message.  msg[0..len) is the text without terminator
 * or trailing '\r' (a counted message: without one trailing '\n'),
 * len <= max_line, never 0; full_len is the message's
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
	char *buf;	 /* [0, len) holds the pending frame's head */
	size_t cap;	 /* frame_buffer_size(max_line) */
	size_t max_line; /* longest message kept whole */
	size_t len;	 /* bytes of the pending frame held in buf */
	size_t full_len; /* its message's length so far, dropped bytes too */
	char last;	 /* pending message's last byte (for '\r') */
	/* The stream's framing (FRAME_LF, FRAME_OCTET, or FRAME_AUTO until
	 * the first bytes tell), and where the pending frame is: at its
	 * start (buf holds its head, kind unknown), in a line, or in a
	 * counted message (count bytes after a count of head_len bytes). */
	unsigned char framing, state;
	size_t count, head_len;
	frame_fault_fn on_fault;
	/* Paused (FRAME_PAUSE): buf[paused_at, paused_end) is input not yet
	 * delivered; the pending frame's fields describe its first frame. */
	bool paused;
	size_t paused_at, paused_end;
};

/* Prepares f for messages of up to max_line bytes (1..
 * FRAME_MAX_LINE_LIMIT), LF-framed.  Returns 0, or -1 with errno (EINVAL,
 * ENOMEM). */
int frame_init(struct frame *f, size_t max_line);
void frame_free(struct frame *f);

/* Sets f's framing, before its first input; on_fault (may be NULL) is
 * called with the ctx of the call that meets a fault. */
void frame_set_framing(struct frame *f, enum frame_framing framing,
		       frame_fault_fn on_fault);

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

/* End of stream: delivers a pending unterminated message, if any (a cut
 * counted message after its fault), and empties f (not paused).  Returns as
 * frame_commit.  fn must not pause here: the reader is ending and takes what
 * comes (a FRAME_PAUSE is returned as a stop). */
int frame_finish(struct frame *f, frame_fn fn, void *ctx);

/* Bytes of an incomplete frame held (or dropped) so far, its count's
 * too. */
size_t frame_pending(const struct frame *f);

/* Frames one datagram: text up to the first '\0', split at '\n', each
 * message truncated to max_line, whatever the framing (a datagram is
 * one syslog message, RFC 5426: nothing counts octets).  Returns as
 * frame_commit; nothing is kept (a datagram is the caller's), so fn must not
 * pause here. */
int frame_datagram(const char *data, size_t len, size_t max_line, frame_fn fn,
		   void *ctx);

#endif
