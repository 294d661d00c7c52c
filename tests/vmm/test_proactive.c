/*
 * Proactive compaction's thread (vmm/core/vm_proactive.c) on an in-process
 * guest whose zone Normal is fragmented on purpose (as test_compact.c's:
 * the guest's pages among small free blocks, every other frame taken
 * elsewhere), behind a VM stand-in that counts holds: the thread's budgeted
 * runs move guest pages and promote 2 MiB ranges until the score is down,
 * every byte stays at its GPA, each run is within its hold, and the thread
 * stops at once.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mm/buddy.h"
#include "mm/extfrag.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/core/vm_proactive.h"
#include "vmm/memory/guest_compact.h"
#include "fragment.h"
#include "gm_check.h"

#define MIB (1ULL << 20)
#define MS 1000000ull
#define ZONE_MIB 160
#define GUEST_BYTES (64 * MIB)
#define GUEST_FRAMES (GUEST_BYTES >> 12)
#define WORDS (4096 / 8)

static struct mm_arena *arena;
static struct mm_zone *zone;
static struct guest_mem *gm;
static struct fragmented frag;  /* the arena and the frames kept taken */
static atomic_uint holds, holds_taken;
static atomic_bool shut_down;

static enum vm_run_state st_status(void *ctx)
{
	(void)ctx;
	return atomic_load(&shut_down) ? VM_STATE_SHUTDOWN : VM_STATE_RUNNING;
}

static int st_hold(void *ctx)
{
	(void)ctx;
	if (atomic_load(&shut_down))
		return -ESHUTDOWN;
	atomic_fetch_add(&holds, 1);
	atomic_fetch_add(&holds_taken, 1);
	return 0;
}

static void st_release(void *ctx)
{
	(void)ctx;
	atomic_fetch_sub(&holds, 1);
}

static struct mm_arena *st_arena(void *ctx)
{
	(void)ctx;
	return arena;
}

static struct guest_mem *st_guest_mem(void *ctx)
{
	(void)ctx;
	return gm;
}

static const struct vm_control target = {
	.status = st_status, .hold = st_hold, .release = st_release, .arena = st_arena,
	.guest_mem = st_guest_mem,
};

static void setup(void)
{
	char why[256];

	atomic_store(&holds, 0);
	atomic_store(&holds_taken, 0);
	atomic_store(&shut_down, false);
	fragmented_create(&frag, ZONE_MIB);
	arena = frag.arena;
	zone = mm_zone_get(arena, ZONE_NORMAL);
	cr_assert_eq(guest_mem_create(arena, GUEST_BYTES, MM_HUGE_OFF, &gm, why, sizeof(why)), 0,
		     "%s", why);
	fragmented_free_around(&frag, gm, GUEST_FRAMES);
}

static void teardown(void)
{
	guest_mem_destroy(gm);
	fragmented_give_back(&frag);
	slab_shrink_all(arena);
	mm_pcp_drain(zone);
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];
	cr_assert_eq(mm_arena_check_frames(arena, counts), 0, "I1");
	mm_destroy(arena);
}

TestSuite(proactive_thread, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t word(uint64_t gfn, unsigned i)
{
	return gm_tag(gfn) ^ ((uint64_t)i << 32);
}

Test(proactive_thread, budgeted_runs_bring_the_score_down_and_keep_every_byte)
{
	uint8_t *hva = guest_mem_hva(gm, 0, GUEST_BYTES);
	cr_assert_not_null(hva);
	for (uint64_t g = 0; g < GUEST_FRAMES; g++)
		for (unsigned i = 0; i < WORDS; i++)
			((uint64_t *)(hva + (g << 12)))[i] = word(g, i);
	unsigned score0 = vm_proactive_score(mm_zone_unusable_index(zone, 9));
	cr_assert_gt(score0, vm_proactive_wmark_high(100), "the zone starts fragmented (%u %%)", score0);

	/* 20 ms periods at 100: 2 ms runs. */
	struct vm_proactive *p = vm_proactive_create(arena, 100, 20 * MS);
	cr_assert_not_null(p);
	cr_assert_eq(vm_proactive_start(p, &target), 0);
	struct vm_proactive_stats st;
	for (int i = 0; i < 2000; i++) {
		vm_proactive_get_stats(p, &st);
		if (st.runs && st.last != VM_PROACTIVE_RUN && st.score < score0 &&
		    st.promoted_ranges > 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * MS }, NULL);
	}
	vm_proactive_stop(p);
	vm_proactive_get_stats(p, &st);
	cr_log_info("score %u -> %u in %llu runs of %llu wakes (%.1f ms): %llu moved, %llu promoted",
		    score0, st.score, (unsigned long long)st.runs, (unsigned long long)st.wakes,
		    (double)st.ns / 1e6, (unsigned long long)st.moved,
		    (unsigned long long)st.promoted_ranges);
	cr_assert_eq(atomic_load(&holds), 0, "every hold released");
	cr_assert_eq(atomic_load(&holds_taken), st.runs, "one hold per run");
	cr_assert_gt(st.runs, 1, "more than one budgeted run");
	cr_assert_gt(st.moved, 0);
	cr_assert_gt(st.promoted_ranges, 0);
	cr_assert_eq(st.failed, 0);
	cr_assert_lt(st.score, score0, "the score came down from %u", score0);
	/* Each run keeps to its budget within a step: the CPU share stays
	 * near 10 % (generously: half of the wall time, on a loaded host). */
	cr_assert_lt(st.ns, st.wakes * 20 * MS / 2, "%llu ns in %llu wakes",
		     (unsigned long long)st.ns, (unsigned long long)st.wakes);
	struct guest_compact_stats gs;
	guest_mem_compact_stats(gm, &gs);
	cr_assert_eq(gs.runs, st.runs);
	cr_assert_eq(gs.hash_mismatches, 0);
	for (uint64_t g = 0; g < GUEST_FRAMES; g++)
		for (unsigned i = 0; i < WORDS; i++)
			cr_assert_eq(((uint64_t *)(hva + (g << 12)))[i], word(g, i), "gfn %#lx word %u",
				     (unsigned long)g, i);
	vm_proactive_destroy(p);
}

Test(proactive_thread, a_run_that_has_ended_is_not_compacted)
{
	atomic_store(&shut_down, true);
	struct vm_proactive *p = vm_proactive_create(arena, 100, 2 * MS);
	cr_assert_eq(vm_proactive_start(p, &target), 0);
	struct vm_proactive_stats st;
	for (int i = 0; i < 400; i++) {
		vm_proactive_get_stats(p, &st);
		if (st.wakes >= 5)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 5 * MS }, NULL);
	}
	vm_proactive_destroy(p);
	cr_assert_geq(st.wakes, 5);
	cr_assert_eq(st.runs, 0, "no hold, no run");
	cr_assert_eq(atomic_load(&holds_taken), 0);
}
