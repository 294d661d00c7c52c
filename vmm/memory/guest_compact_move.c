/*
 * The mover of guest compaction (mm/compaction.h's batch protocol): a batch
 * of guest pages, each from one frame of zone Normal to another, with the
 * view remapped once per run of consecutive GFNs going to consecutive
 * frames instead of once per page.
 *
 * Why runs: a MAP_FIXED costs a TLB flush (an IPI to every CPU the process
 * ran on) and a VMA split or merge whatever its length, a copy by the
 * kernel (gm_copy_to_frames) two system calls, and each page of a fresh
 * mapping a fault on first touch; copying and hashing a page in cache
 * costs about a microsecond. The core hands out targets in ascending frame
 * order, so pages of consecutive GFNs taken from one pageblock land on
 * consecutive frames, and a run of them is one copy and one mmap, populated
 * at once (MADV_POPULATE_WRITE) so the guest's first access does not fault
 * page by page.
 *
 * Under guest_mem's lock, the lock the balloon and every remap take, so a
 * GFN's frame cannot change under it: check each GFN still maps its src,
 * copy and verify each page, then per run charge the mapping budget (I4),
 * map the run's frames over its part of the view, then point the p2m
 * leaves at them. Every step that can fail comes before the p2m changes and
 * puts back what it did, so a failed run leaves each of its pages on its
 * src, with the view and p2m as they were; the other runs of the batch go
 * on.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "vmm/memory/guest_compact.h"
#include "vmm/memory/guest_mem_internal.h"
#include "mm/mapbudget.h"

/* Runs shorter than this fault their pages in one by one: a fault costs
 * less than the madvise that would spare it. */
#define GCM_POPULATE_MIN 8

/* One move of the batch as the mover sees it. */
struct gcm_move {
	uint64_t gfn;
	struct p2m_leaf leaf;   /* gfn's 4 KiB leaf, naming src */
	uint32_t src, dst;
	struct gm_region *r;
};

/* Whether the move of gfn from src is still to be done: 0, -ESTALE, or the
 * verdict of joining a range the balloon split (see below). */
static int gcm_check(struct guest_mem *gm, struct mm_zone *z, struct gcm_move *m)
{
	/* Another guest's frame, or one this guest freed or ballooned since
	 * the scanner looked: not ours to move. */
	m->r = gm_region_of(gm, m->gfn);
	if (!m->r || p2m_lookup(gm->p2m, m->gfn, &m->leaf) || m->leaf.hfn != z->base_hfn + m->src ||
	    (m->leaf.state & P2M_ST_BALLOONED))
		return -ESTALE;
	if (m->leaf.order == P2M_ORDER_2M) {
		/* Single frames under a 2 MiB leaf: a block the balloon split
		 * for a neighbour range. Moving one would break a large mapping
		 * up; joined again, the scanners pass the range by. */
		uint64_t g = m->gfn & ~(uint64_t)(GM_HUGE_FRAMES - 1);
		uint32_t idx = (uint32_t)(m->leaf.hfn - z->base_hfn) - (uint32_t)(m->gfn - g);
		int rc = gm_range_join(z, idx, g);
		return rc ? rc : -ESTALE;
	}
	return 0;
}

static uint8_t *gcm_view(const struct gcm_move *m)
{
	return m->r->view + ((m->gfn - (m->r->gpa >> PAGE_SHIFT)) << PAGE_SHIFT);
}

/* Whether the punched page of m is still empty. A page the guest reported
 * free stays marked punched, but the guest may write to it again without
 * telling: then it has memory behind it (mincore over the view says so)
 * and its data moves like any page's, and it is marked punched no more. */
static bool gcm_still_punched(struct gcm_move *m)
{
	unsigned char vec;

	if (!(m->leaf.state & P2M_ST_PUNCHED))
		return false;
	if (!mincore(gcm_view(m), PAGE_SIZE, &vec) && !(vec & 1))
		return true;
	m->leaf.state &= ~(P2M_ST_PUNCHED | P2M_ST_REPORTED);
	return false;
}

/* A punched page: nothing behind src to copy, the guest reads zeros there.
 * dst is punched too, so it reads zeros and costs the host nothing until
 * the guest writes, as src did. */
static int gcm_punch(struct mm_zone *z, const struct gcm_move *m)
{
	if (fallocate(z->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)m->dst << PAGE_SHIFT, PAGE_SIZE) < 0)
		return -errno;
	return 0;
}

/* The contents of the n moves from m, consecutive GFNs to consecutive
 * frames, copied into their dst frames with one copy, each page checked;
 * a page that fails gets its verdict in rc and the copy goes on after it. */
static void gcm_copy_run(struct guest_mem *gm, struct mm_zone *z, const struct gcm_move *m,
			 unsigned n, int *rc, struct guest_compact_result *res)
{
	for (unsigned i = 0; i < n;) {
		uint64_t done;
		int r = gm_copy_to_frames(gm, z, m[i].dst, gcm_view(&m[i]), n - i, &done);
		res->bytes_copied += (done + (r != 0)) << PAGE_SHIFT;
		i += (unsigned)done;
		if (!r)
			return;
		if (r == -EIO)
			res->hash_mismatches++;
		rc[i++] = r;
	}
}

/* Puts the view of moves [0, n) back on their src frames, one mmap per run
 * of consecutive src frames. */
static void gcm_restore(struct mm_zone *z, const struct gcm_move *m, unsigned n)
{
	for (unsigned i = 0; i < n;) {
		unsigned k = 1;
		while (i + k < n && m[i + k].src == m[i].src + k)
			k++;
		gm_view_restore(gcm_view(&m[i]), (size_t)k << PAGE_SHIFT, z, m[i].src);
		i += k;
	}
}

/*
 * Remaps the n moves from m, consecutive GFNs of one region going to
 * consecutive frames, with one mmap, and points their leaves at the new
 * frames. The run's inner mapping boundaries go (its frames run on), its
 * edges may change. 0, or -errno with the view put back.
 */
static int gcm_remap_run(struct guest_mem *gm, struct mm_zone *z, const struct gcm_move *m,
			 unsigned n)
{
	struct gm_region *r = m->r;
	struct gm_backing first = { .zone = z->id, .hfn = z->base_hfn + m[0].dst };
	struct gm_backing last = { .zone = z->id, .hfn = z->base_hfn + m[n - 1].dst };
	int64_t delta = gm_maps_delta(gm, r, m[0].gfn, n, &first, &last, gm_backing_now, NULL) -
			(int64_t)gm_maps_inside(gm, m[0].gfn, n, gm_backing_now, NULL);
	size_t len = (size_t)n << PAGE_SHIFT;
	int rc;

	if (delta > 0 && (rc = mm_maps_charge(MM_MAPS_GUEST, (uint64_t)delta)) != 0)
		return rc;
	rc = gm_view_map(gcm_view(m), len, z, m[0].dst);
	if (rc) {
		gcm_restore(z, m, n);
		if (delta > 0)
			mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)delta);
		return rc;
	}
	/* 4 KiB leaves exist (split before), so these cannot fail. */
	for (unsigned i = 0; i < n; i++)
		p2m_replace(gm->p2m, m[i].gfn, z->base_hfn + m[i].dst, P2M_ORDER_4K,
			    GM_LEAF_FLAGS | m[i].leaf.state, NULL);
	if (delta < 0)
		mm_maps_uncharge(MM_MAPS_GUEST, (uint64_t)-delta);
	r->nr_mappings = (uint64_t)((int64_t)r->nr_mappings + delta);
	/* The guest's next access, and KVM's second-stage fault behind it,
	 * finds the pages mapped instead of faulting each. */
	if (n >= GCM_POPULATE_MIN)
		gm_populate(gcm_view(m), len, true);
	return 0;
}

/* Whether move b continues the run move a is in: the next GFN of the same
 * region to the next frame. */
static bool gcm_follows(const struct gcm_move *a, const struct gcm_move *b)
{
	return b->r == a->r && b->gfn == a->gfn + 1 && b->dst == a->dst + 1;
}

void gm_compact_move_batch(struct guest_mem *gm, struct mm_zone *z, const uint32_t *src,
			   const uint32_t *dst, unsigned n, int *rc, struct guest_compact_result *res)
{
	struct gcm_move m[MM_COMPACT_BATCH];

	pthread_mutex_lock(&gm->lock);
	for (unsigned i = 0; i < n; i++) {
		m[i] = (struct gcm_move){
			.gfn = __atomic_load_n(&z->buddy.frames[dst[i]].owner, __ATOMIC_RELAXED),
			.src = src[i],
			.dst = dst[i],
		};
		rc[i] = gcm_check(gm, z, &m[i]);
	}
	/* The contents: punched pages one by one, the others a run at a time,
	 * the same runs the remaps below will find. */
	for (unsigned i = 0; i < n;) {
		if (rc[i]) {
			i++;
			continue;
		}
		if (gcm_still_punched(&m[i])) {
			rc[i] = gcm_punch(z, &m[i]);
			i++;
			continue;
		}
		unsigned k = 1;
		while (i + k < n && !rc[i + k] && !gcm_still_punched(&m[i + k]) &&
		       gcm_follows(&m[i + k - 1], &m[i + k]))
			k++;
		gcm_copy_run(gm, z, &m[i], k, &rc[i], res);
		i += k;
	}
	/* Runs of good moves; a move that failed or went stale ends one. */
	for (unsigned i = 0; i < n;) {
		if (rc[i]) {
			i++;
			continue;
		}
		unsigned k = 1;
		while (i + k < n && !rc[i + k] && gcm_follows(&m[i + k - 1], &m[i + k]))
			k++;
		int r = gcm_remap_run(gm, z, &m[i], k);
		for (unsigned j = 0; j < k; j++)
			rc[i + j] = r;
		i += k;
	}
	/* The frames left behind, unreachable since their remaps, go to the
	 * buddy empty (gm_frames_drop_backing): a punch per run of them. */
	for (unsigned i = 0; i < n;) {
		unsigned k = 1;
		while (i + k < n && m[i + k].src == m[i].src + k && !rc[i + k] == !rc[i])
			k++;
		if (!rc[i])
			gm_frames_drop_backing(z, m[i].src, k);
		i += k;
	}
	pthread_mutex_unlock(&gm->lock);
}
