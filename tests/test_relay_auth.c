/*
 * test_relay_auth.c - long-term credentials as the relay applies them
 * (RFC 8489 §9.2, RFC 8656 §5): MESSAGE-INTEGRITY and -SHA256, the
 * PASSWORD-ALGORITHMS rules of §9.2.4, USERHASH, static users with a
 * password or an MD5 key, TURN REST shared secrets, stateless nonces (expiry,
 * client IP), 441 for another user, the 401 rate limit, and SIGHUP swapping
 * users. Every test ends with tern_relay_destroy() and zero live blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay_harness.h"

#define ST(h)  ((struct rh *)*(h))
#define UNIX0  1700000000000ull /* wall clock at RH_T0, ms */
#define UNIX0S (UNIX0 / 1000)

/* A 401 or 438: REALM, a fresh cookie NONCE, PASSWORD-ALGORITHMS, unsigned. */
static void expect_challenge(struct rh *h, uint16_t method, uint16_t code)
{
	const struct tern_attr *n;

	rh_expect_error(h, method, code);
	n = rh_attr(h, TERN_ATTR_NONCE);
	assert_memory_equal(n->value, "obMatJos2", 9);
	assert_non_null(rh_attr(h, TERN_ATTR_REALM));
	assert_non_null(rh_attr(h, TERN_ATTR_PASSWORD_ALGORITHMS));
	assert_int_equal(h->resp.mi_index, -1);
	assert_int_equal(h->resp.mi256_index, -1);
}

/* An error response that carries no challenge and no signature. */
static void expect_plain_error(struct rh *h, uint16_t method, uint16_t code)
{
	rh_expect_error(h, method, code);
	assert_null(tern_stun_find(&h->resp, TERN_ATTR_NONCE));
	assert_int_equal(h->resp.mi_index, -1);
	assert_int_equal(h->resp.mi256_index, -1);
	assert_int_equal(h->nopens, 0);
}

/* -------------------------------------------------------- integrity */

static void test_relay_auth_rfc8489_s9_2_4_message_integrity(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	assert_true(h->resp.mi_index >= 0);
	assert_int_equal(h->resp.mi256_index, -1);
	assert_non_null(rh_attr(h, TERN_ATTR_SOFTWARE)); /* only once authenticated */
}

static void test_relay_auth_rfc8489_s9_2_4_message_integrity_sha256(void **state)
{
	struct rh *h = ST(state);

	h->cred.sha256_mi = true;
	rh_allocate(h, NULL); /* rh_expect_ok verifies the SHA-256 MAC */
	assert_true(h->resp.mi256_index >= 0);
	rh_refresh(h, 600, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_true(h->resp.mi256_index >= 0);
}

static void test_relay_auth_rfc8489_s9_2_4_password_algorithm_sha256(void **state)
{
	struct rh *h = ST(state);

	h->cred.alg = TERN_PWALG_SHA256;
	h->cred.sha256_mi = true;
	rh_allocate(h, NULL);
	rh_use(h, 1);
	h->cred.alg = TERN_PWALG_MD5;
	h->cred.sha256_mi = false;
	rh_allocate(h, NULL);
}

static void test_relay_auth_rfc8489_s9_2_4_wrong_password_401(void **state)
{
	struct rh *h = ST(state);

	rh_cred_user(h, "alice", "not-the-password");
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
	assert_true(rh_has_event(h, TERN_EV_AUTH_FAILED, 401));
	assert_int_equal(h->nopens, 0);
	rh_cred_user(h, "mallory", "x");
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
	rh_cred_user(h, "alice", "wonderland");
	h->cred.realm = "other.example";
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
	assert_int_equal(rh_stats(h).auth_failures, 3);
}

/* MESSAGE-INTEGRITY with some of USERNAME, REALM, NONCE left out. */
static void send_partial(struct rh *h, bool user, bool realm, bool nonce)
{
	const struct rh_client *c = &h->cl[h->cur];
	uint8_t key[TERN_KEY_MAX];
	size_t n = rh_key(h, key);

	rh_fetch_nonce(h);
	rh_start(h, TERN_TURN_ALLOCATE, TERN_STUN_REQUEST);
	(void)tern_stun_add_u8(&h->b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	if (user)
		(void)tern_stun_add_string(&h->b, TERN_ATTR_USERNAME, "alice", 5);
	if (realm)
		(void)tern_stun_add_string(&h->b, TERN_ATTR_REALM, RH_REALM, strlen(RH_REALM));
	if (nonce)
		(void)tern_stun_add_string(&h->b, TERN_ATTR_NONCE, c->nonce, c->nonce_len);
	(void)tern_stun_add_integrity(&h->b, key, n);
	rh_send(h);
}

static void test_relay_auth_rfc8489_s9_2_4_missing_attributes_400(void **state)
{
	struct rh *h = ST(state);

	send_partial(h, false, true, true);
	expect_plain_error(h, TERN_TURN_ALLOCATE, 400);
	send_partial(h, true, false, true);
	expect_plain_error(h, TERN_TURN_ALLOCATE, 400);
	send_partial(h, true, true, false);
	expect_plain_error(h, TERN_TURN_ALLOCATE, 400);
	send_partial(h, true, true, true);
	rh_open_all(h);
	rh_expect_ok(h, TERN_TURN_ALLOCATE);
}

/* ------------------------------------------- PASSWORD-ALGORITHMS rules */

static void expect_algorithms_400(struct rh *h)
{
	rh_allocate_send(h, NULL);
	expect_plain_error(h, TERN_TURN_ALLOCATE, 400);
	h->cred.no_pa = h->cred.no_pas = false;
	h->cred.npas = 0;
	h->cred.alg = TERN_PWALG_SHA256;
}

static void test_relay_auth_rfc8489_s9_2_4_password_algorithms_400(void **state)
{
	struct rh *h = ST(state);
	static const struct tern_password_alg_entry md5_only[] = {{TERN_PWALG_MD5, 0, NULL}};
	static const struct tern_password_alg_entry reversed[] = {{TERN_PWALG_MD5, 0, NULL},
	                                                          {TERN_PWALG_SHA256, 0, NULL}};

	h->cred.alg = TERN_PWALG_SHA256;
	h->cred.no_pas = true; /* PASSWORD-ALGORITHM alone */
	expect_algorithms_400(h);
	h->cred.no_pa = true; /* PASSWORD-ALGORITHMS alone */
	expect_algorithms_400(h);
	h->cred.pas = md5_only; /* not the list the server sent */
	h->cred.npas = 1;
	h->cred.alg = TERN_PWALG_MD5;
	expect_algorithms_400(h);
	h->cred.pas = reversed;
	h->cred.npas = 2;
	expect_algorithms_400(h);
	h->cred.alg = 0x0003; /* not one of the list */
	expect_algorithms_400(h);
	rh_allocate(h, NULL);
}

/* §9.2.4 checks the algorithms before the nonce's freshness. */
static void test_relay_auth_rfc8489_s9_2_4_algorithms_before_stale_nonce(void **state)
{
	struct rh *h = ST(state);

	rh_fetch_nonce(h);
	h->now += 3600 * 1000;
	h->cred.alg = TERN_PWALG_SHA256;
	h->cred.no_pas = true;
	rh_allocate_send(h, NULL);
	expect_plain_error(h, TERN_TURN_ALLOCATE, 400);
	h->cred.no_pas = false;
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 438);
}

/* ------------------------------------------------------- user kinds */

static void test_relay_auth_rfc8489_s9_2_4_userhash(void **state)
{
	struct rh *h = ST(state);

	h->cred.userhash = true;
	rh_allocate(h, NULL);
	rh_refresh(h, 700, 0); /* the owner is the same user by name or hash */
	rh_expect_ok(h, TERN_TURN_REFRESH);
	h->cred.userhash = false;
	rh_refresh(h, 800, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	rh_use(h, 1);
	rh_cred_user(h, "nobody", "x");
	h->cred.userhash = true;
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
}

static void test_relay_auth_rfc8489_s9_2_2_static_md5_key(void **state)
{
	struct rh *h = ST(state);

	h->cred.user = "carol";
	h->cred.pass = NULL;
	h->cred.key = h->carol_key;
	rh_allocate(h, NULL);
	rh_use(h, 1);
	h->cred.sha256_mi = true;
	rh_allocate(h, NULL);
	/* an MD5 key cannot serve PASSWORD-ALGORITHM SHA-256 */
	rh_use(h, 2);
	rh_cred_user(h, "carol", "carolpw");
	h->cred.alg = TERN_PWALG_SHA256;
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
}

/* ------------------------------------------------------- TURN REST */

static void test_relay_auth_rest_secret_rotation(void **state)
{
	struct rh *h = ST(state);

	tern_relay_set_unix_time(rh_ensure(h), h->now, UNIX0);
	rh_cred_rest(h, 0, UNIX0S + 3600, "alice");
	rh_allocate(h, NULL);
	rh_use(h, 1);
	rh_cred_rest(h, 1, UNIX0S + 3600, "alice"); /* the second active secret */
	rh_allocate(h, NULL);
	rh_use(h, 2);
	rh_cred_rest(h, 1, UNIX0S + 60, NULL); /* no ":id" part */
	h->cred.alg = TERN_PWALG_SHA256;
	rh_allocate(h, NULL);
}

static void test_relay_auth_rest_expiry_401(void **state)
{
	struct rh *h = ST(state);

	tern_relay_set_unix_time(rh_ensure(h), h->now, UNIX0);
	rh_cred_rest(h, 0, UNIX0S - 1, "late");
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
	rh_cred_rest(h, 0, UNIX0S + 100, "alice");
	rh_allocate(h, NULL);
	/* the shell re-syncs the wall clock: the username has expired */
	h->now += 10000;
	tern_relay_set_unix_time(h->r, h->now, UNIX0 + 200000);
	rh_refresh(h, 600, 0);
	expect_challenge(h, TERN_TURN_REFRESH, 401);
}

static void test_relay_auth_rest_bad_username_401(void **state)
{
	struct rh *h = ST(state);
	char pass[TERN_REST_PASSWORD_LEN + 1];

	tern_relay_set_unix_time(rh_ensure(h), h->now, UNIX0);
	assert_int_equal(tern_turn_rest_password(h->secrets[0].secret, h->secrets[0].len,
	                                         "x1700009999", 11, pass, sizeof(pass)),
	                 TERN_OK);
	rh_cred_user(h, "x1700009999", pass);
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
	rh_cred_rest(h, 0, UNIX0S + 3600, "alice");
	h->cred.pass = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="; /* not HMAC(secret, name) */
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 401);
}

/* ----------------------------------------------------------- nonces */

static void test_relay_auth_rfc8489_s9_2_4_stale_nonce_438(void **state)
{
	struct rh *h = ST(state);
	const struct tern_attr *n;

	rh_fetch_nonce(h);
	h->now += 599 * 1000;
	rh_allocate(h, NULL);
	h->now += 2000; /* nonce_lifetime_s defaults to 600 */
	rh_refresh(h, 600, 0);
	expect_challenge(h, TERN_TURN_REFRESH, 438);
	assert_true(rh_has_event(h, TERN_EV_AUTH_FAILED, 438));
	n = rh_attr(h, TERN_ATTR_NONCE);
	memcpy(h->cl[0].nonce, n->value, n->len);
	h->cl[0].nonce_len = n->len;
	rh_refresh(h, 600, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
}

static void test_relay_auth_rfc8489_s9_2_forged_nonce_438(void **state)
{
	struct rh *h = ST(state);
	struct rh_client *c = &h->cl[0];

	rh_fetch_nonce(h);
	c->nonce[c->nonce_len - 3] ^= 0x01; /* the MAC part */
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 438);
	memcpy(c->nonce, "obMatJos2AAAA!!!!", 17); /* not base64 */
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 438);
	c->nonce_len = 5; /* an RFC 5389 server's nonce: no cookie */
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 438);
	assert_int_equal(h->nopens, 0);
}

static void test_relay_auth_rfc8489_s9_2_nonce_bound_to_client_ip(void **state)
{
	struct rh *h = ST(state);

	rh_fetch_nonce(h);
	h->cl[1].nonce_len = h->cl[0].nonce_len;
	memcpy(h->cl[1].nonce, h->cl[0].nonce, h->cl[0].nonce_len);
	h->cl[2] = h->cl[1];
	rh_use(h, 1); /* another IP */
	rh_allocate_send(h, NULL);
	expect_challenge(h, TERN_TURN_ALLOCATE, 438);
	rh_use(h, 2); /* the same IP, another port */
	memcpy(h->cl[2].c.client.addr, h->cl[0].c.client.addr, 16);
	rh_allocate(h, NULL);
}

/* ----------------------------------------------------- 441 and 401s */

static void test_relay_auth_rfc8656_s5_other_user_441(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 0);

	rh_allocate(h, NULL);
	rh_cred_user(h, "bob", "builder");
	rh_refresh(h, 600, 0);
	rh_expect_error(h, TERN_TURN_REFRESH, 441);
	assert_true(rh_has_event(h, TERN_EV_AUTH_FAILED, 441));
	rh_permission(h, &peer, 1);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 441);
	rh_bind(h, 0x4000, &peer);
	rh_expect_error(h, TERN_TURN_CHANNEL_BIND, 441);
	rh_refresh(h, 0, 0);
	rh_expect_error(h, TERN_TURN_REFRESH, 441);
	assert_int_equal(rh_stats(h).allocations, 1);
	assert_int_equal(rh_stats(h).permissions, 0);
}

static size_t challenge_once(struct rh *h)
{
	rh_start(h, TERN_TURN_ALLOCATE, TERN_STUN_REQUEST);
	(void)tern_stun_add_u8(&h->b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	return rh_send(h);
}

static void test_relay_auth_rfc8656_s7_2_unauth_rate_limit(void **state)
{
	struct rh *h = ST(state);

	for (int i = 0; i < 20; i++) {
		challenge_once(h);
		rh_expect_error(h, TERN_TURN_ALLOCATE, 401);
	}
	assert_int_equal(challenge_once(h), 0); /* the 21st in a second */
	assert_int_equal(rh_stats(h).dropped, 1);
	rh_use(h, 1); /* another source has its own budget */
	challenge_once(h);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 401);
	rh_use(h, 0);
	h->now += 1000;
	challenge_once(h);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 401);
	/* authenticated requests are not limited */
	h->now += 1000;
	rh_fetch_nonce(h);
	for (int i = 0; i < 25; i++) {
		rh_allocate_send(h, NULL);
		rh_open_all(h);
		rh_expect_ok(h, TERN_TURN_ALLOCATE);
		rh_refresh(h, 0, 0);
		rh_expect_ok(h, TERN_TURN_REFRESH);
	}
}

/*
 * The limit is per source, not a relay-wide ceiling: 10,000 sources each
 * challenged once in the same millisecond all get their 401 (with 256
 * buckets of 20 tokens the relay stopped near 5,120), while one source
 * that keeps asking is still cut off within its 20 a second.
 */
static void test_relay_auth_rfc8656_s7_2_unauth_rate_limit_many_sources(void **state)
{
	struct rh *h = ST(state);
	struct tern_relay_client *c = rh_client(h);
	uint32_t answered = 0, more = 0;

	c->client = rh_ip("10.0.0.0", 5000);
	for (uint32_t i = 0; i < 10000; i++) {
		c->client.addr[2] = (uint8_t)(i >> 8);
		c->client.addr[3] = (uint8_t)i;
		answered += challenge_once(h) == 1;
	}
	assert_int_equal(answered, 10000);
	assert_int_equal(rh_stats(h).dropped, 0);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 401);
	/* the last source: it (and any source sharing its bucket) had 1-3 */
	while (more < 40 && challenge_once(h) == 1)
		more++;
	assert_in_range(more, 1, 19);
	assert_int_equal(rh_stats(h).dropped, 1);
}

static void test_relay_auth_rfc8489_s7_3_bad_fingerprint_dropped(void **state)
{
	struct rh *h = ST(state);

	rh_start(h, TERN_STUN_BINDING, TERN_STUN_REQUEST);
	rh_send(h);
	h->req[h->req_len - 1] ^= 1;
	rh_input(h, h->req, h->req_len);
	rh_expect_silence(h);
	h->req[2] = 0; /* a Length that does not fit: dropped too (§6.3) */
	h->req[3] = 4;
	h->req[h->req_len - 1] ^= 1;
	rh_input(h, h->req, h->req_len);
	rh_expect_silence(h);
}

/* -------------------------------------------------------- SIGHUP */

static void test_relay_reconfigure_swaps_users(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	h->users[0] = (struct tern_relay_user){"dave", "divers", NULL};
	assert_int_equal(tern_relay_reconfigure(h->r, &h->cfg), TERN_OK);
	assert_int_equal(rh_stats(h).allocations, 1); /* kept */
	rh_refresh(h, 600, 0);
	expect_challenge(h, TERN_TURN_REFRESH, 401);
	rh_use(h, 1);
	rh_cred_user(h, "dave", "divers");
	rh_allocate(h, NULL);
	assert_int_equal(rh_stats(h).allocations, 2);
}

static void test_relay_reconfigure_nomem_keeps_config(void **state)
{
	struct rh *h = ST(state);
	int rc = TERN_ERR_NOMEM;
	struct tern_addr base = rh_ip("10.0.0.0", 0), own = rh_ip("203.0.113.1", 3478);
	struct tern_addr_range range;

	assert_int_equal(tern_addr_range_cidr(&base, 8, &range), TERN_OK);
	rh_allocate(h, NULL);
	h->users[0] = (struct tern_relay_user){"dave", "divers", NULL};
	h->cfg.policy = (struct tern_peer_policy){&range, 1, &range, 1, &own, 1, 0, 0, false};
	for (size_t n = 1; rc == TERN_ERR_NOMEM; n++) {
		h->fail_at = h->n_allocs + n;
		rc = tern_relay_reconfigure(h->r, &h->cfg);
		if (rc == TERN_OK)
			break;
		assert_int_equal(rc, TERN_ERR_NOMEM);
		rh_refresh(h, 600, 0); /* alice still works */
		rh_expect_ok(h, TERN_TURN_REFRESH);
	}
	assert_int_equal(rc, TERN_OK);
	rh_refresh(h, 600, 0);
	expect_challenge(h, TERN_TURN_REFRESH, 401);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rh_setup, rh_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_relay_auth_rfc8489_s9_2_4_message_integrity),
	    T(test_relay_auth_rfc8489_s9_2_4_message_integrity_sha256),
	    T(test_relay_auth_rfc8489_s9_2_4_password_algorithm_sha256),
	    T(test_relay_auth_rfc8489_s9_2_4_wrong_password_401),
	    T(test_relay_auth_rfc8489_s9_2_4_missing_attributes_400),
	    T(test_relay_auth_rfc8489_s9_2_4_password_algorithms_400),
	    T(test_relay_auth_rfc8489_s9_2_4_algorithms_before_stale_nonce),
	    T(test_relay_auth_rfc8489_s9_2_4_userhash),
	    T(test_relay_auth_rfc8489_s9_2_2_static_md5_key),
	    T(test_relay_auth_rest_secret_rotation),
	    T(test_relay_auth_rest_expiry_401),
	    T(test_relay_auth_rest_bad_username_401),
	    T(test_relay_auth_rfc8489_s9_2_4_stale_nonce_438),
	    T(test_relay_auth_rfc8489_s9_2_forged_nonce_438),
	    T(test_relay_auth_rfc8489_s9_2_nonce_bound_to_client_ip),
	    T(test_relay_auth_rfc8656_s5_other_user_441),
	    T(test_relay_auth_rfc8656_s7_2_unauth_rate_limit),
	    T(test_relay_auth_rfc8656_s7_2_unauth_rate_limit_many_sources),
	    T(test_relay_auth_rfc8489_s7_3_bad_fingerprint_dropped),
	    T(test_relay_reconfigure_swaps_users),
	    T(test_relay_reconfigure_nomem_keeps_config),
	};

	return cmocka_run_group_tests_name("relay_auth", tests, NULL, NULL);
}
