/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cli.c - every command-line case of both servers (cli.h), parsed
 * in-process; test_shared.c runs the bad ones through the real programs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAXARGS 32

static enum cli_result parse(struct config *cfg, enum cli_kind kind, char *err,
			     size_t errlen, ...)
{
	static char storage[MAXARGS][128];
	char *argv[MAXARGS + 1];
	const char *a;
	va_list ap;
	int argc = 0;

	argv[argc++] = strcpy(storage[0], "server");
	va_start(ap, errlen);
	while ((a = va_arg(ap, const char *)) != NULL && argc < MAXARGS) {
		snprintf(storage[argc], sizeof(storage[argc]), "%s", a);
		argv[argc] = storage[argc];
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return cli_parse(cfg, kind, argc, argv, err, errlen);
}

#define MT(...)                                                                \
	parse(&cfg, CLI_MTSERVER, err, sizeof(err), __VA_ARGS__,               \
	      (const char *)NULL)
#define ST(...)                                                                \
	parse(&cfg, CLI_STSERVER, err, sizeof(err), __VA_ARGS__,               \
	      (const char *)NULL)
#define PT(...)                                                                \
	parse(&cfg, CLI_PTSERVER, err, sizeof(err), __VA_ARGS__,               \
	      (const char *)NULL)
#define FK(...)                                                                \
	parse(&cfg, CLI_FKSERVER, err, sizeof(err), __VA_ARGS__,               \
	      (const char *)NULL)

/* ptserver takes mtserver's options and its pool's size, 1 to
 * CLI_MAX_THREADS; the others have no pool. */
static void test_threads_option(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(PT("0"), CLI_RUN);
	assert_string_equal(cfg.prog, "ptserver");
	assert_int_equal(cfg.threads, CLI_DEFAULT_THREADS);
	assert_true(cfg.udp);
	assert_int_equal(cfg.backlog, CLI_DEFAULT_BACKLOG_MT);
	assert_int_equal(PT("--threads", "3", "--max-per-ip", "2", "0"),
			 CLI_RUN);
	assert_int_equal(cfg.threads, 3);
	assert_int_equal(cfg.max_per_ip, 2);
	assert_int_equal(PT("--threads", "100000", "0"), CLI_RUN);
	assert_int_equal(cfg.threads, 100000);
	assert_int_equal(PT("--threads", "0", "0"), CLI_ERROR);
	assert_string_equal(err, "invalid --threads '0' (expected 1-100000)");
	assert_int_equal(PT("--threads", "100001", "0"), CLI_ERROR);
	assert_int_equal(PT("--threads", "x", "0"), CLI_ERROR);
	assert_int_equal(MT("--threads", "3", "0"), CLI_ERROR);
	assert_int_equal(ST("--threads", "3", "0"), CLI_ERROR);
	assert_int_equal(FK("--threads", "3", "0"), CLI_ERROR);
}

/* fkserver takes mtserver's options but --chat, refused saying why: a
 * room cannot span its processes. */
static void test_fkserver_options(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(FK("--max-per-ip", "2", "--echo", "0"), CLI_RUN);
	assert_string_equal(cfg.prog, "fkserver");
	assert_true(cfg.udp);
	assert_true(cfg.echo);
	assert_int_equal(cfg.max_per_ip, 2);
	assert_int_equal(cfg.backlog, CLI_DEFAULT_BACKLOG_MT);
	assert_int_equal(FK("--chat", "0"), CLI_ERROR);
	assert_non_null(strstr(err, "--chat: a room cannot span processes"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(FK("--chat", "--chat-udp", "0"), CLI_ERROR);
	assert_int_equal(MT("--chat", "0"), CLI_RUN);
}

/* The one number parser of every command line: the whole string, a
 * digit first, in range, no overflow; *out untouched when refused. */
static void test_parse_u64(void **state)
{
	static const char *const refused[] = {
		"",	" 1",  "-1",
		"+1",	"1 ",  "1x",
		"0x10", "1.0", "18446744073709551616", /* UINT64_MAX + 1 */
	};
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(cli_parse_u64(refused[i], 0, UINT64_MAX, &v),
				 -1);
		assert_int_equal(v, 7);
	}
	assert_int_equal(
		cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cli_parse_u64("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cli_parse_u64("4", 5, 10, &v), -1);
	assert_int_equal(cli_parse_u64("11", 5, 10, &v), -1);
	assert_int_equal(cli_parse_u64("5", 5, 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(cli_parse_u64("10", 5, 10, &v), 0);
	assert_int_equal(v, 10);
}

static void test_defaults(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(MT("8888"), CLI_RUN);
	assert_int_equal(cfg.port, 8888);
	assert_null(cfg.bind_addr); /* every address: server_open decides */
	assert_true(cfg.tcp && cfg.udp);
	assert_false(cfg.echo || cfg.quiet);
	assert_null(cfg.log_path);
	assert_int_equal(cfg.max_clients, 0);
	assert_int_equal(cfg.idle_timeout, 300);
	assert_int_equal(cfg.max_line, 4096);
	assert_int_equal(cfg.backlog, CLI_DEFAULT_BACKLOG_MT);
	assert_string_equal(cfg.prog, "mtserver");

	assert_int_equal(ST("8888"), CLI_RUN);
	assert_true(cfg.tcp);
	assert_false(cfg.udp);
	assert_int_equal(cfg.backlog, 5);
	assert_string_equal(cfg.prog, "stserver");
}

static void test_every_option(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(MT("-b", "::", "--echo", "--no-udp", "-l", "x.log",
			    "-q", "--max-clients", "7", "--idle-timeout", "0",
			    "--max-line", "32", "--backlog", "9", "0"),
			 CLI_RUN);
	assert_string_equal(cfg.bind_addr, "::");
	assert_true(cfg.echo && cfg.quiet && cfg.tcp && !cfg.udp);
	assert_string_equal(cfg.log_path, "x.log");
	assert_int_equal(cfg.max_clients, 7);
	assert_int_equal(cfg.idle_timeout, 0);
	assert_int_equal(cfg.max_line, 32);
	assert_int_equal(cfg.backlog, 9);
	assert_int_equal(cfg.port, 0);

	/* Long forms, "=" forms, options after the port. */
	assert_int_equal(MT("--bind=127.0.0.1", "--log=y.log", "--quiet",
			    "65535", "--no-tcp"),
			 CLI_RUN);
	assert_string_equal(cfg.bind_addr, "127.0.0.1");
	assert_string_equal(cfg.log_path, "y.log");
	assert_true(cfg.quiet && !cfg.tcp && cfg.udp);
	assert_int_equal(cfg.port, 65535);

	assert_int_equal(MT("-qb", "::1", "1"), CLI_RUN);
	assert_true(cfg.quiet);
	assert_string_equal(cfg.bind_addr, "::1");
}

static void test_help_and_version(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(MT("--help"), CLI_HELP);
	assert_int_equal(MT("-h", "junk"), CLI_HELP);
	assert_int_equal(MT("--version"), CLI_VERSION);
	assert_int_equal(ST("-V"), CLI_VERSION);
}

/* --version in the GNU form: name (package) version, copyright, license,
 * no warranty; the same text for every program but its name. */
static void test_version_text(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	cli_version(out, "stserver");
	assert_int_equal(fclose(out), 0);
	assert_string_equal(text,
			    "stserver (mtserver) " MT_VERSION "\n"
			    "Copyright (C) 2026 The mtserver authors.\n"
			    "License BSD-2-Clause: "
			    "<https://spdx.org/licenses/BSD-2-Clause.html>."
			    "\n"
			    "This is free software: you are free to change "
			    "and redistribute it.\n"
			    "There is NO WARRANTY, to the extent permitted "
			    "by law.\n");
	free(text);
}

/* Each bad command line: CLI_ERROR and a message naming the problem. */
static void expect_error(enum cli_result r, const char *err, const char *needle)
{
	assert_int_equal(r, CLI_ERROR);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_bad_ports(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	expect_error(MT("abc"), err, "invalid port 'abc'");
	expect_error(MT("70000"), err, "invalid port '70000'");
	expect_error(MT("65536"), err, "invalid port");
	expect_error(MT("-1"), err, "unknown option '-1'");
	expect_error(MT("+80"), err, "invalid port '+80'");
	expect_error(MT(" 80"), err, "invalid port");
	expect_error(MT("80x"), err, "invalid port '80x'");
	expect_error(MT("99999999999999999999"), err, "invalid port");
	expect_error(MT(""), err, "invalid port ''");
	expect_error(
		parse(&cfg, CLI_MTSERVER, err, sizeof(err), (const char *)NULL),
		err, "missing PORT");
	expect_error(MT("80", "81"), err, "unexpected argument '81'");
}

static void test_bad_options(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	expect_error(MT("--frobnicate", "80"), err,
		     "unknown option '--frobnicate'");
	expect_error(MT("-x", "80"), err, "unknown option '-x'");
	expect_error(MT("80", "--log"), err, "'--log' needs a value");
	expect_error(MT("80", "-b"), err, "'-b' needs a value");
	expect_error(MT("-l", "", "80"), err, "empty log file name");
	expect_error(MT("--no-tcp", "--no-udp", "80"), err, "nothing to serve");
	expect_error(MT("--max-clients", "0", "80"), err,
		     "invalid --max-clients '0'");
	expect_error(MT("--max-clients", "many", "80"), err,
		     "invalid --max-clients");
	expect_error(MT("--idle-timeout", "-5", "80"), err,
		     "invalid --idle-timeout '-5'");
	expect_error(MT("--idle-timeout", "1e3", "80"), err,
		     "invalid --idle-timeout");
	expect_error(MT("--max-line", "0", "80"), err, "invalid --max-line");
	expect_error(MT("--max-line", "99999999", "80"), err,
		     "invalid --max-line");
	expect_error(MT("--backlog", "0", "80"), err, "invalid --backlog");
	/* Named as typed, even inside a cluster of short options. */
	expect_error(MT("-qx", "80"), err, "unknown option '-x'");
	expect_error(MT("-xq", "80"), err, "unknown option '-x'");
	/* A switch given a value, and an abbreviation that fits several
	 * options, said as GNU programs say them. */
	expect_error(MT("--echo=yes", "80"), err,
		     "option '--echo' doesn't allow an argument");
	expect_error(MT("--qui=1", "80"), err,
		     "option '--quiet' doesn't allow an argument");
	expect_error(ST("--help=me"), err,
		     "option '--help' doesn't allow an argument");
	expect_error(MT("--no", "80"), err, "option '--no' is ambiguous");
	expect_error(MT("--log=", "80"), err, "empty log file name");
	/* stserver has no transport switches and no client limit. */
	expect_error(ST("--no-udp", "80"), err, "unknown option '--no-udp'");
	expect_error(ST("--max-clients", "3", "80"), err,
		     "unknown option '--max-clients'");
}

static void test_bad_addresses(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	expect_error(MT("-b", "localhost", "80"), err,
		     "invalid address 'localhost'");
	expect_error(MT("-b", "256.1.1.1", "80"), err, "invalid address");
	expect_error(MT("-b", "1.2.3", "80"), err, "invalid address");
	expect_error(MT("-b", "::g", "80"), err, "invalid address");
	expect_error(ST("--bind", "", "80"), err, "invalid address ''");
}

static void test_usage_mentions_every_option(void **state)
{
	static const char *const mt[] = {
		"--bind",     "--echo",	   "--no-udp",	    "--no-tcp",
		"--log",      "--quiet",   "--max-clients", "--idle-timeout",
		"--max-line", "--backlog", "--help",	    "--version"};
	char buf[8192];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_non_null(f);
	cli_usage(f, CLI_MTSERVER);
	fclose(f);
	for (size_t i = 0; i < sizeof(mt) / sizeof(mt[0]); i++)
		assert_non_null(strstr(buf, mt[i]));

	f = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(f);
	cli_usage(f, CLI_STSERVER);
	fclose(f);
	assert_non_null(strstr(buf, "TCP only"));
	assert_null(strstr(buf, "--no-udp"));
	assert_null(strstr(buf, "--max-clients"));
	/* stserver serves TCP only: its options say nothing of UDP. */
	assert_null(strstr(strstr(buf, "\n  PORT"), "UDP"));
}

/* Every program's --help ends with where to report bugs (GNU). */
static void test_usage_says_where_to_report_bugs(void **state)
{
	static const enum cli_kind kinds[] = {CLI_MTSERVER, CLI_STSERVER,
					      CLI_PTSERVER, CLI_FKSERVER};
	char buf[8192];

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		FILE *f = fmemopen(buf, sizeof(buf), "w");

		assert_non_null(f);
		cli_usage(f, kinds[i]);
		assert_int_equal(fclose(f), 0);
		assert_non_null(strstr(buf, "\n" CLI_REPORT_BUGS "\n"));
	}
	assert_non_null(strstr(CLI_REPORT_BUGS, "Report bugs"));
}

/* The event-loop models (epoll, SO_REUSEPORT, io_uring) take mtserver's
 * options, named as themselves; rpserver alone takes --loops, 1 to
 * CLI_MAX_LOOPS (0: the CPUs). */
static void test_event_loop_models(void **state)
{
	static const enum cli_kind kinds[] = {CLI_EPSERVER, CLI_RPSERVER,
					      CLI_URSERVER};
	static const char *const names[] = {"epserver", "rpserver", "urserver"};
	struct config cfg;
	char err[256], buf[8192];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		FILE *f = fmemopen(buf, sizeof(buf), "w");

		assert_int_equal(parse(&cfg, kinds[i], err, sizeof(err),
				       "--chat", "--max-per-ip", "3", "80",
				       (const char *)NULL),
				 CLI_RUN);
		assert_string_equal(cfg.prog, names[i]);
		assert_true(cfg.udp && cfg.chat);
		assert_int_equal(cfg.max_per_ip, 3);
		assert_int_equal(cfg.loops, 0);
		assert_non_null(f);
		cli_usage(f, kinds[i]);
		assert_int_equal(fclose(f), 0);
		assert_non_null(strstr(buf, names[i]));
		assert_non_null(strstr(buf, "\n" CLI_REPORT_BUGS "\n"));
		assert_true((strstr(buf, "--loops") != NULL) ==
			    (kinds[i] == CLI_RPSERVER));
	}
	assert_int_equal(parse(&cfg, CLI_RPSERVER, err, sizeof(err), "--loops",
			       "3", "80", (const char *)NULL),
			 CLI_RUN);
	assert_int_equal(cfg.loops, 3);
	expect_error(parse(&cfg, CLI_RPSERVER, err, sizeof(err), "--loops", "0",
			   "80", (const char *)NULL),
		     err, "invalid --loops '0' (expected 1-256)");
	expect_error(parse(&cfg, CLI_RPSERVER, err, sizeof(err), "--loops",
			   "257", "80", (const char *)NULL),
		     err, "invalid --loops '257'");
	expect_error(MT("--loops", "2", "80"), err, "unknown option '--loops'");
	expect_error(parse(&cfg, CLI_EPSERVER, err, sizeof(err), "--loops", "2",
			   "80", (const char *)NULL),
		     err, "unknown option '--loops'");
}

/* The program's name from argv[0]: its last path component. */
static void test_program_name(void **state)
{
	(void)state;
	assert_string_equal(cli_program_name("/usr/bin/mtflood", "flood"),
			    "mtflood");
	assert_string_equal(cli_program_name("bench/flood", "flood"), "flood");
	assert_string_equal(cli_program_name("mtclient", "x"), "mtclient");
	assert_string_equal(cli_program_name("dir/", "flood"), "flood");
	assert_string_equal(cli_program_name("", "flood"), "flood");
	assert_string_equal(cli_program_name(NULL, "flood"), "flood");
}

/* --help and --version to a full disk fail, as coreutils' do: the
 * output is flushed and closed, and a failure is an error line and a
 * nonzero status. */
static void test_close_stdout_reports_write_errors(void **state)
{
	char errbuf[256];
	FILE *full = fopen("/dev/full", "w");
	FILE *errs = fmemopen(errbuf, sizeof(errbuf), "w");

	(void)state;
	if (full == NULL)
		skip();
	assert_non_null(errs);
	cli_version(full, "mtserver");
	assert_int_equal(cli_close_output(full, "mtserver", errs), 1);
	assert_int_equal(fclose(errs), 0);
	assert_non_null(strstr(errbuf, "mtserver: write error: "));
	assert_non_null(strstr(errbuf, "No space left on device\n"));

	full = tmpfile();
	assert_non_null(full);
	cli_version(full, "mtserver");
	assert_int_equal(cli_close_output(full, "mtserver", stderr), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_threads_option),
		cmocka_unit_test(test_fkserver_options),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_version_text),
		cmocka_unit_test(test_bad_ports),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_event_loop_models),
		cmocka_unit_test(test_usage_mentions_every_option),
		cmocka_unit_test(test_usage_says_where_to_report_bugs),
		cmocka_unit_test(test_program_name),
		cmocka_unit_test(test_close_stdout_reports_write_errors),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
