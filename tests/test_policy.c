/*
 * test_policy.c - address ranges, IPv4-in-IPv6 embeddings and the peer
 * policy (relay/policy.c). IPv6 spellings of IPv4 addresses are built here
 * byte by byte from the RFC layouts, independently of the code under test.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "tern_relay.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ helpers */

/* An address from its text form; fails the test on bad text. */
static struct tern_addr ip(const char *text, uint16_t port)
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

static struct tern_addr_range cidr(const char *text, unsigned len)
{
	struct tern_addr base = ip(text, 0);
	struct tern_addr_range r;

	assert_int_equal(tern_addr_range_cidr(&base, len, &r), TERN_OK);
	return r;
}

static struct tern_addr_range span(const char *lo, const char *hi)
{
	struct tern_addr_range r;

	r.lo = ip(lo, 0);
	r.hi = ip(hi, 0);
	return r;
}

static void assert_addr_equal(const struct tern_addr *got, const struct tern_addr *want)
{
	assert_int_equal(got->family, want->family);
	assert_int_equal(got->port, want->port);
	assert_memory_equal(got->addr, want->addr, sizeof(want->addr));
}

/* How a test writes an IPv4 address. */
enum spelling {
	SP_PLAIN,
	SP_MAPPED,        /* ::ffff:a.b.c.d */
	SP_COMPAT,        /* ::a.b.c.d */
	SP_6TO4,          /* 2002:aabb:ccdd::1 */
	SP_NAT64,         /* 64:ff9b::a.b.c.d */
	SP_NAT64_LOCAL,   /* 64:ff9b:1:aabb:0:ccdd:: (RFC 6052 §2.2 /48) */
	SP_NAT64_LOCAL_U, /* the same with a non-zero u octet */
	SP_TEREDO,        /* 2001:0:4136:e378:8000:<~port>:<~a.b.c.d> */
	SP_COUNT,
};

static const char *const spelling_name[SP_COUNT] = {
    "plain", "mapped", "compat", "6to4", "nat64", "nat64/48", "nat64/48+u", "teredo",
};

static void put_v4(uint8_t *out, const uint8_t *v4, uint8_t invert)
{
	for (size_t i = 0; i < 4; i++)
		out[i] = (uint8_t)(v4[i] ^ invert);
}

static void spell_local_nat64(uint8_t *b, const uint8_t *v4, uint8_t u)
{
	static const uint8_t prefix[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};

	memcpy(b, prefix, sizeof(prefix));
	b[6] = v4[0];
	b[7] = v4[1];
	b[8] = u;
	b[9] = v4[2];
	b[10] = v4[3];
	b[15] = 1;
}

/* The IPv6 bytes of v4 written in spelling s (not SP_PLAIN). */
static void spell_v6(uint8_t *b, const uint8_t *v4, enum spelling s, uint16_t port)
{
	static const uint8_t teredo[10] = {0x20, 0x01, 0, 0, 0x41, 0x36, 0xe3, 0x78, 0x80, 0};

	memset(b, 0, 16);
	switch (s) {
	case SP_MAPPED:
		b[10] = 0xff;
		b[11] = 0xff;
		put_v4(b + 12, v4, 0);
		break;
	case SP_COMPAT:
		put_v4(b + 12, v4, 0);
		break;
	case SP_6TO4:
		b[0] = 0x20;
		b[1] = 0x02;
		put_v4(b + 2, v4, 0);
		b[15] = 1;
		break;
	case SP_NAT64:
		b[1] = 0x64;
		b[2] = 0xff;
		b[3] = 0x9b;
		put_v4(b + 12, v4, 0);
		break;
	case SP_NAT64_LOCAL:
	case SP_NAT64_LOCAL_U:
		spell_local_nat64(b, v4, s == SP_NAT64_LOCAL_U ? 0x5a : 0);
		break;
	case SP_TEREDO:
		memcpy(b, teredo, sizeof(teredo));
		b[10] = (uint8_t) ~(port >> 8);
		b[11] = (uint8_t)~port;
		put_v4(b + 12, v4, 0xff);
		break;
	case SP_PLAIN:
	case SP_COUNT:
		fail_msg("spell_v6: bad spelling %d", (int)s);
	}
}

static struct tern_addr spell(const char *v4_text, enum spelling s, uint16_t port)
{
	struct tern_addr v4 = ip(v4_text, port);
	struct tern_addr a;

	assert_int_equal(v4.family, TERN_AF_IPV4);
	if (s == SP_PLAIN)
		return v4;
	memset(&a, 0, sizeof(a));
	a.family = TERN_AF_IPV6;
	a.port = port;
	spell_v6(a.addr, v4.addr, s, port);
	return a;
}

static void expect_peer(const struct tern_peer_policy *p, const struct tern_addr *a, bool allowed,
                        const char *what)
{
	char text[INET6_ADDRSTRLEN];

	if (tern_peer_allowed(p, a) == allowed)
		return;
	if (inet_ntop(a->family == TERN_AF_IPV4 ? AF_INET : AF_INET6, a->addr, text,
	              sizeof(text)) == NULL)
		strcpy(text, "?");
	fail_msg("%s: [%s]:%u should be %s", what, text, (unsigned)a->port,
	         allowed ? "allowed" : "denied");
}

static void expect_text(const struct tern_peer_policy *p, const char *text, uint16_t port,
                        bool allowed)
{
	struct tern_addr a = ip(text, port);

	expect_peer(p, &a, allowed, text);
}

/* v4_text written in every spelling. */
static void expect_every_spelling(const struct tern_peer_policy *p, const char *v4_text,
                                  uint16_t port, bool allowed)
{
	for (int s = SP_PLAIN; s < SP_COUNT; s++) {
		struct tern_addr a = spell(v4_text, (enum spelling)s, port);
		char what[64];

		snprintf(what, sizeof(what), "%s as %s", v4_text, spelling_name[s]);
		expect_peer(p, &a, allowed, what);
	}
}

/* ------------------------------------------------------------ the special ranges */

/* First, inside and last address of each IPv4 range, and the neighbours
 * just outside it that are public (NULL: none, or another special range). */
struct v4_range {
	const char *first, *inside, *last, *below, *above;
};

static const struct v4_range v4_ranges[] = {
    {"0.0.0.0", "0.1.2.3", "0.255.255.255", NULL, "1.0.0.0"},
    {"10.0.0.0", "10.20.30.40", "10.255.255.255", "9.255.255.255", "11.0.0.0"},
    {"100.64.0.0", "100.100.1.1", "100.127.255.255", "100.63.255.255", "100.128.0.0"},
    {"127.0.0.0", "127.0.0.1", "127.255.255.255", "126.255.255.255", "128.0.0.0"},
    {"169.254.0.0", "169.254.169.254", "169.254.255.255", "169.253.255.255", "169.255.0.0"},
    {"172.16.0.0", "172.20.1.1", "172.31.255.255", "172.15.255.255", "172.32.0.0"},
    {"192.0.0.0", "192.0.0.170", "192.0.0.255", "191.255.255.255", "192.0.1.0"},
    {"192.0.2.0", "192.0.2.1", "192.0.2.255", "192.0.1.255", "192.0.3.0"},
    {"192.88.99.0", "192.88.99.1", "192.88.99.255", "192.88.98.255", "192.88.100.0"},
    {"192.168.0.0", "192.168.1.1", "192.168.255.255", "192.167.255.255", "192.169.0.0"},
    {"198.18.0.0", "198.19.1.1", "198.19.255.255", "198.17.255.255", "198.20.0.0"},
    {"198.51.100.0", "198.51.100.7", "198.51.100.255", "198.51.99.255", "198.51.101.0"},
    {"203.0.113.0", "203.0.113.9", "203.0.113.255", "203.0.112.255", "203.0.114.0"},
    {"224.0.0.0", "239.1.2.3", "239.255.255.255", "223.255.255.255", NULL},
    {"240.0.0.0", "250.1.2.3", "255.255.255.255", NULL, NULL},
};

/* The same for IPv6 (outside: a public neighbour, or NULL). Inside
 * addresses that embed IPv4 embed a public one (Teredo: 8.8.8.8), so only
 * the IPv6 prefix itself can deny them. */
struct v6_range {
	const char *first, *inside, *last, *outside;
};

static const struct v6_range v6_ranges[] = {
    {"::", "::", "::", NULL},
    {"::1", "::1", "::1", NULL},
    {"::ffff:0:0", "::ffff:1.2.3.4", "::ffff:255.255.255.255", "::1:0:0:0"},
    {"::0.0.0.2", "::1.2.3.4", "::255.255.255.255", NULL},
    {"100::", "100::1234", "100::ffff:ffff:ffff:ffff", "100:0:0:1::"},
    {"fc00::", "fd12:3456::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fbff::1"},
    {"fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe7f::1"},
    {"fec0::", "fec0::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    {"ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    {"2001:db8::", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::1"},
    {"64:ff9b::", "64:ff9b::8.8.8.8", "64:ff9b::ffff:ffff", "64:ff9b::1:0:0"},
    {"64:ff9b:1::", "64:ff9b:1:808:8:800::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:2::1"},
    {"2001::", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
     "2001:1::1"},
    {"2002::", "2002:808:808::1", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::1"},
};

/* A policy that opens every IPv6 prefix that embeds IPv4, so only the
 * check of the embedded IPv4 address can deny a tunnelled spelling. */
struct tunnels_open {
	struct tern_addr_range allow[6];
	struct tern_peer_policy policy;
};

static void tunnels_open_init(struct tunnels_open *t)
{
	memset(t, 0, sizeof(*t));
	t->allow[0] = cidr("::ffff:0:0", 96);
	t->allow[1] = span("::0.0.0.2", "::255.255.255.255");
	t->allow[2] = cidr("2002::", 16);
	t->allow[3] = cidr("64:ff9b::", 96);
	t->allow[4] = cidr("64:ff9b:1::", 48);
	t->allow[5] = cidr("2001::", 32);
	t->policy.allow = t->allow;
	t->policy.n_allow = ARRAY_LEN(t->allow);
}

static void expect_v4_ranges_denied(const struct tern_peer_policy *p)
{
	for (size_t i = 0; i < ARRAY_LEN(v4_ranges); i++) {
		expect_every_spelling(p, v4_ranges[i].first, 5000, false);
		expect_every_spelling(p, v4_ranges[i].inside, 5000, false);
		expect_every_spelling(p, v4_ranges[i].last, 5000, false);
	}
}

static void test_policy_peer_allowed_special_v4_every_spelling(void **state)
{
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	expect_v4_ranges_denied(&p);
}

static void test_policy_peer_allowed_special_v4_tunnels_open(void **state)
{
	struct tunnels_open t;

	(void)state;
	tunnels_open_init(&t);
	expect_v4_ranges_denied(&t.policy);
}

/* The control for the test above: the tunnels really are open. */
static void test_policy_peer_allowed_public_tunnels_open(void **state)
{
	struct tunnels_open t;

	(void)state;
	tunnels_open_init(&t);
	expect_every_spelling(&t.policy, "8.8.8.8", 5000, true);
	expect_every_spelling(&t.policy, "1.1.1.1", 443, true);
	for (size_t i = 0; i < ARRAY_LEN(v4_ranges); i++) {
		if (v4_ranges[i].below != NULL)
			expect_every_spelling(&t.policy, v4_ranges[i].below, 5000, true);
		if (v4_ranges[i].above != NULL)
			expect_every_spelling(&t.policy, v4_ranges[i].above, 5000, true);
	}
}

static void test_policy_peer_allowed_special_v4_outside(void **state)
{
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (size_t i = 0; i < ARRAY_LEN(v4_ranges); i++) {
		if (v4_ranges[i].below != NULL)
			expect_text(&p, v4_ranges[i].below, 5000, true);
		if (v4_ranges[i].above != NULL)
			expect_text(&p, v4_ranges[i].above, 5000, true);
	}
}

static void test_policy_peer_allowed_special_v6(void **state)
{
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (size_t i = 0; i < ARRAY_LEN(v6_ranges); i++) {
		expect_text(&p, v6_ranges[i].first, 5000, false);
		expect_text(&p, v6_ranges[i].inside, 5000, false);
		expect_text(&p, v6_ranges[i].last, 5000, false);
		if (v6_ranges[i].outside != NULL)
			expect_text(&p, v6_ranges[i].outside, 5000, true);
	}
}

static void test_policy_peer_allowed_public(void **state)
{
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	expect_text(&p, "8.8.8.8", 53, true);
	expect_text(&p, "1.1.1.1", 3478, true);
	expect_text(&p, "2606:4700::1111", 443, true);
	expect_text(&p, "2a00:1450:4001:80b::200e", 65535, true);
	/* An IPv4 peer is asked for as IPv4, never as an IPv6 spelling. */
	expect_text(&p, "::ffff:8.8.8.8", 53, false);
	expect_text(&p, "::8.8.8.8", 53, false);
}

/* ------------------------------------------------------------ operator ranges */

static void test_policy_peer_allowed_operator_allow(void **state)
{
	struct tern_addr_range allow[1];
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	allow[0] = cidr("10.1.0.0", 16);
	p.allow = allow;
	p.n_allow = 1;
	expect_text(&p, "10.1.2.3", 5000, true);
	expect_text(&p, "10.1.0.0", 5000, true);
	expect_text(&p, "10.1.255.255", 5000, true);
	expect_text(&p, "::ffff:10.1.2.3", 5000, true);
	expect_text(&p, "::10.1.2.3", 5000, true);
	expect_text(&p, "10.2.0.1", 5000, false);
	expect_text(&p, "10.0.255.255", 5000, false);
	expect_text(&p, "::ffff:10.2.0.1", 5000, false);
	/* Tunnels are real IPv6 paths: an IPv4 allow does not open them. */
	expect_text(&p, "2002:a01:203::1", 5000, false);
	expect_text(&p, "64:ff9b::10.1.2.3", 5000, false);
}

static void test_policy_peer_allowed_operator_allow_keeps_loops(void **state)
{
	struct tern_addr own[1];
	struct tern_addr_range allow[1];
	struct tern_peer_policy p;

	(void)state;
	own[0] = ip("10.1.0.1", 3478);
	allow[0] = cidr("10.1.0.0", 16);
	p = (struct tern_peer_policy){.allow = allow,
	                              .n_allow = 1,
	                              .own = own,
	                              .n_own = 1,
	                              .relay_min_port = 49152,
	                              .relay_max_port = 65000};
	expect_text(&p, "10.1.0.1", 5000, true);
	expect_text(&p, "10.1.0.1", 49151, true);
	expect_text(&p, "10.1.0.1", 65001, true);
	expect_text(&p, "10.1.0.1", 3478, false);
	expect_text(&p, "::ffff:10.1.0.1", 3478, false);
	/* another client's relayed address on this server: client to client */
	expect_text(&p, "10.1.0.1", 49152, true);
	expect_text(&p, "10.1.0.1", 50000, true);
	expect_text(&p, "10.1.0.1", 65000, true);
	expect_text(&p, "::ffff:10.1.0.1", 50000, true);
	/* Another address on the same ports is no loop. */
	expect_text(&p, "10.1.0.2", 3478, true);
	expect_text(&p, "10.1.0.2", 50000, true);
}

static void test_policy_peer_allowed_loop_through_tunnel(void **state)
{
	struct tunnels_open t;
	struct tern_addr_range allow[7];
	struct tern_addr own[1];

	(void)state;
	tunnels_open_init(&t);
	memcpy(allow, t.allow, sizeof(t.allow));
	allow[6] = cidr("198.51.100.0", 24);
	own[0] = ip("198.51.100.7", 3478);
	t.policy.allow = allow;
	t.policy.n_allow = ARRAY_LEN(allow);
	t.policy.own = own;
	t.policy.n_own = 1;
	expect_every_spelling(&t.policy, "198.51.100.7", 5000, true);
	expect_every_spelling(&t.policy, "198.51.100.7", 3478, false);
}

static void test_policy_peer_allowed_relay_range_unset(void **state)
{
	struct tern_addr own[1];
	struct tern_addr_range allow[1];
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	own[0] = ip("198.51.100.7", 3478);
	allow[0] = cidr("198.51.100.0", 24);
	p.allow = allow;
	p.n_allow = 1;
	p.own = own;
	p.n_own = 1;
	expect_text(&p, "198.51.100.7", 50000, true);
	expect_text(&p, "198.51.100.7", 3478, false);
}

static void test_policy_peer_allowed_operator_deny(void **state)
{
	struct tunnels_open t;
	struct tern_addr_range deny[2];

	(void)state;
	tunnels_open_init(&t);
	deny[0] = cidr("8.8.8.0", 24);
	deny[1] = cidr("2606:4700::", 32);
	t.policy.deny = deny;
	t.policy.n_deny = ARRAY_LEN(deny);
	expect_every_spelling(&t.policy, "8.8.8.8", 53, false);
	expect_every_spelling(&t.policy, "8.8.8.0", 53, false);
	expect_every_spelling(&t.policy, "8.8.8.255", 53, false);
	expect_every_spelling(&t.policy, "8.8.4.4", 53, true);
	expect_every_spelling(&t.policy, "8.8.9.0", 53, true);
	expect_text(&t.policy, "2606:4700::1111", 443, false);
	expect_text(&t.policy, "2606:4701::1", 443, true);
}

static void test_policy_peer_allowed_allow_beats_deny(void **state)
{
	struct tern_addr_range allow[1], deny[1];
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	deny[0] = cidr("8.8.0.0", 16);
	allow[0] = cidr("8.8.8.0", 24);
	p.deny = deny;
	p.n_deny = 1;
	p.allow = allow;
	p.n_allow = 1;
	expect_text(&p, "8.8.8.8", 53, true);
	expect_text(&p, "8.8.4.4", 53, false);
}

/* ------------------------------------------------------------ loopback, own, odd input */

static void test_policy_peer_allowed_loopback_switch(void **state)
{
	struct tern_addr own[2];
	struct tern_peer_policy p;

	(void)state;
	own[0] = ip("127.0.0.1", 3478);
	own[1] = ip("::1", 3478);
	p = (struct tern_peer_policy){
	    .own = own, .n_own = 2, .relay_min_port = 49152, .relay_max_port = 65535};
	expect_text(&p, "127.0.0.1", 5000, false);
	expect_text(&p, "::1", 5000, false);
	p.allow_loopback = true;
	expect_text(&p, "127.0.0.1", 5000, true);
	expect_text(&p, "127.255.255.254", 5000, true);
	expect_text(&p, "::1", 5000, true);
	expect_text(&p, "::ffff:127.0.0.1", 5000, true);
	expect_text(&p, "10.0.0.1", 5000, false);
	expect_text(&p, "::", 5000, false);
	expect_text(&p, "127.0.0.1", 3478, false);
	expect_text(&p, "::ffff:127.0.0.1", 3478, false);
	expect_text(&p, "::1", 3478, false);
	expect_text(&p, "127.0.0.2", 3478, true);
	/* relayed addresses of this server stay reachable without allow_loopback */
	p.allow_loopback = false;
	expect_text(&p, "127.0.0.1", 50000, true);
	expect_text(&p, "::ffff:127.0.0.1", 50000, true);
	expect_text(&p, "127.0.0.2", 50000, false);
}

static void test_policy_peer_allowed_own_address(void **state)
{
	struct tern_addr own[2];
	struct tern_addr_range allow[1];
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	own[0] = ip("45.76.1.2", 3478);
	own[1] = ip("2606:4700::1", 3478);
	p.own = own;
	p.n_own = 2;
	expect_text(&p, "45.76.1.2", 5000, false);
	expect_text(&p, "2606:4700::1", 5000, false);
	expect_text(&p, "45.76.1.3", 5000, true);
	expect_text(&p, "2606:4700::2", 5000, true);
	allow[0] = cidr("45.76.1.2", 32);
	p.allow = allow;
	p.n_allow = 1;
	expect_text(&p, "45.76.1.2", 5000, true);
	expect_text(&p, "45.76.1.2", 3478, false);
	expect_text(&p, "2606:4700::1", 5000, false);
}

/* An own address given as an IPv6 spelling is its IPv4 address too. */
static void test_policy_peer_allowed_own_address_mapped(void **state)
{
	struct tern_addr own[1];
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	own[0] = ip("::ffff:45.76.1.2", 3478);
	p.own = own;
	p.n_own = 1;
	expect_text(&p, "45.76.1.2", 5000, false);
	expect_text(&p, "45.76.1.3", 5000, true);
}

static void test_policy_peer_allowed_port_zero(void **state)
{
	struct tern_addr_range allow[2];
	struct tern_peer_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	allow[0] = cidr("0.0.0.0", 0);
	allow[1] = cidr("::", 0);
	p.allow = allow;
	p.n_allow = 2;
	expect_text(&p, "8.8.8.8", 1, true);
	expect_text(&p, "8.8.8.8", 0, false);
	expect_text(&p, "2606:4700::1111", 0, false);
	expect_text(&p, "10.0.0.1", 0, false);
}

static void test_policy_peer_allowed_bad_family(void **state)
{
	struct tern_peer_policy p;
	struct tern_addr a = ip("8.8.8.8", 53);

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_true(tern_peer_allowed(&p, &a));
	a.family = TERN_AF_NONE;
	assert_false(tern_peer_allowed(&p, &a));
	a.family = 3;
	assert_false(tern_peer_allowed(&p, &a));
	a.family = TERN_AF_IPV4;
	assert_false(tern_peer_allowed(NULL, &a));
	assert_false(tern_peer_allowed(&p, NULL));
}

/* ------------------------------------------------------------ ranges */

static void expect_range(const char *base, unsigned len, const char *lo, const char *hi)
{
	struct tern_addr b = ip(base, 1234);
	struct tern_addr want_lo = ip(lo, 0), want_hi = ip(hi, 0);
	struct tern_addr_range r;

	assert_int_equal(tern_addr_range_cidr(&b, len, &r), TERN_OK);
	assert_addr_equal(&r.lo, &want_lo);
	assert_addr_equal(&r.hi, &want_hi);
}

static void test_policy_addr_range_cidr_v4(void **state)
{
	(void)state;
	expect_range("1.2.3.4", 0, "0.0.0.0", "255.255.255.255");
	expect_range("10.1.2.3", 32, "10.1.2.3", "10.1.2.3");
	expect_range("10.1.2.3", 16, "10.1.0.0", "10.1.255.255");
	expect_range("100.100.1.1", 10, "100.64.0.0", "100.127.255.255");
	expect_range("198.19.1.1", 15, "198.18.0.0", "198.19.255.255");
	expect_range("10.1.2.3", 31, "10.1.2.2", "10.1.2.3");
}

static void test_policy_addr_range_cidr_v6(void **state)
{
	(void)state;
	expect_range("2606:4700::1", 0, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	expect_range("2606:4700::1", 128, "2606:4700::1", "2606:4700::1");
	expect_range("fd12::1", 7, "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	expect_range("fe80::1", 10, "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	expect_range("64:ff9b::8.8.8.8", 96, "64:ff9b::", "64:ff9b::255.255.255.255");
}

static void expect_cidr_invalid(const struct tern_addr *base, unsigned len)
{
	struct tern_addr_range r, before;

	memset(&r, 0xa5, sizeof(r));
	before = r;
	assert_int_equal(tern_addr_range_cidr(base, len, &r), TERN_ERR_INVALID_ARG);
	assert_memory_equal(&r, &before, sizeof(r));
}

static void test_policy_addr_range_cidr_invalid(void **state)
{
	struct tern_addr v4 = ip("10.0.0.0", 0), v6 = ip("fc00::", 0), bad = v4;
	struct tern_addr_range r;

	(void)state;
	expect_cidr_invalid(&v4, 33);
	expect_cidr_invalid(&v4, 128);
	expect_cidr_invalid(&v6, 129);
	bad.family = TERN_AF_NONE;
	expect_cidr_invalid(&bad, 8);
	bad.family = 3;
	expect_cidr_invalid(&bad, 8);
	expect_cidr_invalid(NULL, 8);
	assert_int_equal(tern_addr_range_cidr(&v4, 8, NULL), TERN_ERR_INVALID_ARG);
	assert_int_equal(tern_addr_range_cidr(&v4, 32, &r), TERN_OK);
	assert_int_equal(tern_addr_range_cidr(&v6, 128, &r), TERN_OK);
}

static void expect_contains(const struct tern_addr_range *r, const char *text, bool in)
{
	struct tern_addr a = ip(text, 9);

	if (tern_addr_range_contains(r, &a) != in)
		fail_msg("%s should%s be in the range", text, in ? "" : " not");
}

static void test_policy_addr_range_contains_bounds(void **state)
{
	struct tern_addr_range v4 = cidr("172.16.0.0", 12), v6 = cidr("fe80::", 10);

	(void)state;
	expect_contains(&v4, "172.16.0.0", true);
	expect_contains(&v4, "172.24.1.2", true);
	expect_contains(&v4, "172.31.255.255", true);
	expect_contains(&v4, "172.15.255.255", false);
	expect_contains(&v4, "172.32.0.0", false);
	expect_contains(&v6, "fe80::", true);
	expect_contains(&v6, "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true);
	expect_contains(&v6, "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false);
	expect_contains(&v6, "fec0::", false);
}

static void test_policy_addr_range_contains_family(void **state)
{
	struct tern_addr_range v4 = cidr("0.0.0.0", 0), v6 = cidr("::", 0);
	struct tern_addr odd = ip("1.2.3.4", 1);

	(void)state;
	expect_contains(&v4, "::ffff:1.2.3.4", false);
	expect_contains(&v4, "::", false);
	expect_contains(&v6, "1.2.3.4", false);
	expect_contains(&v6, "0.0.0.0", false);
	odd.family = 3;
	v4.lo.family = 3;
	v4.hi.family = 3;
	assert_false(tern_addr_range_contains(&v4, &odd));
	assert_false(tern_addr_range_contains(NULL, &odd));
}

/* ------------------------------------------------------------ embeddings */

static void expect_embedded(const struct tern_addr *a, enum tern_embed form, const char *v4_text)
{
	struct tern_addr got, want = ip(v4_text, a->port);

	assert_int_equal(tern_addr_embedded_v4(a, &got), form);
	assert_addr_equal(&got, &want);
}

static void test_policy_addr_embedded_v4_forms(void **state)
{
	static const enum tern_embed form[SP_COUNT] = {
	    TERN_EMBED_NONE,  TERN_EMBED_MAPPED, TERN_EMBED_COMPAT, TERN_EMBED_6TO4,
	    TERN_EMBED_NAT64, TERN_EMBED_NAT64,  TERN_EMBED_NAT64,  TERN_EMBED_TEREDO,
	};
	static const char *const v4[] = {"203.0.113.9", "8.8.8.8", "255.255.255.255", "0.0.0.2"};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(v4); i++) {
		for (int s = SP_MAPPED; s < SP_COUNT; s++) {
			struct tern_addr a = spell(v4[i], (enum spelling)s, 40000);

			expect_embedded(&a, form[s], v4[i]);
		}
	}
}

/* RFC 4380 §4 example: client 192.0.2.45:40000 behind server 65.54.227.120. */
static void test_policy_addr_embedded_v4_teredo_example(void **state)
{
	struct tern_addr a = ip("2001:0:4136:e378:8000:63bf:3fff:fdd2", 7);

	(void)state;
	expect_embedded(&a, TERN_EMBED_TEREDO, "192.0.2.45");
}

static void test_policy_addr_embedded_v4_nat64_u_octet(void **state)
{
	struct tern_addr a = ip("64:ff9b:1:a01:ff02:300:ffff:ffff", 7);

	(void)state;
	expect_embedded(&a, TERN_EMBED_NAT64, "10.1.2.3");
}

static void expect_not_embedded(const char *text)
{
	struct tern_addr a = ip(text, 3478), got;

	assert_int_equal(tern_addr_embedded_v4(&a, &got), TERN_EMBED_NONE);
	assert_addr_equal(&got, &a);
}

static void test_policy_addr_embedded_v4_none(void **state)
{
	(void)state;
	expect_not_embedded("8.8.8.8");
	expect_not_embedded("::");
	expect_not_embedded("::1");
	expect_not_embedded("2606:4700::1111");
	expect_not_embedded("::fffe:1.2.3.4");
	expect_not_embedded("0:0:0:0:1:ffff:102:304");
	expect_not_embedded("64:ff9b:0:0:0:1::");
	expect_not_embedded("64:ff9b:2::1");
	expect_not_embedded("2001:1::1");
	expect_not_embedded("2003::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_peer_allowed_special_v4_every_spelling),
	    cmocka_unit_test(test_policy_peer_allowed_special_v4_tunnels_open),
	    cmocka_unit_test(test_policy_peer_allowed_public_tunnels_open),
	    cmocka_unit_test(test_policy_peer_allowed_special_v4_outside),
	    cmocka_unit_test(test_policy_peer_allowed_special_v6),
	    cmocka_unit_test(test_policy_peer_allowed_public),
	    cmocka_unit_test(test_policy_peer_allowed_operator_allow),
	    cmocka_unit_test(test_policy_peer_allowed_operator_allow_keeps_loops),
	    cmocka_unit_test(test_policy_peer_allowed_loop_through_tunnel),
	    cmocka_unit_test(test_policy_peer_allowed_relay_range_unset),
	    cmocka_unit_test(test_policy_peer_allowed_operator_deny),
	    cmocka_unit_test(test_policy_peer_allowed_allow_beats_deny),
	    cmocka_unit_test(test_policy_peer_allowed_loopback_switch),
	    cmocka_unit_test(test_policy_peer_allowed_own_address),
	    cmocka_unit_test(test_policy_peer_allowed_own_address_mapped),
	    cmocka_unit_test(test_policy_peer_allowed_port_zero),
	    cmocka_unit_test(test_policy_peer_allowed_bad_family),
	    cmocka_unit_test(test_policy_addr_range_cidr_v4),
	    cmocka_unit_test(test_policy_addr_range_cidr_v6),
	    cmocka_unit_test(test_policy_addr_range_cidr_invalid),
	    cmocka_unit_test(test_policy_addr_range_contains_bounds),
	    cmocka_unit_test(test_policy_addr_range_contains_family),
	    cmocka_unit_test(test_policy_addr_embedded_v4_forms),
	    cmocka_unit_test(test_policy_addr_embedded_v4_teredo_example),
	    cmocka_unit_test(test_policy_addr_embedded_v4_nat64_u_octet),
	    cmocka_unit_test(test_policy_addr_embedded_v4_none),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
