/*
 * diff_client.c - carries out one tern-diff step against one server: builds
 * the request, indication or ChannelData with the codec, sends it from the
 * session's client (UDP, or TCP with stream reframing) or peer, and
 * classifies what comes back: a response's class and ERROR-CODE, a Data
 * indication or ChannelData, a datagram at the peer, silence, or a closed
 * connection. Nothing here compares servers; tern_diff.c does.
 */
#define _GNU_SOURCE
#include "diff.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define BOGUS_TOKEN 0x0102030405060708u

void diff_ctx_init(struct diff_ctx *x, const struct diff_server *s, const struct diff_config *c,
                   const char *source_ip, bool tcp)
{
	memset(x, 0, sizeof(*x));
	x->server = s;
	x->cfg = c;
	x->source_ip = source_ip;
	for (unsigned i = 0; i < DIFF_CLIENTS; i++) {
		x->clients[i].fd = -1;
		x->clients[i].tcp = tcp;
	}
	for (unsigned i = 0; i < DIFF_PEERS; i++)
		x->peer_fd[i] = -1;
}

void diff_ctx_free(struct diff_ctx *x)
{
	for (unsigned i = 0; i < DIFF_CLIENTS; i++)
		if (x->clients[i].fd >= 0)
			close(x->clients[i].fd);
	for (unsigned i = 0; i < DIFF_PEERS; i++)
		if (x->peer_fd[i] >= 0)
			close(x->peer_fd[i]);
}

static void fail(struct diff_outcome *o, const char *why)
{
	o->cls = DIFF_OUT_FAILED;
	o->code = 0;
	snprintf(o->detail, sizeof(o->detail), "%s", why);
}

static struct diff_client *client_of(struct diff_ctx *x, const struct diff_step *st)
{
	struct diff_client *c = &x->clients[st->client];

	if (c->fd < 0 && !c->closed)
		c->fd = diff_connect(x->server->ip, x->server->port, x->source_ip, c->tcp);
	return c->fd >= 0 ? c : NULL;
}

/* The peer's address for this server (opening the peer socket on first use). */
static bool peer_addr(struct diff_ctx *x, const struct diff_peer_ref *p, struct tern_addr *a)
{
	if (p->kind == DIFF_PEER_LITERAL) {
		*a = p->addr;
		return true;
	}
	if (p->kind != DIFF_PEER_LOCAL)
		return false;
	if (x->peer_fd[p->index] < 0)
		x->peer_fd[p->index] = diff_udp_open("127.0.0.1", &x->peer_addr[p->index]);
	*a = x->peer_addr[p->index];
	return x->peer_fd[p->index] >= 0;
}

/* ------------------------------------------------------------ building */

static void add_auth(struct diff_ctx *x, struct diff_client *c, const struct diff_step *st,
                     struct tern_stun_builder *b)
{
	const char *user = st->auth == DIFF_AUTH_BADUSER ? "nobody"
	                   : st->auth == DIFF_AUTH_OTHER ? x->cfg->user2
	                                                 : x->cfg->user;
	const char *pw = st->auth == DIFF_AUTH_BADPW   ? "wrong-password"
	                 : st->auth == DIFF_AUTH_OTHER ? x->cfg->password2
	                                               : x->cfg->password;
	const char *realm = c->realm[0] != '\0' ? c->realm : x->cfg->realm;
	uint8_t nonce[sizeof(c->nonce)], key[TERN_KEY_MAX];
	size_t nonce_len = c->nonce_len, key_len = 0;
	bool sha256 = st->auth == DIFF_AUTH_SHA256;

	memcpy(nonce, c->nonce, nonce_len);
	if (st->auth == DIFF_AUTH_BADNONCE) {
		if (nonce_len == 0)
			nonce[nonce_len++] = 'x';
		else
			nonce[nonce_len - 1] = nonce[nonce_len - 1] == 'A' ? 'B' : 'A';
	}
	if (sha256) {
		struct tern_password_alg_entry alg = {TERN_PWALG_SHA256, 0, NULL};

		/* RFC 8489 §9.2.4: the 401's PASSWORD-ALGORITHMS echoed, then the choice */
		if (c->pwalgs_len != 0)
			tern_stun_add_raw(b, TERN_ATTR_PASSWORD_ALGORITHMS, c->pwalgs,
			                  c->pwalgs_len);
		tern_stun_add_password_algorithm(b, &alg);
	}
	tern_stun_add_string(b, TERN_ATTR_USERNAME, user, strlen(user));
	if (st->auth != DIFF_AUTH_NOREALM)
		tern_stun_add_string(b, TERN_ATTR_REALM, realm, strlen(realm));
	tern_stun_add_string(b, TERN_ATTR_NONCE, nonce, nonce_len);
	if (st->auth == DIFF_AUTH_NOMI)
		return;
	if (tern_stun_long_term_key(sha256 ? TERN_PWALG_SHA256 : TERN_PWALG_MD5, user, strlen(user),
	                            realm, strlen(realm), pw, strlen(pw), key, &key_len) != TERN_OK)
		return;
	if (sha256)
		tern_stun_add_integrity_sha256(b, key, key_len, 32);
	else
		tern_stun_add_integrity(b, key, key_len);
}

static void add_attrs(struct diff_ctx *x, const struct diff_step *st, struct tern_stun_builder *b)
{
	struct tern_addr peer;

	if (st->transport >= 0)
		tern_stun_add_u8(b, TERN_ATTR_REQUESTED_TRANSPORT, (uint8_t)st->transport);
	if (st->family >= 0)
		tern_stun_add_u8(b, TERN_ATTR_REQUESTED_ADDRESS_FAMILY, (uint8_t)st->family);
	if (st->add_family >= 0)
		tern_stun_add_u8(b, TERN_ATTR_ADDITIONAL_ADDRESS_FAMILY, (uint8_t)st->add_family);
	if (st->even_port >= 0)
		tern_stun_add_even_port(b, st->even_port != 0);
	if (st->token == DIFF_TOKEN_LAST)
		tern_stun_add_u64(b, TERN_ATTR_RESERVATION_TOKEN, x->token);
	else if (st->token == DIFF_TOKEN_BOGUS)
		tern_stun_add_u64(b, TERN_ATTR_RESERVATION_TOKEN, BOGUS_TOKEN);
	if (st->lifetime >= 0)
		tern_stun_add_u32(b, TERN_ATTR_LIFETIME, (uint32_t)st->lifetime);
	if (st->channel >= 0)
		tern_stun_add_u16(b, TERN_ATTR_CHANNEL_NUMBER, (uint16_t)st->channel);
	if (peer_addr(x, &st->peer, &peer))
		tern_stun_add_xor_address(b, TERN_ATTR_XOR_PEER_ADDRESS, &peer);
	if (st->action == DIFF_ACT_SEND || (st->action == DIFF_ACT_INDICATION && st->data[0]))
		tern_stun_add_raw(b, TERN_ATTR_DATA, st->data, strlen(st->data));
	if (st->dont_fragment)
		tern_stun_add_raw(b, TERN_ATTR_DONT_FRAGMENT, NULL, 0);
	if (st->unknown_attr != 0)
		tern_stun_add_u32(b, st->unknown_attr, 0);
}

/* Damage a built message as the step asks (RFC 8489 §6.3 cases). */
static size_t mangle(const struct diff_step *st, uint8_t *buf, size_t len)
{
	switch (st->mangle) {
	case DIFF_MANGLE_NONE:
		break;
	case DIFF_MANGLE_LENGTH: {
		size_t body = len - TERN_STUN_HEADER_LEN + 4;

		buf[2] = (uint8_t)(body >> 8);
		buf[3] = (uint8_t)body;
		break;
	}
	case DIFF_MANGLE_MAGIC:
		buf[4] ^= 0x55;
		break;
	case DIFF_MANGLE_SHORT:
		return len < 16 ? len : 16;
	case DIFF_MANGLE_FINGERPRINT:
		buf[len - 1] ^= 0x01;
		break;
	case DIFF_MANGLE_TOPBITS:
		buf[0] |= 0xC0;
		break;
	case DIFF_MANGLE_ATTRLEN:
		if (len >= TERN_STUN_HEADER_LEN + 4) {
			buf[TERN_STUN_HEADER_LEN + 2] = 0x01;
			buf[TERN_STUN_HEADER_LEN + 3] = 0x00;
		}
		break;
	}
	return len;
}

static bool build(struct diff_ctx *x, struct diff_client *c, const struct diff_step *st,
                  const uint8_t *txid, uint8_t *buf, size_t *len)
{
	enum tern_stun_class cls =
	    st->action == DIFF_ACT_REQUEST ? TERN_STUN_REQUEST : TERN_STUN_INDICATION;
	uint16_t method = st->action == DIFF_ACT_SEND ? TERN_TURN_SEND : st->method;
	struct tern_stun_builder b;

	if (tern_stun_build_start(&b, buf, DIFF_MSG_CAP, tern_stun_type(method, cls), txid) !=
	    TERN_OK)
		return false;
	add_attrs(x, st, &b);
	if (st->auth != DIFF_AUTH_NONE)
		add_auth(x, c, st, &b);
	if (st->fingerprint || st->mangle == DIFF_MANGLE_FINGERPRINT)
		tern_stun_add_fingerprint(&b);
	if (tern_stun_build_finish(&b, len) != TERN_OK)
		return false;
	*len = mangle(st, buf, *len);
	return true;
}

/* ------------------------------------------------------------- acting */

static bool client_send(struct diff_client *c, const uint8_t *buf, size_t len)
{
	for (int i = 0; i < 2; i++) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n == (ssize_t)len)
			return true;
		/* UDP: an ICMP error of an earlier datagram may surface once */
	}
	return false;
}

static void act_message(struct diff_ctx *x, struct diff_client *c, const struct diff_step *st,
                        uint8_t *txid, struct diff_outcome *o)
{
	uint8_t buf[DIFF_MSG_CAP];
	size_t len = 0;

	if (st->action == DIFF_ACT_RETRANSMIT) {
		if (c->last_len == 0) {
			fail(o, "nothing to retransmit");
			return;
		}
		memcpy(txid, c->last_txid, TERN_STUN_TXID_LEN);
		if (!client_send(c, c->last, c->last_len))
			fail(o, "send failed");
		return;
	}
	if (!build(x, c, st, txid, buf, &len)) {
		fail(o, "cannot build the message");
		return;
	}
	memcpy(c->last, buf, len);
	c->last_len = len;
	memcpy(c->last_txid, txid, TERN_STUN_TXID_LEN);
	if (!client_send(c, buf, len))
		fail(o, "send failed");
}

static void act_channel(struct diff_client *c, const struct diff_step *st, struct diff_outcome *o)
{
	uint8_t buf[DIFF_MSG_CAP];
	size_t n = 0;

	if (tern_channel_data_build(buf, sizeof(buf), (uint16_t)st->channel, st->data,
	                            strlen(st->data), c->tcp, &n) != TERN_OK)
		fail(o, "cannot build ChannelData");
	else if (!client_send(c, buf, n))
		fail(o, "send failed");
}

void diff_step_act(struct diff_ctx *x, const struct diff_step *st, uint8_t *txid,
                   struct diff_outcome *o)
{
	struct diff_client *c = client_of(x, st);
	struct tern_addr peer;

	memset(o, 0, sizeof(*o));
	if (getrandom(txid, TERN_STUN_TXID_LEN, 0) != (ssize_t)TERN_STUN_TXID_LEN) {
		fail(o, "getrandom");
		return;
	}
	if (c == NULL && x->clients[st->client].closed) {
		o->cls = DIFF_OUT_CLOSED; /* an earlier step's server closed it */
		return;
	}
	if (c == NULL) {
		fail(o, "cannot connect");
		return;
	}
	switch (st->action) {
	case DIFF_ACT_REQUEST:
	case DIFF_ACT_RETRANSMIT:
	case DIFF_ACT_INDICATION:
	case DIFF_ACT_SEND:
		act_message(x, c, st, txid, o);
		break;
	case DIFF_ACT_CHANNEL:
		act_channel(c, st, o);
		break;
	case DIFF_ACT_PEER_SEND:
		if (!c->have_relayed || !peer_addr(x, &st->peer, &peer))
			fail(o, "no relayed address");
		else if (!diff_sendto(x->peer_fd[st->peer.index], &c->relayed, st->data,
		                      strlen(st->data)))
			fail(o, "peer send failed");
		break;
	}
}

/* ---------------------------------------------------------- receiving */

/* Next frame from the server (datagram, or reframed TCP); -1 none, -2 closed. */
static long client_recv(struct diff_client *c, uint8_t *buf, size_t cap, uint64_t end)
{
	for (;;) {
		uint64_t now = diff_now_ms();
		struct pollfd p = {c->fd, POLLIN, 0};
		size_t need = 0;
		ssize_t n;

		if (c->tcp && c->in_len >= 4) {
			if (tern_stream_frame_len(c->in, c->in_len, &need) != TERN_OK ||
			    need > sizeof(c->in))
				return -2;
			if (need <= c->in_len && need <= cap) {
				memcpy(buf, c->in, need);
				memmove(c->in, c->in + need, c->in_len - need);
				c->in_len -= need;
				return (long)need;
			}
		}
		if (poll(&p, 1, now >= end ? 0 : (int)(end - now)) <= 0)
			return -1;
		if (!c->tcp) {
			n = recv(c->fd, buf, cap, MSG_DONTWAIT);
			if (n >= 0)
				return (long)n;
			continue; /* ECONNREFUSED from an earlier datagram */
		}
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n <= 0)
			return -2;
		c->in_len += (size_t)n;
	}
}

static void keep_auth_state(struct diff_client *c, const struct tern_stun_msg *m)
{
	const struct tern_attr *a;
	const uint8_t *s;
	size_t n;

	if ((a = tern_stun_find(m, TERN_ATTR_NONCE)) != NULL &&
	    tern_attr_get_string(a, &s, &n) == TERN_OK && n <= sizeof(c->nonce)) {
		memcpy(c->nonce, s, n);
		c->nonce_len = n;
	}
	if ((a = tern_stun_find(m, TERN_ATTR_PASSWORD_ALGORITHMS)) != NULL &&
	    a->len <= sizeof(c->pwalgs)) {
		memcpy(c->pwalgs, a->value, a->len);
		c->pwalgs_len = a->len;
	}
	if ((a = tern_stun_find(m, TERN_ATTR_REALM)) != NULL &&
	    tern_attr_get_string(a, &s, &n) == TERN_OK && n < sizeof(c->realm)) {
		memcpy(c->realm, s, n);
		c->realm[n] = '\0';
	}
}

static void append(struct diff_outcome *o, const char *text)
{
	size_t used = strlen(o->detail);

	snprintf(o->detail + used, sizeof(o->detail) - used, "%s%s", used != 0 ? " " : "", text);
}

/* The details a step asked to see, from a response. */
static void show_details(struct diff_ctx *x, struct diff_client *c, const struct diff_step *st,
                         const struct tern_stun_msg *m, struct diff_outcome *o)
{
	const struct tern_attr *a;
	char tmp[64];
	uint32_t u32;
	uint64_t u64;
	bool relayed;

	a = tern_stun_find(m, TERN_ATTR_XOR_RELAYED_ADDRESS);
	relayed = a != NULL && tern_attr_get_xor_address(a, m->txid, &c->relayed) == TERN_OK;
	c->have_relayed = c->have_relayed || relayed;
	/* RFC 8656 §7.3: a success response to Allocate carries the relayed address */
	if (m->method == TERN_TURN_ALLOCATE && o->cls == DIFF_OUT_SUCCESS && !relayed)
		append(o, "no-relayed-address");
	if (relayed && c->relayed.port == 0)
		append(o, "relayed-port-0");
	if ((a = tern_stun_find(m, TERN_ATTR_RESERVATION_TOKEN)) != NULL &&
	    tern_attr_get_u64(a, &u64) == TERN_OK)
		x->token = u64;
	if ((st->show & DIFF_SHOW_LIFETIME) != 0) {
		a = tern_stun_find(m, TERN_ATTR_LIFETIME);
		if (a != NULL && tern_attr_get_u32(a, &u32) == TERN_OK)
			snprintf(tmp, sizeof(tmp), "lifetime=%u", u32);
		else
			snprintf(tmp, sizeof(tmp), "no-lifetime");
		append(o, tmp);
	}
	if ((st->show & DIFF_SHOW_TOKEN) != 0)
		append(o, tern_stun_find(m, TERN_ATTR_RESERVATION_TOKEN) ? "token" : "no-token");
	if ((st->show & DIFF_SHOW_PARITY) != 0 && o->cls == DIFF_OUT_SUCCESS && relayed)
		append(o, c->relayed.port % 2 == 0 ? "even-port" : "odd-port");
	if ((st->show & DIFF_SHOW_ADDRERR) != 0) {
		struct tern_error_code ec = {0};
		uint8_t fam = 0;

		a = tern_stun_find(m, TERN_ATTR_ADDRESS_ERROR_CODE);
		if (a != NULL && tern_attr_get_address_error_code(a, &fam, &ec) == TERN_OK)
			snprintf(tmp, sizeof(tmp), "address-error=%u", ec.code);
		else
			snprintf(tmp, sizeof(tmp), "no-address-error");
		append(o, tmp);
	}
	if ((st->show & DIFF_SHOW_UNKNOWN) != 0) {
		uint16_t types[4];
		size_t n = 0;

		a = tern_stun_find(m, TERN_ATTR_UNKNOWN_ATTRIBUTES);
		if (a != NULL && tern_attr_get_unknown_attributes(a, types, 4, &n) == TERN_OK &&
		    n > 0)
			snprintf(tmp, sizeof(tmp), "unknown=0x%04x", types[0]);
		else
			snprintf(tmp, sizeof(tmp), "no-unknown-attributes");
		append(o, tmp);
	}
}

/* true when buf is the response to txid; *o classified. */
static bool classify_response(struct diff_ctx *x, struct diff_client *c, const struct diff_step *st,
                              const uint8_t *txid, const uint8_t *buf, size_t len,
                              struct diff_outcome *o)
{
	struct tern_stun_msg m;
	const struct tern_attr *a;
	struct tern_error_code ec;

	if (tern_demux(buf, len) != TERN_DEMUX_STUN || tern_stun_parse(buf, len, &m) != TERN_OK ||
	    (m.cls != TERN_STUN_SUCCESS && m.cls != TERN_STUN_ERROR) ||
	    memcmp(m.txid, txid, TERN_STUN_TXID_LEN) != 0)
		return false;
	keep_auth_state(c, &m);
	o->cls = m.cls == TERN_STUN_SUCCESS ? DIFF_OUT_SUCCESS : DIFF_OUT_ERROR;
	if (m.cls == TERN_STUN_ERROR) {
		a = tern_stun_find(&m, TERN_ATTR_ERROR_CODE);
		if (a != NULL && tern_attr_get_error_code(a, &ec) == TERN_OK)
			o->code = ec.code;
		else
			append(o, "no-error-code");
	}
	if (m.method != (st->action == DIFF_ACT_RETRANSMIT ? m.method : st->method))
		append(o, "wrong-method");
	show_details(x, c, st, &m, o);
	return true;
}

/* Relayed data at the client: a Data indication or ChannelData. */
static bool classify_data(const struct diff_step *st, const struct tern_addr *peer,
                          const uint8_t *buf, size_t len, struct diff_outcome *o)
{
	struct tern_stun_msg m;
	struct tern_channel_data cd;
	const struct tern_attr *d, *p;
	struct tern_addr from;
	size_t n = strlen(st->data);

	if (tern_channel_data_parse(buf, len, false, &cd) == TERN_OK ||
	    tern_channel_data_parse(buf, len, true, &cd) == TERN_OK) {
		o->cls = DIFF_OUT_CHANNEL;
		snprintf(o->detail, sizeof(o->detail), "0x%04x", cd.channel);
		if (cd.len != n || memcmp(cd.data, st->data, n) != 0)
			append(o, "bad-payload");
		return true;
	}
	if (tern_stun_parse(buf, len, &m) != TERN_OK || m.method != TERN_TURN_DATA ||
	    m.cls != TERN_STUN_INDICATION)
		return false;
	o->cls = DIFF_OUT_INDICATION;
	d = tern_stun_find(&m, TERN_ATTR_DATA);
	p = tern_stun_find(&m, TERN_ATTR_XOR_PEER_ADDRESS);
	if (d == NULL || d->len != n || memcmp(d->value, st->data, n) != 0)
		append(o, "bad-payload");
	if (p == NULL || tern_attr_get_xor_address(p, m.txid, &from) != TERN_OK ||
	    from.port != peer->port || memcmp(from.addr, peer->addr, 4) != 0)
		append(o, "wrong-peer");
	return true;
}

/* Frames at the client until one matches the step, or end. */
static void observe_client(struct diff_ctx *x, struct diff_client *c, const struct diff_step *st,
                           const uint8_t *txid, uint64_t end, struct diff_outcome *o)
{
	uint8_t buf[DIFF_MSG_CAP];
	struct tern_addr peer = {0};
	long n;

	if (st->action == DIFF_ACT_PEER_SEND)
		(void)peer_addr(x, &st->peer, &peer);
	while ((n = client_recv(c, buf, sizeof(buf), end)) >= 0) {
		if (st->action == DIFF_ACT_PEER_SEND) {
			if (classify_data(st, &peer, buf, (size_t)n, o))
				return;
		} else if (classify_response(x, c, st, txid, buf, (size_t)n, o)) {
			return;
		}
	}
	if (n == -2) {
		o->cls = DIFF_OUT_CLOSED;
		c->closed = true;
		close(c->fd);
		c->fd = -1;
	}
}

/* What the peer received from the relay. */
static void observe_peer(struct diff_ctx *x, const struct diff_step *st, uint64_t end,
                         struct diff_outcome *o)
{
	uint8_t buf[DIFF_MSG_CAP];
	uint64_t now = diff_now_ms();
	size_t n = strlen(st->data);
	long got;

	if (st->peer.kind != DIFF_PEER_LOCAL || x->peer_fd[st->peer.index] < 0)
		return; /* a literal peer: nothing to watch */
	got = diff_recvfrom(x->peer_fd[st->peer.index], NULL, buf, sizeof(buf),
	                    now >= end ? 0 : (int)(end - now));
	if (got < 0)
		return;
	o->cls = DIFF_OUT_DELIVERED;
	if ((size_t)got != n || memcmp(buf, st->data, n) != 0)
		append(o, "bad-payload");
}

void diff_step_observe(struct diff_ctx *x, const struct diff_step *st, const uint8_t *txid,
                       uint64_t end_ms, struct diff_outcome *o)
{
	struct diff_client *c = &x->clients[st->client];

	if (o->cls == DIFF_OUT_FAILED || o->cls == DIFF_OUT_CLOSED)
		return;
	o->cls = DIFF_OUT_NONE;
	if (st->action == DIFF_ACT_SEND || st->action == DIFF_ACT_CHANNEL)
		observe_peer(x, st, end_ms, o);
	else if (c->fd >= 0)
		observe_client(x, c, st, txid, end_ms, o);
}

void diff_outcome_str(const struct diff_outcome *o, char *buf, size_t cap)
{
	static const char *const names[] = {
	    [DIFF_OUT_NONE] = "none",
	    [DIFF_OUT_SUCCESS] = "success",
	    [DIFF_OUT_ERROR] = "error",
	    [DIFF_OUT_INDICATION] = "data-indication",
	    [DIFF_OUT_CHANNEL] = "channel-data",
	    [DIFF_OUT_DELIVERED] = "delivered",
	    [DIFF_OUT_CLOSED] = "closed",
	    [DIFF_OUT_FAILED] = "failed",
	};
	char code[8] = "";

	if (o->cls == DIFF_OUT_ERROR && o->code != 0)
		snprintf(code, sizeof(code), " %u", o->code);
	snprintf(buf, cap, "%s%s%s%s", names[o->cls], code, o->detail[0] != '\0' ? " " : "",
	         o->detail);
}
