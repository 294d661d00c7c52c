/*
 * SLUB's fast paths, inline so that slab_alloc/slab_free and kmalloc/kfree
 * each run them without a call: pop the main sheaf, push onto it. Anything
 * else (no sheaf yet, empty or full, another policy's cache, a debug cache,
 * a bad pointer) goes to the miss paths of slub_alloc.c and slub_free.c.
 */
#ifndef MM_SLAB_SLUB_FAST_H
#define MM_SLAB_SLUB_FAST_H

#include "slab_internal.h"

void *slab_alloc_miss(struct slab_cache *c, void *caller);
void slab_free_miss(struct slab_cache *c, void *obj, void *caller);

/* Debug caches and other policies' caches never have a sheaf, so they
 * fall through to the miss path without a test here. */
static inline __attribute__((always_inline)) void *slub_alloc_fast(struct slab_cache *c,
								   void *caller)
{
	int i = mm_thread_idx_plus1;
	if (likely(i > 0)) {
		struct slab_sheaf *sh = &c->cpu[i - 1].sheaf[0];
		unsigned n = sh->size;
		if (likely(n)) {
			slab_sheaf_set_size(sh, n - 1);
			return sh->objs[n - 1];
		}
	}
	return slab_alloc_miss(c, caller);
}

/*
 * An object of this cache goes on top of the main sheaf, unless it is the
 * one already there (the double free a single compare can see). CHECKED:
 * the caller has made sure obj is an object of c (slub_is_object), as
 * kfree does on its way to the cache; otherwise that is checked here, and
 * anything that is not goes to the miss path, which reports it.
 */
static inline __attribute__((always_inline)) void slub_free_fast(struct slab_cache *c, void *obj,
								 void *caller, bool checked)
{
	int i = mm_thread_idx_plus1;
	if (likely(i > 0)) {
		struct slab_sheaf *sh = &c->cpu[i - 1].sheaf[0];
		if (likely(checked || slub_is_object(c, obj))) {
			unsigned n = sh->size;
			if (likely(n < sh->capacity && (n == 0 || sh->objs[n - 1] != obj))) {
				sh->objs[n] = obj;
				slab_sheaf_set_size(sh, n + 1);
				return;
			}
		}
	}
	slab_free_miss(c, obj, caller);
}

#endif
