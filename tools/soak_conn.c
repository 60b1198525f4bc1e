/*
 * soak_conn.c - tern-soak's client connections: sockets over loopback, one
 * outstanding STUN/TURN transaction per connection with long-term
 * credentials (RFC 8489 §9.2: 401 or 438 give the realm and nonce, the
 * request is sent again with MESSAGE-INTEGRITY), retransmission over UDP
 * (RFC 8489 §6.2.1), and reading datagrams or reframing a TCP stream
 * (RFC 8656 §12.5).
 */
#define _GNU_SOURCE
#include "soak.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRIES      7u
#define MAX_CHALLENGES 3u
#define TCP_WAIT_MS    10000u
#define SHOWN_ERRORS   50u

uint64_t soak_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t soak_rand(struct soak *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1DULL;
}

void soak_error(struct soak *s, const char *fmt, ...)
{
	va_list ap;

	s->st.errors++;
	if (s->printed_errors++ >= SHOWN_ERRORS)
		return;
	fputs("tern-soak: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ----------------------------------------------------------- addresses */

void soak_to_sin(const struct tern_addr *a, struct sockaddr_in *s)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_port = htons(a->port);
	memcpy(&s->sin_addr, a->addr, 4);
}

void soak_from_sin(const struct sockaddr_in *s, struct tern_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = TERN_AF_IPV4;
	a->port = ntohs(s->sin_port);
	memcpy(a->addr, &s->sin_addr, 4);
}

struct tern_addr soak_ipv4(uint32_t ip_host, uint16_t port)
{
	struct tern_addr a = {0};
	uint32_t be = htonl(ip_host);

	a.family = TERN_AF_IPV4;
	a.port = port;
	memcpy(a.addr, &be, 4);
	return a;
}

struct tern_addr soak_local(int fd)
{
	struct sockaddr_in sin = {0};
	socklen_t len = sizeof(sin);
	struct tern_addr a = {0};

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		soak_from_sin(&sin, &a);
	return a;
}

static int bound_socket(int type, uint32_t ip_host)
{
	struct tern_addr at = soak_ipv4(ip_host, 0);
	struct sockaddr_in sin;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	int buf = 1 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	soak_to_sin(&at, &sin);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int soak_udp_socket(uint32_t ip_host)
{
	return bound_socket(SOCK_DGRAM | SOCK_NONBLOCK, ip_host);
}

void soak_watch(struct soak *s, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		soak_error(s, "epoll_ctl: %s", strerror(errno));
}

/* ---------------------------------------------------------- connection */

bool soak_conn_open(struct soak *s, struct soak_conn *c, bool tcp, uint32_t ip_host)
{
	struct timeval tv = {1, 0};

	memset(c, 0, offsetof(struct soak_conn, in));
	c->tcp = tcp;
	c->fd = tcp ? bound_socket(SOCK_STREAM, ip_host) : soak_udp_socket(ip_host);
	if (c->fd < 0)
		return false;
	/* TCP stays blocking for connect and send (bounded by the timeout); reads use MSG_DONTWAIT */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (const struct sockaddr *)&s->o.server, sizeof(s->o.server)) != 0) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

void soak_conn_close(struct soak *s, struct soak_conn *c)
{
	(void)s;
	if (c->fd >= 0)
		close(c->fd); /* closing removes it from the epoll set */
	c->fd = -1;
	c->tx = SOAK_TX_IDLE;
}

bool soak_conn_send(struct soak *s, struct soak_conn *c, const uint8_t *buf, size_t len)
{
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

	/* a peer's ICMP unreachable from long ago may surface once as ECONNREFUSED */
	if (n < 0 && errno == ECONNREFUSED && !c->tcp)
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return true;
	soak_error(s, "send on %s connection: %s", c->tcp ? "TCP" : "UDP",
	           n < 0 ? strerror(errno) : "short write");
	return false;
}

size_t soak_channel_data(const struct soak_conn *c, uint16_t channel, const uint8_t *data,
                         size_t len, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	if (tern_channel_data_build(buf, cap, channel, data, len, c->tcp, &n) != TERN_OK)
		return 0;
	return n;
}

/* --------------------------------------------------------- transaction */

static void new_txid(struct soak *s, struct soak_conn *c)
{
	uint64_t v = ++s->txseq;

	memcpy(c->txid, "soak", 4);
	memcpy(c->txid + 4, &v, 8);
}

static size_t build(struct soak *s, const struct soak_conn *c, uint8_t *buf, size_t cap)
{
	const struct soak_req *q = &c->req;
	struct tern_stun_builder b;
	size_t len = 0;

	if (tern_stun_build_start(&b, buf, cap, tern_stun_type(q->method, TERN_STUN_REQUEST),
	                          c->txid) != TERN_OK)
		return 0;
	if (q->method == TERN_TURN_ALLOCATE)
		tern_stun_add_u8(&b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	if (q->lifetime >= 0)
		tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, (uint32_t)q->lifetime);
	if (q->channel != 0)
		tern_stun_add_u16(&b, TERN_ATTR_CHANNEL_NUMBER, q->channel);
	if (q->has_peer)
		tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, &q->peer);
	if (c->nonce_len > 0 && s->have_key) {
		tern_stun_add_string(&b, TERN_ATTR_USERNAME, s->o.user, strlen(s->o.user));
		tern_stun_add_string(&b, TERN_ATTR_REALM, s->realm, s->realm_len);
		tern_stun_add_string(&b, TERN_ATTR_NONCE, c->nonce, c->nonce_len);
		tern_stun_add_integrity(&b, s->key, sizeof(s->key));
	}
	tern_stun_add_fingerprint(&b);
	if (tern_stun_build_finish(&b, &len) != TERN_OK)
		return 0;
	return len;
}

static void transmit(struct soak *s, struct soak_conn *c, uint64_t now)
{
	uint8_t buf[SOAK_REQ_MAX];
	size_t len = build(s, c, buf, sizeof(buf));
	uint64_t rto = (uint64_t)(s->o.rto * 1000.0);

	if (len == 0) {
		soak_error(s, "cannot build a %s request", tern_stun_method_name(c->req.method));
		c->tx = SOAK_TX_TIMEOUT;
		return;
	}
	if (c->tries > 0)
		s->st.retransmits++;
	s->st.requests++;
	(void)soak_conn_send(s, c, buf, len);
	c->due_ms = now + (c->tcp ? TCP_WAIT_MS : rto << (c->tries < 4 ? c->tries : 4));
	c->tries++;
}

void soak_tx_start(struct soak *s, struct soak_conn *c, const struct soak_req *q)
{
	c->req = *q;
	c->tx = SOAK_TX_PENDING;
	c->tries = 0;
	c->challenges = 0;
	c->code = 0;
	new_txid(s, c);
	transmit(s, c, soak_now_ms());
}

enum soak_tx soak_tx_timer(struct soak *s, struct soak_conn *c, uint64_t now)
{
	if (c->tx != SOAK_TX_PENDING || now < c->due_ms)
		return c->tx;
	if (c->tcp || c->tries >= MAX_TRIES)
		c->tx = SOAK_TX_TIMEOUT;
	else
		transmit(s, c, now);
	return c->tx;
}

/* Learn realm (and so the key) and nonce from a 401/438. */
static bool take_challenge(struct soak *s, struct soak_conn *c, const struct tern_stun_msg *m)
{
	const struct tern_attr *realm = tern_stun_find(m, TERN_ATTR_REALM);
	const struct tern_attr *nonce = tern_stun_find(m, TERN_ATTR_NONCE);
	size_t klen = 0;

	if (nonce == NULL || nonce->len == 0 || nonce->len > SOAK_NONCE_MAX)
		return false;
	if (!s->have_key) {
		if (realm == NULL || realm->len >= SOAK_REALM_MAX)
			return false;
		memcpy(s->realm, realm->value, realm->len);
		s->realm_len = (uint8_t)realm->len;
		if (tern_stun_long_term_key(TERN_PWALG_MD5, s->o.user, strlen(s->o.user), s->realm,
		                            s->realm_len, s->o.pass, strlen(s->o.pass), s->key,
		                            &klen) != TERN_OK ||
		    klen != sizeof(s->key))
			return false;
		s->have_key = true;
	}
	c->nonce_len = (uint8_t)nonce->len;
	memcpy(c->nonce, nonce->value, nonce->len);
	return true;
}

static void take_success(struct soak_conn *c, const struct tern_stun_msg *m)
{
	const struct tern_attr *a = tern_stun_find(m, TERN_ATTR_XOR_RELAYED_ADDRESS);
	const struct tern_attr *l = tern_stun_find(m, TERN_ATTR_LIFETIME);
	uint32_t v;

	if (a != NULL && tern_attr_get_xor_address(a, m->txid, &c->relayed) != TERN_OK)
		c->relayed.family = 0;
	if (l != NULL && tern_attr_get_u32(l, &v) == TERN_OK)
		c->lifetime = v;
	c->tx = SOAK_TX_OK;
}

static void stun_input(struct soak *s, struct soak_conn *c, const uint8_t *buf, size_t len)
{
	struct tern_stun_msg m;
	const struct tern_attr *ec;
	struct tern_error_code e = {0};

	if (tern_stun_parse(buf, len, &m) != TERN_OK || c->tx != SOAK_TX_PENDING ||
	    memcmp(m.txid, c->txid, TERN_STUN_TXID_LEN) != 0 || m.method != c->req.method)
		return; /* a late answer to an earlier try */
	if (tern_stun_check_fingerprint(&m) != TERN_OK) {
		soak_error(s, "%s answer without a valid FINGERPRINT",
		           tern_stun_method_name(m.method));
		return;
	}
	if (m.cls == TERN_STUN_SUCCESS) {
		take_success(c, &m);
		return;
	}
	if (m.cls != TERN_STUN_ERROR)
		return;
	ec = tern_stun_find(&m, TERN_ATTR_ERROR_CODE);
	if (ec == NULL || tern_attr_get_error_code(ec, &e) != TERN_OK)
		e.code = 0;
	if ((e.code == 401 || e.code == 438) && c->challenges < MAX_CHALLENGES &&
	    take_challenge(s, c, &m)) {
		s->st.challenges++;
		c->challenges++;
		c->tries = 0;
		new_txid(s, c);
		transmit(s, c, soak_now_ms());
		return;
	}
	c->code = e.code;
	c->tx = SOAK_TX_ERROR;
}

/* A Data indication's payload, or false. */
static bool data_indication(const uint8_t *buf, size_t len, const uint8_t **data, size_t *n)
{
	struct tern_stun_msg m;
	const struct tern_attr *d;

	if (tern_stun_parse(buf, len, &m) != TERN_OK || m.method != TERN_TURN_DATA ||
	    m.cls != TERN_STUN_INDICATION || (d = tern_stun_find(&m, TERN_ATTR_DATA)) == NULL)
		return false;
	*data = d->value;
	*n = d->len;
	return true;
}

static void frame_input(struct soak *s, struct soak_conn *c, const uint8_t *buf, size_t len,
                        soak_data_fn *on_data, void *owner)
{
	struct tern_channel_data cd;
	const uint8_t *data;
	size_t n;

	switch (tern_demux(buf, len)) {
	case TERN_DEMUX_CHANNEL_DATA:
		if (tern_channel_data_parse(buf, len, c->tcp, &cd) == TERN_OK)
			on_data(s, owner, cd.channel, cd.data, cd.len);
		else
			soak_error(s, "malformed ChannelData from ternd (%zu bytes)", len);
		return;
	case TERN_DEMUX_STUN:
		if (data_indication(buf, len, &data, &n))
			on_data(s, owner, 0, data, n);
		else
			stun_input(s, c, buf, len);
		return;
	case TERN_DEMUX_ZRTP:
	case TERN_DEMUX_DTLS:
	case TERN_DEMUX_RTP:
	case TERN_DEMUX_OTHER:
		break;
	}
	soak_error(s, "ternd sent a datagram that is neither STUN nor ChannelData");
}

static bool read_stream(struct soak *s, struct soak_conn *c, soak_data_fn *on_data, void *owner)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	size_t need = 0, at = 0;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (n < 0)
		return true;
	c->in_len += (size_t)n;
	while (c->in_len - at >= 4) {
		if (tern_stream_frame_len(c->in + at, c->in_len - at, &need) != TERN_OK ||
		    need > sizeof(c->in))
			return false;
		if (need > c->in_len - at)
			break;
		frame_input(s, c, c->in + at, need, on_data, owner);
		at += need;
	}
	memmove(c->in, c->in + at, c->in_len - at);
	c->in_len -= at;
	return true;
}

bool soak_conn_read(struct soak *s, struct soak_conn *c, soak_data_fn *on_data, void *owner)
{
	uint8_t buf[SOAK_PKT_MAX + 64];

	if (c->fd < 0)
		return true;
	if (c->tcp)
		return read_stream(s, c, on_data, owner);
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			break;
		frame_input(s, c, buf, (size_t)n, on_data, owner);
	}
	return true;
}
