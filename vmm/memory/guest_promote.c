/*
 * Promotion after compaction (DESIGN.md memory model 7): a 2 MiB-aligned
 * GFN range of zone Normal whose 512 pages sit on one 2 MiB-aligned run of
 * frames, in order, gets one 2 MiB p2m leaf instead of 512 4 KiB ones and
 * one MAP_FIXED of 2 MiB over its part of the view. The remap is the
 * invalidation: KVM's MMU notifiers drop the 4 KiB second-stage entries,
 * and the next fault can map the range large (on a THP zone Normal the
 * mapping asks for 2 MiB host pages). Its frames are joined into one
 * order-9 guest block, which the scanners leave where it is.
 *
 * The scanners place pages where their free scanner finds room, which
 * rarely lines a range up. Steering does: a range that is not one run is
 * copied whole into a free aligned 2 MiB block (each page's XXH3 checked),
 * mapped with one mmap, and its old frames go back to the buddy, where they
 * merge with what the scanners freed.
 *
 * Every range changes under guest_mem's lock; a failure (mmap, budget,
 * hash) puts the range's view back as it was, before the p2m is touched.
 */
#include <errno.h>
#include <time.h>
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem_internal.h"
#include "mm/kmalloc.h"
#include "mm/mapbudget.h"

/* What the p2m says about one 2 MiB range. */
struct gp_range {
	uint64_t g;                       /* first GFN, 2 MiB-aligned */
	uint64_t hfn[GM_HUGE_FRAMES];     /* frame of each page */
	unsigned present;                 /* plain 4 KiB zone Normal leaves */
	bool large;                       /* one 2 MiB leaf already */
};

static void gp_leaf(uint64_t leaf_gfn, const struct p2m_leaf *l, void *arg)
{
	struct gp_range *pr = arg;

	if (l->order == P2M_ORDER_2M) {
		pr->large = true;
		return;
	}
	/* Punched or ballooned pages keep their own leaves: a 2 MiB leaf
	 * has one state for all 512, and would give the host memory back to
	 * pages that gave it up. */
	if (l->zone != ZONE_NORMAL || l->state)
		return;
	pr->hfn[leaf_gfn - pr->g] = l->hfn;
	pr->present++;
}

static bool gp_in_order(const struct gp_range *pr)
{
	if (pr->hfn[0] & (GM_HUGE_FRAMES - 1))
		return false;
	for (unsigned i = 1; i < GM_HUGE_FRAMES; i++)
		if (pr->hfn[i] != pr->hfn[0] + i)
			return false;
	return true;
}

static uint8_t *gp_view(const struct gm_region *r, uint64_t g)
{
	return r->view + ((g - (r->gpa >> PAGE_SHIFT)) << PAGE_SHIFT);
}

/* Puts the range's old frames back into its view, one mmap per run of
 * consecutive frames (as they were mapped). */
static void gp_view_restore(const struct gm_region *r, struct mm_zone *z, const struct gp_range *pr)
{
	unsigned i = 0;

	while (i < GM_HUGE_FRAMES) {
		unsigned n = 1;
		while (i + n < GM_HUGE_FRAMES && pr->hfn[i + n] == pr->hfn[i] + n)
			n++;
		gm_view_restore(gp_view(r, pr->g + i), (size_t)n << PAGE_SHIFT, z,
				(uint32_t)(pr->hfn[i] - z->base_hfn));
		i += n;
	}
}

/*
 * Maps frames from idx of z over the whole range and points the p2m at them
 * with one 2 MiB leaf, keeping the mapping count (I4) exact: the range's
 * inner boundaries go, its edges may change. 0, or -errno with the view
 * put back and nothing else changed.
 */
static int gp_map_large(struct guest_mem *gm, struct gm_region *r, struct mm_zone *z,
			const struct gp_range *pr, uint32_t idx)
{
	uint64_t hfn = z->base_hfn + idx;
	struct gm_backing first = { .zone = z->id, .hfn = hfn };
	struct gm_backing last = { .zone = z->id, .hfn = hfn + GM_HUGE_FRAMES - 1 };
	int64_t delta = gm_maps_delta(gm, r, pr->g, GM_HUGE_FRAMES, &first, &last, gm_backing_now,
				      NULL) -
			(int64_t)gm_maps_inside(gm, pr->g, GM_HUGE_FRAMES, gm_backing_now, NULL);
	int rc;

	if (delta > 0 && (rc = mm_maps_charge(MM_MAPS_GUEST, (uint64_t)delta)) != 0)
		return rc;
	rc = gm_view_map(gp_view(r, pr->g), HUGE_PAGE_SIZE, z, idx);
	if (rc) {
		gp_view_restore(r, z, pr);
		if (delta > 0)
			mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)delta);
		return rc;
	}
	/* Replaces 512 present 4 KiB leaves and frees their table page:
	 * nothing to allocate, so it cannot fail. */
	p2m_replace(gm->p2m, pr->g, hfn, P2M_ORDER_2M, GM_LEAF_FLAGS, NULL);
	if (delta < 0)
		mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)-delta);
	r->nr_mappings = (uint64_t)((int64_t)r->nr_mappings + delta);
	/* The guest's next access finds the range mapped (one 2 MiB entry on
	 * a THP zone) instead of faulting each page. */
	gm_populate(gp_view(r, pr->g), HUGE_PAGE_SIZE, true);
	return 0;
}

/* Makes each guest block inside [idx, idx + 512) order-0 frames, so the
 * run can be joined into one block. Blocks are naturally aligned, so none
 * reaches outside an aligned run. */
static void gp_split_blocks(struct mm_zone *z, uint32_t idx, uint64_t g)
{
	for (uint32_t i = 0; i < GM_HUGE_FRAMES;) {
		unsigned order = z->buddy.frames[idx + i].order;
		if (order)
			gm_block_split(z, idx + i, g + i);
		i += 1U << order;
	}
}

int gm_range_join(struct mm_zone *z, uint32_t idx, uint64_t g)
{
	gp_split_blocks(z, idx, g);
	return buddy_join_allocated(&z->buddy, idx, PAGEBLOCK_ORDER) < 0 ? -EINVAL : 0;
}

/* The range already sits on an aligned run in order. */
static int gp_promote_in_place(struct guest_mem *gm, struct gm_region *r, struct mm_zone *z,
			       const struct gp_range *pr)
{
	uint32_t idx = (uint32_t)(pr->hfn[0] - z->base_hfn);
	int rc = gp_map_large(gm, r, z, pr, idx);

	if (rc)
		return rc;
	/* A zone whose blocks stop below 2 MiB cannot hold the run as one:
	 * it stays 512 frames under one leaf, which the teardown frees alike. */
	gm_range_join(z, idx, pr->g);
	return 0;
}

/* The range moves whole into a free aligned block: -ENOMEM when the buddy
 * has none, -EIO on a hash mismatch, or a mapping failure. */
static int gp_steer(struct guest_mem *gm, struct gm_region *r, struct mm_zone *z,
		    const struct gp_range *pr, struct guest_compact_result *res)
{
	if (z->buddy.max_order < PAGEBLOCK_ORDER)
		return -ENOMEM;
	long nidx = mm_frames_alloc(z, PAGEBLOCK_ORDER, MT_MOVABLE, FRAME_GUEST, false);
	if (nidx < 0)
		return -ENOMEM;
	z->buddy.frames[nidx].owner = (uint32_t)pr->g;
	/* From the guest's view of the range, which maps its frames (I2), by
	 * the kernel (guest_copy.c says why). */
	uint64_t done;
	int rc = gm_copy_to_frames(gm, z, (uint32_t)nidx, gp_view(r, pr->g), GM_HUGE_FRAMES, &done);
	res->bytes_copied += HUGE_PAGE_SIZE;
	if (rc == -EIO)
		res->hash_mismatches++;
	if (!rc)
		rc = gp_map_large(gm, r, z, pr, (uint32_t)nidx);
	if (rc) {
		gm_frames_free(z, (uint32_t)nidx, PAGEBLOCK_ORDER);
		return rc;
	}
	/* Unreachable since the mmap (I2): the old frames go empty
	 * (gm_frames_drop_backing, a punch per run) straight to the free lists,
	 * not a thread's cache, to merge with their neighbours. */
	for (unsigned i = 0; i < GM_HUGE_FRAMES;) {
		unsigned n = 1;
		while (i + n < GM_HUGE_FRAMES && pr->hfn[i + n] == pr->hfn[i] + n)
			n++;
		gm_frames_drop_backing(z, (uint32_t)(pr->hfn[i] - z->base_hfn), n);
		for (unsigned k = i; k < i + n; k++) {
			uint32_t idx = (uint32_t)(pr->hfn[k] - z->base_hfn);
			gm_block_split(z, idx, pr->g + k);
			buddy_free(&z->buddy, idx, 0);
		}
		i += n;
	}
	return 0;
}

static uint64_t gp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What a steer is taken to cost until one ran: about what compact-bench
 * measures for one (2 MiB copied, hashed and remapped at 2 GiB/s), so a
 * budget well under it is not overrun by a first steer, and one above it
 * (the proactive thread's) lets steers run and be measured. */
#define GP_STEER_GUESS_NS 1000000ull

/*
 * Whether a steer still fits before deadline_ns: a steer is one step that
 * cannot be cut short (the vCPUs stay paused through it), so a caller's
 * budget, which bounds its pause, must hold one. Judged by the last steers'
 * time, kept as a moving average under the lock.
 */
bool gm_steer_fits(const struct guest_mem *gm, uint64_t deadline_ns)
{
	uint64_t cost = gm->steer_ns ? gm->steer_ns : GP_STEER_GUESS_NS;

	return deadline_ns == UINT64_MAX || gp_now_ns() + cost < deadline_ns;
}

static void gp_steer_took(struct guest_mem *gm, uint64_t ns)
{
	gm->steer_ns = gm->steer_ns ? (gm->steer_ns * 7 + ns) / 8 : ns;
}

/* One range under the lock. *steer goes false once the buddy has no free
 * aligned block left: the rest of the pass only promotes in place. A steer
 * that does not fit in the time left is not started. */
static void gp_range_one(struct guest_mem *gm, struct gm_region *r, struct mm_zone *z,
			 struct gp_range *pr, bool *steer, uint64_t deadline_ns,
			 struct guest_compact_result *res)
{
	pr->present = 0;
	pr->large = false;
	p2m_for_each_leaf(gm->p2m, pr->g, GM_HUGE_FRAMES, gp_leaf, pr);
	if (pr->large || pr->present != GM_HUGE_FRAMES)
		return;
	if (gp_in_order(pr)) {
		if (gp_promote_in_place(gm, r, z, pr) == 0)
			res->promoted_ranges++;
		else
			res->failed++;
		return;
	}
	if (!*steer || !gm_steer_fits(gm, deadline_ns))
		return;
	uint64_t t0 = gp_now_ns();
	int rc = gp_steer(gm, r, z, pr, res);
	if (rc != -ENOMEM)
		gp_steer_took(gm, gp_now_ns() - t0);
	if (rc == -ENOMEM) {
		*steer = false;
	} else if (rc) {
		res->failed++;
	} else {
		res->promoted_ranges++;
		res->steered_ranges++;
	}
}

/* The ranges with a first GFN in [from, to), in order: false when the
 * deadline or the stop flag ended the walk, with *at the range it did not
 * look at. */
static bool gp_walk(struct guest_mem *gm, struct mm_zone *z, struct gp_range *pr, bool *steer,
		    uint64_t from, uint64_t to, uint64_t deadline_ns, const int *stop,
		    struct guest_compact_result *res, uint64_t *at)
{
	for (unsigned ri = 0; ri < gm->nr_regions; ri++) {
		struct gm_region *r = &gm->region[ri];
		uint64_t first = r->gpa >> PAGE_SHIFT, end = first + (r->size >> PAGE_SHIFT);
		if (!r->zone_bytes[ZONE_NORMAL])
			continue;
		uint64_t g = (first + GM_HUGE_FRAMES - 1) & ~(uint64_t)(GM_HUGE_FRAMES - 1);
		for (g = g < from ? from : g; g + GM_HUGE_FRAMES <= end && g < to; g += GM_HUGE_FRAMES) {
			if ((stop && __atomic_load_n(stop, __ATOMIC_RELAXED)) ||
			    gp_now_ns() >= deadline_ns) {
				*at = g;
				return false;
			}
			pr->g = g;
			pthread_mutex_lock(&gm->lock);
			gp_range_one(gm, r, z, pr, steer, deadline_ns, res);
			pthread_mutex_unlock(&gm->lock);
		}
	}
	return true;
}

void gm_promote_ranges(struct guest_mem *gm, bool steer, uint64_t deadline_ns, const int *stop,
		       struct guest_compact_result *res)
{
	struct mm_zone *z = mm_zone_get(gm->arena, ZONE_NORMAL);
	struct gp_range *pr = kvmalloc(gm->arena, sizeof(*pr));

	if (!z || !pr) {
		kvfree(gm->arena, pr);
		return;
	}
	/* From where the last pass ran out of time, then from the start: a
	 * caller with small budgets walks every range in turn instead of the
	 * first ones each time. */
	pthread_mutex_lock(&gm->lock);
	uint64_t from = gm->promote_at, at = 0;
	pthread_mutex_unlock(&gm->lock);
	if (gp_walk(gm, z, pr, &steer, from, UINT64_MAX, deadline_ns, stop, res, &at) &&
	    gp_walk(gm, z, pr, &steer, 0, from, deadline_ns, stop, res, &at))
		at = 0;
	pthread_mutex_lock(&gm->lock);
	gm->promote_at = at;
	pthread_mutex_unlock(&gm->lock);
	kvfree(gm->arena, pr);
}
