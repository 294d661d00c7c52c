/*
 * Tests for ballooned guest memory (vmm/memory/balloon_mem.c) on real guest memory,
 * without a device: half of a 256 MiB guest inflated and deflated in zone
 * Normal and in zone Huge, with the host memory released measured (memfd
 * allocated blocks, process RSS and hugetlb pages), the buddy's free count,
 * I1, the mapping counts (I4) and the data of the pages left alone; bogus
 * PFNs; a short mapping budget (ballooned-pending frames); and writes to
 * ballooned pages that must not reach the VMM's own slab pages (I2).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "tests/support/test_env.h"
#include "mm/mapbudget.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/guest_mem.h"
#include "gm_check.h"
#include "mmap_inject.h"

#define MIB (1ULL << 20)
#define GUEST_BYTES (256 * MIB)
#define GUEST_FRAMES (GUEST_BYTES >> 12)
#define HALF (GUEST_FRAMES / 2)

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
	if (huge_mib && !mm_zone_get(a, ZONE_HUGE)) {
		char status[sizeof(a->huge_status)];
		snprintf(status, sizeof(status), "%s", a->huge_status);
		mm_destroy(a);
		cr_skip_test("%s", status);
	}
	return a;
}

static struct guest_mem *create(struct mm_arena *a, enum mm_huge_mode mode)
{
	struct guest_mem *gm = NULL;
	char why[256];
	int rc = guest_mem_create(a, GUEST_BYTES, mode, &gm, why, sizeof(why));
	cr_assert_eq(rc, 0, "guest_mem_create: %s (%s)", why, strerror(-rc));
	cr_assert_eq(balloon_mem_attach(gm), 0);
	return gm;
}

/* Frames per state in zone z; I1 must hold. */
static void states(struct mm_arena *a, enum mm_zone_id z, uint64_t out[FRAME_NR_OWNER_STATES])
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(a, counts), 0, "I1: frame states do not add up");
	memcpy(out, counts[z], sizeof(counts[z]));
}

static void destroy(struct guest_mem *gm, struct mm_arena *a)
{
	balloon_mem_forget(gm);
	guest_mem_destroy(gm);
	slab_shrink_all(a);
	for (int z = 0; z < MM_NR_ZONES; z++) {
		struct mm_zone *zone = mm_zone_get(a, (enum mm_zone_id)z);
		if (!zone)
			continue;
		mm_pcp_drain(zone);
		uint64_t st[FRAME_NR_OWNER_STATES];
		states(a, (enum mm_zone_id)z, st);
		cr_assert_eq(st[FRAME_GUEST] + st[FRAME_BALLOONED], 0);
		cr_assert(buddy_fully_coalesced(&zone->buddy), "I3: zone %s", zone->buddy.name);
	}
	mm_destroy(a);
}

static struct guest_mem_region region0(struct guest_mem *gm)
{
	struct guest_mem_region r;
	cr_assert_eq(guest_mem_region(gm, 0, &r), 0);
	return r;
}

static uint64_t memfd_bytes(struct mm_zone *z)
{
	struct stat sb;
	cr_assert_eq(fstat(z->memfd, &sb), 0);
	return (uint64_t)sb.st_blocks * 512;
}

/* The process's resident memory, hugetlb pages included (RSS leaves them
 * out), from /proc/self/status. */
static uint64_t host_resident(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t total = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1 ||
		    sscanf(line, "HugetlbPages: %lu kB", &kb) == 1)
			total += (uint64_t)kb << 10;
	}
	fclose(f);
	return total;
}

static void fill(struct guest_mem_region *r, uint64_t from, uint64_t to)
{
	for (uint64_t p = from; p < to; p++)
		*(volatile uint64_t *)(r->hva + (p << 12) + 16) = gm_tag(p);
}

static bool page_zero(const uint8_t *p)
{
	for (unsigned i = 0; i < 4096; i += 8)
		if (*(const uint64_t *)(p + i))
			return false;
	return true;
}

/* What the device sees: batches of 256 GFNs, ascending inside each. */
#define BATCH 256

/* Inflates (downwards, one GFN at a time, so zone Huge pages complete only
 * at their last piece) or deflates (upwards) [lo, hi), or does it in
 * batches. */
static void balloon_range(struct guest_mem *gm, uint64_t lo, uint64_t hi, bool inflate,
			  bool batched)
{
	for (uint64_t i = 0; !batched && i < hi - lo; i++) {
		uint64_t g = inflate ? hi - 1 - i : lo + i;
		int rc = inflate ? balloon_mem_inflate(gm, g) : balloon_mem_deflate(gm, g);
		cr_assert_eq(rc, 0, "%s gfn %#lx", inflate ? "inflate" : "deflate", (unsigned long)g);
	}
	for (uint64_t g = lo; batched && g < hi; g += BATCH) {
		uint64_t gfns[BATCH];
		unsigned n = hi - g < BATCH ? (unsigned)(hi - g) : BATCH;
		struct balloon_mem_result res;
		for (unsigned i = 0; i < n; i++)
			gfns[i] = g + i;
		if (inflate)
			balloon_mem_inflate_batch(gm, gfns, n, &res);
		else
			balloon_mem_deflate_batch(gm, gfns, n, &res);
		cr_assert_eq(res.done, n, "batch at %#lx: %u of %u, err %d", (unsigned long)g,
			     res.done, n, res.err);
	}
}

/* Inflates the upper half of a 256 MiB guest whose frames are in zone zid,
 * checks what came back, deflates it all and checks the pages work again. */
static void half_and_back(struct mm_arena *a, enum mm_huge_mode mode, enum mm_zone_id zid,
			  bool batched)
{
	struct guest_mem *gm = create(a, mode);
	struct guest_mem_region r = region0(gm);
	struct mm_zone *z = mm_zone_get(a, zid);
	struct balloon_mem_stats s;
	uint64_t before[FRAME_NR_OWNER_STATES], after[FRAME_NR_OWNER_STATES];
	const uint64_t bytes = HALF << 12;

	cr_assert_eq(r.zone, zid);
	fill(&r, 0, GUEST_FRAMES);
	mm_pcp_drain(z);
	states(a, zid, before);
	uint64_t fd0 = memfd_bytes(z), res0 = host_resident();

	balloon_range(gm, HALF, GUEST_FRAMES, true, batched);
	mm_pcp_drain(z);
	states(a, zid, after);
	uint64_t fd1 = memfd_bytes(z), res1 = host_resident();
	balloon_mem_stats(gm, &s);

	cr_assert_eq(s.ballooned_pages, HALF);
	cr_assert_eq(s.frames_returned, HALF);
	cr_assert_eq(s.pending, 0);
	cr_assert_eq(s.rejected, 0);
	cr_assert_geq(s.host_bytes_released * 100, bytes * 99, "released %lu of %lu",
		      (unsigned long)s.host_bytes_released, (unsigned long)bytes);
	cr_assert_geq((fd0 - fd1) * 100, bytes * 99, "memfd blocks fell by %lu of %lu",
		      (unsigned long)(fd0 - fd1), (unsigned long)bytes);
	cr_assert_geq(res0 > res1 ? (res0 - res1) * 100 : 0, bytes * 99,
		      "resident memory fell by %ld of %lu", (long)(res0 - res1), (unsigned long)bytes);
	/* Every frame returned is free again, or became a p2m table page
	 * (4 KiB leaves where 2 MiB leaves were). */
	cr_assert_eq(before[FRAME_GUEST] - after[FRAME_GUEST], HALF);
	cr_assert_eq((after[FRAME_FREE] - before[FRAME_FREE]) + (after[FRAME_VMM] - before[FRAME_VMM]),
		     HALF);
	cr_assert_geq((after[FRAME_FREE] - before[FRAME_FREE]) * 100, HALF * 99);
	cr_assert_eq(after[FRAME_BALLOONED], 0);
	gm_check_maps(gm);
	/* The ballooned half is one placeholder mapping, however it came. */
	cr_assert_leq(region0(gm).nr_mappings, 3);

	/* The guest's other half is untouched; the ballooned half reads
	 * zeros (a placeholder, no frame). */
	for (uint64_t p = 0; p < HALF; p++)
		cr_assert_eq(*(uint64_t *)(r.hva + (p << 12) + 16), gm_tag(p));
	for (uint64_t p = HALF; p < GUEST_FRAMES; p += 97)
		cr_assert(page_zero(r.hva + (p << 12)));
	struct p2m_leaf l;
	cr_assert_eq(p2m_lookup(guest_mem_p2m(gm), HALF, &l), -ENOENT);

	balloon_range(gm, HALF, GUEST_FRAMES, false, batched);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.ballooned_pages, 0);
	cr_assert_eq(s.frames_returned, 0);
	gm_check_maps(gm);
	for (uint64_t p = HALF; p < GUEST_FRAMES; p++)
		cr_assert(page_zero(r.hva + (p << 12)), "gfn %#lx not zero", (unsigned long)p);
	/* Usable: what the guest writes lands in the frame the p2m names. */
	fill(&r, HALF, GUEST_FRAMES);
	for (uint64_t p = 0; p < GUEST_FRAMES; p++) {
		cr_assert_eq(p2m_lookup(guest_mem_p2m(gm), p, &l), 0);
		cr_assert_eq(l.state, 0);
		struct mm_zone *fz = mm_zone_get(a, l.zone);
		uint8_t *f = mm_frame_ptr(fz, (uint32_t)(l.hfn - fz->base_hfn));
		cr_assert_eq(*(uint64_t *)(f + 16), gm_tag(p), "gfn %#lx", (unsigned long)p);
	}
	states(a, zid, after);
	cr_assert_eq(after[FRAME_GUEST], before[FRAME_GUEST]);
	destroy(gm, a);
}

Test(balloon_mem, half_of_256m_in_zone_normal)
{
	half_and_back(arena(320, 0), MM_HUGE_OFF, ZONE_NORMAL, false);
}

/* As the device does it: a run of a batch leaves, and comes back, with one
 * punch and one mapping. */
Test(balloon_mem, half_of_256m_in_zone_normal_in_batches)
{
	half_and_back(arena(320, 0), MM_HUGE_OFF, ZONE_NORMAL, true);
}

/* Pieces of a zone Huge page release nothing until all 512 are in. */
static void whole_pages_only(struct mm_arena *a)
{
	struct guest_mem *gm = create(a, MM_HUGE_ON);
	struct guest_mem_region r = region0(gm);
	struct mm_zone *z = mm_zone_get(a, ZONE_HUGE);
	struct balloon_mem_stats s;

	fill(&r, 0, 1024);
	uint64_t fd0 = memfd_bytes(z);
	for (uint64_t g = 512; g < 1023; g++)
		cr_assert_eq(balloon_mem_inflate(gm, g), 0);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.ballooned_pages, 511);
	cr_assert_eq(s.frames_returned, 0);
	cr_assert_eq(memfd_bytes(z), fd0);
	/* A piece deflated before the page left reads zeros. */
	cr_assert_eq(balloon_mem_deflate(gm, 700), 0);
	cr_assert(page_zero(r.hva + (700 << 12)));
	cr_assert_eq(balloon_mem_inflate(gm, 700), 0);
	cr_assert_eq(balloon_mem_inflate(gm, 1023), 0);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.frames_returned, 512);
	cr_assert_eq(fd0 - memfd_bytes(z), 2 * MIB);
	gm_check_maps(gm);
	/* One piece back brings a whole (zero) 2 MiB page; the rest stay ballooned. */
	cr_assert_eq(balloon_mem_deflate(gm, 600), 0);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.ballooned_pages, 511);
	cr_assert_eq(s.frames_returned, 0);
	for (uint64_t g = 512; g < 1024; g++)
		cr_assert(page_zero(r.hva + (g << 12)));
	for (uint64_t p = 0; p < 512; p++)
		cr_assert_eq(*(uint64_t *)(r.hva + (p << 12) + 16), gm_tag(p));
	gm_check_maps(gm);
	destroy(gm, a);
}

/* One test for both, so that they do not compete for the hugetlb pool. */
Test(balloon_mem, half_of_256m_in_zone_huge_and_whole_pages_only)
{
	half_and_back(arena(32, 256), MM_HUGE_ON, ZONE_HUGE, false);
	half_and_back(arena(32, 256), MM_HUGE_ON, ZONE_HUGE, true);
	whole_pages_only(arena(32, 256));
}

Test(balloon_mem, bogus_pfns_are_rejected_and_counted)
{
	struct mm_arena *a = arena(320, 0);
	struct guest_mem *gm = create(a, MM_HUGE_OFF);
	struct balloon_mem_stats s;

	cr_assert_eq(balloon_mem_inflate(gm, GUEST_FRAMES), -EINVAL);            /* past RAM */
	cr_assert_eq(balloon_mem_inflate(gm, GUEST_MEM_LOW_END >> 12), -EINVAL); /* the hole */
	cr_assert_eq(balloon_mem_inflate(gm, UINT64_MAX), -EINVAL);
	cr_assert_eq(balloon_mem_inflate(gm, 5), 0);
	cr_assert_eq(balloon_mem_inflate(gm, 5), -EINVAL);                       /* duplicate */
	cr_assert_eq(balloon_mem_deflate(gm, 6), -EINVAL);                       /* never inflated */
	cr_assert_eq(balloon_mem_deflate(gm, UINT64_MAX), -EINVAL);
	cr_assert_eq(balloon_mem_deflate(gm, 5), 0);
	cr_assert_eq(balloon_mem_deflate(gm, 5), -EINVAL);                       /* twice */
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.rejected, 7);
	cr_assert_eq(s.ballooned_pages, 0);
	destroy(gm, a);
}

/* A GFN twice in one batch is bogus the second time, even while the run
 * it belongs to has not left yet; the rest of the batch goes on. */
Test(balloon_mem, duplicates_inside_a_batch_are_rejected)
{
	struct mm_arena *a = arena(320, 0);
	struct guest_mem *gm = create(a, MM_HUGE_OFF);
	struct balloon_mem_stats s;
	struct balloon_mem_result res;
	const uint64_t in[] = { 300, 301, 302, 301, 300, 303, 304, UINT64_MAX, 305 };
	const uint64_t out[] = { 305, 304, 303, 303, 300, 301, 302, 302, 306 };

	balloon_mem_inflate_batch(gm, in, 9, &res);
	cr_assert_eq(res.done, 6);
	cr_assert_eq(res.bogus, 3);
	cr_assert_eq(res.failed, 0);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.ballooned_pages, 6);
	cr_assert_eq(s.frames_returned, 6);
	cr_assert_eq(s.rejected, 3);
	gm_check_maps(gm);
	balloon_mem_deflate_batch(gm, out, 9, &res);
	cr_assert_eq(res.done, 6);
	cr_assert_eq(res.bogus, 3);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.ballooned_pages, 0);
	cr_assert_eq(s.frames_returned, 0);
	cr_assert_eq(s.rejected, 6);
	gm_check_maps(gm);
	destroy(gm, a);
}

/* No mapping budget left: isolated ballooned pages stay pending (punched,
 * reserved to their GFN), and deflate gives them back zeroed. */
Test(balloon_mem, short_mapping_budget_keeps_frames_pending)
{
	struct mm_arena *a = arena(320, 0);
	/* The host memory counted here is exact to the page: SLUB's slabs
	 * already have room for the balloon's records, other policies take
	 * fresh metadata pages (and SLOB frees them) as they go. */
	test_skip_under_slab(a, "slob", "the host memory counted here is exact to the page");
	test_skip_under_slab(a, "slab", "the host memory counted here is exact to the page");
	struct guest_mem *gm = create(a, MM_HUGE_OFF);
	struct guest_mem_region r = region0(gm);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	struct balloon_mem_stats s;
	uint64_t st[FRAME_NR_OWNER_STATES];

	fill(&r, 0, GUEST_FRAMES);
	uint64_t left = mm_maps_share(MM_MAPS_GUEST) - mm_maps_charged(MM_MAPS_GUEST);
	cr_assert_eq(mm_maps_charge(MM_MAPS_GUEST, left), 0);
	uint64_t fd0 = memfd_bytes(z);
	for (uint64_t g = 500; g < 600; g += 2)
		cr_assert_eq(balloon_mem_inflate(gm, g), 0);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.pending, 50);
	cr_assert_eq(s.frames_returned, 0);
	cr_assert_geq(fd0 - memfd_bytes(z), 50 * 4096);
	states(a, ZONE_NORMAL, st);
	cr_assert_eq(st[FRAME_BALLOONED], 50);
	struct p2m_leaf l;
	cr_assert_eq(p2m_lookup(guest_mem_p2m(gm), 500, &l), 0);
	cr_assert(l.state & P2M_ST_BALLOONED);
	gm_check_maps(gm);
	/* A guest writing to a pending page writes to its own reserved frame. */
	memset(r.hva + (550 << 12), 0xa5, 4096);
	/* With room again, a ballooned neighbour lets pending frames go:
	 * 501's placeholder merges with those of 500 and 502. */
	mm_maps_uncharge(MM_MAPS_GUEST, left);
	cr_assert_eq(balloon_mem_inflate(gm, 501), 0);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.pending, 48);
	cr_assert_eq(s.frames_returned, 3);
	cr_assert_eq(p2m_lookup(guest_mem_p2m(gm), 500, &l), -ENOENT);
	gm_check_maps(gm);
	states(a, ZONE_NORMAL, st);
	cr_assert_eq(st[FRAME_BALLOONED], 48);
	for (uint64_t g = 500; g < 600; g += 2)
		cr_assert_eq(balloon_mem_deflate(gm, g), 0);
	cr_assert_eq(balloon_mem_deflate(gm, 501), 0);
	balloon_mem_stats(gm, &s);
	cr_assert_eq(s.pending, 0);
	cr_assert_eq(s.frames_returned, 0);
	cr_assert_eq(s.ballooned_pages, 0);
	for (uint64_t p = 500; p < 600; p += 2)
		cr_assert(page_zero(r.hva + (p << 12)), "gfn %#lx", (unsigned long)p);
	cr_assert(page_zero(r.hva + (501 << 12)));
	states(a, ZONE_NORMAL, st);
	cr_assert_eq(st[FRAME_BALLOONED], 0);
	for (uint64_t p = 503; p < 600; p += 2)
		cr_assert_eq(*(uint64_t *)(r.hva + (p << 12) + 16), gm_tag(p));
	gm_check_maps(gm);
	destroy(gm, a);
}

static uint64_t hash_pages(uint8_t **pages, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < 4096; j++)
			h = (h ^ pages[i][j]) * 0x100000001b3ULL;
	return h;
}

/* I2: frames given back to the buddy become the VMM's slab pages (the
 * zone is small, and the slab takes every frame it can get); the guest
 * scribbling over every ballooned page changes none of them. */
Test(balloon_mem, ballooned_writes_never_reach_the_vmms_slab_pages)
{
	struct mm_arena *a = arena(264, 0);
	struct guest_mem *gm = create(a, MM_HUGE_OFF);
	struct guest_mem_region r = region0(gm);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	enum { NB = 1024, PER_PAGE = 64, MAX_OBJ = PER_PAGE * 8192 };
	static uint64_t was[NB];
	static uint8_t *pages[MAX_OBJ / PER_PAGE * 2];
	void **objs = calloc(MAX_OBJ, sizeof(*objs));

	cr_assert_not_null(objs);
	for (uint64_t i = 0; i < NB; i++) {
		struct p2m_leaf l;
		cr_assert_eq(p2m_lookup(guest_mem_p2m(gm), 4096 + i, &l), 0);
		was[i] = l.hfn;
		cr_assert_eq(balloon_mem_inflate(gm, 4096 + i), 0);
	}
	struct slab_cache_params sp = { .size = 64, .order = 0, .zone = ZONE_NORMAL };
	struct slab_cache *c = slab_cache_create(a, "balloon_i2_test", &sp);
	cr_assert_not_null(c);
	unsigned nobj = 0, np = 0, reused = 0;
	while (nobj < MAX_OBJ && np < sizeof(pages) / sizeof(pages[0])) {
		void *o = slab_alloc(c);
		if (!o)
			break;
		objs[nobj] = o;
		memset(o, (int)(nobj & 0xff), 64);
		nobj++;
		uint8_t *pg = (uint8_t *)((uintptr_t)o & ~4095UL);
		if (np && pages[np - 1] == pg)
			continue;
		pages[np++] = pg;
		uint64_t hfn = z->base_hfn + (uint64_t)((pg - z->base) >> 12);
		for (unsigned k = 0; k < NB; k++)
			if (was[k] == hfn) {
				reused++;
				break;
			}
	}
	cr_assert_gt(reused, NB / 2, "only %u ballooned frames became slab pages", reused);
	uint64_t h0 = hash_pages(pages, np);
	for (uint64_t i = 0; i < NB; i++)
		memset(r.hva + ((4096 + i) << 12), 0xff, 4096);
	cr_assert_eq(hash_pages(pages, np), h0, "a guest write reached a slab page");
	for (unsigned i = 0; i < nobj; i++)
		slab_free(c, objs[i]);
	free(objs);
	slab_cache_destroy(c, "balloon_i2_test");
	for (uint64_t i = 0; i < NB; i++)
		cr_assert_eq(balloon_mem_deflate(gm, 4096 + i), 0);
	for (uint64_t i = 0; i < NB; i++)
		cr_assert(page_zero(r.hva + ((4096 + i) << 12)));
	destroy(gm, a);
}

/* A guest that writes into pages it gave up takes host memory again (the
 * anonymous placeholders become resident): the released figure says so
 * instead of counting those pages as given back. */
Test(balloon_mem, writes_into_given_up_pages_are_not_counted_released)
{
	struct mm_arena *a = arena(264, 0);
	struct guest_mem *gm = create(a, MM_HUGE_OFF);
	struct guest_mem_region r = region0(gm);
	struct balloon_mem_stats before, after;
	enum { NB = 512, WRITTEN = 100 };

	fill(&r, 4096, 4096 + NB);
	balloon_range(gm, 4096, 4096 + NB, true, true);
	balloon_mem_stats(gm, &before);
	cr_assert_eq(before.ballooned_pages, NB);
	cr_assert_eq(before.placeholder_resident, 0);
	cr_assert_geq(before.host_bytes_released, (uint64_t)NB << 12);
	for (uint64_t i = 0; i < WRITTEN; i++)
		memset(r.hva + ((4096 + 2 * i) << 12), 0x77, 4096);
	balloon_mem_stats(gm, &after);
	cr_assert_eq(after.placeholder_resident, (uint64_t)WRITTEN << 12);
	cr_assert_eq(after.host_bytes_released,
		     before.host_bytes_released - ((uint64_t)WRITTEN << 12));
	balloon_range(gm, 4096, 4096 + NB, false, true);
	balloon_mem_stats(gm, &after);
	cr_assert_eq(after.placeholder_resident, 0, "deflated pages are frames again");
	for (uint64_t i = 0; i < NB; i++)
		cr_assert(page_zero(r.hva + ((4096 + i) << 12)));
	destroy(gm, a);
}

/*
 * A view change the kernel refuses, as kernels before 6.12 refuse it (the
 * old range unmapped first): the range is put back, so the view has no
 * hole another mapping could take (I2). Inflate: the placeholder cannot be
 * mapped, the frame stays the GFN's (pending) and its mapping with it.
 * Deflate: the new frame cannot be mapped, the GFN stays ballooned and its
 * placeholder comes back. A hole would fault here, in the test.
 */
Test(balloon_mem, a_refused_view_change_leaves_no_hole)
{
	struct mm_arena *a = arena(264, 0);
	struct guest_mem *gm = create(a, MM_HUGE_OFF);
	struct guest_mem_region r = region0(gm);
	struct balloon_mem_stats ms;
	const uint64_t g = 8192;

	fill(&r, g, g + 1);
	mmap_inject_arm_hole(MAP_ANONYMOUS | MAP_FIXED, 0, ENOMEM);
	cr_assert_eq(balloon_mem_inflate(gm, g), 0, "a pending frame is a ballooned GFN too");
	mmap_inject_disarm();
	cr_assert_eq(mmap_inject_fired(), 1);
	balloon_mem_stats(gm, &ms);
	cr_assert_eq(ms.pending, 1, "the frame stays pending when its placeholder fails");
	cr_assert(page_zero(r.hva + (g << 12)), "the view of a pending frame reads its punched page");
	gm_check_maps(gm);

	/* Back, then out again normally: the frame goes to the buddy. */
	cr_assert_eq(balloon_mem_deflate(gm, g), 0);
	cr_assert_eq(balloon_mem_inflate(gm, g), 0);
	balloon_mem_stats(gm, &ms);
	cr_assert_eq(ms.pending, 0);
	cr_assert_eq(ms.frames_returned, 1);
	mmap_inject_arm_hole(MAP_SHARED | MAP_FIXED, 0, ENOMEM);
	cr_assert_neq(balloon_mem_deflate(gm, g), 0, "the deflate could not map its frame");
	mmap_inject_disarm();
	cr_assert_eq(mmap_inject_fired(), 2);
	cr_assert(balloon_mem_is_ballooned(gm, g));
	cr_assert(page_zero(r.hva + (g << 12)), "the placeholder is back");
	gm_check_maps(gm);
	cr_assert_eq(balloon_mem_deflate(gm, g), 0);
	cr_assert(!balloon_mem_is_ballooned(gm, g));
	destroy(gm, a);
}
