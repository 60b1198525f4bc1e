/*
 * daemon_flows.h - TURN scenarios shared by the daemon tests (test_daemon):
 * a whole allocation life over one transport, REST credentials, relaying
 * under load, draining, reservations. Built on daemon_harness.h; every
 * helper fails the running cmocka test when the daemon misbehaves.
 */
#ifndef TERN_DAEMON_FLOWS_H
#define TERN_DAEMON_FLOWS_H

#include "daemon_harness.h"

#define DH_USER     "alice" /* dh_init's default user */
#define DH_PASSWORD "alice-pw"
#define DH_WAIT_MS  2000
#define DH_QUIET_MS 300 /* how long "nothing arrives" is watched */

/* Connected client (fails the test if it cannot connect). */
struct dh_client *dh_connect_ok(const struct dh_daemon *d, enum dh_transport t, const char *ip);
/* Connected client with an allocation as DH_USER. */
struct dh_client *dh_allocated(const struct dh_daemon *d, enum dh_transport t, const char *ip);

/*
 * 401, Allocate (relay family `family`), CreatePermission, Send indication
 * to a peer socket and Data indication back, ChannelBind and ChannelData
 * both ways (padded on TCP/TLS), then Refresh 0: the peer's data is dropped.
 */
void dh_turn_flow(struct dh_daemon *d, enum dh_transport t, const char *ip, uint8_t family);

/* Allocate (then delete) with TURN REST credentials "<expiry>:alice"; 0 or the error. */
int dh_rest_allocate(const struct dh_daemon *d, long long expiry, const char *secret);

/* Relaying load: clients with a channel each to one peer socket that echoes. */
#define DH_LOAD_CLIENTS 6
#define DH_LOAD_ROUNDS  8
#define DH_LOAD_BURST   4

struct dh_load {
	struct dh_client *c[DH_LOAD_CLIENTS];
	int pfd;
	struct tern_addr peer;
	unsigned got[DH_LOAD_CLIENTS];
};

void dh_load_start(struct dh_daemon *d, struct dh_load *l);
/*
 * Every client sends DH_LOAD_BURST ChannelData; between(arg) runs while
 * they are in flight; the peer echoes each; every echo must come back.
 */
void dh_load_round(struct dh_load *l, unsigned round, void (*between)(void *), void *arg);

/* After SIGTERM: Allocate until the answer is not success (508 expected). */
int dh_allocate_while_draining(const struct dh_daemon *d);
/* Each of the n clients not gone sends one ChannelData; the peer gets them all. */
void dh_drain_round(struct dh_client **c, const bool *gone, unsigned n, int pfd);
/* Refresh 0 the allocations on c[0]'s worker (gone[i] set); others stay. */
void dh_end_one_worker(const struct dh_daemon *d, struct dh_client **c, bool *gone, unsigned n);

/* EVEN-PORT R=1 in `family`, then RESERVATION-TOKEN from a second client: want. */
void dh_reservation(const struct dh_daemon *d, uint8_t family, int want);

#endif /* TERN_DAEMON_FLOWS_H */
