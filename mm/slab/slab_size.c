/*
 * Sizing a cache: where the free pointer, the red zones and the tracking
 * records go in an object's slot, which slab order to use (Linux's
 * calculate_order), and what follows from those: objects per slab, the mask
 * that finds a slab from an address, and how many slabs the node and the
 * threads keep.
 */
#include <errno.h>
#include <unistd.h>
#include "slab_internal.h"

static unsigned ilog2_u(unsigned long v)
{
	return v ? 63u - (unsigned)__builtin_clzl(v) : 0;
}

static unsigned clamp_u(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Like Linux's calculate_order: the smallest order that holds enough objects
 * for the fast path to pay off while wasting at most 1/16 (then 1/8, 1/4). */
static int slab_pick_order(unsigned stride)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned min_objects = 4 * (ilog2_u(cpus > 0 ? (unsigned long)cpus : 1) + 2);

	for (; min_objects >= 1; min_objects /= 2) {
		for (unsigned fraction = 16; fraction >= 4; fraction /= 2) {
			for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++) {
				unsigned long bytes = PAGE_SIZE << order;
				unsigned long objs = bytes / stride;
				if (objs >= min_objects && bytes % stride <= bytes / fraction)
					return (int)order;
			}
		}
		if (min_objects == 1)
			break;
	}
	for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++)
		if ((PAGE_SIZE << order) / stride >= 1)
			return (int)order;
	return -1;
}

/* Lays out one object slot. Without debug flags the free pointer sits in the
 * middle of the object, so a small overflow from the previous object cannot
 * reach it; with a constructor or debug flags it moves behind the object,
 * where poisoning and constructed contents cannot clobber it. */
static void slab_layout_object(struct slab_cache *c, size_t size, size_t align)
{
	bool outside = c->ctor || c->debug;
	size_t red_left = (c->debug & SLAB_F_REDZONE) ? ALIGN_UP(8, align) : 0;
	size_t end = red_left + size;

	if (c->debug & SLAB_F_REDZONE)
		end = ALIGN_UP(end, 8) + 8;   /* right red zone of at least 8 bytes */
	if (outside) {
		end = ALIGN_UP(end, 8);
		c->offset = (unsigned)(end - red_left);
		end += sizeof(void *);
	} else {
		c->offset = (unsigned)(size / 2 / 8 * 8);
		if (end < sizeof(void *))
			end = sizeof(void *);
	}
	c->track_offset = (unsigned)(end - red_left);
	if (c->debug & SLAB_F_TRACK)
		end += 2 * sizeof(struct slab_track);
	c->red_left = (unsigned)red_left;
	c->stride = (unsigned)ALIGN_UP(end, align);
	c->object_size = (unsigned)size;
	c->align = (unsigned)align;
}

int slab_cache_layout(struct slab_cache *c, size_t size, size_t align, int order)
{
	slab_layout_object(c, size, align);
	if (order < 0)
		order = slab_pick_order(c->stride);
	if (order < 0 || order > SLAB_MAX_ORDER || (PAGE_SIZE << order) / c->stride < 1 ||
	    (PAGE_SIZE << order) / c->stride > UINT16_MAX)
		return -EINVAL;
	c->order = (unsigned)order;
	c->objects = (unsigned)((PAGE_SIZE << order) / c->stride);
	c->slab_mask = ~((uintptr_t)(PAGE_SIZE << order) - 1);
	c->slab_used = c->objects * c->stride;
	c->reciprocal = (uint32_t)(((1ULL << 32) + c->stride - 1) / c->stride);
	c->min_partial = clamp_u(ilog2_u(c->stride) / 2, 5, 10);
	/* Linux keeps about 240 objects on a cpu partial list; we let a thread
	 * keep 256 KiB of objects (tcmalloc keeps up to 4 MiB per thread), so
	 * a batch of a thousand small objects cycles without the node lists.
	 * Full slabs cost nothing to hold; the cap only bounds how long remote
	 * frees into them can wait. */
	unsigned slab_bytes = (unsigned)(PAGE_SIZE << c->order);
	c->cpu_partial_max = clamp_u((256u << 10) / slab_bytes, 2, 64);
	c->cpu_full_max = 128;
	return 0;
}
