/*
 * test_config.c - ternd.conf parsing (daemon/config.c, config_keys.c,
 * config_set.c): every key, the line syntax, every error naming its line,
 * secrets kept out of messages, ranges and CIDRs, users, coturn's shipped
 * turnserver.conf. test_config_load.c covers the environment, flags,
 * loading, validation and --help.
 */
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

/* ------------------------------------------------------------ defaults */

static void test_config_init_defaults(void **state)
{
	struct ternd_config *cfg = *state;

	assert_int_equal(cfg->listening_port, 3478);
	assert_int_equal(cfg->tls_listening_port, 5349);
	assert_int_equal(cfg->min_port, 49152);
	assert_int_equal(cfg->max_port, 65535);
	assert_int_equal(cfg->relay_threads, 0);
	assert_null(cfg->realm);
	assert_int_equal(cfg->max_allocate_lifetime, 3600);
	assert_int_equal(cfg->default_allocate_lifetime, 600);
	assert_int_equal(cfg->channel_lifetime, 600);
	assert_int_equal(cfg->permission_lifetime, 300);
	assert_int_equal(cfg->stale_nonce, 600);
	assert_int_equal(cfg->log_format, TERND_LOG_TEXT);
	tc_assert_ip(&cfg->metrics_ip, "127.0.0.1");
	assert_int_equal(cfg->metrics_port, 0);
	assert_int_equal(cfg->max_connections, 1024);
	assert_int_equal(cfg->stop_grace, 10);
	assert_null(cfg->software);
	assert_int_equal(cfg->n_warnings, 0);
}

/* ------------------------------------------------------------ every key */

static const char every_key[] = "listening-port = 4000\n"
                                "tls-listening-port = 4001\n"
                                "listening-ip = 192.0.2.1\n"
                                "listening-ip = 2001:db8::1\n"
                                "no-udp\n"
                                "no-tcp = false\n"
                                "no-tls = yes\n"
                                "max-tcp-connections = 2048\n"
                                "tls-handshake-timeout = 5\n"
                                "stream-frame-timeout = 12\n"
                                "relay-ip = 192.0.2.2\n"
                                "relay-ip = 2001:db8::2\n"
                                "external-ip = 203.0.113.9\n"
                                "min-port = 50000\n"
                                "max-port = 50100\n"
                                "relay-threads = 3\n"
                                "event-loop = poll\n"
                                "udp-recv-buffer = 4194304\n"
                                "udp-send-buffer = 1048576\n"
                                "realm = example.org\n"
                                "lt-cred-mech\n"
                                "use-auth-secret\n"
                                "static-auth-secret = s1\n"
                                "static-auth-secret = s2\n"
                                "user = alice:pw\n"
                                "denied-peer-ip = 10.0.0.0/8\n"
                                "allowed-peer-ip = 10.1.2.3\n"
                                "allow-loopback-peers\n"
                                "user-quota = 5\n"
                                "total-quota = 1000\n"
                                "max-bps = 64000\n"
                                "max-allocate-lifetime = 1800\n"
                                "default-allocate-lifetime = 300\n"
                                "channel-lifetime = 500\n"
                                "permission-lifetime = 200\n"
                                "stale-nonce = 120\n"
                                "rfc5766-channel-numbers\n"
                                "cert = /c.pem\n"
                                "pkey = /k.pem\n"
                                "verbose\n"
                                "log-file = /l.log\n"
                                "log-format = json\n"
                                "pidfile = /p.pid\n"
                                "proc-user = nobody\n"
                                "proc-group = nogroup\n"
                                "software-name = tern-test\n"
                                "no-software\n"
                                "no-software-attribute = off\n"
                                "metrics-port = 9100\n"
                                "metrics-ip = ::1\n"
                                "stop-grace = 30\n";

/* every_key's stream timeouts and UDP buffers */
static void assert_socket_keys(const struct ternd_config *cfg)
{
	assert_int_equal(cfg->tls_handshake_timeout, 5);
	assert_int_equal(cfg->stream_frame_timeout, 12);
	assert_int_equal(cfg->udp_recv_buffer, 4194304);
	assert_int_equal(cfg->udp_send_buffer, 1048576);
}

static void test_config_parse_every_key(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, every_key);
	assert_int_equal(cfg->listening_port, 4000);
	assert_int_equal(cfg->event_loop, TERND_EVENT_POLL);
	assert_int_equal(cfg->tls_listening_port, 4001);
	assert_int_equal(cfg->n_listening_ip, 2);
	tc_assert_ip(&cfg->listening_ip[0], "192.0.2.1");
	tc_assert_ip(&cfg->listening_ip[1], "2001:db8::1");
	assert_true(cfg->no_udp);
	assert_false(cfg->no_tcp);
	assert_true(cfg->no_tls);
	assert_int_equal(cfg->max_connections, 2048);
	assert_socket_keys(cfg);
	assert_int_equal(cfg->n_relay_ip, 2);
	tc_assert_ip(&cfg->relay_ip[1], "2001:db8::2");
	assert_int_equal(cfg->n_external_ip, 1);
	tc_assert_ip(&cfg->external_ip[0].public_ip, "203.0.113.9");
	assert_int_equal(cfg->external_ip[0].private_ip.family, TERN_AF_NONE);
	assert_int_equal(cfg->min_port, 50000);
	assert_int_equal(cfg->max_port, 50100);
	assert_int_equal(cfg->relay_threads, 3);
	assert_string_equal(cfg->realm, "example.org");
	assert_true(cfg->lt_cred_mech);
	assert_true(cfg->use_auth_secret);
	assert_int_equal(cfg->n_static_auth_secret, 2);
	assert_string_equal(cfg->static_auth_secret[1], "s2");
	assert_int_equal(cfg->n_users, 1);
	assert_string_equal(cfg->users[0].name, "alice");
	assert_string_equal(cfg->users[0].password, "pw");
	assert_int_equal(cfg->n_denied_peer_ip, 1);
	tc_assert_range(&cfg->denied_peer_ip[0], "10.0.0.0", "10.255.255.255");
	tc_assert_range(&cfg->allowed_peer_ip[0], "10.1.2.3", "10.1.2.3");
	assert_true(cfg->allow_loopback_peers);
	assert_int_equal(cfg->user_quota, 5);
	assert_int_equal(cfg->total_quota, 1000);
	assert_int_equal(cfg->max_bps, 64000);
	assert_int_equal(cfg->max_allocate_lifetime, 1800);
	assert_int_equal(cfg->default_allocate_lifetime, 300);
	assert_int_equal(cfg->channel_lifetime, 500);
	assert_int_equal(cfg->permission_lifetime, 200);
	assert_int_equal(cfg->stale_nonce, 120);
	assert_true(cfg->rfc5766_channel_numbers);
	assert_string_equal(cfg->cert, "/c.pem");
	assert_string_equal(cfg->pkey, "/k.pem");
	assert_int_equal(cfg->verbose, 1);
	assert_string_equal(cfg->log_file, "/l.log");
	assert_int_equal(cfg->log_format, TERND_LOG_JSON);
	assert_string_equal(cfg->pidfile, "/p.pid");
	assert_string_equal(cfg->proc_user, "nobody");
	assert_string_equal(cfg->proc_group, "nogroup");
	assert_string_equal(cfg->software, "tern-test");
	assert_false(cfg->no_software); /* no-software-attribute = off came last */
	assert_int_equal(cfg->metrics_port, 9100);
	tc_assert_ip(&cfg->metrics_ip, "::1");
	assert_int_equal(cfg->stop_grace, 30);
	assert_int_equal(cfg->n_warnings, 0);
	tc_assert_valid(cfg);
}

/* The test above names every key the table has (so a new key needs a test). */
static void test_config_parse_every_key_covered(void **state)
{
	(void)state;
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		const struct ternd_key *k = ternd_key_at(i);
		char line[128];

		if ((k->flags & TERND_KEY_IGNORED) != 0)
			continue;
		snprintf(line, sizeof(line), "\n%s", k->name);
		if (strncmp(every_key, k->name, strlen(k->name)) != 0 &&
		    strstr(every_key, line) == NULL)
			fail_msg("every_key does not set %s", k->name);
	}
}

/* Each key's example value works from a file, a variable and a flag. */
static void test_config_set_every_example(void **state)
{
	(void)state;
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		const struct ternd_key *k = ternd_key_at(i);
		struct ternd_config cfg;
		struct ternd_config_error err;
		char text[256], var[128], *envp[2] = {var, NULL};
		const char *value = k->example[0] != '\0' ? k->example : NULL;

		ternd_config_init(&cfg);
		snprintf(text, sizeof(text), "%s%s%s\n", k->name, value ? " = " : "",
		         value ? value : "");
		if (tc_parse(&cfg, text, &err) != 0)
			fail_msg("%s: %s", text, err.message);
		tc_env_name(k->name, var, sizeof(var));
		snprintf(var + strlen(var), sizeof(var) - strlen(var), "=%s",
		         value ? value : "true");
		if (ternd_config_env(&cfg, envp, &err) != 0)
			fail_msg("%s: %s", var, err.message);
		if (ternd_config_set(&cfg, k->name, value, "command line", 0, &err) != 0)
			fail_msg("--%s: %s", k->name, err.message);
		assert_true(strlen(k->help) > 0 && strlen(k->name) < 40);
		ternd_config_free(&cfg);
	}
}

/* ------------------------------------------------------------ syntax */

static void test_config_parse_syntax(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, "\xEF\xBB\xBF# comment\n"
	                 "\n"
	                 "   \t\n"
	                 "  listening-port=4000  # inline comment\r\n"
	                 "tls-listening-port 4001\n"
	                 "--min-port = 50000\n"
	                 "realm = \"example org\"   # quoted, with a comment\n"
	                 "user = bob:pa#ss\n"
	                 "user = carol:\"quoted\" inside\n"
	                 "user = \"dave:with # hash\"\n"
	                 "no-udp # bare, then a comment\n"
	                 "\tno-tcp\t=\tTRUE\n"
	                 "log-file = /var/log/t.log\n"
	                 "static-auth-secret=#notacomment\n"
	                 "max-port = 60000");
	assert_int_equal(cfg->listening_port, 4000);
	assert_int_equal(cfg->tls_listening_port, 4001);
	assert_int_equal(cfg->min_port, 50000);
	assert_int_equal(cfg->max_port, 60000);
	assert_string_equal(cfg->realm, "example org");
	assert_int_equal(cfg->n_users, 3);
	assert_string_equal(cfg->users[0].password, "pa#ss");
	assert_string_equal(cfg->users[1].password, "\"quoted\" inside");
	assert_string_equal(cfg->users[2].name, "dave");
	assert_string_equal(cfg->users[2].password, "with # hash");
	assert_true(cfg->no_udp);
	assert_true(cfg->no_tcp);
	assert_string_equal(cfg->log_file, "/var/log/t.log");
	assert_string_equal(cfg->static_auth_secret[0], "#notacomment");
}

static void test_config_parse_empty(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;

	assert_int_equal(ternd_config_parse(cfg, NULL, 0, NULL, &err), 0);
	assert_int_equal(ternd_config_parse(cfg, "", 0, "x", &err), 0);
	tc_parse_ok(cfg, "# only a comment");
	assert_int_equal(cfg->listening_port, 3478);
}

static void test_config_parse_booleans(void **state)
{
	static const char *const yes[] = {"true", "TRUE", "t", "yes", "on", "1"};
	static const char *const no[] = {"false", "False", "f", "no", "off", "0"};
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;

	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		assert_int_equal(ternd_config_set(cfg, "no-tls", yes[i], "t", 1, &err), 0);
		assert_true(cfg->no_tls);
		assert_int_equal(ternd_config_set(cfg, "no-tls", no[i], "t", 1, &err), 0);
		assert_false(cfg->no_tls);
	}
	assert_int_equal(ternd_config_set(cfg, "verbose", NULL, "t", 1, &err), 0);
	assert_int_equal(cfg->verbose, 1);
	assert_int_equal(ternd_config_set(cfg, "verbose", "no", "t", 1, &err), 0);
	assert_int_equal(cfg->verbose, 0);
}

static void test_config_parse_last_wins(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(
	    cfg,
	    "realm = a\nrealm = b\nlistening-port = 1\nlistening-port = 2\n"
	    "listening-ip = 192.0.2.1\nlistening-ip = 192.0.2.2\n"
	    "user = alice:one\nuser = bob:two\nuser = alice:0x000102030405060708090a0b0c0d0e0F\n");
	assert_string_equal(cfg->realm, "b");
	assert_int_equal(cfg->listening_port, 2);
	assert_int_equal(cfg->n_listening_ip, 2); /* repeatable: appended */
	assert_int_equal(cfg->n_users, 2);        /* same name: replaced */
	assert_string_equal(cfg->users[0].name, "alice");
	assert_null(cfg->users[0].password);
	assert_true(cfg->users[0].has_key);
	assert_int_equal(cfg->users[0].key[0], 0x00);
	assert_int_equal(cfg->users[0].key[15], 0x0f);
	assert_string_equal(cfg->users[1].password, "two");
}

/* ------------------------------------------------------------ errors */

struct bad_line {
	const char *line;
	const char *want;
};

static const struct bad_line bad_lines[] = {
    {"listening-port = 0", "0 is out of range (1-65535)"},
    {"listening-port = 70000", "70000 is out of range"},
    {"tls-listening-port = 65536", "out of range"},
    {"min-port = 80", "80 is out of range (1024-65535)"},
    {"min-port = 50000x", "'50000x' is not a whole number"},
    {"max-port = -1", "not a whole number"},
    {"max-port = +5000", "not a whole number"},
    {"max-port = 5 000", "not a whole number"},
    {"max-bps = 18446744073709551616", "out of range"},
    {"max-port = 99999999999999999999999", "out of range"},
    {"listening-ip = 1.2.3.256", "'1.2.3.256' is not an IPv4 or IPv6 address"},
    {"listening-ip = fe80::1%eth0", "not an IPv4 or IPv6 address"},
    {"listening-ip = [::1]", "not an IPv4 or IPv6 address"},
    {"relay-ip = turn.example.org", "not an IPv4 or IPv6 address"},
    {"metrics-ip = localhost", "not an IPv4 or IPv6 address"},
    {"external-ip = 203.0.113.1/2001:db8::1", "both addresses must be IPv4 or both IPv6"},
    {"external-ip = 203.0.113.1/", "is not an IPv4 or IPv6 address"},
    {"user = alice:0x0123", "a key is 0x and 32 hex digits"},
    {"user = alice:0xzz0102030405060708090a0b0c0d0e0f", "32 hex digits"},
    {"user = alice:0x000102030405060708090a0b0c0d0e0f00", "32 hex digits"},
    {"user = alice", "expected NAME:PASSWORD or NAME:0xKEY"},
    {"user = :pw", "expected NAME:PASSWORD"},
    {"user = alice:", "the password is empty"},
    {"denied-peer-ip = 10.0.0.0/33", "bad prefix length (0-32)"},
    {"denied-peer-ip = fc00::/129", "bad prefix length (0-128)"},
    {"denied-peer-ip = 10.0.0.0/", "bad prefix length"},
    {"denied-peer-ip = 10.0.0.0/8x", "bad prefix length"},
    {"denied-peer-ip = 10.0.0.0/99999999999", "bad prefix length"},
    {"denied-peer-ip = 10.0.0.0/8/8", "bad prefix length"},
    {"denied-peer-ip = 10.0.0.9-10.0.0.1", "the first address is above the last"},
    {"denied-peer-ip = ::2-::1", "the first address is above the last"},
    {"allowed-peer-ip = 10.0.0.1-::1", "both ends must be IPv4 or both IPv6"},
    {"allowed-peer-ip = 10.0.0.1-", "is not an IPv4 or IPv6 address"},
    {"allowed-peer-ip = 10.0.0.1-10.0.0.2-10.0.0.3", "not an IPv4 or IPv6 address"},
    {"foo = bar", "unknown key 'foo'"},
    {"listening_port = 3478", "unknown key 'listening_port'"},
    {"no-auth", "unknown key 'no-auth'"},
    {"no-tlsv1_2", "unknown key 'no-tlsv1_2'"},
    {"realm", "realm: missing value"},
    {"realm =", "realm: missing value"},
    {"realm = \"\"", "realm: missing value"},
    {"fingerprint =", "missing value"},
    {"realm = \"abc", "unterminated quote"},
    {"realm = \"abc\" x", "text after the closing quote"},
    {"realm = a\x01z", "control character"},
    {"realm = \xff\xfe", "not valid UTF-8"},
    {"realm = \xc3", "not valid UTF-8"},
    {"no-tls = maybe", "'maybe' is not a boolean"},
    {"log-format = xml", "'xml' is not text or json"},
    {"stale-nonce = soon", "not a whole number"},
    {"total-quota = 262144", "262144 is out of range (0-262143)"},
    {"relay-threads = 1025", "out of range"},
    {"event-loop = select", "is not epoll or poll"},
    {"max-allocate-lifetime = 0", "0 is out of range"},
    {"stop-grace = 3601", "out of range"},
    {"max-tcp-connections = 0", "out of range"},
    {"tls-handshake-timeout = 0", "out of range"},
    {"stream-frame-timeout = 3601", "out of range"},
    {"udp-recv-buffer = 536870913", "out of range"},
    {"proc-user = "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "longer than 255 bytes"},
    {"= value", "expected KEY = VALUE"},
    {"=", "expected KEY = VALUE"},
    {"proc-group = a\x7f", "control character"},
    {"denied-peer-ip = 1111111111111111111111111111111111111111111111111111111111111111111111"
     "111111111111111111111111111111111111111111111111111111111111",
     "1...' is not an address, a CIDR or a range"},
    {"max-port = 2000", "min-port 49152 is above max-port 2000"},
};

static void test_config_parse_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_lines); i++) {
		char text[1024];

		snprintf(text, sizeof(text), "# line 1\n%s\nrealm = later\n", bad_lines[i].line);
		tc_expect_parse_error(text, 2, bad_lines[i].want);
	}
}

static void test_config_parse_long_user_name(void **state)
{
	char text[600];

	(void)state;
	memset(text, 'n', sizeof(text));
	memcpy(text, "user=", 5);
	memcpy(text + 5 + 514, ":pw", 4);
	tc_expect_parse_error(text, 1, "user: the name is longer than 513 bytes");
	memcpy(text + 5 + 513, ":pw", 4);
	{
		struct ternd_config cfg;

		ternd_config_init(&cfg);
		tc_parse_ok(&cfg, text);
		assert_int_equal(strlen(cfg.users[0].name), 513);
		ternd_config_free(&cfg);
	}
}

static void test_config_parse_error_lines(void **state)
{
	char realm[200];

	(void)state;
	tc_expect_parse_error("realm = x\n\n# c\nlistening-port = 3478\nfoo = bar\n", 5,
	                      "unknown key 'foo'");
	tc_expect_parse_error("a\r\nb\r\n", 1, "unknown key 'a'");
	tc_expect_parse_error("min-port = 60000\nrealm = x\nmax-port = 50000\n", 3,
	                      "min-port 60000 is above max-port 50000");
	tc_expect_parse_error("max-port = 50000\nmin-port = 60000\nrealm = x\n", 2,
	                      "min-port 60000 is above max-port 50000");
	memset(realm, 'r', sizeof(realm));
	memcpy(realm, "realm=", 6);
	realm[6 + 128] = '\0';
	tc_expect_parse_error(realm, 1, "longer than 127 characters");
	realm[6 + 127] = '\0';
	{
		struct ternd_config cfg;

		ternd_config_init(&cfg);
		tc_parse_ok(&cfg, realm);
		assert_int_equal(strlen(cfg.realm), 127);
		ternd_config_free(&cfg);
	}
}

static void test_config_parse_nul_and_long_lines(void **state)
{
	static const char nul[] = "realm = x\nlisten\0ing-port = 1\n";
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	size_t n = 9000;
	char *big = malloc(n + 1);

	assert_int_equal(ternd_config_parse(cfg, nul, sizeof(nul) - 1, "f", &err), -1);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.message, "line contains a NUL byte");
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, "\nrealm=", 7);
	assert_int_equal(ternd_config_parse(cfg, big, n, "f", &err), -1);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.message, "longer than 8192 bytes"));
	free(big);
}

static void test_config_parse_too_many(void **state)
{
	struct ternd_config *cfg = *state;
	struct ternd_config_error err;
	char value[64];

	for (unsigned i = 0; i < TERND_MAX_LISTEN; i++) {
		snprintf(value, sizeof(value), "192.0.2.%u", i);
		assert_int_equal(ternd_config_set(cfg, "listening-ip", value, "f", i + 1, &err), 0);
		assert_int_equal(ternd_config_set(cfg, "external-ip", value, "f", i + 1, &err), 0);
	}
	assert_int_equal(ternd_config_set(cfg, "listening-ip", "::1", "f", 17, &err), -1);
	assert_int_equal(err.line, 17);
	assert_non_null(strstr(err.message, "too many values (at most 16)"));
	assert_int_equal(ternd_config_set(cfg, "external-ip", "::1", "f", 17, &err), -1);
	for (unsigned i = 0; i < TERND_MAX_SECRETS; i++)
		assert_int_equal(ternd_config_set(cfg, "static-auth-secret", "s", "f", 1, &err), 0);
	assert_int_equal(ternd_config_set(cfg, "static-auth-secret", "s", "f", 1, &err), -1);
	for (unsigned i = 0; i < TERND_MAX_RANGES; i++)
		assert_int_equal(ternd_config_set(cfg, "denied-peer-ip", "::/0", "f", 1, &err), 0);
	assert_int_equal(ternd_config_set(cfg, "denied-peer-ip", "::/0", "f", 1, &err), -1);
	for (unsigned i = 0; i < TERND_MAX_USERS; i++) {
		snprintf(value, sizeof(value), "user%u:pw", i);
		assert_int_equal(ternd_config_set(cfg, "user", value, "f", 1, &err), 0);
	}
	assert_int_equal(cfg->n_users, TERND_MAX_USERS);
	assert_string_equal(cfg->users[TERND_MAX_USERS - 1].name, "user4095");
	assert_int_equal(ternd_config_set(cfg, "user", "one-more:pw", "f", 9, &err), -1);
	assert_non_null(strstr(err.message, "too many users (at most 4096)"));
	/* replacing an existing name is still fine */
	assert_int_equal(ternd_config_set(cfg, "user", "user7:new", "f", 1, &err), 0);
	assert_string_equal(cfg->users[7].password, "new");
}

static void test_config_parse_secrets_hidden(void **state)
{
	static const char *const texts[] = {
	    "user = bob:0x" SECRET SECRET,         "user = bob:" SECRET "\x01",
	    "static-auth-secret = " SECRET "\x01", "static-auth-secert = " SECRET,
	    "user-secret = bob:" SECRET,
	};
	char long_secret[1100];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
		struct ternd_config cfg;
		struct ternd_config_error err;

		ternd_config_init(&cfg);
		assert_int_equal(tc_parse(&cfg, texts[i], &err), -1);
		assert_int_equal(err.line, 1);
		if (strstr(err.message, SECRET) != NULL)
			fail_msg("secret in '%s'", err.message);
		ternd_config_free(&cfg);
	}
	memset(long_secret, 'S', sizeof(long_secret));
	memcpy(long_secret, "static-auth-secret=", 19);
	long_secret[sizeof(long_secret) - 1] = '\0';
	tc_expect_parse_error(long_secret, 1, "the secret is longer than 1024 bytes");
}

/* ------------------------------------------------------------ values */

static void test_config_parse_ranges(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, "denied-peer-ip = 10.0.0.0/8\n"
	                 "denied-peer-ip = fc00::/7\n"
	                 "denied-peer-ip = 10.0.0.0-10.255.255.255\n"
	                 "denied-peer-ip = 192.168.1.1\n"
	                 "denied-peer-ip = 2001:db8::1-2001:db8::ff\n"
	                 "denied-peer-ip = 172.16.5.4/12\n"
	                 "denied-peer-ip = 0.0.0.0/0\n"
	                 "denied-peer-ip = ::1/128\n"
	                 "allowed-peer-ip = 83.166.68.45\n"
	                 "allowed-peer-ip = 83.166.64.0-83.166.64.0\n");
	assert_int_equal(cfg->n_denied_peer_ip, 8);
	tc_assert_range(&cfg->denied_peer_ip[0], "10.0.0.0", "10.255.255.255");
	tc_assert_range(&cfg->denied_peer_ip[1],
	                "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	tc_assert_range(&cfg->denied_peer_ip[2], "10.0.0.0", "10.255.255.255");
	tc_assert_range(&cfg->denied_peer_ip[3], "192.168.1.1", "192.168.1.1");
	tc_assert_range(&cfg->denied_peer_ip[4], "2001:db8::1", "2001:db8::ff");
	tc_assert_range(&cfg->denied_peer_ip[5], "172.16.0.0", "172.31.255.255");
	tc_assert_range(&cfg->denied_peer_ip[6], "0.0.0.0", "255.255.255.255");
	tc_assert_range(&cfg->denied_peer_ip[7], "::1", "::1");
	assert_int_equal(cfg->n_allowed_peer_ip, 2);
	tc_assert_range(&cfg->allowed_peer_ip[0], "83.166.68.45", "83.166.68.45");
	tc_assert_range(&cfg->allowed_peer_ip[1], "83.166.64.0", "83.166.64.0");
}

static void test_config_parse_users(void **state)
{
	struct ternd_config *cfg = *state;
	static const uint8_t key[16] = {0xbc, 0x80, 0x7e, 0xe2, 0x9d, 0xf3, 0xc9, 0xff,
	                                0xa7, 0x36, 0x52, 0x3f, 0xb2, 0xc4, 0xe8, 0xee};

	tc_parse_ok(cfg, "user=ninefingers:0xbc807ee29df3c9ffa736523fb2c4e8ee\n"
	                 "user=gorst:hero\n"
	                 "user=upper:0XBC807EE29DF3C9FFA736523FB2C4E8EE\n"
	                 "user=colons:a:b:c\n");
	assert_int_equal(cfg->n_users, 4);
	assert_string_equal(cfg->users[0].name, "ninefingers");
	assert_true(cfg->users[0].has_key);
	assert_null(cfg->users[0].password);
	assert_memory_equal(cfg->users[0].key, key, 16);
	assert_false(cfg->users[1].has_key);
	assert_string_equal(cfg->users[1].password, "hero");
	assert_memory_equal(cfg->users[2].key, key, 16);
	assert_string_equal(cfg->users[3].name, "colons");
	assert_string_equal(cfg->users[3].password, "a:b:c");
}

static void test_config_parse_external_ip(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, "external-ip=60.70.80.91/172.17.19.101\n"
	                 "external-ip=2001:db8::5/2001:db8:1::5\n");
	assert_int_equal(cfg->n_external_ip, 2);
	tc_assert_ip(&cfg->external_ip[0].public_ip, "60.70.80.91");
	tc_assert_ip(&cfg->external_ip[0].private_ip, "172.17.19.101");
	tc_assert_ip(&cfg->external_ip[1].private_ip, "2001:db8:1::5");
}

static void test_config_parse_stale_nonce(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, "stale-nonce = 30\n");
	assert_int_equal(cfg->stale_nonce, 30);
	tc_parse_ok(cfg, "stale-nonce\n");
	assert_int_equal(cfg->stale_nonce, 600);
	tc_parse_ok(cfg, "stale-nonce = 30\nstale-nonce=0\n");
	assert_int_equal(cfg->stale_nonce, 600);
	assert_int_equal(cfg->n_warnings, 1);
	assert_non_null(strstr(cfg->warnings[0], "ternd.conf:2: stale-nonce=0"));
}

static void test_config_parse_ignored_keys(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, "# coturn\nfingerprint\nno-cli\nno-multicast-peers\nno-tlsv1\nno-tlsv1_1\n"
	                 "no-dtls\nno-stdout-log\nsimple-log\nsyslog\nno-rfc5780\n"
	                 "no-stun-backward-compatibility\nresponse-origin-only-with-rfc5780\n"
	                 "fingerprint = " SECRET "\n");
	assert_int_equal(cfg->n_warnings, 13);
	assert_non_null(strstr(cfg->warnings[0], "ternd.conf:2: 'fingerprint' is a coturn option"));
	assert_non_null(strstr(cfg->warnings[8], "ternd.conf:10: 'syslog'"));
	assert_false(tc_warned(cfg, SECRET));
}

static void test_config_parse_warnings_capped(void **state)
{
	struct ternd_config *cfg = *state;

	for (unsigned i = 0; i < TERND_MAX_WARNINGS + 10; i++)
		tc_parse_ok(cfg, "no-cli\n");
	assert_int_equal(cfg->n_warnings, TERND_MAX_WARNINGS);
}

/* The active lines of Debian's coturn 4.6.1 /etc/turnserver.conf as shipped,
 * with some of its comments. */
static const char coturn_shipped[] =
    "# Coturn TURN SERVER configuration file\n"
    "#\n"
    "# Boolean values note: where a boolean value is supposed to be used,\n"
    "# you can use '0', 'off', 'no', 'false', or 'f' as 'false,\n"
    "#\n"
    "#listening-device=eth0\n"
    "#listening-port=3478\n"
    "#psql-userdb=\"host=<host> dbname=<database-name> user=<database-user> "
    "password=<database-user-password> connect_timeout=30\"\n"
    "#new-log-timestamp-format \"%FT%T%z\"\n"
    "syslog\n"
    "# denied-peer-ip=83.166.64.0-83.166.95.255\n"
    "no-rfc5780\n"
    "no-stun-backward-compatibility\n"
    "response-origin-only-with-rfc5780\n";

/* The shipped file's commented examples, uncommented (values verbatim). */
static const char coturn_examples[] = "listening-port=3478\n"
                                      "tls-listening-port=5349\n"
                                      "listening-ip=172.17.19.101\n"
                                      "listening-ip=10.207.21.238\n"
                                      "listening-ip=2607:f0d0:1002:51::4\n"
                                      "relay-ip=172.17.19.105\n"
                                      "relay-ip=2607:f0d0:1002:51::5\n"
                                      "external-ip=60.70.80.91/172.17.19.101\n"
                                      "external-ip=60.70.80.92/172.17.19.102\n"
                                      "relay-threads=0\n"
                                      "min-port=49152\n"
                                      "max-port=65535\n"
                                      "verbose\n"
                                      "fingerprint\n"
                                      "lt-cred-mech\n"
                                      "user=ninefingers:0xbc807ee29df3c9ffa736523fb2c4e8ee\n"
                                      "user=username1:password1\n"
                                      "realm=mycompany.org\n"
                                      "user-quota=0\n"
                                      "total-quota=0\n"
                                      "max-bps=0\n"
                                      "no-dtls\n"
                                      "stale-nonce=600\n"
                                      "max-allocate-lifetime=3600\n"
                                      "channel-lifetime=600\n"
                                      "permission-lifetime=300\n"
                                      "cert=/usr/local/etc/turn_server_cert.pem\n"
                                      "pkey=/usr/local/etc/turn_server_pkey.pem\n"
                                      "no-stdout-log\n"
                                      "log-file=/var/tmp/turn.log\n"
                                      "simple-log\n"
                                      "no-software-attribute\n"
                                      "allow-loopback-peers\n"
                                      "no-multicast-peers\n"
                                      "denied-peer-ip=83.166.64.0-83.166.95.255\n"
                                      "allowed-peer-ip=83.166.68.45\n"
                                      "pidfile=\"/var/run/turnserver.pid\"\n"
                                      "proc-user=<user-name>\n"
                                      "proc-group=<group-name>\n"
                                      "no-cli\n"
                                      "no-tlsv1\n"
                                      "no-tlsv1_1\n";

static void test_config_parse_coturn_sample(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, coturn_shipped);
	assert_int_equal(cfg->n_warnings, 4);
	assert_true(tc_warned(cfg, "ternd.conf:10: 'syslog'"));
	tc_parse_ok(cfg, coturn_examples);
	assert_int_equal(cfg->n_listening_ip, 3);
	assert_int_equal(cfg->n_external_ip, 2);
	assert_int_equal(cfg->n_users, 2);
	assert_true(cfg->users[0].has_key);
	assert_string_equal(cfg->pidfile, "/var/run/turnserver.pid");
	assert_true(cfg->no_software);
	tc_assert_range(&cfg->denied_peer_ip[0], "83.166.64.0", "83.166.95.255");
	tc_assert_valid(cfg);
	assert_true(ternd_config_tls_enabled(cfg));
}

static void test_config_parse_webrtc_production(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg,
	            "listening-port=3478\ntls-listening-port=5349\n"
	            "listening-ip=0.0.0.0\nexternal-ip=203.0.113.7/10.0.0.7\n"
	            "min-port=49152\nmax-port=65535\nfingerprint\nuse-auth-secret\n"
	            "static-auth-secret=c2VjcmV0LW9uZQ\nstatic-auth-secret=c2VjcmV0LXR3bw\n"
	            "realm=turn.example.com\ntotal-quota=100\nstale-nonce=600\n"
	            "cert=/etc/letsencrypt/live/turn.example.com/cert.pem\n"
	            "pkey=/etc/letsencrypt/live/turn.example.com/privkey.pem\n"
	            "no-multicast-peers\nno-cli\nno-tlsv1\nno-tlsv1_1\n"
	            "denied-peer-ip=0.0.0.0-0.255.255.255\ndenied-peer-ip=10.0.0.0-10.255.255.255\n"
	            "denied-peer-ip=172.16.0.0-172.31.255.255\n"
	            "denied-peer-ip=192.168.0.0-192.168.255.255\n");
	assert_int_equal(cfg->n_static_auth_secret, 2);
	assert_int_equal(cfg->n_denied_peer_ip, 4);
	tc_assert_valid(cfg);
}

static void test_config_free_twice(void **state)
{
	struct ternd_config *cfg = *state;

	tc_parse_ok(cfg, every_key);
	tc_parse_ok(cfg, "fingerprint\nuser=x:0x000102030405060708090a0b0c0d0e0f\n");
	ternd_config_free(cfg);
	assert_null(cfg->realm);
	assert_int_equal(cfg->n_users, 0);
	assert_int_equal(cfg->listening_port, 3478);
	ternd_config_free(cfg);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tc_setup, tc_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_config_init_defaults),
	    T(test_config_parse_every_key),
	    T(test_config_parse_every_key_covered),
	    T(test_config_set_every_example),
	    T(test_config_parse_syntax),
	    T(test_config_parse_empty),
	    T(test_config_parse_booleans),
	    T(test_config_parse_last_wins),
	    T(test_config_parse_bad_values),
	    T(test_config_parse_long_user_name),
	    T(test_config_parse_error_lines),
	    T(test_config_parse_nul_and_long_lines),
	    T(test_config_parse_too_many),
	    T(test_config_parse_secrets_hidden),
	    T(test_config_parse_ranges),
	    T(test_config_parse_users),
	    T(test_config_parse_external_ip),
	    T(test_config_parse_stale_nonce),
	    T(test_config_parse_ignored_keys),
	    T(test_config_parse_warnings_capped),
	    T(test_config_parse_coturn_sample),
	    T(test_config_parse_webrtc_production),
	    T(test_config_free_twice),
	};
#undef T

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
