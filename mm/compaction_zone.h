/*
 * A zone's compaction state, kept in struct mm_zone as the kernel keeps its
 * compact_* fields in struct zone: the counters of /proc/vmstat's compact_*
 * lines, the skip hints per pageblock, and the flag that lets one run at a
 * time work on the zone. Types only: compaction.c owns what they mean.
 */
#ifndef MM_COMPACTION_ZONE_H
#define MM_COMPACTION_ZONE_H

#include <stdint.h>

/*
 * Event counters, added to with relaxed atomics as the events happen, so a
 * monitor reads them while a run and the zone's allocators go on. Named as
 * the kernel's /proc/vmstat lines they become (compaction.h).
 */
struct mm_compact_counters {
	uint64_t migrate_scanned;   /* frames the migrate scanner looked at */
	uint64_t free_scanned;      /* frames the free scanner looked at */
	uint64_t isolated;          /* free frames taken as targets + guest frames taken to move */
	uint64_t moved;             /* guest frames moved (pgmigrate_success) */
	uint64_t failed;            /* moves the mover refused (pgmigrate_fail) */
	uint64_t stalls;            /* runs a caller waited on for a block of an order */
	uint64_t success;           /* of those, runs that got the block */
	uint64_t runs;              /* every run, full ones too */
	uint64_t ns;                /* time spent in runs */
};

struct mm_compact_zone {
	struct mm_compact_counters stats;
	/* One byte per pageblock, non-zero when a move from it failed: the
	 * migrate scanner passes it by until a full compaction clears them.
	 * Lives in the zone's descriptor mapping, after the pageblock types
	 * (zone.c). Written only by the run holding `running`. */
	uint8_t *skip;
	int running;                /* 1 while a run works on the zone */
	/* Where the scanners stopped when a run ended before they met (its
	 * budget, its stop flag, its target): the next run goes on from there,
	 * as the kernel's compact_cached_*_pfn, so a caller compacting in
	 * small budgets walks the zone once instead of its start each time.
	 * Written only by the run holding `running`. */
	struct mm_compact_resume {
		uint32_t migrate_pb, migrate_pos, free_pb, free_next;
		int valid;
	} resume;
};

#endif
