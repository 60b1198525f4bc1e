/*
 * worker.c - one worker's event loop: it turns datagrams into relay
 * inputs and relay actions into syscalls, in batches (recvmmsg/sendmmsg)
 * and once per loop round (every ready socket is read, the relay runs over
 * all of it, then the actions are carried out and the sends flushed), and
 * makes no protocol decision of its own (STYLE.md rule 25).
 */
#define _GNU_SOURCE
#include "worker.h"

#include "log.h"
#include "net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/*
 * Room for a full receive pool's actions and scratch, twice over: an input
 * that asks for a relay socket gets its answer appended when the OPEN is
 * carried out. Pages are touched only as far as a round uses them.
 */
#define ACTIONS_CAP (TERND_POOL * TERN_RELAY_MAX_ACTIONS * 2)
#define SCRATCH_CAP (TERND_POOL * TERN_RELAY_SCRATCH * 2)

static void *hook_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void hook_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static int fill_random(uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t got = getrandom(buf, n, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		buf += got;
		n -= (size_t)got;
	}
	return 0;
}

/*
 * The relay's CSPRNG: getrandom(2), never a seeded PRNG. Small requests
 * (a port, a token) are served from a per-worker buffer refilled a few
 * hundred bytes at a time, so an Allocate costs no extra syscall; served
 * bytes are wiped from the buffer.
 */
static int hook_entropy(void *ctx, uint8_t *buf, size_t n)
{
	struct ternd_worker *w = ctx;

	if (n > sizeof(w->rnd))
		return fill_random(buf, n);
	if (w->rnd_left < n) {
		if (fill_random(w->rnd, sizeof(w->rnd)) != 0)
			return -1;
		w->rnd_left = sizeof(w->rnd);
	}
	w->rnd_left -= n;
	memcpy(buf, w->rnd + w->rnd_left, n);
	explicit_bzero(w->rnd + w->rnd_left, n);
	return 0;
}

static void out_reset(struct ternd_worker *w)
{
	w->out.actions = w->actions;
	w->out.cap = ACTIONS_CAP;
	w->out.n = 0;
	w->out.scratch = w->scratch;
	w->out.scratch_cap = SCRATCH_CAP;
	w->out.scratch_len = 0;
}

/* ------------------------------------------------------------ sending */

static void flush_sends(struct ternd_worker *w)
{
	uint64_t errors = w->sendq.errors, gso = w->sendq.gso_sends;

	ternd_sendq_flush(&w->sendq);
	if (w->sendq.errors != errors)
		atomic_fetch_add_explicit(&w->counters->send_errors, w->sendq.errors - errors,
		                          memory_order_relaxed);
	if (w->sendq.gso_sends != gso)
		atomic_fetch_add_explicit(&w->counters->gso_sends, w->sendq.gso_sends - gso,
		                          memory_order_relaxed);
}

static void queue_send(struct ternd_worker *w, int fd, const struct tern_addr *to,
                       const struct tern_addr *from, const uint8_t *data, size_t len)
{
	if (ternd_sendq_full(&w->sendq))
		flush_sends(w);
	ternd_sendq_add(&w->sendq, fd, to, from, data, len);
}

static void send_client(struct ternd_worker *w, const struct tern_relay_action *a)
{
	const struct ternd_listener *l;

	if (a->client.transport != TERN_TRANSPORT_UDP) {
		ternd_conn_send(w, a->client.listener, a->data, a->len);
		return;
	}
	if (a->client.listener >= w->n_listeners)
		return;
	l = &w->listeners[a->client.listener];
	queue_send(w, l->fd, &a->client.client, l->wildcard ? &a->client.server : NULL, a->data,
	           a->len);
}

/* ------------------------------------------------------- relay sockets */

static struct ternd_relay_sock *sock_of(struct ternd_worker *w, uint32_t handle)
{
	struct ternd_relay_sock *s = &w->socks[handle & w->socks_mask];

	return s->handle == handle ? s : NULL;
}

static int open_result(int fd_or_err)
{
	if (fd_or_err == -EADDRINUSE || fd_or_err == -EACCES)
		return TERN_ERR_STATE; /* try another port */
	return TERN_ERR_CAPACITY;      /* descriptors, memory: 508 */
}

static void do_open(struct ternd_worker *w, const struct tern_relay_action *a)
{
	enum { V4, V6 } fam = a->peer.family == TERN_AF_IPV6 ? V6 : V4;
	struct tern_addr bind_at = w->shared->relay_bind[fam];
	struct ternd_relay_sock *s = &w->socks[a->handle & w->socks_mask];
	int result = TERN_OK;
	int fd;

	bind_at.port = a->peer.port;
	fd = s->handle != 0 ? -EMFILE
	                    : ternd_udp_socket(&bind_at, a->dont_fragment ? TERND_SOCK_DF : 0);
	if (fd >= 0 &&
	    ternd_loop_add(&w->loop, fd, POLLIN, TERND_K_RELAY, a->handle, &s->slot) != 0) {
		close(fd);
		fd = -EMFILE;
	}
	if (fd < 0) {
		result = open_result(fd);
	} else {
		s->handle = a->handle;
		s->fd = fd;
	}
	if (tern_relay_opened(w->relay, w->now, a->handle, result, &w->out) != TERN_OK)
		ternd_log(TERND_ERROR, "relay_open", "no room to report a bind result");
}

/* Deregister a relay socket that is closed next: no epoll_ctl needed. */
static void loop_remove(struct ternd_worker *w, size_t slot)
{
	struct ternd_loop_entry moved;

	if (ternd_loop_remove_closing(&w->loop, slot, &moved) == 0)
		return;
	if (moved.kind == TERND_K_RELAY)
		w->socks[moved.id & w->socks_mask].slot = slot;
	else if (moved.kind == TERND_K_CONN)
		ternd_conn_moved(w, moved.id, slot);
	else if (moved.kind == TERND_K_UDP_LISTEN || moved.kind == TERND_K_TCP_LISTEN ||
	         moved.kind == TERND_K_TLS_LISTEN)
		w->listeners[moved.id].slot = slot;
}

/* Close the relay sockets retired since the last flush. */
static void close_retired(struct ternd_worker *w)
{
	for (size_t i = 0; i < w->n_retired; i++)
		close(w->retired[i]);
	w->n_retired = 0;
}

/*
 * A relay socket stops receiving now but is closed after the next flush:
 * datagrams queued on it still go out, and its descriptor number cannot
 * come back for another socket while the queue names it.
 */
static void do_close(struct ternd_worker *w, uint32_t handle)
{
	struct ternd_relay_sock *s = sock_of(w, handle);

	if (s == NULL)
		return;
	if (w->n_retired == TERND_RETIRED_MAX) {
		flush_sends(w);
		close_retired(w);
	}
	loop_remove(w, s->slot);
	w->retired[w->n_retired++] = s->fd;
	s->handle = 0;
	s->fd = -1;
}

/* ------------------------------------------------------------ events */

static void count_error(struct ternd_worker *w, uint16_t code)
{
	static const uint16_t codes[] = {400, 401, 403, 437, 438, 441};
	size_t i = 0;

	while (i < sizeof(codes) / sizeof(codes[0]) && codes[i] != code)
		i++;
	atomic_fetch_add_explicit(&w->counters->errors_by_code[i], 1, memory_order_relaxed);
}

static void do_event(struct ternd_worker *w, const struct tern_relay_action *a)
{
	char who[64];
	_Atomic uint64_t *c = NULL;

	ternd_addr_str(&a->client.client, true, who, sizeof(who));
	switch (a->event) {
	case TERN_EV_ALLOC_CREATED:
		c = &w->counters->allocs_created;
		ternd_log(TERND_INFO, "alloc_created", "client=%s worker=%u", who, w->index);
		break;
	case TERN_EV_ALLOC_DELETED:
		c = &w->counters->allocs_deleted;
		ternd_log(TERND_INFO, "alloc_deleted", "client=%s", who);
		break;
	case TERN_EV_ALLOC_EXPIRED:
		c = &w->counters->allocs_expired;
		ternd_log(TERND_INFO, "alloc_expired", "client=%s", who);
		break;
	case TERN_EV_PORT_EXHAUSTED:
		c = &w->counters->port_exhausted;
		ternd_log(TERND_WARN, "ports_exhausted", "client=%s code=%u", who, a->code);
		break;
	case TERN_EV_AUTH_FAILED:
	case TERN_EV_ERROR_SENT:
		count_error(w, a->code);
		if (ternd_log_enabled(TERND_DEBUG))
			ternd_log(TERND_DEBUG,
			          a->event == TERN_EV_AUTH_FAILED ? "auth_failed" : "error_sent",
			          "client=%s code=%u", who, a->code);
		break;
	case TERN_EV_PERMISSION_CREATED:
	case TERN_EV_CHANNEL_BOUND:
		if (ternd_log_enabled(TERND_DEBUG))
			ternd_log(TERND_DEBUG,
			          a->event == TERN_EV_CHANNEL_BOUND ? "channel_bound"
			                                            : "permission",
			          "client=%s channel=0x%04x", who, a->code);
		break;
	}
	if (c != NULL)
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void ternd_worker_execute(struct ternd_worker *w)
{
	/* do_open appends the relay's answer, so the bound is re-read each time */
	for (size_t i = 0; i < w->out.n; i++) {
		const struct tern_relay_action *a = &w->out.actions[i];
		struct ternd_relay_sock *s;

		switch (a->kind) {
		case TERN_ACT_SEND_CLIENT:
			send_client(w, a);
			break;
		case TERN_ACT_SEND_PEER:
			if ((s = sock_of(w, a->handle)) != NULL)
				queue_send(w, s->fd, &a->peer, NULL, a->data, a->len);
			break;
		case TERN_ACT_OPEN:
			do_open(w, a);
			break;
		case TERN_ACT_CLOSE:
			do_close(w, a->handle);
			break;
		case TERN_ACT_EVENT:
			do_event(w, a);
			break;
		}
	}
	flush_sends(w);
	close_retired(w);
	out_reset(w);
	w->pool_used = 0;
}

/* Execute early unless n more inputs (and the answers to their OPENs) fit. */
static void make_room(struct ternd_worker *w, size_t n)
{
	if (w->out.cap - w->out.n < 2 * n * TERN_RELAY_MAX_ACTIONS ||
	    w->out.scratch_cap - w->out.scratch_len < 2 * n * TERN_RELAY_SCRATCH)
		ternd_worker_execute(w);
}

void ternd_worker_client_input(struct ternd_worker *w, const struct tern_relay_client *from,
                               const uint8_t *buf, size_t len)
{
	make_room(w, 1);
	if (tern_relay_client_input(w->relay, w->now, from, buf, len, &w->out) != TERN_OK)
		atomic_fetch_add_explicit(&w->counters->dropped, 1, memory_order_relaxed);
}

void ternd_worker_client_closed(struct ternd_worker *w, const struct tern_relay_client *from)
{
	make_room(w, 1);
	if (tern_relay_client_closed(w->relay, w->now, from, &w->out) != TERN_OK)
		ternd_log(TERND_ERROR, "conn_close", "no room to free a connection's allocation");
}

/* ----------------------------------------------------------- receiving */

/*
 * Room in the round's pool for one recvmmsg of TERND_BATCH datagrams, with
 * actions and scratch for all of them; when there is not, the round so far
 * is carried out first (which empties the pool). Returns where the batch
 * goes; its message headers are set up for a receive at headroom.
 */
static size_t pool_take(struct ternd_worker *w, size_t headroom)
{
	size_t base;

	if (TERND_POOL - w->pool_used < TERND_BATCH)
		ternd_worker_execute(w);
	make_room(w, TERND_BATCH);
	base = w->pool_used;
	/* the rest of each header is fixed (pool_init); recvmmsg rewrites these */
	for (size_t i = base; i < base + TERND_BATCH; i++) {
		w->riov[i].iov_base = w->rbuf[i] + headroom;
		w->rmsg[i].msg_hdr.msg_namelen = sizeof(w->raddr[i]);
		w->rmsg[i].msg_hdr.msg_controllen = sizeof(w->rctl[i]);
	}
	return base;
}

static void pool_init(struct ternd_worker *w)
{
	for (size_t i = 0; i < TERND_POOL; i++) {
		struct msghdr *h = &w->rmsg[i].msg_hdr;

		w->riov[i].iov_len = TERND_DGRAM_MAX;
		memset(h, 0, sizeof(*h));
		h->msg_name = &w->raddr[i];
		h->msg_iov = &w->riov[i];
		h->msg_iovlen = 1;
		h->msg_control = w->rctl[i];
	}
}

/* The local address a datagram arrived at, from IP_PKTINFO / IPV6_PKTINFO. */
static void local_of(struct msghdr *h, const struct ternd_listener *l, struct tern_addr *out)
{
	*out = l->ep.addr;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(out->addr, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(out->addr, &pi.ipi6_addr, 16);
		}
	}
}

/*
 * Receive into the round's pool and feed the relay; the actions are carried
 * out at the end of the round (or when the pool fills). pool_take() comes
 * first, so a batch is fed whole without the pool being emptied under it.
 */
static void drain_udp_listener(struct ternd_worker *w, uint32_t id)
{
	const struct ternd_listener *l = &w->listeners[id];

	for (int round = 0; round < 8; round++) {
		size_t base = pool_take(w, 0);
		int n = recvmmsg(l->fd, w->rmsg + base, TERND_BATCH, MSG_DONTWAIT, NULL);

		if (n <= 0)
			break;
		w->pool_used = base + (size_t)n;
		for (size_t i = base; i < w->pool_used; i++) {
			struct msghdr *h = &w->rmsg[i].msg_hdr;
			struct tern_relay_client from = {id, TERN_TRANSPORT_UDP, {0}, {0}};

			if ((h->msg_flags & MSG_TRUNC) ||
			    !ternd_addr_from_sockaddr((struct sockaddr *)h->msg_name, &from.client))
				continue;
			local_of(h, l, &from.server);
			if (tern_relay_client_input(w->relay, w->now, &from, w->rbuf[i],
			                            w->rmsg[i].msg_len, &w->out) != TERN_OK)
				atomic_fetch_add_explicit(&w->counters->dropped, 1,
				                          memory_order_relaxed);
		}
		if (n < TERND_BATCH)
			break;
	}
}

static void drain_relay(struct ternd_worker *w, uint32_t handle)
{
	for (int round = 0; round < 4; round++) {
		size_t base = pool_take(w, TERND_HEADROOM);
		/* emptying the pool carried out actions: one may have closed the socket */
		struct ternd_relay_sock *s = sock_of(w, handle);
		int n;

		if (s == NULL)
			break;
		n = recvmmsg(s->fd, w->rmsg + base, TERND_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		w->pool_used = base + (size_t)n;
		for (size_t i = base; i < w->pool_used; i++) {
			struct msghdr *h = &w->rmsg[i].msg_hdr;
			struct tern_addr peer;

			if ((h->msg_flags & MSG_TRUNC) ||
			    !ternd_addr_from_sockaddr((struct sockaddr *)h->msg_name, &peer))
				continue;
			if (tern_relay_peer_input(w->relay, w->now, handle, &peer, w->rbuf[i],
			                          TERND_HEADROOM, w->rmsg[i].msg_len,
			                          TERND_TAILROOM, &w->out) != TERN_OK)
				atomic_fetch_add_explicit(&w->counters->dropped, 1,
				                          memory_order_relaxed);
		}
		if (n < TERND_BATCH)
			break;
	}
}

/* ------------------------------------------------------------ control */

static void drain_control(struct ternd_worker *w, int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (atomic_load(&w->shared->reload_gen) != w->reload_gen) {
		struct tern_relay_config rc;

		pthread_mutex_lock(&w->shared->reload_lock);
		w->reload_gen = atomic_load(&w->shared->reload_gen);
		/* the shared config carries no hooks: each worker adds its own */
		rc = w->shared->relay_cfg;
		rc.hooks = (struct tern_relay_hooks){hook_alloc, hook_free, hook_entropy, w};
		if (tern_relay_reconfigure(w->relay, &rc) != TERN_OK)
			ternd_log(TERND_ERROR, "reload_failed", "worker=%u kept its old settings",
			          w->index);
		pthread_mutex_unlock(&w->shared->reload_lock);
	}
	if (atomic_load(&w->shared->stopping) && !w->draining) {
		w->draining = true;
		tern_relay_set_draining(w->relay, true);
	}
}

static void publish_counters(struct ternd_worker *w)
{
	struct tern_relay_stats st;
	struct ternd_counters *c = w->counters;

	tern_relay_get_stats(w->relay, &st);
	atomic_store_explicit(&c->allocations, st.allocations, memory_order_relaxed);
	atomic_store_explicit(&c->permissions, st.permissions, memory_order_relaxed);
	atomic_store_explicit(&c->channels, st.channels, memory_order_relaxed);
	atomic_store_explicit(&c->pkts_to_peer, st.pkts_to_peer, memory_order_relaxed);
	atomic_store_explicit(&c->bytes_to_peer, st.bytes_to_peer, memory_order_relaxed);
	atomic_store_explicit(&c->pkts_to_client, st.pkts_to_client, memory_order_relaxed);
	atomic_store_explicit(&c->bytes_to_client, st.bytes_to_client, memory_order_relaxed);
	atomic_store_explicit(&c->auth_failures, st.auth_failures, memory_order_relaxed);
	atomic_store_explicit(&c->errors_sent, st.errors_sent, memory_order_relaxed);
	for (size_t i = 0; i < TERN_DROP_REASONS; i++)
		atomic_store_explicit(&c->relay_drops[i], st.drops[i], memory_order_relaxed);
}

static void handle_ready(struct ternd_worker *w, const struct ternd_loop_event *e)
{
	switch ((enum ternd_kind)e->kind) {
	case TERND_K_UDP_LISTEN:
		drain_udp_listener(w, e->id);
		break;
	case TERND_K_TCP_LISTEN:
	case TERND_K_TLS_LISTEN:
		ternd_conns_accept(w, &w->listeners[e->id]);
		break;
	case TERND_K_RELAY:
		drain_relay(w, e->id);
		break;
	case TERND_K_CONN:
		ternd_conn_event(w, e->id, e->revents);
		ternd_worker_execute(w);
		break;
	case TERND_K_CONTROL:
		drain_control(w, w->control_fd);
		break;
	}
}

/*
 * Datagrams the kernel dropped at this worker's UDP listeners because their
 * receive buffers were full (a stalled or overloaded worker): counted, and
 * logged at most once a second while it goes on.
 */
static void check_udp_drops(struct ternd_worker *w)
{
	uint64_t total = 0;

	for (size_t i = 0; i < w->n_listeners; i++) {
		int64_t d;

		if (w->listeners[i].ep.transport != TERN_TRANSPORT_UDP)
			continue;
		d = ternd_sock_drops(w->listeners[i].fd);
		if (d > 0)
			total += (uint64_t)d;
	}
	if (total <= w->udp_drops)
		return;
	ternd_log(TERND_WARN, "udp_drops",
	          "worker=%u dropped=%" PRIu64 " total=%" PRIu64
	          " (receive buffer full; see udp-recv-buffer)",
	          w->index, total - w->udp_drops, total);
	w->udp_drops = total;
	atomic_store_explicit(&w->counters->udp_kernel_drops, total, memory_order_relaxed);
}

/*
 * Draining ends at the deadline, or once no worker has an allocation left.
 * A worker whose own allocations are gone keeps serving (508 to new ones)
 * until then: closing its listeners would shrink the SO_REUSEPORT group,
 * and the kernel would then hash other workers' clients to other sockets,
 * cutting off allocations that are still draining.
 */
static bool drain_done(struct ternd_worker *w)
{
	struct ternd_shared *sh = w->shared;
	struct tern_relay_stats st;

	tern_relay_get_stats(w->relay, &st);
	if (st.allocations == 0 && !w->drained) {
		/* allocations cannot come back while draining (new ones get 508) */
		w->drained = true;
		if (atomic_fetch_add(&sh->drained, 1) + 1 == sh->workers)
			for (unsigned i = 0; i < sh->workers; i++)
				(void)!write(sh->wake_fd[i], "d", 1);
	}
	return atomic_load(&sh->drained) >= sh->workers || w->now >= sh->stop_deadline;
}

/* poll() timeout from the relay's next deadline, connection timers and held log lines. */
static int next_timeout(struct ternd_worker *w, uint64_t conn_deadline, int log_due_ms)
{
	uint64_t when = tern_relay_next_deadline(w->relay);

	if (log_due_ms >= 0 && w->now + (uint64_t)log_due_ms < when)
		when = w->now + (uint64_t)log_due_ms;

	if (conn_deadline < when)
		when = conn_deadline;
	if (when <= w->now)
		return 0;
	/* at least once a second: counters and the drain check */
	return when - w->now > 1000 ? 1000 : (int)(when - w->now);
}

static void run(struct ternd_worker *w)
{
	uint64_t conn_deadline = UINT64_MAX;
	uint64_t last_publish = 0;

	for (;;) {
		int n, log_due_ms;

		/* log lines go out within TERND_LOG_HOLD_MS, not a write(2) per round */
		log_due_ms = ternd_log_flush_due();
		n = ternd_loop_wait(&w->loop, next_timeout(w, conn_deadline, log_due_ms), w->events,
		                    TERND_EVENTS);

		w->now = ternd_now_ms();
		/* an event may name a socket an earlier one closed: handlers check */
		for (int i = 0; i < n; i++)
			handle_ready(w, &w->events[i]);
		/* the round's actions, and one flush of its sends */
		ternd_worker_execute(w);
		while (tern_relay_next_deadline(w->relay) <= w->now) {
			bool more = tern_relay_tick(w->relay, w->now, &w->out) == TERN_OK &&
			            w->out.n > 0 && tern_relay_next_deadline(w->relay) <= w->now;

			ternd_worker_execute(w);
			if (!more)
				break;
		}
		conn_deadline = ternd_conns_expire(w);
		ternd_worker_execute(w);
		/* a few relaxed stores per wake-up, not per packet: gauges stay current */
		publish_counters(w);
		if (w->now - last_publish >= 1000) {
			tern_relay_set_unix_time(w->relay, w->now, ternd_unix_ms());
			check_udp_drops(w);
			last_publish = w->now;
		}
		if (w->draining && drain_done(w))
			break;
	}
}

/* ------------------------------------------------------------- set-up */

/* udp-recv-buffer, udp-send-buffer: worker 0 says when the kernel gave less. */
static void listener_buffers(struct ternd_worker *w, const struct ternd_listener *l)
{
	const uint32_t want[2] = {w->shared->udp_rcvbuf, w->shared->udp_sndbuf};

	for (int i = 0; i < 2; i++) {
		char where[64];
		int got;

		if (want[i] == 0)
			continue;
		got = ternd_sock_buffer(l->fd, i == 0, want[i]);
		if (w->index == 0 && (got < 0 || (uint32_t)got < want[i]))
			ternd_log(TERND_WARN, "udp_buffer", "%s %s: asked for %u bytes, %s %d%s",
			          i == 0 ? "udp-recv-buffer" : "udp-send-buffer",
			          ternd_addr_str(&l->ep.addr, true, where, sizeof(where)), want[i],
			          got < 0 ? "error" : "got", got < 0 ? -got : got,
			          got < 0  ? ""
			          : i == 0 ? " (net.core.rmem_max)"
			                   : " (net.core.wmem_max)");
	}
}

static int open_listener(struct ternd_worker *w, const struct ternd_endpoint *ep)
{
	struct ternd_listener *l = &w->listeners[w->n_listeners];
	uint32_t id = (uint32_t)w->n_listeners;
	bool udp = ep->transport == TERN_TRANSPORT_UDP;
	int flags = TERND_SOCK_REUSEPORT;
	uint8_t kind =
	    udp ? TERND_K_UDP_LISTEN
	        : (ep->transport == TERN_TRANSPORT_TLS ? TERND_K_TLS_LISTEN : TERND_K_TCP_LISTEN);
	char where[64];

	l->ep = *ep;
	l->wildcard = ternd_addr_is_any(&ep->addr);
	if (udp && l->wildcard)
		flags |= TERND_SOCK_PKTINFO;
	l->fd =
	    udp ? ternd_udp_socket(&ep->addr, flags) : ternd_tcp_listener(&ep->addr, flags, 512);
	if (l->fd < 0) {
		ternd_log(TERND_ERROR, "listen_failed", "%s %s: %s", udp ? "udp" : "tcp",
		          ternd_addr_str(&ep->addr, true, where, sizeof(where)), strerror(-l->fd));
		return -1;
	}
	if (udp)
		listener_buffers(w, l);
	if (ternd_reuseport_steer(l->fd, ep->addr.family == TERN_AF_IPV6, w->shared->workers) != 0)
		ternd_log(TERND_WARN, "reuseport_steer", "clients spread by 4-tuple hash instead");
	if (ternd_loop_add(&w->loop, l->fd, POLLIN, kind, id, &l->slot) != 0) {
		close(l->fd);
		return -1;
	}
	w->n_listeners++;
	return 0;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p *= 2;
	return p;
}

static int setup(struct ternd_worker *w, const struct ternd_worker_arg *arg)
{
	struct tern_relay_config rc = arg->shared->relay_cfg;
	size_t max = rc.max_allocations;
	size_t nsocks = pow2_at_least(4 * max);
	size_t slot;

	w->index = arg->index;
	w->shared = arg->shared;
	w->counters = &arg->shared->counters[arg->index];
	ternd_sendq_init(&w->sendq, true);
	w->max_conns = arg->shared->max_connections;
	rc.hooks = (struct tern_relay_hooks){hook_alloc, hook_free, hook_entropy, w};
	w->reload_gen = atomic_load(&arg->shared->reload_gen);
	w->actions = calloc(ACTIONS_CAP, sizeof(*w->actions));
	w->scratch = malloc(SCRATCH_CAP);
	w->rbuf = malloc(TERND_POOL * sizeof(*w->rbuf));
	w->socks = calloc(nsocks, sizeof(*w->socks));
	w->socks_mask = nsocks - 1;
	if (!w->actions || !w->scratch || !w->rbuf || !w->socks ||
	    ternd_loop_init(&w->loop, nsocks + w->max_conns + 3 * TERND_MAX_LISTEN + 1,
	                    arg->shared->loop_backend) != 0 ||
	    ternd_conns_init(w) != 0 || tern_relay_create(&rc, &w->relay) != TERN_OK)
		return -1;
	out_reset(w);
	pool_init(w);
	tern_relay_set_unix_time(w->relay, ternd_now_ms(), ternd_unix_ms());
	w->control_fd = arg->control_fd;
	if (ternd_loop_add(&w->loop, arg->control_fd, POLLIN, TERND_K_CONTROL, 0, &slot) != 0)
		return -1;
	for (size_t i = 0; i < w->shared->n_endpoints; i++)
		if (open_listener(w, &w->shared->endpoints[i]) != 0)
			return -1;
	return 0;
}

static void teardown(struct ternd_worker *w)
{
	close_retired(w);
	for (size_t i = 0; w->socks != NULL && i <= w->socks_mask; i++)
		if (w->socks[i].handle != 0)
			close(w->socks[i].fd);
	for (size_t i = 0; i < w->n_listeners; i++)
		close(w->listeners[i].fd);
	ternd_conns_free(w);
	tern_relay_destroy(w->relay);
	ternd_loop_free(&w->loop);
	free(w->actions);
	free(w->scratch);
	free(w->rbuf);
	free(w->socks);
}

/*
 * Serve nothing until every worker has bound its listeners: each new socket
 * in an SO_REUSEPORT group changes which socket the kernel hashes a client
 * to, so a client served early by one worker would find its next datagram
 * on another worker, which has no allocation for it. main() wakes the
 * workers once all are ready, or sets stopping if one failed.
 */
static bool wait_for_start(const struct ternd_worker_arg *arg)
{
	struct pollfd p = {arg->control_fd, POLLIN, 0};

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	return !atomic_load(&arg->shared->stopping);
}

void *ternd_worker_main(void *argp)
{
	const struct ternd_worker_arg *arg = argp;
	struct ternd_worker *w = calloc(1, sizeof(*w));
	char status = 1;

	if (w != NULL && setup(w, arg) == 0)
		status = 0;
	(void)!write(arg->ready_fd, &status, 1);
	/* allocation events cost no write(2) each: lines go out at most 100 ms late */
	ternd_log_buffered(true);
	if (status == 0 && wait_for_start(arg))
		run(w);
	if (w != NULL)
		teardown(w);
	free(w);
	ternd_log_buffered(false);
	return NULL;
}
