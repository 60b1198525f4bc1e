/*
 * loop.h - the event loop interface: register descriptors with a kind and
 * an id, wait, get back the ready ones as (kind, id, revents). Two
 * backends behind it: poll(2), portable, whose cost grows with every
 * registered descriptor; and Linux epoll(7), whose cost grows only with
 * the ready ones, for servers holding thousands of mostly idle relay
 * sockets (docs/benchmarks.md has the measurements).
 */
#ifndef TERND_LOOP_H
#define TERND_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ternd_loop_backend { TERND_LOOP_POLL, TERND_LOOP_EPOLL };

struct ternd_loop_entry {
	uint8_t kind; /* the owner's tag (listener, relay socket, connection...) */
	uint32_t id;  /* the owner's id for the descriptor */
};

struct ternd_loop_event {
	uint8_t kind;
	uint32_t id;
	short revents; /* POLLIN, POLLOUT, POLLERR, POLLHUP */
};

struct ternd_loop {
	enum ternd_loop_backend backend;
	size_t n;   /* registered */
	size_t cap; /* most that may be registered */
	/* poll: parallel arrays, kept dense (a removal moves the last entry) */
	struct pollfd *pfd;
	struct ternd_loop_entry *ent;
	size_t scan_from; /* where the next poll scan starts: no starvation */
	/* epoll: slots are stable; free ones chain through next_free */
	int epfd;
	int *fds;
	uint32_t *next_free;
	uint32_t free_head;
};

/* Errors: -ENOMEM, or -errno from epoll_create1. */
int ternd_loop_init(struct ternd_loop *l, size_t cap, enum ternd_loop_backend backend);
void ternd_loop_free(struct ternd_loop *l);
/* Register fd; *slot receives its registration. -ENOSPC when full. */
int ternd_loop_add(struct ternd_loop *l, int fd, short events, uint8_t kind, uint32_t id,
                   size_t *slot);
void ternd_loop_set_events(struct ternd_loop *l, size_t slot, short events);
/*
 * Remove the registration at slot (before closing its descriptor). With
 * poll the last entry moves into the freed slot: *moved receives its kind
 * and id (so its owner can update its slot) and the function returns 1;
 * otherwise it returns 0.
 */
int ternd_loop_remove(struct ternd_loop *l, size_t slot, struct ternd_loop_entry *moved);
/*
 * The same for a descriptor the caller closes right after and that no
 * other descriptor or process shares (no dup, no fork since it was made):
 * closing it ends its epoll registration, so the removal costs no system
 * call. Until that close, epoll may still report it under this slot.
 */
int ternd_loop_remove_closing(struct ternd_loop *l, size_t slot, struct ternd_loop_entry *moved);
/*
 * Wait up to timeout_ms (-1 = forever); fill ev with at most cap ready
 * registrations and return how many, or -errno. Entries may be stale once
 * the caller has removed registrations while handling earlier ones: owners
 * check their ids.
 */
int ternd_loop_wait(struct ternd_loop *l, int timeout_ms, struct ternd_loop_event *ev, size_t cap);

#endif /* TERND_LOOP_H */
