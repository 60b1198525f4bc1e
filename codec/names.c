/* names.c - registry tables: attribute kinds and names, methods, reasons. */
#include "tern_codec.h"

struct attr_info {
	const char *name;
	enum tern_attr_kind kind;
};

/* Comprehension-required range 0x0000-0x002A, indexed by type. */
static const struct attr_info required_attrs[] = {
    [0x0001] = {"MAPPED-ADDRESS", TERN_KIND_ADDRESS},
    [0x0003] = {"CHANGE-REQUEST", TERN_KIND_U32},
    [0x0006] = {"USERNAME", TERN_KIND_STRING},
    [0x0008] = {"MESSAGE-INTEGRITY", TERN_KIND_MESSAGE_INTEGRITY},
    [0x0009] = {"ERROR-CODE", TERN_KIND_ERROR_CODE},
    [0x000A] = {"UNKNOWN-ATTRIBUTES", TERN_KIND_UNKNOWN_ATTRIBUTES},
    [0x000C] = {"CHANNEL-NUMBER", TERN_KIND_U16_RSVD2},
    [0x000D] = {"LIFETIME", TERN_KIND_U32},
    [0x0012] = {"XOR-PEER-ADDRESS", TERN_KIND_XOR_ADDRESS},
    [0x0013] = {"DATA", TERN_KIND_BYTES},
    [0x0014] = {"REALM", TERN_KIND_STRING},
    [0x0015] = {"NONCE", TERN_KIND_STRING},
    [0x0016] = {"XOR-RELAYED-ADDRESS", TERN_KIND_XOR_ADDRESS},
    [0x0017] = {"REQUESTED-ADDRESS-FAMILY", TERN_KIND_U8_RSVD3},
    [0x0018] = {"EVEN-PORT", TERN_KIND_EVEN_PORT},
    [0x0019] = {"REQUESTED-TRANSPORT", TERN_KIND_U8_RSVD3},
    [0x001A] = {"DONT-FRAGMENT", TERN_KIND_EMPTY},
    [0x001B] = {"ACCESS-TOKEN", TERN_KIND_BYTES},
    [0x001C] = {"MESSAGE-INTEGRITY-SHA256", TERN_KIND_MESSAGE_INTEGRITY_SHA256},
    [0x001D] = {"PASSWORD-ALGORITHM", TERN_KIND_PASSWORD_ALGORITHM},
    [0x001E] = {"USERHASH", TERN_KIND_USERHASH},
    [0x0020] = {"XOR-MAPPED-ADDRESS", TERN_KIND_XOR_ADDRESS},
    [0x0022] = {"RESERVATION-TOKEN", TERN_KIND_U64},
    [0x0024] = {"PRIORITY", TERN_KIND_U32},
    [0x0025] = {"USE-CANDIDATE", TERN_KIND_EMPTY},
    [0x0026] = {"PADDING", TERN_KIND_BYTES},
    [0x0027] = {"RESPONSE-PORT", TERN_KIND_U16_RSVD2},
    [0x002A] = {"CONNECTION-ID", TERN_KIND_U32},
};

/* Comprehension-optional range 0x8000-0x8030, indexed by type - 0x8000. */
static const struct attr_info optional_attrs[] = {
    [0x00] = {"ADDITIONAL-ADDRESS-FAMILY", TERN_KIND_U8_RSVD3},
    [0x01] = {"ADDRESS-ERROR-CODE", TERN_KIND_ADDRESS_ERROR_CODE},
    [0x02] = {"PASSWORD-ALGORITHMS", TERN_KIND_PASSWORD_ALGORITHMS},
    [0x03] = {"ALTERNATE-DOMAIN", TERN_KIND_STRING},
    [0x04] = {"ICMP", TERN_KIND_ICMP},
    [0x22] = {"SOFTWARE", TERN_KIND_STRING},
    [0x23] = {"ALTERNATE-SERVER", TERN_KIND_ADDRESS},
    [0x27] = {"CACHE-TIMEOUT", TERN_KIND_U32},
    [0x28] = {"FINGERPRINT", TERN_KIND_FINGERPRINT},
    [0x29] = {"ICE-CONTROLLED", TERN_KIND_U64},
    [0x2A] = {"ICE-CONTROLLING", TERN_KIND_U64},
    [0x2B] = {"RESPONSE-ORIGIN", TERN_KIND_ADDRESS},
    [0x2C] = {"OTHER-ADDRESS", TERN_KIND_ADDRESS},
    [0x2E] = {"THIRD-PARTY-AUTHORIZATION", TERN_KIND_STRING},
    [0x30] = {"MOBILITY-TICKET", TERN_KIND_BYTES},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct attr_info *attr_info(uint16_t type)
{
	if (type < COUNT(required_attrs))
		return &required_attrs[type];
	if (type >= 0x8000 && (size_t)(type - 0x8000) < COUNT(optional_attrs))
		return &optional_attrs[type - 0x8000];
	return NULL;
}

enum tern_attr_kind tern_attr_kind_of(uint16_t type)
{
	const struct attr_info *info = attr_info(type);

	return info ? info->kind : TERN_KIND_UNKNOWN;
}

const char *tern_attr_name(uint16_t type)
{
	const struct attr_info *info = attr_info(type);

	return info ? info->name : NULL;
}

const char *tern_stun_method_name(uint16_t method)
{
	switch (method) {
	case TERN_STUN_BINDING:
		return "Binding";
	case TERN_TURN_ALLOCATE:
		return "Allocate";
	case TERN_TURN_REFRESH:
		return "Refresh";
	case TERN_TURN_SEND:
		return "Send";
	case TERN_TURN_DATA:
		return "Data";
	case TERN_TURN_CREATE_PERMISSION:
		return "CreatePermission";
	case TERN_TURN_CHANNEL_BIND:
		return "ChannelBind";
	case TERN_TURN_CONNECT:
		return "Connect";
	case TERN_TURN_CONNECTION_BIND:
		return "ConnectionBind";
	case TERN_TURN_CONNECTION_ATTEMPT:
		return "ConnectionAttempt";
	default:
		return NULL;
	}
}

const char *tern_stun_class_name(enum tern_stun_class cls)
{
	switch (cls) {
	case TERN_STUN_REQUEST:
		return "request";
	case TERN_STUN_INDICATION:
		return "indication";
	case TERN_STUN_SUCCESS:
		return "success";
	case TERN_STUN_ERROR:
		return "error";
	}
	return "?";
}

/* RFC 8489 §5: type = 00 M11..M7 C1 M6..M4 C0 M3..M0. */
uint16_t tern_stun_type(uint16_t method, enum tern_stun_class cls)
{
	unsigned m = method & 0xFFFu;
	unsigned c = (unsigned)cls & 3u;

	return (uint16_t)(((m & 0xF80u) << 2) | ((m & 0x070u) << 1) | (m & 0x00Fu) |
	                  ((c & 2u) << 7) | ((c & 1u) << 4));
}

uint16_t tern_stun_type_method(uint16_t type)
{
	unsigned t = type;

	return (uint16_t)(((t >> 2) & 0xF80u) | ((t >> 1) & 0x070u) | (t & 0x00Fu));
}

enum tern_stun_class tern_stun_type_class(uint16_t type)
{
	unsigned t = type;

	return (enum tern_stun_class)(((t >> 7) & 2u) | ((t >> 4) & 1u));
}

const char *tern_stun_reason(uint16_t code)
{
	switch (code) {
	case 300:
		return "Try Alternate";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthenticated";
	case 403:
		return "Forbidden";
	case 405:
		return "Mobility Forbidden";
	case 420:
		return "Unknown Attribute";
	case 437:
		return "Allocation Mismatch";
	case 438:
		return "Stale Nonce";
	case 440:
		return "Address Family not Supported";
	case 441:
		return "Wrong Credentials";
	case 442:
		return "Unsupported Transport Protocol";
	case 443:
		return "Peer Address Family Mismatch";
	case 446:
		return "Connection Already Exists";
	case 447:
		return "Connection Timeout or Failure";
	case 486:
		return "Allocation Quota Reached";
	case 487:
		return "Role Conflict";
	case 500:
		return "Server Error";
	case 508:
		return "Insufficient Capacity";
	default:
		return "";
	}
}

const char *tern_strerror(int err)
{
	switch (err) {
	case TERN_OK:
		return "ok";
	case TERN_ERR_TRUNCATED:
		return "truncated";
	case TERN_ERR_MALFORMED:
		return "malformed";
	case TERN_ERR_NOT_STUN:
		return "not a STUN message";
	case TERN_ERR_TOO_MANY:
		return "too many attributes";
	case TERN_ERR_NO_SPACE:
		return "no space in output buffer";
	case TERN_ERR_NOT_FOUND:
		return "not found";
	case TERN_ERR_INTEGRITY:
		return "message integrity mismatch";
	case TERN_ERR_FINGERPRINT:
		return "fingerprint mismatch";
	case TERN_ERR_UNSUPPORTED:
		return "unsupported";
	case TERN_ERR_INVALID_ARG:
		return "invalid argument";
	case TERN_ERR_CRYPTO:
		return "crypto library failure";
	case TERN_ERR_NOMEM:
		return "out of memory";
	case TERN_ERR_CAPACITY:
		return "capacity reached";
	case TERN_ERR_STATE:
		return "invalid state";
	default:
		return "unknown error";
	}
}
