/*
 * config_set.c - the setters of ternd.conf keys: each checks one value
 * (numbers and their ranges, booleans, text, addresses, CIDRs and coturn
 * ranges, users and shared secrets) and stores it in struct ternd_config.
 * The table that names them is in config_keys.c.
 */
#define _DEFAULT_SOURCE /* explicit_bzero, strdup, strndup */

#include "config_keys.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_CAP         64
#define NAME_MAX_BYTES   513u  /* RFC 8489 §14.3: USERNAME < 513 bytes */
#define SECRET_MAX_BYTES 1024u /* passwords and shared secrets */
#define ADDR_TEXT_MAX    128u
#define STALE_NONCE_BARE 600u

static const char *show(const char *s, char buf[SHOW_CAP])
{
	return ternd_config_show(s, strlen(s), buf, SHOW_CAP);
}

/* ------------------------------------------------------------ values */

static void *field(struct ternd_config *cfg, const struct ternd_key *k)
{
	return (char *)cfg + k->off;
}

static bool has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			return true;
	}
	return false;
}

/* s equals lower, ignoring the case of ASCII letters. */
static bool word_is(const char *s, const char *lower)
{
	static const char lower_case[] = "abcdefghijklmnopqrstuvwxyz";

	for (; *s != '\0' && *lower != '\0'; s++, lower++) {
		char ch = *s;

		if (ch >= 'A' && ch <= 'Z')
			ch = lower_case[ch - 'A'];
		if (ch != *lower)
			return false;
	}
	return *s == '\0' && *lower == '\0';
}

static int get_uint(const struct ternd_key *k, const char *value, struct ternd_setctx *c,
                    uint64_t *out)
{
	char shown[SHOW_CAP];
	uint64_t v = 0;

	for (const char *p = value; *p != '\0'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (*p < '0' || *p > '9')
			return ternd_key_fail(c, "'%s' is not a whole number", show(value, shown));
		if (v > (UINT64_MAX - d) / 10)
			return ternd_key_fail(c, "'%s' is out of range (%" PRIu64 "-%" PRIu64 ")",
			                      show(value, shown), k->min, k->max);
		v = v * 10 + d;
	}
	if (v < k->min || v > k->max)
		return ternd_key_fail(c, "%" PRIu64 " is out of range (%" PRIu64 "-%" PRIu64 ")", v,
		                      k->min, k->max);
	*out = v;
	return 0;
}

int ternd_set_u16(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	uint64_t v;
	uint16_t x;

	if (get_uint(k, value, c, &v) != 0)
		return -1;
	x = (uint16_t)v;
	memcpy(field(c->cfg, k), &x, sizeof(x));
	return 0;
}

int ternd_set_u32(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	uint64_t v;
	uint32_t x;

	if (get_uint(k, value, c, &v) != 0)
		return -1;
	x = (uint32_t)v;
	memcpy(field(c->cfg, k), &x, sizeof(x));
	return 0;
}

int ternd_set_u64(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	uint64_t v;

	if (get_uint(k, value, c, &v) != 0)
		return -1;
	memcpy(field(c->cfg, k), &v, sizeof(v));
	return 0;
}

int ternd_set_relay_threads(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	uint64_t v;

	if (get_uint(k, value, c, &v) != 0)
		return -1;
	c->cfg->relay_threads = (unsigned)v;
	return 0;
}

/* Bare means true; coturn's words, case-insensitive. */
static int get_bool(const char *value, struct ternd_setctx *c, bool *out)
{
	static const char *const yes[] = {"true", "t", "yes", "on", "1"};
	static const char *const no[] = {"false", "f", "no", "off", "0"};
	char shown[SHOW_CAP];

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (value == NULL || word_is(value, yes[i]) || word_is(value, no[i])) {
			*out = value == NULL || word_is(value, yes[i]);
			return 0;
		}
	}
	return ternd_key_fail(c, "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
	                      show(value, shown));
}

int ternd_set_bool(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	bool b;

	if (get_bool(value, c, &b) != 0)
		return -1;
	memcpy(field(c->cfg, k), &b, sizeof(b));
	return 0;
}

int ternd_set_verbose(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	bool b;

	(void)k;
	if (get_bool(value, c, &b) != 0)
		return -1;
	c->cfg->verbose = b ? 1u : 0u;
	return 0;
}

/* coturn: bare --stale-nonce means 600 s; =0 meant "never stale". */
int ternd_set_stale_nonce(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	uint64_t v = STALE_NONCE_BARE;

	if (value != NULL && get_uint(k, value, c, &v) != 0)
		return -1;
	if (v == 0) {
		ternd_key_warn(c,
		               "stale-nonce=0 (nonces never go stale) is not supported; using %u",
		               STALE_NONCE_BARE);
		v = STALE_NONCE_BARE;
	}
	c->cfg->stale_nonce = (uint32_t)v;
	return 0;
}

static int store_string(struct ternd_setctx *c, char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return ternd_key_fail(c, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

/* Paths and account names: at most k->max bytes. */
int ternd_set_string(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	char *slot;

	if (has_control(value))
		return ternd_key_fail(c, "the value contains a control character");
	if (strlen(value) > k->max)
		return ternd_key_fail(c, "the value is longer than %" PRIu64 " bytes", k->max);
	memcpy(&slot, field(c->cfg, k), sizeof(slot));
	if (store_string(c, &slot, value) != 0)
		return -1;
	memcpy(field(c->cfg, k), &slot, sizeof(slot));
	return 0;
}

/* Number of UTF-8 characters, or SIZE_MAX when s is not well-formed UTF-8. */
static size_t utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p != '\0') {
		size_t extra = *p < 0x80                  ? 0
		               : *p >= 0xC2 && *p <= 0xDF ? 1
		               : *p >= 0xE0 && *p <= 0xEF ? 2
		               : *p >= 0xF0 && *p <= 0xF4 ? 3
		                                          : 4;

		if (extra == 4)
			return SIZE_MAX;
		for (size_t i = 1; i <= extra; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return SIZE_MAX;
		}
		p += extra + 1;
		n++;
	}
	return n;
}

/* Protocol text (realm, SOFTWARE): UTF-8, fewer than 128 characters. */
int ternd_set_text(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	size_t chars = utf8_chars(value);

	if (has_control(value))
		return ternd_key_fail(c, "the value contains a control character");
	if (chars == SIZE_MAX)
		return ternd_key_fail(c, "the value is not valid UTF-8");
	if (chars > k->max || strlen(value) > TERN_STUN_MAX_STRING)
		return ternd_key_fail(c, "the value is longer than %" PRIu64 " characters", k->max);
	return ternd_set_string(k, value, c);
}

int ternd_set_event_loop(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	char shown[SHOW_CAP];

	(void)k;
	if (strcmp(value, "epoll") == 0)
		c->cfg->event_loop = TERND_EVENT_EPOLL;
	else if (strcmp(value, "poll") == 0)
		c->cfg->event_loop = TERND_EVENT_POLL;
	else
		return ternd_key_fail(c, "'%s' is not epoll or poll", show(value, shown));
	return 0;
}

int ternd_set_log_format(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	char shown[SHOW_CAP];

	(void)k;
	if (strcmp(value, "text") == 0)
		c->cfg->log_format = TERND_LOG_TEXT;
	else if (strcmp(value, "json") == 0)
		c->cfg->log_format = TERND_LOG_JSON;
	else
		return ternd_key_fail(c, "'%s' is not text or json", show(value, shown));
	return 0;
}

/* ------------------------------------------------------------ addresses */

static bool parse_ip(const char *s, struct tern_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1) {
		a->family = TERN_AF_IPV4;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->addr) == 1) {
		a->family = TERN_AF_IPV6;
		return true;
	}
	memset(a, 0, sizeof(*a));
	return false;
}

static int get_ip(const char *value, struct ternd_setctx *c, struct tern_addr *a)
{
	char shown[SHOW_CAP];

	if (!parse_ip(value, a))
		return ternd_key_fail(c, "'%s' is not an IPv4 or IPv6 address", show(value, shown));
	return 0;
}

static int append_addr(const char *value, struct ternd_setctx *c, struct tern_addr *list, size_t *n)
{
	struct tern_addr a;

	if (get_ip(value, c, &a) != 0)
		return -1;
	if (*n >= TERND_MAX_LISTEN)
		return ternd_key_fail(c, "too many values (at most %d)", TERND_MAX_LISTEN);
	list[(*n)++] = a;
	return 0;
}

int ternd_set_listening_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	(void)k;
	return append_addr(value, c, c->cfg->listening_ip, &c->cfg->n_listening_ip);
}

int ternd_set_relay_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	(void)k;
	return append_addr(value, c, c->cfg->relay_ip, &c->cfg->n_relay_ip);
}

int ternd_set_metrics_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	(void)k;
	return get_ip(value, c, &c->cfg->metrics_ip);
}

/* Copy value into buf (ADDR_TEXT_MAX) so it can be cut at a separator. */
static int addr_text(const char *value, struct ternd_setctx *c, char *buf, const char *what)
{
	char shown[SHOW_CAP];
	size_t len = strlen(value);

	if (len >= ADDR_TEXT_MAX)
		return ternd_key_fail(c, "'%s' is not %s", show(value, shown), what);
	memcpy(buf, value, len + 1);
	return 0;
}

/* external-ip=PUBLIC or PUBLIC/PRIVATE (coturn -X). */
int ternd_set_external_ip(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	struct ternd_external e;
	char buf[ADDR_TEXT_MAX], shown[SHOW_CAP];
	char *slash;

	(void)k;
	if (addr_text(value, c, buf, "PUBLIC or PUBLIC/PRIVATE") != 0)
		return -1;
	memset(&e, 0, sizeof(e));
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (get_ip(buf, c, &e.public_ip) != 0 ||
	    (slash != NULL && get_ip(slash + 1, c, &e.private_ip) != 0))
		return -1;
	if (slash != NULL && e.public_ip.family != e.private_ip.family)
		return ternd_key_fail(c, "'%s': both addresses must be IPv4 or both IPv6",
		                      show(value, shown));
	if (c->cfg->n_external_ip >= TERND_MAX_LISTEN)
		return ternd_key_fail(c, "too many values (at most %d)", TERND_MAX_LISTEN);
	c->cfg->external_ip[c->cfg->n_external_ip++] = e;
	return 0;
}

static size_t family_bytes(uint8_t family)
{
	return family == TERN_AF_IPV4 ? 4 : 16;
}

/* ADDR/PREFIX, e.g. 10.0.0.0/8 or fc00::/7 (host bits are ignored). */
static int parse_cidr(const char *value, struct ternd_setctx *c, char *buf, char *slash,
                      struct tern_addr_range *r)
{
	char shown[SHOW_CAP];
	struct tern_addr base;
	unsigned prefix = 0;
	const char *p = slash + 1;

	*slash = '\0';
	if (get_ip(buf, c, &base) != 0)
		return -1;
	for (; *p >= '0' && *p <= '9' && prefix <= 128; p++)
		prefix = prefix * 10 + (unsigned)(*p - '0');
	if (p == slash + 1 || *p != '\0' || prefix > family_bytes(base.family) * 8 ||
	    tern_addr_range_cidr(&base, prefix, r) != TERN_OK)
		return ternd_key_fail(c, "'%s': bad prefix length (0-%zu)", show(value, shown),
		                      family_bytes(base.family) * 8);
	return 0;
}

/* coturn's LO-HI, e.g. 10.0.0.0-10.255.255.255. */
static int parse_span(const char *value, struct ternd_setctx *c, char *buf, char *dash,
                      struct tern_addr_range *r)
{
	char shown[SHOW_CAP];

	*dash = '\0';
	if (get_ip(buf, c, &r->lo) != 0 || get_ip(dash + 1, c, &r->hi) != 0)
		return -1;
	if (r->lo.family != r->hi.family)
		return ternd_key_fail(c, "'%s': both ends must be IPv4 or both IPv6",
		                      show(value, shown));
	if (memcmp(r->lo.addr, r->hi.addr, family_bytes(r->lo.family)) > 0)
		return ternd_key_fail(c, "'%s': the first address is above the last",
		                      show(value, shown));
	return 0;
}

static int append_range(const char *value, struct ternd_setctx *c, struct tern_addr_range *list,
                        size_t *n)
{
	char buf[ADDR_TEXT_MAX];
	struct tern_addr_range r;
	char *sep;
	int rc;

	if (addr_text(value, c, buf, "an address, a CIDR or a range") != 0)
		return -1;
	memset(&r, 0, sizeof(r));
	if ((sep = strchr(buf, '/')) != NULL) {
		rc = parse_cidr(value, c, buf, sep, &r);
	} else if ((sep = strchr(buf, '-')) != NULL) {
		rc = parse_span(value, c, buf, sep, &r);
	} else {
		rc = get_ip(buf, c, &r.lo);
		r.hi = r.lo;
	}
	if (rc != 0)
		return -1;
	if (*n >= TERND_MAX_RANGES)
		return ternd_key_fail(c, "too many values (at most %d)", TERND_MAX_RANGES);
	list[(*n)++] = r;
	return 0;
}

int ternd_set_denied(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	(void)k;
	return append_range(value, c, c->cfg->denied_peer_ip, &c->cfg->n_denied_peer_ip);
}

int ternd_set_allowed(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	(void)k;
	return append_range(value, c, c->cfg->allowed_peer_ip, &c->cfg->n_allowed_peer_ip);
}

/* ------------------------------------------------------------ credentials */

static void free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void free_user(struct ternd_user *u)
{
	free(u->name);
	free_secret(u->password);
	explicit_bzero(u, sizeof(*u));
}

void ternd_config_clear_users(struct ternd_config *cfg)
{
	for (size_t i = 0; i < cfg->n_users; i++)
		free_user(&cfg->users[i]);
	free(cfg->users);
	cfg->users = NULL;
	cfg->n_users = 0;
}

void ternd_config_clear_secrets(struct ternd_config *cfg)
{
	for (size_t i = 0; i < cfg->n_static_auth_secret; i++) {
		free_secret(cfg->static_auth_secret[i]);
		cfg->static_auth_secret[i] = NULL;
	}
	cfg->n_static_auth_secret = 0;
}

int ternd_set_secret(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	struct ternd_config *cfg = c->cfg;
	char *copy;

	(void)k;
	if (has_control(value))
		return ternd_key_fail(c, "the secret contains a control character");
	if (strlen(value) > SECRET_MAX_BYTES)
		return ternd_key_fail(c, "the secret is longer than %u bytes", SECRET_MAX_BYTES);
	if (cfg->n_static_auth_secret >= TERND_MAX_SECRETS)
		return ternd_key_fail(c, "too many values (at most %d)", TERND_MAX_SECRETS);
	copy = strdup(value);
	if (copy == NULL)
		return ternd_key_fail(c, "out of memory");
	cfg->static_auth_secret[cfg->n_static_auth_secret++] = copy;
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Exactly 32 hex digits (turnadmin -k output, after the 0x). */
static bool parse_key(const char *hex, uint8_t key[16])
{
	for (size_t i = 0; i < 16; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hi < 0 ? -1 : hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[32] == '\0';
}

/* Add u (taking its strings, freed on failure), or replace the user of the
 * same name: a later line wins. */
static int store_user(struct ternd_setctx *c, struct ternd_user u)
{
	struct ternd_config *cfg = c->cfg;
	size_t n = cfg->n_users;
	struct ternd_user *grown;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(cfg->users[i].name, u.name) == 0) {
			free_user(&cfg->users[i]);
			cfg->users[i] = u;
			return 0;
		}
	}
	if (n >= TERND_MAX_USERS) {
		free_user(&u);
		return ternd_key_fail(c, "too many users (at most %d)", TERND_MAX_USERS);
	}
	if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
		grown = realloc(cfg->users, (n == 0 ? 8 : 2 * n) * sizeof(*grown));
		if (grown == NULL) {
			free_user(&u);
			return ternd_key_fail(c, "out of memory");
		}
		cfg->users = grown;
	}
	cfg->users[cfg->n_users++] = u;
	return 0;
}

/* user=NAME:PASSWORD or NAME:0x<32 hex digits> (MD5(name:realm:password)). */
int ternd_set_user(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	const char *colon = strchr(value, ':'), *pw;
	char shown[SHOW_CAP];
	struct ternd_user u;

	(void)k;
	if (colon == NULL || colon == value)
		return ternd_key_fail(c, "expected NAME:PASSWORD or NAME:0xKEY");
	if ((size_t)(colon - value) > NAME_MAX_BYTES)
		return ternd_key_fail(c, "the name is longer than %u bytes", NAME_MAX_BYTES);
	ternd_config_show(value, (size_t)(colon - value), shown, sizeof(shown));
	pw = colon + 1;
	if (has_control(value))
		return ternd_key_fail(c, "user '%s' contains a control character", shown);
	if (*pw == '\0' || strlen(pw) > SECRET_MAX_BYTES)
		return ternd_key_fail(c, "user '%s': the password is empty or longer than %u bytes",
		                      shown, SECRET_MAX_BYTES);
	memset(&u, 0, sizeof(u));
	if (pw[0] == '0' && (pw[1] == 'x' || pw[1] == 'X')) {
		if (!parse_key(pw + 2, u.key))
			return ternd_key_fail(c, "user '%s': a key is 0x and 32 hex digits", shown);
		u.has_key = true;
	} else {
		u.password = strdup(pw);
	}
	u.name = strndup(value, (size_t)(colon - value));
	if (u.name == NULL || (!u.has_key && u.password == NULL)) {
		free_user(&u);
		return ternd_key_fail(c, "out of memory");
	}
	return store_user(c, u);
}

/* ------------------------------------------------------------ the rest */

int ternd_set_ignored(const struct ternd_key *k, const char *value, struct ternd_setctx *c)
{
	(void)value;
	ternd_key_warn(c, "'%s' is a coturn option tern does not use (%s); ignored", k->name,
	               k->help);
	return 0;
}

void ternd_clear_listening_ip(struct ternd_config *cfg)
{
	cfg->n_listening_ip = 0;
}

void ternd_clear_relay_ip(struct ternd_config *cfg)
{
	cfg->n_relay_ip = 0;
}

void ternd_clear_external_ip(struct ternd_config *cfg)
{
	cfg->n_external_ip = 0;
}

void ternd_clear_denied(struct ternd_config *cfg)
{
	cfg->n_denied_peer_ip = 0;
}

void ternd_clear_allowed(struct ternd_config *cfg)
{
	cfg->n_allowed_peer_ip = 0;
}
