/* sendq.c - grouping queued datagrams per socket and destination; UDP GSO. */
#define _GNU_SOURCE
#include "sendq.h"

#include "net.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define GSO_MAX_BYTES 65000u
/* segments must fit the path MTU: keep to what arrived in one Ethernet frame */
#define GSO_MAX_SEGMENT 1472u

void ternd_sendq_init(struct ternd_sendq *q, bool gso)
{
	q->n = 0;
	q->gso = gso;
	q->errors = q->gso_sends = 0;
}

void ternd_sendq_add(struct ternd_sendq *q, int fd, const struct tern_addr *to,
                     const struct tern_addr *src, const uint8_t *data, size_t len)
{
	struct ternd_send *s;

	if (ternd_sendq_full(q))
		ternd_sendq_flush(q);
	s = &q->item[q->n++];
	s->fd = fd;
	s->to = *to;
	s->has_src = src != NULL;
	if (src != NULL)
		s->src = *src;
	s->data = data;
	s->len = (uint32_t)len;
}

/* Field by field: struct padding may hold anything. */
static int addr_cmp(const struct tern_addr *a, const struct tern_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return memcmp(a->addr, b->addr, a->family == TERN_AF_IPV6 ? 16 : 4);
}

/* Order: socket, then destination (and source); ties keep queue order. */
static int compare(const struct ternd_send *a, const struct ternd_send *b)
{
	int c;

	if (a->fd != b->fd)
		return a->fd < b->fd ? -1 : 1;
	if ((c = addr_cmp(&a->to, &b->to)) != 0)
		return c;
	if (a->has_src != b->has_src)
		return a->has_src ? 1 : -1;
	return a->has_src ? addr_cmp(&a->src, &b->src) : 0;
}

/* Stable merge sort of q->order by compare(). */
static void sort_order(struct ternd_sendq *q)
{
	uint32_t *from = q->order, *to = q->tmp, *swap;

	for (uint32_t i = 0; i < q->n; i++)
		q->order[i] = i;
	for (uint32_t width = 1; width < q->n; width *= 2) {
		for (uint32_t lo = 0; lo < q->n; lo += 2 * width) {
			uint32_t mid = lo + width < q->n ? lo + width : q->n;
			uint32_t hi = lo + 2 * width < q->n ? lo + 2 * width : q->n;
			uint32_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				to[k++] = compare(&q->item[from[j]], &q->item[from[i]]) < 0
				              ? from[j++]
				              : from[i++];
			while (i < mid)
				to[k++] = from[i++];
			while (j < hi)
				to[k++] = from[j++];
		}
		swap = from, from = to, to = swap;
	}
	if (from != q->order)
		memcpy(q->order, from, q->n * sizeof(*from));
}

static size_t put_cmsg(uint8_t *at, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)(void *)at;

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	return CMSG_SPACE(len);
}

/* Control data: the source address (PKTINFO) and/or the GSO segment size. */
static size_t control(uint8_t *ctl, const struct ternd_send *s, uint16_t gso_size)
{
	size_t n = 0;

	memset(ctl, 0, 80);
	if (s->has_src && s->src.family == TERN_AF_IPV6) {
		struct in6_pktinfo pi = {0};

		memcpy(&pi.ipi6_addr, s->src.addr, 16);
		n += put_cmsg(ctl, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	} else if (s->has_src) {
		struct in_pktinfo pi = {0};

		memcpy(&pi.ipi_spec_dst, s->src.addr, 4);
		n += put_cmsg(ctl, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (gso_size != 0)
		n += put_cmsg(ctl + n, SOL_UDP, UDP_SEGMENT, &gso_size, sizeof(gso_size));
	return n;
}

/*
 * Build one message from the run of items starting at order[*at] that share
 * socket, destination and source: with GSO, as many equal-sized datagrams
 * as fit (a shorter one may close the run); without, just one.
 */
static void build(struct ternd_sendq *q, uint32_t *at, uint32_t m)
{
	const struct ternd_send *first = &q->item[q->order[*at]];
	struct msghdr *h = &q->msg[m].msg_hdr;
	uint32_t segs = 0, bytes = 0;

	memset(&q->msg[m], 0, sizeof(q->msg[m]));
	while (*at < q->n) {
		const struct ternd_send *s = &q->item[q->order[*at]];

		if (segs > 0 && (!q->gso || compare(s, first) != 0 || s->len > first->len ||
		                 first->len > GSO_MAX_SEGMENT || segs == TERND_GSO_SEGS ||
		                 bytes + s->len > GSO_MAX_BYTES))
			break;
		q->iov[*at].iov_base = (void *)(uintptr_t)s->data;
		q->iov[*at].iov_len = s->len;
		segs++;
		bytes += s->len;
		(*at)++;
		if (s->len < first->len)
			break; /* a short last segment ends a GSO send */
	}
	ternd_addr_to_sockaddr(&first->to, &q->addr[m], &h->msg_namelen);
	h->msg_name = &q->addr[m];
	h->msg_iov = &q->iov[*at - segs];
	h->msg_iovlen = segs;
	h->msg_control = q->ctl[m];
	h->msg_controllen = control(q->ctl[m], first, segs > 1 ? (uint16_t)first->len : 0);
	if (h->msg_controllen == 0)
		h->msg_control = NULL;
	if (segs > 1)
		q->gso_sends++;
}

/* sendmmsg() the messages [lo, hi) of one socket; a refused one is dropped. */
static void send_run(struct ternd_sendq *q, int fd, uint32_t lo, uint32_t hi)
{
	while (lo < hi) {
		int n = sendmmsg(fd, q->msg + lo, hi - lo, MSG_DONTWAIT);

		if (n > 0) {
			lo += (uint32_t)n;
			continue;
		}
		/* a kernel or device without UDP GSO: stop asking for it */
		if (errno == EIO || errno == ENOPROTOOPT)
			q->gso = q->gso && q->msg[lo].msg_hdr.msg_iovlen <= 1;
		q->errors += q->msg[lo].msg_hdr.msg_iovlen;
		lo++;
	}
}

void ternd_sendq_flush(struct ternd_sendq *q)
{
	uint32_t at = 0, m = 0, run = 0;

	if (q->n == 0)
		return;
	sort_order(q);
	while (at < q->n) {
		int fd = q->item[q->order[at]].fd;

		build(q, &at, m++);
		if (at == q->n || q->item[q->order[at]].fd != fd) {
			send_run(q, fd, run, m);
			run = m;
		}
	}
	q->n = 0;
}
