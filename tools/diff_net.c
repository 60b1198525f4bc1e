/*
 * diff_net.c - sockets for tern-diff: addresses, connected clients, UDP
 * peers, free ports and relay port ranges on loopback.
 */
#define _GNU_SOURCE
#include "diff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t diff_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "1.2.3.4:5", "[::1]:5", or an address without a port (port 0). */
bool diff_parse_addr(const char *text, struct tern_addr *a)
{
	char ip[64];
	const char *colon = strrchr(text, ':');
	size_t n = strlen(text);
	unsigned long port = 0;

	memset(a, 0, sizeof(*a));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (end == NULL || (size_t)(end - text) >= sizeof(ip))
			return false;
		memcpy(ip, text + 1, (size_t)(end - text - 1));
		ip[end - text - 1] = '\0';
		colon = end[1] == ':' ? end + 1 : NULL;
	} else if (colon != NULL && strchr(text, ':') == colon) {
		if ((size_t)(colon - text) >= sizeof(ip))
			return false;
		memcpy(ip, text, (size_t)(colon - text));
		ip[colon - text] = '\0';
	} else {
		if (n >= sizeof(ip))
			return false;
		memcpy(ip, text, n + 1);
		colon = NULL;
	}
	if (colon != NULL) {
		char *end;

		port = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || port > 65535)
			return false;
	}
	a->port = (uint16_t)port;
	if (inet_pton(AF_INET, ip, a->addr) == 1)
		a->family = TERN_AF_IPV4;
	else if (inet_pton(AF_INET6, ip, a->addr) == 1)
		a->family = TERN_AF_IPV6;
	else
		return false;
	return true;
}

void diff_addr_str(const struct tern_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->family == TERN_AF_IPV6 ? AF_INET6 : AF_INET, a->addr, ip, sizeof(ip));
	snprintf(buf, cap, a->family == TERN_AF_IPV6 ? "[%s]:%u" : "%s:%u", ip, a->port);
}

static socklen_t to_sockaddr(const struct tern_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == TERN_AF_IPV6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->addr, 4);
	return sizeof(*s4);
}

static void from_sockaddr(const struct sockaddr_storage *ss, struct tern_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a->family = TERN_AF_IPV6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->addr, &s6->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->family = TERN_AF_IPV4;
		a->port = ntohs(s4->sin_port);
		memcpy(a->addr, &s4->sin_addr, 4);
	}
}

/* A socket of type bound to ip:port; -1 on failure. *got: the bound address. */
static int bind_at(const char *ip, uint16_t port, int type, struct tern_addr *got)
{
	struct tern_addr a;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (!diff_parse_addr(ip, &a))
		return -1;
	a.port = port;
	len = to_sockaddr(&a, &ss);
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	if (got != NULL && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		from_sockaddr(&ss, got);
	return fd;
}

int diff_connect(const char *ip, uint16_t port, const char *source_ip, bool tcp)
{
	struct tern_addr to;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (!diff_parse_addr(ip, &to))
		return -1;
	to.port = port;
	len = to_sockaddr(&to, &ss);
	if (source_ip != NULL)
		fd = bind_at(source_ip, 0, tcp ? SOCK_STREAM : SOCK_DGRAM, NULL);
	else
		fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int diff_udp_open(const char *ip, struct tern_addr *addr)
{
	return bind_at(ip, 0, SOCK_DGRAM, addr);
}

bool diff_sendto(int fd, const struct tern_addr *to, const void *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(to, &ss);

	return sendto(fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&ss, sl) == (ssize_t)len;
}

long diff_recvfrom(int fd, struct tern_addr *from, uint8_t *buf, size_t cap, int timeout_ms)
{
	uint64_t end = diff_now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
	struct pollfd p = {fd, POLLIN, 0};

	for (;;) {
		uint64_t now = diff_now_ms();
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		ssize_t n;

		if (poll(&p, 1, now >= end ? 0 : (int)(end - now)) <= 0)
			return -1;
		n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
		if (n >= 0) {
			if (from != NULL)
				from_sockaddr(&ss, from);
			return (long)n;
		}
		/* ICMP errors from earlier sends surface here: not data */
		if (errno != ECONNREFUSED && errno != EINTR && errno != EAGAIN)
			return -1;
		if (diff_now_ms() >= end)
			return -1;
	}
}

/* Whether port is free on 127.0.0.1 for UDP (and TCP when asked). */
static bool port_free(uint16_t port, bool tcp)
{
	int u = bind_at("127.0.0.1", port, SOCK_DGRAM, NULL);
	int t = tcp ? bind_at("127.0.0.1", port, SOCK_STREAM, NULL) : -2;
	bool ok = u >= 0 && t != -1;

	if (u >= 0)
		close(u);
	if (t >= 0)
		close(t);
	return ok;
}

uint16_t diff_free_port(const uint16_t *avoid, size_t n)
{
	for (int tries = 0; tries < 200; tries++) {
		struct tern_addr got;
		int fd = bind_at("127.0.0.1", 0, SOCK_STREAM, &got);
		bool dup = false;

		if (fd < 0)
			return 0;
		close(fd);
		for (size_t i = 0; i < n; i++)
			dup = dup || avoid[i] == got.port;
		if (!dup && port_free(got.port, true))
			return got.port;
	}
	return 0;
}

bool diff_free_range(unsigned n, uint16_t avoid_lo, uint16_t avoid_hi, uint16_t *lo)
{
	/* below the kernel's ephemeral range, so no port-0 socket lands in it */
	for (int tries = 0; tries < 500; tries++) {
		uint16_t r = 0, base;
		bool ok = true;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return false;
		base = (uint16_t)(20000u + r % (32000u - 20000u - n));
		if (avoid_hi != 0 && base <= avoid_hi && base + n - 1 >= avoid_lo)
			continue;
		for (unsigned i = 0; i < n && ok; i++)
			ok = port_free((uint16_t)(base + i), false);
		if (ok) {
			*lo = base;
			return true;
		}
	}
	return false;
}
