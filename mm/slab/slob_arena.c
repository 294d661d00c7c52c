/*
 * SLOB's state in an arena (a->slab_policy_data): the one lock every SLOB
 * path takes, the lists of pages and big blocks, the key of kmalloc's
 * header check word, and the arena-wide numbers (slob_arena_stats): SLOB's
 * pages are shared by every cache and by kmalloc, so pages held is a number
 * of the arena, not of a cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include "slob_internal.h"

int slob_arena_init(struct mm_arena *a)
{
	struct slob_arena *sa = calloc(1, sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	pthread_mutex_init(&sa->lock, NULL);
	sa->zone = mm_zone_get(a, ZONE_NORMAL);
	if (getrandom(&sa->key, sizeof(sa->key), 0) != sizeof(sa->key))
		sa->key = (uint32_t)(uintptr_t)sa ^ 0x9e3779b9u;
	a->slab_policy_data = sa;
	return 0;
}

/* Runs after every cache is gone: what is still held are kmalloc objects
 * nobody freed (and leaked caches' objects, reported already). Their frames
 * go with the arena. */
void slob_arena_fini(struct mm_arena *a)
{
	struct slob_arena *sa = slob_arena(a);
	if (!sa)
		return;
	unsigned long pages = 0;
	for (int i = 0; i < SLOB_NR_LISTS; i++)
		pages += sa->list[i].nr;
	if (pages)
		slab_report("SLOB: %lu pages and big blocks still hold objects at arena teardown\n",
			    pages);
	pthread_mutex_destroy(&sa->lock);
	free(sa);
	a->slab_policy_data = NULL;
}

int slob_arena_stats(struct mm_arena *a, struct slob_arena_stats *out)
{
	/* The arena runs SLOB when SLOB set it up (no arrow back to its table). */
	struct slob_arena *sa = a && a->slab_policy->arena_init == slob_arena_init ?
				slob_arena(a) : NULL;
	if (!sa || !out)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&sa->lock);
	out->pages[0] = sa->list[SLOB_SMALL].nr;
	out->pages[1] = sa->list[SLOB_MEDIUM].nr;
	out->pages[2] = sa->list[SLOB_LARGE].nr;
	out->full_pages = sa->list[SLOB_FULL].nr;
	out->big_blocks = sa->list[SLOB_BIG].nr;
	out->big_pages = sa->big_pages;
	out->free_bytes = 0;
	for (int i = SLOB_SMALL; i <= SLOB_LARGE; i++)
		for (struct slab *s = sa->list[i].first; s; s = s->next)
			out->free_bytes += (unsigned long)s->objects * SLOB_UNIT;
	out->pages_held = out->pages[0] + out->pages[1] + out->pages[2] + out->full_pages +
			  out->big_pages;
	out->pages_allocated = sa->pages_allocated;
	out->pages_freed = sa->pages_freed;
	out->bad_frees = sa->bad_frees;
	pthread_mutex_unlock(&sa->lock);
	return 0;
}
