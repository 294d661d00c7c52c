/*
 * Per-pageblock frame states (pageblock_usage.h): one walk from block head
 * to block head under the zone lock, each block's frames counted into the
 * pageblocks it spans (a max-order block spans two).
 */
#include "buddy_internal.h"
#include "pageblock_usage.h"

void mm_zone_pageblock_usage(struct mm_zone *z, struct mm_pageblock_usage *out)
{
	struct buddy_zone *b = &z->buddy;
	uint32_t n = b->nr_pageblocks;

	for (uint32_t i = 0; i < n; i++)
		out[i] = (struct mm_pageblock_usage){ .guest_gfn = UINT32_MAX };
	buddy_lock(b);
	for (uint32_t i = 0; i < n; i++)
		out[i].migratetype = (uint8_t)pb_type(b, i << PAGEBLOCK_ORDER);
	for (uint64_t i = 0; i < b->nr_frames;) {
		const struct frame *f = &b->frames[i];
		unsigned o = f->order, st = frame_state_get(f);
		/* Not a head where one must be (the I1 check would say so):
		 * count it as its own byte says, frame by frame. */
		if (!frame_is_head(f) || o > b->max_order || (i & (BLOCK(o) - 1)) ||
		    i + BLOCK(o) > b->nr_frames) {
			if (st < FRAME_NR_OWNER_STATES)
				out[i >> PAGEBLOCK_ORDER].count[st]++;
			i++;
			continue;
		}
		if (flags_get(f) & (FRAME_F_BUDDY | FRAME_F_PCP))
			st = FRAME_FREE;
		uint64_t stop = i + BLOCK(o);
		if (st == FRAME_GUEST && o >= PAGEBLOCK_ORDER) {
			for (uint64_t pb = i >> PAGEBLOCK_ORDER; pb < stop >> PAGEBLOCK_ORDER; pb++)
				out[pb].guest_gfn = f->owner + (uint32_t)((pb << PAGEBLOCK_ORDER) - i);
		}
		/* A block of order > 9 spans several pageblocks. */
		while (i < stop) {
			uint64_t pb_end = ((i >> PAGEBLOCK_ORDER) + 1) << PAGEBLOCK_ORDER;
			uint64_t upto = pb_end < stop ? pb_end : stop;
			out[i >> PAGEBLOCK_ORDER].count[st] += (uint32_t)(upto - i);
			i = upto;
		}
	}
	buddy_unlock(b);
}
