/*
 * The structured x-query-* commands, in process: every key and type of the
 * shapes README "The monitor" gives (memvisorctl reads them), and every
 * number against mm/ and guest_mem read directly — on a contiguous guest,
 * and on a scattered one built over a zone fragmented on purpose.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "mm/compaction.h"
#include "mm/slab.h"
#include "session.h"

static struct session s;

static void setup(void)
{
	session_start(&s, 8);
	session_negotiate(&s);
}

static void teardown(void)
{
	session_finish(&s);
}

TestSuite(xquery, .init = setup, .fini = teardown);

#define INT(o, key) json_integer_value(json_object_get(o, key))

Test(xquery, buddyinfo)
{
	json_t *r = session_return(&s, "{\"execute\": \"x-query-buddyinfo\"}");
	struct mm_zone *z = mm_zone_get(s.arena, ZONE_NORMAL);
	uint64_t per_order[MM_MAX_ORDER_LIMIT + 1], per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
	uint64_t blocks[MT_NR_TYPES];
	unsigned n = z->buddy.max_order + 1;

	EXPECT_KEYS(r, "zones");
	json_t *zones = json_object_get(r, "zones");
	cr_assert_eq(json_array_size(zones), 1, "zone Normal only");
	json_t *zo = json_array_get(zones, 0);
	EXPECT_KEYS(zo, "name", "free", "free-by-type", "pageblocks");
	cr_assert_str_eq(json_string_value(json_object_get(zo, "name")), "Normal");
	buddy_free_blocks(&z->buddy, per_order, per_type);
	buddy_pageblock_counts(&z->buddy, blocks);
	json_t *free_ = json_object_get(zo, "free");
	expect_counts(free_, n);
	json_t *by_type = json_object_get(zo, "free-by-type");
	EXPECT_KEYS(by_type, "Unmovable", "Movable");
	expect_counts(json_object_get(by_type, "Unmovable"), n);
	expect_counts(json_object_get(by_type, "Movable"), n);
	for (unsigned o = 0; o < n; o++) {
		cr_assert_eq((uint64_t)json_integer_value(json_array_get(free_, o)), per_order[o]);
		cr_assert_eq((uint64_t)json_integer_value(json_array_get(
				     json_object_get(by_type, "Movable"), o)), per_type[MT_MOVABLE][o]);
	}
	json_t *pb = json_object_get(zo, "pageblocks");
	EXPECT_KEYS(pb, "Unmovable", "Movable");
	cr_assert_eq((uint64_t)INT(pb, "Unmovable"), blocks[MT_UNMOVABLE]);
	cr_assert_eq((uint64_t)(INT(pb, "Unmovable") + INT(pb, "Movable")), z->buddy.nr_pageblocks);
	json_decref(r);
}

Test(xquery, slabinfo)
{
	struct slab_cache_params p = { .size = 200, .flags = SLAB_F_CONSISTENCY | SLAB_F_REDZONE,
				       .order = -1 };
	struct slab_cache *c = slab_cache_create(s.arena, "monitor_test", &p);
	cr_assert_not_null(c);
	void *obj = slab_alloc(c);
	json_t *r = session_return(&s, "{\"execute\": \"x-query-slabinfo\"}");
	size_t i;
	json_t *cache;
	bool seen_test = false, seen_p2m = false;

	EXPECT_KEYS(r, "policy", "frames", "caches");
	cr_assert_eq((size_t)INT(r, "frames"), slab_frames_held(s.arena));
	cr_assert_str_eq(json_string_value(json_object_get(r, "policy")), slab_policy_name(s.arena));
	/* SLOB has no kmalloc caches: the arena's own and this test's remain. */
	cr_assert_gt(json_array_size(json_object_get(r, "caches")),
		     strcmp(slab_policy_name(s.arena), "slob") ? 5 : 1);
	json_array_foreach(json_object_get(r, "caches"), i, cache) {
		EXPECT_KEYS(cache, "name", "policy", "active-objs", "num-objs", "objsize", "objperslab",
			    "pagesperslab", "active-slabs", "num-slabs", "aliases", "debug",
			    "alloc-slow", "free-slow", "free-remote", "limit", "batchcount",
			    "sharedfactor", "sharedavail", "held-objs", "uncounted");
		cr_assert(json_is_array(json_object_get(cache, "aliases")));
		cr_assert(json_is_string(json_object_get(cache, "debug")));
		cr_assert_leq(INT(cache, "active-objs"), INT(cache, "num-objs"));
		const char *name = json_string_value(json_object_get(cache, "name"));
		size_t k;
		json_t *alias;
		json_array_foreach(json_object_get(cache, "aliases"), k, alias)
			seen_p2m |= !strcmp(json_string_value(alias), "p2m_table");
		seen_p2m |= !strcmp(name, "p2m_table");
		if (strcmp(name, "monitor_test"))
			continue;
		seen_test = true;
		struct slab_cache_info info;
		slab_cache_get_info(c, &info);
		cr_assert_str_eq(json_string_value(json_object_get(cache, "debug")), "FZ");
		cr_assert_str_eq(json_string_value(json_object_get(cache, "policy")), "slub",
				 "debug caches take the checked path on SLUB's slabs");
		cr_assert_eq(INT(cache, "active-objs"), 1);
		cr_assert_eq((unsigned long)INT(cache, "num-objs"), info.num_objs);
		cr_assert_eq(INT(cache, "objsize"), info.objsize);
		cr_assert_eq(INT(cache, "objperslab"), info.objperslab);
		cr_assert_eq(INT(cache, "pagesperslab"), info.pagesperslab);
		cr_assert_eq(INT(cache, "num-slabs"), 1);
	}
	cr_assert(seen_test, "the test's cache is missing");
	cr_assert(seen_p2m, "p2m_table is neither a cache nor an alias");
	json_decref(r);
	slab_free(c, obj);
	slab_cache_destroy(c, "monitor_test");
}

/* The first cache of the arena, whatever the policy (SLOB has no kmalloc
 * caches, so no name is known in advance). */
static json_t *first_cache(json_t *r)
{
	return json_array_get(json_object_get(r, "caches"), 0);
}

Test(xquery, slabinfo_tune)
{
	json_t *r = session_return(&s, "{\"execute\": \"x-query-slabinfo\"}");
	char name[SLAB_NAME_MAX], req[256];
	snprintf(name, sizeof(name), "%s", json_string_value(json_object_get(first_cache(r), "name")));
	json_decref(r);
#define TUNE(n, l, b, f) (snprintf(req, sizeof(req), "{\"execute\": \"x-slabinfo-tune\", " \
	"\"arguments\": {\"name\": \"%s\", \"limit\": %lld, \"batchcount\": %lld, " \
	"\"sharedfactor\": %lld}}", n, (long long)(l), (long long)(b), (long long)(f)), req)

	cr_assert_str_eq(session_error(&s, TUNE("no-such-cache", 32, 16, 4), "GenericError"),
			 "No slab cache named 'no-such-cache'");
	cr_assert_not_null(session_error(&s, TUNE(name, -1, 16, 4), "GenericError"));
	cr_assert_not_null(session_error(&s, TUNE(name, 1LL << 40, 16, 4), "GenericError"));
	if (strcmp(slab_policy_name(s.arena), "slab")) {
		/* As Linux's SLUB and SLOB: tunables are zeros, and stay so. */
		cr_assert_not_null(strstr(session_error(&s, TUNE(name, 32, 16, 4), "GenericError"),
					  "has no tunables"));
		return;
	}
	cr_assert_not_null(session_error(&s, TUNE(name, 0, 0, 4), "GenericError"));
	cr_assert_not_null(session_error(&s, TUNE(name, 16, 32, 4), "GenericError"),
			   "batchcount above limit");
	cr_assert_not_null(session_error(&s, TUNE(name, 16, 8, SLAB_SHARED_MAX + 1), "GenericError"));
	json_decref(session_return(&s, TUNE(name, 32, 16, 4)));
	r = session_return(&s, "{\"execute\": \"x-query-slabinfo\"}");
	json_t *c = first_cache(r);
	cr_assert_eq(INT(c, "limit"), 32);
	cr_assert_eq(INT(c, "batchcount"), 16);
	cr_assert_eq(INT(c, "sharedfactor"), 4);
	json_decref(r);
#undef TUNE
}

Test(xquery, compaction_counters)
{
	json_t *r = session_return(&s, "{\"execute\": \"x-query-compaction\"}");
	EXPECT_KEYS(r, "zones", "proactive");
	cr_assert_eq(json_array_size(json_object_get(r, "zones")), 1);
	json_t *z = json_array_get(json_object_get(r, "zones"), 0);
	EXPECT_KEYS(z, "name", "migrate-scanned", "free-scanned", "isolated", "moved", "failed",
		    "stalls", "success", "runs", "ns");
	struct mm_compact_counters c;
	mm_compact_counters(mm_zone_get(s.arena, ZONE_NORMAL), &c);
	cr_assert_str_eq(json_string_value(json_object_get(z, "name")), "Normal");
	cr_assert_eq((uint64_t)INT(z, "runs"), c.runs);
	cr_assert_eq((uint64_t)INT(z, "moved"), c.moved);
	json_decref(r);
}

Test(xquery, extfrag_indexes)
{
	struct mm_zone *zn = mm_zone_get(s.arena, ZONE_NORMAL);
	json_t *r = session_return(&s, "{\"execute\": \"x-query-extfrag\"}");
	EXPECT_KEYS(r, "zones");
	json_t *z = json_array_get(json_object_get(r, "zones"), 0);
	EXPECT_KEYS(z, "name", "extfrag-index", "unusable-index");
	json_t *e = json_object_get(z, "extfrag-index"), *u = json_object_get(z, "unusable-index");
	cr_assert_eq(json_array_size(e), zn->buddy.max_order + 1);
	cr_assert_eq(json_array_size(u), zn->buddy.max_order + 1);
	for (unsigned o = 0; o <= zn->buddy.max_order; o++) {
		int ei = (int)json_integer_value(json_array_get(e, o));
		int ui = (int)json_integer_value(json_array_get(u, o));
		cr_assert(ei == -1000 || (ei >= 0 && ei <= 1000), "order %u: %d", o, ei);
		cr_assert(ui >= 0 && ui <= 1000, "order %u: %d", o, ui);
	}
	/* A fresh zone has its max-order blocks free: every order would succeed. */
	cr_assert_eq(json_integer_value(json_array_get(e, 0)), -1000);
	json_decref(r);
}

Test(xquery, frames)
{
	json_t *r = session_return(&s, "{\"execute\": \"x-query-frames\"}");
	uint64_t counts[MM_NR_ZONES][FRAME_NR_OWNER_STATES];

	cr_assert_eq(mm_arena_check_frames(s.arena, counts), 0);
	EXPECT_KEYS(r, "zones");
	cr_assert_eq(json_array_size(json_object_get(r, "zones")), 1);
	json_t *z = json_array_get(json_object_get(r, "zones"), 0);
	EXPECT_KEYS(z, "name", "backing", "frames", "free", "vmm", "guest", "ballooned", "reported", "pcp",
		    "consistent", "busy");
	cr_assert_str_eq(json_string_value(json_object_get(z, "name")), "Normal");
	cr_assert(json_is_true(json_object_get(z, "consistent")));
	cr_assert_eq(INT(z, "guest"), (8 << 20) >> 12);
	cr_assert_eq((uint64_t)INT(z, "guest"), counts[ZONE_NORMAL][FRAME_GUEST]);
	cr_assert_eq((uint64_t)INT(z, "vmm"), counts[ZONE_NORMAL][FRAME_VMM]);
	cr_assert_eq(INT(z, "free") + INT(z, "vmm") + INT(z, "guest") + INT(z, "ballooned"),
		     INT(z, "frames"));
	cr_assert_eq((uint64_t)INT(z, "frames"), s.arena->zone[ZONE_NORMAL].buddy.nr_frames);
	cr_assert_leq(INT(z, "pcp"), INT(z, "free"));
	cr_assert_eq(INT(z, "reported"), 0, "nothing reported: part of guest when it is");
	json_decref(r);
}

/* x-query-regions' one region and x-query-p2m's summary of it. */
static void expect_region(const char *kind, uint64_t size)
{
	struct guest_mem_region gr;
	struct p2m_counts c;

	cr_assert_eq(guest_mem_region(s.gm, 0, &gr), 0);
	json_t *r = session_return(&s, "{\"execute\": \"x-query-regions\"}");
	EXPECT_KEYS(r, "regions");
	cr_assert_eq(json_array_size(json_object_get(r, "regions")), 1);
	json_t *o = json_array_get(json_object_get(r, "regions"), 0);
	EXPECT_KEYS(o, "gpa", "size", "kind", "zone", "backing", "mappings");
	cr_assert_eq(INT(o, "gpa"), 0);
	cr_assert_eq((uint64_t)INT(o, "size"), size);
	cr_assert_str_eq(json_string_value(json_object_get(o, "kind")), kind);
	cr_assert_str_eq(json_string_value(json_object_get(o, "zone")), "Normal");
	cr_assert_str_eq(json_string_value(json_object_get(o, "backing")),
			 mm_zone_backing(mm_zone_get(s.arena, ZONE_NORMAL)));
	cr_assert_eq((uint64_t)INT(o, "mappings"), gr.nr_mappings);
	json_decref(r);

	cr_assert_eq(p2m_count_leaves(guest_mem_p2m(s.gm), 0, size >> 12, &c), 0);
	r = session_return(&s, "{\"execute\": \"x-query-p2m\"}");
	EXPECT_KEYS(r, "regions", "table-pages");
	cr_assert_eq((uint64_t)INT(r, "table-pages"), p2m_table_pages(guest_mem_p2m(s.gm)));
	o = json_array_get(json_object_get(r, "regions"), 0);
	EXPECT_KEYS(o, "gpa", "size", "leaves-4k", "leaves-2m", "punched", "ballooned");
	cr_assert_eq((uint64_t)INT(o, "leaves-4k"), c.leaves_4k);
	cr_assert_eq((uint64_t)INT(o, "leaves-2m"), c.leaves_2m);
	cr_assert_eq(INT(o, "leaves-4k") + 512 * INT(o, "leaves-2m"), (json_int_t)(size >> 12));
	json_decref(r);
}

Test(xquery, regions_and_p2m_contiguous)
{
	expect_region("contiguous", 8 << 20);
}

Test(xquery, regions_and_p2m_scattered)
{
	struct mm_zone *z = mm_zone_get(s.arena, ZONE_NORMAL);
	long *held = calloc(z->buddy.nr_frames, sizeof(long));
	size_t n = 0;
	long i;
	char why[256];
	struct guest_mem *contiguous = s.gm;

	/* Every other free frame held: no 2 MiB run is left. */
	mm_pcp_drain(z);
	while ((i = buddy_alloc(&z->buddy, 0, MT_MOVABLE, FRAME_VMM, false)) >= 0)
		held[n++] = i;
	for (size_t k = 0; k < n; k++) {
		if (!(held[k] & 1)) {
			cr_assert_eq(buddy_free(&z->buddy, (uint32_t)held[k], 0), 0);
			held[k] = -1;
		}
	}
	cr_assert_eq(guest_mem_create(s.arena, 2 << 20, MM_HUGE_OFF, &s.gm, why, sizeof(why)), 0,
		     "%s", why);
	expect_region("scattered", 2 << 20);
	guest_mem_destroy(s.gm);
	s.gm = contiguous;
	for (size_t k = 0; k < n; k++) {
		if (held[k] >= 0)
			cr_assert_eq(buddy_free(&z->buddy, (uint32_t)held[k], 0), 0);
	}
	free(held);
}
