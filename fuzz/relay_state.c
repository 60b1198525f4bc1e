/*
 * relay_state.c - stateful fuzz target for the relay (STYLE.md rule 20).
 *
 * Targets: tern_relay_create, tern_relay_destroy, tern_relay_reconfigure,
 * tern_relay_client_input, tern_relay_peer_input, tern_relay_opened,
 * tern_relay_client_closed, tern_relay_tick, tern_relay_next_deadline,
 * tern_relay_set_unix_time, tern_relay_get_stats, and through them all of
 * relay/, played as one script against one relay instance.
 *
 * Input layout: byte 0 = config flags (bit 0 rfc5766-channel-numbers, 1
 * max-bps 300, 2-3 relayed families: 1 IPv4 only, 2 IPv6 only, else both,
 * 4 user-quota 2, 5 SOFTWARE, 6 two 401s per second, 7 total-quota 2, not
 * 6); byte 1 = fail that allocation of a first create (0: none, 255: fail
 * its entropy); bytes 2-5 = entropy seed; then at most 256 steps, each an
 * opcode byte (kind = low 4 bits, arg = high 4 bits) and its operands:
 *   0-1   advance time by u16 * (1 ms, 10 ms, 1 s, 10 s)[arg & 3]; arg & 4: tick
 *   2-5   template: a valid request built with the codec from client arg & 7
 *         (arg & 8: resend its last one), 4 parameter bytes (build_body,
 *         add_auth) and the payload they ask for
 *   6     raw datagram from client arg & 7: u16 length, bytes (arg & 8: first
 *         offered with too little room, which must change nothing)
 *   7-8   datagram from peer arg & 7: handle pick, length byte, bytes
 *   9-10  answer a pending OPEN: (ok, in use, no descriptors, ok)[arg & 3],
 *         the (arg >> 2)-th oldest
 *   11    tick (arg & 1: at next_deadline)
 *   12    connection of client arg & 7 closed
 *   13    reconfigure: variant byte v: policy v % 3 (loopback allowed; only
 *         127.0.0.2, 8/8 denied; no loopback, 2a00::/16 denied), users
 *         v / 3 % 3, secrets v / 9 % 3, short lifetimes v / 27 % 2 (255:
 *         another realm, which must be refused)
 *   14    fail allocation number arg + 1 from now; 15: fail the next entropy call
 * Clients: 8 fixed 5-tuples (UDP, TCP, TLS; IPv4, IPv6; some share an IP).
 * Peers: 8 fixed addresses (loopback, public, IPv4-mapped, port 0, another
 * allocation's relayed address, IPv6). Credentials: the last NONCE the relay sent that
 * client, or deliberately wrong ones. At the end every pending OPEN is
 * answered, time jumps 10 days, the relay ticks until nothing is due and is
 * destroyed. `python3 fuzz/make_relay_seeds.py --decode FILE` prints a script.
 *
 * The oracle is relay_model.c: a model built only from what the relay said
 * (OPEN, CLOSE, success responses) against which it aborts when, after any
 * step:
 *  - handles: an OPEN for a live handle or a still-bound port or outside
 *    the relay's address and port range; a CLOSE for a handle not bound;
 *  - allocations: stats.allocations != allocations the client saw succeed;
 *    more than the cap; a success naming a socket that is not bound or
 *    belongs to another allocation; a side closed by a tick before its
 *    LIFETIME ran out, or still open after a tick (or Refresh 0) past it;
 *    an allocation kept after its TCP/TLS connection closed;
 *  - permissions and channels: stats outside [unexpired, ever granted] of
 *    live allocations; over the per-allocation caps; a grant to a denied
 *    peer or a family the allocation lacks; a ChannelBind that breaks the
 *    RFC 8656 §12.2 rebinding rules or the channel range;
 *  - data: SEND_PEER from a handle not bound or not the client's, to a
 *    peer tern_peer_allowed() denies under the current policy, without an
 *    unexpired permission, on a channel not bound, or not carrying what the
 *    client sent; peer data to a client without permission, to another
 *    client, or altered; a Data indication where a channel is bound;
 *  - output: every SEND_CLIENT parses as STUN or ChannelData (padded on
 *    streams), goes to a known 5-tuple (the sender, for answers), lies in
 *    scratch or the input; TURN successes carry integrity that verifies with
 *    the client's key; unsigned answers are at most AMP_SLACK bytes larger
 *    than the request; no more than 2 * N 401/438 per second per source;
 *    one input needs at most TERN_RELAY_MAX_ACTIONS and _SCRATCH;
 *  - time: after a tick next_deadline > now; an input never moves it before
 *    min(previous deadline, now);
 *  - memory: zero live blocks after destroy or a failed create; a failed
 *    reconfigure frees what it took.
 */
#include <string.h>

#include "fuzz_common.h"
#include "relay_model.h"

#define MAX_STEPS 256u
#define START_MS  1000000u
#define UNIX_MS   1700000000000ull
#define FAR_MS    (10ull * 86400u * 1000u)
#define REALM     "tern.test"

/* ------------------------------------------------------------ fixtures */

static const struct tern_addr own[2] = {{TERN_AF_IPV4, 3478, {127, 0, 0, 1}},
                                        {TERN_AF_IPV6, 3478, {[15] = 1}}};
static const struct tern_addr_range allow1[] = {
    {{TERN_AF_IPV4, 0, {127, 0, 0, 2}}, {TERN_AF_IPV4, 0, {127, 0, 0, 2}}}};
static const struct tern_addr_range deny1[] = {
    {{TERN_AF_IPV4, 0, {8, 0, 0, 0}}, {TERN_AF_IPV4, 0, {8, 255, 255, 255}}}};
static const struct tern_addr_range deny2[] = {
    {{TERN_AF_IPV6, 0, {0x2a}},
     {TERN_AF_IPV6,
      0,
      {0x2a, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255}}}};
static const uint8_t bob_key[16] = {0x0b, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
static const struct tern_relay_user users[] = {{"alice", "wonderland", NULL},
                                               {"bob", NULL, bob_key}};
static const uint8_t secret1[] = "rest-secret-one", secret2[] = "rest-secret-two";
static const struct tern_relay_secret secrets[] = {{secret1, 15}, {secret2, 15}};
static const uint8_t nonce_key[32] = "tern fuzz nonce key, 32 bytes..";
static const struct tern_password_alg_entry algs[] = {{TERN_PWALG_SHA256, 0, NULL},
                                                      {TERN_PWALG_MD5, 0, NULL}};
static const uint32_t lifetimes[8] = {0, 0, 1, 300, 600, 3600, 86400, 0xFFFFFFFFu};
static const uint16_t channels[8] = {0x4000, 0x4001, 0x4002, 0x4FFF,
                                     0x5000, 0x7FFF, 0x3FFF, 0x4003};

/* ------------------------------------------------------------ input */

static uint8_t next_u8(struct harness *h)
{
	return h->pos < h->in_len ? h->in[h->pos++] : 0;
}

static size_t next_bytes(struct harness *h, size_t want, const uint8_t **out)
{
	size_t left = h->in_len - h->pos;

	*out = h->in + h->pos;
	want = want < left ? want : left;
	h->pos += want;
	return want;
}

/* ------------------------------------------------------------ hooks */

static void *fuzz_alloc(void *ctx, size_t size)
{
	struct hooks_ctx *hk = ctx;
	void *p;

	if (++hk->calls == hk->fail_at)
		return NULL;
	p = malloc(size ? size : 1);
	fuzz_require(p != NULL, "malloc");
	hk->live++;
	return p;
}

static void fuzz_free(void *ctx, void *p)
{
	struct hooks_ctx *hk = ctx;

	if (p != NULL) {
		fuzz_require(hk->live > 0, "free of a block never allocated");
		hk->live--;
		free(p);
	}
}

/* splitmix64: deterministic, seeded from the input. */
static int fuzz_entropy(void *ctx, uint8_t *buf, size_t n)
{
	struct hooks_ctx *hk = ctx;
	uint64_t z = 0;

	if (hk->entropy_fail) {
		hk->entropy_fail = false;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0) {
			z = (hk->rng += 0x9E3779B97F4A7C15ull);
			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
			z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
			z ^= z >> 31;
		}
		buf[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
	return 0;
}

/* ------------------------------------------------------------ config */

static void make_policy(unsigned variant, struct tern_peer_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->own = own;
	p->n_own = 2;
	p->relay_min_port = PORT_MIN;
	p->relay_max_port = PORT_MAX;
	p->allow_loopback = variant == 0; /* 1: 127.0.0.2 only, no 8/8; 2: no 2a00::/16 */
	if (variant == 1) {
		p->allow = allow1;
		p->n_allow = 1;
		p->deny = deny1;
		p->n_deny = 1;
	} else if (variant == 2) {
		p->deny = deny2;
		p->n_deny = 1;
	}
}

/* variant: policy % 3, users / 3 % 3, secrets / 9 % 3, lifetimes / 27 % 2. */
static void make_config(struct harness *h, unsigned v, struct tern_relay_config *c)
{
	unsigned u = v / 3 % 3, s = v / 9 % 3;

	memset(c, 0, sizeof(*c));
	c->realm = REALM;
	c->software = (h->flags & 0x20) ? "tern-fuzz" : NULL;
	if (model_offered(h, 0))
		c->relay_v4 = model_relay_addr[0];
	if (model_offered(h, 1))
		c->relay_v6 = model_relay_addr[1];
	c->min_port = PORT_MIN;
	c->max_port = PORT_MAX;
	if (v / 27 % 2) {
		c->default_lifetime_s = 300;
		c->max_lifetime_s = 900;
		c->permission_lifetime_s = 60;
		c->channel_lifetime_s = 120;
		c->nonce_lifetime_s = 60;
	}
	c->max_allocations = h->cap_allocs;
	c->user_quota = (h->flags & 0x10) ? 2 : 0;
	c->max_permissions = CAP_PERMS;
	c->max_channels = CAP_CHANS;
	c->max_bps = (h->flags & 2) ? 300 : 0;
	c->unauth_per_s = h->rate_cap;
	c->rfc5766_channels = h->flags & 1;
	make_policy(v % 3, &c->policy);
	c->users = users + (u == 2);
	c->n_users = u == 1 ? 2 : 1;
	c->secrets = secrets + (s == 2);
	c->n_secrets = s == 1 ? 2 : 1;
	c->nonce_key = nonce_key;
	c->nonce_key_len = sizeof(nonce_key);
	c->hooks = (struct tern_relay_hooks){fuzz_alloc, fuzz_free, fuzz_entropy, &h->hk};
}

static void apply_config(struct harness *h, const struct tern_relay_config *c)
{
	h->policy = c->policy;
	h->perm_ms = (c->permission_lifetime_s ? c->permission_lifetime_s : 300) * 1000ull;
	h->chan_ms = (c->channel_lifetime_s ? c->channel_lifetime_s : 600) * 1000ull;
	memset(h->nrate, 0, sizeof(h->nrate)); /* reconfigure refills the buckets */
}

/* ------------------------------------------------------------ calls */

static void reset_out(struct harness *h, size_t cap)
{
	h->out = (struct tern_relay_out){h->actions, cap, 0, h->scratch, OUT_SCRATCH, 0};
}

static void check_deadline(struct harness *h, uint64_t before)
{
	uint64_t after = tern_relay_next_deadline(h->r);
#ifdef RELAY_STATE_TRACE
	fprintf(stderr, "deadline %llu -> %llu\n", (unsigned long long)before,
	        (unsigned long long)after);
#endif

	fuzz_require(after >= (before < h->now ? before : h->now),
	             "an input moved next_deadline into the past");
}

static void client_call(struct harness *h, int k, const uint8_t *buf, size_t len)
{
	struct call c = {CALL_CLIENT, k, NO_IDX, buf, len, NULL, 0, NULL};
	uint64_t before = tern_relay_next_deadline(h->r);

	reset_out(h, OUT_ACTIONS);
	model_process(h, &c,
	              tern_relay_client_input(h->r, h->now, &model_clients[k], buf, len, &h->out));
	check_deadline(h, before);
}

static void tick(struct harness *h)
{
	struct call c = {CALL_TICK, NO_IDX, NO_IDX, NULL, 0, NULL, 0, NULL};

	for (int i = 0; i < 64 && tern_relay_next_deadline(h->r) <= h->now; i++) {
		reset_out(h, OUT_ACTIONS);
		model_process(h, &c, tern_relay_tick(h->r, h->now, &h->out));
	}
	fuzz_require(tern_relay_next_deadline(h->r) > h->now, "next_deadline <= now after a tick");
	model_check_expired(h, -1);
}

/* ------------------------------------------------------------ templates */

static const uint8_t *client_nonce(const struct harness *h, int k, bool foreign, size_t *len)
{
	const struct client_state *cs = &h->cl[foreign ? (k + 2) % N_CLIENTS : k];

	if (cs->nonce_len == 0)
		cs = &h->cl[k];
	*len = cs->nonce_len;
	return cs->nonce;
}

/*
 * Credentials by p0 bits 3-5: alice MD5; alice SHA-256 with MI-SHA256;
 * alice SHA-256 key with MI; REST (p0 bit 7: expired); alice by USERHASH,
 * truncated MI-SHA256; none; a wrong password; bob (MD5 key only).
 * p0 bit 6: the nonce another client got. No nonce yet: unauthenticated.
 */
static void add_auth(struct harness *h, int k, uint8_t p0, struct tern_stun_builder *b,
                     struct req_rec *rq)
{
	unsigned cred = (p0 >> 3) & 7u;
	bool sha = cred == 1 || cred == 2 || cred == 4;
	const char *name = cred == 7 ? "bob" : "alice", *pw = cred == 6 ? "wrong" : "wonderland";
	char rest[40], rest_pw[TERN_REST_PASSWORD_LEN + 1];
	uint8_t uh[32];
	size_t nlen;
	const uint8_t *nonce = client_nonce(h, k, p0 & 0x40, &nlen);

	if (cred == 5 || nlen == 0)
		return;
	if (cred == 3) {
		uint64_t t = (UNIX_MS + h->now) / 1000u + ((p0 & 0x80) ? 0 : 3600u);
		size_t n = sizeof(rest) - 1;

		memcpy(rest + n - 6, ":carol", 7);
		for (n -= 6; t > 0; t /= 10)
			rest[--n] = (char)('0' + t % 10);
		name = rest + n;
		fuzz_require(tern_turn_rest_password(secret1, 15, name, strlen(name), rest_pw,
		                                     sizeof(rest_pw)) == TERN_OK,
		             "REST password");
		pw = rest_pw;
	}
	rq->key_len = 16;
	if (cred == 7)
		memcpy(rq->key, bob_key, 16);
	else
		fuzz_require(tern_stun_long_term_key(sha ? TERN_PWALG_SHA256 : TERN_PWALG_MD5, name,
		                                     strlen(name), REALM, strlen(REALM), pw,
		                                     strlen(pw), rq->key, &rq->key_len) == TERN_OK,
		             "long-term key");
	if (cred == 4) {
		tern_stun_userhash(name, strlen(name), REALM, strlen(REALM), uh);
		tern_stun_add_raw(b, TERN_ATTR_USERHASH, uh, sizeof(uh));
	} else {
		tern_stun_add_string(b, TERN_ATTR_USERNAME, name, strlen(name));
	}
	tern_stun_add_string(b, TERN_ATTR_REALM, REALM, strlen(REALM));
	tern_stun_add_string(b, TERN_ATTR_NONCE, nonce, nlen);
	if (sha) {
		tern_stun_add_password_algorithms(b, algs, 2);
		tern_stun_add_password_algorithm(b, &algs[0]);
	}
	if (cred == 1 || cred == 4)
		tern_stun_add_integrity_sha256(b, rq->key, rq->key_len, cred == 1 ? 32 : 16);
	else
		tern_stun_add_integrity(b, rq->key, rq->key_len);
}

/*
 * p0 & 7 = Allocate, Refresh, CreatePermission, ChannelBind, Send, -,
 * Binding, Allocate with a RESERVATION-TOKEN seen earlier. p1: peers (3
 * bits each, count 1 + (p1 >> 6) % 3). p2: lifetime (3 bits), family (2:
 * none, RAF IPv4, RAF IPv6, ADDITIONAL IPv6 / bad RAF), EVEN-PORT (2: -,
 * RAF 3, R=0, R=1), DONT-FRAGMENT; or the channel (3 bits). p3: payload
 * length (6 bits), REQUESTED-TRANSPORT TCP, no FINGERPRINT. p0 bit 7 (not
 * REST): an unknown comprehension-required attribute. Send and Binding have
 * no credentials; their p0 bits 3-5 = 6 or 7 turn them into what a client
 * must not send: a Send request, a Data indication, a Binding success, a
 * Connect request (RFC 6062, not served).
 */
static void build_body(struct harness *h, const uint8_t p[4], struct tern_stun_builder *b)
{
	unsigned m = p[0] & 7u, fam = (p[2] >> 3) & 3u, even = (p[2] >> 5) & 3u;
	unsigned pk[3] = {p[1] & 7u, (p[1] >> 3) & 7u, ((p[1] & 7u) + ((p[1] >> 3) & 7u) + 1) & 7u};

	if (m == 0 || m == 7) {
		size_t seen = h->ntokens < N_TOKENS ? h->ntokens : N_TOKENS; /* a ring */

		tern_stun_add_u8(b, TERN_ATTR_REQUESTED_TRANSPORT, (p[3] & 64) ? 6 : 17);
		if (m == 7)
			tern_stun_add_u64(b, TERN_ATTR_RESERVATION_TOKEN,
			                  seen ? h->tokens[p[2] % seen] : p[2]);
		else if (fam == 3)
			tern_stun_add_u8(b, TERN_ATTR_ADDITIONAL_ADDRESS_FAMILY, TERN_AF_IPV6);
		if (even >= 2)
			tern_stun_add_even_port(b, even == 3);
		if (p[2] & 0x80)
			tern_stun_add_raw(b, TERN_ATTR_DONT_FRAGMENT, NULL, 0);
	}
	if ((m <= 1 || m == 7) && fam != 0 && !(m == 0 && fam == 3))
		tern_stun_add_u8(b, TERN_ATTR_REQUESTED_ADDRESS_FAMILY, (uint8_t)fam);
	if (m == 0 && even == 1) /* a family that does not exist, maybe beside another */
		tern_stun_add_u8(b, TERN_ATTR_REQUESTED_ADDRESS_FAMILY, 3);
	if ((m <= 1 || m == 7) && (p[2] & 7) != 0)
		tern_stun_add_u32(b, TERN_ATTR_LIFETIME, lifetimes[p[2] & 7]);
	if (m == 3)
		tern_stun_add_u16(b, TERN_ATTR_CHANNEL_NUMBER, channels[p[2] & 7]);
	for (unsigned i = 0; (m == 2 || m == 3) && i < (m == 3 ? 1 : 1 + (p[1] >> 6) % 3u); i++)
		tern_stun_add_xor_address(b, TERN_ATTR_XOR_PEER_ADDRESS, &model_peers[pk[i]]);
	if ((p[0] & 0x80) && ((p[0] >> 3) & 7u) != 3)
		tern_stun_add_raw(b, 0x7F00, "tern", 4);
}

static uint16_t template_type(unsigned m, unsigned cred, uint16_t method)
{
	if (m == 4)
		return cred == 6   ? tern_stun_type(TERN_TURN_SEND, TERN_STUN_REQUEST)
		       : cred == 7 ? tern_stun_type(TERN_TURN_DATA, TERN_STUN_INDICATION)
		                   : tern_stun_type(TERN_TURN_SEND, TERN_STUN_INDICATION);
	if (m == 6 && cred >= 6)
		return cred == 6 ? tern_stun_type(TERN_STUN_BINDING, TERN_STUN_SUCCESS)
		                 : tern_stun_type(TERN_TURN_CONNECT, TERN_STUN_REQUEST);
	return tern_stun_type(method, TERN_STUN_REQUEST);
}

/* Build what p asks for into buf; returns its length. */
static size_t build_template(struct harness *h, int k, const uint8_t p[4], const uint8_t *payload,
                             size_t plen, uint8_t *buf, struct req_rec *rq)
{
	unsigned m = p[0] & 7u;
	uint16_t method = (const uint16_t[]){
	    TERN_TURN_ALLOCATE,     TERN_TURN_REFRESH, TERN_TURN_CREATE_PERMISSION,
	    TERN_TURN_CHANNEL_BIND, TERN_TURN_SEND,    0,
	    TERN_STUN_BINDING,      TERN_TURN_ALLOCATE}[m];
	uint8_t txid[TERN_STUN_TXID_LEN] = {'t', 'f', (uint8_t)k};
	struct tern_stun_builder b;
	size_t len = 0;

	if (m == 5) { /* by hand: the codec refuses to frame channel 0x3FFF */
		tern_channel_data_header(buf, channels[p[2] & 7], (uint16_t)plen);
		memcpy(buf + TERN_CHANNEL_HEADER_LEN, payload, plen);
		len = TERN_CHANNEL_HEADER_LEN + plen;
		while (model_clients[k].transport != TERN_TRANSPORT_UDP && len % 4 != 0)
			buf[len++] = 0;
		return len;
	}
	for (size_t i = 0; i < 8; i++)
		txid[4 + i] = (uint8_t)(h->txid_counter >> (8 * i));
	h->txid_counter++;
	fuzz_require(tern_stun_build_start(&b, buf, MSG_CAP,
	                                   template_type(m, p[0] >> 3 & 7u, method),
	                                   txid) == TERN_OK,
	             "build_start");
	if (m == 4) {
		tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, &model_peers[p[1] & 7]);
		tern_stun_add_raw(&b, TERN_ATTR_DATA, payload, plen);
		if (p[2] & 0x80)
			tern_stun_add_raw(&b, TERN_ATTR_DONT_FRAGMENT, NULL, 0);
	} else {
		build_body(h, p, &b);
		if (m != 6)
			add_auth(h, k, p[0], &b, rq);
	}
	if (!(p[3] & 0x80))
		tern_stun_add_fingerprint(&b);
	fuzz_require(tern_stun_build_finish(&b, &len) == TERN_OK, "template does not build");
	return len;
}

/* ------------------------------------------------------------ steps */

/* The datagram in a buffer of exactly its size (ASan sees overreads). */
static void send_datagram(struct harness *h, int k, const uint8_t *bytes, size_t len,
                          const struct req_rec *auth)
{
	uint8_t *copy = malloc(len ? len : 1);

	fuzz_require(copy != NULL, "malloc");
	memcpy(copy, bytes, len);
	model_record_request(h, k, copy, len, auth);
	client_call(h, k, copy, len);
	free(copy);
}

static void step_template(struct harness *h, unsigned arg)
{
	int k = (int)(arg & 7u);
	struct client_state *cs = &h->cl[k];
	uint8_t p[4], buf[MSG_CAP];
	const uint8_t *payload;
	struct req_rec auth = {0};
	size_t plen, len;

	for (size_t i = 0; i < 4; i++)
		p[i] = next_u8(h);
	plen = next_bytes(h, p[3] & 63u, &payload);
	if ((arg & 8) && cs->last_len > 0) {
		send_datagram(h, k, cs->last, cs->last_len, &auth);
		return;
	}
	len = build_template(h, k, p, payload, plen, buf, &auth);
	memcpy(cs->last, buf, len);
	cs->last_len = len;
	send_datagram(h, k, buf, len, &auth);
}

static void step_raw(struct harness *h, unsigned arg)
{
	int k = (int)(arg & 7u);
	size_t want = (size_t)next_u8(h) << 8 | next_u8(h), len;
	const uint8_t *bytes;
	struct tern_relay_stats before, after;
	struct req_rec unknown = {0};
	uint64_t deadline = tern_relay_next_deadline(h->r);

	len = next_bytes(h, want < MSG_CAP ? want : MSG_CAP, &bytes);
	if (arg & 8) {
		tern_relay_get_stats(h->r, &before);
		reset_out(h, TERN_RELAY_MAX_ACTIONS - 1);
		fuzz_require(tern_relay_client_input(h->r, h->now, &model_clients[k], bytes, len,
		                                     &h->out) == TERN_ERR_NO_SPACE &&
		                 h->out.n == 0,
		             "client input without room did not return TERN_ERR_NO_SPACE");
		tern_relay_get_stats(h->r, &after);
		fuzz_require(memcmp(&before, &after, sizeof(before)) == 0 &&
		                 deadline == tern_relay_next_deadline(h->r),
		             "client input refused for room changed state");
	}
	send_datagram(h, k, bytes, len, &unknown);
}

static void step_peer(struct harness *h, unsigned arg)
{
	const struct tern_addr *from = &model_peers[arg & 7u];
	uint8_t pick = next_u8(h);
	const uint8_t *payload;
	size_t len = next_bytes(h, next_u8(h), &payload);
	uint8_t *buf = malloc(TERN_RELAY_HEADROOM + len + TERN_RELAY_TAILROOM);
	uint32_t handle = 0x5A5A5A5Au ^ pick;
	struct call c = {CALL_PEER, NO_IDX, NO_IDX, buf, 0, NULL, len, from};

	fuzz_require(buf != NULL, "malloc");
	if (h->nhs > 0 && pick != 255) {
		handle = h->hs[pick % h->nhs].handle;
		c.hrec = model_find_handle(h, handle, H_BOUND);
	}
	memcpy(buf + TERN_RELAY_HEADROOM, payload, len);
	c.len = TERN_RELAY_HEADROOM + len + TERN_RELAY_TAILROOM;
	c.data = payload; /* the original: buf is rewritten around it */
	reset_out(h, OUT_ACTIONS);
	model_process(h, &c,
	              tern_relay_peer_input(h->r, h->now, handle, from, buf, TERN_RELAY_HEADROOM,
	                                    len, TERN_RELAY_TAILROOM, &h->out));
	free(buf);
}

/* Answer the (which)-th oldest pending OPEN; false if there is none. */
static bool answer_open(struct harness *h, unsigned which, int result)
{
	int order[N_HANDLES], n = 0, pick;
	struct call c = {CALL_OPENED, NO_IDX, NO_IDX, NULL, 0, NULL, 0, NULL};
	struct handle_rec *hr;
	uint64_t before = tern_relay_next_deadline(h->r);

	for (size_t i = 0; i < h->nhs; i++)
		if (h->hs[i].st == H_PENDING)
			order[n++] = (int)i;
	if (n == 0)
		return false;
	/* oldest first: insertion sort by seq */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && h->hs[order[j]].seq < h->hs[order[j - 1]].seq; j--)
			pick = order[j], order[j] = order[j - 1], order[j - 1] = pick;
	hr = &h->hs[order[which % (unsigned)n]];
	for (size_t i = 0; i < h->nhs && result == TERN_OK; i++)
		if (h->hs[i].st == H_BOUND && h->hs[i].fam == hr->fam && h->hs[i].port == hr->port)
			result = TERN_ERR_STATE; /* what a real bind() would say */
	hr->st = result == TERN_OK ? H_BOUND : H_DEAD;
	reset_out(h, OUT_ACTIONS);
	model_process(h, &c, tern_relay_opened(h->r, h->now, hr->handle, result, &h->out));
	check_deadline(h, before);
	return true;
}

static void step_closed(struct harness *h, unsigned arg)
{
	int k = (int)(arg & 7u);
	struct call c = {CALL_CLOSED, k, NO_IDX, NULL, 0, NULL, 0, NULL};

	reset_out(h, OUT_ACTIONS);
	model_process(h, &c, tern_relay_client_closed(h->r, h->now, &model_clients[k], &h->out));
	if (model_clients[k].transport == TERN_TRANSPORT_UDP)
		fuzz_require(h->out.n == 0, "a UDP 'connection' close changed something");
	else
		fuzz_require(!h->cl[k].alloc.live, "an allocation survived its connection");
}

static void step_reconfigure(struct harness *h)
{
	unsigned v = next_u8(h);
	struct tern_relay_config cfg;
	size_t live = h->hk.live;
	int rc;

	make_config(h, v, &cfg);
	if (v == 255)
		cfg.realm = "other.test";
	rc = tern_relay_reconfigure(h->r, &cfg);
	if (v == 255) {
		fuzz_require(rc == TERN_ERR_INVALID_ARG, "reconfigure accepted another realm");
		return;
	}
	if (rc == TERN_ERR_NOMEM) {
		fuzz_require(h->hk.live == live, "a failed reconfigure leaked");
		return;
	}
	fuzz_require(rc == TERN_OK, "reconfigure failed");
	apply_config(h, &cfg);
	model_policy_changed(h);
}

static void step_advance(struct harness *h, unsigned arg)
{
	static const uint64_t unit[4] = {1, 10, 1000, 10000};
	uint64_t v = (uint64_t)next_u8(h) << 8 | next_u8(h);

	h->now += v * unit[arg & 3u];
	if (arg & 4)
		tick(h);
}

static void step(struct harness *h)
{
	uint8_t op = next_u8(h);
	unsigned kind = op & 15u, arg = op >> 4;
	uint64_t d;

	if (kind <= 1) {
		step_advance(h, arg);
	} else if (kind <= 5) {
		step_template(h, arg);
	} else if (kind == 6) {
		step_raw(h, arg);
	} else if (kind <= 8) {
		step_peer(h, arg);
	} else if (kind <= 10) {
		static const int results[4] = {TERN_OK, TERN_ERR_STATE, TERN_ERR_CAPACITY, TERN_OK};

		(void)answer_open(h, arg >> 2, results[arg & 3u]);
	} else if (kind == 11) {
		d = tern_relay_next_deadline(h->r);
		if ((arg & 1) && d != UINT64_MAX && d > h->now && d - h->now <= FAR_MS)
			h->now = d;
		tick(h);
	} else if (kind == 12) {
		step_closed(h, arg);
	} else if (kind == 13) {
		step_reconfigure(h);
	} else if (kind == 14) {
		h->hk.fail_at = h->hk.calls + 1 + arg;
	} else {
		h->hk.entropy_fail = true;
	}
}

/* ------------------------------------------------------------ run */

static bool start(struct harness *h, const uint8_t *data, size_t size)
{
	struct tern_relay_config cfg;
	int rc;

	h->flags = data[0];
	h->cap_allocs = (h->flags & 0x80) ? 2 : 6;
	h->rate_cap = (h->flags & 0x40) ? 2 : 20;
	for (size_t i = 2; i < 6; i++)
		h->hk.rng = h->hk.rng << 8 | data[i];
	h->in = data;
	h->in_len = size;
	h->pos = 6;
	h->now = START_MS;
	make_config(h, 0, &cfg);
	if (data[1] != 0) { /* a create that fails must leave nothing behind */
		h->hk.fail_at = data[1];
		h->hk.entropy_fail = data[1] == 255;
		rc = tern_relay_create(&cfg, &h->r);
		h->hk.fail_at = 0;
		h->hk.entropy_fail = false;
		fuzz_require(rc == TERN_OK || h->hk.live == 0, "a failed create leaked");
		fuzz_require(rc == TERN_OK || h->r == NULL, "a failed create returned a relay");
	}
	if (h->r == NULL && tern_relay_create(&cfg, &h->r) != TERN_OK)
		return false;
	tern_relay_set_unix_time(h->r, h->now, UNIX_MS + h->now);
	apply_config(h, &cfg);
	return true;
}

/* Answer everything, let everything expire: nothing may be left. */
static void finish(struct harness *h)
{
	struct tern_relay_stats st;

	h->hk.fail_at = 0;
	h->hk.entropy_fail = false;
	for (int i = 0; i < 64 && answer_open(h, 0, TERN_OK); i++)
		continue;
	h->now += FAR_MS;
	tick(h);
	fuzz_require(tern_relay_next_deadline(h->r) == UINT64_MAX,
	             "something is still scheduled 10 days later");
	for (size_t i = 0; i < h->nhs; i++)
		fuzz_require(h->hs[i].st != H_BOUND, "a bound socket was never closed");
	tern_relay_get_stats(h->r, &st);
	fuzz_require(st.allocations == 0 && st.permissions == 0 && st.channels == 0,
	             "stats not back to zero after everything expired");
	tern_relay_destroy(h->r);
	fuzz_require(h->hk.live == 0, "blocks still allocated after tern_relay_destroy");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h;

	if (size < 6)
		return 0;
	h = calloc(1, sizeof(*h));
	fuzz_require(h != NULL, "calloc");
	if (start(h, data, size)) {
		for (unsigned i = 0; i < MAX_STEPS && h->pos < h->in_len; i++)
			step(h);
		finish(h);
	} else {
		fuzz_require(h->hk.live == 0, "a failed create leaked");
	}
	free(h);
	return 0;
}
