/*
 * daemon_client.c - a small STUN/TURN client for the daemon tests, over
 * UDP, TCP or TLS, that builds and parses every message with the codec;
 * and a UDP peer.
 */
#define _GNU_SOURCE
#include "daemon_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define RTO_FIRST_MS 100
#define RTO_MAX_MS   800
#define RTO_TRIES    6

/* ----------------------------------------------------------- addresses */

struct tern_addr dh_addr(const char *ip, uint16_t port)
{
	struct tern_addr a = {0};

	if (inet_pton(AF_INET, ip, a.addr) == 1)
		a.family = TERN_AF_IPV4;
	else if (inet_pton(AF_INET6, ip, a.addr) == 1)
		a.family = TERN_AF_IPV6;
	else
		fail_msg("bad address %s", ip);
	a.port = port;
	return a;
}

bool dh_addr_eq(const struct tern_addr *a, const struct tern_addr *b)
{
	size_t n = a->family == TERN_AF_IPV6 ? 16 : 4;

	return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, n) == 0;
}

static socklen_t to_sockaddr(const struct tern_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == TERN_AF_IPV6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->addr, 4);
	return sizeof(*s4);
}

static void from_sockaddr(const struct sockaddr_storage *ss, struct tern_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a->family = TERN_AF_IPV6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->addr, &s6->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->family = TERN_AF_IPV4;
		a->port = ntohs(s4->sin_port);
		memcpy(a->addr, &s4->sin_addr, 4);
	}
}

static int remaining(uint64_t end)
{
	uint64_t now = dh_now_ms();

	return now >= end ? 0 : (int)(end - now);
}

/* ---------------------------------------------------------- connection */

static bool tls_start(struct dh_client *c)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL)
		return false;
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL); /* self-signed test cert */
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return false;
	}
	return true;
}

const char *dh_source_ip;

const char *dh_loopback_source(unsigned i)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "127.0.0.%u", 2 + i % 250);
	return buf;
}

/* Bind to dh_source_ip when a test asked for one. */
static void bind_source(int fd)
{
	struct tern_addr src;
	struct sockaddr_storage ss;
	socklen_t len;

	if (dh_source_ip == NULL)
		return;
	src = dh_addr(dh_source_ip, 0);
	len = to_sockaddr(&src, &ss);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
}

struct dh_client *dh_connect(enum dh_transport t, const char *ip, uint16_t port)
{
	struct tern_addr to = dh_addr(ip, port);
	struct dh_client *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(&to, &ss);
	struct timeval tv = {3, 0}; /* a guard: every wait is bounded by poll() first */

	assert_non_null(c);
	c->t = t;
	c->fd = socket(ss.ss_family, (t == DH_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	bind_source(c->fd);
	if (connect(c->fd, (struct sockaddr *)&ss, len) != 0 || (t == DH_TLS && !tls_start(c))) {
		dh_close(c);
		return NULL;
	}
	len = sizeof(ss);
	assert_int_equal(getsockname(c->fd, (struct sockaddr *)&ss, &len), 0);
	from_sockaddr(&ss, &c->local);
	return c;
}

void dh_close(struct dh_client *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	close(c->fd);
	free(c);
}

void dh_send(struct dh_client *c, const void *buf, size_t len)
{
	if (c->ssl != NULL) {
		assert_int_equal(SSL_write(c->ssl, buf, (int)len), (int)len);
		return;
	}
	/* UDP: a refused earlier datagram may surface here as ECONNREFUSED once */
	for (int i = 0; i < 2; i++) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n == (ssize_t)len)
			return;
		if (!(n < 0 && errno == ECONNREFUSED && c->t == DH_UDP))
			fail_msg("send: %s", n < 0 ? strerror(errno) : "short");
	}
}

/* The next complete frame already buffered, if any. */
static long take_frame(struct dh_client *c, uint8_t *buf, size_t cap)
{
	size_t need = 0;

	if (c->in_len < 4)
		return DH_TIMEOUT;
	assert_int_equal(tern_stream_frame_len(c->in, c->in_len, &need), TERN_OK);
	assert_true(need <= sizeof(c->in));
	if (need > c->in_len)
		return DH_TIMEOUT;
	assert_true(need <= cap);
	memcpy(buf, c->in, need);
	memmove(c->in, c->in + need, c->in_len - need);
	c->in_len -= need;
	return (long)need;
}

/* Read more stream bytes; false on timeout. Fails the test on EOF. */
static bool read_stream(struct dh_client *c, int timeout_ms)
{
	struct pollfd p = {c->fd, POLLIN, 0};
	size_t room = sizeof(c->in) - c->in_len;
	long n;

	if (!(c->ssl != NULL && SSL_pending(c->ssl) > 0) && poll(&p, 1, timeout_ms) <= 0)
		return false;
	if (c->ssl != NULL) {
		n = SSL_read(c->ssl, c->in + c->in_len, (int)room);
		if (n <= 0 && SSL_get_error(c->ssl, (int)n) == SSL_ERROR_WANT_READ)
			return true;
	} else {
		n = recv(c->fd, c->in + c->in_len, room, 0);
	}
	if (n <= 0)
		fail_msg("connection closed by ternd");
	c->in_len += (size_t)n;
	return true;
}

long dh_recv(struct dh_client *c, uint8_t *buf, size_t cap, int timeout_ms)
{
	uint64_t end = dh_now_ms() + (uint64_t)timeout_ms;
	struct pollfd p = {c->fd, POLLIN, 0};

	if (c->t != DH_UDP) {
		long n;

		while ((n = take_frame(c, buf, cap)) == DH_TIMEOUT)
			if (!read_stream(c, remaining(end)))
				return DH_TIMEOUT;
		return n;
	}
	while (poll(&p, 1, remaining(end)) > 0) {
		ssize_t n = recv(c->fd, buf, cap, 0);

		if (n >= 0)
			return (long)n;
		if (errno != ECONNREFUSED && errno != EINTR)
			fail_msg("recv: %s", strerror(errno));
		if (remaining(end) == 0)
			break;
	}
	return DH_TIMEOUT;
}

/* ------------------------------------------------------------ messages */

static size_t build(struct dh_client *c, const struct dh_req *q, uint8_t *txid, uint8_t *buf)
{
	struct tern_stun_builder b;
	size_t len = 0;

	assert_int_equal(getrandom(txid, TERN_STUN_TXID_LEN, 0), TERN_STUN_TXID_LEN);
	assert_int_equal(tern_stun_build_start(&b, buf, DH_MSG_CAP,
	                                       tern_stun_type(q->method, TERN_STUN_REQUEST), txid),
	                 TERN_OK);
	if (q->method == TERN_TURN_ALLOCATE)
		tern_stun_add_u8(&b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	if (q->family != 0)
		tern_stun_add_u8(&b, TERN_ATTR_REQUESTED_ADDRESS_FAMILY, q->family);
	if (q->even_port_r)
		tern_stun_add_even_port(&b, true);
	if (q->token != 0)
		tern_stun_add_u64(&b, TERN_ATTR_RESERVATION_TOKEN, q->token);
	if (q->lifetime >= 0)
		tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, (uint32_t)q->lifetime);
	if (q->channel != 0)
		tern_stun_add_u16(&b, TERN_ATTR_CHANNEL_NUMBER, q->channel);
	if (q->peer != NULL)
		tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, q->peer);
	if (q->auth) {
		tern_stun_add_string(&b, TERN_ATTR_USERNAME, c->user, strlen(c->user));
		tern_stun_add_string(&b, TERN_ATTR_REALM, c->realm, strlen(c->realm));
		tern_stun_add_string(&b, TERN_ATTR_NONCE, c->nonce, c->nonce_len);
		tern_stun_add_integrity(&b, c->key, c->key_len);
	}
	tern_stun_add_fingerprint(&b);
	assert_int_equal(tern_stun_build_finish(&b, &len), TERN_OK);
	return len;
}

/* Parse r->buf; true when it is the answer to txid. Keeps realm, nonce and addresses. */
static bool accept_answer(struct dh_client *c, const uint8_t *txid, struct dh_resp *r)
{
	const struct tern_attr *a;
	const uint8_t *s;
	size_t n;

	if (r->len < TERN_STUN_HEADER_LEN || tern_demux(r->buf, r->len) != TERN_DEMUX_STUN ||
	    tern_stun_parse(r->buf, r->len, &r->msg) != TERN_OK ||
	    (r->msg.cls != TERN_STUN_SUCCESS && r->msg.cls != TERN_STUN_ERROR) ||
	    memcmp(r->msg.txid, txid, TERN_STUN_TXID_LEN) != 0)
		return false; /* Data indication, ChannelData, a late answer: not ours */
	assert_int_equal(tern_stun_check_fingerprint(&r->msg), TERN_OK);
	r->code = 0;
	if (r->msg.cls == TERN_STUN_ERROR) {
		struct tern_error_code ec;

		assert_non_null(a = tern_stun_find(&r->msg, TERN_ATTR_ERROR_CODE));
		assert_int_equal(tern_attr_get_error_code(a, &ec), TERN_OK);
		r->code = ec.code;
	}
	if ((a = tern_stun_find(&r->msg, TERN_ATTR_NONCE)) != NULL &&
	    tern_attr_get_string(a, &s, &n) == TERN_OK && n <= sizeof(c->nonce)) {
		memcpy(c->nonce, s, n);
		c->nonce_len = n;
		c->have_nonce = true;
	}
	if ((a = tern_stun_find(&r->msg, TERN_ATTR_REALM)) != NULL &&
	    tern_attr_get_string(a, &s, &n) == TERN_OK && n < sizeof(c->realm)) {
		memcpy(c->realm, s, n);
		c->realm[n] = '\0';
	}
	if ((a = tern_stun_find(&r->msg, TERN_ATTR_XOR_MAPPED_ADDRESS)) != NULL)
		assert_int_equal(tern_attr_get_xor_address(a, r->msg.txid, &c->mapped), TERN_OK);
	return true;
}

/* Send once (or, over UDP, with retransmissions) and wait for the answer. */
static int exchange(struct dh_client *c, const uint8_t *req, size_t len, const uint8_t *txid,
                    struct dh_resp *r)
{
	int rto = RTO_FIRST_MS;

	for (int i = 0; i < (c->t == DH_UDP ? RTO_TRIES : 1); i++) {
		uint64_t end = dh_now_ms() + (uint64_t)(c->t == DH_UDP ? rto : 3000);
		long n;

		dh_send(c, req, len);
		while ((n = dh_recv(c, r->buf, sizeof(r->buf), remaining(end))) != DH_TIMEOUT) {
			r->len = (size_t)n;
			if (accept_answer(c, txid, r))
				return r->code;
		}
		rto = rto * 2 > RTO_MAX_MS ? RTO_MAX_MS : rto * 2;
	}
	return DH_TIMEOUT;
}

int dh_transact(struct dh_client *c, const struct dh_req *q, struct dh_resp *r)
{
	uint8_t req[DH_MSG_CAP], txid[TERN_STUN_TXID_LEN];
	int rc = DH_TIMEOUT;

	/* one retry when the nonce went stale (438 carries a fresh one) */
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t len = build(c, q, txid, req);

		rc = exchange(c, req, len, txid, r);
		if (!(rc == 438 && q->auth))
			break;
	}
	if (rc == 0 && (q->method == TERN_TURN_ALLOCATE || q->method == TERN_TURN_REFRESH)) {
		const struct tern_attr *l = tern_stun_find(&r->msg, TERN_ATTR_LIFETIME);

		assert_non_null(l);
		assert_int_equal(tern_attr_get_u32(l, &c->lifetime), TERN_OK);
	}
	if (rc == 0 && q->method == TERN_TURN_ALLOCATE) {
		const struct tern_attr *a = tern_stun_find(&r->msg, TERN_ATTR_XOR_RELAYED_ADDRESS);
		const struct tern_attr *t = tern_stun_find(&r->msg, TERN_ATTR_RESERVATION_TOKEN);

		assert_non_null(a);
		assert_int_equal(tern_attr_get_xor_address(a, r->msg.txid, &c->relayed), TERN_OK);
		c->token = 0;
		if (t != NULL)
			assert_int_equal(tern_attr_get_u64(t, &c->token), TERN_OK);
	}
	return rc;
}

/* --------------------------------------------------------------- TURN */

int dh_binding(struct dh_client *c)
{
	struct dh_req q = {.method = TERN_STUN_BINDING, .lifetime = -1};
	struct dh_resp *r = malloc(sizeof(*r));
	int rc;

	assert_non_null(r);
	rc = dh_transact(c, &q, r);
	free(r);
	return rc;
}

int dh_allocate(struct dh_client *c, const char *user, const char *password, const struct dh_req *q)
{
	struct dh_req req = q != NULL ? *q : (struct dh_req){.lifetime = -1};
	struct dh_resp *r = malloc(sizeof(*r));
	int rc;

	assert_non_null(r);
	req.method = TERN_TURN_ALLOCATE;
	req.auth = false;
	rc = dh_transact(c, &req, r);
	if (rc == 401) {
		assert_true(c->have_nonce);
		assert_true(c->realm[0] != '\0');
		snprintf(c->user, sizeof(c->user), "%s", user);
		assert_int_equal(tern_stun_long_term_key(TERN_PWALG_MD5, user, strlen(user),
		                                         c->realm, strlen(c->realm), password,
		                                         strlen(password), c->key, &c->key_len),
		                 TERN_OK);
		req.auth = true;
		rc = dh_transact(c, &req, r);
	} else if (rc == 0) {
		fail_msg("an unauthenticated Allocate succeeded");
	}
	free(r);
	return rc;
}

static int simple(struct dh_client *c, const struct dh_req *q)
{
	struct dh_resp *r = malloc(sizeof(*r));
	int rc;

	assert_non_null(r);
	rc = dh_transact(c, q, r);
	free(r);
	return rc;
}

int dh_refresh(struct dh_client *c, long lifetime)
{
	struct dh_req q = {.method = TERN_TURN_REFRESH, .auth = true, .lifetime = lifetime};

	return simple(c, &q);
}

int dh_permit(struct dh_client *c, const struct tern_addr *peer)
{
	struct dh_req q = {
	    .method = TERN_TURN_CREATE_PERMISSION, .auth = true, .lifetime = -1, .peer = peer};

	return simple(c, &q);
}

int dh_channel_bind(struct dh_client *c, uint16_t channel, const struct tern_addr *peer)
{
	struct dh_req q = {.method = TERN_TURN_CHANNEL_BIND,
	                   .auth = true,
	                   .lifetime = -1,
	                   .peer = peer,
	                   .channel = channel};

	return simple(c, &q);
}

void dh_send_indication(struct dh_client *c, const struct tern_addr *peer, const void *data,
                        size_t len)
{
	uint8_t buf[DH_MSG_CAP], txid[TERN_STUN_TXID_LEN];
	struct tern_stun_builder b;
	size_t n = 0;

	assert_int_equal(getrandom(txid, sizeof(txid), 0), (ssize_t)sizeof(txid));
	assert_int_equal(tern_stun_build_start(&b, buf, sizeof(buf),
	                                       tern_stun_type(TERN_TURN_SEND, TERN_STUN_INDICATION),
	                                       txid),
	                 TERN_OK);
	tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, peer);
	tern_stun_add_raw(&b, TERN_ATTR_DATA, data, len);
	tern_stun_add_fingerprint(&b);
	assert_int_equal(tern_stun_build_finish(&b, &n), TERN_OK);
	dh_send(c, buf, n);
}

void dh_send_channel(struct dh_client *c, uint16_t channel, const void *data, size_t len)
{
	uint8_t buf[DH_MSG_CAP];
	size_t n = 0;

	assert_int_equal(
	    tern_channel_data_build(buf, sizeof(buf), channel, data, len, c->t != DH_UDP, &n),
	    TERN_OK);
	if (c->t != DH_UDP)
		assert_int_equal(n % 4, 0);
	dh_send(c, buf, n);
}

/* A Data indication's payload and peer; false if buf holds something else. */
static bool data_indication(const uint8_t *buf, size_t len, struct tern_addr *peer,
                            const uint8_t **data, size_t *n)
{
	struct tern_stun_msg msg;
	const struct tern_attr *a, *d;

	if (tern_stun_parse(buf, len, &msg) != TERN_OK || msg.method != TERN_TURN_DATA ||
	    msg.cls != TERN_STUN_INDICATION)
		return false;
	assert_non_null(a = tern_stun_find(&msg, TERN_ATTR_XOR_PEER_ADDRESS));
	assert_non_null(d = tern_stun_find(&msg, TERN_ATTR_DATA));
	assert_int_equal(tern_attr_get_xor_address(a, msg.txid, peer), TERN_OK);
	*data = d->value;
	*n = d->len;
	return true;
}

long dh_recv_data(struct dh_client *c, uint16_t *channel, struct tern_addr *peer, uint8_t *buf,
                  size_t cap, int timeout_ms)
{
	uint64_t end = dh_now_ms() + (uint64_t)timeout_ms;
	uint8_t in[DH_MSG_CAP];
	long n;

	while ((n = dh_recv(c, in, sizeof(in), remaining(end))) != DH_TIMEOUT) {
		struct tern_channel_data cd;
		const uint8_t *data;
		size_t len;

		if (tern_demux(in, (size_t)n) == TERN_DEMUX_CHANNEL_DATA) {
			assert_int_equal(
			    tern_channel_data_parse(in, (size_t)n, c->t != DH_UDP, &cd), TERN_OK);
			*channel = cd.channel;
			data = cd.data;
			len = cd.len;
		} else if (data_indication(in, (size_t)n, peer, &data, &len)) {
			*channel = 0;
		} else {
			continue;
		}
		assert_true(len <= cap);
		memcpy(buf, data, len);
		return (long)len;
	}
	return DH_TIMEOUT;
}

/* ---------------------------------------------------------------- peer */

int dh_peer_open(const char *ip, struct tern_addr *addr)
{
	struct tern_addr at = dh_addr(ip, 0);
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(&at, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	from_sockaddr(&ss, addr);
	return fd;
}

void dh_peer_send(int fd, const struct tern_addr *to, const void *data, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(to, &ss);

	assert_int_equal(sendto(fd, data, len, 0, (struct sockaddr *)&ss, sl), (ssize_t)len);
}

long dh_peer_recv(int fd, struct tern_addr *from, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return DH_TIMEOUT;
	n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&ss, &len);
	assert_true(n >= 0);
	if (from != NULL)
		from_sockaddr(&ss, from);
	return (long)n;
}
