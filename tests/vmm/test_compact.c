/*
 * Tests for compaction of guest memory (vmm/memory/guest_compact.c and
 * guest_promote.c) in process, without KVM: a 64 MiB guest scattered over a
 * zone Normal fragmented on purpose (its pages on every other frame), a
 * pattern in every page, then a full compaction. Checked after it: every
 * byte at the same GPA through the view, the view showing the frame the p2m
 * names, the p2m consistent with the frame owners, I1, the mapping counts
 * (I4), free max-order blocks, 2 MiB leaves where ranges were promoted, and
 * I3 once the guest is gone. Then the failures (an mmap that fails and
 * leaves a hole, forced hash mismatches) roll back with nothing lost, and
 * ballooned and pending frames stay where they are, before and after
 * deflate.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "mm/buddy.h"
#include "mm/extfrag.h"
#include "mm/pageblock_usage.h"
#include "mm/mapbudget.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/balloon_report.h"
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem.h"
#include "fragment.h"
#include "gm_check.h"
#include "mmap_inject.h"

#define MIB (1ULL << 20)
#define ZONE_MIB 160
#define GUEST_BYTES (64 * MIB)
#define GUEST_FRAMES (GUEST_BYTES >> 12)
#define WORDS (4096 / 8)

struct fixture {
	struct fragmented frag; /* the arena and the frames still taken */
	struct mm_arena *arena;
	struct mm_zone *z;
	struct guest_mem *gm;
	uint8_t *hva;
};

/*
 * Zone Normal with every other frame taken, but for three 4 MiB runs the
 * VMM's metadata can use (fragment.h); the guest gets free frames (one by
 * one), then the filler goes from the pageblocks the guest is in. It stays
 * on every other frame of the others, so no free aligned 2 MiB block is left
 * anywhere: only moving guest pages frees whole pageblocks.
 */
static void setup(struct fixture *fx)
{
	char why[256];

	memset(fx, 0, sizeof(*fx));
	fragmented_create(&fx->frag, ZONE_MIB);
	fx->arena = fx->frag.arena;
	fx->z = mm_zone_get(fx->arena, ZONE_NORMAL);
	int rc = guest_mem_create(fx->arena, GUEST_BYTES, MM_HUGE_OFF, &fx->gm, why, sizeof(why));
	cr_assert_eq(rc, 0, "guest_mem_create: %s", why);
	fragmented_free_around(&fx->frag, fx->gm, GUEST_FRAMES);
	fx->hva = guest_mem_hva(fx->gm, 0, GUEST_BYTES);
	cr_assert_not_null(fx->hva);
	cr_assert_eq(balloon_mem_attach(fx->gm), 0);
}

static void teardown(struct fixture *fx)
{
	balloon_mem_forget(fx->gm);
	guest_mem_destroy(fx->gm);
	fragmented_give_back(&fx->frag);
	slab_shrink_all(fx->arena);
	mm_pcp_drain(fx->z);
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(fx->arena, counts), 0, "I1");
	cr_assert_eq(counts[ZONE_NORMAL][FRAME_GUEST] + counts[ZONE_NORMAL][FRAME_BALLOONED], 0);
	cr_assert(buddy_fully_coalesced(&fx->z->buddy), "I3: every frame back in max-order blocks");
	mm_destroy(fx->arena);
}

static uint64_t word(uint64_t gfn, unsigned i, unsigned gen)
{
	return gm_tag(gfn) ^ ((uint64_t)i << 32) ^ gen;
}

static void fill(struct fixture *fx, uint64_t from, uint64_t to, unsigned gen)
{
	for (uint64_t g = from; g < to; g++) {
		uint64_t *p = (uint64_t *)(fx->hva + (g << 12));
		for (unsigned i = 0; i < WORDS; i++)
			p[i] = word(g, i, gen);
	}
}

/* A GFN a test ballooned (or punched: its data is not checked). */
static bool skip_gfn(const bool *ballooned, uint64_t g)
{
	return ballooned && ballooned[g];
}

/* Every byte of every page still there at its GPA, through the view. */
static void check_data(struct fixture *fx, const bool *ballooned, unsigned gen)
{
	for (uint64_t g = 0; g < GUEST_FRAMES; g++) {
		if (skip_gfn(ballooned, g))
			continue;
		const uint64_t *p = (const uint64_t *)(fx->hva + (g << 12));
		for (unsigned i = 0; i < WORDS; i++)
			cr_assert_eq(p[i], word(g, i, gen), "gfn %#lx word %u", (unsigned long)g, i);
	}
}

/* The p2m names, for every GFN, a guest frame owned by that GFN, and the
 * view shows that frame (I2); ballooned GFNs have no leaf or a pending one. */
static void check_p2m(struct fixture *fx, const bool *ballooned)
{
	struct p2m *p2m = guest_mem_p2m(fx->gm);
	struct buddy_zone *b = &fx->z->buddy;

	for (uint64_t g = 0; g < GUEST_FRAMES; g++) {
		struct p2m_leaf l;
		int rc = p2m_lookup(p2m, g, &l);
		if (skip_gfn(ballooned, g)) {
			cr_assert(rc == -ENOENT || (l.state & P2M_ST_BALLOONED), "gfn %#lx", (unsigned long)g);
			if (!rc)
				cr_assert_eq(frame_state_get(&b->frames[l.hfn - fx->z->base_hfn]),
					     FRAME_BALLOONED);
			continue;
		}
		cr_assert_eq(rc, 0, "gfn %#lx has no leaf", (unsigned long)g);
		cr_assert_eq(l.zone, ZONE_NORMAL);
		uint32_t idx = (uint32_t)(l.hfn - fx->z->base_hfn);
		long head = buddy_block_head(b, idx);
		cr_assert_geq(head, 0);
		cr_assert_eq(frame_state_get(&b->frames[head]), FRAME_GUEST, "gfn %#lx", (unsigned long)g);
		cr_assert_eq(b->frames[head].owner + (idx - (uint32_t)head), g,
			     "gfn %#lx: frame %#x owned by another GFN", (unsigned long)g, idx);
		if (!(l.state & P2M_ST_PUNCHED))
			cr_assert_eq(memcmp(fx->hva + (g << 12), mm_frame_ptr(fx->z, idx), 4096), 0,
				     "gfn %#lx: the view does not show the p2m's frame", (unsigned long)g);
	}
}

static void check_all(struct fixture *fx, const bool *ballooned, unsigned gen)
{
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];

	check_data(fx, ballooned, gen);
	check_p2m(fx, ballooned);
	cr_assert_eq(mm_arena_check_frames(fx->arena, counts), 0, "I1");
	gm_check_maps(fx->gm);
}

static uint64_t free_max_order(struct fixture *fx)
{
	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1], per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];

	mm_pcp_drain(fx->z);
	buddy_free_blocks(&fx->z->buddy, per_order, per_type);
	return per_order[fx->z->buddy.max_order];
}

static struct p2m_counts leaves(struct fixture *fx)
{
	struct p2m_counts c;
	cr_assert_eq(p2m_count_leaves(guest_mem_p2m(fx->gm), 0, GUEST_FRAMES, &c), 0);
	return c;
}

static struct guest_compact_result compact_full(struct fixture *fx)
{
	struct guest_compact_result res;
	int rc = guest_mem_compact(fx->gm, MM_COMPACT_FULL, MM_COMPACT_NO_BUDGET, NULL, &res);
	cr_assert_eq(rc, 0, "guest_mem_compact: %s", strerror(-rc));
	return res;
}

Test(compact, full_compaction_keeps_every_byte_and_promotes)
{
	struct fixture fx;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 1);
	check_all(&fx, NULL, 1);
	uint64_t maxfree0 = free_max_order(&fx);
	struct p2m_counts c0 = leaves(&fx);
	/* What the runs left over from the VMM's metadata are 2 MiB leaves;
	 * the rest are single frames. */
	cr_assert_leq(c0.leaves_2m, 6);
	cr_assert_geq(c0.leaves_4k, GUEST_FRAMES - 6 * 512);
	cr_log_info("before: 2M leaves %lu, 4K leaves %lu", (unsigned long)c0.leaves_2m,
		    (unsigned long)c0.leaves_4k);

	struct stat sb0, sb1;
	cr_assert_eq(fstat(fx.z->memfd, &sb0), 0);
	struct guest_compact_result res = compact_full(&fx);
	/* The frames left behind gave their host memory back: the zone's file
	 * holds the guest once, not its old and its new frames. */
	cr_assert_eq(fstat(fx.z->memfd, &sb1), 0);
	cr_log_info("zone file %lu KiB before, %lu KiB after", (unsigned long)(sb0.st_blocks / 2),
		    (unsigned long)(sb1.st_blocks / 2));
	cr_assert_leq((uint64_t)sb1.st_blocks * 512, (uint64_t)sb0.st_blocks * 512 + 4 * MIB);
	cr_log_info("moved %lu failed %lu split %lu promoted %lu steered %lu copied %lu MiB in %lu us "
		    "(%lu passes)", (unsigned long)res.moved, (unsigned long)res.failed,
		    (unsigned long)res.split_blocks, (unsigned long)res.promoted_ranges,
		    (unsigned long)res.steered_ranges, (unsigned long)(res.bytes_copied >> 20),
		    (unsigned long)(res.ns / 1000), (unsigned long)res.passes);
	cr_assert_gt(res.moved, 1000);
	cr_assert_eq(res.failed, 0);
	cr_assert_eq(res.hash_mismatches, 0);
	check_all(&fx, NULL, 1);

	/* At least 90 % of the guest in 2 MiB leaves now. */
	struct p2m_counts c1 = leaves(&fx);
	cr_log_info("after: 2M leaves %lu, 4K leaves %lu", (unsigned long)c1.leaves_2m,
		    (unsigned long)c1.leaves_4k);
	cr_assert_geq(c1.leaves_2m * 512 * 100, GUEST_FRAMES * 90ULL);
	cr_assert_eq(c1.leaves_2m - c0.leaves_2m, res.promoted_ranges);
	cr_assert_gt(free_max_order(&fx), maxfree0, "free max-order blocks: %lu before, %lu after",
		     (unsigned long)maxfree0, (unsigned long)free_max_order(&fx));
	/* One mapping per promoted range at most, merged where frames run on. */
	struct guest_mem_region r;
	cr_assert_eq(guest_mem_region(fx.gm, 0, &r), 0);
	cr_assert_leq(r.nr_mappings, GUEST_BYTES / (2 * MIB));

	struct guest_compact_stats st;
	guest_mem_compact_stats(fx.gm, &st);
	cr_assert_eq(st.runs, 1);
	cr_assert_eq(st.moved, res.moved);
	cr_assert_eq(st.promoted_ranges, res.promoted_ranges);
	cr_assert_eq(st.bytes_copied, res.bytes_copied);

	/* Nothing left to do: a second run moves nothing the promotion made. */
	res = compact_full(&fx);
	cr_assert_eq(res.moved, 0);
	cr_assert_geq(leaves(&fx).leaves_2m, c1.leaves_2m);
	check_all(&fx, NULL, 1);
	teardown(&fx);
}

Test(compact, target_order_stops_early_and_budget_zero_does_one_step)
{
	struct fixture fx;
	struct guest_compact_result res;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 2);
	cr_assert_eq(guest_mem_compact(fx.gm, 0, 0, NULL, &res), 0);
	cr_assert_leq(res.moved + res.failed + res.stale, 1);
	cr_assert_eq(guest_mem_compact(fx.gm, 99, MM_COMPACT_NO_BUDGET, NULL, &res), -EINVAL);
	cr_assert_eq(guest_mem_compact(fx.gm, -2, MM_COMPACT_NO_BUDGET, NULL, &res), -EINVAL);
	int stop = 1;
	cr_assert_eq(guest_mem_compact(fx.gm, MM_COMPACT_FULL, MM_COMPACT_NO_BUDGET, &stop, &res), 0);
	cr_assert_eq(res.stop, MM_COMPACT_STOPPED);
	cr_assert_eq(guest_mem_compact(fx.gm, 9, MM_COMPACT_NO_BUDGET, NULL, &res), 0);
	cr_assert(res.target_reached);
	check_all(&fx, NULL, 2);
	teardown(&fx);
}

/* An mmap of the view that fails, leaving a hole as kernels before 6.12 do:
 * the move is undone, the hole filled with the old frame. */
Test(compact, failed_mmap_rolls_back)
{
	struct fixture fx;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 3);
	unsigned fired = mmap_inject_fired();
	mmap_inject_arm_hole(MAP_FIXED | MAP_SHARED, 10, ENOMEM);
	struct guest_compact_result res = compact_full(&fx);
	mmap_inject_disarm();
	cr_assert_eq(mmap_inject_fired(), fired + 1);
	cr_assert_geq(res.failed, 1);
	check_all(&fx, NULL, 3);
	/* A later run finishes the job. */
	compact_full(&fx);
	check_all(&fx, NULL, 3);
	cr_assert_geq(leaves(&fx).leaves_2m * 512 * 100, GUEST_FRAMES * 90ULL);
	teardown(&fx);
}

Test(compact, hash_mismatch_rolls_back_and_is_counted)
{
	struct fixture fx;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 4);
	guest_compact_corrupt_copies = 3;
	struct guest_compact_result res = compact_full(&fx);
	cr_assert_eq(guest_compact_corrupt_copies, 0);
	cr_assert_eq(res.hash_mismatches, 3);
	cr_assert_geq(res.failed, 3);
	check_all(&fx, NULL, 4);
	struct guest_compact_stats st;
	guest_mem_compact_stats(fx.gm, &st);
	cr_assert_eq(st.hash_mismatches, 3);
	compact_full(&fx);
	check_all(&fx, NULL, 4);
	teardown(&fx);
}

/* A short mapping budget: moves that would need more mappings fail and
 * roll back, none exceeds the share. */
Test(compact, exhausted_mapping_budget_fails_moves_not_the_guest)
{
	struct fixture fx;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 5);
	uint64_t left = mm_maps_share(MM_MAPS_GUEST) - mm_maps_charged(MM_MAPS_GUEST);
	cr_assert_eq(mm_maps_charge(MM_MAPS_GUEST, left), 0);
	struct guest_compact_result res = compact_full(&fx);
	cr_assert_leq(mm_maps_charged(MM_MAPS_GUEST), mm_maps_share(MM_MAPS_GUEST));
	mm_maps_uncharge(MM_MAPS_GUEST, left);
	check_all(&fx, NULL, 5);
	cr_assert_gt(res.moved + res.promoted_ranges, 0, "what costs no mapping still happens");
	teardown(&fx);
}

/* Ballooned GFNs: returned ones stay without a frame, pending ones keep
 * theirs; deflated, they are compacted like the rest. */
Test(compact, ballooned_and_pending_frames_stay_then_deflate)
{
	struct fixture fx;
	static bool ballooned[GUEST_FRAMES];
	struct p2m_leaf pend[2];
	const uint64_t pending_gfn[2] = { 0x300, 0x500 };   /* inside the first 4 MiB run */

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 6);
	/* No mapping budget: a page cut out of a run stays pending. */
	uint64_t left = mm_maps_share(MM_MAPS_GUEST) - mm_maps_charged(MM_MAPS_GUEST);
	cr_assert_eq(mm_maps_charge(MM_MAPS_GUEST, left), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(balloon_mem_inflate(fx.gm, pending_gfn[i]), 0);
		ballooned[pending_gfn[i]] = true;
		cr_assert_eq(p2m_lookup(guest_mem_p2m(fx.gm), pending_gfn[i], &pend[i]), 0);
		cr_assert(pend[i].state & P2M_ST_BALLOONED);
	}
	mm_maps_uncharge(MM_MAPS_GUEST, left);
	/* Scattered pages: returned to the buddy at once. */
	for (uint64_t g = 0x2000; g < 0x2400; g += 3) {
		cr_assert_eq(balloon_mem_inflate(fx.gm, g), 0);
		ballooned[g] = true;
	}
	struct balloon_mem_stats s0, s1;
	balloon_mem_stats(fx.gm, &s0);
	cr_assert_eq(s0.pending, 2);

	struct guest_compact_result res = compact_full(&fx);
	cr_assert_gt(res.moved, 0);
	check_all(&fx, ballooned, 6);
	balloon_mem_stats(fx.gm, &s1);
	cr_assert_eq(s1.pending, 2);
	cr_assert_eq(s1.ballooned_pages, s0.ballooned_pages);
	for (int i = 0; i < 2; i++) {
		struct p2m_leaf l;
		cr_assert_eq(p2m_lookup(guest_mem_p2m(fx.gm), pending_gfn[i], &l), 0);
		cr_assert_eq(l.hfn, pend[i].hfn, "a pending frame stays reserved where it is");
		cr_assert(l.state & P2M_ST_BALLOONED);
	}
	/* Ranges with ballooned pages keep 4 KiB leaves; the others are large. */
	struct p2m_counts c = leaves(&fx);
	cr_assert_lt(c.leaves_2m, GUEST_BYTES / (2 * MIB));
	cr_assert_geq(c.leaves_2m, GUEST_BYTES / (2 * MIB) - 4);

	/* Deflate everything, write the pages again, compact again. */
	for (uint64_t g = 0; g < GUEST_FRAMES; g++)
		if (ballooned[g])
			cr_assert_eq(balloon_mem_deflate(fx.gm, g), 0, "deflate %#lx", (unsigned long)g);
	fill(&fx, 0, GUEST_FRAMES, 7);
	res = compact_full(&fx);
	cr_assert_eq(res.hash_mismatches, 0);

	check_all(&fx, NULL, 7);
	c = leaves(&fx);
	cr_assert_geq(c.leaves_2m * 512 * 100, GUEST_FRAMES * 90ULL,
		      "2M leaves %lu, 4K leaves %lu", (unsigned long)c.leaves_2m,
		      (unsigned long)c.leaves_4k);
	teardown(&fx);
}

/* Pages the guest reported free and then wrote again (it need not say so)
 * move with their data: still marked punched, but not empty. */
Test(compact, reported_pages_written_again_move_with_their_data)
{
	struct fixture fx;
	struct balloon_report_result res;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 8);
	for (uint64_t g = 0x1000; g < 0x3000; g += 7)
		cr_assert_eq(balloon_mem_report_range(fx.gm, g << 12, 4096, &res), 0);
	fill(&fx, 0, GUEST_FRAMES, 9);
	struct guest_compact_result cres = compact_full(&fx);
	cr_assert_gt(cres.moved, 0);
	check_data(&fx, NULL, 9);
	teardown(&fx);
}

/* Punched pages (free page reporting) move without a copy and stay
 * punched: the guest reads zeros there, and the host keeps nothing. */
Test(compact, punched_pages_move_and_stay_punched)
{
	struct fixture fx;
	static bool punched[GUEST_FRAMES];

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 8);
	for (uint64_t g = 0x1000; g < 0x3000; g += 7) {
		cr_assert_eq(guest_mem_punch_page(fx.gm, g), 0);
		punched[g] = true;
	}
	struct guest_compact_result res = compact_full(&fx);
	cr_assert_gt(res.moved, 0);
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	check_data(&fx, punched, 8);
	check_p2m(&fx, NULL);
	cr_assert_eq(mm_arena_check_frames(fx.arena, counts), 0, "I1");
	gm_check_maps(fx.gm);
	for (uint64_t g = 0x1000; g < 0x3000; g += 7) {
		struct p2m_leaf l;
		cr_assert_eq(p2m_lookup(guest_mem_p2m(fx.gm), g, &l), 0);
		cr_assert(l.state & P2M_ST_PUNCHED, "gfn %#lx", (unsigned long)g);
		const uint64_t *p = (const uint64_t *)(fx.hva + (g << 12));
		for (unsigned i = 0; i < WORDS; i++)
			cr_assert_eq(p[i], 0, "gfn %#lx reads zeros", (unsigned long)g);
	}
	/* Their ranges keep 4 KiB leaves; the others are large. */
	cr_assert_geq(leaves(&fx).leaves_2m, 32 - 16);
	teardown(&fx);
}

/* A range split by a balloon round trip (a pending page taken back) sits
 * on its aligned run in order with 4 KiB leaves: promoted where it is,
 * without a copy, before the scanners could scatter it. */
Test(compact, a_range_in_order_is_promoted_in_place)
{
	struct fixture fx;
	const uint64_t gfn = 0x300;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 9);
	struct p2m_leaf before, after;
	cr_assert_eq(p2m_lookup(guest_mem_p2m(fx.gm), gfn, &before), 0);
	cr_assert_eq(before.order, P2M_ORDER_2M);
	uint64_t left = mm_maps_share(MM_MAPS_GUEST) - mm_maps_charged(MM_MAPS_GUEST);
	cr_assert_eq(mm_maps_charge(MM_MAPS_GUEST, left), 0);
	cr_assert_eq(balloon_mem_inflate(fx.gm, gfn), 0);
	mm_maps_uncharge(MM_MAPS_GUEST, left);
	cr_assert_eq(balloon_mem_deflate(fx.gm, gfn), 0);
	cr_assert_eq(p2m_lookup(guest_mem_p2m(fx.gm), gfn, &after), 0);
	cr_assert_eq(after.order, P2M_ORDER_4K, "the inflate split the leaf");
	cr_assert_eq(after.hfn, before.hfn, "the pending frame came back");
	fill(&fx, gfn, gfn + 1, 9);

	struct guest_compact_result res = compact_full(&fx);
	cr_assert_geq(res.promoted_ranges, res.steered_ranges + 1);
	cr_assert_eq(p2m_lookup(guest_mem_p2m(fx.gm), gfn, &after), 0);
	cr_assert_eq(after.order, P2M_ORDER_2M);
	cr_assert_eq(after.hfn, before.hfn, "promoted where it was");
	check_all(&fx, NULL, 9);
	cr_assert_eq(leaves(&fx).leaves_2m, GUEST_BYTES / (2 * MIB));
	teardown(&fx);
}

/*
 * Compaction while another thread inflates and deflates the balloon and a
 * third asks what the monitor asks (counters, indexes, pageblocks, the p2m,
 * the frame table): every run, every balloon batch and every query takes
 * only its own locks, so none waits on the others for long, and afterwards
 * every page the balloon never touched holds its bytes, every page it gave
 * back reads zeros, and I1, the p2m and the mapping counts agree.
 */
enum page_fate { PAGE_KEPT, PAGE_BALLOONED, PAGE_DEFLATED };

struct churn {
	struct fixture *fx;
	uint8_t fate[GUEST_FRAMES];
	int done;
	uint64_t batches, queries, busy;
};

static void *balloon_churn(void *arg)
{
	struct churn *c = arg;
	uint64_t seed = 0x62616c6c6f6f6eULL;   /* "balloon" */

	for (int round = 0; round < 300; round++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		/* Above the legacy hole at 640 KiB, which is no RAM to give. */
		uint64_t first = 0x100 + (seed >> 20) % (GUEST_FRAMES - 0x100 - 16), gfns[16];
		unsigned n = 0;
		bool deflate = c->fate[first] == PAGE_BALLOONED;
		for (uint64_t g = first; g < first + 16; g++)
			if ((c->fate[g] == PAGE_BALLOONED) == deflate)
				gfns[n++] = g;
		struct balloon_mem_result r;
		if (deflate)
			balloon_mem_deflate_batch(c->fx->gm, gfns, n, &r);
		else
			balloon_mem_inflate_batch(c->fx->gm, gfns, n, &r);
		cr_assert_eq(r.done, n, "round %d: %s %u of %u done (%u bogus, %u failed, err %d)", round, deflate ? "deflate" : "inflate", r.done, n, r.bogus, r.failed, r.err);
		for (unsigned i = 0; i < n; i++)
			c->fate[gfns[i]] = deflate ? PAGE_DEFLATED : PAGE_BALLOONED;
		c->batches++;
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *monitor_queries(void *arg)
{
	struct churn *c = arg;
	char buf[4096];
	/* One per pageblock of the zone, as x-query-pageblocks takes them. */
	struct mm_pageblock_usage *pu = calloc(c->fx->z->buddy.nr_pageblocks, sizeof(*pu));

	cr_assert_not_null(pu);
	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
		struct guest_compact_stats gs;
		struct mm_compact_counters mc;
		struct balloon_mem_stats bs;
		struct p2m_counts pc;
		uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
		guest_mem_compact_stats(c->fx->gm, &gs);
		mm_compact_counters(c->fx->z, &mc);
		cr_assert_geq(mm_zone_extfrag_index(c->fx->z, 9), -1000);
		cr_assert_leq(mm_zone_unusable_index(c->fx->z, 9), 1000);
		mm_format_extfrag_index(c->fx->arena, buf, sizeof(buf));
		mm_zone_pageblock_usage(c->fx->z, pu);
		balloon_mem_stats(c->fx->gm, &bs);
		cr_assert_eq(p2m_count_leaves(guest_mem_p2m(c->fx->gm), 0, GUEST_FRAMES, &pc), 0);
		int rc = mm_arena_check_frames(c->fx->arena, counts);
		cr_assert(rc == 0 || rc == -EBUSY, "I1 while everything runs: %d", rc);
		c->busy += rc == -EBUSY;
		c->queries++;
	}
	free(pu);
	return NULL;
}

Test(compact, concurrent_with_balloon_and_monitor_queries, .timeout = 120)
{
	static struct fixture fx;
	static struct churn c;
	pthread_t tb, tq;

	setup(&fx);
	fill(&fx, 0, GUEST_FRAMES, 10);
	memset(&c, 0, sizeof(c));
	c.fx = &fx;
	cr_assert_eq(pthread_create(&tq, NULL, monitor_queries, &c), 0);
	cr_assert_eq(pthread_create(&tb, NULL, balloon_churn, &c), 0);
	unsigned runs = 0;
	struct guest_compact_stats gs;
	do {
		struct guest_compact_result res;
		/* Full runs and budgeted ones, as x-compact and the proactive
		 * thread make them. */
		uint64_t budget = runs % 2 ? 2000000 : MM_COMPACT_NO_BUDGET;
		cr_assert_eq(guest_mem_compact(fx.gm, MM_COMPACT_FULL, budget, NULL, &res), 0);
		cr_assert_eq(res.hash_mismatches, 0);
		runs++;
	} while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) || runs < 2);
	pthread_join(tb, NULL);
	pthread_join(tq, NULL);
	guest_mem_compact_stats(fx.gm, &gs);
	cr_log_info("%u runs (%lu moved, %lu stale, %lu promoted) beside %lu balloon batches and "
		    "%lu queries (%lu I1 checks busy)", runs, (unsigned long)gs.moved,
		    (unsigned long)gs.stale, (unsigned long)gs.promoted_ranges,
		    (unsigned long)c.batches, (unsigned long)c.queries, (unsigned long)c.busy);
	cr_assert_gt(gs.moved + gs.promoted_ranges, 0, "compaction did something meanwhile");

	static bool ballooned[GUEST_FRAMES];
	for (uint64_t g = 0; g < GUEST_FRAMES; g++) {
		ballooned[g] = c.fate[g] == PAGE_BALLOONED;
		if (c.fate[g] != PAGE_DEFLATED)
			continue;
		const uint64_t *p = (const uint64_t *)(fx.hva + (g << 12));
		for (unsigned i = 0; i < WORDS; i++)
			cr_assert_eq(p[i], 0, "deflated gfn %#lx reads zeros", (unsigned long)g);
		fill(&fx, g, g + 1, 10);   /* so check_all can look at it as kept */
	}
	check_all(&fx, ballooned, 10);
	teardown(&fx);
}
