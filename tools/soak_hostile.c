/*
 * soak_hostile.c - tern-soak's hostile traffic, mixed in with the valid
 * load at a fixed rate: garbage datagrams, truncated requests, requests
 * with a wrong MESSAGE-INTEGRITY, unauthenticated Allocate and Binding
 * floods from many 127.x.y.z sources, ChannelData on unbound channels,
 * Send indications to denied peers, datagrams from peers without a
 * permission, and CreatePermission to denied peers (which must get 403).
 * None of it may disturb a valid stream; what ternd relays of it shows up
 * in the end check against its metrics.
 */
#define _GNU_SOURCE
#include "soak.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOD_SOCKETS 32u
#define BURST_MAX     64u
#define KINDS         9u
#define PROBE_EVERY   97u /* one CreatePermission probe per this many hostile datagrams */

struct soak_hostile {
	int flood[FLOOD_SOCKETS];
	int stranger; /* a peer (127.0.3.1) with no permission anywhere */
	double next;  /* ms */
	unsigned turn;
};

/* Peers ternd must never relay to (DESIGN.md "Security model"), even with loopback allowed. */
static struct tern_addr denied_peer(struct soak *s)
{
	static const uint32_t ips[] = {
	    0x0A000001u, /* 10.0.0.1 */
	    0xC0A80101u, /* 192.168.1.1 */
	    0x00000000u, /* 0.0.0.0 */
	    0xE0000001u, /* 224.0.0.1 */
	    0xA9FE0101u, /* 169.254.1.1 */
	    0x64400001u, /* 100.64.0.1 */
	    0xFFFFFFFFu, /* 255.255.255.255 */
	    0xC6120001u, /* 198.18.0.1 */
	    0xAC100001u, /* 172.16.0.1 */
	};
	uint64_t r = soak_rand(s) % (sizeof(ips) / sizeof(ips[0]) + 1);

	/* the server's own listener: a relay loop, refused even for loopback peers */
	if (r == sizeof(ips) / sizeof(ips[0]))
		return soak_ipv4(ntohl(s->o.server.sin_addr.s_addr), ntohs(s->o.server.sin_port));
	return soak_ipv4(ips[r], (uint16_t)(1024 + soak_rand(s) % 60000));
}

/* A source in 127.100.0.0 - 127.254.255.255, away from the valid clients. */
static int flood_socket(struct soak *s)
{
	uint32_t ip = 0x7F000000u | (uint32_t)(100 + soak_rand(s) % 155) << 16 |
	              (uint32_t)(soak_rand(s) % 256) << 8 | (uint32_t)(1 + soak_rand(s) % 254);
	int fd = soak_udp_socket(ip);

	if (fd >= 0 &&
	    connect(fd, (const struct sockaddr *)&s->o.server, sizeof(s->o.server)) != 0) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		s->st.hostile_sources++;
	return fd;
}

struct soak_hostile *soak_hostile_new(struct soak *s)
{
	struct soak_hostile *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	for (unsigned i = 0; i < FLOOD_SOCKETS; i++)
		h->flood[i] = flood_socket(s);
	/* permissions are per IP address (RFC 8656 §9): not the peers' 127.0.0.1 */
	h->stranger = soak_udp_socket(0x7F000301u);
	h->next = (double)soak_now_ms();
	return h;
}

void soak_hostile_free(struct soak_hostile *h)
{
	if (h == NULL)
		return;
	for (unsigned i = 0; i < FLOOD_SOCKETS; i++) {
		if (h->flood[i] >= 0)
			close(h->flood[i]);
	}
	if (h->stranger >= 0)
		close(h->stranger);
	free(h);
}

/* A request of method; with wrong_key, with long-term attributes and a MAC under a wrong key. */
static size_t request(struct soak *s, uint16_t method, bool wrong_key, uint8_t *buf, size_t cap)
{
	struct tern_stun_builder b;
	uint8_t txid[TERN_STUN_TXID_LEN];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(txid); i++)
		txid[i] = (uint8_t)soak_rand(s);
	if (tern_stun_build_start(&b, buf, cap, tern_stun_type(method, TERN_STUN_REQUEST), txid) !=
	    TERN_OK)
		return 0;
	if (method == TERN_TURN_ALLOCATE)
		tern_stun_add_u8(&b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	if (wrong_key) {
		uint8_t key[16], nonce[36];

		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)soak_rand(s);
		for (size_t i = 0; i < sizeof(nonce); i++)
			nonce[i] = (uint8_t)('a' + soak_rand(s) % 26);
		tern_stun_add_string(&b, TERN_ATTR_USERNAME, s->o.user, strlen(s->o.user));
		tern_stun_add_string(&b, TERN_ATTR_REALM, s->realm, s->realm_len);
		tern_stun_add_string(&b, TERN_ATTR_NONCE, nonce, sizeof(nonce));
		tern_stun_add_integrity(&b, key, sizeof(key));
	}
	tern_stun_add_fingerprint(&b);
	if (tern_stun_build_finish(&b, &len) != TERN_OK)
		return 0;
	return len;
}

/* Something to send from a flood source, by kind. */
static size_t flood_datagram(struct soak *s, unsigned kind, uint8_t *buf, size_t cap)
{
	size_t n;

	switch (kind) {
	case 0: /* garbage */
		n = 1 + soak_rand(s) % 548;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)soak_rand(s);
		return n;
	case 1: /* a request cut short, or with its Length field off */
		n = request(s, TERN_TURN_ALLOCATE, false, buf, cap);
		if (n > 1 && soak_rand(s) % 2)
			return 1 + soak_rand(s) % (n - 1);
		buf[3] = (uint8_t)(buf[3] + 4);
		return n;
	case 2: /* wrong MESSAGE-INTEGRITY */
		return request(s, TERN_TURN_ALLOCATE, true, buf, cap);
	case 3: /* unauthenticated Allocate */
		return request(s, TERN_TURN_ALLOCATE, false, buf, cap);
	case 4: /* Binding */
		return request(s, TERN_STUN_BINDING, false, buf, cap);
	default: /* ChannelData from a source with no allocation */
		n = 4 + soak_rand(s) % 200;
		memset(buf, 0x55, n);
		tern_channel_data_header(buf, 0x4000, (uint16_t)(n - 4));
		return n;
	}
}

/* Hostile traffic riding on a valid flow's 5-tuple, or at its relayed address. */
static void flow_abuse(struct soak *s, struct soak_hostile *h, struct soak_flows *f, unsigned kind)
{
	uint8_t buf[256], txid[TERN_STUN_TXID_LEN];
	struct tern_stun_builder b;
	struct tern_addr relayed, peer = denied_peer(s);
	struct sockaddr_in to;
	size_t n = 0;
	int fd;

	if (!soak_flows_pick(s, f, &fd, &relayed))
		return;
	if (kind == 6) { /* ChannelData on a channel the flow never bound */
		memset(buf, 0xAA, 68);
		tern_channel_data_header(buf, 0x4FFF, 64);
		n = 68;
	} else if (kind == 7) { /* Send indication to a denied peer */
		for (size_t i = 0; i < sizeof(txid); i++)
			txid[i] = (uint8_t)soak_rand(s);
		if (tern_stun_build_start(&b, buf, sizeof(buf),
		                          tern_stun_type(TERN_TURN_SEND, TERN_STUN_INDICATION),
		                          txid) != TERN_OK)
			return;
		tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, &peer);
		tern_stun_add_raw(&b, TERN_ATTR_DATA, "denied", 6);
		tern_stun_add_fingerprint(&b);
		if (tern_stun_build_finish(&b, &n) != TERN_OK)
			return;
	} else { /* a peer without a permission writes to the relayed address */
		soak_to_sin(&relayed, &to);
		if (sendto(h->stranger, "stranger", 8, 0, (struct sockaddr *)&to, sizeof(to)) == 8)
			s->st.hostile++;
		return;
	}
	if (send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n)
		s->st.hostile++;
}

static void drain(struct soak *s, struct soak_hostile *h)
{
	uint8_t buf[SOAK_PKT_MAX];

	for (unsigned i = 0; i < FLOOD_SOCKETS; i++) {
		while (h->flood[i] >= 0 && recv(h->flood[i], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			s->st.hostile_answers++;
	}
	while (recv(h->stranger, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		s->st.unexpected++;
}

static void one(struct soak *s, struct soak_hostile *h, struct soak_flows *f)
{
	uint8_t buf[SOAK_PKT_MAX];
	unsigned kind = h->turn++ % KINDS;
	unsigned k = (unsigned)(soak_rand(s) % FLOOD_SOCKETS);
	size_t n;

	if (h->turn % PROBE_EVERY == 0) {
		struct tern_addr peer = denied_peer(s);

		soak_flows_deny_probe(s, f, &peer);
	}
	if (kind >= 6) {
		flow_abuse(s, h, f, kind);
		return;
	}
	if (h->flood[k] < 0)
		return;
	n = flood_datagram(s, kind, buf, sizeof(buf));
	if (n > 0 && send(h->flood[k], buf, n, MSG_NOSIGNAL) == (ssize_t)n)
		s->st.hostile++;
}

void soak_hostile_tick(struct soak *s, struct soak_hostile *h, struct soak_flows *f, uint64_t now)
{
	double gap = s->o.hostile_rate > 0 ? 1000.0 / s->o.hostile_rate : 0;

	drain(s, h);
	for (unsigned i = 0; gap > 0 && i < BURST_MAX && h->next <= (double)now; i++) {
		one(s, h, f);
		h->next += gap;
		/* now and then a flood source is replaced by a new address */
		if (h->turn % 16 == 0) {
			unsigned k = (unsigned)(soak_rand(s) % FLOOD_SOCKETS);

			if (h->flood[k] >= 0)
				close(h->flood[k]);
			h->flood[k] = flood_socket(s);
		}
	}
	if (h->next + 1000.0 < (double)now)
		h->next = (double)now;
}
