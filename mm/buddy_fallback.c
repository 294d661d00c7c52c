/*
 * Pageblocks and fallback stealing: every pageblock (PAGEBLOCK_FRAMES
 * frames) has a migrate type, and free blocks sit on their pageblock's
 * lists. When a type's lists run dry, Linux's __rmqueue_fallback takes a
 * block of the other type and may pull its whole pageblock over.
 *
 * Freestanding: no libc, no system calls (guest/ links this file).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buddy_list.h"

/* Sets every pageblock the block covers to mt; returns how many changed. */
uint32_t buddy_pb_set_range(struct buddy_zone *z, uint32_t idx, unsigned order, unsigned mt)
{
	uint32_t first = idx >> PAGEBLOCK_ORDER;
	uint32_t last = (uint32_t)(((uint64_t)idx + BLOCK(order) - 1) >> PAGEBLOCK_ORDER);
	uint32_t changed = 0;

	for (uint32_t pb = first; pb <= last && pb < z->nr_pageblocks; pb++) {
		if (z->pageblock_mt[pb] != mt) {
			__atomic_store_n(&z->pageblock_mt[pb], (uint8_t)mt, __ATOMIC_RELAXED);
			changed++;
		}
	}
	return changed;
}

/*
 * Linux's free_pages + alike_pages for a pageblock made of smaller blocks:
 * frames free on the lists, and frames allocated to type mt. False if the
 * pageblock does not start with a head (it lies inside a larger block).
 */
static bool pb_scan(struct buddy_zone *z, uint32_t pb, unsigned mt, uint32_t *free_frames,
		    uint32_t *alike)
{
	uint64_t i = (uint64_t)pb << PAGEBLOCK_ORDER;
	uint64_t end = i + PAGEBLOCK_FRAMES;

	if (end > z->nr_frames)
		end = z->nr_frames;
	*free_frames = *alike = 0;
	while (i < end) {
		const struct frame *f = &z->frames[i];
		uint8_t fl = flags_get(f);
		if (!frame_is_head(f))
			return false;
		if (fl & FRAME_F_BUDDY)
			*free_frames += BLOCK(f->order);
		else if (!(fl & FRAME_F_PCP) && f->migratetype == mt)
			*alike += BLOCK(f->order);
		i += BLOCK(f->order);
	}
	return true;
}

/* Moves every free block of the pageblock onto mt's lists. */
static void pb_move_free(struct buddy_zone *z, uint32_t pb, unsigned mt)
{
	uint64_t i = (uint64_t)pb << PAGEBLOCK_ORDER;
	uint64_t end = i + PAGEBLOCK_FRAMES;

	if (end > z->nr_frames)
		end = z->nr_frames;
	while (i < end) {
		struct frame *f = &z->frames[i];
		unsigned o = f->order;
		if ((flags_get(f) & FRAME_F_BUDDY) && f->migratetype != mt) {
			buddy_list_del(z, (uint32_t)i);
			buddy_list_add(z, (uint32_t)i, o, mt);
		}
		i += BLOCK(o);
	}
}

/*
 * Linux's __rmqueue_fallback: take the largest block of the other type so
 * that one steal pulls a whole pageblock over instead of peppering many; a
 * movable request that may not claim the pageblock takes the smallest block
 * instead. The pageblock is converted (and its free blocks moved) when the
 * block is at least a pageblock, or when free and alike frames make up half.
 */
long buddy_rmqueue_fallback(struct buddy_zone *z, unsigned order, unsigned mt)
{
	unsigned other = mt == MT_UNMOVABLE ? MT_MOVABLE : MT_UNMOVABLE;
	int o;

	for (o = (int)z->max_order; o >= (int)order; o--)
		if (z->area[o].head[other] != FRAME_NONE)
			break;
	if (o < (int)order)
		return -1;

	bool can_steal = o >= PAGEBLOCK_ORDER / 2 || mt == MT_UNMOVABLE;
	if (!can_steal && mt == MT_MOVABLE && o > (int)order) {
		for (o = (int)order; z->area[o].head[other] == FRAME_NONE; o++)
			;
	}

	uint32_t h = z->area[o].head[other];
	z->stats.fallbacks++;
	if (o >= PAGEBLOCK_ORDER) {
		z->stats.pageblocks_stolen += buddy_pb_set_range(z, h, (unsigned)o, mt);
	} else if (can_steal) {
		uint32_t pb = h >> PAGEBLOCK_ORDER, free_frames, alike;
		if (pb_scan(z, pb, mt, &free_frames, &alike) &&
		    free_frames + alike >= PAGEBLOCK_FRAMES / 2) {
			buddy_pb_set_range(z, h, 0, mt);
			pb_move_free(z, pb, mt);
			z->stats.pageblocks_stolen++;
		}
	}
	buddy_list_del(z, h);
	buddy_expand(z, h, order, (unsigned)o);
	return h;
}
