/*
 * What the balloon_*.c files share (not for use elsewhere): the per-guest
 * balloon state (balloon_state.c) and the changes to the guest view and the
 * frames behind a ballooned range (balloon_view.c); balloon_mem.c decides
 * which of them an inflate or a deflate needs, balloon_report.c what a
 * range reported free needs.
 */
#ifndef VMM_BALLOON_MEM_INTERNAL_H
#define VMM_BALLOON_MEM_INTERNAL_H

#include <stdbool.h>
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/balloon_report.h"
#include "vmm/memory/guest_mem_internal.h"

/* The legacy VGA/BIOS hole [0xa0000, 1 MiB), in GFNs: backed like RAM, but
 * the memory map gives it as reserved, so no driver may balloon or report
 * it. */
#define BM_LEGACY_HOLE_FIRST 0xa0
#define BM_LEGACY_HOLE_END 0x100

struct bm_unit {
	uint16_t nr;            /* ballooned 4 KiB pieces */
	uint8_t zone_known;
	uint8_t zone;           /* enum mm_zone_id of the frames behind it */
	uint8_t own_map;        /* zone Huge, refilled: a hugetlb mapping of its own */
};

struct bm_state {
	uint64_t *bits[GUEST_MEM_MAX_REGIONS];
	struct bm_unit *units[GUEST_MEM_MAX_REGIONS];
	struct balloon_mem_stats st;
	struct balloon_report_stats rep;    /* balloon_report.c's */
};


/* Where gfn is: its region's index and its offset in the region. */
struct bm_pos {
	struct gm_region *r;
	unsigned ri;
	uint64_t off;
};


/* balloon_state.c, with guest_mem's lock held. The state is gm->balloon. */
/* Where gfn is; -EINVAL when it is not RAM. */
int bm_pos_of(struct guest_mem *gm, uint64_t gfn, struct bm_pos *p);
/* Whether the GFN at p is ballooned / flips that. */
bool bm_test(const struct bm_state *s, const struct bm_pos *p);
void bm_flip(struct bm_state *s, const struct bm_pos *p);
/* The 2 MiB unit of a GFN known to be RAM. */
struct bm_unit *bm_unit_of(struct guest_mem *gm, struct bm_state *s, uint64_t gfn);

/* balloon_view.c */
/* Punches [idx, idx + n) of z's memfd; adds what the host really freed,
 * measured by the memfd's allocated blocks, to *released (when not NULL:
 * deflate's punches only zero). */
int bm_punch(struct mm_zone *z, uint32_t idx, uint64_t n, uint64_t *released);
/* Takes [g, g + n) (frames idx.. of z, punched) away from the guest and
 * gives the frames to the buddy, or keeps them ballooned-pending when the
 * view cannot be cut now; then lets pending neighbours go. */
void bm_release_run(struct guest_mem *gm, struct bm_state *s, struct gm_region *r,
		    struct mm_zone *z, uint32_t idx, uint64_t g, uint64_t n);
/* A pending range becomes the guest's again, zeroed. */
int bm_unpend(struct guest_mem *gm, struct bm_state *s, struct mm_zone *z, uint32_t idx,
	      uint64_t g, uint64_t n);
/* A returned range [g, g + 2^order) gets one zeroed block of frames from z
 * again, mapped into the view; -ENOMEM when the buddy has no such block. */
int bm_refill(struct guest_mem *gm, struct bm_state *s, struct gm_region *r,
	      struct mm_zone *z, uint64_t g, unsigned order);

#endif
