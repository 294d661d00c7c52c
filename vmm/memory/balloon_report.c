/*
 * Frames the guest reported free (balloon_report.h, DESIGN.md memory
 * model 8): the checks a reported range passes before anything changes,
 * the punch of its host memory (per run of consecutive frames in zone
 * Normal, per whole 2 MiB page in zone Huge), the p2m marks that say the
 * frames are the guest's with nothing behind them, and the counters.
 *
 * Nothing moves: the frames keep their GFNs and stay in the view, so the
 * frame table, the view and its mapping count (I4) do not change; only the
 * host memory behind the frames goes, and the p2m says so.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include "vmm/memory/balloon_mem_internal.h"

/* Pages whose residency one mincore call asks about. */
#define BR_MINCORE_PAGES 512

static uint8_t *br_view(const struct gm_region *r, uint64_t g)
{
	return r->view + ((g - (r->gpa >> PAGE_SHIFT)) << PAGE_SHIFT);
}

/*
 * Whether gfn may be reported: RAM the balloon has not taken, backed by a
 * guest frame owned by gfn (not a frame the VMM or anyone else holds).
 * *reported says whether it is marked reported already.
 */
static bool br_page_ok(struct guest_mem *gm, struct bm_state *s, const struct bm_pos *p,
		       uint64_t gfn, bool *reported)
{
	struct p2m_leaf l;
	uint32_t idx;

	if (bm_test(s, p) || p2m_lookup(gm->p2m, gfn, &l) || (l.state & P2M_ST_BALLOONED))
		return false;
	struct mm_zone *z = gm_hfn_zone(gm->arena, l.hfn, &idx);
	if (!z)
		return false;
	long head = buddy_block_head(&z->buddy, idx);
	if (head < 0)
		return false;
	const struct frame *f = &z->buddy.frames[head];
	if (frame_state_get(f) != FRAME_GUEST || f->owner + (idx - (uint32_t)head) != gfn)
		return false;
	*reported = l.state & P2M_ST_REPORTED;
	return true;
}

/* Whether a page of [g, g + n) has host memory again: the guest wrote to
 * it (or read it: shmem allocates on any fault) since it was reported. */
static bool br_any_resident(const struct gm_region *r, uint64_t g, uint64_t n)
{
	unsigned char vec[BR_MINCORE_PAGES];

	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < BR_MINCORE_PAGES ? n - done : BR_MINCORE_PAGES;
		if (mincore(br_view(r, g + done), k << PAGE_SHIFT, vec))
			return true;    /* cannot tell: let the report through */
		for (uint64_t i = 0; i < k; i++)
			if (vec[i] & 1)
				return true;
		done += k;
	}
	return false;
}

/* The checks of balloon_report.h, before anything changes: 0, -EINVAL or
 * -EALREADY; *rp is the region of [g, g + n). */
static int br_check(struct guest_mem *gm, struct bm_state *s, uint64_t gpa, uint64_t len,
		    struct gm_region **rp)
{
	if (!len || ((gpa | len) & (PAGE_SIZE - 1)) || len > BALLOON_REPORT_MAX_BYTES ||
	    gpa > UINT64_MAX - len)
		return -EINVAL;
	uint64_t g = gpa >> PAGE_SHIFT, n = len >> PAGE_SHIFT;
	struct bm_pos p;
	if (bm_pos_of(gm, g, &p) || gm_region_of(gm, g + n - 1) != p.r)
		return -EINVAL;         /* outside RAM, or across a hole */
	if (g < BM_LEGACY_HOLE_END && g + n > BM_LEGACY_HOLE_FIRST)
		return -EINVAL;
	bool all_reported = true;
	for (uint64_t i = 0; i < n; i++, p.off++) {
		bool reported;
		if (!br_page_ok(gm, s, &p, g + i, &reported))
			return -EINVAL;
		all_reported &= reported;
	}
	/* The same range again, untouched since: nothing to give back. */
	if (all_reported && !br_any_resident(p.r, g, n))
		return -EALREADY;
	*rp = p.r;
	return 0;
}

/* Splits the 2 MiB leaf of zone Normal at gfn when the range [g, end)
 * covers only part of it: first, so that nothing fails after a punch. */
static int br_split_edge(struct guest_mem *gm, uint64_t gfn, uint64_t g, uint64_t end)
{
	struct p2m_leaf l;

	if (p2m_lookup(gm->p2m, gfn, &l) || l.order != P2M_ORDER_2M || l.zone == ZONE_HUGE)
		return 0;
	uint64_t lo = gfn & ~(uint64_t)(GM_HUGE_FRAMES - 1);
	return lo >= g && lo + GM_HUGE_FRAMES <= end ? 0 : p2m_split(gm->p2m, gfn);
}

/* Marks [g, g + n) reported, a leaf at a time (2 MiB leaves are whole
 * inside: the edges were split). */
static void br_mark(struct guest_mem *gm, uint64_t g, uint64_t n)
{
	for (uint64_t end = g + n; g < end;) {
		struct p2m_leaf l;
		unsigned order = !p2m_lookup(gm->p2m, g, &l) && l.order == P2M_ORDER_2M &&
				 !(g & (GM_HUGE_FRAMES - 1)) && g + GM_HUGE_FRAMES <= end ?
				 P2M_ORDER_2M : P2M_ORDER_4K;
		p2m_update_state(gm->p2m, g, order, P2M_ST_PUNCHED | P2M_ST_REPORTED, 0);
		g += 1ULL << order;
	}
}

/* The run of zone Normal pages from g backed by consecutive frames from
 * idx, up to end: how many. */
static uint64_t br_normal_run(struct guest_mem *gm, const struct mm_zone *z, uint64_t g,
			      uint32_t idx, uint64_t end)
{
	uint64_t k = 1;
	struct p2m_leaf l;

	while (g + k < end && !p2m_lookup(gm->p2m, g + k, &l) && l.zone == z->id &&
	       l.hfn == z->base_hfn + idx + k)
		k++;
	return k;
}

/* Punches what [g, g + n) can give back; 0 or the failing punch's errno. */
static int br_apply(struct guest_mem *gm, uint64_t g, uint64_t n, struct balloon_report_result *res)
{
	uint64_t end = g + n;
	int rc = br_split_edge(gm, g, g, end);

	if (!rc)
		rc = br_split_edge(gm, end - 1, g, end);
	while (!rc && g < end) {
		struct p2m_leaf l;
		uint32_t idx;
		p2m_lookup(gm->p2m, g, &l);            /* checked: every page has a leaf */
		struct mm_zone *z = gm_hfn_zone(gm->arena, l.hfn, &idx);
		uint64_t k;
		if (z->id == ZONE_HUGE) {
			uint64_t lo = g & ~(uint64_t)(GM_HUGE_FRAMES - 1);
			k = (lo + GM_HUGE_FRAMES < end ? lo + GM_HUGE_FRAMES : end) - g;
			if (lo != g || k != GM_HUGE_FRAMES) {
				res->kept += k << PAGE_SHIFT;   /* not a whole huge page */
				g += k;
				continue;
			}
		} else {
			k = br_normal_run(gm, z, g, idx, end);
		}
		rc = bm_punch(z, idx, k, &res->released);
		if (rc)
			break;
		br_mark(gm, g, k);
		res->punched += k << PAGE_SHIFT;
		g += k;
	}
	return rc;
}

static uint64_t br_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int balloon_mem_report_range(struct guest_mem *gm, uint64_t gpa, uint64_t len,
			     struct balloon_report_result *res)
{
	struct bm_state *s = gm->balloon;
	struct gm_region *r;

	memset(res, 0, sizeof(*res));
	if (!s)
		return -ENODEV;
	pthread_mutex_lock(&gm->lock);
	int rc = br_check(gm, s, gpa, len, &r);
	if (!rc)
		rc = br_apply(gm, gpa >> PAGE_SHIFT, len >> PAGE_SHIFT, res);
	struct balloon_report_stats *st = &s->rep;
	st->released += res->released;
	if (rc == -EINVAL || rc == -EALREADY) {
		st->rejected++;
	} else if (rc) {
		st->failed++;
	} else {
		st->ranges++;
		st->bytes += len;
		st->kept_ranges += res->kept != 0;
		st->kept_bytes += res->kept;
		st->last_ms = br_now_ms();
	}
	pthread_mutex_unlock(&gm->lock);
	return rc;
}

static void br_count_leaf(uint64_t g, const struct p2m_leaf *leaf, void *arg)
{
	uint64_t *per_zone = arg;

	(void)g;
	if ((leaf->state & P2M_ST_REPORTED) && (unsigned)leaf->zone < MM_NR_ZONES)
		per_zone[leaf->zone] += 1ULL << leaf->order;
}

void balloon_report_stats(struct guest_mem *gm, struct balloon_report_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!gm->balloon)
		return;
	pthread_mutex_lock(&gm->lock);
	*out = gm->balloon->rep;
	memset(out->reported_frames, 0, sizeof(out->reported_frames));
	for (unsigned i = 0; i < gm->nr_regions; i++)
		p2m_for_each_leaf(gm->p2m, gm->region[i].gpa >> PAGE_SHIFT,
				  gm->region[i].size >> PAGE_SHIFT, br_count_leaf, out->reported_frames);
	pthread_mutex_unlock(&gm->lock);
}
