/*
 * stream.h - what a TCP or TLS client connection does with its bytes,
 * without the socket: the input buffer that reframes the byte stream into
 * STUN messages and ChannelData (RFC 8656 §12.5, with the codec's
 * tern_stream_frame_len), its limits and the decision to close; and the
 * TLS handshake and record I/O steps on an SSL of any BIO. conn.c drives
 * both over sockets; fuzz/conn_stream.c and fuzz/tls_input.c over memory.
 */
#ifndef TERND_STREAM_H
#define TERND_STREAM_H

#include "tern_codec.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERND_STREAM_START 2048u                    /* first buffer size */
#define TERND_STREAM_MAX   (TERN_STUN_MAX_MSG + 4u) /* the largest frame either kind can have */

/*
 * The input side of one connection. Bytes are read into the room the
 * stream offers, then complete frames are taken off its front; frames stay
 * valid (the relay's actions may point into them) until
 * ternd_stream_consume(). The buffer starts at TERND_STREAM_START bytes and
 * grows to what the frame being read declares, never beyond
 * TERND_STREAM_MAX. Once a frame cannot be framed the stream has failed for
 * good: no frame is returned after that, and the connection must close.
 */
struct ternd_stream {
	uint8_t *buf;
	size_t len;  /* bytes held, from buf */
	size_t cap;  /* bytes allocated */
	size_t off;  /* bytes at the front already returned as frames */
	bool failed; /* the stream cannot be framed: close */
};

enum ternd_stream_status {
	TERND_STREAM_FRAME, /* a complete frame */
	TERND_STREAM_MORE,  /* no complete frame yet: read more */
	TERND_STREAM_ERROR, /* the stream cannot be framed: close the connection */
};

/* An empty stream with TERND_STREAM_START bytes of room; 0, or -1 out of memory. */
int ternd_stream_init(struct ternd_stream *s);
/* Frees the buffer; the stream is then empty (init it again to reuse it). */
void ternd_stream_free(struct ternd_stream *s);

/*
 * Where to read next: *room (> 0) bytes at the pointer returned. When the
 * buffer is full of an incomplete frame, it grows to that frame's length.
 * NULL: the stream has failed, out of memory, or frames were returned and
 * not yet consumed (call ternd_stream_consume() first): close.
 */
uint8_t *ternd_stream_room(struct ternd_stream *s, size_t *room);
/* n bytes (<= the room offered) were written at the room. */
void ternd_stream_added(struct ternd_stream *s, size_t n);

/*
 * The next complete frame: TERND_STREAM_FRAME with *frame and *len (a
 * STUN message or a padded ChannelData, at most TERND_STREAM_MAX bytes,
 * inside the buffer); TERND_STREAM_MORE when the front frame is
 * incomplete; TERND_STREAM_ERROR when it cannot be a frame (not STUN or
 * ChannelData, STUN Length not a multiple of 4, wrong magic cookie, or a
 * declared length over TERND_STREAM_MAX), and on every call after that.
 */
enum ternd_stream_status ternd_stream_next(struct ternd_stream *s, const uint8_t **frame,
                                           size_t *len);
/* Drop the frames returned so far (moving the rest); returns how many bytes. */
size_t ternd_stream_consume(struct ternd_stream *s);
/* Bytes held that are not part of a returned frame (an incomplete frame). */
size_t ternd_stream_pending(const struct ternd_stream *s);

/* The outcome of one TLS (or socket) step. */
enum ternd_io {
	TERND_IO_DONE,   /* bytes moved, or the handshake finished */
	TERND_IO_AGAIN,  /* the transport has nothing more now: wait for poll() */
	TERND_IO_CLOSED, /* closed by the peer, or a TLS error: close the connection */
};

/* One SSL_do_handshake() step (server side); errors are cleared from the queue. */
enum ternd_io ternd_tls_handshake(SSL *ssl);
/*
 * One SSL_read() (writing false) or SSL_write() of up to len bytes; *n
 * bytes moved on TERND_IO_DONE. Errors are cleared from the queue.
 */
enum ternd_io ternd_tls_io(SSL *ssl, bool writing, void *buf, size_t len, size_t *n);

#endif /* TERND_STREAM_H */
