/*
 * harden_cases.c - the peer addresses test_harden_policy tries against a
 * running ternd, with the verdict the peer policy must give each
 * (DESIGN.md "Security model", relay/policy.c), for three configurations:
 * the default policy, operator allow/deny ranges, and allow-loopback-peers.
 */
#define _GNU_SOURCE
#include "harden.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/*
 * Every IPv4 special-purpose range DESIGN.md denies, by its first and last
 * address where both are usable (and one more inside for loopback), plus
 * 192.88.99.0/24 (relay/policy.c). The 127.x ones are local: a datagram
 * the relay wrongly sent there would land on the sink.
 */
static const char *const denied_v4[] = {
    "0.0.0.0",         "0.255.255.255",   "10.0.0.0",        "10.255.255.255",  "100.64.0.0",
    "100.127.255.255", "127.0.0.1",       "127.0.0.2",       "127.255.255.254", "169.254.0.1",
    "169.254.255.255", "172.16.0.0",      "172.31.255.255",  "192.0.0.0",       "192.0.0.255",
    "192.0.2.1",       "192.88.99.1",     "192.168.0.1",     "192.168.255.255", "198.18.0.0",
    "198.19.255.255",  "198.51.100.1",    "203.0.113.255",   "224.0.0.1",       "239.255.255.255",
    "240.0.0.1",       "255.255.255.254", "255.255.255.255",
};

/* IPv6 special-purpose addresses (::2, 2001::1 and 2002::1 also embed IPv4). */
static const char *const denied_v6[] = {
    "::",           "::1",          "::2",
    "100::1",       "fc00::1",      "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::1",      "febf:ffff::1", "fec0::1",
    "feff:ffff::1", "ff02::1",      "ff0e::1",
    "ff05::1:3",    "2001:db8::1",  "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001::1",      "2002::1",
};

static struct hp_case *add(struct hp_table *t, const struct tern_addr *addr, bool allowed,
                           const char *what)
{
	struct hp_case *c;
	char s[96];

	assert_true(t->n < HP_MAX_CASES);
	c = &t->c[t->n++];
	memset(c, 0, sizeof(*c));
	c->addr = *addr;
	c->dest = *addr;
	c->allowed = allowed;
	snprintf(c->label, sizeof(c->label), "%s %s", what, hp_addr_str(addr, s, sizeof(s)));
	return c;
}

static void add_denied(struct hp_table *t, const struct tern_addr *addr, const char *what)
{
	add(t, addr, false, what);
}

/* Allowed, and lands at dest (a local socket of the test) when relayed. */
static void add_delivered(struct hp_table *t, const struct tern_addr *addr,
                          const struct tern_addr *dest, const char *what)
{
	struct hp_case *c = add(t, addr, true, what);

	c->dest = *dest;
	c->deliver = true;
}

/* Allowed, but not local: only the verdict is checked, no data is sent. */
static void add_verdict(struct hp_table *t, const struct tern_addr *addr, const char *what)
{
	add(t, addr, true, what);
}

/* v4 in every form in [from, to), all denied. */
static void add_forms(struct hp_table *t, const struct tern_addr *v4, uint16_t port,
                      enum hp_form from, enum hp_form to)
{
	for (enum hp_form f = from; f < to; f++) {
		struct tern_addr a = hp_spell(v4, f, port);

		add_denied(t, &a, hp_form_name(f));
	}
}

static void add_forms_ip(struct hp_table *t, const char *ip, uint16_t port, enum hp_form from,
                         enum hp_form to)
{
	struct tern_addr v4 = dh_addr(ip, 0);

	add_forms(t, &v4, port, from, to);
}

/*
 * An allowed IPv4 address: plain, mapped and compat land on it; tunnel
 * forms are denied, but for NAT64 /96 when nat64_open (an allow range for
 * 64:ff9b::/96 opens that IPv6 form, and its IPv4 address is open too).
 */
static void add_open_v4(struct hp_table *t, const char *ip, uint16_t port, bool nat64_open)
{
	struct tern_addr v4 = dh_addr(ip, port);

	for (enum hp_form f = HP_PLAIN; f <= HP_COMPAT; f++) {
		struct tern_addr a = hp_spell(&v4, f, port);

		add_delivered(t, &a, &v4, hp_form_name(f));
	}
	for (enum hp_form f = HP_6TO4; f < HP_NFORMS; f++) {
		struct tern_addr a = hp_spell(&v4, f, port);

		if (f == HP_NAT64 && nat64_open)
			add_verdict(t, &a, "nat64 of allowed");
		else
			add_denied(t, &a, hp_form_name(f));
	}
}

/* Another client's relayed address: allowed as written, never through a tunnel. */
static void add_relayed(struct hp_table *t, const struct hp_env *e)
{
	add_delivered(t, &e->relayed6, &e->relayed6, "own relayed");
	for (enum hp_form f = HP_PLAIN; f <= HP_COMPAT; f++) {
		struct tern_addr a = hp_spell(&e->relayed4, f, e->relayed4.port);

		add_delivered(t, &a, &e->relayed4, "own relayed");
	}
	add_forms(t, &e->relayed4, e->relayed4.port, HP_6TO4, HP_NFORMS);
}

/* The listening ports on the listening addresses, in every form: never opened. */
static void add_listeners(struct hp_table *t, const struct hp_env *e)
{
	const uint16_t ports[] = {e->d->port, e->d->tls_port};

	for (size_t i = 0; i < 2; i++) {
		struct tern_addr v6 = dh_addr("::1", ports[i]);

		add_forms_ip(t, "127.0.0.1", ports[i], HP_PLAIN, HP_NFORMS);
		add_denied(t, &v6, "listener");
	}
}

void hp_table_deny(struct hp_table *t, const struct hp_env *e)
{
	uint16_t p = e->sink_port;

	t->n = 0;
	/* allowed first: the permissions they install (IPs 127.0.0.77, 127.0.0.1
	 * and ::1) make the later denied Sends to those IPs face the policy */
	add_relayed(t, e);
	add_open_v4(t, HP_ALLOWED_ONE, p, false);
	add_forms_ip(t, "127.0.0.76", p, HP_PLAIN, HP_NFORMS); /* both neighbours */
	add_forms_ip(t, "127.0.0.78", p, HP_PLAIN, HP_NFORMS);
	for (size_t i = 0; i < sizeof(denied_v4) / sizeof(denied_v4[0]); i++)
		add_forms_ip(t, denied_v4[i], p, HP_PLAIN, HP_NFORMS);
	add_forms_ip(t, "8.8.8.8", p, HP_MAPPED, HP_NFORMS); /* public, but not as IPv6 */
	for (size_t i = 0; i < sizeof(denied_v6) / sizeof(denied_v6[0]); i++) {
		struct tern_addr a = dh_addr(denied_v6[i], p);

		add_denied(t, &a, "v6");
	}
	add_listeners(t, e);
}

const char *const hp_allow_rules[] = {
    "allow-loopback-peers=false",
    "allowed-peer-ip=127.0.1.0/24",
    "allowed-peer-ip=127.0.3.10-127.0.3.20",
    "allowed-peer-ip=::1",
    "allowed-peer-ip=64:ff9b::/96",
    "denied-peer-ip=8.8.8.0/24",
    "allowed-peer-ip=8.8.8.128/25",
    NULL,
};

static void add_v4(struct hp_table *t, const char *ip, uint16_t port, bool allowed, bool local)
{
	struct tern_addr a = dh_addr(ip, port);

	if (!allowed)
		add_denied(t, &a, "plain");
	else if (local)
		add_delivered(t, &a, &a, "plain");
	else
		add_verdict(t, &a, "plain");
}

void hp_table_allow_rules(struct hp_table *t, const struct hp_env *e)
{
	uint16_t p = e->sink_port;
	struct tern_addr a;

	t->n = 0;
	add_relayed(t, e);
	/* 127.0.1.0/24: both ends in, both neighbours out */
	add_v4(t, "127.0.1.0", p, true, true);
	add_v4(t, "127.0.1.255", p, true, true);
	add_open_v4(t, "127.0.1.5", p, true);
	add_v4(t, "127.0.0.255", p, false, false);
	add_v4(t, "127.0.2.0", p, false, false);
	/* 127.0.3.10-127.0.3.20 */
	add_v4(t, "127.0.3.10", p, true, true);
	add_v4(t, "127.0.3.20", p, true, true);
	add_v4(t, "127.0.3.9", p, false, false);
	add_v4(t, "127.0.3.21", p, false, false);
	/* ::1 alone: not :: or ::2, and never the listening ports */
	a = dh_addr("::1", p);
	add_delivered(t, &a, &a, "v6");
	add_forms_ip(t, "0.0.0.0", p, HP_PLAIN, HP_NFORMS);
	a = dh_addr("::2", p);
	add_denied(t, &a, "v6");
	add_listeners(t, e);
	/* 64:ff9b::/96 opens the IPv6 form only: the IPv4 inside must be open too */
	a = dh_addr("64:ff9b::808:404", p);
	add_verdict(t, &a, "nat64 of public");
	add_forms_ip(t, "127.0.0.1", p, HP_NAT64, HP_NAT64 + 1);
	add_forms_ip(t, "10.0.0.1", p, HP_NAT64, HP_NAT64 + 1);
	add_forms_ip(t, "8.8.4.4", p, HP_NAT64_48, HP_NFORMS);
	/* denied 8.8.8.0/24, allowed 8.8.8.128/25 inside it: the allow wins */
	add_v4(t, "8.8.8.0", p, false, false);
	add_v4(t, "8.8.8.127", p, false, false);
	add_v4(t, "8.8.8.128", p, true, false);
	add_v4(t, "8.8.8.255", p, true, false);
	add_v4(t, "8.8.7.255", p, true, false);
	add_v4(t, "8.8.9.0", p, true, false);
	/* the default denials still hold */
	add_forms_ip(t, "127.0.0.1", p, HP_PLAIN, HP_NFORMS);
	add_forms_ip(t, "10.1.2.3", p, HP_PLAIN, HP_NFORMS);
}

void hp_table_allow_loopback(struct hp_table *t, const struct hp_env *e)
{
	uint16_t p = e->sink_port;
	struct tern_addr a;

	t->n = 0;
	add_relayed(t, e);
	add_open_v4(t, "127.0.0.1", p, false);
	add_open_v4(t, "127.0.0.5", p, false);
	add_v4(t, "127.255.255.254", p, true, true);
	add_v4(t, "127.255.255.255", p, true, false); /* lo's broadcast: not sent to */
	a = dh_addr("::1", p);
	add_delivered(t, &a, &a, "v6");
	/* next to 127.0.0.0/8 and ::1 */
	add_v4(t, "126.255.255.255", p, true, false); /* public */
	add_v4(t, "128.0.0.0", p, true, false);       /* public */
	add_forms_ip(t, "0.0.0.0", p, HP_PLAIN, HP_NFORMS);
	add_forms_ip(t, "0.255.255.255", p, HP_PLAIN, HP_NFORMS);
	a = dh_addr("::", p);
	add_denied(t, &a, "v6");
	a = dh_addr("::2", p);
	add_denied(t, &a, "v6");
	add_forms_ip(t, "10.0.0.1", p, HP_PLAIN, HP_NFORMS);
	add_forms_ip(t, "169.254.1.1", p, HP_PLAIN, HP_NFORMS);
	add_listeners(t, e);
}
