/* reader.c - the bounds-checked reader every decoder goes through. */
#include "reader.h"

#include <string.h>

void tern_reader_init(struct tern_reader *r, const uint8_t *base, size_t len)
{
	r->base = base;
	r->len = base ? len : 0;
	r->pos = 0;
}

size_t tern_reader_remaining(const struct tern_reader *r)
{
	return r->len - r->pos;
}

bool tern_reader_done(const struct tern_reader *r)
{
	return r->pos == r->len;
}

int tern_reader_bytes(struct tern_reader *r, size_t n, const uint8_t **out)
{
	if (n > tern_reader_remaining(r))
		return TERN_ERR_TRUNCATED;
	*out = r->base + r->pos;
	r->pos += n;
	return TERN_OK;
}

int tern_reader_skip(struct tern_reader *r, size_t n)
{
	const uint8_t *unused;

	return tern_reader_bytes(r, n, &unused);
}

int tern_reader_copy(struct tern_reader *r, size_t n, uint8_t *out)
{
	const uint8_t *p;
	int err = tern_reader_bytes(r, n, &p);

	if (err == TERN_OK && n > 0)
		memcpy(out, p, n);
	return err;
}

int tern_reader_sub(struct tern_reader *r, size_t n, struct tern_reader *sub)
{
	const uint8_t *p;
	int err = tern_reader_bytes(r, n, &p);

	if (err == TERN_OK)
		tern_reader_init(sub, p, n);
	return err;
}

/* Big-endian integer of n <= 8 bytes. */
static int read_be(struct tern_reader *r, size_t n, uint64_t *out)
{
	const uint8_t *p;
	uint64_t v = 0;
	int err = tern_reader_bytes(r, n, &p);

	if (err != TERN_OK)
		return err;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	*out = v;
	return TERN_OK;
}

int tern_reader_u8(struct tern_reader *r, uint8_t *out)
{
	uint64_t v;
	int err = read_be(r, 1, &v);

	if (err == TERN_OK)
		*out = (uint8_t)v;
	return err;
}

int tern_reader_u16(struct tern_reader *r, uint16_t *out)
{
	uint64_t v;
	int err = read_be(r, 2, &v);

	if (err == TERN_OK)
		*out = (uint16_t)v;
	return err;
}

int tern_reader_u32(struct tern_reader *r, uint32_t *out)
{
	uint64_t v;
	int err = read_be(r, 4, &v);

	if (err == TERN_OK)
		*out = (uint32_t)v;
	return err;
}

int tern_reader_u64(struct tern_reader *r, uint64_t *out)
{
	return read_be(r, 8, out);
}
