/*
 * test_relay_machine.c - the allocation state machine (relay/internal.h:
 * PENDING, ACTIVE, RESERVED, freed) driven through every event, and runs
 * that fail the Nth allocation for every N (STYLE rule 16). Every test ends
 * with tern_relay_destroy() and zero live blocks.
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

static const uint8_t payload[] = "machine";

/* ------------------------------------------------- state x event table */

enum a_state { S_PENDING, S_ACTIVE, S_RESERVED, S_FREED, S_COUNT };
enum a_event {
	E_ALLOCATE,
	E_REFRESH,
	E_PERMISSION,
	E_CHANNEL_BIND,
	E_SEND,
	E_CHANNEL_DATA,
	E_PEER_DATA,
	E_OPENED_OK,
	E_OPENED_IN_USE,
	E_OPENED_FAIL,
	E_TICK_EXPIRY,
	E_CLIENT_CLOSED,
	E_COUNT
};

static const char *const state_name[S_COUNT] = {"PENDING", "ACTIVE", "RESERVED", "freed"};
static const char *const event_name[E_COUNT] = {
    "Allocate",  "Refresh",   "CreatePermission", "ChannelBind", "Send",           "ChannelData",
    "peer data", "opened OK", "opened in-use",    "opened fail", "tick at expiry", "client closed"};

/*
 * What each cell must produce (rh_signature). The subject is a TCP client
 * (so "client closed" applies); RESERVED is the port + 1 held after an
 * EVEN-PORT R=1 Allocate: its handle takes the handle events, a client
 * without an allocation sends the others, and its Allocate redeems the
 * token. The ACTIVE subject has a permission and a channel for the peer.
 */
static const char *const expect[S_COUNT][E_COUNT] = {
    [S_PENDING] = {"e437 ev:err", "e437 ev:err", "e437 ev:err", "e437 ev:err", "-", "-", "-",
                   "ok ev:created", "open", "e508 ev:ports", "-", "ev:deleted"},
    [S_ACTIVE] = {"e437 ev:err", "ok", "ok ev:perm", "ok ev:chan", "peer", "peer", "cd", "-", "-",
                  "-", "close ev:expired", "ev:deleted close"},
    [S_RESERVED] = {"ok ev:created", "e437 ev:err", "e437 ev:err", "e437 ev:err", "-", "-", "-",
                    "-", "-", "-", "close", "-"},
    [S_FREED] = {"open", "e437 ev:err", "e437 ev:err", "e437 ev:err", "-", "-", "-", "close", "-",
                 "-", "-", "-"},
};

/* When the subject of each state expires, from entering it. */
static const uint64_t expiry_ms[S_COUNT] = {30 * SEC, 600 * SEC, 30 * SEC, 600 * SEC};

struct subject {
	uint32_t handle;
	uint64_t token;
	uint64_t entered;
};

static void enter(struct rh *h, enum a_state s, struct subject *sub)
{
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	struct rh_alloc_opts r1 = {.even = true, .reserve = true};

	h->cl[0].c.transport = TERN_TRANSPORT_TCP;
	h->cl[1].c.transport = TERN_TRANSPORT_TCP;
	memset(sub, 0, sizeof(*sub));
	if (s == S_PENDING) {
		rh_allocate_send(h, NULL);
		sub->handle = rh_act(h, TERN_ACT_OPEN, 0)->handle;
	} else if (s == S_RESERVED) {
		rh_allocate(h, &r1);
		sub->handle = h->opens[h->nopens - 1].handle;
		assert_int_equal(
		    tern_attr_get_u64(rh_attr(h, TERN_ATTR_RESERVATION_TOKEN), &sub->token),
		    TERN_OK);
		rh_use(h, 1);
	} else {
		sub->handle = rh_allocate(h, NULL);
		rh_bind(h, 0x4001, &p);
		rh_expect_ok(h, TERN_TURN_CHANNEL_BIND);
		if (s == S_FREED) {
			rh_refresh(h, 0, 0);
			rh_expect_ok(h, TERN_TURN_REFRESH);
		}
	}
	sub->entered = h->now;
}

static void client_event(struct rh *h, enum a_event e, const struct subject *sub)
{
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	struct rh_alloc_opts redeem = {.token = sub->token};

	switch (e) {
	case E_ALLOCATE:
		rh_allocate_send(h, sub->token ? &redeem : NULL);
		break;
	case E_REFRESH:
		rh_refresh(h, 600, 0);
		break;
	case E_PERMISSION:
		rh_permission(h, &p, 1);
		break;
	case E_CHANNEL_BIND:
		rh_bind(h, 0x4001, &p);
		break;
	case E_SEND:
		rh_send_ind(h, &p, payload, sizeof(payload), false);
		break;
	case E_CHANNEL_DATA:
		rh_chan_data(h, 0x4001, payload, sizeof(payload));
		break;
	default:
		fail_msg("not a client event: %d", (int)e);
	}
}

static void event(struct rh *h, enum a_state s, enum a_event e, const struct subject *sub)
{
	struct tern_addr p = rh_ip(RH_PEER1, 5000);

	switch (e) {
	case E_PEER_DATA:
		assert_int_equal(rh_peer(h, sub->handle, &p, payload, sizeof(payload)), TERN_OK);
		break;
	case E_OPENED_OK:
		rh_opened(h, sub->handle, TERN_OK);
		break;
	case E_OPENED_IN_USE:
		rh_opened(h, sub->handle, TERN_ERR_STATE);
		break;
	case E_OPENED_FAIL:
		rh_opened(h, sub->handle, TERN_ERR_CAPACITY);
		break;
	case E_TICK_EXPIRY:
		rh_tick(h, sub->entered + expiry_ms[s] - h->now);
		break;
	case E_CLIENT_CLOSED:
		rh_closed(h);
		break;
	default:
		client_event(h, e, sub);
		break;
	}
}

static void test_relay_alloc_state_event_table(void **state)
{
	struct rh *h = ST(state);

	for (int s = 0; s < S_COUNT; s++) {
		for (int e = 0; e < E_COUNT; e++) {
			struct subject sub;
			char sig[128];

			rh_destroy(h);
			h->nopens = 0;
			for (size_t k = 0; k < RH_CLIENTS; k++)
				h->cl[k].nonce_len = 0;
			rh_use(h, 0);
			enter(h, (enum a_state)s, &sub);
			event(h, (enum a_state)s, (enum a_event)e, &sub);
			rh_signature(h, sig, sizeof(sig));
			if (strcmp(sig, expect[s][e]) != 0)
				fail_msg("%s x %s: got \"%s\", want \"%s\"", state_name[s],
				         event_name[e], sig, expect[s][e]);
		}
	}
}

/* ------------------------------------------ fail the Nth allocation */

/* Start a fresh run that fails allocation number n. */
static void new_run(struct rh *h, size_t n)
{
	rh_destroy(h);
	h->n_allocs = 0;
	h->fail_at = n;
	h->fail_hit = false;
	h->nopens = 0;
	for (size_t k = 0; k < RH_CLIENTS; k++)
		h->cl[k].nonce_len = 0;
	rh_use(h, 0);
}

/*
 * The reply to a request that may meet the injected failure: success, or
 * 508/500 only when the failure was hit during this request. Returns true
 * on success.
 */
static bool answered(struct rh *h, uint16_t method, bool before)
{
	uint16_t code = rh_reply_code(h, method);

	if (code == 0)
		return true;
	if (code != 508 && code != 500)
		fail_msg("%s: error %u under allocation failure", tern_stun_method_name(method),
		         (unsigned)code);
	assert_false(before);
	assert_true(h->fail_hit);
	return false;
}

/* Allocate until it succeeds (at most one retry: only one call fails). */
static void allocate_retry(struct rh *h, const struct rh_alloc_opts *o)
{
	for (int i = 0; i < 2; i++) {
		bool before = h->fail_hit;

		rh_allocate_send(h, o);
		rh_open_all(h);
		if (answered(h, TERN_TURN_ALLOCATE, before)) {
			rh_expect_ok(h, TERN_TURN_ALLOCATE); /* records the handles */
			assert_int_equal(rh_stats(h).allocations, (uint64_t)h->cur + 1);
			return;
		}
		assert_int_equal(rh_stats(h).allocations, (uint64_t)h->cur);
	}
	fail_msg("Allocate failed twice");
}

static void permission_retry(struct rh *h, const struct tern_addr *peer)
{
	for (int i = 0; i < 2; i++) {
		bool before = h->fail_hit;

		rh_permission(h, peer, 1);
		if (answered(h, TERN_TURN_CREATE_PERMISSION, before))
			return;
		assert_int_equal(rh_stats(h).permissions, 0);
	}
	fail_msg("CreatePermission failed twice");
}

static void bind_retry(struct rh *h, const struct tern_addr *peer)
{
	for (int i = 0; i < 2; i++) {
		bool before = h->fail_hit;

		rh_bind(h, 0x4001, peer);
		if (answered(h, TERN_TURN_CHANNEL_BIND, before))
			return;
		assert_int_equal(rh_stats(h).channels, 0);
	}
	fail_msg("ChannelBind failed twice");
}

static void data_flows(struct rh *h, const struct tern_addr *peer)
{
	rh_send_ind(h, peer, payload, sizeof(payload), false);
	assert_non_null(rh_act(h, TERN_ACT_SEND_PEER, 0));
	rh_chan_data(h, 0x4001, payload, sizeof(payload));
	assert_non_null(rh_act(h, TERN_ACT_SEND_PEER, 0));
	assert_int_equal(rh_peer(h, h->handle[0], peer, payload, sizeof(payload)), TERN_OK);
	assert_int_equal(tern_demux(h->act[0].data, h->act[0].len), TERN_DEMUX_CHANNEL_DATA);
}

/* create + allocate + permission + channel + data + refresh 0 (+ destroy). */
static void basic_scenario(struct rh *h)
{
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	struct tern_addr other = rh_ip(RH_PEER2, 5000);

	if (rh_create(h) != TERN_OK) {
		assert_int_equal(h->create_rc, TERN_ERR_NOMEM);
		assert_true(h->fail_hit);
		assert_int_equal(h->live_blocks, 0);
		return;
	}
	allocate_retry(h, NULL);
	permission_retry(h, &other);
	bind_retry(h, &peer);
	data_flows(h, &peer);
	rh_refresh(h, 0, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
}

/* The same with EVEN-PORT R=1, a dual-stack allocation and a redeemed token. */
static void reservation_scenario(struct rh *h)
{
	struct rh_alloc_opts r1 = {.even = true, .reserve = true};
	struct rh_alloc_opts dual = {.aaf = TERN_AF_IPV6};
	struct rh_alloc_opts redeem = {0};

	if (rh_create(h) != TERN_OK)
		return;
	allocate_retry(h, &r1);
	assert_int_equal(tern_attr_get_u64(rh_attr(h, TERN_ATTR_RESERVATION_TOKEN), &redeem.token),
	                 TERN_OK);
	rh_use(h, 1);
	rh_cred_user(h, "bob", "builder"); /* a new user counted on redemption */
	allocate_retry(h, &redeem);
	rh_use(h, 2);
	rh_cred_user(h, "alice", "wonderland");
	allocate_retry(h, &dual);
	assert_non_null(tern_stun_find_next(&h->resp, rh_attr(h, TERN_ATTR_XOR_RELAYED_ADDRESS)));
}

static size_t fail_every_n(struct rh *h, void (*scenario)(struct rh *))
{
	size_t n;

	for (n = 1; n < 10000; n++) {
		new_run(h, n);
		scenario(h);
		rh_destroy(h); /* asserts zero live blocks */
		if (!h->fail_hit)
			break;
	}
	h->fail_at = 0;
	return n;
}

static void test_relay_nomem_every_allocation_basic(void **state)
{
	struct rh *h = ST(state);
	size_t n = fail_every_n(h, basic_scenario);

	/* create alone allocates more than a dozen blocks */
	assert_true(n > 12);
	assert_true(h->n_allocs == n - 1);
}

static void test_relay_nomem_every_allocation_reservation(void **state)
{
	struct rh *h = ST(state);
	size_t n = fail_every_n(h, reservation_scenario);

	assert_true(n > 12);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rh_setup, rh_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_relay_alloc_state_event_table),
	    T(test_relay_nomem_every_allocation_basic),
	    T(test_relay_nomem_every_allocation_reservation),
	};

	return cmocka_run_group_tests_name("relay_machine", tests, NULL, NULL);
}
