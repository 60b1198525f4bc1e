/*
 * test_harden_streams.c - ternd under exhaustion and hostile streams, over
 * real loopback sockets (issue 6, "Exhaustion" and "Slow and broken
 * streams"). Each test starts its own ternd (daemon_proc.c) and checks that
 * the limit answers the right error or closes the right connection, that
 * well-behaved clients over UDP and TCP keep allocating and relaying
 * meanwhile, and that service comes back as soon as the resource is free.
 * usage: test_harden_streams PATH-TO-TERND [TEST-NAME-PATTERN]
 *
 * The hostile-stream test sets ternd's stream timeouts short
 * (tls-handshake-timeout=HS_HANDSHAKE_S, stream-frame-timeout=HS_FRAME_S;
 * the defaults are 10 and 30 s), checked by a sweep once a second; every
 * hostile connection runs at once so the test waits for them only once, and
 * a hostile connection must be closed (EOF or RST seen) within three times
 * its timeout, with the reason in ternd's conn_closed log line and in
 * tern_conn_closed{reason=...}. The other tests keep the defaults.
 */
#define _GNU_SOURCE
#include "daemon_flows.h"
#include "hs_hostile.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define HS_HANDSHAKE_S  3 /* tls-handshake-timeout for the hostile-stream test */
#define HS_FRAME_S      6 /* stream-frame-timeout for it */
#define HS_HANDSHAKE_MS (HS_HANDSHAKE_S * 1000)
#define HS_FRAME_MS     (HS_FRAME_S * 1000)
#define HS_TRICKLE_MS   300 /* a slowloris byte every HS_TRICKLE_MS */

struct fixture {
	struct dh_daemon d;
	struct hs_set hostile;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	dh_init(&f->d);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hs_release(&f->hostile);
	dh_cleanup(&f->d);
	free(f);
	return 0;
}

/* ---------------------------------------------------------- well-behaved */

/* ChannelData c -> peer, the peer echoes, and the echo comes back on c. */
static void round_trip(struct dh_client *c, uint16_t ch, int pfd, const char *tag)
{
	struct tern_addr from;
	uint8_t buf[256];
	uint16_t got_ch = 0;
	size_t len = strlen(tag);
	long n;

	dh_send_channel(c, ch, tag, len);
	n = dh_peer_recv(pfd, &from, buf, sizeof(buf), DH_WAIT_MS);
	if (n != (long)len || memcmp(buf, tag, len) != 0)
		fail_msg("%s: the peer did not get it (%ld)", tag, n);
	assert_true(dh_addr_eq(&from, &c->relayed));
	dh_peer_send(pfd, &from, buf, (size_t)n);
	n = dh_recv_data(c, &got_ch, &from, buf, sizeof(buf), DH_WAIT_MS);
	if (n != (long)len || memcmp(buf, tag, len) != 0)
		fail_msg("%s: the echo did not come back (%ld)", tag, n);
	assert_int_equal(got_ch, ch);
}

/* A fresh client: Allocate, ChannelBind, a round trip through the peer, Refresh 0. */
static void fresh_client_round(const struct dh_daemon *d, enum dh_transport t, int pfd,
                               const struct tern_addr *peer, unsigned round)
{
	static const char *const names[] = {"udp", "tcp", "tls"};
	struct dh_client *c = dh_allocated(d, t, "127.0.0.1");
	char tag[64];

	snprintf(tag, sizeof(tag), "fresh %s client, round %u", names[t], round);
	assert_int_equal(dh_channel_bind(c, 0x4000, peer), 0);
	round_trip(c, 0x4000, pfd, tag);
	assert_int_equal(dh_refresh(c, 0), 0);
	dh_close(c);
}

/* ------------------------------------------------------- hostile streams */

/* A STUN or ChannelData header declaring `length` bytes, then `body` zero bytes. */
static size_t stun_head(uint8_t *buf, uint16_t type, uint16_t length, uint32_t cookie, size_t body)
{
	memset(buf, 0, 20 + body);
	buf[0] = (uint8_t)(type >> 8);
	buf[1] = (uint8_t)type;
	buf[2] = (uint8_t)(length >> 8);
	buf[3] = (uint8_t)length;
	buf[4] = (uint8_t)(cookie >> 24);
	buf[5] = (uint8_t)(cookie >> 16);
	buf[6] = (uint8_t)(cookie >> 8);
	buf[7] = (uint8_t)cookie;
	memset(buf + 8, 0x5a, 12); /* transaction id */
	return 20 + body;
}

/* Slow and silent TCP clients: each must be closed "too_slow". */
static void open_tcp_slow(struct hs_set *s, uint16_t port)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: turn.example\r\n\r\n";
	const int bound = 3 * HS_FRAME_MS;
	uint8_t buf[HS_SCRIPT_CAP];
	size_t n;
	struct hs_conn *c;

	n = stun_head(buf, 0x0001, 1000, TERN_STUN_MAGIC_COOKIE, 1000);
	c = hs_open(s, "tcp slowloris: a Binding trickled, never complete", port, bound,
	            "too_slow");
	hs_script(c, buf, n, 0, HS_TRICKLE_MS);
	n = hs_binding_request(buf, sizeof(buf));
	n += stun_head(buf + n, 0x0001, 1000, TERN_STUN_MAGIC_COOKIE, 1000);
	c = hs_open(s, "tcp slowloris after one complete Binding", port, bound, "too_slow");
	hs_script(c, buf, n, n - 1020, HS_TRICKLE_MS);
	hs_open(s, "tcp half-open: connected, silent", port, bound, "too_slow");
	/* 'GE' reads as channel 0x4745, 'T ' as a 21536-byte ChannelData that never comes */
	c = hs_open(s, "http request on the stun port", port, bound, "too_slow");
	hs_script(c, http, sizeof(http) - 1, 0, 0);
	/* 3000 bytes: past the 2 KiB first buffer, so ternd grows it to the declared length */
	n = stun_head(buf, 0x0001, 0xfffc, TERN_STUN_MAGIC_COOKIE, 3000);
	c = hs_open(s, "largest STUN length (65532), never complete", port, bound, "too_slow");
	hs_script(c, buf, n, 0, 0);
	n = stun_head(buf, 0x4000, 0xffff, 0, 3000);
	c = hs_open(s, "largest ChannelData length (65535), never complete", port, bound,
	            "too_slow");
	hs_script(c, buf, n, 0, 0);
}

/* TCP clients whose first bytes cannot be a frame: closed at once ("unframeable"). */
static void open_tcp_unframeable(struct hs_set *s, uint16_t port)
{
	const int bound = 3 * HS_FRAME_MS;
	uint8_t buf[64];
	size_t n;
	struct hs_conn *c;

	n = stun_head(buf, 0x0001, 0xffff, TERN_STUN_MAGIC_COOKIE, 0);
	c = hs_open(s, "stun length 65535 (no frame has it)", port, bound, "unframeable");
	hs_script(c, buf, n, 0, 0);
	n = stun_head(buf, 0x0001, 8, 0xdeadbeef, 8);
	c = hs_open(s, "stun header with a wrong magic cookie", port, bound, "unframeable");
	hs_script(c, buf, n, 0, 0);
	memset(buf, 0xff, 32);
	c = hs_open(s, "garbage bytes (0xff...)", port, bound, "unframeable");
	hs_script(c, buf, 32, 0, 0);
}

/* TLS clients that stall or send garbage before or during the handshake. */
static void open_tls_hostile(struct hs_set *s, uint16_t port)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: turn.example\r\n\r\n";
	const int bound = 3 * HS_HANDSHAKE_MS;
	uint8_t hello[2048], junk[128], records[HS_SCRIPT_CAP];
	size_t n = hs_client_hello(hello, sizeof(hello)), hello_len = n;
	struct hs_conn *c;

	c = hs_open(s, "tls slowloris: a ClientHello trickled", port, bound, "too_slow");
	hs_script(c, hello, n, 0, HS_TRICKLE_MS);
	hs_open(s, "tls half-open: connected, silent", port, bound, "too_slow");
	c = hs_open(s, "tls handshake never finished", port, bound, "too_slow");
	hs_tls_stall(c, NULL, 0);
	c = hs_open(s, "garbage before the tls handshake", port, bound, "tls_failed");
	hs_script(c, http, sizeof(http) - 1, 0, 0);
	/* an application-data record in place of Finished: it cannot decrypt */
	memcpy(junk, "\x17\x03\x03\x00\x20", 5);
	memset(junk + 5, 0xab, 32);
	c = hs_open(s, "garbage in the middle of the tls handshake", port, bound, "tls_failed");
	hs_tls_stall(c, junk, 5 + 32);
	/* past the handshake timeout's reach: a frame trickled one TLS record per byte */
	c = hs_open(s, "tls slowloris after the handshake", port, 3 * HS_FRAME_MS, "too_slow");
	n = stun_head(junk, 0x0001, 1000, TERN_STUN_MAGIC_COOKIE, 100);
	n = hs_tls_records(c, junk, n, records, sizeof(records));
	hs_script(c, records, n, 0, 50);
	/* a whole ClientHello record whose contents after the header are garbage */
	memset(hello + 9, 0xab, hello_len - 9);
	c = hs_open(s, "garbage inside a ClientHello", port, bound, "tls_failed");
	hs_script(c, hello, hello_len, 0, 0);
}

/* Every hostile connection was closed within its bound, for the logged reason. */
static void check_hostile_closed(const struct dh_daemon *d, const struct hs_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct hs_conn *c = &s->c[i];
		char line[128];

		if (c->closed_at == 0)
			fail_msg("%s: still open after %d ms", c->name, c->bound_ms);
		if (c->closed_at - c->opened > (uint64_t)c->bound_ms)
			fail_msg("%s: closed after %llu ms, bound %d", c->name,
			         (unsigned long long)(c->closed_at - c->opened), c->bound_ms);
		snprintf(line, sizeof(line), "conn_closed client=127.0.0.1:%u reason=%s\n",
		         c->local_port, c->reason != NULL ? c->reason : "");
		if (c->reason != NULL && !dh_log_shows(d, line))
			fail_msg("%s: no log line \"%s\"", c->name, line);
		printf("  %-52s closed after %5llu ms: %s\n", c->name,
		       (unsigned long long)(c->closed_at - c->opened),
		       c->reason != NULL ? c->reason : "(any reason)");
	}
}

/* tern_conn_closed{reason=...} counts each hostile connection under its reason. */
static void check_close_metrics(const struct dh_daemon *d, const struct hs_set *s)
{
	static const char *const reasons[] = {"too_slow", "unframeable", "tls_failed"};

	for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++) {
		long long want = 0;
		char name[96];

		for (size_t i = 0; i < s->n; i++)
			want += s->c[i].reason != NULL && strcmp(s->c[i].reason, reasons[r]) == 0;
		assert_true(want > 0);
		snprintf(name, sizeof(name), "tern_conn_closed{reason=\"%s\"}", reasons[r]);
		/* fresh TLS clients that fail nothing add nothing; the hostile ones are all there */
		if (dh_metric(d, name) != want)
			fail_msg("%s is %lld, want %lld", name, dh_metric(d, name), want);
	}
}

/*
 * TCP and TLS slowloris, half-open connections, the largest frames left
 * incomplete, unframeable bytes, garbage before and inside a TLS
 * handshake, a handshake never finished: all at once. Meanwhile long-lived
 * UDP and TCP allocations keep relaying and fresh UDP, TCP and TLS clients
 * allocate and relay; afterwards every hostile connection has been closed
 * in time and for its reason, and the long-lived clients still work.
 */
static void test_harden_streams_hostile(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	static const enum dh_transport fresh[] = {DH_UDP, DH_TCP, DH_TLS};
	struct dh_client *udp, *tcp;
	struct tern_addr peer;
	uint64_t end;
	unsigned round = 0;
	int pfd = dh_peer_open("127.0.0.1", &peer);
	char tag[64];

	d->tls = true;
	dh_set_relay_range(d, 8);
	dh_extra(d, "tls-handshake-timeout=%d", HS_HANDSHAKE_S);
	dh_extra(d, "stream-frame-timeout=%d", HS_FRAME_S);
	dh_start(d);
	udp = dh_allocated(d, DH_UDP, "127.0.0.1");
	tcp = dh_allocated(d, DH_TCP, "127.0.0.1");
	assert_int_equal(dh_channel_bind(udp, 0x4001, &peer), 0);
	assert_int_equal(dh_channel_bind(tcp, 0x4002, &peer), 0);
	open_tcp_slow(&f->hostile, d->port);
	open_tcp_unframeable(&f->hostile, d->port);
	open_tls_hostile(&f->hostile, d->tls_port);
	end = dh_now_ms() + 3 * HS_FRAME_MS + 2000;
	while (!hs_all_closed(&f->hostile) && dh_now_ms() < end) {
		hs_pump(&f->hostile, 1000);
		fresh_client_round(d, fresh[round % 3], pfd, &peer, round);
		snprintf(tag, sizeof(tag), "long-lived udp, round %u", round);
		round_trip(udp, 0x4001, pfd, tag);
		snprintf(tag, sizeof(tag), "long-lived tcp, round %u", round);
		round_trip(tcp, 0x4002, pfd, tag);
		round++;
	}
	check_hostile_closed(d, &f->hostile);
	check_close_metrics(d, &f->hostile);
	assert_int_equal(dh_metric(d, "tern_tcp_rejected"), 0); /* accepted, then closed */
	assert_true(f->hostile.c[1].received > 0); /* its complete Binding was answered */
	assert_true(round >= 3);                   /* every transport had fresh clients */
	round_trip(udp, 0x4001, pfd, "long-lived udp, after");
	round_trip(tcp, 0x4002, pfd, "long-lived tcp, after");
	assert_int_equal(dh_refresh(tcp, 0), 0);
	dh_close(udp);
	dh_close(tcp);
	close(pfd);
	dh_stop_clean(d);
}

/*
 * A client whose first frame arrives in two parts a few seconds apart (a
 * slow mobile link) is well within the 30 s frame timeout and must be
 * answered (the partial-frame clock once started at 0 for a connection's
 * first frame, which closed it "too_slow" at the first sweep).
 */
static void test_harden_streams_split_first_frame(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	int rc;

	dh_start(d);
	/* two sweeps (1 s each) pass while half a header waits */
	rc = hs_split_binding(d->port, false, 10, 2500, DH_WAIT_MS);
	if (rc != 1)
		fail_msg("a first Binding sent in two parts 2.5 s apart was cut off");
	/* after a first frame the partial-frame clock is right: a split second frame passes */
	assert_int_equal(hs_split_binding(d->port, true, 10, 2500, DH_WAIT_MS), 1);
	dh_stop_clean(d);
}

/*
 * One client's failed TLS handshake must not take another client's
 * established TLS connection down (an error the failed handshake left on
 * the worker thread's OpenSSL error queue once made the next SSL_read()
 * that had to wait read as a TLS error, and close that connection).
 */
static void test_harden_streams_tls_failure_isolated(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: turn.example\r\n\r\n";
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	uint8_t req[128], records[HS_SCRIPT_CAP];
	struct hs_conn *good, *bad;
	size_t len, n, before;

	d->tls = true;
	dh_start(d);
	good = hs_open(&f->hostile, "established tls client", d->tls_port, 0, NULL);
	len = hs_binding_request(req, sizeof(req));
	n = hs_tls_records(good, req, len, records, sizeof(records));
	hs_script(good, records, 3, 3, 0); /* the start of a record: ternd waits for more */
	hs_pump(&f->hostile, 300);
	bad = hs_open(&f->hostile, "garbage before the tls handshake", d->tls_port, 0, NULL);
	hs_script(bad, http, sizeof(http) - 1, 0, 0);
	for (int i = 0; i < 30 && bad->closed_at == 0; i++)
		hs_pump(&f->hostile, 100);
	assert_true(bad->closed_at != 0);
	before = good->received;
	hs_script(good, records + 3, n - 3, n - 3, 0); /* the rest of the Binding request */
	hs_pump(&f->hostile, 1000);
	if (good->closed_at != 0)
		fail_msg("the established TLS connection was closed after another "
		         "client's handshake failed");
	assert_true(good->received > before); /* the Binding was answered */
	hs_release(&f->hostile);
	dh_stop_clean(d);
}

/* The largest frames either kind can declare fit, and the connection goes on. */
static void test_harden_streams_largest_frames(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	static uint8_t big[TERN_STUN_MAX_MSG + 4];
	struct dh_client *c;
	size_t n;

	dh_start(d);
	c = dh_connect_ok(d, DH_TCP, "127.0.0.1");
	/* a Binding whose one SOFTWARE attribute fills the largest STUN length */
	n = stun_head(big, 0x0001, 0xfffc, TERN_STUN_MAGIC_COOKIE, 0xfffc);
	big[20] = 0x80, big[21] = 0x22, big[22] = 0xff, big[23] = 0xf8;
	assert_int_equal(n, TERN_STUN_MAX_MSG);
	dh_send(c, big, n);
	assert_int_equal(dh_binding(c), 0);
	/* the longest ChannelData (65535 bytes and a pad byte), for no channel: dropped */
	n = stun_head(big, 0x4000, 0xffff, 0, 0xffff + 1 - 16);
	dh_send(c, big, n);
	assert_int_equal(dh_binding(c), 0);
	assert_int_equal(dh_allocate(c, DH_USER, DH_PASSWORD, NULL), 0);
	dh_close(c);
	dh_stop_clean(d);
}

/* ------------------------------------------------------------ slow reader */

#define FLOOD_DATAGRAMS 40000u
#define FLOOD_SIZE      1200u
#define RSS_SLACK_KIB   (16u * 1024u) /* the flood is 46 MiB */

/* The peer sends count numbered datagrams to to, pacing itself lightly. */
static void flood(int pfd, const struct tern_addr *to, uint32_t first, uint32_t count)
{
	uint8_t buf[FLOOD_SIZE];

	memset(buf, 0x33, sizeof(buf));
	for (uint32_t i = 0; i < count; i++) {
		uint32_t seq = first + i;

		memcpy(buf, &seq, sizeof(seq));
		dh_peer_send(pfd, to, buf, sizeof(buf));
		if (i % 64 == 63)
			usleep(500);
	}
}

/* Read everything queued for c: every frame parses, sequence numbers only rise. */
static unsigned read_backlog(struct dh_client *c, uint16_t ch)
{
	static uint8_t buf[DH_MSG_CAP];
	struct tern_addr from;
	uint32_t last = 0, seq;
	unsigned got = 0;
	uint16_t got_ch;
	long n;

	while ((n = dh_recv_data(c, &got_ch, &from, buf, sizeof(buf), 1500)) != DH_TIMEOUT) {
		assert_int_equal(n, FLOOD_SIZE);
		assert_int_equal(got_ch, ch);
		memcpy(&seq, buf, sizeof(seq));
		if (got > 0 && seq <= last)
			fail_msg("datagram %u after %u: reordered or repeated", seq, last);
		last = seq;
		got++;
	}
	return got;
}

/*
 * A client that stops reading while its peer keeps sending, over TCP and
 * TLS: ternd's memory stays bounded (it drops what does not fit, counted
 * in tern_dropped), other clients keep relaying, and when the client reads
 * again it gets whole frames in order and the connection relays on.
 */
static void slow_reader(struct dh_daemon *d, enum dh_transport t, uint16_t ch)
{
	struct dh_client *c = dh_allocated(d, t, "127.0.0.1");
	struct dh_client *u = dh_allocated(d, DH_UDP, "127.0.0.1");
	struct tern_addr peer;
	int pfd = dh_peer_open("127.0.0.1", &peer);
	long long dropped = dh_metric(d, "tern_dropped");
	long rss0, rss1;
	unsigned got;

	assert_int_equal(dh_channel_bind(c, ch, &peer), 0);
	assert_int_equal(dh_channel_bind(u, 0x4000, &peer), 0);
	flood(pfd, &c->relayed, 0, 2000); /* warm up: buffers reach their size */
	rss0 = hs_rss_kib(d->pid);
	flood(pfd, &c->relayed, 2000, FLOOD_DATAGRAMS);
	usleep(300 * 1000);
	rss1 = hs_rss_kib(d->pid);
	printf("  %s slow reader: RSS %ld KiB -> %ld KiB after %u KiB sent to it\n",
	       t == DH_TLS ? "tls" : "tcp", rss0, rss1, FLOOD_DATAGRAMS * FLOOD_SIZE / 1024u);
	assert_true(rss1 - rss0 < (long)RSS_SLACK_KIB);
	assert_true(dh_metric(d, "tern_dropped") > dropped);
	round_trip(u, 0x4000, pfd, "udp client beside a slow reader");
	got = read_backlog(c, ch);
	printf("  %s slow reader: %u of %u datagrams delivered in order\n",
	       t == DH_TLS ? "tls" : "tcp", got, FLOOD_DATAGRAMS + 2000);
	assert_true(got > 0 && got < FLOOD_DATAGRAMS + 2000);
	round_trip(c, ch, pfd, "slow reader reading again");
	dh_close(c);
	dh_close(u);
	close(pfd);
}

static void test_harden_streams_slow_reader(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;

	d->tls = true;
	dh_start(d);
	slow_reader(d, DH_TCP, 0x4001);
	slow_reader(d, DH_TLS, 0x4002);
	dh_stop_clean(d);
}

/* ------------------------------------------------------------- exhaustion */

/*
 * Three relay ports held over UDP, TCP and TLS: the next Allocate gets 508
 * over any transport (and the connection it came on stays usable); closing
 * the TCP connection (RFC 8656 §3.7) or Refresh 0 frees a port at once.
 */
static void test_harden_streams_relay_ports(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	struct dh_client *u, *t, *s, *more_udp, *more_tcp;
	struct tern_addr peer;
	int pfd = dh_peer_open("127.0.0.1", &peer);

	d->tls = true;
	dh_set_relay_range(d, 3);
	dh_start(d);
	u = dh_allocated(d, DH_UDP, "127.0.0.1");
	t = dh_allocated(d, DH_TCP, "127.0.0.1");
	s = dh_allocated(d, DH_TLS, "127.0.0.1");
	assert_int_equal(dh_channel_bind(u, 0x4000, &peer), 0);
	more_udp = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	more_tcp = dh_connect_ok(d, DH_TCP, "127.0.0.1");
	assert_int_equal(dh_allocate(more_udp, DH_USER, DH_PASSWORD, NULL), 508);
	assert_int_equal(dh_allocate(more_tcp, DH_USER, DH_PASSWORD, NULL), 508);
	assert_true(dh_wait_metric(d, "tern_port_exhausted", 2, DH_WAIT_MS * 2));
	assert_int_equal(dh_binding(more_tcp), 0); /* refused, not disconnected */
	round_trip(u, 0x4000, pfd, "udp while the ports are full");
	dh_close(t); /* frees its allocation and port */
	assert_true(dh_wait_metric(d, "tern_allocations", 2, DH_WAIT_MS * 2));
	assert_int_equal(dh_allocate(more_tcp, DH_USER, DH_PASSWORD, NULL), 0);
	assert_int_equal(dh_allocate(more_udp, DH_USER, DH_PASSWORD, NULL), 508);
	assert_int_equal(dh_refresh(s, 0), 0);
	assert_int_equal(dh_allocate(more_udp, DH_USER, DH_PASSWORD, NULL), 0);
	assert_true(more_udp->relayed.port >= d->min_port && more_udp->relayed.port <= d->max_port);
	assert_int_equal(dh_channel_bind(more_udp, 0x4000, &peer), 0);
	round_trip(more_udp, 0x4000, pfd, "udp on a port freed by Refresh 0");
	dh_close(u);
	dh_close(s);
	dh_close(more_udp);
	dh_close(more_tcp);
	close(pfd);
	dh_stop_clean(d);
}

/*
 * max-tcp-connections 3: a fourth TCP or TLS connection is closed at once
 * (EOF or RST, counted in tern_tcp_rejected); the three keep working, UDP
 * is untouched, and a new connection is served once one of them closes.
 */
static void test_harden_streams_tcp_connections(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	struct dh_client *a, *b, *t;
	struct tern_addr peer;
	uint64_t end;
	int pfd = dh_peer_open("127.0.0.1", &peer), over, fd = -1, rc = 0;

	d->tls = true;
	dh_extra(d, "max-tcp-connections=3");
	dh_start(d);
	a = dh_allocated(d, DH_TCP, "127.0.0.1");
	assert_int_equal(dh_channel_bind(a, 0x4000, &peer), 0);
	b = dh_connect_ok(d, DH_TCP, "127.0.0.1");
	assert_int_equal(dh_binding(b), 0);
	t = dh_connect_ok(d, DH_TLS, "127.0.0.1");
	assert_int_equal(dh_binding(t), 0);
	assert_int_equal(hs_probe_binding(d->port, DH_WAIT_MS, NULL), 0);
	assert_null(dh_connect(DH_TLS, "127.0.0.1", d->tls_port)); /* handshake cut off */
	assert_true(dh_wait_metric(d, "tern_tcp_rejected", 2, DH_WAIT_MS * 2));
	round_trip(a, 0x4000, pfd, "tcp at the connection cap");
	assert_int_equal(dh_binding(b), 0);
	assert_int_equal(dh_binding(t), 0);
	fresh_client_round(d, DH_UDP, pfd, &peer, 0);
	dh_close(b);
	/* ternd sees the close on its next poll round; until then it may still refuse */
	end = dh_now_ms() + 3000;
	while (rc == 0 && dh_now_ms() < end)
		rc = hs_probe_binding(d->port, DH_WAIT_MS, &fd);
	assert_int_equal(rc, 1);
	over = hs_probe_binding(d->port, DH_WAIT_MS, NULL); /* and the cap holds again */
	assert_int_equal(over, 0);
	close(fd);
	dh_close(a);
	dh_close(t);
	close(pfd);
	dh_stop_clean(d);
}

/*
 * user-quota 2: alice's third Allocate gets 486 while bob still allocates;
 * a release (connection closed, or Refresh 0) lets alice allocate again.
 */
static void test_harden_streams_user_quota(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	struct dh_client *a1, *a2, *a3, *b;

	dh_set_relay_range(d, 8);
	dh_extra(d, "user-quota=2");
	dh_extra(d, "user=bob:bob-pw");
	dh_start(d);
	a1 = dh_allocated(d, DH_UDP, "127.0.0.1");
	a2 = dh_allocated(d, DH_TCP, "127.0.0.1");
	a3 = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(a3, DH_USER, DH_PASSWORD, NULL), 486);
	b = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(b, "bob", "bob-pw", NULL), 0);
	assert_true(dh_metric(d, "tern_errors_sent") >= 1);
	dh_close(a2); /* the TCP connection takes its allocation with it */
	assert_true(dh_wait_metric(d, "tern_allocations", 2, DH_WAIT_MS * 2));
	assert_int_equal(dh_allocate(a3, DH_USER, DH_PASSWORD, NULL), 0);
	a2 = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(a2, DH_USER, DH_PASSWORD, NULL), 486);
	assert_int_equal(dh_refresh(a1, 0), 0);
	assert_int_equal(dh_allocate(a2, DH_USER, DH_PASSWORD, NULL), 0);
	dh_close(a1);
	dh_close(a2);
	dh_close(a3);
	dh_close(b);
	dh_stop_clean(d);
}

/* total-quota 2: the third Allocate, by any user, gets 508 until one ends. */
static void test_harden_streams_total_quota(void **state)
{
	struct fixture *f = *state;
	struct dh_daemon *d = &f->d;
	struct dh_client *a, *b, *c;

	dh_set_relay_range(d, 8);
	dh_extra(d, "total-quota=2");
	dh_extra(d, "user=bob:bob-pw");
	dh_start(d);
	a = dh_allocated(d, DH_UDP, "127.0.0.1");
	b = dh_connect_ok(d, DH_TCP, "127.0.0.1");
	assert_int_equal(dh_allocate(b, "bob", "bob-pw", NULL), 0);
	c = dh_connect_ok(d, DH_UDP, "127.0.0.1");
	assert_int_equal(dh_allocate(c, "bob", "bob-pw", NULL), 508);
	assert_int_equal(dh_allocate(c, DH_USER, DH_PASSWORD, NULL), 508);
	assert_int_equal(dh_binding(c), 0); /* everything but Allocate goes on */
	assert_int_equal(dh_refresh(a, 0), 0);
	assert_int_equal(dh_allocate(c, "bob", "bob-pw", NULL), 0);
	dh_close(b);
	assert_true(dh_wait_metric(d, "tern_allocations", 1, DH_WAIT_MS * 2));
	assert_int_equal(dh_allocate(a, DH_USER, DH_PASSWORD, NULL), 0);
	dh_close(a);
	dh_close(c);
	dh_stop_clean(d);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_harden_streams_relay_ports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_tcp_connections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_user_quota, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_total_quota, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_split_first_frame, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_tls_failure_isolated, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_largest_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_slow_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_harden_streams_hostile, setup, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-TERND [TEST-NAME-PATTERN]\n", argv[0]);
		return 2;
	}
	dh_ternd_path = argv[1];
	if (argc > 2)
		cmocka_set_test_filter(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("harden_streams", tests, NULL, NULL);
}
