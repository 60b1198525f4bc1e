/*
 * relay_model.h - the oracle of the relay_state fuzz target.
 *
 * fuzz/relay_state.c plays a script against one relay; relay_model.c keeps a
 * model built only from what the relay itself said (OPEN, CLOSE, success
 * responses to requests the harness sent) and checks every action of every
 * call against it, aborting through fuzz_require() on a violation. The list
 * of invariants is in relay_state.c's header comment.
 */
#ifndef TERN_FUZZ_RELAY_MODEL_H
#define TERN_FUZZ_RELAY_MODEL_H

#include "tern_relay.h"

#define N_CLIENTS     8
#define N_PEERS       8
#define N_HANDLES     160u
#define N_REQS        16u
#define N_MPERMS      16u
#define N_MCHANS      16u
#define N_TOKENS      4u
#define N_GROUPS      5
#define RATE_RING     48u
#define OUT_ACTIONS   32u
#define OUT_SCRATCH   4096u
#define MSG_CAP       1500u
#define PORT_MIN      50000u
#define PORT_MAX      50015u
#define CAP_PERMS     4u
#define CAP_CHANS     4u
#define COOLDOWN_MS   300000u /* RFC 8656 §12: a channel is held 5 min after expiry */
#define AMP_SLACK     128u    /* most an unsigned answer may exceed its request by */
#define NO_IDX        (-1)
#define PERM_ANY_PORT 9u /* judges a permission asked for port 0 (RFC 8656 §10.2) */

/* The fixed 5-tuples, peers and relayed addresses of every script. */
extern const struct tern_relay_client model_clients[N_CLIENTS];
extern const struct tern_addr model_peers[N_PEERS];
extern const struct tern_addr model_relay_addr[2];

enum hstate { H_PENDING = 1, H_BOUND, H_DEAD };

/* A relay socket, from its OPEN on. */
struct handle_rec {
	uint32_t handle;
	uint16_t port;
	int fam;   /* 0 IPv4, 1 IPv6 */
	int st;    /* enum hstate */
	int owner; /* client whose allocation stands on it, or NO_IDX */
	uint32_t seq;
	uint64_t expires; /* the owner's lifetime for this side */
};

struct perm_rec {
	struct tern_addr peer; /* granted for (canonical, port kept) */
	uint64_t expires;
};

struct chan_rec {
	struct tern_addr peer;
	uint64_t expires;
	uint16_t number;
};

/* A client's allocation as its success responses described it. */
struct alloc_model {
	bool live;
	uint8_t txid[TERN_STUN_TXID_LEN];
	int side[2]; /* handle record per family, or NO_IDX */
	struct perm_rec perms[N_MPERMS];
	size_t nperms;
	struct chan_rec chans[N_MCHANS];
	size_t nchans;
};

/* A request the harness sent, to read its answer against. */
struct req_rec {
	bool used;
	uint8_t txid[TERN_STUN_TXID_LEN];
	uint16_t method;
	uint8_t key[TERN_KEY_MAX];
	size_t key_len; /* 0: unknown (a raw datagram) */
	uint8_t family; /* REQUESTED-ADDRESS-FAMILY, 0 if absent */
	uint16_t channel;
	size_t npeers;
	struct tern_addr given[4], peer[4]; /* peer: canonical */
};

struct client_state {
	uint8_t nonce[64];
	size_t nonce_len;
	uint8_t last[MSG_CAP];
	size_t last_len;
	struct req_rec reqs[N_REQS];
	size_t next_req;
	struct alloc_model alloc;
};

/* The relay's hooks: counting allocator with one planned failure, entropy. */
struct hooks_ctx {
	size_t live, calls, fail_at;
	uint64_t rng;
	bool entropy_fail;
};

enum call_kind { CALL_CLIENT, CALL_PEER, CALL_OPENED, CALL_CLOSED, CALL_TICK };

/* One relay call: what went in, to check what came out against. */
struct call {
	enum call_kind kind;
	int client;         /* CALL_CLIENT, CALL_CLOSED */
	int hrec;           /* CALL_PEER: the handle's record if bound, else NO_IDX */
	const uint8_t *buf; /* the input buffer (SEND_* may point into it) */
	size_t len;
	const uint8_t *data; /* CALL_PEER: the payload as the peer sent it */
	size_t data_len;
	const struct tern_addr *peer;
};

struct harness {
	struct tern_relay *r;
	struct hooks_ctx hk;
	const uint8_t *in;
	size_t in_len, pos;
	uint8_t flags; /* input byte 0 */
	uint64_t now, txid_counter;
	uint32_t cap_allocs, rate_cap;
	uint64_t perm_ms, chan_ms;
	struct tern_peer_policy policy; /* the relay's current one */
	struct client_state cl[N_CLIENTS];
	struct handle_rec hs[N_HANDLES];
	size_t nhs;
	uint32_t seq;
	uint64_t tokens[N_TOKENS]; /* a ring of the last N_TOKENS seen */
	size_t ntokens;            /* how many seen in all: index modulo N_TOKENS */
	uint64_t rate[N_GROUPS][RATE_RING];
	size_t nrate[N_GROUPS];
	int expiry_check; /* after the call: -2 none, -1 every client, else one */
	struct tern_relay_action actions[OUT_ACTIONS];
	uint8_t scratch[OUT_SCRATCH];
	struct tern_relay_out out;
};

/* Whether the config (flags bits 2-3) relays family f (0 IPv4, 1 IPv6). */
bool model_offered(const struct harness *h, int f);
/* The record of handle in state st, or NO_IDX. */
int model_find_handle(const struct harness *h, uint32_t handle, int st);
/* Remember a request sent by client k (auth: its key, if known). */
void model_record_request(struct harness *h, int k, const uint8_t *buf, size_t len,
                          const struct req_rec *auth);
/* Check a call's result and every action in h->out, update the model, then
 * check the counts (and expiries after a tick or a Refresh 0). */
void model_process(struct harness *h, const struct call *c, int rc);
/* stats against the model: allocations exact, permissions and channels
 * between what must still exist and what was ever granted. */
void model_check_counts(struct harness *h);
/* No allocation of client k (-1: any) is open past its lifetime. */
void model_check_expired(struct harness *h, int k);
/* A reconfigure succeeded: the relay drops permissions the new policy denies. */
void model_policy_changed(struct harness *h);

#endif /* TERN_FUZZ_RELAY_MODEL_H */
