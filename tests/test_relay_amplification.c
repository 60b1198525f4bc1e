/*
 * test_relay_amplification.c - no amplification before authentication
 * (DESIGN.md "Security model"): for every kind of request an
 * unauthenticated sender can make, the answer is at most the request plus
 * AMP_CONSTANT bytes, or nothing. Prints the measured table that
 * docs/security.md shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay_harness.h"

/* The fixed allowance: a 401 carries REALM, a NONCE and PASSWORD-ALGORITHMS. */
#define AMP_CONSTANT 128u

enum amp_case {
	AMP_BINDING,
	AMP_BINDING_UNKNOWN_ATTR,
	AMP_ALLOCATE,
	AMP_REFRESH,
	AMP_PERMISSION,
	AMP_CHANNEL_BIND,
	AMP_WRONG_PASSWORD,
	AMP_STALE_NONCE,
	AMP_UNKNOWN_METHOD,
	AMP_SEND_NO_ALLOCATION,
	AMP_CHANNEL_DATA_NO_ALLOCATION,
	AMP_CASES,
};

static const char *const amp_names[AMP_CASES] = {
    "Binding request",
    "Binding, unknown attribute (420)",
    "Allocate, no credentials",
    "Refresh, no credentials",
    "CreatePermission, no credentials",
    "ChannelBind, no credentials",
    "Allocate, wrong password",
    "Allocate, forged nonce (438)",
    "unknown method (dropped)",
    "Send indication, no allocation",
    "ChannelData, no allocation",
};

/* Build and send the request of case c from the current client. */
static void amp_send(struct rh *h, enum amp_case c)
{
	static const uint8_t cd[] = {0x40, 0x00, 0x00, 0x04, 'p', 'i', 'n', 'g'};
	static const uint8_t udp[4] = {17, 0, 0, 0};
	static const uint16_t methods[] = {
	    [AMP_BINDING] = TERN_STUN_BINDING,
	    [AMP_BINDING_UNKNOWN_ATTR] = TERN_STUN_BINDING,
	    [AMP_ALLOCATE] = TERN_TURN_ALLOCATE,
	    [AMP_REFRESH] = TERN_TURN_REFRESH,
	    [AMP_PERMISSION] = TERN_TURN_CREATE_PERMISSION,
	    [AMP_CHANNEL_BIND] = TERN_TURN_CHANNEL_BIND,
	    [AMP_WRONG_PASSWORD] = TERN_TURN_ALLOCATE,
	    [AMP_STALE_NONCE] = TERN_TURN_ALLOCATE,
	    [AMP_UNKNOWN_METHOD] = 0x0055,
	    [AMP_SEND_NO_ALLOCATION] = TERN_TURN_SEND,
	};

	if (c == AMP_CHANNEL_DATA_NO_ALLOCATION) {
		h->req_len = sizeof(cd);
		rh_input(h, cd, sizeof(cd));
		return;
	}
	if (c == AMP_WRONG_PASSWORD)
		rh_cred_user(h, "alice", "not-the-password");
	if (c == AMP_WRONG_PASSWORD || c == AMP_STALE_NONCE)
		rh_fetch_nonce(h);
	rh_start(h, methods[c],
	         c == AMP_SEND_NO_ALLOCATION ? TERN_STUN_INDICATION : TERN_STUN_REQUEST);
	if (c == AMP_BINDING_UNKNOWN_ATTR)
		(void)tern_stun_add_u32(&h->b, 0x7F01, 0);
	if (methods[c] == TERN_TURN_ALLOCATE)
		(void)tern_stun_add_raw(&h->b, TERN_ATTR_REQUESTED_TRANSPORT, udp, sizeof(udp));
	if (c == AMP_STALE_NONCE)
		h->cl[h->cur].nonce_len = 4; /* "obMa": not a nonce of this server */
	if (c == AMP_WRONG_PASSWORD || c == AMP_STALE_NONCE)
		rh_sign(h);
	rh_send(h);
}

static void test_relay_amplification_unauthenticated_bounded(void **state)
{
	struct rh *h = *state;

	printf("| request | bytes in | bytes out | out/in |\n| --- | --- | --- | --- |\n");
	for (int c = 0; c < AMP_CASES; c++) {
		const struct tern_relay_action *a;
		size_t out;

		rh_use(h, (size_t)c % RH_CLIENTS); /* stay below the 401 rate limit */
		amp_send(h, (enum amp_case)c);
		a = rh_act(h, TERN_ACT_SEND_CLIENT, 0);
		out = a != NULL ? a->len : 0;
		assert_int_equal(rh_count(h, TERN_ACT_SEND_CLIENT), a != NULL ? 1 : 0);
		assert_int_equal(rh_count(h, TERN_ACT_SEND_PEER), 0);
		if (out > h->req_len + AMP_CONSTANT)
			fail_msg("%s: %zu bytes answered %zu", amp_names[c], h->req_len, out);
		printf("| %s | %zu | %zu | %.2f |\n", amp_names[c], h->req_len, out,
		       (double)out / (double)h->req_len);
	}
}

/* Past the per-source limit, unauthenticated requests get no answer at all. */
static void test_relay_amplification_401_rate_limited(void **state)
{
	struct rh *h = *state;
	size_t answered = 0;

	for (int i = 0; i < 200; i++) {
		amp_send(h, AMP_ALLOCATE);
		answered += rh_count(h, TERN_ACT_SEND_CLIENT);
	}
	assert_true(answered <= 40); /* 20 per second at most, burst included */
	assert_true(answered >= 1);
	assert_int_equal(rh_stats(h).drops[TERN_DROP_RATE_LIMITED], 200 - answered);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_relay_amplification_unauthenticated_bounded,
	                                    rh_setup, rh_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_amplification_401_rate_limited, rh_setup,
	                                    rh_teardown),
	};

	return cmocka_run_group_tests_name("relay_amplification", tests, NULL, NULL);
}
