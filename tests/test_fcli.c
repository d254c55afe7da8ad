/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fcli.c - flood's option parser: every option, every kind of bad
 * value, every forbidden combination.  Tests call fcli_parse() itself;
 * CLI_ERROR is what main turns into "flood: <err>" and exit status 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fcli.h"

/* Up to 30 arguments of up to 100 bytes: more than any case below. */
#define MAX_ARGS 30
#define ARG_LEN	 100

/* A typed end marker for the variadic argument lists: a bare NULL may
 * be a plain 0, which is not a pointer. */
#define END ((const char *)NULL)

struct parsed {
	struct fcli_opts o;
	char err[256];
	int rc;
	char store[MAX_ARGS][ARG_LEN]; /* argv points here: must outlive o */
};

/* Parses "flood" + the NULL-terminated arguments (copied, so that the
 * parser could not write to string literals even if it tried). */
static struct parsed *parse_v(const char *first, va_list ap)
{
	static struct parsed p;
	char *argv[MAX_ARGS + 1];
	const char *a;
	int argc = 0;

	memset(&p, 0, sizeof(p));
	snprintf(p.store[argc], ARG_LEN, "flood");
	argv[argc] = p.store[argc];
	argc++;
	for (a = first; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(argc < MAX_ARGS);
		snprintf(p.store[argc], ARG_LEN, "%s", a);
		argv[argc] = p.store[argc];
		argc++;
	}
	argv[argc] = NULL;
	p.rc = fcli_parse(&p.o, argc, argv, p.err, sizeof(p.err));
	return &p;
}

static struct parsed *parse(const char *first, ...)
{
	struct parsed *p;
	va_list ap;

	va_start(ap, first);
	p = parse_v(first, ap);
	va_end(ap);
	return p;
}

/* Asserts that the arguments are refused with a message containing
 * want. */
static void refused(const char *want, const char *first, ...)
{
	struct parsed *p;
	va_list ap;

	va_start(ap, first);
	p = parse_v(first, ap);
	va_end(ap);
	if (p->rc != CLI_ERROR)
		fail_msg("accepted, expected an error about '%s'", want);
	if (strstr(p->err, want) == NULL)
		fail_msg("error '%s' does not mention '%s'", p->err, want);
}

static void accepted(struct parsed *p)
{
	if (p->rc != CLI_RUN)
		fail_msg("refused: %s", p->err);
}

static void test_defaults(void **state)
{
	struct parsed *p = parse(NULL);

	(void)state;
	accepted(p);
	assert_int_equal(p->o.clients, 1);
	assert_string_equal(p->o.host, "127.0.0.1");
	assert_int_equal(p->o.pipeline, 1);
	assert_false(p->o.csv || p->o.percentiles || p->o.no_correction);
	assert_null(p->o.hdr_log);
	assert_null(p->o.merge);
	assert_int_equal(p->o.port, 8888);
	assert_int_equal(p->o.messages, 1000);
	assert_int_equal(p->o.size, 32);
	assert_int_equal(p->o.timeout_ms, 1000);
	assert_true(p->o.max_time == 600);
	assert_true(p->o.duration == 0 && p->o.rate == 0 && p->o.hold == 0);
	assert_int_equal(p->o.threads, 1); /* clamped to -n 1 */
	assert_false(p->o.echo || p->o.churn || p->o.udp || p->o.json);
	assert_null(p->o.payload);
	assert_null(p->o.verify_log);
}

/* --hosts: a list of HOST:PORT, [IPv6]:PORT; round robin is the
 * engine's (test_flood.c), the list is kept here in order. */
static void test_hosts(void **state)
{
	struct parsed *p;

	(void)state;
	p = parse("-H", "localhost", "-p", "9", END);
	accepted(p);
	assert_int_equal(p->o.nhosts, 1); /* -H/-p is a list of one */
	assert_string_equal(p->o.hosts[0].host, "localhost");
	assert_int_equal(p->o.hosts[0].port, 9);

	p = parse("--hosts", "10.0.0.1:8888,[::1]:1,node-c.example:65535",
		  "--echo", END);
	accepted(p);
	assert_int_equal(p->o.nhosts, 3);
	assert_string_equal(p->o.hosts[0].host, "10.0.0.1");
	assert_int_equal(p->o.hosts[0].port, 8888);
	assert_string_equal(p->o.hosts[1].host, "::1");
	assert_int_equal(p->o.hosts[1].port, 1);
	assert_string_equal(p->o.hosts[2].host, "node-c.example");
	assert_int_equal(p->o.hosts[2].port, 65535);
	/* The reports' host and port are the first server's. */
	assert_string_equal(p->o.host, "10.0.0.1");
	assert_int_equal(p->o.port, 8888);

	p = parse("--hosts", "a:1", END);
	accepted(p);
	assert_int_equal(p->o.nhosts, 1);
	p = parse("--chat", "-n", "4", "--hosts", "a:1,b:2", END);
	accepted(p);
	assert_int_equal(p->o.nhosts, 2);
	p = parse("--hosts",
		  "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11,"
		  "a:12,a:13,a:14,a:15,a:16",
		  END);
	accepted(p);
	assert_int_equal(p->o.nhosts, 16);

	refused("--hosts (HOST:PORT", "--hosts", "", END);
	refused("--hosts (HOST:PORT", "--hosts", "a", END);
	refused("--hosts (HOST:PORT", "--hosts", "a:", END);
	refused("--hosts (HOST:PORT", "--hosts", ":1", END);
	refused("--hosts (HOST:PORT", "--hosts", "a:0", END);
	refused("--hosts (HOST:PORT", "--hosts", "a:65536", END);
	refused("--hosts (HOST:PORT", "--hosts", "a:1x", END);
	refused("--hosts (HOST:PORT", "--hosts", "a:1,", END);
	refused("--hosts (HOST:PORT", "--hosts", "a:1,,b:2", END);
	refused("--hosts (HOST:PORT", "--hosts", ",a:1", END);
	refused("--hosts (HOST:PORT", "--hosts", "::1:80", END);
	refused("--hosts (HOST:PORT", "--hosts", "[::1]80", END);
	refused("--hosts (HOST:PORT", "--hosts", "[]:80", END);
	refused("--hosts (HOST:PORT", "--hosts", "[::1:80", END);
	refused("--hosts (HOST:PORT", "--hosts", "a b:80", END);
	refused("--hosts (HOST:PORT", "--hosts", "a:1234567", END);
	refused("--hosts (HOST:PORT", "--hosts",
		"a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11,a:12,a:13,"
		"a:14,a:15,a:16,a:17",
		END);
	p = parse("--hosts", "lb:8888", "--reconnect", "5", "--rate", "100",
		  END);
	accepted(p);
	assert_int_equal(p->o.reconnect, 5);
	refused("--reconnect (1..1000)", "--reconnect", "0", END);
	refused("--reconnect (1..1000)", "--reconnect", "1001", END);
	refused("--reconnect is for one-way TCP", "--reconnect", "1", "--echo",
		END);
	refused("--reconnect is for one-way TCP", "--reconnect", "1", "--udp",
		END);
	refused("--reconnect is for one-way TCP", "--reconnect", "1", "--churn",
		END);
	refused("--chat takes only", "--chat", "-n", "2", "--reconnect", "1",
		END);
	p = parse("--first-client", "500", "-n", "500", END);
	accepted(p);
	assert_int_equal(p->o.first_client, 500);
	refused("--first-client (0..1000000000)", "--first-client",
		"1000000001", END);
	refused("--first-client (0..1000000000)", "--first-client", "-1", END);
	refused("excludes --payload", "--first-client", "1", "--payload", "x",
		END);
	refused("--chat takes only", "--chat", "-n", "2", "--first-client", "2",
		END);
	refused("takes only -n, -m and -s", "--verify-log", "f", "-n", "1",
		"-m", "1", "--first-client", "1", END);
	/* The header must hold the largest client number: c999999 m9. */
	refused("too small for the message header", "--first-client", "999998",
		"-n", "2", "-m", "10", "-s", "10", END);
	accepted(parse("--first-client", "999998", "-n", "2", "-m", "10", "-s",
		       "12", END));
	refused("exclude each other", "--hosts", "a:1", "-H", "b", END);
	refused("exclude each other", "-p", "2", "--hosts", "a:1", END);
	refused("takes only -n, -m and -s", "--verify-log", "x.log", "-n", "1",
		"-m", "1", "--hosts", "a:1", END);
	refused("takes only files", "--merge", "--hosts", "a:1", "x.hlog", END);
}

static void test_help_version(void **state)
{
	(void)state;
	assert_int_equal(parse("--help", END)->rc, CLI_HELP);
	assert_int_equal(parse("-h", END)->rc, CLI_HELP);
	assert_int_equal(parse("--version", END)->rc, CLI_VERSION);
	assert_int_equal(parse("-V", END)->rc, CLI_VERSION);
}

static void test_every_option(void **state)
{
	struct parsed *p;

	(void)state;
	p = parse("-n", "50", "-H", "::1", "-p", "9000", "-m", "200", "-s",
		  "64", "-t", "3", "--rate", "1000.5", "--think", "2.5",
		  "--ramp", "0.5", "--echo", "--reply-any-line", "--timeout",
		  "250", "--max-time", "30", "--json", END);
	accepted(p);
	assert_int_equal(p->o.clients, 50);
	assert_string_equal(p->o.host, "::1");
	assert_int_equal(p->o.port, 9000);
	assert_int_equal(p->o.messages, 200);
	assert_int_equal(p->o.size, 64);
	assert_int_equal(p->o.threads, 3);
	assert_true(p->o.rate == 1000.5);
	assert_true(p->o.think_ms == 2.5);
	assert_true(p->o.ramp == 0.5);
	assert_true(p->o.echo && p->o.reply_any_line && p->o.json);
	assert_int_equal(p->o.timeout_ms, 250);
	assert_true(p->o.max_time == 30);

	p = parse("--clients", "7", "--host", "127.0.0.1", "--port", "1",
		  "--duration", "1.5", "--size", "40", "--threads", "2",
		  "--udp", END);
	accepted(p);
	assert_int_equal(p->o.clients, 7);
	assert_true(p->o.duration == 1.5);
	assert_int_equal(p->o.messages, 0); /* -d replaces -m */
	assert_int_equal(p->o.size, 40);
	assert_true(p->o.udp);

	p = parse("--churn", "--echo", "-n", "4", END);
	accepted(p);
	assert_true(p->o.churn && p->o.echo);

	p = parse("--hold", "2", "-n", "10000", "--ramp", "1", END);
	accepted(p);
	assert_true(p->o.hold == 2);

	p = parse("--payload", "PING", "--echo", "--reply-any-line", END);
	accepted(p);
	assert_string_equal(p->o.payload, "PING");
	assert_int_equal(p->o.size, 5); /* PING\n */

	p = parse("--verify-log", "x.log", "-n", "3", "-m", "4", "-s", "20",
		  "--allow-missing-tail", END);
	accepted(p);
	assert_string_equal(p->o.verify_log, "x.log");
	assert_true(p->o.allow_missing_tail);
	p = parse("--verify-log", "x.log", "-n", "3", "-m", "4", "--run-start",
		  "1795528195000000", END);
	accepted(p);
	assert_true(p->o.run_start_us == 1795528195000000LL);
	/* A fleet's logs: files after --verify-log, options around them;
	 * the option repeated is the same list. */
	p = parse("-n", "3", "--verify-log", "a.log", "b.log", "c.log", "-m",
		  "4", "d.log", END);
	accepted(p);
	assert_int_equal(p->o.nverify, 4);
	assert_string_equal(p->o.verify_log, "a.log");
	assert_string_equal(p->o.verify_logs[1], "b.log");
	assert_string_equal(p->o.verify_logs[2], "c.log");
	assert_string_equal(p->o.verify_logs[3], "d.log");
	assert_int_equal(p->o.messages, 4);
	p = parse("--verify-log", "a.log", "--verify-log", "b.log", "-n", "3",
		  "-m", "4", END);
	accepted(p);
	assert_int_equal(p->o.nverify, 2);
	assert_string_equal(p->o.verify_logs[1], "b.log");

	/* A name is resolved when the run starts, not here. */
	p = parse("-H", "localhost", "--echo", "-P", "16", "--csv",
		  "--percentiles", "--hdr-log", "a.hlog", "--rate", "100",
		  "--no-correction", END);
	accepted(p);
	assert_string_equal(p->o.host, "localhost");
	assert_int_equal(p->o.pipeline, 16);
	assert_true(p->o.csv && p->o.percentiles && p->o.no_correction);
	assert_string_equal(p->o.hdr_log, "a.hlog");

	p = parse("--merge", "a.hlog", "b.hlog", "--percentiles", END);
	accepted(p);
	assert_int_equal(p->o.nmerge, 2);
	assert_true(p->o.percentiles);
	p = parse("--percentiles", "--merge", "a.hlog", "b.hlog", END);
	accepted(p);
	assert_int_equal(p->o.nmerge, 2);
	assert_string_equal(p->o.merge[0], "a.hlog");
	assert_string_equal(p->o.merge[1], "b.hlog");

	/* Threads default to the CPUs, capped by the clients. */
	p = parse("-n", "1000", END);
	accepted(p);
	assert_true(p->o.threads >= 1 && p->o.threads <= FCLI_THREADS_MAX);
}

static void test_bad_numbers(void **state)
{
	(void)state;
	refused("-n", "-n", "abc", END);
	refused("-n", "-n", "0", END);
	refused("-n", "-n", "-5", END);
	refused("-n", "-n", "1000001", END);
	refused("-n", "-n", "12x", END);
	refused("-n", "-n", "", END);
	refused("-n", "-n", " 5", END);
	refused("-p", "-p", "0", END);
	refused("-p", "-p", "65536", END);
	refused("-p", "-p", "http", END);
	refused("-m", "-m", "0", END);
	refused("-m", "-m", "99999999999999999999999", END);
	refused("-d", "-d", "0", END);
	refused("-d", "-d", "-1", END);
	refused("-d", "-d", "nan", END);
	refused("-d", "-d", "inf", END);
	refused("-d", "-d", "1s", END);
	refused("-s", "-s", "1", END);
	refused("-s", "-s", "65537", END);
	refused("-t", "-t", "0", END);
	refused("-t", "-t", "257", END);
	refused("--rate", "--rate", "0", END);
	refused("--rate", "--rate", "fast", END);
	refused("--think", "--think", "-1", END);
	refused("--ramp", "--ramp", "x", END);
	refused("--timeout", "--timeout", "0", END);
	refused("--timeout", "--timeout", "3600001", END);
	refused("--hold", "--hold", "0", END);
	refused("--max-time", "--max-time", "0", END);
	refused("-H", "-H", "", END);
	refused("-H", "-H", " ", END);
	refused("-H", "-H", "local host", END);
	refused("-H", "-H", "host\n", END);
	refused("-P", "-P", "0", "--echo", END);
	refused("-P", "-P", "1025", "--echo", END);
	refused("--payload", "--payload", "", END);
	refused("--verify-log", "--verify-log", "", END);
	refused("--verify-log (a file name)", "--verify-log", "a.log", "", "-n",
		"1", "-m", "1", END);
	refused("at most 16 files", "-n", "1", "-m", "1", "--verify-log", "1",
		"2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
		"14", "15", "16", "17", END);
	refused("unexpected argument 'x.log'", "-n", "1", "x.log", END);
	refused("takes only files", "a.log", "--merge", "b.hlog", END);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	refused("unknown option '--bogus'", "--bogus", END);
	refused("unknown option '-x'", "-x", END);
	/* In a cluster: the option, not the whole word or the one before. */
	refused("unknown option '-x'", "-n", "2", "-xh", END);
	refused("option '-n' needs a value", "-n", END);
	refused("option '--rate' needs a value", "--rate", END);
	/* A long option that takes no value, given one, as GNU says it. */
	refused("option '--json' doesn't allow an argument", "--json=1", END);
	refused("option '--echo' doesn't allow an argument", "--ec=yes", END);
	refused("option '--ch' is ambiguous", "--ch", END);
	refused("unexpected argument 'extra'", "-n", "2", "extra", END);
}

static void test_conflicts(void **state)
{
	(void)state;
	refused("--hold and --churn", "--churn", "--hold", "1", END);
	refused("--octet-count is for one-way TCP", "--octet-count", "--echo",
		END);
	refused("--octet-count is for one-way TCP", "--octet-count", "--udp",
		END);
	refused("--octet-count is for one-way TCP", "--octet-count", "--churn",
		END);
	refused("--chat takes only", "--chat", "-n", "2", "--octet-count", END);
	refused("--hold sends nothing", "--hold", "1", "--echo", END);
	refused("--hold sends nothing", "--hold", "1", "-m", "5", END);
	refused("--hold sends nothing", "--hold", "1", "--udp", END);
	refused("--hold sends nothing", "--hold", "1", "-d", "1", END);
	refused("--hold sends nothing", "--hold", "1", "--rate", "9", END);
	refused("--hold plus --ramp", "--hold", "5", "--max-time", "4", END);
	refused("--churn needs TCP", "--churn", "--udp", END);
	refused("-m and -d", "-m", "5", "-d", "1", END);
	refused("--reply-any-line needs --echo", "--reply-any-line", END);
	refused("--payload and -s", "--payload", "PING", "-s", "10", END);
	refused("--allow-missing-tail needs --verify-log",
		"--allow-missing-tail", END);
	refused("--verify-log needs -n and -m", "--verify-log", "f", "-n", "3",
		END);
	refused("--verify-log takes only", "--verify-log", "f", "-n", "3", "-m",
		"3", "--echo", END);
	refused("-d plus --ramp", "-d", "10", "--max-time", "5", END);
	refused("-P needs --echo over TCP", "-P", "4", END);
	refused("-P needs --echo over TCP", "-P", "4", "--echo", "--udp", END);
	refused("-P and --think", "-P", "4", "--echo", "--think", "1", END);
	refused("--hdr-log needs --echo", "--hdr-log", "x", END);
	refused("--no-correction needs --rate", "--no-correction", END);
	refused("--json and --csv", "--json", "--csv", END);
	refused("--merge needs at least one file", "--merge", END);
	refused("--run-start needs --verify-log", "--run-start", "5", END);
	refused("--run-start", "--verify-log", "f", "-n", "1", "-m", "1",
		"--run-start", "-5", END);
	refused("--merge takes only", "--merge", "-n", "3", "a", END);
}

static void test_size_too_small(void **state)
{
	struct parsed *p;

	(void)state;
	/* "c0 m999 \n" is 9 bytes */
	refused("-s 8 is too small", "-s", "8", "-m", "1000", END);
	accepted(parse("-s", "9", "-m", "1000", END));
	/* "c99 m999 \n" is 10 bytes */
	refused("need at least 10", "-n", "100", "-s", "9", "-m", "1000", END);
	/* With -d the sequence may reach 10 digits: "c0 m9999999999 \n" */
	refused("-s 15 is too small", "-d", "1", "-s", "15", END);
	p = parse("-d", "1", "-s", "16", END);
	accepted(p);
	/* "c9 m99 \n" is 8 bytes */
	refused("too small", "--verify-log", "f", "-n", "10", "-m", "100", "-s",
		"7", END);
	accepted(parse("--verify-log", "f", "-n", "10", "-m", "100", "-s", "8",
		       END));
}

/* The parser must start afresh on every call (getopt state). */
static void test_reparse(void **state)
{
	(void)state;
	refused("-n", "-n", "x", END);
	accepted(parse("-n", "3", END));
	assert_int_equal(parse("-n", "4", END)->o.clients, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_size_too_small),
		cmocka_unit_test(test_reparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
