/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * syslogmsg.c - the syslog header's grammar; the contract is in
 * syslogmsg.h.  A straight walk over the bytes, one function per
 * production of RFC 5424's ABNF (section 6) and RFC 3164's (4.1).
 */
#include "syslogmsg.h"

#include <string.h>

/* A cursor over the message. */
struct cur {
	const unsigned char *p, *end;
};

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* PRINTUSASCII: %d33-126. */
static int is_print(int c)
{
	return c >= 33 && c <= 126;
}

/* Takes byte c. */
static int take(struct cur *c, unsigned char ch)
{
	if (c->p == c->end || *c->p != ch)
		return -1;
	c->p++;
	return 0;
}

/* Takes n digits as a number in [lo, hi]. */
static int number(struct cur *c, int n, int lo, int hi)
{
	int v = 0;

	if (c->end - c->p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!is_digit(c->p[i]))
			return -1;
		v = v * 10 + (c->p[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	c->p += n;
	return 0;
}

/* "<" PRIVAL ">": 1-3 digits, 0..191, no leading zero but "<0>". */
static int pri(struct cur *c, struct syslogmsg *h)
{
	unsigned v = 0;
	int digits = 0;

	if (take(c, '<') == -1)
		return -1;
	while (c->p < c->end && is_digit(*c->p) && digits < 3) {
		v = v * 10 + (unsigned)(*c->p++ - '0');
		digits++;
	}
	if (digits == 0 || v > 191 || (digits > 1 && c->p[-digits] == '0'))
		return -1;
	if (take(c, '>') == -1)
		return -1;
	h->facility = v / 8;
	h->severity = v % 8;
	return 0;
}

/* 1..max bytes of PRINTUSASCII up to a space or the end. */
static int name(struct cur *c, size_t max, const char **s, size_t *len)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && is_print(*c->p))
		c->p++;
	*s = (const char *)start;
	*len = (size_t)(c->p - start);
	return *len >= 1 && *len <= max ? 0 : -1;
}

/* TIME-OFFSET: "Z" / ("+" / "-") HH ":" MM. */
static int time_offset(struct cur *c)
{
	if (take(c, 'Z') == 0)
		return 0;
	if (take(c, '+') == -1 && take(c, '-') == -1)
		return -1;
	if (number(c, 2, 0, 23) == -1 || take(c, ':') == -1)
		return -1;
	return number(c, 2, 0, 59);
}

/* Two digits at s, as a number in [lo, hi]; -1 otherwise. */
static int two_digits(const unsigned char *s, int lo, int hi)
{
	int v;

	if (!is_digit(s[0]) || !is_digit(s[1]))
		return -1;
	v = (s[0] - '0') * 10 + (s[1] - '0');
	return v >= lo && v <= hi ? 0 : -1;
}

/* RFC 5424 TIMESTAMP: NILVALUE / FULL-DATE "T" FULL-TIME.  The fixed
 * part, YYYY-MM-DDTHH:MM:SS, is checked in place: every message of a
 * syslog sender has one. */
static int timestamp_5424(struct cur *c)
{
	const unsigned char *s = c->p;
	int frac = 0;

	if (take(c, '-') == 0)
		return 0;
	if (c->end - s < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || !is_digit(s[0]) ||
	    !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3]) ||
	    two_digits(s + 5, 1, 12) == -1 || two_digits(s + 8, 1, 31) == -1 ||
	    two_digits(s + 11, 0, 23) == -1 ||
	    two_digits(s + 14, 0, 59) == -1 || two_digits(s + 17, 0, 59) == -1)
		return -1;
	c->p += 19;
	if (take(c, '.') == 0) {
		while (c->p < c->end && is_digit(*c->p) && frac < 6) {
			c->p++;
			frac++;
		}
		if (frac == 0)
			return -1;
	}
	return time_offset(c);
}

/* SD-NAME: 1*32 PRINTUSASCII except '=', SP, ']', '"'. */
static int sd_name(struct cur *c)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && is_print(*c->p) && *c->p != '=' &&
	       *c->p != ']' && *c->p != '"')
		c->p++;
	return c->p > start && c->p - start <= 32 ? 0 : -1;
}

/* '"' PARAM-VALUE '"', where '"', '\' and ']' are escaped by '\' (a
 * '\' before any other byte is a '\' of its own). */
static int param_value(struct cur *c)
{
	if (take(c, '"') == -1)
		return -1;
	while (c->p < c->end) {
		unsigned char ch = *c->p++;

		if (ch == '"')
			return 0;
		if (ch == ']')
			return -1;
		if (ch == '\\' && c->p < c->end &&
		    (*c->p == '"' || *c->p == '\\' || *c->p == ']'))
			c->p++;
	}
	return -1;
}

/* STRUCTURED-DATA: NILVALUE / 1*SD-ELEMENT. */
static int structured_data(struct cur *c)
{
	if (take(c, '-') == 0)
		return 0;
	if (c->p == c->end || *c->p != '[')
		return -1;
	while (take(c, '[') == 0) {
		if (sd_name(c) == -1)
			return -1;
		while (take(c, ' ') == 0)
			if (sd_name(c) == -1 || take(c, '=') == -1 ||
			    param_value(c) == -1)
				return -1;
		if (take(c, ']') == -1)
			return -1;
	}
	return 0;
}

/* After PRI: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP
 * MSGID SP STRUCTURED-DATA [SP MSG]. */
static int header_5424(struct cur *c, struct syslogmsg *h)
{
	if (take(c, '1') == -1 || take(c, ' ') == -1 ||
	    timestamp_5424(c) == -1 || take(c, ' ') == -1 ||
	    name(c, SYSLOGMSG_HOSTNAME_MAX, &h->hostname, &h->hostname_len) ==
		    -1 ||
	    take(c, ' ') == -1 ||
	    name(c, SYSLOGMSG_APP_NAME_MAX, &h->app_name, &h->app_name_len) ==
		    -1 ||
	    take(c, ' ') == -1 ||
	    name(c, SYSLOGMSG_PROCID_MAX, &h->procid, &h->procid_len) == -1 ||
	    take(c, ' ') == -1 ||
	    name(c, SYSLOGMSG_MSGID_MAX, &h->msgid, &h->msgid_len) == -1 ||
	    take(c, ' ') == -1 || structured_data(c) == -1)
		return -1;
	if (c->p != c->end && *c->p != ' ')
		return -1;
	h->rfc = SYSLOGMSG_RFC5424;
	return 0;
}

/* RFC 3164's "Mmm": the English month abbreviations. */
static int month(struct cur *c)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	if (c->end - c->p < 3)
		return -1;
	for (size_t i = 0; i < 36; i += 3)
		if (memcmp(c->p, months + i, 3) == 0) {
			c->p += 3;
			return 0;
		}
	return -1;
}

/* After PRI: "Mmm dd hh:mm:ss" SP HOSTNAME, then the end or SP. */
static int header_3164(struct cur *c, struct syslogmsg *h)
{
	if (month(c) == -1 || take(c, ' ') == -1)
		return -1;
	if (take(c, ' ') == 0) {
		if (number(c, 1, 1, 9) == -1)
			return -1;
	} else if (number(c, 2, 1, 31) == -1) {
		return -1;
	}
	if (take(c, ' ') == -1 || number(c, 2, 0, 23) == -1 ||
	    take(c, ':') == -1 || number(c, 2, 0, 59) == -1 ||
	    take(c, ':') == -1 || number(c, 2, 0, 59) == -1 ||
	    take(c, ' ') == -1 ||
	    name(c, SYSLOGMSG_HOSTNAME_MAX, &h->hostname, &h->hostname_len) ==
		    -1)
		return -1;
	if (c->p != c->end && *c->p != ' ')
		return -1;
	h->rfc = SYSLOGMSG_RFC3164;
	return 0;
}

int syslogmsg_parse(const char *msg, size_t len, struct syslogmsg *h)
{
	struct cur c = {(const unsigned char *)msg,
			(const unsigned char *)msg + len};
	const unsigned char *after_pri;

	if (len == 0 || msg[0] != '<')
		return -1;
	memset(h, 0, sizeof(*h));
	if (pri(&c, h) == -1)
		return -1;
	after_pri = c.p;
	if (header_5424(&c, h) == 0)
		return 0;
	h->hostname = h->app_name = h->procid = h->msgid = NULL;
	h->hostname_len = h->app_name_len = h->procid_len = h->msgid_len = 0;
	c.p = after_pri;
	return header_3164(&c, h);
}

const char *syslogmsg_facility(unsigned facility)
{
	static const char *const names[] = {
		"kern",	  "user",   "mail",   "daemon", "auth",	    "syslog",
		"lpr",	  "news",   "uucp",   "cron",	"authpriv", "ftp",
		"ntp",	  "audit",  "alert",  "clock",	"local0",   "local1",
		"local2", "local3", "local4", "local5", "local6",   "local7"};

	return facility < sizeof(names) / sizeof(names[0]) ? names[facility]
							   : NULL;
}

const char *syslogmsg_severity(unsigned severity)
{
	static const char *const names[] = {"emerg", "alert",	"crit",
					    "err",   "warning", "notice",
					    "info",  "debug"};

	return severity < sizeof(names) / sizeof(names[0]) ? names[severity]
							   : NULL;
}
