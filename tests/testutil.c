/* testutil.c - see testutil.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

const uint8_t tu_txid[TERN_STUN_TXID_LEN] = {'T', 'E', 'R', 'N', '-', 't',
                                             'e', 's', 't', '-', 'i', 'd'};

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t tu_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			continue;
		int v = hex_nibble(*p);
		if (v < 0)
			fail_msg("bad hex character 0x%02x", (unsigned)(unsigned char)*p);
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			fail_msg("hex longer than %zu bytes", cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		fail_msg("odd number of hex digits");
	return n;
}

void tu_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void tu_put32(uint8_t *p, uint32_t v)
{
	tu_put16(p, (uint16_t)(v >> 16));
	tu_put16(p + 2, (uint16_t)v);
}

uint16_t tu_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t tu_get32(const uint8_t *p)
{
	return (uint32_t)tu_get16(p) << 16 | tu_get16(p + 2);
}

void tu_msg_set_length(struct tu_msg *m, uint16_t length)
{
	tu_put16(m->buf + 2, length);
}

void tu_msg_raw(struct tu_msg *m, const void *bytes, size_t n)
{
	assert_true(n <= TU_MSG_CAP - m->len);
	if (n > 0)
		memcpy(m->buf + m->len, bytes, n);
	m->len += n;
	tu_msg_set_length(m, (uint16_t)(m->len - TERN_STUN_HEADER_LEN));
}

void tu_msg_start(struct tu_msg *m, uint16_t type)
{
	memset(m->buf, 0, sizeof(m->buf));
	tu_put16(m->buf, type);
	tu_put32(m->buf + 4, TERN_STUN_MAGIC_COOKIE);
	memcpy(m->buf + 8, tu_txid, TERN_STUN_TXID_LEN);
	m->len = TERN_STUN_HEADER_LEN;
}

void tu_msg_attr_hdr(struct tu_msg *m, uint16_t type, uint16_t len, const void *value, size_t n)
{
	uint8_t hdr[4];

	tu_put16(hdr, type);
	tu_put16(hdr + 2, len);
	tu_msg_raw(m, hdr, sizeof(hdr));
	tu_msg_raw(m, value, n);
}

void tu_msg_attr(struct tu_msg *m, uint16_t type, const void *value, size_t len)
{
	static const uint8_t zeros[3];

	assert_true(len <= UINT16_MAX);
	tu_msg_attr_hdr(m, type, (uint16_t)len, value, len);
	tu_msg_raw(m, zeros, (4 - len % 4) % 4);
}

void tu_parse_ok(const struct tu_msg *m, struct tern_stun_msg *msg)
{
	int rc = tern_stun_parse(m->buf, m->len, msg);
	if (rc != TERN_OK)
		fail_msg("parse failed: %d (%s), bad_type 0x%04x", rc, tern_strerror(rc),
		         (unsigned)msg->bad_type);
}
