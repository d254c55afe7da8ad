/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * swar.h - "SIMD within a register": test eight bytes at once.
 *
 * The hot loops of framing and escaping look at every byte a client
 * sends.  Most words hold nothing special (no terminator, nothing to
 * escape), so testing a whole 64-bit word and falling back to bytes only
 * when it does hold something makes those loops several times faster in
 * portable C.  The tricks are the classic ones ("Determine if a word has
 * a byte less than n", Bit Twiddling Hacks): each answers exactly whether
 * any byte of the word qualifies, not which one.
 *
 * Pure inline functions; any thread.
 */
#ifndef SWAR_H
#define SWAR_H

#include <stdint.h>
#include <string.h>

#define SWAR_ONES  0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL

/* Eight bytes from any address (memcpy: no alignment assumed). */
static inline uint64_t swar_load(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Non-zero when some byte of v is below n (n <= 128). */
static inline uint64_t swar_has_less(uint64_t v, unsigned n)
{
	return (v - SWAR_ONES * n) & ~v & SWAR_HIGHS;
}

/* Non-zero when some byte of v equals b. */
static inline uint64_t swar_has_byte(uint64_t v, unsigned char b)
{
	return swar_has_less(v ^ (SWAR_ONES * b), 1);
}

#endif
