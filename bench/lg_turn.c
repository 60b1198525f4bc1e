/*
 * lg_turn.c - tern-loadgen's TURN client: sessions that run Allocate,
 * CreatePermission, ChannelBind and Refresh transactions with long-term
 * credentials (RFC 8489 §9.2, RFC 8656 §7-§11), answering 401 and 438 by
 * retrying with the server's nonce, retransmitting on a timer, many at a
 * time over one epoll set.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define RTO_NS        100000000u /* first retransmission after 100 ms */
#define MAX_TRIES     6u
#define MAX_CHALLENGE 4u
#define REQ_CAP       1024u

int lg_turn_init(struct lg_turn *t, const struct lg_opts *o, uint32_t n_src)
{
	memset(t, 0, sizeof(*t));
	t->o = o;
	t->n_src = n_src ? n_src : 1;
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (getrandom(&t->txseq, sizeof(t->txseq), 0) != sizeof(t->txseq))
		t->txseq = (uint64_t)lg_now_ns();
	t->nonces = calloc(t->n_src, sizeof(*t->nonces));
	t->nonce_lens = calloc(t->n_src, 1);
	if (t->ep < 0 || t->nonces == NULL || t->nonce_lens == NULL) {
		lg_turn_free(t);
		return -1;
	}
	return 0;
}

void lg_turn_free(struct lg_turn *t)
{
	if (t->ep >= 0)
		close(t->ep);
	t->ep = -1;
	free(t->nonces);
	free(t->nonce_lens);
	t->nonces = NULL;
	t->nonce_lens = NULL;
}

static uint16_t method_of(uint8_t step)
{
	switch ((enum lg_step)step) {
	case LG_STEP_ALLOCATE:
		return TERN_TURN_ALLOCATE;
	case LG_STEP_PERMISSION:
		return TERN_TURN_CREATE_PERMISSION;
	case LG_STEP_CHANNEL:
		return TERN_TURN_CHANNEL_BIND;
	case LG_STEP_REFRESH0:
		return TERN_TURN_REFRESH;
	case LG_STEP_DONE:
	case LG_STEP_FAILED:
		break;
	}
	return 0;
}

static void new_txid(struct lg_turn *t, struct lg_sess *s)
{
	uint64_t v = ++t->txseq;

	memset(s->txid, 0x5a, 4);
	memcpy(s->txid + 4, &v, 8);
}

/* The request for s's current step, authenticated once a nonce is known. */
static size_t build(struct lg_turn *t, const struct lg_sess *s, uint8_t *buf, size_t cap)
{
	struct tern_stun_builder b;
	size_t len = 0;
	uint16_t type = tern_stun_type(method_of(s->step), TERN_STUN_REQUEST);

	if (tern_stun_build_start(&b, buf, cap, type, s->txid) != TERN_OK)
		return 0;
	switch ((enum lg_step)s->step) {
	case LG_STEP_ALLOCATE:
		tern_stun_add_u8(&b, TERN_ATTR_REQUESTED_TRANSPORT, 17); /* UDP */
		break;
	case LG_STEP_CHANNEL:
		tern_stun_add_u16(&b, TERN_ATTR_CHANNEL_NUMBER, s->chan);
		tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, &s->peer);
		break;
	case LG_STEP_PERMISSION:
		tern_stun_add_xor_address(&b, TERN_ATTR_XOR_PEER_ADDRESS, &s->peer);
		break;
	case LG_STEP_REFRESH0:
		tern_stun_add_u32(&b, TERN_ATTR_LIFETIME, 0);
		break;
	case LG_STEP_DONE:
	case LG_STEP_FAILED:
		return 0;
	}
	if (s->nonce_len > 0 && t->have_key) {
		tern_stun_add_string(&b, TERN_ATTR_USERNAME, t->o->user, strlen(t->o->user));
		tern_stun_add_string(&b, TERN_ATTR_REALM, t->realm, t->realm_len);
		tern_stun_add_string(&b, TERN_ATTR_NONCE, s->nonce, s->nonce_len);
		tern_stun_add_integrity(&b, t->key, sizeof(t->key));
	}
	if (tern_stun_build_finish(&b, &len) != TERN_OK)
		return 0;
	return len;
}

static void transmit(struct lg_turn *t, struct lg_sess *s, uint64_t now)
{
	uint8_t buf[REQ_CAP];
	size_t len = build(t, s, buf, sizeof(buf));

	if (len > 0 && sendto(s->fd, buf, len, 0, (const struct sockaddr *)&t->o->server,
	                      sizeof(t->o->server)) >= 0)
		t->requests++;
	s->deadline = now + ((uint64_t)RTO_NS << (s->tries < 4 ? s->tries : 4));
	s->tries++;
}

static void begin_step(struct lg_turn *t, struct lg_sess *s, uint8_t step)
{
	s->step = step;
	s->tries = 0;
	s->challenges = 0;
	if (step >= LG_STEP_DONE)
		return;
	new_txid(t, s);
	transmit(t, s, lg_now_ns());
}

static uint8_t first_step(uint8_t prog)
{
	return prog == LG_PROG_RELEASE ? LG_STEP_REFRESH0 : LG_STEP_ALLOCATE;
}

static uint8_t next_step(uint8_t prog, uint8_t step)
{
	switch ((enum lg_prog)prog) {
	case LG_PROG_ALLOC_PERM:
		return step == LG_STEP_ALLOCATE ? LG_STEP_PERMISSION : LG_STEP_DONE;
	case LG_PROG_ALLOC_PERM_CHAN:
		return step == LG_STEP_ALLOCATE     ? LG_STEP_PERMISSION
		       : step == LG_STEP_PERMISSION ? LG_STEP_CHANNEL
		                                    : LG_STEP_DONE;
	case LG_PROG_CYCLE:
		return step == LG_STEP_ALLOCATE ? LG_STEP_REFRESH0 : LG_STEP_DONE;
	case LG_PROG_RELEASE:
		break;
	}
	return LG_STEP_DONE;
}

/* Client source address for source index src: 127.0.0.1 or 127.1.x.y. */
static uint32_t src_ip(const struct lg_turn *t, uint32_t src)
{
	return t->n_src <= 1 ? 0x7F000001u : 0x7F010001u + src;
}

static int open_fd(struct lg_turn *t, struct lg_sess *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = s->idx};

	s->fd = lg_udp_socket(src_ip(t, s->src), 0);
	if (s->fd < 0 || epoll_ctl(t->ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		s->step = LG_STEP_FAILED;
		t->errors++;
		return -1;
	}
	return 0;
}

int lg_sess_start(struct lg_turn *t, struct lg_sess *s, uint32_t idx, uint32_t src, uint8_t prog)
{
	s->idx = idx;
	s->src = src % t->n_src;
	s->prog = prog;
	s->nonce_len = 0;
	s->reopens = 0;
	if (open_fd(t, s) != 0)
		return -1;
	if (t->o->nonce_cache && t->nonce_lens[s->src] > 0) {
		s->nonce_len = t->nonce_lens[s->src];
		memcpy(s->nonce, t->nonces[s->src], s->nonce_len);
	}
	begin_step(t, s, first_step(prog));
	return 0;
}

void lg_sess_restart(struct lg_turn *t, struct lg_sess *s, uint8_t prog)
{
	s->prog = prog;
	if (s->fd < 0) {
		s->step = LG_STEP_FAILED;
		return;
	}
	begin_step(t, s, first_step(prog));
}

/* Learn the realm (and so the key) and the nonce from a 401/438. */
static bool take_challenge(struct lg_turn *t, struct lg_sess *s, const struct tern_stun_msg *m)
{
	const struct tern_attr *realm = tern_stun_find(m, TERN_ATTR_REALM);
	const struct tern_attr *nonce = tern_stun_find(m, TERN_ATTR_NONCE);
	size_t klen = 0;

	if (nonce == NULL || nonce->len == 0 || nonce->len > LG_NONCE_MAX)
		return false;
	if (!t->have_key) {
		if (realm == NULL || realm->len >= LG_REALM_MAX)
			return false;
		memcpy(t->realm, realm->value, realm->len);
		t->realm_len = (uint8_t)realm->len;
		if (tern_stun_long_term_key(TERN_PWALG_MD5, t->o->user, strlen(t->o->user),
		                            t->realm, t->realm_len, t->o->pass, strlen(t->o->pass),
		                            t->key, &klen) != TERN_OK ||
		    klen != sizeof(t->key))
			return false;
		t->have_key = true;
	}
	s->nonce_len = (uint8_t)nonce->len;
	memcpy(s->nonce, nonce->value, nonce->len);
	memcpy(t->nonces[s->src], nonce->value, nonce->len);
	t->nonce_lens[s->src] = (uint8_t)nonce->len;
	return true;
}

static bool on_error(struct lg_turn *t, struct lg_sess *s, const struct tern_stun_msg *m)
{
	const struct tern_attr *ec = tern_stun_find(m, TERN_ATTR_ERROR_CODE);
	struct tern_error_code e = {0};

	if (ec == NULL || tern_attr_get_error_code(ec, &e) != TERN_OK)
		e.code = 0;
	if ((e.code == 401 || e.code == 438) && s->challenges < MAX_CHALLENGE &&
	    take_challenge(t, s, m)) {
		t->challenges++;
		s->challenges++;
		s->tries = 0;
		new_txid(t, s);
		transmit(t, s, lg_now_ns());
		return false;
	}
	if (e.code == 437 && s->step == LG_STEP_REFRESH0) { /* already gone */
		s->step = LG_STEP_DONE;
		return true;
	}
	/*
	 * 437 to an Allocate: the server still holds state for this 5-tuple
	 * (coturn does for a few seconds after Refresh 0, and the kernel hands
	 * out recently used ports again): move to another client port.
	 */
	if (e.code == 437 && s->step == LG_STEP_ALLOCATE && s->reopens < 8) {
		close(s->fd);
		s->reopens++;
		t->reopens++;
		if (open_fd(t, s) != 0)
			return true;
		begin_step(t, s, LG_STEP_ALLOCATE);
		return false;
	}
	t->errors++;
	t->last_error = e.code;
	s->step = LG_STEP_FAILED;
	return true;
}

bool lg_sess_input(struct lg_turn *t, struct lg_sess *s, const uint8_t *buf, size_t len)
{
	struct tern_stun_msg m;
	const struct tern_attr *ra;

	if (s->step >= LG_STEP_DONE || tern_demux(buf, len) != TERN_DEMUX_STUN ||
	    tern_stun_parse(buf, len, &m) != TERN_OK ||
	    memcmp(m.txid, s->txid, TERN_STUN_TXID_LEN) != 0 || m.method != method_of(s->step))
		return false;
	t->responses++;
	if (m.cls == TERN_STUN_ERROR)
		return on_error(t, s, &m);
	if (m.cls != TERN_STUN_SUCCESS)
		return false;
	if (s->step == LG_STEP_ALLOCATE) {
		ra = tern_stun_find(&m, TERN_ATTR_XOR_RELAYED_ADDRESS);
		if (ra == NULL || tern_attr_get_xor_address(ra, m.txid, &s->relayed) != TERN_OK) {
			t->errors++;
			s->step = LG_STEP_FAILED;
			return true;
		}
	}
	begin_step(t, s, next_step(s->prog, s->step));
	return true;
}

bool lg_sess_timer(struct lg_turn *t, struct lg_sess *s, uint64_t now)
{
	if (s->step >= LG_STEP_DONE || now < s->deadline)
		return false;
	if (s->tries >= MAX_TRIES) {
		t->timeouts++;
		s->step = LG_STEP_FAILED;
		return true;
	}
	transmit(t, s, now);
	return false;
}

/* ------------------------------------------------------------ the engine */

bool lg_sess_drain(struct lg_turn *t, struct lg_sess *s)
{
	uint8_t buf[LG_PKT_MAX + 64];
	uint8_t before = s->step;

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			break;
		lg_sess_input(t, s, buf, (size_t)n);
	}
	return before < LG_STEP_DONE && s->step >= LG_STEP_DONE;
}

struct run_state {
	size_t next, active, finished, done;
};

static void settle(struct run_state *rs, const struct lg_sess *s)
{
	rs->active--;
	rs->finished++;
	if (s->step == LG_STEP_DONE)
		rs->done++;
}

size_t lg_turn_run(struct lg_turn *t, struct lg_sess *s, size_t n, unsigned window, bool start,
                   uint8_t prog, double limit_s)
{
	struct run_state rs = {0};
	struct epoll_event ev[256];
	uint64_t end = lg_now_ns() + (uint64_t)(limit_s * 1e9), last_timer = 0;

	while (rs.finished < n && lg_now_ns() < end) {
		/* with a nonce cache, one session learns the nonce before the rest start */
		unsigned w = (t->o->nonce_cache && !t->have_key) || window == 0 ? 1 : window;

		while (rs.active < w && rs.next < n) {
			struct lg_sess *x = &s[rs.next];

			if (start)
				(void)lg_sess_start(t, x, (uint32_t)rs.next, (uint32_t)rs.next,
				                    prog);
			else
				lg_sess_restart(t, x, prog);
			rs.active++;
			rs.next++;
			if (x->step >= LG_STEP_DONE)
				settle(&rs, x);
		}
		int k = epoll_wait(t->ep, ev, 256, 5);

		for (int i = 0; i < k; i++)
			if (ev[i].data.u32 < n && lg_sess_drain(t, &s[ev[i].data.u32]))
				settle(&rs, &s[ev[i].data.u32]);
		uint64_t now = lg_now_ns();

		if (now - last_timer > 10000000u) {
			last_timer = now;
			for (size_t i = 0; i < rs.next; i++) {
				if (lg_sess_timer(t, &s[i], now))
					settle(&rs, &s[i]);
			}
		}
	}
	return rs.done;
}
