/*
 * Inflate and deflate of a batch of GFNs (DESIGN.md memory model 6; see
 * balloon_mem.h): the checks that turn a bogus PFN into -EINVAL, the runs
 * of zone Normal pages that change the view together, the per 2 MiB
 * bookkeeping of zone Huge (its page leaves only once all 512 pieces are
 * in), and the choice between the view changes of balloon_view.c.
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
#include "vmm/memory/balloon_mem_internal.h"

/*
 * A run of zone Normal GFNs checked and waiting to change together:
 * consecutive GFNs of region r, for inflate backed by consecutive frames
 * idx.. of z. One punch and one mmap per run is what makes a 256-PFN
 * buffer cost about as much as one page (PLATFORM.md: each mmap over a
 * live view is a KVM invalidation).
 */
struct bm_run {
	struct gm_region *r;
	struct mm_zone *z;
	uint32_t idx;
	uint64_t g, n;
};

/* One batch under guest_mem's lock. */
struct bm_batch {
	struct guest_mem *gm;
	struct bm_state *s;
	struct bm_run run;
	struct balloon_mem_result *res;
};

static void bm_failed(struct bm_batch *b, uint64_t n, int rc)
{
	b->res->failed += (uint32_t)n;
	b->res->err = rc;
}

/* Marks [g, g + n) of region r ballooned (add) or not. */
static void bm_mark(struct bm_batch *b, struct gm_region *r, uint64_t g, uint64_t n, bool add)
{
	struct bm_pos p = { .r = r, .ri = (unsigned)(r - b->gm->region) };

	for (uint64_t i = 0; i < n; i++) {
		p.off = g + i - (r->gpa >> PAGE_SHIFT);
		bm_flip(b->s, &p);
		struct bm_unit *u = &b->s->units[p.ri][p.off / GM_HUGE_FRAMES];
		u->nr = (uint16_t)(add ? u->nr + 1 : u->nr - 1);
	}
	if (add)
		b->s->st.ballooned_pages += n;
	else
		b->s->st.ballooned_pages -= n;
}

/* A whole zone Huge page is ballooned once its last piece is in: then it
 * can leave. The last piece stays out if it cannot. */
static int bm_inflate_huge(struct bm_batch *b, const struct bm_pos *p, struct mm_zone *z,
			   uint32_t idx, uint64_t gfn)
{
	struct bm_unit *u = &b->s->units[p->ri][p->off / GM_HUGE_FRAMES];

	if (u->nr + 1U < GM_HUGE_FRAMES) {
		bm_mark(b, p->r, gfn, 1, true);
		return 0;
	}
	uint64_t g = gfn & ~(uint64_t)(GM_HUGE_FRAMES - 1);
	uint32_t hidx = idx - (uint32_t)(gfn - g);
	int rc = gm_block_split(z, hidx, g);
	if (!rc)
		rc = bm_punch(z, hidx, GM_HUGE_FRAMES, &b->s->st.host_bytes_released);
	if (rc)
		return rc;
	bm_mark(b, p->r, gfn, 1, true);
	bm_release_run(b->gm, b->s, p->r, z, hidx, g, GM_HUGE_FRAMES);
	return 0;
}

/* The inflate run leaves: punched, cut from the view, back to the buddy. */
static void bm_inflate_flush(struct bm_batch *b)
{
	struct bm_run *run = &b->run;

	if (!run->n)
		return;
	int rc = bm_punch(run->z, run->idx, run->n, &b->s->st.host_bytes_released);
	if (rc) {
		bm_failed(b, run->n, rc);
	} else {
		bm_mark(b, run->r, run->g, run->n, true);
		bm_release_run(b->gm, b->s, run->r, run->z, run->idx, run->g, run->n);
		b->res->done += (uint32_t)run->n;
	}
	run->n = 0;
}

/* Checks gfn and balloons it (zone Huge) or adds it to the run (zone
 * Normal, counted when the run leaves). 0 or a negative errno. */
static int bm_inflate_one(struct bm_batch *b, uint64_t gfn)
{
	struct bm_run *run = &b->run;
	struct bm_pos p;
	struct p2m_leaf l;
	uint32_t idx;

	/* First, so that a GFN already in the run is seen as ballooned. */
	if (run->n && gfn != run->g + run->n)
		bm_inflate_flush(b);
	if (gfn >= BM_LEGACY_HOLE_FIRST && gfn < BM_LEGACY_HOLE_END)
		return -EINVAL;
	if (bm_pos_of(b->gm, gfn, &p) || bm_test(b->s, &p) || p2m_lookup(b->gm->p2m, gfn, &l))
		return -EINVAL;
	struct mm_zone *z = gm_hfn_zone(b->gm->arena, l.hfn, &idx);
	if (!z || (l.state & P2M_ST_BALLOONED))
		return -EINVAL;
	struct bm_unit *u = &b->s->units[p.ri][p.off / GM_HUGE_FRAMES];
	u->zone_known = 1;
	u->zone = (uint8_t)z->id;
	if (z->id == ZONE_HUGE) {
		int rc = bm_inflate_huge(b, &p, z, idx, gfn);
		if (!rc)
			b->res->done++;
		return rc;
	}
	int rc = gm_block_split(z, idx, gfn);
	if (!rc && l.order == P2M_ORDER_2M)
		rc = p2m_split(b->gm->p2m, gfn);
	if (rc)
		return rc;
	if (run->n && (run->r != p.r || run->z != z || idx != run->idx + run->n))
		bm_inflate_flush(b);
	if (!run->n)
		*run = (struct bm_run){ .r = p.r, .z = z, .idx = idx, .g = gfn };
	run->n++;
	return 0;
}

/* Runs one batch: each GFN through one(), then what is left in the run
 * through flush(). */
static void bm_batch_run(struct guest_mem *gm, const uint64_t *gfns, unsigned n,
			 struct balloon_mem_result *res, int (*one)(struct bm_batch *, uint64_t),
			 void (*flush)(struct bm_batch *))
{
	struct bm_batch b = { .gm = gm, .s = gm->balloon, .res = res };

	memset(res, 0, sizeof(*res));
	if (!b.s) {
		bm_failed(&b, n, -ENODEV);      /* no balloon attached */
		return;
	}
	pthread_mutex_lock(&gm->lock);
	for (unsigned i = 0; i < n; i++) {
		int rc = one(&b, gfns[i]);
		if (rc == -EINVAL) {
			res->bogus++;
			b.s->st.rejected++;
		} else if (rc) {
			bm_failed(&b, 1, rc);
		}
	}
	flush(&b);
	pthread_mutex_unlock(&gm->lock);
}

void balloon_mem_inflate_batch(struct guest_mem *gm, const uint64_t *gfns, unsigned n,
			       struct balloon_mem_result *res)
{
	bm_batch_run(gm, gfns, n, res, bm_inflate_one, bm_inflate_flush);
}

/* The deflate run gets frames back: the largest blocks the buddy has, one
 * mapping each. Below 2 MiB, so they take 4 KiB leaves where the inflate
 * split the 2 MiB leaf (a 2 MiB leaf cannot replace that table). */
static void bm_deflate_flush(struct bm_batch *b)
{
	struct bm_run *run = &b->run;
	uint64_t done = 0;

	while (done < run->n) {
		unsigned order = 63 - (unsigned)__builtin_clzll(run->n - done);
		if (order >= P2M_ORDER_2M)
			order = P2M_ORDER_2M - 1;
		int rc;
		while ((rc = bm_refill(b->gm, b->s, run->r, run->z, run->g + done, order)) == -ENOMEM &&
		       order)
			order--;
		if (rc) {
			bm_failed(b, run->n - done, rc);
			break;
		}
		bm_mark(b, run->r, run->g + done, 1ULL << order, false);
		done += 1ULL << order;
	}
	b->res->done += (uint32_t)done;
	run->n = 0;
}

/* A ballooned piece of zone Huge, or a pending zone Normal page: each
 * changes on its own. */
static int bm_deflate_alone(struct bm_batch *b, const struct bm_pos *p, struct mm_zone *z,
			    uint64_t gfn)
{
	struct p2m_leaf l;
	uint32_t idx;
	uint64_t n = z->id == ZONE_HUGE ? GM_HUGE_FRAMES : 1;
	uint64_t g = gfn & ~(n - 1);
	int rc = 0;

	if (p2m_lookup(b->gm->p2m, gfn, &l)) {
		rc = bm_refill(b->gm, b->s, p->r, z, g, P2M_ORDER_2M);   /* a whole page left */
	} else if (!gm_hfn_zone(b->gm->arena, l.hfn, &idx)) {
		return -EINVAL;
	} else if (l.state & P2M_ST_BALLOONED) {
		rc = bm_unpend(b->gm, b->s, z, idx - (uint32_t)(gfn - g), g, n);
	} else {
		/* A piece of a zone Huge page that never left: zero it. */
		memset(mm_frame_ptr(z, idx), 0, PAGE_SIZE);
	}
	if (rc)
		return rc;
	bm_mark(b, p->r, gfn, 1, false);
	b->res->done++;
	return 0;
}

static int bm_deflate_one(struct bm_batch *b, uint64_t gfn)
{
	struct bm_run *run = &b->run;
	struct bm_pos p;
	struct p2m_leaf l;

	if (run->n && gfn != run->g + run->n)
		bm_deflate_flush(b);
	if (bm_pos_of(b->gm, gfn, &p) || !bm_test(b->s, &p))
		return -EINVAL;
	struct bm_unit *u = &b->s->units[p.ri][p.off / GM_HUGE_FRAMES];
	struct mm_zone *z = mm_zone_get(b->gm->arena, (enum mm_zone_id)u->zone);
	if (!z)
		return -EINVAL;
	if (z->id == ZONE_HUGE || !p2m_lookup(b->gm->p2m, gfn, &l))
		return bm_deflate_alone(b, &p, z, gfn);
	/* Returned to the buddy: it joins the run. */
	if (run->n && (run->r != p.r || run->z != z))
		bm_deflate_flush(b);
	if (!run->n)
		*run = (struct bm_run){ .r = p.r, .z = z, .g = gfn };
	run->n++;
	return 0;
}

void balloon_mem_deflate_batch(struct guest_mem *gm, const uint64_t *gfns, unsigned n,
			       struct balloon_mem_result *res)
{
	bm_batch_run(gm, gfns, n, res, bm_deflate_one, bm_deflate_flush);
}

static int bm_result_rc(const struct balloon_mem_result *res)
{
	return res->done ? 0 : res->bogus ? -EINVAL : res->err;
}

int balloon_mem_inflate(struct guest_mem *gm, uint64_t gfn)
{
	struct balloon_mem_result res;

	balloon_mem_inflate_batch(gm, &gfn, 1, &res);
	return bm_result_rc(&res);
}

int balloon_mem_deflate(struct guest_mem *gm, uint64_t gfn)
{
	struct balloon_mem_result res;

	balloon_mem_deflate_batch(gm, &gfn, 1, &res);
	return bm_result_rc(&res);
}
