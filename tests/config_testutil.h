/*
 * config_testutil.h - helpers shared by test_config.c and
 * test_config_load.c: fixtures, parsing that fails the test with the
 * parser's message, address and range assertions, ternd_config_load with a
 * short argument list, temporary files.
 */
#ifndef TERN_CONFIG_TESTUTIL_H
#define TERN_CONFIG_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* A stand-in secret that must never show up in a message. */
#define SECRET "TOPSECRET"

/* A config that validates, to change one thing in. */
extern const char tc_valid_base[];

/* cmocka fixtures: *state is a heap ternd_config, initialised / freed. */
int tc_setup(void **state);
int tc_teardown(void **state);
/* ternd_config_parse of a C string, source "ternd.conf". */
int tc_parse(struct ternd_config *cfg, const char *text, struct ternd_config_error *err);
/* Parse, failing the test with the parser's message. */
void tc_parse_ok(struct ternd_config *cfg, const char *text);
/* Parse into a fresh config: must fail at line with want in the message. */
void tc_expect_parse_error(const char *text, unsigned line, const char *want);
/* An address from its text form. */
struct tern_addr tc_ip(const char *text);
void tc_assert_ip(const struct tern_addr *got, const char *want);
void tc_assert_range(const struct tern_addr_range *r, const char *lo, const char *hi);
void tc_assert_valid(const struct ternd_config *cfg);
/* Parse text (must work), then validation must fail with want. */
void tc_expect_invalid(const char *text, const char *want);
/* Some warning contains want. */
bool tc_warned(const struct ternd_config *cfg, const char *want);
/* "static-auth-secret" -> "TERN_STATIC_AUTH_SECRET". */
void tc_env_name(const char *key, char *buf, size_t cap);
/* ternd_config_load with argv = {"ternd", args..., NULL}. */
int tc_load(struct ternd_config *cfg, const char *const *args, char *const *envp,
            enum ternd_config_action *action, struct ternd_config_error *err);
/* A file in /tmp holding text; its name is written to buf and returned. */
const char *tc_temp_file(char *buf, size_t cap, const char *text);

#endif /* TERN_CONFIG_TESTUTIL_H */
