/*
 * QMP x-query-pageblocks in process, and the picture memvisorctl draws from
 * it (tools/memvisorctl/frames_svg.c, linked into this suite): every
 * pageblock's counts add up to the zone's frames and agree with the I1
 * count, 2 MiB leaves are seen where the p2m has them, the SVG has one cell
 * per pageblock in the states' colours and a legend, and replies of the
 * wrong shape are refused before anything is written.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "mm/arena.h"
#include "tools/memvisorctl/frames_svg.h"
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

TestSuite(pageblocks, .init = setup, .fini = teardown);

#define INT(a, i) json_integer_value(json_array_get(a, i))

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The picture of ret as text (freed by the caller), and its summary. */
static char *svg_of(json_t *ret, struct frames_svg_summary *sum, int *rc, const char **why)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	*why = NULL;
	*rc = frames_svg_write(f, ret, sum, why);
	fclose(f);
	return buf;
}

Test(pageblocks, counts_add_up_and_agree_with_i1)
{
	struct mm_zone *zn = mm_zone_get(s.arena, ZONE_NORMAL);
	json_t *r = session_return(&s, "{\"execute\": \"x-query-pageblocks\"}");
	uint64_t c[MM_NR_ZONES][FRAME_NR_OWNER_STATES];

	mm_pcp_drain(zn);
	cr_assert_eq(mm_arena_check_frames(s.arena, c), 0);
	EXPECT_KEYS(r, "fields", "zones");
	json_t *z = json_array_get(json_object_get(r, "zones"), 0);
	EXPECT_KEYS(z, "name", "frames", "pageblock-frames", "pageblocks");
	cr_assert_str_eq(json_string_value(json_object_get(z, "name")), "Normal");
	json_t *pbs = json_object_get(z, "pageblocks"), *pb;
	cr_assert_eq(json_array_size(pbs), zn->buddy.nr_pageblocks);
	uint64_t sum[4] = { 0 }, leaves = 0;
	size_t i;
	json_array_foreach(pbs, i, pb) {
		cr_assert_eq(json_array_size(pb), 6);
		const char *type = json_string_value(json_array_get(pb, 0));
		cr_assert(!strcmp(type, "Movable") || !strcmp(type, "Unmovable"), "%s", type);
		uint64_t in_block = 0;
		for (int st = 0; st < 4; st++) {
			sum[st] += (uint64_t)INT(pb, st + 1);
			in_block += (uint64_t)INT(pb, st + 1);
		}
		cr_assert_leq(in_block, PAGEBLOCK_FRAMES, "pageblock %zu", i);
		if (json_is_true(json_array_get(pb, 5))) {
			leaves++;
			cr_assert_eq(INT(pb, 3), PAGEBLOCK_FRAMES, "a 2 MiB leaf over a whole guest block");
		}
	}
	cr_assert_eq(sum[0] + sum[1] + sum[2] + sum[3], zn->buddy.nr_frames);
	cr_assert_eq(sum[2], c[ZONE_NORMAL][FRAME_GUEST]);
	cr_assert_eq(sum[3], c[ZONE_NORMAL][FRAME_BALLOONED]);
	cr_assert_eq(sum[1], c[ZONE_NORMAL][FRAME_VMM]);
	struct p2m_counts pc;
	cr_assert_eq(p2m_count_leaves(guest_mem_p2m(s.gm), 0, (8 << 20) >> 12, &pc), 0);
	cr_assert_eq(leaves, pc.leaves_2m, "every 2 MiB leaf of the guest, and nothing else");
	cr_assert_gt(leaves, 0, "a fresh zone backs the guest with whole 2 MiB blocks");

	struct frames_svg_summary sv;
	const char *why;
	int rc;
	char *svg = svg_of(r, &sv, &rc, &why);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(sv.cells, zn->buddy.nr_pageblocks);
	cr_assert_eq(count_of(svg, "<rect class=\"pb "), zn->buddy.nr_pageblocks);
	cr_assert_eq(count_of(svg, "<circle class=\"leaf\""), leaves);
	cr_assert_eq(sv.leaf_2m, leaves);
	cr_assert_geq(sv.cells_by_state[SVG_GUEST], 4, "8 MiB of guest RAM is 4 pageblocks");
	free(svg);
	json_decref(r);
}

/* A canned reply: two zones, every state dominant once, a mixed block. */
static const char canned[] =
	"{\"fields\": [\"type\", \"free\", \"vmm\", \"guest\", \"ballooned\", \"leaf-2m\"],"
	" \"zones\": [{\"name\": \"Normal\", \"frames\": 2048, \"pageblock-frames\": 512,"
	"  \"pageblocks\": [[\"Unmovable\", 12, 500, 0, 0, false],"
	"                   [\"Movable\", 0, 0, 512, 0, true],"
	"                   [\"Movable\", 300, 0, 212, 0, false],"
	"                   [\"Movable\", 0, 0, 12, 500, false]]},"
	" {\"name\": \"Huge<script>\", \"frames\": 512, \"pageblock-frames\": 512,"
	"  \"pageblocks\": [[\"Movable\", 512, 0, 0, 0, false]]}]}";

Test(pageblocks, svg_of_a_canned_reply)
{
	json_t *ret = json_loads(canned, 0, NULL);
	struct frames_svg_summary sv;
	const char *why;
	int rc;

	cr_assert_not_null(ret);
	char *svg = svg_of(ret, &sv, &rc, &why);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert(!strncmp(svg, "<?xml", 5));
	cr_assert_not_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	cr_assert_not_null(strstr(svg, "</svg>\n"));
	cr_assert_eq(sv.zones, 2);
	cr_assert_eq(sv.cells, 5);
	cr_assert_eq(count_of(svg, "<rect class=\"pb "), 5);
	cr_assert_eq(sv.cells_by_state[SVG_VMM], 1);
	cr_assert_eq(sv.cells_by_state[SVG_GUEST], 1);
	cr_assert_eq(sv.cells_by_state[SVG_FREE], 2, "the mixed block is mostly free");
	cr_assert_eq(sv.cells_by_state[SVG_BALLOONED], 1);
	cr_assert_eq(sv.unmovable, 1);
	cr_assert_eq(sv.leaf_2m, 1);
	cr_assert_eq(count_of(svg, "<rect class=\"pb VMM\""), 1);
	cr_assert_eq(count_of(svg, "<rect class=\"pb ballooned\""), 1);
	for (int st = 0; st < SVG_NR_STATES; st++)
		cr_assert_not_null(strstr(svg, frames_svg_colour[st]), "colour %d", st);
	cr_assert_eq(count_of(svg, "<g class=\"legend\">"), SVG_NR_STATES + 3);
	cr_assert_not_null(strstr(svg, "fill-opacity=\"0.71\""), "300 of 512 free: paler");
	cr_assert_null(strstr(svg, "<script"), "a zone name is not markup");
	cr_assert_not_null(strstr(svg, "zone Huge?script?"));
	free(svg);
	json_decref(ret);
}

Test(pageblocks, replies_of_the_wrong_shape_are_refused)
{
	static const char *const bad[] = {
		"{}",
		"{\"zones\": {}}",
		"{\"zones\": [{\"pageblocks\": []}]}",
		"{\"zones\": [{\"name\": \"Normal\"}]}",
		"{\"zones\": [{\"name\": \"Normal\", \"pageblocks\": [[\"Movable\", 1, 2, 3, 4]]}]}",
		"{\"zones\": [{\"name\": \"Normal\", \"pageblocks\": [[\"Movable\", -1, 0, 0, 0, false]]}]}",
		"{\"zones\": [{\"name\": \"Normal\", \"pageblocks\": [[1, 0, 0, 0, 0, false]]}]}",
		"{\"zones\": [{\"name\": \"Normal\", \"pageblocks\": [[\"Movable\", 0, 0, 0, 0, 1]]}]}",
		("{\"zones\": [{\"name\": \"Normal\", \"pageblocks\": [[\"Movable\", 99999999999999, 0, "
		 "0, 0, false]]}]}"),
		"{\"zones\": [{\"name\": \"Normal\", \"pageblocks\": [\"Movable\"]}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		json_t *ret = json_loads(bad[i], 0, NULL);
		struct frames_svg_summary sv;
		const char *why;
		int rc;
		cr_assert_not_null(ret, "%s", bad[i]);
		char *svg = svg_of(ret, &sv, &rc, &why);
		cr_assert_eq(rc, -1, "%s", bad[i]);
		cr_assert_not_null(why);
		cr_assert_eq(strlen(svg), 0, "nothing written for %s", bad[i]);
		free(svg);
		json_decref(ret);
	}
}
