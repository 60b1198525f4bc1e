/*
 * test_relay_alloc.c - Binding (RFC 8489 §7.3) and Allocate (RFC 8656 §7):
 * challenge, validation, lifetimes, retransmissions, quotas, relay ports,
 * EVEN-PORT and RESERVATION-TOKEN, address families, DONT-FRAGMENT, and the
 * out-buffer contract. Every test runs on the counting allocator and ends
 * with tern_relay_destroy() and zero live blocks (rh_teardown).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay_harness.h"

#define ST(h) ((struct rh *)*(h))

/* ------------------------------------------------------------ Binding */

static void test_relay_binding_rfc8489_s7_3_xor_mapped(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr mapped;

	rh_start(h, TERN_STUN_BINDING, TERN_STUN_REQUEST);
	rh_send(h);
	rh_expect_ok(h, TERN_STUN_BINDING);
	mapped = rh_xor_addr(h, TERN_ATTR_XOR_MAPPED_ADDRESS, 0);
	rh_assert_addr(&mapped, &rh_client(h)->client);
	assert_int_equal(h->resp.mi_index, -1);
	assert_int_equal(rh_act(h, TERN_ACT_SEND_CLIENT, 0)->client.listener,
	                 rh_client(h)->listener);
}

static void test_relay_binding_rfc8489_s7_3_ipv6_client(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr mapped;

	h->cl[3].c.client = rh_ip("2001:db8:77::5", 61000);
	h->cl[3].c.server = rh_ip("2001:db8::1", 3478);
	rh_use(h, 3);
	rh_start(h, TERN_STUN_BINDING, TERN_STUN_REQUEST);
	rh_send(h);
	rh_expect_ok(h, TERN_STUN_BINDING);
	mapped = rh_xor_addr(h, TERN_ATTR_XOR_MAPPED_ADDRESS, 0);
	rh_assert_addr(&mapped, &rh_client(h)->client);
}

/* RFC 8489 §6.3: only requests are answered; other input is dropped. */
static void test_relay_client_input_rfc8489_s6_3_not_requests(void **state)
{
	struct rh *h = ST(state);
	static const uint8_t dtls[] = {22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

	rh_start(h, TERN_STUN_BINDING, TERN_STUN_INDICATION);
	rh_send(h);
	rh_expect_silence(h);
	rh_start(h, TERN_STUN_BINDING, TERN_STUN_SUCCESS);
	rh_send(h);
	rh_expect_silence(h);
	rh_input(h, dtls, sizeof(dtls));
	rh_expect_silence(h);
	rh_input(h, NULL, 0);
	rh_expect_silence(h);
	assert_int_equal(rh_stats(h).dropped, 4);
	/* methods the server does not support are discarded, not answered */
	rh_start(h, TERN_TURN_CONNECT, TERN_STUN_REQUEST); /* RFC 6062: not offered */
	rh_send(h);
	rh_expect_silence(h);
	rh_start(h, 0x0FF, TERN_STUN_REQUEST);
	rh_send(h);
	rh_expect_silence(h);
	assert_int_equal(rh_stats(h).dropped, 6);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_UNHANDLED], 6);
}

/* RFC 8489 §6.3: a request whose Length does not fit the datagram is dropped. */
static void test_relay_client_input_rfc8489_s6_3_length_not_sensible(void **state)
{
	struct rh *h = ST(state);
	uint8_t req[28] = {0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42};

	memcpy(req + 8, h->txid, TERN_STUN_TXID_LEN);
	rh_input(h, req, 20); /* Length 4, no attribute bytes */
	rh_expect_silence(h);
	req[3] = 0x06; /* Length 6: not a multiple of 4 */
	rh_input(h, req, 26);
	rh_expect_silence(h);
	req[3] = 0x04; /* Length 4 but 8 attribute bytes follow */
	rh_input(h, req, 28);
	rh_expect_silence(h);
	assert_int_equal(rh_stats(h).dropped, 3);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_MALFORMED], 3);
	req[3] = 0x08; /* framed right, but the attribute runs past the end: 400 */
	req[20] = 0x80;
	req[21] = 0x22;
	req[23] = 0x08;
	rh_input(h, req, 28);
	rh_expect_error(h, TERN_STUN_BINDING, 400);
}

static void test_relay_binding_rfc8489_s6_3_1_unknown_420(void **state)
{
	struct rh *h = ST(state);
	uint16_t types[4];
	size_t n;

	rh_start(h, TERN_STUN_BINDING, TERN_STUN_REQUEST);
	(void)tern_stun_add_raw(&h->b, 0x7F31, "abcd", 4);
	rh_send(h);
	rh_expect_error(h, TERN_STUN_BINDING, 420);
	assert_int_equal(tern_attr_get_unknown_attributes(rh_attr(h, TERN_ATTR_UNKNOWN_ATTRIBUTES),
	                                                  types, 4, &n),
	                 TERN_OK);
	assert_int_equal(n, 1);
	assert_int_equal(types[0], 0x7F31);
}

static void test_relay_allocate_rfc8489_s6_3_1_unknown_420(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.unknown = 0x7F32};

	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 420);
	assert_non_null(rh_attr(h, TERN_ATTR_UNKNOWN_ATTRIBUTES));
	assert_true(h->resp.mi_index >= 0); /* authenticated: the error is signed */
	assert_int_equal(rh_count(h, TERN_ACT_OPEN), 0);
}

/* ------------------------------------------------------- challenge */

static void test_relay_allocate_rfc8489_s9_2_4_challenge_401(void **state)
{
	struct rh *h = ST(state);
	struct tern_password_alg_entry algs[4];
	const struct tern_attr *a;
	uint32_t features;
	size_t n;

	rh_fetch_nonce(h);
	a = rh_attr(h, TERN_ATTR_REALM);
	assert_int_equal(a->len, strlen(RH_REALM));
	assert_memory_equal(a->value, RH_REALM, a->len);
	a = rh_attr(h, TERN_ATTR_NONCE);
	assert_true(a->len > TERN_NONCE_COOKIE_LEN);
	assert_memory_equal(a->value, "obMatJos2", 9);
	assert_int_equal(tern_stun_nonce_features(a->value, a->len, &features), TERN_OK);
	assert_true(features & TERN_FEATURE_PASSWORD_ALGORITHMS);
	assert_int_equal(tern_attr_get_password_algorithms(
	                     rh_attr(h, TERN_ATTR_PASSWORD_ALGORITHMS), algs, 4, &n),
	                 TERN_OK);
	assert_int_equal(n, 2);
	assert_int_equal(algs[0].alg, TERN_PWALG_SHA256);
	assert_int_equal(algs[1].alg, TERN_PWALG_MD5);
	/* unauthenticated: no integrity, no SOFTWARE, nothing allocated */
	assert_int_equal(h->resp.mi_index, -1);
	assert_null(tern_stun_find(&h->resp, TERN_ATTR_SOFTWARE));
	assert_int_equal(rh_stats(h).allocations, 0);
	assert_int_equal(tern_relay_next_deadline(h->r), UINT64_MAX);
}

/* ------------------------------------------------------ validation */

static void test_relay_allocate_rfc8656_s7_2_no_transport_400(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.transport = -1};

	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 400);
	assert_int_equal(rh_count(h, TERN_ACT_OPEN), 0);
}

static void test_relay_allocate_rfc8656_s7_2_tcp_442(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.transport = 6};

	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 442);
	assert_int_equal(rh_count(h, TERN_ACT_OPEN), 0);
}

/* ------------------------------------------------------- lifetimes */

static void expect_lifetime(struct rh *h, uint32_t asked, uint32_t granted)
{
	struct rh_alloc_opts o = {.lifetime = asked};
	uint64_t t0 = h->now;

	rh_allocate(h, &o);
	assert_int_equal(rh_attr_u32(h, TERN_ATTR_LIFETIME), granted);
	assert_int_equal(tern_relay_next_deadline(h->r), t0 + (uint64_t)granted * 1000);
	rh_refresh(h, 0, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
}

static void test_relay_allocate_rfc8656_s7_2_lifetime_clamped(void **state)
{
	struct rh *h = ST(state);

	expect_lifetime(h, 0, 600);     /* absent: default */
	expect_lifetime(h, 5000, 3600); /* above the maximum */
	expect_lifetime(h, 60, 600);    /* below the default: default */
	expect_lifetime(h, 1200, 1200);
}

/* -------------------------------------------------- retransmissions */

static void test_relay_allocate_rfc8656_s7_2_retransmit_identical(void **state)
{
	struct rh *h = ST(state);
	uint8_t first[RH_SCRATCH];
	const struct tern_relay_action *a;
	size_t len;

	rh_allocate(h, NULL);
	a = rh_act(h, TERN_ACT_SEND_CLIENT, 0);
	len = a->len;
	memcpy(first, a->data, len);
	h->now += 2000;
	rh_input(h, h->req, h->req_len); /* the same request again */
	a = rh_act(h, TERN_ACT_SEND_CLIENT, 0);
	assert_non_null(a);
	assert_int_equal(a->len, len);
	assert_memory_equal(a->data, first, len);
	assert_int_equal(rh_count(h, TERN_ACT_OPEN), 0);
	assert_int_equal(rh_stats(h).allocations, 1);
}

static void test_relay_allocate_rfc8656_s7_2_mismatch_437(void **state)
{
	struct rh *h = ST(state);

	rh_allocate(h, NULL);
	rh_allocate_send(h, NULL); /* a new transaction on the same 5-tuple */
	rh_expect_error(h, TERN_TURN_ALLOCATE, 437);
	assert_int_equal(rh_count(h, TERN_ACT_OPEN), 0);
	assert_int_equal(rh_stats(h).allocations, 1);
}

static void test_relay_allocate_rfc8656_s7_2_pending_retransmit(void **state)
{
	struct rh *h = ST(state);
	uint32_t handle;

	rh_allocate_send(h, NULL);
	handle = rh_act(h, TERN_ACT_OPEN, 0)->handle;
	rh_input(h, h->req, h->req_len); /* retransmitted while the port opens */
	rh_expect_silence(h);
	rh_allocate_send(h, NULL);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 437);
	rh_opened(h, handle, TERN_OK);
	assert_int_equal(rh_reply_code(h, TERN_TURN_ALLOCATE), 0);
	assert_int_equal(rh_stats(h).allocations, 1);
}

/* ---------------------------------------------------------- quotas */

static void test_relay_allocate_rfc8656_s7_2_user_quota_486(void **state)
{
	struct rh *h = ST(state);

	h->cfg.user_quota = 1;
	rh_allocate(h, NULL);
	rh_use(h, 1);
	rh_allocate_send(h, NULL);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 486);
	rh_cred_user(h, "bob", "builder");
	rh_allocate(h, NULL);
	/* the quota is released with the allocation */
	rh_use(h, 0);
	rh_cred_user(h, "alice", "wonderland");
	rh_refresh(h, 0, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	rh_use(h, 2);
	rh_allocate(h, NULL);
}

static void test_relay_allocate_rfc8656_s7_2_total_quota_508(void **state)
{
	struct rh *h = ST(state);

	h->cfg.max_allocations = 1;
	rh_allocate(h, NULL);
	rh_use(h, 1);
	rh_cred_user(h, "bob", "builder");
	rh_allocate_send(h, NULL);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
	assert_int_equal(rh_stats(h).allocations, 1);
}

static void test_relay_allocate_rfc8656_s7_2_draining_508(void **state)
{
	struct rh *h = ST(state);
	struct tern_addr peer = rh_ip(RH_PEER1, 5000);

	rh_allocate(h, NULL);
	tern_relay_set_draining(h->r, true);
	rh_use(h, 1);
	rh_allocate_send(h, NULL);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
	rh_use(h, 0); /* what exists keeps working */
	rh_permission(h, &peer, 1);
	rh_expect_ok(h, TERN_TURN_CREATE_PERMISSION);
	rh_refresh(h, 600, 0);
	rh_expect_ok(h, TERN_TURN_REFRESH);
	tern_relay_set_draining(h->r, false);
	rh_use(h, 1);
	rh_allocate(h, NULL);
}

/* ------------------------------------------------------------ ports */

static void test_relay_allocate_rfc8656_s7_2_port_exhausted_508(void **state)
{
	struct rh *h = ST(state);

	h->cfg.min_port = 50000;
	h->cfg.max_port = 50000;
	rh_allocate(h, NULL);
	assert_int_equal(h->relayed[0].port, 50000);
	rh_use(h, 1);
	rh_allocate_send(h, NULL);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
	assert_true(rh_has_event(h, TERN_EV_PORT_EXHAUSTED, 508));
	assert_int_equal(rh_count(h, TERN_ACT_OPEN), 0);
}

static void test_relay_allocate_rfc8656_s7_2_port_in_use_retried(void **state)
{
	struct rh *h = ST(state);

	h->cfg.min_port = 50000;
	h->cfg.max_port = 50001;
	for (int i = 0; i < 8; i++) {
		const struct tern_relay_action *open;
		uint16_t busy;

		rh_allocate_send(h, NULL);
		open = rh_act(h, TERN_ACT_OPEN, 0);
		busy = open->peer.port;
		rh_opened(h, open->handle, TERN_ERR_STATE); /* EADDRINUSE */
		open = rh_act(h, TERN_ACT_OPEN, 0);
		assert_non_null(open);
		assert_int_not_equal(open->peer.port, busy);
		rh_open_all(h);
		rh_expect_ok(h, TERN_TURN_ALLOCATE);
		rh_refresh(h, 0, 0);
		rh_expect_ok(h, TERN_TURN_REFRESH);
	}
}

static void test_relay_allocate_rfc8656_s7_2_port_in_use_gives_up_508(void **state)
{
	struct rh *h = ST(state);
	const struct tern_relay_action *open;
	int tries = 0;

	rh_allocate_send(h, NULL);
	while ((open = rh_act(h, TERN_ACT_OPEN, 0)) != NULL && tries++ < 100)
		rh_opened(h, open->handle, TERN_ERR_STATE);
	assert_true(tries > 1 && tries <= 32);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
	assert_true(rh_has_event(h, TERN_EV_PORT_EXHAUSTED, 508));
}

static void test_relay_allocate_rfc8656_s7_2_no_descriptors_508(void **state)
{
	struct rh *h = ST(state);

	rh_allocate_send(h, NULL);
	rh_opened(h, rh_act(h, TERN_ACT_OPEN, 0)->handle, TERN_ERR_CAPACITY);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
	assert_true(h->resp.mi_index >= 0);
	assert_int_equal(rh_count(h, TERN_ACT_OPEN), 0);
	assert_int_equal(tern_relay_next_deadline(h->r), UINT64_MAX);
}

static void test_relay_allocate_rfc8656_s7_2_entropy_failure_508(void **state)
{
	struct rh *h = ST(state);

	rh_fetch_nonce(h);
	h->entropy_fails = true;
	rh_allocate_send(h, NULL);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
}

static void test_relay_allocate_rfc8656_s7_2_stale_open_closed(void **state)
{
	struct rh *h = ST(state);
	uint32_t handle;

	h->cl[0].c.transport = TERN_TRANSPORT_TCP;
	rh_allocate_send(h, NULL);
	handle = rh_act(h, TERN_ACT_OPEN, 0)->handle;
	rh_closed(h); /* the connection went before the port was bound */
	rh_opened(h, handle, TERN_OK);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, handle);
}

/* ------------------------------------------ EVEN-PORT and reservations */

static void test_relay_allocate_rfc8656_s7_2_even_port(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.even = true};

	for (size_t k = 0; k < RH_CLIENTS; k++) {
		rh_use(h, k);
		rh_allocate(h, &o);
		assert_int_equal(h->relayed[0].port % 2, 0);
		assert_null(tern_stun_find(&h->resp, TERN_ATTR_RESERVATION_TOKEN));
	}
}

/* Allocate with EVEN-PORT R=1 for raf; returns the token. */
static uint64_t reserve(struct rh *h, uint8_t raf, uint16_t *port)
{
	struct rh_alloc_opts o = {.even = true, .reserve = true, .raf = raf};
	uint64_t token;

	rh_allocate(h, &o);
	*port = h->relayed[raf == TERN_AF_IPV6 ? 1 : 0].port;
	assert_int_equal(*port % 2, 0);
	assert_int_equal(h->nopens, 2);
	assert_int_equal(h->opens[1].addr.port, *port + 1);
	assert_int_equal(h->opens[1].addr.family, raf ? raf : TERN_AF_IPV4);
	assert_int_equal(tern_attr_get_u64(rh_attr(h, TERN_ATTR_RESERVATION_TOKEN), &token),
	                 TERN_OK);
	return token;
}

static void test_relay_allocate_rfc8656_s7_2_reservation_redeemed(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts redeem = {0};
	uint16_t port;

	redeem.token = reserve(h, 0, &port);
	rh_use(h, 1); /* RTCP from another client port */
	rh_allocate(h, &redeem);
	assert_int_equal(h->relayed[0].port, port + 1);
	assert_int_equal(h->handle[0], h->opens[1].handle);
	assert_int_equal(h->nopens, 2); /* no new OPEN: the port is held */
	assert_null(tern_stun_find(&h->resp, TERN_ATTR_RESERVATION_TOKEN));
	assert_int_equal(rh_stats(h).allocations, 2);
	rh_use(h, 2); /* a token is good once */
	rh_allocate_send(h, &redeem);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
}

static void test_relay_allocate_rfc8656_s7_2_reservation_v6(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts redeem = {0};
	uint16_t port;

	redeem.token = reserve(h, TERN_AF_IPV6, &port);
	rh_use(h, 1);
	rh_allocate(h, &redeem);
	assert_int_equal(h->relayed[1].family, TERN_AF_IPV6);
	assert_int_equal(h->relayed[1].port, port + 1);
}

/* Held ports fill the slots: the next EVEN-PORT R=1 cannot hold port + 1. */
static void test_relay_allocate_rfc8656_s7_2_reservation_no_slot_508(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts r1 = {.even = true, .reserve = true};

	h->cfg.max_allocations = 1; /* two slots: one allocation and one twin */
	rh_allocate(h, &r1);
	rh_refresh(h, 0, 0); /* the twin stays for 30 s */
	rh_expect_ok(h, TERN_TURN_REFRESH);
	rh_allocate_send(h, &r1);
	rh_open_all(h);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	rh_allocate(h, NULL); /* without R the slot suffices */
}

static void test_relay_allocate_rfc8656_s7_2_token_with_even_port_400(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.even = true};
	uint16_t port;

	o.token = reserve(h, 0, &port);
	rh_use(h, 1);
	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 400);
	o.even = false;
	o.raf = TERN_AF_IPV4;
	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 400);
	o.raf = 0;
	rh_allocate(h, &o); /* still redeemable */
}

static void test_relay_allocate_rfc8656_s7_2_token_expires_30s(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {0};
	uint16_t port;

	o.token = reserve(h, 0, &port);
	assert_int_equal(tern_relay_next_deadline(h->r), h->now + 30000);
	rh_tick(h, 29999);
	rh_expect_silence(h);
	rh_tick(h, 1);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1);
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, h->opens[1].handle);
	assert_int_equal(rh_count(h, TERN_ACT_EVENT), 0); /* not an allocation */
	rh_use(h, 1);
	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
}

static void test_relay_allocate_rfc8656_s7_2_reservation_open_fails_508(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.even = true, .reserve = true};
	const struct tern_relay_action *open;

	rh_allocate_send(h, &o);
	rh_opened(h, rh_act(h, TERN_ACT_OPEN, 0)->handle, TERN_OK);
	open = rh_act(h, TERN_ACT_OPEN, 0); /* port + 1 */
	assert_non_null(open);
	rh_opened(h, open->handle, TERN_ERR_CAPACITY);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 508);
	assert_int_equal(rh_count(h, TERN_ACT_CLOSE), 1); /* the even port goes too */
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, h->opens[0].handle);
	assert_int_equal(tern_relay_next_deadline(h->r), UINT64_MAX);
	rh_allocate(h, NULL); /* the 5-tuple is free again */
}

/* Port + 1 held elsewhere ("in use"): the pair is dropped and another tried. */
static void test_relay_allocate_rfc8656_s7_2_reservation_in_use_retries(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.even = true, .reserve = true};
	const struct tern_relay_action *open;
	uint32_t first;

	rh_allocate_send(h, &o);
	first = rh_act(h, TERN_ACT_OPEN, 0)->handle;
	rh_opened(h, first, TERN_OK);
	open = rh_act(h, TERN_ACT_OPEN, 0); /* port + 1 */
	assert_non_null(open);
	rh_opened(h, open->handle, TERN_ERR_STATE);
	assert_int_equal(rh_count(h, TERN_ACT_SEND_CLIENT), 0); /* no answer yet */
	assert_int_equal(rh_act(h, TERN_ACT_CLOSE, 0)->handle, first);
	open = rh_act(h, TERN_ACT_OPEN, 0); /* a new even port */
	assert_non_null(open);
	assert_int_equal(open->peer.port % 2, 0);
	rh_opened(h, open->handle, TERN_OK);
	open = rh_act(h, TERN_ACT_OPEN, 0); /* its port + 1 */
	assert_non_null(open);
	rh_opened(h, open->handle, TERN_OK);
	rh_expect_ok(h, TERN_TURN_ALLOCATE);
	assert_non_null(rh_attr(h, TERN_ATTR_RESERVATION_TOKEN));
}

/* ---------------------------------------------------- address families */

static void test_relay_allocate_rfc8656_s7_2_requested_family_v6(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.raf = TERN_AF_IPV6};
	struct tern_addr want = h->cfg.relay_v6;

	rh_allocate(h, &o);
	want.port = h->opens[0].addr.port;
	rh_assert_addr(&h->relayed[1], &want);
	assert_int_equal(h->handle[0], 0);
	assert_null(tern_stun_find_next(&h->resp, rh_attr(h, TERN_ATTR_XOR_RELAYED_ADDRESS)));
}

static void test_relay_allocate_rfc8656_s7_2_unsupported_family_440(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.raf = 0x03};

	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 440);
	h->cfg.relay_v6.family = TERN_AF_NONE;
	o.raf = TERN_AF_IPV6;
	rh_destroy(h); /* a relay that offers no IPv6 */
	h->cl[0].nonce_len = 0;
	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 440);
}

static void test_relay_allocate_rfc8656_s7_2_dual_stack(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.aaf = TERN_AF_IPV6};

	rh_allocate(h, &o);
	assert_int_equal(h->relayed[0].family, TERN_AF_IPV4);
	assert_int_equal(h->relayed[1].family, TERN_AF_IPV6);
	assert_int_not_equal(h->handle[0], h->handle[1]);
	assert_null(tern_stun_find(&h->resp, TERN_ATTR_ADDRESS_ERROR_CODE));
	assert_int_equal(h->nopens, 2);
}

static void expect_address_error(struct rh *h, uint16_t code)
{
	struct tern_error_code ec;
	uint8_t fam;

	assert_int_equal(
	    tern_attr_get_address_error_code(rh_attr(h, TERN_ATTR_ADDRESS_ERROR_CODE), &fam, &ec),
	    TERN_OK);
	assert_int_equal(fam, TERN_AF_IPV6);
	assert_int_equal(ec.code, code);
	assert_int_equal(h->relayed[0].family, TERN_AF_IPV4);
	assert_null(tern_stun_find_next(&h->resp, rh_attr(h, TERN_ATTR_XOR_RELAYED_ADDRESS)));
}

static void test_relay_allocate_rfc8656_s7_2_dual_stack_v6_not_offered(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.aaf = TERN_AF_IPV6};

	h->cfg.relay_v6.family = TERN_AF_NONE;
	rh_allocate(h, &o);
	expect_address_error(h, 440);
	assert_int_equal(h->nopens, 1);
}

static void test_relay_allocate_rfc8656_s7_2_dual_stack_v4_not_offered_440(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.aaf = TERN_AF_IPV6};

	h->cfg.relay_v4.family = TERN_AF_NONE;
	rh_allocate_send(h, &o);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 440);
	rh_allocate_send(h, NULL); /* IPv4 is the default family */
	rh_expect_error(h, TERN_TURN_ALLOCATE, 440);
	o.aaf = 0;
	o.raf = TERN_AF_IPV6;
	rh_allocate(h, &o);
}

static void test_relay_allocate_rfc8656_s7_2_dual_stack_v6_fails(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts o = {.aaf = TERN_AF_IPV6};

	rh_allocate_send(h, &o);
	rh_opened(h, rh_act(h, TERN_ACT_OPEN, 0)->handle, TERN_OK);
	rh_opened(h, rh_act(h, TERN_ACT_OPEN, 0)->handle, TERN_ERR_CAPACITY);
	rh_expect_ok(h, TERN_TURN_ALLOCATE);
	h->relayed[0] = rh_xor_addr(h, TERN_ATTR_XOR_RELAYED_ADDRESS, 0);
	expect_address_error(h, 508);
}

static void test_relay_allocate_rfc8656_s7_2_family_attrs_400(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts both = {.raf = TERN_AF_IPV4, .aaf = TERN_AF_IPV6};
	struct rh_alloc_opts v4 = {.aaf = TERN_AF_IPV4};
	struct rh_alloc_opts reserve = {.aaf = TERN_AF_IPV6, .even = true, .reserve = true};

	rh_allocate_send(h, &both);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 400);
	rh_allocate_send(h, &v4);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 400);
	rh_allocate_send(h, &reserve);
	rh_expect_error(h, TERN_TURN_ALLOCATE, 400);
	assert_int_equal(h->nopens, 0);
}

static void test_relay_allocate_rfc8656_s7_2_dont_fragment(void **state)
{
	struct rh *h = ST(state);
	struct rh_alloc_opts df = {.df = true};

	rh_allocate(h, &df);
	assert_true(h->opens[0].dont_fragment);
	rh_use(h, 1);
	rh_allocate(h, NULL);
	assert_false(h->opens[1].dont_fragment);
}

/* ------------------------------------------------- the out contract */

static void test_relay_client_input_no_space_nothing_applied(void **state)
{
	struct rh *h = ST(state);
	struct tern_relay_stats before, after;

	rh_fetch_nonce(h);
	before = rh_stats(h);
	h->want_rc = TERN_ERR_NO_SPACE;
	h->out_cap = TERN_RELAY_MAX_ACTIONS - 1;
	rh_allocate_send(h, NULL);
	rh_expect_silence(h);
	h->out_cap = 0;
	h->scratch_cap = TERN_RELAY_SCRATCH - 1;
	rh_input(h, h->req, h->req_len);
	rh_expect_silence(h);
	after = rh_stats(h);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(tern_relay_next_deadline(h->r), UINT64_MAX);
	h->want_rc = TERN_OK;
	h->scratch_cap = TERN_RELAY_SCRATCH;
	h->out_cap = TERN_RELAY_MAX_ACTIONS;
	rh_input(h, h->req, h->req_len); /* the same request goes through */
	rh_open_all(h);
	rh_expect_ok(h, TERN_TURN_ALLOCATE);
}

static void test_relay_opened_no_space_nothing_applied(void **state)
{
	struct rh *h = ST(state);
	uint32_t handle;

	rh_allocate_send(h, NULL);
	handle = rh_act(h, TERN_ACT_OPEN, 0)->handle;
	h->want_rc = TERN_ERR_NO_SPACE;
	h->out_cap = 1;
	rh_opened(h, handle, TERN_OK);
	rh_expect_silence(h);
	h->want_rc = TERN_OK;
	h->out_cap = 0;
	rh_opened(h, handle, TERN_OK);
	rh_expect_ok(h, TERN_TURN_ALLOCATE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rh_setup, rh_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_relay_binding_rfc8489_s7_3_xor_mapped),
	    T(test_relay_binding_rfc8489_s7_3_ipv6_client),
	    T(test_relay_client_input_rfc8489_s6_3_not_requests),
	    T(test_relay_client_input_rfc8489_s6_3_length_not_sensible),
	    T(test_relay_binding_rfc8489_s6_3_1_unknown_420),
	    T(test_relay_allocate_rfc8489_s6_3_1_unknown_420),
	    T(test_relay_allocate_rfc8489_s9_2_4_challenge_401),
	    T(test_relay_allocate_rfc8656_s7_2_no_transport_400),
	    T(test_relay_allocate_rfc8656_s7_2_tcp_442),
	    T(test_relay_allocate_rfc8656_s7_2_lifetime_clamped),
	    T(test_relay_allocate_rfc8656_s7_2_retransmit_identical),
	    T(test_relay_allocate_rfc8656_s7_2_mismatch_437),
	    T(test_relay_allocate_rfc8656_s7_2_pending_retransmit),
	    T(test_relay_allocate_rfc8656_s7_2_user_quota_486),
	    T(test_relay_allocate_rfc8656_s7_2_total_quota_508),
	    T(test_relay_allocate_rfc8656_s7_2_draining_508),
	    T(test_relay_allocate_rfc8656_s7_2_port_exhausted_508),
	    T(test_relay_allocate_rfc8656_s7_2_port_in_use_retried),
	    T(test_relay_allocate_rfc8656_s7_2_port_in_use_gives_up_508),
	    T(test_relay_allocate_rfc8656_s7_2_no_descriptors_508),
	    T(test_relay_allocate_rfc8656_s7_2_entropy_failure_508),
	    T(test_relay_allocate_rfc8656_s7_2_stale_open_closed),
	    T(test_relay_allocate_rfc8656_s7_2_even_port),
	    T(test_relay_allocate_rfc8656_s7_2_reservation_redeemed),
	    T(test_relay_allocate_rfc8656_s7_2_reservation_v6),
	    T(test_relay_allocate_rfc8656_s7_2_reservation_no_slot_508),
	    T(test_relay_allocate_rfc8656_s7_2_token_with_even_port_400),
	    T(test_relay_allocate_rfc8656_s7_2_token_expires_30s),
	    T(test_relay_allocate_rfc8656_s7_2_reservation_open_fails_508),
	    T(test_relay_allocate_rfc8656_s7_2_reservation_in_use_retries),
	    T(test_relay_allocate_rfc8656_s7_2_requested_family_v6),
	    T(test_relay_allocate_rfc8656_s7_2_unsupported_family_440),
	    T(test_relay_allocate_rfc8656_s7_2_dual_stack),
	    T(test_relay_allocate_rfc8656_s7_2_dual_stack_v6_not_offered),
	    T(test_relay_allocate_rfc8656_s7_2_dual_stack_v4_not_offered_440),
	    T(test_relay_allocate_rfc8656_s7_2_dual_stack_v6_fails),
	    T(test_relay_allocate_rfc8656_s7_2_family_attrs_400),
	    T(test_relay_allocate_rfc8656_s7_2_dont_fragment),
	    T(test_relay_client_input_no_space_nothing_applied),
	    T(test_relay_opened_no_space_nothing_applied),
	};

	return cmocka_run_group_tests_name("relay_alloc", tests, NULL, NULL);
}
