/*
 * An arena whose zone Normal is fragmented on purpose, for the scattered
 * fallback tests: every other frame stays taken, so apart from a few 4 MiB
 * runs left for the VMM's metadata no two free frames are adjacent and no
 * guest region can be contiguous.
 */
#ifndef TESTS_VMM_FRAGMENT_H
#define TESTS_VMM_FRAGMENT_H

#include <stddef.h>
#include "mm/arena.h"

struct fragmented {
	struct mm_arena *arena;
	long *taken;                 /* frame indices still allocated */
	size_t nr_taken;
};

/* An arena of normal_mib MiB of zone Normal (no zone Huge), fragmented. */
void fragmented_create(struct fragmented *f, size_t normal_mib);
/* Gives the frames back and destroys the arena. */
void fragmented_destroy(struct fragmented *f);
/* Gives back the taken frames of every pageblock gm's first nr_gfns pages
 * are in: the guest's pages then sit among small free blocks, and every
 * other pageblock keeps every other frame taken, so no free aligned 2 MiB
 * block is left anywhere (what the compaction tests start from). */
struct guest_mem;
void fragmented_free_around(struct fragmented *f, struct guest_mem *gm, uint64_t nr_gfns);
/* Gives the taken frames back, leaving the arena to the caller. */
void fragmented_give_back(struct fragmented *f);

#endif
