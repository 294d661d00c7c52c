/*
 * Accesses nothing handles (unknown ports, MMIO outside RAM) and requests a
 * memvisor port must drop: each address is reported once on stderr, then
 * silently answered. A guest probing hardware that is not there must not
 * flood the log, nor be stopped.
 */
#ifndef VMM_UNHANDLED_H
#define VMM_UNHANDLED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "mm/arena.h"
#include "vmm/devices/output.h"

enum unhandled_kind {
	UNHANDLED_PORT,          /* no device at this port */
	UNHANDLED_MMIO,          /* no RAM or device at this address */
	UNHANDLED_BAD_REQUEST,   /* a memvisor port got a value it cannot use */
};

struct unhandled_log {
	pthread_mutex_t lock;
	struct mm_arena *arena;
	struct out_stream *log;   /* where the reports go (the VM's log) */
	uint64_t *seen;           /* open-addressing set of keys, 0 = empty */
	unsigned cap, count;
	bool full_said;
};

int unhandled_init(struct unhandled_log *l, struct mm_arena *a, struct out_stream *log);
void unhandled_destroy(struct unhandled_log *l);
/* Reports kind/addr unless it was reported before. Returns true if it was
 * reported now (tests). */
bool unhandled_note(struct unhandled_log *l, enum unhandled_kind kind, uint64_t addr);

#endif
