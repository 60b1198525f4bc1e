/*
 * config.h - ternd's configuration: one struct, filled from a ternd.conf
 * file, TERN_* environment variables and command-line flags, in that
 * order, each overriding the one before (so flags win).
 *
 * Keys keep coturn's names and meaning where coturn has them, so an existing
 * turnserver.conf for the common setups works unchanged. The parser is pure
 * (text in, struct out, no I/O) so it can be unit-tested and fuzzed.
 */
#ifndef TERND_CONFIG_H
#define TERND_CONFIG_H

#include "tern_relay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TERND_MAX_LISTEN  16
#define TERND_MAX_USERS   4096
#define TERND_MAX_SECRETS 16
#define TERND_MAX_RANGES  256
#define TERND_MAX_PATH    4096

/* One user=name:password or user=name:0xHEXKEY line. */
struct ternd_user {
	char *name;
	char *password; /* NULL when key is set */
	bool has_key;
	uint8_t key[16];
};

/* external-ip=PUBLIC or PUBLIC/PRIVATE. */
struct ternd_external {
	struct tern_addr public_ip;
	struct tern_addr private_ip; /* family TERN_AF_NONE when not given */
};

enum ternd_log_format { TERND_LOG_TEXT, TERND_LOG_JSON };
enum ternd_event_loop { TERND_EVENT_EPOLL, TERND_EVENT_POLL };

struct ternd_config {
	/* listeners */
	uint16_t listening_port;                         /* listening-port, 3478 */
	uint16_t tls_listening_port;                     /* tls-listening-port, 5349 */
	struct tern_addr listening_ip[TERND_MAX_LISTEN]; /* listening-ip, repeatable */
	size_t n_listening_ip;                           /* 0: all IPv4 and IPv6 addresses */
	bool no_udp, no_tcp, no_tls;
	/* relaying */
	struct tern_addr relay_ip[TERND_MAX_LISTEN]; /* relay-ip, repeatable; one per family used */
	size_t n_relay_ip;
	struct ternd_external external_ip[TERND_MAX_LISTEN]; /* external-ip, repeatable */
	size_t n_external_ip;
	uint16_t min_port;                /* min-port, 49152 */
	uint16_t max_port;                /* max-port, 65535 */
	unsigned relay_threads;           /* relay-threads: workers; 0 = one per core */
	enum ternd_event_loop event_loop; /* event-loop: epoll (default) or poll */
	uint32_t udp_recv_buffer;         /* udp-recv-buffer: listener SO_RCVBUF; 0 = kernel's */
	uint32_t udp_send_buffer;         /* udp-send-buffer: listener SO_SNDBUF; 0 = kernel's */
	uint32_t tls_handshake_timeout;   /* tls-handshake-timeout, seconds; 0 = 10 */
	uint32_t stream_frame_timeout;    /* stream-frame-timeout, seconds; 0 = 30 */
	/* authentication */
	char *realm;          /* realm, required */
	bool lt_cred_mech;    /* lt-cred-mech: accepted, long-term is the only mechanism */
	bool use_auth_secret; /* use-auth-secret: REST API shared secrets */
	char *static_auth_secret[TERND_MAX_SECRETS]; /* static-auth-secret, repeatable */
	size_t n_static_auth_secret;
	struct ternd_user *users; /* user, repeatable */
	size_t n_users;
	/* peer policy */
	struct tern_addr_range denied_peer_ip[TERND_MAX_RANGES];
	size_t n_denied_peer_ip;
	struct tern_addr_range allowed_peer_ip[TERND_MAX_RANGES];
	size_t n_allowed_peer_ip;
	bool allow_loopback_peers;
	/* quotas and lifetimes */
	uint32_t user_quota;  /* user-quota, 0 = unlimited */
	uint32_t total_quota; /* total-quota, 0 = default (10000 per worker) */
	uint64_t max_bps;     /* max-bps, bytes per second per allocation, 0 = unlimited */
	uint32_t max_allocate_lifetime;     /* max-allocate-lifetime, 3600 */
	uint32_t default_allocate_lifetime; /* default-allocate-lifetime, 600 */
	uint32_t channel_lifetime;          /* channel-lifetime, 600 */
	uint32_t permission_lifetime;       /* permission-lifetime, 300 */
	uint32_t stale_nonce;               /* stale-nonce, 600 */
	bool rfc5766_channel_numbers;
	/* TLS */
	char *cert; /* cert: PEM certificate chain */
	char *pkey; /* pkey: PEM private key */
	/* operations */
	unsigned verbose;                 /* verbose / -v: 0 info, 1 debug */
	char *log_file;                   /* log-file: default stderr */
	enum ternd_log_format log_format; /* log-format=text|json */
	char *pidfile;
	char *proc_user;
	char *proc_group;
	char *software;   /* software-name: SOFTWARE attribute; NULL means "tern" */
	bool no_software; /* no-software: send no SOFTWARE attribute */
	/* metrics-port: Prometheus HTTP listener, 0 = off; metrics-ip default 127.0.0.1 */
	uint16_t metrics_port;
	struct tern_addr metrics_ip;
	uint32_t max_connections; /* max-tcp-connections per worker, 1024 */
	uint32_t stop_grace;      /* stop-grace seconds after SIGTERM, 10 */
	/* Things worth logging once at start-up ("ternd.conf:4: 'fingerprint'
	 * is a coturn option tern does not use; ignored"): owned, freed by
	 * ternd_config_free(); at most TERND_MAX_WARNINGS are kept. */
	char **warnings;
	size_t n_warnings;
};

#define TERND_MAX_WARNINGS 64

/* Where a bad setting came from, for "ternd.conf:12: unknown key 'foo'". */
struct ternd_config_error {
	char source[256]; /* file name, "environment" or "command line" */
	unsigned line;    /* 1-based for files; 0 otherwise */
	char message[256];
};

/* Defaults. */
void ternd_config_init(struct ternd_config *cfg);
/* Frees every owned string and list (secrets are wiped first) and leaves
 * cfg as ternd_config_init() made it; calling it twice is harmless. */
void ternd_config_free(struct ternd_config *cfg);

/*
 * Parse a ternd.conf / turnserver.conf text: one "key = value", "key value"
 * or bare "key" (boolean) per line; '#' starts a comment; blank lines are
 * ignored; a leading "--" on a key is accepted. '#' also starts a comment
 * after whitespace ("min-port = 50000  # low"), so a value containing " #"
 * must be quoted; a value in double quotes has them removed. A repeated
 * single-valued key overrides the earlier line (as in coturn); repeatable
 * keys (listening-ip, relay-ip, external-ip, static-auth-secret, user,
 * denied-peer-ip, allowed-peer-ip) append. Unknown keys and bad values are
 * errors naming the line; coturn keys that do not apply to tern are
 * accepted with a warning (cfg->warnings). Messages never contain a
 * password or secret. Returns 0, or -1 with *err filled (cfg then holds
 * the lines before the bad one: free it).
 */
int ternd_config_parse(struct ternd_config *cfg, const char *text, size_t len, const char *source,
                       struct ternd_config_error *err);

/* Apply one setting (key without "--"; value NULL for a bare flag). */
int ternd_config_set(struct ternd_config *cfg, const char *key, const char *value,
                     const char *source, unsigned line, struct ternd_config_error *err);

/*
 * Apply TERN_* variables from envp (TERN_LISTENING_PORT=3478 sets
 * listening-port; for repeatable keys, newline-separated values, each
 * trimmed of blanks, which replace the file's list instead of adding to it).
 * TERN_CI_* and TERN_FUZZ_* belong to scripts and are skipped; any other
 * TERN_* that is not a key is an error naming the variable.
 */
int ternd_config_env(struct ternd_config *cfg, char *const *envp, struct ternd_config_error *err);

/*
 * Cross-field checks once everything is applied: realm set; ports non-zero
 * and 1024 <= min-port <= max-port; total-quota <= 262143; credentials
 * (use-auth-secret needs a static-auth-secret; without it, at least one
 * user; a static-auth-secret without use-auth-secret is an error rather than
 * silently unused); at most one external-ip unless each is PUBLIC/PRIVATE;
 * cert and pkey given together unless no-tls; some listener left on.
 * TLS without cert and pkey is NOT an error (coturn also runs without TLS
 * then): ternd_config_tls_enabled() says whether to start TLS listeners.
 */
int ternd_config_validate(const struct ternd_config *cfg, struct ternd_config_error *err);

/* TLS listeners run: not no-tls, and both cert and pkey are set. */
bool ternd_config_tls_enabled(const struct ternd_config *cfg);

/*
 * Everything at start-up: -c FILE / --config FILE names the file (default:
 * none; the file must exist when named), then the file, then TERN_*
 * variables from envp, then the other flags of argv ("--key value",
 * "--key=value", bare "--flag", "-v" and coturn's other one-letter forms
 * listed by --help), then ternd_config_validate(). A repeatable key given
 * as flags replaces the list from the file and environment. Before
 * validating, a default-allocate-lifetime above max-allocate-lifetime is
 * lowered to it (with a warning), as coturn caps lifetimes.
 * --help/-h returns 0 at once with *action = TERND_HELP (nothing is read);
 * --check-config sets TERND_CHECK (everything is still loaded and
 * validated). config_path receives the -c file name ("" when none).
 * Returns 0, or -1 with *err filled (source "command line", "environment"
 * or the file name); free cfg either way.
 */
enum ternd_config_action { TERND_RUN, TERND_HELP, TERND_CHECK };
int ternd_config_load(struct ternd_config *cfg, int argc, char **argv, char *const *envp,
                      enum ternd_config_action *action, char *config_path, size_t path_cap,
                      struct ternd_config_error *err);

/* Print every key with its variable, default and meaning (--help). */
void ternd_config_usage(FILE *stream);

/* Print "source:line: message" (or "source: message" when line is 0). */
void ternd_config_print_error(FILE *stream, const struct ternd_config_error *err);

#endif /* TERND_CONFIG_H */
