/*
 * soak_flow.c - tern-soak's long-lived allocations: each has its own UDP
 * peer socket and one channel to it (RFC 8656 §11-§12), and carries a
 * sequence-numbered, checksummed stream both ways at a fixed rate. Every
 * packet is checked on arrival (length, header, CRC-32, the whole body
 * regenerated from its sequence number) and its order noted; what never
 * arrives is counted as lost at the end. The allocation and its channel
 * are refreshed well before they expire (RFC 8656 §8, §11.2).
 *
 * Stream payload (size bytes, size >= 24):
 *   0  magic "SOAK"       4  flow index (32 bits)   8  direction, 3 zero bytes
 *  12  sequence number (64 bits)                   20  CRC-32 of every other byte
 *  24  body: pseudo-random bytes derived from (flow, direction, sequence)
 */
#define _GNU_SOURCE
#include "soak.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define DIR_TO_PEER   0u
#define DIR_TO_CLIENT 1u
#define OP_REFRESH    1u
#define OP_BIND       2u
#define OP_DENY       4u
#define BURST_MAX     32u
#define LOOPBACK      0x7F000001u

enum flow_state { F_ALLOC, F_BIND, F_RUN, F_CLOSE, F_DONE, F_DEAD };

struct flow {
	struct soak_conn c;
	uint32_t idx;
	enum flow_state state;
	int peer_fd;
	struct tern_addr peer;
	uint16_t channel;
	unsigned ops; /* OP_* still to run */
	unsigned cur; /* the OP_* the transaction is for, 0 for setup/close */
	struct tern_addr deny_peer;
	double next_send; /* ms */
	uint64_t next_refresh;
	uint64_t sent[2], recv[2], expect[2];
};

struct soak_flows {
	size_t n;
	struct flow *f;
};

/* ------------------------------------------------------------- payload */

static void fill_body(uint8_t *p, size_t n, uint32_t flow, unsigned dir, uint64_t seq)
{
	uint64_t x =
	    seq * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)flow << 8 | dir) ^ 0xD1B54A32D192ED03ULL;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t payload_crc(const uint8_t *p, size_t n)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, p, 20);
	crc = crc32(crc, p + SOAK_HDR_LEN, (uInt)(n - SOAK_HDR_LEN));
	return (uint32_t)crc;
}

static void make_payload(uint8_t *p, size_t n, uint32_t flow, unsigned dir, uint64_t seq)
{
	memcpy(p, "SOAK", 4);
	put_be(p + 4, flow, 4);
	p[8] = (uint8_t)dir;
	memset(p + 9, 0, 3);
	put_be(p + 12, seq, 8);
	fill_body(p + SOAK_HDR_LEN, n - SOAK_HDR_LEN, flow, dir, seq);
	put_be(p + 20, payload_crc(p, n), 4);
}

/* Check one arrived packet of fl's stream in direction dir. */
static void verify(struct soak *s, struct flow *fl, unsigned dir, const uint8_t *p, size_t n)
{
	uint8_t want[SOAK_PKT_MAX];
	uint64_t seq;

	if (n != s->o.size || memcmp(p, "SOAK", 4) != 0 || get_be(p + 4, 4) != fl->idx ||
	    p[8] != dir || get_be(p + 20, 4) != payload_crc(p, n)) {
		s->st.corrupt++;
		soak_error(s, "flow %u: corrupt packet (%zu bytes) towards the %s", fl->idx, n,
		           dir == DIR_TO_PEER ? "peer" : "client");
		return;
	}
	seq = get_be(p + 12, 8);
	make_payload(want, n, fl->idx, dir, seq);
	if (seq >= fl->sent[dir] || memcmp(want, p, n) != 0) {
		s->st.corrupt++;
		soak_error(s, "flow %u: packet %llu does not match what was sent", fl->idx,
		           (unsigned long long)seq);
		return;
	}
	fl->recv[dir]++;
	s->st.received++;
	if (seq < fl->expect[dir]) {
		s->st.reordered++;
		soak_error(s, "flow %u: packet %llu arrived after %llu", fl->idx,
		           (unsigned long long)seq, (unsigned long long)fl->expect[dir] - 1);
		return;
	}
	fl->expect[dir] = seq + 1;
}

/* ---------------------------------------------------------------- setup */

struct soak_flows *soak_flows_new(struct soak *s)
{
	struct soak_flows *fs = calloc(1, sizeof(*fs));
	size_t n = s->o.udp_flows + s->o.tcp_flows;

	if (fs == NULL || (fs->f = calloc(n ? n : 1, sizeof(*fs->f))) == NULL) {
		free(fs);
		return NULL;
	}
	fs->n = n;
	for (size_t i = 0; i < n; i++) {
		struct flow *fl = &fs->f[i];
		bool tcp = i >= s->o.udp_flows;
		/* distinct client addresses spread the flows over ternd's workers */
		uint32_t src = 0x7F000101u + (uint32_t)(i % 8);
		struct soak_req q = {.method = TERN_TURN_ALLOCATE, .lifetime = -1};

		fl->idx = (uint32_t)i;
		fl->channel = (uint16_t)(TERN_CHANNEL_MIN + i);
		fl->peer_fd = soak_udp_socket(LOOPBACK);
		if (fl->peer_fd < 0 || !soak_conn_open(s, &fl->c, tcp, src)) {
			soak_error(s, "flow %zu: cannot open its sockets", i);
			fl->state = F_DEAD;
			continue;
		}
		fl->peer = soak_local(fl->peer_fd);
		soak_watch(s, fl->c.fd, SOAK_TAG(SOAK_TAG_FLOW_CLIENT, i));
		soak_watch(s, fl->peer_fd, SOAK_TAG(SOAK_TAG_FLOW_PEER, i));
		soak_tx_start(s, &fl->c, &q);
	}
	return fs;
}

void soak_flows_free(struct soak *s, struct soak_flows *fs)
{
	if (fs == NULL)
		return;
	for (size_t i = 0; i < fs->n; i++) {
		soak_conn_close(s, &fs->f[i].c);
		if (fs->f[i].peer_fd >= 0)
			close(fs->f[i].peer_fd);
	}
	free(fs->f);
	free(fs);
}

static void start_op(struct soak *s, struct flow *fl, unsigned op)
{
	struct soak_req q = {.lifetime = -1};

	fl->cur = op;
	fl->ops &= ~op;
	switch (op) {
	case OP_REFRESH:
		q.method = TERN_TURN_REFRESH;
		break;
	case OP_BIND:
		q.method = TERN_TURN_CHANNEL_BIND;
		q.channel = fl->channel;
		q.has_peer = true;
		q.peer = fl->peer;
		break;
	default:
		q.method = TERN_TURN_CREATE_PERMISSION;
		q.has_peer = true;
		q.peer = fl->deny_peer;
		break;
	}
	soak_tx_start(s, &fl->c, &q);
}

static void fail(struct soak *s, struct flow *fl, const char *what)
{
	if (fl->c.tx == SOAK_TX_ERROR && fl->c.code == 437 &&
	    (fl->cur == OP_REFRESH || fl->cur == OP_BIND)) {
		s->st.lost_allocs++;
		soak_error(s, "flow %u: allocation lost (437 to %s)", fl->idx, what);
	} else if (fl->c.tx == SOAK_TX_ERROR) {
		soak_error(s, "flow %u: %s answered %u", fl->idx, what, fl->c.code);
	} else {
		soak_error(s, "flow %u: %s timed out", fl->idx, what);
	}
	fl->state = F_DEAD;
}

/* The deny probe expects 403 (RFC 8656 §9.2: peer address not allowed). */
static void op_done(struct soak *s, struct flow *fl)
{
	unsigned op = fl->cur;

	if (op == OP_DENY) {
		fl->cur = 0;
		if (fl->c.tx == SOAK_TX_ERROR && fl->c.code == 403)
			s->st.denied_403++;
		else
			soak_error(s, "flow %u: CreatePermission to a denied peer got %s %u",
			           fl->idx, fl->c.tx == SOAK_TX_OK ? "success" : "code",
			           fl->c.code);
		return;
	}
	if (fl->c.tx != SOAK_TX_OK) {
		fail(s, fl, op == OP_REFRESH ? "Refresh" : "ChannelBind");
		return;
	}
	fl->cur = 0;
	if (op == OP_REFRESH)
		s->st.refreshes++;
	else
		s->st.binds++;
}

/* The transaction of fl finished: move on. */
static void tx_done(struct soak *s, struct flow *fl, uint64_t now)
{
	bool ok = fl->c.tx == SOAK_TX_OK;

	switch (fl->state) {
	case F_ALLOC:
		if (!ok || fl->c.relayed.family != TERN_AF_IPV4) {
			fail(s, fl, "Allocate");
			return;
		}
		fl->state = F_BIND;
		fl->cur = OP_BIND;
		start_op(s, fl, OP_BIND);
		return;
	case F_BIND:
		if (!ok) {
			fail(s, fl, "ChannelBind");
			return;
		}
		fl->cur = 0;
		fl->state = F_RUN;
		fl->next_send = (double)now;
		fl->next_refresh = now + (uint64_t)(s->o.refresh * 1000.0);
		if (fl->c.lifetime <= s->o.refresh)
			soak_error(s, "flow %u: lifetime %u s is not above the refresh period",
			           fl->idx, fl->c.lifetime);
		break;
	case F_RUN:
		op_done(s, fl);
		break;
	case F_CLOSE:
		/* 437 to a retransmitted Refresh 0: the first one was served */
		if (!ok && !(fl->c.tx == SOAK_TX_ERROR && fl->c.code == 437 && fl->c.tries > 1)) {
			fail(s, fl, "Refresh 0");
			return;
		}
		fl->state = F_DONE;
		break;
	case F_DONE:
	case F_DEAD:
		break;
	}
	fl->c.tx = SOAK_TX_IDLE;
}

/* --------------------------------------------------------------- traffic */

static void send_one(struct soak *s, struct flow *fl)
{
	uint8_t p[SOAK_PKT_MAX], cd[SOAK_PKT_MAX + 8];
	struct sockaddr_in to;
	size_t n;

	make_payload(p, s->o.size, fl->idx, DIR_TO_PEER, fl->sent[DIR_TO_PEER]);
	n = soak_channel_data(&fl->c, fl->channel, p, s->o.size, cd, sizeof(cd));
	if (n > 0 && soak_conn_send(s, &fl->c, cd, n)) {
		fl->sent[DIR_TO_PEER]++;
		s->st.sent++;
		s->st.to_peer++;
	}
	make_payload(p, s->o.size, fl->idx, DIR_TO_CLIENT, fl->sent[DIR_TO_CLIENT]);
	soak_to_sin(&fl->c.relayed, &to);
	if (sendto(fl->peer_fd, p, s->o.size, 0, (struct sockaddr *)&to, sizeof(to)) ==
	    (ssize_t)s->o.size) {
		fl->sent[DIR_TO_CLIENT]++;
		s->st.sent++;
		s->st.to_client++;
	} else {
		soak_error(s, "flow %u: peer send failed", fl->idx);
	}
}

static void flow_tick(struct soak *s, struct flow *fl, uint64_t now, bool stop)
{
	double gap = 1000.0 / s->o.rate;

	if (fl->c.tx == SOAK_TX_PENDING && soak_tx_timer(s, &fl->c, now) != SOAK_TX_PENDING)
		tx_done(s, fl, now);
	if (fl->state != F_RUN)
		return;
	for (unsigned i = 0; !stop && i < BURST_MAX && fl->next_send <= (double)now; i++) {
		send_one(s, fl);
		fl->next_send += gap;
	}
	if (fl->next_send + 1000.0 < (double)now)
		fl->next_send = (double)now; /* stalled for a second: do not burst */
	if (now >= fl->next_refresh) {
		fl->ops |= OP_REFRESH | OP_BIND;
		fl->next_refresh = now + (uint64_t)(s->o.refresh * 1000.0);
	}
	if (fl->c.tx != SOAK_TX_IDLE || fl->state != F_RUN)
		return;
	if (fl->ops & OP_REFRESH)
		start_op(s, fl, OP_REFRESH);
	else if (fl->ops & OP_BIND)
		start_op(s, fl, OP_BIND);
	else if (fl->ops & OP_DENY)
		start_op(s, fl, OP_DENY);
}

void soak_flows_tick(struct soak *s, struct soak_flows *fs, uint64_t now, bool stop)
{
	for (size_t i = 0; i < fs->n; i++)
		flow_tick(s, &fs->f[i], now, stop);
}

static void client_data(struct soak *s, void *owner, uint16_t channel, const uint8_t *data,
                        size_t len)
{
	struct flow *fl = owner;

	if (channel != fl->channel) {
		s->st.unexpected++;
		soak_error(s, "flow %u: %zu bytes on %s 0x%04x", fl->idx, len,
		           channel == 0 ? "a Data indication, channel" : "channel", channel);
		return;
	}
	verify(s, fl, DIR_TO_CLIENT, data, len);
}

static void peer_read(struct soak *s, struct flow *fl)
{
	uint8_t buf[SOAK_PKT_MAX + 64];
	struct sockaddr_in from;
	struct tern_addr fa;

	for (int i = 0; i < 64; i++) {
		socklen_t fl_len = sizeof(from);
		ssize_t n = recvfrom(fl->peer_fd, buf, sizeof(buf), MSG_DONTWAIT,
		                     (struct sockaddr *)&from, &fl_len);

		if (n < 0)
			break;
		soak_from_sin(&from, &fa);
		if (fl->state == F_DEAD)
			continue;
		if (fa.port != fl->c.relayed.port || memcmp(fa.addr, fl->c.relayed.addr, 4) != 0) {
			s->st.unexpected++;
			soak_error(s, "flow %u: peer got a datagram from another address", fl->idx);
			continue;
		}
		verify(s, fl, DIR_TO_PEER, buf, (size_t)n);
	}
}

void soak_flows_event(struct soak *s, struct soak_flows *fs, uint32_t idx, bool peer)
{
	struct flow *fl;

	if (idx >= fs->n)
		return;
	fl = &fs->f[idx];
	if (peer) {
		peer_read(s, fl);
		return;
	}
	if (!soak_conn_read(s, &fl->c, client_data, fl)) {
		soak_error(s, "flow %u: ternd closed the TCP connection", fl->idx);
		soak_conn_close(s, &fl->c);
		fl->state = F_DEAD;
		return;
	}
	if (fl->c.tx != SOAK_TX_PENDING && fl->c.tx != SOAK_TX_IDLE)
		tx_done(s, fl, soak_now_ms());
}

/* ------------------------------------------------------------- queries */

bool soak_flows_ready(const struct soak_flows *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		if (fs->f[i].state == F_ALLOC || fs->f[i].state == F_BIND)
			return false;
	}
	return true;
}

bool soak_flows_close(struct soak *s, struct soak_flows *fs, uint64_t now)
{
	bool all = true;

	for (size_t i = 0; i < fs->n; i++) {
		struct flow *fl = &fs->f[i];
		struct soak_req q = {.method = TERN_TURN_REFRESH, .lifetime = 0};

		flow_tick(s, fl, now, true);
		if (fl->state == F_RUN && fl->c.tx == SOAK_TX_IDLE) {
			fl->state = F_CLOSE;
			soak_tx_start(s, &fl->c, &q);
		}
		if (fl->state != F_DONE && fl->state != F_DEAD)
			all = false;
	}
	return all;
}

void soak_flows_account(struct soak *s, struct soak_flows *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		struct flow *fl = &fs->f[i];

		for (unsigned d = 0; d < 2; d++) {
			if (fl->recv[d] < fl->sent[d]) {
				s->st.lost += fl->sent[d] - fl->recv[d];
				soak_error(s, "flow %u: %llu of %llu packets towards the %s lost",
				           fl->idx, (unsigned long long)(fl->sent[d] - fl->recv[d]),
				           (unsigned long long)fl->sent[d], d ? "client" : "peer");
			} else if (fl->recv[d] > fl->sent[d]) {
				s->st.duplicated += fl->recv[d] - fl->sent[d];
				soak_error(s, "flow %u: duplicated packets", fl->idx);
			}
		}
	}
}

bool soak_flows_pick(struct soak *s, struct soak_flows *fs, int *fd, struct tern_addr *relayed)
{
	struct flow *fl;

	if (fs->n == 0 || s->o.udp_flows == 0)
		return false;
	fl = &fs->f[soak_rand(s) % s->o.udp_flows];
	if (fl->state != F_RUN || fl->c.tcp)
		return false;
	*fd = fl->c.fd;
	*relayed = fl->c.relayed;
	return true;
}

void soak_flows_deny_probe(struct soak *s, struct soak_flows *fs, const struct tern_addr *peer)
{
	struct flow *fl;

	if (fs->n == 0)
		return;
	fl = &fs->f[soak_rand(s) % fs->n];
	if (fl->state != F_RUN || (fl->ops & OP_DENY) || fl->cur == OP_DENY)
		return;
	fl->deny_peer = *peer;
	fl->ops |= OP_DENY;
}
