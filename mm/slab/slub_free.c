/*
 * slab_free, every policy's entry: slub_fast.h's fast path (push onto the
 * main sheaf) and its miss path here: debug caches go to slab_debug.c,
 * other policies' caches (slab_used 0, so no fast path matches) to their
 * policy, threads without a slot to the shared slot's freelist path
 * (slub_put.c), the rest to the sheaves (slub_sheaf.c).
 */
#include "slub_fast.h"

/* Everything the inline fast path (slub_fast.h) does not handle. */
__attribute__((noinline)) void slab_free_miss(struct slab_cache *c, void *obj, void *caller)
{
	if (!obj)
		return;
	if (c->debug) {
		slab_free_debug(c, obj, caller);
		return;
	}
	if (c->policy->free) {  /* another policy's cache */
		c->policy->free(c, obj, caller);
		return;
	}
	int idx = mm_thread_idx();
	if (idx >= 0) {
		slub_sheaf_free(c, obj, idx);
		return;
	}
	pthread_mutex_lock(&c->shared_lock);
	slub_put(c, obj, SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);
}

void slab_free_caller(struct slab_cache *c, void *obj, void *caller)
{
	slub_free_fast(c, obj, caller, false);
}

void slab_free(struct slab_cache *c, void *obj)
{
	slub_free_fast(c, obj, __builtin_return_address(0), false);
}
