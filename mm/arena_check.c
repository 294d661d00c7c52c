/*
 * Invariant I1 over a whole arena: every zone's frames counted by state,
 * after the per-thread caches have brought their share of the free count up
 * to date, so the count compares against what the caches hold now.
 */
#include "arena.h"

int mm_arena_check_frames(struct mm_arena *a, uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES])
{
	int rc = 0;

	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = &a->zone[id];
		if (!z->present) {
			for (int s = 0; s < FRAME_NR_OWNER_STATES; s++)
				counts[id][s] = 0;
			continue;
		}
		mm_pcp_publish(z);
		int r = buddy_count_states(&z->buddy, counts[id]);
		if (r && !rc)
			rc = r;
	}
	return rc;
}
