/*
 * tern-stun - decode one STUN message or TURN ChannelData given as hex.
 *
 * Prints the header and every attribute with its registry name, length and
 * decoded value, checks FINGERPRINT, and with a key checks
 * MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256. All decoding goes through
 * the public codec API (tern_codec.h); this file never walks the input.
 *
 * Exit status: 0 decoded and every check that ran passed; 1 usage error,
 * bad hex, or a message that does not parse; 2 decoded, but FINGERPRINT or
 * an integrity check failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stun_print.h"
#include "tern_codec.h"

#define EXIT_BAD_INPUT  1
#define EXIT_CHECK_FAIL 2
#define MAX_KEY         256u

struct options {
	const char *user;
	const char *realm;
	const char *password;
	const char *key_hex;
	char **hex; /* the hex arguments, in order */
	int nhex;
};

/* Accumulates hex digits into bytes; blanks and colons are skipped. */
struct hexbuf {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int high; /* pending high nibble, -1 if none */
	const char *err;
};

struct key {
	uint8_t bytes[MAX_KEY];
	size_t len;
	const char *what;
};

static const char usage_text[] =
    "usage: tern-stun [OPTIONS] [HEX...]\n"
    "\n"
    "Decode one STUN message or TURN ChannelData given as hex, in the\n"
    "arguments or, when there are none, on standard input. Spaces, tabs,\n"
    "newlines and colons between digits are ignored.\n"
    "\n"
    "Prints the header, every attribute (registry name, length, decoded\n"
    "value), whether FINGERPRINT verifies and, given a key, whether\n"
    "MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 verify.\n"
    "\n"
    "options:\n"
    "  --password P             short-term credential: key = P as given\n"
    "  --user U --password P [--realm R]\n"
    "                           long-term credential: key = MD5 or SHA-256\n"
    "                           (per PASSWORD-ALGORITHM) of U:R:P; R defaults\n"
    "                           to the message's REALM\n"
    "  --key HEX                use this key as is\n"
    "  -h, --help               show this help\n"
    "\n"
    "Credentials are used as given (no OpaqueString/SASLprep).\n"
    "Exit status: 0 decoded and every check passed, 1 bad usage, bad hex or\n"
    "a message that does not parse, 2 a FINGERPRINT or integrity check failed.\n";

/* ------------------------------------------------------------- input */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex_feed(struct hexbuf *h, const char *s, size_t n)
{
	for (size_t i = 0; i < n && h->err == NULL; i++) {
		int v;

		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == ':')
			continue;
		v = hex_value(s[i]);
		if (v < 0) {
			h->err = "not a hex digit";
		} else if (h->high < 0) {
			h->high = v;
		} else if (h->len == h->cap) {
			h->err = "input too long";
		} else {
			h->buf[h->len++] = (uint8_t)(h->high << 4 | v);
			h->high = -1;
		}
	}
	return h->err == NULL;
}

static bool hex_finish(struct hexbuf *h)
{
	if (h->err == NULL && h->high >= 0)
		h->err = "odd number of hex digits";
	if (h->err == NULL && h->len == 0)
		h->err = "no input";
	return h->err == NULL;
}

static bool read_input(const struct options *o, struct hexbuf *h)
{
	char chunk[4096];
	size_t n;

	if (o->nhex > 0) {
		for (int i = 0; i < o->nhex; i++)
			if (!hex_feed(h, o->hex[i], strlen(o->hex[i])))
				break;
		return hex_finish(h);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (!hex_feed(h, chunk, n))
			break;
	if (ferror(stdin))
		h->err = "cannot read standard input";
	return hex_finish(h);
}

/* ------------------------------------------------------------- options */

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "tern-stun: %s%s\n", msg, arg);
	fprintf(stderr, "Try 'tern-stun --help'.\n");
	return EXIT_BAD_INPUT;
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *i, or NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	*matched = false;
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=') {
		*matched = true;
		return a + n + 1;
	}
	if (a[n] != '\0')
		return NULL;
	*matched = true;
	if (*i + 1 >= argc)
		return NULL;
	*i += 1;
	return argv[*i];
}

/* 0: parsed; -1: --help; otherwise an exit status (usage error). */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const char *const names[] = {"--user", "--realm", "--password", "--key"};
	bool options_done = false;

	/* Hex arguments are moved to the front of argv[1..], in order. */
	o->hex = argv + 1;
	for (int i = 1; i < argc; i++) {
		const char **slot[] = {&o->user, &o->realm, &o->password, &o->key_hex};
		bool matched = false;

		if (options_done || argv[i][0] != '-' || argv[i][1] == '\0') {
			o->hex[o->nhex++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			options_done = true;
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return -1;
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !matched; k++) {
			const char *v = option_value(argc, argv, &i, names[k], &matched);

			if (matched && v == NULL)
				return usage_error("missing value for ", names[k]);
			if (matched)
				*slot[k] = v;
		}
		if (!matched)
			return usage_error("unknown option ", argv[i]);
	}
	if (o->key_hex != NULL && (o->user != NULL || o->password != NULL || o->realm != NULL))
		return usage_error("--key excludes --user, --realm and --password", "");
	if ((o->user != NULL || o->realm != NULL) && o->password == NULL)
		return usage_error("--user and --realm need --password", "");
	if (o->realm != NULL && o->user == NULL)
		return usage_error("--realm needs --user (long-term credential)", "");
	return 0;
}

/* ------------------------------------------------------------- keys and checks */

/* 0 and *key filled, or -1 (message printed). */
static int long_term_key(const struct options *o, const struct tern_stun_msg *msg, struct key *k)
{
	const struct tern_attr *a;
	struct tern_password_alg_entry alg = {.alg = TERN_PWALG_MD5};
	const uint8_t *realm = (const uint8_t *)o->realm;
	size_t realm_len = o->realm ? strlen(o->realm) : 0;
	size_t len = 0;
	int err;

	if (realm == NULL) {
		a = tern_stun_find(msg, TERN_ATTR_REALM);
		if (a == NULL || tern_attr_get_string(a, &realm, &realm_len) != TERN_OK) {
			fprintf(stderr, "tern-stun: --realm needed: the message has no REALM\n");
			return -1;
		}
	}
	a = tern_stun_find(msg, TERN_ATTR_PASSWORD_ALGORITHM);
	if (a != NULL && tern_attr_get_password_algorithm(a, &alg) != TERN_OK)
		alg.alg = 0;
	err = tern_stun_long_term_key(alg.alg, o->user, strlen(o->user), realm, realm_len,
	                              o->password, strlen(o->password), k->bytes, &len);
	if (err != TERN_OK) {
		fprintf(stderr,
		        "tern-stun: cannot derive the long-term key (algorithm 0x%04x): %s\n",
		        alg.alg, tern_strerror(err));
		return -1;
	}
	k->len = len;
	k->what = alg.alg == TERN_PWALG_SHA256 ? "long-term, SHA-256" : "long-term, MD5";
	return 0;
}

/* 0 and *k filled, 1 when no key was given, -1 on error (message printed). */
static int make_key(const struct options *o, const struct tern_stun_msg *msg, struct key *k)
{
	struct hexbuf h = {.buf = k->bytes, .cap = sizeof(k->bytes), .high = -1};
	size_t n;

	if (o->key_hex != NULL) {
		if (!hex_feed(&h, o->key_hex, strlen(o->key_hex)) || !hex_finish(&h)) {
			fprintf(stderr, "tern-stun: bad --key: %s\n", h.err);
			return -1;
		}
		k->len = h.len;
		k->what = "given";
		return 0;
	}
	if (o->user != NULL)
		return long_term_key(o, msg, k);
	if (o->password == NULL)
		return 1; /* no key given */
	n = strlen(o->password);
	if (n > sizeof(k->bytes)) {
		fprintf(stderr, "tern-stun: --password longer than %zu bytes\n", sizeof(k->bytes));
		return -1;
	}
	memcpy(k->bytes, o->password, n);
	k->len = n;
	k->what = "short-term";
	return 0;
}

/* Prints one check's result line; false when the check ran and failed. */
static bool report_check(const char *what, int index, const struct key *k, int err)
{
	printf("%s: ", what);
	if (index < 0)
		printf("absent\n");
	else if (k == NULL)
		printf("not checked (no key given)\n");
	else if (err == TERN_OK)
		printf("ok\n");
	else
		printf("FAILED (%s)\n", tern_strerror(err));
	return index < 0 || k == NULL || err == TERN_OK;
}

static void report_userhash(const struct options *o, const struct tern_stun_msg *msg)
{
	const struct tern_attr *a = tern_stun_find(msg, TERN_ATTR_USERHASH);
	uint8_t hash[32];

	if (a == NULL || o->user == NULL || o->realm == NULL || a->len != sizeof(hash))
		return;
	tern_stun_userhash(o->user, strlen(o->user), o->realm, strlen(o->realm), hash);
	printf("userhash: %s\n", tern_ct_equal(hash, a->value, sizeof(hash))
	                             ? "matches --user and --realm"
	                             : "does not match --user and --realm");
}

/* EXIT_SUCCESS, EXIT_CHECK_FAIL or EXIT_BAD_INPUT (key could not be made). */
static int run_checks(const struct options *o, const struct tern_stun_msg *msg)
{
	struct key k = {.len = 0};
	const struct key *kp = &k;
	bool ok = true;
	int err = TERN_OK;
	int rc = make_key(o, msg, &k);

	if (rc < 0)
		return EXIT_BAD_INPUT;
	if (rc == 1)
		kp = NULL;
	if (kp != NULL) {
		printf("key (%s): ", k.what);
		tern_print_hex(k.bytes, k.len);
		printf("\n");
	}
	if (msg->fp_index >= 0)
		err = tern_stun_check_fingerprint(msg);
	ok = report_check("fingerprint", msg->fp_index, &k, err) && ok;
	if (kp != NULL && msg->mi_index >= 0)
		err = tern_stun_check_integrity(msg, k.bytes, k.len);
	ok = report_check("message-integrity", msg->mi_index, kp, err) && ok;
	if (kp != NULL && msg->mi256_index >= 0)
		err = tern_stun_check_integrity_sha256(msg, k.bytes, k.len);
	ok = report_check("message-integrity-sha256", msg->mi256_index, kp, err) && ok;
	report_userhash(o, msg);
	return ok ? EXIT_SUCCESS : EXIT_CHECK_FAIL;
}

/* ------------------------------------------------------------- messages */

static void print_header(const struct tern_stun_msg *msg)
{
	const char *method = tern_stun_method_name(msg->method);
	const char *cls = tern_stun_class_name(msg->cls);

	printf("STUN message, %zu bytes\n", msg->raw_len);
	printf("  type:   0x%04x (%s %s)\n", msg->type, method ? method : "unknown-method", cls);
	printf("  method: 0x%03x %s\n", msg->method, method ? method : "(unknown)");
	printf("  class:  %s\n", cls);
	printf("  length: %zu\n", msg->raw_len - TERN_STUN_HEADER_LEN);
	printf("  txid:   ");
	tern_print_hex(msg->txid, TERN_STUN_TXID_LEN);
	printf("\n");
}

static void print_parse_error(int err, const struct tern_stun_msg *msg)
{
	fprintf(stderr, "tern-stun: not a valid STUN message: %s (%d)", tern_strerror(err), err);
	if (msg->bad_index >= 0) {
		const char *name = tern_attr_name(msg->bad_type);

		fprintf(stderr, "; bad attribute [%d] 0x%04x %s", msg->bad_index, msg->bad_type,
		        name ? name : "unknown");
	}
	fprintf(stderr, "\n");
	if (msg->txid != NULL)
		fprintf(stderr, "tern-stun: header so far: type 0x%04x, %zu bytes\n", msg->type,
		        msg->raw_len);
}

static int decode_stun(const struct options *o, const uint8_t *buf, size_t len)
{
	struct tern_stun_msg msg;
	const struct tern_attr *last;
	size_t end;
	int err;

	memset(&msg, 0, sizeof(msg));
	msg.bad_index = -1;
	err = tern_stun_parse(buf, len, &msg);
	if (err != TERN_OK) {
		print_parse_error(err, &msg);
		return EXIT_BAD_INPUT;
	}
	print_header(&msg);
	printf("attributes (%u):\n", msg.nattrs);
	for (size_t i = 0; i < msg.nattrs; i++)
		tern_print_attribute(i, &msg.attrs[i], &msg);
	last = msg.nattrs > 0 ? &msg.attrs[msg.nattrs - 1] : NULL;
	end = last ? (size_t)last->offset + 4u + ((last->len + 3u) & ~3u) : TERN_STUN_HEADER_LEN;
	if (end < msg.raw_len)
		printf("  (%zu bytes after the integrity attribute ignored, RFC 8489 14.5)\n",
		       msg.raw_len - end);
	for (size_t i = 0; i < msg.nunknown && i < TERN_STUN_MAX_UNKNOWN; i++)
		printf("unknown comprehension-required attribute: 0x%04x\n", msg.unknown[i]);
	return run_checks(o, &msg);
}

static int decode_channel_data(const uint8_t *buf, size_t len)
{
	struct tern_channel_data cd;
	int err = tern_channel_data_parse(buf, len, false, &cd);

	if (err != TERN_OK) {
		fprintf(stderr, "tern-stun: not valid ChannelData: %s (%d)\n", tern_strerror(err),
		        err);
		return EXIT_BAD_INPUT;
	}
	printf("ChannelData, %zu bytes\n", len);
	printf("  channel: 0x%04x%s\n", cd.channel,
	       cd.channel > TERN_CHANNEL_MAX_RFC8656
	           ? " (RFC 5766 range only; RFC 8656 servers drop it)"
	           : "");
	printf("  length:  %u\n", cd.len);
	printf("  padding: %zu bytes\n", len - TERN_CHANNEL_HEADER_LEN - cd.len);
	printf("  data:    ");
	tern_print_hex(cd.data, cd.len);
	if (tern_print_is_text(cd.data, cd.len)) {
		printf(" ");
		tern_print_quoted(cd.data, cd.len);
	}
	printf("\n");
	printf("  stream framing (TCP/TLS): %s\n",
	       tern_channel_data_parse(buf, len, true, &cd) == TERN_OK ? "valid" : "invalid");
	return EXIT_SUCCESS;
}

static const char *demux_name(enum tern_demux d)
{
	switch (d) {
	case TERN_DEMUX_STUN:
		return "STUN";
	case TERN_DEMUX_ZRTP:
		return "ZRTP";
	case TERN_DEMUX_DTLS:
		return "DTLS";
	case TERN_DEMUX_CHANNEL_DATA:
		return "ChannelData";
	case TERN_DEMUX_RTP:
		return "RTP/RTCP";
	case TERN_DEMUX_OTHER:
		break;
	}
	return "unknown";
}

int main(int argc, char **argv)
{
	uint8_t buf[TERN_STUN_MAX_MSG];
	struct options o = {0};
	struct hexbuf h = {.buf = buf, .cap = sizeof(buf), .high = -1};
	enum tern_demux d;
	int rc = parse_options(argc, argv, &o);

	if (rc < 0) {
		fputs(usage_text, stdout);
		return EXIT_SUCCESS;
	}
	if (rc > 0)
		return rc;
	if (!read_input(&o, &h)) {
		fprintf(stderr, "tern-stun: bad hex input: %s (after %zu bytes)\n", h.err, h.len);
		return EXIT_BAD_INPUT;
	}
	d = tern_demux(buf, h.len);
	if (d == TERN_DEMUX_STUN)
		return decode_stun(&o, buf, h.len);
	if (d == TERN_DEMUX_CHANNEL_DATA)
		return decode_channel_data(buf, h.len);
	fprintf(stderr, "tern-stun: neither STUN nor ChannelData (first byte says %s)\n",
	        demux_name(d));
	return EXIT_BAD_INPUT;
}
