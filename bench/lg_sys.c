/*
 * lg_sys.c - tern-loadgen's system helpers: sockets, the clock, the /proc
 * accounting the benchmark divides by packets, and a latency histogram.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lg_sin(struct sockaddr_in *s, uint32_t ip_host, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_addr.s_addr = htonl(ip_host);
	s->sin_port = htons(port);
}

int lg_udp_socket(uint32_t ip_host, uint16_t port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int big = 4 << 20;

	if (fd < 0)
		return -1;
	/* as root, FORCE goes past rmem_max; otherwise the plain call caps it */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	lg_sin(&sin, ip_host, port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool lg_enable_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

void lg_local(int fd, struct sockaddr_in *out)
{
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockname(fd, (struct sockaddr *)out, &len) != 0)
		out->sin_family = AF_UNSPEC;
}

void lg_to_tern(const struct sockaddr_in *s, struct tern_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = TERN_AF_IPV4;
	a->port = ntohs(s->sin_port);
	memcpy(a->addr, &s->sin_addr, 4);
}

void lg_from_tern(const struct tern_addr *a, struct sockaddr_in *s)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_port = htons(a->port);
	memcpy(&s->sin_addr, a->addr, 4);
}

/* ---------------------------------------------------------- accounting */

double lg_tick_ns(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return 1e9 / (double)(hz > 0 ? hz : 100);
}

/* "cpuN user nice system idle iowait irq softirq steal ..." */
static void read_cpu(int cpu, uint64_t *sampled, uint64_t *idle)
{
	char want[16], line[512];
	FILE *f = fopen("/proc/stat", "r");

	*sampled = *idle = 0;
	if (f == NULL)
		return;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f) != NULL) {
		uint64_t v[8] = {0};

		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		if (sscanf(line + strlen(want),
		           "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		           " %" SCNu64 " %" SCNu64,
		           &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) >= 7) {
			*sampled = v[0] + v[1] + v[2] + v[5] + v[6];
			*idle = v[3] + v[4] + v[7];
		}
		break;
	}
	fclose(f);
}

/* utime + stime of a whole process (all threads): fields 14 and 15. */
static uint64_t read_proc_ticks(int pid)
{
	char path[64], line[1024];
	unsigned long long ut = 0, st = 0;
	const char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL && (p = strrchr(line, ')')) != NULL &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return (uint64_t)(ut + st);
}

static int by_pid(const void *a, const void *b)
{
	const struct lg_pid_ticks *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* utime+stime of every process but the server, this one and ksoftirqd/N. */
static void scan_others(int server, struct lg_stat *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int self = getpid();

	s->n_others = 0;
	while (d != NULL && (e = readdir(d)) != NULL && s->n_others < LG_MAX_PIDS) {
		char path[300], line[1024];
		unsigned long long ut = 0, st = 0;
		int pid = atoi(e->d_name);
		const char *p;
		FILE *f;

		if (pid <= 0 || pid == server || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), f) != NULL && (p = strrchr(line, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		           &st) == 2) {
			if (strstr(line, "(ksoftirqd/") != NULL)
				s->softirqd += (uint64_t)(ut + st);
			else
				s->others[s->n_others++] =
				    (struct lg_pid_ticks){pid, (uint64_t)(ut + st)};
		}
		fclose(f);
	}
	if (d != NULL)
		closedir(d);
	qsort(s->others, s->n_others, sizeof(s->others[0]), by_pid);
}

uint64_t lg_others_ticks(const struct lg_stat *a, const struct lg_stat *b)
{
	uint64_t sum = 0;
	uint32_t i = 0;

	for (uint32_t j = 0; j < b->n_others; j++) {
		while (i < a->n_others && a->others[i].pid < b->others[j].pid)
			i++;
		if (i < a->n_others && a->others[i].pid == b->others[j].pid)
			sum += b->others[j].ticks > a->others[i].ticks
			           ? b->others[j].ticks - a->others[i].ticks
			           : 0;
		else
			sum += b->others[j].ticks; /* started inside the window */
	}
	return sum;
}

void lg_stat_take(const struct lg_opts *o, struct lg_stat *s)
{
	memset(s, 0, sizeof(*s));
	scan_others(o->pid, s);
	if (o->stat_cpu >= 0)
		read_cpu(o->stat_cpu, &s->cpu_sampled, &s->cpu_idle);
	if (o->pid > 0)
		s->proc = read_proc_ticks(o->pid);
	s->t_ns = lg_now_ns();
}

uint64_t lg_rss_kb(int pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb;
}

void lg_print_stat(const struct lg_stat *a, const struct lg_stat *b, uint64_t units,
                   const char *unit_name)
{
	double tick = lg_tick_ns();
	double secs = (double)(b->t_ns - a->t_ns) / 1e9;
	double all = (double)(b->t_ns - a->t_ns) / tick;
	double idle = (double)(b->cpu_idle - a->cpu_idle);
	double busy = all > idle ? all - idle : 0;
	uint64_t sampled = b->cpu_sampled - a->cpu_sampled;
	uint64_t proc = b->proc - a->proc;
	double per = units ? busy * tick / (double)units : 0;
	double pper = units ? (double)proc * tick / (double)units : 0;

	printf(" secs=%.3f %s=%" PRIu64 " per_s=%.0f cpu_busy_ticks=%.1f cpu_all_ticks=%.1f"
	       " cpu_util=%.3f cpu_sampled_ticks=%" PRIu64 " ns_per_unit=%.1f proc_ticks=%" PRIu64
	       " proc_ns_per_unit=%.1f others_ticks=%" PRIu64 " softirqd_ticks=%" PRIu64,
	       secs, unit_name, units, secs > 0 ? (double)units / secs : 0, busy, all,
	       all > 0 ? busy / all : 0, sampled, per, proc, pper, lg_others_ticks(a, b),
	       b->softirqd - a->softirqd);
}

/* --------------------------------------------------------------- histogram */

static unsigned bucket_of(uint64_t v)
{
	unsigned msb;

	if (v < LG_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	/* msb >= 6: keep the top 7 bits; bucket = (msb - 5) * 64 + next 6 bits */
	{
		unsigned shift = msb - 6u;
		unsigned b =
		    (msb - 5u) * LG_HIST_SUB + (unsigned)((v >> shift) & (LG_HIST_SUB - 1));

		return b < LG_HIST_BUCKETS ? b : LG_HIST_BUCKETS - 1;
	}
}

/* The middle of bucket b. */
static uint64_t value_of(unsigned b)
{
	unsigned msb, shift;

	if (b < LG_HIST_SUB)
		return b;
	msb = b / LG_HIST_SUB + 5u;
	shift = msb - 6u;
	return ((uint64_t)(LG_HIST_SUB + b % LG_HIST_SUB) << shift) + ((1ull << shift) >> 1);
}

void lg_hist_add(struct lg_hist *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->n++;
}

uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (unsigned b = 0; b < LG_HIST_BUCKETS; b++) {
		seen += h->b[b];
		if (seen > want)
			return value_of(b);
	}
	return value_of(LG_HIST_BUCKETS - 1);
}
