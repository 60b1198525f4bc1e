/*
 * stun_print.h - how tern-stun prints decoded values (tools/ only).
 * Everything is written to stdout.
 */
#ifndef TERN_STUN_PRINT_H
#define TERN_STUN_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_codec.h"

/* n bytes as lowercase hex, no separators. */
void tern_print_hex(const uint8_t *p, size_t n);
/* Quoted; printable ASCII and valid UTF-8 as is, everything else escaped. */
void tern_print_quoted(const uint8_t *p, size_t n);
/* True when n > 0 and every byte is printable ASCII, tab, CR or LF. */
bool tern_print_is_text(const uint8_t *p, size_t n);
/* One line: "  [i] 0xTYPE NAME, length N: decoded value". */
void tern_print_attribute(size_t i, const struct tern_attr *a, const struct tern_stun_msg *msg);

#endif /* TERN_STUN_PRINT_H */
