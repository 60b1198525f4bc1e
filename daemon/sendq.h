/*
 * sendq.h - the send side of one worker's batch: datagrams queued while a
 * batch of inputs is processed, then sent with as few syscalls as the
 * kernel allows. Datagrams for one socket go out together in one
 * sendmmsg(2) whatever order they were queued in; consecutive equal-sized
 * datagrams to one destination become a single UDP GSO send (UDP_SEGMENT)
 * where the kernel supports it. Order is kept per destination, which is
 * all UDP promises anyway.
 */
#ifndef TERND_SENDQ_H
#define TERND_SENDQ_H

#include "tern_codec.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define TERND_SENDQ_MAX 256
#define TERND_GSO_SEGS  64 /* the kernel's UDP_MAX_SEGMENTS */

struct ternd_send {
	int fd;
	bool has_src; /* reply from a wildcard listener: set the source (PKTINFO) */
	uint32_t len;
	const uint8_t *data;
	struct tern_addr to;
	struct tern_addr src;
};

struct ternd_sendq {
	struct ternd_send item[TERND_SENDQ_MAX];
	uint32_t n;
	bool gso; /* UDP_SEGMENT usable; cleared when the kernel refuses it */
	uint32_t order[TERND_SENDQ_MAX];
	uint32_t tmp[TERND_SENDQ_MAX];
	struct mmsghdr msg[TERND_SENDQ_MAX];
	struct iovec iov[TERND_SENDQ_MAX];
	struct sockaddr_storage addr[TERND_SENDQ_MAX];
	uint8_t ctl[TERND_SENDQ_MAX][80];
	uint64_t errors;    /* datagrams the kernel refused */
	uint64_t gso_sends; /* GSO sends made */
};

void ternd_sendq_init(struct ternd_sendq *q, bool gso);
/* Queue one datagram; data must stay valid until the next flush. */
void ternd_sendq_add(struct ternd_sendq *q, int fd, const struct tern_addr *to,
                     const struct tern_addr *src, const uint8_t *data, size_t len);
static inline bool ternd_sendq_full(const struct ternd_sendq *q)
{
	return q->n >= TERND_SENDQ_MAX;
}
/* Send everything queued. */
void ternd_sendq_flush(struct ternd_sendq *q);

#endif /* TERND_SENDQ_H */
