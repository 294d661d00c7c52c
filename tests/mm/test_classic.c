/*
 * Tests for the SLAB policy (mm/slab/classic_*.c), on arenas that ask for
 * it: array caches refilled and flushed in batchcount units through the
 * shared array, colouring, on-slab and off-slab index arrays, tunables,
 * the reaper, and frees on other threads than the allocating one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fixture.h"
#include "report_capture.h"
#include "mm/mm.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "mm/slab/classic_internal.h"

static struct mm_arena *classic_arena(size_t mib)
{
	struct mm_arena_config cfg = {
		.normal_bytes = mib << 20,
		.huge = MM_HUGE_OFF,
		.slab_policy = MM_SLAB_SLAB,
	};
	struct mm_arena *a = fixture_arena_cfg(&cfg);
	cr_assert_str_eq(slab_policy_name(a), "slab");
	return a;
}

static struct array_cache *my_array(struct slab_cache *c)
{
	int idx = mm_thread_idx();
	cr_assert_geq(idx, 0);
	return classic_of(c)->ac[idx];
}

static struct slab_cache_info info_of(struct slab_cache *c)
{
	struct slab_cache_info i;
	slab_cache_get_info(c, &i);
	return i;
}

Test(classic, array_cache_refills_and_flushes_in_batches)
{
	struct mm_arena *a = classic_arena(16);
	struct slab_cache *c = fixture_cache(a, "ac64", 64, SLAB_F_NO_MERGE);
	struct slab_cache_info i = info_of(c);
	cr_assert_eq(i.tunables.limit, 120);
	cr_assert_eq(i.tunables.batchcount, 60);
	unsigned shared = i.tunables.sharedfactor * 60;
	enum { N = 400 };
	static void *objs[N + 1];

	objs[0] = slab_alloc(c);
	struct array_cache *ac = my_array(c);
	cr_assert_eq(ac->limit, 120);
	cr_assert_eq(ac->avail, 59, "one refill takes batchcount objects");
	cr_assert_eq(info_of(c).held_objs, 59);
	cr_assert_eq(info_of(c).alloc_slow, 1);
	for (int k = 1; k < N; k++)
		cr_assert_not_null(objs[k] = slab_alloc(c));
	cr_assert_eq(ac->avail, 20, "7 refills of 60 for 400 objects");
	cr_assert_eq(info_of(c).alloc_slow, 7);
	cr_assert_eq(info_of(c).active_objs, 420, "objects in arrays count as active");

	for (int k = 0; k < 100; k++)
		slab_free(c, objs[k]);
	cr_assert_eq(ac->avail, 120);
	cr_assert_eq(info_of(c).sharedavail, 0);
	slab_free(c, objs[100]);   /* full: batchcount objects to the shared array */
	cr_assert_eq(ac->avail, 61);
	cr_assert_eq(info_of(c).sharedavail, shared ? 60 : 0);
	for (int k = 101; k < N; k++)
		slab_free(c, objs[k]);
	i = info_of(c);
	if (shared >= 300) {
		cr_assert_eq(ac->avail, 120);
		cr_assert_eq(i.sharedavail, 300);
	}
	cr_assert_eq(i.held_objs, 420);
	cr_assert_eq(i.free_slow, 5);

	/* Empty again, the array refills from the shared array first. */
	for (int k = 0; k < 121; k++)
		objs[k] = slab_alloc(c);
	if (shared >= 300) {
		cr_assert_eq(ac->avail, 59);
		cr_assert_eq(info_of(c).sharedavail, 240);
	}
	for (int k = 0; k < 121; k++)
		slab_free(c, objs[k]);
	cr_assert_eq(slab_cache_validate(c), 0);
	cr_assert_gt(slab_cache_shrink(c), 0);
	i = info_of(c);
	cr_assert_eq(i.held_objs, 0);
	cr_assert_eq(i.num_slabs, 0);
	slab_cache_destroy(c, "ac64");
	fixture_finish(a);
}

/* The first objects of consecutive slabs start colour_off apart, cycling
 * through the colours the leftover bytes allow. */
static void check_colours(struct mm_arena *a, const char *name, size_t size, bool off_slab,
			  unsigned colours, unsigned mgmt)
{
	struct slab_cache *c = fixture_cache(a, name, size, SLAB_F_NO_MERGE);
	struct classic_cache *cc = classic_of(c);
	cr_assert_eq(cc->off_slab, off_slab, "%s", name);
	cr_assert_eq(cc->colour, colours, "%s: %u colours", name, cc->colour);
	cr_assert_eq(cc->colour_off, 64);
	/* One object per refill: allocation order is slab creation order. */
	struct slab_tunables one = { .limit = 1, .batchcount = 1, .sharedfactor = 0 };
	cr_assert_eq(slab_cache_tune(a, name, &one), 0);
	enum { N = 200 };
	static void *objs[N];
	struct slab *seen[N];
	unsigned nseen = 0;
	for (int k = 0; k < N; k++) {
		objs[k] = slab_alloc(c);
		struct slab *s = slab_of(a, objs[k]);
		cr_assert_not_null(s);
		cr_assert(slab_obj_valid(c, s, objs[k]));
		cr_assert_eq(((uintptr_t)objs[k] - slab_base(c, s) - s->first) % c->stride, 0);
		if (!nseen || seen[nseen - 1] != s)
			seen[nseen++] = s;
	}
	cr_assert_geq(nseen, colours + 2);
	for (unsigned k = 0; k < nseen; k++)
		cr_assert_eq(seen[k]->first, (k % colours) * 64 + mgmt,
			     "%s: slab %u starts at %u", name, k, seen[k]->first);
	for (int k = 0; k < N; k++)
		slab_free(c, objs[k]);
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_destroy(c, name);
}

Test(classic, colouring_cycles_across_slabs)
{
	struct mm_arena *a = classic_arena(16);
	/* 640: off-slab, 6 per page, 256 bytes left: 4 colours */
	check_colours(a, "col640", 640, true, 4, 0);
	/* 300: on-slab, 13 per page after a 16-byte index array, 180 left */
	check_colours(a, "col300", 300, false, 2, 16);
	fixture_finish(a);
}

Test(classic, onslab_or_offslab_by_size_and_index_width)
{
	struct mm_arena *a = classic_arena(16);
	struct { size_t size; bool off; unsigned idx, objs, order; } want[] = {
		{ 8, false, 2, 409, 0 },     /* > 256 objects: two-byte indexes */
		{ 64, false, 1, 63, 0 },
		{ 256, false, 1, 15, 0 },
		{ 511, true, 1, 8, 0 },      /* >= PAGE_SIZE / 8: off-slab */
		{ 1024, true, 1, 4, 0 },
		{ 4096, true, 1, 1, 0 },
		{ 8192, true, 1, 1, 1 },
		{ 16384, true, 1, 1, 2 },
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		char name[32];
		snprintf(name, sizeof(name), "lay%zu", want[k].size);
		struct slab_cache *c = fixture_cache(a, name, want[k].size, SLAB_F_NO_MERGE);
		struct classic_cache *cc = classic_of(c);
		cr_assert_eq(cc->off_slab, want[k].off, "%s", name);
		cr_assert_eq(cc->idx_size, want[k].idx, "%s", name);
		cr_assert_eq(c->objects, want[k].objs, "%s: %u objects", name, c->objects);
		cr_assert_eq(c->order, want[k].order, "%s: order %u", name, c->order);
		void *p = slab_alloc(c);
		struct slab *s = slab_of(a, p);
		if (want[k].off)
			cr_assert_lt(s->first, PAGE_SIZE, "%s: only the colour before object 0", name);
		else
			cr_assert_geq(s->first, cc->mgmt, "%s: the index array before object 0", name);
		slab_free(c, p);
		cr_assert_eq(slab_cache_validate(c), 0);
		slab_cache_destroy(c, name);
	}

	/* An order chosen by the user: 64 off-slab objects, their indexes in
	 * the tail descriptors, which go back zeroed. */
	struct slab_cache_params p = { .size = 512, .order = 3, .flags = SLAB_F_NO_MERGE };
	struct slab_cache *c = slab_cache_create(a, "big512", &p);
	cr_assert_not_null(c);
	cr_assert_eq(c->objects, 64);
	void *objs[64];
	for (int k = 0; k < 64; k++)
		objs[k] = slab_alloc(c);
	struct slab *s = slab_of(a, objs[0]);
	uint32_t frame = s->frame;
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	for (int k = 0; k < 64; k++)
		slab_free(c, objs[k]);
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_shrink(c);
	cr_assert_eq(info_of(c).num_slabs, 0);
	static const char zero[64];
	cr_assert(!memcmp(&z->slabs[frame + 1].freelist, zero, 64), "tail descriptors dirty");
	for (unsigned t = 1; t < 8; t++)
		cr_assert_null(z->slabs[frame + t].cache);
	slab_cache_destroy(c, "big512");

	/* kfree finds objects past the colour and the index array. */
	report_capture_start();
	size_t sizes[] = { 8, 100, 300, 1000, 3000, 8000 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		void *q[40];
		for (int j = 0; j < 40; j++) {
			q[j] = kmalloc(a, sizes[k]);
			cr_assert_not_null(q[j]);
			cr_assert_geq(ksize(a, q[j]), sizes[k]);
		}
		for (int j = 0; j < 40; j++)
			kfree(a, q[j]);
	}
	cr_assert_str_eq(report_capture_text(), "", "kfree refused SLAB objects");
	report_capture_stop();
	fixture_finish(a);
}

static bool row_has(struct mm_arena *a, const char *name, const char *what)
{
	static char text[16384];
	slab_format_slabinfo(a, text, sizeof(text));
	char key[40];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *row = strstr(text, key);
	if (!row)
		return false;
	const char *end = strchr(row + 1, '\n');
	const char *hit = strstr(row, what);
	return hit && end && hit < end;
}

Test(classic, tunables_defaults_tune_and_refusals)
{
	struct mm_arena *a = classic_arena(16);
	struct { size_t size; unsigned limit; } want[] = {
		{ 64, 120 }, { 300, 54 }, { 2000, 24 }, { 8192, 8 },
	};
	unsigned sf = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 8 : 0;
	for (size_t k = 0; k < 4; k++) {
		char name[32];
		snprintf(name, sizeof(name), "tun%zu", want[k].size);
		struct slab_cache *c = fixture_cache(a, name, want[k].size, SLAB_F_NO_MERGE);
		struct slab_cache_info i = info_of(c);
		cr_assert_eq(i.tunables.limit, want[k].limit, "%s", name);
		cr_assert_eq(i.tunables.batchcount, (want[k].limit + 1) / 2, "%s", name);
		cr_assert_eq(i.tunables.sharedfactor, want[k].size <= PAGE_SIZE ? sf : 0, "%s", name);
		slab_cache_destroy(c, name);
	}

	struct slab_cache *c = fixture_cache(a, "tuned", 64, SLAB_F_NO_MERGE);
	enum { N = 400 };
	static void *objs[N];
	for (int k = 0; k < N; k++)
		objs[k] = slab_alloc(c);
	for (int k = 0; k < N; k++)
		slab_free(c, objs[k]);
	struct array_cache *ac = my_array(c);
	cr_assert_eq(ac->avail, 120);

	struct slab_tunables t = { .limit = 32, .batchcount = 16, .sharedfactor = 4 };
	cr_assert_eq(slab_cache_tune(a, "tuned", &t), 0);
	struct slab_cache_info i = info_of(c);
	cr_assert_eq(i.tunables.limit, 32);
	cr_assert_eq(i.tunables.batchcount, 16);
	cr_assert_eq(i.tunables.sharedfactor, 4);
	if (sf)
		cr_assert_eq(i.sharedavail, 64, "the shared array shrank to 4 x 16 at once");
	cr_assert(row_has(a, "tuned", "tunables   32   16    4 :"));
	/* This thread's array adopts them on its next slow path. */
	cr_assert_eq(ac->limit, 120);
	for (int k = 0; k < 121; k++)
		objs[k] = slab_alloc(c);
	cr_assert_eq(ac->limit, 32);
	cr_assert_eq(ac->batchcount, 16);
	cr_assert_leq(ac->avail, 32);
	for (int k = 0; k < 121; k++)
		slab_free(c, objs[k]);
	cr_assert_leq(ac->avail, 32);
	cr_assert_eq(slab_cache_validate(c), 0);

	struct slab_tunables bad[] = {
		{ 0, 1, 0 }, { 10, 0, 0 }, { 10, 11, 0 }, { SLAB_LIMIT_MAX + 1, 1, 0 },
		{ 10, 5, SLAB_SHARED_MAX + 1 },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		cr_assert_eq(slab_cache_tune(a, "tuned", &bad[k]), -EINVAL, "bad[%zu]", k);
	cr_assert_eq(slab_cache_tune(a, "nosuch", &t), -ENOENT);
	cr_assert_eq(info_of(c).tunables.limit, 32, "a refused tune changed nothing");
	/* Largest limit, no shared array. */
	struct slab_tunables big = { .limit = SLAB_LIMIT_MAX, .batchcount = 1, .sharedfactor = 0 };
	cr_assert_eq(slab_cache_tune(a, "tuned", &big), 0);
	cr_assert_eq(info_of(c).sharedavail, 0);
	slab_cache_destroy(c, "tuned");
	fixture_finish(a);

	/* SLUB has no tunables. */
	struct mm_arena_config cfg = { .normal_bytes = 4 << 20, .huge = MM_HUGE_OFF,
				       .slab_policy = MM_SLAB_SLUB };
	a = fixture_arena_cfg(&cfg);
	c = fixture_cache(a, "untunable", 64, SLAB_F_NO_MERGE);
	cr_assert_eq(slab_cache_tune(a, "untunable", &t), -EOPNOTSUPP);
	slab_cache_destroy(c, "untunable");
	fixture_finish(a);
}

Test(classic, reaper_frees_surplus_slabs_and_drains_idle_arrays)
{
	struct mm_arena *a = classic_arena(16);
	struct slab_cache *c = fixture_cache(a, "reapme", 64, SLAB_F_NO_MERGE);
	enum { N = 2000 };
	static void *objs[N];
	for (int k = 0; k < N; k++)
		objs[k] = slab_alloc(c);
	for (int k = 0; k < N; k++)
		slab_free(c, objs[k]);
	struct slab_cache_info i = info_of(c);
	cr_assert_gt(i.num_slabs, i.active_slabs, "free slabs are kept up to the free limit");
	size_t freed = 0;
	for (int round = 0; round < 50 && info_of(c).num_slabs > info_of(c).active_slabs; round++)
		freed += slab_reap(a);
	i = info_of(c);
	cr_assert_eq(i.num_slabs, i.active_slabs, "the reaper left free slabs");
	cr_assert_gt(freed, 0);
	cr_assert_eq(slab_cache_validate(c), 0);

	/* An array nobody allocated from since the last round is asked to
	 * drain a fifth of its limit, which its thread does on its next
	 * slow path. */
	struct slab_cache *d = fixture_cache(a, "idle", 64, SLAB_F_NO_MERGE);
	for (int k = 0; k < 240; k++)
		objs[k] = slab_alloc(d);
	struct array_cache *ac = my_array(d);
	cr_assert_eq(ac->avail, 0);
	for (int k = 0; k < 120; k++)
		slab_free(d, objs[k]);
	cr_assert_eq(ac->avail, 120);
	slab_reap(a);   /* touched: only marked untouched */
	cr_assert_eq(ac->reap_req, 0);
	cr_assert_eq(ac->touched, 0);
	slab_reap(a);   /* idle: asked to drain */
	cr_assert_eq(ac->reap_req, 1);
	cr_assert_eq(ac->avail, 120, "the reaper never touches another thread's objects");
	slab_free(d, objs[120]);
	cr_assert_eq(ac->reap_req, 0);
	cr_assert_eq(ac->avail, 120 - (120 + 4) / 5 + 1);
	for (int k = 121; k < 240; k++)
		slab_free(d, objs[k]);
	cr_assert_eq(slab_cache_validate(d), 0);
	slab_cache_destroy(d, "idle");
	slab_cache_destroy(c, "reapme");
	fixture_finish(a);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(classic, reaper_thread_runs_and_stops_at_once)
{
	struct mm_arena *a = classic_arena(16);
	struct slab_cache *c = fixture_cache(a, "bg", 64, SLAB_F_NO_MERGE);
	enum { N = 2000 };
	static void *objs[N];
	for (int k = 0; k < N; k++)
		objs[k] = slab_alloc(c);
	for (int k = 0; k < N; k++)
		slab_free(c, objs[k]);
	unsigned long before = info_of(c).num_slabs;
	double t0 = now_s();
	while (info_of(c).num_slabs == before && now_s() - t0 < 4.0 * SLAB_REAP_MS / 1000)
		usleep(50 * 1000);
	cr_assert_lt(info_of(c).num_slabs, before, "the reaper thread freed nothing");
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_destroy(c, "bg");
	fixture_check_i1(a);
	slab_shrink_all(a);
	t0 = now_s();
	fixture_finish(a);
	cr_assert_lt(now_s() - t0, 1.0, "mm_destroy waited for the reaper's period");
}

struct handoff {
	struct slab_cache *c;
	void **objs;
	unsigned n;
	unsigned char tag;
	unsigned long bad;
};

static void *producer(void *arg)
{
	struct handoff *h = arg;
	for (unsigned k = 0; k < h->n; k++) {
		h->objs[k] = slab_alloc(h->c);
		cr_assert_not_null(h->objs[k]);
		memset(h->objs[k], h->tag, 64);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct handoff *h = arg;
	for (unsigned k = 0; k < h->n; k++) {
		unsigned char *b = h->objs[k];
		for (int j = 0; j < 64; j++)
			if (b[j] != h->tag)
				h->bad++;
		slab_free(h->c, b);
	}
	return NULL;
}

/* Objects allocated on one thread and freed on another: they enter the
 * freeing thread's array, and everything adds up once both have gone. */
Test(classic, frees_on_another_thread_keep_the_cache_consistent)
{
	struct mm_arena *a = classic_arena(32);
	struct slab_cache *c = fixture_cache(a, "xfer", 64, SLAB_F_NO_MERGE);
	enum { N = 20000, PAIRS = 3 };
	static void *objs[PAIRS][N];
	struct handoff h[PAIRS];
	pthread_t t[PAIRS];
	for (int round = 0; round < 3; round++) {
		for (int p = 0; p < PAIRS; p++) {
			h[p] = (struct handoff){ .c = c, .objs = objs[p], .n = N, .tag = (unsigned char)(p + 1) };
			pthread_create(&t[p], NULL, producer, &h[p]);
		}
		for (int p = 0; p < PAIRS; p++)
			pthread_join(t[p], NULL);
		for (int p = 0; p < PAIRS; p++)
			pthread_create(&t[p], NULL, consumer, &h[(p + 1) % PAIRS]);
		for (int p = 0; p < PAIRS; p++)
			pthread_join(t[p], NULL);
		for (int p = 0; p < PAIRS; p++)
			cr_assert_eq(h[p].bad, 0, "objects changed while in flight");
		cr_assert_eq(slab_cache_validate(c), 0);
		struct slab_cache_info i = info_of(c);
		cr_assert_eq(i.bad_frees, 0);
		/* exited threads drained their arrays: only the shared one holds */
		cr_assert_eq(i.held_objs, i.sharedavail);
	}
	slab_cache_shrink(c);
	cr_assert_eq(info_of(c).num_slabs, 0);
	slab_cache_destroy(c, "xfer");
	fixture_finish(a);
}

Test(classic, bad_frees_are_refused_and_counted)
{
	struct mm_arena *a = classic_arena(4);
	struct slab_cache *c = fixture_cache(a, "badf", 128, SLAB_F_NO_MERGE);
	char *x = slab_alloc(c), *y = slab_alloc(c);
	report_capture_start();
	slab_free(c, x + 64);
	cr_assert(report_capture_has("badf", x + 64, "Invalid object pointer"));
	slab_free(c, x);
	slab_free(c, x);
	cr_assert(report_capture_has("badf", x, "already free"));
	struct array_cache *ac = my_array(c);
	unsigned held = ac->avail;
	slab_free(c, y);
	slab_free(c, x);   /* not the last one freed: found back at its slab */
	cr_assert_eq(ac->avail, held + 2);
	slab_cache_shrink(c);
	cr_assert(report_capture_has("badf", x, "Object already free"), "%s", report_capture_text());
	report_capture_stop();
	cr_assert_eq(info_of(c).bad_frees, 3);
	cr_assert_eq(info_of(c).num_slabs, 0);
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_cache_destroy(c, "badf");
	fixture_finish(a);
}
