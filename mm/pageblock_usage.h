/*
 * What each pageblock of a zone holds now: its migrate type and how many of
 * its frames are free, VMM-owned, guest-owned and ballooned (I1's four
 * states), and whether one guest block of 2 MiB or more covers it whole.
 * For pictures of fragmentation before and after compaction (QMP
 * x-query-pageblocks), so one walk of the descriptors under the zone lock,
 * as the I1 count does; frames in per-thread caches count as free.
 */
#ifndef MM_PAGEBLOCK_USAGE_H
#define MM_PAGEBLOCK_USAGE_H

#include <stdint.h>
#include "arena.h"

struct mm_pageblock_usage {
	uint32_t count[FRAME_NR_OWNER_STATES];  /* frames per state */
	uint32_t guest_gfn;          /* one guest block of order >= 9 covers the
				      * pageblock: the GFN of its first frame;
				      * else UINT32_MAX */
	uint8_t migratetype;         /* enum migratetype */
};

/* Fills out[0 .. z->buddy.nr_pageblocks - 1], one per pageblock of z. */
void mm_zone_pageblock_usage(struct mm_zone *z, struct mm_pageblock_usage *out);

#endif
