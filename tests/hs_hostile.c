/*
 * hs_hostile.c - hostile stream clients for the hardening tests
 * (hs_hostile.h). Everything here is raw sockets and the codec: these
 * clients misbehave on purpose, so they cannot use daemon_client.c, which
 * fails the test when ternd closes a connection.
 */
#define _GNU_SOURCE
#include "hs_hostile.h"

#include "daemon_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static int remaining(uint64_t end)
{
	uint64_t now = dh_now_ms();

	return now >= end ? 0 : (int)(end - now);
}

/* A blocking TCP connection to 127.0.0.1:port; *local gets its source port. */
static int tcp_connect(uint16_t port, uint16_t *local)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	if (local != NULL)
		*local = ntohs(sa.sin_port);
	return fd;
}

static void set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

struct hs_conn *hs_open(struct hs_set *s, const char *name, uint16_t port, int bound_ms,
                        const char *reason)
{
	struct hs_conn *c;

	assert_true(s->n < HS_MAX);
	c = &s->c[s->n++];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->reason = reason;
	c->bound_ms = bound_ms;
	c->fd = tcp_connect(port, &c->local_port);
	set_nonblocking(c->fd);
	c->opened = dh_now_ms();
	return c;
}

static void mark_closed(struct hs_conn *c)
{
	if (c->closed_at == 0)
		c->closed_at = dh_now_ms();
}

/* Send up to len bytes now; a reset or a closed pipe counts as ternd's close. */
static size_t send_some(struct hs_conn *c, const uint8_t *p, size_t len)
{
	ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0)
		return (size_t)n;
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		mark_closed(c);
	return 0;
}

void hs_script(struct hs_conn *c, const void *bytes, size_t len, size_t burst, unsigned every_ms)
{
	assert_true(len <= sizeof(c->script));
	memcpy(c->script, bytes, len);
	c->script_len = len;
	c->every_ms = every_ms;
	c->sent = 0;
	if (every_ms == 0 || burst > len)
		burst = len;
	while (c->sent < burst && c->closed_at == 0) {
		size_t n = send_some(c, c->script + c->sent, burst - c->sent);

		assert_true(n > 0 || c->closed_at != 0); /* a few KiB fit a fresh socket */
		c->sent += n;
	}
	c->next_at = dh_now_ms() + every_ms;
}

/* Read and discard what ternd sent; EOF or an error is its close. */
static void drain(struct hs_conn *c)
{
	uint8_t buf[4096];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			c->received += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			mark_closed(c);
		return;
	}
}

static void trickle(struct hs_conn *c, uint64_t now)
{
	if (c->closed_at != 0 || c->sent >= c->script_len || now < c->next_at)
		return;
	c->sent += send_some(c, c->script + c->sent, 1);
	c->next_at = now + c->every_ms;
}

/* Milliseconds until the next byte is due on any open connection (at most cap). */
static int next_due(const struct hs_set *s, uint64_t now, int cap)
{
	int t = cap;

	for (size_t i = 0; i < s->n; i++) {
		const struct hs_conn *c = &s->c[i];

		if (c->closed_at != 0 || c->sent >= c->script_len)
			continue;
		if (c->next_at <= now)
			return 0;
		if (c->next_at - now < (uint64_t)t)
			t = (int)(c->next_at - now);
	}
	return t;
}

void hs_pump(struct hs_set *s, int ms)
{
	uint64_t end = dh_now_ms() + (uint64_t)ms;

	while (!hs_all_closed(s)) {
		struct pollfd p[HS_MAX];
		size_t idx[HS_MAX], n = 0;
		uint64_t now = dh_now_ms();

		for (size_t i = 0; i < s->n; i++)
			if (s->c[i].closed_at == 0) {
				p[n] = (struct pollfd){s->c[i].fd, POLLIN, 0};
				idx[n++] = i;
			}
		if (poll(p, n, next_due(s, now, remaining(end))) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		for (size_t k = 0; k < n; k++)
			if (p[k].revents != 0)
				drain(&s->c[idx[k]]);
		now = dh_now_ms();
		for (size_t i = 0; i < s->n; i++)
			trickle(&s->c[i], now);
		if (now >= end)
			return;
	}
}

bool hs_all_closed(const struct hs_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i].closed_at == 0)
			return false;
	return true;
}

void hs_release(struct hs_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i].fd >= 0) {
			close(s->c[i].fd);
			s->c[i].fd = -1;
		}
}

/* ------------------------------------------------------------------ TLS */

struct tls_client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rb, *wb; /* network bytes in, out */
};

static void tls_client_new(struct tls_client *t)
{
	t->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(t->ctx);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	t->ssl = SSL_new(t->ctx);
	t->rb = BIO_new(BIO_s_mem());
	t->wb = BIO_new(BIO_s_mem());
	assert_non_null(t->ssl);
	assert_true(t->rb != NULL && t->wb != NULL);
	SSL_set_bio(t->ssl, t->rb, t->wb); /* the SSL owns both now */
	SSL_set_connect_state(t->ssl);
}

static void tls_client_free(struct tls_client *t)
{
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
}

/* One handshake step; true when the client has finished its side. */
static bool tls_step(struct tls_client *t)
{
	int r = SSL_do_handshake(t->ssl);

	if (r == 1)
		return true;
	assert_int_equal(SSL_get_error(t->ssl, r), SSL_ERROR_WANT_READ);
	return false;
}

/* Take everything the client wrote; its length. */
static size_t tls_take(struct tls_client *t, uint8_t *buf, size_t cap)
{
	size_t n = (size_t)BIO_ctrl_pending(t->wb);

	assert_true(n <= cap);
	if (n > 0)
		assert_int_equal(BIO_read(t->wb, buf, (int)n), (int)n);
	return n;
}

size_t hs_client_hello(uint8_t *buf, size_t cap)
{
	struct tls_client t;
	size_t n;

	tls_client_new(&t);
	assert_false(tls_step(&t));
	n = tls_take(&t, buf, cap);
	assert_true(n > 5 && buf[0] == 0x16); /* a handshake record */
	tls_client_free(&t);
	return n;
}

/* Send all of buf on a non-blocking socket within a few seconds. */
static void send_all(struct hs_conn *c, const uint8_t *buf, size_t len)
{
	uint64_t end = dh_now_ms() + 3000;
	size_t off = 0;

	while (off < len && c->closed_at == 0 && remaining(end) > 0) {
		struct pollfd p = {c->fd, POLLOUT, 0};

		(void)poll(&p, 1, remaining(end));
		off += send_some(c, buf + off, len - off);
	}
	assert_int_equal(off, len);
}

/* Feed the server's bytes to the client until done() says stop; fails after 5 s. */
static void tls_await(struct hs_conn *c, struct tls_client *t, bool (*done)(struct tls_client *))
{
	uint64_t end = dh_now_ms() + 5000;
	uint8_t buf[16384];

	while (!done(t)) {
		struct pollfd p = {c->fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, remaining(end)) <= 0)
			fail_msg("%s: no server flight", c->name);
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			fail_msg("%s: ternd closed during the handshake", c->name);
		c->received += (size_t)n;
		assert_int_equal(BIO_write(t->rb, buf, (int)n), (int)n);
	}
}

/*
 * The client's last flight is ready: TLS 1.3 has finished the client side;
 * TLS 1.2 has its Finished waiting. (A TLS 1.3 client also writes a
 * ChangeCipherSpec record early, after the ServerHello: not the last flight.)
 */
static bool last_flight_ready(struct tls_client *t)
{
	return tls_step(t) ||
	       (SSL_version(t->ssl) == TLS1_2_VERSION && BIO_ctrl_pending(t->wb) > 0);
}

static bool client_done(struct tls_client *t)
{
	return tls_step(t);
}

/* A TLS client on c: send the ClientHello and wait for the server's flight. */
static void tls_to_last_flight(struct hs_conn *c, struct tls_client *t)
{
	uint8_t buf[4096];

	tls_client_new(t);
	assert_false(tls_step(t));
	send_all(c, buf, tls_take(t, buf, sizeof(buf))); /* the ClientHello */
	tls_await(c, t, last_flight_ready);
}

void hs_tls_stall(struct hs_conn *c, const void *instead, size_t len)
{
	struct tls_client t;
	uint8_t buf[4096];

	tls_to_last_flight(c, &t);
	(void)tls_take(&t, buf, sizeof(buf)); /* the client's last flight: never sent */
	tls_client_free(&t);
	if (len > 0)
		send_all(c, instead, len);
}

size_t hs_tls_records(struct hs_conn *c, const void *plain, size_t len, uint8_t *out, size_t cap)
{
	struct tls_client t;
	uint8_t buf[4096];
	size_t n = 0;

	tls_to_last_flight(c, &t);
	send_all(c, buf, tls_take(&t, buf, sizeof(buf)));
	tls_await(c, &t, client_done);
	for (size_t i = 0; i < len; i++) { /* one record per byte */
		assert_int_equal(SSL_write(t.ssl, (const uint8_t *)plain + i, 1), 1);
		n += tls_take(&t, out + n, cap - n);
	}
	tls_client_free(&t);
	return n;
}

/* ----------------------------------------------------------------- STUN */

size_t hs_binding_request(uint8_t *buf, size_t cap)
{
	uint8_t txid[TERN_STUN_TXID_LEN];
	struct tern_stun_builder b;
	size_t len = 0;

	assert_int_equal(getrandom(txid, sizeof(txid), 0), (ssize_t)sizeof(txid));
	assert_int_equal(tern_stun_build_start(&b, buf, cap,
	                                       tern_stun_type(TERN_STUN_BINDING, TERN_STUN_REQUEST),
	                                       txid),
	                 TERN_OK);
	assert_int_equal(tern_stun_add_fingerprint(&b), TERN_OK);
	assert_int_equal(tern_stun_build_finish(&b, &len), TERN_OK);
	return len;
}

/* Read one whole STUN message; 1 success, 0 closed, -1 anything else. */
static int read_binding_answer(int fd, int timeout_ms)
{
	uint64_t end = dh_now_ms() + (uint64_t)timeout_ms;
	uint8_t buf[1024];
	size_t have = 0, need = 0;

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		struct tern_stun_msg msg;
		ssize_t n;

		if (have >= 4 && tern_stream_frame_len(buf, have, &need) == TERN_OK && need <= have)
			return tern_stun_parse(buf, need, &msg) == TERN_OK &&
			               msg.cls == TERN_STUN_SUCCESS
			           ? 1
			           : -1;
		if (poll(&p, 1, remaining(end)) <= 0)
			fail_msg("no answer and no close within %d ms", timeout_ms);
		n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n <= 0)
			return 0; /* EOF or reset */
		have += (size_t)n;
	}
}

int hs_probe_binding(uint16_t port, int timeout_ms, int *fd_out)
{
	uint8_t req[128];
	size_t len = hs_binding_request(req, sizeof(req));
	int fd = tcp_connect(port, NULL), rc;

	/* a refused connection may be reset before or after this send */
	(void)send(fd, req, len, MSG_NOSIGNAL);
	rc = read_binding_answer(fd, timeout_ms);
	assert_true(rc >= 0);
	if (rc == 1 && fd_out != NULL)
		*fd_out = fd;
	else
		close(fd);
	return rc;
}

int hs_split_binding(uint16_t port, bool after_one, size_t first, int pause_ms, int timeout_ms)
{
	uint8_t req[128];
	size_t len = hs_binding_request(req, sizeof(req));
	int fd = tcp_connect(port, NULL), rc;

	assert_true(first < len);
	if (after_one) {
		assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
		assert_int_equal(read_binding_answer(fd, timeout_ms), 1);
	}
	assert_int_equal(send(fd, req, first, MSG_NOSIGNAL), (ssize_t)first);
	usleep((useconds_t)pause_ms * 1000u);
	(void)send(fd, req + first, len - first, MSG_NOSIGNAL); /* may meet a reset */
	rc = read_binding_answer(fd, timeout_ms);
	assert_true(rc >= 0);
	close(fd);
	return rc;
}

bool hs_wait_closed(int fd, int timeout_ms)
{
	uint64_t end = dh_now_ms() + (uint64_t)timeout_ms;
	uint8_t buf[4096];

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, remaining(end)) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

long hs_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib > 0);
	return kib;
}
