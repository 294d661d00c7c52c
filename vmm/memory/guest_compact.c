/*
 * One compaction of a guest's memory (guest_compact.h): mm_compact_zone over
 * zone Normal with this guest's mover and splitter, then promotion
 * (guest_promote.c), and the per-guest counters.
 *
 * The mover, which moves a batch of pages and remaps runs of them at once,
 * is guest_compact_move.c's.
 */
#include <errno.h>
#include <time.h>
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem_internal.h"

static uint64_t gc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What one scanner run is doing for this guest: the mover's context. */
struct gc_run {
	struct guest_mem *gm;
	struct guest_compact_result *res;
};

/* The mover of mm/compaction.h's batch protocol (guest_compact_move.c). */
static void gc_move_batch(void *ctx, struct mm_zone *z, const uint32_t *src, const uint32_t *dst,
			  unsigned n, int *rc)
{
	struct gc_run *run = ctx;

	gm_compact_move_batch(run->gm, z, src, dst, n, rc, run->res);
}

/* The splitter: a guest block of order 1..8 of this guest becomes order-0
 * frames, each owned by its GFN, as the balloon splits one. */
static int gc_split(void *ctx, struct mm_zone *z, uint32_t head)
{
	struct gc_run *run = ctx;
	struct guest_mem *gm = run->gm;
	const struct frame *f = &z->buddy.frames[head];
	uint64_t gfn = __atomic_load_n(&f->owner, __ATOMIC_RELAXED);
	struct p2m_leaf leaf;
	int rc = -ESTALE;

	pthread_mutex_lock(&gm->lock);
	if (frame_state_get(f) == FRAME_GUEST && gm_region_of(gm, gfn) &&
	    !p2m_lookup(gm->p2m, gfn, &leaf) && leaf.hfn == z->base_hfn + head) {
		rc = gm_block_split(z, head, gfn);
		if (!rc)
			run->res->split_blocks++;
	}
	pthread_mutex_unlock(&gm->lock);
	return rc;
}

/* One run of the scanners, its result added to res. */
static int gc_scan(struct guest_mem *gm, struct mm_zone *z, int order, uint64_t budget_ns,
		   const int *stop, struct guest_compact_result *res)
{
	struct gc_run run = { .gm = gm, .res = res };
	struct mm_compact_request req = {
		.order = order, .budget_ns = budget_ns, .stop = stop,
		.move_batch = gc_move_batch, .split = gc_split, .ctx = &run,
	};
	struct mm_compact_result r;
	int rc = mm_compact_zone(z, &req, &r);

	if (rc)
		return rc;
	res->moved += r.moved;
	res->failed += r.failed;
	res->stale += r.stale;
	res->migrate_scanned += r.migrate_scanned;
	res->free_scanned += r.free_scanned;
	res->target_reached = r.target_reached;
	res->stop = r.stop;
	res->passes++;
	return 0;
}

static bool gc_should_stop(const int *stop, uint64_t deadline)
{
	return (stop && __atomic_load_n(stop, __ATOMIC_RELAXED)) || gc_now_ns() >= deadline;
}

/* Full compaction keeps going while steering frees frames the scanners can
 * turn into more free aligned blocks; a few rounds get what there is. */
#define GC_MAX_ROUNDS 4

static void gc_count(struct guest_mem *gm, const struct guest_compact_result *res)
{
	struct gm_compact_counters *c = &gm->compact;

#define GC_ADD(field, v) __atomic_fetch_add(&c->field, (v), __ATOMIC_RELAXED)
	GC_ADD(runs, 1);
	GC_ADD(moved, res->moved);
	GC_ADD(failed, res->failed);
	GC_ADD(hash_mismatches, res->hash_mismatches);
	GC_ADD(stale, res->stale);
	GC_ADD(split_blocks, res->split_blocks);
	GC_ADD(promoted_ranges, res->promoted_ranges);
	GC_ADD(steered_ranges, res->steered_ranges);
	GC_ADD(bytes_copied, res->bytes_copied);
	GC_ADD(ns, res->ns);
#undef GC_ADD
}

int guest_mem_compact(struct guest_mem *gm, int order, uint64_t budget_ns, const int *stop,
		      struct guest_compact_result *out)
{
	struct mm_zone *z = gm ? mm_zone_get(gm->arena, ZONE_NORMAL) : NULL;

	if (!z || !out || order < MM_COMPACT_FULL ||
	    (order >= 0 && (unsigned)order > z->buddy.max_order))
		return -EINVAL;
	uint64_t t0 = gc_now_ns();
	uint64_t deadline = budget_ns == MM_COMPACT_NO_BUDGET || budget_ns > UINT64_MAX - t0
				    ? UINT64_MAX : t0 + budget_ns;
	*out = (struct guest_compact_result){ 0 };
	bool full = order == MM_COMPACT_FULL;
	/* A full run steers first: a range copied whole into a free aligned
	 * block is copied once, where the scanners would move its pages and
	 * steering then move them again. The scanners then pack what is left
	 * and free more aligned blocks for the next round. With a budget no
	 * steer fits in, this pass would only look, and leave the scanners
	 * no time: they go first then. */
	pthread_mutex_lock(&gm->lock);
	bool steer_first = full && budget_ns && gm_steer_fits(gm, deadline);
	pthread_mutex_unlock(&gm->lock);
	if (steer_first)
		gm_promote_ranges(gm, true, deadline, stop, out);
	for (unsigned round = 0; round < GC_MAX_ROUNDS; round++) {
		uint64_t now = gc_now_ns();
		uint64_t left = deadline == UINT64_MAX ? MM_COMPACT_NO_BUDGET
			      : deadline > now ? deadline - now : 0;
		uint64_t moved = out->moved, steered = out->steered_ranges;
		/* The time left, what the steering above did counted: a
		 * budget bounds the whole call (the vCPUs' pause). */
		int rc = gc_scan(gm, z, order, budget_ns ? left : 0, stop, out);
		if (rc && !round && !out->promoted_ranges)
			return rc;          /* -EBUSY: another run is on the zone */
		if (rc || gc_should_stop(stop, deadline))
			break;              /* a later -EBUSY keeps what is done */
		gm_promote_ranges(gm, full, deadline, stop, out);
		/* Again only while both sides still make progress. */
		if (!full || out->moved == moved || out->steered_ranges == steered)
			break;
	}
	out->ns = gc_now_ns() - t0;
	gc_count(gm, out);
	return 0;
}

void guest_mem_compact_stats(struct guest_mem *gm, struct guest_compact_stats *out)
{
	const struct gm_compact_counters *c = &gm->compact;

#define GC_GET(field) out->field = __atomic_load_n(&c->field, __ATOMIC_RELAXED)
	GC_GET(runs);
	GC_GET(moved);
	GC_GET(failed);
	GC_GET(hash_mismatches);
	GC_GET(stale);
	GC_GET(split_blocks);
	GC_GET(promoted_ranges);
	GC_GET(steered_ranges);
	GC_GET(bytes_copied);
	GC_GET(ns);
#undef GC_GET
}
