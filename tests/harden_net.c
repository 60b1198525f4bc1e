/*
 * harden_net.c - address spellings, the wildcard UDP sink, ternd's RSS and
 * byte searches for test_harden_policy (harden.h).
 */
#define _GNU_SOURCE
#include "harden.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------ spellings */

/* Teredo server 65.54.227.120 and the cone flag (RFC 4380 §4). */
static const uint8_t teredo_head[10] = {0x20, 0x01, 0x00, 0x00, 65, 54, 227, 120, 0x80, 0x00};

struct tern_addr hp_spell(const struct tern_addr *v4, enum hp_form form, uint16_t port)
{
	struct tern_addr a = {.family = TERN_AF_IPV6, .port = port};
	const uint8_t *b = v4->addr;

	switch (form) {
	case HP_PLAIN:
		a = *v4;
		a.port = port;
		break;
	case HP_MAPPED:
		a.addr[10] = a.addr[11] = 0xff;
		memcpy(a.addr + 12, b, 4);
		break;
	case HP_COMPAT:
		memcpy(a.addr + 12, b, 4);
		break;
	case HP_6TO4: /* 2002:AABB:CCDD:0001::1 */
		a.addr[0] = 0x20, a.addr[1] = 0x02;
		memcpy(a.addr + 2, b, 4);
		a.addr[7] = 1, a.addr[15] = 1;
		break;
	case HP_NAT64: /* 64:ff9b::AABB:CCDD */
		a.addr[1] = 0x64, a.addr[2] = 0xff, a.addr[3] = 0x9b;
		memcpy(a.addr + 12, b, 4);
		break;
	case HP_NAT64_48:   /* 64:ff9b:1:AABB:00CC:DD00:: */
	case HP_NAT64_48_U: /* the same with u = 0x5a and a suffix */
		a.addr[1] = 0x64, a.addr[2] = 0xff, a.addr[3] = 0x9b, a.addr[5] = 0x01;
		a.addr[6] = b[0], a.addr[7] = b[1], a.addr[9] = b[2], a.addr[10] = b[3];
		if (form == HP_NAT64_48_U)
			a.addr[8] = 0x5a, a.addr[13] = 0x77, a.addr[15] = 0x01;
		break;
	case HP_TEREDO: /* 2001:0:4136:e378:8000:~port:~client */
		memcpy(a.addr, teredo_head, sizeof(teredo_head));
		a.addr[10] = (uint8_t) ~(port >> 8), a.addr[11] = (uint8_t)~port;
		for (size_t i = 0; i < 4; i++)
			a.addr[12 + i] = (uint8_t)~b[i];
		break;
	case HP_NFORMS:
		fail_msg("no such form");
		break;
	}
	return a;
}

bool hp_form_is_v4(enum hp_form form)
{
	return form == HP_PLAIN || form == HP_MAPPED || form == HP_COMPAT;
}

const char *hp_form_name(enum hp_form form)
{
	static const char *const names[HP_NFORMS] = {"plain", "mapped",   "compat",     "6to4",
	                                             "nat64", "nat64/48", "nat64/48-u", "teredo"};

	return form < HP_NFORMS ? names[form] : "?";
}

const char *hp_addr_str(const struct tern_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family == TERN_AF_IPV6 ? AF_INET6 : AF_INET, a->addr, ip, sizeof(ip));
	snprintf(buf, cap, a->family == TERN_AF_IPV6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return buf;
}

/* ----------------------------------------------------------------- sink */

void hp_sink_open(struct hp_sink *s)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	socklen_t len = sizeof(sa);
	int zero = 0, one = 1;

	s->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
	assert_int_equal(setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)), 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin6_port);
}

/* The destination from IP_PKTINFO or IPV6_PKTINFO; mapped addresses as IPv4. */
static void destination(struct msghdr *h, uint16_t port, struct tern_addr *to)
{
	memset(to, 0, sizeof(*to));
	to->port = port;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			to->family = TERN_AF_IPV4;
			memcpy(to->addr, &pi.ipi_addr, 4);
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			to->family = TERN_AF_IPV6;
			memcpy(to->addr, &pi.ipi6_addr, 16);
			if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) {
				to->family = TERN_AF_IPV4;
				memmove(to->addr, to->addr + 12, 4);
				memset(to->addr + 4, 0, 12);
			}
		}
	}
}

long hp_sink_recv(const struct hp_sink *s, struct tern_addr *to, uint8_t *buf, size_t cap,
                  int timeout_ms)
{
	struct pollfd p = {s->fd, POLLIN, 0};
	union {
		struct cmsghdr align;
		uint8_t b[256];
	} ctl;
	struct sockaddr_in6 from;
	struct iovec iov = {buf, cap};
	struct msghdr h = {&from, sizeof(from), &iov, 1, ctl.b, sizeof(ctl.b), 0};
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return DH_TIMEOUT;
	n = recvmsg(s->fd, &h, 0);
	assert_true(n >= 0);
	destination(&h, s->port, to);
	return (long)n;
}

/* --------------------------------------------------------------- process */

long hp_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	assert_true(kib > 0);
	return kib;
}

bool hp_mem_has(const void *hay, size_t hay_len, const void *needle, size_t len)
{
	return len > 0 && memmem(hay, hay_len, needle, len) != NULL;
}

bool hp_file_has(const char *path, const void *needle, size_t len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	bool has;

	assert_non_null(f);
	buf = malloc(8u << 20);
	assert_non_null(buf);
	n = fread(buf, 1, 8u << 20, f);
	assert_true(feof(f)); /* the whole file was searched */
	fclose(f);
	has = hp_mem_has(buf, n, needle, len);
	free(buf);
	return has;
}
