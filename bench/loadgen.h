/*
 * loadgen.h - tern-loadgen's shared pieces: options, the system helpers
 * (sockets, clocks, /proc accounting, latency histogram), the TURN client
 * transactions (lg_turn.c) and the data phase (lg_data.c).
 *
 * The load generator is a benchmark program, not part of tern: it talks to
 * any STUN/TURN server (ternd, coturn) or to tern-echo over loopback UDP and
 * builds every message with tern's codec.
 */
#ifndef TERN_LOADGEN_H
#define TERN_LOADGEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_codec.h"

#define LG_BATCH     64u    /* datagrams per recvmmsg/sendmmsg */
#define LG_PKT_MAX   1536u  /* largest datagram the data phase sends */
#define LG_GRO_MAX   65536u /* one coalesced (GRO) receive */
#define LG_NONCE_MAX 128u
#define LG_REALM_MAX 128u
#define LG_STAMP_LEN 16u /* timestamp (8) + flow (4) + magic (4) in each payload */

enum lg_mode { LG_MODE_BINDING, LG_MODE_CYCLE, LG_MODE_RELAY, LG_MODE_HOLD, LG_MODE_ECHO };

/* What the data phase puts on the wire. */
enum lg_kind {
	LG_KIND_CHANNEL,    /* ChannelData <-> raw at the peer */
	LG_KIND_INDICATION, /* Send indication -> raw -> Data indication */
	LG_KIND_RAW,        /* raw UDP to an echo server */
	LG_KIND_BINDING,    /* Binding request -> success response */
};

struct lg_opts {
	enum lg_mode mode;
	enum lg_kind kind;
	struct sockaddr_in server;
	const char *user;
	const char *pass;
	unsigned flows;     /* allocations (relay, hold) or sockets (binding, echo) */
	unsigned active;    /* flows that carry traffic; 0 = all */
	unsigned window;    /* outstanding round trips (data) or cycles (cycle) */
	unsigned size;      /* payload bytes */
	unsigned src_ips;   /* cycle: distinct client source addresses 127.1.x.y */
	double duration;    /* measured seconds */
	double warmup;      /* seconds before the measurement starts */
	double rate;        /* server packets/s (data) or cycles/s (cycle); 0 = window */
	uint64_t count;     /* cycle: stop after this many cycles; 0 = duration only */
	bool gso;           /* UDP_SEGMENT sends and UDP_GRO receives */
	bool nonce_cache;   /* reuse a source address's last nonce for new allocations */
	int stat_cpu;       /* CPU whose /proc/stat busy time is measured; -1 none */
	int pid;            /* server pid for /proc/PID/{stat,status}; 0 none */
	uint16_t chan_base; /* first channel number */
};

/* ---------------------------------------------------------------- lg_sys.c */

uint64_t lg_now_ns(void);
void lg_sin(struct sockaddr_in *s, uint32_t ip_host, uint16_t port);
/* Nonblocking UDP socket bound to ip_host:0 (or port), big buffers; -1 on error. */
int lg_udp_socket(uint32_t ip_host, uint16_t port);
/* Enable UDP_GRO on fd; false when the kernel refuses. */
bool lg_enable_gro(int fd);
/* The local address fd is bound to. */
void lg_local(int fd, struct sockaddr_in *out);
void lg_to_tern(const struct sockaddr_in *s, struct tern_addr *a);
void lg_from_tern(const struct tern_addr *a, struct sockaddr_in *s);

/*
 * A snapshot of the accounting the benchmark divides by packets. CPU C's
 * busy time over a window is the wall-clock time minus what /proc/stat
 * counts as C's idle, iowait and steal time: with NO_HZ those are measured
 * exactly, while user/system/softirq are sampled on timer ticks, which stop
 * when the CPU idles and so miss most of the work of a CPU that is only
 * partly busy. The sampled sum is kept as a cross-check.
 */
#define LG_MAX_PIDS 2048u
struct lg_pid_ticks {
	int pid;
	uint64_t ticks;
};
struct lg_stat {
	uint64_t t_ns;
	/* every other process's utime+stime (not the server, not us, not ksoftirqd) */
	uint64_t softirqd; /* ksoftirqd/N threads' utime+stime */
	uint32_t n_others;
	struct lg_pid_ticks others[LG_MAX_PIDS];
	uint64_t cpu_sampled; /* user+nice+system+irq+softirq of stat_cpu, clock ticks */
	uint64_t cpu_idle;    /* idle+iowait+steal of stat_cpu, clock ticks */
	uint64_t proc;        /* server utime+stime, clock ticks */
};
void lg_stat_take(const struct lg_opts *o, struct lg_stat *s);
/* Clock ticks other processes ran between a and b (those alive at b). */
uint64_t lg_others_ticks(const struct lg_stat *a, const struct lg_stat *b);
/* VmRSS of pid in kB, 0 when unknown. */
uint64_t lg_rss_kb(int pid);
double lg_tick_ns(void);

/* Log-linear latency histogram (about 1.5 % resolution). */
#define LG_HIST_SUB     64u
#define LG_HIST_BUCKETS (LG_HIST_SUB * 40u)
struct lg_hist {
	uint64_t n;
	uint64_t b[LG_HIST_BUCKETS];
};
void lg_hist_add(struct lg_hist *h, uint64_t ns);
/* Value at quantile q (0..1) in ns; 0 for an empty histogram. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

/* Print the measured window as key=value pairs (common to every mode). */
void lg_print_stat(const struct lg_stat *a, const struct lg_stat *b, uint64_t units,
                   const char *unit_name);

/* --------------------------------------------------------------- lg_turn.c */

/* What a session still has to do, in order. */
enum lg_step {
	LG_STEP_ALLOCATE,
	LG_STEP_PERMISSION,
	LG_STEP_CHANNEL,
	LG_STEP_REFRESH0,
	LG_STEP_DONE,
	LG_STEP_FAILED,
};

struct lg_sess {
	int fd;
	uint32_t idx;       /* epoll tag */
	uint32_t src;       /* source-address index (nonce cache slot) */
	uint8_t reopens;    /* new client ports after a 437 */
	uint8_t prog;       /* LG_PROG_*: the steps this session runs */
	uint8_t step;       /* enum lg_step */
	uint8_t tries;      /* sends of the current request */
	uint8_t challenges; /* 401/438 answers to the current step */
	uint64_t deadline;  /* retransmission time, ns */
	uint8_t txid[TERN_STUN_TXID_LEN];
	uint16_t chan;
	struct tern_addr peer;    /* XOR-PEER-ADDRESS for permission/channel */
	struct tern_addr relayed; /* from the Allocate success */
	uint8_t nonce_len;
	uint8_t nonce[LG_NONCE_MAX];
};

enum lg_prog {
	LG_PROG_ALLOC_PERM,      /* Allocate, CreatePermission (indications) */
	LG_PROG_ALLOC_PERM_CHAN, /* ... and ChannelBind */
	LG_PROG_CYCLE,           /* Allocate, Refresh 0 */
	LG_PROG_RELEASE,         /* Refresh 0 */
};

/* Client-side TURN state shared by every session. */
struct lg_turn {
	const struct lg_opts *o;
	int ep; /* epoll set the sessions' sockets are in */
	uint8_t key[16];
	bool have_key;
	uint8_t realm_len;
	char realm[LG_REALM_MAX];
	/* nonce cache, one per source address (o->nonce_cache) */
	uint8_t (*nonces)[LG_NONCE_MAX];
	uint8_t *nonce_lens;
	uint32_t n_src;
	/* counters */
	uint64_t requests, responses, challenges, errors, timeouts, last_error, reopens;
	uint64_t txseq;
};

int lg_turn_init(struct lg_turn *t, const struct lg_opts *o, uint32_t n_src);
void lg_turn_free(struct lg_turn *t);
/* Open a session's socket (bound to source address src) and start prog. */
int lg_sess_start(struct lg_turn *t, struct lg_sess *s, uint32_t idx, uint32_t src, uint8_t prog);
/* Feed the datagram that arrived on s->fd; true when s changed step. */
bool lg_sess_input(struct lg_turn *t, struct lg_sess *s, const uint8_t *buf, size_t len);
/* Retransmit when due; true when the session just failed (too many tries). */
bool lg_sess_timer(struct lg_turn *t, struct lg_sess *s, uint64_t now);
/* Read what arrived on s->fd; true when s just became DONE or FAILED. */
bool lg_sess_drain(struct lg_turn *t, struct lg_sess *s);
/* Restart s on its socket with another program (e.g. LG_PROG_RELEASE). */
void lg_sess_restart(struct lg_turn *t, struct lg_sess *s, uint8_t prog);
/*
 * Run sessions [0, n) until each is DONE or FAILED, at most `window` at a
 * time (starting the not yet started ones with prog when start is true),
 * for at most limit_s seconds. Returns how many finished DONE.
 */
size_t lg_turn_run(struct lg_turn *t, struct lg_sess *s, size_t n, unsigned window, bool start,
                   uint8_t prog, double limit_s);
/* The cycle mode: allocate + release as fast as window/rate allow. */
int lg_cycle_main(const struct lg_opts *o);
/* The hold mode: N allocations with a permission and a channel, then RSS. */
int lg_hold_main(const struct lg_opts *o);

/* --------------------------------------------------------------- lg_data.c */

/* The data phase for relay, echo and binding modes. */
int lg_data_main(const struct lg_opts *o);

#endif /* TERN_LOADGEN_H */
