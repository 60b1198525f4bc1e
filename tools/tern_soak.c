/*
 * tern-soak - a long-running client for one ternd over loopback: long-lived
 * allocations (UDP and TCP) each streaming a checked sequence both ways
 * over a channel, allocation churn, and hostile traffic, all at once and at
 * fixed, sub-saturating rates. It prints a progress line per interval and a
 * summary, and exits 1 on any loss, reordering, corruption, unserved valid
 * request or lost allocation (2 on a usage error).
 *
 * usage: tern-soak --server IP:PORT --user U --password P [options]
 * (see usage() below; ci/soak runs it against a sanitized ternd).
 */
#define _GNU_SOURCE
#include "soak.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SETUP_MS 30000u /* long-lived allocations must be up by then */
#define CLOSE_MS 30000u

static void usage(FILE *f)
{
	fputs("usage: tern-soak --server IP:PORT --user NAME --password PASS [options]\n"
	      "  --udp-flows N       long-lived UDP allocations with a stream (16)\n"
	      "  --tcp-flows N       long-lived allocations over TCP (2)\n"
	      "  --rate PPS          stream packets per second per flow and direction (20)\n"
	      "  --size BYTES        stream payload size, 24-1400 (200)\n"
	      "  --duration S        seconds of traffic (60)\n"
	      "  --interval S        seconds between progress lines (10)\n"
	      "  --refresh S         seconds between a flow's Refresh + ChannelBind (10)\n"
	      "  --churn-rate R      allocation cycles started per second (10)\n"
	      "  --churn-parallel N  cycles in flight at most (8)\n"
	      "  --churn-packets N   ChannelData round trips per cycle, 1-32 (4)\n"
	      "  --hostile-rate R    hostile datagrams per second (100)\n"
	      "  --rto S             first retransmission timeout (0.2)\n"
	      "  --pid PID           ternd's pid: RSS in the progress lines\n"
	      "  --metrics-port P    ternd's metrics port: check its relay counters at the end\n"
	      "  --seed N            seed of the pseudo-random choices (time)\n"
	      "  --verbose\n",
	      f);
}

static bool parse_server(const char *v, struct sockaddr_in *sin)
{
	char ip[64];
	const char *colon = strrchr(v, ':');
	long port;

	if (colon == NULL || (size_t)(colon - v) >= sizeof(ip))
		return false;
	memcpy(ip, v, (size_t)(colon - v));
	ip[colon - v] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return port > 0 && port < 65536 && inet_pton(AF_INET, ip, &sin->sin_addr) == 1;
}

/* One option with a value; false when name is not it. */
static bool num_opt(const char *name, const char *arg, const char *val, double *out)
{
	char *end;

	if (strcmp(name, arg) != 0)
		return false;
	*out = val != NULL ? strtod(val, &end) : -1;
	if (val == NULL || *end != '\0' || *out < 0) {
		fprintf(stderr, "tern-soak: %s needs a number\n", name);
		exit(2);
	}
	return true;
}

static void defaults(struct soak_opts *o)
{
	memset(o, 0, sizeof(*o));
	parse_server("127.0.0.1:3478", &o->server);
	o->udp_flows = 16;
	o->tcp_flows = 2;
	o->rate = 20;
	o->size = 200;
	o->duration = 60;
	o->interval = 10;
	o->refresh = 10;
	o->churn_rate = 10;
	o->churn_par = 8;
	o->churn_pkts = 4;
	o->hostile_rate = 100;
	o->rto = 0.2;
	o->seed = (unsigned)time(NULL);
}

static bool numeric(struct soak_opts *o, const char *a, const char *v)
{
	double d;

	if (num_opt("--udp-flows", a, v, &d))
		o->udp_flows = (unsigned)d;
	else if (num_opt("--tcp-flows", a, v, &d))
		o->tcp_flows = (unsigned)d;
	else if (num_opt("--rate", a, v, &o->rate) || num_opt("--duration", a, v, &o->duration) ||
	         num_opt("--interval", a, v, &o->interval) ||
	         num_opt("--refresh", a, v, &o->refresh) ||
	         num_opt("--churn-rate", a, v, &o->churn_rate) ||
	         num_opt("--hostile-rate", a, v, &o->hostile_rate) ||
	         num_opt("--rto", a, v, &o->rto))
		return true;
	else if (num_opt("--size", a, v, &d))
		o->size = (unsigned)d;
	else if (num_opt("--churn-parallel", a, v, &d))
		o->churn_par = (unsigned)d;
	else if (num_opt("--churn-packets", a, v, &d))
		o->churn_pkts = (unsigned)d;
	else if (num_opt("--pid", a, v, &d))
		o->pid = (int)d;
	else if (num_opt("--metrics-port", a, v, &d))
		o->metrics_port = (uint16_t)d;
	else if (num_opt("--seed", a, v, &d))
		o->seed = (unsigned)d;
	else
		return false;
	return true;
}

static void parse_args(int argc, char **argv, struct soak_opts *o)
{
	defaults(o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--verbose") == 0) {
			o->verbose = true;
			continue;
		} else if (strcmp(a, "--server") == 0 && v != NULL) {
			if (!parse_server(v, &o->server)) {
				fprintf(stderr, "tern-soak: bad --server %s\n", v);
				exit(2);
			}
		} else if (strcmp(a, "--user") == 0 && v != NULL) {
			o->user = v;
		} else if (strcmp(a, "--password") == 0 && v != NULL) {
			o->pass = v;
		} else if (!numeric(o, a, v)) {
			fprintf(stderr, "tern-soak: unknown argument %s\n", a);
			usage(stderr);
			exit(2);
		}
		i++;
	}
	if (o->user == NULL || o->pass == NULL || o->size < SOAK_HDR_LEN || o->size > 1400 ||
	    o->rate <= 0 || o->churn_pkts < 1 || o->churn_pkts > 32 || o->refresh <= 0 ||
	    o->interval <= 0 || o->rto <= 0) {
		usage(stderr);
		exit(2);
	}
}

/* ------------------------------------------------------------- ternd */

/* VmRSS of pid in kB; 0 when unknown (or the process is gone). */
static uint64_t rss_kb(int pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * Where a lost datagram may have gone without ternd seeing it: the kernel's
 * drop count of ternd's listener sockets (every SO_REUSEPORT one on port),
 * from /proc/net/udp, and the host-wide UDP RcvbufErrors from /proc/net/snmp.
 */
static uint64_t listener_drops(uint16_t port)
{
	char line[512];
	unsigned long long drops, total = 0;
	unsigned lport;
	FILE *f = fopen("/proc/net/udp", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line,
		           " %*u: %*x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*u %*u %*u %*u %*x %llu",
		           &lport, &drops) == 2 &&
		    lport == port)
			total += drops;
	}
	fclose(f);
	return total;
}

static uint64_t rcvbuf_errors(void)
{
	char line[512];
	unsigned long long v = 0;
	bool values = false;
	FILE *f = fopen("/proc/net/snmp", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Udp:", 4) != 0)
			continue;
		if (values && sscanf(line, "Udp: %*u %*u %*u %*u %llu", &v) == 1)
			break;
		values = true;
	}
	fclose(f);
	return v;
}

/* GET /metrics from 127.0.0.1:port into buf; its length, 0 on failure. */
static size_t get_metrics(uint16_t port, char *buf, size_t cap)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {5, 0};
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(0x7F000001u);
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return 0;
	}
	while (len + 1 < cap && (n = recv(fd, buf + len, cap - 1 - len, 0)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return len;
}

static long long metric(const char *text, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = text; (p = strstr(p, name)) != NULL; p += nl) {
		if ((p == text || p[-1] == '\n') && p[nl] == ' ')
			return strtoll(p + nl + 1, NULL, 10);
	}
	return -1;
}

/* ternd's own counts must equal what the valid clients sent: nothing hostile relayed. */
static void check_metrics(struct soak *s)
{
	static char text[65536];
	long long to_peer, to_client, allocs = -1;
	uint64_t end = soak_now_ms() + 5000;

	do {
		if (get_metrics(s->o.metrics_port, text, sizeof(text)) == 0)
			break;
		allocs = metric(text, "tern_allocations");
		if (allocs == 0)
			break;
		usleep(100000);
	} while (soak_now_ms() < end);
	to_peer = metric(text, "tern_pkts_to_peer");
	to_client = metric(text, "tern_pkts_to_client");
	printf("metrics: tern_pkts_to_peer=%lld tern_pkts_to_client=%lld tern_allocations=%lld\n",
	       to_peer, to_client, allocs);
	if (to_peer != (long long)s->st.to_peer || to_client != (long long)s->st.to_client)
		soak_error(s,
		           "ternd relayed %lld/%lld datagrams to peers/clients, valid: %llu/%llu",
		           to_peer, to_client, (unsigned long long)s->st.to_peer,
		           (unsigned long long)s->st.to_client);
	if (allocs != 0)
		soak_error(s, "ternd still holds %lld allocations after every one was released",
		           allocs);
}

/* -------------------------------------------------------------- loop */

struct parts {
	struct soak_flows *flows;
	struct soak_churn *churn;
	struct soak_hostile *hostile;
};

static void echo_read(struct soak *s)
{
	uint8_t buf[SOAK_PKT_MAX];
	struct sockaddr_in from;

	for (int i = 0; i < 64; i++) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(s->echo_fd, buf, sizeof(buf), MSG_DONTWAIT,
		                     (struct sockaddr *)&from, &len);

		if (n < 0)
			break;
		if (sendto(s->echo_fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len) == n)
			s->st.to_client++;
	}
}

static void poll_events(struct soak *s, struct parts *p, int timeout_ms)
{
	struct epoll_event ev[128];
	int k = epoll_wait(s->ep, ev, 128, timeout_ms);

	for (int i = 0; i < k; i++) {
		uint32_t kind = (uint32_t)(ev[i].data.u64 >> 32), idx = (uint32_t)ev[i].data.u64;

		if (kind == SOAK_TAG_FLOW_CLIENT || kind == SOAK_TAG_FLOW_PEER)
			soak_flows_event(s, p->flows, idx, kind == SOAK_TAG_FLOW_PEER);
		else if (kind == SOAK_TAG_CHURN)
			soak_churn_event(s, p->churn, idx);
		else if (kind == SOAK_TAG_ECHO)
			echo_read(s);
	}
}

static void progress(struct soak *s, double t)
{
	printf("t=%.0f sent=%llu received=%llu churned=%llu hostile=%llu requests=%llu "
	       "errors=%llu rss_kb=%llu\n",
	       t, (unsigned long long)s->st.sent, (unsigned long long)s->st.received,
	       (unsigned long long)s->st.churned, (unsigned long long)s->st.hostile,
	       (unsigned long long)s->st.requests, (unsigned long long)s->st.errors,
	       (unsigned long long)rss_kb(s->o.pid));
	fflush(stdout);
}

/* Set-up, then duration seconds of everything at once. */
static bool run_traffic(struct soak *s, struct parts *p)
{
	uint64_t t0 = soak_now_ms(), end, next_line;

	while (!soak_flows_ready(p->flows)) {
		if (soak_now_ms() > t0 + SETUP_MS) {
			soak_error(s, "long-lived allocations not set up in %u s", SETUP_MS / 1000);
			return false;
		}
		poll_events(s, p, 2);
		soak_flows_tick(s, p->flows, soak_now_ms(), false);
	}
	t0 = soak_now_ms();
	end = t0 + (uint64_t)(s->o.duration * 1000.0);
	next_line = t0 + (uint64_t)(s->o.interval * 1000.0);
	while (soak_now_ms() < end) {
		uint64_t now = soak_now_ms();

		poll_events(s, p, 2);
		soak_flows_tick(s, p->flows, now, false);
		soak_churn_tick(s, p->churn, now, false);
		soak_hostile_tick(s, p->hostile, p->flows, now);
		if (now >= next_line) {
			progress(s, (double)(now - t0) / 1000.0);
			next_line += (uint64_t)(s->o.interval * 1000.0);
			if (s->o.pid > 0 && kill(s->o.pid, 0) != 0 && errno == ESRCH) {
				soak_error(s, "ternd (pid %d) is gone", s->o.pid);
				return false;
			}
		}
	}
	return true;
}

/* Stop sending, let what is in flight arrive, then release every allocation. */
static void wind_down(struct soak *s, struct parts *p)
{
	uint64_t drain = (uint64_t)(2000.0 + s->o.rto * 10000.0);
	uint64_t end = soak_now_ms() + drain;

	while (soak_now_ms() < end || !soak_churn_idle(p->churn)) {
		uint64_t now = soak_now_ms();

		poll_events(s, p, 2);
		soak_flows_tick(s, p->flows, now, true);
		soak_churn_tick(s, p->churn, now, true);
		if (now > end + CLOSE_MS) {
			soak_error(s, "churn cycles still in flight after %u s", CLOSE_MS / 1000);
			break;
		}
	}
	soak_flows_account(s, p->flows);
	end = soak_now_ms() + CLOSE_MS;
	while (!soak_flows_close(s, p->flows, soak_now_ms())) {
		if (soak_now_ms() > end) {
			soak_error(s, "long-lived allocations not released in %u s",
			           CLOSE_MS / 1000);
			break;
		}
		poll_events(s, p, 2);
	}
}

static bool passed(const struct soak_stats *st)
{
	return st->errors == 0 && st->lost == 0 && st->reordered == 0 && st->corrupt == 0 &&
	       st->duplicated == 0 && st->unexpected == 0 && st->lost_allocs == 0;
}

static void summary(const struct soak *s, double secs, uint64_t rss0, uint64_t rcvbuf0)
{
	const struct soak_stats *st = &s->st;

	printf("summary: duration_s=%.0f udp_flows=%u tcp_flows=%u\n", secs, s->o.udp_flows,
	       s->o.tcp_flows);
	printf("summary: stream_sent=%llu stream_received=%llu lost=%llu reordered=%llu "
	       "corrupt=%llu duplicated=%llu unexpected=%llu\n",
	       (unsigned long long)st->sent, (unsigned long long)st->received,
	       (unsigned long long)st->lost, (unsigned long long)st->reordered,
	       (unsigned long long)st->corrupt, (unsigned long long)st->duplicated,
	       (unsigned long long)st->unexpected);
	printf("summary: relayed_to_peer=%llu relayed_to_client=%llu allocations_churned=%llu "
	       "refreshes=%llu channel_refreshes=%llu\n",
	       (unsigned long long)st->to_peer, (unsigned long long)st->to_client,
	       (unsigned long long)st->churned, (unsigned long long)st->refreshes,
	       (unsigned long long)st->binds);
	printf("summary: requests=%llu retransmits=%llu challenges=%llu\n",
	       (unsigned long long)st->requests, (unsigned long long)st->retransmits,
	       (unsigned long long)st->challenges);
	printf("summary: hostile_sent=%llu hostile_answers=%llu hostile_sources=%llu "
	       "denied_403=%llu\n",
	       (unsigned long long)st->hostile, (unsigned long long)st->hostile_answers,
	       (unsigned long long)st->hostile_sources, (unsigned long long)st->denied_403);
	printf("summary: lost_allocations=%llu errors=%llu rss_start_kb=%llu rss_end_kb=%llu\n",
	       (unsigned long long)st->lost_allocs, (unsigned long long)st->errors,
	       (unsigned long long)rss0, (unsigned long long)rss_kb(s->o.pid));
	printf("summary: kernel_drops_at_ternd_listener=%llu host_udp_rcvbuf_errors=%llu\n",
	       (unsigned long long)listener_drops(ntohs(s->o.server.sin_port)),
	       (unsigned long long)(rcvbuf_errors() - rcvbuf0));
	printf("result: %s\n", passed(st) ? "PASS" : "FAIL");
}

static bool open_echo(struct soak *s)
{
	s->echo_fd = soak_udp_socket(0x7F000001u);
	if (s->echo_fd < 0)
		return false;
	s->echo = soak_local(s->echo_fd);
	soak_watch(s, s->echo_fd, SOAK_TAG(SOAK_TAG_ECHO, 0));
	return true;
}

int main(int argc, char **argv)
{
	static struct soak s;
	struct parts p = {0};
	uint64_t t0, rss0, rcvbuf0;
	bool ok;

	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &s.o);
	s.rng = 0x9E3779B97F4A7C15ULL ^ s.o.seed;
	s.txseq = s.rng;
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (s.ep < 0 || !open_echo(&s)) {
		perror("tern-soak: set-up");
		return 2;
	}
	p.flows = soak_flows_new(&s);
	p.churn = soak_churn_new(&s);
	p.hostile = soak_hostile_new(&s);
	if (p.flows == NULL || p.churn == NULL || p.hostile == NULL) {
		fputs("tern-soak: out of memory\n", stderr);
		return 2;
	}
	printf("tern-soak: seed=%u udp_flows=%u tcp_flows=%u rate=%g size=%u churn_rate=%g "
	       "hostile_rate=%g duration=%g\n",
	       s.o.seed, s.o.udp_flows, s.o.tcp_flows, s.o.rate, s.o.size, s.o.churn_rate,
	       s.o.hostile_rate, s.o.duration);
	rss0 = rss_kb(s.o.pid);
	rcvbuf0 = rcvbuf_errors();
	t0 = soak_now_ms();
	ok = run_traffic(&s, &p);
	wind_down(&s, &p);
	if (ok && s.o.metrics_port != 0)
		check_metrics(&s);
	summary(&s, (double)(soak_now_ms() - t0) / 1000.0, rss0, rcvbuf0);
	soak_hostile_free(p.hostile);
	soak_churn_free(&s, p.churn);
	soak_flows_free(&s, p.flows);
	close(s.echo_fd);
	close(s.ep);
	return passed(&s.st) ? 0 : 1;
}
