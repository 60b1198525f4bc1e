/*
 * tern-echo - the floor a UDP relay is measured against: a one-socket,
 * one-thread UDP echo server. A relay does one receive and one send per
 * relayed packet; so does this, with nothing in between, so its busy time
 * per packet is what the kernel alone costs.
 *
 * usage: tern-echo --port P [--ip A] [--gso] [--timeout S]
 *   plain  blocking recvmmsg(MSG_WAITFORONE) of up to 64 datagrams, then
 *          one sendmmsg back to their sources
 *   --gso  the same with UDP GRO on receives (UDP_GRO: the kernel hands
 *          over a train of equal-sized datagrams as one buffer) and UDP GSO
 *          on sends (UDP_SEGMENT: one send of the buffer, cut back into
 *          the same datagrams); prints whether the kernel supports both
 * It exits after --timeout seconds (default 3600) or on SIGTERM/SIGINT, and
 * then prints how many datagrams it echoed and in how many receives.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define BATCH     64u
#define GRO_BATCH 16u
#define DGRAM_MAX 2048u
#define GRO_MAX   65536u

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct echo {
	int fd;
	bool gso;
	unsigned batch;
	size_t bufsz;
	uint8_t *buf;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage names[BATCH];
	uint8_t ctl[BATCH][CMSG_SPACE(sizeof(int))];
	uint64_t dgrams, segs, recvs;
};

static int open_socket(const char *ip, uint16_t port, bool gso, bool *gro_ok, bool *gso_ok)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 4 << 20, one = 1, zero = 0, seg = 1000;
	struct timeval tv = {1, 0};

	if (fd < 0 || inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	/* wake up once a second to look at the stop flag and the timeout */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* a socket-wide segment size probes UDP_SEGMENT; per-send cmsgs set the real one */
	*gso_ok = gso && setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg)) == 0 &&
	          setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	*gro_ok = gso && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	/* GRO without GSO would hand over trains this form cannot send back */
	if (*gro_ok && !*gso_ok)
		(void)setsockopt(fd, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void prepare(struct echo *e)
{
	for (unsigned j = 0; j < e->batch; j++) {
		struct msghdr *h = &e->msgs[j].msg_hdr;

		e->iov[j].iov_base = e->buf + j * e->bufsz;
		e->iov[j].iov_len = e->bufsz;
		memset(h, 0, sizeof(*h));
		h->msg_name = &e->names[j];
		h->msg_namelen = sizeof(e->names[j]);
		h->msg_iov = &e->iov[j];
		h->msg_iovlen = 1;
		if (e->gso) {
			h->msg_control = e->ctl[j];
			h->msg_controllen = sizeof(e->ctl[j]);
		}
	}
}

/* Turn a GRO receive's control data into a GSO send's: same segment size. */
static void gro_to_gso(struct echo *e, unsigned j, size_t len)
{
	struct msghdr *h = &e->msgs[j].msg_hdr;
	struct cmsghdr *c = h->msg_controllen ? CMSG_FIRSTHDR(h) : NULL;
	int seg = 0;
	uint16_t s16;

	for (; c != NULL; c = CMSG_NXTHDR(h, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
	h->msg_control = NULL;
	h->msg_controllen = 0;
	if (seg <= 0 || (size_t)seg >= len) {
		e->segs++;
		return;
	}
	e->segs += (len + (size_t)seg - 1) / (size_t)seg;
	s16 = (uint16_t)seg;
	h->msg_control = e->ctl[j];
	h->msg_controllen = CMSG_SPACE(sizeof(s16));
	c = CMSG_FIRSTHDR(h);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(s16));
	memcpy(CMSG_DATA(c), &s16, sizeof(s16));
}

static void echo_once(struct echo *e)
{
	int n, sent = 0;

	prepare(e);
	n = recvmmsg(e->fd, e->msgs, e->batch, MSG_WAITFORONE, NULL);
	if (n <= 0)
		return;
	e->recvs++;
	e->dgrams += (unsigned)n;
	for (int j = 0; j < n; j++) {
		e->iov[j].iov_len = e->msgs[j].msg_len;
		if (e->gso)
			gro_to_gso(e, (unsigned)j, e->msgs[j].msg_len);
		else
			e->segs++;
	}
	while (sent < n) {
		int r = sendmmsg(e->fd, e->msgs + sent, (unsigned)(n - sent), 0);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break; /* drop the rest, like a relay would */
		}
		sent += r;
	}
}

static int parse_args(int argc, char **argv, const char **ip, uint16_t *port, bool *gso,
                      double *timeout)
{
	static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
	                                     {"ip", required_argument, NULL, 'i'},
	                                     {"gso", no_argument, NULL, 'g'},
	                                     {"timeout", required_argument, NULL, 't'},
	                                     {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "p:i:gt:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			*port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			*ip = optarg;
			break;
		case 'g':
			*gso = true;
			break;
		case 't':
			*timeout = strtod(optarg, NULL);
			break;
		default:
			return -1;
		}
	}
	return *port == 0 || *timeout <= 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct echo e;
	const char *ip = "127.0.0.1";
	uint16_t port = 0;
	bool gso = false, gro_ok = false, gso_ok = false;
	double timeout = 3600;
	time_t end;

	if (parse_args(argc, argv, &ip, &port, &gso, &timeout) != 0) {
		fprintf(stderr, "usage: tern-echo --port P [--ip A] [--gso] [--timeout S]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	e.fd = open_socket(ip, port, gso, &gro_ok, &gso_ok);
	if (e.fd < 0) {
		fprintf(stderr, "tern-echo: cannot bind %s:%u: %s\n", ip, port, strerror(errno));
		return 1;
	}
	e.gso = gro_ok && gso_ok;
	e.batch = e.gso ? GRO_BATCH : BATCH;
	e.bufsz = e.gso ? GRO_MAX : DGRAM_MAX;
	e.buf = malloc(e.batch * e.bufsz);
	if (e.buf == NULL)
		return 1;
	fprintf(stderr, "tern-echo: %s:%u form=%s udp_gro=%d udp_segment=%d\n", ip, port,
	        e.gso ? "gso" : "plain", gro_ok, gso_ok);
	end = time(NULL) + (time_t)timeout;
	while (!stop && time(NULL) < end)
		echo_once(&e);
	fprintf(stderr,
	        "tern-echo: datagrams=%" PRIu64 " segments=%" PRIu64 " receives=%" PRIu64
	        " segments_per_receive=%.2f\n",
	        e.dgrams, e.segs, e.recvs, e.recvs ? (double)e.segs / (double)e.recvs : 0);
	free(e.buf);
	close(e.fd);
	return 0;
}
