/*
 * tern-relay-bench - in-process benchmark of the relay's per-packet and
 * per-allocation costs (the user-space part of DESIGN.md's performance
 * model; the daemon's syscalls are not in it).
 *
 * For each table size N (1, 100, 10,000 allocations) a relay is filled with
 * N allocations, each with one permission and one channel (one ChannelBind
 * to the same peer, from its own client 5-tuple). Then every case runs a
 * warm-up of iterations/10 and R rounds of `iterations` operations
 * (default 5 rounds), cycling over the N allocations so lookups see the
 * whole table, and reports the median nanoseconds per operation:
 *   ChannelData client -> peer   tern_relay_client_input, 100-byte payload
 *   ChannelData peer -> client   tern_relay_peer_input, channel bound
 *   Send indication              tern_relay_client_input, 100-byte DATA
 *   Data indication              tern_relay_peer_input, permission but no
 *                                channel (same peer IP, another port)
 *   Binding request              tern_relay_client_input, unauthenticated
 *   allocation cycle             401, authenticated Allocate, opened, and
 *                                Refresh 0, one more client than N
 * Every operation's output is checked (kind and count of actions), so a
 * relay that drops packets fails the benchmark instead of looking fast.
 * Memory comes from a malloc-based allocator that counts requested bytes:
 * "bytes/alloc" is (live bytes with N allocations - live bytes of the same
 * relay empty) / N; "fixed" is the empty relay (tables sized for N).
 *
 * usage: tern-relay-bench [--rounds R] [--iterations N] [--json FILE]
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern_relay.h"

#define MAX_ROUNDS   101
#define N_SIZES      3
#define PAYLOAD      100u
#define REALM        "bench.tern"
#define NOW_MS       1000000u
#define MSG_CAP      1500u
#define CYCLE_CLIENT UINT32_MAX

static const uint32_t sizes[N_SIZES] = {1, 100, 10000};
static const struct tern_addr relay_v4 = {TERN_AF_IPV4, 0, {127, 0, 0, 1}};
static const struct tern_addr server = {TERN_AF_IPV4, 3478, {127, 0, 0, 1}};
static const struct tern_addr peer = {TERN_AF_IPV4, 6000, {127, 0, 0, 2}};
static const struct tern_addr peer_unbound = {TERN_AF_IPV4, 7000, {127, 0, 0, 2}};
static const uint8_t nonce_key[32] = "tern-relay-bench nonce key 32 b";
static const struct tern_relay_user users[] = {{"alice", "wonderland", NULL}};

/* ------------------------------------------------------------- memory */

/* Requested bytes in a header before each block (16: keeps alignment). */
struct heap {
	size_t live_bytes, live_blocks;
	uint64_t rng;
};

static void *bench_alloc(void *ctx, size_t size)
{
	struct heap *h = ctx;
	uint8_t *p = malloc(size + 16);

	if (p == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	h->live_bytes += size;
	h->live_blocks++;
	return p + 16;
}

static void bench_free(void *ctx, void *ptr)
{
	struct heap *h = ctx;
	uint8_t *p = ptr;
	size_t size;

	if (p == NULL)
		return;
	memcpy(&size, p - 16, sizeof(size));
	h->live_bytes -= size;
	h->live_blocks--;
	free(p - 16);
}

/* xorshift64: the benchmark needs varied ports, not secrecy. */
static int bench_entropy(void *ctx, uint8_t *buf, size_t n)
{
	struct heap *h = ctx;

	for (size_t i = 0; i < n; i++) {
		h->rng ^= h->rng << 13;
		h->rng ^= h->rng >> 7;
		h->rng ^= h->rng << 17;
		buf[i] = (uint8_t)h->rng;
	}
	return 0;
}

/* ------------------------------------------------------------- fixture */

struct bench {
	struct tern_relay *r;
	struct heap heap;
	uint32_t n;         /* allocations */
	uint32_t *handles;  /* relay socket of allocation i */
	uint8_t key[16];    /* alice's long-term key */
	size_t empty_bytes; /* live bytes before the allocations */
	struct tern_relay_action actions[TERN_RELAY_MAX_ACTIONS];
	uint8_t scratch[TERN_RELAY_SCRATCH];
	struct tern_relay_out out;
	/* prebuilt messages */
	uint8_t channel_data[TERN_CHANNEL_HEADER_LEN + PAYLOAD];
	uint8_t send[MSG_CAP], binding[MSG_CAP], unauth[MSG_CAP], alloc[MSG_CAP], refresh[MSG_CAP];
	size_t send_len, binding_len, unauth_len, alloc_len, refresh_len;
	uint8_t peer_buf[TERN_RELAY_HEADROOM + PAYLOAD + TERN_RELAY_TAILROOM];
};

/* Client i's 5-tuple: UDP from 100.64.0.0 + i (CYCLE_CLIENT: the cycler). */
static struct tern_relay_client client(uint32_t i)
{
	struct tern_relay_client c = {1, TERN_TRANSPORT_UDP, {TERN_AF_IPV4, 40000, {0}}, server};
	uint32_t ip = i == CYCLE_CLIENT ? 0xCB0071C8u : 0x64400000u + i; /* 203.0.113.200 */

	for (size_t b = 0; b < 4; b++)
		c.client.addr[b] = (uint8_t)(ip >> (24 - 8 * b));
	return c;
}

static void reset_out(struct bench *b)
{
	b->out = (struct tern_relay_out){b->actions, TERN_RELAY_MAX_ACTIONS, 0,
	                                 b->scratch, TERN_RELAY_SCRATCH,     0};
}

/* Feed one client datagram; false unless it made an action of kind want. */
static bool feed(struct bench *b, uint32_t i, const uint8_t *msg, size_t len,
                 enum tern_relay_action_kind want)
{
	struct tern_relay_client c = client(i);

	reset_out(b);
	if (tern_relay_client_input(b->r, NOW_MS, &c, msg, len, &b->out) != TERN_OK)
		return false;
	for (size_t k = 0; k < b->out.n; k++)
		if (b->actions[k].kind == want)
			return true;
	return false;
}

static const struct tern_relay_action *find_action(const struct bench *b,
                                                   enum tern_relay_action_kind kind)
{
	for (size_t k = 0; k < b->out.n; k++)
		if (b->actions[k].kind == kind)
			return &b->actions[k];
	return NULL;
}

/* ------------------------------------------------------------- messages */

static void txid_for(uint32_t i, uint8_t tag, uint8_t txid[TERN_STUN_TXID_LEN])
{
	memset(txid, 0, TERN_STUN_TXID_LEN);
	txid[0] = tag;
	for (size_t k = 0; k < 4; k++)
		txid[1 + k] = (uint8_t)(i >> (8 * k));
}

/*
 * A request from client i: method with the attributes this benchmark uses
 * (REQUESTED-TRANSPORT, LIFETIME 0, or CHANNEL-NUMBER + XOR-PEER-ADDRESS),
 * signed with alice's key when a nonce is given, and FINGERPRINT.
 */
static size_t build(const struct bench *b, uint16_t method, uint32_t i, const uint8_t *nonce,
                    size_t nonce_len, uint8_t *buf)
{
	struct tern_stun_builder sb;
	uint8_t txid[TERN_STUN_TXID_LEN];
	size_t len = 0;

	txid_for(i, (uint8_t)method, txid);
	if (tern_stun_build_start(&sb, buf, MSG_CAP, tern_stun_type(method, TERN_STUN_REQUEST),
	                          txid) != TERN_OK)
		return 0;
	if (method == TERN_TURN_ALLOCATE)
		tern_stun_add_u8(&sb, TERN_ATTR_REQUESTED_TRANSPORT, 17);
	if (method == TERN_TURN_REFRESH)
		tern_stun_add_u32(&sb, TERN_ATTR_LIFETIME, 0);
	if (method == TERN_TURN_CHANNEL_BIND) {
		tern_stun_add_u16(&sb, TERN_ATTR_CHANNEL_NUMBER, TERN_CHANNEL_MIN);
		tern_stun_add_xor_address(&sb, TERN_ATTR_XOR_PEER_ADDRESS, &peer);
	}
	if (nonce != NULL) {
		tern_stun_add_string(&sb, TERN_ATTR_USERNAME, "alice", 5);
		tern_stun_add_string(&sb, TERN_ATTR_REALM, REALM, strlen(REALM));
		tern_stun_add_string(&sb, TERN_ATTR_NONCE, nonce, nonce_len);
		tern_stun_add_integrity(&sb, b->key, sizeof(b->key));
	}
	tern_stun_add_fingerprint(&sb);
	return tern_stun_build_finish(&sb, &len) == TERN_OK ? len : 0;
}

/* The NONCE of the 401 client i gets for an unauthenticated Allocate. */
static size_t challenge(struct bench *b, uint32_t i, uint8_t *nonce, size_t cap)
{
	uint8_t req[MSG_CAP];
	size_t len = build(b, TERN_TURN_ALLOCATE, i, NULL, 0, req);
	const struct tern_relay_action *a;
	const struct tern_attr *attr;
	struct tern_stun_msg msg;

	if (len == 0 || !feed(b, i, req, len, TERN_ACT_SEND_CLIENT))
		return 0;
	a = find_action(b, TERN_ACT_SEND_CLIENT);
	if (tern_stun_parse(a->data, a->len, &msg) != TERN_OK ||
	    (attr = tern_stun_find(&msg, TERN_ATTR_NONCE)) == NULL || attr->len > cap)
		return 0;
	memcpy(nonce, attr->value, attr->len);
	return attr->len;
}

/* Allocate for client i up to the shell's "bound": returns the handle. */
static uint32_t allocate(struct bench *b, uint32_t i, const uint8_t *nonce, size_t nonce_len)
{
	uint8_t req[MSG_CAP];
	size_t len = build(b, TERN_TURN_ALLOCATE, i, nonce, nonce_len, req);
	uint32_t handle;

	if (len == 0 || !feed(b, i, req, len, TERN_ACT_OPEN))
		return 0;
	handle = find_action(b, TERN_ACT_OPEN)->handle;
	reset_out(b);
	if (tern_relay_opened(b->r, NOW_MS, handle, TERN_OK, &b->out) != TERN_OK ||
	    find_action(b, TERN_ACT_SEND_CLIENT) == NULL)
		return 0;
	return handle;
}

/* One allocation with one permission and one channel, for client i. */
static bool fill_one(struct bench *b, uint32_t i)
{
	uint8_t nonce[64], req[MSG_CAP];
	size_t nlen = challenge(b, i, nonce, sizeof(nonce)), len;

	if (nlen == 0 || (b->handles[i] = allocate(b, i, nonce, nlen)) == 0)
		return false;
	len = build(b, TERN_TURN_CHANNEL_BIND, i, nonce, nlen, req);
	return len > 0 && feed(b, i, req, len, TERN_ACT_SEND_CLIENT) &&
	       find_action(b, TERN_ACT_EVENT) != NULL; /* CHANNEL_BOUND, not an error */
}

/* The data-path messages, and the cycle's requests with its nonce. */
static bool prebuild(struct bench *b)
{
	struct tern_stun_builder sb;
	uint8_t txid[TERN_STUN_TXID_LEN] = "tern-bench-1", payload[PAYLOAD], nonce[64];
	size_t nlen;

	memset(payload, 0xA5, sizeof(payload));
	tern_channel_data_header(b->channel_data, TERN_CHANNEL_MIN, PAYLOAD);
	memcpy(b->channel_data + TERN_CHANNEL_HEADER_LEN, payload, PAYLOAD);
	memcpy(b->peer_buf + TERN_RELAY_HEADROOM, payload, PAYLOAD);
	if (tern_stun_build_start(&sb, b->send, MSG_CAP,
	                          tern_stun_type(TERN_TURN_SEND, TERN_STUN_INDICATION),
	                          txid) != TERN_OK)
		return false;
	tern_stun_add_xor_address(&sb, TERN_ATTR_XOR_PEER_ADDRESS, &peer);
	tern_stun_add_raw(&sb, TERN_ATTR_DATA, payload, PAYLOAD);
	if (tern_stun_build_finish(&sb, &b->send_len) != TERN_OK ||
	    tern_stun_build_start(&sb, b->binding, MSG_CAP,
	                          tern_stun_type(TERN_STUN_BINDING, TERN_STUN_REQUEST),
	                          txid) != TERN_OK)
		return false;
	tern_stun_add_fingerprint(&sb);
	if (tern_stun_build_finish(&sb, &b->binding_len) != TERN_OK)
		return false;
	nlen = challenge(b, CYCLE_CLIENT, nonce, sizeof(nonce));
	b->unauth_len = build(b, TERN_TURN_ALLOCATE, CYCLE_CLIENT, NULL, 0, b->unauth);
	b->alloc_len = build(b, TERN_TURN_ALLOCATE, CYCLE_CLIENT, nonce, nlen, b->alloc);
	b->refresh_len = build(b, TERN_TURN_REFRESH, CYCLE_CLIENT, nonce, nlen, b->refresh);
	return nlen > 0 && b->unauth_len > 0 && b->alloc_len > 0 && b->refresh_len > 0;
}

static bool setup(struct bench *b, uint32_t n)
{
	struct tern_relay_config cfg = {0};

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->heap.rng = 0x9E3779B97F4A7C15ull;
	b->handles = calloc(n, sizeof(*b->handles));
	cfg.realm = REALM;
	cfg.relay_v4 = relay_v4;
	cfg.min_port = 10000;
	cfg.max_port = 65000;
	cfg.max_allocations = n + 8;
	cfg.unauth_per_s = 1000000000u; /* the 401 limit is not what is measured */
	cfg.policy.allow_loopback = true;
	cfg.users = users;
	cfg.n_users = 1;
	cfg.nonce_key = nonce_key;
	cfg.nonce_key_len = sizeof(nonce_key);
	cfg.hooks = (struct tern_relay_hooks){bench_alloc, bench_free, bench_entropy, &b->heap};
	if (b->handles == NULL || tern_relay_create(&cfg, &b->r) != TERN_OK ||
	    tern_stun_long_term_key(TERN_PWALG_MD5, "alice", 5, REALM, strlen(REALM), "wonderland",
	                            10, b->key, &(size_t){0}) != TERN_OK)
		return false;
	b->empty_bytes = b->heap.live_bytes;
	for (uint32_t i = 0; i < n; i++)
		if (!fill_one(b, i))
			return false;
	return prebuild(b);
}

static void teardown(struct bench *b)
{
	tern_relay_destroy(b->r);
	free(b->handles);
	if (b->heap.live_blocks != 0)
		fprintf(stderr, "tern-relay-bench: %zu blocks leaked\n", b->heap.live_blocks);
}

/* ------------------------------------------------------------- cases */

/* Each returns how many operations did what they should (== n). */
static uint64_t run_cd_to_peer(struct bench *b, uint64_t n)
{
	uint64_t ok = 0;

	for (uint64_t i = 0; i < n; i++)
		ok += feed(b, (uint32_t)(i % b->n), b->channel_data, sizeof(b->channel_data),
		           TERN_ACT_SEND_PEER);
	return ok;
}

static uint64_t run_send(struct bench *b, uint64_t n)
{
	uint64_t ok = 0;

	for (uint64_t i = 0; i < n; i++)
		ok += feed(b, (uint32_t)(i % b->n), b->send, b->send_len, TERN_ACT_SEND_PEER);
	return ok;
}

static uint64_t run_binding(struct bench *b, uint64_t n)
{
	uint64_t ok = 0;

	for (uint64_t i = 0; i < n; i++)
		ok +=
		    feed(b, (uint32_t)(i % b->n), b->binding, b->binding_len, TERN_ACT_SEND_CLIENT);
	return ok;
}

static uint64_t run_to_client(struct bench *b, uint64_t n, const struct tern_addr *from,
                              uint8_t first_byte)
{
	uint64_t ok = 0;

	for (uint64_t i = 0; i < n; i++) {
		reset_out(b);
		if (tern_relay_peer_input(b->r, NOW_MS, b->handles[i % b->n], from, b->peer_buf,
		                          TERN_RELAY_HEADROOM, PAYLOAD, TERN_RELAY_TAILROOM,
		                          &b->out) == TERN_OK &&
		    b->out.n == 1 && b->actions[0].kind == TERN_ACT_SEND_CLIENT &&
		    b->actions[0].data[0] == first_byte)
			ok++;
	}
	return ok;
}

static uint64_t run_cd_to_client(struct bench *b, uint64_t n)
{
	return run_to_client(b, n, &peer, 0x40); /* ChannelData on 0x4000 */
}

static uint64_t run_data_ind(struct bench *b, uint64_t n)
{
	return run_to_client(b, n, &peer_unbound, 0x00); /* Data indication */
}

static uint64_t run_cycle(struct bench *b, uint64_t n)
{
	uint64_t ok = 0;
	uint32_t handle;

	for (uint64_t i = 0; i < n; i++) {
		if (!feed(b, CYCLE_CLIENT, b->unauth, b->unauth_len, TERN_ACT_SEND_CLIENT) ||
		    !feed(b, CYCLE_CLIENT, b->alloc, b->alloc_len, TERN_ACT_OPEN))
			continue;
		handle = find_action(b, TERN_ACT_OPEN)->handle;
		reset_out(b);
		if (tern_relay_opened(b->r, NOW_MS, handle, TERN_OK, &b->out) != TERN_OK ||
		    find_action(b, TERN_ACT_SEND_CLIENT) == NULL)
			continue;
		ok += feed(b, CYCLE_CLIENT, b->refresh, b->refresh_len, TERN_ACT_CLOSE);
	}
	return ok;
}

struct bench_case {
	const char *name;
	uint64_t iterations;
	uint64_t (*run)(struct bench *b, uint64_t n);
};

static const struct bench_case cases[] = {
    {"ChannelData client -> peer", 1000000, run_cd_to_peer},
    {"ChannelData peer -> client", 1000000, run_cd_to_client},
    {"Send indication -> peer", 1000000, run_send},
    {"peer -> Data indication", 1000000, run_data_ind},
    {"Binding request", 300000, run_binding},
    {"allocation cycle (401..Refresh 0)", 20000, run_cycle},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ------------------------------------------------------------- timing */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_double(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return (a > c) - (a < c);
}

/* Median ns per operation over the rounds; negative if an operation failed. */
static double measure(struct bench *b, const struct bench_case *c, int rounds, uint64_t iters)
{
	double per_op[MAX_ROUNDS];
	uint64_t warm = iters / 10 + 1;

	if (c->run(b, warm) != warm)
		return -1.0;
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		if (c->run(b, iters) != iters)
			return -1.0;
		per_op[i] = (double)(now_ns() - t0) / (double)iters;
	}
	qsort(per_op, (size_t)rounds, sizeof(per_op[0]), compare_double);
	return rounds % 2 ? per_op[rounds / 2]
	                  : (per_op[rounds / 2 - 1] + per_op[rounds / 2]) / 2.0;
}

/* ------------------------------------------------------------- output */

struct results {
	double ns[NCASES][N_SIZES];
	double bytes_per_alloc[N_SIZES];
	size_t fixed_bytes[N_SIZES];
};

static void print_table(const struct results *res, int rounds)
{
	printf("tern relay benchmark: median of %d rounds, ns per operation\n\n", rounds);
	printf("%-36s", "allocations in the relay");
	for (size_t s = 0; s < N_SIZES; s++)
		printf(" %12" PRIu32, sizes[s]);
	printf("\n");
	for (size_t c = 0; c < NCASES; c++) {
		printf("%-36s", cases[c].name);
		for (size_t s = 0; s < N_SIZES; s++)
			printf(" %12.1f", res->ns[c][s]);
		printf("\n");
	}
	printf("%-36s", "bytes/alloc (1 permission, 1 channel)");
	for (size_t s = 0; s < N_SIZES; s++)
		printf(" %12.1f", res->bytes_per_alloc[s]);
	printf("\n%-36s", "fixed bytes (empty relay, sized for N)");
	for (size_t s = 0; s < N_SIZES; s++)
		printf(" %12zu", res->fixed_bytes[s]);
	printf("\n");
}

static bool write_json(const char *path, const struct results *res, int rounds)
{
	FILE *out = fopen(path, "w");

	if (out == NULL) {
		perror(path);
		return false;
	}
	fprintf(out, "{\n  \"benchmark\": \"tern-relay\",\n  \"rounds\": %d,\n  \"sizes\": [",
	        rounds);
	for (size_t s = 0; s < N_SIZES; s++)
		fprintf(out, "%s%" PRIu32, s ? ", " : "", sizes[s]);
	fprintf(out, "],\n  \"cases\": [\n");
	for (size_t c = 0; c < NCASES; c++) {
		fprintf(out, "    {\"name\": \"%s\", \"median_ns\": [", cases[c].name);
		for (size_t s = 0; s < N_SIZES; s++)
			fprintf(out, "%s%.2f", s ? ", " : "", res->ns[c][s]);
		fprintf(out, "]},\n");
	}
	fprintf(out, "    {\"name\": \"bytes per allocation\", \"bytes\": [");
	for (size_t s = 0; s < N_SIZES; s++)
		fprintf(out, "%s%.1f", s ? ", " : "", res->bytes_per_alloc[s]);
	fprintf(out, "]}\n  ]\n}\n");
	if (fclose(out) != 0) {
		perror(path);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------- main */

struct options {
	int rounds;
	uint64_t iterations; /* 0: each case's default */
	const char *json;
};

static bool parse_number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_options(int argc, char **argv, struct options *o)
{
	unsigned long long v;

	for (int i = 1; i < argc; i += 2) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--rounds") == 0 && parse_number(next, MAX_ROUNDS, &v))
			o->rounds = (int)v;
		else if (strcmp(argv[i], "--iterations") == 0 && parse_number(next, 1000000000, &v))
			o->iterations = v;
		else if (strcmp(argv[i], "--json") == 0 && next != NULL)
			o->json = next;
		else
			return false;
	}
	return true;
}

/* One table size: fill, measure every case, account memory. */
static bool run_size(size_t s, const struct options *o, struct results *res)
{
	struct bench *b = malloc(sizeof(*b));
	bool ok = b != NULL && setup(b, sizes[s]);

	if (ok) {
		res->bytes_per_alloc[s] =
		    (double)(b->heap.live_bytes - b->empty_bytes) / (double)sizes[s];
		res->fixed_bytes[s] = b->empty_bytes;
	}
	for (size_t c = 0; ok && c < NCASES; c++) {
		res->ns[c][s] = measure(b, &cases[c], o->rounds,
		                        o->iterations ? o->iterations : cases[c].iterations);
		if (res->ns[c][s] < 0) {
			fprintf(stderr, "tern-relay-bench: %s failed at N=%" PRIu32 "\n",
			        cases[c].name, sizes[s]);
			ok = false;
		}
	}
	if (b != NULL)
		teardown(b);
	free(b);
	return ok;
}

int main(int argc, char **argv)
{
	struct options o = {.rounds = 5};
	struct results res = {0};

	if (!parse_options(argc, argv, &o)) {
		fprintf(stderr,
		        "usage: tern-relay-bench [--rounds 1-%d] [--iterations N] [--json FILE]\n",
		        MAX_ROUNDS);
		return 1;
	}
	for (size_t s = 0; s < N_SIZES; s++) {
		if (!run_size(s, &o, &res)) {
			fprintf(stderr,
			        "tern-relay-bench: setup or a case failed at N=%" PRIu32 "\n",
			        sizes[s]);
			return 1;
		}
	}
	print_table(&res, o.rounds);
	if (o.json != NULL && !write_json(o.json, &res, o.rounds))
		return 1;
	return 0;
}
