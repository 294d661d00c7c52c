/*
 * One compaction of a guest's memory (guest_compact.h): mm_compact_zone over
 * zone Normal with this guest's mover and splitter, then promotion
 * (guest_promote.c), and the per-guest counters.
 *
 * The mover follows the path of guest_mem_remap_page (guest_inval.c) under
 * guest_mem's lock, the lock the balloon and every remap take, so a GFN's
 * frame cannot change under it: check the GFN still maps src, copy and
 * verify, charge the mapping budget (I4), map dst over the GFN's page of
 * the view with MAP_FIXED (KVM's MMU notifiers zap the second stage), then
 * point the p2m leaf at dst. Every step that can fail comes before the p2m
 * changes, and each puts back what it did, so a failed move leaves the
 * guest on src with its view and p2m as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem_internal.h"
#include "mm/mapbudget.h"

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

/* Moves gfn from frame src to dst of z (both zone-relative), with the lock
 * held; the leaf is gfn's 4 KiB leaf naming src. */
static int gc_move_locked(struct gc_run *run, struct mm_zone *z, uint64_t gfn, uint32_t src,
			  uint32_t dst, const struct p2m_leaf *leaf)
{
	struct guest_mem *gm = run->gm;
	struct gm_region *r = gm_region_of(gm, gfn);
	uint8_t *at = r->view + ((gfn - (r->gpa >> PAGE_SHIFT)) << PAGE_SHIFT);
	uint64_t new_hfn = z->base_hfn + dst;
	int rc;

	if (leaf->state & P2M_ST_PUNCHED) {
		/* Nothing behind src to copy: the guest reads zeros there. dst
		 * is punched too, so it reads zeros and costs the host nothing
		 * until the guest writes, as src did. */
		if (fallocate(z->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)dst << PAGE_SHIFT, PAGE_SIZE) < 0)
			return -errno;
	} else {
		rc = gm_copy_pages_checked(mm_frame_ptr(z, dst), mm_frame_ptr(z, src), 1);
		run->res->bytes_copied += PAGE_SIZE;
		if (rc) {
			run->res->hash_mismatches++;
			return rc;
		}
	}
	struct gm_backing nb = { .zone = z->id, .hfn = new_hfn };
	int64_t delta = gm_maps_delta(gm, r, gfn, 1, &nb, &nb, gm_backing_now, NULL);
	if (delta > 0 && (rc = mm_maps_charge(MM_MAPS_GUEST, (uint64_t)delta)) != 0)
		return rc;
	rc = gm_view_map(at, PAGE_SIZE, z, dst);
	if (rc) {
		/* The guest's page is still src: put it back in the view. */
		gm_view_restore(at, PAGE_SIZE, z, src);
		if (delta > 0)
			mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)delta);
		return rc;
	}
	/* A 4 KiB leaf exists (split before), so this cannot fail. */
	p2m_replace(gm->p2m, gfn, new_hfn, P2M_ORDER_4K, GM_LEAF_FLAGS | leaf->state, NULL);
	if (delta < 0)
		mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)-delta);
	r->nr_mappings = (uint64_t)((int64_t)r->nr_mappings + delta);
	return 0;
}

/* The mover of mm/compaction.h's protocol. */
static int gc_move(void *ctx, struct mm_zone *z, uint32_t src, uint32_t dst)
{
	struct gc_run *run = ctx;
	struct guest_mem *gm = run->gm;
	uint64_t gfn = __atomic_load_n(&z->buddy.frames[dst].owner, __ATOMIC_RELAXED);
	struct p2m_leaf leaf;
	int rc;

	pthread_mutex_lock(&gm->lock);
	/* Another guest's frame, or one this guest freed or ballooned since
	 * the scanner looked: not ours to move. */
	if (!gm_region_of(gm, gfn) || p2m_lookup(gm->p2m, gfn, &leaf) ||
	    leaf.hfn != z->base_hfn + src || (leaf.state & P2M_ST_BALLOONED)) {
		pthread_mutex_unlock(&gm->lock);
		return -ESTALE;
	}
	if (leaf.order == P2M_ORDER_2M) {
		/* Single frames under a 2 MiB leaf: a block the balloon split
		 * for a neighbour range. Moving one would break a large mapping
		 * up; joined again, the scanners pass the range by. */
		uint64_t g = gfn & ~(uint64_t)(GM_HUGE_FRAMES - 1);
		uint32_t idx = (uint32_t)(leaf.hfn - z->base_hfn) - (uint32_t)(gfn - g);
		rc = gm_range_join(z, idx, g);
		pthread_mutex_unlock(&gm->lock);
		return rc ? rc : -ESTALE;
	}
	rc = gc_move_locked(run, z, gfn, src, dst, &leaf);
	pthread_mutex_unlock(&gm->lock);
	return rc;
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
		.move = gc_move, .split = gc_split, .ctx = &run,
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
	 * and free more aligned blocks for the next round. */
	if (full && budget_ns)
		gm_promote_ranges(gm, true, deadline, stop, out);
	for (unsigned round = 0; round < GC_MAX_ROUNDS; round++) {
		uint64_t now = gc_now_ns();
		uint64_t left = deadline == UINT64_MAX ? MM_COMPACT_NO_BUDGET
			      : deadline > now ? deadline - now : 0;
		uint64_t moved = out->moved, steered = out->steered_ranges;
		int rc = gc_scan(gm, z, order, round ? left : budget_ns, stop, out);
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
