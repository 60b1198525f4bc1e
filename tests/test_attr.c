/*
 * test_attr.c - the typed attribute decoders (tern_attr_get_*), the kind
 * table and registry names. Attributes are made directly from hex values,
 * without a message around them.
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

#define ARRAY_LEN(a)  (sizeof(a) / sizeof((a)[0]))
#define RFC5769_TXID  "b7e7a701bc34d686fa87dfae"
#define LONG_TEXT_LEN (TERN_STUN_MAX_STRING + 1u)

/* An attribute over caller storage (value bytes decoded from hex). */
struct hex_attr {
	uint8_t bytes[1024];
	struct tern_attr a;
};

static const struct tern_attr *mk(struct hex_attr *h, uint16_t type, const char *hex)
{
	size_t n = tu_hex(hex, h->bytes, sizeof(h->bytes));

	h->a = (struct tern_attr){.type = type, .len = (uint16_t)n, .value = h->bytes};
	return &h->a;
}

static const struct tern_attr *mk_raw(struct hex_attr *h, uint16_t type, const void *v, size_t n)
{
	assert_true(n <= sizeof(h->bytes));
	memcpy(h->bytes, v, n);
	h->a = (struct tern_attr){.type = type, .len = (uint16_t)n, .value = h->bytes};
	return &h->a;
}

static void test_attr_get_address_ipv4(void **state)
{
	struct hex_attr h;
	struct tern_addr addr;

	(void)state;
	memset(&addr, 0, sizeof(addr));
	assert_int_equal(
	    tern_attr_get_address(mk(&h, TERN_ATTR_MAPPED_ADDRESS, "00010d96c0000201"), &addr),
	    TERN_OK);
	assert_int_equal(addr.family, TERN_AF_IPV4);
	assert_int_equal(addr.port, 3478);
	assert_memory_equal(addr.addr, "\xc0\x00\x02\x01", 4);
}

static void test_attr_get_address_ipv6(void **state)
{
	struct hex_attr h;
	struct tern_addr addr;

	(void)state;
	assert_int_equal(tern_attr_get_address(mk(&h, TERN_ATTR_ALTERNATE_SERVER,
	                                          "000214e520010db8000000000000000000000001"),
	                                       &addr),
	                 TERN_OK);
	assert_int_equal(addr.family, TERN_AF_IPV6);
	assert_int_equal(addr.port, 5349);
	assert_memory_equal(addr.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
}

static void test_attr_get_address_malformed(void **state)
{
	static const char *const bad[] = {
	    "00030d96c0000201",   "00000d96c0000201", "00010d96c00002",
	    "00010d96c000020100", "00020d96c0000201", "",
	};
	struct hex_attr h;
	struct tern_addr addr;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(
		    tern_attr_get_address(mk(&h, TERN_ATTR_MAPPED_ADDRESS, bad[i]), &addr),
		    TERN_ERR_MALFORMED);
	/* a 4-byte LIFETIME has no address shape */
	assert_int_equal(tern_attr_get_address(mk(&h, TERN_ATTR_LIFETIME, "00000e10"), &addr),
	                 TERN_ERR_MALFORMED);
}

/* RFC 5769 §2.2: 192.0.2.1:32853. */
static void test_attr_get_xor_address_ipv4(void **state)
{
	struct hex_attr h;
	struct tern_addr addr;
	uint8_t txid[TERN_STUN_TXID_LEN];

	(void)state;
	tu_hex(RFC5769_TXID, txid, sizeof(txid));
	assert_int_equal(tern_attr_get_xor_address(
	                     mk(&h, TERN_ATTR_XOR_MAPPED_ADDRESS, "0001a147e112a643"), txid, &addr),
	                 TERN_OK);
	assert_int_equal(addr.family, TERN_AF_IPV4);
	assert_int_equal(addr.port, 32853);
	assert_memory_equal(addr.addr, "\xc0\x00\x02\x01", 4);
}

/* RFC 5769 §2.3: the IPv6 address is XORed with cookie || transaction id. */
static void test_attr_get_xor_address_ipv6(void **state)
{
	struct hex_attr h;
	struct tern_addr addr;
	uint8_t txid[TERN_STUN_TXID_LEN];
	uint8_t want[16];

	(void)state;
	tu_hex(RFC5769_TXID, txid, sizeof(txid));
	tu_hex("20010db8123456780011223344556677", want, sizeof(want));
	assert_int_equal(tern_attr_get_xor_address(mk(&h, TERN_ATTR_XOR_MAPPED_ADDRESS,
	                                              "0002a1470113a9faa5d3f179bc25f4b5bed2b9d9"),
	                                           txid, &addr),
	                 TERN_OK);
	assert_int_equal(addr.family, TERN_AF_IPV6);
	assert_int_equal(addr.port, 32853);
	assert_memory_equal(addr.addr, want, 16);
	txid[11] ^= 0x01; /* the last address byte depends on the last txid byte */
	assert_int_equal(tern_attr_get_xor_address(&h.a, txid, &addr), TERN_OK);
	assert_int_equal(addr.addr[15], want[15] ^ 0x01);
}

static void test_attr_get_xor_address_malformed(void **state)
{
	static const char *const bad[] = {"0003a147e112a643", "0001a147e112a6", "0002a147e112a643",
	                                  "0001a147e112a64300000000"};
	struct hex_attr h;
	struct tern_addr addr;
	uint8_t txid[TERN_STUN_TXID_LEN] = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(tern_attr_get_xor_address(
		                     mk(&h, TERN_ATTR_XOR_PEER_ADDRESS, bad[i]), txid, &addr),
		                 TERN_ERR_MALFORMED);
}

static void test_attr_get_string_ok(void **state)
{
	static const char *const good[] = {
	    "alice",
	    "",
	    "\xe3\x83\x9e\xe3\x83\x88", /* U+30DE U+30C8 */
	    "\xf0\x9f\x98\x80",         /* U+1F600 */
	    "\xc2\xa0\xef\xbf\xbd",     /* U+00A0 U+FFFD */
	};
	struct hex_attr h;
	const uint8_t *text = NULL;
	size_t len = 99;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		mk_raw(&h, TERN_ATTR_USERNAME, good[i], strlen(good[i]));
		assert_int_equal(tern_attr_get_string(&h.a, &text, &len), TERN_OK);
		assert_ptr_equal(text, h.bytes);
		assert_int_equal(len, strlen(good[i]));
	}
}

/* Invalid UTF-8 (RFC 3629): stray, overlong, truncated, surrogate, > U+10FFFF. */
static void test_attr_get_string_bad_utf8(void **state)
{
	static const char *const bad[] = {
	    "\xff",
	    "\x80",
	    "abc\xc3",
	    "\xc0\x80",
	    "\xe0\x80\xaf",
	    "\xe3\x83",
	    "\xed\xa0\x80",
	    "\xf4\x90\x80\x80",
	    "\xf8\x88\x80\x80\x80",
	};
	struct hex_attr h;
	const uint8_t *text;
	size_t len;
	size_t accepted = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		mk_raw(&h, TERN_ATTR_REALM, bad[i], strlen(bad[i]));
		if (tern_attr_get_string(&h.a, &text, &len) != TERN_ERR_MALFORMED) {
			print_message("invalid UTF-8 #%zu accepted\n", i);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);
}

static void test_attr_get_string_too_long(void **state)
{
	struct hex_attr h;
	uint8_t text[LONG_TEXT_LEN];
	const uint8_t *out;
	size_t len;

	(void)state;
	memset(text, 'x', sizeof(text));
	mk_raw(&h, TERN_ATTR_SOFTWARE, text, sizeof(text));
	assert_int_equal(tern_attr_get_string(&h.a, &out, &len), TERN_ERR_MALFORMED);
	h.a.len = TERN_STUN_MAX_STRING;
	assert_int_equal(tern_attr_get_string(&h.a, &out, &len), TERN_OK);
	assert_int_equal(len, TERN_STUN_MAX_STRING);
}

static void test_attr_get_u32_ok(void **state)
{
	struct hex_attr h;
	uint32_t v = 0;

	(void)state;
	assert_int_equal(tern_attr_get_u32(mk(&h, TERN_ATTR_LIFETIME, "00000e10"), &v), TERN_OK);
	assert_int_equal(v, 3600);
	assert_int_equal(tern_attr_get_u32(mk(&h, TERN_ATTR_PRIORITY, "6e0001ff"), &v), TERN_OK);
	assert_int_equal(v, 0x6e0001ffu);
}

static void test_attr_get_u32_wrong_length(void **state)
{
	static const char *const bad[] = {"", "000e10", "00000e1000", "00000e1000000000"};
	struct hex_attr h;
	uint32_t v = 77;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(tern_attr_get_u32(mk(&h, TERN_ATTR_LIFETIME, bad[i]), &v),
		                 TERN_ERR_MALFORMED);
	assert_int_equal(v, 77);
}

static void test_attr_get_u64_ok(void **state)
{
	struct hex_attr h;
	uint64_t v = 0;

	(void)state;
	assert_int_equal(
	    tern_attr_get_u64(mk(&h, TERN_ATTR_ICE_CONTROLLED, "932ff9b151263b36"), &v), TERN_OK);
	assert_true(v == 0x932ff9b151263b36ull);
	assert_int_equal(tern_attr_get_u64(mk(&h, TERN_ATTR_ICE_CONTROLLED, "932ff9b1"), &v),
	                 TERN_ERR_MALFORMED);
	assert_int_equal(
	    tern_attr_get_u64(mk(&h, TERN_ATTR_RESERVATION_TOKEN, "932ff9b151263b3600"), &v),
	    TERN_ERR_MALFORMED);
}

static void test_attr_get_u8_ok(void **state)
{
	struct hex_attr h;
	uint8_t v = 0;

	(void)state;
	assert_int_equal(tern_attr_get_u8(mk(&h, TERN_ATTR_REQUESTED_TRANSPORT, "11000000"), &v),
	                 TERN_OK);
	assert_int_equal(v, 17);
	assert_int_equal(
	    tern_attr_get_u8(mk(&h, TERN_ATTR_REQUESTED_ADDRESS_FAMILY, "02000000"), &v), TERN_OK);
	assert_int_equal(v, 2);
}

static void test_attr_get_u8_wrong_length(void **state)
{
	static const char *const bad[] = {"", "11", "110000", "1100000000"};
	struct hex_attr h;
	uint8_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(
		    tern_attr_get_u8(mk(&h, TERN_ATTR_REQUESTED_TRANSPORT, bad[i]), &v),
		    TERN_ERR_MALFORMED);
}

static void test_attr_get_u16_ok(void **state)
{
	struct hex_attr h;
	uint16_t v = 0;

	(void)state;
	assert_int_equal(tern_attr_get_u16(mk(&h, TERN_ATTR_CHANNEL_NUMBER, "40000000"), &v),
	                 TERN_OK);
	assert_int_equal(v, 0x4000);
	assert_int_equal(tern_attr_get_u16(mk(&h, TERN_ATTR_RESPONSE_PORT, "ffff0000"), &v),
	                 TERN_OK);
	assert_int_equal(v, 65535);
}

static void test_attr_get_u16_wrong_length(void **state)
{
	static const char *const bad[] = {"", "4000", "400000", "4000000000"};
	struct hex_attr h;
	uint16_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(tern_attr_get_u16(mk(&h, TERN_ATTR_CHANNEL_NUMBER, bad[i]), &v),
		                 TERN_ERR_MALFORMED);
}

static void test_attr_get_even_port_flag(void **state)
{
	struct hex_attr h;
	bool reserve = false;

	(void)state;
	assert_int_equal(tern_attr_get_even_port(mk(&h, TERN_ATTR_EVEN_PORT, "80"), &reserve),
	                 TERN_OK);
	assert_true(reserve);
	assert_int_equal(tern_attr_get_even_port(mk(&h, TERN_ATTR_EVEN_PORT, "00"), &reserve),
	                 TERN_OK);
	assert_false(reserve);
	assert_int_equal(tern_attr_get_even_port(mk(&h, TERN_ATTR_EVEN_PORT, ""), &reserve),
	                 TERN_ERR_MALFORMED);
	assert_int_equal(tern_attr_get_even_port(mk(&h, TERN_ATTR_EVEN_PORT, "80000000"), &reserve),
	                 TERN_ERR_MALFORMED);
}

static void test_attr_get_error_code_ok(void **state)
{
	struct hex_attr h;
	struct tern_error_code ec;

	(void)state;
	assert_int_equal(
	    tern_attr_get_error_code(
	        mk(&h, TERN_ATTR_ERROR_CODE, "00000401556e61757468656e74696361746564"), &ec),
	    TERN_OK);
	assert_int_equal(ec.code, 401);
	assert_int_equal(ec.reason_len, 15);
	assert_memory_equal(ec.reason, "Unauthenticated", 15);
	assert_int_equal(tern_attr_get_error_code(mk(&h, TERN_ATTR_ERROR_CODE, "00000663"), &ec),
	                 TERN_OK);
	assert_int_equal(ec.code, 699);
	assert_int_equal(ec.reason_len, 0);
}

static void test_attr_get_error_code_malformed(void **state)
{
	static const char *const bad[] = {"00000201", "00000701", "00000464",
	                                  "000003ff", "000004",   ""};
	struct hex_attr h;
	struct tern_error_code ec;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(
		    tern_attr_get_error_code(mk(&h, TERN_ATTR_ERROR_CODE, bad[i]), &ec),
		    TERN_ERR_MALFORMED);
}

static void test_attr_get_error_code_long_reason(void **state)
{
	struct hex_attr h;
	struct tern_error_code ec;
	uint8_t v[4 + LONG_TEXT_LEN];

	(void)state;
	memset(v, 'r', sizeof(v));
	tu_hex("00000400", v, 4);
	assert_int_equal(
	    tern_attr_get_error_code(mk_raw(&h, TERN_ATTR_ERROR_CODE, v, sizeof(v)), &ec),
	    TERN_ERR_MALFORMED);
}

/* RFC 8656 §18.12: family, reserved, class, number, reason. */
static void test_attr_get_address_error_code_ok(void **state)
{
	struct hex_attr h;
	struct tern_error_code ec;
	uint8_t family = 0;

	(void)state;
	assert_int_equal(tern_attr_get_address_error_code(
	                     mk(&h, TERN_ATTR_ADDRESS_ERROR_CODE, "0200042841463f"), &family, &ec),
	                 TERN_OK);
	assert_int_equal(family, TERN_AF_IPV6);
	assert_int_equal(ec.code, 440);
	assert_int_equal(ec.reason_len, 3);
	assert_memory_equal(ec.reason, "AF?", 3);
	assert_int_equal(tern_attr_get_address_error_code(
	                     mk(&h, TERN_ATTR_ADDRESS_ERROR_CODE, "01000201"), &family, &ec),
	                 TERN_ERR_MALFORMED);
	assert_int_equal(tern_attr_get_address_error_code(
	                     mk(&h, TERN_ATTR_ADDRESS_ERROR_CODE, "0100"), &family, &ec),
	                 TERN_ERR_MALFORMED);
}

static void test_attr_get_unknown_attributes_list(void **state)
{
	struct hex_attr h;
	uint16_t types[4] = {0};
	size_t n = 0;

	(void)state;
	mk(&h, TERN_ATTR_UNKNOWN_ATTRIBUTES, "7ffe0031001f");
	assert_int_equal(tern_attr_get_unknown_attributes(&h.a, types, 4, &n), TERN_OK);
	assert_int_equal(n, 3);
	assert_int_equal(types[0], 0x7FFE);
	assert_int_equal(types[1], 0x0031);
	assert_int_equal(types[2], 0x001F);
	memset(types, 0, sizeof(types));
	assert_int_equal(tern_attr_get_unknown_attributes(&h.a, types, 1, &n), TERN_OK);
	assert_int_equal(n, 3);
	assert_int_equal(types[0], 0x7FFE);
	assert_int_equal(types[1], 0);
}

static void test_attr_get_unknown_attributes_odd_length(void **state)
{
	struct hex_attr h;
	uint16_t types[4];
	size_t n;

	(void)state;
	mk(&h, TERN_ATTR_UNKNOWN_ATTRIBUTES, "7ffe00");
	assert_int_equal(tern_attr_get_unknown_attributes(&h.a, types, 4, &n), TERN_ERR_MALFORMED);
}

static void test_attr_get_password_algorithm_ok(void **state)
{
	struct hex_attr h;
	struct tern_password_alg_entry e;

	(void)state;
	mk(&h, TERN_ATTR_PASSWORD_ALGORITHM, "00020000");
	assert_int_equal(tern_attr_get_password_algorithm(&h.a, &e), TERN_OK);
	assert_int_equal(e.alg, TERN_PWALG_SHA256);
	assert_int_equal(e.params_len, 0);
	mk(&h, TERN_ATTR_PASSWORD_ALGORITHM, "00010004deadbeef");
	assert_int_equal(tern_attr_get_password_algorithm(&h.a, &e), TERN_OK);
	assert_int_equal(e.alg, TERN_PWALG_MD5);
	assert_int_equal(e.params_len, 4);
	assert_ptr_equal(e.params, h.bytes + 4);
}

static void test_attr_get_password_algorithm_malformed(void **state)
{
	static const char *const bad[] = {"", "0002", "000200", "00010008deadbeef",
	                                  "00020000deadbeef"};
	struct hex_attr h;
	struct tern_password_alg_entry e;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (tern_attr_get_password_algorithm(mk(&h, TERN_ATTR_PASSWORD_ALGORITHM, bad[i]),
		                                     &e) != TERN_ERR_MALFORMED)
			fail_msg("PASSWORD-ALGORITHM %s accepted", bad[i]);
}

static void test_attr_get_password_algorithms_list(void **state)
{
	struct hex_attr h;
	struct tern_password_alg_entry e[3];
	size_t n = 0;

	(void)state;
	memset(e, 0, sizeof(e));
	mk(&h, TERN_ATTR_PASSWORD_ALGORITHMS, "0001000000020000");
	assert_int_equal(tern_attr_get_password_algorithms(&h.a, e, 3, &n), TERN_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].alg, TERN_PWALG_MD5);
	assert_int_equal(e[1].alg, TERN_PWALG_SHA256);
	memset(e, 0, sizeof(e));
	assert_int_equal(tern_attr_get_password_algorithms(&h.a, e, 1, &n), TERN_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].alg, TERN_PWALG_MD5);
	assert_int_equal(e[1].alg, 0);
}

static void test_attr_get_password_algorithms_truncated(void **state)
{
	struct hex_attr h;
	struct tern_password_alg_entry e[3];
	size_t n;

	(void)state;
	mk(&h, TERN_ATTR_PASSWORD_ALGORITHMS, "000100000002");
	assert_int_equal(tern_attr_get_password_algorithms(&h.a, e, 3, &n), TERN_ERR_MALFORMED);
	mk(&h, TERN_ATTR_PASSWORD_ALGORITHMS, "0001000400");
	assert_int_equal(tern_attr_get_password_algorithms(&h.a, e, 3, &n), TERN_ERR_MALFORMED);
}

/* RFC 8656 §18.13: reserved 16 bits, type, code, error data. */
static void test_attr_get_icmp_ok(void **state)
{
	struct hex_attr h;
	struct tern_icmp icmp;

	(void)state;
	memset(&icmp, 0, sizeof(icmp));
	assert_int_equal(tern_attr_get_icmp(mk(&h, TERN_ATTR_ICMP, "00000304000005dc"), &icmp),
	                 TERN_OK);
	assert_int_equal(icmp.type, 3);
	assert_int_equal(icmp.code, 4);
	assert_int_equal(icmp.error_data, 1500);
	assert_int_equal(tern_attr_get_icmp(mk(&h, TERN_ATTR_ICMP, "00000304"), &icmp),
	                 TERN_ERR_MALFORMED);
	assert_int_equal(tern_attr_get_icmp(mk(&h, TERN_ATTR_ICMP, "00000304000005dc00"), &icmp),
	                 TERN_ERR_MALFORMED);
}

static void test_attr_validate_kinds(void **state)
{
	struct hex_attr h;

	(void)state;
	assert_int_equal(tern_attr_validate(mk(&h, TERN_ATTR_LIFETIME, "00000e10")), TERN_OK);
	assert_int_equal(tern_attr_validate(mk(&h, TERN_ATTR_LIFETIME, "000e10")),
	                 TERN_ERR_MALFORMED);
	assert_int_equal(tern_attr_validate(mk(&h, TERN_ATTR_USERHASH, "00")), TERN_ERR_MALFORMED);
	assert_int_equal(tern_attr_validate(mk(&h, TERN_ATTR_DATA, "")), TERN_OK);
	assert_int_equal(
	    tern_attr_validate(mk(&h, TERN_ATTR_XOR_RELAYED_ADDRESS, "0005a147e112a643")),
	    TERN_ERR_MALFORMED);
	assert_int_equal(tern_attr_validate(mk(&h, TERN_ATTR_MESSAGE_INTEGRITY_SHA256,
	                                       "000000000000000000000000000000000000000000000000")),
	                 TERN_OK);
}

static void test_attr_kind_of_table(void **state)
{
	static const struct {
		uint16_t type;
		enum tern_attr_kind kind;
	} table[] = {
	    {TERN_ATTR_MAPPED_ADDRESS, TERN_KIND_ADDRESS},
	    {TERN_ATTR_XOR_PEER_ADDRESS, TERN_KIND_XOR_ADDRESS},
	    {TERN_ATTR_XOR_RELAYED_ADDRESS, TERN_KIND_XOR_ADDRESS},
	    {TERN_ATTR_USERNAME, TERN_KIND_STRING},
	    {TERN_ATTR_SOFTWARE, TERN_KIND_STRING},
	    {TERN_ATTR_DATA, TERN_KIND_BYTES},
	    {TERN_ATTR_DONT_FRAGMENT, TERN_KIND_EMPTY},
	    {TERN_ATTR_REQUESTED_TRANSPORT, TERN_KIND_U8_RSVD3},
	    {TERN_ATTR_EVEN_PORT, TERN_KIND_EVEN_PORT},
	    {TERN_ATTR_CHANNEL_NUMBER, TERN_KIND_U16_RSVD2},
	    {TERN_ATTR_LIFETIME, TERN_KIND_U32},
	    {TERN_ATTR_ICE_CONTROLLING, TERN_KIND_U64},
	    {TERN_ATTR_ERROR_CODE, TERN_KIND_ERROR_CODE},
	    {TERN_ATTR_MESSAGE_INTEGRITY, TERN_KIND_MESSAGE_INTEGRITY},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, TERN_KIND_MESSAGE_INTEGRITY_SHA256},
	    {TERN_ATTR_USERHASH, TERN_KIND_USERHASH},
	    {TERN_ATTR_FINGERPRINT, TERN_KIND_FINGERPRINT},
	    {0x0002, TERN_KIND_UNKNOWN},
	    {0x7FFE, TERN_KIND_UNKNOWN},
	    {0xC0DE, TERN_KIND_UNKNOWN},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(table); i++)
		assert_int_equal(tern_attr_kind_of(table[i].type), table[i].kind);
}

static void test_attr_name_registry(void **state)
{
	(void)state;
	assert_string_equal(tern_attr_name(TERN_ATTR_XOR_PEER_ADDRESS), "XOR-PEER-ADDRESS");
	assert_string_equal(tern_attr_name(TERN_ATTR_MESSAGE_INTEGRITY_SHA256),
	                    "MESSAGE-INTEGRITY-SHA256");
	assert_string_equal(tern_attr_name(TERN_ATTR_MOBILITY_TICKET), "MOBILITY-TICKET");
	assert_null(tern_attr_name(0x7FFE));
	assert_string_equal(tern_stun_reason(401), "Unauthenticated");
	assert_string_equal(tern_stun_reason(437), "Allocation Mismatch");
	assert_string_equal(tern_stun_reason(508), "Insufficient Capacity");
	assert_string_equal(tern_stun_reason(499), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_attr_get_address_ipv4),
	    cmocka_unit_test(test_attr_get_address_ipv6),
	    cmocka_unit_test(test_attr_get_address_malformed),
	    cmocka_unit_test(test_attr_get_xor_address_ipv4),
	    cmocka_unit_test(test_attr_get_xor_address_ipv6),
	    cmocka_unit_test(test_attr_get_xor_address_malformed),
	    cmocka_unit_test(test_attr_get_string_ok),
	    cmocka_unit_test(test_attr_get_string_bad_utf8),
	    cmocka_unit_test(test_attr_get_string_too_long),
	    cmocka_unit_test(test_attr_get_u32_ok),
	    cmocka_unit_test(test_attr_get_u32_wrong_length),
	    cmocka_unit_test(test_attr_get_u64_ok),
	    cmocka_unit_test(test_attr_get_u8_ok),
	    cmocka_unit_test(test_attr_get_u8_wrong_length),
	    cmocka_unit_test(test_attr_get_u16_ok),
	    cmocka_unit_test(test_attr_get_u16_wrong_length),
	    cmocka_unit_test(test_attr_get_even_port_flag),
	    cmocka_unit_test(test_attr_get_error_code_ok),
	    cmocka_unit_test(test_attr_get_error_code_malformed),
	    cmocka_unit_test(test_attr_get_error_code_long_reason),
	    cmocka_unit_test(test_attr_get_address_error_code_ok),
	    cmocka_unit_test(test_attr_get_unknown_attributes_list),
	    cmocka_unit_test(test_attr_get_unknown_attributes_odd_length),
	    cmocka_unit_test(test_attr_get_password_algorithm_ok),
	    cmocka_unit_test(test_attr_get_password_algorithm_malformed),
	    cmocka_unit_test(test_attr_get_password_algorithms_list),
	    cmocka_unit_test(test_attr_get_password_algorithms_truncated),
	    cmocka_unit_test(test_attr_get_icmp_ok),
	    cmocka_unit_test(test_attr_validate_kinds),
	    cmocka_unit_test(test_attr_kind_of_table),
	    cmocka_unit_test(test_attr_name_registry),
	};
	return cmocka_run_group_tests_name("attr", tests, NULL, NULL);
}
