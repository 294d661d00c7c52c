/*
 * The arena: zones and their direct maps, configuration checks (the arena's
 * and mm_create's), that the arena alone makes nothing above the frames,
 * and zone Huge's three modes against the host's hugetlb pool.
 *
 * Hugetlb policy: tests that need zone Huge first look for free pages in
 * the pool (make test raises it through tools/hugepages.sh). If there are
 * not enough and we are root, the test raises vm's pool itself for its own
 * run and puts it back afterwards. If the pages still cannot be had, the
 * test fails with the reason when CI=true (CI must exercise zone Huge) and
 * is skipped with the reason otherwise. The "pool too small" cases never
 * touch the pool: they ask for one page more than it has free.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fixture.h"
#include "mm/arena.h"
#include "mm/mm.h"

#define POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static long pool_read(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), POOL "%s", name);
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool pool_write_total(long total)
{
	FILE *f = fopen(POOL "nr_hugepages", "w");
	if (!f)
		return false;
	bool ok = fprintf(f, "%ld\n", total) > 0;
	return fclose(f) == 0 && ok;
}

static long pool_available(void)
{
	long free_pages = pool_read("free_hugepages"), resv = pool_read("resv_hugepages");
	return free_pages < 0 || resv < 0 || resv > free_pages ? 0 : free_pages - resv;
}

/* The pool size to restore, or -1 if this test did not change it. */
static long pool_restore_to = -1;

static void pool_restore(void)
{
	if (pool_restore_to >= 0)
		pool_write_total(pool_restore_to);
	pool_restore_to = -1;
}

/* Makes sure `pages` 2 MiB pages are free, or fails/skips as the policy says. */
static void pool_need(long pages)
{
	long avail = pool_available();
	if (avail >= pages)
		return;
	long total = pool_read("nr_hugepages");
	if (geteuid() == 0 && total >= 0 && pool_write_total(total + pages - avail)) {
		pool_restore_to = total;
		avail = pool_available();
		if (avail >= pages)
			return;
		pool_restore();
	}
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0)
		cr_assert_fail("zone Huge needs %ld free 2 MiB pages and the hugetlb pool has %ld "
			"(as root: echo N > /proc/sys/vm/nr_hugepages, or run make hugepages)",
			pages, avail);
	else
		cr_skip_test("zone Huge needs %ld free 2 MiB pages; the hugetlb pool has %ld", pages,
			     avail);
}

static size_t align_of(const void *p)
{
	return (size_t)1 << __builtin_ctzl((unsigned long)(uintptr_t)p);
}

Test(arena, normal_zone_and_its_direct_map)
{
	struct mm_arena_config cfg = { .normal_bytes = (8u << 20) + 5000, .huge = MM_HUGE_OFF };
	struct mm_arena *a = fixture_arena_cfg(&cfg);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);

	cr_assert_not_null(z);
	cr_assert_null(mm_zone_get(a, ZONE_HUGE));
	cr_assert_eq(z->bytes, (8u << 20) + 8192, "rounded up to whole frames");
	cr_assert_eq(z->buddy.nr_frames, 2048 + 2);
	cr_assert_eq(z->base_hfn, 0);
	cr_assert_str_eq(z->buddy.name, "Normal");
	cr_assert_eq(a->max_order, MM_DEFAULT_MAX_ORDER);
	cr_assert_geq(align_of(z->base), PAGE_SIZE << MM_DEFAULT_MAX_ORDER,
		      "direct map at %p not aligned to a max-order block", (void *)z->base);

	/* the direct map is the memfd itself */
	long h = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_geq(h, 0);
	char *p = mm_frame_ptr(z, (uint32_t)h);
	strcpy(p, "through the direct map");
	char back[32] = { 0 };
	cr_assert_eq(pread(z->memfd, back, sizeof(back) - 1, (off_t)h << PAGE_SHIFT),
		     (ssize_t)sizeof(back) - 1);
	cr_assert_str_eq(back, "through the direct map");
	cr_assert_eq(mm_ptr_frame(z, p + 100), (uint32_t)h);
	cr_assert_eq(mm_arena_zone_of(a, p), z);
	cr_assert_eq(mm_arena_zone_of(a, z->base + z->bytes - 1), z);
	cr_assert_null(mm_arena_zone_of(a, z->base + z->bytes));
	cr_assert_null(mm_arena_zone_of(a, &cfg));

	uint64_t c[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(a, c), 0);
	cr_assert_eq(c[ZONE_NORMAL][FRAME_FREE] + c[ZONE_NORMAL][FRAME_VMM] +
			     c[ZONE_NORMAL][FRAME_GUEST] + c[ZONE_NORMAL][FRAME_BALLOONED],
		     z->buddy.nr_frames);
	cr_assert_eq(c[ZONE_HUGE][FRAME_FREE], 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), 0);
	fixture_finish(a);
}

/* One name per zone, as the dumps print them, whether the arena has it or not. */
Test(arena, zone_names)
{
	cr_assert_str_eq(mm_zone_name(ZONE_NORMAL), "Normal");
	cr_assert_str_eq(mm_zone_name(ZONE_HUGE), "Huge");
	cr_assert_str_eq(mm_zone_name(MM_NR_ZONES), "?");
}

Test(arena, direct_map_alignment_follows_max_order)
{
	for (unsigned mo = 0; mo <= MM_MAX_ORDER_LIMIT; mo += 3) {
		struct mm_arena_config cfg = { .normal_bytes = 32u << 20, .huge = MM_HUGE_OFF,
					       .max_order = mo ? mo : 1 };
		struct mm_arena *a = fixture_arena_cfg(&cfg);
		struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
		cr_assert_eq(z->buddy.max_order, cfg.max_order);
		cr_assert_geq(align_of(z->base), PAGE_SIZE << cfg.max_order, "max_order %u",
			      cfg.max_order);
		fixture_finish(a);
	}
}

/* The arena's own checks, and the same answers through mm_create, which
 * checks nothing of its own before it. */
static void config_is_checked_by(int (*create)(const struct mm_arena_config *,
					      struct mm_arena **), const char *who)
{
	struct mm_arena *a = NULL;
	struct mm_arena_config cfg = { .normal_bytes = 0 };

	cr_assert_eq(create(&cfg, &a), -EINVAL, "%s: no zone Normal", who);
	cfg.normal_bytes = 1 << 20;
	cfg.max_order = MM_MAX_ORDER_LIMIT + 1;
	cr_assert_eq(create(&cfg, &a), -EINVAL, "%s: max_order", who);
	cfg.max_order = 0;
	cfg.huge = (enum mm_huge_mode)7;
	cr_assert_eq(create(&cfg, &a), -EINVAL, "%s: huge mode", who);
	cfg.huge = MM_HUGE_OFF;
	cfg.normal_bytes = (size_t)UINT32_MAX << PAGE_SHIFT;
	cr_assert_eq(create(&cfg, &a), -E2BIG, "%s: 2^32 - 1 frames", who);
	cfg.normal_bytes = SIZE_MAX;
	cr_assert_eq(create(&cfg, &a), -E2BIG, "%s", who);
	cfg.normal_bytes = 1 << 20;
	cfg.huge_bytes = SIZE_MAX - 10;
	cr_assert_eq(create(&cfg, &a), -E2BIG, "%s: zone Huge", who);
	cr_assert_eq(create(NULL, &a), -EINVAL, "%s", who);
	cfg.huge_bytes = 0;
	cr_assert_eq(create(&cfg, NULL), -EINVAL, "%s: no out", who);
	cr_assert_null(a, "%s", who);
}

Test(arena, config_is_checked)
{
	config_is_checked_by(mm_arena_create, "mm_arena_create");
	config_is_checked_by(mm_create, "mm_create");
}

/* The arena is the frame level: the slab and kmalloc come only with mm_create. */
Test(arena, alone_has_nothing_above_the_frames)
{
	struct mm_arena_config cfg = { .normal_bytes = 4u << 20, .huge = MM_HUGE_OFF };
	struct mm_arena *a = NULL;
	int rc = mm_arena_create(&cfg, &a);
	cr_assert_eq(rc, 0, "mm_arena_create: %s", strerror(-rc));
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);

	cr_assert_null(z->slabs);
	cr_assert_null(a->caches);
	cr_assert_null(a->kmalloc);
	cr_assert_null(a->vmap);
	long h = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_geq(h, 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), 0);
	fixture_check_i1(a);
	mm_pcp_drain(z);
	cr_assert(buddy_fully_coalesced(&z->buddy));
	mm_arena_destroy(a);
}

Test(arena, huge_off_never_creates_the_zone)
{
	struct mm_arena_config cfg = { .normal_bytes = 4u << 20, .huge_bytes = 4u << 20,
				       .huge = MM_HUGE_OFF };
	struct mm_arena *a = fixture_arena_cfg(&cfg);
	cr_assert_null(mm_zone_get(a, ZONE_HUGE));
	cr_assert_str_eq(a->huge_status, "zone Huge: off (huge pages turned off)");
	fixture_finish(a);
}

Test(arena, huge_not_requested)
{
	struct mm_arena_config cfg = { .normal_bytes = 4u << 20, .huge = MM_HUGE_ON };
	struct mm_arena *a = fixture_arena_cfg(&cfg);
	cr_assert_null(mm_zone_get(a, ZONE_HUGE));
	cr_assert_str_eq(a->huge_status, "zone Huge: off (not requested)");
	fixture_finish(a);
}

Test(arena, huge_auto_runs_normal_alone_when_the_pool_is_short)
{
	long avail = pool_available();
	struct mm_arena_config cfg = { .normal_bytes = 4u << 20,
				       .huge_bytes = (size_t)(avail + 1) * HUGE_PAGE_SIZE,
				       .huge = MM_HUGE_AUTO };
	struct mm_arena *a = fixture_arena_cfg(&cfg);
	char want[160];

	cr_assert_not_null(mm_zone_get(a, ZONE_NORMAL));
	cr_assert_null(mm_zone_get(a, ZONE_HUGE));
	snprintf(want, sizeof(want),
		 "zone Huge: off (hugetlb pool has %ld free 2 MiB pages, %ld needed)", avail,
		 avail + 1);
	cr_assert_str_eq(a->huge_status, want);
	fixture_finish(a);
}

Test(arena, huge_on_fails_when_the_pool_is_short)
{
	/* More than the whole pool could ever give, even while the suite's
	 * other tests (run alongside) take pages, give them back or grow it
	 * by a few: what is free at one moment would race with them. */
	long total = pool_read("nr_hugepages"), over = pool_read("nr_overcommit_hugepages");
	long want = (total > 0 ? total : 0) + (over > 0 ? over : 0) + 1024;
	struct mm_arena_config cfg = { .normal_bytes = 4u << 20,
				       .huge_bytes = (size_t)want * HUGE_PAGE_SIZE,
				       .huge = MM_HUGE_ON };
	struct mm_arena *a = NULL;
	cr_assert_eq(mm_arena_create(&cfg, &a), -ENOMEM);
	cr_assert_eq(mm_create(&cfg, &a), -ENOMEM);
	cr_assert_null(a);
}

static void huge_zone_works(enum mm_huge_mode mode)
{
	pool_need(4);
	struct mm_arena_config cfg = { .normal_bytes = 6u << 20, .huge_bytes = (6u << 20) + 1,
				       .huge = mode };
	struct mm_arena *a = NULL;
	int rc = mm_create(&cfg, &a);
	cr_assert_eq(rc, 0, "mm_create: %s", strerror(-rc));
	struct mm_zone *n = mm_zone_get(a, ZONE_NORMAL), *h = mm_zone_get(a, ZONE_HUGE);

	cr_assert_not_null(h, "%s", a->huge_status);
	cr_assert_str_eq(a->huge_status, "zone Huge: on (8 MiB, 4 2 MiB pages)");
	cr_assert_str_eq(h->buddy.name, "Huge");
	cr_assert_eq(h->bytes, 8u << 20, "rounded up to whole 2 MiB pages");
	cr_assert_eq(h->base_hfn, n->buddy.nr_frames, "HFNs: Huge after Normal");
	cr_assert_geq(align_of(h->base), PAGE_SIZE << a->max_order);
	cr_assert_geq(align_of(n->base), PAGE_SIZE << a->max_order);

	long f = mm_frames_alloc(h, 9, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_geq(f, 0);
	char *p = mm_frame_ptr(h, (uint32_t)f);
	memset(p, 0x5a, HUGE_PAGE_SIZE);
	cr_assert_eq(mm_arena_zone_of(a, p + 4096), h);
	cr_assert_eq(mm_arena_zone_of(a, n->base), n);
	uint64_t c[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(a, c), 0);
	cr_assert_eq(c[ZONE_HUGE][FRAME_GUEST], 512);
	cr_assert_eq(mm_frames_free(h, (uint32_t)f, 9), 0);
	fixture_finish(a);
}

/* .fini puts the pool back even when an assertion ends the test early. */
Test(arena, huge_auto_creates_the_zone_when_the_pool_has_room, .fini = pool_restore)
{
	huge_zone_works(MM_HUGE_AUTO);
}

Test(arena, huge_on_creates_the_zone_when_the_pool_has_room, .fini = pool_restore)
{
	huge_zone_works(MM_HUGE_ON);
}
