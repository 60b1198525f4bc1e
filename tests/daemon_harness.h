/*
 * daemon_harness.h - helpers for the ternd tests over loopback (test_daemon):
 * a ternd process of the test's own (config file in a mkdtemp directory,
 * free ports, readiness by Binding, stop by PID), a STUN/TURN client over
 * UDP, TCP or TLS built on the codec, a UDP peer, a self-signed certificate
 * and the metrics endpoint. Helpers fail the running cmocka test on any
 * set-up error; protocol results are returned for the test to check.
 */
#ifndef TERN_DAEMON_HARNESS_H
#define TERN_DAEMON_HARNESS_H

#include "tern_codec.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Path of the ternd binary under test (argv[1] of test_daemon). */
extern const char *dh_ternd_path;

/* ------------------------------------------------------------- process */

#define DH_PATH_MAX  256
#define DH_EXTRA_MAX 2048

struct dh_daemon {
	char dir[64];           /* mkdtemp directory, removed by dh_cleanup */
	char conf[DH_PATH_MAX]; /* dir/ternd.conf */
	char log[DH_PATH_MAX];  /* dir/ternd.log: ternd's stdout and stderr */
	char cert[DH_PATH_MAX], pkey[DH_PATH_MAX];
	pid_t pid; /* 0 when not running */
	uint16_t port, tls_port, metrics_port;
	uint16_t min_port, max_port;
	unsigned threads;
	unsigned stop_grace;
	bool ipv6; /* listen and relay on ::1 as well as 127.0.0.1 */
	bool tls;  /* generate a certificate and listen on tls_port */
	bool rfc5766;
	unsigned nofile;          /* RLIMIT_NOFILE for ternd; 0 = inherited */
	const char *user;         /* "name:password" line, or NULL */
	char extra[DH_EXTRA_MAX]; /* more config lines, appended as written */
};

/* Temp dir, free ports (listener, TLS, metrics, 4 relay ports), defaults. */
void dh_init(struct dh_daemon *d);
/*
 * cmocka fixtures: *state becomes a new dh_init()ed daemon (not started);
 * the teardown stops it if it runs (SIGKILL, a stopped one too), removes
 * its directory, frees it and clears dh_source_ip.
 */
int dh_setup(void **state);
int dh_teardown(void **state);
/* Relay port range of n free ports. */
void dh_set_relay_range(struct dh_daemon *d, unsigned n);
/* Append one line to the configuration (printf format). */
void dh_extra(struct dh_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* (Re)write the configuration file atomically (write + rename). */
void dh_write_config(const struct dh_daemon *d);
/* Write the config, start ternd, wait until it answers a Binding (bounded). */
void dh_start(struct dh_daemon *d);
/* Send sig; wait up to timeout_ms for the exit. true and *status if it exited. */
bool dh_signal_wait(struct dh_daemon *d, int sig, int timeout_ms, int *status);
/* SIGTERM; assert exit 0 within a bound and no sanitizer report in the log. */
void dh_stop_clean(struct dh_daemon *d);
/* Teardown: SIGKILL and reap if still running (printing its log), rm dir. */
void dh_cleanup(struct dh_daemon *d);
/* Whether the log contains text now. */
bool dh_log_contains(const struct dh_daemon *d, const char *text);
/*
 * Whether it does within DH_LOG_WAIT_MS: workers write their lines up to
 * 100 ms after the event (TERND_LOG_HOLD_MS), so a line a worker logs is
 * waited for, not expected at once.
 */
#define DH_LOG_WAIT_MS 2000
bool dh_log_shows(const struct dh_daemon *d, const char *text);
/* The worker the log says took the allocation of 127.0.0.1:client_port, or -1. */
struct dh_client;
/* The worker that logged the allocation of client c (from its log line). */
int dh_client_worker(const struct dh_daemon *d, const struct dh_client *c);
/*
 * Source address for the next dh_connect() (NULL: the kernel's choice).
 * ternd steers each client IP to one worker, so tests that need clients on
 * several workers give them different loopback addresses.
 */
extern const char *dh_source_ip;
/* "127.0.0.<2 + i>": a distinct loopback source per client index. */
const char *dh_loopback_source(unsigned i);
/* Run ternd with args (NULL-terminated); stderr into err; returns exit code. */
int dh_run(const char *const *args, char *err, size_t cap);

/* GET path from the metrics port into buf (the whole HTTP response). */
size_t dh_http_get(const struct dh_daemon *d, const char *path, char *buf, size_t cap);
/* Value of a metric line "name value", or -1 when absent. */
long long dh_metric(const struct dh_daemon *d, const char *name);
/* Poll a metric until it equals value; false after timeout_ms. */
bool dh_wait_metric(const struct dh_daemon *d, const char *name, long long value, int timeout_ms);

/* Self-signed EC P-256 certificate (CN=localhost) written as PEM files. */
void dh_make_cert(const char *cert_path, const char *key_path);

/* Monotonic milliseconds. */
uint64_t dh_now_ms(void);

/* -------------------------------------------------------------- client */

enum dh_transport { DH_UDP, DH_TCP, DH_TLS };

#define DH_MSG_CAP 4096u

struct dh_client {
	enum dh_transport t;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct tern_addr local;     /* the client's own address */
	uint8_t in[2 * DH_MSG_CAP]; /* stream reassembly */
	size_t in_len;
	char user[600];
	char realm[128];
	uint8_t nonce[256];
	size_t nonce_len;
	uint8_t key[TERN_KEY_MAX];
	size_t key_len;
	bool have_nonce;
	struct tern_addr relayed; /* XOR-RELAYED-ADDRESS of the last Allocate */
	struct tern_addr mapped;  /* XOR-MAPPED-ADDRESS of the last answer */
	uint32_t lifetime;        /* LIFETIME of the last Allocate or Refresh success */
	uint64_t token;           /* RESERVATION-TOKEN, 0 if none */
};

/* A response: the bytes and a parsed view of them. */
struct dh_resp {
	uint8_t buf[DH_MSG_CAP];
	size_t len;
	struct tern_stun_msg msg;
	uint16_t code; /* 0 for success, else ERROR-CODE */
};

/* What a request carries besides the method. */
struct dh_req {
	uint16_t method;
	bool auth;                    /* USERNAME, REALM, NONCE, MESSAGE-INTEGRITY */
	long lifetime;                /* LIFETIME; < 0 for none */
	const struct tern_addr *peer; /* XOR-PEER-ADDRESS, or NULL */
	uint16_t channel;             /* CHANNEL-NUMBER; 0 for none */
	uint8_t family;               /* REQUESTED-ADDRESS-FAMILY; 0 for none */
	bool even_port_r;             /* EVEN-PORT with R set */
	uint64_t token;               /* RESERVATION-TOKEN; 0 for none */
};

#define DH_TIMEOUT (-1)

struct tern_addr dh_addr(const char *ip, uint16_t port);
bool dh_addr_eq(const struct tern_addr *a, const struct tern_addr *b);
/* Connect to ip:port (NULL if it fails). */
struct dh_client *dh_connect(enum dh_transport t, const char *ip, uint16_t port);
void dh_close(struct dh_client *c);
void dh_send(struct dh_client *c, const void *buf, size_t len);
/* One datagram or stream frame; length, or DH_TIMEOUT. */
long dh_recv(struct dh_client *c, uint8_t *buf, size_t cap, int timeout_ms);
/*
 * Send the request (retransmitted over UDP) and wait for its answer.
 * Returns 0 for a success response, the error code, or DH_TIMEOUT.
 * Authenticated requests answered 438 are retried with the new nonce.
 */
int dh_transact(struct dh_client *c, const struct dh_req *q, struct dh_resp *r);
/* Binding; 0 and c->mapped on success. */
int dh_binding(struct dh_client *c);
/*
 * Allocate with the long-term mechanism: an unauthenticated request, the
 * 401's realm and nonce, then the authenticated one. q may be NULL (UDP
 * relay, default lifetime); q->method and q->auth are set here.
 * Returns 0 (c->relayed set) or the error code / DH_TIMEOUT.
 */
int dh_allocate(struct dh_client *c, const char *user, const char *password,
                const struct dh_req *q);
int dh_refresh(struct dh_client *c, long lifetime);
int dh_permit(struct dh_client *c, const struct tern_addr *peer);
int dh_channel_bind(struct dh_client *c, uint16_t channel, const struct tern_addr *peer);
void dh_send_indication(struct dh_client *c, const struct tern_addr *peer, const void *data,
                        size_t len);
/* ChannelData, padded to 4 on TCP and TLS. */
void dh_send_channel(struct dh_client *c, uint16_t channel, const void *data, size_t len);
/*
 * Wait for relayed data: a Data indication (*channel = 0, *peer set) or
 * ChannelData (*channel set). Returns the payload length or DH_TIMEOUT.
 */
long dh_recv_data(struct dh_client *c, uint16_t *channel, struct tern_addr *peer, uint8_t *buf,
                  size_t cap, int timeout_ms);

/* ---------------------------------------------------------------- peer */

/* UDP socket bound to ip, port 0; *addr receives its address. */
int dh_peer_open(const char *ip, struct tern_addr *addr);
void dh_peer_send(int fd, const struct tern_addr *to, const void *data, size_t len);
/* One datagram; length or DH_TIMEOUT. */
long dh_peer_recv(int fd, struct tern_addr *from, uint8_t *buf, size_t cap, int timeout_ms);

#endif /* TERN_DAEMON_HARNESS_H */
