/*
 * diff_script.c - tern-diff's session scripts and its explanations file.
 *
 * A session file (tests/diff/NN-name.diff) holds, one per line:
 *   title TEXT                what the session checks
 *   transports udp tcp        run it over each of these (default: udp)
 *   NAME ACTION [ARG...]      one step
 * with '#' comments and blank lines. ACTION is binding, allocate, refresh,
 * permission, channel-bind, request (method=N), indication (method=N),
 * retransmit, send (a Send indication), channel-data or peer-send. The
 * arguments are listed in docs/differential.md.
 *
 * The explanations file holds one documented difference a line:
 *   TAG | TERND OUTCOME | COTURN OUTCOME | REFERENCE
 */
#define _GNU_SOURCE
#include "diff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 512u

struct name_value {
	const char *name;
	int value;
};

static const struct name_value actions[] = {
    {"binding", DIFF_ACT_REQUEST},
    {"allocate", DIFF_ACT_REQUEST},
    {"refresh", DIFF_ACT_REQUEST},
    {"permission", DIFF_ACT_REQUEST},
    {"channel-bind", DIFF_ACT_REQUEST},
    {"request", DIFF_ACT_REQUEST},
    {"indication", DIFF_ACT_INDICATION},
    {"retransmit", DIFF_ACT_RETRANSMIT},
    {"send", DIFF_ACT_SEND},
    {"channel-data", DIFF_ACT_CHANNEL},
    {"peer-send", DIFF_ACT_PEER_SEND},
};

static const struct name_value methods[] = {
    {"binding", TERN_STUN_BINDING},           {"allocate", TERN_TURN_ALLOCATE},
    {"refresh", TERN_TURN_REFRESH},           {"permission", TERN_TURN_CREATE_PERMISSION},
    {"channel-bind", TERN_TURN_CHANNEL_BIND},
};

static const struct name_value auths[] = {
    {"none", DIFF_AUTH_NONE},         {"good", DIFF_AUTH_GOOD},
    {"badpw", DIFF_AUTH_BADPW},       {"baduser", DIFF_AUTH_BADUSER},
    {"badnonce", DIFF_AUTH_BADNONCE}, {"norealm", DIFF_AUTH_NOREALM},
    {"nomi", DIFF_AUTH_NOMI},         {"other", DIFF_AUTH_OTHER},
    {"sha256", DIFF_AUTH_SHA256},
};

static const struct name_value mangles[] = {
    {"length", DIFF_MANGLE_LENGTH},   {"magic", DIFF_MANGLE_MAGIC},
    {"short", DIFF_MANGLE_SHORT},     {"fingerprint", DIFF_MANGLE_FINGERPRINT},
    {"topbits", DIFF_MANGLE_TOPBITS}, {"attrlen", DIFF_MANGLE_ATTRLEN},
};

static const struct name_value shows[] = {
    {"lifetime", DIFF_SHOW_LIFETIME}, {"token", DIFF_SHOW_TOKEN},
    {"parity", DIFF_SHOW_PARITY},     {"address-error", DIFF_SHOW_ADDRERR},
    {"unknown", DIFF_SHOW_UNKNOWN},
};

#define LOOKUP(table, name, out) lookup(table, sizeof(table) / sizeof(table[0]), name, out)

static bool lookup(const struct name_value *t, size_t n, const char *name, int *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name) == 0) {
			*out = t[i].value;
			return true;
		}
	}
	return false;
}

static bool number(const char *text, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_peer(const char *v, struct diff_peer_ref *p)
{
	if (v[0] == 'p' && v[1] >= '1' && v[1] < (char)('1' + DIFF_PEERS) && v[2] == '\0') {
		p->kind = DIFF_PEER_LOCAL;
		p->index = (unsigned)(v[1] - '1');
		return true;
	}
	p->kind = DIFF_PEER_LITERAL;
	return diff_parse_addr(v, &p->addr);
}

static bool parse_show(const char *v, unsigned *show)
{
	char buf[128];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", v);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		int bit;

		if (!LOOKUP(shows, t, &bit))
			return false;
		*show |= (unsigned)bit;
	}
	return true;
}

/* Numeric key=value arguments: true when key was one of them. */
static bool numeric_arg(struct diff_step *st, const char *k, const char *v, bool *ok)
{
	long n = 0;

	if (strcmp(k, "client") == 0 && (*ok = number(v, 0, DIFF_CLIENTS - 1, &n)))
		st->client = (unsigned)n;
	else if (strcmp(k, "lifetime") == 0 && (*ok = number(v, 0, 0xFFFFFFFFL, &n)))
		st->lifetime = n;
	else if (strcmp(k, "channel") == 0 && (*ok = number(v, 0, 0xFFFF, &n)))
		st->channel = (int)n;
	else if (strcmp(k, "family") == 0 && (*ok = number(v, 0, 255, &n)))
		st->family = (int)n;
	else if (strcmp(k, "additional-family") == 0 && (*ok = number(v, 0, 255, &n)))
		st->add_family = (int)n;
	else if (strcmp(k, "even-port") == 0 && (*ok = number(v, 0, 1, &n)))
		st->even_port = (int)n;
	else if (strcmp(k, "unknown") == 0 && (*ok = number(v, 1, 0xFFFF, &n)))
		st->unknown_attr = (uint16_t)n;
	else if (strcmp(k, "method") == 0 && (*ok = number(v, 0, 0xFFF, &n)))
		st->method = (uint16_t)n;
	else if (strcmp(k, "wait") == 0 && (*ok = number(v, 0, 10000, &n)))
		st->wait_ms = (int)n;
	else if (strcmp(k, "transport") == 0 && (*ok = number(v, 0, 255, &n)))
		st->transport = (int)n;
	else
		return false;
	return true;
}

static bool step_arg(struct diff_step *st, char *word)
{
	char *eq = strchr(word, '=');
	const char *v = eq != NULL ? eq + 1 : "";
	bool ok = true;
	int e = 0;

	if (eq != NULL)
		*eq = '\0';
	if (strcmp(word, "fingerprint") == 0 && eq == NULL)
		st->fingerprint = true;
	else if (strcmp(word, "dont-fragment") == 0 && eq == NULL)
		st->dont_fragment = true;
	else if (strcmp(word, "transport") == 0 && strcmp(v, "none") == 0)
		st->transport = -1;
	else if (numeric_arg(st, word, v, &ok))
		return ok;
	else if (strcmp(word, "auth") == 0 && (ok = LOOKUP(auths, v, &e)))
		st->auth = (enum diff_auth)e;
	else if (strcmp(word, "mangle") == 0 && (ok = LOOKUP(mangles, v, &e)))
		st->mangle = (enum diff_mangle)e;
	else if (strcmp(word, "token") == 0 && (ok = strcmp(v, "last") == 0 || !strcmp(v, "bogus")))
		st->token = strcmp(v, "last") == 0 ? DIFF_TOKEN_LAST : DIFF_TOKEN_BOGUS;
	else if (strcmp(word, "peer") == 0)
		ok = parse_peer(v, &st->peer);
	else if (strcmp(word, "show") == 0)
		ok = parse_show(v, &st->show);
	else if (strcmp(word, "data") == 0 && (ok = strlen(v) < sizeof(st->data)))
		snprintf(st->data, sizeof(st->data), "%s", v);
	else if (strcmp(word, "explain") == 0 && (ok = strlen(v) < sizeof(st->explain)))
		snprintf(st->explain, sizeof(st->explain), "%s", v);
	else
		ok = false;
	return ok;
}

/* Defaults that depend on the action word. */
static void step_defaults(struct diff_step *st, const char *action)
{
	int m = -1;

	st->transport = -1;
	st->lifetime = -1;
	st->channel = -1;
	st->family = -1;
	st->add_family = -1;
	st->even_port = -1;
	st->wait_ms = DIFF_WAIT_MS;
	if (LOOKUP(methods, action, &m))
		st->method = (uint16_t)m;
	if (m >= 0 && m != TERN_STUN_BINDING)
		st->auth = DIFF_AUTH_GOOD;
	if (m == TERN_TURN_ALLOCATE)
		st->transport = 17;
	snprintf(st->data, sizeof(st->data), "tern-diff");
}

static bool parse_step(struct diff_session *s, char *line, unsigned lineno)
{
	struct diff_step *st = &s->steps[s->nsteps];
	char *save = NULL, *name = strtok_r(line, " \t", &save);
	char *action = strtok_r(NULL, " \t", &save);
	int a;

	if (s->nsteps >= DIFF_MAX_STEPS || action == NULL || !LOOKUP(actions, action, &a) ||
	    strlen(name) >= sizeof(st->name))
		return false;
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->line = lineno;
	st->action = (enum diff_action)a;
	step_defaults(st, action);
	snprintf(st->text, sizeof(st->text), "%s", action);
	for (char *w = strtok_r(NULL, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		size_t used = strlen(st->text);

		if (strncmp(w, "explain=", 8) != 0)
			snprintf(st->text + used, sizeof(st->text) - used, " %s", w);
		if (!step_arg(st, w))
			return false;
	}
	s->nsteps++;
	return true;
}

static bool parse_line(struct diff_session *s, char *line, unsigned lineno)
{
	if (strncmp(line, "title ", 6) == 0) {
		snprintf(s->title, sizeof(s->title), "%.*s", (int)sizeof(s->title) - 1, line + 6);
		return true;
	}
	if (strncmp(line, "transports ", 11) == 0) {
		s->udp = strstr(line + 11, "udp") != NULL;
		s->tcp = strstr(line + 11, "tcp") != NULL;
		return s->udp || s->tcp;
	}
	return parse_step(s, line, lineno);
}

/* Strip comments and blanks; false for an empty line. */
static bool clean(char *line)
{
	char *hash = strchr(line, '#');
	size_t n;

	if (hash != NULL)
		*hash = '\0';
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '\t' ||
	                 line[n - 1] == '\r'))
		line[--n] = '\0';
	return n > 0;
}

bool diff_session_load(const char *path, struct diff_session *s)
{
	FILE *f = fopen(path, "r");
	char line[LINE_MAX_LEN];
	const char *base = strrchr(path, '/');
	unsigned lineno = 0;

	memset(s, 0, sizeof(*s));
	if (f == NULL) {
		fprintf(stderr, "tern-diff: %s: %s\n", path, strerror(errno));
		return false;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->name, sizeof(s->name), "%s", base != NULL ? base + 1 : path);
	if (strchr(s->name, '.') != NULL)
		*strchr(s->name, '.') = '\0';
	s->udp = true;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (clean(line) && !parse_line(s, line, lineno)) {
			fprintf(stderr, "%s:%u: cannot parse this line\n", path, lineno);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	return true;
}

/* Trimmed copy of [from, to) into out. */
static void field(const char *from, const char *to, char *out, size_t cap)
{
	while (from < to && (*from == ' ' || *from == '\t'))
		from++;
	while (to > from && (to[-1] == ' ' || to[-1] == '\t'))
		to--;
	snprintf(out, cap, "%.*s", (int)(to - from), from);
}

static bool parse_expl(char *line, struct diff_expl *e)
{
	char *bar[3];
	char *p = line;

	for (int i = 0; i < 3; i++) {
		bar[i] = strchr(p, '|');
		if (bar[i] == NULL)
			return false;
		p = bar[i] + 1;
	}
	field(line, bar[0], e->tag, sizeof(e->tag));
	field(bar[0] + 1, bar[1], e->ternd, sizeof(e->ternd));
	field(bar[1] + 1, bar[2], e->coturn, sizeof(e->coturn));
	field(bar[2] + 1, line + strlen(line), e->ref, sizeof(e->ref));
	e->bug = strncmp(e->ref, "ternd bug", 9) == 0;
	return e->tag[0] != '\0' && e->ternd[0] != '\0' && e->coturn[0] != '\0';
}

bool diff_expls_load(const char *path, struct diff_expls *x)
{
	FILE *f = fopen(path, "r");
	char line[LINE_MAX_LEN];
	unsigned lineno = 0;

	x->n = 0;
	if (f == NULL) {
		fprintf(stderr, "tern-diff: %s: %s\n", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (!clean(line))
			continue;
		if (x->n >= DIFF_MAX_EXPL || !parse_expl(line, &x->e[x->n])) {
			fprintf(stderr, "%s:%u: expected TAG | TERND | COTURN | REFERENCE\n", path,
			        lineno);
			fclose(f);
			return false;
		}
		x->n++;
	}
	fclose(f);
	return true;
}

const struct diff_expl *diff_expl_find(const struct diff_expls *x, const char *tag)
{
	for (unsigned i = 0; i < x->n; i++)
		if (strcmp(x->e[i].tag, tag) == 0)
			return &x->e[i];
	return NULL;
}

const struct diff_expl *diff_expl_match(const struct diff_expls *x, const char *tags,
                                        const char *ternd, const char *coturn, bool *unknown)
{
	char buf[DIFF_TEXT_MAX];
	char *save = NULL;

	*unknown = false;
	snprintf(buf, sizeof(buf), "%s", tags);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		/* a tag may have several lines: one per pair of outcomes it covers */
		if (diff_expl_find(x, t) == NULL)
			*unknown = true;
		for (unsigned i = 0; i < x->n; i++) {
			const struct diff_expl *e = &x->e[i];

			if (strcmp(e->tag, t) == 0 && strcmp(e->ternd, ternd) == 0 &&
			    strcmp(e->coturn, coturn) == 0)
				return e;
		}
	}
	return NULL;
}
