/*
 * The balloon state of each guest (balloon_mem_internal.h): one bit per
 * GFN, ballooned or not, and per 2 MiB unit of a region how many of its
 * pieces are ballooned, which zone backs it and whether it has a mapping of
 * its own; hung on the guest_mem by balloon_mem_attach, dropped by
 * balloon_mem_forget. Plus the counters balloon_mem_stats reads. All of it
 * comes from the guest's arena (kmalloc for the state, kvmalloc for the
 * per-GFN arrays, 32 KiB per GiB of guest RAM), so slabinfo shows it.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include "mm/kmalloc.h"
#include "vmm/memory/balloon_mem_internal.h"

static void bm_state_free(struct mm_arena *a, struct bm_state *s)
{
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		kvfree(a, s->bits[i]);          /* NULL is ignored */
		kvfree(a, s->units[i]);
	}
	kfree(a, s);
}

int balloon_mem_attach(struct guest_mem *gm)
{
	if (gm->balloon)
		return 0;
	struct bm_state *s = kzalloc(gm->arena, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		uint64_t frames = gm->region[i].size >> PAGE_SHIFT;
		s->bits[i] = kvzalloc(gm->arena, (frames + 63) / 64 * sizeof(uint64_t));
		s->units[i] = kvzalloc(gm->arena, (frames + GM_HUGE_FRAMES - 1) / GM_HUGE_FRAMES *
						  sizeof(struct bm_unit));
		if (!s->bits[i] || !s->units[i]) {
			bm_state_free(gm->arena, s);
			return -ENOMEM;
		}
	}
	gm->balloon = s;
	return 0;
}

void balloon_mem_forget(struct guest_mem *gm)
{
	if (gm->balloon)
		bm_state_free(gm->arena, gm->balloon);
	gm->balloon = NULL;
}

int bm_pos_of(struct guest_mem *gm, uint64_t gfn, struct bm_pos *p)
{
	p->r = gm_region_of(gm, gfn);
	if (!p->r)
		return -EINVAL;
	p->ri = (unsigned)(p->r - gm->region);
	p->off = gfn - (p->r->gpa >> PAGE_SHIFT);
	return 0;
}

bool balloon_mem_is_ballooned(struct guest_mem *gm, uint64_t gfn)
{
	struct bm_pos p;

	pthread_mutex_lock(&gm->lock);
	bool yes = gm->balloon && !bm_pos_of(gm, gfn, &p) && bm_test(gm->balloon, &p);
	pthread_mutex_unlock(&gm->lock);
	return yes;
}

bool bm_test(const struct bm_state *s, const struct bm_pos *p)
{
	return s->bits[p->ri][p->off / 64] >> (p->off % 64) & 1;
}

void bm_flip(struct bm_state *s, const struct bm_pos *p)
{
	s->bits[p->ri][p->off / 64] ^= 1ULL << (p->off % 64);
}

/* The unit of a GFN known to be RAM. */
struct bm_unit *bm_unit_of(struct guest_mem *gm, struct bm_state *s, uint64_t gfn)
{
	struct bm_pos p = { 0 };

	bm_pos_of(gm, gfn, &p);
	return &s->units[p.ri][p.off / GM_HUGE_FRAMES];
}


/*
 * A guest may write into pages it gave up: the anonymous placeholder over a
 * returned frame then takes host memory again, which the memfd's blocks do
 * not show. mincore over the ballooned GFNs (64 at a time, only where a bit
 * is set) counts those pages that are resident and have no frame behind
 * them. Under gm's lock.
 */
static uint64_t bm_placeholder_resident(struct guest_mem *gm)
{
	struct bm_state *s = gm->balloon;
	uint64_t pages = 0;

	for (unsigned ri = 0; ri < gm->nr_regions; ri++) {
		struct gm_region *r = &gm->region[ri];
		uint64_t frames = r->size >> PAGE_SHIFT;
		for (uint64_t w = 0; w < (frames + 63) / 64; w++) {
			uint64_t bits = s->bits[ri][w];
			unsigned char vec[64];
			uint64_t first = w * 64, n = frames - first < 64 ? frames - first : 64;
			if (!bits || mincore(r->view + (first << PAGE_SHIFT), n << PAGE_SHIFT, vec))
				continue;
			for (uint64_t i = 0; i < n; i++) {
				if (!(bits >> i & 1) || !(vec[i] & 1))
					continue;
				if (p2m_lookup(gm->p2m, (r->gpa >> PAGE_SHIFT) + first + i, NULL) != 0)
					pages++;
			}
		}
	}
	return pages << PAGE_SHIFT;
}

void balloon_mem_stats(struct guest_mem *gm, struct balloon_mem_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!gm->balloon)
		return;
	pthread_mutex_lock(&gm->lock);
	*out = gm->balloon->st;
	out->placeholder_resident = bm_placeholder_resident(gm);
	pthread_mutex_unlock(&gm->lock);
	out->host_bytes_released = out->host_bytes_released > out->placeholder_resident ?
				   out->host_bytes_released - out->placeholder_resident : 0;
}
