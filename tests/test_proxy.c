/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_proxy.c - the PROXY protocol (issue 24, item 3): the parser
 * (proxyproto.h) on the spec's examples and its faults, the header read
 * off a real socket without a byte too many, the servers with
 * --proxy-protocol over loopback, and a real HAProxy (Debian package
 * haproxy) in front of two mtservers with send-proxy and send-proxy-v2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monotime.h"
#include "proxyproto.h"
#include "haproxy.h"
#include "servers.h"

/* ---- helpers ---- */

#define V2_SIG "\r\n\r\n\0\r\nQUIT\n"

/* A version 2 header: command (0 LOCAL, 1 PROXY), family byte, the
 * address block, tlv_len bytes of TLV padding; returns its length. */
static size_t v2_header(unsigned char *buf, unsigned command, unsigned fam,
			const void *addrs, size_t addr_len, size_t tlv_len)
{
	size_t len = addr_len + tlv_len;

	memcpy(buf, V2_SIG, 12);
	buf[12] = (unsigned char)(0x20 | command);
	buf[13] = (unsigned char)fam;
	buf[14] = (unsigned char)(len >> 8);
	buf[15] = (unsigned char)len;
	if (addr_len > 0)
		memcpy(buf + 16, addrs, addr_len);
	/* A NOOP TLV (type 4) filling tlv_len bytes, when there is room. */
	memset(buf + 16 + addr_len, 0, tlv_len);
	if (tlv_len >= 3) {
		buf[16 + addr_len] = 4;
		buf[17 + addr_len] = (unsigned char)((tlv_len - 3) >> 8);
		buf[18 + addr_len] = (unsigned char)(tlv_len - 3);
	}
	return 16 + len;
}

/* TCP over IPv4 from src:sport to dst:dport, as a v2 address block. */
static size_t v2_inet(unsigned char *block, const char *src, unsigned sport,
		      const char *dst, unsigned dport)
{
	assert_int_equal(inet_pton(AF_INET, src, block), 1);
	assert_int_equal(inet_pton(AF_INET, dst, block + 4), 1);
	block[8] = (unsigned char)(sport >> 8);
	block[9] = (unsigned char)sport;
	block[10] = (unsigned char)(dport >> 8);
	block[11] = (unsigned char)dport;
	return 12;
}

/* "ADDR:PORT" of a parsed address. */
static const char *text_of(const struct sockaddr_storage *ss, char *buf,
			   size_t size)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s:%u", host, port);
	return buf;
}

static enum pp_status parse_str(const char *s, struct pp_header *h)
{
	return pp_parse(s, strlen(s), h);
}

/* Every strict prefix of a valid header needs more. */
static void expect_prefixes_need_more(const void *buf, size_t len)
{
	struct pp_header h;

	for (size_t i = 0; i < len; i++)
		assert_int_equal(pp_parse(buf, i, &h), PP_NEED_MORE);
}

/* ---- the parser ---- */

static void test_v1_tcp4_and_tcp6(void **state)
{
	const char *v4 = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
			 "GET / HTTP/1.1\r\n";
	const char *v6 = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\nrest";
	struct pp_header h;
	char a[64];

	(void)state;
	assert_int_equal(parse_str(v4, &h), PP_DONE);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.command, PP_PROXY);
	assert_int_equal(h.length, strlen("PROXY TCP4 192.168.0.1 "
					  "192.168.0.11 56324 443\r\n"));
	assert_string_equal(text_of(&h.src, a, sizeof(a)), "192.168.0.1:56324");
	assert_string_equal(text_of(&h.dst, a, sizeof(a)), "192.168.0.11:443");
	expect_prefixes_need_more(v4, h.length);

	assert_int_equal(parse_str(v6, &h), PP_DONE);
	assert_int_equal(h.length, strlen(v6) - 4);
	assert_string_equal(text_of(&h.src, a, sizeof(a)), "2001:db8::1:65535");
	assert_string_equal(text_of(&h.dst, a, sizeof(a)), "::1:0");

	/* UNKNOWN: the proxy's own connection; the rest is ignored. */
	assert_int_equal(parse_str("PROXY UNKNOWN\r\n", &h), PP_DONE);
	assert_int_equal(h.command, PP_LOCAL);
	assert_int_equal(h.length, 15);
	assert_int_equal(parse_str("PROXY UNKNOWN ffff::1 ::2 1 2\r\nx", &h),
			 PP_DONE);
	assert_int_equal(h.command, PP_LOCAL);
}

/* The spec: exact single spaces, canonical numbers, CRLF within 107
 * bytes, no lone CR or LF; anything else is refused. */
static void test_v1_malformed(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx",
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n",
		"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY \r\n",
	};
	char longline[200];
	struct pp_header h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_str(bad[i], &h) != PP_ERROR)
			fail_msg("accepted: %s", bad[i]);
		assert_false(h.no_signature);
	}
	/* A NUL inside an address is not the end of it. */
	assert_int_equal(
		pp_parse("PROXY TCP4 1.2.3.4\0x 5.6.7.8 1 2\r\n", 35, &h),
		PP_ERROR);
	/* Without a header at all, it is known at the first byte. */
	assert_int_equal(pp_parse("h", 1, &h), PP_ERROR);
	assert_true(h.no_signature);
	assert_int_equal(parse_str("PROXX", &h), PP_ERROR);
	assert_int_equal(parse_str("proxy TCP4", &h), PP_ERROR);
	/* No CRLF in 107 bytes. */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "PROXY UNKNOWN ", 14);
	assert_int_equal(pp_parse(longline, 106, &h), PP_NEED_MORE);
	assert_int_equal(pp_parse(longline, 107, &h), PP_ERROR);
	memcpy(longline + 105, "\r\n", 2);
	assert_int_equal(pp_parse(longline, 107, &h), PP_DONE);
	memcpy(longline + 105, "x\r\n", 3);
	assert_int_equal(pp_parse(longline, 108, &h), PP_ERROR);
}

static void test_v2(void **state)
{
	unsigned char buf[2048], block[216];
	struct pp_header h;
	size_t len;
	char a[64];

	(void)state;
	len = v2_header(buf, 1, 0x11, block,
			v2_inet(block, "10.1.2.3", 40000, "10.9.9.9", 514), 0);
	assert_int_equal(pp_parse(buf, len, &h), PP_DONE);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.command, PP_PROXY);
	assert_int_equal(h.length, 28);
	assert_string_equal(text_of(&h.src, a, sizeof(a)), "10.1.2.3:40000");
	assert_string_equal(text_of(&h.dst, a, sizeof(a)), "10.9.9.9:514");
	expect_prefixes_need_more(buf, len);

	/* TLVs: the header is longer than what the parser needs to read;
	 * it is done once the addresses are in. */
	(void)v2_header(buf, 1, 0x11, block,
			v2_inet(block, "10.1.2.3", 1, "10.9.9.9", 2), 1000);
	assert_int_equal(pp_parse(buf, 28, &h), PP_DONE);
	assert_int_equal(h.length, 1028);

	/* IPv6. */
	memset(block, 0, 36);
	block[15] = 1;			    /* ::1 */
	block[16] = 0x20, block[17] = 0x01; /* 2001:: */
	block[32] = 0x12, block[33] = 0x34;
	len = v2_header(buf, 1, 0x21, block, 36, 0);
	assert_int_equal(pp_parse(buf, len, &h), PP_DONE);
	assert_string_equal(text_of(&h.src, a, sizeof(a)), "::1:4660");

	/* LOCAL, whatever its address block: the proxy's own. */
	len = v2_header(buf, 0, 0x00, block, 0, 0);
	assert_int_equal(pp_parse(buf, len, &h), PP_DONE);
	assert_int_equal(h.command, PP_LOCAL);
	assert_int_equal(h.length, 16);
	(void)v2_header(buf, 0, 0x11, block, 12, 5);
	assert_int_equal(pp_parse(buf, 16, &h), PP_DONE);
	assert_int_equal(h.command, PP_LOCAL);
	assert_int_equal(h.length, 33);

	/* UNSPEC and AF_UNIX: a client, at the socket's address. */
	len = v2_header(buf, 1, 0x00, block, 0, 0);
	assert_int_equal(pp_parse(buf, len, &h), PP_DONE);
	assert_int_equal(h.command, PP_UNSPEC);
	memset(block, 0, sizeof(block));
	len = v2_header(buf, 1, 0x31, block, 216, 0);
	assert_int_equal(pp_parse(buf, len, &h), PP_DONE);
	assert_int_equal(h.command, PP_UNSPEC);

	/* Faults: version, command, family, transport, short block. */
	len = v2_header(buf, 1, 0x11, block, 12, 0);
	buf[12] = 0x11;
	assert_int_equal(pp_parse(buf, len, &h), PP_ERROR);
	buf[12] = 0x22;
	assert_int_equal(pp_parse(buf, len, &h), PP_ERROR);
	buf[12] = 0x21, buf[13] = 0x41;
	assert_int_equal(pp_parse(buf, len, &h), PP_ERROR);
	buf[13] = 0x13;
	assert_int_equal(pp_parse(buf, len, &h), PP_ERROR);
	len = v2_header(buf, 1, 0x21, block, 12, 0); /* IPv6 needs 36 */
	assert_int_equal(pp_parse(buf, len, &h), PP_ERROR);
	/* A wrong signature byte. */
	len = v2_header(buf, 1, 0x11, block, 12, 0);
	buf[6] = 'x';
	assert_int_equal(pp_parse(buf, len, &h), PP_ERROR);
	assert_true(h.no_signature);
}

static void test_trusted_networks(void **state)
{
	struct pp_net nets[3];
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

	(void)state;
	assert_int_equal(pp_net_parse("10.0.0.0/8", &nets[0]), 0);
	assert_int_equal(pp_net_parse("2001:db8::/32", &nets[1]), 0);
	assert_int_equal(pp_net_parse("192.0.2.7", &nets[2]), 0);
	inet_pton(AF_INET, "10.200.3.4", &in.sin_addr);
	assert_true(pp_net_match(nets, 3, (struct sockaddr *)&in));
	inet_pton(AF_INET, "11.0.0.1", &in.sin_addr);
	assert_false(pp_net_match(nets, 3, (struct sockaddr *)&in));
	inet_pton(AF_INET, "192.0.2.7", &in.sin_addr);
	assert_true(pp_net_match(nets, 3, (struct sockaddr *)&in));
	inet_pton(AF_INET, "192.0.2.8", &in.sin_addr);
	assert_false(pp_net_match(nets, 3, (struct sockaddr *)&in));
	/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
	inet_pton(AF_INET6, "::ffff:10.1.1.1", &in6.sin6_addr);
	assert_true(pp_net_match(nets, 3, (struct sockaddr *)&in6));
	inet_pton(AF_INET6, "2001:db8:ffff::1", &in6.sin6_addr);
	assert_true(pp_net_match(nets, 3, (struct sockaddr *)&in6));
	inet_pton(AF_INET6, "2001:db9::1", &in6.sin6_addr);
	assert_false(pp_net_match(nets, 3, (struct sockaddr *)&in6));
	assert_int_equal(pp_net_parse("0.0.0.0/0", &nets[0]), 0);
	assert_true(pp_net_match(nets, 1, (struct sockaddr *)&in));
	assert_false(pp_net_match(nets, 1, (struct sockaddr *)&in6));
	/* Typos are refused: host bits, a bad prefix, junk. */
	assert_int_equal(pp_net_parse("10.1.2.3/8", &nets[0]), -1);
	assert_int_equal(pp_net_parse("10.0.0.0/33", &nets[0]), -1);
	assert_int_equal(pp_net_parse("10.0.0.0/", &nets[0]), -1);
	assert_int_equal(pp_net_parse("10.0.0.0/08", &nets[0]), -1);
	assert_int_equal(pp_net_parse("::/129", &nets[0]), -1);
	assert_int_equal(pp_net_parse("example.com", &nets[0]), -1);
	assert_int_equal(pp_net_parse("", &nets[0]), -1);
}

/* ---- pp_read on a real socket ---- */

static void socket_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* What is left on fd after the header: exactly what followed it. */
static void expect_rest(int fd, const char *rest)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, rest);
}

static void test_read_takes_only_the_header(void **state)
{
	static const char v1_line[] = "PROXY TCP4 10.0.0.1 10.0.0.2 7 9\r\n"
				      "line one\n";
	unsigned char buf[4096], block[12];
	struct pp_header h;
	char a[64];
	size_t len;
	int sv[2];

	(void)state;
	/* v1 and data in one segment. */
	socket_pair(sv);
	assert_int_equal(h_send_all(sv[1], v1_line, strlen(v1_line)), 0);
	assert_int_equal(pp_read(sv[0], -1, monotime_ms() + 5000, NULL, &h),
			 PP_DONE);
	assert_string_equal(text_of(&h.src, a, sizeof(a)), "10.0.0.1:7");
	expect_rest(sv[0], "line one\n");
	close(sv[0]);
	close(sv[1]);

	/* v2 with 1000 bytes of TLVs and data, one write. */
	socket_pair(sv);
	len = v2_header(buf, 1, 0x11, block,
			v2_inet(block, "10.3.3.3", 33, "10.0.0.2", 9), 1000);
	memcpy(buf + len, "after tlvs\n", 11);
	assert_int_equal(h_send_all(sv[1], buf, len + 11), 0);
	assert_int_equal(pp_read(sv[0], -1, monotime_ms() + 5000, NULL, &h),
			 PP_DONE);
	assert_string_equal(text_of(&h.src, a, sizeof(a)), "10.3.3.3:33");
	expect_rest(sv[0], "after tlvs\n");
	close(sv[0]);
	close(sv[1]);
}

/* A header that comes a byte at a time, from another process. */
static void test_read_trickled_header(void **state)
{
	const char *text = "PROXY TCP6 2001:db8::5 2001:db8::6 1000 2000\r\n"
			   "data\n";
	struct pp_header h;
	char a[64];
	pid_t pid;
	int sv[2];

	(void)state;
	socket_pair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		h_die_with_parent();
		close(sv[0]);
		for (size_t i = 0; text[i] != '\0'; i++) {
			if (send(sv[1], text + i, 1, MSG_NOSIGNAL) != 1)
				_exit(1);
			h_sleep_ms(2);
		}
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(pp_read(sv[0], -1, monotime_ms() + 10000, NULL, &h),
			 PP_DONE);
	assert_string_equal(text_of(&h.src, a, sizeof(a)), "2001:db8::5:1000");
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	expect_rest(sv[0], "data\n");
	close(sv[0]);
}

/* An incomplete header: pp_read returns at its deadline, not later. */
static void test_read_deadline(void **state)
{
	struct pp_header h;
	long long start;
	int sv[2];

	(void)state;
	socket_pair(sv);
	assert_int_equal(h_send_all(sv[1], "PROXY TCP4 1.2", 14), 0);
	start = monotime_ms();
	assert_int_equal(pp_read(sv[0], -1, start + 300, NULL, &h), PP_ERROR);
	assert_string_equal(h.error, "timeout");
	assert_true(monotime_ms() - start >= 300);
	assert_true(monotime_ms() - start < 5000);
	/* Closed in the middle. */
	close(sv[1]);
	assert_int_equal(pp_read(sv[0], -1, monotime_ms() + 5000, NULL, &h),
			 PP_ERROR);
	close(sv[0]);
}

/* ---- the servers with --proxy-protocol ---- */

/* The log's line that holds needle, copied into buf ("" if none). */
static char *line_with(const char *path, const char *needle, char *buf,
		       size_t size)
{
	char *text = h_slurp(path, NULL);
	const char *at = text != NULL ? strstr(text, needle) : NULL;
	const char *start, *end;

	buf[0] = '\0';
	if (at != NULL) {
		for (start = at; start > text && start[-1] != '\n'; start--)
			;
		end = strchr(at, '\n');
		snprintf(buf, size, "%.*s",
			 (int)(end != NULL ? end - start : (long)strlen(start)),
			 start);
	}
	free(text);
	return buf;
}

static int connect_and_send(const struct srv *s, const void *buf, size_t len)
{
	int fd = srv_connect(s);

	assert_int_equal(h_send_all(fd, buf, len), 0);
	return fd;
}

static int connect_and_say(const struct srv *s, const char *text)
{
	return connect_and_send(s, text, strlen(text));
}

static void test_header_gives_the_client(void **state)
{
	unsigned char buf[2048], block[12];
	struct srv s = {0};
	char line[512];
	size_t len;
	int a, b;

	(void)state;
	srv_start(&s, "mtserver", "--proxy-protocol", (const char *)NULL);
	a = connect_and_say(&s, "PROXY TCP4 203.0.113.7 192.0.2.1 40001 514\r\n"
				"via v1\n");
	len = v2_header(buf, 1, 0x11, block,
			v2_inet(block, "198.51.100.9", 40002, "192.0.2.1", 514),
			300);
	memcpy(buf + len, "via v2\n", 7);
	b = connect_and_send(&s, buf, len + 7);
	srv_wait_log(&s, " msg via v1\n", 1);
	srv_wait_log(&s, " msg via v2\n", 1);
	assert_non_null(
		strstr(line_with(s.log, " msg via v1", line, sizeof(line)),
		       " tcp 203.0.113.7:40001 #"));
	assert_non_null(
		strstr(line_with(s.log, " msg via v2", line, sizeof(line)),
		       " tcp 198.51.100.9:40002 #"));
	assert_non_null(strstr(
		line_with(s.log, "203.0.113.7:40001", line, sizeof(line)),
		" connect"));
	close(a);
	close(b);
	srv_wait_log(&s, " disconnect reason=client-closed", 2);
	assert_int_equal(h_count_in_file(s.log, "127.0.0.1"), 0);
	srv_stop(&s);
}

/* stserver serves by the same path. */
static void test_stserver_too(void **state)
{
	struct srv s = {0};
	char line[512];
	int a;

	(void)state;
	srv_start(&s, "stserver", "--proxy-protocol", (const char *)NULL);
	a = connect_and_say(&s,
			    "PROXY TCP6 2001:db8::7 2001:db8::1 5555 514\r\n"
			    "from st\n");
	srv_wait_log(&s, " msg from st\n", 1);
	assert_non_null(
		strstr(line_with(s.log, " msg from st", line, sizeof(line)),
		       " tcp [2001:db8::7]:5555 #"));
	close(a);
	srv_stop(&s);
}

/* No header, a bad one, or one that never ends: refused, each with its
 * reason, and nothing the client sent is logged as its message. */
static void test_refused_without_a_good_header(void **state)
{
	struct srv s = {0};
	long long start, took;
	int a, b, c;

	(void)state;
	srv_start(&s, "mtserver", "--proxy-protocol", (const char *)NULL);
	a = connect_and_say(&s, "hello\n");
	srv_wait_log(&s, " #1 refused reason=proxy-no-header", 1);
	assert_int_equal(h_wait_eof(a, 10000), 0);
	close(a);
	b = connect_and_say(&s, "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\nx\n");
	srv_wait_log(&s, " #2 refused reason=proxy-bad-header", 1);
	assert_int_equal(h_wait_eof(b, 10000), 0);
	close(b);
	start = h_now_ms();
	c = connect_and_say(&s, "PROXY TCP4 1.2.3.4 ");
	srv_wait_log(&s, " #3 refused reason=proxy-timeout", 1);
	took = h_now_ms() - start;
	/* PP_HEADER_TIMEOUT_MS, not sooner (a margin for timer slack). */
	assert_true(took >= PP_HEADER_TIMEOUT_MS - 200);
	assert_int_equal(h_wait_eof(c, 10000), 0);
	close(c);
	assert_int_equal(h_count_in_file(s.log, " msg "), 0);
	assert_int_equal(h_count_in_file(s.log, " connect\n"), 0);
	srv_stop(&s);
}

static void test_untrusted_source_refused(void **state)
{
	const char *hdr = "PROXY TCP4 10.1.1.1 10.0.0.2 1000 514\r\nspoof\n";
	struct srv s = {0}, t = {0};
	int a, b;

	(void)state;
	srv_start(&s, "mtserver", "--proxy-protocol", "--proxy-from",
		  "10.0.0.0/8", "--proxy-from", "2001:db8::/32",
		  (const char *)NULL);
	a = connect_and_send(&s, hdr, strlen(hdr));
	srv_wait_log(&s, " tcp 127.0.0.1:", 1);
	srv_wait_log(&s, " #1 refused reason=proxy-untrusted", 1);
	assert_int_equal(h_wait_eof(a, 10000), 0);
	close(a);
	assert_int_equal(h_count_in_file(s.log, "spoof"), 0);
	assert_int_equal(h_count_in_file(s.log, "10.1.1.1"), 0);
	srv_stop(&s);

	/* Its own loopback network trusted: the same header is taken. */
	srv_start(&t, "mtserver", "--proxy-protocol", "--proxy-from",
		  "127.0.0.0/8", (const char *)NULL);
	b = connect_and_send(&t, hdr, strlen(hdr));
	srv_wait_log(&t, " tcp 10.1.1.1:1000 #1 msg spoof\n", 1);
	close(b);
	srv_stop(&t);
}

/* --max-per-ip counts the header's address: two clients behind one
 * proxy address are both served at --max-per-ip 1, a second one from
 * the same real address is refused, logged at that address. */
static void test_max_per_ip_counts_the_real_address(void **state)
{
	struct srv s = {0};
	char line[128];
	int a, b, c;

	(void)state;
	srv_start(&s, "mtserver", "--proxy-protocol", "--max-per-ip", "1",
		  (const char *)NULL);
	a = connect_and_say(&s,
			    "PROXY TCP4 10.1.1.1 10.0.0.2 1001 514\r\none\n");
	b = connect_and_say(&s,
			    "PROXY TCP4 10.2.2.2 10.0.0.2 1002 514\r\ntwo\n");
	srv_wait_log(&s, " tcp 10.1.1.1:1001 #1 msg one\n", 1);
	srv_wait_log(&s, " tcp 10.2.2.2:1002 #2 msg two\n", 1);
	c = connect_and_say(&s,
			    "PROXY TCP4 10.1.1.1 10.0.0.2 1003 514\r\nthree\n");
	assert_true(h_read_line(c, line, sizeof(line), 10000) > 0);
	assert_string_equal(line, "too many connections from your address");
	srv_wait_log(&s, " tcp 10.1.1.1:1003 #3 refused reason=per-ip-limit",
		     1);
	assert_int_equal(h_count_in_file(s.log, "three"), 0);
	close(c);
	close(a);
	close(b);
	srv_stop(&s);
}

/* v2 LOCAL, a v1 header naming the connection itself (as HAProxy's v1
 * checks send), a connection closed or reset before its first byte:
 * health checks, counted and not logged; a LOCAL one that sends is a
 * client at the socket's address. */
static void test_local_is_a_health_check(void **state)
{
	unsigned char buf[64];
	struct srv s = {0};
	struct sockaddr_in me, it;
	socklen_t len = sizeof(me);
	char v1[128], msg[64];
	size_t n;
	int a, b, c, d;

	(void)state;
	srv_start(&s, "mtserver", "--proxy-protocol", (const char *)NULL);
	n = v2_header(buf, 0, 0x00, NULL, 0, 0);
	a = connect_and_send(&s, buf, n);
	close(a);
	b = srv_connect(&s);
	assert_int_equal(getsockname(b, (struct sockaddr *)&me, &len), 0);
	len = sizeof(it);
	assert_int_equal(getpeername(b, (struct sockaddr *)&it, &len), 0);
	snprintf(v1, sizeof(v1), "PROXY TCP4 127.0.0.1 127.0.0.1 %u %u\r\n",
		 ntohs(me.sin_port), ntohs(it.sin_port));
	assert_int_equal(h_send_all(b, v1, strlen(v1)), 0);
	close(b);
	/* Connect-only (a load balancer's TCP check), closed and reset:
	 * nobody to log. */
	close(srv_connect(&s));
	d = srv_connect(&s);
	assert_int_equal(setsockopt(d, SOL_SOCKET, SO_LINGER,
				    &(struct linger){1, 0},
				    sizeof(struct linger)),
			 0);
	close(d);
	c = connect_and_send(&s, buf, n);
	assert_int_equal(h_send_all(c, "checked\n", 8), 0);
	srv_wait_log(&s, " msg checked\n", 1);
	assert_int_equal(getsockname(c, (struct sockaddr *)&me,
				     &(socklen_t){sizeof(me)}),
			 0);
	snprintf(msg, sizeof(msg), " tcp 127.0.0.1:%u #5 msg checked",
		 ntohs(me.sin_port));
	assert_int_equal(h_count_in_file(s.log, msg), 1);
	close(c);
	srv_wait_log(&s, " disconnect ", 1);
	srv_stop(&s);
	assert_int_equal(h_count_in_file(s.log, " connect\n"), 1);
	assert_int_equal(h_count_in_file(s.log, " refused "), 0);
	assert_int_equal(h_number_after(s.p.err_path, "proxy health checks "),
			 4);
}

/* UDP has no header: datagrams keep their own source. */
static void test_udp_unaffected(void **state)
{
	struct srv s = {0};
	int u;

	(void)state;
	srv_start(&s, "mtserver", "--proxy-protocol", (const char *)NULL);
	u = h_udp("127.0.0.1", s.p.port);
	assert_true(u >= 0);
	assert_int_equal(send(u, "PROXY TCP4 9.9.9.9 1.1.1.1 1 2\r\n", 32, 0),
			 32);
	srv_wait_log(&s, " udp 127.0.0.1:", 1);
	assert_int_equal(h_count_in_file(s.log, "9.9.9.9:1 "), 0);
	close(u);
	srv_stop(&s);
}

static void test_options_checked(void **state)
{
	static const char *const bad[][4] = {
		{"--proxy-from", "10.0.0.0/8", NULL, NULL},
		{"--proxy-protocol", "--proxy-from", "10.0.0.1/8", NULL},
		{"--proxy-protocol", "--proxy-from", "nonsense", NULL},
		{"--proxy-protocol", "--no-tcp", NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[8] = {NULL};
		struct h_proc p;
		size_t n = 0;

		for (size_t j = 0; j < 4 && bad[i][j] != NULL; j++)
			argv[n++] = bad[i][j];
		argv[n++] = "0";
		assert_int_equal(h_spawn(&p, "mtserver", argv, NULL), 0);
		assert_int_equal(h_wait_exit(&p, 10000), 2);
		assert_true(h_count_in_file(p.err_path, "proxy") > 0);
	}
}

/* ---- a real HAProxy in front of two mtservers ---- */

static pid_t haproxy_pid;

static void haproxy_stop(void)
{
	hap_stop(&haproxy_pid);
}

static int teardown(void **state)
{
	haproxy_stop();
	return srv_teardown(state);
}

/* One numbered flood line's peer: the port of "tcp 127.0.0.1:PORT #". */
struct peers {
	int connects, other_hosts;
	unsigned char port_seen[65536];
	int distinct;
};

static void count_connects(const char *path, struct peers *p)
{
	char *text = h_slurp(path, NULL);
	const char *at = text;

	assert_non_null(text);
	while ((at = strstr(at, " connect\n")) != NULL) {
		const char *start = at;
		unsigned port;

		while (start > text && start[-1] != '\n')
			start--;
		p->connects++;
		if (sscanf(strstr(start, " tcp ") ? strstr(start, " tcp ") : "",
			   " tcp 127.0.0.1:%u #", &port) != 1 ||
		    port > 65535) {
			p->other_hosts++;
		} else if (!p->port_seen[port]) {
			p->port_seen[port] = 1;
			p->distinct++;
		}
		at++;
	}
	free(text);
}

/*
 * HAProxy (mode tcp) on 127.0.0.1 balancing over two mtservers, its
 * backend connections (and health checks, every 100 ms) from 127.0.0.2
 * so that the proxy's address cannot pass for a client's.  flood -n 200
 * through it: every message logged once over the two logs, every
 * connection at 127.0.0.1 with a port of its own, none at 127.0.0.2,
 * and a probe connection of the test's own logged at its exact port.
 */
static void through_haproxy(const char *send_proxy)
{
	char bin[H_PATH_MAX], conf[4096], sport[16], line[512], needle[64];
	const char *conf_path = h_path("haproxy.cfg");
	const char *err_path = h_path("haproxy.err");
	struct srv s1 = {0}, s2 = {0};
	struct h_proc fl, ver;
	struct peers *peers;
	struct sockaddr_in me;
	int port = 0, probe;
	long long checks;

	if (hap_which(bin, sizeof(bin)) == NULL) {
		skip();
		return;
	}
	srv_start(&s1, "mtserver", "--proxy-protocol", "--proxy-from",
		  "127.0.0.2/32", "--no-udp", (const char *)NULL);
	srv_start(&s2, "mtserver", "--proxy-protocol", "--proxy-from",
		  "127.0.0.2/32", "--no-udp", (const char *)NULL);
	for (int tries = 0; tries < 5; tries++) {
		port = h_free_port();
		snprintf(conf, sizeof(conf),
			 "global\n"
			 "  maxconn 2000\n"
			 "defaults\n"
			 "  mode tcp\n"
			 "  timeout connect 5s\n"
			 "  timeout client 30s\n"
			 "  timeout server 30s\n"
			 "listen front\n"
			 "  bind 127.0.0.1:%d\n"
			 "  balance roundrobin\n"
			 "  server s1 127.0.0.1:%d %s source 127.0.0.2 check "
			 "inter 100ms\n"
			 "  server s2 127.0.0.1:%d %s source 127.0.0.2 check "
			 "inter 100ms\n",
			 port, s1.p.port, send_proxy, s2.p.port, send_proxy);
		assert_int_equal(h_write_file(conf_path, conf), 0);
		haproxy_pid = hap_start(bin, conf_path, err_path, port);
		if (haproxy_pid > 0)
			break;
		haproxy_pid = 0;
		port = 0;
	}
	if (port == 0)
		fail_msg("haproxy did not start; see %s", err_path);

	/* The test's own client: its logged peer is its own port. */
	probe = h_connect("127.0.0.1", port);
	assert_true(probe >= 0);
	assert_int_equal(getsockname(probe, (struct sockaddr *)&me,
				     &(socklen_t){sizeof(me)}),
			 0);
	assert_int_equal(h_send_all(probe, "probe\n", 6), 0);
	close(probe);

	snprintf(sport, sizeof(sport), "%d", port);
	{
		const char *argv[] = {"-n",	    "200",	 "-m", "50",
				      "-H",	    "127.0.0.1", "-p", sport,
				      "--max-time", "120",	 NULL};

		assert_int_equal(h_spawn(&fl, "flood", argv, NULL), 0);
		if (h_wait_exit(&fl, 150000) != 0)
			fail_msg("flood failed; see %s", fl.err_path);
	}
	/* Health checks go on meanwhile; the servers count them at stop.
	 * HAProxy stops first, so that none is cut by the servers' stop. */
	h_sleep_ms(500);
	haproxy_stop();
	srv_stop(&s1);
	srv_stop(&s2);

	{
		const char *argv[] = {"--verify-log", s1.log, "--verify-log",
				      s2.log,	      "-n",   "200",
				      "-m",	      "50",   NULL};

		assert_int_equal(h_spawn(&ver, "flood", argv, NULL), 0);
		if (h_wait_exit(&ver, 60000) != 0)
			fail_msg("flood --verify-log failed; see %s",
				 ver.out_path);
	}
	peers = calloc(1, sizeof(*peers));
	assert_non_null(peers);
	count_connects(s1.log, peers);
	count_connects(s2.log, peers);
	assert_int_equal(peers->other_hosts, 0);
	assert_int_equal(peers->connects, 201);
	assert_int_equal(peers->distinct, 201);
	assert_int_equal(h_count_in_file(s1.log, "127.0.0.2"), 0);
	assert_int_equal(h_count_in_file(s2.log, "127.0.0.2"), 0);
	assert_int_equal(h_count_in_file(s1.log, " refused "), 0);
	assert_int_equal(h_count_in_file(s2.log, " refused "), 0);
	/* Round robin: both served some of them. */
	assert_true(h_count_in_file(s1.log, " connect\n") >= 50);
	assert_true(h_count_in_file(s2.log, " connect\n") >= 50);
	/* The probe, at its own port. */
	snprintf(needle, sizeof(needle), " tcp 127.0.0.1:%u #",
		 ntohs(me.sin_port));
	line_with(s1.log, " msg probe\n", line, sizeof(line));
	if (line[0] == '\0')
		line_with(s2.log, " msg probe\n", line, sizeof(line));
	if (strstr(line, needle) == NULL)
		fail_msg("probe from port %u logged as: %s", ntohs(me.sin_port),
			 line);
	checks = h_number_after(s1.p.err_path, "proxy health checks ");
	if (checks < 1)
		fail_msg("no health check counted; see %s", s1.p.err_path);
	free(peers);
}

static void test_haproxy_send_proxy_v1(void **state)
{
	(void)state;
	through_haproxy("send-proxy");
}

static void test_haproxy_send_proxy_v2(void **state)
{
	(void)state;
	through_haproxy("send-proxy-v2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4_and_tcp6),
		cmocka_unit_test(test_v1_malformed),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_trusted_networks),
		cmocka_unit_test(test_read_takes_only_the_header),
		cmocka_unit_test(test_read_trickled_header),
		cmocka_unit_test(test_read_deadline),
		cmocka_unit_test(test_header_gives_the_client),
		cmocka_unit_test(test_stserver_too),
		cmocka_unit_test(test_refused_without_a_good_header),
		cmocka_unit_test(test_untrusted_source_refused),
		cmocka_unit_test(test_max_per_ip_counts_the_real_address),
		cmocka_unit_test(test_local_is_a_health_check),
		cmocka_unit_test(test_udp_unaffected),
		cmocka_unit_test(test_options_checked),
		cmocka_unit_test_teardown(test_haproxy_send_proxy_v1, teardown),
		cmocka_unit_test_teardown(test_haproxy_send_proxy_v2, teardown),
	};

	return cmocka_run_group_tests_name("proxy", tests, NULL, teardown);
}
