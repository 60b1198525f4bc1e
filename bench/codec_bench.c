/*
 * tern-codec-bench - microbenchmark of the codec's per-packet operations.
 *
 * Each case runs a warm-up of iterations/10, then R rounds of N iterations
 * (default 5 rounds; N per case below), and reports the median and the
 * minimum nanoseconds per operation over the rounds. Results of every call
 * are folded into a volatile sink so no call can be optimised away (the
 * codec is a separate static library, so the calls are opaque anyway).
 *
 * usage: tern-codec-bench [--rounds R] [--iterations N] [--json FILE]
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern_codec.h"

#define MAX_ROUNDS 101

/*
 * turn-allocate-request-auth.hex (shared vectors, constructed): Allocate
 * request with REQUESTED-TRANSPORT, LIFETIME, DONT-FRAGMENT, SOFTWARE,
 * USERNAME "alice", REALM "example.org", NONCE, MESSAGE-INTEGRITY with the
 * long-term MD5 key below, FINGERPRINT.
 */
static const uint8_t allocate_auth[] = {
    0x00, 0x03, 0x00, 0x7c, 0x21, 0x12, 0xa4, 0x42, 0x54, 0x55, 0x52, 0x4e, 0x2d, 0x61, 0x6c, 0x6c,
    0x6f, 0x63, 0x2d, 0x32, 0x00, 0x19, 0x00, 0x04, 0x11, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x04,
    0x00, 0x00, 0x0e, 0x10, 0x00, 0x1a, 0x00, 0x00, 0x80, 0x22, 0x00, 0x13, 0x76, 0x65, 0x63, 0x74,
    0x6f, 0x72, 0x73, 0x20, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x20, 0x31, 0x2e, 0x30, 0x00,
    0x00, 0x06, 0x00, 0x05, 0x61, 0x6c, 0x69, 0x63, 0x65, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x0b,
    0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x15, 0x00, 0x10,
    0x66, 0x30, 0x65, 0x31, 0x64, 0x32, 0x63, 0x33, 0x62, 0x34, 0x61, 0x35, 0x39, 0x36, 0x38, 0x37,
    0x00, 0x08, 0x00, 0x14, 0x5a, 0x0e, 0x16, 0xd8, 0x7e, 0x91, 0x6a, 0x4c, 0x3e, 0x34, 0x73, 0xd2,
    0xf0, 0xe9, 0x70, 0x9a, 0x00, 0x8f, 0x3c, 0x8c, 0x80, 0x28, 0x00, 0x04, 0xe5, 0xe8, 0xbc, 0x73,
};
/* MD5("alice:example.org:wonderland") */
static const uint8_t allocate_key[16] = {
    0x72, 0xf8, 0x6f, 0x20, 0x53, 0x70, 0x3f, 0xaa, 0x0f, 0x52, 0x1c, 0xe7, 0x1c, 0xfe, 0x6f, 0x59,
};

/*
 * rfc8489-B.1-request-errata6268.hex: USERHASH, NONCE, REALM,
 * PASSWORD-ALGORITHM SHA-256, MESSAGE-INTEGRITY-SHA256 (32 bytes).
 */
static const uint8_t b1_request[] = {
    0x00, 0x01, 0x00, 0x90, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72,
    0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x1e, 0x00, 0x20, 0x4a, 0x3c, 0xf3, 0x8f, 0xef, 0x69,
    0x92, 0xbd, 0xa9, 0x52, 0xc6, 0x78, 0x04, 0x17, 0xda, 0x0f, 0x24, 0x81, 0x94, 0x15, 0x56,
    0x9e, 0x60, 0xb2, 0x05, 0xc4, 0x6e, 0x41, 0x40, 0x7f, 0x17, 0x04, 0x00, 0x15, 0x00, 0x29,
    0x6f, 0x62, 0x4d, 0x61, 0x74, 0x4a, 0x6f, 0x73, 0x32, 0x41, 0x41, 0x41, 0x43, 0x66, 0x2f,
    0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f,
    0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00,
    0x00, 0x1d, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x20, 0xb5, 0xc7, 0xbf,
    0x00, 0x5b, 0x6c, 0x52, 0xa2, 0x1c, 0x51, 0xc5, 0xe8, 0x92, 0xf8, 0x19, 0x24, 0x13, 0x62,
    0x96, 0xcb, 0x92, 0x7c, 0x43, 0x14, 0x93, 0x09, 0x27, 0x8c, 0xc6, 0x51, 0x8e, 0x65,
};
/* SHA-256("<U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9>:example.org:TheMatrIX") */
static const uint8_t b1_key[32] = {
    0xdd, 0x29, 0x5a, 0x61, 0x3b, 0x90, 0x58, 0xc3, 0xc2, 0x3d, 0x6d, 0xc7, 0x16, 0x5b, 0xda, 0x07,
    0x23, 0x04, 0xd9, 0x89, 0xc9, 0xd0, 0xaf, 0x3a, 0x8c, 0x7e, 0x18, 0x4b, 0x4f, 0x9b, 0xb4, 0xa1,
};

/* turn-channeldata-udp.hex: channel 0x4000, "hello", no padding. */
static const uint8_t channel_data[] = {0x40, 0x00, 0x00, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f};

/* What the cases work on, prepared once. */
struct fixture {
	struct tern_stun_msg allocate;
	struct tern_stun_msg b1;
	struct tern_addr mapped;
};

struct bench_case {
	const char *name;
	uint64_t iterations;
	uint64_t (*run)(const struct fixture *f, uint64_t n);
};

struct result {
	double median_ns;
	double min_ns;
	uint64_t iterations;
};

/* ------------------------------------------------------------- cases */

/* Every case returns a value folded from each call's result. */
static uint64_t fold(uint64_t acc, int v)
{
	return acc * 31u + (uint32_t)v;
}

static uint64_t run_parse(const struct fixture *f, uint64_t n)
{
	struct tern_stun_msg msg;
	uint64_t acc = 0;

	(void)f;
	for (uint64_t i = 0; i < n; i++) {
		acc = fold(acc, tern_stun_parse(allocate_auth, sizeof(allocate_auth), &msg));
		acc = fold(acc, msg.nattrs);
	}
	return acc;
}

static uint64_t run_integrity(const struct fixture *f, uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc = fold(acc, tern_stun_check_integrity(&f->allocate, allocate_key,
		                                          sizeof(allocate_key)));
	return acc;
}

static uint64_t run_integrity_sha256(const struct fixture *f, uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc = fold(acc, tern_stun_check_integrity_sha256(&f->b1, b1_key, sizeof(b1_key)));
	return acc;
}

static uint64_t run_fingerprint(const struct fixture *f, uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc = fold(acc, tern_stun_check_fingerprint(&f->allocate));
	return acc;
}

static int build_binding_success(const struct fixture *f, uint8_t *buf, size_t cap, size_t *len)
{
	static const char software[] = "tern 0.1";
	struct tern_stun_builder b;
	int err;

	err = tern_stun_build_start(
	    &b, buf, cap, tern_stun_type(TERN_STUN_BINDING, TERN_STUN_SUCCESS), f->allocate.txid);
	err |= tern_stun_add_xor_address(&b, TERN_ATTR_XOR_MAPPED_ADDRESS, &f->mapped);
	err |= tern_stun_add_string(&b, TERN_ATTR_SOFTWARE, software, sizeof(software) - 1);
	err |= tern_stun_add_fingerprint(&b);
	err |= tern_stun_build_finish(&b, len);
	return err;
}

static uint64_t run_build(const struct fixture *f, uint64_t n)
{
	uint8_t buf[128];
	size_t len = 0;
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++) {
		acc = fold(acc, build_binding_success(f, buf, sizeof(buf), &len));
		acc = fold(acc, (int)len);
	}
	return acc;
}

static uint64_t run_channel_data(const struct fixture *f, uint64_t n)
{
	struct tern_channel_data cd;
	uint64_t acc = 0;

	(void)f;
	for (uint64_t i = 0; i < n; i++) {
		acc = fold(acc,
		           tern_channel_data_parse(channel_data, sizeof(channel_data), false, &cd));
		acc = fold(acc, cd.len);
	}
	return acc;
}

static uint64_t run_frame_len(const struct fixture *f, uint64_t n)
{
	size_t need = 0;
	uint64_t acc = 0;

	(void)f;
	for (uint64_t i = 0; i < n; i++) {
		acc = fold(acc, tern_stream_frame_len(allocate_auth, sizeof(allocate_auth), &need));
		acc = fold(acc, (int)need);
	}
	return acc;
}

static const struct bench_case cases[] = {
    {"parse+validate Allocate request (auth)", 1000000, run_parse},
    {"MESSAGE-INTEGRITY verify (HMAC-SHA1)", 1000000, run_integrity},
    {"MESSAGE-INTEGRITY-SHA256 verify", 1000000, run_integrity_sha256},
    {"FINGERPRINT check", 1000000, run_fingerprint},
    {"Binding success build (XMA+SOFTWARE+FP)", 1000000, run_build},
    {"ChannelData parse", 1000000, run_channel_data},
    {"tern_stream_frame_len", 1000000, run_frame_len},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ------------------------------------------------------------- setup */

/* Parses the vectors and checks that every case succeeds once. */
static bool setup(struct fixture *f)
{
	uint8_t buf[128];
	size_t len = 0;
	struct tern_channel_data cd;
	const char *fail = NULL;

	memset(f, 0, sizeof(*f));
	f->mapped.family = TERN_AF_IPV4;
	f->mapped.port = 32853;
	memcpy(f->mapped.addr, (const uint8_t[]){192, 0, 2, 1}, 4);
	if (tern_stun_parse(allocate_auth, sizeof(allocate_auth), &f->allocate) != TERN_OK)
		fail = "parse Allocate request";
	else if (tern_stun_parse(b1_request, sizeof(b1_request), &f->b1) != TERN_OK)
		fail = "parse RFC 8489 B.1 request";
	else if (tern_stun_check_integrity(&f->allocate, allocate_key, sizeof(allocate_key)))
		fail = "MESSAGE-INTEGRITY of the Allocate request";
	else if (tern_stun_check_integrity_sha256(&f->b1, b1_key, sizeof(b1_key)) != TERN_OK)
		fail = "MESSAGE-INTEGRITY-SHA256 of the B.1 request";
	else if (tern_stun_check_fingerprint(&f->allocate) != TERN_OK)
		fail = "FINGERPRINT of the Allocate request";
	else if (build_binding_success(f, buf, sizeof(buf), &len) != TERN_OK || len != 52)
		fail = "build Binding success (expected 52 bytes)";
	else if (tern_channel_data_parse(channel_data, sizeof(channel_data), false, &cd) ||
	         cd.len != 5)
		fail = "parse ChannelData";
	else if (tern_stream_frame_len(allocate_auth, sizeof(allocate_auth), &len) != TERN_OK ||
	         len != sizeof(allocate_auth))
		fail = "tern_stream_frame_len of the Allocate request";
	if (fail != NULL)
		fprintf(stderr, "tern-codec-bench: sanity check failed: %s\n", fail);
	return fail == NULL;
}

/* ------------------------------------------------------------- timing */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct result measure(const struct bench_case *c, const struct fixture *f, int rounds,
                             uint64_t iterations, volatile uint64_t *sink)
{
	double per_op[MAX_ROUNDS] = {0};
	struct result r = {.iterations = iterations};

	*sink += c->run(f, iterations / 10 + 1);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		*sink += c->run(f, iterations);
		per_op[i] = (double)(now_ns() - t0) / (double)iterations;
	}
	qsort(per_op, (size_t)rounds, sizeof(per_op[0]), compare_double);
	r.min_ns = per_op[0];
	r.median_ns =
	    rounds % 2 ? per_op[rounds / 2] : (per_op[rounds / 2 - 1] + per_op[rounds / 2]) / 2.0;
	return r;
}

/* ------------------------------------------------------------- output */

static void print_table(const struct result *res, int rounds)
{
	printf("tern codec microbenchmark: %d rounds, ns per operation\n\n", rounds);
	printf("%-42s %11s %10s %10s\n", "case", "iterations", "median", "min");
	for (size_t i = 0; i < NCASES; i++)
		printf("%-42s %11" PRIu64 " %10.1f %10.1f\n", cases[i].name, res[i].iterations,
		       res[i].median_ns, res[i].min_ns);
}

static bool write_json(const char *path, const struct result *res, int rounds)
{
	FILE *out = fopen(path, "w");

	if (out == NULL) {
		perror(path);
		return false;
	}
	fprintf(out, "{\n  \"benchmark\": \"tern-codec\",\n  \"rounds\": %d,\n  \"cases\": [\n",
	        rounds);
	for (size_t i = 0; i < NCASES; i++)
		fprintf(out,
		        "    {\"name\": \"%s\", \"iterations\": %" PRIu64
		        ", \"median_ns\": %.2f, \"min_ns\": %.2f}%s\n",
		        cases[i].name, res[i].iterations, res[i].median_ns, res[i].min_ns,
		        i + 1 < NCASES ? "," : "");
	fprintf(out, "  ]\n}\n");
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

		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return false;
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

int main(int argc, char **argv)
{
	struct options o = {.rounds = 5};
	struct fixture f;
	struct result res[NCASES];
	volatile uint64_t sink = 0;

	if (!parse_options(argc, argv, &o)) {
		fprintf(stderr,
		        "usage: tern-codec-bench [--rounds 1-%d] [--iterations N] "
		        "[--json FILE]\n",
		        MAX_ROUNDS);
		return 1;
	}
	if (!setup(&f))
		return 1;
	for (size_t i = 0; i < NCASES; i++)
		res[i] = measure(&cases[i], &f, o.rounds,
		                 o.iterations ? o.iterations : cases[i].iterations, &sink);
	print_table(res, o.rounds);
	if (o.json != NULL && !write_json(o.json, res, o.rounds))
		return 1;
	return 0;
}
