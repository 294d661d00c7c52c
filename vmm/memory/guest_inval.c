/*
 * Changing what backs a guest page while the guest runs (DESIGN.md memory
 * model 5): remap to another frame, punch the backing. Both go through the
 * host mapping of the guest view — MAP_FIXED over the view, fallocate on the
 * zone's memfd — so KVM's MMU notifiers zap the second-stage entries and
 * every vCPU sees the change (PLATFORM.md §4). The p2m follows, and the
 * view's mapping count stays exact (I4).
 *
 * The unit is a 4 KiB page in zone Normal and a whole 2 MiB page in zone
 * Huge: a view maps a hugetlb file only in whole huge pages, and a 4 KiB
 * punch inside one frees nothing (PLATFORM.md §8).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include "vmm/memory/guest_mem_internal.h"
#include "mm/mapbudget.h"

/* The page being changed: [g, g + n) backed by frames from idx of z. */
struct gm_unit {
	struct gm_region *r;
	struct mm_zone *z;
	uint64_t g, n;
	unsigned order;
	uint32_t idx;
	struct p2m_leaf leaf;     /* the p2m leaf over g before the change */
};

static int gm_unit_find(struct guest_mem *gm, uint64_t gfn, struct gm_unit *u)
{
	struct p2m_leaf l;

	u->r = gm_region_of(gm, gfn);
	if (!u->r)
		return -EINVAL;
	int rc = p2m_lookup(gm->p2m, gfn, &l);
	if (rc)
		return rc;
	uint32_t idx;
	u->z = gm_hfn_zone(gm->arena, l.hfn, &idx);
	if (!u->z)
		return -EINVAL;
	bool huge = u->z->id == ZONE_HUGE;
	u->order = huge ? P2M_ORDER_2M : P2M_ORDER_4K;
	u->n = 1ULL << u->order;
	/* Zone Huge frames sit in the view in whole, aligned 2 MiB pages. */
	u->g = gfn & ~(u->n - 1);
	u->idx = idx - (uint32_t)(gfn - u->g);
	return p2m_lookup(gm->p2m, u->g, &u->leaf);
}

/* What backs one page of the view: its p2m leaf, or a placeholder. */
void gm_backing_now(struct guest_mem *gm, uint64_t gfn, void *arg, struct gm_backing *b)
{
	struct p2m_leaf l;

	(void)arg;
	b->placeholder = p2m_lookup(gm->p2m, gfn, &l) != 0;
	b->own = false;
	b->zone = b->placeholder ? ZONE_NORMAL : l.zone;
	b->hfn = b->placeholder ? 0 : l.hfn;
}

/* How many host mappings the view gains (or loses, negative) when the unit
 * is backed by frames from new_hfn instead. */
static int64_t gm_unit_maps_delta(struct guest_mem *gm, const struct gm_unit *u, uint64_t new_hfn)
{
	struct gm_backing first = { .zone = u->z->id, .hfn = new_hfn };
	struct gm_backing last = { .zone = u->z->id, .hfn = new_hfn + u->n - 1 };

	return gm_maps_delta(gm, u->r, u->g, u->n, &first, &last, gm_backing_now, NULL);
}

static void *gm_unit_view(const struct gm_unit *u)
{
	return u->r->view + ((u->g - (u->r->gpa >> PAGE_SHIFT)) << PAGE_SHIFT);
}

/* Maps frames from idx of the unit's zone over the unit's part of the view. */
static int gm_unit_map(const struct gm_unit *u, uint32_t idx)
{
	return gm_view_map(gm_unit_view(u), u->n << PAGE_SHIFT, u->z, idx);
}

/* The old frames leave the guest: as one block when they are one, else
 * their block is split and they go one by one. */
static void gm_unit_release(const struct gm_unit *u)
{
	struct frame *f = &u->z->buddy.frames[u->idx];

	if (buddy_block_head(&u->z->buddy, u->idx) == (long)u->idx && f->order == u->order) {
		gm_frames_free(u->z, u->idx, u->order);
		return;
	}
	gm_block_split(u->z, u->idx, u->g);
	for (uint32_t i = 0; i < u->n; i++)
		gm_frames_free(u->z, u->idx + i, 0);
}

/* Points the p2m at the new frames; cannot fail once the unit's leaves
 * exist at its size (split beforehand for a 4 KiB unit). */
static void gm_unit_repoint(struct guest_mem *gm, const struct gm_unit *u, uint64_t new_hfn)
{
	if (u->order == P2M_ORDER_4K || !(new_hfn & (u->n - 1))) {
		p2m_replace(gm->p2m, u->g, new_hfn, u->order, GM_LEAF_FLAGS, NULL);
		return;
	}
	/* Frames a 2 MiB leaf cannot name (zone Huge not 2 MiB-aligned in
	 * HFNs): 4 KiB leaves, one by one, each the old or the new. */
	for (uint64_t i = 0; i < u->n; i++)
		p2m_replace(gm->p2m, u->g + i, new_hfn + i, P2M_ORDER_4K, GM_LEAF_FLAGS, NULL);
}

/* The unit gfn is in, its 2 MiB leaf split first when the unit is 4 KiB:
 * split now, while giving up is still free, so the p2m update after the
 * change cannot fail. */
static int gm_unit_prepare(struct guest_mem *gm, uint64_t gfn, struct gm_unit *u)
{
	int rc = gm_unit_find(gm, gfn, u);

	if (!rc && u->order == P2M_ORDER_4K && u->leaf.order == P2M_ORDER_2M)
		rc = p2m_split(gm->p2m, u->g);
	return rc;
}

static int gm_remap(struct guest_mem *gm, uint64_t gfn, const void *contents)
{
	struct gm_unit u;
	int rc = gm_unit_prepare(gm, gfn, &u);

	if (rc)
		return rc;
	long nidx = mm_frames_alloc(u.z, u.order, MT_MOVABLE, FRAME_GUEST, false);
	if (nidx < 0)
		return -ENOMEM;
	u.z->buddy.frames[nidx].owner = (uint32_t)u.g;
	uint8_t *dst = mm_frame_ptr(u.z, (uint32_t)nidx);
	if (!contents || u.n > 1)
		memcpy(dst, mm_frame_ptr(u.z, u.idx), u.n << PAGE_SHIFT);
	if (contents)
		memcpy(dst + ((gfn - u.g) << PAGE_SHIFT), contents, PAGE_SIZE);

	uint64_t new_hfn = u.z->base_hfn + (uint64_t)nidx;
	int64_t delta = gm_unit_maps_delta(gm, &u, new_hfn);
	if (delta > 0 && (rc = mm_maps_charge(MM_MAPS_GUEST, (uint64_t)delta)) != 0) {
		gm_frames_free(u.z, (uint32_t)nidx, u.order);
		return rc;
	}
	rc = gm_unit_map(&u, (uint32_t)nidx);
	if (rc) {
		/* The old frames are still the guest's: put them back. */
		gm_view_restore(gm_unit_view(&u), u.n << PAGE_SHIFT, u.z, u.idx);
		if (delta > 0)
			mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)delta);
		gm_frames_free(u.z, (uint32_t)nidx, u.order);
		return rc;
	}
	gm_unit_repoint(gm, &u, new_hfn);
	/* Unreachable through the view since the mmap: the buddy may have it. */
	gm_unit_release(&u);
	if (delta < 0)
		mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)-delta);
	u.r->nr_mappings = (uint64_t)((int64_t)u.r->nr_mappings + delta);
	return 0;
}

int guest_mem_remap_page(struct guest_mem *gm, uint64_t gfn, const void *contents)
{
	pthread_mutex_lock(&gm->lock);
	int rc = gm_remap(gm, gfn, contents);
	pthread_mutex_unlock(&gm->lock);
	return rc;
}

static int gm_punch(struct guest_mem *gm, uint64_t gfn)
{
	struct gm_unit u;
	int rc = gm_unit_prepare(gm, gfn, &u);

	if (rc)
		return rc;
	if (fallocate(u.z->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)u.idx << PAGE_SHIFT, (off_t)(u.n << PAGE_SHIFT)) < 0)
		return -errno;
	return p2m_update_state(gm->p2m, u.g, u.order, P2M_ST_PUNCHED, 0);
}

int guest_mem_punch_page(struct guest_mem *gm, uint64_t gfn)
{
	pthread_mutex_lock(&gm->lock);
	int rc = gm_punch(gm, gfn);
	pthread_mutex_unlock(&gm->lock);
	return rc;
}
