/*
 * The kernel's text views of the zones, byte for byte: /proc/buddyinfo and
 * /proc/pagetypeinfo, so tools that parse those files read ours; plus the
 * frame-state line per zone that proves I1 to a human.
 *
 * As in the kernel, free counts are blocks on the free lists only; frames in
 * per-thread caches appear in neither file.
 */
#include <errno.h>
#include "arena.h"
#include "textbuf.h"

size_t mm_format_buddyinfo(struct mm_arena *a, char *buf, size_t len)
{
	struct textbuf t = textbuf_start(buf, len);

	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		uint64_t per_order[MM_MAX_ORDER_LIMIT + 1];
		buddy_free_blocks(&z->buddy, per_order, NULL);
		textbuf_printf(&t, "Node %d, zone %8s ", 0, z->buddy.name);
		for (unsigned o = 0; o <= z->buddy.max_order; o++)
			textbuf_printf(&t, "%6lu ", (unsigned long)per_order[o]);
		textbuf_printf(&t, "\n");
	}
	return t.needed;
}

/*
 * Linux's migrate types in its order. Ours are its first two; the others
 * never hold anything here but are printed so parsers find every row.
 */
static const char *const linux_types[] = {
	"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate",
};
#define LINUX_NR_TYPES (sizeof(linux_types) / sizeof(linux_types[0]))
_Static_assert(MT_UNMOVABLE == 0 && MT_MOVABLE == 1, "our types are Linux's first two");

/* The kernel stops counting a list at this many blocks and prints ">". */
#define PAGETYPE_COUNT_CAP 100000UL

size_t mm_format_pagetypeinfo(struct mm_arena *a, char *buf, size_t len)
{
	struct textbuf t = textbuf_start(buf, len);

	textbuf_printf(&t, "Page block order: %d\n", PAGEBLOCK_ORDER);
	textbuf_printf(&t, "Pages per block:  %lu\n", (unsigned long)PAGEBLOCK_FRAMES);
	textbuf_printf(&t, "\n");
	textbuf_printf(&t, "%-43s ", "Free pages count per migrate type at order");
	for (unsigned o = 0; o <= a->max_order; o++)
		textbuf_printf(&t, "%6d ", (int)o);
	textbuf_printf(&t, "\n");
	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		uint64_t per_type[MT_NR_TYPES][MM_MAX_ORDER_LIMIT + 1];
		buddy_free_blocks(&z->buddy, NULL, per_type);
		for (unsigned mt = 0; mt < LINUX_NR_TYPES; mt++) {
			textbuf_printf(&t, "Node %4d, zone %8s, type %12s ", 0, z->buddy.name,
				    linux_types[mt]);
			for (unsigned o = 0; o <= z->buddy.max_order; o++) {
				uint64_t n = mt < MT_NR_TYPES ? per_type[mt][o] : 0;
				if (n >= PAGETYPE_COUNT_CAP)
					textbuf_printf(&t, ">%6lu ", PAGETYPE_COUNT_CAP);
				else
					textbuf_printf(&t, "%6lu ", (unsigned long)n);
			}
			textbuf_printf(&t, "\n");
		}
	}

	textbuf_printf(&t, "\n%-23s", "Number of blocks type ");
	for (unsigned mt = 0; mt < LINUX_NR_TYPES; mt++)
		textbuf_printf(&t, "%12s ", linux_types[mt]);
	textbuf_printf(&t, "\n");
	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		uint64_t blocks[MT_NR_TYPES];
		buddy_pageblock_counts(&z->buddy, blocks);
		textbuf_printf(&t, "Node %d, zone %8s ", 0, z->buddy.name);
		for (unsigned mt = 0; mt < LINUX_NR_TYPES; mt++)
			textbuf_printf(&t, "%12lu ", mt < MT_NR_TYPES ? (unsigned long)blocks[mt] : 0UL);
		textbuf_printf(&t, "\n");
	}
	return t.needed;
}

/*
 * One line per zone, key-value pairs after the kernel's zone prefix so it
 * greps like buddyinfo and splits like a key=value list:
 *   Node 0, zone   Normal frames 4096 free 4000 vmm 80 guest 16 ballooned 0 pcp 12 check ok
 * free counts every free frame (lists and per-thread caches, pcp shows the
 * latter); check is "ok" when the states add up to frames and agree with the
 * free lists, "MISMATCH" when they do not, "busy" when the per-thread
 * caches kept changing during the check (no verdict; see arena_check.c).
 */
size_t mm_format_frames(struct mm_arena *a, char *buf, size_t len)
{
	struct textbuf t = textbuf_start(buf, len);

	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		uint64_t c[FRAME_NR_OWNER_STATES];
		int rc = mm_zone_check_frames(z, c);
		textbuf_printf(&t,
			    "Node %d, zone %8s frames %lu free %lu vmm %lu guest %lu ballooned %lu"
			    " pcp %lu check %s\n",
			    0, z->buddy.name, (unsigned long)z->buddy.nr_frames,
			    (unsigned long)c[FRAME_FREE], (unsigned long)c[FRAME_VMM],
			    (unsigned long)c[FRAME_GUEST], (unsigned long)c[FRAME_BALLOONED],
			    (unsigned long)__atomic_load_n(&z->buddy.nr_pcp_pages, __ATOMIC_RELAXED),
			    rc == -EBUSY ? "busy" : rc ? "MISMATCH" : "ok");
	}
	return t.needed;
}
