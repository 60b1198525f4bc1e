/* message.c - STUN message parsing and validation (RFC 8489 §5, §6.3, §14). */
#include "reader.h"

static void msg_reset(struct tern_stun_msg *msg, const uint8_t *buf, size_t len)
{
	msg->raw = buf;
	msg->raw_len = len;
	msg->type = 0;
	msg->method = 0;
	msg->cls = TERN_STUN_REQUEST;
	msg->txid = NULL;
	msg->nattrs = 0;
	msg->mi_index = -1;
	msg->mi256_index = -1;
	msg->fp_index = -1;
	msg->nunknown = 0;
	msg->bad_index = -1;
	msg->bad_type = 0;
}

/*
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|     STUN Message Type     |         Message Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Magic Cookie                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Transaction ID (96 bits)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
static int parse_header(struct tern_reader *r, struct tern_stun_msg *msg)
{
	uint16_t type, length;
	uint32_t cookie;
	const uint8_t *txid;

	if (tern_reader_u16(r, &type))
		return TERN_ERR_TRUNCATED;
	if ((type & 0xC000u) != 0)
		return TERN_ERR_NOT_STUN;
	if (tern_reader_u16(r, &length) || tern_reader_u32(r, &cookie) ||
	    tern_reader_bytes(r, TERN_STUN_TXID_LEN, &txid))
		return TERN_ERR_TRUNCATED;
	if (cookie != TERN_STUN_MAGIC_COOKIE)
		return TERN_ERR_NOT_STUN;
	msg->type = type;
	msg->method = tern_stun_type_method(type);
	msg->cls = tern_stun_type_class(type);
	if (length % 4 != 0)
		return TERN_ERR_MALFORMED;
	if (length > tern_reader_remaining(r))
		return TERN_ERR_TRUNCATED;
	if (length < tern_reader_remaining(r))
		return TERN_ERR_MALFORMED;
	/*
	 * RFC 8489 §6.3: a message whose length is not sensible is discarded,
	 * so txid stays NULL (nothing to answer) until the framing is right.
	 */
	msg->txid = txid;
	return TERN_OK;
}

/*
 * RFC 8489 §14.5/§14.6: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256
 * and FINGERPRINT count; after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
 */
static bool is_ignored(const struct tern_stun_msg *msg, uint16_t type)
{
	if (msg->mi256_index >= 0)
		return type != TERN_ATTR_FINGERPRINT;
	if (msg->mi_index >= 0)
		return type != TERN_ATTR_FINGERPRINT && type != TERN_ATTR_MESSAGE_INTEGRITY_SHA256;
	return false;
}

static void note_unknown(struct tern_stun_msg *msg, uint16_t type)
{
	if (type >= 0x8000u || tern_attr_kind_of(type) != TERN_KIND_UNKNOWN)
		return;
	for (unsigned i = 0; i < msg->nunknown; i++)
		if (msg->unknown[i] == type)
			return;
	if (msg->nunknown < TERN_STUN_MAX_UNKNOWN)
		msg->unknown[msg->nunknown++] = type;
}

static int record_attr(struct tern_stun_msg *msg, const struct tern_attr *a)
{
	int16_t index = (int16_t)msg->nattrs;

	if (msg->nattrs >= TERN_STUN_MAX_ATTRS)
		return TERN_ERR_TOO_MANY;
	if (tern_attr_validate(a) != TERN_OK) {
		msg->bad_index = index;
		msg->bad_type = a->type;
		return TERN_ERR_MALFORMED;
	}
	msg->attrs[msg->nattrs++] = *a;
	if (a->type == TERN_ATTR_MESSAGE_INTEGRITY)
		msg->mi_index = index;
	else if (a->type == TERN_ATTR_MESSAGE_INTEGRITY_SHA256)
		msg->mi256_index = index;
	else if (a->type == TERN_ATTR_FINGERPRINT)
		msg->fp_index = index;
	note_unknown(msg, a->type);
	return TERN_OK;
}

/*
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Type                  |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Value (variable)                ....
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
static int parse_attrs(struct tern_reader *r, struct tern_stun_msg *msg)
{
	while (!tern_reader_done(r)) {
		struct tern_attr a;
		struct tern_reader value;
		int err;

		/* FINGERPRINT is always last (RFC 8489 §14.7). */
		if (msg->fp_index >= 0) {
			msg->bad_index = msg->fp_index;
			msg->bad_type = TERN_ATTR_FINGERPRINT;
			return TERN_ERR_MALFORMED;
		}
		a.offset = (uint32_t)r->pos;
		if (tern_reader_u16(r, &a.type) || tern_reader_u16(r, &a.len) ||
		    tern_reader_sub(r, a.len, &value) ||
		    tern_reader_skip(r, (4u - a.len % 4u) % 4u))
			return TERN_ERR_TRUNCATED;
		a.value = value.base;
		if (is_ignored(msg, a.type))
			continue;
		err = record_attr(msg, &a);
		if (err != TERN_OK)
			return err;
	}
	return TERN_OK;
}

int tern_stun_parse(const uint8_t *buf, size_t len, struct tern_stun_msg *msg)
{
	struct tern_reader r;
	int err;

	msg_reset(msg, buf, len);
	if (buf == NULL)
		return TERN_ERR_INVALID_ARG;
	if (len > TERN_STUN_MAX_MSG)
		return TERN_ERR_MALFORMED;
	tern_reader_init(&r, buf, len);
	err = parse_header(&r, msg);
	if (err != TERN_OK)
		return err;
	return parse_attrs(&r, msg);
}

const struct tern_attr *tern_stun_find(const struct tern_stun_msg *msg, uint16_t type)
{
	for (unsigned i = 0; i < msg->nattrs; i++)
		if (msg->attrs[i].type == type)
			return &msg->attrs[i];
	return NULL;
}

const struct tern_attr *tern_stun_find_next(const struct tern_stun_msg *msg,
                                            const struct tern_attr *prev)
{
	size_t start = (size_t)(prev - msg->attrs) + 1;

	for (size_t i = start; i < msg->nattrs; i++)
		if (msg->attrs[i].type == prev->type)
			return &msg->attrs[i];
	return NULL;
}
