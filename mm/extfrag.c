/*
 * The kernel's two fragmentation indexes (extfrag.h) over a zone's free
 * block counts, and their debugfs texts byte for byte. The arithmetic is
 * mm/vmstat.c's, integer divisions included, so a tool that compares our
 * numbers with a Linux host's compares like with like.
 */
#include "extfrag.h"
#include "textbuf.h"

void mm_contig_info_of(const uint64_t *nr_free, unsigned max_order, unsigned order,
		       struct mm_contig_info *info)
{
	info->free_pages = 0;
	info->free_blocks_total = 0;
	info->free_blocks_suitable = 0;
	for (unsigned o = 0; o <= max_order; o++) {
		uint64_t blocks = nr_free[o];
		info->free_blocks_total += blocks;
		info->free_pages += blocks << o;
		if (o >= order)
			info->free_blocks_suitable += blocks << (o - order);
	}
}

int mm_extfrag_index_of(const struct mm_contig_info *info, unsigned order)
{
	uint64_t requested = 1ull << order;

	if (!info->free_blocks_total)
		return 0;
	/* The index only means something for a request that would fail. */
	if (info->free_blocks_suitable)
		return -1000;
	return 1000 - (int)((1000 + info->free_pages * 1000 / requested) / info->free_blocks_total);
}

int mm_unusable_index_of(const struct mm_contig_info *info, unsigned order)
{
	if (!info->free_pages)
		return 1000;
	return (int)((info->free_pages - (info->free_blocks_suitable << order)) * 1000 /
		     info->free_pages);
}

static void zone_info(struct mm_zone *z, unsigned order, struct mm_contig_info *info)
{
	uint64_t nr_free[MM_MAX_ORDER_LIMIT + 1];

	buddy_free_blocks(&z->buddy, nr_free, NULL);
	mm_contig_info_of(nr_free, z->buddy.max_order, order, info);
}

int mm_zone_extfrag_index(struct mm_zone *z, unsigned order)
{
	struct mm_contig_info info;

	if (order > z->buddy.max_order)
		return 0;
	zone_info(z, order, &info);
	return mm_extfrag_index_of(&info, order);
}

int mm_zone_unusable_index(struct mm_zone *z, unsigned order)
{
	struct mm_contig_info info;

	if (order > z->buddy.max_order)
		return 1000;
	zone_info(z, order, &info);
	return mm_unusable_index_of(&info, order);
}

/* One snapshot of the free lists per line, so a line's orders agree. */
static size_t format_index(struct mm_arena *a, char *buf, size_t len, bool extfrag)
{
	struct textbuf t = textbuf_start(buf, len);

	for (int id = 0; id < MM_NR_ZONES; id++) {
		struct mm_zone *z = mm_zone_get(a, (enum mm_zone_id)id);
		if (!z)
			continue;
		uint64_t nr_free[MM_MAX_ORDER_LIMIT + 1];
		buddy_free_blocks(&z->buddy, nr_free, NULL);
		textbuf_printf(&t, "Node %d, zone %8s ", 0, z->buddy.name);
		for (unsigned o = 0; o <= z->buddy.max_order; o++) {
			struct mm_contig_info info;
			mm_contig_info_of(nr_free, z->buddy.max_order, o, &info);
			/* The kernel's formats: extfrag pads to two (room for
			 * "-1"), unusable does not. */
			if (extfrag) {
				int index = mm_extfrag_index_of(&info, o);
				textbuf_printf(&t, "%2d.%03d ", index / 1000, index % 1000);
			} else {
				int index = mm_unusable_index_of(&info, o);
				textbuf_printf(&t, "%d.%03d ", index / 1000, index % 1000);
			}
		}
		textbuf_printf(&t, "\n");
	}
	return t.needed;
}

size_t mm_format_extfrag_index(struct mm_arena *a, char *buf, size_t len)
{
	return format_index(a, buf, len, true);
}

size_t mm_format_unusable_index(struct mm_arena *a, char *buf, size_t len)
{
	return format_index(a, buf, len, false);
}
