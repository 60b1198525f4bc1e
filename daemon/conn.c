/*
 * conn.c - TCP and TLS client connections: non-blocking accept and TLS
 * handshake, stream reframing with the codec's framer (RFC 8656 §12.5,
 * RFC 6062), bounded buffers, and timeouts. A connection that closes takes
 * its allocation with it (RFC 8656 §3.7).
 */
#define _GNU_SOURCE
#include "log.h"
#include "net.h"
#include "worker.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_START        2048u
#define IN_MAX          (TERN_STUN_MAX_MSG + 4u) /* the largest frame either kind can have */
#define OUT_MAX         (256u * 1024u)           /* more queued than this: drop, like UDP would */
#define HANDSHAKE_MS    (10u * 1000u)
#define FIRST_FRAME_MS  (30u * 1000u)
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
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_cap;
	uint64_t active;  /* last byte in or out */
	uint64_t created; /* accept time */
	uint64_t partial; /* since when an incomplete frame has waited */
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
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	w->conns[c->id - TERND_CONN_ID_BASE] = NULL;
	w->n_conns--;
	free(c->in);
	free(c->out);
	free(c);
}

/* Close: the relay frees the allocation on this 5-tuple first. */
static void conn_close(struct ternd_worker *w, struct ternd_conn *c, const char *why)
{
	char who[64];

	if (ternd_log_enabled(TERND_DEBUG))
		ternd_log(TERND_DEBUG, "conn_closed", "client=%s reason=%s",
		          ternd_addr_str(&c->from.client, true, who, sizeof(who)), why);
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
		free(c->in);
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
	c->in_cap = IN_START;
	c->in = malloc(c->in_cap);
	c->from.listener = c->id;
	c->from.transport = l->ep.transport;
	c->from.client = *peer;
	if (!ternd_local_addr(fd, &c->from.server))
		c->from.server = l->ep.addr;
	c->active = c->created = w->now;
	if (l->ep.transport == TERN_TRANSPORT_TLS) {
		pthread_mutex_lock(&w->shared->reload_lock);
		c->ssl = w->shared->tls ? SSL_new(w->shared->tls) : NULL;
		pthread_mutex_unlock(&w->shared->reload_lock);
		c->handshaking = true;
	}
	if (c->in == NULL ||
	    (l->ep.transport == TERN_TRANSPORT_TLS &&
	     (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1)) ||
	    ternd_loop_add(&w->loop, fd, POLLIN, TERND_K_CONN, c->id, &c->slot) != 0) {
		if (c->ssl != NULL)
			SSL_free(c->ssl);
		free(c->in);
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

enum io { IO_DONE, IO_AGAIN, IO_CLOSED };

/* Read or write through TLS or plain TCP; *n bytes moved on IO_DONE. */
static enum io conn_io(struct ternd_conn *c, bool writing, void *buf, size_t len, size_t *n)
{
	ssize_t r;

	if (c->ssl != NULL) {
		int k =
		    writing ? SSL_write(c->ssl, buf, (int)len) : SSL_read(c->ssl, buf, (int)len);
		int e;

		if (k > 0) {
			*n = (size_t)k;
			return IO_DONE;
		}
		e = SSL_get_error(c->ssl, k);
		ERR_clear_error();
		return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? IO_AGAIN
		                                                               : IO_CLOSED;
	}
	r = writing ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
	if (r > 0) {
		*n = (size_t)r;
		return IO_DONE;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return IO_AGAIN;
	return IO_CLOSED;
}

static void want_events(struct ternd_worker *w, struct ternd_conn *c)
{
	short ev = POLLIN;

	if (c->out_len > 0 || (c->ssl != NULL && SSL_want_write(c->ssl)))
		ev |= POLLOUT;
	ternd_loop_set_events(&w->loop, c->slot, ev);
}

static enum io flush_out(struct ternd_conn *c)
{
	size_t off = 0;
	enum io st = IO_DONE;

	while (off < c->out_len) {
		size_t n = 0;

		st = conn_io(c, true, c->out + off, c->out_len - off, &n);
		if (st != IO_DONE)
			break;
		off += n;
	}
	memmove(c->out, c->out + off, c->out_len - off);
	c->out_len -= off;
	return st == IO_CLOSED ? IO_CLOSED : IO_DONE;
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
 * Hand every complete frame in the input buffer to the relay, then keep
 * the partial tail. false: the stream cannot be framed, close it.
 */
static bool deliver_frames(struct ternd_worker *w, struct ternd_conn *c)
{
	size_t off = 0;

	while (c->in_len - off >= 4) {
		size_t need;

		if (tern_stream_frame_len(c->in + off, c->in_len - off, &need) != TERN_OK)
			return false;
		if (need > c->in_len - off)
			break;
		c->got_frame = true;
		ternd_worker_client_input(w, &c->from, c->in + off, need);
		off += need;
	}
	/* the relay's actions may point into c->in: carry them out before moving it */
	ternd_worker_execute(w);
	memmove(c->in, c->in + off, c->in_len - off);
	if (off > 0 || c->in_len == 0)
		c->partial = w->now;
	c->in_len -= off;
	return true;
}

/* Room for the frame being read: grow toward IN_MAX as its header demands. */
static bool make_in_room(struct ternd_conn *c)
{
	size_t need = c->in_cap;
	uint8_t *p;

	if (c->in_len < c->in_cap)
		return true;
	if (tern_stream_frame_len(c->in, c->in_len, &need) != TERN_OK || need > IN_MAX ||
	    need <= c->in_cap)
		return false;
	if ((p = realloc(c->in, need)) == NULL)
		return false;
	c->in = p;
	c->in_cap = need;
	return true;
}

static enum io read_in(struct ternd_worker *w, struct ternd_conn *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t n = 0;
		enum io st;

		if (!make_in_room(c))
			return IO_CLOSED;
		st = conn_io(c, false, c->in + c->in_len, c->in_cap - c->in_len, &n);
		if (st != IO_DONE)
			return st;
		c->in_len += n;
		c->active = w->now;
		if (!deliver_frames(w, c))
			return IO_CLOSED;
	}
	return IO_DONE;
}

static enum io handshake(struct ternd_conn *c)
{
	int r = SSL_do_handshake(c->ssl);
	int e;

	if (r == 1) {
		c->handshaking = false;
		return IO_DONE;
	}
	e = SSL_get_error(c->ssl, r);
	ERR_clear_error();
	return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? IO_AGAIN : IO_CLOSED;
}

void ternd_conn_event(struct ternd_worker *w, uint32_t id, short revents)
{
	struct ternd_conn *c = conn_of(w, id);
	enum io st = IO_DONE;

	if (c == NULL)
		return;
	if (revents & (POLLERR | POLLNVAL)) {
		conn_close(w, c, "socket error");
		return;
	}
	if (c->handshaking && (st = handshake(c)) == IO_CLOSED) {
		conn_close(w, c, "tls handshake failed");
		return;
	}
	if (!c->handshaking && (revents & (POLLIN | POLLHUP)))
		st = read_in(w, c);
	if (st != IO_CLOSED && c->out_len > 0)
		st = flush_out(c);
	if (st == IO_CLOSED) {
		conn_close(w, c, "closed");
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
		if ((c->handshaking && w->now - c->created >= HANDSHAKE_MS) ||
		    (!c->got_frame && w->now - c->created >= FIRST_FRAME_MS) ||
		    (c->in_len > 0 && w->now - c->partial >= FIRST_FRAME_MS)) {
			conn_close(w, c, "too slow");
			continue;
		}
		limit = idle_ms(w);
		if (w->now - c->active >= limit) {
			conn_close(w, c, "idle");
			continue;
		}
		if (c->active + limit < next)
			next = c->active + limit;
		if (c->created + FIRST_FRAME_MS < next)
			next = c->created + FIRST_FRAME_MS;
	}
	w->conn_check_at = w->now + SWEEP_MS;
	w->conn_deadline = next < w->conn_check_at ? w->conn_check_at : next;
	if (w->n_conns == 0)
		w->conn_deadline = UINT64_MAX;
	if (w->accept_paused_until != 0 && w->accept_paused_until < w->conn_deadline)
		return w->accept_paused_until;
	return w->conn_deadline;
}
