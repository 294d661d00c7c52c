/*
 * Inflate and deflate of one GFN (DESIGN.md memory model 6; see
 * balloon_mem.h): the checks that turn a bogus PFN into -EINVAL, the per
 * 2 MiB bookkeeping of zone Huge (its page leaves only once all 512 pieces
 * are in), and the choice between the view changes of balloon_view.c.
 *
 * What the p2m says about a ballooned GFN tells where its frame is:
 *   no leaf                      the frame went back to the buddy; the view
 *                                maps an anonymous placeholder there (I2)
 *   leaf with P2M_ST_BALLOONED   ballooned-pending: punched, reserved to the
 *                                GFN (FRAME_BALLOONED), still in the view
 *   plain leaf                   a piece of a zone Huge page whose other
 *                                pieces are not all ballooned yet
 * The p2m stays the one truth about frames: the teardown frees exactly the
 * leaves, so a frame the buddy has handed on is never freed twice.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "balloon_mem_internal.h"

/* The legacy VGA/BIOS hole [0xa0000, 1 MiB): backed like RAM, but the
 * memory map gives it as reserved, so no driver may balloon it. */
#define BM_LEGACY_HOLE_FIRST 0xa0
#define BM_LEGACY_HOLE_END 0x100

static int bm_inflate(struct guest_mem *gm, struct bm_state *s, uint64_t gfn)
{
	struct bm_pos p;
	struct p2m_leaf l;
	uint32_t idx;

	if (gfn >= BM_LEGACY_HOLE_FIRST && gfn < BM_LEGACY_HOLE_END)
		return -EINVAL;
	if (bm_pos_of(gm, gfn, &p) || bm_test(s, &p) || p2m_lookup(gm->p2m, gfn, &l))
		return -EINVAL;
	struct mm_zone *z = gm_hfn_zone(gm->arena, l.hfn, &idx);
	if (!z || (l.state & P2M_ST_BALLOONED))
		return -EINVAL;
	struct bm_unit *u = &s->units[p.ri][p.off / GM_HUGE_FRAMES];
	u->zone_known = 1;
	u->zone = (uint8_t)z->id;

	if (z->id == ZONE_HUGE) {
		bm_flip(s, &p);
		u->nr++;
		s->st.ballooned_pages++;
		if (u->nr < GM_HUGE_FRAMES)
			return 0;
		/* The whole 2 MiB page is ballooned: now it can leave. */
		uint64_t g = gfn & ~(uint64_t)(GM_HUGE_FRAMES - 1);
		uint32_t hidx = idx - (uint32_t)(gfn - g);
		int rc = gm_block_split(z, hidx, g);
		if (!rc)
			rc = bm_punch(s, z, hidx, GM_HUGE_FRAMES);
		if (rc) {
			/* Still the guest's, whole: the last piece stays out. */
			bm_flip(s, &p);
			u->nr--;
			s->st.ballooned_pages--;
			return rc;
		}
		bm_release_run(gm, s, p.r, z, hidx, g, GM_HUGE_FRAMES);
		return 0;
	}
	int rc = gm_block_split(z, idx, gfn);
	if (!rc && l.order == P2M_ORDER_2M)
		rc = p2m_split(gm->p2m, gfn);
	if (!rc)
		rc = bm_punch(s, z, idx, 1);
	if (rc)
		return rc;
	bm_flip(s, &p);
	u->nr++;
	s->st.ballooned_pages++;
	bm_release_run(gm, s, p.r, z, idx, gfn, 1);
	return 0;
}

int balloon_mem_inflate(struct guest_mem *gm, uint64_t gfn)
{
	struct bm_state *s = bm_state_of(gm, true);

	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&gm->lock);
	int rc = bm_inflate(gm, s, gfn);
	if (rc == -EINVAL)
		s->st.rejected++;
	pthread_mutex_unlock(&gm->lock);
	return rc;
}

static int bm_deflate(struct guest_mem *gm, struct bm_state *s, uint64_t gfn)
{
	struct bm_pos p;
	struct p2m_leaf l;
	uint32_t idx;
	int rc;

	if (bm_pos_of(gm, gfn, &p) || !bm_test(s, &p))
		return -EINVAL;
	struct bm_unit *u = &s->units[p.ri][p.off / GM_HUGE_FRAMES];
	bool huge = u->zone == ZONE_HUGE;
	uint64_t n = huge ? GM_HUGE_FRAMES : 1;
	uint64_t g = gfn & ~(n - 1);

	if (p2m_lookup(gm->p2m, gfn, &l)) {
		struct mm_zone *z = mm_zone_get(gm->arena, (enum mm_zone_id)u->zone);
		if (!z)
			return -EINVAL;
		rc = bm_refill(gm, s, p.r, z, g, n);
	} else {
		struct mm_zone *z = gm_hfn_zone(gm->arena, l.hfn, &idx);
		if (!z)
			return -EINVAL;
		if (l.state & P2M_ST_BALLOONED)
			rc = bm_unpend(gm, s, z, idx - (uint32_t)(gfn - g), g, n);
		else {
			/* A piece of a zone Huge page that never left: zero it. */
			memset(mm_frame_ptr(z, idx), 0, PAGE_SIZE);
			rc = 0;
		}
	}
	if (rc)
		return rc;
	bm_flip(s, &p);
	u->nr--;
	s->st.ballooned_pages--;
	return 0;
}

int balloon_mem_deflate(struct guest_mem *gm, uint64_t gfn)
{
	struct bm_state *s = bm_state_of(gm, true);

	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&gm->lock);
	int rc = bm_deflate(gm, s, gfn);
	if (rc == -EINVAL)
		s->st.rejected++;
	pthread_mutex_unlock(&gm->lock);
	return rc;
}
