/*
 * The vmap area of an arena: the PROT_NONE reservation, the first-fit range
 * allocator inside it, the hash of live ranges by start address, and the
 * stitching of frame lists into ranges with MAP_FIXED (see vmap.h).
 *
 * Every range, free or busy, is a record on one address-ordered list, so a
 * freed range merges with free neighbours in O(1); first fit walks that list
 * (the list is as long as the number of live ranges, which stays small).
 * Mapping counts follow PLATFORM.md §9: a run of consecutive frames is one
 * host mapping whatever its length, and a mapped range splits the
 * placeholder around it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/mman.h>
#include "vmap.h"
#include "mapbudget.h"
#include "slab.h"

#define VMAP_HASH_BITS 8
#define VMAP_HASH_SIZE (1u << VMAP_HASH_BITS)
/* The vmap areas of the process together may use this share of
 * vm.max_map_count; guest views and balloon holes need the rest (I4). */

struct vmap_area {
	uint8_t *base;
	size_t bytes;
	struct slab_cache *records;
	pthread_mutex_t lock;          /* the list, the hash and the counters */
	struct vmap_range *ranges;     /* address order; starts with &first */
	/*
	 * The range at base. Merges keep the lower record, so this one is
	 * never merged away: with everything freed it spans the area and the
	 * record cache holds nothing (its slabs can go back, as I3 wants).
	 */
	struct vmap_range first;
	struct vmap_range *hash[VMAP_HASH_SIZE];
	uint64_t nr_mapped;            /* ranges with frames mapped */
	uint64_t nr_runs;              /* host mappings their frames take */
	uint64_t mapped_pages;
};

/* Same flags as the reservation, so the kernel merges adjacent pieces. */
static int vmap_placeholder(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	return 0;
}

static unsigned vmap_hash(const struct vmap_area *va, const void *addr)
{
	uint64_t page = (uint64_t)((const uint8_t *)addr - va->base) >> PAGE_SHIFT;
	return (unsigned)((page * 0x9E3779B97F4A7C15ull) >> (64 - VMAP_HASH_BITS));
}

int vmap_area_create(struct mm_arena *a, struct vmap_area **out)
{
	struct mm_zone *normal = mm_zone_get(a, ZONE_NORMAL);

	if (!normal || !normal->bytes || !a->desc_cache)
		return -EINVAL;
	size_t zone = (normal->bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	size_t mult = (VMAP_MIN_BYTES + zone - 1) / zone;
	if (mult < VMAP_AREA_ZONE_MULT)
		mult = VMAP_AREA_ZONE_MULT;
	size_t bytes = zone * mult;

	struct vmap_area *va = calloc(1, sizeof(*va));
	if (!va)
		return -ENOMEM;
	void *base = mmap(NULL, bytes, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		int err = -errno;
		free(va);
		return err;
	}
	va->first = (struct vmap_range){ .addr = base, .span_pages = bytes >> PAGE_SHIFT,
					 .first_frame = FRAME_NONE };
	va->base = base;
	va->bytes = bytes;
	va->records = a->desc_cache;
	va->ranges = &va->first;
	pthread_mutex_init(&va->lock, NULL);
	*out = va;
	return 0;
}

void vmap_area_destroy(struct vmap_area *va)
{
	unsigned long live = 0;

	if (!va)
		return;
	for (struct vmap_range *r = va->ranges, *next; r; r = next) {
		next = r->next;
		if (r->mapped) {
			live++;
			mm_maps_uncharge(MM_MAPS_VMAP, r->nr_runs + 1);
		}
		if (r != &va->first)
			slab_free(va->records, r);
	}
	if (live)
		slab_report("vmap: %lu ranges still mapped when the area was destroyed (%lu pages)\n",
			    live, (unsigned long)va->mapped_pages);
	munmap(va->base, va->bytes);
	pthread_mutex_destroy(&va->lock);
	free(va);
}

bool vmap_area_contains(const struct vmap_area *va, const void *p)
{
	return (const uint8_t *)p >= va->base && (const uint8_t *)p < va->base + va->bytes;
}

void vmap_area_bounds(const struct vmap_area *va, const void **start, size_t *bytes)
{
	*start = va->base;
	*bytes = va->bytes;
}

int vmap_range_alloc(struct vmap_area *va, size_t nr_pages, struct vmap_range **out)
{
	size_t span = nr_pages + 1;
	struct vmap_range *r, *rest;

	if (nr_pages == 0 || nr_pages >= va->bytes >> PAGE_SHIFT)
		return nr_pages ? -ENOMEM : -EINVAL;
	/* Taken before the lock: the slab may need the buddy. */
	rest = slab_alloc(va->records);
	if (!rest)
		return -ENOMEM;

	pthread_mutex_lock(&va->lock);
	for (r = va->ranges; r; r = r->next)
		if (!r->busy && r->span_pages >= span)
			break;
	if (r && r->span_pages > span) {
		*rest = (struct vmap_range){ .addr = r->addr + (span << PAGE_SHIFT),
					     .span_pages = r->span_pages - span,
					     .first_frame = FRAME_NONE,
					     .prev = r, .next = r->next };
		if (r->next)
			r->next->prev = rest;
		r->next = rest;
		r->span_pages = span;
		rest = NULL;
	}
	if (r) {
		r->busy = true;
		r->nr_pages = nr_pages;
		r->first_frame = FRAME_NONE;
		r->nr_runs = 0;
		r->zone = NULL;
	}
	pthread_mutex_unlock(&va->lock);

	if (rest)
		slab_free(va->records, rest);
	if (!r)
		return -ENOMEM;
	*out = r;
	return 0;
}

/* Unlinks b, which follows a, and gives its pages to a. Lock held. */
static void vmap_absorb_locked(struct vmap_range *a, struct vmap_range *b)
{
	a->span_pages += b->span_pages;
	a->next = b->next;
	if (b->next)
		b->next->prev = a;
}

void vmap_range_free(struct vmap_area *va, struct vmap_range *r)
{
	struct vmap_range *dead[2] = { NULL, NULL };

	pthread_mutex_lock(&va->lock);
	r->busy = false;
	if (r->next && !r->next->busy) {
		dead[0] = r->next;
		vmap_absorb_locked(r, r->next);
	}
	if (r->prev && !r->prev->busy) {
		dead[1] = r;
		vmap_absorb_locked(r->prev, r);
	}
	pthread_mutex_unlock(&va->lock);

	for (int i = 0; i < 2; i++)
		if (dead[i])
			slab_free(va->records, dead[i]);
}

/* Runs of consecutive frames in the list, or -EINVAL if the list is not
 * exactly nr frames of z (a cycle stops at nr + 1). */
static long vmap_count_runs(const struct mm_zone *z, uint32_t first, size_t nr)
{
	const struct frame *frames = z->buddy.frames;
	uint32_t prev = FRAME_NONE;
	size_t n = 0;
	long runs = 0;

	for (uint32_t idx = first; idx != FRAME_NONE; idx = frames[idx].owner) {
		if (idx >= z->buddy.nr_frames || ++n > nr)
			return -EINVAL;
		if (prev == FRAME_NONE || idx != prev + 1)
			runs++;
		prev = idx;
	}
	return n == nr ? runs : -EINVAL;
}

/* One mmap per run of consecutive frames, walking the list once. */
static int vmap_map_runs(struct vmap_range *r, struct mm_zone *z, uint32_t first)
{
	const struct frame *frames = z->buddy.frames;
	uint32_t idx = first;
	size_t done = 0;

	while (idx != FRAME_NONE) {
		uint32_t start = idx, len = 1;
		idx = frames[idx].owner;
		while (idx != FRAME_NONE && idx == start + len) {
			len++;
			idx = frames[idx].owner;
		}
		void *at = r->addr + (done << PAGE_SHIFT);
		void *p = mmap(at, (size_t)len << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, z->memfd, (off_t)start << PAGE_SHIFT);
		if (p == MAP_FAILED)
			return -errno;
		done += len;
	}
	return 0;
}

int vmap_map_frames(struct vmap_area *va, struct vmap_range *r, struct mm_zone *z,
		    uint32_t first)
{
	if (!r->busy || r->mapped || z->id != ZONE_NORMAL)
		return -EINVAL;
	long runs = vmap_count_runs(z, first, r->nr_pages);
	if (runs < 0)
		return (int)runs;
	int err = mm_maps_charge(MM_MAPS_VMAP, (uint64_t)runs + 1);
	if (err)
		return err;

	err = vmap_map_runs(r, z, first);
	if (err) {
		if (vmap_placeholder(r->addr, r->nr_pages << PAGE_SHIFT)) {
			slab_report("vmap: cannot unmap 0x%016lx after a failed map: frames stay reserved\n",
				    (unsigned long)(uintptr_t)r->addr);
			return -EIO;
		}
		mm_maps_uncharge(MM_MAPS_VMAP, (uint64_t)runs + 1);
		return err;
	}

	unsigned h = vmap_hash(va, r->addr);
	pthread_mutex_lock(&va->lock);
	r->zone = z;
	r->first_frame = first;
	r->nr_runs = (uint32_t)runs;
	r->mapped = true;
	r->live = true;
	r->hnext = va->hash[h];
	va->hash[h] = r;
	va->nr_mapped++;
	va->nr_runs += (uint64_t)runs;
	va->mapped_pages += r->nr_pages;
	pthread_mutex_unlock(&va->lock);
	return 0;
}

/* Removes r from the hash. Lock held. */
static void vmap_unhash_locked(struct vmap_area *va, struct vmap_range *r)
{
	struct vmap_range **pp = &va->hash[vmap_hash(va, r->addr)];

	while (*pp && *pp != r)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = r->hnext;
	r->live = false;
}

int vunmap(struct vmap_area *va, struct vmap_range *r)
{
	pthread_mutex_lock(&va->lock);
	bool mapped = r->mapped;
	if (r->live)
		vmap_unhash_locked(va, r);
	pthread_mutex_unlock(&va->lock);
	if (!mapped)
		return -EINVAL;

	int err = vmap_placeholder(r->addr, r->nr_pages << PAGE_SHIFT);
	if (err)
		return err;

	pthread_mutex_lock(&va->lock);
	r->mapped = false;
	va->nr_mapped--;
	va->nr_runs -= r->nr_runs;
	va->mapped_pages -= r->nr_pages;
	pthread_mutex_unlock(&va->lock);
	mm_maps_uncharge(MM_MAPS_VMAP, (uint64_t)r->nr_runs + 1);
	return 0;
}

static struct vmap_range *vmap_lookup(struct vmap_area *va, const void *addr, bool take)
{
	struct vmap_range *r;

	if (!vmap_area_contains(va, addr) || ((uintptr_t)addr & (PAGE_SIZE - 1)))
		return NULL;
	pthread_mutex_lock(&va->lock);
	for (r = va->hash[vmap_hash(va, addr)]; r; r = r->hnext)
		if (r->addr == addr)
			break;
	if (r && take)
		vmap_unhash_locked(va, r);
	pthread_mutex_unlock(&va->lock);
	return r;
}

struct vmap_range *vmap_range_find(struct vmap_area *va, const void *addr)
{
	return vmap_lookup(va, addr, false);
}

struct vmap_range *vmap_range_take(struct vmap_area *va, const void *addr)
{
	return vmap_lookup(va, addr, true);
}

void vmap_area_usage(struct vmap_area *va, uint64_t *bytes, uint64_t *mappings)
{
	pthread_mutex_lock(&va->lock);
	*bytes = va->mapped_pages << PAGE_SHIFT;
	/* Each mapped range is followed by its guard's placeholder piece; one
	 * more piece precedes the first unless that range starts the area. */
	*mappings = va->nr_mapped == 0 ? 0 :
		    va->nr_runs + va->nr_mapped - (va->ranges->mapped ? 1 : 0);
	pthread_mutex_unlock(&va->lock);
}
