/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_wire.c - lessons/wire/wire's parser and annotator on real captures
 * (tests/captures/, made with tcpdump; see the README there), and the
 * lessons/wire/wire program's checks and bind probe on real sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire.h"

/* The captures hold at most a few dozen packets. */
#define MAX_PKTS 64

struct cap {
	struct wire_pkt pkts[MAX_PKTS];
	struct wire_note notes[MAX_PKTS];
	struct wire_summary sum;
	size_t n;
	int lines;    /* lines read */
	int rejected; /* lines wire_parse refused */
};

static void annotate(struct cap *c)
{
	wire_annotate(c->pkts, c->n, c->notes, &c->sum);
}

/* Reads tests/captures/NAME (the tests run from the top directory) and
 * annotates it. */
static struct cap *load(const char *name)
{
	struct cap *c = calloc(1, sizeof(*c));
	char path[256], line[4096];
	FILE *f;

	assert_non_null(c);
	snprintf(path, sizeof(path), "tests/captures/%s", name);
	f = fopen(path, "r");
	if (f == NULL) {
		fail_msg("cannot open %s: %s", path, strerror(errno));
		return c; /* not reached: fail_msg ends the test */
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		c->lines++;
		assert_true(c->n < MAX_PKTS);
		if (wire_parse(line, &c->pkts[c->n]) == 0)
			c->n++;
		else
			c->rejected++;
	}
	fclose(f);
	annotate(c);
	return c;
}

/* Annotates the given lines, as a capture. */
static struct cap *from_lines(const char *const *lines, size_t n)
{
	struct cap *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(wire_parse(lines[i], &c->pkts[c->n]), 0);
		c->n++;
	}
	annotate(c);
	return c;
}

/* The step codes of every packet, as `wire steps` prints them: packets
 * separated by ' ', a packet's steps joined by '+'. */
static const char *steps(const struct cap *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->n; i++) {
		const char *sep = i > 0 ? " " : "";

		for (int s = 0; s < WIRE_STEP_COUNT; s++) {
			if ((c->notes[i].steps & WIRE_STEP(s)) == 0)
				continue;
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 sep, wire_step_code(s));
			assert_true(used < len);
			sep = "+";
		}
	}
	return buf;
}

static void assert_steps(const struct cap *c, const char *want)
{
	char buf[1024];

	assert_string_equal(steps(c, buf, sizeof(buf)), want);
}

static void assert_rule_has(const struct cap *c, size_t i, const char *text)
{
	if (strstr(c->notes[i].rule, text) == NULL)
		fail_msg("packet %zu: rule \"%s\" lacks \"%s\"", i + 1,
			 c->notes[i].rule, text);
}

/* ------------------------------------------------------------------ */

static void test_parse_handshake_lines(void **state)
{
	struct wire_pkt p;

	(void)state;
	assert_int_equal(
		wire_parse("1795595246.752438 IP 127.0.0.1.56954 > "
			   "127.0.0.1.43183: Flags [S], seq 228810961, win "
			   "65495, options [mss 65495,sackOK,TS val 1857400866 "
			   "ecr 0,nop,wscale 10], length 0\n",
			   &p),
		0);
	assert_int_equal(p.time_us, 1795595246752438LL);
	assert_string_equal(p.src, "127.0.0.1");
	assert_int_equal(p.sport, 56954);
	assert_string_equal(p.dst, "127.0.0.1");
	assert_int_equal(p.dport, 43183);
	assert_int_equal(p.proto, WIRE_TCP);
	assert_int_equal(p.flags, WIRE_F_SYN);
	assert_true(p.has_seq);
	assert_false(p.has_ack);
	assert_int_equal(p.seq, 228810961u);
	assert_int_equal(p.len, 0);
	assert_int_equal(p.win, 65495);

	/* A bare ACK: no seq printed. */
	assert_int_equal(wire_parse("1795595246.752464 IP 127.0.0.1.56954 > "
				    "127.0.0.1.43183: Flags [.], ack "
				    "685954058, win 64, options [nop,nop,TS "
				    "val 1857400867 ecr 1525989992], length 0",
				    &p),
			 0);
	assert_int_equal(p.flags, WIRE_F_ACK);
	assert_false(p.has_seq);
	assert_true(p.has_ack);
	assert_int_equal(p.ack, 685954058u);

	/* Data: "seq A:B" with B - A = length. */
	assert_int_equal(wire_parse("1795595246.752490 IP 127.0.0.1.56954 > "
				    "127.0.0.1.43183: Flags [P.], seq "
				    "228810962:228810968, ack 685954058, win "
				    "64, options [nop,nop,TS val 1 ecr 2], "
				    "length 6",
				    &p),
			 0);
	assert_int_equal(p.flags, WIRE_F_PSH | WIRE_F_ACK);
	assert_int_equal(p.seq, 228810962u);
	assert_int_equal(p.len, 6);

	/* FIN with data, and a reset with seq 0. */
	assert_int_equal(wire_parse("1.5 IP 10.0.0.1.1 > 10.0.0.2.2: Flags "
				    "[FP.], seq 10:20, ack 5, win 1, length 10",
				    &p),
			 0);
	assert_int_equal(p.flags, WIRE_F_FIN | WIRE_F_PSH | WIRE_F_ACK);
	assert_int_equal(p.time_us, 1500000);
	assert_int_equal(
		wire_parse("1.000001 IP 10.0.0.2.2 > 10.0.0.1.1: "
			   "Flags [R.], seq 0, ack 11, win 0, length 0",
			   &p),
		0);
	assert_int_equal(p.flags, WIRE_F_RST | WIRE_F_ACK);
	assert_int_equal(p.seq, 0);
	assert_int_equal(p.ack, 11);
}

static void test_parse_udp_ipv6_and_nanoseconds(void **state)
{
	struct wire_pkt p;
	char buf[12];

	(void)state;
	assert_int_equal(wire_parse("1795595638.387857 IP 127.0.0.1.41639 > "
				    "127.0.0.1.37897: UDP, length 6",
				    &p),
			 0);
	assert_int_equal(p.proto, WIRE_UDP);
	assert_int_equal(p.len, 6);
	assert_string_equal(wire_flags(&p, buf, sizeof(buf)), "UDP");

	assert_int_equal(wire_parse("12.123456789 IP6 ::1.8888 > "
				    "fe80::1:2.40000: Flags [S.], seq 7, ack "
				    "3, win 65483, options [mss 65476], length "
				    "0",
				    &p),
			 0);
	assert_int_equal(p.time_us, 12123456); /* nanoseconds cut */
	assert_string_equal(p.src, "::1");
	assert_int_equal(p.sport, 8888);
	assert_string_equal(p.dst, "fe80::1:2");
	assert_int_equal(p.dport, 40000);
	assert_string_equal(wire_flags(&p, buf, sizeof(buf)), "S.");
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"reading from file a.pcap, link-type EN10MB (Ethernet), "
		"snapshot length 262144",
		"1.0 IP 127.0.0.1 > 127.0.0.1: ICMP echo request, id 1, seq 1, "
		"length 64",
		"1.0 ARP, Request who-has 10.0.0.1 tell 10.0.0.2, length 28",
		"1.0 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [S], seq 5, win 1, "
		"length", /* truncated */
		"1.0 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [P.], seq 5:9, ack 1, "
		"win 1, length 6", /* range and length disagree */
		"1.0 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [P.], ack 1, win 1, "
		"length 6", /* data without seq */
		"1.0 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [Q], seq 1, win 1, "
		"length 0", /* no such flag */
		"1.0 IP 127.0.0.1.70000 > 127.0.0.1.2: UDP, length 1",
		"1.0 IP 127.0.0.1.1 > 127.0.0.1.2: Flags [S], seq 4294967296, "
		"win 1, length 0",
		"abc IP 127.0.0.1.1 > 127.0.0.1.2: UDP, length 1",
		"",
	};
	struct wire_pkt p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (wire_parse(bad[i], &p) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(errno, EINVAL);
	}
}

/* The lesson's session: the server paused, so the ACK of the client's
 * FIN goes alone, 40 ms later, and the replies after it. */
static void test_half_close_four_steps(void **state)
{
	struct cap *c = load("half-close.txt");
	uint32_t isn_c, isn_s;

	(void)state;
	assert_int_equal(c->rejected, 0);
	assert_int_equal(c->n, 13);
	assert_steps(c, "HS1 HS2 HS3 DATA ACK DATA ACK FIN1 FIN2 DATA ACK "
			"FIN3 FIN4");
	assert_int_equal(c->sum.conns, 1);
	assert_int_equal(c->sum.violations, 0);
	assert_int_equal(c->sum.half_close, 1);
	assert_true(c->notes[9].half_close);
	assert_false(c->notes[9].from_client);
	/* The numbers behind the rules, from the capture itself. */
	isn_c = c->pkts[0].seq;
	isn_s = c->pkts[1].seq;
	assert_int_equal(c->pkts[1].ack, isn_c + 1);
	assert_int_equal(c->pkts[2].ack, isn_s + 1);
	assert_int_equal(c->notes[2].seq, isn_c + 1); /* a bare ACK's seq */
	assert_int_equal(c->pkts[3].seq, isn_c + 1);
	assert_int_equal(c->pkts[5].seq, isn_c + 1 + 6);
	assert_int_equal(c->pkts[8].ack, c->pkts[7].seq + 1);
	assert_int_equal(c->pkts[12].ack, c->pkts[11].seq + 1);
	assert_rule_has(c, 1, "= the client's ISN+1");
	assert_rule_has(c, 7, "a FIN consumes one number");
	assert_rule_has(c, 8, "the server may still send");
	assert_rule_has(c, 9, "the half-close");
	assert_rule_has(c, 12,
			"the client, which closed first, waits in "
			"TIME_WAIT");
	/* The reply came after the ACK of the FIN, and the FIN after it. */
	assert_true(c->notes[9].since_us > c->notes[8].since_us);
	free(c);
}

/* Unpaused, the server's kernel carries the ACK of the FIN on the
 * reply: steps 2 and the data in one segment. */
static void test_fast_server_acks_fin_on_reply(void **state)
{
	struct cap *c = load("fast-server.txt");

	(void)state;
	assert_steps(c, "HS1 HS2 HS3 DATA ACK DATA ACK FIN1 FIN2+DATA ACK "
			"FIN3 FIN4");
	assert_true(c->notes[8].half_close);
	assert_int_equal(c->sum.violations, 0);
	free(c);
}

static void test_fin_with_data(void **state)
{
	struct cap *c = load("fin-data.txt");

	(void)state;
	assert_int_equal(c->pkts[3].flags,
			 WIRE_F_FIN | WIRE_F_PSH | WIRE_F_ACK);
	assert_steps(c, "HS1 HS2 HS3 DATA+FIN1 FIN2+DATA ACK FIN3 FIN4");
	/* The FIN sits after the 10 bytes: its ACK is seq + 10 + 1. */
	assert_int_equal(c->pkts[4].ack, c->pkts[3].seq + 10 + 1);
	assert_rule_has(c, 3, "10 bytes at seq");
	assert_rule_has(c, 3, "the client's FIN at seq");
	assert_int_equal(c->sum.violations, 0);
	free(c);
}

static void test_server_closes_first(void **state)
{
	struct cap *c = load("server-first.txt");

	(void)state;
	assert_steps(c, "HS1 HS2 HS3 FIN1 FIN2+FIN3 FIN4");
	assert_false(c->notes[3].from_client);
	assert_true(c->notes[4].from_client);
	assert_rule_has(c, 5,
			"the server, which closed first, waits in "
			"TIME_WAIT");
	free(c);
}

static void test_data_retransmitted(void **state)
{
	struct cap *c = load("retransmission.txt");

	(void)state;
	assert_steps(c, "HS1 HS2 HS3 DATA RETRANS RETRANS RETRANS ACK DATA "
			"ACK DATA DATA ACK FIN1 FIN2+FIN3 FIN4");
	assert_int_equal(c->sum.retransmissions, 3);
	assert_int_equal(c->sum.violations, 0);
	assert_rule_has(c, 4, "sent again");
	/* The ACK that finally came counts the 6 bytes once. */
	assert_rule_has(c, 7, "(6 new)");
	free(c);
}

static void test_reset_mid_connection(void **state)
{
	struct cap *c = load("reset.txt");

	(void)state;
	assert_steps(c, "HS1 HS2 HS3 DATA ACK DATA ACK RST");
	assert_int_equal(c->sum.resets, 1);
	assert_rule_has(c, 7, "aborted at once, without FINs");
	free(c);
}

static void test_refused_is_syn_then_rst(void **state)
{
	struct cap *c = load("refused.txt");

	(void)state;
	assert_steps(c, "HS1 RST");
	assert_int_equal(c->pkts[1].ack, c->pkts[0].seq + 1);
	assert_rule_has(c, 1, "Connection refused");
	assert_int_equal(c->sum.violations, 0);
	free(c);
}

/* stserver's full accept queue: the SYN goes unanswered and is sent
 * again, the same ISN each time, a second or more apart. */
static void test_backlog_syn_retries(void **state)
{
	struct cap *c = load("backlog.txt");

	(void)state;
	assert_true(c->n >= 2);
	assert_int_equal(c->sum.retransmissions, (int)c->n - 1);
	for (size_t i = 1; i < c->n; i++) {
		assert_int_equal(c->notes[i].steps, WIRE_STEP(WIRE_RETRANS));
		assert_int_equal(c->pkts[i].seq, c->pkts[0].seq);
		assert_true(c->pkts[i].time_us - c->pkts[i - 1].time_us >=
			    900000);
	}
	assert_rule_has(c, 1, "retry 1: the same SYN");
	assert_rule_has(c, 1, "no SYN/ACK came back");
	free(c);
}

static void test_udp_datagrams_only(void **state)
{
	struct cap *c = load("udp.txt");

	(void)state;
	assert_steps(c, "DGRAM DGRAM DGRAM DGRAM");
	assert_int_equal(c->sum.conns, 1);
	assert_true(c->notes[0].from_client);
	assert_false(c->notes[2].from_client);
	free(c);
}

/* A SYN/ACK that does not acknowledge ISN+1 breaks the rule, and says
 * so. */
static void test_violation_flagged(void **state)
{
	static const char *const lines[] = {
		"1.000000 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], seq 100, "
		"win 1, length 0",
		"1.000010 IP 10.0.0.2.80 > 10.0.0.1.1000: Flags [S.], seq 900, "
		"ack 102, win 1, length 0",
	};
	struct cap *c = from_lines(lines, 2);

	(void)state;
	assert_steps(c, "HS1 HS2");
	assert_false(c->notes[0].violation);
	assert_true(c->notes[1].violation);
	assert_int_equal(c->sum.violations, 1);
	free(c);
}

/* Sequence numbers wrap at 2^32; a new SYN on a finished 4-tuple is a
 * new connection; a capture that starts at the SYN/ACK still knows who
 * the client is. */
static void test_wrap_and_reuse(void **state)
{
	static const char *const lines[] = {
		"1.0 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], seq "
		"4294967290, win 1, length 0",
		"1.1 IP 10.0.0.2.80 > 10.0.0.1.1000: Flags [S.], seq 5, ack "
		"4294967291, win 1, length 0",
		"1.2 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [.], ack 6, win 1, "
		"length 0",
		"1.3 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [P.], seq "
		"4294967291:1, ack 6, win 1, length 6",
		"1.4 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [F.], seq 1, ack 6, "
		"win 1, length 0",
		"1.5 IP 10.0.0.2.80 > 10.0.0.1.1000: Flags [F.], seq 6, ack 2, "
		"win 1, length 0",
		"1.6 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [.], ack 7, win 1, "
		"length 0",
		"2.0 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], seq 50, win 1, "
		"length 0",
		"3.0 IP 10.0.0.3.80 > 10.0.0.4.2000: Flags [S.], seq 9, ack 8, "
		"win 1, length 0",
	};
	struct cap *c = from_lines(lines, 9);

	(void)state;
	assert_steps(c, "HS1 HS2 HS3 DATA FIN1 FIN2+FIN3 FIN4 HS1 HS2");
	assert_int_equal(c->sum.violations, 0);
	assert_int_equal(c->sum.conns, 3);
	assert_int_equal(c->notes[7].conn, 1);
	assert_int_equal(c->notes[8].conn, 2);
	assert_false(c->notes[8].from_client);
	free(c);
}

static void test_step_names(void **state)
{
	(void)state;
	assert_string_equal(wire_step_name_zh(WIRE_HS1), "第一次握手");
	assert_string_equal(wire_step_name_zh(WIRE_HS3), "第三次握手");
	assert_string_equal(wire_step_name_zh(WIRE_FIN1), "第一次挥手");
	assert_string_equal(wire_step_name_zh(WIRE_FIN4), "第四次挥手");
	assert_string_equal(wire_step_name(WIRE_HS2), "handshake 2: SYN/ACK");
	assert_string_equal(wire_step_code(WIRE_STEP_COUNT), "");
	for (int s = 0; s < WIRE_STEP_COUNT; s++) {
		assert_true(strlen(wire_step_name(s)) > 0);
		assert_true(strlen(wire_step_code(s)) > 0);
	}
}

/* ------------------------------------------------------------------ */
/* The program */

/* Runs lessons/wire/wire with args through the shell; its exit status, and its
 * output in out. */
static int run_wire(const char *args, char *out, size_t len)
{
	const char *wire = getenv("MT_WIRE");
	char cmd[512];
	size_t n;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1",
		 wire ? wire : "lessons/wire/wire", args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_program_steps_and_status(void **state)
{
	char out[4096], path[] = "/tmp/test_wire_XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(run_wire("steps tests/captures/half-close.txt", out,
				  sizeof(out)),
			 0);
	assert_non_null(strstr(out, "conn 1: HS1 HS2 HS3 DATA ACK DATA ACK "
				    "FIN1 FIN2 DATA(half-close) ACK FIN3 "
				    "FIN4\n"));
	assert_non_null(strstr(out, "violations=0"));
	assert_int_equal(
		run_wire("table tests/captures/refused.txt", out, sizeof(out)),
		0);
	assert_non_null(strstr(out, "| 第一次握手 |"));
	assert_non_null(strstr(out, "| R. | 0 |"));

	/* A capture that breaks a rule fails the table. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("1.0 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], seq 100, win 1, "
	      "length 0\n"
	      "1.1 IP 10.0.0.2.80 > 10.0.0.1.1000: Flags [S.], seq 900, ack "
	      "100, win 1, length 0\n",
	      f);
	fclose(f);
	snprintf(out, sizeof(out), "table %s", path);
	assert_int_equal(run_wire(out, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "**rule broken:**"));
	unlink(path);

	assert_int_equal(
		run_wire("table /nonexistent/capture", out, sizeof(out)), 1);
	assert_int_equal(run_wire("frobnicate x", out, sizeof(out)), 2);
	assert_int_equal(run_wire("table --title", out, sizeof(out)), 2);
	assert_int_equal(run_wire("steps --verbose x", out, sizeof(out)), 2);
	assert_int_equal(run_wire("bind 127.0.0.1 99999", out, sizeof(out)), 2);
}

/* The sequence diagram's gnuplot script: one arrow per packet (and the
 * two lifelines), each labelled with its numbers and its step. */
static void test_program_plot(void **state)
{
	static char out[65536];
	int arrows = 0;

	(void)state;
	assert_int_equal(run_wire("plot --title 'a \"quoted\" title' "
				  "tests/captures/half-close.txt",
				  out, sizeof(out)),
			 0);
	for (const char *p = out; (p = strstr(p, "head filled")) != NULL; p++)
		arrows++;
	assert_int_equal(arrows, 13);
	assert_non_null(strstr(out, "nohead")); /* a lifeline */
	assert_non_null(strstr(out, "set title \"a \\\"quoted\\\" title\""));
	assert_non_null(strstr(out, "\"teardown 2: ACK\""));
	assert_non_null(strstr(out, "\"data (half-close)\""));
	assert_non_null(strstr(out, "ack = client ISN+1"));
	assert_non_null(strstr(out, "[F.]  seq "));
	assert_non_null(strstr(out, "\nplot NaN notitle\n"));
}

/* A TIME_WAIT socket on the listening port, made for real: the server
 * side closes first.  Then a listener without SO_REUSEADDR cannot bind
 * the port; one with it can. */
static void test_program_bind_after_time_wait(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int lfd, cfd, sfd, on = 1;
	char out[512], args[64], byte;
	const struct timespec settle = {.tv_nsec = 50000000L};

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)), 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);
	close(sfd);				  /* the server's FIN first */
	assert_int_equal(read(cfd, &byte, 1), 0); /* the client sees it */
	close(cfd);				  /* its FIN: the server's
						   end enters TIME_WAIT */
	close(lfd);
	nanosleep(&settle, NULL); /* the last ACK crosses loopback */

	snprintf(args, sizeof(args), "bind 127.0.0.1 %u",
		 (unsigned)ntohs(a.sin_port));
	assert_int_equal(run_wire(args, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "without SO_REUSEADDR: Address already "
				    "in use"));
	snprintf(args, sizeof(args), "bind --reuseaddr 127.0.0.1 %u",
		 (unsigned)ntohs(a.sin_port));
	assert_int_equal(run_wire(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "with SO_REUSEADDR: ok"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_handshake_lines),
		cmocka_unit_test(test_parse_udp_ipv6_and_nanoseconds),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_half_close_four_steps),
		cmocka_unit_test(test_fast_server_acks_fin_on_reply),
		cmocka_unit_test(test_fin_with_data),
		cmocka_unit_test(test_server_closes_first),
		cmocka_unit_test(test_data_retransmitted),
		cmocka_unit_test(test_reset_mid_connection),
		cmocka_unit_test(test_refused_is_syn_then_rst),
		cmocka_unit_test(test_backlog_syn_retries),
		cmocka_unit_test(test_udp_datagrams_only),
		cmocka_unit_test(test_violation_flagged),
		cmocka_unit_test(test_wrap_and_reuse),
		cmocka_unit_test(test_step_names),
		cmocka_unit_test(test_program_steps_and_status),
		cmocka_unit_test(test_program_plot),
		cmocka_unit_test(test_program_bind_after_time_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
