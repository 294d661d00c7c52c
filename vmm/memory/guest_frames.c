/*
 * Guest frames as the buddy sees them: global frame numbers to zone frames,
 * giving guest blocks back, splitting a guest block so one frame can leave
 * it; and the process's budget of host mappings for guest views (I4).
 */
#include <errno.h>
#include <stdio.h>
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

