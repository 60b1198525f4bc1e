/*
 * test_harden_policy.c - ternd against hostile clients, over real loopback
 * sockets (docs/security.md, "Hardening tests"):
 *  - the peer policy: every special-purpose range and every way to write an
 *    address in it (harden_cases.c), through CreatePermission, ChannelBind
 *    and Send indication, over UDP, TCP and TLS to IPv4 and IPv6 listeners,
 *    with IPv4 and IPv6 relays: 403 or silence, and nothing relayed (a
 *    wildcard sink catches any datagram to a local address, and the
 *    daemon's packet counters must move by exactly the allowed traffic);
 *    then operator allow/deny ranges and allow-loopback-peers;
 *  - Allocate and Binding floods from thousands of loopback sources: flat
 *    RSS, 401s rate-limited per source, authenticated relaying goes on;
 *  - secrets (passwords, keys, REST secrets and passwords) never in the log
 *    or the metrics, whatever succeeds or fails.
 * usage: test_harden_policy PATH-TO-TERND [TEST-NAME-PATTERN]
 */
#define _GNU_SOURCE
#include "daemon_flows.h"
#include "harden.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define HP_MAX_CLIENTS 12
#define HP_MAX_CHANS   32
#define HP_COLLECT_MS  5000 /* bound on waiting for the allowed datagrams */

static unsigned long total_tried; /* every (address, method, client) tried, all tests */

/* ---------------------------------------------------------- the runner */

/* Clients that try a table, the allowed peers, and what arrived where. */
struct hp_run {
	struct dh_daemon *d;
	struct hp_sink sink;
	struct hp_env env;
	struct hp_table table;
	struct dh_client *a[HP_MAX_CLIENTS];
	uint8_t fam[HP_MAX_CLIENTS]; /* relay family of a[i] */
	size_t na;
	struct dh_client *b[2]; /* UDP clients with an IPv4 / IPv6 relay: allowed peers */
	struct tern_addr chan_peer[HP_MAX_CLIENTS][HP_MAX_CHANS];
	size_t nchan[HP_MAX_CLIENTS];
	uint8_t seen[HP_MAX_CLIENTS][HP_MAX_CASES]; /* bit 0: Send arrived, bit 1: ChannelData */
	unsigned expected, got, denied_sends;
	unsigned long tried, e403;
};

static const char *tname(enum dh_transport t)
{
	return t == DH_UDP ? "udp" : t == DH_TCP ? "tcp" : "tls";
}

static struct dh_client *allocated_in(struct hp_run *r, enum dh_transport t, const char *ip,
                                      uint8_t family)
{
	struct dh_req q = {.lifetime = -1, .family = family == TERN_AF_IPV6 ? family : 0};
	struct dh_client *c = dh_connect_ok(r->d, t, ip);
	int one = 1;

	/* a Send indication has no answer: without this, Nagle holds the next
	 * request until the delayed ACK of the indication */
	if (t != DH_UDP)
		assert_int_equal(setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(dh_allocate(c, DH_USER, DH_PASSWORD, &q), 0);
	assert_int_equal(c->relayed.family, family);
	return c;
}

/*
 * The clients: every transport x listener family x relay family, and b[].
 * (TERN_AF_IPV4 and TERN_AF_IPV6 are the STUN family codes 1 and 2.)
 */
static void run_open(struct hp_run *r)
{
	static const enum dh_transport ts[] = {DH_UDP, DH_TCP, DH_TLS};
	const char *ips[] = {"127.0.0.1", "::1"};

	hp_sink_open(&r->sink);
	r->b[0] = allocated_in(r, DH_UDP, "127.0.0.1", TERN_AF_IPV4);
	r->b[1] = allocated_in(r, DH_UDP, "127.0.0.1", TERN_AF_IPV6);
	for (size_t t = 0; t < 3; t++)
		for (size_t l = 0; l < 2; l++)
			for (uint8_t f = TERN_AF_IPV4; f <= TERN_AF_IPV6; f++) {
				assert_true(r->na < HP_MAX_CLIENTS);
				r->fam[r->na] = f;
				r->a[r->na++] = allocated_in(r, ts[t], ips[l], f);
			}
	/* b[] accept data from every client's relay of their family */
	for (size_t i = 0; i < r->na; i++)
		assert_int_equal(dh_permit(r->b[r->fam[i] - 1], &r->a[i]->relayed), 0);
	r->env = (struct hp_env){r->d, r->sink.port, r->b[0]->relayed, r->b[1]->relayed};
}

static void run_close(struct hp_run *r)
{
	for (size_t i = 0; i < r->na; i++)
		dh_close(r->a[i]);
	dh_close(r->b[0]);
	dh_close(r->b[1]);
	close(r->sink.fd);
}

/* A channel per distinct relayed-to peer of client i. */
static uint16_t channel_for(struct hp_run *r, size_t i, const struct tern_addr *dest)
{
	size_t k;

	for (k = 0; k < r->nchan[i]; k++)
		if (dh_addr_eq(&r->chan_peer[i][k], dest))
			return (uint16_t)(0x4000 + k);
	assert_true(k < HP_MAX_CHANS);
	r->chan_peer[i][r->nchan[i]++] = *dest;
	return (uint16_t)(0x4000 + k);
}

/* 8 bytes naming the client, the case and the kind ('S' Send, 'C' ChannelData). */
static void payload(uint8_t *p, size_t i, size_t k, char kind)
{
	p[0] = 'h', p[1] = 'p', p[2] = (uint8_t)i, p[3] = (uint8_t)(k >> 8), p[4] = (uint8_t)k;
	p[5] = (uint8_t)kind, p[6] = p[7] = 0;
}

static void expect_code(const struct hp_run *r, size_t i, const struct hp_case *c,
                        const char *method, int got, int want)
{
	if (got != want)
		fail_msg("%s to %s from client %zu (%s to %s, relay v%c): %d, want %d", method,
		         c->label, i, tname(r->a[i]->t),
		         r->a[i]->local.family == TERN_AF_IPV6 ? "::1" : "127.0.0.1",
		         r->fam[i] == TERN_AF_IPV6 ? '6' : '4', got, want);
}

/* CreatePermission, ChannelBind, Send indication (and ChannelData if bound). */
static void try_case(struct hp_run *r, size_t i, size_t k)
{
	const struct hp_case *c = &r->table.c[k];
	bool fam_ok = c->dest.family == r->fam[i];
	int want = !c->allowed ? 403 : fam_ok ? 0 : 443;
	uint16_t ch = want == 0 ? channel_for(r, i, &c->dest) : 0x4fff;
	uint8_t p[8];

	expect_code(r, i, c, "CreatePermission", dh_permit(r->a[i], &c->addr), want);
	expect_code(r, i, c, "ChannelBind", dh_channel_bind(r->a[i], ch, &c->addr), want);
	r->tried += 2;
	r->e403 += want == 403 ? 2u : 0u;
	if (c->allowed && !c->deliver)
		return; /* not a local address: no data sent there */
	payload(p, i, k, 'S');
	dh_send_indication(r->a[i], &c->addr, p, sizeof(p));
	r->tried++;
	r->denied_sends += c->allowed ? 0u : 1u;
	if (want != 0)
		return;
	payload(p, i, k, 'C');
	dh_send_channel(r->a[i], ch, p, sizeof(p));
	r->expected += 2;
}

/* A datagram that reached dest: it must be an allowed case's, once. */
static void arrived(struct hp_run *r, const uint8_t *p, long n, const struct tern_addr *dest)
{
	char s[96];
	size_t i, k;
	const struct hp_case *c;
	uint8_t bit;

	if (n != 8 || p[0] != 'h' || p[1] != 'p')
		fail_msg("unexpected datagram of %ld bytes at %s", n,
		         hp_addr_str(dest, s, sizeof(s)));
	i = p[2];
	k = (size_t)p[3] << 8 | p[4];
	bit = p[5] == 'S' ? 1 : 2;
	assert_true(i < r->na && k < r->table.n);
	c = &r->table.c[k];
	if (!c->allowed || !c->deliver || c->dest.family != r->fam[i])
		fail_msg("RELAYED to a denied peer: %s (%c from client %zu) arrived at %s",
		         c->label, p[5], i, hp_addr_str(dest, s, sizeof(s)));
	if (!dh_addr_eq(dest, &c->dest) || (r->seen[i][k] & bit) != 0)
		fail_msg("%s: %c from client %zu arrived at %s (twice?)", c->label, p[5], i,
		         hp_addr_str(dest, s, sizeof(s)));
	r->seen[i][k] |= bit;
	r->got++;
}

/* Read the sink and b[] until every allowed datagram came, then a quiet while. */
static void collect(struct hp_run *r)
{
	uint64_t end = dh_now_ms() + HP_COLLECT_MS;
	bool quiet = false;

	while (!quiet) {
		int wait = r->got < r->expected && dh_now_ms() < end ? 20 : DH_QUIET_MS;
		uint8_t buf[64];
		struct tern_addr to, from;
		uint16_t ch;
		long n;

		quiet = r->got >= r->expected || dh_now_ms() >= end;
		while ((n = hp_sink_recv(&r->sink, &to, buf, sizeof(buf), wait)) != DH_TIMEOUT) {
			arrived(r, buf, n, &to);
			quiet = false;
		}
		for (size_t f = 0; f < 2; f++)
			while ((n = dh_recv_data(r->b[f], &ch, &from, buf, sizeof(buf),
			                         wait / 4)) != DH_TIMEOUT) {
				arrived(r, buf, n, &r->b[f]->relayed);
				quiet = false;
			}
	}
	assert_int_equal(r->got, r->expected);
}

/*
 * Every client tries every case; then exactly the allowed datagrams arrived,
 * the daemon counted exactly them, and one 403 per refused request.
 */
static void run_table(struct hp_run *r, const char *name)
{
	long long pkts = dh_metric(r->d, "tern_pkts_to_peer");
	long long bytes = dh_metric(r->d, "tern_bytes_to_peer");
	long long e403 = dh_metric(r->d, "tern_errors_by_code{code=\"403\"}");
	long long dropped = dh_metric(r->d, "tern_dropped");
	long long denied = dh_metric(r->d, "tern_drops_by_reason{reason=\"denied_peer\"}");
	uint64_t t0 = dh_now_ms();

	for (size_t i = 0; i < r->na; i++)
		for (size_t k = 0; k < r->table.n; k++)
			try_case(r, i, k);
	/* a barrier: once a client's Refresh is answered, ternd has handled
	 * (and relayed or dropped) everything that client sent before it */
	for (size_t i = 0; i < r->na; i++)
		assert_int_equal(dh_refresh(r->a[i], 600), 0);
	collect(r);
	assert_true(dh_wait_metric(r->d, "tern_pkts_to_peer", pkts + r->expected, DH_WAIT_MS * 2));
	usleep(DH_QUIET_MS * 1000); /* and it stays there */
	assert_int_equal(dh_metric(r->d, "tern_pkts_to_peer"), pkts + (long long)r->expected);
	assert_int_equal(dh_metric(r->d, "tern_bytes_to_peer"), bytes + 8 * (long long)r->expected);
	assert_int_equal(dh_metric(r->d, "tern_errors_by_code{code=\"403\"}"),
	                 e403 + (long long)r->e403);
	dropped = dh_metric(r->d, "tern_dropped") - dropped;
	if (dropped < (long long)r->denied_sends)
		fail_msg("tern_dropped moved by %lld; %u Sends to denied peers were dropped",
		         dropped, r->denied_sends);
	denied = dh_metric(r->d, "tern_drops_by_reason{reason=\"denied_peer\"}") - denied;
	if (r->denied_sends > 0 && denied <= 0)
		fail_msg("%u Sends to denied peers, none counted as denied_peer", r->denied_sends);
	total_tried += r->tried;
	printf("[ harden ] %s: %zu addresses x %zu clients: %lu requests tried, %lu refused "
	       "(403), %u Sends to denied peers dropped (tern_dropped +%lld), %u allowed "
	       "datagrams relayed, %.1f s\n",
	       name, r->table.n, r->na, r->tried, r->e403, r->denied_sends, dropped, r->expected,
	       (double)(dh_now_ms() - t0) / 1000.0);
}

/* ----------------------------------------------------------- the tables */

/*
 * One table run: ternd on IPv4 and IPv6 with TLS, 32 relay ports and the
 * given extra configuration lines (NULL-ended, may be NULL), then the
 * table that fill builds, tried by every client.
 */
static void policy_run(struct dh_daemon *d, const char *const *extra,
                       void (*fill)(struct hp_table *, const struct hp_env *), const char *name)
{
	struct hp_run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->d = d;
	d->ipv6 = true;
	d->tls = true;
	dh_set_relay_range(d, 32);
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		dh_extra(d, "%s", extra[i]);
	dh_start(d);
	run_open(r);
	fill(&r->table, &r->env);
	run_table(r, name);
	run_close(r);
	free(r);
	dh_stop_clean(d);
}

static void test_harden_policy_default(void **state)
{
	static const char *const extra[] = {"allow-loopback-peers=false",
	                                    "allowed-peer-ip=" HP_ALLOWED_ONE, NULL};

	policy_run(*state, extra, hp_table_deny, "default policy");
}

static void test_harden_policy_allow_rules(void **state)
{
	policy_run(*state, hp_allow_rules, hp_table_allow_rules, "allow/deny ranges");
}

static void test_harden_policy_allow_loopback(void **state)
{
	/* the harness's configuration has allow-loopback-peers */
	policy_run(*state, NULL, hp_table_allow_loopback, "allow-loopback-peers");
}

/* ---------------------------------------------------------------- floods */

#define FLOOD_SOURCES    4000 /* distinct source addresses per flood */
#define FLOOD_PER_SOURCE 6
#define FLOOD_HOT_EVERY  8 /* one request in 8 also comes from the hot source */
#define FLOOD_HOT_IP     "127.0.0.254"
#define FLOOD_RATE       8000 /* requests per second: a flood, not just full buffers */
#define WARM_SOURCES     400
#define WARM_FIRST       (2 * FLOOD_SOURCES) /* the floods' sources are new to ternd */
#define RATE_401_PER_S   20                  /* the relay's default unauth_per_s */
/*
 * RSS growth allowed across the two floods, 48,000 unauthenticated requests
 * from 8,000 sources ternd has not seen before (and a hundred or so
 * authenticated allocations made and freed meanwhile): 1 MiB. Per-request
 * state of 22 bytes, or per-source state of 128 bytes, would exceed it.
 * What ternd touches only under load, the workers' receive pools (as deep
 * as a backlog goes) and the 401 bucket tables, is warmed up first.
 */
#define RSS_BOUND_KIB 1024

static struct hp_flood flood; /* static: the thread may outlive a failed test */
static bool flood_started;

static int flood_teardown(void **state)
{
	if (flood_started)
		hp_flood_join(&flood);
	flood_started = false;
	return dh_teardown(state);
}

/* ChannelData to the peer and its echo back; retried, as a flood may cost a datagram. */
static bool round_trip(struct dh_client *c, uint16_t ch, int pfd)
{
	for (int i = 0; i < 5; i++) {
		struct tern_addr from;
		uint8_t buf[64];
		uint16_t got = 0;

		dh_send_channel(c, ch, "ping", 4);
		if (dh_peer_recv(pfd, &from, buf, sizeof(buf), 1000) != 4)
			continue;
		dh_peer_send(pfd, &from, "pong", 4);
		if (dh_recv_data(c, &got, &from, buf, sizeof(buf), 1000) == 4 && got == ch &&
		    memcmp(buf, "pong", 4) == 0)
			return true;
	}
	return false;
}

/* A fresh authenticated allocation from its own source, a round trip, Refresh 0. */
static void serve_one(const struct dh_daemon *d, unsigned i, int pfd, const struct tern_addr *peer)
{
	struct dh_client *c;

	dh_source_ip = dh_loopback_source(i);
	c = dh_allocated(d, DH_UDP, "127.0.0.1");
	dh_source_ip = NULL;
	assert_int_equal(dh_channel_bind(c, 0x4000, peer), 0);
	assert_true(round_trip(c, 0x4000, pfd));
	assert_int_equal(dh_refresh(c, 0), 0);
	dh_close(c);
}

/* Run one flood; serve authenticated clients until its last request is out. */
static unsigned flood_run(const struct dh_daemon *d, uint16_t method, unsigned first,
                          unsigned sources, unsigned rate, int pfd, const struct tern_addr *peer,
                          struct dh_client *a)
{
	unsigned served = 0;

	flood = (struct hp_flood){.port = d->port,
	                          .first = first,
	                          .sources = sources,
	                          .per_source = FLOOD_PER_SOURCE,
	                          .hot_every = FLOOD_HOT_EVERY,
	                          .method = method,
	                          .rate = rate,
	                          .hot_ip = FLOOD_HOT_IP};
	flood_started = hp_flood_start(&flood);
	assert_true(flood_started);
	while (atomic_load(&flood.running)) {
		serve_one(d, served++, pfd, peer);
		assert_true(round_trip(a, 0x4000, pfd)); /* the long-lived allocation too */
		usleep(50 * 1000);
	}
	hp_flood_join(&flood);
	flood_started = false;
	assert_int_equal(flood.error, 0);
	if (rate != 0) /* an unpaced burst may find the socket buffer full */
		assert_int_equal(flood.sent, (unsigned long)sources * FLOOD_PER_SOURCE);
	return served;
}

/*
 * The hot source got some 401s, and no more than its bucket allows; the
 * other sources, a few requests each, were answered far beyond what one
 * bucket per worker would allow: the limit is per source, not global.
 */
static void check_401_rate(const struct hp_flood *f, unsigned workers)
{
	double secs = (double)(f->hot_end_ms - f->hot_first_ms) / 1000.0;
	unsigned long bound = RATE_401_PER_S + (unsigned long)(RATE_401_PER_S * (secs + 1.0));

	printf("[ harden ] hot source %s: %lu Allocates, %lu answers, %lu 401s in %.1f s "
	       "(bound %lu)\n",
	       FLOOD_HOT_IP, f->hot_sent, f->hot_answers, f->hot_401, secs, bound);
	assert_true(f->hot_401 >= 1);
	assert_true(f->hot_401 <= bound);
	assert_true(f->hot_sent > 4 * bound); /* the limit engaged, not just sat there */
	assert_true(f->answers > 4 * workers * bound);
}

static void test_harden_flood(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *a;
	struct tern_addr peer;
	int pfd = dh_peer_open("127.0.0.1", &peer);
	unsigned served = 0;
	unsigned long spoofed_answers;
	long rss0, rss1;

	d->threads = 2;
	dh_set_relay_range(d, 16);
	dh_start(d);
	a = dh_allocated(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_channel_bind(a, 0x4000, &peer), 0);
	assert_true(round_trip(a, 0x4000, pfd));
	/*
	 * Warm-up: every path the floods take has run, and an unpaced burst has
	 * backed the listeners up, so the workers' receive pools (bounded,
	 * touched only as deep as a backlog goes) are in use before the first
	 * reading.
	 */
	served += flood_run(d, TERN_STUN_BINDING, WARM_FIRST, WARM_SOURCES, 0, pfd, &peer, a);
	served +=
	    flood_run(d, TERN_TURN_ALLOCATE, WARM_FIRST, WARM_SOURCES, FLOOD_RATE, pfd, &peer, a);
	served +=
	    flood_run(d, TERN_STUN_BINDING, WARM_FIRST, WARM_SOURCES, FLOOD_RATE, pfd, &peer, a);
	rss0 = hp_rss_kib(d->pid);
	served += flood_run(d, TERN_TURN_ALLOCATE, 0, FLOOD_SOURCES, FLOOD_RATE, pfd, &peer, a);
	spoofed_answers = flood.answers;
	check_401_rate(&flood, d->threads);
	served += flood_run(d, TERN_STUN_BINDING, FLOOD_SOURCES, FLOOD_SOURCES, FLOOD_RATE, pfd,
	                    &peer, a);
	printf("[ harden ] Binding flood: %lu requests from %u sources, %lu answers seen; hot "
	       "source %lu sent, %lu answered\n",
	       flood.sent, FLOOD_SOURCES, flood.answers, flood.hot_sent, flood.hot_answers);
	rss1 = hp_rss_kib(d->pid);
	/* after the floods: still serving, and nothing was allocated for them */
	assert_true(round_trip(a, 0x4000, pfd));
	serve_one(d, served++, pfd, &peer);
	assert_true(dh_wait_metric(d, "tern_allocations", 1, DH_WAIT_MS * 2));
	assert_int_equal(dh_metric(d, "tern_allocs_created"), 1 + (long long)served);
	printf("[ harden ] Allocate flood: %u requests from %u sources (half with made-up "
	       "credentials), %lu answers seen\n",
	       FLOOD_SOURCES * FLOOD_PER_SOURCE, FLOOD_SOURCES, spoofed_answers);
	printf("[ harden ] ternd VmRSS %ld KiB before, %ld KiB after (%+ld KiB, bound %d); %u "
	       "authenticated allocations served during and after\n",
	       rss0, rss1, rss1 - rss0, RSS_BOUND_KIB, served);
	assert_true(rss1 - rss0 < RSS_BOUND_KIB);
	dh_close(a);
	close(pfd);
	dh_stop_clean(d);
}

/* --------------------------------------------------------------- secrets */

#define ALICE_PW     "Alice-pw-9d3e71"
#define BOB_PW       "Bob-pw-52c0aa" /* bob is configured by his key, 0x... */
#define WRONG_PW     "Wrong-pw-31415"
#define SECRET_A     "Rest-secret-A-e1f2"
#define SECRET_B     "Rest-secret-B-77d0"
#define SECRET_WRONG "Rest-secret-X-0000"
#define BAD_KEY      "0xKey-not-hex-8f8f"
#define MAX_NEEDLES  40

/* Byte strings that must appear nowhere ternd writes. */
struct needles {
	uint8_t v[MAX_NEEDLES][64];
	size_t len[MAX_NEEDLES];
	char what[MAX_NEEDLES][48];
	size_t n;
};

static void needle(struct needles *s, const char *what, const void *v, size_t len)
{
	assert_true(s->n < MAX_NEEDLES && len <= sizeof(s->v[0]));
	memcpy(s->v[s->n], v, len);
	s->len[s->n] = len;
	snprintf(s->what[s->n++], sizeof(s->what[0]), "%s", what);
}

static void needle_str(struct needles *s, const char *what, const char *v)
{
	needle(s, what, v, strlen(v));
}

/* A key raw, and in lower- and upper-case hex. */
static void needle_key(struct needles *s, const char *what, const uint8_t *key, size_t len,
                       char *hex)
{
	char up[2 * TERN_KEY_MAX + 1];

	for (size_t i = 0; i < len; i++) {
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
		snprintf(up + 2 * i, 3, "%02X", key[i]);
	}
	needle(s, what, key, len);
	needle(s, what, hex, 2 * len);
	needle(s, what, up, 2 * len);
}

static void needle_long_term(struct needles *s, uint16_t alg, const char *user, const char *pw,
                             char *hex)
{
	uint8_t key[TERN_KEY_MAX];
	size_t len = 0;

	assert_int_equal(tern_stun_long_term_key(alg, user, strlen(user), "tern.test", 9, pw,
	                                         strlen(pw), key, &len),
	                 TERN_OK);
	needle_key(s, alg == TERN_PWALG_MD5 ? "MD5 key" : "SHA-256 key", key, len, hex);
}

static void needle_rest(struct needles *s, long long expiry, const char *secret)
{
	char user[64], pw[TERN_REST_PASSWORD_LEN + 1];

	snprintf(user, sizeof(user), "%lld:alice", expiry);
	assert_int_equal(
	    tern_turn_rest_password(secret, strlen(secret), user, strlen(user), pw, sizeof(pw)),
	    TERN_OK);
	needle_str(s, "REST password", pw);
}

/* Allocate as user over t; the code. */
static int allocate_as(const struct dh_daemon *d, enum dh_transport t, const char *user,
                       const char *pw)
{
	struct dh_client *c = dh_connect_ok(d, t, "127.0.0.1");
	int rc = dh_allocate(c, user, pw, NULL);

	if (rc == 0)
		assert_int_equal(dh_refresh(c, 0), 0);
	dh_close(c);
	return rc;
}

/* Every way in, right and wrong, including a nonce gone stale and a reload. */
static void exercise_auth(struct dh_daemon *d, long long now)
{
	static const enum dh_transport ts[] = {DH_UDP, DH_TCP, DH_TLS};
	struct dh_client *c;

	for (size_t i = 0; i < 3; i++)
		assert_int_equal(allocate_as(d, ts[i], "alice", ALICE_PW), 0);
	assert_int_equal(allocate_as(d, DH_UDP, "bob", BOB_PW), 0);
	assert_int_equal(dh_rest_allocate(d, now + 3600, SECRET_A), 0);
	assert_int_equal(dh_rest_allocate(d, now + 3600, SECRET_B), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(allocate_as(d, ts[i], "alice", WRONG_PW), 401);
	assert_int_equal(allocate_as(d, DH_UDP, "bob", WRONG_PW), 401);
	assert_int_equal(allocate_as(d, DH_UDP, "mallory", ALICE_PW), 401); /* unknown user */
	assert_int_equal(dh_rest_allocate(d, now - 60, SECRET_A), 401);     /* expired */
	assert_int_equal(dh_rest_allocate(d, now + 3600, SECRET_WRONG), 401);
	/* stale nonce (stale-nonce=1): the Refresh gets 438, then succeeds with the new one */
	c = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(c, "alice", ALICE_PW, NULL), 0);
	usleep(2200 * 1000);
	assert_int_equal(dh_refresh(c, 0), 0);
	dh_close(c);
	assert_true(dh_metric(d, "tern_errors_by_code{code=\"438\"}") >= 1);
	assert_true(dh_metric(d, "tern_auth_failures") >= 7);
	/* a reload logs what it loaded */
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	for (int i = 0; i < 100 && !dh_log_contains(d, "reloaded"); i++)
		usleep(50 * 1000);
	assert_true(dh_log_contains(d, "reloaded"));
}

/* --check-config on a file with a malformed key: the error must not echo it. */
static void check_config_quiet(const struct dh_daemon *d, struct needles *s)
{
	char path[DH_PATH_MAX + 16], err[4096];
	const char *args[] = {"ternd", "-c", path, "--check-config", NULL};
	FILE *f;

	snprintf(path, sizeof(path), "%s/bad.conf", d->dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "realm=tern.test\nstatic-auth-secret=%s\nuser=carol:%s\n", SECRET_A, BAD_KEY);
	fclose(f);
	assert_int_not_equal(dh_run(args, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "bad.conf:3")); /* it did report the line */
	for (size_t i = 0; i < s->n; i++)
		if (hp_mem_has(err, strlen(err), s->v[i], s->len[i]))
			fail_msg("--check-config printed a %s: %s", s->what[i], err);
}

static void test_harden_secrets_not_logged(void **state)
{
	struct dh_daemon *d = *state;
	long long now = (long long)time(NULL);
	static char metrics[32768];
	struct needles *s = calloc(1, sizeof(*s));
	char bob_hex[2 * TERN_KEY_MAX + 1], hex[2 * TERN_KEY_MAX + 1];
	size_t mlen;

	assert_non_null(s);
	needle_long_term(s, TERN_PWALG_MD5, "bob", BOB_PW, bob_hex);
	needle_long_term(s, TERN_PWALG_MD5, "alice", ALICE_PW, hex);
	needle_long_term(s, TERN_PWALG_SHA256, "alice", ALICE_PW, hex);
	needle_long_term(s, TERN_PWALG_MD5, "alice", WRONG_PW, hex);
	needle_str(s, "password", ALICE_PW);
	needle_str(s, "password", BOB_PW);
	needle_str(s, "wrong password", WRONG_PW);
	needle_str(s, "REST secret", SECRET_A);
	needle_str(s, "REST secret", SECRET_B);
	needle_str(s, "wrong REST secret", SECRET_WRONG);
	needle_str(s, "malformed key", &BAD_KEY[2]);
	needle_rest(s, now + 3600, SECRET_A);
	needle_rest(s, now + 3600, SECRET_B);
	needle_rest(s, now - 60, SECRET_A);
	needle_rest(s, now + 3600, SECRET_WRONG);
	d->tls = true;
	d->user = "alice:" ALICE_PW;
	dh_extra(d, "user=bob:0x%s", bob_hex);
	dh_extra(d, "use-auth-secret");
	dh_extra(d, "static-auth-secret=%s", SECRET_A);
	dh_extra(d, "static-auth-secret=%s", SECRET_B);
	dh_extra(d, "log-format=json");
	dh_extra(d, "stale-nonce=1");
	dh_start(d);
	exercise_auth(d, now);
	mlen = dh_http_get(d, "/metrics", metrics, sizeof(metrics));
	check_config_quiet(d, s);
	dh_stop_clean(d);
	/* the log holds the events, in JSON, at debug level: it was worth searching */
	assert_true(dh_log_shows(d, "\"event\":\"alloc_created\""));
	assert_true(dh_log_shows(d, "\"event\":\"auth_failed\""));
	for (size_t i = 0; i < s->n; i++) {
		if (hp_file_has(d->log, s->v[i], s->len[i]))
			fail_msg("the log holds a %s (needle %zu)", s->what[i], i);
		if (hp_mem_has(metrics, mlen, s->v[i], s->len[i]))
			fail_msg("the metrics hold a %s (needle %zu)", s->what[i], i);
	}
	printf("[ harden ] secrets: %zu byte strings (passwords, keys raw and hex, REST secrets "
	       "and passwords) absent from the log and the metrics\n",
	       s->n);
	free(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_harden_policy_default, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_harden_policy_allow_rules, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_harden_policy_allow_loopback, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_harden_flood, dh_setup, flood_teardown),
	    cmocka_unit_test_setup_teardown(test_harden_secrets_not_logged, dh_setup, dh_teardown),
	};
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-TERND [TEST-NAME-PATTERN]\n", argv[0]);
		return 2;
	}
	dh_ternd_path = argv[1];
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = cmocka_run_group_tests_name("harden_policy", tests, NULL, NULL);
	printf("[ harden ] peer-policy cases tried in total: %lu\n", total_tried);
	return rc;
}
