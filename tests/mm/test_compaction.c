/*
 * Compaction (mm/compaction.h) and the fragmentation indexes (mm/extfrag.h)
 * on zones fragmented on purpose: every frame a "guest" frame with a fake
 * GFN and a page of content derived from it, a fake p2m GFN -> frame, then
 * every other GFN freed. The test mover copies a page and repoints the fake
 * p2m, as the VMM's will (without hashing or remapping).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fixture.h"
#include "mm/compaction.h"
#include "mm/extfrag.h"
#include "mm/slab.h"

struct fake_guest {
	struct mm_arena *a;
	struct mm_zone *z;
	uint32_t nr_gfns;
	uint32_t *p2m;              /* GFN -> frame, FRAME_NONE when not backed */
	pthread_mutex_t lock;
	unsigned calls, fail_at;    /* fail_at: the call that fails (1-based), 0 never */
	uint32_t failed_src;
	uint32_t forbidden[64];     /* frames the mover must never be given */
	unsigned nr_forbidden;
	int bad;                    /* the mover saw something wrong */
	unsigned batches, batch_max; /* batch mover calls, the largest batch */
	unsigned followers;         /* batch moves whose GFN and dst follow the previous one's */
};

static uint64_t pattern(uint32_t gfn, unsigned word)
{
	return ((uint64_t)gfn + 1) * 0x9e3779b97f4a7c15ull ^ word;
}

static void fill(struct mm_zone *z, uint32_t idx, uint32_t gfn)
{
	uint64_t *p = mm_frame_ptr(z, idx);
	for (unsigned w = 0; w < PAGE_SIZE / 8; w++)
		p[w] = pattern(gfn, w);
}

static bool intact(struct mm_zone *z, uint32_t idx, uint32_t gfn)
{
	const uint64_t *p = mm_frame_ptr(z, idx);
	for (unsigned w = 0; w < PAGE_SIZE / 8; w++)
		if (p[w] != pattern(gfn, w))
			return false;
	return true;
}

static int test_move(void *ctx, struct mm_zone *z, uint32_t src, uint32_t dst)
{
	struct fake_guest *g = ctx;
	struct frame *fs = &z->buddy.frames[src], *fd = &z->buddy.frames[dst];
	uint32_t gfn = fd->owner;
	int rc = 0;

	pthread_mutex_lock(&g->lock);
	g->calls++;
	if (frame_state_get(fd) != FRAME_GUEST || fd->order != 0 || dst <= src)
		g->bad++;
	for (unsigned i = 0; i < g->nr_forbidden; i++)
		if (src == g->forbidden[i])
			g->bad++;
	if (gfn >= g->nr_gfns || g->p2m[gfn] != src) {
		rc = -ESTALE;
	} else if (frame_state_get(fs) != FRAME_GUEST || fs->owner != gfn) {
		g->bad++;
		rc = -EIO;
	} else if (g->fail_at && g->calls == g->fail_at) {
		g->failed_src = src;
		rc = -EIO;
	} else {
		memcpy(mm_frame_ptr(z, dst), mm_frame_ptr(z, src), PAGE_SIZE);
		/* Whatever reads the old frame from now on reads garbage. */
		memset(mm_frame_ptr(z, src), 0xdd, PAGE_SIZE);
		g->p2m[gfn] = dst;
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

/* The batch form: the same checks and moves per entry, and what the batch
 * looks like. */
static void test_move_batch(void *ctx, struct mm_zone *z, const uint32_t *src, const uint32_t *dst,
			    unsigned n, int *rc)
{
	struct fake_guest *g = ctx;

	pthread_mutex_lock(&g->lock);
	g->batches++;
	g->batch_max = n > g->batch_max ? n : g->batch_max;
	if (n == 0 || n > MM_COMPACT_BATCH)
		g->bad++;
	for (unsigned i = 1; i < n; i++) {
		if (src[i] <= src[i - 1])
			g->bad++;   /* one pageblock, in frame order */
		if (dst[i] == dst[i - 1] + 1 &&
		    z->buddy.frames[dst[i]].owner == z->buddy.frames[dst[i - 1]].owner + 1)
			g->followers++;
	}
	pthread_mutex_unlock(&g->lock);
	for (unsigned i = 0; i < n; i++)
		rc[i] = test_move(ctx, z, src[i], dst[i]);
}

/* An empty zone of mib MiB, every frame then taken as a guest frame. */
static struct fake_guest *guest_fill(size_t mib)
{
	struct fake_guest *g = calloc(1, sizeof(*g));
	cr_assert_not_null(g);
	g->a = fixture_arena(mib);
	g->z = mm_zone_get(g->a, ZONE_NORMAL);
	slab_shrink_all(g->a);
	mm_pcp_drain(g->z);
	cr_assert(buddy_fully_coalesced(&g->z->buddy), "precondition: an empty zone");
	pthread_mutex_init(&g->lock, NULL);
	g->p2m = malloc(g->z->buddy.nr_frames * sizeof(uint32_t));
	cr_assert_not_null(g->p2m);
	return g;
}

static void guest_take_all(struct fake_guest *g)
{
	long idx;
	while ((idx = buddy_alloc(&g->z->buddy, 0, MT_MOVABLE, FRAME_GUEST, false)) >= 0) {
		uint32_t gfn = g->nr_gfns++;
		g->z->buddy.frames[idx].owner = gfn;
		g->p2m[gfn] = (uint32_t)idx;
		fill(g->z, (uint32_t)idx, gfn);
	}
}

/* Frees every GFN for which keep() says no. */
static void guest_free_some(struct fake_guest *g, bool (*keep)(uint32_t gfn))
{
	for (uint32_t gfn = 0; gfn < g->nr_gfns; gfn++) {
		if (g->p2m[gfn] == FRAME_NONE || keep(gfn))
			continue;
		cr_assert_eq(buddy_free(&g->z->buddy, g->p2m[gfn], 0), 0);
		g->p2m[gfn] = FRAME_NONE;
	}
}

static bool keep_even(uint32_t gfn)
{
	return !(gfn & 1);
}

static bool keep_none(uint32_t gfn)
{
	(void)gfn;
	return false;
}

/* Every backed GFN: its frame is a guest frame it owns, with its content;
 * I1 holds. While another thread allocates, the I1 check may answer
 * "busy" (busy_ok), never "mismatch". */
static void guest_verify_i1(struct fake_guest *g, bool busy_ok)
{
	cr_assert_eq(g->bad, 0, "the mover was given %d frames it must not move", g->bad);
	for (uint32_t gfn = 0; gfn < g->nr_gfns; gfn++) {
		uint32_t idx = g->p2m[gfn];
		if (idx == FRAME_NONE)
			continue;
		const struct frame *f = &g->z->buddy.frames[idx];
		cr_assert_eq(frame_state_get(f), FRAME_GUEST, "gfn %u: frame %u not a guest frame", gfn, idx);
		cr_assert_eq(f->owner, gfn, "gfn %u: frame %u owned by %u", gfn, idx, f->owner);
		cr_assert(intact(g->z, idx, gfn), "gfn %u: content lost at frame %u", gfn, idx);
	}
	if (!busy_ok) {
		fixture_check_i1(g->a);
		return;
	}
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	int rc = mm_arena_check_frames(g->a, counts);
	cr_assert(rc == 0 || rc == -EBUSY, "I1: mismatch while compaction and allocations ran");
}

static void guest_verify(struct fake_guest *g)
{
	guest_verify_i1(g, false);
}

static void guest_finish(struct fake_guest *g)
{
	guest_free_some(g, keep_none);
	fixture_finish(g->a);
	pthread_mutex_destroy(&g->lock);
	free(g->p2m);
	free(g);
}

static struct mm_compact_request request(struct fake_guest *g, int order)
{
	return (struct mm_compact_request){
		.order = order,
		.budget_ns = MM_COMPACT_NO_BUDGET,
		.move = test_move,
		.ctx = g,
	};
}

static uint64_t free_blocks_from(struct mm_zone *z, unsigned order)
{
	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1], n = 0;
	buddy_free_blocks(&z->buddy, per_order, NULL);
	for (unsigned o = order; o <= z->buddy.max_order; o++)
		n += per_order[o] << (o - order);
	return n;
}

/* 16 MiB: 8 pageblocks each half guest, half free. A full run moves the
 * bottom four's guest frames into the top four's holes. */
Test(compaction, full_gathers_free_frames_at_the_bottom)
{
	struct fake_guest *g = guest_fill(16);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	cr_assert_eq(g->nr_gfns, z->buddy.nr_frames);
	guest_free_some(g, keep_even);
	cr_assert_eq(free_blocks_from(z, PAGEBLOCK_ORDER), 0, "precondition: fragmented");
	cr_assert_gt(mm_zone_extfrag_index(z, PAGEBLOCK_ORDER), 0);

	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	struct mm_compact_result res;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.stop, MM_COMPACT_SCANNERS_MET, "stopped: %s", mm_compact_stop_name(res.stop));
	cr_assert_eq(res.moved, z->buddy.nr_frames / 4);
	cr_assert_eq(res.failed, 0);
	guest_verify(g);

	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1];
	buddy_free_blocks(&z->buddy, per_order, NULL);
	cr_assert_eq(per_order[z->buddy.max_order], z->buddy.nr_frames / 2 >> z->buddy.max_order,
		     "every free frame in max-order blocks: %lu of them",
		     (unsigned long)per_order[z->buddy.max_order]);
	cr_assert_eq(z->buddy.nr_free_pages, z->buddy.nr_frames / 2);
	for (uint32_t gfn = 0; gfn < g->nr_gfns; gfn++)
		if (g->p2m[gfn] != FRAME_NONE)
			cr_assert_geq(g->p2m[gfn], z->buddy.nr_frames / 2, "gfn %u left below", gfn);
	cr_assert_eq(mm_zone_extfrag_index(z, PAGEBLOCK_ORDER), -1000);
	guest_finish(g);
}

/* The first frame unmovable (its pageblocks turn unmovable), some guest
 * frames ballooned: the mover never sees either, and they stay put. */
Test(compaction, unmovable_and_ballooned_frames_stay)
{
	struct fake_guest *g = guest_fill(16);
	struct mm_zone *z = g->z;
	long vmm = buddy_alloc(&z->buddy, 0, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_geq(vmm, 0);
	z->buddy.frames[vmm].owner = 0xabcd;
	memset(mm_frame_ptr(z, (uint32_t)vmm), 0x5a, PAGE_SIZE);
	g->forbidden[g->nr_forbidden++] = (uint32_t)vmm;
	guest_take_all(g);
	guest_free_some(g, keep_even);

	uint32_t ballooned[32], nr_ballooned = 0;
	for (uint32_t gfn = 0; gfn < g->nr_gfns && nr_ballooned < 32; gfn += 2) {
		uint32_t idx = g->p2m[gfn];
		if (gfn % 50 || buddy_block_head(&z->buddy, idx) < 0 ||
		    z->buddy.pageblock_mt[idx >> PAGEBLOCK_ORDER] != MT_MOVABLE)
			continue;
		cr_assert_eq(buddy_set_state(&z->buddy, idx, FRAME_BALLOONED), 0);
		ballooned[nr_ballooned++] = idx;
		g->forbidden[g->nr_forbidden++] = idx;
		g->p2m[gfn] = FRAME_NONE;  /* no longer the fake guest's to verify */
	}
	cr_assert_gt(nr_ballooned, 4);

	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	struct mm_compact_result res;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_gt(res.moved, 0);
	guest_verify(g);
	const struct frame *vf = &z->buddy.frames[vmm];
	cr_assert_eq(frame_state_get(vf), FRAME_VMM);
	cr_assert_eq(vf->owner, 0xabcd);
	const uint8_t *vp = mm_frame_ptr(z, (uint32_t)vmm);
	for (size_t i = 0; i < PAGE_SIZE; i++)
		cr_assert_eq(vp[i], 0x5a, "unmovable frame touched at byte %zu", i);
	for (uint32_t i = 0; i < nr_ballooned; i++) {
		cr_assert_eq(frame_state_get(&z->buddy.frames[ballooned[i]]), FRAME_BALLOONED);
		cr_assert_eq(buddy_free(&z->buddy, ballooned[i], 0), 0);
	}
	cr_assert_eq(buddy_free(&z->buddy, (uint32_t)vmm, 0), 0);
	guest_finish(g);
}

/* The 3rd move fails: the GFN keeps its frame and content, the failure is
 * counted and its pageblock skipped until the next full run clears it. */
Test(compaction, failed_move_rolls_back_and_skips_the_pageblock)
{
	struct fake_guest *g = guest_fill(16);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	guest_free_some(g, keep_even);
	/* Frames 0..7 would be an order-3 block after four moves: the third
	 * fails, so the run goes on to frames 8..15. */
	g->fail_at = 3;

	struct mm_compact_request req = request(g, 3);
	struct mm_compact_result res;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.failed, 1);
	uint32_t src = g->failed_src, pb = src >> PAGEBLOCK_ORDER;
	cr_assert(mm_compact_skipped(z, pb));
	const struct frame *f = &z->buddy.frames[src];
	cr_assert_eq(frame_state_get(f), FRAME_GUEST);
	uint32_t gfn = f->owner;
	cr_assert_eq(g->p2m[gfn], src, "the failed move's GFN lost its frame");
	cr_assert(intact(z, src, gfn));
	guest_verify(g);

	/* A run for an order passes the skipped pageblock by... */
	struct mm_compact_counters before, after;
	mm_compact_counters(z, &before);
	req.order = PAGEBLOCK_ORDER;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(g->p2m[gfn], src, "a skipped pageblock was compacted");
	cr_assert(mm_compact_skipped(z, pb));
	/* ...a full run clears the hints and moves it. */
	req.order = MM_COMPACT_FULL;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert(!mm_compact_skipped(z, pb));
	cr_assert_neq(g->p2m[gfn], src);
	mm_compact_counters(z, &after);
	cr_assert_eq(after.failed, before.failed);
	cr_assert_eq(before.failed, 1);
	guest_verify(g);
	guest_finish(g);
}

/* An order-9 request stops the moment the first pageblock is empty. */
Test(compaction, target_order_stops_as_soon_as_a_block_is_free)
{
	struct fake_guest *g = guest_fill(16);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	guest_free_some(g, keep_even);

	struct mm_compact_request req = request(g, PAGEBLOCK_ORDER);
	struct mm_compact_result res;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.stop, MM_COMPACT_TARGET_REACHED);
	cr_assert(res.target_reached);
	cr_assert_eq(res.moved, PAGEBLOCK_FRAMES / 2, "moved %lu", (unsigned long)res.moved);
	cr_assert_eq(free_blocks_from(z, PAGEBLOCK_ORDER), 1);
	guest_verify(g);

	/* Already there: nothing to do. */
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.stop, MM_COMPACT_TARGET_REACHED);
	cr_assert_eq(res.moved + res.steps + res.migrate_scanned, 0);
	guest_finish(g);
}

Test(compaction, zero_budget_does_one_step)
{
	struct fake_guest *g = guest_fill(8);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	guest_free_some(g, keep_even);

	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	struct mm_compact_result res;
	req.budget_ns = 0;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.stop, MM_COMPACT_BUDGET);
	cr_assert_eq(res.steps, 1);
	cr_assert_eq(res.moved + res.failed + res.stale, 1);
	guest_verify(g);

	int stop = 1;
	req.budget_ns = MM_COMPACT_NO_BUDGET;
	req.stop = &stop;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.stop, MM_COMPACT_STOPPED);
	cr_assert_eq(res.steps, 1);
	guest_verify(g);
	guest_finish(g);
}

/* Runs with a budget of one step go on where the last stopped: together
 * they walk the zone once, as one full run does, instead of its first
 * pageblocks again each time; once the scanners met, a run starts over. */
Test(compaction, budgeted_runs_resume_where_the_last_stopped)
{
	struct fake_guest *g = guest_fill(16);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	guest_free_some(g, keep_even);

	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	struct mm_compact_result res;
	uint64_t moved = 0, scanned = 0, runs = 0;
	req.budget_ns = 0;
	do {
		cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
		moved += res.moved;
		scanned += res.migrate_scanned;
		cr_assert_lt(++runs, z->buddy.nr_frames, "the runs do not get anywhere");
	} while (res.stop != MM_COMPACT_SCANNERS_MET);
	cr_log_info("%lu runs moved %lu, scanned %lu", (unsigned long)runs, (unsigned long)moved,
		    (unsigned long)scanned);
	/* What the full run of full_gathers_free_frames_at_the_bottom moves. */
	cr_assert_eq(moved, z->buddy.nr_frames / 4);
	/* Each frame looked at once (a pageblock's last may be looked at again
	 * by the run that finds it has nothing more). */
	cr_assert_leq(scanned, z->buddy.nr_frames + z->buddy.nr_pageblocks);
	guest_verify(g);

	/* Met: the next run starts at the zone's ends and finds it compact. */
	req.budget_ns = MM_COMPACT_NO_BUDGET;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.stop, MM_COMPACT_SCANNERS_MET);
	cr_assert_eq(res.moved, 0);
	guest_finish(g);
}

Test(compaction, bad_requests)
{
	struct fake_guest *g = guest_fill(8);
	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	struct mm_compact_result res;
	req.move = NULL;
	cr_assert_eq(mm_compact_zone(g->z, &req, &res), -EINVAL);
	req = request(g, (int)g->z->buddy.max_order + 1);
	cr_assert_eq(mm_compact_zone(g->z, &req, &res), -EINVAL);
	req = request(g, -2);
	cr_assert_eq(mm_compact_zone(g->z, &req, &res), -EINVAL);
	guest_finish(g);
}

/* The zone counters are the sums of the runs' results, and the vmstat
 * text prints them. */
Test(compaction, counters_add_up)
{
	struct fake_guest *g = guest_fill(16);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	guest_free_some(g, keep_even);
	g->fail_at = 3;

	struct mm_compact_result sum = { 0 }, res;
	int orders[] = { 4, PAGEBLOCK_ORDER, MM_COMPACT_FULL, MM_COMPACT_FULL };
	uint64_t reached = 0, ns = 0;
	for (unsigned i = 0; i < 4; i++) {
		struct mm_compact_request req = request(g, orders[i]);
		cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
		sum.moved += res.moved;
		sum.failed += res.failed;
		sum.stale += res.stale;
		sum.migrate_scanned += res.migrate_scanned;
		sum.free_scanned += res.free_scanned;
		sum.isolated_free += res.isolated_free;
		reached += res.target_reached;
		ns += res.ns;
	}
	struct mm_compact_counters c;
	mm_compact_counters(z, &c);
	cr_assert_eq(c.moved, sum.moved);
	cr_assert_eq(c.failed, 1);
	cr_assert_eq(c.failed, sum.failed);
	cr_assert_eq(c.migrate_scanned, sum.migrate_scanned);
	cr_assert_eq(c.free_scanned, sum.free_scanned);
	/* Targets taken from the free lists, and guest frames handed to the
	 * mover (the kernel's compact_isolated counts both). */
	cr_assert_eq(c.isolated, sum.isolated_free + sum.moved + sum.failed + sum.stale);
	cr_assert_eq(c.runs, 4);
	cr_assert_eq(c.stalls, 2);
	cr_assert_eq(c.success, reached);
	cr_assert_eq(reached, 2);
	cr_assert_eq(c.ns, ns);
	cr_assert_eq(sum.moved, z->buddy.nr_frames / 4, "moved %lu", (unsigned long)sum.moved);
	guest_verify(g);

	char want[512], text[512];
	snprintf(want, sizeof(want),
		 "pgmigrate_success %lu\npgmigrate_fail 1\ncompact_migrate_scanned %lu\n"
		 "compact_free_scanned %lu\ncompact_isolated %lu\ncompact_stall 2\n"
		 "compact_fail 0\ncompact_success 2\ncompact_runs 4\ncompact_time_ns %lu\n",
		 (unsigned long)c.moved, (unsigned long)c.migrate_scanned,
		 (unsigned long)c.free_scanned, (unsigned long)c.isolated, (unsigned long)c.ns);
	size_t n = mm_format_compaction(g->a, text, sizeof(text));
	cr_assert_eq(n, strlen(want));
	cr_assert_str_eq(text, want);
	guest_finish(g);
}

/* A guest block of order 2 moves once the splitter makes its frames
 * order-0 ones (each owned by the block's GFN + i, as the VMM's
 * gm_block_split does); without a splitter it stays. */
static int test_split(void *ctx, struct mm_zone *z, uint32_t head)
{
	(void)ctx;
	uint32_t gfn = z->buddy.frames[head].owner;
	unsigned order = z->buddy.frames[head].order;
	if (buddy_split_allocated(&z->buddy, head))
		return -EINVAL;
	for (uint32_t i = 0; i < (1u << order); i++)
		z->buddy.frames[head + i].owner = gfn + i;
	return 0;
}

Test(compaction, small_guest_blocks_move_once_split)
{
	struct fake_guest *g = guest_fill(8);
	struct mm_zone *z = g->z;
	/* Order-2 guest blocks over the whole zone; every other one freed. */
	long idx;
	while ((idx = buddy_alloc(&z->buddy, 2, MT_MOVABLE, FRAME_GUEST, false)) >= 0) {
		uint32_t gfn = g->nr_gfns;
		z->buddy.frames[idx].owner = gfn;
		for (uint32_t i = 0; i < 4; i++) {
			g->p2m[gfn + i] = (uint32_t)idx + i;
			fill(z, (uint32_t)idx + i, gfn + i);
		}
		g->nr_gfns += 4;
	}
	for (uint32_t gfn = 4; gfn < g->nr_gfns; gfn += 8) {
		cr_assert_eq(buddy_free(&z->buddy, g->p2m[gfn], 2), 0);
		for (uint32_t i = 0; i < 4; i++)
			g->p2m[gfn + i] = FRAME_NONE;
	}
	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	struct mm_compact_result res;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.moved, 0, "blocks moved without a splitter");
	req.split = test_split;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(res.moved, z->buddy.nr_frames / 4);
	cr_assert_eq(free_blocks_from(z, z->buddy.max_order), 1);
	/* The blocks the run did not reach are split here, so every GFN's
	 * frame is an order-0 one guest_verify and guest_finish can handle. */
	for (uint32_t gfn = 0; gfn < g->nr_gfns; gfn += 4) {
		uint32_t h = g->p2m[gfn];
		if (h != FRAME_NONE && z->buddy.frames[h].order == 2) {
			cr_assert_eq(buddy_split_allocated(&z->buddy, h), 0);
			for (uint32_t i = 0; i < 4; i++)
				z->buddy.frames[h + i].owner = gfn + i;
		}
	}
	guest_verify(g);
	guest_finish(g);
}

/* ---- fragmentation indexes ---- */

Test(extfrag, indexes_of_a_known_shape)
{
	/* 10 order-0, 5 order-1, 2 order-2 blocks: 28 frames in 17 blocks. */
	uint64_t nr_free[MM_MAX_ORDER_LIMIT + 1] = { 10, 5, 2 };
	static const int extfrag[] = { -1000, -1000, -1000, 736, 839, 0, 0, 0, 0, 0, 940 };
	static const int unusable[] = { 0, 357, 714, 1000 };
	struct mm_contig_info info;

	for (unsigned o = 0; o <= 10; o++) {
		mm_contig_info_of(nr_free, 10, o, &info);
		cr_assert_eq(info.free_pages, 28);
		cr_assert_eq(info.free_blocks_total, 17);
		if (o <= 4 || o == 10)
			cr_assert_eq(mm_extfrag_index_of(&info, o), extfrag[o], "order %u: %d", o,
				     mm_extfrag_index_of(&info, o));
		if (o <= 3)
			cr_assert_eq(mm_unusable_index_of(&info, o), unusable[o], "order %u: %d", o,
				     mm_unusable_index_of(&info, o));
	}
	uint64_t none[MM_MAX_ORDER_LIMIT + 1] = { 0 };
	mm_contig_info_of(none, 10, 3, &info);
	cr_assert_eq(mm_extfrag_index_of(&info, 3), 0);
	cr_assert_eq(mm_unusable_index_of(&info, 3), 1000);
}

/* test_buddyinfo's known state: free blocks 1 1 1 2 2 2 2 2 2 2 0
 * (2039 frames in 17 blocks), checked by hand against mm/vmstat.c. */
Test(extfrag, debugfs_texts_exact)
{
	struct mm_arena *a = fixture_arena(8);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	slab_shrink_all(a);
	mm_pcp_drain(z);
	cr_assert(buddy_fully_coalesced(&z->buddy), "precondition: an empty zone");
	cr_assert_eq(buddy_alloc(&z->buddy, 0, MT_UNMOVABLE, FRAME_VMM, false), 0);
	cr_assert_eq(buddy_alloc(&z->buddy, 3, MT_MOVABLE, FRAME_GUEST, false), 1024);

	static const char extfrag_text[] =
		"Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 "
		"-1.000 -1.000  0.825 \n";
	static const char unusable_text[] =
		"Node 0, zone   Normal 0.000 0.000 0.001 0.003 0.011 0.026 0.058 0.121 0.246 "
		"0.497 1.000 \n";
	char buf[512];
	size_t n = mm_format_extfrag_index(a, buf, sizeof(buf));
	cr_assert_str_eq(buf, extfrag_text);
	cr_assert_eq(n, strlen(extfrag_text));
	n = mm_format_unusable_index(a, buf, sizeof(buf));
	cr_assert_str_eq(buf, unusable_text);
	cr_assert_eq(n, strlen(unusable_text));
	cr_assert_eq(mm_zone_extfrag_index(z, 10), 825);
	cr_assert_eq(mm_zone_unusable_index(z, 9), 497);

	cr_assert_eq(buddy_free(&z->buddy, 0, 0), 0);
	cr_assert_eq(buddy_free(&z->buddy, 1024, 3), 0);
	fixture_finish(a);
}

/* ---- concurrency ---- */

struct churn {
	struct mm_arena *a;
	struct mm_zone *z;
	int stop;
	unsigned long rounds, i1_wrong, i1_checks, lost;
};

/* Allocates and frees frames of orders 0-2, movable guest ones (which the
 * mover finds out of date: no GFN of the fake guest) and unmovable ones,
 * checking I1 as it goes: "busy" is allowed, a mismatch never. */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	struct { long idx; unsigned order; } held[64];
	unsigned nr = 0, seed = 12345;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		seed = seed * 1103515245 + 12345;
		unsigned r = seed >> 16;
		if (nr < 64 && (r & 1)) {
			unsigned order = r % 3;
			bool movable = r & 4;
			long idx = mm_frames_alloc(c->z, order, movable ? MT_MOVABLE : MT_UNMOVABLE,
						   movable ? FRAME_GUEST : FRAME_VMM, false);
			if (idx >= 0) {
				c->z->buddy.frames[idx].owner = 0xfffff000u;
				held[nr].idx = idx;
				held[nr].order = order;
				nr++;
			}
		} else if (nr) {
			unsigned k = r % nr;
			if (mm_frames_free(c->z, (uint32_t)held[k].idx, held[k].order))
				c->lost++;
			held[k] = held[--nr];
		}
		if (++c->rounds % 256 == 0) {
			uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
			int rc = mm_arena_check_frames(c->a, counts);
			c->i1_checks++;
			if (rc && rc != -EBUSY)
				c->i1_wrong++;
		}
	}
	while (nr) {
		nr--;
		if (mm_frames_free(c->z, (uint32_t)held[nr].idx, held[nr].order))
			c->lost++;
	}
	mm_pcp_drain(c->z);
	return NULL;
}

Test(compaction, concurrent_allocations_lose_nothing)
{
	struct fake_guest *g = guest_fill(32);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	guest_free_some(g, keep_even);

	/* Static: an assertion ends the test while the thread still runs. */
	static struct churn c;
	c = (struct churn){ .a = g->a, .z = z };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, churn_thread, &c), 0);
	struct mm_compact_result res;
	uint64_t moved = 0;
	for (int i = 0; i < 12; i++) {
		struct mm_compact_request req = request(g, i % 3 ? MM_COMPACT_FULL : PAGEBLOCK_ORDER);
		cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
		moved += res.moved;
		guest_verify_i1(g, true);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	cr_assert_gt(moved, 0);
	cr_assert_gt(c.i1_checks, 0);
	cr_assert_eq(c.i1_wrong, 0, "I1 said mismatch %lu times while compaction ran", c.i1_wrong);
	cr_assert_eq(c.lost, 0, "%lu frees refused", c.lost);
	guest_verify(g);
	struct mm_compact_result last;
	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	cr_assert_eq(mm_compact_zone(z, &req, &last), 0);
	guest_verify(g);
	guest_finish(g);
}

static int busy_move(void *ctx, struct mm_zone *z, uint32_t src, uint32_t dst)
{
	struct fake_guest *g = ctx;
	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	struct mm_compact_result res;
	/* A second run on the same zone from inside the first: refused. */
	if (mm_compact_zone(z, &req, &res) != -EBUSY)
		g->bad++;
	return test_move(ctx, z, src, dst);
}

Test(compaction, one_run_per_zone)
{
	struct fake_guest *g = guest_fill(8);
	guest_take_all(g);
	guest_free_some(g, keep_even);
	struct mm_compact_request req = request(g, PAGEBLOCK_ORDER);
	struct mm_compact_result res;
	req.move = busy_move;
	cr_assert_eq(mm_compact_zone(g->z, &req, &res), 0);
	cr_assert(res.target_reached);
	guest_verify(g);
	guest_finish(g);
}

static bool keep_even_eights(uint32_t gfn)
{
	return !((gfn >> 3) & 1);
}

/*
 * The batch mover: guest frames in runs of 8 between holes of 8. Batches of
 * a pageblock's sources go to targets in ascending order, so runs of
 * consecutive GFNs land on consecutive frames; the moves of a batch succeed
 * or fail each on its own.
 */
Test(compaction, batches_land_consecutive_gfns_on_consecutive_frames)
{
	struct fake_guest *g = guest_fill(16);
	struct mm_zone *z = g->z;
	guest_take_all(g);
	guest_free_some(g, keep_even_eights);
	g->fail_at = 3;

	struct mm_compact_request req = request(g, MM_COMPACT_FULL);
	req.move = NULL;
	req.move_batch = test_move_batch;
	struct mm_compact_result res;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_eq(g->bad, 0);
	cr_assert_eq(res.failed, 1);
	uint32_t src = g->failed_src;
	const struct frame *f = &z->buddy.frames[src];
	cr_assert_eq(frame_state_get(f), FRAME_GUEST);
	cr_assert_eq(g->p2m[f->owner], src, "the failed move's GFN lost its frame");
	cr_assert(intact(z, src, f->owner));
	guest_verify(g);
	/* The rest of the bottom half moved, in batches, most of each move
	 * following the one before it in GFN and frame. */
	cr_assert_geq(res.moved, z->buddy.nr_frames / 4 - PAGEBLOCK_FRAMES);
	cr_assert_lt(g->batches, res.moved / 4, "%u batches for %lu moves", g->batches,
		     (unsigned long)res.moved);
	cr_assert_eq(g->batch_max, MM_COMPACT_BATCH);
	cr_assert_gt(g->followers, res.moved / 2, "%u of %lu moves follow the previous one",
		     g->followers, (unsigned long)res.moved);
	cr_assert_geq(res.steps, g->batches, "each batch is a step");

	/* A budget of 0 is one move, batch mover or not. */
	req.budget_ns = 0;
	cr_assert_eq(mm_compact_zone(z, &req, &res), 0);
	cr_assert_leq(res.moved + res.failed + res.stale, 1);
	guest_verify(g);
	guest_finish(g);
}
