/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_logline.c - the log line's grammar both ways (logline.h): every
 * event written then read back byte for byte, every byte class of the
 * escaping through a round trip, and the reader fed truncated, corrupt
 * and hostile lines.  Lines are copied to buffers of their exact size,
 * so a sanitizer build catches any read past a line's end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logfmt.h"
#include "logline.h"

/* 2026-11-24T13:49:55.123456Z */
#define TS	"2026-11-24T13:49:55.123456Z"
#define TS_SEC	1795528195
#define TS_NSEC 123456000L
#define WHO	"tcp 127.0.0.1:53422 #17"

static char *copy_exact(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* Parses s[0..len) from an exact-size copy; returns logline_parse's
 * result, out filled (its views point into freed memory afterwards:
 * callers that need them parse a buffer of their own). */
static int parse_copy(const char *s, size_t len, struct logline *out)
{
	char *line = copy_exact(s, len);
	char *text = malloc(len + 1);
	int rc;

	assert_non_null(text);
	rc = logline_parse(line, len, out, text, len + 1);
	free(text);
	free(line);
	return rc;
}

static void expect_bytes(const char *got, size_t got_len, const char *want)
{
	if (got_len != strlen(want) || memcmp(got, want, got_len) != 0)
		fail_msg("got '%.*s' (%zu bytes), want '%s'", (int)got_len, got,
			 got_len, want);
}

static void expect_view(const char *p, size_t len, const char *want)
{
	expect_bytes(p, len, want);
}

static void test_who(void **state)
{
	char who[LOGLINE_WHO_MAX];
	size_t n;

	(void)state;
	n = logline_who(who, sizeof(who), "tcp", "127.0.0.1:53422", 17);
	expect_bytes(who, n, WHO);
	n = logline_who(who, sizeof(who), "udp",
			"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535",
			UINT64_MAX);
	expect_bytes(who, n,
		     "udp [ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:"
		     "65535 #18446744073709551615");
	/* Cut to the room given, never past it. */
	n = logline_who(who, 6, "tcp", "127.0.0.1:53422", 17);
	expect_bytes(who, n, "tcp 12");
}

/* Each event's writer, its exact line, and what the reader makes of it. */
static void test_connect_round_trip(void **state)
{
	char line[LOGLINE_EVENT_MAX];
	struct logline l;
	size_t n;

	(void)state;
	n = logline_connect(line, sizeof(line), TS, WHO, strlen(WHO));
	expect_bytes(line, n, TS " " WHO " connect\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.ts.tv_sec, TS_SEC);
	assert_int_equal(l.ts.tv_nsec, TS_NSEC);
	assert_int_equal(l.transport, LOGLINE_TCP);
	expect_view(l.peer, l.peer_len, "127.0.0.1:53422");
	assert_int_equal(l.number, 17);
	assert_int_equal(l.event, LOGLINE_CONNECT);
	expect_view(l.name, l.name_len, "connect");
	assert_int_equal(l.rest_len, 0);
}

/* The longest WHO there is (an IPv6 peer, the largest connection
 * number) still makes a whole connect line in LOGLINE_CONNECT_MAX. */
static void test_connect_fits_its_room(void **state)
{
	char who[LOGLINE_WHO_MAX], line[LOGLINE_CONNECT_MAX];
	size_t who_len, n;
	struct logline l;

	(void)state;
	who_len = logline_who(who, sizeof(who), "tcp",
			      "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]"
			      ":65535",
			      UINT64_MAX);
	assert_true(who_len < sizeof(who)); /* not cut */
	n = logline_connect(line, sizeof(line), TS, who, who_len);
	assert_true(n < sizeof(line));
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.event, LOGLINE_CONNECT);
	assert_int_equal(l.number, UINT64_MAX);
}

static void test_disconnect_round_trip(void **state)
{
	struct logline_disconnect d = {
		.reason = "error",
		.error = "Connection reset by peer",
		.messages = 4,
		.bytes = 38,
		.truncated = 1,
		.discarded = 7,
		.unsent = 9,
		.duration_ms = 12345,
	};
	char line[LOGLINE_EVENT_MAX];
	struct logline l;
	const char *v;
	size_t n, vlen;
	uint64_t u;

	(void)state;
	n = logline_disconnect(line, sizeof(line), TS, WHO, strlen(WHO), &d);
	expect_bytes(line, n,
		     TS " " WHO " disconnect reason=error error=\"Connection "
			"reset by peer\" messages=4 bytes=38 truncated=1 "
			"discarded=7 unsent=9 duration=12.345s\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.event, LOGLINE_DISCONNECT);
	assert_int_equal(logline_field(&l, "reason", &v, &vlen), 0);
	expect_view(v, vlen, "error");
	assert_int_equal(logline_field(&l, "error", &v, &vlen), 0);
	expect_view(v, vlen, "Connection reset by peer");
	assert_int_equal(logline_field_u64(&l, "messages", &u), 0);
	assert_int_equal(u, 4);
	assert_int_equal(logline_field_u64(&l, "bytes", &u), 0);
	assert_int_equal(u, 38);
	assert_int_equal(logline_field_u64(&l, "discarded", &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(logline_field_u64(&l, "unsent", &u), 0);
	assert_int_equal(u, 9);
	assert_int_equal(logline_field(&l, "duration", &v, &vlen), 0);
	expect_view(v, vlen, "12.345s");
	/* "peer" is inside the quoted value, not a field. */
	assert_int_equal(logline_field(&l, "peer", &v, &vlen), -1);
	assert_int_equal(logline_field_u64(&l, "reason", &u), -1);

	/* Without an error; sub-second and zero durations. */
	d = (struct logline_disconnect){.reason = "quit", .duration_ms = 7};
	n = logline_disconnect(line, sizeof(line), TS, WHO, strlen(WHO), &d);
	expect_bytes(line, n,
		     TS " " WHO " disconnect reason=quit messages=0 bytes=0 "
			"truncated=0 discarded=0 unsent=0 duration=0.007s\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(logline_field(&l, "error", &v, &vlen), -1);
}

static void test_refused_round_trip(void **state)
{
	char line[LOGLINE_EVENT_MAX];
	struct logline l;
	const char *v;
	size_t n, vlen;

	(void)state;
	n = logline_refused(line, sizeof(line), TS, WHO, strlen(WHO),
			    "server-full");
	expect_bytes(line, n, TS " " WHO " refused reason=server-full\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.event, LOGLINE_REFUSED);
	assert_int_equal(logline_field(&l, "reason", &v, &vlen), 0);
	expect_view(v, vlen, "server-full");
}

static void test_server_events_round_trip(void **state)
{
	struct logline_start start = {
		.prog = "mtserver",
		.version = "1.0",
		.addr = "0.0.0.0:8888",
		.transports = "tcp, udp",
		.max_clients = 19968,
		.nofile = 20000,
		.idle_timeout = 300,
		.max_line = 4096,
		.drain_timeout_ms = 5000,
		.echo = true,
		.quiet = true,
	};
	struct logline_stop stop = {"stserver", 2, 5, UINT64_MAX};
	char line[LOGLINE_EVENT_MAX];
	struct logline l;
	uint64_t u;
	size_t n;

	(void)state;
	n = logline_start(line, sizeof(line), TS, &start);
	expect_bytes(line, n,
		     TS " - - - start mtserver 1.0 on 0.0.0.0:8888 (tcp, udp) "
			"max-clients=19968 nofile=20000 idle-timeout=300s "
			"max-line=4096 drain-timeout=5.000s echo quiet\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.transport, LOGLINE_SERVER);
	assert_int_equal(l.number, 0);
	assert_int_equal(l.event, LOGLINE_START);
	assert_int_equal(logline_field_u64(&l, "max-clients", &u), 0);
	assert_int_equal(u, 19968);
	assert_int_equal(logline_field_u64(&l, "max-line", &u), 0);
	assert_int_equal(u, 4096);

	start.echo = start.quiet = false;
	start.idle_timeout = 0;
	start.drain_timeout_ms = 250;
	n = logline_start(line, sizeof(line), TS, &start);
	expect_bytes(line, n,
		     TS " - - - start mtserver 1.0 on 0.0.0.0:8888 (tcp, udp) "
			"max-clients=19968 nofile=20000 idle-timeout=0s "
			"max-line=4096 drain-timeout=0.250s\n");

	n = logline_stop(line, sizeof(line), TS, &stop);
	expect_bytes(line, n,
		     TS " - - - stop stserver: 2 tcp connections, 5 tcp "
			"messages, 18446744073709551615 udp messages\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.event, LOGLINE_STOP);
	expect_view(l.rest, l.rest_len,
		    "stserver: 2 tcp connections, 5 tcp messages, "
		    "18446744073709551615 udp messages");

	n = logline_accept_failed(line, sizeof(line), TS,
				  "Too many open files");
	expect_bytes(line, n,
		     TS " - - - accept failed: Too many open files; refusing "
			"clients until descriptors are free\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.event, LOGLINE_ACCEPT);
}

/* The operations events (signals, log rotation, a full disk): exact
 * bytes, and read back with their fields. */
static void test_ops_events_round_trip(void **state)
{
	char line[LOGLINE_EVENT_MAX];
	const char *v;
	struct logline l;
	size_t n, vlen;
	uint64_t u;

	(void)state;
	n = logline_signal(line, sizeof(line), TS, "SIGTERM", "stop");
	expect_bytes(line, n, TS " - - - signal SIGTERM action=stop\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(logline_field(&l, "action", &v, &vlen), 0);
	expect_view(v, vlen, "stop");

	n = logline_log_reopened(line, sizeof(line), TS, "/var/log/m.log",
				 NULL);
	expect_bytes(line, n, TS " - - - log-reopened path=/var/log/m.log\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	expect_view(l.name, l.name_len, "log-reopened");

	n = logline_log_reopened(line, sizeof(line), TS, "/x.log",
				 "Permission denied");
	expect_bytes(line, n,
		     TS " - - - log-reopen-failed path=/x.log "
			"error=\"Permission denied\"\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(logline_field(&l, "error", &v, &vlen), 0);
	expect_view(v, vlen, "Permission denied");

	n = logline_log_gap(line, sizeof(line), TS, 2150, 104233,
			    "No space left on device");
	expect_bytes(line, n,
		     TS " - - - log-gap lines=2150 bytes=104233 "
			"reason=\"No space left on device\"\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(logline_field_u64(&l, "lines", &u), 0);
	assert_int_equal(u, 2150);
	assert_int_equal(logline_field(&l, "reason", &v, &vlen), 0);
	expect_view(v, vlen, "No space left on device");

	n = logline_log_truncated(line, sizeof(line), TS, 5242880, 0);
	expect_bytes(line, n, TS " - - - log-truncated from=5242880 to=0\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(logline_field_u64(&l, "from", &u), 0);
	assert_int_equal(u, 5242880);
	assert_int_equal(logline_field_u64(&l, "to", &u), 0);
	assert_int_equal(u, 0);
}

/* The --broker link's lines (broker.h), in both formats. */
static void test_broker_lines(void **state)
{
	const struct logline_broker lost = {.event = LOGLINE_BROKER_LOST,
					    .role = "subscribe",
					    .lines = 29,
					    .reason = "reconnect-gap",
					    .from = "host:12"};
	const struct logline_broker down = {.event = LOGLINE_BROKER_DOWN,
					    .role = "publish",
					    .error = "Connection refused",
					    .retry_ms = 50};
	const struct logline_broker up = {.event = LOGLINE_BROKER_UP,
					  .role = "publish"};
	char line[LOGLINE_EVENT_MAX];
	struct logline l;
	const char *v;
	size_t n, vlen;
	uint64_t u;

	(void)state;
	n = logline_broker(line, sizeof(line), TS, &lost);
	expect_bytes(line, n,
		     TS " - - - broker-lost role=subscribe lines=29 "
			"reason=reconnect-gap from=host:12\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	expect_view(l.name, l.name_len, "broker-lost");
	assert_int_equal(logline_field_u64(&l, "lines", &u), 0);
	assert_int_equal(u, 29);
	assert_int_equal(logline_field(&l, "from", &v, &vlen), 0);
	expect_view(v, vlen, "host:12");
	n = logline_broker(line, sizeof(line), TS, &down);
	expect_bytes(line, n,
		     TS " - - - broker-down role=publish "
			"error=\"Connection refused\" retry=0.050s\n");
	n = logline_broker(line, sizeof(line), TS, &up);
	expect_bytes(line, n, TS " - - - broker-up role=publish\n");
	logline_set_format(LOGLINE_FORMAT_JSON);
	n = logline_broker(line, sizeof(line), TS, &lost);
	expect_bytes(line, n,
		     "{\"ts\":\"" TS "\",\"event\":\"broker-lost\",\"role\":"
		     "\"subscribe\",\"lines\":29,\"reason\":\"reconnect-gap\","
		     "\"from\":\"host:12\"}\n");
	n = logline_broker(line, sizeof(line), TS, &down);
	expect_bytes(line, n,
		     "{\"ts\":\"" TS "\",\"event\":\"broker-down\",\"role\":"
		     "\"publish\",\"error\":\"Connection refused\",\"retry\":"
		     "0.050}\n");
	logline_set_format(LOGLINE_FORMAT_TEXT);
}

/* A message written, read back, and compared byte for byte. */
static void msg_round_trip(const char *text, size_t len, size_t full_len)
{
	size_t size = logline_msg_max(len);
	char *line = malloc(size), *buf = malloc(size);
	struct logline l;
	size_t n;
	int rc;

	assert_non_null(line);
	assert_non_null(buf);
	n = logline_msg(line, size, TS, WHO, strlen(WHO), text, len, full_len);
	assert_true(n <= size);
	assert_int_equal(line[n - 1], '\n');
	/* One line: the escaping left no newline inside it. */
	assert_null(memchr(line, '\n', n - 1));
	rc = parse_copy(line, n, &l);
	if (rc != 0)
		fail_msg("%s: '%.*s'", l.error, (int)n - 1, line);
	/* parse_copy freed its copies: parse again to look at the text. */
	assert_int_equal(logline_parse(line, n, &l, buf, size), 0);
	assert_int_equal(l.event,
			 full_len > len ? LOGLINE_MSG_TRUNCATED : LOGLINE_MSG);
	assert_int_equal(l.full_len, full_len > len ? full_len : len);
	assert_int_equal(l.text_len, len);
	assert_memory_equal(l.text, text, len);
	free(buf);
	free(line);
}

static void test_msg_every_byte(void **state)
{
	char text[3];

	(void)state;
	/* Every byte value alone, and between plain bytes. */
	for (int c = 0; c < 256; c++) {
		text[0] = (char)c;
		msg_round_trip(text, 1, 1);
		text[0] = 'a';
		text[1] = (char)c;
		text[2] = 'b';
		msg_round_trip(text, 3, 3);
	}
	msg_round_trip("", 0, 0);
}

static void test_msg_byte_classes(void **state)
{
	static const char *const texts[] = {
		"hello, world",
		"a\\b\\\\c\\",			/* backslashes */
		"\\x41 \\n \\t",		/* text that looks escaped */
		"tab\there\r\nnext",		/* \t \r \n */
		"\x1b[31mred\x1b[0m\x07\x7f",	/* controls, DEL */
		"\xe4\xbd\xa0\xe5\xa5\xbd",	/* UTF-8, 3 bytes */
		"\xc2\xa0\xc2\x9b",		/* U+00A0 kept, C1 escaped */
		"\xf0\x9f\x98\x80",		/* UTF-8, 4 bytes */
		"\xc0\xaf\xed\xa0\x80\xf4\x90", /* overlong, surrogate, cut */
		"\xff\xfe\x80",			/* never UTF-8 */
		"x\n2026-01-01T00:00:00.000000Z tcp 1.2.3.4:5 #1 msg evil",
		"12345678\\12345678\001\177345678", /* SWAR word edges */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		msg_round_trip(texts[i], strlen(texts[i]), strlen(texts[i]));
		msg_round_trip(texts[i], strlen(texts[i]), 100000);
	}
	msg_round_trip("\0\0x\0", 4, 4); /* NUL bytes */
}

/* A fixed-seed generator: the same bytes every run. */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_msg_random_bytes(void **state)
{
	char text[300];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len = rng() % sizeof(text);

		for (size_t j = 0; j < len; j++)
			text[j] = (char)rng();
		msg_round_trip(text, len, rng() % 2 ? len : len + 1);
	}
}

static void test_msg_cut_to_buffer(void **state)
{
	char line[64];
	size_t n, size;
	struct logline l;

	(void)state;
	/* A buffer too small keeps the line whole: a head, '\n', no more. */
	for (size = 1; size <= sizeof(line); size++) {
		n = logline_msg(line, size, TS, WHO, strlen(WHO), "\x01\x02", 2,
				2);
		assert_true(n >= 1 && n <= size);
		assert_int_equal(line[n - 1], '\n');
	}
	/* With room for the head and one escape, one byte of text. */
	n = logline_msg(line, strlen(TS " " WHO " msg ") + 5, TS, WHO,
			strlen(WHO), "\x01\x02", 2, 2);
	expect_bytes(line, n, TS " " WHO " msg \\x01\n");
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	expect_view(l.escaped, l.escaped_len, "\\x01");
}

static void test_event_cut_to_buffer(void **state)
{
	struct logline_disconnect d = {.reason = "idle-timeout",
				       .error = "Broken pipe"};
	char line[LOGLINE_EVENT_MAX];
	size_t full, n;

	(void)state;
	full = logline_disconnect(line, sizeof(line), TS, WHO, strlen(WHO), &d);
	for (size_t size = 1; size <= full + 1; size++) {
		n = logline_disconnect(line, size, TS, WHO, strlen(WHO), &d);
		assert_int_equal(n, size < full ? size : full);
		assert_int_equal(line[n - 1], '\n');
	}
}

static void test_timestamps(void **state)
{
	static const struct timespec times[] = {
		{0, 0},			 /* 1970-01-01 */
		{951782400, 1000},	 /* 2000-02-29, leap century */
		{1709164800, 999999000}, /* 2024-02-29 */
		{1735689599, 500000000}, /* 2024-12-31T23:59:59 */
		{TS_SEC, TS_NSEC},
		{253402300799, 999999000}, /* 9999-12-31T23:59:59 */
	};
	char line[LOGLINE_EVENT_MAX], ts[LOGFMT_TS_LEN];
	struct logline l;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		logfmt_timestamp(ts, &times[i]);
		n = logline_connect(line, sizeof(line), ts, WHO, strlen(WHO));
		assert_int_equal(parse_copy(line, n, &l), 0);
		assert_int_equal(l.ts.tv_sec, times[i].tv_sec);
		assert_int_equal(l.ts.tv_nsec, times[i].tv_nsec);
	}
	/* Every day of a leap year and a common one, at midnight. */
	for (time_t t = 1704067200; t < 1767225600; t += 86400) {
		struct timespec ts_in = {t, 0};

		logfmt_timestamp(ts, &ts_in);
		n = logline_connect(line, sizeof(line), ts, WHO, strlen(WHO));
		assert_int_equal(parse_copy(line, n, &l), 0);
		assert_int_equal(l.ts.tv_sec, t);
	}
	/* Other fraction lengths are read too. */
	n = (size_t)snprintf(line, sizeof(line),
			     "2026-11-24T13:49:55.1Z " WHO " connect");
	assert_int_equal(parse_copy(line, n, &l), 0);
	assert_int_equal(l.ts.tv_nsec, 100000000L);
}

/* Within one second, rewriting the microseconds alone (what a batch
 * does per received buffer) gives the whole timestamp of the new time. */
static void test_timestamp_micros_in_same_second(void **state)
{
	static const struct {
		long nsec;
		const char *ts;
	} cases[] = {
		{0, "2026-11-24T13:49:55.000000Z"},
		{999, "2026-11-24T13:49:55.000000Z"},
		{1000, "2026-11-24T13:49:55.000001Z"},
		{987654321, "2026-11-24T13:49:55.987654Z"},
		{999999999, "2026-11-24T13:49:55.999999Z"},
	};
	struct timespec now = {TS_SEC, TS_NSEC};
	char ts[LOGFMT_TS_LEN];

	(void)state;
	logfmt_timestamp(ts, &now);
	assert_memory_equal(ts, TS, LOGFMT_TS_LEN);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		now.tv_nsec = cases[i].nsec;
		logfmt_timestamp_micros(ts, &now);
		assert_memory_equal(ts, cases[i].ts, LOGFMT_TS_LEN);
	}
}

/* Each line is not of the grammar: -1, EINVAL, and a reason. */
static void expect_rejected(const char *line, size_t len)
{
	struct logline l;

	errno = 0;
	if (parse_copy(line, len, &l) != -1)
		fail_msg("accepted: '%.*s'", (int)len, line);
	assert_int_equal(errno, EINVAL);
	assert_non_null(l.error);
}

#define REJECT(lit) expect_rejected(lit, sizeof(lit) - 1)

static void test_corrupt_lines(void **state)
{
	(void)state;
	REJECT("");
	REJECT("\n");
	REJECT("garbage without fields");
	REJECT("2026-13-24T13:49:55.123456Z " WHO " connect");
	REJECT("2026-02-29T13:49:55.123456Z " WHO " connect"); /* not leap */
	REJECT("2026-11-31T13:49:55.123456Z " WHO " connect");
	REJECT("2026-11-24T24:49:55.123456Z " WHO " connect");
	REJECT("2026-11-24T13:60:55.123456Z " WHO " connect");
	REJECT("2026-11-24 13:49:55.123456Z " WHO " connect");
	REJECT("2026-11-24T13:49:55.Z " WHO " connect");
	REJECT("2026-11-24T13:49:55.123456 " WHO " connect");
	REJECT("2026-1a-24T13:49:55.123456Z " WHO " connect");
	REJECT("+026-11-24T13:49:55.123456Z " WHO " connect");
	REJECT(TS " sctp 1.2.3.4:5 #1 connect");
	REJECT(TS " tcp 1.2.3.4:5 17 connect");
	REJECT(TS " tcp 1.2.3.4:5 # connect");
	REJECT(TS " tcp 1.2.3.4:5 #017 connect");
	REJECT(TS " tcp 1.2.3.4:5 #-1 connect");
	REJECT(TS " tcp 1.2.3.4:5 #18446744073709551616 connect");
	REJECT(TS " tcp  #1 connect");
	REJECT(TS " - - 1 start");
	REJECT(TS " tcp - - refused reason=no-memory");
	REJECT(TS " " WHO " ");
	REJECT(TS " " WHO " msg");
	REJECT(TS " " WHO " msg bad\\q escape");
	REJECT(TS " " WHO " msg short\\x4");
	REJECT(TS " " WHO " msg upper\\x4F");
	REJECT(TS " " WHO " msg not\\xzz hex");
	REJECT(TS " " WHO " msg trailing\\");
	REJECT(TS " " WHO " msg raw\ttab");
	REJECT(TS " " WHO " msg raw\x1b[31m escape");
	REJECT(TS " " WHO " msg del\x7f");
	REJECT(TS " " WHO " msg two\nlines");
	REJECT(TS " " WHO " msg-truncated len=abc text");
	REJECT(TS " " WHO " msg-truncated len= text");
	REJECT(TS " " WHO " msg-truncated 5 text");
	REJECT(TS " " WHO " msg-truncated len=5");
	REJECT(TS " " WHO " disconnect reason=quit\x01");
	REJECT(TS " " WHO " connect now");
	REJECT(TS " " WHO " refused");
	REJECT(TS " " WHO " refused reason=");
	REJECT(TS " " WHO " disconnect reason=quit messages=1 bytes=2 "
		  "truncated=0 discarded=0");
	REJECT(TS " " WHO " disconnect reason=quit messages=1 bytes=2 "
		  "truncated=0 discarded=x unsent=0 duration=0.001s");
	REJECT(TS " " WHO " disconnect reason=quit messages=1 bytes=2 "
		  "truncated=0 discarded=0 unsent=0 duration=1.01s");
	REJECT(TS " " WHO " disconnect reason=error error=\"cut messages=1 "
		  "bytes=2 truncated=0 discarded=0 duration=0.001s");
}

/* Every prefix of every kind of line: never a crash, never a read
 * outside it.  Cut inside the header it is an error; cut later, it is
 * an error or a line that could have been written whole (a message's
 * text, a word of free text, an unknown event's name). */
static void test_truncated_lines(void **state)
{
	struct logline_disconnect d = {.reason = "error", .error = "Broken"};
	char lines[6][LOGLINE_EVENT_MAX];
	size_t lens[6], header;
	struct logline l;

	(void)state;
	lens[0] = logline_connect(lines[0], LOGLINE_EVENT_MAX, TS, WHO,
				  strlen(WHO));
	lens[1] = logline_disconnect(lines[1], LOGLINE_EVENT_MAX, TS, WHO,
				     strlen(WHO), &d);
	lens[2] = logline_msg(lines[2], LOGLINE_EVENT_MAX, TS, WHO, strlen(WHO),
			      "a\\b\x01", 4, 4);
	lens[3] = logline_msg(lines[3], LOGLINE_EVENT_MAX, TS, WHO, strlen(WHO),
			      "a\\b\x01", 4, 99);
	lens[4] = logline_refused(lines[4], LOGLINE_EVENT_MAX, TS, WHO,
				  strlen(WHO), "server-full");
	lens[5] = logline_accept_failed(lines[5], LOGLINE_EVENT_MAX, TS,
					"Too many open files");
	for (int i = 0; i < 6; i++) {
		header = strlen(i == 5 ? TS " - - - " : TS " " WHO " ");
		/* lens[i] - 1: the whole line without its '\n'. */
		for (size_t n = 0; n < lens[i] - 1; n++) {
			int rc = parse_copy(lines[i], n, &l);

			if (rc == -1)
				continue;
			if (n <= header || l.event == LOGLINE_CONNECT ||
			    l.event == LOGLINE_DISCONNECT)
				fail_msg("prefix %zu of line %d accepted", n,
					 i);
		}
	}
	/* A truncated msg-truncated line cut inside its len=N. */
	REJECT(TS " " WHO " msg-truncated len=9");
}

/* Random bytes, and valid lines with bytes changed at every position:
 * the reader answers, never crashes; what it accepts is consistent. */
static void check_hostile(const char *line, size_t len)
{
	struct logline l;
	char *copy = copy_exact(line, len);
	char *text = malloc(len + 1);

	assert_non_null(text);
	if (logline_parse(copy, len, &l, text, len + 1) == 0) {
		assert_true(l.name_len > 0);
		assert_true(l.name >= copy &&
			    l.name + l.name_len <= copy + len);
		assert_true(
			l.rest == NULL ||
			(l.rest >= copy && l.rest + l.rest_len <= copy + len));
		if (l.event == LOGLINE_MSG || l.event == LOGLINE_MSG_TRUNCATED)
			assert_true(l.text_len <= l.escaped_len);
	} else {
		assert_non_null(l.error);
	}
	free(text);
	free(copy);
}

static void test_hostile_lines(void **state)
{
	static const char alphabet[] = "0123456789-:T.Z #=\"\\xnmsgtcpud- ";
	struct logline_disconnect d = {.reason = "error", .error = "Broken"};
	char line[LOGLINE_EVENT_MAX], bad[LOGLINE_EVENT_MAX];
	static const char changes[] = {'\0', ' ', '\\', '"',	'=',   '#',
				       '9',  'x', '\n', '\x80', '\xff'};
	size_t n;

	(void)state;
	memset(bad, 0, sizeof(bad));
	for (int i = 0; i < 50000; i++) {
		size_t len = rng() % 120;

		for (size_t j = 0; j < len; j++)
			bad[j] = rng() % 4 == 0
					 ? (char)rng()
					 : alphabet[rng() %
						    (sizeof(alphabet) - 1)];
		/* Half of them start with a good header. */
		if (i % 2 == 0 && len > 52)
			memcpy(bad, TS " " WHO " ", 52);
		check_hostile(bad, len);
	}
	n = logline_disconnect(line, sizeof(line), TS, WHO, strlen(WHO), &d);
	for (size_t pos = 0; pos < n; pos++) {
		for (size_t k = 0; k < sizeof(changes); k++) {
			memcpy(bad, line, n);
			bad[pos] = changes[k];
			check_hostile(bad, n);
		}
	}
	n = logline_msg(line, sizeof(line), TS, WHO, strlen(WHO),
			"x\\y\x01z\xe4\xbd\xa0", 8, 20);
	for (size_t pos = 0; pos < n; pos++) {
		for (size_t k = 0; k < sizeof(changes); k++) {
			memcpy(bad, line, n);
			bad[pos] = changes[k];
			check_hostile(bad, n);
		}
	}
}

static void test_text_buffer_too_small(void **state)
{
	char line[LOGLINE_EVENT_MAX], text[4];
	struct logline l;
	size_t n;

	(void)state;
	n = logline_msg(line, sizeof(line), TS, WHO, strlen(WHO), "ab\ncd", 5,
			5);
	errno = 0;
	assert_int_equal(logline_parse(line, n, &l, text, sizeof(text)), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_null(l.text);
	expect_view(l.escaped, l.escaped_len, "ab\\ncd");
	/* Plain text needs no buffer at all. */
	n = logline_msg(line, sizeof(line), TS, WHO, strlen(WHO), "plain", 5,
			5);
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_true(l.text >= line && l.text < line + n);
	expect_view(l.text, l.text_len, "plain");
}

static void test_unknown_event_is_read(void **state)
{
	static const char line[] = TS " " WHO " joined room=lobby\n";
	char text[sizeof(line)];
	struct logline l;
	const char *v;
	size_t vlen;

	(void)state;
	/* An event added later is still a line: its name and fields.  The
	 * fields are views into line, so it is parsed in place. */
	assert_int_equal(
		logline_parse(line, sizeof(line) - 1, &l, text, sizeof(text)),
		0);
	assert_int_equal(l.event, LOGLINE_OTHER);
	assert_int_equal(l.name_len, strlen("joined"));
	assert_int_equal(logline_field(&l, "room", &v, &vlen), 0);
	assert_int_equal(vlen, strlen("lobby"));
}

/* ---- JSON lines and syslog fields (issue 24) ---- */

#define JWHO "\"transport\":\"tcp\",\"peer\":\"127.0.0.1:53422\",\"id\":17"

/* Every event, by number, as the server writes it: in the format
 * chosen.  0 when there is no such event. */
static size_t write_event(int i, char *buf, size_t size)
{
	static const struct logline_disconnect d = {
		.reason = "error",
		.error = "Connection reset by peer",
		.messages = 4,
		.bytes = 38,
		.truncated = 1,
		.discarded = 7,
		.unsent = 9,
		.duration_ms = 12345,
	};
	static const struct logline_start start = {
		.prog = "mtserver",
		.version = "1.0",
		.addr = "0.0.0.0:8888",
		.transports = "tcp, udp",
		.max_clients = 19968,
		.nofile = 20000,
		.idle_timeout = 300,
		.max_line = 4096,
		.drain_timeout_ms = 5000,
		.chat = true,
		.quiet = true,
	};
	static const struct logline_stop stop = {"stserver", 2, 5, UINT64_MAX};
	static const char s5424[] = "<165>1 2003-10-11T22:14:15.003Z host.ex "
				    "evntslog 42 ID47 [a@1 b=\"c\"] hi";
	static const char s3164[] = "<34>Oct 11 22:14:15 mymachine su: fail";

	switch (i) {
	case 0:
		return logline_connect(buf, size, TS, WHO, strlen(WHO));
	case 1:
		return logline_disconnect(buf, size, TS, WHO, strlen(WHO), &d);
	case 2:
		return logline_refused(buf, size, TS, WHO, strlen(WHO),
				       "server-full");
	case 3:
		return logline_nick(buf, size, TS, WHO, strlen(WHO), "ann");
	case 4:
		return logline_start(buf, size, TS, &start);
	case 5:
		return logline_stop(buf, size, TS, &stop);
	case 6:
		return logline_signal(buf, size, TS, "SIGTERM", "stop");
	case 7:
		return logline_log_reopened(buf, size, TS, "/var/log/m.log",
					    NULL);
	case 8:
		return logline_log_reopened(buf, size, TS, "/x.log",
					    "Permission denied");
	case 9:
		return logline_log_gap(buf, size, TS, 2150, 104233,
				       "No space left on device");
	case 10:
		return logline_log_truncated(buf, size, TS, 5242880, 0);
	case 11:
		return logline_accept_failed(buf, size, TS,
					     "Too many open files");
	case 12:
		return logline_msg(buf, size, TS, WHO, strlen(WHO), "hi \"x\"",
				   6, 6);
	case 13:
		return logline_msg(buf, size, TS, WHO, strlen(WHO), "head", 4,
				   900);
	case 14:
		return logline_msg(buf, size, TS, WHO, strlen(WHO), s5424,
				   strlen(s5424), strlen(s5424));
	case 15:
		return logline_msg(buf, size, TS, WHO, strlen(WHO), s3164,
				   strlen(s3164), 70);
	default:
		return 0;
	}
}

/* What each event is in JSON: the schema of docs/json-log.md. */
static const char *const json_events[] = {
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"connect\"}\n",
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"disconnect\",\"reason\":"
	"\"error\",\"error\":\"Connection reset by peer\",\"messages\":4,"
	"\"bytes\":38,\"truncated\":1,\"discarded\":7,\"unsent\":9,"
	"\"duration\":12.345}\n",
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"refused\",\"reason\":"
	"\"server-full\"}\n",
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"nick\",\"name\":\"ann\"}\n",
	"{\"ts\":\"" TS "\",\"event\":\"start\",\"prog\":\"mtserver\","
	"\"version\":\"1.0\",\"addr\":\"0.0.0.0:8888\",\"transports\":"
	"\"tcp, udp\",\"max-clients\":19968,\"nofile\":20000,"
	"\"idle-timeout\":300,\"max-line\":4096,\"drain-timeout\":5.000,"
	"\"chat\":true,\"quiet\":true}\n",
	"{\"ts\":\"" TS "\",\"event\":\"stop\",\"prog\":\"stserver\","
	"\"tcp-connections\":2,\"tcp-messages\":5,"
	"\"udp-messages\":18446744073709551615}\n",
	"{\"ts\":\"" TS "\",\"event\":\"signal\",\"signal\":\"SIGTERM\","
	"\"action\":\"stop\"}\n",
	"{\"ts\":\"" TS "\",\"event\":\"log-reopened\",\"path\":"
	"\"/var/log/m.log\"}\n",
	"{\"ts\":\"" TS "\",\"event\":\"log-reopen-failed\",\"path\":"
	"\"/x.log\",\"error\":\"Permission denied\"}\n",
	"{\"ts\":\"" TS "\",\"event\":\"log-gap\",\"lines\":2150,\"bytes\":"
	"104233,\"reason\":\"No space left on device\"}\n",
	"{\"ts\":\"" TS "\",\"event\":\"log-truncated\",\"from\":5242880,"
	"\"to\":0}\n",
	"{\"ts\":\"" TS "\",\"event\":\"accept\",\"error\":\"Too many open "
	"files\"}\n",
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"msg\",\"text\":"
	"\"hi \\\"x\\\"\"}\n",
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"msg-truncated\",\"len\":900,"
	"\"text\":\"head\"}\n",
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"syslog\",\"facility\":"
	"\"local4\",\"severity\":\"notice\",\"hostname\":\"host.ex\","
	"\"app-name\":\"evntslog\",\"procid\":\"42\",\"msgid\":\"ID47\","
	"\"text\":\"<165>1 2003-10-11T22:14:15.003Z host.ex evntslog 42 "
	"ID47 [a@1 b=\\\"c\\\"] hi\"}\n",
	"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"syslog-truncated\",\"len\":"
	"70,\"facility\":\"auth\",\"severity\":\"crit\",\"hostname\":"
	"\"mymachine\",\"text\":\"<34>Oct 11 22:14:15 mymachine su: fail\"}"
	"\n",
};

/* And in the text format: the syslog events (the others are checked
 * byte for byte above). */
static const char *const text_syslog[] = {
	TS " " WHO " syslog facility=local4 severity=notice hostname=host.ex "
	   "app-name=evntslog procid=42 msgid=ID47 <165>1 "
	   "2003-10-11T22:14:15.003Z host.ex evntslog 42 ID47 [a@1 b=\"c\"] "
	   "hi\n",
	TS " " WHO " syslog-truncated len=70 facility=auth severity=crit "
	   "hostname=mymachine <34>Oct 11 22:14:15 mymachine su: fail\n",
};

/* The key=value fields the text also has, read from both lines. */
static const char *const kv_keys[] = {
	"reason",      "error",		"messages", "bytes",  "truncated",
	"discarded",   "unsent",	"name",	    "action", "path",
	"lines",       "from",		"to",	    "nofile", "max-line",
	"max-clients", "drain-timeout", "duration",
};

static int restore_text(void **state)
{
	(void)state;
	logline_set_format(LOGLINE_FORMAT_TEXT);
	return 0;
}

/* Every event written in both formats and read back: the same time,
 * peer, number, event and fields; the JSON line exactly the schema. */
static void test_json_every_event_round_trip(void **state)
{
	char tl[LOGLINE_EVENT_MAX], jl[LOGLINE_EVENT_MAX];
	char tbuf[LOGLINE_EVENT_MAX], jbuf[LOGLINE_EVENT_MAX];
	struct logline t, j;
	size_t tn, jn;
	int i;

	(void)state;
	for (i = 0; (tn = write_event(i, tl, sizeof(tl))) > 0; i++) {
		logline_set_format(LOGLINE_FORMAT_JSON);
		jn = write_event(i, jl, sizeof(jl));
		logline_set_format(LOGLINE_FORMAT_TEXT);
		assert_true(i < (int)(sizeof(json_events) / sizeof(char *)));
		expect_bytes(jl, jn, json_events[i]);
		if (logline_parse(tl, tn, &t, tbuf, sizeof(tbuf)) != 0)
			fail_msg("event %d: %s", i, t.error);
		if (logline_parse(jl, jn, &j, jbuf, sizeof(jbuf)) != 0)
			fail_msg("event %d (JSON): %s", i, j.error);
		assert_int_equal(t.format, LOGLINE_FORMAT_TEXT);
		assert_int_equal(j.format, LOGLINE_FORMAT_JSON);
		assert_int_equal(j.ts.tv_sec, t.ts.tv_sec);
		assert_int_equal(j.ts.tv_nsec, t.ts.tv_nsec);
		assert_int_equal(j.transport, t.transport);
		expect_view(j.peer, j.peer_len,
			    t.transport == LOGLINE_SERVER ? "-"
							  : "127.0.0.1:53422");
		assert_int_equal(j.number, t.number);
		assert_int_equal(j.event, t.event);
		assert_int_equal(logline_is_message(&t), i >= 12);
		assert_int_equal(logline_is_message(&j), i >= 12);
		assert_int_equal(j.name_len, t.name_len);
		assert_memory_equal(j.name, t.name, t.name_len);
		assert_int_equal(j.full_len, t.full_len);
		assert_int_equal(j.text_len, t.text_len);
		if (t.text_len > 0)
			assert_memory_equal(j.text, t.text, t.text_len);
		for (size_t k = 0; k < sizeof(kv_keys) / sizeof(char *); k++) {
			const char *tv, *jv;
			size_t tvl, jvl;
			int trc = logline_field(&t, kv_keys[k], &tv, &tvl);
			int jrc = logline_field(&j, kv_keys[k], &jv, &jvl);

			/* (JSON names what the text has by place, as
			 * accept's error: those are in its bytes above.)
			 * A duration is "S.mmms" in the text, S.mmm in
			 * JSON. */
			if (trc == 0 && tvl > 0 && tv[tvl - 1] == 's')
				tvl--;
			if (trc == 0 && (jrc != 0 || tvl != jvl ||
					 memcmp(tv, jv, tvl) != 0))
				fail_msg("event %d: field %s differs", i,
					 kv_keys[k]);
		}
	}
	assert_int_equal(i, sizeof(json_events) / sizeof(char *));
}

/* A message that starts with a syslog header: its fields, both
 * formats, read back and checked against the text. */
static void test_syslog_fields_round_trip(void **state)
{
	char line[LOGLINE_EVENT_MAX], buf[LOGLINE_EVENT_MAX];
	struct logline l;
	size_t n;

	(void)state;
	for (int f = 0; f < 2; f++) {
		logline_set_format(f ? LOGLINE_FORMAT_JSON
				     : LOGLINE_FORMAT_TEXT);
		n = write_event(14, line, sizeof(line));
		if (f == 0)
			expect_bytes(line, n, text_syslog[0]);
		assert_int_equal(logline_parse(line, n, &l, buf, sizeof(buf)),
				 0);
		assert_int_equal(l.event, LOGLINE_SYSLOG);
		expect_view(l.syslog.facility, l.syslog.facility_len, "local4");
		expect_view(l.syslog.severity, l.syslog.severity_len, "notice");
		expect_view(l.syslog.hostname, l.syslog.hostname_len,
			    "host.ex");
		expect_view(l.syslog.app_name, l.syslog.app_name_len,
			    "evntslog");
		expect_view(l.syslog.procid, l.syslog.procid_len, "42");
		expect_view(l.syslog.msgid, l.syslog.msgid_len, "ID47");
		assert_int_equal(l.text_len,
				 strlen("<165>1 2003-10-11T22:14:"
					"15.003Z host.ex evntslog "
					"42 ID47 [a@1 b=\"c\"] hi"));
		assert_memory_equal(l.text, "<165>1 2003", 11);

		n = write_event(15, line, sizeof(line));
		if (f == 0)
			expect_bytes(line, n, text_syslog[1]);
		assert_int_equal(logline_parse(line, n, &l, buf, sizeof(buf)),
				 0);
		assert_int_equal(l.event, LOGLINE_SYSLOG_TRUNCATED);
		assert_int_equal(l.full_len, 70);
		expect_view(l.syslog.facility, l.syslog.facility_len, "auth");
		expect_view(l.syslog.severity, l.syslog.severity_len, "crit");
		expect_view(l.syslog.hostname, l.syslog.hostname_len,
			    "mymachine");
		assert_null(l.syslog.app_name);
		assert_null(l.syslog.msgid);
	}
	logline_set_format(LOGLINE_FORMAT_TEXT);
}

/* Which messages count as syslog: each is logged as "syslog" or as a
 * plain "msg", and reads back the same. */
static void test_syslog_which_headers(void **state)
{
	static const struct {
		const char *text;
		bool is_syslog;
	} cases[] = {
		{"<0>1 - - - - - -", true},
		{"<191>1 - h a p m -", true},
		{"<13>1 2026-12-07T19:27:57.123456+01:00 h a p m - x", true},
		{"<13>1 2026-12-07T19:27:57Z h a p m [x@1] y", true},
		{"<13>1 2026-12-07T19:27:57Z h a p m [x@1 a=\"\\]\\\"\"][y] z",
		 true},
		{"<13>Dec  7 19:27:57 host tag: x", true},
		{"<13>Dec 07 19:27:57 host", true},
		{"<13>Jan 31 00:00:00 h\\\"x", true},
		{"<192>1 - - - - - -", false}, /* PRI over 191 */
		{"<013>1 - - - - - -", false}, /* leading zero */
		{"<00>1 - - - - - -", false},
		{"<>1 - - - - - -", false},
		{"<13>2 - - - - - -", false},	      /* version 2 */
		{"<13>1 - - - - -", false},	      /* no STRUCTURED-DATA */
		{"<13>1 - - - - - -x", false},	      /* no SP before MSG */
		{"<13>1 - - - - [x", false},	      /* SD not closed */
		{"<13>1 - - - - [a=b]", false},	      /* '=' in an SD-ID */
		{"<13>1 - - - - [x a=\"]\"]", false}, /* raw ']' */
		{"<13>1 2026-13-01T00:00:00Z h a p m -", false},
		{"<13>1 2026-12-07T24:00:00Z h a p m -", false},
		{"<13>1 2026-12-07T19:27:57.1234567Z h a p m -", false},
		{"<13>1 2026-12-07T19:27:57 h a p m -", false}, /* no zone */
		{"<13>1 -  a p m -", false}, /* empty hostname */
		{"<13>1 - h 12345678901234567890123456789012345678901234567890"
		 " p m -",
		 false},	      /* APP-NAME over 48 */
		{"<13>hello", false}, /* PRI alone */
		{"<13>Dec 32 19:27:57 host x", false},
		{"<13>Dex  7 19:27:57 host x", false},
		{"<13>Dec  7 19:27:57  host", false}, /* no HOSTNAME */
		{"<13>Dec  7 19:27:60 host", false},
		{"<13>Dec  0 19:27:57 host", false},
		{"13>1 - - - - - -", false},
		{" <13>1 - - - - - -", false},
	};
	char line[LOGLINE_EVENT_MAX], buf[LOGLINE_EVENT_MAX];
	struct logline l;

	(void)state;
	for (int f = 0; f < 2; f++) {
		logline_set_format(f ? LOGLINE_FORMAT_JSON
				     : LOGLINE_FORMAT_TEXT);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *s = cases[i].text;
			size_t n = logline_msg(line, sizeof(line), TS, WHO,
					       strlen(WHO), s, strlen(s),
					       strlen(s));

			if (logline_parse(line, n, &l, buf, sizeof(buf)) != 0)
				fail_msg("'%s': %s", s, l.error);
			if (l.event !=
			    (cases[i].is_syslog ? LOGLINE_SYSLOG : LOGLINE_MSG))
				fail_msg("'%s' taken for %s", s,
					 cases[i].is_syslog ? "msg" : "syslog");
			expect_view(l.text, l.text_len, s);
		}
	}
	logline_set_format(LOGLINE_FORMAT_TEXT);
}

/* A line whose syslog fields are not its text's: refused, whichever
 * field lies. */
static void test_syslog_forged_fields(void **state)
{
	static const char *const forged[] = {
		TS " " WHO " syslog facility=kern severity=notice hostname=h "
		   "<13>Dec  7 19:27:57 h x",
		TS " " WHO " syslog facility=user severity=emerg hostname=h "
		   "<13>Dec  7 19:27:57 h x",
		TS " " WHO " syslog facility=user severity=notice hostname=g "
		   "<13>Dec  7 19:27:57 h x",
		TS " " WHO " syslog facility=user severity=notice hostname=h "
		   "app-name=a procid=p msgid=m <13>Dec  7 19:27:57 h x",
		TS " " WHO " syslog facility=user severity=notice hostname=h "
		   "<13>1 - h a p m -",
		TS " " WHO " syslog facility=user severity=notice hostname=h "
		   "app-name=a procid=p msgid=n <13>1 - h a p m -",
		TS " " WHO " syslog facility=user severity=notice hostname=h "
		   "plain text",
		TS " " WHO " syslog facility=user severity=notice <13>Dec  7 "
		   "19:27:57 h x",
		TS " " WHO " syslog <13>Dec  7 19:27:57 h x",
		"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"syslog\",\"facility\":"
		"\"kern\",\"severity\":\"notice\",\"hostname\":\"h\",\"text\":"
		"\"<13>Dec  7 19:27:57 h x\"}",
		"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"syslog\",\"facility\":"
		"\"user\",\"severity\":\"notice\",\"hostname\":\"h\",\"text\":"
		"\"<13>1 - h a p m -\"}",
		"{\"ts\":\"" TS "\"," JWHO ",\"event\":\"syslog\",\"facility\":"
		"\"user\",\"severity\":\"notice\",\"text\":\"<13>Dec  7 "
		"19:27:57 h x\"}",
	};
	struct logline l;

	(void)state;
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		if (parse_copy(forged[i], strlen(forged[i]), &l) == 0)
			fail_msg("accepted: %s", forged[i]);
	/* The genuine ones next to them are read. */
	assert_int_equal(
		parse_copy(TS " " WHO " syslog facility=user severity=notice "
			      "hostname=h <13>Dec  7 19:27:57 h x",
			   strlen(TS " " WHO " syslog facility=user severity="
				     "notice hostname=h <13>Dec  7 19:27:57 h "
				     "x"),
			   &l),
		0);
}

/* Every byte, byte class and random text through the JSON writer and
 * reader: the same text back, one line, and (JSON) no raw control
 * byte or DEL, no '"' or '\\' that is not an escape. */
static void check_json_line(const char *line, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)line[i];

		assert_true(c >= 0x20 && c != 0x7f);
	}
	assert_int_equal(line[0], '{');
	assert_int_equal(line[n - 2], '}');
}

static void test_json_msg_bytes_round_trip(void **state)
{
	char text[300], line[4096], buf[4096];
	struct logline l;
	size_t n;

	(void)state;
	logline_set_format(LOGLINE_FORMAT_JSON);
	for (int i = 0; i < 20000; i++) {
		size_t len = i < 256 ? 3 : rng() % sizeof(text);

		for (size_t j = 0; j < len; j++)
			text[j] = i < 256 ? (char)i : (char)rng();
		if (i % 3 == 0 && len > 0)
			text[0] = '"';
		if (i % 5 == 0 && len > 1)
			text[1] = '\\';
		assert_true(logline_msg_max(len) <= sizeof(line));
		n = logline_msg(line, logline_msg_max(len), TS, WHO,
				strlen(WHO), text, len, len);
		check_json_line(line, n);
		if (logline_parse(line, n, &l, buf, sizeof(buf)) != 0)
			fail_msg("%s: %.*s", l.error, (int)n, line);
		assert_int_equal(l.text_len, len);
		assert_memory_equal(l.text, text, len);
	}
	logline_set_format(LOGLINE_FORMAT_TEXT);
}

/* The JSON escaping is the text's, spelled for JSON: decoding the JSON
 * string (\\ and \" only) gives the text format's escaped text. */
static void test_json_escape_is_text_escape(void **state)
{
	char text[256], esc[4 * 256], json[5 * 256], decoded[5 * 256];
	size_t en, jn, dn;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		size_t len = rng() % sizeof(text);

		for (size_t j = 0; j < len; j++)
			text[j] = (char)rng();
		en = logfmt_escape(esc, text, len);
		jn = logfmt_escape_json(json, text, len);
		dn = 0;
		for (size_t j = 0; j < jn; j++) {
			if (json[j] == '\\') {
				j++;
				assert_true(json[j] == '\\' || json[j] == '"');
			} else {
				assert_true(json[j] != '"');
			}
			decoded[dn++] = json[j];
		}
		assert_int_equal(dn, en);
		assert_memory_equal(decoded, esc, en);
		assert_true(logfmt_escape_json_equals(text, len, json, jn));
	}
}

/* JSON lines that are not the writer's: refused, with a reason. */
static void test_json_corrupt_lines(void **state)
{
	(void)state;
#define JHEAD "{\"ts\":\"" TS "\"," JWHO
	REJECT("{");
	REJECT("{}");
	REJECT("{\"ts\":\"" TS "\"}");
	REJECT(JHEAD ",\"event\":\"connect\""); /* no '}' */
	REJECT(JHEAD ",\"event\":\"connect\"}x");
	REJECT(JHEAD ",\"event\":\"connect\",\"x\":1}");
	REJECT(JHEAD ",\"event\":\"\"}");
	REJECT("{\"ts\":\"2026-13-24T13:49:55.123456Z\"," JWHO
	       ",\"event\":\"connect\"}");
	REJECT("{\"ts\":\"" TS "\",\"transport\":\"sctp\",\"peer\":\"1:2\","
	       "\"id\":1,\"event\":\"connect\"}");
	REJECT("{\"ts\":\"" TS "\",\"transport\":\"tcp\",\"peer\":\"\","
	       "\"id\":1,\"event\":\"connect\"}");
	REJECT("{\"ts\":\"" TS "\",\"transport\":\"tcp\",\"peer\":\"1:2\","
	       "\"id\":01,\"event\":\"connect\"}");
	REJECT(JHEAD ",\"event\":\"msg\"}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"a\"b\"}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"raw\ttab\"}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"\\u0041\"}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"\\\\x41\"}"); /* 'A' */
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"\\\\q\"}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"\\\\\"}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"\\\\x1\"}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"\xff\"}"); /* raw */
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"x\",\"y\":1}");
	REJECT(JHEAD ",\"event\":\"msg\",\"text\":\"x\" }");
	REJECT(JHEAD ",\"event\":\"msg-truncated\",\"text\":\"x\"}");
	REJECT(JHEAD ",\"event\":\"msg-truncated\",\"len\":x,\"text\":\"x\"}");
	REJECT(JHEAD ",\"event\":\"refused\"}");
	REJECT(JHEAD ",\"event\":\"refused\",\"reason\":\"\"}");
	REJECT(JHEAD ",\"event\":\"disconnect\",\"reason\":\"quit\","
		     "\"messages\":1,\"bytes\":2,\"truncated\":0,"
		     "\"discarded\":0,\"unsent\":0}");
	REJECT(JHEAD ",\"event\":\"disconnect\",\"reason\":\"quit\","
		     "\"messages\":1,\"bytes\":2,\"truncated\":0,"
		     "\"discarded\":0,\"unsent\":0,\"duration\":1.01}");
	REJECT(JHEAD ",\"event\":\"nick\",\"name\":x}");
	REJECT(JHEAD ",\"event\":\"nick\",\"name\":\"x}");
#undef JHEAD
}

/* A JSON line cut to any buffer is still one whole object. */
static void test_json_cut_to_buffer(void **state)
{
	char line[LOGLINE_EVENT_MAX], full[LOGLINE_EVENT_MAX];
	struct logline l;
	size_t n, fn;

	(void)state;
	logline_set_format(LOGLINE_FORMAT_JSON);
	for (int i = 0; (fn = write_event(i, full, sizeof(full))) > 0; i++) {
		for (size_t size = 3; size <= fn + 1; size++) {
			n = write_event(i, line, size);
			assert_true(n >= 3 && n <= size);
			assert_int_equal(line[n - 1], '\n');
			assert_int_equal(line[n - 2], '}');
			assert_int_equal(line[0], '{');
			if (n == 3)
				continue; /* "{}": no room for the header */
			/* A cut line is a JSON object of whole members; the
			 * reader takes it unless a required field is gone. */
			if (logline_parse(line, n, &l, NULL, 0) == -1 &&
			    errno != EINVAL && errno != EMSGSIZE)
				fail_msg("event %d, size %zu", i, size);
			if (size > fn)
				assert_int_equal(n, fn);
		}
	}
	logline_set_format(LOGLINE_FORMAT_TEXT);
}

/* The longest WHO and every event: the JSON lines fit their rooms. */
static void test_json_fits_its_rooms(void **state)
{
	struct logline_disconnect d = {
		.reason = "memory-budget-x",
		.error = "Numerical argument out of domain (a long strerror)",
		.messages = UINT64_MAX,
		.bytes = UINT64_MAX,
		.truncated = UINT64_MAX,
		.discarded = UINT64_MAX,
		.unsent = UINT64_MAX,
		.duration_ms = UINT64_MAX,
	};
	char who[LOGLINE_WHO_MAX], line[LOGLINE_EVENT_MAX];
	size_t who_len, n;
	struct logline l;

	(void)state;
	logline_set_format(LOGLINE_FORMAT_JSON);
	who_len = logline_who(who, sizeof(who), "tcp",
			      "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]"
			      ":65535",
			      UINT64_MAX);
	n = logline_connect(line, LOGLINE_CONNECT_MAX, TS, who, who_len);
	assert_int_equal(logline_parse(line, n, &l, NULL, 0), 0);
	assert_int_equal(l.event, LOGLINE_CONNECT);
	assert_int_equal(l.number, UINT64_MAX);
	n = logline_disconnect(line, sizeof(line), TS, who, who_len, &d);
	assert_true(n < sizeof(line));
	if (logline_parse(line, n, &l, NULL, 0) != 0)
		fail_msg("%s: %.*s", l.error, (int)n, line);
	assert_int_equal(
		logline_field(&l, "error", &(const char *){0}, &(size_t){0}),
		0);
	logline_set_format(LOGLINE_FORMAT_TEXT);
}

static void test_format_names(void **state)
{
	enum logline_format f = LOGLINE_FORMAT_TEXT;

	(void)state;
	assert_int_equal(logline_format_parse("json", &f), 0);
	assert_int_equal(f, LOGLINE_FORMAT_JSON);
	assert_int_equal(logline_format_parse("text", &f), 0);
	assert_int_equal(f, LOGLINE_FORMAT_TEXT);
	assert_int_equal(logline_format_parse("JSON", &f), -1);
	assert_int_equal(logline_format_parse("", &f), -1);
}

/* Valid JSON lines with a byte changed anywhere: never a crash; what is
 * read is consistent. */
static void test_json_hostile_lines(void **state)
{
	static const char changes[] = {'\0', ' ', '\\', '"',  ',',    ':',
				       '}',  '9', 'x',	'\n', '\x80', '\xff'};
	char line[LOGLINE_EVENT_MAX], bad[LOGLINE_EVENT_MAX];
	size_t n;

	(void)state;
	logline_set_format(LOGLINE_FORMAT_JSON);
	for (int i = 0; (n = write_event(i, line, sizeof(line))) > 0; i++)
		for (size_t pos = 0; pos < n; pos++)
			for (size_t k = 0; k < sizeof(changes); k++) {
				memcpy(bad, line, n);
				bad[pos] = changes[k];
				check_hostile(bad, n);
			}
	logline_set_format(LOGLINE_FORMAT_TEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who),
		cmocka_unit_test(test_connect_round_trip),
		cmocka_unit_test(test_connect_fits_its_room),
		cmocka_unit_test(test_disconnect_round_trip),
		cmocka_unit_test(test_refused_round_trip),
		cmocka_unit_test(test_server_events_round_trip),
		cmocka_unit_test_teardown(test_broker_lines, restore_text),
		cmocka_unit_test(test_ops_events_round_trip),
		cmocka_unit_test(test_msg_every_byte),
		cmocka_unit_test(test_msg_byte_classes),
		cmocka_unit_test(test_msg_random_bytes),
		cmocka_unit_test(test_msg_cut_to_buffer),
		cmocka_unit_test(test_event_cut_to_buffer),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_timestamp_micros_in_same_second),
		cmocka_unit_test(test_corrupt_lines),
		cmocka_unit_test(test_truncated_lines),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_text_buffer_too_small),
		cmocka_unit_test(test_unknown_event_is_read),
		cmocka_unit_test_teardown(test_json_every_event_round_trip,
					  restore_text),
		cmocka_unit_test_teardown(test_syslog_fields_round_trip,
					  restore_text),
		cmocka_unit_test_teardown(test_syslog_which_headers,
					  restore_text),
		cmocka_unit_test(test_syslog_forged_fields),
		cmocka_unit_test_teardown(test_json_msg_bytes_round_trip,
					  restore_text),
		cmocka_unit_test(test_json_escape_is_text_escape),
		cmocka_unit_test(test_json_corrupt_lines),
		cmocka_unit_test_teardown(test_json_cut_to_buffer,
					  restore_text),
		cmocka_unit_test_teardown(test_json_fits_its_rooms,
					  restore_text),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test_teardown(test_json_hostile_lines,
					  restore_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
