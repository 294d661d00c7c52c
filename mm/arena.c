/*
 * The frame arena: which zones it has and where their HFNs start (zone
 * Normal always, zone Huge as the config's mode and the host's hugetlb pool
 * allow, with huge_status saying why), each made by zone.c and given its
 * per-thread frame caches (pcp.c); tearing them down; and the
 * address-to-zone lookup. Nothing above the frames: mm_create (mm.c) puts
 * the slab and kmalloc on top. The I1 check over the zones is
 * arena_check.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hugetlb.h"
#include "zone.h"

/*
 * Zone Huge by the config's mode. Returns 0 when the arena may go on (with
 * or without the zone; huge_status says which and why), -errno when
 * MM_HUGE_ON cannot be honoured.
 */
static int zone_huge_setup(struct mm_arena *a, const struct mm_arena_config *cfg, size_t bytes,
			   uint64_t base_hfn)
{
	char *st = a->huge_status;
	size_t st_len = sizeof(a->huge_status);
	size_t pages = bytes / HUGE_PAGE_SIZE;

	if (!bytes) {
		snprintf(st, st_len, "zone Huge: off (not requested)");
		return 0;
	}
	if (cfg->huge == MM_HUGE_OFF) {
		snprintf(st, st_len, "zone Huge: off (huge pages turned off)");
		return 0;
	}
	uint64_t avail = mm_hugetlb_available_bytes() / HUGE_PAGE_SIZE;
	if (avail < pages) {
		snprintf(st, st_len,
			 "zone Huge: off (hugetlb pool has %" PRIu64 " free 2 MiB pages, %zu needed)",
			 avail, pages);
		return cfg->huge == MM_HUGE_ON ? -ENOMEM : 0;
	}
	int rc = mm_zone_setup(a, ZONE_HUGE, bytes, base_hfn, MM_NORMAL_4K);
	if (rc) {
		/* Someone took the pages between the check and the reservation,
		 * or hugetlbfs is not there at all. */
		snprintf(st, st_len, "zone Huge: off (reserving %zu 2 MiB pages failed: %s)", pages,
			 strerror(-rc));
		return cfg->huge == MM_HUGE_ON ? rc : 0;
	}
	snprintf(st, st_len, "zone Huge: on (%zu MiB, %zu 2 MiB pages)", bytes >> 20, pages);
	return 0;
}

/* Rounds up to a multiple of unit; 0 if the result or its frame count is too big. */
static size_t zone_bytes(size_t bytes, size_t unit)
{
	if (bytes > SIZE_MAX - (unit - 1))
		return 0;
	bytes = (bytes + unit - 1) & ~(unit - 1);
	return (bytes >> PAGE_SHIFT) >= FRAME_NONE ? 0 : bytes;
}

static void arena_free(struct mm_arena *a)
{
	for (int id = MM_NR_ZONES - 1; id >= 0; id--) {
		mm_pcp_destroy(&a->zone[id]);
		mm_zone_teardown(&a->zone[id]);
	}
	free(a);
}

int mm_arena_create(const struct mm_arena_config *cfg, struct mm_arena **out)
{
	if (!cfg || !out || cfg->normal_bytes == 0 || cfg->max_order > MM_MAX_ORDER_LIMIT ||
	    (unsigned)cfg->huge > MM_HUGE_OFF || (unsigned)cfg->normal_backing > MM_NORMAL_4K)
		return -EINVAL;
	size_t normal = zone_bytes(cfg->normal_bytes, PAGE_SIZE);
	size_t huge = cfg->huge_bytes ? zone_bytes(cfg->huge_bytes, HUGE_PAGE_SIZE) : 0;
	if (!normal || (cfg->huge_bytes && !huge))
		return -E2BIG;

	struct mm_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->max_order = cfg->max_order ? cfg->max_order : MM_DEFAULT_MAX_ORDER;
	for (int id = 0; id < MM_NR_ZONES; id++) {
		a->zone[id].id = (enum mm_zone_id)id;
		a->zone[id].memfd = -1;
		a->zone[id].arena = a;
	}

	int rc = mm_zone_setup(a, ZONE_NORMAL, normal, 0, cfg->normal_backing);
	if (!rc)
		rc = zone_huge_setup(a, cfg, huge, normal >> PAGE_SHIFT);
	for (int id = 0; !rc && id < MM_NR_ZONES; id++)
		if (a->zone[id].present)
			rc = mm_pcp_init(&a->zone[id]);
	if (rc) {
		arena_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void mm_arena_destroy(struct mm_arena *a)
{
	if (a)
		arena_free(a);
}

struct mm_zone *mm_arena_zone_of(struct mm_arena *a, const void *p)
{
	for (int id = 0; id < MM_NR_ZONES; id++)
		if (mm_zone_contains(&a->zone[id], p))
			return &a->zone[id];
	return NULL;
}
