/*
 * conn.c - TCP and TLS client connections: non-blocking accept and TLS
 * handshake, stream reframing with the codec's framer (RFC 8656 §12.5,
 * RFC 6062), bounded buffers, and timeouts. A connection that closes takes
 * its allocation with it (RFC 8656 §3.7).
 */
#define _GNU_SOURCE
#include "log.h"
#include "net.h"
#include "stream.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_MAX         (256u * 1024u) /* more queued than this: drop, like UDP would */
#define SWEEP_MS        1000u
#define ACCEPT_PAUSE_MS 100u

struct ternd_conn {
	uint32_t id;
	int fd;
	size_t slot;
	SSL *ssl; /* NULL for plain TCP */
	bool handshaking;
	bool got_frame;
	struct tern_relay_client from;
	struct ternd_stream in; /* reframes the input (stream.c) */
	uint8_t *out;
	size_t out_len, out_cap;
	uint64_t active;  /* last byte in or out */
	uint64_t created; /* accept time */
	uint64_t partial; /* since when an incomplete frame has waited */
	bool unframeable; /* the input cannot be framed: closing */
};

static uint64_t idle_ms(const struct ternd_worker *w)
{
	return w->shared->conn_idle_ms;
}

int ternd_conns_init(struct ternd_worker *w)
{
	w->conns = calloc(w->max_conns ? w->max_conns : 1, sizeof(*w->conns));
	return w->conns == NULL ? -1 : 0;
}

static struct ternd_conn *conn_of(struct ternd_worker *w, uint32_t id)
{
	uint32_t i = id - TERND_CONN_ID_BASE;

	return id >= TERND_CONN_ID_BASE && i < w->max_conns ? w->conns[i] : NULL;
}

void ternd_conn_moved(struct ternd_worker *w, uint32_t id, size_t slot)
{
	struct ternd_conn *c = conn_of(w, id);

	if (c != NULL)
		c->slot = slot;
}

static void conn_destroy(struct ternd_worker *w, struct ternd_conn *c)
{
	struct ternd_loop_entry moved;

	if (ternd_loop_remove(&w->loop, c->slot, &moved) != 0) {
		if (moved.kind == TERND_K_CONN)
			ternd_conn_moved(w, moved.id, c->slot);
		else if (moved.kind == TERND_K_RELAY)
			w->socks[moved.id & w->socks_mask].slot = c->slot;
		else if (moved.kind != TERND_K_CONTROL)
			w->listeners[moved.id].slot = c->slot;
	}
	if (c->ssl != NULL) {
		/* a close_notify only on a finished handshake; and whatever it
		 * leaves on this thread's error queue must not reach the next
		 * connection's SSL_get_error() */
		if (SSL_is_init_finished(c->ssl))
			(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	close(c->fd);
	w->conns[c->id - TERND_CONN_ID_BASE] = NULL;
	w->n_conns--;
	ternd_stream_free(&c->in);
	free(c->out);
	free(c);
}

const char *const ternd_close_reason_names[TERND_CLOSE_REASONS] = {
    [TERND_CLOSE_PEER] = "peer_closed",   [TERND_CLOSE_IDLE] = "idle",
    [TERND_CLOSE_SLOW] = "too_slow",      [TERND_CLOSE_TLS] = "tls_failed",
    [TERND_CLOSE_ERROR] = "socket_error", [TERND_CLOSE_FRAMING] = "unframeable",
};

/* Close: the relay frees the allocation on this 5-tuple first. */
static void conn_close(struct ternd_worker *w, struct ternd_conn *c, enum ternd_close_reason why)
{
	char who[64];

	atomic_fetch_add_explicit(&w->counters->conn_closed[why], 1, memory_order_relaxed);
	if (ternd_log_enabled(TERND_DEBUG))
		ternd_log(TERND_DEBUG, "conn_closed", "client=%s reason=%s",
		          ternd_addr_str(&c->from.client, true, who, sizeof(who)),
		          ternd_close_reason_names[why]);
	ternd_worker_client_closed(w, &c->from);
	ternd_worker_execute(w);
	conn_destroy(w, c);
}

void ternd_conns_free(struct ternd_worker *w)
{
	for (uint32_t i = 0; w->conns != NULL && i < w->max_conns; i++) {
		struct ternd_conn *c = w->conns[i];

		if (c == NULL)
			continue;
		if (c->ssl != NULL)
			SSL_free(c->ssl);
		close(c->fd);
		ternd_stream_free(&c->in);
		free(c->out);
		free(c);
	}
	free(w->conns);
	w->conns = NULL;
}

static uint32_t free_index(const struct ternd_worker *w)
{
	for (uint32_t i = 0; i < w->max_conns; i++)
		if (w->conns[i] == NULL)
			return i;
	return UINT32_MAX;
}

static struct ternd_conn *conn_new(struct ternd_worker *w, int fd, const struct ternd_listener *l,
                                   const struct tern_addr *peer)
{
	uint32_t i = free_index(w);
	struct ternd_conn *c = i == UINT32_MAX ? NULL : calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->id = TERND_CONN_ID_BASE + i;
	c->fd = fd;
	c->from.listener = c->id;
	c->from.transport = l->ep.transport;
	c->from.client = *peer;
	if (!ternd_local_addr(fd, &c->from.server))
		c->from.server = l->ep.addr;
	c->active = c->created = c->partial = w->now;
	if (l->ep.transport == TERN_TRANSPORT_TLS) {
		pthread_mutex_lock(&w->shared->reload_lock);
		c->ssl = w->shared->tls ? SSL_new(w->shared->tls) : NULL;
		pthread_mutex_unlock(&w->shared->reload_lock);
		c->handshaking = true;
	}
	if (ternd_stream_init(&c->in) != 0 ||
	    (l->ep.transport == TERN_TRANSPORT_TLS &&
	     (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1)) ||
	    ternd_loop_add(&w->loop, fd, POLLIN, TERND_K_CONN, c->id, &c->slot) != 0) {
		if (c->ssl != NULL)
			SSL_free(c->ssl);
		ternd_stream_free(&c->in);
		free(c);
		return NULL;
	}
	if (c->ssl != NULL)
		SSL_set_accept_state(c->ssl);
	w->conns[i] = c;
	w->n_conns++;
	return c;
}

/*
 * Out of descriptors: the pending connection stays queued and the listener
 * stays readable, so poll() would spin. Stop listening for a moment; the
 * sweep in ternd_conns_expire() turns it back on.
 */
static void pause_accepting(struct ternd_worker *w)
{
	for (size_t i = 0; i < w->n_listeners; i++)
		if (w->listeners[i].ep.transport != TERN_TRANSPORT_UDP)
			ternd_loop_set_events(&w->loop, w->listeners[i].slot, 0);
	w->accept_paused_until = w->now + ACCEPT_PAUSE_MS;
	ternd_log(TERND_WARN, "accept_paused", "out of file descriptors; worker=%u", w->index);
}

static void resume_accepting(struct ternd_worker *w)
{
	for (size_t i = 0; i < w->n_listeners; i++)
		if (w->listeners[i].ep.transport != TERN_TRANSPORT_UDP)
			ternd_loop_set_events(&w->loop, w->listeners[i].slot, POLLIN);
	w->accept_paused_until = 0;
}

void ternd_conns_accept(struct ternd_worker *w, const struct ternd_listener *l)
{
	for (int n = 0; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tern_addr peer;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				pause_accepting(w);
			return; /* EAGAIN: nothing more waiting */
		}
		if (w->draining || w->n_conns >= w->max_conns ||
		    !ternd_addr_from_sockaddr((struct sockaddr *)&ss, &peer) ||
		    conn_new(w, fd, l, &peer) == NULL) {
			atomic_fetch_add_explicit(&w->counters->tcp_rejected, 1,
			                          memory_order_relaxed);
			close(fd);
			continue;
		}
		atomic_fetch_add_explicit(&w->counters->tcp_connections, 1, memory_order_relaxed);
	}
}

/* ------------------------------------------------------------- I/O */

/* Read or write through TLS or plain TCP; *n bytes moved on TERND_IO_DONE. */
static enum ternd_io conn_io(struct ternd_conn *c, bool writing, void *buf, size_t len, size_t *n)
{
	ssize_t r;

	if (c->ssl != NULL)
		return ternd_tls_io(c->ssl, writing, buf, len, n);
	r = writing ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
	if (r > 0) {
		*n = (size_t)r;
		return TERND_IO_DONE;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return TERND_IO_AGAIN;
	return TERND_IO_CLOSED;
}

static void want_events(struct ternd_worker *w, struct ternd_conn *c)
{
	short ev = POLLIN;

	if (c->out_len > 0 || (c->ssl != NULL && SSL_want_write(c->ssl)))
		ev |= POLLOUT;
	ternd_loop_set_events(&w->loop, c->slot, ev);
}

static enum ternd_io flush_out(struct ternd_conn *c)
{
	size_t off = 0;
	enum ternd_io st = TERND_IO_DONE;

	while (off < c->out_len) {
		size_t n = 0;

		st = conn_io(c, true, c->out + off, c->out_len - off, &n);
		if (st != TERND_IO_DONE)
			break;
		off += n;
	}
	memmove(c->out, c->out + off, c->out_len - off);
	c->out_len -= off;
	return st == TERND_IO_CLOSED ? TERND_IO_CLOSED : TERND_IO_DONE;
}

bool ternd_conn_send(struct ternd_worker *w, uint32_t id, const uint8_t *data, size_t len)
{
	struct ternd_conn *c = conn_of(w, id);

	if (c == NULL || c->handshaking || len > OUT_MAX - c->out_len) {
		atomic_fetch_add_explicit(&w->counters->dropped, 1, memory_order_relaxed);
		return false;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *p;

		while (cap < c->out_len + len)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL)
			return false;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	c->active = w->now;
	(void)flush_out(c); /* a failure shows up as POLLERR/POLLHUP next time */
	want_events(w, c);
	return true;
}

/*
 * Hand every complete frame in the input to the relay, then keep the
 * partial tail. false: the stream cannot be framed, close it.
 */
static bool deliver_frames(struct ternd_worker *w, struct ternd_conn *c)
{
	const uint8_t *frame = NULL;
	size_t len = 0;
	enum ternd_stream_status st;

	while ((st = ternd_stream_next(&c->in, &frame, &len)) == TERND_STREAM_FRAME) {
		c->got_frame = true;
		ternd_worker_client_input(w, &c->from, frame, len);
	}
	if (st == TERND_STREAM_ERROR)
		return false;
	/* the relay's actions may point into the frames: carry them out before they move */
	ternd_worker_execute(w);
	if (ternd_stream_consume(&c->in) > 0 || ternd_stream_pending(&c->in) == 0)
		c->partial = w->now;
	return true;
}

static enum ternd_io read_in(struct ternd_worker *w, struct ternd_conn *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t n = 0, room = 0;
		uint8_t *at = ternd_stream_room(&c->in, &room);
		enum ternd_io st;

		if (at == NULL) {
			c->unframeable = true;
			return TERND_IO_CLOSED;
		}
		st = conn_io(c, false, at, room, &n);
		if (st != TERND_IO_DONE)
			return st;
		ternd_stream_added(&c->in, n);
		c->active = w->now;
		if (!deliver_frames(w, c)) {
			c->unframeable = true;
			return TERND_IO_CLOSED;
		}
	}
	return TERND_IO_DONE;
}

static enum ternd_io handshake(struct ternd_conn *c)
{
	enum ternd_io st = ternd_tls_handshake(c->ssl);

	if (st == TERND_IO_DONE)
		c->handshaking = false;
	return st;
}

void ternd_conn_event(struct ternd_worker *w, uint32_t id, short revents)
{
	struct ternd_conn *c = conn_of(w, id);
	enum ternd_io st = TERND_IO_DONE;

	if (c == NULL)
		return;
	if (revents & (POLLERR | POLLNVAL)) {
		conn_close(w, c, TERND_CLOSE_ERROR);
		return;
	}
	if (c->handshaking && (st = handshake(c)) == TERND_IO_CLOSED) {
		conn_close(w, c, TERND_CLOSE_TLS);
		return;
	}
	if (!c->handshaking && (revents & (POLLIN | POLLHUP)))
		st = read_in(w, c);
	if (st != TERND_IO_CLOSED && c->out_len > 0)
		st = flush_out(c);
	if (st == TERND_IO_CLOSED) {
		conn_close(w, c, c->unframeable ? TERND_CLOSE_FRAMING : TERND_CLOSE_PEER);
		return;
	}
	want_events(w, c);
}

uint64_t ternd_conns_expire(struct ternd_worker *w)
{
	uint64_t next = UINT64_MAX;

	if (w->accept_paused_until != 0 && w->now >= w->accept_paused_until)
		resume_accepting(w);
	if (w->now < w->conn_check_at)
		return w->accept_paused_until != 0 && w->accept_paused_until < w->conn_deadline
		           ? w->accept_paused_until
		           : w->conn_deadline;
	for (uint32_t i = 0; i < w->max_conns; i++) {
		struct ternd_conn *c = w->conns[i];
		uint64_t limit;

		if (c == NULL)
			continue;
		/* slow senders: a handshake, a first frame, any frame must finish in time */
		if ((c->handshaking && w->now - c->created >= w->shared->handshake_ms) ||
		    (!c->got_frame && w->now - c->created >= w->shared->frame_ms) ||
		    (ternd_stream_pending(&c->in) > 0 &&
		     w->now - c->partial >= w->shared->frame_ms)) {
			conn_close(w, c, TERND_CLOSE_SLOW);
			continue;
		}
		limit = idle_ms(w);
		if (w->now - c->active >= limit) {
			conn_close(w, c, TERND_CLOSE_IDLE);
			continue;
		}
		if (c->active + limit < next)
			next = c->active + limit;
		if (c->created + w->shared->frame_ms < next)
			next = c->created + w->shared->frame_ms;
	}
	w->conn_check_at = w->now + SWEEP_MS;
	w->conn_deadline = next < w->conn_check_at ? w->conn_check_at : next;
	if (w->n_conns == 0)
		w->conn_deadline = UINT64_MAX;
	if (w->accept_paused_until != 0 && w->accept_paused_until < w->conn_deadline)
		return w->accept_paused_until;
	return w->conn_deadline;
}
