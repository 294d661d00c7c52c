/*
 * Cross-thread tests for the slab: objects allocated on one thread and freed
 * on another (remote frees), both ways at once, and threads that exit while
 * holding cpu slabs. The caches must stay consistent.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "fixture.h"
#include "mm/slab.h"

#define RING 1024
#define ROUNDS 200000

/* A one-producer one-consumer ring handing objects to the other thread. */
struct ring {
	void *slot[RING];
	_Atomic unsigned head, tail;
};

struct worker {
	struct slab_cache *c;
	struct ring *out, *in;
	unsigned char tag, peer_tag;   /* what it writes / what the peer writes */
	_Atomic int *done;             /* workers that finished allocating */
	unsigned long freed, bad;
};

static bool ring_push(struct ring *r, void *p)
{
	unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING)
		return false;
	r->slot[h % RING] = p;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return true;
}

static void *ring_pop(struct ring *r)
{
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (t == atomic_load_explicit(&r->head, memory_order_acquire))
		return NULL;
	void *p = r->slot[t % RING];
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return p;
}

static void consume(struct worker *w, void *p)
{
	unsigned char *b = p;
	/* the other thread filled it; it must be untouched until we free it */
	for (int i = 0; i < 64; i++)
		if (b[i] != w->peer_tag)
			w->bad++;
	slab_free(w->c, p);
	w->freed++;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	for (unsigned long n = 0; n < ROUNDS;) {
		unsigned char *p = slab_alloc(w->c);
		if (!p)
			break;
		memset(p, w->tag, 64);
		while (!ring_push(w->out, p)) {
			void *q = ring_pop(w->in);
			if (q)
				consume(w, q);
		}
		n++;
		/* keep some objects local too: frees of own objects mix in */
		if (n % 7 == 0) {
			void *own = slab_alloc(w->c);
			slab_free(w->c, own);
		}
		void *q = ring_pop(w->in);
		if (q)
			consume(w, q);
	}
	/* Keep consuming until the peer is done too, or it could wait
	 * forever on a full ring. */
	atomic_fetch_add(w->done, 1);
	while (atomic_load(w->done) < 2) {
		void *q = ring_pop(w->in);
		if (q)
			consume(w, q);
	}
	return NULL;
}

/* Two threads trade objects both ways. With sheaves, most go round through
 * the barn; without, each is a remote free into a slab the other holds. */
static void cross_thread_frees(unsigned flags)
{
	struct mm_arena *a = fixture_arena(64);
	struct slab_cache_params p = { .size = 64, .order = -1, .flags = SLAB_F_NO_MERGE | flags };
	struct slab_cache *c = slab_cache_create(a, "xthread", &p);
	cr_assert_not_null(c);
	static struct ring ab, ba;
	static _Atomic int done;
	struct worker wa = { .c = c, .out = &ab, .in = &ba, .tag = 0x11, .peer_tag = 0x22, .done = &done };
	struct worker wb = { .c = c, .out = &ba, .in = &ab, .tag = 0x22, .peer_tag = 0x11, .done = &done };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, worker_run, &wa);
	pthread_create(&tb, NULL, worker_run, &wb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	/* drain what is left in the rings on this thread: remote frees too */
	void *q;
	while ((q = ring_pop(&ab)))
		slab_free(c, q);
	while ((q = ring_pop(&ba)))
		slab_free(c, q);
	cr_assert_eq(wa.bad + wb.bad, 0, "objects changed while in flight");
	cr_assert_eq(slab_cache_validate(c), 0);
	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	/* SLOB has one lock and SLAB arrays that take any object: only SLUB
	 * without sheaves frees into slabs other threads hold. */
	if ((flags & SLAB_F_NO_SHEAVES) && fixture_policy_is(a, "slub"))
		cr_assert_gt(info.free_remote, 0, "the test must exercise remote frees");
	slab_cache_shrink(c);
	slab_cache_get_info(c, &info);
	cr_assert_eq(info.num_slabs, 0, "every object was freed, exiting threads gave their slabs back");
	cr_assert_eq(info.held_objs, 0, "exiting threads and the shrink emptied every sheaf and the barn");
	cr_assert_eq(info.active_objs, 0);
	slab_cache_destroy(c, "xthread");
	fixture_finish(a);
}

Test(slab_threads, cross_thread_frees_leave_caches_consistent, .timeout = 60)
{
	cross_thread_frees(0);
}

Test(slab_threads, cross_thread_remote_frees_leave_caches_consistent, .timeout = 60)
{
	cross_thread_frees(SLAB_F_NO_SHEAVES);
}

static void *alloc_and_exit(void *arg)
{
	void **out = arg;
	struct slab_cache *c = out[0];
	for (int i = 1; i < 101; i++)
		out[i] = slab_alloc(c);
	return NULL;   /* exits holding a cpu slab with free objects */
}

Test(slab_threads, exiting_thread_gives_its_slabs_back)
{
	struct mm_arena *a = fixture_arena(8);
	struct slab_cache_params p = { .size = 96, .order = -1, .flags = SLAB_F_NO_MERGE };
	struct slab_cache *c = slab_cache_create(a, "exiter", &p);
	void *objs[101] = { c };
	pthread_t t;
	pthread_create(&t, NULL, alloc_and_exit, objs);
	pthread_join(t, NULL);
	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	cr_assert_eq(info.cpu_slabs, 0, "the exited thread still holds a cpu slab");
	cr_assert_eq(slab_cache_validate(c), 0);
	for (int i = 1; i < 101; i++)
		slab_free(c, objs[i]);
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_destroy(c, "exiter");
	fixture_finish(a);
}
