/*
 * config_keys.h - the table of ternd.conf keys (daemon/config_keys.c), shared
 * by the parser, the environment and flag readers, --help and the tests, so
 * what is parsed and what is documented cannot drift apart. Internal to
 * daemon/: the public contract is config.h.
 */
#ifndef TERND_CONFIG_KEYS_H
#define TERND_CONFIG_KEYS_H

#include "config.h"

/* Upper bound on the number of keys (a "seen" bitmap per layer uses it). */
#define TERND_KEYS_MAX 96

/* How one setting is being applied: where from, for messages. */
struct ternd_setctx {
	struct ternd_config *cfg;
	const char *source;  /* file name, "environment" or "command line" */
	unsigned line;       /* 0 outside files */
	const char *spelled; /* "min-port", "TERN_MIN_PORT" or "--min-port" */
	struct ternd_config_error *err;
};

enum ternd_key_flag {
	TERND_KEY_REPEAT = 1u << 0,  /* each use appends */
	TERND_KEY_BARE = 1u << 1,    /* may be given without a value */
	TERND_KEY_SECRET = 1u << 2,  /* the value never appears in a message */
	TERND_KEY_IGNORED = 1u << 3, /* coturn key tern accepts and ignores */
};

struct ternd_key;
/* value is NULL for a bare key (only when TERND_KEY_BARE), never "". */
typedef int (*ternd_key_setter)(const struct ternd_key *k, const char *value,
                                struct ternd_setctx *c);

struct ternd_key {
	const char *name; /* coturn spelling */
	char short_opt;   /* coturn's one-letter flag, or 0 */
	unsigned flags;   /* enum ternd_key_flag */
	ternd_key_setter set;
	void (*clear)(struct ternd_config *cfg); /* TERND_KEY_REPEAT: empty the list */
	size_t off;                              /* field, for the generic setters */
	uint64_t min, max;                       /* integer range */
	const char *arg;                         /* --help: what the value is */
	const char *dflt;                        /* --help: the default */
	const char *example;                     /* a valid value (docs, tests) */
	const char *help;                        /* --help: one line */
};

size_t ternd_keys_count(void);
const struct ternd_key *ternd_key_at(size_t i);
/* By name (len bytes, no "--"), or NULL. */
const struct ternd_key *ternd_key_find(const char *name, size_t len);
/* By one-letter flag, or NULL. */
const struct ternd_key *ternd_key_short(char c);
size_t ternd_key_index(const struct ternd_key *k);

/* Fill c->err with "spelled: <message>" and return -1. */
int ternd_key_fail(struct ternd_setctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Fill err (source, line, message) and return -1. */
int ternd_config_fail(struct ternd_config_error *err, const char *source, unsigned line,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Append "source:line: <message>" to c->cfg->warnings (best effort). */
void ternd_key_warn(struct ternd_setctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy s (len bytes) into buf for a message: printable ASCII only, cut at
 * 48 characters with "...". Never call it on a secret. Returns buf. */
const char *ternd_config_show(const char *s, size_t len, char *buf, size_t cap);

/* The setters named by the table (config_set.c). */
int ternd_set_allowed(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_bool(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_denied(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_external_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_ignored(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_listening_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_event_loop(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_log_format(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_metrics_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_relay_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_relay_threads(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_secret(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_stale_nonce(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_string(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_text(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_u16(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_u32(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_u64(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_user(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
int ternd_set_verbose(const struct ternd_key *k, const char *value, struct ternd_setctx *c);
void ternd_clear_allowed(struct ternd_config *cfg);
void ternd_clear_denied(struct ternd_config *cfg);
void ternd_clear_external_ip(struct ternd_config *cfg);
void ternd_clear_listening_ip(struct ternd_config *cfg);
void ternd_clear_relay_ip(struct ternd_config *cfg);

/* Free (and wipe) the owned lists: users and static-auth-secret. */
void ternd_config_clear_users(struct ternd_config *cfg);
void ternd_config_clear_secrets(struct ternd_config *cfg);

#endif /* TERND_CONFIG_KEYS_H */
