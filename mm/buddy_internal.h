/*
 * Buddy internals shared by the buddy core's files: the descriptor helpers
 * every part reads frames with, and the few functions one part calls in
 * another.
 *
 *   buddy_list.h      the free lists and splitting, which all of them use
 *   buddy.c           alloc and free, merging, zone setup, the zone lock
 *   buddy_fallback.c  pageblocks and Linux's fallback stealing
 *   buddy_contig.c    runs longer than a block, and allocated blocks
 *                     (split, state, head lookup)
 *   buddy_check.c     the I1/I3 checks and the counters
 *
 * Descriptor discipline. Only block heads carry information; every other
 * frame is all zero, except the tails of compound blocks (FRAME_TAIL,
 * FRAME_F_COMPOUND, owner = head index). That is why a zone can start from a
 * zero-filled array of which only the heads are ever written (a large zone's
 * descriptors stay untouched until used), why walks jump from head to head by
 * 1 << order, and why whoever turns a head into a tail (merge, contig take)
 * or releases a compound block clears what it had written.
 *
 * Heads are told apart from zero tails without a lock: a free head has
 * FRAME_F_BUDDY (on a list) or FRAME_F_PCP (in a per-thread cache), an
 * allocated head has an owner state (vmm, guest, ballooned).
 *
 * Freestanding: no libc, no system calls (guest/ links these files).
 */
#ifndef MM_BUDDY_INTERNAL_H
#define MM_BUDDY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "buddy.h"

#define BLOCK(o) ((uint32_t)1 << (o))

/* Flags and pageblock types are read by lock-free paths (per-thread caches,
 * the slab's head lookup) while the lock holder writes them. */
static inline uint8_t flags_get(const struct frame *f)
{
	return __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
}

static inline void flags_set(struct frame *f, uint8_t v)
{
	__atomic_store_n(&f->flags, v, __ATOMIC_RELAXED);
}

static inline unsigned pb_type(const struct buddy_zone *z, uint32_t idx)
{
	return __atomic_load_n(&z->pageblock_mt[idx >> PAGEBLOCK_ORDER], __ATOMIC_RELAXED);
}

static inline bool state_is_owner(unsigned st)
{
	return st >= FRAME_VMM && st < FRAME_NR_OWNER_STATES;
}

static inline bool frame_is_head(const struct frame *f)
{
	return (flags_get(f) & (FRAME_F_BUDDY | FRAME_F_PCP)) || state_is_owner(frame_state_get(f));
}

static inline bool frame_is_allocated_head(const struct frame *f)
{
	return state_is_owner(frame_state_get(f)) && !(flags_get(f) & (FRAME_F_BUDDY | FRAME_F_PCP));
}

static inline void frame_clear(struct frame *f)
{
	f->next = 0;
	f->prev = 0;
	f->owner = 0;
	f->order = 0;
	f->migratetype = 0;
	flags_set(f, 0);
	frame_state_set(f, FRAME_FREE);
}

/* Largest naturally aligned block that starts at idx and ends by end. */
static inline unsigned block_order_fit(uint32_t idx, uint32_t end, unsigned max_order)
{
	unsigned o = idx ? (unsigned)__builtin_ctz(idx) : max_order;
	if (o > max_order)
		o = max_order;
	while (BLOCK(o) > end - idx)
		o--;
	return o;
}

/* Field by field: a struct assignment may become a memcpy call, which a
 * freestanding guest need not have. */
static inline void counters_copy(struct buddy_counters *d, const struct buddy_counters *s)
{
	d->allocs = s->allocs;
	d->frees = s->frees;
	d->splits = s->splits;
	d->merges = s->merges;
	d->fallbacks = s->fallbacks;
	d->pageblocks_stolen = s->pageblocks_stolen;
	d->contig_allocs = s->contig_allocs;
	d->contig_failures = s->contig_failures;
	d->failures = s->failures;
	d->bad_frees = s->bad_frees;
}

/* buddy.c; all with the zone lock held. */
void buddy_block_mark_allocated(struct buddy_zone *z, uint32_t idx, unsigned order, unsigned mt,
				enum frame_state st, bool compound);
bool buddy_block_is_allocated(const struct buddy_zone *z, uint32_t idx, unsigned order);
void buddy_block_release(struct buddy_zone *z, uint32_t idx, unsigned order);
void buddy_free_merge(struct buddy_zone *z, uint32_t idx, unsigned order);

/* buddy_fallback.c; with the zone lock held. */
uint32_t buddy_pb_set_range(struct buddy_zone *z, uint32_t idx, unsigned order, unsigned mt);
long buddy_rmqueue_fallback(struct buddy_zone *z, unsigned order, unsigned mt);

#endif
