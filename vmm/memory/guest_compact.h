/*
 * Compaction of a guest's memory (DESIGN.md memory model 7), the VMM's half
 * of mm/compaction.h: the mover that takes a batch of guest pages from
 * their frames of zone Normal to others (copy, XXH3 of both, p2m leaves,
 * MAP_FIXED of the view, which is the invalidation KVM's MMU notifiers turn
 * into second-stage zaps; one copy and one mapping per run of consecutive
 * GFNs going to consecutive frames), the splitter for guest blocks of
 * order 1..8, and promotion: a 2 MiB-aligned GFN range backed by one
 * 2 MiB-aligned run of frames in order becomes one 2 MiB p2m leaf and one
 * host mapping, so the second stage can map it large again.
 *
 * The guest must not write its memory while this runs: call it with the
 * VM's vCPUs stopped (the VM layer pauses them around it), or with no VM.
 * A page written during its copy would lose the write; the hash check
 * would not see it, since it compares the copy with the source after it.
 */
#ifndef VMM_GUEST_COMPACT_H
#define VMM_GUEST_COMPACT_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/compaction.h"
#include "vmm/memory/guest_mem.h"

/* What one guest_mem_compact did; the counters below sum them. */
struct guest_compact_result {
	uint64_t moved;            /* 4 KiB pages moved by the scanners */
	uint64_t failed;           /* moves rolled back (mmap, budget, hash, p2m) */
	uint64_t hash_mismatches;  /* of those, copies whose XXH3 differed */
	uint64_t stale;            /* frames the guest freed or ballooned meanwhile */
	uint64_t split_blocks;     /* guest blocks of order 1..8 made order-0 frames */
	uint64_t promoted_ranges;  /* 2 MiB ranges turned into one 2 MiB leaf */
	uint64_t steered_ranges;   /* of those, first moved whole into a free aligned block */
	uint64_t bytes_copied;     /* by the scanners' moves and by steering */
	uint64_t migrate_scanned, free_scanned;
	uint64_t passes;           /* scanner runs (a full compaction repeats them) */
	uint64_t ns;
	bool target_reached;       /* order >= 0: a free block of it exists */
	enum mm_compact_stop stop; /* why the last scanner run stopped */
};

/* Since the guest memory was made: every run's result summed. */
struct guest_compact_stats {
	uint64_t runs, moved, failed, hash_mismatches, stale, split_blocks;
	uint64_t promoted_ranges, steered_ranges, bytes_copied, ns;
};

/*
 * Compacts zone Normal for gm: order MM_COMPACT_FULL walks the whole zone,
 * promotes every range that can be, and steers ranges into free aligned
 * 2 MiB blocks (moving the range's 512 pages there whole), repeating the
 * scanners while steering frees more; order >= 0 stops once a free block of
 * that order exists (then promotes in place only). budget_ns bounds the
 * whole call (MM_COMPACT_NO_BUDGET: none; 0: one move of the scanners and
 * no promotion; a steer, which cannot be cut short, is started only when
 * the recent steers' time fits in what is left, so a budget smaller than
 * one steer promotes in place only); stop, when not NULL, ends it at the
 * next step once it reads non-zero. Requires the vCPUs stopped (above).
 * 0 with *out filled; -EINVAL (bad order, no zone Normal), -EBUSY (another
 * run is on the zone).
 */
int guest_mem_compact(struct guest_mem *gm, int order, uint64_t budget_ns, const int *stop,
		      struct guest_compact_result *out);

/* The sums, each read atomically (a run may be adding to them). */
void guest_mem_compact_stats(struct guest_mem *gm, struct guest_compact_stats *out);

/*
 * For the tests: while non-zero, each copy the mover or a steer makes is
 * corrupted in one byte after the copy and the count goes down by one, so
 * the XXH3 check finds a mismatch and the move rolls back.
 */
extern int guest_compact_corrupt_copies;

#endif
