/*
 * test_daemon.c - ternd end to end over loopback with real sockets. Every
 * test starts its own ternd (daemon_proc.c) on ports it found free, with a
 * config file of its own, talks to it with the codec-built client in
 * daemon_client.c, and stops it by PID (the fixture kills and reaps it even
 * when the test fails). usage: test_daemon PATH-TO-TERND [TEST-NAME-PATTERN]
 *
 * Known issues have a PENDING_ switch below. At 1 the test asserts today's
 * behaviour (or is skipped when that is not deterministic); at 0 it checks
 * what the RFC wants. Flip it when the fix lands.
 *  - PENDING_OWN_RELAY_PEER (fixed, 0): the peer policy denied the server's
 *    own relay ports, so client-to-client through one server got 403.
 *  - PENDING_V6_TOKEN (fixed, 0): redeeming a RESERVATION-TOKEN of an IPv6
 *    allocation got 440.
 *  - PENDING_TOKEN_ACROSS_WORKERS (fixed, 0): a token lives in the relay
 *    of the worker that issued it, and SO_REUSEPORT spread a client's
 *    5-tuples over workers, so with relay-threads > 1 the RTCP allocation
 *    of an RTP/RTCP pair landed on another worker about half the time and
 *    got 508; listeners now steer by client IP (ternd_reuseport_steer).
 */
#define _GNU_SOURCE
#include "daemon_flows.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define PENDING_OWN_RELAY_PEER       0
#define PENDING_V6_TOKEN             0
#define PENDING_TOKEN_ACROSS_WORKERS 0

/* --------------------------------------------------------------- Binding */

static void binding_on(const struct dh_daemon *d, const char *ip)
{
	static const enum dh_transport ts[] = {DH_UDP, DH_TCP, DH_TLS};

	for (size_t i = 0; i < 3; i++) {
		struct dh_client *c = dh_connect_ok(d, ts[i], ip);

		assert_int_equal(dh_binding(c), 0);
		assert_true(dh_addr_eq(&c->mapped, &c->local));
		dh_close(c);
	}
}

static void test_daemon_binding_ipv4(void **state)
{
	struct dh_daemon *d = *state;

	struct dh_client *tcp, *tls, *alloc, *handshaking;

	d->tls = true;
	d->threads = 2;
	dh_start(d);
	binding_on(d, "127.0.0.1");
	/* connections still open at SIGTERM are closed without leaks */
	tcp = dh_connect_ok(d, DH_TCP, "127.0.0.1");
	tls = dh_connect_ok(d, DH_TLS, "127.0.0.1");
	alloc = dh_allocated(d, DH_TLS, "127.0.0.1");
	assert_int_equal(dh_binding(tls), 0);
	handshaking = dh_connect(DH_TCP, "127.0.0.1", d->tls_port); /* no ClientHello */
	assert_non_null(handshaking);
	assert_int_equal(dh_binding(tcp), 0);
	dh_stop_clean(d);
	dh_close(handshaking);
	dh_close(tcp);
	dh_close(tls);
	dh_close(alloc);
}

static void test_daemon_binding_ipv6(void **state)
{
	struct dh_daemon *d = *state;

	d->tls = true;
	d->ipv6 = true;
	dh_start(d);
	binding_on(d, "::1");
	binding_on(d, "127.0.0.1");
	dh_stop_clean(d);
}

/* ------------------------------------------------------------ TURN flow */

static void test_daemon_turn_udp(void **state)
{
	struct dh_daemon *d = *state;

	dh_start(d);
	dh_turn_flow(d, DH_UDP, "127.0.0.1", TERN_AF_IPV4);
	dh_stop_clean(d);
}

static void test_daemon_turn_tcp(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c;

	d->threads = 2;
	dh_start(d);
	dh_turn_flow(d, DH_TCP, "127.0.0.1", TERN_AF_IPV4);
	/* RFC 8656 §3.7: closing the connection deletes its allocation */
	c = dh_allocated(d, DH_TCP, "127.0.0.1");
	assert_true(dh_wait_metric(d, "tern_allocations", 1, DH_WAIT_MS * 2));
	dh_close(c);
	assert_true(dh_wait_metric(d, "tern_allocations", 0, DH_WAIT_MS * 2));
	assert_true(dh_metric(d, "tern_allocs_deleted") >= 2);
	dh_stop_clean(d);
}

static void test_daemon_turn_tls(void **state)
{
	struct dh_daemon *d = *state;

	d->tls = true;
	dh_start(d);
	dh_turn_flow(d, DH_TLS, "127.0.0.1", TERN_AF_IPV4);
	dh_stop_clean(d);
}

static void test_daemon_turn_ipv6(void **state)
{
	struct dh_daemon *d = *state;

	d->ipv6 = true;
	d->tls = true;
	dh_start(d);
	dh_turn_flow(d, DH_UDP, "::1", TERN_AF_IPV6);
	dh_turn_flow(d, DH_TCP, "::1", TERN_AF_IPV6);
	dh_turn_flow(d, DH_TLS, "::1", TERN_AF_IPV4);
	dh_stop_clean(d);
}

/* -------------------------------------------------------------- lifetime */

static void test_daemon_allocation_expiry(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_req q = {.lifetime = 100};
	struct dh_client *a, *b;

	dh_extra(d, "max-allocate-lifetime=3");
	dh_extra(d, "default-allocate-lifetime=1");
	dh_start(d);
	a = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(a, DH_USER, DH_PASSWORD, &q), 0);
	assert_int_equal(a->lifetime, 3); /* capped at max-allocate-lifetime */
	b = dh_allocated(d, DH_UDP, "127.0.0.1");
	assert_int_equal(b->lifetime, 1); /* default-allocate-lifetime */
	assert_int_equal(dh_metric(d, "tern_allocs_created"), 2);
	/* the event counters move at once; the gauge is published every second */
	assert_true(dh_wait_metric(d, "tern_allocs_expired", 2, 8000));
	assert_true(dh_wait_metric(d, "tern_allocations", 0, DH_WAIT_MS * 2));
	assert_int_equal(dh_refresh(a, 600), 437);
	dh_close(a);
	dh_close(b);
	dh_stop_clean(d);
}

/* ------------------------------------------------------------- REST auth */

static void test_daemon_rest_auth(void **state)
{
	struct dh_daemon *d = *state;
	long long now = (long long)time(NULL);

	d->user = NULL;
	dh_extra(d, "use-auth-secret");
	dh_extra(d, "static-auth-secret=north-secret");
	dh_extra(d, "static-auth-secret=south-secret");
	dh_start(d);
	assert_int_equal(dh_rest_allocate(d, now + 3600, "north-secret"), 0);
	assert_int_equal(dh_rest_allocate(d, now + 3600, "south-secret"), 0); /* rotation */
	assert_int_equal(dh_rest_allocate(d, now - 60, "north-secret"), 401); /* expired */
	assert_int_equal(dh_rest_allocate(d, now + 3600, "wrong-secret"), 401);
	dh_stop_clean(d);
}

/* ------------------------------------------------------------ SIGHUP */

static void hup(void *arg)
{
	const struct dh_daemon *d = arg;

	assert_int_equal(kill(d->pid, SIGHUP), 0);
}

/* Allocate as bob until the reload that added him has been applied. */
static int bob_allocates(const struct dh_daemon *d, int wait_ms)
{
	uint64_t end = dh_now_ms() + (uint64_t)wait_ms;
	int rc;

	do {
		struct dh_client *c = dh_connect_ok(d, DH_UDP, "127.0.0.1");

		rc = dh_allocate(c, "bob", "bob-pw", NULL);
		if (rc == 0)
			assert_int_equal(dh_refresh(c, 0), 0);
		dh_close(c);
	} while (rc != 0 && dh_now_ms() < end);
	return rc;
}

static void test_daemon_sighup_under_load(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_load l = {0};

	d->threads = 2;
	dh_set_relay_range(d, 16);
	dh_start(d);
	dh_load_start(d, &l);
	assert_int_equal(bob_allocates(d, 0), 401);
	for (unsigned r = 0; r < DH_LOAD_ROUNDS; r++) {
		if (r == 3) {
			dh_extra(d, "user=bob:bob-pw");
			dh_write_config(d);
		}
		dh_load_round(&l, r, r % 2 == 1 ? hup : NULL, d);
	}
	for (unsigned i = 0; i < DH_LOAD_CLIENTS; i++) {
		assert_int_equal(l.got[i], DH_LOAD_ROUNDS * DH_LOAD_BURST);
		assert_int_equal(dh_refresh(l.c[i], 600), 0); /* no allocation was lost */
		assert_int_equal(l.c[i]->lifetime, 600);
	}
	assert_int_equal(bob_allocates(d, DH_WAIT_MS), 0);
	assert_true(dh_wait_metric(d, "tern_allocations", DH_LOAD_CLIENTS, DH_WAIT_MS * 2));
	assert_true(dh_log_contains(d, "reloaded"));
	assert_false(dh_log_contains(d, "reload_failed"));
	for (unsigned i = 0; i < DH_LOAD_CLIENTS; i++)
		dh_close(l.c[i]);
	close(l.pfd);
	dh_stop_clean(d);
}

/* ------------------------------------------------------------- stopping */

static void test_daemon_graceful_stop(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c;
	struct tern_addr peer, from;
	uint8_t buf[64];
	uint64_t t0;
	int pfd = dh_peer_open("127.0.0.1", &peer), status = -1;

	d->stop_grace = 3;
	dh_start(d);
	c = dh_allocated(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_channel_bind(c, 0x4000, &peer), 0);
	t0 = dh_now_ms();
	assert_int_equal(kill(d->pid, SIGTERM), 0);
	assert_int_equal(dh_allocate_while_draining(d), 508);
	/* the allocation that exists keeps relaying while the server drains */
	dh_send_channel(c, 0x4000, "still here", 10);
	assert_int_equal(dh_peer_recv(pfd, &from, buf, sizeof(buf), DH_WAIT_MS), 10);
	assert_true(dh_signal_wait(d, 0, 3000 + 2500, &status));
	assert_true(dh_now_ms() - t0 >= 2500); /* it waited for the allocation */
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(dh_log_contains(d, "Sanitizer"));
	dh_close(c);
	close(pfd);
}

static void test_daemon_stop_ends_when_drained(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c;
	uint64_t t0;
	int status = -1;

	d->stop_grace = 60;
	dh_start(d);
	c = dh_allocated(d, DH_TCP, "127.0.0.1");
	t0 = dh_now_ms();
	assert_int_equal(kill(d->pid, SIGTERM), 0);
	assert_int_equal(dh_allocate_while_draining(d), 508);
	assert_int_equal(dh_refresh(c, 0), 0);
	/* the last allocation is gone: no need to wait out stop-grace */
	assert_true(dh_signal_wait(d, 0, 5000, &status));
	assert_true(dh_now_ms() - t0 < 6000);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(dh_log_contains(d, "Sanitizer"));
	dh_close(c);
}

/*
 * Draining with several workers: one worker's allocations end early, the
 * others' must keep relaying. Regression: that worker exited and closed its
 * listeners, the SO_REUSEPORT group shrank, and the kernel hashed other
 * workers' clients to other sockets, which dropped their ChannelData.
 */
#define DRAIN_WORKERS 3
#define DRAIN_CLIENTS 9

static void test_daemon_drain_across_workers(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c[DRAIN_CLIENTS];
	bool gone[DRAIN_CLIENTS] = {0};
	struct tern_addr peer;
	uint64_t t0;
	int pfd = dh_peer_open("127.0.0.1", &peer), status = -1;

	d->threads = DRAIN_WORKERS;
	d->stop_grace = 20;
	dh_set_relay_range(d, 2 * DRAIN_CLIENTS);
	dh_start(d);
	for (unsigned i = 0; i < DRAIN_CLIENTS; i++) {
		dh_source_ip = dh_loopback_source(i); /* spread over the workers */
		c[i] = dh_allocated(d, DH_UDP, "127.0.0.1");
		assert_int_equal(dh_channel_bind(c[i], 0x4000, &peer), 0);
	}
	dh_source_ip = NULL;
	assert_int_equal(kill(d->pid, SIGTERM), 0);
	assert_int_equal(dh_allocate_while_draining(d), 508);
	dh_end_one_worker(d, c, gone, DRAIN_CLIENTS);
	/* a drained worker would be gone within a poll() round (1 s) */
	t0 = dh_now_ms();
	while (dh_now_ms() - t0 < 1500)
		dh_drain_round(c, gone, DRAIN_CLIENTS, pfd);
	for (unsigned i = 0; i < DRAIN_CLIENTS; i++)
		if (!gone[i])
			assert_int_equal(dh_refresh(c[i], 0), 0);
	/* nothing left anywhere: no need to wait out stop-grace */
	assert_true(dh_signal_wait(d, 0, 5000, &status));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(dh_log_contains(d, "Sanitizer"));
	for (unsigned i = 0; i < DRAIN_CLIENTS; i++)
		dh_close(c[i]);
	close(pfd);
}

/* ---------------------------------------------------------- config check */

static int check_config(const struct dh_daemon *d, const char *text, char *err, size_t cap)
{
	char path[DH_PATH_MAX + 16];
	const char *args[] = {"ternd", "-c", path, "--check-config", NULL};
	FILE *f;

	snprintf(path, sizeof(path), "%s/bad.conf", d->dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return dh_run(args, err, cap);
}

static void test_daemon_check_config_names_line(void **state)
{
	struct dh_daemon *d = *state;
	char err[4096];

	assert_int_equal(check_config(d, "realm=x\nuser=a:b\nmin-port=80\n", err, sizeof(err)), 2);
	assert_non_null(strstr(err, "bad.conf:3"));
	assert_non_null(strstr(err, "min-port"));
	assert_int_not_equal(check_config(d, "realm=x\n\nno-such-key=1\n", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "bad.conf:3"));
	assert_non_null(strstr(err, "no-such-key"));
	assert_int_equal(check_config(d, "realm=x\nuser=a:b\n", err, sizeof(err)), 0);
	assert_int_equal(err[0], '\0');
}

/* A listening port held by another socket: ternd says so and exits 1. */
static void test_daemon_listen_port_busy(void **state)
{
	struct dh_daemon *d = *state;
	const char *args[] = {"ternd", "-c", d->conf, NULL};
	struct tern_addr busy;
	char err[8192];
	int fd = dh_peer_open("127.0.0.1", &busy);

	d->port = busy.port;
	d->threads = 2;
	dh_write_config(d);
	assert_int_equal(dh_run(args, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "listen_failed"));
	assert_null(strstr(err, "Sanitizer"));
	close(fd);
}

/* ------------------------------------------------- descriptor exhaustion */

/* CPU seconds (user + system) ternd has used, from /proc/PID/stat. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	const char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')'); /* fields 14 and 15 count from after the name */
	assert_non_null(p);
	assert_int_equal(
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st), 2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Out of descriptors: ternd keeps serving UDP, does not spin on the
 * listener it cannot accept from, and accepts again once descriptors free.
 */
static void test_daemon_descriptor_exhaustion(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *held[96];
	size_t n = 0;
	double before;

	d->nofile = 64;
	d->threads = 1;
	dh_start(d);
	for (n = 0; n < 96; n++) /* more than ternd can take */
		held[n] = dh_connect(DH_TCP, "127.0.0.1", d->port);
	before = cpu_seconds(d->pid);
	usleep(1000 * 1000);
	assert_true(cpu_seconds(d->pid) - before < 0.5); /* no busy loop */
	{
		struct dh_client *u = dh_connect_ok(d, DH_UDP, "127.0.0.1");

		assert_int_equal(dh_binding(u), 0); /* UDP still served */
		dh_close(u);
	}
	for (size_t i = 0; i < n; i++)
		dh_close(held[i]);
	usleep(300 * 1000);
	{
		struct dh_client *t = dh_connect_ok(d, DH_TCP, "127.0.0.1");

		assert_int_equal(dh_binding(t), 0); /* TCP served again */
		dh_close(t);
	}
	assert_true(dh_log_shows(d, "accept_paused"));
	dh_stop_clean(d);
}

/* ------------------------------------------------------- port exhaustion */

static void test_daemon_port_exhaustion(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *a, *b, *c;

	dh_set_relay_range(d, 2);
	dh_start(d);
	a = dh_allocated(d, DH_UDP, "127.0.0.1");
	b = dh_allocated(d, DH_UDP, "127.0.0.1");
	assert_int_not_equal(a->relayed.port, b->relayed.port);
	c = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(c, DH_USER, DH_PASSWORD, NULL), 508);
	assert_true(dh_wait_metric(d, "tern_port_exhausted", 1, DH_WAIT_MS * 2));
	assert_int_equal(dh_refresh(a, 0), 0);
	assert_int_equal(dh_allocate(c, DH_USER, DH_PASSWORD, NULL), 0);
	assert_int_equal(c->relayed.port, a->relayed.port);
	assert_int_equal(dh_refresh(b, 600), 0);
	dh_close(a);
	dh_close(b);
	dh_close(c);
	dh_stop_clean(d);
}

/*
 * Two workers draw relay ports from one range, each unaware of the other's.
 * Regression: UDP sockets were bound with SO_REUSEADDR, so a second worker
 * could bind a port the first one held and take its peers' datagrams.
 */
#define SHARED_RANGE 6

static void test_daemon_relay_ports_across_workers(void **state)
{
	struct dh_daemon *d = *state;
	struct dh_client *c[SHARED_RANGE + 1];
	struct tern_addr peer, from;
	uint8_t buf[64];
	uint16_t ch;
	int pfd = dh_peer_open("127.0.0.1", &peer);

	d->threads = 2;
	dh_set_relay_range(d, SHARED_RANGE);
	dh_start(d);
	for (unsigned i = 0; i < SHARED_RANGE; i++) {
		dh_source_ip = dh_loopback_source(i); /* spread over the workers */
		c[i] = dh_allocated(d, DH_UDP, "127.0.0.1");
		dh_source_ip = NULL;
		assert_int_equal(dh_permit(c[i], &peer), 0);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(c[i]->relayed.port, c[j]->relayed.port);
	}
	c[SHARED_RANGE] = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(c[SHARED_RANGE], DH_USER, DH_PASSWORD, NULL), 508);
	for (unsigned i = 0; i < SHARED_RANGE; i++)
		dh_peer_send(pfd, &c[i]->relayed, &i, sizeof(i));
	for (unsigned i = 0; i < SHARED_RANGE; i++) {
		unsigned got = ~0u;

		assert_int_equal(dh_recv_data(c[i], &ch, &from, buf, sizeof(buf), DH_WAIT_MS),
		                 sizeof(i));
		memcpy(&got, buf, sizeof(got));
		assert_int_equal(got, i);
	}
	for (unsigned i = 0; i <= SHARED_RANGE; i++)
		dh_close(c[i]);
	close(pfd);
	dh_stop_clean(d);
}

/* ---------------------------------------------------------------- metrics */

static void test_daemon_metrics(void **state)
{
	struct dh_daemon *d = *state;
	static char buf[32768];
	struct dh_client *c, *bad;

	d->threads = 2;
	dh_start(d);
	dh_http_get(d, "/metrics", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4\r\n"));
	assert_non_null(strstr(buf, "\n# TYPE tern_allocations gauge\n"));
	assert_non_null(strstr(buf, "\ntern_allocations 0\n"));
	assert_non_null(strstr(buf, "\n# TYPE tern_allocs_created counter\n"));
	assert_non_null(strstr(buf, "\ntern_workers 2\n"));
	assert_non_null(strstr(buf, "tern_errors_by_code{code=\"401\"} "));
	c = dh_allocated(d, DH_UDP, "127.0.0.1");
	assert_true(dh_wait_metric(d, "tern_allocations", 1, DH_WAIT_MS * 2));
	bad = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(bad, DH_USER, "wrong", NULL), 401);
	dh_close(bad);
	/* the first-contact 401 is a challenge, not counted; a wrong password is */
	assert_true(dh_metric(d, "tern_errors_by_code{code=\"401\"}") >= 1);
	assert_true(dh_wait_metric(d, "tern_auth_failures", 1, DH_WAIT_MS * 2));
	dh_http_get(d, "/nothing-here", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.0 404"));
	dh_close(c);
	dh_stop_clean(d);
}

/* ----------------------------------------------- pending relay fixes */

static void test_daemon_client_to_client(void **state)
{
	struct dh_daemon *d = *state;
	struct tern_addr listener = dh_addr("127.0.0.1", d->port);
	struct dh_client *a, *b;
	struct tern_addr from;
	uint8_t buf[64];
	uint16_t ch = 1;

	dh_set_relay_range(d, 8);
	dh_start(d);
	a = dh_allocated(d, DH_UDP, "127.0.0.1");
	b = dh_allocated(d, DH_UDP, "127.0.0.1");
#if PENDING_OWN_RELAY_PEER
	/* today: the policy denies the server's own relay ports */
	assert_int_equal(dh_permit(a, &b->relayed), 403);
#else
	/* the listening port stays denied: no loops through the server itself */
	assert_int_equal(dh_permit(a, &listener), 403);
	assert_int_equal(dh_permit(a, &b->relayed), 0);
	assert_int_equal(dh_permit(b, &a->relayed), 0);
	dh_send_indication(a, &b->relayed, "a to b", 6);
	assert_int_equal(dh_recv_data(b, &ch, &from, buf, sizeof(buf), DH_WAIT_MS), 6);
	assert_int_equal(ch, 0);
	assert_true(dh_addr_eq(&from, &a->relayed));
#endif
	(void)from, (void)buf, (void)ch;
	dh_close(a);
	dh_close(b);
	dh_stop_clean(d);
}

static void test_daemon_reservation_token(void **state)
{
	struct dh_daemon *d = *state;

	d->ipv6 = true;
	dh_set_relay_range(d, 8);
	dh_start(d);
	dh_reservation(d, 0, 0);
#if PENDING_V6_TOKEN
	dh_reservation(d, TERN_AF_IPV6, 440); /* today's relay bug */
#else
	dh_reservation(d, TERN_AF_IPV6, 0);
#endif
	dh_stop_clean(d);
}

/* An RTP/RTCP pair with two workers: every fresh 5-tuple must redeem the token. */
static void test_daemon_reservation_token_workers(void **state)
{
	struct dh_daemon *d = *state;

	d->threads = 2;
	dh_set_relay_range(d, 20); /* 8 pairs stay allocated: room for them on one worker */
#if PENDING_TOKEN_ACROSS_WORKERS
	skip(); /* today about half of these get 508: not a stable assertion */
#endif
	dh_start(d);
	for (int i = 0; i < 8; i++)
		dh_reservation(d, 0, 0);
	dh_stop_clean(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_daemon_binding_ipv4, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_binding_ipv6, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_turn_udp, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_turn_tcp, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_turn_tls, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_turn_ipv6, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_allocation_expiry, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_rest_auth, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_sighup_under_load, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_graceful_stop, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_stop_ends_when_drained, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_drain_across_workers, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_check_config_names_line, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_listen_port_busy, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_port_exhaustion, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_descriptor_exhaustion, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_relay_ports_across_workers, dh_setup,
	                                    dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_metrics, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_client_to_client, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_reservation_token, dh_setup, dh_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_reservation_token_workers, dh_setup,
	                                    dh_teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-TERND\n", argv[0]);
		return 2;
	}
	dh_ternd_path = argv[1];
	if (argc > 2)
		cmocka_set_test_filter(argv[2]); /* run only the tests matching a pattern */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
