/*
 * daemon_flows.c - TURN scenarios the daemon tests share (daemon_flows.h).
 */
#define _GNU_SOURCE
#include "daemon_flows.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char *peer_ip(uint8_t family)
{
	return family == TERN_AF_IPV6 ? "::1" : "127.0.0.1";
}

static uint16_t port_of(const struct dh_daemon *d, enum dh_transport t)
{
	return t == DH_TLS ? d->tls_port : d->port;
}

struct dh_client *dh_connect_ok(const struct dh_daemon *d, enum dh_transport t, const char *ip)
{
	struct dh_client *c = dh_connect(t, ip, port_of(d, t));

	assert_non_null(c);
	return c;
}

struct dh_client *dh_allocated(const struct dh_daemon *d, enum dh_transport t, const char *ip)
{
	struct dh_client *c = dh_connect_ok(d, t, ip);

	assert_int_equal(dh_allocate(c, DH_USER, DH_PASSWORD, NULL), 0);
	return c;
}

/* Permission, Send indication to the peer, and the peer's Data indication back. */
static void check_indications(struct dh_client *c, int pfd, const struct tern_addr *peer)
{
	struct tern_addr from;
	uint8_t buf[2048];
	uint16_t ch = 1;
	long n;

	/* without a permission the relay drops it */
	dh_send_indication(c, peer, "early", 5);
	assert_int_equal(dh_peer_recv(pfd, &from, buf, sizeof(buf), DH_QUIET_MS), DH_TIMEOUT);
	assert_int_equal(dh_permit(c, peer), 0);
	dh_send_indication(c, peer, "hello peer", 10);
	n = dh_peer_recv(pfd, &from, buf, sizeof(buf), DH_WAIT_MS);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "hello peer", 10);
	assert_true(dh_addr_eq(&from, &c->relayed));
	dh_peer_send(pfd, &c->relayed, "hello client", 12);
	n = dh_recv_data(c, &ch, &from, buf, sizeof(buf), DH_WAIT_MS);
	assert_int_equal(n, 12);
	assert_int_equal(ch, 0);
	assert_memory_equal(buf, "hello client", 12);
	assert_true(dh_addr_eq(&from, peer));
}

/* ChannelBind, then ChannelData both ways; odd lengths exercise TCP padding. */
static void check_channel(struct dh_client *c, int pfd, const struct tern_addr *peer)
{
	struct tern_addr from;
	uint8_t buf[2048];
	uint16_t ch = 0;
	long n;

	assert_int_equal(dh_channel_bind(c, 0x4001, peer), 0);
	dh_send_channel(c, 0x4001, "odd", 3);
	n = dh_peer_recv(pfd, &from, buf, sizeof(buf), DH_WAIT_MS);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "odd", 3);
	assert_true(dh_addr_eq(&from, &c->relayed));
	dh_peer_send(pfd, &c->relayed, "12345", 5);
	n = dh_recv_data(c, &ch, &from, buf, sizeof(buf), DH_WAIT_MS);
	assert_int_equal(n, 5);
	assert_int_equal(ch, 0x4001);
	assert_memory_equal(buf, "12345", 5);
	/* a full-size payload both ways */
	memset(buf, 0xa5, 1201);
	dh_send_channel(c, 0x4001, buf, 1201);
	assert_int_equal(dh_peer_recv(pfd, &from, buf, sizeof(buf), DH_WAIT_MS), 1201);
	dh_peer_send(pfd, &c->relayed, buf, 1201);
	assert_int_equal(dh_recv_data(c, &ch, &from, buf, sizeof(buf), DH_WAIT_MS), 1201);
}

/* Refresh 0 deletes the allocation: the peer's data goes nowhere. */
static void check_delete(struct dh_client *c, int pfd)
{
	struct tern_addr from;
	uint8_t buf[256];
	uint16_t ch;

	assert_int_equal(dh_refresh(c, 0), 0);
	dh_peer_send(pfd, &c->relayed, "too late", 8);
	assert_int_equal(dh_recv_data(c, &ch, &from, buf, sizeof(buf), DH_QUIET_MS), DH_TIMEOUT);
	assert_int_equal(dh_refresh(c, 600), 437);
}

void dh_turn_flow(struct dh_daemon *d, enum dh_transport t, const char *ip, uint8_t family)
{
	struct dh_req q = {.lifetime = -1, .family = family == TERN_AF_IPV6 ? family : 0};
	struct dh_client *c = dh_connect_ok(d, t, ip);
	struct tern_addr peer;
	int pfd = dh_peer_open(peer_ip(family), &peer);

	assert_int_equal(dh_allocate(c, DH_USER, DH_PASSWORD, &q), 0);
	assert_int_equal(c->relayed.family, family);
	assert_true(c->relayed.port >= d->min_port && c->relayed.port <= d->max_port);
	assert_int_equal(c->lifetime, 600);
	check_indications(c, pfd, &peer);
	check_channel(c, pfd, &peer);
	check_delete(c, pfd);
	assert_true(dh_wait_metric(d, "tern_allocations", 0, DH_WAIT_MS * 2));
	close(pfd);
	dh_close(c);
}

static void rest_credentials(long long expiry, const char *secret, char *user, char *pw)
{
	snprintf(user, 64, "%lld:alice", expiry);
	assert_int_equal(tern_turn_rest_password(secret, strlen(secret), user, strlen(user), pw,
	                                         TERN_REST_PASSWORD_LEN + 1),
	                 TERN_OK);
}

int dh_rest_allocate(const struct dh_daemon *d, long long expiry, const char *secret)
{
	char user[64], pw[TERN_REST_PASSWORD_LEN + 1];
	struct dh_client *c = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	int rc;

	rest_credentials(expiry, secret, user, pw);
	rc = dh_allocate(c, user, pw, NULL);
	if (rc == 0)
		assert_int_equal(dh_refresh(c, 0), 0);
	dh_close(c);
	return rc;
}

void dh_load_start(struct dh_daemon *d, struct dh_load *l)
{
	l->pfd = dh_peer_open("127.0.0.1", &l->peer);
	for (unsigned i = 0; i < DH_LOAD_CLIENTS; i++) {
		l->c[i] = dh_allocated(d, DH_UDP, "127.0.0.1");
		assert_int_equal(dh_channel_bind(l->c[i], (uint16_t)(0x4000 + i), &l->peer), 0);
	}
}

/* Every client sends a burst; the peer echoes each datagram back to its sender. */
void dh_load_round(struct dh_load *l, unsigned round, void (*between)(void *), void *arg)
{
	uint8_t buf[256];
	struct tern_addr from;

	for (unsigned k = 0; k < DH_LOAD_BURST; k++)
		for (unsigned i = 0; i < DH_LOAD_CLIENTS; i++) {
			int n = snprintf((char *)buf, sizeof(buf), "r%u c%u k%u", round, i, k);

			dh_send_channel(l->c[i], (uint16_t)(0x4000 + i), buf, (size_t)n);
		}
	if (between != NULL)
		between(arg);
	for (unsigned k = 0; k < DH_LOAD_BURST * DH_LOAD_CLIENTS; k++) {
		long n = dh_peer_recv(l->pfd, &from, buf, sizeof(buf), DH_WAIT_MS);

		assert_true(n > 0);
		dh_peer_send(l->pfd, &from, buf, (size_t)n);
	}
	for (unsigned i = 0; i < DH_LOAD_CLIENTS; i++)
		for (unsigned k = 0; k < DH_LOAD_BURST; k++) {
			uint16_t ch = 0;
			long n =
			    dh_recv_data(l->c[i], &ch, &from, buf, sizeof(buf) - 1, DH_WAIT_MS);
			char want[32];

			if (n <= 0)
				fail_msg("round %u: client %u got %u of %u", round, i, k,
				         DH_LOAD_BURST);
			buf[n] = '\0';
			snprintf(want, sizeof(want), "r%u c%u ", round, i);
			assert_int_equal(ch, 0x4000 + i);
			assert_true(strncmp((char *)buf, want, strlen(want)) == 0);
			l->got[i]++;
		}
}

/* After SIGTERM, a new Allocate gets 508 (retried until the workers drain). */
int dh_allocate_while_draining(const struct dh_daemon *d)
{
	uint64_t end = dh_now_ms() + DH_WAIT_MS;
	int rc;

	do {
		struct dh_client *c = dh_connect_ok(d, DH_UDP, "127.0.0.1");

		rc = dh_allocate(c, DH_USER, DH_PASSWORD, NULL);
		if (rc == 0)
			assert_int_equal(dh_refresh(c, 0), 0); /* SIGTERM not seen yet */
		dh_close(c);
	} while (rc == 0 && dh_now_ms() < end);
	return rc;
}

/* Every client still allocated gets one ChannelData through to the peer. */
void dh_drain_round(struct dh_client **c, const bool *gone, unsigned n, int pfd)
{
	uint8_t buf[64];
	unsigned want = 0;

	for (unsigned i = 0; i < n; i++)
		if (!gone[i]) {
			dh_send_channel(c[i], 0x4000, &i, sizeof(i));
			want++;
		}
	for (unsigned k = 0; k < want; k++)
		assert_int_equal(dh_peer_recv(pfd, NULL, buf, sizeof(buf), DH_WAIT_MS), sizeof(k));
}

/* Delete the allocations of the worker holding c[0]; the rest stay. */
void dh_end_one_worker(const struct dh_daemon *d, struct dh_client **c, bool *gone, unsigned n)
{
	int first = dh_client_worker(d, c[0]);
	unsigned others = 0;

	assert_true(first >= 0);
	for (unsigned i = 0; i < n; i++) {
		int w = dh_client_worker(d, c[i]);

		assert_true(w >= 0);
		gone[i] = w == first;
		if (gone[i])
			assert_int_equal(dh_refresh(c[i], 0), 0);
		else
			others++;
	}
	assert_true(others >= 2); /* the kernel spread the clients over workers */
}

/* EVEN-PORT R=1 reserves the next port; RESERVATION-TOKEN redeems it. */
void dh_reservation(const struct dh_daemon *d, uint8_t family, int want)
{
	struct dh_req first = {.lifetime = -1, .even_port_r = true, .family = family};
	struct dh_req second = {.lifetime = -1};
	struct dh_client *a = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	struct dh_client *b = dh_connect_ok(d, DH_UDP, "127.0.0.1");

	assert_int_equal(dh_allocate(a, DH_USER, DH_PASSWORD, &first), 0);
	assert_int_equal(a->relayed.port % 2, 0);
	assert_int_not_equal(a->token, 0);
	second.token = a->token;
	assert_int_equal(dh_allocate(b, DH_USER, DH_PASSWORD, &second), want);
	if (want == 0) {
		assert_int_equal(b->relayed.family, a->relayed.family);
		assert_int_equal(b->relayed.port, a->relayed.port + 1);
	}
	dh_close(a);
	dh_close(b);
}
