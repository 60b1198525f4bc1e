/* out.c - writing actions and scratch bytes into the caller's out buffer. */
#include "internal.h"

#include <string.h>

struct tern_relay_action *tern_rl_out_action(struct tern_relay_out *out)
{
	struct tern_relay_action *a;

	if (out->n >= out->cap)
		return NULL;
	a = &out->actions[out->n++];
	memset(a, 0, sizeof(*a));
	return a;
}

void tern_rl_out_event(struct tern_relay_out *out, const struct tern_relay_client *who,
                       enum tern_relay_event ev, uint16_t code)
{
	struct tern_relay_action *a = tern_rl_out_action(out);

	if (a == NULL)
		return; /* events are best effort; counters keep the totals */
	a->kind = TERN_ACT_EVENT;
	a->event = ev;
	a->code = code;
	if (who != NULL)
		a->client = *who;
}

uint8_t *tern_rl_out_scratch(struct tern_relay_out *out, size_t n)
{
	if (out->scratch == NULL || n > out->scratch_cap - out->scratch_len)
		return NULL;
	return out->scratch + out->scratch_len;
}

void tern_rl_out_commit_scratch(struct tern_relay_out *out, size_t used)
{
	out->scratch_len += used;
}

/*
 * Transaction ids for indications the relay originates: unique, not secret
 * (RFC 8489 §6: only requests need unpredictable ids), so a seeded counter
 * saves an entropy call per relayed packet.
 */
void tern_rl_next_txid(struct tern_relay *r, uint8_t txid[TERN_STUN_TXID_LEN])
{
	uint64_t c = ++r->txid_counter;

	memcpy(txid, r->txid_seed, TERN_STUN_TXID_LEN);
	for (size_t i = 0; i < 8; i++)
		txid[TERN_STUN_TXID_LEN - 1 - i] ^= (uint8_t)(c >> (8 * i));
}
