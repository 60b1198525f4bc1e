/* crc32.h - CRC-32 for FINGERPRINT (codec-internal). */
#ifndef TERN_CRC32_H
#define TERN_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32 of n bytes (zlib's crc32(0, p, n)). */
uint32_t tern_crc32(const uint8_t *p, size_t n);
extern const uint32_t tern_crc32_table[8][256];

#endif /* TERN_CRC32_H */
