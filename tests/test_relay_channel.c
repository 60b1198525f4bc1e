/*
 * test_relay_channel.c - ChannelBind (RFC 8656 §12.2) and ChannelData both
 * ways (§12.6, §12.7, §12.5 over streams), including the channel state x
 * event table (unbound, bound, cooling). Every test ends with
 * tern_relay_destroy() and zero live blocks.
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
#define MIN_S 60000u

static const uint8_t payload[] = "chan data!"; /* 11 bytes: needs padding */

/* An allocation of an hour (so channels can outlive their 10 minutes). */
static void allocate_hour(struct rh *h)
{
	struct rh_alloc_opts o = {.lifetime = 3600};

	if (h->r == NULL)
		h->cfg.nonce_lifetime_s = 7200;
	rh_allocate(h, &o);
}

static void bind_ok(struct rh *h, uint16_t number, const struct tern_addr *peer)
{
	rh_bind(h, number, peer);
	rh_expect_ok(h, TERN_TURN_CHANNEL_BIND);
	assert_true(rh_has_event(h, TERN_EV_CHANNEL_BOUND, number));
}

static void bind_fails(struct rh *h, uint16_t number, const struct tern_addr *peer, uint16_t code)
{
	rh_bind(h, number, peer);
	rh_expect_error(h, TERN_TURN_CHANNEL_BIND, code);
}

/* ChannelData from the client: true when it reached the peer unchanged. */
static bool forwarded(struct rh *h, uint16_t number, const struct tern_addr *peer)
{
	const struct tern_relay_action *a;

	rh_chan_data(h, number, payload, sizeof(payload));
	a = rh_act(h, TERN_ACT_SEND_PEER, 0);
	if (a == NULL) {
		rh_expect_silence(h);
		return false;
	}
	rh_assert_addr(&a->peer, peer);
	assert_int_equal(a->len, sizeof(payload));
	assert_ptr_equal(a->data, h->cdbuf + TERN_CHANNEL_HEADER_LEN); /* no copy */
	assert_false(a->dont_fragment);
	return true;
}

/* --------------------------------------------------------- ChannelBind */

static void test_relay_channel_bind_rfc8656_s12_2_number_range(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p[4] = {rh_ip(RH_PEER1, 1), rh_ip(RH_PEER1, 2), rh_ip(RH_PEER1, 3),
	                         rh_ip(RH_PEER1, 4)};

	rh_allocate(h, NULL);
	bind_ok(h, 0x4000, &p[0]);
	bind_ok(h, 0x4FFF, &p[1]);
	bind_fails(h, 0x3FFF, &p[2], 400);
	bind_fails(h, 0x5000, &p[2], 400);
	bind_fails(h, 0x7FFF, &p[2], 400);
	assert_int_equal(rh_stats(h).channels, 2);
}

static void test_relay_channel_bind_rfc8656_s12_2_rfc5766_numbers(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p[3] = {rh_ip(RH_PEER1, 1), rh_ip(RH_PEER1, 2), rh_ip(RH_PEER1, 3)};

	h->cfg.rfc5766_channels = true;
	rh_allocate(h, NULL);
	bind_ok(h, 0x5000, &p[0]);
	bind_ok(h, 0x7FFF, &p[1]);
	bind_fails(h, 0x8000, &p[2], 400);
	assert_true(forwarded(h, 0x7FFF, &p[1]));
}

static void test_relay_channel_bind_rfc8656_s12_2_rebinding_rules(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000), q = rh_ip(RH_PEER2, 5000);
	struct tern_addr p_port = rh_ip(RH_PEER1, 5001);

	rh_allocate(h, NULL);
	bind_ok(h, 0x4001, &p);
	bind_fails(h, 0x4001, &q, 400);      /* the number to another peer */
	bind_fails(h, 0x4001, &p_port, 400); /* ... another port is another peer */
	bind_fails(h, 0x4002, &p, 400);      /* the peer to another number */
	bind_ok(h, 0x4001, &p);              /* the same pair: a refresh */
	assert_int_equal(rh_stats(h).channels, 1);
	assert_true(forwarded(h, 0x4001, &p));
}

static void test_relay_channel_bind_rfc8656_s12_2_refresh_extends(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	uint64_t t0 = h->now;

	allocate_hour(h);
	bind_ok(h, 0x4001, &p);
	h->now = t0 + 9 * MIN_S;
	bind_ok(h, 0x4001, &p); /* channel to t0+19 min, permission to t0+14 min */
	h->now = t0 + 13 * MIN_S;
	assert_true(forwarded(h, 0x4001, &p));
	assert_int_equal(rh_peer(h, h->handle[0], &p, payload, sizeof(payload)), TERN_OK);
	assert_int_equal(tern_demux(h->act[0].data, h->act[0].len), TERN_DEMUX_CHANNEL_DATA);
}

/* §12: after expiry, neither the number nor the peer is reused for 5 minutes. */
static void test_relay_channel_bind_rfc8656_s12_cooldown_5min(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000), q = rh_ip(RH_PEER2, 5000);
	uint64_t t0 = h->now;

	allocate_hour(h);
	bind_ok(h, 0x4001, &p);
	rh_tick(h, 10 * MIN_S); /* expired: cooling down */
	assert_false(forwarded(h, 0x4001, &p));
	bind_fails(h, 0x4001, &q, 400);
	bind_fails(h, 0x4002, &p, 400);
	assert_int_equal(tern_relay_next_deadline(h->r), t0 + 15 * MIN_S);
	rh_tick(h, t0 + 15 * MIN_S - 1 - h->now);
	bind_fails(h, 0x4001, &q, 400);
	rh_tick(h, 1);
	assert_int_equal(rh_stats(h).channels, 0);
	bind_ok(h, 0x4001, &q);
	bind_ok(h, 0x4002, &p);
}

static void test_relay_channel_bind_rfc8656_s12_2_implies_permission(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	struct tern_addr other_port = rh_ip(RH_PEER1, 6000);

	rh_allocate(h, NULL);
	bind_ok(h, 0x4001, &p);
	assert_int_equal(rh_stats(h).permissions, 1);
	rh_send_ind(h, &other_port, payload, sizeof(payload), false);
	assert_non_null(rh_act(h, TERN_ACT_SEND_PEER, 0));
	assert_int_equal(rh_peer(h, h->handle[0], &other_port, payload, 4), TERN_OK);
	assert_int_equal(h->out.n, 1); /* a Data indication: no channel for this port */
}

static void test_relay_channel_bind_rfc8656_s12_2_bad_requests(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	struct tern_addr v6 = rh_ip(RH_PEER6, 5000);
	struct tern_addr loop = rh_ip("127.0.0.1", 5000);

	bind_fails(h, 0x4001, &p, 437); /* no allocation */
	rh_allocate(h, NULL);
	bind_fails(h, 0x4001, &v6, 443);
	bind_fails(h, 0x4001, &loop, 403);
	rh_start(h, TERN_TURN_CHANNEL_BIND, TERN_STUN_REQUEST); /* no CHANNEL-NUMBER */
	(void)tern_stun_add_xor_address(&h->b, TERN_ATTR_XOR_PEER_ADDRESS, &p);
	rh_sign(h);
	rh_send(h);
	rh_expect_error(h, TERN_TURN_CHANNEL_BIND, 400);
	rh_start(h, TERN_TURN_CHANNEL_BIND, TERN_STUN_REQUEST); /* no XOR-PEER-ADDRESS */
	(void)tern_stun_add_u16(&h->b, TERN_ATTR_CHANNEL_NUMBER, 0x4001);
	rh_sign(h);
	rh_send(h);
	rh_expect_error(h, TERN_TURN_CHANNEL_BIND, 400);
	assert_int_equal(rh_stats(h).channels, 0);
	assert_int_equal(rh_stats(h).permissions, 0);
}

static void test_relay_channel_bind_capacity_508(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p[3] = {rh_ip(RH_PEER1, 1), rh_ip(RH_PEER1, 2), rh_ip(RH_PEER2, 3)};

	h->cfg.max_channels = 2;
	h->cfg.max_permissions = 1;
	rh_allocate(h, NULL);
	bind_ok(h, 0x4000, &p[0]);
	bind_ok(h, 0x4001, &p[1]);
	bind_fails(h, 0x4002, &p[2], 508); /* channels full */
	rh_refresh(h, 0, 0);
	rh_use(h, 1);
	rh_allocate(h, NULL);
	bind_ok(h, 0x4000, &p[0]);
	bind_fails(h, 0x4001, &p[2], 508); /* its permission would not fit */
	assert_int_equal(rh_stats(h).channels, 1);
	assert_int_equal(rh_stats(h).permissions, 1);
}

/* ---------------------------------------------------------- ChannelData */

static void test_relay_channel_data_rfc8656_s12_6_to_peer(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);

	rh_allocate(h, NULL);
	assert_false(forwarded(h, 0x4001, &p)); /* unbound */
	bind_ok(h, 0x4001, &p);
	assert_true(forwarded(h, 0x4001, &p));
	assert_int_equal(rh_act(h, TERN_ACT_SEND_PEER, 0)->handle, h->handle[0]);
	assert_false(forwarded(h, 0x4002, &p));
	assert_false(forwarded(h, 0x5001, &p)); /* reserved range, RFC 8656 numbers */
	assert_int_equal(rh_stats(h).dropped, 3);
	assert_int_equal(rh_stats(h).pkts_to_peer, 1);
}

static void test_relay_channel_data_rfc8656_s12_7_to_client_in_headroom(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	const struct tern_relay_action *a;

	rh_allocate(h, NULL);
	bind_ok(h, 0x4ABC, &p);
	assert_int_equal(rh_peer(h, h->handle[0], &p, payload, sizeof(payload)), TERN_OK);
	a = rh_act(h, TERN_ACT_SEND_CLIENT, 0);
	assert_non_null(a);
	assert_ptr_equal(a->data, h->pbuf + TERN_RELAY_HEADROOM - TERN_CHANNEL_HEADER_LEN);
	assert_int_equal(a->len, TERN_CHANNEL_HEADER_LEN + sizeof(payload)); /* no UDP padding */
	assert_int_equal(a->data[0], 0x4A);
	assert_int_equal(a->data[1], 0xBC);
	assert_int_equal(a->data[2], 0);
	assert_int_equal(a->data[3], sizeof(payload));
	assert_memory_equal(a->data + 4, payload, sizeof(payload));
	rh_assert_addr(&a->client.client, &rh_client(h)->client);
}

static void test_relay_channel_data_rfc8656_s12_5_tcp_padding(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	const struct tern_relay_action *a;

	h->cl[0].c.transport = TERN_TRANSPORT_TCP;
	rh_allocate(h, NULL);
	bind_ok(h, 0x4001, &p);
	assert_true(forwarded(h, 0x4001, &p)); /* a padded frame from the client */
	assert_int_equal(rh_peer(h, h->handle[0], &p, payload, sizeof(payload)), TERN_OK);
	a = rh_act(h, TERN_ACT_SEND_CLIENT, 0);
	assert_non_null(a);
	assert_ptr_equal(a->data, h->pbuf + TERN_RELAY_HEADROOM - TERN_CHANNEL_HEADER_LEN);
	assert_int_equal(a->len, 16); /* 4 + 11 + 1 */
	assert_int_equal(a->data[3], sizeof(payload));
	assert_int_equal(a->data[15], 0);           /* padding zeroed in the tailroom */
	rh_input(h, h->cdbuf, 4 + sizeof(payload)); /* unpadded over a stream */
	rh_expect_silence(h);
}

static void test_relay_channel_data_rfc8656_s12_7_expired_channel_indication(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);
	uint64_t t0 = h->now;

	allocate_hour(h);
	bind_ok(h, 0x4001, &p);
	h->now = t0 + 10 * MIN_S;
	rh_permission(h, &p, 1);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	assert_false(forwarded(h, 0x4001, &p));
	assert_int_equal(rh_peer(h, h->handle[0], &p, payload, sizeof(payload)), TERN_OK);
	assert_int_equal(tern_demux(h->act[0].data, h->act[0].len), TERN_DEMUX_STUN);
}

/* ------------------------------------------------ channel state x event */

enum chan_state { CH_UNBOUND, CH_BOUND, CH_COOLING, CH_STATES };
enum chan_event { CE_SAME, CE_OTHER_PEER, CE_OTHER_NUMBER, CE_DATA, CE_TICK, CE_EVENTS };

static const char *const chan_state_name[CH_STATES] = {"unbound", "bound", "cooling"};
static const char *const chan_event_name[CE_EVENTS] = {"bind same pair", "bind other peer",
                                                       "bind other number", "data", "tick"};

/* tick: advance 5 minutes, tick, then bind the number to another peer */
static const char *const chan_expect[CH_STATES][CE_EVENTS] = {
    [CH_UNBOUND] = {"ok ev:chan", "ok ev:chan", "ok ev:chan", "-", "- | ok ev:chan"},
    [CH_BOUND] = {"ok ev:chan", "e400 ev:err", "e400 ev:err", "peer", "- | e400 ev:err"},
    [CH_COOLING] = {"ok ev:chan", "e400 ev:err", "e400 ev:err", "-", "- | ok ev:chan"},
};

static void chan_enter(struct rh *h, enum chan_state s, const struct tern_addr *p)
{
	allocate_hour(h);
	if (s == CH_UNBOUND)
		return;
	bind_ok(h, 0x4001, p);
	if (s == CH_COOLING) {
		rh_tick(h, 10 * MIN_S + 1000);
		assert_int_equal(rh_stats(h).channels, 1); /* still held */
	}
}

static void chan_event(struct rh *h, enum chan_event e, char *sig, size_t cap)
{
	struct tern_addr p = rh_ip(RH_PEER1, 5000), q = rh_ip(RH_PEER2, 5000);
	char tail[64];

	switch (e) {
	case CE_SAME:
		rh_bind(h, 0x4001, &p);
		break;
	case CE_OTHER_PEER:
		rh_bind(h, 0x4001, &q);
		break;
	case CE_OTHER_NUMBER:
		rh_bind(h, 0x4002, &p);
		break;
	case CE_DATA:
		rh_chan_data(h, 0x4001, payload, sizeof(payload));
		break;
	case CE_TICK:
		rh_tick(h, 5 * MIN_S);
		rh_signature(h, tail, sizeof(tail));
		rh_bind(h, 0x4001, &q);
		snprintf(sig, cap, "%s | ", tail);
		rh_signature(h, sig + strlen(sig), cap - strlen(sig));
		return;
	case CE_EVENTS:
		fail();
	}
	rh_signature(h, sig, cap);
}

static void test_relay_channel_rfc8656_s12_state_event_table(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr p = rh_ip(RH_PEER1, 5000);

	for (int s = 0; s < CH_STATES; s++) {
		for (int e = 0; e < CE_EVENTS; e++) {
			char sig[128];

			rh_destroy(h);
			memset(h->cl[0].nonce, 0, sizeof(h->cl[0].nonce));
			h->cl[0].nonce_len = 0;
			chan_enter(h, (enum chan_state)s, &p);
			chan_event(h, (enum chan_event)e, sig, sizeof(sig));
			if (strcmp(sig, chan_expect[s][e]) != 0)
				fail_msg("%s x %s: got \"%s\", want \"%s\"", chan_state_name[s],
				         chan_event_name[e], sig, chan_expect[s][e]);
		}
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, rh_setup, rh_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_relay_channel_bind_rfc8656_s12_2_number_range),
	    T(test_relay_channel_bind_rfc8656_s12_2_rfc5766_numbers),
	    T(test_relay_channel_bind_rfc8656_s12_2_rebinding_rules),
	    T(test_relay_channel_bind_rfc8656_s12_2_refresh_extends),
	    T(test_relay_channel_bind_rfc8656_s12_cooldown_5min),
	    T(test_relay_channel_bind_rfc8656_s12_2_implies_permission),
	    T(test_relay_channel_bind_rfc8656_s12_2_bad_requests),
	    T(test_relay_channel_bind_capacity_508),
	    T(test_relay_channel_data_rfc8656_s12_6_to_peer),
	    T(test_relay_channel_data_rfc8656_s12_7_to_client_in_headroom),
	    T(test_relay_channel_data_rfc8656_s12_5_tcp_padding),
	    T(test_relay_channel_data_rfc8656_s12_7_expired_channel_indication),
	    T(test_relay_channel_rfc8656_s12_state_event_table),
	};

	return cmocka_run_group_tests_name("relay_channel", tests, NULL, NULL);
}
