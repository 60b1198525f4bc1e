/*
 * config_testutil.c - helpers shared by the configuration tests (see
 * config_testutil.h).
 */
#define _DEFAULT_SOURCE /* mkstemp */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "config_testutil.h"

int tc_setup(void **state)
{
	struct ternd_config *cfg = malloc(sizeof(*cfg));

	if (cfg == NULL)
		return -1;
	ternd_config_init(cfg);
	*state = cfg;
	return 0;
}

int tc_teardown(void **state)
{
	ternd_config_free(*state);
	free(*state);
	return 0;
}

int tc_parse(struct ternd_config *cfg, const char *text, struct ternd_config_error *err)
{
	return ternd_config_parse(cfg, text, strlen(text), "ternd.conf", err);
}

void tc_parse_ok(struct ternd_config *cfg, const char *text)
{
	struct ternd_config_error err;

	memset(&err, 0, sizeof(err));
	if (tc_parse(cfg, text, &err) != 0)
		fail_msg("%s:%u: %s", err.source, err.line, err.message);
}

/* Parse text into a fresh config; it must fail at line with want in the message. */
void tc_expect_parse_error(const char *text, unsigned line, const char *want)
{
	struct ternd_config cfg;
	struct ternd_config_error err;

	ternd_config_init(&cfg);
	memset(&err, 0, sizeof(err));
	if (tc_parse(&cfg, text, &err) == 0)
		fail_msg("parsed: %s", text);
	if (err.line != line || strstr(err.message, want) == NULL ||
	    strcmp(err.source, "ternd.conf") != 0)
		fail_msg("%s:%u: %s (wanted line %u, '%s') for %s", err.source, err.line,
		         err.message, line, want, text);
	ternd_config_free(&cfg);
}

struct tern_addr tc_ip(const char *text)
{
	struct tern_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, a.addr) == 1)
		a.family = TERN_AF_IPV4;
	else if (inet_pton(AF_INET6, text, a.addr) == 1)
		a.family = TERN_AF_IPV6;
	else
		fail_msg("bad address in test: %s", text);
	return a;
}

void tc_assert_ip(const struct tern_addr *got, const char *want)
{
	struct tern_addr w = tc_ip(want);

	assert_int_equal(got->family, w.family);
	assert_memory_equal(got->addr, w.addr, sizeof(w.addr));
}

void tc_assert_range(const struct tern_addr_range *r, const char *lo, const char *hi)
{
	tc_assert_ip(&r->lo, lo);
	tc_assert_ip(&r->hi, hi);
}

/* A config that validates, to change one thing in. */
const char tc_valid_base[] = "realm = example.org\nuser = alice:pw\n";

void tc_assert_valid(const struct ternd_config *cfg)
{
	struct ternd_config_error err;

	if (ternd_config_validate(cfg, &err) != 0)
		fail_msg("%s: %s", err.source, err.message);
}

void tc_expect_invalid(const char *text, const char *want)
{
	struct ternd_config cfg;
	struct ternd_config_error err;

	ternd_config_init(&cfg);
	tc_parse_ok(&cfg, text);
	if (ternd_config_validate(&cfg, &err) == 0)
		fail_msg("validated: %s", text);
	if (strstr(err.message, want) == NULL)
		fail_msg("'%s' (wanted '%s') for %s", err.message, want, text);
	ternd_config_free(&cfg);
}

bool tc_warned(const struct ternd_config *cfg, const char *want)
{
	for (size_t i = 0; i < cfg->n_warnings; i++) {
		if (strstr(cfg->warnings[i], want) != NULL)
			return true;
	}
	return false;
}

void tc_env_name(const char *key, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "TERN_");

	for (; *key != '\0' && n + 1 < cap; key++)
		buf[n++] =
		    *key == '-' ? '_' : (char)(*key >= 'a' && *key <= 'z' ? *key - 32 : *key);
	buf[n] = '\0';
}

/* ternd_config_load with argv = {"ternd", args..., NULL}. */
int tc_load(struct ternd_config *cfg, const char *const *args, char *const *envp,
            enum ternd_config_action *action, struct ternd_config_error *err)
{
	char *argv[32], path[256];
	int argc = 0;

	argv[argc++] = (char *)(uintptr_t) "ternd";
	for (; args != NULL && *args != NULL && argc < 31; args++)
		argv[argc++] = (char *)(uintptr_t)*args;
	argv[argc] = NULL;
	return ternd_config_load(cfg, argc, argv, envp, action, path, sizeof(path), err);
}

/* A file holding text; returns its name in buf. */
const char *tc_temp_file(char *buf, size_t cap, const char *text)
{
	int fd;

	snprintf(buf, cap, "/tmp/test_config.XXXXXX");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return buf;
}
