/*
 * Guest frames as the buddy sees them: global frame numbers to zone frames,
 * giving guest blocks back, splitting a guest block so one frame can leave
 * it; mapping pieces of a view and populating them; and the process's
 * budget of host mappings for guest views (I4).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include "vmm/memory/guest_mem_internal.h"

struct mm_zone *gm_hfn_zone(struct mm_arena *a, uint64_t hfn, uint32_t *idx)
{
	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (z && hfn >= z->base_hfn && hfn - z->base_hfn < z->buddy.nr_frames) {
			*idx = (uint32_t)(hfn - z->base_hfn);
			return z;
		}
	}
	return NULL;
}

int gm_frames_free(struct mm_zone *z, uint32_t idx, unsigned order)
{
	int rc = z->id == ZONE_HUGE ? buddy_free(&z->buddy, idx, order)
				    : mm_frames_free(z, idx, order);
	return rc < 0 ? -EINVAL : 0;
}

void gm_frames_drop_backing(const struct mm_zone *z, uint32_t idx, uint64_t n)
{
	/* Best effort: a frame that keeps its page only costs the host it. */
	fallocate(z->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)idx << PAGE_SHIFT,
		  (off_t)(n << PAGE_SHIFT));
}

int gm_block_split(struct mm_zone *z, uint32_t idx, uint64_t gfn)
{
	struct buddy_zone *b = &z->buddy;
	long head = buddy_block_head(b, idx);

	if (head < 0)
		return -EINVAL;
	struct frame *f = &b->frames[head];
	enum frame_state st = frame_state_get(f);
	if (st != FRAME_GUEST && st != FRAME_BALLOONED)
		return -EINVAL;
	unsigned order = f->order;
	if (order == 0)
		return 0;
	if (buddy_split_allocated(b, (uint32_t)head) < 0)
		return -EINVAL;
	/* Blocks are placed whole, in frame order, so the head's GFN follows
	 * from idx's. */
	uint64_t head_gfn = gfn - (idx - (uint32_t)head);
	for (uint32_t i = 0; i < (1U << order); i++)
		b->frames[head + i].owner = (uint32_t)(head_gfn + i);
	return 0;
}

/*
 * Whether a page backed by a and the next one backed by b are in different
 * mappings: placeholders merge with placeholders (PLATFORM.md §9), a shmem
 * mapping runs on into the next frame of the same memfd, even one mapped
 * later; a hugetlb mapping made later merges with nothing. Only asked
 * across the edges of a changed range, which in zone Huge are 2 MiB edges.
 */
static int gm_break(const struct gm_backing *a, const struct gm_backing *b)
{
	if (a->placeholder || b->placeholder)
		return a->placeholder != b->placeholder;
	return a->zone != b->zone || b->hfn != a->hfn + 1 || a->own || b->own;
}

int64_t gm_maps_delta(struct guest_mem *gm, const struct gm_region *r, uint64_t g, uint64_t n,
		      const struct gm_backing *first, const struct gm_backing *last,
		      gm_backing_fn now, void *arg)
{
	uint64_t lo = r->gpa >> PAGE_SHIFT, end = lo + (r->size >> PAGE_SHIFT);
	struct gm_backing nb, old_first, old_last;
	int64_t delta = 0;

	now(gm, g, arg, &old_first);
	now(gm, g + n - 1, arg, &old_last);
	if (g > lo) {
		now(gm, g - 1, arg, &nb);
		delta += gm_break(&nb, first) - gm_break(&nb, &old_first);
	}
	if (g + n < end) {
		now(gm, g + n, arg, &nb);
		delta += gm_break(last, &nb) - gm_break(&old_last, &nb);
	}
	return delta;
}

uint64_t gm_maps_inside(struct guest_mem *gm, uint64_t g, uint64_t n, gm_backing_fn now, void *arg)
{
	struct gm_backing prev, cur;
	uint64_t breaks = 0;

	if (n < 2)
		return 0;
	now(gm, g, arg, &prev);
	for (uint64_t i = 1; i < n; i++) {
		now(gm, g + i, arg, &cur);
		breaks += (uint64_t)gm_break(&prev, &cur);
		prev = cur;
	}
	return breaks;
}

int gm_view_map(void *at, size_t len, const struct mm_zone *z, uint32_t idx)
{
	if (mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, z->memfd,
		 (off_t)idx << PAGE_SHIFT) == MAP_FAILED)
		return -errno;
	/* Best effort: without it the piece works on 4 KiB pages. */
	if (z->thp)
		madvise(at, len, MADV_HUGEPAGE);
	return 0;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void gm_populate(void *at, size_t len, bool write)
{
	/* Best effort: what it does not populate faults in later. */
	madvise(at, len, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

void gm_view_restore(void *at, size_t len, const struct mm_zone *z, uint32_t idx)
{
	if (z ? gm_view_map(at, len, z, idx) == 0
	      : mmap(at, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED)
		return;
	mmap(at, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}
