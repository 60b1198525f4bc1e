/*
 * test_daemon_round.c - how a ternd worker batches its work, end to end
 * over loopback: datagrams from many relay sockets ready in one loop round
 * share one receive pool and one flush, and each must still reach the right
 * client with its own payload; a datagram sent to a released relay port
 * never reaches the next allocation on that port; allocation log lines,
 * gathered and written at most 100 ms late, reach the log while ternd runs
 * and when it stops.
 * usage: test_daemon_round PATH-TO-TERND [TEST-NAME-PATTERN]
 */
#define _GNU_SOURCE
#include "daemon_flows.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define N_ALLOCS 24
#define ROUNDS   3

/* The index i in a payload "<tag>-<round>-<i>", or -1 when it is not one. */
static int payload_index(const uint8_t *buf, long n, char tag, int round)
{
	char text[64], want[16];
	int i;

	if (n <= 0 || n >= (long)sizeof(text))
		return -1;
	memcpy(text, buf, (size_t)n);
	text[n] = '\0';
	snprintf(want, sizeof(want), "%c-%d-", tag, round);
	if (strncmp(text, want, strlen(want)) != 0)
		return -1;
	i = atoi(text + strlen(want));
	return i >= 0 && i < N_ALLOCS ? i : -1;
}

/* The peer sends one datagram to every relayed address at once. */
static void peer_burst(struct dh_client **c, int pfd, int round)
{
	for (int i = 0; i < N_ALLOCS; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "p-%d-%d", round, i);

		dh_peer_send(pfd, &c[i]->relayed, msg, (size_t)n);
	}
	for (int i = 0; i < N_ALLOCS; i++) {
		uint8_t buf[256];
		struct tern_addr from;
		uint16_t ch = 0;
		long n = dh_recv_data(c[i], &ch, &from, buf, sizeof(buf), DH_WAIT_MS);

		assert_int_equal(ch, 0x4000 + i);
		assert_int_equal(payload_index(buf, n, 'p', round), i);
	}
}

/* Every client sends one ChannelData at once; the peer gets each from its relayed address. */
static void client_burst(struct dh_client **c, int pfd, int round)
{
	bool seen[N_ALLOCS] = {false};

	for (int i = 0; i < N_ALLOCS; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "c-%d-%d", round, i);

		dh_send_channel(c[i], (uint16_t)(0x4000 + i), msg, (size_t)n);
	}
	for (int k = 0; k < N_ALLOCS; k++) {
		uint8_t buf[256];
		struct tern_addr from;
		long n = dh_peer_recv(pfd, &from, buf, sizeof(buf), DH_WAIT_MS);
		int i = payload_index(buf, n, 'c', round);

		assert_true(i >= 0);
		assert_false(seen[i]);
		assert_true(dh_addr_eq(&from, &c[i]->relayed));
		seen[i] = true;
	}
}

static void many_sockets(struct dh_daemon *d)
{
	struct dh_client *c[N_ALLOCS];
	struct tern_addr peer;
	int pfd = dh_peer_open("127.0.0.1", &peer);

	dh_set_relay_range(d, 2 * N_ALLOCS);
	dh_start(d);
	for (int i = 0; i < N_ALLOCS; i++) {
		c[i] = dh_allocated(d, DH_UDP, "127.0.0.1");
		assert_int_equal(dh_channel_bind(c[i], (uint16_t)(0x4000 + i), &peer), 0);
	}
	for (int round = 0; round < ROUNDS; round++) {
		peer_burst(c, pfd, round);
		client_burst(c, pfd, round);
	}
	for (int i = 0; i < N_ALLOCS; i++) {
		assert_int_equal(dh_refresh(c[i], 0), 0);
		dh_close(c[i]);
	}
	close(pfd);
	dh_stop_clean(d);
}

static void test_daemon_round_many_sockets(void **state)
{
	many_sockets(*state);
}

/* The same round with the portable poll(2) backend. */
static void test_daemon_round_many_sockets_poll(void **state)
{
	struct dh_daemon *d = *state;

	dh_extra(d, "event-loop=poll");
	many_sockets(d);
}

/*
 * One relay port, so the second allocation gets the port the first one
 * released. What the peer sent to that port in between (while no
 * allocation held it) must not reach the second client, even though the
 * second client permits the same peer; what the peer sends afterwards does.
 */
static void test_daemon_round_stale_datagram(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c1, *c2;
	struct tern_addr peer, from, old;
	uint8_t buf[256];
	uint16_t ch = 0;
	long n;
	int pfd = dh_peer_open("127.0.0.1", &peer);

	dh_set_relay_range(d, 1);
	dh_start(d);
	c1 = dh_allocated(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_channel_bind(c1, 0x4000, &peer), 0);
	dh_peer_send(pfd, &c1->relayed, "first", 5);
	n = dh_recv_data(c1, &ch, &from, buf, sizeof(buf), DH_WAIT_MS);
	assert_int_equal(n, 5);
	assert_int_equal(ch, 0x4000);
	old = c1->relayed;
	assert_int_equal(dh_refresh(c1, 0), 0);
	for (int i = 0; i < 8; i++)
		dh_peer_send(pfd, &old, "stale", 5);
	c2 = dh_allocated(d, DH_UDP, "127.0.0.1");
	assert_true(dh_addr_eq(&c2->relayed, &old)); /* the only port */
	assert_int_equal(dh_channel_bind(c2, 0x4001, &peer), 0);
	dh_peer_send(pfd, &c2->relayed, "fresh", 5);
	n = dh_recv_data(c2, &ch, &from, buf, sizeof(buf), DH_WAIT_MS);
	assert_int_equal(n, 5);
	assert_int_equal(ch, 0x4001);
	assert_memory_equal(buf, "fresh", 5);
	assert_int_equal(dh_recv_data(c2, &ch, &from, buf, sizeof(buf), DH_QUIET_MS), DH_TIMEOUT);
	assert_int_equal(dh_recv_data(c1, &ch, &from, buf, sizeof(buf), DH_QUIET_MS), DH_TIMEOUT);
	dh_close(c1);
	dh_close(c2);
	close(pfd);
	dh_stop_clean(d);
}

/*
 * Workers gather log lines and write them at most 100 ms after the oldest
 * (TERND_LOG_HOLD_MS): a line still reaches the log while ternd idles (the
 * worker wakes for it), and a worker's last lines reach it when ternd stops.
 */
static void test_daemon_round_log_lines(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c[4];
	char text[96];

	dh_start(d);
	c[0] = dh_allocated(d, DH_UDP, "127.0.0.1");
	snprintf(text, sizeof(text), "alloc_created client=127.0.0.1:%u", c[0]->local.port);
	assert_true(dh_log_shows(d, text));
	for (int i = 1; i < 4; i++)
		c[i] = dh_allocated(d, DH_UDP, "127.0.0.1");
	for (int i = 0; i < 4; i++)
		assert_int_equal(dh_refresh(c[i], 0), 0);
	dh_stop_clean(d);
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "alloc_deleted client=127.0.0.1:%u", c[i]->local.port);
		assert_true(dh_log_contains(d, text));
		dh_close(c[i]);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_daemon_round_many_sockets, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_round_many_sockets_poll, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_round_stale_datagram, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_round_log_lines, dh_setup, dh_teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-TERND\n", argv[0]);
		return 2;
	}
	dh_ternd_path = argv[1];
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("daemon_round", tests, NULL, NULL);
}
