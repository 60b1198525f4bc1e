/*
 * metrics.c - the Prometheus endpoint: GET /metrics returns every worker
 * counter summed, in the text exposition format. It runs in the main
 * thread, one short connection at a time, with a receive timeout.
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct metric {
	const char *name;
	const char *type;
	const char *help;
	size_t offset;
};

#define M(field, type, help)                                                                       \
	{                                                                                          \
		"tern_" #field, type, help, offsetof(struct ternd_counters, field)                 \
	}

static const struct metric metrics[] = {
    M(allocations, "gauge", "Allocations now active"),
    M(permissions, "gauge", "Permissions now installed"),
    M(channels, "gauge", "Channel bindings now held"),
    M(pkts_to_peer, "counter", "Datagrams relayed from clients to peers"),
    M(bytes_to_peer, "counter", "Payload bytes relayed from clients to peers"),
    M(pkts_to_client, "counter", "Datagrams relayed from peers to clients"),
    M(bytes_to_client, "counter", "Payload bytes relayed from peers to clients"),
    M(auth_failures, "counter", "Requests that failed authentication (401, 438, 441)"),
    M(errors_sent, "counter", "STUN error responses sent"),
    M(allocs_created, "counter", "Allocations created"),
    M(allocs_expired, "counter", "Allocations that expired"),
    M(allocs_deleted, "counter", "Allocations deleted by Refresh 0 or a closed connection"),
    M(port_exhausted, "counter", "Allocate requests refused for lack of relay ports"),
    M(tcp_connections, "counter", "TCP and TLS connections accepted"),
    M(tcp_rejected, "counter", "TCP and TLS connections refused (limit)"),
    M(send_errors, "counter", "Datagrams the kernel refused to send"),
    M(recv_errors, "counter", "Receive errors"),
    M(gso_sends, "counter", "UDP GSO sends (several datagrams in one syscall)"),
    M(udp_kernel_drops, "counter",
      "Datagrams the kernel dropped at the UDP listeners (receive buffer full)"),
};

static uint64_t sum(const struct ternd_shared *sh, size_t offset)
{
	uint64_t total = 0;

	for (unsigned w = 0; w < sh->workers; w++) {
		const _Atomic uint64_t *v =
		    (const _Atomic uint64_t *)(const void *)((const char *)&sh->counters[w] +
		                                             offset);

		total += atomic_load_explicit(v, memory_order_relaxed);
	}
	return total;
}

/* Append printf output at n; n may pass cap, and then nothing more is written. */
static size_t put(char *buf, size_t n, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t put(char *buf, size_t n, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (n >= cap)
		return n;
	va_start(ap, fmt);
	k = vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
	return k < 0 ? cap : n + (size_t)k;
}

/* tern_drops_by_reason: the relay's reasons (enum tern_relay_drop) and the daemon's own. */
static size_t format_drops(const struct ternd_shared *sh, char *buf, size_t n, size_t cap)
{
	static const char *const reasons[TERN_DROP_REASONS] = {
	    [TERN_DROP_MALFORMED] = "malformed",
	    [TERN_DROP_UNHANDLED] = "unhandled",
	    [TERN_DROP_NO_ALLOCATION] = "no_allocation",
	    [TERN_DROP_NO_PERMISSION] = "no_permission",
	    [TERN_DROP_DENIED_PEER] = "denied_peer",
	    [TERN_DROP_BANDWIDTH] = "bandwidth",
	    [TERN_DROP_RATE_LIMITED] = "rate_limited",
	    [TERN_DROP_OVERFLOW] = "overflow",
	};
	uint64_t own = sum(sh, offsetof(struct ternd_counters, dropped)), total = own;

	n = put(buf, n, cap,
	        "# HELP tern_drops_by_reason Datagrams and frames dropped, by reason\n"
	        "# TYPE tern_drops_by_reason counter\n");
	for (size_t i = 0; i < TERN_DROP_REASONS; i++) {
		uint64_t v = sum(sh, offsetof(struct ternd_counters, relay_drops) +
		                         i * sizeof(_Atomic uint64_t));

		total += v;
		n = put(buf, n, cap, "tern_drops_by_reason{reason=\"%s\"} %llu\n", reasons[i],
		        (unsigned long long)v);
	}
	n = put(buf, n, cap, "tern_drops_by_reason{reason=\"daemon\"} %llu\n",
	        (unsigned long long)own);
	return put(buf, n, cap,
	           "# HELP tern_dropped Datagrams and frames dropped (the sum of the reasons)\n"
	           "# TYPE tern_dropped counter\ntern_dropped %llu\n",
	           (unsigned long long)total);
}

/* tern_conn_closed: TCP and TLS client connections closed, by reason. */
static size_t format_closes(const struct ternd_shared *sh, char *buf, size_t n, size_t cap)
{
	n = put(buf, n, cap,
	        "# HELP tern_conn_closed TCP and TLS client connections closed, by reason\n"
	        "# TYPE tern_conn_closed counter\n");
	for (size_t i = 0; i < TERND_CLOSE_REASONS; i++)
		n = put(buf, n, cap, "tern_conn_closed{reason=\"%s\"} %llu\n",
		        ternd_close_reason_names[i],
		        (unsigned long long)sum(sh, offsetof(struct ternd_counters, conn_closed) +
		                                        i * sizeof(_Atomic uint64_t)));
	return n;
}

size_t ternd_metrics_format(const struct ternd_shared *sh, char *buf, size_t cap)
{
	static const char *const codes[] = {"400", "401", "403", "437", "438", "441", "other"};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
		                      metrics[i].name, metrics[i].help, metrics[i].name,
		                      metrics[i].type, metrics[i].name,
		                      (unsigned long long)sum(sh, metrics[i].offset));
	n = format_drops(sh, buf, n, cap);
	n = format_closes(sh, buf, n, cap);
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n,
		                      "# HELP tern_errors_by_code STUN errors sent, by code\n"
		                      "# TYPE tern_errors_by_code counter\n");
	for (size_t c = 0; c < 7 && n < cap; c++)
		n += (size_t)snprintf(
		    buf + n, cap - n, "tern_errors_by_code{code=\"%s\"} %llu\n", codes[c],
		    (unsigned long long)sum(sh, offsetof(struct ternd_counters, errors_by_code) +
		                                    c * sizeof(_Atomic uint64_t)));
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n,
		                      "# TYPE tern_workers gauge\ntern_workers %u\n", sh->workers);
	return n < cap ? n : cap;
}

void ternd_metrics_serve(const struct ternd_shared *sh, int fd)
{
	struct timeval tv = {1, 0};
	char req[2048], body[16384], head[256];
	ssize_t got;
	size_t len;
	int hl;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	got = recv(fd, req, sizeof(req) - 1, 0);
	if (got <= 0) {
		close(fd);
		return;
	}
	req[got] = '\0';
	if (strncmp(req, "GET /metrics", 12) != 0) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";

		(void)!send(fd, nf, sizeof(nf) - 1, MSG_NOSIGNAL);
		close(fd);
		return;
	}
	len = ternd_metrics_format(sh, body, sizeof(body));
	hl = snprintf(head, sizeof(head),
	              "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	              "Content-Length: %zu\r\n\r\n",
	              len);
	(void)!send(fd, head, (size_t)hl, MSG_NOSIGNAL);
	(void)!send(fd, body, len, MSG_NOSIGNAL);
	close(fd);
}
