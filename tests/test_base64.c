/* test_base64.c - strict RFC 4648 base64 with padding (tern_base64_*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tern_codec.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CANARY       0xA5u

/* RFC 4648 §10. */
static const struct {
	const char *plain;
	const char *encoded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_len_values(void **state)
{
	(void)state;
	assert_int_equal(tern_base64_len(0), 0);
	assert_int_equal(tern_base64_len(1), 4);
	assert_int_equal(tern_base64_len(3), 4);
	assert_int_equal(tern_base64_len(4), 8);
	assert_int_equal(tern_base64_len(20), 28);
}

static void test_base64_encode_rfc4648(void **state)
{
	char out[16];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rfc4648); i++) {
		size_t n = strlen(rfc4648[i].plain);

		memset(out, 'z', sizeof(out));
		assert_int_equal(tern_base64_encode(rfc4648[i].plain, n, out, sizeof(out)),
		                 TERN_OK);
		assert_string_equal(out, rfc4648[i].encoded);
		assert_int_equal(tern_base64_len(n), strlen(rfc4648[i].encoded));
	}
}

static void test_base64_decode_rfc4648(void **state)
{
	uint8_t out[16];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rfc4648); i++) {
		size_t n = 99;

		assert_int_equal(tern_base64_decode(rfc4648[i].encoded, strlen(rfc4648[i].encoded),
		                                    out, sizeof(out), &n),
		                 TERN_OK);
		assert_int_equal(n, strlen(rfc4648[i].plain));
		assert_memory_equal(out, rfc4648[i].plain, n);
	}
}

/* Every byte value, at every length mod 3, survives encode then decode. */
static void test_base64_roundtrip_binary(void **state)
{
	uint8_t in[256], back[256];
	char text[400];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(255 - i);
	for (size_t n = 253; n <= 256; n++) {
		size_t got = 0;

		assert_int_equal(tern_base64_encode(in, n, text, sizeof(text)), TERN_OK);
		assert_int_equal(strlen(text), tern_base64_len(n));
		assert_int_equal(tern_base64_decode(text, strlen(text), back, sizeof(back), &got),
		                 TERN_OK);
		assert_int_equal(got, n);
		assert_memory_equal(back, in, n);
	}
}

static void test_base64_encode_alphabet_ends(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(tern_base64_encode("\xfb\xff\xbf", 3, out, sizeof(out)), TERN_OK);
	assert_string_equal(out, "+/+/");
}

static void test_base64_decode_malformed(void **state)
{
	static const char *const bad[] = {
	    "Zg=",      /* length not a multiple of 4 */
	    "Z",        /* length not a multiple of 4 */
	    "Zm9*",     /* not in the alphabet */
	    "Zm9v\n",   /* no whitespace */
	    "Zm 9",     /* no whitespace */
	    "Zm9-",     /* base64url alphabet */
	    "Zg==Zg==", /* padding before the end */
	    "Z===",     /* three pad characters */
	    "====",     /* padding only */
	    "Zm=v",     /* data after padding */
	    "Zh==",     /* non-zero unused bits */
	    "Zm9=",     /* non-zero unused bits */
	};
	uint8_t out[16];
	size_t n = 77;
	size_t accepted = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (tern_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n) !=
		    TERN_ERR_MALFORMED) {
			print_message("\"%s\" not rejected as malformed\n", bad[i]);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);
	assert_int_equal(n, 77);
}

static void test_base64_encode_capacity(void **state)
{
	char out[16];

	(void)state;
	for (size_t cap = 0; cap <= 8; cap++) {
		memset(out, CANARY, sizeof(out));
		assert_int_equal(tern_base64_encode("fooba", 5, out, cap), TERN_ERR_NO_SPACE);
		for (size_t i = cap; i < sizeof(out); i++)
			assert_int_equal((uint8_t)out[i], CANARY);
	}
	assert_int_equal(tern_base64_encode("fooba", 5, out, 9), TERN_OK);
	assert_string_equal(out, "Zm9vYmE=");
	assert_int_equal(tern_base64_encode("", 0, out, 0), TERN_ERR_NO_SPACE);
	assert_int_equal(tern_base64_encode("", 0, out, 1), TERN_OK);
	assert_string_equal(out, "");
}

static void test_base64_decode_capacity(void **state)
{
	uint8_t out[8];
	size_t n = 0;

	(void)state;
	for (size_t cap = 0; cap < 6; cap++) {
		memset(out, CANARY, sizeof(out));
		assert_int_equal(tern_base64_decode("Zm9vYmFy", 8, out, cap, &n),
		                 TERN_ERR_NO_SPACE);
		for (size_t i = cap; i < sizeof(out); i++)
			assert_int_equal(out[i], CANARY);
	}
	assert_int_equal(tern_base64_decode("Zm9vYmFy", 8, out, 6, &n), TERN_OK);
	assert_int_equal(n, 6);
	assert_int_equal(tern_base64_decode("Zm9vYmE=", 8, out, 5, &n), TERN_OK);
	assert_int_equal(n, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_len_values),
	    cmocka_unit_test(test_base64_encode_rfc4648),
	    cmocka_unit_test(test_base64_decode_rfc4648),
	    cmocka_unit_test(test_base64_roundtrip_binary),
	    cmocka_unit_test(test_base64_encode_alphabet_ends),
	    cmocka_unit_test(test_base64_decode_malformed),
	    cmocka_unit_test(test_base64_encode_capacity),
	    cmocka_unit_test(test_base64_decode_capacity),
	};
	return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
