/*
 * The slab over an arena's zones: each zone's slab descriptors (one per
 * frame, so that any address finds its slab without a lookup), and the
 * caches still on a zone as it goes. The arena attaches each zone as it is
 * created and detaches it as it goes, reporting objects still in use.
 */
#include <errno.h>
#include <sys/mman.h>
#include "slab_internal.h"

int slab_zone_attach(struct mm_zone *z)
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

/* Called as the arena goes away: caches their users never destroyed are
 * freed here, reporting any objects still in use. */
void slab_zone_detach(struct mm_zone *z)
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
	if (z->slabs)
		munmap(z->slabs, (size_t)z->buddy.nr_frames * sizeof(struct slab));
	z->slabs = NULL;
}
