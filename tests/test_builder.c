/*
 * test_builder.c - tern_stun_build_start(), the typed adds and
 * tern_stun_build_finish(): exact wire bytes, round trips through the
 * matching getters, and fail-closed capacity handling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tern_codec.h"
#include "testutil.h"

#define ARRAY_LEN(a)    (sizeof(a) / sizeof((a)[0]))
#define BUF_CAP         2048u
#define CANARY          0xA5u
#define BINDING_REQUEST 0x0001u
#define RFC5769_TXID    "b7e7a701bc34d686fa87dfae"

static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* A builder over its own buffer, for tests that parse the result. */
struct fixture {
	uint8_t buf[BUF_CAP];
	struct tern_stun_builder b;
	struct tern_stun_msg msg;
};

static void start(struct fixture *f, uint16_t type)
{
	memset(f->buf, CANARY, sizeof(f->buf));
	assert_int_equal(tern_stun_build_start(&f->b, f->buf, sizeof(f->buf), type, tu_txid),
	                 TERN_OK);
}

static size_t finish_parse(struct fixture *f)
{
	size_t len = 0;

	assert_int_equal(tern_stun_build_finish(&f->b, &len), TERN_OK);
	assert_int_equal(tern_stun_parse(f->buf, len, &f->msg), TERN_OK);
	return len;
}

static const struct tern_attr *only(struct fixture *f, uint16_t type)
{
	finish_parse(f);
	assert_int_equal(f->msg.nattrs, 1);
	assert_int_equal(f->msg.attrs[0].type, type);
	return &f->msg.attrs[0];
}

/* The first attribute's bytes (header, value, padding) equal hex. */
static void assert_first_attr(const struct fixture *f, const char *hex)
{
	uint8_t want[256];
	size_t n = tu_hex(hex, want, sizeof(want));

	assert_int_equal(tu_get16(f->buf + 2), n);
	assert_memory_equal(f->buf + TERN_STUN_HEADER_LEN, want, n);
}

static void test_builder_start_header(void **state)
{
	struct fixture f;
	size_t len = 0;

	(void)state;
	start(&f, 0x0113);
	assert_int_equal(tern_stun_build_finish(&f.b, &len), TERN_OK);
	assert_int_equal(len, 20);
	assert_memory_equal(f.buf, "\x01\x13\x00\x00\x21\x12\xa4\x42", 8);
	assert_memory_equal(f.buf + 8, tu_txid, TERN_STUN_TXID_LEN);
	assert_int_equal(f.buf[20], CANARY);
}

static void test_builder_start_small_cap(void **state)
{
	uint8_t buf[TERN_STUN_HEADER_LEN];
	struct tern_stun_builder b;

	(void)state;
	memset(buf, CANARY, sizeof(buf));
	for (size_t cap = 0; cap < TERN_STUN_HEADER_LEN; cap++) {
		int rc = tern_stun_build_start(&b, buf, cap, BINDING_REQUEST, tu_txid);
		assert_true(rc == TERN_ERR_NO_SPACE || rc == TERN_ERR_INVALID_ARG);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], CANARY);
	}
}

static void test_builder_add_u32_bytes(void **state)
{
	struct fixture f;
	uint32_t v = 0;

	(void)state;
	start(&f, TERN_TURN_REFRESH);
	assert_int_equal(tern_stun_add_u32(&f.b, TERN_ATTR_LIFETIME, 3600), TERN_OK);
	assert_first_attr(&f, "000d0004 00000e10");
	assert_int_equal(tern_attr_get_u32(only(&f, TERN_ATTR_LIFETIME), &v), TERN_OK);
	assert_int_equal(v, 3600);
}

static void test_builder_add_raw_zero_padding(void **state)
{
	struct fixture f;

	(void)state;
	start(&f, TERN_TURN_SEND);
	assert_int_equal(tern_stun_add_raw(&f.b, TERN_ATTR_DATA, "hello", 5), TERN_OK);
	assert_first_attr(&f, "00130005 68656c6c6f000000");
	assert_int_equal(only(&f, TERN_ATTR_DATA)->len, 5);
	assert_int_equal(tern_stun_add_raw(&f.b, TERN_ATTR_DONT_FRAGMENT, NULL, 0), TERN_OK);
	assert_int_equal(finish_parse(&f), 36);
}

static void test_builder_add_reserve_in_place(void **state)
{
	struct fixture f;
	uint8_t *value = NULL;

	(void)state;
	start(&f, TERN_TURN_DATA);
	assert_int_equal(tern_stun_add_reserve(&f.b, TERN_ATTR_DATA, 6, &value), TERN_OK);
	assert_ptr_equal(value, f.buf + 24);
	memcpy(value, "abcdef", 6);
	assert_first_attr(&f, "00130006 616263646566 0000");
	assert_memory_equal(only(&f, TERN_ATTR_DATA)->value, "abcdef", 6);
}

static void test_builder_add_string_limit(void **state)
{
	struct fixture f;
	uint8_t text[TERN_STUN_MAX_STRING + 1];
	size_t len = 0;

	(void)state;
	memset(text, 'u', sizeof(text));
	start(&f, BINDING_REQUEST);
	assert_int_equal(tern_stun_add_string(&f.b, TERN_ATTR_USERNAME, text, TERN_STUN_MAX_STRING),
	                 TERN_OK);
	assert_int_equal(only(&f, TERN_ATTR_USERNAME)->len, TERN_STUN_MAX_STRING);
	start(&f, BINDING_REQUEST);
	assert_int_equal(tern_stun_add_string(&f.b, TERN_ATTR_USERNAME, text, sizeof(text)),
	                 TERN_ERR_INVALID_ARG);
	assert_int_equal(tern_stun_build_finish(&f.b, &len), TERN_ERR_INVALID_ARG);
	assert_int_equal(tu_get16(f.buf + 2), 0);
}

/* After one failure every call fails, and finish reports the first error. */
static void test_builder_poison_first_error(void **state)
{
	uint8_t buf[64];
	struct tern_stun_builder b;
	uint8_t big[100] = {0};
	size_t len = 0;

	(void)state;
	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf), BINDING_REQUEST, tu_txid),
	                 TERN_OK);
	assert_int_equal(tern_stun_add_raw(&b, TERN_ATTR_DATA, big, sizeof(big)),
	                 TERN_ERR_NO_SPACE);
	assert_int_equal(tu_get16(buf + 2), 0);
	assert_int_not_equal(tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, 1), TERN_OK);
	assert_int_not_equal(tern_stun_add_error_code(&b, 100, NULL, 0), TERN_OK);
	assert_int_not_equal(tern_stun_add_fingerprint(&b), TERN_OK);
	assert_int_equal(tu_get16(buf + 2), 0);
	assert_int_equal(tern_stun_build_finish(&b, &len), TERN_ERR_NO_SPACE);

	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf), BINDING_REQUEST, tu_txid),
	                 TERN_OK);
	assert_int_equal(tern_stun_add_error_code(&b, 700, NULL, 0), TERN_ERR_INVALID_ARG);
	assert_int_not_equal(tern_stun_add_raw(&b, TERN_ATTR_DATA, big, sizeof(big)), TERN_OK);
	assert_int_not_equal(tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, 1), TERN_OK);
	assert_int_equal(tern_stun_build_finish(&b, &len), TERN_ERR_INVALID_ARG);
}

/* The same build as a list of steps, so it can be replayed at every capacity. */
static int build_step(struct tern_stun_builder *b, int step)
{
	static const struct tern_addr peer = {
	    .family = TERN_AF_IPV6, .port = 60000, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 2}};

	switch (step) {
	case 0:
		return tern_stun_add_u8(b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	case 1:
		return tern_stun_add_xor_address(b, TERN_ATTR_XOR_PEER_ADDRESS, &peer);
	case 2:
		return tern_stun_add_string(b, TERN_ATTR_USERNAME, "alice", 5);
	case 3:
		return tern_stun_add_error_code(b, 438, NULL, 0);
	case 4:
		return tern_stun_add_raw(b, TERN_ATTR_DATA, "x", 1);
	case 5:
		return tern_stun_add_integrity(b, key, sizeof(key) - 1);
	case 6:
		return tern_stun_add_integrity_sha256(b, key, sizeof(key) - 1, 24);
	default:
		return tern_stun_add_fingerprint(b);
	}
}

#define NSTEPS 8

/* Replays the steps into buf[0..cap); returns finish's result, *len the length. */
static int build_at(uint8_t *buf, size_t cap, int *rcs, size_t *len)
{
	struct tern_stun_builder b;

	assert_int_equal(tern_stun_build_start(&b, buf, cap, BINDING_REQUEST, tu_txid), TERN_OK);
	for (int step = 0; step < NSTEPS; step++)
		rcs[step] = build_step(&b, step);
	return tern_stun_build_finish(&b, len);
}

/* Check the failures at one capacity: NO_SPACE first, every later step fails. */
static void check_capacity(size_t cap, size_t full)
{
	uint8_t buf[BUF_CAP];
	int rcs[NSTEPS];
	size_t len = 0;
	int first = NSTEPS;

	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(build_at(buf, cap, rcs, &len), TERN_ERR_NO_SPACE);
	for (int s = NSTEPS - 1; s >= 0; s--)
		first = rcs[s] != TERN_OK ? s : first;
	assert_true(first < NSTEPS);
	assert_int_equal(rcs[first], TERN_ERR_NO_SPACE);
	for (int s = first; s < NSTEPS; s++)
		assert_int_not_equal(rcs[s], TERN_OK);
	for (size_t i = cap; i < full + 8; i++)
		assert_int_equal(buf[i], CANARY);
}

static void test_builder_finish_every_capacity(void **state)
{
	uint8_t ref[BUF_CAP], buf[BUF_CAP];
	int rcs[NSTEPS];
	size_t full = 0, len = 0;
	struct tern_stun_msg msg;

	(void)state;
	assert_int_equal(build_at(ref, sizeof(ref), rcs, &full), TERN_OK);
	assert_int_equal(tern_stun_parse(ref, full, &msg), TERN_OK);
	assert_int_equal(msg.nattrs, NSTEPS);
	for (size_t cap = TERN_STUN_HEADER_LEN; cap < full; cap++)
		check_capacity(cap, full);
	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(build_at(buf, full, rcs, &len), TERN_OK);
	assert_int_equal(len, full);
	assert_memory_equal(buf, ref, full);
}

static void roundtrip_address(uint16_t type, const struct tern_addr *in, bool xor)
{
	struct fixture f;
	struct tern_addr out;

	start(&f, BINDING_REQUEST);
	memset(&out, 0, sizeof(out));
	if (xor) {
		assert_int_equal(tern_stun_add_xor_address(&f.b, type, in), TERN_OK);
		assert_int_equal(tern_attr_get_xor_address(only(&f, type), f.msg.txid, &out),
		                 TERN_OK);
	} else {
		assert_int_equal(tern_stun_add_address(&f.b, type, in), TERN_OK);
		assert_int_equal(tern_attr_get_address(only(&f, type), &out), TERN_OK);
	}
	assert_int_equal(f.msg.attrs[0].len, in->family == TERN_AF_IPV4 ? 8 : 20);
	assert_int_equal(out.family, in->family);
	assert_int_equal(out.port, in->port);
	assert_memory_equal(out.addr, in->addr, in->family == TERN_AF_IPV4 ? 4 : 16);
}

static void test_builder_add_address_roundtrip(void **state)
{
	const struct tern_addr v4 = {.family = TERN_AF_IPV4, .port = 3478, .addr = {192, 0, 2, 1}};
	const struct tern_addr v6 = {
	    .family = TERN_AF_IPV6,
	    .port = 65535,
	    .addr = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};

	(void)state;
	roundtrip_address(TERN_ATTR_MAPPED_ADDRESS, &v4, false);
	roundtrip_address(TERN_ATTR_ALTERNATE_SERVER, &v6, false);
	roundtrip_address(TERN_ATTR_XOR_PEER_ADDRESS, &v4, true);
	roundtrip_address(TERN_ATTR_XOR_RELAYED_ADDRESS, &v6, true);
	roundtrip_address(TERN_ATTR_XOR_MAPPED_ADDRESS, &v6, true);
}

/* RFC 5769 §2.2 and §2.3 XOR-MAPPED-ADDRESS values, byte for byte. */
static void test_builder_add_xor_address_rfc5769(void **state)
{
	struct tern_stun_builder b;
	uint8_t buf[64], txid[TERN_STUN_TXID_LEN], want[24];
	struct tern_addr a = {.family = TERN_AF_IPV4, .port = 32853, .addr = {192, 0, 2, 1}};

	(void)state;
	tu_hex(RFC5769_TXID, txid, sizeof(txid));
	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf), 0x0101, txid), TERN_OK);
	assert_int_equal(tern_stun_add_xor_address(&b, TERN_ATTR_XOR_MAPPED_ADDRESS, &a), TERN_OK);
	assert_memory_equal(buf + 20, "\x00\x20\x00\x08\x00\x01\xa1\x47\xe1\x12\xa6\x43", 12);
	a.family = TERN_AF_IPV6;
	tu_hex("20010db8123456780011223344556677", a.addr, sizeof(a.addr));
	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf), 0x0101, txid), TERN_OK);
	assert_int_equal(tern_stun_add_xor_address(&b, TERN_ATTR_XOR_MAPPED_ADDRESS, &a), TERN_OK);
	assert_int_equal(
	    tu_hex("00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9", want, sizeof(want)),
	    sizeof(want));
	assert_memory_equal(buf + 20, want, sizeof(want));
}

static void test_builder_add_scalars_roundtrip(void **state)
{
	struct fixture f;
	uint8_t u8 = 0;
	uint16_t u16 = 0;
	uint64_t u64 = 0;
	bool r = false;

	(void)state;
	start(&f, TERN_TURN_ALLOCATE);
	assert_int_equal(tern_stun_add_u8(&f.b, TERN_ATTR_REQUESTED_TRANSPORT, 6), TERN_OK);
	assert_first_attr(&f, "00190004 06000000");
	assert_int_equal(tern_attr_get_u8(only(&f, TERN_ATTR_REQUESTED_TRANSPORT), &u8), TERN_OK);
	assert_int_equal(u8, 6);
	start(&f, TERN_TURN_CHANNEL_BIND);
	assert_int_equal(tern_stun_add_u16(&f.b, TERN_ATTR_CHANNEL_NUMBER, 0x4FFF), TERN_OK);
	assert_first_attr(&f, "000c0004 4fff0000");
	assert_int_equal(tern_attr_get_u16(only(&f, TERN_ATTR_CHANNEL_NUMBER), &u16), TERN_OK);
	assert_int_equal(u16, 0x4FFF);
	start(&f, TERN_TURN_ALLOCATE);
	assert_int_equal(tern_stun_add_u64(&f.b, TERN_ATTR_RESERVATION_TOKEN, 0x0102030405060708u),
	                 TERN_OK);
	assert_int_equal(tern_attr_get_u64(only(&f, TERN_ATTR_RESERVATION_TOKEN), &u64), TERN_OK);
	assert_true(u64 == 0x0102030405060708u);
	start(&f, TERN_TURN_ALLOCATE);
	assert_int_equal(tern_stun_add_even_port(&f.b, true), TERN_OK);
	assert_first_attr(&f, "00180001 80000000");
	assert_int_equal(tern_attr_get_even_port(only(&f, TERN_ATTR_EVEN_PORT), &r), TERN_OK);
	assert_true(r);
	start(&f, TERN_TURN_ALLOCATE);
	assert_int_equal(tern_stun_add_even_port(&f.b, false), TERN_OK);
	assert_int_equal(tern_attr_get_even_port(only(&f, TERN_ATTR_EVEN_PORT), &r), TERN_OK);
	assert_false(r);
}

static void test_builder_add_string_roundtrip(void **state)
{
	struct fixture f;
	const uint8_t *text = NULL;
	size_t len = 0;

	(void)state;
	start(&f, BINDING_REQUEST);
	assert_int_equal(tern_stun_add_string(&f.b, TERN_ATTR_REALM, "example.org", 11), TERN_OK);
	assert_first_attr(&f, "0014000b 6578616d706c652e6f7267 00");
	assert_int_equal(tern_attr_get_string(only(&f, TERN_ATTR_REALM), &text, &len), TERN_OK);
	assert_int_equal(len, 11);
	assert_memory_equal(text, "example.org", 11);
}

static void test_builder_add_error_code_roundtrip(void **state)
{
	struct fixture f;
	struct tern_error_code ec;

	(void)state;
	start(&f, 0x0113);
	assert_int_equal(tern_stun_add_error_code(&f.b, 401, "Unauthenticated", 15), TERN_OK);
	assert_first_attr(&f, "00090013 00000401 556e61757468656e74696361746564 00");
	start(&f, 0x0113);
	assert_int_equal(tern_stun_add_error_code(&f.b, 437, NULL, 0), TERN_OK);
	assert_int_equal(tern_attr_get_error_code(only(&f, TERN_ATTR_ERROR_CODE), &ec), TERN_OK);
	assert_int_equal(ec.code, 437);
	assert_int_equal(ec.reason_len, strlen("Allocation Mismatch"));
	assert_memory_equal(ec.reason, "Allocation Mismatch", ec.reason_len);
}

static void test_builder_add_error_code_range(void **state)
{
	static const uint16_t bad[] = {0, 299, 700, 1000};
	struct fixture f;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		start(&f, 0x0111);
		assert_int_equal(tern_stun_add_error_code(&f.b, bad[i], NULL, 0),
		                 TERN_ERR_INVALID_ARG);
	}
	start(&f, 0x0111);
	assert_int_equal(tern_stun_add_error_code(&f.b, 300, "", 0), TERN_OK);
	assert_int_equal(tern_stun_add_error_code(&f.b, 699, "x", 1), TERN_OK);
	assert_int_equal(finish_parse(&f), 20 + 8 + 12);
}

static void test_builder_add_address_error_code_roundtrip(void **state)
{
	struct fixture f;
	struct tern_error_code ec;
	uint8_t family = 0;

	(void)state;
	start(&f, 0x0113);
	assert_int_equal(tern_stun_add_address_error_code(&f.b, TERN_AF_IPV6, 440, NULL, 0),
	                 TERN_OK);
	assert_int_equal(
	    tern_attr_get_address_error_code(only(&f, TERN_ATTR_ADDRESS_ERROR_CODE), &family, &ec),
	    TERN_OK);
	assert_int_equal(family, TERN_AF_IPV6);
	assert_int_equal(ec.code, 440);
	assert_memory_equal(f.buf + 24, "\x02\x00\x04\x28", 4);
}

static void test_builder_add_unknown_attributes_roundtrip(void **state)
{
	static const uint16_t types[] = {0x7FFE, 0x0031, 0x001F};
	struct fixture f;
	uint16_t out[4] = {0};
	size_t n = 0;

	(void)state;
	start(&f, 0x0111);
	assert_int_equal(tern_stun_add_unknown_attributes(&f.b, types, ARRAY_LEN(types)), TERN_OK);
	assert_int_equal(tern_attr_get_unknown_attributes(only(&f, TERN_ATTR_UNKNOWN_ATTRIBUTES),
	                                                  out, ARRAY_LEN(out), &n),
	                 TERN_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, types, sizeof(types));
	assert_int_equal(f.msg.attrs[0].len, 6);
}

static void test_builder_add_password_algorithms_roundtrip(void **state)
{
	const struct tern_password_alg_entry in[2] = {{.alg = TERN_PWALG_MD5},
	                                              {.alg = TERN_PWALG_SHA256}};
	struct tern_password_alg_entry out[2];
	struct fixture f;
	size_t n = 0;

	(void)state;
	start(&f, 0x0111);
	assert_int_equal(tern_stun_add_password_algorithms(&f.b, in, 2), TERN_OK);
	assert_first_attr(&f, "80020008 00010000 00020000");
	assert_int_equal(
	    tern_attr_get_password_algorithms(only(&f, TERN_ATTR_PASSWORD_ALGORITHMS), out, 2, &n),
	    TERN_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[1].alg, TERN_PWALG_SHA256);
	start(&f, BINDING_REQUEST);
	assert_int_equal(tern_stun_add_password_algorithm(&f.b, &in[1]), TERN_OK);
	assert_first_attr(&f, "001d0004 00020000");
	assert_int_equal(
	    tern_attr_get_password_algorithm(only(&f, TERN_ATTR_PASSWORD_ALGORITHM), &out[0]),
	    TERN_OK);
	assert_int_equal(out[0].alg, TERN_PWALG_SHA256);
}

static void test_builder_add_icmp_roundtrip(void **state)
{
	const struct tern_icmp in = {.type = 3, .code = 4, .error_data = 1280};
	struct tern_icmp out;
	struct fixture f;

	(void)state;
	start(&f, TERN_TURN_DATA);
	assert_int_equal(tern_stun_add_icmp(&f.b, &in), TERN_OK);
	assert_first_attr(&f, "80040008 00000304 00000500");
	assert_int_equal(tern_attr_get_icmp(only(&f, TERN_ATTR_ICMP), &out), TERN_OK);
	assert_int_equal(out.type, 3);
	assert_int_equal(out.code, 4);
	assert_int_equal(out.error_data, 1280);
}

static void test_builder_add_bad_args(void **state)
{
	struct fixture f;
	struct tern_addr a = {.family = 3, .port = 1};

	(void)state;
	start(&f, BINDING_REQUEST);
	assert_int_equal(tern_stun_add_address(&f.b, TERN_ATTR_MAPPED_ADDRESS, &a),
	                 TERN_ERR_INVALID_ARG);
	a.family = TERN_AF_NONE;
	start(&f, BINDING_REQUEST);
	assert_int_equal(tern_stun_add_xor_address(&f.b, TERN_ATTR_XOR_PEER_ADDRESS, &a),
	                 TERN_ERR_INVALID_ARG);
	for (size_t mac_len = 0; mac_len <= 40; mac_len++) {
		start(&f, BINDING_REQUEST);
		if (mac_len >= 16 && mac_len <= 32 && mac_len % 4 == 0)
			continue;
		assert_int_equal(tern_stun_add_integrity_sha256(&f.b, key, 8, mac_len),
		                 TERN_ERR_INVALID_ARG);
	}
}

/* FINGERPRINT is last: any add after it fails, and so does the build. */
static void test_builder_add_after_fingerprint(void **state)
{
	struct fixture f;
	size_t len = 0;

	(void)state;
	start(&f, BINDING_REQUEST);
	assert_int_equal(tern_stun_add_fingerprint(&f.b), TERN_OK);
	assert_int_not_equal(tern_stun_add_u32(&f.b, TERN_ATTR_LIFETIME, 1), TERN_OK);
	assert_int_not_equal(tern_stun_build_finish(&f.b, &len), TERN_OK);
	assert_int_equal(tu_get16(f.buf + 2), 8);
}

/* The header Length is 16 bits: the body stops at 65532 bytes, whatever the capacity. */
static void test_builder_add_body_limit(void **state)
{
	static uint8_t buf[2 * TERN_STUN_MAX_MSG];
	static uint8_t data[65536];
	struct tern_stun_builder b;
	size_t len = 0;

	(void)state;
	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf), 0x0016, tu_txid), TERN_OK);
	assert_int_not_equal(tern_stun_add_raw(&b, TERN_ATTR_DATA, data, 65536), TERN_OK);
	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf), 0x0016, tu_txid), TERN_OK);
	assert_int_equal(tern_stun_add_raw(&b, TERN_ATTR_DATA, data, 40000), TERN_OK);
	assert_int_equal(tern_stun_add_raw(&b, TERN_ATTR_DATA, data, 40000), TERN_ERR_NO_SPACE);
	assert_int_equal(tu_get16(buf + 2), 40004);
	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf), 0x0016, tu_txid), TERN_OK);
	assert_int_equal(tern_stun_add_raw(&b, TERN_ATTR_DATA, data, 65528), TERN_OK);
	assert_int_equal(tern_stun_build_finish(&b, &len), TERN_OK);
	assert_int_equal(len, TERN_STUN_MAX_MSG);
	assert_int_equal(tu_get16(buf + 2), 65532);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builder_start_header),
	    cmocka_unit_test(test_builder_start_small_cap),
	    cmocka_unit_test(test_builder_add_u32_bytes),
	    cmocka_unit_test(test_builder_add_raw_zero_padding),
	    cmocka_unit_test(test_builder_add_reserve_in_place),
	    cmocka_unit_test(test_builder_add_string_limit),
	    cmocka_unit_test(test_builder_poison_first_error),
	    cmocka_unit_test(test_builder_finish_every_capacity),
	    cmocka_unit_test(test_builder_add_address_roundtrip),
	    cmocka_unit_test(test_builder_add_xor_address_rfc5769),
	    cmocka_unit_test(test_builder_add_scalars_roundtrip),
	    cmocka_unit_test(test_builder_add_string_roundtrip),
	    cmocka_unit_test(test_builder_add_error_code_roundtrip),
	    cmocka_unit_test(test_builder_add_error_code_range),
	    cmocka_unit_test(test_builder_add_address_error_code_roundtrip),
	    cmocka_unit_test(test_builder_add_unknown_attributes_roundtrip),
	    cmocka_unit_test(test_builder_add_password_algorithms_roundtrip),
	    cmocka_unit_test(test_builder_add_icmp_roundtrip),
	    cmocka_unit_test(test_builder_add_bad_args),
	    cmocka_unit_test(test_builder_add_after_fingerprint),
	    cmocka_unit_test(test_builder_add_body_limit),
	};
	return cmocka_run_group_tests_name("builder", tests, NULL, NULL);
}
