/*
 * policy.c - address ranges, IPv4-in-IPv6 embeddings and the peer policy
 * (DESIGN.md "Security model"; RFC 8656 §10.2, §11.2, §12.2 let a server
 * refuse peers, §21.1.4 and §21.2.2 say why it should).
 *
 * How tern_peer_allowed() decides, in this order:
 *  1. A family other than IPv4/IPv6, or port 0, is denied.
 *  2. Relay loops: a port equal to an own address's listening port is
 *     denied whenever the peer (in any form) is an own address (in any
 *     form). No allow range reopens it.
 *  3. Another client's relayed address on this server (an own address, as
 *     given or IPv4-mapped, with a port in relay_min_port..relay_max_port)
 *     is allowed: two clients of one server reaching each other through
 *     their relayed addresses is TURN's everyday case (both WebRTC peers
 *     on the same server), and it makes no loop: the datagram arrives at
 *     a relay socket, where the receiving client's permissions apply.
 *  4. Every form of the address is checked: as given and, when it embeds
 *     IPv4, that IPv4 address. A form is denied when it lies in the
 *     built-in table, in an operator deny range or is an own address, and
 *     no allow range (operator, or allow_loopback's 127.0.0.0/8 and ::1)
 *     covers it. The peer is allowed only if no form is denied.
 *
 * Allow ranges are matched per form, so opening an IPv6 translator prefix
 * (64:ff9b::/96, 2002::/16, ...) never opens the IPv4 addresses behind it
 * (the coturn bypasses CVE-2020-26262 and CVE-2026-27624 went the other
 * way round). One exception: an IPv4-mapped or -compatible address is only
 * another spelling of its IPv4 address, so its IPv6 form, denied by
 * default (relaying to it as IPv6 is never right), is also opened by an
 * allow range that covers the IPv4 address it spells.
 */
#include "tern_relay.h"

#include <string.h>

/* A prefix of the built-in tables: family, length in bits, leading bytes. */
struct policy_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

/*
 * The built-in deny list: the ranges of the IANA special-purpose registries
 * (RFC 6890) and the transition prefixes whose IPv6 form should not be
 * relayed to. An IPv4 address is also checked inside every IPv6 form that
 * embeds it (see embeddings[] below).
 */
static const struct policy_prefix denied[] = {
    /* RFC 1122 §3.2.1.3: "this" network; 0.0.0.0 is unspecified. */
    {TERN_AF_IPV4, 8, {0}},
    /* RFC 1918 §3: private networks. */
    {TERN_AF_IPV4, 8, {10}},
    {TERN_AF_IPV4, 12, {172, 16}},
    {TERN_AF_IPV4, 16, {192, 168}},
    /* RFC 6598: carrier-grade NAT shared space. */
    {TERN_AF_IPV4, 10, {100, 64}},
    /* RFC 1122 §3.2.1.3: loopback. */
    {TERN_AF_IPV4, 8, {127}},
    /* RFC 3927: link-local. */
    {TERN_AF_IPV4, 16, {169, 254}},
    /* RFC 6890 §2.2.2: IETF protocol assignments (DS-Lite, NAT64 discovery). */
    {TERN_AF_IPV4, 24, {192, 0, 0}},
    /* RFC 5737: TEST-NET-1, -2, -3. */
    {TERN_AF_IPV4, 24, {192, 0, 2}},
    {TERN_AF_IPV4, 24, {198, 51, 100}},
    {TERN_AF_IPV4, 24, {203, 0, 113}},
    /* RFC 7526: deprecated 6to4 relay anycast (RFC 3068). */
    {TERN_AF_IPV4, 24, {192, 88, 99}},
    /* RFC 2544: benchmarking. */
    {TERN_AF_IPV4, 15, {198, 18}},
    /* RFC 5771: multicast. */
    {TERN_AF_IPV4, 4, {224}},
    /* RFC 1112 §4: reserved; includes 255.255.255.255 (RFC 919 broadcast). */
    {TERN_AF_IPV4, 4, {240}},
    /* RFC 4291 §2.5.2, §2.5.3: unspecified and loopback (also inside ::/96
     * below; listed on their own as DESIGN.md lists them). */
    {TERN_AF_IPV6, 128, {0}},
    {TERN_AF_IPV6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    /* RFC 4291 §2.5.5.1, §2.5.5.2: IPv4-compatible and IPv4-mapped. */
    {TERN_AF_IPV6, 96, {0}},
    {TERN_AF_IPV6, 96, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}},
    /* RFC 6666: discard-only. */
    {TERN_AF_IPV6, 64, {0x01, 0x00}},
    /* RFC 4193: unique local. */
    {TERN_AF_IPV6, 7, {0xfc}},
    /* RFC 4291 §2.5.6: link-local; RFC 3879: deprecated site-local. */
    {TERN_AF_IPV6, 10, {0xfe, 0x80}},
    {TERN_AF_IPV6, 10, {0xfe, 0xc0}},
    /* RFC 4291 §2.7: multicast. */
    {TERN_AF_IPV6, 8, {0xff}},
    /* RFC 3849: documentation. */
    {TERN_AF_IPV6, 32, {0x20, 0x01, 0x0d, 0xb8}},
    /* RFC 6052 §2.1 well-known and RFC 8215 local-use NAT64 prefixes. */
    {TERN_AF_IPV6, 96, {0x00, 0x64, 0xff, 0x9b}},
    {TERN_AF_IPV6, 48, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}},
    /* RFC 4380: Teredo; RFC 3056: 6to4. Tunnels: RFC 8656 §21.4. */
    {TERN_AF_IPV6, 32, {0x20, 0x01, 0x00, 0x00}},
    {TERN_AF_IPV6, 16, {0x20, 0x02}},
};

/* What allow_loopback opens. */
static const struct policy_prefix loopback[] = {
    {TERN_AF_IPV4, 8, {127}},
    {TERN_AF_IPV6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
};

/*
 * Where each form keeps its IPv4 address (byte offsets into the IPv6
 * address; a..d are the IPv4 bytes, u the RFC 6052 reserved octet):
 *
 *   byte        0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 *   mapped      00 00 00 00 00 00 00 00 00 00 ff ff  a  b  c  d  RFC 4291 §2.5.5.2
 *   compat      00 00 00 00 00 00 00 00 00 00 00 00  a  b  c  d  RFC 4291 §2.5.5.1
 *   6to4        20 02  a  b  c  d  subnet, interface id ........  RFC 3056 §2
 *   NAT64 /96   00 64 ff 9b 00 00 00 00 00 00 00 00  a  b  c  d  RFC 6052 §2.2
 *   NAT64 /48   00 64 ff 9b 00 01  a  b  u  c  d  suffix .......  RFC 6052 §2.2, 8215
 *   Teredo      20 01 00 00  server v4  flags port  ~a ~b ~c ~d  RFC 4380 §4
 *
 * Teredo stores the client's port and IPv4 address inverted (XOR 0xff);
 * the server's address is not checked (the whole prefix is denied unless
 * opened). NAT64 /48 matches whatever the u octet and suffix hold: RFC 6052
 * says u is zero, but a peer address is attacker-chosen.
 */
struct embedding {
	enum tern_embed form;
	uint8_t prefix_len; /* bits */
	uint8_t prefix[12];
	uint8_t at[4];  /* offsets of the IPv4 bytes */
	uint8_t invert; /* XOR applied to each IPv4 byte */
};

static const struct embedding embeddings[] = {
    {TERN_EMBED_MAPPED, 96, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, {12, 13, 14, 15}, 0},
    {TERN_EMBED_COMPAT, 96, {0}, {12, 13, 14, 15}, 0},
    {TERN_EMBED_6TO4, 16, {0x20, 0x02}, {2, 3, 4, 5}, 0},
    {TERN_EMBED_NAT64, 96, {0x00, 0x64, 0xff, 0x9b}, {12, 13, 14, 15}, 0},
    {TERN_EMBED_NAT64, 48, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, {6, 7, 9, 10}, 0},
    {TERN_EMBED_TEREDO, 32, {0x20, 0x01, 0x00, 0x00}, {12, 13, 14, 15}, 0xff},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Address bytes a family uses; 0 for an unknown family. */
static size_t addr_len(uint8_t family)
{
	if (family == TERN_AF_IPV4)
		return 4;
	if (family == TERN_AF_IPV6)
		return 16;
	return 0;
}

/* The host bits (those after prefix_len) of address byte i. */
static uint8_t host_mask(unsigned prefix_len, size_t i)
{
	size_t first_bit = i * 8u;

	if (prefix_len >= first_bit + 8u)
		return 0;
	if (prefix_len <= first_bit)
		return 0xff;
	return (uint8_t)(0xffu >> (prefix_len - first_bit));
}

/* True when the first len bits of a and prefix agree. */
static bool prefix_match(const uint8_t *a, const uint8_t *prefix, unsigned len)
{
	for (size_t i = 0; i * 8u < len; i++) {
		if (((a[i] ^ prefix[i]) & ~host_mask(len, i)) != 0)
			return false;
	}
	return true;
}

static bool in_prefixes(const struct policy_prefix *t, size_t n, const struct tern_addr *a)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].family == a->family && prefix_match(a->addr, t[i].addr, t[i].len))
			return true;
	}
	return false;
}

int tern_addr_range_cidr(const struct tern_addr *base, unsigned prefix_len,
                         struct tern_addr_range *out)
{
	struct tern_addr_range r;
	size_t n;

	if (base == NULL || out == NULL)
		return TERN_ERR_INVALID_ARG;
	n = addr_len(base->family);
	if (n == 0 || prefix_len > n * 8u)
		return TERN_ERR_INVALID_ARG;
	memset(&r, 0, sizeof(r));
	r.lo.family = base->family;
	r.hi.family = base->family;
	for (size_t i = 0; i < n; i++) {
		uint8_t host = host_mask(prefix_len, i);

		r.lo.addr[i] = (uint8_t)(base->addr[i] & ~host);
		r.hi.addr[i] = (uint8_t)(base->addr[i] | host);
	}
	*out = r;
	return TERN_OK;
}

bool tern_addr_range_contains(const struct tern_addr_range *r, const struct tern_addr *addr)
{
	size_t n;

	if (r == NULL || addr == NULL)
		return false;
	n = addr_len(addr->family);
	if (n == 0 || r->lo.family != addr->family || r->hi.family != addr->family)
		return false;
	/* Network byte order: bytewise comparison is numeric comparison. */
	return memcmp(r->lo.addr, addr->addr, n) <= 0 && memcmp(addr->addr, r->hi.addr, n) <= 0;
}

/* :: and ::1 have the IPv4-compatible shape but are not IPv4 addresses. */
static bool unspecified_or_loopback(const uint8_t *a)
{
	return (a[12] | a[13] | a[14]) == 0 && a[15] <= 1;
}

enum tern_embed tern_addr_embedded_v4(const struct tern_addr *addr, struct tern_addr *v4)
{
	*v4 = *addr;
	if (addr->family != TERN_AF_IPV6)
		return TERN_EMBED_NONE;
	for (size_t i = 0; i < ARRAY_LEN(embeddings); i++) {
		const struct embedding *e = &embeddings[i];

		if (!prefix_match(addr->addr, e->prefix, e->prefix_len))
			continue;
		if (e->form == TERN_EMBED_COMPAT && unspecified_or_loopback(addr->addr))
			return TERN_EMBED_NONE;
		memset(v4->addr, 0, sizeof(v4->addr));
		v4->family = TERN_AF_IPV4;
		for (size_t j = 0; j < 4; j++)
			v4->addr[j] = (uint8_t)(addr->addr[e->at[j]] ^ e->invert);
		return e->form;
	}
	return TERN_EMBED_NONE;
}

static bool same_host(const struct tern_addr *a, const struct tern_addr *b)
{
	size_t n = addr_len(a->family);

	return n != 0 && a->family == b->family && memcmp(a->addr, b->addr, n) == 0;
}

/* True when form is the own address o, written as given or as its IPv4 form. */
static bool is_own_addr(const struct tern_addr *o, const struct tern_addr *form)
{
	struct tern_addr o4;

	if (same_host(form, o))
		return true;
	return tern_addr_embedded_v4(o, &o4) != TERN_EMBED_NONE && same_host(form, &o4);
}

static bool is_own(const struct tern_peer_policy *p, const struct tern_addr *form)
{
	for (size_t i = 0; p->own != NULL && i < p->n_own; i++) {
		if (is_own_addr(&p->own[i], form))
			return true;
	}
	return false;
}

/*
 * RFC 8656 §21.1.7: a peer that is one of our own listening sockets would
 * make the server relay to itself. Allow ranges never open it.
 */
static bool loops_back(const struct tern_peer_policy *p, const struct tern_addr *form)
{
	for (size_t i = 0; p->own != NULL && i < p->n_own; i++) {
		if (form->port == p->own[i].port && is_own_addr(&p->own[i], form))
			return true;
	}
	return false;
}

/* A relayed transport address of this server: another client's allocation. */
static bool own_relayed(const struct tern_peer_policy *p, const struct tern_addr *form)
{
	return p->relay_min_port != 0 && form->port >= p->relay_min_port &&
	       form->port <= p->relay_max_port && is_own(p, form);
}

static bool in_ranges(const struct tern_addr_range *r, size_t n, const struct tern_addr *a)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		if (tern_addr_range_contains(&r[i], a))
			return true;
	}
	return false;
}

static bool opened(const struct tern_peer_policy *p, const struct tern_addr *a)
{
	if (p->allow_loopback && in_prefixes(loopback, ARRAY_LEN(loopback), a))
		return true;
	return in_ranges(p->allow, p->n_allow, a);
}

/*
 * One form of the peer. spelled is the IPv4 address a mapped or compatible
 * form is another spelling of (an allow range for it opens this form too),
 * or NULL.
 */
static bool form_denied(const struct tern_peer_policy *p, const struct tern_addr *form,
                        const struct tern_addr *spelled)
{
	if (!in_prefixes(denied, ARRAY_LEN(denied), form) && !in_ranges(p->deny, p->n_deny, form) &&
	    !is_own(p, form))
		return false;
	if (opened(p, form))
		return false;
	return spelled == NULL || !opened(p, spelled);
}

bool tern_peer_allowed(const struct tern_peer_policy *p, const struct tern_addr *peer)
{
	struct tern_addr v4;
	enum tern_embed form;
	const struct tern_addr *spelled;

	if (p == NULL || peer == NULL || addr_len(peer->family) == 0)
		return false;
	/* RFC 6335 §6: port 0 is reserved; nothing can be sent to it. */
	if (peer->port == 0)
		return false;
	form = tern_addr_embedded_v4(peer, &v4);
	if (loops_back(p, peer) || (form != TERN_EMBED_NONE && loops_back(p, &v4)))
		return false;
	spelled = form == TERN_EMBED_MAPPED || form == TERN_EMBED_COMPAT ? &v4 : NULL;
	/* plain and IPv4-mapped/-compatible spellings only: tunnels route elsewhere */
	if (own_relayed(p, form == TERN_EMBED_NONE ? peer : &v4) &&
	    (form == TERN_EMBED_NONE || spelled != NULL))
		return true;
	if (form == TERN_EMBED_NONE)
		return !form_denied(p, peer, NULL);
	return !form_denied(p, peer, spelled) && !form_denied(p, &v4, NULL);
}
