/*
 * SLOB as a slab policy: its table, and caches that record only their
 * object size, alignment and constructor. Objects below a page are blocks
 * of the arena's shared SLOB pages (slob_page.c), larger ones big blocks of
 * their own (slob_big.c); the constructor runs on every allocation, since
 * no free object keeps its constructed state. A cache counts its live
 * objects; pages are the arena's (slob_arena_stats).
 */
#include <errno.h>
#include <stdlib.h>
#include "slob_internal.h"

static bool slob_cache_big(const struct slab_cache *c)
{
	return c->object_size >= PAGE_SIZE;
}

static int slob_cache_init(struct slab_cache *c, size_t size, size_t align, int order)
{
	struct slob_cache *sc = calloc(1, sizeof(*sc));
	(void)order;   /* SLOB has no slabs to size */
	if (!sc)
		return -ENOMEM;
	c->policy_data = sc;
	c->object_size = (unsigned)size;
	c->align = (unsigned)align;
	c->stride = (unsigned)(SLOB_UNITS(size) * SLOB_UNIT);
	/* slab_used, slab_mask and every cpu freelist stay 0: SLUB's inline
	 * fast paths miss and hand each call to this policy. */
	c->objects = slob_cache_big(c) ? 1 : 0;
	c->order = slob_cache_big(c) ? slob_order(size) : 0;
	return 0;
}

/* Objects still in use are reported and left where they are: their blocks
 * stay allocated in pages others share, their big blocks are leaked. */
static void slob_cache_fini(struct slab_cache *c)
{
	struct slob_arena *sa = slob_arena(c->arena);
	struct slob_cache *sc = c->policy_data;
	pthread_mutex_lock(&sa->lock);
	unsigned long live = sc->live;
	pthread_mutex_unlock(&sa->lock);
	if (live)
		slab_report_remaining(c, live, "objects");
	free(sc);
	c->policy_data = NULL;
}

static void *slob_cache_alloc(struct slab_cache *c, void *caller)
{
	struct slob_arena *sa = slob_arena(c->arena);
	struct slob_cache *sc = c->policy_data;
	(void)caller;
	pthread_mutex_lock(&sa->lock);
	void *b = slob_cache_big(c) ? slob_big_alloc(sa, c->object_size, c) :
		  slob_block_alloc(sa, c->object_size, c->align, 0);
	if (b) {
		sc->live++;
		sc->bytes += c->object_size;
		sc->allocs++;
		sc->big_allocated += slob_cache_big(c);
	}
	pthread_mutex_unlock(&sa->lock);
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	if (c->ctor)
		c->ctor(b);
	return b;
}

/*
 * What is wrong with freeing obj to c, or NULL when it was freed. Arena
 * lock held. A SLOB page records no object boundaries: a pointer into a
 * live object that neither leaves the page nor runs into free space looks
 * like an object (Linux's SLOB checked nothing at all).
 */
static const char *slob_cache_free_locked(struct slob_arena *sa, struct slab_cache *c, void *obj)
{
	struct slab *s = slob_lookup(sa, obj);
	if (!s)
		return "Object is not in a slab page (foreign pointer)";
	if (s->list == SLAB_LIST_SLOB_BIG) {
		if (obj != mm_frame_ptr(sa->zone, s->frame))
			return "Invalid object pointer";
		if (s->freelist != c)
			return "Object belongs to another cache";
		slob_big_free(sa, s);
		((struct slob_cache *)c->policy_data)->big_freed++;
		return NULL;
	}
	uintptr_t end = (uintptr_t)slob_page_base(sa, s) + PAGE_SIZE;
	if (slob_cache_big(c) || (uintptr_t)obj % c->align || (uintptr_t)obj + c->object_size > end)
		return "Invalid object pointer";
	if (!slob_block_free(sa, s, obj, c->object_size))
		return "Object already free";
	return NULL;
}

static void slob_cache_free(struct slab_cache *c, void *obj, void *caller)
{
	struct slob_arena *sa = slob_arena(c->arena);
	struct slob_cache *sc = c->policy_data;
	(void)caller;
	pthread_mutex_lock(&sa->lock);
	const char *why = slob_cache_free_locked(sa, c, obj);
	if (why) {
		sa->bad_frees++;
	} else {
		sc->live--;
		sc->bytes -= c->object_size;
		sc->frees++;
	}
	pthread_mutex_unlock(&sa->lock);
	if (why) {
		atomic_fetch_add(&c->bad_frees, 1);
		slab_report_object(c, NULL, obj, why);
	}
}

/* Pages go back to the buddy the moment they are empty: nothing to free. */
static size_t slob_cache_shrink(struct slab_cache *c)
{
	(void)c;
	return 0;
}

/* The pages are every cache's, so checking one cache checks them all. */
static int slob_cache_validate(struct slab_cache *c)
{
	return slob_validate_arena(slob_arena(c->arena), c->name);
}

static void slob_cache_get_info(struct slab_cache *c, struct slab_cache_info *info)
{
	struct slob_arena *sa = slob_arena(c->arena);
	struct slob_cache *sc = c->policy_data;
	pthread_mutex_lock(&sa->lock);
	info->active_objs = info->num_objs = sc->live;
	info->alloc_slow = sc->allocs;
	info->free_slow = sc->frees;
	info->slabs_allocated = sc->big_allocated;
	info->slabs_freed = sc->big_freed;
	pthread_mutex_unlock(&sa->lock);
	info->bad_frees = atomic_load(&c->bad_frees);
	info->size = c->object_size;
	info->objsize = c->stride;
	/* No slabs of its own: a sum of num_slabs * pagesperslab over the
	 * caches plus slob_arena_stats' pages_held counts each frame once. */
	if (slob_cache_big(c)) {
		info->objperslab = 1;
		info->pagesperslab = 1u << c->order;
		info->uncounted = "slabs: each object is a block of pagesperslab pages, "
				  "counted in slob_arena_stats";
	} else {
		info->uncounted = "slabs: SLOB pages are shared by every cache and kmalloc "
				  "(slob_arena_stats counts them)";
	}
}

/* No thread holds anything of a SLOB cache. */
static void slob_cache_drain(struct slab_cache *c, int idx)
{
	(void)c;
	(void)idx;
}

const struct slab_policy slob_policy = {
	.name = "slob",
	.merges = false,
	.arena_init = slob_arena_init,
	.arena_fini = slob_arena_fini,
	.cache_init = slob_cache_init,
	.cache_fini = slob_cache_fini,
	.alloc = slob_cache_alloc,
	.free = slob_cache_free,
	.shrink = slob_cache_shrink,
	.validate = slob_cache_validate,
	.get_info = slob_cache_get_info,
	.drain = slob_cache_drain,
	.kmalloc = slob_kmalloc,
	.kfree = slob_kfree,
	.ksize = slob_ksize,
};
