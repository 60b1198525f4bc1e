/*
 * loop.h - the event loop interface: register descriptors with a kind and
 * an id, wait, walk the ready ones. This backend is poll(2); the interface
 * is small on purpose so that an epoll backend can replace it if the
 * benchmarks ever show poll() as the bottleneck.
 */
#ifndef TERND_LOOP_H
#define TERND_LOOP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct ternd_loop_entry {
	uint8_t kind; /* the owner's tag (listener, relay socket, connection...) */
	uint32_t id;  /* the owner's id for the descriptor */
};

struct ternd_loop {
	struct pollfd *pfd;
	struct ternd_loop_entry *ent;
	size_t n;
	size_t cap;
};

/* Errors: -ENOMEM. */
int ternd_loop_init(struct ternd_loop *l, size_t cap);
void ternd_loop_free(struct ternd_loop *l);
/* Register fd; *slot receives its position. -ENOSPC when full. */
int ternd_loop_add(struct ternd_loop *l, int fd, short events, uint8_t kind, uint32_t id,
                   size_t *slot);
void ternd_loop_set_events(struct ternd_loop *l, size_t slot, short events);
/*
 * Remove the entry at slot. The last entry moves into its place: *moved
 * receives that entry's kind and id (so its owner can update its slot) and
 * the function returns 1; 0 when nothing moved.
 */
int ternd_loop_remove(struct ternd_loop *l, size_t slot, struct ternd_loop_entry *moved);
/* poll(2) with timeout_ms (-1 = forever); returns the number ready or -errno. */
int ternd_loop_wait(struct ternd_loop *l, int timeout_ms);

#endif /* TERND_LOOP_H */
