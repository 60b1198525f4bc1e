/*
 * stream_framer.c - fuzz target for TCP/TLS stream framing (RFC 8656 §12.5).
 *
 * Targets: tern_stream_frame_len, and on every frame
 * tern_stun_parse or tern_channel_data_parse (stream = true).
 *
 * Input layout: byte 0 = c | s << 3, with c + 1 chunk-size bytes following
 * (chunk i is (byte + 1) * (s + 1) bytes, cycling); the rest is the byte
 * stream. The harness reassembles frames the way the daemon does: a bounded
 * buffer of TERN_STUN_MAX_MSG bytes, each read limited to the free space,
 * frames cut with tern_stream_frame_len and handed on in a buffer of
 * exactly their length. Invariants (abort on violation):
 *  - a length reported OK is >= 4, a multiple of 4 and <= TERN_STUN_MAX_MSG
 *    (so the bounded buffer always suffices); TRUNCATED only below 4 bytes,
 *    asking for 4;
 *  - a ChannelData frame parses (stream = true) as exactly itself; a STUN
 *    frame never gets TERN_ERR_NOT_STUN from the parser;
 *  - framing does not depend on chunking: the frames (lengths, kinds, parse
 *    results) and the final state equal those of the stream read in one go.
 */
#include <string.h>

#include "fuzz_common.h"
#include "tern_codec.h"

#define FRAMER_CAP TERN_STUN_MAX_MSG

struct framer {
	uint8_t *buf; /* FRAMER_CAP bytes */
	size_t have;
	bool closed;    /* tern_stream_frame_len said MALFORMED */
	size_t nframes; /* frames handed on */
	uint64_t digest;
};

static void digest_add(struct framer *f, uint64_t v)
{
	f->digest = (f->digest ^ v) * 0x100000001B3ull;
}

static void handle_frame(struct framer *f, const uint8_t *frame, size_t len)
{
	struct tern_stun_msg m;
	struct tern_channel_data cd;
	/* Stream framing goes by the top two bits (RFC 8656 §12.5), not RFC 7983. */
	unsigned kind = frame[0] >> 6;
	int rc;

	if (kind == 1) {
		rc = tern_channel_data_parse(frame, len, true, &cd);
		fuzz_require(rc == TERN_OK, "a ChannelData frame does not parse as one");
		fuzz_require((TERN_CHANNEL_HEADER_LEN + (size_t)cd.len + 3) / 4 * 4 == len,
		             "ChannelData frame length != padded ChannelData length");
	} else {
		fuzz_require(kind == 0, "frame is neither STUN (00) nor ChannelData (01)");
		rc = tern_stun_parse(frame, len, &m);
		fuzz_require(rc != TERN_ERR_NOT_STUN, "a STUN frame is not STUN to the parser");
	}
	f->nframes++;
	digest_add(f, len);
	digest_add(f, kind);
	digest_add(f, (uint64_t)(int64_t)rc);
}

/* Cut every complete frame off the front of the buffer. */
static void drain(struct framer *f)
{
	size_t need = 0;

	while (!f->closed) {
		int rc = tern_stream_frame_len(f->buf, f->have, &need);
		uint8_t *frame;

		if (rc == TERN_ERR_TRUNCATED) {
			fuzz_require(f->have < 4 && need == 4, "TRUNCATED with 4 bytes or more");
			return;
		}
		if (rc != TERN_OK) {
			fuzz_require(rc == TERN_ERR_MALFORMED, "frame_len error code");
			f->closed = true;
			return;
		}
		fuzz_require(need >= 4 && need % 4 == 0 && need <= TERN_STUN_MAX_MSG,
		             "frame length below 4, unaligned or beyond TERN_STUN_MAX_MSG");
		if (need > f->have) {
			return;
		}
		frame = malloc(need);
		fuzz_require(frame != NULL, "malloc");
		memcpy(frame, f->buf, need);
		handle_frame(f, frame, need);
		free(frame);
		memmove(f->buf, f->buf + need, f->have - need);
		f->have -= need;
	}
}

/* Feed the stream in chunks; sizes[] cycles (a single 0 means "all at once"). */
static void run(struct framer *f, const uint8_t *stream, size_t n, const size_t *sizes,
                size_t nsizes)
{
	size_t pos = 0, i = 0;

	f->buf = malloc(FRAMER_CAP);
	fuzz_require(f->buf != NULL, "malloc");
	f->have = 0;
	f->closed = false;
	f->nframes = 0;
	f->digest = 0xCBF29CE484222325ull;
	while (pos < n && !f->closed) {
		size_t chunk = sizes[i++ % nsizes], room = FRAMER_CAP - f->have;

		if (chunk == 0 || chunk > n - pos) {
			chunk = n - pos;
		}
		if (chunk > room) {
			chunk = room;
		}
		fuzz_require(chunk > 0, "the framer buffer is full without a complete frame");
		memcpy(f->buf + f->have, stream + pos, chunk);
		f->have += chunk;
		pos += chunk;
		drain(f);
	}
	digest_add(f, f->closed);
	digest_add(f, f->closed ? 0 : f->have);
	free(f->buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sizes[8], nsizes, scale;
	const size_t whole = 0;
	struct framer chunked, oneshot;

	if (size == 0) {
		return 0;
	}
	nsizes = (data[0] & 7u) + 1;
	scale = (size_t)(data[0] >> 3) + 1;
	if (size < 1 + nsizes) {
		return 0;
	}
	for (size_t i = 0; i < nsizes; i++) {
		sizes[i] = ((size_t)data[1 + i] + 1) * scale;
	}
	data += 1 + nsizes;
	size -= 1 + nsizes;
	run(&chunked, data, size, sizes, nsizes);
	run(&oneshot, data, size, &whole, 1);
	fuzz_require(chunked.nframes == oneshot.nframes && chunked.digest == oneshot.digest,
	             "framing depends on how the stream was chunked");
	return 0;
}
