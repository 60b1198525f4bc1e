/*
 * tern-loadgen - loopback load generator for STUN/TURN servers (ternd,
 * coturn) and for tern-echo, the floor they are compared against. Built on
 * tern's codec. See docs/benchmarks.md; ci/bench is what runs it.
 *
 * usage: tern-loadgen --mode MODE --server IP:PORT [options]
 *   MODE binding  Binding requests, --window in flight over --flows sockets
 *        cycle    allocation cycles: Allocate (401), authenticated Allocate,
 *                 Refresh 0, each on a fresh client 5-tuple; --window or --rate
 *                 cycles/s; --src-ips spreads clients over 127.1.x.y
 *        relay    --flows allocations (--active of them carry traffic), each
 *                 with its own peer socket that echoes: --kind channel or
 *                 indication, --size payload bytes, --window round trips in
 *                 flight or --rate server packets/s
 *        hold     --flows allocations with a permission and a channel each;
 *                 prints the server's VmRSS (--pid) before and after
 *        echo     raw datagrams to a UDP echo server (tern-echo), like relay
 * Every mode stops after --warmup + --duration seconds (or --count cycles)
 * and prints one line of key=value pairs. --stat-cpu C and --pid P make it
 * read /proc/stat's cpuC line and /proc/P/stat around the measured window:
 * ns_per_unit is CPU C's busy time divided by the packets (cycles) in it.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
	OPT_MODE = 256,
	OPT_KIND,
	OPT_SERVER,
	OPT_USER,
	OPT_PASS,
	OPT_FLOWS,
	OPT_ACTIVE,
	OPT_WINDOW,
	OPT_SIZE,
	OPT_SRC_IPS,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_RATE,
	OPT_COUNT,
	OPT_GSO,
	OPT_NONCE_CACHE,
	OPT_STAT_CPU,
	OPT_PID,
	OPT_CHAN_BASE,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"mode", required_argument, NULL, OPT_MODE},
    {"kind", required_argument, NULL, OPT_KIND},
    {"server", required_argument, NULL, OPT_SERVER},
    {"user", required_argument, NULL, OPT_USER},
    {"pass", required_argument, NULL, OPT_PASS},
    {"flows", required_argument, NULL, OPT_FLOWS},
    {"allocs", required_argument, NULL, OPT_FLOWS},
    {"active", required_argument, NULL, OPT_ACTIVE},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"size", required_argument, NULL, OPT_SIZE},
    {"src-ips", required_argument, NULL, OPT_SRC_IPS},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"rate", required_argument, NULL, OPT_RATE},
    {"count", required_argument, NULL, OPT_COUNT},
    {"gso", no_argument, NULL, OPT_GSO},
    {"nonce-cache", no_argument, NULL, OPT_NONCE_CACHE},
    {"stat-cpu", required_argument, NULL, OPT_STAT_CPU},
    {"pid", required_argument, NULL, OPT_PID},
    {"chan-base", required_argument, NULL, OPT_CHAN_BASE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
	        "usage: tern-loadgen --mode binding|cycle|relay|hold|echo --server IP:PORT\n"
	        "  [--user U --pass P] [--kind channel|indication] [--flows N] [--active N]\n"
	        "  [--window N | --rate R] [--size B] [--src-ips N] [--duration S] [--warmup S]\n"
	        "  [--count N] [--gso] [--nonce-cache] [--stat-cpu C] [--pid P] [--chan-base N]\n"
	        "See the comment at the top of bench/loadgen.c and docs/benchmarks.md.\n");
	return rc;
}

static int parse_server(const char *arg, struct sockaddr_in *out)
{
	char ip[64];
	const char *colon = strrchr(arg, ':');
	unsigned long port;

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(ip))
		return -1;
	memcpy(ip, arg, (size_t)(colon - arg));
	ip[colon - arg] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return port == 0 || port > 65535 || inet_pton(AF_INET, ip, &out->sin_addr) != 1 ? -1 : 0;
}

static int parse_mode(const char *v, struct lg_opts *o)
{
	static const struct {
		const char *name;
		enum lg_mode mode;
	} modes[] = {{"binding", LG_MODE_BINDING},
	             {"cycle", LG_MODE_CYCLE},
	             {"relay", LG_MODE_RELAY},
	             {"hold", LG_MODE_HOLD},
	             {"echo", LG_MODE_ECHO}};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(v, modes[i].name) == 0) {
			o->mode = modes[i].mode;
			return 0;
		}
	}
	return -1;
}

static unsigned to_u(const char *v)
{
	return (unsigned)strtoul(v, NULL, 0);
}

/* tern-lint: allow-long-function flat option table */
static int parse_opt(int c, const char *v, struct lg_opts *o)
{
	switch (c) {
	case OPT_MODE:
		return parse_mode(v, o);
	case OPT_KIND:
		if (strcmp(v, "channel") == 0)
			o->kind = LG_KIND_CHANNEL;
		else if (strcmp(v, "indication") == 0)
			o->kind = LG_KIND_INDICATION;
		else
			return -1;
		return 0;
	case OPT_SERVER:
		return parse_server(v, &o->server);
	case OPT_USER:
		o->user = v;
		return 0;
	case OPT_PASS:
		o->pass = v;
		return 0;
	case OPT_FLOWS:
		o->flows = to_u(v);
		return 0;
	case OPT_ACTIVE:
		o->active = to_u(v);
		return 0;
	case OPT_WINDOW:
		o->window = to_u(v);
		return 0;
	case OPT_SIZE:
		o->size = to_u(v);
		return 0;
	case OPT_SRC_IPS:
		o->src_ips = to_u(v);
		return 0;
	case OPT_DURATION:
		o->duration = strtod(v, NULL);
		return 0;
	case OPT_WARMUP:
		o->warmup = strtod(v, NULL);
		return 0;
	case OPT_RATE:
		o->rate = strtod(v, NULL);
		return 0;
	case OPT_COUNT:
		o->count = strtoull(v, NULL, 0);
		return 0;
	case OPT_GSO:
		o->gso = true;
		return 0;
	case OPT_NONCE_CACHE:
		o->nonce_cache = true;
		return 0;
	case OPT_STAT_CPU:
		o->stat_cpu = (int)strtol(v, NULL, 0);
		return 0;
	case OPT_PID:
		o->pid = (int)strtol(v, NULL, 0);
		return 0;
	case OPT_CHAN_BASE:
		o->chan_base = (uint16_t)strtoul(v, NULL, 0);
		return 0;
	default:
		return -1;
	}
}

/* Reject what would make a run unbounded or meaningless. */
static int check_opts(struct lg_opts *o)
{
	if (o->server.sin_family != AF_INET) {
		fprintf(stderr, "tern-loadgen: --server IP:PORT is required\n");
		return -1;
	}
	if (o->duration <= 0 || o->duration > 3600 || o->warmup < 0 || o->warmup > 600) {
		fprintf(stderr,
		        "tern-loadgen: --duration must be in (0, 3600], --warmup [0, 600]\n");
		return -1;
	}
	if (o->flows == 0 || o->flows > 60000 || o->size < LG_STAMP_LEN ||
	    o->size > LG_PKT_MAX - 64) {
		fprintf(stderr, "tern-loadgen: --flows 1..60000, --size %u..%u\n", LG_STAMP_LEN,
		        LG_PKT_MAX - 64);
		return -1;
	}
	if (o->chan_base < TERN_CHANNEL_MIN || o->chan_base > TERN_CHANNEL_MAX_RFC5766) {
		fprintf(stderr, "tern-loadgen: --chan-base must be 0x4000..0x7FFF\n");
		return -1;
	}
	if (o->src_ips == 0 || o->src_ips > 65000)
		o->src_ips = 1;
	/* set-up of many allocations from one address: one 401, not one each */
	if (o->mode == LG_MODE_RELAY || o->mode == LG_MODE_HOLD)
		o->nonce_cache = true;
	if (o->mode == LG_MODE_ECHO)
		o->kind = LG_KIND_RAW;
	if (o->mode == LG_MODE_BINDING)
		o->kind = LG_KIND_BINDING;
	return 0;
}

int main(int argc, char **argv)
{
	struct lg_opts o = {
	    .mode = LG_MODE_RELAY,
	    .kind = LG_KIND_CHANNEL,
	    .user = "bench",
	    .pass = "bench",
	    .flows = 1,
	    .window = 64,
	    .size = 100,
	    .duration = 3,
	    .warmup = 0.5,
	    .stat_cpu = -1,
	    .chan_base = 0x4000,
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP)
			return usage(0);
		if (c == '?' || parse_opt(c, optarg, &o) != 0) {
			fprintf(stderr, "tern-loadgen: bad option or value%s%s\n",
			        optarg ? ": " : "", optarg ? optarg : "");
			return usage(2);
		}
	}
	if (optind != argc || check_opts(&o) != 0)
		return usage(2);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	switch (o.mode) {
	case LG_MODE_CYCLE:
		return lg_cycle_main(&o);
	case LG_MODE_HOLD:
		return lg_hold_main(&o);
	case LG_MODE_BINDING:
	case LG_MODE_RELAY:
	case LG_MODE_ECHO:
		return lg_data_main(&o);
	}
	return 2;
}
