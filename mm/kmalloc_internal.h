/*
 * What kmalloc.c and kvmalloc.c share: the arena's kmalloc set (size-class
 * caches and the kvmalloc counters) and kmalloc entry points that take the
 * caller to record, so objects kvmalloc serves are tracked to its caller.
 */
#ifndef MM_KMALLOC_INTERNAL_H
#define MM_KMALLOC_INTERNAL_H

#include <stdbool.h>
#include "kmalloc.h"

struct kmalloc_set {
	struct slab_cache *cache[KMALLOC_NR_CLASSES];
	/* The policy's own kmalloc (SLOB), next to the caches kmalloc reads. */
	void *(*policy_kmalloc)(struct mm_arena *a, size_t size, void *caller);
	bool own_desc_cache;        /* kmalloc_init created a->desc_cache */
	/*
	 * Counters of kvmalloc_get_stats, bumped with relaxed atomics by any
	 * thread; vmap_bytes and vmap_mappings are read from the vmap area
	 * instead. bad_calls also counts kmalloc's and kfree's bad calls.
	 */
	struct kvmalloc_stats kv;
};

static inline void kmalloc_count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

void *kmalloc_caller(struct mm_arena *a, size_t size, void *caller);
/* 0 if p was a kmalloc object handed to its cache, -EINVAL if it was
 * refused (reported in the name of who, and counted as a bad call). */
int kfree_caller(struct mm_arena *a, const void *p, void *caller, const char *who);
/* p lies in memory kmalloc's objects come from: a slab, or (a policy with
 * its own kmalloc) one of that policy's objects. */
bool kmalloc_owns(struct mm_arena *a, const void *p);

#endif
