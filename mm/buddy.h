/*
 * The buddy core: free lists per order and per migrate type over one zone's
 * frame descriptors, pageblock grouping with fallback stealing as in Linux,
 * and runs longer than a max-order block (alloc_contig-style).
 *
 * Freestanding: no libc, no system calls, so guest/ can link it. The caller
 * provides the frame array and the pageblock array. A zone has one spinlock;
 * the per-thread caches in pcp.h keep the common path off it.
 *
 * Frame indexes here are zone-relative (0 .. nr_frames-1). Functions return 0
 * or a negative errno value (BUDDY_E*), an index >= 0, or a negative error.
 */
#ifndef MM_BUDDY_H
#define MM_BUDDY_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "frame.h"

#define BUDDY_ENOMEM (-12)
#define BUDDY_EINVAL (-22)
#define BUDDY_EBUSY  (-16)

struct buddy_free_area {
	uint32_t head[MT_NR_TYPES];     /* first block of each list, FRAME_NONE if empty */
	uint64_t nr_free[MT_NR_TYPES];  /* blocks on each list */
};

/* Counters kept under the zone lock; read with buddy_stats(). */
struct buddy_counters {
	uint64_t allocs, frees;          /* calls that succeeded */
	uint64_t splits, merges;         /* block splits / buddy merges */
	uint64_t fallbacks;              /* allocations served from another migrate type */
	uint64_t pageblocks_stolen;      /* pageblocks converted by fallback stealing */
	uint64_t contig_allocs, contig_failures;
	uint64_t failures;               /* allocations that found nothing */
	uint64_t bad_frees;              /* double frees / foreign indexes refused */
};

struct buddy_zone {
	const char *name;            /* "Normal", "Huge": printed in buddyinfo */
	struct frame *frames;        /* nr_frames descriptors */
	uint8_t *pageblock_mt;       /* one migrate type per pageblock */
	uint32_t nr_frames;
	uint32_t nr_pageblocks;
	unsigned max_order;          /* orders 0..max_order */
	uint64_t nr_free_pages;      /* frames on the free lists (not in per-thread caches) */
	uint64_t nr_pcp_pages;       /* frames held in per-thread caches (still free, I1) */
	struct buddy_free_area area[MM_MAX_ORDER_LIMIT + 1];
	struct buddy_counters stats;
	volatile int lock;           /* spinlock: buddy_lock() / buddy_unlock() */
};

/* Bytes the caller must provide for a zone of nr_frames frames. */
static inline size_t buddy_frames_bytes(uint32_t nr_frames)
{
	return (size_t)nr_frames * sizeof(struct frame);
}
static inline uint32_t buddy_nr_pageblocks(uint32_t nr_frames)
{
	return (nr_frames + PAGEBLOCK_FRAMES - 1) / PAGEBLOCK_FRAMES;
}

/*
 * Sets up a zone whose frames all start free (pageblocks movable, as Linux
 * boots). nr_frames need not be a multiple of anything: the tail becomes
 * smaller blocks. max_order must be <= MM_MAX_ORDER_LIMIT.
 * The frame array must be ZERO-FILLED by the caller: only block heads are
 * written, so a large zone's descriptors are touched as they are used.
 */
int buddy_zone_init(struct buddy_zone *z, const char *name, struct frame *frames,
		    uint8_t *pageblock_mt, uint32_t nr_frames, unsigned max_order);

void buddy_lock(struct buddy_zone *z);
void buddy_unlock(struct buddy_zone *z);

/*
 * Takes a block of 2^order frames of migrate type mt (falling back to the
 * other type and stealing pageblocks as Linux does); its head gets state st
 * (an owner state: vmm, guest or ballooned). The other frames are not
 * written (they stay zero: walks jump from head to head), unless compound is
 * set: then every tail gets FRAME_TAIL, FRAME_F_COMPOUND and the head index
 * in .owner, and the head FRAME_F_COMPOUND and its own index, so the head is
 * one load away from any frame. Returns the head index or BUDDY_ENOMEM /
 * BUDDY_EINVAL. buddy_alloc_locked expects the lock held.
 */
long buddy_alloc(struct buddy_zone *z, unsigned order, enum migratetype mt,
		 enum frame_state st, bool compound);
long buddy_alloc_locked(struct buddy_zone *z, unsigned order, enum migratetype mt,
			enum frame_state st, bool compound);

/*
 * Returns a block to the free lists, merging with free buddies. Refuses
 * (BUDDY_EINVAL, counted in bad_frees) an index that is not the head of an
 * allocated block of that order: double frees cannot corrupt the lists.
 */
int buddy_free(struct buddy_zone *z, uint32_t idx, unsigned order);
int buddy_free_locked(struct buddy_zone *z, uint32_t idx, unsigned order);

/*
 * A run of nr frames (any length, even past a max-order block), starting on a
 * boundary of 2^align_order frames, found like alloc_contig_range: a range
 * whose frames are all on the free lists is taken out of them whole. The run
 * is split into naturally aligned blocks whose heads get state st; each head
 * records its order so buddy_free_contig() and the I1 walk can step through.
 * Returns the first index or BUDDY_ENOMEM.
 */
long buddy_alloc_contig(struct buddy_zone *z, uint32_t nr, unsigned align_order,
			enum frame_state st);
int buddy_free_contig(struct buddy_zone *z, uint32_t idx, uint32_t nr);

/*
 * Turns an allocated block into 2^order separately freeable order-0 blocks
 * in the same state (Linux's split_page). Used when single frames of a
 * guest run change owner (balloon) and by kvmalloc's scattered path.
 */
int buddy_split_allocated(struct buddy_zone *z, uint32_t idx);

/* Changes the state of an allocated block's head (guest <-> ballooned ...). */
int buddy_set_state(struct buddy_zone *z, uint32_t idx, enum frame_state st);

/*
 * For compaction (buddy_isolate.c), with the zone lock held. Takes the free
 * block headed by idx off the free lists as 2^order allocated order-0 frames
 * in state FRAME_VMM (the compactor's until it gives each back with
 * buddy_free_locked or turns it into a guest frame); returns the block's
 * order, or BUDDY_EINVAL if idx heads no block on the lists.
 */
long buddy_isolate_free_locked(struct buddy_zone *z, uint32_t idx);
/* Gives an allocated order-0 frame a new owner state and owner (a GFN for
 * FRAME_GUEST): 0, or BUDDY_EINVAL if idx is not such a frame. */
int buddy_frame_assign_locked(struct buddy_zone *z, uint32_t idx, enum frame_state st,
			      uint32_t owner);

/*
 * The inverse of buddy_split_allocated: the 2^order frames from idx (aligned
 * to the order), each an allocated order-0 frame in one state, become one
 * block headed by idx, which keeps its owner. The VMM joins a 2 MiB run of
 * guest frames it promoted, so compaction leaves the run where it is.
 * BUDDY_EINVAL (nothing changed) when a frame is not such a frame.
 */
int buddy_join_allocated(struct buddy_zone *z, uint32_t idx, unsigned order);

/* Head of the block containing idx, or BUDDY_EINVAL. Walks back if needed. */
long buddy_block_head(const struct buddy_zone *z, uint32_t idx);

/*
 * Invariant I1: walks every block and counts frames per owner state.
 * Cross-checks the free count against the free lists plus per-thread caches
 * and the block structure; returns 0 when everything adds up to nr_frames,
 * BUDDY_EINVAL otherwise (counts are filled in either way).
 */
int buddy_count_states(struct buddy_zone *z, uint64_t counts[FRAME_NR_OWNER_STATES]);
/* The same with the zone lock held. */
int buddy_count_states_locked(struct buddy_zone *z, uint64_t counts[FRAME_NR_OWNER_STATES]);

/* Invariant I3: every frame free and merged into max-order blocks (as far as
 * the zone's size allows). */
bool buddy_fully_coalesced(struct buddy_zone *z);

/* Free blocks per order (sum over types) and per type, under the lock. */
void buddy_free_blocks(struct buddy_zone *z, uint64_t per_order[MM_MAX_ORDER_LIMIT + 1],
		       uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1]);
/* Pageblocks per migrate type. */
void buddy_pageblock_counts(struct buddy_zone *z, uint64_t per_type[MT_NR_TYPES]);
void buddy_stats(struct buddy_zone *z, struct buddy_counters *out);

#endif
