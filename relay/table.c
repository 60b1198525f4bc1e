/*
 * table.c - fixed-capacity open-addressing hash tables and the keyed hash
 * they use. Keys an attacker chooses (source ports, usernames) go through
 * SipHash-1-3 keyed with process entropy, so nobody can aim collisions.
 */
#include "internal.h"

#include <string.h>

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64u - b));
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* SipHash-1-3 with the 128-bit key (seed, ~seed * golden ratio). */
uint64_t tern_rl_hash(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t k1 = ~seed * 0x9E3779B97F4A7C15ull;
	uint64_t v[4] = {seed ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
	                 seed ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
	size_t whole = len - len % 8;
	uint64_t m;

	for (size_t i = 0; i < whole; i += 8) {
		m = load_le(p + i, 8);
		v[3] ^= m;
		sip_round(v);
		v[0] ^= m;
	}
	m = load_le(p + whole, len % 8) | ((uint64_t)(len & 0xFF) << 56);
	v[3] ^= m;
	sip_round(v);
	v[0] ^= m;
	v[2] ^= 0xFF;
	sip_round(v);
	sip_round(v);
	sip_round(v);
	m = v[0] ^ v[1] ^ v[2] ^ v[3];
	return m ? m : 1; /* 0 marks an empty slot */
}

int tern_rl_table_init(struct tern_relay *r, struct relay_table *t, size_t max_items)
{
	size_t cap = 16;

	while (cap < 2 * max_items)
		cap *= 2;
	t->hashes = r->hooks.alloc(r->hooks.ctx, cap * sizeof(*t->hashes));
	t->items = r->hooks.alloc(r->hooks.ctx, cap * sizeof(*t->items));
	t->mask = cap - 1;
	t->count = 0;
	if (t->hashes == NULL || t->items == NULL) {
		tern_rl_table_free(r, t);
		return TERN_ERR_NOMEM;
	}
	memset(t->hashes, 0, cap * sizeof(*t->hashes));
	memset(t->items, 0, cap * sizeof(*t->items));
	return TERN_OK;
}

void tern_rl_table_free(struct tern_relay *r, struct relay_table *t)
{
	r->hooks.free(r->hooks.ctx, t->hashes);
	r->hooks.free(r->hooks.ctx, t->items);
	t->hashes = NULL;
	t->items = NULL;
	t->count = 0;
}

void *tern_rl_table_find(const struct relay_table *t, uint64_t hash,
                         bool (*match)(const void *item, const void *key), const void *key)
{
	for (size_t i = hash & t->mask; t->hashes[i] != 0; i = (i + 1) & t->mask)
		if (t->hashes[i] == hash && match(t->items[i], key))
			return t->items[i];
	return NULL;
}

void tern_rl_table_insert(struct relay_table *t, uint64_t hash, void *item)
{
	size_t i = hash & t->mask;

	while (t->hashes[i] != 0)
		i = (i + 1) & t->mask;
	t->hashes[i] = hash;
	t->items[i] = item;
	t->count++;
}

/* Backward-shift deletion keeps every probe run unbroken. */
void tern_rl_table_remove(struct relay_table *t, uint64_t hash, const void *item)
{
	size_t i = hash & t->mask;

	while (t->hashes[i] != 0 && t->items[i] != item)
		i = (i + 1) & t->mask;
	if (t->hashes[i] == 0)
		return;
	for (size_t j = (i + 1) & t->mask; t->hashes[j] != 0; j = (j + 1) & t->mask) {
		size_t home = t->hashes[j] & t->mask;

		/* move j back to i unless its home lies cyclically in (i, j] */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->hashes[i] = t->hashes[j];
			t->items[i] = t->items[j];
			i = j;
		}
	}
	t->hashes[i] = 0;
	t->items[i] = NULL;
	t->count--;
}
