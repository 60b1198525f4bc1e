/*
 * turn.c - the TURN requests: Allocate (RFC 8656 §7), Refresh (§8),
 * CreatePermission (§10) and ChannelBind (§12).
 */
#include "internal.h"

#include <string.h>

#define PENDING_MS (30u * MS_PER_S)

/* What an Allocate request asks for, once validated. */
struct alloc_req {
	uint8_t want;      /* families, bit per enum fam_index */
	uint16_t af_error; /* ADDRESS-ERROR-CODE for the additional family */
	uint32_t lifetime_s;
	bool even, reserve, dont_fragment;
	bool has_token;
	uint64_t token;
};

static uint32_t clamp_lifetime(const struct tern_relay *r, const struct tern_stun_msg *msg)
{
	const struct tern_attr *lt = tern_stun_find(msg, TERN_ATTR_LIFETIME);
	uint32_t want = (uint32_t)(r->default_lifetime_ms / MS_PER_S);
	uint32_t v;

	/* RFC 8656 §7.2: min(requested, max), never below the default. */
	if (lt == NULL || tern_attr_get_u32(lt, &v) != TERN_OK || v < want)
		return want;
	if (v > r->max_lifetime_ms / MS_PER_S)
		return (uint32_t)(r->max_lifetime_ms / MS_PER_S);
	return v;
}

/* The family an allocation stands on: the first one it asked for. */
static enum fam_index main_fam(const struct relay_alloc *a)
{
	return (a->want & (1u << FAM_V4)) ? FAM_V4 : FAM_V6;
}

static bool offered(const struct tern_relay *r, enum fam_index f)
{
	return r->relay_addr[f].family != TERN_AF_NONE;
}

/* RFC 8656 §7.2 steps 3-7: transport, tokens, families. 0 or an error. */
static uint16_t parse_families(const struct tern_relay *r, const struct tern_stun_msg *msg,
                               struct alloc_req *q)
{
	const struct tern_attr *raf = tern_stun_find(msg, TERN_ATTR_REQUESTED_ADDRESS_FAMILY);
	const struct tern_attr *aaf = tern_stun_find(msg, TERN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	uint8_t fam = TERN_AF_IPV4;

	if (raf != NULL && aaf != NULL)
		return 400;
	if (q->has_token && (raf != NULL || aaf != NULL))
		return 400;
	if (q->has_token)
		return 0; /* the reserved port decides the family (redeem) */
	if (aaf != NULL) {
		if (tern_attr_get_u8(aaf, &fam) != TERN_OK || fam != TERN_AF_IPV6 || q->reserve)
			return 400;
		if (!offered(r, FAM_V4))
			return 440;
		q->want = 1u << FAM_V4;
		if (offered(r, FAM_V6))
			q->want |= 1u << FAM_V6;
		else
			q->af_error = 440;
		return 0;
	}
	if (raf != NULL && tern_attr_get_u8(raf, &fam) != TERN_OK)
		return 400;
	if (fam != TERN_AF_IPV4 && fam != TERN_AF_IPV6)
		return 440;
	if (!offered(r, fam == TERN_AF_IPV6 ? FAM_V6 : FAM_V4))
		return 440;
	q->want = (uint8_t)(1u << (fam == TERN_AF_IPV6 ? FAM_V6 : FAM_V4));
	return 0;
}

static uint16_t parse_allocate(const struct tern_relay *r, const struct tern_stun_msg *msg,
                               struct alloc_req *q)
{
	const struct tern_attr *rt = tern_stun_find(msg, TERN_ATTR_REQUESTED_TRANSPORT);
	const struct tern_attr *ep = tern_stun_find(msg, TERN_ATTR_EVEN_PORT);
	const struct tern_attr *tok = tern_stun_find(msg, TERN_ATTR_RESERVATION_TOKEN);
	uint8_t proto;

	memset(q, 0, sizeof(*q));
	if (rt == NULL || tern_attr_get_u8(rt, &proto) != TERN_OK)
		return 400;
	if (proto != 17) /* UDP; TCP (6) waits for RFC 6062 */
		return 442;
	if (ep != NULL && tern_attr_get_even_port(ep, &q->reserve) == TERN_OK)
		q->even = true;
	if (tok != NULL) {
		if (ep != NULL || tern_attr_get_u64(tok, &q->token) != TERN_OK)
			return 400;
		q->has_token = true;
	}
	q->dont_fragment = tern_stun_find(msg, TERN_ATTR_DONT_FRAGMENT) != NULL;
	q->lifetime_s = clamp_lifetime(r, msg);
	return parse_families(r, msg, q);
}

static bool match_digest(const void *item, const void *key)
{
	return memcmp(((const struct relay_user_count *)item)->digest, key, USERNAME_DIGEST_LEN) ==
	       0;
}

/* Count one more allocation for this user; 486 over quota, 508 on memory. */
static uint16_t user_take(struct tern_relay *r, struct relay_alloc *a, const uint8_t *digest)
{
	uint64_t h = tern_rl_hash(digest, USERNAME_DIGEST_LEN, r->seed);
	struct relay_user_count *u = tern_rl_table_find(&r->by_user, h, match_digest, digest);

	if (u != NULL && r->user_quota != 0 && u->count >= r->user_quota)
		return 486;
	if (u == NULL) {
		u = r->hooks.alloc(r->hooks.ctx, sizeof(*u));
		if (u == NULL)
			return 508;
		memcpy(u->digest, digest, USERNAME_DIGEST_LEN);
		u->count = 0;
		tern_rl_table_insert(&r->by_user, h, u);
	}
	u->count++;
	a->user = u;
	return 0;
}

static void set_owner(struct tern_relay *r, struct relay_alloc *a,
                      const struct tern_relay_client *from, const struct tern_stun_msg *msg,
                      const struct relay_auth *auth, const struct alloc_req *q)
{
	a->five = *from;
	memcpy(a->txid, msg->txid, TERN_STUN_TXID_LEN);
	memcpy(a->digest, auth->digest, USERNAME_DIGEST_LEN);
	memcpy(a->key, auth->key, auth->key_len);
	a->key_len = (uint8_t)auth->key_len;
	a->sha256_mi = auth->sha256_mi;
	a->dont_fragment = q->dont_fragment;
	a->even_port = q->even;
	a->reserve_next = q->reserve;
	a->lifetime_s = q->lifetime_s;
	a->want = q->want;
	if (q->af_error != 0)
		a->side[FAM_V6].error = q->af_error;
	tern_rl_alloc_link_five(r, a);
}

/* Emit OPEN for family f of a on a fresh random port; false if none. */
static bool start_open(struct tern_relay *r, uint64_t now, struct relay_alloc *a, enum fam_index f,
                       struct tern_relay_out *out)
{
	struct relay_side *s = &a->side[f];
	struct tern_relay_action *act;
	uint16_t port =
	    a->state == ALLOC_RESERVED ? s->port : tern_rl_port_pick(r, f, a->even_port);

	if (port == 0 || (act = tern_rl_out_action(out)) == NULL) {
		if (port != 0 && a->state != ALLOC_RESERVED)
			tern_rl_port_release(r, f, port);
		return false;
	}
	s->port = port;
	s->handle = tern_rl_alloc_handle(r, a, f);
	s->expires = now + PENDING_MS;
	act->kind = TERN_ACT_OPEN;
	act->handle = s->handle;
	act->peer = r->relay_addr[f];
	act->peer.port = port;
	act->dont_fragment = a->dont_fragment;
	tern_rl_alloc_schedule(r, a);
	return true;
}

static void fail_side(struct relay_alloc *a, enum fam_index f, uint16_t code)
{
	a->side[f].handle = 0;
	a->side[f].port = 0;
	a->side[f].failed = true;
	a->side[f].error = code;
}

/* Reserve port + 1 for EVEN-PORT R=1 as a RESERVED twin (RFC 8656 §7.2). */
static bool start_twin(struct tern_relay *r, uint64_t now, struct relay_alloc *a,
                       struct tern_relay_out *out)
{
	enum fam_index f = main_fam(a);
	uint16_t next = (uint16_t)(a->side[f].port + 1);
	struct relay_alloc *t;
	uint8_t rnd[8];

	if (tern_rl_port_taken(r, f, next) ||
	    r->hooks.entropy(r->hooks.ctx, rnd, sizeof(rnd)) != 0 ||
	    (t = tern_rl_alloc_new(r, ALLOC_RESERVED)) == NULL)
		return false;
	for (size_t i = 0; i < 8; i++)
		t->token = t->token << 8 | rnd[i];
	t->token |= 1; /* never 0: the token is its own table hash */
	tern_rl_port_take(r, f, next);
	t->side[f].port = next;
	t->want = (uint8_t)(1u << f);
	t->reservation = a;
	a->reservation = t;
	if (!start_open(r, now, t, f, out)) {
		tern_rl_alloc_free(r, t, out);
		return false;
	}
	return true;
}

static void allocate_fail(struct tern_relay *r, struct relay_alloc *a, uint16_t code,
                          struct tern_relay_out *out)
{
	struct relay_auth auth = {0};
	struct tern_relay_client to = a->five;
	uint8_t txid[TERN_STUN_TXID_LEN];
	struct relay_reply rep = {&to, TERN_TURN_ALLOCATE, txid, &auth, TERN_STUN_ERROR};
	struct tern_stun_builder b;

	memcpy(txid, a->txid, sizeof(txid));
	memcpy(auth.key, a->key, a->key_len);
	auth.key_len = a->key_len;
	auth.sha256_mi = a->sha256_mi;
	tern_rl_alloc_free(r, a, out);
	if (tern_rl_reply_start(r, out, &rep, &b) != TERN_OK)
		return;
	(void)tern_stun_add_error_code(&b, code, NULL, 0);
	tern_rl_reply_finish(r, out, &rep, &b);
	r->stats.errors_sent++;
	tern_rl_out_event(out, &to, code == 508 ? TERN_EV_PORT_EXHAUSTED : TERN_EV_ERROR_SENT,
	                  code);
}

static void activate(struct tern_relay *r, uint64_t now, struct relay_alloc *a,
                     struct tern_relay_out *out)
{
	struct relay_alloc *t = a->reservation;

	a->state = ALLOC_ACTIVE;
	a->bucket = r->max_bps; /* max-bps: a full second's burst to start with */
	a->bucket_at = now;
	for (int f = 0; f < FAM_COUNT; f++)
		if (a->side[f].handle != 0)
			a->side[f].expires = now + (uint64_t)a->lifetime_s * MS_PER_S;
	if (t != NULL) {
		a->token = t->token;
		t->reservation = NULL;
		a->reservation = NULL;
		t->side[main_fam(t)].expires = now + RESERVATION_MS;
		tern_rl_table_insert(&r->by_token, t->token, t);
		tern_rl_alloc_schedule(r, t);
	}
	tern_rl_alloc_schedule(r, a);
	r->stats.allocations++;
	tern_rl_send_success(r, a, out);
	tern_rl_out_event(out, &a->five, TERN_EV_ALLOC_CREATED, 0);
}

/*
 * Drive a PENDING allocation: open its families one at a time, then the
 * reservation twin, then answer. One OPEN is in flight at a time, so the
 * shell's answers cannot race each other.
 */
void tern_rl_allocate_complete(struct tern_relay *r, uint64_t now, struct relay_alloc *a,
                               struct tern_relay_out *out)
{
	for (int f = 0; f < FAM_COUNT; f++) {
		struct relay_side *s = &a->side[f];

		if (!(a->want & (1u << f)) || s->open || s->failed)
			continue;
		if (s->handle != 0)
			return; /* waiting for the shell */
		if (!start_open(r, now, a, (enum fam_index)f, out))
			fail_side(a, (enum fam_index)f, 508);
		if (s->handle != 0)
			return;
	}
	if (!a->side[main_fam(a)].open) {
		allocate_fail(r, a, 508, out);
		return;
	}
	if (a->reserve_next && a->reservation == NULL && a->token == 0) {
		if (!start_twin(r, now, a, out))
			allocate_fail(r, a, 508, out);
		return;
	}
	if (a->reservation != NULL && !a->reservation->side[main_fam(a->reservation)].open)
		return;
	activate(r, now, a, out);
}

void tern_rl_send_success(struct tern_relay *r, struct relay_alloc *a, struct tern_relay_out *out)
{
	struct relay_auth auth = {0};
	struct relay_reply rep = {&a->five, TERN_TURN_ALLOCATE, a->txid, &auth, TERN_STUN_SUCCESS};
	struct tern_stun_builder b;

	memcpy(auth.key, a->key, a->key_len);
	auth.key_len = a->key_len;
	auth.sha256_mi = a->sha256_mi;
	if (tern_rl_reply_start(r, out, &rep, &b) != TERN_OK)
		return;
	for (int f = 0; f < FAM_COUNT; f++) {
		struct tern_addr relayed = r->relay_addr[f];

		relayed.port = a->side[f].port;
		if (a->side[f].open)
			(void)tern_stun_add_xor_address(&b, TERN_ATTR_XOR_RELAYED_ADDRESS,
			                                &relayed);
		else if (a->side[f].error != 0)
			(void)tern_stun_add_address_error_code(&b, f == FAM_V4 ? 1 : 2,
			                                       a->side[f].error, NULL, 0);
	}
	(void)tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, a->lifetime_s);
	if (a->token != 0)
		(void)tern_stun_add_u64(&b, TERN_ATTR_RESERVATION_TOKEN, a->token);
	(void)tern_stun_add_xor_address(&b, TERN_ATTR_XOR_MAPPED_ADDRESS, &a->five.client);
	tern_rl_reply_finish(r, out, &rep, &b);
}

static bool match_ptr_token(const void *item, const void *key)
{
	uint64_t token;

	memcpy(&token, key, sizeof(token)); /* STYLE rule 7: no wider pointer casts */
	return ((const struct relay_alloc *)item)->token == token;
}

/* RFC 8656 §7.2: a RESERVATION-TOKEN turns the held port into the allocation. */
static uint16_t redeem(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                       const struct tern_stun_msg *msg, const struct relay_auth *auth,
                       struct alloc_req *q, struct tern_relay_out *out)
{
	struct relay_alloc *t =
	    tern_rl_table_find(&r->by_token, q->token, match_ptr_token, &q->token);
	uint16_t err;

	if (t == NULL || t->state != ALLOC_RESERVED || !t->side[main_fam(t)].open)
		return 508;
	tern_rl_table_remove(&r->by_token, t->token, t);
	t->token = 0;
	err = user_take(r, t, auth->digest); /* 486 over quota, 508 out of memory */
	if (err != 0) {
		tern_rl_table_insert(&r->by_token, t->token = q->token, t);
		return err;
	}
	t->state = ALLOC_PENDING;
	r->nallocs++;
	q->want = t->want;
	q->reserve = false;
	set_owner(r, t, from, msg, auth, q);
	activate(r, now, t, out);
	return 0;
}

void tern_rl_handle_allocate(struct tern_relay *r, uint64_t now,
                             const struct tern_relay_client *from, const struct tern_stun_msg *msg,
                             const struct relay_auth *auth, struct tern_relay_out *out)
{
	struct relay_alloc *a = tern_rl_alloc_find(r, from);
	struct alloc_req q;
	uint16_t err;

	if (a != NULL && a->state == ALLOC_ACTIVE && !tern_rl_alloc_live(a, now)) {
		/* expired, not yet swept by tern_relay_tick(): it is gone */
		tern_rl_out_event(out, &a->five, TERN_EV_ALLOC_EXPIRED, 0);
		tern_rl_alloc_free(r, a, out);
		a = NULL;
	}
	if (a != NULL) {
		/* RFC 8656 §7.2: a retransmission gets the same answer; else 437 */
		bool same = memcmp(a->txid, msg->txid, TERN_STUN_TXID_LEN) == 0 &&
		            memcmp(a->digest, auth->digest, USERNAME_DIGEST_LEN) == 0;

		if (same && a->state == ALLOC_ACTIVE)
			tern_rl_send_success(r, a, out);
		else if (!same)
			tern_rl_reply_error(r, now, out, from, msg, auth, 437);
		return;
	}
	err = parse_allocate(r, msg, &q);
	if (err == 0 && (r->nallocs >= r->max_allocations || r->draining))
		err = 508;
	if (err == 0 && q.has_token) {
		err = redeem(r, now, from, msg, auth, &q, out);
		if (err == 0)
			return;
	}
	if (err == 0 && (a = tern_rl_alloc_new(r, ALLOC_PENDING)) == NULL)
		err = 508;
	if (err == 0 && (err = user_take(r, a, auth->digest)) != 0)
		tern_rl_alloc_free(r, a, out);
	if (err != 0) {
		tern_rl_reply_error(r, now, out, from, msg, auth, err);
		return;
	}
	set_owner(r, a, from, msg, auth, &q);
	tern_rl_allocate_complete(r, now, a, out);
}

/*
 * Port + 1 of an EVEN-PORT R=1 pair could not be bound (another worker or
 * process holds it): give the pair up and try another one, a bounded
 * number of times, before answering 508.
 */
static void twin_failed(struct tern_relay *r, uint64_t now, struct relay_alloc *twin,
                        enum fam_index f, int result, struct tern_relay_out *out)
{
	struct relay_alloc *owner = twin->reservation;
	uint16_t busy = twin->side[f].port;
	uint16_t first;
	uint8_t attempts;

	tern_rl_alloc_free(r, twin, out);
	if (owner == NULL)
		return;
	attempts = owner->side[f].attempts;
	if (result != TERN_ERR_STATE || attempts + 1u >= MAX_OPEN_ATTEMPTS) {
		allocate_fail(r, owner, 508, out);
		return;
	}
	/* keep both ports marked while the next pair is picked */
	first = owner->side[f].port;
	tern_rl_side_close(r, owner, f, out);
	owner->side[f].attempts = (uint8_t)(attempts + 1);
	tern_rl_port_take(r, f, busy);
	tern_rl_port_take(r, f, first);
	tern_rl_allocate_complete(r, now, owner, out);
	tern_rl_port_release(r, f, busy);
	tern_rl_port_release(r, f, first);
}

/*
 * The shell's answer to an OPEN. A stale handle that did bind is closed
 * again; "in use" retries another port; anything else fails that family.
 */
void tern_rl_handle_opened(struct tern_relay *r, uint64_t now, uint32_t handle, int result,
                           struct tern_relay_out *out)
{
	enum fam_index f;
	struct relay_alloc *a = tern_rl_alloc_by_handle(r, handle, &f);
	struct tern_relay_action *act;
	struct relay_side *s;
	uint16_t busy = 0;

	if (a == NULL || a->side[f].open || (a->state == ALLOC_ACTIVE)) {
		if (a == NULL && result == TERN_OK && (act = tern_rl_out_action(out)) != NULL) {
			act->kind = TERN_ACT_CLOSE;
			act->handle = handle;
		}
		return;
	}
	s = &a->side[f];
	if (result == TERN_OK) {
		s->open = true;
	} else if (a->state == ALLOC_RESERVED) {
		twin_failed(r, now, a, f, result, out);
		return;
	} else {
		/* the busy port stays marked until another one is picked */
		busy = s->port;
		s->handle = 0;
		s->port = 0;
		if (result != TERN_ERR_STATE || ++s->attempts >= MAX_OPEN_ATTEMPTS)
			fail_side(a, f, 508);
	}
	tern_rl_allocate_complete(r, now, a->state == ALLOC_RESERVED ? a->reservation : a, out);
	if (busy != 0)
		tern_rl_port_release(r, f, busy);
}
