/*
 * The free lists every part of the buddy core works on: putting a block on
 * its order's list of its migrate type, taking it off, and splitting a block
 * into the halves that go back (Linux's expand). buddy.c, buddy_fallback.c
 * and buddy_contig.c all build on these, so they sit below all three.
 *
 * Inline: the allocation and free paths run them for every block they move,
 * and buddy.c has always had them inlined there.
 *
 * Freestanding: no libc, no system calls (guest/ links the files using it).
 * All with the zone lock held.
 */
#ifndef MM_BUDDY_LIST_H
#define MM_BUDDY_LIST_H

#include "buddy_internal.h"

static inline void buddy_list_add(struct buddy_zone *z, uint32_t idx, unsigned order,
				  unsigned mt)
{
	struct buddy_free_area *a = &z->area[order];
	struct frame *f = &z->frames[idx];
	uint32_t h = a->head[mt];

	f->next = h;
	f->prev = FRAME_NONE;
	if (h != FRAME_NONE)
		z->frames[h].prev = idx;
	a->head[mt] = idx;
	a->nr_free[mt]++;
	z->nr_free_pages += BLOCK(order);
	f->owner = 0;
	f->order = (uint8_t)order;
	f->migratetype = (uint8_t)mt;
	frame_state_set(f, FRAME_FREE);
	flags_set(f, FRAME_F_BUDDY);
}

/* Leaves the head with no flags: the caller decides what it becomes. */
static inline void buddy_list_del(struct buddy_zone *z, uint32_t idx)
{
	struct frame *f = &z->frames[idx];
	struct buddy_free_area *a = &z->area[f->order];
	unsigned mt = f->migratetype;

	if (f->prev != FRAME_NONE)
		z->frames[f->prev].next = f->next;
	else
		a->head[mt] = f->next;
	if (f->next != FRAME_NONE)
		z->frames[f->next].prev = f->prev;
	a->nr_free[mt]--;
	z->nr_free_pages -= BLOCK(f->order);
	flags_set(f, 0);
}

/* Linux's expand(): the upper halves go back, each on its pageblock's lists. */
static inline void buddy_expand(struct buddy_zone *z, uint32_t idx, unsigned low, unsigned high)
{
	while (high > low) {
		high--;
		uint32_t half = idx + BLOCK(high);
		buddy_list_add(z, half, high, pb_type(z, half));
		z->stats.splits++;
	}
}

#endif
