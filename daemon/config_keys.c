/*
 * config_keys.c - the table of every ternd.conf key (coturn name, coturn's
 * one-letter flag, setter, range, default, --help text), its lookups, and
 * the error and warning helpers the setters (config_set.c) use. config.c
 * splits lines, variables and flags and calls the setters through this
 * table; --help prints the same table.
 */
#define _DEFAULT_SOURCE /* strdup */

#include "config_keys.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define OFF(field)     offsetof(struct ternd_config, field)
#define SHOW_CAP       64
#define TEXT_MAX_CHARS 127u /* RFC 8489 §14.9, §14.14: realm, SOFTWARE < 128 characters */
#define LIFETIME_MAX   86400u

/* ------------------------------------------------------------ messages */

const char *ternd_config_show(const char *s, size_t len, char *buf, size_t cap)
{
	size_t n = 0, i;

	if (cap < 5)
		return "";
	for (i = 0; i < len && n < 48 && n + 4 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f)
			buf[n++] = s[i];
		else
			buf[n++] = '?';
	}
	if (i < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

__attribute__((format(printf, 5, 0))) static void set_error(struct ternd_config_error *err,
                                                            const char *source, unsigned line,
                                                            const char *prefix, const char *fmt,
                                                            va_list ap)
{
	int n;

	snprintf(err->source, sizeof(err->source), "%s", source != NULL ? source : "");
	err->line = line;
	n = snprintf(err->message, sizeof(err->message), "%s", prefix);
	if (n >= 0 && (size_t)n < sizeof(err->message))
		vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
}

int ternd_config_fail(struct ternd_config_error *err, const char *source, unsigned line,
                      const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	set_error(err, source, line, "", fmt, ap);
	va_end(ap);
	return -1;
}

int ternd_key_fail(struct ternd_setctx *c, const char *fmt, ...)
{
	char prefix[SHOW_CAP + 2];
	va_list ap;

	if (c->err == NULL)
		return -1;
	snprintf(prefix, sizeof(prefix), "%s: ", c->spelled);
	va_start(ap, fmt);
	set_error(c->err, c->source, c->line, prefix, fmt, ap);
	va_end(ap);
	return -1;
}

void ternd_key_warn(struct ternd_setctx *c, const char *fmt, ...)
{
	struct ternd_config *cfg = c->cfg;
	char buf[512];
	va_list ap;
	int n;

	if (cfg->n_warnings >= TERND_MAX_WARNINGS)
		return;
	if (cfg->warnings == NULL) {
		cfg->warnings = calloc(TERND_MAX_WARNINGS, sizeof(*cfg->warnings));
		if (cfg->warnings == NULL)
			return;
	}
	if (c->line != 0)
		n = snprintf(buf, sizeof(buf), "%s:%u: ", c->source, c->line);
	else
		n = snprintf(buf, sizeof(buf), "%s: ", c->source);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	cfg->warnings[cfg->n_warnings] = strdup(buf);
	if (cfg->warnings[cfg->n_warnings] != NULL)
		cfg->n_warnings++;
}

#define R              TERND_KEY_REPEAT
#define B              TERND_KEY_BARE
#define S              TERND_KEY_SECRET
#define I              (TERND_KEY_IGNORED | TERND_KEY_BARE)
#define PATH_MAX_BYTES (TERND_MAX_PATH - 1)

static const struct ternd_key keys[] = {
    /* listeners */
    {"listening-port", 'p', 0, ternd_set_u16, NULL, OFF(listening_port), 1, 65535, "PORT", "3478",
     "3478", "UDP and TCP listener port"},
    {"tls-listening-port", 0, 0, ternd_set_u16, NULL, OFF(tls_listening_port), 1, 65535, "PORT",
     "5349", "5349", "TLS listener port (TLS runs only with cert and pkey)"},
    {"listening-ip", 'L', R, ternd_set_listening_ip, ternd_clear_listening_ip, 0, 0, 0, "IP",
     "every IPv4 and IPv6 address", "192.0.2.10", "address to listen on"},
    {"no-udp", 0, B, ternd_set_bool, NULL, OFF(no_udp), 0, 0, "BOOL", "false", "true",
     "no UDP listener"},
    {"no-tcp", 0, B, ternd_set_bool, NULL, OFF(no_tcp), 0, 0, "BOOL", "false", "true",
     "no TCP listener"},
    {"no-tls", 0, B, ternd_set_bool, NULL, OFF(no_tls), 0, 0, "BOOL", "false", "true",
     "no TLS listener"},
    {"max-tcp-connections", 0, 0, ternd_set_u32, NULL, OFF(max_connections), 1, 1048576, "N",
     "1024", "4096", "TCP and TLS client connections per worker"},
    {"tls-handshake-timeout", 0, 0, ternd_set_u32, NULL, OFF(tls_handshake_timeout), 1, 3600,
     "SECONDS", "10", "10", "a TLS client that has not finished its handshake by then is closed"},
    {"stream-frame-timeout", 0, 0, ternd_set_u32, NULL, OFF(stream_frame_timeout), 1, 3600,
     "SECONDS", "30", "30",
     "a TCP or TLS client's first message, and any message begun, must be complete by then"},
    /* relaying */
    {"relay-ip", 'E', R, ternd_set_relay_ip, ternd_clear_relay_ip, 0, 0, 0, "IP",
     "the listening address", "192.0.2.10",
     "local address relayed sockets use, one per address family"},
    {"external-ip", 'X', R, ternd_set_external_ip, ternd_clear_external_ip, 0, 0, 0,
     "PUBLIC[/PRIVATE]", "none", "203.0.113.5/192.0.2.10",
     "public address behind 1:1 NAT, sent to clients as the relayed address"},
    {"min-port", 0, 0, ternd_set_u16, NULL, OFF(min_port), 1024, 65535, "PORT", "49152", "49152",
     "lowest relay port"},
    {"max-port", 0, 0, ternd_set_u16, NULL, OFF(max_port), 1024, 65535, "PORT", "65535", "65535",
     "highest relay port"},
    {"relay-threads", 'm', 0, ternd_set_relay_threads, NULL, 0, 0, 1024, "N", "0", "4",
     "worker threads; 0 means one per CPU core"},
    {"event-loop", 0, 0, ternd_set_event_loop, NULL, 0, 0, 0, "epoll|poll", "epoll", "poll",
     "event loop backend: epoll scales with busy sockets, poll with all of them"},
    {"udp-recv-buffer", 0, 0, ternd_set_u32, NULL, OFF(udp_recv_buffer), 0, 536870912, "BYTES", "0",
     "4194304", "receive buffer of each UDP listener socket; 0 keeps the kernel's default"},
    {"udp-send-buffer", 0, 0, ternd_set_u32, NULL, OFF(udp_send_buffer), 0, 536870912, "BYTES", "0",
     "4194304", "send buffer of each UDP listener socket; 0 keeps the kernel's default"},
    /* authentication */
    {"realm", 'r', 0, ternd_set_text, NULL, OFF(realm), 0, TEXT_MAX_CHARS, "REALM",
     "none; required", "example.org", "realm of the long-term credentials"},
    {"lt-cred-mech", 'a', B, ternd_set_bool, NULL, OFF(lt_cred_mech), 0, 0, "BOOL", "false", "true",
     "accepted for coturn configs: long-term credentials are always on"},
    {"use-auth-secret", 0, B, ternd_set_bool, NULL, OFF(use_auth_secret), 0, 0, "BOOL", "false",
     "true", "TURN REST API: passwords are HMACs made with static-auth-secret"},
    {"static-auth-secret", 0, R | S, ternd_set_secret, ternd_config_clear_secrets, 0, 0, 0,
     "SECRET", "none", "north", "REST API shared secret; give several to rotate them"},
    {"user", 'u', R | S, ternd_set_user, ternd_config_clear_users, 0, 0, 0, "NAME:PASSWORD", "none",
     "alice:secret", "a static user; or NAME:0xKEY with turnadmin's 32-hex-digit MD5 key"},
    /* peers */
    {"denied-peer-ip", 0, R, ternd_set_denied, ternd_clear_denied, 0, 0, 0, "RANGE", "none",
     "10.0.0.0/8", "peers not to relay to: IP, IP/PREFIX or IP-IP (besides the built-in denials)"},
    {"allowed-peer-ip", 0, R, ternd_set_allowed, ternd_clear_allowed, 0, 0, 0, "RANGE", "none",
     "10.1.0.0-10.1.255.255", "exceptions to the denials: IP, IP/PREFIX or IP-IP"},
    {"allow-loopback-peers", 0, B, ternd_set_bool, NULL, OFF(allow_loopback_peers), 0, 0, "BOOL",
     "false", "true", "allow peers on 127.0.0.0/8 and ::1 (testing only)"},
    /* quotas and lifetimes */
    {"user-quota", 'q', 0, ternd_set_u32, NULL, OFF(user_quota), 0, UINT32_MAX, "N", "0", "10",
     "allocations per user; 0 means unlimited"},
    {"total-quota", 'Q', 0, ternd_set_u32, NULL, OFF(total_quota), 0, 262143, "N", "0", "5000",
     "allocations in all; 0 means 10000 per worker"},
    {"max-bps", 's', 0, ternd_set_u64, NULL, OFF(max_bps), 0, UINT64_MAX, "BYTES", "0", "250000",
     "bytes per second per allocation; 0 means unlimited"},
    {"max-allocate-lifetime", 0, 0, ternd_set_u32, NULL, OFF(max_allocate_lifetime), 1,
     LIFETIME_MAX, "SECONDS", "3600", "3600", "longest allocation lifetime a client may ask for"},
    {"default-allocate-lifetime", 0, 0, ternd_set_u32, NULL, OFF(default_allocate_lifetime), 1,
     LIFETIME_MAX, "SECONDS", "600", "600", "allocation lifetime when the client names none"},
    {"channel-lifetime", 0, 0, ternd_set_u32, NULL, OFF(channel_lifetime), 1, LIFETIME_MAX,
     "SECONDS", "600", "600", "channel binding lifetime (RFC 8656: 600)"},
    {"permission-lifetime", 0, 0, ternd_set_u32, NULL, OFF(permission_lifetime), 1, LIFETIME_MAX,
     "SECONDS", "300", "300", "permission lifetime (RFC 8656: 300)"},
    {"stale-nonce", 0, B, ternd_set_stale_nonce, NULL, 0, 0, LIFETIME_MAX, "SECONDS", "600", "600",
     "nonce lifetime; bare means 600"},
    {"rfc5766-channel-numbers", 0, B, ternd_set_bool, NULL, OFF(rfc5766_channel_numbers), 0, 0,
     "BOOL", "false", "true", "accept RFC 5766 channel numbers up to 0x7FFF"},
    /* TLS */
    {"cert", 0, 0, ternd_set_string, NULL, OFF(cert), 0, PATH_MAX_BYTES, "FILE", "none",
     "/etc/tern/cert.pem", "TLS certificate chain, PEM"},
    {"pkey", 0, 0, ternd_set_string, NULL, OFF(pkey), 0, PATH_MAX_BYTES, "FILE", "none",
     "/etc/tern/key.pem", "TLS private key, PEM"},
    /* operations */
    {"verbose", 'v', B, ternd_set_verbose, NULL, 0, 0, 0, "BOOL", "false", "true", "debug logging"},
    {"log-file", 'l', 0, ternd_set_string, NULL, OFF(log_file), 0, PATH_MAX_BYTES, "FILE", "stderr",
     "/var/log/ternd.log", "log destination"},
    {"log-format", 0, 0, ternd_set_log_format, NULL, 0, 0, 0, "text|json", "text", "json",
     "log line format"},
    {"pidfile", 0, 0, ternd_set_string, NULL, OFF(pidfile), 0, PATH_MAX_BYTES, "FILE", "none",
     "/run/ternd.pid", "file to write the process id to"},
    {"proc-user", 0, 0, ternd_set_string, NULL, OFF(proc_user), 0, 255, "USER", "none", "ternd",
     "user to switch to after binding the ports"},
    {"proc-group", 0, 0, ternd_set_string, NULL, OFF(proc_group), 0, 255, "GROUP", "none", "ternd",
     "group to switch to after binding the ports"},
    {"software-name", 0, 0, ternd_set_text, NULL, OFF(software), 0, TEXT_MAX_CHARS, "TEXT", "tern",
     "tern", "SOFTWARE attribute value"},
    {"no-software", 0, B, ternd_set_bool, NULL, OFF(no_software), 0, 0, "BOOL", "false", "true",
     "send no SOFTWARE attribute"},
    {"no-software-attribute", 0, B, ternd_set_bool, NULL, OFF(no_software), 0, 0, "BOOL", "false",
     "true", "coturn's name for no-software"},
    {"metrics-port", 0, 0, ternd_set_u16, NULL, OFF(metrics_port), 0, 65535, "PORT", "0", "9641",
     "Prometheus metrics HTTP port; 0 means off"},
    {"metrics-ip", 0, 0, ternd_set_metrics_ip, NULL, 0, 0, 0, "IP", "127.0.0.1", "127.0.0.1",
     "metrics listener address"},
    {"stop-grace", 0, 0, ternd_set_u32, NULL, OFF(stop_grace), 0, 3600, "SECONDS", "10", "10",
     "how long SIGTERM waits for allocations to drain"},
    /* coturn keys accepted with a warning */
    {"fingerprint", 'f', I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "tern always sends "
     "FINGERPRINT"},
    {"no-cli", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "", "tern has no CLI"},
    {"no-multicast-peers", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "multicast peers are always denied"},
    {"no-tlsv1", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "", "tern's TLS minimum is 1.2"},
    {"no-tlsv1_1", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "", "tern's TLS minimum is 1.2"},
    {"no-dtls", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "", "tern has no DTLS"},
    {"no-stdout-log", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "tern logs to log-file "
     "or stderr"},
    {"simple-log", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "tern never renames its log file"},
    {"syslog", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "tern logs to log-file or stderr, which systemd sends to the journal"},
    {"no-rfc5780", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "tern has no RFC 5780 NAT discovery"},
    {"no-stun-backward-compatibility", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "tern answers with XOR-MAPPED-ADDRESS only"},
    {"response-origin-only-with-rfc5780", 0, I, ternd_set_ignored, NULL, 0, 0, 0, "", "", "",
     "tern sends no RESPONSE-ORIGIN"},
};

#undef R
#undef B
#undef S
#undef I

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= TERND_KEYS_MAX, "raise TERND_KEYS_MAX");

size_t ternd_keys_count(void)
{
	return sizeof(keys) / sizeof(keys[0]);
}

const struct ternd_key *ternd_key_at(size_t i)
{
	return i < ternd_keys_count() ? &keys[i] : NULL;
}

size_t ternd_key_index(const struct ternd_key *k)
{
	return (size_t)(k - keys);
}

const struct ternd_key *ternd_key_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ternd_keys_count(); i++) {
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	}
	return NULL;
}

const struct ternd_key *ternd_key_short(char c)
{
	for (size_t i = 0; c != '\0' && i < ternd_keys_count(); i++) {
		if (keys[i].short_opt == c)
			return &keys[i];
	}
	return NULL;
}
