/*
 * test_config_load.c - ternd's configuration beyond the file parser:
 * TERN_* variables, command-line flags, ternd_config_load (precedence file <
 * environment < flags, -c, --help, --check-config), validation, --help
 * output, and docs/configuration.md and packaging/ternd.conf listing or
 * using every key of the table.
 *
 * Usage: test_config_load [SOURCE_DIR] (the docs and packaging checks are
 * skipped without it).
 */
#define _DEFAULT_SOURCE /* open_memstream */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_keys.h"
#include "config_testutil.h"

static const char *source_dir;

/* ------------------------------------------------------------ environment */

static void test_config_env_sets_keys(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	char *envp[] = {
	    "PATH=/bin",
	    "TERN_LISTENING_PORT=4000",
	    "TERN_STATIC_AUTH_SECRET=one\n  two  \n\nthree\n",
	    "TERN_NO_TLSV1_1=1",
	    "TERN_NO_TLS= yes ",
	    "TERN_REALM=example.org",
	    "TERN_CI_JOBS=4",
	    "TERN_FUZZ_SECONDS=30",
	    "TERN_NO_EQUALS_SIGN",
	    "tern_realm=lowercase-is-not-ours",
	    NULL,
	};

	assert_int_equal(ternd_config_env(cfg, envp, &err), 0);
	assert_int_equal(cfg->listening_port, 4000);
	assert_int_equal(cfg->n_static_auth_secret, 3);
	assert_string_equal(cfg->static_auth_secret[1], "two");
	assert_string_equal(cfg->static_auth_secret[2], "three");
	assert_true(cfg->no_tls);
	assert_string_equal(cfg->realm, "example.org");
	assert_int_equal(cfg->n_warnings, 1);
	assert_non_null(strstr(cfg->warnings[0], "environment: 'no-tlsv1_1'"));
	assert_int_equal(ternd_config_env(cfg, NULL, &err), 0);
}

static void test_config_env_errors(void **state)
{
	static const struct {
		const char *var;
		const char *want;
	} cases[] = {
	    {"TERN_LISTEN_PORT=3478", "unknown variable TERN_LISTEN_PORT"},
	    {"TERN_=1", "unknown variable TERN_"},
	    {"TERN_LISTENING-PORT=1", "unknown variable"},
	    {"TERN_LISTENING_PORT=0", "TERN_LISTENING_PORT: 0 is out of range"},
	    {"TERN_MIN_PORT=", "TERN_MIN_PORT: missing value"},
	    {"TERN_USER=\n \n", "TERN_USER: missing value"},
	    {"TERN_NO_TLS=", "TERN_NO_TLS: missing value"},
	    {"TERN_REALM=a\nb", "control character"},
	    {"TERN_LISTENING_IP=192.0.2.1\nbogus", "TERN_LISTENING_IP: 'bogus' is not an IPv4"},
	    {"TERN_STATIC_AUTH_SECRET=" SECRET "\x01", "control character"},
	    {"TERN_USER=bob:0x" SECRET, "32 hex digits"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct ternd_config cfg;
		struct ternd_config_error err;
		char *envp[2] = {(char *)(uintptr_t)cases[i].var, NULL};

		ternd_config_init(&cfg);
		assert_int_equal(ternd_config_env(&cfg, envp, &err), -1);
		assert_string_equal(err.source, "environment");
		assert_int_equal(err.line, 0);
		if (strstr(err.message, cases[i].want) == NULL || strstr(err.message, SECRET))
			fail_msg("'%s' (wanted '%s')", err.message, cases[i].want);
		ternd_config_free(&cfg);
	}
}

static void test_config_env_replaces_lists(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	char *envp[] = {"TERN_USER=carol:3", "TERN_DENIED_PEER_IP=10.0.0.0/8\n::1", NULL};

	tc_parse_ok(cfg, "user=alice:1\nuser=bob:2\ndenied-peer-ip=192.0.2.1\nlistening-ip=::1\n");
	assert_int_equal(ternd_config_env(cfg, envp, &err), 0);
	assert_int_equal(cfg->n_users, 1);
	assert_string_equal(cfg->users[0].name, "carol");
	assert_int_equal(cfg->n_denied_peer_ip, 2);
	tc_assert_range(&cfg->denied_peer_ip[1], "::1", "::1");
	assert_int_equal(cfg->n_listening_ip, 1); /* not given: kept */
}

/* ------------------------------------------------------------ flags, load */

static void test_config_load_precedence(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	enum ternd_config_action action;
	char file[64];
	char *envp[] = {"TERN_LISTENING_PORT=2000", "TERN_TLS_LISTENING_PORT=2001",
	                "TERN_USER=env:pw", NULL};
	const char *args[] = {"-c", NULL, "--listening-port", "3000", NULL};

	args[1] = tc_temp_file(file, sizeof(file),
	                       "realm=file.org\nlistening-port=1000\ntls-listening-port=1001\n"
	                       "min-port=2000\nuser=file:pw\n");
	assert_int_equal(tc_load(cfg, args, envp, &action, &err), 0);
	unlink(file);
	assert_int_equal(action, TERND_RUN);
	assert_string_equal(cfg->realm, "file.org");     /* file only */
	assert_int_equal(cfg->min_port, 2000);           /* file only */
	assert_int_equal(cfg->tls_listening_port, 2001); /* env over file */
	assert_int_equal(cfg->listening_port, 3000);     /* flag over env */
	assert_int_equal(cfg->n_users, 1);               /* env list replaced file list */
	assert_string_equal(cfg->users[0].name, "env");
}

static void test_config_load_flag_forms(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	enum ternd_config_action action;
	const char *args[] = {"--realm",
	                      "example.org",
	                      "--user=alice:pw",
	                      "--user",
	                      "bob:pw",
	                      "--no-udp",
	                      "--no-tcp=false",
	                      "-v",
	                      "-p",
	                      "4000",
	                      "-L",
	                      "192.0.2.1",
	                      "-X",
	                      "203.0.113.1",
	                      "--stale-nonce",
	                      "--max-bps=100",
	                      "-f",
	                      "--realm",
	                      "--not-a-flag-but-a-value",
	                      NULL};

	assert_int_equal(tc_load(cfg, args, NULL, &action, &err), 0);
	assert_string_equal(cfg->realm, "--not-a-flag-but-a-value");
	assert_int_equal(cfg->n_users, 2);
	assert_true(cfg->no_udp);
	assert_false(cfg->no_tcp);
	assert_int_equal(cfg->verbose, 1);
	assert_int_equal(cfg->listening_port, 4000);
	tc_assert_ip(&cfg->listening_ip[0], "192.0.2.1");
	tc_assert_ip(&cfg->external_ip[0].public_ip, "203.0.113.1");
	assert_int_equal(cfg->stale_nonce, 600);
	assert_int_equal(cfg->max_bps, 100);
	assert_int_equal(cfg->n_warnings, 1);
	assert_true(tc_warned(cfg, "command line: 'fingerprint'"));
}

static void test_config_load_flag_errors(void **state)
{
	static const struct {
		const char *args[4];
		const char *want;
	} cases[] = {
	    {{"--foo", NULL}, "unknown flag '--foo'"},
	    {{"--foo=bar", NULL}, "unknown flag '--foo'"},
	    {{"-Z", NULL}, "unknown flag '-Z'"},
	    {{"--", NULL}, "unknown flag '--'"},
	    {{"--static-auth-secert=" SECRET, NULL}, "unknown flag '--static-auth-secert'"},
	    {{"--use-auth-secret", SECRET, NULL}, "argument 2 is not a flag"},
	    {{"-", NULL}, "argument 1 is not a flag"},
	    {{"--min-port", NULL}, "--min-port: missing value"},
	    {{"-p", NULL}, "-p: missing value"},
	    {{"--min-port=", NULL}, "--min-port: missing value"},
	    {{"--min-port", "80", NULL}, "--min-port: 80 is out of range"},
	    {{"-p", "x", NULL}, "-p: 'x' is not a whole number"},
	    {{"-c", NULL}, "-c: missing file name"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct ternd_config cfg;
		struct ternd_config_error err;
		enum ternd_config_action action;

		ternd_config_init(&cfg);
		assert_int_equal(tc_load(&cfg, cases[i].args, NULL, &action, &err), -1);
		assert_string_equal(err.source, "command line");
		if (strstr(err.message, cases[i].want) == NULL || strstr(err.message, SECRET))
			fail_msg("'%s' (wanted '%s')", err.message, cases[i].want);
		ternd_config_free(&cfg);
	}
}

static void test_config_load_flags_replace_lists(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	enum ternd_config_action action;
	char *envp[] = {"TERN_REALM=r", "TERN_USER=a:1\nb:2", NULL};
	const char *args[] = {"--user", "c:3", "-u", "d:4", NULL};

	assert_int_equal(tc_load(cfg, args, envp, &action, &err), 0);
	assert_int_equal(cfg->n_users, 2);
	assert_string_equal(cfg->users[0].name, "c");
	assert_string_equal(cfg->users[1].name, "d");
}

static void test_config_load_config_forms(void **state)
{
	static const char *const forms[][2] = {
	    {"-c", NULL}, {"--config", NULL}, {"-c=", NULL}, {"--config=", NULL}};
	char file[64], arg[128];

	(void)state;
	tc_temp_file(file, sizeof(file), tc_valid_base);
	for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
		struct ternd_config cfg;
		struct ternd_config_error err;
		enum ternd_config_action action;
		char *argv[4], path[128];
		int argc = 0;

		argv[argc++] = (char *)(uintptr_t) "ternd";
		if (forms[i][0][strlen(forms[i][0]) - 1] == '=') {
			snprintf(arg, sizeof(arg), "%s%s", forms[i][0], file);
			argv[argc++] = arg;
		} else {
			argv[argc++] = (char *)(uintptr_t)forms[i][0];
			argv[argc++] = file;
		}
		argv[argc] = NULL;
		ternd_config_init(&cfg);
		assert_int_equal(
		    ternd_config_load(&cfg, argc, argv, NULL, &action, path, sizeof(path), &err),
		    0);
		assert_string_equal(path, file);
		assert_string_equal(cfg.realm, "example.org");
		assert_int_equal(ternd_config_load(&cfg, argc, argv, NULL, &action, path, 4, &err),
		                 -1);
		assert_non_null(strstr(err.message, "too long"));
		ternd_config_free(&cfg);
	}
	unlink(file);
}

static void test_config_load_file_errors(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	enum ternd_config_action action;
	char file[64];
	const char *missing[] = {"-c", "/nonexistent/ternd.conf", NULL};
	const char *bad[] = {"-c", NULL, NULL};

	assert_int_equal(tc_load(cfg, missing, NULL, &action, &err), -1);
	assert_string_equal(err.source, "/nonexistent/ternd.conf");
	assert_non_null(strstr(err.message, "cannot open"));
	bad[1] = tc_temp_file(file, sizeof(file), "realm = x\n\nlistening-port = 99999\n");
	assert_int_equal(tc_load(cfg, bad, NULL, &action, &err), -1);
	unlink(file);
	assert_string_equal(err.source, file);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.message, "listening-port: 99999 is out of range"));
}

static void test_config_load_read_errors(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	enum ternd_config_action action;
	char file[64], *argv[] = {"ternd", "-c", file, NULL};
	const char *dir[] = {"-c", "/", NULL};
	FILE *f;

	assert_int_equal(tc_load(cfg, dir, NULL, &action, &err), -1);
	assert_string_equal(err.source, "/");
	assert_string_equal(err.message, "read error");
	tc_temp_file(file, sizeof(file), "");
	f = fopen(file, "wb");
	assert_non_null(f);
	for (int i = 0; i < 1100; i++)
		fprintf(f, "# %01020d\n", i);
	fclose(f);
	/* no place for the file name is fine too */
	assert_int_equal(ternd_config_load(cfg, 3, argv, NULL, &action, NULL, 0, &err), -1);
	unlink(file);
	assert_string_equal(err.source, file);
	assert_string_equal(err.message, "larger than 1 MiB");
	assert_int_equal(ternd_config_set(cfg, "min-port", "1", "x", 1, NULL), -1);
}

static void test_config_load_help_and_check(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	enum ternd_config_action action;
	char file[64];
	const char *help[] = {"--foo", "-c", "/nonexistent", "--help", NULL};
	const char *help2[] = {"-h", "-c", NULL};
	const char *check[] = {"--check-config", "-c", NULL, NULL};
	const char *check_bad[] = {"--check-config", NULL};

	assert_int_equal(tc_load(cfg, help, NULL, &action, &err), 0);
	assert_int_equal(action, TERND_HELP);
	assert_int_equal(tc_load(cfg, help2, NULL, &action, &err), 0);
	assert_int_equal(action, TERND_HELP);
	check[2] = tc_temp_file(file, sizeof(file), tc_valid_base);
	assert_int_equal(tc_load(cfg, check, NULL, &action, &err), 0);
	unlink(file);
	assert_int_equal(action, TERND_CHECK);
	ternd_config_free(cfg);
	assert_int_equal(tc_load(cfg, check_bad, NULL, &action, &err), -1);
	assert_int_equal(action, TERND_CHECK);
	assert_non_null(strstr(err.message, "realm is not set"));
}

static void test_config_load_lifetime_capped(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	enum ternd_config_action action;
	const char *args[] = {"--realm=r", "--user=a:b", "--max-allocate-lifetime=300", NULL};

	assert_int_equal(tc_load(cfg, args, NULL, &action, &err), 0);
	assert_int_equal(cfg->default_allocate_lifetime, 300);
	assert_true(tc_warned(cfg, "default-allocate-lifetime 600 is above max-allocate-lifetime"));
}

/* ------------------------------------------------------------ validation */

static void test_config_validate_errors(void **state)
{
	(void)state;
	tc_expect_invalid("user = a:b\n", "realm is not set");
	tc_expect_invalid("realm = r\n", "no credentials configured: add user=NAME:PASSWORD or "
	                                 "use-auth-secret with static-auth-secret");
	tc_expect_invalid("realm = r\nuse-auth-secret\n", "needs at least one static-auth-secret");
	tc_expect_invalid("realm = r\nstatic-auth-secret = s\n", "add use-auth-secret");
	tc_expect_invalid("realm = r\nuse-auth-secret = no\nstatic-auth-secret = s\n",
	                  "add use-auth-secret");
	tc_expect_invalid("realm = r\nuser = a:b\ncert = /c\n", "cert is set without pkey");
	tc_expect_invalid("realm = r\nuser = a:b\npkey = /k\n", "pkey is set without cert");
	tc_expect_invalid("realm = r\nuser = a:b\nno-udp\nno-tcp\n", "no listener left");
	tc_expect_invalid(
	    "realm = r\nuser = a:b\ncert = /c\npkey = /k\ntls-listening-port = 3478\n",
	    "listening-port and tls-listening-port are both 3478");
	tc_expect_invalid("realm = r\nuser = a:b\nexternal-ip = 192.0.2.1\n"
	                  "external-ip = 192.0.2.2/10.0.0.2\n",
	                  "several external-ip need the PUBLIC/PRIVATE form");
}

static void test_config_validate_struct_checks(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;

	tc_parse_ok(cfg, tc_valid_base);
	tc_assert_valid(cfg);
	cfg->total_quota = 262144;
	assert_int_equal(ternd_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "total-quota 262144 is above 262143"));
	cfg->total_quota = 0;
	cfg->min_port = 1000;
	assert_int_equal(ternd_config_validate(cfg, &err), -1);
	cfg->min_port = 60000;
	cfg->max_port = 50000;
	assert_int_equal(ternd_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "60000-50000"));
	cfg->min_port = 50000;
	cfg->listening_port = 0;
	assert_int_equal(ternd_config_validate(cfg, &err), -1);
	cfg->listening_port = 3478;
	tc_assert_valid(cfg);
}

static void test_config_validate_accepts(void **state)
{
	struct ternd_config *cfg = *state;

	/* TLS asked for but no certificate: runs without TLS, as coturn does */
	tc_parse_ok(cfg, "realm = r\nuser = a:b\n");
	tc_assert_valid(cfg);
	assert_false(ternd_config_tls_enabled(cfg));
	tc_parse_ok(cfg, "cert = /c\nno-tls\n");
	tc_assert_valid(cfg); /* half a TLS setup is fine when TLS is off */
	tc_parse_ok(cfg, "pkey = /k\n");
	assert_false(ternd_config_tls_enabled(cfg));
	tc_parse_ok(cfg, "no-tls = false\n");
	assert_true(ternd_config_tls_enabled(cfg));
	tc_parse_ok(cfg, "no-udp\nno-tcp\n");
	tc_assert_valid(cfg); /* TLS is left */
	tc_parse_ok(cfg, "use-auth-secret\nstatic-auth-secret = s\n");
	tc_assert_valid(cfg);
}

/* ------------------------------------------------------------ output, API */

static void test_config_usage_lists_every_key(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	ternd_config_usage(f);
	fclose(f);
	assert_non_null(strstr(text, "usage: ternd"));
	assert_non_null(strstr(text, "--listening-port=PORT, -p"));
	assert_non_null(strstr(text, "--stale-nonce[=SECONDS]"));
	assert_non_null(strstr(text, "--no-tls "));
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		const struct ternd_key *k = ternd_key_at(i);
		char var[128];

		tc_env_name(k->name, var, sizeof(var));
		if (strstr(text, k->name) == NULL ||
		    ((k->flags & TERND_KEY_IGNORED) == 0 && strstr(text, var) == NULL))
			fail_msg("--help lacks %s", k->name);
	}
	free(text);
}

static char *read_source(const char *rel)
{
	char path[1024], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", source_dir, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_config_docs_list_every_key(void **state)
{
	char *doc;

	(void)state;
	if (source_dir == NULL)
		skip();
	doc = read_source("docs/configuration.md");
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		const struct ternd_key *k = ternd_key_at(i);
		char var[128], name[128];

		tc_env_name(k->name, var, sizeof(var));
		snprintf(name, sizeof(name), "`%s`", k->name);
		if (strstr(doc, name) == NULL ||
		    ((k->flags & TERND_KEY_IGNORED) == 0 && strstr(doc, var) == NULL))
			fail_msg("docs/configuration.md lacks %s or %s", name, var);
	}
	free(doc);
}

/* packaging/ternd.conf parses, and so does each example line uncommented. */
static void test_config_packaged_example_parses(void **state)
{
	char *text, *line, *next;
	unsigned examples = 0;

	(void)state;
	if (source_dir == NULL)
		skip();
	text = read_source("packaging/ternd.conf");
	{
		struct ternd_config cfg;

		ternd_config_init(&cfg);
		tc_parse_ok(&cfg, text);
		assert_int_equal(cfg.n_warnings, 0);
		ternd_config_free(&cfg);
	}
	for (line = text; line != NULL && *line != '\0'; line = next) {
		struct ternd_config cfg;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z')
			continue;
		ternd_config_init(&cfg);
		tc_parse_ok(&cfg, line + 1);
		ternd_config_free(&cfg);
		examples++;
	}
	assert_true(examples >= 30);
	free(text);
}

static void test_config_set_api(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;

	assert_int_equal(ternd_config_set(cfg, "--realm", "r", NULL, 0, &err), 0);
	assert_string_equal(cfg->realm, "r");
	assert_int_equal(ternd_config_set(cfg, "no-udp", NULL, "x", 4, &err), 0);
	assert_int_equal(ternd_config_set(cfg, "realm", NULL, "x", 4, &err), -1);
	assert_string_equal(err.source, "x");
	assert_int_equal(err.line, 4);
	assert_string_equal(err.message, "realm: missing value");
	assert_int_equal(ternd_config_set(cfg, NULL, "v", "x", 5, &err), -1);
	assert_int_equal(ternd_config_set(cfg, "realm", "r", "x", 1, NULL), 0);
	assert_int_equal(ternd_config_set(cfg, "nope", "r", "x", 1, NULL), -1);
}

static void test_config_print_error(void **state)
{
	struct ternd_config_error err = {"ternd.conf", 12, "unknown key 'foo'"};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	ternd_config_print_error(f, &err);
	err.line = 0;
	snprintf(err.source, sizeof(err.source), "environment");
	ternd_config_print_error(f, &err);
	fclose(f);
	assert_string_equal(text, "ternd.conf:12: unknown key 'foo'\n"
	                          "environment: unknown key 'foo'\n");
	free(text);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tc_setup, tc_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_config_env_sets_keys),
	    T(test_config_env_errors),
	    T(test_config_env_replaces_lists),
	    T(test_config_load_precedence),
	    T(test_config_load_flag_forms),
	    T(test_config_load_flag_errors),
	    T(test_config_load_flags_replace_lists),
	    T(test_config_load_config_forms),
	    T(test_config_load_file_errors),
	    T(test_config_load_read_errors),
	    T(test_config_load_help_and_check),
	    T(test_config_load_lifetime_capped),
	    T(test_config_validate_errors),
	    T(test_config_validate_struct_checks),
	    T(test_config_validate_accepts),
	    T(test_config_usage_lists_every_key),
	    T(test_config_docs_list_every_key),
	    T(test_config_packaged_example_parses),
	    T(test_config_set_api),
	    T(test_config_print_error),
	};
#undef T

	if (argc > 1)
		source_dir = argv[1];
	return cmocka_run_group_tests_name("config_load", tests, NULL, NULL);
}
