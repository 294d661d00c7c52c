/*
 * Tests for free page reporting in guest memory (vmm/memory/balloon_report.c)
 * on real guest memory, without a device: a reported range loses exactly
 * its host memory (the memfd's blocks, measured) and reads zeros, the
 * frames stay the guest's (I1, the frame owners, the view's mappings), and
 * the guest can write there again. Every hostile range is refused and
 * counted with no guest byte changed. Balloon inflate and deflate of
 * reported pages, and zone Huge (whole 2 MiB pages given back, the rest
 * kept) when the host has a hugetlb pool.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "tests/support/test_env.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/balloon_report.h"
#include "vmm/memory/guest_mem.h"
#include "gm_check.h"

#define MIB (1ULL << 20)
#define GUEST_BYTES (64 * MIB)
#define GUEST_FRAMES (GUEST_BYTES >> 12)

struct fixture {
	struct mm_arena *a;
	struct guest_mem *gm;
	struct mm_zone *z;
	uint8_t *hva;
};

static void setup(struct fixture *fx, bool huge)
{
	struct mm_arena_config cfg = {
		.normal_bytes = 128 * MIB,
		.huge_bytes = huge ? 80 * MIB : 0,
		.huge = huge ? MM_HUGE_AUTO : MM_HUGE_OFF,
	};
	char why[256];

	cr_assert_eq(mm_create(&cfg, &fx->a), 0);
	if (huge && !mm_zone_get(fx->a, ZONE_HUGE)) {
		char status[sizeof(fx->a->huge_status)];
		snprintf(status, sizeof(status), "%s", fx->a->huge_status);
		mm_destroy(fx->a);
		cr_skip_test("zone Huge: %s", status);
	}
	int rc = guest_mem_create(fx->a, GUEST_BYTES, huge ? MM_HUGE_ON : MM_HUGE_OFF, &fx->gm, why,
				  sizeof(why));
	cr_assert_eq(rc, 0, "guest_mem_create: %s", why);
	cr_assert_eq(balloon_mem_attach(fx->gm), 0);
	fx->z = mm_zone_get(fx->a, huge ? ZONE_HUGE : ZONE_NORMAL);
	fx->hva = guest_mem_hva(fx->gm, 0, GUEST_BYTES);
	cr_assert_not_null(fx->hva);
	for (uint64_t g = 0; g < GUEST_FRAMES; g++)
		*(uint64_t *)(fx->hva + (g << 12) + 8) = gm_tag(g);
}

/* I1 holds and every guest frame is still there, owned. */
static void check_frames(struct fixture *fx)
{
	uint64_t c[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(fx->a, c), 0, "I1: frame states do not add up");
	cr_assert_eq(c[fx->z->id][FRAME_GUEST], GUEST_FRAMES, "reported frames stay guest frames");
	gm_check_maps(fx->gm);
}

static void teardown(struct fixture *fx)
{
	check_frames(fx);
	balloon_mem_forget(fx->gm);
	guest_mem_destroy(fx->gm);
	slab_shrink_all(fx->a);
	mm_pcp_drain(fx->z);
	cr_assert(buddy_fully_coalesced(&fx->z->buddy), "I3");
	mm_destroy(fx->a);
}

static uint64_t memfd_bytes(struct fixture *fx)
{
	struct stat sb;
	cr_assert_eq(fstat(fx->z->memfd, &sb), 0);
	return (uint64_t)sb.st_blocks * 512;
}

static bool reported(struct fixture *fx, uint64_t g)
{
	struct p2m_leaf l;
	cr_assert_eq(p2m_lookup(guest_mem_p2m(fx->gm), g, &l), 0);
	return (l.state & (P2M_ST_REPORTED | P2M_ST_PUNCHED)) == (P2M_ST_REPORTED | P2M_ST_PUNCHED);
}

/* Pages outside [lo, hi) keep their tags; pages inside read zeros. */
static void check_tags(struct fixture *fx, uint64_t lo, uint64_t hi)
{
	for (uint64_t g = 0; g < GUEST_FRAMES; g++) {
		uint64_t v = *(volatile uint64_t *)(fx->hva + (g << 12) + 8);
		if (g >= lo && g < hi)
			cr_assert_eq(v, 0, "reported gfn %#lx not zero", (unsigned long)g);
		else
			cr_assert_eq(v, gm_tag(g), "gfn %#lx changed", (unsigned long)g);
	}
}

/* The guest writes its tags into [lo, hi) again (the reported pages are
 * its own); then every page must hold its tag, and the teardown's checks
 * hold. */
static void retag_and_finish(struct fixture *fx, uint64_t lo, uint64_t hi)
{
	for (uint64_t g = lo; g < hi; g++)
		*(uint64_t *)(fx->hva + (g << 12) + 8) = gm_tag(g);
	check_tags(fx, 0, 0);
	teardown(fx);
}

static struct balloon_report_stats stats(struct fixture *fx)
{
	struct balloon_report_stats st;
	balloon_report_stats(fx->gm, &st);
	return st;
}

/* Reports [gpa, gpa + len), which must be accepted with punched bytes
 * punched. */
static struct balloon_report_result report_ok(struct fixture *fx, uint64_t gpa, uint64_t len,
					      uint64_t punched)
{
	struct balloon_report_result res;
	cr_assert_eq(balloon_mem_report_range(fx->gm, gpa, len, &res), 0, "[%#lx, +%#lx)",
		     (unsigned long)gpa, (unsigned long)len);
	cr_assert_eq(res.punched, punched);
	return res;
}

Test(balloon_report, punches_exactly_the_reported_pages_in_zone_normal)
{
	struct fixture fx;

	setup(&fx, false);
	/* Exact to the page: SLUB's slabs have room for what a report takes
	 * (a p2m table page to split a leaf), other policies take fresh ones. */
	test_skip_under_slab(fx.a, "slob", "the host memory counted here is exact to the page");
	test_skip_under_slab(fx.a, "slab", "the host memory counted here is exact to the page");
	uint64_t before = memfd_bytes(&fx);
	/* Two whole 2 MiB leaves, then 8 pages inside a third. */
	report_ok(&fx, 8 * MIB, 4 * MIB, 4 * MIB);
	report_ok(&fx, 20 * MIB + 4096, 8 * 4096, 8 * 4096);
	uint64_t after = memfd_bytes(&fx);
	struct balloon_report_stats st = stats(&fx);
	cr_assert_geq(before - after, 4 * MIB + 8 * 4096, "the host got %lu bytes back",
		      (unsigned long)(before - after));
	cr_assert_eq(st.released, before - after, "released is what the memfd lost");
	cr_assert_eq(st.ranges, 2);
	cr_assert_eq(st.bytes, 4 * MIB + 8 * 4096);
	cr_assert_eq(st.reported_frames[ZONE_NORMAL], 1024 + 8);
	cr_assert_eq(st.rejected + st.failed + st.kept_bytes, 0);
	for (uint64_t g = (8 * MIB) >> 12; g < (12 * MIB) >> 12; g++)
		cr_assert(reported(&fx, g));
	cr_assert_not(reported(&fx, (20 * MIB) >> 12), "the page before the range");
	cr_assert_not(reported(&fx, ((20 * MIB) >> 12) + 9), "the page after the range");
	check_frames(&fx);
	/* The view still maps the frames: zeros now, and writes stick. */
	for (uint64_t g = (8 * MIB) >> 12; g < (12 * MIB) >> 12; g++) {
		cr_assert_eq(*(uint64_t *)(fx.hva + (g << 12) + 8), 0, "gfn %#lx", (unsigned long)g);
		*(uint64_t *)(fx.hva + (g << 12) + 8) = gm_tag(g);
	}
	uint64_t lo = (20 * MIB + 4096) >> 12;
	check_tags(&fx, lo, lo + 8);
	retag_and_finish(&fx, lo, lo + 8);
}

/* Every hostile range is refused and counted; nothing changes. */
Test(balloon_report, hostile_ranges_are_refused_and_counted)
{
	struct fixture fx;
	struct balloon_report_result res;
	static const struct {
		uint64_t gpa, len;
		const char *what;
	} bad[] = {
		{ GUEST_BYTES, 4096, "outside RAM" },
		{ GUEST_BYTES - 4096, 8192, "across the end of RAM" },
		{ 0xc0000000ULL, 4096, "in the MMIO hole" },
		{ 0xa0000, 4096, "the legacy VGA/BIOS hole" },
		{ 0x9f000, 8192, "into the legacy hole" },
		{ 4 * MIB + 8, 4096, "an unaligned address" },
		{ 4 * MIB, 4095, "an unaligned length" },
		{ 4 * MIB, 0, "no length" },
		{ 4 * MIB, UINT64_MAX & ~4095ULL, "a huge length" },
		{ UINT64_MAX & ~4095ULL, 8192, "a sum that overflows" },
		{ 0, BALLOON_REPORT_MAX_BYTES + 4096, "longer than any report" },
	};
	unsigned n = sizeof(bad) / sizeof(bad[0]);

	setup(&fx, false);
	/* Exact to the page: SLUB's slabs have room for what a report takes
	 * (a p2m table page to split a leaf), other policies take fresh ones. */
	test_skip_under_slab(fx.a, "slob", "the host memory counted here is exact to the page");
	test_skip_under_slab(fx.a, "slab", "the host memory counted here is exact to the page");
	uint64_t before = memfd_bytes(&fx);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(balloon_mem_report_range(fx.gm, bad[i].gpa, bad[i].len, &res), -EINVAL,
			     "%s", bad[i].what);
	/* Ballooned frames: a page inside the range, and one that left. */
	uint64_t gb = (6 * MIB) >> 12;
	cr_assert_eq(balloon_mem_inflate(fx.gm, gb), 0);
	uint64_t ballooned = memfd_bytes(&fx);
	cr_assert_eq(balloon_mem_report_range(fx.gm, 4 * MIB, 4 * MIB, &res), -EINVAL,
		     "overlapping a ballooned frame");
	cr_assert_eq(balloon_mem_report_range(fx.gm, gb << 12, 4096, &res), -EINVAL,
		     "a ballooned frame");
	/* A frame the VMM holds (as if the p2m named one it should not). */
	struct p2m_leaf l;
	cr_assert_eq(p2m_lookup(guest_mem_p2m(fx.gm), (10 * MIB) >> 12, &l), 0);
	uint32_t idx = (uint32_t)(l.hfn - fx.z->base_hfn);
	long head = buddy_block_head(&fx.z->buddy, idx);
	cr_assert_geq(head, 0);
	buddy_set_state(&fx.z->buddy, (uint32_t)head, FRAME_VMM);
	cr_assert_eq(balloon_mem_report_range(fx.gm, 10 * MIB, 4096, &res), -EINVAL,
		     "a VMM-owned frame");
	buddy_set_state(&fx.z->buddy, (uint32_t)head, FRAME_GUEST);
	struct balloon_report_stats st = stats(&fx);
	cr_assert_eq(st.rejected, n + 3);
	cr_assert_eq(st.ranges, 0);
	cr_assert_eq(st.released, 0);
	cr_assert_eq(st.last_ms, 0);
	cr_assert_eq(st.reported_frames[ZONE_NORMAL], 0);
	cr_assert_eq(memfd_bytes(&fx), ballooned, "refused ranges released nothing");
	cr_assert_eq(before - ballooned, 4096, "the ballooned page left the host");
	cr_assert_eq(balloon_mem_deflate(fx.gm, gb), 0);
	retag_and_finish(&fx, gb, gb + 1);
}

/* The same range twice is refused until the guest touches it again. */
Test(balloon_report, the_same_range_twice_is_refused_until_reused)
{
	struct fixture fx;
	struct balloon_report_result res;

	setup(&fx, false);
	cr_assert_eq(balloon_mem_report_range(fx.gm, 4 * MIB, 2 * MIB, &res), 0);
	cr_assert_eq(balloon_mem_report_range(fx.gm, 4 * MIB, 2 * MIB, &res), -EALREADY);
	cr_assert_eq(balloon_mem_report_range(fx.gm, 5 * MIB, 4096, &res), -EALREADY, "a part of it");
	cr_assert_eq(stats(&fx).rejected, 2);
	/* Reused, freed, reported again (Linux's cycle): accepted. */
	memset(fx.hva + 5 * MIB, 0x5a, 4096);
	uint64_t before = memfd_bytes(&fx);
	cr_assert_eq(balloon_mem_report_range(fx.gm, 4 * MIB, 2 * MIB, &res), 0);
	/* At least the page (a THP-backed zone may have given it a 2 MiB page). */
	uint64_t freed = before - memfd_bytes(&fx);
	cr_assert_geq(freed, 4096, "the page written again went back");
	cr_assert_eq(res.released, freed);
	cr_assert_eq(stats(&fx).ranges, 2);
	retag_and_finish(&fx, (4 * MIB) >> 12, (6 * MIB) >> 12);
}

/* A reported page can be ballooned and come back; a reported range that
 * then holds a ballooned page is refused. */
Test(balloon_report, inflate_and_deflate_of_reported_pages)
{
	struct fixture fx;
	struct balloon_report_result res;
	struct balloon_mem_stats ms;

	setup(&fx, false);
	cr_assert_eq(balloon_mem_report_range(fx.gm, 4 * MIB, 64 * 4096, &res), 0);
	uint64_t g = ((4 * MIB) >> 12) + 3;
	cr_assert_eq(balloon_mem_inflate(fx.gm, g), 0);
	balloon_mem_stats(fx.gm, &ms);
	cr_assert_eq(ms.ballooned_pages, 1);
	cr_assert_eq(stats(&fx).reported_frames[ZONE_NORMAL], 63, "a ballooned page is not reported");
	cr_assert_eq(balloon_mem_report_range(fx.gm, 4 * MIB, 64 * 4096, &res), -EINVAL);
	cr_assert_eq(balloon_mem_deflate(fx.gm, g), 0);
	cr_assert_eq(*(uint64_t *)(fx.hva + (g << 12) + 8), 0);
	retag_and_finish(&fx, (4 * MIB) >> 12, ((4 * MIB) >> 12) + 64);
}

/* Zone Huge: whole 2 MiB pages inside a range go back; the rest is kept. */
Test(balloon_report, zone_huge_gives_back_whole_pages_and_keeps_the_rest)
{
	struct fixture fx;

	setup(&fx, true);
	uint64_t before = memfd_bytes(&fx);
	/* [7 MiB, 12 MiB): 8-10 and 10-12 whole, 7-8 kept. */
	cr_assert_eq(report_ok(&fx, 7 * MIB, 5 * MIB, 4 * MIB).kept, 1 * MIB);
	cr_assert_eq(before - memfd_bytes(&fx), 4 * MIB);
	/* Only a part of one page: all kept, nothing released. */
	struct balloon_report_result res = report_ok(&fx, 20 * MIB, 4096, 0);
	cr_assert_eq(res.kept, 4096);
	cr_assert_eq(res.released, 0);
	struct balloon_report_stats st = stats(&fx);
	cr_assert_eq(st.kept_ranges, 2);
	cr_assert_eq(st.kept_bytes, MIB + 4096);
	cr_assert_eq(st.reported_frames[ZONE_HUGE], 1024);
	cr_assert_not(reported(&fx, (7 * MIB) >> 12));
	check_frames(&fx);
	check_tags(&fx, (8 * MIB) >> 12, (12 * MIB) >> 12);
	retag_and_finish(&fx, (8 * MIB) >> 12, (12 * MIB) >> 12);
}
