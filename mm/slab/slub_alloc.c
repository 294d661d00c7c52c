/*
 * slab_alloc, every policy's entry: slub_fast.h's fast path (pop the main
 * sheaf) and its miss path here: debug caches go to slab_debug.c, other
 * policies' caches (which never have a sheaf) to their policy, threads
 * without a slot to the shared slot's freelist path (slub_take.c), the rest
 * to the sheaves (slub_sheaf.c).
 */
#include "slub_fast.h"

static void *slab_alloc_shared(struct slab_cache *c)
{
	pthread_mutex_lock(&c->shared_lock);
	void *obj = slub_take(c, SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);
	return obj;
}

/* Everything the inline fast path (slub_fast.h) does not handle: debug
 * caches, other policies' caches, threads without a slot, an empty main
 * sheaf. */
__attribute__((noinline)) void *slab_alloc_miss(struct slab_cache *c, void *caller)
{
	if (c->debug)
		return slab_alloc_debug(c, caller);
	if (c->policy->alloc)   /* another policy's cache */
		return c->policy->alloc(c, caller);
	int idx = mm_thread_idx();
	if (idx < 0)
		return slab_alloc_shared(c);
	return slub_sheaf_alloc(c, idx);
}

void *slab_alloc_caller(struct slab_cache *c, void *caller)
{
	return slub_alloc_fast(c, caller);
}

void *slab_alloc(struct slab_cache *c)
{
	return slub_alloc_fast(c, __builtin_return_address(0));
}
