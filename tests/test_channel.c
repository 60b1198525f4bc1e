/*
 * test_channel.c - ChannelData parse/build (RFC 8656 §12.4), first-byte
 * demultiplexing (RFC 7983) and TCP/TLS stream framing (RFC 8656 §12.5).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tern_codec.h"
#include "testutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CANARY       0xA5u

/* Channel 0x4000, "hello" (5 bytes), then 7 zero bytes for padding tests. */
static const uint8_t hello[] = {0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l',
                                'o',  0,    0,    0,    0,   0,   0,   0};
#define HELLO_LEN 9u

static void test_channel_parse_udp_padding(void **state)
{
	struct tern_channel_data cd;

	(void)state;
	for (size_t extra = 0; extra <= 3; extra++) {
		memset(&cd, 0, sizeof(cd));
		assert_int_equal(tern_channel_data_parse(hello, HELLO_LEN + extra, false, &cd),
		                 TERN_OK);
		assert_int_equal(cd.channel, 0x4000);
		assert_int_equal(cd.len, 5);
		assert_ptr_equal(cd.data, hello + 4);
	}
	for (size_t extra = 4; extra <= 7; extra++)
		assert_int_equal(tern_channel_data_parse(hello, HELLO_LEN + extra, false, &cd),
		                 TERN_ERR_MALFORMED);
}

static void test_channel_parse_stream_exact_padding(void **state)
{
	struct tern_channel_data cd;

	(void)state;
	assert_int_equal(tern_channel_data_parse(hello, 12, true, &cd), TERN_OK);
	assert_int_equal(cd.len, 5);
	for (size_t len = HELLO_LEN; len < 12; len++) {
		int rc = tern_channel_data_parse(hello, len, true, &cd);
		assert_true(rc == TERN_ERR_TRUNCATED || rc == TERN_ERR_MALFORMED);
	}
	for (size_t len = 13; len <= sizeof(hello); len++)
		assert_int_equal(tern_channel_data_parse(hello, len, true, &cd),
		                 TERN_ERR_MALFORMED);
}

static void test_channel_parse_truncated(void **state)
{
	struct tern_channel_data cd;

	(void)state;
	for (size_t len = 0; len < HELLO_LEN; len++)
		assert_int_equal(tern_channel_data_parse(hello, len, false, &cd),
		                 TERN_ERR_TRUNCATED);
	assert_int_equal(tern_channel_data_parse(hello, 8, true, &cd), TERN_ERR_TRUNCATED);
}

static void test_channel_parse_empty_data(void **state)
{
	static const uint8_t empty[] = {0x4F, 0xFF, 0x00, 0x00};
	struct tern_channel_data cd;

	(void)state;
	assert_int_equal(tern_channel_data_parse(empty, sizeof(empty), true, &cd), TERN_OK);
	assert_int_equal(cd.channel, 0x4FFF);
	assert_int_equal(cd.len, 0);
	assert_int_equal(tern_channel_data_parse(empty, sizeof(empty), false, &cd), TERN_OK);
}

static void test_channel_parse_channel_range(void **state)
{
	static const uint16_t good[] = {0x4000, 0x4FFF, 0x5000, 0x7FFF};
	static const uint16_t bad[] = {0x0000, 0x0001, 0x3FFF, 0x8000, 0xBFFF, 0xFFFF};
	uint8_t buf[sizeof(hello)];
	struct tern_channel_data cd;

	(void)state;
	memcpy(buf, hello, sizeof(buf));
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		tu_put16(buf, good[i]);
		assert_int_equal(tern_channel_data_parse(buf, 12, true, &cd), TERN_OK);
		assert_int_equal(cd.channel, good[i]);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		tu_put16(buf, bad[i]);
		assert_int_equal(tern_channel_data_parse(buf, 12, true, &cd), TERN_ERR_MALFORMED);
		assert_int_equal(tern_channel_data_parse(buf, HELLO_LEN, false, &cd),
		                 TERN_ERR_MALFORMED);
	}
}

static void test_channel_header_bytes(void **state)
{
	uint8_t buf[6];

	(void)state;
	memset(buf, CANARY, sizeof(buf));
	tern_channel_data_header(buf, 0x4001, 0x1234);
	assert_memory_equal(buf, "\x40\x01\x12\x34", 4);
	assert_int_equal(buf[4], CANARY);
}

static void test_channel_build_udp(void **state)
{
	uint8_t buf[32];
	size_t len = 0;

	(void)state;
	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(tern_channel_data_build(buf, sizeof(buf), 0x4000, "hello", 5, false, &len),
	                 TERN_OK);
	assert_int_equal(len, HELLO_LEN);
	assert_memory_equal(buf, hello, HELLO_LEN);
	assert_int_equal(buf[HELLO_LEN], CANARY);
}

static void test_channel_build_stream_padding(void **state)
{
	uint8_t buf[32];
	size_t len = 0;

	(void)state;
	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(tern_channel_data_build(buf, sizeof(buf), 0x4000, "hello", 5, true, &len),
	                 TERN_OK);
	assert_int_equal(len, 12);
	assert_memory_equal(buf, hello, 12);
	assert_int_equal(buf[12], CANARY);
	assert_int_equal(tern_channel_data_build(buf, sizeof(buf), 0x7FFF, "", 0, true, &len),
	                 TERN_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "\x7f\xff\x00\x00", 4);
}

static void test_channel_build_capacity(void **state)
{
	uint8_t buf[16];
	size_t len = 0;

	(void)state;
	for (size_t cap = 0; cap < 12; cap++) {
		memset(buf, CANARY, sizeof(buf));
		assert_int_equal(tern_channel_data_build(buf, cap, 0x4000, "hello", 5, true, &len),
		                 TERN_ERR_NO_SPACE);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], CANARY);
		if (cap < HELLO_LEN)
			assert_int_equal(
			    tern_channel_data_build(buf, cap, 0x4000, "hello", 5, false, &len),
			    TERN_ERR_NO_SPACE);
	}
}

static void test_channel_build_invalid(void **state)
{
	static uint8_t big[65536];
	static uint8_t out[65536 + 8];
	size_t len = 0;

	(void)state;
	assert_int_equal(tern_channel_data_build(out, sizeof(out), 0x3FFF, "x", 1, false, &len),
	                 TERN_ERR_INVALID_ARG);
	assert_int_equal(tern_channel_data_build(out, sizeof(out), 0x8000, "x", 1, false, &len),
	                 TERN_ERR_INVALID_ARG);
	assert_int_equal(
	    tern_channel_data_build(out, sizeof(out), 0x4000, big, sizeof(big), false, &len),
	    TERN_ERR_INVALID_ARG);
	assert_int_equal(tern_channel_data_build(out, sizeof(out), 0x4000, big, 65535, true, &len),
	                 TERN_OK);
	assert_int_equal(len, 65540);
}

/*
 * RFC 7983 / RFC 8656 §12: the first byte decides. 80..127 count as
 * ChannelData too: DESIGN.md has framing recognise channels up to 0x7FFF
 * (RFC 5766 clients), whose first byte runs to 0x7F.
 */
static void test_channel_demux_boundaries(void **state)
{
	static const struct {
		uint8_t first;
		enum tern_demux want;
	} table[] = {
	    {0, TERN_DEMUX_STUN},          {3, TERN_DEMUX_STUN},
	    {4, TERN_DEMUX_OTHER},         {15, TERN_DEMUX_OTHER},
	    {16, TERN_DEMUX_ZRTP},         {19, TERN_DEMUX_ZRTP},
	    {20, TERN_DEMUX_DTLS},         {63, TERN_DEMUX_DTLS},
	    {64, TERN_DEMUX_CHANNEL_DATA}, {79, TERN_DEMUX_CHANNEL_DATA},
	    {80, TERN_DEMUX_CHANNEL_DATA}, {127, TERN_DEMUX_CHANNEL_DATA},
	    {128, TERN_DEMUX_RTP},         {191, TERN_DEMUX_RTP},
	    {192, TERN_DEMUX_OTHER},       {255, TERN_DEMUX_OTHER},
	};
	uint8_t buf[4] = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		buf[0] = table[i].first;
		if (tern_demux(buf, sizeof(buf)) != table[i].want)
			fail_msg("first byte %u: got %d, want %d", table[i].first,
			         tern_demux(buf, sizeof(buf)), table[i].want);
		assert_int_equal(tern_demux(buf, 1), table[i].want);
	}
	assert_int_equal(tern_demux(buf, 0), TERN_DEMUX_OTHER);
	assert_int_equal(tern_demux(NULL, 0), TERN_DEMUX_OTHER);
}

static void stun_header(uint8_t *buf, uint16_t type, uint16_t length)
{
	tu_put16(buf, type);
	tu_put16(buf + 2, length);
	tu_put32(buf + 4, TERN_STUN_MAGIC_COOKIE);
	memcpy(buf + 8, tu_txid, TERN_STUN_TXID_LEN);
}

static void test_channel_stream_frame_len_stun(void **state)
{
	uint8_t buf[TERN_STUN_HEADER_LEN];
	size_t need = 0;

	(void)state;
	stun_header(buf, 0x0003, 8);
	for (size_t avail = 4; avail <= sizeof(buf); avail++) {
		need = 0;
		assert_int_equal(tern_stream_frame_len(buf, avail, &need), TERN_OK);
		assert_int_equal(need, 28);
	}
	stun_header(buf, 0x0101, 0);
	assert_int_equal(tern_stream_frame_len(buf, sizeof(buf), &need), TERN_OK);
	assert_int_equal(need, 20);
	stun_header(buf, 0x0017, 0xFFFC);
	assert_int_equal(tern_stream_frame_len(buf, sizeof(buf), &need), TERN_OK);
	assert_int_equal(need, 20 + 0xFFFCu);
}

static void test_channel_stream_frame_len_channel(void **state)
{
	static const struct {
		uint16_t channel;
		uint16_t len;
		size_t need;
	} table[] = {
	    {0x4000, 5, 12}, {0x4000, 0, 4}, {0x4FFF, 8, 12},
	    {0x5000, 1, 8},  {0x7FFF, 3, 8}, {0x4001, 0xFFFF, 4 + 0x10000},
	};
	uint8_t buf[4];
	size_t need;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		tern_channel_data_header(buf, table[i].channel, table[i].len);
		need = 0;
		assert_int_equal(tern_stream_frame_len(buf, sizeof(buf), &need), TERN_OK);
		assert_int_equal(need, table[i].need);
	}
}

static void test_channel_stream_frame_len_short(void **state)
{
	uint8_t buf[TERN_STUN_HEADER_LEN];
	size_t need;

	(void)state;
	stun_header(buf, 0x0001, 4);
	for (size_t avail = 0; avail < 4; avail++) {
		need = 0;
		assert_int_equal(tern_stream_frame_len(buf, avail, &need), TERN_ERR_TRUNCATED);
		assert_int_equal(need, 4);
		assert_int_equal(tern_stream_frame_len(hello, avail, &need), TERN_ERR_TRUNCATED);
		assert_int_equal(need, 4);
	}
}

static void test_channel_stream_frame_len_malformed(void **state)
{
	static const uint8_t firsts[] = {0x80, 0xBF, 0xC0, 0xFF};
	uint8_t buf[TERN_STUN_HEADER_LEN];
	size_t need;

	(void)state;
	stun_header(buf, 0x0001, 8);
	buf[7] ^= 0xFF; /* magic cookie */
	assert_int_equal(tern_stream_frame_len(buf, 8, &need), TERN_ERR_MALFORMED);
	assert_int_equal(tern_stream_frame_len(buf, sizeof(buf), &need), TERN_ERR_MALFORMED);
	stun_header(buf, 0x0001, 6); /* Length not a multiple of 4 */
	assert_int_equal(tern_stream_frame_len(buf, sizeof(buf), &need), TERN_ERR_MALFORMED);
	assert_int_equal(tern_stream_frame_len(buf, 4, &need), TERN_ERR_MALFORMED);
	for (size_t i = 0; i < ARRAY_LEN(firsts); i++) {
		stun_header(buf, 0x0001, 8);
		buf[0] = firsts[i];
		assert_int_equal(tern_stream_frame_len(buf, sizeof(buf), &need),
		                 TERN_ERR_MALFORMED);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_channel_parse_udp_padding),
	    cmocka_unit_test(test_channel_parse_stream_exact_padding),
	    cmocka_unit_test(test_channel_parse_truncated),
	    cmocka_unit_test(test_channel_parse_empty_data),
	    cmocka_unit_test(test_channel_parse_channel_range),
	    cmocka_unit_test(test_channel_header_bytes),
	    cmocka_unit_test(test_channel_build_udp),
	    cmocka_unit_test(test_channel_build_stream_padding),
	    cmocka_unit_test(test_channel_build_capacity),
	    cmocka_unit_test(test_channel_build_invalid),
	    cmocka_unit_test(test_channel_demux_boundaries),
	    cmocka_unit_test(test_channel_stream_frame_len_stun),
	    cmocka_unit_test(test_channel_stream_frame_len_channel),
	    cmocka_unit_test(test_channel_stream_frame_len_short),
	    cmocka_unit_test(test_channel_stream_frame_len_malformed),
	};
	return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
