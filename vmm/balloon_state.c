/*
 * The balloon state of each guest (balloon_mem_internal.h): one bit per
 * GFN, ballooned or not, and per 2 MiB unit of a region how many of its
 * pieces are ballooned, which zone backs it and whether it has a mapping of
 * its own; found by the guest_mem's address, made on first use, dropped by
 * balloon_mem_forget. Plus the counters balloon_mem_stats reads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "balloon_mem_internal.h"

static pthread_mutex_t bm_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bm_state *bm_registry;

static void bm_state_free(struct bm_state *s)
{
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		free(s->bits[i]);
		free(s->units[i]);
	}
	free(s);
}

struct bm_state *bm_state_of(struct guest_mem *gm, bool create)
{
	pthread_mutex_lock(&bm_registry_lock);
	struct bm_state *s = bm_registry;
	while (s && s->gm != gm)
		s = s->next;
	if (!s && create) {
		s = calloc(1, sizeof(*s));
		for (unsigned i = 0; s && i < gm->nr_regions; i++) {
			uint64_t frames = gm->region[i].size >> PAGE_SHIFT;
			s->bits[i] = calloc((frames + 63) / 64, sizeof(uint64_t));
			s->units[i] = calloc((frames + GM_HUGE_FRAMES - 1) / GM_HUGE_FRAMES,
					     sizeof(struct bm_unit));
			if (!s->bits[i] || !s->units[i]) {
				bm_state_free(s);
				s = NULL;
			}
		}
		if (s) {
			s->gm = gm;
			s->next = bm_registry;
			bm_registry = s;
		}
	}
	pthread_mutex_unlock(&bm_registry_lock);
	return s;
}

void balloon_mem_forget(struct guest_mem *gm)
{
	pthread_mutex_lock(&bm_registry_lock);
	for (struct bm_state **pp = &bm_registry; *pp; pp = &(*pp)->next) {
		if ((*pp)->gm == gm) {
			struct bm_state *s = *pp;
			*pp = s->next;
			bm_state_free(s);
			break;
		}
	}
	pthread_mutex_unlock(&bm_registry_lock);
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


void balloon_mem_stats(struct guest_mem *gm, struct balloon_mem_stats *out)
{
	struct bm_state *s = bm_state_of(gm, false);

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	pthread_mutex_lock(&gm->lock);
	*out = s->st;
	pthread_mutex_unlock(&gm->lock);
}
