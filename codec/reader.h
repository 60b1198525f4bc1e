/*
 * reader.h - the codec's one bounds-checked reader (internal to codec/).
 *
 * All parsing of untrusted bytes goes through it: no other code indexes
 * input, casts it to wider pointers or calls ntohs/memcpy on it. A read
 * returns TERN_OK and writes its out-parameter, or returns
 * TERN_ERR_TRUNCATED and changes nothing: the position never moves on a
 * failed read. Lengths are compared by subtraction against what remains.
 */
#ifndef TERN_READER_H
#define TERN_READER_H

#include "tern_codec.h"

struct tern_reader {
	const uint8_t *base;
	size_t len;
	size_t pos;
};

void tern_reader_init(struct tern_reader *r, const uint8_t *base, size_t len);
size_t tern_reader_remaining(const struct tern_reader *r);
bool tern_reader_done(const struct tern_reader *r);
TERN_WUR int tern_reader_u8(struct tern_reader *r, uint8_t *out);
TERN_WUR int tern_reader_u16(struct tern_reader *r, uint16_t *out);
TERN_WUR int tern_reader_u32(struct tern_reader *r, uint32_t *out);
TERN_WUR int tern_reader_u64(struct tern_reader *r, uint64_t *out);
/* A view of the next n bytes; the position moves past them. */
TERN_WUR int tern_reader_bytes(struct tern_reader *r, size_t n, const uint8_t **out);
/* Copy the next n bytes into out. */
TERN_WUR int tern_reader_copy(struct tern_reader *r, size_t n, uint8_t *out);
TERN_WUR int tern_reader_skip(struct tern_reader *r, size_t n);
/* A sub-reader over exactly the next n bytes; the parent moves past them. */
TERN_WUR int tern_reader_sub(struct tern_reader *r, size_t n, struct tern_reader *sub);

#endif /* TERN_READER_H */
