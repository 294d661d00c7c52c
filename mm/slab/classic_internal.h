/*
 * The SLAB policy's state (Linux's classic mm/slab.c design): per-thread
 * array caches, the shared array, the three node lists, colouring and the
 * index-array freelist of each slab. Calls run one way:
 *
 *   classic_policy.c   the table; a cache's setup, teardown, numbers, checks
 *   classic_reap.c     tunables, the reaper and its thread
 *   classic_array.c    the array caches: alloc, free, refill, flush, drain
 *   classic_validate.c the check of lists, slabs and index arrays
 *   classic_slab.c     layout, colouring, index freelists, node lists
 *
 * Locks, outer first: caches_lock (tune, reap), shared_lock (the slot of
 * threads without an index), node_lock (lists, shared array, counters),
 * the zone's.
 *
 * Per slab (struct slab): freelist points at the index array, inuse is
 * Linux's "active" (objects handed out; the free indices are
 * array[inuse .. objects-1]), first is where object 0 starts (the colour,
 * and the on-slab index array before the objects). owner stays
 * SLAB_OWNER_NODE and c->slab_used 0, so SLUB's inline paths never take one
 * of these slabs for theirs.
 */
#ifndef MM_SLAB_CLASSIC_INTERNAL_H
#define MM_SLAB_CLASSIC_INTERNAL_H

#include "slab_internal.h"

#define CLASSIC_COLOUR_OFF 64            /* a cache line */
#define CLASSIC_OFFSLAB_MIN (PAGE_SIZE / 8) /* objects this big keep their index off-slab */
#define CLASSIC_SLAB_MAX_ORDER 1         /* Linux's slab_max_order with > 32 MiB */

/*
 * A thread's array of free objects (LIFO: the most recently freed object
 * is the one still in the cache). Only its thread writes it, except for
 * touched and reap_req, which the reaper writes too; what other threads
 * read (avail, touched, reap_req) is stored with relaxed atomics, plain
 * moves on x86.
 */
struct array_cache {
	unsigned avail;
	unsigned limit;       /* 0: not set up yet, the first call adopts */
	unsigned batchcount;
	unsigned touched;     /* allocated from since the last reap */
	unsigned reap_req;    /* the reaper found it idle: drain a fifth */
	void *entry[];
};

#define AC_STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define AC_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

struct classic_cache {
	/* One array per slot, each in its own pages of one mapping with room
	 * for SLAB_LIMIT_MAX entries: never moved, so the reaper and slabinfo
	 * may read any of them; untouched slots cost no memory. */
	struct array_cache *ac[MM_MAX_THREADS + 1];
	void *arrays;
	size_t arrays_bytes;
	/* node_lock protects everything below. */
	struct array_cache *shared;      /* NULL: shared factor 0 */
	struct slab_list_head slabs_free; /* partial and full are c->partial, c->full */
	unsigned long free_objects;      /* free objects on all slabs */
	unsigned long free_limit;        /* more than this: empty slabs go back */
	bool free_touched;               /* a free slab was taken since the last reap */
	unsigned colour, colour_off, colour_next;
	unsigned idx_size;               /* bytes per index: 1 or 2 */
	bool off_slab;
	unsigned mgmt;                   /* on-slab: bytes before object 0 past the
					  * colour; off-slab: the array's bytes */
	/* Written under caches_lock and node_lock by tune; each thread reads
	 * them (relaxed) on its slow path to adopt them. */
	unsigned limit, batchcount, sharedfactor;
};

/* The arena's: the reaper thread. */
struct classic_arena {
	pthread_mutex_t reap_lock;
	pthread_cond_t reap_cond;
	bool stop;
	pthread_t reaper;
};

static inline struct classic_cache *classic_of(const struct slab_cache *c)
{
	return c->policy_data;
}

/* The node list of slabs at fill level l (partial, full or free). */
static inline struct slab_list_head *classic_list(struct slab_cache *c, enum slab_list l)
{
	return l == SLAB_LIST_PARTIAL ? &c->partial :
	       l == SLAB_LIST_FULL ? &c->full : &classic_of(c)->slabs_free;
}

static inline unsigned classic_idx_get(const struct classic_cache *cc, const struct slab *s,
				       unsigned i)
{
	return cc->idx_size == 1 ? ((const uint8_t *)s->freelist)[i]
				 : ((const uint16_t *)s->freelist)[i];
}

static inline void classic_idx_set(const struct classic_cache *cc, struct slab *s, unsigned i,
				   unsigned v)
{
	if (cc->idx_size == 1)
		((uint8_t *)s->freelist)[i] = (uint8_t)v;
	else
		((uint16_t *)s->freelist)[i] = (uint16_t)v;
}

static inline void *classic_obj(const struct slab_cache *c, const struct slab *s, unsigned i)
{
	return (void *)(slab_base(c, s) + s->first + (uintptr_t)i * c->stride);
}

static inline unsigned classic_obj_idx(const struct slab_cache *c, const struct slab *s,
				       const void *obj)
{
	return slab_obj_index(c, (uintptr_t)obj - slab_base(c, s) - s->first);
}

/* classic_slab.c */
int classic_layout(struct slab_cache *c, size_t size, size_t align, int order);
void classic_set_tunables(struct slab_cache *c, unsigned limit, unsigned batchcount,
			  unsigned sharedfactor);
unsigned classic_take_locked(struct slab_cache *c, void **dst, unsigned want);
void classic_free_block_locked(struct slab_cache *c, void **objs, unsigned n);
size_t classic_free_slabs_locked(struct slab_cache *c, unsigned long max);

/* classic_validate.c: returns the number of problems found (reported). */
int classic_validate_slabs_locked(struct slab_cache *c);

/* classic_array.c */
void *classic_alloc(struct slab_cache *c, void *caller);
void classic_free(struct slab_cache *c, void *obj, void *caller);
void classic_adopt(struct slab_cache *c, struct array_cache *ac);
void classic_drain_slot(struct slab_cache *c, int idx);
/* Gives n objects from the bottom (the coldest) of the shared array back
 * to their slabs, node lock held. */
void classic_shared_drain_locked(struct slab_cache *c, unsigned n);

/* classic_reap.c */
int classic_tune(struct slab_cache *c, const struct slab_tunables *t);
size_t classic_reap(struct slab_cache *c);
int classic_arena_init(struct mm_arena *a);
void classic_arena_fini(struct mm_arena *a);

#endif
