/*
 * Tests for guest memory (vmm/memory/guest_mem.c, guest_region.c, guest_inval.c):
 * the layout around the MMIO hole and the bounds of guest_mem_hva, a
 * contiguous region on zone Huge and on zone Normal, the scattered fallback
 * over a zone fragmented on purpose (checked frame by frame through the
 * direct map), remap and punch as the view and the p2m see them, mapping
 * counts against /proc/self/maps (I4), memslots, and that destroying guest
 * memory gives every frame back (I1 and I3 at the end of each test).
 */
#include <criterion/criterion.h>
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/memory/guest_mem.h"
#include "gm_check.h"
#include "mmap_inject.h"
#include "tests/support/test_env.h"

#define MIB (1ULL << 20)

/* ---- arenas and the invariants every test ends with ---- */

static struct mm_arena *arena(uint64_t normal_mib, uint64_t huge_mib)
{
	struct mm_arena_config cfg = {
		.normal_bytes = normal_mib * MIB,
		.huge_bytes = huge_mib * MIB,
		.huge = huge_mib ? MM_HUGE_AUTO : MM_HUGE_OFF,
	};
	struct mm_arena *a = NULL;
	int rc = mm_create(&cfg, &a);
	cr_assert_eq(rc, 0, "mm_create: %s", strerror(-rc));
	return a;
}

/* An arena with zone Huge, or the test is skipped (the pool is short). */
static struct mm_arena *arena_huge(uint64_t normal_mib, uint64_t huge_mib)
{
	struct mm_arena *a = arena(normal_mib, huge_mib);
	if (!mm_zone_get(a, ZONE_HUGE)) {
		char status[sizeof(a->huge_status)];
		snprintf(status, sizeof(status), "%s", a->huge_status);
		mm_destroy(a);
		cr_skip_test("%s", status);
	}
	return a;
}

static uint64_t frames_in(struct mm_arena *a, enum mm_zone_id z, enum frame_state st)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(a, counts), 0, "I1: frame states do not add up");
	return counts[z][st];
}

/* Everything is freed: I1 holds, and every zone coalesces (I3). */
static void finish(struct mm_arena *a)
{
	slab_shrink_all(a);
	for (int z = 0; z < MM_NR_ZONES; z++) {
		struct mm_zone *zone = mm_zone_get(a, (enum mm_zone_id)z);
		if (!zone)
			continue;
		mm_pcp_drain(zone);
		cr_assert_eq(frames_in(a, (enum mm_zone_id)z, FRAME_GUEST), 0);
		cr_assert(buddy_fully_coalesced(&zone->buddy),
			  "I3: zone %s did not coalesce after guest memory was destroyed",
			  zone->buddy.name);
	}
	mm_destroy(a);
}

static struct guest_mem *create(struct mm_arena *a, uint64_t bytes, enum mm_huge_mode mode)
{
	struct guest_mem *gm = NULL;
	char why[256];
	int rc = guest_mem_create(a, bytes, mode, &gm, why, sizeof(why));
	cr_assert_eq(rc, 0, "guest_mem_create: %s (%s)", why, strerror(-rc));
	return gm;
}

static struct guest_mem_region region(struct guest_mem *gm, unsigned i)
{
	struct guest_mem_region r;
	cr_assert_eq(guest_mem_region(gm, i, &r), 0);
	return r;
}

/* The direct-map address of the frame backing gfn, by the p2m. */
static uint8_t *frame_of(struct guest_mem *gm, uint64_t gfn, struct p2m_leaf *leaf)
{
	struct mm_arena *a = guest_mem_arena(gm);
	struct p2m_leaf l;
	cr_assert_eq(p2m_lookup(guest_mem_p2m(gm), gfn, &l), 0, "gfn %#lx unmapped",
		     (unsigned long)gfn);
	if (leaf)
		*leaf = l;
	struct mm_zone *z = mm_zone_get(a, l.zone);
	cr_assert_not_null(z);
	return mm_frame_ptr(z, (uint32_t)(l.hfn - z->base_hfn));
}

/* Writes a tag into every page through the view and finds each one through
 * the direct map at the frame the p2m names: the view maps what the p2m says. */
static void check_pattern(struct guest_mem *gm)
{
	for (unsigned i = 0; i < guest_mem_nr_regions(gm); i++) {
		struct guest_mem_region r = region(gm, i);
		uint64_t g0 = r.gpa >> 12;
		for (uint64_t p = 0; p < r.size >> 12; p++)
			*(volatile uint64_t *)(r.hva + (p << 12) + 8) = gm_tag(g0 + p);
		for (uint64_t p = 0; p < r.size >> 12; p++)
			cr_assert_eq(*(uint64_t *)(frame_of(gm, g0 + p, NULL) + 8), gm_tag(g0 + p),
				     "gfn %#lx: the view and the p2m disagree", (unsigned long)(g0 + p));
	}
}

static struct p2m_counts leaves(struct guest_mem *gm, uint64_t gpa, uint64_t size)
{
	struct p2m_counts c;
	cr_assert_eq(p2m_count_leaves(guest_mem_p2m(gm), gpa >> 12, size >> 12, &c), 0);
	return c;
}

/* ---- building ---- */

Test(guest_mem, contiguous_on_zone_huge)
{
	struct mm_arena *a = arena_huge(16, 64);
	struct guest_mem *gm = create(a, 64 * MIB, MM_HUGE_AUTO);

	cr_assert_eq(guest_mem_nr_regions(gm), 1);
	struct guest_mem_region r = region(gm, 0);
	cr_assert_eq(r.gpa, 0);
	cr_assert_eq(r.size, 64 * MIB);
	cr_assert(r.contiguous);
	cr_assert_eq(r.zone, ZONE_HUGE);
	cr_assert_eq(r.zone_bytes[ZONE_HUGE], 64 * MIB);
	cr_assert_eq(r.nr_mappings, 1);
	cr_assert_eq((uintptr_t)r.hva & (2 * MIB - 1), 0, "the view is 2 MiB aligned");
	gm_check_maps(gm);
	struct p2m_counts c = leaves(gm, 0, 64 * MIB);
	cr_assert_eq(c.leaves_2m, 32);
	cr_assert_eq(c.leaves_4k, 0);
	check_pattern(gm);
	cr_assert_eq(frames_in(a, ZONE_HUGE, FRAME_GUEST), 64 * MIB >> 12);
	cr_assert_eq(frames_in(a, ZONE_NORMAL, FRAME_GUEST), 0);

	/* The owner of the run's first block is GFN 0. */
	struct p2m_leaf l;
	frame_of(gm, 0, &l);
	struct mm_zone *hz = mm_zone_get(a, ZONE_HUGE);
	cr_assert_eq(hz->buddy.frames[l.hfn - hz->base_hfn].owner, 0);

	char text[1024];
	guest_mem_format_p2m(gm, text, sizeof(text));
	cr_assert(strstr(text, "region 0: GPA 0x0-0x3ffffff 64M contiguous zone Huge, 1 host mapping\n"),
		  "%s", text);
	cr_assert(strstr(text, "2M x32"), "%s", text);
	guest_mem_destroy(gm);
	finish(a);
}

Test(guest_mem, contiguous_on_zone_normal)
{
	struct mm_arena *a = arena(96, 0);
	struct guest_mem *gm = create(a, 64 * MIB, MM_HUGE_AUTO);
	struct guest_mem_region r = region(gm, 0);

	cr_assert(r.contiguous);
	cr_assert_eq(r.zone, ZONE_NORMAL);
	cr_assert_eq(r.nr_mappings, 1);
	gm_check_maps(gm);
	struct p2m_counts c = leaves(gm, 0, 64 * MIB);
	cr_assert_eq(c.leaves_2m, 32, "a 2 MiB-aligned run gets 2 MiB leaves in zone Normal too");
	cr_assert_eq(c.leaves_4k, 0);
	check_pattern(gm);
	cr_assert_eq(frames_in(a, ZONE_NORMAL, FRAME_GUEST), 64 * MIB >> 12);
	guest_mem_destroy(gm);
	finish(a);
}

/* A contiguous run whose view the kernel refuses to map: the error says so
 * (not "Invalid argument" from a fallback with nothing left to place), and
 * every frame goes back. */
Test(guest_mem, a_view_the_kernel_cannot_map_says_why)
{
	struct mm_arena *a = arena(96, 0);
	struct guest_mem *gm = NULL;
	char why[256] = "";

	mmap_inject_arm(MAP_SHARED | MAP_FIXED, 0, ENOMEM);
	int rc = guest_mem_create(a, 64 * MIB, MM_HUGE_AUTO, &gm, why, sizeof(why));
	mmap_inject_disarm();
	cr_assert_eq(mmap_inject_fired(), 1, "the view was never mapped");
	cr_assert_eq(rc, -ENOMEM, "%s", why);
	cr_assert_null(gm);
	cr_assert_not_null(strstr(why, "cannot map the guest view at GPA 0: Cannot allocate memory"),
			   "%s", why);
	finish(a);
}

/* A remap the kernel refuses after unmapping the old range (kernels before
 * 6.12): the old frames are mapped back, the guest reads what it had, and
 * no hole is left in the view. */
Test(guest_mem, a_refused_remap_leaves_the_old_page)
{
	struct mm_arena *a = arena(96, 0);
	struct guest_mem *gm = create(a, 64 * MIB, MM_HUGE_AUTO);
	uint8_t *page = guest_mem_hva(gm, 4 * MIB, 4096), fresh[4096];

	memset(page, 0x3c, 4096);
	memset(fresh, 0xc3, sizeof(fresh));
	mmap_inject_arm_hole(MAP_SHARED | MAP_FIXED, 0, ENOMEM);
	cr_assert_neq(guest_mem_remap_page(gm, 4 * MIB >> 12, fresh), 0);
	mmap_inject_disarm();
	cr_assert_eq(mmap_inject_fired(), 1);
	for (unsigned i = 0; i < 4096; i++)
		cr_assert_eq(page[i], 0x3c, "the guest lost its page at byte %u", i);
	gm_check_maps(gm);
	cr_assert_eq(guest_mem_remap_page(gm, 4 * MIB >> 12, fresh), 0, "a later remap works");
	cr_assert_eq(page[0], 0xc3);
	guest_mem_destroy(gm);
	finish(a);
}

Test(guest_mem, hugepages_off_ignores_zone_huge)
{
	struct mm_arena *a = arena_huge(96, 16);
	struct guest_mem *gm = create(a, 16 * MIB, MM_HUGE_OFF);

	cr_assert_eq(region(gm, 0).zone, ZONE_NORMAL);
	cr_assert_eq(region(gm, 0).zone_bytes[ZONE_HUGE], 0);
	cr_assert_eq(frames_in(a, ZONE_HUGE, FRAME_GUEST), 0);
	guest_mem_destroy(gm);
	finish(a);
}

Test(guest_mem, hugepages_on_fails_clearly)
{
	struct guest_mem *gm = NULL;
	char why[256];
	struct mm_arena *a = arena(96, 0);

	cr_assert_eq(guest_mem_create(a, 16 * MIB, MM_HUGE_ON, &gm, why, sizeof(why)), -ENODEV);
	cr_assert(strstr(why, "no zone Huge"), "%s", why);
	cr_assert_null(gm);
	finish(a);

	a = arena_huge(16, 8);
	cr_assert_eq(guest_mem_create(a, 16 * MIB, MM_HUGE_ON, &gm, why, sizeof(why)), -ENOMEM);
	cr_assert(strstr(why, "zone Huge has 8 MiB free"), "%s", why);
	cr_assert_eq(guest_mem_create(a, 4 * MIB + 4096, MM_HUGE_ON, &gm, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "whole 2 MiB pages"), "%s", why);
	gm = create(a, 8 * MIB, MM_HUGE_ON);
	cr_assert_eq(region(gm, 0).zone_bytes[ZONE_HUGE], 8 * MIB);
	guest_mem_destroy(gm);
	finish(a);
}

Test(guest_mem, bad_sizes_and_short_memory)
{
	struct mm_arena *a = arena(16, 0);
	struct guest_mem *gm = NULL;
	char why[256];

	cr_assert_eq(guest_mem_create(a, 0, MM_HUGE_AUTO, &gm, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "multiple of 4 KiB"), "%s", why);
	cr_assert_eq(guest_mem_create(a, 4097, MM_HUGE_AUTO, &gm, why, sizeof(why)), -EINVAL);
	cr_assert_eq(guest_mem_create(a, 1ULL << 62, MM_HUGE_AUTO, &gm, why, sizeof(why)), -E2BIG);
	cr_assert_eq(guest_mem_create(a, 64 * MIB, MM_HUGE_AUTO, &gm, why, sizeof(why)), -ENOMEM);
	cr_assert(strstr(why, "not enough free memory for 64M"), "%s", why);
	cr_assert_eq(guest_mem_create(a, 64 * MIB, MM_HUGE_AUTO, &gm, NULL, 0), -ENOMEM);
	cr_assert_null(gm);
	finish(a);
}

/* ---- layout and hostile addresses ---- */

Test(guest_mem, layout_around_the_hole_and_hva_bounds)
{
	const uint64_t low = GUEST_MEM_LOW_END, high = GUEST_MEM_HIGH_BASE;
	struct mm_arena *a = arena(3 * 1024 + 96, 0);
	struct guest_mem *gm = create(a, low + 64 * MIB, MM_HUGE_OFF);

	cr_assert_eq(guest_mem_nr_regions(gm), 2);
	struct guest_mem_region r0 = region(gm, 0), r1 = region(gm, 1);
	cr_assert_eq(r0.gpa, 0);
	cr_assert_eq(r0.size, low);
	cr_assert_eq(r1.gpa, high);
	cr_assert_eq(r1.size, 64 * MIB);
	cr_assert_eq((uintptr_t)r1.hva & (2 * MIB - 1), 0);

	cr_assert_eq(guest_mem_hva(gm, 0, 1), r0.hva);
	cr_assert_eq(guest_mem_hva(gm, 5, 0), r0.hva + 5, "length 0 asks about the address");
	cr_assert_eq(guest_mem_hva(gm, low - 4096, 4096), r0.hva + low - 4096);
	cr_assert_null(guest_mem_hva(gm, low - 4096, 4097), "runs into the MMIO hole");
	cr_assert_null(guest_mem_hva(gm, low, 0));
	cr_assert_null(guest_mem_hva(gm, 0xfeb00000, 0x200), "QEMU microvm's virtio-mmio window");
	cr_assert_null(guest_mem_hva(gm, 0xfec00000, 4), "IOAPIC");
	cr_assert_null(guest_mem_hva(gm, 0xfee00000, 4), "LAPIC");
	cr_assert_null(guest_mem_hva(gm, high - 1, 2));
	cr_assert_eq(guest_mem_hva(gm, high, 64 * MIB), r1.hva);
	cr_assert_eq(guest_mem_hva(gm, high + 64 * MIB - 1, 1), r1.hva + 64 * MIB - 1);
	cr_assert_null(guest_mem_hva(gm, high + 64 * MIB - 1, 2));
	cr_assert_null(guest_mem_hva(gm, high + 64 * MIB, 1), "past the end");
	cr_assert_null(guest_mem_hva(gm, UINT64_MAX - 10, 100), "wraps around");
	cr_assert_null(guest_mem_hva(gm, 10, UINT64_MAX));
	cr_assert_null(guest_mem_hva(gm, high + 4096, UINT64_MAX - 4096));

	/* Both regions are backed and reachable. */
	r1.hva[12345] = 0x5a;
	cr_assert_eq(frame_of(gm, (high + 12345) >> 12, NULL)[12345 & 4095], 0x5a);
	r0.hva[low - 1] = 0xa5;
	cr_assert_eq(frame_of(gm, (low - 1) >> 12, NULL)[4095], 0xa5);
	cr_assert_eq(leaves(gm, high, 64 * MIB).leaves_2m, 32);
	gm_check_maps(gm);

	char text[2048];
	size_t n = guest_mem_format_p2m(gm, text, sizeof(text));
	cr_assert_eq(n, strlen(text));
	cr_assert(strstr(text, "region 0: GPA 0x0-0xbfffffff 3G contiguous zone Normal"), "%s", text);
	cr_assert(strstr(text, "region 1: GPA 0x100000000-0x103ffffff 64M contiguous zone Normal"),
		  "%s", text);
	cr_assert_eq(guest_mem_format_p2m(gm, NULL, 0), n);
	guest_mem_destroy(gm);
	finish(a);
}

/* ---- the scattered fallback ---- */

struct fragments {
	long *idx;
	size_t n;
};

/*
 * Takes every frame of zone Normal, then gives back every other one (single
 * frames, which cannot merge) and three aligned 4 MiB runs: no run of
 * 64 MiB is left, but a 64 MiB guest still fits.
 */
static struct fragments fragment(struct mm_arena *a)
{
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	struct fragments f = { .idx = calloc(z->buddy.nr_frames, sizeof(long)) };
	cr_assert_not_null(f.idx);
	long i;
	mm_pcp_drain(z);
	while ((i = buddy_alloc(&z->buddy, 0, MT_MOVABLE, FRAME_VMM, false)) >= 0)
		f.idx[f.n++] = i;
	for (size_t k = 0; k < f.n; k++) {
		long x = f.idx[k];
		bool in_run = (x >= 4096 && x < 5120) || (x >= 10240 && x < 11264) ||
			      (x >= 20480 && x < 21504);
		if (in_run || !(x & 1)) {
			cr_assert_eq(buddy_free(&z->buddy, (uint32_t)x, 0), 0);
			f.idx[k] = -1;
		}
	}
	return f;
}

static void unfragment(struct mm_arena *a, struct fragments *f)
{
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	for (size_t k = 0; k < f->n; k++)
		if (f->idx[k] >= 0)
			cr_assert_eq(buddy_free(&z->buddy, (uint32_t)f->idx[k], 0), 0);
	free(f->idx);
}

Test(guest_mem, scattered_fallback_on_fragmented_normal)
{
	struct mm_arena *a = arena(160, 0);
	struct fragments f = fragment(a);
	struct guest_mem *gm = create(a, 64 * MIB, MM_HUGE_OFF);
	struct guest_mem_region r = region(gm, 0);

	cr_assert_not(r.contiguous);
	cr_assert_eq(r.zone, ZONE_NORMAL);
	struct p2m_counts c = leaves(gm, 0, 64 * MIB);
	/* The runs come first, as 2 MiB leaves (less what the p2m's own
	 * table pages took from them); the single frames as 4 KiB leaves. */
	cr_assert_geq(c.leaves_2m, 4);
	cr_assert_gt(c.leaves_4k, 10000);
	cr_assert_eq(c.leaves_2m * 512 + c.leaves_4k, 64 * MIB >> 12);
	cr_assert_gt(r.nr_mappings, 10000, "single frames cost one mapping each");
	gm_check_maps(gm);
	check_pattern(gm);
	cr_assert_eq(frames_in(a, ZONE_NORMAL, FRAME_GUEST), 64 * MIB >> 12);

	size_t len = guest_mem_format_p2m(gm, NULL, 0);
	char *text = malloc(len + 1);
	cr_assert_not_null(text);
	cr_assert_eq(guest_mem_format_p2m(gm, text, len + 1), len);
	cr_assert(strstr(text, "scattered (zone Normal 64M, zone Huge 0)"), "%.300s", text);
	cr_assert(strstr(text, "4K x1 "), "%.300s", text);
	cr_assert(strstr(text, "2M x2 "), "%.300s", text);
	free(text);

	/* Remap and punch in the scattered view, on a 4 KiB leaf. */
	uint64_t g = (64 * MIB >> 12) - 3;
	uint8_t page[4096];
	struct p2m_leaf before, after;
	frame_of(gm, g, &before);
	cr_assert_eq(before.order, P2M_ORDER_4K);
	memset(page, 0x77, sizeof(page));
	cr_assert_eq(guest_mem_remap_page(gm, g, page), 0);
	cr_assert_eq(r.hva[(g << 12) + 100], 0x77);
	cr_assert_neq(frame_of(gm, g, &after), NULL);
	cr_assert_neq(after.hfn, before.hfn);
	cr_assert_eq(guest_mem_punch_page(gm, g + 1), 0);
	cr_assert_eq(*(uint64_t *)(r.hva + ((g + 1) << 12) + 8), 0);
	gm_check_maps(gm);

	guest_mem_destroy(gm);
	unfragment(a, &f);
	finish(a);
}

/* Zone Huge too small for the guest, zone Normal without a run: its 2 MiB
 * pages come first, then zone Normal's blocks. */
Test(guest_mem, scattered_over_both_zones)
{
	struct mm_arena *a = arena_huge(160, 8);
	struct fragments f = fragment(a);
	struct guest_mem *gm = create(a, 64 * MIB, MM_HUGE_AUTO);
	struct guest_mem_region r = region(gm, 0);

	cr_assert_not(r.contiguous);
	cr_assert_eq(r.zone_bytes[ZONE_HUGE], 8 * MIB);
	cr_assert_eq(r.zone_bytes[ZONE_NORMAL], 56 * MIB);
	struct p2m_leaf l;
	frame_of(gm, 0, &l);
	cr_assert_eq(l.zone, ZONE_HUGE, "zone Huge's pages are placed first");
	cr_assert_eq(l.order, P2M_ORDER_2M);
	cr_assert_geq(leaves(gm, 0, 64 * MIB).leaves_2m, 4);
	gm_check_maps(gm);
	check_pattern(gm);
	cr_assert_eq(frames_in(a, ZONE_HUGE, FRAME_GUEST), 8 * MIB >> 12);

	/* A remap there moves the 2 MiB page within zone Huge: there is no
	 * free one, so it fails and changes nothing. */
	cr_assert_eq(guest_mem_remap_page(gm, 3, NULL), -ENOMEM);
	cr_assert_eq(*(uint64_t *)(r.hva + 3 * 4096 + 8), gm_tag(3));
	gm_check_maps(gm);
	guest_mem_destroy(gm);
	unfragment(a, &f);
	finish(a);
}

/* ---- remap and punch ---- */

static void fill_page(uint8_t *buf, uint8_t v)
{
	memset(buf, v, 4096);
}

static bool page_is(const uint8_t *p, uint8_t v)
{
	for (int i = 0; i < 4096; i++)
		if (p[i] != v)
			return false;
	return true;
}

Test(guest_mem, remap_in_zone_normal)
{
	struct mm_arena *a = arena(96, 0);
	struct guest_mem *gm = create(a, 64 * MIB, MM_HUGE_OFF);
	uint8_t *view = region(gm, 0).hva, page[4096];
	check_pattern(gm);

	struct p2m_leaf before, after;
	frame_of(gm, 5, &before);
	cr_assert_eq(before.order, P2M_ORDER_2M);
	fill_page(page, 0xab);
	cr_assert_eq(guest_mem_remap_page(gm, 5, page), 0);
	cr_assert(page_is(view + 5 * 4096, 0xab), "the view shows the new frame");
	cr_assert_eq(*(uint64_t *)(view + 4 * 4096 + 8), gm_tag(4), "its neighbours stay");
	cr_assert_eq(*(uint64_t *)(view + 6 * 4096 + 8), gm_tag(6));
	uint8_t *nf = frame_of(gm, 5, &after);
	cr_assert_eq(after.order, P2M_ORDER_4K, "the 2 MiB leaf was split");
	cr_assert_neq(after.hfn, before.hfn);
	cr_assert(page_is(nf, 0xab));
	cr_assert_eq(frame_of(gm, 6, NULL), mm_frame_ptr(mm_zone_get(a, ZONE_NORMAL),
			(uint32_t)before.hfn + 1), "the rest of the split leaf keeps its frames");
	struct p2m_counts c = leaves(gm, 0, 64 * MIB);
	cr_assert_eq(c.leaves_4k, 512);
	cr_assert_eq(c.leaves_2m, 31);
	cr_assert_eq(region(gm, 0).nr_mappings, 3, "one frame out of a run: the run splits in three");
	gm_check_maps(gm);
	struct mm_zone *nz = mm_zone_get(a, ZONE_NORMAL);
	cr_assert_neq(nz->buddy.frames[before.hfn].flags & (FRAME_F_BUDDY | FRAME_F_PCP), 0,
		      "the old frame went back to the buddy");
	cr_assert_eq(frame_state_get(&nz->buddy.frames[before.hfn + 1]), FRAME_GUEST,
		     "its block was split: the next frame is a guest block of its own");
	cr_assert_eq(nz->buddy.frames[before.hfn + 1].owner, 6);
	cr_assert_eq(nz->buddy.frames[after.hfn].owner, 5);

	/* Copy mode keeps the contents; pages at the region's edges too. */
	cr_assert_eq(guest_mem_remap_page(gm, 6, NULL), 0);
	cr_assert_eq(*(uint64_t *)(view + 6 * 4096 + 8), gm_tag(6));
	cr_assert_eq(guest_mem_remap_page(gm, 0, NULL), 0);
	cr_assert_eq(guest_mem_remap_page(gm, (64 * MIB >> 12) - 1, NULL), 0);
	cr_assert_eq(*(uint64_t *)(view + 64 * MIB - 4096 + 8), gm_tag((64 * MIB >> 12) - 1));
	gm_check_maps(gm);
	check_pattern(gm);
	cr_assert_eq(frames_in(a, ZONE_NORMAL, FRAME_GUEST), 64 * MIB >> 12);

	/* Outside RAM. */
	cr_assert_eq(guest_mem_remap_page(gm, 64 * MIB >> 12, page), -EINVAL);
	cr_assert_eq(guest_mem_remap_page(gm, 0xfeb00, page), -EINVAL);
	cr_assert_eq(guest_mem_punch_page(gm, UINT64_MAX), -EINVAL);
	guest_mem_destroy(gm);
	finish(a);
}

Test(guest_mem, remap_in_zone_huge_moves_the_2m_page)
{
	struct mm_arena *a = arena_huge(16, 32);
	struct guest_mem *gm = create(a, 16 * MIB, MM_HUGE_AUTO);
	uint8_t *view = region(gm, 0).hva, page[4096];
	cr_assert_eq(region(gm, 0).zone, ZONE_HUGE);
	check_pattern(gm);

	struct p2m_leaf before, after;
	frame_of(gm, 515, &before);
	fill_page(page, 0xcd);
	cr_assert_eq(guest_mem_remap_page(gm, 515, page), 0);
	cr_assert(page_is(view + 515 * 4096, 0xcd));
	for (uint64_t g = 512; g < 1024; g++)
		if (g != 515)
			cr_assert_eq(*(uint64_t *)(view + g * 4096 + 8), gm_tag(g),
				     "gfn %lu: the rest of the 2 MiB page moved with it", (unsigned long)g);
	frame_of(gm, 515, &after);
	cr_assert_eq(after.order, P2M_ORDER_2M, "a zone Huge page stays a 2 MiB leaf");
	cr_assert_neq(after.hfn, before.hfn);
	cr_assert_eq((after.hfn - 3) & 511, 0);
	struct p2m_counts c = leaves(gm, 0, 16 * MIB);
	cr_assert_eq(c.leaves_2m, 8);
	cr_assert_eq(c.leaves_4k, 0);
	cr_assert_eq(region(gm, 0).nr_mappings, 3);
	gm_check_maps(gm);
	cr_assert_eq(frames_in(a, ZONE_HUGE, FRAME_GUEST), 16 * MIB >> 12);
	check_pattern(gm);
	guest_mem_destroy(gm);
	finish(a);
}

Test(guest_mem, punch_in_zone_normal)
{
	struct mm_arena *a = arena(96, 0);
	struct guest_mem *gm = create(a, 16 * MIB, MM_HUGE_OFF);
	uint8_t *view = region(gm, 0).hva;
	check_pattern(gm);

	cr_assert_eq(guest_mem_punch_page(gm, 7), 0);
	cr_assert(page_is(view + 7 * 4096, 0), "the guest reads zeros");
	cr_assert(page_is(frame_of(gm, 7, NULL), 0));
	cr_assert_eq(*(uint64_t *)(view + 8 * 4096 + 8), gm_tag(8));
	struct p2m_leaf l;
	frame_of(gm, 7, &l);
	cr_assert_eq(l.order, P2M_ORDER_4K);
	cr_assert_eq(l.state, P2M_ST_PUNCHED);
	cr_assert_eq(leaves(gm, 0, 16 * MIB).punched, 1);
	cr_assert_eq(region(gm, 0).nr_mappings, 1, "a punch does not touch the mapping");
	gm_check_maps(gm);
	/* The frame is still the guest's: a write gets fresh backing. */
	view[7 * 4096] = 1;
	cr_assert_eq(frame_of(gm, 7, NULL)[0], 1);
	cr_assert_eq(frames_in(a, ZONE_NORMAL, FRAME_GUEST), 16 * MIB >> 12);
	guest_mem_destroy(gm);
	finish(a);
}

Test(guest_mem, punch_in_zone_huge_clears_the_2m_page)
{
	struct mm_arena *a = arena_huge(16, 32);
	struct guest_mem *gm = create(a, 16 * MIB, MM_HUGE_AUTO);
	uint8_t *view = region(gm, 0).hva;
	check_pattern(gm);

	cr_assert_eq(guest_mem_punch_page(gm, 600), 0);
	for (uint64_t g = 512; g < 1024; g++)
		cr_assert_eq(*(uint64_t *)(view + g * 4096 + 8), 0, "gfn %lu", (unsigned long)g);
	cr_assert_eq(*(uint64_t *)(view + 1024 * 4096 + 8), gm_tag(1024));
	cr_assert_eq(*(uint64_t *)(view + 511 * 4096 + 8), gm_tag(511));
	struct p2m_leaf l;
	frame_of(gm, 600, &l);
	cr_assert_eq(l.order, P2M_ORDER_2M);
	cr_assert_eq(l.state, P2M_ST_PUNCHED);
	view[600 * 4096] = 3;
	cr_assert_eq(frame_of(gm, 600, NULL)[0], 3);
	guest_mem_destroy(gm);
	finish(a);
}

/*
 * Zone Normal of 17 MiB puts zone Huge's first frame at HFN 4352, not 2 MiB
 * aligned: EPT cannot name such frames with a 2 MiB leaf, so the p2m holds
 * 4 KiB leaves, while the host still maps whole 2 MiB pages and remap still
 * moves them whole.
 */
Test(guest_mem, zone_huge_with_unaligned_frame_numbers)
{
	struct mm_arena *a = arena_huge(17, 32);
	struct guest_mem *gm = create(a, 16 * MIB, MM_HUGE_AUTO);
	uint8_t *view = region(gm, 0).hva, page[4096];

	cr_assert(region(gm, 0).contiguous);
	cr_assert_eq(region(gm, 0).zone, ZONE_HUGE);
	struct p2m_counts c = leaves(gm, 0, 16 * MIB);
	cr_assert_eq(c.leaves_2m, 0);
	cr_assert_eq(c.leaves_4k, 4096);
	check_pattern(gm);
	fill_page(page, 0x3c);
	struct p2m_leaf before, after;
	frame_of(gm, 515, &before);
	cr_assert_eq(guest_mem_remap_page(gm, 515, page), 0);
	cr_assert(page_is(view + 515 * 4096, 0x3c));
	cr_assert_eq(*(uint64_t *)(view + 1000 * 4096 + 8), gm_tag(1000));
	struct p2m_leaf far;
	frame_of(gm, 1000, &far);
	frame_of(gm, 515, &after);
	cr_assert_neq(after.hfn, before.hfn);
	cr_assert_eq(far.hfn - after.hfn, 1000 - 515, "the whole 2 MiB page moved");
	cr_assert_eq(after.order, P2M_ORDER_4K);
	cr_assert_eq(region(gm, 0).nr_mappings, 3);
	gm_check_maps(gm);
	cr_assert_eq(guest_mem_punch_page(gm, 700), 0);
	cr_assert_eq(*(uint64_t *)(view + 600 * 4096 + 8), 0);
	cr_assert_eq(leaves(gm, 0, 16 * MIB).punched, 512);
	cr_assert_eq(frames_in(a, ZONE_HUGE, FRAME_GUEST), 16 * MIB >> 12);
	guest_mem_destroy(gm);
	finish(a);
}

/* ---- from another thread, while someone reads ---- */

struct reader {
	volatile uint64_t *word;
	volatile bool stop;
	uint64_t last, backwards, reads;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	while (!r->stop) {
		uint64_t v = *r->word;
		if (v < r->last)
			r->backwards++;
		r->last = v;
		__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct remapper {
	struct guest_mem *gm;
	uint64_t gfn;
	int rounds, failures;
};

static void *remap_loop(void *arg)
{
	struct remapper *m = arg;
	uint64_t page[512];
	for (int i = 1; i <= m->rounds; i++) {
		for (int w = 0; w < 512; w++)
			page[w] = (uint64_t)i;
		if (guest_mem_remap_page(m->gm, m->gfn, page))
			m->failures++;
	}
	return NULL;
}

/* A remapping thread and a reading thread: the reader only ever sees newer
 * contents, and at the end the view shows the last. */
Test(guest_mem, remap_from_another_thread_while_reading)
{
	struct mm_arena *a = arena(96, 0);
	struct guest_mem *gm = create(a, 16 * MIB, MM_HUGE_OFF);
	uint8_t *view = region(gm, 0).hva;
	struct reader rd = { .word = (volatile uint64_t *)(view + 9 * 4096) };
	struct remapper rm = { .gm = gm, .gfn = 9, .rounds = 300 };
	pthread_t tr, tm;

	*rd.word = 0;
	cr_assert_eq(pthread_create(&tr, NULL, read_loop, &rd), 0);
	while (!__atomic_load_n(&rd.reads, __ATOMIC_RELAXED))
		sched_yield();
	cr_assert_eq(pthread_create(&tm, NULL, remap_loop, &rm), 0);
	pthread_join(tm, NULL);
	uint64_t during = __atomic_load_n(&rd.reads, __ATOMIC_RELAXED);
	rd.stop = true;
	pthread_join(tr, NULL);
	cr_assert_eq(rm.failures, 0);
	cr_assert_eq(rd.backwards, 0, "a reader saw older contents after newer");
	cr_assert_eq(*rd.word, 300);
	cr_assert_gt(during, 1, "the reader ran while the remaps did");
	gm_check_maps(gm);
	cr_assert_eq(frames_in(a, ZONE_NORMAL, FRAME_GUEST), 16 * MIB >> 12);
	guest_mem_destroy(gm);
	finish(a);
}

/* ---- memslots ---- */

Test(guest_mem, register_one_memslot_per_region)
{
	test_need_kvm();
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	cr_assert_geq(kvm, 0, "/dev/kvm: %s", strerror(errno));
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	cr_assert_geq(vm, 0, "KVM_CREATE_VM: %s", strerror(errno));

	struct mm_arena *a = arena(3 * 1024 + 64, 0);
	struct guest_mem *gm = create(a, GUEST_MEM_LOW_END + 16 * MIB, MM_HUGE_OFF);
	cr_assert_eq(guest_mem_register(gm, vm), 0);
	cr_assert_eq(guest_mem_register(gm, -1), -EBADF);
	close(vm);
	close(kvm);
	guest_mem_destroy(gm);
	finish(a);
}
