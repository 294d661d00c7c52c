/*
 * The memory manager as its users make it: the frame arena (arena.h) with
 * the slab (slab.h) and kmalloc/kvmalloc (kmalloc.h) on top. The arena is
 * the frame level and creates nothing above it; mm_create builds the layers
 * over a new arena and mm_destroy takes them down in reverse.
 */
#ifndef MM_MM_H
#define MM_MM_H

#include "arena.h"

/*
 * Creates an arena (with mm_arena_create's checks and errors; zone Huge as
 * cfg->huge says), attaches the slab to its zones, and creates the kmalloc
 * caches and the vmap area. 0 or -errno; on failure nothing is left and
 * *out is not written.
 */
int mm_create(const struct mm_arena_config *cfg, struct mm_arena **out);
/* kmalloc, the slab (caches their users never destroyed are freed, objects
 * still in use reported), then the arena. NULL is ignored. */
void mm_destroy(struct mm_arena *a);

#endif
