/*
 * The buddy core on its own: a calloc'd frame array, no arena. Split and
 * merge at every order, exhaustion, fallback stealing, contig runs, split of
 * allocated blocks, bad frees, odd zone sizes; every test ends with the I1
 * walk (buddy_count_states) and, where everything was freed, I3.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "mm/buddy.h"

struct tzone {
	struct buddy_zone z;
	struct frame *frames;
	uint8_t *pb;
};

static struct tzone *tz_new(uint32_t nr_frames, unsigned max_order)
{
	struct tzone *t = calloc(1, sizeof(*t));
	cr_assert_not_null(t);
	t->frames = calloc(nr_frames, sizeof(struct frame));
	t->pb = calloc(buddy_nr_pageblocks(nr_frames), 1);
	cr_assert(t->frames && t->pb);
	cr_assert_eq(buddy_zone_init(&t->z, "Test", t->frames, t->pb, nr_frames, max_order), 0);
	return t;
}

static void tz_check_i1(struct tzone *t)
{
	uint64_t c[FRAME_NR_OWNER_STATES];
	int rc = buddy_count_states(&t->z, c);
	cr_assert_eq(rc, 0, "I1 broken: free %lu vmm %lu guest %lu ballooned %lu of %u",
		     (unsigned long)c[FRAME_FREE], (unsigned long)c[FRAME_VMM],
		     (unsigned long)c[FRAME_GUEST], (unsigned long)c[FRAME_BALLOONED],
		     t->z.nr_frames);
}

/* I1, and I3 when the test freed everything. */
static void tz_finish(struct tzone *t, bool all_freed)
{
	tz_check_i1(t);
	if (all_freed)
		cr_assert(buddy_fully_coalesced(&t->z), "I3: zone did not coalesce");
	free(t->frames);
	free(t->pb);
	free(t);
}

static uint64_t free_at(struct tzone *t, unsigned order)
{
	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1];
	buddy_free_blocks(&t->z, per_order, NULL);
	return per_order[order];
}

static bool frame_is_zero(const struct frame *f)
{
	static const struct frame zero;
	return memcmp(f, &zero, sizeof(zero)) == 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

Test(buddy, init_writes_only_heads)
{
	struct tzone *t = tz_new(4096 * 3 + 777, 10);
	uint32_t heads = 0;

	for (uint32_t i = 0; i < t->z.nr_frames; i++) {
		if (t->frames[i].flags & FRAME_F_BUDDY)
			heads++;
		else
			cr_assert(frame_is_zero(&t->frames[i]), "frame %u written", i);
	}
	/* 12 max-order blocks, then 777 = 512 + 256 + 8 + 1 */
	cr_assert_eq(heads, 12 + 4);
	cr_assert_eq(t->z.nr_free_pages, t->z.nr_frames);
	uint64_t pbs[MT_NR_TYPES];
	buddy_pageblock_counts(&t->z, pbs);
	cr_assert_eq(pbs[MT_MOVABLE], buddy_nr_pageblocks(t->z.nr_frames));
	cr_assert_eq(pbs[MT_UNMOVABLE], 0);
	tz_finish(t, true);
}

Test(buddy, init_rejects_bad_arguments)
{
	struct buddy_zone z;
	struct frame f[4] = { 0 };
	uint8_t pb[1] = { 0 };
	cr_assert_eq(buddy_zone_init(&z, "x", f, pb, 0, 10), BUDDY_EINVAL);
	cr_assert_eq(buddy_zone_init(&z, "x", f, pb, 4, MM_MAX_ORDER_LIMIT + 1), BUDDY_EINVAL);
	cr_assert_eq(buddy_zone_init(&z, "x", NULL, pb, 4, 2), BUDDY_EINVAL);
}

Test(buddy, split_and_merge_at_every_order)
{
	for (unsigned max = 0; max <= MM_MAX_ORDER_LIMIT; max++) {
		uint32_t n = 4u << max;
		struct tzone *t = tz_new(n, max);
		for (unsigned o = 0; o <= max; o++) {
			long h = buddy_alloc(&t->z, o, MT_MOVABLE, FRAME_VMM, false);
			cr_assert_eq(h, 0, "max %u order %u: got %ld", max, o, h);
			/* one block of each order o..max-1 split off, 3 max-order blocks left */
			for (unsigned k = o; k < max; k++)
				cr_assert_eq(free_at(t, k), 1, "max %u order %u: %lu blocks at %u", max,
					     o, (unsigned long)free_at(t, k), k);
			cr_assert_eq(free_at(t, max), 3);
			tz_check_i1(t);
			cr_assert_eq(buddy_free(&t->z, 0, o), 0);
			cr_assert(buddy_fully_coalesced(&t->z));
		}
		struct buddy_counters st;
		buddy_stats(&t->z, &st);
		cr_assert_eq(st.splits, st.merges);
		tz_finish(t, true);
	}
}

Test(buddy, exhaust_every_order_then_recover)
{
	struct tzone *t = tz_new(2048 + 512 + 3, 10);
	uint32_t n = t->z.nr_frames;
	long *got = malloc(sizeof(long) * n);

	for (unsigned o = 0; o <= 10; o++) {
		uint32_t k = 0;
		long h;
		while ((h = buddy_alloc(&t->z, o, o & 1 ? MT_MOVABLE : MT_UNMOVABLE, FRAME_GUEST,
					false)) >= 0) {
			cr_assert_eq(h & ((1L << o) - 1), 0, "order %u block at %ld misaligned", o, h);
			got[k++] = h;
		}
		cr_assert_eq(h, BUDDY_ENOMEM);
		/* every block of this order the zone can hold, nothing else */
		uint32_t expect = 0;
		for (uint32_t i = 0; i + (1u << o) <= n; i += 1u << o)
			expect++;
		cr_assert_eq(k, expect, "order %u: %u blocks, expected %u", o, k, expect);
		tz_check_i1(t);
		for (uint32_t i = k; i > 1; i--) {
			uint32_t j = rng() % i;
			long x = got[i - 1];
			got[i - 1] = got[j];
			got[j] = x;
		}
		for (uint32_t i = 0; i < k; i++)
			cr_assert_eq(buddy_free(&t->z, (uint32_t)got[i], o), 0);
		cr_assert(buddy_fully_coalesced(&t->z), "order %u: not coalesced", o);
	}
	free(got);
	tz_finish(t, true);
}

Test(buddy, odd_zone_sizes)
{
	static const uint32_t sizes[] = { 1, 2, 3, 511, 513, 1000, 1023, 1025, 4095, 12345 };
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s];
		struct tzone *t = tz_new(n, 10);
		for (unsigned o = 0; o < 10; o++)
			cr_assert_eq(free_at(t, o), (n >> o) & 1, "size %u order %u", n, o);
		cr_assert_eq(free_at(t, 10), n >> 10);
		uint32_t k = 0;
		while (buddy_alloc(&t->z, 0, MT_MOVABLE, FRAME_VMM, false) >= 0)
			k++;
		cr_assert_eq(k, n);
		tz_check_i1(t);
		for (uint32_t i = 0; i < n; i++)
			cr_assert_eq(buddy_free(&t->z, i, 0), 0);
		/* merging never grew a block past the end of the zone */
		cr_assert(buddy_fully_coalesced(&t->z), "size %u", n);
		tz_finish(t, true);
	}
}

Test(buddy, random_mix_keeps_i1)
{
	struct tzone *t = tz_new(8192 + 300, 10);
	enum { SLOTS = 512 };
	long idx[SLOTS];
	unsigned ord[SLOTS];

	for (int i = 0; i < SLOTS; i++)
		idx[i] = -1;
	for (int step = 0; step < 20000; step++) {
		int s = (int)(rng() % SLOTS);
		if (idx[s] >= 0) {
			cr_assert_eq(buddy_free(&t->z, (uint32_t)idx[s], ord[s]), 0);
			idx[s] = -1;
		} else {
			ord[s] = rng() % 6;
			idx[s] = buddy_alloc(&t->z, ord[s], rng() & 1 ? MT_MOVABLE : MT_UNMOVABLE,
					     FRAME_VMM + rng() % 3, rng() & 1);
		}
		if (step % 1000 == 0)
			tz_check_i1(t);
	}
	for (int i = 0; i < SLOTS; i++)
		if (idx[i] >= 0)
			cr_assert_eq(buddy_free(&t->z, (uint32_t)idx[i], ord[i]), 0);
	tz_finish(t, true);
}

Test(buddy, allocation_arguments_checked)
{
	struct tzone *t = tz_new(1024, 8);
	cr_assert_eq(buddy_alloc(&t->z, 9, MT_MOVABLE, FRAME_VMM, false), BUDDY_EINVAL);
	cr_assert_eq(buddy_alloc(&t->z, 0, MT_NR_TYPES, FRAME_VMM, false), BUDDY_EINVAL);
	cr_assert_eq(buddy_alloc(&t->z, 0, MT_MOVABLE, FRAME_FREE, false), BUDDY_EINVAL);
	cr_assert_eq(buddy_alloc(&t->z, 0, MT_MOVABLE, FRAME_TAIL, false), BUDDY_EINVAL);
	tz_finish(t, true);
}

/* ---- pageblocks and fallback stealing ---- */

static void pageblocks(struct tzone *t, uint64_t *unmovable, uint64_t *movable)
{
	uint64_t pbs[MT_NR_TYPES];
	buddy_pageblock_counts(&t->z, pbs);
	*unmovable = pbs[MT_UNMOVABLE];
	*movable = pbs[MT_MOVABLE];
}

Test(buddy, unmovable_steals_a_whole_max_order_block)
{
	struct tzone *t = tz_new(4096, 10);
	uint64_t u, m;
	struct buddy_counters st;

	long a = buddy_alloc(&t->z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_eq(a, 0);
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.fallbacks, 1);
	cr_assert_eq(st.pageblocks_stolen, 2, "the order-10 block's two pageblocks");
	pageblocks(t, &u, &m);
	cr_assert_eq(u, 2);
	cr_assert_eq(m, 6);
	/* the split remainders went to the unmovable lists */
	uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
	buddy_free_blocks(&t->z, NULL, per_type);
	for (unsigned o = 0; o < 10; o++)
		cr_assert_eq(per_type[MT_UNMOVABLE][o], 1, "order %u", o);
	cr_assert_eq(per_type[MT_MOVABLE][10], 3);
	/* the next unmovable request needs no fallback */
	long b = buddy_alloc(&t->z, 3, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_eq(b, 8);
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.fallbacks, 1);
	tz_check_i1(t);
	cr_assert_eq(buddy_free(&t->z, 0, 0), 0);
	cr_assert_eq(buddy_free(&t->z, 8, 3), 0);
	/* the coalesced block stays unmovable, as Linux leaves it */
	pageblocks(t, &u, &m);
	cr_assert_eq(u, 2);
	tz_finish(t, true);
}

Test(buddy, unmovable_converts_pageblock_with_half_free)
{
	/* two pageblocks, each one max-order block */
	struct tzone *t = tz_new(1024, 9);
	uint64_t u, m;
	struct buddy_counters st;

	cr_assert_eq(buddy_alloc(&t->z, 9, MT_MOVABLE, FRAME_GUEST, false), 0);
	cr_assert_eq(buddy_alloc(&t->z, 8, MT_MOVABLE, FRAME_GUEST, false), 512);
	/* pageblock 1: 256 allocated movable, 256 free: exactly half */
	long h = buddy_alloc(&t->z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_eq(h, 768);
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.fallbacks, 1);
	cr_assert_eq(st.pageblocks_stolen, 1);
	pageblocks(t, &u, &m);
	cr_assert_eq(u, 1);
	cr_assert_eq(m, 1);
	uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
	buddy_free_blocks(&t->z, NULL, per_type);
	for (unsigned o = 0; o < 8; o++) {
		cr_assert_eq(per_type[MT_UNMOVABLE][o], 1, "order %u", o);
		cr_assert_eq(per_type[MT_MOVABLE][o], 0, "order %u", o);
	}
	tz_check_i1(t);
	cr_assert_eq(buddy_free(&t->z, 768, 0), 0);
	cr_assert_eq(buddy_free(&t->z, 512, 8), 0);
	cr_assert_eq(buddy_free(&t->z, 0, 9), 0);
	tz_finish(t, true);
}

Test(buddy, unmovable_takes_without_converting_a_mostly_used_pageblock)
{
	struct tzone *t = tz_new(1024, 9);
	uint64_t u, m;
	struct buddy_counters st;

	cr_assert_eq(buddy_alloc(&t->z, 9, MT_MOVABLE, FRAME_GUEST, false), 0);
	cr_assert_eq(buddy_alloc(&t->z, 8, MT_MOVABLE, FRAME_GUEST, false), 512);
	cr_assert_eq(buddy_alloc(&t->z, 7, MT_MOVABLE, FRAME_GUEST, false), 768);
	/* pageblock 1: 128 free of 512 */
	long h = buddy_alloc(&t->z, 0, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert_eq(h, 896);
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.fallbacks, 1);
	cr_assert_eq(st.pageblocks_stolen, 0);
	pageblocks(t, &u, &m);
	cr_assert_eq(u, 0);
	/* the remainders stay with the pageblock's type */
	uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
	buddy_free_blocks(&t->z, NULL, per_type);
	for (unsigned o = 0; o < 7; o++)
		cr_assert_eq(per_type[MT_MOVABLE][o], 1, "order %u", o);
	tz_check_i1(t);
	for (uint32_t i = 0; i < 4; i++) {
		static const uint32_t at[] = { 896, 768, 512, 0 };
		static const unsigned ord[] = { 0, 7, 8, 9 };
		cr_assert_eq(buddy_free(&t->z, at[i], ord[i]), 0);
	}
	tz_finish(t, true);
}

Test(buddy, movable_takes_smallest_unmovable_block_without_stealing)
{
	struct tzone *t = tz_new(1024, 9);
	uint64_t u, m;
	struct buddy_counters st;

	/* pageblock 0 turns unmovable; fill it but for a few small blocks */
	cr_assert_eq(buddy_alloc(&t->z, 8, MT_UNMOVABLE, FRAME_VMM, false), 0);
	cr_assert_eq(buddy_alloc(&t->z, 7, MT_UNMOVABLE, FRAME_VMM, false), 256);
	cr_assert_eq(buddy_alloc(&t->z, 6, MT_UNMOVABLE, FRAME_VMM, false), 384);
	cr_assert_eq(buddy_alloc(&t->z, 5, MT_UNMOVABLE, FRAME_VMM, false), 448);
	cr_assert_eq(buddy_alloc(&t->z, 4, MT_UNMOVABLE, FRAME_VMM, false), 480);
	/* left free in pageblock 0: orders 3 (496), 2 (504), 1 (508), 0 (510, 511)? */
	cr_assert_eq(buddy_alloc(&t->z, 0, MT_UNMOVABLE, FRAME_VMM, false), 496);
	/* free now: 497 (0), 498 (1), 500 (2), 504 (3) */
	cr_assert_eq(buddy_alloc(&t->z, 9, MT_MOVABLE, FRAME_GUEST, false), 512);
	buddy_stats(&t->z, &st);
	uint64_t stolen = st.pageblocks_stolen;
	cr_assert_eq(stolen, 1);

	long h = buddy_alloc(&t->z, 0, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_eq(h, 497, "the smallest unmovable block, got %ld", h);
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.fallbacks, 2);
	cr_assert_eq(st.pageblocks_stolen, stolen);
	pageblocks(t, &u, &m);
	cr_assert_eq(u, 1);
	tz_check_i1(t);

	static const uint32_t at[] = { 497, 512, 496, 480, 448, 384, 256, 0 };
	static const unsigned ord[] = { 0, 9, 0, 4, 5, 6, 7, 8 };
	for (unsigned i = 0; i < 8; i++)
		cr_assert_eq(buddy_free(&t->z, at[i], ord[i]), 0, "free %u", at[i]);
	tz_finish(t, true);
}

Test(buddy, movable_converts_pageblock_from_large_block)
{
	struct tzone *t = tz_new(1024, 9);
	uint64_t u, m;
	struct buddy_counters st;

	cr_assert_eq(buddy_alloc(&t->z, 0, MT_UNMOVABLE, FRAME_VMM, false), 0);
	cr_assert_eq(buddy_alloc(&t->z, 9, MT_MOVABLE, FRAME_GUEST, false), 512);
	pageblocks(t, &u, &m);
	cr_assert_eq(u, 1);
	/* no movable block left: the largest unmovable one is order 8, and
	 * pageblock 0 has 511 free frames: it changes hands */
	long h = buddy_alloc(&t->z, 0, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_eq(h, 256);
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.pageblocks_stolen, 2);
	pageblocks(t, &u, &m);
	cr_assert_eq(u, 0);
	cr_assert_eq(m, 2);
	tz_check_i1(t);
	cr_assert_eq(buddy_free(&t->z, 256, 0), 0);
	cr_assert_eq(buddy_free(&t->z, 512, 9), 0);
	cr_assert_eq(buddy_free(&t->z, 0, 0), 0);
	tz_finish(t, true);
}

/* ---- contig runs ---- */

/* Every block of the run is an allocated head in state st, naturally aligned. */
static void assert_run(struct tzone *t, uint32_t s, uint32_t nr, enum frame_state st)
{
	for (uint32_t i = s; i < s + nr;) {
		const struct frame *f = &t->frames[i];
		cr_assert_eq(frame_state_get(f), st, "frame %u", i);
		cr_assert_eq(f->flags, 0);
		cr_assert_eq(i & ((1u << f->order) - 1), 0, "block %u order %u misaligned", i,
			     f->order);
		cr_assert_leq(i + (1u << f->order), s + nr);
		i += 1u << f->order;
	}
}

Test(buddy, contig_runs_longer_than_a_max_order_block)
{
	struct tzone *t = tz_new(8192, 10);
	uint64_t c[FRAME_NR_OWNER_STATES];

	long s = buddy_alloc_contig(&t->z, 3000, 0, FRAME_GUEST);
	cr_assert_eq(s, 0);
	assert_run(t, 0, 3000, FRAME_GUEST);
	cr_assert_eq(buddy_count_states(&t->z, c), 0);
	cr_assert_eq(c[FRAME_GUEST], 3000);
	cr_assert_eq(c[FRAME_FREE], 8192 - 3000);
	cr_assert_eq(t->z.nr_free_pages, 8192 - 3000);

	cr_assert_eq(buddy_alloc_contig(&t->z, 5193, 0, FRAME_VMM), BUDDY_ENOMEM);
	cr_assert_eq(buddy_alloc_contig(&t->z, 0, 0, FRAME_VMM), BUDDY_EINVAL);
	cr_assert_eq(buddy_alloc_contig(&t->z, 1, 0, FRAME_FREE), BUDDY_EINVAL);
	long s2 = buddy_alloc_contig(&t->z, 5192, 0, FRAME_VMM);
	cr_assert_eq(s2, 3000);
	cr_assert_eq(t->z.nr_free_pages, 0);
	cr_assert_eq(buddy_alloc_contig(&t->z, 1, 0, FRAME_VMM), BUDDY_ENOMEM);
	cr_assert_eq(buddy_alloc_contig(&t->z, UINT32_MAX, 0, FRAME_VMM), BUDDY_ENOMEM);
	cr_assert_eq(buddy_free_contig(&t->z, 0, 3000), 0);
	cr_assert_eq(buddy_free_contig(&t->z, 3000, 5192), 0);
	struct buddy_counters st;
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.contig_allocs, 2);
	cr_assert_eq(st.contig_failures, 3);
	tz_finish(t, true);
}

Test(buddy, contig_alignment_and_odd_lengths)
{
	struct tzone *t = tz_new(4096 + 100, 10);
	static const uint32_t lens[] = { 1, 2, 7, 511, 1023, 1025, 2049 };

	/* frame 0 busy (buddy_alloc would take the small tail block first) */
	cr_assert_eq(buddy_alloc_contig(&t->z, 1, 0, FRAME_VMM), 0);
	long s = buddy_alloc_contig(&t->z, 5, 3, FRAME_GUEST);
	cr_assert_eq(s, 8);
	long s2 = buddy_alloc_contig(&t->z, 1, 11, FRAME_GUEST);
	cr_assert_eq(s2, 2048);
	cr_assert_eq(buddy_free_contig(&t->z, 8, 5), 0);
	cr_assert_eq(buddy_free_contig(&t->z, 2048, 1), 0);
	cr_assert_eq(buddy_free_contig(&t->z, 0, 1), 0);
	cr_assert(buddy_fully_coalesced(&t->z));

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (unsigned al = 0; al <= 10; al += 5) {
			long r = buddy_alloc_contig(&t->z, lens[i], al, FRAME_BALLOONED);
			cr_assert_eq(r, 0, "len %u align %u: %ld", lens[i], al, r);
			assert_run(t, 0, lens[i], FRAME_BALLOONED);
			/* a second run starts where the first ends, rounded to its alignment */
			long r2 = buddy_alloc_contig(&t->z, lens[i], al, FRAME_GUEST);
			uint32_t want = (lens[i] + (1u << al) - 1) & ~((1u << al) - 1);
			if (want + lens[i] <= t->z.nr_frames) {
				cr_assert_eq(r2, want, "len %u align %u: %ld", lens[i], al, r2);
				cr_assert_eq(buddy_free_contig(&t->z, want, lens[i]), 0);
			} else {
				cr_assert_eq(r2, BUDDY_ENOMEM);
			}
			tz_check_i1(t);
			cr_assert_eq(buddy_free_contig(&t->z, 0, lens[i]), 0);
			cr_assert(buddy_fully_coalesced(&t->z));
		}
	}
	tz_finish(t, true);
}

Test(buddy, contig_needs_free_frames_not_free_blocks)
{
	struct tzone *t = tz_new(1024, 10);

	/* every odd frame busy: no two free frames next to each other */
	for (uint32_t i = 0; i < 1024; i++)
		cr_assert_eq(buddy_alloc(&t->z, 0, MT_MOVABLE, FRAME_GUEST, false), i);
	for (uint32_t i = 0; i < 1024; i += 2)
		cr_assert_eq(buddy_free(&t->z, i, 0), 0);
	cr_assert_eq(buddy_alloc_contig(&t->z, 2, 0, FRAME_VMM), BUDDY_ENOMEM);
	long one = buddy_alloc_contig(&t->z, 1, 0, FRAME_VMM);
	cr_assert_eq(one, 0);
	struct buddy_counters st;
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.contig_failures, 1);
	tz_check_i1(t);
	cr_assert_eq(buddy_free_contig(&t->z, 0, 1), 0);
	for (uint32_t i = 1; i < 1024; i += 2)
		cr_assert_eq(buddy_free(&t->z, i, 0), 0);
	tz_finish(t, true);
}

Test(buddy, contig_blocks_free_one_by_one)
{
	struct tzone *t = tz_new(2048, 10);
	long s = buddy_alloc_contig(&t->z, 1536 + 3, 0, FRAME_GUEST);
	cr_assert_eq(s, 0);
	/* blocks: 0 (10), 1024 (9), 1536 (1), 1538 (0) */
	cr_assert_eq(buddy_free(&t->z, 1538, 0), 0);
	cr_assert_eq(buddy_free(&t->z, 1536, 1), 0);
	cr_assert_eq(buddy_free(&t->z, 1024, 9), 0);
	cr_assert_eq(buddy_free(&t->z, 0, 10), 0);
	tz_finish(t, true);
}

Test(buddy, contig_free_refuses_what_is_not_a_run)
{
	struct tzone *t = tz_new(2048, 10);
	long s = buddy_alloc_contig(&t->z, 100, 0, FRAME_GUEST);
	cr_assert_eq(s, 0);
	struct buddy_counters before, after;
	buddy_stats(&t->z, &before);
	cr_assert_eq(buddy_free_contig(&t->z, 0, 101), BUDDY_EINVAL, "past the run");
	cr_assert_eq(buddy_free_contig(&t->z, 0, 99), BUDDY_EINVAL, "ends inside a block");
	cr_assert_eq(buddy_free_contig(&t->z, 1, 99), BUDDY_EINVAL, "starts on a tail");
	cr_assert_eq(buddy_free_contig(&t->z, 0, 0), BUDDY_EINVAL);
	cr_assert_eq(buddy_free_contig(&t->z, 2040, 100), BUDDY_EINVAL, "past the zone");
	buddy_stats(&t->z, &after);
	cr_assert_eq(after.bad_frees, before.bad_frees + 5);
	cr_assert_eq(t->z.nr_free_pages, 2048 - 100, "nothing was freed");
	tz_check_i1(t);
	cr_assert_eq(buddy_free_contig(&t->z, 0, 100), 0);
	cr_assert_eq(buddy_free_contig(&t->z, 0, 100), BUDDY_EINVAL, "double free");
	tz_finish(t, true);
}

/* ---- allocated blocks ---- */

Test(buddy, split_allocated_frees_frame_by_frame)
{
	struct tzone *t = tz_new(1024, 10);
	for (int compound = 0; compound <= 1; compound++) {
		long h = buddy_alloc(&t->z, 4, MT_MOVABLE, FRAME_GUEST, compound);
		cr_assert_eq(h, 0);
		cr_assert_eq(buddy_split_allocated(&t->z, 0), 0);
		for (uint32_t i = 0; i < 16; i++) {
			cr_assert_eq(frame_state_get(&t->frames[i]), FRAME_GUEST);
			cr_assert_eq(t->frames[i].order, 0);
			cr_assert_eq(t->frames[i].flags, 0);
			cr_assert_eq(buddy_block_head(&t->z, i), i);
		}
		cr_assert_eq(buddy_free(&t->z, 0, 4), BUDDY_EINVAL, "no longer an order-4 block");
		tz_check_i1(t);
		for (uint32_t i = 16; i-- > 0;)
			cr_assert_eq(buddy_free(&t->z, i, 0), 0);
		cr_assert(buddy_fully_coalesced(&t->z));
	}
	cr_assert_eq(buddy_split_allocated(&t->z, 0), BUDDY_EINVAL, "a free block");
	tz_finish(t, true);
}

Test(buddy, compound_tails_name_their_head)
{
	struct tzone *t = tz_new(1024, 10);
	long h = buddy_alloc(&t->z, 3, MT_UNMOVABLE, FRAME_VMM, true);
	long p = buddy_alloc(&t->z, 3, MT_UNMOVABLE, FRAME_VMM, false);
	cr_assert(h >= 0 && p >= 0);
	for (uint32_t i = 0; i < 8; i++) {
		const struct frame *f = &t->frames[h + i];
		cr_assert(f->flags & FRAME_F_COMPOUND);
		cr_assert_eq(f->owner, (uint32_t)h);
		if (i)
			cr_assert_eq(frame_state_get(f), FRAME_TAIL);
		cr_assert_eq(buddy_block_head(&t->z, (uint32_t)h + i), h);
		/* the plain block: tails untouched, the head found by walking back */
		if (i)
			cr_assert(frame_is_zero(&t->frames[p + i]));
		cr_assert_eq(buddy_block_head(&t->z, (uint32_t)p + i), p);
	}
	/* a frame inside a free block belongs to that block */
	cr_assert_eq(buddy_block_head(&t->z, 1000), 512);
	cr_assert_eq(buddy_block_head(&t->z, 1024), BUDDY_EINVAL);
	cr_assert_eq(buddy_free(&t->z, (uint32_t)h, 3), 0);
	for (uint32_t i = 1; i < 8; i++)
		cr_assert(frame_is_zero(&t->frames[h + i]), "tail %u not cleared", i);
	cr_assert_eq(buddy_free(&t->z, (uint32_t)p, 3), 0);
	tz_finish(t, true);
}

Test(buddy, set_state_moves_between_owner_states)
{
	struct tzone *t = tz_new(512, 9);
	uint64_t c[FRAME_NR_OWNER_STATES];
	long h = buddy_alloc(&t->z, 2, MT_MOVABLE, FRAME_GUEST, false);

	cr_assert_eq(buddy_set_state(&t->z, (uint32_t)h, FRAME_BALLOONED), 0);
	cr_assert_eq(buddy_count_states(&t->z, c), 0);
	cr_assert_eq(c[FRAME_BALLOONED], 4);
	cr_assert_eq(c[FRAME_GUEST], 0);
	cr_assert_eq(buddy_set_state(&t->z, (uint32_t)h, FRAME_FREE), BUDDY_EINVAL);
	cr_assert_eq(buddy_set_state(&t->z, (uint32_t)h + 1, FRAME_VMM), BUDDY_EINVAL, "a tail");
	cr_assert_eq(buddy_set_state(&t->z, 8, FRAME_VMM), BUDDY_EINVAL, "a free block");
	cr_assert_eq(buddy_free(&t->z, (uint32_t)h, 2), 0);
	tz_finish(t, true);
}

/* ---- bad calls ---- */

Test(buddy, bad_frees_leave_the_lists_intact)
{
	struct tzone *t = tz_new(2048 + 5, 10);
	long a = buddy_alloc(&t->z, 2, MT_MOVABLE, FRAME_GUEST, false);
	long b = buddy_alloc(&t->z, 3, MT_UNMOVABLE, FRAME_VMM, true);
	cr_assert(a >= 0 && b >= 0);
	uint64_t before[MM_MAX_ORDER_LIMIT + 1], after[MM_MAX_ORDER_LIMIT + 1];
	buddy_free_blocks(&t->z, before, NULL);

	cr_assert_eq(buddy_free(&t->z, (uint32_t)a + 1, 0), BUDDY_EINVAL, "tail");
	cr_assert_eq(buddy_free(&t->z, (uint32_t)a + 2, 1), BUDDY_EINVAL, "tail, as a block");
	cr_assert_eq(buddy_free(&t->z, (uint32_t)b + 4, 2), BUDDY_EINVAL, "compound tail");
	cr_assert_eq(buddy_free(&t->z, (uint32_t)a, 1), BUDDY_EINVAL, "wrong order");
	cr_assert_eq(buddy_free(&t->z, (uint32_t)a, 3), BUDDY_EINVAL, "wrong order");
	cr_assert_eq(buddy_free(&t->z, 2048 + 5, 0), BUDDY_EINVAL, "out of range");
	cr_assert_eq(buddy_free(&t->z, UINT32_MAX, 0), BUDDY_EINVAL, "out of range");
	uint32_t fb = 0;
	while (!(t->frames[fb].flags & FRAME_F_BUDDY))
		fb++;
	cr_assert_eq(buddy_free(&t->z, fb, t->frames[fb].order), BUDDY_EINVAL, "free block");
	cr_assert_eq(buddy_free(&t->z, 2052, 0), BUDDY_EINVAL, "free block");
	cr_assert_eq(buddy_free(&t->z, 0, 20), BUDDY_EINVAL, "order past max");
	buddy_free_blocks(&t->z, after, NULL);
	cr_assert_arr_eq(before, after, sizeof(before));
	tz_check_i1(t);

	cr_assert_eq(buddy_free(&t->z, (uint32_t)a, 2), 0);
	cr_assert_eq(buddy_free(&t->z, (uint32_t)a, 2), BUDDY_EINVAL, "double free");
	cr_assert_eq(buddy_free(&t->z, (uint32_t)b, 3), 0);
	cr_assert_eq(buddy_free(&t->z, (uint32_t)b, 3), BUDDY_EINVAL, "double free");
	struct buddy_counters st;
	buddy_stats(&t->z, &st);
	cr_assert_eq(st.bad_frees, 12);
	cr_assert_eq(st.frees, 2);
	tz_finish(t, true);
}

Test(buddy, count_states_catches_broken_structure)
{
	struct tzone *t = tz_new(1024, 10);
	uint64_t c[FRAME_NR_OWNER_STATES];
	long h = buddy_alloc(&t->z, 4, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_eq(h, 0);

	/* a head whose order runs it into the next block */
	t->frames[0].order = 5;
	cr_assert_eq(buddy_count_states(&t->z, c), BUDDY_EINVAL);
	t->frames[0].order = 4;
	/* a frame that claims to be free on no list */
	t->frames[16].flags = 0;
	cr_assert_eq(buddy_count_states(&t->z, c), BUDDY_EINVAL);
	t->frames[16].flags = FRAME_F_BUDDY;
	/* free counters that disagree with the lists */
	t->z.nr_free_pages++;
	cr_assert_eq(buddy_count_states(&t->z, c), BUDDY_EINVAL);
	t->z.nr_free_pages--;
	/* a head misaligned for its order */
	t->frames[16].order = 5;
	cr_assert_eq(buddy_count_states(&t->z, c), BUDDY_EINVAL);
	t->frames[16].order = 4;
	cr_assert_eq(buddy_count_states(&t->z, c), 0);
	cr_assert_eq(buddy_free(&t->z, 0, 4), 0);
	tz_finish(t, true);
}
