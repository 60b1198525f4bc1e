/*
 * harden_flood.c - a flood (paced, or not) of unauthenticated STUN/TURN requests from
 * thousands of loopback source addresses (harden.h). It runs on a thread of
 * its own while the test talks to ternd, so it makes no cmocka calls: a
 * set-up failure is reported in f->error.
 */
#define _GNU_SOURCE
#include "harden.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_WINDOW 128u /* source sockets open at once */
#define FLOOD_MSG    256u /* bytes per built request */
#define FLOOD_MAX_PS 16u  /* requests per source per burst */
#define HOT_QUIET_MS 500  /* the hot source's answers are over after this much silence */

/* One request: Allocate (plain, or with made-up credentials) or Binding. */
static size_t build(uint16_t method, uint64_t seq, uint8_t *buf)
{
	static const uint8_t fake_key[16] = {0x5e, 0xc2, 0xe7};
	struct tern_stun_builder b;
	uint8_t txid[TERN_STUN_TXID_LEN] = {0x68, 0x70};
	size_t len = 0;

	memcpy(txid + 4, &seq, sizeof(seq));
	if (tern_stun_build_start(&b, buf, FLOOD_MSG, tern_stun_type(method, TERN_STUN_REQUEST),
	                          txid) != TERN_OK)
		return 0;
	if (method == TERN_TURN_ALLOCATE) {
		tern_stun_add_u8(&b, TERN_ATTR_REQUESTED_TRANSPORT, 17);
		if (seq % 2 == 1) {
			tern_stun_add_string(&b, TERN_ATTR_USERNAME, "nobody", 6);
			tern_stun_add_string(&b, TERN_ATTR_REALM, "tern.test", 9);
			tern_stun_add_string(&b, TERN_ATTR_NONCE,
			                     "obMatJos2AAACf//499k954d6OL34oL9", 32);
			tern_stun_add_integrity(&b, fake_key, sizeof(fake_key));
		}
	}
	tern_stun_add_fingerprint(&b);
	return tern_stun_build_finish(&b, &len) == TERN_OK ? len : 0;
}

static uint64_t now_ms(void)
{
	return dh_now_ms();
}

/* Sleep until request number k is due at rate per second (0: no pacing). */
static void pace(uint64_t t0, unsigned long k, unsigned rate)
{
	uint64_t due = rate == 0 ? 0 : t0 + (uint64_t)k * 1000u / rate, now = now_ms();

	if (due > now) {
		struct timespec ts = {0, (long)(due - now) * 1000000L};

		nanosleep(&ts, NULL);
	}
}

/* A non-blocking UDP socket bound to ip (port 0), connected to 127.0.0.1:port. */
static int source_socket(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out_close;
	sa.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out_close;
	return fd;
out_close:
	close(fd);
	return -1;
}

/* Read every answer waiting on fd; counts answers and 401s. */
static void drain(int fd, unsigned long *answers, unsigned long *e401)
{
	uint8_t buf[2048];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 ||
	       (n < 0 && errno == ECONNREFUSED)) {
		struct tern_stun_msg m;
		const struct tern_attr *a;
		struct tern_error_code ec;

		if (n <= 0)
			continue;
		(*answers)++;
		if (e401 != NULL && tern_stun_parse(buf, (size_t)n, &m) == TERN_OK &&
		    m.cls == TERN_STUN_ERROR &&
		    (a = tern_stun_find(&m, TERN_ATTR_ERROR_CODE)) != NULL &&
		    tern_attr_get_error_code(a, &ec) == TERN_OK && ec.code == 401)
			(*e401)++;
	}
}

/* Send the requests of source i; false on a set-up failure (f->error set). */
static bool one_source(struct hp_flood *f, unsigned i, int *slot, uint64_t t0, int hot)
{
	uint8_t bufs[FLOOD_MAX_PS][FLOOD_MSG];
	struct mmsghdr mm[FLOOD_MAX_PS];
	struct iovec iov[FLOOD_MAX_PS];
	char ip[32];
	unsigned n = f->per_source < FLOOD_MAX_PS ? f->per_source : FLOOD_MAX_PS;
	int fd, sent;

	unsigned src = f->first + i;

	snprintf(ip, sizeof(ip), "127.%u.%u.%u", 100 + src / 62500u, 1 + (src / 250u) % 250u,
	         1 + src % 250u);
	if ((fd = source_socket(ip, f->port)) < 0) {
		f->error = errno;
		return false;
	}
	memset(mm, 0, sizeof(mm));
	for (unsigned k = 0; k < n; k++) {
		iov[k].iov_base = bufs[k];
		iov[k].iov_len = build(f->method, (uint64_t)i * FLOOD_MAX_PS + k, bufs[k]);
		mm[k].msg_hdr.msg_iov = &iov[k];
		mm[k].msg_hdr.msg_iovlen = 1;
	}
	pace(t0, f->sent + f->hot_sent, f->rate);
	sent = sendmmsg(fd, mm, n, 0);
	f->sent += sent > 0 ? (unsigned long)sent : 0;
	if (*slot >= 0) {
		drain(*slot, &f->answers, NULL);
		close(*slot);
	}
	*slot = fd;
	if (hot >= 0 && f->hot_every > 0 && (f->sent / f->hot_every) > f->hot_sent) {
		uint8_t buf[FLOOD_MSG];
		size_t len = build(f->method, 2 * f->hot_sent, buf); /* plain, never forged */

		if (f->hot_first_ms == 0)
			f->hot_first_ms = now_ms();
		if (send(hot, buf, len, 0) == (ssize_t)len)
			f->hot_sent++;
		drain(hot, &f->hot_answers, &f->hot_401);
	}
	return true;
}

/* The hot source's last answers: read until it has been quiet a while. */
static void hot_tail(struct hp_flood *f, int hot)
{
	struct pollfd p = {hot, POLLIN, 0};
	uint64_t give_up = now_ms() + 20 * HOT_QUIET_MS; /* a bound, should it never go quiet */

	f->hot_end_ms = now_ms();
	while (now_ms() < give_up && poll(&p, 1, HOT_QUIET_MS) > 0) {
		drain(hot, &f->hot_answers, &f->hot_401);
		f->hot_end_ms = now_ms();
	}
}

static void *flood_main(void *arg)
{
	struct hp_flood *f = arg;
	int ring[FLOOD_WINDOW];
	int hot = f->hot_ip != NULL ? source_socket(f->hot_ip, f->port) : -1;
	uint64_t t0 = now_ms();

	for (unsigned k = 0; k < FLOOD_WINDOW; k++)
		ring[k] = -1;
	if (f->hot_ip != NULL && hot < 0)
		f->error = errno;
	for (unsigned i = 0; i < f->sources && f->error == 0; i++)
		if (!one_source(f, i, &ring[i % FLOOD_WINDOW], t0, hot))
			break;
	for (unsigned k = 0; k < FLOOD_WINDOW; k++)
		if (ring[k] >= 0) {
			drain(ring[k], &f->answers, NULL);
			close(ring[k]);
		}
	atomic_store(&f->running, false);
	if (hot >= 0) {
		hot_tail(f, hot);
		close(hot);
	}
	return NULL;
}

bool hp_flood_start(struct hp_flood *f)
{
	f->sent = f->answers = f->hot_sent = f->hot_answers = f->hot_401 = 0;
	f->hot_first_ms = f->hot_end_ms = 0;
	f->error = 0;
	atomic_store(&f->running, true);
	if (pthread_create(&f->thread, NULL, flood_main, f) != 0) {
		atomic_store(&f->running, false);
		return false;
	}
	return true;
}

void hp_flood_join(struct hp_flood *f)
{
	pthread_join(f->thread, NULL);
}
