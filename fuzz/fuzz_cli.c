/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_cli.c - the servers' command line (cli.h) on any arguments.
 *
 * Input: arguments separated by NUL bytes (at most 32).  Each list is
 * parsed as mtserver and as stserver.  Oracles: the result is one of
 * the four, an error comes with a message, and a config to run with is
 * within the documented ranges.
 */
#include <string.h>

#include "cli.h"
#include "fuzz.h"

#define ARGS_MAX 32

static char copy[4096];

static void parse_as(enum cli_kind kind, int argc, char *argv[])
{
	struct config cfg;
	char err[256];
	enum cli_result r;

	err[0] = '\0';
	r = cli_parse(&cfg, kind, argc, argv, err, sizeof(err));
	FUZZ_CHECK(r == CLI_RUN || r == CLI_HELP || r == CLI_VERSION ||
		   r == CLI_ERROR);
	if (r == CLI_ERROR)
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	if (r != CLI_RUN)
		return;
	FUZZ_CHECK(cfg.port <= 65535);
	FUZZ_CHECK(cfg.tcp || cfg.udp);
	FUZZ_CHECK(cfg.max_line >= 1 && cfg.max_line <= 1024 * 1024);
	FUZZ_CHECK(cfg.idle_timeout >= 0 && cfg.send_timeout >= 0);
	FUZZ_CHECK(cfg.max_memory >= -1 && cfg.max_per_ip >= -1 &&
		   cfg.udp_echo_rate >= -1);
	FUZZ_CHECK(cfg.backlog >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[ARGS_MAX + 2];
	int argc = 1;
	size_t start = 0;

	if (size >= sizeof(copy))
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "mtserver";
	for (size_t i = 0; i <= size && argc <= ARGS_MAX; i++) {
		if (copy[i] == '\0') {
			argv[argc++] = copy + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	parse_as(CLI_MTSERVER, argc, argv);
	parse_as(CLI_STSERVER, argc, argv);
	return 0;
}
