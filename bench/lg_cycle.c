/*
 * lg_cycle.c - tern-loadgen's control-plane modes: allocation cycles
 * (Allocate challenged by a 401, authenticated Allocate, Refresh 0, each on
 * a fresh client 5-tuple) and hold (N allocations with a permission and a
 * channel each, to read the server's memory per allocation).
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define RATE_SLOTS 4096u

struct cycler {
	const struct lg_opts *o;
	struct lg_turn t;
	struct lg_sess *s;
	uint32_t *free_slots;
	unsigned n_slots, n_free;
	uint64_t started, done, failed, in_window;
	bool measuring, measured;
};

static void cycle_start(struct cycler *c)
{
	uint32_t i = c->free_slots[--c->n_free];

	(void)lg_sess_start(&c->t, &c->s[i], i, (uint32_t)(c->started % c->t.n_src), LG_PROG_CYCLE);
	c->started++;
}

static void cycle_end(struct cycler *c, uint32_t i)
{
	struct lg_sess *s = &c->s[i];

	if (s->step == LG_STEP_DONE) {
		c->done++;
		if (c->measuring && !c->measured)
			c->in_window++;
	} else {
		c->failed++;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->step = LG_STEP_FAILED;
	c->free_slots[c->n_free++] = i;
}

/* Start what the window or the rate allows; false once nothing may start. */
static bool cycle_fill(struct cycler *c, uint64_t t0, uint64_t now)
{
	const struct lg_opts *o = c->o;

	if (c->measured || (o->count > 0 && c->started >= o->count))
		return false;
	if (o->rate > 0) {
		double due = o->rate * (double)(now - t0) / 1e9 - (double)c->started;

		while (due >= 1 && c->n_free > 0 && (o->count == 0 || c->started < o->count)) {
			cycle_start(c);
			due -= 1;
		}
		return true;
	}
	while (c->n_free > 0 && (o->count == 0 || c->started < o->count))
		cycle_start(c);
	return true;
}

static void cycle_events(struct cycler *c, int timeout_ms, uint64_t *last_timer)
{
	struct epoll_event ev[256];
	int k = epoll_wait(c->t.ep, ev, 256, timeout_ms);
	uint64_t now;

	for (int i = 0; i < k; i++) {
		uint32_t j = ev[i].data.u32;

		if (j < c->n_slots && c->s[j].fd >= 0 && lg_sess_drain(&c->t, &c->s[j]))
			cycle_end(c, j);
	}
	now = lg_now_ns();
	if (now - *last_timer < 10000000u)
		return;
	*last_timer = now;
	for (uint32_t j = 0; j < c->n_slots; j++)
		if (c->s[j].fd >= 0 && lg_sess_timer(&c->t, &c->s[j], now))
			cycle_end(c, j);
}

static void cycle_report(const struct cycler *c, const struct lg_stat *a, const struct lg_stat *b)
{
	const struct lg_opts *o = c->o;

	printf("mode=cycle window=%u rate=%.0f src_ips=%u nonce_cache=%d started=%" PRIu64
	       " done=%" PRIu64 " failed=%" PRIu64 " requests=%" PRIu64 " challenges=%" PRIu64
	       " errors=%" PRIu64 " last_error=%" PRIu64 " timeouts=%" PRIu64,
	       o->window, o->rate, c->t.n_src, o->nonce_cache, c->started, c->done, c->failed,
	       c->t.requests, c->t.challenges, c->t.errors, c->t.last_error, c->t.timeouts);
	lg_print_stat(a, b, c->in_window, "cycles");
	printf("\n");
}

int lg_cycle_main(const struct lg_opts *o)
{
	struct cycler c = {.o = o};
	struct lg_stat a, b;
	uint64_t t0 = lg_now_ns(), last_timer = 0, stop_at = 0;
	uint64_t meas_start = t0 + (uint64_t)(o->warmup * 1e9);
	uint64_t meas_end = meas_start + (uint64_t)(o->duration * 1e9);

	c.n_slots = o->rate > 0 ? RATE_SLOTS : (o->window ? o->window : 32);
	c.s = calloc(c.n_slots, sizeof(*c.s));
	c.free_slots = calloc(c.n_slots, sizeof(*c.free_slots));
	if (c.s == NULL || c.free_slots == NULL || lg_turn_init(&c.t, o, o->src_ips) != 0)
		return 1;
	for (uint32_t i = 0; i < c.n_slots; i++) {
		c.s[i].fd = -1;
		c.free_slots[c.n_free++] = c.n_slots - 1 - i;
	}
	lg_stat_take(o, &a);
	b = a;
	for (;;) {
		uint64_t now = lg_now_ns();

		if (!c.measuring && now >= meas_start) {
			lg_stat_take(o, &a);
			c.measuring = true;
		}
		if (c.measuring && !c.measured && now >= meas_end) {
			lg_stat_take(o, &b);
			c.measured = true;
		}
		if (!cycle_fill(&c, t0, now) && stop_at == 0)
			stop_at = now;
		if (stop_at != 0 && (c.n_free == c.n_slots || now - stop_at > 2000000000u))
			break;
		cycle_events(&c, o->rate > 0 ? 1 : 5, &last_timer);
	}
	if (!c.measured) { /* stopped by --count before the window ended */
		lg_stat_take(o, &b);
		if (!c.measuring)
			a = b;
	}
	cycle_report(&c, &a, &b);
	for (uint32_t i = 0; i < c.n_slots; i++)
		if (c.s[i].fd >= 0)
			close(c.s[i].fd);
	lg_turn_free(&c.t);
	free(c.s);
	free(c.free_slots);
	return c.done > 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ hold */

int lg_hold_main(const struct lg_opts *o)
{
	struct lg_turn t;
	struct sockaddr_in peer_sin;
	struct tern_addr peer;
	struct lg_sess *s = calloc(o->flows, sizeof(*s));
	int pfd = lg_udp_socket(0x7F000001u, 0);
	uint64_t rss0 = lg_rss_kb(o->pid), rss1, t0;
	double grew;
	size_t ok;
	struct timespec settle = {0, 300000000};

	if (s == NULL || pfd < 0 || lg_turn_init(&t, o, 1) != 0)
		return 1;
	lg_local(pfd, &peer_sin);
	lg_to_tern(&peer_sin, &peer);
	for (unsigned i = 0; i < o->flows; i++) {
		s[i].fd = -1;
		s[i].peer = peer;
		s[i].chan = o->chan_base;
	}
	t0 = lg_now_ns();
	ok = lg_turn_run(&t, s, o->flows, o->window, true, LG_PROG_ALLOC_PERM_CHAN, 300.0);
	nanosleep(&settle, NULL);
	rss1 = lg_rss_kb(o->pid);
	grew = ((double)rss1 - (double)rss0) * 1024.0;
	printf("mode=hold allocs=%u ok=%zu setup_s=%.3f rss_idle_kb=%" PRIu64 " rss_kb=%" PRIu64
	       " bytes_per_alloc=%.0f requests=%" PRIu64 " challenges=%" PRIu64 " errors=%" PRIu64
	       " last_error=%" PRIu64 " timeouts=%" PRIu64 " reopens=%" PRIu64 "\n",
	       o->flows, ok, (double)(lg_now_ns() - t0) / 1e9, rss0, rss1,
	       ok ? grew / (double)ok : 0, t.requests, t.challenges, t.errors, t.last_error,
	       t.timeouts, t.reopens);
	fflush(stdout);
	if (o->duration > 0) {
		struct timespec hold = {(time_t)o->duration, 0};

		nanosleep(&hold, NULL);
	}
	(void)lg_turn_run(&t, s, o->flows, o->window, false, LG_PROG_RELEASE, 30.0);
	for (unsigned i = 0; i < o->flows; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
	close(pfd);
	lg_turn_free(&t);
	free(s);
	return ok == o->flows ? 0 : 1;
}
