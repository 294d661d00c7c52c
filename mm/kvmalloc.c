/*
 * kvmalloc/kvfree: "contiguous if possible, scattered if not". Up to
 * KMALLOC_MAX_SIZE goes to kmalloc; larger sizes (and small ones kmalloc
 * cannot serve) try one buddy block of zone Normal without waiting (no
 * draining, no compaction) used through the direct map; else frames,
 * largest blocks first, are stitched into the vmap area. kvfree tells the three kinds apart by address. Owns the kvmalloc
 * counters and the marks that make a contiguous block recognizable.
 */
#include <errno.h>
#include <string.h>
#include "kmalloc_internal.h"
#include "slab.h"
#include "vmap.h"

/*
 * A contiguous block's head frame carries KV_CONTIG_TAG(order) in .owner
 * (user data of a VMM frame): that is how kvfree knows the block is
 * kvmalloc's and which order to free. Frame indexes never reach the tag
 * range (a zone would need 16 TiB), and the tag is cleared before the block
 * goes back, so a stale tag cannot make a later owner's block look like ours.
 */
#define KV_TAG_BASE 0xffffff00u
#define KV_CONTIG_TAG(order) (KV_TAG_BASE | (uint32_t)(order))

static bool kv_tag_order(uint32_t owner, unsigned *order)
{
	if ((owner & ~0xffu) != KV_TAG_BASE || (owner & 0xffu) > MM_MAX_ORDER_LIMIT)
		return false;
	*order = owner & 0xffu;
	return true;
}

static size_t kv_arena_bytes(struct mm_arena *a)
{
	size_t total = 0;

	for (int i = 0; i < MM_NR_ZONES; i++)
		if (a->zone[i].present)
			total += a->zone[i].bytes;
	return total;
}

static size_t kv_pages(size_t size)
{
	return (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

static unsigned kv_floor_log2(size_t n)
{
	return 63u - (unsigned)__builtin_clzll((unsigned long long)n);
}

static void *kv_alloc_contig(struct mm_zone *z, size_t pages)
{
	unsigned order = pages <= 1 ? 0 : kv_floor_log2(pages - 1) + 1;

	if (order > z->buddy.max_order || z->buddy.nr_frames >= KV_TAG_BASE)
		return NULL;
	long idx = mm_frames_alloc(z, order, MT_UNMOVABLE, FRAME_VMM, false);
	if (idx < 0)
		return NULL;
	__atomic_store_n(&z->buddy.frames[idx].owner, KV_CONTIG_TAG(order), __ATOMIC_RELEASE);
	return mm_frame_ptr(z, (uint32_t)idx);
}

/* Gives every frame of a frame list back (each an order-0 block). */
static void kv_free_list(struct mm_zone *z, uint32_t first)
{
	uint32_t idx = first;

	while (idx != FRAME_NONE) {
		uint32_t next = z->buddy.frames[idx].owner;
		z->buddy.frames[idx].owner = FRAME_NONE;
		mm_frames_free(z, idx, 0);
		idx = next;
	}
}

/*
 * Takes pages frames, largest blocks first, each split into order-0 frames
 * and appended to a frame list in address order (so runs of consecutive
 * frames map as one). Once an order fails, larger ones are not retried.
 */
static int kv_take_frames(struct mm_zone *z, size_t pages, uint32_t *first)
{
	struct frame *frames = z->buddy.frames;
	uint32_t head = FRAME_NONE, tail = FRAME_NONE;
	unsigned cap = z->buddy.max_order;
	size_t left = pages;

	while (left) {
		unsigned order = kv_floor_log2(left);
		if (order > cap)
			order = cap;
		long idx = mm_frames_alloc(z, order, MT_UNMOVABLE, FRAME_VMM, false);
		if (idx < 0 && order > 0) {
			cap = order - 1;
			continue;
		}
		if (idx >= 0 && order > 0 && buddy_split_allocated(&z->buddy, (uint32_t)idx) < 0) {
			mm_frames_free(z, (uint32_t)idx, order);
			idx = -ENOMEM;
		}
		if (idx < 0) {
			kv_free_list(z, head);
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < (1u << order); i++) {
			uint32_t f = (uint32_t)idx + i;
			frames[f].owner = FRAME_NONE;
			if (tail == FRAME_NONE)
				head = f;
			else
				frames[tail].owner = f;
			tail = f;
		}
		left -= (size_t)1 << order;
	}
	*first = head;
	return 0;
}

static void *kv_alloc_scattered(struct mm_arena *a, struct mm_zone *z, size_t pages)
{
	struct vmap_range *r;
	uint32_t first;

	if (pages > z->buddy.nr_frames || vmap_range_alloc(a->vmap, pages, &r))
		return NULL;
	if (kv_take_frames(z, pages, &first)) {
		vmap_range_free(a->vmap, r);
		return NULL;
	}
	int err = vmap_map_frames(a->vmap, r, z, first);
	if (err == -EIO)
		return NULL;   /* reported: frames and range stay reserved */
	if (err) {
		kv_free_list(z, first);
		vmap_range_free(a->vmap, r);
		return NULL;
	}
	return r->addr;
}

static void *kv_alloc(struct mm_arena *a, size_t size, unsigned flags, void *caller)
{
	struct kvmalloc_stats *kv = &a->kmalloc->kv;
	void *p;

	if (size == 0 || size > kv_arena_bytes(a) || (flags & ~KV_NO_CONTIG)) {
		slab_report("kvmalloc: %s (size %zu, flags %#x)\n",
			    size == 0 ? "size 0" : (flags & ~KV_NO_CONTIG) ? "unknown flags" :
			    "size larger than the arena", size, flags);
		kmalloc_count(&kv->bad_calls);
		kmalloc_count(&kv->failures);
		errno = EINVAL;
		return NULL;
	}
	if (size <= KMALLOC_MAX_SIZE) {
		p = kmalloc_caller(a, size, caller);
		if (p) {
			kmalloc_count(&kv->kmalloc_allocs);
			return p;
		}
		/* No slab to be had (kmalloc-2k's slabs are order-3 blocks, which
		 * a fragmented zone may not have): whole frames still serve, as
		 * Linux's kvmalloc falls back to vmalloc. */
	}

	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	size_t pages = kv_pages(size);
	if (!(flags & KV_NO_CONTIG)) {
		p = kv_alloc_contig(z, pages);
		if (p) {
			kmalloc_count(&kv->contig_allocs);
			return p;
		}
	}
	p = kv_alloc_scattered(a, z, pages);
	if (p) {
		kmalloc_count(&kv->scattered_allocs);
		return p;
	}
	kmalloc_count(&kv->failures);
	errno = ENOMEM;
	return NULL;
}

void *kvmalloc_flags(struct mm_arena *a, size_t size, unsigned flags)
{
	return kv_alloc(a, size, flags, __builtin_return_address(0));
}

void *kvmalloc(struct mm_arena *a, size_t size)
{
	return kv_alloc(a, size, 0, __builtin_return_address(0));
}

void *kvzalloc(struct mm_arena *a, size_t size)
{
	void *p = kv_alloc(a, size, 0, __builtin_return_address(0));

	if (p)
		memset(p, 0, size);
	return p;
}

/* The order of the kvmalloc block headed at p, if p is one. */
static bool kv_contig_order(struct mm_zone *z, const void *p, uint32_t *idx, unsigned *order)
{
	if ((uintptr_t)p & (PAGE_SIZE - 1))
		return false;
	*idx = mm_ptr_frame(z, p);
	const struct frame *f = &z->buddy.frames[*idx];
	return frame_state_get(f) == FRAME_VMM &&
	       kv_tag_order(__atomic_load_n(&f->owner, __ATOMIC_ACQUIRE), order);
}

/* Frees the contiguous block at p; false if p is not one (or no longer). */
static bool kv_free_contig(struct mm_zone *z, const void *p)
{
	uint32_t idx;
	unsigned order;

	if (!kv_contig_order(z, p, &idx, &order))
		return false;
	/* Clearing the tag claims the block: of two racing kvfrees one wins. */
	uint32_t tag = KV_CONTIG_TAG(order);
	if (!__atomic_compare_exchange_n(&z->buddy.frames[idx].owner, &tag, FRAME_NONE, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return false;
	if (mm_frames_free(z, idx, order) < 0) {
		slab_report("kvfree: buddy refused block 0x%016lx of order %u; leaked\n",
			    (unsigned long)(uintptr_t)p, order);
		return false;
	}
	return true;
}

static void kv_vfree(struct mm_arena *a, const void *p)
{
	struct kvmalloc_stats *kv = &a->kmalloc->kv;
	struct vmap_range *r = vmap_range_take(a->vmap, p);

	if (!r) {
		slab_report("kvfree: 0x%016lx is in the vmap area but starts no live allocation "
			    "(double free or inner pointer); ignored\n", (unsigned long)(uintptr_t)p);
		kmalloc_count(&kv->bad_calls);
		return;
	}
	int err = vunmap(a->vmap, r);
	if (err) {
		/* Still reachable through the area: freeing the frames would
		 * hand out memory someone can write. Leak them instead. */
		slab_report("kvfree: cannot unmap 0x%016lx (%s); its frames stay reserved\n",
			    (unsigned long)(uintptr_t)p, strerror(-err));
		return;
	}
	kv_free_list(r->zone, r->first_frame);
	vmap_range_free(a->vmap, r);
	kmalloc_count(&kv->frees_scattered);
}

void kvfree(struct mm_arena *a, const void *p)
{
	struct kvmalloc_stats *kv = &a->kmalloc->kv;

	if (!p)
		return;
	if (vmap_area_contains(a->vmap, p)) {
		kv_vfree(a, p);
		return;
	}
	struct mm_zone *z = mm_arena_zone_of(a, p);
	if (z && kmalloc_owns(a, p)) {
		if (kfree_caller(a, p, __builtin_return_address(0), "kvfree") == 0)
			kmalloc_count(&kv->frees_kmalloc);
		return;
	}
	if (z && kv_free_contig(z, p)) {
		kmalloc_count(&kv->frees_contig);
		return;
	}
	slab_report("kvfree: 0x%016lx is not a kvmalloc allocation (%s); ignored\n",
		    (unsigned long)(uintptr_t)p, z ? "not a live block kvmalloc took" : "not in the arena");
	kmalloc_count(&kv->bad_calls);
}

const char *kvmalloc_kind(struct mm_arena *a, const void *p)
{
	uint32_t idx;
	unsigned order;

	if (!p)
		return NULL;
	if (vmap_area_contains(a->vmap, p))
		return vmap_range_find(a->vmap, p) ? "scattered" : NULL;
	struct mm_zone *z = mm_arena_zone_of(a, p);
	if (!z)
		return NULL;
	if (kmalloc_owns(a, p))
		return ksize(a, p) ? "kmalloc" : NULL;
	return kv_contig_order(z, p, &idx, &order) ? "contig" : NULL;
}

void kvmalloc_get_stats(struct mm_arena *a, struct kvmalloc_stats *out)
{
	const struct kvmalloc_stats *kv = &a->kmalloc->kv;

	out->kmalloc_allocs = __atomic_load_n(&kv->kmalloc_allocs, __ATOMIC_RELAXED);
	out->contig_allocs = __atomic_load_n(&kv->contig_allocs, __ATOMIC_RELAXED);
	out->scattered_allocs = __atomic_load_n(&kv->scattered_allocs, __ATOMIC_RELAXED);
	out->failures = __atomic_load_n(&kv->failures, __ATOMIC_RELAXED);
	out->frees_kmalloc = __atomic_load_n(&kv->frees_kmalloc, __ATOMIC_RELAXED);
	out->frees_contig = __atomic_load_n(&kv->frees_contig, __ATOMIC_RELAXED);
	out->frees_scattered = __atomic_load_n(&kv->frees_scattered, __ATOMIC_RELAXED);
	out->bad_calls = __atomic_load_n(&kv->bad_calls, __ATOMIC_RELAXED);
	vmap_area_usage(a->vmap, &out->vmap_bytes, &out->vmap_mappings);
}
