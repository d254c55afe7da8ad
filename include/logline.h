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
 *   syslog facility=F severity=S hostname=H[ app-name=A procid=P
 *          msgid=M] TEXT            a message that starts with a syslog
 *                                   header (syslogmsg.h; app-name, procid
 *                                   and msgid: RFC 5424), TEXT whole
 *   syslog-truncated len=N facility=F ... TEXT   the same, cut
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
 * The same lines as JSON (--log-format json, docs/json-log.md):
 *
 *   {"ts":"TIMESTAMP","transport":"tcp","peer":"127.0.0.1:53422","id":17,
 *    "event":"EVENT", then each field as "key":value, in the order above}
 *
 * with the text's keys (positional ones named: prog, version, addr,
 * transports; tcp-connections, tcp-messages, udp-messages; signal;
 * accept's error), numbers as numbers (durations in seconds, S.mmm),
 * flags as true, and a message as "text": TEXT escaped as in the text
 * format, then as a JSON string (logfmt_escape_json).  Server lines have
 * no transport, peer and id.
 *
 * Writing: one function per event, printf-free (a few hundred bytes of
 * stack: they run on every worker, see workers.h), each filling a
 * caller's buffer of LOGLINE_EVENT_MAX bytes (a message line:
 * logline_msg_max(len)) and returning the line's length with its '\n'.
 * A new event is a new function and a list of its fields in the table
 * both formats are written from (logline.c).  Escaping is logfmt.h's;
 * only the reader undoes it.
 *
 * Reading: logline_parse() checks a whole line against the grammar and
 * returns its fields as (pointer, length) views into the line; a
 * message's text is unescaped (into the caller's buffer only when it
 * held an escape).  A line that does not follow the grammar - cut short,
 * corrupt, or made to mislead - gives -1, errno EINVAL, and a reason;
 * the reader never reads outside [line, line + len).
 *
 * No allocation, and no state but the format (logline_set_format, set
 * before any thread starts): any thread may call any other function
 * here.
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

/* ---- the format ---- */

/* Text, as above, or JSON lines (docs/json-log.md): one object per
 * line with the same events and fields, made by the same writers from
 * the same table of fields.  A reader needs no setting: logline_parse
 * reads both. */
enum logline_format { LOGLINE_FORMAT_TEXT, LOGLINE_FORMAT_JSON };

/* Chooses the format of every line written from now on.  Called by main
 * before any thread logs (the servers: after the command line, before
 * the logger opens); not thread-safe. */
void logline_set_format(enum logline_format format);
enum logline_format logline_get_format(void);

/* "text" or "json" into *format: 0, or -1 for any other name. */
int logline_format_parse(const char *name, enum logline_format *format);

/* Longest line a message of len bytes can make in the format chosen
 * (escaped, truncated, with a syslog header's fields). */
size_t logline_msg_max(size_t len);

/* ---- writing ---- */

/* Writes "TRANSPORT PEER #N" (transport "tcp" or "udp", peer as
 * net_format makes it) into dst[0..size); returns its length (cut to
 * size, no NUL). */
size_t logline_who(char *dst, size_t size, const char *transport,
		   const char *peer, uint64_t number);

/* Writes TIMESTAMP for the time now into ts (LOGFMT_TS_LEN bytes). */
void logline_now(char *ts);

/* "msg TEXT", or "msg-truncated len=FULL TEXT" when full_len > len, for
 * the message text[0..len); "syslog ..." and "syslog-truncated ..." when
 * the text starts with a syslog header (syslogmsg.h), its fields before
 * the text.  size >= logline_msg_max(len) keeps all of it; with less,
 * the text is cut. */
size_t logline_msg(char *buf, size_t size, const char *ts, const char *who,
		   size_t who_len, const char *text, size_t len,
		   size_t full_len);

/* Room for a connect line: TIMESTAMP WHO connect, in either format
 * (JSON's keys take 72 bytes more).  Small, since every worker makes one
 * at the top of its stack (workers.h). */
#define LOGLINE_CONNECT_MAX (LOGFMT_TS_LEN + 1 + LOGLINE_WHO_MAX + 72)

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

struct frame_fault;
/* "frame-error reason=R count=HEAD" (an octet count not taken: HEAD is
 * what was read as one, escaped) or "frame-error reason=cut-short
 * count=N got=N" (frame.h's struct frame_fault). */
size_t logline_frame_error(char *buf, size_t size, const char *ts,
			   const char *who, size_t who_len,
			   const struct frame_fault *fault);

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

/* "upgraded pid=N": the new process N listens and this one stops; or
 * "upgrade-failed pid=N error="E"": it did not, this one serves on. */
size_t logline_upgrade(char *buf, size_t size, const char *ts, uint64_t pid,
		       const char *error);

/* A log path is cut to this in a line. */
#define LOGLINE_PATH_MAX 256

/* "log-reopened path=FILE", or with error (not NULL)
 * "log-reopen-failed path=FILE error="E"". */
size_t logline_log_reopened(char *buf, size_t size, const char *ts,
			    const char *path, const char *error);

/* "log-gap lines=N bytes=N reason="E"". */
size_t logline_log_gap(char *buf, size_t size, const char *ts, uint64_t lines,
		       uint64_t bytes, const char *reason);

/* The --broker link's events (broker.h):
 *   broker-up role=R                       connected (again)
 *   broker-down role=R error="E" retry=Ss  lost or refused; next try in S
 *   broker-lost lines=N reason=R [from=NODE] [role=R]
 *                                          N lines that did not reach this
 *                                          room (from NODE) or left it for
 *                                          no other server
 * role is publish or subscribe. */
enum logline_broker_event {
	LOGLINE_BROKER_UP,
	LOGLINE_BROKER_DOWN,
	LOGLINE_BROKER_LOST
};
struct logline_broker {
	enum logline_broker_event event;
	const char *role;   /* or NULL */
	uint64_t lines;	    /* broker-lost */
	const char *reason; /* broker-lost, or NULL */
	const char *from;   /* broker-lost: the node, or NULL */
	const char *error;  /* broker-down, or NULL */
	uint64_t retry_ms;  /* broker-down */
};

size_t logline_broker(char *buf, size_t size, const char *ts,
		      const struct logline_broker *b);

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
	LOGLINE_ACCEPT,
	LOGLINE_SYSLOG,		  /* a message with a syslog header */
	LOGLINE_SYSLOG_TRUNCATED, /* the same, cut at --max-line */
};

/* A syslog header's fields as logged (syslog and syslog-truncated
 * lines): facility and severity by name ("user", "notice"), hostname
 * always, app_name, procid and msgid for RFC 5424 only (NULL, 0 for RFC
 * 3164).  In a JSON line a '"' or '\\' in a name stays JSON-escaped. */
struct logline_syslog {
	const char *facility, *severity, *hostname, *app_name, *procid, *msgid;
	size_t facility_len, severity_len, hostname_len, app_name_len,
		procid_len, msgid_len;
};

/* A line's fields.  Pointers are views into the parsed line, or (text)
 * into the caller's text buffer; none is NUL-terminated. */
struct logline {
	enum logline_format format; /* which of the two the line is in */
	struct timespec ts;	    /* CLOCK_REALTIME */
	enum logline_transport transport;
	const char *peer; /* "127.0.0.1:53422"; "-" on server lines */
	size_t peer_len;
	uint64_t number; /* #N; 0 on server lines */
	enum logline_event event;
	const char *name; /* the event's word: "msg", "disconnect", ... */
	size_t name_len;
	/* Everything after the event's word and its space ("" when none):
	 * the fields of connect, disconnect, refused, start, stop, ...
	 * JSON: the members after "event" (,"key":value...), without the
	 * closing '}'.  Empty for messages: their fields are below. */
	const char *rest;
	size_t rest_len;
	/* msg, msg-truncated, syslog, syslog-truncated only: */
	uint64_t full_len;   /* the message's length before it was cut */
	const char *escaped; /* the text as logged (JSON: JSON-escaped) */
	size_t escaped_len;
	const char *text; /* unescaped; NULL when textbuf had no room */
	size_t text_len;
	struct logline_syslog syslog; /* syslog lines only */
	/* When logline_parse failed: why, a static string. */
	const char *error;
};

/* Whether l is a client's message, whatever its kind: msg,
 * msg-truncated, syslog or syslog-truncated (a reader counting messages
 * counts all four: a syslog sender's messages are "syslog" lines). */
static inline bool logline_is_message(const struct logline *l)
{
	return l->event == LOGLINE_MSG || l->event == LOGLINE_MSG_TRUNCATED ||
	       l->event == LOGLINE_SYSLOG ||
	       l->event == LOGLINE_SYSLOG_TRUNCATED;
}

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
 * (error="...").  In a JSON line, the member "key": a string's bytes
 * between its quotes (JSON escapes left as they are), a number or true
 * as written (a duration: "12.345", where the text has "12.345s").  0,
 * or -1 when there is no such field. */
int logline_field(const struct logline *l, const char *key, const char **value,
		  size_t *value_len);
/* The same for a decimal field.  0, or -1 (absent or not a number). */
int logline_field_u64(const struct logline *l, const char *key, uint64_t *v);

/* Undoes logfmt_escape: src[0..len) into dst (room for len bytes);
 * stores the length in *out_len.  0, or -1 with EINVAL on a byte or
 * escape logfmt_escape never writes. */
int logline_unescape(char *dst, const char *src, size_t len, size_t *out_len);

#endif
