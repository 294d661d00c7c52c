/*
 * Fragmentation indexes per zone and order, computed as Linux's mm/vmstat.c
 * does and printed as its debugfs files /sys/kernel/debug/extfrag/
 * extfrag_index and unusable_index.
 *
 * extfrag index (__fragmentation_index), x1000: for an allocation of
 * 2^order frames that would fail, towards 0 means it fails for want of
 * memory, towards 1000 for fragmentation (compaction would help); -1000
 * means a free block of that order exists (it would succeed); 0 when
 * nothing is free.
 * unusable index (unusable_free_index), x1000: the share of free memory
 * that cannot serve an allocation of that order; 1000 when nothing is free.
 */
#ifndef MM_EXTFRAG_H
#define MM_EXTFRAG_H

#include <stddef.h>
#include <stdint.h>
#include "arena.h"

/* Linux's struct contig_page_info, from free blocks per order. */
struct mm_contig_info {
	uint64_t free_pages;           /* frames on the free lists */
	uint64_t free_blocks_total;    /* free blocks, any order */
	uint64_t free_blocks_suitable; /* blocks of 2^order frames the free blocks hold */
};

/* From nr_free[0..max_order], free blocks per order (buddy_free_blocks). */
void mm_contig_info_of(const uint64_t *nr_free, unsigned max_order, unsigned order,
		       struct mm_contig_info *info);
int mm_extfrag_index_of(const struct mm_contig_info *info, unsigned order);
int mm_unusable_index_of(const struct mm_contig_info *info, unsigned order);

/* The same over a zone's free lists now (frames in per-thread caches are
 * not on them, as the kernel's per-CPU pages are not in free_area). */
int mm_zone_extfrag_index(struct mm_zone *z, unsigned order);
int mm_zone_unusable_index(struct mm_zone *z, unsigned order);

/*
 * The debugfs texts, one line per zone, every order:
 *   "Node 0, zone   Normal -1.000 -1.000  0.893 \n"      (extfrag_index)
 *   "Node 0, zone   Normal 0.000 0.012 0.893 1.000 \n"   (unusable_index)
 * Appended to buf like mm_format_buddyinfo; return the length needed.
 */
size_t mm_format_extfrag_index(struct mm_arena *a, char *buf, size_t len);
size_t mm_format_unusable_index(struct mm_arena *a, char *buf, size_t len);

#endif
