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

#endif
