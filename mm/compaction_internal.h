/*
 * What compaction.c (the run: request, budget, stop, counters) and
 * compaction_scan.c (the two scanners and the targets between them) share:
 * the state of one run, Linux's struct compact_control.
 */
#ifndef MM_COMPACTION_INTERNAL_H
#define MM_COMPACTION_INTERNAL_H

#include "compaction.h"

/* Target runs a run holds at once; a free block is one run of frames. */
#define COMPACT_POOL_RUNS 32

struct compact_run {
	uint32_t idx, nr;           /* nr isolated order-0 frames from idx */
};

struct compact_control {
	struct mm_zone *z;
	const struct mm_compact_request *req;
	struct mm_compact_result *res;
	uint32_t migrate_pb;        /* pageblock the migrate scanner is on */
	uint32_t migrate_pos;       /* the frame it looks at next, when in migrate_pb */
	uint32_t free_pb;           /* lowest pageblock the free scanner started */
	uint32_t free_next;         /* where it goes on inside free_pb */
	/* Free blocks of this order and more are not targets: breaking one up
	 * to make another at the bottom gains nothing (the kernel's
	 * suitable_migration_target). */
	unsigned free_order_limit;
	struct compact_run pool[COMPACT_POOL_RUNS];
	unsigned pool_runs;
};

/* Relaxed adds to a zone counter: the zone's allocators never wait on them. */
#define COMPACT_COUNT(z, field, n) \
	__atomic_fetch_add(&(z)->compact.stats.field, (uint64_t)(n), __ATOMIC_RELAXED)

/*
 * compaction_scan.c. compact_next_source finds the next movable guest
 * frame in the migrate scanner's pageblock at or after *pos (splitting
 * small guest blocks through the request's splitter); false when the
 * pageblock has none left. compact_take_target gives an isolated target,
 * running the free scanner when there is none; false when the scanners
 * met; targets come in ascending frame order within a free block, so
 * consecutive takes are consecutive frames where the block allows.
 * compact_move_batch does n moves of src[i] (owner gfn[i]) into dst[i], n
 * <= MM_COMPACT_BATCH, through the mover (the batch one if there is) and
 * writes each verdict to rc[i] (-ESTALE when src changed before the call).
 * compact_release_targets gives every unused target back and returns the
 * highest (FRAME_NONE when there was none).
 */
bool compact_next_source(struct compact_control *cc, uint32_t *pos, uint32_t *src, uint32_t *gfn);
bool compact_take_target(struct compact_control *cc, uint32_t *dst);
void compact_move_batch(struct compact_control *cc, const uint32_t *src, const uint32_t *gfn,
			const uint32_t *dst, unsigned n, int *rc);
uint32_t compact_release_targets(struct compact_control *cc);
/* With the zone lock held: whether a free block of order or more exists. */
bool compact_order_free_locked(const struct mm_zone *z, unsigned order);

#endif
