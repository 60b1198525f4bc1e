/*
 * config_parse.c - fuzz target for ternd's configuration parser
 * (daemon/config.c, config_keys.c, config_set.c).
 *
 * Targets: ternd_config_init, ternd_config_parse, ternd_config_validate,
 * ternd_config_free, and through them every key's setter; then
 * ternd_config_env with each input line given as a TERN_ variable.
 *
 * Input: the text of a ternd.conf. Invariants (abort on violation):
 *  - parse returns 0 or -1; on -1 the message is non-empty printable ASCII
 *    (values are shown sanitised, secrets not at all) and the line is
 *    between 1 and the number of lines in the input;
 *  - after a successful parse every list is within its cap, every range
 *    has two ends of one family in order, min-port <= max-port, the realm
 *    and SOFTWARE fit a STUN attribute, warnings are capped;
 *  - parsing is deterministic: a second parse of the same text into a fresh
 *    config gives the same result, line and message;
 *  - ternd_config_free leaves an initialised config (freeing twice is fine);
 *    leaks are LeakSanitizer's to find.
 */
#include <string.h>

#include "config.h"
#include "fuzz_common.h"

#define MAX_ENV 64

static void check_message(const struct ternd_config_error *err, size_t lines)
{
	const char *end = memchr(err->message, '\0', sizeof(err->message));
	size_t n = end != NULL ? (size_t)(end - err->message) : 0;

	fuzz_require(n > 0, "error message empty or unterminated");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)err->message[i];

		fuzz_require(ch >= 0x20 && ch < 0x7f, "error message has a non-printable byte");
	}
	fuzz_require(err->line <= lines, "error line beyond the input");
}

static void check_range(const struct tern_addr_range *r)
{
	size_t n = r->lo.family == TERN_AF_IPV4 ? 4 : 16;

	fuzz_require(r->lo.family == r->hi.family, "range ends of different families");
	fuzz_require(r->lo.family == TERN_AF_IPV4 || r->lo.family == TERN_AF_IPV6,
	             "range of no family");
	fuzz_require(memcmp(r->lo.addr, r->hi.addr, n) <= 0, "range lo above hi");
}

static void check_config(const struct ternd_config *cfg)
{
	fuzz_require(cfg->n_listening_ip <= TERND_MAX_LISTEN &&
	                 cfg->n_relay_ip <= TERND_MAX_LISTEN &&
	                 cfg->n_external_ip <= TERND_MAX_LISTEN,
	             "address list over its cap");
	fuzz_require(cfg->n_static_auth_secret <= TERND_MAX_SECRETS, "secrets over their cap");
	fuzz_require(cfg->n_users <= TERND_MAX_USERS, "users over their cap");
	fuzz_require(cfg->n_denied_peer_ip <= TERND_MAX_RANGES &&
	                 cfg->n_allowed_peer_ip <= TERND_MAX_RANGES,
	             "ranges over their cap");
	fuzz_require(cfg->n_warnings <= TERND_MAX_WARNINGS, "warnings over their cap");
	for (size_t i = 0; i < cfg->n_denied_peer_ip; i++)
		check_range(&cfg->denied_peer_ip[i]);
	for (size_t i = 0; i < cfg->n_allowed_peer_ip; i++)
		check_range(&cfg->allowed_peer_ip[i]);
	for (size_t i = 0; i < cfg->n_users; i++)
		fuzz_require(cfg->users[i].name[0] != '\0' &&
		                 (cfg->users[i].has_key == (cfg->users[i].password == NULL)),
		             "user without a name, or with both or neither password and key");
	fuzz_require(cfg->min_port >= 1024 && cfg->min_port <= cfg->max_port,
	             "relay port range out of order after a successful parse");
	fuzz_require(cfg->realm == NULL || strlen(cfg->realm) <= 763, "realm too long");
	fuzz_require(cfg->software == NULL || strlen(cfg->software) <= 763, "SOFTWARE too long");
}

/* Each input line as "TERN_<line>", into ternd_config_env. */
static void fuzz_env(const char *text, size_t size)
{
	char *vars[MAX_ENV + 1], *copy = malloc(size + 1), *p, *nl;
	struct ternd_config cfg;
	struct ternd_config_error err;
	size_t n = 0;

	fuzz_require(copy != NULL, "malloc");
	memcpy(copy, text, size);
	copy[size] = '\0';
	for (p = copy; p != NULL && n < MAX_ENV; p = nl) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		vars[n] = malloc(strlen(p) + 6);
		fuzz_require(vars[n] != NULL, "malloc");
		memcpy(vars[n], "TERN_", 5);
		memcpy(vars[n] + 5, p, strlen(p) + 1);
		n++;
	}
	vars[n] = NULL;
	ternd_config_init(&cfg);
	if (ternd_config_env(&cfg, vars, &err) != 0)
		check_message(&err, 0);
	ternd_config_free(&cfg);
	for (size_t i = 0; i < n; i++)
		free(vars[i]);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct ternd_config cfg, again;
	struct ternd_config_error err, err2;
	size_t lines = 1;
	int rc;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	ternd_config_init(&cfg);
	rc = ternd_config_parse(&cfg, text, size, "fuzz", &err);
	fuzz_require(rc == 0 || rc == -1, "parse returned neither 0 nor -1");
	if (rc == 0) {
		check_config(&cfg);
		if (ternd_config_validate(&cfg, &err) != 0)
			check_message(&err, 0);
	} else {
		fuzz_require(err.line >= 1, "a parse error without a line");
		check_message(&err, lines);
	}
	ternd_config_init(&again);
	fuzz_require(ternd_config_parse(&again, text, size, "fuzz", &err2) == rc,
	             "parsing the same text twice gives different results");
	fuzz_require(rc == 0 || (err2.line == err.line && strcmp(err2.message, err.message) == 0),
	             "parsing the same text twice gives different errors");
	ternd_config_free(&again);
	ternd_config_free(&cfg);
	ternd_config_free(&cfg);
	fuzz_require(cfg.realm == NULL && cfg.n_users == 0 && cfg.listening_port == 3478,
	             "ternd_config_free did not leave an initialised config");
	fuzz_env(text, size);
	return 0;
}
