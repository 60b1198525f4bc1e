/*
 * config.c - ternd's configuration: the ternd.conf line parser, TERN_*
 * variables, command-line flags, the file read, cross-field checks and
 * --help. What each key means and accepts is the table in config_keys.c
 * (setters in config_set.c), so parsing and --help cannot drift apart.
 */
#define _DEFAULT_SOURCE /* explicit_bzero; also POSIX.1-2008 */

#include "config.h"
#include "config_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES  8192u
#define FILE_MAX_BYTES  (1u << 20)
#define SHOW_CAP        64
#define ALLOCATIONS_MAX 262143u /* relay/relay.c: MAX_ALLOCATIONS_LIMIT */
#define SRC_ENV         "environment"
#define SRC_ARGV        "command line"
#define SRC_CHECK       "configuration"

/*
 * One source of settings: the file, the environment or the flags. In the
 * last two, a repeatable key's first value replaces the list inherited from
 * the sources before (file < environment < flags, for lists too).
 */
struct layer {
	bool replace;
	unsigned char seen[TERND_KEYS_MAX];
	unsigned line[TERND_KEYS_MAX];
};

static void layer_init(struct layer *l, bool replace)
{
	memset(l, 0, sizeof(*l));
	l->replace = replace;
}

void ternd_config_init(struct ternd_config *cfg)
{
	static const uint8_t loopback[4] = {127, 0, 0, 1};

	memset(cfg, 0, sizeof(*cfg));
	cfg->listening_port = 3478;
	cfg->tls_listening_port = 5349;
	cfg->min_port = 49152;
	cfg->max_port = 65535;
	cfg->max_allocate_lifetime = 3600;
	cfg->default_allocate_lifetime = 600;
	cfg->channel_lifetime = 600;
	cfg->permission_lifetime = 300;
	cfg->stale_nonce = 600;
	cfg->log_format = TERND_LOG_TEXT;
	cfg->metrics_ip.family = TERN_AF_IPV4;
	memcpy(cfg->metrics_ip.addr, loopback, sizeof(loopback));
	cfg->max_connections = 1024;
	cfg->stop_grace = 10;
}

void ternd_config_free(struct ternd_config *cfg)
{
	char *strings[] = {cfg->realm,   cfg->cert,      cfg->pkey,       cfg->log_file,
	                   cfg->pidfile, cfg->proc_user, cfg->proc_group, cfg->software};

	ternd_config_clear_users(cfg);
	ternd_config_clear_secrets(cfg);
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(strings[i]);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	ternd_config_init(cfg);
}

/* ------------------------------------------------------------ one setting */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static const char *show(const char *s, size_t len, char buf[SHOW_CAP])
{
	return ternd_config_show(s, len, buf, SHOW_CAP);
}

/* value: NULL for a bare key; "" is always "missing value". */
static int apply(const struct ternd_key *k, const char *value, struct ternd_setctx *c,
                 struct layer *layer)
{
	size_t i = ternd_key_index(k);

	if ((value == NULL && (k->flags & TERND_KEY_BARE) == 0) ||
	    (value != NULL && *value == '\0'))
		return ternd_key_fail(c, "missing value");
	if (layer != NULL) {
		if (layer->replace && !layer->seen[i] && k->clear != NULL)
			k->clear(c->cfg);
		layer->seen[i] = 1;
		layer->line[i] = c->line;
	}
	return k->set(k, value, c);
}

/* A key as written in a file or given to ternd_config_set ("--" allowed). */
static int apply_named(struct ternd_config *cfg, const char *key, const char *value,
                       const char *source, unsigned line, struct ternd_config_error *err,
                       struct layer *layer)
{
	struct ternd_setctx c = {cfg, source, line, key, err};
	const struct ternd_key *k;
	char shown[SHOW_CAP];

	if (key[0] == '-' && key[1] == '-')
		key += 2;
	k = ternd_key_find(key, strlen(key));
	if (k == NULL)
		return ternd_config_fail(err, source, line, "unknown key '%s'",
		                         show(key, strlen(key), shown));
	c.spelled = k->name;
	return apply(k, value, &c, layer);
}

int ternd_config_set(struct ternd_config *cfg, const char *key, const char *value,
                     const char *source, unsigned line, struct ternd_config_error *err)
{
	if (source == NULL)
		source = "ternd.conf";
	if (key == NULL)
		return ternd_config_fail(err, source, line, "missing key");
	return apply_named(cfg, key, value, source, line, err, NULL);
}

/* ------------------------------------------------------------ the file */

/*
 * v (n bytes, inside a NUL-terminated line, v[-1] readable) is what follows
 * "key =" or "key ". Cut a comment ('#' after a blank) or strip the quotes;
 * *value is NULL for a bare key.
 */
static int split_value(char *v, size_t n, bool eq, const char **value, const char *source,
                       unsigned line, struct ternd_config_error *err)
{
	if (n > 0 && v[0] == '"') {
		char *q = memchr(v + 1, '"', n - 1);
		size_t rest;

		if (q == NULL)
			return ternd_config_fail(err, source, line, "unterminated quote");
		for (rest = (size_t)(q - v) + 1; rest < n && is_blank(v[rest]); rest++)
			;
		if (rest < n && v[rest] != '#')
			return ternd_config_fail(err, source, line, "text after the closing quote");
		*q = '\0';
		*value = v + 1;
		return 0;
	}
	for (size_t j = 0; j < n; j++) {
		if (v[j] == '#' && is_blank(v[(ptrdiff_t)j - 1])) {
			n = j;
			break;
		}
	}
	while (n > 0 && is_blank(v[n - 1]))
		n--;
	v[n] = '\0';
	*value = n == 0 && !eq ? NULL : v;
	return 0;
}

/* One line with its blanks trimmed: "key = value", "key value" or "key". */
static int parse_line(struct ternd_config *cfg, const char *p, size_t n, const char *source,
                      unsigned line, struct ternd_config_error *err, struct layer *layer)
{
	char buf[LINE_MAX_BYTES + 1];
	const char *value = NULL;
	size_t i = 0, klen;
	bool eq = false;

	if (n > LINE_MAX_BYTES)
		return ternd_config_fail(err, source, line, "line is longer than %u bytes",
		                         LINE_MAX_BYTES);
	if (memchr(p, '\0', n) != NULL)
		return ternd_config_fail(err, source, line, "line contains a NUL byte");
	memcpy(buf, p, n);
	buf[n] = '\0';
	while (i < n && buf[i] != '=' && !is_blank(buf[i]))
		i++;
	klen = i;
	while (i < n && is_blank(buf[i]))
		i++;
	if (i < n && buf[i] == '=') {
		eq = true;
		for (i++; i < n && is_blank(buf[i]); i++)
			;
	}
	if (klen == 0)
		return ternd_config_fail(err, source, line, "expected KEY = VALUE");
	if (split_value(buf + i, n - i, eq, &value, source, line, err) != 0)
		return -1;
	buf[klen] = '\0';
	return apply_named(cfg, buf, value, source, line, err, layer);
}

/* min-port above max-port, reported at the later of the two lines. */
static int check_port_range(const struct ternd_config *cfg, const struct layer *layer,
                            const char *source, struct ternd_config_error *err)
{
	size_t lo = ternd_key_index(ternd_key_find("min-port", 8));
	size_t hi = ternd_key_index(ternd_key_find("max-port", 8));
	unsigned line = layer->line[lo] > layer->line[hi] ? layer->line[lo] : layer->line[hi];

	if (line != 0 && cfg->min_port > cfg->max_port)
		return ternd_config_fail(err, source, line, "min-port %u is above max-port %u",
		                         cfg->min_port, cfg->max_port);
	return 0;
}

int ternd_config_parse(struct ternd_config *cfg, const char *text, size_t len, const char *source,
                       struct ternd_config_error *err)
{
	struct layer layer;
	size_t pos = 0;
	unsigned line = 0;

	layer_init(&layer, false);
	if (source == NULL)
		source = "ternd.conf";
	if (text == NULL)
		len = 0;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* UTF-8 byte order mark */
	while (pos < len) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : len - pos;

		pos += n + 1;
		line++;
		while (n > 0 && is_blank(p[0])) {
			p++;
			n--;
		}
		while (n > 0 && is_blank(p[n - 1]))
			n--;
		if (n == 0 || p[0] == '#')
			continue;
		if (parse_line(cfg, p, n, source, line, err, &layer) != 0)
			return -1;
	}
	return check_port_range(cfg, &layer, source, err);
}

/* ------------------------------------------------------------ environment */

static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A key's character in its variable name: upper case, '-' as '_'. */
static char env_char(char ch)
{
	static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (ch == '-')
		return '_';
	if (ch >= 'a' && ch <= 'z')
		return upper[ch - 'a'];
	return ch;
}

/* TERN_LISTENING_PORT names listening-port (name: after "TERN_"). */
static const struct ternd_key *env_key(const char *name, size_t len)
{
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		const char *k = ternd_key_at(i)->name;
		size_t j = 0;

		for (; j < len && k[j] != '\0'; j++) {
			if (name[j] != env_char(k[j]))
				break;
		}
		if (j == len && k[j] == '\0')
			return ternd_key_at(i);
	}
	return NULL;
}

/* Repeatable keys take one value per line; blanks around each are trimmed. */
static int apply_env_value(const struct ternd_key *k, char *value, struct ternd_setctx *c,
                           struct layer *layer)
{
	char *next;
	bool any = false;

	if ((k->flags & TERND_KEY_REPEAT) == 0)
		return apply(k, trim(value), c, layer);
	for (char *p = value; p != NULL; p = next) {
		char *t;

		next = strchr(p, '\n');
		if (next != NULL)
			*next++ = '\0';
		t = trim(p);
		if (*t == '\0')
			continue;
		any = true;
		if (apply(k, t, c, layer) != 0)
			return -1;
	}
	return any ? 0 : ternd_key_fail(c, "missing value");
}

static int apply_env(struct ternd_config *cfg, const char *entry, struct ternd_config_error *err,
                     struct layer *layer)
{
	const char *eq = strchr(entry, '='), *name = entry + 5;
	struct ternd_setctx c = {cfg, SRC_ENV, 0, NULL, err};
	const struct ternd_key *k;
	char var[SHOW_CAP], *copy;
	size_t len;
	int rc;

	if (strncmp(entry, "TERN_", 5) != 0 || eq == NULL)
		return 0;
	len = (size_t)(eq - name);
	if (strncmp(name, "CI_", 3) == 0 || strncmp(name, "FUZZ_", 5) == 0)
		return 0; /* the scripts' own variables */
	k = env_key(name, len);
	if (k == NULL)
		return ternd_config_fail(err, SRC_ENV, 0, "unknown variable %s",
		                         show(entry, (size_t)(eq - entry), var));
	c.spelled = show(entry, (size_t)(eq - entry), var);
	copy = strdup(eq + 1);
	if (copy == NULL)
		return ternd_key_fail(&c, "out of memory");
	rc = apply_env_value(k, copy, &c, layer);
	explicit_bzero(copy, strlen(eq + 1));
	free(copy);
	return rc;
}

int ternd_config_env(struct ternd_config *cfg, char *const *envp, struct ternd_config_error *err)
{
	struct layer layer;

	layer_init(&layer, true);
	for (; envp != NULL && *envp != NULL; envp++) {
		if (apply_env(cfg, *envp, err, &layer) != 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ flags */

enum tok_kind { TOK_KEY, TOK_CONFIG, TOK_HELP, TOK_CHECK, TOK_UNKNOWN, TOK_STRAY };

struct tok {
	enum tok_kind kind;
	const struct ternd_key *key;
	const char *value; /* NULL: bare */
	bool missing;      /* the value should have been the next argument */
	char spelled[SHOW_CAP];
};

/* "-c FILE", "--config FILE", "-c=FILE", "--config=FILE". */
static bool config_flag(int argc, char **argv, int *i, struct tok *t)
{
	const char *a = argv[*i];

	if (strncmp(a, "-c=", 3) == 0 || strncmp(a, "--config=", 9) == 0) {
		t->value = strchr(a, '=') + 1;
	} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
		if (*i + 1 < argc)
			t->value = argv[++*i];
		else
			t->missing = true;
	} else {
		return false;
	}
	t->kind = TOK_CONFIG;
	snprintf(t->spelled, sizeof(t->spelled), "%s", a[1] == 'c' ? "-c" : "--config");
	return true;
}

/* Read the flag at argv[*i] and its value; *i ends on the last one used. */
static void next_tok(int argc, char **argv, int *i, struct tok *t)
{
	const char *a = argv[*i], *eq = NULL;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		t->kind = TOK_HELP;
	} else if (strcmp(a, "--check-config") == 0) {
		t->kind = TOK_CHECK;
	} else if (config_flag(argc, argv, i, t)) {
		return;
	} else if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
		eq = strchr(a, '=');
		len = eq != NULL ? (size_t)(eq - a) : strlen(a);
		t->key = ternd_key_find(a + 2, len - 2);
		ternd_config_show(a, len, t->spelled, sizeof(t->spelled));
	} else if (a[0] == '-' && a[1] != '\0' && a[2] == '\0') {
		t->key = ternd_key_short(a[1]);
		ternd_config_show(a, 2, t->spelled, sizeof(t->spelled));
	} else {
		t->kind = TOK_STRAY;
	}
	if (t->kind != TOK_KEY)
		return;
	if (t->key == NULL)
		t->kind = TOK_UNKNOWN;
	else if (eq != NULL)
		t->value = eq + 1;
	else if ((t->key->flags & TERND_KEY_BARE) == 0 && *i + 1 < argc)
		t->value = argv[++*i];
	else
		t->missing = (t->key->flags & TERND_KEY_BARE) == 0;
}

/* First pass: --help, --check-config and the file name. */
static int scan_meta(int argc, char **argv, enum ternd_config_action *action, const char **path,
                     struct ternd_config_error *err)
{
	bool help = false, check = false, missing = false;
	struct tok t;

	for (int i = 1; i < argc; i++) {
		next_tok(argc, argv, &i, &t);
		help = help || t.kind == TOK_HELP;
		check = check || t.kind == TOK_CHECK;
		if (t.kind == TOK_CONFIG) {
			*path = t.value;
			missing = t.missing;
		}
	}
	*action = help ? TERND_HELP : check ? TERND_CHECK : TERND_RUN;
	if (!help && missing)
		return ternd_config_fail(err, SRC_ARGV, 0, "-c: missing file name");
	return 0;
}

static int apply_flags(struct ternd_config *cfg, int argc, char **argv,
                       struct ternd_config_error *err)
{
	struct ternd_setctx c = {cfg, SRC_ARGV, 0, NULL, err};
	struct layer layer;
	struct tok t;

	layer_init(&layer, true);
	for (int i = 1; i < argc; i++) {
		next_tok(argc, argv, &i, &t);
		c.spelled = t.spelled;
		if (t.kind == TOK_UNKNOWN)
			return ternd_config_fail(err, SRC_ARGV, 0, "unknown flag '%s'", t.spelled);
		if (t.kind == TOK_STRAY) /* not shown: it may be a misplaced secret */
			return ternd_config_fail(
			    err, SRC_ARGV, 0, "argument %d is not a flag (flags start with --)", i);
		if (t.kind == TOK_KEY && t.missing)
			return ternd_key_fail(&c, "missing value");
		if (t.kind == TOK_KEY && apply(t.key, t.value, &c, &layer) != 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ loading */

/* The whole file, NUL-free or not (the parser checks), at most 1 MiB. */
static int read_file(const char *path, char **text, size_t *len, struct ternd_config_error *err)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0, got;
	char *buf = NULL, *grown;
	int rc = 0;

	if (f == NULL)
		return ternd_config_fail(err, path, 0, "cannot open: %s", strerror(errno));
	do {
		if (n == cap) {
			grown = cap < FILE_MAX_BYTES ? realloc(buf, cap ? 2 * cap : 4096) : NULL;
			if (grown == NULL) {
				rc = ternd_config_fail(err, path, 0, "%s",
				                       cap < FILE_MAX_BYTES ? "out of memory"
				                                            : "larger than 1 MiB");
				break;
			}
			buf = grown;
			cap = cap ? 2 * cap : 4096;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (rc == 0 && ferror(f))
		rc = ternd_config_fail(err, path, 0, "read error");
	fclose(f);
	*text = buf;
	*len = n;
	return rc;
}

static int load_file(struct ternd_config *cfg, const char *path, char *config_path, size_t path_cap,
                     struct ternd_config_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (config_path != NULL) {
		if (strlen(path) >= path_cap)
			return ternd_config_fail(err, SRC_ARGV, 0, "-c: the file name is too long");
		memcpy(config_path, path, strlen(path) + 1);
	}
	rc = read_file(path, &text, &len, err);
	if (rc == 0)
		rc = ternd_config_parse(cfg, text, len, path, err);
	if (text != NULL)
		explicit_bzero(text, len); /* it may hold secrets */
	free(text);
	return rc;
}

/* coturn caps an allocation's lifetime at max-allocate-lifetime. */
static void finish(struct ternd_config *cfg)
{
	struct ternd_setctx c = {cfg, SRC_CHECK, 0, "default-allocate-lifetime", NULL};

	if (cfg->default_allocate_lifetime > cfg->max_allocate_lifetime) {
		ternd_key_warn(&c,
		               "default-allocate-lifetime %u is above max-allocate-lifetime %u; "
		               "using %u",
		               cfg->default_allocate_lifetime, cfg->max_allocate_lifetime,
		               cfg->max_allocate_lifetime);
		cfg->default_allocate_lifetime = cfg->max_allocate_lifetime;
	}
}

int ternd_config_load(struct ternd_config *cfg, int argc, char **argv, char *const *envp,
                      enum ternd_config_action *action, char *config_path, size_t path_cap,
                      struct ternd_config_error *err)
{
	const char *path = NULL;

	if (config_path != NULL && path_cap > 0)
		config_path[0] = '\0';
	else
		config_path = NULL;
	if (scan_meta(argc, argv, action, &path, err) != 0)
		return -1;
	if (*action == TERND_HELP)
		return 0;
	if (path != NULL && load_file(cfg, path, config_path, path_cap, err) != 0)
		return -1;
	if (ternd_config_env(cfg, envp, err) != 0 || apply_flags(cfg, argc, argv, err) != 0)
		return -1;
	finish(cfg);
	return ternd_config_validate(cfg, err);
}

/* ------------------------------------------------------------ validation */

bool ternd_config_tls_enabled(const struct ternd_config *cfg)
{
	return !cfg->no_tls && cfg->cert != NULL && cfg->cert[0] != '\0' && cfg->pkey != NULL &&
	       cfg->pkey[0] != '\0';
}

static int check_listeners(const struct ternd_config *cfg, struct ternd_config_error *err)
{
	bool tls = ternd_config_tls_enabled(cfg);

	if (cfg->listening_port == 0 || cfg->tls_listening_port == 0)
		return ternd_config_fail(err, SRC_CHECK, 0, "a listening port is 0");
	if (cfg->min_port < 1024 || cfg->min_port > cfg->max_port)
		return ternd_config_fail(err, SRC_CHECK, 0,
		                         "the relay ports %u-%u are not a range within 1024-65535",
		                         cfg->min_port, cfg->max_port);
	if (cfg->no_udp && cfg->no_tcp && !tls)
		return ternd_config_fail(err, SRC_CHECK, 0,
		                         "no listener left: no-udp and no-tcp are set and TLS is "
		                         "off (it needs cert and pkey)");
	if (tls && !cfg->no_tcp && cfg->listening_port == cfg->tls_listening_port)
		return ternd_config_fail(err, SRC_CHECK, 0,
		                         "listening-port and tls-listening-port are both %u",
		                         cfg->listening_port);
	if (!cfg->no_tls && (cfg->cert == NULL) != (cfg->pkey == NULL))
		return ternd_config_fail(err, SRC_CHECK, 0, "%s is set without %s (or set no-tls)",
		                         cfg->cert != NULL ? "cert" : "pkey",
		                         cfg->cert != NULL ? "pkey" : "cert");
	return 0;
}

static int check_auth(const struct ternd_config *cfg, struct ternd_config_error *err)
{
	if (cfg->realm == NULL || cfg->realm[0] == '\0')
		return ternd_config_fail(err, SRC_CHECK, 0, "realm is not set (add realm=DOMAIN)");
	if (cfg->use_auth_secret && cfg->n_static_auth_secret == 0)
		return ternd_config_fail(err, SRC_CHECK, 0,
		                         "use-auth-secret needs at least one static-auth-secret");
	if (!cfg->use_auth_secret && cfg->n_static_auth_secret > 0 && cfg->n_users == 0)
		return ternd_config_fail(err, SRC_CHECK, 0,
		                         "static-auth-secret is set but use-auth-secret is not "
		                         "(add use-auth-secret)");
	if (!cfg->use_auth_secret && cfg->n_users == 0)
		return ternd_config_fail(err, SRC_CHECK, 0,
		                         "no credentials configured: add user=NAME:PASSWORD or "
		                         "use-auth-secret with static-auth-secret");
	return 0;
}

static int check_limits(const struct ternd_config *cfg, struct ternd_config_error *err)
{
	if (cfg->total_quota > ALLOCATIONS_MAX)
		return ternd_config_fail(err, SRC_CHECK, 0, "total-quota %u is above %u",
		                         cfg->total_quota, ALLOCATIONS_MAX);
	for (size_t i = 0; cfg->n_external_ip > 1 && i < cfg->n_external_ip; i++) {
		if (cfg->external_ip[i].private_ip.family == TERN_AF_NONE)
			return ternd_config_fail(
			    err, SRC_CHECK, 0, "several external-ip need the PUBLIC/PRIVATE form");
	}
	return 0;
}

int ternd_config_validate(const struct ternd_config *cfg, struct ternd_config_error *err)
{
	if (check_auth(cfg, err) != 0 || check_listeners(cfg, err) != 0 ||
	    check_limits(cfg, err) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ output */

void ternd_config_print_error(FILE *stream, const struct ternd_config_error *err)
{
	if (err->line != 0)
		fprintf(stream, "%s:%u: %s\n", err->source, err->line, err->message);
	else
		fprintf(stream, "%s: %s\n", err->source, err->message);
}

static void env_name(const char *key, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "TERN_");

	for (; *key != '\0' && n + 1 < cap; key++)
		buf[n++] = env_char(*key);
	buf[n] = '\0';
}

static void usage_key(FILE *stream, const struct ternd_key *k)
{
	char env[SHOW_CAP], flag[2 * SHOW_CAP], letter[8] = "";
	bool boolean = strcmp(k->arg, "BOOL") == 0, bare = (k->flags & TERND_KEY_BARE) != 0;

	env_name(k->name, env, sizeof(env));
	if (k->short_opt != 0)
		snprintf(letter, sizeof(letter), ", -%c", k->short_opt);
	if (boolean)
		snprintf(flag, sizeof(flag), "--%s%s", k->name, letter);
	else
		snprintf(flag, sizeof(flag), "--%s%s%s%s%s", k->name, bare ? "[=" : "=", k->arg,
		         bare ? "]" : "", letter);
	fprintf(stream, "  %-36s %s%s\n      %s (default: %s)\n", flag, env,
	        (k->flags & TERND_KEY_REPEAT) != 0 ? "  (repeatable)" : "", k->help, k->dflt);
}

void ternd_config_usage(FILE *stream)
{
	fputs("usage: ternd [-c FILE] [--check-config] [-h] [--KEY[=VALUE] ...]\n"
	      "\n"
	      "Settings come from the -c file (KEY = VALUE lines, as in coturn's\n"
	      "turnserver.conf), then TERN_* environment variables, then flags; each\n"
	      "overrides the one before. Repeatable keys take several lines, one value\n"
	      "per line in the variable, or several flags. Boolean keys may be bare or\n"
	      "take true/false. --check-config validates and exits.\n\n",
	      stream);
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		if ((ternd_key_at(i)->flags & TERND_KEY_IGNORED) == 0)
			usage_key(stream, ternd_key_at(i));
	}
	fputs("\ncoturn keys accepted and ignored (with a warning):\n", stream);
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		const struct ternd_key *k = ternd_key_at(i);

		if ((k->flags & TERND_KEY_IGNORED) != 0)
			fprintf(stream, "  %-36s %s\n", k->name, k->help);
	}
}
