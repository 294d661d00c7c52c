/*
 * The buddy core: allocation and freeing of one zone's blocks (taking a
 * block off the free lists, falling back to the other migrate type, merging a
 * freed block with its buddies), zone setup, and the zone lock. The free
 * lists themselves are in buddy_list.h, pageblocks and fallback stealing in
 * buddy_fallback.c, runs longer than a block and allocated-block operations
 * in buddy_contig.c, the checks and counters in buddy_check.c; the
 * descriptor discipline they all keep is described in buddy_internal.h.
 *
 * Freestanding: no libc, no system calls (guest/ links this file).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buddy_list.h"

/* Zeroes the stats through counters_copy() (see there why not by assignment). */
static const struct buddy_counters counters_zero;

void buddy_lock(struct buddy_zone *z)
{
	while (__atomic_exchange_n(&z->lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&z->lock, __ATOMIC_RELAXED)) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
	}
}

void buddy_unlock(struct buddy_zone *z)
{
	__atomic_store_n(&z->lock, 0, __ATOMIC_RELEASE);
}

/* ---- allocation ---- */

static long rmqueue(struct buddy_zone *z, unsigned order, unsigned mt)
{
	for (unsigned o = order; o <= z->max_order; o++) {
		uint32_t h = z->area[o].head[mt];
		if (h != FRAME_NONE) {
			buddy_list_del(z, h);
			buddy_expand(z, h, order, o);
			return h;
		}
	}
	return buddy_rmqueue_fallback(z, order, mt);
}

/* Tails are written only for compound blocks (see buddy_internal.h). The
 * compound head carries its own index too, so a lookup from any frame of the
 * block reads one owner field. */
void buddy_block_mark_allocated(struct buddy_zone *z, uint32_t idx, unsigned order, unsigned mt,
				enum frame_state st, bool compound)
{
	struct frame *f = &z->frames[idx];

	f->next = FRAME_NONE;
	f->prev = FRAME_NONE;
	f->order = (uint8_t)order;
	f->migratetype = (uint8_t)mt;
	f->owner = compound ? idx : 0;
	if (compound) {
		for (uint32_t i = 1; i < BLOCK(order); i++) {
			struct frame *t = &z->frames[idx + i];
			t->owner = idx;
			flags_set(t, FRAME_F_COMPOUND);
			frame_state_set(t, FRAME_TAIL);
		}
	}
	frame_state_set(f, st);
	flags_set(f, compound ? FRAME_F_COMPOUND : 0);
}

long buddy_alloc_locked(struct buddy_zone *z, unsigned order, enum migratetype mt,
			enum frame_state st, bool compound)
{
	if (order > z->max_order || (unsigned)mt >= MT_NR_TYPES || !state_is_owner(st))
		return BUDDY_EINVAL;
	long h = rmqueue(z, order, mt);
	if (h < 0) {
		z->stats.failures++;
		return BUDDY_ENOMEM;
	}
	buddy_block_mark_allocated(z, (uint32_t)h, order, mt, st, compound);
	z->stats.allocs++;
	return h;
}

long buddy_alloc(struct buddy_zone *z, unsigned order, enum migratetype mt,
		 enum frame_state st, bool compound)
{
	buddy_lock(z);
	long h = buddy_alloc_locked(z, order, mt, st, compound);
	buddy_unlock(z);
	return h;
}

/* ---- free ---- */

bool buddy_block_is_allocated(const struct buddy_zone *z, uint32_t idx, unsigned order)
{
	if (idx >= z->nr_frames || order > z->max_order || (idx & (BLOCK(order) - 1)) ||
	    BLOCK(order) > z->nr_frames - idx)
		return false;
	const struct frame *f = &z->frames[idx];
	return frame_is_allocated_head(f) && f->order == order;
}

/* Clears what allocation wrote, leaving zero descriptors. */
void buddy_block_release(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	struct frame *f = &z->frames[idx];

	if (flags_get(f) & FRAME_F_COMPOUND)
		for (uint32_t i = 1; i < BLOCK(order); i++)
			frame_clear(&z->frames[idx + i]);
	frame_clear(f);
}

/*
 * Merges with free buddies as far as the zone allows: the buddy must be a
 * free head of the same order lying wholly inside the zone, so a zone whose
 * size is not a power of two never grows a block past nr_frames. The block
 * goes on its pageblock's lists; a merge above pageblock size pulls the
 * buddy's pageblocks to that type, as Linux does.
 */
void buddy_free_merge(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	unsigned mt = pb_type(z, idx);

	if (order >= PAGEBLOCK_ORDER)
		buddy_pb_set_range(z, idx, order, mt);
	while (order < z->max_order) {
		uint32_t buddy = idx ^ BLOCK(order);
		if (buddy >= z->nr_frames || BLOCK(order) > z->nr_frames - buddy)
			break;
		struct frame *b = &z->frames[buddy];
		if (!(flags_get(b) & FRAME_F_BUDDY) || b->order != order)
			break;
		buddy_list_del(z, buddy);
		if (order >= PAGEBLOCK_ORDER)
			buddy_pb_set_range(z, buddy, order, mt);
		frame_clear(&z->frames[idx > buddy ? idx : buddy]);
		idx &= buddy;
		order++;
		z->stats.merges++;
	}
	buddy_list_add(z, idx, order, mt);
}

int buddy_free_locked(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	if (!buddy_block_is_allocated(z, idx, order)) {
		z->stats.bad_frees++;
		return BUDDY_EINVAL;
	}
	buddy_block_release(z, idx, order);
	buddy_free_merge(z, idx, order);
	z->stats.frees++;
	return 0;
}

int buddy_free(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	buddy_lock(z);
	int rc = buddy_free_locked(z, idx, order);
	buddy_unlock(z);
	return rc;
}

/* ---- zone setup ---- */

int buddy_zone_init(struct buddy_zone *z, const char *name, struct frame *frames,
		    uint8_t *pageblock_mt, uint32_t nr_frames, unsigned max_order)
{
	if (!z || !frames || !pageblock_mt || nr_frames == 0 || nr_frames == FRAME_NONE ||
	    max_order > MM_MAX_ORDER_LIMIT)
		return BUDDY_EINVAL;

	z->name = name;
	z->frames = frames;
	z->pageblock_mt = pageblock_mt;
	z->nr_frames = nr_frames;
	z->nr_pageblocks = buddy_nr_pageblocks(nr_frames);
	z->max_order = max_order;
	z->nr_free_pages = 0;
	z->nr_pcp_pages = 0;
	for (unsigned o = 0; o <= MM_MAX_ORDER_LIMIT; o++) {
		for (unsigned mt = 0; mt < MT_NR_TYPES; mt++) {
			z->area[o].head[mt] = FRAME_NONE;
			z->area[o].nr_free[mt] = 0;
		}
	}
	counters_copy(&z->stats, &counters_zero);
	z->lock = 0;
	for (uint32_t pb = 0; pb < z->nr_pageblocks; pb++)
		pageblock_mt[pb] = MT_MOVABLE;

	/*
	 * Blocks go in from the top down so each list ends up in ascending
	 * order: first the tail left over past the last max-order block
	 * (smallest blocks last in the zone), then the max-order blocks.
	 */
	uint32_t tail = nr_frames & (BLOCK(max_order) - 1);
	uint32_t idx = nr_frames;
	while (tail) {
		unsigned o = (unsigned)__builtin_ctz(tail);
		idx -= BLOCK(o);
		buddy_list_add(z, idx, o, MT_MOVABLE);
		tail &= tail - 1;
	}
	while (idx) {
		idx -= BLOCK(max_order);
		buddy_list_add(z, idx, max_order, MT_MOVABLE);
	}
	return 0;
}
