/*
 * test_sendq.c - the worker's send queue (daemon/sendq.c) over real UDP
 * sockets on loopback: every datagram arrives once, intact, in queue order
 * per destination, whether it went out plainly, grouped per socket or as
 * part of a UDP GSO send.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net.h"
#include "sendq.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

static struct ternd_sendq q;

/* A UDP socket on 127.0.0.1, port picked by the kernel. */
static int udp_socket(struct tern_addr *at)
{
	struct tern_addr any;
	int fd;

	assert_true(ternd_addr_parse("127.0.0.1", &any));
	fd = ternd_udp_socket(&any, 0);
	assert_true(fd >= 0);
	assert_true(ternd_local_addr(fd, at));
	return fd;
}

/* Receive n datagrams; each is the sequence number (u32) repeated to len. */
static void expect_sequence(int fd, uint32_t first, uint32_t n, size_t len)
{
	uint8_t buf[2048];

	for (uint32_t i = 0; i < n; i++) {
		struct pollfd p = {fd, POLLIN, 0};
		uint32_t seq;
		ssize_t got;

		assert_int_equal(poll(&p, 1, 2000), 1);
		got = recv(fd, buf, sizeof(buf), 0);
		assert_int_equal(got, (ssize_t)len);
		memcpy(&seq, buf, sizeof(seq));
		assert_int_equal(seq, first + i);
		for (size_t k = sizeof(seq); k < len; k++)
			assert_int_equal(buf[k], (uint8_t)(seq + k));
	}
}

static uint8_t payload[TERND_SENDQ_MAX][1500];

static const uint8_t *make(uint32_t slot, uint32_t seq, size_t len)
{
	memcpy(payload[slot], &seq, sizeof(seq));
	for (size_t k = sizeof(seq); k < len; k++)
		payload[slot][k] = (uint8_t)(seq + k);
	return payload[slot];
}

static void run_equal_sized(bool gso)
{
	struct tern_addr a_at, b_at;
	int a = udp_socket(&a_at), b = udp_socket(&b_at), tx = udp_socket(&(struct tern_addr){0});

	ternd_sendq_init(&q, gso);
	/* two flows, interleaved; few enough to fit a default receive buffer */
	for (uint32_t i = 0; i < 80; i++)
		ternd_sendq_add(&q, tx, i % 2 ? &b_at : &a_at, NULL, make(i, i / 2, 1200), 1200);
	ternd_sendq_flush(&q);
	assert_int_equal(q.errors, 0);
	expect_sequence(a, 0, 40, 1200);
	expect_sequence(b, 0, 40, 1200);
	if (gso)
		assert_true(q.gso_sends >= 2); /* one per flow at least (loopback has GSO) */
	else
		assert_int_equal(q.gso_sends, 0);
	close(a), close(b), close(tx);
}

static void test_sendq_flush_equal_sized_gso(void **state)
{
	(void)state;
	run_equal_sized(true);
}

static void test_sendq_flush_equal_sized_plain(void **state)
{
	(void)state;
	run_equal_sized(false);
}

/* A shorter datagram ends a GSO run; a longer one starts a new message. */
static void test_sendq_flush_mixed_sizes(void **state)
{
	static const size_t sizes[] = {100, 100, 100, 40, 100, 300, 300, 20, 1500, 1500};
	struct tern_addr at;
	int rx = udp_socket(&at), tx = udp_socket(&(struct tern_addr){0});
	uint8_t buf[2048];

	(void)state;
	ternd_sendq_init(&q, true);
	for (uint32_t i = 0; i < 10; i++)
		ternd_sendq_add(&q, tx, &at, NULL, make(i, i, sizes[i]), sizes[i]);
	ternd_sendq_flush(&q);
	for (uint32_t i = 0; i < 10; i++) {
		struct pollfd p = {rx, POLLIN, 0};
		uint32_t seq;

		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(recv(rx, buf, sizeof(buf), 0), (ssize_t)sizes[i]);
		memcpy(&seq, buf, sizeof(seq));
		assert_int_equal(seq, i);
	}
	close(rx), close(tx);
}

/* Two sending sockets, queued interleaved: each destination keeps its order. */
static void test_sendq_flush_two_sockets(void **state)
{
	struct tern_addr at;
	int rx = udp_socket(&at);
	int tx[2] = {udp_socket(&(struct tern_addr){0}), udp_socket(&(struct tern_addr){0})};
	struct tern_addr from[2];
	uint8_t buf[64];
	uint32_t next[2] = {0, 0};

	(void)state;
	assert_true(ternd_local_addr(tx[0], &from[0]) && ternd_local_addr(tx[1], &from[1]));
	ternd_sendq_init(&q, true);
	for (uint32_t i = 0; i < 100; i++)
		ternd_sendq_add(&q, tx[i % 2], &at, NULL, make(i, i / 2, 16), 16);
	ternd_sendq_flush(&q);
	for (uint32_t i = 0; i < 100; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tern_addr src;
		uint32_t seq;
		int k;

		assert_int_equal(recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len),
		                 16);
		assert_true(ternd_addr_from_sockaddr((struct sockaddr *)&ss, &src));
		k = src.port == from[1].port;
		memcpy(&seq, buf, sizeof(seq));
		assert_int_equal(seq, next[k]++);
	}
	close(rx), close(tx[0]), close(tx[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sendq_flush_equal_sized_gso),
	    cmocka_unit_test(test_sendq_flush_equal_sized_plain),
	    cmocka_unit_test(test_sendq_flush_mixed_sizes),
	    cmocka_unit_test(test_sendq_flush_two_sockets),
	};

	return cmocka_run_group_tests_name("sendq", tests, NULL, NULL);
}
