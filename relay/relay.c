/*
 * relay.c - the relay's entry points: creation and reconfiguration, input
 * dispatch, shell answers, timers and statistics.
 */
#include "internal.h"

#include <string.h>

#define MAX_ALLOCATIONS_LIMIT 262143u /* slots = 2 * allocations < 2^19 */

static uint64_t or_default(uint32_t v, uint32_t dflt)
{
	return (uint64_t)(v != 0 ? v : dflt) * MS_PER_S;
}

static bool config_valid(const struct tern_relay_config *c)
{
	uint16_t lo = c->min_port ? c->min_port : 49152;
	uint16_t hi = c->max_port ? c->max_port : 65535;

	return c->realm != NULL && strlen(c->realm) <= TERN_STUN_MAX_STRING &&
	       (c->software == NULL || strlen(c->software) <= TERN_STUN_MAX_STRING) && lo >= 1024 &&
	       lo <= hi && c->hooks.alloc != NULL && c->hooks.free != NULL &&
	       c->hooks.entropy != NULL && c->nonce_key != NULL && c->nonce_key_len >= 16 &&
	       c->max_allocations <= MAX_ALLOCATIONS_LIMIT &&
	       (c->relay_v4.family == TERN_AF_IPV4 || c->relay_v6.family == TERN_AF_IPV6) &&
	       (c->relay_v4.family == TERN_AF_IPV4 || c->relay_v4.family == TERN_AF_NONE) &&
	       (c->relay_v6.family == TERN_AF_IPV6 || c->relay_v6.family == TERN_AF_NONE) &&
	       (c->n_users == 0 || c->users != NULL) && (c->n_secrets == 0 || c->secrets != NULL);
}

static void *copy_array(struct tern_relay *r, const void *src, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = r->hooks.alloc(r->hooks.ctx, n * size);
	if (p != NULL)
		memcpy(p, src, n * size);
	return p;
}

static void free_policy(struct tern_relay *r, struct tern_peer_policy *p)
{
	r->hooks.free(r->hooks.ctx, (void *)(uintptr_t)p->allow);
	r->hooks.free(r->hooks.ctx, (void *)(uintptr_t)p->deny);
	r->hooks.free(r->hooks.ctx, (void *)(uintptr_t)p->own);
	memset(p, 0, sizeof(*p));
}

static int copy_policy(struct tern_relay *r, const struct tern_peer_policy *src,
                       struct tern_peer_policy *dst)
{
	*dst = *src;
	dst->allow = copy_array(r, src->allow, src->n_allow, sizeof(*src->allow));
	dst->deny = copy_array(r, src->deny, src->n_deny, sizeof(*src->deny));
	dst->own = copy_array(r, src->own, src->n_own, sizeof(*src->own));
	if ((src->n_allow && !dst->allow) || (src->n_deny && !dst->deny) ||
	    (src->n_own && !dst->own)) {
		free_policy(r, dst);
		return TERN_ERR_NOMEM;
	}
	return TERN_OK;
}

/* The settings SIGHUP may change. */
static void apply_tunables(struct tern_relay *r, const struct tern_relay_config *c)
{
	r->default_lifetime_ms = or_default(c->default_lifetime_s, 600);
	r->max_lifetime_ms = or_default(c->max_lifetime_s, 3600);
	if (r->max_lifetime_ms < r->default_lifetime_ms)
		r->max_lifetime_ms = r->default_lifetime_ms;
	r->permission_ms = or_default(c->permission_lifetime_s, 300);
	r->channel_ms = or_default(c->channel_lifetime_s, 600);
	r->nonce_ms = or_default(c->nonce_lifetime_s, 600);
	r->user_quota = c->user_quota;
	r->max_perms = c->max_permissions ? c->max_permissions : 32;
	r->max_chans = c->max_channels ? c->max_channels : 32;
	if (r->max_perms > 0xFFFF)
		r->max_perms = 0xFFFF;
	if (r->max_chans > 0xFFFF)
		r->max_chans = 0xFFFF;
	r->max_bps = c->max_bps;
	r->unauth_per_s = c->unauth_per_s ? c->unauth_per_s : 20;
	r->rfc5766_channels = c->rfc5766_channels;
	r->software_len = c->software ? strlen(c->software) : 0;
	memcpy(r->software, c->software ? c->software : "", r->software_len);
	for (size_t i = 0; i < RATE_BUCKETS; i++)
		r->rate[i].tokens = r->unauth_per_s;
}

static int init_state(struct tern_relay *r, const struct tern_relay_config *c)
{
	uint8_t rnd[8 + TERN_STUN_TXID_LEN];
	size_t max = c->max_allocations ? c->max_allocations : 10000;

	r->max_allocations = (uint32_t)max;
	r->nslots = (uint32_t)(2 * max);
	if (r->hooks.entropy(r->hooks.ctx, rnd, sizeof(rnd)) != 0)
		return TERN_ERR_CRYPTO;
	for (size_t i = 0; i < 8; i++)
		r->seed = r->seed << 8 | rnd[i];
	memcpy(r->txid_seed, rnd + 8, TERN_STUN_TXID_LEN);
	r->slots = r->hooks.alloc(r->hooks.ctx, r->nslots * sizeof(*r->slots));
	r->generation = r->hooks.alloc(r->hooks.ctx, r->nslots * sizeof(*r->generation));
	r->heap = r->hooks.alloc(r->hooks.ctx, r->nslots * sizeof(*r->heap));
	r->ports_used[FAM_V4] = r->hooks.alloc(r->hooks.ctx, 8192);
	r->ports_used[FAM_V6] = r->hooks.alloc(r->hooks.ctx, 8192);
	if (r->slots != NULL) /* tern_relay_destroy() walks it even after a failure */
		memset(r->slots, 0, r->nslots * sizeof(*r->slots));
	if (!r->slots || !r->generation || !r->heap || !r->ports_used[0] || !r->ports_used[1])
		return TERN_ERR_NOMEM;
	memset(r->generation, 0, r->nslots * sizeof(*r->generation));
	memset(r->ports_used[FAM_V4], 0, 8192);
	memset(r->ports_used[FAM_V6], 0, 8192);
	if (tern_rl_table_init(r, &r->by_five, max) != TERN_OK ||
	    tern_rl_table_init(r, &r->by_token, max) != TERN_OK ||
	    tern_rl_table_init(r, &r->by_user, max) != TERN_OK)
		return TERN_ERR_NOMEM;
	return TERN_OK;
}

static void init_fixed(struct tern_relay *r, const struct tern_relay_config *c)
{
	r->hooks = c->hooks;
	r->realm_len = strlen(c->realm);
	memcpy(r->realm, c->realm, r->realm_len);
	r->relay_addr[FAM_V4] = c->relay_v4;
	r->relay_addr[FAM_V6] = c->relay_v6;
	r->min_port = c->min_port ? c->min_port : 49152;
	r->max_port = c->max_port ? c->max_port : 65535;
	memset(r->nonce_key, 0, sizeof(r->nonce_key));
	tern_hmac_sha256(c->nonce_key, c->nonce_key_len, "tern nonce", 10, r->nonce_key);
}

int tern_relay_create(const struct tern_relay_config *cfg, struct tern_relay **out)
{
	struct tern_relay *r;
	int err;

	if (cfg == NULL || out == NULL || !config_valid(cfg))
		return TERN_ERR_INVALID_ARG;
	r = cfg->hooks.alloc(cfg->hooks.ctx, sizeof(*r));
	if (r == NULL)
		return TERN_ERR_NOMEM;
	memset(r, 0, sizeof(*r));
	init_fixed(r, cfg);
	apply_tunables(r, cfg);
	err = init_state(r, cfg);
	if (err == TERN_OK)
		err = copy_policy(r, &cfg->policy, &r->policy);
	if (err == TERN_OK)
		err = tern_rl_creds_build(r, cfg, &r->creds);
	if (err != TERN_OK) {
		tern_relay_destroy(r);
		return err;
	}
	r->policy.relay_min_port = r->min_port;
	r->policy.relay_max_port = r->max_port;
	*out = r;
	return TERN_OK;
}

void tern_relay_destroy(struct tern_relay *r)
{
	struct tern_relay_out none = {0};

	if (r == NULL)
		return;
	for (uint32_t i = 0; r->slots != NULL && i < r->nslots; i++)
		if (r->slots[i] != NULL)
			tern_rl_alloc_free(r, r->slots[i], &none);
	tern_rl_table_free(r, &r->by_five);
	tern_rl_table_free(r, &r->by_token);
	tern_rl_table_free(r, &r->by_user);
	tern_rl_creds_free(r, r->creds);
	free_policy(r, &r->policy);
	r->hooks.free(r->hooks.ctx, r->slots);
	r->hooks.free(r->hooks.ctx, r->generation);
	r->hooks.free(r->hooks.ctx, r->heap);
	r->hooks.free(r->hooks.ctx, r->ports_used[FAM_V4]);
	r->hooks.free(r->hooks.ctx, r->ports_used[FAM_V6]);
	memset(r->nonce_key, 0, sizeof(r->nonce_key));
	r->hooks.free(r->hooks.ctx, r);
}

/* After a policy change, nothing may keep relaying to a now-denied peer. */
static void purge_denied(struct tern_relay *r)
{
	for (uint32_t s = 0; s < r->nslots; s++) {
		struct relay_alloc *a = r->slots[s];

		for (uint16_t i = 0; a != NULL && i < a->nperms;) {
			/* checked as it was installed: same address, same port */
			if (tern_peer_allowed(&r->policy, &a->perms[i].ip)) {
				i++;
				continue;
			}
			a->perms[i] = a->perms[--a->nperms];
			r->stats.permissions--;
		}
		/* Channels to a denied peer stay bound until they expire: both
		 * data paths need the permission just removed, which cannot come
		 * back while the peer is denied (403). Cutting their lifetime short
		 * here, without a `now`, would put the next deadline in the past. */
	}
}

int tern_relay_reconfigure(struct tern_relay *r, const struct tern_relay_config *cfg)
{
	struct tern_peer_policy policy;
	struct relay_creds *creds;
	int err;

	if (r == NULL || cfg == NULL || !config_valid(cfg) || strlen(cfg->realm) != r->realm_len ||
	    memcmp(cfg->realm, r->realm, r->realm_len) != 0)
		return TERN_ERR_INVALID_ARG;
	err = copy_policy(r, &cfg->policy, &policy);
	if (err != TERN_OK)
		return err;
	err = tern_rl_creds_build(r, cfg, &creds);
	if (err != TERN_OK) {
		free_policy(r, &policy);
		return err;
	}
	tern_rl_creds_free(r, r->creds);
	r->creds = creds;
	free_policy(r, &r->policy);
	r->policy = policy;
	r->policy.relay_min_port = r->min_port;
	r->policy.relay_max_port = r->max_port;
	apply_tunables(r, cfg);
	purge_denied(r);
	return TERN_OK;
}

static bool out_has_room(const struct tern_relay_out *out, size_t actions, size_t scratch)
{
	return out->cap - out->n >= actions && out->scratch_cap - out->scratch_len >= scratch;
}

static void handle_binding(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                           const struct tern_stun_msg *msg, struct tern_relay_out *out)
{
	struct relay_reply rep = {from, msg->method, msg->txid, NULL, TERN_STUN_SUCCESS};
	struct tern_stun_builder b;

	if (msg->nunknown > 0) {
		tern_rl_reply_error(r, now, out, from, msg, NULL, 420);
		return;
	}
	/* RFC 8489 §7.3.1: XOR-MAPPED-ADDRESS is the request's source */
	if (tern_rl_reply_start(r, out, &rep, &b) != TERN_OK)
		return;
	(void)tern_stun_add_xor_address(&b, TERN_ATTR_XOR_MAPPED_ADDRESS, &from->client);
	tern_rl_reply_finish(r, out, &rep, &b);
}

static void handle_turn_request(struct tern_relay *r, uint64_t now,
                                const struct tern_relay_client *from,
                                const struct tern_stun_msg *msg, struct tern_relay_out *out)
{
	struct relay_auth auth;

	/* RFC 8656 §7.2 step 1 and §5: every TURN request is authenticated */
	tern_rl_authenticate(r, now, from, msg, &auth);
	if (auth.error != 0) {
		tern_rl_reply_error(r, now, out, from, msg, NULL, auth.error);
		return;
	}
	if (msg->nunknown > 0) {
		tern_rl_reply_error(r, now, out, from, msg, &auth, 420);
		return;
	}
	switch (msg->method) {
	case TERN_TURN_ALLOCATE:
		tern_rl_handle_allocate(r, now, from, msg, &auth, out);
		break;
	case TERN_TURN_REFRESH:
		tern_rl_handle_refresh(r, now, from, msg, &auth, out);
		break;
	case TERN_TURN_CREATE_PERMISSION:
		tern_rl_handle_permission(r, now, from, msg, &auth, out);
		break;
	default:
		tern_rl_handle_channel_bind(r, now, from, msg, &auth, out);
		break;
	}
}

static void handle_stun(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                        const uint8_t *buf, size_t len, struct tern_relay_out *out)
{
	struct tern_stun_msg msg;
	int err = tern_stun_parse(buf, len, &msg);

	if (err != TERN_OK || (msg.fp_index >= 0 && tern_stun_check_fingerprint(&msg) != TERN_OK)) {
		/* RFC 8489 §6.3: a request whose header parsed gets a 400 */
		if (msg.txid != NULL && msg.cls == TERN_STUN_REQUEST && err != TERN_ERR_NOT_STUN &&
		    err != TERN_OK)
			tern_rl_reply_error(r, now, out, from, &msg, NULL, 400);
		else
			tern_rl_drop(r, TERN_DROP_MALFORMED);
		return;
	}
	if (msg.cls == TERN_STUN_INDICATION && msg.method == TERN_TURN_SEND) {
		tern_rl_handle_send(r, now, from, &msg, out);
		return;
	}
	if (msg.cls != TERN_STUN_REQUEST) {
		tern_rl_drop(r, TERN_DROP_UNHANDLED); /* responses and other indications */
		return;
	}
	switch (msg.method) {
	case TERN_STUN_BINDING:
		handle_binding(r, now, from, &msg, out);
		break;
	case TERN_TURN_ALLOCATE:
	case TERN_TURN_REFRESH:
	case TERN_TURN_CREATE_PERMISSION:
	case TERN_TURN_CHANNEL_BIND:
		handle_turn_request(r, now, from, &msg, out);
		break;
	default:
		/* RFC 8489 §6.3: a method the server does not support is discarded */
		tern_rl_drop(r, TERN_DROP_UNHANDLED);
		break;
	}
}

int tern_relay_client_input(struct tern_relay *r, uint64_t now,
                            const struct tern_relay_client *from, const uint8_t *buf, size_t len,
                            struct tern_relay_out *out)
{
	if (r == NULL || from == NULL || out == NULL || (buf == NULL && len > 0))
		return TERN_ERR_INVALID_ARG;
	if (!out_has_room(out, TERN_RELAY_MAX_ACTIONS, TERN_RELAY_SCRATCH))
		return TERN_ERR_NO_SPACE;
	switch (tern_demux(buf, len)) {
	case TERN_DEMUX_STUN:
		handle_stun(r, now, from, buf, len, out);
		break;
	case TERN_DEMUX_CHANNEL_DATA:
		tern_rl_handle_channel_data(r, now, from, buf, len, out);
		break;
	case TERN_DEMUX_ZRTP:
	case TERN_DEMUX_DTLS:
	case TERN_DEMUX_RTP:
	case TERN_DEMUX_OTHER:
		tern_rl_drop(r, TERN_DROP_UNHANDLED);
		break;
	}
	return TERN_OK;
}

int tern_relay_opened(struct tern_relay *r, uint64_t now, uint32_t handle, int result,
                      struct tern_relay_out *out)
{
	if (r == NULL || out == NULL)
		return TERN_ERR_INVALID_ARG;
	if (!out_has_room(out, TERN_RELAY_MAX_ACTIONS, TERN_RELAY_SCRATCH))
		return TERN_ERR_NO_SPACE;
	tern_rl_handle_opened(r, now, handle, result, out);
	return TERN_OK;
}

int tern_relay_client_closed(struct tern_relay *r, uint64_t now,
                             const struct tern_relay_client *conn, struct tern_relay_out *out)
{
	struct relay_alloc *a;

	if (r == NULL || conn == NULL || out == NULL)
		return TERN_ERR_INVALID_ARG;
	if (!out_has_room(out, TERN_RELAY_MAX_ACTIONS, 0))
		return TERN_ERR_NO_SPACE;
	a = tern_rl_alloc_find(r, conn);
	if (a == NULL || conn->transport == TERN_TRANSPORT_UDP)
		return TERN_OK;
	(void)now;
	tern_rl_out_event(out, conn, TERN_EV_ALLOC_DELETED, 0);
	tern_rl_alloc_free(r, a, out);
	return TERN_OK;
}

int tern_relay_tick(struct tern_relay *r, uint64_t now, struct tern_relay_out *out)
{
	if (r == NULL || out == NULL)
		return TERN_ERR_INVALID_ARG;
	/* each expiry needs at most two CLOSEs and an event */
	while (r->heap_len > 0 && r->heap[0]->next_event <= now && out_has_room(out, 3, 0)) {
		struct relay_alloc *a = r->heap[0];
		bool active = a->state == ALLOC_ACTIVE;

		tern_rl_alloc_expire(r, a, now, out);
		if (!tern_rl_alloc_dead(a, now)) {
			tern_rl_alloc_schedule(r, a);
			continue;
		}
		if (active)
			tern_rl_out_event(out, &a->five, TERN_EV_ALLOC_EXPIRED, 0);
		tern_rl_alloc_free(r, a, out);
	}
	return TERN_OK;
}

uint64_t tern_relay_next_deadline(const struct tern_relay *r)
{
	return r->heap_len > 0 ? r->heap[0]->next_event : UINT64_MAX;
}

void tern_relay_set_unix_time(struct tern_relay *r, uint64_t now, uint64_t unix_ms)
{
	r->unix_offset_ms = (int64_t)unix_ms - (int64_t)now;
}

void tern_relay_get_stats(const struct tern_relay *r, struct tern_relay_stats *out)
{
	*out = r->stats;
}

void tern_relay_set_draining(struct tern_relay *r, bool draining)
{
	r->draining = draining;
}
