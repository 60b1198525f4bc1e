/*
 * test_integrity.c - MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT (build and check), key derivation, USERHASH, the TURN REST
 * password, HMAC helpers, constant-time compare and the nonce cookie.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "crc32.h"
#include "tern_codec.h"
#include "testutil.h"

#define ARRAY_LEN(a)    (sizeof(a) / sizeof((a)[0]))
#define BUF_CAP         512u
#define BINDING_REQUEST 0x0001u
#define MATRIX_USER     "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9"

/* RFC 5769 §2.1, short-term key "VOkJxbRl1RmTxUk/WvJxBt". */
static const char rfc5769_request[] = "000100582112a442b7e7a701bc34d686fa87dfae"
                                      "802200105354554e207465737420636c69656e74"
                                      "002400046e0001ff"
                                      "80290008932ff9b151263b36"
                                      "000600096576746a3a68367659202020"
                                      "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
                                      "80280004e57a3bcf";
static const uint8_t short_key[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define SHORT_KEY_LEN (sizeof(short_key) - 1)

struct wire {
	uint8_t buf[BUF_CAP];
	size_t len;
	struct tern_stun_msg msg;
};

static void load_rfc5769(struct wire *w)
{
	w->len = tu_hex(rfc5769_request, w->buf, sizeof(w->buf));
	assert_int_equal(tern_stun_parse(w->buf, w->len, &w->msg), TERN_OK);
}

/* SOFTWARE, USERNAME, then MI (mac_len 0: none), MI-SHA256 (0: none), FINGERPRINT. */
static void build_signed(struct wire *w, bool mi, size_t mac256_len, bool fp)
{
	struct tern_stun_builder b;

	assert_int_equal(
	    tern_stun_build_start(&b, w->buf, sizeof(w->buf), BINDING_REQUEST, tu_txid), TERN_OK);
	assert_int_equal(tern_stun_add_string(&b, TERN_ATTR_SOFTWARE, "tern test", 9), TERN_OK);
	assert_int_equal(tern_stun_add_string(&b, TERN_ATTR_USERNAME, "alice", 5), TERN_OK);
	if (mi)
		assert_int_equal(tern_stun_add_integrity(&b, short_key, SHORT_KEY_LEN), TERN_OK);
	if (mac256_len > 0)
		assert_int_equal(
		    tern_stun_add_integrity_sha256(&b, short_key, SHORT_KEY_LEN, mac256_len),
		    TERN_OK);
	if (fp)
		assert_int_equal(tern_stun_add_fingerprint(&b), TERN_OK);
	assert_int_equal(tern_stun_build_finish(&b, &w->len), TERN_OK);
	assert_int_equal(tern_stun_parse(w->buf, w->len, &w->msg), TERN_OK);
}

static void test_integrity_check_rfc5769(void **state)
{
	struct wire w;
	uint8_t wrong[SHORT_KEY_LEN];

	(void)state;
	load_rfc5769(&w);
	assert_int_equal(tern_stun_check_integrity(&w.msg, short_key, SHORT_KEY_LEN), TERN_OK);
	memcpy(wrong, short_key, sizeof(wrong));
	wrong[0] ^= 0x20;
	assert_int_equal(tern_stun_check_integrity(&w.msg, wrong, sizeof(wrong)),
	                 TERN_ERR_INTEGRITY);
	assert_int_equal(tern_stun_check_integrity(&w.msg, short_key, SHORT_KEY_LEN - 1),
	                 TERN_ERR_INTEGRITY);
	assert_int_equal(tern_stun_check_integrity(&w.msg, short_key, 0), TERN_ERR_INTEGRITY);
}

static void test_integrity_check_absent(void **state)
{
	struct wire w;

	(void)state;
	build_signed(&w, false, 0, true);
	assert_int_equal(tern_stun_check_integrity(&w.msg, short_key, SHORT_KEY_LEN),
	                 TERN_ERR_NOT_FOUND);
	assert_int_equal(tern_stun_check_integrity_sha256(&w.msg, short_key, SHORT_KEY_LEN),
	                 TERN_ERR_NOT_FOUND);
	build_signed(&w, true, 0, false);
	assert_int_equal(tern_stun_check_integrity_sha256(&w.msg, short_key, SHORT_KEY_LEN),
	                 TERN_ERR_NOT_FOUND);
	assert_int_equal(tern_stun_check_fingerprint(&w.msg), TERN_ERR_NOT_FOUND);
}

static void test_integrity_check_sha256_truncated(void **state)
{
	struct wire w;

	(void)state;
	for (size_t mac_len = 16; mac_len <= 32; mac_len += 4) {
		build_signed(&w, false, mac_len, true);
		assert_int_equal(w.msg.mi256_index, 2);
		assert_int_equal(w.msg.attrs[2].len, mac_len);
		assert_int_equal(tern_stun_check_integrity_sha256(&w.msg, short_key, SHORT_KEY_LEN),
		                 TERN_OK);
		assert_int_equal(tern_stun_check_integrity_sha256(&w.msg, short_key, 8),
		                 TERN_ERR_INTEGRITY);
		assert_int_equal(tern_stun_check_fingerprint(&w.msg), TERN_OK);
	}
}

/*
 * The MAC is the HMAC over everything before the attribute, with the header
 * Length counting up to the end of the attribute (FINGERPRINT excluded),
 * truncated to the attribute length (RFC 8489 §14.5, §14.6).
 */
static void check_mac_value(size_t mac256_len)
{
	struct wire w;
	const struct tern_attr *a;
	uint8_t copy[BUF_CAP], mac[32];
	size_t covered;

	build_signed(&w, mac256_len == 0, mac256_len, true);
	a = &w.msg.attrs[2];
	covered = a->offset;
	memcpy(copy, w.buf, covered);
	tu_put16(copy + 2, (uint16_t)(covered + 4 + a->len - TERN_STUN_HEADER_LEN));
	if (mac256_len == 0) {
		tern_hmac_sha1(short_key, SHORT_KEY_LEN, copy, covered, mac);
		assert_int_equal(a->len, 20);
	} else {
		tern_hmac_sha256(short_key, SHORT_KEY_LEN, copy, covered, mac);
		assert_int_equal(a->len, mac256_len);
	}
	assert_memory_equal(a->value, mac, a->len);
}

static void test_integrity_add_mac_value(void **state)
{
	(void)state;
	check_mac_value(0);
	check_mac_value(16);
	check_mac_value(28);
	check_mac_value(32);
}

/* MI and MI-SHA256 together: both verify; FINGERPRINT after both. */
static void test_integrity_check_both(void **state)
{
	struct wire w;

	(void)state;
	build_signed(&w, true, 32, true);
	assert_int_equal(w.msg.mi_index, 2);
	assert_int_equal(w.msg.mi256_index, 3);
	assert_int_equal(w.msg.fp_index, 4);
	assert_int_equal(tern_stun_check_integrity(&w.msg, short_key, SHORT_KEY_LEN), TERN_OK);
	assert_int_equal(tern_stun_check_integrity_sha256(&w.msg, short_key, SHORT_KEY_LEN),
	                 TERN_OK);
	assert_int_equal(tern_stun_check_fingerprint(&w.msg), TERN_OK);
}

/*
 * MI-SHA256 after MI and an ignored attribute: its HMAC covers everything
 * before it, ignored attribute included (RFC 8489 §14.6). Written by hand.
 */
static void test_integrity_check_sha256_covers_ignored(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	uint8_t mac[32];
	size_t offset;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_SOFTWARE, "tern", 4);
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY, "0123456789abcdefghij", 20);
	tu_msg_attr(&m, TERN_ATTR_USERNAME, "ignored", 7);
	offset = m.len;
	tu_msg_set_length(&m, (uint16_t)(offset + 4 + 32 - TERN_STUN_HEADER_LEN));
	tern_hmac_sha256(short_key, SHORT_KEY_LEN, m.buf, offset, mac);
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY_SHA256, mac, sizeof(mac));
	tu_msg_attr(&m, TERN_ATTR_FINGERPRINT, "\0\0\0\0", 4);
	tu_parse_ok(&m, &msg);
	assert_null(tern_stun_find(&msg, TERN_ATTR_USERNAME));
	assert_int_equal(tern_stun_check_integrity_sha256(&msg, short_key, SHORT_KEY_LEN), TERN_OK);
	assert_int_equal(tern_stun_check_integrity(&msg, short_key, SHORT_KEY_LEN),
	                 TERN_ERR_INTEGRITY);
	m.buf[offset - 4] ^= 0x01; /* inside the ignored USERNAME */
	tu_parse_ok(&m, &msg);
	assert_int_equal(tern_stun_check_integrity_sha256(&msg, short_key, SHORT_KEY_LEN),
	                 TERN_ERR_INTEGRITY);
}

/* A FINGERPRINT past offset 65535 (possible over TCP) is still found and checked. */
static void test_integrity_check_fingerprint_large_offset(void **state)
{
	static uint8_t buf[TERN_STUN_MAX_MSG];
	static uint8_t data[65516];
	struct tern_stun_builder b;
	struct tern_stun_msg msg;
	size_t len = 0;

	(void)state;
	memset(data, 0x5A, sizeof(data));
	assert_int_equal(
	    tern_stun_build_start(&b, buf, sizeof(buf), TERN_TURN_SEND | 0x0010, tu_txid), TERN_OK);
	assert_int_equal(tern_stun_add_raw(&b, TERN_ATTR_DATA, data, sizeof(data)), TERN_OK);
	assert_int_equal(tern_stun_add_fingerprint(&b), TERN_OK);
	assert_int_equal(tern_stun_build_finish(&b, &len), TERN_OK);
	assert_int_equal(len, 65548);
	assert_int_equal(tern_stun_parse(buf, len, &msg), TERN_OK);
	assert_int_equal(msg.attrs[1].offset, 65540);
	assert_int_equal(tern_stun_check_fingerprint(&msg), TERN_OK);
	buf[65539] ^= 0x01;
	assert_int_equal(tern_stun_parse(buf, len, &msg), TERN_OK);
	assert_int_equal(tern_stun_check_fingerprint(&msg), TERN_ERR_FINGERPRINT);
}

/* Flip each bit of the covered part in turn: the message must not verify. */
static void flip_every_bit(const struct wire *w, size_t end, bool sha256)
{
	uint8_t copy[BUF_CAP];
	struct tern_stun_msg msg;

	for (size_t i = 0; i < end * 8; i++) {
		int rc;

		memcpy(copy, w->buf, w->len);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (tern_stun_parse(copy, w->len, &msg) != TERN_OK)
			continue;
		rc = sha256 ? tern_stun_check_integrity_sha256(&msg, short_key, SHORT_KEY_LEN)
		            : tern_stun_check_integrity(&msg, short_key, SHORT_KEY_LEN);
		if (rc == TERN_OK)
			fail_msg("flipped bit %zu of byte %zu still verifies", i % 8, i / 8);
	}
}

static void test_integrity_check_flipped_bits(void **state)
{
	struct wire w;
	const struct tern_attr *a;

	(void)state;
	build_signed(&w, true, 0, true);
	a = &w.msg.attrs[w.msg.mi_index];
	flip_every_bit(&w, a->offset + 4u + a->len, false);
	build_signed(&w, false, 20, true);
	a = &w.msg.attrs[w.msg.mi256_index];
	flip_every_bit(&w, a->offset + 4u + a->len, true);
}

/* FINGERPRINT is outside MESSAGE-INTEGRITY: damaging it breaks only the CRC. */
static void test_integrity_check_fingerprint_not_covered(void **state)
{
	struct wire w;

	(void)state;
	build_signed(&w, true, 0, true);
	w.buf[w.len - 1] ^= 0x01;
	assert_int_equal(tern_stun_parse(w.buf, w.len, &w.msg), TERN_OK);
	assert_int_equal(tern_stun_check_integrity(&w.msg, short_key, SHORT_KEY_LEN), TERN_OK);
	assert_int_equal(tern_stun_check_fingerprint(&w.msg), TERN_ERR_FINGERPRINT);
}

static void test_integrity_check_fingerprint_rfc5769(void **state)
{
	struct wire w;

	(void)state;
	load_rfc5769(&w);
	assert_int_equal(tern_stun_check_fingerprint(&w.msg), TERN_OK);
	w.buf[24] ^= 0x20; /* 'S' of SOFTWARE -> 's' */
	assert_int_equal(tern_stun_parse(w.buf, w.len, &w.msg), TERN_OK);
	assert_int_equal(tern_stun_check_fingerprint(&w.msg), TERN_ERR_FINGERPRINT);
	assert_int_equal(tern_stun_check_integrity(&w.msg, short_key, SHORT_KEY_LEN),
	                 TERN_ERR_INTEGRITY);
}

/* CRC-32 (zlib's) of everything before the attribute, XOR 0x5354554E. */
static void test_integrity_add_fingerprint_value(void **state)
{
	struct wire w;
	uLong crc;

	(void)state;
	build_signed(&w, false, 0, true);
	assert_int_equal(w.msg.fp_index, 2);
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, w.buf, (uInt)(w.len - 8));
	assert_int_equal(tu_get32(w.buf + w.len - 4), (uint32_t)crc ^ TERN_STUN_FINGERPRINT_XOR);
	assert_int_equal(tu_get32(w.buf + w.len - 8), 0x80280004u);
}

/* RFC 8489 §9.2.2 worked example, and SHA-256 computed with openssl dgst -sha256. */
static void test_integrity_long_term_key_known(void **state)
{
	uint8_t key[TERN_KEY_MAX], want[32];
	size_t key_len = 0;

	(void)state;
	assert_int_equal(tern_stun_long_term_key(TERN_PWALG_MD5, "user", 4, "realm", 5, "pass", 4,
	                                         key, &key_len),
	                 TERN_OK);
	assert_int_equal(key_len, 16);
	tu_hex("8493fbc53ba582fb4c044c456bdc40eb", want, 16);
	assert_memory_equal(key, want, 16);
	/* printf %s alice:example.org:wonderland | openssl dgst -sha256 */
	assert_int_equal(tern_stun_long_term_key(TERN_PWALG_SHA256, "alice", 5, "example.org", 11,
	                                         "wonderland", 10, key, &key_len),
	                 TERN_OK);
	assert_int_equal(key_len, 32);
	tu_hex("f0c3ae808cef897043f79de49549776f1f58cb7c5364e03ab40abac620459848", want, 32);
	assert_memory_equal(key, want, 32);
}

static void test_integrity_long_term_key_unsupported(void **state)
{
	uint8_t key[TERN_KEY_MAX];
	size_t key_len = 0;

	(void)state;
	assert_int_equal(tern_stun_long_term_key(0x0000, "u", 1, "r", 1, "p", 1, key, &key_len),
	                 TERN_ERR_UNSUPPORTED);
	assert_int_equal(tern_stun_long_term_key(0x0003, "u", 1, "r", 1, "p", 1, key, &key_len),
	                 TERN_ERR_UNSUPPORTED);
	assert_int_equal(key_len, 0);
}

/* RFC 8489 App. B.1 (Errata 6268). */
static void test_integrity_userhash_b1(void **state)
{
	uint8_t hash[32], want[32];

	(void)state;
	tern_stun_userhash(MATRIX_USER, strlen(MATRIX_USER), "example.org", 11, hash);
	tu_hex("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704", want, 32);
	assert_memory_equal(hash, want, 32);
}

/*
 * Expected value computed with:
 *   printf %s "1735689600:alice" | openssl dgst -sha1 -hmac "north-secret" -binary | base64
 */
static void test_integrity_rest_password_known(void **state)
{
	static const char user[] = "1735689600:alice";
	char out[TERN_REST_PASSWORD_LEN + 1];

	(void)state;
	memset(out, 'z', sizeof(out));
	assert_int_equal(
	    tern_turn_rest_password("north-secret", 12, user, strlen(user), out, sizeof(out)),
	    TERN_OK);
	assert_string_equal(out, "/Hgk2wzS1yMKgEQRSzOmdlh6bg0=");
	assert_int_equal(strlen(out), TERN_REST_PASSWORD_LEN);
	assert_int_equal(tern_turn_rest_password("north-secret", 12, user, strlen(user), out,
	                                         TERN_REST_PASSWORD_LEN),
	                 TERN_ERR_NO_SPACE);
}

/*
 * A secret longer than the HMAC block is hashed first (RFC 2104). Computed with:
 *   printf %s "1735689600:bob" | openssl dgst -sha1 -hmac "$(printf 'k%.0s' $(seq 100))" \
 *     -binary | base64
 */
static void test_integrity_rest_password_long_secret(void **state)
{
	char secret[100];
	char out[TERN_REST_PASSWORD_LEN + 1];

	(void)state;
	memset(secret, 'k', sizeof(secret));
	assert_int_equal(
	    tern_turn_rest_password(secret, sizeof(secret), "1735689600:bob", 14, out, sizeof(out)),
	    TERN_OK);
	assert_string_equal(out, "mY5bIiYWN15cHakmK4KQkSWzIAA=");
}

/* RFC 2202 test case 2 and RFC 4231 test case 2 ("Jefe"). */
static void test_integrity_hmac_known(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	uint8_t mac[32], want[32];

	(void)state;
	tern_hmac_sha1("Jefe", 4, data, strlen(data), mac);
	tu_hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", want, 20);
	assert_memory_equal(mac, want, 20);
	tern_hmac_sha256("Jefe", 4, data, strlen(data), mac);
	tu_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
	assert_memory_equal(mac, want, 32);
}

static void test_integrity_ct_equal_cases(void **state)
{
	(void)state;
	assert_true(tern_ct_equal("abcdef", "abcdef", 6));
	assert_false(tern_ct_equal("abcdef", "abcdeg", 6));
	assert_false(tern_ct_equal("xbcdef", "abcdef", 6));
	assert_true(tern_ct_equal("abcdef", "abcdeg", 5));
	assert_true(tern_ct_equal("a", "b", 0));
}

static void test_integrity_nonce_cookie_roundtrip(void **state)
{
	static const struct {
		uint32_t features;
		const char *text;
	} table[] = {
	    {0x000000, "obMatJos2AAAA"}, {0x000001, "obMatJos2AAAB"}, {0x000002, "obMatJos2AAAC"},
	    {0x000003, "obMatJos2AAAD"}, {0x123456, "obMatJos2EjRW"}, {0x800000, "obMatJos2gAAA"},
	    {0xFFFFFF, "obMatJos2////"},
	};
	uint8_t cookie[TERN_NONCE_COOKIE_LEN + 4];
	uint32_t features;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		memcpy(cookie + TERN_NONCE_COOKIE_LEN, "tail", 4);
		assert_int_equal(tern_stun_nonce_cookie(table[i].features, cookie), TERN_OK);
		assert_memory_equal(cookie, table[i].text, TERN_NONCE_COOKIE_LEN);
		features = 0xDEADBEEFu;
		assert_int_equal(tern_stun_nonce_features(cookie, sizeof(cookie), &features),
		                 TERN_OK);
		assert_int_equal(features, table[i].features);
		assert_int_equal(tern_stun_nonce_features(cookie, TERN_NONCE_COOKIE_LEN, &features),
		                 TERN_OK);
	}
	assert_int_equal(tern_stun_nonce_cookie(0x1000000, cookie), TERN_ERR_INVALID_ARG);
}

static void test_integrity_nonce_features_not_cookie(void **state)
{
	static const char *const bad[] = {
	    "f0e1d2c3b4a59687", "obMatJos2",     "obMatJos2AAA",  "obmatjos2AAAC",
	    "XobMatJos2AAAC",   "obMatJos2AA*C", "obMatJos2AA=C", "",
	};
	uint32_t features = 77;
	size_t wrong = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		int rc =
		    tern_stun_nonce_features((const uint8_t *)bad[i], strlen(bad[i]), &features);
		if (rc != TERN_ERR_NOT_FOUND) {
			print_message("nonce \"%s\": got %d, want NOT_FOUND\n", bad[i], rc);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
	assert_int_equal(features, 77);
}

static void expect_rest_expiry(const char *name, int want, uint64_t want_expiry)
{
	uint64_t got = 0;
	int err = tern_turn_rest_expiry((const uint8_t *)name, strlen(name), &got);

	if (err != want || (want == TERN_OK && got != want_expiry))
		fail_msg("REST username \"%s\": got %d/%llu", name, err, (unsigned long long)got);
}

static void test_integrity_rest_expiry_forms(void **state)
{
	(void)state;
	expect_rest_expiry("1700000000", TERN_OK, 1700000000u);
	expect_rest_expiry("1700000000:alice", TERN_OK, 1700000000u);
	expect_rest_expiry("1:x:y", TERN_OK, 1u);
	expect_rest_expiry("999999999999", TERN_OK, 999999999999u);
	expect_rest_expiry("", TERN_ERR_NOT_FOUND, 0);
	expect_rest_expiry(":1700000000", TERN_ERR_NOT_FOUND, 0);
	expect_rest_expiry("alice", TERN_ERR_NOT_FOUND, 0);
	expect_rest_expiry("17000a0000", TERN_ERR_NOT_FOUND, 0);
	expect_rest_expiry("1700000000-alice", TERN_ERR_NOT_FOUND, 0);
	expect_rest_expiry("9999999999999", TERN_ERR_NOT_FOUND, 0);
}

/* The slice-by-8 table is what the polynomial gives (table[k]: k zero bytes after). */
static void test_integrity_crc32_table(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
		assert_int_equal(tern_crc32_table[0][i], c);
		for (int t = 1; t < 8; t++) {
			c = (c >> 8) ^ tern_crc32_table[0][c & 0xff];
			assert_int_equal(tern_crc32_table[t][i], c);
		}
	}
}

/* The same CRC as zlib's for every length up to past the switch to zlib, at every offset mod 8. */
static void test_integrity_crc32_matches_zlib(void **state)
{
	static uint8_t buf[700];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= sizeof(buf) && len <= 600; len++)
			assert_int_equal(tern_crc32(buf + off, len),
			                 (uint32_t)crc32(0L, buf + off, (uInt)len));
	/* the check value of the ISO-HDLC CRC-32 */
	assert_int_equal(tern_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integrity_check_rfc5769),
	    cmocka_unit_test(test_integrity_check_absent),
	    cmocka_unit_test(test_integrity_check_sha256_truncated),
	    cmocka_unit_test(test_integrity_add_mac_value),
	    cmocka_unit_test(test_integrity_check_both),
	    cmocka_unit_test(test_integrity_check_sha256_covers_ignored),
	    cmocka_unit_test(test_integrity_check_fingerprint_large_offset),
	    cmocka_unit_test(test_integrity_check_flipped_bits),
	    cmocka_unit_test(test_integrity_check_fingerprint_not_covered),
	    cmocka_unit_test(test_integrity_check_fingerprint_rfc5769),
	    cmocka_unit_test(test_integrity_add_fingerprint_value),
	    cmocka_unit_test(test_integrity_crc32_table),
	    cmocka_unit_test(test_integrity_crc32_matches_zlib),
	    cmocka_unit_test(test_integrity_long_term_key_known),
	    cmocka_unit_test(test_integrity_long_term_key_unsupported),
	    cmocka_unit_test(test_integrity_userhash_b1),
	    cmocka_unit_test(test_integrity_rest_password_known),
	    cmocka_unit_test(test_integrity_rest_expiry_forms),
	    cmocka_unit_test(test_integrity_rest_password_long_secret),
	    cmocka_unit_test(test_integrity_hmac_known),
	    cmocka_unit_test(test_integrity_ct_equal_cases),
	    cmocka_unit_test(test_integrity_nonce_cookie_roundtrip),
	    cmocka_unit_test(test_integrity_nonce_features_not_cookie),
	};
	return cmocka_run_group_tests_name("integrity", tests, NULL, NULL);
}
