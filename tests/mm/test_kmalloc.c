/*
 * Tests for mm/kmalloc.c: size classes and their boundaries, the caches'
 * names, ksize, contents, and bad calls (size 0, foreign pointers of every
 * kind) refused without damage.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "fixture.h"
#include "report_capture.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"

static uint64_t bad_calls(struct mm_arena *a)
{
	struct kvmalloc_stats st;
	kvmalloc_get_stats(a, &st);
	return st.bad_calls;
}

static void check_kmalloc_caches(struct mm_arena *a)
{
	for (int cls = 0; cls < KMALLOC_NR_CLASSES; cls++) {
		void *p = kmalloc(a, kmalloc_class_size(cls));
		cr_assert_not_null(p);
		cr_assert_eq(fixture_validate_of(a, p), 0, "cache of class %d inconsistent", cls);
		kfree(a, p);
	}
}

Test(kmalloc, class_boundaries)
{
	static const struct { size_t size; size_t cls_size; } want[] = {
		{ 1, 8 }, { 8, 8 }, { 9, 16 }, { 16, 16 }, { 17, 32 }, { 32, 32 },
		{ 33, 64 }, { 64, 64 }, { 65, 96 }, { 96, 96 }, { 97, 128 }, { 128, 128 },
		{ 129, 192 }, { 192, 192 }, { 193, 256 }, { 256, 256 }, { 257, 512 },
		{ 513, 1024 }, { 1025, 2048 }, { 2049, 4096 }, { 4096, 4096 },
		{ 4097, 8192 }, { 8192, 8192 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int cls = kmalloc_class(want[i].size);
		cr_assert_geq(cls, 0, "size %zu has no class", want[i].size);
		cr_assert_eq(kmalloc_class_size(cls), want[i].cls_size, "size %zu -> class of %zu",
			     want[i].size, kmalloc_class_size(cls));
	}
	cr_assert_eq(kmalloc_class(0), -1);
	cr_assert_eq(kmalloc_class(8193), -1);
	cr_assert_eq(kmalloc_class((size_t)-1), -1);
	cr_assert_eq(kmalloc_class_size(-1), 0);
	cr_assert_eq(kmalloc_class_size(KMALLOC_NR_CLASSES), 0);
}

Test(kmalloc, every_size_gets_the_smallest_class)
{
	for (size_t size = 1; size <= KMALLOC_MAX_SIZE; size++) {
		int cls = kmalloc_class(size);
		cr_assert(cls >= 0 && cls < KMALLOC_NR_CLASSES, "size %zu", size);
		cr_assert_geq(kmalloc_class_size(cls), size, "size %zu too big for its class", size);
		if (cls > 0)
			cr_assert_lt(kmalloc_class_size(cls - 1), size,
				     "size %zu fits a smaller class", size);
	}
}

Test(kmalloc, caches_have_linux_names_and_ksize)
{
	static const char *const names[KMALLOC_NR_CLASSES] = {
		"kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-96",
		"kmalloc-128", "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
		"kmalloc-2k", "kmalloc-4k", "kmalloc-8k",
	};
	static const size_t sizes[] = { 1, 8, 9, 96, 97, 192, 193, 8192 };
	struct mm_arena *a = fixture_arena(16);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int cls = kmalloc_class(sizes[i]);
		uint8_t *p = kmalloc(a, sizes[i]);
		cr_assert_not_null(p, "kmalloc(%zu)", sizes[i]);
		if (fixture_policy_is(a, "slob")) {
			/* SLOB has no size classes: ksize is the size asked for. */
			cr_assert_eq(ksize(a, p), sizes[i], "ksize of kmalloc(%zu)", sizes[i]);
			cr_assert_null(slab_cache_of(a, p));
		} else {
			cr_assert_eq(ksize(a, p), kmalloc_class_size(cls), "ksize of kmalloc(%zu)",
				     sizes[i]);
			cr_assert_str_eq(slab_cache_name(slab_cache_of(a, p)), names[cls]);
		}
		memset(p, 0x5a, ksize(a, p));   /* the whole usable size is ours */
		kfree(a, p);
	}
	cr_assert_eq(bad_calls(a), 0);
	fixture_finish(a);
}

Test(kmalloc, contents_survive_other_allocations)
{
	enum { N = 3000 };
	static uint8_t *objs[N];
	static size_t sizes[N];
	struct mm_arena *a = fixture_arena(32);

	srand(7);
	for (int i = 0; i < N; i++) {
		sizes[i] = 1 + (size_t)rand() % KMALLOC_MAX_SIZE;
		objs[i] = kmalloc(a, sizes[i]);
		cr_assert_not_null(objs[i]);
		memset(objs[i], i & 0xff, sizes[i]);
	}
	for (int i = 0; i < N; i += 2) {   /* holes, refilled by others */
		kfree(a, objs[i]);
		sizes[i] = 1 + (size_t)rand() % 200;
		objs[i] = kmalloc(a, sizes[i]);
		cr_assert_not_null(objs[i]);
		memset(objs[i], i & 0xff, sizes[i]);
	}
	for (int i = 0; i < N; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			cr_assert_eq(objs[i][j], (uint8_t)i, "object %d byte %zu overwritten", i, j);
		kfree(a, objs[i]);
	}
	check_kmalloc_caches(a);
	fixture_finish(a);
}

Test(kmalloc, kzalloc_zeroes_a_reused_object)
{
	struct mm_arena *a = fixture_arena(16);
	uint8_t *p = kmalloc(a, 100);
	cr_assert_not_null(p);
	memset(p, 0xff, ksize(a, p));
	kfree(a, p);
	uint8_t *q = kzalloc(a, 100);
	cr_assert_not_null(q);
	for (size_t i = 0; i < ksize(a, q); i++)
		cr_assert_eq(q[i], 0, "byte %zu not zeroed", i);
	kfree(a, q);
	fixture_finish(a);
}

Test(kmalloc, size_zero_and_too_large)
{
	struct mm_arena *a = fixture_arena(16);
	report_capture_start();
	errno = 0;
	cr_assert_null(kmalloc(a, 0));
	cr_assert_eq(errno, EINVAL);
	cr_assert(report_capture_has("kmalloc: size 0", NULL, "kmalloc"));
	cr_assert_eq(bad_calls(a), 1);
	cr_assert_null(kzalloc(a, 0));
	cr_assert_eq(bad_calls(a), 2);

	errno = 0;
	cr_assert_null(kmalloc(a, KMALLOC_MAX_SIZE + 1));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_null(kmalloc(a, (size_t)-1));
	report_capture_stop();
	check_kmalloc_caches(a);
	fixture_finish(a);
}

/* kfree(p) must be refused, reported and counted, and change nothing. */
static void expect_refused(struct mm_arena *a, const void *p, const char *what)
{
	uint64_t before = bad_calls(a);
	report_capture_start();
	kfree(a, p);
	report_capture_stop();
	cr_assert_eq(bad_calls(a), before + 1, "kfree of %s not counted", what);
	cr_assert(report_capture_has("kfree", p, "not a kmalloc object"),
		  "kfree of %s not reported: %s", what, report_capture_text());
	cr_assert_eq(ksize(a, p), 0, "ksize of %s", what);
}

Test(kmalloc, kfree_refuses_foreign_pointers)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *normal = mm_zone_get(a, ZONE_NORMAL);
	uint64_t on_stack = 0;
	void *from_libc = malloc(64);
	uint8_t *obj = kmalloc(a, 64);
	uint8_t *neighbour = kmalloc(a, 64);
	long frame = mm_frames_alloc(normal, 0, MT_UNMOVABLE, FRAME_VMM, false);
	struct slab_cache_params params = { .size = 200, .order = -1, .flags = SLAB_F_NO_MERGE };
	struct slab_cache *other = slab_cache_create(a, "not_kmalloc", &params);
	void *other_obj = other ? slab_alloc(other) : NULL;
	void *vmalloced = kvmalloc_flags(a, 64 << 10, KV_NO_CONTIG);

	cr_assert(from_libc && obj && neighbour && frame >= 0 && other_obj && vmalloced);
	memset(obj, 0x11, 64);
	memset(neighbour, 0x22, 64);

	expect_refused(a, &on_stack, "a stack address");
	expect_refused(a, from_libc, "a libc malloc block");
	expect_refused(a, obj + 8, "a pointer inside an object");
	expect_refused(a, obj + 63, "the last byte of an object");
	expect_refused(a, mm_frame_ptr(normal, (uint32_t)frame), "a buddy block");
	expect_refused(a, other_obj, "an object of another cache");
	expect_refused(a, vmalloced, "a vmap allocation");
	expect_refused(a, normal->base + normal->bytes - 1, "the end of the direct map");

	uint64_t before = bad_calls(a);
	kfree(a, NULL);   /* as free(NULL) */
	cr_assert_eq(bad_calls(a), before);

	/* Nothing was touched: the objects still hold their bytes and free fine. */
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(obj[i], 0x11);
		cr_assert_eq(neighbour[i], 0x22);
	}
	cr_assert_eq(ksize(a, obj), 64);
	cr_assert_eq(fixture_validate_of(a, obj), 0);
	kfree(a, obj);
	kfree(a, neighbour);
	cr_assert_eq(bad_calls(a), before);
	check_kmalloc_caches(a);

	kvfree(a, vmalloced);
	slab_free(other, other_obj);
	slab_cache_destroy(other, "not_kmalloc");
	mm_frames_free(normal, (uint32_t)frame, 0);
	free(from_libc);
	fixture_finish(a);
}

struct churn_arg {
	struct mm_arena *a;
	unsigned seed;
	void **handoff;     /* objects this thread leaves for the main thread to free */
	int errors;         /* checked by the main thread: cr_assert is not thread-safe */
};

enum { CHURN_THREADS = 4, CHURN_OPS = 20000, CHURN_HANDOFF = 512 };

static void *churn(void *p)
{
	struct churn_arg *arg = p;
	void *live[64] = { 0 };

	for (int i = 0; i < CHURN_OPS; i++) {
		unsigned r = rand_r(&arg->seed);
		int slot = (int)(r % 64);
		if (live[slot]) {
			arg->errors += *(uint8_t *)live[slot] != (uint8_t)slot;
			kfree(arg->a, live[slot]);
			live[slot] = NULL;
		} else {
			size_t size = 1 + (r >> 8) % KMALLOC_MAX_SIZE;
			live[slot] = kmalloc(arg->a, size);
			if (live[slot])
				*(uint8_t *)live[slot] = (uint8_t)slot;
			else
				arg->errors++;
		}
	}
	for (int i = 0; i < CHURN_HANDOFF; i++) {
		arg->handoff[i] = kmalloc(arg->a, 1 + (size_t)i * 13 % 4000);
		arg->errors += !arg->handoff[i];
	}
	for (int slot = 0; slot < 64; slot++)
		kfree(arg->a, live[slot]);
	return NULL;
}

Test(kmalloc, threads_allocate_and_free_across_threads)
{
	struct mm_arena *a = fixture_arena(64);
	pthread_t t[CHURN_THREADS];
	struct churn_arg args[CHURN_THREADS];
	static void *handoff[CHURN_THREADS][CHURN_HANDOFF];

	for (int i = 0; i < CHURN_THREADS; i++) {
		args[i] = (struct churn_arg){ .a = a, .seed = 100u + (unsigned)i, .handoff = handoff[i] };
		cr_assert_eq(pthread_create(&t[i], NULL, churn, &args[i]), 0);
	}
	for (int i = 0; i < CHURN_THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(args[i].errors, 0, "thread %d saw lost or overwritten objects", i);
	}
	/* Objects of threads that have exited, freed from this one. */
	for (int i = 0; i < CHURN_THREADS; i++)
		for (int j = 0; j < CHURN_HANDOFF; j++)
			kfree(a, handoff[i][j]);
	cr_assert_eq(bad_calls(a), 0);
	check_kmalloc_caches(a);
	fixture_finish(a);
}
