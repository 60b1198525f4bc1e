/*
 * test_relay_data.c - permissions (RFC 8656 §9, §10), Send indications
 * (§11.2), Data indications built in place (§11.3), the peer policy on the
 * data path, and the max-bps limit. Every test ends with
 * tern_relay_destroy() and zero live blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay_harness.h"

#define ST(h) ((struct rh *)*(h))

static const uint8_t payload[] = "hello, peer";

/* An allocation with permissions for the given peers. */
static void allocate_with(struct rh *h, const struct tern_addr *peers, size_t n)
{
	rh_allocate(h, NULL);
	rh_permission(h, peers, n);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
}

/* Send payload to peer; true when it reached SEND_PEER with the exact bytes. */
static bool sent(struct rh *h, const struct tern_addr *peer)
{
	const struct tern_relay_action *a;

	rh_send_ind(h, peer, payload, sizeof(payload), false);
	a = rh_act(h, TERN_ACT_SEND_PEER, 0);
	if (a == NULL) {
		rh_expect_silence(h);
		return false;
	}
	assert_int_equal(a->len, sizeof(payload));
	assert_memory_equal(a->data, payload, sizeof(payload));
	return true;
}

/* A datagram from peer; true when it reached the client. */
static bool delivered(struct rh *h, uint32_t handle, const struct tern_addr *peer)
{
	assert_int_equal(rh_peer(h, handle, peer, payload, sizeof(payload)), TERN_OK);
	if (h->out.n == 0)
		return false;
	assert_int_equal(h->out.n, 1);
	assert_int_equal(h->act[0].kind, TERN_ACT_SEND_CLIENT);
	return true;
}

/* ------------------------------------------------- CreatePermission */

static void test_relay_permission_rfc8656_s10_2_several_peers(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peers[3] = {rh_ip(RH_PEER1, 5000), rh_ip(RH_PEER2, 6000),
	                             rh_ip(RH_PEER1, 7000)};

	allocate_with(h, peers, 3);
	assert_true(rh_has_event(h, TERN_EV_PERMISSION_CREATED, 0));
	assert_int_equal(rh_stats(h).permissions, 2); /* one per IP */
	assert_true(sent(h, &peers[0]));
	assert_true(sent(h, &peers[1]));
	peers[0].port = 5001; /* a permission is for the IP, any port */
	assert_true(sent(h, &peers[0]));
	assert_true(delivered(h, h->handle[0], &peers[1]));
}

static void test_relay_permission_rfc8656_s10_2_port_ignored(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr any = rh_ip(RH_PEER1, 0);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);

	allocate_with(h, &any, 1); /* "the port ... may be any arbitrary value" */
	assert_true(sent(h, &peer));
	assert_false(sent(h, &any)); /* but nothing is sent to port 0 */
}

static void test_relay_permission_rfc8656_s10_2_no_peer_400(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	rh_permission(h, NULL, 0);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 400);
}

static void test_relay_permission_rfc8656_s10_2_no_allocation_437(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);

	rh_permission(h, &peer, 1);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 437);
	assert_true(h->resp.mi_index >= 0);
}

static void expect_forbidden(struct rh *h, const char *text)
{
	struct tern_addr peer = rh_ip(text, 5000);

	rh_permission(h, &peer, 1);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 403);
	assert_int_equal(rh_stats(h).permissions, 0);
}

static void test_relay_permission_rfc8656_s10_2_denied_peer_403(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	expect_forbidden(h, "127.0.0.1");
	expect_forbidden(h, "::ffff:127.0.0.1");
	expect_forbidden(h, "0.0.0.0");
	expect_forbidden(h, "10.1.2.3");
	expect_forbidden(h, "::ffff:10.1.2.3");
	expect_forbidden(h, "::ffff:" RH_PEER1); /* policy: never relay to a mapped form */
}

static void test_relay_permission_rfc8656_s10_2_allow_loopback(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip("127.0.0.1", 5000);

	h->cfg.policy.allow_loopback = true;
	allocate_with(h, &peer, 1);
	assert_true(sent(h, &peer));
}

static void test_relay_permission_rfc8656_s10_2_family_mismatch_443(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr v6 = rh_ip(RH_PEER6, 5000);
	struct rh_alloc_opts dual = {.aaf = TERN_AF_IPV6};

	rh_allocate(h, NULL);
	rh_permission(h, &v6, 1);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 443);
	rh_use(h, 1);
	rh_allocate(h, &dual);
	rh_permission(h, &v6, 1);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	assert_true(sent(h, &v6));
	assert_int_equal(rh_act(h, TERN_ACT_SEND_PEER, 0)->handle, h->handle[1]);
}

static void test_relay_permission_rfc8656_s10_2_all_or_nothing(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peers[2] = {rh_ip(RH_PEER1, 5000), rh_ip("127.0.0.1", 5000)};
	struct tern_addr v6 = rh_ip(RH_PEER6, 5000);

	rh_allocate(h, NULL);
	rh_permission(h, peers, 2);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 403);
	peers[1] = v6;
	rh_permission(h, peers, 2);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 443);
	assert_int_equal(rh_stats(h).permissions, 0);
	assert_false(sent(h, &peers[0]));
}

static void test_relay_permission_rfc8656_s10_2_capacity_508_installs_none(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peers[3] = {rh_ip(RH_PEER1, 5000), rh_ip(RH_PEER2, 5000),
	                             rh_ip("1.1.1.1", 5000)};

	h->cfg.max_permissions = 2;
	allocate_with(h, peers, 1);
	rh_permission(h, peers + 1, 2);
	rh_expect_error(h, TERN_TURN_CREATE_PERMISSION, 508);
	assert_int_equal(rh_stats(h).permissions, 1);
	assert_false(sent(h, &peers[1]));
	rh_permission(h, peers, 2); /* a refresh plus one new fits */
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	assert_true(sent(h, &peers[1]));
}

static void test_relay_permission_rfc8656_s9_lifetime_300s(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	uint64_t t0 = h->now;

	allocate_with(h, &peer, 1);
	assert_int_equal(tern_relay_next_deadline(h->r), t0 + 300000);
	h->now = t0 + 299999;
	assert_true(delivered(h, h->handle[0], &peer));
	assert_true(sent(h, &peer));
	h->now = t0 + 300000; /* dropped at expiry even before the tick */
	assert_false(delivered(h, h->handle[0], &peer));
	assert_false(sent(h, &peer));
	rh_tick(h, 0);
	rh_expect_silence(h);
	assert_int_equal(rh_stats(h).permissions, 0);
	assert_int_equal(tern_relay_next_deadline(h->r), t0 + 600000);
}

static void test_relay_permission_rfc8656_s9_refresh_extends(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	uint64_t t0 = h->now;

	allocate_with(h, &peer, 1);
	h->now = t0 + 200000;
	rh_permission(h, &peer, 1);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	assert_int_equal(rh_stats(h).permissions, 1);
	h->now = t0 + 400000;
	assert_true(delivered(h, h->handle[0], &peer));
	h->now = t0 + 500000;
	assert_false(delivered(h, h->handle[0], &peer));
}

/* ------------------------------------------------------------ Send */

static void test_relay_send_rfc8656_s11_2_exact_bytes(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	const struct tern_relay_action *a;

	allocate_with(h, &peer, 1);
	rh_send_ind(h, &peer, payload, sizeof(payload), false);
	a = rh_act(h, TERN_ACT_SEND_PEER, 0);
	assert_non_null(a);
	assert_int_equal(h->out.n, 1);
	assert_int_equal(a->handle, h->handle[0]);
	rh_assert_addr(&a->peer, &peer);
	assert_false(a->dont_fragment);
	/* no copy: the bytes are the DATA value inside the request */
	assert_true(a->data > h->req && a->data + a->len <= h->req + h->req_len);
	assert_memory_equal(a->data, payload, sizeof(payload));
	rh_send_ind(h, &peer, payload, sizeof(payload), true);
	assert_true(rh_act(h, TERN_ACT_SEND_PEER, 0)->dont_fragment);
	assert_int_equal(rh_stats(h).pkts_to_peer, 2);
	assert_int_equal(rh_stats(h).bytes_to_peer, 2 * sizeof(payload));
}

static void test_relay_send_rfc8656_s11_2_dropped(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	struct tern_addr other = rh_ip(RH_PEER2, 5000);
	struct tern_addr loop = rh_ip("127.0.0.1", 5000);

	assert_false(sent(h, &peer)); /* no allocation */
	allocate_with(h, &peer, 1);
	assert_false(sent(h, &other));                     /* no permission */
	assert_false(sent(h, &loop));                      /* denied peer */
	rh_start(h, TERN_TURN_SEND, TERN_STUN_INDICATION); /* no DATA */
	(void)tern_stun_add_xor_address(&h->b, TERN_ATTR_XOR_PEER_ADDRESS, &peer);
	rh_send(h);
	rh_expect_silence(h);
	rh_start(h, TERN_TURN_SEND, TERN_STUN_INDICATION); /* no peer */
	(void)tern_stun_add_raw(&h->b, TERN_ATTR_DATA, payload, sizeof(payload));
	rh_send(h);
	rh_expect_silence(h);
	assert_int_equal(rh_stats(h).dropped, 5);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_NO_ALLOCATION], 1);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_NO_PERMISSION], 1);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_DENIED_PEER], 1);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_MALFORMED], 2);
	assert_int_equal(rh_stats(h).pkts_to_peer, 0);
}

/* RFC 8489 §6.3.2: an indication with an unknown comprehension-required
 * attribute is discarded. */
static void test_relay_send_rfc8489_s6_3_2_unknown_attribute_dropped(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);

	allocate_with(h, &peer, 1);
	rh_start(h, TERN_TURN_SEND, TERN_STUN_INDICATION);
	(void)tern_stun_add_xor_address(&h->b, TERN_ATTR_XOR_PEER_ADDRESS, &peer);
	(void)tern_stun_add_raw(&h->b, TERN_ATTR_DATA, payload, sizeof(payload));
	(void)tern_stun_add_raw(&h->b, 0x7F33, "abcd", 4);
	rh_send(h);
	rh_expect_silence(h);
	assert_int_equal(rh_stats(h).dropped, 1);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_MALFORMED], 1);
}

/* ---------------------------------------------------- Data indication */

static void expect_data_indication(struct rh *h, const struct tern_addr *peer)
{
	const struct tern_relay_action *a = rh_act(h, TERN_ACT_SEND_CLIENT, 0);
	struct tern_stun_msg m;
	const struct tern_attr *d;
	struct tern_addr from;

	assert_non_null(a);
	assert_int_equal(a->client.listener, rh_client(h)->listener);
	rh_assert_addr(&a->client.client, &rh_client(h)->client);
	assert_true(a->data >= h->pbuf);
	assert_int_equal(tern_stun_parse(a->data, a->len, &m), TERN_OK);
	assert_int_equal(m.method, TERN_TURN_DATA);
	assert_int_equal(m.cls, TERN_STUN_INDICATION);
	assert_int_equal(tern_attr_get_xor_address(tern_stun_find(&m, TERN_ATTR_XOR_PEER_ADDRESS),
	                                           m.txid, &from),
	                 TERN_OK);
	rh_assert_addr(&from, peer);
	d = tern_stun_find(&m, TERN_ATTR_DATA);
	assert_non_null(d);
	assert_ptr_equal(d->value, h->pbuf + TERN_RELAY_HEADROOM); /* not copied */
	assert_int_equal(d->len, sizeof(payload));
}

static void test_relay_data_rfc8656_s11_3_indication_in_place(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	uint8_t txid[TERN_STUN_TXID_LEN];

	allocate_with(h, &peer, 1);
	assert_true(delivered(h, h->handle[0], &peer));
	expect_data_indication(h, &peer);
	memcpy(txid, h->act[0].data + 8, sizeof(txid));
	assert_true(delivered(h, h->handle[0], &peer));
	assert_memory_not_equal(h->act[0].data + 8, txid, sizeof(txid));
	assert_int_equal(rh_stats(h).pkts_to_client, 2);
	assert_int_equal(rh_stats(h).bytes_to_client, 2 * sizeof(payload));
}

static void test_relay_data_rfc8656_s11_3_indication_v6(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER6, 5000);
	struct rh_alloc_opts v6 = {.raf = TERN_AF_IPV6};

	rh_allocate(h, &v6);
	rh_permission(h, &peer, 1);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	assert_true(delivered(h, h->handle[1], &peer)); /* 48-byte header: all the headroom */
	expect_data_indication(h, &peer);
}

static void test_relay_data_rfc8656_s11_3_dropped(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	struct tern_addr other = rh_ip(RH_PEER2, 5000);
	struct tern_addr v6 = rh_ip(RH_PEER6, 5000);
	uint32_t handle;

	allocate_with(h, &peer, 1);
	handle = h->handle[0];
	assert_false(delivered(h, handle, &other));           /* no permission */
	assert_false(delivered(h, handle, &v6));              /* other family */
	assert_false(delivered(h, handle ^ 0x100000, &peer)); /* stale generation */
	assert_false(delivered(h, handle + 2, &peer));        /* another slot */
	assert_int_equal(rh_stats(h).dropped, 4);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_NO_PERMISSION], 1);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_NO_ALLOCATION], 3);
	rh_refresh(h, 0, 0);
	assert_false(delivered(h, handle, &peer)); /* freed */
}

static void test_relay_peer_input_contract(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	struct tern_addr none = {0};
	struct tern_relay_out full = {h->act, 0, 0, NULL, 0, 0};

	allocate_with(h, &peer, 1);
	assert_int_equal(tern_relay_peer_input(h->r, h->now, h->handle[0], &peer, h->pbuf,
	                                       TERN_RELAY_HEADROOM - 1, 4, TERN_RELAY_TAILROOM,
	                                       &h->out),
	                 TERN_ERR_INVALID_ARG);
	assert_int_equal(tern_relay_peer_input(h->r, h->now, h->handle[0], &peer, h->pbuf,
	                                       TERN_RELAY_HEADROOM, 4, TERN_RELAY_TAILROOM - 1,
	                                       &h->out),
	                 TERN_ERR_INVALID_ARG);
	assert_int_equal(rh_peer(h, h->handle[0], &none, payload, 4), TERN_ERR_INVALID_ARG);
	assert_int_equal(tern_relay_peer_input(h->r, h->now, h->handle[0], &peer, h->pbuf,
	                                       TERN_RELAY_HEADROOM, 4, TERN_RELAY_TAILROOM, &full),
	                 TERN_ERR_NO_SPACE);
	assert_int_equal(rh_stats(h).pkts_to_client, 0);
	assert_int_equal(rh_stats(h).dropped, 0);
}

/* ------------------------------------------------------ bandwidth */

static void test_relay_data_max_bps_drops_excess(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	uint8_t big[600];

	memset(big, 'x', sizeof(big));
	h->cfg.max_bps = 1000;
	allocate_with(h, &peer, 1);
	rh_send_ind(h, &peer, big, sizeof(big), false);
	assert_non_null(rh_act(h, TERN_ACT_SEND_PEER, 0)); /* a full bucket at once */
	rh_send_ind(h, &peer, big, sizeof(big), false);
	rh_expect_silence(h);
	assert_int_equal(rh_peer(h, h->handle[0], &peer, big, sizeof(big)), TERN_OK);
	rh_expect_silence(h); /* the limit covers both directions */
	h->now += 500;
	assert_int_equal(rh_peer(h, h->handle[0], &peer, big, sizeof(big)), TERN_OK);
	assert_int_equal(h->out.n, 1);
	assert_int_equal(rh_stats(h).dropped, 2);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_BANDWIDTH], 2);
}

static void test_relay_data_max_bps_full_at_start(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);
	uint8_t big[900];

	memset(big, 'x', sizeof(big));
	h->now = 100; /* a monotonic clock near its origin */
	h->cfg.max_bps = 1000;
	allocate_with(h, &peer, 1);
	rh_send_ind(h, &peer, big, sizeof(big), false);
	assert_non_null(rh_act(h, TERN_ACT_SEND_PEER, 0));
}

#define T(f) cmocka_unit_test_setup_teardown(f, rh_setup, rh_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_relay_permission_rfc8656_s10_2_several_peers),
	    T(test_relay_permission_rfc8656_s10_2_port_ignored),
	    T(test_relay_permission_rfc8656_s10_2_no_peer_400),
	    T(test_relay_permission_rfc8656_s10_2_no_allocation_437),
	    T(test_relay_permission_rfc8656_s10_2_denied_peer_403),
	    T(test_relay_permission_rfc8656_s10_2_allow_loopback),
	    T(test_relay_permission_rfc8656_s10_2_family_mismatch_443),
	    T(test_relay_permission_rfc8656_s10_2_all_or_nothing),
	    T(test_relay_permission_rfc8656_s10_2_capacity_508_installs_none),
	    T(test_relay_permission_rfc8656_s9_lifetime_300s),
	    T(test_relay_permission_rfc8656_s9_refresh_extends),
	    T(test_relay_send_rfc8656_s11_2_exact_bytes),
	    T(test_relay_send_rfc8656_s11_2_dropped),
	    T(test_relay_send_rfc8489_s6_3_2_unknown_attribute_dropped),
	    T(test_relay_data_rfc8656_s11_3_indication_in_place),
	    T(test_relay_data_rfc8656_s11_3_indication_v6),
	    T(test_relay_data_rfc8656_s11_3_dropped),
	    T(test_relay_peer_input_contract),
	    T(test_relay_data_max_bps_drops_excess),
	    T(test_relay_data_max_bps_full_at_start),
	};

	return cmocka_run_group_tests_name("relay_data", tests, NULL, NULL);
}
