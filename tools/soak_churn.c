/*
 * soak_churn.c - tern-soak's allocation churn: cycles of a fresh client
 * socket, Allocate (with its 401), CreatePermission and ChannelBind to an
 * echo peer, a few ChannelData round trips checked byte for byte, and
 * Refresh with LIFETIME 0 (RFC 8656 §7, §9, §11, §8), started at a fixed
 * rate with a bounded number in flight.
 */
#define _GNU_SOURCE
#include "soak.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PING_LEN     64u
#define PKTS_MAX     32u
#define PING_WAIT_MS 3000u
#define CHURN_SRC    0x7F000201u /* 127.0.2.1 + slot % 16 */

enum cyc_state { C_IDLE, C_ALLOC, C_PERM, C_BIND, C_PING, C_DELETE };

struct cyc {
	struct soak_conn c;
	uint32_t idx;
	uint32_t gen; /* cycles this slot has started */
	enum cyc_state state;
	uint16_t channel;
	uint32_t got;  /* bit i: echo of packet i arrived */
	uint64_t wait; /* end of the ping phase, ms */
};

struct soak_churn {
	size_t n;
	struct cyc *c;
	double next_start; /* ms */
	size_t rr;         /* the slot to try first */
	bool started;
};

struct soak_churn *soak_churn_new(struct soak *s)
{
	struct soak_churn *ch = calloc(1, sizeof(*ch));
	size_t n = s->o.churn_par;

	if (ch == NULL || (ch->c = calloc(n ? n : 1, sizeof(*ch->c))) == NULL) {
		free(ch);
		return NULL;
	}
	ch->n = n;
	for (size_t i = 0; i < n; i++) {
		ch->c[i].idx = (uint32_t)i;
		ch->c[i].c.fd = -1;
	}
	return ch;
}

void soak_churn_free(struct soak *s, struct soak_churn *ch)
{
	if (ch == NULL)
		return;
	for (size_t i = 0; i < ch->n; i++)
		soak_conn_close(s, &ch->c[i].c);
	free(ch->c);
	free(ch);
}

static void make_ping(uint8_t *p, const struct cyc *y, uint32_t seq)
{
	memcpy(p, "CHRN", 4);
	memcpy(p + 4, &y->idx, 4);
	memcpy(p + 8, &y->gen, 4);
	memcpy(p + 12, &seq, 4);
	for (uint32_t i = 16; i < PING_LEN; i++)
		p[i] = (uint8_t)(i * 7u + seq * 13u + y->gen);
}

static void finish(struct soak *s, struct cyc *y, bool ok)
{
	if (ok)
		s->st.churned++;
	soak_conn_close(s, &y->c);
	y->state = C_IDLE;
}

static void start(struct soak *s, struct cyc *y)
{
	struct soak_req q = {.method = TERN_TURN_ALLOCATE, .lifetime = -1};

	y->gen++;
	y->got = 0;
	y->channel = (uint16_t)(TERN_CHANNEL_MIN + soak_rand(s) % 0x1000u);
	if (!soak_conn_open(s, &y->c, false, CHURN_SRC + y->idx % 16u)) {
		soak_error(s, "churn: cannot open a client socket");
		return;
	}
	soak_watch(s, y->c.fd, SOAK_TAG(SOAK_TAG_CHURN, y->idx));
	y->state = C_ALLOC;
	soak_tx_start(s, &y->c, &q);
}

static void ping(struct soak *s, struct cyc *y)
{
	uint8_t p[PING_LEN], cd[PING_LEN + 8];

	y->state = C_PING;
	y->wait = soak_now_ms() + PING_WAIT_MS + (uint64_t)(s->o.rto * 20000.0);
	for (uint32_t i = 0; i < s->o.churn_pkts; i++) {
		size_t n;

		make_ping(p, y, i);
		n = soak_channel_data(&y->c, y->channel, p, sizeof(p), cd, sizeof(cd));
		if (n > 0 && soak_conn_send(s, &y->c, cd, n))
			s->st.to_peer++;
	}
}

static void next(struct soak *s, struct cyc *y)
{
	static const char *const names[] = {"", "Allocate", "CreatePermission", "ChannelBind",
	                                    "", "Refresh 0"};
	struct soak_req q = {.lifetime = -1, .has_peer = true, .peer = s->echo};
	/* 437 to a retransmitted Refresh 0: the first one was served */
	bool ok = y->c.tx == SOAK_TX_OK || (y->state == C_DELETE && y->c.tx == SOAK_TX_ERROR &&
	                                    y->c.code == 437 && y->c.tries > 1);

	if (!ok) {
		soak_error(s, "churn: %s %s (code %u)", names[y->state],
		           y->c.tx == SOAK_TX_TIMEOUT ? "timed out" : "failed", y->c.code);
		finish(s, y, false);
		return;
	}
	switch (y->state) {
	case C_ALLOC:
		y->state = C_PERM;
		q.method = TERN_TURN_CREATE_PERMISSION;
		soak_tx_start(s, &y->c, &q);
		return;
	case C_PERM:
		y->state = C_BIND;
		q.method = TERN_TURN_CHANNEL_BIND;
		q.channel = y->channel;
		soak_tx_start(s, &y->c, &q);
		return;
	case C_BIND:
		y->c.tx = SOAK_TX_IDLE;
		ping(s, y);
		return;
	case C_DELETE:
		finish(s, y, true);
		return;
	case C_IDLE:
	case C_PING:
		break;
	}
}

static void delete_alloc(struct soak *s, struct cyc *y)
{
	struct soak_req q = {.method = TERN_TURN_REFRESH, .lifetime = 0};

	y->state = C_DELETE;
	soak_tx_start(s, &y->c, &q);
}

static void echo_data(struct soak *s, void *owner, uint16_t channel, const uint8_t *data,
                      size_t len)
{
	struct cyc *y = owner;
	uint8_t want[PING_LEN];
	uint32_t seq;

	if (y->state != C_PING || channel != y->channel || len != PING_LEN) {
		s->st.unexpected++;
		soak_error(s, "churn: unexpected %zu bytes on channel 0x%04x", len, channel);
		return;
	}
	memcpy(&seq, data + 12, 4);
	if (seq >= s->o.churn_pkts || (y->got & (1u << seq)) != 0) {
		s->st.corrupt++;
		soak_error(s, "churn: echo %u is out of range or repeated", seq);
		return;
	}
	make_ping(want, y, seq);
	if (memcmp(want, data, len) != 0) {
		s->st.corrupt++;
		soak_error(s, "churn: echo %u corrupted", seq);
		return;
	}
	y->got |= 1u << seq;
	if (y->got == (s->o.churn_pkts >= PKTS_MAX ? 0xFFFFFFFFu : (1u << s->o.churn_pkts) - 1u))
		delete_alloc(s, y);
}

void soak_churn_event(struct soak *s, struct soak_churn *ch, uint32_t idx)
{
	struct cyc *y;

	if (idx >= ch->n || ch->c[idx].state == C_IDLE)
		return;
	y = &ch->c[idx];
	(void)soak_conn_read(s, &y->c, echo_data, y);
	if (y->state != C_PING && y->c.tx != SOAK_TX_PENDING && y->c.tx != SOAK_TX_IDLE)
		next(s, y);
}

static void cyc_timer(struct soak *s, struct cyc *y, uint64_t now)
{
	if (y->state == C_PING && now >= y->wait) {
		uint32_t missing = s->o.churn_pkts - (uint32_t)__builtin_popcount(y->got);

		s->st.lost += missing;
		soak_error(s, "churn: %u of %u echoes never came back", missing, s->o.churn_pkts);
		delete_alloc(s, y);
		return;
	}
	if (y->state != C_IDLE && y->state != C_PING && y->c.tx == SOAK_TX_PENDING &&
	    soak_tx_timer(s, &y->c, now) != SOAK_TX_PENDING)
		next(s, y);
}

void soak_churn_tick(struct soak *s, struct soak_churn *ch, uint64_t now, bool stop)
{
	double gap = s->o.churn_rate > 0 ? 1000.0 / s->o.churn_rate : 0;

	if (!ch->started) {
		ch->next_start = (double)now;
		ch->started = true;
	}
	for (size_t i = 0; i < ch->n; i++)
		cyc_timer(s, &ch->c[i], now);
	/* round robin over the slots, so cycles come from every client address */
	for (size_t i = 0; !stop && gap > 0 && i < ch->n && ch->next_start <= (double)now; i++) {
		struct cyc *y = &ch->c[ch->rr++ % ch->n];

		if (y->state != C_IDLE)
			continue;
		start(s, y);
		ch->next_start += gap;
	}
	if (ch->next_start + 1000.0 < (double)now)
		ch->next_start = (double)now; /* all slots were busy: no backlog */
}

bool soak_churn_idle(const struct soak_churn *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		if (ch->c[i].state != C_IDLE)
			return false;
	}
	return true;
}
