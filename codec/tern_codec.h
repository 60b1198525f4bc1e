/*
 * tern_codec.h - the STUN/TURN message codec (RFC 8489, RFC 8656, RFC 6062,
 * RFC 5780, RFC 8016).
 *
 * Contract for every function in this header:
 *  - Pure functions on caller-owned buffers. Nothing here allocates, keeps
 *    global state, reads a clock or touches a socket. (The hash primitives
 *    come from OpenSSL's libcrypto; the low-level digest calls used do not
 *    allocate either.)
 *  - Functions that can fail return enum tern_err: TERN_OK (0) or a negative
 *    code. Outputs are written only on success unless the comment says
 *    otherwise. Every such function is warn_unused_result.
 *  - Decoded values are borrowed views into the input buffer: they stay valid
 *    exactly as long as the caller keeps that buffer alive and unchanged.
 *  - Multi-byte wire fields are big-endian; host values are native integers.
 */
#ifndef TERN_CODEC_H
#define TERN_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERN_WUR __attribute__((warn_unused_result))

/* ---------------------------------------------------------------- errors */

/*
 * The project's one error enum. 0 is success, every error is negative.
 * The relay reuses it, so it also names resource errors the codec never
 * returns itself.
 */
enum tern_err {
	TERN_OK = 0,
	TERN_ERR_TRUNCATED = -1,    /* input ends before a field does */
	TERN_ERR_MALFORMED = -2,    /* a field has a value the format forbids */
	TERN_ERR_NOT_STUN = -3,     /* header is not a STUN header at all */
	TERN_ERR_TOO_MANY = -4,     /* more attributes than TERN_STUN_MAX_ATTRS */
	TERN_ERR_NO_SPACE = -5,     /* output buffer capacity exceeded */
	TERN_ERR_NOT_FOUND = -6,    /* attribute absent */
	TERN_ERR_INTEGRITY = -7,    /* MESSAGE-INTEGRITY(-SHA256) mismatch */
	TERN_ERR_FINGERPRINT = -8,  /* FINGERPRINT mismatch */
	TERN_ERR_UNSUPPORTED = -9,  /* valid but not implemented (algorithm...) */
	TERN_ERR_INVALID_ARG = -10, /* caller passed an argument out of range */
	TERN_ERR_CRYPTO = -11,      /* the crypto library failed */
	TERN_ERR_NOMEM = -12,       /* allocator failed (relay) */
	TERN_ERR_CAPACITY = -13,    /* configured cap reached (relay) */
	TERN_ERR_STATE = -14,       /* call not valid in the current state */
};

/* A short constant English name for an error code ("truncated", ...). */
const char *tern_strerror(int err);

/* ------------------------------------------------------------- constants */

#define TERN_STUN_MAGIC_COOKIE    0x2112A442u
#define TERN_STUN_FINGERPRINT_XOR 0x5354554Eu
#define TERN_STUN_HEADER_LEN      20u
#define TERN_STUN_TXID_LEN        12u
/* Most attributes one parsed message may carry; more is TERN_ERR_TOO_MANY. */
#define TERN_STUN_MAX_ATTRS 40u
/* Most unknown comprehension-required types remembered for a 420. */
#define TERN_STUN_MAX_UNKNOWN 8u
/* Longest STUN message: header plus a 16-bit body length. */
#define TERN_STUN_MAX_MSG (TERN_STUN_HEADER_LEN + 65532u)
/* RFC 8489 §14.3-14.9: USERNAME < 509 bytes sent, accept up to 763. */
#define TERN_STUN_MAX_STRING 763u
/* RFC 8489 §14.8: reason phrase < 128 characters, at most 763 bytes. */
#define TERN_STUN_MAX_REASON 763u

enum tern_stun_class {
	TERN_STUN_REQUEST = 0,
	TERN_STUN_INDICATION = 1,
	TERN_STUN_SUCCESS = 2,
	TERN_STUN_ERROR = 3,
};

enum tern_stun_method {
	TERN_STUN_BINDING = 0x001,
	TERN_TURN_ALLOCATE = 0x003,
	TERN_TURN_REFRESH = 0x004,
	TERN_TURN_SEND = 0x006,
	TERN_TURN_DATA = 0x007,
	TERN_TURN_CREATE_PERMISSION = 0x008,
	TERN_TURN_CHANNEL_BIND = 0x009,
	TERN_TURN_CONNECT = 0x00A,
	TERN_TURN_CONNECTION_BIND = 0x00B,
	TERN_TURN_CONNECTION_ATTEMPT = 0x00C,
};

enum tern_stun_attr_type {
	TERN_ATTR_MAPPED_ADDRESS = 0x0001,
	TERN_ATTR_CHANGE_REQUEST = 0x0003,
	TERN_ATTR_USERNAME = 0x0006,
	TERN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	TERN_ATTR_ERROR_CODE = 0x0009,
	TERN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	TERN_ATTR_CHANNEL_NUMBER = 0x000C,
	TERN_ATTR_LIFETIME = 0x000D,
	TERN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	TERN_ATTR_DATA = 0x0013,
	TERN_ATTR_REALM = 0x0014,
	TERN_ATTR_NONCE = 0x0015,
	TERN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	TERN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
	TERN_ATTR_EVEN_PORT = 0x0018,
	TERN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	TERN_ATTR_DONT_FRAGMENT = 0x001A,
	TERN_ATTR_ACCESS_TOKEN = 0x001B,
	TERN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	TERN_ATTR_PASSWORD_ALGORITHM = 0x001D,
	TERN_ATTR_USERHASH = 0x001E,
	TERN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	TERN_ATTR_RESERVATION_TOKEN = 0x0022,
	TERN_ATTR_PRIORITY = 0x0024,
	TERN_ATTR_USE_CANDIDATE = 0x0025,
	TERN_ATTR_PADDING = 0x0026,
	TERN_ATTR_RESPONSE_PORT = 0x0027,
	TERN_ATTR_CONNECTION_ID = 0x002A,
	TERN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
	TERN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
	TERN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	TERN_ATTR_ALTERNATE_DOMAIN = 0x8003,
	TERN_ATTR_ICMP = 0x8004,
	TERN_ATTR_SOFTWARE = 0x8022,
	TERN_ATTR_ALTERNATE_SERVER = 0x8023,
	TERN_ATTR_CACHE_TIMEOUT = 0x8027,
	TERN_ATTR_FINGERPRINT = 0x8028,
	TERN_ATTR_ICE_CONTROLLED = 0x8029,
	TERN_ATTR_ICE_CONTROLLING = 0x802A,
	TERN_ATTR_RESPONSE_ORIGIN = 0x802B,
	TERN_ATTR_OTHER_ADDRESS = 0x802C,
	TERN_ATTR_THIRD_PARTY_AUTHORIZATION = 0x802E,
	TERN_ATTR_MOBILITY_TICKET = 0x8030,
};

/* The shape of an attribute's value, which decoder and builder apply. */
enum tern_attr_kind {
	TERN_KIND_UNKNOWN = 0, /* not a type this codec knows */
	TERN_KIND_ADDRESS,     /* MAPPED-ADDRESS family */
	TERN_KIND_XOR_ADDRESS, /* XOR-MAPPED/PEER/RELAYED-ADDRESS */
	TERN_KIND_STRING,      /* UTF-8 text, <= TERN_STUN_MAX_STRING bytes */
	TERN_KIND_BYTES,       /* opaque bytes of any length */
	TERN_KIND_EMPTY,       /* length 0 (DONT-FRAGMENT, USE-CANDIDATE) */
	TERN_KIND_U8_RSVD3,    /* 1 byte + 3 reserved (transport, family) */
	TERN_KIND_EVEN_PORT,   /* 1 byte, R flag in the top bit */
	TERN_KIND_U16_RSVD2,   /* 16 bits + 2 reserved (channel, port) */
	TERN_KIND_U32,         /* LIFETIME, PRIORITY, ..., CHANGE-REQUEST */
	TERN_KIND_U64,         /* ICE tie-breakers, RESERVATION-TOKEN */
	TERN_KIND_ERROR_CODE,  /* ERROR-CODE */
	TERN_KIND_ADDRESS_ERROR_CODE,
	TERN_KIND_UNKNOWN_ATTRIBUTES,
	TERN_KIND_PASSWORD_ALGORITHM,
	TERN_KIND_PASSWORD_ALGORITHMS,
	TERN_KIND_ICMP,
	TERN_KIND_MESSAGE_INTEGRITY,        /* 20 bytes */
	TERN_KIND_MESSAGE_INTEGRITY_SHA256, /* 16..32 bytes, multiple of 4 */
	TERN_KIND_USERHASH,                 /* 32 bytes */
	TERN_KIND_FINGERPRINT,              /* 4 bytes */
};

/* Kind of a type (TERN_KIND_UNKNOWN for unknown types). */
enum tern_attr_kind tern_attr_kind_of(uint16_t type);
/* Registry name ("XOR-PEER-ADDRESS") or NULL for an unknown type. */
const char *tern_attr_name(uint16_t type);
/* Method name ("Allocate") or NULL. */
const char *tern_stun_method_name(uint16_t method);
/* "request", "indication", "success" or "error". */
const char *tern_stun_class_name(enum tern_stun_class cls);

/* 16-bit message type <-> (method, class); RFC 8489 §5 bit layout. */
uint16_t tern_stun_type(uint16_t method, enum tern_stun_class cls);
uint16_t tern_stun_type_method(uint16_t type);
enum tern_stun_class tern_stun_type_class(uint16_t type);

/* ---------------------------------------------------------- addresses */

enum tern_family {
	TERN_AF_NONE = 0,
	TERN_AF_IPV4 = 1, /* the STUN family codes */
	TERN_AF_IPV6 = 2,
};

/* tern's own address type: no sockaddr in the core. IPv4 uses addr[0..3]. */
struct tern_addr {
	uint8_t family; /* enum tern_family */
	uint16_t port;  /* host order */
	uint8_t addr[16];
};

/*
 * XOR an address with the magic cookie and transaction id in place (RFC 8489
 * §14.2); applying it twice restores the address.
 */
void tern_addr_xor(struct tern_addr *addr, const uint8_t *txid);

/* ---------------------------------------------------------- parsing */

/* One attribute as found on the wire: a view into the message. */
struct tern_attr {
	uint16_t type;
	uint16_t len;         /* value length, without padding */
	uint32_t offset;      /* offset of the attribute header in the message */
	const uint8_t *value; /* len bytes */
};

/*
 * A parsed STUN message: a caller-owned view of a caller-owned buffer.
 * attrs[] holds every attribute that counts, in wire order; attributes that
 * RFC 8489 §14.5/§14.6 says to ignore (after MESSAGE-INTEGRITY or
 * MESSAGE-INTEGRITY-SHA256) are walked for framing but not listed.
 * Duplicates are listed; tern_stun_find() returns the first (RFC 8489 §14:
 * only the first occurrence needs processing).
 */
struct tern_stun_msg {
	const uint8_t *raw; /* the whole message */
	size_t raw_len;
	uint16_t type;
	uint16_t method;
	enum tern_stun_class cls;
	const uint8_t *txid; /* TERN_STUN_TXID_LEN bytes inside raw */
	uint16_t nattrs;
	struct tern_attr attrs[TERN_STUN_MAX_ATTRS];
	/* indexes into attrs[], -1 when absent */
	int16_t mi_index;
	int16_t mi256_index;
	int16_t fp_index;
	/* unknown comprehension-required types (0x0000-0x7FFF), for a 420 */
	uint8_t nunknown;
	uint16_t unknown[TERN_STUN_MAX_UNKNOWN];
	/* index of the attribute whose value was rejected, -1 if none */
	int16_t bad_index;
	uint16_t bad_type;
};

/*
 * Parse and validate one STUN message that fills buf exactly (a UDP
 * datagram, or one frame from tern_stream_frame_len()).
 *
 * Checks (RFC 8489 §5, §6.3, §14): length >= 20, top two bits zero, magic
 * cookie, Length a multiple of 4 and equal to len - 20; each attribute read
 * through an exact-length sub-reader; padding present (its value ignored);
 * known attributes have a valid value for their kind (fixed sizes exact,
 * strings within limits, address families known, ERROR-CODE class 3-6 and
 * number 0-99); FINGERPRINT, if present, is the last attribute.
 * Unknown comprehension-required types are collected in unknown[] and do
 * not fail the parse: the caller decides (420 for a request).
 *
 * Errors: TERN_ERR_NOT_STUN (not a STUN header: drop or try ChannelData),
 * TERN_ERR_TRUNCATED / TERN_ERR_MALFORMED (broken message: answer 400 to a
 * request whose header parsed, else drop; bad_type/bad_index say which
 * attribute when one was at fault), TERN_ERR_TOO_MANY (answer 400).
 * On error, *msg holds what was parsed so far for the 400: type, method and
 * cls once the magic cookie is checked; txid only once the whole header is
 * valid, Length included (RFC 8489 §6.3: a message whose length does not
 * match is discarded, so txid == NULL means "drop, do not answer").
 */
TERN_WUR int tern_stun_parse(const uint8_t *buf, size_t len, struct tern_stun_msg *msg);

/* First listed attribute of this type, or NULL. */
const struct tern_attr *tern_stun_find(const struct tern_stun_msg *msg, uint16_t type);
/*
 * Next listed attribute of the same type after prev (for repeated
 * XOR-PEER-ADDRESS in CreatePermission), or NULL.
 */
const struct tern_attr *tern_stun_find_next(const struct tern_stun_msg *msg,
                                            const struct tern_attr *prev);

/* ------------------------------------------- typed attribute decoders */
/*
 * All return TERN_ERR_MALFORMED when the value does not have the shape of
 * the named kind. They check shape, not type: tern_stun_parse() already
 * validated every known attribute, so a getter of the matching kind
 * (tern_attr_kind_of) cannot fail on an attribute of a parsed message.
 */

/* MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS. */
TERN_WUR int tern_attr_get_address(const struct tern_attr *a, struct tern_addr *out);
/* XOR-MAPPED-, XOR-PEER-, XOR-RELAYED-ADDRESS; txid is the message's. */
TERN_WUR int tern_attr_get_xor_address(const struct tern_attr *a, const uint8_t *txid,
                                       struct tern_addr *out);
/*
 * Text attributes: a view of the bytes as sent (not NUL-terminated), at most
 * TERN_STUN_MAX_STRING bytes of well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), as RFC 8489 §14 requires.
 */
TERN_WUR int tern_attr_get_string(const struct tern_attr *a, const uint8_t **text, size_t *len);
TERN_WUR int tern_attr_get_u32(const struct tern_attr *a, uint32_t *out);
TERN_WUR int tern_attr_get_u64(const struct tern_attr *a, uint64_t *out);
/* REQUESTED-TRANSPORT protocol, REQUESTED-/ADDITIONAL-ADDRESS-FAMILY. */
TERN_WUR int tern_attr_get_u8(const struct tern_attr *a, uint8_t *out);
/* CHANNEL-NUMBER, RESPONSE-PORT. */
TERN_WUR int tern_attr_get_u16(const struct tern_attr *a, uint16_t *out);
/* EVEN-PORT: *reserve is the R bit. */
TERN_WUR int tern_attr_get_even_port(const struct tern_attr *a, bool *reserve);

struct tern_error_code {
	uint16_t code; /* 300..699 */
	const uint8_t *reason;
	size_t reason_len;
};
TERN_WUR int tern_attr_get_error_code(const struct tern_attr *a, struct tern_error_code *out);

/* ADDRESS-ERROR-CODE (RFC 8656 §18.12): a family plus an error code. */
TERN_WUR int tern_attr_get_address_error_code(const struct tern_attr *a, uint8_t *family,
                                              struct tern_error_code *out);

/* UNKNOWN-ATTRIBUTES: up to cap types copied, *n = how many are present. */
TERN_WUR int tern_attr_get_unknown_attributes(const struct tern_attr *a, uint16_t *types,
                                              size_t cap, size_t *n);

enum tern_password_alg {
	TERN_PWALG_MD5 = 0x0001,
	TERN_PWALG_SHA256 = 0x0002,
};
struct tern_password_alg_entry {
	uint16_t alg;
	uint16_t params_len;
	const uint8_t *params;
};
/* PASSWORD-ALGORITHM (RFC 8489 §14.12). */
TERN_WUR int tern_attr_get_password_algorithm(const struct tern_attr *a,
                                              struct tern_password_alg_entry *out);
/* PASSWORD-ALGORITHMS: up to cap entries copied, *n = how many present. */
TERN_WUR int tern_attr_get_password_algorithms(const struct tern_attr *a,
                                               struct tern_password_alg_entry *out, size_t cap,
                                               size_t *n);

/* ICMP (RFC 8656 §18.13). */
struct tern_icmp {
	uint8_t type;
	uint8_t code;
	uint32_t error_data;
};
TERN_WUR int tern_attr_get_icmp(const struct tern_attr *a, struct tern_icmp *out);

/* Check a known attribute's value against its kind (what parse applies). */
TERN_WUR int tern_attr_validate(const struct tern_attr *a);

/* ---------------------------------------------------------- building */

/*
 * A message under construction in a caller buffer. Every add either appends
 * a whole, zero-padded attribute and updates the header Length, or fails
 * with TERN_ERR_NO_SPACE / TERN_ERR_INVALID_ARG and poisons the builder:
 * every later call fails too and tern_stun_build_finish() reports the
 * first error, so a caller may chain adds and check once (fail closed).
 * That is why the adds, unlike the rest of the API, are not
 * warn_unused_result: tern_stun_build_finish() is, and it is the check.
 */
struct tern_stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
	bool sealed; /* FINGERPRINT added: nothing may follow */
	uint8_t txid[TERN_STUN_TXID_LEN];
};

/* Writes the header. cap must be >= 20, txid 12 bytes. */
TERN_WUR int tern_stun_build_start(struct tern_stun_builder *b, uint8_t *buf, size_t cap,
                                   uint16_t type, const uint8_t *txid);
/* Raw attribute: any type, len bytes copied, zero padding. */
int tern_stun_add_raw(struct tern_stun_builder *b, uint16_t type, const void *value, size_t len);
/*
 * Reserve an attribute of len bytes and return where its value goes, so the
 * caller writes it in place (DATA without a copy). Padding is zeroed.
 */
int tern_stun_add_reserve(struct tern_stun_builder *b, uint16_t type, size_t len, uint8_t **value);
int tern_stun_add_address(struct tern_stun_builder *b, uint16_t type, const struct tern_addr *addr);
int tern_stun_add_xor_address(struct tern_stun_builder *b, uint16_t type,
                              const struct tern_addr *addr);
/* Text attribute; rejects more than TERN_STUN_MAX_STRING bytes. */
int tern_stun_add_string(struct tern_stun_builder *b, uint16_t type, const void *text, size_t len);
int tern_stun_add_u32(struct tern_stun_builder *b, uint16_t type, uint32_t v);
int tern_stun_add_u64(struct tern_stun_builder *b, uint16_t type, uint64_t v);
int tern_stun_add_u8(struct tern_stun_builder *b, uint16_t type, uint8_t v);
int tern_stun_add_u16(struct tern_stun_builder *b, uint16_t type, uint16_t v);
int tern_stun_add_even_port(struct tern_stun_builder *b, bool reserve);
/* ERROR-CODE; code 300..699; reason may be NULL for the standard phrase. */
int tern_stun_add_error_code(struct tern_stun_builder *b, uint16_t code, const char *reason,
                             size_t reason_len);
int tern_stun_add_address_error_code(struct tern_stun_builder *b, uint8_t family, uint16_t code,
                                     const char *reason, size_t reason_len);
int tern_stun_add_unknown_attributes(struct tern_stun_builder *b, const uint16_t *types, size_t n);
int tern_stun_add_password_algorithm(struct tern_stun_builder *b,
                                     const struct tern_password_alg_entry *e);
int tern_stun_add_password_algorithms(struct tern_stun_builder *b,
                                      const struct tern_password_alg_entry *e, size_t n);
int tern_stun_add_icmp(struct tern_stun_builder *b, const struct tern_icmp *icmp);
/*
 * MESSAGE-INTEGRITY over everything so far (RFC 8489 §14.5), HMAC-SHA1 with
 * key (the long-term MD5/SHA-256 key or the short-term password).
 */
int tern_stun_add_integrity(struct tern_stun_builder *b, const uint8_t *key, size_t key_len);
/* MESSAGE-INTEGRITY-SHA256; mac_len 16..32 in steps of 4 (32 = full). */
int tern_stun_add_integrity_sha256(struct tern_stun_builder *b, const uint8_t *key, size_t key_len,
                                   size_t mac_len);
/* FINGERPRINT (RFC 8489 §14.7); must be the last add. */
int tern_stun_add_fingerprint(struct tern_stun_builder *b);
/* First error of the build, or TERN_OK with *len = the message length. */
TERN_WUR int tern_stun_build_finish(const struct tern_stun_builder *b, size_t *len);

/* Standard reason phrase for an error code ("Allocation Mismatch"), or "". */
const char *tern_stun_reason(uint16_t code);

/* ------------------------------------------------- integrity and keys */

/*
 * Verify MESSAGE-INTEGRITY (HMAC-SHA1) of a parsed message with key.
 * Constant-time compare. Errors: TERN_ERR_NOT_FOUND (absent: 400 or 401 per
 * RFC 8489 §9.2.4), TERN_ERR_INTEGRITY (mismatch: 401).
 */
TERN_WUR int tern_stun_check_integrity(const struct tern_stun_msg *msg, const uint8_t *key,
                                       size_t key_len);
/* Same for MESSAGE-INTEGRITY-SHA256, accepting the truncated forms. */
TERN_WUR int tern_stun_check_integrity_sha256(const struct tern_stun_msg *msg, const uint8_t *key,
                                              size_t key_len);
/* FINGERPRINT: TERN_ERR_NOT_FOUND or TERN_ERR_FINGERPRINT on mismatch. */
TERN_WUR int tern_stun_check_fingerprint(const struct tern_stun_msg *msg);

#define TERN_KEY_MAX 32u
/*
 * Long-term key (RFC 8489 §9.2.2): MD5 or SHA-256 of
 * username ":" realm ":" password, bytes as given (the caller applies
 * OpaqueString/SASLprep). out must hold TERN_KEY_MAX bytes; *out_len is 16
 * or 32. Errors: TERN_ERR_UNSUPPORTED for another algorithm.
 */
TERN_WUR int tern_stun_long_term_key(uint16_t alg, const void *username, size_t username_len,
                                     const void *realm, size_t realm_len, const void *password,
                                     size_t password_len, uint8_t *out, size_t *out_len);
/* USERHASH = SHA-256(username ":" realm) (RFC 8489 §14.4), 32 bytes. */
void tern_stun_userhash(const void *username, size_t username_len, const void *realm,
                        size_t realm_len, uint8_t out[32]);

/*
 * TURN REST API password: base64(HMAC-SHA1(secret, username)), NUL
 * terminated; out needs 29 bytes. Errors: TERN_ERR_NO_SPACE.
 */
#define TERN_REST_PASSWORD_LEN 28u
TERN_WUR int tern_turn_rest_password(const void *secret, size_t secret_len, const void *username,
                                     size_t username_len, char *out, size_t cap);

/*
 * The expiry of a TURN REST API username "<unix-seconds>[:<id>]": 1 to 12
 * leading digits, then the end or ':'. Errors: TERN_ERR_NOT_FOUND (not
 * such a username).
 */
TERN_WUR int tern_turn_rest_expiry(const uint8_t *username, size_t len, uint64_t *expiry);

/* HMAC-SHA1 and HMAC-SHA256 of one buffer, for callers (nonces, REST). */
void tern_hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[20]);
void tern_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[32]);
/* Constant-time equality of two n-byte buffers. */
bool tern_ct_equal(const void *a, const void *b, size_t n);

/*
 * RFC 8489 §9.2 nonce cookie: "obMatJos2" followed by the 24 security
 * feature bits in 4 base64 characters. Bit 0 is the least significant bit
 * (Errata 6290).
 */
#define TERN_NONCE_COOKIE_LEN            13u
#define TERN_FEATURE_PASSWORD_ALGORITHMS 0x000001u
#define TERN_FEATURE_USERNAME_ANONYMITY  0x000002u
/* Writes the 13 cookie bytes (no NUL). features must fit in 24 bits. */
TERN_WUR int tern_stun_nonce_cookie(uint32_t features, uint8_t out[TERN_NONCE_COOKIE_LEN]);
/*
 * TERN_OK and *features when nonce starts with a well-formed cookie;
 * TERN_ERR_NOT_FOUND otherwise (no cookie: an RFC 5389 server's nonce).
 */
TERN_WUR int tern_stun_nonce_features(const uint8_t *nonce, size_t len, uint32_t *features);

/* --------------------------------------------------- base64 (RFC 4648) */
/* Encoded length of n bytes, without NUL. */
size_t tern_base64_len(size_t n);
/* Encode with padding, NUL-terminated; cap >= tern_base64_len(n) + 1. */
TERN_WUR int tern_base64_encode(const void *in, size_t n, char *out, size_t cap);
/* Decode strict base64 with padding; errors TERN_ERR_MALFORMED, NO_SPACE. */
TERN_WUR int tern_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                                size_t *out_len);

/* ---------------------------------- demultiplexing, ChannelData, streams */

/* RFC 7983 / RFC 8656 §12: what the first byte of a datagram says. */
enum tern_demux {
	TERN_DEMUX_STUN,         /* 0..3 */
	TERN_DEMUX_ZRTP,         /* 16..19 */
	TERN_DEMUX_DTLS,         /* 20..63 */
	TERN_DEMUX_CHANNEL_DATA, /* 64..127: channels 0x4000-0x7FFF (RFC 5766 range) */
	TERN_DEMUX_RTP,          /* 128..191 */
	TERN_DEMUX_OTHER,        /* anything else, or empty: drop */
};
enum tern_demux tern_demux(const uint8_t *buf, size_t len);

#define TERN_CHANNEL_MIN         0x4000u
#define TERN_CHANNEL_MAX_RFC8656 0x4FFFu
#define TERN_CHANNEL_MAX_RFC5766 0x7FFFu
#define TERN_CHANNEL_HEADER_LEN  4u

struct tern_channel_data {
	uint16_t channel;
	uint16_t len; /* data length */
	const uint8_t *data;
};

/*
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+-------------------------------+
 *  |         Channel Number        |            Length             |
 *  +-------------------------------+-------------------------------+
 *  /                       Application Data                        /
 *
 * Parse ChannelData (RFC 8656 §12.4). Channel 0x4000-0x7FFF is recognised
 * (range policy is the relay's). Over a datagram (stream = false) buf may
 * carry up to 3 padding bytes after the data; over a stream frame
 * (stream = true) it must be padded to a multiple of 4 exactly.
 * Errors: TERN_ERR_TRUNCATED, TERN_ERR_MALFORMED (channel out of range or
 * trailing bytes beyond padding): drop silently.
 */
TERN_WUR int tern_channel_data_parse(const uint8_t *buf, size_t len, bool stream,
                                     struct tern_channel_data *out);
/* Write the 4-byte header for data_len bytes at buf (room for 4). */
void tern_channel_data_header(uint8_t *buf, uint16_t channel, uint16_t data_len);
/*
 * Whole ChannelData into buf: header, data, and zero padding to 4 when
 * stream is true. Errors: TERN_ERR_NO_SPACE, TERN_ERR_INVALID_ARG.
 */
TERN_WUR int tern_channel_data_build(uint8_t *buf, size_t cap, uint16_t channel, const void *data,
                                     size_t data_len, bool stream, size_t *out_len);

/*
 * TCP/TLS stream framing (RFC 8656 §12.5, RFC 6062): given the first avail
 * bytes of a stream, say how long the next frame is.
 *  TERN_OK: *need = the frame's full length (may exceed avail: read more).
 *  TERN_ERR_TRUNCATED: fewer than 4 bytes; *need = 4.
 *  TERN_ERR_MALFORMED: neither STUN nor ChannelData (bad first bits, STUN
 *  Length not a multiple of 4, wrong magic cookie once 8 bytes are there):
 *  the stream cannot be resynchronised, close it.
 */
TERN_WUR int tern_stream_frame_len(const uint8_t *buf, size_t avail, size_t *need);

#endif /* TERN_CODEC_H */
