/*
 * worker.h - one worker: a relay instance, its sockets and its event loop.
 * Workers share nothing mutable; the kernel spreads clients over them by
 * SO_REUSEPORT, and stateless nonces let any worker verify any client.
 */
#ifndef TERND_WORKER_H
#define TERND_WORKER_H

#include "sendq.h"
#include "ternd.h"

#include <sys/socket.h>

#define TERND_HEADROOM 48u /* >= TERN_RELAY_HEADROOM */
#define TERND_TAILROOM 4u
#define TERND_BUF      (TERND_HEADROOM + TERND_DGRAM_MAX + TERND_TAILROOM)
/* Connection ids start here; smaller listener ids are UDP listener indexes. */
#define TERND_CONN_ID_BASE 0x10000u
#define TERND_EVENTS       256 /* ready descriptors handled per loop turn */
/*
 * Receive buffers shared by every socket ready in one loop round: the
 * relay runs over all of them and the round's sends go out in one flush
 * (docs/benchmarks.md), unless the pool fills first.
 */
#define TERND_POOL        256
#define TERND_RETIRED_MAX 64 /* relay sockets whose close waits for the flush */

struct ternd_listener {
	int fd;
	size_t slot;
	struct ternd_endpoint ep;
	bool wildcard; /* bound to 0.0.0.0 or ::: local address comes from pktinfo */
};

/* A relay socket, by relay handle. */
struct ternd_relay_sock {
	uint32_t handle; /* 0 = unused */
	int fd;
	size_t slot;
};

struct ternd_conn; /* conn.c */

struct ternd_worker {
	unsigned index;
	struct ternd_shared *shared;
	struct ternd_counters *counters;
	struct tern_relay *relay;
	struct ternd_loop loop;
	struct ternd_listener listeners[3 * TERND_MAX_LISTEN];
	size_t n_listeners;
	struct ternd_relay_sock *socks; /* indexed by handle & socks_mask */
	size_t socks_mask;
	struct ternd_conn **conns; /* by id - TERND_CONN_ID_BASE */
	uint32_t max_conns;
	uint32_t n_conns;
	int control_fd;
	uint8_t rnd[256]; /* entropy for the relay, served from the end */
	size_t rnd_left;
	struct ternd_loop_event events[TERND_EVENTS];
	uint64_t conn_check_at;       /* next sweep for timed-out connections */
	uint64_t accept_paused_until; /* out of descriptors: accept again then */
	uint64_t conn_deadline;
	unsigned reload_gen;
	uint64_t now;
	uint64_t udp_drops; /* kernel drops at the UDP listeners, last seen */
	bool draining;
	bool drained; /* counted in shared->drained */
	/* one batch of actions */
	struct tern_relay_out out;
	struct tern_relay_action *actions;
	uint8_t *scratch;
	/* the round's receive pool: [0, pool_used) hold datagrams fed to the relay */
	uint8_t (*rbuf)[TERND_BUF];
	size_t pool_used;
	struct mmsghdr rmsg[TERND_POOL];
	struct iovec riov[TERND_POOL];
	struct sockaddr_storage raddr[TERND_POOL];
	uint8_t rctl[TERND_POOL][64];
	/* datagrams to send at the end of the round */
	struct ternd_sendq sendq;
	/* relay sockets released this round, closed after its flush */
	int retired[TERND_RETIRED_MAX];
	size_t n_retired;
};

/* Feed one client datagram or stream frame to the relay and carry out the result. */
void ternd_worker_client_input(struct ternd_worker *w, const struct tern_relay_client *from,
                               const uint8_t *buf, size_t len);
void ternd_worker_client_closed(struct ternd_worker *w, const struct tern_relay_client *from);
/*
 * Carry out and clear the pending actions; flush sends. This also empties
 * the receive pool: nothing refers to its buffers afterwards.
 */
void ternd_worker_execute(struct ternd_worker *w);

/* conn.c: TCP and TLS client connections */
int ternd_conns_init(struct ternd_worker *w);
void ternd_conns_free(struct ternd_worker *w);
void ternd_conns_accept(struct ternd_worker *w, const struct ternd_listener *l);
void ternd_conn_event(struct ternd_worker *w, uint32_t id, short revents);
/* Copy data into the connection's output; false (and counted) if it had to be dropped. */
bool ternd_conn_send(struct ternd_worker *w, uint32_t id, const uint8_t *data, size_t len);
/* Close timed-out connections; returns the next timeout (monotonic ms) or UINT64_MAX. */
uint64_t ternd_conns_expire(struct ternd_worker *w);
/* Update the loop slot of a connection after the loop moved it. */
void ternd_conn_moved(struct ternd_worker *w, uint32_t id, size_t slot);

#endif /* TERND_WORKER_H */
