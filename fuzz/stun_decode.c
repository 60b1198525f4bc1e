/*
 * stun_decode.c - fuzz target for STUN decoding.
 *
 * Targets: tern_stun_parse, tern_attr_kind_of, tern_attr_name,
 * tern_attr_validate, every typed getter (tern_attr_get_address,
 * _xor_address, _string, _u8, _u16, _u32, _u64, _even_port, _error_code,
 * _address_error_code, _unknown_attributes, _password_algorithm,
 * _password_algorithms, _icmp), tern_addr_xor, tern_stun_find, tern_stun_find_next,
 * tern_stun_type/_type_method/_type_class, tern_stun_method_name,
 * tern_stun_class_name, tern_demux, tern_stream_frame_len, tern_strerror.
 *
 * Input: one datagram. Invariants (abort on violation):
 *  - a parsed message is a view of exactly the input; header fields match
 *    the wire; nattrs <= TERN_STUN_MAX_ATTRS; every listed attribute lies
 *    inside the input, in wire order, 4-aligned, header matching the wire;
 *  - mi/mi256/fp indexes name the first listed attribute of their type;
 *    FINGERPRINT is last on the wire;
 *  - every listed known attribute passes tern_attr_validate and the getter
 *    of its kind, with the exact sizes RFC 8489/8656 fix; every getter's
 *    output lies inside the attribute;
 *  - parse agrees with an independent walk of the framing rules plus
 *    tern_attr_validate (parse fails if and only if they say it must);
 *  - find/find_next enumerate exactly the listed attributes of a type;
 *  - tern_demux follows RFC 7983; tern_stream_frame_len frames a parsed
 *    message as exactly itself.
 */
#include <string.h>

#include "fuzz_common.h"
#include "tern_codec.h"

#define ALG_CAP     64u
#define UNKNOWN_CAP 64u

static bool error_code_ok(const struct tern_attr *a, const struct tern_error_code *ec)
{
	return ec->code >= 300 && ec->code <= 699 && ec->reason_len <= TERN_STUN_MAX_REASON &&
	       fuzz_inside(a->value, a->len, ec->reason, ec->reason_len);
}

static bool address_ok(const struct tern_addr *addr)
{
	return addr->family == TERN_AF_IPV4 || addr->family == TERN_AF_IPV6;
}

/* Every scalar getter on any attribute: failures are fine, outputs must be sane. */
static void probe_scalar_getters(const struct tern_attr *a, const uint8_t *txid)
{
	struct tern_addr addr;
	const uint8_t *text = NULL;
	size_t len = 0;
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8;
	bool reserve;
	struct tern_icmp icmp;

	if (tern_attr_get_address(a, &addr) == TERN_OK) {
		fuzz_require(address_ok(&addr), "get_address family");
	}
	if (tern_attr_get_xor_address(a, txid, &addr) == TERN_OK) {
		struct tern_addr wire;
		size_t alen = addr.family == TERN_AF_IPV4 ? 4 : 16;

		fuzz_require(address_ok(&addr), "get_xor_address family");
		/* Same shape: the plain decode XORed by hand is the XOR decode. */
		fuzz_require(tern_attr_get_address(a, &wire) == TERN_OK,
		             "get_address on XOR shape");
		tern_addr_xor(&wire, txid);
		fuzz_require(wire.family == addr.family && wire.port == addr.port &&
		                 memcmp(wire.addr, addr.addr, alen) == 0,
		             "get_xor_address != tern_addr_xor(get_address)");
		tern_addr_xor(&wire, txid);
		tern_addr_xor(&wire, txid);
		fuzz_require(memcmp(wire.addr, addr.addr, alen) == 0,
		             "tern_addr_xor twice is not the identity");
	}
	if (tern_attr_get_string(a, &text, &len) == TERN_OK) {
		fuzz_require(len == a->len && len <= TERN_STUN_MAX_STRING, "get_string length");
		fuzz_require(fuzz_inside(a->value, a->len, text, len), "get_string view");
	}
	(void)!tern_attr_get_u64(a, &u64);
	(void)!tern_attr_get_u32(a, &u32);
	(void)!tern_attr_get_u16(a, &u16);
	(void)!tern_attr_get_u8(a, &u8);
	(void)!tern_attr_get_even_port(a, &reserve);
	(void)!tern_attr_get_icmp(a, &icmp);
}

static void probe_list_getters(const struct tern_attr *a)
{
	struct tern_error_code ec;
	struct tern_password_alg_entry algs[ALG_CAP];
	uint16_t types[UNKNOWN_CAP];
	size_t n = 0;
	uint8_t family;

	if (tern_attr_get_error_code(a, &ec) == TERN_OK) {
		fuzz_require(error_code_ok(a, &ec), "get_error_code output");
	}
	if (tern_attr_get_address_error_code(a, &family, &ec) == TERN_OK) {
		fuzz_require(error_code_ok(a, &ec), "get_address_error_code output");
	}
	if (tern_attr_get_unknown_attributes(a, types, UNKNOWN_CAP, &n) == TERN_OK) {
		fuzz_require(n <= a->len / 2u, "get_unknown_attributes count");
	}
	if (tern_attr_get_password_algorithm(a, &algs[0]) == TERN_OK) {
		fuzz_require(fuzz_inside(a->value, a->len, algs[0].params, algs[0].params_len),
		             "get_password_algorithm params view");
	}
	if (tern_attr_get_password_algorithms(a, algs, ALG_CAP, &n) == TERN_OK) {
		fuzz_require(n <= a->len / 4u, "get_password_algorithms count");
		for (size_t i = 0; i < n && i < ALG_CAP; i++) {
			fuzz_require(
			    fuzz_inside(a->value, a->len, algs[i].params, algs[i].params_len),
			    "get_password_algorithms params view");
		}
	}
}

/* The getter that belongs to a kind, with the sizes the RFCs fix. */
static bool kind_getter_ok(const struct tern_attr *a, const uint8_t *txid, enum tern_attr_kind kind)
{
	union {
		struct tern_addr addr;
		uint64_t u64;
		uint32_t u32;
		uint16_t u16;
		uint8_t u8;
		bool b;
		struct tern_icmp icmp;
		struct tern_error_code ec;
		struct tern_password_alg_entry alg;
	} o;
	uint16_t types[4];
	const uint8_t *text;
	size_t n;
	uint8_t fam;

	switch (kind) {
	case TERN_KIND_UNKNOWN:
	case TERN_KIND_BYTES:
		return true;
	case TERN_KIND_ADDRESS:
		return tern_attr_get_address(a, &o.addr) == TERN_OK &&
		       a->len == (o.addr.family == TERN_AF_IPV4 ? 8 : 20);
	case TERN_KIND_XOR_ADDRESS:
		return tern_attr_get_xor_address(a, txid, &o.addr) == TERN_OK &&
		       a->len == (o.addr.family == TERN_AF_IPV4 ? 8 : 20);
	case TERN_KIND_STRING:
		return tern_attr_get_string(a, &text, &n) == TERN_OK;
	case TERN_KIND_EMPTY:
		return a->len == 0;
	case TERN_KIND_U8_RSVD3:
		return tern_attr_get_u8(a, &o.u8) == TERN_OK && a->len == 4;
	case TERN_KIND_EVEN_PORT:
		return tern_attr_get_even_port(a, &o.b) == TERN_OK && a->len == 1;
	case TERN_KIND_U16_RSVD2:
		return tern_attr_get_u16(a, &o.u16) == TERN_OK && a->len == 4;
	case TERN_KIND_U32:
		return tern_attr_get_u32(a, &o.u32) == TERN_OK && a->len == 4;
	case TERN_KIND_U64:
		return tern_attr_get_u64(a, &o.u64) == TERN_OK && a->len == 8;
	case TERN_KIND_ERROR_CODE:
		return tern_attr_get_error_code(a, &o.ec) == TERN_OK;
	case TERN_KIND_ADDRESS_ERROR_CODE:
		return tern_attr_get_address_error_code(a, &fam, &o.ec) == TERN_OK;
	case TERN_KIND_UNKNOWN_ATTRIBUTES:
		return tern_attr_get_unknown_attributes(a, types, 4, &n) == TERN_OK;
	case TERN_KIND_PASSWORD_ALGORITHM:
		return tern_attr_get_password_algorithm(a, &o.alg) == TERN_OK;
	case TERN_KIND_PASSWORD_ALGORITHMS:
		return tern_attr_get_password_algorithms(a, &o.alg, 1, &n) == TERN_OK;
	case TERN_KIND_ICMP:
		return tern_attr_get_icmp(a, &o.icmp) == TERN_OK && a->len == 8;
	case TERN_KIND_MESSAGE_INTEGRITY:
		return a->len == 20;
	case TERN_KIND_MESSAGE_INTEGRITY_SHA256:
		return a->len >= 16 && a->len <= 32 && a->len % 4 == 0;
	case TERN_KIND_USERHASH:
		return a->len == 32;
	case TERN_KIND_FINGERPRINT:
		return a->len == 4;
	}
	return false;
}

static void check_header(const uint8_t *data, size_t size, const struct tern_stun_msg *m)
{
	fuzz_require(m->raw == data && m->raw_len == size, "raw view is the input");
	fuzz_require(size >= TERN_STUN_HEADER_LEN && size <= TERN_STUN_MAX_MSG, "message size");
	fuzz_require(m->type == fuzz_be16(data) && (m->type & 0xC000u) == 0, "type");
	fuzz_require((size_t)fuzz_be16(data + 2) == size - TERN_STUN_HEADER_LEN, "Length");
	fuzz_require(fuzz_be32(data + 4) == TERN_STUN_MAGIC_COOKIE, "magic cookie");
	fuzz_require(m->txid == data + 8, "txid view");
	fuzz_require(m->method == tern_stun_type_method(m->type), "method");
	fuzz_require(m->cls == tern_stun_type_class(m->type), "class");
	fuzz_require(tern_stun_type(m->method, m->cls) == m->type, "type from method+class");
	fuzz_require(tern_stun_class_name(m->cls) != NULL, "class name");
	(void)tern_stun_method_name(m->method);
}

static void check_attr_views(const uint8_t *data, size_t size, const struct tern_stun_msg *m)
{
	size_t prev_end = TERN_STUN_HEADER_LEN;

	fuzz_require(m->nattrs <= TERN_STUN_MAX_ATTRS, "nattrs <= TERN_STUN_MAX_ATTRS");
	for (size_t i = 0; i < m->nattrs; i++) {
		const struct tern_attr *a = &m->attrs[i];
		size_t off = a->offset;

		fuzz_require(off >= prev_end && off % 4 == 0, "attribute offsets in wire order");
		fuzz_require(off <= size - 4 && a->len <= size - 4 - off, "attribute inside input");
		fuzz_require(fuzz_be16(data + off) == a->type, "attribute type matches wire");
		fuzz_require(fuzz_be16(data + off + 2) == a->len, "attribute length matches wire");
		fuzz_require(a->len == 0 || a->value == data + off + 4, "attribute value view");
		prev_end = off + 4 + a->len;
	}
}

static void check_index(const struct tern_stun_msg *m, int16_t idx, uint16_t type)
{
	const struct tern_attr *first = tern_stun_find(m, type);

	if (idx < 0) {
		fuzz_require(idx == -1 && first == NULL, "absent integrity/fingerprint index");
		return;
	}
	fuzz_require(idx < (int)m->nattrs && first == &m->attrs[idx], "integrity/fp index");
}

static void check_special(size_t size, const struct tern_stun_msg *m)
{
	check_index(m, m->mi_index, TERN_ATTR_MESSAGE_INTEGRITY);
	check_index(m, m->mi256_index, TERN_ATTR_MESSAGE_INTEGRITY_SHA256);
	check_index(m, m->fp_index, TERN_ATTR_FINGERPRINT);
	if (m->fp_index >= 0) {
		const struct tern_attr *fp = &m->attrs[m->fp_index];

		fuzz_require(m->fp_index == (int)m->nattrs - 1, "FINGERPRINT listed last");
		fuzz_require((size_t)fp->offset + 8 == size, "FINGERPRINT last on the wire");
	}
}

static bool listed_type(const struct tern_stun_msg *m, uint16_t type)
{
	for (size_t i = 0; i < m->nattrs; i++) {
		if (m->attrs[i].type == type) {
			return true;
		}
	}
	return false;
}

static bool in_unknown(const struct tern_stun_msg *m, uint16_t type)
{
	for (size_t i = 0; i < m->nunknown; i++) {
		if (m->unknown[i] == type) {
			return true;
		}
	}
	return false;
}

static void check_unknown(const struct tern_stun_msg *m)
{
	fuzz_require(m->nunknown <= TERN_STUN_MAX_UNKNOWN, "nunknown cap");
	for (size_t i = 0; i < m->nunknown; i++) {
		uint16_t t = m->unknown[i];

		fuzz_require(t < 0x8000u && tern_attr_kind_of(t) == TERN_KIND_UNKNOWN,
		             "unknown[] holds unknown comprehension-required types");
		fuzz_require(listed_type(m, t), "unknown[] type is listed");
	}
	for (size_t i = 0; i < m->nattrs; i++) {
		uint16_t t = m->attrs[i].type;

		if (t < 0x8000u && tern_attr_kind_of(t) == TERN_KIND_UNKNOWN &&
		    m->nunknown < TERN_STUN_MAX_UNKNOWN) {
			fuzz_require(in_unknown(m, t),
			             "listed unknown type missing from unknown[]");
		}
	}
}

static void check_attr_values(const struct tern_stun_msg *m)
{
	for (size_t i = 0; i < m->nattrs; i++) {
		const struct tern_attr *a = &m->attrs[i];
		enum tern_attr_kind kind = tern_attr_kind_of(a->type);

		fuzz_require((kind == TERN_KIND_UNKNOWN) == (tern_attr_name(a->type) == NULL),
		             "tern_attr_name agrees with tern_attr_kind_of");
		if (kind != TERN_KIND_UNKNOWN) {
			fuzz_require(tern_attr_validate(a) == TERN_OK,
			             "tern_attr_validate rejects an attribute parse accepted");
		}
		fuzz_require(kind_getter_ok(a, m->txid, kind),
		             "typed getter rejects an attribute parse accepted");
		probe_scalar_getters(a, m->txid);
		probe_list_getters(a);
	}
}

static void check_find(const struct tern_stun_msg *m, uint16_t absent_probe)
{
	for (size_t i = 0; i < m->nattrs; i++) {
		uint16_t t = m->attrs[i].type;
		const struct tern_attr *p = tern_stun_find(m, t);
		size_t j = 0;

		while (j < m->nattrs && m->attrs[j].type != t) {
			j++;
		}
		fuzz_require(p == &m->attrs[j], "find returns the first of its type");
		for (; p != NULL; p = tern_stun_find_next(m, p)) {
			fuzz_require(p == &m->attrs[j], "find_next returns the next of its type");
			j++;
			while (j < m->nattrs && m->attrs[j].type != t) {
				j++;
			}
		}
		fuzz_require(j == m->nattrs, "find_next stops after the last of its type");
	}
	if (!listed_type(m, absent_probe)) {
		fuzz_require(tern_stun_find(m, absent_probe) == NULL, "find of an absent type");
	}
}

/* Walk state for predict_parse(). */
struct walk {
	size_t listed;
	bool integrity_seen;
	bool must_fail;
};

static void walk_attr(struct walk *w, const uint8_t *data, size_t off, size_t end_of_attr,
                      size_t size)
{
	struct tern_attr a;

	a.type = fuzz_be16(data + off);
	a.len = fuzz_be16(data + off + 2);
	a.offset = (uint32_t)off;
	a.value = data + off + 4;
	if (a.type == TERN_ATTR_FINGERPRINT && end_of_attr != size && !w->integrity_seen) {
		w->must_fail = true; /* RFC 8489 §14.7: FINGERPRINT is last */
	}
	if (w->integrity_seen) {
		return; /* ignored (§14.5, §14.6): framing only */
	}
	w->listed++;
	if (tern_attr_kind_of(a.type) != TERN_KIND_UNKNOWN && tern_attr_validate(&a) != TERN_OK) {
		w->must_fail = true;
	}
	if (a.type == TERN_ATTR_MESSAGE_INTEGRITY || a.type == TERN_ATTR_MESSAGE_INTEGRITY_SHA256) {
		w->integrity_seen = true;
	}
}

/*
 * An independent reading of the header contract: 1 when parse must succeed,
 * 0 when it must fail, -1 when the rules for attributes after
 * MESSAGE-INTEGRITY(-SHA256) leave it to the codec.
 */
static int predict_parse(const uint8_t *data, size_t size)
{
	struct walk w = {0, false, false};
	size_t pos = TERN_STUN_HEADER_LEN;

	if (size < TERN_STUN_HEADER_LEN || (data[0] & 0xC0u) != 0 ||
	    fuzz_be32(data + 4) != TERN_STUN_MAGIC_COOKIE ||
	    (size_t)fuzz_be16(data + 2) != size - TERN_STUN_HEADER_LEN || size % 4 != 0) {
		return 0;
	}
	while (pos < size) {
		size_t len, padded;

		if (size - pos < 4) {
			return 0;
		}
		len = fuzz_be16(data + pos + 2);
		padded = (len + 3u) & ~(size_t)3u;
		if (padded > size - pos - 4) {
			return 0;
		}
		walk_attr(&w, data, pos, pos + 4 + padded, size);
		pos += 4 + padded;
	}
	if (w.must_fail || w.listed > TERN_STUN_MAX_ATTRS) {
		return 0;
	}
	return w.integrity_seen ? -1 : 1;
}

static void check_demux(const uint8_t *data, size_t size)
{
	enum tern_demux d = tern_demux(data, size);
	enum tern_demux want = TERN_DEMUX_OTHER;

	if (size > 0) {
		uint8_t b = data[0];

		if (b <= 3) {
			want = TERN_DEMUX_STUN;
		} else if (b >= 16 && b <= 19) {
			want = TERN_DEMUX_ZRTP;
		} else if (b >= 20 && b <= 63) {
			want = TERN_DEMUX_DTLS;
		} else if (b >= 64 && b <= 127) {
			want = TERN_DEMUX_CHANNEL_DATA;
		} else if (b >= 128 && b <= 191) {
			want = TERN_DEMUX_RTP;
		}
	}
	fuzz_require(d == want, "tern_demux follows RFC 7983");
}

static void check_frame_len(const uint8_t *data, size_t size, bool parsed)
{
	size_t need = 0;
	int rc = tern_stream_frame_len(data, size, &need);

	fuzz_require(tern_strerror(rc) != NULL, "tern_strerror");
	if (rc == TERN_OK) {
		fuzz_require(need >= 4 && need <= TERN_STUN_MAX_MSG && need % 4 == 0,
		             "stream frame length in range");
	} else if (rc == TERN_ERR_TRUNCATED) {
		fuzz_require(size < 4 && need == 4, "frame_len TRUNCATED only below 4 bytes");
	} else {
		fuzz_require(rc == TERN_ERR_MALFORMED && size >= 4, "frame_len error code");
	}
	if (parsed) {
		fuzz_require(rc == TERN_OK && need == size, "a parsed message frames as itself");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tern_stun_msg m;
	int rc = tern_stun_parse(data, size, &m);
	int predicted = predict_parse(data, size);

	fuzz_require(tern_strerror(rc) != NULL, "tern_strerror");
	check_demux(data, size);
	check_frame_len(data, size, rc == TERN_OK);
	if (rc != TERN_OK) {
		fuzz_require(rc == TERN_ERR_NOT_STUN || rc == TERN_ERR_TRUNCATED ||
		                 rc == TERN_ERR_MALFORMED || rc == TERN_ERR_TOO_MANY,
		             "parse error code");
		fuzz_require(predicted != 1, "parse rejects a message the rules accept");
		return 0;
	}
	fuzz_require(predicted != 0, "parse accepts a message the rules reject");
	/* RFC 7983 keeps STUN to first bytes 0-3; types 0x0400-0x3FFF parse too. */
	fuzz_require(data[0] > 3 || tern_demux(data, size) == TERN_DEMUX_STUN,
	             "a STUN message demuxes as STUN");
	check_header(data, size, &m);
	check_attr_views(data, size, &m);
	check_special(size, &m);
	check_unknown(&m);
	check_attr_values(&m);
	check_find(&m, fuzz_be16(data + size - 2));
	return 0;
}
