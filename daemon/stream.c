/*
 * stream.c - reframing a client's TCP/TLS byte stream into STUN messages
 * and ChannelData (RFC 8656 §12.5: over a stream, ChannelData is padded to
 * 4 bytes so the next frame starts aligned), and the TLS steps conn.c
 * takes on a connection. No sockets here, so the fuzz targets run it all.
 */
#include "stream.h"

#include <limits.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

int ternd_stream_init(struct ternd_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->buf = malloc(TERND_STREAM_START);
	if (s->buf == NULL)
		return -1;
	s->cap = TERND_STREAM_START;
	return 0;
}

void ternd_stream_free(struct ternd_stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

uint8_t *ternd_stream_room(struct ternd_stream *s, size_t *room)
{
	size_t need = 0;
	uint8_t *p;

	if (s->failed || s->off > 0 || s->buf == NULL)
		return NULL;
	if (s->len == s->cap) {
		/*
		 * Full of one incomplete frame (ternd_stream_next() took every
		 * complete one): grow to the length its header declares, which
		 * ternd_stream_next() has already held to TERND_STREAM_MAX.
		 */
		if (tern_stream_frame_len(s->buf, s->len, &need) != TERN_OK ||
		    need > TERND_STREAM_MAX || need <= s->cap)
			return NULL;
		p = realloc(s->buf, need);
		if (p == NULL)
			return NULL;
		s->buf = p;
		s->cap = need;
	}
	*room = s->cap - s->len;
	return s->buf + s->len;
}

void ternd_stream_added(struct ternd_stream *s, size_t n)
{
	s->len += n <= s->cap - s->len ? n : s->cap - s->len;
}

enum ternd_stream_status ternd_stream_next(struct ternd_stream *s, const uint8_t **frame,
                                           size_t *len)
{
	size_t need = 0;
	int rc;

	if (s->failed)
		return TERND_STREAM_ERROR;
	rc = tern_stream_frame_len(s->buf + s->off, s->len - s->off, &need);
	if (rc == TERN_ERR_TRUNCATED)
		return TERND_STREAM_MORE;
	/* A frame that can never fit is as unframeable as a bad header: say so now. */
	if (rc != TERN_OK || need > TERND_STREAM_MAX) {
		s->failed = true;
		return TERND_STREAM_ERROR;
	}
	if (need > s->len - s->off)
		return TERND_STREAM_MORE;
	*frame = s->buf + s->off;
	*len = need;
	s->off += need;
	return TERND_STREAM_FRAME;
}

size_t ternd_stream_consume(struct ternd_stream *s)
{
	size_t n = s->off;

	if (n > 0)
		memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
	s->off = 0;
	return n;
}

size_t ternd_stream_pending(const struct ternd_stream *s)
{
	return s->len - s->off;
}

static enum ternd_io tls_result(SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);

	ERR_clear_error();
	return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? TERND_IO_AGAIN
	                                                               : TERND_IO_CLOSED;
}

/*
 * SSL_get_error() reads this thread's error queue, which every connection
 * of the worker shares: clear it before each call (OpenSSL's own rule), so
 * one client's failure is never read as another's.
 */
enum ternd_io ternd_tls_handshake(SSL *ssl)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(ssl);
	return r == 1 ? TERND_IO_DONE : tls_result(ssl, r);
}

enum ternd_io ternd_tls_io(SSL *ssl, bool writing, void *buf, size_t len, size_t *n)
{
	int k, want = len > INT_MAX ? INT_MAX : (int)len;

	ERR_clear_error();
	k = writing ? SSL_write(ssl, buf, want) : SSL_read(ssl, buf, want);
	if (k > 0) {
		*n = (size_t)k;
		return TERND_IO_DONE;
	}
	return tls_result(ssl, k);
}
