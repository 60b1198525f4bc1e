/* relay_harness.c - see relay_harness.h. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "relay_harness.h"

/* ------------------------------------------------- counting allocator */

union rh_block {
	max_align_t align;
	size_t size;
};

static void *rh_alloc(void *ctx, size_t size)
{
	struct rh *h = ctx;
	union rh_block *p;

	h->n_allocs++;
	if (h->fail_at != 0 && h->n_allocs == h->fail_at) {
		h->fail_hit = true;
		return NULL;
	}
	p = malloc(sizeof(*p) + size);
	if (p == NULL)
		return NULL;
	p->size = size;
	memset(p + 1, 0xA5, size); /* so that reading it uninitialised shows */
	h->live_blocks++;
	h->live_bytes += size;
	return p + 1;
}

static void rh_free(void *ctx, void *ptr)
{
	struct rh *h = ctx;
	union rh_block *p;

	if (ptr == NULL)
		return;
	p = (union rh_block *)ptr - 1;
	assert_true(h->live_blocks > 0);
	h->live_blocks--;
	h->live_bytes -= p->size;
	free(p);
}

/* xorshift64*: deterministic, so every port and token is reproducible. */
static int rh_entropy(void *ctx, uint8_t *buf, size_t n)
{
	struct rh *h = ctx;

	if (h->entropy_fails)
		return -1;
	for (size_t i = 0; i < n; i++) {
		h->rng ^= h->rng >> 12;
		h->rng ^= h->rng << 25;
		h->rng ^= h->rng >> 27;
		buf[i] = (uint8_t)((h->rng * 0x2545F4914F6CDD1Dull) >> 56);
	}
	return 0;
}

/* ------------------------------------------------------------ setup */

struct tern_addr rh_ip(const char *text, uint16_t port)
{
	struct tern_addr a;

	memset(&a, 0, sizeof(a));
	a.port = port;
	if (inet_pton(AF_INET, text, a.addr) == 1)
		a.family = TERN_AF_IPV4;
	else if (inet_pton(AF_INET6, text, a.addr) == 1)
		a.family = TERN_AF_IPV6;
	else
		fail_msg("bad address in test: %s", text);
	return a;
}

static const uint8_t secret1[] = "rest-secret-one";
static const uint8_t secret2[] = "rest-secret-two";

static void config_users(struct rh *h)
{
	size_t klen;

	assert_int_equal(tern_stun_long_term_key(TERN_PWALG_MD5, "carol", 5, RH_REALM,
	                                         strlen(RH_REALM), "carolpw", 7, h->carol_key,
	                                         &klen),
	                 TERN_OK);
	h->users[0] = (struct tern_relay_user){"alice", "wonderland", NULL};
	h->users[1] = (struct tern_relay_user){"bob", "builder", NULL};
	h->users[2] = (struct tern_relay_user){"carol", NULL, h->carol_key};
	h->cfg.users = h->users;
	h->cfg.n_users = 3;
	h->secrets[0] = (struct tern_relay_secret){secret1, sizeof(secret1) - 1};
	h->secrets[1] = (struct tern_relay_secret){secret2, sizeof(secret2) - 1};
	h->cfg.secrets = h->secrets;
	h->cfg.n_secrets = 2;
}

void rh_config_default(struct rh *h)
{
	memset(&h->cfg, 0, sizeof(h->cfg));
	h->cfg.realm = RH_REALM;
	h->cfg.software = "tern-test";
	h->cfg.relay_v4 = rh_ip("203.0.113.1", 0);
	h->cfg.relay_v6 = rh_ip("2001:db8::1", 0);
	for (size_t i = 0; i < sizeof(h->nonce_key); i++)
		h->nonce_key[i] = (uint8_t)(0xA0 + i);
	h->cfg.nonce_key = h->nonce_key;
	h->cfg.nonce_key_len = sizeof(h->nonce_key);
	h->cfg.hooks = (struct tern_relay_hooks){rh_alloc, rh_free, rh_entropy, h};
	config_users(h);
}

static void config_clients(struct rh *h)
{
	for (size_t k = 0; k < RH_CLIENTS; k++) {
		char text[32];
		struct tern_relay_client *c = &h->cl[k].c;

		snprintf(text, sizeof(text), "192.0.2.%u", (unsigned)(10 + k));
		c->listener = (uint32_t)(k + 1);
		c->transport = TERN_TRANSPORT_UDP;
		c->client = rh_ip(text, (uint16_t)(40000 + k));
		c->server = rh_ip("203.0.113.1", 3478);
	}
}

int rh_setup(void **state)
{
	struct rh *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	h->rng = 0x9E3779B97F4A7C15ull;
	h->now = RH_T0;
	rh_config_default(h);
	config_clients(h);
	rh_cred_user(h, "alice", "wonderland");
	*state = h;
	return 0;
}

void rh_destroy(struct rh *h)
{
	tern_relay_destroy(h->r);
	h->r = NULL;
	if (h->live_blocks != 0)
		fail_msg("%zu blocks (%zu bytes) still alive after tern_relay_destroy",
		         h->live_blocks, h->live_bytes);
}

int rh_teardown(void **state)
{
	struct rh *h = *state;

	rh_destroy(h);
	free(h);
	return 0;
}

int rh_create(struct rh *h)
{
	assert_null(h->r);
	h->create_rc = tern_relay_create(&h->cfg, &h->r);
	if (h->create_rc != TERN_OK)
		h->r = NULL;
	return h->create_rc;
}

struct tern_relay *rh_ensure(struct rh *h)
{
	if (h->r == NULL)
		assert_int_equal(rh_create(h), TERN_OK);
	return h->r;
}

void rh_use(struct rh *h, size_t k)
{
	assert_true(k < RH_CLIENTS);
	h->cur = k;
}

struct tern_relay_client *rh_client(struct rh *h)
{
	return &h->cl[h->cur].c;
}

void rh_cred_user(struct rh *h, const char *user, const char *pass)
{
	memset(&h->cred, 0, sizeof(h->cred));
	h->cred.user = user;
	h->cred.pass = pass;
}

void rh_cred_rest(struct rh *h, size_t k, uint64_t expiry, const char *id)
{
	const struct tern_relay_secret *s = &h->secrets[k];

	if (id != NULL)
		snprintf(h->rest_user, sizeof(h->rest_user), "%llu:%s", (unsigned long long)expiry,
		         id);
	else
		snprintf(h->rest_user, sizeof(h->rest_user), "%llu", (unsigned long long)expiry);
	assert_int_equal(tern_turn_rest_password(s->secret, s->len, h->rest_user,
	                                         strlen(h->rest_user), h->rest_pass,
	                                         sizeof(h->rest_pass)),
	                 TERN_OK);
	rh_cred_user(h, h->rest_user, h->rest_pass);
}

size_t rh_key(const struct rh *h, uint8_t key[TERN_KEY_MAX])
{
	const char *realm = h->cred.realm ? h->cred.realm : RH_REALM;
	uint16_t alg = h->cred.alg == TERN_PWALG_SHA256 ? TERN_PWALG_SHA256 : TERN_PWALG_MD5;
	size_t len;

	if (h->cred.key != NULL) {
		memcpy(key, h->cred.key, 16);
		return 16;
	}
	assert_int_equal(tern_stun_long_term_key(alg, h->cred.user, strlen(h->cred.user), realm,
	                                         strlen(realm), h->cred.pass, strlen(h->cred.pass),
	                                         key, &len),
	                 TERN_OK);
	return len;
}

/* --------------------------------------------------------- requests */

static void next_txid(struct rh *h)
{
	uint32_t n = ++h->txid_n;

	memcpy(h->txid, "rh-txid-", 8);
	for (size_t i = 0; i < 4; i++)
		h->txid[8 + i] = (uint8_t)(n >> (24 - 8 * i));
}

static void start_with_txid(struct rh *h, uint16_t method, enum tern_stun_class cls)
{
	assert_int_equal(tern_stun_build_start(&h->b, h->req, sizeof(h->req),
	                                       tern_stun_type(method, cls), h->txid),
	                 TERN_OK);
	h->signed_req = false;
}

void rh_start(struct rh *h, uint16_t method, enum tern_stun_class cls)
{
	next_txid(h);
	start_with_txid(h, method, cls);
}

void rh_start_same_txid(struct rh *h, uint16_t method, enum tern_stun_class cls)
{
	start_with_txid(h, method, cls);
}

void rh_fetch_nonce(struct rh *h)
{
	struct rh_client *c = &h->cl[h->cur];
	const struct tern_attr *n;

	if (c->nonce_len != 0)
		return;
	rh_start(h, TERN_TURN_ALLOCATE, TERN_STUN_REQUEST);
	(void)tern_stun_add_u8(&h->b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	rh_send(h);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 401);
	n = rh_attr(h, TERN_ATTR_NONCE);
	assert_true(n->len <= sizeof(c->nonce));
	memcpy(c->nonce, n->value, n->len);
	c->nonce_len = n->len;
}

static const struct tern_password_alg_entry offered[] = {
    {TERN_PWALG_SHA256, 0, NULL},
    {TERN_PWALG_MD5, 0, NULL},
};

static void add_algorithms(struct rh *h)
{
	const struct tern_password_alg_entry *pas = h->cred.npas ? h->cred.pas : offered;
	size_t npas = h->cred.npas ? h->cred.npas : 2;
	struct tern_password_alg_entry pa = {h->cred.alg, 0, NULL};

	if (!h->cred.no_pas)
		(void)tern_stun_add_password_algorithms(&h->b, pas, npas);
	if (!h->cred.no_pa)
		(void)tern_stun_add_password_algorithm(&h->b, &pa);
}

void rh_sign(struct rh *h)
{
	const struct rh_client *c = &h->cl[h->cur];
	const char *realm = h->cred.realm ? h->cred.realm : RH_REALM;
	uint8_t key[TERN_KEY_MAX], uh[32];
	size_t key_len = rh_key(h, key);

	if (h->cred.userhash) {
		tern_stun_userhash(h->cred.user, strlen(h->cred.user), realm, strlen(realm), uh);
		(void)tern_stun_add_raw(&h->b, TERN_ATTR_USERHASH, uh, sizeof(uh));
	} else {
		(void)tern_stun_add_string(&h->b, TERN_ATTR_USERNAME, h->cred.user,
		                           strlen(h->cred.user));
	}
	(void)tern_stun_add_string(&h->b, TERN_ATTR_REALM, realm, strlen(realm));
	(void)tern_stun_add_string(&h->b, TERN_ATTR_NONCE, c->nonce, c->nonce_len);
	if (h->cred.alg != 0)
		add_algorithms(h);
	if (h->cred.sha256_mi)
		(void)tern_stun_add_integrity_sha256(&h->b, key, key_len, 32);
	else
		(void)tern_stun_add_integrity(&h->b, key, key_len);
	h->signed_req = true;
}

void rh_out_reset(struct rh *h)
{
	memset(h->act, 0, sizeof(h->act));
	h->out.actions = h->act;
	h->out.cap = h->out_cap ? h->out_cap : RH_ACTIONS;
	h->out.n = 0;
	h->out.scratch = h->scratch;
	h->out.scratch_cap = h->scratch_cap ? h->scratch_cap : RH_SCRATCH;
	h->out.scratch_len = 0;
}

static void record_opens(struct rh *h)
{
	for (size_t i = 0; i < h->out.n; i++) {
		const struct tern_relay_action *a = &h->act[i];

		if (a->kind != TERN_ACT_OPEN)
			continue;
		assert_true(h->nopens < RH_OPENS);
		h->opens[h->nopens++] = (struct rh_open){a->handle, a->peer, a->dont_fragment};
	}
}

size_t rh_input(struct rh *h, const uint8_t *buf, size_t len)
{
	struct tern_relay *r = rh_ensure(h);

	rh_out_reset(h);
	h->rc = tern_relay_client_input(r, h->now, rh_client(h), buf, len, &h->out);
	assert_int_equal(h->rc, h->want_rc);
	record_opens(h);
	return h->out.n;
}

size_t rh_send(struct rh *h)
{
	(void)tern_stun_add_fingerprint(&h->b);
	assert_int_equal(tern_stun_build_finish(&h->b, &h->req_len), TERN_OK);
	return rh_input(h, h->req, h->req_len);
}

void rh_allocate_send(struct rh *h, const struct rh_alloc_opts *o)
{
	static const struct rh_alloc_opts none;
	static const uint8_t zero4[4];

	if (o == NULL)
		o = &none;
	rh_fetch_nonce(h);
	rh_start(h, TERN_TURN_ALLOCATE, TERN_STUN_REQUEST);
	if (o->transport >= 0)
		(void)tern_stun_add_u8(&h->b, TERN_ATTR_REQUESTED_TRANSPORT,
		                       (uint8_t)(o->transport ? o->transport : 17));
	if (o->lifetime != 0)
		(void)tern_stun_add_u32(&h->b, TERN_ATTR_LIFETIME, o->lifetime);
	if (o->raf != 0)
		(void)tern_stun_add_u8(&h->b, TERN_ATTR_REQUESTED_ADDRESS_FAMILY, o->raf);
	if (o->aaf != 0)
		(void)tern_stun_add_u8(&h->b, TERN_ATTR_ADDITIONAL_ADDRESS_FAMILY, o->aaf);
	if (o->even)
		(void)tern_stun_add_even_port(&h->b, o->reserve);
	if (o->token != 0)
		(void)tern_stun_add_u64(&h->b, TERN_ATTR_RESERVATION_TOKEN, o->token);
	if (o->df)
		(void)tern_stun_add_raw(&h->b, TERN_ATTR_DONT_FRAGMENT, NULL, 0);
	if (o->unknown != 0)
		(void)tern_stun_add_raw(&h->b, o->unknown, zero4, sizeof(zero4));
	rh_sign(h);
	rh_send(h);
}

/* Match the reply's relayed addresses to the OPENs that bound them. */
static void record_relayed(struct rh *h)
{
	h->handle[0] = h->handle[1] = 0;
	for (const struct tern_attr *a = tern_stun_find(&h->resp, TERN_ATTR_XOR_RELAYED_ADDRESS);
	     a != NULL; a = tern_stun_find_next(&h->resp, a)) {
		struct tern_addr addr;
		size_t f;

		assert_int_equal(tern_attr_get_xor_address(a, h->resp.txid, &addr), TERN_OK);
		f = addr.family == TERN_AF_IPV6 ? 1 : 0;
		h->relayed[f] = addr;
		for (size_t i = h->nopens; i-- > 0;)
			if (h->opens[i].addr.family == addr.family &&
			    h->opens[i].addr.port == addr.port) {
				h->handle[f] = h->opens[i].handle;
				break;
			}
		assert_int_not_equal(h->handle[f], 0);
	}
}

uint32_t rh_allocate(struct rh *h, const struct rh_alloc_opts *o)
{
	rh_allocate_send(h, o);
	rh_open_all(h);
	rh_expect_ok(h, TERN_TURN_ALLOCATE);
	return h->handle[h->handle[0] != 0 ? 0 : 1];
}

void rh_refresh(struct rh *h, int64_t lifetime, uint8_t raf)
{
	rh_fetch_nonce(h);
	rh_start(h, TERN_TURN_REFRESH, TERN_STUN_REQUEST);
	if (lifetime >= 0)
		(void)tern_stun_add_u32(&h->b, TERN_ATTR_LIFETIME, (uint32_t)lifetime);
	if (raf != 0)
		(void)tern_stun_add_u8(&h->b, TERN_ATTR_REQUESTED_ADDRESS_FAMILY, raf);
	rh_sign(h);
	rh_send(h);
}

void rh_permission(struct rh *h, const struct tern_addr *peers, size_t n)
{
	rh_fetch_nonce(h);
	rh_start(h, TERN_TURN_CREATE_PERMISSION, TERN_STUN_REQUEST);
	for (size_t i = 0; i < n; i++)
		(void)tern_stun_add_xor_address(&h->b, TERN_ATTR_XOR_PEER_ADDRESS, &peers[i]);
	rh_sign(h);
	rh_send(h);
}

void rh_bind(struct rh *h, uint16_t number, const struct tern_addr *peer)
{
	rh_fetch_nonce(h);
	rh_start(h, TERN_TURN_CHANNEL_BIND, TERN_STUN_REQUEST);
	(void)tern_stun_add_u16(&h->b, TERN_ATTR_CHANNEL_NUMBER, number);
	(void)tern_stun_add_xor_address(&h->b, TERN_ATTR_XOR_PEER_ADDRESS, peer);
	rh_sign(h);
	rh_send(h);
}

void rh_send_ind(struct rh *h, const struct tern_addr *peer, const void *data, size_t len, bool df)
{
	rh_start(h, TERN_TURN_SEND, TERN_STUN_INDICATION);
	(void)tern_stun_add_xor_address(&h->b, TERN_ATTR_XOR_PEER_ADDRESS, peer);
	(void)tern_stun_add_raw(&h->b, TERN_ATTR_DATA, data, len);
	if (df)
		(void)tern_stun_add_raw(&h->b, TERN_ATTR_DONT_FRAGMENT, NULL, 0);
	rh_send(h);
}

void rh_chan_data(struct rh *h, uint16_t number, const void *data, size_t len)
{
	bool stream = rh_client(h)->transport != TERN_TRANSPORT_UDP;
	size_t n;

	assert_int_equal(
	    tern_channel_data_build(h->cdbuf, sizeof(h->cdbuf), number, data, len, stream, &n),
	    TERN_OK);
	rh_input(h, h->cdbuf, n);
}

/* ------------------------------------------------------- relay calls */

size_t rh_opened(struct rh *h, uint32_t handle, int result)
{
	struct tern_relay *r = rh_ensure(h);

	rh_out_reset(h);
	h->rc = tern_relay_opened(r, h->now, handle, result, &h->out);
	assert_int_equal(h->rc, h->want_rc);
	record_opens(h);
	return h->out.n;
}

void rh_open_all(struct rh *h)
{
	const struct tern_relay_action *a;

	for (size_t i = 0; (a = rh_act(h, TERN_ACT_OPEN, 0)) != NULL; i++) {
		assert_true(i < 16);
		rh_opened(h, a->handle, TERN_OK);
	}
}

int rh_peer(struct rh *h, uint32_t handle, const struct tern_addr *peer, const void *data,
            size_t len)
{
	struct tern_relay *r = rh_ensure(h);

	assert_true(len <= RH_DATA_CAP);
	memset(h->pbuf, 0xEE, sizeof(h->pbuf));
	memcpy(h->pbuf + TERN_RELAY_HEADROOM, data, len);
	rh_out_reset(h);
	h->rc = tern_relay_peer_input(r, h->now, handle, peer, h->pbuf, TERN_RELAY_HEADROOM, len,
	                              TERN_RELAY_TAILROOM, &h->out);
	return h->rc;
}

size_t rh_tick(struct rh *h, uint64_t ms)
{
	struct tern_relay *r = rh_ensure(h);

	h->now += ms;
	rh_out_reset(h);
	h->rc = tern_relay_tick(r, h->now, &h->out);
	assert_int_equal(h->rc, TERN_OK);
	return h->out.n;
}

size_t rh_closed(struct rh *h)
{
	struct tern_relay *r = rh_ensure(h);

	rh_out_reset(h);
	h->rc = tern_relay_client_closed(r, h->now, rh_client(h), &h->out);
	assert_int_equal(h->rc, h->want_rc);
	return h->out.n;
}

/* ------------------------------------------------------------ checks */

const struct tern_relay_action *rh_act(const struct rh *h, enum tern_relay_action_kind kind,
                                       size_t nth)
{
	for (size_t i = 0; i < h->out.n; i++)
		if (h->act[i].kind == kind && nth-- == 0)
			return &h->act[i];
	return NULL;
}

size_t rh_count(const struct rh *h, enum tern_relay_action_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < h->out.n; i++)
		n += h->act[i].kind == kind;
	return n;
}

bool rh_has_event(const struct rh *h, enum tern_relay_event ev, uint16_t code)
{
	for (size_t i = 0; i < h->out.n; i++)
		if (h->act[i].kind == TERN_ACT_EVENT && h->act[i].event == ev &&
		    h->act[i].code == code)
			return true;
	return false;
}

const struct tern_stun_msg *rh_reply(struct rh *h)
{
	const struct tern_relay_action *a = rh_act(h, TERN_ACT_SEND_CLIENT, 0);

	if (a == NULL)
		fail_msg("no SEND_CLIENT action (%zu actions)", h->out.n);
	assert_int_equal(tern_stun_parse(a->data, a->len, &h->resp), TERN_OK);
	assert_int_equal(h->resp.fp_index >= 0, true);
	assert_int_equal(tern_stun_check_fingerprint(&h->resp), TERN_OK);
	return &h->resp;
}

uint16_t rh_reply_code(struct rh *h, uint16_t method)
{
	const struct tern_stun_msg *m = rh_reply(h);
	const struct tern_attr *e;
	struct tern_error_code ec;

	assert_int_equal(m->method, method);
	if (m->cls == TERN_STUN_SUCCESS)
		return 0;
	assert_int_equal(m->cls, TERN_STUN_ERROR);
	e = tern_stun_find(m, TERN_ATTR_ERROR_CODE);
	assert_non_null(e);
	assert_int_equal(tern_attr_get_error_code(e, &ec), TERN_OK);
	return ec.code;
}

static void check_signed(struct rh *h)
{
	uint8_t key[TERN_KEY_MAX];
	size_t len = rh_key(h, key);

	if (h->cred.sha256_mi) {
		assert_int_equal(tern_stun_check_integrity_sha256(&h->resp, key, len), TERN_OK);
		assert_int_equal(h->resp.mi_index, -1);
	} else {
		assert_int_equal(tern_stun_check_integrity(&h->resp, key, len), TERN_OK);
	}
}

void rh_expect_ok(struct rh *h, uint16_t method)
{
	uint16_t code = rh_reply_code(h, method);

	if (code != 0)
		fail_msg("%s: expected success, got error %u", tern_stun_method_name(method),
		         (unsigned)code);
	assert_memory_equal(h->resp.txid, h->txid, TERN_STUN_TXID_LEN);
	if (h->signed_req)
		check_signed(h);
	if (method == TERN_TURN_ALLOCATE)
		record_relayed(h);
}

void rh_expect_error(struct rh *h, uint16_t method, uint16_t code)
{
	uint16_t got = rh_reply_code(h, method);

	if (got != code)
		fail_msg("%s: expected error %u, got %u", tern_stun_method_name(method),
		         (unsigned)code, (unsigned)got);
	assert_memory_equal(h->resp.txid, h->txid, TERN_STUN_TXID_LEN);
}

void rh_expect_silence(const struct rh *h)
{
	if (h->out.n != 0)
		fail_msg("expected no action, got %zu (first kind %d)", h->out.n,
		         (int)h->act[0].kind);
}

const struct tern_attr *rh_attr(const struct rh *h, uint16_t type)
{
	const struct tern_attr *a = tern_stun_find(&h->resp, type);

	if (a == NULL)
		fail_msg("reply lacks attribute 0x%04x", (unsigned)type);
	return a;
}

uint32_t rh_attr_u32(const struct rh *h, uint16_t type)
{
	uint32_t v;

	assert_int_equal(tern_attr_get_u32(rh_attr(h, type), &v), TERN_OK);
	return v;
}

struct tern_addr rh_xor_addr(const struct rh *h, uint16_t type, size_t nth)
{
	const struct tern_attr *a = rh_attr(h, type);
	struct tern_addr addr;

	for (; nth > 0 && a != NULL; nth--)
		a = tern_stun_find_next(&h->resp, a);
	assert_non_null(a);
	assert_int_equal(tern_attr_get_xor_address(a, h->resp.txid, &addr), TERN_OK);
	return addr;
}

void rh_assert_addr(const struct tern_addr *got, const struct tern_addr *want)
{
	assert_int_equal(got->family, want->family);
	assert_int_equal(got->port, want->port);
	assert_memory_equal(got->addr, want->addr, want->family == TERN_AF_IPV6 ? 16 : 4);
}

static const char *const event_names[] = {
    [TERN_EV_ALLOC_CREATED] = "created", [TERN_EV_ALLOC_DELETED] = "deleted",
    [TERN_EV_ALLOC_EXPIRED] = "expired", [TERN_EV_PERMISSION_CREATED] = "perm",
    [TERN_EV_CHANNEL_BOUND] = "chan",    [TERN_EV_AUTH_FAILED] = "auth",
    [TERN_EV_ERROR_SENT] = "err",        [TERN_EV_PORT_EXHAUSTED] = "ports",
};

static void client_token(const struct tern_relay_action *a, char *tok, size_t cap)
{
	struct tern_stun_msg m;
	const struct tern_attr *e;
	struct tern_error_code ec;

	if (tern_demux(a->data, a->len) == TERN_DEMUX_CHANNEL_DATA) {
		snprintf(tok, cap, "cd");
	} else if (tern_stun_parse(a->data, a->len, &m) != TERN_OK) {
		snprintf(tok, cap, "junk");
	} else if (m.cls == TERN_STUN_SUCCESS) {
		snprintf(tok, cap, "ok");
	} else if (m.cls == TERN_STUN_INDICATION) {
		snprintf(tok, cap, "ind");
	} else if ((e = tern_stun_find(&m, TERN_ATTR_ERROR_CODE)) != NULL &&
	           tern_attr_get_error_code(e, &ec) == TERN_OK) {
		snprintf(tok, cap, "e%u", (unsigned)ec.code);
	} else {
		snprintf(tok, cap, "?");
	}
}

const char *rh_signature(struct rh *h, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < h->out.n; i++) {
		const struct tern_relay_action *a = &h->act[i];
		char tok[32];

		switch (a->kind) {
		case TERN_ACT_SEND_CLIENT:
			client_token(a, tok, sizeof(tok));
			break;
		case TERN_ACT_SEND_PEER:
			snprintf(tok, sizeof(tok), "peer");
			break;
		case TERN_ACT_OPEN:
			snprintf(tok, sizeof(tok), "open");
			break;
		case TERN_ACT_CLOSE:
			snprintf(tok, sizeof(tok), "close");
			break;
		case TERN_ACT_EVENT:
			snprintf(tok, sizeof(tok), "ev:%s", event_names[a->event]);
			break;
		}
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? " " : "", tok);
		assert_true(used < cap);
	}
	if (used == 0)
		snprintf(buf, cap, "-");
	return buf;
}

struct tern_relay_stats rh_stats(const struct rh *h)
{
	struct tern_relay_stats s;

	tern_relay_get_stats(h->r, &s);
	return s;
}
