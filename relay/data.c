/*
 * data.c - the data path: Send indications and ChannelData from clients to
 * peers (RFC 8656 §11.2, §12.6), and peer datagrams back to clients as
 * ChannelData or Data indications (§11.3, §12.7), without copying payloads.
 */
#include "internal.h"

#include <string.h>

/* Token bucket per allocation (max-bps), refilled from now; burst 1 s. */
bool tern_rl_bucket_take(struct tern_relay *r, struct relay_alloc *a, uint64_t now, size_t bytes)
{
	uint64_t refill;

	if (r->max_bps == 0)
		return true;
	if (now > a->bucket_at) {
		refill = (now - a->bucket_at) * r->max_bps / MS_PER_S;
		a->bucket = a->bucket + refill > r->max_bps ? r->max_bps : a->bucket + refill;
		a->bucket_at = now;
	}
	if (bytes > a->bucket)
		return false;
	a->bucket -= bytes;
	return true;
}

static void to_peer(struct tern_relay *r, struct relay_alloc *a, const struct tern_addr *peer,
                    const uint8_t *data, size_t len, bool df, struct tern_relay_out *out)
{
	struct tern_relay_action *act = tern_rl_out_action(out);

	if (act == NULL) {
		tern_rl_drop(r, TERN_DROP_OVERFLOW);
		return;
	}
	act->kind = TERN_ACT_SEND_PEER;
	act->handle = a->side[tern_rl_fam_of(peer)].handle;
	act->peer = *peer;
	act->data = data;
	act->len = len;
	act->dont_fragment = df;
	r->stats.pkts_to_peer++;
	r->stats.bytes_to_peer += len;
}

/*
 * Why a Send indication from a must be dropped, or TERN_DROP_REASONS when
 * it may go to *peer (given with an IPv4-mapped or -compatible form read as
 * the IPv4 address it carries).
 */
static enum tern_relay_drop send_verdict(struct tern_relay *r, uint64_t now, struct relay_alloc *a,
                                         const struct tern_stun_msg *msg,
                                         const struct tern_attr *data, struct tern_addr *peer)
{
	const struct tern_attr *pa = tern_stun_find(msg, TERN_ATTR_XOR_PEER_ADDRESS);
	struct tern_addr given;
	enum tern_embed form;

	/* RFC 8489 §6.3.2: unknown comprehension-required attributes discard it */
	if (pa == NULL || data == NULL || msg->nunknown > 0 ||
	    tern_attr_get_xor_address(pa, msg->txid, &given) != TERN_OK)
		return TERN_DROP_MALFORMED;
	if (a == NULL || a->state != ALLOC_ACTIVE)
		return TERN_DROP_NO_ALLOCATION;
	form = tern_addr_embedded_v4(&given, peer);
	if (form != TERN_EMBED_MAPPED && form != TERN_EMBED_COMPAT)
		*peer = given;
	if (!tern_rl_side_live(a, tern_rl_fam_of(peer), now))
		return TERN_DROP_NO_ALLOCATION;
	if (!tern_peer_allowed(&r->policy, &given) || !tern_peer_allowed(&r->policy, peer))
		return TERN_DROP_DENIED_PEER;
	if (tern_rl_perm_find(a, peer, now) == NULL)
		return TERN_DROP_NO_PERMISSION;
	if (!tern_rl_bucket_take(r, a, now, data->len))
		return TERN_DROP_BANDWIDTH;
	return TERN_DROP_REASONS;
}

/* RFC 8656 §11.2: anything wrong with a Send indication drops it silently. */
void tern_rl_handle_send(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                         const struct tern_stun_msg *msg, struct tern_relay_out *out)
{
	struct relay_alloc *a = tern_rl_alloc_find(r, from);
	const struct tern_attr *data = tern_stun_find(msg, TERN_ATTR_DATA);
	struct tern_addr peer;
	enum tern_relay_drop why = send_verdict(r, now, a, msg, data, &peer);

	if (why != TERN_DROP_REASONS) {
		tern_rl_drop(r, why);
		return;
	}
	to_peer(r, a, &peer, data->value, data->len,
	        tern_stun_find(msg, TERN_ATTR_DONT_FRAGMENT) != NULL, out);
}

/*
 * RFC 8656 §12.6: ChannelData on an unbound (or, RFC 5766 numbers aside,
 * reserved 0x5000-0x7FFF) channel is dropped; so is one whose peer has no
 * live permission.
 */
void tern_rl_handle_channel_data(struct tern_relay *r, uint64_t now,
                                 const struct tern_relay_client *from, const uint8_t *buf,
                                 size_t len, struct tern_relay_out *out)
{
	struct tern_channel_data cd;
	struct relay_alloc *a;
	struct relay_chan *c = NULL;
	uint16_t max = r->rfc5766_channels ? TERN_CHANNEL_MAX_RFC5766 : TERN_CHANNEL_MAX_RFC8656;
	enum tern_relay_drop why = TERN_DROP_REASONS;

	if (tern_channel_data_parse(buf, len, from->transport != TERN_TRANSPORT_UDP, &cd) !=
	        TERN_OK ||
	    cd.channel > max)
		why = TERN_DROP_MALFORMED;
	else if ((a = tern_rl_alloc_find(r, from)) == NULL || a->state != ALLOC_ACTIVE)
		why = TERN_DROP_NO_ALLOCATION;
	else if ((c = tern_rl_chan_by_number(a, cd.channel)) == NULL || c->expires <= now ||
	         tern_rl_perm_find(a, &c->peer, now) == NULL)
		why = TERN_DROP_NO_PERMISSION;
	else if (!tern_rl_side_live(a, tern_rl_fam_of(&c->peer), now))
		why = TERN_DROP_NO_ALLOCATION;
	else if (!tern_rl_bucket_take(r, a, now, cd.len))
		why = TERN_DROP_BANDWIDTH;
	if (why != TERN_DROP_REASONS) {
		tern_rl_drop(r, why);
		return;
	}
	to_peer(r, a, &c->peer, cd.data, cd.len, false, out);
}

static void to_client(struct tern_relay *r, struct relay_alloc *a, const uint8_t *msg, size_t len,
                      size_t payload, struct tern_relay_out *out)
{
	struct tern_relay_action *act = tern_rl_out_action(out);

	if (act == NULL) {
		tern_rl_drop(r, TERN_DROP_OVERFLOW);
		return;
	}
	act->kind = TERN_ACT_SEND_CLIENT;
	act->client = a->five;
	act->data = msg;
	act->len = len;
	r->stats.pkts_to_client++;
	r->stats.bytes_to_client += payload;
}

/* ChannelData header in the headroom; zero padding to 4 over streams. */
static void channel_to_client(struct tern_relay *r, struct relay_alloc *a,
                              const struct relay_chan *c, uint8_t *data, size_t len,
                              struct tern_relay_out *out)
{
	size_t pad = 0;

	if (a->five.transport != TERN_TRANSPORT_UDP) {
		pad = (4u - len % 4u) % 4u;
		memset(data + len, 0, pad);
	}
	tern_channel_data_header(data - TERN_CHANNEL_HEADER_LEN, c->number, (uint16_t)len);
	to_client(r, a, data - TERN_CHANNEL_HEADER_LEN, TERN_CHANNEL_HEADER_LEN + len + pad, len,
	          out);
}

/*
 * Data indication built in place: the header and XOR-PEER-ADDRESS go into
 * the headroom so that the DATA value lands exactly on the payload.
 */
static void indication_to_client(struct tern_relay *r, struct relay_alloc *a,
                                 const struct tern_addr *peer, uint8_t *data, size_t len,
                                 struct tern_relay_out *out)
{
	size_t addr_len = peer->family == TERN_AF_IPV6 ? 20 : 8;
	size_t head = TERN_STUN_HEADER_LEN + 4 + addr_len + 4;
	uint8_t txid[TERN_STUN_TXID_LEN];
	struct tern_stun_builder b;
	uint8_t *value = NULL;
	size_t total;

	tern_rl_next_txid(r, txid);
	if (tern_stun_build_start(&b, data - head, head + len + 3,
	                          tern_stun_type(TERN_TURN_DATA, TERN_STUN_INDICATION),
	                          txid) != TERN_OK ||
	    tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, peer) != TERN_OK ||
	    tern_stun_add_reserve(&b, TERN_ATTR_DATA, len, &value) != TERN_OK || value != data ||
	    tern_stun_build_finish(&b, &total) != TERN_OK) {
		tern_rl_drop(r, TERN_DROP_OVERFLOW);
		return;
	}
	to_client(r, a, data - head, total, len, out);
}

int tern_relay_peer_input(struct tern_relay *r, uint64_t now, uint32_t handle,
                          const struct tern_addr *peer, uint8_t *buf, size_t headroom, size_t len,
                          size_t tailroom, struct tern_relay_out *out)
{
	enum fam_index f;
	struct relay_alloc *a;
	struct relay_chan *c;
	enum tern_relay_drop why = TERN_DROP_REASONS;

	if (r == NULL || peer == NULL || buf == NULL || out == NULL ||
	    headroom < TERN_RELAY_HEADROOM || tailroom < TERN_RELAY_TAILROOM ||
	    (peer->family != TERN_AF_IPV4 && peer->family != TERN_AF_IPV6))
		return TERN_ERR_INVALID_ARG;
	if (out->n >= out->cap)
		return TERN_ERR_NO_SPACE;
	a = tern_rl_alloc_by_handle(r, handle, &f);
	if (a == NULL || !tern_rl_side_live(a, f, now) || tern_rl_fam_of(peer) != f)
		why = TERN_DROP_NO_ALLOCATION;
	else if (len > 0xFFFFu - TERN_RELAY_HEADROOM)
		why = TERN_DROP_MALFORMED;
	else if (tern_rl_perm_find(a, peer, now) == NULL)
		why = TERN_DROP_NO_PERMISSION;
	else if (!tern_rl_bucket_take(r, a, now, len))
		why = TERN_DROP_BANDWIDTH;
	if (why != TERN_DROP_REASONS) {
		tern_rl_drop(r, why);
		return TERN_OK;
	}
	c = tern_rl_chan_by_peer(a, peer);
	if (c != NULL && c->expires > now)
		channel_to_client(r, a, c, buf + headroom, len, out);
	else
		indication_to_client(r, a, peer, buf + headroom, len, out);
	return TERN_OK;
}
