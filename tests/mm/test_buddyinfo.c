/*
 * /proc/buddyinfo, /proc/pagetypeinfo and the frames line, byte for byte,
 * for a zone brought into a known state with the buddy calls themselves.
 */
#include <criterion/criterion.h>
#include <string.h>
#include "fixture.h"
#include "mm/arena.h"
#include "mm/slab.h"

/*
 * 8 MiB zone Normal (two order-10 blocks), everything the arena's own caches
 * hold given back, then: one unmovable frame (steals block 0's two
 * pageblocks, its split remainders go unmovable) and one movable order-3
 * block (splits block 1024).
 */
static struct mm_arena *known_state(void)
{
	struct mm_arena *a = fixture_arena(8);
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);

	slab_shrink_all(a);
	mm_pcp_drain(z);
	cr_assert(buddy_fully_coalesced(&z->buddy), "precondition: an empty zone");
	cr_assert_eq(buddy_alloc(&z->buddy, 0, MT_UNMOVABLE, FRAME_VMM, false), 0);
	cr_assert_eq(buddy_alloc(&z->buddy, 3, MT_MOVABLE, FRAME_GUEST, false), 1024);
	return a;
}

static void known_state_finish(struct mm_arena *a)
{
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	cr_assert_eq(buddy_free(&z->buddy, 0, 0), 0);
	cr_assert_eq(buddy_free(&z->buddy, 1024, 3), 0);
	fixture_finish(a);
}

static const char buddyinfo_text[] =
	"Node 0, zone   Normal      1      1      1      2      2      2      2      2      2      2      0 \n";

static const char pagetypeinfo_text[] =
	"Page block order: 9\n"
	"Pages per block:  512\n"
	"\n"
	"Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n"
	"Node    0, zone   Normal, type    Unmovable      1      1      1      1      1      1      1      1      1      1      0 \n"
	"Node    0, zone   Normal, type      Movable      0      0      0      1      1      1      1      1      1      1      0 \n"
	"Node    0, zone   Normal, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 \n"
	"Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 \n"
	"Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 \n"
	"\n"
	"Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \n"
	"Node 0, zone   Normal            2            2            0            0            0 \n";

static const char frames_text[] =
	"Node 0, zone   Normal frames 2048 free 2039 vmm 1 guest 8 ballooned 0 pcp 0 check ok\n";

Test(buddyinfo, buddyinfo_exact)
{
	struct mm_arena *a = known_state();
	char buf[4096];
	size_t n = mm_format_buddyinfo(a, buf, sizeof(buf));
	cr_assert_str_eq(buf, buddyinfo_text);
	cr_assert_eq(n, strlen(buddyinfo_text));
	known_state_finish(a);
}

Test(buddyinfo, pagetypeinfo_exact)
{
	struct mm_arena *a = known_state();
	char buf[4096];
	size_t n = mm_format_pagetypeinfo(a, buf, sizeof(buf));
	cr_assert_str_eq(buf, pagetypeinfo_text);
	cr_assert_eq(n, strlen(pagetypeinfo_text));
	known_state_finish(a);
}

Test(buddyinfo, frames_line_exact)
{
	struct mm_arena *a = known_state();
	char buf[512];
	size_t n = mm_format_frames(a, buf, sizeof(buf));
	cr_assert_str_eq(buf, frames_text);
	cr_assert_eq(n, strlen(frames_text));
	known_state_finish(a);
}

Test(buddyinfo, frames_line_counts_cached_frames_as_free)
{
	struct mm_arena *a = known_state();
	struct mm_zone *z = mm_zone_get(a, ZONE_NORMAL);
	long h = mm_frames_alloc(z, 0, MT_MOVABLE, FRAME_GUEST, false);
	cr_assert_geq(h, 0);
	cr_assert_eq(mm_frames_free(z, (uint32_t)h, 0), 0);
	char buf[512];
	mm_format_frames(a, buf, sizeof(buf));
	cr_assert_str_eq(buf, "Node 0, zone   Normal frames 2048 free 2039 vmm 1 guest 8 ballooned 0"
			      " pcp 1 check ok\n");
	/* buddyinfo, like the kernel's, leaves the cached frame out */
	mm_format_buddyinfo(a, buf, sizeof(buf));
	cr_assert_str_neq(buf, buddyinfo_text);
	mm_pcp_drain(z);
	mm_format_buddyinfo(a, buf, sizeof(buf));
	cr_assert_str_eq(buf, buddyinfo_text);
	known_state_finish(a);
}

Test(buddyinfo, truncates_like_snprintf)
{
	struct mm_arena *a = known_state();
	char buf[16];
	memset(buf, 'x', sizeof(buf));
	size_t n = mm_format_pagetypeinfo(a, buf, 10);
	cr_assert_eq(n, strlen(pagetypeinfo_text));
	cr_assert_str_eq(buf, "Page bloc");
	cr_assert_eq(buf[10], 'x', "nothing written past len");
	cr_assert_eq(mm_format_buddyinfo(a, NULL, 0), strlen(buddyinfo_text));
	cr_assert_eq(mm_format_frames(a, NULL, 0), strlen(frames_text));
	known_state_finish(a);
}
