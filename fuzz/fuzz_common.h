/*
 * fuzz_common.h - what every fuzz harness shares.
 *
 * The prototype of the one entry point a harness defines (the engines and
 * replay_main.c call it), and small helpers for checking invariants. A
 * failed invariant prints what broke and calls abort(), which libFuzzer,
 * AFL++ and the replay driver all report as a crash.
 */
#ifndef TERN_FUZZ_COMMON_H
#define TERN_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_require(bool cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz invariant violated: %s\n", what);
		abort();
	}
}

/* Big-endian reads of harness-owned bytes (the harness checks the codec). */
static inline uint16_t fuzz_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static inline uint32_t fuzz_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void fuzz_put_be16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Is [p, p + n) inside [base, base + len)? */
static inline bool fuzz_inside(const uint8_t *base, size_t len, const uint8_t *p, size_t n)
{
	if (n == 0) {
		return true;
	}
	return p != NULL && p >= base && n <= len && (size_t)(p - base) <= len - n;
}

#endif /* TERN_FUZZ_COMMON_H */
