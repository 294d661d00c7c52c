/*
 * Per-thread frame caches: lock-free hits, batch refill and flush, drain,
 * frames coming back when a thread exits, bad frees refused, and threads
 * without an index falling back to the buddy.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "fixture.h"
#include "tests/support/test_env.h"
#include "mm/arena.h"

static struct mm_zone *normal(struct mm_arena *a)
{
	return mm_zone_get(a, ZONE_NORMAL);
}

static struct pcp_slot *my_slot(struct mm_zone *z)
{
	int t = mm_thread_idx();
	cr_assert_geq(t, 0);
	return &z->pcp[t];
}

static uint64_t nr_pcp(struct mm_arena *a)
{
	uint64_t c[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(a, c), 0, "I1");
	return normal(a)->buddy.nr_pcp_pages;
}

static bool frame_is_zero(const struct frame *f)
{
	static const struct frame zero;
	return memcmp(f, &zero, sizeof(zero)) == 0;
}

Test(pcp, batch_scales_with_zone_size)
{
	static const struct { size_t mib; unsigned batch; } cases[] = {
		{ 8, 1 }, { 16, 1 }, { 64, 3 }, { 256, 15 }, { 1024, 63 }, { 4096, 63 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mm_arena *a = fixture_arena(cases[i].mib);
		cr_assert_eq(normal(a)->pcp_batch, cases[i].batch, "%zu MiB: batch %u", cases[i].mib,
			     normal(a)->pcp_batch);
		cr_assert_eq(normal(a)->pcp_high, 6 * cases[i].batch);
		fixture_finish(a);
	}
}

/* Holding the zone lock while the cache serves: a path that took the lock
 * would spin forever and the test would time out. */
Test(pcp, hits_take_no_lock, .timeout = 20)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	mm_pcp_drain(z);
	struct pcp_slot *s = my_slot(z);

	for (unsigned o = 0; o <= PCP_MAX_ORDER; o++) {
		long h = mm_frames_alloc(z, o, MT_UNMOVABLE, FRAME_VMM, false);
		cr_assert_geq(h, 0);
		cr_assert_eq(mm_frames_free(z, (uint32_t)h, o), 0);
	}
	uint64_t hits = s->hits, misses = s->misses;

	buddy_lock(&z->buddy);
	for (int i = 0; i < 1000; i++) {
		unsigned o = (unsigned)i % (PCP_MAX_ORDER + 1);
		long h = mm_frames_alloc(z, o, MT_UNMOVABLE, FRAME_VMM, i & 1);
		if (h < 0 || mm_frames_free(z, (uint32_t)h, o)) {
			buddy_unlock(&z->buddy);
			cr_assert_fail("order %u: %ld", o, h);
		}
	}
	buddy_unlock(&z->buddy);
	cr_assert_eq(s->hits, hits + 1000);
	cr_assert_eq(s->misses, misses);
	fixture_finish(a);
}

Test(pcp, refill_takes_a_batch)
{
	struct mm_arena *a = fixture_arena(1024);
	struct mm_zone *z = normal(a);
	mm_pcp_drain(z);
	struct pcp_slot *s = my_slot(z);
	uint64_t free0 = z->buddy.nr_free_pages;

	cr_assert_eq(s->frames, 0);
	long h = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_geq(h, 0);
	cr_assert_eq(s->misses, 1);
	cr_assert_eq(s->count[0][MT_MOVABLE], 62);
	cr_assert_eq(s->frames, 62);
	cr_assert_eq(z->buddy.nr_free_pages, free0 - 63);
	cr_assert_eq(nr_pcp(a), 62);
	/* the batch is handed out lowest frame first, as the buddy gave it */
	long h2 = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_eq(h2, h + 1);

	long big = mm_frames_alloc(z, 2, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_geq(big, 0);
	cr_assert_eq(s->count[2][MT_MOVABLE], 63 / 4 - 1);
	cr_assert_eq(s->frames, 61 + 4 * (63 / 4 - 1));

	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h2, 0), 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)big, 2), 0);
	cr_assert_eq(nr_pcp(a), s->frames);
	fixture_finish(a);
}

Test(pcp, flush_above_high)
{
	enum { N = 1000 };
	struct mm_arena *a = fixture_arena(1024);
	struct mm_zone *z = normal(a);
	mm_pcp_drain(z);
	struct pcp_slot *s = my_slot(z);
	static long held[N];

	for (int i = 0; i < N; i++) {
		held[i] = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
		cr_assert_geq(held[i], 0);
	}
	struct buddy_counters before, after;
	buddy_stats(&z->buddy, &before);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(mm_frames_free(z, (uint32_t)held[i], 0), 0);
		cr_assert_leq(s->frames, z->pcp_high, "after %d frees: %lu cached", i,
			      (unsigned long)s->frames);
	}
	buddy_stats(&z->buddy, &after);
	cr_assert_gt(after.frees, before.frees, "the flushes reached the buddy");
	cr_assert_geq(s->frames, z->pcp_high - z->pcp_batch);
	cr_assert_eq(nr_pcp(a), s->frames);
	fixture_finish(a);
}

Test(pcp, drain_returns_everything)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	mm_pcp_drain(z);
	uint64_t free0 = z->buddy.nr_free_pages;
	struct pcp_slot *s = my_slot(z);

	for (unsigned o = 0; o <= PCP_MAX_ORDER; o++) {
		for (int mt = 0; mt < MT_NR_TYPES; mt++) {
			long h = mm_frames_alloc(z, o, (enum migratetype)mt, FRAME_VMM, false);
			cr_assert_geq(h, 0);
			cr_assert_eq(mm_frames_free(z, (uint32_t)h, o), 0);
		}
	}
	cr_assert_gt(s->frames, 0);
	cr_assert_gt(nr_pcp(a), 0);
	mm_pcp_drain(z);
	cr_assert_eq(s->frames, 0);
	for (unsigned o = 0; o <= PCP_MAX_ORDER; o++)
		for (int mt = 0; mt < MT_NR_TYPES; mt++) {
			cr_assert_eq(s->count[o][mt], 0);
			cr_assert_eq(s->head[o][mt], FRAME_NONE);
		}
	cr_assert_eq(nr_pcp(a), 0);
	cr_assert_eq(z->buddy.nr_free_pages, free0);
	fixture_finish(a);
}

struct worker {
	struct mm_zone *z;
	long kept[50];
	uint64_t cached;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	long got[100];

	for (int i = 0; i < 100; i++)
		got[i] = mm_frames_alloc(w->z, (unsigned)i % 3, MT_UNMOVABLE, FRAME_VMM, false);
	for (int i = 0; i < 100; i++)
		if (got[i] >= 0)
			mm_frames_free(w->z, (uint32_t)got[i], (unsigned)i % 3);
	for (int i = 0; i < 50; i++)
		w->kept[i] = mm_frames_alloc(w->z, 0, MT_MOVABLE, FRAME_GUEST, false);
	w->cached = w->z->pcp[mm_thread_idx()].frames;
	return NULL;
}

Test(pcp, exiting_thread_gives_its_frames_back)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	mm_pcp_drain(z);
	uint64_t free0 = z->buddy.nr_free_pages;
	struct worker w = { .z = z };
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, worker_run, &w), 0);
	pthread_join(th, NULL);
	cr_assert_gt(w.cached, 0, "the worker's cache held frames before it exited");
	/* Its cache was drained at exit: only the frames it kept are gone. */
	cr_assert_eq(nr_pcp(a), 0);
	cr_assert_eq(z->buddy.nr_free_pages, free0 - 50);
	/* Frames allocated by one thread are freed into another's cache. */
	for (int i = 0; i < 50; i++) {
		cr_assert_geq(w.kept[i], 0);
		cr_assert_eq(mm_frames_free(z, (uint32_t)w.kept[i], 0), 0);
	}
	mm_pcp_drain(z);
	cr_assert_eq(z->buddy.nr_free_pages, free0);
	fixture_finish(a);
}

Test(pcp, bad_frees_refused)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	struct pcp_slot *s = my_slot(z);
	long h = mm_frames_alloc(z, 1, MT_UNMOVABLE, FRAME_VMM, false);
	long c = mm_frames_alloc(z, 2, MT_UNMOVABLE, FRAME_VMM, true);
	cr_assert(h >= 0 && c >= 0);
	struct buddy_counters before, after;
	buddy_stats(&z->buddy, &before);
	uint64_t cached = s->frames;

	cr_assert_eq(mm_frames_free(z, (uint32_t)h + 1, 0), -EINVAL, "a tail");
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), -EINVAL, "wrong order");
	cr_assert_eq(mm_frames_free(z, (uint32_t)c + 1, 0), -EINVAL, "a compound tail");
	cr_assert_eq(mm_frames_free(z, (uint32_t)c, 3), -EINVAL, "wrong order");
	cr_assert_eq(mm_frames_free(z, z->buddy.nr_frames, 0), -EINVAL, "out of range");
	uint32_t fb = 0;
	while (!(z->buddy.frames[fb].flags & FRAME_F_BUDDY) || z->buddy.frames[fb].order > 3)
		fb++;
	cr_assert_eq(mm_frames_free(z, fb, z->buddy.frames[fb].order), -EINVAL, "a free block");
	cr_assert_eq(s->frames, cached, "the cache is untouched");

	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 1), 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 1), -EINVAL, "double free into the cache");
	cr_assert_eq(mm_frames_free(z, (uint32_t)c, 2), 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)c, 2), -EINVAL, "double free into the cache");
	buddy_stats(&z->buddy, &after);
	cr_assert_eq(after.bad_frees, before.bad_frees + 8);
	fixture_check_i1(a);
	fixture_finish(a);
}

Test(pcp, compound_blocks_through_the_cache)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	struct frame *fr = z->buddy.frames;
	long h = mm_frames_alloc(z, 3, MT_UNMOVABLE, FRAME_VMM, true);

	cr_assert_geq(h, 0);
	for (uint32_t i = 0; i < 8; i++) {
		cr_assert(fr[h + i].flags & FRAME_F_COMPOUND);
		cr_assert_eq(fr[h + i].owner, (uint32_t)h);
		cr_assert_eq(frame_state_get(&fr[h + i]), i ? FRAME_TAIL : FRAME_VMM);
		cr_assert_eq(buddy_block_head(&z->buddy, (uint32_t)h + i), h);
	}
	fixture_check_i1(a);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 3), 0);
	cr_assert(fr[h].flags & FRAME_F_PCP);
	cr_assert_eq(frame_state_get(&fr[h]), FRAME_FREE);
	for (uint32_t i = 1; i < 8; i++)
		cr_assert(frame_is_zero(&fr[h + i]), "tail %u left written", i);
	fixture_finish(a);
}

Test(pcp, cached_frames_are_busy_for_contig_runs)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = normal(a);
	struct buddy_zone *b = &z->buddy;
	struct pcp_slot *s = my_slot(z);
	long got[6];

	for (int i = 0; i < 6; i++)
		got[i] = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_GUEST, false);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(mm_frames_free(z, (uint32_t)got[i], 0), 0);
	cr_assert_gt(s->frames, 0);

	uint64_t on_lists = b->nr_free_pages;
	uint32_t *runs = calloc(b->nr_frames, sizeof(uint32_t));
	uint32_t n = 0;
	long r;
	while ((r = buddy_alloc_contig(b, 1, 0, FRAME_GUEST)) >= 0) {
		cr_assert_not(b->frames[r].flags & FRAME_F_PCP);
		runs[n++] = (uint32_t)r;
	}
	cr_assert_eq(n, on_lists, "every frame on the lists, none from the cache");
	for (uint32_t h = s->head[0][MT_MOVABLE]; h != FRAME_NONE; h = b->frames[h].next)
		cr_assert(b->frames[h].flags & FRAME_F_PCP, "cached frame %u was taken", h);
	for (uint32_t i = 0; i < n; i++)
		cr_assert_eq(buddy_free_contig(b, runs[i], 1), 0);
	free(runs);
	fixture_finish(a);
}

Test(pcp, failed_refill_gives_the_cache_back_first)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = normal(a);
	struct pcp_slot *s = my_slot(z);
	uint32_t n = z->buddy.nr_frames;
	long *got = calloc(n, sizeof(long));
	uint32_t k = 0;
	long h;

	while ((h = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_GUEST, false)) >= 0)
		got[k++] = h;
	cr_assert_eq(h, -ENOMEM);
	for (uint32_t i = 0; i < k; i++)
		cr_assert_eq(mm_frames_free(z, (uint32_t)got[i], 0), 0);
	cr_assert_gt(s->count[0][MT_MOVABLE], 0);
	/* order-3 blocks until none is left: the cached order-0 frames must have
	 * gone back to merge on the way */
	uint32_t k3 = 0;
	while ((h = mm_frames_alloc(z, 3, MT_MOVABLE, FRAME_GUEST, false)) >= 0)
		got[k3++] = h;
	cr_assert_eq(s->count[0][MT_MOVABLE], 0);
	cr_assert_eq(s->count[0][MT_UNMOVABLE], 0);
	fixture_check_i1(a);
	for (uint32_t i = 0; i < k3; i++)
		cr_assert_eq(mm_frames_free(z, (uint32_t)got[i], 3), 0);
	free(got);
	fixture_finish(a);
}

Test(pcp, thread_release_drains_now)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	long h = mm_frames_alloc(z, 1, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_geq(h, 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 1), 0);
	cr_assert_gt(nr_pcp(a), 0);
	mm_thread_release();
	cr_assert_eq(mm_thread_idx_plus1, 0);
	cr_assert_eq(nr_pcp(a), 0);
	/* the next allocation takes an index again */
	h = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_geq(h, 0);
	cr_assert_gt(mm_thread_idx_plus1, 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), 0);
	fixture_finish(a);
}

/* ---- threads without an index ---- */

static pthread_barrier_t hold_barrier;

static void *hold_index(void *arg)
{
	struct mm_zone *z = arg;
	long h = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	if (h >= 0)
		mm_frames_free(z, (uint32_t)h, 0);
	pthread_barrier_wait(&hold_barrier);  /* every index taken */
	pthread_barrier_wait(&hold_barrier);  /* main thread done */
	return NULL;
}

Test(pcp, thread_without_index_uses_the_buddy)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	pthread_t th[MM_MAX_THREADS];

	mm_thread_release();
	pthread_barrier_init(&hold_barrier, NULL, MM_MAX_THREADS + 1);
	for (int i = 0; i < MM_MAX_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, hold_index, z), 0);
	pthread_barrier_wait(&hold_barrier);

	cr_assert_eq(mm_thread_idx(), MM_NO_THREAD);
	struct buddy_counters before, after;
	buddy_stats(&z->buddy, &before);
	long h = mm_frames_alloc(z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_geq(h, 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), -EINVAL);
	buddy_stats(&z->buddy, &after);
	cr_assert_eq(after.allocs, before.allocs + 1);
	cr_assert_eq(after.frees, before.frees + 1);
	cr_assert_eq(after.bad_frees, before.bad_frees + 1);

	pthread_barrier_wait(&hold_barrier);
	for (int i = 0; i < MM_MAX_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&hold_barrier);
	cr_assert_eq(nr_pcp(a), 0, "every exited thread drained");
	fixture_finish(a);
}

/* ---- many threads at once ---- */

enum { HAMMER_THREADS = 8, HAMMER_OPS = 50000, HAMMER_SLOTS = 64 };

/* Blocks handed from one thread to another, to be freed there. */
static struct {
	pthread_mutex_t lock;
	long idx[HAMMER_SLOTS];
	unsigned order[HAMMER_SLOTS];
} exchange = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct hammer {
	struct mm_zone *z;
	unsigned seed;
	int errors;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	long mine[32];
	unsigned ord[32];

	for (int i = 0; i < 32; i++)
		mine[i] = -1;
	for (int op = 0; op < HAMMER_OPS; op++) {
		unsigned r = rand_r(&h->seed);
		int s = (int)(r % 32);
		if (mine[s] < 0) {
			ord[s] = (r >> 8) % (PCP_MAX_ORDER + 2);
			mine[s] = mm_frames_alloc(h->z, ord[s], (r >> 12) & 1 ? MT_MOVABLE : MT_UNMOVABLE,
						  FRAME_VMM, (r >> 13) & 1);
			continue;
		}
		if ((r >> 16) % 4 == 0) {
			/* swap with the exchange: someone else frees ours, we free theirs */
			int e = (int)((r >> 20) % HAMMER_SLOTS);
			pthread_mutex_lock(&exchange.lock);
			long x = exchange.idx[e];
			unsigned xo = exchange.order[e];
			exchange.idx[e] = mine[s];
			exchange.order[e] = ord[s];
			pthread_mutex_unlock(&exchange.lock);
			mine[s] = -1;
			if (x >= 0 && mm_frames_free(h->z, (uint32_t)x, xo))
				h->errors++;
		} else {
			if (mm_frames_free(h->z, (uint32_t)mine[s], ord[s]))
				h->errors++;
			mine[s] = -1;
		}
	}
	for (int i = 0; i < 32; i++)
		if (mine[i] >= 0 && mm_frames_free(h->z, (uint32_t)mine[i], ord[i]))
			h->errors++;
	return NULL;
}

Test(pcp, threads_hammer_then_everything_coalesces, .timeout = 60)
{
	struct mm_arena *a = fixture_arena(64);
	struct mm_zone *z = normal(a);
	pthread_t th[HAMMER_THREADS];
	struct hammer h[HAMMER_THREADS];

	for (int i = 0; i < HAMMER_SLOTS; i++)
		exchange.idx[i] = -1;
	for (int i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){ .z = z, .seed = 1234u + (unsigned)i };
		cr_assert_eq(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < HAMMER_THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(h[i].errors, 0, "thread %d: a legitimate free was refused", i);
	}
	for (int i = 0; i < HAMMER_SLOTS; i++)
		if (exchange.idx[i] >= 0)
			cr_assert_eq(mm_frames_free(z, (uint32_t)exchange.idx[i], exchange.order[i]), 0);
	struct buddy_counters st;
	buddy_stats(&z->buddy, &st);
	cr_assert_eq(st.bad_frees, 0);
	fixture_finish(a);
}

/* One thread churns its frame cache while another checks I1 again and
 * again: every verdict is "ok" or "busy", never a false mismatch. */
struct churn {
	struct mm_zone *z;
	atomic_bool stop;
	atomic_ulong rounds;
};

static void *churn_run(void *arg)
{
	struct churn *c = arg;
	long held[64];

	while (!atomic_load(&c->stop)) {
		unsigned n = 0;
		for (; n < 64; n++)
			if ((held[n] = mm_frames_alloc(c->z, 0, MT_MOVABLE, FRAME_GUEST, false)) < 0)
				break;
		while (n)
			mm_frames_free(c->z, (uint32_t)held[--n], 0);
		atomic_fetch_add(&c->rounds, 1);
	}
	mm_pcp_drain(c->z);
	return NULL;
}

Test(pcp, the_frame_check_is_never_wrong_while_a_cache_churns, .timeout = 60)
{
	struct mm_arena *a = fixture_arena(64);
	struct churn c = { .z = normal(a) };
	uint64_t counts[FRAME_NR_OWNER_STATES];
	unsigned ok = 0, busy = 0, wrong = 0;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, churn_run, &c), 0);
	while (atomic_load(&c.rounds) < 10)
		;
	/* 2000 checks, and more until one has given a verdict: on a loaded
	 * machine the churning thread may hold every one of the first 2000
	 * busy (the check is never wrong, but it may have to wait). */
	double until = test_now() + 20;
	for (int i = 0; i < 2000 || (ok == 0 && test_now() < until); i++) {
		int rc = mm_zone_check_frames(c.z, counts);
		ok += rc == 0;
		busy += rc == -EBUSY;
		wrong += rc == -EINVAL;
	}
	unsigned long rounds = atomic_load(&c.rounds);
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	cr_log_info("checks while churning (%lu rounds): %u ok, %u busy\n", rounds, ok, busy);
	cr_assert_eq(wrong, 0, "%u checks said MISMATCH while a cache churned", wrong);
	cr_assert_gt(ok, 0, "the check never gave a verdict");
	cr_assert_eq(mm_zone_check_frames(c.z, counts), 0, "a quiet zone is checked exactly");
	fixture_finish(a);
}
