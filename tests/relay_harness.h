/*
 * relay_harness.h - a test bench for the sans-IO relay (tern_relay.h).
 *
 * One struct rh per test: a virtual clock, a counting allocator (live
 * blocks, "fail the Nth allocation"), deterministic entropy, a default
 * configuration, up to RH_CLIENTS client 5-tuples with their nonces, and
 * builders for every TURN request made with the codec builder and signed
 * with long-term credentials. Every helper fails the running cmocka test on
 * misuse or on an unexpected relay return code.
 *
 * Tests use the cmocka setup/teardown pair rh_setup()/rh_teardown(): the
 * relay is created lazily on first use (so a test may edit h->cfg first)
 * and the teardown destroys it and asserts that no block is left alive.
 */
#ifndef TERN_RELAY_HARNESS_H
#define TERN_RELAY_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_relay.h"

#define RH_ACTIONS  16u
#define RH_SCRATCH  4096u
#define RH_CLIENTS  4u
#define RH_REQ_CAP  2048u
#define RH_DATA_CAP 2048u
#define RH_OPENS    64u
#define RH_REALM    "tern.example"
#define RH_T0       1000000u /* the virtual clock starts here (ms) */

/* Peers the default policy allows. */
#define RH_PEER1 "93.184.216.34"
#define RH_PEER2 "8.8.4.4"
#define RH_PEER6 "2606:4700::1111"

/* The credentials rh_sign() uses. */
struct rh_cred {
	const char *user;
	const char *pass;   /* NULL when key is set */
	const uint8_t *key; /* 16-byte MD5 key instead of a password */
	const char *realm;  /* NULL: RH_REALM */
	uint16_t alg;       /* 0: no PASSWORD-ALGORITHM(S), else MD5/SHA256 */
	bool userhash;      /* USERHASH instead of USERNAME */
	bool sha256_mi;     /* MESSAGE-INTEGRITY-SHA256 instead of -SHA1 */
	/* PASSWORD-ALGORITHMS as sent (alg != 0); npas 0 = what was offered */
	const struct tern_password_alg_entry *pas;
	size_t npas;
	bool no_pa, no_pas; /* leave PASSWORD-ALGORITHM / -ALGORITHMS out */
};

struct rh_client {
	struct tern_relay_client c;
	uint8_t nonce[128];
	size_t nonce_len;
};

/* One TERN_ACT_OPEN seen by rh_open_all() or rh_opened(). */
struct rh_open {
	uint32_t handle;
	struct tern_addr addr;
	bool dont_fragment;
};

/* What rh_allocate_send() puts in an Allocate. */
struct rh_alloc_opts {
	int transport;      /* REQUESTED-TRANSPORT protocol; 0 = 17, -1 = none */
	uint32_t lifetime;  /* LIFETIME; 0 = none */
	uint8_t raf, aaf;   /* REQUESTED-/ADDITIONAL-ADDRESS-FAMILY; 0 = none */
	bool even, reserve; /* EVEN-PORT and its R bit */
	uint64_t token;     /* RESERVATION-TOKEN; 0 = none */
	bool df;            /* DONT-FRAGMENT */
	uint16_t unknown;   /* an unknown comprehension-required attribute */
};

struct rh {
	/* counting allocator */
	size_t live_blocks;
	size_t live_bytes;
	size_t n_allocs; /* allocation calls so far */
	size_t fail_at;  /* fail the fail_at-th call (1-based); 0 = never */
	bool fail_hit;
	/* deterministic entropy */
	uint64_t rng;
	bool entropy_fails;
	/* configuration; rh_ensure() creates the relay from it */
	struct tern_relay_config cfg;
	struct tern_relay_user users[4];
	struct tern_relay_secret secrets[2];
	uint8_t nonce_key[32];
	uint8_t carol_key[16];
	struct tern_relay *r;
	int create_rc;
	uint64_t now;
	/* clients */
	struct rh_client cl[RH_CLIENTS];
	size_t cur;
	struct rh_cred cred;
	char rest_user[64];
	char rest_pass[TERN_REST_PASSWORD_LEN + 1];
	/* the request being built */
	uint8_t req[RH_REQ_CAP];
	size_t req_len;
	uint8_t txid[TERN_STUN_TXID_LEN];
	uint32_t txid_n;
	struct tern_stun_builder b;
	bool signed_req;
	/* actions of the last call */
	struct tern_relay_action act[RH_ACTIONS];
	uint8_t scratch[RH_SCRATCH];
	struct tern_relay_out out;
	size_t out_cap;     /* actions room for the next call; 0 = RH_ACTIONS */
	size_t scratch_cap; /* scratch room for the next call; 0 = RH_SCRATCH */
	int rc;
	int want_rc;               /* what relay calls must return (TERN_OK unless a test says) */
	struct tern_stun_msg resp; /* rh_reply() */
	/* OPENs seen */
	struct rh_open opens[RH_OPENS];
	size_t nopens;
	/* the allocation rh_allocate() made: handles and relayed addresses */
	uint32_t handle[2];
	struct tern_addr relayed[2];
	/* a peer datagram with headroom and tailroom */
	uint8_t pbuf[TERN_RELAY_HEADROOM + RH_DATA_CAP + TERN_RELAY_TAILROOM];
	uint8_t cdbuf[RH_DATA_CAP + 8];
};

/* cmocka group hooks: *state becomes a fresh struct rh with the default config. */
int rh_setup(void **state);
/* Destroys the relay and asserts zero live blocks. */
int rh_teardown(void **state);
/* Default configuration (also what rh_setup() applies). */
void rh_config_default(struct rh *h);
/* Create the relay unless it exists; asserts success. */
struct tern_relay *rh_ensure(struct rh *h);
/* Create the relay and return tern_relay_create()'s result. */
int rh_create(struct rh *h);
/* Destroy the relay (if any) and assert zero live blocks. */
void rh_destroy(struct rh *h);

/* An address from text; fails the test on bad text. */
struct tern_addr rh_ip(const char *text, uint16_t port);
/* Switch the client that requests come from (0..RH_CLIENTS-1). */
void rh_use(struct rh *h, size_t k);
struct tern_relay_client *rh_client(struct rh *h);
/* Credentials of one of the configured static users. */
void rh_cred_user(struct rh *h, const char *user, const char *pass);
/* TURN REST credentials "<expiry>:<id>" for secret k. */
void rh_cred_rest(struct rh *h, size_t k, uint64_t expiry, const char *id);
/* The long-term key rh_sign() signs with. */
size_t rh_key(const struct rh *h, uint8_t key[TERN_KEY_MAX]);

/* ---------------------------------------------------------- requests */
/* Start a message of method/cls with a fresh transaction id. */
void rh_start(struct rh *h, uint16_t method, enum tern_stun_class cls);
/* Start with the transaction id of the previous request (retransmission). */
void rh_start_same_txid(struct rh *h, uint16_t method, enum tern_stun_class cls);
/* Fetch this client's nonce with an unsigned Allocate (401) if none yet. */
void rh_fetch_nonce(struct rh *h);
/* Add USERNAME/USERHASH, REALM, NONCE, algorithms and integrity. */
void rh_sign(struct rh *h);
/* FINGERPRINT, finish, and feed to the relay; returns the action count. */
size_t rh_send(struct rh *h);
/* Feed raw bytes from the current client. */
size_t rh_input(struct rh *h, const uint8_t *buf, size_t len);

/* Signed TURN requests (nonce fetched first). */
void rh_allocate_send(struct rh *h, const struct rh_alloc_opts *o);
/* Allocate with o (NULL: defaults), answer every OPEN with OK, expect success. */
uint32_t rh_allocate(struct rh *h, const struct rh_alloc_opts *o);
void rh_refresh(struct rh *h, int64_t lifetime, uint8_t raf);
void rh_permission(struct rh *h, const struct tern_addr *peers, size_t n);
void rh_bind(struct rh *h, uint16_t number, const struct tern_addr *peer);
/* Send indication (unsigned) to peer. */
void rh_send_ind(struct rh *h, const struct tern_addr *peer, const void *data, size_t len, bool df);
/* ChannelData from the current client (padded to 4 over streams). */
void rh_chan_data(struct rh *h, uint16_t number, const void *data, size_t len);

/* ---------------------------------------------------------- relay calls */
/* Answer OPEN handle with result; returns the action count. */
size_t rh_opened(struct rh *h, uint32_t handle, int result);
/* Answer every OPEN in the last output with OK, repeatedly. */
void rh_open_all(struct rh *h);
/* A datagram from peer to relay socket handle; returns the relay's result. */
int rh_peer(struct rh *h, uint32_t handle, const struct tern_addr *peer, const void *data,
            size_t len);
/* Advance the virtual clock by ms and call tern_relay_tick(). */
size_t rh_tick(struct rh *h, uint64_t ms);
size_t rh_closed(struct rh *h);
/* Clear the output for the next call. */
void rh_out_reset(struct rh *h);

/* ---------------------------------------------------------- checks */
/* The nth (0-based) action of kind, or NULL. */
const struct tern_relay_action *rh_act(const struct rh *h, enum tern_relay_action_kind kind,
                                       size_t nth);
size_t rh_count(const struct rh *h, enum tern_relay_action_kind kind);
bool rh_has_event(const struct rh *h, enum tern_relay_event ev, uint16_t code);
/* Parse the first SEND_CLIENT as STUN into h->resp; asserts there is one. */
const struct tern_stun_msg *rh_reply(struct rh *h);
/* Error code of the reply, 0 for a success; asserts method. */
uint16_t rh_reply_code(struct rh *h, uint16_t method);
/*
 * Success for method; checks the reply's integrity if the request was signed.
 * For Allocate, records h->handle[] and h->relayed[] from the reply.
 */
void rh_expect_ok(struct rh *h, uint16_t method);
void rh_expect_error(struct rh *h, uint16_t method, uint16_t code);
/* No action at all. */
void rh_expect_silence(const struct rh *h);
/* Attribute of the parsed reply (asserts it is there). */
const struct tern_attr *rh_attr(const struct rh *h, uint16_t type);
uint32_t rh_attr_u32(const struct rh *h, uint16_t type);
/* The nth XOR-RELAYED-ADDRESS (or any XOR address type) of the reply. */
struct tern_addr rh_xor_addr(const struct rh *h, uint16_t type, size_t nth);
void rh_assert_addr(const struct tern_addr *got, const struct tern_addr *want);
/* A compact text of the last output ("ok", "e437", "peer", "close ev:expired", "-"). */
const char *rh_signature(struct rh *h, char *buf, size_t cap);
struct tern_relay_stats rh_stats(const struct rh *h);

#endif /* TERN_RELAY_HARNESS_H */
