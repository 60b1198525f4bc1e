/*
 * test_reader.c - the bounds-checked reader (codec/reader.h): big-endian
 * reads, and the rule that a failed read changes neither the position nor
 * the out-parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "reader.h"

static const uint8_t bytes9[9] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void test_reader_init_state(void **state)
{
	struct tern_reader r;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_ptr_equal(r.base, bytes9);
	assert_int_equal(r.len, 9);
	assert_int_equal(r.pos, 0);
	assert_int_equal(tern_reader_remaining(&r), 9);
	assert_false(tern_reader_done(&r));
}

static void test_reader_init_empty(void **state)
{
	struct tern_reader r;
	uint8_t v = 0xAA;

	(void)state;
	tern_reader_init(&r, bytes9, 0);
	assert_true(tern_reader_done(&r));
	assert_int_equal(tern_reader_remaining(&r), 0);
	assert_int_equal(tern_reader_u8(&r, &v), TERN_ERR_TRUNCATED);
	assert_int_equal(v, 0xAA);
}

static void test_reader_u8_sequence(void **state)
{
	struct tern_reader r;
	uint8_t v = 0;

	(void)state;
	tern_reader_init(&r, bytes9, 2);
	assert_int_equal(tern_reader_u8(&r, &v), TERN_OK);
	assert_int_equal(v, 0x01);
	assert_int_equal(tern_reader_u8(&r, &v), TERN_OK);
	assert_int_equal(v, 0x02);
	assert_true(tern_reader_done(&r));
	assert_int_equal(tern_reader_u8(&r, &v), TERN_ERR_TRUNCATED);
	assert_int_equal(v, 0x02);
	assert_int_equal(r.pos, 2);
}

static void test_reader_u16_big_endian(void **state)
{
	struct tern_reader r;
	uint16_t v = 0;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_u16(&r, &v), TERN_OK);
	assert_int_equal(v, 0x0102);
	assert_int_equal(r.pos, 2);
}

static void test_reader_u16_truncated(void **state)
{
	struct tern_reader r;
	uint16_t v = 0xBEEF;

	(void)state;
	tern_reader_init(&r, bytes9, 1);
	assert_int_equal(tern_reader_u16(&r, &v), TERN_ERR_TRUNCATED);
	assert_int_equal(v, 0xBEEF);
	assert_int_equal(r.pos, 0);
	assert_int_equal(tern_reader_remaining(&r), 1);
}

static void test_reader_u32_big_endian(void **state)
{
	struct tern_reader r;
	uint32_t v = 0;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 1), TERN_OK);
	assert_int_equal(tern_reader_u32(&r, &v), TERN_OK);
	assert_int_equal(v, 0x02030405u);
	assert_int_equal(r.pos, 5);
}

static void test_reader_u32_truncated(void **state)
{
	struct tern_reader r;
	uint32_t v = 0xDEADBEEFu;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 6), TERN_OK);
	assert_int_equal(tern_reader_u32(&r, &v), TERN_ERR_TRUNCATED);
	assert_int_equal(v, 0xDEADBEEFu);
	assert_int_equal(r.pos, 6);
}

static void test_reader_u64_big_endian(void **state)
{
	struct tern_reader r;
	uint64_t v = 0;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_u64(&r, &v), TERN_OK);
	assert_true(v == 0x0102030405060708ull);
	assert_int_equal(tern_reader_remaining(&r), 1);
}

static void test_reader_u64_truncated(void **state)
{
	struct tern_reader r;
	uint64_t v = 42;

	(void)state;
	tern_reader_init(&r, bytes9, 7);
	assert_int_equal(tern_reader_u64(&r, &v), TERN_ERR_TRUNCATED);
	assert_true(v == 42);
	assert_int_equal(r.pos, 0);
}

static void test_reader_bytes_view(void **state)
{
	struct tern_reader r;
	const uint8_t *p = NULL;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 2), TERN_OK);
	assert_int_equal(tern_reader_bytes(&r, 7, &p), TERN_OK);
	assert_ptr_equal(p, bytes9 + 2);
	assert_true(tern_reader_done(&r));
}

static void test_reader_bytes_zero_length(void **state)
{
	struct tern_reader r;
	const uint8_t *p = NULL;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 9), TERN_OK);
	assert_int_equal(tern_reader_bytes(&r, 0, &p), TERN_OK);
	assert_int_equal(r.pos, 9);
}

static void test_reader_bytes_truncated(void **state)
{
	struct tern_reader r;
	const uint8_t *p = bytes9;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 3), TERN_OK);
	assert_int_equal(tern_reader_bytes(&r, 7, &p), TERN_ERR_TRUNCATED);
	assert_ptr_equal(p, bytes9);
	assert_int_equal(r.pos, 3);
}

/* An untrusted length near SIZE_MAX must not wrap around pos + n. */
static void test_reader_bytes_huge_length(void **state)
{
	struct tern_reader r;
	const uint8_t *p = NULL;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 1), TERN_OK);
	assert_int_equal(tern_reader_bytes(&r, SIZE_MAX, &p), TERN_ERR_TRUNCATED);
	assert_int_equal(tern_reader_skip(&r, SIZE_MAX), TERN_ERR_TRUNCATED);
	assert_int_equal(tern_reader_bytes(&r, SIZE_MAX - 2, &p), TERN_ERR_TRUNCATED);
	assert_null(p);
	assert_int_equal(r.pos, 1);
}

static void test_reader_copy_ok(void **state)
{
	struct tern_reader r;
	uint8_t out[4] = {0};

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_copy(&r, 3, out), TERN_OK);
	assert_memory_equal(out, bytes9, 3);
	assert_int_equal(out[3], 0);
	assert_int_equal(r.pos, 3);
}

static void test_reader_copy_truncated(void **state)
{
	struct tern_reader r;
	uint8_t out[16];

	(void)state;
	memset(out, 0xCC, sizeof(out));
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_copy(&r, 10, out), TERN_ERR_TRUNCATED);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xCC);
	assert_int_equal(r.pos, 0);
}

static void test_reader_skip_to_end(void **state)
{
	struct tern_reader r;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 4), TERN_OK);
	assert_int_equal(tern_reader_skip(&r, 6), TERN_ERR_TRUNCATED);
	assert_int_equal(r.pos, 4);
	assert_int_equal(tern_reader_skip(&r, 5), TERN_OK);
	assert_true(tern_reader_done(&r));
}

static void test_reader_sub_exact(void **state)
{
	struct tern_reader r, sub;
	uint32_t v = 0;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 1), TERN_OK);
	assert_int_equal(tern_reader_sub(&r, 4, &sub), TERN_OK);
	assert_int_equal(r.pos, 5);
	assert_int_equal(tern_reader_remaining(&sub), 4);
	assert_int_equal(tern_reader_u32(&sub, &v), TERN_OK);
	assert_int_equal(v, 0x02030405u);
	assert_true(tern_reader_done(&sub));
}

/* The sub-reader ends at its own length even when the parent has more. */
static void test_reader_sub_bounded(void **state)
{
	struct tern_reader r, sub;
	uint32_t v = 7;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_sub(&r, 3, &sub), TERN_OK);
	assert_int_equal(tern_reader_u32(&sub, &v), TERN_ERR_TRUNCATED);
	assert_int_equal(v, 7);
	assert_int_equal(tern_reader_remaining(&sub), 3);
	assert_int_equal(tern_reader_remaining(&r), 6);
}

static void test_reader_sub_truncated(void **state)
{
	struct tern_reader r, sub;

	(void)state;
	tern_reader_init(&r, bytes9, sizeof(bytes9));
	assert_int_equal(tern_reader_skip(&r, 2), TERN_OK);
	assert_int_equal(tern_reader_sub(&r, 8, &sub), TERN_ERR_TRUNCATED);
	assert_int_equal(r.pos, 2);
	assert_int_equal(tern_reader_sub(&r, SIZE_MAX, &sub), TERN_ERR_TRUNCATED);
	assert_int_equal(r.pos, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_init_state),
	    cmocka_unit_test(test_reader_init_empty),
	    cmocka_unit_test(test_reader_u8_sequence),
	    cmocka_unit_test(test_reader_u16_big_endian),
	    cmocka_unit_test(test_reader_u16_truncated),
	    cmocka_unit_test(test_reader_u32_big_endian),
	    cmocka_unit_test(test_reader_u32_truncated),
	    cmocka_unit_test(test_reader_u64_big_endian),
	    cmocka_unit_test(test_reader_u64_truncated),
	    cmocka_unit_test(test_reader_bytes_view),
	    cmocka_unit_test(test_reader_bytes_zero_length),
	    cmocka_unit_test(test_reader_bytes_truncated),
	    cmocka_unit_test(test_reader_bytes_huge_length),
	    cmocka_unit_test(test_reader_copy_ok),
	    cmocka_unit_test(test_reader_copy_truncated),
	    cmocka_unit_test(test_reader_skip_to_end),
	    cmocka_unit_test(test_reader_sub_exact),
	    cmocka_unit_test(test_reader_sub_bounded),
	    cmocka_unit_test(test_reader_sub_truncated),
	};
	return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
