/*
 * alloc.c - allocations: slots and handles, the 5-tuple table, the expiry
 * heap, relay port bitmaps, permissions and channel bindings.
 */
#include "internal.h"

#include <string.h>

#define HANDLE_SLOT_BITS 19u
#define NO_HEAP          UINT32_MAX

enum fam_index tern_rl_fam_of(const struct tern_addr *a)
{
	return a->family == TERN_AF_IPV6 ? FAM_V6 : FAM_V4;
}

static bool same_ip(const struct tern_addr *a, const struct tern_addr *b)
{
	size_t n = a->family == TERN_AF_IPV6 ? 16 : 4;

	return a->family == b->family && memcmp(a->addr, b->addr, n) == 0;
}

static bool same_addr(const struct tern_addr *a, const struct tern_addr *b)
{
	return same_ip(a, b) && a->port == b->port;
}

/* --------------------------------------------------------- 5-tuples */

/* The 5-tuple as hashable bytes: transport, both addresses, both ports. */
static size_t five_key(const struct tern_relay_client *c, uint8_t key[40])
{
	size_t n = 0;

	key[n++] = (uint8_t)c->transport;
	key[n++] = c->client.family;
	memcpy(key + n, c->client.addr, 16);
	n += 16;
	memcpy(key + n, c->server.addr, 16);
	n += 16;
	key[n++] = (uint8_t)(c->client.port >> 8);
	key[n++] = (uint8_t)c->client.port;
	key[n++] = (uint8_t)(c->server.port >> 8);
	key[n++] = (uint8_t)c->server.port;
	return n;
}

uint64_t tern_rl_five_hash(const struct tern_relay *r, const struct tern_relay_client *c)
{
	uint8_t key[40] = {0};
	size_t n = five_key(c, key);

	return tern_rl_hash(key, n, r->seed);
}

static bool match_five(const void *item, const void *key)
{
	const struct relay_alloc *a = item;
	const struct tern_relay_client *c = key;

	return a->five.transport == c->transport && same_addr(&a->five.client, &c->client) &&
	       same_addr(&a->five.server, &c->server);
}

struct relay_alloc *tern_rl_alloc_find(const struct tern_relay *r,
                                       const struct tern_relay_client *c)
{
	return tern_rl_table_find(&r->by_five, tern_rl_five_hash(r, c), match_five, c);
}

void tern_rl_alloc_link_five(struct tern_relay *r, struct relay_alloc *a)
{
	a->hash = tern_rl_five_hash(r, &a->five);
	tern_rl_table_insert(&r->by_five, a->hash, a);
}

/* ---------------------------------------------------------- handles */

uint32_t tern_rl_alloc_handle(const struct tern_relay *r, const struct relay_alloc *a,
                              enum fam_index fam)
{
	uint32_t gen = r->generation[a->slot] & 0xFFFu;

	return gen << (HANDLE_SLOT_BITS + 1) | a->slot << 1 | (uint32_t)fam;
}

struct relay_alloc *tern_rl_alloc_by_handle(const struct tern_relay *r, uint32_t handle,
                                            enum fam_index *fam)
{
	uint32_t slot = (handle >> 1) & ((1u << HANDLE_SLOT_BITS) - 1);
	struct relay_alloc *a;

	if (slot >= r->nslots || (a = r->slots[slot]) == NULL)
		return NULL;
	*fam = (enum fam_index)(handle & 1u);
	if (a->side[*fam].handle != handle)
		return NULL;
	return a;
}

struct relay_alloc *tern_rl_alloc_new(struct tern_relay *r, enum alloc_state state)
{
	struct relay_alloc *a;
	uint32_t slot = r->free_hint;

	for (uint32_t i = 0; i < r->nslots && r->slots[slot] != NULL; i++)
		slot = (slot + 1) % r->nslots;
	if (r->slots[slot] != NULL)
		return NULL;
	a = r->hooks.alloc(r->hooks.ctx, sizeof(*a));
	if (a == NULL)
		return NULL;
	memset(a, 0, sizeof(*a));
	a->state = state;
	a->slot = slot;
	a->heap_index = NO_HEAP;
	a->next_event = UINT64_MAX;
	r->slots[slot] = a;
	r->free_hint = (slot + 1) % r->nslots;
	if (++r->generation[slot] > 0xFFFu)
		r->generation[slot] = 1;
	if (state != ALLOC_RESERVED)
		r->nallocs++;
	return a;
}

/* ------------------------------------------------------------- heap */

static void heap_set(struct tern_relay *r, uint32_t i, struct relay_alloc *a)
{
	r->heap[i] = a;
	a->heap_index = i;
}

static void heap_up(struct tern_relay *r, uint32_t i)
{
	struct relay_alloc *a = r->heap[i];

	while (i > 0 && r->heap[(i - 1) / 2]->next_event > a->next_event) {
		heap_set(r, i, r->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(r, i, a);
}

static void heap_down(struct tern_relay *r, uint32_t i)
{
	struct relay_alloc *a = r->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= r->heap_len)
			break;
		if (c + 1 < r->heap_len && r->heap[c + 1]->next_event < r->heap[c]->next_event)
			c++;
		if (r->heap[c]->next_event >= a->next_event)
			break;
		heap_set(r, i, r->heap[c]);
		i = c;
	}
	heap_set(r, i, a);
}

static void heap_remove(struct tern_relay *r, struct relay_alloc *a)
{
	uint32_t i = a->heap_index;
	struct relay_alloc *last;

	if (i == NO_HEAP)
		return;
	a->heap_index = NO_HEAP;
	last = r->heap[--r->heap_len];
	if (i == r->heap_len)
		return;
	heap_set(r, i, last);
	heap_up(r, i);
	heap_down(r, last->heap_index);
}

static uint64_t earliest_event(const struct relay_alloc *a)
{
	uint64_t t = UINT64_MAX;

	for (int f = 0; f < FAM_COUNT; f++)
		if (a->side[f].handle != 0 && a->side[f].expires < t)
			t = a->side[f].expires;
	for (uint16_t i = 0; i < a->nperms; i++)
		if (a->perms[i].expires < t)
			t = a->perms[i].expires;
	for (uint16_t i = 0; i < a->nchans; i++)
		if (a->chans[i].expires + CHANNEL_COOLDOWN_MS < t)
			t = a->chans[i].expires + CHANNEL_COOLDOWN_MS;
	return t;
}

void tern_rl_alloc_schedule(struct tern_relay *r, struct relay_alloc *a)
{
	a->next_event = earliest_event(a);
	if (a->heap_index == NO_HEAP) {
		if (a->next_event == UINT64_MAX)
			return;
		r->heap[r->heap_len] = a;
		a->heap_index = r->heap_len++;
	}
	if (a->next_event == UINT64_MAX) {
		heap_remove(r, a);
		return;
	}
	heap_up(r, a->heap_index);
	heap_down(r, a->heap_index);
}

/* ------------------------------------------------------------ ports */

bool tern_rl_port_taken(const struct tern_relay *r, enum fam_index fam, uint16_t port)
{
	return ((unsigned)r->ports_used[fam][port / 8] >> (port % 8u)) & 1u;
}

void tern_rl_port_take(struct tern_relay *r, enum fam_index fam, uint16_t port)
{
	r->ports_used[fam][port / 8] |= (uint8_t)(1u << (port % 8));
}

void tern_rl_port_release(struct tern_relay *r, enum fam_index fam, uint16_t port)
{
	r->ports_used[fam][port / 8] &= (uint8_t) ~(1u << (port % 8));
}

/*
 * RFC 8656 §7.2 and §21.1.7: relayed ports are chosen at random from the
 * range. Start at a random port, take the first free one (and, for
 * EVEN-PORT, an even one whose successor is free too).
 */
uint16_t tern_rl_port_pick(struct tern_relay *r, enum fam_index fam, bool even)
{
	uint32_t span = (uint32_t)r->max_port - r->min_port + 1;
	uint8_t rnd[4];
	uint32_t start;

	if (r->hooks.entropy(r->hooks.ctx, rnd, sizeof(rnd)) != 0)
		return 0;
	start = ((uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 | (uint32_t)rnd[2] << 8 | rnd[3]) %
	        span;
	for (uint32_t i = 0; i < span; i++) {
		uint16_t port = (uint16_t)(r->min_port + (start + i) % span);

		if (tern_rl_port_taken(r, fam, port))
			continue;
		if (even && (port % 2 != 0 || port == r->max_port ||
		             tern_rl_port_taken(r, fam, (uint16_t)(port + 1))))
			continue;
		tern_rl_port_take(r, fam, port);
		return port;
	}
	return 0;
}

/* ------------------------------------------------------ permissions */

struct relay_perm *tern_rl_perm_find(const struct relay_alloc *a, const struct tern_addr *ip,
                                     uint64_t now)
{
	for (uint16_t i = 0; i < a->nperms; i++)
		if (same_ip(&a->perms[i].ip, ip))
			return a->perms[i].expires > now ? &a->perms[i] : NULL;
	return NULL;
}

/* Grow an array of n used entries of size sz from *cap toward max. */
static int grow(struct tern_relay *r, void **arr, uint16_t *cap, uint16_t n, uint32_t max,
                size_t sz)
{
	uint32_t want = *cap ? *cap * 2u : 2u;
	void *p;

	if (n < *cap)
		return TERN_OK;
	if (n >= max)
		return TERN_ERR_CAPACITY;
	if (want > max)
		want = max;
	p = r->hooks.alloc(r->hooks.ctx, want * sz);
	if (p == NULL)
		return TERN_ERR_NOMEM;
	if (n > 0)
		memcpy(p, *arr, n * sz);
	r->hooks.free(r->hooks.ctx, *arr);
	*arr = p;
	*cap = (uint16_t)want;
	return TERN_OK;
}

/*
 * Room for every IP among peers[0..n) that a has no entry for yet, so that
 * a request installs all of its permissions or none (RFC 8656 §10.2).
 */
int tern_rl_perm_reserve(struct tern_relay *r, struct relay_alloc *a, const struct tern_addr *peers,
                         size_t n)
{
	size_t need = a->nperms;
	size_t want = a->perm_cap ? 2u * a->perm_cap : 2u;
	struct relay_perm *p;

	for (size_t i = 0; i < n; i++) {
		bool known = tern_rl_perm_find(a, &peers[i], 0) != NULL; /* expired ones too */

		for (size_t j = 0; j < i && !known; j++)
			known = same_ip(&peers[j], &peers[i]);
		need += !known;
	}
	if (need > r->max_perms)
		return TERN_ERR_CAPACITY;
	if (need <= a->perm_cap)
		return TERN_OK;
	want = want < need ? need : (want > r->max_perms ? r->max_perms : want);
	p = r->hooks.alloc(r->hooks.ctx, want * sizeof(*p));
	if (p == NULL)
		return TERN_ERR_NOMEM;
	if (a->nperms > 0)
		memcpy(p, a->perms, a->nperms * sizeof(*p));
	r->hooks.free(r->hooks.ctx, a->perms);
	a->perms = p;
	a->perm_cap = (uint16_t)want;
	return TERN_OK;
}

int tern_rl_perm_install(struct tern_relay *r, struct relay_alloc *a, const struct tern_addr *ip,
                         uint64_t now)
{
	struct tern_addr key = *ip; /* the port is the one the policy passed */
	void *arr = a->perms;
	int err;

	for (uint16_t i = 0; i < a->nperms; i++) {
		if (same_ip(&a->perms[i].ip, &key)) {
			a->perms[i].ip.port = key.port;
			a->perms[i].expires = now + r->permission_ms;
			return TERN_OK;
		}
	}
	err = grow(r, &arr, &a->perm_cap, a->nperms, r->max_perms, sizeof(*a->perms));
	a->perms = arr;
	if (err != TERN_OK)
		return err;
	a->perms[a->nperms].ip = key;
	a->perms[a->nperms].expires = now + r->permission_ms;
	a->nperms++;
	r->stats.permissions++;
	return TERN_OK;
}

/* --------------------------------------------------------- channels */

struct relay_chan *tern_rl_chan_by_number(const struct relay_alloc *a, uint16_t number)
{
	for (uint16_t i = 0; i < a->nchans; i++)
		if (a->chans[i].number == number)
			return &a->chans[i];
	return NULL;
}

struct relay_chan *tern_rl_chan_by_peer(const struct relay_alloc *a, const struct tern_addr *peer)
{
	for (uint16_t i = 0; i < a->nchans; i++)
		if (same_addr(&a->chans[i].peer, peer))
			return &a->chans[i];
	return NULL;
}

/*
 * RFC 8656 §12.2: a number may not be bound to another peer, nor a peer to
 * another number, while bound or within 5 minutes after expiry (STATE);
 * binding the same pair again refreshes it.
 */
int tern_rl_chan_bind(struct tern_relay *r, struct relay_alloc *a, uint16_t number,
                      const struct tern_addr *peer, uint64_t now)
{
	struct relay_chan *by_num = tern_rl_chan_by_number(a, number);
	struct relay_chan *by_peer = tern_rl_chan_by_peer(a, peer);
	void *arr = a->chans;
	int err;

	if (by_num != by_peer)
		return TERN_ERR_STATE;
	if (by_num != NULL) {
		by_num->expires = now + r->channel_ms;
		return TERN_OK;
	}
	err = grow(r, &arr, &a->chan_cap, a->nchans, r->max_chans, sizeof(*a->chans));
	a->chans = arr;
	if (err != TERN_OK)
		return err;
	a->chans[a->nchans].number = number;
	a->chans[a->nchans].peer = *peer;
	a->chans[a->nchans].expires = now + r->channel_ms;
	a->nchans++;
	r->stats.channels++;
	return TERN_OK;
}

/* ----------------------------------------------------------- expiry */

void tern_rl_side_close(struct tern_relay *r, struct relay_alloc *a, enum fam_index f,
                        struct tern_relay_out *out)
{
	struct relay_side *s = &a->side[f];
	struct tern_relay_action *act;

	if (s->handle == 0)
		return;
	if (s->open && (act = tern_rl_out_action(out)) != NULL) {
		act->kind = TERN_ACT_CLOSE;
		act->handle = s->handle;
	}
	if (s->port != 0)
		tern_rl_port_release(r, f, s->port);
	memset(s, 0, sizeof(*s));
}

void tern_rl_alloc_expire(struct tern_relay *r, struct relay_alloc *a, uint64_t now,
                          struct tern_relay_out *out)
{
	for (int f = 0; f < FAM_COUNT; f++)
		if (a->side[f].handle != 0 && a->side[f].expires <= now)
			tern_rl_side_close(r, a, (enum fam_index)f, out);
	for (uint16_t i = 0; i < a->nperms;) {
		bool gone = a->perms[i].expires <= now ||
		            a->side[tern_rl_fam_of(&a->perms[i].ip)].handle == 0;

		if (!gone) {
			i++;
			continue;
		}
		a->perms[i] = a->perms[--a->nperms];
		r->stats.permissions--;
	}
	for (uint16_t i = 0; i < a->nchans;) {
		if (a->chans[i].expires + CHANNEL_COOLDOWN_MS > now) {
			i++;
			continue;
		}
		a->chans[i] = a->chans[--a->nchans];
		r->stats.channels--;
	}
}

bool tern_rl_side_live(const struct relay_alloc *a, enum fam_index f, uint64_t now)
{
	return a->state == ALLOC_ACTIVE && a->side[f].open && a->side[f].expires > now;
}

bool tern_rl_alloc_live(const struct relay_alloc *a, uint64_t now)
{
	return tern_rl_side_live(a, FAM_V4, now) || tern_rl_side_live(a, FAM_V6, now);
}

bool tern_rl_alloc_dead(const struct relay_alloc *a, uint64_t now)
{
	(void)now;
	return a->side[FAM_V4].handle == 0 && a->side[FAM_V6].handle == 0;
}

static bool match_ptr(const void *item, const void *key)
{
	return item == key;
}

static void unlink_user(struct tern_relay *r, struct relay_alloc *a)
{
	struct relay_user_count *u = a->user;
	uint64_t h;

	if (u == NULL)
		return;
	a->user = NULL;
	if (--u->count > 0)
		return;
	h = tern_rl_hash(u->digest, sizeof(u->digest), r->seed);
	tern_rl_table_remove(&r->by_user, h, u);
	r->hooks.free(r->hooks.ctx, u);
}

void tern_rl_alloc_free(struct tern_relay *r, struct relay_alloc *a, struct tern_relay_out *out)
{
	struct relay_alloc *twin = a->reservation;

	/* a pending owner takes its reservation twin along; a twin that goes
	 * first only unlinks itself, its owner is the caller's to answer */
	if (twin != NULL) {
		twin->reservation = NULL;
		a->reservation = NULL;
		if (a->state != ALLOC_RESERVED)
			tern_rl_alloc_free(r, twin, out);
	}
	for (int f = 0; f < FAM_COUNT; f++)
		tern_rl_side_close(r, a, (enum fam_index)f, out);
	if (a->state != ALLOC_RESERVED) {
		tern_rl_table_remove(&r->by_five, a->hash, a);
		r->nallocs--;
	}
	if (a->state == ALLOC_ACTIVE)
		r->stats.allocations--;
	if (a->token != 0 && tern_rl_table_find(&r->by_token, a->token, match_ptr, a) == a)
		tern_rl_table_remove(&r->by_token, a->token, a);
	heap_remove(r, a);
	unlink_user(r, a);
	r->stats.permissions -= a->nperms;
	r->stats.channels -= a->nchans;
	r->hooks.free(r->hooks.ctx, a->perms);
	r->hooks.free(r->hooks.ctx, a->chans);
	r->slots[a->slot] = NULL;
	r->hooks.free(r->hooks.ctx, a);
}
