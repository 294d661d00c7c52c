/*
 * The tests/mm fixture: arenas for tests, and the I1/I3 checks each test
 * ends with.
 */
#include <criterion/criterion.h>
#include <string.h>
#include "fixture.h"
#include "mm/mm.h"
#include "mm/slab.h"

struct mm_arena *fixture_arena_cfg(const struct mm_arena_config *cfg)
{
	struct mm_arena *a = NULL;
	int rc = mm_create(cfg, &a);
	cr_assert_eq(rc, 0, "mm_create: %s", strerror(-rc));
	cr_assert_not_null(a);
	return a;
}

struct mm_arena *fixture_arena(size_t normal_mib)
{
	struct mm_arena_config cfg = {
		.normal_bytes = normal_mib << 20,
		.huge = MM_HUGE_OFF,
	};
	return fixture_arena_cfg(&cfg);
}

struct slab_cache *fixture_cache(struct mm_arena *a, const char *name, size_t size,
				 unsigned flags)
{
	struct slab_cache_params p = { .size = size, .flags = flags, .order = -1 };
	struct slab_cache *c = slab_cache_create(a, name, &p);
	cr_assert_not_null(c, "slab_cache_create(%s, %zu)", name, size);
	return c;
}

bool fixture_slub(const struct mm_arena *a)
{
	return !strcmp(slab_policy_name(a), "slub");
}

void fixture_check_i1(struct mm_arena *a)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	int rc = mm_arena_check_frames(a, counts);
	cr_assert_eq(rc, 0, "I1: frame states do not add up (free %lu vmm %lu guest %lu ballooned %lu)",
		     (unsigned long)counts[ZONE_NORMAL][FRAME_FREE],
		     (unsigned long)counts[ZONE_NORMAL][FRAME_VMM],
		     (unsigned long)counts[ZONE_NORMAL][FRAME_GUEST],
		     (unsigned long)counts[ZONE_NORMAL][FRAME_BALLOONED]);
}

void fixture_finish(struct mm_arena *a)
{
	fixture_check_i1(a);
	slab_shrink_all(a);
	for (int z = 0; z < MM_NR_ZONES; z++) {
		struct mm_zone *zone = mm_zone_get(a, (enum mm_zone_id)z);
		if (zone)
			mm_pcp_drain(zone);
	}
	fixture_check_i1(a);
	for (int z = 0; z < MM_NR_ZONES; z++) {
		struct mm_zone *zone = mm_zone_get(a, (enum mm_zone_id)z);
		if (zone)
			cr_assert(buddy_fully_coalesced(&zone->buddy),
				  "I3: zone %s did not coalesce back into max-order blocks "
				  "after everything was freed", zone->buddy.name);
	}
	mm_destroy(a);
}
