/*
 * The checks and counters over one zone: I1 (every frame counted in exactly
 * one state, the free count agreeing with the lists, the per-thread caches
 * and the block structure), I3 (every frame free and merged into max-order
 * blocks), free block counts per order and type, pageblock counts per type,
 * and the event counters.
 *
 * Freestanding: no libc, no system calls (guest/ links this file).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buddy_internal.h"

/* Every list: linked both ways, heads of its order and type, as long as
 * nr_free says. Adds the frames on the lists to *frames. */
static bool lists_check(const struct buddy_zone *z, uint64_t *frames)
{
	bool ok = true;

	for (unsigned o = 0; o <= z->max_order; o++) {
		for (unsigned mt = 0; mt < MT_NR_TYPES; mt++) {
			uint64_t n = 0;
			uint32_t prev = FRAME_NONE;
			for (uint32_t h = z->area[o].head[mt]; h != FRAME_NONE; h = z->frames[h].next) {
				if (h >= z->nr_frames || n > z->area[o].nr_free[mt]) {
					ok = false;
					break;
				}
				const struct frame *f = &z->frames[h];
				if (!(flags_get(f) & FRAME_F_BUDDY) || f->order != o ||
				    f->migratetype != mt || f->prev != prev)
					ok = false;
				prev = h;
				n++;
			}
			if (n != z->area[o].nr_free[mt])
				ok = false;
			*frames += z->area[o].nr_free[mt] << o;
		}
	}
	return ok;
}

/* A free block on the lists must sit on its pageblocks' type. */
static bool free_block_type_ok(const struct buddy_zone *z, uint32_t idx, unsigned order,
			       unsigned mt)
{
	for (uint64_t i = idx; i < (uint64_t)idx + BLOCK(order); i += PAGEBLOCK_FRAMES)
		if (pb_type(z, (uint32_t)i) != mt)
			return false;
	return true;
}

int buddy_count_states(struct buddy_zone *z, uint64_t counts[FRAME_NR_OWNER_STATES])
{
	buddy_lock(z);
	int rc = buddy_count_states_locked(z, counts);
	buddy_unlock(z);
	return rc;
}

int buddy_count_states_locked(struct buddy_zone *z, uint64_t counts[FRAME_NR_OWNER_STATES])
{
	uint64_t on_lists = 0, in_pcp = 0, list_frames = 0, total = 0;
	bool ok = true;

	for (unsigned s = 0; s < FRAME_NR_OWNER_STATES; s++)
		counts[s] = 0;
	for (uint64_t i = 0; i < z->nr_frames;) {
		const struct frame *f = &z->frames[i];
		unsigned o = f->order, st = frame_state_get(f);
		uint8_t fl = flags_get(f);
		if (!frame_is_head(f) || o > z->max_order || (i & (BLOCK(o) - 1)) ||
		    i + BLOCK(o) > z->nr_frames) {
			ok = false;  /* not a head where one must be: step frame by frame */
			i++;
			continue;
		}
		if (fl & FRAME_F_BUDDY) {
			if (st != FRAME_FREE || (fl & FRAME_F_PCP) ||
			    !free_block_type_ok(z, (uint32_t)i, o, f->migratetype))
				ok = false;
			on_lists += BLOCK(o);
			counts[FRAME_FREE] += BLOCK(o);
		} else if (fl & FRAME_F_PCP) {
			if (st != FRAME_FREE)
				ok = false;
			in_pcp += BLOCK(o);
			counts[FRAME_FREE] += BLOCK(o);
		} else {
			counts[st] += BLOCK(o);
		}
		i += BLOCK(o);
	}
	ok = lists_check(z, &list_frames) && ok;
	ok = ok && on_lists == z->nr_free_pages && list_frames == z->nr_free_pages &&
	     in_pcp == z->nr_pcp_pages;
	for (unsigned s = 0; s < FRAME_NR_OWNER_STATES; s++)
		total += counts[s];
	return ok && total == z->nr_frames ? 0 : BUDDY_EINVAL;
}

bool buddy_fully_coalesced(struct buddy_zone *z)
{
	buddy_lock(z);
	bool ok = z->nr_pcp_pages == 0 && z->nr_free_pages == z->nr_frames;
	for (uint32_t i = 0; ok && i < z->nr_frames;) {
		unsigned o = block_order_fit(i, z->nr_frames, z->max_order);
		const struct frame *f = &z->frames[i];
		ok = (flags_get(f) & FRAME_F_BUDDY) && f->order == o;
		i += BLOCK(o);
	}
	buddy_unlock(z);
	return ok;
}

void buddy_free_blocks(struct buddy_zone *z, uint64_t per_order[MM_MAX_ORDER_LIMIT + 1],
		       uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1])
{
	buddy_lock(z);
	for (unsigned o = 0; o <= MM_MAX_ORDER_LIMIT; o++) {
		uint64_t sum = 0;
		for (unsigned mt = 0; mt < MT_NR_TYPES; mt++) {
			sum += z->area[o].nr_free[mt];
			if (per_type)
				per_type[mt][o] = z->area[o].nr_free[mt];
		}
		if (per_order)
			per_order[o] = sum;
	}
	buddy_unlock(z);
}

void buddy_pageblock_counts(struct buddy_zone *z, uint64_t per_type[MT_NR_TYPES])
{
	for (unsigned mt = 0; mt < MT_NR_TYPES; mt++)
		per_type[mt] = 0;
	buddy_lock(z);
	for (uint32_t pb = 0; pb < z->nr_pageblocks; pb++) {
		unsigned mt = z->pageblock_mt[pb];
		if (mt < MT_NR_TYPES)
			per_type[mt]++;
	}
	buddy_unlock(z);
}

void buddy_stats(struct buddy_zone *z, struct buddy_counters *out)
{
	buddy_lock(z);
	counters_copy(out, &z->stats);
	buddy_unlock(z);
}
