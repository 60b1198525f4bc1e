/*
 * relay_model.c - the oracle of the relay_state fuzz target (relay_model.h):
 * the model of allocations, sockets, permissions and channels built from
 * the relay's output, and the checks on every action.
 */
#include <string.h>

#include "fuzz_common.h"
#include "relay_model.h"

/* ------------------------------------------------------------ fixtures */

const struct tern_addr model_relay_addr[2] = {{TERN_AF_IPV4, 0, {127, 0, 0, 1}},
                                              {TERN_AF_IPV6, 0, {[15] = 1}}};
const struct tern_relay_client model_clients[N_CLIENTS] = {
    {1,
     TERN_TRANSPORT_UDP,
     {TERN_AF_IPV4, 40000, {198, 51, 100, 1}},
     {TERN_AF_IPV4, 3478, {127, 0, 0, 1}}},
    {1,
     TERN_TRANSPORT_UDP,
     {TERN_AF_IPV4, 40001, {198, 51, 100, 1}},
     {TERN_AF_IPV4, 3478, {127, 0, 0, 1}}},
    {100,
     TERN_TRANSPORT_TCP,
     {TERN_AF_IPV4, 40002, {198, 51, 100, 2}},
     {TERN_AF_IPV4, 3478, {127, 0, 0, 1}}},
    {101,
     TERN_TRANSPORT_TCP,
     {TERN_AF_IPV4, 40003, {198, 51, 100, 2}},
     {TERN_AF_IPV4, 3478, {127, 0, 0, 1}}},
    {2,
     TERN_TRANSPORT_UDP,
     {TERN_AF_IPV6, 40004, {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10}},
     {TERN_AF_IPV6, 3478, {[15] = 1}}},
    {102,
     TERN_TRANSPORT_TCP,
     {TERN_AF_IPV6, 40005, {0x20, 0x01, 0x0d, 0xb8, [15] = 0x11}},
     {TERN_AF_IPV6, 3478, {[15] = 1}}},
    {103,
     TERN_TRANSPORT_TLS,
     {TERN_AF_IPV4, 40006, {203, 0, 113, 5}},
     {TERN_AF_IPV4, 3478, {127, 0, 0, 1}}},
    {1,
     TERN_TRANSPORT_UDP,
     {TERN_AF_IPV4, 40006, {203, 0, 113, 5}},
     {TERN_AF_IPV4, 3478, {127, 0, 0, 1}}},
};
/* Clients sharing an IP share nonces and the 401 rate limit. */
static const uint8_t ip_group[N_CLIENTS] = {0, 0, 1, 1, 2, 3, 4, 4};
const struct tern_addr model_peers[N_PEERS] = {
    {TERN_AF_IPV4, 6000, {127, 0, 0, 2}},
    {TERN_AF_IPV4, 6001, {127, 0, 0, 3}},
    {TERN_AF_IPV6, 6002, {[15] = 1}},
    {TERN_AF_IPV4, 7003, {8, 8, 8, 8}},
    {TERN_AF_IPV6, 6000, {[10] = 0xff, 0xff, 127, 0, 0, 2}}, /* peer 0, IPv4-mapped */
    {TERN_AF_IPV4, 0, {127, 0, 0, 3}},                       /* port 0: permissions only */
    {TERN_AF_IPV4, 50001, {127, 0, 0, 1}}, /* another allocation's relayed address */
    {TERN_AF_IPV6, 7007, {0x2a, 0x00, 0x14, 0x50, [15] = 1}},
};

/* ------------------------------------------------------------ helpers */

static bool same_ip(const struct tern_addr *a, const struct tern_addr *b)
{
	size_t n = a->family == TERN_AF_IPV6 ? 16 : 4;

	return a->family == b->family && memcmp(a->addr, b->addr, n) == 0;
}

static bool same_addr(const struct tern_addr *a, const struct tern_addr *b)
{
	return same_ip(a, b) && a->port == b->port;
}

static int fam_ix(const struct tern_addr *a)
{
	return a->family == TERN_AF_IPV6 ? 1 : 0;
}

/* The address the relay uses: mapped and compatible forms become IPv4. */
static struct tern_addr canonical(const struct tern_addr *given)
{
	struct tern_addr v4;
	enum tern_embed e = tern_addr_embedded_v4(given, &v4);

	return e == TERN_EMBED_MAPPED || e == TERN_EMBED_COMPAT ? v4 : *given;
}

bool model_offered(const struct harness *h, int f)
{
	unsigned fams = (h->flags >> 2) & 3u;

	return f == 0 ? fams != 2 : fams != 1;
}

static int client_index(const struct tern_relay_client *c)
{
	for (int k = 0; k < N_CLIENTS; k++)
		if (model_clients[k].listener == c->listener &&
		    model_clients[k].transport == c->transport &&
		    same_addr(&model_clients[k].client, &c->client) &&
		    same_addr(&model_clients[k].server, &c->server))
			return k;
	return NO_IDX;
}

static struct req_rec *find_req(struct harness *h, int k, const uint8_t *txid)
{
	for (size_t i = 0; i < N_REQS; i++)
		if (h->cl[k].reqs[i].used && memcmp(h->cl[k].reqs[i].txid, txid, 12) == 0)
			return &h->cl[k].reqs[i];
	return NULL;
}

int model_find_handle(const struct harness *h, uint32_t handle, int st)
{
	for (size_t i = 0; i < h->nhs; i++)
		if (h->hs[i].handle == handle && h->hs[i].st == st)
			return (int)i;
	return NO_IDX;
}

/* ------------------------------------------------------------ model */

static void side_dead(struct alloc_model *m, int f)
{
	m->side[f] = NO_IDX;
	/* the relay drops a family's permissions with its relayed address */
	for (size_t i = 0; i < m->nperms;)
		if (fam_ix(&m->perms[i].peer) == f)
			m->perms[i] = m->perms[--m->nperms];
		else
			i++;
	if (m->side[0] == NO_IDX && m->side[1] == NO_IDX)
		memset(m, 0, sizeof(*m));
}

static bool perm_live(const struct harness *h, const struct alloc_model *m,
                      const struct tern_addr *ip)
{
	for (size_t i = 0; i < m->nperms; i++)
		if (same_ip(&m->perms[i].peer, ip))
			return m->perms[i].expires > h->now;
	return false;
}

static void grant_perm(struct harness *h, struct alloc_model *m, const struct tern_addr *peer)
{
	size_t i = 0;

	while (i < m->nperms && !same_ip(&m->perms[i].peer, peer))
		i++;
	if (i == N_MPERMS)
		return;
	m->nperms += i == m->nperms;
	m->perms[i].peer = *peer;
	m->perms[i].expires = h->now + h->perm_ms;
}

static const struct chan_rec *chan_by_number(const struct alloc_model *m, uint16_t n)
{
	for (size_t i = 0; i < m->nchans; i++)
		if (m->chans[i].number == n)
			return &m->chans[i];
	return NULL;
}

static bool peer_allowed(const struct harness *h, const struct tern_addr *given)
{
	struct tern_addr c = canonical(given);

	return tern_peer_allowed(&h->policy, given) && tern_peer_allowed(&h->policy, &c);
}

static void check_grant(const struct harness *h, const struct alloc_model *m,
                        const struct tern_addr *given, const struct tern_addr *peer)
{
	fuzz_require(peer_allowed(h, given), "permission granted to a denied peer");
	fuzz_require(m->side[fam_ix(peer)] != NO_IDX,
	             "permission granted for a family the allocation does not relay");
}

static void on_perm_ok(struct harness *h, int k, const struct req_rec *rq)
{
	struct alloc_model *m = &h->cl[k].alloc;

	fuzz_require(m->live, "CreatePermission success without an allocation");
	fuzz_require(rq->npeers > 0, "CreatePermission success without XOR-PEER-ADDRESS");
	for (size_t i = 0; i < rq->npeers; i++) {
		struct tern_addr given = rq->given[i], peer = rq->peer[i];

		/* RFC 8656 §10.2: the port of a permission's peer may be anything,
		 * 0 too; judge it at some real port, as the relay does */
		if (given.port == 0)
			given.port = peer.port = PERM_ANY_PORT;
		check_grant(h, m, &given, &peer);
		grant_perm(h, m, &peer);
	}
}

static void on_chan_ok(struct harness *h, int k, const struct req_rec *rq)
{
	struct alloc_model *m = &h->cl[k].alloc;
	const struct tern_addr *p = &rq->peer[0];
	uint16_t max = (h->flags & 1) ? TERN_CHANNEL_MAX_RFC5766 : TERN_CHANNEL_MAX_RFC8656;

	fuzz_require(m->live, "ChannelBind success without an allocation");
	fuzz_require(rq->npeers > 0 && rq->channel >= TERN_CHANNEL_MIN && rq->channel <= max,
	             "ChannelBind success for a channel number out of range");
	check_grant(h, m, &rq->given[0], p);
	for (size_t i = 0; i < m->nchans;) {
		struct chan_rec *c = &m->chans[i];
		bool num = c->number == rq->channel, peer = same_addr(&c->peer, p);

		fuzz_require(c->expires + COOLDOWN_MS <= h->now || num == peer,
		             "ChannelBind broke the rebinding rules (RFC 8656 12.2)");
		if (num || peer)
			*c = m->chans[--m->nchans];
		else
			i++;
	}
	if (m->nchans < N_MCHANS)
		m->chans[m->nchans++] = (struct chan_rec){*p, h->now + h->chan_ms, rq->channel};
	grant_perm(h, m, p);
}

static void on_alloc_ok(struct harness *h, int k, const struct tern_stun_msg *msg)
{
	struct alloc_model *m = &h->cl[k].alloc;
	const struct tern_attr *lt = tern_stun_find(msg, TERN_ATTR_LIFETIME);
	const struct tern_attr *tok = tern_stun_find(msg, TERN_ATTR_RESERVATION_TOKEN);
	const struct tern_attr *x = tern_stun_find(msg, TERN_ATTR_XOR_RELAYED_ADDRESS);
	uint32_t life = 0;
	uint64_t token;

	fuzz_require(lt != NULL && tern_attr_get_u32(lt, &life) == TERN_OK && x != NULL,
	             "Allocate success without LIFETIME or XOR-RELAYED-ADDRESS");
	if (m->live) {
		fuzz_require(memcmp(m->txid, msg->txid, TERN_STUN_TXID_LEN) == 0,
		             "a second allocation on one 5-tuple");
		return;
	}
	memcpy(m->txid, msg->txid, TERN_STUN_TXID_LEN);
	m->live = true;
	m->side[0] = m->side[1] = NO_IDX;
	for (; x != NULL; x = tern_stun_find_next(msg, x)) {
		struct tern_addr a;
		int f, i;

		fuzz_require(tern_attr_get_xor_address(x, msg->txid, &a) == TERN_OK,
		             "XOR-RELAYED-ADDRESS");
		f = fam_ix(&a);
		i = NO_IDX;
		for (size_t j = 0; j < h->nhs; j++)
			if (h->hs[j].st == H_BOUND && h->hs[j].fam == f && h->hs[j].port == a.port)
				i = (int)j;
		fuzz_require(i != NO_IDX && same_ip(&a, &model_relay_addr[f]),
		             "relayed address is not a socket the shell bound");
		fuzz_require(h->hs[i].owner == NO_IDX && m->side[f] == NO_IDX,
		             "relayed socket already belongs to an allocation");
		m->side[f] = i;
		h->hs[i].owner = k;
		h->hs[i].expires = h->now + (uint64_t)life * 1000u;
	}
	if (tok != NULL && tern_attr_get_u64(tok, &token) == TERN_OK)
		h->tokens[h->ntokens++ % N_TOKENS] = token;
}

static void on_refresh_ok(struct harness *h, int k, const struct tern_stun_msg *msg,
                          const struct req_rec *rq)
{
	struct alloc_model *m = &h->cl[k].alloc;
	const struct tern_attr *lt = tern_stun_find(msg, TERN_ATTR_LIFETIME);
	uint32_t life = 0;

	fuzz_require(lt != NULL && tern_attr_get_u32(lt, &life) == TERN_OK,
	             "Refresh success without LIFETIME");
	fuzz_require(m->live, "Refresh success without an allocation");
	for (int f = 0; f < 2; f++)
		if (m->side[f] != NO_IDX &&
		    (rq->family == 0 || fam_ix(&model_relay_addr[f]) + 1 == rq->family))
			h->hs[m->side[f]].expires = h->now + (uint64_t)life * 1000u;
	if (life == 0)
		h->expiry_check = k;
}

/* ------------------------------------------------------------ responses */

static void check_signed(const struct tern_stun_msg *msg, const struct req_rec *rq)
{
	int rc;

	fuzz_require(msg->mi_index >= 0 || msg->mi256_index >= 0, "TURN success without integrity");
	if (rq == NULL || rq->key_len == 0)
		return;
	rc = msg->mi256_index >= 0 ? tern_stun_check_integrity_sha256(msg, rq->key, rq->key_len)
	                           : tern_stun_check_integrity(msg, rq->key, rq->key_len);
	fuzz_require(rc == TERN_OK, "success not signed with the client's key");
}

/* 401 and 438: at most 2 * unauth_per_s in any second per source IP. */
static void count_challenge(struct harness *h, int k)
{
	int g = ip_group[k];
	size_t n = h->nrate[g]++, limit = 2u * h->rate_cap;

	h->rate[g][n % RATE_RING] = h->now;
	if (n >= limit)
		fuzz_require(h->rate[g][(n - limit) % RATE_RING] + 1000u <= h->now,
		             "401/438 not rate-limited per source");
}

static void on_error(struct harness *h, int k, const struct tern_stun_msg *msg)
{
	const struct tern_attr *nonce = tern_stun_find(msg, TERN_ATTR_NONCE);
	const struct tern_attr *ec = tern_stun_find(msg, TERN_ATTR_ERROR_CODE);
	struct tern_error_code code = {0};

	fuzz_require(ec != NULL && tern_attr_get_error_code(ec, &code) == TERN_OK,
	             "error response without ERROR-CODE");
	if (code.code == 401 || code.code == 438) {
		fuzz_require(nonce != NULL && tern_stun_find(msg, TERN_ATTR_REALM) != NULL,
		             "challenge without REALM and NONCE");
		count_challenge(h, k);
	}
	if (nonce != NULL && nonce->len <= sizeof(h->cl[k].nonce)) {
		memcpy(h->cl[k].nonce, nonce->value, nonce->len);
		h->cl[k].nonce_len = nonce->len;
	}
}

static void on_response(struct harness *h, int k, const struct tern_stun_msg *msg)
{
	const struct req_rec *rq = find_req(h, k, msg->txid);
	const struct tern_attr *xma;
	struct tern_addr mapped;

	fuzz_require(rq == NULL || rq->method == msg->method,
	             "answer's method is not the request's");
	if (msg->cls == TERN_STUN_ERROR) {
		on_error(h, k, msg);
		return;
	}
	if (msg->method == TERN_STUN_BINDING) {
		xma = tern_stun_find(msg, TERN_ATTR_XOR_MAPPED_ADDRESS);
		fuzz_require(xma != NULL &&
		                 tern_attr_get_xor_address(xma, msg->txid, &mapped) == TERN_OK &&
		                 same_addr(&mapped, &model_clients[k].client),
		             "Binding success without the client's XOR-MAPPED-ADDRESS");
		return;
	}
	check_signed(msg, rq);
	if (msg->method == TERN_TURN_ALLOCATE)
		on_alloc_ok(h, k, msg);
	else if (rq == NULL)
		return; /* not one the harness sent: nothing to compare */
	else if (msg->method == TERN_TURN_REFRESH)
		on_refresh_ok(h, k, msg, rq);
	else if (msg->method == TERN_TURN_CREATE_PERMISSION)
		on_perm_ok(h, k, rq);
	else if (msg->method == TERN_TURN_CHANNEL_BIND)
		on_chan_ok(h, k, rq);
	else
		fuzz_require(false, "success for a method the relay does not serve");
}

/* Peer data reaching client k: the owner, permitted, unaltered. */
static struct alloc_model *peer_owner(struct harness *h, const struct call *c, int k)
{
	struct alloc_model *m = &h->cl[k].alloc;

	fuzz_require(c->kind == CALL_PEER && m->live && c->hrec != NO_IDX &&
	                 h->hs[c->hrec].st == H_BOUND && h->hs[c->hrec].owner == k &&
	                 m->side[h->hs[c->hrec].fam] == c->hrec,
	             "peer data to a client that does not own the socket");
	fuzz_require(perm_live(h, m, c->peer), "peer data relayed without a permission");
	return m;
}

static void on_channel_to_client(struct harness *h, const struct call *c, int k,
                                 const struct tern_relay_action *a)
{
	struct tern_channel_data cd;
	const struct alloc_model *m = peer_owner(h, c, k);
	const struct chan_rec *ch;

	fuzz_require(tern_channel_data_parse(a->data, a->len,
	                                     model_clients[k].transport != TERN_TRANSPORT_UDP,
	                                     &cd) == TERN_OK,
	             "SEND_CLIENT ChannelData does not parse");
	ch = chan_by_number(m, cd.channel);
	fuzz_require(ch != NULL && same_addr(&ch->peer, c->peer) && ch->expires > h->now,
	             "ChannelData to client on a channel not bound to that peer");
	fuzz_require(cd.len == c->data_len && memcmp(cd.data, c->data, cd.len) == 0,
	             "peer data altered on its way to the client");
}

static void on_data_indication(struct harness *h, const struct call *c, int k,
                               const struct tern_stun_msg *msg)
{
	const struct alloc_model *m = peer_owner(h, c, k);
	const struct tern_attr *pa = tern_stun_find(msg, TERN_ATTR_XOR_PEER_ADDRESS);
	const struct tern_attr *data = tern_stun_find(msg, TERN_ATTR_DATA);
	struct tern_addr from;

	fuzz_require(msg->method == TERN_TURN_DATA && msg->cls == TERN_STUN_INDICATION,
	             "peer data to client neither ChannelData nor Data indication");
	fuzz_require(pa != NULL && tern_attr_get_xor_address(pa, msg->txid, &from) == TERN_OK &&
	                 same_addr(&from, c->peer),
	             "Data indication names another peer");
	fuzz_require(data != NULL && data->len == c->data_len &&
	                 memcmp(data->value, c->data, data->len) == 0,
	             "peer data altered on its way to the client");
	for (size_t i = 0; i < m->nchans; i++)
		fuzz_require(!same_addr(&m->chans[i].peer, c->peer) ||
		                 m->chans[i].expires <= h->now,
		             "Data indication although a channel is bound to the peer");
}

static bool in_out(const struct harness *h, const struct call *c, const uint8_t *p, size_t n)
{
	return fuzz_inside(h->scratch, h->out.scratch_len, p, n) ||
	       fuzz_inside(c->buf, c->len, p, n);
}

static void on_send_client(struct harness *h, const struct call *c,
                           const struct tern_relay_action *a)
{
	struct tern_stun_msg msg;
	int k = client_index(&a->client);

	fuzz_require(k != NO_IDX, "SEND_CLIENT to an unknown 5-tuple");
	fuzz_require(c->kind != CALL_CLIENT || k == c->client, "answer sent to another client");
	fuzz_require(a->len > 0 && in_out(h, c, a->data, a->len),
	             "SEND_CLIENT data outside scratch and input");
	if ((a->data[0] & 0xC0) == 0x40) {
		on_channel_to_client(h, c, k, a);
		return;
	}
	fuzz_require(tern_stun_parse(a->data, a->len, &msg) == TERN_OK,
	             "SEND_CLIENT is neither STUN nor ChannelData");
	fuzz_require(msg.fp_index < 0 || tern_stun_check_fingerprint(&msg) == TERN_OK,
	             "SEND_CLIENT with a wrong FINGERPRINT");
	if (c->kind == CALL_PEER) {
		on_data_indication(h, c, k, &msg);
		return;
	}
	fuzz_require(msg.cls == TERN_STUN_SUCCESS || msg.cls == TERN_STUN_ERROR,
	             "the relay sent a client a request or an indication");
	if (c->kind == CALL_CLIENT && msg.mi_index < 0 && msg.mi256_index < 0)
		fuzz_require(a->len <= c->len + AMP_SLACK, "unauthenticated answer amplifies");
	on_response(h, k, &msg);
}

/* What a client datagram asked to relay: peer and data. */
static void sent_to_peer(struct harness *h, const struct call *c, const struct alloc_model *m,
                         struct tern_addr *to, const uint8_t **data, size_t *len)
{
	struct tern_channel_data cd;
	struct tern_stun_msg msg;
	const struct tern_attr *pa, *d;
	const struct chan_rec *ch;

	if ((c->buf[0] & 0xC0) == 0x40) {
		fuzz_require(tern_channel_data_parse(c->buf, c->len,
		                                     model_clients[c->client].transport !=
		                                         TERN_TRANSPORT_UDP,
		                                     &cd) == TERN_OK,
		             "relayed ChannelData that does not parse");
		ch = chan_by_number(m, cd.channel);
		fuzz_require(ch != NULL && ch->expires > h->now,
		             "ChannelData relayed on a channel not bound");
		*to = ch->peer;
		*data = cd.data;
		*len = cd.len;
		return;
	}
	fuzz_require(tern_stun_parse(c->buf, c->len, &msg) == TERN_OK &&
	                 msg.method == TERN_TURN_SEND && msg.cls == TERN_STUN_INDICATION,
	             "SEND_PEER for neither ChannelData nor a Send indication");
	pa = tern_stun_find(&msg, TERN_ATTR_XOR_PEER_ADDRESS);
	d = tern_stun_find(&msg, TERN_ATTR_DATA);
	fuzz_require(pa != NULL && d != NULL &&
	                 tern_attr_get_xor_address(pa, msg.txid, to) == TERN_OK,
	             "relayed Send indication without XOR-PEER-ADDRESS or DATA");
	*to = canonical(to);
	*data = d->value;
	*len = d->len;
}

static void on_send_peer(struct harness *h, const struct call *c, const struct tern_relay_action *a)
{
	const struct alloc_model *m = &h->cl[c->client].alloc;
	int i = model_find_handle(h, a->handle, H_BOUND);
	struct tern_addr to;
	const uint8_t *data;
	size_t len;

	fuzz_require(i != NO_IDX, "SEND_PEER from a socket that is not open");
	fuzz_require(m->live && m->side[fam_ix(&a->peer)] == i,
	             "SEND_PEER from a socket not the client's for that family");
	fuzz_require(tern_peer_allowed(&h->policy, &a->peer), "SEND_PEER to a denied address");
	fuzz_require(perm_live(h, m, &a->peer), "SEND_PEER without a permission");
	sent_to_peer(h, c, m, &to, &data, &len);
	fuzz_require(same_addr(&to, &a->peer) && len == a->len && memcmp(data, a->data, len) == 0,
	             "SEND_PEER is not what the client sent");
	fuzz_require(in_out(h, c, a->data, a->len), "SEND_PEER data outside scratch and input");
}

/* ------------------------------------------------------------ sockets */

static void on_open(struct harness *h, const struct call *c, const struct tern_relay_action *a)
{
	int f = fam_ix(&a->peer);
	struct handle_rec *hr = NULL;

	(void)c;
	fuzz_require((a->peer.family == TERN_AF_IPV4 || a->peer.family == TERN_AF_IPV6) &&
	                 model_offered(h, f) && same_ip(&a->peer, &model_relay_addr[f]),
	             "OPEN at an address the relay was not given");
	fuzz_require(a->peer.port >= PORT_MIN && a->peer.port <= PORT_MAX,
	             "OPEN outside the relay port range");
	for (size_t i = 0; i < h->nhs; i++) {
		const struct handle_rec *o = &h->hs[i];

		fuzz_require(o->handle != a->handle || o->st == H_DEAD, "OPEN for a live handle");
		fuzz_require(o->st != H_BOUND || o->fam != f || o->port != a->peer.port,
		             "OPEN for a port that is still bound");
	}
	if (h->nhs < N_HANDLES) {
		hr = &h->hs[h->nhs++];
	} else { /* reuse a dead record, else forget the oldest pending one */
		for (size_t i = 0; i < N_HANDLES && hr == NULL; i++)
			if (h->hs[i].st == H_DEAD)
				hr = &h->hs[i];
		for (size_t i = 0; i < N_HANDLES && hr == NULL; i++)
			if (h->hs[i].st == H_PENDING)
				hr = &h->hs[i];
		fuzz_require(hr != NULL, "more bound sockets than the harness can track");
	}
	*hr = (struct handle_rec){a->handle, a->peer.port, f, H_PENDING, NO_IDX, h->seq++, 0};
}

static void on_close(struct harness *h, const struct call *c, const struct tern_relay_action *a)
{
	int i = model_find_handle(h, a->handle, H_BOUND);
	struct handle_rec *hr;

	fuzz_require(i != NO_IDX, "CLOSE of a handle that is not bound");
	hr = &h->hs[i];
	hr->st = H_DEAD;
	if (hr->owner == NO_IDX)
		return;
	fuzz_require(c->kind != CALL_TICK || hr->expires <= h->now,
	             "a tick closed an allocation before its lifetime ended");
	side_dead(&h->cl[hr->owner].alloc, hr->fam);
}

/* ------------------------------------------------------------ calls */

/* Kinds of action each call may produce. */
static bool action_allowed(enum call_kind call, enum tern_relay_action_kind act)
{
	switch (call) {
	case CALL_CLIENT:
		return true;
	case CALL_PEER:
		return act == TERN_ACT_SEND_CLIENT;
	case CALL_OPENED:
		return act != TERN_ACT_SEND_PEER;
	case CALL_CLOSED:
	case CALL_TICK:
		return act == TERN_ACT_CLOSE || act == TERN_ACT_EVENT;
	}
	return false;
}

void model_check_counts(struct harness *h)
{
	struct tern_relay_stats st;
	uint64_t live = 0, plo = 0, phi = 0, clo = 0, chi = 0;

	tern_relay_get_stats(h->r, &st);
	for (int k = 0; k < N_CLIENTS; k++) {
		const struct alloc_model *m = &h->cl[k].alloc;
		uint64_t p = 0, ch = 0;

		if (!m->live)
			continue;
		live++;
		for (size_t i = 0; i < m->nperms; i++)
			p += m->perms[i].expires > h->now;
		for (size_t i = 0; i < m->nchans; i++)
			ch += m->chans[i].expires + COOLDOWN_MS > h->now;
		fuzz_require(p <= CAP_PERMS && ch <= CAP_CHANS,
		             "more permissions or channels than the per-allocation cap");
		plo += p;
		clo += ch;
		phi += m->nperms;
		chi += m->nchans;
	}
	fuzz_require(st.allocations == live && live <= h->cap_allocs,
	             "stats.allocations differs from the allocations model_clients were granted");
	fuzz_require(plo <= st.permissions && st.permissions <= phi,
	             "stats.permissions outside [unexpired, granted]");
	fuzz_require(clo <= st.channels && st.channels <= chi,
	             "stats.channels outside [bound or cooling down, granted]");
}

void model_check_expired(struct harness *h, int k)
{
	for (size_t i = 0; i < h->nhs; i++) {
		const struct handle_rec *hr = &h->hs[i];

		if (hr->st == H_BOUND && hr->owner != NO_IDX && (k == -1 || hr->owner == k))
			fuzz_require(hr->expires > h->now, "an allocation outlived its lifetime");
	}
}

/* Run one relay call's output through the model, then the step checks. */
#ifdef RELAY_STATE_TRACE
/* Build with -DRELAY_STATE_TRACE to see a script play out on stderr. */
static void trace(const struct harness *h, const struct call *c)
{
	static const char *const kinds[] = {"SEND_CLIENT", "SEND_PEER", "OPEN", "CLOSE", "EVENT"};
	static const char *const calls[] = {"client", "peer", "opened", "closed", "tick"};

	fprintf(stderr, "t=%llu %s %d:", (unsigned long long)h->now, calls[c->kind], c->client);
	for (size_t i = 0; i < h->out.n; i++) {
		const struct tern_relay_action *a = &h->actions[i];

		fprintf(stderr, " %s", kinds[a->kind]);
		if (a->kind == TERN_ACT_SEND_CLIENT && a->len >= 4)
			fprintf(stderr, "(%02x%02x)", a->data[0], a->data[1]);
		else if (a->kind == TERN_ACT_EVENT)
			fprintf(stderr, "(%d/%u)", (int)a->event, a->code);
		else if (a->kind != TERN_ACT_SEND_CLIENT)
			fprintf(stderr, "(%x:%u)", a->handle, a->peer.port);
	}
	fprintf(stderr, "\n");
}
#endif

void model_process(struct harness *h, const struct call *c, int rc)
{
	size_t sends = 0;

	fuzz_require(rc == TERN_OK, "relay call failed");
	fuzz_require(h->out.n <= h->out.cap && h->out.scratch_len <= h->out.scratch_cap, "out");
	if (c->kind == CALL_CLIENT || c->kind == CALL_OPENED || c->kind == CALL_PEER)
		fuzz_require(h->out.n <= TERN_RELAY_MAX_ACTIONS &&
		                 h->out.scratch_len <= TERN_RELAY_SCRATCH,
		             "one input needed more room than TERN_RELAY_MAX_ACTIONS/_SCRATCH");
	h->expiry_check = c->kind == CALL_TICK ? -1 : -2;
#ifdef RELAY_STATE_TRACE
	trace(h, c);
#endif
	for (size_t i = 0; i < h->out.n; i++) {
		const struct tern_relay_action *a = &h->actions[i];

		fuzz_require(action_allowed(c->kind, a->kind),
		             "action of a kind this call never makes");
		if (a->kind == TERN_ACT_SEND_CLIENT)
			on_send_client(h, c, a);
		else if (a->kind == TERN_ACT_SEND_PEER && ++sends > 0)
			on_send_peer(h, c, a);
		else if (a->kind == TERN_ACT_OPEN)
			on_open(h, c, a);
		else if (a->kind == TERN_ACT_CLOSE)
			on_close(h, c, a);
	}
	fuzz_require(sends <= 1 && (c->kind != CALL_PEER || h->out.n <= 1),
	             "one datagram relayed more than once");
	if (h->expiry_check != -2)
		model_check_expired(h, h->expiry_check);
	model_check_counts(h);
}

void model_record_request(struct harness *h, int k, const uint8_t *buf, size_t len,
                          const struct req_rec *auth)
{
	struct tern_stun_msg m;
	struct req_rec *rq;
	const struct tern_attr *a;
	bool request = tern_stun_parse(buf, len, &m) == TERN_OK && m.cls == TERN_STUN_REQUEST;

	if (len < TERN_STUN_HEADER_LEN)
		return;
	/* A datagram reusing a txid: a retransmission keeps the record, anything
	 * else (a raw datagram, maybe broken) is what its answer will be about. */
	rq = find_req(h, k, buf + 8);
	if (rq != NULL && request && rq->method == m.method)
		return;
	if (rq != NULL)
		rq->used = false;
	if (!request)
		return;
	rq = &h->cl[k].reqs[h->cl[k].next_req++ % N_REQS];
	*rq = *auth;
	rq->used = true;
	memcpy(rq->txid, m.txid, TERN_STUN_TXID_LEN);
	rq->method = m.method;
	a = tern_stun_find(&m, TERN_ATTR_REQUESTED_ADDRESS_FAMILY);
	if (a != NULL && tern_attr_get_u8(a, &rq->family) != TERN_OK)
		rq->family = 0;
	a = tern_stun_find(&m, TERN_ATTR_CHANNEL_NUMBER);
	if (a != NULL && tern_attr_get_u16(a, &rq->channel) != TERN_OK)
		rq->channel = 0;
	for (a = tern_stun_find(&m, TERN_ATTR_XOR_PEER_ADDRESS); a != NULL && rq->npeers < 4;
	     a = tern_stun_find_next(&m, a)) {
		if (tern_attr_get_xor_address(a, m.txid, &rq->given[rq->npeers]) != TERN_OK)
			continue;
		rq->peer[rq->npeers] = canonical(&rq->given[rq->npeers]);
		rq->npeers++;
	}
}

void model_policy_changed(struct harness *h)
{
	/* Permissions to denied peers go; channels stay bound (tern_relay.h:
	 * allocations are not touched), unusable without the permission. */
	for (int k = 0; k < N_CLIENTS; k++) {
		struct alloc_model *m = &h->cl[k].alloc;

		for (size_t i = 0; i < m->nperms;)
			if (!tern_peer_allowed(&h->policy, &m->perms[i].peer))
				m->perms[i] = m->perms[--m->nperms];
			else
				i++;
	}
	model_check_counts(h);
}
