/*
 * SLUB's sheaves and barn (mm/slab/slub_sheaf.c): capacities by object
 * size, refills in slab order, the spare and the barn taking a thread's
 * frees and giving them to another thread, flushes when the barn is full,
 * and shrinking and thread exit emptying them; held_objs says how many free
 * objects they hold. Every test ends with I1 and I3 (fixture_finish).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "fixture.h"
#include "report_capture.h"
#include "mm/slab.h"
#include "mm/slab/slab_internal.h"

static struct mm_arena *slub_arena(size_t mib)
{
	struct mm_arena_config cfg = {
		.normal_bytes = mib << 20, .huge = MM_HUGE_OFF, .slab_policy = MM_SLAB_SLUB,
	};
	return fixture_arena_cfg(&cfg);
}

static unsigned long held(struct slab_cache *c)
{
	struct slab_cache_info i;
	slab_cache_get_info(c, &i);
	return i.held_objs;
}

Test(slub_sheaf, capacity_follows_object_size)
{
	static const struct { size_t size; unsigned cap; } want[] = {
		{ 8, 60 }, { 255, 60 }, { 256, 26 }, { 1024, 26 }, { 1025, 12 },
		{ 4096, 12 }, { 4097, 4 }, { 8192, 4 },
	};
	struct mm_arena *a = slub_arena(16);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "cap-%zu", want[i].size);
		struct slab_cache *c = fixture_cache(a, name, want[i].size, SLAB_F_NO_MERGE);
		cr_assert_eq(c->sheaf_capacity, want[i].cap, "%zu B", want[i].size);
		cr_assert_geq(c->barn_max, 4 * c->sheaf_capacity);
		cr_assert_leq(c->barn_max, SLAB_BARN_MAX);
		slab_cache_destroy(c, name);
	}
	struct slab_cache *c = fixture_cache(a, "nosheaves", 64, SLAB_F_NO_MERGE | SLAB_F_NO_SHEAVES);
	cr_assert_eq(c->sheaf_capacity, 0);
	void *x = slab_alloc(c);
	slab_free(c, x);
	cr_assert_eq(held(c), 0, "no sheaf: the object went straight to its slab");
	slab_cache_destroy(c, "nosheaves");
	fixture_finish(a);
}

Test(slub_sheaf, refill_takes_a_sheaf_in_slab_order_and_frees_are_lifo)
{
	struct mm_arena *a = slub_arena(16);
	struct slab_cache *c = fixture_cache(a, "order", 64, SLAB_F_NO_MERGE);
	char *x = slab_alloc(c);
	cr_assert_eq(held(c), c->sheaf_capacity - 1, "one refill fills the whole sheaf");
	char *y = slab_alloc(c);
	cr_assert_eq(y, x + c->stride, "a refill hands out a fresh slab in address order");
	slab_free(c, y);
	cr_assert_eq(slab_alloc(c), y, "the last object freed is the next handed out");
	slab_free(c, x);
	slab_free(c, y);
	cr_assert_eq(held(c), c->sheaf_capacity, "x and y are back: the sheaf is as the refill left it");
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_destroy(c, "order");
	fixture_finish(a);
}

struct taker {
	struct slab_cache *c;
	unsigned n;
	void **got;
	uint64_t alloc_slow_before, alloc_slow_after;
};

static void *take_from_barn(void *arg)
{
	struct taker *t = arg;
	struct slab_cache_info i;
	slab_cache_get_info(t->c, &i);
	t->alloc_slow_before = i.alloc_slow;
	for (unsigned k = 0; k < t->n; k++)
		t->got[k] = slab_alloc(t->c);
	slab_cache_get_info(t->c, &i);
	t->alloc_slow_after = i.alloc_slow;
	for (unsigned k = 0; k < t->n; k++)
		slab_free(t->c, t->got[k]);
	return NULL;
}

/* Frees beyond the main and spare sheaves go to the barn; another thread's
 * allocations then come from there, without touching a slab. */
Test(slub_sheaf, the_barn_carries_frees_to_another_thread)
{
	struct mm_arena *a = slub_arena(16);
	struct slab_cache *c = fixture_cache(a, "barn", 64, SLAB_F_NO_MERGE);
	unsigned cap = c->sheaf_capacity, n = 4 * cap;
	void **objs = calloc(n, sizeof(void *)), **got = calloc(cap, sizeof(void *));
	for (unsigned i = 0; i < n; i++)
		objs[i] = slab_alloc(c);
	for (unsigned i = 0; i < n; i++)
		slab_free(c, objs[i]);
	cr_assert_geq(held(c), n, "every free object is held by a sheaf or the barn");
	cr_assert_geq(c->barn_nr, n - 2 * cap, "what main and spare could not take is in the barn");
	struct taker t = { .c = c, .n = cap, .got = got };
	pthread_t th;
	pthread_create(&th, NULL, take_from_barn, &t);
	pthread_join(th, NULL);
	cr_assert_eq(t.alloc_slow_after, t.alloc_slow_before, "the barn served them, no slab did");
	for (unsigned k = 0; k < cap; k++) {
		bool mine = false;
		for (unsigned i = 0; i < n && !mine; i++)
			mine = got[k] == objs[i];
		cr_assert(mine, "object %u came from somewhere else than the frees", k);
	}
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_shrink(c);
	struct slab_cache_info i;
	slab_cache_get_info(c, &i);
	cr_assert_eq(i.held_objs, 0, "shrinking empties this thread's sheaves and the barn");
	cr_assert_eq(i.num_slabs, 0);
	free(objs);
	free(got);
	slab_cache_destroy(c, "barn");
	fixture_finish(a);
}

/* With the barn full, a full main sheaf is flushed to the slabs: what the
 * sheaves and the barn hold stays bounded, whatever a thread frees. */
Test(slub_sheaf, a_full_barn_sends_frees_back_to_the_slabs)
{
	struct mm_arena *a = slub_arena(32);
	struct slab_cache *c = fixture_cache(a, "flush", 64, SLAB_F_NO_MERGE);
	unsigned n = c->barn_max + 8 * c->sheaf_capacity;
	void **objs = calloc(n, sizeof(void *));
	for (unsigned i = 0; i < n; i++)
		objs[i] = slab_alloc(c);
	for (unsigned i = 0; i < n; i++)
		slab_free(c, objs[i]);
	cr_assert_gt(c->barn_nr + c->sheaf_capacity, c->barn_max, "whole sheaves filled the barn");
	cr_assert_leq(held(c), c->barn_max + 2 * c->sheaf_capacity);
	cr_assert_eq(slab_cache_validate(c), 0);
	free(objs);
	slab_cache_destroy(c, "flush");
	fixture_finish(a);
}

static void *alloc_free_exit(void *arg)
{
	struct slab_cache *c = arg;
	void *objs[100];
	for (int i = 0; i < 100; i++)
		objs[i] = slab_alloc(c);
	for (int i = 0; i < 100; i++)
		slab_free(c, objs[i]);
	return NULL;
}

/* A leaving thread's sheaves go to the barn (the next thread starts from
 * there), and nothing stays in its slot. */
Test(slub_sheaf, an_exiting_thread_empties_its_sheaves)
{
	struct mm_arena *a = slub_arena(16);
	struct slab_cache *c = fixture_cache(a, "exit", 64, SLAB_F_NO_MERGE);
	pthread_t th;
	pthread_create(&th, NULL, alloc_free_exit, c);
	pthread_join(th, NULL);
	cr_assert_eq(held(c), c->barn_nr, "only the barn holds objects after the thread left");
	cr_assert_geq(c->barn_nr, 100, "the thread's 100 frees went to the barn");
	slab_cache_destroy(c, "exit");
	fixture_finish(a);
}

Test(slub_sheaf, bad_frees_never_reach_a_sheaf)
{
	struct mm_arena *a = slub_arena(16);
	struct slab_cache *c = fixture_cache(a, "mine", 64, SLAB_F_NO_MERGE);
	struct slab_cache *other = fixture_cache(a, "theirs", 64, SLAB_F_NO_MERGE);
	char *x = slab_alloc(c);
	void *o = slab_alloc(other);
	unsigned long before = held(c);
	report_capture_start();
	slab_free(c, x);
	slab_free(c, x);
	cr_assert(report_capture_has("mine", x, "already free"), "%s", report_capture_text());
	slab_free(c, o);
	cr_assert(report_capture_has("mine", o, "another cache"), "%s", report_capture_text());
	slab_free(c, x + 8);
	cr_assert(report_capture_has("mine", x + 8, "Invalid object pointer"), "%s",
		  report_capture_text());
	report_capture_stop();
	cr_assert_eq(held(c), before + 1, "only the one good free is held");
	void *p1 = slab_alloc(c), *p2 = slab_alloc(c);
	cr_assert_neq(p1, p2, "the refused double free handed one object out twice");
	slab_free(c, p1);
	slab_free(c, p2);
	slab_free(other, o);
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_destroy(c, "mine");
	slab_cache_destroy(other, "theirs");
	fixture_finish(a);
}
