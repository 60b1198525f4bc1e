/* builder.c - STUN message builder into caller buffers; fails closed. */
#include "tern_codec.h"

#include <string.h>

/* Largest body a 16-bit Length field can describe, as a multiple of 4. */
#define MAX_BODY 65532u

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static int fail(struct tern_stun_builder *b, int err)
{
	if (b->err == TERN_OK)
		b->err = err;
	return b->err;
}

int tern_stun_build_start(struct tern_stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
                          const uint8_t *txid)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->err = TERN_OK;
	b->sealed = false;
	if (buf == NULL || txid == NULL || (type & 0xC000u) != 0)
		return fail(b, TERN_ERR_INVALID_ARG);
	if (cap < TERN_STUN_HEADER_LEN)
		return fail(b, TERN_ERR_NO_SPACE);
	memcpy(b->txid, txid, TERN_STUN_TXID_LEN);
	put16(buf, type);
	put16(buf + 2, 0);
	put32(buf + 4, TERN_STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid, TERN_STUN_TXID_LEN);
	b->len = TERN_STUN_HEADER_LEN;
	return TERN_OK;
}

int tern_stun_add_reserve(struct tern_stun_builder *b, uint16_t type, size_t len, uint8_t **value)
{
	size_t pad = (4u - len % 4u) % 4u;
	size_t need = 4 + len + pad;
	uint8_t *p;

	if (b->err != TERN_OK)
		return b->err;
	if (b->sealed || len > 0xFFFFu)
		return fail(b, TERN_ERR_INVALID_ARG);
	if (need > b->cap - b->len || need > MAX_BODY - (b->len - TERN_STUN_HEADER_LEN))
		return fail(b, TERN_ERR_NO_SPACE);
	p = b->buf + b->len;
	put16(p, type);
	put16(p + 2, (uint16_t)len);
	memset(p + 4 + len, 0, pad);
	b->len += need;
	put16(b->buf + 2, (uint16_t)(b->len - TERN_STUN_HEADER_LEN));
	*value = p + 4;
	return TERN_OK;
}

int tern_stun_add_raw(struct tern_stun_builder *b, uint16_t type, const void *value, size_t len)
{
	uint8_t *p;
	int err;

	if (len > 0 && value == NULL)
		return fail(b, TERN_ERR_INVALID_ARG);
	err = tern_stun_add_reserve(b, type, len, &p);
	if (err == TERN_OK && len > 0)
		memcpy(p, value, len);
	return err;
}

static int add_addr(struct tern_stun_builder *b, uint16_t type, const struct tern_addr *addr)
{
	size_t alen;
	uint8_t *p;
	int err;

	if (addr->family == TERN_AF_IPV4)
		alen = 4;
	else if (addr->family == TERN_AF_IPV6)
		alen = 16;
	else
		return fail(b, TERN_ERR_INVALID_ARG);
	err = tern_stun_add_reserve(b, type, 4 + alen, &p);
	if (err != TERN_OK)
		return err;
	p[0] = 0;
	p[1] = addr->family;
	put16(p + 2, addr->port);
	memcpy(p + 4, addr->addr, alen);
	return TERN_OK;
}

int tern_stun_add_address(struct tern_stun_builder *b, uint16_t type, const struct tern_addr *addr)
{
	return add_addr(b, type, addr);
}

int tern_stun_add_xor_address(struct tern_stun_builder *b, uint16_t type,
                              const struct tern_addr *addr)
{
	struct tern_addr x = *addr;

	tern_addr_xor(&x, b->txid);
	return add_addr(b, type, &x);
}

int tern_stun_add_string(struct tern_stun_builder *b, uint16_t type, const void *text, size_t len)
{
	if (len > TERN_STUN_MAX_STRING)
		return fail(b, TERN_ERR_INVALID_ARG);
	return tern_stun_add_raw(b, type, text, len);
}

int tern_stun_add_u32(struct tern_stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t w[4];

	put32(w, v);
	return tern_stun_add_raw(b, type, w, sizeof(w));
}

int tern_stun_add_u64(struct tern_stun_builder *b, uint16_t type, uint64_t v)
{
	uint8_t w[8];

	put32(w, (uint32_t)(v >> 32));
	put32(w + 4, (uint32_t)v);
	return tern_stun_add_raw(b, type, w, sizeof(w));
}

int tern_stun_add_u8(struct tern_stun_builder *b, uint16_t type, uint8_t v)
{
	uint8_t w[4] = {v, 0, 0, 0};

	return tern_stun_add_raw(b, type, w, sizeof(w));
}

int tern_stun_add_u16(struct tern_stun_builder *b, uint16_t type, uint16_t v)
{
	uint8_t w[4] = {0};

	put16(w, v);
	return tern_stun_add_raw(b, type, w, sizeof(w));
}

int tern_stun_add_even_port(struct tern_stun_builder *b, bool reserve)
{
	uint8_t v = reserve ? 0x80u : 0u;

	return tern_stun_add_raw(b, TERN_ATTR_EVEN_PORT, &v, 1);
}

static int add_code(struct tern_stun_builder *b, uint16_t type, uint8_t top, uint16_t code,
                    const char *reason, size_t reason_len)
{
	uint8_t *p;
	int err;

	if (code < 300 || code > 699)
		return fail(b, TERN_ERR_INVALID_ARG);
	if (reason == NULL) {
		reason = tern_stun_reason(code);
		reason_len = strlen(reason);
	}
	if (reason_len > TERN_STUN_MAX_REASON)
		return fail(b, TERN_ERR_INVALID_ARG);
	err = tern_stun_add_reserve(b, type, 4 + reason_len, &p);
	if (err != TERN_OK)
		return err;
	p[0] = top;
	p[1] = 0;
	p[2] = (uint8_t)(code / 100);
	p[3] = (uint8_t)(code % 100);
	if (reason_len > 0)
		memcpy(p + 4, reason, reason_len);
	return TERN_OK;
}

int tern_stun_add_error_code(struct tern_stun_builder *b, uint16_t code, const char *reason,
                             size_t reason_len)
{
	return add_code(b, TERN_ATTR_ERROR_CODE, 0, code, reason, reason_len);
}

int tern_stun_add_address_error_code(struct tern_stun_builder *b, uint8_t family, uint16_t code,
                                     const char *reason, size_t reason_len)
{
	if (family != TERN_AF_IPV4 && family != TERN_AF_IPV6)
		return fail(b, TERN_ERR_INVALID_ARG);
	return add_code(b, TERN_ATTR_ADDRESS_ERROR_CODE, family, code, reason, reason_len);
}

int tern_stun_add_unknown_attributes(struct tern_stun_builder *b, const uint16_t *types, size_t n)
{
	uint8_t *p;
	int err;

	if (n > 0xFFFFu / 2)
		return fail(b, TERN_ERR_INVALID_ARG);
	err = tern_stun_add_reserve(b, TERN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n, &p);
	for (size_t i = 0; err == TERN_OK && i < n; i++)
		put16(p + 2 * i, types[i]);
	return err;
}

static size_t alg_entry_len(const struct tern_password_alg_entry *e)
{
	return 4u + e->params_len + (4u - e->params_len % 4u) % 4u;
}

static void put_alg_entry(uint8_t *p, const struct tern_password_alg_entry *e)
{
	put16(p, e->alg);
	put16(p + 2, e->params_len);
	if (e->params_len > 0)
		memcpy(p + 4, e->params, e->params_len);
	memset(p + 4 + e->params_len, 0, alg_entry_len(e) - 4u - e->params_len);
}

int tern_stun_add_password_algorithm(struct tern_stun_builder *b,
                                     const struct tern_password_alg_entry *e)
{
	uint8_t *p;
	int err = tern_stun_add_reserve(b, TERN_ATTR_PASSWORD_ALGORITHM, alg_entry_len(e), &p);

	if (err == TERN_OK)
		put_alg_entry(p, e);
	return err;
}

int tern_stun_add_password_algorithms(struct tern_stun_builder *b,
                                      const struct tern_password_alg_entry *e, size_t n)
{
	size_t total = 0;
	uint8_t *p;
	int err;

	if (n == 0)
		return fail(b, TERN_ERR_INVALID_ARG);
	for (size_t i = 0; i < n; i++)
		total += alg_entry_len(&e[i]);
	err = tern_stun_add_reserve(b, TERN_ATTR_PASSWORD_ALGORITHMS, total, &p);
	for (size_t i = 0; err == TERN_OK && i < n; i++) {
		put_alg_entry(p, &e[i]);
		p += alg_entry_len(&e[i]);
	}
	return err;
}

int tern_stun_add_icmp(struct tern_stun_builder *b, const struct tern_icmp *icmp)
{
	uint8_t w[8] = {0, 0, icmp->type, icmp->code};

	put32(w + 4, icmp->error_data);
	return tern_stun_add_raw(b, TERN_ATTR_ICMP, w, sizeof(w));
}

int tern_stun_build_finish(const struct tern_stun_builder *b, size_t *len)
{
	if (b->err != TERN_OK)
		return b->err;
	*len = b->len;
	return TERN_OK;
}
