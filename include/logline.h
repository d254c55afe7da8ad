/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logline.h - the log line's grammar, both ways: the one place that
 * writes a log line and the one place that reads it back.
 *
 *   TIMESTAMP TRANSPORT PEER #N EVENT[ FIELDS][ TEXT]
 *
 * TIMESTAMP is "2026-11-24T13:49:55.123456Z" (logfmt_timestamp: UTC,
 * microseconds).  TRANSPORT PEER #N ("WHO") is "tcp 127.0.0.1:53422 #17"
 * or "udp [::1]:5000 #3" (a connection or datagram number), and "- - -"
 * on the server's own lines.  The events:
 *
 *   msg TEXT                        a client's message, TEXT escaped
 *   msg-truncated len=N TEXT        an over-long message: its kept head,
 *                                   N its full length
 *   connect
 *   disconnect reason=R[ error="E"] messages=N bytes=N truncated=N
 *              discarded=N unsent=N duration=S.mmms
 *   refused reason=R
 *   nick name=NAME                  --chat: a member's new name
 *   start PROG VERSION on ADDR (TRANSPORTS) max-clients=N nofile=N
 *         idle-timeout=Ns max-line=N drain-timeout=S.mmms[ chat][ echo]
 *         [ quiet]
 *   stop PROG: N tcp connections, N tcp messages, N udp messages
 *   accept failed: ERROR; refusing clients until descriptors are free
 *   signal SIGNAME action=A         A: stop, counted-once, reopen, ignored
 *   log-reopened path=FILE          the first line of a reopened log file
 *   log-reopen-failed path=FILE error="E"
 *   log-gap lines=N bytes=N reason="E"   the first line written after
 *                                   writes failed: what is missing
 *   log-truncated from=N to=N       someone else cut the file from N
 *                                   bytes to N (copytruncate): what the
 *                                   copy lacks of the first N is lost
 *
 * Writing: one function per event, printf-free (a few hundred bytes of
 * stack: they run on every worker, see workers.h), each filling a
 * caller's buffer of LOGLINE_EVENT_MAX bytes (a message line:
 * logline_msg_max(len)) and returning the line's length with its '\n'.
 * A new event is a new function made of the builder's put calls.
 * Escaping is logfmt.h's (logfmt_escape); only the reader undoes it.
 *
 * Reading: logline_parse() checks a whole line against the grammar and
 * returns its fields as (pointer, length) views into the line; a
 * message's text is unescaped (into the caller's buffer only when it
 * held an escape).  A line that does not follow the grammar - cut short,
 * corrupt, or made to mislead - gives -1, errno EINVAL, and a reason;
 * the reader never reads outside [line, line + len).
 *
 * No state, no allocation: any thread may call any function here.
 */
#ifndef LOGLINE_H
#define LOGLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "logfmt.h"

/* Room for WHO: "tcp [ffff:...:ffff]:65535 #18446744073709551615". */
#define LOGLINE_WHO_MAX 80
/* WHO of the server's own lines. */
#define LOGLINE_SERVER_WHO     "- - -"
#define LOGLINE_SERVER_WHO_LEN 5
/* Room for any line but a message: TIMESTAMP, WHO, and an event of the
 * server's own words and numbers (the longest, start, is under 300). */
#define LOGLINE_EVENT_MAX 512

/* Longest line a message of len bytes can make (escaped, truncated). */
static inline size_t logline_msg_max(size_t len)
{
	/* TS, WHO, "msg-truncated len=N ", escaped text, separators. */
	return LOGFMT_TS_LEN + 1 + LOGLINE_WHO_MAX + 1 + 48 +
	       LOGFMT_ESCAPED_MAX(len) + 1;
}

/* ---- writing ---- */

/* Writes "TRANSPORT PEER #N" (transport "tcp" or "udp", peer as
 * net_format makes it) into dst[0..size); returns its length (cut to
 * size, no NUL). */
size_t logline_who(char *dst, size_t size, const char *transport,
		   const char *peer, uint64_t number);

/* Writes TIMESTAMP for the time now into ts (LOGFMT_TS_LEN bytes). */
void logline_now(char *ts);

/*
 * A line being built in a caller's buffer.  Every put appends what fits;
 * what does not is dropped and sets cut, and one byte is always kept for
 * the '\n' that logline_finish adds: a line is never longer than its
 * buffer and always whole.
 */
struct logline_builder {
	char *buf;
	size_t len, room; /* room: size - 1, the '\n' byte kept apart */
	bool cut;
};

/* Starts "TIMESTAMP WHO" in buf[0..size), size >= 1.  ts is
 * LOGFMT_TS_LEN bytes. */
void logline_begin(struct logline_builder *b, char *buf, size_t size,
		   const char *ts, const char *who, size_t who_len);
/* Appends s[0..len). */
void logline_put(struct logline_builder *b, const char *s, size_t len);
/* Appends a literal. */
#define LOGLINE_PUT(b, literal) logline_put((b), (literal), sizeof(literal) - 1)
/* Appends a NUL-terminated string of at most max bytes. */
void logline_put_str(struct logline_builder *b, const char *s, size_t max);
/* Appends v in decimal. */
void logline_put_u64(struct logline_builder *b, uint64_t v);
/* Appends " key=value"; value NUL-terminated, at most max bytes. */
void logline_put_kv(struct logline_builder *b, const char *key,
		    const char *value, size_t max);
/* Appends " key=N". */
void logline_put_kv_u64(struct logline_builder *b, const char *key, uint64_t v);
/* Ends the line with '\n'; returns its length. */
size_t logline_finish(struct logline_builder *b);

/* "msg TEXT", or "msg-truncated len=FULL TEXT" when full_len > len, for
 * the message text[0..len).  size >= logline_msg_max(len) keeps all of
 * it; with less, the text is cut. */
size_t logline_msg(char *buf, size_t size, const char *ts, const char *who,
		   size_t who_len, const char *text, size_t len,
		   size_t full_len);

/* Room for a connect line: TIMESTAMP WHO connect.  Small, since every
 * worker makes one at the top of its stack (workers.h). */
#define LOGLINE_CONNECT_MAX (LOGFMT_TS_LEN + 1 + LOGLINE_WHO_MAX + 16)

size_t logline_connect(char *buf, size_t size, const char *ts, const char *who,
		       size_t who_len);

/* What a disconnect line says. */
struct logline_disconnect {
	const char *reason; /* client-closed, quit, idle-timeout, ... */
	const char *error;  /* strerror text for reason "error", or NULL */
	uint64_t messages, bytes, truncated, discarded;
	uint64_t unsent; /* echo bytes dropped at the end */
	uint64_t duration_ms;
};

size_t logline_disconnect(char *buf, size_t size, const char *ts,
			  const char *who, size_t who_len,
			  const struct logline_disconnect *d);

/* "refused reason=R" (R: server-full, no-thread, no-descriptors, ...). */
size_t logline_refused(char *buf, size_t size, const char *ts, const char *who,
		       size_t who_len, const char *reason);

/* "nick name=NAME": a --chat member took NAME (chat.h's rules). */
size_t logline_nick(char *buf, size_t size, const char *ts, const char *who,
		    size_t who_len, const char *name);

/* What the server's start line says. */
struct logline_start {
	const char *prog, *version;
	const char *addr;	/* "0.0.0.0:8888" */
	const char *transports; /* "tcp, udp" */
	long max_clients;
	unsigned long nofile;
	unsigned long nofile_needed; /* what max_clients needs, when more
					than nofile; else 0 */
	long idle_timeout;	     /* seconds */
	long max_line;
	long drain_timeout_ms;
	bool chat, echo, quiet;
};

size_t logline_start(char *buf, size_t size, const char *ts,
		     const struct logline_start *s);

/* What the server's stop line says. */
struct logline_stop {
	const char *prog;
	uint64_t tcp_conns, tcp_msgs, udp_msgs;
};

size_t logline_stop(char *buf, size_t size, const char *ts,
		    const struct logline_stop *s);

/* "signal SIGNAME action=A": what the server does about a signal. */
size_t logline_signal(char *buf, size_t size, const char *ts,
		      const char *signal, const char *action);

/* A log path is cut to this in a line. */
#define LOGLINE_PATH_MAX 256

/* "log-reopened path=FILE", or with error (not NULL)
 * "log-reopen-failed path=FILE error="E"". */
size_t logline_log_reopened(char *buf, size_t size, const char *ts,
			    const char *path, const char *error);

/* "log-gap lines=N bytes=N reason="E"". */
size_t logline_log_gap(char *buf, size_t size, const char *ts, uint64_t lines,
		       uint64_t bytes, const char *reason);

/* "log-truncated from=N to=N". */
size_t logline_log_truncated(char *buf, size_t size, const char *ts,
			     uint64_t from, uint64_t to);

/* "accept failed: ERROR; refusing clients until descriptors are free". */
size_t logline_accept_failed(char *buf, size_t size, const char *ts,
			     const char *error);

/* ---- reading ---- */

enum logline_transport { LOGLINE_SERVER, LOGLINE_TCP, LOGLINE_UDP };

enum logline_event {
	LOGLINE_OTHER, /* an event this reader does not know: see name */
	LOGLINE_MSG,
	LOGLINE_MSG_TRUNCATED,
	LOGLINE_CONNECT,
	LOGLINE_DISCONNECT,
	LOGLINE_REFUSED,
	LOGLINE_START,
	LOGLINE_STOP,
	LOGLINE_ACCEPT
};

/* A line's fields.  Pointers are views into the parsed line, or (text)
 * into the caller's text buffer; none is NUL-terminated. */
struct logline {
	struct timespec ts; /* CLOCK_REALTIME */
	enum logline_transport transport;
	const char *peer; /* "127.0.0.1:53422"; "-" on server lines */
	size_t peer_len;
	uint64_t number; /* #N; 0 on server lines */
	enum logline_event event;
	const char *name; /* the event's word: "msg", "disconnect", ... */
	size_t name_len;
	/* Everything after the event's word and its space ("" when none):
	 * the fields of connect, disconnect, refused, start, stop, ... */
	const char *rest;
	size_t rest_len;
	/* msg and msg-truncated only: */
	uint64_t full_len;   /* the message's length before it was cut */
	const char *escaped; /* the text as logged */
	size_t escaped_len;
	const char *text; /* unescaped; NULL when textbuf had no room */
	size_t text_len;
	/* When logline_parse failed: why, a static string. */
	const char *error;
};

/*
 * Parses line[0..len), one line with or without its '\n'.  A message's
 * text is unescaped: it points into the line when it held no escape,
 * else into textbuf, which needs room for the escaped text's length
 * (unescaping never makes text longer).  Returns 0, or -1 with errno
 * EINVAL (the line breaks the grammar) or EMSGSIZE (textbuf too small or
 * NULL: every field but text is then filled, escaped included), and
 * out->error saying why.
 */
int logline_parse(const char *line, size_t len, struct logline *out,
		  char *textbuf, size_t textcap);

/* Finds " key=" (or the rest's first field key=) in l->rest and returns
 * its value: up to the next space, or between quotes when quoted
 * (error="..."). 0, or -1 when there is no such field. */
int logline_field(const struct logline *l, const char *key, const char **value,
		  size_t *value_len);
/* The same for a decimal field.  0, or -1 (absent or not a number). */
int logline_field_u64(const struct logline *l, const char *key, uint64_t *v);

/* Undoes logfmt_escape: src[0..len) into dst (room for len bytes);
 * stores the length in *out_len.  0, or -1 with EINVAL on a byte or
 * escape logfmt_escape never writes. */
int logline_unescape(char *dst, const char *src, size_t len, size_t *out_len);

#endif
