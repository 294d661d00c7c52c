/*
 * The two scanners of a compaction run and the targets between them: the
 * migrate scanner's search for the next guest frame to move in its
 * pageblock, the free scanner's isolation of free blocks from the top, one
 * move under the protocol of compaction.h, and giving unused targets back.
 *
 * Every look at descriptors is under the zone lock, where a head's order
 * stays put (the per-thread caches change states and flags without the
 * lock, never orders), so the walks step from head to head as the I1 check
 * does. The mover is called without it.
 */
#include <errno.h>
#include "compaction_internal.h"

static inline bool head_at(const struct frame *f)
{
	uint8_t fl = __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
	unsigned st = frame_state_get(f);

	return (fl & (FRAME_F_BUDDY | FRAME_F_PCP)) || (st >= FRAME_VMM && st < FRAME_NR_OWNER_STATES);
}

static inline uint32_t pb_first(uint32_t pb)
{
	return pb << PAGEBLOCK_ORDER;
}

static inline uint32_t pb_end(const struct buddy_zone *b, uint32_t pb)
{
	uint64_t end = ((uint64_t)pb + 1) << PAGEBLOCK_ORDER;
	return end < b->nr_frames ? (uint32_t)end : b->nr_frames;
}

/* Frames from idx the walk may step over at once: the block, cut at end. */
static inline uint32_t block_span(const struct frame *f, uint32_t idx, uint32_t end)
{
	uint64_t n = (uint64_t)1 << f->order;
	return n < (uint64_t)end - idx ? (uint32_t)n : end - idx;
}

/* The order-0 guest frame the protocol moves: allocated, no list, not a
 * piece of a compound block. */
static inline bool movable_guest_frame(const struct frame *f)
{
	return frame_state_get(f) == FRAME_GUEST && f->order == 0 &&
	       !(__atomic_load_n(&f->flags, __ATOMIC_RELAXED) &
		 (FRAME_F_BUDDY | FRAME_F_PCP | FRAME_F_COMPOUND));
}

bool compact_order_free_locked(const struct mm_zone *z, unsigned order)
{
	for (unsigned o = order; o <= z->buddy.max_order; o++)
		for (unsigned mt = 0; mt < MT_NR_TYPES; mt++)
			if (z->buddy.area[o].nr_free[mt])
				return true;
	return false;
}

/* ---- the migrate scanner ---- */

bool compact_next_source(struct compact_control *cc, uint32_t *pos, uint32_t *src, uint32_t *gfn)
{
	struct buddy_zone *b = &cc->z->buddy;
	uint32_t first = pb_first(cc->migrate_pb), end = pb_end(b, cc->migrate_pb);

	for (;;) {
		uint32_t i = *pos, scanned = 0, split = FRAME_NONE, split_span = 0;
		bool found = false;

		buddy_lock(b);
		/* A pageblock that does not start with a head lies inside a
		 * block of pageblock order or more: nothing to move there. */
		if (i == first && i < end && !head_at(&b->frames[i])) {
			scanned = end - i;
			i = end;
		}
		while (i < end) {
			const struct frame *f = &b->frames[i];
			if (!head_at(f)) {
				i++;  /* cannot be under the lock; step carefully anyway */
				scanned++;
				continue;
			}
			uint32_t n = block_span(f, i, end);
			if (movable_guest_frame(f)) {
				*src = i;
				*gfn = __atomic_load_n(&f->owner, __ATOMIC_RELAXED);
				found = true;
				scanned++;
				i++;
				break;
			}
			if (cc->req->split && frame_state_get(f) == FRAME_GUEST && f->order > 0 &&
			    f->order < PAGEBLOCK_ORDER &&
			    !(__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & (FRAME_F_BUDDY | FRAME_F_PCP))) {
				split = i;
				split_span = n;
				break;
			}
			scanned += n;
			i += n;
		}
		buddy_unlock(b);
		COMPACT_COUNT(cc->z, migrate_scanned, scanned);
		cc->res->migrate_scanned += scanned;
		*pos = i;
		if (found)
			return true;
		if (split == FRAME_NONE)
			return false;
		/* Its frames are looked at again once they are order-0 ones. */
		if (cc->req->split(cc->req->ctx, cc->z, split) != 0) {
			*pos = split + split_span;
			COMPACT_COUNT(cc->z, migrate_scanned, split_span);
			cc->res->migrate_scanned += split_span;
		}
	}
}

/* ---- targets and the free scanner ---- */

/*
 * Isolates the free blocks of the next movable pageblock(s) from the top,
 * until the pool has some or is full. False when the free scanner would
 * have to go at or below the migrate scanner: the scanners met.
 */
static bool compact_isolate_free(struct compact_control *cc)
{
	struct buddy_zone *b = &cc->z->buddy;

	for (;;) {
		if (cc->free_next >= pb_end(b, cc->free_pb)) {
			if (cc->free_pb == 0 || cc->free_pb - 1 <= cc->migrate_pb)
				return false;
			cc->free_pb--;
			cc->free_next = pb_first(cc->free_pb);
		}
		uint32_t pb = cc->free_pb, first = pb_first(pb), end = pb_end(b, pb);
		uint32_t i = cc->free_next, scanned = 0, got = 0;

		buddy_lock(b);
		/* Read under the lock: a fallback steal may turn the pageblock
		 * unmovable, and guest frames have no business there. */
		if (__atomic_load_n(&b->pageblock_mt[pb], __ATOMIC_RELAXED) != MT_MOVABLE ||
		    (i == first && !head_at(&b->frames[i]))) {
			scanned = end - i;
			i = end;
		}
		while (i < end && cc->pool_runs < COMPACT_POOL_RUNS) {
			const struct frame *f = &b->frames[i];
			if (!head_at(f)) {
				i++;
				scanned++;
				continue;
			}
			uint32_t n = block_span(f, i, end);
			unsigned order = f->order;
			scanned += n;
			if ((__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & FRAME_F_BUDDY) &&
			    order < cc->free_order_limit && buddy_isolate_free_locked(b, i) >= 0) {
				/* Free blocks side by side (buddies of different
				 * orders) make one run: their frames are consecutive
				 * targets. Only the last run can end at i. */
				struct compact_run *last = got ? &cc->pool[cc->pool_runs - 1] : NULL;
				if (last && last->idx + last->nr == i) {
					last->nr += n;
				} else {
					cc->pool[cc->pool_runs].idx = i;
					cc->pool[cc->pool_runs].nr = n;
					cc->pool_runs++;
				}
				got += n;
			}
			i += n;
		}
		buddy_unlock(b);
		cc->free_next = i;
		COMPACT_COUNT(cc->z, free_scanned, scanned);
		COMPACT_COUNT(cc->z, isolated, got);
		cc->res->free_scanned += scanned;
		cc->res->isolated_free += got;
		if (got)
			return true;
	}
}

bool compact_take_target(struct compact_control *cc, uint32_t *dst)
{
	while (!cc->pool_runs)
		if (!compact_isolate_free(cc))
			return false;
	/* From the bottom of the run: the moves of one batch get frames in
	 * ascending order, so consecutive GFNs get consecutive frames. */
	struct compact_run *r = &cc->pool[cc->pool_runs - 1];
	*dst = r->idx++;
	if (--r->nr == 0)
		cc->pool_runs--;
	return true;
}

/* Back where compact_take_target took it from, with the lock held. Put
 * back in the reverse order of the takes, each extends the last run down
 * again; one that does not (a move between them succeeded) starts a run,
 * or goes back to the buddy when the pool is full. */
static void compact_put_target_locked(struct compact_control *cc, uint32_t dst)
{
	struct compact_run *r = cc->pool_runs ? &cc->pool[cc->pool_runs - 1] : NULL;

	if (r && r->idx == dst + 1) {
		r->idx--;
		r->nr++;
	} else if (cc->pool_runs < COMPACT_POOL_RUNS) {
		cc->pool[cc->pool_runs].idx = dst;
		cc->pool[cc->pool_runs].nr = 1;
		cc->pool_runs++;
	} else {
		buddy_free_locked(&cc->z->buddy, dst, 0);
	}
}

void compact_move_batch(struct compact_control *cc, const uint32_t *src, const uint32_t *gfn,
			const uint32_t *dst, unsigned n, int *rc)
{
	struct buddy_zone *b = &cc->z->buddy;
	const struct mm_compact_request *req = cc->req;
	uint32_t s[MM_COMPACT_BATCH], d[MM_COMPACT_BATCH];
	unsigned at[MM_COMPACT_BATCH], live = 0;
	int vr[MM_COMPACT_BATCH];

	buddy_lock(b);
	for (unsigned i = 0; i < n; i++) {
		if (!movable_guest_frame(&b->frames[src[i]]) ||
		    __atomic_load_n(&b->frames[src[i]].owner, __ATOMIC_RELAXED) != gfn[i]) {
			rc[i] = -ESTALE;
			continue;
		}
		buddy_frame_assign_locked(b, dst[i], FRAME_GUEST, gfn[i]);
		rc[i] = 0;
		at[live] = i;
		s[live] = src[i];
		d[live] = dst[i];
		live++;
	}
	for (unsigned i = n; i-- > 0;)
		if (rc[i] == -ESTALE)
			compact_put_target_locked(cc, dst[i]);
	buddy_unlock(b);
	if (!live)
		return;
	COMPACT_COUNT(cc->z, isolated, live);

	if (req->move_batch)
		req->move_batch(req->ctx, cc->z, s, d, live, vr);
	else
		for (unsigned k = 0; k < live; k++)
			vr[k] = req->move(req->ctx, cc->z, s[k], d[k]);

	buddy_lock(b);
	for (unsigned k = live; k-- > 0;) {
		rc[at[k]] = vr[k];
		if (vr[k] == 0) {
			/* Straight to the free lists, not a per-thread cache:
			 * it is meant to merge with what the scanner freed
			 * before it. */
			buddy_free_locked(b, s[k], 0);
		} else {
			buddy_frame_assign_locked(b, d[k], FRAME_VMM, 0);
			compact_put_target_locked(cc, d[k]);
		}
	}
	if (req->order >= 0 && compact_order_free_locked(cc->z, (unsigned)req->order))
		cc->res->target_reached = true;
	buddy_unlock(b);
}

uint32_t compact_release_targets(struct compact_control *cc)
{
	struct buddy_zone *b = &cc->z->buddy;
	uint32_t top = FRAME_NONE;

	buddy_lock(b);
	for (unsigned r = 0; r < cc->pool_runs; r++) {
		for (uint32_t k = 0; k < cc->pool[r].nr; k++)
			buddy_free_locked(b, cc->pool[r].idx + k, 0);
		uint32_t last = cc->pool[r].idx + cc->pool[r].nr - 1;
		if (cc->pool[r].nr && (top == FRAME_NONE || last > top))
			top = last;
	}
	cc->pool_runs = 0;
	buddy_unlock(b);
	return top;
}
