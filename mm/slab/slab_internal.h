/*
 * Slab internals shared by the slab's files: the slab descriptor, the cache,
 * the per-thread slot, the hardened free pointer, the lists of slabs, and
 * what each file offers the others. Calls run one way, from the users' entry
 * points down:
 *
 *   slab_common.c, slab_zone.c,         caches, their arena, what they show;
 *   slabinfo.c, slab_policy.c           which policy serves them
 *   slub_alloc.c, slub_free.c           every cache's entry; SLUB's
 *                                       per-thread paths
 *   slub_policy.c, slub_shrink.c,       SLUB's table, its slabs back to the
 *   slub_cpu.c                          buddy, what a thread holds
 *   classic_*.c, slob_*.c               the SLAB and SLOB policies
 *   slab_debug.c                        the locked path of debug caches
 *   slab_validate.c                     checking slabs and lists
 *   slab_lists.c                        node lists, new and discarded slabs
 *   slab_size.c, slab_debug_flags.c     sizing a cache, choosing its flags
 *   slab_debug_object.c                 red zones, poison, owner records
 *   slab_object.c, slab_report.c        address lookups and chain walks;
 *                                       reports
 *
 * Ownership rules (why the fast path needs no locked instruction):
 * - A slab is held either by one thread (as its cpu slab or on its cpu
 *   partial list; slab.owner = that thread's index) or by the cache's node
 *   lists (owner = SLAB_OWNER_NODE, protected by node_lock).
 * - Only the holder touches slab.freelist and slab.inuse. Everyone else
 *   frees into slab.remote with a CAS push; the holder drains it.
 * - A cpu slab is "frozen" as in SLUB: its free objects live in the slot's
 *   freelist and its inuse is pinned at objects until it is deactivated.
 */
#ifndef MM_SLAB_INTERNAL_H
#define MM_SLAB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "mm/slab.h"
#include "slab_policy.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define SLAB_MAX_ORDER 3             /* like PAGE_ALLOC_COSTLY_ORDER */
#define SLAB_OWNER_NODE (-1)
#define SLAB_SHARED_SLOT MM_MAX_THREADS /* slot for threads without an index */

enum slab_list {
	SLAB_LIST_NONE = 0,
	SLAB_LIST_CPU,        /* some thread's cpu slab */
	SLAB_LIST_CPU_PARTIAL,/* a thread's list of held slabs with free objects */
	SLAB_LIST_CPU_FULL,   /* a thread's list of held slabs it used up */
	SLAB_LIST_PARTIAL,    /* node partial list */
	SLAB_LIST_FULL,       /* node full list */
	SLAB_LIST_QUARANTINE, /* corrupt: kept away from the buddy for good */
	SLAB_LIST_SLOB_PAGE,  /* a SLOB page of small blocks (cache NULL; slob_internal.h) */
	SLAB_LIST_SLOB_BIG,   /* head of a SLOB block of whole pages (cache NULL) */
	SLAB_LIST_FREE,       /* SLAB's node list of slabs with no object in use */
};

struct slab {
	/* NULL: the frame is in no slab. A tail frame's descriptor holds only
	 * this and frame (its head's); the rest is the head's. */
	struct slab_cache *cache;
	void *freelist;             /* holder's free objects (hardened chain) */
	void *_Atomic remote;       /* frees by other threads (hardened chain) */
	struct slab *next, *prev;   /* node lists; next also links cpu partial */
	uint16_t inuse;             /* objects not on freelist (remote ones count) */
	uint16_t objects;
	_Atomic int8_t owner;       /* thread index holding it, or SLAB_OWNER_NODE */
	uint8_t list;               /* enum slab_list */
	uint16_t first;             /* offset of object 0 (SLAB: colour and on-slab
				     * index array); 0 under the other policies */
	uint32_t frame;             /* head frame index in zone */
	uint32_t slob_size;         /* SLOB_BIG: bytes asked for (fits the padding) */
};

struct slab_list_head {
	struct slab *first;
	unsigned long nr;
};

/*
 * A sheaf: an array of free objects a thread allocates from and frees into
 * with a plain load and store, the objects themselves untouched (no free
 * pointer is read or written), as Linux's SLUB sheaves.
 */
#define SLAB_SHEAF_MAX 60
struct slab_sheaf {
	unsigned size;              /* objects in objs[0 .. size), top last */
	unsigned capacity;          /* the cache's sheaf_capacity */
	void *objs[SLAB_SHEAF_MAX];
};

/*
 * The barn: full sheaves' objects the cache's threads share, kept in one
 * array under barn_lock, so a sheaf traded with the barn is one copy under
 * the lock and no sheaf needs memory of its own. At most barn_max objects.
 */
#define SLAB_BARN_MAX 1024

/*
 * A userspace kmem_cache_cpu: touched only by its thread. In front, the
 * main sheaf (sheaf[0]) and the spare (sheaf[1]), in place: the fast paths
 * find the main one without loading a pointer (their capacity is 0 until
 * the thread's first miss, so nothing is pushed before). Behind them the cpu slab they are refilled from and flushed
 * into; besides the cpu slab, a thread holds the slabs it used up (full) and the ones it freed
 * into (partial), so that a batch of frees and the allocations after it
 * take no lock and rebuild no freelist. Full slabs cost no memory (their
 * objects are in use); partial ones are capped by cpu_partial_max.
 */
struct slab_cpu {
	void *freelist;             /* free objects of the cpu slab */
	uintptr_t slab_base;        /* address of the cpu slab (0: none) */
	struct slab *slab;
	struct slab_list_head partial, full;
	uint64_t alloc_slow, free_slow, free_remote;
	uint64_t sheaf_refills, sheaf_flushes; /* sheaves filled from and emptied to slabs */
	struct slab_sheaf sheaf[2];   /* main, spare */
} __attribute__((aligned(64)));

/* Owner tracking record (flag U), one for alloc and one for free. */
struct slab_track {
	void *caller;
	int tid;
	uint64_t when_ns;
};

struct slab_cache {
	/* Hot fields first, in the descriptor's first cache line: the fast
	 * paths and kfree read only these and their slot. */
	uintptr_t slab_mask;        /* ~(slab bytes - 1): slabs are size-aligned */
	uintptr_t zone_base;        /* the zone's direct map and descriptors, */
	uintptr_t zone_bytes;       /* so a free finds its slab with no lookup */
	struct slab *zone_slabs;
	unsigned slab_used;         /* objects * stride: bytes of a slab in objects */
	unsigned stride;            /* bytes from one object slot to the next */
	uint32_t reciprocal;        /* for offset / stride without a division */
	int kmalloc_class;          /* class + 1 for kmalloc's caches, else 0 */
	const struct slab_policy *policy; /* slub_policy: the fast paths serve it */
	uintptr_t random;           /* free-pointer hardening key */
	unsigned offset;            /* free pointer offset inside a slot */
	unsigned debug;             /* SLAB_F_DEBUG_MASK bits in force */
	unsigned order;
	unsigned objects;           /* per slab */
	unsigned object_size;       /* what users may write */
	unsigned align;
	unsigned red_left;          /* left red zone bytes (Z) before the object */
	unsigned track_offset;      /* where the two slab_track records start (U) */
	unsigned flags;             /* creation flags */
	unsigned min_partial;
	unsigned cpu_partial_max;   /* slabs a thread keeps on its partial list */
	unsigned cpu_full_max;      /* and on its full list */
	unsigned sheaf_capacity;    /* objects per sheaf; 0: no sheaves */
	void (*ctor)(void *);
	struct mm_arena *arena;
	struct mm_zone *zone;
	void *policy_data;           /* SLAB's and SLOB's state of the cache */

	pthread_mutex_t node_lock;
	struct slab_list_head partial, full;
	unsigned long nr_slabs;      /* slabs allocated and not freed (all lists) */
	unsigned long nr_quarantined;
	uint64_t slabs_allocated, slabs_freed;
	_Atomic uint64_t bad_frees;     /* refused frees, dropped chains */
	_Atomic uint64_t remote_frees;

	pthread_mutex_t shared_lock; /* serializes users of the shared slot */
	pthread_mutex_t barn_lock;
	unsigned barn_nr, barn_max;
	void *barn[SLAB_BARN_MAX];
	struct mm_percpu_owner percpu;
	char name[SLAB_NAME_MAX];
	unsigned refs;               /* one per name: the own name and each alias */
	bool name_released;          /* the own name's creator destroyed it */
	unsigned nr_aliases;         /* aliases: under node_lock */
	char aliases[SLAB_MAX_ALIASES][SLAB_NAME_MAX];
	struct slab_cache *next_in_arena;

	struct slab_cpu cpu[MM_MAX_THREADS + 1];
};

/* A sheaf's size is written by its thread only, and read by slabinfo from
 * any thread: relaxed stores (one plain move) keep that race-free. */
static inline void slab_sheaf_set_size(struct slab_sheaf *sh, unsigned n)
{
	__atomic_store_n(&sh->size, n, __ATOMIC_RELAXED);
}

/* Free pointer: ptr ^ random ^ bswap(address where it is stored). */
static inline void **slab_fp_addr(const struct slab_cache *c, void *obj)
{
	return (void **)((char *)obj + c->offset);
}

static inline void slab_set_fp(const struct slab_cache *c, void *obj, void *next)
{
	void **at = slab_fp_addr(c, obj);
	*at = (void *)((uintptr_t)next ^ c->random ^ __builtin_bswap64((uintptr_t)at));
}

static inline void *slab_get_fp(const struct slab_cache *c, void *obj)
{
	void **at = slab_fp_addr(c, obj);
	return (void *)((uintptr_t)*at ^ c->random ^ __builtin_bswap64((uintptr_t)at));
}

/*
 * A slot's counters and its cpu slab pointer are written by the slot's owner
 * only, but slab_cache_get_info (slabinfo, the monitor) reads them from any
 * thread. Plain writes there would be data races in C's terms (the compiler
 * may tear or invent them); relaxed atomic stores cost what plain ones do
 * (one move, no locked instruction), and the owner's own reads stay plain.
 */
static inline void slab_cpu_count(uint64_t *counter)
{
	__atomic_store_n(counter, *counter + 1, __ATOMIC_RELAXED);
}

static inline void slab_cpu_set_slab(struct slab_cpu *cpu, struct slab *s)
{
	__atomic_store_n(&cpu->slab, s, __ATOMIC_RELAXED);
}

static inline uintptr_t slab_base(const struct slab_cache *c, const struct slab *s)
{
	return (uintptr_t)mm_frame_ptr(c->zone, s->frame);
}

/* Index of an object slot; offset must be < slab bytes. */
static inline unsigned slab_obj_index(const struct slab_cache *c, uintptr_t offset)
{
	return (unsigned)(((uint64_t)offset * c->reciprocal) >> 32);
}

/* obj is an object boundary of a live slab of SLUB cache c: a mask, a
 * shift, a multiply and the cache named by obj's frame's descriptor (every
 * frame of a slab names it: slab_new), no lookup. Other policies' caches
 * have slab_used 0 and never match. */
static inline bool slub_is_boundary(const struct slab_cache *c, const void *obj)
{
	uintptr_t off = (uintptr_t)obj & ~c->slab_mask;
	return off < c->slab_used && (uintptr_t)slab_obj_index(c, off) * c->stride == off;
}

static inline bool slub_is_object(const struct slab_cache *c, const void *obj)
{
	uintptr_t in_zone = (uintptr_t)obj - c->zone_base;
	if (!slub_is_boundary(c, obj) || in_zone >= c->zone_bytes)
		return false;
	const struct slab *s = &c->zone_slabs[in_zone >> PAGE_SHIFT];
	return __atomic_load_n(&s->cache, __ATOMIC_RELAXED) == c;
}

/* The slot start of the object at obj (the object follows the left red zone). */
static inline void *slab_obj_slot(const struct slab_cache *c, void *obj)
{
	return (char *)obj - c->red_left;
}

/* The descriptor of the head frame of the VMM block (slab, SLOB page or
 * block) that p lies in, in zone z, or NULL; *frame is p's own frame.
 * Lock-free: a block's frames keep their compound marks while it lives. */
static inline struct slab *slab_head_of_zone(const struct mm_zone *z, const void *p,
					     uint32_t *frame)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)z->base;
	if (!z->present || off >= z->bytes || !z->slabs)
		return NULL;
	uint32_t idx = (uint32_t)(off >> PAGE_SHIFT), head = idx;
	const struct frame *f = &z->buddy.frames[idx];
	if (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & FRAME_F_COMPOUND) {
		head = __atomic_load_n(&f->owner, __ATOMIC_RELAXED);
		if (head >= z->buddy.nr_frames)
			return NULL;
	}
	if (frame_state_get(&z->buddy.frames[head]) != FRAME_VMM)
		return NULL;
	*frame = idx;
	return &z->slabs[head];
}

/* The slab descriptor of p if p lies in a slab of zone z, else NULL. */
static inline struct slab *slab_of_zone(const struct mm_zone *z, const void *p)
{
	uint32_t frame;
	struct slab *s = slab_head_of_zone(z, p, &frame);
	return s && __atomic_load_n(&s->cache, __ATOMIC_ACQUIRE) ? s : NULL;
}

#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

/* The lists of slabs, node lists and a thread's held lists alike; their
 * holder's lock (or the thread itself) protects them. */
static inline void slab_list_del(struct slab_list_head *h, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	h->nr--;
}

static inline void slab_list_add(struct slab_list_head *h, struct slab *s)
{
	s->prev = NULL;
	s->next = h->first;
	if (h->first)
		h->first->prev = s;
	h->first = s;
	h->nr++;
}

/* slab_report.c; remaining: a cache went away with n of its slabs or
 * objects (what) still in use, which it leaks rather than frees. */
void slab_report_remaining(const struct slab_cache *c, unsigned long n, const char *what);
void slab_report_object(struct slab_cache *c, struct slab *s, const void *obj, const char *what);

/* slab_object.c */
struct slab *slab_of(struct mm_arena *a, const void *p);
bool slab_obj_valid(const struct slab_cache *c, const struct slab *s, const void *obj);
/* Counts the chain from head (and finds its last object); -1 if it leaves
 * the slab, points between objects or is longer than the slab (a cycle: a
 * double free). */
long slab_chain_len(const struct slab_cache *c, const struct slab *s, void *head, void **tail);
unsigned slab_walk_freelist(const struct slab_cache *c, const struct slab *s, void *head,
			    bool *corrupt);

/* slab_size.c: lays out c's objects (c->ctor and c->debug set) and picks the
 * slab order (order < 0: chosen like Linux); -EINVAL if no order fits. */
int slab_cache_layout(struct slab_cache *c, size_t size, size_t align, int order);

/* slab_debug_flags.c */
unsigned slab_debug_flags_for(const char *name, unsigned flags);

/* slab_debug_object.c */
void slab_debug_init_object(struct slab_cache *c, void *obj);
void slab_debug_mark_allocated(struct slab_cache *c, struct slab *s, void *obj, void *caller);
void slab_debug_mark_free(struct slab_cache *c, struct slab *s, void *obj, void *caller);
/* A free object's red zones and poison are intact (reported and repaired
 * if not). */
bool slab_debug_check_free(struct slab_cache *c, struct slab *s, void *obj);
/* Reports a damaged object (where: its first bad byte, or NULL) and counts it. */
void slab_debug_report(struct slab_cache *c, struct slab *s, void *obj, const char *what,
		       const void *where);

/* slab_lists.c; the _locked ones, slab_discard and slab_new with the node lock held. */
void slab_unlist_locked(struct slab_cache *c, struct slab *s);
unsigned slab_take_remote(struct slab_cache *c, struct slab *s, void **list);
void slab_relist_locked(struct slab_cache *c, struct slab *s, bool keep_empty);
void slab_quarantine_locked(struct slab_cache *c, struct slab *s, const char *why);
void slab_discard(struct slab_cache *c, struct slab *s);
struct slab *slab_new(struct slab_cache *c);

/* slub_alloc.c, slub_free.c: one object from and to the thread's cpu slab
 * and what it holds (slot idx, which the caller owns), behind the sheaves. */
void *slub_take(struct slab_cache *c, int idx);
void slub_put(struct slab_cache *c, void *obj, int idx);

/* slub_sheaf.c */
unsigned slub_sheaf_capacity(size_t object_size);
void *slub_sheaf_alloc(struct slab_cache *c, int idx);
void slub_sheaf_free(struct slab_cache *c, void *obj, int idx);
/* Empties slot idx's sheaves into the slabs; into the barn while it has
 * room (retire: a thread is leaving); and the barn into the slabs. */
void slub_sheaf_flush(struct slab_cache *c, int idx);
void slub_sheaf_retire(struct slab_cache *c, int idx);
void slub_barn_flush(struct slab_cache *c);
/* Free objects in sheaves and the barn (slabinfo's held_objs). */
unsigned long slub_sheaf_held(struct slab_cache *c);

/* slub_cpu.c */
void slab_release_list_locked(struct slab_cache *c, struct slab_list_head *h);
void slab_park_full(struct slab_cache *c, struct slab_cpu *cpu);
void slab_held_unfull(struct slab_cache *c, struct slab_cpu *cpu, struct slab *s);
void slab_install_cpu(struct slab_cache *c, struct slab_cpu *cpu, struct slab *s);
void slab_cpu_flush(struct slab_cache *c, int idx);

/* slab_validate.c */
int slab_validate_slab(struct slab_cache *c, struct slab *s);
int slub_validate(struct slab_cache *c);

/* slub_shrink.c */
size_t slub_shrink(struct slab_cache *c);

/* slab_debug.c */
void *slab_alloc_debug(struct slab_cache *c, void *caller);
void slab_free_debug(struct slab_cache *c, void *obj, void *caller);

/* slab_policy.c: sets a->slab_policy (MM_SLAB_DEFAULT: $MEMVISOR_SLAB,
 * else SLUB); -EINVAL for an unknown one. */
int slab_policy_choose(struct mm_arena *a, enum mm_slab_policy want);

/* slab_common.c: frees a cache whose last reference is gone (or whose
 * arena is going away), reporting objects still in use. */
void slab_cache_free(struct slab_cache *c);

#endif
