/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logline.c - the log line's writers and reader; the contract is in
 * logline.h.
 */
#include "logline.h"

#include <errno.h>
#include <string.h>

#include "frame.h"
#include "swar.h"
#include "syslogmsg.h"

/* ---- the format ---- */

/* Set once by main before any thread logs (logline.h); read by every
 * writer. */
static enum logline_format line_format = LOGLINE_FORMAT_TEXT;

void logline_set_format(enum logline_format format)
{
	line_format = format;
}

enum logline_format logline_get_format(void)
{
	return line_format;
}

int logline_format_parse(const char *name, enum logline_format *format)
{
	if (strcmp(name, "text") == 0)
		*format = LOGLINE_FORMAT_TEXT;
	else if (strcmp(name, "json") == 0)
		*format = LOGLINE_FORMAT_JSON;
	else
		return -1;
	return 0;
}

/*
 * ---- the events and their fields: one table for both formats ----
 *
 * Each event is a name and a list of fields.  A field has the key JSON
 * writes ("key":value) and the text's spelling around its value
 * (before VALUE after): " reason=" for reason=R, " (" and ")" for the
 * start line's "(tcp, udp)".  The text and the JSON writer both walk
 * these lists, so the two formats carry the same fields by
 * construction.
 */
enum kind {
	K_WORD,	   /* text: as is; JSON: a string */
	K_U64,	   /* decimal; JSON: a number */
	K_LONG,	   /* decimal, maybe negative; JSON: a number */
	K_SECONDS, /* milliseconds written as S.mmm; JSON: a number */
	K_FLAG,	   /* present or not: text " chat", JSON "chat":true */
	K_OUTSIDE, /* a word from outside (a path, a name), escaped as text
		    * is: it stays on its line and can forge nothing */
	K_TEXT	   /* a client's message, escaped; always last */
};

/* A literal and its length, counted by the compiler. */
struct lit {
	const char *s;
	size_t len;
};
#define LIT(literal)                                                           \
	{                                                                      \
		(literal), sizeof(literal) - 1                                 \
	}

struct field {
	struct lit key;
	enum kind kind;
	struct lit before, after; /* the text's spelling */
};

/* A field's value, as a writer hands it over. */
struct value {
	bool set; /* false: the field is left out (optional fields) */
	const char *s;
	size_t len;
	uint64_t u;
	long l;
};

/* The fields the writers below fill, in their order. */
static const struct field f_disconnect[] = {
	{LIT("reason"), K_WORD, LIT(" reason="), LIT("")},
	{LIT("error"), K_WORD, LIT(" error=\""), LIT("\"")},
	{LIT("messages"), K_U64, LIT(" messages="), LIT("")},
	{LIT("bytes"), K_U64, LIT(" bytes="), LIT("")},
	{LIT("truncated"), K_U64, LIT(" truncated="), LIT("")},
	{LIT("discarded"), K_U64, LIT(" discarded="), LIT("")},
	{LIT("unsent"), K_U64, LIT(" unsent="), LIT("")},
	{LIT("duration"), K_SECONDS, LIT(" duration="), LIT("s")},
};
/* frame-error: a count not taken (what was read as one), or a stream
 * that ended inside a counted message. */
static const struct field f_frame_error[] = {
	{LIT("reason"), K_WORD, LIT(" reason="), LIT("")},
	{LIT("count"), K_OUTSIDE, LIT(" count="), LIT("")},
	{LIT("count"), K_U64, LIT(" count="), LIT("")},
	{LIT("got"), K_U64, LIT(" got="), LIT("")},
};
static const struct field f_reason[] = {
	{LIT("reason"), K_WORD, LIT(" reason="), LIT("")}};
static const struct field f_nick[] = {
	{LIT("name"), K_OUTSIDE, LIT(" name="), LIT("")}};
static const struct field f_start[] = {
	{LIT("prog"), K_WORD, LIT(" "), LIT("")},
	{LIT("version"), K_WORD, LIT(" "), LIT("")},
	{LIT("addr"), K_WORD, LIT(" on "), LIT("")},
	{LIT("transports"), K_WORD, LIT(" ("), LIT(")")},
	{LIT("max-clients"), K_LONG, LIT(" max-clients="), LIT("")},
	{LIT("nofile"), K_U64, LIT(" nofile="), LIT("")},
	/* Only when --max-clients needs more than RLIMIT_NOFILE allows. */
	{LIT("nofile-needed"), K_U64, LIT(" nofile-needed="), LIT("")},
	{LIT("idle-timeout"), K_LONG, LIT(" idle-timeout="), LIT("s")},
	{LIT("max-line"), K_LONG, LIT(" max-line="), LIT("")},
	{LIT("drain-timeout"), K_SECONDS, LIT(" drain-timeout="), LIT("s")},
	{LIT("chat"), K_FLAG, LIT(" chat"), LIT("")},
	{LIT("echo"), K_FLAG, LIT(" echo"), LIT("")},
	{LIT("quiet"), K_FLAG, LIT(" quiet"), LIT("")},
};
static const struct field f_stop[] = {
	{LIT("prog"), K_WORD, LIT(" "), LIT(":")},
	{LIT("tcp-connections"), K_U64, LIT(" "), LIT(" tcp connections,")},
	{LIT("tcp-messages"), K_U64, LIT(" "), LIT(" tcp messages,")},
	{LIT("udp-messages"), K_U64, LIT(" "), LIT(" udp messages")},
};
static const struct field f_signal[] = {
	{LIT("signal"), K_WORD, LIT(" "), LIT("")},
	{LIT("action"), K_WORD, LIT(" action="), LIT("")},
};
static const struct field f_reopen[] = {
	{LIT("path"), K_OUTSIDE, LIT(" path="), LIT("")},
	{LIT("error"), K_WORD, LIT(" error=\""), LIT("\"")},
};
static const struct field f_upgraded[] = {
	{LIT("pid"), K_U64, LIT(" pid="), LIT("")}};
static const struct field f_upgrade_failed[] = {
	{LIT("pid"), K_U64, LIT(" pid="), LIT("")},
	{LIT("error"), K_WORD, LIT(" error=\""), LIT("\"")},
};
static const struct field f_gap[] = {
	{LIT("lines"), K_U64, LIT(" lines="), LIT("")},
	{LIT("bytes"), K_U64, LIT(" bytes="), LIT("")},
	{LIT("reason"), K_WORD, LIT(" reason=\""), LIT("\"")},
};
/* The --broker link (broker.h): up, down, and lines that did not reach
 * this server's room or left it for nobody. */
static const struct field f_broker[] = {
	{LIT("role"), K_WORD, LIT(" role="), LIT("")},
	{LIT("lines"), K_U64, LIT(" lines="), LIT("")},
	{LIT("reason"), K_WORD, LIT(" reason="), LIT("")},
	{LIT("from"), K_OUTSIDE, LIT(" from="), LIT("")},
	{LIT("error"), K_WORD, LIT(" error=\""), LIT("\"")},
	{LIT("retry"), K_SECONDS, LIT(" retry="), LIT("s")},
};
static const struct field f_truncated[] = {
	{LIT("from"), K_U64, LIT(" from="), LIT("")},
	{LIT("to"), K_U64, LIT(" to="), LIT("")},
};
static const struct field f_accept[] = {
	{LIT("error"), K_WORD, LIT(" failed: "),
	 LIT("; refusing clients until descriptors are free")},
};
/* A message: msg, msg-truncated, syslog, syslog-truncated; a writer
 * leaves out what its kind has not (MSG_* below). */
static const struct field f_msg[] = {
	{LIT("len"), K_U64, LIT(" len="), LIT("")},
	{LIT("facility"), K_WORD, LIT(" facility="), LIT("")},
	{LIT("severity"), K_WORD, LIT(" severity="), LIT("")},
	{LIT("hostname"), K_WORD, LIT(" hostname="), LIT("")},
	{LIT("app-name"), K_WORD, LIT(" app-name="), LIT("")},
	{LIT("procid"), K_WORD, LIT(" procid="), LIT("")},
	{LIT("msgid"), K_WORD, LIT(" msgid="), LIT("")},
	{LIT("text"), K_TEXT, LIT(" "), LIT("")},
};
enum {
	MSG_LEN,
	MSG_FACILITY,
	MSG_SEVERITY,
	MSG_HOSTNAME,
	MSG_APP_NAME,
	MSG_PROCID,
	MSG_MSGID,
	MSG_TEXT,
	MSG_FIELDS
};

#define FIELDS(a)   (a), sizeof(a) / sizeof((a)[0])
#define EVENT(name) ((struct lit)LIT(name))

/* ---- writing ---- */

/* Copies what fits of s[0..len) to dst[0..size); returns the bytes. */
static size_t copy_cut(char *dst, size_t size, const char *s, size_t len)
{
	if (len > size)
		len = size;
	memcpy(dst, s, len);
	return len;
}

size_t logline_who(char *dst, size_t size, const char *transport,
		   const char *peer, uint64_t number)
{
	char num[LOGFMT_U64_MAX];
	size_t n = 0, numlen = logfmt_u64(num, number);

	n += copy_cut(dst + n, size - n, transport, strlen(transport));
	n += copy_cut(dst + n, size - n, " ", 1);
	n += copy_cut(dst + n, size - n, peer, strlen(peer));
	n += copy_cut(dst + n, size - n, " #", 2);
	n += copy_cut(dst + n, size - n, num, numlen);
	return n;
}

void logline_now(char *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	logfmt_timestamp(ts, &now);
}

/*
 * A line being built in a caller's buffer.  Every put appends what fits;
 * what does not is dropped and sets cut.  The line's end is kept apart
 * ('\n'; for JSON "}\n"), so a line is never longer than its buffer and
 * always whole.  A JSON member that does not fit whole is taken back,
 * so a cut JSON line is still one valid object.
 */
struct builder {
	char *buf;
	size_t len, room; /* room: the size less the end kept apart */
	bool json, cut;
};

/* What does not fit: its head. */
static void put_cut(struct builder *b, const char *s, size_t len)
{
	b->len += copy_cut(b->buf + b->len, b->room - b->len, s, len);
	b->cut = true;
}

/* Inline, so that a literal's copy is a few moves: every message line is
 * made of these. */
static inline void put(struct builder *b, const char *s, size_t len)
{
	if (len > b->room - b->len) {
		put_cut(b, s, len);
		return;
	}
	memcpy(b->buf + b->len, s, len);
	b->len += len;
}

#define PUT(b, literal) put((b), (literal), sizeof(literal) - 1)

static void put_u64(struct builder *b, uint64_t v)
{
	char num[LOGFMT_U64_MAX];

	put(b, num, logfmt_u64(num, v));
}

/* Appends v, or "-" and its magnitude when negative. */
static void put_long(struct builder *b, long v)
{
	if (v < 0) {
		PUT(b, "-");
		put_u64(b, 0 - (uint64_t)v);
		return;
	}
	put_u64(b, (uint64_t)v);
}

/* Appends ms milliseconds as "S.mmm". */
static void put_seconds(struct builder *b, uint64_t ms)
{
	char frac[4];

	put_u64(b, ms / 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + ms / 100 % 10);
	frac[2] = (char)('0' + ms / 10 % 10);
	frac[3] = (char)('0' + ms % 10);
	put(b, frac, sizeof(frac));
}

static size_t escape(const struct builder *b, char *dst, const char *s,
		     size_t len)
{
	return b->json ? logfmt_escape_json(dst, s, len)
		       : logfmt_escape(dst, s, len);
}

/* Appends s[0..len) escaped, as much as fits whole with `keep` bytes
 * left over (what must follow it). */
static void put_escaped(struct builder *b, const char *s, size_t len,
			size_t keep)
{
	size_t free_ = b->room - b->len;
	size_t avail = free_ > keep ? free_ - keep : 0;
	size_t i = 0;

	/* Room for the worst case (a multiplication: no division per
	 * message). */
	if ((b->json ? LOGFMT_JSON_ESCAPED_MAX(len)
		     : LOGFMT_ESCAPED_MAX(len)) <= avail) {
		b->len += escape(b, b->buf + b->len, s, len);
		return;
	}
	/* Not room for the worst: a character (or a byte escaped alone) at
	 * a time, as many as fit.  A UTF-8 sequence the escaping keeps is
	 * kept whole; any other byte is escaped alone, as in the whole
	 * text. */
	while (i < len) {
		unsigned char lead = (unsigned char)s[i];
		size_t k = lead >= 0xf0	  ? 4
			   : lead >= 0xe0 ? 3
			   : lead >= 0xc0 ? 2
					  : 1;
		char unit[LOGFMT_JSON_ESCAPED_MAX(4)];
		size_t n;

		if (k > len - i)
			k = len - i;
		n = escape(b, unit, s + i, k);
		if (k > 1 && n != k)
			n = escape(b, unit, s + i, k = 1);
		if (n > avail) {
			b->cut = true;
			return;
		}
		memcpy(b->buf + b->len, unit, n);
		b->len += n;
		avail -= n;
		i += k;
	}
}

/* Takes back a JSON member that did not fit whole. */
static void take_back(struct builder *b, size_t mark)
{
	b->len = mark;
	b->cut = true;
}

/* Appends one field: text "BEFORE VALUE AFTER", JSON ,"KEY":VALUE.  A
 * JSON member is written whole or not at all, but for a string cut to
 * what fits (then the line ends after it). */
static inline __attribute__((always_inline)) void
put_field(struct builder *b, const struct field *f, const struct value *v)
{
	size_t mark = b->len;

	if (!v->set || b->cut)
		return;
	if (!b->json)
		put(b, f->before.s, f->before.len);
	else {
		PUT(b, ",\"");
		put(b, f->key.s, f->key.len);
		PUT(b, "\":");
	}
	switch (f->kind) {
	case K_WORD:
	case K_OUTSIDE:
	case K_TEXT:
		if (b->json) {
			PUT(b, "\"");
			if (b->cut)
				return take_back(b, mark);
			/* One byte kept for the closing quote. */
			put_escaped(b, v->s, v->len, 1);
			PUT(b, "\"");
		} else if (f->kind != K_WORD) {
			put_escaped(b, v->s, v->len, 0);
		} else {
			put(b, v->s, v->len);
		}
		break;
	case K_U64:
		put_u64(b, v->u);
		break;
	case K_LONG:
		put_long(b, v->l);
		break;
	case K_SECONDS:
		put_seconds(b, v->u);
		break;
	case K_FLAG:
		if (b->json)
			PUT(b, "true");
		break;
	}
	if (!b->json)
		put(b, f->after.s, f->after.len);
	else if (b->cut && f->kind != K_WORD && f->kind != K_OUTSIDE &&
		 f->kind != K_TEXT)
		take_back(b, mark);
}

/* A NUL-terminated string of at most max bytes, as a value. */
static struct value str_value(const char *s, size_t max)
{
	return (struct value){.set = s != NULL,
			      .s = s,
			      .len = s != NULL ? strnlen(s, max) : 0};
}

static struct value u64_value(uint64_t u)
{
	return (struct value){.set = true, .u = u};
}

static struct value long_value(long l)
{
	return (struct value){.set = true, .l = l};
}

static struct value flag_value(bool on)
{
	return (struct value){.set = on};
}

/* Splits WHO ("tcp 127.0.0.1:5 #17") into its three words. */
static void split_who(const char *who, size_t who_len, struct value w[3])
{
	const char *sp1 = memchr(who, ' ', who_len);
	const char *end = who + who_len, *sp2 = sp1;

	for (const char *p = end; sp1 != NULL && p > sp1; p--)
		if (p[-1] == ' ') {
			sp2 = p - 1;
			break;
		}
	if (sp1 == NULL || sp2 == sp1 || end - sp2 < 2 || sp2[1] != '#') {
		/* Not made by logline_who: shown as the peer. */
		w[0] = (struct value){.set = true, .s = "?", .len = 1};
		w[1] = (struct value){.set = true, .s = who, .len = who_len};
		w[2] = u64_value(0);
		return;
	}
	w[0] = (struct value){
		.set = true, .s = who, .len = (size_t)(sp1 - who)};
	w[1] = (struct value){
		.set = true, .s = sp1 + 1, .len = (size_t)(sp2 - sp1 - 1)};
	w[2] = u64_value(0);
	for (const char *p = sp2 + 2; p < end && *p >= '0' && *p <= '9'; p++)
		w[2].u = w[2].u * 10 + (uint64_t)(*p - '0');
}

/* Starts a line in buf[0..size), size >= 1 (JSON: 3): text "TS WHO
 * EVENT", JSON {"ts":"TS","transport":"T","peer":"P","id":N,"event":
 * "EVENT" (a server line has no transport, peer and id). */
/* JSON's "transport", "peer" and "id" members from WHO.  Out of line:
 * its values would otherwise sit in the frame of every text line too,
 * and a connect line is made on an idle worker's one stack page
 * (workers.h). */
static __attribute__((noinline)) void
put_who_json(struct builder *b, const char *who, size_t who_len)
{
	static const struct field who_fields[] = {
		{LIT("transport"), K_WORD, LIT(""), LIT("")},
		{LIT("peer"), K_WORD, LIT(""), LIT("")},
		{LIT("id"), K_U64, LIT(""), LIT("")},
	};
	struct value w[3];

	split_who(who, who_len, w);
	for (int i = 0; i < 3; i++)
		put_field(b, &who_fields[i], &w[i]);
}

static inline __attribute__((always_inline)) void
begin(struct builder *b, char *buf, size_t size, const char *ts,
      const char *who, size_t who_len, struct lit event)
{
	b->buf = buf;
	b->len = 0;
	b->json = line_format == LOGLINE_FORMAT_JSON;
	b->room = size - (b->json ? 3 : 1);
	b->cut = false;
	if (b->json && size < 3) { /* no room for "{}\n": "\n" alone */
		b->json = false;
		b->room = 0;
		b->cut = true;
		return;
	}
	if (!b->json) {
		put(b, ts, LOGFMT_TS_LEN);
		PUT(b, " ");
		put(b, who, who_len);
		PUT(b, " ");
		put(b, event.s, event.len);
		return;
	}
	PUT(b, "{\"ts\":\"");
	put(b, ts, LOGFMT_TS_LEN);
	PUT(b, "\"");
	if (!(who_len == LOGLINE_SERVER_WHO_LEN &&
	      memcmp(who, LOGLINE_SERVER_WHO, who_len) == 0))
		put_who_json(b, who, who_len);
	PUT(b, ",\"event\":\"");
	put(b, event.s, event.len);
	PUT(b, "\"");
	if (b->cut)
		b->len = 0; /* no room for the header: "{}" */
}

/* Ends the line ('\n', JSON "}\n"); returns its length. */
static size_t finish(struct builder *b)
{
	if (b->json && b->len == 0)
		b->buf[b->len++] = '{';
	if (b->json)
		b->buf[b->len++] = '}';
	b->buf[b->len++] = '\n';
	return b->len;
}

/* A whole event: its header, then its fields from the table. */
static inline __attribute__((always_inline)) size_t
event_line_inline(char *buf, size_t size, const char *ts, const char *who,
		  size_t who_len, struct lit event, const struct field *fields,
		  size_t nfields, const struct value *values)
{
	struct builder b;

	begin(&b, buf, size, ts, who, who_len, event);
	/* Unrolled where the table is known (logline_msg): each field's
	 * kind and literals are then constants. */
#pragma GCC unroll 8
	for (size_t i = 0; i < nfields; i++)
		if (values[i].set)
			put_field(&b, &fields[i], &values[i]);
	return finish(&b);
}

/* The same, one copy for the events the server makes a few of
 * (logline_msg has its own, where the table is known and every literal
 * a few moves). */
static size_t event_line(char *buf, size_t size, const char *ts,
			 const char *who, size_t who_len, struct lit event,
			 const struct field *fields, size_t nfields,
			 const struct value *values)
{
	return event_line_inline(buf, size, ts, who, who_len, event, fields,
				 nfields, values);
}

#define SERVER LOGLINE_SERVER_WHO, LOGLINE_SERVER_WHO_LEN

/* An error text is cut to this: the longest glibc strerror() is 50. */
#define ERROR_TEXT_MAX 64
/* A reason word is cut to this: the longest today is 14. */
#define REASON_MAX 32
/* The server's own words (a name, an address, a version). */
#define WORD_MAX 128

size_t logline_msg_max(size_t len)
{
	size_t names = len < SYSLOGMSG_NAMES_MAX ? len : SYSLOGMSG_NAMES_MAX;

	/* The header, the event and every key of f_msg (under 160 bytes
	 * as text, 320 as JSON), the names (in JSON '"' and '\' take two
	 * bytes), the escaped text. */
	if (line_format == LOGLINE_FORMAT_JSON)
		return 320 + LOGLINE_WHO_MAX + 2 * names +
		       LOGFMT_JSON_ESCAPED_MAX(len);
	return 160 + LOGLINE_WHO_MAX + names + LOGFMT_ESCAPED_MAX(len);
}

size_t logline_msg(char *buf, size_t size, const char *ts, const char *who,
		   size_t who_len, const char *text, size_t len,
		   size_t full_len)
{
	const struct value whole = {.set = true, .s = text, .len = len};
	struct value v[MSG_FIELDS];
	struct syslogmsg h;
	bool cut = full_len > len;
	/* Only '<' starts a header: the others pay one compare. */
	bool is_syslog = len > 0 && text[0] == '<' &&
			 syslogmsg_parse(text, len, &h) == 0;

	/* Most messages: whole, not syslog's.  Their one field, the text,
	 * is written straight from the table. */
	if (!cut && !is_syslog) {
		struct builder b;

		begin(&b, buf, size, ts, who, who_len, EVENT("msg"));
		put_field(&b, &f_msg[MSG_TEXT], &whole);
		return finish(&b);
	}
	for (int i = 0; i < MSG_FIELDS; i++)
		v[i].set = false;
	if (cut)
		v[MSG_LEN] = u64_value(full_len);
	if (is_syslog) {
		v[MSG_FACILITY] = str_value(syslogmsg_facility(h.facility), 16);
		v[MSG_SEVERITY] = str_value(syslogmsg_severity(h.severity), 16);
		v[MSG_HOSTNAME] = (struct value){
			.set = true, .s = h.hostname, .len = h.hostname_len};
		if (h.rfc == SYSLOGMSG_RFC5424) {
			v[MSG_APP_NAME] = (struct value){.set = true,
							 .s = h.app_name,
							 .len = h.app_name_len};
			v[MSG_PROCID] = (struct value){.set = true,
						       .s = h.procid,
						       .len = h.procid_len};
			v[MSG_MSGID] = (struct value){
				.set = true, .s = h.msgid, .len = h.msgid_len};
		}
	}
	v[MSG_TEXT] = whole;
	return event_line_inline(
		buf, size, ts, who, who_len,
		is_syslog ? (cut ? EVENT("syslog-truncated") : EVENT("syslog"))
			  : EVENT("msg-truncated"),
		FIELDS(f_msg), v);
}

size_t logline_connect(char *buf, size_t size, const char *ts, const char *who,
		       size_t who_len)
{
	return event_line(buf, size, ts, who, who_len, EVENT("connect"), NULL,
			  0, NULL);
}

size_t logline_disconnect(char *buf, size_t size, const char *ts,
			  const char *who, size_t who_len,
			  const struct logline_disconnect *d)
{
	const struct value v[] = {
		str_value(d->reason, REASON_MAX),
		str_value(d->error, ERROR_TEXT_MAX),
		u64_value(d->messages),
		u64_value(d->bytes),
		u64_value(d->truncated),
		u64_value(d->discarded),
		u64_value(d->unsent),
		u64_value(d->duration_ms),
	};

	return event_line(buf, size, ts, who, who_len, EVENT("disconnect"),
			  FIELDS(f_disconnect), v);
}

size_t logline_refused(char *buf, size_t size, const char *ts, const char *who,
		       size_t who_len, const char *reason)
{
	const struct value v[] = {str_value(reason, REASON_MAX)};

	return event_line(buf, size, ts, who, who_len, EVENT("refused"),
			  FIELDS(f_reason), v);
}

size_t logline_frame_error(char *buf, size_t size, const char *ts,
			   const char *who, size_t who_len,
			   const struct frame_fault *fault)
{
	bool head = fault->head_len > 0 && fault->head_len <= FRAME_HEAD_MAX;
	struct value v[] = {
		str_value(fault->reason, REASON_MAX),
		{.set = head, .s = fault->head, .len = fault->head_len},
		u64_value(fault->count),
		u64_value(fault->got),
	};

	v[2].set = v[3].set = !head;
	return event_line(buf, size, ts, who, who_len, EVENT("frame-error"),
			  FIELDS(f_frame_error), v);
}

size_t logline_nick(char *buf, size_t size, const char *ts, const char *who,
		    size_t who_len, const char *name)
{
	/* A name is a few bytes of [A-Za-z0-9_.-] (chat.h). */
	const struct value v[] = {str_value(name, 64)};

	return event_line(buf, size, ts, who, who_len, EVENT("nick"),
			  FIELDS(f_nick), v);
}

size_t logline_start(char *buf, size_t size, const char *ts,
		     const struct logline_start *s)
{
	const struct value v[] = {
		str_value(s->prog, WORD_MAX),
		str_value(s->version, WORD_MAX),
		str_value(s->addr, WORD_MAX),
		str_value(s->transports, WORD_MAX),
		long_value(s->max_clients),
		u64_value(s->nofile),
		{.set = s->nofile_needed > 0, .u = s->nofile_needed},
		long_value(s->idle_timeout),
		long_value(s->max_line),
		u64_value((uint64_t)s->drain_timeout_ms),
		flag_value(s->chat),
		flag_value(s->echo),
		flag_value(s->quiet),
	};

	return event_line(buf, size, ts, SERVER, EVENT("start"),
			  FIELDS(f_start), v);
}

size_t logline_stop(char *buf, size_t size, const char *ts,
		    const struct logline_stop *s)
{
	const struct value v[] = {
		str_value(s->prog, WORD_MAX),
		u64_value(s->tcp_conns),
		u64_value(s->tcp_msgs),
		u64_value(s->udp_msgs),
	};

	return event_line(buf, size, ts, SERVER, EVENT("stop"), FIELDS(f_stop),
			  v);
}

size_t logline_signal(char *buf, size_t size, const char *ts,
		      const char *signal, const char *action)
{
	const struct value v[] = {str_value(signal, WORD_MAX),
				  str_value(action, REASON_MAX)};

	return event_line(buf, size, ts, SERVER, EVENT("signal"),
			  FIELDS(f_signal), v);
}

size_t logline_log_reopened(char *buf, size_t size, const char *ts,
			    const char *path, const char *error)
{
	const struct value v[] = {str_value(path, LOGLINE_PATH_MAX),
				  str_value(error, ERROR_TEXT_MAX)};

	return event_line(buf, size, ts, SERVER,
			  error == NULL ? EVENT("log-reopened")
					: EVENT("log-reopen-failed"),
			  FIELDS(f_reopen), v);
}

size_t logline_upgrade(char *buf, size_t size, const char *ts, uint64_t pid,
		       const char *error)
{
	const struct value v[] = {u64_value(pid),
				  str_value(error, ERROR_TEXT_MAX)};

	if (error == NULL)
		return event_line(buf, size, ts, SERVER, EVENT("upgraded"),
				  FIELDS(f_upgraded), v);
	return event_line(buf, size, ts, SERVER, EVENT("upgrade-failed"),
			  FIELDS(f_upgrade_failed), v);
}

size_t logline_log_gap(char *buf, size_t size, const char *ts, uint64_t lines,
		       uint64_t bytes, const char *reason)
{
	const struct value v[] = {u64_value(lines), u64_value(bytes),
				  str_value(reason, ERROR_TEXT_MAX)};

	return event_line(buf, size, ts, SERVER, EVENT("log-gap"),
			  FIELDS(f_gap), v);
}

size_t logline_broker(char *buf, size_t size, const char *ts,
		      const struct logline_broker *b)
{
	static const struct lit events[] = {
		[LOGLINE_BROKER_UP] = LIT("broker-up"),
		[LOGLINE_BROKER_DOWN] = LIT("broker-down"),
		[LOGLINE_BROKER_LOST] = LIT("broker-lost"),
	};
	const struct value v[] = {
		str_value(b->role, WORD_MAX),
		b->event == LOGLINE_BROKER_LOST ? u64_value(b->lines)
						: (struct value){.set = false},
		str_value(b->reason, REASON_MAX),
		str_value(b->from, WORD_MAX),
		str_value(b->error, ERROR_TEXT_MAX),
		b->event == LOGLINE_BROKER_DOWN ? u64_value(b->retry_ms)
						: (struct value){.set = false},
	};

	return event_line(buf, size, ts, SERVER, events[b->event],
			  FIELDS(f_broker), v);
}

size_t logline_log_truncated(char *buf, size_t size, const char *ts,
			     uint64_t from, uint64_t to)
{
	const struct value v[] = {u64_value(from), u64_value(to)};

	return event_line(buf, size, ts, SERVER, EVENT("log-truncated"),
			  FIELDS(f_truncated), v);
}

size_t logline_accept_failed(char *buf, size_t size, const char *ts,
			     const char *error)
{
	const struct value v[] = {str_value(error, ERROR_TEXT_MAX)};

	return event_line(buf, size, ts, SERVER, EVENT("accept"),
			  FIELDS(f_accept), v);
}

/* ---- reading ---- */

/* A cursor over the line being parsed. */
struct cursor {
	const char *p, *end;
};

static int bad(struct logline *out, const char *why)
{
	out->error = why;
	errno = EINVAL;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads n digits; -1 when any is not one. */
static long fixed_digits(const char *s, int n)
{
	long v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long long days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long long)era * 146097 + doe - 719468;
}

static bool leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static long days_in_month(long y, long m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" and the byte after it, term (text: a
 * space; JSON: the string's closing quote); the writer makes six
 * fraction digits, the reader takes one to nine. */
static int parse_timestamp(struct cursor *c, struct logline *out, char term)
{
	const char *s = c->p, *f;
	long y, mo, d, h, mi, sec, nsec = 0, scale = 100000000;

	if (c->end - s < 21 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.')
		return bad(out, "bad timestamp");
	y = fixed_digits(s, 4);
	mo = fixed_digits(s + 5, 2);
	d = fixed_digits(s + 8, 2);
	h = fixed_digits(s + 11, 2);
	mi = fixed_digits(s + 14, 2);
	sec = fixed_digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60 || d > days_in_month(y, mo))
		return bad(out, "bad timestamp");
	for (f = s + 20; f < c->end && is_digit(*f) && scale > 0; f++) {
		nsec += (*f - '0') * scale;
		scale /= 10;
	}
	if (f == s + 20 || c->end - f < 2 || f[0] != 'Z' || f[1] != term)
		return bad(out, "bad timestamp");
	out->ts.tv_sec = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 +
				  mi * 60 + sec);
	out->ts.tv_nsec = nsec;
	c->p = f + 2;
	return 0;
}

/* The next space-terminated word: its start and length; the cursor
 * moves past the space.  -1 when the line ends first. */
static int word(struct cursor *c, const char **w, size_t *wlen)
{
	const char *sp = memchr(c->p, ' ', (size_t)(c->end - c->p));

	if (sp == NULL)
		return -1;
	*w = c->p;
	*wlen = (size_t)(sp - c->p);
	c->p = sp + 1;
	return 0;
}

static bool equals(const char *s, size_t len, const char *word_)
{
	size_t n = strlen(word_);

	return len == n && memcmp(s, word_, n) == 0;
}

/* Decimal digits s[0..len) without sign or leading zero (but "0").
 * 0 or -1 (empty, not digits, overflow). */
static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t n = 0;

	if (len == 0 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned dg = (unsigned)(s[i] - '0');

		if (dg > 9 || n > (UINT64_MAX - dg) / 10)
			return -1;
		n = n * 10 + dg;
	}
	*v = n;
	return 0;
}

/* "TRANSPORT PEER #N " or "- - - ". */
static int parse_who(struct cursor *c, struct logline *out)
{
	const char *t, *num;
	size_t tlen, numlen;

	if (word(c, &t, &tlen) == -1 ||
	    word(c, &out->peer, &out->peer_len) == -1 ||
	    word(c, &num, &numlen) == -1)
		return bad(out, "truncated line");
	if (equals(t, tlen, "-")) {
		if (!equals(out->peer, out->peer_len, "-") ||
		    !equals(num, numlen, "-"))
			return bad(out, "bad server line");
		out->transport = LOGLINE_SERVER;
		out->number = 0;
		return 0;
	}
	if (equals(t, tlen, "tcp"))
		out->transport = LOGLINE_TCP;
	else if (equals(t, tlen, "udp"))
		out->transport = LOGLINE_UDP;
	else
		return bad(out, "bad transport");
	if (out->peer_len == 0)
		return bad(out, "bad peer");
	if (numlen < 2 || num[0] != '#' ||
	    parse_u64(num + 1, numlen - 1, &out->number) == -1)
		return bad(out, "bad number");
	return 0;
}

static const struct {
	const char *name;
	enum logline_event event;
} events[] = {
	{"msg", LOGLINE_MSG},
	{"msg-truncated", LOGLINE_MSG_TRUNCATED},
	{"connect", LOGLINE_CONNECT},
	{"disconnect", LOGLINE_DISCONNECT},
	{"refused", LOGLINE_REFUSED},
	{"start", LOGLINE_START},
	{"stop", LOGLINE_STOP},
	{"accept", LOGLINE_ACCEPT},
	{"syslog", LOGLINE_SYSLOG},
	{"syslog-truncated", LOGLINE_SYSLOG_TRUNCATED},
};

static enum logline_event event_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (equals(name, len, events[i].name))
			return events[i].event;
	return LOGLINE_OTHER;
}

/* Non-zero when a byte of v is one logfmt_escape never leaves as it is
 * below 0x80: a control byte, DEL, or a backslash. */
static uint64_t swar_special(uint64_t v)
{
	return swar_has_less(v, 0x20) | swar_has_byte(v, 0x7f) |
	       swar_has_byte(v, '\\');
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One of logfmt_escape's escapes, e[0..avail) just after its backslash:
 * '\\', 'n', 't', 'r' or 'xHH'.  Stores the byte it stands for in *out
 * and returns how many characters it took (1 or 3), or -1.  The text and
 * the JSON readers both undo escapes through it. */
static int escape_value(const char *e, size_t avail, char *out)
{
	int hi, lo;

	if (avail < 1)
		return -1;
	switch (e[0]) {
	case '\\':
		*out = '\\';
		return 1;
	case 'n':
		*out = '\n';
		return 1;
	case 't':
		*out = '\t';
		return 1;
	case 'r':
		*out = '\r';
		return 1;
	case 'x':
		if (avail < 3 || (hi = hex_value(e[1])) < 0 ||
		    (lo = hex_value(e[2])) < 0)
			return -1;
		*out = (char)(hi << 4 | lo);
		return 3;
	default:
		return -1;
	}
}

int logline_unescape(char *dst, const char *src, size_t len, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned char ch = s[i];
		int took;

		if (len - i >= 8 && !swar_special(swar_load(s + i))) {
			memcpy(dst + n, s + i, 8);
			n += 8;
			i += 8;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f)
			goto bad;
		if (ch != '\\') {
			dst[n++] = (char)ch;
			i++;
			continue;
		}
		took = escape_value(src + i + 1, len - i - 1, &dst[n]);
		if (took < 0)
			goto bad;
		n++;
		i += 1 + (size_t)took;
	}
	*out_len = n;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* Position of the first byte that is not plain (control, DEL,
 * backslash) in s[0..len), or len. */
static size_t plain_span(const char *s, size_t len)
{
	size_t i = 0;

	while (len - i >= 8 && !swar_special(swar_load(s + i)))
		i += 8;
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			break;
	}
	return i;
}

/* The text must be what the writer makes of it (logfmt_escape): a raw
 * byte it would have escaped (invalid UTF-8, a right-to-left override)
 * or an escape it never writes ("\\x41" for "A") marks a line it did not
 * write. */
static int check_canonical(struct logline *out)
{
	if (!logfmt_escape_equals(out->text, out->text_len, out->escaped,
				  out->escaped_len))
		return bad(out, "text not escaped as the writer does");
	return 0;
}

/* The text of a msg or msg-truncated line, at the cursor. */
static int parse_text(struct cursor *c, struct logline *out, char *textbuf,
		      size_t textcap)
{
	const char *s = c->p;
	size_t len = (size_t)(c->end - c->p), plain = plain_span(s, len);

	out->escaped = s;
	out->escaped_len = len;
	if (plain == len) { /* nothing escaped: the line's own bytes */
		out->text = s;
		out->text_len = len;
		return check_canonical(out);
	}
	if (textbuf == NULL || textcap < len) {
		out->error = "no room for the unescaped text";
		errno = EMSGSIZE;
		return -1;
	}
	if (logline_unescape(textbuf, s, len, &out->text_len) == -1)
		return bad(out, "bad escape in text");
	out->text = textbuf;
	return check_canonical(out);
}

/* The fields after a server event's word: no control byte in them. */
static int parse_rest(struct cursor *c, struct logline *out)
{
	out->rest = c->p;
	out->rest_len = (size_t)(c->end - c->p);
	for (size_t i = 0; i < out->rest_len; i++) {
		unsigned char ch = (unsigned char)out->rest[i];

		if (ch < 0x20 || ch == 0x7f)
			return bad(out, "control byte in line");
	}
	return 0;
}

/* "S.mmms", as logline_disconnect writes a duration. */
/* "S.mmms" as the text writes a duration; JSON: "S.mmm". */
static bool is_duration(const char *s, size_t len, enum logline_format f)
{
	uint64_t sec;
	size_t dot;

	if (f == LOGLINE_FORMAT_TEXT) {
		if (len == 0 || s[len - 1] != 's')
			return false;
		len--;
	}
	dot = len >= 4 ? len - 4 : 0;
	return len >= 5 && parse_u64(s, dot, &sec) == 0 && s[dot] == '.' &&
	       is_digit(s[dot + 1]) && is_digit(s[dot + 2]) &&
	       is_digit(s[dot + 3]);
}

/* The fields an event of a known kind must have, so that a line cut
 * short is not taken for a whole one. */
static int check_fields(struct logline *out)
{
	static const char *const counts[] = {"messages", "bytes", "truncated",
					     "discarded", "unsent"};
	const char *v;
	size_t vlen;
	uint64_t n;

	switch (out->event) {
	case LOGLINE_CONNECT:
		if (out->rest_len != 0)
			return bad(out, "connect takes no fields");
		return 0;
	case LOGLINE_REFUSED:
	case LOGLINE_DISCONNECT:
		if (logline_field(out, "reason", &v, &vlen) == -1 || vlen == 0)
			return bad(out, "no reason=");
		if (out->event == LOGLINE_REFUSED)
			return 0;
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
			if (logline_field_u64(out, counts[i], &n) == -1)
				return bad(out, "disconnect lacks a count");
		if (logline_field(out, "duration", &v, &vlen) == -1 ||
		    !is_duration(v, vlen, out->format))
			return bad(out, "disconnect lacks duration=S.mmms");
		return 0;
	default:
		return 0;
	}
}

/* ---- syslog fields, both formats ---- */

/* Whether view v[0..vlen) is how the line's format writes s[0..len):
 * as it is in the text, JSON-escaped in JSON. */
static bool logged_as(const struct logline *l, const char *s, size_t len,
		      const char *v, size_t vlen)
{
	if (l->format == LOGLINE_FORMAT_JSON)
		return logfmt_escape_json_equals(s, len, v, vlen);
	return len == vlen && memcmp(s, v, len) == 0;
}

static bool name_is(const char *v, size_t vlen, const char *name)
{
	return name != NULL && equals(v, vlen, name);
}

/* A syslog line's fields must be what the writer takes from its text:
 * a header there, and the same names. */
static int check_syslog(struct logline *out)
{
	const struct logline_syslog *f = &out->syslog;
	struct syslogmsg h;

	if (syslogmsg_parse(out->text, out->text_len, &h) == -1)
		return bad(out, "syslog line without a syslog header");
	if (!name_is(f->facility, f->facility_len,
		     syslogmsg_facility(h.facility)) ||
	    !name_is(f->severity, f->severity_len,
		     syslogmsg_severity(h.severity)) ||
	    !logged_as(out, h.hostname, h.hostname_len, f->hostname,
		       f->hostname_len) ||
	    (h.rfc == SYSLOGMSG_RFC5424) != (f->app_name != NULL))
		return bad(out, "syslog fields not the header's");
	if (h.rfc == SYSLOGMSG_RFC5424 &&
	    (!logged_as(out, h.app_name, h.app_name_len, f->app_name,
			f->app_name_len) ||
	     !logged_as(out, h.procid, h.procid_len, f->procid,
			f->procid_len) ||
	     !logged_as(out, h.msgid, h.msgid_len, f->msgid, f->msgid_len)))
		return bad(out, "syslog fields not the header's");
	return 0;
}

/* The text's "key=VALUE " word, VALUE not empty. */
static int kv_word(struct cursor *c, const char *key, const char **v,
		   size_t *vlen)
{
	size_t klen = strlen(key);

	if ((size_t)(c->end - c->p) < klen || memcmp(c->p, key, klen) != 0)
		return -1;
	c->p += klen;
	return word(c, v, vlen) == -1 || *vlen == 0 ? -1 : 0;
}

/* facility=F severity=S hostname=H[ app-name=A procid=P msgid=M], and
 * the space before the text. */
static int text_syslog_fields(struct cursor *c, struct logline *out)
{
	struct logline_syslog *f = &out->syslog;

	if (kv_word(c, "facility=", &f->facility, &f->facility_len) == -1 ||
	    kv_word(c, "severity=", &f->severity, &f->severity_len) == -1 ||
	    kv_word(c, "hostname=", &f->hostname, &f->hostname_len) == -1)
		return bad(out, "bad syslog fields");
	if ((size_t)(c->end - c->p) >= 9 && memcmp(c->p, "app-name=", 9) == 0 &&
	    (kv_word(c, "app-name=", &f->app_name, &f->app_name_len) == -1 ||
	     kv_word(c, "procid=", &f->procid, &f->procid_len) == -1 ||
	     kv_word(c, "msgid=", &f->msgid, &f->msgid_len) == -1))
		return bad(out, "bad syslog fields");
	return 0;
}

/* ---- JSON lines ---- */

/* Takes the literal lit at the cursor. */
static int json_lit(struct cursor *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

/* A string's bytes after its opening quote, up to its closing quote
 * (which the cursor passes).  Inside: no control byte or DEL, and '\\'
 * only before '\\' or '"' (all the writer makes). */
static int json_string(struct cursor *c, const char **s, size_t *len)
{
	const char *p = c->p;

	while (p < c->end) {
		unsigned char ch;

		if (c->end - p >= 8) {
			uint64_t v = swar_load(p);

			if (!(swar_special(v) | swar_has_byte(v, '"'))) {
				p += 8;
				continue;
			}
		}
		ch = (unsigned char)*p;
		if (ch == '"') {
			*s = c->p;
			*len = (size_t)(p - c->p);
			c->p = p + 1;
			return 0;
		}
		if (ch < 0x20 || ch == 0x7f)
			return -1;
		if (ch == '\\') {
			if (c->end - p < 2 || (p[1] != '\\' && p[1] != '"'))
				return -1;
			p++;
		}
		p++;
	}
	return -1;
}

/* `,"KEY":"` then the string; 0, or -1 with the cursor where it was. */
static int json_string_member(struct cursor *c, const char *key, const char **s,
			      size_t *len)
{
	const char *at = c->p;

	if (json_lit(c, ",\"") == -1 || json_lit(c, key) == -1 ||
	    json_lit(c, "\":\"") == -1 || json_string(c, s, len) == -1) {
		c->p = at;
		return -1;
	}
	return 0;
}

/* A number as the writer makes one: [-]digits[.digits], up to a ',' or
 * the end. */
static int json_number(struct cursor *c, const char **s, size_t *len)
{
	const char *p = c->p;
	int dots = 0;

	if (p < c->end && *p == '-')
		p++;
	if (p == c->end || !is_digit(*p))
		return -1;
	for (; p < c->end && *p != ','; p++) {
		if (*p == '.' && dots++ == 0 && p + 1 < c->end &&
		    is_digit(p[1]))
			continue;
		if (!is_digit(*p))
			return -1;
	}
	*s = c->p;
	*len = (size_t)(p - c->p);
	c->p = p;
	return 0;
}

/* The members after "event": ,"KEY":VALUE... each VALUE a string, a
 * number or true; the last ends the line. */
static int json_members(struct cursor *c)
{
	const char *s;
	size_t len;

	while (c->p < c->end) {
		if (json_lit(c, ",\"") == -1 ||
		    json_string(c, &s, &len) == -1 || len == 0 ||
		    json_lit(c, ":") == -1)
			return -1;
		if (json_lit(c, "\"") == 0) {
			if (json_string(c, &s, &len) == -1)
				return -1;
		} else if (json_lit(c, "true") == -1 &&
			   json_number(c, &s, &len) == -1) {
			return -1;
		}
	}
	return 0;
}

/* Undoes logfmt_escape_json: src[0..len) into dst (room for len). */
static int json_unescape(char *dst, const char *src, size_t len,
			 size_t *out_len)
{
	size_t i = 0, n = 0;
	int took;

	while (i < len) {
		if (src[i] != '\\') {
			dst[n++] = src[i++];
			continue;
		}
		/* JSON's \" is a '"'; its \\ is the text escape's '\'. */
		if (len - i >= 2 && src[i + 1] == '"') {
			dst[n++] = '"';
			i += 2;
			continue;
		}
		if (len - i < 3 || src[i + 1] != '\\')
			goto bad;
		/* The text escape for a backslash, two of them, is four
		 * in JSON: its second backslash is JSON-escaped too. */
		if (src[i + 2] == '\\') {
			if (len - i < 4 || src[i + 3] != '\\')
				goto bad;
			dst[n++] = '\\';
			i += 4;
			continue;
		}
		took = escape_value(src + i + 2, len - i - 2, &dst[n]);
		if (took < 0)
			goto bad;
		n++;
		i += 2 + (size_t)took;
	}
	*out_len = n;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* The "text" member's string s[0..len), as parse_text for JSON. */
static int json_text(struct logline *out, const char *s, size_t len,
		     char *textbuf, size_t textcap)
{
	out->escaped = s;
	out->escaped_len = len;
	if (memchr(s, '\\', len) == NULL) { /* nothing escaped */
		out->text = s;
		out->text_len = len;
	} else {
		if (textbuf == NULL || textcap < len) {
			out->error = "no room for the unescaped text";
			errno = EMSGSIZE;
			return -1;
		}
		if (json_unescape(textbuf, s, len, &out->text_len) == -1)
			return bad(out, "bad escape in text");
		out->text = textbuf;
	}
	if (!logfmt_escape_json_equals(out->text, out->text_len, s, len))
		return bad(out, "text not escaped as the writer does");
	return 0;
}

/* A message's members: [,"len":N][,"facility":...],"text":"..." */
static int json_message(struct cursor *c, struct logline *out, char *textbuf,
			size_t textcap)
{
	struct logline_syslog *f = &out->syslog;
	bool cut = out->event == LOGLINE_MSG_TRUNCATED ||
		   out->event == LOGLINE_SYSLOG_TRUNCATED;
	const char *s;
	size_t len;

	if (cut &&
	    (json_lit(c, ",\"len\":") == -1 || json_number(c, &s, &len) == -1 ||
	     parse_u64(s, len, &out->full_len) == -1))
		return bad(out, "bad len of a truncated message");
	if (out->event == LOGLINE_SYSLOG ||
	    out->event == LOGLINE_SYSLOG_TRUNCATED) {
		if (json_string_member(c, "facility", &f->facility,
				       &f->facility_len) == -1 ||
		    json_string_member(c, "severity", &f->severity,
				       &f->severity_len) == -1 ||
		    json_string_member(c, "hostname", &f->hostname,
				       &f->hostname_len) == -1)
			return bad(out, "bad syslog fields");
		if ((size_t)(c->end - c->p) >= 11 &&
		    memcmp(c->p, ",\"app-name\"", 11) == 0 &&
		    (json_string_member(c, "app-name", &f->app_name,
					&f->app_name_len) == -1 ||
		     json_string_member(c, "procid", &f->procid,
					&f->procid_len) == -1 ||
		     json_string_member(c, "msgid", &f->msgid, &f->msgid_len) ==
			     -1))
			return bad(out, "bad syslog fields");
	}
	if (json_string_member(c, "text", &s, &len) == -1 || c->p != c->end)
		return bad(out, "bad text member");
	return json_text(out, s, len, textbuf, textcap);
}

/* {"ts":"TS"[,"transport":"T","peer":"P","id":N],"event":"E"...} */
static int parse_json(struct cursor *c, struct logline *out, char *textbuf,
		      size_t textcap)
{
	const char *s;
	size_t len;

	out->format = LOGLINE_FORMAT_JSON;
	if (c->end - c->p < 2 || c->end[-1] != '}')
		return bad(out, "JSON line without its closing brace");
	c->end--;
	if (json_lit(c, "{\"ts\":\"") == -1)
		return bad(out, "bad timestamp");
	if (parse_timestamp(c, out, '"') == -1)
		return -1;
	if (json_string_member(c, "transport", &s, &len) == 0) {
		if (equals(s, len, "tcp"))
			out->transport = LOGLINE_TCP;
		else if (equals(s, len, "udp"))
			out->transport = LOGLINE_UDP;
		else
			return bad(out, "bad transport");
		if (json_string_member(c, "peer", &out->peer, &out->peer_len) ==
			    -1 ||
		    out->peer_len == 0 ||
		    memchr(out->peer, '\\', out->peer_len) != NULL)
			return bad(out, "bad peer");
		if (json_lit(c, ",\"id\":") == -1 ||
		    json_number(c, &s, &len) == -1 ||
		    parse_u64(s, len, &out->number) == -1)
			return bad(out, "bad number");
	} else {
		out->transport = LOGLINE_SERVER;
		out->peer = "-";
		out->peer_len = 1;
	}
	if (json_string_member(c, "event", &out->name, &out->name_len) == -1 ||
	    out->name_len == 0 || memchr(out->name, '\\', out->name_len))
		return bad(out, "no event");
	out->event = event_of(out->name, out->name_len);
	switch (out->event) {
	case LOGLINE_MSG:
	case LOGLINE_MSG_TRUNCATED:
	case LOGLINE_SYSLOG:
	case LOGLINE_SYSLOG_TRUNCATED:
		if (json_message(c, out, textbuf, textcap) == -1)
			return -1;
		break;
	default:
		out->rest = c->p;
		out->rest_len = (size_t)(c->end - c->p);
		if (json_members(c) == -1)
			return bad(out, "bad JSON member");
		return check_fields(out);
	}
	if (out->event == LOGLINE_MSG || out->event == LOGLINE_SYSLOG)
		out->full_len = out->text_len;
	if ((out->event == LOGLINE_SYSLOG ||
	     out->event == LOGLINE_SYSLOG_TRUNCATED))
		return check_syslog(out);
	return 0;
}

/* A member "key" of a JSON line's rest (logline_field). */
static int json_field(const struct logline *l, const char *key,
		      const char **value, size_t *value_len)
{
	struct cursor c = {l->rest, l->rest + l->rest_len};
	const char *k, *v;
	size_t klen, vlen;

	while (c.p < c.end) {
		if (json_lit(&c, ",\"") == -1 ||
		    json_string(&c, &k, &klen) == -1 || json_lit(&c, ":") == -1)
			return -1;
		if (json_lit(&c, "\"") == 0) {
			if (json_string(&c, &v, &vlen) == -1)
				return -1;
		} else {
			v = c.p;
			while (c.p < c.end && *c.p != ',')
				c.p++;
			vlen = (size_t)(c.p - v);
		}
		if (equals(k, klen, key)) {
			*value = v;
			*value_len = vlen;
			return 0;
		}
	}
	return -1;
}

/* ---- the line ---- */

/* After the text's event word: msg-truncated's and syslog-truncated's
 * len=N, syslog's fields. */
static int text_message_fields(struct cursor *c, struct logline *out)
{
	const char *kv;
	size_t kvlen;

	if (out->event == LOGLINE_MSG_TRUNCATED ||
	    out->event == LOGLINE_SYSLOG_TRUNCATED) {
		if (word(c, &kv, &kvlen) == -1)
			return bad(out, "truncated line");
		if (kvlen < 5 || memcmp(kv, "len=", 4) != 0 ||
		    parse_u64(kv + 4, kvlen - 4, &out->full_len) == -1)
			return bad(out, "bad len= of a truncated message");
	}
	if (out->event == LOGLINE_SYSLOG ||
	    out->event == LOGLINE_SYSLOG_TRUNCATED)
		return text_syslog_fields(c, out);
	return 0;
}

int logline_parse(const char *line, size_t len, struct logline *out,
		  char *textbuf, size_t textcap)
{
	struct cursor c = {line, line + len};
	const char *sp;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\n')
		c.end--;
	if (memchr(line, '\n', (size_t)(c.end - line)) != NULL)
		return bad(out, "newline inside the line");
	if (c.p < c.end && *c.p == '{')
		return parse_json(&c, out, textbuf, textcap);
	if (parse_timestamp(&c, out, ' ') == -1 || parse_who(&c, out) == -1)
		return -1;
	/* The event's word ends at a space or at the end of the line. */
	sp = memchr(c.p, ' ', (size_t)(c.end - c.p));
	out->name = c.p;
	out->name_len = (size_t)((sp != NULL ? sp : c.end) - c.p);
	if (out->name_len == 0)
		return bad(out, "no event");
	out->event = event_of(out->name, out->name_len);
	c.p = sp != NULL ? sp + 1 : c.end;
	switch (out->event) {
	case LOGLINE_MSG:
	case LOGLINE_MSG_TRUNCATED:
	case LOGLINE_SYSLOG:
	case LOGLINE_SYSLOG_TRUNCATED:
		if (sp == NULL)
			return bad(out, "truncated line");
		if (text_message_fields(&c, out) == -1)
			return -1;
		break;
	default:
		if (parse_rest(&c, out) == -1)
			return -1;
		return check_fields(out);
	}
	if (parse_text(&c, out, textbuf, textcap) == -1)
		return -1;
	if (out->event == LOGLINE_MSG || out->event == LOGLINE_SYSLOG)
		out->full_len = out->text_len;
	if (out->event == LOGLINE_SYSLOG ||
	    out->event == LOGLINE_SYSLOG_TRUNCATED)
		return check_syslog(out);
	return 0;
}

int logline_field(const struct logline *l, const char *key, const char **value,
		  size_t *value_len)
{
	const char *p = l->rest, *end = l->rest + l->rest_len;
	size_t klen = strlen(key);

	if (l->format == LOGLINE_FORMAT_JSON)
		return json_field(l, key, value, value_len);

	/* Fields are separated by one space; a quoted value may hold
	 * spaces of its own. */
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *tok_end = sp != NULL ? sp : end;
		const char *eq = memchr(p, '=', (size_t)(tok_end - p));
		const char *v = tok_end, *ve = tok_end;

		if (eq != NULL && eq + 1 < end && eq[1] == '"') {
			v = eq + 2;
			ve = memchr(v, '"', (size_t)(end - v));
			if (ve == NULL)
				return -1;
			tok_end = ve + 1;
		} else if (eq != NULL) {
			v = eq + 1;
		}
		if (eq != NULL && (size_t)(eq - p) == klen &&
		    memcmp(p, key, klen) == 0) {
			*value = v;
			*value_len = (size_t)(ve - v);
			return 0;
		}
		p = tok_end + 1;
	}
	return -1;
}

int logline_field_u64(const struct logline *l, const char *key, uint64_t *v)
{
	const char *s;
	size_t len;

	if (logline_field(l, key, &s, &len) == -1)
		return -1;
	return parse_u64(s, len, v);
}
