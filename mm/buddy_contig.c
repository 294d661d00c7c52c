/*
 * Runs longer than a max-order block (alloc_contig_range without migration),
 * and operations on allocated blocks: splitting one into order-0 frames,
 * changing its owner state, and finding the head of any frame.
 *
 * Freestanding: no libc, no system calls (guest/ links this file).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buddy_list.h"

/* ---- runs longer than a block ---- */

/* Puts [start, end), the parts of a taken free block outside a run, back as
 * maximal aligned blocks. Their buddies lie inside the run or are pieces of
 * the same range, so nothing merges. */
static void range_to_free_lists(struct buddy_zone *z, uint32_t start, uint32_t end)
{
	while (start < end) {
		unsigned o = block_order_fit(start, end, z->max_order);
		buddy_list_add(z, start, o, pb_type(z, start));
		start += BLOCK(o);
	}
}

/* First run of free blocks holding nr frames from an aligned start; returns
 * the head where the run of free blocks begins, or -1. */
static long contig_find(struct buddy_zone *z, uint32_t nr, uint64_t align, uint32_t *start)
{
	uint64_t run = UINT64_MAX;

	for (uint64_t i = 0; i < z->nr_frames;) {
		const struct frame *f = &z->frames[i];
		uint64_t step = 1;
		if (flags_get(f) & FRAME_F_BUDDY) {
			step = BLOCK(f->order);
			if (run == UINT64_MAX)
				run = i;
			uint64_t s = (run + align - 1) & ~(align - 1);
			if (s + nr <= i + step) {
				*start = (uint32_t)s;
				return (long)run;
			}
		} else {
			run = UINT64_MAX;
			if (frame_is_head(f))
				step = BLOCK(f->order);
		}
		i += step;
	}
	return -1;
}

long buddy_alloc_contig(struct buddy_zone *z, uint32_t nr, unsigned align_order,
			enum frame_state st)
{
	if (nr == 0 || align_order > 31 || !state_is_owner(st))
		return BUDDY_EINVAL;

	buddy_lock(z);
	uint32_t s;
	long run = contig_find(z, nr, (uint64_t)1 << align_order, &s);
	if (run < 0) {
		z->stats.contig_failures++;
		buddy_unlock(z);
		return BUDDY_ENOMEM;
	}
	uint32_t e = s + nr;
	for (uint32_t i = (uint32_t)run; i < e;) {
		struct frame *f = &z->frames[i];
		uint32_t end = i + BLOCK(f->order);
		if (end > s) {
			buddy_list_del(z, i);
			frame_clear(f);
			if (i < s)
				range_to_free_lists(z, i, s);
			if (end > e)
				range_to_free_lists(z, e, end);
		}
		i = end;
	}
	for (uint32_t i = s; i < e;) {
		unsigned o = block_order_fit(i, e, z->max_order);
		buddy_block_mark_allocated(z, i, o, pb_type(z, i), st, false);
		i += BLOCK(o);
	}
	z->stats.contig_allocs++;
	buddy_unlock(z);
	return s;
}

int buddy_free_contig(struct buddy_zone *z, uint32_t idx, uint32_t nr)
{
	buddy_lock(z);
	bool ok = nr > 0 && idx < z->nr_frames && nr <= z->nr_frames - idx;
	uint32_t end = idx + nr;

	/* Check every block first: a bad call must change nothing. */
	for (uint32_t i = idx; ok && i < end;) {
		const struct frame *f = &z->frames[i];
		ok = buddy_block_is_allocated(z, i, f->order) && BLOCK(f->order) <= end - i;
		if (ok)
			i += BLOCK(f->order);
	}
	if (!ok) {
		z->stats.bad_frees++;
		buddy_unlock(z);
		return BUDDY_EINVAL;
	}
	for (uint32_t i = idx; i < end;) {
		unsigned o = z->frames[i].order;
		buddy_block_release(z, i, o);
		buddy_free_merge(z, i, o);
		i += BLOCK(o);
	}
	z->stats.frees++;
	buddy_unlock(z);
	return 0;
}

/* ---- allocated blocks ---- */

int buddy_split_allocated(struct buddy_zone *z, uint32_t idx)
{
	buddy_lock(z);
	if (idx >= z->nr_frames || !frame_is_allocated_head(&z->frames[idx])) {
		buddy_unlock(z);
		return BUDDY_EINVAL;
	}
	struct frame *f = &z->frames[idx];
	enum frame_state st = frame_state_get(f);
	bool compound = flags_get(f) & FRAME_F_COMPOUND;

	for (uint32_t i = 1; i < BLOCK(f->order); i++) {
		struct frame *t = &z->frames[idx + i];
		t->next = FRAME_NONE;
		t->prev = FRAME_NONE;
		t->owner = 0;
		t->order = 0;
		t->migratetype = f->migratetype;
		frame_state_set(t, st);
		flags_set(t, 0);
	}
	f->order = 0;
	if (compound) {
		f->owner = 0;
		flags_set(f, 0);
	}
	buddy_unlock(z);
	return 0;
}

int buddy_set_state(struct buddy_zone *z, uint32_t idx, enum frame_state st)
{
	int rc = BUDDY_EINVAL;

	buddy_lock(z);
	if (idx < z->nr_frames && state_is_owner(st) && frame_is_allocated_head(&z->frames[idx])) {
		frame_state_set(&z->frames[idx], st);
		rc = 0;
	}
	buddy_unlock(z);
	return rc;
}

/*
 * No lock: the slab asks from any thread. A compound tail names its head;
 * otherwise the head is the first aligned candidate at or below idx that is
 * a head, since everything between it and idx is a zero tail.
 */
long buddy_block_head(const struct buddy_zone *z, uint32_t idx)
{
	if (idx >= z->nr_frames)
		return BUDDY_EINVAL;
	const struct frame *f = &z->frames[idx];
	if (frame_state_get(f) == FRAME_TAIL) {
		uint32_t h = __atomic_load_n(&f->owner, __ATOMIC_RELAXED);
		if (!(flags_get(f) & FRAME_F_COMPOUND) || h >= z->nr_frames || h > idx)
			return BUDDY_EINVAL;
		const struct frame *hf = &z->frames[h];
		return frame_is_head(hf) && idx - h < BLOCK(hf->order) ? (long)h : BUDDY_EINVAL;
	}
	for (unsigned o = 0; o <= z->max_order; o++) {
		uint32_t c = idx & ~(BLOCK(o) - 1);
		const struct frame *cf = &z->frames[c];
		if (frame_is_head(cf))
			return idx - c < BLOCK(cf->order) ? (long)c : BUDDY_EINVAL;
	}
	return BUDDY_EINVAL;
}
