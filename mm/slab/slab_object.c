/*
 * Finding slabs and objects: the slab an arena address lies in, whether an
 * address is the start of an object of a slab, and the bounded walk of a
 * free chain that every path trusts before it follows or counts one. Calls
 * nothing of the slab's other files.
 */
#include "slab_internal.h"

struct slab *slab_of(struct mm_arena *a, const void *p)
{
	for (int i = 0; i < MM_NR_ZONES; i++) {
		struct slab *s = slab_of_zone(&a->zone[i], p);
		if (s)
			return s;
	}
	return NULL;
}

bool slab_obj_valid(const struct slab_cache *c, const struct slab *s, const void *obj)
{
	uintptr_t base = slab_base(c, s) + s->first + c->red_left;
	if ((uintptr_t)obj < base)
		return false;
	uintptr_t off = (uintptr_t)obj - base;
	if (off >= (uintptr_t)s->objects * c->stride)
		return false;
	return (uintptr_t)slab_obj_index(c, off) * c->stride == off;
}

long slab_chain_len(const struct slab_cache *c, const struct slab *s, void *head, void **tail)
{
	long n = 0;
	void *last = NULL;
	for (void *p = head; p; p = slab_get_fp(c, p)) {
		if (n >= s->objects || !slab_obj_valid(c, s, p))
			return -1;
		last = p;
		n++;
	}
	if (tail)
		*tail = last;
	return n;
}

unsigned slab_walk_freelist(const struct slab_cache *c, const struct slab *s, void *head,
			    bool *corrupt)
{
	long n = slab_chain_len(c, s, head, NULL);
	*corrupt = n < 0;
	return n < 0 ? 0 : (unsigned)n;
}
