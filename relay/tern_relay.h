/*
 * tern_relay.h - the TURN allocation manager (RFC 8656) as a sans-IO state
 * machine.
 *
 * The relay never reads a clock, touches a socket or draws randomness by
 * itself. Every entry point takes `now` (monotonic milliseconds, never
 * decreasing between calls) and writes what the shell must do as actions
 * into a caller-provided struct tern_relay_out. tern_relay_next_deadline()
 * says when to call tern_relay_tick(). Memory comes from one injected
 * allocator, randomness (relay ports, reservation tokens) from one injected
 * entropy hook; both are the only callbacks.
 *
 * Errors are enum tern_err (tern_codec.h). An input the relay rejects is
 * answered on the wire (a STUN error response) or dropped and counted; the
 * function still returns TERN_OK. A function returns an error only for a
 * caller mistake (TERN_ERR_INVALID_ARG), for no room in the out buffer
 * (TERN_ERR_NO_SPACE: nothing of that input was applied; call again with
 * room) or, for tern_relay_create(), TERN_ERR_NOMEM.
 */
#ifndef TERN_RELAY_H
#define TERN_RELAY_H

#include "tern_codec.h"

/* ----------------------------------------------------------- addresses */

/* An inclusive address range of one family; ports are ignored. */
struct tern_addr_range {
	struct tern_addr lo;
	struct tern_addr hi;
};

/* A CIDR prefix as a range. Errors: TERN_ERR_INVALID_ARG. */
TERN_WUR int tern_addr_range_cidr(const struct tern_addr *base, unsigned prefix_len,
                                  struct tern_addr_range *out);
/* True when addr (same family) lies in r. */
bool tern_addr_range_contains(const struct tern_addr_range *r, const struct tern_addr *addr);

/* How an IPv6 address embeds an IPv4 one (RFC 4291, 3056, 6052, 4380). */
enum tern_embed {
	TERN_EMBED_NONE = 0,
	TERN_EMBED_MAPPED, /* ::ffff:a.b.c.d */
	TERN_EMBED_COMPAT, /* ::a.b.c.d (deprecated; not :: or ::1) */
	TERN_EMBED_6TO4,   /* 2002:AABB:CCDD::/48 */
	TERN_EMBED_NAT64,  /* 64:ff9b::/96 and 64:ff9b:1::/48 */
	TERN_EMBED_TEREDO, /* 2001:0::/32, client address inverted */
};
/*
 * The IPv4 address an IPv6 address embeds, if any: writes it to *v4 (port
 * kept) and returns the form. For TERN_EMBED_NONE *v4 is a copy of addr.
 */
enum tern_embed tern_addr_embedded_v4(const struct tern_addr *addr, struct tern_addr *v4);

/* --------------------------------------------------------- peer policy */

/*
 * Which peers the relay may send to (DESIGN: deny by default). The built-in
 * deny list covers every special-purpose range; operator deny ranges add to
 * it; operator allow ranges override both. An address is checked in every
 * form it takes: as given and, when it embeds an IPv4 address, as that
 * IPv4 address; it is allowed only if no form is denied without being
 * allowed. The server's own addresses are denied unless allowed, and their
 * listening ports always (no loops); their relay port range is allowed, so
 * two clients of one server reach each other through relayed addresses.
 */
struct tern_peer_policy {
	const struct tern_addr_range *allow;
	size_t n_allow;
	const struct tern_addr_range *deny;
	size_t n_deny;
	const struct tern_addr *own; /* with the listening port in .port */
	size_t n_own;
	uint16_t relay_min_port;
	uint16_t relay_max_port;
	bool allow_loopback; /* opens 127.0.0.0/8 and ::1: tests only */
};

/* Verdict for one peer address and port. */
bool tern_peer_allowed(const struct tern_peer_policy *p, const struct tern_addr *peer);

/* ------------------------------------------------------------- config */

enum tern_transport {
	TERN_TRANSPORT_UDP = 0,
	TERN_TRANSPORT_TCP = 1,
	TERN_TRANSPORT_TLS = 2,
};

/* A static user: a password, or a precomputed MD5 long-term key. */
struct tern_relay_user {
	const char *name;
	const char *password; /* NULL when key is given */
	const uint8_t *key;   /* 16-byte MD5(name:realm:password), or NULL */
};

/* A TURN REST API shared secret (several may be active, for rotation). */
struct tern_relay_secret {
	const uint8_t *secret;
	size_t len;
};

struct tern_relay_hooks {
	/* Allocator: alloc returns NULL on failure; free accepts NULL. */
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *ptr);
	/* Fill buf with n random bytes from a CSPRNG; non-zero on failure. */
	int (*entropy)(void *ctx, uint8_t *buf, size_t n);
	void *ctx;
};

/*
 * Everything the relay is told at creation. Strings and arrays are copied:
 * the caller may free them once tern_relay_create() or
 * tern_relay_reconfigure() returns. Zero values take the defaults named.
 */
struct tern_relay_config {
	const char *realm;    /* required */
	const char *software; /* SOFTWARE attribute, or NULL for none */
	/* Addresses written into XOR-RELAYED-ADDRESS (external-ip); family
	 * TERN_AF_NONE means that family is not offered (440). */
	struct tern_addr relay_v4;
	struct tern_addr relay_v6;
	uint16_t min_port;              /* default 49152 */
	uint16_t max_port;              /* default 65535 */
	uint32_t default_lifetime_s;    /* 600 */
	uint32_t max_lifetime_s;        /* 3600 */
	uint32_t permission_lifetime_s; /* 300 (RFC 8656 §9: fixed) */
	uint32_t channel_lifetime_s;    /* 600 */
	uint32_t nonce_lifetime_s;      /* 600 */
	uint32_t max_allocations;       /* total-quota; default 10000 */
	uint32_t user_quota;            /* allocations per user; 0 = unlimited */
	uint32_t max_permissions;       /* per allocation; default 32 */
	uint32_t max_channels;          /* per allocation; default 32 */
	uint64_t max_bps;               /* bytes/s per allocation; 0 = unlimited */
	uint32_t unauth_per_s;          /* 401s per second per source; 20 */
	bool rfc5766_channels;          /* accept ChannelBind 0x4000-0x7FFF */
	struct tern_peer_policy policy;
	const struct tern_relay_user *users;
	size_t n_users;
	const struct tern_relay_secret *secrets;
	size_t n_secrets;
	/* Process secret that keys stateless nonces (>= 16 bytes): the same
	 * in every worker so any of them verifies any nonce. */
	const uint8_t *nonce_key;
	size_t nonce_key_len;
	struct tern_relay_hooks hooks;
};

/* ---------------------------------------------------------- actions */

/* Where a client datagram came from, and where answers go back. */
struct tern_relay_client {
	uint32_t listener; /* the shell's id of the socket or connection */
	enum tern_transport transport;
	struct tern_addr client; /* remote address */
	struct tern_addr server; /* local address it arrived at */
};

enum tern_relay_action_kind {
	TERN_ACT_SEND_CLIENT, /* send data to .client */
	TERN_ACT_SEND_PEER,   /* send data from relay socket .handle to .peer */
	TERN_ACT_OPEN,        /* bind relay socket .handle at .peer (addr, port) */
	TERN_ACT_CLOSE,       /* close relay socket .handle */
	TERN_ACT_EVENT,       /* something to log or count: .event, .code */
};

enum tern_relay_event {
	TERN_EV_ALLOC_CREATED,
	TERN_EV_ALLOC_DELETED, /* by Refresh 0 or a closed connection */
	TERN_EV_ALLOC_EXPIRED,
	TERN_EV_PERMISSION_CREATED,
	TERN_EV_CHANNEL_BOUND,
	TERN_EV_AUTH_FAILED, /* .code: the error sent (401, 438, 441) */
	TERN_EV_ERROR_SENT,  /* .code: the STUN error code */
	TERN_EV_PORT_EXHAUSTED,
};

struct tern_relay_action {
	enum tern_relay_action_kind kind;
	uint32_t handle;                 /* SEND_PEER, OPEN, CLOSE */
	struct tern_relay_client client; /* SEND_CLIENT; EVENT: who */
	struct tern_addr peer;           /* SEND_PEER: to; OPEN: local address */
	const uint8_t *data;             /* SEND_*: borrowed bytes */
	size_t len;
	bool dont_fragment;          /* OPEN: set DF on the socket */
	enum tern_relay_event event; /* EVENT */
	uint16_t code;               /* EVENT */
};

/*
 * Where an input call writes its actions. Responses the relay builds go
 * into scratch; SEND_* actions point into scratch or into the caller's
 * input buffer, and stay valid until the caller reuses either.
 */
struct tern_relay_out {
	struct tern_relay_action *actions;
	size_t cap;
	size_t n;
	uint8_t *scratch;
	size_t scratch_cap;
	size_t scratch_len;
};

/*
 * Memory: one allocation with one permission and one channel costs about
 * 420 bytes of relay state (tern-relay-bench, "bytes per allocation"),
 * plus a fixed part sized by max_allocations at creation (tables, the
 * expiry heap, two 8 KiB port bitmaps): about 200 bytes per allowed
 * allocation.
 */

/* Room one client or peer input needs at most. */
#define TERN_RELAY_MAX_ACTIONS 8u
#define TERN_RELAY_SCRATCH     1500u
/* Room a peer datagram needs before and after it (Data indication). */
#define TERN_RELAY_HEADROOM 48u
#define TERN_RELAY_TAILROOM 4u

/* ---------------------------------------------------------- the relay */

struct tern_relay;

/*
 * Errors: TERN_ERR_INVALID_ARG (bad config), TERN_ERR_NOMEM, TERN_ERR_CRYPTO
 * (the entropy hook failed). Nothing is left allocated on error.
 */
TERN_WUR int tern_relay_create(const struct tern_relay_config *cfg, struct tern_relay **out);
/* Closes nothing: the shell closes its sockets. */
void tern_relay_destroy(struct tern_relay *r);

/*
 * Replace users, secrets, policy, quotas and lifetimes (SIGHUP) without
 * touching allocations. Port range and relay addresses are kept.
 * Errors: TERN_ERR_INVALID_ARG, TERN_ERR_NOMEM (old config stays).
 */
TERN_WUR int tern_relay_reconfigure(struct tern_relay *r, const struct tern_relay_config *cfg);

/* A datagram, or one stream frame, from a client. */
TERN_WUR int tern_relay_client_input(struct tern_relay *r, uint64_t now,
                                     const struct tern_relay_client *from, const uint8_t *buf,
                                     size_t len, struct tern_relay_out *out);

/*
 * A datagram from a peer to relay socket handle. The data is at
 * buf + headroom, len bytes; the relay writes a ChannelData or Data
 * indication header in front of it (headroom >= TERN_RELAY_HEADROOM) and
 * padding after it (tailroom >= TERN_RELAY_TAILROOM), without a copy.
 */
TERN_WUR int tern_relay_peer_input(struct tern_relay *r, uint64_t now, uint32_t handle,
                                   const struct tern_addr *peer, uint8_t *buf, size_t headroom,
                                   size_t len, size_t tailroom, struct tern_relay_out *out);

/*
 * The shell's answer to TERN_ACT_OPEN: result 0 when bound, TERN_ERR_...
 * otherwise: TERN_ERR_STATE (address in use: the relay picks another port)
 * or TERN_ERR_CAPACITY (no descriptors: 508).
 */
TERN_WUR int tern_relay_opened(struct tern_relay *r, uint64_t now, uint32_t handle, int result,
                               struct tern_relay_out *out);

/*
 * A stream connection closed: the allocation on its 5-tuple goes (RFC 8656
 * §3.7). conn is what the shell passed as `from` for that connection.
 */
TERN_WUR int tern_relay_client_closed(struct tern_relay *r, uint64_t now,
                                      const struct tern_relay_client *conn,
                                      struct tern_relay_out *out);

/* Expire what is due. May need several calls if out fills. */
TERN_WUR int tern_relay_tick(struct tern_relay *r, uint64_t now, struct tern_relay_out *out);

/*
 * Tell the relay the wall clock: unix_ms is the Unix time in milliseconds
 * at monotonic time now. Only TURN REST usernames (which carry a Unix
 * expiry) need it; the shell calls it at start and now and then after.
 */
void tern_relay_set_unix_time(struct tern_relay *r, uint64_t now, uint64_t unix_ms);

/*
 * Draining (a graceful stop): new Allocate requests get 508 so clients try
 * another server; existing allocations keep working until they end.
 */
void tern_relay_set_draining(struct tern_relay *r, bool draining);

/* When to call tern_relay_tick() next; UINT64_MAX when nothing is due. */
uint64_t tern_relay_next_deadline(const struct tern_relay *r);

/* Why the relay dropped something (tern_relay_stats.drops[]). */
enum tern_relay_drop {
	TERN_DROP_MALFORMED,     /* unparseable, bad FINGERPRINT, Send lacking attributes */
	TERN_DROP_UNHANDLED,     /* responses, stray indications, unsupported methods, non-STUN */
	TERN_DROP_NO_ALLOCATION, /* no live allocation (or relay side) for the sender */
	TERN_DROP_NO_PERMISSION, /* no permission for the peer, or channel not bound */
	TERN_DROP_DENIED_PEER,   /* the peer policy refuses the address */
	TERN_DROP_BANDWIDTH,     /* the allocation's max-bps bucket is empty */
	TERN_DROP_RATE_LIMITED,  /* a 401/438 not sent: per-source challenge limit */
	TERN_DROP_OVERFLOW,      /* the caller's action or scratch buffer was full */
	TERN_DROP_REASONS
};

struct tern_relay_stats {
	uint64_t allocations;
	uint64_t permissions;
	uint64_t channels;
	uint64_t pkts_to_peer;
	uint64_t bytes_to_peer;
	uint64_t pkts_to_client;
	uint64_t bytes_to_client;
	uint64_t dropped; /* the sum of drops[] */
	uint64_t drops[TERN_DROP_REASONS];
	uint64_t auth_failures;
	uint64_t errors_sent;
};
void tern_relay_get_stats(const struct tern_relay *r, struct tern_relay_stats *out);

#endif /* TERN_RELAY_H */
