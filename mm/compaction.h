/*
 * Memory compaction of one zone (DESIGN.md memory model step 7), in the
 * shape of Linux's: a migrate scanner walks the zone's movable pageblocks
 * from the bottom and takes guest frames, a free scanner walks them from
 * the top and isolates free blocks as targets, each guest frame is moved
 * into a target above it, and the frames it leaves merge at the bottom,
 * until the scanners meet or a free block of the asked order exists.
 *
 * The core decides what moves where and keeps the frame states; the moving
 * itself (copying, hashing, repointing the p2m, remapping the guest view)
 * is the caller's, through the mover below, since only the VMM knows which
 * GFN maps a frame and how the guest reaches it.
 *
 * The unit of moving is the order-0 guest frame: a FRAME_GUEST head of
 * order 0 whose owner is its GFN. The VMM moves 4 KiB pages, a target
 * never needs to be more than one free frame, and a run of order-0 frames
 * that ends up 2 MiB-aligned is what the VMM can promote. A guest block of
 * order 1 .. PAGEBLOCK_ORDER-1 is moved only if the caller gives a splitter
 * (below) to make its frames order-0 ones: the core cannot split it itself,
 * since the VMM frees blocks by the order it took them with. Guest blocks
 * of pageblock order and more already are what compaction makes and stay.
 * Never moved: FRAME_VMM frames (slabs, p2m tables, kvmalloc; their
 * pageblocks are unmovable anyway, and the scanners walk movable ones only)
 * and FRAME_BALLOONED frames (pending frames stay reserved to their GFN).
 *
 * Counters are the zone's (compaction_zone.h), readable at any time; the
 * fragmentation indexes are extfrag.h's.
 */
#ifndef MM_COMPACTION_H
#define MM_COMPACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arena.h"

/*
 * The move protocol. The core calls move(ctx, z, src, dst) without the
 * zone lock, when
 *   - src was, when last looked at under the zone lock, an order-0
 *     FRAME_GUEST frame whose owner is gfn = z->buddy.frames[dst].owner;
 *   - dst is a target the core isolated, already turned into an order-0
 *     FRAME_GUEST frame owned by that same gfn. It is dst's state before
 *     the call so that the moment the mover makes dst reachable from the
 *     guest (p2m, remap), I1 and I2 already hold for it, and the VMM may
 *     free or balloon the GFN right after (on another thread) through its
 *     ordinary paths.
 * The mover, under its own lock, checks that gfn is still backed by src
 * (the VMM may have freed or ballooned it since the core looked), copies
 * src to dst, points gfn at dst, and makes src unreachable. It returns
 *   0              moved: src belongs to nobody any more; the core frees it
 *                  into the buddy (never into a per-thread cache, so it
 *                  merges at once) and never touches dst again;
 *   -ESTALE        gfn is no longer backed by src: nothing was done, no
 *                  failure; the core puts dst back among its targets;
 *   other -errno   the move failed and was rolled back: gfn still maps
 *                  src, dst is unreachable. The core puts dst back among
 *                  its targets, counts the failure and marks src's
 *                  pageblock to be skipped (until a full compaction).
 */
typedef int (*mm_compact_move_fn)(void *ctx, struct mm_zone *z, uint32_t src, uint32_t dst);

/*
 * The same protocol for n moves at once (n <= MM_COMPACT_BATCH): move i is
 * src[i] -> dst[i] under the rules above, and the mover writes its verdict
 * to rc[i]; each move succeeds, is stale or fails on its own, so a failure
 * rolls back that move only. Why a batch: a mover that remaps a view pays
 * one mmap per call, and the core hands out its targets in ascending frame
 * order, so moves of consecutive GFNs from one pageblock land on
 * consecutive frames, which the mover can remap with one mmap. The core
 * takes the sources of a batch from one pageblock, in frame order.
 */
typedef void (*mm_compact_move_batch_fn)(void *ctx, struct mm_zone *z, const uint32_t *src,
					 const uint32_t *dst, unsigned n, int *rc);
#define MM_COMPACT_BATCH 64

/*
 * Optional: makes the guest block headed by `head` (order 1 ..
 * PAGEBLOCK_ORDER-1) into order-0 guest frames, each owned by its own GFN
 * (the VMM's gm_block_split). Called without the zone lock. 0 when split;
 * anything else leaves the block where it is.
 */
typedef int (*mm_compact_split_fn)(void *ctx, struct mm_zone *z, uint32_t head);

/* No time limit. */
#define MM_COMPACT_NO_BUDGET UINT64_MAX
/* order: compact the whole zone (Linux's compact_node / order -1). */
#define MM_COMPACT_FULL (-1)

struct mm_compact_request {
	int order;                  /* stop once a free block of this order exists; MM_COMPACT_FULL */
	uint64_t budget_ns;         /* stop after this much time; 0 = at most one step */
	const int *stop;            /* optional: stop when it reads non-zero (relaxed load) */
	mm_compact_move_fn move;    /* one of move and move_batch is required; */
	mm_compact_move_batch_fn move_batch; /* with both, move_batch is used */
	mm_compact_split_fn split;  /* optional */
	void *ctx;                  /* passed to move and split */
};

enum mm_compact_stop {
	MM_COMPACT_SCANNERS_MET = 0, /* the zone was walked: nothing more to do */
	MM_COMPACT_TARGET_REACHED,   /* a free block of the order exists */
	MM_COMPACT_BUDGET,           /* the time budget ran out */
	MM_COMPACT_STOPPED,          /* the stop flag was raised */
};

/* What one run did. The counts are the run's share of the zone counters. */
struct mm_compact_result {
	uint64_t moved, failed;      /* moves done, moves the mover refused */
	uint64_t stale;              /* moves the mover found out of date (-ESTALE) */
	uint64_t migrate_scanned, free_scanned;
	uint64_t isolated_free;      /* free frames isolated as targets */
	uint64_t steps;              /* batches of move attempts, and pageblocks with none */
	uint64_t ns;
	bool target_reached;         /* order >= 0 and a block of it is free */
	enum mm_compact_stop stop;
};

/*
 * One run over zone z. A run goes on where the last one's scanners stopped
 * when it ended before they met (budget, stop flag, target reached); a run
 * starts at the zone's ends after they met, and a full run (MM_COMPACT_FULL)
 * with no budget always does. A full run starting there first clears the
 * skip hints, as the kernel does when it compacts a whole zone. The budget and
 * the stop flag are looked at after every step (one batch of move attempts,
 * or one pageblock with nothing to move): a budget of 0 does at most one
 * step, and that step one move.
 * Targets left over when the run ends go back to the buddy.
 * 0 with *res filled, -EINVAL (bad request), -EBUSY (another run is on
 * this zone).
 */
int mm_compact_zone(struct mm_zone *z, const struct mm_compact_request *req,
		    struct mm_compact_result *res);

/* The zone's counters, each read atomically. */
void mm_compact_counters(const struct mm_zone *z, struct mm_compact_counters *out);
/* Whether a move from pageblock pb failed since the last full run. */
bool mm_compact_skipped(const struct mm_zone *z, uint32_t pb);
const char *mm_compact_stop_name(enum mm_compact_stop stop);

/*
 * The lines of /proc/vmstat compaction speaks to, summed over the arena's
 * zones, in the kernel's order and format ("compact_stall 3\n"):
 * pgmigrate_success / pgmigrate_fail (moved / failed), compact_migrate_scanned,
 * compact_free_scanned, compact_isolated, compact_stall, compact_fail (stalls
 * that did not get their block), compact_success; then memvisor's own
 * compact_runs and compact_time_ns. Appended to buf like
 * mm_format_buddyinfo; returns the length the full text needs.
 */
size_t mm_format_compaction(struct mm_arena *a, char *buf, size_t len);

#endif
