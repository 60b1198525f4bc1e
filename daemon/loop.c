/* loop.c - the poll(2) and epoll(7) backends of the event loop. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define NO_SLOT UINT32_MAX

int ternd_loop_init(struct ternd_loop *l, size_t cap, enum ternd_loop_backend backend)
{
	*l = (struct ternd_loop){.backend = backend, .cap = cap, .epfd = -1, .free_head = NO_SLOT};
	l->ent = calloc(cap, sizeof(*l->ent));
	if (backend == TERND_LOOP_POLL) {
		l->pfd = calloc(cap, sizeof(*l->pfd));
		if (l->pfd == NULL || l->ent == NULL)
			goto out_free;
		return 0;
	}
	l->fds = calloc(cap, sizeof(*l->fds));
	l->next_free = calloc(cap, sizeof(*l->next_free));
	if (l->fds == NULL || l->next_free == NULL || l->ent == NULL)
		goto out_free;
	for (size_t i = cap; i-- > 0;) {
		l->next_free[i] = l->free_head;
		l->free_head = (uint32_t)i;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd >= 0)
		return 0;
	ternd_loop_free(l);
	return -errno;
out_free:
	ternd_loop_free(l);
	return -ENOMEM;
}

void ternd_loop_free(struct ternd_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->pfd);
	free(l->ent);
	free(l->fds);
	free(l->next_free);
	*l = (struct ternd_loop){.epfd = -1};
}

static uint32_t to_epoll(short events)
{
	return ((events & POLLIN) ? (uint32_t)EPOLLIN : 0u) |
	       ((events & POLLOUT) ? (uint32_t)EPOLLOUT : 0u);
}

static short from_epoll(uint32_t e)
{
	return (short)(((e & EPOLLIN) ? POLLIN : 0) | ((e & EPOLLOUT) ? POLLOUT : 0) |
	               ((e & EPOLLERR) ? POLLERR : 0) | ((e & EPOLLHUP) ? POLLHUP : 0));
}

static int epoll_add(struct ternd_loop *l, int fd, short events, size_t *slot)
{
	uint32_t s = l->free_head;
	struct epoll_event ev = {.events = to_epoll(events)};

	if (s == NO_SLOT)
		return -ENOSPC;
	ev.data.u32 = s;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	l->free_head = l->next_free[s];
	l->fds[s] = fd;
	*slot = s;
	return 0;
}

int ternd_loop_add(struct ternd_loop *l, int fd, short events, uint8_t kind, uint32_t id,
                   size_t *slot)
{
	int err;

	if (l->n >= l->cap)
		return -ENOSPC;
	if (l->backend == TERND_LOOP_EPOLL) {
		err = epoll_add(l, fd, events, slot);
		if (err != 0)
			return err;
	} else {
		*slot = l->n;
		l->pfd[*slot] = (struct pollfd){.fd = fd, .events = events};
	}
	l->ent[*slot] = (struct ternd_loop_entry){kind, id};
	l->n++;
	return 0;
}

void ternd_loop_set_events(struct ternd_loop *l, size_t slot, short events)
{
	struct epoll_event ev = {.events = to_epoll(events)};

	if (l->backend == TERND_LOOP_POLL) {
		l->pfd[slot].events = events;
		return;
	}
	ev.data.u32 = (uint32_t)slot;
	(void)epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->fds[slot], &ev);
}

static int remove_slot(struct ternd_loop *l, size_t slot, struct ternd_loop_entry *moved,
                       bool deregister)
{
	size_t last;

	l->n--;
	if (l->backend == TERND_LOOP_EPOLL) {
		if (deregister)
			(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->fds[slot], NULL);
		l->fds[slot] = -1;
		l->next_free[slot] = l->free_head;
		l->free_head = (uint32_t)slot;
		return 0;
	}
	last = l->n;
	if (slot == last)
		return 0;
	l->pfd[slot] = l->pfd[last];
	l->ent[slot] = l->ent[last];
	*moved = l->ent[slot];
	return 1;
}

int ternd_loop_remove(struct ternd_loop *l, size_t slot, struct ternd_loop_entry *moved)
{
	return remove_slot(l, slot, moved, true);
}

int ternd_loop_remove_closing(struct ternd_loop *l, size_t slot, struct ternd_loop_entry *moved)
{
	return remove_slot(l, slot, moved, false);
}

static int poll_wait(struct ternd_loop *l, int timeout_ms, struct ternd_loop_event *ev, size_t cap)
{
	int ready = poll(l->pfd, (nfds_t)l->n, timeout_ms);
	size_t got = 0;

	if (ready < 0)
		return -errno;
	for (size_t k = 0; k < l->n && got < cap && ready > 0; k++) {
		size_t i = (l->scan_from + k) % l->n;

		if (l->pfd[i].revents == 0)
			continue;
		ev[got++] =
		    (struct ternd_loop_event){l->ent[i].kind, l->ent[i].id, l->pfd[i].revents};
		ready--;
	}
	l->scan_from = l->n ? (l->scan_from + 1) % l->n : 0;
	return (int)got;
}

int ternd_loop_wait(struct ternd_loop *l, int timeout_ms, struct ternd_loop_event *ev, size_t cap)
{
	struct epoll_event e[256];
	int n;

	if (l->backend == TERND_LOOP_POLL)
		return poll_wait(l, timeout_ms, ev, cap);
	n = epoll_wait(l->epfd, e, (int)(cap < 256 ? cap : 256), timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		uint32_t s = e[i].data.u32;

		ev[i] = (struct ternd_loop_event){l->ent[s].kind, l->ent[s].id,
		                                  from_epoll(e[i].events)};
	}
	return n;
}
