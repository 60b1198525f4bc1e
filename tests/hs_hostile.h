/*
 * hs_hostile.h - hostile stream clients for the hardening tests
 * (test_harden_streams): raw TCP connections that trickle a script of bytes,
 * stay silent, or send garbage, driven by one poll() pump alongside the
 * well-behaved clients of daemon_harness.h, each recording when ternd
 * closed it (EOF or RST seen). Also: a real TLS ClientHello, a TLS
 * handshake taken up to the client's last flight and left there, a raw
 * Binding probe that tolerates being refused, and ternd's resident size.
 * Helpers fail the running cmocka test on set-up errors only.
 */
#ifndef TERN_HS_HOSTILE_H
#define TERN_HS_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HS_MAX        24
#define HS_SCRIPT_CAP 4096

/* One hostile connection. */
struct hs_conn {
	const char *name;   /* what it does, for failure messages */
	const char *reason; /* the reason ternd's conn_closed log line must give */
	int fd;
	uint16_t local_port; /* its 127.0.0.1 source port, as the log names it */
	uint8_t script[HS_SCRIPT_CAP];
	size_t script_len, sent;
	unsigned every_ms; /* after the first `burst` bytes, one byte per every_ms */
	uint64_t next_at;
	uint64_t opened;    /* when the connection was made (monotonic ms) */
	uint64_t closed_at; /* when EOF or RST was seen; 0 while open */
	int bound_ms;       /* must be closed within this of opened */
	size_t received;    /* bytes ternd sent it (read and discarded) */
};

struct hs_set {
	struct hs_conn c[HS_MAX];
	size_t n;
};

/*
 * A new connection to 127.0.0.1:port in s (non-blocking once connected);
 * it must be closed within bound_ms, with reason in the log.
 */
struct hs_conn *hs_open(struct hs_set *s, const char *name, uint16_t port, int bound_ms,
                        const char *reason);
/*
 * What c sends: the first burst bytes of bytes[0..len) at once, then one
 * byte every every_ms (every_ms 0: everything at once). The script stops
 * when it is used up; the connection is then silent.
 */
void hs_script(struct hs_conn *c, const void *bytes, size_t len, size_t burst, unsigned every_ms);
/*
 * For up to ms: send what is due, read and discard what ternd sends, and
 * record closes. Returns early when every connection is closed.
 */
void hs_pump(struct hs_set *s, int ms);
bool hs_all_closed(const struct hs_set *s);
/* Close every descriptor (teardown; safe to call twice). */
void hs_release(struct hs_set *s);

/* A TLS 1.2-1.3 ClientHello as a client would send it; its length. */
size_t hs_client_hello(uint8_t *buf, size_t cap);
/*
 * Run a TLS client over c->fd (connected to the TLS port) until the
 * server's whole flight has arrived and the client's answer (Finished) is
 * ready, then send `instead` (len bytes; none if len is 0) in its place.
 * The server's handshake is left unfinished.
 */
void hs_tls_stall(struct hs_conn *c, const void *instead, size_t len);

/*
 * Complete a TLS handshake over c->fd and encrypt plain[0..len) as one TLS
 * record per byte into out (cap bytes); returns the ciphertext length,
 * for the caller to send (hs_script). The client is gone afterwards:
 * what ternd answers can be counted, not read.
 */
size_t hs_tls_records(struct hs_conn *c, const void *plain, size_t len, uint8_t *out, size_t cap);

/* A STUN Binding request (with FINGERPRINT) into buf; its length. */
size_t hs_binding_request(uint8_t *buf, size_t cap);
/*
 * Connect to 127.0.0.1:port and send a Binding request. 1: a Binding
 * success came back (*fd_out keeps the connection open if not NULL,
 * else it is closed); 0: ternd closed the connection instead.
 */
int hs_probe_binding(uint16_t port, int timeout_ms, int *fd_out);
/*
 * On a new connection (after one whole, answered Binding if after_one):
 * a Binding request in two parts, the first `first` bytes, a pause of
 * pause_ms, then the rest. 1: answered with success; 0: closed instead.
 */
int hs_split_binding(uint16_t port, bool after_one, size_t first, int pause_ms, int timeout_ms);
/* true when the peer of fd closes it (EOF or RST) within timeout_ms. */
bool hs_wait_closed(int fd, int timeout_ms);

/* Resident set size of pid, KiB (from /proc/PID/status). */
long hs_rss_kib(pid_t pid);

#endif /* TERN_HS_HOSTILE_H */
