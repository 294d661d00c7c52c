/*
 * Fragmenting zone Normal (see fragment.h): take every frame from the buddy,
 * then give back the even ones, which cannot merge with their odd buddies,
 * and three whole 4 MiB blocks.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include "mm/buddy.h"
#include "mm/mm.h"
#include "mm/p2m.h"
#include "vmm/memory/guest_mem.h"
#include "fragment.h"

#define RUN_FRAMES 1024       /* 4 MiB */

static bool in_free_run(long idx)
{
	return (idx >= 4 * RUN_FRAMES && idx < 5 * RUN_FRAMES) ||
	       (idx >= 9 * RUN_FRAMES && idx < 10 * RUN_FRAMES) ||
	       (idx >= 14 * RUN_FRAMES && idx < 15 * RUN_FRAMES);
}

void fragmented_create(struct fragmented *f, size_t normal_mib)
{
	struct mm_arena_config cfg = { .normal_bytes = normal_mib << 20, .huge = MM_HUGE_OFF };

	memset(f, 0, sizeof(*f));
	cr_assert_eq(mm_create(&cfg, &f->arena), 0);
	struct mm_zone *z = mm_zone_get(f->arena, ZONE_NORMAL);
	f->taken = calloc(z->buddy.nr_frames, sizeof(long));
	cr_assert_not_null(f->taken);
	mm_pcp_drain(z);
	long idx;
	size_t n = 0;
	while ((idx = buddy_alloc(&z->buddy, 0, MT_MOVABLE, FRAME_VMM, false)) >= 0)
		f->taken[n++] = idx;
	for (size_t k = 0; k < n; k++) {
		if ((f->taken[k] & 1) && !in_free_run(f->taken[k]))
			f->taken[f->nr_taken++] = f->taken[k];
		else
			cr_assert_eq(buddy_free(&z->buddy, (uint32_t)f->taken[k], 0), 0);
	}
}

void fragmented_give_back(struct fragmented *f)
{
	struct mm_zone *z = mm_zone_get(f->arena, ZONE_NORMAL);

	for (size_t k = 0; k < f->nr_taken; k++)
		cr_assert_eq(buddy_free(&z->buddy, (uint32_t)f->taken[k], 0), 0);
	free(f->taken);
	f->taken = NULL;
	f->nr_taken = 0;
}

void fragmented_destroy(struct fragmented *f)
{
	fragmented_give_back(f);
	mm_destroy(f->arena);
}

void fragmented_free_around(struct fragmented *f, struct guest_mem *gm, uint64_t nr_gfns)
{
	struct mm_zone *z = mm_zone_get(f->arena, ZONE_NORMAL);
	bool *guest_pb = calloc(z->buddy.nr_pageblocks, sizeof(bool));
	size_t kept = 0;

	cr_assert_not_null(guest_pb);
	for (uint64_t g = 0; g < nr_gfns; g++) {
		struct p2m_leaf l;
		cr_assert_eq(p2m_lookup(guest_mem_p2m(gm), g, &l), 0);
		guest_pb[(l.hfn - z->base_hfn) >> PAGEBLOCK_ORDER] = true;
	}
	for (size_t k = 0; k < f->nr_taken; k++)
		if (guest_pb[f->taken[k] >> PAGEBLOCK_ORDER])
			cr_assert_eq(buddy_free(&z->buddy, (uint32_t)f->taken[k], 0), 0);
		else
			f->taken[kept++] = f->taken[k];
	f->nr_taken = kept;
	free(guest_pb);
}
