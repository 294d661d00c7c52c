/*
 * SLAB's array caches: a thread allocates from and frees into its own
 * array with no lock and no locked instruction; an empty array is refilled
 * with batchcount objects from the shared array or the slabs
 * (cache_alloc_refill), a full one flushes batchcount objects to the
 * shared array or back to their slabs (cache_flusharray). Threads without
 * a slot index share the last slot under shared_lock. A thread adopts new
 * tunables and the reaper's request to drain on its slow path: only it
 * may touch its array.
 *
 * Hardening: every free is checked to be an object boundary of a slab of
 * this cache (the zone's descriptor, the slab's first object and the
 * stride) before it enters an array, and a free of the object last freed
 * is refused; other double frees are found when the object goes back to
 * its slab and its index is already free. Both are reported and dropped.
 */
#include <errno.h>
#include <string.h>
#include "classic_internal.h"

/* Gives the n oldest objects of ac back to their slabs. */
static void classic_ac_release(struct slab_cache *c, struct array_cache *ac, unsigned n)
{
	if (!n)
		return;
	pthread_mutex_lock(&c->node_lock);
	classic_free_block_locked(c, ac->entry, n);
	pthread_mutex_unlock(&c->node_lock);
	memmove(ac->entry, ac->entry + n, (ac->avail - n) * sizeof(void *));
	AC_STORE(ac->avail, ac->avail - n);
}

/* The slow path's first step: new tunables (draining what no longer fits)
 * and the reaper's request (drain_array's fifth of the limit). */
void classic_adopt(struct slab_cache *c, struct array_cache *ac)
{
	struct classic_cache *cc = classic_of(c);
	unsigned limit = AC_LOAD(cc->limit), batch = AC_LOAD(cc->batchcount), n = 0;
	if (ac->limit != limit || ac->batchcount != batch) {
		ac->limit = limit;
		ac->batchcount = batch;
		if (ac->avail > limit)
			n = ac->avail - limit;
	}
	if (AC_LOAD(ac->reap_req)) {
		AC_STORE(ac->reap_req, 0);
		unsigned fifth = (ac->limit + 4) / 5;
		if (n < fifth)
			n = fifth < ac->avail ? fifth : ac->avail;
	}
	classic_ac_release(c, ac, n);
}

/* cache_alloc_refill: ac is empty. */
static void *classic_alloc_refill(struct slab_cache *c, struct array_cache *ac, int idx)
{
	struct classic_cache *cc = classic_of(c);
	slab_cpu_count(&c->cpu[idx].alloc_slow);
	classic_adopt(c, ac);
	pthread_mutex_lock(&c->node_lock);
	unsigned want = ac->batchcount - ac->avail, n;
	struct array_cache *sh = cc->shared;
	if (sh && sh->avail) {
		n = sh->avail < want ? sh->avail : want;
		sh->avail -= n;
		memcpy(&ac->entry[ac->avail], &sh->entry[sh->avail], n * sizeof(void *));
		sh->touched = 1;
	} else {
		n = classic_take_locked(c, &ac->entry[ac->avail], want);
	}
	pthread_mutex_unlock(&c->node_lock);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	AC_STORE(ac->avail, ac->avail + n - 1);
	if (!AC_LOAD(ac->touched))
		AC_STORE(ac->touched, 1);
	return ac->entry[ac->avail];
}

static inline void *classic_alloc_ac(struct slab_cache *c, struct array_cache *ac, int idx)
{
	if (likely(ac->avail)) {
		if (unlikely(!AC_LOAD(ac->touched)))
			AC_STORE(ac->touched, 1);
		AC_STORE(ac->avail, ac->avail - 1);
		return ac->entry[ac->avail];
	}
	return classic_alloc_refill(c, ac, idx);
}

void *classic_alloc(struct slab_cache *c, void *caller)
{
	struct classic_cache *cc = classic_of(c);
	int idx = mm_thread_idx();
	(void)caller;
	if (likely(idx >= 0))
		return classic_alloc_ac(c, cc->ac[idx], idx);
	pthread_mutex_lock(&c->shared_lock);
	void *obj = classic_alloc_ac(c, cc->ac[SLAB_SHARED_SLOT], SLAB_SHARED_SLOT);
	pthread_mutex_unlock(&c->shared_lock);
	return obj;
}

/* cache_flusharray: ac is full; batchcount objects to the shared array if
 * it has room, else back to their slabs. */
static void classic_flush(struct slab_cache *c, struct array_cache *ac, int idx)
{
	struct classic_cache *cc = classic_of(c);
	slab_cpu_count(&c->cpu[idx].free_slow);
	classic_adopt(c, ac);
	if (ac->avail < ac->limit)
		return;
	unsigned n = ac->batchcount < ac->avail ? ac->batchcount : ac->avail;
	pthread_mutex_lock(&c->node_lock);
	struct array_cache *sh = cc->shared;
	if (sh && sh->avail < sh->limit) {
		if (n > sh->limit - sh->avail)
			n = sh->limit - sh->avail;
		memcpy(&sh->entry[sh->avail], ac->entry, n * sizeof(void *));
		sh->avail += n;
	} else {
		classic_free_block_locked(c, ac->entry, n);
	}
	pthread_mutex_unlock(&c->node_lock);
	memmove(ac->entry, ac->entry + n, (ac->avail - n) * sizeof(void *));
	AC_STORE(ac->avail, ac->avail - n);
}

static inline void classic_free_ac(struct slab_cache *c, struct array_cache *ac, int idx,
				   struct slab *s, void *obj)
{
	if (unlikely(ac->avail && ac->entry[ac->avail - 1] == obj)) {
		slab_report_object(c, s, obj, "Object already free");
		atomic_fetch_add(&c->bad_frees, 1);
		return;
	}
	if (unlikely(ac->avail >= ac->limit))
		classic_flush(c, ac, idx);
	ac->entry[ac->avail] = obj;
	AC_STORE(ac->avail, ac->avail + 1);
}

/* The slab of obj if obj is an object of c, else NULL (reported, counted). */
static struct slab *classic_check(struct slab_cache *c, void *obj)
{
	struct slab *s = slab_of_zone(c->zone, obj);
	if (likely(s && s->cache == c && slab_obj_valid(c, s, obj)))
		return s;
	if (!s)
		s = slab_of(c->arena, obj);   /* another zone's cache, perhaps */
	slab_report_object(c, NULL, obj, !s ? "Object is not in a slab (foreign pointer)" :
				 s->cache != c ? "Object belongs to another cache" :
				 "Invalid object pointer");
	atomic_fetch_add(&c->bad_frees, 1);
	return NULL;
}

void classic_free(struct slab_cache *c, void *obj, void *caller)
{
	struct classic_cache *cc = classic_of(c);
	(void)caller;
	struct slab *s = classic_check(c, obj);
	if (unlikely(!s))
		return;
	int idx = mm_thread_idx();
	if (likely(idx >= 0)) {
		classic_free_ac(c, cc->ac[idx], idx, s, obj);
		return;
	}
	pthread_mutex_lock(&c->shared_lock);
	classic_free_ac(c, cc->ac[SLAB_SHARED_SLOT], SLAB_SHARED_SLOT, s, obj);
	pthread_mutex_unlock(&c->shared_lock);
}

/* Everything slot idx holds back to the slabs: its thread is leaving or
 * asks (shrink), or the cache goes away. The shared slot's caller holds
 * shared_lock. */
void classic_drain_slot(struct slab_cache *c, int idx)
{
	struct array_cache *ac = classic_of(c)->ac[idx];
	if (!ac->avail)
		return;   /* and an unused slot's page stays untouched */
	classic_ac_release(c, ac, ac->avail);
	AC_STORE(ac->touched, 0);
	AC_STORE(ac->reap_req, 0);
}

void classic_shared_drain_locked(struct slab_cache *c, unsigned n)
{
	struct array_cache *sh = classic_of(c)->shared;
	if (!sh || !n)
		return;
	if (n > sh->avail)
		n = sh->avail;
	classic_free_block_locked(c, sh->entry, n);
	memmove(sh->entry, sh->entry + n, (sh->avail - n) * sizeof(void *));
	sh->avail -= n;
}
