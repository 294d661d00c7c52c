/*
 * Free page reporting (DESIGN.md memory model 8): guest RAM the guest says
 * it does not use loses its host memory at once but stays the guest's.
 *
 * A reported frame is guest-owned with no host memory behind it: the frame
 * table keeps it FRAME_GUEST (owned by its GFN, so I1 counts it as guest),
 * the p2m marks its leaf PUNCHED | REPORTED, and the guest view keeps
 * mapping it, so the guest may touch it again at any time without telling,
 * and that touch faults in a fresh zeroed page. The guest needs no deflate:
 * nothing was taken from it.
 *
 * Zone Normal is punched per run of consecutive frames; in zone Huge only
 * whole 2 MiB pages inside a range can be given back (a 4 KiB punch inside
 * a hugetlb page frees nothing), so the rest of such a range is kept:
 * counted, left as it is. Once punched, a zone Huge page needs a free page
 * of the host's hugetlb pool when the guest touches it again, as after a
 * balloon deflate.
 *
 * Every range comes from the guest and is checked before anything changes.
 * Functions take guest_mem's lock; they are safe while vCPUs run.
 */
#ifndef VMM_BALLOON_REPORT_H
#define VMM_BALLOON_REPORT_H

#include <stdint.h>
#include "mm/arena.h"

struct guest_mem;

/* Ranges longer than this are refused: far above the largest block any
 * guest buddy frees at once (Linux: 4 MiB), and it bounds the work one
 * range can make the VMM do under guest_mem's lock. */
#define BALLOON_REPORT_MAX_BYTES (1ULL << 30)

/* What became of one range. */
struct balloon_report_result {
	uint64_t released;      /* host bytes freed, measured (memfd blocks) */
	uint64_t punched;       /* bytes of the range punched now */
	uint64_t kept;          /* bytes left (zone Huge, not a whole 2 MiB page) */
};

/* The guest's reports so far; balloon_report_stats reads them. */
struct balloon_report_stats {
	uint64_t ranges;        /* ranges accepted */
	uint64_t bytes;         /* their bytes */
	uint64_t released;      /* host bytes freed by them, measured */
	uint64_t rejected;      /* ranges refused (hostile, or a range reported twice) */
	uint64_t failed;        /* ranges the host could not punch (ENOMEM, fallocate) */
	uint64_t kept_ranges;   /* accepted ranges with a part kept (zone Huge) */
	uint64_t kept_bytes;
	uint64_t last_ms;       /* CLOCK_MONOTONIC, ms, of the last accepted range; 0: none */
	/* Frames marked reported now, per zone (from the p2m): the guest may
	 * have written to some since, which the VMM is not told. */
	uint64_t reported_frames[MM_NR_ZONES];
};

/*
 * Releases the host memory of [gpa, gpa + len), which the guest reported
 * free. 0, or:
 *   -EINVAL    refused: zero or unaligned (4 KiB) length or address, past
 *              BALLOON_REPORT_MAX_BYTES, a sum that overflows, not all RAM of
 *              one region (a hole, the legacy VGA/BIOS range), or a page
 *              that is ballooned (pending, returned, or a piece of a zone
 *              Huge page) or whose frame is not a guest frame of its GFN;
 *   -EALREADY  refused: every page is still reported and untouched since;
 *   -ENODEV    no balloon attached to gm (balloon_mem_attach);
 *   other      the host failed (-ENOMEM for a p2m split, before any punch;
 *              a failed punch leaves the runs before it punched and marked).
 * Refused ranges change nothing and are counted as rejected, failed ones as
 * failed.
 */
int balloon_mem_report_range(struct guest_mem *gm, uint64_t gpa, uint64_t len,
			     struct balloon_report_result *res);

/* The counters and the frames marked reported now. */
void balloon_report_stats(struct guest_mem *gm, struct balloon_report_stats *out);

#endif
