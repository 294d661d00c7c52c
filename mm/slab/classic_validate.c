/*
 * Checking a SLAB cache (slab_cache_validate): each slab on the list its
 * fill level calls for, its index array a set of distinct indexes in
 * range, the lists' counts, the free-object count and the slab count
 * against all of those, and the shared array's entries objects of the
 * cache. Runs with the node lock held; threads' arrays are their own and
 * not read here.
 */
#include "classic_internal.h"

/* One slab: its list matches its fill, its free indices are distinct and
 * in range. Returns its free objects, or -1 (reported). */
static long classic_validate_slab(struct slab_cache *c, struct slab *s, enum slab_list kind)
{
	struct classic_cache *cc = classic_of(c);
	uint64_t seen[(UINT16_MAX + 1) / 64] = { 0 };
	const char *why = NULL;
	enum slab_list want = s->inuse == 0 ? SLAB_LIST_FREE :
			      s->inuse == s->objects ? SLAB_LIST_FULL : SLAB_LIST_PARTIAL;
	if (s->cache != c || s->list != kind || atomic_load(&s->owner) != SLAB_OWNER_NODE)
		why = "on the wrong list";
	else if (s->objects != c->objects || s->inuse > s->objects)
		why = "has bad counters";
	else if (want != kind)
		why = "is on the list of another fill level";
	for (unsigned j = s->inuse; !why && j < s->objects; j++) {
		unsigned i = classic_idx_get(cc, s, j);
		if (i >= s->objects || (seen[i / 64] >> (i % 64)) & 1)
			why = "has a corrupt index freelist";
		else
			seen[i / 64] |= 1ull << (i % 64);
	}
	if (why) {
		slab_report("BUG %s: slab 0x%016lx %s (objects=%u active=%u)\n", c->name,
			    (unsigned long)slab_base(c, s), why, s->objects, s->inuse);
		return -1;
	}
	return s->objects - s->inuse;
}

int classic_validate_slabs_locked(struct slab_cache *c)
{
	struct classic_cache *cc = classic_of(c);
	static const enum slab_list kinds[] = { SLAB_LIST_PARTIAL, SLAB_LIST_FULL, SLAB_LIST_FREE };
	int errors = 0;
	unsigned long nfree = 0, listed = 0;
	for (unsigned k = 0; k < 3; k++) {
		struct slab_list_head *h = classic_list(c, kinds[k]);
		unsigned long n = 0;
		for (struct slab *s = h->first; s; s = s->next, n++) {
			long f = classic_validate_slab(c, s, kinds[k]);
			if (f < 0)
				errors++;
			else
				nfree += (unsigned long)f;
		}
		if (n != h->nr) {
			slab_report("BUG %s: list counts %lu slabs, holds %lu\n", c->name, h->nr, n);
			errors++;
		}
		listed += n;
	}
	if (!errors && nfree != cc->free_objects) {
		slab_report("BUG %s: %lu free objects counted, %lu on the slabs\n", c->name,
			    cc->free_objects, nfree);
		errors++;
	}
	if (listed != c->nr_slabs) {
		slab_report("BUG %s: %lu slabs allocated, %lu accounted for\n", c->name,
			    c->nr_slabs, listed);
		errors++;
	}
	struct array_cache *sh = cc->shared;
	for (unsigned i = 0; sh && i < sh->avail; i++) {
		struct slab *s = slab_of_zone(c->zone, sh->entry[i]);
		if (!s || s->cache != c || !slab_obj_valid(c, s, sh->entry[i])) {
			slab_report("BUG %s: shared array entry 0x%016lx is not an object of the cache\n",
				    c->name, (unsigned long)(uintptr_t)sh->entry[i]);
			errors++;
		}
	}
	return errors;
}
