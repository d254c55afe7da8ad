/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logline.c - the log line's writers and reader; the contract is in
 * logline.h.
 */
#include "logline.h"

#include <errno.h>
#include <string.h>

#include "swar.h"

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

void logline_put(struct logline_builder *b, const char *s, size_t len)
{
	size_t n = copy_cut(b->buf + b->len, b->room - b->len, s, len);

	b->len += n;
	if (n < len)
		b->cut = true;
}

void logline_begin(struct logline_builder *b, char *buf, size_t size,
		   const char *ts, const char *who, size_t who_len)
{
	b->buf = buf;
	b->len = 0;
	b->room = size - 1;
	b->cut = false;
	logline_put(b, ts, LOGFMT_TS_LEN);
	LOGLINE_PUT(b, " ");
	logline_put(b, who, who_len);
}

void logline_put_str(struct logline_builder *b, const char *s, size_t max)
{
	logline_put(b, s, strnlen(s, max));
}

void logline_put_u64(struct logline_builder *b, uint64_t v)
{
	char num[LOGFMT_U64_MAX];

	logline_put(b, num, logfmt_u64(num, v));
}

/* Appends " key=". */
static void put_key(struct logline_builder *b, const char *key)
{
	LOGLINE_PUT(b, " ");
	logline_put_str(b, key, LOGLINE_EVENT_MAX);
	LOGLINE_PUT(b, "=");
}

void logline_put_kv(struct logline_builder *b, const char *key,
		    const char *value, size_t max)
{
	put_key(b, key);
	logline_put_str(b, value, max);
}

void logline_put_kv_u64(struct logline_builder *b, const char *key, uint64_t v)
{
	put_key(b, key);
	logline_put_u64(b, v);
}

size_t logline_finish(struct logline_builder *b)
{
	b->buf[b->len++] = '\n';
	return b->len;
}

/* Starts a line of the server's own: "TIMESTAMP - - - EVENT". */
static void begin_server(struct logline_builder *b, char *buf, size_t size,
			 const char *ts, const char *event)
{
	logline_begin(b, buf, size, ts, LOGLINE_SERVER_WHO,
		      LOGLINE_SERVER_WHO_LEN);
	LOGLINE_PUT(b, " ");
	logline_put_str(b, event, LOGLINE_EVENT_MAX);
}

size_t logline_msg(char *buf, size_t size, const char *ts, const char *who,
		   size_t who_len, const char *text, size_t len,
		   size_t full_len)
{
	struct logline_builder b;
	size_t fits;

	logline_begin(&b, buf, size, ts, who, who_len);
	if (full_len > len) {
		LOGLINE_PUT(&b, " msg-truncated");
		logline_put_kv_u64(&b, "len", full_len);
		LOGLINE_PUT(&b, " ");
	} else {
		LOGLINE_PUT(&b, " msg ");
	}
	/* The text is escaped in place; a short buffer keeps its head. */
	fits = (b.room - b.len) / 4;
	if (len > fits) {
		len = fits;
		b.cut = true;
	}
	b.len += logfmt_escape(b.buf + b.len, text, len);
	return logline_finish(&b);
}

/* A client's event without numbers: "TS WHO EVENT", and " KEY=VALUE"
 * (VALUE cut to max bytes) when key is not NULL. */
static size_t client_event(char *buf, size_t size, const char *ts,
			   const char *who, size_t who_len, const char *event,
			   const char *key, const char *value, size_t max)
{
	struct logline_builder b;

	logline_begin(&b, buf, size, ts, who, who_len);
	LOGLINE_PUT(&b, " ");
	logline_put_str(&b, event, LOGLINE_EVENT_MAX);
	if (key != NULL)
		logline_put_kv(&b, key, value, max);
	return logline_finish(&b);
}

size_t logline_connect(char *buf, size_t size, const char *ts, const char *who,
		       size_t who_len)
{
	return client_event(buf, size, ts, who, who_len, "connect", NULL, NULL,
			    0);
}

/* An error text is cut to this: the longest glibc strerror() is 50. */
#define ERROR_TEXT_MAX 64
/* A reason word is cut to this: the longest today is 14. */
#define REASON_MAX 32

/* Appends " key=S.mmms" for ms milliseconds. */
static void put_seconds(struct logline_builder *b, const char *key, uint64_t ms)
{
	char frac[4];

	logline_put_kv_u64(b, key, ms / 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + ms / 100 % 10);
	frac[2] = (char)('0' + ms / 10 % 10);
	frac[3] = (char)('0' + ms % 10);
	logline_put(b, frac, sizeof(frac));
	LOGLINE_PUT(b, "s");
}

/* Appends " key="TEXT"" for an error text. */
static void put_quoted(struct logline_builder *b, const char *key,
		       const char *text)
{
	put_key(b, key);
	LOGLINE_PUT(b, "\"");
	logline_put_str(b, text, ERROR_TEXT_MAX);
	LOGLINE_PUT(b, "\"");
}

size_t logline_disconnect(char *buf, size_t size, const char *ts,
			  const char *who, size_t who_len,
			  const struct logline_disconnect *d)
{
	struct logline_builder b;
	uint64_t ms = d->duration_ms;

	logline_begin(&b, buf, size, ts, who, who_len);
	LOGLINE_PUT(&b, " disconnect");
	logline_put_kv(&b, "reason", d->reason, REASON_MAX);
	if (d->error != NULL)
		put_quoted(&b, "error", d->error);
	logline_put_kv_u64(&b, "messages", d->messages);
	logline_put_kv_u64(&b, "bytes", d->bytes);
	logline_put_kv_u64(&b, "truncated", d->truncated);
	logline_put_kv_u64(&b, "discarded", d->discarded);
	logline_put_kv_u64(&b, "unsent", d->unsent);
	put_seconds(&b, "duration", ms);
	return logline_finish(&b);
}

size_t logline_refused(char *buf, size_t size, const char *ts, const char *who,
		       size_t who_len, const char *reason)
{
	return client_event(buf, size, ts, who, who_len, "refused", "reason",
			    reason, REASON_MAX);
}

size_t logline_nick(char *buf, size_t size, const char *ts, const char *who,
		    size_t who_len, const char *name)
{
	/* A name is a few bytes of [A-Za-z0-9_.-] (chat.h). */
	return client_event(buf, size, ts, who, who_len, "nick", "name", name,
			    64);
}

/* Appends " " and a word of the server's own (a name, an address). */
static void put_word(struct logline_builder *b, const char *word)
{
	LOGLINE_PUT(b, " ");
	logline_put_str(b, word, LOGLINE_EVENT_MAX);
}

/* Appends v, or "-" and its magnitude when negative. */
static void put_long(struct logline_builder *b, long v)
{
	if (v < 0) {
		LOGLINE_PUT(b, "-");
		logline_put_u64(b, 0 - (uint64_t)v);
		return;
	}
	logline_put_u64(b, (uint64_t)v);
}

size_t logline_start(char *buf, size_t size, const char *ts,
		     const struct logline_start *s)
{
	struct logline_builder b;

	begin_server(&b, buf, size, ts, "start");
	put_word(&b, s->prog);
	put_word(&b, s->version);
	LOGLINE_PUT(&b, " on");
	put_word(&b, s->addr);
	LOGLINE_PUT(&b, " (");
	logline_put_str(&b, s->transports, LOGLINE_EVENT_MAX);
	LOGLINE_PUT(&b, ") max-clients=");
	put_long(&b, s->max_clients);
	logline_put_kv_u64(&b, "nofile", s->nofile);
	if (s->nofile_needed > 0)
		logline_put_kv_u64(&b, "nofile-needed", s->nofile_needed);
	LOGLINE_PUT(&b, " idle-timeout=");
	put_long(&b, s->idle_timeout);
	LOGLINE_PUT(&b, "s max-line=");
	put_long(&b, s->max_line);
	put_seconds(&b, "drain-timeout", (uint64_t)s->drain_timeout_ms);
	if (s->chat)
		LOGLINE_PUT(&b, " chat");
	if (s->echo)
		LOGLINE_PUT(&b, " echo");
	if (s->quiet)
		LOGLINE_PUT(&b, " quiet");
	return logline_finish(&b);
}

size_t logline_stop(char *buf, size_t size, const char *ts,
		    const struct logline_stop *s)
{
	struct logline_builder b;

	begin_server(&b, buf, size, ts, "stop");
	put_word(&b, s->prog);
	LOGLINE_PUT(&b, ": ");
	logline_put_u64(&b, s->tcp_conns);
	LOGLINE_PUT(&b, " tcp connections, ");
	logline_put_u64(&b, s->tcp_msgs);
	LOGLINE_PUT(&b, " tcp messages, ");
	logline_put_u64(&b, s->udp_msgs);
	LOGLINE_PUT(&b, " udp messages");
	return logline_finish(&b);
}

size_t logline_signal(char *buf, size_t size, const char *ts,
		      const char *signal, const char *action)
{
	struct logline_builder b;

	begin_server(&b, buf, size, ts, "signal");
	put_word(&b, signal);
	logline_put_kv(&b, "action", action, REASON_MAX);
	return logline_finish(&b);
}

size_t logline_log_reopened(char *buf, size_t size, const char *ts,
			    const char *path, const char *error)
{
	struct logline_builder b;

	begin_server(&b, buf, size, ts,
		     error == NULL ? "log-reopened" : "log-reopen-failed");
	logline_put_kv(&b, "path", path, LOGLINE_PATH_MAX);
	if (error != NULL)
		put_quoted(&b, "error", error);
	return logline_finish(&b);
}

size_t logline_log_gap(char *buf, size_t size, const char *ts, uint64_t lines,
		       uint64_t bytes, const char *reason)
{
	struct logline_builder b;

	begin_server(&b, buf, size, ts, "log-gap");
	logline_put_kv_u64(&b, "lines", lines);
	logline_put_kv_u64(&b, "bytes", bytes);
	put_quoted(&b, "reason", reason);
	return logline_finish(&b);
}

size_t logline_log_truncated(char *buf, size_t size, const char *ts,
			     uint64_t from, uint64_t to)
{
	struct logline_builder b;

	begin_server(&b, buf, size, ts, "log-truncated");
	logline_put_kv_u64(&b, "from", from);
	logline_put_kv_u64(&b, "to", to);
	return logline_finish(&b);
}

size_t logline_accept_failed(char *buf, size_t size, const char *ts,
			     const char *error)
{
	struct logline_builder b;

	begin_server(&b, buf, size, ts, "accept");
	LOGLINE_PUT(&b, " failed: ");
	logline_put_str(&b, error, ERROR_TEXT_MAX);
	LOGLINE_PUT(&b, "; refusing clients until descriptors are free");
	return logline_finish(&b);
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

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" and the space after it; the writer
 * makes six fraction digits, the reader takes one to nine. */
static int parse_timestamp(struct cursor *c, struct logline *out)
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
	if (f == s + 20 || c->end - f < 2 || f[0] != 'Z' || f[1] != ' ')
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
	{"msg", LOGLINE_MSG},	      {"msg-truncated", LOGLINE_MSG_TRUNCATED},
	{"connect", LOGLINE_CONNECT}, {"disconnect", LOGLINE_DISCONNECT},
	{"refused", LOGLINE_REFUSED}, {"start", LOGLINE_START},
	{"stop", LOGLINE_STOP},	      {"accept", LOGLINE_ACCEPT},
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

int logline_unescape(char *dst, const char *src, size_t len, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, n = 0;

	while (i < len) {
		unsigned char ch = s[i];
		int hi, lo;

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
		if (len - i < 2)
			goto bad;
		switch (s[i + 1]) {
		case '\\':
			dst[n++] = '\\';
			break;
		case 'n':
			dst[n++] = '\n';
			break;
		case 't':
			dst[n++] = '\t';
			break;
		case 'r':
			dst[n++] = '\r';
			break;
		case 'x':
			if (len - i < 4 || (hi = hex_value(src[i + 2])) < 0 ||
			    (lo = hex_value(src[i + 3])) < 0)
				goto bad;
			dst[n++] = (char)(hi << 4 | lo);
			i += 2;
			break;
		default:
			goto bad;
		}
		i += 2;
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
static bool is_duration(const char *s, size_t len)
{
	uint64_t sec;
	size_t dot = len >= 5 ? len - 5 : 0;

	return len >= 6 && parse_u64(s, dot, &sec) == 0 && s[dot] == '.' &&
	       is_digit(s[dot + 1]) && is_digit(s[dot + 2]) &&
	       is_digit(s[dot + 3]) && s[len - 1] == 's';
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
		    !is_duration(v, vlen))
			return bad(out, "disconnect lacks duration=S.mmms");
		return 0;
	default:
		return 0;
	}
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
	if (parse_timestamp(&c, out) == -1 || parse_who(&c, out) == -1)
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
		if (sp == NULL)
			return bad(out, "truncated line");
		out->full_len = 0;
		break;
	case LOGLINE_MSG_TRUNCATED: {
		const char *kv;
		size_t kvlen;

		if (sp == NULL || word(&c, &kv, &kvlen) == -1)
			return bad(out, "truncated line");
		if (kvlen < 5 || memcmp(kv, "len=", 4) != 0 ||
		    parse_u64(kv + 4, kvlen - 4, &out->full_len) == -1)
			return bad(out, "bad len= of msg-truncated");
		break;
	}
	default:
		if (parse_rest(&c, out) == -1)
			return -1;
		return check_fields(out);
	}
	if (parse_text(&c, out, textbuf, textcap) == -1)
		return -1;
	if (out->event == LOGLINE_MSG)
		out->full_len = out->text_len;
	return 0;
}

int logline_field(const struct logline *l, const char *key, const char **value,
		  size_t *value_len)
{
	const char *p = l->rest, *end = l->rest + l->rest_len;
	size_t klen = strlen(key);

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
