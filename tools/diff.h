/*
 * diff.h - tern-diff, the differential check of ternd against coturn
 * (tools/ only): session scripts (diff_script.c), the two server processes
 * (diff_proc.c), a STUN/TURN client and UDP peers on the codec
 * (diff_client.c, diff_net.c), and the runner that compares what each
 * server answered (tern_diff.c). docs/differential.md describes the script
 * format and the results.
 */
#ifndef TERN_DIFF_H
#define TERN_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tern_codec.h"

#define DIFF_SERVERS   2u /* 0: ternd, 1: coturn */
#define DIFF_CLIENTS   6u /* clients per session: client=0..5 */
#define DIFF_PEERS     3u /* UDP peers per session: p1, p2, p3 */
#define DIFF_MAX_STEPS 64u
#define DIFF_MAX_EXPL  64u
#define DIFF_NAME_MAX  48u
#define DIFF_TEXT_MAX  320u
#define DIFF_MSG_CAP   4096u
#define DIFF_OUT_MAX   96u
#define DIFF_WAIT_MS   800  /* default wait for an answer that may not come */
#define DIFF_ANSWER_MS 1500 /* more for one server when the other answered */

/* ------------------------------------------------------------ scripts */

enum diff_action {
	DIFF_ACT_REQUEST,    /* a request of step.method */
	DIFF_ACT_RETRANSMIT, /* the client's previous request, byte for byte */
	DIFF_ACT_SEND,       /* Send indication to step.peer */
	DIFF_ACT_CHANNEL,    /* ChannelData on step.channel */
	DIFF_ACT_PEER_SEND,  /* peer step.peer sends to the client's relayed address */
	DIFF_ACT_INDICATION, /* an indication of step.method (no answer is due) */
};

enum diff_auth {
	DIFF_AUTH_NONE,     /* no credentials */
	DIFF_AUTH_GOOD,     /* USERNAME, REALM, NONCE, MESSAGE-INTEGRITY, right key */
	DIFF_AUTH_BADPW,    /* the same with a key from a wrong password */
	DIFF_AUTH_BADUSER,  /* a user the server does not know */
	DIFF_AUTH_BADNONCE, /* the last nonce with its final character changed */
	DIFF_AUTH_NOREALM,  /* MESSAGE-INTEGRITY but no REALM */
	DIFF_AUTH_NOMI,     /* USERNAME, REALM, NONCE but no MESSAGE-INTEGRITY */
	DIFF_AUTH_OTHER,    /* the second configured user, right key */
	DIFF_AUTH_SHA256,   /* PASSWORD-ALGORITHM SHA-256, MESSAGE-INTEGRITY-SHA256 */
};

enum diff_mangle {
	DIFF_MANGLE_NONE,
	DIFF_MANGLE_LENGTH,      /* header Length 4 more than the body */
	DIFF_MANGLE_MAGIC,       /* magic cookie changed */
	DIFF_MANGLE_SHORT,       /* only the first 16 bytes */
	DIFF_MANGLE_FINGERPRINT, /* FINGERPRINT value off by one */
	DIFF_MANGLE_TOPBITS,     /* top two bits of the type set */
	DIFF_MANGLE_ATTRLEN,     /* first attribute's length runs past the end */
};

enum diff_peer_kind {
	DIFF_PEER_NONE,
	DIFF_PEER_LOCAL,   /* one of the session's peer sockets (p1, p2) */
	DIFF_PEER_LITERAL, /* an address written in the script */
};

struct diff_peer_ref {
	enum diff_peer_kind kind;
	unsigned index;        /* DIFF_PEER_LOCAL */
	struct tern_addr addr; /* DIFF_PEER_LITERAL */
};

/* What the step's outcome shows besides the class and code. */
#define DIFF_SHOW_LIFETIME 0x01u /* LIFETIME value */
#define DIFF_SHOW_TOKEN    0x02u /* RESERVATION-TOKEN present */
#define DIFF_SHOW_PARITY   0x04u /* relayed port even or odd */
#define DIFF_SHOW_ADDRERR  0x08u /* ADDRESS-ERROR-CODE */
#define DIFF_SHOW_UNKNOWN  0x10u /* UNKNOWN-ATTRIBUTES */

enum diff_token { DIFF_TOKEN_NONE, DIFF_TOKEN_LAST, DIFF_TOKEN_BOGUS };

struct diff_step {
	char name[DIFF_NAME_MAX];
	char text[DIFF_TEXT_MAX]; /* the step as written, for the table */
	unsigned line;
	enum diff_action action;
	uint16_t method;
	unsigned client;
	enum diff_auth auth;
	int transport; /* REQUESTED-TRANSPORT; -1 none; default 17 for Allocate */
	long lifetime; /* LIFETIME; -1 none */
	struct diff_peer_ref peer;
	int channel;    /* CHANNEL-NUMBER or ChannelData channel; -1 none */
	int family;     /* REQUESTED-ADDRESS-FAMILY; -1 none */
	int add_family; /* ADDITIONAL-ADDRESS-FAMILY; -1 none */
	int even_port;  /* EVEN-PORT R bit; -1 none */
	enum diff_token token;
	bool dont_fragment;
	uint16_t unknown_attr; /* an attribute of this type; 0 none */
	bool fingerprint;
	enum diff_mangle mangle;
	char data[64];               /* payload of Send, ChannelData, peer data */
	unsigned show;               /* DIFF_SHOW_* */
	char explain[DIFF_TEXT_MAX]; /* tags of documented differences, comma-separated */
	int wait_ms;
};

struct diff_session {
	char path[256];
	char name[DIFF_NAME_MAX];
	char title[DIFF_TEXT_MAX];
	bool udp, tcp; /* transports to run it over */
	unsigned nsteps;
	struct diff_step steps[DIFF_MAX_STEPS];
};

/* A documented difference: the tag, both outcomes it covers, the reason. */
struct diff_expl {
	char tag[DIFF_NAME_MAX];
	char ternd[DIFF_OUT_MAX];
	char coturn[DIFF_OUT_MAX];
	char ref[DIFF_TEXT_MAX];
	bool bug; /* REFERENCE starts "ternd bug": a difference ternd must fix */
};

struct diff_expls {
	unsigned n;
	struct diff_expl e[DIFF_MAX_EXPL];
};

/* Parse a session file; false with a message on stderr on any error. */
bool diff_session_load(const char *path, struct diff_session *s);
/* Parse the explanations file ("tag | ternd | coturn | reference"). */
bool diff_expls_load(const char *path, struct diff_expls *x);
const struct diff_expl *diff_expl_find(const struct diff_expls *x, const char *tag);
/*
 * The explanation among the step's comma-separated tags whose two outcomes
 * are exactly ternd's and coturn's, or NULL. *unknown is set when a tag is
 * not in the file.
 */
const struct diff_expl *diff_expl_match(const struct diff_expls *x, const char *tags,
                                        const char *ternd, const char *coturn, bool *unknown);

/* ------------------------------------------------------------ servers */

struct diff_server {
	const char *name; /* "ternd" or "coturn" */
	char ip[64];
	uint16_t port;
	pid_t pid; /* 0 when not started here */
	uint16_t min_port, max_port;
	char log[300];
};

struct diff_config {
	const char *ternd_path;
	const char *coturn_path;
	const char *user, *password, *realm;
	const char *user2, *password2; /* a second user (441 checks) */
	const char *denied_peer;       /* denied-peer-ip range given to both */
	bool rfc5766;
	bool verbose;
	char dir[64]; /* temp directory for logs and coturn's database */
};

/* Start the server on free ports; false (with its log printed) on failure. */
bool diff_start_ternd(const struct diff_config *c, struct diff_server *s);
/* coturn's ports avoid other's (ternd's) listener and relay range. */
bool diff_start_coturn(const struct diff_config *c, struct diff_server *s,
                       const struct diff_server *other);
/* Wait until it answers a Binding over UDP, up to timeout_ms. */
bool diff_wait_ready(struct diff_server *s, int timeout_ms);
/*
 * SIGTERM, then SIGKILL after a bound; reaps it. Started servers only.
 * false when it did not exit 0 by itself.
 */
bool diff_stop(struct diff_server *s);
/* false when the log holds a sanitizer report. */
bool diff_log_clean(const struct diff_server *s);
void diff_print_log(const struct diff_server *s);

/* --------------------------------------------------------------- wire */

enum diff_class {
	DIFF_OUT_NONE,       /* nothing within the wait */
	DIFF_OUT_SUCCESS,    /* success response */
	DIFF_OUT_ERROR,      /* error response (code) */
	DIFF_OUT_INDICATION, /* Data indication from the peer */
	DIFF_OUT_CHANNEL,    /* ChannelData from the peer */
	DIFF_OUT_DELIVERED,  /* the peer received the payload */
	DIFF_OUT_CLOSED,     /* the server closed the TCP connection */
	DIFF_OUT_FAILED,     /* the step could not be carried out */
};

struct diff_outcome {
	enum diff_class cls;
	uint16_t code;
	char detail[DIFF_OUT_MAX - 24];
};

/* One client of one server in one session. */
struct diff_client {
	bool tcp;
	int fd;      /* -1 until connected */
	bool closed; /* the server closed the connection */
	uint8_t in[2 * DIFF_MSG_CAP];
	size_t in_len;
	char realm[128];
	uint8_t nonce[256];
	size_t nonce_len;
	uint8_t pwalgs[64]; /* PASSWORD-ALGORITHMS of the last 401, as sent */
	size_t pwalgs_len;
	struct tern_addr relayed;
	bool have_relayed;
	uint8_t last[DIFF_MSG_CAP]; /* last request sent, for retransmit */
	size_t last_len;
	uint8_t last_txid[TERN_STUN_TXID_LEN];
};

/* The state of one session against one server. */
struct diff_ctx {
	const struct diff_server *server;
	const struct diff_config *cfg;
	const char *source_ip; /* the session's client source address */
	struct diff_client clients[DIFF_CLIENTS];
	int peer_fd[DIFF_PEERS];
	struct tern_addr peer_addr[DIFF_PEERS];
	uint64_t token; /* last RESERVATION-TOKEN received, 0 if none */
};

void diff_ctx_init(struct diff_ctx *x, const struct diff_server *s, const struct diff_config *c,
                   const char *source_ip, bool tcp);
void diff_ctx_free(struct diff_ctx *x);

/* Carry out the step's sending half (sets *o on a local failure). */
void diff_step_act(struct diff_ctx *x, const struct diff_step *st, uint8_t *txid,
                   struct diff_outcome *o);
/* Observe the step's result until end_ms (monotonic). */
void diff_step_observe(struct diff_ctx *x, const struct diff_step *st, const uint8_t *txid,
                       uint64_t end_ms, struct diff_outcome *o);
/* "success lifetime=600", "error 437", "none", ... */
void diff_outcome_str(const struct diff_outcome *o, char *buf, size_t cap);

/* ------------------------------------------------- sockets (diff_net.c) */

uint64_t diff_now_ms(void);
bool diff_parse_addr(const char *text, struct tern_addr *a);
void diff_addr_str(const struct tern_addr *a, char *buf, size_t cap);
/* Socket connected to ip:port from source_ip (NULL: any); -1 on failure. */
int diff_connect(const char *ip, uint16_t port, const char *source_ip, bool tcp);
/* UDP socket bound to ip, port 0; *addr is its address; -1 on failure. */
int diff_udp_open(const char *ip, struct tern_addr *addr);
bool diff_sendto(int fd, const struct tern_addr *to, const void *buf, size_t len);
/* One datagram within timeout_ms; its length, or -1. */
long diff_recvfrom(int fd, struct tern_addr *from, uint8_t *buf, size_t cap, int timeout_ms);
/* A free TCP+UDP port on 127.0.0.1, not in avoid[]. 0 if none. */
uint16_t diff_free_port(const uint16_t *avoid, size_t n);
/* n consecutive UDP ports free on 127.0.0.1 in [20000, 32000), not
 * overlapping [avoid_lo, avoid_hi]; *lo is the first. */
bool diff_free_range(unsigned n, uint16_t avoid_lo, uint16_t avoid_hi, uint16_t *lo);

#endif /* TERN_DIFF_H */
