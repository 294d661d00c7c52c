/*
 * The slab policies behind the one API of mm/slab.h, as Linux kept
 * slab_common.c beside slub.c, slab.c and slob.c: the common front
 * (slab_common.c and the other slab_*.c files: names, merging, aliases,
 * debug flags, slabinfo text, hardening) calls a cache's policy through this
 * table for everything the policies do differently.
 *
 *   SLUB    slub_*.c     per-thread sheaves in front of per-thread slabs
 *   SLAB    classic_*.c  per-thread array caches, a shared array, three
 *                        lists, colouring, index-array freelists, a reaper
 *   SLOB    slob_*.c     first-fit over pages on three lists, SLOB units
 *
 * The policy is the arena's (mm_arena_config.slab_policy), so every cache
 * and kmalloc of an arena go through the same one. Caches with debug flags
 * take the common checked path (slab_debug.c) under every policy: each
 * object is checked and marked under the node lock, which no policy's fast
 * path could do, and it is the same checking whichever policy runs.
 */
#ifndef MM_SLAB_POLICY_H
#define MM_SLAB_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct mm_arena;
struct slab_cache;
struct slab_cache_info;
struct slab_tunables;

struct slab_policy {
	const char *name;               /* "slub", "slab", "slob" */
	bool merges;                    /* compatible caches may share one */

	/* The arena's own state (SLOB's page lists, SLAB's reaper), set up
	 * before the first cache and torn down after the last. May be NULL. */
	int (*arena_init)(struct mm_arena *a);
	void (*arena_fini)(struct mm_arena *a);

	/* Lays out a new cache whose common fields (arena, zone, flags,
	 * debug, ctor, name) are set: object size, alignment, slab order
	 * (order < 0: the policy chooses). 0 or -EINVAL. */
	int (*cache_init)(struct slab_cache *c, size_t size, size_t align, int order);
	/* Gives back everything the cache holds (every thread's too: no
	 * thread uses it any more); reports objects still in use. */
	void (*cache_fini)(struct slab_cache *c);

	void *(*alloc)(struct slab_cache *c, void *caller);
	void (*free)(struct slab_cache *c, void *obj, void *caller);
	/* Empty slabs back to the buddy; returns frames freed. */
	size_t (*shrink)(struct slab_cache *c);
	/* 0 or -EUCLEAN, with reports. */
	int (*validate)(struct slab_cache *c);
	void (*get_info)(struct slab_cache *c, struct slab_cache_info *info);
	/* A thread is leaving: give back what slot idx holds. */
	void (*drain)(struct slab_cache *c, int idx);
	/* Run-time tunables (SLAB's limit, batchcount, shared factor); NULL:
	 * the policy has none (-EOPNOTSUPP). */
	int (*tune)(struct slab_cache *c, const struct slab_tunables *t);
	/* The periodic reaper's work on one cache (SLAB); returns frames
	 * freed. NULL: nothing to do. */
	size_t (*reap)(struct slab_cache *c);

	/* kmalloc by the policy itself (SLOB's size header); NULL: kmalloc
	 * uses its size-class caches. kfree returns 0, or -EINVAL when p is
	 * not one of its objects (reported); ksize 0 for a foreign p. */
	void *(*kmalloc)(struct mm_arena *a, size_t size, void *caller);
	int (*kfree)(struct mm_arena *a, const void *p, void *caller, const char *who);
	size_t (*ksize)(struct mm_arena *a, const void *p);
};

extern const struct slab_policy slub_policy;
extern const struct slab_policy classic_policy;
extern const struct slab_policy slob_policy;

#endif
