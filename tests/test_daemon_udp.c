/*
 * test_daemon_udp.c - the UDP listeners' socket buffers, end to end over
 * loopback: while ternd is stopped (SIGSTOP, a stalled host) a burst of
 * datagrams overflows the kernel's default receive buffer; the drops are
 * counted (tern_udp_kernel_drops) and logged (udp_drops) once ternd runs
 * again, and a large enough udp-recv-buffer absorbs the same burst.
 * usage: test_daemon_udp PATH-TO-TERND [TEST-NAME-PATTERN]
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Enough 1,000-byte datagrams to overflow the 208 KiB default several times. */
#define BURST      600
#define BURST_SIZE 1000

/* Stop ternd, send the burst to its UDP listener, let it run again. */
static void burst_while_stopped(struct dh_daemon *d)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(d->port)};
	static uint8_t junk[BURST_SIZE];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &to.sin_addr), 1);
	assert_int_equal(kill(d->pid, SIGSTOP), 0);
	usleep(100 * 1000);
	for (int i = 0; i < BURST; i++)
		assert_int_equal(
		    sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&to, sizeof(to)),
		    (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(kill(d->pid, SIGCONT), 0);
}

/* The metric once ternd has looked (it reads the drops once a second). */
static long long drops_after_a_while(const struct dh_daemon *d)
{
	long long v = -1;

	for (int i = 0; i < 30; i++) {
		v = dh_metric(d, "tern_udp_kernel_drops");
		if (v > 0)
			break;
		usleep(100 * 1000);
	}
	return v;
}

/* Default buffer: the burst overflows it; counted, logged, and ternd goes on. */
static void test_daemon_udp_kernel_drops_counted(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c;
	long long drops;

	dh_start(d);
	assert_int_equal(dh_metric(d, "tern_udp_kernel_drops"), 0);
	burst_while_stopped(d);
	drops = drops_after_a_while(d);
	assert_true(drops > 0 && drops < BURST);
	assert_true(dh_log_shows(d, "udp_drops worker=0"));
	assert_true(dh_log_shows(d, "see udp-recv-buffer"));
	c = dh_allocated(d, DH_UDP, "127.0.0.1"); /* still serving */
	dh_close(c);
	dh_stop_clean(d);
}

/* udp-recv-buffer large enough for the burst: nothing dropped. */
static void test_daemon_udp_recv_buffer_absorbs_burst(void **state)
{
	struct dh_daemon *d = *state;

	if (geteuid() != 0) {
		/* beyond net.core.rmem_max only root's SO_RCVBUFFORCE is granted */
		skip();
	}
	dh_extra(d, "udp-recv-buffer=16777216");
	dh_start(d);
	burst_while_stopped(d);
	sleep(2); /* two of ternd's once-a-second looks */
	assert_int_equal(dh_metric(d, "tern_udp_kernel_drops"), 0);
	assert_false(dh_log_contains(d, "udp_drops"));
	assert_false(dh_log_contains(d, "udp_buffer"));
	dh_stop_clean(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_daemon_udp_kernel_drops_counted, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_udp_recv_buffer_absorbs_burst, dh_setup,
	                                    dh_teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-TERND\n", argv[0]);
		return 2;
	}
	dh_ternd_path = argv[1];
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	return cmocka_run_group_tests_name("daemon_udp", tests, NULL, NULL);
}
