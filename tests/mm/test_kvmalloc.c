/*
 * Tests for mm/kvmalloc.c and mm/vmap.c: which path serves which size, the
 * counters, the scattered fallback on a deliberately fragmented zone (the
 * stitching is checked frame by frame through the direct map), the host
 * mapping counts against /proc/self/maps (I4), and bad calls: size 0, sizes
 * past the arena, double and foreign kvfrees.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "fixture.h"
#include "report_capture.h"
#include "mm/kmalloc.h"
#include "mm/mapbudget.h"
#include "mm/slab.h"
#include "mm/vmap.h"

static struct kvmalloc_stats stats(struct mm_arena *a)
{
	struct kvmalloc_stats st;
	kvmalloc_get_stats(a, &st);
	return st;
}

struct cache_list {
	struct slab_cache *c[64];
	unsigned n;
};

static void collect_cache(struct slab_cache *c, void *arg)
{
	struct cache_list *l = arg;
	if (l->n < 64)
		l->c[l->n++] = c;
}

/* VMM-owned frames of zone Normal outside slabs (slabs come and go with
 * the records and objects kvmalloc uses; they are not what is measured). */
static uint64_t vmm_frames(struct mm_arena *a)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES], in_slabs = 0;
	struct cache_list l = { .n = 0 };
	cr_assert_eq(mm_arena_check_frames(a, counts), 0, "I1 broken");
	/* Collected first: the callback runs under the arena's cache lock. */
	slab_for_each_cache(a, collect_cache, &l);
	for (unsigned i = 0; i < l.n; i++) {
		struct slab_cache_info info;
		slab_cache_get_info(l.c[i], &info);
		in_slabs += (uint64_t)info.num_slabs * info.pagesperslab;
	}
	return counts[ZONE_NORMAL][FRAME_VMM] - in_slabs;
}

/* Host mappings over the vmap area, as the kernel sees them. */
static uint64_t maps_in_area(struct mm_arena *a)
{
	const void *start;
	size_t bytes;
	vmap_area_bounds(a->vmap, &start, &bytes);
	uintptr_t lo_area = (uintptr_t)start, hi_area = lo_area + bytes;

	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512];
	uint64_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < hi_area && hi > lo_area)
			n++;
	}
	fclose(f);
	return n;
}

/* The counter says what the kernel says: one reservation plus the cost. */
static void check_mapping_count(struct mm_arena *a)
{
	uint64_t kernel = maps_in_area(a);
	cr_assert_eq(kernel, 1 + stats(a).vmap_mappings,
		     "/proc/self/maps shows %lu mappings over the area, counter says 1 + %lu",
		     (unsigned long)kernel, (unsigned long)stats(a).vmap_mappings);
}

static void fill(void *p, size_t size, uint32_t seed)
{
	uint32_t *w = p;
	for (size_t i = 0; i < size / 4; i++)
		w[i] = seed ^ (uint32_t)(i * 2654435761u);
}

static void check_fill(const void *p, size_t size, uint32_t seed)
{
	const uint32_t *w = p;
	for (size_t i = 0; i < size / 4; i++)
		cr_assert_eq(w[i], seed ^ (uint32_t)(i * 2654435761u), "word %zu of %p changed", i, p);
}

Test(kvmalloc, each_path_when_expected)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *normal = mm_zone_get(a, ZONE_NORMAL);

	void *small = kvmalloc(a, 100);
	void *edge = kvmalloc(a, KMALLOC_MAX_SIZE);
	void *small_nc = kvmalloc_flags(a, 4000, KV_NO_CONTIG);
	cr_assert_str_eq(kvmalloc_kind(a, small), "kmalloc");
	cr_assert_str_eq(kvmalloc_kind(a, edge), "kmalloc");
	cr_assert_str_eq(kvmalloc_kind(a, small_nc), "kmalloc");
	cr_assert_eq(ksize(a, edge), KMALLOC_MAX_SIZE);

	uint64_t vmm = vmm_frames(a);
	void *big = kvmalloc(a, KMALLOC_MAX_SIZE + 1);   /* 3 pages: an order-2 block */
	cr_assert_str_eq(kvmalloc_kind(a, big), "contig");
	cr_assert(mm_zone_contains(normal, big));
	cr_assert_eq((uintptr_t)big % PAGE_SIZE, 0);
	cr_assert_eq(vmm_frames(a), vmm + 4, "contig path must round up to the order");

	void *mib = kvmalloc(a, 1 << 20);
	cr_assert_str_eq(kvmalloc_kind(a, mib), "contig");
	void *vm = kvmalloc_flags(a, 1 << 20, KV_NO_CONTIG);
	cr_assert_str_eq(kvmalloc_kind(a, vm), "scattered");
	cr_assert_not(mm_zone_contains(normal, vm));

	fill(big, KMALLOC_MAX_SIZE + 1, 1);
	fill(mib, 1 << 20, 2);
	fill(vm, 1 << 20, 3);
	check_fill(big, KMALLOC_MAX_SIZE + 1, 1);
	check_fill(mib, 1 << 20, 2);
	check_fill(vm, 1 << 20, 3);

	struct kvmalloc_stats st = stats(a);
	cr_assert_eq(st.kmalloc_allocs, 3);
	cr_assert_eq(st.contig_allocs, 2);
	cr_assert_eq(st.scattered_allocs, 1);
	cr_assert_eq(st.failures, 0);
	cr_assert_eq(st.bad_calls, 0);
	cr_assert_eq(st.vmap_bytes, 1 << 20);
	check_mapping_count(a);

	kvfree(a, small);
	kvfree(a, edge);
	kvfree(a, small_nc);
	kvfree(a, big);
	kvfree(a, mib);
	kvfree(a, vm);
	kvfree(a, NULL);
	st = stats(a);
	cr_assert_eq(st.frees_kmalloc, 3);
	cr_assert_eq(st.frees_contig, 2);
	cr_assert_eq(st.frees_scattered, 1);
	cr_assert_eq(st.bad_calls, 0);
	cr_assert_eq(st.vmap_bytes, 0);
	cr_assert_eq(st.vmap_mappings, 0);
	check_mapping_count(a);
	fixture_finish(a);
}

Test(kvmalloc, kvzalloc_zeroes_reused_memory)
{
	struct mm_arena *a = fixture_arena(16);
	size_t sizes[] = { 200, 64 << 10 };
	for (size_t i = 0; i < 2; i++) {
		uint8_t *p = kvmalloc(a, sizes[i]);
		cr_assert_not_null(p);
		memset(p, 0xff, sizes[i]);
		kvfree(a, p);
		uint8_t *q = kvzalloc(a, sizes[i]);
		cr_assert_not_null(q);
		for (size_t j = 0; j < sizes[i]; j++)
			cr_assert_eq(q[j], 0, "byte %zu of a %zu-byte kvzalloc", j, sizes[i]);
		kvfree(a, q);
	}
	fixture_finish(a);
}

/* Takes every frame of zone Normal, then frees those with an even index, so
 * every free frame's buddy is taken and no block of order >= 1 exists. */
static uint32_t *fragment_zone(struct mm_zone *z, size_t *nr_odd)
{
	uint32_t *taken = malloc(sizeof(uint32_t) * z->buddy.nr_frames);
	size_t nr_taken = 0, n = 0;
	long idx;

	cr_assert_not_null(taken);
	while ((idx = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false)) >= 0)
		taken[nr_taken++] = (uint32_t)idx;
	for (size_t i = 0; i < nr_taken; i++) {
		if (taken[i] & 1)
			taken[n++] = taken[i];   /* kept: the odd ones */
		else
			cr_assert_eq(mm_frames_free(z, taken[i], 0), 0);
	}
	mm_pcp_drain(z);
	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1];
	uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
	buddy_free_blocks(&z->buddy, per_order, per_type);
	for (unsigned o = 1; o <= z->buddy.max_order; o++)
		cr_assert_eq(per_order[o], 0, "a free block of order %u is left", o);
	cr_assert_geq(per_order[0], 512, "too few free frames left: %lu",
		      (unsigned long)per_order[0]);
	*nr_odd = n;
	return taken;
}

static void unfragment_zone(struct mm_zone *z, uint32_t *odd, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(mm_frames_free(z, odd[i], 0), 0);
	free(odd);
}

Test(kvmalloc, fragmented_zone_falls_back_to_stitched_frames)
{
	enum { SIZE = 1 << 20, PAGES = SIZE / 4096 };
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	size_t nr_odd;
	uint32_t *odd = fragment_zone(z, &nr_odd);
	uint64_t vmm = vmm_frames(a);

	uint8_t *p = kvmalloc(a, SIZE);
	cr_assert_not_null(p, "kvmalloc(1 MiB) on a fragmented zone: %s", strerror(errno));
	cr_assert_str_eq(kvmalloc_kind(a, p), "scattered");
	struct kvmalloc_stats st = stats(a);
	cr_assert_eq(st.contig_allocs, 0);
	cr_assert_eq(st.scattered_allocs, 1);
	cr_assert_eq(st.vmap_bytes, SIZE);
	cr_assert_geq(vmm_frames(a), vmm + PAGES);

	/* Each page gets a distinct pattern through the stitched mapping. */
	for (int k = 0; k < PAGES; k++)
		fill(p + (size_t)k * 4096, 4096, 0x9e000000u + (uint32_t)k);
	check_fill(p, 4096, 0x9e000000u);

	/* The frame list says which frame backs page k: its direct-map bytes
	 * must be what was written through the vmap address. */
	struct vmap_range *r = vmap_range_find(a->vmap, p);
	cr_assert_not_null(r);
	uint32_t idx = r->first_frame;
	for (int k = 0; k < PAGES; k++, idx = z->buddy.frames[idx].owner) {
		cr_assert_neq(idx, FRAME_NONE, "frame list ends at page %d", k);
		cr_assert_eq(idx % 2, 0, "page %d is backed by frame %u, which was never free", k, idx);
		cr_assert_eq(frame_state_get(&z->buddy.frames[idx]), FRAME_VMM);
		cr_assert_eq(memcmp(mm_frame_ptr(z, idx), p + (size_t)k * 4096, 4096), 0,
			     "frame %u does not hold page %d", idx, k);
		check_fill(mm_frame_ptr(z, idx), 4096, 0x9e000000u + (uint32_t)k);
	}
	cr_assert_eq(idx, FRAME_NONE, "frame list longer than the allocation");

	/* And the other way round: a write through the direct map shows up. */
	idx = r->first_frame;
	((uint32_t *)mm_frame_ptr(z, idx))[7] = 0xfeedface;
	cr_assert_eq(((uint32_t *)p)[7], 0xfeedface);

	/* No two of the frames are consecutive: one host mapping each. */
	cr_assert_eq(stats(a).vmap_mappings, PAGES, "mappings %lu",
		     (unsigned long)stats(a).vmap_mappings);
	check_mapping_count(a);

	kvfree(a, p);
	st = stats(a);
	cr_assert_eq(st.frees_scattered, 1);
	cr_assert_eq(st.vmap_bytes, 0);
	cr_assert_eq(st.vmap_mappings, 0);
	cr_assert_eq(vmm_frames(a), vmm, "kvfree did not give every frame back");
	check_mapping_count(a);
	unfragment_zone(z, odd, nr_odd);
	fixture_finish(a);
}

/* kmalloc-2k and kmalloc-8k need order-3 slabs; on a zone with only single
 * free frames, kvmalloc still serves those sizes with whole frames. */
Test(kvmalloc, small_sizes_fall_back_to_frames_when_no_slab_fits)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	size_t nr_odd;
	uint32_t *odd = fragment_zone(z, &nr_odd);

	/* SLAB's calculate_slab_order puts kmalloc-2k in order-0 slabs, and
	 * SLOB serves 2 KiB from single frames, which the zone still has. */
	bool slub = fixture_policy_is(a, "slub");
	void *k = kmalloc(a, 2048);
	cr_assert(slub ? k == NULL : k != NULL, "kmalloc-2k %s memory on a fragmented zone",
		  k ? "found" : "found no");
	kfree(a, k);
	uint8_t *small = kvzalloc(a, 2048);
	cr_assert_not_null(small, "kvzalloc(2 KiB) on a fragmented zone: %s", strerror(errno));
	cr_assert_str_eq(kvmalloc_kind(a, small), slub ? "contig" : "kmalloc");
	uint8_t *large = kvmalloc(a, 8192);
	cr_assert_not_null(large, "kvmalloc(8 KiB) on a fragmented zone: %s", strerror(errno));
	cr_assert_str_eq(kvmalloc_kind(a, large), "scattered");
	for (unsigned i = 0; i < 2048; i++)
		cr_assert_eq(small[i], 0);
	fill(large, 8192, 0x51000000u);
	check_fill(large, 8192, 0x51000000u);
	kvfree(a, small);
	kvfree(a, large);
	struct kvmalloc_stats st = stats(a);
	cr_assert_eq(st.frees_contig, slub ? 1 : 0);
	cr_assert_eq(st.frees_scattered, 1);
	unfragment_zone(z, odd, nr_odd);
	fixture_finish(a);
}

Test(kvmalloc, failed_fallback_gives_everything_back)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	size_t nr_odd;
	uint32_t *odd = fragment_zone(z, &nr_odd);
	uint64_t vmm = vmm_frames(a);
	uint64_t free_frames = z->buddy.nr_frames - vmm;

	/* More frames than are free, but less than the arena: a failure, not a
	 * bad call, and nothing may stay taken. */
	errno = 0;
	void *p = kvmalloc(a, (free_frames + 1) * 4096);
	cr_assert_null(p);
	cr_assert_eq(errno, ENOMEM);
	struct kvmalloc_stats st = stats(a);
	cr_assert_eq(st.failures, 1);
	cr_assert_eq(st.bad_calls, 0);
	cr_assert_eq(st.vmap_bytes, 0);
	cr_assert_eq(vmm_frames(a), vmm);
	check_mapping_count(a);

	/* Every free frame can still be stitched. */
	size_t most = free_frames - 8;   /* the vmap record's slab may need a frame */
	uint8_t *q = kvmalloc(a, most * 4096);
	cr_assert_not_null(q);
	fill(q, most * 4096, 77);
	check_fill(q, most * 4096, 77);
	check_mapping_count(a);
	kvfree(a, q);
	unfragment_zone(z, odd, nr_odd);
	fixture_finish(a);
}

Test(kvmalloc, stitching_stays_within_the_mapping_budget, .timeout = 60)
{
	/* The vmap areas may use their share of vm.max_map_count (I4). A zone
	 * twice that size in frames, fragmented, can ask for more. */
	unsigned long budget = mm_maps_share(MM_MAPS_VMAP);
	if (budget > (1ul << 18))
		cr_skip_test("vm.max_map_count is too large to exhaust cheaply here");
	size_t zone_mib = ((2 * budget + 8192) * 4096 >> 20) + 1;
	struct mm_arena *a = fixture_arena(zone_mib);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	size_t nr_odd;
	uint32_t *odd = fragment_zone(z, &nr_odd);
	uint64_t vmm = vmm_frames(a);

	/* budget isolated frames: budget mappings plus the placeholder split. */
	errno = 0;
	cr_assert_null(kvmalloc(a, budget * 4096), "%lu scattered frames were mapped", budget);
	cr_assert_eq(errno, ENOMEM);
	struct kvmalloc_stats st = stats(a);
	cr_assert_eq(st.failures, 1);
	cr_assert_eq(st.bad_calls, 0);
	cr_assert_eq(vmm_frames(a), vmm, "the refused allocation kept frames");
	cr_assert_eq(maps_in_area(a), 1);

	void *ok = kvmalloc(a, 1000 * 4096);
	cr_assert_not_null(ok);
	cr_assert_eq(stats(a).vmap_mappings, 1000);
	check_mapping_count(a);
	kvfree(a, ok);
	unfragment_zone(z, odd, nr_odd);
	fixture_finish(a);
}

Test(kvmalloc, consecutive_frames_coalesce_into_one_mapping)
{
	struct mm_arena *a = fixture_arena(16);

	/* A fresh zone hands out one order-8 block: one run, one mapping,
	 * and the range starts the area, so no placeholder precedes it. */
	void *one = kvmalloc_flags(a, 1 << 20, KV_NO_CONTIG);
	cr_assert_str_eq(kvmalloc_kind(a, one), "scattered");
	struct vmap_range *r = vmap_range_find(a->vmap, one);
	cr_assert_eq(r->nr_runs, 1);
	cr_assert_eq(stats(a).vmap_mappings, 1);
	check_mapping_count(a);

	/* The next range follows a guard page: its run plus the placeholder
	 * piece between them. */
	void *two = kvmalloc_flags(a, 1 << 20, KV_NO_CONTIG);
	cr_assert_eq((uint8_t *)two, (uint8_t *)one + (1 << 20) + 4096, "first fit with a guard page");
	cr_assert_eq(stats(a).vmap_mappings, 3);
	check_mapping_count(a);

	/* Sizes that need several blocks: whatever the runs, the count is right. */
	void *odd = kvmalloc_flags(a, (1 << 20) + 3 * 4096, KV_NO_CONTIG);
	cr_assert_not_null(odd);
	check_mapping_count(a);

	kvfree(a, one);   /* leaves a hole at the start of the area */
	check_mapping_count(a);
	void *small = kvmalloc_flags(a, 16 * 4096, KV_NO_CONTIG);
	cr_assert_eq(small, one, "first fit reuses the hole");
	check_mapping_count(a);
	kvfree(a, two);
	kvfree(a, odd);
	kvfree(a, small);
	cr_assert_eq(stats(a).vmap_mappings, 0);
	cr_assert_eq(maps_in_area(a), 1, "placeholders did not merge back into one reservation");
	fixture_finish(a);
}

Test(kvmalloc, bad_sizes_are_refused_without_an_attempt)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	struct buddy_counters before, after;

	buddy_stats(&z->buddy, &before);
	report_capture_start();
	errno = 0;
	cr_assert_null(kvmalloc(a, 0));
	cr_assert_eq(errno, EINVAL);
	cr_assert(report_capture_has("kvmalloc", NULL, "size 0"), "%s", report_capture_text());
	cr_assert_null(kvmalloc(a, (16 << 20) + 1));
	cr_assert(report_capture_has("kvmalloc", NULL, "larger than the arena"));
	cr_assert_null(kvzalloc(a, SIZE_MAX));
	cr_assert_null(kvmalloc_flags(a, 1 << 20, 0x80));
	report_capture_stop();
	buddy_stats(&z->buddy, &after);
	cr_assert_eq(after.allocs, before.allocs, "a bad size reached the buddy");
	cr_assert_eq(after.failures, before.failures, "a bad size reached the buddy");

	struct kvmalloc_stats st = stats(a);
	cr_assert_eq(st.bad_calls, 4);
	cr_assert_eq(st.failures, 4);
	cr_assert_eq(st.kmalloc_allocs + st.contig_allocs + st.scattered_allocs, 0);

	/* The whole zone is not a bad size, and fits only scattered if at all. */
	void *all = kvmalloc(a, 16 << 20);
	if (all)
		kvfree(a, all);
	cr_assert_eq(stats(a).bad_calls, 4);
	fixture_finish(a);
}

/* kvfree(p) must be refused, reported and counted. */
static void expect_kvfree_refused(struct mm_arena *a, const void *p, const char *what)
{
	uint64_t before = stats(a).bad_calls;
	report_capture_start();
	kvfree(a, p);
	report_capture_stop();
	cr_assert_eq(stats(a).bad_calls, before + 1, "kvfree of %s not counted", what);
	cr_assert(report_capture_has("kvfree", p, ""), "kvfree of %s not reported: %s", what,
		  report_capture_text());
	cr_assert_null(kvmalloc_kind(a, p), "%s has a kind", what);
}

Test(kvmalloc, double_kvfree_is_detected)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	uint64_t vmm = vmm_frames(a);

	void *contig = kvmalloc(a, 64 << 10);
	void *scattered = kvmalloc_flags(a, 64 << 10, KV_NO_CONTIG);
	cr_assert_str_eq(kvmalloc_kind(a, contig), "contig");
	cr_assert_str_eq(kvmalloc_kind(a, scattered), "scattered");
	kvfree(a, contig);
	kvfree(a, scattered);
	cr_assert_eq(vmm_frames(a), vmm);
	expect_kvfree_refused(a, contig, "a freed contiguous block");
	expect_kvfree_refused(a, scattered, "a freed scattered range");
	cr_assert_eq(vmm_frames(a), vmm);

	/* The freed block goes to a new owner: a stale kvfree must not take
	 * it away from them. */
	long idx = mm_frames_alloc(z, 4, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_geq(idx, 0);
	void *theirs = mm_frame_ptr(z, (uint32_t)idx);
	expect_kvfree_refused(a, theirs, "someone else's block");
	expect_kvfree_refused(a, contig, "a block freed twice");
	cr_assert_eq(frame_state_get(&z->buddy.frames[idx]), FRAME_VMM);
	cr_assert_eq(mm_frames_free(z, (uint32_t)idx, 4), 0);

	/* A small one: the slab catches the naive double free. */
	void *small = kvmalloc(a, 64);
	kvfree(a, small);
	report_capture_start();
	kvfree(a, small);
	report_capture_stop();
	cr_assert_neq(report_capture_text()[0], 0, "double kvfree of a kmalloc object not reported");
	void *again = kmalloc(a, 64);
	cr_assert_eq(fixture_validate_of(a, again), 0);
	kfree(a, again);
	fixture_finish(a);
}

Test(kvmalloc, foreign_pointers_are_refused)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	int on_stack;
	void *from_libc = malloc(100);
	uint8_t *contig = kvmalloc(a, 64 << 10);
	uint8_t *scattered = kvmalloc_flags(a, 64 << 10, KV_NO_CONTIG);
	long idx = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	long gone = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	struct slab_cache_params params = { .size = 300, .order = -1, .flags = SLAB_F_NO_MERGE };
	struct slab_cache *other = slab_cache_create(a, "kv_other", &params);
	void *obj = slab_alloc(other);
	const void *area;
	size_t area_bytes;
	vmap_area_bounds(a->vmap, &area, &area_bytes);

	cr_assert(from_libc && contig && scattered && idx >= 0 && gone >= 0 && obj);
	cr_assert_eq(mm_frames_free(z, (uint32_t)gone, 0), 0);
	fill(contig, 64 << 10, 5);
	fill(scattered, 64 << 10, 6);
	uint64_t vmm = vmm_frames(a);

	expect_kvfree_refused(a, &on_stack, "a stack address");
	expect_kvfree_refused(a, from_libc, "a libc block");
	expect_kvfree_refused(a, contig + 4096, "the second page of a contiguous block");
	expect_kvfree_refused(a, contig + 100, "a pointer inside a contiguous block");
	expect_kvfree_refused(a, scattered + 4096, "the second page of a scattered range");
	expect_kvfree_refused(a, scattered + 1, "a pointer inside a scattered range");
	expect_kvfree_refused(a, mm_frame_ptr(z, (uint32_t)idx), "a frame from mm_frames_alloc");
	expect_kvfree_refused(a, mm_frame_ptr(z, (uint32_t)gone), "a free frame");
	expect_kvfree_refused(a, (const uint8_t *)area + area_bytes - 4096, "an unused vmap page");
	expect_kvfree_refused(a, obj, "an object of a non-kmalloc cache");

	cr_assert_eq(vmm_frames(a), vmm, "a refused kvfree freed frames");
	check_fill(contig, 64 << 10, 5);
	check_fill(scattered, 64 << 10, 6);
	check_mapping_count(a);

	kvfree(a, contig);
	kvfree(a, scattered);
	slab_free(other, obj);
	slab_cache_destroy(other, "kv_other");
	mm_frames_free(z, (uint32_t)idx, 0);
	free(from_libc);
	fixture_finish(a);
}

struct kv_thread {
	struct mm_arena *a;
	unsigned seed;
	int errors;     /* checked by the main thread: cr_assert is not thread-safe */
};

static void *kv_churn(void *p)
{
	struct kv_thread *t = p;
	struct { uint8_t *p; size_t size; uint8_t fill; } live[16] = { 0 };

	for (int i = 0; i < 3000; i++) {
		unsigned r = rand_r(&t->seed);
		int s = (int)(r % 16);
		if (live[s].p) {
			for (size_t j = 0; j < live[s].size; j += 509)
				t->errors += live[s].p[j] != live[s].fill;
			kvfree(t->a, live[s].p);
			live[s].p = NULL;
			continue;
		}
		size_t size = (r >> 4) % 4 == 0 ? 1 + (r >> 8) % 8192 : 8193 + (r >> 8) % (200 << 10);
		live[s].p = kvmalloc_flags(t->a, size, (r >> 6) & 1 ? KV_NO_CONTIG : 0);
		if (!live[s].p)
			continue;   /* the zone may run short while others hold memory */
		live[s].size = size;
		live[s].fill = (uint8_t)r;
		memset(live[s].p, live[s].fill, size);
	}
	for (int s = 0; s < 16; s++)
		kvfree(t->a, live[s].p);
	return NULL;
}

Test(kvmalloc, threads_share_the_vmap_area)
{
	enum { T = 4 };
	struct mm_arena *a = fixture_arena(64);
	pthread_t th[T];
	struct kv_thread args[T];

	for (int i = 0; i < T; i++) {
		args[i] = (struct kv_thread){ .a = a, .seed = 1000u + (unsigned)i };
		cr_assert_eq(pthread_create(&th[i], NULL, kv_churn, &args[i]), 0);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(args[i].errors, 0, "thread %d saw overwritten memory", i);
	}
	struct kvmalloc_stats st = stats(a);
	cr_assert_eq(st.bad_calls, 0);
	cr_assert_eq(st.kmalloc_allocs, st.frees_kmalloc);
	cr_assert_eq(st.contig_allocs, st.frees_contig);
	cr_assert_eq(st.scattered_allocs, st.frees_scattered);
	cr_assert_gt(st.scattered_allocs, 0);
	cr_assert_eq(st.vmap_bytes, 0);
	cr_assert_eq(maps_in_area(a), 1);
	fixture_finish(a);
}
