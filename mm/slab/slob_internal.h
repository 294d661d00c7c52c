/*
 * SLOB's internals, shared by the slob_*.c files: SLOB units and their block
 * encoding, the arena's page lists, how a SLOB page and a big block use the
 * frame's struct slab descriptor, and what each file offers the others.
 *
 *   slob_policy.c     the cache operations and the policy table
 *   slob_kmalloc.c    kmalloc with a size header; kfree and ksize
 *   slob_validate.c   checking every page and big block
 *   slob_page.c       page lists, block encoding, first fit, coalescing
 *   slob_big.c        blocks of whole pages from the buddy
 *   slob_arena.c      the arena's state (lock, lists, key) and numbers
 *
 * A SLOB page is an order-0 frame of zone Normal cut into blocks of SLOB
 * units (2 bytes). Its free blocks form a chain in address order stored in
 * the free blocks themselves: a block of n > 1 units holds n in its first
 * unit and the offset (in units from the page start) of the next free block
 * in its second; a one-unit block holds minus that offset. The last block's
 * next offset is SLOB_PAGE_UNITS, the end of the page. Allocated blocks carry
 * nothing (caches know their size; kmalloc puts a header in front).
 *
 * Descriptor of a SLOB page (its frame's struct slab; cache stays NULL, so
 * slab_cache_of says "no cache", as Linux's SLOB pages had no kmem_cache):
 *   list       SLAB_LIST_SLOB_PAGE
 *   freelist   the first free block, NULL when the page is full
 *   objects    free units
 *   inuse      the arena list it is on (enum slob_list_id)
 *   next/prev  the links of that list
 * Descriptor of a big block's head frame:
 *   list       SLAB_LIST_SLOB_BIG
 *   slob_size  bytes asked for
 *   freelist   the owning cache (NULL: kmalloc's)
 *   inuse      the block's order
 *   next/prev  links on the arena's big list
 * Every descriptor write, and every read of a SLOB page, is under the arena
 * lock; marks are cleared before the frames go back to the buddy, so a stale
 * mark never makes a later owner's frame look like SLOB's.
 */
#ifndef MM_SLOB_INTERNAL_H
#define MM_SLOB_INTERNAL_H

#include "slab_internal.h"

typedef int16_t slobidx_t;

#define SLOB_UNIT 2
#define SLOB_UNITS(size) (((size) + SLOB_UNIT - 1) / SLOB_UNIT)
#define SLOB_PAGE_UNITS ((slobidx_t)(PAGE_SIZE / SLOB_UNIT))
/* Linux's list breaks: a request picks the list of pages it searches. */
#define SLOB_BREAK1 256
#define SLOB_BREAK2 1024
/* ARCH_KMALLOC_MINALIGN: kmalloc's header size and smallest alignment. */
#define SLOB_KMALLOC_MINALIGN 8

_Static_assert(PAGE_SIZE / SLOB_UNIT <= INT16_MAX, "SLOB offsets must fit a slobidx_t");

enum slob_list_id {
	SLOB_SMALL,     /* pages found by blocks < SLOB_BREAK1 */
	SLOB_MEDIUM,    /* < SLOB_BREAK2 */
	SLOB_LARGE,     /* < PAGE_SIZE */
	SLOB_FULL,      /* no free unit: searched by nobody, listed for validate */
	SLOB_BIG,       /* big blocks' head frames */
	SLOB_NR_LISTS,
};

/* A list with its tail, so that a page can be rotated to the front. */
struct slob_list {
	struct slab *first, *last;
	unsigned long nr;
};

struct slob_arena {
	pthread_mutex_t lock;       /* every list, page, block and counter below */
	struct mm_zone *zone;       /* Normal: where every SLOB frame comes from */
	struct slob_list list[SLOB_NR_LISTS];
	uint32_t key;               /* mixes into kmalloc headers' check word */
	uint64_t pages_allocated, pages_freed;
	uint64_t big_pages;         /* frames held by big blocks */
	uint64_t bad_frees;         /* refused frees, every kind */
};

/* A cache's own numbers, under the arena lock. */
struct slob_cache {
	unsigned long live;         /* objects allocated and not freed */
	uint64_t bytes;             /* their bytes (object size each) */
	uint64_t allocs, frees;
	uint64_t big_allocated, big_freed;
};

static inline struct slob_arena *slob_arena(struct mm_arena *a)
{
	return a->slab_policy_data;
}

static inline slobidx_t *slob_page_base(struct slob_arena *sa, const struct slab *s)
{
	return mm_frame_ptr(sa->zone, s->frame);
}

/* The smallest order whose block holds size bytes (get_order). */
static inline unsigned slob_order(size_t size)
{
	return size <= PAGE_SIZE ? 0 : 64u - (unsigned)__builtin_clzll((size - 1) >> PAGE_SHIFT);
}

/* slob_page.c; all with the arena lock held. */
/* The descriptor of p's SLOB page or big block (its head frame), or NULL. */
struct slab *slob_lookup(struct slob_arena *sa, const void *p);
/* A block of size bytes whose address plus align_offset is aligned to
 * align (a power of two, at least SLOB_UNIT); NULL when no frame is left. */
void *slob_block_alloc(struct slob_arena *sa, size_t size, size_t align, size_t align_offset);
/* Frees the block of size bytes at b in SLOB page s, merging it with its
 * free neighbours; a page left fully free goes back to the buddy. false
 * (nothing changed) when the block does not fit the page or overlaps one of
 * its free blocks: not an allocated block. */
bool slob_block_free(struct slob_arena *sa, struct slab *s, void *b, size_t size);
/* Whether [b, b + size) lies in page s and overlaps none of its free blocks. */
bool slob_block_allocated(struct slob_arena *sa, const struct slab *s, const void *b,
			  size_t size);
/* Decoding a free block, for validate and the tests' view of a page. */
slobidx_t slob_units(const slobidx_t *b);
slobidx_t slob_next_offset(const slobidx_t *b);
void slob_list_del(struct slob_list *l, struct slab *s);
void slob_list_add(struct slob_list *l, struct slab *s);

/* slob_big.c; with the arena lock held. */
void *slob_big_alloc(struct slob_arena *sa, size_t size, struct slab_cache *owner);
/* Gives the big block s back; the caller has checked it is one. */
void slob_big_free(struct slob_arena *sa, struct slab *s);

/* slob_validate.c */
int slob_validate_arena(struct slob_arena *sa, const char *who);

/* slob_kmalloc.c */
void *slob_kmalloc(struct mm_arena *a, size_t size, void *caller);
int slob_kfree(struct mm_arena *a, const void *p, void *caller, const char *who);
size_t slob_ksize(struct mm_arena *a, const void *p);

/* slob_arena.c */
int slob_arena_init(struct mm_arena *a);
void slob_arena_fini(struct mm_arena *a);

#endif
