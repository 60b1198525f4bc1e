/*
 * test_relay_states.c - allocation lifetimes and the allocation state
 * machine: Refresh (RFC 8656 §8), expiry by tern_relay_tick() and
 * next_deadline, closed stream connections (§3.7), SIGHUP, the state x
 * event table (PENDING, ACTIVE, RESERVED, freed), and a run that fails the
 * Nth allocation for every N. Every test ends with tern_relay_destroy() and
 * zero live blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay_harness.h"

#define ST(h) ((struct rh *)*(h))
#define SEC   1000u

static const uint8_t payload[] = "state data";

/* ------------------------------------------------------------ Refresh */

static void test_relay_refresh_rfc8656_s8_lifetime(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	h->now += 100 * SEC;
	rh_refresh(h, 1200, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_attr_u32(h, TERN_ATTR_LIFETIME), 1200);
	assert_int_equal(tern_relay_next_deadline(h->r), h->now + 1200 * SEC);
	rh_refresh(h, -1, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_attr_u32(h, TERN_ATTR_LIFETIME), 600);
	rh_refresh(h, 99999, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_attr_u32(h, TERN_ATTR_LIFETIME), 3600);
	rh_refresh(h, 30, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_attr_u32(h, TERN_ATTR_LIFETIME), 600);
	assert_int_equal(tern_relay_next_deadline(h->r), h->now + 600 * SEC);
}

static void test_relay_refresh_rfc8656_s8_zero_deletes(void **state)
{
	struct rh *h = ST(state);
	uint32_t handle = rh_allocate(h, NULL);

	rh_refresh(h, 0, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_attr_u32(h, TERN_ATTR_LIFETIME), 0);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, handle);
	assert_true(rh_has_event(h, TERN_EV_ALLOC_DELETED, 0));
	assert_int_equal(rh_stats(h).allocations, 0);
	assert_int_equal(tern_relay_next_deadline(h->r), UINT64_MAX);
	rh_refresh(h, 0, 0);
	rh_expect_error(h, TERN_TURN_REFRESH, 437);
}

static void test_relay_refresh_rfc8656_s8_no_allocation_437(void **state)
{
	struct rh *h = ST(state);

	rh_refresh(h, 600, 0);
	rh_expect_error(h, TERN_TURN_REFRESH, 437);
	assert_true(h->resp.mi_index >= 0);
}

static void test_relay_refresh_rfc8656_s8_family_mismatch_443(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	rh_refresh(h, 600, TERN_AF_IPV6);
	rh_expect_error(h, TERN_TURN_REFRESH, 443);
	rh_refresh(h, 0, TERN_AF_IPV6);
	rh_expect_error(h, TERN_TURN_REFRESH, 443);
	assert_int_equal(rh_stats(h).allocations, 1);
	rh_refresh(h, 600, 0x03); /* no such family */
	rh_expect_error(h, TERN_TURN_REFRESH, 400);
	rh_refresh(h, 0, TERN_AF_IPV4);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_stats(h).allocations, 0);
}

static void test_relay_refresh_rfc8656_s8_per_family_delete(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts dual = {.aaf = TERN_AF_IPV6};
	struct tern_addr p4 = rh_ip(RH_PEER1, 5000), p6 = rh_ip(RH_PEER6, 5000);
	struct tern_addr both[2] = {p4, p6};

	rh_allocate(h, &dual);
	rh_permission(h, both, 2);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	rh_refresh(h, 0, TERN_AF_IPV6);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, h->handle[1]);
	assert_false(rh_has_event(h, TERN_EV_ALLOC_DELETED, 0));
	assert_int_equal(rh_stats(h).permissions, 1); /* the IPv6 one went with its side */
	assert_int_equal(rh_peer(h, h->handle[1], &p6, payload, 4), TERN_OK);
	rh_expect_silence(h);
	assert_int_equal(rh_peer(h, h->handle[0], &p4, payload, 4), TERN_OK);
	assert_int_equal(h->out.n, 1);
	rh_refresh(h, 600, TERN_AF_IPV6);
	rh_expect_error(h, TERN_TURN_REFRESH, 443);
}

static void test_relay_refresh_rfc8656_s8_per_family_lifetime(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts dual = {.aaf = TERN_AF_IPV6};
	uint64_t t0 = h->now;

	rh_allocate(h, &dual);
	h->now = t0 + 100 * SEC;
	rh_refresh(h, 1200, TERN_AF_IPV4);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(tern_relay_next_deadline(h->r), t0 + 600 * SEC);
	rh_tick(h, t0 + 600 * SEC - h->now);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, h->handle[1]);
	assert_false(rh_has_event(h, TERN_EV_ALLOC_EXPIRED, 0));
	assert_int_equal(tern_relay_next_deadline(h->r), t0 + 1300 * SEC);
	rh_tick(h, 700 * SEC);
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, h->handle[0]);
	assert_true(rh_has_event(h, TERN_EV_ALLOC_EXPIRED, 0));
}

/* ------------------------------------------------------------- expiry */

static void expect_deadline(struct rh *h, uint64_t at)
{
	uint64_t d = tern_relay_next_deadline(h->r);

	if (d != at)
		fail_msg("next deadline %llu, want %llu", (unsigned long long)d,
		         (unsigned long long)at);
	assert_true(d > h->now);
}

static void test_relay_tick_rfc8656_s7_expiry_and_deadline(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000), q = rh_ip(RH_PEER2, 5000);
	uint64_t t0 = h->now;
	uint32_t handle = rh_allocate(h, NULL);

	expect_deadline(h, t0 + 600 * SEC);
	h->now = t0 + 10 * SEC;
	rh_permission(h, &p, 1);
	expect_deadline(h, t0 + 310 * SEC);
	h->now = t0 + 20 * SEC;
	rh_bind(h, 0x4001, &q);
	expect_deadline(h, t0 + 310 * SEC);
	rh_tick(h, t0 + 309 * SEC - h->now); /* early: nothing */
	rh_expect_silence(h);
	expect_deadline(h, t0 + 310 * SEC);
	rh_tick(h, SEC);
	rh_expect_silence(h); /* a permission goes quietly */
	assert_int_equal(rh_stats(h).permissions, 1);
	expect_deadline(h, t0 + 320 * SEC);
	rh_tick(h, 10 * SEC);
	expect_deadline(h, t0 + 600 * SEC);
	rh_tick(h, 280 * SEC);
	assert_int_equal(h->out.n, 2);
	assert_int_equal(h->act[0].kind, TERN_ACT_CLOSE);
	assert_int_equal(h->act[0].handle, handle);
	assert_true(rh_has_event(h, TERN_EV_ALLOC_EXPIRED, 0));
	assert_int_equal(tern_relay_next_deadline(h->r), UINT64_MAX);
	assert_int_equal(rh_stats(h).allocations, 0);
	assert_int_equal(rh_stats(h).channels, 0);
	assert_int_equal(rh_stats(h).permissions, 0);
}

static void test_relay_tick_rfc8656_s7_many_expire_in_parts(void **state)
{
	struct rh *h = ST(state);

	for (size_t k = 0; k < RH_CLIENTS; k++) {
		rh_use(h, k);
		rh_allocate(h, NULL);
	}
	h->out_cap = 3;
	rh_tick(h, 600 * SEC);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	assert_int_equal(tern_relay_next_deadline(h->r), h->now); /* more is due */
	for (size_t k = 1; k < RH_CLIENTS; k++) {
		rh_tick(h, 0);
		assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	}
	assert_int_equal(rh_stats(h).allocations, 0);
	assert_int_equal(tern_relay_next_deadline(h->r), UINT64_MAX);
}

static void test_relay_client_closed_rfc8656_s3_7_tcp(void **state)
{
	struct rh *h = ST(state);
	uint32_t handle;

	rh_allocate(h, NULL);
	rh_closed(h); /* UDP has no connection to close */
	rh_expect_silence(h);
	rh_use(h, 1);
	h->cl[1].c.transport = TERN_TRANSPORT_TCP;
	handle = rh_allocate(h, NULL);
	rh_closed(h);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, handle);
	assert_true(rh_has_event(h, TERN_EV_ALLOC_DELETED, 0));
	assert_int_equal(rh_stats(h).allocations, 1);
	rh_closed(h);
	rh_expect_silence(h);
}

/* ------------------------------------------------------------- SIGHUP */

static void bind_fails(struct rh *h, uint16_t number, const struct tern_addr *peer, uint16_t code)
{
	rh_bind(h, number, peer);
	rh_expect_error(h, TERN_TURN_CHANNEL_BIND, code);
}

static void test_relay_reconfigure_purges_denied_peers(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr loop = rh_ip("127.0.0.1", 5000);
	struct tern_addr p1 = rh_ip(RH_PEER1, 5000), p2 = rh_ip(RH_PEER2, 5000);
	struct tern_addr peers[2] = {p1, p2};
	struct tern_addr base = rh_ip("8.8.4.0", 0);
	struct tern_addr_range deny;

	h->cfg.policy.allow_loopback = true;
	rh_allocate(h, NULL);
	rh_permission(h, peers, 2);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	rh_bind(h, 0x4001, &loop);
	rh_expect_ok(h, TERN_TURN_CHANNEL_BIND);
	assert_int_equal(rh_stats(h).permissions, 3);
	h->cfg.policy.allow_loopback = false;
	assert_int_equal(tern_addr_range_cidr(&base, 24, &deny), TERN_OK);
	h->cfg.policy.deny = &deny;
	h->cfg.policy.n_deny = 1;
	assert_int_equal(tern_relay_reconfigure(h->r, &h->cfg), TERN_OK);
	assert_int_equal(rh_stats(h).permissions, 1);
	rh_chan_data(h, 0x4001, payload, sizeof(payload));
	rh_expect_silence(h);
	assert_int_equal(rh_peer(h, h->handle[0], &loop, payload, 4), TERN_OK);
	rh_expect_silence(h);
	assert_int_equal(rh_peer(h, h->handle[0], &p2, payload, 4), TERN_OK);
	rh_expect_silence(h);
	assert_int_equal(rh_peer(h, h->handle[0], &p1, payload, 4), TERN_OK);
	assert_int_equal(h->out.n, 1);
	bind_fails(h, 0x4001, &loop, 403); /* the channel cannot be revived */
	rh_permission(h, &p1, 1);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	assert_true(tern_relay_next_deadline(h->r) > h->now);
	rh_refresh(h, 600, 0); /* the allocation is kept */
	rh_expect_ok(h, TERN_TURN_REFRESH);
}

static void test_relay_reconfigure_invalid_rejected(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	h->cfg.realm = "another.realm";
	assert_int_equal(tern_relay_reconfigure(h->r, &h->cfg), TERN_ERR_INVALID_ARG);
	h->cfg.realm = RH_REALM;
	h->cfg.nonce_key_len = 8;
	assert_int_equal(tern_relay_reconfigure(h->r, &h->cfg), TERN_ERR_INVALID_ARG);
	h->cfg.nonce_key_len = sizeof(h->nonce_key);
	rh_refresh(h, 600, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
}

static void test_relay_create_invalid_and_entropy(void **state)
{
	struct rh *h = ST(state);

	h->cfg.realm = NULL;
	assert_int_equal(rh_create(h), TERN_ERR_INVALID_ARG);
	h->cfg.realm = RH_REALM;
	h->cfg.min_port = 60000;
	h->cfg.max_port = 50000;
	assert_int_equal(rh_create(h), TERN_ERR_INVALID_ARG);
	h->cfg.min_port = h->cfg.max_port = 0;
	h->users[1].password = NULL; /* neither password nor key */
	assert_int_equal(rh_create(h), TERN_ERR_INVALID_ARG);
	assert_int_equal(h->live_blocks, 0);
	h->users[1].password = "builder";
	h->users[1].name = "";
	assert_int_equal(rh_create(h), TERN_ERR_INVALID_ARG);
	h->users[1].name = "bob";
	h->secrets[1].len = 0;
	assert_int_equal(rh_create(h), TERN_ERR_INVALID_ARG);
	h->secrets[1].len = 4;
	assert_int_equal(h->live_blocks, 0);
	h->entropy_fails = true;
	assert_int_equal(rh_create(h), TERN_ERR_CRYPTO);
	assert_int_equal(h->live_blocks, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rh_setup, rh_teardown)

/* The state machine table and the allocation-failure runs live in
 * test_relay_machine.c. */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_relay_refresh_rfc8656_s8_lifetime),
	    T(test_relay_refresh_rfc8656_s8_zero_deletes),
	    T(test_relay_refresh_rfc8656_s8_no_allocation_437),
	    T(test_relay_refresh_rfc8656_s8_family_mismatch_443),
	    T(test_relay_refresh_rfc8656_s8_per_family_delete),
	    T(test_relay_refresh_rfc8656_s8_per_family_lifetime),
	    T(test_relay_tick_rfc8656_s7_expiry_and_deadline),
	    T(test_relay_tick_rfc8656_s7_many_expire_in_parts),
	    T(test_relay_client_closed_rfc8656_s3_7_tcp),
	    T(test_relay_reconfigure_purges_denied_peers),
	    T(test_relay_reconfigure_invalid_rejected),
	    T(test_relay_create_invalid_and_entropy),
	};

	return cmocka_run_group_tests_name("relay_states", tests, NULL, NULL);
}
