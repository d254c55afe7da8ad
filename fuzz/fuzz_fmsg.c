/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_fmsg.c - flood's message parser (bench/src/fmsg.h).
 *
 * Oracle: what fmsg_parse accepts is exactly what fmsg_format writes for
 * that client and sequence number at that size (one spelling per
 * message: no leading zeros, signs or other padding slip through).
 */
#include <string.h>

#include "fmsg.h"
#include "fuzz.h"

static char buf[1 << 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t client;
	uint64_t seq;

	if (size >= sizeof(buf))
		return 0;
	if (fmsg_parse((const char *)data, size, &client, &seq) != 0)
		return 0;
	FUZZ_CHECK(fmsg_format(buf, size + 1, client, seq) == 0);
	FUZZ_CHECK(memcmp(buf, data, size) == 0 && buf[size] == '\n');
	return 0;
}
