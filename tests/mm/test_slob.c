/*
 * Tests for the SLOB policy (mm/slab/slob_*.c) on arenas that ask for it:
 * the block encoding read back from a page, coalescing, first fit, the
 * three lists, kmalloc's header and big blocks (told apart from kvmalloc's),
 * alignment, constructors, bad frees refused without damage, and threads.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "fixture.h"
#include "report_capture.h"
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "mm/slab.h"

static struct mm_arena *slob_arena(size_t mib)
{
	struct mm_arena_config cfg = {
		.normal_bytes = mib << 20, .huge = MM_HUGE_OFF, .slab_policy = MM_SLAB_SLOB,
	};
	struct mm_arena *a = fixture_arena_cfg(&cfg);
	cr_assert_str_eq(slab_policy_name(a), "slob");
	return a;
}

static struct slab_cache *cache(struct mm_arena *a, const char *name, size_t size, size_t align,
				void (*ctor)(void *))
{
	struct slab_cache_params p = { .size = size, .align = align, .order = -1, .ctor = ctor };
	struct slab_cache *c = slab_cache_create(a, name, &p);
	cr_assert_not_null(c, "slab_cache_create(%s)", name);
	return c;
}

static struct slob_arena_stats stats(struct mm_arena *a)
{
	struct slob_arena_stats st;
	cr_assert_eq(slob_arena_stats(a, &st), 0);
	return st;
}

/* The page's SLOB units (int16: size, next offset; one unit: -next). */
static int16_t *page_of(const void *p)
{
	return (int16_t *)((uintptr_t)p & ~(PAGE_SIZE - 1));
}

static unsigned unit_of(const void *p)
{
	return (unsigned)(((uintptr_t)p & (PAGE_SIZE - 1)) / 2);
}

Test(slob, block_encoding_in_units)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *six = cache(a, "six", 6, 8, NULL);
	struct slab_cache *eight = cache(a, "eight", 8, 8, NULL);
	char *x = slab_alloc(six);
	cr_assert_eq(unit_of(x), 0, "a fresh page's first block is at its start");
	int16_t *u = page_of(x);
	/* 6 bytes = 3 units; the rest of the page is one free block. */
	cr_assert_eq(u[3], 2048 - 3);
	cr_assert_eq(u[4], 2048, "the last free block points at the end of the page");

	/* 8-byte alignment from byte 6: a one-unit gap stays free, holding
	 * minus the offset of the next free block. */
	char *y = slab_alloc(eight);
	cr_assert_eq(unit_of(y), 4);
	cr_assert_eq(u[3], -8, "one-unit block: minus the next offset");
	cr_assert_eq(u[8], 2048 - 8);
	cr_assert_eq(u[9], 2048);
	cr_assert_eq(slab_cache_validate(six), 0);
	struct slob_arena_stats st = stats(a);
	cr_assert_eq(st.pages[0], 1);
	cr_assert_eq(st.free_bytes, (2048 - 8 + 1) * 2);

	/* Freeing x merges it with the gap after it. */
	slab_free(six, x);
	cr_assert_eq(u[0], 4);
	cr_assert_eq(u[1], 8);
	slab_free(eight, y);
	cr_assert_eq(stats(a).pages_held, 0, "an empty page goes back at once");
	slab_cache_destroy(eight, "eight");
	slab_cache_destroy(six, "six");
	fixture_finish(a);
}

Test(slob, free_coalesces_and_empty_pages_go_back)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *c = cache(a, "c64", 64, 8, NULL);
	uint64_t before[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	mm_arena_check_frames(a, before);
	char *x[4];
	for (int i = 0; i < 4; i++)
		x[i] = slab_alloc(c);
	int16_t *u = page_of(x[0]);
	cr_assert_eq(unit_of(x[0]), 0);
	for (int i = 1; i < 4; i++)
		cr_assert_eq(x[i], x[0] + 64 * i, "blocks are cut in address order");
	cr_assert_eq(stats(a).pages_held, 1);

	slab_free(c, x[1]);                 /* a hole between two live blocks */
	cr_assert_eq(u[32], 32);
	cr_assert_eq(u[33], 128);
	slab_free(c, x[2]);                 /* merges with the hole before it */
	cr_assert_eq(u[32], 64);
	cr_assert_eq(u[33], 128);
	slab_free(c, x[0]);                 /* merges with the free block after */
	cr_assert_eq(u[0], 96);
	cr_assert_eq(u[1], 128);
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_free(c, x[3]);                 /* before and after: the whole page */
	struct slob_arena_stats st = stats(a);
	cr_assert_eq(st.pages_held, 0);
	cr_assert_eq(st.pages_allocated, st.pages_freed);
	mm_pcp_drain(mm_zone_get(a, ZONE_NORMAL));
	uint64_t after[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(a, after), 0);
	cr_assert_eq(after[ZONE_NORMAL][FRAME_VMM], before[ZONE_NORMAL][FRAME_VMM]);
	cr_assert_eq(slab_cache_shrink(c), 0, "nothing empty is ever held");
	slab_cache_destroy(c, "c64");
	fixture_finish(a);
}

Test(slob, allocation_takes_the_first_hole_that_fits)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *c = cache(a, "c64", 64, 8, NULL);
	struct slab_cache *c16 = cache(a, "c16", 16, 8, NULL);
	struct slab_cache *c48 = cache(a, "c48", 48, 8, NULL);
	char *x[6];
	for (int i = 0; i < 6; i++)
		x[i] = slab_alloc(c);
	slab_free(c, x[1]);
	slab_free(c, x[3]);
	char *p = slab_alloc(c16);
	cr_assert_eq(p, x[1], "first fit: the first hole, not the best or the last");
	char *q = slab_alloc(c48);
	cr_assert_eq(q, x[1] + 16, "the rest of the first hole fits exactly");
	char *r = slab_alloc(c);
	cr_assert_eq(r, x[3], "the first hole is used up: the next one");
	char *s = slab_alloc(c);
	cr_assert_eq(s, x[5] + 64, "no hole left: after the last block");
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_free(c16, p);
	slab_free(c48, q);
	slab_free(c, r);
	slab_free(c, s);
	for (int i = 0; i < 6; i++)
		if (i != 1 && i != 3)
			slab_free(c, x[i]);
	cr_assert_eq(stats(a).pages_held, 0);
	slab_cache_destroy(c48, "c48");
	slab_cache_destroy(c16, "c16");
	slab_cache_destroy(c, "c64");
	fixture_finish(a);
}

Test(slob, three_lists_by_size)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *small = cache(a, "small", 100, 8, NULL);
	struct slab_cache *medium = cache(a, "medium", 500, 8, NULL);
	struct slab_cache *large = cache(a, "large", 2000, 8, NULL);
	void *s = slab_alloc(small), *m = slab_alloc(medium), *l = slab_alloc(large);
	struct slob_arena_stats st = stats(a);
	cr_assert_eq(st.pages[0], 1);
	cr_assert_eq(st.pages[1], 1);
	cr_assert_eq(st.pages[2], 1);
	cr_assert(page_of(s) != page_of(m) && page_of(m) != page_of(l) && page_of(s) != page_of(l),
		  "each list has pages of its own");
	/* Two 2000-byte blocks fit a page; the third takes a new one. */
	void *l2 = slab_alloc(large), *l3 = slab_alloc(large);
	cr_assert_eq(page_of(l2), page_of(l));
	cr_assert_neq(page_of(l3), page_of(l));
	st = stats(a);
	cr_assert_eq(st.pages[2] + st.full_pages, 2);
	cr_assert_eq(slab_cache_validate(large), 0);
	slab_free(large, l3);
	slab_free(large, l2);
	slab_free(large, l);
	slab_free(medium, m);
	slab_free(small, s);
	cr_assert_eq(stats(a).pages_held, 0);
	slab_cache_destroy(large, "large");
	slab_cache_destroy(medium, "medium");
	slab_cache_destroy(small, "small");
	fixture_finish(a);
}

Test(slob, kmalloc_header_holds_the_size)
{
	struct mm_arena *a = slob_arena(16);
	uint8_t *p = kmalloc(a, 100);
	void *keep = kmalloc(a, 8);     /* keeps the page when p goes */
	cr_assert(p && keep);
	cr_assert_eq((uintptr_t)p % 8, 0);
	cr_assert_eq(((uint32_t *)p)[-2], 100, "the 8-byte header in front holds the size");
	cr_assert_eq(ksize(a, p), 100);
	cr_assert_null(slab_cache_of(a, p), "SLOB pages belong to no cache");
	cr_assert_str_eq(kvmalloc_kind(a, p), "kmalloc");
	memset(p, 0xff, 100);
	kfree(a, p);
	uint8_t *q = kzalloc(a, 100);
	cr_assert_eq(q, p, "the same block, first fit");
	for (int i = 0; i < 100; i++)
		cr_assert_eq(q[i], 0);
	/* The largest size with a header that still fits a page. */
	void *edge = kmalloc(a, PAGE_SIZE - 9);
	cr_assert_neq((uintptr_t)edge % PAGE_SIZE, 0);
	cr_assert_eq(ksize(a, edge), PAGE_SIZE - 9);
	kfree(a, edge);
	kfree(a, q);
	kfree(a, keep);
	cr_assert_eq(stats(a).pages_held, 0);
	fixture_finish(a);
}

Test(slob, big_kmalloc_is_a_marked_buddy_block)
{
	struct mm_arena *a = slob_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	void *big = kmalloc(a, 5000), *page = kmalloc(a, PAGE_SIZE - 8);
	cr_assert(big && page);
	cr_assert_eq((uintptr_t)big % PAGE_SIZE, 0);
	cr_assert_eq((uintptr_t)page % PAGE_SIZE, 0, "no room for a header: a page of its own");
	cr_assert_eq(ksize(a, big), 5000);
	cr_assert_eq(ksize(a, page), PAGE_SIZE - 8);
	struct slob_arena_stats st = stats(a);
	cr_assert_eq(st.big_blocks, 2);
	cr_assert_eq(st.big_pages, 3);
	cr_assert_str_eq(kvmalloc_kind(a, big), "kmalloc");
	void *contig = kvmalloc(a, 64 << 10);
	cr_assert_str_eq(kvmalloc_kind(a, contig), "contig");
	cr_assert_eq(ksize(a, contig), 0, "kvmalloc's block is not SLOB's");

	uint64_t bad;
	{
		struct kvmalloc_stats kv;
		kvmalloc_get_stats(a, &kv);
		bad = kv.bad_calls;
	}
	report_capture_start();
	kfree(a, contig);                   /* kvmalloc's: refused */
	cr_assert(report_capture_has("kfree", contig, "not a kmalloc object"), "%s",
		  report_capture_text());
	kfree(a, (char *)big + 8);          /* inside a big block */
	cr_assert(report_capture_has("kfree", (char *)big + 8, "not a kmalloc object"));
	report_capture_stop();
	struct kvmalloc_stats kv;
	kvmalloc_get_stats(a, &kv);
	cr_assert_eq(kv.bad_calls, bad + 2);
	cr_assert_str_eq(kvmalloc_kind(a, contig), "contig", "the refused kfree changed nothing");

	kvfree(a, big);                     /* kvfree tells the two apart */
	kvfree(a, contig);
	kvmalloc_get_stats(a, &kv);
	cr_assert_eq(kv.frees_kmalloc, 1);
	cr_assert_eq(kv.frees_contig, 1);
	report_capture_start();
	kfree(a, big);                      /* the mark went with the block */
	cr_assert(report_capture_has("kfree", big, "not a kmalloc object"));
	report_capture_stop();
	kfree(a, page);
	cr_assert_eq(stats(a).pages_held, 0);
	cr_assert_eq(fixture_validate_of(a, NULL), 0);
	(void)z;
	fixture_finish(a);
}

Test(slob, alignment_is_honoured)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *odd = cache(a, "odd", 10, 8, NULL);
	struct slab_cache *al = cache(a, "al64", 40, 64, NULL);
	struct slab_cache *pg = cache(a, "al4k", 100, PAGE_SIZE, NULL);
	void *o[8], *p[8], *q[2];
	for (int i = 0; i < 8; i++) {
		o[i] = slab_alloc(odd);
		p[i] = slab_alloc(al);
		cr_assert_eq((uintptr_t)p[i] % 64, 0, "object %d of al64 at %p", i, p[i]);
		cr_assert_eq((uintptr_t)o[i] % 8, 0);
	}
	for (int i = 0; i < 2; i++) {
		q[i] = slab_alloc(pg);
		cr_assert_eq((uintptr_t)q[i] % PAGE_SIZE, 0);
	}
	/* The gaps alignment left are free blocks: the page checks out. */
	cr_assert_eq(slab_cache_validate(al), 0);
	for (int i = 0; i < 8; i++) {
		slab_free(odd, o[i]);
		slab_free(al, p[i]);
	}
	slab_free(pg, q[0]);
	slab_free(pg, q[1]);
	cr_assert_eq(stats(a).pages_held, 0);
	slab_cache_destroy(pg, "al4k");
	slab_cache_destroy(al, "al64");
	slab_cache_destroy(odd, "odd");
	fixture_finish(a);
}

static int ctor_runs;
static void ctor(void *obj)
{
	ctor_runs++;
	memset(obj, 0xc7, 24);
}

Test(slob, constructor_runs_on_every_allocation)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *c = cache(a, "ctor", 24, 8, ctor);
	struct slab_cache *big = cache(a, "ctorbig", 6000, 8, ctor);
	uint8_t *x = slab_alloc(c);
	cr_assert_eq(ctor_runs, 1);
	for (int i = 0; i < 24; i++)
		cr_assert_eq(x[i], 0xc7);
	slab_free(c, x);            /* the free block's encoding lands in it */
	x = slab_alloc(c);
	cr_assert_eq(ctor_runs, 2, "no object keeps its constructed state in SLOB");
	for (int i = 0; i < 24; i++)
		cr_assert_eq(x[i], 0xc7);
	uint8_t *b = slab_alloc(big);
	cr_assert_eq(ctor_runs, 3);
	cr_assert_eq((uintptr_t)b % PAGE_SIZE, 0);
	struct slab_cache_info info;
	slab_cache_get_info(big, &info);
	cr_assert_eq(info.active_objs, 1);
	cr_assert_eq(info.pagesperslab, 2);
	cr_assert_eq(stats(a).big_pages, 2);
	slab_cache_get_info(c, &info);
	cr_assert_eq(info.active_objs, 1);
	cr_assert_eq(info.objsize, 24);
	cr_assert_not_null(info.uncounted);
	cr_assert_str_eq(info.policy, "slob");
	slab_free(big, b);
	slab_free(c, x);
	slab_cache_destroy(big, "ctorbig");
	slab_cache_destroy(c, "ctor");
	fixture_finish(a);
}

Test(slob, bad_frees_are_refused_without_damage)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *c = cache(a, "bad", 64, 8, NULL);
	struct slab_cache *big = cache(a, "badbig", 8192, 8, NULL);
	uint8_t *x = slab_alloc(c), *y = slab_alloc(c), *z = slab_alloc(c);
	uint8_t *k = kmalloc(a, 64), *b = slab_alloc(big);
	char on_stack[64];
	memset(x, 0x11, 64);
	memset(y, 0x22, 64);
	memset(k, 0x33, 64);
	slab_free(c, z);                    /* free space after y */

	report_capture_start();
	slab_free(c, on_stack);
	cr_assert(report_capture_has("bad", on_stack, "not in a slab"), "%s", report_capture_text());
	slab_free(c, y + 8);                /* runs into the free space after y */
	cr_assert(report_capture_has("bad", y + 8, "already free"), "%s", report_capture_text());
	slab_free(c, z);                    /* double free */
	cr_assert(report_capture_has("bad", z, "already free"));
	slab_free(c, x + 3);                /* not aligned as the cache's objects */
	cr_assert(report_capture_has("bad", x + 3, "Invalid object pointer"));
	slab_free(big, b + 64);
	cr_assert(report_capture_has("badbig", b + 64, "Invalid object pointer"));
	slab_free(c, b);
	cr_assert(report_capture_has("bad", b, "another cache"));
	kfree(a, k + 8);                    /* the middle of a kmalloc object */
	cr_assert(report_capture_has("kfree", k + 8, "not a kmalloc object"));
	kfree(a, x);                        /* a cache's object has no header */
	cr_assert(report_capture_has("kfree", x, "not a kmalloc object"));
	kfree(a, k);
	kfree(a, k);                        /* double kfree */
	cr_assert(report_capture_has("kfree", k, "not a kmalloc object"));
	report_capture_stop();

	struct slab_cache_info info;
	slab_cache_get_info(c, &info);
	cr_assert_eq(info.bad_frees, 5);
	cr_assert_eq(info.active_objs, 2);
	cr_assert_eq(stats(a).bad_frees, 9);
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(x[i], 0x11, "x byte %d damaged", i);
		cr_assert_eq(y[i], 0x22, "y byte %d damaged", i);
	}
	cr_assert_eq(slab_cache_validate(c), 0);
	slab_free(c, x);
	slab_free(c, y);
	slab_free(big, b);
	cr_assert_eq(stats(a).pages_held, 0);
	slab_cache_destroy(big, "badbig");
	slab_cache_destroy(c, "bad");
	fixture_finish(a);
}

Test(slob, destroy_with_live_objects_reports_and_leaks)
{
	struct mm_arena *a = slob_arena(16);
	struct slab_cache *c = cache(a, "leaky", 64, 8, NULL);
	struct slab_cache *other = cache(a, "sharer", 64, 8, NULL);
	uint8_t *x = slab_alloc(c), *y = slab_alloc(other);
	cr_assert_eq(page_of(x), page_of(y), "caches share SLOB pages");
	memset(x, 0x44, 64);
	report_capture_start();
	slab_cache_destroy(c, "leaky");
	cr_assert(report_capture_has("leaky", NULL, "Objects remaining on kmem_cache_close(): 1"),
		  "%s", report_capture_text());
	report_capture_stop();
	for (int i = 0; i < 64; i++)
		cr_assert_eq(x[i], 0x44, "the leaked object was handed back");
	slab_free(other, y);
	cr_assert_eq(stats(a).pages_held, 1, "the page holding the leaked object stays");
	cr_assert_eq(slab_cache_validate(other), 0);
	slab_cache_destroy(other, "sharer");
	fixture_check_i1(a);
	report_capture_start();
	mm_destroy(a);
	report_capture_stop();
}

enum { THREADS = 4, OPS = 20000, SLOTS = 128 };

struct worker {
	struct mm_arena *a;
	struct slab_cache *c[3];
	unsigned seed;
	int errors;
};

static const size_t cache_sizes[3] = { 24, 300, 5000 };

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct { uint8_t *p; size_t size; int cache; } live[SLOTS] = { 0 };
	for (int i = 0; i < OPS; i++) {
		unsigned r = rand_r(&w->seed);
		int s = (int)(r % SLOTS);
		if (live[s].p) {
			for (size_t j = 0; j < live[s].size; j += 7)
				w->errors += live[s].p[j] != (uint8_t)s;
			if (live[s].cache < 0)
				kfree(w->a, live[s].p);
			else
				slab_free(w->c[live[s].cache], live[s].p);
			live[s].p = NULL;
			continue;
		}
		int which = (int)((r >> 8) % 4) - 1;
		size_t size = which < 0 ? 1 + (r >> 12) % 6000 : cache_sizes[which];
		live[s].p = which < 0 ? kmalloc(w->a, size) : slab_alloc(w->c[which]);
		live[s].size = size;
		live[s].cache = which;
		if (!live[s].p) {
			w->errors++;
			continue;
		}
		memset(live[s].p, s, size);
	}
	for (int s = 0; s < SLOTS; s++) {
		if (!live[s].p)
			continue;
		if (live[s].cache < 0)
			kfree(w->a, live[s].p);
		else
			slab_free(w->c[live[s].cache], live[s].p);
	}
	return NULL;
}

Test(slob, threads_allocate_and_free, .timeout = 120)
{
	struct mm_arena *a = slob_arena(64);
	struct slab_cache *c[3] = {
		cache(a, "t24", cache_sizes[0], 8, NULL),
		cache(a, "t300", cache_sizes[1], 64, NULL),
		cache(a, "t5000", cache_sizes[2], 8, NULL),
	};
	pthread_t t[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .a = a, .c = { c[0], c[1], c[2] }, .seed = 7u + (unsigned)i };
		cr_assert_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].errors, 0, "thread %d saw lost or overwritten objects", i);
	}
	cr_assert_eq(slab_cache_validate(c[0]), 0);
	struct slob_arena_stats st = stats(a);
	cr_assert_eq(st.pages_held, 0, "every object was freed: %lu pages held", st.pages_held);
	cr_assert_eq(st.bad_frees, 0);
	for (int i = 0; i < 3; i++) {
		struct slab_cache_info info;
		slab_cache_get_info(c[i], &info);
		cr_assert_eq(info.active_objs, 0);
		cr_assert_eq(info.alloc_slow, info.free_slow);
	}
	slab_cache_destroy(c[2], "t5000");
	slab_cache_destroy(c[1], "t300");
	slab_cache_destroy(c[0], "t24");
	fixture_finish(a);
}
