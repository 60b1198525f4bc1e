/*
 * stun_print.c - tern-stun's printing of decoded attribute values. Values
 * are decoded with the typed decoders of tern_codec.h only.
 */
#define _POSIX_C_SOURCE 200809L

#include "stun_print.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>

#define MAX_LIST_ENTRIES 32u

/* ------------------------------------------------------------- printing */

void tern_print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

bool tern_print_is_text(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7F)
			if (p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
				return false;
	return n > 0;
}

/* Length of the UTF-8 sequence at p (at most n bytes) or 0 if not valid. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	size_t want;

	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		want = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		want = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		want = 4;
	else
		return 0;
	if (want > n)
		return 0;
	for (size_t i = 1; i < want; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (want == 2 && p[0] == 0xC2 && p[1] < 0xA0)
		return 0; /* C1 control: escape it */
	return want;
}

/* Quoted; printable ASCII and UTF-8 as is, everything else escaped. */
void tern_print_quoted(const uint8_t *p, size_t n)
{
	size_t i = 0;

	putchar('"');
	while (i < n) {
		size_t seq = p[i] >= 0x80 ? utf8_seq_len(p + i, n - i) : 0;

		if (seq > 0) {
			fwrite(p + i, 1, seq, stdout);
			i += seq;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] == '\n')
			fputs("\\n", stdout);
		else if (p[i] == '\r')
			fputs("\\r", stdout);
		else if (p[i] == '\t')
			fputs("\\t", stdout);
		else if (p[i] >= 0x20 && p[i] < 0x7F)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
		i++;
	}
	putchar('"');
}

static void print_addr(const struct tern_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	if (a->family == TERN_AF_IPV4 && inet_ntop(AF_INET, a->addr, text, sizeof(text)))
		printf("%s:%u", text, a->port);
	else if (a->family == TERN_AF_IPV6 && inet_ntop(AF_INET6, a->addr, text, sizeof(text)))
		printf("[%s]:%u", text, a->port);
	else
		printf("(family %u):%u", a->family, a->port);
}

static const char *family_name(uint8_t family)
{
	switch (family) {
	case TERN_AF_IPV4:
		return "IPv4";
	case TERN_AF_IPV6:
		return "IPv6";
	default:
		return "unknown family";
	}
}

static const char *password_alg_name(uint16_t alg)
{
	switch (alg) {
	case TERN_PWALG_MD5:
		return "MD5";
	case TERN_PWALG_SHA256:
		return "SHA-256";
	default:
		return "unknown algorithm";
	}
}

static void print_type_name(uint16_t type)
{
	const char *name = tern_attr_name(type);

	if (name != NULL)
		printf("0x%04x %s", type, name);
	else
		printf("0x%04x unknown", type);
}

/* ------------------------------------------------------------- attribute values */

static void print_error_code(const struct tern_error_code *ec)
{
	printf("%u ", ec->code);
	tern_print_quoted(ec->reason, ec->reason_len);
	if (ec->reason_len == 0 && tern_stun_reason(ec->code)[0] != '\0')
		printf(" (standard: %s)", tern_stun_reason(ec->code));
}

static void print_password_alg(const struct tern_password_alg_entry *e)
{
	printf("%s (0x%04x)", password_alg_name(e->alg), e->alg);
	if (e->params_len > 0) {
		printf(" params ");
		tern_print_hex(e->params, e->params_len);
	}
}

static int print_list_value(const struct tern_attr *a, enum tern_attr_kind kind)
{
	uint16_t types[MAX_LIST_ENTRIES];
	struct tern_password_alg_entry algs[MAX_LIST_ENTRIES];
	size_t n = 0, i;
	int err;

	if (kind == TERN_KIND_UNKNOWN_ATTRIBUTES) {
		err = tern_attr_get_unknown_attributes(a, types, MAX_LIST_ENTRIES, &n);
		for (i = 0; err == TERN_OK && i < n && i < MAX_LIST_ENTRIES; i++) {
			fputs(i > 0 ? ", " : "", stdout);
			print_type_name(types[i]);
		}
	} else {
		err = tern_attr_get_password_algorithms(a, algs, MAX_LIST_ENTRIES, &n);
		for (i = 0; err == TERN_OK && i < n && i < MAX_LIST_ENTRIES; i++) {
			fputs(i > 0 ? ", " : "", stdout);
			print_password_alg(&algs[i]);
		}
	}
	if (err == TERN_OK && n > MAX_LIST_ENTRIES)
		printf(", ... (%zu in all)", n);
	if (err == TERN_OK && n == 0)
		printf("(none)");
	return err;
}

static void print_nonce_cookie(const struct tern_attr *a)
{
	uint32_t features;

	if (tern_stun_nonce_features(a->value, a->len, &features) != TERN_OK)
		return;
	printf(" (nonce cookie: features 0x%06" PRIx32, features);
	if (features & TERN_FEATURE_PASSWORD_ALGORITHMS)
		printf(", password algorithms");
	if (features & TERN_FEATURE_USERNAME_ANONYMITY)
		printf(", username anonymity");
	printf(")");
}

static int print_string_value(const struct tern_attr *a)
{
	const uint8_t *text;
	size_t len;
	int err = tern_attr_get_string(a, &text, &len);

	if (err != TERN_OK)
		return err;
	tern_print_quoted(text, len);
	if (a->type == TERN_ATTR_NONCE)
		print_nonce_cookie(a);
	return TERN_OK;
}

static int print_u32_value(const struct tern_attr *a)
{
	uint32_t v;
	int err = tern_attr_get_u32(a, &v);

	if (err != TERN_OK)
		return err;
	switch (a->type) {
	case TERN_ATTR_LIFETIME:
	case TERN_ATTR_CACHE_TIMEOUT:
		printf("%" PRIu32 " s", v);
		break;
	case TERN_ATTR_CHANGE_REQUEST:
		printf("0x%08" PRIx32 "%s%s", v, (v & 4u) ? " change-ip" : "",
		       (v & 2u) ? " change-port" : "");
		break;
	case TERN_ATTR_FINGERPRINT:
		printf("0x%08" PRIx32, v);
		break;
	default:
		printf("%" PRIu32, v);
		break;
	}
	return TERN_OK;
}

static int print_u8_value(const struct tern_attr *a)
{
	uint8_t v;
	int err = tern_attr_get_u8(a, &v);

	if (err != TERN_OK)
		return err;
	if (a->type == TERN_ATTR_REQUESTED_TRANSPORT)
		printf("%u (%s)", v, v == 17 ? "UDP" : v == 6 ? "TCP" : "unknown protocol");
	else
		printf("0x%02x (%s)", v, family_name(v));
	return TERN_OK;
}

static int print_u16_value(const struct tern_attr *a)
{
	uint16_t v;
	int err = tern_attr_get_u16(a, &v);

	if (err != TERN_OK)
		return err;
	if (a->type != TERN_ATTR_CHANNEL_NUMBER)
		printf("%u", v);
	else if (v >= TERN_CHANNEL_MIN && v <= TERN_CHANNEL_MAX_RFC8656)
		printf("0x%04x", v);
	else if (v >= TERN_CHANNEL_MIN && v <= TERN_CHANNEL_MAX_RFC5766)
		printf("0x%04x (RFC 5766 range only; reserved in RFC 8656)", v);
	else
		printf("0x%04x (not a channel number)", v);
	return TERN_OK;
}

static int print_bytes_value(const struct tern_attr *a)
{
	tern_print_hex(a->value, a->len);
	if (a->type == TERN_ATTR_DATA && tern_print_is_text(a->value, a->len)) {
		printf(" ");
		tern_print_quoted(a->value, a->len);
	}
	if (a->len == 0)
		printf("(empty)");
	return TERN_OK;
}

static int print_address_value(const struct tern_attr *a, const struct tern_stun_msg *msg,
                               bool xored)
{
	struct tern_addr addr;
	int err = xored ? tern_attr_get_xor_address(a, msg->txid, &addr)
	                : tern_attr_get_address(a, &addr);

	if (err == TERN_OK)
		print_addr(&addr);
	return err;
}

static int print_misc_value(const struct tern_attr *a, enum tern_attr_kind kind)
{
	struct tern_error_code ec;
	struct tern_password_alg_entry alg;
	struct tern_icmp icmp;
	uint64_t v64;
	uint8_t family;
	bool reserve;
	int err = TERN_ERR_MALFORMED;

	if (kind == TERN_KIND_ERROR_CODE && (err = tern_attr_get_error_code(a, &ec)) == TERN_OK) {
		print_error_code(&ec);
	} else if (kind == TERN_KIND_ADDRESS_ERROR_CODE &&
	           (err = tern_attr_get_address_error_code(a, &family, &ec)) == TERN_OK) {
		printf("%s: ", family_name(family));
		print_error_code(&ec);
	} else if (kind == TERN_KIND_PASSWORD_ALGORITHM &&
	           (err = tern_attr_get_password_algorithm(a, &alg)) == TERN_OK) {
		print_password_alg(&alg);
	} else if (kind == TERN_KIND_ICMP && (err = tern_attr_get_icmp(a, &icmp)) == TERN_OK) {
		printf("type %u, code %u, error data 0x%08" PRIx32, icmp.type, icmp.code,
		       icmp.error_data);
	} else if (kind == TERN_KIND_U64 && (err = tern_attr_get_u64(a, &v64)) == TERN_OK) {
		printf("0x%016" PRIx64, v64);
	} else if (kind == TERN_KIND_EVEN_PORT &&
	           (err = tern_attr_get_even_port(a, &reserve)) == TERN_OK) {
		printf("R=%d (%s)", reserve ? 1 : 0,
		       reserve ? "reserve the next port" : "no reservation");
	}
	return err;
}

/* Prints the decoded value; a codec error if the value does not decode. */
static int print_value(const struct tern_attr *a, const struct tern_stun_msg *msg)
{
	enum tern_attr_kind kind = tern_attr_kind_of(a->type);

	switch (kind) {
	case TERN_KIND_ADDRESS:
		return print_address_value(a, msg, false);
	case TERN_KIND_XOR_ADDRESS:
		return print_address_value(a, msg, true);
	case TERN_KIND_STRING:
		return print_string_value(a);
	case TERN_KIND_EMPTY:
		printf("(empty)");
		return a->len == 0 ? TERN_OK : TERN_ERR_MALFORMED;
	case TERN_KIND_U8_RSVD3:
		return print_u8_value(a);
	case TERN_KIND_U16_RSVD2:
		return print_u16_value(a);
	case TERN_KIND_U32:
	case TERN_KIND_FINGERPRINT:
		return print_u32_value(a);
	case TERN_KIND_UNKNOWN_ATTRIBUTES:
	case TERN_KIND_PASSWORD_ALGORITHMS:
		return print_list_value(a, kind);
	case TERN_KIND_U64:
	case TERN_KIND_EVEN_PORT:
	case TERN_KIND_ERROR_CODE:
	case TERN_KIND_ADDRESS_ERROR_CODE:
	case TERN_KIND_PASSWORD_ALGORITHM:
	case TERN_KIND_ICMP:
		return print_misc_value(a, kind);
	case TERN_KIND_UNKNOWN:
	case TERN_KIND_BYTES:
	case TERN_KIND_MESSAGE_INTEGRITY:
	case TERN_KIND_MESSAGE_INTEGRITY_SHA256:
	case TERN_KIND_USERHASH:
		return print_bytes_value(a);
	}
	return print_bytes_value(a);
}

void tern_print_attribute(size_t i, const struct tern_attr *a, const struct tern_stun_msg *msg)
{
	int err;

	printf("  [%zu] ", i);
	print_type_name(a->type);
	if (tern_attr_name(a->type) == NULL)
		fputs(a->type < 0x8000 ? " (comprehension-required)" : " (comprehension-optional)",
		      stdout);
	printf(", length %u: ", a->len);
	err = print_value(a, msg);
	if (err != TERN_OK) {
		printf(" (does not decode: %s; raw ", tern_strerror(err));
		tern_print_hex(a->value, a->len);
		printf(")");
	}
	printf("\n");
}
