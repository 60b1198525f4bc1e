/*
 * test_message.c - tern_stun_parse(), tern_stun_find(), tern_stun_find_next()
 * and the message type helpers. Messages are written by hand (testutil.h)
 * so the parser is tested independently of the builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tern_codec.h"
#include "testutil.h"

#define ARRAY_LEN(a)       (sizeof(a) / sizeof((a)[0]))
#define BINDING_REQUEST    0x0001u
#define UNKNOWN_REQUIRED   0x7FFEu
#define UNKNOWN_OPTIONAL   0xC0DEu
#define SHA256_MAC_LEN     32u
#define XOR_PEER_IPV4_HEX  "0001cb72e721c040" /* 198.51.100.2:60000 */
#define LIFETIME_3600      "\x00\x00\x0e\x10"
#define LIFETIME_3600_HEX  "00000e10"
#define ERROR_CODE_401_HEX "00000401"

static const uint8_t zeros[1024];

/* A Binding request with one attribute of declared length len (value zero-padded). */
static int parse_one(uint16_t type, const void *value, size_t len, struct tu_msg *m,
                     struct tern_stun_msg *msg)
{
	tu_msg_start(m, BINDING_REQUEST);
	tu_msg_attr(m, type, value, len);
	return tern_stun_parse(m->buf, m->len, msg);
}

static int parse_one_hex(uint16_t type, const char *hex, struct tern_stun_msg *msg)
{
	static struct tu_msg m;
	uint8_t value[256];
	size_t n = tu_hex(hex, value, sizeof(value));

	return parse_one(type, value, n, &m, msg);
}

static void assert_rejected_attr(int rc, const struct tern_stun_msg *msg, uint16_t type)
{
	assert_int_equal(rc, TERN_ERR_MALFORMED);
	assert_int_equal(msg->bad_type, type);
	assert_int_equal(msg->bad_index, 0);
}

static void test_message_type_encode_table(void **state)
{
	static const struct {
		uint16_t method;
		enum tern_stun_class cls;
		uint16_t type;
	} table[] = {
	    {TERN_STUN_BINDING, TERN_STUN_REQUEST, 0x0001},
	    {TERN_STUN_BINDING, TERN_STUN_INDICATION, 0x0011},
	    {TERN_STUN_BINDING, TERN_STUN_SUCCESS, 0x0101},
	    {TERN_STUN_BINDING, TERN_STUN_ERROR, 0x0111},
	    {TERN_TURN_ALLOCATE, TERN_STUN_SUCCESS, 0x0103},
	    {TERN_TURN_ALLOCATE, TERN_STUN_ERROR, 0x0113},
	    {TERN_TURN_REFRESH, TERN_STUN_REQUEST, 0x0004},
	    {TERN_TURN_SEND, TERN_STUN_INDICATION, 0x0016},
	    {TERN_TURN_DATA, TERN_STUN_INDICATION, 0x0017},
	    {TERN_TURN_CREATE_PERMISSION, TERN_STUN_ERROR, 0x0118},
	    {TERN_TURN_CHANNEL_BIND, TERN_STUN_SUCCESS, 0x0109},
	    {TERN_TURN_CONNECTION_ATTEMPT, TERN_STUN_INDICATION, 0x001C},
	    {0x080, TERN_STUN_REQUEST, 0x0200},    /* GOOG-PING: M7 moves to bit 9 */
	    {0xFFF, TERN_STUN_ERROR, 0x3FFF},      /* every bit */
	    {0x070, TERN_STUN_INDICATION, 0x00F0}, /* M4..M6 around C0 */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		assert_int_equal(tern_stun_type(table[i].method, table[i].cls), table[i].type);
		assert_int_equal(tern_stun_type_method(table[i].type), table[i].method);
		assert_int_equal(tern_stun_type_class(table[i].type), table[i].cls);
	}
}

static void test_message_method_name_known(void **state)
{
	(void)state;
	assert_string_equal(tern_stun_method_name(TERN_TURN_ALLOCATE), "Allocate");
	assert_string_equal(tern_stun_method_name(TERN_TURN_CHANNEL_BIND), "ChannelBind");
	assert_null(tern_stun_method_name(0x0FF));
	assert_string_equal(tern_stun_class_name(TERN_STUN_REQUEST), "request");
	assert_string_equal(tern_stun_class_name(TERN_STUN_INDICATION), "indication");
	assert_string_equal(tern_stun_class_name(TERN_STUN_SUCCESS), "success");
	assert_string_equal(tern_stun_class_name(TERN_STUN_ERROR), "error");
	assert_string_not_equal(tern_strerror(TERN_ERR_TRUNCATED),
	                        tern_strerror(TERN_ERR_MALFORMED));
	assert_non_null(tern_strerror(TERN_OK));
}

static void test_message_parse_header_only(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, 0x0113);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_OK);
	assert_ptr_equal(msg.raw, m.buf);
	assert_int_equal(msg.raw_len, 20);
	assert_int_equal(msg.type, 0x0113);
	assert_int_equal(msg.method, TERN_TURN_ALLOCATE);
	assert_int_equal(msg.cls, TERN_STUN_ERROR);
	assert_ptr_equal(msg.txid, m.buf + 8);
	assert_int_equal(msg.nattrs, 0);
	assert_int_equal(msg.mi_index, -1);
	assert_int_equal(msg.mi256_index, -1);
	assert_int_equal(msg.fp_index, -1);
	assert_int_equal(msg.nunknown, 0);
	assert_int_equal(msg.bad_index, -1);
}

static void test_message_parse_short_header(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	for (size_t len = 0; len < TERN_STUN_HEADER_LEN; len++) {
		int rc = tern_stun_parse(m.buf, len, &msg);
		assert_true(rc == TERN_ERR_TRUNCATED || rc == TERN_ERR_NOT_STUN);
	}
}

static void test_message_parse_top_bits(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, 0x8001);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_NOT_STUN);
	tu_msg_start(&m, 0x4001);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_NOT_STUN);
}

static void test_message_parse_bad_cookie(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	m.buf[7] ^= 0x01;
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_NOT_STUN);
	tu_put32(m.buf + 4, 0); /* RFC 3489 message: no cookie */
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_NOT_STUN);
}

static void test_message_parse_length_not_multiple_of_4(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	int rc;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_raw(&m, "\x80\x22", 2); /* Length 2, datagram 22 bytes: consistent but unaligned */
	rc = tern_stun_parse(m.buf, m.len, &msg);
	assert_true(rc == TERN_ERR_MALFORMED || rc == TERN_ERR_NOT_STUN);
}

static void test_message_parse_length_longer_than_datagram(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	int rc;

	(void)state;
	assert_int_equal(parse_one(TERN_ATTR_LIFETIME, LIFETIME_3600, 4, &m, &msg), TERN_OK);
	tu_msg_set_length(&m, 12);
	rc = tern_stun_parse(m.buf, m.len, &msg);
	assert_true(rc == TERN_ERR_TRUNCATED || rc == TERN_ERR_MALFORMED);
	rc = tern_stun_parse(m.buf, m.len - 4, &msg); /* Length 12 vs body 4 */
	assert_true(rc == TERN_ERR_TRUNCATED || rc == TERN_ERR_MALFORMED);
}

/* Trailing bytes after the Length the header declares are not part of STUN. */
static void test_message_parse_length_shorter_than_datagram(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	int rc;

	(void)state;
	assert_int_equal(parse_one(TERN_ATTR_LIFETIME, LIFETIME_3600, 4, &m, &msg), TERN_OK);
	tu_msg_set_length(&m, 4);
	rc = tern_stun_parse(m.buf, m.len, &msg);
	assert_true(rc == TERN_ERR_MALFORMED || rc == TERN_ERR_TRUNCATED);
	tu_msg_set_length(&m, 0);
	rc = tern_stun_parse(m.buf, m.len, &msg);
	assert_true(rc == TERN_ERR_MALFORMED || rc == TERN_ERR_TRUNCATED);
}

static void test_message_parse_attr_past_end(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	int rc;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr_hdr(&m, TERN_ATTR_SOFTWARE, 8, "abcd", 4); /* claims 8, has 4 */
	rc = tern_stun_parse(m.buf, m.len, &msg);
	assert_true(rc == TERN_ERR_TRUNCATED || rc == TERN_ERR_MALFORMED);
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr_hdr(&m, TERN_ATTR_SOFTWARE, 0xFFFF, "abcd", 4);
	rc = tern_stun_parse(m.buf, m.len, &msg);
	assert_true(rc == TERN_ERR_TRUNCATED || rc == TERN_ERR_MALFORMED);
}

/* USERNAME "alice" (5) without its 3 padding bytes, then LIFETIME: misframed. */
static void test_message_parse_missing_padding(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	int rc;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr_hdr(&m, TERN_ATTR_USERNAME, 5, "alice", 5);
	tu_msg_attr(&m, TERN_ATTR_LIFETIME, LIFETIME_3600, 4);
	tu_msg_raw(&m, zeros, 3);
	rc = tern_stun_parse(m.buf, m.len, &msg);
	assert_true(rc == TERN_ERR_TRUNCATED || rc == TERN_ERR_MALFORMED);
}

/* Padding must be present but its value is ignored (RFC 5769 pads with 0x20). */
static void test_message_parse_nonzero_padding(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr_hdr(&m, TERN_ATTR_USERNAME, 5, "alice\xff\xff\xff", 8);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nattrs, 1);
	assert_int_equal(msg.attrs[0].len, 5);
	assert_memory_equal(msg.attrs[0].value, "alice", 5);
}

static void add_lifetime(struct tu_msg *m, uint32_t seconds)
{
	uint8_t v[4];

	tu_put32(v, seconds);
	tu_msg_attr(m, TERN_ATTR_LIFETIME, v, sizeof(v));
}

/* RFC 8489 §14: duplicates are listed; the first one is the one processed. */
static void test_message_find_duplicates(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	const struct tern_attr *a;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	add_lifetime(&m, 600);
	tu_msg_attr(&m, TERN_ATTR_SOFTWARE, "x", 1);
	add_lifetime(&m, 1200);
	add_lifetime(&m, 1800);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nattrs, 4);
	a = tern_stun_find(&msg, TERN_ATTR_LIFETIME);
	assert_ptr_equal(a, &msg.attrs[0]);
	assert_int_equal(tu_get32(a->value), 600);
	a = tern_stun_find_next(&msg, a);
	assert_ptr_equal(a, &msg.attrs[2]);
	assert_int_equal(tu_get32(a->value), 1200);
	a = tern_stun_find_next(&msg, a);
	assert_ptr_equal(a, &msg.attrs[3]);
	assert_null(tern_stun_find_next(&msg, a));
	assert_null(tern_stun_find_next(&msg, &msg.attrs[1]));
}

static void test_message_find_absent(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	assert_int_equal(parse_one(TERN_ATTR_LIFETIME, LIFETIME_3600, 4, &m, &msg), TERN_OK);
	assert_null(tern_stun_find(&msg, TERN_ATTR_USERNAME));
	assert_non_null(tern_stun_find(&msg, TERN_ATTR_LIFETIME));
}

/* After MESSAGE-INTEGRITY only MI-SHA256 and FINGERPRINT count (RFC 8489 §14.5). */
static void test_message_parse_after_integrity_ignored(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_SOFTWARE, "abc", 3);
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY, zeros, 20);
	tu_msg_attr(&m, TERN_ATTR_USERNAME, "mallory", 7);
	tu_msg_attr(&m, UNKNOWN_REQUIRED, "x", 1); /* ignored: no 420 for it */
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY_SHA256, zeros, SHA256_MAC_LEN);
	tu_msg_attr(&m, TERN_ATTR_LIFETIME, LIFETIME_3600, 4);
	tu_msg_attr(&m, TERN_ATTR_FINGERPRINT, zeros, 4);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nattrs, 4);
	assert_int_equal(msg.attrs[0].type, TERN_ATTR_SOFTWARE);
	assert_int_equal(msg.mi_index, 1);
	assert_int_equal(msg.mi256_index, 2);
	assert_int_equal(msg.fp_index, 3);
	assert_null(tern_stun_find(&msg, TERN_ATTR_USERNAME));
	assert_null(tern_stun_find(&msg, TERN_ATTR_LIFETIME));
	assert_int_equal(msg.nunknown, 0);
}

/* Without MI, everything after MI-SHA256 but FINGERPRINT is ignored (RFC 8489 §14.6). */
static void test_message_parse_after_integrity_sha256_ignored(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY_SHA256, zeros, SHA256_MAC_LEN);
	tu_msg_attr(&m, TERN_ATTR_REALM, "evil.example", 12);
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY, zeros, 20);
	tu_msg_attr(&m, TERN_ATTR_FINGERPRINT, zeros, 4);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nattrs, 2);
	assert_int_equal(msg.mi256_index, 0);
	assert_int_equal(msg.mi_index, -1);
	assert_int_equal(msg.fp_index, 1);
	assert_null(tern_stun_find(&msg, TERN_ATTR_REALM));
}

/* Ignored attributes are walked for framing only: their values are not judged. */
static void test_message_parse_after_integrity_not_validated(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY, zeros, 20);
	tu_msg_attr(&m, TERN_ATTR_LIFETIME, zeros, 3);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nattrs, 1);
	/* ... but framing still is */
	tu_msg_attr_hdr(&m, TERN_ATTR_LIFETIME, 8, zeros, 4);
	assert_int_not_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_OK);
}

static void test_message_parse_after_fingerprint(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_FINGERPRINT, zeros, 4);
	tu_msg_attr(&m, TERN_ATTR_SOFTWARE, "late", 4);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_MALFORMED);
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_FINGERPRINT, zeros, 4);
	tu_msg_attr(&m, TERN_ATTR_FINGERPRINT, zeros, 4);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_MALFORMED);
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_FINGERPRINT, zeros, 4);
	tu_msg_attr(&m, TERN_ATTR_MESSAGE_INTEGRITY, zeros, 20);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_MALFORMED);
}

static void test_message_parse_max_attrs(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	for (unsigned i = 0; i < TERN_STUN_MAX_ATTRS; i++)
		tu_msg_attr(&m, TERN_ATTR_DONT_FRAGMENT, NULL, 0);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nattrs, TERN_STUN_MAX_ATTRS);
	tu_msg_attr(&m, TERN_ATTR_DONT_FRAGMENT, NULL, 0);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_TOO_MANY);
	assert_int_equal(msg.type, BINDING_REQUEST); /* enough for the 400 */
	assert_memory_equal(msg.txid, tu_txid, TERN_STUN_TXID_LEN);
}

static void test_message_parse_unknown_required(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, UNKNOWN_REQUIRED, "abc", 3);
	tu_msg_attr(&m, UNKNOWN_OPTIONAL, "abc", 3);
	tu_msg_attr(&m, 0x0031, NULL, 0);
	tu_msg_attr(&m, 0xFFFF, NULL, 0);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nunknown, 2);
	assert_int_equal(msg.unknown[0], UNKNOWN_REQUIRED);
	assert_int_equal(msg.unknown[1], 0x0031);
	assert_int_equal(msg.nattrs, 4);
	assert_non_null(tern_stun_find(&msg, UNKNOWN_OPTIONAL));
}

static void test_message_parse_unknown_optional_only(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	assert_int_equal(parse_one(0x8FFF, "zz", 2, &m, &msg), TERN_OK);
	assert_int_equal(msg.nunknown, 0);
	assert_int_equal(parse_one(0x8000 - 1, "zz", 2, &m, &msg), TERN_OK);
	assert_int_equal(msg.nunknown, 1);
}

static void test_message_parse_unknown_overflow(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	for (uint16_t i = 0; i < TERN_STUN_MAX_UNKNOWN + 2; i++)
		tu_msg_attr(&m, (uint16_t)(0x7F00u + i), NULL, 0);
	tu_parse_ok(&m, &msg);
	assert_int_equal(msg.nunknown, TERN_STUN_MAX_UNKNOWN);
	for (uint16_t i = 0; i < TERN_STUN_MAX_UNKNOWN; i++)
		assert_int_equal(msg.unknown[i], 0x7F00u + i);
}

/*
 * libre regression: LIFETIME declared 12 bytes long whose tail looks like a
 * USERNAME attribute. An over-long fixed-size attribute is malformed; the
 * tail must never surface as an attribute.
 */
static void test_message_parse_phantom_attribute(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;
	const uint8_t value[12] = {0x00, 0x00, 0x0e, 0x10, 0x00, 0x06,
	                           0x00, 0x04, 'r',  'o',  'o',  't'};

	(void)state;
	tu_msg_start(&m, TERN_TURN_ALLOCATE);
	tu_msg_attr(&m, TERN_ATTR_LIFETIME, value, sizeof(value));
	assert_rejected_attr(tern_stun_parse(m.buf, m.len, &msg), &msg, TERN_ATTR_LIFETIME);
	assert_null(tern_stun_find(&msg, TERN_ATTR_USERNAME));
	assert_int_equal(msg.type, TERN_TURN_ALLOCATE);
	assert_memory_equal(msg.txid, tu_txid, TERN_STUN_TXID_LEN);
}

/* The index of the rejected attribute is reported, not just its type. */
static void test_message_parse_bad_index(void **state)
{
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	tu_msg_start(&m, BINDING_REQUEST);
	tu_msg_attr(&m, TERN_ATTR_SOFTWARE, "ok", 2);
	add_lifetime(&m, 1);
	tu_msg_attr(&m, TERN_ATTR_CHANNEL_NUMBER, "\x40\x00", 2);
	assert_int_equal(tern_stun_parse(m.buf, m.len, &msg), TERN_ERR_MALFORMED);
	assert_int_equal(msg.bad_index, 2);
	assert_int_equal(msg.bad_type, TERN_ATTR_CHANNEL_NUMBER);
}

/* Fixed-size attributes with any other length are malformed (STYLE rule 8). */
static void test_message_parse_wrong_fixed_length(void **state)
{
	static const struct {
		uint16_t type;
		uint16_t len;
	} table[] = {
	    {TERN_ATTR_LIFETIME, 0},
	    {TERN_ATTR_LIFETIME, 3},
	    {TERN_ATTR_LIFETIME, 5},
	    {TERN_ATTR_LIFETIME, 8},
	    {TERN_ATTR_PRIORITY, 2},
	    {TERN_ATTR_CONNECTION_ID, 8},
	    {TERN_ATTR_CHANNEL_NUMBER, 2},
	    {TERN_ATTR_CHANNEL_NUMBER, 8},
	    {TERN_ATTR_REQUESTED_TRANSPORT, 1},
	    {TERN_ATTR_REQUESTED_TRANSPORT, 3},
	    {TERN_ATTR_REQUESTED_TRANSPORT, 5},
	    {TERN_ATTR_REQUESTED_ADDRESS_FAMILY, 1},
	    {TERN_ATTR_DONT_FRAGMENT, 4},
	    {TERN_ATTR_USE_CANDIDATE, 1},
	    {TERN_ATTR_EVEN_PORT, 0},
	    {TERN_ATTR_EVEN_PORT, 2},
	    {TERN_ATTR_EVEN_PORT, 4},
	    {TERN_ATTR_ICE_CONTROLLING, 4},
	    {TERN_ATTR_ICE_CONTROLLED, 12},
	    {TERN_ATTR_RESERVATION_TOKEN, 7},
	    {TERN_ATTR_MESSAGE_INTEGRITY, 16},
	    {TERN_ATTR_MESSAGE_INTEGRITY, 19},
	    {TERN_ATTR_MESSAGE_INTEGRITY, 21},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, 0},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, 12},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, 15},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, 17},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, 30},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, 36},
	    {TERN_ATTR_USERHASH, 31},
	    {TERN_ATTR_USERHASH, 33},
	    {TERN_ATTR_FINGERPRINT, 3},
	    {TERN_ATTR_FINGERPRINT, 8},
	    {TERN_ATTR_ERROR_CODE, 3},
	    {TERN_ATTR_XOR_PEER_ADDRESS, 4},
	    {TERN_ATTR_ICMP, 4},
	};
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		int rc = parse_one(table[i].type, zeros, table[i].len, &m, &msg);
		if (rc != TERN_ERR_MALFORMED)
			fail_msg("type 0x%04x len %u: got %d", (unsigned)table[i].type,
			         (unsigned)table[i].len, rc);
		assert_rejected_attr(rc, &msg, table[i].type);
	}
}

/* The controls for the table above: the right length (and a valid value) parses. */
static void test_message_parse_valid_values(void **state)
{
	static const struct {
		uint16_t type;
		const char *hex;
	} table[] = {
	    {TERN_ATTR_LIFETIME, LIFETIME_3600_HEX},
	    {TERN_ATTR_PRIORITY, "6e0001ff"},
	    {TERN_ATTR_CHANNEL_NUMBER, "40000000"},
	    {TERN_ATTR_REQUESTED_TRANSPORT, "11000000"},
	    {TERN_ATTR_REQUESTED_ADDRESS_FAMILY, "02000000"},
	    {TERN_ATTR_DONT_FRAGMENT, ""},
	    {TERN_ATTR_EVEN_PORT, "80"},
	    {TERN_ATTR_ICE_CONTROLLING, "932ff9b151263b36"},
	    {TERN_ATTR_RESERVATION_TOKEN, "0102030405060708"},
	    {TERN_ATTR_XOR_PEER_ADDRESS, XOR_PEER_IPV4_HEX},
	    {TERN_ATTR_XOR_PEER_ADDRESS, "0002cb720113a9fa5455524e2d646174612d7634"},
	    {TERN_ATTR_MAPPED_ADDRESS, "00010050c0000201"},
	    {TERN_ATTR_ERROR_CODE, ERROR_CODE_401_HEX},
	    {TERN_ATTR_ERROR_CODE, "00000300"},
	    {TERN_ATTR_ERROR_CODE, "00000663"},
	    {TERN_ATTR_MESSAGE_INTEGRITY_SHA256, "00000000000000000000000000000000"},
	    {TERN_ATTR_UNKNOWN_ATTRIBUTES, "7ffe0031"},
	    {TERN_ATTR_PASSWORD_ALGORITHMS, "0001000000020000"},
	    {TERN_ATTR_ICMP, "00000301000005dc"},
	    {TERN_ATTR_DATA, "00"},
	};
	struct tern_stun_msg msg;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		int rc = parse_one_hex(table[i].type, table[i].hex, &msg);
		if (rc != TERN_OK)
			fail_msg("type 0x%04x value %s: got %d", (unsigned)table[i].type,
			         table[i].hex, rc);
		assert_int_equal(msg.nattrs, 1);
	}
}

static void test_message_parse_bad_address_family(void **state)
{
	static const char *const bad[] = {
	    "0003cb72e721c040",                         /* family 3 */
	    "0000cb72e721c040",                         /* family 0 */
	    "0001cb720113a9fa5455524e2d646174612d7634", /* IPv4 with 16 address bytes */
	    "0002cb72e721c040",                         /* IPv6 with 4 address bytes */
	    "0001cb72e721c0",                           /* 7 bytes */
	};
	struct tern_stun_msg msg;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_rejected_attr(parse_one_hex(TERN_ATTR_XOR_PEER_ADDRESS, bad[i], &msg), &msg,
		                     TERN_ATTR_XOR_PEER_ADDRESS);
		assert_rejected_attr(parse_one_hex(TERN_ATTR_MAPPED_ADDRESS, bad[i], &msg), &msg,
		                     TERN_ATTR_MAPPED_ADDRESS);
	}
}

/* ERROR-CODE: class 3..6, number 0..99 (RFC 8489 §14.8). */
static void test_message_parse_bad_error_code(void **state)
{
	static const char *const bad[] = {
	    "00000201", /* class 2 */
	    "00000701", /* class 7 */
	    "00000064", /* number 100 */
	    "000004ff", /* number 255 */
	    "00000000", /* class 0 */
	};
	struct tern_stun_msg msg;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_rejected_attr(parse_one_hex(TERN_ATTR_ERROR_CODE, bad[i], &msg), &msg,
		                     TERN_ATTR_ERROR_CODE);
}

static void test_message_parse_string_limit(void **state)
{
	static const uint16_t types[] = {TERN_ATTR_USERNAME, TERN_ATTR_REALM, TERN_ATTR_NONCE,
	                                 TERN_ATTR_SOFTWARE};
	uint8_t text[TERN_STUN_MAX_STRING + 1];
	struct tu_msg m;
	struct tern_stun_msg msg;

	(void)state;
	memset(text, 'a', sizeof(text));
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		assert_int_equal(parse_one(types[i], text, TERN_STUN_MAX_STRING, &m, &msg),
		                 TERN_OK);
		assert_int_equal(msg.attrs[0].len, TERN_STUN_MAX_STRING);
		assert_rejected_attr(parse_one(types[i], text, sizeof(text), &m, &msg), &msg,
		                     types[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_type_encode_table),
	    cmocka_unit_test(test_message_method_name_known),
	    cmocka_unit_test(test_message_parse_header_only),
	    cmocka_unit_test(test_message_parse_short_header),
	    cmocka_unit_test(test_message_parse_top_bits),
	    cmocka_unit_test(test_message_parse_bad_cookie),
	    cmocka_unit_test(test_message_parse_length_not_multiple_of_4),
	    cmocka_unit_test(test_message_parse_length_longer_than_datagram),
	    cmocka_unit_test(test_message_parse_length_shorter_than_datagram),
	    cmocka_unit_test(test_message_parse_attr_past_end),
	    cmocka_unit_test(test_message_parse_missing_padding),
	    cmocka_unit_test(test_message_parse_nonzero_padding),
	    cmocka_unit_test(test_message_find_duplicates),
	    cmocka_unit_test(test_message_find_absent),
	    cmocka_unit_test(test_message_parse_after_integrity_ignored),
	    cmocka_unit_test(test_message_parse_after_integrity_sha256_ignored),
	    cmocka_unit_test(test_message_parse_after_integrity_not_validated),
	    cmocka_unit_test(test_message_parse_after_fingerprint),
	    cmocka_unit_test(test_message_parse_max_attrs),
	    cmocka_unit_test(test_message_parse_unknown_required),
	    cmocka_unit_test(test_message_parse_unknown_optional_only),
	    cmocka_unit_test(test_message_parse_unknown_overflow),
	    cmocka_unit_test(test_message_parse_phantom_attribute),
	    cmocka_unit_test(test_message_parse_bad_index),
	    cmocka_unit_test(test_message_parse_wrong_fixed_length),
	    cmocka_unit_test(test_message_parse_valid_values),
	    cmocka_unit_test(test_message_parse_bad_address_family),
	    cmocka_unit_test(test_message_parse_bad_error_code),
	    cmocka_unit_test(test_message_parse_string_limit),
	};
	return cmocka_run_group_tests_name("message", tests, NULL, NULL);
}
