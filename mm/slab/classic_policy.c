/*
 * SLAB as a slab policy: its table for the common front, how a SLAB cache
 * is set up (layout, tunables, one array per thread slot) and given back,
 * its numbers for slabinfo, its check, shrinking, and a leaving thread's
 * drain. The paths themselves are classic_array.c's (array caches),
 * classic_slab.c's (slabs and lists) and classic_reap.c's (tune, reap).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "classic_internal.h"

static size_t classic_slot_bytes(void)
{
	return ALIGN_UP(sizeof(struct array_cache) + SLAB_LIMIT_MAX * sizeof(void *), PAGE_SIZE);
}

static int classic_cache_init(struct slab_cache *c, size_t size, size_t align, int order)
{
	struct classic_cache *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return -ENOMEM;
	c->policy_data = cc;
	if (classic_layout(c, size, align, order))
		goto fail;
	unsigned cap = cc->sharedfactor * cc->batchcount;
	if (cap) {
		cc->shared = calloc(1, sizeof(*cc->shared) + cap * sizeof(void *));
		if (!cc->shared)
			goto fail;
		cc->shared->limit = cc->shared->batchcount = cap;
	}
	/* Zero pages: each slot's array is set up (limit 0 -> adopted) by
	 * its thread's first call, and costs memory only once used. */
	cc->arrays_bytes = (MM_MAX_THREADS + 1) * classic_slot_bytes();
	cc->arrays = mmap(NULL, cc->arrays_bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (cc->arrays == MAP_FAILED)
		goto fail;
	for (int i = 0; i <= MM_MAX_THREADS; i++)
		cc->ac[i] = (struct array_cache *)((char *)cc->arrays + i * classic_slot_bytes());
	return 0;
fail:
	free(cc->shared);
	free(cc);
	c->policy_data = NULL;
	return -EINVAL;
}

/* Slabs that still hold objects are reported and leaked: handing them to
 * the buddy would let a stale pointer write into someone else's frame. */
static void classic_cache_fini(struct slab_cache *c)
{
	struct classic_cache *cc = classic_of(c);
	for (int i = 0; i <= MM_MAX_THREADS; i++)
		classic_drain_slot(c, i);
	pthread_mutex_lock(&c->node_lock);
	if (cc->shared)
		classic_shared_drain_locked(c, cc->shared->avail);
	classic_free_slabs_locked(c, ~0ul);
	unsigned long leaked = c->partial.nr + c->full.nr;
	pthread_mutex_unlock(&c->node_lock);
	if (leaked)
		slab_report_remaining(c, leaked, "slabs");
	munmap(cc->arrays, cc->arrays_bytes);
	free(cc->shared);
	free(cc);
	c->policy_data = NULL;
}

/* Linux's numbers: objects in arrays count as active; free slabs do not. */
static void classic_get_info(struct slab_cache *c, struct slab_cache_info *info)
{
	struct classic_cache *cc = classic_of(c);
	pthread_mutex_lock(&c->node_lock);
	info->num_slabs = c->nr_slabs;
	info->active_slabs = c->nr_slabs - cc->slabs_free.nr;
	info->partial_slabs = c->partial.nr;
	info->num_objs = c->nr_slabs * c->objects;
	info->active_objs = info->num_objs - cc->free_objects;
	info->sharedavail = cc->shared ? cc->shared->avail : 0;
	info->tunables.limit = cc->limit;
	info->tunables.batchcount = cc->batchcount;
	info->tunables.sharedfactor = cc->sharedfactor;
	info->slabs_allocated = c->slabs_allocated;
	info->slabs_freed = c->slabs_freed;
	pthread_mutex_unlock(&c->node_lock);
	info->bad_frees = atomic_load(&c->bad_frees);
	info->objsize = c->stride;
	info->size = c->object_size;
	info->objperslab = c->objects;
	info->pagesperslab = 1u << c->order;
	info->held_objs = info->sharedavail;
	for (int i = 0; i <= MM_MAX_THREADS; i++) {
		/* Other threads' arrays and counters, read without their
		 * cooperation: a slightly stale sum is all that can happen. */
		info->held_objs += AC_LOAD(cc->ac[i]->avail);
		info->alloc_slow += __atomic_load_n(&c->cpu[i].alloc_slow, __ATOMIC_RELAXED);
		info->free_slow += __atomic_load_n(&c->cpu[i].free_slow, __ATOMIC_RELAXED);
	}
}

static int classic_validate(struct slab_cache *c)
{
	pthread_mutex_lock(&c->node_lock);
	int errors = classic_validate_slabs_locked(c);
	pthread_mutex_unlock(&c->node_lock);
	return errors ? -EUCLEAN : 0;
}

/* This thread's array, the shared slot and the shared array back to the
 * slabs, then every free slab to the buddy. Returns frames freed. */
static size_t classic_shrink(struct slab_cache *c)
{
	struct classic_cache *cc = classic_of(c);
	int idx = mm_thread_idx();
	if (idx >= 0)
		classic_drain_slot(c, idx);
	pthread_mutex_lock(&c->shared_lock);
	classic_drain_slot(c, SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);
	pthread_mutex_lock(&c->node_lock);
	if (cc->shared)
		classic_shared_drain_locked(c, cc->shared->avail);
	size_t freed = classic_free_slabs_locked(c, ~0ul);
	pthread_mutex_unlock(&c->node_lock);
	return freed;
}

const struct slab_policy classic_policy = {
	.name = "slab",
	.merges = true,
	.arena_init = classic_arena_init,
	.arena_fini = classic_arena_fini,
	.cache_init = classic_cache_init,
	.cache_fini = classic_cache_fini,
	.alloc = classic_alloc,
	.free = classic_free,
	.shrink = classic_shrink,
	.validate = classic_validate,
	.get_info = classic_get_info,
	.drain = classic_drain_slot,
	.tune = classic_tune,
	.reap = classic_reap,
};
