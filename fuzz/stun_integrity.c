/*
 * stun_integrity.c - fuzz target for integrity, keys, nonce cookies, base64.
 *
 * Targets: tern_stun_check_integrity, tern_stun_check_integrity_sha256,
 * tern_stun_check_fingerprint, tern_stun_long_term_key, tern_stun_userhash,
 * tern_turn_rest_password, tern_stun_nonce_features, tern_stun_nonce_cookie,
 * tern_base64_len, tern_base64_encode, tern_base64_decode,
 * tern_stun_add_integrity, tern_stun_add_integrity_sha256,
 * tern_stun_add_fingerprint, tern_stun_add_error_code with the standard
 * phrase, tern_stun_reason, tern_hmac_sha1, tern_hmac_sha256,
 * tern_ct_equal (and tern_stun_parse to get there).
 *
 * Input layout: byte 0 = key length k (cut to what follows), then k key
 * bytes, then the message (the rest). Every result is compared with an
 * independent computation (OpenSSL HMAC/digests, zlib CRC-32) and aborts on
 * disagreement:
 *  - the three checks on the parsed message, with the fuzzed key and with
 *    long-term keys derived from its USERNAME/REALM and the key as password;
 *  - long-term MD5/SHA-256 keys and USERHASH from a fuzz-chosen split of the
 *    key bytes into username, realm and password; other algorithms fail;
 *  - the REST password (secret = key, username = message) and its capacity;
 *  - nonce cookies: whatever nonce_features accepts re-encodes to the same
 *    13 bytes, and nonce_cookie -> nonce_features is the identity;
 *  - base64 encode -> decode gives the input back; whatever decode accepts
 *    encodes back to the same text (strict decoding); capacities hold;
 *  - tern_hmac_sha1/_sha256 equal OpenSSL's HMAC, tern_ct_equal memcmp;
 *  - a message built with the fuzzed key verifies with it (MI, MI-SHA256 of a
 *    fuzz-chosen length, FINGERPRINT) and fails with a key one bit off; its
 *    ERROR-CODE built with a NULL reason carries tern_stun_reason(code).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "tern_codec.h"

struct bytes {
	const uint8_t *p;
	size_t n;
};

static void oracle_hmac(const EVP_MD *md, struct bytes key, const uint8_t *data, size_t n,
                        uint8_t *out)
{
	unsigned int out_len = 0;
	static const uint8_t empty[1] = {0};

	fuzz_require(
	    HMAC(md, key.n ? key.p : empty, (int)key.n, n ? data : empty, n, out, &out_len) != NULL,
	    "OpenSSL HMAC");
}

/*
 * What MESSAGE-INTEGRITY(-SHA256) at attrs[idx] must hold (RFC 8489 §14.5,
 * §14.6): the HMAC of the message before it, with the header Length set to
 * end at the end of the attribute.
 */
static void expected_mac(const struct tern_stun_msg *m, int idx, const EVP_MD *md, struct bytes key,
                         uint8_t out[32])
{
	const struct tern_attr *a = &m->attrs[idx];
	uint8_t *copy = malloc((size_t)a->offset + 1);

	fuzz_require(copy != NULL, "malloc");
	memcpy(copy, m->raw, a->offset);
	fuzz_put_be16(copy + 2, (size_t)a->offset + 4 + a->len - TERN_STUN_HEADER_LEN);
	oracle_hmac(md, key, copy, a->offset, out);
	free(copy);
}

static void check_mi(const struct tern_stun_msg *m, struct bytes key)
{
	uint8_t want[32];
	int rc = tern_stun_check_integrity(m, key.p, key.n);
	int rc256 = tern_stun_check_integrity_sha256(m, key.p, key.n);

	if (m->mi_index < 0) {
		fuzz_require(rc == TERN_ERR_NOT_FOUND, "check_integrity without MI");
	} else {
		const struct tern_attr *a = &m->attrs[m->mi_index];

		expected_mac(m, m->mi_index, EVP_sha1(), key, want);
		fuzz_require(rc == (memcmp(want, a->value, 20) == 0 ? TERN_OK : TERN_ERR_INTEGRITY),
		             "check_integrity disagrees with HMAC-SHA1");
	}
	if (m->mi256_index < 0) {
		fuzz_require(rc256 == TERN_ERR_NOT_FOUND,
		             "check_integrity_sha256 without MI-SHA256");
	} else {
		const struct tern_attr *a = &m->attrs[m->mi256_index];

		expected_mac(m, m->mi256_index, EVP_sha256(), key, want);
		fuzz_require(
		    rc256 == (memcmp(want, a->value, a->len) == 0 ? TERN_OK : TERN_ERR_INTEGRITY),
		    "check_integrity_sha256 disagrees with HMAC-SHA256");
	}
}

static void check_fp(const struct tern_stun_msg *m)
{
	int rc = tern_stun_check_fingerprint(m);
	const struct tern_attr *a;
	uLong crc;

	if (m->fp_index < 0) {
		fuzz_require(rc == TERN_ERR_NOT_FOUND, "check_fingerprint without FINGERPRINT");
		return;
	}
	a = &m->attrs[m->fp_index];
	crc = crc32(crc32(0L, Z_NULL, 0), m->raw, (uInt)a->offset);
	fuzz_require(rc == (((uint32_t)crc ^ TERN_STUN_FINGERPRINT_XOR) == fuzz_be32(a->value)
	                        ? TERN_OK
	                        : TERN_ERR_FINGERPRINT),
	             "check_fingerprint disagrees with CRC-32");
}

static void check_parsed(struct bytes key, struct bytes msg)
{
	struct tern_stun_msg m;
	const struct tern_attr *user, *realm;
	uint8_t lt[TERN_KEY_MAX];
	size_t lt_len;
	const uint16_t algs[2] = {TERN_PWALG_MD5, TERN_PWALG_SHA256};

	if (tern_stun_parse(msg.p, msg.n, &m) != TERN_OK) {
		return;
	}
	check_mi(&m, key);
	check_fp(&m);
	user = tern_stun_find(&m, TERN_ATTR_USERNAME);
	realm = tern_stun_find(&m, TERN_ATTR_REALM);
	if (user == NULL || realm == NULL) {
		return;
	}
	/* What a server does: long-term key from the message, key as password. */
	for (size_t i = 0; i < 2; i++) {
		fuzz_require(tern_stun_long_term_key(algs[i], user->value, user->len, realm->value,
		                                     realm->len, key.p, key.n, lt,
		                                     &lt_len) == TERN_OK,
		             "long_term_key from a parsed USERNAME/REALM");
		check_mi(&m, (struct bytes){lt, lt_len});
	}
}

static void oracle_digest(const EVP_MD *md, const uint8_t *data, size_t n, uint8_t *out)
{
	unsigned int len = 0;

	fuzz_require(EVP_Digest(data, n, out, &len, md, NULL) == 1, "OpenSSL digest");
}

/* username ":" realm [":" password] into a new buffer. */
static uint8_t *join(struct bytes u, struct bytes r, const struct bytes *p, size_t *len)
{
	uint8_t *out = malloc(u.n + r.n + (p ? p->n : 0) + 2);
	size_t n = 0;

	fuzz_require(out != NULL, "malloc");
	memcpy(out, u.p, u.n);
	n += u.n;
	out[n++] = ':';
	memcpy(out + n, r.p, r.n);
	n += r.n;
	if (p != NULL) {
		out[n++] = ':';
		memcpy(out + n, p->p, p->n);
		n += p->n;
	}
	*len = n;
	return out;
}

static void check_keys(struct bytes key, uint16_t other_alg)
{
	size_t ulen = key.n ? key.p[0] % (key.n + 1) : 0;
	size_t rlen = key.n ? key.p[key.n - 1] % (key.n - ulen + 1) : 0;
	struct bytes u = {key.p, ulen}, r = {key.p + ulen, rlen};
	struct bytes p = {key.p + ulen + rlen, key.n - ulen - rlen};
	uint8_t out[TERN_KEY_MAX], want[32];
	size_t out_len = 0, jlen;
	uint8_t *j = join(u, r, &p, &jlen);

	fuzz_require(tern_stun_long_term_key(TERN_PWALG_MD5, u.p, u.n, r.p, r.n, p.p, p.n, out,
	                                     &out_len) == TERN_OK &&
	                 out_len == 16,
	             "long_term_key MD5");
	oracle_digest(EVP_md5(), j, jlen, want);
	fuzz_require(memcmp(out, want, 16) == 0, "long_term_key MD5 != MD5(u:r:p)");
	fuzz_require(tern_stun_long_term_key(TERN_PWALG_SHA256, u.p, u.n, r.p, r.n, p.p, p.n, out,
	                                     &out_len) == TERN_OK &&
	                 out_len == 32,
	             "long_term_key SHA-256");
	oracle_digest(EVP_sha256(), j, jlen, want);
	fuzz_require(memcmp(out, want, 32) == 0, "long_term_key SHA-256 != SHA-256(u:r:p)");
	free(j);
	if (other_alg != TERN_PWALG_MD5 && other_alg != TERN_PWALG_SHA256) {
		fuzz_require(tern_stun_long_term_key(other_alg, u.p, u.n, r.p, r.n, p.p, p.n, out,
		                                     &out_len) == TERN_ERR_UNSUPPORTED,
		             "long_term_key accepts an unknown algorithm");
	}
	j = join(u, r, NULL, &jlen);
	tern_stun_userhash(u.p, u.n, r.p, r.n, out);
	oracle_digest(EVP_sha256(), j, jlen, want);
	fuzz_require(memcmp(out, want, 32) == 0, "userhash != SHA-256(u:r)");
	free(j);
}

static void check_rest_password(struct bytes secret, struct bytes user, size_t cap)
{
	char out[64];
	uint8_t mac[32];
	char want[64];
	int rc;

	memset(out, 'X', sizeof(out));
	rc = tern_turn_rest_password(secret.p, secret.n, user.p, user.n, out, cap);
	if (cap < TERN_REST_PASSWORD_LEN + 1) {
		fuzz_require(rc == TERN_ERR_NO_SPACE, "rest_password over capacity");
		for (size_t i = cap; i < sizeof(out); i++) {
			fuzz_require(out[i] == 'X', "rest_password wrote past its capacity");
		}
		return;
	}
	oracle_hmac(EVP_sha1(), secret, user.p, user.n, mac);
	fuzz_require(EVP_EncodeBlock((unsigned char *)want, mac, 20) == 28, "OpenSSL base64");
	fuzz_require(rc == TERN_OK && strcmp(out, want) == 0,
	             "rest_password != base64(HMAC-SHA1(secret, username))");
}

static void check_nonce(struct bytes msg, uint32_t pick)
{
	uint32_t f = 0, g = 0;
	uint8_t cookie[TERN_NONCE_COOKIE_LEN];
	int rc = tern_stun_nonce_features(msg.p, msg.n, &f);

	if (rc == TERN_OK) {
		fuzz_require(msg.n >= TERN_NONCE_COOKIE_LEN && memcmp(msg.p, "obMatJos2", 9) == 0 &&
		                 f <= 0xFFFFFFu,
		             "nonce_features accepted a non-cookie");
		fuzz_require(tern_stun_nonce_cookie(f, cookie) == TERN_OK &&
		                 memcmp(cookie, msg.p, TERN_NONCE_COOKIE_LEN) == 0,
		             "accepted nonce cookie does not re-encode to itself");
	} else {
		fuzz_require(rc == TERN_ERR_NOT_FOUND, "nonce_features error code");
	}
	f = pick & 0xFFFFFFu;
	fuzz_require(tern_stun_nonce_cookie(f, cookie) == TERN_OK, "nonce_cookie of 24 bits");
	fuzz_require(tern_stun_nonce_features(cookie, sizeof(cookie), &g) == TERN_OK && g == f,
	             "nonce_cookie -> nonce_features is not the identity");
	if (pick > 0xFFFFFFu) {
		fuzz_require(tern_stun_nonce_cookie(pick, cookie) != TERN_OK,
		             "nonce_cookie accepts more than 24 bits");
	}
}

static void check_base64(struct bytes msg)
{
	size_t elen = tern_base64_len(msg.n);
	char *enc = malloc(elen + 1);
	uint8_t *dec = malloc(msg.n + 1);
	size_t dlen = 0;
	int rc;

	fuzz_require(enc != NULL && dec != NULL, "malloc");
	fuzz_require(elen == (msg.n + 2) / 3 * 4, "base64_len");
	fuzz_require(tern_base64_encode(msg.p, msg.n, enc, elen) == TERN_ERR_NO_SPACE,
	             "base64_encode without room for the NUL");
	fuzz_require(tern_base64_encode(msg.p, msg.n, enc, elen + 1) == TERN_OK &&
	                 strlen(enc) == elen,
	             "base64_encode");
	fuzz_require(tern_base64_decode(enc, elen, dec, msg.n, &dlen) == TERN_OK && dlen == msg.n &&
	                 memcmp(dec, msg.p, msg.n) == 0,
	             "base64 encode -> decode is not the identity");
	if (msg.n > 0) {
		fuzz_require(tern_base64_decode(enc, elen, dec, msg.n - 1, &dlen) ==
		                 TERN_ERR_NO_SPACE,
		             "base64_decode over capacity");
	}
	/* The message as base64 text: strict decoding accepts canonical text only. */
	rc = tern_base64_decode((const char *)msg.p, msg.n, dec, msg.n + 1, &dlen);
	if (rc == TERN_OK) {
		char *again = malloc(tern_base64_len(dlen) + 1);

		fuzz_require(again != NULL, "malloc");
		fuzz_require(tern_base64_encode(dec, dlen, again, tern_base64_len(dlen) + 1) ==
		                     TERN_OK &&
		                 strlen(again) == msg.n && memcmp(again, msg.p, msg.n) == 0,
		             "base64_decode accepted non-canonical text");
		free(again);
	} else {
		fuzz_require(rc == TERN_ERR_MALFORMED, "base64_decode error code");
	}
	free(dec);
	free(enc);
}

/* The public HMAC and compare helpers against OpenSSL and memcmp. */
static void check_helpers(struct bytes key, struct bytes msg)
{
	uint8_t got[32], want[32];
	size_t half = msg.n / 2;

	tern_hmac_sha1(key.p, key.n, msg.p, msg.n, got);
	oracle_hmac(EVP_sha1(), key, msg.p, msg.n, want);
	fuzz_require(memcmp(got, want, 20) == 0, "tern_hmac_sha1 != HMAC-SHA1");
	tern_hmac_sha256(key.p, key.n, msg.p, msg.n, got);
	oracle_hmac(EVP_sha256(), key, msg.p, msg.n, want);
	fuzz_require(memcmp(got, want, 32) == 0, "tern_hmac_sha256 != HMAC-SHA256");
	fuzz_require(tern_ct_equal(msg.p, msg.p + half, half) ==
	                 (memcmp(msg.p, msg.p + half, half) == 0),
	             "tern_ct_equal != memcmp");
}

/* header, ERROR-CODE with the longest standard phrase, DATA, MI, MI-SHA256, FP */
#define BUILT_CAP (TERN_STUN_HEADER_LEN + 4 + 4 + 128 + 4 + 1024 + 24 + 36 + 8)

/*
 * A Binding error response: ERROR-CODE with the standard phrase (NULL
 * reason), DATA from the message, MI, MI-SHA256 of a fuzz-chosen length and
 * FINGERPRINT, all with the fuzzed key. Returns its length.
 */
static size_t build_keyed(struct bytes key, struct bytes msg, uint8_t pick, uint8_t *buf)
{
	uint8_t txid[TERN_STUN_TXID_LEN] = {0};
	size_t mac_len = 16 + 4 * (size_t)(pick % 5), data_len = msg.n < 1024 ? msg.n : 1024;
	uint16_t code = (uint16_t)(300 + (pick * 7) % 400);
	struct tern_stun_builder b;
	size_t len = 0;

	memcpy(txid, msg.p, msg.n < sizeof(txid) ? msg.n : sizeof(txid));
	fuzz_require(tern_stun_build_start(&b, buf, BUILT_CAP,
	                                   tern_stun_type(TERN_STUN_BINDING, TERN_STUN_ERROR),
	                                   txid) == TERN_OK,
	             "build_start");
	tern_stun_add_error_code(&b, code, NULL, 0);
	tern_stun_add_raw(&b, TERN_ATTR_DATA, msg.p, data_len);
	tern_stun_add_integrity(&b, key.p, key.n);
	tern_stun_add_integrity_sha256(&b, key.p, key.n, mac_len);
	tern_stun_add_fingerprint(&b);
	fuzz_require(tern_stun_build_finish(&b, &len) == TERN_OK, "build with the fuzzed key");
	return len;
}

/* The keyed message verifies with its key and not with a key one bit off. */
static void check_built(struct bytes key, struct bytes msg, uint8_t pick)
{
	uint8_t *buf = malloc(BUILT_CAP), *flipped;
	struct tern_stun_msg m;
	struct tern_error_code ec;
	const char *phrase;
	size_t len;

	fuzz_require(buf != NULL, "malloc");
	len = build_keyed(key, msg, pick, buf);
	fuzz_require(tern_stun_parse(buf, len, &m) == TERN_OK, "parse of the built message");
	fuzz_require(tern_attr_get_error_code(tern_stun_find(&m, TERN_ATTR_ERROR_CODE), &ec) ==
	                 TERN_OK,
	             "ERROR-CODE of the built message");
	phrase = tern_stun_reason(ec.code);
	fuzz_require(ec.reason_len == strlen(phrase) &&
	                 (ec.reason_len == 0 || memcmp(ec.reason, phrase, ec.reason_len) == 0),
	             "ERROR-CODE with a NULL reason does not carry the standard phrase");
	fuzz_require(tern_stun_check_integrity(&m, key.p, key.n) == TERN_OK &&
	                 tern_stun_check_integrity_sha256(&m, key.p, key.n) == TERN_OK &&
	                 tern_stun_check_fingerprint(&m) == TERN_OK,
	             "a message built with a key does not verify with it");
	check_mi(&m, key);
	if (key.n > 0) {
		flipped = malloc(key.n);
		fuzz_require(flipped != NULL, "malloc");
		memcpy(flipped, key.p, key.n);
		flipped[(size_t)pick % key.n] ^= (uint8_t)(1u << (pick % 8));
		fuzz_require(tern_stun_check_integrity(&m, flipped, key.n) == TERN_ERR_INTEGRITY &&
		                 tern_stun_check_integrity_sha256(&m, flipped, key.n) ==
		                     TERN_ERR_INTEGRITY,
		             "a key one bit off verifies");
		free(flipped);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bytes key, msg;
	size_t k;
	uint8_t pick;

	if (size == 0) {
		return 0;
	}
	k = data[0] < size - 1 ? data[0] : size - 1;
	key = (struct bytes){data + 1, k};
	msg = (struct bytes){data + 1 + k, size - 1 - k};
	pick = data[size - 1];
	check_parsed(key, msg);
	check_keys(key, msg.n >= 2 ? fuzz_be16(msg.p) : 0);
	check_rest_password(key, msg, pick % 40);
	check_nonce(msg, k >= 4 ? fuzz_be32(key.p) : pick);
	check_base64(msg);
	check_helpers(key, msg);
	check_built(key, msg, pick);
	return 0;
}
