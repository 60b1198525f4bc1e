/*
 * soak.h - tern-soak's shared pieces: options, counters, the client
 * connection with its one outstanding STUN transaction (soak_conn.c), the
 * long-lived checksummed streams (soak_flow.c), allocation churn
 * (soak_churn.c) and hostile traffic (soak_hostile.c).
 *
 * tern-soak is a test client, not part of the server: it runs against one
 * ternd over loopback for a long time and checks that every valid request
 * is served and every byte of every stream arrives, in order, unchanged.
 */
#ifndef TERN_SOAK_H
#define TERN_SOAK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_codec.h"

#define SOAK_PKT_MAX    1500u /* largest datagram sent or expected */
#define SOAK_REQ_MAX    1024u
#define SOAK_NONCE_MAX  128u
#define SOAK_REALM_MAX  128u
#define SOAK_STREAM_CAP 16384u /* TCP reassembly buffer */
#define SOAK_HDR_LEN    24u    /* stream payload header, see soak_flow.c */

struct soak_opts {
	struct sockaddr_in server;
	const char *user;
	const char *pass;
	unsigned udp_flows;    /* long-lived UDP allocations with a stream */
	unsigned tcp_flows;    /* long-lived allocations over TCP */
	double rate;           /* stream packets per second per flow and direction */
	unsigned size;         /* stream payload bytes (>= SOAK_HDR_LEN) */
	double duration;       /* seconds of traffic */
	double interval;       /* seconds between progress lines */
	double refresh;        /* seconds between Refresh + ChannelBind of a flow */
	double churn_rate;     /* allocation cycles started per second */
	unsigned churn_par;    /* cycles in flight at most */
	unsigned churn_pkts;   /* ChannelData round trips per cycle */
	double hostile_rate;   /* hostile datagrams per second */
	double rto;            /* first retransmission, seconds */
	int pid;               /* ternd's pid for RSS, 0 = none */
	uint16_t metrics_port; /* ternd's metrics port for the end check, 0 = none */
	unsigned seed;
	bool verbose;
};

struct soak_stats {
	/* streams */
	uint64_t sent, received; /* stream packets, both directions */
	uint64_t lost, reordered, corrupt, duplicated;
	uint64_t to_peer, to_client; /* valid datagrams the relay must carry */
	/* requests */
	uint64_t requests, retransmits, challenges, refreshes, binds;
	uint64_t churned; /* full allocation cycles */
	uint64_t hostile, hostile_answers, hostile_sources, denied_403;
	/* failures */
	uint64_t errors;      /* any failure: unserved request, bad data, ... */
	uint64_t lost_allocs; /* 437 to a Refresh of a live allocation */
	uint64_t unexpected;  /* data from where none should come */
};

/* Outcome of a connection's transaction. */
enum soak_tx {
	SOAK_TX_IDLE,
	SOAK_TX_PENDING,
	SOAK_TX_OK,
	SOAK_TX_ERROR, /* error response: conn->code */
	SOAK_TX_TIMEOUT,
};

/* A request to send: the method and what it carries. */
struct soak_req {
	uint16_t method;
	long lifetime; /* LIFETIME, < 0 for none */
	bool has_peer; /* XOR-PEER-ADDRESS */
	struct tern_addr peer;
	uint16_t channel; /* CHANNEL-NUMBER, 0 for none */
};

/* A client 5-tuple (UDP socket or TCP connection) to ternd. */
struct soak_conn {
	int fd;
	bool tcp;
	struct tern_addr relayed; /* from the Allocate success */
	uint32_t lifetime;        /* LIFETIME of the last Allocate/Refresh success */
	uint8_t nonce_len;
	uint8_t nonce[SOAK_NONCE_MAX];
	/* the one outstanding transaction */
	enum soak_tx tx;
	struct soak_req req;
	uint8_t txid[TERN_STUN_TXID_LEN];
	uint8_t tries, challenges;
	uint64_t due_ms;
	uint16_t code; /* ERROR-CODE of the last error response */
	/* TCP reassembly */
	size_t in_len;
	uint8_t in[SOAK_STREAM_CAP];
};

struct soak;

/* ---------------------------------------------------------- soak_conn.c */

uint64_t soak_now_ms(void);
/* xorshift64*: the run's deterministic pseudo-random numbers. */
uint64_t soak_rand(struct soak *s);
void soak_to_sin(const struct tern_addr *a, struct sockaddr_in *s);
void soak_from_sin(const struct sockaddr_in *s, struct tern_addr *a);
struct tern_addr soak_ipv4(uint32_t ip_host, uint16_t port);
/* Nonblocking UDP socket bound to ip_host:0 (large buffers); -1 on error. */
int soak_udp_socket(uint32_t ip_host);
/* The local address of fd. */
struct tern_addr soak_local(int fd);
/* Open c to the server (UDP or TCP from ip_host); false on error. */
bool soak_conn_open(struct soak *s, struct soak_conn *c, bool tcp, uint32_t ip_host);
void soak_conn_close(struct soak *s, struct soak_conn *c);
/* Send bytes on c (ChannelData is padded by the caller for TCP). */
bool soak_conn_send(struct soak *s, struct soak_conn *c, const uint8_t *buf, size_t len);
/* Start a transaction (authenticated once a nonce is known). */
void soak_tx_start(struct soak *s, struct soak_conn *c, const struct soak_req *q);
/* Retransmit or time out; returns c->tx. */
enum soak_tx soak_tx_timer(struct soak *s, struct soak_conn *c, uint64_t now);
/*
 * Read what is waiting on c. STUN answers go to the transaction (c->tx
 * changes); ChannelData and Data indications go to on_data with a channel
 * (0 for a Data indication). Returns false when a TCP connection closed.
 */
typedef void soak_data_fn(struct soak *s, void *owner, uint16_t channel, const uint8_t *data,
                          size_t len);
bool soak_conn_read(struct soak *s, struct soak_conn *c, soak_data_fn *on_data, void *owner);
/* ChannelData for c's transport (padded over TCP) into buf; its length or 0. */
size_t soak_channel_data(const struct soak_conn *c, uint16_t channel, const uint8_t *data,
                         size_t len, uint8_t *buf, size_t cap);
/* Record a failure: count it and print the first ones with the reason. */
void soak_error(struct soak *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Register fd with the event set under tag. */
void soak_watch(struct soak *s, int fd, uint64_t tag);

/* ---------------------------------------------------------- soak_flow.c */

struct soak_flows;
struct soak_flows *soak_flows_new(struct soak *s);
void soak_flows_free(struct soak *s, struct soak_flows *f);
/* Send what is due, run timers. stop: no more stream packets. */
void soak_flows_tick(struct soak *s, struct soak_flows *f, uint64_t now, bool stop);
void soak_flows_event(struct soak *s, struct soak_flows *f, uint32_t idx, bool peer);
/* Whether every flow is streaming (setup done). */
bool soak_flows_ready(const struct soak_flows *f);
/* Release every allocation (Refresh 0); true when all are done. */
bool soak_flows_close(struct soak *s, struct soak_flows *f, uint64_t now);
/* At the end: count what never arrived as lost. */
void soak_flows_account(struct soak *s, struct soak_flows *f);
/* A client socket of a live UDP flow and its relayed address, for hostile traffic. */
bool soak_flows_pick(struct soak *s, struct soak_flows *f, int *fd, struct tern_addr *relayed);
/* Ask a flow to try a CreatePermission to a denied peer (expects 403). */
void soak_flows_deny_probe(struct soak *s, struct soak_flows *f, const struct tern_addr *peer);

/* --------------------------------------------------------- soak_churn.c */

struct soak_churn;
struct soak_churn *soak_churn_new(struct soak *s);
void soak_churn_free(struct soak *s, struct soak_churn *c);
/* Start cycles at the configured rate (none when stop), run timers. */
void soak_churn_tick(struct soak *s, struct soak_churn *c, uint64_t now, bool stop);
void soak_churn_event(struct soak *s, struct soak_churn *c, uint32_t idx);
/* Whether no cycle is in flight. */
bool soak_churn_idle(const struct soak_churn *c);

/* ------------------------------------------------------- soak_hostile.c */

struct soak_hostile;
struct soak_hostile *soak_hostile_new(struct soak *s);
void soak_hostile_free(struct soak_hostile *h);
void soak_hostile_tick(struct soak *s, struct soak_hostile *h, struct soak_flows *f, uint64_t now);

/* ---------------------------------------------------------- tern_soak.c */

/* Event tags: kind in the top bits, index below. */
#define SOAK_TAG_FLOW_CLIENT 1u
#define SOAK_TAG_FLOW_PEER   2u
#define SOAK_TAG_CHURN       3u
#define SOAK_TAG_ECHO        4u
#define SOAK_TAG(kind, idx)  (((uint64_t)(kind) << 32) | (uint32_t)(idx))

struct soak {
	struct soak_opts o;
	struct soak_stats st;
	int ep; /* epoll set */
	uint64_t rng;
	uint64_t txseq;
	bool have_key;
	uint8_t key[16];
	uint8_t realm_len;
	char realm[SOAK_REALM_MAX];
	unsigned printed_errors;
	int echo_fd; /* the churn cycles' echo peer */
	struct tern_addr echo;
};

#endif /* TERN_SOAK_H */
