/*
 * channel_data.c - fuzz target for TURN ChannelData (RFC 8656 §12.4).
 *
 * Targets: tern_channel_data_parse (stream false and true),
 * tern_channel_data_build, tern_channel_data_header, tern_demux.
 *
 * Input: one datagram or stream frame, parsed both ways. Its first two bytes
 * (the channel) and the bytes after the first four (the payload) are then
 * built and parsed back. Invariants (abort on violation):
 *  - a parse result matches the wire: channel 0x4000-0x7FFF, Length, a data
 *    view inside the input; a datagram carries at most 3 bytes after the
 *    data, a stream frame exactly the padding to 4; it demuxes as
 *    ChannelData;
 *  - a stream frame that parses also parses as a datagram, identically;
 *  - build -> parse gives back channel and payload, the header matches
 *    tern_channel_data_header, stream padding is zero; build refuses a
 *    channel outside 0x4000-0x7FFF and payloads over 65535 bytes;
 *  - a build into too small a buffer fails with TERN_ERR_NO_SPACE and
 *    writes nothing past the capacity.
 */
#include <string.h>

#include "fuzz_common.h"
#include "tern_codec.h"

static size_t padded_len(size_t data_len, bool stream)
{
	size_t n = TERN_CHANNEL_HEADER_LEN + data_len;

	return stream ? (n + 3) & ~(size_t)3 : n;
}

static void check_parsed(const uint8_t *data, size_t size, bool stream,
                         const struct tern_channel_data *cd)
{
	fuzz_require(size >= TERN_CHANNEL_HEADER_LEN, "ChannelData shorter than its header");
	fuzz_require(cd->channel >= TERN_CHANNEL_MIN && cd->channel <= TERN_CHANNEL_MAX_RFC5766,
	             "ChannelData channel out of 0x4000-0x7FFF");
	fuzz_require(cd->channel == fuzz_be16(data) && cd->len == fuzz_be16(data + 2),
	             "ChannelData header does not match the wire");
	fuzz_require(cd->len == 0 || cd->data == data + TERN_CHANNEL_HEADER_LEN,
	             "ChannelData data view");
	fuzz_require(cd->len <= size - TERN_CHANNEL_HEADER_LEN, "ChannelData data past the input");
	if (stream) {
		fuzz_require(size == padded_len(cd->len, true), "stream frame not padded exactly");
	} else {
		fuzz_require(size - TERN_CHANNEL_HEADER_LEN - cd->len <= 3,
		             "datagram with more than 3 bytes after the data");
	}
	fuzz_require(tern_demux(data, size) == TERN_DEMUX_CHANNEL_DATA, "demux of ChannelData");
}

static void check_capacity(uint16_t channel, const uint8_t *payload, size_t n, bool stream,
                           size_t cap)
{
	const size_t guard = 8;
	uint8_t *buf = malloc(cap + guard);
	size_t out_len = 0;

	fuzz_require(buf != NULL, "malloc");
	memset(buf, 0xA5, cap + guard);
	fuzz_require(tern_channel_data_build(buf, cap, channel, payload, n, stream, &out_len) ==
	                 TERN_ERR_NO_SPACE,
	             "ChannelData build over capacity");
	for (size_t i = cap; i < cap + guard; i++) {
		fuzz_require(buf[i] == 0xA5, "ChannelData build wrote past its capacity");
	}
	free(buf);
}

static void roundtrip(uint16_t channel, const uint8_t *payload, size_t n, bool stream,
                      size_t cap_pick)
{
	size_t want = padded_len(n, stream), out_len = 0;
	uint8_t *buf = malloc(want + 3);
	uint8_t hdr[TERN_CHANNEL_HEADER_LEN];
	struct tern_channel_data cd;
	bool valid =
	    channel >= TERN_CHANNEL_MIN && channel <= TERN_CHANNEL_MAX_RFC5766 && n <= UINT16_MAX;
	int rc;

	fuzz_require(buf != NULL, "malloc");
	rc = tern_channel_data_build(buf, want + 3, channel, payload, n, stream, &out_len);
	if (!valid) {
		fuzz_require(rc != TERN_OK, "ChannelData build accepts a bad channel or length");
		free(buf);
		return;
	}
	fuzz_require(rc == TERN_OK && out_len == want, "ChannelData build");
	tern_channel_data_header(hdr, channel, (uint16_t)n);
	fuzz_require(memcmp(hdr, buf, sizeof(hdr)) == 0, "build header != channel_data_header");
	for (size_t i = TERN_CHANNEL_HEADER_LEN + n; i < out_len; i++) {
		fuzz_require(buf[i] == 0, "ChannelData padding not zero");
	}
	fuzz_require(tern_channel_data_parse(buf, out_len, stream, &cd) == TERN_OK,
	             "a built ChannelData does not parse");
	fuzz_require(cd.channel == channel && cd.len == n &&
	                 (n == 0 || memcmp(cd.data, payload, n) == 0),
	             "ChannelData build -> parse changed it");
	free(buf);
	if (want > 0) {
		check_capacity(channel, payload, n, stream, cap_pick % want);
	}
}

static void parse_both(const uint8_t *data, size_t size)
{
	struct tern_channel_data dgram, frame;
	int rc_dgram = tern_channel_data_parse(data, size, false, &dgram);
	int rc_frame = tern_channel_data_parse(data, size, true, &frame);

	if (rc_dgram == TERN_OK) {
		check_parsed(data, size, false, &dgram);
	} else {
		fuzz_require(rc_dgram == TERN_ERR_TRUNCATED || rc_dgram == TERN_ERR_MALFORMED,
		             "ChannelData parse error code");
	}
	if (rc_frame == TERN_OK) {
		check_parsed(data, size, true, &frame);
		fuzz_require(rc_dgram == TERN_OK && dgram.channel == frame.channel &&
		                 dgram.len == frame.len && dgram.data == frame.data,
		             "a stream frame does not parse the same as a datagram");
	} else {
		fuzz_require(rc_frame == TERN_ERR_TRUNCATED || rc_frame == TERN_ERR_MALFORMED,
		             "ChannelData parse error code");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t channel = size >= 2 ? fuzz_be16(data) : 0;
	const uint8_t *payload = size > 4 ? data + 4 : data;
	size_t n = size > 4 ? size - 4 : 0;
	size_t cap_pick = size >= 4 ? fuzz_be16(data + 2) : 0;

	parse_both(data, size);
	(void)tern_demux(data, size);
	roundtrip(channel, payload, n, false, cap_pick);
	roundtrip(channel, payload, n, true, cap_pick);
	/* The same payload on a channel forced into range, so every input builds. */
	channel = (uint16_t)(TERN_CHANNEL_MIN | (channel & 0x3FFFu));
	roundtrip(channel, payload, n, false, cap_pick);
	roundtrip(channel, payload, n, true, cap_pick);
	return 0;
}
