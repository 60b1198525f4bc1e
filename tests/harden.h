/*
 * harden.h - helpers for test_harden_policy (ternd against hostile input
 * over loopback): every IPv4-in-IPv6 spelling of an address, a wildcard
 * UDP sink that reports where each datagram was sent, a paced UDP flood
 * from many loopback sources, ternd's resident set size, and a search for
 * byte strings in what ternd wrote. Built on daemon_harness.h.
 */
#ifndef TERN_HARDEN_H
#define TERN_HARDEN_H

#include "daemon_harness.h"

#include <pthread.h>
#include <stdatomic.h>

/* ------------------------------------------------------------ spellings */

/*
 * The ways to write an IPv4 address that the peer policy must see through
 * (byte layouts in relay/policy.c): as is, IPv4-mapped, IPv4-compatible,
 * 6to4, NAT64 /96, NAT64 /48 (RFC 6052 u octet zero, and an attacker's
 * non-zero u octet and suffix), Teredo (client address and port inverted).
 */
enum hp_form {
	HP_PLAIN,
	HP_MAPPED,
	HP_COMPAT,
	HP_6TO4,
	HP_NAT64,
	HP_NAT64_48,
	HP_NAT64_48_U,
	HP_TEREDO,
	HP_NFORMS
};

/* v4 written in form, with port as the transport port. */
struct tern_addr hp_spell(const struct tern_addr *v4, enum hp_form form, uint16_t port);
/* Whether the relay treats form as another spelling of the IPv4 address. */
bool hp_form_is_v4(enum hp_form form);
const char *hp_form_name(enum hp_form form);
/* "[addr]:port" into buf. */
const char *hp_addr_str(const struct tern_addr *a, char *buf, size_t cap);

/* ---------------------------------------------------------- peer tables */

/* One peer address to try, and what the policy must say about it. */
struct hp_case {
	struct tern_addr addr; /* as the client writes it in XOR-PEER-ADDRESS */
	struct tern_addr dest; /* where the relay sends an allowed datagram */
	char label[80];
	bool allowed;
	bool deliver; /* allowed, and dest is a local socket of the test: send data */
};

#define HP_MAX_CASES 400

struct hp_table {
	struct hp_case c[HP_MAX_CASES];
	size_t n;
};

/* What a table is built from: the daemon, the sink, and two allocations. */
struct hp_env {
	const struct dh_daemon *d;
	uint16_t sink_port;
	struct tern_addr relayed4, relayed6; /* other clients' relayed addresses */
};

/* Default policy, with allowed-peer-ip=127.0.0.77 (HP_ALLOWED_ONE). */
#define HP_ALLOWED_ONE "127.0.0.77"
void hp_table_deny(struct hp_table *t, const struct hp_env *e);
/* The operator rules hp_table_allow_rules expects (config lines, NULL-ended). */
extern const char *const hp_allow_rules[];
void hp_table_allow_rules(struct hp_table *t, const struct hp_env *e);
/* allow-loopback-peers. */
void hp_table_allow_loopback(struct hp_table *t, const struct hp_env *e);

/* ----------------------------------------------------------------- sink */

/*
 * A dual-stack UDP socket bound to [::]:port (kernel's choice): it receives
 * every datagram sent to that port on any local address (127.0.0.0/8, ::1,
 * and 0.0.0.0 or ::, which Linux delivers locally), and reports the
 * destination address each one was sent to.
 */
struct hp_sink {
	int fd;
	uint16_t port;
};

void hp_sink_open(struct hp_sink *s);
/* One datagram: its length and destination (*to), or DH_TIMEOUT. */
long hp_sink_recv(const struct hp_sink *s, struct tern_addr *to, uint8_t *buf, size_t cap,
                  int timeout_ms);

/* ---------------------------------------------------------------- flood */

/*
 * A flood of unauthenticated requests to 127.0.0.1:port, paced at `rate`,
 * from `sources` distinct loopback addresses (source number n is
 * 127.<100 + n / 62500>.<1 + n / 250 % 250>.<1 + n % 250>, from n = first),
 * `per_source` requests each (at most 16), run by a thread of its own.
 * Every hot_every-th request also goes out from one fixed source (hot_ip),
 * whose answers are counted. method is TERN_STUN_BINDING or
 * TERN_TURN_ALLOCATE; every other Allocate of a source carries a made-up
 * USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (the hot source's never do).
 */
struct hp_flood {
	uint16_t port;
	unsigned first, sources, per_source, hot_every;
	unsigned rate; /* requests per second; 0: as fast as the socket takes them */
	uint16_t method;
	const char *hot_ip;
	/* results, valid after hp_flood_join */
	unsigned long sent, answers, hot_sent, hot_answers, hot_401;
	uint64_t hot_first_ms, hot_end_ms; /* first hot send; when its answers stopped */
	int error;                         /* errno of a set-up failure, or 0 */
	_Atomic bool running;              /* cleared when the last request is out */
	pthread_t thread;
};

/* Start the thread; false if it could not start (then do not join it). */
bool hp_flood_start(struct hp_flood *f);
void hp_flood_join(struct hp_flood *f);

/* --------------------------------------------------------------- process */

/* VmRSS of pid in KiB (from /proc/PID/status). */
long hp_rss_kib(pid_t pid);

/* Whether the file at path contains the len bytes of needle. */
bool hp_file_has(const char *path, const void *needle, size_t len);
/* Whether hay (hay_len bytes) contains needle. */
bool hp_mem_has(const void *hay, size_t hay_len, const void *needle, size_t len);

#endif /* TERN_HARDEN_H */
