/*
 * A cache's node lists and the slabs on them: a slab moving to the list its
 * fill level calls for, remote frees taken back into a slab's freelist, new
 * slabs from the buddy, empty ones given back, and corrupt ones quarantined.
 * What a thread holds (its cpu slab and its held lists) is slab_cpu.c's,
 * built on these.
 *
 * Damage control without debug flags: every chain walk is bounded and
 * checked, a chain found corrupt is dropped (its objects leak, counted as in
 * use), and a slab is handed back to the buddy only after its freelist has
 * been counted exactly. Leaking is never corruption; a frame given away
 * while a stale pointer can still write to it would be.
 */
#include <string.h>
#include "slab_internal.h"

void slab_unlist_locked(struct slab_cache *c, struct slab *s)
{
	if (s->list == SLAB_LIST_PARTIAL)
		slab_list_del(&c->partial, s);
	else if (s->list == SLAB_LIST_FULL)
		slab_list_del(&c->full, s);
	s->list = SLAB_LIST_NONE;
}

/* Moves the slab's remote frees onto *list (the holder's chain). Returns the
 * number moved; a corrupt remote chain is reported and dropped. */
unsigned slab_take_remote(struct slab_cache *c, struct slab *s, void **list)
{
	/* Look before the exchange: most slabs have no remote frees, and a
	 * locked instruction per slab switch shows in batch workloads. */
	if (!atomic_load_explicit(&s->remote, memory_order_relaxed))
		return 0;
	void *r = atomic_exchange_explicit(&s->remote, NULL, memory_order_acquire);
	if (!r)
		return 0;
	void *tail;
	long n = slab_chain_len(c, s, r, &tail);
	if (n < 0) {
		slab_report_object(c, s, r, "Remote free list corrupted (double free?); objects leaked");
		c->bad_frees++;
		return 0;
	}
	slab_set_fp(c, tail, *list);
	*list = r;
	return (unsigned)n;
}

void slab_quarantine_locked(struct slab_cache *c, struct slab *s, const char *why)
{
	slab_report_object(c, s, (void *)slab_base(c, s), why);
	slab_unlist_locked(c, s);
	s->list = SLAB_LIST_QUARANTINE;
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	c->nr_quarantined++;
}

/* Gives an empty slab back to the buddy, node lock held. Its freelist must
 * count exactly the slab's objects: anything else means a double free left
 * a live object on it, and the slab is kept out of the buddy for good. */
void slab_discard(struct slab_cache *c, struct slab *s)
{
	bool corrupt;
	unsigned n = slab_walk_freelist(c, s, s->freelist, &corrupt);
	if (corrupt || n != s->objects || atomic_load(&s->remote)) {
		slab_quarantine_locked(c, s, "Freelist does not match an empty slab; slab quarantined");
		return;
	}
	slab_unlist_locked(c, s);
	uint32_t frame = s->frame;
	__atomic_store_n(&s->cache, NULL, __ATOMIC_RELEASE);
	for (unsigned i = 1; i < 1u << c->order; i++)
		__atomic_store_n(&s[i].cache, NULL, __ATOMIC_RELEASE);
	memset(s, 0, sizeof(*s));
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	mm_frames_free(c->zone, frame, c->order);
	c->nr_slabs--;
	c->slabs_freed++;
}

/* Puts a node-held slab on the list its fill level calls for. */
void slab_relist_locked(struct slab_cache *c, struct slab *s, bool keep_empty)
{
	s->inuse -= (uint16_t)slab_take_remote(c, s, &s->freelist);
	if (s->inuse == 0 && !keep_empty && c->partial.nr >= c->min_partial) {
		slab_discard(c, s);
		return;
	}
	enum slab_list want = s->inuse == s->objects ? SLAB_LIST_FULL : SLAB_LIST_PARTIAL;
	if (s->list == want)
		return;
	slab_unlist_locked(c, s);
	slab_list_add(want == SLAB_LIST_FULL ? &c->full : &c->partial, s);
	s->list = want;
}

/* A fresh slab from the buddy, node lock held; node-held, all objects free. */
struct slab *slab_new(struct slab_cache *c)
{
	long fi = mm_frames_alloc(c->zone, c->order, MT_UNMOVABLE, FRAME_VMM, true);
	if (fi < 0)
		return NULL;
	struct slab *s = &c->zone->slabs[fi];
	memset(s, 0, sizeof(*s));
	s->frame = (uint32_t)fi;
	s->objects = (uint16_t)c->objects;
	atomic_store(&s->owner, SLAB_OWNER_NODE);
	uintptr_t base = (uintptr_t)mm_frame_ptr(c->zone, s->frame) + c->red_left;
	void *head = NULL;
	for (unsigned i = c->objects; i-- > 0;) {
		void *obj = (void *)(base + (uintptr_t)i * c->stride);
		if (c->debug)
			slab_debug_init_object(c, obj);
		else if (c->ctor)
			c->ctor(obj);
		slab_set_fp(c, obj, head);
		head = obj;
	}
	s->freelist = head;
	/* The tail frames' descriptors name the cache too (and their head),
	 * so that kfree finds the cache of any address in one load. */
	for (unsigned i = 1; i < 1u << c->order; i++) {
		struct slab *t = &c->zone->slabs[fi + i];
		t->frame = (uint32_t)fi;
		__atomic_store_n(&t->cache, c, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s->cache, c, __ATOMIC_RELEASE);
	c->nr_slabs++;
	c->slabs_allocated++;
	return s;
}
