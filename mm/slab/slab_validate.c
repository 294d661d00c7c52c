/*
 * Checking a cache: every slab's freelist against its counters (and, with
 * debug flags, every free object's red zones and poison), every node list
 * and every thread's held lists against the slabs on them, and the slab
 * count against all of those. Debug caches check a slab this way on each
 * alloc and free (flag F); slab_cache_validate checks everything.
 */
#include <errno.h>
#include "slab_internal.h"

/* F: the slab's freelist must be valid and count objects - inuse. */
int slab_validate_slab(struct slab_cache *c, struct slab *s)
{
	bool corrupt;
	unsigned n = slab_walk_freelist(c, s, s->freelist, &corrupt);
	if (corrupt || n != (unsigned)(s->objects - s->inuse)) {
		slab_debug_report(c, s, (void *)slab_base(c, s),
				  corrupt ? "Freelist corrupted" : "Wrong number of free objects", NULL);
		return -EUCLEAN;
	}
	if (!c->debug)
		return 0;
	int rc = 0;
	for (void *p = s->freelist; p; p = slab_get_fp(c, p)) {
		if (!slab_debug_check_free(c, s, p))
			rc = -EUCLEAN;
	}
	return rc;
}

/* Checks one node list; returns the number of problems found. */
static int slab_validate_list(struct slab_cache *c, struct slab_list_head *h, enum slab_list kind)
{
	int errors = 0;
	unsigned long n = 0;
	for (struct slab *s = h->first; s; s = s->next, n++) {
		if (s->cache != c || s->list != kind || atomic_load(&s->owner) != SLAB_OWNER_NODE) {
			slab_report("BUG %s: slab 0x%016lx on the wrong list\n", c->name,
				    (unsigned long)slab_base(c, s));
			errors++;
			continue;
		}
		void *remote = atomic_load(&s->remote);
		if (slab_validate_slab(c, s))
			errors++;
		if (kind == SLAB_LIST_FULL && s->inuse != s->objects && !remote) {
			slab_report("BUG %s: slab 0x%016lx on the full list has free objects\n",
				    c->name, (unsigned long)slab_base(c, s));
			errors++;
		}
		if (kind == SLAB_LIST_PARTIAL && s->inuse == s->objects && !remote) {
			slab_report("BUG %s: slab 0x%016lx on the partial list is full\n",
				    c->name, (unsigned long)slab_base(c, s));
			errors++;
		}
	}
	if (n != h->nr) {
		slab_report("BUG %s: list counts %lu slabs, holds %lu\n", c->name, h->nr, n);
		errors++;
	}
	return errors;
}

/* Checks one of slot idx's lists of held slabs. */
static int slab_validate_held(struct slab_cache *c, struct slab_list_head *h, int idx,
			      enum slab_list kind)
{
	int errors = 0;
	unsigned long n = 0;
	for (struct slab *s = h->first; s; s = s->next, n++) {
		bool corrupt;
		unsigned nfree = slab_walk_freelist(c, s, s->freelist, &corrupt);
		if (corrupt || nfree != (unsigned)(s->objects - s->inuse) || s->list != kind ||
		    atomic_load(&s->owner) != idx || (kind == SLAB_LIST_CPU_FULL && nfree)) {
			slab_report("BUG %s: slab 0x%016lx held by slot %d is corrupt\n", c->name,
				    (unsigned long)slab_base(c, s), idx);
			errors++;
		}
	}
	if (n != h->nr) {
		slab_report("BUG %s: slot %d counts %lu held slabs, holds %lu\n", c->name, idx,
			    h->nr, n);
		errors++;
	}
	return errors;
}

/* Meant for quiet moments (tests, the monitor): it reads other threads'
 * slots, which only their threads write. */
int slub_validate(struct slab_cache *c)
{
	int errors = 0;
	pthread_mutex_lock(&c->node_lock);
	errors += slab_validate_list(c, &c->partial, SLAB_LIST_PARTIAL);
	errors += slab_validate_list(c, &c->full, SLAB_LIST_FULL);
	unsigned long held = 0;
	for (int i = 0; i <= MM_MAX_THREADS; i++) {
		struct slab_cpu *cpu = &c->cpu[i];
		held += (cpu->slab ? 1 : 0) + cpu->partial.nr + cpu->full.nr;
		if (cpu->slab) {
			bool corrupt;
			slab_walk_freelist(c, cpu->slab, cpu->freelist, &corrupt);
			if (corrupt || atomic_load(&cpu->slab->owner) != i) {
				slab_report("BUG %s: cpu slab of slot %d is corrupt\n", c->name, i);
				errors++;
			}
		}
		errors += slab_validate_held(c, &cpu->partial, i, SLAB_LIST_CPU_PARTIAL);
		errors += slab_validate_held(c, &cpu->full, i, SLAB_LIST_CPU_FULL);
	}
	unsigned long listed = c->partial.nr + c->full.nr + held + c->nr_quarantined;
	if (listed != c->nr_slabs) {
		slab_report("BUG %s: %lu slabs allocated, %lu accounted for\n", c->name,
			    c->nr_slabs, listed);
		errors++;
	}
	pthread_mutex_unlock(&c->node_lock);
	return errors ? -EUCLEAN : 0;
}
