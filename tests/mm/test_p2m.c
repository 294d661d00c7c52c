/*
 * Tests for mm/p2m.c and mm/p2m_format.c: map, unmap, replace and lookup at
 * both leaf sizes, splitting a 2 MiB leaf, the EPT bits a walk reads, leaf
 * counts, the text format, bad arguments, readers racing a writer, and that
 * every table page is an object of the "p2m_table" slab cache and goes back
 * when it empties or the p2m is destroyed (each test ends with I1 and I3).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "fixture.h"
#include "mm/p2m.h"
#include "mm/slab.h"

#define RWX EPT_RWX

struct cache_find {
	struct slab_cache *found;
};

static bool info_names(const struct slab_cache_info *info, const char *name)
{
	if (!strcmp(info->name, name))
		return true;
	for (unsigned i = 0; i < info->nr_aliases; i++)
		if (!strcmp(info->aliases[i], name))
			return true;
	return false;
}

static void find_p2m_cache(struct slab_cache *c, void *arg)
{
	struct cache_find *f = arg;
	struct slab_cache_info info;

	slab_cache_get_info(c, &info);
	if (info_names(&info, "p2m_table"))
		f->found = c;
}

/* The cache serving table pages (p2m_table itself or the cache it merged
 * into), or NULL when no p2m exists in the arena. */
static struct slab_cache *p2m_cache(struct mm_arena *a)
{
	struct cache_find f = { NULL };
	slab_for_each_cache(a, find_p2m_cache, &f);
	return f.found;
}

static unsigned long cache_active(struct mm_arena *a)
{
	struct slab_cache_info info;
	struct slab_cache *c = p2m_cache(a);
	cr_assert_not_null(c, "no cache is named p2m_table");
	slab_cache_get_info(c, &info);
	return info.active_objs;
}

static struct p2m *new_p2m(struct mm_arena *a)
{
	struct p2m *p = NULL;
	int rc = p2m_create(a, &p);
	cr_assert_eq(rc, 0, "p2m_create: %s", strerror(-rc));
	return p;
}

static struct p2m_leaf lookup_ok(struct p2m *p, uint64_t gfn)
{
	struct p2m_leaf l;
	int rc = p2m_lookup(p, gfn, &l);
	cr_assert_eq(rc, 0, "lookup of gfn %#lx: %s", (unsigned long)gfn, strerror(-rc));
	return l;
}

static struct p2m_counts count(struct p2m *p, uint64_t gfn, uint64_t nr)
{
	struct p2m_counts c;
	cr_assert_eq(p2m_count_leaves(p, gfn, nr, &c), 0);
	return c;
}

Test(p2m, create_destroy_tables_from_slab)
{
	struct mm_arena *a = fixture_arena(16);
	cr_assert_null(p2m_cache(a), "a fresh arena has no p2m_table cache");
	unsigned long before = 0;
	struct p2m *p = new_p2m(a);
	cr_assert_eq(p2m_table_pages(p), 1, "an empty p2m is its root");
	cr_assert_geq(cache_active(a), 1);

	struct p2m_walk_step st[P2M_LEVELS];
	cr_assert_eq(p2m_walk(p, 0, st), 1);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	void *root = mm_frame_ptr(z, (uint32_t)(st[0].table_hfn - z->base_hfn));
	/* SLOB's objects belong to no cache an address can name. */
	struct slab_cache *want = fixture_policy_is(a, "slob") ? NULL : p2m_cache(a);
	cr_assert_eq(slab_cache_of(a, root), want, "the root is an object of p2m_table");
	cr_assert_eq(frame_state_get(&z->buddy.frames[buddy_block_head(&z->buddy,
			(uint32_t)(st[0].table_hfn - z->base_hfn))]), FRAME_VMM);

	before = cache_active(a);
	/* GFNs 512 GiB apart: each needs its own level 3, 2 and 1 tables. */
	for (uint64_t i = 0; i < 8; i++)
		cr_assert_eq(p2m_map(p, i << 27, 16 + i, P2M_ORDER_4K, RWX), 0);
	cr_assert_eq(p2m_table_pages(p), 1 + 8 * 3);
	cr_assert_eq(cache_active(a), before + 8 * 3, "every table page is a p2m_table object");
	p2m_destroy(p);
	cr_assert_null(p2m_cache(a), "the last p2m takes the cache with it");
	fixture_finish(a);
}

Test(p2m, map_lookup_unmap_4k)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);
	uint64_t gfn = 0x123456;

	cr_assert_eq(p2m_map(p, gfn, 100, P2M_ORDER_4K, RWX), 0);
	struct p2m_leaf l = lookup_ok(p, gfn);
	cr_assert_eq(l.hfn, 100);
	cr_assert_eq(l.order, P2M_ORDER_4K);
	cr_assert_eq(l.zone, ZONE_NORMAL);
	cr_assert_eq(l.access, RWX);
	cr_assert_eq(l.state, 0);
	cr_assert_eq(l.entry & 7, 7, "R/W/X in bits 0-2");
	cr_assert_eq((l.entry >> 3) & 7, 6, "write-back in bits 3-5");
	cr_assert_eq(l.entry & EPT_LEAF_2M, 0);
	cr_assert_eq((l.entry & EPT_ADDR_MASK) >> 12, 100, "frame number in bits 12-51");
	cr_assert_eq(p2m_table_pages(p), 4);

	cr_assert_eq(p2m_lookup(p, gfn + 1, &l), -ENOENT);
	cr_assert_eq(p2m_map(p, gfn, 101, P2M_ORDER_4K, RWX), -EEXIST);
	cr_assert_eq(p2m_map(p, gfn & ~511ULL, 512, P2M_ORDER_2M, RWX), -EEXIST,
		     "a 2 MiB leaf cannot cover a mapped 4 KiB page");

	struct p2m_leaf old;
	cr_assert_eq(p2m_unmap(p, gfn, P2M_ORDER_4K, &old), 0);
	cr_assert_eq(old.hfn, 100);
	cr_assert_eq(p2m_lookup(p, gfn, &l), -ENOENT);
	cr_assert_eq(p2m_unmap(p, gfn, P2M_ORDER_4K, &old), -ENOENT);
	cr_assert_eq(p2m_table_pages(p), 1, "tables left empty are freed");
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, map_lookup_unmap_2m)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);

	cr_assert_eq(p2m_map(p, 0x200, 0x400, P2M_ORDER_2M, RWX), 0);
	struct p2m_leaf l = lookup_ok(p, 0x3ff);
	cr_assert_eq(l.hfn, 0x5ff, "the HFN of the GFN, not of the leaf's base");
	cr_assert_eq(l.order, P2M_ORDER_2M);
	cr_assert_neq(l.entry & EPT_LEAF_2M, 0, "bit 7 marks the 2 MiB leaf");
	cr_assert_eq((l.entry & EPT_ADDR_MASK) >> 12, 0x400);
	cr_assert_eq(p2m_table_pages(p), 3, "a 2 MiB leaf needs no level-1 table");
	cr_assert_eq(p2m_map(p, 0x201, 7, P2M_ORDER_4K, RWX), -EEXIST);
	cr_assert_eq(p2m_map(p, 0x200, 0x600, P2M_ORDER_2M, RWX), -EEXIST);

	struct p2m_leaf old;
	cr_assert_eq(p2m_unmap(p, 0x200, P2M_ORDER_2M, &old), 0);
	cr_assert_eq(old.hfn, 0x400);
	cr_assert_eq(old.order, P2M_ORDER_2M);
	cr_assert_eq(p2m_lookup(p, 0x300, &l), -ENOENT);
	cr_assert_eq(p2m_table_pages(p), 1);
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, bad_arguments)
{
	/* 17 MiB: frames 4096..4351 exist, but no 2 MiB run starts at 4096. */
	struct mm_arena *a = fixture_arena(17);
	struct p2m *p = new_p2m(a);
	struct p2m_leaf l;

	cr_assert_eq(p2m_map(p, 0x201, 0x400, P2M_ORDER_2M, RWX), -EINVAL, "GFN not aligned");
	cr_assert_eq(p2m_map(p, 0x200, 0x401, P2M_ORDER_2M, RWX), -EINVAL, "HFN not aligned");
	cr_assert_eq(p2m_map(p, 0, 1, 3, RWX), -EINVAL, "order 3 is no leaf size");
	cr_assert_eq(p2m_map(p, P2M_GFN_LIMIT, 1, P2M_ORDER_4K, RWX), -EINVAL);
	cr_assert_eq(p2m_map(p, 0, 4352, P2M_ORDER_4K, RWX), -EINVAL, "HFN past the arena");
	cr_assert_eq(p2m_map(p, 0, 4096, P2M_ORDER_2M, RWX), -EINVAL, "leaf runs past the zone");
	cr_assert_eq(p2m_map(p, 0, 4351, P2M_ORDER_4K, RWX), 0, "the last frame is fine");
	cr_assert_eq(p2m_map(p, 1, 1, P2M_ORDER_4K, EPT_W), -EINVAL, "not readable");
	cr_assert_eq(p2m_map(p, 1, 1, P2M_ORDER_4K, RWX | (1ULL << 60)), -EINVAL, "unknown bit");
	cr_assert_eq(p2m_map(p, 1, 1, P2M_ORDER_4K, RWX | P2M_ZONE_MASK), -EINVAL,
		     "the zone is p2m's to say");
	cr_assert_eq(p2m_lookup(p, P2M_GFN_LIMIT, &l), -EINVAL);
	cr_assert_eq(p2m_update_state(p, 0, P2M_ORDER_4K, EPT_W, 0), -EINVAL);
	cr_assert_eq(p2m_map_range(p, P2M_GFN_LIMIT - 1, 1, 2, RWX), -EINVAL);
	cr_assert_eq(p2m_map_range(p, 5, 1, 0, RWX), -EINVAL);
	cr_assert_eq(p2m_unmap(p, 0, P2M_ORDER_4K, NULL), 0);
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, split_keeps_frames_and_state)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);

	cr_assert_eq(p2m_map(p, 0x400, 0x200, P2M_ORDER_2M, RWX | P2M_ST_PUNCHED), 0);
	cr_assert_eq(p2m_split(p, 0x410), 0);
	for (uint64_t i = 0; i < 512; i++) {
		struct p2m_leaf l = lookup_ok(p, 0x400 + i);
		cr_assert_eq(l.order, P2M_ORDER_4K);
		cr_assert_eq(l.hfn, 0x200 + i);
		cr_assert_eq(l.state, P2M_ST_PUNCHED);
		cr_assert_eq(l.access, RWX);
		cr_assert_eq((l.entry >> 3) & 7, 6);
	}
	struct p2m_counts c = count(p, 0x400, 512);
	cr_assert_eq(c.leaves_4k, 512);
	cr_assert_eq(c.leaves_2m, 0);
	cr_assert_eq(c.punched, 512);
	cr_assert_eq(p2m_table_pages(p), 4);
	cr_assert_eq(p2m_split(p, 0x400), -ENOENT, "already 4 KiB leaves");
	cr_assert_eq(p2m_split(p, 0x800), -ENOENT, "nothing there");
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, unmap_4k_inside_2m_splits)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);
	struct p2m_leaf old, l;

	cr_assert_eq(p2m_map(p, 0, 0x600, P2M_ORDER_2M, RWX), 0);
	cr_assert_eq(p2m_unmap(p, 5, P2M_ORDER_4K, &old), 0);
	cr_assert_eq(old.hfn, 0x605);
	cr_assert_eq(old.order, P2M_ORDER_4K);
	cr_assert_eq(p2m_lookup(p, 5, &l), -ENOENT);
	cr_assert_eq(lookup_ok(p, 6).hfn, 0x606);
	cr_assert_eq(count(p, 0, 512).leaves_4k, 511);
	cr_assert_eq(p2m_unmap(p, 0, P2M_ORDER_2M, &old), -EINVAL,
		     "4 KiB leaves are unmapped one by one");
	for (uint64_t g = 0; g < 512; g++)
		if (g != 5)
			cr_assert_eq(p2m_unmap(p, g, P2M_ORDER_4K, NULL), 0);
	cr_assert_eq(p2m_table_pages(p), 1);
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, replace_both_sizes)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);
	struct p2m_leaf old;

	cr_assert_eq(p2m_map(p, 0x200, 0x400, P2M_ORDER_2M, RWX), 0);
	cr_assert_eq(p2m_replace(p, 0x203, 0x99, P2M_ORDER_4K, RWX, &old), 0);
	cr_assert_eq(old.hfn, 0x403);
	cr_assert_eq(lookup_ok(p, 0x203).hfn, 0x99);
	cr_assert_eq(lookup_ok(p, 0x204).hfn, 0x404, "the rest of the split leaf stays");
	cr_assert_eq(p2m_table_pages(p), 4);

	/* 512 present 4 KiB leaves become one 2 MiB leaf; the table goes. */
	cr_assert_eq(p2m_replace(p, 0x200, 0x800, P2M_ORDER_2M, RWX, &old), 0);
	cr_assert_eq(old.hfn, 0x400);
	cr_assert_eq(old.order, P2M_ORDER_4K);
	cr_assert_eq(lookup_ok(p, 0x203).hfn, 0x803);
	cr_assert_eq(lookup_ok(p, 0x203).order, P2M_ORDER_2M);
	cr_assert_eq(p2m_table_pages(p), 3);

	cr_assert_eq(p2m_replace(p, 0x400, 0x800, P2M_ORDER_2M, RWX, &old), -ENOENT);
	cr_assert_eq(p2m_replace(p, 0x400, 0x1, P2M_ORDER_4K, RWX, &old), -ENOENT);
	cr_assert_eq(p2m_unmap(p, 0x207, P2M_ORDER_4K, NULL), 0);
	cr_assert_eq(p2m_replace(p, 0x200, 0xa00, P2M_ORDER_2M, RWX, &old), -ENOENT,
		     "a 2 MiB replace needs all 512 pieces present");
	cr_assert_eq(lookup_ok(p, 0x208).hfn, 0x808, "a refused replace changes nothing");
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, walk_reads_like_the_hardware)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	struct p2m_walk_step st[P2M_LEVELS];
	uint64_t gpa = 0x123456000ULL, gfn = gpa >> 12;

	cr_assert_eq(p2m_map(p, gfn, 77, P2M_ORDER_4K, RWX), 0);
	cr_assert_eq(p2m_walk(p, gfn, st), 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(st[i].level, 4u - (unsigned)i);
		cr_assert_eq(st[i].index, (gpa >> (12 + 9 * (3 - i))) & 511);
		cr_assert_eq(st[i].entry & 7, 7);
		void *t = mm_frame_ptr(z, (uint32_t)(st[i].table_hfn - z->base_hfn));
		cr_assert_eq(slab_cache_of(a, t), fixture_policy_is(a, "slob") ? NULL : p2m_cache(a),
			     "level %u table is a slab object", st[i].level);
		if (i < 3) {
			cr_assert_eq((st[i].entry & EPT_ADDR_MASK) >> 12, st[i + 1].table_hfn,
				     "a non-leaf entry names the next table's frame");
			cr_assert_eq(st[i].entry & (EPT_MT_MASK | EPT_LEAF_2M), 0);
		}
	}
	cr_assert_eq((st[3].entry & EPT_ADDR_MASK) >> 12, 77);

	cr_assert_eq(p2m_map(p, 0x40000, 0x200, P2M_ORDER_2M, RWX), 0);
	cr_assert_eq(p2m_walk(p, 0x40123, st), 3, "a 2 MiB leaf ends the walk at level 2");
	cr_assert_neq(st[2].entry & EPT_LEAF_2M, 0);
	cr_assert_eq((st[2].entry & EPT_ADDR_MASK) >> 12, 0x200);

	cr_assert_eq(p2m_walk(p, 0x7fffffff0ULL, st), 1, "an empty root entry ends it at once");
	cr_assert_eq(st[0].entry, 0);
	cr_assert_eq(p2m_walk(p, P2M_GFN_LIMIT, st), -EINVAL);
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, map_range_picks_leaf_sizes_and_undoes)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);

	cr_assert_eq(p2m_map_range(p, 0, 0x200, 1024 + 3, RWX), 0);
	struct p2m_counts c = count(p, 0, 2048);
	cr_assert_eq(c.leaves_2m, 2);
	cr_assert_eq(c.leaves_4k, 3);
	cr_assert_eq(lookup_ok(p, 1025).hfn, 0x200 + 1025);

	/* Aligned GFNs over unaligned frames: EPT allows 4 KiB leaves only. */
	cr_assert_eq(p2m_map_range(p, 0x1000, 1, 1024, RWX), 0);
	c = count(p, 0x1000, 1024);
	cr_assert_eq(c.leaves_2m, 0);
	cr_assert_eq(c.leaves_4k, 1024);

	/* A collision in the middle leaves nothing of the new range behind. */
	cr_assert_eq(p2m_map(p, 0x2300, 9, P2M_ORDER_4K, RWX), 0);
	uint64_t tables = p2m_table_pages(p);
	cr_assert_eq(p2m_map_range(p, 0x2000, 0x400, 1024, RWX), -EEXIST);
	c = count(p, 0x2000, 1024);
	cr_assert_eq(c.leaves_2m + c.leaves_4k, 1);
	cr_assert_eq(p2m_table_pages(p), tables);

	/* The counts: 2 MiB leaves overlapping, 4 KiB leaves inside. */
	c = count(p, 0x100, 0x200);
	cr_assert_eq(c.leaves_2m, 2);
	c = count(p, 0x401, 2);
	cr_assert_eq(c.leaves_2m, 0);
	cr_assert_eq(c.leaves_4k, 2);
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, update_state)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);

	cr_assert_eq(p2m_map(p, 0, 0x200, P2M_ORDER_2M, RWX), 0);
	cr_assert_eq(p2m_update_state(p, 0, P2M_ORDER_2M, P2M_ST_PUNCHED, 0), 0);
	cr_assert_eq(lookup_ok(p, 9).state, P2M_ST_PUNCHED);
	cr_assert_eq(lookup_ok(p, 9).order, P2M_ORDER_2M);
	cr_assert_eq(p2m_update_state(p, 9, P2M_ORDER_4K, P2M_ST_BALLOONED, P2M_ST_PUNCHED), 0);
	cr_assert_eq(lookup_ok(p, 9).state, P2M_ST_BALLOONED);
	cr_assert_eq(lookup_ok(p, 10).state, P2M_ST_PUNCHED);
	cr_assert_eq(count(p, 0, 512).leaves_4k, 512, "a 4 KiB change splits");
	/* Order 9 over 4 KiB leaves changes each of them. */
	cr_assert_eq(p2m_update_state(p, 0, P2M_ORDER_2M, 0, P2M_STATE_MASK), 0);
	struct p2m_counts c = count(p, 0, 512);
	cr_assert_eq(c.punched + c.ballooned, 0);
	cr_assert_eq(p2m_update_state(p, 512, P2M_ORDER_2M, P2M_ST_PUNCHED, 0), -ENOENT);
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, format_runs_and_totals)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p = new_p2m(a);
	char buf[4096];

	cr_assert_eq(p2m_map_range(p, 0, 0x400, 2048, RWX), 0);
	cr_assert_eq(p2m_map(p, 0x800, 0x7f3, P2M_ORDER_4K, RWX | P2M_ST_PUNCHED), 0);
	cr_assert_eq(p2m_map(p, 0x801, 0x100, P2M_ORDER_4K, EPT_R), 0);
	size_t n = p2m_format(p, buf, sizeof(buf));
	cr_assert_eq(n, strlen(buf));
	const char *want =
		"0x0000000000000000-0x00000000007fffff     8M  2M x4      hfn 0x400-0xbff"
		"           Normal rwx\n"
		"0x0000000000800000-0x0000000000800fff     4K  4K x1      hfn 0x7f3"
		"                 Normal rwx punched\n"
		"0x0000000000801000-0x0000000000801fff     4K  4K x1      hfn 0x100"
		"                 Normal r--\n"
		"total: 2M leaves 4 (8M), 4K leaves 2 (8K), mapped 8200K, punched 1, ballooned 0\n"
		"table pages: 4 (16K)\n";
	cr_assert_str_eq(buf, want);

	/* snprintf-style: a short buffer gets a NUL-terminated prefix, and the
	 * return value is still the full length. */
	char small[40];
	cr_assert_eq(p2m_format(p, small, sizeof(small)), n);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(strncmp(small, want, sizeof(small) - 1), 0);
	cr_assert_eq(p2m_format(p, NULL, 0), n);

	n = p2m_format_range(p, 0x800, 2, buf, sizeof(buf));
	cr_assert_eq(n, strlen(buf));
	cr_assert(strstr(buf, "total: 2M leaves 0 (0), 4K leaves 2 (8K), mapped 8K"), "%s", buf);
	cr_assert_null(strstr(buf, "table pages"));
	p2m_destroy(p);
	fixture_finish(a);
}

Test(p2m, p2ms_of_one_arena_share_the_cache)
{
	struct mm_arena *a = fixture_arena(16);
	struct p2m *p1 = new_p2m(a), *p2 = new_p2m(a);

	cr_assert_eq(p2m_map(p1, 0, 1, P2M_ORDER_4K, RWX), 0);
	cr_assert_eq(p2m_map(p2, 0, 2, P2M_ORDER_4K, RWX), 0);
	p2m_destroy(p1);
	cr_assert_not_null(p2m_cache(a), "p2 still uses the cache");
	cr_assert_eq(p2m_map(p2, 1ULL << 27, 3, P2M_ORDER_4K, RWX), 0);
	cr_assert_eq(lookup_ok(p2, 0).hfn, 2);
	p2m_destroy(p2);
	cr_assert_null(p2m_cache(a));
	struct p2m *p3 = new_p2m(a);
	p2m_destroy(p3);
	fixture_finish(a);
}

struct race {
	struct p2m *p;
	volatile bool stop;
	unsigned long misses;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	while (!r->stop) {
		struct p2m_leaf l;
		for (uint64_t g = 0; g < 1024; g += 7)
			if (p2m_lookup(r->p, g, &l))
				r->misses++;
	}
	return NULL;
}

/* Readers never see a hole while a writer splits, replaces and rejoins. */
Test(p2m, readers_race_a_writer)
{
	struct mm_arena *a = fixture_arena(16);
	struct race r = { .p = new_p2m(a) };
	pthread_t t;

	cr_assert_eq(p2m_map_range(r.p, 0, 0x400, 1024, RWX), 0);
	cr_assert_eq(pthread_create(&t, NULL, race_reader, &r), 0);
	for (int round = 0; round < 200; round++) {
		uint64_t g = (uint64_t)(round * 37) % 1024;
		cr_assert_eq(p2m_replace(r.p, g, 0x100 + (uint64_t)round % 64, P2M_ORDER_4K, RWX,
					 NULL), 0);
		cr_assert_eq(p2m_replace(r.p, g & ~511ULL, 0x400 + (g & ~511ULL), P2M_ORDER_2M, RWX,
					 NULL), 0);
	}
	r.stop = true;
	pthread_join(t, NULL);
	cr_assert_eq(r.misses, 0);
	cr_assert_eq(count(r.p, 0, 1024).leaves_2m, 2);
	p2m_destroy(r.p);
	fixture_finish(a);
}

/* Takes every free frame of zone Normal (the slab can grow no more). */
static size_t exhaust(struct mm_arena *a, long *idx, size_t max)
{
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	size_t n = 0;
	long i;

	mm_pcp_drain(z);
	while (n < max && (i = buddy_alloc(&z->buddy, 0, MT_MOVABLE, FRAME_VMM, false)) >= 0)
		idx[n++] = i;
	return n;
}

/* Reserved table pages serve maps even when the zone has nothing left;
 * what is not used goes back. */
Test(p2m, reserve_then_map_on_an_exhausted_zone)
{
	struct mm_arena *a = fixture_arena(16);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	struct p2m *p = new_p2m(a);
	static long taken[4096];

	/* Three level-1 slices, two level-2, one level-3: six pages. */
	cr_assert_eq(p2m_reserve_range(p, 0x3ffff, 1 + 1024), 0);
	cr_assert_eq(p2m_reserved_pages(p), 6);
	cr_assert_eq(p2m_reserve_range(p, 0x3ffff, 1), 0);
	cr_assert_eq(p2m_reserved_pages(p), 6, "a reserve is topped up, not added to");

	size_t n = exhaust(a, taken, 4096);
	for (uint64_t g = 0x3ffff; g < 0x3ffff + 1 + 1024; g++)
		cr_assert_eq(p2m_map(p, g, g & 0xfff, P2M_ORDER_4K, RWX), 0);
	cr_assert_eq(p2m_table_pages(p), 1 + 6);
	cr_assert_eq(p2m_reserved_pages(p), 0);
	/* Without a reserve, the slab runs dry sooner or later. */
	int rc = 0;
	for (uint64_t g = 1ULL << 33; !rc && g < (1ULL << 33) + (64ULL << 27); g += 1ULL << 27)
		rc = p2m_map(p, g, 1, P2M_ORDER_4K, RWX);
	cr_assert_eq(rc, -ENOMEM);
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(buddy_free(&z->buddy, (uint32_t)taken[k], 0), 0);

	/* 2 MiB leaves need no level-1 tables: two of these four stay unused. */
	cr_assert_eq(p2m_reserve_range(p, 1ULL << 30, 1024), 0);
	cr_assert_eq(p2m_reserved_pages(p), 4);
	uint64_t tables = p2m_table_pages(p);
	cr_assert_eq(p2m_map_range(p, 1ULL << 30, 0x400, 1024, RWX), 0);
	cr_assert_eq(p2m_table_pages(p), tables + 2);
	cr_assert_eq(p2m_reserved_pages(p), 2);
	p2m_release_reserve(p);
	cr_assert_eq(p2m_reserved_pages(p), 0);

	cr_assert_eq(p2m_reserve_range(p, P2M_GFN_LIMIT, 1), -EINVAL);
	cr_assert_eq(p2m_reserve_range(p, 0, 0), -EINVAL);
	cr_assert_eq(p2m_reserve_range(p, 1ULL << 32, 512), 0);
	p2m_destroy(p);   /* with a reserve still held */
	fixture_finish(a);
}
