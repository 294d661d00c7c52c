/*
 * Slab caches for the VMM's own metadata: named caches of fixed-size
 * objects, served by the arena's slab policy (mm_arena_config.slab_policy):
 *
 * - SLUB (the default): per-thread sheaves (arrays of free objects) in front
 *   of per-thread slabs whose free pointers live inside free objects,
 *   hardened like CONFIG_SLAB_FREELIST_HARDENED; a shared barn of sheaves.
 * - SLAB: per-thread array caches (limit, batchcount), a shared array,
 *   full/partial/free slab lists, colouring, index-array freelists, and a
 *   reaper (slab_reap) that drains idle arrays and frees surplus slabs.
 * - SLOB: first-fit over pages on small/medium/large lists in SLOB units;
 *   caches record only size, alignment and constructor.
 *
 * Compatible caches merge (not under SLOB, which has nothing to share);
 * debug flags F/Z/P/U are chosen at creation or through MEMVISOR_SLAB_DEBUG
 * and take the same checked path under every policy.
 */
#ifndef MM_SLAB_H
#define MM_SLAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "arena.h"

/* Debug flags, as Linux's slub_debug letters. */
#define SLAB_F_CONSISTENCY 0x01u   /* F: checks on every alloc and free */
#define SLAB_F_REDZONE     0x02u   /* Z: red zones around each object */
#define SLAB_F_POISON      0x04u   /* P: free objects poisoned, checked on alloc */
#define SLAB_F_TRACK       0x08u   /* U: alloc/free caller recorded per object */
#define SLAB_F_DEBUG_MASK  0x0fu
/* Other creation flags. */
#define SLAB_F_NO_MERGE    0x100u  /* never share a cache with another */
#define SLAB_F_HWCACHE_ALIGN 0x200u /* align objects to 64 bytes */
#define SLAB_F_NO_SHEAVES  0x400u  /* SLUB: no sheaves, the per-thread freelist only */

#define SLAB_NAME_MAX 32
#define SLAB_MAX_ALIASES 8

/* Environment variable read at cache creation: "FZPU" for every cache, or
 * "FZ,kmalloc-64,p2m_table" for the named ones (like slub_debug=). */
#define SLAB_DEBUG_ENV "MEMVISOR_SLAB_DEBUG"
/* Read by mm_create when its config leaves the policy to the default:
 * "slub", "slab" or "slob" (how the test suites run under each). */
#define SLAB_POLICY_ENV "MEMVISOR_SLAB"

struct slab_cache_params {
	size_t size;             /* object size, > 0 */
	size_t align;            /* 0 = 8 bytes */
	unsigned flags;          /* SLAB_F_* */
	int order;               /* slab order; -1 = chosen like Linux */
	void (*ctor)(void *obj); /* called on each new object; prevents merging */
	enum mm_zone_id zone;    /* where slabs come from (falls back to Normal) */
};

/* SLAB's run-time tunables, as a line written to /proc/slabinfo set them:
 * objects a thread's array holds (limit), moved at a time (batchcount), and
 * the shared array's size as a multiple of batchcount (sharedfactor). */
struct slab_tunables {
	unsigned limit, batchcount, sharedfactor;
};

/* What /proc/slabinfo and x-query-slabinfo show about one cache. */
struct slab_cache_info {
	char name[SLAB_NAME_MAX];
	const char *policy;          /* the policy serving the cache */
	unsigned long active_objs, num_objs;
	unsigned objsize;            /* object size with metadata */
	unsigned size;               /* object size asked for */
	unsigned objperslab, pagesperslab;
	unsigned long active_slabs, num_slabs;
	unsigned long partial_slabs, cpu_slabs;
	unsigned min_partial;
	struct slab_tunables tunables; /* SLAB's; zeros under SLUB and SLOB */
	unsigned long sharedavail;   /* objects in SLAB's shared array */
	unsigned long held_objs;     /* free objects held by threads' arrays, sheaves,
				      * the shared array or the barn */
	/* What the policy cannot count for this cache, or NULL (SLOB: slabs
	 * are shared by every cache, so only the objects are its own). */
	const char *uncounted;
	unsigned flags;              /* debug flags in force */
	unsigned nr_aliases;
	char aliases[SLAB_MAX_ALIASES][SLAB_NAME_MAX];
	/* Slow-path events; the fast paths count nothing, to stay short. */
	uint64_t alloc_slow, free_slow, free_remote;
	uint64_t slabs_allocated, slabs_freed, bad_frees;
};

/*
 * Creates a cache, or returns a compatible existing one (same size after
 * alignment, compatible flags, no constructor, no debug flags) with this name
 * recorded as an alias. NULL with errno set on bad parameters (size 0 or
 * larger than an order-3 slab, a name too long or already used) or no memory.
 */
struct slab_cache *slab_cache_create(struct mm_arena *a, const char *name,
				     const struct slab_cache_params *p);
/* Drops the reference taken under NAME (the name given to
 * slab_cache_create: a merged cache is shared under several, and only the
 * caller knows which one is its own) and frees the name for a new cache; the
 * last reference frees the cache. Objects still in use are reported and their
 * slabs leaked rather than handed to the buddy. A name the cache does not
 * hold is reported and changes nothing. */
void slab_cache_destroy(struct slab_cache *c, const char *name);

void *slab_alloc(struct slab_cache *c);
void slab_free(struct slab_cache *c, void *obj);
/* The same, naming the caller that flag U records (kmalloc passes its own). */
void *slab_alloc_caller(struct slab_cache *c, void *caller);
void slab_free_caller(struct slab_cache *c, void *obj, void *caller);

/* Size the object was created with (what a user may write). */
size_t slab_object_size(const struct slab_cache *c);
const char *slab_cache_name(const struct slab_cache *c);

/* The cache an arena address belongs to if it is in a slab, else NULL. */
struct slab_cache *slab_cache_of(struct mm_arena *a, const void *p);

/* Gives empty slabs back to the buddy (this thread's cached slab too).
 * Returns the number of frames freed. */
size_t slab_cache_shrink(struct slab_cache *c);
size_t slab_shrink_all(struct mm_arena *a);

/* Walks every slab of the cache and checks its freelists, counters and
 * lists; reports what it finds. 0 if consistent, -EUCLEAN otherwise. */
int slab_cache_validate(struct slab_cache *c);

void slab_cache_get_info(struct slab_cache *c, struct slab_cache_info *info);

/* The arena's policy: "slub", "slab" or "slob". */
const char *slab_policy_name(const struct mm_arena *a);
/* The policy named s, or -1. */
int slab_policy_parse(const char *s);
/* Sets the tunables of the cache known by NAME (a merged cache's alias
 * too), as writing "name limit batchcount sharedfactor" to /proc/slabinfo
 * did: -ENOENT (no such cache), -EOPNOTSUPP (the policy has none), -EINVAL
 * (limit 0 or above SLAB_LIMIT_MAX, batchcount 0 or above limit, shared
 * factor above SLAB_SHARED_MAX). */
#define SLAB_LIMIT_MAX 4096
#define SLAB_SHARED_MAX 64
int slab_cache_tune(struct mm_arena *a, const char *name, const struct slab_tunables *t);
/* One round of the reaper over every cache (SLAB: idle arrays drained,
 * surplus free slabs freed; the arena's reaper thread runs it every
 * SLAB_REAP_MS). Returns frames freed. */
#define SLAB_REAP_MS 2000
size_t slab_reap(struct mm_arena *a);
/*
 * SLOB's numbers, which are the arena's: its pages are shared by every cache
 * and by kmalloc. pages[] are the partially free pages of the small (blocks
 * < 256 B), medium (< 1 KiB) and large (< 4 KiB) lists; free_bytes their
 * free space. -EOPNOTSUPP when the arena runs another policy.
 */
struct slob_arena_stats {
	unsigned long pages[3];
	unsigned long full_pages;       /* pages with no free unit */
	unsigned long big_blocks;       /* blocks of whole pages (>= a page) */
	unsigned long big_pages;        /* the frames those hold */
	unsigned long pages_held;       /* every frame SLOB holds now */
	unsigned long free_bytes;
	uint64_t pages_allocated, pages_freed; /* small-block pages from and to the buddy */
	uint64_t bad_frees;             /* refused frees (kmalloc's and caches') */
};
int slob_arena_stats(struct mm_arena *a, struct slob_arena_stats *out);
/* Calls fn for each cache of the arena (merged caches once), in creation order. */
void slab_for_each_cache(struct mm_arena *a, void (*fn)(struct slab_cache *c, void *arg),
			 void *arg);

/* Frames the slab holds now, whatever the policy: every cache's slabs, and
 * SLOB's pages, which are the arena's rather than a cache's. */
size_t slab_frames_held(struct mm_arena *a);

/* /proc/slabinfo version 2.1 text; returns the length the full text needs. */
size_t slab_format_slabinfo(struct mm_arena *a, char *buf, size_t len);

/*
 * Where reports of bad calls and corruption go (default: stderr). Each
 * report names the cache and the object address, in Linux's words.
 */
typedef void (*slab_report_fn)(const char *report, void *arg);
void slab_set_report_hook(slab_report_fn fn, void *arg);
/* Used by kmalloc/kvmalloc to report through the same hook. */
void slab_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Internal: the slab over an arena (the list of its caches, each zone's slab
 * descriptors); mm_create and mm_destroy (mm.h) call these. Detaching frees
 * the caches their users never destroyed, reporting objects still in use.
 */
int slab_arena_attach(struct mm_arena *a, enum mm_slab_policy policy);
void slab_arena_detach(struct mm_arena *a);

#endif
