/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_wire.c - libFuzzer target for lessons/wire/wire's parser and
 * annotator: any bytes, split into lines, through wire_parse(), and the
 * packets that parse through wire_annotate() and wire_flags().
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -D_POSIX_C_SOURCE=200809L -Ilessons/wire -Iinclude \
 *       -o build/fuzz_wire fuzz/fuzz_wire.c lessons/wire/wire.c
 *   build/fuzz_wire -max_total_time=60 CORPUS tests/captures
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

/* As many packets as a capture the fuzzer builds can usefully hold: past
 * a few dozen the annotator only repeats itself. */
#define FUZZ_PKTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wire_pkt pkts[FUZZ_PKTS];
	static struct wire_note notes[FUZZ_PKTS];
	struct wire_summary sum;
	char line[4096], flags[12];
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= size && n < FUZZ_PKTS; i++) {
		size_t len;

		if (i < size && data[i] != '\n')
			continue;
		len = i - start < sizeof(line) - 1 ? i - start
						   : sizeof(line) - 1;
		memcpy(line, data + start, len);
		line[len] = '\0';
		start = i + 1;
		if (wire_parse(line, &pkts[n]) == 0)
			(void)wire_flags(&pkts[n++], flags, sizeof(flags));
	}
	wire_annotate(pkts, n, notes, &sum);
	return 0;
}
