/*
 * SLAB's run-time tuning and its reaper: new tunables from
 * slab_cache_tune (do_tune_cpucache), one reaper round over a cache
 * (cache_reap), and the arena's reaper thread that runs slab_reap every
 * SLAB_REAP_MS. Linux also drains alien caches here; those exist only with
 * more than one NUMA node, and an arena has one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "classic_internal.h"

/*
 * caches_lock held, arguments checked. The shared array is resized at
 * once under the node lock, and the shared slot under its lock; other
 * threads' arrays belong to their threads' fast paths, so each thread
 * adopts the new limit and batchcount on its next slow path (draining what
 * no longer fits), as every CPU ran do_ccupdate_local for itself.
 */
int classic_tune(struct slab_cache *c, const struct slab_tunables *t)
{
	struct classic_cache *cc = classic_of(c);
	unsigned cap = t->sharedfactor * t->batchcount;
	struct array_cache *sh = NULL;
	if (cap) {
		sh = calloc(1, sizeof(*sh) + cap * sizeof(void *));
		if (!sh)
			return -ENOMEM;
		sh->limit = sh->batchcount = cap;
	}
	pthread_mutex_lock(&c->shared_lock);
	pthread_mutex_lock(&c->node_lock);
	struct array_cache *old = cc->shared;
	if (old) {
		/* Keep the most recently freed (the hottest) objects. */
		unsigned keep = sh ? (old->avail < cap ? old->avail : cap) : 0;
		classic_shared_drain_locked(c, old->avail - keep);
		if (sh) {
			memcpy(sh->entry, old->entry, keep * sizeof(void *));
			sh->avail = keep;
		}
	}
	cc->shared = sh;
	classic_set_tunables(c, t->limit, t->batchcount, t->sharedfactor);
	pthread_mutex_unlock(&c->node_lock);
	free(old);
	classic_adopt(c, cc->ac[SLAB_SHARED_SLOT]);
	pthread_mutex_unlock(&c->shared_lock);
	return 0;
}

/*
 * One reaper round (caches_lock held). An array its thread allocated from
 * since the last round is only marked untouched; an untouched one is asked
 * to drain a fifth of its limit, which its thread does on its next slow
 * path: the reaper cannot take objects out of an array whose fast path
 * takes no lock. The shared slot and the shared array are lock-protected,
 * so those are drained here, as are free slabs nobody took since the last
 * round ((free_limit + 5 * objects - 1) / (5 * objects) of them, as
 * drain_freelist). Returns frames freed.
 */
size_t classic_reap(struct slab_cache *c)
{
	struct classic_cache *cc = classic_of(c);
	for (int i = 0; i < MM_MAX_THREADS; i++) {
		struct array_cache *ac = cc->ac[i];
		if (!AC_LOAD(ac->avail))
			continue;
		if (AC_LOAD(ac->touched))
			AC_STORE(ac->touched, 0);
		else
			AC_STORE(ac->reap_req, 1);
	}
	pthread_mutex_lock(&c->shared_lock);
	struct array_cache *ac = cc->ac[SLAB_SHARED_SLOT];
	if (ac->avail) {
		if (ac->touched)
			AC_STORE(ac->touched, 0);
		else
			AC_STORE(ac->reap_req, 1);
		classic_adopt(c, ac);
	}
	pthread_mutex_unlock(&c->shared_lock);

	pthread_mutex_lock(&c->node_lock);
	struct array_cache *sh = cc->shared;
	if (sh && sh->avail) {
		if (sh->touched)
			sh->touched = 0;
		else
			classic_shared_drain_locked(c, (sh->limit + 4) / 5);
	}
	size_t freed = 0;
	if (cc->free_touched)
		cc->free_touched = false;
	else
		freed = classic_free_slabs_locked(c, (cc->free_limit + 5 * c->objects - 1) /
						  (5 * c->objects));
	pthread_mutex_unlock(&c->node_lock);
	return freed;
}

static void *classic_reaper(void *arg)
{
	struct mm_arena *a = arg;
	struct classic_arena *ca = a->slab_policy_data;
	pthread_mutex_lock(&ca->reap_lock);
	while (!ca->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += SLAB_REAP_MS / 1000;
		ts.tv_nsec += (SLAB_REAP_MS % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!ca->stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&ca->reap_cond, &ca->reap_lock, &ts);
		if (ca->stop)
			break;
		pthread_mutex_unlock(&ca->reap_lock);
		/* The reaper never takes a thread slot: the frames it frees go
		 * straight to the buddy instead of waiting in a per-thread
		 * cache of a thread that never allocates. */
		mm_thread_idx_plus1 = -(1 << 30);
		slab_reap(a);
		pthread_mutex_lock(&ca->reap_lock);
	}
	pthread_mutex_unlock(&ca->reap_lock);
	return NULL;
}

int classic_arena_init(struct mm_arena *a)
{
	struct classic_arena *ca = calloc(1, sizeof(*ca));
	if (!ca)
		return -ENOMEM;
	pthread_mutex_init(&ca->reap_lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ca->reap_cond, &attr);
	pthread_condattr_destroy(&attr);
	a->slab_policy_data = ca;
	int rc = pthread_create(&ca->reaper, NULL, classic_reaper, a);
	if (rc) {
		pthread_cond_destroy(&ca->reap_cond);
		pthread_mutex_destroy(&ca->reap_lock);
		a->slab_policy_data = NULL;
		free(ca);
		return -rc;
	}
	return 0;
}

/* After the last cache: the reaper is woken (mm_destroy does not wait for
 * its period) and joined. */
void classic_arena_fini(struct mm_arena *a)
{
	struct classic_arena *ca = a->slab_policy_data;
	if (!ca)
		return;
	pthread_mutex_lock(&ca->reap_lock);
	ca->stop = true;
	pthread_cond_signal(&ca->reap_cond);
	pthread_mutex_unlock(&ca->reap_lock);
	pthread_join(ca->reaper, NULL);
	pthread_cond_destroy(&ca->reap_cond);
	pthread_mutex_destroy(&ca->reap_lock);
	a->slab_policy_data = NULL;
	free(ca);
}
