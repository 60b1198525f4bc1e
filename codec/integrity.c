/*
 * integrity.c - MESSAGE-INTEGRITY(-SHA256), FINGERPRINT, long-term keys,
 * USERHASH, the TURN REST password and the RFC 8489 nonce cookie.
 *
 * HMAC is built here on OpenSSL's streaming SHA-1/SHA-256 calls rather than
 * its HMAC()/EVP_MAC front ends: those allocate a context per call, and an
 * integrity check must hash a header copy (with a patched Length) followed
 * by the rest of the message, which needs streaming. The streaming calls
 * are deprecated in OpenSSL 3 (the build pins OPENSSL_API_COMPAT to 1.1.1)
 * but hash on the stack without allocating.
 */
#include "crc32.h"
#include "reader.h"

#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <string.h>

#define HMAC_BLOCK 64u

enum hash_alg { HASH_SHA1, HASH_SHA256 };

struct hash_ctx {
	enum hash_alg alg;
	union {
		SHA_CTX sha1;
		SHA256_CTX sha256;
	} u;
};

static void hash_init(struct hash_ctx *h, enum hash_alg alg)
{
	h->alg = alg;
	if (alg == HASH_SHA1)
		SHA1_Init(&h->u.sha1);
	else
		SHA256_Init(&h->u.sha256);
}

static void hash_update(struct hash_ctx *h, const void *data, size_t len)
{
	if (h->alg == HASH_SHA1)
		SHA1_Update(&h->u.sha1, data, len);
	else
		SHA256_Update(&h->u.sha256, data, len);
}

/* Writes 20 (SHA-1) or 32 (SHA-256) bytes. */
static void hash_final(struct hash_ctx *h, uint8_t *out)
{
	if (h->alg == HASH_SHA1)
		SHA1_Final(out, &h->u.sha1);
	else
		SHA256_Final(out, &h->u.sha256);
}

static size_t hash_len(enum hash_alg alg)
{
	return alg == HASH_SHA1 ? SHA_DIGEST_LENGTH : SHA256_DIGEST_LENGTH;
}

/* RFC 2104 HMAC: H((K ^ opad) || H((K ^ ipad) || m)). */
struct hmac_ctx {
	struct hash_ctx inner;
	struct hash_ctx outer;
};

static void hmac_init(struct hmac_ctx *h, enum hash_alg alg, const void *key, size_t key_len)
{
	uint8_t k[HMAC_BLOCK] = {0};
	uint8_t pad[HMAC_BLOCK];

	if (key_len > HMAC_BLOCK) {
		hash_init(&h->inner, alg);
		hash_update(&h->inner, key, key_len);
		hash_final(&h->inner, k);
	} else if (key_len > 0) {
		memcpy(k, key, key_len);
	}
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = (uint8_t)(k[i] ^ 0x36u);
	hash_init(&h->inner, alg);
	hash_update(&h->inner, pad, HMAC_BLOCK);
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = (uint8_t)(k[i] ^ 0x5Cu);
	hash_init(&h->outer, alg);
	hash_update(&h->outer, pad, HMAC_BLOCK);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
}

static void hmac_final(struct hmac_ctx *h, uint8_t *out)
{
	uint8_t inner[SHA256_DIGEST_LENGTH];
	size_t n = hash_len(h->inner.alg);

	hash_final(&h->inner, inner);
	hash_update(&h->outer, inner, n);
	hash_final(&h->outer, out);
}

void tern_hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[20])
{
	struct hmac_ctx h;

	hmac_init(&h, HASH_SHA1, key, key_len);
	hash_update(&h.inner, data, len);
	hmac_final(&h, out);
}

void tern_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[32])
{
	struct hmac_ctx h;

	hmac_init(&h, HASH_SHA256, key, key_len);
	hash_update(&h.inner, data, len);
	hmac_final(&h, out);
}

bool tern_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * HMAC over the message up to the attribute at offset, with the header
 * Length set to end right after that attribute (RFC 8489 §14.5, §14.6).
 */
static void mac_prefix(enum hash_alg alg, const uint8_t *msg, size_t offset, size_t attr_len,
                       const uint8_t *key, size_t key_len, uint8_t *out)
{
	struct hmac_ctx h;
	uint8_t header[TERN_STUN_HEADER_LEN];
	size_t length = offset + 4 + attr_len - TERN_STUN_HEADER_LEN;

	memcpy(header, msg, TERN_STUN_HEADER_LEN);
	header[2] = (uint8_t)(length >> 8);
	header[3] = (uint8_t)length;
	hmac_init(&h, alg, key, key_len);
	hash_update(&h.inner, header, TERN_STUN_HEADER_LEN);
	hash_update(&h.inner, msg + TERN_STUN_HEADER_LEN, offset - TERN_STUN_HEADER_LEN);
	hmac_final(&h, out);
}

static int check_mac(const struct tern_stun_msg *msg, int index, enum hash_alg alg,
                     const uint8_t *key, size_t key_len)
{
	const struct tern_attr *a;
	uint8_t mac[SHA256_DIGEST_LENGTH];

	if (index < 0)
		return TERN_ERR_NOT_FOUND;
	a = &msg->attrs[index];
	if (a->len > hash_len(alg) || (key == NULL && key_len > 0))
		return TERN_ERR_INVALID_ARG;
	mac_prefix(alg, msg->raw, a->offset, a->len, key, key_len, mac);
	return tern_ct_equal(mac, a->value, a->len) ? TERN_OK : TERN_ERR_INTEGRITY;
}

int tern_stun_check_integrity(const struct tern_stun_msg *msg, const uint8_t *key, size_t key_len)
{
	return check_mac(msg, msg->mi_index, HASH_SHA1, key, key_len);
}

int tern_stun_check_integrity_sha256(const struct tern_stun_msg *msg, const uint8_t *key,
                                     size_t key_len)
{
	return check_mac(msg, msg->mi256_index, HASH_SHA256, key, key_len);
}

static uint32_t fingerprint(const uint8_t *msg, size_t len)
{
	return tern_crc32(msg, len) ^ TERN_STUN_FINGERPRINT_XOR;
}

int tern_stun_check_fingerprint(const struct tern_stun_msg *msg)
{
	const struct tern_attr *a;
	uint32_t got;

	if (msg->fp_index < 0)
		return TERN_ERR_NOT_FOUND;
	a = &msg->attrs[msg->fp_index];
	if (tern_attr_get_u32(a, &got) != TERN_OK)
		return TERN_ERR_MALFORMED;
	return got == fingerprint(msg->raw, a->offset) ? TERN_OK : TERN_ERR_FINGERPRINT;
}

static int add_mac(struct tern_stun_builder *b, uint16_t type, enum hash_alg alg,
                   const uint8_t *key, size_t key_len, size_t mac_len)
{
	uint8_t mac[SHA256_DIGEST_LENGTH];
	uint8_t *p;
	size_t offset = b->len;
	int err;

	if (key == NULL && key_len > 0) {
		if (b->err == TERN_OK)
			b->err = TERN_ERR_INVALID_ARG;
		return b->err;
	}
	err = tern_stun_add_reserve(b, type, mac_len, &p);
	if (err != TERN_OK)
		return err;
	mac_prefix(alg, b->buf, offset, mac_len, key, key_len, mac);
	memcpy(p, mac, mac_len);
	return TERN_OK;
}

int tern_stun_add_integrity(struct tern_stun_builder *b, const uint8_t *key, size_t key_len)
{
	return add_mac(b, TERN_ATTR_MESSAGE_INTEGRITY, HASH_SHA1, key, key_len, SHA_DIGEST_LENGTH);
}

int tern_stun_add_integrity_sha256(struct tern_stun_builder *b, const uint8_t *key, size_t key_len,
                                   size_t mac_len)
{
	if (mac_len < 16 || mac_len > 32 || mac_len % 4 != 0) {
		if (b->err == TERN_OK)
			b->err = TERN_ERR_INVALID_ARG;
		return b->err;
	}
	return add_mac(b, TERN_ATTR_MESSAGE_INTEGRITY_SHA256, HASH_SHA256, key, key_len, mac_len);
}

int tern_stun_add_fingerprint(struct tern_stun_builder *b)
{
	uint8_t *p;
	uint32_t crc;
	int err = tern_stun_add_reserve(b, TERN_ATTR_FINGERPRINT, 4, &p);

	if (err != TERN_OK)
		return err;
	crc = fingerprint(b->buf, b->len - 8);
	p[0] = (uint8_t)(crc >> 24);
	p[1] = (uint8_t)(crc >> 16);
	p[2] = (uint8_t)(crc >> 8);
	p[3] = (uint8_t)crc;
	b->sealed = true;
	return TERN_OK;
}

int tern_stun_long_term_key(uint16_t alg, const void *username, size_t username_len,
                            const void *realm, size_t realm_len, const void *password,
                            size_t password_len, uint8_t *out, size_t *out_len)
{
	if (alg == TERN_PWALG_MD5) {
		MD5_CTX c;

		MD5_Init(&c);
		MD5_Update(&c, username, username_len);
		MD5_Update(&c, ":", 1);
		MD5_Update(&c, realm, realm_len);
		MD5_Update(&c, ":", 1);
		MD5_Update(&c, password, password_len);
		MD5_Final(out, &c);
		*out_len = MD5_DIGEST_LENGTH;
		return TERN_OK;
	}
	if (alg == TERN_PWALG_SHA256) {
		struct hash_ctx h;

		hash_init(&h, HASH_SHA256);
		hash_update(&h, username, username_len);
		hash_update(&h, ":", 1);
		hash_update(&h, realm, realm_len);
		hash_update(&h, ":", 1);
		hash_update(&h, password, password_len);
		hash_final(&h, out);
		*out_len = SHA256_DIGEST_LENGTH;
		return TERN_OK;
	}
	return TERN_ERR_UNSUPPORTED;
}

void tern_stun_userhash(const void *username, size_t username_len, const void *realm,
                        size_t realm_len, uint8_t out[32])
{
	struct hash_ctx h;

	hash_init(&h, HASH_SHA256);
	hash_update(&h, username, username_len);
	hash_update(&h, ":", 1);
	hash_update(&h, realm, realm_len);
	hash_final(&h, out);
}

int tern_turn_rest_password(const void *secret, size_t secret_len, const void *username,
                            size_t username_len, char *out, size_t cap)
{
	uint8_t mac[SHA_DIGEST_LENGTH];

	tern_hmac_sha1(secret, secret_len, username, username_len, mac);
	return tern_base64_encode(mac, sizeof(mac), out, cap);
}

int tern_turn_rest_expiry(const uint8_t *username, size_t len, uint64_t *expiry)
{
	struct tern_reader r;
	uint64_t v = 0;
	size_t digits = 0;
	uint8_t c;

	tern_reader_init(&r, username, len);
	while (tern_reader_u8(&r, &c) == TERN_OK) {
		if (c == ':' && digits > 0)
			break; /* "<expiry>:<id>" */
		if (c < '0' || c > '9' || ++digits > 12)
			return TERN_ERR_NOT_FOUND;
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (digits == 0)
		return TERN_ERR_NOT_FOUND;
	*expiry = v;
	return TERN_OK;
}

static const char cookie_prefix[] = "obMatJos2";
#define COOKIE_PREFIX_LEN (sizeof(cookie_prefix) - 1)

int tern_stun_nonce_cookie(uint32_t features, uint8_t out[TERN_NONCE_COOKIE_LEN])
{
	uint8_t bits[3] = {(uint8_t)(features >> 16), (uint8_t)(features >> 8), (uint8_t)features};
	char enc[5];

	if (features > 0xFFFFFFu)
		return TERN_ERR_INVALID_ARG;
	if (tern_base64_encode(bits, sizeof(bits), enc, sizeof(enc)) != TERN_OK)
		return TERN_ERR_INVALID_ARG;
	memcpy(out, cookie_prefix, COOKIE_PREFIX_LEN);
	memcpy(out + COOKIE_PREFIX_LEN, enc, 4);
	return TERN_OK;
}

int tern_stun_nonce_features(const uint8_t *nonce, size_t len, uint32_t *features)
{
	uint8_t bits[3];
	size_t n;

	if (len < TERN_NONCE_COOKIE_LEN || memcmp(nonce, cookie_prefix, COOKIE_PREFIX_LEN) != 0)
		return TERN_ERR_NOT_FOUND;
	if (tern_base64_decode((const char *)nonce + COOKIE_PREFIX_LEN, 4, bits, sizeof(bits),
	                       &n) != TERN_OK ||
	    n != 3)
		return TERN_ERR_NOT_FOUND;
	*features = (uint32_t)bits[0] << 16 | (uint32_t)bits[1] << 8 | bits[2];
	return TERN_OK;
}
