/*
 * auth.c - long-term credentials (RFC 8489 §9.2), TURN REST API shared
 * secrets, stateless nonces and the per-source limit on 401s.
 */
#include "internal.h"

#include <string.h>

struct relay_user {
	char *name;
	size_t name_len;
	uint8_t md5[16];
	uint8_t sha256[32];
	uint8_t userhash[32];
	bool has_sha256; /* false when configured by MD5 key only */
};

struct relay_secret {
	uint8_t *secret;
	size_t len;
};

struct relay_creds {
	struct relay_user *users;
	size_t nusers;
	struct relay_table by_name;
	struct relay_table by_userhash;
	struct relay_secret *secrets;
	size_t nsecrets;
};

/* The PASSWORD-ALGORITHMS this server offers, in preference order. */
static const struct tern_password_alg_entry offered_algs[] = {
    {TERN_PWALG_SHA256, 0, NULL},
    {TERN_PWALG_MD5, 0, NULL},
};

static void *zalloc(struct tern_relay *r, size_t n)
{
	void *p = r->hooks.alloc(r->hooks.ctx, n);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

void tern_rl_creds_free(struct tern_relay *r, struct relay_creds *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c->users != NULL && i < c->nusers; i++)
		r->hooks.free(r->hooks.ctx, c->users[i].name);
	for (size_t i = 0; c->secrets != NULL && i < c->nsecrets; i++) {
		if (c->secrets[i].secret != NULL)
			memset(c->secrets[i].secret, 0, c->secrets[i].len);
		r->hooks.free(r->hooks.ctx, c->secrets[i].secret);
	}
	if (c->users != NULL)
		memset(c->users, 0, c->nusers * sizeof(*c->users));
	r->hooks.free(r->hooks.ctx, c->users);
	r->hooks.free(r->hooks.ctx, c->secrets);
	tern_rl_table_free(r, &c->by_name);
	tern_rl_table_free(r, &c->by_userhash);
	r->hooks.free(r->hooks.ctx, c);
}

static int user_init(struct tern_relay *r, struct relay_user *u, const struct tern_relay_user *cfg)
{
	size_t len;
	size_t klen;

	if (cfg->name == NULL || (cfg->password == NULL) == (cfg->key == NULL))
		return TERN_ERR_INVALID_ARG;
	u->name_len = strlen(cfg->name);
	if (u->name_len == 0 || u->name_len > TERN_STUN_MAX_STRING)
		return TERN_ERR_INVALID_ARG;
	u->name = r->hooks.alloc(r->hooks.ctx, u->name_len + 1);
	if (u->name == NULL)
		return TERN_ERR_NOMEM;
	memcpy(u->name, cfg->name, u->name_len + 1);
	tern_stun_userhash(u->name, u->name_len, r->realm, r->realm_len, u->userhash);
	if (cfg->key != NULL) {
		memcpy(u->md5, cfg->key, sizeof(u->md5));
		return TERN_OK;
	}
	len = strlen(cfg->password);
	if (tern_stun_long_term_key(TERN_PWALG_MD5, u->name, u->name_len, r->realm, r->realm_len,
	                            cfg->password, len, u->md5, &klen) != TERN_OK ||
	    tern_stun_long_term_key(TERN_PWALG_SHA256, u->name, u->name_len, r->realm, r->realm_len,
	                            cfg->password, len, u->sha256, &klen) != TERN_OK)
		return TERN_ERR_CRYPTO;
	u->has_sha256 = true;
	return TERN_OK;
}

static int creds_fill(struct tern_relay *r, struct relay_creds *c,
                      const struct tern_relay_config *cfg)
{
	int err;

	for (size_t i = 0; i < cfg->n_users; i++) {
		struct relay_user *u = &c->users[i];

		c->nusers = i + 1;
		err = user_init(r, u, &cfg->users[i]);
		if (err != TERN_OK)
			return err;
		tern_rl_table_insert(&c->by_name, tern_rl_hash(u->name, u->name_len, r->seed), u);
		tern_rl_table_insert(&c->by_userhash, tern_rl_hash(u->userhash, 32, r->seed), u);
	}
	for (size_t i = 0; i < cfg->n_secrets; i++) {
		const struct tern_relay_secret *s = &cfg->secrets[i];

		c->nsecrets = i + 1;
		if (s->secret == NULL || s->len == 0)
			return TERN_ERR_INVALID_ARG;
		c->secrets[i].secret = r->hooks.alloc(r->hooks.ctx, s->len);
		if (c->secrets[i].secret == NULL)
			return TERN_ERR_NOMEM;
		memcpy(c->secrets[i].secret, s->secret, s->len);
		c->secrets[i].len = s->len;
	}
	return TERN_OK;
}

int tern_rl_creds_build(struct tern_relay *r, const struct tern_relay_config *cfg,
                        struct relay_creds **out)
{
	struct relay_creds *c = zalloc(r, sizeof(*c));
	int err = TERN_ERR_NOMEM;

	if (c == NULL)
		return TERN_ERR_NOMEM;
	if (cfg->n_users > 0)
		c->users = zalloc(r, cfg->n_users * sizeof(*c->users));
	if (cfg->n_secrets > 0)
		c->secrets = zalloc(r, cfg->n_secrets * sizeof(*c->secrets));
	if ((cfg->n_users > 0 && c->users == NULL) || (cfg->n_secrets > 0 && c->secrets == NULL))
		goto out_free;
	err = tern_rl_table_init(r, &c->by_name, cfg->n_users);
	if (err == TERN_OK)
		err = tern_rl_table_init(r, &c->by_userhash, cfg->n_users);
	if (err == TERN_OK)
		err = creds_fill(r, c, cfg);
	if (err != TERN_OK)
		goto out_free;
	*out = c;
	return TERN_OK;
out_free:
	tern_rl_creds_free(r, c);
	return err;
}

/* --------------------------------------------------------- nonces */

/*
 * Stateless nonce (DESIGN: no per-client state before authentication):
 *   "obMatJos2" features(4) base64( expiry_s(4) | mac(12) )
 * mac = HMAC-SHA256(nonce_key, expiry_s | client family | client address):
 * any worker with the process key verifies it; it binds the client's IP.
 */
#define NONCE_PAYLOAD 16u
#define NONCE_LEN     (TERN_NONCE_COOKIE_LEN + 24u)

static void nonce_mac(const struct tern_relay *r, const uint8_t expiry[4],
                      const struct tern_addr *client, uint8_t mac[32])
{
	uint8_t data[4 + 1 + 16];

	memcpy(data, expiry, 4);
	data[4] = client->family;
	memcpy(data + 5, client->addr, 16);
	tern_hmac_sha256(r->nonce_key, sizeof(r->nonce_key), data, sizeof(data), mac);
}

size_t tern_rl_nonce_make(const struct tern_relay *r, uint64_t now, const struct tern_addr *client,
                          uint8_t *out)
{
	uint8_t payload[NONCE_PAYLOAD];
	uint8_t mac[32];
	char b64[25];
	uint64_t expiry_s = (now + r->nonce_ms) / MS_PER_S;

	for (size_t i = 0; i < 4; i++)
		payload[i] = (uint8_t)(expiry_s >> (24 - 8 * i));
	nonce_mac(r, payload, client, mac);
	memcpy(payload + 4, mac, NONCE_PAYLOAD - 4);
	if (tern_stun_nonce_cookie(TERN_FEATURE_PASSWORD_ALGORITHMS |
	                               TERN_FEATURE_USERNAME_ANONYMITY,
	                           out) != TERN_OK ||
	    tern_base64_encode(payload, sizeof(payload), b64, sizeof(b64)) != TERN_OK)
		return 0;
	memcpy(out + TERN_NONCE_COOKIE_LEN, b64, 24);
	return NONCE_LEN;
}

static bool nonce_valid(const struct tern_relay *r, uint64_t now, const struct tern_addr *client,
                        const uint8_t *nonce, size_t len)
{
	uint8_t payload[NONCE_PAYLOAD + 2];
	uint8_t mac[32];
	size_t n;
	uint64_t expiry_s = 0;

	if (len != NONCE_LEN ||
	    tern_base64_decode((const char *)nonce + TERN_NONCE_COOKIE_LEN, 24, payload,
	                       sizeof(payload), &n) != TERN_OK ||
	    n != NONCE_PAYLOAD)
		return false;
	nonce_mac(r, payload, client, mac);
	if (!tern_ct_equal(mac, payload + 4, NONCE_PAYLOAD - 4))
		return false;
	for (size_t i = 0; i < 4; i++)
		expiry_s = expiry_s << 8 | payload[i];
	return expiry_s * MS_PER_S > now;
}

bool tern_rl_rate_allow(struct tern_relay *r, uint64_t now, const struct tern_addr *client)
{
	uint8_t key[17];
	struct relay_rate *b;
	uint64_t refill;

	key[0] = client->family;
	memcpy(key + 1, client->addr, 16);
	b = &r->rate[tern_rl_hash(key, sizeof(key), r->seed) % RATE_BUCKETS];
	refill = (now - b->at) * r->unauth_per_s / MS_PER_S;
	if (now < b->at || refill >= r->unauth_per_s)
		b->tokens = r->unauth_per_s;
	else
		b->tokens = (uint32_t)((b->tokens + refill > r->unauth_per_s) ? r->unauth_per_s
		                                                              : b->tokens + refill);
	if (refill > 0 || now < b->at)
		b->at = now;
	if (b->tokens == 0)
		return false;
	b->tokens--;
	return true;
}

/* ----------------------------------------------------- authenticate */

static bool match_name(const void *item, const void *key)
{
	const struct relay_user *u = item;
	const struct tern_attr *a = key;

	return u->name_len == a->len && memcmp(u->name, a->value, a->len) == 0;
}

static bool match_userhash(const void *item, const void *key)
{
	const struct relay_user *u = item;

	return tern_ct_equal(u->userhash, key, 32);
}

/*
 * RFC 8489 §9.2.4: without PASSWORD-ALGORITHM(S) the key is MD5. With
 * either, both must be present, PASSWORD-ALGORITHMS must repeat what the
 * server offered and PASSWORD-ALGORITHM must be one of them; else 400.
 */
static uint16_t pick_algorithm(const struct tern_stun_msg *msg, uint16_t *alg)
{
	const struct tern_attr *pa = tern_stun_find(msg, TERN_ATTR_PASSWORD_ALGORITHM);
	const struct tern_attr *pas = tern_stun_find(msg, TERN_ATTR_PASSWORD_ALGORITHMS);
	struct tern_password_alg_entry got[4], chosen;
	size_t n;
	const size_t want = sizeof(offered_algs) / sizeof(offered_algs[0]);

	*alg = TERN_PWALG_MD5;
	if (pa == NULL && pas == NULL)
		return 0;
	if (pa == NULL || pas == NULL ||
	    tern_attr_get_password_algorithms(pas, got, 4, &n) != TERN_OK || n != want ||
	    tern_attr_get_password_algorithm(pa, &chosen) != TERN_OK)
		return 400;
	for (size_t i = 0; i < n; i++)
		if (got[i].alg != offered_algs[i].alg || got[i].params_len != 0)
			return 400;
	if (chosen.alg != TERN_PWALG_MD5 && chosen.alg != TERN_PWALG_SHA256)
		return 400;
	*alg = chosen.alg;
	return 0;
}

static bool nonce_offers_algorithms(const struct tern_attr *nonce)
{
	uint32_t features;

	return tern_stun_nonce_features(nonce->value, nonce->len, &features) == TERN_OK &&
	       (features & TERN_FEATURE_PASSWORD_ALGORITHMS) != 0;
}

static bool verify(const struct tern_stun_msg *msg, const uint8_t *key, size_t key_len)
{
	if (msg->mi256_index >= 0)
		return tern_stun_check_integrity_sha256(msg, key, key_len) == TERN_OK;
	return tern_stun_check_integrity(msg, key, key_len) == TERN_OK;
}

static bool try_static(const struct relay_user *u, uint16_t alg, const struct tern_stun_msg *msg,
                       struct relay_auth *auth)
{
	if (alg == TERN_PWALG_SHA256 && !u->has_sha256)
		return false;
	auth->key_len = alg == TERN_PWALG_SHA256 ? 32 : 16;
	memcpy(auth->key, alg == TERN_PWALG_SHA256 ? u->sha256 : u->md5, auth->key_len);
	return verify(msg, auth->key, auth->key_len);
}

/* TURN REST API: username "<unix expiry>[:<id>]", not yet expired. */
static bool rest_unexpired(const struct tern_relay *r, uint64_t now, const struct tern_attr *name)
{
	uint64_t expiry;
	int64_t unix_ms = (int64_t)now + r->unix_offset_ms;

	if (tern_turn_rest_expiry(name->value, name->len, &expiry) != TERN_OK)
		return false;
	return unix_ms >= 0 && expiry * MS_PER_S > (uint64_t)unix_ms;
}

static bool try_rest(const struct tern_relay *r, uint64_t now, const struct tern_attr *name,
                     uint16_t alg, const struct tern_stun_msg *msg, struct relay_auth *auth)
{
	const struct relay_creds *c = r->creds;
	char password[TERN_REST_PASSWORD_LEN + 1];

	if (c->nsecrets == 0 || !rest_unexpired(r, now, name))
		return false;
	for (size_t i = 0; i < c->nsecrets; i++) {
		if (tern_turn_rest_password(c->secrets[i].secret, c->secrets[i].len, name->value,
		                            name->len, password, sizeof(password)) != TERN_OK ||
		    tern_stun_long_term_key(alg, name->value, name->len, r->realm, r->realm_len,
		                            password, TERN_REST_PASSWORD_LEN, auth->key,
		                            &auth->key_len) != TERN_OK)
			return false;
		if (verify(msg, auth->key, auth->key_len))
			return true;
	}
	return false;
}

static void set_digest(const uint8_t *name, size_t len, struct relay_auth *auth)
{
	uint8_t full[32];

	tern_stun_userhash(name, len, "", 0, full);
	memcpy(auth->digest, full, USERNAME_DIGEST_LEN);
}

static bool find_user(struct tern_relay *r, uint64_t now, const struct tern_stun_msg *msg,
                      uint16_t alg, struct relay_auth *auth)
{
	const struct relay_creds *c = r->creds;
	const struct tern_attr *name = tern_stun_find(msg, TERN_ATTR_USERNAME);
	const struct tern_attr *uh = tern_stun_find(msg, TERN_ATTR_USERHASH);
	const struct relay_user *u;

	if (name != NULL) {
		u = tern_rl_table_find(&c->by_name, tern_rl_hash(name->value, name->len, r->seed),
		                       match_name, name);
		set_digest(name->value, name->len, auth);
		if (u != NULL)
			return try_static(u, alg, msg, auth);
		return try_rest(r, now, name, alg, msg, auth);
	}
	u = tern_rl_table_find(&c->by_userhash, tern_rl_hash(uh->value, 32, r->seed),
	                       match_userhash, uh->value);
	if (u == NULL)
		return false;
	set_digest((const uint8_t *)u->name, u->name_len, auth);
	return try_static(u, alg, msg, auth);
}

void tern_rl_authenticate(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                          const struct tern_stun_msg *msg, struct relay_auth *auth)
{
	const struct tern_attr *realm = tern_stun_find(msg, TERN_ATTR_REALM);
	const struct tern_attr *nonce = tern_stun_find(msg, TERN_ATTR_NONCE);
	bool named = tern_stun_find(msg, TERN_ATTR_USERNAME) != NULL ||
	             tern_stun_find(msg, TERN_ATTR_USERHASH) != NULL;
	uint16_t alg;

	memset(auth, 0, sizeof(*auth));
	/* §9.2.4: no integrity at all -> 401; integrity without the rest -> 400 */
	if (msg->mi_index < 0 && msg->mi256_index < 0) {
		auth->error = 401;
		return;
	}
	if (!named || realm == NULL || nonce == NULL) {
		auth->error = 400;
		return;
	}
	/* §9.2.4 order: the algorithm rules (400) come before the nonce (438),
	 * and apply when the nonce's cookie announces them */
	alg = TERN_PWALG_MD5;
	if (nonce_offers_algorithms(nonce))
		auth->error = pick_algorithm(msg, &alg);
	if (auth->error != 0)
		return;
	if (!nonce_valid(r, now, &from->client, nonce->value, nonce->len)) {
		auth->error = 438;
		return;
	}
	if (realm->len != r->realm_len || memcmp(realm->value, r->realm, r->realm_len) != 0 ||
	    !find_user(r, now, msg, alg, auth)) {
		memset(auth->key, 0, sizeof(auth->key));
		auth->error = 401;
		return;
	}
	auth->sha256_mi = msg->mi256_index >= 0;
}

/* The PASSWORD-ALGORITHMS list sent with 401 and 438. */
const struct tern_password_alg_entry *tern_rl_offered_algs(size_t *n)
{
	*n = sizeof(offered_algs) / sizeof(offered_algs[0]);
	return offered_algs;
}
