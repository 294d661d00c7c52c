/*
 * kmalloc under SLOB, as Linux's SLOB did it: no size classes. A request
 * below a page (header included) is a block of the SLOB lists with a header
 * of SLOB_KMALLOC_MINALIGN bytes in front holding the size asked for; a
 * larger one is a big block (slob_big.c) recording its size.
 *
 * The header is the size (32 bits) and a check word derived from the size,
 * the header's address and the arena's key. Linux kept the size alone; the
 * check word is what lets kfree and ksize tell a kmalloc object from a
 * pointer into the middle of one or from a cache's object (which has no
 * header), so those are refused instead of freeing a made-up size.
 *
 * ksize is the size asked for: the block may be a unit longer (Linux's SLOB
 * answered with the block's size), but kzalloc clears ksize bytes, and the
 * size asked for is what a caller may use.
 */
#include <errno.h>
#include "slob_internal.h"
#include "mm/kmalloc_internal.h"

#define SLOB_HDR SLOB_KMALLOC_MINALIGN

static uint32_t slob_hdr_check(const struct slob_arena *sa, const uint32_t *hdr, uint32_t size)
{
	return (size ^ sa->key ^ (uint32_t)((uintptr_t)hdr >> 3)) * 0x9e3779b1u;
}

void *slob_kmalloc(struct mm_arena *a, size_t size, void *caller)
{
	struct slob_arena *sa = slob_arena(a);
	(void)caller;
	if (size < PAGE_SIZE - SLOB_HDR) {
		pthread_mutex_lock(&sa->lock);
		uint32_t *hdr = slob_block_alloc(sa, size + SLOB_HDR, SLOB_HDR, SLOB_HDR);
		pthread_mutex_unlock(&sa->lock);
		if (!hdr) {
			errno = ENOMEM;
			return NULL;
		}
		hdr[0] = (uint32_t)size;
		hdr[1] = slob_hdr_check(sa, hdr, (uint32_t)size);
		return (char *)hdr + SLOB_HDR;
	}
	pthread_mutex_lock(&sa->lock);
	void *p = slob_big_alloc(sa, size, NULL);
	pthread_mutex_unlock(&sa->lock);
	if (!p)
		errno = ENOMEM;
	return p;
}

/*
 * The size kmalloc was asked for at p, with *sp its page or big block, or
 * 0 with *why saying what p is. Arena lock held.
 */
static size_t slob_kmalloc_size(struct mm_arena *a, struct slob_arena *sa, const void *p,
				struct slab **sp, const char **why)
{
	struct slab *s = slob_lookup(sa, p);
	*sp = s;
	if (!s) {
		*why = mm_arena_zone_of(a, p) ? "not in a SLOB page" : "not in the arena";
		return 0;
	}
	if (s->list == SLAB_LIST_SLOB_BIG) {
		if (p != mm_frame_ptr(sa->zone, s->frame))
			*why = "not the start of a block";
		else if (s->freelist)
			*why = "a block of a cache that is not kmalloc's";
		else
			return s->slob_size;
		return 0;
	}
	const uint32_t *hdr = (const uint32_t *)((const char *)p - SLOB_HDR);
	if (((uintptr_t)p & (SLOB_HDR - 1)) || (uintptr_t)hdr < (uintptr_t)slob_page_base(sa, s) ||
	    hdr[0] == 0 || hdr[0] >= PAGE_SIZE - SLOB_HDR ||
	    hdr[1] != slob_hdr_check(sa, hdr, hdr[0])) {
		*why = "not the start of an object";
		return 0;
	}
	if (!slob_block_allocated(sa, s, hdr, hdr[0] + SLOB_HDR)) {
		*why = "already free (double free?)";
		return 0;
	}
	return hdr[0];
}

int slob_kfree(struct mm_arena *a, const void *p, void *caller, const char *who)
{
	struct slob_arena *sa = slob_arena(a);
	struct slab *s;
	const char *why = NULL;
	(void)caller;
	pthread_mutex_lock(&sa->lock);
	size_t size = slob_kmalloc_size(a, sa, p, &s, &why);
	if (size && s->list == SLAB_LIST_SLOB_BIG)
		slob_big_free(sa, s);
	else if (size)
		slob_block_free(sa, s, (char *)p - SLOB_HDR, size + SLOB_HDR);
	else
		sa->bad_frees++;
	pthread_mutex_unlock(&sa->lock);
	if (size)
		return 0;
	slab_report("%s: 0x%016lx is not a kmalloc object (%s); ignored\n", who,
		    (unsigned long)(uintptr_t)p, why);
	kmalloc_count(&a->kmalloc->kv.bad_calls);
	return -EINVAL;
}

size_t slob_ksize(struct mm_arena *a, const void *p)
{
	struct slob_arena *sa = slob_arena(a);
	struct slab *s;
	const char *why;
	pthread_mutex_lock(&sa->lock);
	size_t size = slob_kmalloc_size(a, sa, p, &s, &why);
	pthread_mutex_unlock(&sa->lock);
	return size;
}
