/* net.h - socket helpers and conversions between sockaddr and struct tern_addr. */
#ifndef TERND_NET_H
#define TERND_NET_H

#include "tern_codec.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

void ternd_addr_to_sockaddr(const struct tern_addr *a, struct sockaddr_storage *ss, socklen_t *len);
/* false for a family other than AF_INET/AF_INET6. */
bool ternd_addr_from_sockaddr(const struct sockaddr *sa, struct tern_addr *a);
/* "192.0.2.1:3478" or "[2001:db8::1]:3478" (port omitted when with_port is false). */
const char *ternd_addr_str(const struct tern_addr *a, bool with_port, char *buf, size_t cap);
/* An IPv4 or IPv6 literal; port 0. */
bool ternd_addr_parse(const char *text, struct tern_addr *a);
bool ternd_addr_is_any(const struct tern_addr *a);
/* Monotonic milliseconds (the relay's `now`). */
uint64_t ternd_now_ms(void);
/* Unix time in milliseconds. */
uint64_t ternd_unix_ms(void);

enum {
	TERND_SOCK_REUSEPORT = 1, /* SO_REUSEPORT: one socket per worker */
	TERND_SOCK_PKTINFO = 2,   /* learn the local address of each datagram */
	TERND_SOCK_DF = 4,        /* IP_PMTUDISC_DO: set DF on every datagram */
};
/* Non-blocking UDP socket bound to addr; returns fd or -errno. */
int ternd_udp_socket(const struct tern_addr *addr, int flags);
/* Non-blocking listening TCP socket; returns fd or -errno. */
int ternd_tcp_listener(const struct tern_addr *addr, int flags, int backlog);
/*
 * Steer a SO_REUSEPORT group by the client's source address: every flow
 * from one client IP lands on the same one of the group's n sockets (and so
 * one worker), whatever its port. A client's allocations then share a
 * worker, which a RESERVATION-TOKEN (RTP then RTCP) needs. 0 or -errno.
 */
int ternd_reuseport_steer(int fd, bool ipv6, unsigned n);
/* The local address a socket is bound to. */
bool ternd_local_addr(int fd, struct tern_addr *a);
/*
 * Ask for a receive (recv) or send buffer of bytes. As root the FORCE
 * variant passes the kernel's cap (net.core.rmem_max, wmem_max); otherwise
 * the kernel clamps to it. Returns the size granted, or -errno.
 */
int ternd_sock_buffer(int fd, bool recv, uint32_t bytes);
/* Datagrams the kernel has dropped on fd (SO_MEMINFO), or -errno. */
int64_t ternd_sock_drops(int fd);

#endif /* TERND_NET_H */
