/*
 * Invariant I1 over a zone and over a whole arena (arena.h). The per-thread
 * caches change their blocks' states without the zone lock, so a count
 * taken while they run could be wrong without anything being wrong: the
 * count is taken in one walk under the zone lock, with the caches' shares
 * published in the same hold, between two reads of the caches' seqcounts.
 * If a cache moved meanwhile the count proves nothing and is taken again; a
 * few tries later the answer is "busy", never a false mismatch.
 */
#include <errno.h>
#include "arena.h"
#include "mmthread.h"

#define CHECK_TRIES 4

int mm_zone_check_frames(struct mm_zone *z, uint64_t counts[FRAME_NR_OWNER_STATES])
{
	uint64_t seq[MM_MAX_THREADS];

	for (int t = 0; t < CHECK_TRIES; t++) {
		bool steady = mm_pcp_seq_read(z, seq);
		buddy_lock(&z->buddy);
		mm_pcp_publish_locked(z);
		int rc = buddy_count_states_locked(&z->buddy, counts);
		buddy_unlock(&z->buddy);
		if (steady && !mm_pcp_seq_moved(z, seq))
			return rc ? -EINVAL : 0;
	}
	return -EBUSY;
}

/* A mismatch anywhere wins over a busy zone. */
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
		int r = mm_zone_check_frames(z, counts[id]);
		if (r && rc != -EINVAL)
			rc = r;
	}
	return rc;
}
