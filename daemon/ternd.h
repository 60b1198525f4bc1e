/*
 * ternd.h - what the daemon's modules share: the process-wide state built
 * from the configuration (read-only once workers run), and the worker.
 */
#ifndef TERND_TERND_H
#define TERND_TERND_H

#include "config.h"
#include "loop.h"
#include "tern_relay.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#define TERND_BATCH       32   /* datagrams per recvmmsg/sendmmsg */
#define TERND_DGRAM_MAX   9216 /* largest datagram relayed (jumbo frames) */
#define TERND_MAX_WORKERS 64

/* Loop entry kinds. */
enum ternd_kind {
	TERND_K_UDP_LISTEN = 1,
	TERND_K_TCP_LISTEN,
	TERND_K_TLS_LISTEN,
	TERND_K_RELAY,
	TERND_K_CONN,
	TERND_K_CONTROL,
};

/* One address:port to listen on, per transport. */
struct ternd_endpoint {
	struct tern_addr addr;
	enum tern_transport transport;
};

/* Why a TCP or TLS client connection closed (tern_conn_closed{reason=...}). */
enum ternd_close_reason {
	TERND_CLOSE_PEER,    /* the client closed or reset it (or sent a bad TLS record) */
	TERND_CLOSE_IDLE,    /* no traffic for longer than the longest allocation lifetime */
	TERND_CLOSE_SLOW,    /* handshake or frame not finished within its timeout */
	TERND_CLOSE_TLS,     /* the TLS handshake or a record failed */
	TERND_CLOSE_ERROR,   /* a socket error */
	TERND_CLOSE_FRAMING, /* bytes that frame as neither STUN nor ChannelData */
	TERND_CLOSE_REASONS
};

extern const char *const ternd_close_reason_names[TERND_CLOSE_REASONS]; /* conn.c */

/* Counters a worker publishes for the metrics endpoint (relaxed atomics). */
struct ternd_counters {
	_Atomic uint64_t allocations, permissions, channels;
	_Atomic uint64_t pkts_to_peer, bytes_to_peer, pkts_to_client, bytes_to_client;
	_Atomic uint64_t dropped; /* by the daemon itself (truncated, queue full...) */
	_Atomic uint64_t relay_drops[TERN_DROP_REASONS]; /* by the relay, by reason */
	_Atomic uint64_t auth_failures, errors_sent;
	_Atomic uint64_t allocs_created, allocs_expired, allocs_deleted, port_exhausted;
	_Atomic uint64_t errors_by_code[7]; /* 400, 401, 403, 437, 438, 441, other */
	_Atomic uint64_t tcp_connections, tcp_rejected, send_errors, recv_errors, gso_sends;
	_Atomic uint64_t
	    udp_kernel_drops; /* dropped by the kernel at this worker's UDP listeners */
	_Atomic uint64_t conn_closed[TERND_CLOSE_REASONS];
};

/*
 * Built once in main(); workers only read it. relay_cfg and tls are replaced
 * on SIGHUP under reload_lock, and workers read them only under that lock.
 */
struct ternd_shared {
	struct ternd_endpoint endpoints[3 * TERND_MAX_LISTEN];
	size_t n_endpoints;
	struct tern_addr relay_bind[2]; /* where relay sockets bind, per family (v4, v6) */
	struct tern_relay_config relay_cfg;
	uint8_t nonce_key[32];
	unsigned workers;
	enum ternd_loop_backend loop_backend;
	uint32_t udp_rcvbuf, udp_sndbuf; /* UDP listener buffers to ask for; 0 = kernel's */
	uint32_t max_connections;        /* per worker */
	uint64_t conn_idle_ms;           /* a connection with no traffic this long closes */
	uint64_t handshake_ms;           /* tls-handshake-timeout */
	uint64_t frame_ms;               /* stream-frame-timeout: a first frame, or one begun */
	SSL_CTX *tls;                    /* NULL when TLS is off; swapped under reload_lock */
	pthread_mutex_t reload_lock;
	_Atomic unsigned reload_gen;    /* bumped by SIGHUP; workers reconfigure */
	_Atomic int stopping;           /* SIGTERM/SIGINT: drain, then exit */
	_Atomic unsigned drained;       /* workers with no allocation left while stopping */
	uint64_t stop_deadline;         /* monotonic ms when draining ends */
	int wake_fd[TERND_MAX_WORKERS]; /* write ends of the workers' control pipes */
	struct ternd_counters counters[TERND_MAX_WORKERS];
};

/* Runs one worker until the process stops; arg is a struct ternd_worker_arg. */
struct ternd_worker_arg {
	struct ternd_shared *shared;
	unsigned index;
	int control_fd; /* read end of this worker's control pipe */
	int ready_fd;   /* one byte written once set up: 0 ok, 1 failed */
};
void *ternd_worker_main(void *arg);

/* setup.c: from configuration to shared state */
/* Everything but the workers: endpoints, relay config, TLS. 0 or -1 (logged). */
int ternd_shared_init(struct ternd_shared *sh, const struct ternd_config *cfg);
/* SIGHUP: rebuild the relay config and TLS context from cfg and swap them in. */
int ternd_shared_reload(struct ternd_shared *sh, const struct ternd_config *cfg);
void ternd_shared_free(struct ternd_shared *sh);

#endif /* TERND_TERND_H */
