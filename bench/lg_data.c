/*
 * lg_data.c - tern-loadgen's data phase: packets from client sockets
 * through the server under test and back, timestamped in the payload.
 *
 *   relay:   client --ChannelData/Send--> server --raw--> peer socket
 *            peer socket echoes --raw--> server --ChannelData/Data--> client
 *   echo:    client --raw--> tern-echo --raw--> client
 *   binding: client --Binding request--> server --success--> client
 *
 * Either a window of round trips in flight per flow (saturating) or an
 * offered rate (open loop). Batched with recvmmsg/sendmmsg, or with UDP GSO
 * (UDP_SEGMENT) sends and UDP GRO receives when asked.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <inttypes.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define STAMP_MAGIC 0x7465726eu /* "tern" */
#define GRO_BATCH   8u
#define GSO_BYTES   65000u
#define STALL_NS    200000000u

struct flow {
	int cfd, pfd;
	struct sockaddr_in dst; /* where the client side sends */
	uint32_t out;           /* round trips in flight (window mode) */
	uint64_t last;          /* last send or receive, ns */
	size_t hdr;             /* bytes before the stamp */
	size_t len;             /* datagram length */
	uint8_t tmpl[LG_PKT_MAX];
};

struct data {
	const struct lg_opts *o;
	struct flow *f;
	unsigned n;     /* active flows */
	unsigned per;   /* window per flow */
	bool measuring; /* inside the measured window: record latency */
	bool sending;
	int ep;
	uint64_t sent, rx_peer, rx_client, stalls, send_fail, rx_bad;
	uint64_t rx_dgrams, rx_segs; /* client side: datagrams and what they held */
	struct lg_hist hist;
	uint8_t *tx, *rx;
	struct mmsghdr msgs[LG_BATCH];
	struct iovec iov[LG_BATCH];
	struct sockaddr_in names[LG_BATCH];
	uint8_t ctl[LG_BATCH][CMSG_SPACE(sizeof(uint16_t))];
};

/* ---------------------------------------------------------- templates */

static int make_template(const struct lg_opts *o, struct flow *f, const struct tern_addr *peer)
{
	uint8_t txid[TERN_STUN_TXID_LEN] = {0x74, 0x65, 0x72, 0x6e};
	struct tern_stun_builder b;
	uint8_t *value = NULL;

	memset(f->tmpl, 0, sizeof(f->tmpl));
	switch (o->kind) {
	case LG_KIND_CHANNEL:
		tern_channel_data_header(f->tmpl, o->chan_base, (uint16_t)o->size);
		f->hdr = TERN_CHANNEL_HEADER_LEN;
		f->len = f->hdr + o->size;
		return 0;
	case LG_KIND_RAW:
		f->hdr = 0;
		f->len = o->size;
		return 0;
	case LG_KIND_BINDING: /* the stamp rides in the transaction id */
		if (tern_stun_build_start(&b, f->tmpl, sizeof(f->tmpl),
		                          tern_stun_type(TERN_STUN_BINDING, TERN_STUN_REQUEST),
		                          txid) != TERN_OK ||
		    tern_stun_build_finish(&b, &f->len) != TERN_OK)
			return -1;
		f->hdr = 8;
		return 0;
	case LG_KIND_INDICATION:
		if (tern_stun_build_start(&b, f->tmpl, sizeof(f->tmpl),
		                          tern_stun_type(TERN_TURN_SEND, TERN_STUN_INDICATION),
		                          txid) != TERN_OK)
			return -1;
		tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, peer);
		tern_stun_add_reserve(&b, TERN_ATTR_DATA, o->size, &value);
		if (tern_stun_build_finish(&b, &f->len) != TERN_OK || value == NULL)
			return -1;
		f->hdr = (size_t)(value - f->tmpl);
		return 0;
	}
	return -1;
}

static void put_stamp(uint8_t *p, uint64_t now, uint32_t flow, bool magic)
{
	uint32_t m = STAMP_MAGIC;

	memcpy(p, &now, 8);
	memcpy(p + 8, &flow, 4);
	if (magic)
		memcpy(p + 12, &m, 4);
}

/* ------------------------------------------------------------- sending */

static void set_segment(struct msghdr *h, uint8_t *ctl, uint16_t seg)
{
	struct cmsghdr *c;

	h->msg_control = ctl;
	h->msg_controllen = CMSG_SPACE(sizeof(seg));
	c = CMSG_FIRSTHDR(h);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

/* k datagrams from flow i's client socket, as one GSO send or one sendmmsg. */
static unsigned send_burst(struct data *d, unsigned i, unsigned k, uint64_t now)
{
	struct flow *f = &d->f[i];
	bool gso = d->o->gso && k > 1;
	unsigned cap = gso ? (unsigned)(GSO_BYTES / f->len) : LG_BATCH;
	int r;

	if (k > cap)
		k = cap;
	if (k > LG_BATCH)
		k = LG_BATCH;
	for (unsigned j = 0; j < k; j++) {
		uint8_t *p = d->tx + (gso ? j * f->len : j * LG_PKT_MAX);

		memcpy(p, f->tmpl, f->len);
		put_stamp(p + f->hdr, now, i, d->o->kind != LG_KIND_BINDING);
		d->iov[j] = (struct iovec){p, f->len};
		memset(&d->msgs[j], 0, sizeof(d->msgs[j]));
		d->msgs[j].msg_hdr.msg_name = &f->dst;
		d->msgs[j].msg_hdr.msg_namelen = sizeof(f->dst);
		d->msgs[j].msg_hdr.msg_iov = &d->iov[j];
		d->msgs[j].msg_hdr.msg_iovlen = 1;
	}
	if (gso) {
		d->iov[0].iov_len = k * f->len;
		set_segment(&d->msgs[0].msg_hdr, d->ctl[0], (uint16_t)f->len);
		r = sendmsg(f->cfd, &d->msgs[0].msg_hdr, 0) > 0 ? (int)k : -1;
	} else {
		r = sendmmsg(f->cfd, d->msgs, k, 0);
	}
	if (r <= 0) {
		d->send_fail += k;
		return 0;
	}
	d->sent += (unsigned)r;
	f->last = now;
	return (unsigned)r;
}

static void refill(struct data *d, unsigned i, uint64_t now)
{
	struct flow *f = &d->f[i];

	while (d->sending && f->out < d->per) {
		unsigned got = send_burst(d, i, d->per - f->out, now);

		if (got == 0)
			break;
		f->out += got;
	}
}

/* ----------------------------------------------------------- receiving */

/* Prepare d->msgs for a receive: LG_BATCH small or GRO_BATCH large buffers. */
static unsigned prep_recv(struct data *d, bool gro)
{
	unsigned n = gro ? GRO_BATCH : LG_BATCH;
	size_t sz = gro ? LG_GRO_MAX : LG_PKT_MAX;

	for (unsigned j = 0; j < n; j++) {
		struct msghdr *h = &d->msgs[j].msg_hdr;

		d->iov[j] = (struct iovec){d->rx + j * sz, sz};
		memset(h, 0, sizeof(*h));
		h->msg_name = &d->names[j];
		h->msg_namelen = sizeof(d->names[j]);
		h->msg_iov = &d->iov[j];
		h->msg_iovlen = 1;
		if (gro) {
			h->msg_control = d->ctl[j];
			h->msg_controllen = sizeof(d->ctl[j]);
		}
	}
	return n;
}

/* Segment size of a GRO receive (the whole length when not coalesced). */
static size_t seg_of(struct msghdr *h, size_t len)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int seg = 0;

			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
			if (seg > 0)
				return (size_t)seg;
		}
	}
	return len;
}

/* The stamp inside one datagram the client side received; NULL if not ours. */
static const uint8_t *stamp_of(const struct data *d, const uint8_t *p, size_t len)
{
	struct tern_stun_msg m;
	const struct tern_attr *a;

	switch (d->o->kind) {
	case LG_KIND_CHANNEL:
		return len >= TERN_CHANNEL_HEADER_LEN + LG_STAMP_LEN && (p[0] & 0xC0) == 0x40
		           ? p + TERN_CHANNEL_HEADER_LEN
		           : NULL;
	case LG_KIND_RAW:
		return len >= LG_STAMP_LEN ? p : NULL;
	case LG_KIND_BINDING:
		return len >= TERN_STUN_HEADER_LEN && p[0] == 0x01 && p[1] == 0x01 ? p + 8 : NULL;
	case LG_KIND_INDICATION:
		if (tern_stun_parse(p, len, &m) != TERN_OK || m.method != TERN_TURN_DATA ||
		    (a = tern_stun_find(&m, TERN_ATTR_DATA)) == NULL || a->len < LG_STAMP_LEN)
			return NULL;
		return a->value;
	}
	return NULL;
}

static void client_rx(struct data *d, const uint8_t *p, size_t len, uint64_t now)
{
	const uint8_t *s = stamp_of(d, p, len);
	uint64_t ts;
	uint32_t magic;

	if (s == NULL) {
		d->rx_bad++;
		return;
	}
	memcpy(&ts, s, 8);
	memcpy(&magic, s + 12, 4);
	if (d->o->kind != LG_KIND_BINDING && magic != STAMP_MAGIC) {
		d->rx_bad++;
		return;
	}
	d->rx_client++;
	if (d->measuring && now >= ts)
		lg_hist_add(&d->hist, now - ts);
}

/* Datagrams on flow i's client socket; returns the round trips completed. */
static unsigned recv_client(struct data *d, unsigned i)
{
	bool gro = d->o->gso;
	unsigned n = prep_recv(d, gro);
	int r = recvmmsg(d->f[i].cfd, d->msgs, n, MSG_DONTWAIT, NULL);
	uint64_t now = lg_now_ns(), before = d->rx_client;

	for (int j = 0; j < r; j++) {
		size_t len = d->msgs[j].msg_len;
		size_t seg = gro ? seg_of(&d->msgs[j].msg_hdr, len) : len;
		const uint8_t *p = d->iov[j].iov_base;

		d->rx_dgrams++;
		for (size_t off = 0; off < len; off += seg) {
			client_rx(d, p + off, len - off < seg ? len - off : seg, now);
			d->rx_segs++;
		}
	}
	if (r > 0)
		d->f[i].last = now;
	return (unsigned)(d->rx_client - before);
}

/* The peer side: echo whatever the server relayed back to where it came from. */
static void recv_peer(struct data *d, unsigned i)
{
	bool gro = d->o->gso;
	unsigned n = prep_recv(d, gro);
	int fd = d->f[i].pfd;
	int r = recvmmsg(fd, d->msgs, n, MSG_DONTWAIT, NULL);

	for (int j = 0; j < r; j++) {
		struct msghdr *h = &d->msgs[j].msg_hdr;
		size_t len = d->msgs[j].msg_len;
		size_t seg = gro ? seg_of(h, len) : len;

		d->rx_peer += (len + seg - 1) / seg;
		d->iov[j].iov_len = len;
		h->msg_control = NULL;
		h->msg_controllen = 0;
		if (gro && seg < len) {
			set_segment(h, d->ctl[j], (uint16_t)seg);
			if (sendmsg(fd, h, 0) < 0)
				d->send_fail++;
		} else if (gro && sendmsg(fd, h, 0) < 0) {
			d->send_fail++;
		}
	}
	if (!gro && r > 0 && sendmmsg(fd, d->msgs, (unsigned)r, 0) < r)
		d->send_fail++;
}

/* ------------------------------------------------------------- the loop */

static void on_event(struct data *d, uint32_t tag, uint64_t now)
{
	unsigned i = tag >> 1;
	unsigned done;

	if (i >= d->n)
		return;
	if (tag & 1u) {
		recv_peer(d, i);
		return;
	}
	done = recv_client(d, i);
	if (d->o->rate > 0)
		return;
	d->f[i].out = done > d->f[i].out ? 0 : d->f[i].out - done;
	refill(d, i, now);
}

/* Window mode: a flow silent for STALL_NS lost its packets; start it again. */
static void unstall(struct data *d, uint64_t now)
{
	for (unsigned i = 0; i < d->n; i++) {
		struct flow *f = &d->f[i];

		if (f->out > 0 && now - f->last > STALL_NS) {
			d->stalls++;
			f->out = 0;
			refill(d, i, now);
		}
	}
}

/* Open loop: send what the offered rate says is due, round robin. */
static void pace(struct data *d, uint64_t t0, uint64_t now, unsigned *rr)
{
	bool relay = d->o->kind == LG_KIND_CHANNEL || d->o->kind == LG_KIND_INDICATION;
	double per_s = relay ? d->o->rate / 2 : d->o->rate;
	double due = per_s * (double)(now - t0) / 1e9 - (double)(d->sent + d->send_fail);

	for (unsigned guard = 0; due >= 1 && guard < d->n * 4u; guard++) {
		unsigned k = (unsigned)(due / d->n) + 1u;

		if (k > 16)
			k = 16;
		if (k > due)
			k = (unsigned)due;
		(void)send_burst(d, *rr, k, now);
		due -= k;
		*rr = (*rr + 1) % d->n;
	}
}

struct marks {
	struct lg_stat a, b;
	uint64_t peer0, client0, peer1, client1;
};

static void run_loop(struct data *d, struct marks *mk)
{
	const struct lg_opts *o = d->o;
	struct epoll_event ev[512];
	uint64_t t0 = lg_now_ns(), last_check = t0;
	uint64_t meas_start = t0 + (uint64_t)(o->warmup * 1e9);
	uint64_t meas_end = meas_start + (uint64_t)(o->duration * 1e9);
	unsigned rr = 0;

	d->sending = true;
	if (o->rate <= 0)
		for (unsigned i = 0; i < d->n; i++)
			refill(d, i, t0);
	for (;;) {
		uint64_t now = lg_now_ns();

		if (!d->measuring && d->sending && now >= meas_start) {
			lg_stat_take(o, &mk->a);
			mk->peer0 = d->rx_peer;
			mk->client0 = d->rx_client;
			memset(&d->hist, 0, sizeof(d->hist));
			d->measuring = true;
		}
		if (d->measuring && now >= meas_end) {
			lg_stat_take(o, &mk->b);
			mk->peer1 = d->rx_peer;
			mk->client1 = d->rx_client;
			d->measuring = false;
			d->sending = false;
		}
		if (!d->sending && now >= meas_end + 200000000u)
			break;
		if (d->sending && o->rate > 0)
			pace(d, t0, now, &rr);
		int k = epoll_wait(d->ep, ev, 512, o->rate > 0 ? 0 : 1);

		for (int j = 0; j < k; j++)
			on_event(d, ev[j].data.u32, now);
		if (o->rate <= 0 && d->sending && now - last_check > 10000000u) {
			last_check = now;
			unstall(d, now);
		}
	}
}

/* ------------------------------------------------------------- set-up */

static int add_fd(int ep, int fd, uint32_t tag)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

/* Flows for echo and binding: plain sockets that send to the server. */
static int flows_plain(struct data *d)
{
	for (unsigned i = 0; i < d->n; i++) {
		struct flow *f = &d->f[i];

		f->pfd = -1;
		f->cfd = lg_udp_socket(0x7F000001u, 0);
		f->dst = d->o->server;
		if (f->cfd < 0 || make_template(d->o, f, NULL) != 0 ||
		    (d->o->gso && !lg_enable_gro(f->cfd)) || add_fd(d->ep, f->cfd, i << 1) != 0)
			return -1;
	}
	return 0;
}

/* Peer sockets for the active allocations; one shared peer for idle ones. */
static int make_peers(struct data *d, struct lg_sess *s, unsigned total, int *idle_peer)
{
	struct sockaddr_in sin;

	*idle_peer = lg_udp_socket(0x7F000001u, 0);
	if (*idle_peer < 0)
		return -1;
	for (unsigned i = 0; i < total; i++) {
		int fd = i < d->n ? lg_udp_socket(0x7F000001u, 0) : *idle_peer;

		if (fd < 0)
			return -1;
		if (i < d->n)
			d->f[i].pfd = fd;
		lg_local(fd, &sin);
		lg_to_tern(&sin, &s[i].peer);
		s[i].fd = -1;
		s[i].chan = d->o->chan_base;
	}
	return 0;
}

/* Flows over TURN allocations: allocate, permit (and bind a channel). */
static int flows_turn(struct data *d, struct lg_turn *t, struct lg_sess *s, unsigned total)
{
	uint8_t prog = d->o->kind == LG_KIND_CHANNEL ? LG_PROG_ALLOC_PERM_CHAN : LG_PROG_ALLOC_PERM;
	uint64_t t0 = lg_now_ns();
	size_t ok = lg_turn_run(t, s, total, 64, true, prog, 300.0);

	fprintf(stderr,
	        "tern-loadgen: %zu/%u allocations ready in %.2f s (%" PRIu64 " requests, %" PRIu64
	        " challenges, %" PRIu64 " errors, last %" PRIu64 ", %" PRIu64 " timeouts, %" PRIu64
	        " new ports after 437)\n",
	        ok, total, (double)(lg_now_ns() - t0) / 1e9, t->requests, t->challenges, t->errors,
	        t->last_error, t->timeouts, t->reopens);
	if (ok != total)
		return -1;
	for (unsigned i = 0; i < d->n; i++) {
		struct flow *f = &d->f[i];

		f->cfd = s[i].fd;
		f->dst = d->o->server;
		if (make_template(d->o, f, &s[i].peer) != 0 ||
		    (d->o->gso && (!lg_enable_gro(f->cfd) || !lg_enable_gro(f->pfd))) ||
		    add_fd(d->ep, f->cfd, i << 1) != 0 || add_fd(d->ep, f->pfd, i << 1 | 1u) != 0)
			return -1;
	}
	return 0;
}

static void report(const struct data *d, const struct marks *mk)
{
	static const char *const kinds[] = {"channel", "indication", "raw", "binding"};
	const struct lg_opts *o = d->o;
	bool relay = o->kind == LG_KIND_CHANNEL || o->kind == LG_KIND_INDICATION;
	uint64_t pkts = (mk->client1 - mk->client0) + (relay ? mk->peer1 - mk->peer0 : 0);
	uint64_t lost = d->sent > d->rx_client ? d->sent - d->rx_client : 0;

	printf("mode=data kind=%s size=%u flows=%u active=%u window=%u rate=%.0f gso=%d"
	       " sent=%" PRIu64 " rx_peer=%" PRIu64 " rx_client=%" PRIu64 " lost=%" PRIu64
	       " loss_pct=%.3f send_fail=%" PRIu64 " stalls=%" PRIu64 " bad=%" PRIu64
	       " segs_per_dgram=%.2f p50_us=%.1f p99_us=%.1f p999_us=%.1f",
	       kinds[o->kind], o->size, o->flows, d->n, o->window, o->rate, o->gso, d->sent,
	       d->rx_peer, d->rx_client, lost, d->sent ? 100.0 * (double)lost / (double)d->sent : 0,
	       d->send_fail, d->stalls, d->rx_bad,
	       d->rx_dgrams ? (double)d->rx_segs / (double)d->rx_dgrams : 0,
	       (double)lg_hist_quantile(&d->hist, 0.50) / 1e3,
	       (double)lg_hist_quantile(&d->hist, 0.99) / 1e3,
	       (double)lg_hist_quantile(&d->hist, 0.999) / 1e3);
	lg_print_stat(&mk->a, &mk->b, pkts, "pkts");
	printf("\n");
}

int lg_data_main(const struct lg_opts *o)
{
	bool turn = o->kind == LG_KIND_CHANNEL || o->kind == LG_KIND_INDICATION;
	unsigned active = o->active && o->active < o->flows ? o->active : o->flows;
	struct data *d = calloc(1, sizeof(*d));
	struct lg_sess *s = turn ? calloc(o->flows, sizeof(*s)) : NULL;
	struct lg_turn t = {.ep = -1};
	struct marks mk = {0};
	int idle_peer = -1, rc = 1;

	if (d == NULL || (turn && s == NULL))
		goto out;
	d->o = o;
	d->n = active;
	d->per = o->window / active > 0 ? o->window / active : 1;
	d->f = calloc(active, sizeof(*d->f));
	d->tx = malloc(LG_BATCH * LG_PKT_MAX);
	d->rx = malloc(GRO_BATCH * LG_GRO_MAX > LG_BATCH * LG_PKT_MAX ? GRO_BATCH * LG_GRO_MAX
	                                                              : LG_BATCH * LG_PKT_MAX);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->f == NULL || d->tx == NULL || d->rx == NULL || d->ep < 0)
		goto out;
	if (turn ? (lg_turn_init(&t, o, 1) != 0 || make_peers(d, s, o->flows, &idle_peer) != 0 ||
	            flows_turn(d, &t, s, o->flows) != 0)
	         : flows_plain(d) != 0) {
		fprintf(stderr, "tern-loadgen: set-up failed\n");
		goto out;
	}
	run_loop(d, &mk);
	report(d, &mk);
	rc = 0;
out:
	if (turn && s != NULL && t.ep >= 0)
		(void)lg_turn_run(&t, s, o->flows, 64, false, LG_PROG_RELEASE, 30.0);
	for (unsigned i = 0; d != NULL && d->f != NULL && i < d->n; i++) {
		if (!turn && d->f[i].cfd > 0)
			close(d->f[i].cfd);
		if (d->f[i].pfd > 0)
			close(d->f[i].pfd);
	}
	for (unsigned i = 0; s != NULL && i < o->flows; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
	if (idle_peer >= 0)
		close(idle_peer);
	if (t.ep >= 0)
		lg_turn_free(&t);
	if (d != NULL) {
		if (d->ep >= 0)
			close(d->ep);
		free(d->f);
		free(d->tx);
		free(d->rx);
	}
	free(d);
	free(s);
	return rc;
}
