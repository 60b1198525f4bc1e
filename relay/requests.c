/*
 * requests.c - Refresh (RFC 8656 §8), CreatePermission (§10) and
 * ChannelBind (§12) on an existing allocation.
 */
#include "internal.h"

#include <string.h>

/*
 * The allocation a request on this 5-tuple addresses, or 0 and an error:
 * 437 when there is none (or it is not established), 441 when another
 * user signed the request (RFC 8656 §5).
 */
static uint16_t owned(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                      const struct relay_auth *auth, struct relay_alloc **out)
{
	struct relay_alloc *a = tern_rl_alloc_find(r, from);

	if (a == NULL || !tern_rl_alloc_live(a, now))
		return 437;
	if (memcmp(a->digest, auth->digest, USERNAME_DIGEST_LEN) != 0)
		return 441;
	*out = a;
	return 0;
}

static void reply_ok(struct tern_relay *r, struct tern_relay_out *out,
                     const struct tern_relay_client *from, const struct tern_stun_msg *msg,
                     const struct relay_auth *auth, const uint32_t *lifetime)
{
	struct relay_reply rep = {from, msg->method, msg->txid, auth, TERN_STUN_SUCCESS};
	struct tern_stun_builder b;

	if (tern_rl_reply_start(r, out, &rep, &b) != TERN_OK)
		return;
	if (lifetime != NULL)
		(void)tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, *lifetime);
	tern_rl_reply_finish(r, out, &rep, &b);
}

static uint32_t refresh_lifetime(const struct tern_relay *r, const struct tern_stun_msg *msg)
{
	const struct tern_attr *lt = tern_stun_find(msg, TERN_ATTR_LIFETIME);
	uint32_t v;
	uint32_t dflt = (uint32_t)(r->default_lifetime_ms / MS_PER_S);
	uint32_t max = (uint32_t)(r->max_lifetime_ms / MS_PER_S);

	if (lt == NULL || tern_attr_get_u32(lt, &v) != TERN_OK)
		return dflt;
	if (v == 0)
		return 0;
	return v > max ? max : (v < dflt ? dflt : v);
}

/*
 * RFC 8656 §8: LIFETIME 0 deletes, anything else sets the lifetime. With
 * REQUESTED-ADDRESS-FAMILY only that family of a dual allocation is
 * refreshed or deleted; a family the allocation lacks gets 443.
 */
void tern_rl_handle_refresh(struct tern_relay *r, uint64_t now,
                            const struct tern_relay_client *from, const struct tern_stun_msg *msg,
                            const struct relay_auth *auth, struct tern_relay_out *out)
{
	const struct tern_attr *raf = tern_stun_find(msg, TERN_ATTR_REQUESTED_ADDRESS_FAMILY);
	struct relay_alloc *a = NULL;
	uint16_t err = owned(r, now, from, auth, &a);
	uint32_t lifetime = refresh_lifetime(r, msg);
	uint8_t fam = 0;
	uint8_t sides = 3;

	if (err == 0 && raf != NULL) {
		if (tern_attr_get_u8(raf, &fam) != TERN_OK ||
		    (fam != TERN_AF_IPV4 && fam != TERN_AF_IPV6))
			err = 400;
		else if (a->side[fam == TERN_AF_IPV6 ? FAM_V6 : FAM_V4].handle == 0)
			err = 443;
		sides = (uint8_t)(1u << (fam == TERN_AF_IPV6 ? FAM_V6 : FAM_V4));
	}
	if (err != 0) {
		tern_rl_reply_error(r, now, out, from, msg, auth, err);
		return;
	}
	for (int f = 0; f < FAM_COUNT; f++)
		if ((sides & (1u << f)) && a->side[f].handle != 0)
			a->side[f].expires = now + (uint64_t)lifetime * MS_PER_S;
	reply_ok(r, out, from, msg, auth, &lifetime);
	if (lifetime > 0) {
		a->lifetime_s = lifetime;
		tern_rl_alloc_schedule(r, a);
		return;
	}
	tern_rl_alloc_expire(r, a, now, out);
	if (tern_rl_alloc_dead(a, now)) {
		tern_rl_out_event(out, from, TERN_EV_ALLOC_DELETED, 0);
		tern_rl_alloc_free(r, a, out);
	} else {
		tern_rl_alloc_schedule(r, a);
	}
}

/*
 * A peer address as the relay will use it: IPv4-mapped and -compatible
 * forms become IPv4 (DESIGN: canonicalise before any check), then it must
 * be allowed (403) and of a family the allocation relays (443).
 */
static uint16_t check_peer(const struct tern_relay *r, const struct relay_alloc *a,
                           const struct tern_stun_msg *msg, const struct tern_attr *attr,
                           bool ip_only, struct tern_addr *peer)
{
	struct tern_addr given, v4;
	enum tern_embed form;

	if (tern_attr_get_xor_address(attr, msg->txid, &given) != TERN_OK)
		return 400;
	/* §10.2: a permission's port "may be any arbitrary value", 0 too (which
	 * the policy denies); the data path checks the real port */
	if (ip_only && given.port == 0)
		given.port = PERMISSION_ANY_PORT;
	form = tern_addr_embedded_v4(&given, &v4);
	*peer = (form == TERN_EMBED_MAPPED || form == TERN_EMBED_COMPAT) ? v4 : given;
	if (!tern_peer_allowed(&r->policy, &given) || !tern_peer_allowed(&r->policy, peer))
		return 403;
	if (!a->side[tern_rl_fam_of(peer)].open)
		return 443;
	return 0;
}

void tern_rl_handle_permission(struct tern_relay *r, uint64_t now,
                               const struct tern_relay_client *from,
                               const struct tern_stun_msg *msg, const struct relay_auth *auth,
                               struct tern_relay_out *out)
{
	const struct tern_attr *first = tern_stun_find(msg, TERN_ATTR_XOR_PEER_ADDRESS);
	struct tern_addr peers[TERN_STUN_MAX_ATTRS];
	size_t n = 0;
	struct relay_alloc *a = NULL;
	uint16_t err = owned(r, now, from, auth, &a);

	if (err == 0 && first == NULL)
		err = 400;
	/* RFC 8656 §10.2: check every peer before installing any */
	for (const struct tern_attr *p = first; err == 0 && p != NULL;
	     p = tern_stun_find_next(msg, p))
		err = check_peer(r, a, msg, p, true, &peers[n++]);
	if (err == 0 && tern_rl_perm_reserve(r, a, peers, n) != TERN_OK)
		err = 508;
	for (size_t i = 0; err == 0 && i < n; i++)
		if (tern_rl_perm_install(r, a, &peers[i], now) != TERN_OK)
			err = 508;
	if (err != 0) {
		tern_rl_reply_error(r, now, out, from, msg, auth, err);
		return;
	}
	tern_rl_alloc_schedule(r, a);
	reply_ok(r, out, from, msg, auth, NULL);
	tern_rl_out_event(out, from, TERN_EV_PERMISSION_CREATED, 0);
}

void tern_rl_handle_channel_bind(struct tern_relay *r, uint64_t now,
                                 const struct tern_relay_client *from,
                                 const struct tern_stun_msg *msg, const struct relay_auth *auth,
                                 struct tern_relay_out *out)
{
	const struct tern_attr *cn = tern_stun_find(msg, TERN_ATTR_CHANNEL_NUMBER);
	const struct tern_attr *pa = tern_stun_find(msg, TERN_ATTR_XOR_PEER_ADDRESS);
	uint16_t max = r->rfc5766_channels ? TERN_CHANNEL_MAX_RFC5766 : TERN_CHANNEL_MAX_RFC8656;
	struct relay_alloc *a = NULL;
	struct tern_addr peer;
	uint16_t number = 0;
	uint16_t err = owned(r, now, from, auth, &a);
	int bind;

	if (err == 0 && (cn == NULL || pa == NULL || tern_attr_get_u16(cn, &number) != TERN_OK ||
	                 number < TERN_CHANNEL_MIN || number > max))
		err = 400;
	if (err == 0)
		err = check_peer(r, a, msg, pa, false, &peer);
	if (err == 0 && tern_rl_perm_reserve(r, a, &peer, 1) != TERN_OK)
		err = 508;
	if (err == 0) {
		/* §12.2: rebinding rules (400), then the implied permission */
		bind = tern_rl_chan_bind(r, a, number, &peer, now);
		if (bind == TERN_ERR_STATE)
			err = 400;
		else if (bind != TERN_OK || tern_rl_perm_install(r, a, &peer, now) != TERN_OK)
			err = 508;
	}
	if (err != 0) {
		tern_rl_reply_error(r, now, out, from, msg, auth, err);
		return;
	}
	tern_rl_alloc_schedule(r, a);
	reply_ok(r, out, from, msg, auth, NULL);
	tern_rl_out_event(out, from, TERN_EV_CHANNEL_BOUND, number);
}
