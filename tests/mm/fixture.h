/*
 * Shared test fixture for tests/mm: fresh arenas with the slab and kmalloc
 * on top (mm_create; fixture_finish ends with mm_destroy), and the checks
 * every test ends with (I1: frame states add up; I3: with everything freed,
 * every zone coalesces back into max-order blocks).
 */
#ifndef TESTS_MM_FIXTURE_H
#define TESTS_MM_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include "mm/arena.h"

/* An arena (mm_create) with zone Normal of normal_mib MiB and no zone Huge. */
struct mm_arena *fixture_arena(size_t normal_mib);
/* Same, with a config of the caller's. Fails the test if creation fails. */
struct mm_arena *fixture_arena_cfg(const struct mm_arena_config *cfg);
/* A slab cache with the order chosen for it; fails the test if refused. */
struct slab_cache *fixture_cache(struct mm_arena *a, const char *name, size_t size,
				 unsigned flags);
/* The arena's caches are SLUB's: tests of SLUB's own internals (cpu
 * slabs, free pointers inside free objects, its slab orders) guard those
 * assertions with it, so the suite runs under every policy. */
bool fixture_slub(const struct mm_arena *a);
/* Asserts I1 on every zone. */
void fixture_check_i1(struct mm_arena *a);
/*
 * Caller has freed everything it allocated: shrinks every slab cache, drains
 * this thread's frame caches, asserts I1 and that zones hold no frames other
 * than the arena's own caches' (I3 for the frames the test used), then
 * destroys the arena and asserts every zone was fully coalesced.
 */
void fixture_finish(struct mm_arena *a);

#endif
