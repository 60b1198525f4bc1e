/*
 * internal.h - the relay's private state, shared by its modules.
 * Nothing outside relay/ includes this; tests go through tern_relay.h.
 */
#ifndef TERN_RELAY_INTERNAL_H
#define TERN_RELAY_INTERNAL_H

#include "tern_relay.h"

#define MS_PER_S 1000u
/* RFC 8656 §12: a channel number or peer stays unusable 5 min after expiry. */
#define CHANNEL_COOLDOWN_MS (300u * MS_PER_S)
/* RFC 8656 §7.2: a reserved (EVEN-PORT R=1) port is held at least 30 s. */
#define RESERVATION_MS (30u * MS_PER_S)
/* Ports tried before an Allocate gets 508. */
#define MAX_OPEN_ATTEMPTS 16u
/*
 * 401/438 token buckets, by a keyed hash of the source IP. Enough of them
 * that the limit stays per source: with 256, every bucket saw many sources
 * and the buckets together capped a relay near 256 x unauth_per_s
 * challenges a second whatever the spread of clients. 4,096 x 16 bytes.
 */
#define RATE_BUCKETS        4096u
#define USERNAME_DIGEST_LEN 16u
#define NONCE_MAX           48u
/*
 * A permission is for an IP (RFC 8656 §9); the policy judges addresses with
 * a port and denies port 0, so this port stands in when it judges an IP.
 */
#define PERMISSION_ANY_PORT 9u

/* Family index into per-family arrays. */
enum fam_index { FAM_V4 = 0, FAM_V6 = 1, FAM_COUNT = 2 };

/* ------------------------------------------------------------ hashing */

/*
 * Open-addressing hash table of item pointers keyed by a 64-bit hash, with
 * linear probing and backward-shift deletion (no tombstones). Capacity is
 * fixed at creation (a power of two at least twice the item cap), so no
 * operation allocates and none is slower than the probe run.
 */
struct relay_table {
	uint64_t *hashes; /* 0 = empty slot (hashes are forced non-zero) */
	void **items;
	size_t mask;
	size_t count;
};

/* ----------------------------------------------------------- state */

struct relay_perm {
	/* matched by address only; .port is the port the peer policy passed
	 * when it was installed, for re-checking after a reload */
	struct tern_addr ip;
	uint64_t expires;
};

/*
 * A channel binding. It may carry data while now < expires; after that it
 * lingers CHANNEL_COOLDOWN_MS so neither its number nor its peer can be
 * bound to something else (RFC 8656 §12).
 */
struct relay_chan {
	struct tern_addr peer;
	uint64_t expires;
	uint16_t number;
};

/*
 * Allocation state machine (RFC 8656 §7):
 *   PENDING  --relay sockets bound-->  ACTIVE  --expiry/Refresh 0/close--> freed
 *   PENDING  --no port / descriptors-->  freed (508 sent)
 *   RESERVED: a port held for a RESERVATION-TOKEN; it becomes part of the
 *   allocation that redeems the token, or is freed after RESERVATION_MS.
 */
enum alloc_state { ALLOC_PENDING, ALLOC_ACTIVE, ALLOC_RESERVED };

/* One relayed transport address of an allocation. */
struct relay_side {
	uint32_t handle;  /* 0 = this family is not part of the allocation */
	uint64_t expires; /* per family: Refresh may target one (RFC 8656 §8) */
	uint16_t port;
	uint8_t attempts;
	bool open; /* the shell confirmed the bind */
	bool failed;
	uint16_t error; /* ADDRESS-ERROR-CODE for a failed additional family */
};

struct relay_user_count {
	uint8_t digest[USERNAME_DIGEST_LEN];
	uint32_t count;
};

struct relay_alloc {
	enum alloc_state state;
	struct tern_relay_client five; /* transport + client + server + listener */
	uint64_t hash;                 /* of the 5-tuple */
	uint32_t slot;
	uint32_t heap_index;
	uint64_t next_event; /* heap key: the earliest expiry to act on */
	uint8_t txid[TERN_STUN_TXID_LEN];
	struct relay_side side[FAM_COUNT];
	/* the owner's credentials (RFC 8656 §7.2: later requests must match) */
	uint8_t digest[USERNAME_DIGEST_LEN];
	uint8_t key[TERN_KEY_MAX];
	uint8_t key_len;
	bool sha256_mi; /* the Allocate used MESSAGE-INTEGRITY-SHA256 */
	bool dont_fragment;
	bool even_port;
	bool reserve_next;               /* EVEN-PORT R=1: hold port + 1 */
	uint8_t want;                    /* bit per enum fam_index requested */
	uint32_t lifetime_s;             /* granted, for the (re)sent success */
	uint64_t token;                  /* RESERVATION-TOKEN issued or held */
	struct relay_alloc *reservation; /* the RESERVED twin while pending */
	struct relay_user_count *user;
	struct relay_perm *perms;
	struct relay_chan *chans;
	uint16_t nperms, perm_cap;
	uint16_t nchans, chan_cap;
	/* bandwidth token bucket (bytes), refilled from now */
	uint64_t bucket;
	uint64_t bucket_at;
};

struct relay_rate {
	uint64_t at;
	uint32_t tokens;
};

struct relay_creds; /* auth.c */

struct tern_relay {
	struct tern_relay_hooks hooks;
	/* copied configuration */
	char realm[TERN_STUN_MAX_STRING + 1];
	size_t realm_len;
	char software[TERN_STUN_MAX_STRING + 1];
	size_t software_len;
	struct tern_addr relay_addr[FAM_COUNT];
	uint16_t min_port, max_port;
	uint64_t default_lifetime_ms, max_lifetime_ms;
	uint64_t permission_ms, channel_ms, nonce_ms;
	uint32_t max_allocations, user_quota, max_perms, max_chans;
	uint64_t max_bps;
	uint32_t unauth_per_s;
	bool rfc5766_channels;
	struct tern_peer_policy policy; /* arrays owned by the relay */
	struct relay_creds *creds;
	uint8_t nonce_key[32];
	uint64_t seed;          /* keys tern_rl_hash() */
	int64_t unix_offset_ms; /* unix time = now + offset (REST expiry) */
	/* state */
	struct relay_alloc **slots; /* by slot; 2 * max_allocations */
	uint16_t *generation;       /* per slot, for stale handle detection */
	uint32_t nslots;
	uint32_t free_hint;
	struct relay_table by_five;
	struct relay_table by_token;
	struct relay_table by_user;
	struct relay_alloc **heap;
	uint32_t heap_len;
	uint8_t *ports_used[FAM_COUNT]; /* bitmaps of 65536 bits */
	struct relay_rate rate[RATE_BUCKETS];
	uint8_t txid_seed[TERN_STUN_TXID_LEN];
	uint64_t txid_counter;
	uint32_t nallocs; /* PENDING + ACTIVE */
	bool draining;    /* new allocations get 508 */
	struct tern_relay_stats stats;
};

/* ------------------------------------------------------- table.c */
TERN_WUR int tern_rl_table_init(struct tern_relay *r, struct relay_table *t, size_t max_items);
void tern_rl_table_free(struct tern_relay *r, struct relay_table *t);
uint64_t tern_rl_hash(const void *data, size_t len, uint64_t seed);
void *tern_rl_table_find(const struct relay_table *t, uint64_t hash,
                         bool (*match)(const void *item, const void *key), const void *key);
/* Caller ensures count < max_items. */
void tern_rl_table_insert(struct relay_table *t, uint64_t hash, void *item);
void tern_rl_table_remove(struct relay_table *t, uint64_t hash, const void *item);

/* ------------------------------------------------------- alloc.c */
uint64_t tern_rl_five_hash(const struct tern_relay *r, const struct tern_relay_client *c);
struct relay_alloc *tern_rl_alloc_find(const struct tern_relay *r,
                                       const struct tern_relay_client *c);
struct relay_alloc *tern_rl_alloc_by_handle(const struct tern_relay *r, uint32_t handle,
                                            enum fam_index *fam);
/* A zeroed allocation in a free slot, or NULL (caps or memory). */
struct relay_alloc *tern_rl_alloc_new(struct tern_relay *r, enum alloc_state state);
void tern_rl_alloc_link_five(struct tern_relay *r, struct relay_alloc *a);
/* Unlinks everything and frees; emits CLOSE for every open side. */
void tern_rl_alloc_free(struct tern_relay *r, struct relay_alloc *a, struct tern_relay_out *out);
uint32_t tern_rl_alloc_handle(const struct tern_relay *r, const struct relay_alloc *a,
                              enum fam_index fam);
/* Pick a random free port (even if asked) and mark it used; 0 if none. */
uint16_t tern_rl_port_pick(struct tern_relay *r, enum fam_index fam, bool even);
void tern_rl_port_release(struct tern_relay *r, enum fam_index fam, uint16_t port);
bool tern_rl_port_taken(const struct tern_relay *r, enum fam_index fam, uint16_t port);
void tern_rl_port_take(struct tern_relay *r, enum fam_index fam, uint16_t port);
/* Recompute a's next event and fix its heap position. */
void tern_rl_alloc_schedule(struct tern_relay *r, struct relay_alloc *a);

struct relay_perm *tern_rl_perm_find(const struct relay_alloc *a, const struct tern_addr *ip,
                                     uint64_t now);
TERN_WUR int tern_rl_perm_reserve(struct tern_relay *r, struct relay_alloc *a,
                                  const struct tern_addr *peers, size_t n);
TERN_WUR int tern_rl_perm_install(struct tern_relay *r, struct relay_alloc *a,
                                  const struct tern_addr *ip, uint64_t now);
struct relay_chan *tern_rl_chan_by_number(const struct relay_alloc *a, uint16_t number);
struct relay_chan *tern_rl_chan_by_peer(const struct relay_alloc *a, const struct tern_addr *peer);
TERN_WUR int tern_rl_chan_bind(struct tern_relay *r, struct relay_alloc *a, uint16_t number,
                               const struct tern_addr *peer, uint64_t now);
/* Drop expired permissions and finished channels; close expired sides. */
/* Close one side: CLOSE if bound, release its port, clear it. */
void tern_rl_side_close(struct tern_relay *r, struct relay_alloc *a, enum fam_index f,
                        struct tern_relay_out *out);
void tern_rl_alloc_expire(struct tern_relay *r, struct relay_alloc *a, uint64_t now,
                          struct tern_relay_out *out);
bool tern_rl_alloc_dead(const struct relay_alloc *a, uint64_t now);
/*
 * True while family f of an ACTIVE allocation relays: bound and not past
 * its lifetime. Checked on use, so an allocation is dead at its expiry
 * even before tern_relay_tick() gets round to freeing it.
 */
bool tern_rl_side_live(const struct relay_alloc *a, enum fam_index f, uint64_t now);
bool tern_rl_alloc_live(const struct relay_alloc *a, uint64_t now);

/* ------------------------------------------------------- auth.c */
TERN_WUR int tern_rl_creds_build(struct tern_relay *r, const struct tern_relay_config *cfg,
                                 struct relay_creds **out);
void tern_rl_creds_free(struct tern_relay *r, struct relay_creds *c);

/* Outcome of authenticating one request (RFC 8489 §9.2.4). */
struct relay_auth {
	uint16_t error; /* 0 = authenticated; else 400, 401, 438 */
	uint8_t key[TERN_KEY_MAX];
	size_t key_len;
	bool sha256_mi;
	uint8_t digest[USERNAME_DIGEST_LEN];
};
void tern_rl_authenticate(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                          const struct tern_stun_msg *msg, struct relay_auth *auth);
/* A fresh nonce for this client; returns its length. */
size_t tern_rl_nonce_make(const struct tern_relay *r, uint64_t now, const struct tern_addr *client,
                          uint8_t *out);
/* The PASSWORD-ALGORITHMS list sent with 401 and 438. */
const struct tern_password_alg_entry *tern_rl_offered_algs(size_t *n);
/* True when a 401/438 may be sent to this source now (rate limit). */
bool tern_rl_rate_allow(struct tern_relay *r, uint64_t now, const struct tern_addr *client);

/* ------------------------------------------------------- out.c */
/* Next free action slot (zeroed), or NULL when out is full. */
struct tern_relay_action *tern_rl_out_action(struct tern_relay_out *out);
void tern_rl_out_event(struct tern_relay_out *out, const struct tern_relay_client *who,
                       enum tern_relay_event ev, uint16_t code);
/* Scratch space for one message of at most n bytes, or NULL. */
uint8_t *tern_rl_out_scratch(struct tern_relay_out *out, size_t n);
void tern_rl_out_commit_scratch(struct tern_relay_out *out, size_t used);
void tern_rl_next_txid(struct tern_relay *r, uint8_t txid[TERN_STUN_TXID_LEN]);

/* ------------------------------------------------------- respond.c */
/* What a response needs beyond the request. */
struct relay_reply {
	const struct tern_relay_client *to;
	uint16_t method;
	const uint8_t *txid;
	const struct relay_auth *auth; /* NULL: unsigned */
	enum tern_stun_class cls;
};
/* Start a response into scratch; the builder is ready for attributes. */
TERN_WUR int tern_rl_reply_start(struct tern_relay *r, struct tern_relay_out *out,
                                 const struct relay_reply *rep, struct tern_stun_builder *b);
/* Sign (if authenticated), fingerprint and queue it as SEND_CLIENT. */
void tern_rl_reply_finish(struct tern_relay *r, struct tern_relay_out *out,
                          const struct relay_reply *rep, struct tern_stun_builder *b);
/* Count one drop and why (the total and the per-reason counter). */
static inline void tern_rl_drop(struct tern_relay *r, enum tern_relay_drop why)
{
	r->stats.dropped++;
	r->stats.drops[why]++;
}
/* An error response with the standard reason (and REALM/NONCE for 401/438). */
void tern_rl_reply_error(struct tern_relay *r, uint64_t now, struct tern_relay_out *out,
                         const struct tern_relay_client *to, const struct tern_stun_msg *req,
                         const struct relay_auth *auth, uint16_t code);

/* ------------------------------------------------------- turn.c */
void tern_rl_handle_allocate(struct tern_relay *r, uint64_t now,
                             const struct tern_relay_client *from, const struct tern_stun_msg *msg,
                             const struct relay_auth *auth, struct tern_relay_out *out);
void tern_rl_handle_refresh(struct tern_relay *r, uint64_t now,
                            const struct tern_relay_client *from, const struct tern_stun_msg *msg,
                            const struct relay_auth *auth, struct tern_relay_out *out);
void tern_rl_handle_permission(struct tern_relay *r, uint64_t now,
                               const struct tern_relay_client *from,
                               const struct tern_stun_msg *msg, const struct relay_auth *auth,
                               struct tern_relay_out *out);
void tern_rl_handle_channel_bind(struct tern_relay *r, uint64_t now,
                                 const struct tern_relay_client *from,
                                 const struct tern_stun_msg *msg, const struct relay_auth *auth,
                                 struct tern_relay_out *out);
/* Answer a completed (or failed) pending allocation. */
void tern_rl_allocate_complete(struct tern_relay *r, uint64_t now, struct relay_alloc *a,
                               struct tern_relay_out *out);
void tern_rl_send_success(struct tern_relay *r, struct relay_alloc *a, struct tern_relay_out *out);
void tern_rl_handle_opened(struct tern_relay *r, uint64_t now, uint32_t handle, int result,
                           struct tern_relay_out *out);

/* ------------------------------------------------------- data.c */
void tern_rl_handle_send(struct tern_relay *r, uint64_t now, const struct tern_relay_client *from,
                         const struct tern_stun_msg *msg, struct tern_relay_out *out);
void tern_rl_handle_channel_data(struct tern_relay *r, uint64_t now,
                                 const struct tern_relay_client *from, const uint8_t *buf,
                                 size_t len, struct tern_relay_out *out);
bool tern_rl_bucket_take(struct tern_relay *r, struct relay_alloc *a, uint64_t now, size_t bytes);
enum fam_index tern_rl_fam_of(const struct tern_addr *a);

#endif /* TERN_RELAY_INTERNAL_H */
