/*
 * testutil.h - helpers shared by the codec unit tests: hex decoding and
 * hand-made STUN messages, written byte by byte so parser tests do not
 * depend on the builder under test. Every helper fails the running cmocka
 * test on misuse instead of returning an error.
 */
#ifndef TERN_TESTUTIL_H
#define TERN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "tern_codec.h"

#define TU_MSG_CAP 4096u

/* The transaction id every hand-made message uses ("TERN-test-id"). */
extern const uint8_t tu_txid[TERN_STUN_TXID_LEN];

/* A STUN message written by hand; Length always says len - 20. */
struct tu_msg {
	uint8_t buf[TU_MSG_CAP];
	size_t len;
};

/* Decode hex pairs (whitespace ignored) into out; returns the byte count. */
size_t tu_hex(const char *hex, uint8_t *out, size_t cap);
/* Header of the given type, tu_txid, Length 0. */
void tu_msg_start(struct tu_msg *m, uint16_t type);
/* Attribute header, value and zero padding to 4. */
void tu_msg_attr(struct tu_msg *m, uint16_t type, const void *value, size_t len);
/* Attribute header claiming len, then exactly the n value bytes given (no padding). */
void tu_msg_attr_hdr(struct tu_msg *m, uint16_t type, uint16_t len, const void *value, size_t n);
/* Append raw bytes. */
void tu_msg_raw(struct tu_msg *m, const void *bytes, size_t n);
/* Overwrite the header Length field. */
void tu_msg_set_length(struct tu_msg *m, uint16_t length);
/* Parse m and fail the test unless it parses. */
void tu_parse_ok(const struct tu_msg *m, struct tern_stun_msg *msg);
/* Big-endian store/load. */
void tu_put16(uint8_t *p, uint16_t v);
void tu_put32(uint8_t *p, uint32_t v);
uint16_t tu_get16(const uint8_t *p);
uint32_t tu_get32(const uint8_t *p);

#endif /* TERN_TESTUTIL_H */
