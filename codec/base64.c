/* base64.c - strict RFC 4648 base64 with padding, on caller buffers. */
#include "tern_codec.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t tern_base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

int tern_base64_encode(const void *in, size_t n, char *out, size_t cap)
{
	const uint8_t *p = in;
	size_t o = 0;

	if (cap < tern_base64_len(n) + 1 || n > (SIZE_MAX - 2) / 4 * 3)
		return TERN_ERR_NO_SPACE;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63u];
		out[o++] = alphabet[(v >> 12) & 63u];
		out[o++] = (char)(left > 1 ? alphabet[(v >> 6) & 63u] : '=');
		out[o++] = (char)(left > 2 ? alphabet[v & 63u] : '=');
	}
	out[o] = '\0';
	return TERN_OK;
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* One 4-character quantum; pads only in the last one, unused bits zero. */
static int decode_quantum(const char *q, bool last, uint8_t *out, size_t *n)
{
	int s[4];
	size_t pads = 0;
	uint32_t v = 0;

	for (size_t i = 0; i < 4; i++) {
		s[i] = q[i] == '=' ? 0 : sextet(q[i]);
		if (q[i] == '=')
			pads++;
		else if (s[i] < 0 || pads > 0)
			return TERN_ERR_MALFORMED;
		v = v << 6 | (uint32_t)s[i];
	}
	if (pads > 2 || (pads > 0 && !last))
		return TERN_ERR_MALFORMED;
	if ((pads == 1 && (v & 0xFFu)) || (pads == 2 && (v & 0xFFFFu)))
		return TERN_ERR_MALFORMED;
	out[0] = (uint8_t)(v >> 16);
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)v;
	*n = 3 - pads;
	return TERN_OK;
}

int tern_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t o = 0;

	if (n % 4 != 0)
		return TERN_ERR_MALFORMED;
	for (size_t i = 0; i < n; i += 4) {
		uint8_t b[3];
		size_t got;

		if (decode_quantum(in + i, i + 4 == n, b, &got) != TERN_OK)
			return TERN_ERR_MALFORMED;
		if (got > cap - o)
			return TERN_ERR_NO_SPACE;
		for (size_t k = 0; k < got; k++)
			out[o++] = b[k];
	}
	*out_len = o;
	return TERN_OK;
}
