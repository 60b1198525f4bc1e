/*
 * tls_input.c - fuzz target for the TLS input path of a client connection:
 * fuzzed bytes reach the server side of OpenSSL exactly as ternd sets it up
 * (the SSL_CTX that ternd_shared_init() builds from a configuration with
 * cert= and pkey=, fuzz/tls_input_cert.pem and fuzz/tls_input_key.pem),
 * then ternd's handshake and read steps and its reframing.
 *
 * Targets: ternd_shared_init's TLS context, ternd_tls_handshake,
 * ternd_tls_io, ternd_stream_* (daemon/stream.c), and OpenSSL's server
 * record layer, handshake and alert handling behind them. The event step
 * mirrors ternd_conn_event() in daemon/conn.c: a handshake step while
 * handshaking, then up to 16 reads into the stream's room, each followed
 * by taking every frame (each frame is written back, as a response would
 * be) and consuming; poll() is level-triggered, so the step repeats while
 * the transport holds unread bytes.
 *
 * Input layout: byte 0 = m | p << 1 | c << 3 | s << 6, then c + 1
 * chunk-size bytes (chunk i is (byte + 1) << 2s bytes, cycling), then:
 *  - m = 0 (raw): the bytes a client sent, arriving in chunks: garbage
 *    ClientHellos, records, alerts, or a whole recorded session (the RNG is
 *    deterministic, so a session recorded with TERN_FUZZ_TLS_CAPTURE below
 *    replays to the end);
 *  - m = 1 (client): an in-process OpenSSL client of profile p (0: TLS 1.3,
 *    1: TLS 1.2 AES-GCM, 2: TLS 1.2 AES-CBC, 3: TLS 1.3 ChaCha20) completes
 *    the handshake; then a 2-byte length L, L bytes of plaintext sent with
 *    SSL_write in chunks (one or more records each), and the rest as raw
 *    bytes after those records.
 * Invariants (abort on violation):
 *  - in client mode the handshake completes, the frames delivered, end to
 *    end, are the first bytes of the plaintext, and when the stream has
 *    not failed the plaintext is all delivered or pending once the
 *    transport is drained (in raw mode the stream checks its own frames);
 *  - whenever the transport has no unread bytes, OpenSSL holds no
 *    decrypted byte ternd has not read (poll() would never wake for it),
 *    and a step that leaves unread bytes in the transport made progress
 *    (poll() would spin).
 * With TERN_FUZZ_TLS_CAPTURE=FILE set, a client-mode input also writes
 * FILE: the raw-mode input of the same session (make_stream_seeds.py).
 */
#include <openssl/err.h>
#include <openssl/rand.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"
#include "stream.h"
#include "ternd.h"

#define MAX_STEPS 64 /* level-triggered repeats per arrival: far above what is needed */

enum party { SERVER, CLIENT };

/* One deterministic RNG per side, reset per input (splitmix64). */
static uint64_t rng_state[2];
static enum party rng_party;

static int rng_bytes(unsigned char *buf, int num)
{
	for (int i = 0; i < num; i++) {
		uint64_t z = (rng_state[rng_party] += 0x9E3779B97F4A7C15ull);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		buf[i] = (unsigned char)(z ^ (z >> 31));
	}
	return 1;
}

static int rng_status(void)
{
	return 1;
}

static const RAND_METHOD rng_method = {
    .bytes = rng_bytes,
    .pseudorand = rng_bytes,
    .status = rng_status,
};

struct setup {
	struct ternd_shared shared; /* its tls is the server's SSL_CTX */
	SSL_CTX *client[4];         /* by profile */
	bool ok;
};

static SSL_CTX *client_ctx(int profile)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	bool ok = ctx != NULL;

	if (ok && (profile == 1 || profile == 2)) {
		ok = SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) == 1 &&
		     SSL_CTX_set_cipher_list(ctx, profile == 1 ? "ECDHE-ECDSA-AES128-GCM-SHA256"
		                                               : "ECDHE-ECDSA-AES128-SHA") == 1;
	}
	if (ok && profile == 3) {
		ok = SSL_CTX_set_ciphersuites(ctx, "TLS_CHACHA20_POLY1305_SHA256") == 1;
	}
	fuzz_require(ok, "client SSL_CTX");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* The daemon's own setup path, from configuration text to the SSL_CTX. */
static void setup_once(struct setup *s)
{
	static const char conf[] = "realm=fuzz.invalid\nuser=fuzz:fuzz\n"
	                           "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\n"
	                           "cert=" TERN_FUZZ_DIR "/tls_input_cert.pem\n"
	                           "pkey=" TERN_FUZZ_DIR "/tls_input_key.pem\n";
	struct ternd_config cfg;
	struct ternd_config_error err;

	fuzz_require(RAND_set_rand_method(&rng_method) == 1, "RAND_set_rand_method");
	ternd_config_init(&cfg);
	fuzz_require(ternd_config_parse(&cfg, conf, sizeof(conf) - 1, "fuzz", &err) == 0 &&
	                 ternd_config_validate(&cfg, &err) == 0,
	             "configuration");
	fuzz_require(ternd_shared_init(&s->shared, &cfg) == 0 && s->shared.tls != NULL,
	             "ternd_shared_init: TLS context");
	ternd_config_free(&cfg);
	for (int p = 0; p < 4; p++) {
		s->client[p] = client_ctx(p);
	}
	s->ok = true;
}

/* The server side of one connection, as conn.c holds it. */
struct server {
	SSL *ssl;
	BIO *in, *out; /* the socket: what the client sent, what the server sent */
	struct ternd_stream stream;
	bool handshaking, closed;
	bool keep_out;        /* the client reads what the server sends (handshake) */
	const uint8_t *plain; /* client mode: what the client sent under TLS */
	size_t plain_len, delivered;
	size_t frames;
};

static void deliver(struct server *sv)
{
	const uint8_t *frame = NULL;
	size_t len = 0, n = 0;

	while (ternd_stream_next(&sv->stream, &frame, &len) == TERND_STREAM_FRAME) {
		fuzz_require(sv->plain == NULL ||
		                 (len <= sv->plain_len - sv->delivered &&
		                  memcmp(frame, sv->plain + sv->delivered, len) == 0),
		             "frames are not the plaintext, in order");
		sv->delivered += len;
		sv->frames++;
		(void)ternd_tls_io(sv->ssl, true, (void *)(uintptr_t)frame, len, &n);
	}
	if (sv->stream.failed) {
		sv->closed = true;
		return;
	}
	(void)ternd_stream_consume(&sv->stream);
}

/* conn.c's read_in(). */
static enum ternd_io read_in(struct server *sv)
{
	for (int rounds = 0; rounds < 16 && !sv->closed; rounds++) {
		size_t n = 0, room = 0;
		uint8_t *at = ternd_stream_room(&sv->stream, &room);
		enum ternd_io st;

		if (at == NULL) {
			return TERND_IO_CLOSED;
		}
		st = ternd_tls_io(sv->ssl, false, at, room, &n);
		if (st != TERND_IO_DONE) {
			return st;
		}
		fuzz_require(n <= room, "SSL_read beyond the room");
		ternd_stream_added(&sv->stream, n);
		deliver(sv);
	}
	return sv->closed ? TERND_IO_CLOSED : TERND_IO_DONE;
}

/* One POLLIN event: conn.c's ternd_conn_event(). */
static void event(struct server *sv)
{
	rng_party = SERVER;
	if (sv->handshaking) {
		enum ternd_io st = ternd_tls_handshake(sv->ssl);

		if (st == TERND_IO_CLOSED) {
			sv->closed = true;
			return;
		}
		sv->handshaking = st != TERND_IO_DONE;
	}
	if (!sv->handshaking && read_in(sv) == TERND_IO_CLOSED) {
		sv->closed = true;
	}
}

/* Bytes arrive on the socket; poll() reports it readable until drained. */
static void arrive(struct server *sv, const uint8_t *p, size_t n)
{
	if (sv->closed) {
		return;
	}
	if (n > 0) {
		fuzz_require(BIO_write(sv->in, p, (int)n) == (int)n, "BIO_write");
	}
	for (int i = 0; i < MAX_STEPS && !sv->closed; i++) {
		size_t before = BIO_ctrl_pending(sv->in);
		bool was = sv->handshaking;
		size_t got = sv->delivered + ternd_stream_pending(&sv->stream);

		event(sv);
		if (sv->closed || BIO_ctrl_pending(sv->in) == 0) {
			break;
		}
		fuzz_require(
		    BIO_ctrl_pending(sv->in) < before || was != sv->handshaking ||
		        got != sv->delivered + ternd_stream_pending(&sv->stream),
		    "the socket stays readable and the connection takes nothing: poll spins");
	}
	if (!sv->keep_out) {
		(void)BIO_reset(sv->out); /* after the handshake the client reads nothing */
	}
	fuzz_require(sv->closed || BIO_ctrl_pending(sv->in) == 0, "the socket is never drained");
	fuzz_require(sv->closed || sv->handshaking || SSL_pending(sv->ssl) == 0,
	             "decrypted bytes left in OpenSSL with nothing to wake the connection");
}

/* Feed bytes in chunks; sizes[] cycles. */
static void arrive_chunked(struct server *sv, const uint8_t *p, size_t n, const size_t *sizes,
                           size_t nsizes)
{
	for (size_t pos = 0, i = 0; pos < n && !sv->closed; i++) {
		size_t chunk = sizes[i % nsizes] < n - pos ? sizes[i % nsizes] : n - pos;

		arrive(sv, p + pos, chunk);
		pos += chunk;
	}
}

static FILE *capture_open(void)
{
	const char *path = getenv("TERN_FUZZ_TLS_CAPTURE");

	return path != NULL && path[0] != '\0' ? fopen(path, "wb") : NULL;
}

/* Move what the client sent to the server (and to the capture file). */
static void client_to_server(struct server *sv, BIO *from, FILE *cap)
{
	uint8_t buf[4096];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0) {
		if (cap != NULL) {
			fuzz_require(fwrite(buf, 1, (size_t)n, cap) == (size_t)n, "capture write");
		}
		arrive(sv, buf, (size_t)n);
	}
}

struct client {
	SSL *ssl;
	BIO *in, *out;
	FILE *capture;
};

/* The handshake, each side's flight delivered whole. */
static void handshake(struct server *sv, struct client *cl)
{
	uint8_t buf[4096];

	sv->keep_out = true;
	for (int i = 0; i < 16 && sv->handshaking && !sv->closed; i++) {
		int n;

		rng_party = CLIENT;
		(void)SSL_do_handshake(cl->ssl);
		client_to_server(sv, cl->out, cl->capture);
		while ((n = BIO_read(sv->out, buf, sizeof(buf))) > 0) {
			fuzz_require(BIO_write(cl->in, buf, n) == n, "BIO_write");
		}
	}
	sv->keep_out = false;
	rng_party = CLIENT;
	fuzz_require(SSL_do_handshake(cl->ssl) == 1, "client handshake");
	ERR_clear_error();
	fuzz_require(!sv->closed && !sv->handshaking, "the server did not finish the handshake");
}

static void client_mode(struct setup *st, struct server *sv, int profile, const uint8_t *data,
                        size_t size, const size_t *sizes, size_t nsizes)
{
	struct client cl = {0};
	size_t plen = size >= 2 ? fuzz_be16(data) : 0, pos = 0;

	data += size >= 2 ? 2 : size;
	size -= size >= 2 ? 2 : size;
	plen = plen < size ? plen : size;
	sv->plain = data;
	sv->plain_len = plen;
	cl.ssl = SSL_new(st->client[profile]);
	cl.in = BIO_new(BIO_s_mem());
	cl.out = BIO_new(BIO_s_mem());
	fuzz_require(cl.ssl != NULL && cl.in != NULL && cl.out != NULL, "client SSL");
	SSL_set_bio(cl.ssl, cl.in, cl.out);
	SSL_set_connect_state(cl.ssl);
	cl.capture = capture_open();
	if (cl.capture != NULL) {
		fuzz_require(fputc(0, cl.capture) != EOF && fputc(0xFF, cl.capture) != EOF,
		             "capture header"); /* raw mode, one chunk size: 256 << 0 */
	}
	handshake(sv, &cl);
	for (size_t i = 0; pos < plen && !sv->closed; i++) {
		size_t chunk = sizes[i % nsizes] < plen - pos ? sizes[i % nsizes] : plen - pos;

		rng_party = CLIENT;
		fuzz_require(SSL_write(cl.ssl, data + pos, (int)chunk) == (int)chunk, "SSL_write");
		client_to_server(sv, cl.out, cl.capture);
		pos += chunk;
	}
	if (cl.capture != NULL) {
		fuzz_require(fclose(cl.capture) == 0, "capture close");
	}
	if (!sv->stream.failed) {
		fuzz_require(sv->delivered + ternd_stream_pending(&sv->stream) == plen,
		             "plaintext lost between OpenSSL and the stream");
	}
	arrive_chunked(sv, data + plen, size - plen, sizes, nsizes);
	SSL_free(cl.ssl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct setup st;
	struct server sv = {0};
	size_t sizes[8], nsizes, shift;

	if (!st.ok) {
		setup_once(&st);
	}
	if (size == 0) {
		return 0;
	}
	nsizes = ((data[0] >> 3) & 7u) + 1;
	shift = 2 * (size_t)(data[0] >> 6);
	if (size < 1 + nsizes) {
		return 0;
	}
	for (size_t i = 0; i < nsizes; i++) {
		sizes[i] = ((size_t)data[1 + i] + 1) << shift;
	}
	rng_state[SERVER] = 0x7465726E73727621ull;
	rng_state[CLIENT] = 0x7465726E636C6E74ull;
	rng_party = SERVER;
	sv.ssl = SSL_new(st.shared.tls);
	sv.in = BIO_new(BIO_s_mem());
	sv.out = BIO_new(BIO_s_mem());
	fuzz_require(sv.ssl != NULL && sv.in != NULL && sv.out != NULL &&
	                 ternd_stream_init(&sv.stream) == 0,
	             "server SSL");
	SSL_set_bio(sv.ssl, sv.in, sv.out);
	SSL_set_accept_state(sv.ssl);
	sv.handshaking = true;
	if (data[0] & 1u) {
		client_mode(&st, &sv, (data[0] >> 1) & 3, data + 1 + nsizes, size - 1 - nsizes,
		            sizes, nsizes);
	} else {
		arrive_chunked(&sv, data + 1 + nsizes, size - 1 - nsizes, sizes, nsizes);
	}
	rng_party = SERVER;
	(void)SSL_shutdown(sv.ssl); /* conn_destroy() */
	SSL_free(sv.ssl);
	ternd_stream_free(&sv.stream);
	ERR_clear_error();
	return 0;
}
