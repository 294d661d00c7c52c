/*
 * The slab over an arena's zones: the list of the arena's caches, and each
 * zone's slab descriptors (one per frame, so that any address finds its slab
 * without a lookup). mm_create attaches the slab after creating the arena;
 * mm_destroy detaches it before the arena goes, freeing the caches their
 * users never destroyed.
 */
#include <errno.h>
#include <sys/mman.h>
#include "slab_internal.h"

static int slab_zone_attach(struct mm_zone *z)
{
	size_t bytes = (size_t)z->buddy.nr_frames * sizeof(struct slab);
	/* Touched only where slabs live, and those cluster in unmovable
	 * pageblocks, so most of this array never costs memory. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	z->slabs = p;
	return 0;
}

/* Caches their users never destroyed are freed here, reporting any objects
 * still in use. */
static void slab_zone_free_caches(struct mm_zone *z)
{
	struct mm_arena *a = z->arena;
	for (;;) {
		pthread_mutex_lock(&a->caches_lock);
		struct slab_cache **pp = &a->caches;
		while (*pp && (*pp)->zone != z)
			pp = &(*pp)->next_in_arena;
		struct slab_cache *c = *pp;
		if (c)
			*pp = c->next_in_arena;
		pthread_mutex_unlock(&a->caches_lock);
		if (!c)
			break;
		slab_cache_free(c);
	}
}

static void slab_zone_detach(struct mm_zone *z)
{
	if (z->slabs)
		munmap(z->slabs, (size_t)z->buddy.nr_frames * sizeof(struct slab));
	z->slabs = NULL;
}

/* The policy's arena state comes after the zones' descriptors (SLOB's
 * pages use them) and goes before them. */
int slab_arena_attach(struct mm_arena *a, enum mm_slab_policy policy)
{
	int rc = slab_policy_choose(a, policy);
	if (rc)
		return rc;
	pthread_mutex_init(&a->caches_lock, NULL);
	int id = 0;
	for (; id < MM_NR_ZONES && !rc; id++)
		if (a->zone[id].present)
			rc = slab_zone_attach(&a->zone[id]);
	if (!rc && a->slab_policy->arena_init)
		rc = a->slab_policy->arena_init(a);
	if (rc) {
		while (--id >= 0)
			if (a->zone[id].present)
				slab_zone_detach(&a->zone[id]);
		pthread_mutex_destroy(&a->caches_lock);
	}
	return rc;
}

void slab_arena_detach(struct mm_arena *a)
{
	for (int id = MM_NR_ZONES - 1; id >= 0; id--)
		if (a->zone[id].present)
			slab_zone_free_caches(&a->zone[id]);
	if (a->slab_policy->arena_fini)
		a->slab_policy->arena_fini(a);
	for (int id = MM_NR_ZONES - 1; id >= 0; id--)
		if (a->zone[id].present)
			slab_zone_detach(&a->zone[id]);
	pthread_mutex_destroy(&a->caches_lock);
}
