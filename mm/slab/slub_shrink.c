/*
 * SLUB's shrinking: empty slabs go back to the buddy, those this thread and
 * the shared slot hold too (after this thread's sheaves and the barn have
 * given their objects back), while the node lists keep nothing empty. Run
 * when a user asks (slab_cache_shrink, slab_shrink_all) and as a cache goes
 * away.
 */
#include "slab_internal.h"

size_t slub_shrink(struct slab_cache *c)
{
	/* Counted from here: flushing the sheaves and the thread's slabs
	 * frees empty slabs too. */
	pthread_mutex_lock(&c->node_lock);
	unsigned long before = c->slabs_freed;
	pthread_mutex_unlock(&c->node_lock);
	/* Objects first (the barn's go to this thread's held slabs), then
	 * the slabs that hold them. */
	int idx = mm_thread_idx();
	if (idx >= 0)
		slub_sheaf_flush(c, idx);
	slub_barn_flush(c);
	if (idx >= 0)
		slab_cpu_flush(c, idx);
	pthread_mutex_lock(&c->shared_lock);
	slab_cpu_flush(c, SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);

	pthread_mutex_lock(&c->node_lock);
	/* Full slabs may hold remote frees that make them partial or empty. */
	for (struct slab *s = c->full.first, *next; s; s = next) {
		next = s->next;
		slab_relist_locked(c, s, true);
	}
	for (struct slab *s = c->partial.first, *next; s; s = next) {
		next = s->next;
		s->inuse -= (uint16_t)slab_take_remote(c, s, &s->freelist);
		if (s->inuse == 0)
			slab_discard(c, s);
	}
	size_t freed = (c->slabs_freed - before) << c->order;
	pthread_mutex_unlock(&c->node_lock);
	return freed;
}
