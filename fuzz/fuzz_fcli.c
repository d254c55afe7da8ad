/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_fcli.c - flood's command line (bench/src/fcli.h) on any
 * arguments.
 *
 * Input: arguments separated by NUL bytes (at most 32).  Oracles: the
 * result is one of the four, an error comes with a message, and options
 * to run with are within fcli.h's limits; a run has 1..16 servers, each
 * a name without blanks or control bytes and a port, the first of them
 * the reports' host and port.
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
	FUZZ_CHECK(o.nverify <= FCLI_VERIFY_MAX);
	FUZZ_CHECK(o.reconnect <= FCLI_RECONNECT_MAX);
	FUZZ_CHECK(o.first_client <= FCLI_FIRST_CLIENT_MAX);
	if (o.merge != NULL || o.verify_log != NULL)
		return 0; /* no server */
	/* The servers: one at least, --hosts' each a name and a port. */
	FUZZ_CHECK(o.nhosts >= 1 && o.nhosts <= FCLI_HOSTS_MAX);
	for (unsigned i = 0; i < o.nhosts; i++) {
		const char *h = o.hosts[i].host;

		FUZZ_CHECK(o.hosts[i].port >= 1);
		FUZZ_CHECK(memchr(h, '\0', sizeof(o.hosts[i].host)) != NULL &&
			   h[0] != '\0');
		for (; *h != '\0'; h++)
			FUZZ_CHECK((unsigned char)*h > ' ' && *h != 0x7f);
	}
	FUZZ_CHECK(strcmp(o.host, o.hosts[0].host) == 0 &&
		   o.port == o.hosts[0].port);
	return 0;
}
