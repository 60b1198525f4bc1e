/* attr.c - typed decoders for every attribute kind (RFC 8489 §14, RFC 8656 §18). */
#include "reader.h"

static size_t family_addr_len(uint8_t family)
{
	if (family == TERN_AF_IPV4)
		return 4;
	if (family == TERN_AF_IPV6)
		return 16;
	return 0;
}

/*
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0 0 0 0 0 0 0|    Family     |         (X-)Port              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             (X-)Address (32 bits or 128 bits)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * RFC 8489 §14.1/§14.2: the first byte is ignored on receipt.
 */
int tern_attr_get_address(const struct tern_attr *a, struct tern_addr *out)
{
	struct tern_reader r;
	struct tern_addr v = {0};
	uint8_t reserved;
	size_t alen;

	tern_reader_init(&r, a->value, a->len);
	if (tern_reader_u8(&r, &reserved) || tern_reader_u8(&r, &v.family) ||
	    tern_reader_u16(&r, &v.port))
		return TERN_ERR_MALFORMED;
	alen = family_addr_len(v.family);
	if (alen == 0 || tern_reader_remaining(&r) != alen)
		return TERN_ERR_MALFORMED;
	if (tern_reader_copy(&r, alen, v.addr))
		return TERN_ERR_MALFORMED;
	*out = v;
	return TERN_OK;
}

/* RFC 8489 §14.2: port XOR the cookie's top half, address XOR cookie||txid. */
void tern_addr_xor(struct tern_addr *addr, const uint8_t *txid)
{
	uint8_t mask[16] = {0x21, 0x12, 0xA4, 0x42};

	for (size_t i = 0; i < TERN_STUN_TXID_LEN; i++)
		mask[4 + i] = txid[i];
	addr->port ^= (uint16_t)(TERN_STUN_MAGIC_COOKIE >> 16);
	for (size_t i = 0; i < family_addr_len(addr->family); i++)
		addr->addr[i] ^= mask[i];
}

int tern_attr_get_xor_address(const struct tern_attr *a, const uint8_t *txid, struct tern_addr *out)
{
	struct tern_addr v;
	int err = tern_attr_get_address(a, &v);

	if (err != TERN_OK)
		return err;
	tern_addr_xor(&v, txid);
	*out = v;
	return TERN_OK;
}

/* Length of the UTF-8 sequence led by b, with the range of its second byte. */
static size_t utf8_lead(uint8_t b, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b >= 0xE0 && b <= 0xEF) {
		*lo = b == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
		*hi = b == 0xED ? 0x9F : 0xBF; /* no surrogates */
		return 3;
	}
	if (b >= 0xF0 && b <= 0xF4) {
		*lo = b == 0xF0 ? 0x90 : 0x80;
		*hi = b == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
		return 4;
	}
	return 0;
}

/* RFC 3629 §4 well-formed UTF-8. */
static bool utf8_valid(const uint8_t *text, size_t len)
{
	struct tern_reader r;
	uint8_t b, lo, hi;

	tern_reader_init(&r, text, len);
	while (tern_reader_u8(&r, &b) == TERN_OK) {
		size_t n = utf8_lead(b, &lo, &hi);

		if (n == 0)
			return false;
		for (size_t i = 1; i < n; i++) {
			if (tern_reader_u8(&r, &b) != TERN_OK || b < lo || b > hi)
				return false;
			lo = 0x80;
			hi = 0xBF;
		}
	}
	return true;
}

int tern_attr_get_string(const struct tern_attr *a, const uint8_t **text, size_t *len)
{
	if (a->len > TERN_STUN_MAX_STRING || !utf8_valid(a->value, a->len))
		return TERN_ERR_MALFORMED;
	*text = a->value;
	*len = a->len;
	return TERN_OK;
}

int tern_attr_get_u32(const struct tern_attr *a, uint32_t *out)
{
	struct tern_reader r;

	tern_reader_init(&r, a->value, a->len);
	if (a->len != 4 || tern_reader_u32(&r, out))
		return TERN_ERR_MALFORMED;
	return TERN_OK;
}

int tern_attr_get_u64(const struct tern_attr *a, uint64_t *out)
{
	struct tern_reader r;

	tern_reader_init(&r, a->value, a->len);
	if (a->len != 8 || tern_reader_u64(&r, out))
		return TERN_ERR_MALFORMED;
	return TERN_OK;
}

/* REQUESTED-TRANSPORT, (ADDITIONAL-|REQUESTED-)ADDRESS-FAMILY: 1 byte + RFFU. */
int tern_attr_get_u8(const struct tern_attr *a, uint8_t *out)
{
	struct tern_reader r;

	tern_reader_init(&r, a->value, a->len);
	if (a->len != 4 || tern_reader_u8(&r, out))
		return TERN_ERR_MALFORMED;
	return TERN_OK;
}

/* CHANNEL-NUMBER, RESPONSE-PORT: 16 bits + 16 reserved bits. */
int tern_attr_get_u16(const struct tern_attr *a, uint16_t *out)
{
	struct tern_reader r;

	tern_reader_init(&r, a->value, a->len);
	if (a->len != 4 || tern_reader_u16(&r, out))
		return TERN_ERR_MALFORMED;
	return TERN_OK;
}

/* EVEN-PORT (RFC 8656 §18.8): |R|    RFFU    |, one byte. */
int tern_attr_get_even_port(const struct tern_attr *a, bool *reserve)
{
	struct tern_reader r;
	uint8_t v;

	tern_reader_init(&r, a->value, a->len);
	if (a->len != 1 || tern_reader_u8(&r, &v))
		return TERN_ERR_MALFORMED;
	*reserve = (v & 0x80u) != 0;
	return TERN_OK;
}

/* Class and number from the low 11 bits of the first word (RFC 8489 §14.8). */
static int read_code(struct tern_reader *r, uint8_t *top, struct tern_error_code *out)
{
	uint32_t word;
	unsigned cls, number;
	const uint8_t *reason;
	size_t reason_len = 0;

	if (tern_reader_u32(r, &word))
		return TERN_ERR_MALFORMED;
	cls = (word >> 8) & 7u;
	number = word & 0xFFu;
	if (cls < 3 || cls > 6 || number > 99)
		return TERN_ERR_MALFORMED;
	reason_len = tern_reader_remaining(r);
	if (reason_len > TERN_STUN_MAX_REASON || tern_reader_bytes(r, reason_len, &reason) ||
	    !utf8_valid(reason, reason_len))
		return TERN_ERR_MALFORMED;
	*top = (uint8_t)(word >> 24);
	out->code = (uint16_t)(cls * 100 + number);
	out->reason = reason;
	out->reason_len = reason_len;
	return TERN_OK;
}

/*
 * |           Reserved, should be 0         |Class|     Number    |
 * |      Reason Phrase (variable)                                ..
 */
int tern_attr_get_error_code(const struct tern_attr *a, struct tern_error_code *out)
{
	struct tern_reader r;
	uint8_t top;

	tern_reader_init(&r, a->value, a->len);
	return read_code(&r, &top, out);
}

/*
 * |  Family       |    Reserved             |Class|     Number    |
 * |      Reason Phrase (variable)                                ..
 */
int tern_attr_get_address_error_code(const struct tern_attr *a, uint8_t *family,
                                     struct tern_error_code *out)
{
	struct tern_reader r;
	struct tern_error_code v;
	uint8_t fam;

	tern_reader_init(&r, a->value, a->len);
	if (read_code(&r, &fam, &v) || family_addr_len(fam) == 0)
		return TERN_ERR_MALFORMED;
	*family = fam;
	*out = v;
	return TERN_OK;
}

/* |      Attribute 1 Type         |       Attribute 2 Type        | ... */
int tern_attr_get_unknown_attributes(const struct tern_attr *a, uint16_t *types, size_t cap,
                                     size_t *n)
{
	struct tern_reader r;
	size_t count = 0;
	uint16_t t;

	if (a->len % 2 != 0)
		return TERN_ERR_MALFORMED;
	tern_reader_init(&r, a->value, a->len);
	while (tern_reader_u16(&r, &t) == TERN_OK) {
		if (count < cap)
			types[count] = t;
		count++;
	}
	*n = count;
	return TERN_OK;
}

/*
 * |          Algorithm           |  Algorithm Parameters Length   |
 * |                    Algorithm Parameters (variable)             ..
 * Parameters are padded to 4 like an attribute (RFC 8489 §14.11, §14.12),
 * in every entry, the last one included, so the value re-encodes exactly.
 */
static int read_alg(struct tern_reader *r, struct tern_password_alg_entry *e)
{
	size_t pad;

	if (tern_reader_u16(r, &e->alg) || tern_reader_u16(r, &e->params_len) ||
	    tern_reader_bytes(r, e->params_len, &e->params))
		return TERN_ERR_MALFORMED;
	pad = (4u - e->params_len % 4u) % 4u;
	if (tern_reader_skip(r, pad))
		return TERN_ERR_MALFORMED;
	return TERN_OK;
}

int tern_attr_get_password_algorithm(const struct tern_attr *a, struct tern_password_alg_entry *out)
{
	struct tern_reader r;
	struct tern_password_alg_entry e;

	tern_reader_init(&r, a->value, a->len);
	if (read_alg(&r, &e) || !tern_reader_done(&r))
		return TERN_ERR_MALFORMED;
	*out = e;
	return TERN_OK;
}

int tern_attr_get_password_algorithms(const struct tern_attr *a,
                                      struct tern_password_alg_entry *out, size_t cap, size_t *n)
{
	struct tern_reader r;
	struct tern_password_alg_entry e;
	size_t count = 0;

	tern_reader_init(&r, a->value, a->len);
	if (tern_reader_done(&r))
		return TERN_ERR_MALFORMED;
	while (!tern_reader_done(&r)) {
		if (read_alg(&r, &e))
			return TERN_ERR_MALFORMED;
		if (count < cap)
			out[count] = e;
		count++;
	}
	*n = count;
	return TERN_OK;
}

/*
 * |           Reserved            |  ICMP Type  |  ICMP Code      |
 * |                          Error Data                           |
 */
int tern_attr_get_icmp(const struct tern_attr *a, struct tern_icmp *out)
{
	struct tern_reader r;
	struct tern_icmp v;
	uint16_t reserved;

	tern_reader_init(&r, a->value, a->len);
	if (a->len != 8 || tern_reader_u16(&r, &reserved) || tern_reader_u8(&r, &v.type) ||
	    tern_reader_u8(&r, &v.code) || tern_reader_u32(&r, &v.error_data))
		return TERN_ERR_MALFORMED;
	*out = v;
	return TERN_OK;
}

static int validate_fixed(const struct tern_attr *a, size_t len)
{
	return a->len == len ? TERN_OK : TERN_ERR_MALFORMED;
}

static int validate_structured(const struct tern_attr *a, enum tern_attr_kind kind)
{
	struct tern_error_code ec;
	struct tern_password_alg_entry e;
	struct tern_icmp icmp;
	size_t n;
	uint8_t fam;

	switch (kind) {
	case TERN_KIND_ERROR_CODE:
		return tern_attr_get_error_code(a, &ec);
	case TERN_KIND_ADDRESS_ERROR_CODE:
		return tern_attr_get_address_error_code(a, &fam, &ec);
	case TERN_KIND_UNKNOWN_ATTRIBUTES:
		return tern_attr_get_unknown_attributes(a, NULL, 0, &n);
	case TERN_KIND_PASSWORD_ALGORITHM:
		return tern_attr_get_password_algorithm(a, &e);
	case TERN_KIND_PASSWORD_ALGORITHMS:
		return tern_attr_get_password_algorithms(a, NULL, 0, &n);
	default:
		return tern_attr_get_icmp(a, &icmp);
	}
}

int tern_attr_validate(const struct tern_attr *a)
{
	enum tern_attr_kind kind = tern_attr_kind_of(a->type);
	struct tern_addr addr;
	const uint8_t *text;
	size_t text_len;

	switch (kind) {
	case TERN_KIND_UNKNOWN:
	case TERN_KIND_BYTES:
		return TERN_OK;
	case TERN_KIND_ADDRESS:
	case TERN_KIND_XOR_ADDRESS:
		return tern_attr_get_address(a, &addr);
	case TERN_KIND_STRING:
		return tern_attr_get_string(a, &text, &text_len);
	case TERN_KIND_EMPTY:
		return validate_fixed(a, 0);
	case TERN_KIND_EVEN_PORT:
		return validate_fixed(a, 1);
	case TERN_KIND_U8_RSVD3:
	case TERN_KIND_U16_RSVD2:
	case TERN_KIND_U32:
	case TERN_KIND_FINGERPRINT:
		return validate_fixed(a, 4);
	case TERN_KIND_U64:
		return validate_fixed(a, 8);
	case TERN_KIND_MESSAGE_INTEGRITY:
		return validate_fixed(a, 20);
	case TERN_KIND_USERHASH:
		return validate_fixed(a, 32);
	case TERN_KIND_MESSAGE_INTEGRITY_SHA256:
		/* RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4. */
		return (a->len >= 16 && a->len <= 32 && a->len % 4 == 0) ? TERN_OK
		                                                         : TERN_ERR_MALFORMED;
	case TERN_KIND_ERROR_CODE:
	case TERN_KIND_ADDRESS_ERROR_CODE:
	case TERN_KIND_UNKNOWN_ATTRIBUTES:
	case TERN_KIND_PASSWORD_ALGORITHM:
	case TERN_KIND_PASSWORD_ALGORITHMS:
	case TERN_KIND_ICMP:
		return validate_structured(a, kind);
	}
	return TERN_ERR_MALFORMED;
}
