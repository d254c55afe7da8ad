/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wire.c - tcpdump's text parsed and annotated; the contract is in
 * wire.h.
 */
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Parsing */

/* Reads an unsigned decimal of at most max at s; the end in *end.  0 or
 * -1. */
static int parse_u64(const char *s, const char **end, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > max)
			return -1;
		p++;
	}
	*v = n;
	*end = p;
	return 0;
}

static int parse_u32(const char *s, const char **end, uint32_t *v)
{
	uint64_t n;

	if (parse_u64(s, end, UINT32_MAX, &n) == -1)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

/* "1795595246.752438" (or with nanoseconds, --nano) into microseconds. */
static int parse_time(const char *s, const char **end, int64_t *us)
{
	uint64_t sec, frac = 0;
	int digits = 0;

	/* 2^63 us is 292,000 years: seconds fit below 10^12. */
	if (parse_u64(s, &s, 999999999999ull, &sec) == -1 || *s != '.')
		return -1;
	for (s++; *s >= '0' && *s <= '9'; s++, digits++)
		if (digits < 6)
			frac = frac * 10 + (uint64_t)(*s - '0');
	if (digits == 0)
		return -1;
	for (; digits < 6; digits++)
		frac *= 10;
	*us = (int64_t)(sec * 1000000 + frac);
	*end = s;
	return 0;
}

/* An endpoint "ADDR.PORT" of len bytes: the port follows the last dot
 * (IPv4 addresses have dots, IPv6 ones colons).  0 or -1. */
static int parse_endpoint(const char *s, size_t len, char *addr, unsigned *port)
{
	const char *dot = NULL, *end;
	uint64_t v;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '.')
			dot = s + i;
	if (dot == NULL || dot == s || (size_t)(dot - s) >= WIRE_ADDR_MAX)
		return -1;
	if (parse_u64(dot + 1, &end, 65535, &v) == -1 || end != s + len)
		return -1;
	memcpy(addr, s, (size_t)(dot - s));
	addr[dot - s] = '\0';
	*port = (unsigned)v;
	return 0;
}

static unsigned flag_bit(char c)
{
	switch (c) {
	case 'S':
		return WIRE_F_SYN;
	case 'F':
		return WIRE_F_FIN;
	case 'P':
		return WIRE_F_PSH;
	case 'R':
		return WIRE_F_RST;
	case '.':
		return WIRE_F_ACK;
	case 'U':
		return WIRE_F_URG;
	case 'E':
		return WIRE_F_ECE;
	case 'W':
		return WIRE_F_CWR;
	default:
		return 0;
	}
}

/* The next ", NAME " field of tcpdump's TCP text at the top level (not
 * inside "options [...]"); the value's start, or NULL. */
static const char *field(const char *s, const char *name)
{
	size_t nlen = strlen(name);
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '[')
			depth++;
		else if (*s == ']' && depth > 0)
			depth--;
		else if (depth == 0 && s[0] == ',' && s[1] == ' ' &&
			 strncmp(s + 2, name, nlen) == 0 && s[2 + nlen] == ' ')
			return s + 3 + nlen;
	}
	return NULL;
}

/* "Flags [P.], seq A:B, ack C, win W, options [...], length L". */
static int parse_tcp(const char *s, struct wire_pkt *p)
{
	const char *v, *end;
	uint32_t seq_end;

	if (strncmp(s, "Flags [", 7) != 0)
		return -1;
	for (s += 7; *s != ']'; s++) {
		unsigned bit = flag_bit(*s);

		if (bit == 0)
			return -1;
		p->flags |= bit;
	}
	if ((v = field(s, "length")) == NULL ||
	    parse_u32(v, &end, &p->len) == -1)
		return -1;
	if ((v = field(s, "seq")) != NULL) {
		if (parse_u32(v, &end, &p->seq) == -1)
			return -1;
		if (*end == ':') {
			if (parse_u32(end + 1, &end, &seq_end) == -1 ||
			    seq_end - p->seq != p->len)
				return -1;
		}
		p->has_seq = true;
	} else if (p->len > 0 || (p->flags & (WIRE_F_SYN | WIRE_F_FIN)) != 0) {
		return -1; /* tcpdump always prints the seq of these */
	}
	if ((v = field(s, "ack")) != NULL) {
		if (parse_u32(v, &end, &p->ack) == -1)
			return -1;
		p->has_ack = (p->flags & WIRE_F_ACK) != 0;
	}
	if ((v = field(s, "win")) != NULL && parse_u32(v, &end, &p->win) == -1)
		return -1;
	return 0;
}

int wire_parse(const char *line, struct wire_pkt *p)
{
	const char *s = line, *gt, *colon;

	memset(p, 0, sizeof(*p));
	if (parse_time(s, &s, &p->time_us) == -1)
		goto bad;
	if (strncmp(s, " IP ", 4) == 0)
		s += 4;
	else if (strncmp(s, " IP6 ", 5) == 0)
		s += 5;
	else
		goto bad;
	if ((gt = strstr(s, " > ")) == NULL ||
	    parse_endpoint(s, (size_t)(gt - s), p->src, &p->sport) == -1)
		goto bad;
	s = gt + 3;
	if ((colon = strstr(s, ": ")) == NULL ||
	    parse_endpoint(s, (size_t)(colon - s), p->dst, &p->dport) == -1)
		goto bad;
	s = colon + 2;
	if (strncmp(s, "UDP, length ", 12) == 0) {
		const char *end;

		p->proto = WIRE_UDP;
		if (parse_u32(s + 12, &end, &p->len) == -1)
			goto bad;
		return 0;
	}
	p->proto = WIRE_TCP;
	if (parse_tcp(s, p) == 0)
		return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Names */

static const struct {
	const char *code, *en, *zh;
} step_names[WIRE_STEP_COUNT] = {
	[WIRE_HS1] = {"HS1", "handshake 1: SYN", "第一次握手"},
	[WIRE_HS2] = {"HS2", "handshake 2: SYN/ACK", "第二次握手"},
	[WIRE_HS3] = {"HS3", "handshake 3: ACK", "第三次握手"},
	[WIRE_DATA] = {"DATA", "data", "数据"},
	[WIRE_ACKONLY] = {"ACK", "ACK", "确认"},
	[WIRE_FIN1] = {"FIN1", "teardown 1: FIN", "第一次挥手"},
	[WIRE_FIN2] = {"FIN2", "teardown 2: ACK", "第二次挥手"},
	[WIRE_FIN3] = {"FIN3", "teardown 3: FIN", "第三次挥手"},
	[WIRE_FIN4] = {"FIN4", "teardown 4: ACK", "第四次挥手"},
	[WIRE_RESET] = {"RST", "reset", "重置"},
	[WIRE_RETRANS] = {"RETRANS", "retransmission", "重传"},
	[WIRE_DGRAM] = {"DGRAM", "datagram", "数据报"},
};

const char *wire_step_name(enum wire_step s)
{
	return (unsigned)s < WIRE_STEP_COUNT ? step_names[s].en : "";
}

const char *wire_step_name_zh(enum wire_step s)
{
	return (unsigned)s < WIRE_STEP_COUNT ? step_names[s].zh : "";
}

const char *wire_step_code(enum wire_step s)
{
	return (unsigned)s < WIRE_STEP_COUNT ? step_names[s].code : "";
}

char *wire_flags(const struct wire_pkt *p, char *buf, size_t len)
{
	static const char letters[] = "SFPRUEW.";
	static const unsigned bits[] = {WIRE_F_SYN, WIRE_F_FIN, WIRE_F_PSH,
					WIRE_F_RST, WIRE_F_URG, WIRE_F_ECE,
					WIRE_F_CWR, WIRE_F_ACK};
	size_t n = 0;

	if (len == 0)
		return buf;
	if (p->proto == WIRE_UDP) {
		snprintf(buf, len, "UDP");
		return buf;
	}
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((p->flags & bits[i]) != 0 && n + 1 < len)
			buf[n++] = letters[i];
	buf[n] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* Annotation */

/* What one side of a connection has sent so far. */
struct side {
	bool syn_seen;
	uint32_t isn;
	int64_t syn_us;	     /* when its first SYN was seen */
	int64_t last_syn_us; /* and its latest copy */
	unsigned syn_retries;
	bool next_valid;
	uint32_t next; /* one past the highest sequence number sent */
	bool fin_sent;
	uint32_t fin_seq;
	bool fin_acked;
	bool ack_valid;
	uint32_t last_ack;
};

struct conn {
	enum wire_proto proto;
	char addr[2][WIRE_ADDR_MAX]; /* [0] client, [1] server */
	unsigned port[2];
	struct side side[2];
	int index;  /* in order of appearance */
	int closer; /* side that sent the first FIN, or -1 */
	bool open;  /* the handshake's third step seen */
	bool over;  /* reset, or both FINs acknowledged */
};

struct tracker {
	struct conn conns[WIRE_CONN_MAX];
	int count; /* slots in use */
	int next;  /* index for the next connection */
};

static const char *const side_name[2] = {"client", "server"};

/* a comes before b in sequence space (RFC 793's modular compare). */
static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Appends a sentence to the note's rule, "; " between sentences. */
__attribute__((format(printf, 2, 3))) static void rule(struct wire_note *n,
						       const char *fmt, ...)
{
	size_t used = strlen(n->rule);
	va_list ap;

	if (used > 0 && used + 2 < sizeof(n->rule)) {
		memcpy(n->rule + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	(void)vsnprintf(n->rule + used, sizeof(n->rule) - used, fmt, ap);
	va_end(ap);
}

static bool same(const struct conn *c, int s, const char *addr, unsigned port)
{
	return c->port[s] == port && strcmp(c->addr[s], addr) == 0;
}

/* The connection p belongs to and the side that sent it (0 client, 1
 * server); a new one when there is room, else NULL. */
static struct conn *find_conn(struct tracker *t, const struct wire_pkt *p,
			      int *from)
{
	struct conn *c;

	for (int i = t->count - 1; i >= 0; i--) {
		c = &t->conns[i];
		if (c->proto != p->proto)
			continue;
		if (same(c, 0, p->src, p->sport) &&
		    same(c, 1, p->dst, p->dport))
			*from = 0;
		else if (same(c, 1, p->src, p->sport) &&
			 same(c, 0, p->dst, p->dport))
			*from = 1;
		else
			continue;
		/* A new SYN on a finished 4-tuple is a new connection. */
		if (!(c->over && *from == 0 && p->flags == WIRE_F_SYN))
			return c;
	}
	if (t->count == WIRE_CONN_MAX)
		return NULL;
	c = &t->conns[t->count++];
	memset(c, 0, sizeof(*c));
	c->proto = p->proto;
	c->index = t->next++;
	c->closer = -1;
	/* The client is whoever sends the SYN, so a capture that starts at
	 * a SYN/ACK has the client as its destination. */
	*from = p->proto == WIRE_TCP &&
				(p->flags & (WIRE_F_SYN | WIRE_F_ACK)) ==
					(WIRE_F_SYN | WIRE_F_ACK)
			? 1
			: 0;
	snprintf(c->addr[*from], WIRE_ADDR_MAX, "%s", p->src);
	snprintf(c->addr[1 - *from], WIRE_ADDR_MAX, "%s", p->dst);
	c->port[*from] = p->sport;
	c->port[1 - *from] = p->dport;
	return c;
}

static void note_reset(struct conn *c, int from, const struct wire_pkt *p,
		       struct wire_note *n)
{
	const struct side *peer = &c->side[1 - from];

	n->steps |= WIRE_STEP(WIRE_RESET);
	if (!c->open && peer->syn_seen && !c->side[from].syn_seen &&
	    p->has_ack) {
		n->violation = p->ack != peer->isn + 1;
		rule(n,
		     "the answer to a SYN (ack %u = ISN+1) when no socket "
		     "listens on port %u: connect() fails with \"Connection "
		     "refused\"",
		     p->ack, c->port[from]);
	} else {
		rule(n, "the connection is aborted at once, without FINs: "
			"whatever was not yet read or sent is lost");
	}
	c->over = true;
}

static void note_syn(struct conn *c, int from, const struct wire_pkt *p,
		     struct wire_note *n)
{
	struct side *me = &c->side[from], *peer = &c->side[1 - from];
	bool synack = (p->flags & WIRE_F_ACK) != 0;

	if (me->syn_seen && p->seq == me->isn) {
		n->steps |= WIRE_STEP(WIRE_RETRANS);
		rule(n,
		     "retry %u: the same %s (ISN %u) again, %.1f s after the "
		     "previous one and %.1f s after the first: no %s came back",
		     ++me->syn_retries, synack ? "SYN/ACK" : "SYN", p->seq,
		     (double)(p->time_us - me->last_syn_us) / 1e6,
		     (double)(p->time_us - me->syn_us) / 1e6,
		     synack ? "ACK" : "SYN/ACK");
		me->last_syn_us = p->time_us;
		return;
	}
	me->syn_seen = true;
	me->isn = p->seq;
	me->syn_us = p->time_us;
	me->last_syn_us = p->time_us;
	me->next_valid = true;
	me->next = p->seq + 1 + p->len;
	if (!synack) {
		n->steps |= WIRE_STEP(WIRE_HS1);
		rule(n,
		     "the %s's initial sequence number (ISN) is %u; a SYN "
		     "consumes one number, so its first byte of data will be "
		     "%u",
		     side_name[from], p->seq, p->seq + 1);
		return;
	}
	n->steps |= WIRE_STEP(WIRE_HS2);
	me->ack_valid = true;
	me->last_ack = p->ack;
	n->violation = peer->syn_seen && p->ack != peer->isn + 1;
	rule(n,
	     "ack %u = the %s's ISN+1: its SYN is received; the %s's own "
	     "ISN is %u",
	     p->ack, side_name[1 - from], side_name[from], p->seq);
}

/* The acknowledgement number's meaning: the handshake's third step, the
 * ACK of a FIN, or an ACK of data. */
static void note_ack(struct conn *c, int from, const struct wire_pkt *p,
		     struct wire_note *n)
{
	struct side *me = &c->side[from], *peer = &c->side[1 - from];
	bool bare = p->len == 0 && (p->flags & WIRE_F_FIN) == 0;

	if (!c->open && from == 0 && peer->syn_seen &&
	    p->ack == peer->isn + 1) {
		c->open = true;
		n->steps |= WIRE_STEP(WIRE_HS3);
		rule(n,
		     "ack %u = the server's ISN+1: each side now knows the "
		     "other receives; the connection is open",
		     p->ack);
	} else if (peer->fin_sent && !peer->fin_acked &&
		   p->ack == peer->fin_seq + 1) {
		bool first = c->closer == 1 - from;

		peer->fin_acked = true;
		n->steps |= WIRE_STEP(first ? WIRE_FIN2 : WIRE_FIN4);
		if (first)
			rule(n,
			     "ack %u = the FIN's seq+1: the %s's FIN is "
			     "received, but the %s may still send",
			     p->ack, side_name[1 - from], side_name[from]);
		else
			rule(n,
			     "ack %u = the FIN's seq+1: both FINs are "
			     "acknowledged; the %s, which closed first, "
			     "waits in TIME_WAIT",
			     p->ack, side_name[from]);
		if (me->fin_sent && me->fin_acked)
			c->over = true;
	} else if (bare) {
		uint32_t fresh = me->ack_valid ? p->ack - me->last_ack : 0;

		n->steps |= WIRE_STEP(WIRE_ACKONLY);
		if (me->ack_valid && fresh == 0)
			rule(n, "ack %u again: nothing new received", p->ack);
		else
			rule(n,
			     "ack %u: every byte before it is received (%u "
			     "new)",
			     p->ack, fresh);
	}
	me->ack_valid = true;
	me->last_ack = p->ack;
}

static void note_data(struct conn *c, int from, const struct wire_pkt *p,
		      struct wire_note *n, struct wire_summary *sum)
{
	struct side *me = &c->side[from];
	uint32_t end = p->seq + p->len;

	if (me->next_valid && seq_lt(p->seq, me->next)) {
		n->steps |= WIRE_STEP(WIRE_RETRANS);
		rule(n,
		     "bytes %u..%u were sent before: no ACK came for them "
		     "in time, so they are sent again",
		     p->seq, end - 1);
	} else {
		n->steps |= WIRE_STEP(WIRE_DATA);
		n->violation |= me->next_valid && p->seq != me->next;
		rule(n,
		     "%u bytes at seq %u: data advances the sequence number "
		     "by its length, so the next byte is %u",
		     p->len, p->seq, end);
	}
	if (c->side[1 - from].fin_sent) {
		n->half_close = true;
		sum->half_close++;
		rule(n, "sent after the %s's FIN: the half-close",
		     side_name[1 - from]);
	}
	if (!me->next_valid || seq_lt(me->next, end)) {
		me->next = end;
		me->next_valid = true;
	}
}

static void note_fin(struct conn *c, int from, const struct wire_pkt *p,
		     struct wire_note *n)
{
	struct side *me = &c->side[from];
	uint32_t at = p->seq + p->len;

	if (me->fin_sent && me->fin_seq == at) {
		n->steps |= WIRE_STEP(WIRE_RETRANS);
		rule(n, "the same FIN (seq %u) sent again", at);
		return;
	}
	me->fin_sent = true;
	me->fin_seq = at;
	me->next = at + 1;
	me->next_valid = true;
	if (c->closer == -1) {
		c->closer = from;
		n->steps |= WIRE_STEP(WIRE_FIN1);
		rule(n,
		     "the %s's FIN at seq %u: it will send nothing more; a "
		     "FIN consumes one number, so its ACK will be %u",
		     side_name[from], at, at + 1);
	} else {
		n->steps |= WIRE_STEP(WIRE_FIN3);
		rule(n,
		     "the %s's FIN at seq %u: it has sent everything too; "
		     "its ACK will be %u",
		     side_name[from], at, at + 1);
	}
}

static void note_tcp(struct conn *c, int from, const struct wire_pkt *p,
		     struct wire_note *n, struct wire_summary *sum)
{
	struct side *me = &c->side[from];

	n->seq = p->has_seq ? p->seq : (me->next_valid ? me->next : 0);
	if ((p->flags & WIRE_F_RST) != 0) {
		note_reset(c, from, p, n);
		return;
	}
	if ((p->flags & WIRE_F_SYN) != 0) {
		note_syn(c, from, p, n);
		return;
	}
	if (p->has_ack)
		note_ack(c, from, p, n);
	if (p->len > 0)
		note_data(c, from, p, n, sum);
	if ((p->flags & WIRE_F_FIN) != 0)
		note_fin(c, from, p, n);
}

void wire_annotate(const struct wire_pkt *pkts, size_t n,
		   struct wire_note *notes, struct wire_summary *sum)
{
	static struct tracker zero;
	struct tracker t = zero;

	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < n; i++) {
		const struct wire_pkt *p = &pkts[i];
		struct wire_note *note = &notes[i];
		struct conn *c;
		int from = 0;

		memset(note, 0, sizeof(*note));
		note->since_us = p->time_us - pkts[0].time_us;
		if ((c = find_conn(&t, p, &from)) == NULL) {
			note->conn = -1;
			sum->untracked++;
			continue;
		}
		note->conn = c->index;
		note->from_client = from == 0;
		if (p->proto == WIRE_UDP) {
			note->steps = WIRE_STEP(WIRE_DGRAM);
			rule(note,
			     "%u bytes in one datagram: no sequence number, "
			     "no acknowledgement, no connection",
			     p->len);
		} else {
			note_tcp(c, from, p, note, sum);
		}
		sum->violations += note->violation;
		sum->retransmissions +=
			(note->steps & WIRE_STEP(WIRE_RETRANS)) != 0;
		sum->resets += (note->steps & WIRE_STEP(WIRE_RESET)) != 0;
	}
	sum->conns = t.next;
}
