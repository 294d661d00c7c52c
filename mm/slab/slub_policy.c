/*
 * SLUB as a slab policy: its table for the common front, how a SLUB cache
 * is set up and given back, and its numbers for slabinfo. Its paths are the
 * other slub_*.c files: the per-thread fast paths (slub_alloc.c,
 * slub_free.c), what a thread holds (slub_cpu.c), shrinking
 * (slub_shrink.c); its node lists and slabs are slab_lists.c's, which the
 * checked path of debug caches shares.
 */
#include "slab_internal.h"

/* The barn holds up to SLAB_BARN_BYTES of objects (at least four sheaves):
 * enough that a thread's batch of a thousand small objects, or a few
 * hundred large ones, goes round without touching a slab. */
#define SLAB_BARN_BYTES (4096u << 10)

static int slub_cache_init(struct slab_cache *c, size_t size, size_t align, int order)
{
	int rc = slab_cache_layout(c, size, align, order);
	if (rc)
		return rc;
	if (!c->debug && !(c->flags & SLAB_F_NO_SHEAVES)) {
		c->sheaf_capacity = slub_sheaf_capacity(c->object_size);
		unsigned max = SLAB_BARN_BYTES / c->stride;
		if (max < 4 * c->sheaf_capacity)
			max = 4 * c->sheaf_capacity;
		c->barn_max = max < SLAB_BARN_MAX ? max : SLAB_BARN_MAX;
	}
	pthread_mutex_init(&c->barn_lock, NULL);
	return 0;
}

/* A thread is leaving: its sheaves go to the barn while it has room (the
 * next thread to start takes them from there, no slab touched), its slabs
 * back to the node lists. */
static void slub_drain(struct slab_cache *c, int idx)
{
	slub_sheaf_retire(c, idx);
	slab_cpu_flush(c, idx);
}

/* Slabs that still hold objects are reported and leaked: handing them to
 * the buddy would let a stale pointer write into someone else's frame. */
static void slub_cache_fini(struct slab_cache *c)
{
	slub_barn_flush(c);
	for (int i = 0; i <= MM_MAX_THREADS; i++) {
		slub_sheaf_flush(c, i);
		slab_cpu_flush(c, i);
	}
	slub_shrink(c);
	pthread_mutex_destroy(&c->barn_lock);
	pthread_mutex_lock(&c->node_lock);
	unsigned long leaked = c->partial.nr + c->full.nr;
	pthread_mutex_unlock(&c->node_lock);
	if (leaked)
		slab_report_remaining(c, leaked, "slabs");
}

static unsigned long slab_count_free(struct slab_cache *c, struct slab *first)
{
	unsigned long n = 0;
	for (struct slab *s = first; s; s = s->next)
		n += (unsigned long)(s->objects - s->inuse);
	(void)c;
	return n;
}

/* Linux's numbers: objects on cpu slabs count as active; only the free
 * objects of the node partial lists are subtracted. */
static void slub_get_info(struct slab_cache *c, struct slab_cache_info *info)
{
	pthread_mutex_lock(&c->node_lock);
	unsigned long nr_free = slab_count_free(c, c->partial.first);
	info->num_slabs = c->nr_slabs;
	info->partial_slabs = c->partial.nr;
	info->slabs_allocated = c->slabs_allocated;
	info->slabs_freed = c->slabs_freed;
	info->bad_frees = c->bad_frees;
	pthread_mutex_unlock(&c->node_lock);
	info->num_objs = info->num_slabs * c->objects;
	info->active_objs = info->num_objs - nr_free;
	info->active_slabs = info->num_slabs;
	info->objsize = c->stride;
	info->size = c->object_size;
	info->objperslab = c->objects;
	info->pagesperslab = 1u << c->order;
	info->min_partial = c->min_partial;
	for (int i = 0; i <= MM_MAX_THREADS; i++) {
		struct slab_cpu *cpu = &c->cpu[i];
		/* Other threads' counters are read without their cooperation:
		 * monotonic, so a slightly stale sum is all that can happen. */
		info->alloc_slow += __atomic_load_n(&cpu->alloc_slow, __ATOMIC_RELAXED);
		info->free_slow += __atomic_load_n(&cpu->free_slow, __ATOMIC_RELAXED);
		if (__atomic_load_n(&cpu->slab, __ATOMIC_RELAXED))
			info->cpu_slabs++;
	}
	info->free_remote = atomic_load(&c->remote_frees);
	info->held_objs = slub_sheaf_held(c);
}


/* alloc and free NULL: slab_alloc and slab_free serve SLUB caches on their
 * inline fast paths, which every other policy's cache misses. */
const struct slab_policy slub_policy = {
	.name = "slub",
	.merges = true,
	.cache_init = slub_cache_init,
	.cache_fini = slub_cache_fini,
	.shrink = slub_shrink,
	.validate = slub_validate,
	.get_info = slub_get_info,
	.drain = slub_drain,
};
