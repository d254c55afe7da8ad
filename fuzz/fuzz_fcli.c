/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_fcli.c - flood's command line (bench/src/fcli.h) on any
 * arguments.
 *
 * Input: arguments separated by NUL bytes (at most 32).  Oracles: the
 * result is one of the four, an error comes with a message, and options
 * to run with are within fcli.h's limits.
 */
#include <string.h>

#include "fcli.h"
#include "fuzz.h"

#define ARGS_MAX 32

static char copy[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[ARGS_MAX + 2];
	struct fcli_opts o;
	char err[256];
	int argc = 1, r;
	size_t start = 0;

	if (size >= sizeof(copy))
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "flood";
	for (size_t i = 0; i <= size && argc <= ARGS_MAX; i++) {
		if (copy[i] == '\0') {
			argv[argc++] = copy + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	err[0] = '\0';
	r = fcli_parse(&o, argc, argv, err, sizeof(err));
	FUZZ_CHECK(r == CLI_RUN || r == CLI_HELP || r == CLI_VERSION ||
		   r == CLI_ERROR);
	if (r == CLI_ERROR)
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	if (r != CLI_RUN)
		return 0;
	FUZZ_CHECK(o.clients >= 1 && o.clients <= FCLI_CLIENTS_MAX);
	FUZZ_CHECK(o.threads >= 1 && o.threads <= FCLI_THREADS_MAX);
	FUZZ_CHECK(o.size <= FCLI_SIZE_MAX);
	FUZZ_CHECK(o.timeout_ms <= FCLI_TIMEOUT_MAX);
	FUZZ_CHECK(o.duration >= 0 && o.duration <= FCLI_SECONDS_MAX);
	FUZZ_CHECK(o.hold >= 0 && o.hold <= FCLI_SECONDS_MAX);
	FUZZ_CHECK(memchr(o.host, '\0', sizeof(o.host)) != NULL);
	for (const char *h = o.host; *h != '\0'; h++) /* no blank, no control */
		FUZZ_CHECK((unsigned char)*h > ' ' && *h != 0x7f);
	return 0;
}
