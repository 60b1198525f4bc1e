/* loop.c - the poll(2) backend of the event loop. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>

int ternd_loop_init(struct ternd_loop *l, size_t cap)
{
	l->pfd = calloc(cap, sizeof(*l->pfd));
	l->ent = calloc(cap, sizeof(*l->ent));
	l->n = 0;
	l->cap = cap;
	if (l->pfd == NULL || l->ent == NULL) {
		ternd_loop_free(l);
		return -ENOMEM;
	}
	return 0;
}

void ternd_loop_free(struct ternd_loop *l)
{
	free(l->pfd);
	free(l->ent);
	l->pfd = NULL;
	l->ent = NULL;
	l->n = l->cap = 0;
}

int ternd_loop_add(struct ternd_loop *l, int fd, short events, uint8_t kind, uint32_t id,
                   size_t *slot)
{
	if (l->n >= l->cap)
		return -ENOSPC;
	l->pfd[l->n].fd = fd;
	l->pfd[l->n].events = events;
	l->pfd[l->n].revents = 0;
	l->ent[l->n].kind = kind;
	l->ent[l->n].id = id;
	*slot = l->n++;
	return 0;
}

void ternd_loop_set_events(struct ternd_loop *l, size_t slot, short events)
{
	l->pfd[slot].events = events;
}

int ternd_loop_remove(struct ternd_loop *l, size_t slot, struct ternd_loop_entry *moved)
{
	size_t last = --l->n;

	if (slot == last)
		return 0;
	l->pfd[slot] = l->pfd[last];
	l->ent[slot] = l->ent[last];
	*moved = l->ent[slot];
	return 1;
}

int ternd_loop_wait(struct ternd_loop *l, int timeout_ms)
{
	int n = poll(l->pfd, (nfds_t)l->n, timeout_ms);

	return n < 0 ? -errno : n;
}
