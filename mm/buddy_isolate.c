/*
 * What compaction needs from the buddy core: taking one particular free
 * block off the free lists as order-0 frames (Linux's __isolate_free_page
 * followed by split_page), and handing an allocated frame from one owner to
 * another. Both are the scanners' (mm/compaction*.c); the buddy itself never
 * calls them. And the way back from buddy_split_allocated once compaction
 * has lined frames up: joining 2^order order-0 frames into one block.
 *
 * An isolated frame is an allocated order-0 head in state FRAME_VMM: the
 * compactor, part of the VMM, owns it until it becomes a guest frame or goes
 * back with buddy_free_locked. So I1 keeps counting every frame in exactly
 * one state while a run holds targets, and no allocator can hand them out.
 *
 * Freestanding: no libc, no system calls (guest/ links this file).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buddy_list.h"

long buddy_isolate_free_locked(struct buddy_zone *z, uint32_t idx)
{
	if (idx >= z->nr_frames)
		return BUDDY_EINVAL;
	struct frame *f = &z->frames[idx];
	if (!(flags_get(f) & FRAME_F_BUDDY))
		return BUDDY_EINVAL;
	unsigned order = f->order;
	unsigned mt = pb_type(z, idx);

	buddy_list_del(z, idx);
	/* Every frame its own head, as buddy_split_allocated leaves a block:
	 * each can be freed alone and merges with whatever is free then. */
	for (uint32_t i = 0; i < BLOCK(order); i++)
		buddy_block_mark_allocated(z, idx + i, 0, mt, FRAME_VMM, false);
	return order;
}

int buddy_frame_assign_locked(struct buddy_zone *z, uint32_t idx, enum frame_state st,
			      uint32_t owner)
{
	if (idx >= z->nr_frames || !state_is_owner(st))
		return BUDDY_EINVAL;
	struct frame *f = &z->frames[idx];
	if (!frame_is_allocated_head(f) || f->order != 0 || (flags_get(f) & FRAME_F_COMPOUND))
		return BUDDY_EINVAL;
	/* Owner first: whoever sees the new state sees its owner. */
	__atomic_store_n(&f->owner, owner, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	frame_state_set(f, st);
	return 0;
}

int buddy_join_allocated(struct buddy_zone *z, uint32_t idx, unsigned order)
{
	if (order > z->max_order || (idx & (BLOCK(order) - 1)) || idx >= z->nr_frames ||
	    BLOCK(order) > z->nr_frames - idx)
		return BUDDY_EINVAL;
	buddy_lock(z);
	enum frame_state st = frame_state_get(&z->frames[idx]);
	for (uint32_t i = 0; i < BLOCK(order); i++) {
		const struct frame *f = &z->frames[idx + i];
		if (!frame_is_allocated_head(f) || f->order != 0 || frame_state_get(f) != st ||
		    (flags_get(f) & FRAME_F_COMPOUND)) {
			buddy_unlock(z);
			return BUDDY_EINVAL;
		}
	}
	/* Tails back to zero descriptors, as an allocation of the order
	 * leaves them: walks step from the head over the whole block. */
	for (uint32_t i = 1; i < BLOCK(order); i++)
		frame_clear(&z->frames[idx + i]);
	z->frames[idx].order = (uint8_t)order;
	buddy_unlock(z);
	return 0;
}
