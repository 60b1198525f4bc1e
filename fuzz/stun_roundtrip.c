/*
 * stun_roundtrip.c - fuzz target for decode -> encode -> decode.
 *
 * Targets: tern_stun_parse, the typed getters, the builder
 * (tern_stun_build_start, tern_stun_add_raw, _address, _xor_address,
 * _string, _u8, _u16, _u32, _u64, _even_port, _error_code,
 * _address_error_code, _unknown_attributes, _password_algorithm,
 * _password_algorithms, _icmp, _integrity, _integrity_sha256, _fingerprint,
 * tern_stun_build_finish), tern_stun_check_integrity(_sha256),
 * tern_stun_check_fingerprint.
 *
 * Every message that parses is rebuilt with the same type and transaction
 * id: each listed attribute through its typed getter and typed add where a
 * typed form exists, raw otherwise. MESSAGE-INTEGRITY(-SHA256) and
 * FINGERPRINT cover bytes the rebuild may change (padding and reserved bits
 * become zero, ignored attributes after MESSAGE-INTEGRITY are dropped), so
 * they are rebuilt twice: copied raw, and recomputed with a fixed key.
 * Invariants (abort on violation):
 *  - the rebuild succeeds, is no longer than the input, and parses;
 *  - the second parse has the same type, txid, unknown[] and attribute
 *    list (types, lengths; values byte for byte where the kind has no
 *    reserved bits or padding inside the value, and MACs when copied);
 *  - rebuilding the second parse gives the same bytes again (so every
 *    typed value survived the trip);
 *  - recomputed MACs and FINGERPRINT verify;
 *  - into a buffer of fuzz-chosen capacity the rebuild either succeeds with
 *    identical bytes or fails with TERN_ERR_NO_SPACE (INVALID_ARG below a
 *    header), never writes past the capacity, and a failed builder stays
 *    failed.
 */
#include <string.h>

#include "fuzz_common.h"
#include "tern_codec.h"

#define ALG_CAP 512u

static const uint8_t fuzz_key[] = "tern-fuzz-roundtrip-key";

enum mac_mode {
	MAC_COPY,
	MAC_RECOMPUTE,
};

static void need_ok(int rc, const char *what)
{
	fuzz_require(rc == TERN_OK, what);
}

static int add_scalar(struct tern_stun_builder *b, const struct tern_stun_msg *m,
                      const struct tern_attr *a, enum tern_attr_kind kind)
{
	struct tern_addr addr;
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;
	bool reserve;

	switch (kind) {
	case TERN_KIND_ADDRESS:
		need_ok(tern_attr_get_address(a, &addr), "get_address on a parsed attribute");
		return tern_stun_add_address(b, a->type, &addr);
	case TERN_KIND_XOR_ADDRESS:
		need_ok(tern_attr_get_xor_address(a, m->txid, &addr), "get_xor_address");
		return tern_stun_add_xor_address(b, a->type, &addr);
	case TERN_KIND_U8_RSVD3:
		need_ok(tern_attr_get_u8(a, &u8), "get_u8 on a parsed attribute");
		return tern_stun_add_u8(b, a->type, u8);
	case TERN_KIND_EVEN_PORT:
		need_ok(tern_attr_get_even_port(a, &reserve), "get_even_port");
		fuzz_require(a->type == TERN_ATTR_EVEN_PORT, "EVEN-PORT kind has one type");
		return tern_stun_add_even_port(b, reserve);
	case TERN_KIND_U16_RSVD2:
		need_ok(tern_attr_get_u16(a, &u16), "get_u16 on a parsed attribute");
		return tern_stun_add_u16(b, a->type, u16);
	case TERN_KIND_U32:
		need_ok(tern_attr_get_u32(a, &u32), "get_u32 on a parsed attribute");
		return tern_stun_add_u32(b, a->type, u32);
	case TERN_KIND_U64:
		need_ok(tern_attr_get_u64(a, &u64), "get_u64 on a parsed attribute");
		return tern_stun_add_u64(b, a->type, u64);
	default:
		break;
	}
	fuzz_require(false, "add_scalar called for a non-scalar kind");
	return TERN_ERR_INVALID_ARG;
}

static int add_error_codes(struct tern_stun_builder *b, const struct tern_attr *a,
                           enum tern_attr_kind kind)
{
	struct tern_error_code ec;
	const char *reason;
	uint8_t family;

	if (kind == TERN_KIND_ERROR_CODE) {
		need_ok(tern_attr_get_error_code(a, &ec), "get_error_code on a parsed attribute");
	} else {
		need_ok(tern_attr_get_address_error_code(a, &family, &ec),
		        "get_address_error_code on a parsed attribute");
	}
	/* An empty phrase stays empty: NULL would ask for the standard one. */
	reason = ec.reason_len > 0 ? (const char *)ec.reason : "";
	if (kind == TERN_KIND_ERROR_CODE) {
		return tern_stun_add_error_code(b, ec.code, reason, ec.reason_len);
	}
	return tern_stun_add_address_error_code(b, family, ec.code, reason, ec.reason_len);
}

static int add_lists(struct tern_stun_builder *b, const struct tern_attr *a,
                     enum tern_attr_kind kind)
{
	uint16_t types[32768];
	struct tern_password_alg_entry algs[ALG_CAP];
	size_t n = 0;

	if (kind == TERN_KIND_UNKNOWN_ATTRIBUTES) {
		need_ok(tern_attr_get_unknown_attributes(a, types, 32768, &n),
		        "get_unknown_attributes on a parsed attribute");
		fuzz_require(n <= 32768, "UNKNOWN-ATTRIBUTES count");
		return tern_stun_add_unknown_attributes(b, types, n);
	}
	if (kind == TERN_KIND_PASSWORD_ALGORITHM) {
		need_ok(tern_attr_get_password_algorithm(a, &algs[0]),
		        "get_password_algorithm on a parsed attribute");
		return tern_stun_add_password_algorithm(b, &algs[0]);
	}
	need_ok(tern_attr_get_password_algorithms(a, algs, ALG_CAP, &n),
	        "get_password_algorithms on a parsed attribute");
	if (n > ALG_CAP) {
		return tern_stun_add_raw(b, a->type, a->value, a->len);
	}
	return tern_stun_add_password_algorithms(b, algs, n);
}

static int add_mac(struct tern_stun_builder *b, const struct tern_attr *a, enum tern_attr_kind kind,
                   enum mac_mode mode)
{
	if (mode == MAC_COPY) {
		return tern_stun_add_raw(b, a->type, a->value, a->len);
	}
	if (kind == TERN_KIND_MESSAGE_INTEGRITY) {
		return tern_stun_add_integrity(b, fuzz_key, sizeof(fuzz_key) - 1);
	}
	if (kind == TERN_KIND_MESSAGE_INTEGRITY_SHA256) {
		return tern_stun_add_integrity_sha256(b, fuzz_key, sizeof(fuzz_key) - 1, a->len);
	}
	return tern_stun_add_fingerprint(b);
}

static int add_attr(struct tern_stun_builder *b, const struct tern_stun_msg *m,
                    const struct tern_attr *a, enum mac_mode mode)
{
	enum tern_attr_kind kind = tern_attr_kind_of(a->type);
	struct tern_icmp icmp;
	const uint8_t *text;
	size_t n;

	switch (kind) {
	case TERN_KIND_UNKNOWN:
	case TERN_KIND_BYTES:
	case TERN_KIND_EMPTY:
	case TERN_KIND_USERHASH:
		return tern_stun_add_raw(b, a->type, a->value, a->len);
	case TERN_KIND_ADDRESS:
	case TERN_KIND_XOR_ADDRESS:
	case TERN_KIND_U8_RSVD3:
	case TERN_KIND_EVEN_PORT:
	case TERN_KIND_U16_RSVD2:
	case TERN_KIND_U32:
	case TERN_KIND_U64:
		return add_scalar(b, m, a, kind);
	case TERN_KIND_STRING:
		need_ok(tern_attr_get_string(a, &text, &n), "get_string on a parsed attribute");
		return tern_stun_add_string(b, a->type, text, n);
	case TERN_KIND_ERROR_CODE:
	case TERN_KIND_ADDRESS_ERROR_CODE:
		return add_error_codes(b, a, kind);
	case TERN_KIND_UNKNOWN_ATTRIBUTES:
	case TERN_KIND_PASSWORD_ALGORITHM:
	case TERN_KIND_PASSWORD_ALGORITHMS:
		return add_lists(b, a, kind);
	case TERN_KIND_ICMP:
		need_ok(tern_attr_get_icmp(a, &icmp), "get_icmp on a parsed attribute");
		return tern_stun_add_icmp(b, &icmp);
	case TERN_KIND_MESSAGE_INTEGRITY:
	case TERN_KIND_MESSAGE_INTEGRITY_SHA256:
	case TERN_KIND_FINGERPRINT:
		return add_mac(b, a, kind, mode);
	}
	return TERN_ERR_INVALID_ARG;
}

/* Rebuild m into buf[cap]; the builder's first error, or TERN_OK and *len. */
static int rebuild(const struct tern_stun_msg *m, enum mac_mode mode, uint8_t *buf, size_t cap,
                   size_t *len)
{
	struct tern_stun_builder b;
	size_t ignored;
	int rc = tern_stun_build_start(&b, buf, cap, m->type, m->txid);

	if (rc != TERN_OK) {
		return rc;
	}
	for (size_t i = 0; i < m->nattrs; i++) {
		rc = add_attr(&b, m, &m->attrs[i], mode);
		if (rc == TERN_OK) {
			continue;
		}
		fuzz_require(tern_stun_build_finish(&b, &ignored) == rc,
		             "build_finish reports the first add error");
		fuzz_require(tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, 0) != TERN_OK,
		             "a failed builder accepts a later add");
		fuzz_require(tern_stun_build_finish(&b, &ignored) == rc,
		             "a later add replaced the builder's first error");
		return rc;
	}
	return tern_stun_build_finish(&b, len);
}

/* Kinds whose value bytes are all meaningful (no reserved bits, no padding). */
static bool value_is_exact(enum tern_attr_kind kind, enum mac_mode mode)
{
	switch (kind) {
	case TERN_KIND_UNKNOWN:
	case TERN_KIND_BYTES:
	case TERN_KIND_EMPTY:
	case TERN_KIND_USERHASH:
	case TERN_KIND_STRING:
	case TERN_KIND_U32:
	case TERN_KIND_U64:
		return true;
	case TERN_KIND_MESSAGE_INTEGRITY:
	case TERN_KIND_MESSAGE_INTEGRITY_SHA256:
	case TERN_KIND_FINGERPRINT:
		return mode == MAC_COPY;
	default:
		return false;
	}
}

static void compare_msgs(const struct tern_stun_msg *m1, const struct tern_stun_msg *m2,
                         enum mac_mode mode)
{
	fuzz_require(m1->type == m2->type, "round trip changed the type");
	fuzz_require(memcmp(m1->txid, m2->txid, TERN_STUN_TXID_LEN) == 0, "txid changed");
	fuzz_require(m1->nattrs == m2->nattrs, "round trip changed the attribute count");
	fuzz_require(m1->mi_index == m2->mi_index && m1->mi256_index == m2->mi256_index &&
	                 m1->fp_index == m2->fp_index,
	             "round trip moved MESSAGE-INTEGRITY(-SHA256)/FINGERPRINT");
	fuzz_require(m1->nunknown == m2->nunknown &&
	                 memcmp(m1->unknown, m2->unknown, m1->nunknown * sizeof(uint16_t)) == 0,
	             "round trip changed unknown[]");
	for (size_t i = 0; i < m1->nattrs; i++) {
		const struct tern_attr *a = &m1->attrs[i], *c = &m2->attrs[i];

		fuzz_require(a->type == c->type, "round trip changed an attribute type");
		fuzz_require(a->len == c->len, "round trip changed an attribute length");
		if (a->len > 0 && value_is_exact(tern_attr_kind_of(a->type), mode)) {
			fuzz_require(memcmp(a->value, c->value, a->len) == 0,
			             "round trip changed an attribute value");
		}
	}
}

static void check_recomputed_macs(const struct tern_stun_msg *m)
{
	size_t klen = sizeof(fuzz_key) - 1;

	if (m->mi_index >= 0) {
		need_ok(tern_stun_check_integrity(m, fuzz_key, klen), "rebuilt MI does not verify");
	}
	if (m->mi256_index >= 0) {
		need_ok(tern_stun_check_integrity_sha256(m, fuzz_key, klen),
		        "rebuilt MI-SHA256 does not verify");
	}
	if (m->fp_index >= 0) {
		need_ok(tern_stun_check_fingerprint(m), "rebuilt FINGERPRINT does not verify");
	}
}

/* Rebuild into exactly cap bytes (plus a guard zone that must stay intact). */
static void check_capacity(const struct tern_stun_msg *m, enum mac_mode mode, const uint8_t *want,
                           size_t want_len, size_t cap)
{
	const size_t guard = 16;
	uint8_t *buf = malloc(cap + guard);
	size_t len = 0;
	int rc;

	fuzz_require(buf != NULL, "malloc");
	memset(buf, 0xA5, cap + guard);
	rc = rebuild(m, mode, buf, cap, &len);
	if (cap >= want_len) {
		fuzz_require(rc == TERN_OK && len == want_len && memcmp(buf, want, len) == 0,
		             "rebuild with enough capacity differs");
	} else {
		fuzz_require(rc == TERN_ERR_NO_SPACE ||
		                 (cap < TERN_STUN_HEADER_LEN && rc == TERN_ERR_INVALID_ARG),
		             "rebuild over capacity did not fail with TERN_ERR_NO_SPACE");
	}
	for (size_t i = cap; i < cap + guard; i++) {
		fuzz_require(buf[i] == 0xA5, "builder wrote past its capacity");
	}
	free(buf);
}

/* Rebuild m into a fresh exact-size buffer and parse it there. */
static uint8_t *rebuild_and_parse(const struct tern_stun_msg *m, enum mac_mode mode,
                                  uint8_t *scratch, struct tern_stun_msg *out, size_t *len)
{
	uint8_t *copy;

	need_ok(rebuild(m, mode, scratch, TERN_STUN_MAX_MSG, len),
	        "rebuild of a parsed message failed");
	copy = malloc(*len);
	fuzz_require(copy != NULL, "malloc");
	memcpy(copy, scratch, *len);
	need_ok(tern_stun_parse(copy, *len, out), "the rebuilt message does not parse");
	return copy;
}

static void roundtrip(const struct tern_stun_msg *m1, size_t size, enum mac_mode mode,
                      size_t cap_pick)
{
	uint8_t *scratch = malloc(TERN_STUN_MAX_MSG);
	uint8_t *b2, *b3;
	struct tern_stun_msg m2, m3;
	size_t len2 = 0, len3 = 0;

	fuzz_require(scratch != NULL, "malloc");
	b2 = rebuild_and_parse(m1, mode, scratch, &m2, &len2);
	fuzz_require(len2 <= size, "the rebuilt message is longer than the input");
	compare_msgs(m1, &m2, mode);
	if (mode == MAC_RECOMPUTE) {
		check_recomputed_macs(&m2);
	}
	b3 = rebuild_and_parse(&m2, mode, scratch, &m3, &len3);
	fuzz_require(len3 == len2 && memcmp(b2, b3, len2) == 0,
	             "encode(decode(encode(decode(x)))) != encode(decode(x))");
	/* Half the picks are short of the length, half at or a little above it. */
	if (cap_pick & 1u) {
		check_capacity(m1, mode, b2, len2, len2 + (cap_pick >> 1) % 8);
	} else {
		check_capacity(m1, mode, b2, len2, (cap_pick >> 1) % len2);
	}
	free(b3);
	free(b2);
	free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tern_stun_msg m;
	size_t cap_pick;

	if (tern_stun_parse(data, size, &m) != TERN_OK) {
		return 0;
	}
	/* The capacity probe comes from the txid, which every seed varies. */
	cap_pick = fuzz_be16(data + 8) ^ fuzz_be16(data + 18);
	roundtrip(&m, size, MAC_COPY, cap_pick);
	roundtrip(&m, size, MAC_RECOMPUTE, cap_pick);
	return 0;
}
