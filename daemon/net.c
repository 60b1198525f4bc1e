/* net.c - socket set-up and address conversions for ternd. */
#define _GNU_SOURCE
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ternd_addr_to_sockaddr(const struct tern_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == TERN_AF_IPV6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->addr, 4);
		*len = sizeof(*s4);
	}
}

bool ternd_addr_from_sockaddr(const struct sockaddr *sa, struct tern_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		a->family = TERN_AF_IPV4;
		a->port = ntohs(s4->sin_port);
		memcpy(a->addr, &s4->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		a->family = TERN_AF_IPV6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->addr, &s6->sin6_addr, 16);
		return true;
	}
	return false;
}

const char *ternd_addr_str(const struct tern_addr *a, bool with_port, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	bool v6 = a->family == TERN_AF_IPV6;

	inet_ntop(v6 ? AF_INET6 : AF_INET, a->addr, ip, sizeof(ip));
	if (!with_port)
		snprintf(buf, cap, "%s", ip);
	else if (v6)
		snprintf(buf, cap, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, cap, "%s:%u", ip, a->port);
	return buf;
}

bool ternd_addr_parse(const char *text, struct tern_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->addr) == 1) {
		a->family = TERN_AF_IPV4;
		return true;
	}
	if (inet_pton(AF_INET6, text, a->addr) == 1) {
		a->family = TERN_AF_IPV6;
		return true;
	}
	return false;
}

bool ternd_addr_is_any(const struct tern_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->addr, zero, a->family == TERN_AF_IPV6 ? 16 : 4) == 0;
}

uint64_t ternd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ternd_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static int socket_for(const struct tern_addr *addr, int type, int flags)
{
	int domain = addr->family == TERN_AF_IPV6 ? AF_INET6 : AF_INET;
	int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool v6 = domain == AF_INET6;

	if (fd < 0)
		return -errno;
	/*
	 * SO_REUSEADDR only for TCP (restart over TIME_WAIT). On UDP it lets a
	 * second socket bind a port already bound, and the newest socket then
	 * takes the traffic: two workers drawing the same relay port would
	 * both succeed and one allocation would receive the other's peers.
	 * Without it the second bind fails with EADDRINUSE and the relay picks
	 * another port. UDP listeners share their port by SO_REUSEPORT.
	 */
	if ((type == SOCK_STREAM && set_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0) ||
	    ((flags & TERND_SOCK_REUSEPORT) && set_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0) ||
	    (v6 && set_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0) ||
	    ((flags & TERND_SOCK_PKTINFO) && set_opt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
	                                             v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, 1) != 0) ||
	    ((flags & TERND_SOCK_DF) &&
	     set_opt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
	             v6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO) != 0)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int bind_to(int fd, const struct tern_addr *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;

	ternd_addr_to_sockaddr(addr, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int ternd_udp_socket(const struct tern_addr *addr, int flags)
{
	int fd = socket_for(addr, SOCK_DGRAM, flags);

	return fd < 0 ? fd : bind_to(fd, addr);
}

int ternd_tcp_listener(const struct tern_addr *addr, int flags, int backlog)
{
	int fd = socket_for(addr, SOCK_STREAM, flags & TERND_SOCK_REUSEPORT);

	if (fd < 0 || (fd = bind_to(fd, addr)) < 0)
		return fd;
	if (listen(fd, backlog) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int ternd_reuseport_steer(int fd, bool ipv6, unsigned n)
{
	/* A = source address word(s), spread by a multiplicative hash, mod n */
	struct sock_filter v4[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
	    BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9E3779B1u),
	    BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
	    BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
	    BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_filter v6[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 16),
	    BPF_STMT(BPF_MISC | BPF_TAX, 0),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 20),
	    BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
	    BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9E3779B1u),
	    BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
	    BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
	    BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog;

	if (n <= 1)
		return 0;
	/* no uninitialised padding may reach the kernel (valgrind checks it) */
	memset(&prog, 0, sizeof(prog));
	prog.len = ipv6 ? 8 : 5;
	prog.filter = ipv6 ? v6 : v4;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0)
		return -errno;
	return 0;
}

bool ternd_local_addr(int fd, struct tern_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	       ternd_addr_from_sockaddr((struct sockaddr *)&ss, a);
}

int ternd_sock_buffer(int fd, bool recv, uint32_t bytes)
{
	int v = bytes > INT_MAX / 2 ? INT_MAX / 2 : (int)bytes;
	int got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, recv ? SO_RCVBUFFORCE : SO_SNDBUFFORCE, &v, sizeof(v)) !=
	        0 &&
	    setsockopt(fd, SOL_SOCKET, recv ? SO_RCVBUF : SO_SNDBUF, &v, sizeof(v)) != 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, recv ? SO_RCVBUF : SO_SNDBUF, &got, &len) != 0)
		return -errno;
	return got / 2; /* the kernel doubles what it grants, for its own bookkeeping */
}

int64_t ternd_sock_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0)
		return -errno;
	if (len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return -ENOPROTOOPT;
	return mem[SK_MEMINFO_DROPS];
}
