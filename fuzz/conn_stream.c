/*
 * conn_stream.c - fuzz target for the daemon's TCP/TLS input reframing
 * (daemon/stream.c, as daemon/conn.c drives it for every connection).
 *
 * Targets: ternd_stream_init, ternd_stream_room, ternd_stream_added,
 * ternd_stream_next, ternd_stream_consume, ternd_stream_pending,
 * ternd_stream_free, and through them tern_stream_frame_len.
 *
 * Input layout (as stream_framer): byte 0 = c | s << 3, then c + 1
 * chunk-size bytes (read i is (byte + 1) * (s + 1) bytes, cycling), then
 * the byte stream. Each read is cut to the room the stream offers, as
 * recv() into it would be; after each read every complete frame is taken
 * and the stream consumed, as conn.c does. Invariants (abort on violation):
 *  - the frames returned, end to end, are exactly the input's first bytes;
 *    each lies inside the buffer, is 4 to TERND_STREAM_MAX bytes, a
 *    multiple of 4, and is what an independent reading of RFC 8656 §12.5
 *    (top bits 01: ChannelData padded to 4; 00: STUN, Length a multiple of
 *    4 and the magic cookie) says the frame at that offset is;
 *  - the buffer never exceeds TERND_STREAM_MAX, and never holds more than
 *    one incomplete frame;
 *  - after an error no frame is returned, room is refused, and the error
 *    is where the independent reading finds it; without one, the bytes
 *    left pending are the input's tail after the last frame. So how the
 *    stream was split does not matter.
 */
#include <string.h>

#include "fuzz_common.h"
#include "stream.h"

/* What an independent reading of the whole input says about the frame at off. */
enum ref { REF_FRAME, REF_SHORT, REF_BAD };

static enum ref reference(const uint8_t *in, size_t n, size_t off, size_t *flen)
{
	size_t left = n - off;
	size_t length;

	if (left < 4) {
		return REF_SHORT;
	}
	length = fuzz_be16(in + off + 2);
	switch (in[off] >> 6) {
	case 1: /* ChannelData: 4-byte header, data padded to 4 over a stream */
		*flen = 4 + (length + 3) / 4 * 4;
		break;
	case 0: /* STUN: 20-byte header, Length a multiple of 4, the cookie */
		if (length % 4 != 0 ||
		    (left >= 8 && fuzz_be32(in + off + 4) != TERN_STUN_MAGIC_COOKIE)) {
			return REF_BAD;
		}
		*flen = 20 + length;
		break;
	default:
		return REF_BAD;
	}
	return *flen <= left ? REF_FRAME : REF_SHORT;
}

struct run {
	const uint8_t *in;
	size_t n;
	size_t pos;    /* bytes given to the stream */
	size_t framed; /* bytes returned as frames */
	bool failed;
};

static void check_frame(struct run *r, const struct ternd_stream *s, const uint8_t *frame,
                        size_t len)
{
	size_t flen = 0;

	fuzz_require(!r->failed, "a frame after an error");
	fuzz_require(fuzz_inside(s->buf, s->len, frame, len), "frame outside the buffer");
	fuzz_require(len >= 4 && len % 4 == 0 && len <= TERND_STREAM_MAX,
	             "frame length below 4, unaligned or over TERND_STREAM_MAX");
	fuzz_require(len <= r->n - r->framed && memcmp(frame, r->in + r->framed, len) == 0,
	             "frames are not the input, in order");
	fuzz_require(reference(r->in, r->n, r->framed, &flen) == REF_FRAME && flen == len,
	             "frame differs from the reference reading");
	r->framed += len;
}

/* Take every complete frame, then consume them (conn.c's deliver_frames). */
static void deliver(struct run *r, struct ternd_stream *s)
{
	const uint8_t *frame = NULL;
	size_t len = 0, before = ternd_stream_pending(s);
	enum ternd_stream_status st;

	while ((st = ternd_stream_next(s, &frame, &len)) == TERND_STREAM_FRAME) {
		check_frame(r, s, frame, len);
	}
	if (st == TERND_STREAM_ERROR) {
		r->failed = true;
		fuzz_require(ternd_stream_next(s, &frame, &len) == TERND_STREAM_ERROR,
		             "a failed stream recovered");
		return;
	}
	fuzz_require(ternd_stream_consume(s) + ternd_stream_pending(s) == before,
	             "consume lost or invented bytes");
	fuzz_require(r->pos - r->framed == ternd_stream_pending(s),
	             "pending bytes are not the input after the last frame");
	fuzz_require(reference(r->in, r->pos, r->framed, &len) == REF_SHORT,
	             "more than one incomplete frame held, or a bad one kept");
}

/* One read of up to want bytes into the room the stream offers. */
static bool read_once(struct run *r, struct ternd_stream *s, size_t want)
{
	size_t room = 0;
	uint8_t *at = ternd_stream_room(s, &room);

	if (r->failed) {
		fuzz_require(at == NULL, "room offered after an error");
		return false;
	}
	fuzz_require(at != NULL && room > 0, "no room in a stream that has not failed");
	fuzz_require(s->cap <= TERND_STREAM_MAX && s->len + room == s->cap,
	             "buffer over TERND_STREAM_MAX or room miscounted");
	if (want > room) {
		want = room;
	}
	memcpy(at, r->in + r->pos, want);
	ternd_stream_added(s, want);
	r->pos += want;
	deliver(r, s);
	return true;
}

static void check_end(const struct run *r)
{
	size_t off = r->framed, flen = 0;
	enum ref ref = reference(r->in, r->n, off, &flen);

	fuzz_require(ref != REF_FRAME || r->failed, "a complete frame was left unread");
	if (r->failed) {
		fuzz_require(ref == REF_BAD, "the stream failed where the reference reads on");
	} else {
		fuzz_require(ref == REF_SHORT && r->pos == r->n,
		             "the reference fails or reads on where the stream waits");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sizes[8], nsizes, scale, i = 0;
	struct ternd_stream s;
	struct run r = {0};

	if (size == 0) {
		return 0;
	}
	nsizes = (data[0] & 7u) + 1;
	scale = (size_t)(data[0] >> 3) + 1;
	if (size < 1 + nsizes) {
		return 0;
	}
	for (size_t k = 0; k < nsizes; k++) {
		sizes[k] = ((size_t)data[1 + k] + 1) * scale;
	}
	r.in = data + 1 + nsizes;
	r.n = size - 1 - nsizes;
	fuzz_require(ternd_stream_init(&s) == 0, "ternd_stream_init");
	while (r.pos < r.n) {
		size_t chunk = sizes[i++ % nsizes];

		if (!read_once(&r, &s, chunk < r.n - r.pos ? chunk : r.n - r.pos)) {
			break;
		}
	}
	check_end(&r);
	ternd_stream_free(&s);
	return 0;
}
