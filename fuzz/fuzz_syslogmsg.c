/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_syslogmsg.c - the syslog header parser (syslogmsg.h) against a
 * reference written another way: the header cut into its space-separated
 * tokens, each checked by a pattern ("dddd-dd-ddTdd:dd:dd"), and the
 * structured data walked by an explicit state machine.
 *
 * Oracles: both agree on every input - whether it is a header, which
 * RFC, facility, severity and every name (as views into the input) - and
 * a message the parser accepts still is one with any tail added after a
 * space (the header never depends on the message after it).
 */
#include <string.h>

#include "fuzz.h"
#include "syslogmsg.h"

struct ref {
	int rfc;
	unsigned pri;
	size_t name_at[4], name_len[4]; /* hostname, app, procid, msgid */
};

/* Whether s[0..len) matches pat: 'd' a digit, any other byte itself. */
static int pattern(const char *s, size_t len, const char *pat)
{
	if (len != strlen(pat))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9')
				  : s[i] != pat[i])
			return 0;
	return 1;
}

static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* The end of the token at s[i] (the next space or the end). */
static size_t token_end(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] != ' ')
		i++;
	return i;
}

static int printable_token(const char *s, size_t n, size_t max)
{
	if (n < 1 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return 0;
	return 1;
}

/* An RFC 5424 TIMESTAMP token. */
static int ref_ts5424(const char *s, size_t n)
{
	size_t base = 19, frac = 0;

	if (n == 1 && s[0] == '-')
		return 1;
	if (n < 20 || !pattern(s, 19, "dddd-dd-ddTdd:dd:dd"))
		return 0;
	if (num(s + 5, 2) < 1 || num(s + 5, 2) > 12 || num(s + 8, 2) < 1 ||
	    num(s + 8, 2) > 31 || num(s + 11, 2) > 23 || num(s + 14, 2) > 59 ||
	    num(s + 17, 2) > 59)
		return 0;
	if (s[base] == '.') {
		while (base + 1 + frac < n && s[base + 1 + frac] >= '0' &&
		       s[base + 1 + frac] <= '9')
			frac++;
		if (frac < 1 || frac > 6)
			return 0;
		base += 1 + frac;
	}
	if (n - base == 1)
		return s[base] == 'Z';
	return n - base == 6 && (s[base] == '+' || s[base] == '-') &&
	       pattern(s + base + 1, 5, "dd:dd") &&
	       num(s + base + 1, 2) <= 23 && num(s + base + 4, 2) <= 59;
}

/* STRUCTURED-DATA from s[i]: its end, or 0 when it is not one. */
static size_t ref_sd(const char *s, size_t len, size_t i)
{
	enum { OUT, ID, SP, PNAME, EQ, VALUE, ESC } st = OUT;
	size_t name = 0, elements = 0;

	if (i < len && s[i] == '-')
		return i + 1;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int namec =
			c >= 33 && c <= 126 && c != '=' && c != ']' && c != '"';

		switch (st) {
		case OUT:
			if (c != '[')
				return elements > 0 ? i : 0;
			st = ID;
			name = 0;
			break;
		case ID:
		case PNAME:
			if (namec && name < 32) {
				name++;
				break;
			}
			if (name == 0)
				return 0;
			if (st == PNAME) {
				if (c != '=')
					return 0;
				st = EQ;
			} else if (c == ' ') {
				st = PNAME;
				name = 0;
			} else if (c == ']') {
				st = OUT;
				elements++;
			} else {
				return 0;
			}
			if (st == PNAME)
				name = 0;
			break;
		case EQ:
			if (c != '"')
				return 0;
			st = VALUE;
			break;
		case VALUE:
			if (c == '\\')
				st = ESC;
			else if (c == ']')
				return 0;
			else if (c == '"')
				st = SP;
			break;
		case ESC:
			/* '\' before '"', '\' or ']' escapes it; before
			 * anything else it is a byte of its own, and the
			 * byte after it is read as usual. */
			st = VALUE;
			if (c != '"' && c != '\\' && c != ']')
				i--;
			break;
		case SP:
			if (c == ' ') {
				st = PNAME;
				name = 0;
			} else if (c == ']') {
				st = OUT;
				elements++;
			} else {
				return 0;
			}
			break;
		}
	}
	return st == OUT && elements > 0 ? len : 0;
}

static int ref_5424(const char *s, size_t len, size_t i, struct ref *r)
{
	static const size_t max[4] = {255, 48, 128, 32};
	size_t e;

	if (len - i < 2 || s[i] != '1' || s[i + 1] != ' ')
		return 0;
	i += 2;
	e = token_end(s, len, i);
	if (!ref_ts5424(s + i, e - i) || e == len)
		return 0;
	i = e + 1;
	for (int k = 0; k < 4; k++) {
		e = token_end(s, len, i);
		if (!printable_token(s + i, e - i, max[k]) || e == len)
			return 0;
		r->name_at[k] = i;
		r->name_len[k] = e - i;
		i = e + 1;
	}
	e = ref_sd(s, len, i);
	if (e == 0 || (e < len && s[e] != ' '))
		return 0;
	r->rfc = 5424;
	return 1;
}

static int ref_3164(const char *s, size_t len, size_t i, struct ref *r)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};
	int month = 0, day;
	size_t e;

	if (len - i < 16)
		return 0;
	for (int m = 0; m < 12; m++)
		if (memcmp(s + i, months[m], 3) == 0)
			month = 1;
	if (!month || s[i + 3] != ' ')
		return 0;
	if (s[i + 4] == ' ' && pattern(s + i + 5, 1, "d"))
		day = s[i + 5] - '0';
	else if (pattern(s + i + 4, 2, "dd"))
		day = num(s + i + 4, 2);
	else
		return 0;
	if (day < 1 || day > 31 || !pattern(s + i + 6, 10, " dd:dd:dd ") ||
	    num(s + i + 7, 2) > 23 || num(s + i + 10, 2) > 59 ||
	    num(s + i + 13, 2) > 59)
		return 0;
	i += 16;
	e = token_end(s, len, i);
	if (!printable_token(s + i, e - i, 255))
		return 0;
	r->name_at[0] = i;
	r->name_len[0] = e - i;
	r->rfc = 3164;
	return 1;
}

static int ref_parse(const char *s, size_t len, struct ref *r)
{
	size_t i = 1;

	memset(r, 0, sizeof(*r));
	if (len < 3 || s[0] != '<')
		return 0;
	while (i < len && i <= 4 && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 1 || i > 4 || i == len || s[i] != '>' ||
	    (s[1] == '0' && i > 2))
		return 0;
	r->pri = (unsigned)num(s + 1, i - 1);
	if (r->pri > 191)
		return 0;
	i++;
	if (ref_5424(s, len, i, r))
		return 1;
	memset(r->name_at, 0, sizeof(r->name_at));
	memset(r->name_len, 0, sizeof(r->name_len));
	return ref_3164(s, len, i, r);
}

static void same_view(const char *base, const char *v, size_t vlen, size_t at,
		      size_t len)
{
	FUZZ_CHECK(vlen == len);
	FUZZ_CHECK(len == 0 ? v == NULL : v == base + at);
}

static char tailed[8192 + 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct syslogmsg h;
	struct ref r;
	int got, want;

	if (size > 8192)
		return 0;
	got = syslogmsg_parse(in, size, &h) == 0;
	want = ref_parse(in, size, &r);
	FUZZ_CHECK(got == want);
	if (!got)
		return 0;
	FUZZ_CHECK((int)h.rfc == r.rfc);
	FUZZ_CHECK(h.facility == r.pri / 8 && h.severity == r.pri % 8);
	FUZZ_CHECK(syslogmsg_facility(h.facility) != NULL);
	FUZZ_CHECK(syslogmsg_severity(h.severity) != NULL);
	same_view(in, h.hostname, h.hostname_len, r.name_at[0], r.name_len[0]);
	same_view(in, h.app_name, h.app_name_len, r.name_at[1], r.name_len[1]);
	same_view(in, h.procid, h.procid_len, r.name_at[2], r.name_len[2]);
	same_view(in, h.msgid, h.msgid_len, r.name_at[3], r.name_len[3]);
	/* A message after the header changes nothing in it. */
	memcpy(tailed, in, size);
	memcpy(tailed + size, " tail", 5);
	FUZZ_CHECK(syslogmsg_parse(tailed, size + 5, &h) == 0);
	FUZZ_CHECK((int)h.rfc == r.rfc);
	return 0;
}
