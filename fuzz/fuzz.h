/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz.h - what the libFuzzer targets share: the entry point's
 * declaration and a check that aborts (so libFuzzer reports the input)
 * when an oracle disagrees.
 *
 * Each target is fuzz/fuzz_NAME.c, built by `make fuzz` with
 * clang -fsanitize=fuzzer,address,undefined against the project's own
 * sources, and run from its seed corpus fuzz/corpus/NAME/.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: oracle failed: %s\n",          \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
