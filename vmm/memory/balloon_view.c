/*
 * What happens to the guest view and the frames behind a ballooned range
 * (DESIGN.md memory model 6): the punch and its measured release, the
 * anonymous placeholder that cuts the view (I2) and the mapping count it
 * costs (I4, PLATFORM.md §9), ballooned-pending frames when the budget is
 * short, and the way back (a pending range zeroed, a returned range
 * refilled from the buddy). The unit is a 4 KiB page in zone Normal and a
 * whole 2 MiB page in zone Huge.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "vmm/memory/balloon_mem_internal.h"
#include "mm/mapbudget.h"

/* What backs one page of the view (I4): a p2m leaf, or a placeholder; own
 * from the balloon's per 2 MiB state. */
static void bm_backing_of(struct guest_mem *gm, uint64_t gfn, void *arg, struct gm_backing *b)
{
	struct bm_state *s = arg;
	struct p2m_leaf l;
	struct bm_pos p;

	b->placeholder = p2m_lookup(gm->p2m, gfn, &l) != 0;
	b->zone = b->placeholder ? ZONE_NORMAL : l.zone;
	b->hfn = b->placeholder ? 0 : l.hfn;
	b->own = !bm_pos_of(gm, gfn, &p) && s->units[p.ri][p.off / GM_HUGE_FRAMES].own_map;
}

static int64_t bm_maps_delta(struct guest_mem *gm, struct bm_state *s, struct gm_region *r,
			     uint64_t g, uint64_t n, const struct gm_backing *first,
			     const struct gm_backing *last)
{
	return gm_maps_delta(gm, r, g, n, first, last, bm_backing_of, s);
}

static uint8_t *bm_view(const struct gm_region *r, uint64_t g)
{
	return r->view + ((g - (r->gpa >> PAGE_SHIFT)) << PAGE_SHIFT);
}

static int64_t bm_blocks(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) ? -1 : (int64_t)sb.st_blocks * 512;
}

/* Punches [idx, idx + n) of z's memfd; adds what the host really freed to
 * *released (when not NULL: deflate's punches only zero). */
int bm_punch(struct mm_zone *z, uint32_t idx, uint64_t n, uint64_t *released)
{
	int64_t before = bm_blocks(z->memfd);

	if (fallocate(z->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)idx << PAGE_SHIFT, (off_t)(n << PAGE_SHIFT)) < 0)
		return -errno;
	int64_t after = bm_blocks(z->memfd);
	if (released && before >= 0 && after >= 0 && after < before)
		*released += (uint64_t)(before - after);
	return 0;
}

/* Removes the leaves of [g, g + n): one 2 MiB leaf when it is one, so
 * nothing is split (a split would need a table page). */
static void bm_p2m_unmap(struct guest_mem *gm, uint64_t g, uint64_t n)
{
	struct p2m_leaf l;

	if (n == GM_HUGE_FRAMES && !p2m_lookup(gm->p2m, g, &l) && l.order == P2M_ORDER_2M) {
		p2m_unmap(gm->p2m, g, P2M_ORDER_2M, NULL);
		return;
	}
	for (uint64_t i = 0; i < n; i++)
		p2m_unmap(gm->p2m, g + i, P2M_ORDER_4K, NULL);
}

/*
 * Takes [g, g + n) (frames idx.. of z, already punched) away from the guest:
 * a placeholder over the view, the leaves out of the p2m, the frames back to
 * the buddy. When the mapping budget is short or the placeholder cannot be
 * mapped, the frames stay ballooned-pending instead. true if released.
 */
static bool bm_release(struct guest_mem *gm, struct bm_state *s, struct gm_region *r,
		       struct mm_zone *z, uint32_t idx, uint64_t g, uint64_t n)
{
	struct gm_backing ph = { .placeholder = true };
	int64_t delta = bm_maps_delta(gm, s, r, g, n, &ph, &ph);
	bool charged = delta <= 0 || !mm_maps_charge(MM_MAPS_GUEST, (uint64_t)delta);

	if (charged && mmap(bm_view(r, g), n << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED) {
		/* Unreachable from the guest since the mmap (I2): the buddy may
		 * hand the frames on. */
		bm_p2m_unmap(gm, g, n);
		for (uint64_t i = 0; i < n; i++)
			gm_frames_free(z, idx + (uint32_t)i, 0);
		if (delta < 0)
			mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)-delta);
		r->nr_mappings = (uint64_t)((int64_t)r->nr_mappings + delta);
		s->st.frames_returned += n;
		bm_unit_of(gm, s, g)->own_map = 0;
		return true;
	}
	if (charged && delta > 0)
		mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)delta);
	/* The frames stay the GFNs' (pending): their mapping stays too. */
	if (charged)
		gm_view_restore(bm_view(r, g), n << PAGE_SHIFT, z, idx);
	for (uint64_t i = 0; i < n; i++)
		buddy_set_state(&z->buddy, idx + (uint32_t)i, FRAME_BALLOONED);
	/* A page the guest had reported free is ballooned now, not reported. */
	if (z->id == ZONE_HUGE)
		p2m_update_state(gm->p2m, g, P2M_ORDER_2M, P2M_ST_PUNCHED | P2M_ST_BALLOONED,
				 P2M_ST_REPORTED);
	else
		for (uint64_t i = 0; i < n; i++)
			p2m_update_state(gm->p2m, g + i, P2M_ORDER_4K,
					 P2M_ST_PUNCHED | P2M_ST_BALLOONED, P2M_ST_REPORTED);
	s->st.pending += n;
	return false;
}

/* The pending range gfn is in (its page, or its whole zone Huge page):
 * false when gfn is not ballooned-pending. */
static bool bm_pending_at(struct guest_mem *gm, uint64_t gfn, struct mm_zone **z, uint32_t *idx,
			  uint64_t *g, uint64_t *n)
{
	struct p2m_leaf l;
	uint32_t i;

	if (p2m_lookup(gm->p2m, gfn, &l) || !(l.state & P2M_ST_BALLOONED))
		return false;
	*z = gm_hfn_zone(gm->arena, l.hfn, &i);
	if (!*z)
		return false;
	*n = (*z)->id == ZONE_HUGE ? GM_HUGE_FRAMES : 1;
	*g = gfn & ~(*n - 1);
	*idx = i - (uint32_t)(gfn - *g);
	return true;
}

/*
 * [g, g + n) has just been cut from the view. A pending range next to it
 * now costs no extra mapping to cut (its placeholder merges with this
 * one), so pending frames leave for the buddy as soon as their neighbours
 * are ballooned too: outwards from the cut, while the ranges are pending.
 */
static void bm_release_neighbours(struct guest_mem *gm, struct bm_state *s, struct gm_region *r,
				  uint64_t g, uint64_t n)
{
	uint64_t first = r->gpa >> PAGE_SHIFT, end = first + (r->size >> PAGE_SHIFT);
	uint64_t lo = g, hi = g + n, pg, pn;
	struct mm_zone *z;
	uint32_t idx;

	while (lo > first && bm_pending_at(gm, lo - 1, &z, &idx, &pg, &pn)) {
		s->st.pending -= pn;
		if (!bm_release(gm, s, r, z, idx, pg, pn))
			break;
		lo = pg;
	}
	while (hi < end && bm_pending_at(gm, hi, &z, &idx, &pg, &pn)) {
		s->st.pending -= pn;
		if (!bm_release(gm, s, r, z, idx, pg, pn))
			break;
		hi = pg + pn;
	}
}

/* Releases [g, g + n) and, if that worked, the pending ranges next to it. */
void bm_release_run(struct guest_mem *gm, struct bm_state *s, struct gm_region *r,
			   struct mm_zone *z, uint32_t idx, uint64_t g, uint64_t n)
{
	if (bm_release(gm, s, r, z, idx, g, n) && s->st.pending)
		bm_release_neighbours(gm, s, r, g, n);
}

/* A pending range becomes the guest's again: zeroed by a fresh punch (the
 * guest may have written to it while ballooned), owned again. */
int bm_unpend(struct guest_mem *gm, struct bm_state *s, struct mm_zone *z, uint32_t idx,
		     uint64_t g, uint64_t n)
{
	int rc = bm_punch(z, idx, n, NULL);

	if (rc)
		return rc;
	for (uint64_t i = 0; i < n; i++)
		buddy_set_state(&z->buddy, idx + (uint32_t)i, FRAME_GUEST);
	p2m_update_state(gm->p2m, g, n == 1 ? P2M_ORDER_4K : P2M_ORDER_2M, 0,
			 P2M_ST_PUNCHED | P2M_ST_BALLOONED);
	s->st.pending -= n;
	return 0;
}

/* A returned range [g, g + 2^order) gets one block of frames from z again,
 * mapped into the view. The new frames are punched, so they read zeros and
 * cost the host nothing until the guest writes. */
int bm_refill(struct guest_mem *gm, struct bm_state *s, struct gm_region *r,
		     struct mm_zone *z, uint64_t g, unsigned order)
{
	uint64_t n = 1ULL << order;
	long nidx = mm_frames_alloc(z, order, MT_MOVABLE, FRAME_GUEST, false);

	if (nidx < 0)
		return -ENOMEM;
	z->buddy.frames[nidx].owner = (uint32_t)g;
	uint64_t hfn = z->base_hfn + (uint64_t)nidx;
	bool own = z->id == ZONE_HUGE;
	struct gm_backing first = { .zone = z->id, .hfn = hfn, .own = own };
	struct gm_backing last = { .zone = z->id, .hfn = hfn + n - 1, .own = own };
	int64_t delta = bm_maps_delta(gm, s, r, g, n, &first, &last);
	int rc = delta > 0 ? mm_maps_charge(MM_MAPS_GUEST, (uint64_t)delta) : 0;
	bool charged = !rc && delta > 0;
	if (!rc)
		rc = bm_punch(z, (uint32_t)nidx, n, NULL);
	if (!rc)
		rc = p2m_map_range(gm->p2m, g, hfn, n, GM_LEAF_FLAGS);
	if (!rc && (rc = gm_view_map(bm_view(r, g), n << PAGE_SHIFT, z, (uint32_t)nidx))) {
		bm_p2m_unmap(gm, g, n);
		/* Still ballooned: the placeholder goes back. */
		gm_view_restore(bm_view(r, g), n << PAGE_SHIFT, NULL, 0);
	}
	if (rc) {
		if (charged)
			mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)delta);
		gm_frames_free(z, (uint32_t)nidx, order);
		return rc;
	}
	if (delta < 0)
		mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)-delta);
	r->nr_mappings = (uint64_t)((int64_t)r->nr_mappings + delta);
	s->st.frames_returned -= n;
	bm_unit_of(gm, s, g)->own_map = own;
	return 0;
}
