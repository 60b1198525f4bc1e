/* channel.c - demultiplexing, ChannelData and TCP/TLS stream framing. */
#include "reader.h"

#include <string.h>

static size_t pad4(size_t n)
{
	return (4u - n % 4u) % 4u;
}

/* RFC 7983 §7 / RFC 8656 §12: classify by the first byte. */
enum tern_demux tern_demux(const uint8_t *buf, size_t len)
{
	struct tern_reader r;
	uint8_t b;

	tern_reader_init(&r, buf, len);
	if (tern_reader_u8(&r, &b) != TERN_OK)
		return TERN_DEMUX_OTHER;
	if (b <= 3)
		return TERN_DEMUX_STUN;
	if (b >= 16 && b <= 19)
		return TERN_DEMUX_ZRTP;
	if (b >= 20 && b <= 63)
		return TERN_DEMUX_DTLS;
	if (b >= 64 && b <= 127)
		return TERN_DEMUX_CHANNEL_DATA;
	if (b >= 128 && b <= 191)
		return TERN_DEMUX_RTP;
	return TERN_DEMUX_OTHER;
}

int tern_channel_data_parse(const uint8_t *buf, size_t len, bool stream,
                            struct tern_channel_data *out)
{
	struct tern_reader r;
	struct tern_channel_data v;
	size_t trailing;

	tern_reader_init(&r, buf, len);
	if (tern_reader_u16(&r, &v.channel) || tern_reader_u16(&r, &v.len) ||
	    tern_reader_bytes(&r, v.len, &v.data))
		return TERN_ERR_TRUNCATED;
	if (v.channel < TERN_CHANNEL_MIN || v.channel > TERN_CHANNEL_MAX_RFC5766)
		return TERN_ERR_MALFORMED;
	/* RFC 8656 §12.5: padding to 4 is required over streams, optional over UDP. */
	trailing = tern_reader_remaining(&r);
	if (stream ? trailing != pad4(v.len) : trailing > pad4(v.len))
		return TERN_ERR_MALFORMED;
	*out = v;
	return TERN_OK;
}

void tern_channel_data_header(uint8_t *buf, uint16_t channel, uint16_t data_len)
{
	buf[0] = (uint8_t)(channel >> 8);
	buf[1] = (uint8_t)channel;
	buf[2] = (uint8_t)(data_len >> 8);
	buf[3] = (uint8_t)data_len;
}

int tern_channel_data_build(uint8_t *buf, size_t cap, uint16_t channel, const void *data,
                            size_t data_len, bool stream, size_t *out_len)
{
	size_t pad = stream ? pad4(data_len) : 0;

	if (channel < TERN_CHANNEL_MIN || channel > TERN_CHANNEL_MAX_RFC5766 ||
	    data_len > 0xFFFFu || (data_len > 0 && data == NULL))
		return TERN_ERR_INVALID_ARG;
	if (cap < TERN_CHANNEL_HEADER_LEN || data_len + pad > cap - TERN_CHANNEL_HEADER_LEN)
		return TERN_ERR_NO_SPACE;
	tern_channel_data_header(buf, channel, (uint16_t)data_len);
	if (data_len > 0)
		memmove(buf + TERN_CHANNEL_HEADER_LEN, data, data_len);
	memset(buf + TERN_CHANNEL_HEADER_LEN + data_len, 0, pad);
	*out_len = TERN_CHANNEL_HEADER_LEN + data_len + pad;
	return TERN_OK;
}

int tern_stream_frame_len(const uint8_t *buf, size_t avail, size_t *need)
{
	struct tern_reader r;
	uint16_t first, length;
	uint32_t cookie;

	tern_reader_init(&r, buf, avail);
	if (tern_reader_u16(&r, &first) || tern_reader_u16(&r, &length)) {
		*need = 4;
		return TERN_ERR_TRUNCATED;
	}
	if (first >= TERN_CHANNEL_MIN && first <= TERN_CHANNEL_MAX_RFC5766) {
		*need = TERN_CHANNEL_HEADER_LEN + length + pad4(length);
		return TERN_OK;
	}
	if ((first & 0xC000u) != 0 || length % 4 != 0)
		return TERN_ERR_MALFORMED;
	if (tern_reader_u32(&r, &cookie) == TERN_OK && cookie != TERN_STUN_MAGIC_COOKIE)
		return TERN_ERR_MALFORMED;
	*need = TERN_STUN_HEADER_LEN + length;
	return TERN_OK;
}
